/* SPDX-License-Identifier: MIT */
#pragma once

/* Logging. Only daemon/ and cli/ log above debug (STYLE C). Messages go to stderr, one line each,
 * "headroom[pid]: <level>: message". Under systemd, stderr is the journal. */

#include "basic/macro.h"

enum log_level {
    LOG_LEVEL_ERROR,
    LOG_LEVEL_WARNING,
    LOG_LEVEL_INFO,
    LOG_LEVEL_DEBUG,
    _LOG_LEVEL_MAX,
    _LOG_LEVEL_INVALID = -EINVAL,
};

const char *log_level_to_string(enum log_level l);
enum log_level log_level_from_string(const char *s);

void log_set_max_level(enum log_level l);
enum log_level log_get_max_level(void);

/* Sets the prefix printed before every message ("headroom" by default). Borrowed, must outlive use. */
void log_set_ident(const char *ident);

/* Replaces the stderr text line with a sink of the caller's (e.g. JSON lines); NULL restores the
 * default. The sink receives the formatted message without prefix or newline. */
typedef void (*log_sink_fn)(enum log_level level, const char *message);
void log_set_sink(log_sink_fn sink);

/* Logs at the level and returns -abs(error) when error is non-zero (so "return log_error_errno(r,
 * ...)" works), else 0. %m in the format expands to strerror(abs(error)). */
int log_internal(enum log_level level, int error, const char *fmt, ...) _printf_(3, 4);

#define log_error(...)            log_internal(LOG_LEVEL_ERROR, 0, __VA_ARGS__)
#define log_warning(...)          log_internal(LOG_LEVEL_WARNING, 0, __VA_ARGS__)
#define log_info(...)             log_internal(LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define log_debug(...)            log_internal(LOG_LEVEL_DEBUG, 0, __VA_ARGS__)
#define log_error_errno(e, ...)   log_internal(LOG_LEVEL_ERROR, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(LOG_LEVEL_WARNING, (e), __VA_ARGS__)
#define log_info_errno(e, ...)    log_internal(LOG_LEVEL_INFO, (e), __VA_ARGS__)
#define log_debug_errno(e, ...)   log_internal(LOG_LEVEL_DEBUG, (e), __VA_ARGS__)
