/* SPDX-License-Identifier: MIT */
/* Option parsing of the job commands (submit, jobs, logs, wait, cancel, suspend, resume, events)
 * and of run's hidden job-wrapper options: what each accepts, what it refuses, with which
 * message, and that cli_main() turns every refusal into exit status 2 before any request. */

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/exit-codes.h"
#include "usage-errors.h"

/* cmocka.h needs stdarg.h, stddef.h and setjmp.h before it. */
#include <cmocka.h>

#define ARGS(...)            ((const char *[]){ "headroom", __VA_ARGS__, NULL })
#define ARGV(...)            ((char **) ARGS(__VA_ARGS__))
#define ARGC(...)            ((int) (sizeof(ARGS(__VA_ARGS__)) / sizeof(char *)) - 1)
#define PARSE(ret, err, ...) cli_parse_args(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (ret), (err))

static void test_submit(void **state)
{
    struct cli_args a;
    char err[CLI_MESSAGE_MAX];

    assert_int_equal(PARSE(&a, err, "submit", "--priority", "P0", "--task", "encode", "--complexity",
                           "1080", "--cpu", "50", "--mem", "1G", "--gpus", "2", "--timeout", "1h",
                           "--kill-after", "5s", "--max-mem", "2G", "--max-cpu", "1.5", "--max-pids",
                           "100", "--stall", "0", "--on-stall=kill", "--checkpoint-signal",
                           "SIGUSR1", "--checkpoint-grace", "30s", "--", "ffmpeg", "-i", "a.mp4"),
                     0);
    assert_ptr_equal(a.command, &cli_command_submit);
    assert_true(a.has_priority);
    assert_int_equal(a.priority, 0);
    assert_string_equal(a.task, "encode");
    assert_true(a.needs.has_cpu);
    assert_int_equal(a.needs.mem_bytes, 1073741824ULL);
    assert_int_equal(a.gpus, 2);
    /* --timeout is the job's limit; the requests keep the default. */
    assert_int_equal(a.run_timeout_usec, 3600 * USEC_PER_SEC);
    assert_int_equal(a.timeout_usec, CLI_DEFAULT_TIMEOUT_USEC);
    assert_int_equal(a.kill_after_usec, 5 * USEC_PER_SEC);
    assert_int_equal(a.max_mem_bytes, 2147483648ULL);
    assert_true(a.max_cpu_cores > 1.499 && a.max_cpu_cores < 1.501);
    assert_int_equal(a.max_pids, 100);
    assert_int_equal(a.stall_usec, 0);
    assert_true(a.on_stall_kill);
    assert_int_equal(a.checkpoint_signal, SIGUSR1);
    assert_int_equal(a.checkpoint_grace_usec, 30 * USEC_PER_SEC);
    assert_int_equal(a.raw_argc, 3);
    assert_string_equal(a.raw_argv[0], "ffmpeg");
    assert_string_equal(a.raw_argv[1], "-i");
    assert_string_equal(a.raw_argv[2], "a.mp4");

    /* Options end at COMMAND: what follows is the command's. */
    assert_int_equal(PARSE(&a, err, "submit", "-q", "sleep", "--priority", "P9", "--json"), 0);
    assert_true(a.quiet);
    assert_false(a.json);
    assert_false(a.has_priority);
    assert_int_equal(a.raw_argc, 4);
    assert_string_equal(a.raw_argv[1], "--priority");
    assert_int_equal(a.run_timeout_usec, 0);
    assert_int_equal(a.checkpoint_signal, 0);

    /* Options before the command word count too, --timeout included. */
    assert_int_equal(PARSE(&a, err, "--timeout", "90s", "--json", "submit", "p2", "true"), 0);
    assert_int_equal(a.run_timeout_usec, 90 * USEC_PER_SEC);
    assert_int_equal(a.timeout_usec, CLI_DEFAULT_TIMEOUT_USEC);
    assert_true(a.json);
    assert_string_equal(a.raw_argv[0], "p2");

    /* Priorities in any case, or as a bare digit; signals by any spelling. */
    assert_int_equal(PARSE(&a, err, "submit", "--priority=p2", "--checkpoint-signal", "term", "x"), 0);
    assert_int_equal(a.priority, 2);
    assert_int_equal(a.checkpoint_signal, SIGTERM);
    assert_int_equal(PARSE(&a, err, "submit", "--priority", "1", "--checkpoint-signal=10", "x"), 0);
    assert_int_equal(a.priority, 1);
    assert_int_equal(a.checkpoint_signal, 10);
    assert_int_equal(PARSE(&a, err, "submit", "--checkpoint-signal", "sigint", "x"), 0);
    assert_int_equal(a.checkpoint_signal, SIGINT);
    assert_int_equal(PARSE(&a, err, "submit", "--checkpoint-grace", "24h", "x"), 0);
    assert_int_equal(a.checkpoint_grace_usec, 86400 * USEC_PER_SEC);
    assert_int_equal(PARSE(&a, err, "run", "--warn-mem", "1G", "--critical-mem=2G", "--warn-cpu", "12.5", "x"), 0);
    assert_int_equal(a.warn_mem_bytes, 1073741824);
    assert_int_equal(a.critical_mem_bytes, 2147483648);
    assert_true(a.warn_cpu_pct > 12.49 && a.warn_cpu_pct < 12.51);
}

