/* SPDX-License-Identifier: MIT */
#pragma once

/* Human-readable output of the daemon's answers. Each function reads a parsed JSON answer and
 * writes lines to f; it never fails on a missing or mistyped member (that prints "n/a"), and it
 * replaces control characters in strings from the server, so a hostile GPU name or path cannot
 * drive the terminal. Write errors are left in f's error flag for the caller. No logging. */

#include <jansson.h>
#include <stdio.h>

/* The answer to "ask": "✓ Task 'T' is ALLOWED" and the tightest resource, or "✗ Task 'T' is
 * DENIED" and one line per failed check (reasons without a check are listed by name). task is
 * printed as given (the caller has checked it has no control characters). answer is /v1/ask's
 * object, or capfox's {"allowed":..,"reasons":[..]}. */
void format_ask(FILE *f, const char *task, const json_t *answer);

/* The machine summary for GET /status. */
void format_status(FILE *f, const json_t *status);

/* GET /stats (all tasks: {"tasks":{..},"total_tasks":N}) or GET /stats?task= (one TaskStats),
 * in capfox's layout. */
void format_stats(FILE *f, const json_t *stats);

/* Writes s with bytes below 0x20 and DEL replaced by '?'. NULL prints "n/a". */
void fputs_sanitized(const char *s, FILE *f);
