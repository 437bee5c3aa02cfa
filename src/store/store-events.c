/* SPDX-License-Identifier: MIT */

/* The event log: task and job events, newest kept, oldest pruned. The data column is the event's
 * JSON, opaque here; the other columns let a reader filter and resume without parsing it. */

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>

#include "store/store-internal.h"

/* An event type is a short lowercase name such as "task:high-memory". */
static bool type_ok(const char *t, size_t len)
{
    size_t n = strnlen(t, len);

    if (n == 0 || n >= len)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ':' || c == '-' || c == '_'))
            return false;
    }
    return true;
}

/* The rules of store_append_event(), shared by the reader; returns NULL or what is wrong. */
static const char *event_problem(const struct store_event *e)
{
    size_t n;

    if (e->seq == 0 || e->seq > (uint64_t) INT64_MAX)
        return "sequence number out of range";
    if (e->time_ms < 0)
        return "negative time";
    if (!type_ok(e->type, sizeof(e->type)))
        return "invalid type";
    if (e->task_id > (uint64_t) INT64_MAX || e->job_id > (uint64_t) INT64_MAX)
        return "id above INT64_MAX";
    if (!e->data)
        return "no data";
    n = strnlen(e->data, STORE_EVENT_DATA_MAX + 1);
    if (n == 0 || n > STORE_EVENT_DATA_MAX)
        return "data empty or too long";
    return NULL;
}

int store_last_event_seq(struct store *s, uint64_t *ret)
{
    _cleanup_stmt_reset_ sqlite3_stmt *st = NULL;
    int64_t v;
    int r;

    assert(s);
    assert(ret);
    assert(!s->in_callback);

    st = s->stmts[STORE_STMT_EVENT_LAST_SEQ];
    r = store_step(s, st, "last event");
    if (r < 0)
        return r;
    if (r == 0)
        return store_refuse(s, -EIO, "last event: no result");
    v = sqlite3_column_int64(st, 0);
    if (v < 0)
        return store_refuse(s, -EBADMSG, "negative event sequence number");
    *ret = (uint64_t) v;
    return 0;
}

static int insert_event(struct store *s, const struct store_event *e)
{
    _cleanup_stmt_reset_ sqlite3_stmt *st = s->stmts[STORE_STMT_EVENT_INSERT];
    int rc, r;

    rc = sqlite3_bind_int64(st, 1, (int64_t) e->seq);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 2, e->time_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 3, e->type, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 4, (int64_t) e->task_id);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 5, (int64_t) e->job_id);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 6, e->data, -1, SQLITE_STATIC);
    if (rc != SQLITE_OK)
        return store_fail(s, rc, "bind event");
    r = store_step(s, st, "write event");
    return r < 0 ? r : 0;
}

/* Deletes the events numbered at or below newest − keep: one range of the primary key, whatever
 * the size of the log (counting the newest keep rows to find the cut would cost a scan of them
 * on every append). Numbers are given one after the other, so that keeps the newest keep events;
 * where numbers were skipped it keeps fewer. */
static int prune_events(struct store *s, uint64_t newest, unsigned keep)
{
    _cleanup_stmt_reset_ sqlite3_stmt *st = s->stmts[STORE_STMT_EVENT_PRUNE];
    int rc, r;

    if (newest <= keep)
        return 0;
    rc = sqlite3_bind_int64(st, 1, (int64_t) (newest - keep));
    if (rc != SQLITE_OK)
        return store_fail(s, rc, "bind event count");
    r = store_step(s, st, "prune events");
    return r < 0 ? r : 0;
}

