/* SPDX-License-Identifier: MIT */

/* Tests of the SQLite store. Every test gets its own mkdtemp directory and a fresh database in it.
 * The on-disk checks read the database header as documented in
 * https://www.sqlite.org/fileformat2.html#the_database_header (bytes 18-19: 2 for WAL; bytes
 * 60-63: user_version, big-endian), so the tests need no SQLite of their own. */

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/macro.h"
#include "basic/time-util.h"
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
    (void) snprintf(f->dir, sizeof(f->dir), "%s/test-store-XXXXXX", tmp && *tmp ? tmp : "/tmp");
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

/* Exact comparison without tripping -Wfloat-equal. */
#define assert_double_exact(a, b) assert_double_near((a), (b), 0.0)
#define assert_double_near(a, b, eps)                                \
    do {                                                             \
        double a_ = (a), b_ = (b);                                   \
        if (!(fabs(a_ - b_) <= (eps))) {                             \
            print_error("%s = %.17g, expected %.17g\n", #a, a_, b_); \
            fail();                                                  \
        }                                                            \
    } while (0)
#define assert_double_close(a, b) assert_double_near((a), (b), 1e-9)

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
        .disk_written_bytes = 0,
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

    /* Copied, not formatted: the caller may pass a name that fills the array exactly. */
    memcpy(o.task, task, strnlen(task, sizeof(o.task) - 1));
    return o;
}

static void add(struct store *s,
                const char *task,
                int64_t started_ms,
                double cpu,
                double mem,
                double gpu,
                double vram)
{
    struct observation o = obs(task, started_ms, cpu, mem, gpu, vram);

    assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, NULL), 0);
}

static uint64_t count_obs(struct store *s, const char *task)
{
    uint64_t n = UINT64_MAX;

    assert_int_equal(store_count_observations(s, task, &n), 0);
    return n;
}

static int read_at(const char *path, off_t offset, void *buf, size_t n)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t k;

    if (fd < 0)
        return -errno;
    k = pread(fd, buf, n, offset);
    if (k < 0)
        return -errno;
    return k == (ssize_t) n ? 0 : -EIO;
}

static int write_at(const char *path, off_t offset, const void *buf, size_t n, int flags)
{
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | flags, 0644);
    ssize_t k;

    if (fd < 0)
        return -errno;
    k = pwrite(fd, buf, n, offset);
    if (k < 0)
        return -errno;
    return k == (ssize_t) n ? 0 : -EIO;
}

/* Reads a whole (small) file into a malloc'ed buffer. */
static char *slurp(const char *path, size_t *ret_n)
{
    struct stat st;
    char *buf;

    assert_int_equal(stat(path, &st), 0);
    buf = malloc((size_t) st.st_size + 1);
    assert_non_null(buf);
    if (st.st_size > 0)
        assert_int_equal(read_at(path, 0, buf, (size_t) st.st_size), 0);
    *ret_n = (size_t) st.st_size;
    return buf;
}

static uint32_t header_user_version(const char *path)
{
    unsigned char b[4];

    assert_int_equal(read_at(path, 60, b, sizeof(b)), 0);
    return (uint32_t) b[0] << 24 | (uint32_t) b[1] << 16 | (uint32_t) b[2] << 8 | b[3];
}

static off_t file_size(const char *path)
{
    struct stat st;

    if (stat(path, &st) < 0)
        return -1;
    return st.st_size;
}

static void test_open_creates_schema(void **state)
{
    struct fixture *f = *state;
    _cleanup_store_free_ struct store *s = NULL;
    char wal[PATH_MAX + 32], buf[64];
    unsigned char mode[2];
    unsigned version = 0;
    int64_t before_ms, after_ms, created_ms;

    before_ms = (int64_t) (now_usec(CLOCK_REALTIME) / USEC_PER_MSEC);
    assert_int_equal(store_open(f->db, &s), 0);
    after_ms = (int64_t) (now_usec(CLOCK_REALTIME) / USEC_PER_MSEC);
    assert_string_equal(store_last_error(s), "no error");

    assert_int_equal(store_get_schema_version(s, &version), 0);
    assert_int_equal(version, STORE_SCHEMA_VERSION);
    assert_int_equal(version, 7);

    /* The creation time is recorded once, in milliseconds. */
    assert_int_equal(store_meta_get(s, "created_ms", buf, sizeof(buf)), 0);
    created_ms = strtoll(buf, NULL, 10);
    assert_in_range(created_ms, before_ms - 1000, after_ms + 1000);

    assert_int_equal(count_obs(s, NULL), 0);

    /* WAL mode keeps a "-wal" file beside the database while it is open. */
    (void) snprintf(wal, sizeof(wal), "%s-wal", f->db);
    assert_true(file_size(wal) >= 0);

    s = store_free(s);
    assert_null(s);

    /* On disk: WAL recorded in the header (read and write versions 2), user_version 7. */
    assert_int_equal(read_at(f->db, 18, mode, sizeof(mode)), 0);
    assert_int_equal(mode[0], 2);
    assert_int_equal(mode[1], 2);
    assert_int_equal(header_user_version(f->db), 7);

    /* Reopening runs no migration again: created_ms is unchanged. */
    assert_int_equal(store_open(f->db, &s), 0);
    assert_int_equal(store_meta_get(s, "created_ms", buf, sizeof(buf)), 0);
    assert_int_equal(strtoll(buf, NULL, 10), created_ms);
}

