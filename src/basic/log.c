/* SPDX-License-Identifier: MIT */
#include "basic/log.h"

#include <stdarg.h>
#include <string.h>

static enum log_level max_level = LOG_LEVEL_INFO;
static const char *log_ident = "headroom";
static log_sink_fn log_sink;

void log_set_sink(log_sink_fn sink)
{
    log_sink = sink;
}

static const char *const level_table[_LOG_LEVEL_MAX] = {
    [LOG_LEVEL_ERROR] = "error",
    [LOG_LEVEL_WARNING] = "warn",
    [LOG_LEVEL_INFO] = "info",
    [LOG_LEVEL_DEBUG] = "debug",
};

const char *log_level_to_string(enum log_level l)
{
    if (l < 0 || l >= _LOG_LEVEL_MAX)
        return NULL;
    return level_table[l];
}

enum log_level log_level_from_string(const char *s)
{
    if (!s)
        return _LOG_LEVEL_INVALID;
    for (int i = 0; i < _LOG_LEVEL_MAX; i++)
        if (strcmp(s, level_table[i]) == 0)
            return (enum log_level) i;
    if (strcmp(s, "warning") == 0)
        return LOG_LEVEL_WARNING;
    return _LOG_LEVEL_INVALID;
}

void log_set_max_level(enum log_level l)
{
    if (l >= 0 && l < _LOG_LEVEL_MAX)
        max_level = l;
}

enum log_level log_get_max_level(void)
{
    return max_level;
}

void log_set_ident(const char *ident)
{
    log_ident = ident ? ident : "headroom";
}

int log_internal(enum log_level level, int error, const char *fmt, ...)
{
    int saved = errno;
    int r = error < 0 ? error : -error;

    if (level > max_level)
        return r;

    /* Make %m print the error we were given, not whatever errno happens to hold. */
    errno = error < 0 ? -error : error;

    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    (void) vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);

    if (log_sink)
        log_sink(level, buf);
    else
        (void) fprintf(stderr, "%s[%d]: %s: %s\n", log_ident, (int) getpid(), level_table[level], buf);
    errno = saved;
    return r;
}
