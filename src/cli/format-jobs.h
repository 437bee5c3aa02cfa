/* SPDX-License-Identifier: MIT */
#pragma once

/* Human-readable output of jobs, supervised tasks and events. Like format.h: each function reads
 * parsed JSON and writes to f, prints "-" or "n/a" for a missing or mistyped member instead of
 * failing, and replaces control characters (C0, DEL and C1) in every string that came from the
 * daemon, argv above all, so a job's command line cannot drive the terminal. Write errors are
 * left in f's error flag. No logging. */

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "basic/time-util.h"

/* Widest cells of the job table, in characters; longer text is cut with "…". */
#define FORMAT_JOB_USER_MAX    12
#define FORMAT_JOB_TASK_MAX    20
#define FORMAT_JOB_DETAIL_MAX  40
#define FORMAT_JOB_COMMAND_MAX 60
/* Widest PROGRESS cell of the task table ("40% " and the phase). */
#define FORMAT_TASK_PROGRESS_MAX 32
/* Widest figures-and-reason part of an event line. */
#define FORMAT_EVENT_DETAIL_MAX 120

/* Parses an RFC 3339 timestamp as the daemon writes them ("2026-11-23T17:00:00.123Z"; 't', a
 * space, 'z' and a "+HH:MM"/"-HH:MM" offset are accepted too) into CLOCK_REALTIME microseconds.
 * Returns 0, or -EINVAL (malformed, or before 1970). Pure. */
int timestamp_parse_rfc3339(const char *s, usec_t *ret);

/* A duration for a table cell: "0s", "45s", "3m07s", "2h05m", "3d04h". Returns buf (≥ 16 bytes). */
char *format_duration_short(char *buf, size_t len, usec_t d);

/* The command line of a job's "argv" array as one line: the arguments separated by spaces, each
 * that a shell would split or expand in single quotes, control characters as '?', cut after max
 * characters with "…". Writes into buf (always NUL-terminated). Returns buf. */
char *format_job_command(char *buf, size_t len, const json_t *argv, size_t max);

/* The job table of "headroom jobs": a header, then one row per job of the array jobs (GET
 * /v1/jobs's "jobs", in its order): ID, STATE, PRI, USER, TASK, AGE/RUNTIME, EXIT/REASON, COMMAND.
 * AGE/RUNTIME is how long a queued job has waited, how long a running or suspended one has run,
 * and how long a finished one ran ("-" when it never started), now_usec (CLOCK_REALTIME) being
 * the time to count to. EXIT/REASON is, for a queued job, its place in the queue and what the
 * last admission lacked ("#1, waits for memory, gpu"); for a started one its pid; for a finished
 * one "exit N" and the daemon's reason. Without all, finished jobs are left out. A table with no
 * row prints one line instead: "No jobs.", or "No unfinished jobs (N finished; --all shows
 * them)." */
void format_jobs(FILE *f, const json_t *jobs, bool all, usec_t now_usec);

/* One line for an event of GET /v1/events: its time (UTC, to the second), its type, what it is
 * about ("job 12 'encode'", else the task id and name), then the figures it carries that this
 * client knows (progress, phase, ETA, memory and its limit, CPU, last activity, exit code, signal,
 * duration, CPU time, peak memory, priority) and its reason. */
void format_event(FILE *f, const json_t *event);

/* The task table of "headroom tasks": a header, then one row per task of the array tasks (GET
 * /v1/tasks's "tasks", in its order): ID, JOB (its job id, "-" for a task of "headroom run"),
 * TASK (its type, cut to FORMAT_JOB_TASK_MAX), PID, STATE, CPU% and MEM% (its last reported use,
 * percentage points of the machine), GPU% (only when some task reports GPU use), PROGRESS (the
 * last progress report and phase, "-" without one) and RUNTIME (from started_at to now_usec,
 * CLOCK_REALTIME). STATE is "running", "stalled", "suspended", or "suspended*" for a task that
 * protective mode suspended, which a line under the table explains. An empty array prints "No
 * running tasks." */
void format_tasks(FILE *f, const json_t *tasks, usec_t now_usec);

/* One task in detail, from GET /v1/tasks/ID: its id and job, type, state, pid, priority, owner,
 * complexity, start, expected end and last activity (each with how long ago, or how long from
 * now_usec), progress, lease, GPUs, use and peak; then its latest sample ("metrics": RSS, CPU,
 * threads, open files, processes, IO rates; "none yet" while null); then its history: how many
 * samples over how long, and for RSS and CPU the minimum, mean and maximum and a line of block
 * characters ("▁" to "█", at most 60, from the minimum to the maximum, oldest first). The
 * history's columns are found by their names in history_columns, so a daemon that adds or
 * reorders columns is read right. */
void format_task(FILE *f, const json_t *task, usec_t now_usec);
