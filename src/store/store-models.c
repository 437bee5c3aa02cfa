/* SPDX-License-Identifier: MIT */

/* The prediction models of each task type: one task_models row per (task, resource) holding every
 * field of that struct predictor.
 *
 * Bit-exact storage: the scalar doubles are bound as SQLite floats into ANY columns, which keep
 * the 8-byte IEEE-754 value as it is (see migration step 2 in store.c), and the three arrays
 * (peaks, their complexities and residuals) are BLOBs of little-endian IEEE-754 doubles, written
 * byte by byte so that the file means the same on any host. Nothing is rounded through text.
 *
 * The peak complexities came with migration step 3. A row from before it holds NULL there and
 * loads with every peak complexity 0: predictor_validate() accepts that, and the predictor then
 * floors each whole bucket with its peak, exactly as the model did when the row was written. */

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "store/store-internal.h"

#define DOUBLE_BYTES    8
#define PEAKS_BYTES     (PREDICT_BUCKETS * DOUBLE_BYTES)
#define RESIDUALS_BYTES (PREDICT_RESIDUALS_MAX * DOUBLE_BYTES)

_Static_assert(sizeof(double) == DOUBLE_BYTES && sizeof(uint64_t) == DOUBLE_BYTES,
               "doubles are stored as 8-byte IEEE-754 values");

/* Long enough for every predict_model_to_string() name, with room to spare for refusing a longer
 * one as malformed rather than truncating it. */
#define MODEL_NAME_MAX 31
/* The same for learn_resource_to_string(). */
#define RESOURCE_NAME_MAX 15

static void doubles_to_le(unsigned char *buf, const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t bits;

        memcpy(&bits, &v[i], sizeof(bits));
        for (size_t b = 0; b < DOUBLE_BYTES; b++)
            buf[i * DOUBLE_BYTES + b] = (unsigned char) (bits >> (8 * b));
    }
}

static void doubles_from_le(double *v, const unsigned char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t bits = 0;

        for (size_t b = 0; b < DOUBLE_BYTES; b++)
            bits |= (uint64_t) buf[i * DOUBLE_BYTES + b] << (8 * b);
        memcpy(&v[i], &bits, sizeof(bits));
    }
}

int store_task_model_check(struct store *s, const struct task_model *m)
{
    for (int r = 0; r < _LEARN_RESOURCE_MAX; r++) {
        const struct predictor *p = &m->p[r];

        /* Counts above INT64_MAX would not survive the trip through an INTEGER column. */
        if (predictor_validate(p) < 0 || p->n > (uint64_t) INT64_MAX ||
            p->params.min_observations > (uint64_t) INT64_MAX)
            return store_refuse(s, -EINVAL, "invalid %s model",
                                learn_resource_to_string((enum learn_resource) r));
    }
    return 0;
}

/* Binds the columns of MODEL_COLUMNS (store.c). The blobs are copied (SQLITE_TRANSIENT), so the
 * local buffers need not outlive the statement. */
static int
model_bind(sqlite3_stmt *st, const char *task, enum learn_resource res, const struct predictor *p)
{
    unsigned char peaks[PEAKS_BYTES], peak_complexities[PEAKS_BYTES], residuals[RESIDUALS_BYTES],
            residual_complexities[RESIDUALS_BYTES];
    const double reals[] = {
        p->params.lambda,           p->params.alpha,         p->params.quantile,
        p->params.shrinkage_weight, p->params.sd_multiplier, p->params.margin_factor,
    };
    const double state[] = { p->w, p->mx, p->my, p->sxx, p->sxy, p->syy, p->ewma, p->ewvar };
    int rc, col = 1;

    doubles_to_le(peaks, p->peak, PREDICT_BUCKETS);
    doubles_to_le(peak_complexities, p->peak_complexity, PREDICT_BUCKETS);
    doubles_to_le(residuals, p->residuals, PREDICT_RESIDUALS_MAX);
    doubles_to_le(residual_complexities, p->residual_complexity, PREDICT_RESIDUALS_MAX);

    rc = sqlite3_bind_text(st, col++, task, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, col++, learn_resource_to_string(res), -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, col++, predict_model_to_string(p->model), -1, SQLITE_STATIC);
    for (size_t i = 0; rc == SQLITE_OK && i < ELEMENTSOF(reals); i++)
        rc = sqlite3_bind_double(st, col++, reals[i]);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, col++, (int64_t) p->params.min_observations);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, col++, (int64_t) p->n);
    for (size_t i = 0; rc == SQLITE_OK && i < ELEMENTSOF(state); i++)
        rc = sqlite3_bind_double(st, col++, state[i]);
    /* A bit set: every uint64_t value is meaningful, so it is stored as the int64_t with the same
     * bits. */
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, col++, (int64_t) p->peak_seen);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, col++, peaks, sizeof(peaks), SQLITE_TRANSIENT);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, col++, peak_complexities, sizeof(peak_complexities),
                               SQLITE_TRANSIENT);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(st, col++, p->residual_len);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(st, col++, p->residual_next);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, col++, residuals, sizeof(residuals), SQLITE_TRANSIENT);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, col++, residual_complexities, sizeof(residual_complexities),
                               SQLITE_TRANSIENT);
    return rc;
}

