/* SPDX-License-Identifier: MIT */
#pragma once

/* headroom's persistent state: one SQLite database in WAL mode holding the per-task observations
 * taken after a notify and the per-task moving averages learnt from them.
 *
 * This header is the only interface to the database; nothing outside src/store includes
 * <sqlite3.h>. A struct store wraps one connection opened without SQLite's internal mutex, so it
 * must be used from one thread only. No function here logs above debug level; on failure the
 * caller logs once, using store_last_error() for SQLite's own explanation.
 *
 * Callbacks given to the store_foreach_*() functions receive pointers that are valid only for the
 * duration of the call, and must not call back into the same store (that is a programmer error
 * caught by an assertion). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/macro.h"
#include "basic/parse-util.h"

struct store;

/* The number of migration steps this build knows; PRAGMA user_version of a current database. */
#define STORE_SCHEMA_VERSION 1u

/* Weight of the newest observation in the per-task moving average, the same as capfox's
 * MovingAverageModel: the first value is taken as is, then avg = α·value + (1 − α)·avg. */
#define STORE_EMA_ALPHA 0.2

/* An observation's source is a short identifier: lowercase ASCII letters, digits, '-' and '_'. */
#define STORE_SOURCE_MAX     15
#define STORE_SOURCE_DEFAULT "notify"
/* Bounds on the small key/value table for bookkeeping ("created_ms" is written at creation). */
#define STORE_META_KEY_MAX   64
#define STORE_META_VALUE_MAX 4096
/* disk_written_bytes value meaning "not measured"; it is stored as SQL NULL. */
#define STORE_BYTES_UNKNOWN UINT64_MAX

/* One measurement of a task's impact, taken over [started_ms, started_ms + window_ms].
 *
 * The deltas are percentage points (current minus baseline, so they may be negative). A delta that
 * was not measured (no GPU, for example) is NAN; it is stored as SQL NULL and leaves that
 * resource's moving average untouched. Times are CLOCK_REALTIME milliseconds since the epoch. */
struct observation {
    char task[TASK_NAME_MAX + 1];
    double complexity;
    int64_t started_ms;
    int64_t window_ms;
    double cpu_delta_pct;
    double mem_delta_pct;
    double gpu_delta_pct;
    double vram_delta_pct;
    uint64_t disk_written_bytes;
    bool overlapped;                   /* Another observation's window overlapped this one. */
    char source[STORE_SOURCE_MAX + 1]; /* Empty means STORE_SOURCE_DEFAULT. */
};

/* The learnt averages of one task type. count counts every observation ever added, including
 * those since dropped from the per-task ring of raw observations. An average that never received
 * a value is NAN (callers writing JSON omit it, as capfox omits zero GPU averages). updated_ms is
 * the end of the window of the newest observation (started_ms + window_ms). */
struct task_stats {
    char task[TASK_NAME_MAX + 1];
    uint64_t count;
    double avg_cpu_delta;
    double avg_mem_delta;
    double avg_gpu_delta;
    double avg_vram_delta;
    int64_t updated_ms;
};

/* Opens (creating if needed) the database at path and brings its schema up to
 * STORE_SCHEMA_VERSION. The directory must exist and be writable, because WAL mode keeps the
 * "-wal" and "-shm" files beside the database. The connection uses WAL with synchronous=NORMAL:
 * a commit survives a crash or kill of the process; a power loss may drop the last commits but
 * never corrupts the file. A database written by a newer headroom is refused without being
 * modified. On success *ret owns the new store; free it with store_free().
 *
 * Returns 0, or:
 *   -EINVAL           path is empty;
 *   -ENOENT           the directory does not exist;
 *   -EACCES           the file cannot be opened for another reason (permissions);
 *   -EROFS            the file or file system is read-only;
 *   -EOPNOTSUPP       the database cannot be put in WAL mode (in-memory database, or a file system
 *                     without the shared-memory mapping WAL needs, such as some network ones);
 *   -EBADMSG          the file is not an SQLite database, or is corrupt;
 *   -EPROTONOSUPPORT  the schema version is newer than this build knows;
 *   -EBUSY            another process held the write lock for more than 5 s;
 *   -ENOSPC, -ENOMEM, -EIO.
 * Logs the SQLite message at debug level on failure. */
int store_open(const char *path, struct store **ret);

/* Finalizes all statements and closes the connection (which checkpoints the WAL when this was the
 * last connection). Takes NULL. Always returns NULL. Does not log. */
