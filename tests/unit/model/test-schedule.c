/* SPDX-License-Identifier: MIT */
/* The job queue's scheduling policy: order, aging, backfill and the head's reservation,
 * concurrency limits and argument checks, with exact outcomes. */

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "model/schedule.h"

#define MIN_USEC (60 * USEC_PER_SEC)
/* A start time far from 0, so that "now - x" never needs to go below the clock's origin. */
#define T0 (1000 * 3600 * USEC_PER_SEC)

static struct sched_job job(uint64_t id, enum sched_priority prio, usec_t submitted, bool fits)
{
    return (struct sched_job) {
        .id = id,
        .priority = prio,
        .submitted_usec = submitted,
        .fits = fits,
    };
}

/* Plans with the default parameters and checks the return value against the start flags. */
static int plan(struct sched_job *v, size_t n, unsigned running, usec_t now,
                const struct sched_params *p, size_t *ret_start)
{
    size_t scratch[16], s = 12345;
    int r, marked = 0;

    assert_true(n <= 16);
    r = sched_plan(v, n, running, now, p, scratch, &s);
    assert_true(r >= 0);
    for (size_t i = 0; i < n; i++) {
        marked += v[i].start;
        assert_int_equal(v[i].start, v[i].state == SCHED_STATE_START);
        assert_int_equal(v[i].held_by_head, v[i].state == SCHED_STATE_HELD);
        assert_int_equal(scratch[v[i].position], i);
    }
    assert_int_equal(r, marked);
    if (r == 1)
        assert_true(v[s].start);
    else
        assert_int_equal(s, SIZE_MAX);
    if (ret_start)
        *ret_start = s;
    return r;
}

static void test_names(void **state)
{
    struct sched_params p;

    assert_string_equal(sched_priority_to_string(SCHED_P0), "P0");
    assert_string_equal(sched_priority_to_string(SCHED_P2), "P2");
    assert_null(sched_priority_to_string(_SCHED_PRIORITY_MAX));
    assert_null(sched_priority_to_string(_SCHED_PRIORITY_INVALID));
    assert_int_equal(sched_priority_from_string("P1"), SCHED_P1);
    assert_int_equal(sched_priority_from_string("p2"), SCHED_P2);
    assert_int_equal(sched_priority_from_string("0"), SCHED_P0);
    assert_int_equal(sched_priority_from_string("P3"), _SCHED_PRIORITY_INVALID);
    assert_int_equal(sched_priority_from_string("3"), _SCHED_PRIORITY_INVALID);
    assert_int_equal(sched_priority_from_string(" P1"), _SCHED_PRIORITY_INVALID);
    assert_int_equal(sched_priority_from_string("P"), _SCHED_PRIORITY_INVALID);
    assert_int_equal(sched_priority_from_string(""), _SCHED_PRIORITY_INVALID);
    assert_int_equal(sched_priority_from_string("-1"), _SCHED_PRIORITY_INVALID);
    assert_int_equal(sched_priority_from_string(NULL), _SCHED_PRIORITY_INVALID);
    assert_int_equal(SCHED_PRIORITY_DEFAULT, SCHED_P1);

    assert_string_equal(sched_state_to_string(SCHED_STATE_HELD), "held");
    assert_string_equal(sched_state_to_string(SCHED_STATE_NO_FIT), "no-fit");
    assert_null(sched_state_to_string(_SCHED_STATE_MAX));

    sched_params_default(&p);
    assert_int_equal(p.aging_usec, 10 * MIN_USEC);
    assert_int_equal(p.backfill_limit_usec, 30 * MIN_USEC);
    assert_int_equal(p.soft_max, 0);
    assert_int_equal(p.hard_max, 0);
}

