/* SPDX-License-Identifier: MIT */
/* The task table and the detail view of one task, from JSON fixtures (fixtures/tasks.json, the
 * shape of GET /v1/tasks; fixtures/task.json, a real GET /v1/tasks/ID answer moved in time)
 * compared whole; missing and mistyped members, hostile strings, and the history's summary and
 * graph. */

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

/* 2026-11-23T17:00:00Z, the "now" of every view. */
#define NOW_USEC (UINT64_C(1795453200) * USEC_PER_SEC)

/* What format (format_tasks() or format_task()) writes of j at NOW_USEC. Owned by the caller. */
static char *render(void (*format)(FILE *f, const json_t *j, usec_t now_usec), const json_t *j)
{
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);

    assert_non_null(f);
    format(f, j, NOW_USEC);
    assert_int_equal(fclose(f), 0);
    return out;
}

/* As render(), of JSON text. */
static char *render_text(void (*format)(FILE *f, const json_t *j, usec_t now_usec),
                         const char *json)
{
    json_t *j = parse_json(json);
    char *out = render(format, j);

    json_decref(j);
    return out;
}

static char *table_of(const json_t *tasks)
{
    return render(format_tasks, tasks);
}

static char *table_text(const char *json)
{
    return render_text(format_tasks, json);
}

static char *detail_of(const json_t *task)
{
    return render(format_task, task);
}

static char *detail_text(const char *json)
{
    return render_text(format_task, json);
}

/* Fails when s holds a byte a terminal would obey: C0 controls other than '\n', DEL, or the C1
 * controls U+0080..U+009F in UTF-8. */
static void assert_terminal_safe(const char *s)
{
    for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
        if ((*p < 0x20 && *p != '\n') || *p == 0x7f)
            fail_msg("control byte 0x%02x at offset %td in:\n%s", *p, (const char *) p - s, s);
        if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0)
            fail_msg("C1 control at offset %td in:\n%s", (const char *) p - s, s);
    }
}

/* The line of out that starts with prefix (copied, without its '\n'), or fails. */
static char *line_of(const char *out, const char *prefix)
{
    for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, prefix, strlen(prefix)) == 0) {
            const char *e = strchr(p, '\n');
            return strndup(p, e ? (size_t) (e - p) : strlen(p));
        }
    fail_msg("no line starting with '%s' in:\n%s", prefix, out);
    return NULL;
}

static void test_table(void **state)
{
    json_t *j = fixture_json("tasks.json");
    char *out = table_of(json_object_get(j, "tasks"));

    /* Figures right-aligned; GPU% because one task reports GPU use; 99.96% is not 100%. */
    assert_string_equal(
            out,
            "ID                  JOB  TASK      PID  STATE       CPU%  MEM%  GPU%  PROGRESS    RUNTIME\n"
            "t-0000c38dfac00001  12   encode  31337  running     49.9  12.5     -  40% encode  3m06s\n"
            "t-0000c38dfac00002  -    backup   4242  stalled      0.0   0.5     -  -           2h00m\n"
            "t-0000c38dfac00003  14   train     777  suspended*   0.0  30.3   0.0  99.9%       2d05h\n"
            "t-0000c38dfac00004  15   render    900  suspended      -     -     -  load        45s\n"
            "* suspended by protective mode; the daemon resumes it when there is room again\n");
    free(out);
    json_decref(j);
}

static void test_table_without_gpu(void **state)
{
    char *out = table_text(
            "[{\"id\":\"t-00000000000000aa\",\"task\":\"make\",\"pid\":1,\"use\":{\"cpu\":12.5,"
            "\"memory\":1.25},\"progress_pct\":12.5,\"phase\":null,\"stalled\":false,\"job_id\":null,"
            "\"started_at\":\"2026-11-23T16:59:15Z\",\"suspended\":false}]");

    assert_string_equal(out,
                        "ID                  JOB  TASK  PID  STATE    CPU%  MEM%  PROGRESS  RUNTIME\n"
                        "t-00000000000000aa  -    make    1  running  12.5   1.2  12.5%     45s\n");
    free(out);
}