static void test_free_null(void **state)
{
    assert_null(store_free(NULL));
}

static void test_open_refuses_non_wal(void **state)
{
    struct store *s = NULL;

    /* An in-memory database cannot use WAL; store_open must say so rather than carry on with a
     * journal mode that gives other crash guarantees. */
    assert_int_equal(store_open(":memory:", &s), -EOPNOTSUPP);
    assert_null(s);
    assert_int_equal(store_open("", &s), -EINVAL);
    assert_null(s);
}

static void test_open_missing_directory(void **state)
{
    struct fixture *f = *state;
    struct store *s = NULL;
    char path[PATH_MAX + 32];

    (void) snprintf(path, sizeof(path), "%s/no/such/dir/headroom.db", f->dir);
    assert_int_equal(store_open(path, &s), -ENOENT);
    assert_null(s);
}

static void test_ema_exact(void **state)
{
    struct fixture *f = *state;
    _cleanup_store_free_ struct store *s = NULL;
    struct task_stats st;

    assert_int_equal(store_open(f->db, &s), 0);

    /* The first observation is taken exactly, for all four resources. */
    add(s, "build", 1000, 10, 20, 30, 40);
    assert_int_equal(store_get_task_stats(s, "build", &st), 0);
    assert_string_equal(st.task, "build");
    assert_int_equal(st.count, 1);
    assert_double_exact(st.avg_cpu_delta, 10);
    assert_double_exact(st.avg_mem_delta, 20);
    assert_double_exact(st.avg_gpu_delta, 30);
    assert_double_exact(st.avg_vram_delta, 40);
    assert_int_equal(st.updated_ms, 1000 + 5000);

    /* Then avg = 0.2·value + 0.8·avg: 10 then 20 gives 12. */
    add(s, "build", 2000, 20, 40, 60, 80);
    assert_int_equal(store_get_task_stats(s, "build", &st), 0);
    assert_int_equal(st.count, 2);
    assert_double_close(st.avg_cpu_delta, 12);
    assert_double_close(st.avg_mem_delta, 24);
    assert_double_close(st.avg_gpu_delta, 36);
    assert_double_close(st.avg_vram_delta, 48);
    assert_int_equal(st.updated_ms, 2000 + 5000);

    /* Negative deltas are data too: 0.2·(−8) + 0.8·12 = 8. */
    add(s, "build", 3000, -8, 0, 0, 0);
    assert_int_equal(store_get_task_stats(s, "build", &st), 0);
    assert_int_equal(st.count, 3);
    assert_double_close(st.avg_cpu_delta, 8);
    assert_double_close(st.avg_mem_delta, 19.2);
    assert_double_close(st.avg_gpu_delta, 28.8);
    assert_double_close(st.avg_vram_delta, 38.4);

    /* A resource that was not measured (NAN) leaves its average unset until the first value,
     * which is then taken exactly; the others go on. */
    add(s, "cpu-only", 1000, 50, 10, NAN, NAN);
    assert_int_equal(store_get_task_stats(s, "cpu-only", &st), 0);
    assert_int_equal(st.count, 1);
    assert_true(isnan(st.avg_gpu_delta));
    assert_true(isnan(st.avg_vram_delta));
    add(s, "cpu-only", 2000, 100, 10, 7, NAN);
    assert_int_equal(store_get_task_stats(s, "cpu-only", &st), 0);
    assert_int_equal(st.count, 2);
    assert_double_close(st.avg_cpu_delta, 60);
    assert_double_exact(st.avg_gpu_delta, 7);
    assert_true(isnan(st.avg_vram_delta));

    assert_int_equal(store_get_task_stats(s, "unknown", &st), -ENOENT);
}

static void test_round_trip_reopen(void **state)
{
    struct fixture *f = *state;
    _cleanup_store_free_ struct store *s = NULL;
    struct task_stats st;

    assert_int_equal(store_open(f->db, &s), 0);
    for (int i = 0; i < 10; i++)
        add(s, "task1", 1000 + i, 5.0, 10.0, 2.0, 3.0);
    for (int i = 1; i <= 5; i++)
        add(s, "task2", 2000 + i, i, 10.0, 0, 0);
    s = store_free(s);

    assert_int_equal(store_open(f->db, &s), 0);
    assert_int_equal(store_get_task_stats(s, "task1", &st), 0);
    assert_int_equal(st.count, 10);
    assert_double_close(st.avg_cpu_delta, 5.0);
    assert_double_close(st.avg_mem_delta, 10.0);
    assert_double_close(st.avg_gpu_delta, 2.0);
    assert_double_close(st.avg_vram_delta, 3.0);
    assert_int_equal(st.updated_ms, 1009 + 5000);

    /* cpu 1..5: 1, 1.2, 1.56, 2.048, 2.6384. */
    assert_int_equal(store_get_task_stats(s, "task2", &st), 0);
    assert_int_equal(st.count, 5);
    assert_double_close(st.avg_cpu_delta, 2.6384);
    assert_double_close(st.avg_mem_delta, 10.0);
    assert_double_exact(st.avg_gpu_delta, 0);

    assert_int_equal(count_obs(s, NULL), 15);
    assert_int_equal(count_obs(s, "task1"), 10);
    assert_int_equal(count_obs(s, "task2"), 5);

    /* And the learning continues from the reloaded state. */
    add(s, "task2", 3000, 10, 10, 0, 0);
    assert_int_equal(store_get_task_stats(s, "task2", &st), 0);
    assert_int_equal(st.count, 6);
    assert_double_close(st.avg_cpu_delta, 0.2 * 10 + 0.8 * 2.6384);
}