static void test_priority_order(void **state)
{
    /* Submitted in the order P2, P1, P0, a second apart: priority decides, not arrival. */
    struct sched_job v[] = {
        job(1, SCHED_P2, T0, true),
        job(2, SCHED_P1, T0 + USEC_PER_SEC, true),
        job(3, SCHED_P0, T0 + 2 * USEC_PER_SEC, true),
    };
    size_t s;

    assert_int_equal(plan(v, 3, 0, T0 + 3 * USEC_PER_SEC, NULL, &s), 1);
    assert_int_equal(s, 2);
    assert_int_equal(v[2].position, 0);
    assert_int_equal(v[1].position, 1);
    assert_int_equal(v[0].position, 2);
    assert_int_equal(v[0].effective_priority, 2);
    assert_int_equal(v[1].effective_priority, 1);
    assert_int_equal(v[2].effective_priority, 0);
    /* One start per call: the others fit and wait their turn. */
    assert_int_equal(v[1].state, SCHED_STATE_WAITING);
    assert_int_equal(v[0].state, SCHED_STATE_WAITING);
    assert_false(v[0].head || v[1].head || v[2].head);

    /* The caller starts job 3 and plans again without it: job 2 is next. */
    assert_int_equal(plan(v, 2, 1, T0 + 4 * USEC_PER_SEC, NULL, &s), 1);
    assert_int_equal(v[s].id, 2);
}

static void test_fifo_and_ties(void **state)
{
    struct sched_job v[] = {
        job(7, SCHED_P1, T0 + 5, true),
        job(9, SCHED_P1, T0 + 1, true),
        job(4, SCHED_P1, T0 + 5, true),   /* same time as 7: the lower id first */
        job(4, SCHED_P1, T0 + 5, true),   /* a duplicate: the array position breaks the tie */
    };

    assert_int_equal(plan(v, 4, 0, T0 + 10, NULL, NULL), 1);
    assert_int_equal(v[1].position, 0);
    assert_true(v[1].start);
    assert_int_equal(v[2].position, 1);
    assert_int_equal(v[3].position, 2);
    assert_int_equal(v[0].position, 3);
}

static void test_aging(void **state)
{
    struct sched_params p;
    /* A P2 job that has waited 20 minutes is at P0 level, and ranks by its (earlier) submission
     * before a P0 job submitted after it, but after a P0 job submitted before it. */
    struct sched_job v[] = {
        job(1, SCHED_P0, T0 + 1 * MIN_USEC, true),
        job(2, SCHED_P2, T0, true),
        job(3, SCHED_P0, T0 - MIN_USEC, true),
        job(4, SCHED_P1, T0 + 15 * MIN_USEC, true),
    };
    usec_t now = T0 + 20 * MIN_USEC;

    assert_int_equal(plan(v, 4, 0, now, NULL, NULL), 1);
    assert_int_equal(v[1].effective_priority, 0);
    assert_int_equal(v[2].position, 0);
    assert_true(v[2].start);
    assert_int_equal(v[1].position, 1);
    assert_int_equal(v[0].position, 2);
    assert_int_equal(v[3].effective_priority, 1);   /* 5 minutes: not aged yet */
    assert_int_equal(v[3].position, 3);

    /* A microsecond less than 20 minutes: one level only (P1), behind both P0 jobs. */
    assert_int_equal(plan(v, 4, 0, now - 1, NULL, NULL), 1);
    assert_int_equal(v[1].effective_priority, 1);
    assert_int_equal(v[1].position, 2);
    /* It was submitted before job 4, which is also P1. */
    assert_int_equal(v[3].position, 3);

    /* Exactly 10 minutes is one step; long waits stop at 0. */
    assert_int_equal(plan(v, 4, 0, T0 + 10 * MIN_USEC, NULL, NULL), 1);
    assert_int_equal(v[1].effective_priority, 1);
    assert_int_equal(plan(v, 4, 0, T0 + 1000 * MIN_USEC, NULL, NULL), 1);
    assert_int_equal(v[1].effective_priority, 0);
    assert_int_equal(v[0].effective_priority, 0);

    /* aging_usec = 0 turns aging off. */
    sched_params_default(&p);
    p.aging_usec = 0;
    assert_int_equal(plan(v, 4, 0, T0 + 1000 * MIN_USEC, &p, NULL), 1);
    assert_int_equal(v[1].effective_priority, 2);
    assert_int_equal(v[1].position, 3);

    /* A submission time after now (a clock stepped back) counts as no wait. */
    v[1].submitted_usec = now + MIN_USEC;
    assert_int_equal(plan(v, 4, 0, now, NULL, NULL), 1);
    assert_int_equal(v[1].effective_priority, 2);
}

