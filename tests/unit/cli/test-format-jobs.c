/* SPDX-License-Identifier: MIT */
/* The job table and the event lines, from JSON fixtures (fixtures/jobs.json, fixtures/events.json)
 * and hostile strings, compared whole; the timestamp parser, durations and command lines. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"
#include "cli/format-jobs.h"
#include "cli-fixtures.h"

/* cmocka.h needs stdarg.h, stddef.h and setjmp.h before it. */
#include <cmocka.h>

/* 2026-11-23T17:00:00Z, the "now" of the tables. */
#define NOW_USEC (UINT64_C(1795453200) * USEC_PER_SEC)

static char *jobs_text(const json_t *jobs, bool all)
{
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);

    assert_non_null(f);
    format_jobs(f, jobs, all, NOW_USEC);
    assert_int_equal(fclose(f), 0);
    return out;
}

static char *event_text(const json_t *event)
{
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);

    assert_non_null(f);
    format_event(f, event);
    assert_int_equal(fclose(f), 0);
    return out;
}

static void test_timestamps(void **state)
{
    usec_t u = 0;

    assert_int_equal(timestamp_parse_rfc3339("2026-11-23T17:00:00Z", &u), 0);
    assert_int_equal(u, NOW_USEC);
    assert_int_equal(timestamp_parse_rfc3339("2026-11-23T17:00:00.123Z", &u), 0);
    assert_int_equal(u, NOW_USEC + 123000);
    assert_int_equal(timestamp_parse_rfc3339("2026-11-23T17:00:00.123456789Z", &u), 0);
    assert_int_equal(u, NOW_USEC + 123456);
    assert_int_equal(timestamp_parse_rfc3339("2026-11-23 18:30:00+01:30", &u), 0);
    assert_int_equal(u, NOW_USEC);
    assert_int_equal(timestamp_parse_rfc3339("2026-11-23t15:00:00-02:00", &u), 0);
    assert_int_equal(u, NOW_USEC);
    assert_int_equal(timestamp_parse_rfc3339("1970-01-01T00:00:00z", &u), 0);
    assert_int_equal(u, 0);

    u = 7;
    assert_int_equal(timestamp_parse_rfc3339("2026-11-23T17:00:00", &u), -EINVAL);
    assert_int_equal(timestamp_parse_rfc3339("2026-11-23T17:00:00.Z", &u), -EINVAL);
    assert_int_equal(timestamp_parse_rfc3339("2026-13-23T17:00:00Z", &u), -EINVAL);
    assert_int_equal(timestamp_parse_rfc3339("2026-11-23T24:00:00Z", &u), -EINVAL);
    assert_int_equal(timestamp_parse_rfc3339("2026-11-23T17:00:00Zjunk", &u), -EINVAL);
    assert_int_equal(timestamp_parse_rfc3339("2026-11-23T17:00:00+0100", &u), -EINVAL);
    assert_int_equal(timestamp_parse_rfc3339("1969-12-31T23:59:59Z", &u), -EINVAL);
    assert_int_equal(timestamp_parse_rfc3339("26-11-23T17:00:00Z", &u), -EINVAL);
    assert_int_equal(timestamp_parse_rfc3339("", &u), -EINVAL);
    assert_int_equal(timestamp_parse_rfc3339(NULL, &u), -EINVAL);
    assert_int_equal(u, 7);
}

static void test_durations(void **state)
{
    char buf[32];

    assert_string_equal(format_duration_short(buf, sizeof(buf), 0), "0s");
    assert_string_equal(format_duration_short(buf, sizeof(buf), 999999), "0s");
    assert_string_equal(format_duration_short(buf, sizeof(buf), 59 * USEC_PER_SEC), "59s");
    assert_string_equal(format_duration_short(buf, sizeof(buf), 60 * USEC_PER_SEC), "1m00s");
    assert_string_equal(format_duration_short(buf, sizeof(buf), 187 * USEC_PER_SEC), "3m07s");
    assert_string_equal(format_duration_short(buf, sizeof(buf), 7500 * USEC_PER_SEC), "2h05m");
    assert_string_equal(format_duration_short(buf, sizeof(buf), 273600 * USEC_PER_SEC), "3d04h");
    assert_string_equal(format_duration_short(buf, sizeof(buf), USEC_INFINITY), "213503982d08h");
}

static void expect_command(const char *argv_json, size_t max, const char *expected)
{
    json_t *argv = parse_json(argv_json);
    char buf[1024];

    assert_string_equal(format_job_command(buf, sizeof(buf), argv, max), expected);
    json_decref(argv);
}

