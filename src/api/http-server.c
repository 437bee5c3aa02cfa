/* SPDX-License-Identifier: MIT */
#include "api/http-server.h"
#include "api/unix-listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/macro.h"
#include "basic/parse-util.h"

#define LISTENERS_MAX 12
#define STATIC_RESPONSES_MAX 16

/* The per-connection memory pool of libmicrohttpd holds the request line, the headers and the read
 * buffer (bodies go to our own bounded buffer). MHD clears the whole pool before each keep-alive
 * request, so its size is paid on every request: 64 KiB cost a third of the CPU per answer in
 * bench/ask; 16 KiB leaves ample room for any sane header set. */
#define CONNECTION_MEMORY_BYTES ((size_t) 16384)

struct listener {
    struct http_server *server;
    struct MHD_Daemon *mhd;
    struct loop_source *source;
    int fd;
    unsigned n_connections;    /* as of the last MHD_run */
    bool is_unix;
    char unix_path[sizeof(((struct sockaddr_un *) NULL)->sun_path)];
};

struct static_response {
    const char *body;
    unsigned status;
    const char *content_type;
    struct MHD_Response *response;
};

/* An open streaming body: the MHD response's reader state. Linked in its server's list from its
 * start until MHD releases the response (on_stream_done). */
struct http_stream {
    struct http_server *server;
    struct MHD_Connection *conn;
    const struct http_stream_ops *ops;
    void *userdata;
    usec_t idle_usec;
    bool parked;               /* suspended until news or its deadline */
    usec_t sent_usec;          /* CLOCK_MONOTONIC: when the reader last gave bytes */
    usec_t wake_usec;          /* parked: when to read again */
    int fd;                    /* the connection's socket, -EBADF unknown */
    struct loop_source *hup_src; /* parked: watches fd for the client hanging up */
    bool peer_gone;
    struct http_stream *prev, *next;
};

struct http_server {
    struct loop *loop;
    struct http_server_options opts;
    unsigned n_static;
    struct static_response statics[STATIC_RESPONSES_MAX];
    unsigned n_listeners;
    struct listener listeners[LISTENERS_MAX];
    struct http_stream *streams;
    bool resumed;              /* a stream was woken: run MHD before the loop sleeps */
};

/* Per-request state, from the first access callback to the completion notice. */
struct req_state {
    char *body;
    size_t len;
    size_t cap;
    bool too_large;
};

static const char *const security_headers[][2] = {
    /* The same four headers capfox sends on every response: clients and proxies that were set up
     * around capfox keep seeing them. */
    { "X-Content-Type-Options", "nosniff" },
    { "X-Frame-Options", "DENY" },
    { "Cache-Control", "no-store" },
    { "X-XSS-Protection", "1; mode=block" },
};

