/* SPDX-License-Identifier: MIT */
#include "basic/time-util.h"

#include <stdio.h>

usec_t now_usec(clockid_t clock)
{
    struct timespec ts;

    if (clock_gettime(clock, &ts) < 0)
        return 0;
    return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / NSEC_PER_USEC;
}

struct timespec *timespec_store(struct timespec *ts, usec_t u)
{
    ts->tv_sec = (time_t) (u / USEC_PER_SEC);
    ts->tv_nsec = (long) ((u % USEC_PER_SEC) * NSEC_PER_USEC);
    return ts;
}

char *format_rfc3339(char *buf, size_t len, usec_t realtime_usec)
{
    time_t sec = (time_t) (realtime_usec / USEC_PER_SEC);
    struct tm tm;
    char date[32];

    if (!gmtime_r(&sec, &tm) || strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        (void) snprintf(buf, len, "1970-01-01T00:00:00Z");
        return buf;
    }
    (void) snprintf(buf, len, "%s.%06uZ", date, (unsigned) (realtime_usec % USEC_PER_SEC));
    return buf;
}