struct collected {
    unsigned calls;
    int stop_at; /* Return -ECANCELED on this call (1-based); 0 = never. */
    char names[8][TASK_NAME_MAX + 1];
    int64_t started_ms[16];
    uint64_t counts[8];
};

static int collect_stats(const struct task_stats *st, void *userdata)
{
    struct collected *c = userdata;

    if (c->calls < ELEMENTSOF(c->names)) {
        memcpy(c->names[c->calls], st->task, sizeof(c->names[0]));
        c->counts[c->calls] = st->count;
    }
    c->calls++;
    if (c->stop_at > 0 && c->calls == (unsigned) c->stop_at)
        return -ECANCELED;
    return 1; /* Positive values do not stop the iteration. */
}

static int collect_obs(const struct observation *o, void *userdata)
{
    struct collected *c = userdata;

    if (c->calls < ELEMENTSOF(c->started_ms))
        c->started_ms[c->calls] = o->started_ms;
    if (c->calls < ELEMENTSOF(c->names))
        memcpy(c->names[c->calls], o->task, sizeof(c->names[0]));
    c->calls++;
    if (c->stop_at > 0 && c->calls == (unsigned) c->stop_at)
        return -ECANCELED;
    return 0;
}

static void test_ring_bound(void **state)
{
    struct fixture *f = *state;
    _cleanup_store_free_ struct store *s = NULL;
    struct collected c = {};
    struct task_stats st;

    assert_int_equal(store_open(f->db, &s), 0);
    for (int i = 0; i < 3; i++)
        add(s, "other", 100 + i, 1, 1, 1, 1);
    for (int i = 0; i < 12; i++) {
        struct observation o = obs("ring", i, 1, 1, 1, 1);

        assert_int_equal(store_add_observation(s, &o, 5, MAXTYPES, NULL), 0);
        assert_int_equal(count_obs(s, "ring"), MIN(i + 1, 5));
    }

    /* Only the newest 5 remain; the statistics still count all 12; other tasks are untouched. */
    assert_int_equal(count_obs(s, "ring"), 5);
    assert_int_equal(count_obs(s, "other"), 3);
    assert_int_equal(count_obs(s, NULL), 8);
    assert_int_equal(store_get_task_stats(s, "ring", &st), 0);
    assert_int_equal(st.count, 12);

    assert_int_equal(store_foreach_observation(s, "ring", 100, collect_obs, &c), 5);
    assert_int_equal(c.calls, 5);
    for (unsigned i = 0; i < 5; i++)
        assert_int_equal(c.started_ms[i], 11 - (int64_t) i);

    /* Lowering the bound later trims the ring on the next insert. */
    {
        struct observation o = obs("ring", 12, 1, 1, 1, 1);

        assert_int_equal(store_add_observation(s, &o, 2, MAXTYPES, NULL), 0);
    }
    assert_int_equal(count_obs(s, "ring"), 2);
    c = (struct collected){};
    assert_int_equal(store_foreach_observation(s, "ring", 100, collect_obs, &c), 2);
    assert_int_equal(c.started_ms[0], 12);
    assert_int_equal(c.started_ms[1], 11);
}

static void test_max_task_types(void **state)
{
    struct fixture *f = *state;
    _cleanup_store_free_ struct store *s = NULL;
    struct observation o;
    struct task_stats st;

    assert_int_equal(store_open(f->db, &s), 0);
    o = obs("a", 1, 1, 1, 1, 1);
    assert_int_equal(store_add_observation(s, &o, KEEP, 2, NULL), 0);
    o = obs("b", 2, 1, 1, 1, 1);
    assert_int_equal(store_add_observation(s, &o, KEEP, 2, NULL), 0);

    o = obs("c", 3, 1, 1, 1, 1);
    assert_int_equal(store_add_observation(s, &o, KEEP, 2, NULL), -ENOSPC);
    assert_non_null(strstr(store_last_error(s), "task types"));
    assert_int_equal(store_get_task_stats(s, "c", &st), -ENOENT);
    assert_int_equal(count_obs(s, NULL), 2);
    assert_int_equal(count_obs(s, "c"), 0);

    /* Known types are still accepted at the limit, and a larger limit admits the new one. */
    o = obs("a", 4, 1, 1, 1, 1);
    assert_int_equal(store_add_observation(s, &o, KEEP, 2, NULL), 0);
    assert_int_equal(store_get_task_stats(s, "a", &st), 0);
    assert_int_equal(st.count, 2);
    o = obs("c", 5, 1, 1, 1, 1);
    assert_int_equal(store_add_observation(s, &o, KEEP, 3, NULL), 0);
    assert_int_equal(count_obs(s, NULL), 4);
}

