/* SPDX-License-Identifier: MIT */
#pragma once

/* A minimal blocking HTTP/1.1 client for the daemon's API, on libcurl's easy interface: one
 * request per call, over TCP or a Unix socket, no proxy, no redirects, a hard cap on the answer.
 * For a Unix socket, the daemon's control socket beside it is tried first (cli/ctl-client.h):
 * the same API without HTTP, and without loading libcurl. */

#include <stddef.h>

#include "basic/time-util.h"
#include "cli/server-addr.h"

/* Largest answer accepted. /status on a large machine is a few hundred KiB; a bigger answer is a
 * broken or hostile server, and is refused rather than buffered. */
#define HTTP_BODY_MAX_BYTES (4U * 1024U * 1024U)
#define HTTP_ERROR_MAX      256

struct http_client {
    struct server_addr server;
    const char *token; /* "Authorization: Bearer" token, NULL = none; borrowed */
    const char *user;  /* HTTP Basic, sent only when user and password are both set; borrowed */
    const char *password;
    usec_t timeout_usec; /* for the whole request, connection included */
};

struct http_response {
    long status;
    char *body; /* NUL-terminated (the NUL is not counted in body_size), owned */
    size_t body_size;
};

/* Frees the body and clears r. Takes NULL. */
void http_response_done(struct http_response *r);

/* Call once before the first request, before any thread exists. libcurl itself is loaded and
 * initialised by the first request that needs it (none when the control socket answers every
 * one), so this cannot fail today; it returns 0. */
int http_global_init(void);
/* Releases libcurl's global state if a request set it up. */
void http_global_done(void);

/* Sends method ("GET", "POST" or "DELETE") to path (starting with '/', query included) with an optional
 * JSON body (NULL for none; sent with "Content-Type: application/json"). On 0 the server answered
 * and *ret holds its status and body, whatever the status. Over a Unix socket the request goes to
 * the control socket when it answers, else over HTTP (unless $HEADROOM_NO_CTL is set). Errors,
 * with curl's or the control socket's message in err (size HTTP_ERROR_MAX, always written):
 *   -ECONNREFUSED  connection refused
 *   -ENOENT        the Unix socket does not exist
 *   -EACCES        the Unix socket may not be opened by this user
 *   -EHOSTUNREACH, -ENETUNREACH  no route, or the host name does not resolve
 *   -ETIMEDOUT     timeout_usec passed
 *   -ECONNRESET    the connection closed before a complete answer
 *   -EFBIG         the answer is larger than HTTP_BODY_MAX_BYTES
 *   -EINVAL        bad arguments (a token with a line break, ...)
 *   -ELIBACC       libcurl.so.4 cannot be loaded (and the control socket did not answer)
 *   -ENOMEM, -EPROTO (any other failure)
 * Does not log. */
int http_request(const struct http_client *c,
                 const char *method,
                 const char *path,
                 const char *body,
                 struct http_response *ret,
                 char err[static HTTP_ERROR_MAX]);
