/* SPDX-License-Identifier: MIT */
#include "cli/cli.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/parse-util.h"
#include "cli/exit-codes.h"
#include "cli/response.h"

/* The order of "headroom --help". */
static const struct cli_command *const commands[] = {
    &cli_command_serve,   &cli_command_ask,     &cli_command_notify, &cli_command_run,
    &cli_command_progress, &cli_command_submit, &cli_command_jobs,   &cli_command_tasks,
    &cli_command_logs,    &cli_command_wait,    &cli_command_cancel, &cli_command_suspend,
    &cli_command_resume,  &cli_command_events,  &cli_command_predict, &cli_command_status,
    &cli_command_stats,   &cli_command_config,  &cli_command_version, &cli_command_help,
};

const struct cli_command *cli_command_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < ELEMENTSOF(commands); i++)
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i];
    return NULL;
}

struct option_def {
    const char *name;
    char short_name;
    bool has_arg;
    enum cli_option id;
    bool optional_arg;    /* the value only with "--name=VALUE"; "--name" alone has none */
};

/* Every option of every command. Names are unique across commands, so an option is understood
 * the same way wherever it appears, and only then checked against the command. */
static const struct option_def options[] = {
    { "server", 0, true, CLI_OPTION_SERVER },    { "host", 0, true, CLI_OPTION_HOST },
    { "port", 'p', true, CLI_OPTION_PORT },      { "token", 0, true, CLI_OPTION_TOKEN },
    { "user", 0, true, CLI_OPTION_USER },        { "password", 0, true, CLI_OPTION_PASSWORD },
    { "timeout", 0, true, CLI_OPTION_TIMEOUT },  { "json", 0, false, CLI_OPTION_JSON },
    { "quiet", 'q', false, CLI_OPTION_QUIET },   { "help", 'h', false, CLI_OPTION_HELP },
    { "version", 0, false, CLI_OPTION_VERSION }, { "complexity", 0, true, CLI_OPTION_COMPLEXITY },
    { "cpu", 0, true, CLI_OPTION_CPU },          { "mem", 0, true, CLI_OPTION_MEM },
    { "gpu", 0, true, CLI_OPTION_GPU },          { "vram", 0, true, CLI_OPTION_VRAM },
    { "disk", 0, true, CLI_OPTION_DISK },        { "reason", 0, false, CLI_OPTION_REASON },
    { "config", 'c', true, CLI_OPTION_CONFIG },  { "validate", 0, false, CLI_OPTION_VALIDATE },
    { "reserve", 0, true, CLI_OPTION_RESERVE },  { "lease", 0, true, CLI_OPTION_LEASE },
    { "task", 0, true, CLI_OPTION_TASK },        { "wait", 0, false, CLI_OPTION_WAIT, true },
    { "kill-after", 0, true, CLI_OPTION_KILL_AFTER },
    { "on-unavailable", 0, true, CLI_OPTION_ON_UNAVAILABLE },
    { "max-mem", 0, true, CLI_OPTION_MAX_MEM },  { "max-cpu", 0, true, CLI_OPTION_MAX_CPU },
    { "max-pids", 0, true, CLI_OPTION_MAX_PIDS }, { "no-cgroup", 0, false, CLI_OPTION_NO_CGROUP },
    { "phase", 0, true, CLI_OPTION_PHASE },      { "stall", 0, true, CLI_OPTION_STALL },
    { "on-stall", 0, true, CLI_OPTION_ON_STALL }, { "gpus", 0, true, CLI_OPTION_GPUS },
    { "priority", 0, true, CLI_OPTION_PRIORITY },
    { "checkpoint-signal", 0, true, CLI_OPTION_CHECKPOINT_SIGNAL },
    { "checkpoint-grace", 0, true, CLI_OPTION_CHECKPOINT_GRACE },
    { "all", 'a', false, CLI_OPTION_ALL },       { "follow", 'f', false, CLI_OPTION_FOLLOW },
    { "type", 0, true, CLI_OPTION_TYPE },        { "after", 0, true, CLI_OPTION_AFTER },
    { "watch", 0, false, CLI_OPTION_WATCH },
    { "job-task", 0, true, CLI_OPTION_JOB_TASK }, { "exit-file", 0, true, CLI_OPTION_EXIT_FILE },
    { "warn-mem", 0, true, CLI_OPTION_WARN_MEM }, { "critical-mem", 0, true, CLI_OPTION_CRITICAL_MEM },
    { "warn-cpu", 0, true, CLI_OPTION_WARN_CPU },
};

