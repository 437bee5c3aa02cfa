/* SPDX-License-Identifier: MIT */
#pragma once

/* The messages of the control socket (docs/API.md, "The control socket"): a Unix SOCK_SEQPACKET
 * socket beside the HTTP one where each datagram is one request of the HTTP API and the answer is
 * one datagram. Both are JSON objects:
 *
 *   request  {"method":"POST","path":"/v1/ask","query":{"reason":"true"},
 *             "headers":{"authorization":"Bearer ..."},"body":"<the body as a string>"}
 *   reply    {"status":200,"content_type":"application/json","body":"<string>"}
 *            {"status":0,"error":"<why>"}  -- not answered here: ask over HTTP
 *
 * The path and the query are decoded (no percent escapes), as a handler sees them. This file is
 * pure: encoding and parsing only, shared by the daemon (parse a request, encode a reply) and the
 * client (encode a request, parse a reply). It does not include the HTTP headers of either side,
 * whose struct http_response differ. Nothing here logs. */

#include <stdbool.h>
#include <stddef.h>

/* A request datagram larger than this is refused; the client sends bigger requests over HTTP. */
#define CTL_REQUEST_MAX_BYTES (64U * 1024U)
/* A reply datagram larger than this is not sent: the daemon answers status 0 instead, and the
 * client asks again over HTTP. Only read-only answers (/status, /metrics, /v1/history ...) come
 * near it. */
#define CTL_REPLY_MAX_BYTES (256U * 1024U)
/* Query arguments, and headers, each. The client sends at most two of either. */
#define CTL_FIELDS_MAX 16
/* The control socket's path is the HTTP socket's with this appended. */
#define CTL_SOCKET_SUFFIX ".ctl"
/* Longest method name accepted ("OPTIONS" is the longest the API knows). */
#define CTL_METHOD_MAX 16

struct json_t;

struct ctl_field {
    const char *name;
    const char *value;
};

/* A request. The strings are borrowed: from the caller for ctl_request_encode(), from the parsed
 * JSON (held in json) for ctl_request_parse(). */
struct ctl_request {
    const char *method;
    const char *path; /* decoded, without the query */
    unsigned n_query;
    struct ctl_field query[CTL_FIELDS_MAX];
    unsigned n_headers;
    struct ctl_field headers[CTL_FIELDS_MAX];
    const char *body; /* NUL-terminated; NULL: none */
    size_t body_len;
    struct json_t *json; /* owner of the strings of a parsed request */
};

/* A parsed reply; every string is owned. */
struct ctl_reply {
    unsigned status;    /* 0: not answered here (error says why) */
    char *content_type; /* NULL when absent */
    char *body;         /* NUL-terminated, never NULL after a successful parse */
    size_t body_len;
    char *error; /* status 0 only; NULL otherwise */
};

/* Encodes r into a malloc()ed, NUL-terminated datagram (*ret_len excludes the NUL), owned by the
 * caller. Returns 0, -EINVAL (a missing method or path, a string that is not UTF-8 or holds a NUL,
 * more than CTL_FIELDS_MAX fields, a name repeated), -EMSGSIZE (larger than
 * CTL_REQUEST_MAX_BYTES) or -ENOMEM. */
int ctl_request_encode(const struct ctl_request *r, char **ret, size_t *ret_len);

/* Parses a request datagram of n bytes, strictly: an object with "method" and "path" strings,
 * optional "query" and "headers" objects of strings and an optional "body" string; no other key,
 * no duplicate key, no NUL in any string, the path starting with '/'. On success *ret borrows
 * from ret->json: release it with ctl_request_done(). Returns 0, -EMSGSIZE (n above
 * CTL_REQUEST_MAX_BYTES), -E2BIG (more than CTL_FIELDS_MAX query arguments or headers), -EBADMSG
 * (anything else malformed) or -ENOMEM; on failure err (errlen bytes, may be 0) says why. */
int ctl_request_parse(const char *buf, size_t n, struct ctl_request *ret, char *err, size_t errlen);
/* Drops the JSON a parsed request borrows from and clears r. Takes NULL. */
void ctl_request_done(struct ctl_request *r);

/* Encodes a reply (status 100..999) with body (body_len bytes; NULL for none) and content_type
 * (NULL to leave it out). Returns 0 with a malloc()ed NUL-terminated datagram, -EINVAL (a status
 * out of range, a body that is not UTF-8 or holds a NUL: JSON cannot carry it as a string),
 * -EMSGSIZE (the datagram would exceed CTL_REPLY_MAX_BYTES) or -ENOMEM. */
int ctl_reply_encode(unsigned status,
                     const char *content_type,
                     const char *body,
                     size_t body_len,
                     char **ret,
                     size_t *ret_len);
/* Encodes the status-0 reply {"status":0,"error":"<message>"}: not answered here, ask over HTTP.
 * Bytes of message outside printable ASCII become '?', so any text (a key the client sent, cut
 * anywhere) can be given. Returns 0 with a malloc()ed NUL-terminated datagram, or -ENOMEM. */
int ctl_reply_encode_error(const char *message, char **ret, size_t *ret_len);

/* Parses a reply datagram: an object with an integer "status" (0 or 100..999), a "body" string
 * (required unless the status is 0; may hold no NUL), optional "content_type" and "error" strings.
 * Unknown keys are ignored, so that a newer daemon may add some. Returns 0 with *ret owned by the
 * caller (release with ctl_reply_done()), -EMSGSIZE (n above CTL_REPLY_MAX_BYTES), -EBADMSG or
 * -ENOMEM. */
int ctl_reply_parse(const char *buf, size_t n, struct ctl_reply *ret);
/* Frees the strings of r and clears it. Takes NULL. */
void ctl_reply_done(struct ctl_reply *r);
