/* SPDX-License-Identifier: MIT */
#include "cli/response.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli/exit-codes.h"
#include "cli/json-util.h"

bool transport_error_is_unreachable(int r)
{
    return r == -ECONNREFUSED || r == -ENOENT || r == -EHOSTUNREACH || r == -ENETUNREACH ||
           r == -ETIMEDOUT || r == -ECONNRESET;
}

static json_t *parse_body(const char *body, size_t n)
{
    if (!body || n == 0)
        return NULL;
    return json_loadb(body, n, JSON_DECODE_ANY, NULL);
}

/* 1 when the body is a JSON object with "allowed": false, 0 when it is JSON of any other kind,
 * -EBADMSG when it is not JSON at all. */
static int body_denied(const char *body, size_t n)
{
    _cleanup_json_ json_t *j = parse_body(body, n);

    if (!j)
        return -EBADMSG;
    return json_is_false(json_get(j, "allowed")) ? 1 : 0;
}

int response_exit_code(int transport_r, long status, const char *body, size_t n)
{
    int denied;

    if (transport_r < 0)
        return transport_error_is_unreachable(transport_r) ? CLI_EXIT_UNAVAILABLE
                                                           : CLI_EXIT_FAILURE;

    if (status >= 200 && status <= 299) {
        denied = body_denied(body, n);
        if (denied < 0)
            return CLI_EXIT_FAILURE;
        return denied ? CLI_EXIT_NO_CAPACITY : CLI_EXIT_SUCCESS;
    }
    if (status == 503 && body_denied(body, n) > 0)
        return CLI_EXIT_NO_CAPACITY;
    return CLI_EXIT_FAILURE;
}

const char *http_status_reason(long status)
{
    static const struct {
        long status;
        const char *reason;
    } table[] = {
        { 200, "OK" },
        { 201, "Created" },
        { 204, "No Content" },
        { 400, "Bad Request" },
        { 401, "Unauthorized" },
        { 403, "Forbidden" },
        { 404, "Not Found" },
        { 405, "Method Not Allowed" },
        { 408, "Request Timeout" },
        { 409, "Conflict" },
        { 413, "Content Too Large" },
        { 415, "Unsupported Media Type" },
        { 422, "Unprocessable Content" },
        { 429, "Too Many Requests" },
        { 500, "Internal Server Error" },
        { 501, "Not Implemented" },
        { 502, "Bad Gateway" },
        { 503, "Service Unavailable" },
        { 504, "Gateway Timeout" },
    };

    for (size_t i = 0; i < ELEMENTSOF(table); i++)
        if (table[i].status == status)
            return table[i].reason;
    return "";
}

/* Copies the first line of s (n bytes) into buf, trimmed, control characters replaced by '?',
 * at most RESPONSE_QUOTE_MAX bytes and never ending inside a UTF-8 sequence. */
static void quote_line(const char *s, size_t n, char *buf, size_t len)
{
    size_t start = 0, end, out = 0;

    while (start < n &&
           (s[start] == ' ' || s[start] == '\t' || s[start] == '\r' || s[start] == '\n'))
        start++;
    end = start;
    while (end < n && s[end] != '\n' && s[end] != '\r' && s[end] != '\0')
        end++;
    while (end > start && (s[end - 1] == ' ' || s[end - 1] == '\t'))
        end--;

    size_t cap = MIN(len - 1, (size_t) RESPONSE_QUOTE_MAX);
    if (end - start > cap) {
        end = start + cap;
        /* Step back over continuation bytes, then drop the lead byte they belonged to. */
        while (end > start && ((unsigned char) s[end] & 0xC0) == 0x80)
            end--;
    }
    for (size_t i = start; i < end; i++) {
        unsigned char c = (unsigned char) s[i];
        buf[out++] = (c < 0x20 || c == 0x7f) ? '?' : (char) c;
    }
    buf[out] = '\0';
}

char *response_error_message(long status, const char *body, size_t n, char *buf, size_t len)
{
    _cleanup_json_ json_t *j = parse_body(body, n);
    char text[RESPONSE_QUOTE_MAX + 1] = "";
    const char *reason = http_status_reason(status);

    if (len == 0)
        return buf;

    if (j) {
        const char *e = json_get_string(j, "error");
        if (!e)
            e = json_get_string(j, "message");
        if (e)
            quote_line(e, strlen(e), text, sizeof(text));
    } else if (status >= 200 && status <= 299)
        (void) snprintf(text, sizeof(text), "the answer is not JSON");
    else if (body)
        quote_line(body, n, text, sizeof(text));

    /* capfox's 401 body is just "Unauthorized": do not print the same word twice. */
    if (text[0] == '\0' || strcasecmp(text, reason) == 0)
        (void) snprintf(buf, len, "HTTP %ld%s%s", status, reason[0] ? " " : "", reason);
    else
        (void) snprintf(buf, len, "HTTP %ld%s%s: %s", status, reason[0] ? " " : "", reason, text);
    return buf;
}
