/* SPDX-License-Identifier: MIT */
/* "headroom tasks": its arguments (cli_parse_args(), pure), then the command end to end through
 * cli_main() against a canned HTTP server on a Unix socket in a temporary directory, which logs
 * every request line so the tests see what was asked as well as what was printed; --watch on a
 * pseudo-terminal, ended by SIGINT. */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/macro.h"
#include "basic/time-util.h"
#include "cli/cli.h"
#include "cli/exit-codes.h"
#include "fake-server.h"

/* cmocka.h needs stdarg.h, stddef.h and setjmp.h before it. */
#include <cmocka.h>

/* ---- arguments ------------------------------------------------------------------------------ */

static int parse(struct cli_args *a, char *err, const char *const *args)
{
    char *argv[16];
    int argc = 0;

    argv[argc++] = (char *) "headroom";
    for (size_t i = 0; args[i]; i++) {
        assert_true(argc < 15);
        argv[argc++] = (char *) args[i];
    }
    argv[argc] = NULL;
    return cli_parse_args(argc, argv, a, err);
}

#define BAD_ID "expected a job id such as 12 or a task id such as t-0123456789abcdef"

static void test_args(void **state)
{
    static const struct {
        const char *args[6];
        const char *message;
    } bad[] = {
        { { "tasks", "foo" }, "invalid id 'foo': " BAD_ID },
        { { "tasks", "t-0123456789ABCDEF" }, "invalid id 't-0123456789ABCDEF': " BAD_ID },
        { { "tasks", "0" }, "invalid id '0': " BAD_ID },
        { { "tasks", "1", "2" }, "too many arguments for 'tasks'" },
        { { "tasks", "--watch", "--json" }, "--watch cannot be combined with --json" },
        { { "tasks", "-q", "--watch" }, "--watch cannot be combined with --quiet" },
        { { "tasks", "--watch=1" }, "option '--watch' doesn't allow an argument" },
        { { "tasks", "--all" }, "option '--all' does not apply to 'tasks'" },
        { { "jobs", "--watch" }, "option '--watch' does not apply to 'jobs'" },
        { { "events", "--watch" }, "option '--watch' does not apply to 'events'" },
    };
    char err[CLI_MESSAGE_MAX];
    struct cli_args a;

    assert_int_equal(parse(&a, err, ARGS("tasks")), 0);
    assert_ptr_equal(a.command, &cli_command_tasks);
    assert_int_equal(a.n_args, 0);
    assert_false(a.watch);

    assert_int_equal(parse(&a, err, ARGS("--watch", "tasks", "t-0123456789abcdef")), 0);
    assert_true(a.watch);
    assert_int_equal(a.n_args, 1);
    assert_string_equal(a.args[0], "t-0123456789abcdef");

    assert_int_equal(parse(&a, err, ARGS("tasks", "12", "--json", "--timeout", "2s")), 0);
    assert_true(a.json);
    assert_string_equal(a.args[0], "12");
    assert_int_equal(a.timeout_usec, 2 * USEC_PER_SEC);

    for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
        memset(err, 0, sizeof(err));
        if (parse(&a, err, bad[i].args) != -EINVAL)
            fail_msg("'%s %s' was accepted", bad[i].args[0], bad[i].args[1]);
        assert_string_equal(err, bad[i].message);
    }
}

static void test_help(void **state)
{
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);

    assert_non_null(f);
    cli_help(NULL, f);
    assert_int_equal(fclose(f), 0);
    assert_non_null(strstr(out, "\n  tasks [ID] [--watch]     list the running tasks and what they use\n"));
    assert_ptr_equal(cli_command_find("tasks"), &cli_command_tasks);
    free(out);

    out = NULL;
    f = open_memstream(&out, &n);
    assert_non_null(f);
    cli_help(&cli_command_tasks, f);
    assert_int_equal(fclose(f), 0);
    assert_true(strncmp(out, "Usage: headroom tasks [ID] [--watch]\n", 37) == 0);
    assert_non_null(strstr(out, "      --watch             redraw every second"));
    assert_non_null(strstr(out, "give up after DURATION (default 10s)"));
    assert_non_null(strstr(out, "--json"));
    free(out);
}

