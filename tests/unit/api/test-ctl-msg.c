/* SPDX-License-Identifier: MIT */
/* The control socket's messages (api/ctl-msg.h) as pure functions: requests and replies encoded,
 * parsed back, and hostile datagrams refused with the right error rather than crashing. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/ctl-msg.h"

/* cmocka.h needs stdarg.h, stddef.h and setjmp.h before it. */
#include <cmocka.h>

static int parse(const char *s, struct ctl_request *ret)
{
    char err[160];
    return ctl_request_parse(s, strlen(s), ret, err, sizeof(err));
}

/* Parses s, expecting failure r and a message containing what. */
static void expect_refused(const char *s, int r, const char *what)
{
    struct ctl_request req = { 0 };
    char err[160] = "";

    assert_int_equal(ctl_request_parse(s, strlen(s), &req, err, sizeof(err)), r);
    if (!strstr(err, what))
        fail_msg("'%s': error '%s' does not mention '%s'", s, err, what);
    assert_null(req.json);
}

static void test_request_round_trip(void **state)
{
    struct ctl_request in = {
        .method = "POST",
        .path = "/v1/models/a b",
        .n_query = 2,
        .query = { { "reason", "true" }, { "x", "é \"q\"" } },
        .n_headers = 1,
        .headers = { { "authorization", "Bearer t0k" } },
        .body = "{\"task\":\"t\"}",
        .body_len = 12,
    };
    struct ctl_request out = { 0 };
    char *s = NULL;
    size_t n = 0;

    assert_int_equal(ctl_request_encode(&in, &s, &n), 0);
    assert_int_equal(n, strlen(s));
    assert_string_equal(
            s,
            "{\"method\":\"POST\",\"path\":\"/v1/models/a b\",\"query\":{\"reason\":\"true\","
            "\"x\":\"é \\\"q\\\"\"},\"headers\":{\"authorization\":\"Bearer t0k\"},"
            "\"body\":\"{\\\"task\\\":\\\"t\\\"}\"}");

    assert_int_equal(ctl_request_parse(s, n, &out, NULL, 0), 0);
    assert_string_equal(out.method, "POST");
    assert_string_equal(out.path, "/v1/models/a b");
    assert_int_equal(out.n_query, 2);
    assert_string_equal(out.query[0].name, "reason");
    assert_string_equal(out.query[0].value, "true");
    assert_string_equal(out.query[1].name, "x");
    assert_string_equal(out.query[1].value, "é \"q\"");
    assert_int_equal(out.n_headers, 1);
    assert_string_equal(out.headers[0].value, "Bearer t0k");
    assert_int_equal(out.body_len, 12);
    assert_string_equal(out.body, "{\"task\":\"t\"}");
    assert_non_null(out.json);
    ctl_request_done(&out);
    assert_null(out.json);
    assert_null(out.method);
    free(s);

    /* The smallest request: no query, no headers, no body. */
    assert_int_equal(parse("{\"path\":\"/status\",\"method\":\"GET\"}", &out), 0);
    assert_string_equal(out.path, "/status");
    assert_int_equal(out.n_query, 0);
    assert_int_equal(out.n_headers, 0);
    assert_null(out.body);
    assert_int_equal(out.body_len, 0);
    ctl_request_done(&out);
    ctl_request_done(NULL);
}

