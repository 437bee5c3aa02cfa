/* SPDX-License-Identifier: MIT */
#pragma once

/* headroom's persistent state: one SQLite database in WAL mode holding the per-task observations
 * taken after a notify, the per-task moving averages and prediction models learnt from them, and
 * the leases (reservations) that must outlive a restart.
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
#include "model/admit.h"

struct store;

/* The number of migration steps this build knows; PRAGMA user_version of a current database. */
#define STORE_SCHEMA_VERSION 7u

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

/* duration_ms value meaning "not known"; it is stored as SQL NULL. */
#define STORE_DURATION_UNKNOWN INT64_C(-1)

/* One measurement of a task's impact, taken over [started_ms, started_ms + window_ms].
 *
 * The deltas are percentage points (current minus baseline, so they may be negative): the peak
 * impact over the window or run. A delta that was not measured (no GPU, for example) is NAN; it
 * is stored as SQL NULL and leaves that resource's moving average untouched. Times are
 * CLOCK_REALTIME milliseconds since the epoch.
 *
 * The *_mean_pct fields are the mean impact over the same window (a notify) or run (a supervised
 * task), in the same percentage points, so they too may be negative. A mean that was not measured
 * MUST be NAN, stored as SQL NULL: as for the declared_* fields, a caller that zero-initialises
 * the struct has to set all four to NAN itself, or it records a measured mean of zero. The means
 * are kept with the raw observation only; the task statistics learn from the deltas. Observations
 * recorded before schema version 5 have no means and load with all four NAN.
 *
 * The declared_* fields are what the client said the task would need, in percentage points of the
 * same resources. A resource that was not declared MUST be NAN: 0 is a declaration of zero, so a
 * caller that zero-initialises the struct has to set all four to NAN itself. weight is the weight
 * the prediction model gave this observation, in (0, 1]; 0 is read as 1, so that zero-initialised
 * callers keep their meaning (store_foreach_observation() returns the weight actually stored, and
 * 1 for observations recorded before weights were). duration_ms is how long the task ran, or
 * STORE_DURATION_UNKNOWN. */
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
    double declared_cpu_pct;           /* NAN: not declared. */
    double declared_mem_pct;
    double declared_gpu_pct;
    double declared_vram_pct;
    int64_t duration_ms; /* STORE_DURATION_UNKNOWN (-1): not known. */
    double weight;       /* (0, 1]; 0 means 1. */
    /* The mean impact over the window (a notify) or the run (a supervised task), in percentage
     * points like the deltas, which are the peak impact. NAN: not measured. */
    double cpu_mean_pct;
    double mem_mean_pct;
    double gpu_mean_pct;
    double vram_mean_pct;
};

/* The learnt averages of one task type. count counts every observation ever added, including
 * those since dropped from the per-task ring of raw observations; overlapped_count those of them
 * whose window overlapped another's, declared_count those that declared at least one resource.
 * An average that never received a value is NAN (callers writing JSON omit it, as capfox omits
 * zero GPU averages). updated_ms is the end of the window of the newest observation
 * (started_ms + window_ms).
 *
 * avg_*_gap is the moving average (STORE_EMA_ALPHA, first value taken as is) of declared minus
 * observed, in percentage points, over the observations that had both for that resource: positive
 * when clients over-declare. NAN until the first such observation. */
