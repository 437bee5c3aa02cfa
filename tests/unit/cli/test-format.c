/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"
#include "cli/format.h"
#include "cli-fixtures.h"

/* cmocka.h needs stdarg.h, stddef.h and setjmp.h before it. */
#include <cmocka.h>

enum kind { ASK, STATUS, STATS };

/* Formats the JSON text and compares the whole output. */
static void expect(enum kind kind, const char *task, const char *json, const char *expected)
{
    json_t *j = parse_json(json);
    char *out = NULL;
    size_t n = 0;
    FILE *f;

    f = open_memstream(&out, &n);
    assert_non_null(f);
    if (kind == ASK)
        format_ask(f, task, j);
    else if (kind == STATUS)
        format_status(f, j);
    else
        format_stats(f, j);
    assert_int_equal(fclose(f), 0);
    assert_string_equal(out, expected);
    free(out);
    json_decref(j);
}

static const char denied[] =
        "{\"allowed\":false,\"task\":\"encode\",\"reasons\":[\"memory_overload\",\"storage_low\"],"
        "\"binding\":\"memory\",\"checks\":["
        "{\"resource\":\"cpu\",\"unit\":\"percent\",\"current\":12.5,\"need\":0,\"projected\":12.5,"
        "\"threshold\":80,\"headroom\":67.5,\"ok\":true},"
        "{\"resource\":\"memory\",\"unit\":\"percent\",\"current\":83.0,\"need\":33.3,"
        "\"projected\":116.3,\"threshold\":85,\"headroom\":-31.3,\"ok\":false,"
        "\"need_bytes\":8589934592,\"total_bytes\":25769803776},"
        "{\"resource\":\"memory_pressure\",\"unit\":\"percent\",\"current\":0.0,\"need\":0.0,"
        "\"projected\":0.0,\"threshold\":20.0,\"headroom\":20.0,\"ok\":true},"
        "{\"resource\":\"storage\",\"path\":\"/\",\"unit\":\"bytes\",\"current\":5368709120,"
        "\"need\":0,\"projected\":5368709120,\"threshold\":10737418240,\"headroom\":-5368709120,"
        "\"ok\":false}],"
        "\"gpu\":null,\"sampled_at\":\"2026-11-23T12:00:00.000000Z\"}";

static void test_ask_denied(void **state)
{
    expect(ASK, "encode", denied,
           "✗ Task 'encode' is DENIED\n"
           "Reasons:\n"
           "  - memory_overload: 83.0% used + 33.3% (8.0 GiB) = 116.3% > 85%\n"
           "  - storage_low: / 5.0 GiB free - 0 B = 5.0 GiB < 10.0 GiB\n");
}

static const char allowed[] =
        "{\"allowed\":true,\"task\":\"encode\",\"reasons\":[],\"binding\":\"memory\",\"checks\":["
        "{\"resource\":\"cpu\",\"unit\":\"percent\",\"current\":12.5,\"need\":0,\"projected\":12.5,"
        "\"threshold\":80,\"headroom\":67.5,\"ok\":true},"
        "{\"resource\":\"memory\",\"unit\":\"percent\",\"current\":62.1,\"need\":8.2,"
        "\"projected\":70.3,\"threshold\":85,\"headroom\":14.7,\"ok\":true},"
        "{\"resource\":\"storage\",\"path\":\"/\",\"unit\":\"bytes\",\"current\":53687091200,"
        "\"need\":1073741824,\"projected\":52613349376,\"threshold\":10737418240,"
        "\"headroom\":41875931136,\"ok\":true}],\"gpu\":null}";

static void test_ask_allowed(void **state)
{
    expect(ASK, "encode", allowed,
           "✓ Task 'encode' is ALLOWED\n"
           "  tightest: memory 62.1% now, 70.3% with this task, limit 85% (14.7 left)\n");
}