/* ---- the command ---------------------------------------------------------------------------- */

/* How many times what stands in s. */
static size_t count(const char *s, const char *what)
{
    size_t n = 0;

    for (const char *p = strstr(s, what); p; p = strstr(p + strlen(what), what))
        n++;
    return n;
}

static void test_list_and_detail(void **state)
{
    char *tasks = fixture_text("tasks.json"), *task = fixture_text("task.json");
    const struct route routes[] = {
        { "GET /v1/tasks", 200, tasks },
        { "GET /v1/tasks/t-0000c38dfac00001", 200, task },
        { "GET /v1/tasks/t-00000000000000ff", 404, "{\"error\":\"no such task\",\"status\":404}" },
        { "GET /v1/tasks/t-0000c38dfac00003", 403, "{\"error\":\"not yours\"}" },
    };
    struct fake f;
    struct result r;
    char *log;

    fake_start(&f, routes, ELEMENTSOF(routes));

    r = run_cli(&f, ARGS("tasks"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_true(starts_with(r.out.data, "ID                  JOB  TASK      PID  STATE       CPU%  MEM%  "
                                        "GPU%  PROGRESS    RUNTIME\n"
                                        "t-0000c38dfac00001  12   encode  31337  running     49.9  12.5  "
                                        "   -  40% encode  "));
    assert_non_null(strstr(r.out.data, "\n* suspended by protective mode"));
    assert_string_equal(r.err.data, "");
    result_done(&r);

    /* The daemon's bytes, not a re-encoding of them. */
    r = run_cli(&f, ARGS("tasks", "--json"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(r.out.data, tasks);
    result_done(&r);

    r = run_cli(&f, ARGS("tasks", "t-0000c38dfac00001"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_true(starts_with(r.out.data, "Task t-0000c38dfac00001 (job 12)\n  Type:           encode\n"));
    assert_non_null(strstr(r.out.data, "\nLatest sample, 2026-11-23 16:59:59Z:\n  RSS:            604.0 KiB\n"));
    assert_non_null(strstr(r.out.data, "\n                  ▁▇▅▄▆ █▇█▆█▆\n"));
    result_done(&r);

    /* A job id names the task of that job: found in the list, then asked for. */
    r = run_cli(&f, ARGS("tasks", "012", "--json"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(r.out.data, task);
    result_done(&r);

    r = run_cli(&f, ARGS("tasks", "13"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.out.data, "");
    assert_string_equal(r.err.data, "headroom: job 13 has no running task ('headroom jobs 13' shows its state)\n");
    result_done(&r);

    r = run_cli(&f, ARGS("tasks", "t-00000000000000ff"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.err.data, "headroom: no such task t-00000000000000ff (HTTP 404 Not Found: no such task)\n");
    result_done(&r);

    r = run_cli(&f, ARGS("tasks", "14"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.err.data, "headroom: task t-0000c38dfac00003 is not yours: only its owner and "
                                    "root may (HTTP 403 Forbidden: not yours)\n");
    result_done(&r);

    r = run_cli(&f, ARGS("tasks", "-q", "t-0000c38dfac00001"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(r.out.data, "");
    result_done(&r);

    /* Not a terminal: refused before anything is asked. */
    r = run_cli(&f, ARGS("tasks", "--watch"));
    assert_int_equal(r.status, CLI_EXIT_USAGE);
    assert_string_equal(r.err.data, "headroom: --watch needs a terminal on standard output\n"
                                    "Try 'headroom tasks --help'.\n");
    result_done(&r);

    log = fake_stop(&f);
    assert_string_equal(log, "GET /v1/tasks\n"
                             "GET /v1/tasks\n"
                             "GET /v1/tasks/t-0000c38dfac00001\n"
                             "GET /v1/tasks\n"
                             "GET /v1/tasks/t-0000c38dfac00001\n"
                             "GET /v1/tasks\n"
                             "GET /v1/tasks/t-00000000000000ff\n"
                             "GET /v1/tasks\n"
                             "GET /v1/tasks/t-0000c38dfac00003\n"
                             "GET /v1/tasks/t-0000c38dfac00001\n");
    free(log);
    free(tasks);
    free(task);
}

static void test_bad_answers(void **state)
{
    const struct route routes[] = {
        { "GET /v1/tasks", 200, "{\"tasks\":{}}" },
        { "GET /v1/tasks/t-0000000000000001", 200, "[1]" },
        { "GET /v1/tasks/t-0000000000000002", 200, "not json" },
        { "GET /v1/tasks/t-0000000000000003", 500, "{\"error\":\"boom\"}" },
    };
    struct fake f;
    struct result r;

    fake_start(&f, routes, ELEMENTSOF(routes));

    r = run_cli(&f, ARGS("tasks"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.err.data, "headroom: GET /v1/tasks: the answer has no task list\n");
    result_done(&r);

    r = run_cli(&f, ARGS("tasks", "12"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.err.data, "headroom: GET /v1/tasks: the answer has no task list\n");
    result_done(&r);

    r = run_cli(&f, ARGS("tasks", "t-0000000000000001"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.err.data, "headroom: GET /v1/tasks/t-0000000000000001: the answer is not a task\n");
    result_done(&r);

    r = run_cli(&f, ARGS("tasks", "t-0000000000000002"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_true(starts_with(r.err.data, "headroom: GET /v1/tasks/t-0000000000000002: the answer is not valid JSON"));
    result_done(&r);

    r = run_cli(&f, ARGS("tasks", "t-0000000000000003", "--json"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.out.data, "");
    assert_string_equal(r.err.data, "headroom: GET /v1/tasks/t-0000000000000003: HTTP 500 Internal "
                                    "Server Error: boom\n");
    result_done(&r);

    free(fake_stop(&f));
}

/* Reads what the pseudo-terminal's master has until deadline or until it says no more (EIO: the
 * other side is closed), appending to *buf (of *len bytes, FILE_MAX at most). Stops early once
 * stop appears stop_count times, when stop is not NULL. */
static void pty_read(int master, char *buf, size_t *len, usec_t deadline, const char *stop, size_t stop_count)
{
    for (;;) {
        usec_t now = now_usec(CLOCK_MONOTONIC);
        struct pollfd p = { .fd = master, .events = POLLIN };

        if (stop && count(buf, stop) >= stop_count)
            return;
        if (now >= deadline)
            return;
        if (poll(&p, 1, (int) ((deadline - now) / USEC_PER_MSEC) + 1) <= 0)
            continue;
        ssize_t k = read(master, buf + *len, FILE_MAX - *len);
        if (k <= 0)
            return;
        *len += (size_t) k;
        buf[*len] = '\0';
    }
}

/* Runs "headroom ARGS..." in a child whose stdout and stderr are a pseudo-terminal. After
 * screens screens (0: none awaited), sends SIGINT, then collects the exit. Returns the wait
 * status; *ret_out gets what it wrote (owned by the caller). */
static int run_on_pty(const struct fake *f, const char *const *args, size_t screens, char **ret_out)
{
    char *argv[FAKE_ARGV_MAX], *buf = calloc(1, FILE_MAX + 1);
    int argc = build_argv(f, args, argv), master, status = 0;
    size_t len = 0;
    pid_t pid;

    assert_non_null(buf);
    master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    assert_true(master >= 0);
    assert_int_equal(grantpt(master), 0);
    assert_int_equal(unlockpt(master), 0);
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0 || dup2(slave, STDOUT_FILENO) < 0 || dup2(slave, STDERR_FILENO) < 0)
            _exit(99);
        alarm(20);
        _exit(cli_main(argc, argv));
    }
    if (screens > 0) {
        pty_read(master, buf, &len, now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC, "\033[H\033[2J",
                 screens);
        /* The next screen is a second away: the signal comes in the wait between two. */
        assert_int_equal(kill(pid, SIGINT), 0);
    }
    pty_read(master, buf, &len, now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC, NULL, 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    close(master);
    *ret_out = buf;
    return status;
}

static void test_watch(void **state)
{
    char *tasks = fixture_text("tasks.json"), *task = fixture_text("task.json"), *out, *log;
    const struct route routes[] = {
        { "GET /v1/tasks", 200, tasks },
        { "GET /v1/tasks/t-0000c38dfac00001", 200, task },
    };
    struct fake f;
    int status;

    fake_start(&f, routes, ELEMENTSOF(routes));

    status = run_on_pty(&f, ARGS("tasks", "--watch"), 2, &out);
    if (!WIFEXITED(status))
        fail_msg("--watch did not exit by itself on SIGINT (wait status 0x%x)", (unsigned) status);
    assert_int_equal(WEXITSTATUS(status), CLI_EXIT_SUCCESS);
    /* Each screen: home and clear, a title, then the table (the terminal writes "\r\n"). */
    assert_true(starts_with(out, "\033[H\033[2Jheadroom tasks, every 1s (Ctrl-C ends)  "));
    assert_int_equal(count(out, "\033[H\033[2J"), 2);
    assert_int_equal(count(out, "\r\nID                  JOB  TASK "), 2);
    /* Ended on a line of its own. */
    assert_int_equal(strcmp(out + strlen(out) - 4, "\r\n\r\n"), 0);
    free(out);

    status = run_on_pty(&f, ARGS("tasks", "12", "--watch"), 1, &out);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), CLI_EXIT_SUCCESS);
    assert_true(starts_with(out, "\033[H\033[2Jheadroom tasks 12, every 1s (Ctrl-C ends)  "));
    assert_non_null(strstr(out, "\r\nTask t-0000c38dfac00001 (job 12)\r\n"));
    free(out);

    log = fake_stop(&f);
    assert_string_equal(log, "GET /v1/tasks\n"
                             "GET /v1/tasks\n"
                             "GET /v1/tasks\n"
                             "GET /v1/tasks/t-0000c38dfac00001\n");

    /* The task gone (or the daemon) ends the watch with the usual status. */
    const struct route gone[] = { { "GET /v1/tasks", 200, "{\"tasks\":[]}" } };
    fake_start(&f, gone, ELEMENTSOF(gone));
    status = run_on_pty(&f, ARGS("tasks", "--watch", "t-0000c38dfac00001"), 0, &out);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), CLI_EXIT_FAILURE);
    assert_non_null(strstr(out, "headroom: no such task t-0000c38dfac00001 (HTTP 404 Not Found: no such route)"));
    free(out);
    free(fake_stop(&f));
    free(log);
    free(tasks);
    free(task);
}

static void test_unreachable(void **state)
{
    const char *const *const cases[] = {
        ARGS("tasks"),
        ARGS("tasks", "--json"),
        ARGS("tasks", "t-0123456789abcdef"),
        ARGS("tasks", "12"),
    };
    struct fake f;

    fake_start(&f, NULL, 0);
    free(fake_stop(&f)); /* the socket is gone: nobody listens */
    assert_int_equal(mkdir(f.dir, 0700), 0);
    for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
        struct result r = run_cli(&f, cases[i]);
        if (r.status != CLI_EXIT_UNAVAILABLE)
            fail_msg("case %zu: exit %d", i, r.status);
        assert_string_equal(r.out.data, "");
        assert_non_null(strstr(r.err.data, "cannot reach the daemon at unix:"));
        result_done(&r);
    }
    assert_int_equal(rmdir(f.dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_args),
        cmocka_unit_test(test_help),
        cmocka_unit_test_teardown(test_list_and_detail, fake_teardown),
        cmocka_unit_test_teardown(test_bad_answers, fake_teardown),
        cmocka_unit_test_teardown(test_watch, fake_teardown),
        cmocka_unit_test_teardown(test_unreachable, fake_teardown),
    };

    /* cli_main() loads libcurl at run time to speak HTTP to the fake server; without it the end to
     * end tests cannot run. */
    if (!fake_init())
        return 77;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
