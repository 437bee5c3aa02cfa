/* SPDX-License-Identifier: MIT */
/* The body of POST /v1/jobs from parsed options, "wait"'s exit status from a job, and where
 * "events --follow" goes on from. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"
#include "cli/cli.h"
#include "cli/job-request.h"

/* cmocka.h needs stdarg.h, stddef.h and setjmp.h before it. */
#include <cmocka.h>

#define ARGS(...)     ((const char *[]){ "headroom", __VA_ARGS__, NULL })
#define ARGV(...)     ((char **) ARGS(__VA_ARGS__))
#define ARGC(...)     ((int) (sizeof(ARGS(__VA_ARGS__)) / sizeof(char *)) - 1)
#define PARSE(ret, ...) \
    assert_int_equal(cli_parse_args(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (ret), err), 0)

static char err[CLI_MESSAGE_MAX];

static char *body_of(const struct cli_args *a, char *const *env, unsigned *dropped)
{
    char *text = NULL;

    assert_int_equal(job_submit_body(a, a->raw_argv, (size_t) a->raw_argc, "/home/alice", env, &text,
                                     dropped),
                     0);
    return text;
}

static void test_body_minimal(void **state)
{
    char *env[] = { (char *) "PATH=/usr/bin", (char *) "LANG=C.UTF-8", NULL };
    struct cli_args a;
    unsigned dropped = 99;
    char *text;

    /* Only what was given: the daemon's defaults apply to the rest (kill-after, stall ...). */
    PARSE(&a, "submit", "--", "make", "-j8");
    text = body_of(&a, env, &dropped);
    assert_string_equal(text, "{\"argv\":[\"make\",\"-j8\"],\"cwd\":\"/home/alice\","
                              "\"env\":[\"PATH=/usr/bin\",\"LANG=C.UTF-8\"]}");
    assert_int_equal(dropped, 0);
    free(text);

    /* No environment at all is an empty list. */
    text = body_of(&a, NULL, NULL);
    assert_string_equal(text, "{\"argv\":[\"make\",\"-j8\"],\"cwd\":\"/home/alice\",\"env\":[]}");
    free(text);
}

static void test_body_full(void **state)
{
    struct cli_args a;
    char *text;

    PARSE(&a, "submit", "--priority", "p0", "--task", "encode", "--complexity", "2.5", "--cpu", "50",
          "--mem", "8G", "--gpu", "12.5", "--vram", "1G", "--disk", "1M", "--gpus", "2", "--timeout",
          "1.5s", "--kill-after", "0", "--stall", "5m", "--on-stall", "warn", "--max-mem", "2G",
          "--max-cpu", "0.5", "--max-pids", "64", "--checkpoint-signal", "sigusr1",
          "--checkpoint-grace", "30s", "ffmpeg", "-i", "a b\"c");
    text = body_of(&a, NULL, NULL);
    assert_string_equal(
            text,
            "{\"argv\":[\"ffmpeg\",\"-i\",\"a b\\\"c\"],\"cwd\":\"/home/alice\",\"env\":[],"
            "\"task\":\"encode\",\"complexity\":2.5,"
            "\"needs\":{\"cpu_pct\":50,\"mem_bytes\":8589934592,\"gpu_pct\":12.5,"
            "\"vram_bytes\":1073741824,\"disk_bytes\":1048576},"
            "\"priority\":\"P0\",\"gpus\":2,\"timeout_sec\":1.5,\"kill_after_sec\":0,"
            "\"stall_sec\":300,\"on_stall\":\"warn\",\"max_mem_bytes\":2147483648,\"max_cpu\":0.5,"
            "\"max_pids\":64,\"checkpoint_signal\":\"USR1\",\"checkpoint_grace_sec\":30}");
    free(text);

    /* Its own limits go as one object. */
    PARSE(&a, "submit", "--warn-mem", "1G", "--critical-mem", "2G", "--warn-cpu", "25", "x");
    text = body_of(&a, NULL, NULL);
    assert_string_equal(text, "{\"argv\":[\"x\"],\"cwd\":\"/home/alice\",\"env\":[],"
                              "\"limits\":{\"memory_soft_bytes\":1073741824,\"memory_hard_bytes\":2147483648,"
                              "\"cpu_soft_percent\":25.0}}");
    free(text);

    /* A real-time signal goes by its number; --stall 0 (off) and --complexity 0 are sent. */
    PARSE(&a, "submit", "--checkpoint-signal", "40", "--stall", "0", "--complexity", "0", "x");
    text = body_of(&a, NULL, NULL);
    assert_string_equal(text, "{\"argv\":[\"x\"],\"cwd\":\"/home/alice\",\"env\":[],\"complexity\":0,"
                              "\"stall_sec\":0,\"checkpoint_signal\":40}");
    free(text);
}

