/* SPDX-License-Identifier: MIT */

/* Observations and the per-task statistics learnt from them. */

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "store/store-internal.h"

static bool source_ok(const char *src, size_t n)
{
    size_t len = strnlen(src, n);

    if (len >= n)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = src[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
    }
    return true;
}

static int validate_observation(struct store *s, const struct observation *o)
{
    const double deltas[] = { o->cpu_delta_pct, o->mem_delta_pct, o->gpu_delta_pct,
                              o->vram_delta_pct };
    const double declared[] = { o->declared_cpu_pct, o->declared_mem_pct, o->declared_gpu_pct,
                                o->declared_vram_pct };
    const double means[] = { o->cpu_mean_pct, o->mem_mean_pct, o->gpu_mean_pct, o->vram_mean_pct };

    if (!store_task_name_ok(o->task, sizeof(o->task)))
        return store_refuse(s, -EINVAL, "invalid task name");
    if (!source_ok(o->source, sizeof(o->source)))
        return store_refuse(s, -EINVAL, "invalid observation source");
    if (!isfinite(o->complexity))
        return store_refuse(s, -EINVAL, "complexity is not a finite number");
    for (size_t i = 0; i < ELEMENTSOF(deltas); i++)
        if (isinf(deltas[i]))
            return store_refuse(s, -EINVAL, "a resource delta is infinite");
    /* Like the deltas, a mean is relative to the baseline and may be negative. */
    for (size_t i = 0; i < ELEMENTSOF(means); i++)
        if (isinf(means[i]))
            return store_refuse(s, -EINVAL, "a resource mean is infinite");
    for (size_t i = 0; i < ELEMENTSOF(declared); i++)
        if (isinf(declared[i]) || declared[i] < 0)
            return store_refuse(s, -EINVAL, "a declared need is infinite or negative");
    if (o->duration_ms < STORE_DURATION_UNKNOWN)
        return store_refuse(s, -EINVAL, "invalid observation duration");
    /* 0 stands for 1; NaN fails both comparisons. */
    if (!(o->weight >= 0 && o->weight <= 1))
        return store_refuse(s, -EINVAL, "observation weight outside (0, 1]");
    if (o->window_ms < 0 || o->started_ms > INT64_MAX - o->window_ms)
        return store_refuse(s, -EINVAL, "invalid observation window");
    if (o->disk_written_bytes > (uint64_t) INT64_MAX &&
        o->disk_written_bytes != STORE_BYTES_UNKNOWN)
        return store_refuse(s, -EINVAL, "disk_written_bytes out of range");
    return 0;
}

/* NAN means "not measured" in the structs and NULL in the tables. (SQLite would turn a bound NaN
 * into NULL anyway; saying so explicitly keeps the mapping in one place.) */
static int bind_maybe_double(sqlite3_stmt *st, int idx, double v)
{
    return isnan(v) ? sqlite3_bind_null(st, idx) : sqlite3_bind_double(st, idx, v);
}

static double column_maybe_double(sqlite3_stmt *st, int col)
{
    return sqlite3_column_type(st, col) == SQLITE_NULL ? NAN : sqlite3_column_double(st, col);
}

/* Reads a nullable REAL column that the store writes only as NULL or a finite number: NULL is
 * NAN. Anything else (text, a blob, an infinity) can only come from a damaged or foreign file
 * and is -EBADMSG. (The older nullable REAL columns are read without this check, as they were
 * before it existed.) */
static int column_finite_or_nan(struct store *s, sqlite3_stmt *st, int col, double *ret)
{
    double v;

    switch (sqlite3_column_type(st, col)) {
    case SQLITE_NULL:
        *ret = NAN;
        return 0;
    case SQLITE_FLOAT:
        /* A REAL column stores an integral value as an integer, but reports it as a float. */
        v = sqlite3_column_double(st, col);
        if (!isfinite(v))
            return store_refuse(s, -EBADMSG, "non-finite number in column %d", col);
        *ret = v;
        return 0;
    default:
        return store_refuse(s, -EBADMSG, "value of the wrong type in column %d", col);
    }
}