static void test_invalid_input(void **state)
{
    struct fixture *f = *state;
    _cleanup_store_free_ struct store *s = NULL;
    struct observation o;
    struct task_stats st;
    char long_name[TASK_NAME_MAX + 2];
    uint64_t n;

    assert_int_equal(store_open(f->db, &s), 0);

    /* Empty name. */
    o = obs("", 1, 1, 1, 1, 1);
    assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, NULL), -EINVAL);
    assert_string_equal(store_last_error(s), "invalid task name");

    /* 129 bytes: the array is full and has no NUL. */
    o = obs("x", 1, 1, 1, 1, 1);
    memset(o.task, 'a', sizeof(o.task));
    assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, NULL), -EINVAL);
    memset(long_name, 'a', TASK_NAME_MAX + 1);
    long_name[TASK_NAME_MAX + 1] = '\0';
    assert_int_equal(store_get_task_stats(s, long_name, &st), -EINVAL);
    assert_int_equal(store_count_observations(s, long_name, &n), -EINVAL);

    /* Control characters and DEL. */
    o = obs("a\tb", 1, 1, 1, 1, 1);
    assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, NULL), -EINVAL);
    o = obs("a\nb", 1, 1, 1, 1, 1);
    assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, NULL), -EINVAL);
    o = obs("a\x7f", 1, 1, 1, 1, 1);
    assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, NULL), -EINVAL);
    assert_int_equal(store_get_task_stats(s, "", &st), -EINVAL);

    /* Other fields. */
    o = obs("ok", 1, 1, 1, 1, 1);
    o.complexity = NAN;
    assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, NULL), -EINVAL);
    o = obs("ok", 1, 1, 1, 1, 1);
    o.complexity = INFINITY;
    assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, NULL), -EINVAL);
    o = obs("ok", 1, 1, -INFINITY, 1, 1);
    assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, NULL), -EINVAL);
    o = obs("ok", 1, 1, 1, 1, 1);
    o.window_ms = -1;
    assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, NULL), -EINVAL);
    o = obs("ok", INT64_MAX, 1, 1, 1, 1);
    assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, NULL), -EINVAL);
    o = obs("ok", 1, 1, 1, 1, 1);
    o.disk_written_bytes = (uint64_t) INT64_MAX + 1;
    assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, NULL), -EINVAL);
    o = obs("ok", 1, 1, 1, 1, 1);
    (void) snprintf(o.source, sizeof(o.source), "Bad!");
    assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, NULL), -EINVAL);
    o = obs("ok", 1, 1, 1, 1, 1);
    memset(o.source, 'a', sizeof(o.source));
    assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, NULL), -EINVAL);
    o = obs("ok", 1, 1, 1, 1, 1);
    o.declared_mem_pct = -1;
    assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, NULL), -EINVAL);
    o = obs("ok", 1, 1, 1, 1, 1);
    o.declared_gpu_pct = INFINITY;
    assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, NULL), -EINVAL);
    o = obs("ok", 1, 1, 1, 1, 1);
    o.cpu_mean_pct = INFINITY;
    assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, NULL), -EINVAL);
    assert_string_equal(store_last_error(s), "a resource mean is infinite");
    o = obs("ok", 1, 1, 1, 1, 1);
    o.mem_mean_pct = -INFINITY;
    assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, NULL), -EINVAL);
    o = obs("ok", 1, 1, 1, 1, 1);
    o.gpu_mean_pct = INFINITY;
    assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, NULL), -EINVAL);
    o = obs("ok", 1, 1, 1, 1, 1);
    o.vram_mean_pct = -INFINITY;
    assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, NULL), -EINVAL);
    o = obs("ok", 1, 1, 1, 1, 1);
    o.duration_ms = -2;
    assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, NULL), -EINVAL);
    o = obs("ok", 1, 1, 1, 1, 1);
    o.weight = 1.5;
    assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, NULL), -EINVAL);
    o.weight = -0.5;
    assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, NULL), -EINVAL);
    o.weight = NAN;
    assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, NULL), -EINVAL);
    o = obs("ok", 1, 1, 1, 1, 1);
    assert_int_equal(store_add_observation(s, &o, 0, MAXTYPES, NULL), -EINVAL);
    assert_int_equal(store_add_observation(s, &o, KEEP, 0, NULL), -EINVAL);

    /* Nothing of the above was stored. */
    assert_int_equal(count_obs(s, NULL), 0);
    assert_int_equal(store_get_task_stats(s, "ok", &st), -ENOENT);

    /* The longest valid name, 128 bytes, and UTF-8 are accepted. */
    memset(long_name, 'b', TASK_NAME_MAX);
    long_name[TASK_NAME_MAX] = '\0';
    o = obs(long_name, 1, 1, 1, 1, 1);
    assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, NULL), 0);
    assert_int_equal(store_get_task_stats(s, long_name, &st), 0);
    assert_string_equal(st.task, long_name);
    o = obs("r\xc3\xa9sum\xc3\xa9 build", 1, 1, 1, 1, 1);
    assert_int_equal(store_add_observation(s, &o, KEEP, MAXTYPES, NULL), 0);
    assert_int_equal(count_obs(s, NULL), 2);
}