static void test_backfill_then_reservation(void **state)
{
    /* Job 1 (P0) does not fit; job 2 (P1, small) does. */
    struct sched_job v[] = {
        job(1, SCHED_P0, T0, false),
        job(2, SCHED_P1, T0 + 1, true),
        job(3, SCHED_P2, T0 + 2, false),
    };
    usec_t t = T0 + MIN_USEC;
    size_t s;

    /* Backfill: job 2 overtakes the blocked head, whose window opens now. */
    assert_int_equal(plan(v, 3, 0, t, NULL, &s), 1);
    assert_int_equal(s, 1);
    assert_true(v[0].head);
    assert_false(v[0].reserved);
    assert_int_equal(v[0].state, SCHED_STATE_NO_FIT);
    assert_int_equal(v[0].head_since_usec, t);
    assert_false(v[1].held_by_head);
    assert_int_equal(v[1].head_since_usec, 0);
    /* Job 3 does not fit either, but it is not the head: no window of its own. */
    assert_false(v[2].head);
    assert_int_equal(v[2].state, SCHED_STATE_NO_FIT);
    assert_int_equal(v[2].head_since_usec, 0);

    /* The head's window is kept between calls, not reset: one microsecond before the limit,
     * backfill still goes on. */
    assert_int_equal(plan(v, 3, 0, t + 30 * MIN_USEC - 1, NULL, &s), 1);
    assert_int_equal(s, 1);
    assert_int_equal(v[0].head_since_usec, t);
    assert_false(v[0].reserved);

    /* At the limit the head is reserved and job 2 is held, even with capacity to spare. */
    assert_int_equal(plan(v, 3, 0, t + 30 * MIN_USEC, NULL, &s), 0);
    assert_int_equal(s, SIZE_MAX);
    assert_true(v[0].head);
    assert_true(v[0].reserved);
    assert_int_equal(v[0].head_since_usec, t);
    assert_true(v[1].held_by_head);
    assert_int_equal(v[1].state, SCHED_STATE_HELD);
    assert_false(v[2].held_by_head);   /* it does not fit anyway */

    /* Still held an hour later. */
    assert_int_equal(plan(v, 3, 0, t + 90 * MIN_USEC, NULL, NULL), 0);
    assert_true(v[1].held_by_head);

    /* The head fits at last: it starts, its claim is cleared, job 2 waits its turn (one start
     * per call) and is no longer held. */
    v[0].fits = true;
    assert_int_equal(plan(v, 3, 0, t + 91 * MIN_USEC, NULL, &s), 1);
    assert_int_equal(s, 0);
    assert_int_equal(v[0].head_since_usec, 0);
    assert_false(v[0].head);
    assert_int_equal(v[1].state, SCHED_STATE_WAITING);
    assert_false(v[1].held_by_head);
    /* Job 3 is now the first that does not fit: the new head, with a fresh window. */
    assert_true(v[2].head);
    assert_false(v[2].reserved);
    assert_int_equal(v[2].head_since_usec, t + 91 * MIN_USEC);

    /* Once job 1 has left the queue, job 2 (aged to P0 level, and submitted before job 3) is
     * ranked before the new head and starts; the head keeps its window. */
    v[0] = v[2];
    assert_int_equal(plan(v, 2, 1, t + 92 * MIN_USEC, NULL, &s), 1);
    assert_int_equal(v[s].id, 2);
    assert_int_equal(v[0].head_since_usec, t + 91 * MIN_USEC);
}

