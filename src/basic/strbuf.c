/* SPDX-License-Identifier: MIT */
#include "basic/strbuf.h"

#include <stdio.h>
#include <string.h>

void strbuf_init(struct strbuf *b, size_t max_bytes)
{
    *b = (struct strbuf) { .max = max_bytes };
}

void strbuf_done(struct strbuf *b)
{
    free(b->buf);
    *b = (struct strbuf) { .max = b->max };
}

static int reserve(struct strbuf *b, size_t extra)
{
    if (b->failed)
        return -E2BIG;
    if (extra > b->max || b->len + extra + 1 > b->max + 1) {
        b->failed = true;
        return -E2BIG;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < need)
        ncap *= 2;
    if (ncap > b->max + 1)
        ncap = b->max + 1;
    char *n = realloc(b->buf, ncap);
    if (!n) {
        b->failed = true;
        return -ENOMEM;
    }
    b->buf = n;
    b->cap = ncap;
    return 0;
}

int strbuf_append(struct strbuf *b, const char *s, size_t n)
{
    int r = reserve(b, n);
    if (r < 0)
        return r;
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
    return 0;
}

int strbuf_puts(struct strbuf *b, const char *s)
{
    return strbuf_append(b, s, strlen(s));
}

int strbuf_printf(struct strbuf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    if ((size_t) n < sizeof(small))
        return strbuf_append(b, small, (size_t) n);

    int r = reserve(b, (size_t) n);
    if (r < 0)
        return r;
    va_start(ap, fmt);
    (void) vsnprintf(b->buf + b->len, (size_t) n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t) n;
    return 0;
}

char *strbuf_steal(struct strbuf *b, size_t *ret_len)
{
    if (b->failed) {
        strbuf_done(b);
        return NULL;
    }
    if (!b->buf && reserve(b, 0) < 0)
        return NULL;
    if (!b->buf) {
        b->buf = calloc(1, 1);
        if (!b->buf)
            return NULL;
    }
    char *p = b->buf;
    if (ret_len)
        *ret_len = b->len;
    *b = (struct strbuf) { .max = b->max };
    return p;
}
