/* SPDX-License-Identifier: MIT */

/* Tests of schema steps 2 to 5 of the store: migration from version-1, version-2 and version-4
 * files, declared needs and the statistics derived from them, the prediction models (bit-exact
 * round trip, peak complexities included, damaged rows, the shared transaction with the
 * observation, durability across kill -9), leases, and the mean impacts of observations (damaged
 * rows).
 *
 * A second, plain SQLite connection plays the part of an older headroom or of damage: it writes
 * version-1, version-2 and version-4 databases by hand and alters rows behind the store's back. */

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "basic/macro.h"
#include "model/admit.h"
#include "model/predict.h"
#include "store/store.h"

/* cmocka.h needs <setjmp.h>, <stdarg.h> and <stddef.h> first. */
#include <cmocka.h>

#define KEEP     1000u
#define MAXTYPES 100u

struct fixture {
    char dir[PATH_MAX];
    char db[PATH_MAX + 16];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    const char *tmp = getenv("TMPDIR");

    if (!f)
        return -1;
    (void) snprintf(f->dir, sizeof(f->dir), "%s/test-store-models-XXXXXX",
                    tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    (void) snprintf(f->db, sizeof(f->db), "%s/headroom.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    DIR *d = opendir(f->dir);

    if (d) {
        struct dirent *de;

        while ((de = readdir(d)))
            if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                (void) unlinkat(dirfd(d), de->d_name, 0);
        (void) closedir(d);
    }
    (void) rmdir(f->dir);
    free(f);
    return 0;
}

#define assert_double_near(a, b, eps)                                \
    do {                                                             \
        double a_ = (a), b_ = (b);                                   \
        if (!(fabs(a_ - b_) <= (eps))) {                             \
            print_error("%s = %.17g, expected %.17g\n", #a, a_, b_); \
            fail();                                                  \
        }                                                            \
    } while (0)
#define assert_double_exact(a, b) assert_double_near((a), (b), 0.0)
#define assert_double_close(a, b) assert_double_near((a), (b), 1e-9)

/* Same bits, so −0.0 differs from +0.0 and NaNs compare by payload. */
#define assert_same_bits(a, b)                                           \
    do {                                                                 \
        double a_ = (a), b_ = (b);                                       \
        if (memcmp(&a_, &b_, sizeof(a_)) != 0) {                         \
            print_error("%s = %a, expected %a (bitwise)\n", #a, a_, b_); \
            fail();                                                      \
        }                                                                \
    } while (0)

/* ---- a plain SQLite connection ----------------------------------------------------------------
 */

static sqlite3 *raw_open(const char *path)
{
    sqlite3 *db = NULL;

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                     SQLITE_OK);
    (void) sqlite3_busy_timeout(db, 5000);
    return db;
}

static void raw_exec_db(sqlite3 *db, const char *sql)
{
    char *err = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        print_error("%s: %s\n", sql, err ? err : "?");
        sqlite3_free(err);
        fail();
    }
}

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = raw_open(path);

    raw_exec_db(db, sql);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static int64_t raw_int(const char *path, const char *sql)
{
    sqlite3 *db = raw_open(path);
    sqlite3_stmt *st = NULL;
    int64_t v;

    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    v = sqlite3_column_int64(st, 0);
    assert_int_equal(sqlite3_finalize(st), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    return v;
}

/* Runs sql with ?1 bound to a blob. */
static void raw_exec_blob(const char *path, const char *sql, const void *blob, int n)
{
    sqlite3 *db = raw_open(path);
    sqlite3_stmt *st = NULL;

    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_bind_blob(st, 1, blob, n, SQLITE_TRANSIENT), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    assert_int_equal(sqlite3_finalize(st), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* ---- helpers ----------------------------------------------------------------------------------
 */

static struct observation
obs(const char *task, int64_t started_ms, double cpu, double mem, double gpu, double vram)
{
    struct observation o = {
        .complexity = 1,
        .started_ms = started_ms,
        .window_ms = 5000,
        .cpu_delta_pct = cpu,
        .mem_delta_pct = mem,
        .gpu_delta_pct = gpu,
        .vram_delta_pct = vram,
        .declared_cpu_pct = NAN,
        .declared_mem_pct = NAN,
        .declared_gpu_pct = NAN,
        .declared_vram_pct = NAN,
        .duration_ms = STORE_DURATION_UNKNOWN,
        .cpu_mean_pct = NAN,
        .mem_mean_pct = NAN,
        .gpu_mean_pct = NAN,
        .vram_mean_pct = NAN,
    };

    (void) snprintf(o.task, sizeof(o.task), "%s", task);
    return o;
}

static void declare(struct observation *o, double cpu, double mem, double gpu, double vram)
{
    o->declared_cpu_pct = cpu;
    o->declared_mem_pct = mem;
    o->declared_gpu_pct = gpu;
    o->declared_vram_pct = vram;
}

static void assert_predictor_identical(const struct predictor *a, const struct predictor *b)
{
    assert_int_equal(a->model, b->model);
    assert_int_equal(a->residual_len, b->residual_len);
    assert_int_equal(a->residual_next, b->residual_next);
    assert_same_bits(a->params.lambda, b->params.lambda);
    assert_same_bits(a->params.alpha, b->params.alpha);
    assert_same_bits(a->params.quantile, b->params.quantile);
    assert_same_bits(a->params.shrinkage_weight, b->params.shrinkage_weight);
    assert_same_bits(a->params.sd_multiplier, b->params.sd_multiplier);
    assert_same_bits(a->params.margin_factor, b->params.margin_factor);
    assert_int_equal(a->params.min_observations, b->params.min_observations);
    assert_int_equal(a->n, b->n);
    assert_same_bits(a->w, b->w);
    assert_same_bits(a->mx, b->mx);
    assert_same_bits(a->my, b->my);
    assert_same_bits(a->sxx, b->sxx);
    assert_same_bits(a->sxy, b->sxy);
    assert_same_bits(a->syy, b->syy);
    assert_same_bits(a->ewma, b->ewma);
    assert_same_bits(a->ewvar, b->ewvar);
    assert_int_equal(a->peak_seen, b->peak_seen);
    assert_memory_equal(a->peak, b->peak, sizeof(a->peak));
    assert_memory_equal(a->peak_complexity, b->peak_complexity, sizeof(a->peak_complexity));
    assert_memory_equal(a->residual_complexity, b->residual_complexity, sizeof(a->residual_complexity));
    assert_memory_equal(a->residuals, b->residuals, sizeof(a->residuals));
}

static void assert_model_identical(const struct task_model *a, const struct task_model *b)
{
    for (int r = 0; r < _LEARN_RESOURCE_MAX; r++)
        assert_predictor_identical(&a->p[r], &b->p[r]);
}

/* The i-th of a deterministic series of observations and what the model learns from it. Values
 * vary with complexity and carry some noise, GPU is missing every third time, and the weights
 * differ, so every field of the predictors gets exercised. */
static struct observation
series_obs(const char *task, int i, double values[_LEARN_RESOURCE_MAX], double *ret_weight)
{
    double c = 1 + (i * 7) % 23;
    double noise = ((i * 37) % 11) / 10.0 - 0.5;
    struct observation o;

    values[LEARN_CPU] = 2.5 * c + noise;
    values[LEARN_MEMORY] = 10 + 0.3 * c - noise / 3;
    values[LEARN_GPU] = i % 3 == 0 ? NAN : 40 + noise * 7;
    values[LEARN_VRAM] = 5 + c / 7;
    values[LEARN_DURATION] = i % 2 ? NAN : 60 * c;
    *ret_weight = observation_weight((unsigned) (i % 4));

    o = obs(task, 1000 + i, values[LEARN_CPU], values[LEARN_MEMORY], values[LEARN_GPU],
            values[LEARN_VRAM]);
    o.complexity = c;
    o.weight = *ret_weight;
    o.overlapped = i % 4 != 0;
    o.duration_ms = isnan(values[LEARN_DURATION]) ? STORE_DURATION_UNKNOWN : (int64_t) (values[LEARN_DURATION] * 1000);
    return o;
}

/* Adds observation i of the series to the store and to *m, storing *m with it. */
static int add_series(struct store *s,
                      const char *task,
                      int i,
                      struct task_model *m,
                      unsigned keep,
                      unsigned max_types)
{
    double values[_LEARN_RESOURCE_MAX], weight;
    struct observation o = series_obs(task, i, values, &weight);
    struct task_model next = *m;
    int r;

    assert_int_equal(task_model_observe(&next, o.complexity, values, weight), 0);
    r = store_add_observation(s, &o, keep, max_types, &next);
    if (r >= 0)
        *m = next;
    return r;
}

/* ---- migration --------------------------------------------------------------------------------
 */

/* The schema of step 1 exactly as released, so that this test keeps describing real version-1
 * files even if store.c is later reorganised. */
static const char v1_schema[] =
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
        "INSERT INTO meta (key, value) VALUES ('created_ms', '1700000000000');";

static int record_one_obs(const struct observation *o, void *userdata)
{
    *(struct observation *) userdata = *o;
    return 0;
}

/* Keeps the first two observations in userdata, an array of two, in the order listed. */
static int record_two_obs(const struct observation *o, void *userdata)
{
    struct observation *v = userdata;
    unsigned i = v[0].task[0] ? 1 : 0;

    if (i == 1 && v[1].task[0])
        return -ENOBUFS;
    v[i] = *o;
    return 0;
}

static void test_migrate_from_v1(void **state)
{
    struct fixture *f = *state;
    _cleanup_store_free_ struct store *s = NULL;
    sqlite3 *db;
    struct observation out;
    struct task_stats st;
    struct task_model m;
    unsigned version = 0;
    char buf[32];

    db = raw_open(f->db);
    raw_exec_db(db, "PRAGMA journal_mode=WAL");
    raw_exec_db(db, "BEGIN");
    raw_exec_db(db, v1_schema);
    raw_exec_db(db, "PRAGMA user_version = 1");
    raw_exec_db(db,
                "INSERT INTO observations (task, complexity, started_ms, window_ms, cpu_delta_pct, "
                "mem_delta_pct, gpu_delta_pct, vram_delta_pct, disk_written_bytes, overlapped, "
                "source) VALUES ('legacy', 3.5, 1700000000000, 5000, 12.5, 7.25, NULL, NULL, "
                "4096, 1, 'notify');"
                "INSERT INTO task_stats VALUES ('legacy', 9, 12.5, 7.25, NULL, NULL, "
                "1700000005000);");
    raw_exec_db(db, "COMMIT");
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    assert_int_equal(raw_int(f->db, "PRAGMA user_version"), 1);

    assert_int_equal(store_open(f->db, &s), 0);
    assert_int_equal(store_get_schema_version(s, &version), 0);
    assert_int_equal(version, 7);
    assert_int_equal(STORE_SCHEMA_VERSION, 7);
    /* Step 1 was not run again. */
    assert_int_equal(store_meta_get(s, "created_ms", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "1700000000000");

    /* The old row survived, with the new fields at their "unknown" values. */
    memset(&out, 0, sizeof(out));
    assert_int_equal(store_foreach_observation(s, "legacy", 10, record_one_obs, &out), 1);
    assert_double_exact(out.complexity, 3.5);
    assert_int_equal(out.started_ms, 1700000000000);
    assert_double_exact(out.cpu_delta_pct, 12.5);
    assert_double_exact(out.mem_delta_pct, 7.25);
    assert_true(isnan(out.gpu_delta_pct));
    assert_int_equal(out.disk_written_bytes, 4096);
    assert_true(out.overlapped);
    assert_true(isnan(out.declared_cpu_pct));
    assert_true(isnan(out.declared_mem_pct));
    assert_true(isnan(out.declared_gpu_pct));
    assert_true(isnan(out.declared_vram_pct));
    assert_int_equal(out.duration_ms, STORE_DURATION_UNKNOWN);
    assert_double_exact(out.weight, 1);
    assert_true(isnan(out.cpu_mean_pct));
    assert_true(isnan(out.mem_mean_pct));
    assert_true(isnan(out.gpu_mean_pct));
    assert_true(isnan(out.vram_mean_pct));

    assert_int_equal(store_get_task_stats(s, "legacy", &st), 0);
    assert_int_equal(st.count, 9);
    assert_double_exact(st.avg_cpu_delta, 12.5);
    assert_int_equal(st.updated_ms, 1700000005000);
    assert_int_equal(st.overlapped_count, 0);
    assert_int_equal(st.declared_count, 0);
    assert_true(isnan(st.avg_cpu_gap));
    assert_true(isnan(st.avg_mem_gap));
    assert_true(isnan(st.avg_gpu_gap));
    assert_true(isnan(st.avg_vram_gap));
    assert_int_equal(store_get_task_model(s, "legacy", &m), -ENOENT);

    /* Learning goes on from the migrated state. */
    {
        struct observation o = obs("legacy", 1700000010000, 22.5, 7.25, NAN, NAN);

        declare(&o, 30, NAN, NAN, NAN);
        assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, NULL), 0);
    }
    assert_int_equal(store_get_task_stats(s, "legacy", &st), 0);
    assert_int_equal(st.count, 10);
    assert_double_close(st.avg_cpu_delta, 0.2 * 22.5 + 0.8 * 12.5);
    assert_int_equal(st.declared_count, 1);
    assert_double_exact(st.avg_cpu_gap, 7.5);
    s = store_free(s);

    assert_int_equal(raw_int(f->db, "PRAGMA user_version"), 7);
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM observations"), 2);
}

/* The schema of step 2 exactly as released, applied on top of v1_schema. */
static const char v2_schema[] =
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
        "CREATE INDEX leases_expires_ms ON leases (expires_ms);";

/* n doubles as little-endian IEEE-754, the documented format of the model blobs, encoded here
 * independently of the store. */
static void encode_le(unsigned char *buf, const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t bits;

        memcpy(&bits, &v[i], sizeof(bits));
        for (size_t b = 0; b < 8; b++)
            buf[i * 8 + b] = (unsigned char) (bits >> (8 * b));
    }
}

/* Writes p as the version-2 row of (task, r), column by column, as a version-2 headroom did. */
static void raw_insert_v2_model(sqlite3 *db, const char *task, enum learn_resource r,
                                const struct predictor *p)
{
    unsigned char peaks[PREDICT_BUCKETS * 8], residuals[PREDICT_RESIDUALS_MAX * 8];
    const double reals[] = {
        p->params.lambda,           p->params.alpha,         p->params.quantile,
        p->params.shrinkage_weight, p->params.sd_multiplier, p->params.margin_factor,
    };
    const double state[] = { p->w, p->mx, p->my, p->sxx, p->sxy, p->syy, p->ewma, p->ewvar };
    sqlite3_stmt *st = NULL;
    int col = 1;

    encode_le(peaks, p->peak, PREDICT_BUCKETS);
    encode_le(residuals, p->residuals, PREDICT_RESIDUALS_MAX);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "INSERT INTO task_models (task, resource, model, lambda, "
                                        "alpha, quantile, shrinkage_weight, sd_multiplier, "
                                        "margin_factor, min_observations, n, w, mx, my, sxx, sxy, "
                                        "syy, ewma, ewvar, peak_seen, peaks, residual_len, "
                                        "residual_next, residuals) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
                                        "?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
                                        "?19, ?20, ?21, ?22, ?23, ?24)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_bind_text(st, col++, task, -1, SQLITE_STATIC), SQLITE_OK);
    assert_int_equal(sqlite3_bind_text(st, col++, learn_resource_to_string(r), -1, SQLITE_STATIC),
                     SQLITE_OK);
    assert_int_equal(sqlite3_bind_text(st, col++, predict_model_to_string(p->model), -1,
                                       SQLITE_STATIC),
                     SQLITE_OK);
    for (size_t i = 0; i < ELEMENTSOF(reals); i++)
        assert_int_equal(sqlite3_bind_double(st, col++, reals[i]), SQLITE_OK);
    assert_int_equal(sqlite3_bind_int64(st, col++, (int64_t) p->params.min_observations),
                     SQLITE_OK);
    assert_int_equal(sqlite3_bind_int64(st, col++, (int64_t) p->n), SQLITE_OK);
    for (size_t i = 0; i < ELEMENTSOF(state); i++)
        assert_int_equal(sqlite3_bind_double(st, col++, state[i]), SQLITE_OK);
    assert_int_equal(sqlite3_bind_int64(st, col++, (int64_t) p->peak_seen), SQLITE_OK);
    assert_int_equal(sqlite3_bind_blob(st, col++, peaks, sizeof(peaks), SQLITE_STATIC), SQLITE_OK);
    assert_int_equal(sqlite3_bind_int(st, col++, p->residual_len), SQLITE_OK);
    assert_int_equal(sqlite3_bind_int(st, col++, p->residual_next), SQLITE_OK);
    assert_int_equal(sqlite3_bind_blob(st, col++, residuals, sizeof(residuals), SQLITE_STATIC),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    assert_int_equal(sqlite3_finalize(st), SQLITE_OK);
}

static int record_one_model(const char *task, const struct task_model *m, void *userdata)
{
    assert_string_equal(task, "old");
    *(struct task_model *) userdata = *m;
    return 0;
}

/* True when all n doubles are +0.0, bit for bit. */
static bool all_zero(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t bits;

        memcpy(&bits, &v[i], sizeof(bits));
        if (bits != 0)
            return false;
    }
    return true;
}

static void test_migrate_from_v2(void **state)
{
    struct fixture *f = *state;
    _cleanup_store_free_ struct store *s = NULL;
    static struct task_model learnt, expected, got, again, listed;
    struct prediction before, after;
    struct task_stats st;
    unsigned version = 0;
    sqlite3 *db;
    char buf[32];
    double pc;

    /* A model whose CPU peak in the octave [8, 16) was seen above 8, so that it matters
     * whether that complexity is known. Every observation has weight 1, so each raises its
     * bucket's peak. */
    assert_int_equal(task_model_init(&learnt, PREDICT_MODEL_EWLS, NULL), 0);
    for (int i = 0; i < 20; i++) {
        static const double cs[] = { 1, 3, 9, 14, 5, 30 };
        double c = cs[i % ELEMENTSOF(cs)] + (i % 3) * 0.25;
        double values[_LEARN_RESOURCE_MAX] = {
            [LEARN_CPU] = 4 * c + (i % 5),
            [LEARN_MEMORY] = 20 + c / 2,
            [LEARN_GPU] = i % 2 ? NAN : 10 + i,
            [LEARN_VRAM] = 3 + (i % 7) * 0.5,
            [LEARN_DURATION] = 30 * c,
        };

        assert_int_equal(task_model_observe(&learnt, c, values, 1), 0);
    }
    for (int r = 0; r < _LEARN_RESOURCE_MAX; r++) {
        assert_int_not_equal(learnt.p[r].peak_seen, 0);
        assert_false(all_zero(learnt.p[r].peak_complexity, PREDICT_BUCKETS));
    }
    assert_true(learnt.p[LEARN_CPU].peak_seen & (UINT64_C(1) << 4));
    pc = learnt.p[LEARN_CPU].peak_complexity[4];
    assert_true(pc > 8 && pc < 16);

    /* A version-2 file holding that model, column by column. */
    db = raw_open(f->db);
    raw_exec_db(db, "PRAGMA journal_mode=WAL");
    raw_exec_db(db, "BEGIN");
    raw_exec_db(db, v1_schema);
    raw_exec_db(db, v2_schema);
    raw_exec_db(db, "PRAGMA user_version = 2");
    raw_exec_db(db, "INSERT INTO task_stats (task, count, avg_cpu_delta, avg_mem_delta, "
                    "updated_ms, overlapped_count, declared_count) VALUES ('old', 20, 30.5, 25, "
                    "1700000005000, 4, 2)");
    for (int r = 0; r < _LEARN_RESOURCE_MAX; r++)
        raw_insert_v2_model(db, "old", (enum learn_resource) r, &learnt.p[r]);
    raw_exec_db(db, "COMMIT");
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    assert_int_equal(raw_int(f->db, "PRAGMA user_version"), 2);

    assert_int_equal(store_open(f->db, &s), 0);
    assert_int_equal(store_get_schema_version(s, &version), 0);
    assert_int_equal(version, 7);
    assert_int_equal(raw_int(f->db, "PRAGMA user_version"), 7);
    /* Steps 1 and 2 were not run again. */
    assert_int_equal(store_meta_get(s, "created_ms", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "1700000000000");
    assert_int_equal(store_get_task_stats(s, "old", &st), 0);
    assert_int_equal(st.count, 20);
    assert_int_equal(st.overlapped_count, 4);
    assert_int_equal(st.declared_count, 2);
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM task_models "
                                    "WHERE peak_complexities IS NULL"),
                     _LEARN_RESOURCE_MAX);

    /* The old rows load with every peak complexity 0, every residual complexity unknown, and
     * every other field as written. */
    expected = learnt;
    for (int r = 0; r < _LEARN_RESOURCE_MAX; r++) {
        memset(expected.p[r].peak_complexity, 0, sizeof(expected.p[r].peak_complexity));
        for (int i = 0; i < PREDICT_RESIDUALS_MAX; i++)
            expected.p[r].residual_complexity[i] = PREDICT_COMPLEXITY_UNKNOWN;
    }
    assert_int_equal(store_get_task_model(s, "old", &got), 0);
    for (int r = 0; r < _LEARN_RESOURCE_MAX; r++)
        assert_true(all_zero(got.p[r].peak_complexity, PREDICT_BUCKETS));
    assert_model_identical(&got, &expected);
    assert_int_equal(store_foreach_task_model(s, record_one_model, &listed), 1);
    assert_model_identical(&listed, &expected);

    /* So the peak floors its whole bucket again, as it did in version 2: at complexity 8 the
     * model with the complexity scales the peak seen at pc down, the migrated one does not. */
    assert_int_equal(predictor_predict(&learnt.p[LEARN_CPU], 8, NAN, &before), 0);
    assert_int_equal(predictor_predict(&got.p[LEARN_CPU], 8, NAN, &after), 0);
    assert_true(before.has_peak && after.has_peak);
    assert_double_exact(after.peak, learnt.p[LEARN_CPU].peak[4]);
    assert_double_close(before.peak, learnt.p[LEARN_CPU].peak[4] * 8 / pc);
    assert_true(before.peak < after.peak);

    /* The next write stores the complexities, and they read back. */
    {
        double values[_LEARN_RESOURCE_MAX] = { 1, 2, 3, 4, 5 };
        struct observation o = obs("old", 1700000010000, 1, 2, 3, 4);

        o.complexity = 100;
        assert_int_equal(task_model_observe(&got, o.complexity, values, 1), 0);
        assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, &got), 0);
    }
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM task_models "
                                    "WHERE peak_complexities IS NULL"),
                     0);
    assert_int_equal(store_get_task_model(s, "old", &again), 0);
    assert_model_identical(&again, &got);
    assert_double_exact(again.p[LEARN_CPU].peak_complexity[7], 100);
}

