/* SPDX-License-Identifier: MIT */

/* Opening the database, schema migrations, error mapping, the meta table and maintenance. The
 * observation and statistics queries are in store-observations.c, the models in store-models.c and
 * the leases in store-leases.c; the SQL of all prepared statements is here. */

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "basic/log.h"
#include "store/store-internal.h"

/* Page cache of at most 512 KiB (negative values are KiB, positive values pages). headroom serve
 * has an RSS budget of 8 MiB in total, and SQLite's default of 2 MiB would take a quarter of it for
 * a database whose hot set (task_stats plus the newest observations) is a few pages. */
#define STORE_CACHE_SIZE_KIB 512

/* After a checkpoint, truncate the WAL back to 4 MiB at most. The default checkpoint threshold of
 * 1000 pages of 4 KiB lets the WAL grow to about that size in normal use, so this limit only
 * trims it after an unusual burst of writes (SQLite's default is to never trim). */
#define STORE_JOURNAL_SIZE_LIMIT_BYTES (4 * 1024 * 1024)

/* How long a writer waits for another process's write lock before giving up with -EBUSY. */
#define STORE_BUSY_TIMEOUT_MSEC 5000

/* Numbered schema steps. Step i (1-based) brings a database from user_version i − 1 to i; each
 * runs inside the same BEGIN IMMEDIATE transaction as the user_version update, so a crash leaves
 * either the old or the new schema. Steps are never edited once released: changes are new steps.
 * STRICT tables (SQLite ≥ 3.37) make a value of the wrong type an error instead of a silent
 * conversion. */
