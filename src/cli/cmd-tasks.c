/* SPDX-License-Identifier: MIT */
/* headroom tasks [ID] [--watch]: the running supervised tasks ("headroom run" commands and jobs)
 * with what they use (GET /v1/tasks), or one of them in detail with its latest sample and its
 * history (GET /v1/tasks/ID). ID is a task id, or a job id, which names the task of that job.
 * --watch redraws every second on a terminal until SIGINT or SIGTERM. */

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "basic/macro.h"
#include "basic/time-util.h"
#include "cli/cli.h"
#include "cli/exit-codes.h"
#include "cli/format-jobs.h"
#include "cli/job-client.h"
#include "cli/json-util.h"

#define TASK_ID_LEN 18 /* "t-" and 16 hex digits */
#define WATCH_USEC  USEC_PER_SEC

/* GET /v1/tasks into *ret (owned by the caller), checked to hold a task list, and when raw is not
 * NULL the answer as it came into *raw. Returns 0, or the exit status having said what went
 * wrong. */
static int get_list(const struct cli_args *args, struct http_response *raw, json_t **ret)
{
    _cleanup_json_ json_t *answer = NULL;
    int r;

    r = job_call_json_raw(args, "the task list", "GET", "/v1/tasks", NULL, raw, &answer);
    if (r != 0)
        return r;
    if (!json_is_array(json_get(answer, "tasks"))) {
        cli_error("GET /v1/tasks: the answer has no task list");
        return CLI_EXIT_FAILURE;
    }
    *ret = TAKE_PTR(answer);
    return 0;
}

/* Finds the task of job id among GET /v1/tasks's and copies its id into ret. Returns 0, or the
 * exit status having said why not. */
static int task_of_job(const struct cli_args *args, uint64_t job, char ret[static TASK_ID_LEN + 1])
{
    _cleanup_json_ json_t *answer = NULL;
    const json_t *tasks;
    size_t i;
    json_t *t;
    int r;

    r = get_list(args, NULL, &answer);
    if (r != 0)
        return r;
    tasks = json_get(answer, "tasks");
    json_array_foreach ((json_t *) tasks, i, t) {
        const json_t *j = json_get(t, "job_id");
        const char *id = json_get_string(t, "id");
        if (!json_is_integer(j) || (uint64_t) json_integer_value(j) != job)
            continue;
        /* The id goes into a path: only one as the daemon gives them. */
        if (!cli_task_id_is_valid(id)) {
            cli_error("GET /v1/tasks: the task of job %" PRIu64 " has no valid id", job);
            return CLI_EXIT_FAILURE;
        }
        memcpy(ret, id, TASK_ID_LEN + 1);
        return 0;
    }
    cli_error("job %" PRIu64 " has no running task ('headroom jobs %" PRIu64 "' shows its state)",
              job, job);
    return CLI_EXIT_FAILURE;
}

/* GET /v1/tasks, or the task ID names, into *ret (owned by the caller), its shape checked, and
 * when raw is not NULL the answer as it came into *raw. Returns 0, or the exit status having said
 * what went wrong. */
static int fetch(const struct cli_args *args, struct http_response *raw, json_t **ret)
{
    _cleanup_json_ json_t *answer = NULL;
    char id[TASK_ID_LEN + 1], path[64], what[64];
    uint64_t job;
    int r;

    if (args->n_args == 0)
        return get_list(args, raw, ret);

    if (cli_task_id_is_valid(args->args[0]))
        memcpy(id, args->args[0], TASK_ID_LEN + 1);
    else {
        /* The parser let through a task id or a job id, nothing else. */
        (void) cli_parse_job_id(args->args[0], &job);
        r = task_of_job(args, job, id);
        if (r != 0)
            return r;
    }
    (void) snprintf(path, sizeof(path), "/v1/tasks/%s", id);
    (void) snprintf(what, sizeof(what), "task %s", id);
    r = job_call_json_raw(args, what, "GET", path, NULL, raw, &answer);
    if (r != 0)
        return r;
    if (!json_is_object(answer)) {
        cli_error("GET %s: the answer is not a task", path);
        return CLI_EXIT_FAILURE;
    }
    *ret = TAKE_PTR(answer);
    return 0;
}

/* Fetches and writes the table or the task to f. Returns as fetch(). */
static int show(const struct cli_args *args, FILE *f)
{
    _cleanup_json_ json_t *answer = NULL;
    int r;

    r = fetch(args, NULL, &answer);
    if (r != 0)
        return r;
    if (args->n_args == 0)
        format_tasks(f, json_get(answer, "tasks"), now_usec(CLOCK_REALTIME));
    else
        format_task(f, answer, now_usec(CLOCK_REALTIME));
    return 0;
}

