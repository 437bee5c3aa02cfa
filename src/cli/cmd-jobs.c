/* SPDX-License-Identifier: MIT */
/* Following background jobs: "headroom jobs [ID]" lists them (GET /v1/jobs, GET /v1/jobs/ID),
 * "headroom logs ID [-f]" prints a job's log (GET /v1/jobs/ID/log, polled while it runs), and
 * "headroom wait ID" waits for a job to finish and exits with its status. The control socket
 * answers one request with one reply and cannot stream, so following is polling, every
 * POLL_USEC. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"
#include "basic/time-util.h"
#include "cli/cli.h"
#include "cli/exit-codes.h"
#include "cli/format.h"
#include "cli/format-jobs.h"
#include "cli/job-client.h"
#include "cli/job-request.h"
#include "cli/json-util.h"
#include "cli/response.h"

#define POLL_USEC (USEC_PER_SEC / 2)

/* A job id the parser has checked already. */
static uint64_t job_id_arg(const struct cli_args *args)
{
    uint64_t id = 0;

    (void) cli_parse_job_id(args->args[0], &id);
    return id;
}

/* ---- jobs ---------------------------------------------------------------------------------- */

static int run_jobs(const struct cli_args *args)
{
    _cleanup_json_ json_t *answer = NULL, *one = NULL;
    const json_t *jobs;
    char path[64];
    int r;

    if (args->n_args > 0) {
        uint64_t id = job_id_arg(args);
        r = job_fetch(args, id, &answer);
        (void) snprintf(path, sizeof(path), "/v1/jobs/%" PRIu64, id);
    } else {
        r = job_call_json(args, "the job list", "GET", "/v1/jobs", NULL, &answer);
        (void) snprintf(path, sizeof(path), "/v1/jobs");
    }
    if (r != 0)
        return r;
    if (job_print_quiet_or_json(args, answer, &r))
        return r;

    if (args->n_args > 0) {
        /* One job, named: shown whatever its state. */
        one = json_pack("[O]", answer);
        if (!one) {
            cli_error("out of memory");
            return CLI_EXIT_FAILURE;
        }
        jobs = one;
    } else
        jobs = json_get(answer, "jobs");
    if (!json_is_array(jobs)) {
        cli_error("GET %s: the answer has no job list", path);
        return CLI_EXIT_FAILURE;
    }
    format_jobs(stdout, jobs, args->all || args->n_args > 0, now_usec(CLOCK_REALTIME));
    return CLI_EXIT_SUCCESS;
}

const struct cli_command cli_command_jobs = {
    .name = "jobs",
    .synopsis = "jobs [ID] [--all]",
    .summary = "list the background jobs",
    .help = "Lists the queued, running and suspended jobs, in the order they were submitted;\n"
            "with --all also the finished ones the daemon keeps (the newest 100); with ID,\n"
            "that job alone. Columns: ID, STATE (queued, running, suspended, done, failed,\n"
            "cancelled, lost), PRI, USER, TASK, AGE/RUNTIME (how long a queued job has\n"
            "waited, how long a job has run), EXIT/REASON (a queued job's place in the queue\n"
            "and what it waits for, a running job's pid, a finished job's exit code and\n"
            "reason) and COMMAND (cut to fit, control characters shown as '?').\n"
            "--json prints the daemon's answer.\n"
            "\n"
            "Options:\n"
            "  -a, --all               also the finished jobs\n",
    .options = CLI_OPTS_CONNECTION | CLI_OPTS_OUTPUT | CLI_OPT(CLI_OPTION_ALL),
    .max_args = 1,
    .arg_name = "ID",
    .job_arg = true,
    .run = run_jobs,
};

/* ---- logs ---------------------------------------------------------------------------------- */

enum log_read {
    LOG_READ_DATA,    /* some bytes were written */
    LOG_READ_END,     /* an empty answer: nothing more for now */
    LOG_READ_MISSING, /* 404: no log yet (or no such job) */
};

/* One GET of the log from *offset; writes what came to stdout and advances *offset. Returns an
 * enum log_read, or the exit status (negated, so it cannot be taken for one) having said why. */
static int log_read(const struct cli_args *args, uint64_t id, uint64_t *offset)
{
    _cleanup_(http_response_done) struct http_response resp = { 0 };
    char path[96], what[48];
    int r;

    (void) snprintf(path, sizeof(path), "/v1/jobs/%" PRIu64 "/log?offset=%" PRIu64, id, *offset);
    (void) snprintf(what, sizeof(what), "job %" PRIu64, id);
    r = cli_request(args, "GET", path, NULL, &resp);
    if (r != 0)
        return -r;
    if (resp.status == 404)
        return LOG_READ_MISSING;
    if (resp.status < 200 || resp.status > 299)
        return -job_report_refusal(what, "GET", path, &resp);
    if (resp.body_size == 0)
        return LOG_READ_END;
    if (fwrite(resp.body, 1, resp.body_size, stdout) != resp.body_size || fflush(stdout) != 0)
        return -CLI_EXIT_FAILURE; /* cli_main() says what failed */
    *offset += resp.body_size;
    return LOG_READ_DATA;
}

/* Reads until the end of what the log holds now. Returns LOG_READ_END, LOG_READ_MISSING or a
 * negated exit status. */
static int log_drain(const struct cli_args *args, uint64_t id, uint64_t *offset)
{
    for (;;) {
        int r = log_read(args, id, offset);
        if (r != LOG_READ_DATA)
            return r;
    }
}