/* Steps 3 and 4 exactly as released, applied on top of v2_schema. */
static const char v4_schema[] = "ALTER TABLE task_models ADD COLUMN peak_complexities BLOB;"
                                "ALTER TABLE task_models ADD COLUMN residual_complexities BLOB;";

static void test_migrate_from_v4(void **state)
{
    struct fixture *f = *state;
    _cleanup_store_free_ struct store *s = NULL;
    static struct task_model m, got;
    struct observation out, in, two[2];
    struct task_stats st;
    unsigned version = 0;
    sqlite3 *db;
    char buf[32];

    /* A version-4 file with one observation using every column of that version, its statistics
     * and a model. */
    assert_int_equal(task_model_init(&m, PREDICT_MODEL_EWLS, NULL), 0);
    db = raw_open(f->db);
    raw_exec_db(db, "PRAGMA journal_mode=WAL");
    raw_exec_db(db, "BEGIN");
    raw_exec_db(db, v1_schema);
    raw_exec_db(db, v2_schema);
    raw_exec_db(db, v4_schema);
    raw_exec_db(db, "PRAGMA user_version = 4");
    raw_exec_db(db,
                "INSERT INTO observations (task, complexity, started_ms, window_ms, cpu_delta_pct, "
                "mem_delta_pct, gpu_delta_pct, vram_delta_pct, disk_written_bytes, overlapped, "
                "source, declared_cpu_pct, declared_mem_pct, declared_gpu_pct, declared_vram_pct, "
                "duration_ms, weight) VALUES ('v4-task', 6.5, 1700000000000, 9000, 31.25, -2.5, "
                "NULL, 12.75, 65536, 1, 'run', 40, NULL, 0, NULL, 88000, 0.5);"
                "INSERT INTO task_stats VALUES ('v4-task', 3, 30, 1, NULL, 12, 1700000009000, 1, "
                "1, 8.75, NULL, NULL, NULL);");
    for (int r = 0; r < _LEARN_RESOURCE_MAX; r++)
        raw_insert_v2_model(db, "v4-task", (enum learn_resource) r, &m.p[r]);
    raw_exec_db(db, "COMMIT");
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    assert_int_equal(raw_int(f->db, "PRAGMA user_version"), 4);

    assert_int_equal(store_open(f->db, &s), 0);
    assert_int_equal(store_get_schema_version(s, &version), 0);
    assert_int_equal(version, 7);
    assert_int_equal(raw_int(f->db, "PRAGMA user_version"), 7);
    /* Steps 1 to 4 were not run again. */
    assert_int_equal(store_meta_get(s, "created_ms", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "1700000000000");
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM observations WHERE cpu_mean_pct IS NULL "
                                    "AND mem_mean_pct IS NULL AND gpu_mean_pct IS NULL AND "
                                    "vram_mean_pct IS NULL"),
                     1);

    /* The old row loads with every mean NAN and every other field as written. */
    memset(&out, 0, sizeof(out));
    assert_int_equal(store_foreach_observation(s, "v4-task", 10, record_one_obs, &out), 1);
    assert_string_equal(out.task, "v4-task");
    assert_double_exact(out.complexity, 6.5);
    assert_int_equal(out.started_ms, 1700000000000);
    assert_int_equal(out.window_ms, 9000);
    assert_double_exact(out.cpu_delta_pct, 31.25);
    assert_double_exact(out.mem_delta_pct, -2.5);
    assert_true(isnan(out.gpu_delta_pct));
    assert_double_exact(out.vram_delta_pct, 12.75);
    assert_int_equal(out.disk_written_bytes, 65536);
    assert_true(out.overlapped);
    assert_string_equal(out.source, "run");
    assert_double_exact(out.declared_cpu_pct, 40);
    assert_true(isnan(out.declared_mem_pct));
    assert_double_exact(out.declared_gpu_pct, 0);
    assert_true(isnan(out.declared_vram_pct));
    assert_int_equal(out.duration_ms, 88000);
    assert_double_exact(out.weight, 0.5);
    assert_true(isnan(out.cpu_mean_pct));
    assert_true(isnan(out.mem_mean_pct));
    assert_true(isnan(out.gpu_mean_pct));
    assert_true(isnan(out.vram_mean_pct));

    /* The statistics and the model are untouched. */
    assert_int_equal(store_get_task_stats(s, "v4-task", &st), 0);
    assert_int_equal(st.count, 3);
    assert_double_exact(st.avg_cpu_delta, 30);
    assert_int_equal(st.updated_ms, 1700000009000);
    assert_int_equal(st.overlapped_count, 1);
    assert_int_equal(st.declared_count, 1);
    assert_double_exact(st.avg_cpu_gap, 8.75);
    assert_int_equal(store_get_task_model(s, "v4-task", &got), 0);
    assert_int_equal(got.p[LEARN_CPU].n, 0);

    /* A new observation keeps its means beside the old row without them. */
    in = obs("v4-task", 1700000020000, 50, 4, NAN, NAN);
    in.cpu_mean_pct = 21.5;
    in.mem_mean_pct = 3;
    assert_int_equal(store_add_observation(s, &in, KEEP, MAXTYPES, NULL), 0);
    s = store_free(s);
    assert_int_equal(store_open(f->db, &s), 0);
    memset(two, 0, sizeof(two));
    assert_int_equal(store_foreach_observation(s, "v4-task", 2, record_two_obs, two), 2);
    assert_int_equal(two[0].started_ms, 1700000020000);
    assert_double_exact(two[0].cpu_mean_pct, 21.5);
    assert_double_exact(two[0].mem_mean_pct, 3);
    assert_true(isnan(two[0].gpu_mean_pct));
    assert_true(isnan(two[0].vram_mean_pct));
    assert_int_equal(two[1].started_ms, 1700000000000);
    assert_true(isnan(two[1].cpu_mean_pct));
    assert_double_exact(two[1].cpu_delta_pct, 31.25);
}