static void test_request_encode_refusals(void **state)
{
    struct ctl_request r = { .method = "GET", .path = "/x" };
    char *s = NULL, *big;
    size_t n;

    r.path = "x";
    assert_int_equal(ctl_request_encode(&r, &s, &n), -EINVAL);
    r.path = NULL;
    assert_int_equal(ctl_request_encode(&r, &s, &n), -EINVAL);
    r.path = "/x";
    r.method = "";
    assert_int_equal(ctl_request_encode(&r, &s, &n), -EINVAL);
    r.method = "GET";

    /* Not UTF-8, in the path, a value, a name, the body. */
    r.path = "/\xff";
    assert_int_equal(ctl_request_encode(&r, &s, &n), -EINVAL);
    r.path = "/x";
    r.n_query = 1;
    r.query[0] = (struct ctl_field){ "a", "\xc0\x80" }; /* an overlong NUL */
    assert_int_equal(ctl_request_encode(&r, &s, &n), -EINVAL);
    r.query[0] = (struct ctl_field){ "\xed\xa0\x80", "v" }; /* a surrogate */
    assert_int_equal(ctl_request_encode(&r, &s, &n), -EINVAL);
    r.query[0] = (struct ctl_field){ "a", NULL };
    assert_int_equal(ctl_request_encode(&r, &s, &n), -EINVAL);
    r.n_query = 2;
    r.query[0] = (struct ctl_field){ "a", "1" };
    r.query[1] = (struct ctl_field){ "a", "2" };
    assert_int_equal(ctl_request_encode(&r, &s, &n), -EINVAL);
    r.n_query = CTL_FIELDS_MAX + 1;
    assert_int_equal(ctl_request_encode(&r, &s, &n), -EINVAL);
    r.n_query = 0;
    r.body = "a\0b";
    r.body_len = 3;
    assert_int_equal(ctl_request_encode(&r, &s, &n), -EINVAL);

    /* A body that fits alone but not once wrapped; and one over the limit by itself. */
    big = malloc(CTL_REQUEST_MAX_BYTES + 2);
    assert_non_null(big);
    memset(big, 'a', CTL_REQUEST_MAX_BYTES + 1);
    big[CTL_REQUEST_MAX_BYTES + 1] = '\0';
    r.body = big;
    r.body_len = CTL_REQUEST_MAX_BYTES;
    assert_int_equal(ctl_request_encode(&r, &s, &n), -EMSGSIZE);
    r.body_len = CTL_REQUEST_MAX_BYTES + 1;
    assert_int_equal(ctl_request_encode(&r, &s, &n), -EMSGSIZE);
    /* Escaping counts: 20000 quotes become 40000 bytes, 40000 become 80000. */
    memset(big, '"', 40000);
    r.body_len = 20000;
    assert_int_equal(ctl_request_encode(&r, &s, &n), 0);
    assert_true(n > 40000 && n <= CTL_REQUEST_MAX_BYTES);
    free(s);
    r.body_len = 40000;
    assert_int_equal(ctl_request_encode(&r, &s, &n), -EMSGSIZE);
    free(big);
}