static const char *const migrations[] = {
    /* 1: raw observations (a bounded ring per task), per-task moving averages, metadata. */
    "CREATE TABLE observations ("
    "    id INTEGER PRIMARY KEY,"
    "    task TEXT NOT NULL,"
    "    complexity REAL NOT NULL,"
    "    started_ms INTEGER NOT NULL,"
    "    window_ms INTEGER NOT NULL,"
    "    cpu_delta_pct REAL,"
    "    mem_delta_pct REAL,"
    "    gpu_delta_pct REAL,"
    "    vram_delta_pct REAL,"
    "    disk_written_bytes INTEGER,"
    "    overlapped INTEGER NOT NULL DEFAULT 0,"
    "    source TEXT NOT NULL DEFAULT 'notify'"
    ") STRICT;"
    "CREATE INDEX observations_task_id ON observations (task, id);"
    "CREATE TABLE task_stats ("
    "    task TEXT PRIMARY KEY,"
    "    count INTEGER NOT NULL,"
    "    avg_cpu_delta REAL,"
    "    avg_mem_delta REAL,"
    "    avg_gpu_delta REAL,"
    "    avg_vram_delta REAL,"
    "    updated_ms INTEGER"
    ") STRICT;"
    "CREATE TABLE meta ("
    "    key TEXT PRIMARY KEY,"
    "    value TEXT"
    ") STRICT;"
    /* Unix milliseconds from the Julian day number of the Unix epoch (2440587.5). */
    "INSERT INTO meta (key, value) VALUES ('created_ms', "
    "    CAST(CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) AS TEXT));",

    /* 2: declared needs, duration and model weight of observations; overlap, declaration and gap
     * statistics per task; the prediction models; leases. Added columns are nullable or have a
     * default, so the rows of step 1 stay valid: NULL reads as "not declared", "unknown duration"
     * and weight 1.
     *
     * task_models holds one struct predictor per (task, resource). Its doubles are in ANY columns,
     * not REAL: SQLite writes a REAL value that happens to be integral as an integer and reads it
     * back as a float, which is exact except that −0.0 comes back as +0.0. An ANY column of a
     * STRICT table stores the 8-byte float as bound, so every double reads back bit for bit; the
     * reader insists on the float type. The two arrays are BLOBs of PREDICT_BUCKETS and
     * PREDICT_RESIDUALS_MAX little-endian IEEE-754 doubles. */
    "ALTER TABLE observations ADD COLUMN declared_cpu_pct REAL;"
    "ALTER TABLE observations ADD COLUMN declared_mem_pct REAL;"
    "ALTER TABLE observations ADD COLUMN declared_gpu_pct REAL;"
    "ALTER TABLE observations ADD COLUMN declared_vram_pct REAL;"
    "ALTER TABLE observations ADD COLUMN duration_ms INTEGER;"
    "ALTER TABLE observations ADD COLUMN weight REAL;"
    "ALTER TABLE task_stats ADD COLUMN overlapped_count INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE task_stats ADD COLUMN declared_count INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE task_stats ADD COLUMN avg_cpu_gap REAL;"
    "ALTER TABLE task_stats ADD COLUMN avg_mem_gap REAL;"
    "ALTER TABLE task_stats ADD COLUMN avg_gpu_gap REAL;"
    "ALTER TABLE task_stats ADD COLUMN avg_vram_gap REAL;"
    "CREATE TABLE task_models ("
    "    task TEXT NOT NULL,"
    "    resource TEXT NOT NULL,"
    "    model TEXT NOT NULL,"
    "    lambda ANY NOT NULL,"
    "    alpha ANY NOT NULL,"
    "    quantile ANY NOT NULL,"
    "    shrinkage_weight ANY NOT NULL,"
    "    sd_multiplier ANY NOT NULL,"
    "    margin_factor ANY NOT NULL,"
    "    min_observations INTEGER NOT NULL,"
    "    n INTEGER NOT NULL,"
    "    w ANY NOT NULL,"
    "    mx ANY NOT NULL,"
    "    my ANY NOT NULL,"
    "    sxx ANY NOT NULL,"
    "    sxy ANY NOT NULL,"
    "    syy ANY NOT NULL,"
    "    ewma ANY NOT NULL,"
    "    ewvar ANY NOT NULL,"
    "    peak_seen INTEGER NOT NULL,"
    "    peaks BLOB NOT NULL,"
    "    residual_len INTEGER NOT NULL,"
    "    residual_next INTEGER NOT NULL,"
    "    residuals BLOB NOT NULL,"
    "    PRIMARY KEY (task, resource)"
    ") STRICT, WITHOUT ROWID;"
    /* id is the caller's uint64_t, stored as the int64_t with the same bits. */
    "CREATE TABLE leases ("
    "    id INTEGER PRIMARY KEY,"
    "    task TEXT NOT NULL,"
    "    cpu_pct REAL NOT NULL,"
    "    mem_pct REAL NOT NULL,"
    "    gpu_pct REAL NOT NULL,"
    "    vram_pct REAL NOT NULL,"
    "    mem_bytes INTEGER NOT NULL,"
    "    vram_bytes INTEGER NOT NULL,"
    "    disk_bytes INTEGER NOT NULL,"
    "    gpu_index INTEGER NOT NULL,"
    "    created_ms INTEGER NOT NULL,"
    "    expires_ms INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX leases_expires_ms ON leases (expires_ms);",

    /* 3: the complexity at which each bucket's peak was seen (struct predictor's peak_complexity),
     * a BLOB of PREDICT_BUCKETS little-endian IEEE-754 doubles like peaks. It is nullable because
     * the rows of step 2 have none: such a row loads with every peak complexity 0, which makes each
     * peak floor its whole bucket, as it did before the complexity was kept. Peaks seen later carry
     * their complexity; an older one keeps 0 until a higher peak in its bucket replaces it. */
    "ALTER TABLE task_models ADD COLUMN peak_complexities BLOB;",

    /* 4: the complexity of the run behind each residual (struct predictor's residual_complexity),
     * a BLOB of PREDICT_RESIDUALS_MAX little-endian doubles like residuals, so that a margin can
     * come from the residuals of runs of similar complexity. Nullable for the rows of steps 2–3:
     * they load with every residual complexity unknown (PREDICT_COMPLEXITY_UNKNOWN), and their
     * margins come from the pooled quantile until the ring has turned over. */
    "ALTER TABLE task_models ADD COLUMN residual_complexities BLOB;",

    /* 5: the mean impact of each observation over its window or run (struct observation's
     * *_mean_pct), beside the peak impact already kept as *_delta_pct. Nullable: NULL means "not
     * measured", which is what the rows of steps 1–4 load with. */
    "ALTER TABLE observations ADD COLUMN cpu_mean_pct REAL;"
    "ALTER TABLE observations ADD COLUMN mem_mean_pct REAL;"
    "ALTER TABLE observations ADD COLUMN gpu_mean_pct REAL;"
    "ALTER TABLE observations ADD COLUMN vram_mean_pct REAL;",

    /* 6: the job queue (headroom submit). AUTOINCREMENT: a job id is never reused, even after the
     * newest job was pruned, so "headroom logs 12" never shows another job's output. spec is the
     * submitted request as JSON (argv, environment, directory, needs and options), opaque here.
     * wrapper_start is the wrapper's start time in clock ticks since boot (/proc/PID/stat field
     * 22), which tells an adopted wrapper from a later process that reused its pid. */
    "CREATE TABLE jobs ("
    "    id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "    state TEXT NOT NULL,"
    "    priority INTEGER NOT NULL,"
    "    uid INTEGER NOT NULL,"
    "    gid INTEGER NOT NULL,"
    "    task TEXT NOT NULL,"
    "    complexity REAL NOT NULL,"
    "    spec TEXT NOT NULL,"
    "    submitted_ms INTEGER NOT NULL,"
    "    started_ms INTEGER NOT NULL,"
    "    ended_ms INTEGER NOT NULL,"
    "    wrapper_pid INTEGER NOT NULL,"
    "    wrapper_start INTEGER NOT NULL,"
    "    pid INTEGER NOT NULL,"
    "    task_id INTEGER NOT NULL,"
    "    lease_id INTEGER NOT NULL,"
    "    exit_code INTEGER NOT NULL,"
    "    reason TEXT NOT NULL"
    ") STRICT;"
    "CREATE INDEX jobs_state ON jobs (state);",

    /* 7: the event log (task:started, task:stalled, ...), oldest pruned first. seq is the event's
     * sequence number, which clients resume from (Last-Event-ID); data is the event's JSON. */
    "CREATE TABLE events ("
    "    seq INTEGER PRIMARY KEY,"
    "    time_ms INTEGER NOT NULL,"
    "    type TEXT NOT NULL,"
    "    task_id INTEGER NOT NULL,"
    "    job_id INTEGER NOT NULL,"
    "    data TEXT NOT NULL"
    ") STRICT;",
};

