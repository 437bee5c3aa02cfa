/* SPDX-License-Identifier: MIT */
#include "cli/http-client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "basic/macro.h"
#include "cli/ctl-client.h"
#include "cli/curl-dl.h"

/* Every libcurl call goes through the pointers curl_dl_load() resolved. curl.h wraps two of the
 * names in argument-count macros; they are replaced here. */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_global_init    sym_curl_global_init
#define curl_global_cleanup sym_curl_global_cleanup
#define curl_easy_init      sym_curl_easy_init
#define curl_easy_cleanup   sym_curl_easy_cleanup
#define curl_easy_setopt    sym_curl_easy_setopt
#define curl_easy_getinfo   sym_curl_easy_getinfo
#define curl_easy_perform   sym_curl_easy_perform
#define curl_easy_strerror  sym_curl_easy_strerror
#define curl_slist_append   sym_curl_slist_append
#define curl_slist_free_all sym_curl_slist_free_all

/* Longest URL we build: the scheme, a bracketed host, a port and a path with a percent-encoded
 * task name (3 × 128 bytes). */
#define HTTP_URL_MAX 1024

struct body_buf {
    char *data;
    size_t len;
    size_t cap;
    bool too_big;
    bool oom;
};

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct body_buf *b = userdata;
    size_t n = size * nmemb; /* curl documents size as always 1 */

    if (n > HTTP_BODY_MAX_BYTES - b->len) {
        b->too_big = true;
        return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = MAX(b->cap, (size_t) 4096);
        while (cap < b->len + n + 1)
            cap *= 2;
        cap = MIN(cap, (size_t) HTTP_BODY_MAX_BYTES + 1);
        char *p = realloc(b->data, cap);
        if (!p) {
            b->oom = true;
            return 0;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

void http_response_done(struct http_response *r)
{
    if (!r)
        return;
    free(r->body);
    *r = (struct http_response){ 0 };
}

/* Set once libcurl is loaded and initialised: on the first request the control socket did not
 * answer, so that a command it answers never maps libcurl and its dependencies (about 5 ms of
 * dynamic linking, more than the rest of the command). */
static bool curl_ready;

static int curl_setup(char err[static HTTP_ERROR_MAX])
{
    const char *why = NULL;

    if (curl_ready)
        return 0;
    int r = curl_dl_load(&why);
    if (r < 0) {
        (void) snprintf(err, HTTP_ERROR_MAX, "%s", why);
        return -ELIBACC;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        (void) snprintf(err, HTTP_ERROR_MAX, "cannot initialise libcurl");
        return -EIO;
    }
    curl_ready = true;
    return 0;
}

int http_global_init(void)
{
    return 0;
}

void http_global_done(void)
{
    if (curl_ready)
        curl_global_cleanup();
    curl_ready = false;
}

static void easy_cleanupp(CURL **c)
{
    if (*c)
        curl_easy_cleanup(*c);
}

static void slist_freep(struct curl_slist **l)
{
    if (*l)
        curl_slist_free_all(*l);
}

static int slist_add(struct curl_slist **l, const char *s)
{
    struct curl_slist *n = curl_slist_append(*l, s);
    if (!n)
        return -ENOMEM;
    *l = n;
    return 0;
}

static bool header_value_is_safe(const char *s)
{
    /* A line break would let a value add headers of its own. */
    for (const unsigned char *p = (const unsigned char *) s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

/* Turns a failed transfer into -errno, using the socket error when curl has one: it tells "no
 * such socket" from "refused" from "permission denied", which curl's text does not for Unix
 * sockets. */
static int map_error(CURL *c,
                     CURLcode code,
                     const struct body_buf *b,
                     const char *curl_msg,
                     char err[static HTTP_ERROR_MAX])
{
    long os_errno = 0;

    (void) curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
    (void) snprintf(err, HTTP_ERROR_MAX, "%s", curl_msg[0] ? curl_msg : curl_easy_strerror(code));

    switch (code) {
    case CURLE_COULDNT_CONNECT:
        if (os_errno > 0) {
            (void) snprintf(err, HTTP_ERROR_MAX, "%s", strerror((int) os_errno));
            return os_errno == ECONNREFUSED || os_errno == ENOENT || os_errno == EACCES ||
                                   os_errno == ENETUNREACH || os_errno == EHOSTUNREACH ||
                                   os_errno == ETIMEDOUT
                           ? -(int) os_errno
                           : -ECONNREFUSED;
        }
        return -ECONNREFUSED;
    case CURLE_COULDNT_RESOLVE_HOST:
        return -EHOSTUNREACH;
    case CURLE_OPERATION_TIMEDOUT:
        return -ETIMEDOUT;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
        return -ECONNRESET;
    case CURLE_FILESIZE_EXCEEDED:
        (void) snprintf(err, HTTP_ERROR_MAX, "the answer is larger than %u bytes",
                        HTTP_BODY_MAX_BYTES);
        return -EFBIG;
    case CURLE_WRITE_ERROR:
        if (b->too_big) {
            (void) snprintf(err, HTTP_ERROR_MAX, "the answer is larger than %u bytes",
                            HTTP_BODY_MAX_BYTES);
            return -EFBIG;
        }
        if (b->oom) {
            (void) snprintf(err, HTTP_ERROR_MAX, "out of memory");
            return -ENOMEM;
        }
        return -EPROTO;
    case CURLE_OUT_OF_MEMORY:
        return -ENOMEM;
    default:
        return -EPROTO;
    }
}

/* curl_easy_setopt() only fails for an unknown option or out of memory; either way the request
 * cannot be made as asked, so every call is checked. */
#define SETOPT(c, opt, val)                                                               \
    do {                                                                                  \
        if (curl_easy_setopt((c), (opt), (val)) != CURLE_OK) {                            \
            (void) snprintf(err, HTTP_ERROR_MAX, "cannot set up the request (%s)", #opt); \
            return -ENOMEM;                                                               \
        }                                                                                 \
    } while (0)

/* Is anybody there? Loading libcurl costs more (5 ms and more here) than the whole answer of a
 * local daemon, so a daemon that is plainly not running (no socket file; a numeric address that
 * refuses at once) is told without it. A socket file is only looked at, never connected to, so a
 * live server sees nothing of the probe; a stale one, a name to resolve or a connection still in
 * progress is left to libcurl. Returns 0 to go on, or -ENOENT/-ECONNREFUSED. */
static int probe_refused(const struct server_addr *s)
{
    if (s->kind == SERVER_ADDR_UNIX)
        return access(s->socket_path, F_OK) < 0 && errno == ENOENT ? -ENOENT : 0;

    union {
        struct sockaddr sa;
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
    } a = { 0 };
    socklen_t len;
    int family;

    /* Loopback only: there a connect is answered at once, refused or accepted, and never waits on
     * a network. */
    if (inet_pton(AF_INET, s->host, &a.in.sin_addr) == 1 && (ntohl(a.in.sin_addr.s_addr) >> 24) == 127) {
        a.in.sin_family = AF_INET;
        a.in.sin_port = htons((uint16_t) s->port);
        len = sizeof(a.in);
        family = AF_INET;
    } else if (inet_pton(AF_INET6, s->host, &a.in6.sin6_addr) == 1 && IN6_IS_ADDR_LOOPBACK(&a.in6.sin6_addr)) {
        a.in6.sin6_family = AF_INET6;
        a.in6.sin6_port = htons((uint16_t) s->port);
        len = sizeof(a.in6);
        family = AF_INET6;
    } else
        return 0;

    _cleanup_close_ int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    if (connect(fd, &a.sa, len) == 0)
        return 0;
    return errno == ENOENT || errno == ECONNREFUSED ? -errno : 0;
}

int http_request(const struct http_client *c,
                 const char *method,
                 const char *path,
                 const char *body,
                 struct http_response *ret,
                 char err[static HTTP_ERROR_MAX])
{
    _cleanup_(easy_cleanupp) CURL *e = NULL;
    _cleanup_(slist_freep) struct curl_slist *headers = NULL;
    _cleanup_free_ char *auth = NULL;
    struct body_buf b = { 0 };
    char url[HTTP_URL_MAX];
    char curl_msg[CURL_ERROR_SIZE] = "";
    bool post;
    int r;

    err[0] = '\0';
    if (!c || !method || !path || !ret)
        return -EINVAL;
    bool del = false;
    if (strcmp(method, "GET") == 0)
        post = false;
    else if (strcmp(method, "POST") == 0)
        post = true;
    else if (strcmp(method, "DELETE") == 0)
        post = false, del = true;
    else
        return -EINVAL;

    r = server_addr_url(&c->server, path, url, sizeof(url));
    if (r < 0) {
        (void) snprintf(err, HTTP_ERROR_MAX, "the request URL is too long");
        return -EINVAL;
    }

    /* A local daemon answers on its control socket without HTTP; HTTP takes whatever it does not
     * (see ctl_client_request() for when). */
    r = ctl_client_request(c, method, path, body, ret, err);
    if (r != 0)
        return r > 0 ? 0 : r;

    r = probe_refused(&c->server);
    if (r < 0) {
        (void) snprintf(err, HTTP_ERROR_MAX, "%s", r == -ENOENT ? "no such socket" : "connection refused");
        return r;
    }

    r = curl_setup(err);
    if (r < 0)
        return r;
    e = curl_easy_init();
    if (!e) {
        (void) snprintf(err, HTTP_ERROR_MAX, "cannot initialise libcurl");
        return -ENOMEM;
    }

    long timeout_ms = (long) MIN(c->timeout_usec / USEC_PER_MSEC, (usec_t) LONG_MAX);
    if (timeout_ms < 1)
        timeout_ms = 1;

    SETOPT(e, CURLOPT_ERRORBUFFER, curl_msg);
    SETOPT(e, CURLOPT_URL, url);
    /* No signals: curl would otherwise use SIGALRM for DNS timeouts. */
    SETOPT(e, CURLOPT_NOSIGNAL, 1L);
    /* The daemon is local or named explicitly; an http_proxy from the environment must not
     * capture the request (or the token). */
    SETOPT(e, CURLOPT_NOPROXY, "*");
    SETOPT(e, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    SETOPT(e, CURLOPT_PROTOCOLS_STR, "http");
#endif
    SETOPT(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    SETOPT(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    SETOPT(e, CURLOPT_USERAGENT, "headroom/" HEADROOM_VERSION);
    SETOPT(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) HTTP_BODY_MAX_BYTES);
    SETOPT(e, CURLOPT_WRITEFUNCTION, on_write);
    SETOPT(e, CURLOPT_WRITEDATA, &b);
    if (c->server.kind == SERVER_ADDR_UNIX)
        SETOPT(e, CURLOPT_UNIX_SOCKET_PATH, c->server.socket_path);

    r = slist_add(&headers, "Accept: application/json");
    if (r < 0)
        return r;
    if (c->token) {
        if (!header_value_is_safe(c->token)) {
            (void) snprintf(err, HTTP_ERROR_MAX, "the token contains control characters");
            return -EINVAL;
        }
        if (asprintf(&auth, "Authorization: Bearer %s", c->token) < 0) {
            auth = NULL;
            return -ENOMEM;
        }
        r = slist_add(&headers, auth);
        if (r < 0)
            return r;
    } else if (c->user && c->password && c->user[0] && c->password[0]) {
        SETOPT(e, CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC);
        SETOPT(e, CURLOPT_USERNAME, c->user);
        SETOPT(e, CURLOPT_PASSWORD, c->password);
    }

    if (post) {
        const char *data = body ? body : "";
        r = slist_add(&headers, "Content-Type: application/json");
        if (r < 0)
            return r;
        /* Our bodies are small; waiting for "100 Continue" would only add a round trip. */
        r = slist_add(&headers, "Expect:");
        if (r < 0)
            return r;
        SETOPT(e, CURLOPT_POST, 1L);
        SETOPT(e, CURLOPT_POSTFIELDS, data);
        SETOPT(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) strlen(data));
    } else if (del)
        SETOPT(e, CURLOPT_CUSTOMREQUEST, "DELETE");
    else
        SETOPT(e, CURLOPT_HTTPGET, 1L);
    SETOPT(e, CURLOPT_HTTPHEADER, headers);

    CURLcode code = curl_easy_perform(e);
    if (code != CURLE_OK) {
        r = map_error(e, code, &b, curl_msg, err);
        free(b.data);
        return r;
    }

    long status = 0;
    (void) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    if (!b.data) {
        b.data = strdup("");
        if (!b.data)
            return -ENOMEM;
    }
    *ret = (struct http_response){ .status = status, .body = b.data, .body_size = b.len };
    return 0;
}
