/* SPDX-License-Identifier: MIT */
/* headroom stats [TASK]: what the daemon has learned about tasks. GET /stats[?task=TASK] in
 * capfox's layout, and for one TASK also its prediction model (GET /v1/models/TASK). */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"
#include "cli/cli.h"
#include "cli/exit-codes.h"
#include "cli/format.h"
#include "cli/json-util.h"
#include "cli/request.h"
#include "cli/response.h"

/* GET path into *resp. Returns 0 on an answer, whatever its status, else the exit status. */
static int get(const struct cli_args *args, const char *path, struct http_response *resp)
{
    return cli_request(args, "GET", path, NULL, resp);
}

/* An answer to GET /v1/models/TASK that is a model. capfox answers any GET it has no route for
 * from its "/" handler, so a 200 alone does not mean the daemon has models. */
static bool is_model(const json_t *j)
{
    return json_is_object(json_get(j, "resources"));
}

/* stats TASK --json: the model's answer as it came; from a daemon without models, the /stats
 * answer instead, the only one it has. */
static int run_task_json(const struct cli_args *args, const char *task)
{
    _cleanup_(http_response_done) struct http_response resp = { 0 };
    _cleanup_free_ char *path = NULL;
    int r;

    r = request_model_path(task, false, 0, &path);
    if (r < 0) {
        cli_error("cannot build the request: %s", strerror(-r));
        return CLI_EXIT_FAILURE;
    }
    r = get(args, path, &resp);
    if (r != 0)
        return r;
    if (resp.status != 404 && resp.status != 405) {
        _cleanup_json_ json_t *model = NULL;

        if (response_exit_code(0, resp.status, resp.body, resp.body_size) != CLI_EXIT_SUCCESS)
            return cli_report_http_error("GET", path, &resp);
        model = json_loadb(resp.body, resp.body_size, 0, NULL);
        if (is_model(model)) {
            cli_print_body(&resp);
            return CLI_EXIT_SUCCESS;
        }
    }

    free(path);
    path = NULL;
    http_response_done(&resp);
    r = request_stats_path(task, &path);
    if (r < 0) {
        cli_error("cannot build the request: %s", strerror(-r));
        return CLI_EXIT_FAILURE;
    }
    r = get(args, path, &resp);
    if (r != 0)
        return r;
    if (resp.status == 404) {
        cli_error("task not found: %s", task);
        return CLI_EXIT_FAILURE;
    }
    if (response_exit_code(0, resp.status, resp.body, resp.body_size) != CLI_EXIT_SUCCESS)
        return cli_report_http_error("GET", path, &resp);
    cli_print_body(&resp);
    return CLI_EXIT_SUCCESS;
}

/* After the capfox block of TASK, its model. A daemon without models (404, 405, or an answer that
 * is not a model) leaves the block alone. */
static int print_model(const struct cli_args *args, const char *task)
{
    _cleanup_(http_response_done) struct http_response resp = { 0 };
    _cleanup_json_ json_t *model = NULL;
    _cleanup_free_ char *path = NULL;
    int r;

    r = request_model_path(task, false, 0, &path);
    if (r < 0) {
        cli_error("cannot build the request: %s", strerror(-r));
        return CLI_EXIT_FAILURE;
    }
    r = get(args, path, &resp);
    if (r != 0)
        return r;
    if (resp.status == 404 || resp.status == 405)
        return CLI_EXIT_SUCCESS;
    if (response_exit_code(0, resp.status, resp.body, resp.body_size) != CLI_EXIT_SUCCESS)
        return cli_report_http_error("GET", path, &resp);
    model = cli_parse_json("GET", path, &resp);
    if (!model)
        return CLI_EXIT_FAILURE;
    if (is_model(model))
        format_model(stdout, model);
    return CLI_EXIT_SUCCESS;
}

static int run(const struct cli_args *args)
{
    _cleanup_(http_response_done) struct http_response resp = { 0 };
    _cleanup_json_ json_t *stats = NULL;
    _cleanup_free_ char *path = NULL;
    const char *task = args->n_args > 0 ? args->args[0] : NULL;
    int r;

    if (task && args->json && !args->quiet)
        return run_task_json(args, task);

    r = request_stats_path(task, &path);
    if (r < 0) {
        cli_error("cannot build the request: %s", strerror(-r));
        return CLI_EXIT_FAILURE;
    }
    r = get(args, path, &resp);
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
    if (!task)
        return CLI_EXIT_SUCCESS;
    return print_model(args, task);
}

const struct cli_command cli_command_stats = {
    .name = "stats",
    .synopsis = "stats [TASK]",
    .summary = "show what the daemon learned about tasks",
    .help = "Shows, for every task the daemon has observed (or for TASK only), how many runs\n"
            "it measured and the average load each run added. For TASK it then shows its\n"
            "prediction model: the coefficients per resource, their confidence, how declared\n"
            "needs compare with what was observed, and the most recent observations. With\n"
            "--json and TASK, prints the model's answer (GET /v1/models/TASK). Exit status 1\n"
            "when TASK is unknown.\n",
    .options = CLI_OPTS_CONNECTION | CLI_OPTS_OUTPUT,
    .max_args = 1,
    .arg_name = "TASK",
    .task_arg = true,
    .run = run,
};
