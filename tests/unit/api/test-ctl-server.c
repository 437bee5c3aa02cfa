/* SPDX-License-Identifier: MIT */
/* The control socket's server (api/ctl-server.h) with a real loop in a child process and a test
 * handler that echoes what it was given, driven from the parent through real SOCK_SEQPACKET
 * connections: requests reach the handler as over HTTP, answers come back whole, and hostile or
 * greedy clients are bounded without stalling anyone else. */

#include <errno.h>
#include <poll.h>
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
#include "api/ctl-server.h"
#include "basic/time-util.h"
#include "loop/loop.h"

/* cmocka.h needs stdarg.h, stddef.h and setjmp.h before it. */
#include <cmocka.h>

#define MAX_CONNECTIONS 3
#define MAX_BODY_BYTES  ((uint64_t) 1024)

struct server {
    char dir[64];
    char path[128];
    pid_t pid;
};

static struct ctl_server *child_server;

/* The test handler. /echo describes the request it got; /static answers a constant; /oom leaves
 * the response untouched, which is how the handlers signal an allocation failure; /big answers
 * more than a datagram may carry; /binary a body JSON cannot hold; /conns the open connections. */
static void handler(const struct http_request *req, struct http_response *resp, void *userdata)
{
    char *body = NULL;
    char *user = NULL, *password = NULL;

    if (strcmp(req->path, "/echo") == 0) {
        bool basic = http_request_basic_auth(req, &user, &password) == 0;
        const char *a = http_request_query(req, "a");
        const char *h = http_request_header(req, "x-test");
        if (asprintf(&body,
                     "%s %s conn=%s a=%s x-test=%s unix=%d uid=%ld pid=%ld basic=%s:%s body=%s",
                     req->method_name, req->path, req->conn ? "mhd" : "none", a ? a : "-",
                     h ? h : "-", req->is_unix, req->has_peer_cred ? (long) req->peer_uid : -1L,
                     req->has_peer_cred ? (long) req->peer_pid : -1L, basic ? user : "-",
                     basic ? password : "-", req->body ? req->body : "(null)") < 0)
            return;
        free(user);
        free(password);
        http_response_set(resp, 200, "text/plain", body, strlen(body));
    } else if (strcmp(req->path, "/static") == 0)
        http_response_static(resp, 200, "application/json", "{\"allowed\":true}\n");
    else if (strcmp(req->path, "/oom") == 0)
        return;
    else if (strcmp(req->path, "/big") == 0) {
        body = malloc(CTL_REPLY_MAX_BYTES + 1);
        if (!body)
            return;
        memset(body, 'x', CTL_REPLY_MAX_BYTES);
        body[CTL_REPLY_MAX_BYTES] = '\0';
        http_response_set(resp, 200, "text/plain", body, CTL_REPLY_MAX_BYTES);
    } else if (strcmp(req->path, "/binary") == 0)
        http_response_static(resp, 200, "application/octet-stream", "\xff\xfe");
    else if (strcmp(req->path, "/conns") == 0) {
        if (asprintf(&body, "%u", ctl_server_connections(child_server)) < 0)
            return;
        http_response_set(resp, 200, "text/plain", body, strlen(body));
    } else
        http_response_static(resp, 404, "text/plain", "404 page not found\n");
}

static int on_term(struct loop_source *s, const struct signalfd_siginfo *si, void *userdata)
{
    loop_exit(userdata, 0);
    return 0;
}

static _Noreturn void child(const char *path)
{
    static const uint64_t max_body = MAX_BODY_BYTES;
    static const int signals[] = { SIGTERM };
    struct ctl_server_options o = {
        .max_connections = MAX_CONNECTIONS,
        .connection_timeout_sec = 1,
        .max_body_bytes = &max_body,
        .handler = handler,
    };
    struct loop *l = NULL;

    if (loop_new(&l) < 0 || loop_add_signals(l, signals, 1, on_term, l, NULL) < 0)
        _exit(2);
    if (ctl_server_new(l, path, 0600, &o, &child_server) < 0)
        _exit(3);
    int r = loop_run(l);
    child_server = ctl_server_free(child_server);
    loop_free(l);
    _exit(r == 0 ? 0 : 4);
}

static int connect_to(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    (void) snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
        close(fd);
        return -errno;
    }
    return fd;
}