static void test_reservation_resets_when_head_leaves(void **state)
{
    struct sched_job v[] = {
        job(1, SCHED_P0, T0, false),
        job(2, SCHED_P1, T0 + 1, false),
        job(3, SCHED_P2, T0 + 2, true),
    };
    usec_t t = T0 + MIN_USEC;

    assert_int_equal(plan(v, 3, 0, t, NULL, NULL), 1);
    assert_true(v[2].start);
    assert_int_equal(plan(v, 3, 0, t + 31 * MIN_USEC, NULL, NULL), 0);
    assert_true(v[0].reserved);
    assert_true(v[2].held_by_head);
    assert_int_equal(v[1].head_since_usec, 0);

    /* Job 1 is cancelled: job 2 becomes the head with a new window, and job 3 may backfill. */
    v[0] = v[1];
    v[1] = v[2];
    assert_int_equal(plan(v, 2, 0, t + 32 * MIN_USEC, NULL, NULL), 1);
    assert_true(v[0].head);
    assert_false(v[0].reserved);
    assert_int_equal(v[0].head_since_usec, t + 32 * MIN_USEC);
    assert_true(v[1].start);
}

static void test_head_changes(void **state)
{
    struct sched_params p;
    struct sched_job v[] = {
        job(1, SCHED_P1, T0, false),
        job(2, SCHED_P2, T0 + 1, true),
        job(3, SCHED_P0, T0 + 2, true),
    };
    usec_t t = T0 + MIN_USEC;
    size_t s;

    /* Aging off, so that the ranks stay put over the hour this covers. */
    sched_params_default(&p);
    p.aging_usec = 0;

    /* Job 3 is ranked before the blocked head, and starts; the head's window opens. */
    assert_int_equal(plan(v, 3, 0, t, &p, &s), 1);
    assert_int_equal(s, 2);
    assert_int_equal(v[0].head_since_usec, t);
    /* It fits now, but job 3 (still queued here, ranked before it) takes this call's start: job 1
     * waits its turn and keeps its window, and job 2 is not let past it twice. */
    v[0].fits = true;
    assert_int_equal(plan(v, 3, 0, t + MIN_USEC, &p, &s), 1);
    assert_int_equal(s, 2);
    assert_int_equal(v[0].state, SCHED_STATE_WAITING);
    assert_false(v[0].head);
    assert_int_equal(v[0].head_since_usec, t);
    /* No fit again 30 minutes after its window opened: reserved at once. */
    v[0].fits = false;
    assert_int_equal(plan(v, 3, 0, t + 30 * MIN_USEC, &p, &s), 1);
    assert_int_equal(s, 2);   /* ranked before the head: starts normally */
    assert_true(v[0].reserved);
    assert_true(v[1].held_by_head);

    /* A higher-ranked job that does not fit arrives: it is the head now, with a window of its
     * own, and job 1 gives up its claim. */
    v[2] = job(4, SCHED_P0, t + 31 * MIN_USEC, false);
    assert_int_equal(plan(v, 3, 0, t + 31 * MIN_USEC, &p, &s), 1);
    assert_int_equal(v[s].id, 2);
    assert_true(v[2].head);
    assert_int_equal(v[2].head_since_usec, t + 31 * MIN_USEC);
    assert_false(v[0].head);
    assert_int_equal(v[0].head_since_usec, 0);
}