static void test_body_env(void **state)
{
    struct cli_args a;
    unsigned dropped = 0;
    char *text;
    char *env[] = {
        (char *) "A=1",
        (char *) "HEADROOM_TASK=outer",         /* names the submitting task */
        (char *) "HEADROOM_TASK_ID=t-0000000000000001",
        (char *) "HEADROOM_TASKS=kept",         /* another name altogether */
        (char *) "NOEQUALS",
        (char *) "=novalue",
        (char *) "BAD=\xff\xfe",
        (char *) "EMPTY=",
        (char *) "UTF=é",
        NULL,
    };

    PARSE(&a, "submit", "x");
    text = body_of(&a, env, &dropped);
    assert_string_equal(text, "{\"argv\":[\"x\"],\"cwd\":\"/home/alice\",\"env\":[\"A=1\","
                              "\"HEADROOM_TASKS=kept\",\"EMPTY=\",\"UTF=é\"]}");
    assert_int_equal(dropped, 3); /* HEADROOM_TASK* are left out without counting */
    free(text);
}

static void test_body_env_bounds(void **state)
{
    struct cli_args a;
    char **env = calloc(JOB_ENV_MAX + 11, sizeof(char *));
    char *big = malloc(JOB_ENV_BYTES_MAX);
    unsigned dropped = 0;
    json_t *j;
    char *text;

    assert_non_null(env);
    assert_non_null(big);
    PARSE(&a, "submit", "x");

    /* More entries than allowed: the first JOB_ENV_MAX go. */
    for (size_t i = 0; i < JOB_ENV_MAX + 10; i++)
        assert_true(asprintf(&env[i], "V%zu=1", i) > 0);
    text = body_of(&a, env, &dropped);
    j = json_loads(text, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_array_size(json_object_get(j, "env")), JOB_ENV_MAX);
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "env"), 0)), "V0=1");
    assert_int_equal(dropped, 10);
    json_decref(j);
    free(text);
    for (size_t i = 0; i < JOB_ENV_MAX + 10; i++)
        free(env[i]);

    /* More bytes than allowed: a too-large entry is left out, smaller ones after it still go. */
    memset(big, 'x', JOB_ENV_BYTES_MAX - 1);
    big[0] = 'B';
    big[1] = '=';
    big[JOB_ENV_BYTES_MAX - 1] = '\0'; /* exactly JOB_ENV_BYTES_MAX with its NUL */
    env[0] = (char *) "A=1";
    env[1] = big;
    env[2] = (char *) "C=3";
    env[3] = NULL;
    text = body_of(&a, env, &dropped);
    j = json_loads(text, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(j, "env")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "env"), 1)), "C=3");
    assert_int_equal(dropped, 1);
    json_decref(j);
    free(text);

    /* Alone it fits exactly. */
    env[0] = big;
    env[1] = NULL;
    text = body_of(&a, env, &dropped);
    assert_int_equal(dropped, 0);
    free(text);
    free(big);
    free(env);
}

static void test_body_refused(void **state)
{
    struct cli_args a;
    char *text = NULL;
    char *argv_bad[] = { (char *) "echo", (char *) "\xc3\x28" };
    char **many = calloc(JOB_ARGV_MAX + 1, sizeof(char *));
    char *long_arg = malloc(JOB_ARGV_BYTES_MAX + 1);

    assert_non_null(many);
    assert_non_null(long_arg);
    PARSE(&a, "submit", "x");

    assert_int_equal(job_submit_body(&a, argv_bad, 2, "/", NULL, &text, NULL), -EILSEQ);
    assert_int_equal(job_submit_body(&a, argv_bad, 0, "/", NULL, &text, NULL), -EINVAL);
    assert_int_equal(job_submit_body(&a, argv_bad, 1, "relative", NULL, &text, NULL), -EINVAL);
    assert_int_equal(job_submit_body(&a, argv_bad, 1, "", NULL, &text, NULL), -EINVAL);
    assert_int_equal(job_submit_body(&a, argv_bad, 1, "/\xff", NULL, &text, NULL), -EINVAL);
    assert_int_equal(job_submit_body(&a, argv_bad, 1, NULL, NULL, &text, NULL), -EINVAL);

    for (size_t i = 0; i <= JOB_ARGV_MAX; i++)
        many[i] = (char *) "a";
    assert_int_equal(job_submit_body(&a, many, JOB_ARGV_MAX + 1, "/", NULL, &text, NULL), -E2BIG);
    assert_int_equal(job_submit_body(&a, many, JOB_ARGV_MAX, "/", NULL, &text, NULL), 0);
    free(text);
    text = NULL;

    /* JOB_ARGV_BYTES_MAX counts the NULs: one string of that length is one byte too many. */
    memset(long_arg, 'a', JOB_ARGV_BYTES_MAX);
    long_arg[JOB_ARGV_BYTES_MAX] = '\0';
    many[0] = long_arg;
    assert_int_equal(job_submit_body(&a, many, 1, "/", NULL, &text, NULL), -E2BIG);
    long_arg[JOB_ARGV_BYTES_MAX - 1] = '\0';
    assert_int_equal(job_submit_body(&a, many, 1, "/", NULL, &text, NULL), 0);
    free(text);
    free(long_arg);
    free(many);
}