static int record_one(const struct observation *o, void *userdata)
{
    *(struct observation *) userdata = *o;
    return 0;
}

/* Keeps the first two observations in userdata, an array of two, in the order listed. */
static int record_two(const struct observation *o, void *userdata)
{
    struct observation *v = userdata;
    unsigned i = v[0].task[0] ? 1 : 0;

    if (i == 1 && v[1].task[0])
        return -ENOBUFS;
    v[i] = *o;
    return 0;
}

static void test_observation_round_trip(void **state)
{
    struct fixture *f = *state;
    _cleanup_store_free_ struct store *s = NULL;
    struct observation in, out, two[2];

    assert_int_equal(store_open(f->db, &s), 0);

    in = obs("gpu-job", 1700000000123, 12.5, -3.25, NAN, NAN);
    in.complexity = 2.5;
    in.window_ms = 7000;
    in.disk_written_bytes = 123456789012;
    in.overlapped = true;
    (void) snprintf(in.source, sizeof(in.source), "run");
    in.declared_cpu_pct = 25;
    in.declared_vram_pct = 0; /* A declaration of zero is a declaration. */
    in.duration_ms = 61000;
    in.weight = 0.25;
    /* Means below the peaks; a negative one (the load fell below the baseline) is kept, and a
     * measured mean of zero is not "not measured". */
    in.cpu_mean_pct = 7.75;
    in.mem_mean_pct = -1.5;
    in.gpu_mean_pct = NAN;
    in.vram_mean_pct = 0;
    assert_int_equal(store_add_observation(s, &in, KEEP, MAXTYPES, NULL), 0);

    memset(&out, 0, sizeof(out));
    assert_int_equal(store_foreach_observation(s, "gpu-job", 1, record_one, &out), 1);
    assert_string_equal(out.task, "gpu-job");
    assert_double_exact(out.complexity, 2.5);
    assert_int_equal(out.started_ms, 1700000000123);
    assert_int_equal(out.window_ms, 7000);
    assert_double_exact(out.cpu_delta_pct, 12.5);
    assert_double_exact(out.mem_delta_pct, -3.25);
    assert_true(isnan(out.gpu_delta_pct));
    assert_true(isnan(out.vram_delta_pct));
    assert_int_equal(out.disk_written_bytes, 123456789012);
    assert_true(out.overlapped);
    assert_string_equal(out.source, "run");
    assert_double_exact(out.declared_cpu_pct, 25);
    assert_true(isnan(out.declared_mem_pct));
    assert_true(isnan(out.declared_gpu_pct));
    assert_double_exact(out.declared_vram_pct, 0);
    assert_int_equal(out.duration_ms, 61000);
    assert_double_exact(out.weight, 0.25);
    assert_double_exact(out.cpu_mean_pct, 7.75);
    assert_double_exact(out.mem_mean_pct, -1.5);
    assert_true(isnan(out.gpu_mean_pct));
    assert_false(isnan(out.vram_mean_pct));
    assert_double_exact(out.vram_mean_pct, 0);

    /* Defaults: an empty source is "notify"; an unknown byte count stays unknown. */
    in = obs("gpu-job", 1700000010000, 1, 1, 1, 1);
    in.disk_written_bytes = STORE_BYTES_UNKNOWN;
    assert_int_equal(store_add_observation(s, &in, KEEP, MAXTYPES, NULL), 0);
    assert_int_equal(store_foreach_observation(s, NULL, 1, record_one, &out), 1);
    assert_int_equal(out.started_ms, 1700000010000);
    assert_string_equal(out.source, STORE_SOURCE_DEFAULT);
    assert_int_equal(out.disk_written_bytes, STORE_BYTES_UNKNOWN);
    assert_false(out.overlapped);
    /* A zero weight is stored as 1; an unknown duration stays unknown. */
    assert_double_exact(out.weight, 1);
    assert_int_equal(out.duration_ms, STORE_DURATION_UNKNOWN);
    assert_true(isnan(out.declared_cpu_pct));
    /* Means not measured stay not measured. */
    assert_true(isnan(out.cpu_mean_pct));
    assert_true(isnan(out.mem_mean_pct));
    assert_true(isnan(out.gpu_mean_pct));
    assert_true(isnan(out.vram_mean_pct));

    /* The means read back the same from a fresh connection; the older row is the second. */
    s = store_free(s);
    assert_int_equal(store_open(f->db, &s), 0);
    memset(two, 0, sizeof(two));
    assert_int_equal(store_foreach_observation(s, "gpu-job", 2, record_two, two), 2);
    assert_int_equal(two[0].started_ms, 1700000010000);
    assert_true(isnan(two[0].cpu_mean_pct));
    assert_true(isnan(two[0].vram_mean_pct));
    assert_int_equal(two[1].started_ms, 1700000000123);
    assert_double_exact(two[1].cpu_mean_pct, 7.75);
    assert_double_exact(two[1].mem_mean_pct, -1.5);
    assert_true(isnan(two[1].gpu_mean_pct));
    assert_double_exact(two[1].vram_mean_pct, 0);
}

