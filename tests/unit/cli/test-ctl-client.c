/* SPDX-License-Identifier: MIT */
/* The client side of the control socket (cli/ctl-client.h): the request datagram built from what
 * http_request() is given, the reply turned into a struct http_response, and the transport
 * against fake daemons in a child process: served, not served (then HTTP takes it), and the
 * failures after the request went out. Also: a request the control socket answers never loads
 * libcurl. */

#include <dlfcn.h>
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/ctl-msg.h"
#include "basic/time-util.h"
#include "cli/ctl-client.h"
#include "cli/http-client.h"

/* cmocka.h needs stdarg.h, stddef.h and setjmp.h before it. */
#include <cmocka.h>

/* ---- the request datagram ---- */

/* Encodes and parses back. */
static void encode(const char *target,
                   const char *body,
                   const char *token,
                   const char *user,
                   const char *password,
                   struct ctl_request *ret)
{
    char *s = NULL;
    size_t n;

    assert_int_equal(ctl_client_encode("GET", target, body, token, user, password, &s, &n), 0);
    assert_int_equal(ctl_request_parse(s, n, ret, NULL, 0), 0);
    free(s);
}

static int encode_r(const char *target, const char *body, const char *token)
{
    char *s = NULL;
    size_t n;
    int r = ctl_client_encode("GET", target, body, token, NULL, NULL, &s, &n);

    if (r == 0)
        free(s);
    else
        assert_null(s);
    return r;
}

static void test_encode_target(void **state)
{
    struct ctl_request r;

    /* The path is decoded as libmicrohttpd decodes it ('+' stays), the query too ('+' is a space).
     */
    encode("/v1/models/a%20b%2Fc+d?complexity=2.5", NULL, NULL, NULL, NULL, &r);
    assert_string_equal(r.method, "GET");
    assert_string_equal(r.path, "/v1/models/a b/c+d");
    assert_int_equal(r.n_query, 1);
    assert_string_equal(r.query[0].name, "complexity");
    assert_string_equal(r.query[0].value, "2.5");
    assert_int_equal(r.n_headers, 0);
    assert_null(r.body);
    ctl_request_done(&r);

    encode("/stats?task=a%2Bb+c%C3%A9", NULL, NULL, NULL, NULL, &r);
    assert_string_equal(r.path, "/stats");
    assert_string_equal(r.query[0].value, "a+b cé");
    ctl_request_done(&r);

    /* The names of /v1/models that URL normalisation would eat. */
    encode("/v1/models/%2E%2E", NULL, NULL, NULL, NULL, &r);
    assert_string_equal(r.path, "/v1/models/..");
    ctl_request_done(&r);

    /* A '%' without two hex digits stays as it is. */
    encode("/a%zz%4?x=%&y=%4g", NULL, NULL, NULL, NULL, &r);
    assert_string_equal(r.path, "/a%zz%4");
    assert_int_equal(r.n_query, 2);
    assert_string_equal(r.query[0].value, "%");
    assert_string_equal(r.query[1].value, "%4g");
    ctl_request_done(&r);

    /* Arguments without '=' read as absent over HTTP, and are left out; empty ones are kept. */
    encode("/status?flag&a=&&b=1#frag", NULL, NULL, NULL, NULL, &r);
    assert_int_equal(r.n_query, 2);
    assert_string_equal(r.query[0].name, "a");
    assert_string_equal(r.query[0].value, "");
    assert_string_equal(r.query[1].name, "b");
    assert_string_equal(r.query[1].value, "1");
    ctl_request_done(&r);
    encode("/status?", NULL, NULL, NULL, NULL, &r);
    assert_int_equal(r.n_query, 0);
    ctl_request_done(&r);

    /* Not carried: HTTP takes these, or says what is wrong with them. */
    assert_int_equal(encode_r("status", NULL, NULL), -EINVAL);
    assert_int_equal(encode_r("/x%00y", NULL, NULL), -EINVAL);
    assert_int_equal(encode_r("/x?a=%00", NULL, NULL), -EINVAL);
    assert_int_equal(encode_r("/x?a=1&a=2", NULL, NULL), -EINVAL);
    assert_int_equal(encode_r("/x%FF", NULL, NULL), -EINVAL); /* not UTF-8 once decoded */
    assert_int_equal(
            encode_r("/x?a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10&k=11&l=12&m=13&n=14&o=15&p=16",
                     NULL, NULL),
            0);
    assert_int_equal(encode_r("/x?a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10&k=11&l=12&m=13&n=14&o="
                              "15&p=16&q=17",
                              NULL, NULL),
                     -EINVAL);
    assert_int_equal(ctl_client_encode("GET", NULL, NULL, NULL, NULL, NULL, &(char *){ NULL },
                                       &(size_t){ 0 }),
                     -EINVAL);
}