/* ---- declared needs and statistics ------------------------------------------------------------
 */

static int record_stats(const struct task_stats *st, void *userdata)
{
    *(struct task_stats *) userdata = *st;
    return 0;
}

static void test_declared_stats(void **state)
{
    struct fixture *f = *state;
    _cleanup_store_free_ struct store *s = NULL;
    struct observation o;
    struct task_stats st;

    assert_int_equal(store_open(f->db, &s), 0);

    /* 1: CPU declared and observed: gap 30 − 10 = 20, taken as is. Memory observed but not
     * declared, GPU declared but not observed: no gap for either. */
    o = obs("train", 1000, 10, 20, NAN, NAN);
    declare(&o, 30, NAN, 50, NAN);
    assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, NULL), 0);
    assert_int_equal(store_get_task_stats(s, "train", &st), 0);
    assert_int_equal(st.count, 1);
    assert_int_equal(st.declared_count, 1);
    assert_int_equal(st.overlapped_count, 0);
    assert_double_exact(st.avg_cpu_gap, 20);
    assert_true(isnan(st.avg_mem_gap));
    assert_true(isnan(st.avg_gpu_gap));
    assert_true(isnan(st.avg_vram_gap));

    /* 2, overlapped: CPU gap 25 − 20 = 5 → 0.2·5 + 0.8·20 = 17; memory's first gap 40 − 10 = 30;
     * VRAM declared but not observed. */
    o = obs("train", 2000, 20, 10, 5, NAN);
    declare(&o, 25, 40, NAN, 10);
    o.overlapped = true;
    assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, NULL), 0);
    assert_int_equal(store_get_task_stats(s, "train", &st), 0);
    assert_int_equal(st.count, 2);
    assert_int_equal(st.declared_count, 2);
    assert_int_equal(st.overlapped_count, 1);
    assert_double_close(st.avg_cpu_gap, 17);
    assert_double_exact(st.avg_mem_gap, 30);
    assert_true(isnan(st.avg_gpu_gap));
    assert_true(isnan(st.avg_vram_gap));

    /* 3, overlapped, nothing declared: only the counts move. */
    o = obs("train", 3000, 50, 50, 50, 50);
    o.overlapped = true;
    assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, NULL), 0);
    assert_int_equal(store_get_task_stats(s, "train", &st), 0);
    assert_int_equal(st.count, 3);
    assert_int_equal(st.declared_count, 2);
    assert_int_equal(st.overlapped_count, 2);
    assert_double_close(st.avg_cpu_gap, 17);
    assert_double_exact(st.avg_mem_gap, 30);

    /* 4: a declaration of 0 is one: CPU gap 0 − 12.5 → 0.2·(−12.5) + 0.8·17 = 11.1; GPU's first
     * gap 8 − 2 = 6; VRAM's first gap 1 − 4 = −3. */
    o = obs("train", 4000, 12.5, NAN, 2, 4);
    declare(&o, 0, NAN, 8, 1);
    assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, NULL), 0);
    assert_int_equal(store_get_task_stats(s, "train", &st), 0);
    assert_int_equal(st.count, 4);
    assert_int_equal(st.declared_count, 3);
    assert_int_equal(st.overlapped_count, 2);
    assert_double_close(st.avg_cpu_gap, 11.1);
    assert_double_exact(st.avg_mem_gap, 30);
    assert_double_exact(st.avg_gpu_gap, 6);
    assert_double_exact(st.avg_vram_gap, -3);
    /* The deltas' averages are unaffected by declarations: 10, 12, 19.6, 18.18. */
    assert_double_close(st.avg_cpu_delta, 18.18);

    /* Another task is independent, and everything survives a reopen (and the listing). */
    o = obs("other", 5000, 1, 1, 1, 1);
    assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, NULL), 0);
    s = store_free(s);
    assert_int_equal(store_open(f->db, &s), 0);
    memset(&st, 0, sizeof(st));
    assert_int_equal(store_foreach_task_stats(s, record_stats, &st), 2);
    assert_string_equal(st.task, "train"); /* The last in name order. */
    assert_int_equal(st.declared_count, 3);
    assert_int_equal(st.overlapped_count, 2);
    assert_double_close(st.avg_cpu_gap, 11.1);
    assert_double_exact(st.avg_vram_gap, -3);
    assert_int_equal(store_get_task_stats(s, "other", &st), 0);
    assert_int_equal(st.declared_count, 0);
    assert_int_equal(st.overlapped_count, 0);
    assert_true(isnan(st.avg_cpu_gap));
}

