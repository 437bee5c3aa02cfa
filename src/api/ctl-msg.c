/* SPDX-License-Identifier: MIT */
#include "api/ctl-msg.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"

/* jansson ≥ 2.9 provides json_decrefp() for cleanup attributes. */
#define _cleanup_json_ _cleanup_(json_decrefp)

static bool streq(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

/* Well-formed UTF-8 (RFC 3629 section 4): no overlong forms, no surrogates, nothing above
 * U+10FFFF. jansson refuses anything else in a string; checking first tells a body JSON cannot
 * carry (-EINVAL) from an allocation failure (-ENOMEM), which jansson's NULL does not. */
static bool utf8_is_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *) s, *end = p + n;

    while (p < end) {
        unsigned char c = *p;
        size_t len;
        uint32_t cp, min;

        if (c < 0x80) {
            p++;
            continue;
        }
        if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
            min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
            min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
            min = 0x10000;
        } else
            return false;
        if ((size_t) (end - p) < len)
            return false;
        for (size_t i = 1; i < len; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += len;
    }
    return true;
}

/* A JSON string of s (n bytes), or NULL with *r set: -EINVAL when JSON cannot carry it. */
static json_t *string_of(const char *s, size_t n, int *r)
{
    if (memchr(s, '\0', n) || !utf8_is_valid(s, n)) {
        *r = -EINVAL;
        return NULL;
    }
    json_t *j = json_stringn_nocheck(s, n);
    if (!j)
        *r = -ENOMEM;
    return j;
}

static int set_string(json_t *obj, const char *key, const char *s, size_t n)
{
    int r = 0;
    json_t *v = string_of(s, n, &r);

    if (!v)
        return r;
    /* json_object_set_new() steals v, on failure too. */
    return json_object_set_new(obj, key, v) < 0 ? -ENOMEM : 0;
}

static int fields_object(const struct ctl_field *f, unsigned n, json_t **ret)
{
    _cleanup_json_ json_t *o = json_object();

    if (!o)
        return -ENOMEM;
    if (n > CTL_FIELDS_MAX)
        return -EINVAL;
    for (unsigned i = 0; i < n; i++) {
        if (!f[i].name || !f[i].value)
            return -EINVAL;
        size_t kl = strlen(f[i].name);
        if (!utf8_is_valid(f[i].name, kl))
            return -EINVAL;
        if (json_object_get(o, f[i].name))
            return -EINVAL; /* a repeated name: the object would keep only the last one */
        int r = 0;
        json_t *v = string_of(f[i].value, strlen(f[i].value), &r);
        if (!v)
            return r;
        if (json_object_set_new(o, f[i].name, v) < 0)
            return -ENOMEM;
    }
    *ret = TAKE_PTR(o);
    return 0;
}

static int dump(json_t *o, size_t max, char **ret, size_t *ret_len)
{
    char *s = json_dumps(o, JSON_COMPACT);
    if (!s)
        return -ENOMEM;
    size_t n = strlen(s);
    if (n > max) {
        free(s);
        return -EMSGSIZE;
    }
    *ret = s;
    *ret_len = n;
    return 0;
}

int ctl_request_encode(const struct ctl_request *r, char **ret, size_t *ret_len)
{
    _cleanup_json_ json_t *o = NULL;
    json_t *f;
    int k;

    if (!r || !r->method || !r->path || !r->method[0] || r->path[0] != '/')
        return -EINVAL;
    if (r->body && r->body_len > CTL_REQUEST_MAX_BYTES)
        return -EMSGSIZE;
    o = json_object();
    if (!o)
        return -ENOMEM;
    k = set_string(o, "method", r->method, strlen(r->method));
    if (k < 0)
        return k;
    k = set_string(o, "path", r->path, strlen(r->path));
    if (k < 0)
        return k;
    if (r->n_query > 0) {
        k = fields_object(r->query, r->n_query, &f);
        if (k < 0)
            return k;
        if (json_object_set_new(o, "query", f) < 0)
            return -ENOMEM;
    }
    if (r->n_headers > 0) {
        k = fields_object(r->headers, r->n_headers, &f);
        if (k < 0)
            return k;
        if (json_object_set_new(o, "headers", f) < 0)
            return -ENOMEM;
    }
    if (r->body) {
        k = set_string(o, "body", r->body, r->body_len);
        if (k < 0)
            return k;
    }
    return dump(o, CTL_REQUEST_MAX_BYTES, ret, ret_len);
}

_printf_(3, 4) static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (errlen > 0) {
        va_start(ap, fmt);
        (void) vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -EBADMSG;
}

static int parse_fields(json_t *o,
                        const char *what,
                        struct ctl_field *fields,
                        unsigned *ret_n,
                        char *err,
                        size_t errlen)
{
    const char *key;
    json_t *v;
    unsigned n = 0;

    if (!json_is_object(o))
        return fail(err, errlen, "%s must be an object of strings", what);
    if (json_object_size(o) > CTL_FIELDS_MAX) {
        (void) fail(err, errlen, "more than %u %s", CTL_FIELDS_MAX, what);
        return -E2BIG;
    }
    json_object_foreach(o, key, v) {
        if (!json_is_string(v))
            return fail(err, errlen, "%s \"%.64s\" must be a string", what, key);
        fields[n++] = (struct ctl_field){ .name = key, .value = json_string_value(v) };
    }
    *ret_n = n;
    return 0;
}

