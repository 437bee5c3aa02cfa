/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>
#include <time.h>

typedef uint64_t usec_t;

#define USEC_INFINITY ((usec_t) UINT64_MAX)
#define USEC_PER_SEC  ((usec_t) 1000000ULL)
#define USEC_PER_MSEC ((usec_t) 1000ULL)
#define NSEC_PER_USEC ((uint64_t) 1000ULL)

/* a + b, saturating at USEC_INFINITY instead of wrapping. */
static inline usec_t usec_add(usec_t a, usec_t b)
{
    return a > USEC_INFINITY - b ? USEC_INFINITY : a + b;
}

/* Reads the given clock in microseconds. CLOCK_MONOTONIC for intervals, CLOCK_REALTIME only for
 * timestamps that are stored or shown. Never fails for these two clocks on Linux. */
usec_t now_usec(clockid_t clock);

struct timespec *timespec_store(struct timespec *ts, usec_t u);

/* Formats a CLOCK_REALTIME timestamp as RFC 3339 in UTC with microseconds into buf (≥ 32 bytes). */
char *format_rfc3339(char *buf, size_t len, usec_t realtime_usec);