static void test_not_a_database(void **state)
{
    struct fixture *f = *state;
    static const char junk[] = "not a database\n";
    struct store *s = NULL;
    _cleanup_free_ char *after = NULL;
    size_t n;

    assert_int_equal(write_at(f->db, 0, junk, sizeof(junk) - 1, O_CREAT | O_TRUNC), 0);
    assert_int_equal(store_open(f->db, &s), -EBADMSG);
    assert_null(s);

    after = slurp(f->db, &n);
    assert_int_equal(n, sizeof(junk) - 1);
    assert_memory_equal(after, junk, n);
}

static void test_future_version(void **state)
{
    struct fixture *f = *state;
    static const unsigned char v99[4] = { 0, 0, 0, 99 }, legacy[2] = { 1, 1 };
    _cleanup_free_ char *before = NULL, *after = NULL;
    struct store *s = NULL;
    size_t n_before, n_after;

    assert_int_equal(store_open(f->db, &s), 0);
    add(s, "t", 1, 1, 1, 1, 1);
    s = store_free(s);

    /* Also switch the file back to a rollback journal (header bytes 18-19 = 1): opening it must
     * not even convert it to WAL. */
    assert_int_equal(write_at(f->db, 60, v99, sizeof(v99), 0), 0);
    assert_int_equal(write_at(f->db, 18, legacy, sizeof(legacy), 0), 0);
    assert_int_equal(header_user_version(f->db), 99);
    before = slurp(f->db, &n_before);

    assert_int_equal(store_open(f->db, &s), -EPROTONOSUPPORT);
    assert_null(s);

    /* The newer database was not modified. */
    after = slurp(f->db, &n_after);
    assert_int_equal(n_after, n_before);
    assert_memory_equal(after, before, n_before);
    assert_int_equal(header_user_version(f->db), 99);
}

static void test_migrate_from_v0(void **state)
{
    struct fixture *f = *state;
    _cleanup_store_free_ struct store *s = NULL;
    unsigned version = 0;
    char buf[32];

    /* A zero-length file is a valid, empty SQLite database at user_version 0 (the state a crash
     * between creating the file and the first migration would leave). */
    assert_int_equal(write_at(f->db, 0, "", 0, O_CREAT | O_TRUNC), 0);
    assert_int_equal(file_size(f->db), 0);

    assert_int_equal(store_open(f->db, &s), 0);
    assert_int_equal(store_get_schema_version(s, &version), 0);
    assert_int_equal(version, 7);
    assert_int_equal(store_meta_get(s, "created_ms", buf, sizeof(buf)), 0);
    add(s, "after-migration", 1, 1, 2, 3, 4);
    assert_int_equal(count_obs(s, NULL), 1);
    s = store_free(s);
    assert_int_equal(header_user_version(f->db), 7);
}

enum child_end {
    CHILD_EXEC, /* The image is replaced: SQLite's fds (O_CLOEXEC) go, nothing is flushed. */
    CHILD_KILL, /* kill -9 of itself. */
};

#define DURABLE_N 200

/* Runs in a forked child: opens the store, commits DURABLE_N observations one transaction each,
 * and ends without store_free(), by exec() or by SIGKILL. Never returns. (exec rather than _exit:
 * the effect on the database is the same, and a memory checker following the test does not
 * report the deliberately unclosed connection as a leak.) */
_noreturn_ static void child_insert(const char *path, enum child_end end)
{
    struct store *s = NULL;

    if (store_open(path, &s) < 0)
        _exit(10);
    for (int i = 0; i < DURABLE_N; i++) {
        struct observation o = obs(i % 2 ? "odd" : "even", i, i, 1, 1, 1);

        if (store_add_observation(s, &o, KEEP, MAXTYPES, NULL) < 0)
            _exit(11);
    }
    if (end == CHILD_KILL)
        (void) raise(SIGKILL);
    else
        (void) execl("/bin/true", "true", (char *) NULL);
    _exit(12);
}