int store_task_model_write(struct store *s, const char *task, const struct task_model *m)
{
    {
        _cleanup_stmt_reset_ sqlite3_stmt *st = s->stmts[STORE_STMT_MODEL_DELETE];
        int rc, k;

        rc = sqlite3_bind_text(st, 1, task, -1, SQLITE_STATIC);
        if (rc != SQLITE_OK)
            return store_fail(s, rc, "bind task");
        k = store_step(s, st, "replace model");
        if (k < 0)
            return k;
    }

    for (int r = 0; r < _LEARN_RESOURCE_MAX; r++) {
        _cleanup_stmt_reset_ sqlite3_stmt *st = s->stmts[STORE_STMT_MODEL_PUT];
        int rc, k;

        rc = model_bind(st, task, (enum learn_resource) r, &m->p[r]);
        if (rc != SQLITE_OK)
            return store_fail(s, rc, "bind model");
        k = store_step(s, st, "write model");
        if (k < 0)
            return k;
    }
    return 0;
}

/* A double that must have been stored as a float: NULL (SQLite's NaN), an integer or text can only
 * come from a damaged or foreign file. */
static int column_float(struct store *s, sqlite3_stmt *st, int col, double *ret)
{
    if (sqlite3_column_type(st, col) != SQLITE_FLOAT)
        return store_refuse(s, -EBADMSG, "model column %d is not a float", col);
    *ret = sqlite3_column_double(st, col);
    return 0;
}

static int column_doubles(struct store *s, sqlite3_stmt *st, int col, double *ret, size_t n)
{
    const void *b;

    if (sqlite3_column_type(st, col) != SQLITE_BLOB)
        return store_refuse(s, -EBADMSG, "model column %d is not a blob", col);
    b = sqlite3_column_blob(st, col);
    if ((size_t) sqlite3_column_bytes(st, col) != n * DOUBLE_BYTES)
        return store_refuse(s, -EBADMSG, "model column %d holds %d bytes, expected %zu", col,
                            sqlite3_column_bytes(st, col), n * DOUBLE_BYTES);
    if (!b)
        return sqlite3_errcode(s->db) == SQLITE_NOMEM
                       ? -ENOMEM
                       : store_refuse(s, -EBADMSG, "model column %d is empty", col);
    doubles_from_le(ret, b, n);
    return 0;
}

static int column_count(struct store *s, sqlite3_stmt *st, int col, int64_t max, int64_t *ret)
{
    int64_t v;

    if (sqlite3_column_type(st, col) != SQLITE_INTEGER)
        return store_refuse(s, -EBADMSG, "model column %d is not an integer", col);
    v = sqlite3_column_int64(st, col);
    if (v < 0 || v > max)
        return store_refuse(s, -EBADMSG, "model column %d out of range", col);
    *ret = v;
    return 0;
}

/* Reads one row of MODEL_COLUMNS into task (TASK_NAME_MAX + 1 bytes), *ret_res and *ret, the
 * predictor checked with predictor_validate(). */
static int read_model_row(struct store *s,
                          sqlite3_stmt *st,
                          char *task,
                          enum learn_resource *ret_res,
                          struct predictor *ret)
{
    char model[MODEL_NAME_MAX + 1], resource[RESOURCE_NAME_MAX + 1];
    struct predictor p;
    enum learn_resource res;
    enum predict_model pm;
    int64_t v;
    int r, col = 0;

    memset(&p, 0, sizeof(p));