const char *http_request_header(const struct http_request *r, const char *name)
{
    if (!r->conn) {
        for (unsigned i = 0; i < r->n_headers; i++)
            if (strcasecmp(r->headers[i].name, name) == 0)
                return r->headers[i].value;
        return NULL;
    }
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *http_request_query(const struct http_request *r, const char *name)
{
    if (!r->conn) {
        /* Like MHD, argument names match exactly. */
        for (unsigned i = 0; i < r->n_query; i++)
            if (strcmp(r->query[i].name, name) == 0)
                return r->query[i].value;
        return NULL;
    }
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

void http_response_set(struct http_response *resp, unsigned status, const char *content_type, char *body,
                       size_t len)
{
    free(resp->body);
    resp->status = status;
    resp->content_type = content_type;
    resp->body = body;
    resp->body_len = len;
}

int http_response_text(struct http_response *resp, unsigned status, const char *content_type, const char *text)
{
    char *copy = strdup(text);
    if (!copy)
        return -ENOMEM;
    http_response_set(resp, status, content_type, copy, strlen(copy));
    return 0;
}

void http_response_static(struct http_response *resp, unsigned status, const char *content_type,
                          const char *body)
{
    http_response_set(resp, status, content_type, NULL, 0);
    resp->static_body = body;
}

void http_response_stream(struct http_response *resp, unsigned status, const char *content_type,
                          const struct http_stream_ops *ops, void *userdata, usec_t idle_usec,
                          unsigned stall_sec)
{
    http_response_set(resp, status, content_type, NULL, 0);
    resp->static_body = NULL;
    resp->stream = ops;
    resp->stream_userdata = userdata;
    resp->stream_idle_usec = idle_usec;
    resp->stream_stall_sec = stall_sec;
}

void http_stream_wake(struct http_stream *h)
{
    if (!h->parked)
        return;
    /* MHD takes the connection back at its next run, which on_prepare() makes happen before the
     * loop sleeps: in external-epoll mode a resume alone does not wake MHD's epoll fd. */
    h->parked = false;
    h->server->resumed = true;
    loop_source_free(h->hup_src);
    h->hup_src = NULL;
    MHD_resume_connection(h->conn);
}

/* A suspended connection is out of MHD's sight, hang-ups included: without this a client that
 * went away would hold its stream until the next keepalive. */
static int on_stream_hup(struct loop_source *src, int fd, uint32_t events, void *userdata)
{
    struct http_stream *h = userdata;

    h->peer_gone = true;
    http_stream_wake(h);
    return 0;
}

static void stream_unlink(struct http_stream *h)
{
    struct http_server *s = h->server;

    if (h->prev)
        h->prev->next = h->next;
    else
        s->streams = h->next;
    if (h->next)
        h->next->prev = h->prev;
    h->prev = h->next = NULL;
}

/* MHD's content reader: the body is read as MHD has room for it in its write buffer, so a client
 * that does not read never makes us produce more than one buffer's worth. */
static ssize_t on_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct http_stream *h = cls;
    ssize_t n;

    (void) pos;
    if (h->peer_gone)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    n = h->ops->read(h, h->userdata, buf, max);
    if (n == 0) {
        usec_t now = now_usec(CLOCK_MONOTONIC);

        /* Returning 0 makes MHD try again at once; suspended, it waits for a wake instead of
         * spinning. Suspending from the content reader is what MHD documents for this. The idle
         * time counts from the last bytes sent; a reader that still has nothing after it waits
         * a whole idle time again rather than being woken in a tight loop. */
        h->parked = true;
        h->wake_usec = usec_add(h->sent_usec, h->idle_usec);
        if (h->wake_usec <= now)
            h->wake_usec = usec_add(now, h->idle_usec);
        /* EPOLLRDHUP only: bytes a client sends on a stream (there should be none) wait. */
        if (h->fd >= 0 && !h->hup_src)
            (void) loop_add_io(h->server->loop, h->fd, EPOLLRDHUP, on_stream_hup, h, &h->hup_src);
        MHD_suspend_connection(h->conn);
        return 0;
    }
    if (n > 0)
        h->sent_usec = now_usec(CLOCK_MONOTONIC);
    if (n == HTTP_STREAM_END)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (n < 0 || (size_t) n > max)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    return n;
}

static void on_stream_done(void *cls)
{
    struct http_stream *h = cls;

    loop_source_free(h->hup_src);
    stream_unlink(h);
    h->ops->free(h->userdata);
    free(h);
}

/* A streaming response for resp; NULL (userdata released) when it cannot be built. */
static struct MHD_Response *stream_response(struct http_server *s, struct MHD_Connection *c,
                                            struct http_response *resp)
{
    struct http_stream *h = calloc(1, sizeof(*h));
    struct MHD_Response *r;

    if (!h) {
        resp->stream->free(resp->stream_userdata);
        return NULL;
    }
    *h = (struct http_stream) {
        .server = s,
        .conn = c,
        .ops = resp->stream,
        .userdata = resp->stream_userdata,
        .idle_usec = resp->stream_idle_usec,
        .sent_usec = now_usec(CLOCK_MONOTONIC),
        .fd = -EBADF,
    };
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci)
        h->fd = ci->connect_fd;
    resp->stream = NULL;
    resp->stream_userdata = NULL;
    /* The block size only sizes MHD's buffer for HTTP/1.0 clients; chunked answers are read
     * straight into the connection's write buffer. */
    r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, on_stream_read, h, on_stream_done);
    if (!r) {
        h->ops->free(h->userdata);
        free(h);
        return NULL;
    }
    h->next = s->streams;
    if (s->streams)
        s->streams->prev = h;
    s->streams = h;
    /* The server's idle timeout fits request-response traffic; a stream idles by design (MHD
     * stops the clock while it is suspended), and only a client that takes nothing for
     * stall_sec is cut off. */
    if (resp->stream_stall_sec > 0)
        (void) MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT,
                                         (unsigned int) resp->stream_stall_sec);
    return r;
}