static int run_logs(const struct cli_args *args)
{
    uint64_t id = job_id_arg(args), offset = 0;

    for (;;) {
        _cleanup_json_ json_t *job = NULL;
        int r = log_drain(args, id, &offset);
        if (r < 0)
            return -r;

        /* Whether to go on, and a missing log's meaning, both depend on the job. */
        if (r == LOG_READ_MISSING || args->follow) {
            r = job_fetch(args, id, &job);
            if (r != 0)
                return r;
            const char *state = json_get_string(job, "state");
            if (job_state_is_finished(state)) {
                /* What it wrote between the last read and its end. */
                r = log_drain(args, id, &offset);
                if (r < 0)
                    return -r;
                if (r == LOG_READ_MISSING && offset == 0)
                    cli_warning(args, "job %" PRIu64 " %s without a log", id,
                                strcmp(state, "cancelled") == 0 ? "was cancelled" : "ended");
                return CLI_EXIT_SUCCESS;
            }
            if (!args->follow) {
                cli_warning(args, "job %" PRIu64 " has no log yet (it is %s); -f waits for it", id,
                            state ?: "in an unknown state");
                return CLI_EXIT_SUCCESS;
            }
        } else
            return CLI_EXIT_SUCCESS;
        job_sleep(POLL_USEC);
    }
}

const struct cli_command cli_command_logs = {
    .name = "logs",
    .synopsis = "logs ID [-f]",
    .summary = "print a job's output",
    .help = "Prints what job ID has written so far to its standard output and standard error,\n"
            "byte for byte. With -f, goes on printing as it writes, until it has finished and\n"
            "everything is printed; a job still queued is waited for. Only the job's owner and\n"
            "root may read its log.\n"
            "\n"
            "Options:\n"
            "  -f, --follow            print until the job has finished\n",
    .options = CLI_OPTS_CONNECTION | CLI_OPT(CLI_OPTION_QUIET) | CLI_OPT(CLI_OPTION_HELP) |
               CLI_OPT(CLI_OPTION_FOLLOW),
    .min_args = 1,
    .max_args = 1,
    .arg_name = "ID",
    .job_arg = true,
    .run = run_logs,
};

/* ---- wait ---------------------------------------------------------------------------------- */

/* "exit 3", "cancelled before it started", or the daemon's reason, for the line "wait" prints. */
static void say_end(const struct cli_args *args, uint64_t id, const json_t *job, int status)
{
    const char *state = json_get_string(job, "state"), *reason = json_get_string(job, "reason");
    const json_t *code = json_get(job, "exit_code");
    char why[CLI_MESSAGE_MAX];

    if (status == 0 || args->quiet)
        return;
    if (json_is_integer(code))
        (void) snprintf(why, sizeof(why), "exit %" JSON_INTEGER_FORMAT, json_integer_value(code));
    else if (status == JOB_EXIT_CANCELLED)
        (void) snprintf(why, sizeof(why), "before it started");
    else
        (void) snprintf(why, sizeof(why), "no exit status");
    fflush(stdout);
    fprintf(stderr, "headroom: job %" PRIu64 " %s: %s", id, state, why);
    if (reason) {
        fputs(" (", stderr);
        fputs_sanitized(reason, stderr);
        fputc(')', stderr);
    }
    fputc('\n', stderr);
}

static int run_wait(const struct cli_args *args)
{
    uint64_t id = job_id_arg(args);
    usec_t deadline = args->run_timeout_usec
                              ? usec_add(now_usec(CLOCK_MONOTONIC), args->run_timeout_usec)
                              : USEC_INFINITY;

    for (;;) {
        _cleanup_json_ json_t *job = NULL;
        int r = job_fetch(args, id, &job);
        if (r != 0)
            return r;
        int status = job_exit_status(job);
        if (status == -EBADMSG) {
            cli_error("GET /v1/jobs/%" PRIu64 ": the answer is not a job", id);
            return CLI_EXIT_FAILURE;
        }
        if (status >= 0) {
            /* The exit status is the job's: a failure to print does not change it. */
            if (args->json)
                (void) job_print_json(job);
            say_end(args, id, job, status);
            return status;
        }
        usec_t now = now_usec(CLOCK_MONOTONIC);
        if (now >= deadline) {
            if (!args->quiet) {
                fflush(stdout);
                fprintf(stderr, "headroom: job %" PRIu64 " is still %s\n", id,
                        json_get_string(job, "state"));
            }
            return JOB_EXIT_TIMED_OUT;
        }
        job_sleep(MIN(POLL_USEC, deadline - now));
    }
}

const struct cli_command cli_command_wait = {
    .name = "wait",
    .synopsis = "wait ID [--timeout DURATION]",
    .summary = "wait for a job to finish; exit with its status",
    .help = "Waits until job ID has finished and exits with its exit status, as if it had\n"
            "run in the foreground. For wait, --timeout is how long to wait (default: as\n"
            "long as it takes); each request to the daemon keeps the default 10s. With\n"
            "--json, prints the finished job. A job that did not succeed is said in one line\n"
            "on stderr (not with --quiet).\n"
            "\n"
            "Options:\n"
            "      --timeout DURATION  give up waiting after DURATION (exit 124)\n"
            "\n"
            "Exit status: the job's own exit status when it ran (128+N: killed by signal N);\n"
            "75 cancelled before it started; 125 lost, or it could not be started; 124 the\n"
            "--timeout ran out; 1 no such job or another error; 69 the daemon cannot be\n"
            "reached.\n",
    .options = CLI_OPTS_CONNECTION | CLI_OPTS_OUTPUT,
    .min_args = 1,
    .max_args = 1,
    .arg_name = "ID",
    .job_arg = true,
    .own_timeout = true,
    .run = run_wait,
};