    r = store_column_string(s, st, col++, task, TASK_NAME_MAX + 1);
    if (r < 0)
        return r;
    if (!task_name_is_valid(task))
        return store_refuse(s, -EBADMSG, "invalid task name in model row");

    r = store_column_string(s, st, col++, resource, sizeof(resource));
    if (r < 0)
        return r;
    res = learn_resource_from_string(resource);
    if (res < 0)
        return store_refuse(s, -EBADMSG, "unknown resource '%s' in model row", resource);

    r = store_column_string(s, st, col++, model, sizeof(model));
    if (r < 0)
        return r;
    pm = predict_model_from_string(model);
    if (pm < 0)
        return store_refuse(s, -EBADMSG, "unknown model '%s'", model);
    p.model = pm;

    {
        double *const params[] = {
            &p.params.lambda,           &p.params.alpha,         &p.params.quantile,
            &p.params.shrinkage_weight, &p.params.sd_multiplier, &p.params.margin_factor,
        };

        for (size_t i = 0; i < ELEMENTSOF(params); i++) {
            r = column_float(s, st, col++, params[i]);
            if (r < 0)
                return r;
        }
    }
    r = column_count(s, st, col++, INT64_MAX, &v);
    if (r < 0)
        return r;
    p.params.min_observations = (uint64_t) v;
    r = column_count(s, st, col++, INT64_MAX, &v);
    if (r < 0)
        return r;
    p.n = (uint64_t) v;

    {
        double *const state[] = { &p.w, &p.mx, &p.my, &p.sxx, &p.sxy, &p.syy, &p.ewma, &p.ewvar };

        for (size_t i = 0; i < ELEMENTSOF(state); i++) {
            r = column_float(s, st, col++, state[i]);
            if (r < 0)
                return r;
        }
    }

    if (sqlite3_column_type(st, col) != SQLITE_INTEGER)
        return store_refuse(s, -EBADMSG, "model column %d is not an integer", col);
    p.peak_seen = (uint64_t) sqlite3_column_int64(st, col++);
    r = column_doubles(s, st, col++, p.peak, PREDICT_BUCKETS);
    if (r < 0)
        return r;
    /* NULL: a row written before migration step 3. p was zeroed above, so every peak complexity
     * stays 0 and each peak floors its whole bucket, as when the row was written. Any other value
     * must be a blob of the right size. */
    if (sqlite3_column_type(st, col) != SQLITE_NULL) {
        r = column_doubles(s, st, col, p.peak_complexity, PREDICT_BUCKETS);
        if (r < 0)
            return r;
    }
    col++;
    r = column_count(s, st, col++, UINT16_MAX, &v);
    if (r < 0)
        return r;
    p.residual_len = (uint16_t) v;
    r = column_count(s, st, col++, UINT16_MAX, &v);
    if (r < 0)
        return r;
    p.residual_next = (uint16_t) v;
    r = column_doubles(s, st, col++, p.residuals, PREDICT_RESIDUALS_MAX);
    if (r < 0)
        return r;
    /* NULL: a row written before migration step 4: the complexities behind its residuals are
     * unknown, and its margins come from the pooled quantile. */
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        for (size_t i = 0; i < PREDICT_RESIDUALS_MAX; i++)
            p.residual_complexity[i] = PREDICT_COMPLEXITY_UNKNOWN;
    else {
        r = column_doubles(s, st, col, p.residual_complexity, PREDICT_RESIDUALS_MAX);
        if (r < 0)
            return r;
    }
    col++;

    if (predictor_validate(&p) < 0)
        return store_refuse(s, -EBADMSG, "stored %s model of '%s' is inconsistent", resource, task);

    *ret_res = res;
    *ret = p;
    return 0;
}

/* Gives every resource without a row (bit clear in seen) an empty predictor with the model and
 * parameters of the first one that has a row. seen must not be 0. */
static void model_complete(struct task_model *m, unsigned seen)
{
    int first = -1;

    for (int r = 0; r < _LEARN_RESOURCE_MAX && first < 0; r++)
        if (seen & (1u << r))
            first = r;
    assert(first >= 0);

    for (int r = 0; r < _LEARN_RESOURCE_MAX; r++)
        if (!(seen & (1u << r))) {
            /* The model and parameters passed predictor_validate(), so this cannot fail. */
            int k = predictor_init(&m->p[r], m->p[first].model, &m->p[first].params);

            assert(k == 0);
            (void) k;
        }
}