static void test_ask_binding(void **state)
{
    /* Several GPUs share the name "gpu": the tightest of them is shown. */
    expect(ASK, "t",
           "{\"allowed\":true,\"binding\":\"gpu\",\"checks\":["
           "{\"resource\":\"gpu\",\"index\":0,\"unit\":\"percent\",\"current\":30,\"need\":10,"
           "\"projected\":40,\"threshold\":90,\"headroom\":50,\"ok\":true},"
           "{\"resource\":\"gpu\",\"index\":1,\"unit\":\"percent\",\"current\":70,\"need\":10,"
           "\"projected\":80,\"threshold\":90,\"headroom\":10,\"ok\":true}]}",
           "✓ Task 't' is ALLOWED\n"
           "  tightest: gpu 1 70.0% now, 80.0% with this task, limit 90% (10.0 left)\n");

    /* "gpu" names the GPU the task would go to: its check is the binding one, even if another
     * GPU is busier. */
    expect(ASK, "t",
           "{\"allowed\":true,\"binding\":\"vram\",\"gpu\":0,\"checks\":["
           "{\"resource\":\"vram\",\"index\":1,\"unit\":\"percent\",\"current\":80,\"need\":0,"
           "\"projected\":80,\"threshold\":85,\"headroom\":5,\"ok\":true},"
           "{\"resource\":\"vram\",\"index\":0,\"unit\":\"percent\",\"current\":20,\"need\":40,"
           "\"projected\":60,\"threshold\":85,\"headroom\":25,\"ok\":true}]}",
           "✓ Task 't' is ALLOWED\n"
           "  tightest: vram 0 20.0% now, 60.0% with this task, limit 85% (25.0 left)\n");

    /* No "binding": the check with the least headroom relative to its limit (storage: relative
     * to the space free now). */
    expect(ASK, "t",
           "{\"allowed\":true,\"checks\":["
           "{\"resource\":\"cpu\",\"unit\":\"percent\",\"current\":12.5,\"need\":0,"
           "\"projected\":12.5,\"threshold\":80,\"headroom\":67.5,\"ok\":true},"
           "{\"resource\":\"storage\",\"path\":\"/"
           "data\",\"unit\":\"bytes\",\"current\":53687091200,"
           "\"need\":1073741824,\"projected\":52613349376,\"threshold\":10737418240,"
           "\"headroom\":41875931136,\"ok\":true},"
           "{\"resource\":\"memory\",\"unit\":\"percent\",\"current\":62.1,\"need\":8.2,"
           "\"projected\":70.3,\"threshold\":85,\"headroom\":14.7,\"ok\":true}]}",
           "✓ Task 't' is ALLOWED\n"
           "  tightest: memory 62.1% now, 70.3% with this task, limit 85% (14.7 left)\n");
    expect(ASK, "t",
           "{\"allowed\":true,\"binding\":null,\"checks\":["
           "{\"resource\":\"cpu\",\"unit\":\"percent\",\"current\":50,\"need\":0,"
           "\"projected\":50,\"threshold\":100,\"headroom\":50,\"ok\":true},"
           "{\"resource\":\"storage\",\"path\":\"/\",\"unit\":\"bytes\",\"current\":15000,"
           "\"need\":0,\"projected\":15000,\"threshold\":10000,\"headroom\":5000,\"ok\":true}]}",
           "✓ Task 't' is ALLOWED\n"
           "  tightest: storage / 14.6 KiB free now, 14.6 KiB with this task, minimum 9.8 KiB "
           "(4.9 KiB left)\n");

    /* A storage binding is in bytes; an index binding picks that check. */
    expect(ASK, "t",
           "{\"allowed\":true,\"binding\":\"storage\",\"checks\":["
           "{\"resource\":\"storage\",\"path\":\"/"
           "data\",\"unit\":\"bytes\",\"current\":53687091200,"
           "\"need\":1073741824,\"projected\":52613349376,\"threshold\":10737418240,"
           "\"headroom\":41875931136,\"ok\":true}]}",
           "✓ Task 't' is ALLOWED\n"
           "  tightest: storage /data 50.0 GiB free now, 49.0 GiB with this task, minimum 10.0 GiB "
           "(39.0 GiB left)\n");
    expect(ASK, "t", allowed,
           "✓ Task 't' is ALLOWED\n"
           "  tightest: memory 62.1% now, 70.3% with this task, limit 85% (14.7 left)\n");
}

static void test_ask_gpu_denied(void **state)
{
    expect(ASK, "train",
           "{\"allowed\":false,\"reasons\":[\"gpu_overload\",\"vram_overload\",\"memory_pressure\"]"
           ","
           "\"checks\":["
           "{\"resource\":\"gpu\",\"index\":0,\"unit\":\"percent\",\"current\":95,\"need\":10,"
           "\"projected\":105,\"threshold\":90,\"headroom\":-15,\"ok\":false},"
           "{\"resource\":\"vram\",\"index\":1,\"unit\":\"percent\",\"current\":91,\"need\":12.5,"
           "\"projected\":103.5,\"threshold\":85,\"headroom\":-18.5,\"ok\":false,"
           "\"need_bytes\":2147483648},"
           "{\"resource\":\"memory_pressure\",\"unit\":\"percent\",\"current\":25,\"need\":0,"
           "\"projected\":25,\"threshold\":20,\"headroom\":-5,\"ok\":false}]}",
           "✗ Task 'train' is DENIED\n"
           "Reasons:\n"
           "  - gpu_overload: gpu 0 95.0% used + 10.0% = 105.0% > 90%\n"
           "  - vram_overload: gpu 1 91.0% used + 12.5% (2.0 GiB) = 103.5% > 85%\n"
           "  - memory_pressure: 25.0% stalled + 0.0% = 25.0% > 20%\n");
}

static void test_ask_capfox(void **state)
{
    /* capfox's /ask: no checks, only reason names. */
    expect(ASK, "x", "{\"allowed\":false,\"reasons\":[\"cpu_overload\",\"memory_overload\"]}\n",
           "✗ Task 'x' is DENIED\nReasons:\n  - cpu_overload\n  - memory_overload\n");
    expect(ASK, "x", "{\"allowed\":false}\n", "✗ Task 'x' is DENIED\n");
    expect(ASK, "x", "{\"allowed\":true}\n", "✓ Task 'x' is ALLOWED\n");
    /* A reason that no failed check explains is still listed. */
    expect(ASK, "x",
           "{\"allowed\":false,\"reasons\":[\"not_ready\",\"cpu_overload\"],\"checks\":["
           "{\"resource\":\"cpu\",\"unit\":\"percent\",\"current\":90,\"need\":5,\"projected\":95,"
           "\"threshold\":80,\"headroom\":-15,\"ok\":false}]}",
           "✗ Task 'x' is DENIED\nReasons:\n"
           "  - cpu_overload: 90.0% used + 5.0% = 95.0% > 80%\n"
           "  - not_ready\n");
}

