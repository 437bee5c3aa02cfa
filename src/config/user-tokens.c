/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "config/user-tokens.h"

static bool user_char(char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           (c == '-' && !first);
}

static bool token_char(char c)
{
    return c > ' ' && c < 0x7f;
}

/* The next word of line [*p, end): its start and length; 0 when none is left. */
static size_t next_word(const char **p, const char *end, const char **ret)
{
    const char *s = *p;
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    const char *w = s;
    while (s < end && *s != ' ' && *s != '\t')
        s++;
    *ret = w;
    *p = s;
    return (size_t) (s - w);
}

int user_tokens_parse(const char *buf, size_t n, struct user_token *ret, unsigned max, char *err, size_t errlen)
{
    unsigned count = 0, line = 0;
    const char *p = buf, *end = buf + n;

    if (!buf && n > 0)
        return -EINVAL;
    if (buf && memchr(buf, '\0', n)) {
        (void) snprintf(err, errlen, "the file holds a NUL byte");
        return -EINVAL;
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t) (end - p));
        const char *eol = nl ? nl : end;
        const char *hash = memchr(p, '#', (size_t) (eol - p));
        const char *stop = hash ? hash : eol;
        const char *w[3];
        size_t len[3];
        const char *q = p;
        line++;
        for (int i = 0; i < 3; i++)
            len[i] = next_word(&q, stop, &w[i]);
        p = nl ? nl + 1 : end;
        if (len[0] == 0)
            continue;
        if (len[1] == 0 || len[2] != 0) {
            (void) snprintf(err, errlen, "line %u: expected \"USER TOKEN\"", line);
            return -EINVAL;
        }
        if (len[0] > USER_NAME_MAX) {
            (void) snprintf(err, errlen, "line %u: the user name is longer than %d characters", line, USER_NAME_MAX);
            return -EINVAL;
        }
        for (size_t i = 0; i < len[0]; i++)
            if (!user_char(w[0][i], i == 0)) {
                (void) snprintf(err, errlen, "line %u: the user name has a character a user name cannot have", line);
                return -EINVAL;
            }
        if (len[1] < CONFIG_TOKEN_MIN || len[1] >= CONFIG_STRING_MAX) {
            (void) snprintf(err, errlen, "line %u: a token has %d to %d characters", line, CONFIG_TOKEN_MIN,
                            CONFIG_STRING_MAX - 1);
            return -EINVAL;
        }
        for (size_t i = 0; i < len[1]; i++)
            if (!token_char(w[1][i])) {
                (void) snprintf(err, errlen, "line %u: a token has printable ASCII characters only", line);
                return -EINVAL;
            }
        if (count >= max) {
            (void) snprintf(err, errlen, "line %u: more than %u tokens", line, max);
            return -EINVAL;
        }
        struct user_token *t = &ret[count];
        memcpy(t->user, w[0], len[0]);
        t->user[len[0]] = '\0';
        memcpy(t->token, w[1], len[1]);
        t->token[len[1]] = '\0';
        for (unsigned k = 0; k < count; k++)
            if (strcmp(ret[k].token, t->token) == 0) {
                (void) snprintf(err, errlen, "line %u: this token is given to another line already", line);
                return -EINVAL;
            }
        count++;
    }
    return (int) count;
}
