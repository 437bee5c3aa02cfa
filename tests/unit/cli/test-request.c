/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "basic/parse-util.h"
#include "cli/request.h"

/* cmocka.h needs stdarg.h, stddef.h and setjmp.h before it. */
#include <cmocka.h>

static void
expect_ask(const char *task, double complexity, const struct cli_needs *needs, const char *expected)
{
    char *s = NULL;

    assert_int_equal(request_ask_body(task, complexity, needs, &s), 0);
    assert_string_equal(s, expected);
    free(s);
}

static void test_ask_body(void **state)
{
    struct cli_needs none = { 0 };
    struct cli_needs all = {
        .has_cpu = true,
        .cpu_pct = 50,
        .has_mem = true,
        .mem_bytes = 8589934592ULL,
        .has_gpu = true,
        .gpu_pct = 12.5,
        .has_vram = true,
        .vram_bytes = 1073741824ULL,
        .has_disk = true,
        .disk_bytes = 536870912ULL,
    };
    struct cli_needs mem_only = { .has_mem = true, .mem_bytes = 1610612736ULL };
    /* Given as zero is still given: the daemon is told "needs no CPU" explicitly. */
    struct cli_needs zero_cpu = { .has_cpu = true, .cpu_pct = 0 };

    expect_ask("encode", 0, NULL, "{\"task\":\"encode\",\"complexity\":0}");
    expect_ask("encode", 0, &none, "{\"task\":\"encode\",\"complexity\":0}");
    expect_ask("encode", 2.5, &all,
               "{\"task\":\"encode\",\"complexity\":2.5,\"needs\":{\"cpu_pct\":50,"
               "\"mem_bytes\":8589934592,\"gpu_pct\":12.5,\"vram_bytes\":1073741824,"
               "\"disk_bytes\":536870912}}");
    expect_ask("x", 3, &mem_only,
               "{\"task\":\"x\",\"complexity\":3,\"needs\":{\"mem_bytes\":1610612736}}");
    expect_ask("x", 0, &zero_cpu, "{\"task\":\"x\",\"complexity\":0,\"needs\":{\"cpu_pct\":0}}");
    expect_ask("x", 33.3, NULL, "{\"task\":\"x\",\"complexity\":33.3}");
}

static void test_ask_body_escaping(void **state)
{
    /* Quotes, backslashes and UTF-8 in a task name stay inside the JSON string. */
    expect_ask("a\"b\\c", 0, NULL, "{\"task\":\"a\\\"b\\\\c\",\"complexity\":0}");
    expect_ask("\"},\"allowed\":true,\"x\":{\"", 0, NULL,
               "{\"task\":\"\\\"},\\\"allowed\\\":true,\\\"x\\\":{\\\"\",\"complexity\":0}");
    expect_ask("vidéo 4k", 1, NULL, "{\"task\":\"vidéo 4k\",\"complexity\":1}");
}

static void test_ask_body_invalid(void **state)
{
    char *s = (char *) "untouched";

    assert_int_equal(request_ask_body(NULL, 0, NULL, &s), -EINVAL);
    assert_int_equal(request_ask_body("x", -1, NULL, &s), -EINVAL);
    assert_int_equal(request_ask_body("x", NAN, NULL, &s), -EINVAL);
    assert_int_equal(request_ask_body("x", INFINITY, NULL, &s), -EINVAL);
    assert_string_equal(s, "untouched");
    /* Not UTF-8: refused, so nothing malformed is ever sent. */
    assert_int_equal(request_ask_body("\xff\xfe", 0, NULL, &s), -EINVAL);
    assert_int_equal(request_notify_body("a\xc3", 0, &s), -EINVAL);
    assert_string_equal(s, "untouched");
}

static void test_task_is_valid(void **state)
{
    char longname[TASK_NAME_MAX + 2];

    assert_true(request_task_is_valid("encode"));
    assert_true(request_task_is_valid("vidéo 4k & co"));
    assert_true(request_task_is_valid("日本"));
    assert_true(request_task_is_valid("\xf0\x9f\x98\x80")); /* U+1F600 */
    assert_true(request_task_is_valid("\xf4\x8f\xbf\xbf")); /* U+10FFFF */
    assert_false(request_task_is_valid(""));
    assert_false(request_task_is_valid(NULL));
    assert_false(request_task_is_valid("a\tb"));
    assert_false(request_task_is_valid("a\x7f"));
    assert_false(request_task_is_valid("\xff"));
    assert_false(request_task_is_valid("\x80"));
    assert_false(request_task_is_valid("\xc3"));             /* truncated */
    assert_false(request_task_is_valid("\xc0\xaf"));         /* overlong '/' */
    assert_false(request_task_is_valid("\xe0\x80\xaf"));     /* overlong '/' */
    assert_false(request_task_is_valid("\xed\xa0\x80"));     /* surrogate U+D800 */
    assert_false(request_task_is_valid("\xf4\x90\x80\x80")); /* above U+10FFFF */
    assert_false(request_task_is_valid("\xe6\x97"));         /* truncated 3-byte */

    memset(longname, 'x', TASK_NAME_MAX);
    longname[TASK_NAME_MAX] = '\0';
    assert_true(request_task_is_valid(longname));
    longname[TASK_NAME_MAX] = 'x';
    longname[TASK_NAME_MAX + 1] = '\0';
    assert_false(request_task_is_valid(longname));
}