void http_response_header(struct http_response *resp, const char *name, const char *value)
{
    if (resp->n_headers >= HTTP_HEADERS_MAX)
        return;
    resp->headers[resp->n_headers].name = name;
    (void) snprintf(resp->headers[resp->n_headers].value, sizeof(resp->headers[0].value), "%s", value);
    resp->n_headers++;
}

enum http_method http_method_from_string(const char *m)
{
    static const struct {
        const char *name;
        enum http_method method;
    } table[] = {
        { "GET", HTTP_GET },       { "HEAD", HTTP_HEAD },     { "POST", HTTP_POST },
        { "PUT", HTTP_PUT },       { "DELETE", HTTP_DELETE }, { "PATCH", HTTP_PATCH },
        { "OPTIONS", HTTP_OPTIONS },
    };
    for (size_t i = 0; i < ELEMENTSOF(table); i++)
        if (strcmp(m, table[i].name) == 0)
            return table[i].method;
    return HTTP_OTHER;
}

static void add_common_headers(struct MHD_Response *r, const char *content_type)
{
    for (size_t i = 0; i < ELEMENTSOF(security_headers); i++)
        (void) MHD_add_response_header(r, security_headers[i][0], security_headers[i][1]);
    if (content_type)
        (void) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
}

/* The cached MHD response for a constant answer, built on first use. NULL on OOM or when the cache
 * is full (the caller then builds a one-off response). */
static struct MHD_Response *static_response(struct http_server *s, const struct http_response *resp)
{
    for (unsigned i = 0; i < s->n_static; i++) {
        struct static_response *sr = &s->statics[i];
        if (sr->body == resp->static_body && sr->status == resp->status && sr->content_type == resp->content_type)
            return sr->response;
    }
    if (s->n_static >= STATIC_RESPONSES_MAX)
        return NULL;
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(resp->static_body), (void *) resp->static_body,
                                                             MHD_RESPMEM_PERSISTENT);
    if (!r)
        return NULL;
    add_common_headers(r, resp->content_type);
    s->statics[s->n_static++] = (struct static_response) {
        .body = resp->static_body,
        .status = resp->status,
        .content_type = resp->content_type,
        .response = r,
    };
    return r;
}

static enum MHD_Result queue(struct http_server *s, struct MHD_Connection *c, struct http_response *resp)
{
    struct MHD_Response *r;

    if (resp->stream) {
        r = stream_response(s, c, resp);
        if (!r)
            return MHD_NO;
        add_common_headers(r, resp->content_type);
        for (unsigned i = 0; i < resp->n_headers; i++)
            (void) MHD_add_response_header(r, resp->headers[i].name, resp->headers[i].value);
        enum MHD_Result ret = MHD_queue_response(c, resp->status, r);
        MHD_destroy_response(r);
        return ret;
    }
    if (resp->static_body && resp->n_headers == 0) {
        r = static_response(s, resp);
        if (r)
            return MHD_queue_response(c, resp->status, r);
    }
    if (resp->static_body) {
        r = MHD_create_response_from_buffer(strlen(resp->static_body), (void *) resp->static_body,
                                            MHD_RESPMEM_PERSISTENT);
    } else if (!resp->body) {
        r = MHD_create_response_from_buffer(0, (void *) "", MHD_RESPMEM_PERSISTENT);
    } else {
        r = MHD_create_response_from_buffer(resp->body_len, resp->body, MHD_RESPMEM_MUST_FREE);
        if (r)
            resp->body = NULL; /* MHD owns it now */
    }
    if (!r) {
        free(resp->body);
        resp->body = NULL;
        return MHD_NO;
    }
    add_common_headers(r, resp->content_type);
    for (unsigned i = 0; i < resp->n_headers; i++)
        (void) MHD_add_response_header(r, resp->headers[i].name, resp->headers[i].value);