static void check_durable(const char *path, enum child_end end)
{
    _cleanup_store_free_ struct store *s = NULL;
    char wal[PATH_MAX + 32];
    struct task_stats st;
    struct collected c = {};
    int status = 0;
    pid_t pid;

    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        child_insert(path, end);

    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (end == CHILD_KILL) {
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGKILL);
    } else {
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }

    /* The connection was never closed, so the commits still sit in the WAL, not yet checkpointed
     * into the database file. */
    (void) snprintf(wal, sizeof(wal), "%s-wal", path);
    assert_true(file_size(wal) > 0);

    assert_int_equal(store_open(path, &s), 0);
    assert_int_equal(count_obs(s, NULL), DURABLE_N);
    assert_int_equal(store_get_task_stats(s, "even", &st), 0);
    assert_int_equal(st.count, DURABLE_N / 2);
    assert_int_equal(store_get_task_stats(s, "odd", &st), 0);
    assert_int_equal(st.count, DURABLE_N / 2);
    assert_int_equal(store_foreach_observation(s, NULL, 1, collect_obs, &c), 1);
    assert_int_equal(c.started_ms[0], DURABLE_N - 1);
}

static void test_durability_exec(void **state)
{
    struct fixture *f = *state;

    check_durable(f->db, CHILD_EXEC);
}

static void test_durability_kill(void **state)
{
    struct fixture *f = *state;

    check_durable(f->db, CHILD_KILL);
}

static void test_foreach_order_and_stop(void **state)
{
    struct fixture *f = *state;
    _cleanup_store_free_ struct store *s = NULL;
    struct collected c = {};
    static const char *const order[] = { "Zulu", "alpha", "bravo", "charlie" };

    assert_int_equal(store_open(f->db, &s), 0);

    /* Nothing yet: no callbacks. */
    assert_int_equal(store_foreach_task_stats(s, collect_stats, &c), 0);
    assert_int_equal(store_foreach_observation(s, NULL, 10, collect_obs, &c), 0);
    assert_int_equal(c.calls, 0);

    add(s, "charlie", 1, 1, 1, 1, 1);
    add(s, "alpha", 2, 1, 1, 1, 1);
    add(s, "bravo", 3, 1, 1, 1, 1);
    add(s, "Zulu", 4, 1, 1, 1, 1);
    add(s, "alpha", 5, 1, 1, 1, 1);

    /* Task-name order, byte-wise (upper case sorts first). */
    assert_int_equal(store_foreach_task_stats(s, collect_stats, &c), 4);
    assert_int_equal(c.calls, 4);
    for (unsigned i = 0; i < ELEMENTSOF(order); i++)
        assert_string_equal(c.names[i], order[i]);
    assert_int_equal(c.counts[1], 2);
    assert_int_equal(c.counts[0], 1);

    /* A negative return stops at once and is passed on. */
    c = (struct collected){ .stop_at = 2 };
    assert_int_equal(store_foreach_task_stats(s, collect_stats, &c), -ECANCELED);
    assert_int_equal(c.calls, 2);
    assert_string_equal(c.names[1], "alpha");

    /* The statement was reset: a new iteration starts from the beginning. */
    c = (struct collected){};
    assert_int_equal(store_foreach_task_stats(s, collect_stats, &c), 4);
    assert_string_equal(c.names[0], "Zulu");

    /* Observations: newest first, across tasks or for one, bounded by limit. */
    c = (struct collected){};
    assert_int_equal(store_foreach_observation(s, NULL, 3, collect_obs, &c), 3);
    assert_int_equal(c.started_ms[0], 5);
    assert_int_equal(c.started_ms[1], 4);
    assert_int_equal(c.started_ms[2], 3);
    assert_string_equal(c.names[1], "Zulu");

    c = (struct collected){};
    assert_int_equal(store_foreach_observation(s, "alpha", 10, collect_obs, &c), 2);
    assert_int_equal(c.started_ms[0], 5);
    assert_int_equal(c.started_ms[1], 2);

    c = (struct collected){ .stop_at = 1 };
    assert_int_equal(store_foreach_observation(s, NULL, 10, collect_obs, &c), -ECANCELED);
    assert_int_equal(c.calls, 1);

    assert_int_equal(store_foreach_observation(s, NULL, 0, collect_obs, &c), -EINVAL);
    assert_int_equal(store_foreach_observation(s, "", 1, collect_obs, &c), -EINVAL);
    c = (struct collected){};
    assert_int_equal(store_foreach_observation(s, "nobody", 10, collect_obs, &c), 0);
    assert_int_equal(c.calls, 0);
}