/* Columns as listed in STATS_COLUMNS (store.c). */
static int read_stats_row(struct store *s, sqlite3_stmt *st, struct task_stats *ret)
{
    struct task_stats t = {};
    int64_t count;
    int r;

    r = store_column_string(s, st, 0, t.task, sizeof(t.task));
    if (r < 0)
        return r;
    count = sqlite3_column_int64(st, 1);
    if (count < 0)
        return store_refuse(s, -EBADMSG, "negative observation count");
    t.count = (uint64_t) count;
    t.avg_cpu_delta = column_maybe_double(st, 2);
    t.avg_mem_delta = column_maybe_double(st, 3);
    t.avg_gpu_delta = column_maybe_double(st, 4);
    t.avg_vram_delta = column_maybe_double(st, 5);
    t.updated_ms = sqlite3_column_int64(st, 6);
    count = sqlite3_column_int64(st, 7);
    if (count < 0)
        return store_refuse(s, -EBADMSG, "negative overlapped count");
    t.overlapped_count = (uint64_t) count;
    count = sqlite3_column_int64(st, 8);
    if (count < 0)
        return store_refuse(s, -EBADMSG, "negative declared count");
    t.declared_count = (uint64_t) count;
    t.avg_cpu_gap = column_maybe_double(st, 9);
    t.avg_mem_gap = column_maybe_double(st, 10);
    t.avg_gpu_gap = column_maybe_double(st, 11);
    t.avg_vram_gap = column_maybe_double(st, 12);

    *ret = t;
    return 0;
}

/* Columns as listed in OBS_COLUMNS (store.c). */
static int read_observation_row(struct store *s, sqlite3_stmt *st, struct observation *ret)
{
    struct observation o = {};
    int64_t disk;
    int r;

    r = store_column_string(s, st, 0, o.task, sizeof(o.task));
    if (r < 0)
        return r;
    o.complexity = sqlite3_column_double(st, 1);
    o.started_ms = sqlite3_column_int64(st, 2);
    o.window_ms = sqlite3_column_int64(st, 3);
    o.cpu_delta_pct = column_maybe_double(st, 4);
    o.mem_delta_pct = column_maybe_double(st, 5);
    o.gpu_delta_pct = column_maybe_double(st, 6);
    o.vram_delta_pct = column_maybe_double(st, 7);
    if (sqlite3_column_type(st, 8) == SQLITE_NULL)
        o.disk_written_bytes = STORE_BYTES_UNKNOWN;
    else {
        disk = sqlite3_column_int64(st, 8);
        if (disk < 0)
            return store_refuse(s, -EBADMSG, "negative disk_written_bytes");
        o.disk_written_bytes = (uint64_t) disk;
    }
    o.overlapped = sqlite3_column_int64(st, 9) != 0;
    r = store_column_string(s, st, 10, o.source, sizeof(o.source));
    if (r < 0)
        return r;
    o.declared_cpu_pct = column_maybe_double(st, 11);
    o.declared_mem_pct = column_maybe_double(st, 12);
    o.declared_gpu_pct = column_maybe_double(st, 13);
    o.declared_vram_pct = column_maybe_double(st, 14);
    if (sqlite3_column_type(st, 15) == SQLITE_NULL)
        o.duration_ms = STORE_DURATION_UNKNOWN;
    else {
        o.duration_ms = sqlite3_column_int64(st, 15);
        if (o.duration_ms < 0)
            return store_refuse(s, -EBADMSG, "negative observation duration");
    }
    /* Rows from before weights were recorded count fully. */
    o.weight = sqlite3_column_type(st, 16) == SQLITE_NULL ? 1.0 : sqlite3_column_double(st, 16);
    if (!(o.weight > 0 && o.weight <= 1))
        return store_refuse(s, -EBADMSG, "observation weight outside (0, 1]");
    /* NULL in the rows from before schema version 5: not measured. */
    r = column_finite_or_nan(s, st, 17, &o.cpu_mean_pct);
    if (r >= 0)
        r = column_finite_or_nan(s, st, 18, &o.mem_mean_pct);
    if (r >= 0)
        r = column_finite_or_nan(s, st, 19, &o.gpu_mean_pct);
    if (r >= 0)
        r = column_finite_or_nan(s, st, 20, &o.vram_mean_pct);
    if (r < 0)
        return r;

    *ret = o;
    return 0;
}

/* Returns 0 with *ret filled, -ENOENT, or another -errno. */
static int stats_get(struct store *s, const char *task, struct task_stats *ret)
{
    _cleanup_stmt_reset_ sqlite3_stmt *st = s->stmts[STORE_STMT_STATS_GET];
    int rc, r;

    rc = sqlite3_bind_text(st, 1, task, -1, SQLITE_STATIC);
    if (rc != SQLITE_OK)
        return store_fail(s, rc, "bind task");
    r = store_step(s, st, "read task statistics");
    if (r < 0)
        return r;
    if (r == 0)
        return -ENOENT;
    return read_stats_row(s, st, ret);
}

