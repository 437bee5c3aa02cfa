/* SPDX-License-Identifier: MIT */
#include "cli/request.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"
#include "basic/parse-util.h"
#include "basic/utf8.h"
#include "cli/json-util.h"

/* 2^53: above it not every integer is a double, so larger values stay reals. */
#define JSON_EXACT_INT_MAX 9007199254740992.0

/* Integral values as JSON integers ("50", not "50.0"): what a person typed, and what capfox's
 * integer fields accept. */
static json_t *number_new(double v)
{
    /* floor(v) ≤ v always, so "not above" means integral, without comparing floats for equality. */
    if (!(v > floor(v)) && fabs(v) <= JSON_EXACT_INT_MAX)
        return json_integer((json_int_t) v);
    return json_real(v);
}

/* Byte counts stay exact integers; parse_size() keeps them below 2^63, inside json_int_t. */
static json_t *bytes_new(uint64_t v)
{
    return json_integer((json_int_t) MIN(v, (uint64_t) INT64_MAX));
}

/* Adds value under key, taking ownership of value; fails with -ENOMEM when value is NULL (its
 * constructor ran out of memory) or the insertion fails. */
static int set_new(json_t *obj, const char *key, json_t *value)
{
    if (!value)
        return -ENOMEM;
    if (json_object_set_new(obj, key, value) < 0)
        return -ENOMEM;
    return 0;
}

static int dump(const json_t *j, char **ret)
{
    /* 15 significant digits: enough for any percentage, and 33.3 stays "33.3". */
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    if (!s)
        return -ENOMEM;
    *ret = s;
    return 0;
}

bool request_task_is_valid(const char *s)
{
    return task_name_is_valid(s) && utf8_is_valid(s);
}

static int object_with_task(const char *task, double complexity, json_t **ret)
{
    _cleanup_json_ json_t *o = NULL;
    int r;

    if (!task || !utf8_is_valid(task) || !isfinite(complexity) || complexity < 0)
        return -EINVAL;
    o = json_object();
    if (!o)
        return -ENOMEM;
    r = set_new(o, "task", json_string(task));
    if (r < 0)
        return r;
    r = set_new(o, "complexity", number_new(complexity));
    if (r < 0)
        return r;
    *ret = TAKE_PTR(o);
    return 0;
}

int request_ask_body(const char *task, double complexity, const struct cli_needs *needs, double reserve_sec,
                     char **ret)
{
    _cleanup_json_ json_t *o = NULL, *n = NULL;
    int r;

    if (!isfinite(reserve_sec) || reserve_sec < 0)
        return -EINVAL;
    r = object_with_task(task, complexity, &o);
    if (r < 0)
        return r;

    n = json_object();
    if (!n)
        return -ENOMEM;
    if (needs) {
        if (needs->has_cpu) {
            r = set_new(n, "cpu_pct", number_new(needs->cpu_pct));
            if (r < 0)
                return r;
        }
        if (needs->has_mem) {
            r = set_new(n, "mem_bytes", bytes_new(needs->mem_bytes));
            if (r < 0)
                return r;
        }
        if (needs->has_gpu) {
            r = set_new(n, "gpu_pct", number_new(needs->gpu_pct));
            if (r < 0)
                return r;
        }
        if (needs->has_vram) {
            r = set_new(n, "vram_bytes", bytes_new(needs->vram_bytes));
            if (r < 0)
                return r;
        }
        if (needs->has_disk) {
            r = set_new(n, "disk_bytes", bytes_new(needs->disk_bytes));
            if (r < 0)
                return r;
        }
    }
    if (json_object_size(n) > 0) {
        r = set_new(o, "needs", TAKE_PTR(n));
        if (r < 0)
            return r;
    }
    if (reserve_sec > 0) {
        r = set_new(o, "reserve", json_true());
        if (r >= 0)
            r = set_new(o, "lease_seconds", number_new(reserve_sec));
        if (r < 0)
            return r;
    }

    return dump(o, ret);
}

static json_t *rounded_new(double v, unsigned *flags)
{
    double rounded = round(v);

    if (fabs(rounded - v) > 0.0)
        *flags |= REQUEST_ROUNDED;
    return json_integer((json_int_t) rounded);
}