static void test_request_hostile(void **state)
{
    static const char *const truncated = "{\"method\":\"GET\",\"path\":\"/status\"}";
    char *big;

    /* Every proper prefix of a valid request is refused. */
    for (size_t i = 0; i < strlen(truncated); i++) {
        struct ctl_request req = { 0 };
        assert_int_equal(ctl_request_parse(truncated, i, &req, NULL, 0), -EBADMSG);
    }
    expect_refused("", -EBADMSG, "invalid JSON");
    expect_refused("\x01\x02garbage", -EBADMSG, "invalid JSON");
    expect_refused("[\"GET\",\"/status\"]", -EBADMSG, "must be a JSON object");
    expect_refused("\"GET /status\"", -EBADMSG, "invalid JSON");
    expect_refused("{\"method\":\"GET\",\"path\":\"/status\"} trailing", -EBADMSG, "invalid JSON");

    /* Missing and mistyped fields. */
    expect_refused("{\"path\":\"/status\"}", -EBADMSG, "method");
    expect_refused("{\"method\":\"GET\"}", -EBADMSG, "path");
    expect_refused("{\"method\":1,\"path\":\"/status\"}", -EBADMSG, "method must be a string");
    expect_refused("{\"method\":\"GET\",\"path\":null}", -EBADMSG, "path must be a string");
    expect_refused("{\"method\":\"GET\",\"path\":\"/x\",\"body\":{}}", -EBADMSG,
                   "body must be a string");
    expect_refused("{\"method\":\"GET\",\"path\":\"/x\",\"query\":[\"a\"]}", -EBADMSG, "object");
    expect_refused("{\"method\":\"GET\",\"path\":\"/x\",\"query\":{\"a\":1}}", -EBADMSG,
                   "\"a\" must be a string");
    expect_refused("{\"method\":\"GET\",\"path\":\"/x\",\"headers\":{\"a\":null}}", -EBADMSG,
                   "must be a string");
    expect_refused("{\"method\":\"GET\",\"path\":\"/x\",\"headers\":\"a: b\"}", -EBADMSG, "object");

    /* Values that are strings but not acceptable. */
    expect_refused("{\"method\":\"get\",\"path\":\"/x\"}", -EBADMSG, "capital letters");
    expect_refused("{\"method\":\"\",\"path\":\"/x\"}", -EBADMSG, "capital letters");
    expect_refused("{\"method\":\"GETGETGETGETGETGET\",\"path\":\"/x\"}", -EBADMSG,
                   "capital letters");
    expect_refused("{\"method\":\"GET\",\"path\":\"status\"}", -EBADMSG, "start with '/'");
    expect_refused("{\"method\":\"GET\",\"path\":\"\"}", -EBADMSG, "start with '/'");

    /* Unknown and repeated fields. */
    expect_refused("{\"method\":\"GET\",\"path\":\"/x\",\"version\":2}", -EBADMSG,
                   "unknown field \"version\"");
    expect_refused("{\"method\":\"GET\",\"path\":\"/x\",\"path\":\"/y\"}", -EBADMSG,
                   "invalid JSON");
    expect_refused("{\"method\":\"GET\",\"path\":\"/x\",\"query\":{\"a\":\"1\",\"a\":\"2\"}}",
                   -EBADMSG, "invalid JSON");

    /* A NUL anywhere: path, body, header value, query name. */
    expect_refused("{\"method\":\"GET\",\"path\":\"/x\\u0000y\"}", -EBADMSG, "invalid JSON");
    expect_refused("{\"method\":\"POST\",\"path\":\"/x\",\"body\":\"{}\\u0000\"}", -EBADMSG,
                   "invalid JSON");
    expect_refused("{\"method\":\"GET\",\"path\":\"/x\",\"headers\":{\"a\":\"\\u0000\"}}", -EBADMSG,
                   "invalid JSON");
    expect_refused("{\"method\":\"GET\",\"path\":\"/x\",\"query\":{\"\\u0000\":\"v\"}}", -EBADMSG,
                   "invalid JSON");
    {
        /* A raw NUL byte inside the datagram. */
        static const char raw[] = "{\"method\":\"GET\",\"path\":\"/x\0\"}";
        struct ctl_request req = { 0 };
        assert_int_equal(ctl_request_parse(raw, sizeof(raw) - 1, &req, NULL, 0), -EBADMSG);
    }
    /* Invalid UTF-8 inside a string. */
    expect_refused("{\"method\":\"GET\",\"path\":\"/\xff\"}", -EBADMSG, "invalid JSON");

    /* One field too many. */
    {
        char buf[1024];
        int n = snprintf(buf, sizeof(buf), "{\"method\":\"GET\",\"path\":\"/x\",\"query\":{");
        for (int i = 0; i <= CTL_FIELDS_MAX; i++)
            n += snprintf(buf + n, sizeof(buf) - (size_t) n, "%s\"k%d\":\"v\"", i ? "," : "", i);
        (void) snprintf(buf + n, sizeof(buf) - (size_t) n, "}}");
        expect_refused(buf, -E2BIG, "more than");
    }

    /* 64 KiB + 1: refused for its size before it is looked at; exactly 64 KiB is parsed. */
    big = malloc(CTL_REQUEST_MAX_BYTES + 2);
    assert_non_null(big);
    int head = snprintf(big, 64, "{\"method\":\"POST\",\"path\":\"/x\",\"body\":\"");
    memset(big + head, 'a', CTL_REQUEST_MAX_BYTES + 1 - (size_t) head);
    memcpy(big + CTL_REQUEST_MAX_BYTES + 1 - 2, "\"}", 2);
    big[CTL_REQUEST_MAX_BYTES + 1] = '\0';
    expect_refused(big, -EMSGSIZE, "larger than");
    {
        struct ctl_request req = { 0 };
        memcpy(big + CTL_REQUEST_MAX_BYTES - 2, "\"}", 2);
        assert_int_equal(ctl_request_parse(big, CTL_REQUEST_MAX_BYTES, &req, NULL, 0), 0);
        assert_int_equal(req.body_len, CTL_REQUEST_MAX_BYTES - (size_t) head - 2);
        ctl_request_done(&req);
    }
    free(big);
}

