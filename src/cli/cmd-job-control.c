/* SPDX-License-Identifier: MIT */
/* headroom cancel|suspend|resume ID: POST /v1/jobs/ID/<action> for a background job, or
 * /v1/tasks/ID/<action> for a task "headroom run" supervises in the foreground (ID "t-..."). */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"
#include "cli/cli.h"
#include "cli/exit-codes.h"
#include "cli/job-client.h"
#include "cli/json-util.h"

/* What the answer's state says happened, for the one line printed. */
static const char *outcome(const char *action, const char *state)
{
    if (strcmp(action, "cancel") == 0) {
        if (state && strcmp(state, "cancelled") == 0)
            return "cancelled";
        /* A running job ends on SIGTERM (SIGKILL after its kill-after): cancelled once it has. */
        return "is being cancelled";
    }
    if (strcmp(action, "suspend") == 0)
        return "suspended";
    return "resumed";
}

static int control(const struct cli_args *args, const char *action)
{
    _cleanup_json_ json_t *answer = NULL;
    const char *id = args->args[0];
    bool task = cli_task_id_is_valid(id);
    char path[96], what[48], num[24];
    uint64_t n;
    int r;

    /* A job id as the daemon writes it: "012" is job 12. */
    if (!task && cli_parse_job_id(id, &n) == 0) {
        (void) snprintf(num, sizeof(num), "%" PRIu64, n);
        id = num;
    }
    (void) snprintf(path, sizeof(path), "/v1/%s/%s/%s", task ? "tasks" : "jobs", id, action);
    (void) snprintf(what, sizeof(what), "%s %s", task ? "task" : "job", id);
    r = job_call_json(args, what, "POST", path, NULL, &answer);
    if (r != 0)
        return r;
    if (job_print_quiet_or_json(args, answer, &r))
        return r;
    printf("%s %s\n", what, outcome(action, json_get_string(answer, "state")));
    return CLI_EXIT_SUCCESS;
}

static int run_cancel(const struct cli_args *args)
{
    return control(args, "cancel");
}

static int run_suspend(const struct cli_args *args)
{
    return control(args, "suspend");
}

static int run_resume(const struct cli_args *args)
{
    return control(args, "resume");
}

#define CONTROL_EXIT_HELP                                                                  \
    "\n"                                                                                   \
    "Exit status: 0 done; 1 refused: no such job or task, not yours (only its owner and\n" \
    "root may), or not in a state that allows it (HTTP 409); 2 usage error; 69 the\n"      \
    "daemon cannot be reached.\n"

const struct cli_command cli_command_cancel = {
    .name = "cancel",
    .synopsis = "cancel ID",
    .summary = "cancel a job, or stop a task run supervises",
    .help = "Cancels job ID: a queued job at once; a running or suspended one gets SIGTERM\n"
            "(resumed first), then SIGKILL after its --kill-after, and is 'cancelled' once it\n"
            "has ended. ID may also be a task id (t-...) of 'headroom run', as listed by\n"
            "GET /v1/tasks: that task is stopped the same way.\n" CONTROL_EXIT_HELP,
    .options = CLI_OPTS_CONNECTION | CLI_OPTS_OUTPUT,
    .min_args = 1,
    .max_args = 1,
    .arg_name = "ID",
    .job_or_task_arg = true,
    .run = run_cancel,
};

const struct cli_command cli_command_suspend = {
    .name = "suspend",
    .synopsis = "suspend ID",
    .summary = "pause a running job or task",
    .help = "Pauses running job ID (or task t-...) with all its processes, until 'headroom\n"
            "resume ID'. What it holds stays held.\n" CONTROL_EXIT_HELP,
    .options = CLI_OPTS_CONNECTION | CLI_OPTS_OUTPUT,
    .min_args = 1,
    .max_args = 1,
    .arg_name = "ID",
    .job_or_task_arg = true,
    .run = run_suspend,
};

const struct cli_command cli_command_resume = {
    .name = "resume",
    .synopsis = "resume ID",
    .summary = "continue a suspended job or task",
    .help = "Lets suspended job ID (or task t-...) run again (SIGCONT).\n" CONTROL_EXIT_HELP,
    .options = CLI_OPTS_CONNECTION | CLI_OPTS_OUTPUT,
    .min_args = 1,
    .max_args = 1,
    .arg_name = "ID",
    .job_or_task_arg = true,
    .run = run_resume,
};