/* ---- models -----------------------------------------------------------------------------------
 */

struct model_seen {
    unsigned calls;
    int stop_at;
    char tasks[4][TASK_NAME_MAX + 1];
    struct task_model models[4];
};

static int collect_model(const char *task, const struct task_model *m, void *userdata)
{
    struct model_seen *c = userdata;

    if (c->calls < ELEMENTSOF(c->tasks)) {
        (void) snprintf(c->tasks[c->calls], sizeof(c->tasks[0]), "%s", task);
        c->models[c->calls] = *m;
    }
    c->calls++;
    if (c->stop_at > 0 && c->calls == (unsigned) c->stop_at)
        return -ECANCELED;
    return 0;
}

static void test_model_round_trip(void **state)
{
    struct fixture *f = *state;
    _cleanup_store_free_ struct store *s = NULL;
    static struct task_model ewls, ma, lin, got;
    static struct model_seen c;
    struct predict_params params;
    struct task_stats st;

    assert_int_equal(store_open(f->db, &s), 0);

    /* Three models: the default ewls, and the two others with parameters of their own. */
    assert_int_equal(task_model_init(&ewls, PREDICT_MODEL_EWLS, NULL), 0);
    predict_params_default(&params);
    params.alpha = 0.3;
    params.sd_multiplier = 2;
    params.min_observations = 7;
    assert_int_equal(task_model_init(&ma, PREDICT_MODEL_MOVING_AVERAGE, &params), 0);
    params.lambda = 0.9;
    assert_int_equal(task_model_init(&lin, PREDICT_MODEL_LINEAR, &params), 0);

    /* 80 observations fill and wrap the ring of 64 residuals. */
    for (int i = 0; i < 80; i++)
        assert_int_equal(add_series(s, "ewls-task", i, &ewls, KEEP, MAXTYPES), 0);
    for (int i = 0; i < 30; i++)
        assert_int_equal(add_series(s, "ma-task", i, &ma, KEEP, MAXTYPES), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(add_series(s, "lin-task", i, &lin, KEEP, MAXTYPES), 0);
    assert_int_equal(ewls.p[LEARN_CPU].n, 80);
    assert_int_equal(ewls.p[LEARN_CPU].residual_len, PREDICT_RESIDUALS_MAX);
    assert_int_not_equal(ewls.p[LEARN_CPU].residual_next, 0);
    assert_int_equal(ewls.p[LEARN_GPU].n, 53); /* GPU is missing when i % 3 == 0. */
    assert_int_equal(ma.p[LEARN_CPU].residual_len, 29);

    assert_int_equal(store_get_task_model(s, "ewls-task", &got), 0);
    assert_model_identical(&got, &ewls);
    assert_int_equal(store_get_task_model(s, "ma-task", &got), 0);
    assert_model_identical(&got, &ma);
    assert_int_equal(store_get_task_model(s, "lin-task", &got), 0);
    assert_model_identical(&got, &lin);

    /* −0.0 and the smallest subnormal keep their bits too (a REAL column would turn the former
     * into +0.0). */
    ewls.p[LEARN_VRAM].sxy = -0.0;
    ewls.p[LEARN_VRAM].ewma = 0x1p-1074;
    ewls.p[LEARN_MEMORY].residuals[5] = -0.0;
    assert_int_equal(predictor_validate(&ewls.p[LEARN_VRAM]), 0);
    assert_int_equal(store_put_task_model(s, "ewls-task", &ewls), 0);

    /* Everything reads back the same from a fresh connection. */
    s = store_free(s);
    assert_int_equal(store_open(f->db, &s), 0);
    assert_int_equal(store_get_task_model(s, "ewls-task", &got), 0);
    assert_model_identical(&got, &ewls);
    assert_true(signbit(got.p[LEARN_VRAM].sxy));
    assert_true(signbit(got.p[LEARN_MEMORY].residuals[5]));

    /* One callback per task, in name order. */
    assert_int_equal(store_foreach_task_model(s, collect_model, &c), 3);
    assert_int_equal(c.calls, 3);
    assert_string_equal(c.tasks[0], "ewls-task");
    assert_string_equal(c.tasks[1], "lin-task");
    assert_string_equal(c.tasks[2], "ma-task");
    assert_model_identical(&c.models[0], &ewls);
    assert_model_identical(&c.models[1], &lin);
    assert_model_identical(&c.models[2], &ma);
    memset(&c, 0, sizeof(c));
    c.stop_at = 2;
    assert_int_equal(store_foreach_task_model(s, collect_model, &c), -ECANCELED);
    assert_int_equal(c.calls, 2);

    /* The model goes on learning from where it was loaded, and equals one that never left
     * memory. */
    assert_int_equal(add_series(s, "ewls-task", 80, &got, KEEP, MAXTYPES), 0);
    assert_int_equal(add_series(s, "ewls-task", 80, &ewls, KEEP, MAXTYPES), 0);
    assert_model_identical(&got, &ewls);
    assert_int_equal(store_get_task_model(s, "ewls-task", &got), 0);
    assert_model_identical(&got, &ewls);

    /* A NULL model leaves the stored one alone. */
    {
        struct observation o = obs("ewls-task", 99999, 1, 1, 1, 1);

        assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, NULL), 0);
    }
    assert_int_equal(store_get_task_model(s, "ewls-task", &got), 0);
    assert_model_identical(&got, &ewls);
    assert_int_equal(store_get_task_stats(s, "ewls-task", &st), 0);
    assert_int_equal(st.count, 83);

    assert_int_equal(store_get_task_model(s, "nobody", &got), -ENOENT);
    assert_int_equal(store_get_task_model(s, "", &got), -EINVAL);
    assert_int_equal(store_get_task_model(s, "a\tb", &got), -EINVAL);
}