static void test_reply_round_trip(void **state)
{
    struct ctl_reply rep = { 0 };
    char *s = NULL;
    size_t n;

    assert_int_equal(ctl_reply_encode(200, "application/json", "{\"allowed\":true}\n", 17, &s, &n),
                     0);
    assert_string_equal(s,
                        "{\"status\":200,\"content_type\":\"application/json\","
                        "\"body\":\"{\\\"allowed\\\":true}\\n\"}");
    assert_int_equal(ctl_reply_parse(s, n, &rep), 0);
    assert_int_equal(rep.status, 200);
    assert_string_equal(rep.content_type, "application/json");
    assert_string_equal(rep.body, "{\"allowed\":true}\n");
    assert_int_equal(rep.body_len, 17);
    assert_null(rep.error);
    ctl_reply_done(&rep);
    free(s);

    /* No body, no content type. */
    assert_int_equal(ctl_reply_encode(204, NULL, NULL, 0, &s, &n), 0);
    assert_string_equal(s, "{\"status\":204,\"body\":\"\"}");
    assert_int_equal(ctl_reply_parse(s, n, &rep), 0);
    assert_int_equal(rep.status, 204);
    assert_null(rep.content_type);
    assert_string_equal(rep.body, "");
    ctl_reply_done(&rep);
    free(s);

    /* Only the first body_len bytes count. */
    assert_int_equal(ctl_reply_encode(503, "text/plain", "busy and more", 4, &s, &n), 0);
    assert_int_equal(ctl_reply_parse(s, n, &rep), 0);
    assert_string_equal(rep.body, "busy");
    ctl_reply_done(&rep);
    free(s);

    /* The status-0 reply; control characters and non-ASCII bytes of its message are replaced. */
    assert_int_equal(ctl_reply_encode_error("bad \"x\"\n\xff", &s, &n), 0);
    assert_string_equal(s, "{\"status\":0,\"error\":\"bad \\\"x\\\"??\"}");
    assert_int_equal(ctl_reply_parse(s, n, &rep), 0);
    assert_int_equal(rep.status, 0);
    assert_string_equal(rep.error, "bad \"x\"??");
    assert_string_equal(rep.body, "");
    ctl_reply_done(&rep);
    ctl_reply_done(NULL);
    free(s);
}

static void test_reply_encode_refusals(void **state)
{
    char *s = NULL, *big;
    size_t n;

    assert_int_equal(ctl_reply_encode(0, NULL, "x", 1, &s, &n), -EINVAL);
    assert_int_equal(ctl_reply_encode(99, NULL, "x", 1, &s, &n), -EINVAL);
    assert_int_equal(ctl_reply_encode(1000, NULL, "x", 1, &s, &n), -EINVAL);
    assert_int_equal(ctl_reply_encode(200, NULL, "a\0b", 3, &s, &n), -EINVAL);
    assert_int_equal(ctl_reply_encode(200, NULL, "\xc3", 1, &s, &n), -EINVAL); /* cut UTF-8 */
    assert_int_equal(ctl_reply_encode(200, NULL, "\xf4\x90\x80\x80", 4, &s, &n),
                     -EINVAL); /* > U+10FFFF */

    big = malloc(CTL_REPLY_MAX_BYTES + 1);
    assert_non_null(big);
    memset(big, 'x', CTL_REPLY_MAX_BYTES + 1);
    assert_int_equal(ctl_reply_encode(200, "text/plain", big, CTL_REPLY_MAX_BYTES + 1, &s, &n),
                     -EMSGSIZE);
    /* The body alone fits; with the envelope it does not. */
    assert_int_equal(ctl_reply_encode(200, "text/plain", big, CTL_REPLY_MAX_BYTES, &s, &n),
                     -EMSGSIZE);
    assert_int_equal(ctl_reply_encode(200, "text/plain", big, CTL_REPLY_MAX_BYTES - 100, &s, &n),
                     0);
    assert_true(n <= CTL_REPLY_MAX_BYTES);
    free(s);
    free(big);
}