static void test_ask_lenient(void **state)
{
    /* Missing numbers print n/a; strings from the server cannot carry escape sequences. */
    expect(ASK, "x",
           "{\"allowed\":false,\"checks\":[{\"resource\":\"cpu\",\"ok\":false},"
           "{\"resource\":\"\\u001b[2J\",\"ok\":false,\"unit\":\"percent\",\"current\":\"high\"},"
           "{\"ok\":false,\"unit\":\"bytes\",\"path\":\"/a\\u0007b\"}, 42, null],"
           "\"reasons\":[1, \"cpu_overload\", \"\\u001b[2J\", \"unknown\", "
           "\"\\u001b]0;pwned\\u0007\"]}",
           "✗ Task 'x' is DENIED\nReasons:\n"
           "  - cpu_overload: n/a used + n/a = n/a > n/a\n"
           "  - ?[2J: n/a used + n/a = n/a > n/a\n"
           "  - unknown: /a?b n/a free - n/a = n/a < n/a\n"
           "  - ?]0;pwned?\n");
    /* A failed check that is not among the reasons decided nothing (GPU 0 is busy, GPU 1 fits):
     * it is not printed as a reason. */
    expect(ASK, "x",
           "{\"allowed\":false,\"reasons\":[\"cpu_overload\"],\"checks\":["
           "{\"resource\":\"cpu\",\"unit\":\"percent\",\"current\":95,\"need\":0,\"projected\":95,"
           "\"threshold\":80,\"headroom\":-15,\"ok\":false},"
           "{\"resource\":\"gpu\",\"index\":0,\"unit\":\"percent\",\"current\":99,\"need\":0,"
           "\"projected\":99,\"threshold\":90,\"headroom\":-9,\"ok\":false}]}",
           "✗ Task 'x' is DENIED\nReasons:\n"
           "  - cpu_overload: 95.0% used + 0.0% = 95.0% > 80%\n");
    expect(ASK, "x", "[]", "✓ Task 'x' is ALLOWED\n");
    expect(ASK, "x", "{\"allowed\":true,\"binding\":\"cpu\",\"checks\":{}}",
           "✓ Task 'x' is ALLOWED\n");
    expect(ASK, "x", "{\"allowed\":true,\"binding\":7,\"checks\":[{\"resource\":\"cpu\"}]}",
           "✓ Task 'x' is ALLOWED\n");
}

static const char status_full[] =
        "{\"cpu\":{\"usage_percent\":12.5,\"cores\":[10.0,15.0],\"capacity_cores\":2},"
        "\"memory\":{\"used_bytes\":8053063680,\"total_bytes\":16750372454,\"usage_percent\":48.1,"
        "\"available_bytes\":8697308774},"
        "\"swap\":{\"total_bytes\":2147483648,\"free_bytes\":2147483648,\"used_bytes\":0},"
        "\"load\":{\"load1\":0.52,\"load5\":0.4,\"load15\":0.33},"
        "\"pressure\":{\"cpu\":{\"some\":{\"avg10\":1.2,\"avg60\":0.5,\"avg300\":0.1,\"total_"
        "usec\":9},"
        "\"full\":null},\"memory\":{\"some\":{\"avg10\":0,\"avg60\":0,\"avg300\":0,\"total_usec\":"
        "0},"
        "\"full\":{\"avg10\":0,\"avg60\":0,\"avg300\":0,\"total_usec\":0}},\"io\":null},"
        "\"gpus\":[{\"index\":0,\"name\":\"NVIDIA A100\",\"uuid\":\"GPU-1\",\"vendor\":\"nvidia\","
        "\"usage_percent\":45.0,\"temperature\":55,\"vram_used_bytes\":10737418240,"
        "\"vram_total_bytes\":42949672960,\"processes\":[]},"
        "{\"index\":1,\"name\":\"Radeon\\u001b[31m\",\"usage_percent\":null,\"temperature\":null,"
        "\"vram_used_bytes\":0,\"vram_total_bytes\":0}],"
        "\"storage\":{\"/\":{\"used_bytes\":62170483508,\"total_bytes\":105226698752,"
        "\"usage_percent\":59.1,\"free_bytes\":43056215244},\"/data\":{\"error\":\"Permission "
        "denied\"}},"
        "\"disk_io\":{\"read_bytes_per_sec\":1048576,\"write_bytes_per_sec\":0},"
        "\"network\":{\"rx_bytes_per_sec\":1228.8,\"tx_bytes_per_sec\":800},"
        "\"processes\":342,\"threads\":1256,\"context_switches_per_sec\":1520.4,"
        "\"cgroup\":{\"memory_mode\":\"v2\",\"cpu_mode\":\"v2\",\"path\":\"/user.slice\","
        "\"memory_limit_bytes\":4294967296,\"cpu_quota_cores\":null},"
        "\"timestamp\":\"2026-11-23T12:00:00.000000Z\"}";