static void test_model_missing_resource(void **state)
{
    struct fixture *f = *state;
    _cleanup_store_free_ struct store *s = NULL;
    static struct task_model m, got;
    static struct model_seen c;
    struct predict_params params;
    struct predictor fresh;

    predict_params_default(&params);
    params.lambda = 0.8;
    params.quantile = 0.9;
    params.min_observations = 3;
    assert_int_equal(task_model_init(&m, PREDICT_MODEL_EWLS, &params), 0);

    assert_int_equal(store_open(f->db, &s), 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(add_series(s, "partial", i, &m, KEEP, MAXTYPES), 0);
    raw_exec(f->db, "DELETE FROM task_models WHERE resource IN ('gpu', 'cpu')");

    /* The missing resources start over, with the model and parameters of the others. */
    assert_int_equal(predictor_init(&fresh, PREDICT_MODEL_EWLS, &params), 0);
    assert_int_equal(store_get_task_model(s, "partial", &got), 0);
    assert_predictor_identical(&got.p[LEARN_CPU], &fresh);
    assert_predictor_identical(&got.p[LEARN_GPU], &fresh);
    assert_predictor_identical(&got.p[LEARN_MEMORY], &m.p[LEARN_MEMORY]);
    assert_predictor_identical(&got.p[LEARN_VRAM], &m.p[LEARN_VRAM]);
    assert_int_equal(got.p[LEARN_GPU].params.min_observations, 3);

    assert_int_equal(store_foreach_task_model(s, collect_model, &c), 1);
    assert_model_identical(&c.models[0], &got);

    /* With no row left, there is no model. */
    raw_exec(f->db, "DELETE FROM task_models");
    assert_int_equal(store_get_task_model(s, "partial", &got), -ENOENT);
    memset(&c, 0, sizeof(c));
    assert_int_equal(store_foreach_task_model(s, collect_model, &c), 0);
    assert_int_equal(c.calls, 0);
}

/* Each damage is applied to a freshly stored, valid model. */
static void test_model_corrupt(void **state)
{
    static const char *const damage[] = {
        /* Arrays of the wrong size. */
        "UPDATE task_models SET residuals = zeroblob(8) WHERE resource = 'cpu'",
        "UPDATE task_models SET peaks = zeroblob(513) WHERE resource = 'memory'",
        "UPDATE task_models SET residuals = zeroblob(0) WHERE resource = 'vram'",
        "UPDATE task_models SET peak_complexities = zeroblob(8) WHERE resource = 'cpu'",
        "UPDATE task_models SET peak_complexities = zeroblob(513) WHERE resource = 'duration'",
        "UPDATE task_models SET peak_complexities = zeroblob(511) WHERE resource = 'memory'",
        "UPDATE task_models SET peak_complexities = zeroblob(0) WHERE resource = 'gpu'",
        "UPDATE task_models SET peak_complexities = x'00' WHERE resource = 'vram'",
        "UPDATE task_models SET peak_complexities = zeroblob(1024) WHERE resource = 'cpu'",
        "UPDATE task_models SET residual_complexities = zeroblob(8) WHERE resource = 'cpu'",
        "UPDATE task_models SET residual_complexities = zeroblob(513) WHERE resource = 'memory'",
        /* Counts out of range or inconsistent. */
        "UPDATE task_models SET n = -1 WHERE resource = 'cpu'",
        "UPDATE task_models SET n = n + 1 WHERE resource = 'cpu'",
        "UPDATE task_models SET residual_len = 70000 WHERE resource = 'gpu'",
        "UPDATE task_models SET residual_next = -1 WHERE resource = 'gpu'",
        "UPDATE task_models SET min_observations = -5 WHERE resource = 'gpu'",
        /* Numbers that predictor_validate() refuses. */
        "UPDATE task_models SET ewma = 1e999 WHERE resource = 'cpu'",
        "UPDATE task_models SET sxx = -1.0 WHERE resource = 'memory'",
        "UPDATE task_models SET lambda = 2.0 WHERE resource = 'vram'",
        /* Values of the wrong type in the ANY columns. */
        "UPDATE task_models SET w = 'abc' WHERE resource = 'cpu'",
        "UPDATE task_models SET mx = 1 WHERE resource = 'cpu'",
        "UPDATE task_models SET peaks = x'00' WHERE resource = 'cpu'",
        /* Names. */
        "UPDATE task_models SET model = 'quadratic' WHERE resource = 'cpu'",
        "UPDATE task_models SET resource = 'disk' WHERE resource = 'gpu'",
    };
    struct fixture *f = *state;
    _cleanup_store_free_ struct store *s = NULL;
    static struct task_model m, got;
    static struct model_seen c;
    unsigned char nan_blob[PREDICT_RESIDUALS_MAX * 8] = { 0 };

    assert_int_equal(store_open(f->db, &s), 0);
    assert_int_equal(task_model_init(&m, PREDICT_MODEL_EWLS, NULL), 0);
    for (int i = 0; i < 12; i++)
        assert_int_equal(add_series(s, "victim", i, &m, KEEP, MAXTYPES), 0);

    for (size_t i = 0; i < ELEMENTSOF(damage); i++) {
        assert_int_equal(store_put_task_model(s, "victim", &m), 0);
        assert_int_equal(store_get_task_model(s, "victim", &got), 0);
        assert_model_identical(&got, &m);

        raw_exec(f->db, damage[i]);
        if (store_get_task_model(s, "victim", &got) != -EBADMSG) {
            print_error("damage not detected: %s\n", damage[i]);
            fail();
        }
        memset(&c, 0, sizeof(c));
        assert_int_equal(store_foreach_task_model(s, collect_model, &c), -EBADMSG);
        assert_int_equal(c.calls, 0);
    }

    /* Storing again replaces the whole set, the foreign "disk" row included. */
    assert_int_equal(store_put_task_model(s, "victim", &m), 0);
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM task_models"), _LEARN_RESOURCE_MAX);
    assert_int_equal(store_get_task_model(s, "victim", &got), 0);
    assert_model_identical(&got, &m);

    /* A NaN residual within the ring (SQLite itself cannot store a NaN REAL). */
    nan_blob[6] = 0xf8;
    nan_blob[7] = 0x7f; /* 0x7ff8000000000000, little-endian: a quiet NaN in slot 0. */
    raw_exec_blob(f->db, "UPDATE task_models SET residuals = ?1 WHERE resource = 'memory'",
                  nan_blob, sizeof(nan_blob));
    assert_int_equal(store_get_task_model(s, "victim", &got), -EBADMSG);

    assert_int_equal(store_put_task_model(s, "victim", &m), 0);
    assert_int_equal(store_get_task_model(s, "victim", &got), 0);
    assert_model_identical(&got, &m);

    /* A peak complexity that is not a valid complexity, in a bucket that has a peak: the blob
     * has the right size, predictor_validate() refuses the predictor. */
    {
        const struct predictor *p = &m.p[LEARN_MEMORY];
        const double bad[] = { -1, NAN, INFINITY, 2 * PREDICT_COMPLEXITY_MAX };
        unsigned b = 0;

        assert_int_not_equal(p->peak_seen, 0);
        while (!(p->peak_seen & (UINT64_C(1) << b)))
            b++;
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
            double pcs[PREDICT_BUCKETS];
            unsigned char blob[sizeof(pcs)];

            memcpy(pcs, p->peak_complexity, sizeof(pcs));
            pcs[b] = bad[i];
            encode_le(blob, pcs, PREDICT_BUCKETS);
            raw_exec_blob(f->db,
                          "UPDATE task_models SET peak_complexities = ?1 "
                          "WHERE resource = 'memory'",
                          blob, sizeof(blob));
            assert_int_equal(store_get_task_model(s, "victim", &got), -EBADMSG);
            memset(&c, 0, sizeof(c));
            assert_int_equal(store_foreach_task_model(s, collect_model, &c), -EBADMSG);

            /* The same blob with a valid complexity there is read back as written: the encoding
             * above is the one the store uses. */
            pcs[b] = 0.5;
            encode_le(blob, pcs, PREDICT_BUCKETS);
            raw_exec_blob(f->db,
                          "UPDATE task_models SET peak_complexities = ?1 "
                          "WHERE resource = 'memory'",
                          blob, sizeof(blob));
            assert_int_equal(store_get_task_model(s, "victim", &got), 0);
            assert_memory_equal(got.p[LEARN_MEMORY].peak_complexity, pcs, sizeof(pcs));
        }
    }

    /* NULL peak complexities (a row from schema version 2) load as zeros, the rest unchanged. */
    assert_int_equal(store_put_task_model(s, "victim", &m), 0);
    raw_exec(f->db, "UPDATE task_models SET peak_complexities = NULL WHERE resource = 'cpu'");
    assert_int_equal(store_get_task_model(s, "victim", &got), 0);
    {
        static struct task_model expected;

        expected = m;
        memset(expected.p[LEARN_CPU].peak_complexity, 0,
               sizeof(expected.p[LEARN_CPU].peak_complexity));
        assert_false(all_zero(m.p[LEARN_CPU].peak_complexity, PREDICT_BUCKETS));
        assert_model_identical(&got, &expected);
    }
}