_Static_assert(ELEMENTSOF(migrations) == STORE_SCHEMA_VERSION,
               "STORE_SCHEMA_VERSION must equal the number of migration steps");

#define STATS_COLUMNS                                                                        \
    "task, count, avg_cpu_delta, avg_mem_delta, avg_gpu_delta, avg_vram_delta, updated_ms, " \
    "overlapped_count, declared_count, avg_cpu_gap, avg_mem_gap, avg_gpu_gap, avg_vram_gap"
#define OBS_COLUMNS                                                                          \
    "task, complexity, started_ms, window_ms, cpu_delta_pct, mem_delta_pct, gpu_delta_pct, " \
    "vram_delta_pct, disk_written_bytes, overlapped, source, declared_cpu_pct, "             \
    "declared_mem_pct, declared_gpu_pct, declared_vram_pct, duration_ms, weight, "           \
    "cpu_mean_pct, mem_mean_pct, gpu_mean_pct, vram_mean_pct"
/* The order read_model_row() and model_bind() (store-models.c) use. */
#define MODEL_COLUMNS                                                                        \
    "task, resource, model, lambda, alpha, quantile, shrinkage_weight, sd_multiplier, "      \
    "margin_factor, min_observations, n, w, mx, my, sxx, sxy, syy, ewma, ewvar, peak_seen, " \
    "peaks, peak_complexities, residual_len, residual_next, residuals, residual_complexities"
/* The order read_job_row() and store_put_job() (store-jobs.c) use. */
#define JOB_COLUMNS                                                                       \
    "id, state, priority, uid, gid, task, complexity, spec, submitted_ms, started_ms, "  \
    "ended_ms, wrapper_pid, wrapper_start, pid, task_id, lease_id, exit_code, reason"
#define EVENT_COLUMNS "seq, time_ms, type, task_id, job_id, data"
/* The order read_lease_row() and store_put_lease() (store-leases.c) use. */
#define LEASE_COLUMNS                                                                    \
    "id, task, cpu_pct, mem_pct, gpu_pct, vram_pct, mem_bytes, vram_bytes, disk_bytes, " \
    "gpu_index, created_ms, expires_ms"

