/* SPDX-License-Identifier: MIT */
#pragma once

/* HTTP/1.1 on libmicrohttpd, driven by our own epoll loop: each listener is an MHD daemon in
 * external-epoll mode whose epoll fd sits in the loop, so requests are handled on the loop's one
 * thread beside sampling, with no locks. This file knows MHD; handlers only see http_request and
 * http_response. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "loop/loop.h"

enum http_method {
    HTTP_GET,
    HTTP_HEAD,
    HTTP_POST,
    HTTP_PUT,
    HTTP_DELETE,
    HTTP_PATCH,
    HTTP_OPTIONS,
    HTTP_OTHER,
};

#define HTTP_HEADERS_MAX 4

/* A header or query argument of a request that did not come through libmicrohttpd. */
struct http_field {
    const char *name;
    const char *value;
};

struct http_request {
    enum http_method method;
    const char *method_name;
    const char *path;          /* without the query string, percent escapes decoded */
    bool is_unix;              /* arrived on a Unix socket (HTTP or control) */
    bool has_peer_cred;
    uid_t peer_uid;            /* SO_PEERCRED on the Unix socket */
    pid_t peer_pid;
    const char *body;          /* NUL-terminated, may be NULL when empty */
    size_t body_len;
    void *conn;                /* libmicrohttpd's connection, opaque, for the lookups below; NULL
                                * for a request from the control socket (api/ctl-server.h), whose
                                * headers and query arguments are in the arrays below */
    const struct http_field *headers; /* conn == NULL: n_headers headers (names in any case) */
    unsigned n_headers;
    const struct http_field *query;   /* conn == NULL: n_query decoded query arguments */
    unsigned n_query;
};

struct http_stream;

/* A body written while the connection stays open (Server-Sent Events), piece by piece. */
struct http_stream_ops {
    /* Writes at most max bytes of the body into buf (max can be small: a reader keeps what did
     * not fit for the next call). Returns the count (> 0); 0 when there is nothing to send now:
     * the connection then waits, with no timeout, until http_stream_wake() or until idle_usec
     * (see http_response_stream()) have passed since read last gave bytes, and read is called
     * again; HTTP_STREAM_END to end
     * the body; HTTP_STREAM_ERROR to close the connection at once. h is valid until free. */
    ssize_t (*read)(struct http_stream *h, void *userdata, char *buf, size_t max);
    /* Called exactly once, when the server is done with the stream (the body ended, the client
     * went away, it could not be started, or the server is freed): releases userdata. */
    void (*free)(void *userdata);
};

#define HTTP_STREAM_END   ((ssize_t) -1)
#define HTTP_STREAM_ERROR ((ssize_t) -2)

struct http_response {
    unsigned status;
    const char *content_type;  /* static string */
    char *body;                /* malloc()ed, owned by the response */
    size_t body_len;
    const char *static_body;   /* instead of body: a constant answer, see http_response_static() */
    const struct http_stream_ops *stream; /* instead of a body: see http_response_stream() */
    void *stream_userdata;
    usec_t stream_idle_usec;
    unsigned stream_stall_sec;
    unsigned n_headers;
    struct {
        const char *name;      /* static string */
        char value[192];
    } headers[HTTP_HEADERS_MAX];
};

/* The method for its name ("GET" ...); HTTP_OTHER for any other. */
enum http_method http_method_from_string(const char *m);

/* Header (case-insensitive) or query argument of the request, NULL when absent. Borrowed. */
const char *http_request_header(const struct http_request *r, const char *name);
const char *http_request_query(const struct http_request *r, const char *name);

/* Sets the body of the response (takes ownership of body). */
void http_response_set(struct http_response *resp, unsigned status, const char *content_type, char *body,
                       size_t len);
/* Sets a copy of text as the body. Returns 0 or -ENOMEM (then a 503 goes out). */
int http_response_text(struct http_response *resp, unsigned status, const char *content_type, const char *text);
void http_response_header(struct http_response *resp, const char *name, const char *value);

/* Sets a constant body (a string literal that lives as long as the program). The server builds the
 * libmicrohttpd response for each (body, status, content type) once and reuses it, so the hottest
 * answers ({"allowed":true} ...) cost no allocation and no header building. */
void http_response_static(struct http_response *resp, unsigned status, const char *content_type,
                          const char *body);

/* Makes the body a stream read through ops (a static table). The response takes ownership of
 * userdata: ops->free(userdata) is called once the server is done with it, also when the stream
 * could not be started. A stream that sent nothing for idle_usec is read again (keepalives).
 * A client that takes nothing of what is written for stall_sec is disconnected. Only for a
 * request that came through libmicrohttpd (req->conn not NULL). */
void http_response_stream(struct http_response *resp, unsigned status, const char *content_type,
                          const struct http_stream_ops *ops, void *userdata, usec_t idle_usec,
                          unsigned stall_sec);

/* Has the stream read again soon, when it waits for news (read returned 0); a no-op otherwise.
 * Safe from any callback on the loop thread, a request handler included. */
void http_stream_wake(struct http_stream *h);

/* The application's handler: fills resp. Called once per complete request, on the loop thread. */
typedef void (*http_handler)(const struct http_request *req, struct http_response *resp, void *userdata);

struct http_server;

struct http_server_options {
    unsigned max_connections;      /* per listener */
    unsigned connection_timeout_sec;
    size_t max_body_bytes;         /* larger bodies get 413 */
    http_handler handler;
    void *userdata;
};

int http_server_new(struct loop *l, const struct http_server_options *o, struct http_server **ret);

/* Adds a TCP listener on host:port ("127.0.0.1", "::1", "0.0.0.0" ...; port 0 picks a free port).
 * The bound port is returned in ret_port. Returns 0, -EADDRINUSE, -EADDRNOTAVAIL, -EINVAL for an
 * address that is not numeric. */
int http_server_listen_tcp(struct http_server *s, const char *host, unsigned port, unsigned *ret_port);

/* Adds a Unix socket listener at path with the given mode. A stale socket file (nobody accepting)
 * is replaced; a live one gives -EADDRINUSE. The parent directory is created 0755 when missing. */
int http_server_listen_unix(struct http_server *s, const char *path, unsigned mode);

/* Updates limits that can change on reload (body size). */
void http_server_set_max_body(struct http_server *s, size_t max_body_bytes);

/* Stops accepting, closes every listener and removes the Unix socket file. Takes NULL. */
struct http_server *http_server_free(struct http_server *s);

/* True when host is a loopback address (127.0.0.0/8, ::1, "localhost"). */
bool address_is_loopback(const char *host);

/* HTTP Basic credentials of the request: decoded by MHD, or from the "Authorization: Basic"
 * header of a control socket request. Both strings are malloc()ed and owned by the caller.
 * Returns 0, -ENOENT when the request has none (or not Basic, or not valid base64 of
 * "user:password"), -ENOMEM. */
int http_request_basic_auth(const struct http_request *r, char **ret_user, char **ret_password);