static void test_backfill_limits(void **state)
{
    struct sched_params p;
    struct sched_job v[] = {
        job(1, SCHED_P0, T0, false),
        job(2, SCHED_P1, T0 + 1, true),
    };

    /* 0: no backfill at all, the head is reserved from the first call. */
    sched_params_default(&p);
    p.backfill_limit_usec = 0;
    assert_int_equal(plan(v, 2, 0, T0 + 2, &p, NULL), 0);
    assert_true(v[0].reserved);
    assert_true(v[1].held_by_head);

    /* USEC_INFINITY: backfill forever. */
    v[0].head_since_usec = 0;
    p.backfill_limit_usec = USEC_INFINITY;
    assert_int_equal(plan(v, 2, 0, T0 + 2, &p, NULL), 1);
    assert_int_equal(plan(v, 2, 0, T0 + 1000000 * MIN_USEC, &p, NULL), 1);
    assert_false(v[0].reserved);
    assert_true(v[1].start);

    /* A window opened "in the future" (a clock stepped back) has not run out. */
    v[0].head_since_usec = T0 + 100 * MIN_USEC;
    assert_int_equal(plan(v, 2, 0, T0 + 2, NULL, NULL), 1);
    assert_false(v[0].reserved);
    assert_int_equal(v[0].head_since_usec, T0 + 100 * MIN_USEC);
}

static void test_soft_max(void **state)
{
    struct sched_params p;
    struct sched_job v[] = {
        job(1, SCHED_P1, T0, true),
        job(2, SCHED_P1, T0 + 1, true),
    };

    sched_params_default(&p);
    p.soft_max = 2;
    assert_int_equal(plan(v, 2, 1, T0 + 2, &p, NULL), 1);
    assert_true(v[0].start);
    assert_false(v[0].over_soft);   /* 2 running: at the soft maximum, not above */
    assert_false(v[1].over_soft);
    assert_int_equal(plan(v, 2, 2, T0 + 2, &p, NULL), 1);
    assert_true(v[0].start);
    assert_true(v[0].over_soft);
    assert_false(v[1].over_soft);   /* not started */
    assert_int_equal(plan(v, 2, 50, T0 + 2, &p, NULL), 1);
    assert_true(v[0].over_soft);
    /* Unlimited. */
    p.soft_max = 0;
    assert_int_equal(plan(v, 2, UINT_MAX, T0 + 2, &p, NULL), 1);
    assert_false(v[0].over_soft);
    /* The count cannot wrap: UINT_MAX running is above any soft maximum. */
    p.soft_max = UINT_MAX;
    assert_int_equal(plan(v, 2, UINT_MAX, T0 + 2, &p, NULL), 1);
    assert_true(v[0].over_soft);
}

static void test_hard_max(void **state)
{
    struct sched_params p;
    struct sched_job v[] = {
        job(1, SCHED_P0, T0, true),
        job(2, SCHED_P1, T0 + 1, true),
        job(3, SCHED_P2, T0 + 2, false),
    };
    size_t s;

    sched_params_default(&p);
    p.hard_max = 2;
    p.soft_max = 1;
    /* At the hard maximum nothing starts, P0 included. */
    assert_int_equal(plan(v, 3, 2, T0 + 3, &p, &s), 0);
    assert_int_equal(s, SIZE_MAX);
    assert_int_equal(v[0].state, SCHED_STATE_AT_MAX);
    assert_int_equal(v[1].state, SCHED_STATE_AT_MAX);
    assert_int_equal(v[2].state, SCHED_STATE_NO_FIT);
    assert_int_equal(plan(v, 3, 7, T0 + 3, &p, NULL), 0);
    assert_int_equal(v[0].state, SCHED_STATE_AT_MAX);

    /* One below: the P0 job starts (over the soft maximum) and counts at once, so job 2 is at
     * the maximum rather than waiting its turn. */
    assert_int_equal(plan(v, 3, 1, T0 + 3, &p, &s), 1);
    assert_int_equal(s, 0);
    assert_true(v[0].over_soft);
    assert_int_equal(v[1].state, SCHED_STATE_AT_MAX);

    /* Unlimited. */
    p.hard_max = 0;
    assert_int_equal(plan(v, 3, UINT_MAX, T0 + 3, &p, NULL), 1);
    assert_int_equal(v[1].state, SCHED_STATE_WAITING);
}

