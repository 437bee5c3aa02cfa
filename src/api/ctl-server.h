/* SPDX-License-Identifier: MIT */
#pragma once

/* The control socket: the HTTP API without HTTP, for local clients that must start fast (a
 * client that needs no HTTP library does not load one). A Unix SOCK_SEQPACKET listener in the
 * daemon's loop; each datagram a client sends is one request (api/ctl-msg.h), handed to the same
 * http_handler as HTTP requests, and the answer goes back as one datagram on the same connection.
 *
 * Bounds: at most max_connections open connections (one more is answered {"status":0,...} and
 * closed, so its client asks over HTTP), a request of at most CTL_REQUEST_MAX_BYTES, a reply of at
 * most CTL_REPLY_MAX_BYTES (larger answers are replaced by status 0). Replies are sent without
 * blocking: a client whose unread replies fill its socket buffer is dropped. */

#include <stdint.h>

#include "api/ctl-msg.h"
#include "api/http-server.h"
#include "loop/loop.h"

struct ctl_server;

struct ctl_server_options {
    unsigned max_connections;        /* open connections; at least 1 */
    unsigned connection_timeout_sec; /* idle longer: closed when a new connection arrives */
    /* Larger request bodies get 413, as over HTTP. Borrowed, and read at each request, so that a
     * reload that changes the limit takes effect; NULL: no limit but the datagram's. */
    const uint64_t *max_body_bytes;
    http_handler handler;
    void *userdata;
};

/* Listens on a SOCK_SEQPACKET socket at path (its directory must exist) with the given file mode,
 * in loop l. A stale socket file (nobody accepting) is replaced; a live one gives -EADDRINUSE.
 * o is copied. Returns 0 with *ret owned by the caller, -ENAMETOOLONG (path does not fit a
 * sockaddr_un), -EINVAL (max_connections 0, no handler), -ENOMEM, or the -errno of socket(),
 * bind(), chmod() or listen(). Logs at debug level only. */
int ctl_server_new(struct loop *l,
                   const char *path,
                   unsigned mode,
                   const struct ctl_server_options *o,
                   struct ctl_server **ret);

/* Closes every connection and the listener, and removes the socket file. Must be called before
 * the loop is freed. Takes NULL; returns NULL. */
struct ctl_server *ctl_server_free(struct ctl_server *s);

/* Open client connections, for tests and /debug. */
unsigned ctl_server_connections(const struct ctl_server *s);
