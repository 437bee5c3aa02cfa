/* SPDX-License-Identifier: MIT */
#include "config/env-expand.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "basic/macro.h"

static bool is_name_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_name_char(char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9');
}

/* Appends len bytes to out, keeping room for the terminator. */
static int append(char *out, size_t out_size, size_t *pos, const char *s, size_t len)
{
    if (len >= out_size - *pos)
        return -ENOBUFS;
    memcpy(out + *pos, s, len);
    *pos += len;
    return 0;
}

int env_expand(const char *in,
               size_t n,
               env_lookup_t lookup,
               void *userdata,
               char *out,
               size_t out_size,
               char *msg,
               size_t msg_size)
{
    size_t pos = 0;
    int r;

    if (!in || !lookup || !out || out_size == 0 || !msg || msg_size == 0)
        return -EINVAL;

    for (size_t i = 0; i < n;) {
        if (in[i] != '$' || i + 1 >= n || (in[i + 1] != '$' && in[i + 1] != '{')) {
            r = append(out, out_size, &pos, in + i, 1);
            if (r < 0)
                goto too_long;
            i++;
            continue;
        }
        if (in[i + 1] == '$') {
            r = append(out, out_size, &pos, "$", 1);
            if (r < 0)
                goto too_long;
            i += 2;
            continue;
        }

        /* "${": find the end of the reference first, so that every error can quote it. */
        size_t start = i + 2, close = start;
        while (close < n && in[close] != '}')
            close++;
        if (close >= n) {
            (void) snprintf(msg, msg_size, "unterminated '${' (missing '}')");
            return -EINVAL;
        }

        size_t name_len = 0;
        while (start + name_len < close && is_name_char(in[start + name_len]))
            name_len++;
        size_t after = start + name_len;
        bool has_default = after + 1 < close && in[after] == ':' && in[after + 1] == '-';

        /* Shell operators other than ":-" are refused by name rather than as a bad name. */
        if (after != close && !has_default && in[after] != '\0' && strchr(":-=?+", in[after]) &&
            name_len > 0 && is_name_start(in[start])) {
            (void) snprintf(msg, msg_size,
                            "unsupported reference '${%.*s}' (use ${NAME} or ${NAME:-default})",
                            (int) MIN(close - start, (size_t) ENV_NAME_MAX), in + start);
            return -EINVAL;
        }
        if (name_len == 0 || name_len > ENV_NAME_MAX || !is_name_start(in[start]) ||
            (after != close && !has_default)) {
            /* Quote the name as written: up to the "}" or to the ":-" of a default. */
            size_t shown = has_default ? name_len : close - start;
            (void) snprintf(msg, msg_size, "invalid environment variable name '%.*s'",
                            (int) MIN(shown, (size_t) ENV_NAME_MAX), in + start);
            return -EINVAL;
        }

        char name[ENV_NAME_MAX + 1];
        memcpy(name, in + start, name_len);
        name[name_len] = '\0';

        const char *value = lookup(name, userdata);
        if (after != close) {
            /* ${NAME:-default}: the default is used when NAME is unset or empty. */
            if (!value || value[0] == '\0') {
                r = append(out, out_size, &pos, in + after + 2, close - (after + 2));
                if (r < 0)
                    goto too_long;
                i = close + 1;
                continue;
            }
        } else if (!value) {
            (void) snprintf(msg, msg_size, "environment variable '%s' is not set", name);
            return -ENOENT;
        }

        r = append(out, out_size, &pos, value, strlen(value));
        if (r < 0)
            goto too_long;
        i = close + 1;
    }

    out[pos] = '\0';
    return (int) pos;

too_long:
    (void) snprintf(msg, msg_size,
                    "value is too long after environment expansion (at most %zu bytes)",
                    out_size - 1);
    return -ENOBUFS;
}
