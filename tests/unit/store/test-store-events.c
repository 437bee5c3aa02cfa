/* SPDX-License-Identifier: MIT */

/* Tests of the event log table (schema step 7): append, list after a sequence number with a
 * limit, pruning to the newest events, refused input, persistence across a reopen, and rows
 * damaged behind the store's back, which a plain SQLite connection of the test writes. */

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
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    const char *tmp = getenv("TMPDIR");

    if (!f)
        return -1;
    (void) snprintf(f->dir, sizeof(f->dir), "%s/test-store-events-XXXXXX", tmp && *tmp ? tmp : "/tmp");
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

static void make_event(struct store_event *e, uint64_t seq, const char *type, char *data, size_t len)
{
    memset(e, 0, sizeof(*e));
    e->seq = seq;
    e->time_ms = 1700000000000 + (int64_t) seq;
    (void) snprintf(e->type, sizeof(e->type), "%s", type);
    e->task_id = seq * 3;
    e->job_id = seq % 2 ? seq : 0;
    (void) snprintf(data, len, "{\"seq\":%llu,\"type\":\"%s\"}", (unsigned long long) seq, type);
    e->data = data;
}

static int append(struct store *s, uint64_t seq, const char *type, unsigned keep)
{
    struct store_event e;
    char data[128];

    make_event(&e, seq, type, data, sizeof(data));
    return store_append_event(s, &e, keep);
}

#define COLLECT_MAX 64
struct collected {
    unsigned n;
    uint64_t seq[COLLECT_MAX];
    int64_t time_ms[COLLECT_MAX];
    uint64_t task_id[COLLECT_MAX], job_id[COLLECT_MAX];
    char type[COLLECT_MAX][STORE_EVENT_TYPE_MAX + 1];
    char data[COLLECT_MAX][128];
    int stop_after;   /* > 0: return -ECANCELED after that many */
};

static int collect(const struct store_event *e, void *userdata)
{
    struct collected *c = userdata;

    if (c->n >= COLLECT_MAX)
        return -E2BIG;
    c->seq[c->n] = e->seq;
    c->time_ms[c->n] = e->time_ms;
    c->task_id[c->n] = e->task_id;
    c->job_id[c->n] = e->job_id;
    (void) snprintf(c->type[c->n], sizeof(c->type[0]), "%s", e->type);
    (void) snprintf(c->data[c->n], sizeof(c->data[0]), "%s", e->data);
    c->n++;
    if (c->stop_after > 0 && c->n >= (unsigned) c->stop_after)
        return -ECANCELED;
    return 0;
}

static void test_append_list(void **state)
{
    struct fixture *f = *state;
    _cleanup_store_free_ struct store *s = NULL;
    struct collected c = { 0 };
    uint64_t last = 99;

    assert_int_equal(store_open(f->db, &s), 0);
    assert_int_equal(store_last_event_seq(s, &last), 0);
    assert_int_equal(last, 0);
    assert_int_equal(store_foreach_event(s, 0, 100, collect, &c), 0);
    assert_int_equal(c.n, 0);

    assert_int_equal(append(s, 1, "task:started", 100), 0);
    assert_int_equal(append(s, 2, "task:progress", 100), 0);
    /* Gaps are allowed: a sequence number only has to grow. */
    assert_int_equal(append(s, 5, "task:finished", 100), 0);
    assert_int_equal(store_last_event_seq(s, &last), 0);
    assert_int_equal(last, 5);

    assert_int_equal(store_foreach_event(s, 0, 100, collect, &c), 3);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.seq[0], 1);
    assert_int_equal(c.seq[1], 2);
    assert_int_equal(c.seq[2], 5);
    assert_string_equal(c.type[0], "task:started");
    assert_string_equal(c.type[2], "task:finished");
    assert_string_equal(c.data[1], "{\"seq\":2,\"type\":\"task:progress\"}");
    assert_int_equal(c.time_ms[2], 1700000000005);
    assert_int_equal(c.task_id[2], 15);
    assert_int_equal(c.job_id[2], 5);
    assert_int_equal(c.job_id[1], 0);

    /* After a sequence number, oldest first, at most limit. */
    memset(&c, 0, sizeof(c));
    assert_int_equal(store_foreach_event(s, 1, 1, collect, &c), 1);
    assert_int_equal(c.seq[0], 2);
    memset(&c, 0, sizeof(c));
    assert_int_equal(store_foreach_event(s, 2, 100, collect, &c), 1);
    assert_int_equal(c.seq[0], 5);
    memset(&c, 0, sizeof(c));
    assert_int_equal(store_foreach_event(s, 5, 100, collect, &c), 0);
    assert_int_equal(store_foreach_event(s, 0, 0, collect, &c), 0);
    assert_int_equal(store_foreach_event(s, UINT64_MAX, 10, collect, &c), 0);
    assert_int_equal(c.n, 0);

    /* A callback's error stops the walk and is returned. */
    c.stop_after = 2;
    assert_int_equal(store_foreach_event(s, 0, 100, collect, &c), -ECANCELED);
    assert_int_equal(c.n, 2);
}