static void test_command_line(void **state)
{
    expect_command("[\"make\", \"-j8\", \"CFLAGS=-O2\", \"a/b.c\"]", 60, "make -j8 CFLAGS=-O2 a/b.c");
    /* What a shell would split or expand is quoted, a quote inside as '\''. */
    expect_command("[\"sh\", \"-c\", \"echo 'hi'; ls *\", \"\"]", 60,
                   "sh -c 'echo '\\''hi'\\''; ls *' ''");
    expect_command("[\"echo\", \"$HOME\", \"a b\"]", 60, "echo '$HOME' 'a b'");
    /* UTF-8 passes; control characters, DEL and C1 controls become '?'. */
    expect_command("[\"echo\", \"héllo→\"]", 60, "echo héllo→");
    expect_command("[\"x\", \"\\u001b[2J\\u0007\", \"a\\u007fb\", \"\\u009b31m\"]", 60,
                   "x '?[2J?' 'a?b' ?31m");
    expect_command("[\"new\\nline\"]", 60, "'new?line'");
    /* Cut to max characters, the last one "…". */
    expect_command("[\"abcdefghij\", \"klmnop\"]", 10, "abcdefghi…");
    expect_command("[\"abcdefghij\"]", 10, "abcdefghij");
    expect_command("[\"ééééééééééé\"]", 10, "ééééééééé…");
    /* Nothing usable. */
    expect_command("[]", 60, "-");
    expect_command("null", 60, "-");
    expect_command("[1, \"b\"]", 60, "'?' b");
}

static void test_jobs_table(void **state)
{
    json_t *answer = fixture_json("jobs.json");
    const json_t *jobs = json_object_get(answer, "jobs");
    char *out;

    /* Without --all: the unfinished ones. */
    out = jobs_text(jobs, false);
    assert_string_equal(
            out,
            "ID  STATE      PRI  USER   TASK                  AGE/RUNTIME  EXIT/REASON                COMMAND\n"
            "12  running    P1   alice  encode                3m12s        pid 4242                   ffmpeg -i 'in put.mp4' -c:v libx265 out.mkv\n"
            "13  queued     P0   bob    train                 1m30s        #1, waits for memory, gpu  python3 train.py --epochs 40\n"
            "14  suspended  P2   1002   a-very-long-task-na…  2h00m        pid 777                    sh -c 'echo '\\''hi'\\''; sleep 1000'\n");
    free(out);

    /* With --all: every job the daemon listed, finished ones with their outcome. */
    out = jobs_text(jobs, true);
    assert_string_equal(
            out,
            "ID  STATE      PRI  USER   TASK                  AGE/RUNTIME  EXIT/REASON                               COMMAND\n"
            "9   done       P1   root   backup                3m07s        exit 0                                    tar czf /tmp/b.tgz /srv\n"
            "10  failed     P2   alice  build                 42s          exit 2                                    make -j8\n"
            "11  cancelled  P1   alice  render                -            before it started                         blender -b scene.blend\n"
            "12  running    P1   alice  encode                3m12s        pid 4242                                  ffmpeg -i 'in put.mp4' -c:v libx265 out.mkv\n"
            "13  queued     P0   bob    train                 1m30s        #1, waits for memory, gpu                 python3 train.py --epochs 40\n"
            "14  suspended  P2   1002   a-very-long-task-na…  2h00m        pid 777                                   sh -c 'echo '\\''hi'\\''; sleep 1000'\n"
            "15  lost       P1   alice  x                     30m00s       the daemon restarted and its wrapper wa…  x\n");
    free(out);
    json_decref(answer);
}

