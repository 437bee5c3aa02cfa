/* SPDX-License-Identifier: MIT */

/* Tests of the job queue table (schema step 6): insert with a fresh id, update, read back every
 * field, the listing of unfinished jobs and the newest finished ones, pruning, ids that are never
 * reused, refused input, persistence across a reopen, and rows damaged behind the store's back. */

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/macro.h"
#include "store/store.h"

/* cmocka.h needs <setjmp.h>, <stdarg.h> and <stddef.h> first. */
#include <cmocka.h>

struct fixture {
    char dir[PATH_MAX];
    char db[PATH_MAX + 16];
    struct store *s;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    const char *tmp = getenv("TMPDIR");

    if (!f)
        return -1;
    (void) snprintf(f->dir, sizeof(f->dir), "%s/test-store-jobs-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    (void) snprintf(f->db, sizeof(f->db), "%s/headroom.db", f->dir);
    if (store_open(f->db, &f->s) < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    DIR *d = opendir(f->dir);

    f->s = store_free(f->s);
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

static struct store_job job(const char *state, const char *task)
{
    struct store_job j = {
        .priority = 1, .uid = 1000, .gid = 1000, .complexity = 2.5,
        .spec = (char *) "{\"argv\":[\"true\"],\"cwd\":\"/\"}",
        .submitted_ms = 1700000000000, .exit_code = -1,
    };
    (void) snprintf(j.state, sizeof(j.state), "%s", state);
    (void) snprintf(j.task, sizeof(j.task), "%s", task);
    return j;
}

static void test_round_trip(void **state)
{
    struct fixture *f = *state;
    struct store_job j = job("queued", "encode"), got;
    int64_t id = 0, id2 = 0;

    assert_int_equal(store_put_job(f->s, &j, &id), 0);
    assert_true(id > 0);
    assert_int_equal(store_put_job(f->s, &j, &id2), 0);
    assert_int_equal(id2, id + 1);

    j.id = id;
    (void) snprintf(j.state, sizeof(j.state), "running");
    j.started_ms = 1700000001000;
    j.wrapper_pid = 4242;
    j.wrapper_start = 123456789;
    j.pid = 4243;
    j.task_id = UINT64_C(0xfedcba9876543210); /* above INT64_MAX: stored with the same bits */
    j.lease_id = 77;
    assert_int_equal(store_put_job(f->s, &j, NULL), 0);

    assert_int_equal(store_get_job(f->s, id, &got), 0);
    assert_string_equal(got.state, "running");
    assert_int_equal(got.priority, 1);
    assert_int_equal(got.uid, 1000);
    assert_string_equal(got.task, "encode");
    assert_true(got.complexity > 2.49 && got.complexity < 2.51);
    assert_string_equal(got.spec, j.spec);
    assert_int_equal(got.started_ms, 1700000001000);
    assert_int_equal(got.wrapper_pid, 4242);
    assert_int_equal(got.wrapper_start, 123456789);
    assert_int_equal(got.pid, 4243);
    assert_true(got.task_id == UINT64_C(0xfedcba9876543210));
    assert_int_equal(got.lease_id, 77);
    assert_int_equal(got.exit_code, -1);
    store_job_done(&got);
    assert_null(got.spec);

    assert_int_equal(store_get_job(f->s, 999, &got), -ENOENT);
}

struct collect {
    int64_t ids[64];
    unsigned n;
};

static int collect(const struct store_job *j, void *userdata)
{
    struct collect *c = userdata;
    c->ids[c->n++] = j->id;
    return 0;
}

static void test_list_and_prune(void **state)
{
    struct fixture *f = *state;
    int64_t ids[8];
    static const char *const states[] = { "done", "queued", "failed", "running", "cancelled", "lost", "suspended", "done" };

    for (unsigned i = 0; i < ELEMENTSOF(states); i++) {
        struct store_job j = job(states[i], "t");
        if (strcmp(states[i], "done") == 0 || strcmp(states[i], "failed") == 0)
            j.exit_code = strcmp(states[i], "done") == 0 ? 0 : 3;
        assert_int_equal(store_put_job(f->s, &j, &ids[i]), 0);
    }
    /* Unfinished: 1, 3, 6; the newest two finished: 5, 7. In id order. */
    struct collect c = { .n = 0 };
    assert_int_equal(store_foreach_job(f->s, 2, collect, &c), 5);
    int64_t want[] = { ids[1], ids[3], ids[5], ids[6], ids[7] };
    assert_int_equal(c.n, 5);
    for (unsigned i = 0; i < 5; i++)
        assert_int_equal(c.ids[i], want[i]);

    /* Keep one finished: 0, 2, 4 and 5 go; the unfinished stay whatever their age. */
    assert_int_equal(store_prune_jobs(f->s, 1), 4);
    c.n = 0;
    assert_int_equal(store_foreach_job(f->s, 100, collect, &c), 4);
    assert_int_equal(c.ids[0], ids[1]);
    assert_int_equal(c.ids[3], ids[7]);

    /* The newest was not pruned, but even a pruned id is never given again. */
    int64_t next;
    struct store_job j = job("queued", "t");
    assert_int_equal(store_put_job(f->s, &j, &next), 0);
    assert_int_equal(next, ids[7] + 1);
}

static void test_refused(void **state)
{
    struct fixture *f = *state;
    struct store_job j;

    j = job("sleeping", "t");
    assert_int_equal(store_put_job(f->s, &j, NULL), -EINVAL);
    j = job("queued", "t");
    j.priority = 3;
    assert_int_equal(store_put_job(f->s, &j, NULL), -EINVAL);
    j = job("queued", "bad\nname");
    assert_int_equal(store_put_job(f->s, &j, NULL), -EINVAL);
    j = job("queued", "t");
    j.spec = (char *) "";
    assert_int_equal(store_put_job(f->s, &j, NULL), -EINVAL);
    j = job("queued", "t");
    j.spec = NULL;
    assert_int_equal(store_put_job(f->s, &j, NULL), -EINVAL);
    j = job("queued", "t");
    j.complexity = -1;
    assert_int_equal(store_put_job(f->s, &j, NULL), -EINVAL);
    j = job("queued", "t");
    j.id = -5;
    assert_int_equal(store_put_job(f->s, &j, NULL), -EINVAL);
    struct collect c = { .n = 0 };
    assert_int_equal(store_foreach_job(f->s, 100, collect, &c), 0);
}

static void test_reopen_and_damage(void **state)
{
    struct fixture *f = *state;
    struct store_job j = job("queued", "t"), got;
    int64_t id;

    assert_int_equal(store_put_job(f->s, &j, &id), 0);
    f->s = store_free(f->s);
    assert_int_equal(store_open(f->db, &f->s), 0);
    assert_int_equal(store_get_job(f->s, id, &got), 0);
    assert_string_equal(got.state, "queued");
    store_job_done(&got);

    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE jobs SET state = 'exploded'", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    assert_int_equal(store_get_job(f->s, id, &got), -EBADMSG);
    struct collect c = { .n = 0 };
    assert_int_equal(store_foreach_job(f->s, 100, collect, &c), -EBADMSG);

    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE jobs SET state = 'queued', priority = 9", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    assert_int_equal(store_get_job(f->s, id, &got), -EBADMSG);

    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE jobs SET priority = 1, spec = ''", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    assert_int_equal(store_get_job(f->s, id, &got), -EBADMSG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_and_prune, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_and_damage, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