static void test_table_empty(void **state)
{
    static const char *const cases[] = {
        "[]", "{}", "null", "[1, \"x\", null, []]",
    };

    for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
        char *out = table_text(cases[i]);
        assert_string_equal(out, "No running tasks.\n");
        free(out);
    }
}

static void test_table_missing_fields(void **state)
{
    /* Nothing known: every cell says so, and the state is taken as running. Mistyped members
     * (a string pid, a real job id, a use that is not an object) count as missing. */
    char *out = table_text("[{}, {\"id\":7,\"pid\":\"12\",\"job_id\":1.5,\"use\":[1],"
                           "\"started_at\":\"yesterday\",\"progress_pct\":\"half\"}]");

    assert_string_equal(out, "ID  JOB  TASK  PID  STATE    CPU%  MEM%  PROGRESS  RUNTIME\n"
                             "?   -    -       -  running     -     -  -         -\n"
                             "?   -    -       -  running     -     -  -         -\n");
    free(out);
}

static void test_table_hostile(void **state)
{
    json_t *j = json_pack("[{s:s, s:s, s:s, s:i, s:f}]", "id", "t-\x1b]0;pwned\x07", "task",
                          "\x1b[2J\xc2\x9b" "31mevil-name-that-goes-on-and-on", "phase",
                          "line\nbreak\x7f", "pid", 5, "progress_pct", 50.0);
    char *out, *row;

    assert_non_null(j);
    out = table_of(j);
    assert_terminal_safe(out);
    row = line_of(out, "t-?]0;pwned?");
    /* Cut to 20 characters, the last giving way to "…"; each control character one '?'. */
    assert_non_null(strstr(row, "?[2J?31mevil-name-t… "));
    assert_non_null(strstr(row, "50% line?break?"));
    free(row);
    free(out);
    json_decref(j);

    /* Malformed UTF-8 from the daemon: each bad byte a '?'. */
    j = json_pack("[{s:s, s:s}]", "id", "x", "task", "ok");
    assert_non_null(j);
    /* jansson refuses invalid UTF-8 in json_pack; json_stringn_nocheck() takes it as it is. */
    json_object_set_new(json_array_get(j, 0), "task", json_stringn_nocheck("\xff\xfe" "x", 3));
    out = table_of(j);
    assert_non_null(strstr(out, "\nx   -    ??x"));
    free(out);
    json_decref(j);
}

static void test_table_state(void **state)
{
    /* Suspended wins over stalled; protective mode's own mark. */
    char *out = table_text("[{\"id\":\"a\",\"stalled\":true,\"suspended\":true},"
                           "{\"id\":\"b\",\"stalled\":true,\"suspended\":false},"
                           "{\"id\":\"c\",\"suspended\":true,\"suspended_by_protection\":true},"
                           "{\"id\":\"d\",\"stalled\":\"yes\"}]");
    char *a = line_of(out, "a "), *b = line_of(out, "b ");
    char *c = line_of(out, "c "), *d = line_of(out, "d ");

    assert_non_null(strstr(a, " suspended "));
    assert_non_null(strstr(b, " stalled "));
    assert_non_null(strstr(c, " suspended* "));
    assert_non_null(strstr(d, " running "));
    assert_non_null(strstr(out, "\n* suspended by protective mode"));
    free(a);
    free(b);
    free(c);
    free(d);
    free(out);
}