static const char *const stmt_sql[_STORE_STMT_MAX] = {
    [STORE_STMT_BEGIN] = "BEGIN IMMEDIATE",
    [STORE_STMT_COMMIT] = "COMMIT",
    [STORE_STMT_ROLLBACK] = "ROLLBACK",
    [STORE_STMT_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [STORE_STMT_META_SET] =
            "INSERT INTO meta (key, value) VALUES (?1, ?2) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    [STORE_STMT_STATS_GET] = "SELECT " STATS_COLUMNS " FROM task_stats WHERE task = ?1",
    [STORE_STMT_STATS_PUT] = "INSERT INTO task_stats (" STATS_COLUMNS
                             ") "
                             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
                             "ON CONFLICT (task) DO UPDATE SET count = excluded.count, "
                             "avg_cpu_delta = excluded.avg_cpu_delta, "
                             "avg_mem_delta = excluded.avg_mem_delta, "
                             "avg_gpu_delta = excluded.avg_gpu_delta, "
                             "avg_vram_delta = excluded.avg_vram_delta, "
                             "updated_ms = excluded.updated_ms, "
                             "overlapped_count = excluded.overlapped_count, "
                             "declared_count = excluded.declared_count, "
                             "avg_cpu_gap = excluded.avg_cpu_gap, "
                             "avg_mem_gap = excluded.avg_mem_gap, "
                             "avg_gpu_gap = excluded.avg_gpu_gap, "
                             "avg_vram_gap = excluded.avg_vram_gap",
    [STORE_STMT_STATS_COUNT] = "SELECT count(*) FROM task_stats",
    /* The primary key uses the BINARY collation, so this is byte-wise name order. */
    [STORE_STMT_STATS_ALL] = "SELECT " STATS_COLUMNS " FROM task_stats ORDER BY task",
    [STORE_STMT_OBS_INSERT] = "INSERT INTO observations (" OBS_COLUMNS
                              ") "
                              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
                              "?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
    /* Deletes every row of the task at or below the id of the (keep + 1)-th newest one; when
     * there are at most keep rows the subquery is NULL and nothing matches. Both lookups walk the
     * (task, id) index. */
    [STORE_STMT_OBS_PRUNE] =
            "DELETE FROM observations WHERE task = ?1 AND id <= "
            "(SELECT id FROM observations WHERE task = ?1 "
            "ORDER BY id DESC LIMIT 1 OFFSET ?2)",
    [STORE_STMT_OBS_COUNT_ALL] = "SELECT count(*) FROM observations",
    [STORE_STMT_OBS_COUNT_TASK] = "SELECT count(*) FROM observations WHERE task = ?1",
    /* ids only grow: the newest row of a task is never pruned, so the largest id is never deleted
     * and never reused. Newest first is therefore id order. */
    [STORE_STMT_OBS_LIST_ALL] = "SELECT " OBS_COLUMNS
                                " FROM observations "
                                "ORDER BY id DESC LIMIT ?1",
    [STORE_STMT_OBS_LIST_TASK] = "SELECT " OBS_COLUMNS
                                 " FROM observations WHERE task = ?1 "
                                 "ORDER BY id DESC LIMIT ?2",
    /* A task's models are written as a whole: its rows are deleted, then the four inserted, so no
     * row of another shape can outlive a write. */
    [STORE_STMT_MODEL_DELETE] = "DELETE FROM task_models WHERE task = ?1",
    [STORE_STMT_MODEL_PUT] = "INSERT INTO task_models (" MODEL_COLUMNS
                             ") "
                             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
                             "?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)",
    /* The primary key orders the rows of a WITHOUT ROWID table: by task, then resource. */
    [STORE_STMT_MODEL_GET] = "SELECT " MODEL_COLUMNS " FROM task_models WHERE task = ?1",
    [STORE_STMT_MODEL_ALL] = "SELECT " MODEL_COLUMNS " FROM task_models ORDER BY task",
    [STORE_STMT_LEASE_PUT] = "INSERT INTO leases (" LEASE_COLUMNS
                             ") "
                             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
                             "ON CONFLICT (id) DO UPDATE SET task = excluded.task, "
                             "cpu_pct = excluded.cpu_pct, mem_pct = excluded.mem_pct, "
                             "gpu_pct = excluded.gpu_pct, vram_pct = excluded.vram_pct, "
                             "mem_bytes = excluded.mem_bytes, vram_bytes = excluded.vram_bytes, "
                             "disk_bytes = excluded.disk_bytes, gpu_index = excluded.gpu_index, "
                             "created_ms = excluded.created_ms, expires_ms = excluded.expires_ms",
    [STORE_STMT_LEASE_DELETE] = "DELETE FROM leases WHERE id = ?1",
    [STORE_STMT_LEASE_DELETE_EXPIRED] = "DELETE FROM leases WHERE expires_ms <= ?1",
    /* Ids at or above 2^63 are stored negative; listing the non-negative ones first, then the
     * negative ones in ascending order, is ascending order of the unsigned ids. */
    [STORE_STMT_LEASE_ALL] = "SELECT " LEASE_COLUMNS " FROM leases ORDER BY id < 0, id",
    /* ?1 NULL: a new job, numbered by AUTOINCREMENT. */
    [STORE_STMT_JOB_PUT] = "INSERT INTO jobs (" JOB_COLUMNS
                           ") "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18) "
                           "ON CONFLICT (id) DO UPDATE SET state = excluded.state, "
                           "priority = excluded.priority, started_ms = excluded.started_ms, "
                           "ended_ms = excluded.ended_ms, wrapper_pid = excluded.wrapper_pid, "
                           "wrapper_start = excluded.wrapper_start, pid = excluded.pid, "
                           "task_id = excluded.task_id, lease_id = excluded.lease_id, exit_code = excluded.exit_code, "
                           "reason = excluded.reason",
    [STORE_STMT_JOB_GET] = "SELECT " JOB_COLUMNS " FROM jobs WHERE id = ?1",
    /* Every job not yet finished, then the newest ?1 finished ones. */
    [STORE_STMT_JOB_ALL] = "SELECT " JOB_COLUMNS " FROM jobs WHERE state IN ('queued', 'running', 'suspended') "
                           "UNION ALL SELECT * FROM (SELECT " JOB_COLUMNS " FROM jobs "
                           "WHERE state NOT IN ('queued', 'running', 'suspended') ORDER BY id DESC LIMIT ?1) "
                           "ORDER BY id",
    /* Finished jobs beyond the newest ?1 finished ones. */
    [STORE_STMT_JOB_PRUNE] = "DELETE FROM jobs WHERE state NOT IN ('queued', 'running', 'suspended') AND id <= "
                             "(SELECT id FROM jobs WHERE state NOT IN ('queued', 'running', 'suspended') "
                             "ORDER BY id DESC LIMIT 1 OFFSET ?1)",
    [STORE_STMT_EVENT_INSERT] = "INSERT INTO events (" EVENT_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    /* Everything at or below the cut: a range of the primary key. */
    [STORE_STMT_EVENT_PRUNE] = "DELETE FROM events WHERE seq <= ?1",
    [STORE_STMT_EVENT_AFTER] = "SELECT " EVENT_COLUMNS " FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    [STORE_STMT_EVENT_LAST_SEQ] = "SELECT coalesce(max(seq), 0) FROM events",
};

