/* SPDX-License-Identifier: MIT */
#pragma once

/* A growable string with a hard cap (curl's dynbuf idea): appends past the cap fail with -E2BIG
 * and leave the buffer as it was, so a response can never grow without bound. */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "basic/macro.h"

struct strbuf {
    char *buf;
    size_t len;
    size_t cap;
    size_t max;
    bool failed;   /* sticky: one failed append marks the whole buffer as unusable */
};

void strbuf_init(struct strbuf *b, size_t max_bytes);
void strbuf_done(struct strbuf *b);

int strbuf_append(struct strbuf *b, const char *s, size_t n);
int strbuf_puts(struct strbuf *b, const char *s);
int strbuf_printf(struct strbuf *b, const char *fmt, ...) _printf_(2, 3);

/* Hands the NUL-terminated contents over to the caller (free()), leaving b empty. NULL when an
 * append failed or on OOM. */
char *strbuf_steal(struct strbuf *b, size_t *ret_len);
