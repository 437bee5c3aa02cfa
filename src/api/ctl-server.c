/* SPDX-License-Identifier: MIT */
#include "api/ctl-server.h"
#include "api/unix-listen.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/ctl-msg.h"
#include "basic/log.h"
#include "basic/macro.h"
#include "basic/time-util.h"

/* Connections taken per wake-up of the listener, so that a burst of them does not hold up the
 * loop's other sources. The rest stay in the backlog for the next round. */
#define ACCEPT_BATCH 16

/* Answers built without allocation: for a connection over the limit, and when memory runs out
 * while answering (the same 503 text HTTP gives). */
#define REPLY_BUSY "{\"status\":0,\"error\":\"too many connections\"}"
#define REPLY_OOM                                                                       \
    "{\"status\":503,\"content_type\":\"text/plain; charset=utf-8\",\"body\":\"out of " \
    "memory\\n\"}"
#define CT_TEXT "text/plain; charset=utf-8"

struct ctl_conn {
    struct ctl_server *server;
    struct loop_source *source;
    int fd;
    bool has_peer_cred;
    uid_t peer_uid;
    pid_t peer_pid;
    usec_t active_usec;           /* CLOCK_MONOTONIC of the accept or the last request */
    struct ctl_conn *prev, *next; /* most recently active first */
};

struct ctl_server {
    struct loop *loop;
    struct ctl_server_options opts;
    int fd;
    struct loop_source *source;
    char path[sizeof(((struct sockaddr_un *) NULL)->sun_path)];
    unsigned n_conns;
    struct ctl_conn *conns, *conns_tail;
    char *buf; /* CTL_REQUEST_MAX_BYTES: the datagram being served */
};

static void conn_unlink(struct ctl_conn *c)
{
    struct ctl_server *s = c->server;

    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        s->conns_tail = c->prev;
    c->prev = c->next = NULL;
}

static void conn_push_front(struct ctl_conn *c)
{
    struct ctl_server *s = c->server;

    c->prev = NULL;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    else
        s->conns_tail = c;
    s->conns = c;
}

/* Frees c at once: its loop source is unlinked here and released by the loop after the current
 * round, which never calls a dead source, so nothing refers to c afterwards. */
static void conn_close(struct ctl_conn *c)
{
    struct ctl_server *s = c->server;

    conn_unlink(c);
    s->n_conns--;
    loop_source_free(c->source);
    (void) close(c->fd);
    free(c);
}

/* Closes the connections idle for longer than the timeout (oldest last in the list). */
static void expire_idle(struct ctl_server *s, usec_t now)
{
    usec_t limit = (usec_t) s->opts.connection_timeout_sec * USEC_PER_SEC;

    while (s->conns_tail && now - s->conns_tail->active_usec > limit) {
        log_debug("ctl: closing a connection idle for over %us", s->opts.connection_timeout_sec);
        conn_close(s->conns_tail);
    }
}

/* Sends one datagram without blocking. Returns 0, or -errno when the connection must go: -EAGAIN
 * when the client left earlier replies unread until its buffer filled, -EPIPE when it left. */
