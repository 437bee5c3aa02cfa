/* SPDX-License-Identifier: MIT */
/* headroom status: what the daemon sees on the machine (GET /status). */

#include <stdio.h>

#include "basic/macro.h"
#include "cli/cli.h"
#include "cli/exit-codes.h"
#include "cli/format.h"
#include "cli/json-util.h"
#include "cli/response.h"

#define STATUS_PATH "/status"

static int run(const struct cli_args *args)
{
    _cleanup_(http_response_done) struct http_response resp = { 0 };
    _cleanup_json_ json_t *status = NULL;
    int r;

    r = cli_request(args, "GET", STATUS_PATH, NULL, &resp);
    if (r != 0)
        return r;
    if (response_exit_code(0, resp.status, resp.body, resp.body_size) != CLI_EXIT_SUCCESS)
        return cli_report_http_error("GET", STATUS_PATH, &resp);

    if (args->quiet)
        return CLI_EXIT_SUCCESS;
    if (args->json) {
        cli_print_body(&resp);
        return CLI_EXIT_SUCCESS;
    }
    status = cli_parse_json("GET", STATUS_PATH, &resp);
    if (!status)
        return CLI_EXIT_FAILURE;
    format_status(stdout, status);
    return CLI_EXIT_SUCCESS;
}

const struct cli_command cli_command_status = {
    .name = "status",
    .synopsis = "status",
    .summary = "show what the daemon sees on this machine",
    .help = "Shows the machine as the daemon last sampled it: CPU, memory, swap, load,\n"
            "pressure, storage, GPUs, disk and network rates, processes.\n",
    .options = CLI_OPTS_CONNECTION | CLI_OPTS_OUTPUT,
    .run = run,
};