static void test_model_invalid_input(void **state)
{
    struct fixture *f = *state;
    _cleanup_store_free_ struct store *s = NULL;
    static struct task_model m, bad, got;
    struct observation o;
    struct task_stats st;
    uint64_t n;

    assert_int_equal(store_open(f->db, &s), 0);
    assert_int_equal(task_model_init(&m, PREDICT_MODEL_EWLS, NULL), 0);

    /* Models exist only for known task types. */
    assert_int_equal(store_put_task_model(s, "unknown", &m), -ENOENT);
    assert_int_equal(store_put_task_model(s, "", &m), -EINVAL);
    assert_int_equal(store_get_task_model(s, "unknown", &got), -ENOENT);

    /* An inconsistent model is refused, and so is the observation it came with. */
    bad = m;
    bad.p[LEARN_GPU].residual_len = 3;
    o = obs("t", 1, 1, 1, 1, 1);
    assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, &bad), -EINVAL);
    assert_int_equal(store_count_observations(s, NULL, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_get_task_stats(s, "t", &st), -ENOENT);

    assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, &m), 0);
    assert_int_equal(store_put_task_model(s, "t", &bad), -EINVAL);
    bad = m;
    bad.p[LEARN_CPU].mx = NAN;
    assert_int_equal(store_put_task_model(s, "t", &bad), -EINVAL);
    bad = m;
    bad.p[LEARN_CPU].model = _PREDICT_MODEL_MAX;
    assert_int_equal(store_put_task_model(s, "t", &bad), -EINVAL);
    assert_int_equal(store_get_task_model(s, "t", &got), 0);
    assert_model_identical(&got, &m);
}