static int stats_put(struct store *s, const struct task_stats *t)
{
    _cleanup_stmt_reset_ sqlite3_stmt *st = s->stmts[STORE_STMT_STATS_PUT];
    int rc, r;

    rc = sqlite3_bind_text(st, 1, t->task, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 2, (int64_t) t->count);
    if (rc == SQLITE_OK)
        rc = bind_maybe_double(st, 3, t->avg_cpu_delta);
    if (rc == SQLITE_OK)
        rc = bind_maybe_double(st, 4, t->avg_mem_delta);
    if (rc == SQLITE_OK)
        rc = bind_maybe_double(st, 5, t->avg_gpu_delta);
    if (rc == SQLITE_OK)
        rc = bind_maybe_double(st, 6, t->avg_vram_delta);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 7, t->updated_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 8, (int64_t) t->overlapped_count);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 9, (int64_t) t->declared_count);
    if (rc == SQLITE_OK)
        rc = bind_maybe_double(st, 10, t->avg_cpu_gap);
    if (rc == SQLITE_OK)
        rc = bind_maybe_double(st, 11, t->avg_mem_gap);
    if (rc == SQLITE_OK)
        rc = bind_maybe_double(st, 12, t->avg_gpu_gap);
    if (rc == SQLITE_OK)
        rc = bind_maybe_double(st, 13, t->avg_vram_gap);
    if (rc != SQLITE_OK)
        return store_fail(s, rc, "bind task statistics");
    r = store_step(s, st, "write task statistics");
    return r < 0 ? r : 0;
}