static void expect_reply_refused(const char *s, int r)
{
    struct ctl_reply rep = { 0 };

    if (ctl_reply_parse(s, strlen(s), &rep) != r)
        fail_msg("'%s' was not refused with %d", s, r);
    assert_null(rep.body);
}

static void test_reply_hostile(void **state)
{
    static const char *const ok = "{\"status\":200,\"body\":\"x\"}";
    struct ctl_reply rep = { 0 };

    for (size_t i = 0; i < strlen(ok); i++)
        assert_int_equal(ctl_reply_parse(ok, i, &rep), -EBADMSG);
    expect_reply_refused("", -EBADMSG);
    expect_reply_refused("200", -EBADMSG);
    expect_reply_refused("{\"body\":\"x\"}", -EBADMSG);                    /* no status */
    expect_reply_refused("{\"status\":\"200\",\"body\":\"x\"}", -EBADMSG); /* status as a string */
    expect_reply_refused("{\"status\":200.0,\"body\":\"x\"}", -EBADMSG);   /* a real */
    expect_reply_refused("{\"status\":-1,\"body\":\"x\"}", -EBADMSG);
    expect_reply_refused("{\"status\":42,\"body\":\"x\"}", -EBADMSG);
    expect_reply_refused("{\"status\":1000,\"body\":\"x\"}", -EBADMSG);
    expect_reply_refused("{\"status\":200}", -EBADMSG); /* no body */
    expect_reply_refused("{\"status\":200,\"body\":7}", -EBADMSG);
    expect_reply_refused("{\"status\":200,\"body\":\"x\",\"content_type\":[]}", -EBADMSG);
    expect_reply_refused("{\"status\":0,\"error\":false}", -EBADMSG);
    expect_reply_refused("{\"status\":200,\"body\":\"x\\u0000y\"}", -EBADMSG);
    expect_reply_refused("{\"status\":200,\"body\":\"x\",\"body\":\"y\"}", -EBADMSG);

    /* Fields a newer daemon may add are ignored. */
    {
        static const char *const extra =
                "{\"status\":201,\"body\":\"y\",\"headers\":{\"a\":\"b\"}}";
        assert_int_equal(ctl_reply_parse(extra, strlen(extra), &rep), 0);
    }
    assert_int_equal(rep.status, 201);
    assert_string_equal(rep.body, "y");
    ctl_reply_done(&rep);
    /* A status-0 reply needs no body and no error. */
    assert_int_equal(ctl_reply_parse("{\"status\":0}", 12, &rep), 0);
    assert_int_equal(rep.status, 0);
    assert_null(rep.error);
    ctl_reply_done(&rep);

    /* Over the size limit, whatever it holds. */
    char *big = malloc(CTL_REPLY_MAX_BYTES + 1);
    assert_non_null(big);
    memset(big, ' ', CTL_REPLY_MAX_BYTES + 1);
    memcpy(big, ok, strlen(ok));
    assert_int_equal(ctl_reply_parse(big, CTL_REPLY_MAX_BYTES + 1, &rep), -EMSGSIZE);
    assert_int_equal(ctl_reply_parse(big, CTL_REPLY_MAX_BYTES, &rep),
                     0); /* trailing blanks are fine */
    ctl_reply_done(&rep);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_round_trip),
        cmocka_unit_test(test_request_encode_refusals),
        cmocka_unit_test(test_request_hostile),
        cmocka_unit_test(test_reply_round_trip),
        cmocka_unit_test(test_reply_encode_refusals),
        cmocka_unit_test(test_reply_hostile),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
