/* SPDX-License-Identifier: MIT */

/* The job queue: every job submitted and not yet finished, and the newest finished ones, kept so
 * that a restart neither forgets a queued job nor loses track of a running one. Each call is a
 * single statement and therefore its own transaction. */

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store/store-internal.h"

static const char *const job_states[] = {
    "queued", "running", "suspended", "done", "failed", "cancelled", "lost",
};

static bool state_is_valid(const char *s)
{
    for (size_t i = 0; i < ELEMENTSOF(job_states); i++)
        if (strcmp(s, job_states[i]) == 0)
            return true;
    return false;
}

void store_job_done(struct store_job *j)
{
    if (!j)
        return;
    free(j->spec);
    j->spec = NULL;
}

/* The rules of store_put_job(), shared by the reader; returns NULL or what is wrong. */
static const char *job_problem(const struct store_job *j)
{
    if (strnlen(j->state, sizeof(j->state)) >= sizeof(j->state) || !state_is_valid(j->state))
        return "unknown state";
    if (j->priority < 0 || j->priority > 2)
        return "priority out of range";
    if (strnlen(j->task, sizeof(j->task)) >= sizeof(j->task) || !task_name_is_valid(j->task))
        return "invalid task name";
    if (!isfinite(j->complexity) || j->complexity < 0)
        return "invalid complexity";
    if (!j->spec || !j->spec[0] || strlen(j->spec) > STORE_JOB_SPEC_MAX)
        return "empty or oversized spec";
    if (j->submitted_ms < 0 || j->started_ms < 0 || j->ended_ms < 0 || j->wrapper_pid < 0 || j->pid < 0)
        return "negative time or pid";
    if (j->wrapper_start > (uint64_t) INT64_MAX)
        return "wrapper start time out of range";
    if (strnlen(j->reason, sizeof(j->reason)) >= sizeof(j->reason))
        return "reason too long";
    return NULL;
}

int store_put_job(struct store *s, const struct store_job *j, int64_t *ret_id)
{
    _cleanup_stmt_reset_ sqlite3_stmt *st = NULL;
    const char *problem;
    int rc, r;

    assert(s);
    assert(j);
    assert(!s->in_callback);

    problem = job_problem(j);
    if (problem)
        return store_refuse(s, -EINVAL, "job %s", problem);
    if (j->id < 0)
        return store_refuse(s, -EINVAL, "job id %" PRIi64 " is negative", j->id);

    st = s->stmts[STORE_STMT_JOB_PUT];
    rc = j->id > 0 ? sqlite3_bind_int64(st, 1, j->id) : sqlite3_bind_null(st, 1);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 2, j->state, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(st, 3, j->priority);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 4, j->uid);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 5, j->gid);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 6, j->task, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_double(st, 7, j->complexity);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 8, j->spec, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 9, j->submitted_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 10, j->started_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 11, j->ended_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 12, j->wrapper_pid);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 13, (int64_t) j->wrapper_start);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 14, j->pid);
    /* Task ids use the whole uint64_t range: stored as the int64_t with the same bits. */
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 15, (int64_t) j->task_id);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 16, (int64_t) j->lease_id);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(st, 17, j->exit_code);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 18, j->reason, -1, SQLITE_STATIC);
    if (rc != SQLITE_OK)
        return store_fail(s, rc, "bind job");
    r = store_step(s, st, "write job");
    if (r < 0)
        return r;
    if (ret_id)
        *ret_id = j->id > 0 ? j->id : (int64_t) sqlite3_last_insert_rowid(s->db);
    return 0;
}