static void test_signal_parse(void **state)
{
    int sig = -1;
    char num[16];

    assert_int_equal(cli_parse_signal("USR2", &sig), 0);
    assert_int_equal(sig, SIGUSR2);
    assert_int_equal(cli_parse_signal("SigHup", &sig), 0);
    assert_int_equal(sig, SIGHUP);
    assert_int_equal(cli_parse_signal("1", &sig), 0);
    assert_int_equal(sig, 1);
    (void) snprintf(num, sizeof(num), "%d", SIGRTMAX);
    assert_int_equal(cli_parse_signal(num, &sig), 0);
    assert_int_equal(sig, SIGRTMAX);

    sig = -1;
    (void) snprintf(num, sizeof(num), "%d", SIGRTMAX + 1);
    assert_int_equal(cli_parse_signal(num, &sig), -EINVAL);
    assert_int_equal(cli_parse_signal("0", &sig), -EINVAL);
    assert_int_equal(cli_parse_signal("KILL", &sig), -EINVAL);
    assert_int_equal(cli_parse_signal("SIGSTOP", &sig), -EINVAL);
    assert_int_equal(cli_parse_signal("9", &sig), -EINVAL);
    assert_int_equal(cli_parse_signal("19", &sig), -EINVAL);
    assert_int_equal(cli_parse_signal("SIG", &sig), -EINVAL);
    assert_int_equal(cli_parse_signal("", &sig), -EINVAL);
    assert_int_equal(cli_parse_signal("USR1 ", &sig), -EINVAL);
    assert_int_equal(cli_parse_signal("-10", &sig), -EINVAL);
    assert_int_equal(cli_parse_signal("0010", &sig), -EINVAL);
    assert_int_equal(sig, -1); /* untouched on failure */
}

