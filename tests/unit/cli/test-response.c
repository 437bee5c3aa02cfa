/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli/exit-codes.h"
#include "cli/response.h"

/* cmocka.h needs stdarg.h, stddef.h and setjmp.h before it. */
#include <cmocka.h>

static int code(int transport_r, long status, const char *body)
{
    return response_exit_code(transport_r, status, body, body ? strlen(body) : 0);
}

static void test_exit_transport(void **state)
{
    assert_int_equal(code(-ECONNREFUSED, 0, NULL), CLI_EXIT_UNAVAILABLE);
    assert_int_equal(code(-ENOENT, 0, NULL), CLI_EXIT_UNAVAILABLE);
    assert_int_equal(code(-ETIMEDOUT, 0, NULL), CLI_EXIT_UNAVAILABLE);
    assert_int_equal(code(-ECONNRESET, 0, NULL), CLI_EXIT_UNAVAILABLE);
    assert_int_equal(code(-EHOSTUNREACH, 0, NULL), CLI_EXIT_UNAVAILABLE);
    assert_int_equal(code(-ENETUNREACH, 0, NULL), CLI_EXIT_UNAVAILABLE);
    assert_int_equal(code(-EACCES, 0, NULL), CLI_EXIT_FAILURE);
    assert_int_equal(code(-EFBIG, 0, NULL), CLI_EXIT_FAILURE);
    assert_int_equal(code(-EPROTO, 0, NULL), CLI_EXIT_FAILURE);
    assert_int_equal(code(-ENOMEM, 0, NULL), CLI_EXIT_FAILURE);
    /* A transport error wins over whatever status the caller left lying around. */
    assert_int_equal(code(-ECONNREFUSED, 200, "{\"allowed\":true}"), CLI_EXIT_UNAVAILABLE);
}

static void test_exit_status(void **state)
{
    assert_int_equal(code(0, 200, "{\"allowed\":true}"), CLI_EXIT_SUCCESS);
    assert_int_equal(code(0, 200, "{\"received\":true,\"task\":\"x\"}\n"), CLI_EXIT_SUCCESS);
    assert_int_equal(code(0, 200, "{\"tasks\":{},\"total_tasks\":0}"), CLI_EXIT_SUCCESS);
    assert_int_equal(code(0, 204, "[]"), CLI_EXIT_SUCCESS);
    assert_int_equal(code(0, 503, "{\"allowed\":false}\n"), CLI_EXIT_NO_CAPACITY);
    assert_int_equal(code(0, 503, "{\"allowed\":false,\"reasons\":[\"cpu_overload\"]}"),
                     CLI_EXIT_NO_CAPACITY);
    assert_int_equal(code(0, 200, "{\"allowed\":false}"), CLI_EXIT_NO_CAPACITY);

    /* 503 without a verdict is the server failing, not "no capacity". */
    assert_int_equal(code(0, 503, "decision engine not enabled\n"), CLI_EXIT_FAILURE);
    assert_int_equal(code(0, 503, "{\"ready\":false}"), CLI_EXIT_FAILURE);
    assert_int_equal(code(0, 503, "{\"allowed\":true}"), CLI_EXIT_FAILURE);
    assert_int_equal(code(0, 503, "{\"allowed\":0}"), CLI_EXIT_FAILURE);
    assert_int_equal(code(0, 503, ""), CLI_EXIT_FAILURE);
    assert_int_equal(code(0, 503, NULL), CLI_EXIT_FAILURE);

    assert_int_equal(code(0, 200, "<html></html>"), CLI_EXIT_FAILURE);
    assert_int_equal(code(0, 200, ""), CLI_EXIT_FAILURE);
    assert_int_equal(code(0, 200, "{\"allowed\":true"), CLI_EXIT_FAILURE);
    assert_int_equal(code(0, 400, "invalid request body\n"), CLI_EXIT_FAILURE);
    assert_int_equal(code(0, 401, "Unauthorized\n"), CLI_EXIT_FAILURE);
    assert_int_equal(code(0, 403, "{\"error\":\"forbidden\"}"), CLI_EXIT_FAILURE);
    assert_int_equal(code(0, 404, "404 page not found\n"), CLI_EXIT_FAILURE);
    assert_int_equal(code(0, 429, "Too Many Requests\n"), CLI_EXIT_FAILURE);
    assert_int_equal(code(0, 500, "{\"allowed\":false}"), CLI_EXIT_FAILURE);
    assert_int_equal(code(0, 302, "{}"), CLI_EXIT_FAILURE);

    /* The body is a length, not a C string: bytes past n are not read. */
    const char *b = "{\"allowed\":false}garbage";
    assert_int_equal(response_exit_code(0, 503, b, 17), CLI_EXIT_NO_CAPACITY);
    assert_int_equal(response_exit_code(0, 503, b, 10), CLI_EXIT_FAILURE);
}

