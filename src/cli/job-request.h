/* SPDX-License-Identifier: MIT */
#pragma once

/* The pure parts of the job commands (submit, wait, events): the body of POST /v1/jobs built
 * from the parsed options, what a finished job means for "wait"'s exit status, and where
 * "events --follow" goes on from. Built with jansson, so argv, the environment and the working
 * directory are always escaped. Nothing here logs or reads the environment itself. */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/cli.h"

/* The daemon's limits on a submitted command line (docs/API.md): the client refuses a larger one
 * as a usage error instead of sending it to be answered 400. */
#define JOB_ARGV_MAX       1024
#define JOB_ARGV_BYTES_MAX (64U * 1024U) /* the argument strings with their NULs */
/* The environment sent with a job: at most this many entries and bytes (the strings with their
 * NULs); the rest is left out. The daemon stores the whole request (at most 96 KiB), so the
 * environment's share is kept well below what the arguments may take. */
#define JOB_ENV_MAX        1024
#define JOB_ENV_BYTES_MAX  (24U * 1024U)

/* The exit status of "wait" for a job that was cancelled before it started, and for one that was
 * lost or could not be started (timeout(1)'s "the wrapper failed"). */
#define JOB_EXIT_CANCELLED 75
#define JOB_EXIT_LOST      125
/* The exit status of "wait" when its --timeout ran out, timeout(1)'s. */
#define JOB_EXIT_TIMED_OUT 124

/* The body of POST /v1/jobs: {"argv":[...],"cwd":...,"env":[...]} and, for each option args
 * carries that was given (its seen bits), "task", "complexity", "needs" (the needs given, as for
 * ask: cpu_pct, mem_bytes, gpu_pct, vram_bytes, disk_bytes), "priority" ("P0".."P2"), "gpus",
 * "timeout_sec" (args->run_timeout_usec), "kill_after_sec", "stall_sec", "on_stall",
 * "max_mem_bytes", "max_cpu", "max_pids", "checkpoint_signal" (the name without "SIG", or the
 * number of a real-time signal) and "checkpoint_grace_sec". Durations are seconds, integers when
 * whole. An option not given is left out, so the daemon's default applies.
 *
 * argv (argc strings) must be 1..JOB_ARGV_MAX strings of UTF-8 totalling at most
 * JOB_ARGV_BYTES_MAX; cwd an absolute path in UTF-8. env (NULL-terminated, may be NULL) is sent
 * without HEADROOM_TASK and HEADROOM_TASK_ID (they name the submitting task, never the job) and
 * without the entries that cannot go: not NAME=VALUE, not UTF-8, past JOB_ENV_MAX entries or
 * JOB_ENV_BYTES_MAX bytes; *ret_env_dropped (may be NULL) receives how many of the latter were
 * left out. *ret is compact JSON owned by the caller.
 * Returns 0; -E2BIG (too many or too long arguments), -EILSEQ (an argument that is not UTF-8),
 * -EINVAL (argc 0, cwd not absolute or not UTF-8) or -ENOMEM. Pure; does not log. */
int job_submit_body(const struct cli_args *args,
                    char *const *argv,
                    size_t argc,
                    const char *cwd,
                    char *const *env,
                    char **ret,
                    unsigned *ret_env_dropped);

/* True for the states a job does not leave: done, failed, cancelled, lost. */
bool job_state_is_finished(const char *state);

/* The task's own limits (--warn-mem, --critical-mem, --warn-cpu) as the API's "limits" object;
 * NULL when none was given (or out of memory). A new reference. */
json_t *job_limits_json(const struct cli_args *args);

/* What "wait" exits with for a job object: -EAGAIN while it is not finished (queued, running,
 * suspended, or a state this client does not know); for a finished job, its exit code when it ran
 * (0..255; "done" without one is 0), JOB_EXIT_CANCELLED when it was cancelled before it started,
 * JOB_EXIT_LOST when it was lost, or failed without an exit code (it could not start). An exit
 * code outside 0..255 is JOB_EXIT_LOST. Returns -EBADMSG when job is not an object with a
 * "state" string. Pure. */
int job_exit_status(const json_t *job);

/* Where "events --follow" asks from next, given the answer to GET /v1/events?after=after&limit=
 * limit: the largest "seq" of its events, and its "last_seq" too when the answer was not cut at
 * limit (with --type, last_seq may be past every event shown). Never less than after: sequence
 * numbers only grow (the daemon keeps them across restarts). Pure. */
uint64_t events_next_after(const json_t *answer, uint64_t after, size_t limit);