struct store *store_free(struct store *s);

static inline void store_freep(struct store **s)
{
    if (*s)
        *s = store_free(*s);
}

#define _cleanup_store_free_ _cleanup_(store_freep)

/* SQLite's message (or the store's own, for refused input) explaining the most recent failure of a
 * call on s, for the caller's log line. The string is owned by s and valid until the next call on
 * s. Returns "no error" when nothing has failed yet. */
const char *store_last_error(const struct store *s);

/* Reads PRAGMA user_version: the number of migration steps applied. Returns 0 or a -errno as for
 * store_open(). */
int store_get_schema_version(struct store *s, unsigned *ret);

/* Records one observation in a single transaction: inserts it, updates the task's moving averages
 * (STORE_EMA_ALPHA; count + 1; each average that receives a non-NAN delta), and deletes the
 * task's oldest raw observations beyond keep_per_task, so the table holds at most
 * keep_per_task × max_task_types rows. Nothing is changed when any step fails. o is borrowed.
 *
 * Returns 0, or:
 *   -EINVAL  o->task is not a valid task name (task_name_is_valid(), NUL within the array),
 *            o->source is not a valid source, complexity is not finite, a delta is infinite,
 *            window_ms is negative, started_ms + window_ms overflows, disk_written_bytes is above
 *            INT64_MAX (other than STORE_BYTES_UNKNOWN), or keep_per_task or max_task_types is 0;
 *   -ENOSPC  the task is new and max_task_types task types are already known (store_last_error()
 *            says so), or the disk is full;
 *   -EBUSY, -EBADMSG, -ENOMEM, -EIO as for store_open().
 * Does not log above debug. */
int store_add_observation(struct store *s,
                          const struct observation *o,
                          unsigned keep_per_task,
                          unsigned max_task_types);

/* Looks up one task's averages. task is borrowed. Returns 0 and fills *ret, -ENOENT for a task
 * never observed, -EINVAL for an invalid task name, -EBADMSG if the stored row is malformed, or
 * another -errno as for store_open(). */
int store_get_task_stats(struct store *s, const char *task, struct task_stats *ret);

/* Calls cb for every task type in task-name order (byte-wise). A negative return from cb stops the
 * iteration and is returned. Returns the number of callbacks made, or a -errno as for
 * store_get_task_stats(). */
int store_foreach_task_stats(struct store *s,
                             int (*cb)(const struct task_stats *st, void *userdata),
                             void *userdata);

/* Counts the raw observations stored for task, or for all tasks when task is NULL. This is bounded
 * by the per-task ring and differs from task_stats.count. Returns 0 and writes *ret, -EINVAL for an
 * invalid task name, or a -errno as for store_open(). */
int store_count_observations(struct store *s, const char *task, uint64_t *ret);

/* Calls cb for at most limit stored observations of task (all tasks when task is NULL), newest
 * first. A negative return from cb stops the iteration and is returned. Returns the number of
 * callbacks made, -EINVAL for an invalid task name or a limit of 0, -EBADMSG for a malformed row,
 * or a -errno as for store_open(). */
int store_foreach_observation(struct store *s,
                              const char *task,
                              unsigned limit,
                              int (*cb)(const struct observation *o, void *userdata),
                              void *userdata);

/* Reads the value stored under key into buf (NUL-terminated). Returns 0, -ENOENT when the key is
 * unset, -ENOBUFS when len is too small for the value and its NUL, -EINVAL for an invalid key
 * (empty, longer than STORE_META_KEY_MAX, or holding other than ASCII letters, digits, '_', '-'
 * and '.'), or a -errno as for store_open(). buf is written only on success. */
int store_meta_get(struct store *s, const char *key, char *buf, size_t len);

/* Stores value (at most STORE_META_VALUE_MAX bytes, no NUL inside) under key, replacing any
 * previous value, in its own transaction. Returns 0, -EINVAL for an invalid key or a value that is
 * too long, or a -errno as for store_open(). */
int store_meta_set(struct store *s, const char *key, const char *value);

/* Housekeeping for idle moments (every few hours, say): lets SQLite refresh its query-planner
 * statistics (PRAGMA optimize), then copies the WAL into the database and truncates it
 * (wal_checkpoint(TRUNCATE)), which bounds the WAL when a long reader starved the automatic
 * checkpoints. Returns 0, -EBUSY when another connection kept the checkpoint from completing
 * (harmless, retry later), or another -errno as for store_open(). Does not log above debug. */
int store_maintain(struct store *s);