static inline void finalizep(sqlite3_stmt **st)
{
    /* sqlite3_finalize(NULL) is a harmless no-op. */
    (void) sqlite3_finalize(*st);
}

static int errno_from_sqlite(sqlite3 *db, int rc)
{
    int sys;

    if (rc == SQLITE_IOERR_NOMEM)
        return -ENOMEM;

    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return -EBADMSG;
    case SQLITE_READONLY:
        return -EROFS;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_PERM:
        return -EACCES;
    case SQLITE_CANTOPEN:
        /* The errno of the failed open(2), when SQLite kept it. */
        sys = db ? sqlite3_system_errno(db) : 0;
        if (sys == ENOENT || sys == ENOTDIR)
            return -ENOENT;
        if (sys == EROFS)
            return -EROFS;
        return -EACCES;
    default:
        return -EIO;
    }
}

int store_fail(struct store *s, int rc, const char *what)
{
    const char *msg = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
    int r = errno_from_sqlite(s->db, rc);

    (void) snprintf(s->last_error, sizeof(s->last_error), "%s: %s", what, msg);
    (void) log_debug_errno(r, "store: %s (SQLite code %d)", s->last_error, rc);
    return r;
}

int store_refuse(struct store *s, int r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    (void) vsnprintf(s->last_error, sizeof(s->last_error), fmt, ap);
    va_end(ap);
    (void) log_debug_errno(r, "store: %s", s->last_error);
    return r;
}

const char *store_last_error(const struct store *s)
{
    assert(s);
    return s->last_error[0] ? s->last_error : "no error";
}

int store_step(struct store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);

    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return store_fail(s, rc, what);
}