int store_get_task_model(struct store *s, const char *task, struct task_model *ret)
{
    _cleanup_stmt_reset_ sqlite3_stmt *st = NULL;
    struct task_model m;
    unsigned seen = 0;
    int rc, r;

    assert(s);
    assert(ret);
    assert(!s->in_callback);

    if (!task_name_is_valid(task))
        return store_refuse(s, -EINVAL, "invalid task name");

    memset(&m, 0, sizeof(m));
    st = s->stmts[STORE_STMT_MODEL_GET];
    rc = sqlite3_bind_text(st, 1, task, -1, SQLITE_STATIC);
    if (rc != SQLITE_OK)
        return store_fail(s, rc, "bind task");

    for (;;) {
        char name[TASK_NAME_MAX + 1];
        struct predictor p;
        enum learn_resource res;

        r = store_step(s, st, "read model");
        if (r < 0)
            return r;
        if (r == 0)
            break;
        r = read_model_row(s, st, name, &res, &p);
        if (r < 0)
            return r;
        /* The primary key makes this impossible in an intact file. */
        if (seen & (1u << res))
            return store_refuse(s, -EBADMSG, "duplicate model row");
        seen |= 1u << res;
        m.p[res] = p;
    }
    if (seen == 0)
        return -ENOENT;

    model_complete(&m, seen);
    *ret = m;
    return 0;
}

int store_foreach_task_model(struct store *s,
                             int (*cb)(const char *task,
                                       const struct task_model *m,
                                       void *userdata),
                             void *userdata)
{
    _cleanup_stmt_reset_ sqlite3_stmt *st = NULL;
    char cur[TASK_NAME_MAX + 1] = "";
    struct task_model m;
    unsigned seen = 0;
    int n = 0, r;

    assert(s);
    assert(cb);
    assert(!s->in_callback);

    memset(&m, 0, sizeof(m));
    st = s->stmts[STORE_STMT_MODEL_ALL];
    for (;;) {
        char name[TASK_NAME_MAX + 1];
        struct predictor p;
        enum learn_resource res = 0;
        bool row;

        r = store_step(s, st, "list models");
        if (r < 0)
            return r;
        row = r > 0;
        if (row) {
            r = read_model_row(s, st, name, &res, &p);
            if (r < 0)
                return r;
        }

        /* The rows come grouped by task: a new name (or the end) completes the previous task. */
        if (seen != 0 && (!row || strcmp(name, cur) != 0)) {
            model_complete(&m, seen);
            s->in_callback = true;
            r = cb(cur, &m, userdata);
            s->in_callback = false;
            if (r < 0)
                return r;
            if (n < INT_MAX)
                n++;
            seen = 0;
            memset(&m, 0, sizeof(m));
        }
        if (!row)
            break;

        if (seen == 0)
            memcpy(cur, name, sizeof(cur));
        if (seen & (1u << res))
            return store_refuse(s, -EBADMSG, "duplicate model row");
        seen |= 1u << res;
        m.p[res] = p;
    }
    return n;
}

/* 0 when task has statistics, -ENOENT when not, or another -errno. */
static int task_known(struct store *s, const char *task)
{
    _cleanup_stmt_reset_ sqlite3_stmt *st = s->stmts[STORE_STMT_STATS_GET];
    int rc, r;

    rc = sqlite3_bind_text(st, 1, task, -1, SQLITE_STATIC);
    if (rc != SQLITE_OK)
        return store_fail(s, rc, "bind task");
    r = store_step(s, st, "look up task");
    if (r < 0)
        return r;
    return r > 0 ? 0 : -ENOENT;
}

int store_put_task_model(struct store *s, const char *task, const struct task_model *m)
{
    _cleanup_(store_rollbackp) struct store *txn = NULL;
    int r;

    assert(s);
    assert(m);
    assert(!s->in_callback);

    if (!task_name_is_valid(task))
        return store_refuse(s, -EINVAL, "invalid task name");
    r = store_task_model_check(s, m);
    if (r < 0)
        return r;

    r = store_begin(s);
    if (r < 0)
        return r;
    txn = s;

    r = task_known(s, task);
    if (r == -ENOENT)
        return store_refuse(s, -ENOENT, "no task type '%s' to store a model for", task);
    if (r < 0)
        return r;

    r = store_task_model_write(s, task, m);
    if (r < 0)
        return r;

    r = store_commit(s);
    if (r < 0)
        return r;
    txn = NULL;
    return 0;
}