const char *cli_option_to_string(enum cli_option o)
{
    static const char *const names[_CLI_OPTION_MAX] = {
        [CLI_OPTION_SERVER] = "--server",   [CLI_OPTION_HOST] = "--host",
        [CLI_OPTION_PORT] = "--port",       [CLI_OPTION_TOKEN] = "--token",
        [CLI_OPTION_USER] = "--user",       [CLI_OPTION_PASSWORD] = "--password",
        [CLI_OPTION_TIMEOUT] = "--timeout", [CLI_OPTION_JSON] = "--json",
        [CLI_OPTION_QUIET] = "--quiet",     [CLI_OPTION_HELP] = "--help",
        [CLI_OPTION_VERSION] = "--version", [CLI_OPTION_COMPLEXITY] = "--complexity",
        [CLI_OPTION_CPU] = "--cpu",         [CLI_OPTION_MEM] = "--mem",
        [CLI_OPTION_GPU] = "--gpu",         [CLI_OPTION_VRAM] = "--vram",
        [CLI_OPTION_DISK] = "--disk",       [CLI_OPTION_REASON] = "--reason",
        [CLI_OPTION_CONFIG] = "--config",   [CLI_OPTION_VALIDATE] = "--validate",
        [CLI_OPTION_RESERVE] = "--reserve", [CLI_OPTION_LEASE] = "--lease",
        [CLI_OPTION_TASK] = "--task",       [CLI_OPTION_WAIT] = "--wait",
        [CLI_OPTION_KILL_AFTER] = "--kill-after", [CLI_OPTION_ON_UNAVAILABLE] = "--on-unavailable",
        [CLI_OPTION_MAX_MEM] = "--max-mem", [CLI_OPTION_MAX_CPU] = "--max-cpu",
        [CLI_OPTION_MAX_PIDS] = "--max-pids", [CLI_OPTION_NO_CGROUP] = "--no-cgroup",
        [CLI_OPTION_PHASE] = "--phase",     [CLI_OPTION_STALL] = "--stall",
        [CLI_OPTION_ON_STALL] = "--on-stall", [CLI_OPTION_GPUS] = "--gpus",
        [CLI_OPTION_PRIORITY] = "--priority",
        [CLI_OPTION_CHECKPOINT_SIGNAL] = "--checkpoint-signal",
        [CLI_OPTION_CHECKPOINT_GRACE] = "--checkpoint-grace",
        [CLI_OPTION_ALL] = "--all",         [CLI_OPTION_FOLLOW] = "--follow",
        [CLI_OPTION_TYPE] = "--type",       [CLI_OPTION_AFTER] = "--after",
        [CLI_OPTION_WATCH] = "--watch",
        [CLI_OPTION_JOB_TASK] = "--job-task", [CLI_OPTION_EXIT_FILE] = "--exit-file",
        [CLI_OPTION_WARN_MEM] = "--warn-mem", [CLI_OPTION_CRITICAL_MEM] = "--critical-mem",
        [CLI_OPTION_WARN_CPU] = "--warn-cpu",
    };

    if ((int) o < 0 || o >= _CLI_OPTION_MAX)
        return NULL;
    return names[o];
}

static int fail(char err[static CLI_MESSAGE_MAX], const char *fmt, ...) _printf_(2, 3);

