/* SPDX-License-Identifier: MIT */
#pragma once

/* The headroom command line: one table of options shared by every subcommand, one struct
 * cli_command per subcommand (defined in cmd-<verb>.c), and the parser that turns argv into a
 * struct cli_args. Parsing is pure (argv in, struct or message out), so every usage error is
 * unit-tested; the environment and the file system are consulted only afterwards, by
 * cli_request(), and cli_resolve_client() decides from what they gave. Only this directory
 * prints, and only through cli_main() and the commands' run functions. */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "basic/macro.h"
#include "basic/time-util.h"
#include "cli/http-client.h"
#include "cli/request.h"
#include "cli/server-addr.h"

#define CLI_ARGS_MAX             4
#define CLI_MESSAGE_MAX          512
#define CLI_DEFAULT_TIMEOUT_USEC (10 * USEC_PER_SEC)

enum cli_option {
    /* Connection, for the commands that talk to the daemon. */
    CLI_OPTION_SERVER,
    CLI_OPTION_HOST,
    CLI_OPTION_PORT,
    CLI_OPTION_TOKEN,
    CLI_OPTION_USER,
    CLI_OPTION_PASSWORD,
    CLI_OPTION_TIMEOUT,
    /* Output, for every command. */
    CLI_OPTION_JSON,
    CLI_OPTION_QUIET,
    CLI_OPTION_HELP,
    CLI_OPTION_VERSION,
    /* Per command. */
    CLI_OPTION_COMPLEXITY,
    CLI_OPTION_CPU,
    CLI_OPTION_MEM,
    CLI_OPTION_GPU,
    CLI_OPTION_VRAM,
    CLI_OPTION_DISK,
    CLI_OPTION_REASON,
    CLI_OPTION_CONFIG,
    CLI_OPTION_VALIDATE,
    CLI_OPTION_RESERVE,
    CLI_OPTION_LEASE,
    CLI_OPTION_TASK,
    CLI_OPTION_WAIT,
    CLI_OPTION_KILL_AFTER,
    CLI_OPTION_ON_UNAVAILABLE,
    CLI_OPTION_MAX_MEM,
    CLI_OPTION_MAX_CPU,
    CLI_OPTION_MAX_PIDS,
    CLI_OPTION_NO_CGROUP,
    CLI_OPTION_PHASE,
    CLI_OPTION_STALL,
    CLI_OPTION_ON_STALL,
    CLI_OPTION_GPUS,
    /* Jobs, events and tasks. */
    CLI_OPTION_PRIORITY,
    CLI_OPTION_CHECKPOINT_SIGNAL,
    CLI_OPTION_CHECKPOINT_GRACE,
    CLI_OPTION_ALL,
    CLI_OPTION_FOLLOW,
    CLI_OPTION_TYPE,
    CLI_OPTION_AFTER,
    CLI_OPTION_WATCH,
    /* Hidden: the daemon's job wrapper runs "headroom run --job-task ID --exit-file PATH". */
    CLI_OPTION_JOB_TASK,
    CLI_OPTION_EXIT_FILE,
    CLI_OPTION_WARN_MEM,
    CLI_OPTION_CRITICAL_MEM,
    CLI_OPTION_WARN_CPU,
    _CLI_OPTION_MAX,
    _CLI_OPTION_INVALID = -22,
};

#define CLI_OPT(o) (UINT64_C(1) << (o))
#define CLI_OPTS_OUTPUT \
    (CLI_OPT(CLI_OPTION_JSON) | CLI_OPT(CLI_OPTION_QUIET) | CLI_OPT(CLI_OPTION_HELP))
#define CLI_OPTS_CONNECTION                                                                \
    (CLI_OPT(CLI_OPTION_SERVER) | CLI_OPT(CLI_OPTION_HOST) | CLI_OPT(CLI_OPTION_PORT) |    \
     CLI_OPT(CLI_OPTION_TOKEN) | CLI_OPT(CLI_OPTION_USER) | CLI_OPT(CLI_OPTION_PASSWORD) | \
     CLI_OPT(CLI_OPTION_TIMEOUT))
/* Accepted by "run" alone and shown in no help: what the daemon's job wrapper passes. */
#define CLI_OPTS_JOB_WRAPPER (CLI_OPT(CLI_OPTION_JOB_TASK) | CLI_OPT(CLI_OPTION_EXIT_FILE))

/* The largest job id the client accepts: the largest integer a JSON number carries exactly. */
#define CLI_JOB_ID_MAX ((UINT64_C(1) << 53) - 1)

/* The spelling of an option for messages: "--cpu". Static string, NULL when out of range. */
const char *cli_option_to_string(enum cli_option o);

struct cli_args;