static void test_status(void **state)
{
    expect(STATUS, NULL, status_full,
           "CPU:        12.5% used, capacity 2 cores\n"
           "            per core: 10% 15%\n"
           "Memory:     7.5 GiB of 15.6 GiB used (48.1%), 8.1 GiB available, cgroup limit 4.0 GiB\n"
           "Swap:       0 B of 2.0 GiB used\n"
           "Load:       0.52 0.40 0.33\n"
           "Pressure:   cpu 1.2%, memory 0.0%, io n/a (some, avg10)\n"
           "Storage:    /: 40.1 GiB free of 98.0 GiB (59.1% used)\n"
           "            /data: error: Permission denied\n"
           "GPU 0:      NVIDIA A100, util 45.0%, VRAM 10.0 GiB of 40.0 GiB, 55°C\n"
           "GPU 1:      Radeon?[31m, util n/a, VRAM 0 B of 0 B, temp n/a\n"
           "Disk I/O:   read 1.0 MiB/s, write 0 B/s\n"
           "Network:    rx 1.2 KiB/s, tx 800 B/s\n"
           "Processes:  342, threads 1256, context switches 1520/s\n");
}

static void test_status_capfox_and_empty(void **state)
{
    static const char empty[] =
            "CPU:        n/a used\n"
            "Memory:     n/a of n/a used (n/a), n/a available\n"
            "Swap:       n/a\n"
            "Load:       n/a n/a n/a\n"
            "Pressure:   cpu n/a, memory n/a, io n/a (some, avg10)\n"
            "Storage:    n/a\n"
            "GPUs:       n/a\n"
            "Disk I/O:   read n/a, write n/a\n"
            "Network:    rx n/a, tx n/a\n"
            "Processes:  n/a, threads n/a, context switches n/a\n";

    expect(STATUS, NULL, "{}", empty);
    expect(STATUS, NULL, "[1,2]", empty);
    expect(STATUS, NULL,
           "{\"cpu\":\"busy\",\"memory\":[],\"swap\":7,\"load\":null,\"pressure\":{\"cpu\":[]},"
           "\"storage\":[],\"gpus\":{},\"disk_io\":\"x\",\"processes\":\"many\",\"cgroup\":{"
           "\"memory_limit_bytes\":null}}",
           empty);

    /* capfox's /status: fewer keys, no swap, no capacity; 24 cores wrap after 16. */
    expect(STATUS, NULL,
           "{\"cpu\":{\"usage_percent\":45.2,\"cores\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,"
           "18,"
           "19,20,21,22,23,24]},\"memory\":{\"used_bytes\":1073741824,\"total_bytes\":4294967296,"
           "\"usage_percent\":25},\"gpus\":[],\"storage\":{},\"processes\":342,\"threads\":1256,"
           "\"context_switches_per_sec\":10,\"timestamp\":\"x\"}",
           "CPU:        45.2% used\n"
           "            per core: 1% 2% 3% 4% 5% 6% 7% 8% 9% 10% 11% 12% 13% 14% 15% 16%\n"
           "                      17% 18% 19% 20% 21% 22% 23% 24%\n"
           "Memory:     1.0 GiB of 4.0 GiB used (25.0%), n/a available\n"
           "Swap:       n/a\n"
           "Load:       n/a n/a n/a\n"
           "Pressure:   cpu n/a, memory n/a, io n/a (some, avg10)\n"
           "Storage:    none\n"
           "GPUs:       none\n"
           "Disk I/O:   read n/a, write n/a\n"
           "Network:    rx n/a, tx n/a\n"
           "Processes:  342, threads 1256, context switches 10/s\n");
}

static void test_stats(void **state)
{
    expect(STATS, NULL,
           "{\"tasks\":{\"encode\":{\"task\":\"encode\",\"count\":12,\"avg_cpu_delta\":3.2,"
           "\"avg_mem_delta\":-0.456},\"train\":{\"task\":\"train\",\"count\":3,\"avg_cpu_delta\":"
           "10,"
           "\"avg_mem_delta\":5,\"avg_gpu_delta\":40.5,\"avg_vram_delta\":12}},\"total_tasks\":15}",
           "=== Task Statistics ===\n"
           "Total observations: 15\n"
           "\n"
           "Task: encode\n"
           "  Observations: 12\n"
           "  Avg CPU delta:  +3.20%\n"
           "  Avg Memory delta: -0.46%\n"
           "\n"
           "Task: train\n"
           "  Observations: 3\n"
           "  Avg CPU delta:  +10.00%\n"
           "  Avg Memory delta: +5.00%\n"
           "  Avg GPU delta:  +40.50%\n"
           "  Avg VRAM delta: +12.00%\n");

    expect(STATS, NULL,
           "{\"task\":\"encode\",\"count\":1,\"avg_cpu_delta\":0,\"avg_mem_delta\":0,"
           "\"avg_gpu_delta\":0}",
           "=== Task Statistics ===\n"
           "\n"
           "Task: encode\n"
           "  Observations: 1\n"
           "  Avg CPU delta:  +0.00%\n"
           "  Avg Memory delta: +0.00%\n");

    expect(STATS, NULL, "{\"tasks\":{},\"total_tasks\":0}",
           "=== Task Statistics ===\nTotal observations: 0\n\nNo observations yet.\n");

    expect(STATS, NULL, "{\"tasks\":{\"a\\u001bb\":{}}}",
           "=== Task Statistics ===\nTotal observations: n/a\n\nTask: a?b\n  Observations: n/a\n"
           "  Avg CPU delta:  n/a\n  Avg Memory delta: n/a\n");
}