static int fail(char err[static CLI_MESSAGE_MAX], const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    (void) vsnprintf(err, CLI_MESSAGE_MAX, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* A share of the machine (or of one GPU): "50", "12.5" or "50%", 0..100. A per-core figure such
 * as 200 is refused rather than silently capped. */
int cli_parse_pct(const char *s, double *ret)
{
    char buf[64];
    size_t n = strlen(s);
    double v;

    if (n == 0 || n >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, s, n + 1);
    if (buf[n - 1] == '%')
        buf[n - 1] = '\0';
    if (safe_atod(buf, &v) < 0 || v < 0 || v > 100)
        return -EINVAL;
    *ret = v;
    return 0;
}

int cli_parse_job_id(const char *s, uint64_t *ret)
{
    uint64_t v;

    /* Digits only: safe_atou64() alone would take "+12" or " 12". */
    if (!s || s[0] == '\0' || strspn(s, "0123456789") != strlen(s) || strlen(s) > 16)
        return -EINVAL;
    if (safe_atou64(s, &v) < 0 || v < 1 || v > CLI_JOB_ID_MAX)
        return -EINVAL;
    *ret = v;
    return 0;
}

bool cli_task_id_is_valid(const char *s)
{
    return s && strlen(s) == 18 && strncmp(s, "t-", 2) == 0 &&
           strspn(s + 2, "0123456789abcdef") == 16;
}

int cli_parse_signal(const char *s, int *ret)
{
    uint64_t n;
    int sig = 0;

    if (!s || s[0] == '\0')
        return -EINVAL;
    if (strspn(s, "0123456789") == strlen(s)) {
        if (strlen(s) > 3 || safe_atou64(s, &n) < 0 || n < 1 || n > (uint64_t) SIGRTMAX)
            return -EINVAL;
        sig = (int) n;
    } else {
        const char *name = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;

        /* The classic signals by name; a real-time one goes by its number. */
        for (int i = 1; i < SIGRTMIN && !sig; i++) {
            const char *abbrev = sigabbrev_np(i);
            if (abbrev && strcasecmp(abbrev, name) == 0)
                sig = i;
        }
        if (!sig)
            return -EINVAL;
    }
    /* The point is that the command saves its work: it must be able to catch the signal. */
    if (sig == SIGKILL || sig == SIGSTOP)
        return -EINVAL;
    *ret = sig;
    return 0;
}

/* An event type as the daemon names them ("task:stalled"): lowercase letters, digits, ':', '-'
 * and '_'. Checked here so that a typo is a usage error, and so nothing else reaches the query. */
static bool event_type_is_valid(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789:-_") == n;
}

static int set_option(struct cli_args *a,
                      const struct option_def *o,
                      const char *v,
                      char err[static CLI_MESSAGE_MAX])
{
    uint64_t bytes;
    int r;

    switch (o->id) {
    case CLI_OPTION_SERVER:
        r = server_addr_parse(v, &a->server);
        if (r == -ENAMETOOLONG)
            return fail(err, "invalid --server '%s': the host or socket path is too long", v);
        if (r < 0)
            return fail(err,
                        "invalid --server '%s': expected http://HOST:PORT, unix:/PATH or /PATH", v);
        a->has_server = true;
        return 0;
    case CLI_OPTION_HOST: {
        struct server_addr check;
        if (server_addr_from_host_port(v, SERVER_DEFAULT_PORT, &check) < 0)
            return fail(err, "invalid --host '%s'", v);
        a->host = v;
        return 0;
    }
    case CLI_OPTION_PORT:
        if (server_port_parse(v, &a->port) < 0)
            return fail(err, "invalid --port '%s': must be 1-65535", v);
        return 0;
    case CLI_OPTION_TOKEN:
        if (v[0] == '\0')
            return fail(err, "--token must not be empty");
        a->token = v;
        return 0;
    case CLI_OPTION_USER:
        if (strchr(v, ':'))
            return fail(err, "invalid --user: HTTP Basic user names cannot contain ':'");
        a->user = v;
        return 0;
    case CLI_OPTION_PASSWORD:
        a->password = v;
        return 0;
    case CLI_OPTION_TIMEOUT:
        if (parse_duration(v, &a->timeout_usec) < 0 || a->timeout_usec < USEC_PER_MSEC)
            return fail(err, "invalid --timeout '%s': expected a duration such as 500ms, 10s or 2m",
                        v);
        return 0;
    case CLI_OPTION_JSON:
        a->json = true;
        return 0;
    case CLI_OPTION_QUIET:
        a->quiet = true;
        return 0;
    case CLI_OPTION_HELP:
        a->help = true;
        return 0;
    case CLI_OPTION_VERSION:
        a->version = true;
        return 0;
    case CLI_OPTION_COMPLEXITY:
        /* The daemon's own limit, so that a typo such as 1e51 is a usage error here rather
         * than a 400 from the daemon. */
        if (safe_atod(v, &a->complexity) < 0 || !request_complexity_is_valid(a->complexity))
            return fail(err, "invalid --complexity '%s': must be a number from 0 to 1e15", v);
        return 0;
    case CLI_OPTION_CPU:
        if (cli_parse_pct(v, &a->needs.cpu_pct) < 0)
            return fail(err, "invalid --cpu '%s': must be a percentage of the whole machine, 0-100",
                        v);
        a->needs.has_cpu = true;
        return 0;
    case CLI_OPTION_GPU:
        if (cli_parse_pct(v, &a->needs.gpu_pct) < 0)
            return fail(err, "invalid --gpu '%s': must be a percentage of one GPU, 0-100", v);
        a->needs.has_gpu = true;
        return 0;
    case CLI_OPTION_MEM:
    case CLI_OPTION_VRAM:
    case CLI_OPTION_DISK:
        if (parse_size(v, &bytes) < 0)
            return fail(err, "invalid --%s '%s': expected a size such as 512M, 8G or 1.5GiB",
                        o->name, v);
        if (o->id == CLI_OPTION_MEM) {
            a->needs.mem_bytes = bytes;
            a->needs.has_mem = true;
        } else if (o->id == CLI_OPTION_VRAM) {
            a->needs.vram_bytes = bytes;
            a->needs.has_vram = true;
        } else {
            a->needs.disk_bytes = bytes;
            a->needs.has_disk = true;
        }
        return 0;
    case CLI_OPTION_REASON:
        a->reason = true;
        return 0;
    case CLI_OPTION_CONFIG:
        if (v[0] == '\0')
            return fail(err, "--config must not be empty");
        a->config_path = v;
        return 0;
    case CLI_OPTION_VALIDATE:
        a->validate = true;
        return 0;
    case CLI_OPTION_RESERVE:
        /* The daemon's bounds for lease_seconds. */
        if (parse_duration(v, &a->reserve_usec) < 0 || a->reserve_usec < USEC_PER_SEC ||
            a->reserve_usec > 86400 * USEC_PER_SEC)
            return fail(err, "invalid --reserve '%s': must be a duration from 1s to 24h, such as 60s or 10m",
                        v);
        return 0;
    case CLI_OPTION_TASK:
        if (!request_task_is_valid(v))
            return fail(err, "invalid --task: it must be 1-%d bytes of UTF-8 without control characters",
                        TASK_NAME_MAX);
        a->task = v;
        return 0;
    case CLI_OPTION_WAIT:
        a->wait = true;
        a->wait_usec = 0;
        if (v && (parse_duration(v, &a->wait_usec) < 0 || a->wait_usec < USEC_PER_SEC))
            return fail(err, "invalid --wait '%s': expected a duration of at least 1s, such as 10m or 2h", v);
        return 0;
    case CLI_OPTION_KILL_AFTER:
        if (parse_duration(v, &a->kill_after_usec) < 0)
            return fail(err, "invalid --kill-after '%s': expected a duration such as 0, 5s or 1m", v);
        return 0;
    case CLI_OPTION_ON_UNAVAILABLE:
        if (strcmp(v, "run") == 0)
            a->on_unavailable_fail = false;
        else if (strcmp(v, "fail") == 0)
            a->on_unavailable_fail = true;
        else
            return fail(err, "invalid --on-unavailable '%s': expected run or fail", v);
        return 0;
    case CLI_OPTION_MAX_MEM:
        if (parse_size(v, &a->max_mem_bytes) < 0 || a->max_mem_bytes < 1024 * 1024)
            return fail(err, "invalid --max-mem '%s': expected a size of at least 1M, such as 512M or 8G", v);
        return 0;
    case CLI_OPTION_WARN_MEM:
    case CLI_OPTION_CRITICAL_MEM: {
        uint64_t *f = o->id == CLI_OPTION_WARN_MEM ? &a->warn_mem_bytes : &a->critical_mem_bytes;
        if (parse_size(v, f) < 0 || *f == 0 || *f > (UINT64_C(1) << 62))
            return fail(err, "invalid %s '%s': expected a size such as 512M or 8G", cli_option_to_string(o->id), v);
        return 0;
    }
    case CLI_OPTION_WARN_CPU:
        if (safe_atod(v, &a->warn_cpu_pct) < 0 || !(a->warn_cpu_pct > 0) || a->warn_cpu_pct > 100)
            return fail(err, "invalid --warn-cpu '%s': expected a percentage of the machine, above 0 and at most 100",
                        v);
        return 0;
    case CLI_OPTION_MAX_CPU:
        if (safe_atod(v, &a->max_cpu_cores) < 0 || !(a->max_cpu_cores >= 0.01) || a->max_cpu_cores > 4096)
            return fail(err, "invalid --max-cpu '%s': expected a number of CPUs such as 0.5 or 4", v);
        return 0;
    case CLI_OPTION_MAX_PIDS: {
        uint64_t n;
        if (safe_atou64(v, &n) < 0 || n < 1 || n > 4194304)
            return fail(err, "invalid --max-pids '%s': expected a count from 1 to 4194304", v);
        a->max_pids = n;
        return 0;
    }
    case CLI_OPTION_NO_CGROUP:
        a->no_cgroup = true;
        return 0;
    case CLI_OPTION_PHASE:
        if (!request_task_is_valid(v) || strlen(v) > 63)
            return fail(err, "invalid --phase: it must be 1-63 bytes of UTF-8 without control characters");
        a->phase = v;
        return 0;
    case CLI_OPTION_STALL:
        if (parse_duration(v, &a->stall_usec) < 0 || (a->stall_usec != 0 && a->stall_usec < USEC_PER_SEC))
            return fail(err, "invalid --stall '%s': expected 0 (off) or a duration of at least 1s, such as 5m", v);
        return 0;
    case CLI_OPTION_GPUS: {
        uint64_t n;
        if (safe_atou64(v, &n) < 0 || n < 1 || n > 16)
            return fail(err, "invalid --gpus '%s': expected a number of GPUs from 1 to 16", v);
        a->gpus = (unsigned) n;
        return 0;
    }
    case CLI_OPTION_ON_STALL:
        if (strcmp(v, "warn") == 0)
            a->on_stall_kill = false;
        else if (strcmp(v, "kill") == 0)
            a->on_stall_kill = true;
        else
            return fail(err, "invalid --on-stall '%s': expected warn or kill", v);
        return 0;
    case CLI_OPTION_PRIORITY:
        if (strcasecmp(v, "P0") == 0 || strcmp(v, "0") == 0)
            a->priority = 0;
        else if (strcasecmp(v, "P1") == 0 || strcmp(v, "1") == 0)
            a->priority = 1;
        else if (strcasecmp(v, "P2") == 0 || strcmp(v, "2") == 0)
            a->priority = 2;
        else
            return fail(err, "invalid --priority '%s': expected P0 (first), P1 (default) or P2", v);
        a->has_priority = true;
        return 0;
    case CLI_OPTION_CHECKPOINT_SIGNAL:
        if (cli_parse_signal(v, &a->checkpoint_signal) < 0)
            return fail(err,
                        "invalid --checkpoint-signal '%s': expected a signal the command can catch, "
                        "such as USR1, SIGTERM or 10",
                        v);
        return 0;
    case CLI_OPTION_CHECKPOINT_GRACE:
        if (parse_duration(v, &a->checkpoint_grace_usec) < 0 ||
            a->checkpoint_grace_usec < USEC_PER_SEC || a->checkpoint_grace_usec > 86400 * USEC_PER_SEC)
            return fail(err, "invalid --checkpoint-grace '%s': expected a duration from 1s to 24h, such as 30s or 5m",
                        v);
        return 0;
    case CLI_OPTION_ALL:
        a->all = true;
        return 0;
    case CLI_OPTION_FOLLOW:
        a->follow = true;
        return 0;
    case CLI_OPTION_TYPE:
        if (!event_type_is_valid(v))
            return fail(err, "invalid --type '%s': expected an event type such as task:stalled or job:queued",
                        v);
        a->event_type = v;
        return 0;
    case CLI_OPTION_AFTER:
        if (strspn(v, "0123456789") != strlen(v) || safe_atou64(v, &a->after_seq) < 0)
            return fail(err, "invalid --after '%s': expected an event sequence number such as 0 or 1234", v);
        return 0;
    case CLI_OPTION_WATCH:
        a->watch = true;
        return 0;
    case CLI_OPTION_JOB_TASK:
        if (!cli_task_id_is_valid(v))
            return fail(err, "invalid --job-task '%s': expected a task id such as t-0123456789abcdef", v);
        a->job_task = v;
        return 0;
    case CLI_OPTION_EXIT_FILE:
        if (v[0] != '/' || strlen(v) >= 4096)
            return fail(err, "invalid --exit-file '%s': expected an absolute path", v);
        a->exit_file = v;
        return 0;
    case CLI_OPTION_LEASE:
        if (!request_lease_is_valid(v))
            return fail(err, "invalid --lease '%s': expected a lease id such as l-0123456789abcdef", v);
        a->lease = v;
        return 0;
    default:
        return fail(err, "internal error: unhandled option --%s", o->name);
    }
}

static const struct option_def *find_long(const char *name, size_t n)
{
    for (size_t i = 0; i < ELEMENTSOF(options); i++)
        if (strlen(options[i].name) == n && strncmp(options[i].name, name, n) == 0)
            return &options[i];
    return NULL;
}

static const struct option_def *find_short(char c)
{
    for (size_t i = 0; i < ELEMENTSOF(options); i++)
        if (options[i].short_name == c)
            return &options[i];
    return NULL;
}

/* Handles argv[*i], which starts with '-' and is not "-" or "--". Advances *i past a separate
 * value. */
static int
parse_option(int argc, char **argv, int *i, struct cli_args *a, char err[static CLI_MESSAGE_MAX])
{
    const char *arg = argv[*i];
    int r;

    if (arg[1] == '-') {
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t n = eq ? (size_t) (eq - name) : strlen(name);
        const struct option_def *o = find_long(name, n);

        if (!o)
            return fail(err, "unrecognized option '--%.*s'", (int) MIN(n, (size_t) 64), name);
        const char *value = NULL;
        if (o->optional_arg) {
            if (eq)
                value = eq + 1;
        } else if (o->has_arg) {
            if (eq)
                value = eq + 1;
            else if (*i + 1 < argc)
                value = argv[++*i];
            else
                return fail(err, "option '--%s' requires an argument", o->name);
        } else if (eq)
            return fail(err, "option '--%s' doesn't allow an argument", o->name);
        a->seen |= CLI_OPT(o->id);
        return set_option(a, o, value, err);
    }

    /* A cluster of short options: "-qp 9329", "-p9329". */
    for (const char *p = arg + 1; *p; p++) {
        const struct option_def *o = find_short(*p);
        if (!o)
            return fail(err, "invalid option -- '%c'", (unsigned char) *p >= 0x20 ? *p : '?');
        a->seen |= CLI_OPT(o->id);
        if (!o->has_arg) {
            r = set_option(a, o, NULL, err);
            if (r < 0)
                return r;
            continue;
        }
        const char *value;
        if (p[1])
            value = p + 1;
        else if (*i + 1 < argc)
            value = argv[++*i];
        else
            return fail(err, "option '-%c' requires an argument", *p);
        return set_option(a, o, value, err);
    }
    return 0;
}

static int check_command(struct cli_args *a, char err[static CLI_MESSAGE_MAX])
{
    const struct cli_command *c = a->command;
    uint64_t always = CLI_OPT(CLI_OPTION_HELP) | CLI_OPT(CLI_OPTION_VERSION);
    /* The job wrapper's options belong to run without being part of its documented set. */
    uint64_t hidden = c == &cli_command_run ? CLI_OPTS_JOB_WRAPPER : 0;
    uint64_t extra = a->seen & ~(c->options | always | hidden);
    uint64_t id;

    for (int o = 0; o < _CLI_OPTION_MAX; o++)
        if (extra & CLI_OPT(o))
            return fail(err, "option '%s' does not apply to '%s'",
                        cli_option_to_string((enum cli_option) o), c->name);

    if (a->warn_mem_bytes && a->critical_mem_bytes && a->warn_mem_bytes > a->critical_mem_bytes)
        return fail(err, "--warn-mem must not be above --critical-mem");
    if (c->stop_at_operand && a->raw_argc == 0)
        return fail(err, "missing %s", c->arg_name ? c->arg_name : "command");
    if (a->n_args < c->min_args)
        return fail(err, "missing %s", c->arg_name ? c->arg_name : "argument");
    if (a->n_args > c->max_args)
        return fail(err, "too many arguments for '%s'", c->name);

    if (c->job_arg && a->n_args > 0 && cli_parse_job_id(a->args[0], &id) < 0)
        return fail(err, "invalid job id '%.64s': expected a number such as 12", a->args[0]);
    if (c->job_or_task_arg && a->n_args > 0 && cli_parse_job_id(a->args[0], &id) < 0 &&
        !cli_task_id_is_valid(a->args[0]))
        return fail(err,
                    "invalid id '%.64s': expected a job id such as 12 or a task id such as "
                    "t-0123456789abcdef",
                    a->args[0]);

    if (c->task_arg && a->n_args > 0 && !request_task_is_valid(a->args[0]))
        return fail(err,
                    "invalid task name: it must be 1-%d bytes of UTF-8 without control characters",
                    TASK_NAME_MAX);

    /* A screen redrawn in place is for a person at a terminal, not for a script. */
    if (a->watch && (a->json || a->quiet))
        return fail(err, "--watch cannot be combined with %s", a->json ? "--json" : "--quiet");

    if (a->has_server && (a->host || a->port))
        return fail(err, "--server cannot be combined with --host or --port");
    if (a->token && (a->user || a->password))
        return fail(err, "--token cannot be combined with --user/--password");
    return 0;
}

int cli_parse_args(int argc, char **argv, struct cli_args *ret, char err[static CLI_MESSAGE_MAX])
{
    struct cli_args a = { .timeout_usec = CLI_DEFAULT_TIMEOUT_USEC, .kill_after_usec = 10 * USEC_PER_SEC,
                          .stall_usec = 5 * 60 * USEC_PER_SEC };
    bool options_done = false;
    int r;

    err[0] = '\0';
    *ret = a;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];

        if (!options_done && strcmp(arg, "--") == 0) {
            options_done = true;
            if (a.command && a.command->stop_at_operand) {
                a.raw_argc = argc - i - 1;
                a.raw_argv = argv + i + 1;
                break;
            }
            continue;
        }
        if (!options_done && arg[0] == '-' && arg[1] != '\0') {
            r = parse_option(argc, argv, &i, &a, err);
            if (r < 0) {
                *ret = a;
                return r;
            }
            continue;
        }

        if (!a.command) {
            a.command = cli_command_find(arg);
            if (!a.command) {
                *ret = a;
                return fail(err, "unknown command '%.64s'", arg);
            }
            if (a.command->raw) {
                /* The daemon parses its own options; ours cannot be told apart from its. */
                if (a.seen & ~CLI_OPT(CLI_OPTION_HELP)) {
                    *ret = a;
                    return fail(err, "options must come after '%s'", a.command->name);
                }
                a.raw_argc = argc - i;
                a.raw_argv = argv + i;
                *ret = a;
                return 0;
            }
            continue;
        }

        if (a.command->stop_at_operand) {
            a.raw_argc = argc - i;
            a.raw_argv = argv + i;
            break;
        }
        if (a.n_args >= CLI_ARGS_MAX) {
            *ret = a;
            return fail(err, "too many arguments for '%s'", a.command->name);
        }
        a.args[a.n_args++] = arg;
    }
    /* run's and submit's --timeout limits the command, as GNU timeout's does, and wait's how long
     * it waits; their requests keep the default. */
    if (a.command && (a.command->stop_at_operand || a.command->own_timeout) &&
        (a.seen & CLI_OPT(CLI_OPTION_TIMEOUT))) {
        a.run_timeout_usec = a.timeout_usec;
        a.timeout_usec = CLI_DEFAULT_TIMEOUT_USEC;
    }

    *ret = a;
    if (a.help || (!a.command && a.version))
        return 0;
    if (!a.command)
        return fail(err, "no command given");
    if (a.version)
        return 0;
    r = check_command(&a, err);
    *ret = a;
    return r;
}

