/* SPDX-License-Identifier: MIT */
/* headroom submit [OPTIONS] [--] COMMAND [ARGS...]: hands COMMAND to the daemon's job queue (POST
 * /v1/jobs) with the caller's working directory and environment, and prints the job's id, so that
 * "id=$(headroom submit -- make -j8)" works. The daemon starts it when it fits, as the caller,
 * through "headroom run"; "jobs", "logs", "wait" and "cancel" follow it from there. */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/macro.h"
#include "cli/cli.h"
#include "cli/exit-codes.h"
#include "cli/job-client.h"
#include "cli/job-request.h"
#include "cli/json-util.h"

static int run(const struct cli_args *args)
{
    _cleanup_json_ json_t *job = NULL;
    _cleanup_free_ char *body = NULL, *cwd = NULL;
    unsigned dropped = 0;
    const json_t *id;
    int r;

    cwd = getcwd(NULL, 0);
    if (!cwd) {
        cli_error("cannot tell the current directory, where the job would run: %m");
        return CLI_EXIT_FAILURE;
    }
    r = job_submit_body(args, args->raw_argv, (size_t) args->raw_argc, cwd, environ, &body, &dropped);
    if (r == -E2BIG)
        return cli_usage_error(args->command,
                               "COMMAND is too long for a job: at most %d arguments of %u KiB in all",
                               JOB_ARGV_MAX, JOB_ARGV_BYTES_MAX / 1024);
    if (r == -EILSEQ)
        return cli_usage_error(args->command, "an argument of COMMAND is not valid UTF-8, which a job "
                                              "cannot carry");
    if (r == -EINVAL) {
        cli_error("the current directory is not an absolute UTF-8 path, which a job cannot carry");
        return CLI_EXIT_FAILURE;
    }
    if (r < 0) {
        cli_error("cannot build the request: %s", strerror(-r));
        return CLI_EXIT_FAILURE;
    }
    if (dropped > 0)
        cli_warning(args,
                    "%u environment variable%s left out of the job (not NAME=VALUE in UTF-8, "
                    "HEADROOM_TASK*, or past %d variables or %u KiB)",
                    dropped, dropped == 1 ? "" : "s", JOB_ENV_MAX, JOB_ENV_BYTES_MAX / 1024);

    r = job_call_json(args, NULL, "POST", "/v1/jobs", body, &job);
    if (r != 0)
        return r;
    id = json_get(job, "id");
    if (!json_is_integer(id) || json_integer_value(id) < 1) {
        cli_error("POST /v1/jobs: the answer has no job id");
        return CLI_EXIT_FAILURE;
    }
    if (job_print_quiet_or_json(args, job, &r))
        return r;
    printf("%" JSON_INTEGER_FORMAT "\n", json_integer_value(id));
    return CLI_EXIT_SUCCESS;
}

const struct cli_command cli_command_submit = {
    .name = "submit",
    .synopsis = "submit [OPTIONS] [--] COMMAND [ARGS...]",
    .summary = "queue COMMAND as a background job; prints its id",
    .help = "Hands COMMAND to the daemon's job queue with your working directory and\n"
            "environment, and prints the job's id alone (with --json, the job). The daemon\n"
            "starts it as you when it fits, by priority, supervised as 'headroom run' does,\n"
            "its output going to the job's log ('headroom logs ID'). Options end at COMMAND;\n"
            "'--' also ends them.\n"
            "\n"
            "Options:\n"
            "      --priority P0|P1|P2 P0 first, P2 last (default P1); a job waiting long\n"
            "                          moves up\n"
            "      --task NAME         the task type (default: COMMAND's base name)\n"
            "      --complexity N      how big this run is, 0 to 1e15 (default 0)\n"
            "      --cpu PCT, --mem SIZE, --gpu PCT, --vram SIZE, --disk SIZE\n"
            "                          what it needs, as for ask; else the learnt prediction\n"
            "      --gpus N            hold N GPUs (1-16) for it alone, as for run\n"
            "      --timeout DURATION  stop COMMAND after DURATION of running: SIGTERM, then\n"
            "                          SIGKILL (requests to the daemon keep the default 10s)\n"
            "      --kill-after DUR    the grace between them (default 10s)\n"
            "      --max-mem SIZE, --max-cpu CPUS, --max-pids N\n"
            "                          limits on its cgroup\n"
            "      --warn-mem SIZE, --critical-mem SIZE, --warn-cpu PCT\n"
            "                          its own limits for the task:high-memory,\n"
            "                          task:critical-memory and task:high-cpu events\n"
            "      --stall DURATION    no output and no CPU time for that long is a stall\n"
            "                          (default 5m, 0 off)\n"
            "      --on-stall=warn|kill\n"
            "                          kill: stop a stalled COMMAND as --timeout does\n"
            "      --checkpoint-signal SIG\n"
            "                          the signal that asks COMMAND to save its work before\n"
            "                          it is suspended or stopped: USR1, SIGTERM, 10\n"
            "      --checkpoint-grace DURATION\n"
            "                          how long it gets to do so (1s to 24h)\n"
            "\n"
            "Exit status: 0 queued; 1 refused (the message says why); 2 usage error;\n"
            "69 the daemon cannot be reached; 75 the daemon cannot take a job now.\n",
    .options = CLI_OPTS_CONNECTION | CLI_OPTS_OUTPUT | CLI_OPT(CLI_OPTION_PRIORITY) |
               CLI_OPT(CLI_OPTION_TASK) | CLI_OPT(CLI_OPTION_COMPLEXITY) | CLI_OPT(CLI_OPTION_CPU) |
               CLI_OPT(CLI_OPTION_MEM) | CLI_OPT(CLI_OPTION_GPU) | CLI_OPT(CLI_OPTION_VRAM) |
               CLI_OPT(CLI_OPTION_DISK) | CLI_OPT(CLI_OPTION_GPUS) |
               CLI_OPT(CLI_OPTION_KILL_AFTER) | CLI_OPT(CLI_OPTION_MAX_MEM) |
               CLI_OPT(CLI_OPTION_MAX_CPU) | CLI_OPT(CLI_OPTION_MAX_PIDS) |
               CLI_OPT(CLI_OPTION_STALL) | CLI_OPT(CLI_OPTION_ON_STALL) |
               CLI_OPT(CLI_OPTION_CHECKPOINT_SIGNAL) | CLI_OPT(CLI_OPTION_CHECKPOINT_GRACE) |
               CLI_OPT(CLI_OPTION_WARN_MEM) | CLI_OPT(CLI_OPTION_CRITICAL_MEM) | CLI_OPT(CLI_OPTION_WARN_CPU),
    .arg_name = "COMMAND",
    .stop_at_operand = true,
    .run = run,
};
