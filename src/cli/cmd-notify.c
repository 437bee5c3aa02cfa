/* SPDX-License-Identifier: MIT */
/* headroom notify TASK: tells the daemon TASK has just started (POST /task/notify), so that it
 * measures what the task adds to the machine's load. */

#include <stdio.h>
#include <string.h>

#include "basic/macro.h"
#include "cli/cli.h"
#include "cli/exit-codes.h"
#include "cli/format.h"
#include "cli/json-util.h"
#include "cli/request.h"
#include "cli/response.h"

#define NOTIFY_PATH "/task/notify"

static int run(const struct cli_args *args)
{
    _cleanup_(http_response_done) struct http_response resp = { 0 };
    _cleanup_free_ char *body = NULL;
    const char *task = args->args[0];
    int r;

    r = request_notify_body(task, args->complexity, args->lease, &body);
    if (r < 0) {
        cli_error("cannot build the request: %s", strerror(-r));
        return CLI_EXIT_FAILURE;
    }
    r = cli_request(args, "POST", NOTIFY_PATH, body, &resp);
    if (r != 0)
        return r;
    if (response_exit_code(0, resp.status, resp.body, resp.body_size) != CLI_EXIT_SUCCESS)
        return cli_report_http_error("POST", NOTIFY_PATH, &resp);

    if (args->quiet)
        return CLI_EXIT_SUCCESS;
    if (args->json) {
        cli_print_body(&resp);
        return CLI_EXIT_SUCCESS;
    }
    printf("✓ Task '%s' notification received\n", task);
    /* The lease it took, if the daemon said so; a plain capfox answer has none. */
    _cleanup_json_ json_t *answer = json_loadb(resp.body ? resp.body : "", resp.body_size, 0, NULL);
    const char *lease = json_get_string(answer, "lease");
    if (lease) {
        fputs("  lease ", stdout);
        fputs_sanitized(lease, stdout);
        fputs(" now holds only what the task has not reached yet\n", stdout);
    }
    return CLI_EXIT_SUCCESS;
}

const struct cli_command cli_command_notify = {
    .name = "notify",
    .synopsis = "notify TASK [OPTIONS]",
    .summary = "tell the daemon TASK has started",
    .help = "Tells the daemon that TASK has just started, so that it measures how much load\n"
            "the task adds and learns from it.\n"
            "\n"
            "Options:\n"
            "      --complexity N      how big this run of TASK is, 0 to 1e15 (default 0)\n"
            "      --lease ID          the lease 'ask --reserve' gave: from now on it holds\n"
            "                          only what the task has not reached yet. Without it,\n"
            "                          the oldest unclaimed lease of TASK is taken, if any\n",
    .options = CLI_OPTS_CONNECTION | CLI_OPTS_OUTPUT | CLI_OPT(CLI_OPTION_COMPLEXITY) |
               CLI_OPT(CLI_OPTION_LEASE),
    .min_args = 1,
    .max_args = 1,
    .arg_name = "TASK",
    .task_arg = true,
    .run = run,
};