struct cli_command {
    const char *name;
    const char *synopsis; /* after "headroom ": "ask TASK [OPTIONS]" */
    const char *summary;  /* one line for the command list */
    const char *help;     /* the rest of "headroom CMD --help": what it does, its options */
    uint64_t options;     /* CLI_OPT() bits this command accepts */
    unsigned min_args, max_args;
    const char *arg_name; /* "TASK": for "missing TASK" */
    bool task_arg;        /* the first argument is a task name, checked as the wire wants */
    bool job_arg;         /* the first argument is a job id (cli_parse_job_id()) */
    bool job_or_task_arg; /* the first argument is a job id or a task id ("t-" and 16 hex) */
    bool own_timeout;     /* --timeout is this command's own limit (run_timeout_usec), as for
                           * run; its requests keep the default timeout */
    bool raw;             /* takes its argv untouched (serve parses its own options) */
    bool stop_at_operand; /* options end at the first word after the command (or "--"); that
                           * word and the rest go to raw_argc/raw_argv (run: the command line) */
    int (*run)(const struct cli_args *args); /* returns an enum cli_exit value */
};

extern const struct cli_command cli_command_serve, cli_command_ask, cli_command_notify,
        cli_command_run, cli_command_progress, cli_command_predict, cli_command_status,
        cli_command_stats, cli_command_config, cli_command_version, cli_command_help;
extern const struct cli_command cli_command_submit, cli_command_jobs, cli_command_logs,
        cli_command_wait, cli_command_cancel, cli_command_suspend, cli_command_resume,
        cli_command_events, cli_command_tasks;

/* The command called name, or NULL. */
const struct cli_command *cli_command_find(const char *name);

struct cli_args {
    const struct cli_command *command; /* NULL for "headroom --help" / "headroom --version" */
    uint64_t seen;                     /* CLI_OPT() bits of the options given */

    bool help, version, json, quiet, reason, validate;

    bool has_server;
    struct server_addr server;                         /* --server */
    const char *host;                                  /* --host, borrowed from argv */
    unsigned port;                                     /* --port, 0 = not given */
    const char *token, *user, *password, *config_path; /* borrowed from argv */
    usec_t timeout_usec;

    double complexity; /* 0 unless given */
    usec_t reserve_usec; /* --reserve DURATION, 0 = no reservation */
    const char *lease;   /* --lease ID, borrowed from argv */

    /* run */
    const char *task;          /* --task NAME, borrowed */
    bool wait;                 /* --wait[=DURATION] */
    usec_t wait_usec;          /* 0: wait as long as it takes */
    usec_t run_timeout_usec;   /* run's, submit's and wait's --timeout: the command's own limit
                                * (own_timeout or stop_at_operand), 0 = none */
    usec_t kill_after_usec;    /* --kill-after, default 10 s */
    bool on_unavailable_fail;  /* --on-unavailable=fail */
    uint64_t max_mem_bytes;    /* --max-mem, 0 = none */
    double max_cpu_cores;      /* --max-cpu, 0 = none */
    uint64_t max_pids;         /* --max-pids, 0 = none */
    bool no_cgroup;            /* --no-cgroup */
    usec_t stall_usec;         /* --stall: no output and no CPU for this long is a stall; 0 off */
    bool on_stall_kill;        /* --on-stall=kill */
    unsigned gpus;             /* --gpus N: GPUs to hold for the command, 1..16; 0 = not asked */
    const char *phase;         /* progress --phase NAME, borrowed */

    /* submit */
    bool has_priority;            /* --priority given */
    unsigned priority;            /* --priority P0|P1|P2: 0..2 */
    int checkpoint_signal;        /* --checkpoint-signal SIG: its number, 0 = not given */
    usec_t checkpoint_grace_usec; /* --checkpoint-grace DURATION (seen bit: given) */
    uint64_t warn_mem_bytes;      /* --warn-mem SIZE: task:high-memory above it, 0 none */
    uint64_t critical_mem_bytes;  /* --critical-mem SIZE: task:critical-memory above it */
    double warn_cpu_pct;          /* --warn-cpu PCT (of the machine): task:high-cpu, 0 none */

    /* jobs, logs, events */
    bool all;               /* jobs --all */
    bool follow;            /* logs, events: -f, --follow */
    const char *event_type; /* events --type TYPE, borrowed */
    uint64_t after_seq;     /* events --after SEQ, 0 = from the oldest kept */

    /* tasks */
    bool watch; /* --watch: redraw every second until interrupted */

    /* Hidden, run only: set by the daemon when it starts a job through "headroom run". */
    const char *job_task;  /* --job-task ID, borrowed */
    const char *exit_file; /* --exit-file PATH, borrowed */
    struct cli_needs needs;