int cli_resolve_client(const struct cli_args *args,
                       const char *env_server,
                       const char *env_token,
                       const char *default_socket,
                       bool socket_exists,
                       struct http_client *ret,
                       char err[static CLI_MESSAGE_MAX])
{
    struct http_client c = { .timeout_usec = args->timeout_usec };
    int r;

    err[0] = '\0';
    if (c.timeout_usec == 0)
        c.timeout_usec = CLI_DEFAULT_TIMEOUT_USEC;

    if (args->has_server)
        c.server = args->server;
    else if (args->host || args->port) {
        r = server_addr_from_host_port(args->host ? args->host : SERVER_DEFAULT_HOST,
                                       args->port ? args->port : SERVER_DEFAULT_PORT, &c.server);
        if (r < 0)
            return fail(err, "invalid --host '%s'", strna(args->host));
    } else if (env_server && env_server[0]) {
        r = server_addr_parse(env_server, &c.server);
        if (r < 0)
            return fail(err,
                        "invalid $HEADROOM_SERVER '%.200s': expected http://HOST:PORT, unix:/PATH "
                        "or /PATH",
                        env_server);
    } else if (default_socket && socket_exists) {
        r = server_addr_parse(default_socket, &c.server);
        if (r < 0)
            return fail(err, "invalid default socket path '%.200s'", default_socket);
    } else {
        r = server_addr_from_host_port(SERVER_DEFAULT_HOST, SERVER_DEFAULT_PORT, &c.server);
        if (r < 0)
            return fail(err, "internal error: bad default server");
    }

    /* An explicit --user/--password beats a token from the environment. */
    if (args->token)
        c.token = args->token;
    else if (!args->user && !args->password && env_token && env_token[0])
        c.token = env_token;
    if (args->user && args->password && args->user[0] && args->password[0]) {
        c.user = args->user;
        c.password = args->password;
    }

    *ret = c;
    return 0;
}