int store_foreach_row(struct store *s, sqlite3_stmt *st, const char *what,
                      int (*row)(struct store *s, sqlite3_stmt *st, void *ctx), void *ctx)
{
    int n = 0;

    for (;;) {
        int r = store_step(s, st, what);
        if (r < 0)
            return r;
        if (r == 0)
            break;
        s->in_callback = true;
        r = row(s, st, ctx);
        s->in_callback = false;
        if (r < 0)
            return r;
        if (n < INT_MAX)
            n++;
    }
    return n;
}

static int run_stmt(struct store *s, enum store_stmt id, const char *what)
{
    _cleanup_stmt_reset_ sqlite3_stmt *st = s->stmts[id];
    int r = store_step(s, st, what);

    return r < 0 ? r : 0;
}

int store_begin(struct store *s)
{
    return run_stmt(s, STORE_STMT_BEGIN, "begin transaction");
}

int store_commit(struct store *s)
{
    return run_stmt(s, STORE_STMT_COMMIT, "commit");
}

void store_rollback(struct store *s)
{
    /* A failed statement may already have ended the transaction (SQLITE_FULL, SQLITE_NOMEM and
     * others roll back on their own); ROLLBACK outside a transaction would only add an error. */
    if (!sqlite3_get_autocommit(s->db))
        (void) run_stmt(s, STORE_STMT_ROLLBACK, "rollback");
}

bool store_task_name_ok(const char *s, size_t n)
{
    return s && strnlen(s, n) < n && task_name_is_valid(s);
}

int store_column_string(struct store *s, sqlite3_stmt *st, int col, char *buf, size_t len)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    size_t n = (size_t) sqlite3_column_bytes(st, col);

    if (!t) {
        if (sqlite3_errcode(s->db) == SQLITE_NOMEM)
            return -ENOMEM;
        return store_refuse(s, -EBADMSG, "unexpected NULL in column %d", col);
    }
    if (n >= len || memchr(t, '\0', n))
        return store_refuse(s, -EBADMSG, "over-long text in column %d", col);
    memcpy(buf, t, n);
    buf[n] = '\0';
    return 0;
}

/* Runs SQL text that may hold several statements and returns no rows. */
static int exec_sql(struct store *s, const char *sql, const char *what)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

    if (rc != SQLITE_OK)
        return store_fail(s, rc, what);
    return 0;
}

/* Runs one statement returning one row and reads its first column as an integer. */
static int query_int64(struct store *s, const char *sql, int64_t *ret)
{
    _cleanup_(finalizep) sqlite3_stmt *st = NULL;
    int rc, r;

    rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_fail(s, rc, sql);
    r = store_step(s, st, sql);
    if (r < 0)
        return r;
    if (r == 0)
        return store_refuse(s, -EIO, "%s: no result", sql);
    *ret = sqlite3_column_int64(st, 0);
    return 0;
}

/* Like query_int64(), for a text result copied into buf. */
static int query_text(struct store *s, const char *sql, char *buf, size_t len)
{
    _cleanup_(finalizep) sqlite3_stmt *st = NULL;
    const unsigned char *t;
    int rc, r;

    rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_fail(s, rc, sql);
    r = store_step(s, st, sql);
    if (r < 0)
        return r;
    if (r == 0)
        return store_refuse(s, -EIO, "%s: no result", sql);
    t = sqlite3_column_text(st, 0);
    (void) snprintf(buf, len, "%s", t ? (const char *) t : "");
    return 0;
}

static int read_user_version(struct store *s, int64_t *ret)
{
    int64_t v = 0;
    int r;

    r = query_int64(s, "PRAGMA user_version", &v);
    if (r < 0)
        return r;
    if (v < 0)
        return store_refuse(s, -EBADMSG, "negative schema version %" PRIi64, v);
    *ret = v;
    return 0;
}

static int refuse_future(struct store *s, int64_t v)
{
    return store_refuse(s, -EPROTONOSUPPORT,
                        "schema version %" PRIi64 " is newer than this build's %u", v,
                        STORE_SCHEMA_VERSION);
}

