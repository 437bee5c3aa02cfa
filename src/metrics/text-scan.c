/* SPDX-License-Identifier: MIT */
#include "metrics/text-scan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

void line_cursor_init(struct line_cursor *c, const char *buf, size_t n)
{
    c->p = buf;
    c->end = buf ? buf + n : buf;
}

bool line_next(struct line_cursor *c, struct span *ret_line)
{
    if (!c->p || c->p >= c->end)
        return false;

    const char *nl = memchr(c->p, '\n', (size_t) (c->end - c->p));
    const char *stop = nl ? nl : c->end;

    ret_line->p = c->p;
    ret_line->n = (size_t) (stop - c->p);
    c->p = nl ? nl + 1 : c->end;
    return true;
}

bool span_next_token(struct span *s, struct span *ret_tok)
{
    size_t i = 0;

    while (i < s->n && is_blank(s->p[i]))
        i++;
    if (i == s->n) {
        s->p += s->n;
        s->n = 0;
        return false;
    }

    size_t start = i;
    while (i < s->n && !is_blank(s->p[i]))
        i++;
    ret_tok->p = s->p + start;
    ret_tok->n = i - start;
    s->p += i;
    s->n -= i;
    return true;
}

void span_trim(struct span *s)
{
    while (s->n > 0 && is_blank(s->p[0])) {
        s->p++;
        s->n--;
    }
    while (s->n > 0 && is_blank(s->p[s->n - 1]))
        s->n--;
}

bool span_split(struct span s, char sep, struct span *ret_left, struct span *ret_right)
{
    const char *x = s.n > 0 ? memchr(s.p, sep, s.n) : NULL;

    if (!x)
        return false;
    ret_left->p = s.p;
    ret_left->n = (size_t) (x - s.p);
    ret_right->p = x + 1;
    ret_right->n = s.n - ret_left->n - 1;
    return true;
}

bool span_equal(struct span s, const char *literal)
{
    size_t l = strlen(literal);

    return s.n == l && memcmp(s.p, literal, l) == 0;
}

bool span_startswith(struct span s, const char *literal)
{
    size_t l = strlen(literal);

    return s.n >= l && memcmp(s.p, literal, l) == 0;
}

bool span_list_contains(struct span s, const char *item)
{
    struct span rest = s;

    for (;;) {
        struct span left, right;

        if (!span_split(rest, ',', &left, &right))
            return span_equal(rest, item);
        if (span_equal(left, item))
            return true;
        rest = right;
    }
}

int span_to_u64(struct span s, uint64_t *ret)
{
    uint64_t v = 0;

    if (s.n == 0)
        return -EBADMSG;
    for (size_t i = 0; i < s.n; i++) {
        if (!is_digit(s.p[i]))
            return -EBADMSG;
        unsigned d = (unsigned) (s.p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
    }
    *ret = v;
    return 0;
}

int span_to_i64(struct span s, int64_t *ret)
{
    bool negative = s.n > 0 && s.p[0] == '-';
    struct span digits = { s.p + negative, s.n - negative };
    uint64_t u;

    int r = span_to_u64(digits, &u);
    if (r < 0)
        return r;
    if (negative) {
        if (u > (uint64_t) INT64_MAX + 1)
            return -ERANGE;
        *ret = u == (uint64_t) INT64_MAX + 1 ? INT64_MIN : -(int64_t) u;
    } else {
        if (u > (uint64_t) INT64_MAX)
            return -ERANGE;
        *ret = (int64_t) u;
    }
    return 0;
}

int span_to_double(struct span s, double *ret)
{
    /* 40 bytes is far more than any kernel average ("100.00") needs; the bound keeps the copy on
     * the stack. Validating the characters first means strtod can only see a plain decimal, and
     * the daemon never calls setlocale(), so '.' is the radix character. */
    char tmp[41];
    bool dot = false, digit = false;

    if (s.n == 0)
        return -EBADMSG;
    if (s.n >= sizeof(tmp))
        return -ERANGE;
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] == '.' && !dot)
            dot = true;
        else if (is_digit(s.p[i]))
            digit = true;
        else
            return -EBADMSG;
    }
    if (!digit)
        return -EBADMSG;

    memcpy(tmp, s.p, s.n);
    tmp[s.n] = '\0';
    *ret = strtod(tmp, NULL);
    return 0;
}

int span_copy(struct span s, char *buf, size_t size)
{
    if (s.n > 0 && memchr(s.p, '\0', s.n))
        return -EBADMSG;
    if (s.n >= size)
        return -ENAMETOOLONG;
    if (s.n > 0)
        memcpy(buf, s.p, s.n);
    buf[s.n] = '\0';
    return 0;
}