static void test_encode_body_and_credentials(void **state)
{
    struct ctl_request r;
    char *big;

    encode("/v1/ask", "{\"task\":\"x\"}", "s3cret", "user", "pass", &r);
    assert_string_equal(r.body, "{\"task\":\"x\"}");
    assert_int_equal(r.n_headers, 1);
    assert_string_equal(r.headers[0].name, "authorization");
    /* The token wins over Basic, as over HTTP. */
    assert_string_equal(r.headers[0].value, "Bearer s3cret");
    ctl_request_done(&r);

    encode("/v1/ask", "", NULL, "user", "pass", &r);
    assert_string_equal(r.headers[0].value, "Basic dXNlcjpwYXNz");
    assert_string_equal(r.body, "");
    ctl_request_done(&r);
    /* Every padding length; the password may hold a colon. */
    encode("/", NULL, NULL, "ab", "c:d", &r);
    assert_string_equal(r.headers[0].value, "Basic YWI6Yzpk");
    ctl_request_done(&r);
    encode("/", NULL, NULL, "a", "bc", &r);
    assert_string_equal(r.headers[0].value, "Basic YTpiYw==");
    ctl_request_done(&r);
    encode("/", NULL, NULL, "a", "bcd", &r);
    assert_string_equal(r.headers[0].value, "Basic YTpiY2Q=");
    ctl_request_done(&r);
    /* Basic needs both. */
    encode("/", NULL, NULL, "user", "", &r);
    assert_int_equal(r.n_headers, 0);
    ctl_request_done(&r);
    encode("/", NULL, NULL, NULL, "pass", &r);
    assert_int_equal(r.n_headers, 0);
    ctl_request_done(&r);

    assert_int_equal(encode_r("/", NULL, "tok\r\nX-Evil: 1"), -EINVAL);
    assert_int_equal(encode_r("/", "{\"a\":\"\xff\"}", NULL), -EINVAL);

    /* Too large for a datagram: left to HTTP. */
    big = malloc(70001);
    assert_non_null(big);
    memset(big, ' ', 70000);
    big[70000] = '\0';
    assert_int_equal(encode_r("/v1/ask", big, NULL), -EMSGSIZE);
    free(big);
}

static void test_decode(void **state)
{
    struct http_response resp = { 0 };
    char err[HTTP_ERROR_MAX];
    static const char ok[] =
            "{\"status\":503,\"content_type\":\"application/"
            "json\",\"body\":\"{\\\"allowed\\\":false}\\n\"}";
    static const char zero[] =
            "{\"status\":0,\"error\":\"answer too large for the control socket\"}";

    assert_int_equal(ctl_client_decode(ok, strlen(ok), &resp, err), 1);
    assert_int_equal(resp.status, 503);
    assert_string_equal(resp.body, "{\"allowed\":false}\n");
    assert_int_equal(resp.body_size, 18);
    http_response_done(&resp);

    assert_int_equal(ctl_client_decode(zero, strlen(zero), &resp, err), 0);
    assert_string_equal(err, "answer too large for the control socket");
    assert_null(resp.body);

    assert_int_equal(ctl_client_decode("{\"status\":200", 13, &resp, err), -EPROTO);
    assert_non_null(strstr(err, "malformed"));
    assert_int_equal(ctl_client_decode("{\"status\":200,\"body\":1}", 23, &resp, err), -EPROTO);
    assert_null(resp.body);
}

/* ---- the transport, against fake daemons ---- */

enum fake_mode {
    FAKE_ECHO,    /* answers 200 with the request datagram as the body */
    FAKE_STATUS0, /* answers status 0 */
    FAKE_SILENT,  /* reads the request, never answers */
    FAKE_CLOSE,   /* reads the request, hangs up */
    FAKE_GARBAGE, /* answers something that is not a reply */
};