static const char *msg(long status, const char *body)
{
    static char buf[512];
    return response_error_message(status, body, body ? strlen(body) : 0, buf, sizeof(buf));
}

static void test_error_message(void **state)
{
    assert_string_equal(msg(400, "invalid request body\n"),
                        "HTTP 400 Bad Request: invalid request body");
    assert_string_equal(msg(400, "{\"error\":\"needs.cpu_pct must be 0-100\"}"),
                        "HTTP 400 Bad Request: needs.cpu_pct must be 0-100");
    assert_string_equal(msg(404, "{\"message\":\"no such route\"}"),
                        "HTTP 404 Not Found: no such route");
    assert_string_equal(msg(401, "Unauthorized\n"), "HTTP 401 Unauthorized");
    assert_string_equal(msg(403, "Forbidden - Debug authentication required\n"),
                        "HTTP 403 Forbidden: Forbidden - Debug authentication required");
    assert_string_equal(msg(500, ""), "HTTP 500 Internal Server Error");
    assert_string_equal(msg(500, NULL), "HTTP 500 Internal Server Error");
    assert_string_equal(msg(503, "{\"ready\":false}"), "HTTP 503 Service Unavailable");
    assert_string_equal(msg(200, "<html>"), "HTTP 200 OK: the answer is not JSON");
    assert_string_equal(msg(599, "odd"), "HTTP 599: odd");
    assert_string_equal(msg(400, "  first line  \nsecond line\n"),
                        "HTTP 400 Bad Request: first line");
    assert_string_equal(msg(400, "bell\a and \x1b[31mred"),
                        "HTTP 400 Bad Request: bell? and ?[31mred");
    assert_string_equal(msg(400, "{\"error\":\"two\\nlines\"}"), "HTTP 400 Bad Request: two");
}

static void test_error_message_bounded(void **state)
{
    char body[1000], expected[300];

    /* A long body is cut at RESPONSE_QUOTE_MAX bytes. */
    memset(body, 'x', sizeof(body) - 1);
    body[sizeof(body) - 1] = '\0';
    assert_int_equal(strlen(msg(500, body)),
                     strlen("HTTP 500 Internal Server Error: ") + RESPONSE_QUOTE_MAX);

    /* ... and never inside a UTF-8 sequence: 199 ASCII bytes then "é" (2 bytes) keeps 199. */
    memset(body, 'a', 199);
    strcpy(body + 199, "\xc3\xa9 tail");
    (void) snprintf(expected, sizeof(expected), "HTTP 500 Internal Server Error: %.199s", body);
    assert_string_equal(msg(500, body), expected);

    /* A small buffer is still NUL-terminated. */
    char small[8];
    response_error_message(400, "abc", 3, small, sizeof(small));
    assert_string_equal(small, "HTTP 40");
}

static void test_reason(void **state)
{
    assert_string_equal(http_status_reason(404), "Not Found");
    assert_string_equal(http_status_reason(503), "Service Unavailable");
    assert_string_equal(http_status_reason(299), "");
    assert_true(transport_error_is_unreachable(-ECONNREFUSED));
    assert_false(transport_error_is_unreachable(-EACCES));
    assert_false(transport_error_is_unreachable(0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_transport), cmocka_unit_test(test_exit_status),
        cmocka_unit_test(test_error_message),  cmocka_unit_test(test_error_message_bounded),
        cmocka_unit_test(test_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