    enum MHD_Result ret = MHD_queue_response(c, resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result queue_simple(struct http_server *s, struct MHD_Connection *c, unsigned status,
                                    const char *text)
{
    struct http_response resp = { 0 };

    http_response_static(&resp, status, "text/plain; charset=utf-8", text);
    return queue(s, c, &resp);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                 const char *version, const char *upload_data, size_t *upload_data_size,
                                 void **con_cls)
{
    struct listener *li = cls;
    struct http_server *s = li->server;
    struct req_state *st = *con_cls;

    if (!st) {
        st = calloc(1, sizeof(*st));
        if (!st)
            return MHD_NO;
        *con_cls = st;

        /* Refuse an announced oversize body before it is transferred: MHD then discards the
         * body and closes the connection. */
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        uint64_t announced;
        if (cl && safe_atou64(cl, &announced) == 0 && announced > s->opts.max_body_bytes) {
            st->too_large = true;
            return queue_simple(s, c, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large\n");
        }
        return MHD_YES;
    }

    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (st->too_large)
            return MHD_YES;
        if (st->len + n > s->opts.max_body_bytes) {
            /* A chunked body that grew past the cap: drop what we have and answer 413 at the
             * end; MHD does not allow a response while the body is still arriving. */
            st->too_large = true;
            free(st->body);
            st->body = NULL;
            st->len = st->cap = 0;
            return MHD_YES;
        }
        if (st->len + n + 1 > st->cap) {
            size_t ncap = st->cap ? st->cap : 1024;
            while (ncap < st->len + n + 1)
                ncap *= 2;
            char *nb = realloc(st->body, ncap);
            if (!nb)
                return MHD_NO;
            st->body = nb;
            st->cap = ncap;
        }
        memcpy(st->body + st->len, upload_data, n);
        st->len += n;
        st->body[st->len] = '\0';
        return MHD_YES;
    }

    if (st->too_large)
        return queue_simple(s, c, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large\n");

    struct http_request req = {
        .method = http_method_from_string(method),
        .method_name = method,
        .path = url,
        .is_unix = li->is_unix,
        .body = st->body,
        .body_len = st->len,
        .conn = c,
    };
    if (li->is_unix) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct ucred uc;
        socklen_t l = sizeof(uc);
        if (ci && getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &uc, &l) == 0) {
            req.has_peer_cred = true;
            req.peer_uid = uc.uid;
            req.peer_pid = uc.pid;
        }
    }

    struct http_response resp = { .status = 500 };
    s->opts.handler(&req, &resp, s->opts.userdata);
    if (!resp.body && !resp.static_body && resp.status == 500 && !resp.content_type)
        return queue_simple(s, c, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n");
    return queue(s, c, &resp);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    struct req_state *st = *con_cls;

    if (!st)
        return;
    free(st->body);
    free(st);
    *con_cls = NULL;
}

_printf_(2, 0) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char buf[512];

    (void) vsnprintf(buf, sizeof(buf), fmt, ap);
    buf[strcspn(buf, "\n")] = '\0';
    log_debug("http: %s", buf);
}

static unsigned connections_of(struct listener *li)
{
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(li->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    return di ? di->num_connections : 0;
}

/* Runs MHD once; and once more when connections were closed, because MHD in external-epoll mode
 * takes its listening socket out of its epoll set at the connection limit and only puts it back at
 * the start of a later run. Without that second run no event would ever come again, and the daemon
 * would stop accepting for good after one burst of connections. */
static void run_mhd(struct listener *li)
{
    (void) MHD_run(li->mhd);
    unsigned n = connections_of(li);
    if (n < li->n_connections)
        (void) MHD_run(li->mhd);
    li->n_connections = n;
}

static int on_listener_ready(struct loop_source *src, int fd, uint32_t events, void *userdata)
{
    run_mhd(userdata);
    return 0;
}

/* MHD keeps its own deadlines (idle connections, data already buffered): run it when one is due
 * and tell the loop how long it may sleep. */
static int on_prepare(void *userdata)
{
    struct http_server *s = userdata;
    int timeout_ms = -1;

    for (int spins = 0; spins < 4; spins++) {
        bool ran = false;

        /* Streams that waited their idle time are read again (a keepalive, or finding the client
         * gone). */
        if (s->streams) {
            usec_t now = now_usec(CLOCK_MONOTONIC);

            for (struct http_stream *h = s->streams; h; h = h->next)
                if (h->parked && h->idle_usec > 0 && h->wake_usec <= now)
                    http_stream_wake(h);
        }
        if (s->resumed) {
            s->resumed = false;
            for (unsigned i = 0; i < s->n_listeners; i++)
                run_mhd(&s->listeners[i]);
            ran = true;
        }
        for (unsigned i = 0; i < s->n_listeners; i++) {
            MHD_UNSIGNED_LONG_LONG to;

            if (MHD_get_timeout(s->listeners[i].mhd, &to) == MHD_YES && to == 0) {
                run_mhd(&s->listeners[i]);
                ran = true;
            }
        }
        /* A run can wake streams again (a request that emits an event), or leave MHD work due. */
        if (!ran)
            break;
    }
    if (s->resumed)
        return 0;

    for (unsigned i = 0; i < s->n_listeners; i++) {
        MHD_UNSIGNED_LONG_LONG to;

        if (MHD_get_timeout(s->listeners[i].mhd, &to) != MHD_YES)
            continue;
        if (to == 0)
            to = 1;
        if (timeout_ms < 0 || to < (MHD_UNSIGNED_LONG_LONG) timeout_ms)
            timeout_ms = to > INT_MAX ? INT_MAX : (int) to;
    }
    /* The parked streams' idle deadlines. */
    if (s->streams) {
        usec_t now = now_usec(CLOCK_MONOTONIC);

        for (struct http_stream *h = s->streams; h; h = h->next) {
            if (!h->parked || h->idle_usec == 0)
                continue;
            usec_t due = h->wake_usec;
            usec_t left_ms = due <= now ? 0 : (due - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC;
            if (timeout_ms < 0 || left_ms < (usec_t) timeout_ms)
                timeout_ms = left_ms > INT_MAX ? INT_MAX : (int) left_ms;
        }
    }
    return timeout_ms;
}

int http_server_new(struct loop *l, const struct http_server_options *o, struct http_server **ret)
{
    struct http_server *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->loop = l;
    s->opts = *o;
    int r = loop_add_prepare(l, on_prepare, s);
    if (r < 0) {
        free(s);
        return r;
    }
    *ret = s;
    return 0;
}

void http_server_set_max_body(struct http_server *s, size_t max_body_bytes)
{
    s->opts.max_body_bytes = max_body_bytes;
}

static int add_listener(struct http_server *s, int fd, bool is_unix, const char *unix_path)
{
    if (s->n_listeners >= LISTENERS_MAX)
        return -ENOSPC;
    struct listener *li = &s->listeners[s->n_listeners];
    *li = (struct listener) { .server = s, .fd = fd, .is_unix = is_unix };
    if (unix_path)
        (void) snprintf(li->unix_path, sizeof(li->unix_path), "%s", unix_path);

    li->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_TURBO | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL, on_access, li,
                               MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, li,
                               MHD_OPTION_LISTEN_SOCKET, (MHD_socket) fd,
                               MHD_OPTION_CONNECTION_LIMIT, (unsigned int) s->opts.max_connections,
                               MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) s->opts.connection_timeout_sec,
                               MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONNECTION_MEMORY_BYTES,
                               MHD_OPTION_NOTIFY_COMPLETED, on_completed, li,
                               MHD_OPTION_END);
    if (!li->mhd)
        return -EIO;

    const union MHD_DaemonInfo *di = MHD_get_daemon_info(li->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    if (!di) {
        MHD_stop_daemon(li->mhd);
        return -EIO;
    }
    int r = loop_add_io(s->loop, di->epoll_fd, EPOLLIN, on_listener_ready, li, &li->source);
    if (r < 0) {
        MHD_stop_daemon(li->mhd);
        return r;
    }
    s->n_listeners++;
    return 0;
}

bool address_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;

    if (strcasecmp(host, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

int http_server_listen_tcp(struct http_server *s, const char *host, unsigned port, unsigned *ret_port)
{
    struct sockaddr_storage ss = { 0 };
    socklen_t sl;
    const char *h = strcasecmp(host, "localhost") == 0 ? "127.0.0.1" : host;

    if (port > 65535)
        return -EINVAL;
    struct sockaddr_in *in4 = (struct sockaddr_in *) &ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;
    if (inet_pton(AF_INET, h, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t) port);
        sl = sizeof(*in4);
    } else if (inet_pton(AF_INET6, h, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t) port);
        sl = sizeof(*in6);
    } else
        return -EINVAL;

    _cleanup_close_ int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return negative_errno();
    int one = 1;
    (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ss.ss_family == AF_INET6)
        (void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *) &ss, sl) < 0 || listen(fd, SOMAXCONN) < 0)
        return negative_errno();