static int migrate(struct store *s)
{
    _cleanup_(store_rollbackp) struct store *txn = NULL;
    char sql[64];
    int64_t v;
    int r;

    /* The statement cache is prepared only after the schema exists, so plain exec here. */
    r = exec_sql(s, "BEGIN IMMEDIATE", "begin migration");
    if (r < 0)
        return r;
    txn = s;

    /* Read again under the write lock: another process may have migrated in the meantime. */
    r = read_user_version(s, &v);
    if (r < 0)
        return r;
    if (v > (int64_t) STORE_SCHEMA_VERSION)
        return refuse_future(s, v);
    if (v == (int64_t) STORE_SCHEMA_VERSION) {
        txn = NULL;
        return exec_sql(s, "COMMIT", "end migration check");
    }

    for (size_t i = (size_t) v; i < ELEMENTSOF(migrations); i++) {
        char what[48];

        (void) snprintf(what, sizeof(what), "schema migration step %zu", i + 1);
        r = exec_sql(s, migrations[i], what);
        if (r < 0)
            return r;
    }

    /* PRAGMA takes no bound parameters; the value is our own constant. */
    (void) snprintf(sql, sizeof(sql), "PRAGMA user_version = %u", STORE_SCHEMA_VERSION);
    r = exec_sql(s, sql, "set schema version");
    if (r < 0)
        return r;
    r = exec_sql(s, "COMMIT", "commit migration");
    if (r < 0)
        return r;
    txn = NULL;
    log_debug("store: schema migrated from version %" PRIi64 " to %u", v, STORE_SCHEMA_VERSION);
    return 0;
}

static int prepare_all(struct store *s)
{
    for (size_t i = 0; i < _STORE_STMT_MAX; i++) {
        int rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmts[i],
                                    NULL);
        if (rc != SQLITE_OK)
            return store_fail(s, rc, stmt_sql[i]);
    }
    return 0;
}

int store_open(const char *path, struct store **ret)
{
    _cleanup_store_free_ struct store *s = NULL;
    char mode[16];
    int64_t v;
    int rc, r;

    assert(path);
    assert(ret);

    if (!*path)
        return -EINVAL;

    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;

    /* NOMUTEX: the connection belongs to one thread, so SQLite's per-connection mutex is pure
     * overhead. EXRESCODE: extended codes (e.g. SQLITE_IOERR_NOMEM) refine the errno mapping.
     * SQLite opens its files with O_CLOEXEC, so children spawned later do not inherit them. */
    rc = sqlite3_open_v2(path, &s->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                                 SQLITE_OPEN_EXRESCODE,
                         NULL);
    if (rc != SQLITE_OK)
        return store_fail(s, rc, path);

    /* SQLite quietly falls back to read-only when the file is not writable. */
    if (sqlite3_db_readonly(s->db, "main") == 1)
        return store_refuse(s, -EROFS, "%s: database is read-only", path);

    (void) sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MSEC);
    /* Refuse writes to sqlite_schema and similar footguns; never run SQL functions found in the
     * schema of a file someone else may have prepared. */
    (void) sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    (void) sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);

    /* First read, before anything is written: this is where a file that is not a database
     * fails (SQLITE_NOTADB), and a newer schema must be refused before journal_mode=WAL or a
     * migration changes the file. */
    r = read_user_version(s, &v);
    if (r < 0)
        return r;
    if (v > (int64_t) STORE_SCHEMA_VERSION)
        return refuse_future(s, v);

    /* WAL is recorded in the file, so this is a no-op after the first open. SQLite answers with
     * the mode now in force rather than failing when WAL is impossible. */
    r = query_text(s, "PRAGMA journal_mode=WAL", mode, sizeof(mode));
    if (r < 0)
        return r;
    if (strcasecmp(mode, "wal") != 0)
        return store_refuse(s, -EOPNOTSUPP,
                            "%s: cannot use WAL journal mode (got '%s'); the file system must "
                            "support shared memory mappings",
                            path, mode);

    /* synchronous=NORMAL in WAL mode syncs at checkpoints only: commits survive a process crash,
     * and a power loss may lose the newest commits but never corrupts the file. FULL costs about
     * 16 times the commit latency, which these learning data do not justify. The build default
     * is FULL, so it must be set on every connection. */
    r = exec_sql(s,
                 "PRAGMA synchronous=NORMAL;"
                 "PRAGMA foreign_keys=ON;"
                 "PRAGMA temp_store=MEMORY;",
                 "connection settings");
    if (r < 0)
        return r;

    {
        char sql[128];

        (void) snprintf(sql, sizeof(sql), "PRAGMA journal_size_limit=%d; PRAGMA cache_size=-%d;",
                        STORE_JOURNAL_SIZE_LIMIT_BYTES, STORE_CACHE_SIZE_KIB);
        r = exec_sql(s, sql, "connection limits");
        if (r < 0)
            return r;
    }

    r = migrate(s);
    if (r < 0)
        return r;

    r = prepare_all(s);
    if (r < 0)
        return r;

    *ret = TAKE_PTR(s);
    return 0;
}

