/* SPDX-License-Identifier: MIT */
#pragma once

/* Code shared by the metrics unit tests. Buffers handed to parsers are allocated with exactly
 * n bytes and no terminator, so AddressSanitizer turns any read past n into a failure. */

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/fileio.h"

/* A copy of s[0..n) in a heap block of exactly n bytes (1 when n = 0, never read). */
static inline char *dup_exact(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);

    if (!p)
        abort();
    if (n)
        memcpy(p, s, n);
    return p;
}

static inline const char *fixtures_dir(void)
{
    const char *d = getenv("HEADROOM_FIXTURES");

    if (!d) {
        fprintf(stderr, "HEADROOM_FIXTURES is not set\n");
        abort();
    }
    return d;
}

/* Reads tests/fixtures/<rel> into an exact-size buffer. Aborts when the fixture is missing: a
 * missing fixture is a broken test tree, never a skip. */
static inline char *read_fixture(const char *rel, size_t *ret_n)
{
    char *text = NULL;
    size_t n = 0;

    /* read_full_virtual_at() treats paths as relative to the directory fd, so open that first. */
    int dir = open(fixtures_dir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) {
        fprintf(stderr, "cannot open %s: %m\n", fixtures_dir());
        abort();
    }
    int r = read_full_virtual_at(dir, rel, READ_VIRTUAL_MAX_BYTES, &text, &n);
    (void) close(dir);
    if (r < 0) {
        fprintf(stderr, "cannot read fixture %s/%s: %s\n", fixtures_dir(), rel, strerror(-r));
        abort();
    }
    char *exact = dup_exact(text, n);
    free(text);
    *ret_n = n;
    return exact;
}

/* Deterministic xorshift64 for the hostile-input loops. */
static inline uint64_t test_rand(uint64_t *state)
{
    uint64_t x = *state;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return x;
}

/* Fills buf with n bytes biased towards what the parsers look for (digits, blanks, newlines,
 * separators, key fragments) with a sprinkling of arbitrary bytes, NUL included. */
static inline void hostile_bytes(uint64_t *state, char *buf, size_t n)
{
    static const char alphabet[] =
            "0123456789      \n\n\t:/-=.,\\max cpu some full avg10 total kB lo";

    for (size_t i = 0; i < n; i++) {
        uint64_t v = test_rand(state);
        buf[i] = (v & 7) == 0 ? (char) (v >> 8) : alphabet[(v >> 8) % (sizeof(alphabet) - 1)];
    }
}