    struct sockaddr_storage bound;
    socklen_t bl = sizeof(bound);
    if (getsockname(fd, (struct sockaddr *) &bound, &bl) < 0)
        return negative_errno();
    unsigned p = ntohs(bound.ss_family == AF_INET ? ((struct sockaddr_in *) &bound)->sin_port
                                                   : ((struct sockaddr_in6 *) &bound)->sin6_port);

    int r = add_listener(s, fd, false, NULL);
    if (r < 0)
        return r;
    TAKE_FD(fd);
    if (ret_port)
        *ret_port = p;
    return 0;
}

int http_server_listen_unix(struct http_server *s, const char *path, unsigned mode)
{
    _cleanup_close_ int fd = unix_listen(path, SOCK_STREAM, mode);
    if (fd < 0)
        return fd;
    int r = add_listener(s, fd, true, path);
    if (r < 0) {
        (void) unlink(path);
        return r;
    }
    TAKE_FD(fd);
    return 0;
}

struct http_server *http_server_free(struct http_server *s)
{
    if (!s)
        return NULL;
    /* MHD must not be stopped with suspended connections: resume them all, and have their readers
     * end (stopping closes them; each response's free callback then releases its stream). */
    for (struct http_stream *h = s->streams; h; h = h->next)
        http_stream_wake(h);
    for (unsigned i = 0; i < s->n_listeners; i++) {
        struct listener *li = &s->listeners[i];
        loop_source_free(li->source);
        /* MHD_stop_daemon closes the listening socket it was given. */
        MHD_stop_daemon(li->mhd);
        if (li->is_unix && li->unix_path[0])
            (void) unlink(li->unix_path);
    }
    for (unsigned i = 0; i < s->n_static; i++)
        MHD_destroy_response(s->statics[i].response);
    free(s);
    return NULL;
}

