/* SPDX-License-Identifier: MIT */
/* headroom predict TASK: what the daemon expects TASK to use at a given complexity, and whether it
 * knows enough to reserve it at admission (GET /v1/models/TASK?complexity=N). */

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
    _cleanup_json_ json_t *model = NULL;
    _cleanup_free_ char *path = NULL;
    const char *task = args->args[0];
    int r;

    r = request_model_path(task, true, args->complexity, &path);
    if (r < 0) {
        cli_error("cannot build the request: %s", strerror(-r));
        return CLI_EXIT_FAILURE;
    }
    r = cli_request(args, "GET", path, NULL, &resp);
    if (r != 0)
        return r;
    /* A daemon without models (older, or capfox) answers 404 too: either way there is nothing
     * to predict from. */
    if (resp.status == 404) {
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
    model = cli_parse_json("GET", path, &resp);
    if (!model)
        return CLI_EXIT_FAILURE;
    format_predict(stdout, task, args->complexity, model);
    return CLI_EXIT_SUCCESS;
}

const struct cli_command cli_command_predict = {
    .name = "predict",
    .synopsis = "predict TASK [OPTIONS]",
    .summary = "what TASK is expected to use at a complexity",
    .help = "Shows what the daemon's model expects TASK to use at the given complexity: per\n"
            "resource the expected value and the upper bound, in percentage points of the\n"
            "machine (memory also in bytes), the confidence and the number of observations,\n"
            "and what admission ('ask' without declared needs) would reserve, or that there\n"
            "are too few observations and the thresholds alone decide. Exit status 1 when\n"
            "TASK is unknown.\n"
            "\n"
            "Options:\n"
            "      --complexity N      how heavy this run is, 0 to 1e15 (default 0)\n",
    .options = CLI_OPTS_CONNECTION | CLI_OPTS_OUTPUT | CLI_OPT(CLI_OPTION_COMPLEXITY),
    .min_args = 1,
    .max_args = 1,
    .arg_name = "TASK",
    .task_arg = true,
    .run = run,
};
