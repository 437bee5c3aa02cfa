/* SPDX-License-Identifier: MIT */
#include "cli/ctl-client.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/ctl-msg.h"
#include "basic/macro.h"
#include "basic/time-util.h"

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes n bytes of s into a malloc()ed string the way libmicrohttpd decodes what it hands the
 * handlers: "%HH" is the byte HH, a '%' not followed by two hex digits stays as it is, and in a
 * query (plus_is_space) '+' is a space. -EINVAL when a byte decodes to NUL. */
static int unescape(const char *s, size_t n, bool plus_is_space, char **ret)
{
    char *out = malloc(n + 1), *o = out;

    if (!out)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hex_value(s[i + 1])) >= 0 &&
            (lo = hex_value(s[i + 2])) >= 0) {
            char c = (char) (hi << 4 | lo);
            if (c == '\0') {
                free(out);
                return -EINVAL;
            }
            *o++ = c;
            i += 2;
        } else if (plus_is_space && s[i] == '+')
            *o++ = ' ';
        else
            *o++ = s[i];
    }
    *o = '\0';
    *ret = out;
    return 0;
}

static bool has_control_chars(const char *s)
{
    for (const unsigned char *p = (const unsigned char *) s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return true;
    return false;
}

/* Padded base64 (RFC 4648 section 4) of s, malloc()ed. */
static char *base64_encode(const char *s)
{
    static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = (const unsigned char *) s;
    size_t n = strlen(s);
    char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;

    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t) p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t) p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        *o++ = digits[v >> 18 & 0x3f];
        *o++ = digits[v >> 12 & 0x3f];
        *o++ = i + 1 < n ? digits[v >> 6 & 0x3f] : '=';
        *o++ = i + 2 < n ? digits[v & 0x3f] : '=';
    }
    *o = '\0';
    return out;
}

/* Everything a request borrows while it is encoded. */
struct owned {
    char *path;
    char *auth;
    char *strings[2 * CTL_FIELDS_MAX];
    unsigned n_strings;
};

static void owned_done(struct owned *o)
{
    free(o->path);
    free(o->auth);
    for (unsigned i = 0; i < o->n_strings; i++)
        free(o->strings[i]);
}

/* Splits "a=1&b=2" into decoded fields. Like libmicrohttpd's lookups, an argument without '=' has
 * no value and reads as absent, so it is left out. */
static int parse_query(const char *q, struct ctl_request *req, struct owned *own)
{
    while (*q) {
        size_t len = strcspn(q, "&");
        const char *eq = memchr(q, '=', len);
        if (eq) {
            char *name, *value;
            int r;
            if (req->n_query >= CTL_FIELDS_MAX)
                return -EINVAL;
            r = unescape(q, (size_t) (eq - q), true, &name);
            if (r < 0)
                return r;
            own->strings[own->n_strings++] = name;
            r = unescape(eq + 1, len - (size_t) (eq - q) - 1, true, &value);
            if (r < 0)
                return r;
            own->strings[own->n_strings++] = value;
            for (unsigned i = 0; i < req->n_query; i++)
                if (strcmp(req->query[i].name, name) == 0)
                    return -EINVAL;
            req->query[req->n_query++] = (struct ctl_field){ .name = name, .value = value };
        }
        q += len;
        if (*q == '&')
            q++;
    }
    return 0;
}

int ctl_client_encode(const char *method,
                      const char *target,
                      const char *body,
                      const char *token,
                      const char *user,
                      const char *password,
                      char **ret,
                      size_t *ret_len)
{
    _cleanup_(owned_done) struct owned own = { 0 };
    struct ctl_request req = { .method = method,
                               .body = body,
                               .body_len = body ? strlen(body) : 0 };
    int r;

    if (!method || !target || target[0] != '/')
        return -EINVAL;
    size_t path_len = strcspn(target, "?#");
    r = unescape(target, path_len, false, &own.path);
    if (r < 0)
        return r;
    req.path = own.path;
    if (target[path_len] == '?') {
        const char *q = target + path_len + 1;
        _cleanup_free_ char *query = strndup(q, strcspn(q, "#"));
        if (!query)
            return -ENOMEM;
        r = parse_query(query, &req, &own);
        if (r < 0)
            return r;
    }

    if (token) {
        if (has_control_chars(token))
            return -EINVAL;
        if (asprintf(&own.auth, "Bearer %s", token) < 0) {
            own.auth = NULL;
            return -ENOMEM;
        }
    } else if (user && password && user[0] && password[0]) {
        _cleanup_free_ char *plain = NULL, *enc = NULL;
        if (asprintf(&plain, "%s:%s", user, password) < 0) {
            plain = NULL;
            return -ENOMEM;
        }
        enc = base64_encode(plain);
        if (!enc || asprintf(&own.auth, "Basic %s", enc) < 0) {
            own.auth = NULL;
            return -ENOMEM;
        }
    }
    if (own.auth) {
        req.headers[0] = (struct ctl_field){ .name = "authorization", .value = own.auth };
        req.n_headers = 1;
    }
    return ctl_request_encode(&req, ret, ret_len);
}