int request_ask_capfox_body(const char *task,
                            double complexity,
                            const struct cli_needs *needs,
                            char **ret,
                            unsigned *ret_dropped)
{
    _cleanup_json_ json_t *o = NULL, *res = NULL;
    unsigned flags = 0;
    int r;

    if (!task || !utf8_is_valid(task) || !isfinite(complexity) || complexity < 0)
        return -EINVAL;
    o = json_object();
    if (!o)
        return -ENOMEM;
    r = set_new(o, "task", json_string(task));
    if (r < 0)
        return r;
    r = set_new(o, "complexity", rounded_new(complexity, &flags));
    if (r < 0)
        return r;

    res = json_object();
    if (!res)
        return -ENOMEM;
    if (needs) {
        if (needs->has_cpu && needs->cpu_pct > 0) {
            r = set_new(res, "cpu", rounded_new(needs->cpu_pct, &flags));
            if (r < 0)
                return r;
        }
        if (needs->has_gpu && needs->gpu_pct > 0) {
            r = set_new(res, "gpu", rounded_new(needs->gpu_pct, &flags));
            if (r < 0)
                return r;
        }
        if (needs->has_mem)
            flags |= REQUEST_DROPPED_MEM;
        if (needs->has_vram)
            flags |= REQUEST_DROPPED_VRAM;
        if (needs->has_disk)
            flags |= REQUEST_DROPPED_DISK;
    }
    if (json_object_size(res) > 0) {
        r = set_new(o, "resources", TAKE_PTR(res));
        if (r < 0)
            return r;
    }

    r = dump(o, ret);
    if (r < 0)
        return r;
    *ret_dropped = flags;
    return 0;
}

bool request_lease_is_valid(const char *s)
{
    if (!s || strlen(s) != 18 || strncmp(s, "l-", 2) != 0)
        return false;
    for (size_t i = 2; i < 18; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

int request_notify_body(const char *task, double complexity, const char *lease, char **ret)
{
    _cleanup_json_ json_t *o = NULL;
    int r;

    if (lease && !request_lease_is_valid(lease))
        return -EINVAL;
    r = object_with_task(task, complexity, &o);
    if (r < 0)
        return r;
    if (lease) {
        r = set_new(o, "lease", json_string(lease));
        if (r < 0)
            return r;
    }
    return dump(o, ret);
}

static bool char_is_unreserved(unsigned char c)
{
    /* RFC 3986 section 2.3. */
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

int url_encode(const char *s, char **ret)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n;
    char *out, *p;

    if (!s)
        return -EINVAL;
    n = strlen(s);
    if (n > (SIZE_MAX - 1) / 3)
        return -ENOMEM;
    out = malloc(n * 3 + 1);
    if (!out)
        return -ENOMEM;
    p = out;
    for (const unsigned char *q = (const unsigned char *) s; *q; q++) {
        if (char_is_unreserved(*q))
            *p++ = (char) *q;
        else {
            *p++ = '%';
            *p++ = hex[*q >> 4];
            *p++ = hex[*q & 0xf];
        }
    }
    *p = '\0';
    *ret = out;
    return 0;
}

int request_stats_path(const char *task, char **ret)
{
    _cleanup_free_ char *enc = NULL;
    char *s;
    int r;

    if (!task) {
        s = strdup("/stats");
        if (!s)
            return -ENOMEM;
        *ret = s;
        return 0;
    }
    r = url_encode(task, &enc);
    if (r < 0)
        return r;
    if (asprintf(&s, "/stats?task=%s", enc) < 0)
        return -ENOMEM;
    *ret = s;
    return 0;
}

bool request_complexity_is_valid(double complexity)
{
    /* False for NaN, which fails every comparison. */
    return complexity >= 0 && complexity <= REQUEST_COMPLEXITY_MAX;
}

/* Writes v, which request_complexity_is_valid() accepted, in the form a person would type: whole
 * numbers without a fraction or an exponent (all of them are exact below 2^53, and 1e15 is), and
 * fractions with the fewest digits that still read back as v, so "2.5" is sent, not
 * "2.5000000000000000". DBL_DECIMAL_DIG (17) digits always read back. */
static void complexity_str(double v, char *buf, size_t len)
{
    if (!(v > floor(v))) {
        (void) snprintf(buf, len, "%.0f", v);
        return;
    }
    for (int digits = 1; digits <= 17; digits++) {
        (void) snprintf(buf, len, "%.*g", digits, v);
        double back = strtod(buf, NULL);
        if (!(back < v || back > v))
            return;
    }
}

int request_model_path(const char *task, bool with_complexity, double complexity, char **ret)
{
    _cleanup_free_ char *enc = NULL;
    char num[64] = "";
    char *s;
    int r;

    if (!task || !request_task_is_valid(task))
        return -EINVAL;
    if (with_complexity) {
        if (!request_complexity_is_valid(complexity))
            return -EINVAL;
        complexity_str(complexity, num, sizeof(num));
    }
    /* A segment of "." or ".." would be removed from the path by URL normalisation (libcurl's
     * included) before it reached the daemon; encoded, it is an ordinary name. */
    if (strcmp(task, ".") == 0)
        enc = strdup("%2E");
    else if (strcmp(task, "..") == 0)
        enc = strdup("%2E%2E");
    else {
        r = url_encode(task, &enc);
        if (r < 0)
            return r;
    }
    if (!enc)
        return -ENOMEM;
    /* The number is made of digits, '.', 'e' and '-' only (an exponent is never positive below
     * 1e15), all of them unreserved in a query, so it needs no encoding. */
    if (asprintf(&s, "/v1/models/%s%s%s", enc, with_complexity ? "?complexity=" : "", num) < 0)
        return -ENOMEM;
    *ret = s;
    return 0;
}
