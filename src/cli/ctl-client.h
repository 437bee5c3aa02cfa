/* SPDX-License-Identifier: MIT */
#pragma once

/* The client side of the control socket (api/ctl-msg.h, docs/API.md "The control socket"): when
 * the daemon is reached through a Unix socket PATH and PATH.ctl answers, a request is one
 * datagram there and its answer one datagram back, so a client command needs no HTTP library and
 * libcurl is never loaded. Whatever the control socket cannot do, HTTP does: the caller falls
 * back to it whenever nothing was sent, or the daemon answered status 0. */

#include <stddef.h>

#include "cli/http-client.h"

/* Set to anything but "" or "0", this environment variable turns the control socket off: every
 * request goes over HTTP (for tests and comparisons). */
#define CTL_CLIENT_DISABLE_ENV "HEADROOM_NO_CTL"

/* Builds the request datagram for method and target (the path with its query string, as given to
 * http_request(); percent escapes are decoded, and '+' in the query is a space, as libmicrohttpd
 * decodes them), with body (NULL for none) and credentials: "Authorization: Bearer token" when
 * token is set, else HTTP Basic when user and password are both non-empty. The datagram is
 * malloc()ed and owned by the caller. Returns 0; -EINVAL when the request cannot be carried (a
 * target without a leading '/', an escape that decodes to a NUL, more than CTL_FIELDS_MAX query
 * arguments, a query argument given twice, text that is not UTF-8, a token with control
 * characters); -EMSGSIZE (larger than CTL_REQUEST_MAX_BYTES) or -ENOMEM. Pure; does not log. */
int ctl_client_encode(const char *method,
                      const char *target,
                      const char *body,
                      const char *token,
                      const char *user,
                      const char *password,
                      char **ret,
                      size_t *ret_len);

/* Turns a reply datagram of n bytes into *ret (status, and the body NUL-terminated and owned).
 * Returns 1 with *ret set; 0 for a status-0 reply (the daemon did not answer this request here;
 * ask over HTTP), with its reason in err when there is one; -EPROTO for a malformed reply, or
 * -ENOMEM. err (HTTP_ERROR_MAX bytes) is always written. Pure; does not log. */
int ctl_client_decode(const char *buf,
                      size_t n,
                      struct http_response *ret,
                      char err[static HTTP_ERROR_MAX]);

/* Sends the request over c's control socket and waits for the answer, up to c->timeout_usec.
 * Returns 1 when the daemon answered there (*ret as from http_request()); 0 when the request was
 * not served there and must go over HTTP: c is not a Unix socket, the control socket is turned
 * off, missing, refused the connection (ENOENT, ECONNREFUSED, EPROTOTYPE, EACCES...) or the send,
 * the request cannot be carried in a datagram, or the daemon answered status 0. Once the request
 * was sent, failures are final (the daemon may have acted on it): -ETIMEDOUT, -ECONNRESET (closed
 * without an answer), -EPROTO (a malformed answer), -ENOMEM; err (HTTP_ERROR_MAX bytes) says
 * what happened, and is always written. Does not log. */
int ctl_client_request(const struct http_client *c,
                       const char *method,
                       const char *target,
                       const char *body,
                       struct http_response *ret,
                       char err[static HTTP_ERROR_MAX]);

/* Sends the request over c's control socket without waiting for the answer: for a report whose
 * answer changes nothing (the end of a `headroom run`), which saves the caller a round trip. The
 * datagram is queued on the connection before it is closed, and the daemon reads it all the
 * same. Returns 1 sent, 0 when it must go over HTTP (as for ctl_client_request()). Does not
 * log. */
int ctl_client_send(const struct http_client *c, const char *method, const char *target, const char *body);