int ctl_client_decode(const char *buf,
                      size_t n,
                      struct http_response *ret,
                      char err[static HTTP_ERROR_MAX])
{
    struct ctl_reply rep = { 0 };

    err[0] = '\0';
    int r = ctl_reply_parse(buf, n, &rep);
    if (r == -ENOMEM) {
        (void) snprintf(err, HTTP_ERROR_MAX, "out of memory");
        return r;
    }
    if (r < 0) {
        (void) snprintf(err, HTTP_ERROR_MAX, "malformed answer on the control socket");
        return -EPROTO;
    }
    if (rep.status == 0) {
        (void) snprintf(err, HTTP_ERROR_MAX, "%s",
                        rep.error ? rep.error : "not answered on the control socket");
        ctl_reply_done(&rep);
        return 0;
    }
    *ret = (struct http_response){ .status = (long) rep.status,
                                   .body = TAKE_PTR(rep.body),
                                   .body_size = rep.body_len };
    ctl_reply_done(&rep);
    return 1;
}

static bool disabled(void)
{
    const char *e = getenv(CTL_CLIENT_DISABLE_ENV);
    return e && e[0] && strcmp(e, "0") != 0;
}

int ctl_client_request(const struct http_client *c,
                       const char *method,
                       const char *target,
                       const char *body,
                       struct http_response *ret,
                       char err[static HTTP_ERROR_MAX])
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    _cleanup_free_ char *req = NULL, *reply = NULL;
    _cleanup_close_ int fd = -EBADF;
    size_t req_len;
    usec_t start = now_usec(CLOCK_MONOTONIC);
    int r;

    err[0] = '\0';
    if (!c || c->server.kind != SERVER_ADDR_UNIX || disabled())
        return 0;
    if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s" CTL_SOCKET_SUFFIX, c->server.socket_path) >=
        (int) sizeof(sa.sun_path))
        return 0;

    r = ctl_client_encode(method, target, body, c->token, c->user, c->password, &req, &req_len);
    if (r < 0)
        return 0; /* HTTP can carry it, or says what is wrong with it */

    /* Non-blocking, so that a daemon with a full backlog sends the request over HTTP at once
     * rather than holding it until the timeout. */
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return 0;
    if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
        return 0;
    if (send(fd, req, req_len, MSG_NOSIGNAL) < 0)
        return 0;

    /* Sent: from here on the daemon may have acted on it, and it is never sent again. */
    for (;;) {
        usec_t now = now_usec(CLOCK_MONOTONIC);
        usec_t left = now - start >= c->timeout_usec ? 0 : c->timeout_usec - (now - start);
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int timeout_ms = (int) MIN((left + USEC_PER_MSEC - 1) / USEC_PER_MSEC, (usec_t) INT_MAX);
        int k = left == 0 ? 0 : poll(&p, 1, timeout_ms);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            r = negative_errno();
            (void) snprintf(err, HTTP_ERROR_MAX, "waiting for the answer: %s", strerror(-r));
            return -ECONNRESET;
        }
        if (k == 0) {
            (void) snprintf(err, HTTP_ERROR_MAX, "no answer within %llu ms",
                            (unsigned long long) (c->timeout_usec / USEC_PER_MSEC));
            return -ETIMEDOUT;
        }
        break;
    }

    /* The datagram's size first (MSG_PEEK | MSG_TRUNC gives its whole length), so that the buffer
     * fits it exactly and a reply over the limit is told apart rather than cut. */
    ssize_t n = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
    if (n <= 0) {
        (void) snprintf(err, HTTP_ERROR_MAX,
                        "the daemon closed the control connection without answering");
        return -ECONNRESET;
    }
    if ((size_t) n > CTL_REPLY_MAX_BYTES) {
        (void) snprintf(err, HTTP_ERROR_MAX, "malformed answer on the control socket (%zd bytes)",
                        n);
        return -EPROTO;
    }
    reply = malloc((size_t) n + 1);
    if (!reply) {
        (void) snprintf(err, HTTP_ERROR_MAX, "out of memory");
        return -ENOMEM;
    }
    ssize_t got = recv(fd, reply, (size_t) n, MSG_TRUNC | MSG_DONTWAIT);
    if (got != n) {
        (void) snprintf(err, HTTP_ERROR_MAX, "the answer on the control socket changed while read");
        return -EPROTO;
    }
    return ctl_client_decode(reply, (size_t) n, ret, err);
}

int ctl_client_send(const struct http_client *c, const char *method, const char *target, const char *body)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    _cleanup_free_ char *req = NULL;
    _cleanup_close_ int fd = -EBADF;
    size_t req_len;

    if (!c || c->server.kind != SERVER_ADDR_UNIX || disabled())
        return 0;
    if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s" CTL_SOCKET_SUFFIX, c->server.socket_path) >=
        (int) sizeof(sa.sun_path))
        return 0;
    if (ctl_client_encode(method, target, body, c->token, c->user, c->password, &req, &req_len) < 0)
        return 0;
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
        return 0;
    return send(fd, req, req_len, MSG_NOSIGNAL) < 0 ? 0 : 1;
}