/* The value of one base64 digit (RFC 4648 section 4), -1 for any other byte. */
static int base64_digit(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decodes padded base64 into a malloc()ed NUL-terminated string. -EINVAL for anything that is not
 * base64 or decodes to a NUL (it could not be told from the end of the string). */
static int base64_decode(const char *s, char **ret)
{
    size_t n = strlen(s);

    if (n == 0 || n % 4 != 0)
        return -EINVAL;
    _cleanup_free_ char *out = malloc(n / 4 * 3 + 1);
    if (!out)
        return -ENOMEM;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int d[4];
        unsigned pad = 0;
        for (unsigned k = 0; k < 4; k++) {
            if (s[i + k] == '=' && i + 4 == n && k >= 2) {
                d[k] = 0;
                pad++;
                continue;
            }
            if (pad > 0)
                return -EINVAL; /* data after padding */
            d[k] = base64_digit(s[i + k]);
            if (d[k] < 0)
                return -EINVAL;
        }
        uint32_t v = (uint32_t) d[0] << 18 | (uint32_t) d[1] << 12 | (uint32_t) d[2] << 6 |
                     (uint32_t) d[3];
        char bytes[3] = { (char) (v >> 16), (char) (v >> 8), (char) v };
        for (unsigned k = 0; k < 3 - pad; k++) {
            if (bytes[k] == '\0')
                return -EINVAL;
            out[o++] = bytes[k];
        }
    }
    out[o] = '\0';
    *ret = TAKE_PTR(out);
    return 0;
}

/* "Authorization: Basic base64(user:password)" (RFC 7617) of a control socket request. */
static int field_basic_auth(const struct http_request *r, char **ret_user, char **ret_password)
{
    const char *h = http_request_header(r, "Authorization");
    _cleanup_free_ char *plain = NULL;

    if (!h || strncasecmp(h, "Basic ", 6) != 0)
        return -ENOENT;
    h += 6;
    while (*h == ' ')
        h++;
    int k = base64_decode(h, &plain);
    if (k == -ENOMEM)
        return k;
    if (k < 0)
        return -ENOENT;
    char *colon = strchr(plain, ':');
    if (!colon)
        return -ENOENT;
    _cleanup_free_ char *user = strndup(plain, (size_t) (colon - plain));
    char *password = strdup(colon + 1);
    if (!user || !password) {
        free(password);
        return -ENOMEM;
    }
    *ret_user = TAKE_PTR(user);
    *ret_password = password;
    return 0;
}

int http_request_basic_auth(const struct http_request *r, char **ret_user, char **ret_password)
{
    char *password = NULL;

    if (!r->conn)
        return field_basic_auth(r, ret_user, ret_password);

    char *user = MHD_basic_auth_get_username_password(r->conn, &password);

    if (!user) {
        MHD_free(password);
        return -ENOENT;
    }
    /* MHD allocates with its own allocator; hand the caller plain malloc() copies. */
    char *u = strdup(user);
    char *p = strdup(password ? password : "");
    MHD_free(user);
    MHD_free(password);
    if (!u || !p) {
        free(u);
        free(p);
        return -ENOMEM;
    }
    *ret_user = u;
    *ret_password = p;
    return 0;
}
