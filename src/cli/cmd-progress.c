/* SPDX-License-Identifier: MIT */
/* headroom progress PCT [--phase NAME]: a task run by `headroom run` says how far it is (POST
 * /v1/tasks/$HEADROOM_TASK_ID/progress). The daemon shows it and expects the task's end from it. */

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"
#include "basic/parse-util.h"
#include "cli/cli.h"
#include "cli/exit-codes.h"
#include "cli/json-util.h"
#include "cli/response.h"

/* "t-" and 16 lowercase hex digits, as the daemon gives them. */
static bool task_id_valid(const char *s)
{
    if (!s || strlen(s) != 18 || strncmp(s, "t-", 2) != 0)
        return false;
    return strspn(s + 2, "0123456789abcdef") == 16;
}

static int run(const struct cli_args *args)
{
    _cleanup_(http_response_done) struct http_response resp = { 0 };
    _cleanup_json_ json_t *body = NULL;
    _cleanup_free_ char *text = NULL;
    const char *id = getenv("HEADROOM_TASK_ID");
    char path[64];
    double pct;

    if (cli_parse_pct(args->args[0], &pct) < 0)
        return cli_usage_error(args->command, "invalid progress '%s': expected a percentage from 0 to 100",
                               args->args[0]);
    if (!task_id_valid(id))
        return cli_usage_error(args->command, "HEADROOM_TASK_ID is not set: run this from a command that "
                                              "'headroom run' started");
    body = json_pack("{s:f}", "pct", pct);
    if (body && args->phase)
        (void) json_object_set_new(body, "phase", json_string(args->phase));
    if (!body || !(text = json_dumps(body, JSON_COMPACT)))
        return cli_error("out of memory"), CLI_EXIT_FAILURE;
    (void) snprintf(path, sizeof(path), "/v1/tasks/%s/progress", id);
    int r = cli_request(args, "POST", path, text, &resp);
    if (r != 0)
        return r;
    if (resp.status != 200)
        return cli_report_http_error("POST", path, &resp);
    if (args->json)
        cli_print_body(&resp);
    return CLI_EXIT_SUCCESS;
}

const struct cli_command cli_command_progress = {
    .name = "progress",
    .synopsis = "progress PCT [--phase NAME]",
    .summary = "from inside 'headroom run': report how far the task is",
    .help = "Reports that the task 'headroom run' started (found through $HEADROOM_TASK_ID) is\n"
            "PCT percent done, optionally in phase NAME. The daemon shows it in GET /v1/tasks\n"
            "and expects the task's end from the pace so far.\n"
            "\n"
            "Options:\n"
            "      --phase NAME        what the task is doing now (1-63 bytes)\n",
    .options = CLI_OPTS_CONNECTION | CLI_OPTS_OUTPUT | CLI_OPT(CLI_OPTION_PHASE),
    .min_args = 1,
    .max_args = 1,
    .arg_name = "PCT",
    .run = run,
};