/* ---- predict and the model section of "stats TASK" ---- */

/* Test JSON is written with single quotes, which become double quotes here, so that fixtures
 * stay readable. None of the strings in them needs an apostrophe. */
static json_t *load_quoted(const char *text)
{
    char *s = strdup(text);
    json_t *j;

    assert_non_null(s);
    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    j = parse_json(s);
    free(s);
    return j;
}

/* The output of format_predict() (task set) or format_model() (task NULL). Owned by the caller. */
static char *render(const json_t *j, const char *task, double complexity)
{
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);

    assert_non_null(f);
    if (task)
        format_predict(f, task, complexity, j);
    else
        format_model(f, j);
    assert_int_equal(fclose(f), 0);
    return out;
}

static void expect_output(json_t *j, const char *task, double complexity, const char *expected)
{
    char *out = render(j, task, complexity);

    assert_string_equal(out, expected);
    free(out);
    json_decref(j);
}

/* Every needle must be in the output, and none of the control characters a hostile server
 * could send may be. */
static void
expect_contains(json_t *j, const char *task, double complexity, const char *const *needles)
{
    char *out = render(j, task, complexity);

    for (size_t i = 0; needles[i]; i++)
        if (!strstr(out, needles[i]))
            fail_msg("'%s' not in:\n%s", needles[i], out);
    for (const unsigned char *p = (const unsigned char *) out; *p; p++)
        if ((*p < 0x20 && *p != '\n') || *p == 0x7f)
            fail_msg("control character 0x%02x in:\n%s", *p, out);
    free(out);
    json_decref(j);
}

static void test_predict_full(void **state)
{
    expect_output(fixture_json("model-encode.json"), "encode", 1080,
                  "Prediction for 'encode' at complexity 1080 (model ewls, 12 observations):\n"
                  "  cpu      expected 31.3 %, upper 33.4 %, confidence 0.82, n 12, sufficient\n"
                  "  memory   expected 5.6 % (3.6 GiB), upper 6.4 % (4.1 GiB), confidence 0.90, "
                  "n 12, sufficient\n"
                  "admission will reserve: cpu 31.3 %, memory 6.4 % (4.1 GiB)\n");
}

static void test_predict_insufficient(void **state)
{
    /* Every resource with n > 0 is shown, even one (gpu) that is not among the deciding ones. */
    expect_output(fixture_json("model-render.json"), "render", 0,
                  "Prediction for 'render' at complexity 0 (model ewls, 3 observations):\n"
                  "  cpu      expected 12.0 %, upper 16.0 %, confidence 0.30, n 3, insufficient\n"
                  "  memory   expected 2.0 % (1.3 GiB), upper 2.5 % (1.6 GiB), confidence 0.30, "
                  "n 3, insufficient\n"
                  "  gpu      expected 40.0 %, upper 45.0 %, confidence 0.20, n 2, insufficient\n"
                  "too few observations (3 of 5): admission falls back on thresholds "
                  "(insufficient_data)\n");

    /* Admission goes resource by resource: cpu's model is ready, memory's is not. */
    expect_output(load_quoted("{'observations':9,'min_observations':5,'sufficient':false,"
                              "'resources':{'cpu':{'n':6,'sufficient':true,"
                              "'prediction':{'expected':20,'upper':25,'sufficient':true}},"
                              "'memory':{'n':4,'sufficient':false}}}"),
                  "t", 2.5,
                  "Prediction for 't' at complexity 2.5 (model n/a, 9 observations):\n"
                  "  cpu      expected 20.0 %, upper 25.0 %, confidence n/a, n 6, sufficient\n"
                  "  memory   expected n/a, upper n/a, confidence n/a, n 4, insufficient\n"
                  "admission will reserve: cpu 20.0 %\n"
                  "too few observations for memory (4 of 5): admission falls back on thresholds "
                  "(insufficient_data)\n");

    /* Nothing is ready: the fewer of cpu's and memory's observations is the one that counts,
     * not a GPU's. A cpu never measured (missing) counts as not ready. */
    expect_output(load_quoted("{'observations':4,'min_observations':5,"
                              "'resources':{'memory':{'n':4,'sufficient':false},"
                              "'gpu':{'n':1,'sufficient':false}}}"),
                  "t", 0,
                  "Prediction for 't' at complexity 0 (model n/a, 4 observations):\n"
                  "  memory   expected n/a, upper n/a, confidence n/a, n 4, insufficient\n"
                  "  gpu      expected n/a, upper n/a, confidence n/a, n 1, insufficient\n"
                  "too few observations (4 of 5): admission falls back on thresholds "
                  "(insufficient_data)\n");
}