static void test_prune_keep(void **state)
{
    struct fixture *f = *state;
    _cleanup_store_free_ struct store *s = NULL;
    struct collected c = { 0 };
    uint64_t last = 0;

    assert_int_equal(store_open(f->db, &s), 0);
    for (uint64_t seq = 1; seq <= 20; seq++)
        assert_int_equal(append(s, seq, "task:active", 8), 0);
    assert_int_equal(store_foreach_event(s, 0, 100, collect, &c), 8);
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(c.seq[i], 13 + i);

    /* A smaller keep prunes further at the next append. */
    assert_int_equal(append(s, 21, "task:active", 3), 0);
    memset(&c, 0, sizeof(c));
    assert_int_equal(store_foreach_event(s, 0, 100, collect, &c), 3);
    assert_int_equal(c.seq[0], 19);
    assert_int_equal(c.seq[2], 21);

    /* keep 0 keeps nothing, not even the new event. */
    assert_int_equal(append(s, 22, "task:active", 0), 0);
    assert_int_equal(store_last_event_seq(s, &last), 0);
    assert_int_equal(last, 0);
    memset(&c, 0, sizeof(c));
    assert_int_equal(store_foreach_event(s, 0, 100, collect, &c), 0);
}

static void test_bad_input(void **state)
{
    struct fixture *f = *state;
    _cleanup_store_free_ struct store *s = NULL;
    struct store_event e;
    struct collected c = { 0 };
    char data[128], big[STORE_EVENT_DATA_MAX + 8];

    assert_int_equal(store_open(f->db, &s), 0);
    assert_int_equal(append(s, 10, "task:started", 100), 0);

    /* Not above the last stored. */
    assert_int_equal(append(s, 10, "task:started", 100), -EINVAL);
    assert_int_equal(append(s, 9, "task:started", 100), -EINVAL);
    /* seq 0, seq above INT64_MAX. */
    assert_int_equal(append(s, 0, "task:started", 100), -EINVAL);
    make_event(&e, 11, "task:started", data, sizeof(data));
    e.seq = (uint64_t) INT64_MAX + 1;
    assert_int_equal(store_append_event(s, &e, 100), -EINVAL);
    /* Types: empty, upper case, spaces, not NUL-terminated within the field. */
    assert_int_equal(append(s, 11, "", 100), -EINVAL);
    assert_int_equal(append(s, 11, "Task:Started", 100), -EINVAL);
    assert_int_equal(append(s, 11, "task started", 100), -EINVAL);
    make_event(&e, 11, "task:started", data, sizeof(data));
    memset(e.type, 'a', sizeof(e.type));
    assert_int_equal(store_append_event(s, &e, 100), -EINVAL);
    /* Data: none, empty, too long. */
    make_event(&e, 11, "task:started", data, sizeof(data));
    e.data = NULL;
    assert_int_equal(store_append_event(s, &e, 100), -EINVAL);
    e.data = "";
    assert_int_equal(store_append_event(s, &e, 100), -EINVAL);
    memset(big, 'x', sizeof(big));
    big[STORE_EVENT_DATA_MAX + 1] = '\0';
    e.data = big;
    assert_int_equal(store_append_event(s, &e, 100), -EINVAL);
    /* Exactly the maximum is fine. */
    big[STORE_EVENT_DATA_MAX] = '\0';
    assert_int_equal(store_append_event(s, &e, 100), 0);
    /* Negative time, ids above INT64_MAX. */
    make_event(&e, 12, "task:started", data, sizeof(data));
    e.time_ms = -1;
    assert_int_equal(store_append_event(s, &e, 100), -EINVAL);
    make_event(&e, 12, "task:started", data, sizeof(data));
    e.task_id = UINT64_MAX;
    assert_int_equal(store_append_event(s, &e, 100), -EINVAL);
    make_event(&e, 12, "task:started", data, sizeof(data));
    e.job_id = UINT64_MAX;
    assert_int_equal(store_append_event(s, &e, 100), -EINVAL);

    /* Nothing refused was written. */
    c.stop_after = 0;
    assert_int_equal(store_foreach_event(s, 0, 100, collect, &c), 2);
    assert_int_equal(c.seq[0], 10);
    assert_int_equal(c.seq[1], 11);
}