static void vprint(const char *prefix, const char *fmt, va_list ap) _printf_(2, 0);

static void vprint(const char *prefix, const char *fmt, va_list ap)
{
    fflush(stdout);
    fprintf(stderr, "headroom: %s", prefix);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprint("", fmt, ap);
    va_end(ap);
}

void cli_warning(const struct cli_args *args, const char *fmt, ...)
{
    va_list ap;

    if (args && args->quiet)
        return;
    va_start(ap, fmt);
    vprint("warning: ", fmt, ap);
    va_end(ap);
}

int cli_usage_error(const struct cli_command *command, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprint("", fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try 'headroom%s%s --help'.\n", command ? " " : "",
            command ? command->name : "");
    return CLI_EXIT_USAGE;
}

int cli_client(const struct cli_args *args, struct http_client *ret)
{
    char err[CLI_MESSAGE_MAX];
    char sock[SERVER_ADDR_SOCKET_MAX];
    const char *default_socket = NULL;
    bool exists = false;
    struct stat st;
    int r;

    /* The same place the daemon chose: $XDG_RUNTIME_DIR, else (for a user without one) its state
     * directory. */
    r = server_default_socket(geteuid(), getenv("XDG_RUNTIME_DIR"), sock, sizeof(sock));
    if (r == -ENOENT)
        r = server_state_socket(getenv("XDG_STATE_HOME"), getenv("HOME"), sock, sizeof(sock));
    if (r >= 0) {
        default_socket = sock;
        exists = stat(sock, &st) == 0 && S_ISSOCK(st.st_mode);
    }
    r = cli_resolve_client(args, getenv("HEADROOM_SERVER"), getenv("HEADROOM_TOKEN"),
                           default_socket, exists, ret, err);
    if (r < 0) {
        cli_error("%s", err);
        return CLI_EXIT_USAGE;
    }
    if (!!args->user != !!args->password)
        cli_warning(args, "%s is ignored without %s", args->user ? "--user" : "--password",
                    args->user ? "--password" : "--user");
    return 0;
}