static void test_predict_sufficient_mixed(void **state)
{
    /* cpu and memory are reserved; a VRAM model with too few runs is not, and is named. */
    expect_output(load_quoted("{'model':'ewls','observations':8,'min_observations':5,"
                              "'resources':{"
                              "'vram':{'n':2,'prediction':{'expected':10,'upper':12,"
                              "'confidence':0.1,'sufficient':false}},"
                              "'cpu':{'n':8,'confidence':0.7,'sufficient':true,"
                              "'prediction':{'expected':20,'upper':25,'sufficient':true}},"
                              "'memory':{'n':8,'prediction':{'expected':3,'upper':4,"
                              "'confidence':0.75,'sufficient':true,'upper_bytes':1073741824}}}}"),
                  "t", 1e15,
                  "Prediction for 't' at complexity 1e+15 (model ewls, 8 observations):\n"
                  "  cpu      expected 20.0 %, upper 25.0 %, confidence 0.70, n 8, sufficient\n"
                  "  memory   expected 3.0 %, upper 4.0 % (1.0 GiB), confidence 0.75, n 8, "
                  "sufficient\n"
                  "  vram     expected 10.0 %, upper 12.0 %, confidence 0.10, n 2, insufficient\n"
                  "admission will reserve: cpu 20.0 %, memory 4.0 % (1.0 GiB)\n"
                  "too few observations for vram (2 of 5): admission falls back on thresholds "
                  "(insufficient_data)\n");

    /* A GPU that is ready is reserved too; one never measured (n 0) is not a gap. */
    expect_output(load_quoted("{'min_observations':3,'resources':{"
                              "'cpu':{'n':3,'sufficient':true,'prediction':{'upper':1}},"
                              "'memory':{'n':3,'sufficient':true,'prediction':{'upper':2}},"
                              "'gpu':{'n':3,'sufficient':true,'prediction':{'upper':50.25}},"
                              "'vram':{'n':0,'sufficient':false}}}"),
                  "t", 0,
                  "Prediction for 't' at complexity 0 (model n/a, n/a observations):\n"
                  "  cpu      expected n/a, upper 1.0 %, confidence n/a, n 3, sufficient\n"
                  "  memory   expected n/a, upper 2.0 %, confidence n/a, n 3, sufficient\n"
                  "  gpu      expected n/a, upper 50.2 %, confidence n/a, n 3, sufficient\n"
                  "admission will reserve: cpu n/a, memory 2.0 %, gpu 50.2 %\n");

    /* The top-level flag says sufficient, but no resource does: not reserved on faith. */
    expect_output(load_quoted("{'sufficient':true,'resources':{'cpu':{'n':5}}}"), "t", 0,
                  "Prediction for 't' at complexity 0 (model n/a, n/a observations):\n"
                  "  cpu      expected n/a, upper n/a, confidence n/a, n 5, sufficiency n/a\n"
                  "too few observations (5 of n/a): admission falls back on thresholds "
                  "(insufficient_data)\n");
}

static void test_predict_minimal(void **state)
{
    static const char none[] =
            "Prediction for 'x' at complexity 0 (model n/a, n/a observations):\n"
            "  no resource has been measured yet\n"
            "too few observations (n/a of n/a): admission falls back on thresholds "
            "(insufficient_data)\n";

    expect_output(load_quoted("{}"), "x", 0, none);
    expect_output(load_quoted("null"), "x", 0, none);
    expect_output(load_quoted("[{'resources':{}}]"), "x", 0, none);
    /* A task learnt but never measured: every n is 0. */
    expect_output(load_quoted("{'model':'ewls','observations':0,'min_observations':5,"
                              "'sufficient':false,'resources':{'cpu':{'n':0,'sufficient':false},"
                              "'memory':{'n':0,'sufficient':false},'gpu':{'n':0},'vram':{'n':0}}}"),
                  "x", 0,
                  "Prediction for 'x' at complexity 0 (model ewls, 0 observations):\n"
                  "  no resource has been measured yet\n"
                  "too few observations (0 of 5): admission falls back on thresholds "
                  "(insufficient_data)\n");
}

static void test_predict_wrong_types(void **state)
{
    /* Strings for numbers, numbers for objects, an array for the resources: n/a, no crash. */
    expect_output(load_quoted("{'model':7,'observations':'12','min_observations':[5],"
                              "'sufficient':'yes','resources':[1,2]}"),
                  "x", 1,
                  "Prediction for 'x' at complexity 1 (model n/a, n/a observations):\n"
                  "  no resource has been measured yet\n"
                  "too few observations (n/a of n/a): admission falls back on thresholds "
                  "(insufficient_data)\n");
    expect_output(load_quoted("{'sufficient':true,'resources':{'cpu':{'n':'12'},"
                              "'memory':{'n':3,'confidence':'high','sufficient':1,"
                              "'prediction':{'expected':'5','upper':null,'upper_bytes':'1G',"
                              "'sufficient':'no'}},'gpu':7,'vram':{'n':true}}}"),
                  "x", 1,
                  "Prediction for 'x' at complexity 1 (model n/a, n/a observations):\n"
                  "  memory   expected n/a, upper n/a, confidence n/a, n 3, sufficiency n/a\n"
                  "too few observations (3 of n/a): admission falls back on thresholds "
                  "(insufficient_data)\n");
}