/* Redraws every WATCH_USEC until SIGINT or SIGTERM. The two are blocked throughout and taken
 * with sigtimedwait() between redraws, so one that comes during a request ends the loop after it,
 * with nothing half-written on the terminal. Each screen is made in memory first and written at
 * once, so it does not flicker. Returns 0 when interrupted, else the exit status of the request
 * that failed (having said why). */
static int watch(const struct cli_args *args)
{
    sigset_t mask, old;
    int r = CLI_EXIT_SUCCESS;

    (void) sigemptyset(&mask);
    (void) sigaddset(&mask, SIGINT);
    (void) sigaddset(&mask, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &mask, &old) < 0) {
        cli_error("cannot block SIGINT: %m");
        return CLI_EXIT_FAILURE;
    }
    for (;;) {
        _cleanup_free_ char *screen = NULL;
        size_t size = 0;
        struct timespec ts;
        struct tm tm;
        time_t now = time(NULL);
        char clock[16] = "";
        FILE *m = open_memstream(&screen, &size);

        if (!m) {
            cli_error("out of memory");
            r = CLI_EXIT_FAILURE;
            break;
        }
        r = show(args, m);
        if (fclose(m) != 0 && r == 0) {
            cli_error("out of memory");
            r = CLI_EXIT_FAILURE;
        }
        if (r != 0)
            break;
        if (localtime_r(&now, &tm))
            (void) strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
        /* Home, clear the screen, then the screen. */
        fputs("\033[H\033[2J", stdout);
        printf("headroom tasks%s%s, every 1s (Ctrl-C ends)  %s\n\n", args->n_args ? " " : "",
               args->n_args ? args->args[0] : "", clock);
        (void) fwrite(screen, 1, size, stdout);
        if (fflush(stdout) != 0 || ferror(stdout))
            break; /* cli_main() says what failed */

        timespec_store(&ts, WATCH_USEC);
        int sig = sigtimedwait(&mask, NULL, &ts);
        if (sig == SIGINT || sig == SIGTERM) {
            /* The prompt goes on a line of its own, after the "^C" the terminal echoed. */
            fputc('\n', stdout);
            break;
        }
    }
    (void) sigprocmask(SIG_SETMASK, &old, NULL);
    return r;
}

static int run_tasks(const struct cli_args *args)
{
    _cleanup_json_ json_t *answer = NULL;
    int r;

    if (args->watch) {
        if (!isatty(STDOUT_FILENO))
            return cli_usage_error(args->command, "--watch needs a terminal on standard output");
        return watch(args);
    }
    if (args->json || args->quiet) {
        _cleanup_(http_response_done) struct http_response raw = { 0 };
        r = fetch(args, &raw, &answer);
        if (r != 0 || args->quiet)
            return r;
        cli_print_body(&raw);
        return CLI_EXIT_SUCCESS;
    }
    return show(args, stdout);
}

const struct cli_command cli_command_tasks = {
    .name = "tasks",
    .synopsis = "tasks [ID] [--watch]",
    .summary = "list the running tasks and what they use",
    .help = "Lists the running supervised tasks ('headroom run' commands and jobs), in the\n"
            "order they started. Columns: ID, JOB (its job, '-' for 'run'), TASK, PID,\n"
            "STATE (running, stalled, suspended; suspended* when protective mode suspended\n"
            "it), CPU% and MEM% (its use, percent of the machine), GPU% (when some task uses\n"
            "a GPU), PROGRESS (its last progress report and phase) and RUNTIME.\n"
            "\n"
            "With ID (a task id such as t-0123456789abcdef, or a job id for the task of that\n"
            "job), that task in detail: its state and figures, its latest sample (RSS, CPU,\n"
            "threads, open files, processes, IO rates) and its last five minutes of RSS and\n"
            "CPU: minimum, mean, maximum and a graph from minimum to maximum, oldest first.\n"
            "--json prints the daemon's answer.\n"
            "\n"
            "Options:\n"
            "      --watch             redraw every second until interrupted (a terminal\n"
            "                          only; not with --json or --quiet)\n",
    .options = CLI_OPTS_CONNECTION | CLI_OPTS_OUTPUT | CLI_OPT(CLI_OPTION_WATCH),
    .max_args = 1,
    .arg_name = "ID",
    .job_or_task_arg = true,
    .run = run_tasks,
};