static void test_meta(void **state)
{
    struct fixture *f = *state;
    _cleanup_store_free_ struct store *s = NULL;
    char buf[16], big[STORE_META_VALUE_MAX + 2];

    assert_int_equal(store_open(f->db, &s), 0);

    assert_int_equal(store_meta_get(s, "host.id", buf, sizeof(buf)), -ENOENT);
    assert_int_equal(store_meta_set(s, "host.id", "abc"), 0);
    assert_int_equal(store_meta_get(s, "host.id", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "abc");
    assert_int_equal(store_meta_set(s, "host.id", "replaced"), 0);
    assert_int_equal(store_meta_get(s, "host.id", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "replaced");

    /* "replaced" needs 9 bytes with its NUL; buf stays untouched when it does not fit. */
    memcpy(buf, "unchanged", 10);
    assert_int_equal(store_meta_get(s, "host.id", buf, 8), -ENOBUFS);
    assert_string_equal(buf, "unchanged");
    assert_int_equal(store_meta_get(s, "host.id", buf, 9), 0);
    assert_string_equal(buf, "replaced");

    assert_int_equal(store_meta_set(s, "", "x"), -EINVAL);
    assert_int_equal(store_meta_set(s, "bad key", "x"), -EINVAL);
    assert_int_equal(store_meta_get(s, "bad\nkey", buf, sizeof(buf)), -EINVAL);
    memset(big, 'v', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(store_meta_set(s, "big", big), -EINVAL);
    big[STORE_META_VALUE_MAX] = '\0';
    assert_int_equal(store_meta_set(s, "big", big), 0);

    /* Survives a reopen. */
    s = store_free(s);
    assert_int_equal(store_open(f->db, &s), 0);
    assert_int_equal(store_meta_get(s, "host.id", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "replaced");
}

static void test_two_connections(void **state)
{
    struct fixture *f = *state;
    _cleanup_store_free_ struct store *a = NULL, *b = NULL;
    struct task_stats st;

    /* A second connection (the CLI reading while the daemon writes, say) sees each commit. */
    assert_int_equal(store_open(f->db, &a), 0);
    assert_int_equal(store_open(f->db, &b), 0);
    add(a, "shared", 1, 10, 0, 0, 0);
    assert_int_equal(store_get_task_stats(b, "shared", &st), 0);
    assert_int_equal(st.count, 1);
    add(b, "shared", 2, 20, 0, 0, 0);
    assert_int_equal(store_get_task_stats(a, "shared", &st), 0);
    assert_int_equal(st.count, 2);
    assert_double_close(st.avg_cpu_delta, 12);
}

static void test_failed_write_rolls_back(void **state)
{
    struct fixture *f = *state;
    _cleanup_store_free_ struct store *s = NULL;
    char wal[PATH_MAX + 32];
    struct rlimit saved, lim;
    struct task_stats st;
    struct observation o;
    off_t size;
    int r, r2;

    assert_int_equal(store_open(f->db, &s), 0);
    add(s, "t", 1, 10, 10, 10, 10);
    (void) snprintf(wal, sizeof(wal), "%s-wal", f->db);
    size = file_size(wal);
    assert_true(size > 0);

    /* Forbid the WAL to grow: the commit cannot append its frames. The kernel then fails write(2)
     * with EFBIG instead of sending SIGXFSZ. */
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    lim = saved;
    lim.rlim_cur = (rlim_t) size;
    assert_true(signal(SIGXFSZ, SIG_IGN) != SIG_ERR);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);

    o = obs("t", 2, 20, 20, 20, 20);
    r = store_add_observation(s, &o, KEEP, MAXTYPES, NULL);
    o = obs("new-task", 3, 20, 20, 20, 20);
    r2 = store_add_observation(s, &o, KEEP, MAXTYPES, NULL);

    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
    assert_true(signal(SIGXFSZ, SIG_DFL) != SIG_ERR);

    print_message("failed writes returned %d and %d: %s\n", r, r2, store_last_error(s));
    assert_true(r == -EIO || r == -ENOSPC);
    assert_true(r2 == -EIO || r2 == -ENOSPC);
    assert_string_not_equal(store_last_error(s), "no error");

    /* Neither the observation nor the statistics changed, and the store still works. */
    assert_int_equal(count_obs(s, NULL), 1);
    assert_int_equal(store_get_task_stats(s, "t", &st), 0);
    assert_int_equal(st.count, 1);
    assert_double_exact(st.avg_cpu_delta, 10);
    assert_int_equal(store_get_task_stats(s, "new-task", &st), -ENOENT);

    add(s, "t", 4, 20, 20, 20, 20);
    assert_int_equal(store_get_task_stats(s, "t", &st), 0);
    assert_int_equal(st.count, 2);
    assert_double_close(st.avg_cpu_delta, 12);
    assert_int_equal(count_obs(s, NULL), 2);
}

static void test_maintain(void **state)
{
    struct fixture *f = *state;
    _cleanup_store_free_ struct store *s = NULL;
    char wal[PATH_MAX + 32];

    assert_int_equal(store_open(f->db, &s), 0);
    for (int i = 0; i < 20; i++)
        add(s, "m", i, 1, 1, 1, 1);
    (void) snprintf(wal, sizeof(wal), "%s-wal", f->db);
    assert_true(file_size(wal) > 0);

    assert_int_equal(store_maintain(s), 0);
    assert_int_equal(file_size(wal), 0);
    assert_int_equal(count_obs(s, "m"), 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_free_null),
        cmocka_unit_test_setup_teardown(test_open_creates_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_refuses_non_wal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_missing_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ema_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ring_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_task_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_observation_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_future_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_from_v0, setup, teardown),
        cmocka_unit_test_setup_teardown(test_durability_exec, setup, teardown),
        cmocka_unit_test_setup_teardown(test_durability_kill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreach_order_and_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_meta, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_connections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_write_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_maintain, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