int cli_request(const struct cli_args *args,
                const char *method,
                const char *path,
                const char *body,
                struct http_response *ret)
{
    struct http_client c;
    char herr[HTTP_ERROR_MAX], where[SERVER_ADDR_STR_MAX];
    int r;

    r = cli_client(args, &c);
    if (r != 0)
        return r;
    r = http_request(&c, method, path, body, ret, herr);
    if (r >= 0)
        return 0;

    server_addr_to_string(&c.server, where, sizeof(where));
    if (r == -ECONNREFUSED || r == -ENOENT)
        cli_error("cannot reach the daemon at %s: %s (is 'headroom serve' running?)", where, herr);
    else if (transport_error_is_unreachable(r))
        cli_error("cannot reach the daemon at %s: %s", where, herr);
    else
        cli_error("%s %s at %s: %s", method, path, where, herr);
    return response_exit_code(r, 0, NULL, 0);
}

int cli_report_http_error(const char *method, const char *path, const struct http_response *resp)
{
    char msg[CLI_MESSAGE_MAX];

    response_error_message(resp->status, resp->body, resp->body_size, msg, sizeof(msg));
    if (resp->status == 401)
        cli_error("%s %s: %s (check --token, or --user and --password)", method, path, msg);
    else
        cli_error("%s %s: %s", method, path, msg);
    return CLI_EXIT_FAILURE;
}