static void test_model_same_transaction(void **state)
{
    struct fixture *f = *state;
    _cleanup_store_free_ struct store *s = NULL;
    static struct task_model a, b, got;
    struct task_stats st;
    uint64_t n;
    int r;

    assert_int_equal(store_open(f->db, &s), 0);
    assert_int_equal(task_model_init(&a, PREDICT_MODEL_EWLS, NULL), 0);
    assert_int_equal(task_model_init(&b, PREDICT_MODEL_EWLS, NULL), 0);

    /* With room for one task type, the second type's observation is refused with -ENOSPC and its
     * model is not written either. */
    assert_int_equal(add_series(s, "a", 0, &a, KEEP, 1), 0);
    assert_int_equal(add_series(s, "b", 0, &b, KEEP, 1), -ENOSPC);
    assert_int_equal(store_get_task_model(s, "b", &got), -ENOENT);
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM task_models WHERE task = 'b'"), 0);
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM task_models WHERE task = 'a'"), _LEARN_RESOURCE_MAX);

    /* A failure while writing the model (forced here by a trigger) undoes the observation and the
     * statistics as well. */
    raw_exec(f->db,
             "CREATE TRIGGER refuse_model BEFORE INSERT ON task_models WHEN NEW.task = 'a' "
             "BEGIN SELECT RAISE(ABORT, 'refused'); END");
    got = a;
    r = add_series(s, "a", 1, &got, KEEP, 1);
    assert_true(r < 0);
    assert_non_null(strstr(store_last_error(s), "refused"));
    assert_int_equal(store_count_observations(s, "a", &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_get_task_stats(s, "a", &st), 0);
    assert_int_equal(st.count, 1);
    assert_int_equal(store_get_task_model(s, "a", &got), 0);
    assert_model_identical(&got, &a);
    assert_int_equal(got.p[LEARN_CPU].n, 1);

    /* Once the obstacle is gone, the same observation goes through, model and all. */
    raw_exec(f->db, "DROP TRIGGER refuse_model");
    assert_int_equal(add_series(s, "a", 1, &a, KEEP, 1), 0);
    assert_int_equal(store_get_task_model(s, "a", &got), 0);
    assert_model_identical(&got, &a);

    /* Trimming the raw observations leaves the model alone. */
    for (int i = 2; i < 10; i++)
        assert_int_equal(add_series(s, "a", i, &a, 3, 1), 0);
    assert_int_equal(store_count_observations(s, "a", &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(store_get_task_model(s, "a", &got), 0);
    assert_int_equal(got.p[LEARN_CPU].n, 10);
    assert_model_identical(&got, &a);
}

/* ---- durability of models ---------------------------------------------------------------------
 */

#define KILL_N 3000

/* Runs in a forked child: stores up to KILL_N observations of the series with their model, one
 * transaction each, writing a byte to notify_fd after the first commit, then kills itself unless
 * the parent did so first. Never returns. */
_noreturn_ static void child_learn(const char *path, int notify_fd)
{
    static struct task_model m;
    struct store *s = NULL;

    if (store_open(path, &s) < 0 || task_model_init(&m, PREDICT_MODEL_EWLS, NULL) < 0)
        _exit(10);
    for (int i = 0; i < KILL_N; i++) {
        double values[_LEARN_RESOURCE_MAX], weight;
        struct observation o = series_obs("durable", i, values, &weight);

        if (task_model_observe(&m, o.complexity, values, weight) < 0 ||
            store_add_observation(s, &o, KEEP, MAXTYPES, &m) < 0)
            _exit(11);
        if (i == 0 && write(notify_fd, "x", 1) != 1)
            _exit(12);
    }
    (void) raise(SIGKILL);
    _exit(13);
}

/* Kills the child after delay_usec of writing (or lets it kill itself at the end), then checks
 * that the stored model is exactly the one learnt from the stored observations. */
static void check_model_durable(const char *path, long delay_usec)
{
    _cleanup_store_free_ struct store *s = NULL;
    static struct task_model expected, got;
    struct task_stats st;
    int fds[2], status = 0;
    char byte;
    pid_t pid;

    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        (void) close(fds[0]);
        child_learn(path, fds[1]);
    }
    (void) close(fds[1]);
    assert_int_equal(read(fds[0], &byte, 1), 1);
    (void) close(fds[0]);
    if (delay_usec > 0) {
        struct timespec ts = { .tv_nsec = delay_usec * 1000 };

        (void) nanosleep(&ts, NULL);
        (void) kill(pid, SIGKILL);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);

    assert_int_equal(store_open(path, &s), 0);
    assert_int_equal(store_get_task_stats(s, "durable", &st), 0);
    print_message("killed after %" PRIu64 " committed observations\n", st.count);
    assert_in_range(st.count, 1, KILL_N);
    if (delay_usec == 0)
        assert_int_equal(st.count, KILL_N);

    /* Replay exactly the committed observations: the stored model must be that model, bit for
     * bit, neither one observation ahead nor behind. */
    assert_int_equal(task_model_init(&expected, PREDICT_MODEL_EWLS, NULL), 0);
    for (int i = 0; i < (int) st.count; i++) {
        double values[_LEARN_RESOURCE_MAX], weight;
        struct observation o = series_obs("durable", i, values, &weight);

        assert_int_equal(task_model_observe(&expected, o.complexity, values, weight), 0);
    }
    assert_int_equal(store_get_task_model(s, "durable", &got), 0);
    assert_int_equal(got.p[LEARN_CPU].n, st.count);
    assert_model_identical(&got, &expected);
}

static void test_model_durability_kill_at_end(void **state)
{
    struct fixture *f = *state;

    check_model_durable(f->db, 0);
}

static void test_model_durability_kill_midway(void **state)
{
    struct fixture *f = *state;

    check_model_durable(f->db, 30000);
}

/* ---- leases -----------------------------------------------------------------------------------
 */

struct lease_seen {
    unsigned calls;
    int stop_at;
    struct store_lease leases[8];
};

static int collect_lease(const struct store_lease *l, void *userdata)
{
    struct lease_seen *c = userdata;

    if (c->calls < ELEMENTSOF(c->leases))
        c->leases[c->calls] = *l;
    c->calls++;
    if (c->stop_at > 0 && c->calls == (unsigned) c->stop_at)
        return -ECANCELED;
    return 0;
}

static struct store_lease
lease(uint64_t id, const char *task, int64_t created_ms, int64_t expires_ms)
{
    struct store_lease l = {
        .id = id,
        .cpu_pct = 12.5,
        .mem_pct = 3.25,
        .gpu_pct = 50,
        .vram_pct = 0.125,
        .mem_bytes = 3ull << 30,
        .vram_bytes = (uint64_t) INT64_MAX,
        .disk_bytes = 0,
        .gpu_index = 1,
        .created_ms = created_ms,
        .expires_ms = expires_ms,
    };

    (void) snprintf(l.task, sizeof(l.task), "%s", task);
    return l;
}

static void assert_lease_equal(const struct store_lease *a, const struct store_lease *b)
{
    assert_int_equal(a->id, b->id);
    assert_string_equal(a->task, b->task);
    assert_same_bits(a->cpu_pct, b->cpu_pct);
    assert_same_bits(a->mem_pct, b->mem_pct);
    assert_same_bits(a->gpu_pct, b->gpu_pct);
    assert_same_bits(a->vram_pct, b->vram_pct);
    assert_int_equal(a->mem_bytes, b->mem_bytes);
    assert_int_equal(a->vram_bytes, b->vram_bytes);
    assert_int_equal(a->disk_bytes, b->disk_bytes);
    assert_int_equal(a->gpu_index, b->gpu_index);
    assert_int_equal(a->created_ms, b->created_ms);
    assert_int_equal(a->expires_ms, b->expires_ms);
}

static void test_leases(void **state)
{
    struct fixture *f = *state;
    _cleanup_store_free_ struct store *s = NULL;
    const uint64_t high = (UINT64_C(1) << 63) + 5;
    struct store_lease a, b, c, d;
    struct lease_seen seen = {};

    assert_int_equal(store_open(f->db, &s), 0);
    assert_int_equal(store_foreach_lease(s, collect_lease, &seen), 0);

    /* Put in an order that is neither id order nor signed order. */
    c = lease(UINT64_MAX, "", 1000, 3000);
    c.gpu_index = -1;
    b = lease(high, "render", 1000, 2000);
    a = lease(7, "build", 1000, 1000);
    d = lease(0, "zero-id", 500, 1500);
    assert_int_equal(store_put_lease(s, &c), 0);
    assert_int_equal(store_put_lease(s, &b), 0);
    assert_int_equal(store_put_lease(s, &a), 0);
    assert_int_equal(store_put_lease(s, &d), 0);

    assert_int_equal(store_foreach_lease(s, collect_lease, &seen), 4);
    assert_lease_equal(&seen.leases[0], &d);
    assert_lease_equal(&seen.leases[1], &a);
    assert_lease_equal(&seen.leases[2], &b);
    assert_lease_equal(&seen.leases[3], &c);
    assert_int_equal(seen.leases[2].id, high);
    assert_int_equal(seen.leases[3].id, UINT64_MAX);

    /* Put replaces a lease with the same id. */
    b.cpu_pct = 99;
    b.expires_ms = 2500;
    (void) snprintf(b.task, sizeof(b.task), "render-2");
    assert_int_equal(store_put_lease(s, &b), 0);

    /* Leases survive a restart. */
    s = store_free(s);
    assert_int_equal(store_open(f->db, &s), 0);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_foreach_lease(s, collect_lease, &seen), 4);
    assert_lease_equal(&seen.leases[2], &b);

    memset(&seen, 0, sizeof(seen));
    seen.stop_at = 2;
    assert_int_equal(store_foreach_lease(s, collect_lease, &seen), -ECANCELED);
    assert_int_equal(seen.calls, 2);

    /* Delete by id, including the high ones. */
    assert_int_equal(store_delete_lease(s, 7), 0);
    assert_int_equal(store_delete_lease(s, 7), -ENOENT);
    assert_int_equal(store_delete_lease(s, 8), -ENOENT);
    assert_int_equal(store_delete_lease(s, UINT64_MAX - 1), -ENOENT);
    assert_int_equal(store_delete_lease(s, UINT64_MAX), 0);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_foreach_lease(s, collect_lease, &seen), 2);
    assert_int_equal(seen.leases[0].id, 0);
    assert_int_equal(seen.leases[1].id, high);

    /* Expiry: a lease has expired once now ≥ expires_ms. d expires at 1500, b at 2500. */
    assert_int_equal(store_delete_expired_leases(s, 1499), 0);
    assert_int_equal(store_delete_expired_leases(s, 1500), 1);
    assert_int_equal(store_delete_expired_leases(s, 1500), 0);
    assert_int_equal(store_put_lease(s, &a), 0); /* expires at 1000 */
    assert_int_equal(store_delete_expired_leases(s, 2500), 2);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_foreach_lease(s, collect_lease, &seen), 0);
    assert_int_equal(store_delete_expired_leases(s, INT64_MAX), 0);
}

