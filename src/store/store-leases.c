/* SPDX-License-Identifier: MIT */

/* Leases: the reservations of admitted tasks, kept so that they outlive a restart. Each call is a
 * single statement and therefore its own transaction. */

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "store/store-internal.h"

static bool pct_ok(double v)
{
    return isfinite(v) && v >= 0;
}

/* The rules of store_put_lease(), shared by the reader; returns NULL or what is wrong. */
static const char *lease_problem(const struct store_lease *l)
{
    size_t n = strnlen(l->task, sizeof(l->task));

    if (n >= sizeof(l->task) || (n > 0 && !task_name_is_valid(l->task)))
        return "invalid task name";
    if (!pct_ok(l->cpu_pct) || !pct_ok(l->mem_pct) || !pct_ok(l->gpu_pct) || !pct_ok(l->vram_pct))
        return "a percentage is not a finite non-negative number";
    if (l->mem_bytes > (uint64_t) INT64_MAX || l->vram_bytes > (uint64_t) INT64_MAX ||
        l->disk_bytes > (uint64_t) INT64_MAX)
        return "a byte count is above INT64_MAX";
    if (l->gpu_index < -1)
        return "invalid GPU index";
    if (l->created_ms < 0 || l->expires_ms < l->created_ms)
        return "invalid lease times";
    return NULL;
}

int store_put_lease(struct store *s, const struct store_lease *l)
{
    _cleanup_stmt_reset_ sqlite3_stmt *st = NULL;
    const char *problem;
    int rc, r;

    assert(s);
    assert(l);
    assert(!s->in_callback);

    problem = lease_problem(l);
    if (problem)
        return store_refuse(s, -EINVAL, "lease %s", problem);

    st = s->stmts[STORE_STMT_LEASE_PUT];
    /* The whole uint64_t range of ids maps onto INTEGER as the int64_t with the same bits. */
    rc = sqlite3_bind_int64(st, 1, (int64_t) l->id);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 2, l->task, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_double(st, 3, l->cpu_pct);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_double(st, 4, l->mem_pct);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_double(st, 5, l->gpu_pct);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_double(st, 6, l->vram_pct);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 7, (int64_t) l->mem_bytes);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 8, (int64_t) l->vram_bytes);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 9, (int64_t) l->disk_bytes);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(st, 10, l->gpu_index);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 11, l->created_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 12, l->expires_ms);
    if (rc != SQLITE_OK)
        return store_fail(s, rc, "bind lease");
    r = store_step(s, st, "write lease");
    return r < 0 ? r : 0;
}

int store_delete_lease(struct store *s, uint64_t id)
{
    _cleanup_stmt_reset_ sqlite3_stmt *st = NULL;
    int rc, r;

    assert(s);
    assert(!s->in_callback);

    st = s->stmts[STORE_STMT_LEASE_DELETE];
    rc = sqlite3_bind_int64(st, 1, (int64_t) id);
    if (rc != SQLITE_OK)
        return store_fail(s, rc, "bind lease id");
    r = store_step(s, st, "delete lease");
    if (r < 0)
        return r;
    return sqlite3_changes64(s->db) > 0 ? 0 : -ENOENT;
}

int store_delete_expired_leases(struct store *s, int64_t now_ms)
{
    _cleanup_stmt_reset_ sqlite3_stmt *st = NULL;
    sqlite3_int64 n;
    int rc, r;

    assert(s);
    assert(!s->in_callback);

    st = s->stmts[STORE_STMT_LEASE_DELETE_EXPIRED];
    rc = sqlite3_bind_int64(st, 1, now_ms);
    if (rc != SQLITE_OK)
        return store_fail(s, rc, "bind time");
    r = store_step(s, st, "delete expired leases");
    if (r < 0)
        return r;
    n = sqlite3_changes64(s->db);
    return n > INT_MAX ? INT_MAX : (int) n;
}

/* The STRICT table admits only numbers in its REAL columns; a foreign file with a table of the same
 * name might hold anything. */
static bool column_is_number(sqlite3_stmt *st, int col)
{
    int t = sqlite3_column_type(st, col);

    return t == SQLITE_FLOAT || t == SQLITE_INTEGER;
}

/* Columns as listed in LEASE_COLUMNS (store.c). */
static int read_lease_row(struct store *s, sqlite3_stmt *st, struct store_lease *ret)
{
    struct store_lease l;
    const char *problem;
    int64_t gpu;
    int r;

    memset(&l, 0, sizeof(l));
    l.id = (uint64_t) sqlite3_column_int64(st, 0);
    r = store_column_string(s, st, 1, l.task, sizeof(l.task));
    if (r < 0)
        return r;
    for (int col = 2; col <= 5; col++)
        if (!column_is_number(st, col))
            return store_refuse(s, -EBADMSG, "lease column %d is not a number", col);
    l.cpu_pct = sqlite3_column_double(st, 2);
    l.mem_pct = sqlite3_column_double(st, 3);
    l.gpu_pct = sqlite3_column_double(st, 4);
    l.vram_pct = sqlite3_column_double(st, 5);

    {
        uint64_t *const bytes[] = { &l.mem_bytes, &l.vram_bytes, &l.disk_bytes };

        for (size_t i = 0; i < ELEMENTSOF(bytes); i++) {
            int64_t v = sqlite3_column_int64(st, 6 + (int) i);

            if (v < 0)
                return store_refuse(s, -EBADMSG, "negative byte count in lease");
            *bytes[i] = (uint64_t) v;
        }
    }
    gpu = sqlite3_column_int64(st, 9);
    if (gpu < -1 || gpu > INT_MAX)
        return store_refuse(s, -EBADMSG, "invalid GPU index in lease");
    l.gpu_index = (int) gpu;
    l.created_ms = sqlite3_column_int64(st, 10);
    l.expires_ms = sqlite3_column_int64(st, 11);

    problem = lease_problem(&l);
    if (problem)
        return store_refuse(s, -EBADMSG, "stored lease: %s", problem);
    *ret = l;
    return 0;
}

struct lease_iter {
    int (*cb)(const struct store_lease *l, void *userdata);
    void *userdata;
};

static int lease_row(struct store *s, sqlite3_stmt *st, void *ctx)
{
    struct lease_iter *it = ctx;
    struct store_lease l;
    int r = read_lease_row(s, st, &l);
    return r < 0 ? r : it->cb(&l, it->userdata);
}

int store_foreach_lease(struct store *s,
                        int (*cb)(const struct store_lease *l, void *userdata),
                        void *userdata)
{
    _cleanup_stmt_reset_ sqlite3_stmt *st = NULL;

    assert(s);
    assert(cb);
    assert(!s->in_callback);

    st = s->stmts[STORE_STMT_LEASE_ALL];
    struct lease_iter it = { cb, userdata };
    return store_foreach_row(s, st, "list leases", lease_row, &it);
}