static void test_ids(void **state)
{
    uint64_t id = 0;

    assert_int_equal(cli_parse_job_id("12", &id), 0);
    assert_int_equal(id, 12);
    assert_int_equal(cli_parse_job_id("007", &id), 0);
    assert_int_equal(id, 7);
    assert_int_equal(cli_parse_job_id("9007199254740991", &id), 0);
    assert_int_equal(id, CLI_JOB_ID_MAX);

    id = 5;
    assert_int_equal(cli_parse_job_id("9007199254740992", &id), -EINVAL);
    assert_int_equal(cli_parse_job_id("0", &id), -EINVAL);
    assert_int_equal(cli_parse_job_id("", &id), -EINVAL);
    assert_int_equal(cli_parse_job_id("+3", &id), -EINVAL);
    assert_int_equal(cli_parse_job_id(" 3", &id), -EINVAL);
    assert_int_equal(cli_parse_job_id("3 ", &id), -EINVAL);
    assert_int_equal(cli_parse_job_id("0x10", &id), -EINVAL);
    assert_int_equal(cli_parse_job_id("1e3", &id), -EINVAL);
    assert_int_equal(cli_parse_job_id("99999999999999999999", &id), -EINVAL);
    assert_int_equal(cli_parse_job_id(NULL, &id), -EINVAL);
    assert_int_equal(id, 5);

    assert_true(cli_task_id_is_valid("t-0123456789abcdef"));
    assert_false(cli_task_id_is_valid("t-0123456789ABCDEF"));
    assert_false(cli_task_id_is_valid("t-0123456789abcde"));
    assert_false(cli_task_id_is_valid("t-0123456789abcdef0"));
    assert_false(cli_task_id_is_valid("l-0123456789abcdef"));
    assert_false(cli_task_id_is_valid("t-0123456789abcdeg"));
    assert_false(cli_task_id_is_valid(NULL));
}

static void test_follow_commands(void **state)
{
    struct cli_args a;
    char err[CLI_MESSAGE_MAX];

    assert_int_equal(PARSE(&a, err, "jobs"), 0);
    assert_ptr_equal(a.command, &cli_command_jobs);
    assert_false(a.all);
    assert_int_equal(a.n_args, 0);
    assert_int_equal(PARSE(&a, err, "jobs", "-a", "--json"), 0);
    assert_true(a.all);
    assert_true(a.json);
    assert_int_equal(PARSE(&a, err, "jobs", "--all", "42"), 0);
    assert_true(a.all);
    assert_string_equal(a.args[0], "42");

    assert_int_equal(PARSE(&a, err, "logs", "12", "-f"), 0);
    assert_ptr_equal(a.command, &cli_command_logs);
    assert_true(a.follow);
    assert_string_equal(a.args[0], "12");
    assert_int_equal(PARSE(&a, err, "logs", "--follow", "-q", "12"), 0);
    assert_true(a.follow);
    assert_true(a.quiet);
    assert_int_equal(PARSE(&a, err, "logs", "3"), 0);
    assert_false(a.follow);

    /* wait's --timeout is how long it waits; each request keeps the default. */
    assert_int_equal(PARSE(&a, err, "wait", "12", "--timeout", "30s"), 0);
    assert_ptr_equal(a.command, &cli_command_wait);
    assert_int_equal(a.run_timeout_usec, 30 * USEC_PER_SEC);
    assert_int_equal(a.timeout_usec, CLI_DEFAULT_TIMEOUT_USEC);
    assert_int_equal(PARSE(&a, err, "wait", "12"), 0);
    assert_int_equal(a.run_timeout_usec, 0);
    /* Elsewhere --timeout stays the connection's. */
    assert_int_equal(PARSE(&a, err, "jobs", "--timeout", "3s"), 0);
    assert_int_equal(a.timeout_usec, 3 * USEC_PER_SEC);
    assert_int_equal(a.run_timeout_usec, 0);

    assert_int_equal(PARSE(&a, err, "cancel", "12"), 0);
    assert_ptr_equal(a.command, &cli_command_cancel);
    assert_int_equal(PARSE(&a, err, "suspend", "t-0123456789abcdef", "--json"), 0);
    assert_ptr_equal(a.command, &cli_command_suspend);
    assert_string_equal(a.args[0], "t-0123456789abcdef");
    assert_int_equal(PARSE(&a, err, "resume", "-q", "9"), 0);
    assert_ptr_equal(a.command, &cli_command_resume);

    assert_int_equal(PARSE(&a, err, "events"), 0);
    assert_ptr_equal(a.command, &cli_command_events);
    assert_false(a.follow);
    assert_null(a.event_type);
    assert_int_equal(a.after_seq, 0);
    assert_int_equal(PARSE(&a, err, "events", "-f", "--type", "task:high-memory", "--after", "17",
                           "--json"),
                     0);
    assert_true(a.follow);
    assert_string_equal(a.event_type, "task:high-memory");
    assert_int_equal(a.after_seq, 17);
    assert_true(a.json);
    assert_int_equal(PARSE(&a, err, "events", "--after=18446744073709551615"), 0);
    assert_int_equal(a.after_seq, UINT64_MAX);
}