static void test_leases_invalid(void **state)
{
    struct fixture *f = *state;
    _cleanup_store_free_ struct store *s = NULL;
    struct lease_seen seen = {};
    struct store_lease l;

    assert_int_equal(store_open(f->db, &s), 0);

#define REFUSED(stmt)                                      \
    do {                                                   \
        l = lease(1, "ok", 1000, 2000);                    \
        stmt;                                              \
        assert_int_equal(store_put_lease(s, &l), -EINVAL); \
    } while (0)

    REFUSED((void) snprintf(l.task, sizeof(l.task), "a\tb"));
    REFUSED(memset(l.task, 'x', sizeof(l.task)));
    REFUSED(l.cpu_pct = NAN);
    REFUSED(l.mem_pct = -1);
    REFUSED(l.gpu_pct = INFINITY);
    REFUSED(l.vram_pct = -INFINITY);
    REFUSED(l.mem_bytes = (uint64_t) INT64_MAX + 1);
    REFUSED(l.vram_bytes = UINT64_MAX);
    REFUSED(l.disk_bytes = (uint64_t) INT64_MAX + 1);
    REFUSED(l.gpu_index = -2);
    REFUSED(l.created_ms = -1);
    REFUSED(l.expires_ms = 999);
#undef REFUSED
    assert_int_equal(store_foreach_lease(s, collect_lease, &seen), 0);

    /* Rows that the store would not have written are refused on reading. */
    l = lease(1, "ok", 1000, 2000);
    assert_int_equal(store_put_lease(s, &l), 0);
    raw_exec(f->db, "UPDATE leases SET cpu_pct = -1");
    assert_int_equal(store_foreach_lease(s, collect_lease, &seen), -EBADMSG);
    assert_int_equal(store_put_lease(s, &l), 0);
    raw_exec(f->db, "UPDATE leases SET task = 'bad' || char(9) || 'name'");
    assert_int_equal(store_foreach_lease(s, collect_lease, &seen), -EBADMSG);
    assert_int_equal(store_put_lease(s, &l), 0);
    raw_exec(f->db, "UPDATE leases SET mem_bytes = -1");
    assert_int_equal(store_foreach_lease(s, collect_lease, &seen), -EBADMSG);
    assert_int_equal(store_put_lease(s, &l), 0);
    raw_exec(f->db, "UPDATE leases SET gpu_index = -7");
    assert_int_equal(store_foreach_lease(s, collect_lease, &seen), -EBADMSG);
    assert_int_equal(store_put_lease(s, &l), 0);
    raw_exec(f->db, "UPDATE leases SET expires_ms = 10");
    assert_int_equal(store_foreach_lease(s, collect_lease, &seen), -EBADMSG);
    assert_int_equal(seen.calls, 0);

    assert_int_equal(store_put_lease(s, &l), 0);
    assert_int_equal(store_foreach_lease(s, collect_lease, &seen), 1);
}

/* ---- mean impacts -----------------------------------------------------------------------------
 */

/* The store writes a mean only as NULL or a finite REAL; anything else is damage. */
static void test_observation_mean_corrupt(void **state)
{
    static const char *const columns[] = { "cpu_mean_pct", "mem_mean_pct", "gpu_mean_pct",
                                           "vram_mean_pct" };
    struct fixture *f = *state;
    _cleanup_store_free_ struct store *s = NULL;
    struct observation o, out;
    char sql[128];
    sqlite3 *db;

    assert_int_equal(store_open(f->db, &s), 0);
    o = obs("victim", 1000, 10, 20, 30, 40);
    o.cpu_mean_pct = 5;
    o.mem_mean_pct = 6;
    o.gpu_mean_pct = 7;
    o.vram_mean_pct = 8;
    assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, NULL), 0);
    assert_int_equal(store_foreach_observation(s, NULL, 10, record_one_obs, &out), 1);
    assert_double_exact(out.gpu_mean_pct, 7);

    /* An infinity fits a REAL column, but the store never writes one. */
    for (size_t i = 0; i < ELEMENTSOF(columns); i++) {
        (void) snprintf(sql, sizeof(sql), "UPDATE observations SET %s = 1e999", columns[i]);
        raw_exec(f->db, sql);
        assert_int_equal(store_foreach_observation(s, "victim", 10, record_one_obs, &out),
                         -EBADMSG);
        assert_int_equal(store_foreach_observation(s, NULL, 10, record_one_obs, &out), -EBADMSG);
        (void) snprintf(sql, sizeof(sql), "UPDATE observations SET %s = -1e999", columns[i]);
        raw_exec(f->db, sql);
        assert_int_equal(store_foreach_observation(s, NULL, 10, record_one_obs, &out), -EBADMSG);
        (void) snprintf(sql, sizeof(sql), "UPDATE observations SET %s = NULL", columns[i]);
        raw_exec(f->db, sql);
        assert_int_equal(store_foreach_observation(s, NULL, 10, record_one_obs, &out), 1);
    }
    /* An integral value is stored as an integer and read as the number it is. */
    raw_exec(f->db, "UPDATE observations SET cpu_mean_pct = 3");
    assert_int_equal(store_foreach_observation(s, NULL, 10, record_one_obs, &out), 1);
    assert_double_exact(out.cpu_mean_pct, 3);
    assert_true(isnan(out.vram_mean_pct));
    s = store_free(s);

    /* A STRICT table refuses text or a blob in a REAL column, so the damage starts with a table
     * definition without STRICT, as a file rewritten by another program might have. */
    db = raw_open(f->db);
    raw_exec_db(db, "PRAGMA writable_schema = ON;"
                    "UPDATE sqlite_schema SET sql = replace(sql, ') STRICT', ')') "
                    "WHERE type = 'table' AND name = 'observations';"
                    "PRAGMA writable_schema = OFF;");
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM sqlite_schema WHERE name = "
                                    "'observations' AND sql LIKE '%STRICT%'"),
                     0);

    assert_int_equal(store_open(f->db, &s), 0);
    for (size_t i = 0; i < ELEMENTSOF(columns); i++) {
        (void) snprintf(sql, sizeof(sql), "UPDATE observations SET %s = 'abc'", columns[i]);
        raw_exec(f->db, sql);
        assert_int_equal(raw_int(f->db, "SELECT count(*) FROM observations WHERE "
                                        "typeof(cpu_mean_pct) = 'text' OR "
                                        "typeof(mem_mean_pct) = 'text' OR "
                                        "typeof(gpu_mean_pct) = 'text' OR "
                                        "typeof(vram_mean_pct) = 'text'"),
                         1);
        assert_int_equal(store_foreach_observation(s, "victim", 10, record_one_obs, &out),
                         -EBADMSG);
        assert_non_null(strstr(store_last_error(s), "wrong type"));
        (void) snprintf(sql, sizeof(sql), "UPDATE observations SET %s = x'0102'", columns[i]);
        raw_exec(f->db, sql);
        assert_int_equal(store_foreach_observation(s, NULL, 10, record_one_obs, &out), -EBADMSG);
        (void) snprintf(sql, sizeof(sql), "UPDATE observations SET %s = 2.5", columns[i]);
        raw_exec(f->db, sql);
        assert_int_equal(store_foreach_observation(s, NULL, 10, record_one_obs, &out), 1);
    }
    assert_double_exact(out.cpu_mean_pct, 2.5);
    assert_double_exact(out.mem_mean_pct, 2.5);
    assert_double_exact(out.gpu_mean_pct, 2.5);
    assert_double_exact(out.vram_mean_pct, 2.5);
    assert_double_exact(out.cpu_delta_pct, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migrate_from_v1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_from_v2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_from_v4, setup, teardown),
        cmocka_unit_test_setup_teardown(test_declared_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_missing_resource, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_invalid_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_same_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_durability_kill_at_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_durability_kill_midway, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leases_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_observation_mean_corrupt, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