struct store *store_free(struct store *s)
{
    bool ready = true;

    if (!s)
        return NULL;

    for (size_t i = 0; i < _STORE_STMT_MAX; i++) {
        if (!s->stmts[i])
            ready = false;
        (void) sqlite3_finalize(s->stmts[i]);
    }

    if (s->db) {
        /* Recommended at close: lets SQLite refresh planner statistics for the tables this
         * connection queried. Skipped for a half-opened store, which must stay untouched. */
        if (ready)
            (void) sqlite3_exec(s->db, "PRAGMA optimize", NULL, NULL, NULL);
        (void) sqlite3_close_v2(s->db);
    }

    free(s);
    return NULL;
}

int store_get_schema_version(struct store *s, unsigned *ret)
{
    int64_t v;
    int r;

    assert(s);
    assert(ret);
    assert(!s->in_callback);

    r = read_user_version(s, &v);
    if (r < 0)
        return r;
    if (v > (int64_t) UINT32_MAX)
        return store_refuse(s, -EBADMSG, "schema version %" PRIi64 " out of range", v);
    *ret = (unsigned) v;
    return 0;
}

static bool meta_key_ok(const char *key)
{
    size_t n;

    if (!key)
        return false;
    n = strnlen(key, STORE_META_KEY_MAX + 1);
    if (n == 0 || n > STORE_META_KEY_MAX)
        return false;
    for (const char *p = key; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.'))
            return false;
    return true;
}

int store_meta_get(struct store *s, const char *key, char *buf, size_t len)
{
    _cleanup_stmt_reset_ sqlite3_stmt *st = NULL;
    const unsigned char *t;
    size_t n;
    int rc, r;

    assert(s);
    assert(buf || len == 0);
    assert(!s->in_callback);

    if (!meta_key_ok(key))
        return store_refuse(s, -EINVAL, "invalid meta key");

    st = s->stmts[STORE_STMT_META_GET];
    rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (rc != SQLITE_OK)
        return store_fail(s, rc, "bind meta key");
    r = store_step(s, st, "read meta");
    if (r < 0)
        return r;
    if (r == 0)
        return -ENOENT;

    t = sqlite3_column_text(st, 0);
    n = (size_t) sqlite3_column_bytes(st, 0);
    if (n >= len)
        return -ENOBUFS;
    if (t)
        memcpy(buf, t, n);
    buf[n] = '\0';
    return 0;
}

int store_meta_set(struct store *s, const char *key, const char *value)
{
    _cleanup_stmt_reset_ sqlite3_stmt *st = NULL;
    size_t n;
    int rc, r;

    assert(s);
    assert(value);
    assert(!s->in_callback);

    if (!meta_key_ok(key))
        return store_refuse(s, -EINVAL, "invalid meta key");
    n = strnlen(value, STORE_META_VALUE_MAX + 1);
    if (n > STORE_META_VALUE_MAX)
        return store_refuse(s, -EINVAL, "meta value longer than %d bytes", STORE_META_VALUE_MAX);

    /* A single statement outside BEGIN is its own transaction. */
    st = s->stmts[STORE_STMT_META_SET];
    rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 2, value, (int) n, SQLITE_STATIC);
    if (rc != SQLITE_OK)
        return store_fail(s, rc, "bind meta value");
    r = store_step(s, st, "write meta");
    return r < 0 ? r : 0;
}

int store_maintain(struct store *s)
{
    _cleanup_(finalizep) sqlite3_stmt *st = NULL;
    int rc, r;

    assert(s);
    assert(!s->in_callback);

    /* First, because ANALYZE writes, and the checkpoint should include that. */
    r = exec_sql(s, "PRAGMA optimize", "optimize");
    if (r < 0)
        return r;

    /* The row is (busy, WAL frames, frames checkpointed); busy = 1 when a reader or writer kept
     * the checkpoint from finishing. */
    rc = sqlite3_prepare_v2(s->db, "PRAGMA wal_checkpoint(TRUNCATE)", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_fail(s, rc, "prepare checkpoint");
    r = store_step(s, st, "checkpoint");
    if (r < 0)
        return r;
    if (r > 0 && sqlite3_column_int(st, 0) != 0)
        return store_refuse(s, -EBUSY, "checkpoint could not complete, the database is in use");
    return 0;
}