static void test_detail(void **state)
{
    json_t *j = fixture_json("task.json");
    char *out = detail_of(j);

    assert_string_equal(out,
                        "Task t-0000c38dfac00001 (job 12)\n"
                        "  Type:           encode\n"
                        "  State:          running\n"
                        "  PID:            31337\n"
                        "  Priority:       P1\n"
                        "  Owner uid:      1000\n"
                        "  Complexity:     2.5\n"
                        "  Started:        2026-11-23 16:59:47Z (13s ago)\n"
                        "  Expected end:   2026-11-23 17:02:00Z (in 2m00s)\n"
                        "  Progress:       12.3%, phase pass 1\n"
                        "  Last activity:  2026-11-23 16:59:58Z (2s ago)\n"
                        "  Lease:          l-0000c38dfac00005\n"
                        "  GPUs:           0 (GPU-5d3c0b7e-1f2a-4c1e-9d55-0e4e1c2b3a44), 2\n"
                        "  Use:            cpu 49.9%, memory 0.0%, gpu 35.0%, vram 12.2%\n"
                        "  Peak:           cpu 50.0%, memory 0.0%, gpu 60.0%, vram 12.5%\n"
                        "\n"
                        "Latest sample, 2026-11-23 16:59:59Z:\n"
                        "  RSS:            604.0 KiB\n"
                        "  CPU:            48.0% of the machine\n"
                        "  Threads:        1\n"
                        "  Open files:     3\n"
                        "  Processes:      2\n"
                        "  IO:             read 1.5 MiB/s, write 0 B/s\n"
                        "\n"
                        "History: 12 samples over 11s (graphs from min to max, oldest first)\n"
                        "  RSS:            min 256.0 KiB, avg 589.1 KiB, max 728.0 KiB\n"
                        "                  ▁▇▅▄▆ █▇█▆█▆\n"
                        "  CPU:            min 36.2%, avg 47.3%, max 50.0%\n"
                        "                  ▁█▇██ ██▆▅▇▇\n");
    free(out);
    json_decref(j);
}

static void test_detail_missing_fields(void **state)
{
    char *out = detail_text("{\"metrics\":null,\"history\":[],\"use\":{},\"peak\":null}");

    assert_string_equal(out, "Task ?\n"
                             "  Type:           -\n"
                             "  State:          running\n"
                             "  PID:            -\n"
                             "  Priority:       -\n"
                             "  Owner uid:      -\n"
                             "  Complexity:     -\n"
                             "  Started:        -\n"
                             "  Expected end:   -\n"
                             "  Progress:       -\n"
                             "  Last activity:  -\n"
                             "  Lease:          none\n"
                             "  GPUs:           none\n"
                             "  Use:            none reported yet\n"
                             "  Peak:           none reported yet\n"
                             "\n"
                             "Latest sample: none yet\n"
                             "\n"
                             "History: none yet\n");
    free(out);

    /* A sample whose figures are null (not measured) and a history without its columns named:
     * "-" for each, and no summary rather than a guess at positions. */
    out = detail_text("{\"id\":\"t-00000000000000aa\",\"phase\":\"load\",\"suspended\":true,"
                      "\"suspended_by_protection\":true,\"metrics\":{\"at\":\"2026-11-23T16:59:59Z\","
                      "\"rss_bytes\":null,\"cpu_pct\":null},\"history\":[[1,2,3],[2,3,4]]}");
    assert_non_null(strstr(out, "  State:          suspended by protective mode\n"));
    assert_non_null(strstr(out, "  Progress:       phase load\n"));
    assert_non_null(strstr(out, "Latest sample, 2026-11-23 16:59:59Z:\n"
                                "  RSS:            -\n"
                                "  CPU:            -\n"
                                "  Threads:        -\n"
                                "  Open files:     -\n"
                                "  Processes:      -\n"
                                "  IO:             read -, write -\n"));
    assert_non_null(strstr(out, "History: 2 samples (graphs from min to max, oldest first)\n"
                                "  RSS:            -\n"
                                "  CPU:            -\n"));
    free(out);
}

static void test_detail_hostile(void **state)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:[i], s:[s], s:{s:f}, s:s}", "id",
                          "t-\x1b[1A", "task", "\x1b]52;c;aGk=\x07", "lease", "l-\r\n", "phase",
                          "\xc2\x9b" "2J", "gpus", 0, "gpu_uuids", "GPU-\x1b[5m", "use", "\x1b[31m",
                          1.0, "priority", "P\x08");
    char *out;

    assert_non_null(j);
    out = detail_of(j);
    assert_terminal_safe(out);
    assert_non_null(strstr(out, "Task t-?[1A\n"));
    assert_non_null(strstr(out, "  Type:           ?]52;c;aGk=?\n"));
    assert_non_null(strstr(out, "  Lease:          l-??\n"));
    assert_non_null(strstr(out, "  Progress:       phase ?2J\n"));
    assert_non_null(strstr(out, "  GPUs:           0 (GPU-?[5m)\n"));
    /* A resource this client does not know is shown by its name, sanitized too. */
    assert_non_null(strstr(out, "  Use:            ?[31m 1.0%\n"));
    assert_non_null(strstr(out, "  Priority:       P?\n"));
    free(out);
    json_decref(j);
}