static void test_predict_hostile(void **state)
{
    static const char *const needles[] = {
        "Prediction for 'a?b' at complexity 3 (model ?[2J?]0;x?, 12 observations):\n",
        "  cpu      expected 1.0 %, upper 2.0 %, confidence 0.50, n 12, sufficient\n",
        "admission will reserve: cpu 1.0 %\n",
        NULL,
    };

    expect_contains(load_quoted("{'model':'\\u001b[2J\\u001b]0;x\\u0007','observations':12,"
                                "'sufficient':true,'resources':{'cpu':{'n':12,'sufficient':true,"
                                "'prediction':{'expected':1,'upper':2,'confidence':0.5}},"
                                "'\\u001b':{'n':1}}}"),
                    "a\033b", 3, needles);
}

static void test_model_full(void **state)
{
    expect_output(
            fixture_json("model-encode.json"), NULL, 0,
            "\n"
            "Model: ewls (lambda 0.97, quantile 0.95, shrinkage_weight 5, margin_factor 1)\n"
            "  Observations: 12 (5 needed to decide: sufficient)\n"
            "  Updated: 2026-11-23T15:00:00.000Z\n"
            "  Per resource, in percentage points (slope: per unit of complexity):\n"
            "  resource      slope  intercept  confidence     n  margin    peak  sufficient\n"
            "  cpu            0.01       20.5        0.82    12     2.1    35.0  yes\n"
            "  memory        0.002       3.44        0.90    12     0.8     6.6  yes\n"
            "  gpu      no observations\n"
            "  vram     no observations\n"
            "  2 of 12 observations overlapped another task's window and were down-weighted\n"
            "  declared needs: 3 runs; cpu declared 4.0 pp below what was observed (EMA); memory "
            "declared 1.5 pp above what was observed (EMA)\n"
            "\n"
            "  Recent observations (newest first):\n"
            "  time                  complexity     cpu  memory     gpu    vram  source  flags\n"
            "  2026-11-23 14:59:00Z        1080    31.0     5.5       -       -  run     "
            "declared\n"
            "  2026-11-23 14:49:00Z         720    30.5     5.6       -       -  notify  "
            "overlapped\n"
            "  2026-11-23 14:39:00Z        1080    30.0     5.7       -       -  notify  -\n"
            "  2026-11-23 14:29:00Z         720    29.5     5.8       -       -  run     -\n"
            "  2026-11-23 14:19:00Z        1080    29.0     5.9       -       -  notify  "
            "overlapped,declared\n"
            "  2026-11-23 14:09:00Z         720    28.5     6.0       -       -  notify  -\n"
            "  2026-11-23 13:59:00Z        1080    28.0     6.1       -       -  run     -\n"
            "  2026-11-23 13:49:00Z         720    27.5     6.2       -       -  notify  "
            "declared\n"
            "  2026-11-23 13:39:00Z        1080    27.0     6.3       -       -  notify  -\n"
            "  2026-11-23 13:29:00Z         720    26.5     6.4       -       -  run     -\n"
            "  (2 older not shown; --json has them)\n");
}

static void test_model_minimal(void **state)
{
    static const char empty[] =
            "\n"
            "Model: n/a\n"
            "  Observations: n/a (n/a needed to decide: sufficiency n/a)\n"
            "  Updated: n/a\n"
            "  Per resource, in percentage points (slope: per unit of complexity):\n"
            "  resource      slope  intercept  confidence     n  margin    peak  sufficient\n"
            "  cpu      n/a\n"
            "  memory   n/a\n"
            "  gpu      n/a\n"
            "  vram     n/a\n"
            "  n/a of n/a observations overlapped another task's window and were down-weighted\n"
            "  declared needs: n/a\n"
            "\n"
            "  Recent observations: n/a\n";

    expect_output(load_quoted("{}"), NULL, 0, empty);
    expect_output(load_quoted("42"), NULL, 0, empty);
    expect_output(load_quoted("{'params':{},'resources':[],'declared':[],'recent':{}}"), NULL, 0,
                  empty);

    /* The smallest real answer: one run, nothing declared, no GPU. */
    expect_output(
            load_quoted("{'task':'t','model':'ewma','observations':1,'min_observations':5,"
                        "'sufficient':false,'overlapped':0,'declared':{'count':0},"
                        "'updated_at':'2026-11-23T15:00:00.000Z','params':{'alpha':0.3},"
                        "'resources':{'cpu':{'n':1,'slope':0,'intercept':12.5,'confidence':0.1,"
                        "'sufficient':false,'margin':0,'peak':12.5},"
                        "'memory':{'n':1,'slope':0,'intercept':1,'confidence':0.1,"
                        "'sufficient':false,'margin':0,'peak':1},"
                        "'gpu':{'n':0,'sufficient':false},'vram':{'n':0,'sufficient':false}},"
                        "'recent':[]}"),
            NULL, 0,
            "\n"
            "Model: ewma (alpha 0.3)\n"
            "  Observations: 1 (5 needed to decide: insufficient)\n"
            "  Updated: 2026-11-23T15:00:00.000Z\n"
            "  Per resource, in percentage points (slope: per unit of complexity):\n"
            "  resource      slope  intercept  confidence     n  margin    peak  sufficient\n"
            "  cpu               0       12.5        0.10     1     0.0    12.5  no\n"
            "  memory            0          1        0.10     1     0.0     1.0  no\n"
            "  gpu      no observations\n"
            "  vram     no observations\n"
            "  0 of 1 observations overlapped another task's window and were down-weighted\n"
            "  declared needs: never\n"
            "\n"
            "  Recent observations: none\n");
}