/* Columns as listed in JOB_COLUMNS (store.c). On success ret->spec is malloc()ed. */
static int read_job_row(struct store *s, sqlite3_stmt *st, struct store_job *ret)
{
    struct store_job j = { 0 };
    const char *problem;
    int r;

    j.id = sqlite3_column_int64(st, 0);
    r = store_column_string(s, st, 1, j.state, sizeof(j.state));
    if (r < 0)
        return r;
    int64_t pri = sqlite3_column_int64(st, 2), uid = sqlite3_column_int64(st, 3), gid = sqlite3_column_int64(st, 4);
    if (pri < 0 || pri > 2 || uid < 0 || uid > UINT32_MAX || gid < 0 || gid > UINT32_MAX)
        return store_refuse(s, -EBADMSG, "stored job %" PRIi64 ": priority or owner out of range", j.id);
    j.priority = (int) pri;
    j.uid = (uint32_t) uid;
    j.gid = (uint32_t) gid;
    r = store_column_string(s, st, 5, j.task, sizeof(j.task));
    if (r < 0)
        return r;
    j.complexity = sqlite3_column_double(st, 6);
    const unsigned char *spec = sqlite3_column_text(st, 7);
    int spec_len = sqlite3_column_bytes(st, 7);
    if (!spec || spec_len <= 0 || (size_t) spec_len > STORE_JOB_SPEC_MAX || memchr(spec, 0, (size_t) spec_len))
        return store_refuse(s, -EBADMSG, "stored job %" PRIi64 ": bad spec", j.id);
    j.submitted_ms = sqlite3_column_int64(st, 8);
    j.started_ms = sqlite3_column_int64(st, 9);
    j.ended_ms = sqlite3_column_int64(st, 10);
    j.wrapper_pid = sqlite3_column_int64(st, 11);
    j.wrapper_start = (uint64_t) sqlite3_column_int64(st, 12);
    j.pid = sqlite3_column_int64(st, 13);
    j.task_id = (uint64_t) sqlite3_column_int64(st, 14);
    j.lease_id = (uint64_t) sqlite3_column_int64(st, 15);
    int64_t code = sqlite3_column_int64(st, 16);
    if (code < -1 || code > 255)
        return store_refuse(s, -EBADMSG, "stored job %" PRIi64 ": exit code out of range", j.id);
    j.exit_code = (int) code;
    r = store_column_string(s, st, 17, j.reason, sizeof(j.reason));
    if (r < 0)
        return r;
    j.spec = (char *) spec;
    problem = j.id > 0 ? job_problem(&j) : "non-positive id";
    if (problem)
        return store_refuse(s, -EBADMSG, "stored job %" PRIi64 ": %s", j.id, problem);
    j.spec = strndup((const char *) spec, (size_t) spec_len);
    if (!j.spec)
        return -ENOMEM;
    *ret = j;
    return 0;
}

static int get_row(struct store *s, sqlite3_stmt *st, void *ctx)
{
    return read_job_row(s, st, ctx);
}

int store_get_job(struct store *s, int64_t id, struct store_job *ret)
{
    _cleanup_stmt_reset_ sqlite3_stmt *st = NULL;
    struct store_job j = { 0 };
    int rc, r;

    assert(s);
    assert(ret);
    assert(!s->in_callback);

    st = s->stmts[STORE_STMT_JOB_GET];
    rc = sqlite3_bind_int64(st, 1, id);
    if (rc != SQLITE_OK)
        return store_fail(s, rc, "bind job id");
    r = store_foreach_row(s, st, "read job", get_row, &j);
    if (r < 0)
        return r;
    if (r == 0)
        return -ENOENT;
    *ret = j;
    return 0;
}

struct job_iter {
    int (*cb)(const struct store_job *j, void *userdata);
    void *userdata;
};

static int job_row(struct store *s, sqlite3_stmt *st, void *ctx)
{
    struct job_iter *it = ctx;
    struct store_job j;
    int r = read_job_row(s, st, &j);
    if (r < 0)
        return r;
    r = it->cb(&j, it->userdata);
    store_job_done(&j);
    return r;
}

int store_foreach_job(struct store *s, unsigned keep_finished,
                      int (*cb)(const struct store_job *j, void *userdata), void *userdata)
{
    _cleanup_stmt_reset_ sqlite3_stmt *st = NULL;
    int rc;

    assert(s);
    assert(cb);
    assert(!s->in_callback);

    st = s->stmts[STORE_STMT_JOB_ALL];
    rc = sqlite3_bind_int64(st, 1, keep_finished);
    if (rc != SQLITE_OK)
        return store_fail(s, rc, "bind job limit");
    struct job_iter it = { cb, userdata };
    return store_foreach_row(s, st, "list jobs", job_row, &it);
}

int store_prune_jobs(struct store *s, unsigned keep_finished)
{
    _cleanup_stmt_reset_ sqlite3_stmt *st = NULL;
    int rc, r;

    assert(s);
    assert(!s->in_callback);

    st = s->stmts[STORE_STMT_JOB_PRUNE];
    rc = sqlite3_bind_int64(st, 1, keep_finished);
    if (rc != SQLITE_OK)
        return store_fail(s, rc, "bind job limit");
    r = store_step(s, st, "prune jobs");
    if (r < 0)
        return r;
    sqlite3_int64 n = sqlite3_changes64(s->db);
    return n > INT_MAX ? INT_MAX : (int) n;
}