struct task_stats {
    char task[TASK_NAME_MAX + 1];
    uint64_t count;
    double avg_cpu_delta;
    double avg_mem_delta;
    double avg_gpu_delta;
    double avg_vram_delta;
    int64_t updated_ms;
    uint64_t overlapped_count;
    uint64_t declared_count;
    double avg_cpu_gap;
    double avg_mem_gap;
    double avg_gpu_gap;
    double avg_vram_gap;
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

/* Records one observation in a single transaction: inserts it, updates the task's statistics
 * (count + 1; each moving average (STORE_EMA_ALPHA) that receives a non-NAN delta; the overlapped
 * and declared counts; each gap average whose resource has both a declared and an observed value),
 * writes model when it is not NULL (see below), and deletes the task's oldest raw observations
 * beyond keep_per_task, so the table holds at most keep_per_task × max_task_types rows. Nothing is
 * changed when any step fails. o and model are borrowed.
 *
 * model is the task's prediction models after they learnt o, or NULL to leave the stored models
 * as they are. Writing them in the same transaction as the observation means that after a crash
 * or kill -9 the stored models have learnt exactly the acknowledged observations, never one more
 * or one fewer. Trimming old raw observations never touches the models.
 *
 * Returns 0, or:
 *   -EINVAL  o->task is not a valid task name (task_name_is_valid(), NUL within the array),
 *            o->source is not a valid source, complexity is not finite, a delta or a mean is
 *            infinite, a declared value is infinite or negative, window_ms is negative,
 *            started_ms + window_ms overflows, duration_ms is below -1, weight is outside (0, 1]
 *            and not 0, disk_written_bytes is above INT64_MAX (other than STORE_BYTES_UNKNOWN), a
 *            predictor of model fails predictor_validate() or has n above INT64_MAX, or
 *            keep_per_task or max_task_types is 0;
 *   -ENOSPC  the task is new and max_task_types task types are already known (store_last_error()
 *            says so; no model is written either), or the disk is full;
 *   -EBUSY, -EBADMSG, -ENOMEM, -EIO as for store_open().
 * Does not log above debug. */
int store_add_observation(struct store *s,
                          const struct observation *o,
                          unsigned keep_per_task,
                          unsigned max_task_types,
                          const struct task_model *model);

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
 * first, with every field of struct observation as stored (weight 1, duration_ms
 * STORE_DURATION_UNKNOWN and NAN means for observations recorded before those were). A negative
 * return from cb stops the iteration and is returned. Returns the number of callbacks made,
 * -EINVAL for an invalid task name or a limit of 0, -EBADMSG for a malformed row (among others, a
 * mean that is neither NULL nor a finite number), or a -errno as for store_open(). Does not log
 * above debug. */
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

/* ---- prediction models ----------------------------------------------------------------------
 *
 * One row per (task, resource) holds every field of that struct predictor. Doubles are stored so
 * that they read back bit for bit, and a model loaded from the database is the model that was
 * saved, down to the last residual.
 *
 * Two exceptions, for rows written by older versions:
 *  - before schema version 3 a row has no peak complexities (NULL): it loads with every
 *    peak_complexity 0, so that each kept peak floors its whole bucket as it did when it was
 *    saved. Peaks seen later carry their complexity; an older one keeps 0 until a higher peak in
 *    its bucket replaces it.
 *  - before schema version 4 a row has no residual complexities (NULL): it loads with every
 *    residual_complexity PREDICT_COMPLEXITY_UNKNOWN, and its margins come from the pooled
 *    quantile until new residuals have replaced the old ones. */

/* Loads the models of task into *ret. A resource without a row (a database where that resource was
 * never saved) gets a freshly initialised predictor (predictor_init()) with the model and
 * parameters of the resources that have one. task is borrowed; *ret is written only on success.
 *
 * Returns 0, or:
 *   -ENOENT   no model of task is stored;
 *   -EINVAL   task is not a valid task name;
 *   -EBADMSG  a row is malformed: an unknown model or resource name, a value of the wrong type, an
 *             array of the wrong size, a count out of range, or a predictor that fails
 *             predictor_validate();
 *   another -errno as for store_open().
 * Does not log above debug. */
int store_get_task_model(struct store *s, const char *task, struct task_model *ret);

/* Calls cb once for every task with a stored model, in task-name order (byte-wise), with the models
 * completed as by store_get_task_model(). A negative return from cb stops the iteration and is
 * returned. Returns the number of callbacks made, -EBADMSG for a malformed row (cb has then been
 * called for the tasks before it), or another -errno as for store_open(). Does not log above
 * debug. */
int store_foreach_task_model(struct store *s,
                             int (*cb)(const char *task,
                                       const struct task_model *m,
                                       void *userdata),
                             void *userdata);

/* Replaces the stored models of task by m (all four resources, and nothing else: a row of any
 * other shape left by damage is dropped), in its own transaction: the way to save models rebuilt
 * by predictor_refit() outside store_add_observation(). Models exist only for
 * observed task types, so the task must have statistics already. task and m are borrowed.
 *
 * Returns 0, or:
 *   -EINVAL  task is not a valid task name, or a predictor of m fails predictor_validate() or has
 *            n above INT64_MAX;
 *   -ENOENT  task was never observed (it has no task_stats);
 *   another -errno as for store_open().
 * Does not log above debug. */
int store_put_task_model(struct store *s, const char *task, const struct task_model *m);

/* ---- leases ---------------------------------------------------------------------------------- */

/* A reservation held for an admitted task until it is released or expires, kept in the database so
 * that a restart does not forget it. Percentages are percentage points of the machine, as in
 * struct decide_need; a field that was not reserved is 0. ids are chosen by the caller and use
 * the whole uint64_t range. */
struct store_lease {
    uint64_t id;
    char task[TASK_NAME_MAX + 1]; /* "" = no task */
    double cpu_pct, mem_pct, gpu_pct, vram_pct;
    uint64_t mem_bytes, vram_bytes, disk_bytes;
    int gpu_index;                  /* -1: none */
    int64_t created_ms, expires_ms; /* CLOCK_REALTIME ms; expired once now ≥ expires_ms */
};

/* Stores l, replacing any lease with the same id, as one transaction. l is borrowed.
 *
 * Returns 0, or:
 *   -EINVAL  l->task is neither empty nor a valid task name, a percentage is not finite or is
 *            negative, a byte count is above INT64_MAX, gpu_index is below -1, created_ms is
 *            negative, or expires_ms is before created_ms;
 *   another -errno as for store_open().
 * Does not log above debug. */
int store_put_lease(struct store *s, const struct store_lease *l);

/* Deletes lease id. Returns 0, -ENOENT when there is no such lease, or a -errno as for
 * store_open(). Does not log above debug. */
int store_delete_lease(struct store *s, uint64_t id);

/* Deletes every lease with expires_ms ≤ now_ms, as one transaction. Returns the number deleted
 * (capped at INT_MAX), or a -errno as for store_open(). Does not log above debug. */
int store_delete_expired_leases(struct store *s, int64_t now_ms);

/* Calls cb for every stored lease in id order (as unsigned numbers). A negative return from cb
 * stops the iteration and is returned. Returns the number of callbacks made, -EBADMSG for a row
 * that store_put_lease() would refuse, or another -errno as for store_open(). Does not log above
 * debug. */
int store_foreach_lease(struct store *s,
                        int (*cb)(const struct store_lease *l, void *userdata),
                        void *userdata);

/* ---- jobs ------------------------------------------------------------------------------------ */

/* A background job (headroom submit) as the queue keeps it. state is one of "queued", "running",
 * "suspended" (not finished) or "done", "failed", "cancelled", "lost" (finished). Times are
 * CLOCK_REALTIME ms, 0 for "not yet". spec is the submitted request as JSON, opaque to the store. */
#define STORE_JOB_STATE_MAX  15
#define STORE_JOB_REASON_MAX 255
#define STORE_JOB_SPEC_MAX   (96U * 1024U)
struct store_job {
    int64_t id;                            /* 0 for a job not stored yet */
    char state[STORE_JOB_STATE_MAX + 1];
    int priority;                          /* 0..2 for P0..P2 */
    uint32_t uid, gid;
    char task[TASK_NAME_MAX + 1];
    double complexity;
    char *spec;                            /* NUL-terminated; owned by the caller (store_put_job
                                            * borrows it, store_get_job/foreach give a malloc()ed
                                            * copy released by store_job_done()) */
    int64_t submitted_ms, started_ms, ended_ms;
    int64_t wrapper_pid;                   /* the headroom run process supervising it, 0 none */
    uint64_t wrapper_start;                /* its start time, clock ticks since boot */
    int64_t pid;                           /* the command's pid, 0 unknown */
    uint64_t task_id;                      /* the supervised task it runs as, 0 none */
    uint64_t lease_id;                     /* the lease that task holds, 0 none */
    int exit_code;                         /* -1 unknown */
    char reason[STORE_JOB_REASON_MAX + 1]; /* why it failed, was lost or cancelled; "" none */
};

void store_job_done(struct store_job *j);

/* Inserts (j->id 0: *ret_id gets the new id) or updates job j. The id, uid, gid, task, complexity,
 * spec and submitted_ms of a stored job never change. Returns 0, -EINVAL for a field out of range
 * (an unknown state, priority not 0..2, a bad task name, spec empty or above STORE_JOB_SPEC_MAX),
 * or another -errno as for store_open(). Does not log above debug. */
int store_put_job(struct store *s, const struct store_job *j, int64_t *ret_id);

/* Reads job id into *ret (release with store_job_done()). 0, -ENOENT, -EBADMSG for a row
 * store_put_job() would refuse, or another -errno. */
int store_get_job(struct store *s, int64_t id, struct store_job *ret);

/* Calls cb for every unfinished job and the newest keep_finished finished ones, in id order; j is
 * valid during the call only. Returns the number of callbacks, or -EBADMSG / another -errno. */
int store_foreach_job(struct store *s, unsigned keep_finished,
                      int (*cb)(const struct store_job *j, void *userdata), void *userdata);

/* Deletes finished jobs beyond the newest keep_finished. Returns the number deleted or a -errno. */
int store_prune_jobs(struct store *s, unsigned keep_finished);

/* ---- events ---------------------------------------------------------------------------------- */

/* One event of the log. type is "task:started" and the like; data its whole JSON object. */
#define STORE_EVENT_TYPE_MAX 31
#define STORE_EVENT_DATA_MAX (16U * 1024U)
struct store_event {
    uint64_t seq;                          /* > 0, increasing */
    int64_t time_ms;                       /* CLOCK_REALTIME */
    char type[STORE_EVENT_TYPE_MAX + 1];
    uint64_t task_id, job_id;              /* 0 none */
    const char *data;                      /* NUL-terminated JSON, at most STORE_EVENT_DATA_MAX */
};

/* Appends e and deletes the events numbered at or below e->seq − keep (all but the newest keep,
 * as events are numbered one after the other), in one transaction. Returns 0, -EINVAL
 * (seq 0 or not above the last stored, a bad type, data empty or too long), or another -errno. */
int store_append_event(struct store *s, const struct store_event *e, unsigned keep);

/* Appends v[0..n) (in increasing seq order, the first after the last stored) and prunes as
 * store_append_event() does, all in one transaction: a batch costs one commit. 0, -EINVAL, or
 * another -errno (then none is stored). */
int store_append_events(struct store *s, const struct store_event *v, size_t n, unsigned keep);

/* Calls cb for at most limit events with seq > after, oldest first; e is valid during the call
 * only. Returns the number of callbacks, -EBADMSG for a bad row, or another -errno. */
int store_foreach_event(struct store *s, uint64_t after, unsigned limit,
                        int (*cb)(const struct store_event *e, void *userdata), void *userdata);

/* The largest stored seq, 0 when there is none. */
int store_last_event_seq(struct store *s, uint64_t *ret);

/* Housekeeping for idle moments (every few hours, say): lets SQLite refresh its query-planner
 * statistics (PRAGMA optimize), then copies the WAL into the database and truncates it
 * (wal_checkpoint(TRUNCATE)), which bounds the WAL when a long reader starved the automatic
 * checkpoints. Returns 0, -EBUSY when another connection kept the checkpoint from completing
 * (harmless, retry later), or another -errno as for store_open(). Does not log above debug. */
int store_maintain(struct store *s);
