/* SPDX-License-Identifier: MIT */
#pragma once

/* UTF-8 as RFC 3629 defines it: no overlong forms, no surrogates, nothing above U+10FFFF. JSON
 * strings must hold that (jansson refuses anything else), and so must configuration strings. */

#include <stdbool.h>
#include <stdint.h>

/* Decodes the code point that starts at p (a NUL-terminated string, p not at its end): its length
 * in bytes (1..4) with *ret_cp set, or -EILSEQ for a sequence RFC 3629 does not allow. Never reads
 * past a NUL. */
int utf8_decode(const char *p, uint32_t *ret_cp);

/* s (NUL-terminated) is well-formed UTF-8 throughout. */
bool utf8_is_valid(const char *s);