static void server_start(struct server *s)
{
    sigset_t mask;

    (void) snprintf(s->dir, sizeof(s->dir), "/tmp/headroom-ctl-test.XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    (void) snprintf(s->path, sizeof(s->path), "%s/h.sock.ctl", s->dir);
    /* Blocked before the fork, so that a SIGTERM sent at once is not lost before the child's
     * signalfd exists. */
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    assert_int_equal(sigprocmask(SIG_BLOCK, &mask, NULL), 0);
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0)
        child(s->path);
    assert_int_equal(sigprocmask(SIG_UNBLOCK, &mask, NULL), 0);
    for (int i = 0; i < 200; i++) {
        int fd = connect_to(s->path);
        if (fd >= 0) {
            close(fd);
            return;
        }
        usleep(10000);
    }
    fail_msg("the server did not start");
}

static void server_stop(struct server *s)
{
    int status;
    struct stat st;

    assert_int_equal(kill(s->pid, SIGTERM), 0);
    assert_int_equal(waitpid(s->pid, &status, 0), s->pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* Stopping removes the socket file. */
    assert_int_equal(stat(s->path, &st), -1);
    assert_int_equal(rmdir(s->dir), 0);
}

/* Waits up to 5 s for one datagram; returns it malloc()ed (NUL-terminated), or NULL on EOF. */
static char *recv_reply(int fd, size_t *ret_len)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    char *buf = malloc(CTL_REPLY_MAX_BYTES + 1);

    assert_non_null(buf);
    assert_int_equal(poll(&p, 1, 5000), 1);
    ssize_t n = recv(fd, buf, CTL_REPLY_MAX_BYTES, MSG_TRUNC);
    assert_true(n >= 0);
    if (n == 0) {
        free(buf);
        return NULL;
    }
    assert_true((size_t) n <= CTL_REPLY_MAX_BYTES);
    buf[n] = '\0';
    if (ret_len)
        *ret_len = (size_t) n;
    return buf;
}

/* Sends datagram and parses the one reply. */
static void exchange(int fd, const char *datagram, size_t n, struct ctl_reply *ret)
{
    size_t len;

    assert_int_equal(send(fd, datagram, n, MSG_NOSIGNAL), (ssize_t) n);
    char *reply = recv_reply(fd, &len);
    assert_non_null(reply);
    assert_int_equal(ctl_reply_parse(reply, len, ret), 0);
    free(reply);
}

static void
request(int fd, const char *method, const char *path, const char *body, struct ctl_reply *ret)
{
    struct ctl_request r = {
        .method = method, .path = path, .body = body, .body_len = body ? strlen(body) : 0
    };
    char *s;
    size_t n;

    assert_int_equal(ctl_request_encode(&r, &s, &n), 0);
    exchange(fd, s, n, ret);
    free(s);
}