static int send_datagram(struct ctl_conn *c, const char *buf, size_t n)
{
    if (send(c->fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
        return 0;
    return negative_errno();
}

static int send_error(struct ctl_conn *c, const char *message)
{
    _cleanup_free_ char *out = NULL;
    size_t n;

    if (ctl_reply_encode_error(message, &out, &n) < 0)
        return send_datagram(c, REPLY_OOM, strlen(REPLY_OOM));
    return send_datagram(c, out, n);
}

/* Encodes and sends what the handler answered; without the body for a HEAD request. */
static int send_response(struct ctl_conn *c, bool head, const struct http_response *resp)
{
    _cleanup_free_ char *out = NULL;
    const char *body = resp->static_body ? resp->static_body : resp->body;
    size_t len = resp->static_body ? strlen(resp->static_body) : resp->body_len, n;
    int r;

    if (head)
        len = 0; /* as over HTTP: what a GET answers, without the body */
    r = ctl_reply_encode(resp->status, resp->content_type, body, body ? len : 0, &out, &n);
    if (r == -EMSGSIZE)
        return send_error(c, "answer too large for the control socket");
    if (r == -EINVAL)
        return send_error(c, "answer not representable as a JSON string");
    if (r < 0)
        return send_datagram(c, REPLY_OOM, strlen(REPLY_OOM));
    r = send_datagram(c, out, n);
    if (r == -EMSGSIZE)
        /* The socket buffer could not be raised enough (net.core.wmem_max set low). */
        return send_error(c, "answer too large for the control socket");
    return r;
}

/* Serves the request of n bytes in s->buf on c. Returns what sending the answer returned. */
static int serve(struct ctl_conn *c, size_t n)
{
    struct ctl_server *s = c->server;
    struct ctl_request cr = { 0 };
    struct http_field headers[CTL_FIELDS_MAX], query[CTL_FIELDS_MAX];
    char err[160];
    int r;

    r = ctl_request_parse(s->buf, n, &cr, err, sizeof(err));
    if (r == -ENOMEM)
        return send_datagram(c, REPLY_OOM, strlen(REPLY_OOM));
    if (r < 0) {
        log_debug("ctl: refused a request: %s", err);
        return send_error(c, err);
    }

    if (s->opts.max_body_bytes && cr.body_len > *s->opts.max_body_bytes) {
        ctl_request_done(&cr);
        struct http_response big = { 0 };
        http_response_static(&big, 413, CT_TEXT, "request body too large\n");
        return send_response(c, false, &big);
    }

    for (unsigned i = 0; i < cr.n_headers; i++)
        headers[i] =
                (struct http_field){ .name = cr.headers[i].name, .value = cr.headers[i].value };
    for (unsigned i = 0; i < cr.n_query; i++)
        query[i] = (struct http_field){ .name = cr.query[i].name, .value = cr.query[i].value };
    struct http_request req = {
        .method = http_method_from_string(cr.method),
        .method_name = cr.method,
        .path = cr.path,
        .is_unix = true,
        .has_peer_cred = c->has_peer_cred,
        .peer_uid = c->peer_uid,
        .peer_pid = c->peer_pid,
        /* As from MHD: no body is NULL, not "". */
        .body = cr.body_len > 0 ? cr.body : NULL,
        .body_len = cr.body_len,
        .conn = NULL,
        .headers = headers,
        .n_headers = cr.n_headers,
        .query = query,
        .n_query = cr.n_query,
    };

    struct http_response resp = { .status = 500 };
    s->opts.handler(&req, &resp, s->opts.userdata);
    if (!resp.body && !resp.static_body && resp.status == 500 && !resp.content_type)
        r = send_datagram(c, REPLY_OOM, strlen(REPLY_OOM));
    else
        r = send_response(c, req.method == HTTP_HEAD, &resp);
    free(resp.body);
    ctl_request_done(&cr);
    return r;
}

static int on_conn(struct loop_source *src, int fd, uint32_t events, void *userdata)
{
    struct ctl_conn *c = userdata;
    struct ctl_server *s = c->server;

    /* MSG_TRUNC: the datagram's real length comes back even when it did not fit, so an oversize
     * one is told from one of exactly the limit, and is consumed whole either way. */
    ssize_t n = recv(fd, s->buf, CTL_REQUEST_MAX_BYTES, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return 0;
        log_debug_errno(negative_errno(), "ctl: receiving failed, closing the connection: %m");
        conn_close(c);
        return 0;
    }
    if (n == 0) {
        /* The client hung up. (An empty datagram reads the same, and is no request either.) */
        conn_close(c);
        return 0;
    }

    c->active_usec = now_usec(CLOCK_MONOTONIC);
    conn_unlink(c);
    conn_push_front(c);

    int r;
    if ((size_t) n > CTL_REQUEST_MAX_BYTES) {
        char msg[64];
        (void) snprintf(msg, sizeof(msg), "request larger than %u bytes", CTL_REQUEST_MAX_BYTES);
        r = send_error(c, msg);
    } else
        r = serve(c, (size_t) n);
    if (r < 0) {
        log_debug_errno(r, "ctl: dropping a connection whose reply could not be sent: %m");
        conn_close(c);
    }
    return 0;
}

static void refuse(int fd)
{
    /* Its client reads this, or fails to send, and asks over HTTP instead. */
    (void) send(fd, REPLY_BUSY, strlen(REPLY_BUSY), MSG_DONTWAIT | MSG_NOSIGNAL);
    (void) close(fd);
}

static int on_accept(struct loop_source *src, int fd, uint32_t events, void *userdata)
{
    struct ctl_server *s = userdata;

    for (unsigned i = 0; i < ACCEPT_BATCH; i++) {
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            if ((errno == EMFILE || errno == ENFILE) && s->conns_tail) {
                /* Out of descriptors: give up the least recently used connection rather than
                 * leave the listener readable and spin on it. */
                conn_close(s->conns_tail);
                continue;
            }
            if (errno != EAGAIN && errno != EINTR)
                log_debug_errno(negative_errno(), "ctl: accept failed: %m");
            return 0;
        }

        usec_t now = now_usec(CLOCK_MONOTONIC);
        expire_idle(s, now);
        if (s->n_conns >= s->opts.max_connections) {
            log_debug("ctl: %u connections open, refusing one more", s->n_conns);
            refuse(cfd);
            continue;
        }

        struct ctl_conn *c = calloc(1, sizeof(*c));
        if (!c) {
            refuse(cfd);
            continue;
        }
        *c = (struct ctl_conn){ .server = s, .fd = cfd, .active_usec = now };

        struct ucred uc;
        socklen_t l = sizeof(uc);
        if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &uc, &l) == 0) {
            c->has_peer_cred = true;
            c->peer_uid = uc.uid;
            c->peer_pid = uc.pid;
        }
        /* A datagram must fit the sender's buffer whole (Linux refuses one larger than
         * SO_SNDBUF minus a little with EMSGSIZE); the default, net.core.wmem_default, is about
         * 208 KiB. The kernel doubles the value asked for, capped by net.core.wmem_max. */
        int sndbuf = (int) CTL_REPLY_MAX_BYTES;
        (void) setsockopt(cfd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));

        int r = loop_add_io(s->loop, cfd, EPOLLIN, on_conn, c, &c->source);
        if (r < 0) {
            free(c);
            refuse(cfd);
            continue;
        }
        conn_push_front(c);
        s->n_conns++;
    }
    return 0;
}