json_t *cli_parse_json(const char *method, const char *path, const struct http_response *resp)
{
    json_error_t e;
    json_t *j = json_loadb(resp->body, resp->body_size, JSON_DECODE_ANY, &e);

    if (!j)
        cli_error("%s %s: the answer is not valid JSON: %s (line %d, column %d)", method, path,
                  e.text, e.line, e.column);
    return j;
}

void cli_print_body(const struct http_response *resp)
{
    if (resp->body_size == 0)
        return;
    fwrite(resp->body, 1, resp->body_size, stdout);
    if (resp->body[resp->body_size - 1] != '\n')
        fputc('\n', stdout);
}

static const char global_help_head[] =
        "Usage: headroom [OPTIONS] COMMAND [ARGS...]\n"
        "\n"
        "Asks the headroom daemon whether this machine can take another heavy task now.\n"
        "\n"
        "Commands:\n";

static const char global_help_tail[] =
        "\n"
        "Connection options (every command that talks to the daemon):\n"
        "      --server URL        the daemon: http://HOST:PORT, unix:/PATH or /PATH\n"
        "                          (default: $HEADROOM_SERVER, else the socket\n"
        "                          " SERVER_SYSTEM_SOCKET
        " (root) or\n"
        "                          $XDG_RUNTIME_DIR/" SERVER_USER_SOCKET
        " (others; without it\n"
        "                          the state dir's) if it exists,\n"
        "                          else http://" SERVER_DEFAULT_HOST
        ":9329)\n"
        "      --host HOST         connect to http://HOST:PORT (default " SERVER_DEFAULT_HOST
        ")\n"
        "  -p, --port PORT         with --host; default 9329\n"
        "      --token TOKEN       send 'Authorization: Bearer TOKEN'\n"
        "                          (default: $HEADROOM_TOKEN)\n"
        "      --user USER         HTTP Basic user, sent only together with --password\n"
        "      --password PASSWORD HTTP Basic password\n"
        "      --timeout DURATION  give up after DURATION: 500ms, 10s, 1m (default 10s);\n"
        "                          for run and submit the command's limit, for wait\n"
        "                          how long to wait\n"
        "\n"
        "Output options:\n"
        "      --json              print the daemon's JSON answer unchanged\n"
        "  -q, --quiet             print nothing on success; the exit status tells\n"
        "  -h, --help              show this help, or a command's help after it\n"
        "      --version           print the version\n"
        "\n"
        "Options may come before or after the command word and between its arguments.\n"
        "'--' ends the options: a task named '-x' is asked as 'headroom ask -- -x'.\n"
        "Everything after 'serve' is passed to the daemon.\n"
        "\n"
        "Exit status:\n"
        "   0  success; for ask: the task is allowed\n"
        "   1  any other error: an HTTP error, an answer that is not JSON,\n"
        "      an invalid configuration file\n"
        "   2  usage error: unknown option, missing TASK, invalid value\n"
        "  69  the daemon cannot be reached (connection refused, no socket, timeout)\n"
        "  75  ask: no capacity now, the task is denied; ask again later\n"
        "\n"
        "run and wait exit with the command's own status; see their --help.\n";