static void test_hidden_run_options(void **state)
{
    struct cli_args a;
    char err[CLI_MESSAGE_MAX];
    char *out = NULL;
    size_t n = 0;
    FILE *f;

    assert_int_equal(PARSE(&a, err, "run", "--job-task", "t-00000000000000ff", "--exit-file",
                           "/var/lib/headroom/jobs/12.exit", "--", "make"),
                     0);
    assert_ptr_equal(a.command, &cli_command_run);
    assert_string_equal(a.job_task, "t-00000000000000ff");
    assert_string_equal(a.exit_file, "/var/lib/headroom/jobs/12.exit");
    assert_string_equal(a.raw_argv[0], "make");
    assert_int_equal(PARSE(&a, err, "run", "make"), 0);
    /* run --wait waits in the daemon's queue: it takes a priority too. */
    assert_int_equal(PARSE(&a, err, "run", "--wait", "--priority", "P2", "make"), 0);
    assert_true(a.has_priority);
    assert_int_equal(a.priority, 2);
    assert_null(a.job_task);
    assert_null(a.exit_file);

    /* Hidden: neither in run's help nor in the global one. */
    f = open_memstream(&out, &n);
    assert_non_null(f);
    cli_help(&cli_command_run, f);
    cli_help(NULL, f);
    assert_int_equal(fclose(f), 0);
    assert_null(strstr(out, "job-task"));
    assert_null(strstr(out, "exit-file"));
    free(out);
}

static void test_help(void **state)
{
    static const struct cli_command *const cmds[] = {
        &cli_command_submit, &cli_command_jobs,    &cli_command_logs,   &cli_command_wait,
        &cli_command_cancel, &cli_command_suspend, &cli_command_resume, &cli_command_events,
    };
    char *out = NULL;
    size_t n = 0;
    FILE *f;

    f = open_memstream(&out, &n);
    assert_non_null(f);
    cli_help(NULL, f);
    assert_int_equal(fclose(f), 0);
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        char line[64];
        (void) snprintf(line, sizeof(line), "\n  %s", cmds[i]->synopsis);
        if (!strstr(out, line))
            fail_msg("'%s' is not in headroom --help", cmds[i]->synopsis);
        assert_ptr_equal(cli_command_find(cmds[i]->name), cmds[i]);
    }
    free(out);

    /* Where --timeout is the command's own limit, the connection's is not offered in its help. */
    out = NULL;
    f = open_memstream(&out, &n);
    assert_non_null(f);
    cli_help(&cli_command_wait, f);
    assert_int_equal(fclose(f), 0);
    assert_non_null(strstr(out, "give up waiting after DURATION (exit 124)"));
    assert_null(strstr(out, "give up after DURATION (default 10s)"));
    assert_non_null(strstr(out, "--server URL"));
    free(out);

    out = NULL;
    f = open_memstream(&out, &n);
    assert_non_null(f);
    cli_help(&cli_command_jobs, f);
    assert_int_equal(fclose(f), 0);
    assert_non_null(strstr(out, "give up after DURATION (default 10s)"));
    free(out);
}

