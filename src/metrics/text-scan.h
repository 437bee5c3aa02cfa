/* SPDX-License-Identifier: MIT */
#pragma once

/* Bounded text scanning shared by the metrics parsers. Every function here works on (pointer,
 * length) pairs and never reads past the given length, so a parser can take a buffer that is not
 * NUL-terminated. A NUL byte inside the data is ordinary, non-blank content: it can never form a
 * valid number, so hostile input with embedded NULs is rejected instead of silently cut short.
 * Nothing here allocates, does I/O or logs. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A borrowed piece of a buffer; not NUL-terminated. */
struct span {
    const char *p;
    size_t n;
};

/* Walks a buffer line by line. */
struct line_cursor {
    const char *p;
    const char *end;
};

void line_cursor_init(struct line_cursor *c, const char *buf, size_t n);

/* Stores the next line (without its '\n') in *ret_line and advances. The last line needs no
 * trailing newline. Returns false once the buffer is exhausted. */
bool line_next(struct line_cursor *c, struct span *ret_line);

/* Splits the next blank-separated (space or tab) token off the front of *s. Returns false, leaving
 * *s empty, when only blanks remain. */
bool span_next_token(struct span *s, struct span *ret_tok);

/* Removes leading and trailing blanks (space, tab). */
void span_trim(struct span *s);

/* Splits s at the first occurrence of sep, which belongs to neither half. Returns false when sep
 * does not occur. */
bool span_split(struct span s, char sep, struct span *ret_left, struct span *ret_right);

bool span_equal(struct span s, const char *literal);
bool span_startswith(struct span s, const char *literal);

/* Whether s is a comma-separated list (as in mount options) with one item equal to item. */
bool span_list_contains(struct span s, const char *item);

/* Unsigned decimal, digits only. Returns 0, -EBADMSG for anything else (empty, sign, blank,
 * stray byte), or -ERANGE when the value does not fit in 64 bits. */
int span_to_u64(struct span s, uint64_t *ret);

/* Signed decimal with an optional leading '-'. -EBADMSG or -ERANGE as above. */
int span_to_i64(struct span s, int64_t *ret);

/* A plain non-negative decimal such as "2.30" or "17": digits with at most one '.', no sign, no
 * exponent, no "inf"/"nan". Returns 0, -EBADMSG, or -ERANGE when longer than 40 bytes. */
int span_to_double(struct span s, double *ret);

/* Copies s into buf (capacity size) NUL-terminated. Returns 0, -ENAMETOOLONG when it does not
 * fit, or -EBADMSG when s contains a NUL byte. */
int span_copy(struct span s, char *buf, size_t size);