static const char connection_help[] =
        "\n"
        "Connection options:\n"
        "      --server URL        http://HOST:PORT, unix:/PATH or /PATH\n"
        "                          (default: $HEADROOM_SERVER, else the local socket\n"
        "                          if it exists, else http://" SERVER_DEFAULT_HOST
        ":9329)\n"
        "      --host HOST         connect to http://HOST:PORT (default " SERVER_DEFAULT_HOST
        ")\n"
        "  -p, --port PORT         with --host; default 9329\n"
        "      --token TOKEN       send 'Authorization: Bearer TOKEN' ($HEADROOM_TOKEN)\n"
        "      --user USER         HTTP Basic user, sent only together with --password\n"
        "      --password PASSWORD HTTP Basic password\n";

static const char connection_timeout_help[] =
        "      --timeout DURATION  give up after DURATION (default 10s)\n";

void cli_help(const struct cli_command *command, FILE *f)
{
    if (!command) {
        fputs(global_help_head, f);
        for (size_t i = 0; i < ELEMENTSOF(commands); i++) {
            /* A synopsis too long for its column puts the summary on a line of its own. */
            if (strlen(commands[i]->synopsis) > 24)
                fprintf(f, "  %s\n  %-24s %s\n", commands[i]->synopsis, "", commands[i]->summary);
            else
                fprintf(f, "  %-24s %s\n", commands[i]->synopsis, commands[i]->summary);
        }
        fputs(global_help_tail, f);
        return;
    }

    fprintf(f, "Usage: headroom %s\n\n%s", command->synopsis, command->help);
    if (command->options & CLI_OPT(CLI_OPTION_SERVER)) {
        fputs(connection_help, f);
        /* Where --timeout is the command's own limit, its help says so among its options. */
        if (!command->stop_at_operand && !command->own_timeout)
            fputs(connection_timeout_help, f);
    }
    fputs("\nOutput options:\n", f);
    if (command->options & CLI_OPT(CLI_OPTION_JSON))
        fputs("      --json              print JSON instead of text\n", f);
    if (command->options & CLI_OPT(CLI_OPTION_QUIET))
        fputs("  -q, --quiet             print nothing on success; the exit status tells\n", f);
    fputs("  -h, --help              show this help\n", f);
}

int cli_main(int argc, char **argv)
{
    struct cli_args args;
    char err[CLI_MESSAGE_MAX];
    int r, status;

    r = cli_parse_args(argc, argv, &args, err);
    if (r < 0)
        return cli_usage_error(args.command, "%s", err);

    if (args.command && args.command->raw) {
        if (args.help) {
            /* "headroom --help serve": the daemon owns its help text. */
            char *help_argv[] = { args.raw_argv[0], (char *) "--help", NULL };
            return args.command->run(&(struct cli_args){ .raw_argc = 2, .raw_argv = help_argv });
        }
        return args.command->run(&args);
    }

    if (args.help) {
        cli_help(args.command, stdout);
        status = CLI_EXIT_SUCCESS;
    } else if (args.version)
        status = cli_command_version.run(&args);
    else {
        r = http_global_init();
        if (r < 0) {
            cli_error("cannot initialise libcurl");
            return CLI_EXIT_FAILURE;
        }
        status = args.command->run(&args);
        http_global_done();
    }

    /* A full disk or a closed pipe must not pass for success. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("cannot write to standard output: %m");
        if (status == CLI_EXIT_SUCCESS || status == CLI_EXIT_NO_CAPACITY)
            status = CLI_EXIT_FAILURE;
    }
    return status;
}
