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

/* The answer to "predict": GET /v1/models/TASK?complexity=N. A header line, one line per resource
 * that has a model (n > 0: cpu, memory, gpu, vram in that order) with the expected and upper
 * values in percentage points (memory also in bytes), the confidence, n and whether it is
 * sufficient to decide, then what admission makes of it for a task that declares nothing:
 * "admission will reserve: ..." with the upper values of the sufficient resources, and for the
 * others (cpu and memory without a sufficient model, any resource with an insufficient one)
 * "too few observations (N of M): admission falls back on thresholds (insufficient_data)", M
 * being the daemon's min_observations; when some resources are reserved and others are not,
 * the line names each ("too few observations for vram (2 of 5): ..."). task and complexity are
 * what was asked. */
void format_predict(FILE *f, const char *task, double complexity, const json_t *model);

/* The "Model" section that "stats TASK" prints after format_stats(): GET /v1/models/TASK's model
 * name and parameters, per resource the coefficients, confidence, n, margin and peak, how many
 * observations overlapped another task, how declared needs compare with what was observed, and
 * at most FORMAT_RECENT_MAX recent observations, newest first, as a table. */
#define FORMAT_RECENT_MAX 10
void format_model(FILE *f, const json_t *model);
