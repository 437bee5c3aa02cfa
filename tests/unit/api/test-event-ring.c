/* SPDX-License-Identifier: MIT */

/* Tests of the in-memory event ring: type names, pushes and refusals, wrap-around, finding the
 * events after a seq and whether the ring alone holds them, and the subscriber list. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/event-ring.h"
#include "basic/macro.h"

/* cmocka.h needs <setjmp.h>, <stdarg.h> and <stddef.h> first. */
#include <cmocka.h>

static int push(struct event_ring *r, uint64_t seq, enum event_type t)
{
    char json[64];
    int n = snprintf(json, sizeof(json), "{\"seq\":%llu}", (unsigned long long) seq);

    return event_ring_push(r, seq, t, seq * 10, seq % 3, json, (size_t) n);
}

static void test_type_names(void **state)
{
    (void) state;
    for (int t = 0; t < _EVENT_TYPE_MAX; t++) {
        const char *name = event_type_to_string((enum event_type) t);

        assert_non_null(name);
        assert_true(strlen(name) <= EVENT_TYPE_NAME_MAX);
        assert_int_equal(event_type_from_string(name), t);
    }
    assert_string_equal(event_type_to_string(EVENT_TASK_CRITICAL_MEMORY), "task:critical-memory");
    assert_string_equal(event_type_to_string(EVENT_JOB_LOST), "job:lost");
    assert_int_equal(event_type_from_string("task:finished"), EVENT_TASK_FINISHED);
    assert_int_equal(event_type_from_string("task:Finished"), _EVENT_TYPE_INVALID);
    assert_int_equal(event_type_from_string("task:finished "), _EVENT_TYPE_INVALID);
    assert_int_equal(event_type_from_string(""), _EVENT_TYPE_INVALID);
    assert_int_equal(event_type_from_string(NULL), _EVENT_TYPE_INVALID);
    assert_null(event_type_to_string(_EVENT_TYPE_MAX));
    assert_null(event_type_to_string(_EVENT_TYPE_INVALID));
}

static void test_new_refuses(void **state)
{
    struct event_ring *r = NULL;

    (void) state;
    assert_int_equal(event_ring_new(0, 4, &r), -EINVAL);
    assert_int_equal(event_ring_new(EVENT_RING_CAPACITY_MAX + 1, 4, &r), -EINVAL);
    assert_null(r);
    assert_null(event_ring_free(NULL));
}

static void test_push_and_find(void **state)
{
    struct event_ring *r = NULL;
    bool complete = false;

    (void) state;
    assert_int_equal(event_ring_new(4, 2, &r), 0);
    assert_int_equal(event_ring_count(r), 0);
    assert_int_equal(event_ring_first_seq(r), 0);
    assert_int_equal(event_ring_last_seq(r), 0);
    assert_int_equal(event_ring_head_seq(r), 0);
    assert_int_equal(event_ring_find(r, 0, &complete), 0);
    assert_true(complete);

    assert_int_equal(push(r, 1, EVENT_TASK_STARTED), 0);
    assert_int_equal(push(r, 2, EVENT_TASK_PROGRESS), 0);
    assert_int_equal(push(r, 5, EVENT_TASK_FINISHED), 0);
    assert_int_equal(event_ring_count(r), 3);
    assert_int_equal(event_ring_first_seq(r), 1);
    assert_int_equal(event_ring_last_seq(r), 5);

    const struct event_ring_entry *e = event_ring_get(r, 2);
    assert_non_null(e);
    assert_int_equal(e->seq, 5);
    assert_int_equal(e->type, EVENT_TASK_FINISHED);
    assert_int_equal(e->task_id, 50);
    assert_int_equal(e->job_id, 2);
    assert_string_equal(e->json, "{\"seq\":5}");
    assert_int_equal(e->json_len, strlen("{\"seq\":5}"));
    assert_null(event_ring_get(r, 3));

    assert_int_equal(event_ring_find(r, 0, &complete), 0);
    assert_true(complete);
    assert_int_equal(event_ring_find(r, 1, NULL), 1);
    assert_int_equal(event_ring_find(r, 2, NULL), 2);
    assert_int_equal(event_ring_find(r, 3, NULL), 2);   /* the gap: 5 is next */
    assert_int_equal(event_ring_find(r, 5, NULL), 3);
    assert_int_equal(event_ring_find(r, 100, NULL), 3);

    /* Refusals leave the ring as it was. */
    assert_int_equal(push(r, 5, EVENT_TASK_STARTED), -EINVAL);
    assert_int_equal(push(r, 4, EVENT_TASK_STARTED), -EINVAL);
    assert_int_equal(event_ring_push(r, 6, _EVENT_TYPE_MAX, 0, 0, "{}", 2), -EINVAL);
    assert_int_equal(event_ring_push(r, 6, _EVENT_TYPE_INVALID, 0, 0, "{}", 2), -EINVAL);
    assert_int_equal(event_ring_push(r, 6, EVENT_TASK_ACTIVE, 0, 0, "{}", 0), -EINVAL);
    assert_int_equal(event_ring_push(r, 6, EVENT_TASK_ACTIVE, 0, 0, NULL, 2), -EINVAL);
    assert_int_equal(event_ring_push(r, 6, EVENT_TASK_ACTIVE, 0, 0, "{\n}", 3), -EINVAL);
    assert_int_equal(event_ring_push(r, 6, EVENT_TASK_ACTIVE, 0, 0, "{\r}", 3), -EINVAL);
    assert_int_equal(event_ring_push(r, 6, EVENT_TASK_ACTIVE, 0, 0, "{\0}", 3), -EINVAL);
    {
        char *big = malloc(EVENT_JSON_MAX + 1);
        assert_non_null(big);
        memset(big, 'x', EVENT_JSON_MAX + 1);
        assert_int_equal(event_ring_push(r, 6, EVENT_TASK_ACTIVE, 0, 0, big, EVENT_JSON_MAX + 1), -EINVAL);
        assert_int_equal(event_ring_push(r, 6, EVENT_TASK_ACTIVE, 0, 0, big, EVENT_JSON_MAX), 0);
        assert_int_equal(event_ring_get(r, 3)->json_len, EVENT_JSON_MAX);
        assert_int_equal(event_ring_get(r, 3)->json[EVENT_JSON_MAX], '\0');
        free(big);
    }
    assert_int_equal(event_ring_count(r), 4);
    assert_int_equal(event_ring_head_seq(r), 6);
    r = event_ring_free(r);
    assert_null(r);
}