static int observation_insert(struct store *s, const struct observation *o, const char *source)
{
    _cleanup_stmt_reset_ sqlite3_stmt *st = s->stmts[STORE_STMT_OBS_INSERT];
    int rc, r;

    rc = sqlite3_bind_text(st, 1, o->task, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_double(st, 2, o->complexity);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 3, o->started_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 4, o->window_ms);
    if (rc == SQLITE_OK)
        rc = bind_maybe_double(st, 5, o->cpu_delta_pct);
    if (rc == SQLITE_OK)
        rc = bind_maybe_double(st, 6, o->mem_delta_pct);
    if (rc == SQLITE_OK)
        rc = bind_maybe_double(st, 7, o->gpu_delta_pct);
    if (rc == SQLITE_OK)
        rc = bind_maybe_double(st, 8, o->vram_delta_pct);
    if (rc == SQLITE_OK)
        rc = o->disk_written_bytes == STORE_BYTES_UNKNOWN
                     ? sqlite3_bind_null(st, 9)
                     : sqlite3_bind_int64(st, 9, (int64_t) o->disk_written_bytes);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(st, 10, o->overlapped ? 1 : 0);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 11, source, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = bind_maybe_double(st, 12, o->declared_cpu_pct);
    if (rc == SQLITE_OK)
        rc = bind_maybe_double(st, 13, o->declared_mem_pct);
    if (rc == SQLITE_OK)
        rc = bind_maybe_double(st, 14, o->declared_gpu_pct);
    if (rc == SQLITE_OK)
        rc = bind_maybe_double(st, 15, o->declared_vram_pct);
    if (rc == SQLITE_OK)
        rc = o->duration_ms == STORE_DURATION_UNKNOWN ? sqlite3_bind_null(st, 16)
                                                      : sqlite3_bind_int64(st, 16, o->duration_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_double(st, 17, o->weight > 0 ? o->weight : 1.0);
    if (rc == SQLITE_OK)
        rc = bind_maybe_double(st, 18, o->cpu_mean_pct);
    if (rc == SQLITE_OK)
        rc = bind_maybe_double(st, 19, o->mem_mean_pct);
    if (rc == SQLITE_OK)
        rc = bind_maybe_double(st, 20, o->gpu_mean_pct);
    if (rc == SQLITE_OK)
        rc = bind_maybe_double(st, 21, o->vram_mean_pct);
    if (rc != SQLITE_OK)
        return store_fail(s, rc, "bind observation");
    r = store_step(s, st, "insert observation");
    return r < 0 ? r : 0;
}

static int observation_prune(struct store *s, const char *task, unsigned keep)
{
    _cleanup_stmt_reset_ sqlite3_stmt *st = s->stmts[STORE_STMT_OBS_PRUNE];
    int rc, r;

    rc = sqlite3_bind_text(st, 1, task, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 2, (int64_t) keep);
    if (rc != SQLITE_OK)
        return store_fail(s, rc, "bind prune");
    r = store_step(s, st, "prune observations");
    return r < 0 ? r : 0;
}

/* Runs a "SELECT count(*)" statement, binding task as ?1 when it is not NULL. */
static int count_rows(struct store *s, enum store_stmt id, const char *task, uint64_t *ret)
{
    _cleanup_stmt_reset_ sqlite3_stmt *st = s->stmts[id];
    int64_t n;
    int rc, r;

    if (task) {
        rc = sqlite3_bind_text(st, 1, task, -1, SQLITE_STATIC);
        if (rc != SQLITE_OK)
            return store_fail(s, rc, "bind task");
    }
    r = store_step(s, st, "count rows");
    if (r < 0)
        return r;
    n = r > 0 ? sqlite3_column_int64(st, 0) : 0;
    if (n < 0)
        return store_refuse(s, -EBADMSG, "negative row count");
    *ret = (uint64_t) n;
    return 0;
}

/* capfox's moving average: the first value is taken as is, later ones are blended in with weight
 * STORE_EMA_ALPHA. A NAN value (not measured) leaves the average as it was. */
static double ema_update(double avg, double value)
{
    if (isnan(value))
        return avg;
    if (isnan(avg))
        return value;
    return STORE_EMA_ALPHA * value + (1.0 - STORE_EMA_ALPHA) * avg;
}

/* declared − observed, or NAN unless both are known. */
static double gap_of(double declared, double observed)
{
    if (isnan(declared) || isnan(observed))
        return NAN;
    return declared - observed;
}

/* Counts saturate rather than wrap: they are bounded by INT64_MAX, which a column can hold. */
static void count_inc(uint64_t *c)
{
    if (*c < (uint64_t) INT64_MAX)
        (*c)++;
}

static void stats_learn(struct task_stats *t, const struct observation *o)
{
    count_inc(&t->count);
    if (o->overlapped)
        count_inc(&t->overlapped_count);
    if (!isnan(o->declared_cpu_pct) || !isnan(o->declared_mem_pct) || !isnan(o->declared_gpu_pct) ||
        !isnan(o->declared_vram_pct))
        count_inc(&t->declared_count);

    t->avg_cpu_delta = ema_update(t->avg_cpu_delta, o->cpu_delta_pct);
    t->avg_mem_delta = ema_update(t->avg_mem_delta, o->mem_delta_pct);
    t->avg_gpu_delta = ema_update(t->avg_gpu_delta, o->gpu_delta_pct);
    t->avg_vram_delta = ema_update(t->avg_vram_delta, o->vram_delta_pct);

    t->avg_cpu_gap = ema_update(t->avg_cpu_gap, gap_of(o->declared_cpu_pct, o->cpu_delta_pct));
    t->avg_mem_gap = ema_update(t->avg_mem_gap, gap_of(o->declared_mem_pct, o->mem_delta_pct));
    t->avg_gpu_gap = ema_update(t->avg_gpu_gap, gap_of(o->declared_gpu_pct, o->gpu_delta_pct));
    t->avg_vram_gap = ema_update(t->avg_vram_gap, gap_of(o->declared_vram_pct, o->vram_delta_pct));

    t->updated_ms = o->started_ms + o->window_ms;
}

int store_add_observation(struct store *s,
                          const struct observation *o,
                          unsigned keep_per_task,
                          unsigned max_task_types,
                          const struct task_model *model)
{
    _cleanup_(store_rollbackp) struct store *txn = NULL;
    struct task_stats t;
    const char *source;
    int r;

    assert(s);
    assert(o);
    assert(!s->in_callback);

    r = validate_observation(s, o);
    if (r < 0)
        return r;
    if (keep_per_task == 0 || max_task_types == 0)
        return store_refuse(s, -EINVAL, "keep_per_task and max_task_types must be positive");
    if (model) {
        r = store_task_model_check(s, model);
        if (r < 0)
            return r;
    }
    source = o->source[0] ? o->source : STORE_SOURCE_DEFAULT;

    r = store_begin(s);
    if (r < 0)
        return r;
    txn = s;

    r = stats_get(s, o->task, &t);
    if (r == -ENOENT) {
        uint64_t types;

        r = count_rows(s, STORE_STMT_STATS_COUNT, NULL, &types);
        if (r < 0)
            return r;
        if (types >= max_task_types)
            return store_refuse(s, -ENOSPC, "already %u task types, the configured maximum",
                                max_task_types);
        t = (struct task_stats){
            .count = 0,
            .avg_cpu_delta = NAN,
            .avg_mem_delta = NAN,
            .avg_gpu_delta = NAN,
            .avg_vram_delta = NAN,
            .avg_cpu_gap = NAN,
            .avg_mem_gap = NAN,
            .avg_gpu_gap = NAN,
            .avg_vram_gap = NAN,
        };
        /* Valid and NUL-terminated within the same size, checked above. */
        memcpy(t.task, o->task, sizeof(t.task));
    } else if (r < 0)
        return r;

    r = observation_insert(s, o, source);
    if (r < 0)
        return r;

    stats_learn(&t, o);
    r = stats_put(s, &t);
    if (r < 0)
        return r;

    if (model) {
        r = store_task_model_write(s, o->task, model);
        if (r < 0)
            return r;
    }

    r = observation_prune(s, o->task, keep_per_task);
    if (r < 0)
        return r;

    r = store_commit(s);
    if (r < 0)
        return r;
    txn = NULL;
    return 0;
}

int store_get_task_stats(struct store *s, const char *task, struct task_stats *ret)
{
    assert(s);
    assert(ret);
    assert(!s->in_callback);

    if (!task_name_is_valid(task))
        return store_refuse(s, -EINVAL, "invalid task name");
    return stats_get(s, task, ret);
}

struct stats_iter {
    int (*cb)(const struct task_stats *st, void *userdata);
    void *userdata;
};

static int stats_row(struct store *s, sqlite3_stmt *st, void *ctx)
{
    struct stats_iter *it = ctx;
    struct task_stats t;
    int r = read_stats_row(s, st, &t);
    return r < 0 ? r : it->cb(&t, it->userdata);
}

int store_foreach_task_stats(struct store *s,
                             int (*cb)(const struct task_stats *st, void *userdata),
                             void *userdata)
{
    _cleanup_stmt_reset_ sqlite3_stmt *st = NULL;

    assert(s);
    assert(cb);
    assert(!s->in_callback);

    st = s->stmts[STORE_STMT_STATS_ALL];
    struct stats_iter it = { cb, userdata };
    return store_foreach_row(s, st, "list task statistics", stats_row, &it);
}

int store_count_observations(struct store *s, const char *task, uint64_t *ret)
{
    assert(s);
    assert(ret);
    assert(!s->in_callback);

    if (!task)
        return count_rows(s, STORE_STMT_OBS_COUNT_ALL, NULL, ret);
    if (!task_name_is_valid(task))
        return store_refuse(s, -EINVAL, "invalid task name");
    return count_rows(s, STORE_STMT_OBS_COUNT_TASK, task, ret);
}

struct obs_iter {
    int (*cb)(const struct observation *o, void *userdata);
    void *userdata;
};

static int observation_row(struct store *s, sqlite3_stmt *st, void *ctx)
{
    struct obs_iter *it = ctx;
    struct observation o;
    int r = read_observation_row(s, st, &o);
    return r < 0 ? r : it->cb(&o, it->userdata);
}

int store_foreach_observation(struct store *s,
                              const char *task,
                              unsigned limit,
                              int (*cb)(const struct observation *o, void *userdata),
                              void *userdata)
{
    _cleanup_stmt_reset_ sqlite3_stmt *st = NULL;
    int rc;

    assert(s);
    assert(cb);
    assert(!s->in_callback);

    if (task && !task_name_is_valid(task))
        return store_refuse(s, -EINVAL, "invalid task name");
    if (limit == 0)
        return store_refuse(s, -EINVAL, "observation limit must be positive");

    if (task) {
        st = s->stmts[STORE_STMT_OBS_LIST_TASK];
        rc = sqlite3_bind_text(st, 1, task, -1, SQLITE_STATIC);
        if (rc == SQLITE_OK)
            rc = sqlite3_bind_int64(st, 2, (int64_t) limit);
    } else {
        st = s->stmts[STORE_STMT_OBS_LIST_ALL];
        rc = sqlite3_bind_int64(st, 1, (int64_t) limit);
    }
    if (rc != SQLITE_OK)
        return store_fail(s, rc, "bind observation query");

    struct obs_iter it = { cb, userdata };
    return store_foreach_row(s, st, "list observations", observation_row, &it);
}