static void test_request_reaches_handler(void **state)
{
    struct server s;
    struct ctl_reply rep = { 0 };
    struct stat st;
    char expected[512];

    server_start(&s);
    assert_int_equal(stat(s.path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);

    int fd = connect_to(s.path);
    assert_true(fd >= 0);
    struct ctl_request r = {
        .method = "POST",
        .path = "/echo",
        .n_query = 1,
        .query = { { "a", "1 2" } },
        .n_headers = 2,
        /* "user:pa:ss": the password keeps its colon. */
        .headers = { { "X-Test", "yes" }, { "authorization", "Basic dXNlcjpwYTpzcw==" } },
        .body = "{\"task\":\"t\"}",
        .body_len = 12,
    };
    char *dg;
    size_t n;
    assert_int_equal(ctl_request_encode(&r, &dg, &n), 0);
    exchange(fd, dg, n, &rep);
    free(dg);
    (void) snprintf(expected, sizeof(expected),
                    "POST /echo conn=none a=1 2 x-test=yes unix=1 uid=%ld pid=%ld basic=user:pa:ss "
                    "body={\"task\":\"t\"}",
                    (long) getuid(), (long) getpid());
    assert_int_equal(rep.status, 200);
    assert_string_equal(rep.content_type, "text/plain");
    assert_string_equal(rep.body, expected);
    ctl_reply_done(&rep);

    /* No body is NULL, as from MHD; absent fields read as absent; a malformed Basic is none. */
    r = (struct ctl_request){
        .method = "GET",
        .path = "/echo",
        .n_headers = 1,
        .headers = { { "Authorization", "Basic dXNlcg==" } },
    };
    assert_int_equal(ctl_request_encode(&r, &dg, &n), 0);
    exchange(fd, dg, n, &rep);
    free(dg);
    assert_non_null(strstr(rep.body, "a=- x-test=- "));
    assert_non_null(strstr(rep.body, "basic=-:- body=(null)"));
    ctl_reply_done(&rep);

    /* Several requests on one connection. */
    for (int i = 0; i < 3; i++) {
        request(fd, "GET", "/static", NULL, &rep);
        assert_int_equal(rep.status, 200);
        assert_string_equal(rep.content_type, "application/json");
        assert_string_equal(rep.body, "{\"allowed\":true}\n");
        ctl_reply_done(&rep);
    }
    /* HEAD: the status and type of a GET, no body. */
    request(fd, "HEAD", "/static", NULL, &rep);
    assert_int_equal(rep.status, 200);
    assert_string_equal(rep.content_type, "application/json");
    assert_string_equal(rep.body, "");
    ctl_reply_done(&rep);
    request(fd, "GET", "/nowhere", NULL, &rep);
    assert_int_equal(rep.status, 404);
    ctl_reply_done(&rep);

    close(fd);
    server_stop(&s);
}

static void test_answers_that_do_not_fit(void **state)
{
    struct server s;
    struct ctl_reply rep = { 0 };
    char body[2048];

    server_start(&s);
    int fd = connect_to(s.path);
    assert_true(fd >= 0);

    request(fd, "GET", "/oom", NULL, &rep);
    assert_int_equal(rep.status, 503);
    assert_string_equal(rep.body, "out of memory\n");
    ctl_reply_done(&rep);

    request(fd, "GET", "/big", NULL, &rep);
    assert_int_equal(rep.status, 0);
    assert_string_equal(rep.error, "answer too large for the control socket");
    ctl_reply_done(&rep);

    request(fd, "GET", "/binary", NULL, &rep);
    assert_int_equal(rep.status, 0);
    assert_non_null(rep.error);
    ctl_reply_done(&rep);

    /* server.max_body_bytes holds here as over HTTP: 413, and exactly the limit is accepted. */
    memset(body, 'b', sizeof(body));
    body[MAX_BODY_BYTES + 1] = '\0';
    request(fd, "POST", "/echo", body, &rep);
    assert_int_equal(rep.status, 413);
    assert_string_equal(rep.body, "request body too large\n");
    ctl_reply_done(&rep);
    body[MAX_BODY_BYTES] = '\0';
    request(fd, "POST", "/echo", body, &rep);
    assert_int_equal(rep.status, 200);
    ctl_reply_done(&rep);

    close(fd);
    server_stop(&s);
}

static void test_hostile_datagrams(void **state)
{
    static const char *const garbage[] = {
        "\x01\x02\x03garbage",
        "{\"method\":\"GET\"",
        "{\"method\":\"GET\",\"path\":\"/static\",\"extra\":1}",
        "{\"method\":7,\"path\":\"/static\"}",
        "[]",
    };
    struct server s;
    struct ctl_reply rep = { 0 };

    server_start(&s);
    int fd = connect_to(s.path);
    assert_true(fd >= 0);

    for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
        exchange(fd, garbage[i], strlen(garbage[i]), &rep);
        assert_int_equal(rep.status, 0);
        assert_non_null(rep.error);
        ctl_reply_done(&rep);
        /* The same connection still serves. */
        request(fd, "GET", "/static", NULL, &rep);
        assert_int_equal(rep.status, 200);
        ctl_reply_done(&rep);
    }

    /* 64 KiB + 1 bytes: refused by size, the connection kept. */
    char *big = malloc(CTL_REQUEST_MAX_BYTES + 1);
    assert_non_null(big);
    memset(big, '{', CTL_REQUEST_MAX_BYTES + 1);
    exchange(fd, big, CTL_REQUEST_MAX_BYTES + 1, &rep);
    assert_int_equal(rep.status, 0);
    assert_string_equal(rep.error, "request larger than 65536 bytes");
    ctl_reply_done(&rep);
    /* 70 KB, as the integration test sends. */
    big = realloc(big, 70000);
    assert_non_null(big);
    memset(big, 'x', 70000);
    exchange(fd, big, 70000, &rep);
    assert_int_equal(rep.status, 0);
    ctl_reply_done(&rep);
    free(big);
    request(fd, "GET", "/static", NULL, &rep);
    assert_int_equal(rep.status, 200);
    ctl_reply_done(&rep);

    close(fd);
    server_stop(&s);
}

static unsigned connections(const char *path)
{
    struct ctl_reply rep = { 0 };
    int fd = connect_to(path);

    assert_true(fd >= 0);
    request(fd, "GET", "/conns", NULL, &rep);
    assert_int_equal(rep.status, 200);
    unsigned n = (unsigned) strtoul(rep.body, NULL, 10);
    ctl_reply_done(&rep);
    close(fd);
    return n;
}