struct fake {
    char dir[64];
    char sock[96]; /* the HTTP socket's path: nothing listens there */
    char ctl[100];
    pid_t pid;
};

static _Noreturn void fake_serve(int lfd, enum fake_mode mode)
{
    char *buf = malloc(CTL_REQUEST_MAX_BYTES);

    if (!buf)
        _exit(2);
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            _exit(3);
        ssize_t n = recv(fd, buf, CTL_REQUEST_MAX_BYTES, 0);
        if (n <= 0) {
            close(fd);
            continue;
        }
        char *out = NULL;
        size_t len = 0;
        switch (mode) {
        case FAKE_ECHO:
            if (ctl_reply_encode(200, "application/json", buf, (size_t) n, &out, &len) < 0)
                _exit(4);
            break;
        case FAKE_STATUS0:
            if (ctl_reply_encode_error("not here", &out, &len) < 0)
                _exit(4);
            break;
        case FAKE_SILENT:
            pause();
            break;
        case FAKE_CLOSE:
            break;
        case FAKE_GARBAGE:
            out = strdup("HTTP/1.1 200 OK\r\n\r\n");
            len = out ? strlen(out) : 0;
            break;
        }
        if (out)
            (void) send(fd, out, len, MSG_NOSIGNAL);
        free(out);
        close(fd);
    }
}

static void fake_start(struct fake *f, int type, enum fake_mode mode)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };

    (void) snprintf(f->dir, sizeof(f->dir), "/tmp/headroom-ctlc-test.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    (void) snprintf(f->sock, sizeof(f->sock), "%s/h.sock", f->dir);
    (void) snprintf(f->ctl, sizeof(f->ctl), "%s" CTL_SOCKET_SUFFIX, f->sock);
    f->pid = -1;
    if (type < 0)
        return;
    int lfd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    assert_true(lfd >= 0);
    (void) snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->ctl);
    assert_int_equal(bind(lfd, (struct sockaddr *) &sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 16), 0);
    f->pid = fork();
    assert_true(f->pid >= 0);
    if (f->pid == 0)
        fake_serve(lfd, mode);
    close(lfd);
}

static void fake_stop(struct fake *f)
{
    if (f->pid > 0) {
        (void) kill(f->pid, SIGKILL);
        (void) waitpid(f->pid, NULL, 0);
    }
    (void) unlink(f->ctl);
    assert_int_equal(rmdir(f->dir), 0);
}

static struct http_client client_for(const struct fake *f)
{
    struct http_client c = { .timeout_usec = 5 * USEC_PER_SEC };

    assert_int_equal(server_addr_parse(f->sock, &c.server), 0);
    assert_int_equal(c.server.kind, SERVER_ADDR_UNIX);
    return c;
}

static bool curl_is_loaded(void)
{
    void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_NOLOAD);
    if (h)
        dlclose(h);
    return h != NULL;
}

static void test_served_without_libcurl(void **state)
{
    struct fake f;
    struct http_response resp = { 0 };
    struct ctl_request req;
    char err[HTTP_ERROR_MAX];

    /* This runs first: nothing in this process has needed libcurl yet. */
    assert_false(curl_is_loaded());
    fake_start(&f, SOCK_SEQPACKET, FAKE_ECHO);
    struct http_client c = client_for(&f);
    c.token = "t0k";

    /* Through http_request(): answered on the control socket (the HTTP socket does not even
     * exist), and libcurl was never loaded. */
    assert_int_equal(
            http_request(&c, "POST", "/v1/ask?reason=true", "{\"task\":\"x\"}", &resp, err), 0);
    assert_false(curl_is_loaded());
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.body_size, strlen(resp.body));
    assert_int_equal(ctl_request_parse(resp.body, resp.body_size, &req, NULL, 0), 0);
    assert_string_equal(req.method, "POST");
    assert_string_equal(req.path, "/v1/ask");
    assert_string_equal(req.query[0].name, "reason");
    assert_string_equal(req.query[0].value, "true");
    assert_string_equal(req.headers[0].value, "Bearer t0k");
    assert_string_equal(req.body, "{\"task\":\"x\"}");
    ctl_request_done(&req);
    http_response_done(&resp);

    /* HEADROOM_NO_CTL turns it off ("0" and "" do not). */
    assert_int_equal(setenv(CTL_CLIENT_DISABLE_ENV, "0", 1), 0);
    assert_int_equal(ctl_client_request(&c, "GET", "/status", NULL, &resp, err), 1);
    http_response_done(&resp);
    assert_int_equal(setenv(CTL_CLIENT_DISABLE_ENV, "", 1), 0);
    assert_int_equal(ctl_client_request(&c, "GET", "/status", NULL, &resp, err), 1);
    http_response_done(&resp);
    assert_int_equal(setenv(CTL_CLIENT_DISABLE_ENV, "1", 1), 0);
    assert_int_equal(ctl_client_request(&c, "GET", "/status", NULL, &resp, err), 0);
    assert_null(resp.body);
    assert_int_equal(unsetenv(CTL_CLIENT_DISABLE_ENV), 0);

    /* A request a datagram cannot carry is left to HTTP. */
    assert_int_equal(ctl_client_request(&c, "GET", "/x%00", NULL, &resp, err), 0);
    fake_stop(&f);
}