static int status_of(const char *json)
{
    json_t *j = json_loads(json, JSON_DECODE_ANY, NULL);
    int r;

    assert_non_null(j);
    r = job_exit_status(j);
    json_decref(j);
    return r;
}

static void test_exit_status(void **state)
{
    assert_int_equal(status_of("{\"state\":\"queued\"}"), -EAGAIN);
    assert_int_equal(status_of("{\"state\":\"running\",\"exit_code\":null}"), -EAGAIN);
    assert_int_equal(status_of("{\"state\":\"suspended\"}"), -EAGAIN);
    assert_int_equal(status_of("{\"state\":\"somethingnew\",\"exit_code\":3}"), -EAGAIN);

    assert_int_equal(status_of("{\"state\":\"done\",\"exit_code\":0}"), 0);
    assert_int_equal(status_of("{\"state\":\"done\"}"), 0);
    assert_int_equal(status_of("{\"state\":\"failed\",\"exit_code\":3}"), 3);
    assert_int_equal(status_of("{\"state\":\"failed\",\"exit_code\":137}"), 137);
    assert_int_equal(status_of("{\"state\":\"failed\",\"exit_code\":null,\"reason\":\"ENOENT\"}"),
                     JOB_EXIT_LOST);
    assert_int_equal(status_of("{\"state\":\"failed\",\"exit_code\":256}"), JOB_EXIT_LOST);
    assert_int_equal(status_of("{\"state\":\"failed\",\"exit_code\":-1}"), JOB_EXIT_LOST);
    assert_int_equal(status_of("{\"state\":\"failed\",\"exit_code\":\"3\"}"), JOB_EXIT_LOST);
    assert_int_equal(status_of("{\"state\":\"cancelled\",\"exit_code\":null}"), JOB_EXIT_CANCELLED);
    assert_int_equal(status_of("{\"state\":\"cancelled\",\"exit_code\":143}"), 143);
    assert_int_equal(status_of("{\"state\":\"lost\",\"exit_code\":0}"), JOB_EXIT_LOST);
    assert_int_equal(status_of("{\"state\":\"lost\"}"), JOB_EXIT_LOST);

    assert_int_equal(status_of("{\"exit_code\":0}"), -EBADMSG);
    assert_int_equal(status_of("{\"state\":1}"), -EBADMSG);
    assert_int_equal(status_of("[]"), -EBADMSG);
    assert_int_equal(job_exit_status(NULL), -EBADMSG);

    assert_true(job_state_is_finished("done"));
    assert_true(job_state_is_finished("lost"));
    assert_false(job_state_is_finished("running"));
    assert_false(job_state_is_finished("Done"));
    assert_false(job_state_is_finished(NULL));
}

static uint64_t next_of(const char *json, uint64_t after, size_t limit)
{
    json_t *j = json_loads(json, JSON_DECODE_ANY, NULL);
    uint64_t r;

    assert_non_null(j);
    r = events_next_after(j, after, limit);
    json_decref(j);
    return r;
}

static void test_events_next(void **state)
{
    /* The last event shown, or further with last_seq when the page was not full. */
    assert_int_equal(next_of("{\"events\":[{\"seq\":5},{\"seq\":7}],\"last_seq\":7}", 4, 100), 7);
    assert_int_equal(next_of("{\"events\":[{\"seq\":5}],\"last_seq\":42}", 4, 100), 42);
    assert_int_equal(next_of("{\"events\":[],\"last_seq\":42}", 4, 100), 42);
    /* A full page: last_seq may be past events not yet shown. */
    assert_int_equal(next_of("{\"events\":[{\"seq\":5},{\"seq\":6}],\"last_seq\":42}", 4, 2), 6);
    /* Never backwards, whatever the answer says. */
    assert_int_equal(next_of("{\"events\":[],\"last_seq\":3}", 10, 100), 10);
    assert_int_equal(next_of("{\"events\":[{\"seq\":2}],\"last_seq\":2}", 10, 100), 10);
    /* Junk. */
    assert_int_equal(next_of("{\"events\":[{\"seq\":-5},{\"seq\":\"9\"},{}],\"last_seq\":-1}", 4, 100),
                     4);
    assert_int_equal(next_of("{}", 4, 100), 4);
    assert_int_equal(next_of("[]", 0, 100), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body_minimal), cmocka_unit_test(test_body_full),
        cmocka_unit_test(test_body_env),     cmocka_unit_test(test_body_env_bounds),
        cmocka_unit_test(test_body_refused), cmocka_unit_test(test_exit_status),
        cmocka_unit_test(test_events_next),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