static void test_invalid(void **state)
{
    struct sched_job v[2] = {
        job(1, SCHED_P1, T0, true),
        job(2, SCHED_P1, T0, false),
    };
    struct sched_job before[2];
    size_t scratch[2] = { 77, 77 }, s = 99;

    v[0].position = 42;
    v[1].head_since_usec = 5;
    memcpy(before, v, sizeof(v));

    assert_int_equal(sched_plan(NULL, 2, 0, T0, NULL, scratch, &s), -EINVAL);
    assert_int_equal(sched_plan(v, 2, 0, T0, NULL, NULL, &s), -EINVAL);
    assert_int_equal(sched_plan(v, 2, 0, 0, NULL, scratch, &s), -EINVAL);
    assert_int_equal(sched_plan(v, (size_t) SCHED_JOBS_MAX + 1, 0, T0, NULL, scratch, &s), -EINVAL);
    v[1].priority = _SCHED_PRIORITY_MAX;
    assert_int_equal(sched_plan(v, 2, 0, T0, NULL, scratch, &s), -EINVAL);
    v[1].priority = _SCHED_PRIORITY_INVALID;
    assert_int_equal(sched_plan(v, 2, 0, T0, NULL, scratch, &s), -EINVAL);
    v[1].priority = SCHED_P1;

    /* Nothing was written. */
    assert_memory_equal(v, before, sizeof(v));
    assert_int_equal(s, 99);
    assert_int_equal(scratch[0], 77);
    assert_int_equal(scratch[1], 77);
}

static void test_empty(void **state)
{
    size_t s = 99;

    assert_int_equal(sched_plan(NULL, 0, 0, T0, NULL, NULL, &s), 0);
    assert_int_equal(s, SIZE_MAX);
    assert_int_equal(sched_plan(NULL, 0, 100, T0, NULL, NULL, NULL), 0);
}

#define BIG 10000

static struct sched_job big[BIG], big2[BIG], big_in[BIG];
static size_t big_scratch[BIG], big_scratch2[BIG];

static uint64_t lcg(uint64_t *x)
{
    *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
    return *x >> 33;
}

static bool ranked_before(const struct sched_job *a, const struct sched_job *b)
{
    if (a->effective_priority != b->effective_priority)
        return a->effective_priority < b->effective_priority;
    if (a->submitted_usec != b->submitted_usec)
        return a->submitted_usec < b->submitted_usec;
    return a->id < b->id;
}