    unsigned n_args;
    const char *args[CLI_ARGS_MAX]; /* positional arguments after the command word */

    int raw_argc; /* raw commands: argv from the command word on */
    char **raw_argv;
};

/* Parses a whole command line (argv[0] is the program name). Options may come before or after
 * the command word and between its arguments; "--" ends them. Everything after a raw command's
 * word (serve) is left for that command, and options before it are refused. Checks every value
 * (sizes, percentages, port, duration, server address, task name) and that each option applies
 * to the command. On failure returns -EINVAL and writes the problem, without the "headroom: "
 * prefix, into err; *ret may then be partly filled, but ret->command is set when the command
 * word was read, so the caller can point to its --help. Pure: no environment, no output. */
int cli_parse_args(int argc, char **argv, struct cli_args *ret, char err[static CLI_MESSAGE_MAX]);

/* Turns parsed arguments into a client: --server, else --host/--port, else env_server
 * ($HEADROOM_SERVER), else the default socket when socket_exists says it is there, else
 * http://127.0.0.1:9329. The token is --token, else env_token ($HEADROOM_TOKEN) unless
 * --user/--password were given. default_socket may be NULL (no default socket for this user).
 * Returns 0, or -EINVAL with the problem in err (a bad $HEADROOM_SERVER). Pure. */
int cli_resolve_client(const struct cli_args *args,
                       const char *env_server,
                       const char *env_token,
                       const char *default_socket,
                       bool socket_exists,
                       struct http_client *ret,
                       char err[static CLI_MESSAGE_MAX]);

/* The whole program: parses, prints help or usage errors, and runs the command. Returns the
 * process exit status (enum cli_exit, or serve_main()'s own for "serve"). */
int cli_main(int argc, char **argv);

/* Used by the commands (cli.c). */

/* Prints "headroom: <message>" to stderr. */
void cli_error(const char *fmt, ...) _printf_(1, 2);
/* Prints "headroom: warning: <message>" to stderr unless args->quiet. */
void cli_warning(const struct cli_args *args, const char *fmt, ...) _printf_(2, 3);
/* Prints "headroom: <message>" and "Try 'headroom [COMMAND ]--help'." to stderr and returns
 * CLI_EXIT_USAGE. command may be NULL. */
int cli_usage_error(const struct cli_command *command, const char *fmt, ...) _printf_(2, 3);

/* Writes "headroom --help" (command NULL) or "headroom COMMAND --help" to f. */
void cli_help(const struct cli_command *command, FILE *f);

/* A share of the machine (or of one GPU, or a progress): "50", "12.5" or "50%", 0..100. Returns 0
 * or -EINVAL. */
int cli_parse_pct(const char *s, double *ret);

/* A job id as the daemon gives them: a decimal integer from 1 to CLI_JOB_ID_MAX, digits only.
 * Returns 0 with *ret set, or -EINVAL. Pure. */
int cli_parse_job_id(const char *s, uint64_t *ret);

/* True when s is a task id as the daemon gives them: "t-" and 16 lowercase hex digits. */
bool cli_task_id_is_valid(const char *s);

/* A signal for --checkpoint-signal: a name with or without "SIG", in any case ("USR1", "SIGUSR1",
 * "term"), or a number from 1 to SIGRTMAX. SIGKILL and SIGSTOP, which a command cannot catch, are
 * refused. Returns 0 with the number in *ret, or -EINVAL. Pure. */
int cli_parse_signal(const char *s, int *ret);

/* The client for the daemon the options name ($HEADROOM_SERVER, the default socket ...). Returns 0,
 * or CLI_EXIT_USAGE having said why. */
int cli_client(const struct cli_args *args, struct http_client *ret);

/* Sends one request to the daemon chosen by args and the environment. On 0, *ret holds the
 * answer, whatever its status. Otherwise the problem has been printed and the return value is
 * the exit status to use (CLI_EXIT_UNAVAILABLE, CLI_EXIT_USAGE or CLI_EXIT_FAILURE). */
int cli_request(const struct cli_args *args,
                const char *method,
                const char *path,
                const char *body,
                struct http_response *ret);

/* For an answer that is not a success: prints "headroom: METHOD PATH: HTTP 400 Bad Request: ..."
 * and returns CLI_EXIT_FAILURE. */
int cli_report_http_error(const char *method, const char *path, const struct http_response *resp);

/* Parses resp's body as JSON; on failure prints why and returns NULL. The caller owns the
 * result. */
json_t *cli_parse_json(const char *method, const char *path, const struct http_response *resp);

/* Writes the body unchanged to stdout (--json), adding a final newline when it has none. */
void cli_print_body(const struct http_response *resp);