static void test_reopen(void **state)
{
    struct fixture *f = *state;
    struct store *s = NULL;
    struct collected c = { 0 };
    uint64_t last = 0;

    assert_int_equal(store_open(f->db, &s), 0);
    assert_int_equal(append(s, 1, "job:queued", 100), 0);
    assert_int_equal(append(s, 2, "job:cancelled", 100), 0);
    s = store_free(s);

    assert_int_equal(store_open(f->db, &s), 0);
    assert_int_equal(store_last_event_seq(s, &last), 0);
    assert_int_equal(last, 2);
    assert_int_equal(store_foreach_event(s, 0, 100, collect, &c), 2);
    assert_string_equal(c.type[1], "job:cancelled");
    assert_string_equal(c.data[0], "{\"seq\":1,\"type\":\"job:queued\"}");
    /* The log continues after the stored events. */
    assert_int_equal(append(s, 2, "task:started", 100), -EINVAL);
    assert_int_equal(append(s, 3, "task:started", 100), 0);
    s = store_free(s);
}

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    char *err = NULL;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        print_error("%s: %s\n", sql, err ? err : "?");
        sqlite3_free(err);
        (void) sqlite3_close(db);
        fail();
    }
    (void) sqlite3_close(db);
}

/* Each damage makes the listing fail with -EBADMSG, and only when the damaged row is reached. */
static void test_corrupted_rows(void **state)
{
    static const char *const damage[] = {
        "UPDATE events SET type = 'Not A Type' WHERE seq = 3",
        "UPDATE events SET type = '' WHERE seq = 3",
        "UPDATE events SET data = '' WHERE seq = 3",
        "UPDATE events SET data = 'a' || char(0) || 'b' WHERE seq = 3",
        "UPDATE events SET time_ms = -5 WHERE seq = 3",
        "UPDATE events SET task_id = -1 WHERE seq = 3",
        "UPDATE events SET job_id = -1 WHERE seq = 3",
        "UPDATE events SET data = printf('%.*c', 16385, 'x') WHERE seq = 3",
        "UPDATE events SET type = printf('%.*c', 40, 'x') WHERE seq = 3",
    };
    struct fixture *f = *state;

    for (size_t i = 0; i < ELEMENTSOF(damage); i++) {
        struct store *s = NULL;
        struct collected c = { 0 };
        int r;

        (void) unlink(f->db);
        assert_int_equal(store_open(f->db, &s), 0);
        for (uint64_t seq = 1; seq <= 4; seq++)
            assert_int_equal(append(s, seq, "task:stalled", 100), 0);
        s = store_free(s);

        raw_exec(f->db, damage[i]);

        assert_int_equal(store_open(f->db, &s), 0);
        r = store_foreach_event(s, 0, 100, collect, &c);
        if (r != -EBADMSG)
            print_error("damage %zu (%s): %d\n", i, damage[i], r);
        assert_int_equal(r, -EBADMSG);
        /* The rows before the damaged one were delivered. */
        assert_int_equal(c.n, 2);
        /* Reading past it works. */
        memset(&c, 0, sizeof(c));
        assert_int_equal(store_foreach_event(s, 3, 100, collect, &c), 1);
        assert_int_equal(c.seq[0], 4);
        s = store_free(s);
        (void) unlink(f->db);
        {
            char p[PATH_MAX + 32];
            (void) snprintf(p, sizeof(p), "%s-wal", f->db);
            (void) unlink(p);
            (void) snprintf(p, sizeof(p), "%s-shm", f->db);
            (void) unlink(p);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune_keep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupted_rows, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