int ctl_server_new(struct loop *l,
                   const char *path,
                   unsigned mode,
                   const struct ctl_server_options *o,
                   struct ctl_server **ret)
{
    int r;

    if (!l || !path || !o || o->max_connections == 0 || !o->handler)
        return -EINVAL;
    if (strlen(path) >= sizeof(((struct sockaddr_un *) NULL)->sun_path))
        return -ENAMETOOLONG;

    _cleanup_free_ struct ctl_server *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    _cleanup_free_ char *buf = malloc(CTL_REQUEST_MAX_BYTES);
    if (!buf)
        return -ENOMEM;

    _cleanup_close_ int fd = unix_listen(path, SOCK_SEQPACKET, mode);
    if (fd < 0)
        return fd;

    *s = (struct ctl_server){ .loop = l, .opts = *o, .fd = fd };
    (void) snprintf(s->path, sizeof(s->path), "%s", path);
    r = loop_add_io(l, fd, EPOLLIN, on_accept, s, &s->source);
    if (r < 0) {
        (void) unlink(path);
        return r;
    }
    TAKE_FD(fd);
    s->buf = TAKE_PTR(buf);
    log_debug("ctl: listening on %s", path);
    *ret = TAKE_PTR(s);
    return 0;
}

struct ctl_server *ctl_server_free(struct ctl_server *s)
{
    if (!s)
        return NULL;
    while (s->conns)
        conn_close(s->conns);
    loop_source_free(s->source);
    if (s->fd >= 0)
        (void) close(s->fd);
    if (s->path[0])
        (void) unlink(s->path);
    free(s->buf);
    free(s);
    return NULL;
}

unsigned ctl_server_connections(const struct ctl_server *s)
{
    return s ? s->n_conns : 0;
}