static void test_model_recent_times(void **state)
{
    static const char *const needles[] = {
        /* UTC to the second, whatever the fraction. */
        "\n  2026-11-23 15:21:44Z           1     1.0     2.0       -       -  notify  -\n",
        "\n  2026-11-23 15:21:45Z           2     1.0     2.0       -       -  run     -\n",
        /* Not UTC, or not a time: shown as it came. */
        "\n  2026-11-23T15:21:44+01:00           3",
        "\n  yesterday                      4",
        "\n  2026-11-23T15:21:4xZ           5",
        NULL,
    };

    expect_contains(load_quoted("{'recent':["
                                "{'started_at':'2026-11-23T15:21:44.299000Z','complexity':1,"
                                "'cpu':1,'memory':2,'gpu':null,'vram':null,'source':'notify'},"
                                "{'started_at':'2026-11-23T15:21:45Z','complexity':2,"
                                "'cpu':1,'memory':2,'gpu':null,'vram':null,'source':'run'},"
                                "{'started_at':'2026-11-23T15:21:44+01:00','complexity':3},"
                                "{'started_at':'yesterday','complexity':4},"
                                "{'started_at':'2026-11-23T15:21:4xZ','complexity':5}]}"),
                    NULL, 0, needles);
}

static void test_model_wrong_types(void **state)
{
    static const char *const needles[] = {
        "Model: ?[31m (lambda n/a, ?]2;t? x, on true)\n",
        "  Observations: n/a (n/a needed to decide: sufficiency n/a)\n",
        "  Updated: n/a\n",
        "  cpu             n/a        n/a         n/a   n/a     n/a     n/a  n/a\n",
        "  memory   n/a\n",
        "  gpu      no observations\n",
        "  vram            1.5        n/a         n/a     2     n/a     n/a  no\n",
        "  declared needs: 1 run; cpu declared n/a; memory declared 0.0 pp above what was "
        "observed (EMA)\n",
        /* null is "not measured" (-), a missing or mistyped value n/a. */
        "  n/a                          n/a     n/a     n/a     n/a     n/a  n/a     -\n",
        "  2026?[1m                     n/a       -    12.3     n/a     n/a  ?       "
        "declared\n",
        NULL,
    };

    expect_contains(load_quoted("{'model':'\\u001b[31m','observations':'x','sufficient':0,"
                                "'updated_at':5,"
                                "'params':{'lambda':null,'\\u001b]2;t\\u0007':'x','on':true},"
                                "'resources':{'cpu':{},'memory':[],'gpu':{'n':0},"
                                "'vram':{'n':2,'slope':1.5,'sufficient':false}},"
                                "'declared':{'count':1,'gap':{'cpu':'big','memory':0}},"
                                "'recent':[7,{'started_at':'2026\\u001b[1m','complexity':'x',"
                                "'cpu':null,'memory':12.34,'gpu':'0','source':'\\u007f',"
                                "'overlapped':'yes','declared':{'cpu':1}}]}"),
                    NULL, 0, needles);
}

static void test_sanitize(void **state)
{
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);

    assert_non_null(f);
    fputs_sanitized("ok é\t\n\x7f", f);
    fputs_sanitized(NULL, f);
    assert_int_equal(fclose(f), 0);
    assert_string_equal(out, "ok é???n/a");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ask_denied),
        cmocka_unit_test(test_ask_allowed),
        cmocka_unit_test(test_ask_binding),
        cmocka_unit_test(test_ask_gpu_denied),
        cmocka_unit_test(test_ask_capfox),
        cmocka_unit_test(test_ask_lenient),
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_status_capfox_and_empty),
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_sanitize),
        cmocka_unit_test(test_predict_full),
        cmocka_unit_test(test_predict_insufficient),
        cmocka_unit_test(test_predict_sufficient_mixed),
        cmocka_unit_test(test_predict_minimal),
        cmocka_unit_test(test_predict_wrong_types),
        cmocka_unit_test(test_predict_hostile),
        cmocka_unit_test(test_model_full),
        cmocka_unit_test(test_model_minimal),
        cmocka_unit_test(test_model_wrong_types),
        cmocka_unit_test(test_model_recent_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