static bool method_is_valid(const char *m)
{
    size_t n = strlen(m);

    if (n == 0 || n > CTL_METHOD_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (m[i] < 'A' || m[i] > 'Z')
            return false;
    return true;
}

int ctl_request_parse(const char *buf, size_t n, struct ctl_request *ret, char *err, size_t errlen)
{
    _cleanup_json_ json_t *o = NULL;
    struct ctl_request req = { 0 };
    json_error_t je;
    const char *key;
    json_t *v;
    int r;

    if (errlen > 0)
        err[0] = '\0';
    if (n > CTL_REQUEST_MAX_BYTES) {
        (void) fail(err, errlen, "request larger than %u bytes", CTL_REQUEST_MAX_BYTES);
        return -EMSGSIZE;
    }
    /* Strings with a NUL are refused (no JSON_ALLOW_NUL): every string here ends up as a C string,
     * where a NUL would silently cut it short. */
    o = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &je);
    if (!o)
        return fail(err, errlen, "invalid JSON: %s", je.text);
    if (!json_is_object(o))
        return fail(err, errlen, "the request must be a JSON object");

    json_object_foreach(o, key, v) {
        if (streq(key, "method") || streq(key, "path") || streq(key, "body")) {
            if (!json_is_string(v))
                return fail(err, errlen, "%s must be a string", key);
            if (streq(key, "method"))
                req.method = json_string_value(v);
            else if (streq(key, "path"))
                req.path = json_string_value(v);
            else {
                req.body = json_string_value(v);
                req.body_len = json_string_length(v);
            }
        } else if (streq(key, "query")) {
            r = parse_fields(v, "query arguments", req.query, &req.n_query, err, errlen);
            if (r < 0)
                return r;
        } else if (streq(key, "headers")) {
            r = parse_fields(v, "headers", req.headers, &req.n_headers, err, errlen);
            if (r < 0)
                return r;
        } else
            return fail(err, errlen, "unknown field \"%.64s\"", key);
    }
    if (!req.method || !method_is_valid(req.method))
        return fail(err, errlen, "method must be 1..%d capital letters", CTL_METHOD_MAX);
    if (!req.path || req.path[0] != '/')
        return fail(err, errlen, "path must start with '/'");

    req.json = TAKE_PTR(o);
    *ret = req;
    return 0;
}

void ctl_request_done(struct ctl_request *r)
{
    if (!r)
        return;
    json_decref(r->json);
    *r = (struct ctl_request){ 0 };
}

int ctl_reply_encode(unsigned status,
                     const char *content_type,
                     const char *body,
                     size_t body_len,
                     char **ret,
                     size_t *ret_len)
{
    _cleanup_json_ json_t *o = NULL;
    int r;

    if (status < 100 || status > 999)
        return -EINVAL;
    /* An answer this large cannot fit once escaped; do not build it. */
    if (body && body_len > CTL_REPLY_MAX_BYTES)
        return -EMSGSIZE;
    o = json_object();
    if (!o)
        return -ENOMEM;
    if (json_object_set_new(o, "status", json_integer(status)) < 0)
        return -ENOMEM;
    if (content_type) {
        r = set_string(o, "content_type", content_type, strlen(content_type));
        if (r < 0)
            return r;
    }
    r = set_string(o, "body", body ? body : "", body ? body_len : 0);
    if (r < 0)
        return r;
    return dump(o, CTL_REPLY_MAX_BYTES, ret, ret_len);
}

int ctl_reply_encode_error(const char *message, char **ret, size_t *ret_len)
{
    _cleanup_json_ json_t *o = NULL;
    char text[256];
    size_t n = 0;

    for (const unsigned char *p = (const unsigned char *) message; *p && n < sizeof(text) - 1; p++)
        text[n++] = *p >= 0x20 && *p < 0x7f ? (char) *p : '?';
    text[n] = '\0';
    o = json_pack("{s:i, s:s}", "status", 0, "error", text);
    if (!o)
        return -ENOMEM;
    return dump(o, CTL_REPLY_MAX_BYTES, ret, ret_len);
}

static int dup_string(json_t *v, char **ret)
{
    char *s = strndup(json_string_value(v), json_string_length(v));
    if (!s)
        return -ENOMEM;
    *ret = s;
    return 0;
}

int ctl_reply_parse(const char *buf, size_t n, struct ctl_reply *ret)
{
    _cleanup_json_ json_t *o = NULL;
    json_t *status, *body, *ct, *error;
    struct ctl_reply rep = { 0 };
    int r;

    if (n > CTL_REPLY_MAX_BYTES)
        return -EMSGSIZE;
    o = json_loadb(buf, n, JSON_REJECT_DUPLICATES, NULL);
    if (!o || !json_is_object(o))
        return -EBADMSG;

    status = json_object_get(o, "status");
    body = json_object_get(o, "body");
    ct = json_object_get(o, "content_type");
    error = json_object_get(o, "error");
    if (!json_is_integer(status))
        return -EBADMSG;
    json_int_t s = json_integer_value(status);
    if (s != 0 && (s < 100 || s > 999))
        return -EBADMSG;
    if ((body && !json_is_string(body)) || (ct && !json_is_string(ct)) ||
        (error && !json_is_string(error)))
        return -EBADMSG;
    if (s != 0 && !body)
        return -EBADMSG;
    rep.status = (unsigned) s;

    if (body)
        r = dup_string(body, &rep.body);
    else {
        rep.body = strdup("");
        r = rep.body ? 0 : -ENOMEM;
    }
    if (r >= 0 && ct)
        r = dup_string(ct, &rep.content_type);
    if (r >= 0 && error && s == 0)
        r = dup_string(error, &rep.error);
    if (r < 0) {
        ctl_reply_done(&rep);
        return r;
    }
    rep.body_len = body ? json_string_length(body) : 0;
    *ret = rep;
    return 0;
}

void ctl_reply_done(struct ctl_reply *r)
{
    if (!r)
        return;
    free(r->content_type);
    free(r->body);
    free(r->error);
    *r = (struct ctl_reply){ 0 };
}
