/* SPDX-License-Identifier: MIT */
/* headroom ask TASK: may TASK start now? POST /v1/ask, or capfox's POST /ask on a server that
 * does not have /v1/ask. Exit 0 when allowed, 75 when denied. */

#include <errno.h>
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

#define ASK_PATH        "/v1/ask"
#define ASK_CAPFOX_PATH "/ask?reason=true"

static void warn_dropped(const struct cli_args *args, unsigned dropped)
{
    static const struct {
        unsigned flag;
        const char *option;
    } sizes[] = {
        { REQUEST_DROPPED_MEM, "--mem" },
        { REQUEST_DROPPED_VRAM, "--vram" },
        { REQUEST_DROPPED_DISK, "--disk" },
    };

    char list[64] = "";

    for (size_t i = 0; i < ELEMENTSOF(sizes); i++)
        if (dropped & sizes[i].flag) {
            if (list[0])
                strcat(list, ", ");
            strcat(list, sizes[i].option);
        }
    if (list[0])
        cli_warning(args, "the server only has capfox's /ask, which takes no sizes: %s not sent",
                    list);
    if (dropped & REQUEST_ROUNDED)
        cli_warning(args, "capfox's /ask takes whole numbers: fractional values were rounded");
}

static int run(const struct cli_args *args)
{
    _cleanup_(http_response_done) struct http_response resp = { 0 };
    _cleanup_json_ json_t *answer = NULL;
    _cleanup_free_ char *body = NULL;
    const char *task = args->args[0];
    const char *path = ASK_PATH;
    int r, status;

    r = request_ask_body(task, args->complexity, &args->needs, (double) args->reserve_usec / 1e6, &body);
    if (r < 0) {
        cli_error("cannot build the request: %s", strerror(-r));
        return CLI_EXIT_FAILURE;
    }
    r = cli_request(args, "POST", path, body, &resp);
    if (r != 0)
        return r;

    /* capfox has no /v1: it answers 404, or 405 because its catch-all "GET /" route matches the
     * path for another method. Its /ask checks only the current load, but it is the question
     * it can answer. */
    if (resp.status == 404 || resp.status == 405) {
        unsigned dropped = 0;

        free(body);
        body = NULL;
        r = request_ask_capfox_body(task, args->complexity, &args->needs, &body, &dropped);
        if (r < 0) {
            cli_error("cannot build the request: %s", strerror(-r));
            return CLI_EXIT_FAILURE;
        }
        warn_dropped(args, dropped);
        if (args->reserve_usec > 0)
            cli_warning(args, "the server only has capfox's /ask, which holds nothing: --reserve ignored");
        http_response_done(&resp);
        path = ASK_CAPFOX_PATH;
        r = cli_request(args, "POST", path, body, &resp);
        if (r != 0)
            return r;
    }

    status = response_exit_code(0, resp.status, resp.body, resp.body_size);
    if (status != CLI_EXIT_SUCCESS && status != CLI_EXIT_NO_CAPACITY)
        return cli_report_http_error("POST", path, &resp);
    if (args->quiet)
        return status;
    if (args->json) {
        cli_print_body(&resp);
        return status;
    }

    answer = cli_parse_json("POST", path, &resp);
    if (!answer)
        return CLI_EXIT_FAILURE;
    format_ask(stdout, task, answer);
    return status;
}

const struct cli_command cli_command_ask = {
    .name = "ask",
    .synopsis = "ask TASK [OPTIONS]",
    .summary = "may TASK start now? (exit 0 yes, 75 no)",
    .help = "Asks the daemon whether TASK may start now, given what it needs on top of what\n"
            "the machine already uses. When allowed, prints the tightest resource; when\n"
            "denied, every check that failed, with its numbers. Exit status 0 when allowed,\n"
            "75 when denied (ask again later).\n"
            "\n"
            "Options:\n"
            "      --complexity N      how big this run is, 0 to 1e15 (default 0): the task\n"
            "                          type's learnt model predicts its needs at N\n"
            "      --cpu PCT           CPU it needs, percent of the whole machine (0-100)\n"
            "      --mem SIZE          memory it needs: 512M, 8G, 1.5GiB\n"
            "      --gpu PCT           GPU it needs, percent of one GPU (0-100)\n"
            "      --vram SIZE         GPU memory it needs\n"
            "      --disk SIZE         disk space it will write on the first monitored path\n"
            "      --reserve DURATION  when allowed, hold what it needs for that long (60s,\n"
            "                          10m): later asks see it as used. The lease id is\n"
            "                          printed; pass it to notify --lease\n"
            "      --reason            accepted for capfox's scripts; the reasons for a\n"
            "                          refusal are always printed\n"
            "\n"
            "A capfox server, which has no /v1/ask, is asked with POST /ask instead; it takes\n"
            "whole percentages only, so --mem, --vram and --disk are not sent to it.\n",
    .options = CLI_OPTS_CONNECTION | CLI_OPTS_OUTPUT | CLI_OPT(CLI_OPTION_COMPLEXITY) |
               CLI_OPT(CLI_OPTION_CPU) | CLI_OPT(CLI_OPTION_MEM) | CLI_OPT(CLI_OPTION_GPU) |
               CLI_OPT(CLI_OPTION_VRAM) | CLI_OPT(CLI_OPTION_DISK) | CLI_OPT(CLI_OPTION_REASON) |
               CLI_OPT(CLI_OPTION_RESERVE),
    .min_args = 1,
    .max_args = 1,
    .arg_name = "TASK",
    .task_arg = true,
    .run = run,
};