/* A task whose history is the rows built by row(i) for i < n, rss in column 2 and cpu in column
 * 0 (named so in history_columns: the view must find them by name). */
static json_t *task_with_history(size_t n, double (*rss)(size_t), double (*cpu)(size_t))
{
    json_t *t = json_pack("{s:s, s:[s, s, s], s:[]}", "id", "t-00000000000000aa", "history_columns",
                          "cpu_pct", "time_ms", "rss_bytes", "history");
    json_t *rows = json_object_get(t, "history");

    assert_non_null(t);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(json_array_append_new(rows, json_pack("[f, I, f]", cpu(i),
                                                               (json_int_t) (1795453000000 + i * 1000),
                                                               rss(i))),
                         0);
    return t;
}

static double ramp_rss(size_t i)
{
    return (double) (i * 1024 * 1024);
}

static double flat_cpu(size_t i)
{
    return 25.0;
}

static double ramp_cpu(size_t i)
{
    return (double) i;
}

static void test_history(void **state)
{
    json_t *t = task_with_history(8, ramp_rss, flat_cpu);
    char *out = detail_of(t), *line;

    /* A ramp from its minimum to its maximum; a flat series in the middle. */
    assert_non_null(strstr(out, "History: 8 samples over 7s (graphs from min to max, oldest first)\n"
                                "  RSS:            min 0 B, avg 3.5 MiB, max 7.0 MiB\n"
                                "                  ▁▂▃▄▅▆▇█\n"
                                "  CPU:            min 25.0%, avg 25.0%, max 25.0%\n"
                                "                  ▄▄▄▄▄▄▄▄\n"));
    free(out);
    json_decref(t);

    /* Five minutes (300 rows) fit in 60 characters, each the mean of five rows. */
    t = task_with_history(300, ramp_rss, ramp_cpu);
    out = detail_of(t);
    assert_non_null(strstr(out, "History: 300 samples over 4m59s"));
    assert_non_null(strstr(out, "  CPU:            min 0.0%, avg 149.5%, max 299.0%\n"));
    line = line_of(strstr(out, "  CPU:"), "                  ");
    assert_int_equal(strlen(line), 18 + 60 * strlen("▁"));
    assert_memory_equal(line + 18, "▁", strlen("▁"));
    assert_string_equal(line + strlen(line) - strlen("█"), "█");
    free(line);
    free(out);
    json_decref(t);

    t = task_with_history(1, ramp_rss, flat_cpu);
    out = detail_of(t);
    assert_non_null(strstr(out, "History: 1 sample (graphs"));
    free(out);
    json_decref(t);
}

static void test_progress(void **state)
{
    static const struct {
        const char *json, *cell;
    } cases[] = {
        { "40", "40%" },     { "40.0", "40%" }, { "12.34", "12.3%" }, { "99.96", "99.9%" },
        { "100", "100%" },   { "0", "0%" },     { "0.05", "0%" },     { "7.5", "7.5%" },
        { "null", "-" },     { "\"x\"", "-" },
    };

    for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
        char json[128], expected[64], *out, *row;
        (void) snprintf(json, sizeof(json), "[{\"id\":\"a\",\"progress_pct\":%s}]", cases[i].json);
        out = table_text(json);
        row = line_of(out, "a ");
        (void) snprintf(expected, sizeof(expected), "  %s ", cases[i].cell);
        if (!strstr(row, expected))
            fail_msg("progress %s: '%s' has no '%s'", cases[i].json, row, expected);
        free(row);
        free(out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_table_without_gpu),
        cmocka_unit_test(test_table_empty),
        cmocka_unit_test(test_table_missing_fields),
        cmocka_unit_test(test_table_hostile),
        cmocka_unit_test(test_table_state),
        cmocka_unit_test(test_detail),
        cmocka_unit_test(test_detail_missing_fields),
        cmocka_unit_test(test_detail_hostile),
        cmocka_unit_test(test_history),
        cmocka_unit_test(test_progress),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
