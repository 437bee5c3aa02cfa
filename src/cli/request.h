/* SPDX-License-Identifier: MIT */
#pragma once

/* Request bodies and paths for the daemon's API, built with jansson so that user input (task
 * names) is always escaped, never pasted into JSON or a URL. Pure; nothing here logs. */

#include <stdbool.h>
#include <stdint.h>

/* What "ask" was told the task needs. Only the members whose has_* is set are sent. */
struct cli_needs {
    bool has_cpu, has_mem, has_gpu, has_vram, has_disk;
    double cpu_pct; /* percent of the machine's CPU capacity, 0..100 */
    uint64_t mem_bytes;
    double gpu_pct; /* percent of one GPU, 0..100 */
    uint64_t vram_bytes;
    uint64_t disk_bytes; /* to be written on the first monitored path */
};

/* What request_ask_capfox_body() could not express in capfox's older request. */
enum {
    REQUEST_DROPPED_MEM = 1U << 0,
    REQUEST_DROPPED_VRAM = 1U << 1,
    REQUEST_DROPPED_DISK = 1U << 2,
    REQUEST_ROUNDED = 1U << 3, /* a fractional complexity or percent was rounded to an integer */
};

/* True when s is a task name the daemon accepts: task_name_is_valid() (1..128 bytes, no control
 * characters) and well-formed UTF-8, which JSON requires. */
bool request_task_is_valid(const char *s);

/* The /v1/ask body: {"task":T,"complexity":N,"needs":{...}} with "needs" holding only the given
 * needs (cpu_pct, mem_bytes, gpu_pct, vram_bytes, disk_bytes, in that order) and left out when
 * none is given, then "reserve":true,"lease_seconds":S when reserve_sec > 0. Integral numbers
 * are written as JSON integers. *ret is a compact JSON string owned by the caller. Returns 0,
 * -EINVAL (task NULL or not UTF-8, complexity or reserve_sec negative or not finite) or -ENOMEM. */
int request_ask_body(const char *task,
                     double complexity,
                     const struct cli_needs *needs,
                     double reserve_sec,
                     char **ret);

/* The body for capfox's POST /ask: {"task":T,"complexity":N,"resources":{"cpu":C,"gpu":G}}.
 * capfox declares these fields as integers and answers 400 to a fraction, so values are rounded
 * (REQUEST_ROUNDED). Its "memory" and "vram" are percentages, so byte sizes cannot be sent
 * (REQUEST_DROPPED_*). "resources" is sent only when a percentage above 0 is given, as capfox's
 * own client does. *ret_dropped receives the REQUEST_* flags. Returns 0, -EINVAL or -ENOMEM. */
int request_ask_capfox_body(const char *task,
                            double complexity,
                            const struct cli_needs *needs,
                            char **ret,
                            unsigned *ret_dropped);

/* The /task/notify body: {"task":T,"complexity":N}, with "lease":L when lease is not NULL.
 * Returns 0, -EINVAL or -ENOMEM. */
int request_notify_body(const char *task, double complexity, const char *lease, char **ret);

/* A lease id as the daemon gives them: "l-" and 16 lowercase hex digits. */
bool request_lease_is_valid(const char *s);

/* Percent-encodes s for a URL query value: every byte except A-Z a-z 0-9 - . _ ~ becomes %XX
 * (upper-case hex), so spaces, '&', '=', '+', '#' and UTF-8 survive. *ret is owned by the
 * caller. Returns 0, -EINVAL (s NULL) or -ENOMEM. */
int url_encode(const char *s, char **ret);

/* "/stats" when task is NULL, else "/stats?task=<url_encode(task)>". Returns 0, -ENOMEM. */
int request_stats_path(const char *task, char **ret);

/* The largest complexity the daemon accepts (its /v1/ask and /v1/models limit), so that the client
 * refuses a larger one as a usage error instead of sending it to be answered 400. */
#define REQUEST_COMPLEXITY_MAX 1e15

/* True when complexity is finite and within 0..REQUEST_COMPLEXITY_MAX. */
bool request_complexity_is_valid(double complexity);

/* "/v1/models/<url_encode(task)>", a task named "." or ".." as "%2E" or "%2E%2E", and with
 * with_complexity "?complexity=N" after it. N is an integer ("1080") when complexity is integral,
 * else the shortest decimal that reads back as the same double ("2.5", "0.1"; a very small
 * fraction may be "1e-07"). *ret is owned by the caller. Returns 0, -EINVAL (task NULL, not a
 * valid task name, or with_complexity and a complexity that request_complexity_is_valid()
 * refuses) or -ENOMEM. Does not log. */
int request_model_path(const char *task, bool with_complexity, double complexity, char **ret);