int store_append_events(struct store *s, const struct store_event *v, size_t n, unsigned keep)
{
    _cleanup_(store_rollbackp) struct store *txn = NULL;
    uint64_t last;
    int r;

    assert(s);
    assert(v || n == 0);
    assert(!s->in_callback);

    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        const char *problem = event_problem(&v[i]);
        if (problem)
            return store_refuse(s, -EINVAL, "event %s", problem);
        if (i > 0 && v[i].seq <= v[i - 1].seq)
            return store_refuse(s, -EINVAL, "events out of order");
    }
    r = store_begin(s);
    if (r < 0)
        return r;
    txn = s;
    r = store_last_event_seq(s, &last);
    if (r < 0)
        return r;
    if (v[0].seq <= last)
        return store_refuse(s, -EINVAL, "event %" PRIu64 " is not after the last stored, %" PRIu64, v[0].seq,
                            last);
    for (size_t i = 0; i < n; i++) {
        r = insert_event(s, &v[i]);
        if (r < 0)
            return r;
    }
    r = prune_events(s, v[n - 1].seq, keep);
    if (r < 0)
        return r;
    r = store_commit(s);
    if (r < 0)
        return r;
    txn = NULL;
    return 0;
}

int store_append_event(struct store *s, const struct store_event *e, unsigned keep)
{
    assert(e);
    return store_append_events(s, e, 1, keep);
}

/* Columns as listed in EVENT_COLUMNS (store.c). data points into the statement's row, valid until
 * the next step. */
static int read_event_row(struct store *s, sqlite3_stmt *st, struct store_event *ret)
{
    struct store_event e;
    const char *problem;
    const unsigned char *data;
    int64_t v;
    int r;

    memset(&e, 0, sizeof(e));
    for (int col = 0; col <= 4; col++)
        if (col != 2 && sqlite3_column_type(st, col) != SQLITE_INTEGER)
            return store_refuse(s, -EBADMSG, "event column %d is not an integer", col);
    v = sqlite3_column_int64(st, 0);
    if (v <= 0)
        return store_refuse(s, -EBADMSG, "stored event: sequence number out of range");
    e.seq = (uint64_t) v;
    e.time_ms = sqlite3_column_int64(st, 1);
    r = store_column_string(s, st, 2, e.type, sizeof(e.type));
    if (r < 0)
        return r;
    v = sqlite3_column_int64(st, 3);
    if (v < 0)
        return store_refuse(s, -EBADMSG, "stored event: negative task id");
    e.task_id = (uint64_t) v;
    v = sqlite3_column_int64(st, 4);
    if (v < 0)
        return store_refuse(s, -EBADMSG, "stored event: negative job id");
    e.job_id = (uint64_t) v;

    if (sqlite3_column_type(st, 5) != SQLITE_TEXT)
        return store_refuse(s, -EBADMSG, "stored event: data is not text");
    data = sqlite3_column_text(st, 5);
    if (!data)
        return sqlite3_errcode(s->db) == SQLITE_NOMEM ? -ENOMEM
                                                       : store_refuse(s, -EBADMSG, "stored event: no data");
    /* A NUL inside the text would cut the JSON short without anyone noticing. */
    if ((size_t) sqlite3_column_bytes(st, 5) != strlen((const char *) data))
        return store_refuse(s, -EBADMSG, "stored event: data holds a NUL");
    e.data = (const char *) data;

    problem = event_problem(&e);
    if (problem)
        return store_refuse(s, -EBADMSG, "stored event: %s", problem);
    *ret = e;
    return 0;
}

struct event_iter {
    int (*cb)(const struct store_event *e, void *userdata);
    void *userdata;
};

static int event_row(struct store *s, sqlite3_stmt *st, void *ctx)
{
    struct event_iter *it = ctx;
    struct store_event e;
    int r = read_event_row(s, st, &e);
    return r < 0 ? r : it->cb(&e, it->userdata);
}

int store_foreach_event(struct store *s, uint64_t after, unsigned limit,
                        int (*cb)(const struct store_event *e, void *userdata), void *userdata)
{
    _cleanup_stmt_reset_ sqlite3_stmt *st = NULL;
    int rc;

    assert(s);
    assert(cb);
    assert(!s->in_callback);

    /* Nothing is stored above INT64_MAX (store_append_event() refuses it). */
    if (after >= (uint64_t) INT64_MAX || limit == 0)
        return 0;

    st = s->stmts[STORE_STMT_EVENT_AFTER];
    rc = sqlite3_bind_int64(st, 1, (int64_t) after);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 2, (int64_t) limit);
    if (rc != SQLITE_OK)
        return store_fail(s, rc, "bind event range");
    struct event_iter it = { cb, userdata };
    return store_foreach_row(s, st, "list events", event_row, &it);
}