static void test_connection_limit(void **state)
{
    struct server s;
    struct ctl_reply rep = { 0 };
    int fds[MAX_CONNECTIONS];

    server_start(&s);
    for (int i = 0; i < MAX_CONNECTIONS; i++) {
        fds[i] = connect_to(s.path);
        assert_true(fds[i] >= 0);
        request(fds[i], "GET", "/static", NULL, &rep);
        assert_int_equal(rep.status, 200);
        ctl_reply_done(&rep);
    }

    /* One more: told to go elsewhere, then closed. */
    int extra = connect_to(s.path);
    assert_true(extra >= 0);
    char *reply = recv_reply(extra, NULL);
    assert_non_null(reply);
    assert_string_equal(reply, "{\"status\":0,\"error\":\"too many connections\"}");
    free(reply);
    assert_null(recv_reply(extra, NULL));
    close(extra);

    /* A closed connection frees its place. (The count comes from a connection of its own.) */
    close(fds[0]);
    usleep(50000);
    assert_int_equal(connections(s.path), MAX_CONNECTIONS);

    /* Idle for longer than connection_timeout_sec (1 s): closed when the next one arrives. */
    usleep(1200000);
    assert_int_equal(connections(s.path), 1);
    assert_null(recv_reply(fds[1], NULL));
    assert_null(recv_reply(fds[2], NULL));
    close(fds[1]);
    close(fds[2]);
    server_stop(&s);
}

static void test_client_that_does_not_read(void **state)
{
    struct server s;
    struct ctl_reply rep = { 0 };
    struct ctl_request r = { .method = "GET", .path = "/static" };
    char *dg;
    size_t n;
    int i;

    server_start(&s);
    assert_int_equal(ctl_request_encode(&r, &dg, &n), 0);
    int greedy = connect_to(s.path);
    assert_true(greedy >= 0);

    /* Requests without ever reading a reply: the daemon's buffer for this client fills, and it
     * drops the client instead of waiting for it. */
    for (i = 0; i < 100000; i++) {
        if (send(greedy, dg, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
            if (errno == EAGAIN) {
                usleep(1000);
                continue;
            }
            break;
        }
    }
    assert_true(i < 100000);
    assert_true(errno == EPIPE || errno == ECONNRESET);

    /* Meanwhile everyone else is answered. */
    int other = connect_to(s.path);
    assert_true(other >= 0);
    request(other, "GET", "/static", NULL, &rep);
    assert_int_equal(rep.status, 200);
    ctl_reply_done(&rep);
    close(other);
    usleep(50000);
    assert_int_equal(connections(s.path), 1);

    free(dg);
    close(greedy);
    server_stop(&s);
}

static void test_listener_file(void **state)
{
    struct ctl_server_options o = { .max_connections = 4,
                                    .connection_timeout_sec = 60,
                                    .handler = handler };
    char dir[64] = "/tmp/headroom-ctl-test.XXXXXX", path[96], longpath[200];
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct ctl_server *a = NULL, *b = NULL;
    struct loop *l = NULL;
    struct stat st;

    assert_non_null(mkdtemp(dir));
    (void) snprintf(path, sizeof(path), "%s/x.sock.ctl", dir);
    assert_int_equal(loop_new(&l), 0);

    /* A stale socket file (bound, nobody listening) is replaced. */
    int stale = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    assert_true(stale >= 0);
    (void) snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    assert_int_equal(bind(stale, (struct sockaddr *) &sa, sizeof(sa)), 0);
    close(stale);
    assert_int_equal(ctl_server_new(l, path, 0660, &o, &a), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0660);

    /* A live one is not. */
    assert_int_equal(ctl_server_new(l, path, 0660, &o, &b), -EADDRINUSE);
    assert_null(b);
    assert_int_equal(ctl_server_connections(a), 0);
    a = ctl_server_free(a);
    assert_int_equal(stat(path, &st), -1);
    assert_null(ctl_server_free(NULL));

    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    assert_int_equal(ctl_server_new(l, longpath, 0660, &o, &b), -ENAMETOOLONG);
    o.max_connections = 0;
    assert_int_equal(ctl_server_new(l, path, 0660, &o, &b), -EINVAL);
    assert_int_equal(stat(path, &st), -1);

    loop_free(l);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_reaches_handler),
        cmocka_unit_test(test_answers_that_do_not_fit),
        cmocka_unit_test(test_hostile_datagrams),
        cmocka_unit_test(test_connection_limit),
        cmocka_unit_test(test_client_that_does_not_read),
        cmocka_unit_test(test_listener_file),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