static const struct bad_case bad_cases[] = {
    { { "submit", NULL }, "missing COMMAND" },
    { { "submit", "--priority", "P0", NULL }, "missing COMMAND" },
    { { "submit", "--", NULL }, "missing COMMAND" },
    { { "submit", "--priority", "P3", "x", NULL },
      "invalid --priority 'P3': expected P0 (first), P1 (default) or P2" },
    { { "submit", "--priority", "high", "x", NULL },
      "invalid --priority 'high': expected P0 (first), P1 (default) or P2" },
    { { "submit", "--priority", "", "x", NULL },
      "invalid --priority '': expected P0 (first), P1 (default) or P2" },
    { { "submit", "--checkpoint-signal", "KILL", "x", NULL },
      "invalid --checkpoint-signal 'KILL': expected a signal the command can catch, such as USR1, "
      "SIGTERM or 10" },
    { { "submit", "--checkpoint-signal", "SIGFOO", "x", NULL },
      "invalid --checkpoint-signal 'SIGFOO': expected a signal the command can catch, such as "
      "USR1, SIGTERM or 10" },
    { { "submit", "--checkpoint-signal", "0", "x", NULL },
      "invalid --checkpoint-signal '0': expected a signal the command can catch, such as USR1, "
      "SIGTERM or 10" },
    { { "submit", "--checkpoint-grace", "0", "x", NULL },
      "invalid --checkpoint-grace '0': expected a duration from 1s to 24h, such as 30s or 5m" },
    { { "submit", "--checkpoint-grace", "25h", "x", NULL },
      "invalid --checkpoint-grace '25h': expected a duration from 1s to 24h, such as 30s or 5m" },
    { { "run", "--warn-mem", "0", "x", NULL }, "invalid --warn-mem '0': expected a size such as 512M or 8G" },
    { { "submit", "--critical-mem", "lots", "x", NULL },
      "invalid --critical-mem 'lots': expected a size such as 512M or 8G" },
    { { "run", "--warn-cpu", "120", "x", NULL },
      "invalid --warn-cpu '120': expected a percentage of the machine, above 0 and at most 100" },
    { { "run", "--warn-mem", "2G", "--critical-mem", "1G", "x", NULL }, "--warn-mem must not be above --critical-mem" },
    { { "ask", "t", "--warn-mem", "1G", NULL }, "option '--warn-mem' does not apply to 'ask'" },
    { { "submit", "--checkpoint-grace", "soon", "x", NULL },
      "invalid --checkpoint-grace 'soon': expected a duration from 1s to 24h, such as 30s or 5m" },
    { { "submit", "--checkpoint-signal", NULL }, "option '--checkpoint-signal' requires an argument" },
    { { "submit", "--gpus", "17", "x", NULL },
      "invalid --gpus '17': expected a number of GPUs from 1 to 16" },
    { { "submit", "--max-mem", "1K", "x", NULL },
      "invalid --max-mem '1K': expected a size of at least 1M, such as 512M or 8G" },
    { { "submit", "--on-stall", "stop", "x", NULL }, "invalid --on-stall 'stop': expected warn or kill" },
    { { "submit", "--timeout", "0", "x", NULL },
      "invalid --timeout '0': expected a duration such as 500ms, 10s or 2m" },
    { { "submit", "--wait", "x", NULL }, "option '--wait' does not apply to 'submit'" },
    { { "submit", "--no-cgroup", "x", NULL }, "option '--no-cgroup' does not apply to 'submit'" },
    { { "submit", "--on-unavailable=fail", "x", NULL },
      "option '--on-unavailable' does not apply to 'submit'" },
    { { "submit", "--job-task", "t-0123456789abcdef", "x", NULL },
      "option '--job-task' does not apply to 'submit'" },
    { { "submit", "--follow", "x", NULL }, "option '--follow' does not apply to 'submit'" },
    { { "run", "--priority", "P7", "x", NULL }, "invalid --priority 'P7': expected P0 (first), P1 (default) or P2" },
    { { "run", "--checkpoint-signal", "USR1", "x", NULL },
      "option '--checkpoint-signal' does not apply to 'run'" },
    { { "ask", "x", "--priority", "P1", NULL }, "option '--priority' does not apply to 'ask'" },
    { { "run", "--job-task", "12", "x", NULL },
      "invalid --job-task '12': expected a task id such as t-0123456789abcdef" },
    { { "run", "--exit-file", "rel/path", "x", NULL },
      "invalid --exit-file 'rel/path': expected an absolute path" },
    { { "run", "--exit-file", "", "x", NULL }, "invalid --exit-file '': expected an absolute path" },
    { { "ask", "x", "--exit-file", "/x", NULL }, "option '--exit-file' does not apply to 'ask'" },
    { { "jobs", "abc", NULL }, "invalid job id 'abc': expected a number such as 12" },
    { { "jobs", "0", NULL }, "invalid job id '0': expected a number such as 12" },
    { { "jobs", "9007199254740992", NULL },
      "invalid job id '9007199254740992': expected a number such as 12" },
    { { "jobs", "1", "2", NULL }, "too many arguments for 'jobs'" },
    { { "jobs", "--follow", NULL }, "option '--follow' does not apply to 'jobs'" },
    { { "jobs", "--type", "job:queued", NULL }, "option '--type' does not apply to 'jobs'" },
    { { "logs", NULL }, "missing ID" },
    { { "logs", "-f", NULL }, "missing ID" },
    { { "logs", "t-0123456789abcdef", NULL },
      "invalid job id 't-0123456789abcdef': expected a number such as 12" },
    { { "logs", "12", "--all", NULL }, "option '--all' does not apply to 'logs'" },
    { { "logs", "12", "--json", NULL }, "option '--json' does not apply to 'logs'" },
    { { "logs", "12", "13", NULL }, "too many arguments for 'logs'" },
    { { "wait", NULL }, "missing ID" },
    { { "wait", "x1", NULL }, "invalid job id 'x1': expected a number such as 12" },
    { { "wait", "1", "--timeout", "forever", NULL },
      "invalid --timeout 'forever': expected a duration such as 500ms, 10s or 2m" },
    { { "wait", "1", "--follow", NULL }, "option '--follow' does not apply to 'wait'" },
    { { "cancel", NULL }, "missing ID" },
    { { "cancel", "t-0123", NULL },
      "invalid id 't-0123': expected a job id such as 12 or a task id such as t-0123456789abcdef" },
    { { "suspend", "T-0123456789ABCDEF", NULL },
      "invalid id 'T-0123456789ABCDEF': expected a job id such as 12 or a task id such as "
      "t-0123456789abcdef" },
    { { "resume", "-5", NULL }, "invalid option -- '5'" },
    { { "resume", "1", "2", NULL }, "too many arguments for 'resume'" },
    { { "cancel", "1", "--all", NULL }, "option '--all' does not apply to 'cancel'" },
    { { "events", "3", NULL }, "too many arguments for 'events'" },
    { { "events", "--type", "Task Stalled", NULL },
      "invalid --type 'Task Stalled': expected an event type such as task:stalled or job:queued" },
    { { "events", "--type", "", NULL },
      "invalid --type '': expected an event type such as task:stalled or job:queued" },
    { { "events", "--type", "a&b=c", NULL },
      "invalid --type 'a&b=c': expected an event type such as task:stalled or job:queued" },
    { { "events", "--after", "-1", NULL },
      "invalid --after '-1': expected an event sequence number such as 0 or 1234" },
    { { "events", "--after", "x", NULL },
      "invalid --after 'x': expected an event sequence number such as 0 or 1234" },
    { { "events", "--after", "18446744073709551616", NULL },
      "invalid --after '18446744073709551616': expected an event sequence number such as 0 or "
      "1234" },
    { { "events", "--all", NULL }, "option '--all' does not apply to 'events'" },
    { { "status", "-f", NULL }, "option '--follow' does not apply to 'status'" },
};

static void test_usage_errors(void **state)
{
    check_usage_errors(bad_cases, ELEMENTSOF(bad_cases));
}

/* cli_main() turns each of them into exit status 2, before any request: no daemon is needed. */
static void test_main_exit_2(void **state)
{
    check_main_exit_2(bad_cases, ELEMENTSOF(bad_cases));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_submit),          cmocka_unit_test(test_signal_parse),
        cmocka_unit_test(test_ids),             cmocka_unit_test(test_follow_commands),
        cmocka_unit_test(test_hidden_run_options), cmocka_unit_test(test_help),
        cmocka_unit_test(test_usage_errors),    cmocka_unit_test(test_main_exit_2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
