/* SPDX-License-Identifier: MIT */

#include <errno.h>

#include "basic/utf8.h"

int utf8_decode(const char *s, uint32_t *ret_cp)
{
    const unsigned char *p = (const unsigned char *) s;
    unsigned c = *p, n;
    uint32_t cp;

    if (c < 0x80) {
        *ret_cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        n = 1;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 2;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 3;
        cp = c & 0x07;
    } else
        return -EILSEQ;
    /* A NUL is not a continuation byte, so the loop stops at the end of the string. */
    for (unsigned i = 1; i <= n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return -EILSEQ;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return -EILSEQ;
    *ret_cp = cp;
    return (int) n + 1;
}

bool utf8_is_valid(const char *s)
{
    uint32_t cp;

    while (*s) {
        int n = utf8_decode(s, &cp);
        if (n < 0)
            return false;
        s += n;
    }
    return true;
}
