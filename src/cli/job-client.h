/* SPDX-License-Identifier: MIT */
#pragma once

/* What the job commands (submit, jobs, logs, wait, cancel, suspend, resume, events, tasks) share:
 * one request whose JSON answer is wanted, the messages and exit statuses of the answers the job
 * API refuses with, and an answer printed for --json. Prints (through cli_error()); used by the
 * commands only. */

#include <jansson.h>
#include <stdint.h>

#include "cli/cli.h"
#include "cli/http-client.h"

/* Prints why the daemon refused a request about what ("job 12", "task t-..."; NULL for a job being
 * submitted) and returns the exit status: CLI_EXIT_NO_CAPACITY for 503 (the daemon cannot now),
 * CLI_EXIT_FAILURE for everything else: 403 ("is not yours", or for a submission: no identity the
 * daemon may run it as), 404 ("no such job 12"), 409 (not in a state that allows it), 400, and
 * 405/501 (a daemon without jobs) each with their own words, other statuses as
 * cli_report_http_error(). */
int job_report_refusal(const char *what,
                       const char *method,
                       const char *path,
                       const struct http_response *resp);

/* Sends method path body (may be NULL) and, on a 2xx answer, parses its JSON into *ret (owned by
 * the caller). Returns 0; else the exit status, having said what went wrong (a refusal through
 * job_report_refusal() with what, which may be NULL as there; the daemon unreachable; an answer
 * that is not JSON). */
int job_call_json(const struct cli_args *args,
                  const char *what,
                  const char *method,
                  const char *path,
                  const char *body,
                  json_t **ret);

/* As job_call_json(), and when raw is not NULL, also the answer as it came into *raw on success
 * (for --json that prints the daemon's bytes rather than jansson's reading of them; the caller
 * frees it with http_response_done()). */
int job_call_json_raw(const struct cli_args *args,
                      const char *what,
                      const char *method,
                      const char *path,
                      const char *body,
                      struct http_response *raw,
                      json_t **ret);

/* Prints j on stdout as one line of compact JSON, its members in their order, for --json. Returns
 * CLI_EXIT_SUCCESS, or CLI_EXIT_FAILURE having said "out of memory". */
int job_print_json(const json_t *j);

/* What --quiet and --json ask of a command whose answer is j: nothing printed, or j as
 * job_print_json() prints it. Returns true when one of them was given, with the exit status in
 * *ret_status; false, *ret_status untouched, when the command prints its own view of j. */
bool job_print_quiet_or_json(const struct cli_args *args, const json_t *j, int *ret_status);

/* GET /v1/jobs/ID into *ret, as job_call_json(). */
int job_fetch(const struct cli_args *args, uint64_t id, json_t **ret);

/* Sleeps usec, resuming after a signal that did not end the process. */
void job_sleep(usec_t usec);