static void test_capfox_body(void **state)
{
    struct cli_needs needs = {
        .has_cpu = true,
        .cpu_pct = 12.5,
        .has_mem = true,
        .mem_bytes = 1024,
        .has_gpu = true,
        .gpu_pct = 40,
        .has_disk = true,
        .disk_bytes = 1,
    };
    struct cli_needs only_sizes = {
        .has_mem = true, .mem_bytes = 1, .has_vram = true, .vram_bytes = 2
    };
    struct cli_needs whole = { .has_cpu = true, .cpu_pct = 50 };
    struct cli_needs zero = { .has_cpu = true, .cpu_pct = 0 };
    unsigned dropped = 99;
    char *s;

    assert_int_equal(request_ask_capfox_body("encode", 2, &needs, &s, &dropped), 0);
    assert_string_equal(
            s, "{\"task\":\"encode\",\"complexity\":2,\"resources\":{\"cpu\":13,\"gpu\":40}}");
    assert_int_equal(dropped, REQUEST_DROPPED_MEM | REQUEST_DROPPED_DISK | REQUEST_ROUNDED);
    free(s);

    assert_int_equal(request_ask_capfox_body("x", 1.5, &only_sizes, &s, &dropped), 0);
    assert_string_equal(s, "{\"task\":\"x\",\"complexity\":2}");
    assert_int_equal(dropped, REQUEST_DROPPED_MEM | REQUEST_DROPPED_VRAM | REQUEST_ROUNDED);
    free(s);

    assert_int_equal(request_ask_capfox_body("x", 0, &whole, &s, &dropped), 0);
    assert_string_equal(s, "{\"task\":\"x\",\"complexity\":0,\"resources\":{\"cpu\":50}}");
    assert_int_equal(dropped, 0);
    free(s);

    /* capfox's own client leaves "resources" out unless an estimate is above zero. */
    assert_int_equal(request_ask_capfox_body("x", 0, &zero, &s, &dropped), 0);
    assert_string_equal(s, "{\"task\":\"x\",\"complexity\":0}");
    free(s);

    assert_int_equal(request_ask_capfox_body("x", -2, &zero, &s, &dropped), -EINVAL);
}

static void test_notify_body(void **state)
{
    char *s;

    assert_int_equal(request_notify_body("encode", 3, &s), 0);
    assert_string_equal(s, "{\"task\":\"encode\",\"complexity\":3}");
    free(s);
    assert_int_equal(request_notify_body("a b", 0.25, &s), 0);
    assert_string_equal(s, "{\"task\":\"a b\",\"complexity\":0.25}");
    free(s);
    assert_int_equal(request_notify_body(NULL, 0, &s), -EINVAL);
}

static void expect_encoded(const char *in, const char *out)
{
    char *s = NULL;

    assert_int_equal(url_encode(in, &s), 0);
    assert_string_equal(s, out);
    free(s);
}

static void test_url_encode(void **state)
{
    char *s;

    expect_encoded("", "");
    expect_encoded("encode", "encode");
    expect_encoded("AZaz09-._~", "AZaz09-._~");
    expect_encoded("my task", "my%20task");
    expect_encoded("a&b=c", "a%26b%3Dc");
    expect_encoded("a+b#c?d/e%f", "a%2Bb%23c%3Fd%2Fe%25f");
    expect_encoded("vidéo", "vid%C3%A9o");
    expect_encoded("日本", "%E6%97%A5%E6%9C%AC");
    expect_encoded("\x7f\x01", "%7F%01");
    assert_int_equal(url_encode(NULL, &s), -EINVAL);
}

static void test_stats_path(void **state)
{
    char *s;

    assert_int_equal(request_stats_path(NULL, &s), 0);
    assert_string_equal(s, "/stats");
    free(s);
    assert_int_equal(request_stats_path("my task&x=1", &s), 0);
    assert_string_equal(s, "/stats?task=my%20task%26x%3D1");
    free(s);
    assert_int_equal(request_stats_path("é", &s), 0);
    assert_string_equal(s, "/stats?task=%C3%A9");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ask_body),         cmocka_unit_test(test_ask_body_escaping),
        cmocka_unit_test(test_ask_body_invalid), cmocka_unit_test(test_task_is_valid),
        cmocka_unit_test(test_capfox_body),      cmocka_unit_test(test_notify_body),
        cmocka_unit_test(test_url_encode),       cmocka_unit_test(test_stats_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
