/* SPDX-License-Identifier: MIT */
#pragma once

/* What an answer from the daemon (or from capfox) means for the exit status, and the one-line
 * message printed for a failed request. Pure; nothing here logs. */

#include <stdbool.h>
#include <stddef.h>

/* Longest server-supplied text quoted in an error message, in bytes. A hostile or broken server
 * must not flood the terminal. */
#define RESPONSE_QUOTE_MAX 200

/* True for the transport errors of http_request() that mean nobody answered: -ECONNREFUSED,
 * -ENOENT (no such socket), -EHOSTUNREACH (unreachable, or the name does not resolve),
 * -ENETUNREACH, -ETIMEDOUT, -ECONNRESET (connection dropped before an answer). Not -EACCES: a
 * socket we may not open is a permission problem, not a daemon that is down. */
bool transport_error_is_unreachable(int r);

/* Maps a request's outcome to an enum cli_exit value. transport_r is http_request()'s return
 * value; status and body (n bytes, need not be NUL-terminated) are only looked at when it is 0.
 *   transport error that is "unreachable"              → CLI_EXIT_UNAVAILABLE (69)
 *   other transport error (answer too large, ...)       → CLI_EXIT_FAILURE (1)
 *   2xx with a JSON body: "allowed": false              → CLI_EXIT_NO_CAPACITY (75)
 *                         anything else                 → CLI_EXIT_SUCCESS (0)
 *   503 with a JSON object whose "allowed" is false     → CLI_EXIT_NO_CAPACITY (75)
 *   everything else (4xx, 5xx, a body that is not JSON) → CLI_EXIT_FAILURE (1) */
int response_exit_code(int transport_r, long status, const char *body, size_t n);

/* The reason phrase of an HTTP status ("Not Found"), "" for an unknown code. Static string. */
const char *http_status_reason(long status);

/* Writes a one-line description of a failed answer into buf (always NUL-terminated):
 * "HTTP 400 Bad Request: invalid request body". The server's text is the "error" member of a
 * JSON object body (headroom's error format), else the first line of a plain-text body
 * (capfox's), trimmed, with control characters replaced and cut to RESPONSE_QUOTE_MAX bytes.
 * A 2xx answer that is not JSON gives "HTTP 200 OK: the answer is not JSON". Returns buf. */
char *response_error_message(long status, const char *body, size_t n, char *buf, size_t len);