static void test_jobs_table_edges(void **state)
{
    json_t *j;
    char *out;

    j = parse_json("[]");
    out = jobs_text(j, false);
    assert_string_equal(out, "No jobs.\n");
    free(out);
    out = jobs_text(j, true);
    assert_string_equal(out, "No jobs.\n");
    free(out);
    json_decref(j);

    j = parse_json("[{\"id\":1,\"state\":\"done\"},{\"id\":2,\"state\":\"failed\"},\"junk\"]");
    out = jobs_text(j, false);
    assert_string_equal(out, "No unfinished jobs (2 finished; --all shows them).\n");
    free(out);
    json_decref(j);

    /* Nothing but garbage in every member: placeholders, no crash. A job in a state this client
     * does not know is not taken for a finished one. */
    j = parse_json("[{\"id\":\"x\",\"state\":7,\"argv\":\"ls\",\"submitted_at\":5,\"exit_code\":\"0\"},"
              "{\"id\":3,\"state\":\"migrating\",\"priority\":\"P1\",\"user\":\"u\",\"task\":\"t\","
              "\"started_at\":\"2026-11-23T16:59:00Z\",\"argv\":[\"a\"]}]");
    out = jobs_text(j, false);
    assert_string_equal(out,
                        "ID  STATE      PRI  USER  TASK  AGE/RUNTIME  EXIT/REASON  COMMAND\n"
                        "?   ?          -    -     -     -            -            -\n"
                        "3   migrating  P1   u     t     1m00s        -            a\n");
    free(out);
    json_decref(j);

    /* Hostile strings from the daemon never reach the terminal raw; a clock a little behind the
     * daemon's gives 0s, not a wrapped figure; a queued job with a reason and no position. */
    j = parse_json("[{\"id\":4,\"state\":\"queued\",\"priority\":\"P1\",\"user\":\"ev\\u001b]0;il\\u0007\","
              "\"task\":\"t\\r\\n\",\"submitted_at\":\"2026-11-23T17:00:09Z\",\"waiting\":[],"
              "\"reason\":\"over\\u009bquota\",\"argv\":[\"a\"]},"
              "{\"id\":5,\"state\":\"queued\",\"priority\":\"P1\",\"user\":\"u\",\"task\":\"t\","
              "\"submitted_at\":\"2026-11-23T16:00:00Z\",\"waiting\":[\"vram\"],\"argv\":[\"b\"]}]");
    out = jobs_text(j, false);
    assert_string_equal(out,
                        "ID  STATE   PRI  USER       TASK  AGE/RUNTIME  EXIT/REASON     COMMAND\n"
                        "4   queued  P1   ev?]0;il?  t??   0s           over?quota      a\n"
                        "5   queued  P1   u          t     1h00m        waits for vram  b\n");
    free(out);
    json_decref(j);
}

static void test_events(void **state)
{
    static const char *const expected[] = {
        "2026-11-23 17:00:00Z  task:stalled          job 12 'encode'  last activity 2026-11-23 16:55:00Z\n",
        "2026-11-23 17:00:05Z  task:high-memory      t-000000000000000c 'encode'  rss 3.2 GiB, limit 4.0 GiB\n",
        "2026-11-23 17:01:00Z  task:progress         t-00000000000000aa 'train'  47.5%, phase epoch-2, eta 2m05s\n",
        "2026-11-23 17:02:00Z  task:finished         t-00000000000000aa 'train'  exit 0, after 1m24s, cpu time 5m11s, peak 1.3 GiB\n",
        "2026-11-23 17:03:00Z  job:queued            job 13 'train'  P0\n",
        "2026-11-23 17:04:00Z  job:lost              job 15  its wrapper died\n",
        "2026-11-23 17:05:00Z  task:checkpoint       t-00000000000000aa 'tr?[31main'  signal USR1, after 1h00m\n",
        "bogus  task:future-kind      -\n",
    };
    json_t *answer = fixture_json("events.json");
    const json_t *events = json_object_get(answer, "events");

    assert_int_equal(json_array_size(events), ELEMENTSOF(expected));
    for (size_t i = 0; i < ELEMENTSOF(expected); i++) {
        char *out = event_text(json_array_get(events, i));
        if (strcmp(out, expected[i]) != 0)
            fail_msg("event %zu:\n got  '%s'\n want '%s'", i, out, expected[i]);
        free(out);
    }
    json_decref(answer);
}

static void test_event_edges(void **state)
{
    json_t *e;
    char *out;

    /* Not even an object. */
    e = parse_json("42");
    out = event_text(e);
    assert_string_equal(out, "-  ?                     -\n");
    free(out);
    json_decref(e);

    /* A numeric signal, an idle time in seconds, a CPU figure, a long reason cut. */
    e = parse_json("{\"time\":\"2026-11-23T17:00:00Z\",\"type\":\"task:high-cpu\",\"task_id\":null,"
              "\"job_id\":7,\"cpu_pct\":97.25,\"last_activity\":30,\"signal\":9,\"reason\":"
              "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}");
    out = event_text(e);
    assert_string_equal(out,
                        "2026-11-23 17:00:00Z  task:high-cpu         job 7  cpu 97.2%, idle 30.0s, "
                        "signal 9, " "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa…\n");
    free(out);
    json_decref(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timestamps),   cmocka_unit_test(test_durations),
        cmocka_unit_test(test_command_line), cmocka_unit_test(test_jobs_table),
        cmocka_unit_test(test_jobs_table_edges), cmocka_unit_test(test_events),
        cmocka_unit_test(test_event_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