static void test_large_and_deterministic(void **state)
{
    struct sched_params p;
    uint64_t x = 42;
    usec_t now = T0 + 60 * MIN_USEC;
    size_t s, s2, first_nofit = SIZE_MAX;
    int r;

    sched_params_default(&p);
    for (size_t i = 0; i < BIG; i++) {
        /* Few distinct submission times, so many ties go to the id. */
        big[i] = job(BIG - i, (enum sched_priority) (lcg(&x) % 3),
                     T0 + (lcg(&x) % 64) * MIN_USEC, lcg(&x) % 4 == 0);
        big[i].head_since_usec = lcg(&x) % 2 ? T0 : 0;
    }
    memcpy(big_in, big, sizeof(big));
    memcpy(big2, big, sizeof(big));

    r = sched_plan(big, BIG, 0, now, &p, big_scratch, &s);
    assert_true(r == 0 || r == 1);

    /* scratch is a permutation in strict rank order, and positions agree with it. */
    for (size_t k = 0; k < BIG; k++) {
        assert_int_equal(big[big_scratch[k]].position, k);
        if (k > 0)
            assert_true(ranked_before(&big[big_scratch[k - 1]], &big[big_scratch[k]]));
        if (first_nofit == SIZE_MAX && !big[big_scratch[k]].fits)
            first_nofit = k;
    }
    /* Exactly one head: the first job in order that does not fit. */
    for (size_t k = 0; k < BIG; k++) {
        const struct sched_job *j = &big[big_scratch[k]];

        assert_int_equal(j->head, k == first_nofit);
        if (k > first_nofit)
            assert_int_equal(j->head_since_usec, 0);
    }
    /* The job that starts: the first that fits, unless the head is reserved, and then the first
     * that fits before the head (none here if the head is at the front). */
    {
        size_t expect = SIZE_MAX;
        bool reserved = false;

        if (first_nofit != SIZE_MAX) {
            usec_t since = big_in[big_scratch[first_nofit]].head_since_usec;

            if (since == 0)
                since = now;
            reserved = now - since >= p.backfill_limit_usec;
            assert_int_equal(big[big_scratch[first_nofit]].head_since_usec, since);
            assert_int_equal(big[big_scratch[first_nofit]].reserved, reserved);
        }
        for (size_t k = 0; k < BIG && expect == SIZE_MAX; k++) {
            if (reserved && k > first_nofit)
                break;
            if (big[big_scratch[k]].fits)
                expect = big_scratch[k];
        }
        assert_int_equal(r, expect != SIZE_MAX);
        assert_int_equal(s, expect);
        for (size_t k = 0; k < BIG; k++) {
            const struct sched_job *j = &big[big_scratch[k]];

            assert_int_equal(j->held_by_head, reserved && k > first_nofit && j->fits);
        }
    }

    /* The same queue in reverse array order plans the same, job by job. */
    for (size_t i = 0; i < BIG / 2; i++) {
        struct sched_job t = big2[i];

        big2[i] = big2[BIG - 1 - i];
        big2[BIG - 1 - i] = t;
    }
    assert_int_equal(sched_plan(big2, BIG, 0, now, &p, big_scratch2, &s2), r);
    if (r == 1)
        assert_int_equal(big2[s2].id, big[s].id);
    for (size_t k = 0; k < BIG; k++) {
        const struct sched_job *a = &big[big_scratch[k]], *b = &big2[big_scratch2[k]];

        assert_int_equal(a->id, b->id);
        assert_int_equal(a->state, b->state);
        assert_int_equal(a->effective_priority, b->effective_priority);
        assert_int_equal(a->head_since_usec, b->head_since_usec);
        assert_int_equal(a->over_soft, b->over_soft);
        assert_int_equal(a->reserved, b->reserved);
    }

    /* Planning again with the same input gives the same output, byte for byte. */
    memcpy(big2, big_in, sizeof(big));
    assert_int_equal(sched_plan(big2, BIG, 0, now, &p, big_scratch2, &s2), r);
    assert_int_equal(s2, s);
    assert_memory_equal(big2, big, sizeof(big));
    assert_memory_equal(big_scratch2, big_scratch, sizeof(big_scratch));
}

static void test_large_all_equal(void **state)
{
    /* Every key equal, ids equal too: the order falls back on the array index. */
    size_t s;

    for (size_t i = 0; i < BIG; i++)
        big[i] = job(1, SCHED_P1, T0, i == BIG - 1);
    assert_int_equal(sched_plan(big, BIG, 0, T0, NULL, big_scratch, &s), 1);
    for (size_t k = 0; k < BIG; k++)
        assert_int_equal(big_scratch[k], k);
    assert_int_equal(s, BIG - 1);
    assert_true(big[0].head);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_priority_order),
        cmocka_unit_test(test_fifo_and_ties),
        cmocka_unit_test(test_aging),
        cmocka_unit_test(test_backfill_then_reservation),
        cmocka_unit_test(test_reservation_resets_when_head_leaves),
        cmocka_unit_test(test_head_changes),
        cmocka_unit_test(test_backfill_limits),
        cmocka_unit_test(test_soft_max),
        cmocka_unit_test(test_hard_max),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_large_and_deterministic),
        cmocka_unit_test(test_large_all_equal),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
