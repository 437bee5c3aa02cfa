/* SPDX-License-Identifier: MIT */
#pragma once

/* Shared between the files of src/store only. This is the one header that includes <sqlite3.h>. */

#include <sqlite3.h>
#include <stdbool.h>

#include "basic/macro.h"
#include "store/store.h"

/* The statements prepared once at open with SQLITE_PREPARE_PERSISTENT and finalized in
 * store_free(). Their SQL is in store.c. */
enum store_stmt {
    STORE_STMT_BEGIN,
    STORE_STMT_COMMIT,
    STORE_STMT_ROLLBACK,
    STORE_STMT_META_GET,
    STORE_STMT_META_SET,
    STORE_STMT_STATS_GET,
    STORE_STMT_STATS_PUT,
    STORE_STMT_STATS_COUNT,
    STORE_STMT_STATS_ALL,
    STORE_STMT_OBS_INSERT,
    STORE_STMT_OBS_PRUNE,
    STORE_STMT_OBS_COUNT_ALL,
    STORE_STMT_OBS_COUNT_TASK,
    STORE_STMT_OBS_LIST_ALL,
    STORE_STMT_OBS_LIST_TASK,
    STORE_STMT_MODEL_DELETE,
    STORE_STMT_MODEL_PUT,
    STORE_STMT_MODEL_GET,
    STORE_STMT_MODEL_ALL,
    STORE_STMT_LEASE_PUT,
    STORE_STMT_LEASE_DELETE,
    STORE_STMT_LEASE_DELETE_EXPIRED,
    STORE_STMT_LEASE_ALL,
    STORE_STMT_JOB_PUT,
    STORE_STMT_JOB_GET,
    STORE_STMT_JOB_ALL,
    STORE_STMT_JOB_PRUNE,
    STORE_STMT_EVENT_INSERT,
    STORE_STMT_EVENT_PRUNE,
    STORE_STMT_EVENT_AFTER,
    STORE_STMT_EVENT_LAST_SEQ,
    _STORE_STMT_MAX,
};

struct store {
    sqlite3 *db;
    sqlite3_stmt *stmts[_STORE_STMT_MAX];
    /* Set while a foreach callback runs, to catch re-entry into the same connection. */
    bool in_callback;
    /* Copied at the moment of failure: a later ROLLBACK would overwrite sqlite3_errmsg(). */
    char last_error[256];
};

/* Maps an (extended) SQLite result code to a -errno, records the connection's message in
 * s->last_error and logs it at debug level. what names the failed operation. */
int store_fail(struct store *s, int rc, const char *what);

/* Records a message of the store's own in s->last_error and returns r (a -errno). */
int store_refuse(struct store *s, int r, const char *fmt, ...) _printf_(3, 4);

/* Steps a statement: 1 for a row, 0 when done, or a -errno from store_fail(). */
int store_step(struct store *s, sqlite3_stmt *st, const char *what);

/* Steps st to its end and calls row(s, st, ctx) on each row, with s->in_callback set so that a
 * caller's callback inside row cannot re-enter the store. A negative return from row stops and is
 * returned. Returns the number of rows (capped at INT_MAX) or a -errno of store_step(). */
int store_foreach_row(struct store *s, sqlite3_stmt *st, const char *what,
                      int (*row)(struct store *s, sqlite3_stmt *st, void *ctx), void *ctx);

/* BEGIN IMMEDIATE: takes the write lock up front, so that a transaction never has to upgrade from
 * a read lock, which in WAL mode can fail at once with SQLITE_BUSY_SNAPSHOT and no busy wait. */
int store_begin(struct store *s);
int store_commit(struct store *s);
/* Rolls back the open transaction, if there is one; errors are ignored (SQLite has then already
 * rolled back on its own). */
void store_rollback(struct store *s);

/* For "_cleanup_(store_rollbackp) struct store *txn = s;": rolls back unless txn was set to NULL
 * after a successful commit. */
static inline void store_rollbackp(struct store **s)
{
    if (*s)
        store_rollback(*s);
}

/* Returns a persistent statement to its initial state when the variable goes out of scope, so a
 * statement never keeps a read transaction open or holds bound pointers past the call. */
static inline void store_stmt_resetp(sqlite3_stmt **st)
{
    if (*st) {
        (void) sqlite3_reset(*st);
        (void) sqlite3_clear_bindings(*st);
    }
}

#define _cleanup_stmt_reset_ _cleanup_(store_stmt_resetp)

/* True when s is a NUL-terminated task name within a buffer of size n that task_name_is_valid()
 * accepts. */
bool store_task_name_ok(const char *s, size_t n);

/* Copies a text column into a fixed buffer of len bytes. Returns 0, -ENOMEM, or -EBADMSG for a
 * NULL, a value that does not fit with its NUL, or one holding a NUL: those can only come from a
 * damaged or foreign file. */
int store_column_string(struct store *s, sqlite3_stmt *st, int col, char *buf, size_t len);

/* Replaces the model rows of task by the four predictors of m, inside the caller's transaction.
 * task must be valid and m checked with store_task_model_check(). (store-models.c) */
int store_task_model_write(struct store *s, const char *task, const struct task_model *m);

/* 0 when every predictor of m passes predictor_validate() and can be stored, else -EINVAL with
 * s->last_error set. (store-models.c) */
int store_task_model_check(struct store *s, const struct task_model *m);
