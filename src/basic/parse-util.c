/* SPDX-License-Identifier: MIT */
#include "basic/parse-util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int safe_atou64(const char *s, uint64_t *ret)
{
    char *end;

    if (!s || !isdigit((unsigned char) s[0]))
        return -EINVAL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno == ERANGE)
        return -ERANGE;
    if (*end != '\0')
        return -EINVAL;
    *ret = (uint64_t) v;
    return 0;
}

int safe_atoi64(const char *s, int64_t *ret)
{
    char *end;

    if (!s || !(isdigit((unsigned char) s[0]) || ((s[0] == '-' || s[0] == '+') && isdigit((unsigned char) s[1]))))
        return -EINVAL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno == ERANGE)
        return -ERANGE;
    if (*end != '\0')
        return -EINVAL;
    *ret = (int64_t) v;
    return 0;
}

int safe_atod(const char *s, double *ret)
{
    char *end;

    if (!s || *s == '\0' || isspace((unsigned char) s[0]))
        return -EINVAL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno == ERANGE)
        return -ERANGE;
    if (*end != '\0' || !isfinite(v))
        return -EINVAL;
    *ret = v;
    return 0;
}

static int split_number(const char *s, double *ret_value, const char **ret_suffix)
{
    char *end;

    if (!s || !(isdigit((unsigned char) s[0]) || (s[0] == '.' && isdigit((unsigned char) s[1]))))
        return -EINVAL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno == ERANGE || !isfinite(v) || v < 0)
        return -ERANGE;
    while (*end == ' ')
        end++;
    *ret_value = v;
    *ret_suffix = end;
    return 0;
}

int parse_size(const char *s, uint64_t *ret_bytes)
{
    static const struct {
        const char *suffix;
        double factor;
    } table[] = {
        { "", 1.0 },
        { "B", 1.0 },
        { "K", 1024.0 },
        { "KiB", 1024.0 },
        { "KB", 1e3 },
        { "M", 1048576.0 },
        { "MiB", 1048576.0 },
        { "MB", 1e6 },
        { "G", 1073741824.0 },
        { "GiB", 1073741824.0 },
        { "GB", 1e9 },
        { "T", 1099511627776.0 },
        { "TiB", 1099511627776.0 },
        { "TB", 1e12 },
        { "P", 1125899906842624.0 },
        { "PiB", 1125899906842624.0 },
        { "PB", 1e15 },
    };
    const char *suffix;
    double v;
    int r = split_number(s, &v, &suffix);
    if (r < 0)
        return -EINVAL;

    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (strcasecmp(suffix, table[i].suffix) != 0)
            continue;
        double bytes = v * table[i].factor;
        if (bytes >= 9223372036854775808.0)
            return -ERANGE;
        *ret_bytes = (uint64_t) llround(bytes);
        return 0;
    }
    return -EINVAL;
}

int parse_duration(const char *s, usec_t *ret_usec)
{
    static const struct {
        const char *suffix;
        double usec;
    } table[] = {
        { "", 1e6 },  { "s", 1e6 },       { "sec", 1e6 },    { "ms", 1e3 },
        { "us", 1.0 }, { "m", 60e6 },      { "min", 60e6 },   { "h", 3600e6 },
        { "d", 86400e6 },
    };
    const char *suffix;
    double v;
    int r = split_number(s, &v, &suffix);
    if (r < 0)
        return -EINVAL;

    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (strcmp(suffix, table[i].suffix) != 0)
            continue;
        double u = v * table[i].usec;
        if (u >= 1.8e19)
            return -ERANGE;
        *ret_usec = (usec_t) llround(u);
        return 0;
    }
    return -EINVAL;
}

char *format_bytes(char *buf, size_t len, uint64_t bytes)
{
    static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };

    if (bytes < 1024) {
        (void) snprintf(buf, len, "%llu B", (unsigned long long) bytes);
        return buf;
    }
    double v = (double) bytes;
    size_t u = 0;
    v /= 1024.0;
    while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024.0;
        u++;
    }
    (void) snprintf(buf, len, "%.1f %s", v, units[u]);
    return buf;
}

bool task_name_is_valid(const char *s)
{
    size_t n;

    if (!s)
        return false;
    n = strlen(s);
    if (n == 0 || n > TASK_NAME_MAX)
        return false;
    for (const unsigned char *p = (const unsigned char *) s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}