static void test_wrap(void **state)
{
    struct event_ring *r = NULL;
    bool complete = true;

    (void) state;
    assert_int_equal(event_ring_new(3, 2, &r), 0);
    for (uint64_t seq = 1; seq <= 10; seq++)
        assert_int_equal(push(r, seq, EVENT_TASK_ACTIVE), 0);
    /* The newest three, oldest first. */
    assert_int_equal(event_ring_count(r), 3);
    assert_int_equal(event_ring_first_seq(r), 8);
    assert_int_equal(event_ring_last_seq(r), 10);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(event_ring_get(r, i)->seq, 8 + i);
    assert_string_equal(event_ring_get(r, 0)->json, "{\"seq\":8}");

    /* 1..7 were dropped: a reader after anything below 7 needs the store. */
    assert_int_equal(event_ring_find(r, 0, &complete), 0);
    assert_false(complete);
    assert_int_equal(event_ring_find(r, 6, &complete), 0);
    assert_false(complete);
    assert_int_equal(event_ring_find(r, 7, &complete), 0);
    assert_true(complete);
    assert_int_equal(event_ring_find(r, 9, &complete), 2);
    assert_true(complete);
    assert_int_equal(event_ring_find(r, 10, &complete), 3);
    assert_true(complete);
    r = event_ring_free(r);
}

static void test_base(void **state)
{
    struct event_ring *r = NULL;
    bool complete = true;

    (void) state;
    assert_int_equal(event_ring_new(8, 2, &r), 0);
    /* The store held events up to 40 at start. */
    event_ring_set_base(r, 40);
    assert_int_equal(event_ring_head_seq(r), 40);
    assert_int_equal(event_ring_count(r), 0);
    assert_int_equal(event_ring_find(r, 0, &complete), 0);
    assert_false(complete);
    assert_int_equal(event_ring_find(r, 40, &complete), 0);
    assert_true(complete);
    /* The next seq has to be above the base. */
    assert_int_equal(push(r, 40, EVENT_TASK_STARTED), -EINVAL);
    assert_int_equal(push(r, 41, EVENT_TASK_STARTED), 0);
    assert_int_equal(event_ring_find(r, 39, &complete), 0);
    assert_false(complete);
    assert_int_equal(event_ring_find(r, 40, &complete), 0);
    assert_true(complete);
    /* A lower base changes nothing. */
    event_ring_set_base(r, 10);
    assert_int_equal(event_ring_head_seq(r), 41);
    assert_int_equal(event_ring_find(r, 39, &complete), 0);
    assert_false(complete);
    r = event_ring_free(r);
}

static void test_subscribers(void **state)
{
    struct event_ring *r = NULL;
    struct event_ring_sub a = { 0 }, b = { 0 }, c = { 0 };
    unsigned n = 0;

    (void) state;
    assert_int_equal(event_ring_new(4, 2, &r), 0);
    assert_null(event_ring_subs(r));
    assert_int_equal(event_ring_subscribe(r, &a), 0);
    assert_int_equal(event_ring_subscribe(r, &a), -EALREADY);
    assert_int_equal(event_ring_subscribe(r, &b), 0);
    /* The maximum. */
    assert_int_equal(event_ring_subscribe(r, &c), -EBUSY);
    assert_null(c.ring);
    assert_int_equal(event_ring_n_subs(r), 2);
    for (struct event_ring_sub *s = event_ring_subs(r); s; s = s->next) {
        assert_true(s == &a || s == &b);
        n++;
    }
    assert_int_equal(n, 2);

    event_ring_unsubscribe(&a);
    assert_null(a.ring);
    event_ring_unsubscribe(&a);   /* twice is harmless */
    assert_int_equal(event_ring_n_subs(r), 1);
    assert_ptr_equal(event_ring_subs(r), &b);
    assert_null(b.prev);
    assert_null(b.next);
    assert_int_equal(event_ring_subscribe(r, &c), 0);
    assert_int_equal(event_ring_n_subs(r), 2);

    /* Freeing the ring unlinks the rest: their ring pointer tells them. */
    r = event_ring_free(r);
    assert_null(b.ring);
    assert_null(c.ring);
    event_ring_unsubscribe(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_new_refuses),
        cmocka_unit_test(test_push_and_find),
        cmocka_unit_test(test_wrap),
        cmocka_unit_test(test_base),
        cmocka_unit_test(test_subscribers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