static void test_not_served(void **state)
{
    struct fake f;
    struct http_response resp = { 0 };
    char err[HTTP_ERROR_MAX];
    struct http_client c;

    /* No control socket (ENOENT). */
    fake_start(&f, -1, FAKE_ECHO);
    c = client_for(&f);
    assert_int_equal(ctl_client_request(&c, "GET", "/status", NULL, &resp, err), 0);
    /* A file that is not a socket (ECONNREFUSED). */
    int fd = open(f.ctl, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(ctl_client_request(&c, "GET", "/status", NULL, &resp, err), 0);
    fake_stop(&f);

    /* A stream socket there (EPROTOTYPE). */
    fake_start(&f, SOCK_STREAM, FAKE_ECHO);
    c = client_for(&f);
    assert_int_equal(ctl_client_request(&c, "GET", "/status", NULL, &resp, err), 0);
    fake_stop(&f);

    /* The daemon says status 0; its reason comes back. */
    fake_start(&f, SOCK_SEQPACKET, FAKE_STATUS0);
    c = client_for(&f);
    assert_int_equal(ctl_client_request(&c, "GET", "/status", NULL, &resp, err), 0);
    assert_string_equal(err, "not here");
    assert_null(resp.body);
    fake_stop(&f);

    /* A TCP daemon has no control socket. */
    c = (struct http_client){ .timeout_usec = USEC_PER_SEC };
    assert_int_equal(server_addr_parse("http://127.0.0.1:9", &c.server), 0);
    assert_int_equal(ctl_client_request(&c, "GET", "/status", NULL, &resp, err), 0);
}

static void test_failures_after_sending(void **state)
{
    struct fake f;
    struct http_response resp = { 0 };
    char err[HTTP_ERROR_MAX];
    struct http_client c;

    fake_start(&f, SOCK_SEQPACKET, FAKE_SILENT);
    c = client_for(&f);
    c.timeout_usec = 200 * USEC_PER_MSEC;
    usec_t start = now_usec(CLOCK_MONOTONIC);
    assert_int_equal(ctl_client_request(&c, "POST", "/task/notify", "{}", &resp, err), -ETIMEDOUT);
    usec_t took = now_usec(CLOCK_MONOTONIC) - start;
    assert_true(took >= 200 * USEC_PER_MSEC && took < 2 * USEC_PER_SEC);
    assert_non_null(strstr(err, "200 ms"));
    fake_stop(&f);

    fake_start(&f, SOCK_SEQPACKET, FAKE_CLOSE);
    c = client_for(&f);
    assert_int_equal(ctl_client_request(&c, "POST", "/task/notify", "{}", &resp, err), -ECONNRESET);
    assert_non_null(strstr(err, "without answering"));
    fake_stop(&f);

    fake_start(&f, SOCK_SEQPACKET, FAKE_GARBAGE);
    c = client_for(&f);
    assert_int_equal(ctl_client_request(&c, "GET", "/status", NULL, &resp, err), -EPROTO);
    assert_null(resp.body);
    fake_stop(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_served_without_libcurl),
        cmocka_unit_test(test_encode_target),
        cmocka_unit_test(test_encode_body_and_credentials),
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_not_served),
        cmocka_unit_test(test_failures_after_sending),
    };

    (void) unsetenv(CTL_CLIENT_DISABLE_ENV);
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
