/* SPDX-License-Identifier: MIT */
/* The job commands end to end: cli_main() against a canned HTTP server on a Unix socket in a
 * temporary directory. Each route answers a method and target a number of times (then the next
 * route for the same target answers), so a job can be queued, then running, then done; the server
 * writes every request line, and every request body, to a log, so the tests see what was asked as
 * well as what was printed and the exit status. */

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/macro.h"
#include "cli/exit-codes.h"
#include "fake-server.h"

/* cmocka.h needs stdarg.h, stddef.h and setjmp.h before it. */
#include <cmocka.h>

static const char job_queued[] =
        "{\"id\":12,\"state\":\"queued\",\"priority\":\"P0\",\"task\":\"make\",\"argv\":[\"make\"]}";

static void test_submit(void **state)
{
    const struct route routes[] = {
        { "POST /v1/jobs", 201, job_queued, 0, 1 },
        { "POST /v1/jobs", 201, job_queued, 0, 1 },
        { "POST /v1/jobs", 201, job_queued, 0, 1 },
        { "POST /v1/jobs", 400, "{\"error\":\"cwd must be absolute\"}", 0, 1 },
        { "POST /v1/jobs", 403, "{\"error\":\"no identity to run this job as\"}", 0, 1 },
        { "POST /v1/jobs", 503, "{\"error\":\"the queue is full\"}", 0, 1 },
        { "POST /v1/jobs", 501, "{\"error\":\"jobs are not implemented yet\"}", 0, 1 },
        { "POST /v1/jobs", 201, "{\"state\":\"queued\"}", 0, 1 },
    };
    char cwd[PATH_MAX], saved_cwd[PATH_MAX], expected[3 * PATH_MAX];
    struct fake f;
    struct result r;
    char *log;

    fake_start(&f, routes, ELEMENTSOF(routes));
    /* A known working directory and environment: both go into the body. */
    assert_non_null(getcwd(saved_cwd, sizeof(saved_cwd)));
    assert_int_equal(chdir(f.dir), 0);
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(clearenv(), 0);
    assert_int_equal(setenv("LANG", "C.UTF-8", 1), 0);
    assert_int_equal(setenv("HEADROOM_TASK_ID", "t-0000000000000001", 1), 0);

    /* The id alone on stdout, for $(...). */
    r = run_cli(&f, ARGS("submit", "--priority", "P0", "--mem", "1G", "--timeout", "2m", "--",
                         "make", "-j8", "it's"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(r.out.data, "12\n");
    assert_string_equal(r.err.data, "");
    result_done(&r);

    r = run_cli(&f, ARGS("submit", "--json", "make"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(r.out.data, "{\"id\":12,\"state\":\"queued\",\"priority\":\"P0\","
                                    "\"task\":\"make\",\"argv\":[\"make\"]}\n");
    result_done(&r);

    r = run_cli(&f, ARGS("submit", "-q", "make"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(r.out.data, "");
    result_done(&r);

    r = run_cli(&f, ARGS("submit", "make"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.out.data, "");
    assert_string_equal(r.err.data, "headroom: the daemon refused the job: HTTP 400 Bad Request: "
                                    "cwd must be absolute\n");
    result_done(&r);

    r = run_cli(&f, ARGS("submit", "make"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.err.data,
                        "headroom: the daemon will not run a job for this caller: HTTP 403 "
                        "Forbidden: no identity to run this job as (over TCP, a daemon running as "
                        "root needs a token of the user's own)\n");
    result_done(&r);

    r = run_cli(&f, ARGS("submit", "make"));
    assert_int_equal(r.status, CLI_EXIT_NO_CAPACITY);
    assert_non_null(strstr(r.err.data, "the daemon cannot do it now, try again later"));
    result_done(&r);

    r = run_cli(&f, ARGS("submit", "make"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_non_null(strstr(r.err.data, "POST /v1/jobs: this daemon does not run jobs"));
    result_done(&r);

    r = run_cli(&f, ARGS("submit", "make"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.err.data, "headroom: POST /v1/jobs: the answer has no job id\n");
    result_done(&r);

    /* Refused before anything is sent. */
    r = run_cli(&f, ARGS("submit", "echo", "\xff"));
    assert_int_equal(r.status, CLI_EXIT_USAGE);
    assert_non_null(strstr(r.err.data, "not valid UTF-8"));
    result_done(&r);

    assert_int_equal(chdir(saved_cwd), 0);
    log = fake_stop(&f);
    (void) snprintf(expected, sizeof(expected),
                    "POST /v1/jobs\n"
                    "BODY {\"argv\":[\"make\",\"-j8\",\"it's\"],\"cwd\":\"%s\",\"env\":[\"LANG=C.UTF-8\"],"
                    "\"needs\":{\"mem_bytes\":1073741824},\"priority\":\"P0\",\"timeout_sec\":120}\n"
                    "POST /v1/jobs\n"
                    "BODY {\"argv\":[\"make\"],\"cwd\":\"%s\",\"env\":[\"LANG=C.UTF-8\"]}\n",
                    cwd, cwd);
    assert_true(strlen(log) > strlen(expected));
    assert_memory_equal(log, expected, strlen(expected));
    free(log);
}

static void test_jobs(void **state)
{
    char *jobs = fixture_text("jobs.json");
    const struct route routes[] = {
        { "GET /v1/jobs", 200, jobs, 0, 0 },
        { "GET /v1/jobs/12", 200, "{\"id\":12,\"state\":\"done\",\"exit_code\":0,\"argv\":[\"x\"]}", 0, 0 },
        { "GET /v1/jobs/99", 404, "{\"error\":\"no such job\"}", 0, 0 },
    };
    struct fake f;
    struct result r;
    char *log;

    fake_start(&f, routes, ELEMENTSOF(routes));

    r = run_cli(&f, ARGS("jobs"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_true(starts_with(r.out.data, "ID  STATE      PRI  USER   TASK "));
    assert_non_null(strstr(r.out.data, "\n12  running    P1   alice  encode "));
    assert_null(strstr(r.out.data, "\n9 ")); /* finished */
    result_done(&r);

    r = run_cli(&f, ARGS("jobs", "--all"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_non_null(strstr(r.out.data, "\n9   done       P1   root   backup "));
    result_done(&r);

    r = run_cli(&f, ARGS("jobs", "--json"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    /* The answer, compacted. */
    assert_true(starts_with(r.out.data, "{\"jobs\":[{\"id\":9,\"state\":\"done\",\"priority\":\"P1\""));
    result_done(&r);

    /* One job, finished or not. */
    r = run_cli(&f, ARGS("jobs", "12"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_non_null(strstr(r.out.data, "\n12  done   -    -     -     -            exit 0       x\n"));
    result_done(&r);

    r = run_cli(&f, ARGS("jobs", "99"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.out.data, "");
    assert_string_equal(r.err.data, "headroom: no such job 99 (HTTP 404 Not Found: no such job)\n");
    result_done(&r);

    log = fake_stop(&f);
    assert_string_equal(log, "GET /v1/jobs\nGET /v1/jobs\nGET /v1/jobs\nGET /v1/jobs/12\n"
                             "GET /v1/jobs/99\n");
    free(log);
    free(jobs);
}

static void test_logs(void **state)
{
    static const char binary[] = "a\0b\x1b[31m\xff\n";
    const struct route routes[] = {
        /* A finished job: read to the end, no state asked. */
        { "GET /v1/jobs/5/log?offset=0", 200, "hello\n", 0, 0 },
        { "GET /v1/jobs/5/log?offset=6", 200, binary, sizeof(binary) - 1, 0 },
        { "GET /v1/jobs/5/log?offset=16", 200, "", 0, 0 },
        /* Followed from queued to done. */
        { "GET /v1/jobs/20/log?offset=0", 404, "{\"error\":\"no log yet\"}", 0, 1 },
        { "GET /v1/jobs/20", 200, "{\"id\":20,\"state\":\"queued\"}", 0, 1 },
        { "GET /v1/jobs/20/log?offset=0", 200, "start\n", 0, 0 },
        { "GET /v1/jobs/20/log?offset=6", 200, "", 0, 1 },
        { "GET /v1/jobs/20", 200, "{\"id\":20,\"state\":\"running\"}", 0, 1 },
        { "GET /v1/jobs/20/log?offset=6", 200, "end\n", 0, 0 },
        { "GET /v1/jobs/20/log?offset=10", 200, "", 0, 0 },
        { "GET /v1/jobs/20", 200, "{\"id\":20,\"state\":\"done\",\"exit_code\":0}", 0, 0 },
        /* Queued, not followed; no such job; not ours. */
        { "GET /v1/jobs/21/log?offset=0", 404, "{\"error\":\"no log yet\"}", 0, 0 },
        { "GET /v1/jobs/21", 200, "{\"id\":21,\"state\":\"queued\"}", 0, 0 },
        { "GET /v1/jobs/22/log?offset=0", 404, "{\"error\":\"no such job\"}", 0, 0 },
        { "GET /v1/jobs/22", 404, "{\"error\":\"no such job\"}", 0, 0 },
        { "GET /v1/jobs/23/log?offset=0", 403, "{\"error\":\"not the owner\"}", 0, 0 },
        /* Cancelled while queued: there will never be a log. */
        { "GET /v1/jobs/24/log?offset=0", 404, "{\"error\":\"no log\"}", 0, 0 },
        { "GET /v1/jobs/24", 200, "{\"id\":24,\"state\":\"cancelled\"}", 0, 0 },
    };
    struct fake f;
    struct result r;
    char *log;

    fake_start(&f, routes, ELEMENTSOF(routes));

    r = run_cli(&f, ARGS("logs", "5"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_int_equal(r.out.size, 6 + sizeof(binary) - 1);
    assert_memory_equal(r.out.data, "hello\n", 6);
    assert_memory_equal(r.out.data + 6, binary, sizeof(binary) - 1); /* byte for byte */
    assert_string_equal(r.err.data, "");
    result_done(&r);

    r = run_cli(&f, ARGS("logs", "-f", "20"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(r.out.data, "start\nend\n");
    assert_string_equal(r.err.data, "");
    result_done(&r);

    r = run_cli(&f, ARGS("logs", "21"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(r.out.data, "");
    assert_string_equal(r.err.data,
                        "headroom: warning: job 21 has no log yet (it is queued); -f waits for it\n");
    result_done(&r);

    r = run_cli(&f, ARGS("logs", "22"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.err.data, "headroom: no such job 22 (HTTP 404 Not Found: no such job)\n");
    result_done(&r);

    r = run_cli(&f, ARGS("logs", "23", "-f"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.err.data, "headroom: job 23 is not yours: only its owner and root may "
                                    "(HTTP 403 Forbidden: not the owner)\n");
    result_done(&r);

    r = run_cli(&f, ARGS("logs", "24", "-f"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(r.err.data, "headroom: warning: job 24 was cancelled without a log\n");
    result_done(&r);

    log = fake_stop(&f);
    assert_string_equal(log,
                        "GET /v1/jobs/5/log?offset=0\n"
                        "GET /v1/jobs/5/log?offset=6\n"
                        "GET /v1/jobs/5/log?offset=16\n"
                        "GET /v1/jobs/20/log?offset=0\n"
                        "GET /v1/jobs/20\n"
                        "GET /v1/jobs/20/log?offset=0\n"
                        "GET /v1/jobs/20/log?offset=6\n"
                        "GET /v1/jobs/20\n"
                        "GET /v1/jobs/20/log?offset=6\n"
                        "GET /v1/jobs/20/log?offset=10\n"
                        "GET /v1/jobs/20\n"
                        "GET /v1/jobs/20/log?offset=10\n"
                        "GET /v1/jobs/21/log?offset=0\n"
                        "GET /v1/jobs/21\n"
                        "GET /v1/jobs/22/log?offset=0\n"
                        "GET /v1/jobs/22\n"
                        "GET /v1/jobs/23/log?offset=0\n"
                        "GET /v1/jobs/24/log?offset=0\n"
                        "GET /v1/jobs/24\n"
                        "GET /v1/jobs/24/log?offset=0\n");
    free(log);
}

static void test_wait(void **state)
{
    const struct route routes[] = {
        { "GET /v1/jobs/30", 200, "{\"id\":30,\"state\":\"running\"}", 0, 2 },
        { "GET /v1/jobs/30", 200, "{\"id\":30,\"state\":\"failed\",\"exit_code\":3}", 0, 0 },
        { "GET /v1/jobs/31", 200, "{\"id\":31,\"state\":\"cancelled\",\"exit_code\":null}", 0, 0 },
        { "GET /v1/jobs/32", 200,
          "{\"id\":32,\"state\":\"lost\",\"reason\":\"the daemon restarted\\u001b[2J\"}", 0, 0 },
        { "GET /v1/jobs/33", 200, "{\"id\":33,\"state\":\"running\"}", 0, 0 },
        { "GET /v1/jobs/34", 200, "{\"id\":34,\"state\":\"done\",\"exit_code\":0}", 0, 0 },
        { "GET /v1/jobs/35", 404, "{\"error\":\"no such job\"}", 0, 0 },
        { "GET /v1/jobs/36", 200, "{\"id\":36,\"state\":\"failed\",\"exit_code\":null,"
                                  "\"reason\":\"execvp: No such file or directory\"}", 0, 0 },
        { "GET /v1/jobs/37", 200, "[1,2]", 0, 0 },
    };
    struct fake f;
    struct result r;
    usec_t t0;
    char *log;

    fake_start(&f, routes, ELEMENTSOF(routes));

    r = run_cli(&f, ARGS("wait", "30"));
    assert_int_equal(r.status, 3);
    assert_string_equal(r.out.data, "");
    assert_string_equal(r.err.data, "headroom: job 30 failed: exit 3\n");
    result_done(&r);

    r = run_cli(&f, ARGS("wait", "31"));
    assert_int_equal(r.status, 75);
    assert_string_equal(r.err.data, "headroom: job 31 cancelled: before it started\n");
    result_done(&r);

    r = run_cli(&f, ARGS("wait", "32"));
    assert_int_equal(r.status, 125);
    assert_string_equal(r.err.data,
                        "headroom: job 32 lost: no exit status (the daemon restarted?[2J)\n");
    result_done(&r);

    r = run_cli(&f, ARGS("wait", "36", "-q"));
    assert_int_equal(r.status, 125);
    assert_string_equal(r.err.data, "");
    result_done(&r);

    t0 = now_usec(CLOCK_MONOTONIC);
    r = run_cli(&f, ARGS("wait", "33", "--timeout", "700ms"));
    assert_int_equal(r.status, 124);
    assert_true(now_usec(CLOCK_MONOTONIC) - t0 >= 700 * USEC_PER_MSEC);
    assert_string_equal(r.err.data, "headroom: job 33 is still running\n");
    result_done(&r);

    r = run_cli(&f, ARGS("wait", "34", "--json"));
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out.data, "{\"id\":34,\"state\":\"done\",\"exit_code\":0}\n");
    assert_string_equal(r.err.data, "");
    result_done(&r);

    r = run_cli(&f, ARGS("wait", "35"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.err.data, "headroom: no such job 35 (HTTP 404 Not Found: no such job)\n");
    result_done(&r);

    r = run_cli(&f, ARGS("wait", "37"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.err.data, "headroom: GET /v1/jobs/37: the answer is not a job\n");
    result_done(&r);

    log = fake_stop(&f);
    /* Polled until finished: twice running, then failed. */
    assert_true(starts_with(log, "GET /v1/jobs/30\nGET /v1/jobs/30\nGET /v1/jobs/30\nGET /v1/jobs/31\n"));
    free(log);
}

static void test_control(void **state)
{
    const struct route routes[] = {
        { "POST /v1/jobs/12/cancel", 200, "{\"id\":12,\"state\":\"cancelled\"}", 0, 0 },
        { "POST /v1/jobs/13/cancel", 200, "{\"id\":13,\"state\":\"running\"}", 0, 0 },
        { "POST /v1/jobs/13/suspend", 409, "{\"error\":\"the job is not running\"}", 0, 0 },
        { "POST /v1/jobs/7/resume", 200, "{\"id\":7,\"state\":\"running\"}", 0, 0 },
        { "POST /v1/jobs/14/cancel", 403, "{\"error\":\"not the owner\"}", 0, 0 },
        { "POST /v1/jobs/15/cancel", 404, "{\"error\":\"no such job\"}", 0, 0 },
        { "POST /v1/tasks/t-00000000000000aa/suspend", 200,
          "{\"id\":\"t-00000000000000aa\",\"state\":\"suspended\"}", 0, 0 },
        { "POST /v1/tasks/t-00000000000000aa/cancel", 200, "{\"id\":\"t-00000000000000aa\"}", 0, 0 },
    };
    struct fake f;
    struct result r;
    char *log;

    fake_start(&f, routes, ELEMENTSOF(routes));

    r = run_cli(&f, ARGS("cancel", "12"));
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out.data, "job 12 cancelled\n");
    result_done(&r);

    r = run_cli(&f, ARGS("cancel", "13"));
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out.data, "job 13 is being cancelled\n");
    result_done(&r);

    r = run_cli(&f, ARGS("suspend", "13"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.out.data, "");
    assert_string_equal(r.err.data, "headroom: job 13: refused in its current state (HTTP 409 "
                                    "Conflict: the job is not running)\n");
    result_done(&r);

    r = run_cli(&f, ARGS("resume", "007"));
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out.data, "job 7 resumed\n");
    result_done(&r);

    r = run_cli(&f, ARGS("cancel", "14"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.err.data, "headroom: job 14 is not yours: only its owner and root may "
                                    "(HTTP 403 Forbidden: not the owner)\n");
    result_done(&r);

    r = run_cli(&f, ARGS("cancel", "15"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.err.data, "headroom: no such job 15 (HTTP 404 Not Found: no such job)\n");
    result_done(&r);

    r = run_cli(&f, ARGS("suspend", "t-00000000000000aa"));
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out.data, "task t-00000000000000aa suspended\n");
    result_done(&r);

    r = run_cli(&f, ARGS("cancel", "t-00000000000000aa", "--json"));
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out.data, "{\"id\":\"t-00000000000000aa\"}\n");
    result_done(&r);

    r = run_cli(&f, ARGS("cancel", "-q", "12"));
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out.data, "");
    result_done(&r);

    log = fake_stop(&f);
    assert_string_equal(log, "POST /v1/jobs/12/cancel\n"
                             "POST /v1/jobs/13/cancel\n"
                             "POST /v1/jobs/13/suspend\n"
                             "POST /v1/jobs/7/resume\n"
                             "POST /v1/jobs/14/cancel\n"
                             "POST /v1/jobs/15/cancel\n"
                             "POST /v1/tasks/t-00000000000000aa/suspend\n"
                             "POST /v1/tasks/t-00000000000000aa/cancel\n"
                             "POST /v1/jobs/12/cancel\n");
    free(log);
}

static void test_events(void **state)
{
    char *events = fixture_text("events.json");
    const struct route routes[] = {
        { "GET /v1/events?after=0&limit=1000", 200, events, 0, 0 },
        { "GET /v1/events?after=5&limit=1000&type=task:stalled", 200,
          "{\"events\":[{\"seq\":6,\"time\":\"2026-11-23T17:00:00Z\",\"type\":\"task:stalled\","
          "\"job_id\":3}],\"last_seq\":6}", 0, 0 },
        /* Followed: two events, then nothing new, then one more. */
        { "GET /v1/events?after=100&limit=1000", 200,
          "{\"events\":[{\"seq\":101,\"type\":\"job:queued\",\"job_id\":1},"
          "{\"seq\":102,\"type\":\"job:queued\",\"job_id\":2}],\"last_seq\":102}", 0, 0 },
        { "GET /v1/events?after=102&limit=1000", 200, "{\"events\":[],\"last_seq\":102}", 0, 1 },
        { "GET /v1/events?after=102&limit=1000", 200,
          "{\"events\":[{\"seq\":103,\"type\":\"job:lost\",\"job_id\":3}],\"last_seq\":103}", 0, 0 },
        { "GET /v1/events?after=103&limit=1000", 200, "{\"events\":[],\"last_seq\":103}", 0, 0 },
        { "GET /v1/events?after=7&limit=1000", 200, "{\"last_seq\":7}", 0, 0 },
        { "GET /v1/events?after=8&limit=1000", 501, "{\"error\":\"events are not implemented yet\"}", 0, 0 },
    };
    struct fake f;
    struct result r;
    char *log;

    fake_start(&f, routes, ELEMENTSOF(routes));

    r = run_cli(&f, ARGS("events"));
    assert_int_equal(r.status, 0);
    assert_true(starts_with(r.out.data,
                            "2026-11-23 17:00:00Z  task:stalled          job 12 'encode'  last "
                            "activity 2026-11-23 16:55:00Z\n"
                            "2026-11-23 17:00:05Z  task:high-memory      "));
    {
        size_t lines = 0;
        for (const char *p = r.out.data; *p; p++)
            lines += *p == '\n';
        assert_int_equal(lines, 8);
    }
    result_done(&r);

    r = run_cli(&f, ARGS("events", "--type", "task:stalled", "--after", "5", "--json"));
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out.data, "{\"seq\":6,\"time\":\"2026-11-23T17:00:00Z\",\"type\":"
                                    "\"task:stalled\",\"job_id\":3}\n");
    result_done(&r);

    r = run_cli_for(&f, ARGS("events", "-f", "--after", "100", "--json"), 1800 * USEC_PER_MSEC);
    assert_string_equal(r.out.data, "{\"seq\":101,\"type\":\"job:queued\",\"job_id\":1}\n"
                                    "{\"seq\":102,\"type\":\"job:queued\",\"job_id\":2}\n"
                                    "{\"seq\":103,\"type\":\"job:lost\",\"job_id\":3}\n");
    result_done(&r);

    r = run_cli(&f, ARGS("events", "--after", "7"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.err.data,
                        "headroom: GET /v1/events?after=7&limit=1000: the answer has no event list\n");
    result_done(&r);

    r = run_cli(&f, ARGS("events", "--after", "8"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_non_null(strstr(r.err.data, "this daemon does not run jobs"));
    result_done(&r);

    log = fake_stop(&f);
    assert_true(starts_with(log, "GET /v1/events?after=0&limit=1000\n"
                                 "GET /v1/events?after=5&limit=1000&type=task:stalled\n"
                                 "GET /v1/events?after=100&limit=1000\n"
                                 "GET /v1/events?after=102&limit=1000\n"
                                 "GET /v1/events?after=102&limit=1000\n"));
    /* Then it goes on from the last event seen. */
    assert_non_null(strstr(log, "GET /v1/events?after=103&limit=1000\n"));
    free(log);
    free(events);
}

static void test_unreachable(void **state)
{
    const char *const *const cases[] = {
        ARGS("submit", "true"), ARGS("jobs"),        ARGS("logs", "1"),   ARGS("wait", "1"),
        ARGS("cancel", "1"),    ARGS("suspend", "1"), ARGS("resume", "1"), ARGS("events", "-f"),
    };
    struct fake f;

    fake_start(&f, NULL, 0);
    free(fake_stop(&f)); /* the socket is gone: nobody listens */
    assert_int_equal(mkdir(f.dir, 0700), 0);
    for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
        struct result r = run_cli(&f, cases[i]);
        if (r.status != CLI_EXIT_UNAVAILABLE)
            fail_msg("%s: exit %d", cases[i][0], r.status);
        assert_non_null(strstr(r.err.data, "cannot reach the daemon at unix:"));
        result_done(&r);
    }
    assert_int_equal(rmdir(f.dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_submit, fake_teardown),
        cmocka_unit_test_teardown(test_jobs, fake_teardown),
        cmocka_unit_test_teardown(test_logs, fake_teardown),
        cmocka_unit_test_teardown(test_wait, fake_teardown),
        cmocka_unit_test_teardown(test_control, fake_teardown),
        cmocka_unit_test_teardown(test_events, fake_teardown),
        cmocka_unit_test_teardown(test_unreachable, fake_teardown),
    };

    /* $HEADROOM_CLI_FIXTURES is noted first: test_submit() clears the environment. Without
     * libcurl, which cli_main() speaks HTTP to the fake server through, there is nothing to test. */
    if (!fake_init())
        return 77;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
