/* SPDX-License-Identifier: MIT */
/* headroom stats [TASK]: what the daemon has learned about tasks (GET /stats[?task=TASK]). */

#include <stdio.h>
#include <string.h>

#include "basic/macro.h"
#include "cli/cli.h"
#include "cli/exit-codes.h"
#include "cli/format.h"
#include "cli/json-util.h"
#include "cli/request.h"
#include "cli/response.h"

static int run(const struct cli_args *args)
{
    _cleanup_(http_response_done) struct http_response resp = { 0 };
    _cleanup_json_ json_t *stats = NULL;
    _cleanup_free_ char *path = NULL;
    const char *task = args->n_args > 0 ? args->args[0] : NULL;
    int r;

    r = request_stats_path(task, &path);
    if (r < 0) {
        cli_error("cannot build the request: %s", strerror(-r));
        return CLI_EXIT_FAILURE;
    }
    r = cli_request(args, "GET", path, NULL, &resp);
    if (r != 0)
        return r;
    if (task && resp.status == 404) {
        cli_error("task not found: %s", task);
        return CLI_EXIT_FAILURE;
    }
    if (response_exit_code(0, resp.status, resp.body, resp.body_size) != CLI_EXIT_SUCCESS)
        return cli_report_http_error("GET", path, &resp);

    if (args->quiet)
        return CLI_EXIT_SUCCESS;
    if (args->json) {
        cli_print_body(&resp);
        return CLI_EXIT_SUCCESS;
    }
    stats = cli_parse_json("GET", path, &resp);
    if (!stats)
        return CLI_EXIT_FAILURE;
    format_stats(stdout, stats);
    return CLI_EXIT_SUCCESS;
}

const struct cli_command cli_command_stats = {
    .name = "stats",
    .synopsis = "stats [TASK]",
    .summary = "show what the daemon learned about tasks",
    .help = "Shows, for every task the daemon has observed (or for TASK only), how many runs\n"
            "it measured and the average load each run added. Exit status 1 when TASK is\n"
            "unknown.\n",
    .options = CLI_OPTS_CONNECTION | CLI_OPTS_OUTPUT,
    .max_args = 1,
    .arg_name = "TASK",
    .task_arg = true,
    .run = run,
};
