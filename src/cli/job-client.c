/* SPDX-License-Identifier: MIT */
#include "cli/job-client.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "basic/macro.h"
#include "cli/exit-codes.h"
#include "cli/json-util.h"
#include "cli/response.h"

/* Whether what names one job or task ("job 12", "task t-..."), which a 404 says does not exist,
 * rather than a list that a daemon without jobs does not have. */
static bool names_one(const char *what)
{
    return what && (strncmp(what, "job ", 4) == 0 || strncmp(what, "task ", 5) == 0);
}

int job_report_refusal(const char *what,
                       const char *method,
                       const char *path,
                       const struct http_response *resp)
{
    char msg[CLI_MESSAGE_MAX];

    response_error_message(resp->status, resp->body, resp->body_size, msg, sizeof(msg));
    switch (resp->status) {
    case 400:
        if (!what) {
            cli_error("the daemon refused the job: %s", msg);
            return CLI_EXIT_FAILURE;
        }
        break;
    case 403:
        if (!what)
            cli_error("the daemon will not run a job for this caller: %s (over TCP, a daemon "
                      "running as root needs a token of the user's own)",
                      msg);
        else
            cli_error("%s is not yours: only its owner and root may (%s)", what, msg);
        return CLI_EXIT_FAILURE;
    case 404:
        if (names_one(what)) {
            cli_error("no such %s (%s)", what, msg);
            return CLI_EXIT_FAILURE;
        }
        break;
    case 405:
    case 501:
        cli_error("%s %s: this daemon does not run jobs (%s)", method, path, msg);
        return CLI_EXIT_FAILURE;
    case 409:
        if (names_one(what)) {
            cli_error("%s: refused in its current state (%s)", what, msg);
            return CLI_EXIT_FAILURE;
        }
        break;
    case 503:
        cli_error("%s: the daemon cannot do it now, try again later (%s)", what ? what : "the job",
                  msg);
        return CLI_EXIT_NO_CAPACITY;
    default:
        break;
    }
    return cli_report_http_error(method, path, resp);
}

int job_call_json_raw(const struct cli_args *args,
                      const char *what,
                      const char *method,
                      const char *path,
                      const char *body,
                      struct http_response *raw,
                      json_t **ret)
{
    _cleanup_(http_response_done) struct http_response resp = { 0 };
    json_t *j;
    int r;

    r = cli_request(args, method, path, body, &resp);
    if (r != 0)
        return r;
    if (resp.status < 200 || resp.status > 299)
        return job_report_refusal(what, method, path, &resp);
    j = cli_parse_json(method, path, &resp);
    if (!j)
        return CLI_EXIT_FAILURE;
    *ret = j;
    if (raw) {
        *raw = resp;
        resp = (struct http_response){ 0 };
    }
    return 0;
}

int job_call_json(const struct cli_args *args,
                  const char *what,
                  const char *method,
                  const char *path,
                  const char *body,
                  json_t **ret)
{
    return job_call_json_raw(args, what, method, path, body, NULL, ret);
}

int job_print_json(const json_t *j)
{
    _cleanup_free_ char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);

    if (!text) {
        cli_error("out of memory");
        return CLI_EXIT_FAILURE;
    }
    puts(text);
    return CLI_EXIT_SUCCESS;
}

bool job_print_quiet_or_json(const struct cli_args *args, const json_t *j, int *ret_status)
{
    if (args->quiet)
        *ret_status = CLI_EXIT_SUCCESS;
    else if (args->json)
        *ret_status = job_print_json(j);
    else
        return false;
    return true;
}

int job_fetch(const struct cli_args *args, uint64_t id, json_t **ret)
{
    char path[64], what[48];

    (void) snprintf(path, sizeof(path), "/v1/jobs/%" PRIu64, id);
    (void) snprintf(what, sizeof(what), "job %" PRIu64, id);
    return job_call_json(args, what, "GET", path, NULL, ret);
}

void job_sleep(usec_t usec)
{
    struct timespec ts;

    timespec_store(&ts, usec);
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}
