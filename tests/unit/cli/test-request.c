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

    assert_int_equal(request_ask_body(task, complexity, needs, 0, &s), 0);
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

    assert_int_equal(request_ask_body(NULL, 0, NULL, 0, &s), -EINVAL);
    assert_int_equal(request_ask_body("x", -1, NULL, 0, &s), -EINVAL);
    assert_int_equal(request_ask_body("x", NAN, NULL, 0, &s), -EINVAL);
    assert_int_equal(request_ask_body("x", INFINITY, NULL, 0, &s), -EINVAL);
    assert_string_equal(s, "untouched");
    /* Not UTF-8: refused, so nothing malformed is ever sent. */
    assert_int_equal(request_ask_body("\xff\xfe", 0, NULL, 0, &s), -EINVAL);
    assert_int_equal(request_notify_body("a\xc3", 0, NULL, &s), -EINVAL);
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

    assert_int_equal(request_notify_body("encode", 3, NULL, &s), 0);
    assert_string_equal(s, "{\"task\":\"encode\",\"complexity\":3}");
    free(s);
    assert_int_equal(request_notify_body("a b", 0.25, NULL, &s), 0);
    assert_string_equal(s, "{\"task\":\"a b\",\"complexity\":0.25}");
    free(s);
    assert_int_equal(request_notify_body(NULL, 0, NULL, &s), -EINVAL);

    /* With a lease. */
    assert_int_equal(request_notify_body("encode", 1, "l-0123456789abcdef", &s), 0);
    assert_string_equal(s, "{\"task\":\"encode\",\"complexity\":1,\"lease\":\"l-0123456789abcdef\"}");
    free(s);
    assert_int_equal(request_notify_body("encode", 1, "l-0123", &s), -EINVAL);
    assert_true(request_lease_is_valid("l-0000000000000000"));
    assert_false(request_lease_is_valid("l-0123456789ABCDEF"));  /* the daemon writes lowercase */
    assert_false(request_lease_is_valid("x-0123456789abcdef"));
    assert_false(request_lease_is_valid("l-0123456789abcdef0"));
    assert_false(request_lease_is_valid(NULL));
}

static void test_ask_reserve_body(void **state)
{
    char *s;

    assert_int_equal(request_ask_body("train", 2, NULL, 90, &s), 0);
    assert_string_equal(s, "{\"task\":\"train\",\"complexity\":2,\"reserve\":true,\"lease_seconds\":90}");
    free(s);
    assert_int_equal(request_ask_body("train", 2, NULL, -1, &s), -EINVAL);
    assert_int_equal(request_ask_body("train", 2, NULL, NAN, &s), -EINVAL);
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

static void expect_model_path(const char *task, bool with_complexity, double c, const char *out)
{
    char *s = NULL;

    assert_int_equal(request_model_path(task, with_complexity, c, &s), 0);
    assert_string_equal(s, out);
    free(s);
}

static void test_model_path(void **state)
{
    char *s = NULL;

    expect_model_path("encode", false, 0, "/v1/models/encode");
    /* Without with_complexity the number is not looked at. */
    expect_model_path("encode", false, NAN, "/v1/models/encode");
    expect_model_path("encode", true, 0, "/v1/models/encode?complexity=0");
    expect_model_path("encode", true, 1080, "/v1/models/encode?complexity=1080");
    /* Whole numbers up to the limit without an exponent; fractions as short as they read back. */
    expect_model_path("e", true, 1e15, "/v1/models/e?complexity=1000000000000000");
    expect_model_path("e", true, 2.5, "/v1/models/e?complexity=2.5");
    expect_model_path("e", true, 0.1, "/v1/models/e?complexity=0.1");
    expect_model_path("e", true, 1.0 / 3.0, "/v1/models/e?complexity=0.3333333333333333");
    expect_model_path("e", true, 123456789.125, "/v1/models/e?complexity=123456789.125");
    expect_model_path("e", true, 1e-7, "/v1/models/e?complexity=1e-07");
    expect_model_path("e", true, 999999999999999.875, "/v1/models/e?complexity=999999999999999.9");
    /* The task is one path segment: '/', '?', '#', '%' and spaces are encoded, UTF-8 too. */
    expect_model_path("a/b?c#d%e f", false, 0, "/v1/models/a%2Fb%3Fc%23d%25e%20f");
    /* Dot segments would be squashed on the way; encoded, they reach the daemon as names. */
    expect_model_path(".", false, 0, "/v1/models/%2E");
    expect_model_path("..", true, 1, "/v1/models/%2E%2E?complexity=1");
    expect_model_path("...", false, 0, "/v1/models/...");
    expect_model_path(".x", false, 0, "/v1/models/.x");
    expect_model_path("vidéo", true, 3, "/v1/models/vid%C3%A9o?complexity=3");

    assert_int_equal(request_model_path(NULL, false, 0, &s), -EINVAL);
    assert_int_equal(request_model_path("", false, 0, &s), -EINVAL);
    assert_int_equal(request_model_path("a\tb", false, 0, &s), -EINVAL);
    assert_int_equal(request_model_path("\xff", false, 0, &s), -EINVAL);
    assert_int_equal(request_model_path("e", true, -1, &s), -EINVAL);
    assert_int_equal(request_model_path("e", true, NAN, &s), -EINVAL);
    assert_int_equal(request_model_path("e", true, INFINITY, &s), -EINVAL);
    assert_int_equal(request_model_path("e", true, nextafter(1e15, INFINITY), &s), -EINVAL);
    assert_null(s);
}

static void test_complexity_is_valid(void **state)
{
    assert_true(request_complexity_is_valid(0));
    assert_true(request_complexity_is_valid(0.5));
    assert_true(request_complexity_is_valid(1e15));
    assert_false(request_complexity_is_valid(nextafter(1e15, INFINITY)));
    assert_false(request_complexity_is_valid(-0.001));
    assert_false(request_complexity_is_valid(NAN));
    assert_false(request_complexity_is_valid(INFINITY));
    assert_false(request_complexity_is_valid(-INFINITY));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ask_body),         cmocka_unit_test(test_ask_body_escaping),
        cmocka_unit_test(test_ask_body_invalid), cmocka_unit_test(test_task_is_valid),
        cmocka_unit_test(test_capfox_body),      cmocka_unit_test(test_notify_body),
        cmocka_unit_test(test_ask_reserve_body),
        cmocka_unit_test(test_url_encode),       cmocka_unit_test(test_stats_path),
        cmocka_unit_test(test_model_path),       cmocka_unit_test(test_complexity_is_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
