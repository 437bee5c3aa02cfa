/* SPDX-License-Identifier: MIT */
/* The protection policies with exact numbers: per-task limits (once per crossing, hysteresis,
 * sustained CPU, layers), the protective plan (who is suspended, in which order, how often, the
 * hold-down before resuming, checkpoints with grace, what is never touched), the profiles, and
 * argument checks. */

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
/* cmocka needs setjmp.h, stdarg.h and stddef.h first. */
#include <cmocka.h>

#include "basic/macro.h"
#include "model/protect.h"

#define SEC USEC_PER_SEC
#define MIB (1024ULL * 1024ULL)
/* A start time far from 0, so that "now - x" never needs to go below the clock's origin. */
#define T0 (1000 * 3600 * SEC)

/* ---- Per-task limits ------------------------------------------------------------------------ */

static struct protect_limit_events check(const struct protect_limits *l,
                                         uint64_t rss,
                                         double cpu,
                                         usec_t now,
                                         struct protect_limit_state *s)
{
    struct protect_limit_events ev = { 0xdead, 0xbeef };
    struct protect_task_usage u = { .rss_bytes = rss, .cpu_pct = cpu };
    int r = protect_limits_check(l, &u, now, s, &ev);

    assert_true(r >= 0);
    assert_int_equal(r, __builtin_popcount(ev.entered) + __builtin_popcount(ev.left));
    assert_int_equal(ev.entered & ev.left, 0);
    return ev;
}

static void test_memory_once_per_crossing(void **unused)
{
    struct protect_limits l = { .mem_soft_bytes = 1000 * MIB };
    struct protect_limit_state s = { 0 };
    struct protect_limit_events ev;

    ev = check(&l, 999 * MIB, NAN, T0, &s);
    assert_int_equal(ev.entered, 0);
    ev = check(&l, 1000 * MIB, NAN, T0 + 1 * SEC, &s); /* at the limit is not above it */
    assert_int_equal(ev.entered, 0);
    ev = check(&l, 1000 * MIB + 1, NAN, T0 + 2 * SEC, &s);
    assert_int_equal(ev.entered, PROTECT_LIMIT_HIGH_MEMORY);
    assert_int_equal(s.active, PROTECT_LIMIT_HIGH_MEMORY);
    /* Still above for many ticks: no new event. */
    for (int i = 3; i < 30; i++) {
        ev = check(&l, 1200 * MIB, NAN, T0 + (usec_t) i * SEC, &s);
        assert_int_equal(ev.entered | ev.left, 0);
    }
    assert_int_equal(s.active, PROTECT_LIMIT_HIGH_MEMORY);
}

static void test_memory_hysteresis(void **unused)
{
    /* 90% of 1000 MiB is 900 MiB: leaving needs rss < 900 MiB. */
    struct protect_limits l = { .mem_soft_bytes = 1000 * MIB };
    struct protect_limit_state s = { 0 };
    struct protect_limit_events ev;

    ev = check(&l, 1001 * MIB, NAN, T0, &s);
    assert_int_equal(ev.entered, PROTECT_LIMIT_HIGH_MEMORY);
    /* Back under the limit but within the band: still high, no event. */
    ev = check(&l, 950 * MIB, NAN, T0 + SEC, &s);
    assert_int_equal(ev.left, 0);
    ev = check(&l, 900 * MIB, NAN, T0 + 2 * SEC, &s);
    assert_int_equal(ev.left, 0);
    /* Over the limit again inside the band: no second "entered". */
    ev = check(&l, 1100 * MIB, NAN, T0 + 3 * SEC, &s);
    assert_int_equal(ev.entered, 0);
    ev = check(&l, 900 * MIB - 1, NAN, T0 + 4 * SEC, &s);
    assert_int_equal(ev.left, PROTECT_LIMIT_HIGH_MEMORY);
    assert_int_equal(s.active, 0);
    /* A new crossing is a new event. */
    ev = check(&l, 1001 * MIB, NAN, T0 + 5 * SEC, &s);
    assert_int_equal(ev.entered, PROTECT_LIMIT_HIGH_MEMORY);
}

static void test_memory_critical(void **unused)
{
    struct protect_limits l = { .mem_soft_bytes = 1000 * MIB, .mem_hard_bytes = 2000 * MIB };
    struct protect_limit_state s = { 0 };
    struct protect_limit_events ev;

    /* Straight past both: both enter in one call. */
    ev = check(&l, 2500 * MIB, NAN, T0, &s);
    assert_int_equal(ev.entered, PROTECT_LIMIT_HIGH_MEMORY | PROTECT_LIMIT_CRITICAL_MEMORY);
    assert_int_equal(check(&l, 2500 * MIB, NAN, T0 + SEC, &s).entered, 0);
    /* Under 1800 MiB (90% of hard) critical ends, high stays. */
    ev = check(&l, 1850 * MIB, NAN, T0 + 2 * SEC, &s);
    assert_int_equal(ev.left, 0);
    ev = check(&l, 1700 * MIB, NAN, T0 + 3 * SEC, &s);
    assert_int_equal(ev.left, PROTECT_LIMIT_CRITICAL_MEMORY);
    assert_int_equal(s.active, PROTECT_LIMIT_HIGH_MEMORY);
    /* Removing the soft limit ends high memory at once. */
    l.mem_soft_bytes = 0;
    ev = check(&l, 1700 * MIB, NAN, T0 + 4 * SEC, &s);
    assert_int_equal(ev.left, PROTECT_LIMIT_HIGH_MEMORY);
    assert_int_equal(s.active, 0);
    /* Limits near the top of the range do not overflow the band. */
    struct protect_limits big = { .mem_soft_bytes = UINT64_MAX - 5 };
    struct protect_limit_state bs = { 0 };
    assert_int_equal(check(&big, UINT64_MAX, NAN, T0, &bs).entered, PROTECT_LIMIT_HIGH_MEMORY);
    assert_int_equal(check(&big, UINT64_MAX / 10 * 9 + 1, NAN, T0 + SEC, &bs).left, 0);
    assert_int_equal(check(&big, UINT64_MAX / 10 * 8, NAN, T0 + 2 * SEC, &bs).left,
                     PROTECT_LIMIT_HIGH_MEMORY);
}

static void test_cpu_sustained(void **unused)
{
    /* 150% of one CPU for 60 s. */
    struct protect_limits l = { .cpu_soft_pct = 150, .cpu_sustain_usec = 60 * SEC };
    struct protect_limit_state s = { 0 };
    struct protect_limit_events ev;

    /* A burst of 30 s, then a drop under 135% (90%): nothing, and the clock resets. */
    for (int i = 0; i <= 30; i++)
        assert_int_equal(check(&l, 0, 190, T0 + (usec_t) i * SEC, &s).entered, 0);
    assert_int_equal(check(&l, 0, 100, T0 + 31 * SEC, &s).entered, 0);
    assert_int_equal(s.cpu_over_since_usec, 0);
    /* 200% from T0+40: enters at T0+100, not a tick before. */
    for (int i = 40; i < 100; i++)
        assert_int_equal(check(&l, 0, 200, T0 + (usec_t) i * SEC, &s).entered, 0);
    ev = check(&l, 0, 200, T0 + 100 * SEC, &s);
    assert_int_equal(ev.entered, PROTECT_LIMIT_HIGH_CPU);
    /* And only once. */
    for (int i = 101; i < 200; i++)
        assert_int_equal(check(&l, 0, 200, T0 + (usec_t) i * SEC, &s).entered, 0);
    /* A single dip under 90% does not end it; 60 s under does. */
    assert_int_equal(check(&l, 0, 50, T0 + 200 * SEC, &s).left, 0);
    assert_int_equal(check(&l, 0, 200, T0 + 201 * SEC, &s).left, 0);
    assert_int_equal(s.cpu_under_since_usec, 0); /* reset by the sample above */
    for (int i = 210; i < 270; i++)
        assert_int_equal(check(&l, 0, 100, T0 + (usec_t) i * SEC, &s).left, 0);
    ev = check(&l, 0, 100, T0 + 270 * SEC, &s);
    assert_int_equal(ev.left, PROTECT_LIMIT_HIGH_CPU);
    assert_int_equal(s.active, 0);
}

static void test_cpu_band_and_unknown(void **unused)
{
    struct protect_limits l = { .cpu_soft_pct = 100, .cpu_sustain_usec = 10 * SEC };
    struct protect_limit_state s = { 0 };

    /* Above at T0; dips into the band (90..100%) do not restart the clock; an unknown figure
     * changes nothing. */
    assert_int_equal(check(&l, 0, 120, T0, &s).entered, 0);
    assert_int_equal(check(&l, 0, 95, T0 + 3 * SEC, &s).entered, 0);
    assert_int_equal(check(&l, 0, NAN, T0 + 5 * SEC, &s).entered, 0);
    assert_int_equal(check(&l, 0, -1, T0 + 6 * SEC, &s).entered, 0);
    assert_int_equal(s.cpu_over_since_usec, T0);
    assert_int_equal(check(&l, 0, 110, T0 + 10 * SEC, &s).entered, PROTECT_LIMIT_HIGH_CPU);
    /* Removing the limit ends it at once. */
    l.cpu_soft_pct = 0;
    assert_int_equal(check(&l, 0, 110, T0 + 11 * SEC, &s).left, PROTECT_LIMIT_HIGH_CPU);
    /* sustain 0: the first sample above is enough. */
    struct protect_limits now = { .cpu_soft_pct = 100 };
    struct protect_limit_state ns = { 0 };
    assert_int_equal(check(&now, 0, 100, T0, &ns).entered, 0);
    assert_int_equal(check(&now, 0, 101, T0 + SEC, &ns).entered, PROTECT_LIMIT_HIGH_CPU);
    assert_int_equal(check(&now, 0, 89, T0 + 2 * SEC, &ns).left, PROTECT_LIMIT_HIGH_CPU);
}

static void test_limits_resolve(void **unused)
{
    struct protect_limit_layers layers = {
        .global = { .mem_soft_bytes = 4000 * MIB,
                    .mem_hard_bytes = 8000 * MIB,
                    .cpu_soft_pct = 200,
                    .cpu_sustain_usec = 60 * SEC },
        .task = { .mem_soft_bytes = 16000 * MIB, .cpu_soft_pct = 50 },
    };
    struct protect_limits r;

    protect_limits_resolve(&layers, &r);
    assert_int_equal(r.mem_soft_bytes, 16000 * MIB); /* the task's, though higher */
    assert_int_equal(r.mem_hard_bytes, 8000 * MIB);  /* not set by the task */
    assert_true(r.cpu_soft_pct > 49.9 && r.cpu_soft_pct < 50.1);
    assert_int_equal(r.cpu_sustain_usec, 60 * SEC);

    layers.task = (struct protect_limits){ 0 };
    protect_limits_resolve(&layers, &r);
    assert_memory_equal(&r, &layers.global, sizeof r);

    assert_int_equal(protect_pct_to_bytes(50, 16000 * MIB), 8000 * MIB);
    assert_int_equal(protect_pct_to_bytes(0, 16000 * MIB), 0);
    assert_int_equal(protect_pct_to_bytes(NAN, 16000 * MIB), 0);
    assert_int_equal(protect_pct_to_bytes(150, 16000 * MIB), 16000 * MIB);
    assert_int_equal(protect_pct_to_bytes(25, 1000), 250);
    assert_int_equal(protect_pct_to_bytes(99.5, 1000), 995);
}

static void test_limits_einval(void **unused)
{
    struct protect_limits l = { .cpu_soft_pct = 100 };
    struct protect_task_usage u = { .rss_bytes = 1, .cpu_pct = 500 };
    struct protect_limit_state s = { .active = PROTECT_LIMIT_HIGH_MEMORY };
    struct protect_limit_events ev = { 7, 7 };

    assert_int_equal(protect_limits_check(&l, &u, 0, &s, &ev), -EINVAL);
    assert_int_equal(protect_limits_check(NULL, &u, T0, &s, &ev), -EINVAL);
    assert_int_equal(protect_limits_check(&l, NULL, T0, &s, &ev), -EINVAL);
    assert_int_equal(protect_limits_check(&l, &u, T0, NULL, &ev), -EINVAL);
    assert_int_equal(protect_limits_check(&l, &u, T0, &s, NULL), -EINVAL);
    l.cpu_soft_pct = NAN;
    assert_int_equal(protect_limits_check(&l, &u, T0, &s, &ev), -EINVAL);
    l.cpu_soft_pct = -1;
    assert_int_equal(protect_limits_check(&l, &u, T0, &s, &ev), -EINVAL);
    /* Nothing written. */
    assert_int_equal(s.active, PROTECT_LIMIT_HIGH_MEMORY);
    assert_int_equal(ev.entered, 7);
    assert_int_equal(ev.left, 7);

    assert_string_equal(protect_limit_event_type(PROTECT_LIMIT_HIGH_MEMORY), "task:high-memory");
    assert_string_equal(protect_limit_event_type(PROTECT_LIMIT_CRITICAL_MEMORY),
                        "task:critical-memory");
    assert_string_equal(protect_limit_event_type(PROTECT_LIMIT_HIGH_CPU), "task:high-cpu");
    assert_null(protect_limit_event_type(0));
    assert_null(protect_limit_event_type(3));
    assert_null(protect_limit_event_type(1U << 3));
}

/* ---- Protective mode ------------------------------------------------------------------------ */

static struct protect_config config(void)
{
    return (struct protect_config){
        .level = PROTECT_LEVEL_PROTECTIVE,
        .psi_critical_pct = 40,
        .psi_low_pct = 10,
        .mem_used_critical_pct = 95,
        .mem_used_low_pct = 85,
        .action_interval_usec = 10 * SEC,
        .resume_hold_usec = 60 * SEC,
    };
}

static struct protect_task task(uint64_t id, enum sched_priority p, usec_t started)
{
    return (struct protect_task){ .id = id, .priority = p, .started_usec = started };
}

/* psi < 0: unknown. */
static struct protect_input input(double psi, double used, struct protect_task *t, size_t n)
{
    return (struct protect_input){
        .has_psi = psi >= 0,
        .psi_some_avg10_pct = psi >= 0 ? psi : 0,
        .has_mem_used = used >= 0,
        .mem_used_pct = used >= 0 ? used : 0,
        .tasks = t,
        .n_tasks = n,
    };
}

/* Plans, checks the return value against the action, and applies it to the tasks as the daemon
 * would (a checkpoint changes no state). */
static struct protect_action step(const struct protect_config *c,
                                  double psi,
                                  double used,
                                  struct protect_task *t,
                                  size_t n,
                                  usec_t now,
                                  struct protect_state *s)
{
    struct protect_input in = input(psi, used, t, n);
    struct protect_action a;
    int r;

    memset(&a, 0x5a, sizeof a);
    r = protect_plan(c, &in, now, s, &a);
    assert_true(r >= 0);
    assert_int_equal(r, a.kind != PROTECT_ACTION_NONE);
    assert_true(a.reason[0] != '\0');
    assert_non_null(memchr(a.reason, '\0', sizeof a.reason));
    if (a.kind == PROTECT_ACTION_NONE) {
        assert_int_equal(a.task_index, SIZE_MAX);
        return a;
    }
    assert_true(a.task_index < n);
    assert_int_equal(t[a.task_index].id, a.task_id);
    if (a.kind == PROTECT_ACTION_SUSPEND) {
        assert_int_equal(t[a.task_index].state, PROTECT_TASK_RUNNING);
        t[a.task_index].state = PROTECT_TASK_SUSPENDED_BY_PROTECTION;
    } else if (a.kind == PROTECT_ACTION_RESUME) {
        assert_int_equal(t[a.task_index].state, PROTECT_TASK_SUSPENDED_BY_PROTECTION);
        t[a.task_index].state = PROTECT_TASK_RUNNING;
    }
    return a;
}

static void test_p0_never_suspended(void **unused)
{
    struct protect_config c = config();
    struct protect_task t[] = { task(1, SCHED_P0, T0) };
    struct protect_state s = PROTECT_STATE_INIT;
    struct protect_action a;

    /* The only task, and the machine at 100%: still not touched. */
    for (int i = 0; i < 5; i++) {
        a = step(&c, 100, 100, t, 1, T0 + (usec_t) (i * 20) * SEC, &s);
        assert_int_equal(a.kind, PROTECT_ACTION_NONE);
        assert_int_equal(a.pressure, PROTECT_PRESSURE_CRITICAL);
    }
    assert_non_null(strstr(a.reason, "no running task below P0"));
    assert_int_equal(t[0].state, PROTECT_TASK_RUNNING);
    assert_int_equal(s.last_action_usec, 0);
}

static void test_lowest_priority_first(void **unused)
{
    struct protect_config c = config();
    /* The P2 task is the oldest of all: priority comes before age. */
    struct protect_task t[] = {
        task(1, SCHED_P1, T0 + 50 * SEC),
        task(2, SCHED_P2, T0),
        task(3, SCHED_P0, T0 + 90 * SEC),
        task(4, SCHED_P1, T0 + 10 * SEC),
    };
    struct protect_state s = PROTECT_STATE_INIT;
    struct protect_action a;
    usec_t now = T0 + 100 * SEC;

    a = step(&c, 62, 50, t, 4, now, &s);
    assert_int_equal(a.kind, PROTECT_ACTION_SUSPEND);
    assert_int_equal(a.task_id, 2);
    assert_int_equal(a.pressure, PROTECT_PRESSURE_CRITICAL);
    assert_string_equal(a.reason, "memory pressure 62.0% ≥ 40%");
    /* Then the newest P1 (started T0+50 s), then the older P1, then nothing (P0 stays). */
    a = step(&c, 62, 50, t, 4, now + 10 * SEC, &s);
    assert_int_equal(a.task_id, 1);
    a = step(&c, 62, 96.5, t, 4, now + 20 * SEC, &s);
    assert_int_equal(a.task_id, 4);
    assert_string_equal(a.reason, "memory pressure 62.0% ≥ 40%, memory used 96.5% ≥ 95%");
    a = step(&c, 62, 50, t, 4, now + 30 * SEC, &s);
    assert_int_equal(a.kind, PROTECT_ACTION_NONE);
    assert_int_equal(t[2].state, PROTECT_TASK_RUNNING);
    assert_int_equal(s.n_suspended, 3);
    assert_int_equal(s.suspended[0].id, 2);
    assert_int_equal(s.suspended[1].id, 1);
    assert_int_equal(s.suspended[2].id, 4);
}

static void test_newest_first_among_equals(void **unused)
{
    struct protect_config c = config();
    struct protect_task t[] = {
        task(10, SCHED_P1, T0 + 5 * SEC), task(11, SCHED_P1, T0 + 30 * SEC),
        task(12, SCHED_P1, T0 + 20 * SEC),
        task(13, SCHED_P1, T0 + 30 * SEC), /* same start as 11: the higher id goes first */
    };
    struct protect_state s = PROTECT_STATE_INIT;
    uint64_t order[4];

    for (int i = 0; i < 4; i++) {
        struct protect_action a = step(&c, -1, 99, t, 4, T0 + (usec_t) (100 + 10 * i) * SEC, &s);
        assert_int_equal(a.kind, PROTECT_ACTION_SUSPEND);
        order[i] = a.task_id;
    }
    assert_int_equal(order[0], 13);
    assert_int_equal(order[1], 11);
    assert_int_equal(order[2], 12);
    assert_int_equal(order[3], 10);
}

static void test_interval_respected(void **unused)
{
    struct protect_config c = config();
    struct protect_task t[] = { task(1, SCHED_P2, T0), task(2, SCHED_P2, T0 + SEC) };
    struct protect_state s = PROTECT_STATE_INIT;
    struct protect_action a;
    usec_t now = T0 + 100 * SEC;

    assert_int_equal(step(&c, 50, -1, t, 2, now, &s).kind, PROTECT_ACTION_SUSPEND);
    /* 1 s .. 9.999999 s later: still critical, but nothing. */
    a = step(&c, 50, -1, t, 2, now + 1 * SEC, &s);
    assert_int_equal(a.kind, PROTECT_ACTION_NONE);
    assert_string_equal(a.reason, "memory pressure 50.0% ≥ 40%; next action in 9 s");
    a = step(&c, 50, -1, t, 2, now + 10 * SEC - 1, &s);
    assert_int_equal(a.kind, PROTECT_ACTION_NONE);
    assert_string_equal(a.reason, "memory pressure 50.0% ≥ 40%; next action in 1 s");
    a = step(&c, 50, -1, t, 2, now + 10 * SEC, &s);
    assert_int_equal(a.kind, PROTECT_ACTION_SUSPEND);
    assert_int_equal(a.task_id, 1);
    assert_int_equal(s.last_action_usec, now + 10 * SEC);
}

static void test_elevated_holds(void **unused)
{
    struct protect_config c = config();
    struct protect_task t[] = { task(1, SCHED_P2, T0) };
    struct protect_state s = PROTECT_STATE_INIT;
    struct protect_action a;

    /* Between low and critical: neither suspend nor the calm clock. */
    a = step(&c, 25, 50, t, 1, T0 + 100 * SEC, &s);
    assert_int_equal(a.kind, PROTECT_ACTION_NONE);
    assert_int_equal(a.pressure, PROTECT_PRESSURE_ELEVATED);
    assert_string_equal(a.reason, "memory pressure 25.0% ≥ 10%, memory used 50.0% < 85%");
    assert_int_equal(s.calm_since_usec, 0);
    /* Nothing known: unknown, never calm. */
    a = step(&c, -1, -1, t, 1, T0 + 101 * SEC, &s);
    assert_int_equal(a.pressure, PROTECT_PRESSURE_UNKNOWN);
    assert_int_equal(s.calm_since_usec, 0);
    /* A criterion switched off (critical 0) does not count even when known. */
    c.psi_critical_pct = 0;
    a = step(&c, 99, 50, t, 1, T0 + 102 * SEC, &s);
    assert_int_equal(a.pressure, PROTECT_PRESSURE_CALM);
    assert_string_equal(a.reason, "memory used 50.0% < 85%");
}

static void test_hold_down_and_restart(void **unused)
{
    struct protect_config c = config();
    struct protect_task t[] = { task(1, SCHED_P2, T0) };
    struct protect_state s = PROTECT_STATE_INIT;
    struct protect_action a;
    usec_t now = T0 + 100 * SEC;

    assert_int_equal(step(&c, 50, 50, t, 1, now, &s).kind, PROTECT_ACTION_SUSPEND);
    /* Calm from +20 s. At +79 s (59 s calm) nothing yet. */
    a = step(&c, 5, 50, t, 1, now + 20 * SEC, &s);
    assert_int_equal(a.kind, PROTECT_ACTION_NONE);
    assert_int_equal(a.pressure, PROTECT_PRESSURE_CALM);
    assert_int_equal(s.calm_since_usec, now + 20 * SEC);
    a = step(&c, 5, 50, t, 1, now + 79 * SEC, &s);
    assert_int_equal(a.kind, PROTECT_ACTION_NONE);
    assert_non_null(strstr(a.reason, "calm for 59 s of 60 s"));
    /* A new spike above the low threshold (not even critical) restarts the hold-down. */
    a = step(&c, 12, 50, t, 1, now + 79 * SEC + 500000, &s);
    assert_int_equal(a.kind, PROTECT_ACTION_NONE);
    assert_int_equal(s.calm_since_usec, 0);
    a = step(&c, 5, 50, t, 1, now + 80 * SEC, &s);
    assert_int_equal(a.kind, PROTECT_ACTION_NONE);
    assert_int_equal(s.calm_since_usec, now + 80 * SEC);
    /* So the old deadline (+80 s) passes without a resume ... */
    a = step(&c, 5, 50, t, 1, now + 139 * SEC, &s);
    assert_int_equal(a.kind, PROTECT_ACTION_NONE);
    /* ... and the resume comes 60 s after the new start. */
    a = step(&c, 5, 50, t, 1, now + 140 * SEC, &s);
    assert_int_equal(a.kind, PROTECT_ACTION_RESUME);
    assert_int_equal(a.task_id, 1);
    assert_string_equal(a.reason, "memory pressure 5.0% < 10%, memory used 50.0% < 85% for 60 s");
    assert_int_equal(s.n_suspended, 0);
    assert_int_equal(t[0].state, PROTECT_TASK_RUNNING);
    /* Nothing left to resume. */
    a = step(&c, 5, 50, t, 1, now + 200 * SEC, &s);
    assert_int_equal(a.kind, PROTECT_ACTION_NONE);
}

static void test_resume_order(void **unused)
{
    struct protect_config c = config();
    struct protect_task t[] = {
        task(1, SCHED_P2, T0),
        task(2, SCHED_P1, T0 + 1 * SEC),
        task(3, SCHED_P1, T0 + 2 * SEC),
        task(4, SCHED_P2, T0 + 3 * SEC),
    };
    struct protect_state s = PROTECT_STATE_INIT;
    struct protect_action a;
    usec_t now = T0 + 100 * SEC;
    uint64_t order[4];

    /* Suspended in the order 4, 1 (P2, newest first), 3, 2 (P1). */
    for (int i = 0; i < 4; i++) {
        a = step(&c, 80, 50, t, 4, now + (usec_t) (10 * i) * SEC, &s);
        assert_int_equal(a.kind, PROTECT_ACTION_SUSPEND);
        order[i] = a.task_id;
    }
    assert_int_equal(order[0], 4);
    assert_int_equal(order[1], 1);
    assert_int_equal(order[2], 3);
    assert_int_equal(order[3], 2);

    /* Calm from +40 s; resumes at +100 s, then one per 10 s: P1 first, the earliest suspended of
     * each priority first (3 before 2, 4 before 1). */
    now += 40 * SEC;
    assert_int_equal(step(&c, 1, 50, t, 4, now, &s).kind, PROTECT_ACTION_NONE);
    a = step(&c, 1, 50, t, 4, now + 60 * SEC, &s);
    assert_int_equal(a.kind, PROTECT_ACTION_RESUME);
    order[0] = a.task_id;
    a = step(&c, 1, 50, t, 4, now + 65 * SEC, &s);
    assert_int_equal(a.kind, PROTECT_ACTION_NONE); /* the interval between resumes */
    assert_non_null(strstr(a.reason, "next resume in 5 s"));
    for (int i = 1; i < 4; i++) {
        a = step(&c, 1, 50, t, 4, now + (usec_t) (60 + 10 * i) * SEC, &s);
        assert_int_equal(a.kind, PROTECT_ACTION_RESUME);
        order[i] = a.task_id;
    }
    assert_int_equal(order[0], 3);
    assert_int_equal(order[1], 2);
    assert_int_equal(order[2], 4);
    assert_int_equal(order[3], 1);
}

static void test_checkpoint_then_suspend(void **unused)
{
    struct protect_config c = config();
    struct protect_task t[] = { task(1, SCHED_P1, T0), task(2, SCHED_P2, T0 + SEC) };
    struct protect_state s = PROTECT_STATE_INIT;
    struct protect_action a;
    usec_t now = T0 + 100 * SEC;

    t[1].checkpoint_signal = SIGUSR1;
    t[1].checkpoint_grace_usec = 30 * SEC;

    a = step(&c, 70, 50, t, 2, now, &s);
    assert_int_equal(a.kind, PROTECT_ACTION_CHECKPOINT);
    assert_int_equal(a.task_id, 2);
    assert_int_equal(a.signal, SIGUSR1);
    assert_int_equal(a.grace_usec, 30 * SEC);
    assert_string_equal(a.reason, "memory pressure 70.0% ≥ 40%; checkpoint first, 30 s grace");
    assert_true(s.checkpoint_pending);
    assert_int_equal(t[1].state, PROTECT_TASK_RUNNING);
    /* During the grace nothing else happens, not even to task 1, though the interval passed. */
    for (int i = 1; i < 30; i++) {
        a = step(&c, 70, 50, t, 2, now + (usec_t) i * SEC, &s);
        assert_int_equal(a.kind, PROTECT_ACTION_NONE);
    }
    assert_string_equal(a.reason, "waiting for task 2 to checkpoint: 1 s of its 30 s grace left");
    a = step(&c, 70, 50, t, 2, now + 30 * SEC, &s);
    assert_int_equal(a.kind, PROTECT_ACTION_SUSPEND);
    assert_int_equal(a.task_id, 2);
    assert_false(s.checkpoint_pending);
    /* The interval counts from the suspend. */
    assert_int_equal(step(&c, 70, 50, t, 2, now + 39 * SEC, &s).kind, PROTECT_ACTION_NONE);
    a = step(&c, 70, 50, t, 2, now + 40 * SEC, &s);
    assert_int_equal(a.kind, PROTECT_ACTION_SUSPEND);
    assert_int_equal(a.task_id, 1);
}

static void test_checkpoint_cancelled(void **unused)
{
    struct protect_config c = config();
    struct protect_task t[] = { task(1, SCHED_P2, T0), task(2, SCHED_P2, T0 + SEC) };
    struct protect_state s = PROTECT_STATE_INIT;
    struct protect_action a;
    usec_t now = T0 + 100 * SEC;

    for (int i = 0; i < 2; i++) {
        t[i].checkpoint_signal = SIGUSR2;
        t[i].checkpoint_grace_usec = 20 * SEC;
    }
    /* Calm by the end of the grace: no suspend. */
    assert_int_equal(step(&c, 70, 50, t, 2, now, &s).kind, PROTECT_ACTION_CHECKPOINT);
    a = step(&c, 3, 50, t, 2, now + 20 * SEC, &s);
    assert_int_equal(a.kind, PROTECT_ACTION_NONE);
    assert_non_null(strstr(a.reason, "not suspending"));
    assert_false(s.checkpoint_pending);
    /* A task that ends during its grace is forgotten; the next critical call picks another. */
    a = step(&c, 70, 50, t, 2, now + 30 * SEC, &s);
    assert_int_equal(a.kind, PROTECT_ACTION_CHECKPOINT);
    assert_int_equal(a.task_id, 2);
    a = step(&c, 70, 50, t, 1, now + 31 * SEC, &s); /* task 2 gone */
    assert_int_equal(a.kind, PROTECT_ACTION_CHECKPOINT);
    assert_int_equal(a.task_id, 1);
    assert_true(s.checkpoint_pending);
    assert_int_equal(s.checkpoint_id, 1);
    assert_int_equal(s.checkpoint_usec, now + 31 * SEC);
    /* The user suspends it during its grace: dropped, and protection does not pick it again. */
    t[0].state = PROTECT_TASK_SUSPENDED_BY_USER;
    a = step(&c, 70, 50, t, 1, now + 32 * SEC, &s);
    assert_false(s.checkpoint_pending);
    assert_int_equal(a.kind, PROTECT_ACTION_NONE);
    /* Grace 0: the suspend follows on the next call. */
    struct protect_task g[] = { task(5, SCHED_P1, T0) };
    struct protect_state gs = PROTECT_STATE_INIT;
    g[0].checkpoint_signal = SIGTERM;
    assert_int_equal(step(&c, 70, 50, g, 1, now, &gs).kind, PROTECT_ACTION_CHECKPOINT);
    assert_int_equal(step(&c, 70, 50, g, 1, now + 1, &gs).kind, PROTECT_ACTION_SUSPEND);
}

static void test_user_suspended_untouched(void **unused)
{
    struct protect_config c = config();
    struct protect_task t[] = { task(1, SCHED_P2, T0 + 50 * SEC), task(2, SCHED_P1, T0) };
    struct protect_state s = PROTECT_STATE_INIT;
    struct protect_action a;
    usec_t now = T0 + 100 * SEC;

    t[0].state = PROTECT_TASK_SUSPENDED_BY_USER;
    /* The P2 task would go first, but the user holds it: the P1 task goes. */
    a = step(&c, 90, 50, t, 2, now, &s);
    assert_int_equal(a.kind, PROTECT_ACTION_SUSPEND);
    assert_int_equal(a.task_id, 2);
    /* Calm long enough: only what protection suspended is resumed. */
    assert_int_equal(step(&c, 1, 50, t, 2, now + 10 * SEC, &s).kind, PROTECT_ACTION_NONE);
    a = step(&c, 1, 50, t, 2, now + 70 * SEC, &s);
    assert_int_equal(a.kind, PROTECT_ACTION_RESUME);
    assert_int_equal(a.task_id, 2);
    a = step(&c, 1, 50, t, 2, now + 200 * SEC, &s);
    assert_int_equal(a.kind, PROTECT_ACTION_NONE);
    assert_int_equal(t[0].state, PROTECT_TASK_SUSPENDED_BY_USER);
}

static void test_vanished_forgotten(void **unused)
{
    struct protect_config c = config();
    struct protect_task t[] = { task(1, SCHED_P2, T0), task(2, SCHED_P2, T0 + SEC),
                                task(3, SCHED_P1, T0) };
    struct protect_state s = PROTECT_STATE_INIT;
    usec_t now = T0 + 100 * SEC;

    for (int i = 0; i < 3; i++)
        assert_int_equal(step(&c, 90, 50, t, 3, now + (usec_t) (10 * i) * SEC, &s).kind,
                         PROTECT_ACTION_SUSPEND);
    assert_int_equal(s.n_suspended, 3);
    /* Task 2 (listed second) ends; task 3 is resumed by the user. */
    struct protect_task left[] = { t[0], t[2] };
    left[1].state = PROTECT_TASK_RUNNING;
    struct protect_action a = step(&c, 20, 50, left, 2, now + 40 * SEC, &s);
    assert_int_equal(a.kind, PROTECT_ACTION_NONE);
    assert_int_equal(s.n_suspended, 1);
    assert_int_equal(s.suspended[0].id, 1);
    assert_int_equal(s.suspended[0].suspended_usec, now + 10 * SEC);
}

static void test_level_off_resumes(void **unused)
{
    struct protect_config c = config();
    struct protect_task t[] = { task(1, SCHED_P2, T0), task(2, SCHED_P2, T0 + SEC) };
    struct protect_state s = PROTECT_STATE_INIT;
    struct protect_action a;
    usec_t now = T0 + 100 * SEC;

    assert_int_equal(step(&c, 90, 50, t, 2, now, &s).kind, PROTECT_ACTION_SUSPEND);
    assert_int_equal(step(&c, 90, 50, t, 2, now + 10 * SEC, &s).kind, PROTECT_ACTION_SUSPEND);

    /* Active and passive never suspend; turning protection off gives back what it took, one per
     * interval, though the machine is still critical. */
    c.level = PROTECT_LEVEL_ACTIVE;
    a = step(&c, 90, 50, t, 2, now + 15 * SEC, &s);
    assert_int_equal(a.kind, PROTECT_ACTION_NONE);
    assert_string_equal(a.reason, "level active: protection is off, next resume in 5 s");
    a = step(&c, 90, 50, t, 2, now + 20 * SEC, &s);
    assert_int_equal(a.kind, PROTECT_ACTION_RESUME);
    assert_int_equal(a.task_id, 2); /* suspended first (the newer of two P2 tasks) */
    c.level = PROTECT_LEVEL_PASSIVE;
    a = step(&c, 90, 50, t, 2, now + 30 * SEC, &s);
    assert_int_equal(a.kind, PROTECT_ACTION_RESUME);
    assert_int_equal(a.task_id, 1);
    a = step(&c, 90, 50, t, 2, now + 40 * SEC, &s);
    assert_int_equal(a.kind, PROTECT_ACTION_NONE);
    assert_string_equal(a.reason, "level passive: protection is off");
}

static void test_lost_state_adopts(void **unused)
{
    struct protect_config c = config();
    /* A daemon restarted with an empty state, tasks still frozen: they are resumed, earliest
     * "suspended" (all unknown, so by id) within the priority. */
    struct protect_task t[] = { task(7, SCHED_P2, T0), task(5, SCHED_P2, T0),
                                task(6, SCHED_P1, T0) };
    struct protect_state s = PROTECT_STATE_INIT;
    uint64_t order[3];
    usec_t now = T0 + 100 * SEC;

    for (int i = 0; i < 3; i++)
        t[i].state = PROTECT_TASK_SUSPENDED_BY_PROTECTION;
    assert_int_equal(step(&c, 1, 10, t, 3, now, &s).kind, PROTECT_ACTION_NONE);
    for (int i = 0; i < 3; i++) {
        struct protect_action a = step(&c, 1, 10, t, 3, now + (usec_t) (60 + 10 * i) * SEC, &s);
        assert_int_equal(a.kind, PROTECT_ACTION_RESUME);
        order[i] = a.task_id;
    }
    assert_int_equal(order[0], 6);
    assert_int_equal(order[1], 5);
    assert_int_equal(order[2], 7);
}

static void test_suspended_bound(void **unused)
{
    struct protect_config c = config();
    struct protect_task t[PROTECT_SUSPENDED_MAX + 1];
    struct protect_state s = PROTECT_STATE_INIT;
    struct protect_action a;

    c.action_interval_usec = 0;
    for (size_t i = 0; i < ELEMENTSOF(t); i++)
        t[i] = task(i + 1, SCHED_P2, T0 + i);
    for (unsigned i = 0; i < PROTECT_SUSPENDED_MAX; i++)
        assert_int_equal(step(&c, 90, 50, t, ELEMENTSOF(t), T0 + 1000 + i, &s).kind,
                         PROTECT_ACTION_SUSPEND);
    a = step(&c, 90, 50, t, ELEMENTSOF(t), T0 + 5000, &s);
    assert_int_equal(a.kind, PROTECT_ACTION_NONE);
    assert_non_null(strstr(a.reason, "256 tasks suspended already"));
    assert_int_equal(t[0].state, PROTECT_TASK_RUNNING); /* the oldest was left */
}

static void test_plan_einval(void **unused)
{
    struct protect_config c = config();
    struct protect_task t[] = { task(1, SCHED_P2, T0) };
    struct protect_input in = input(90, 50, t, 1);
    struct protect_state s = PROTECT_STATE_INIT, before;
    struct protect_action a, a0;

    s.calm_since_usec = 123;
    before = s;
    memset(&a, 0x11, sizeof a);
    a0 = a;

    assert_int_equal(protect_plan(&c, &in, 0, &s, &a), -EINVAL);
    assert_int_equal(protect_plan(&c, NULL, T0, &s, &a), -EINVAL);
    assert_int_equal(protect_plan(&c, &in, T0, NULL, &a), -EINVAL);
    assert_int_equal(protect_plan(&c, &in, T0, &s, NULL), -EINVAL);
    in.psi_some_avg10_pct = NAN;
    assert_int_equal(protect_plan(&c, &in, T0, &s, &a), -EINVAL);
    in.psi_some_avg10_pct = 100.5;
    assert_int_equal(protect_plan(&c, &in, T0, &s, &a), -EINVAL);
    in = input(90, 50, t, 1);
    in.tasks = NULL;
    assert_int_equal(protect_plan(&c, &in, T0, &s, &a), -EINVAL);
    in = input(90, 50, t, PROTECT_TASKS_MAX + 1);
    assert_int_equal(protect_plan(&c, &in, T0, &s, &a), -EINVAL);
    in = input(90, 50, t, 1);
    t[0].priority = (enum sched_priority) 3;
    assert_int_equal(protect_plan(&c, &in, T0, &s, &a), -EINVAL);
    t[0].priority = SCHED_P2;
    t[0].state = (enum protect_task_state) 3;
    assert_int_equal(protect_plan(&c, &in, T0, &s, &a), -EINVAL);
    t[0].state = PROTECT_TASK_RUNNING;
    t[0].checkpoint_signal = -1;
    assert_int_equal(protect_plan(&c, &in, T0, &s, &a), -EINVAL);
    t[0].checkpoint_signal = 0;
    c.psi_low_pct = 50; /* above critical */
    assert_int_equal(protect_plan(&c, &in, T0, &s, &a), -EINVAL);
    c = config();
    c.mem_used_low_pct = 0; /* in use with no low threshold: never calm */
    assert_int_equal(protect_plan(&c, &in, T0, &s, &a), -EINVAL);
    c = config();
    c.level = _PROTECT_LEVEL_MAX;
    assert_int_equal(protect_plan(&c, &in, T0, &s, &a), -EINVAL);
    assert_memory_equal(&s, &before, sizeof s);
    assert_memory_equal(&a, &a0, sizeof a);

    /* NULL config: the defaults (protective, PSI 40%). */
    assert_int_equal(protect_plan(NULL, &in, T0, &s, &a), 1);
    assert_int_equal(a.kind, PROTECT_ACTION_SUSPEND);
}

static void test_names(void **unused)
{
    assert_string_equal(protect_level_to_string(PROTECT_LEVEL_PROTECTIVE), "protective");
    assert_int_equal(protect_level_from_string("active"), PROTECT_LEVEL_ACTIVE);
    assert_int_equal(protect_level_from_string("passive"), PROTECT_LEVEL_PASSIVE);
    assert_int_equal(protect_level_from_string("Active"), _PROTECT_LEVEL_INVALID);
    assert_int_equal(protect_level_from_string(NULL), _PROTECT_LEVEL_INVALID);
    assert_null(protect_level_to_string(_PROTECT_LEVEL_MAX));
    assert_string_equal(protect_action_kind_to_string(PROTECT_ACTION_CHECKPOINT), "checkpoint");
    assert_null(protect_action_kind_to_string(_PROTECT_ACTION_INVALID));
    assert_string_equal(protect_task_state_to_string(PROTECT_TASK_SUSPENDED_BY_USER),
                        "suspended-by-user");
    assert_string_equal(protect_pressure_to_string(PROTECT_PRESSURE_ELEVATED), "elevated");
}

static void test_profiles(void **unused)
{
    struct protect_profile m, b, k, x;
    struct protect_config d;
    const char *names[] = { "minimal", "balanced", "conservative" };

    assert_int_equal(protect_profile("minimal", &m), 0);
    assert_int_equal(protect_profile("balanced", &b), 0);
    assert_int_equal(protect_profile("conservative", &k), 0);
    assert_int_equal(m.config.level, PROTECT_LEVEL_PASSIVE);
    assert_int_equal(b.config.level, PROTECT_LEVEL_ACTIVE);
    assert_int_equal(k.config.level, PROTECT_LEVEL_PROTECTIVE);
    /* Conservative acts earlier on every threshold and warns earlier per task. */
    assert_true(k.config.psi_critical_pct < b.config.psi_critical_pct);
    assert_true(b.config.psi_critical_pct < m.config.psi_critical_pct);
    assert_true(k.config.mem_used_critical_pct < b.config.mem_used_critical_pct);
    assert_true(k.task_mem_hard_pct < b.task_mem_hard_pct);
    assert_true(k.stall_usec < b.stall_usec && b.stall_usec < m.stall_usec);
    assert_true(!(m.task_mem_soft_pct > 0) && m.task_mem_hard_pct > 0);

    /* Each profile is a valid configuration for protect_plan(), at every level. */
    for (size_t i = 0; i < ELEMENTSOF(names); i++) {
        struct protect_profile p;
        struct protect_input in = input(1, 1, NULL, 0);
        struct protect_state s = PROTECT_STATE_INIT;
        struct protect_action a;

        assert_int_equal(protect_profile(names[i], &p), 0);
        assert_true(p.task_mem_soft_pct < p.task_mem_hard_pct);
        assert_true(p.config.resume_hold_usec > 0 && p.config.action_interval_usec > 0);
        for (int l = 0; l < _PROTECT_LEVEL_MAX; l++) {
            p.config.level = (enum protect_level) l;
            assert_int_equal(protect_plan(&p.config, &in, T0, &s, &a), 0);
            assert_int_equal(a.pressure, PROTECT_PRESSURE_CALM);
        }
    }

    protect_config_default(&d);
    assert_int_equal(d.level, PROTECT_LEVEL_PROTECTIVE);
    assert_true(d.psi_critical_pct > 39.9 && d.psi_critical_pct < 40.1);
    assert_int_equal(d.resume_hold_usec, PROTECT_RESUME_HOLD_DEFAULT_USEC);

    memset(&x, 0x33, sizeof x);
    assert_int_equal(protect_profile("Balanced", &x), -EINVAL);
    assert_int_equal(protect_profile("", &x), -EINVAL);
    assert_int_equal(protect_profile(NULL, &x), -EINVAL);
    assert_int_equal(protect_profile("minimal", NULL), -EINVAL);
    assert_int_equal(((unsigned char *) &x)[0], 0x33);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_once_per_crossing),
        cmocka_unit_test(test_memory_hysteresis),
        cmocka_unit_test(test_memory_critical),
        cmocka_unit_test(test_cpu_sustained),
        cmocka_unit_test(test_cpu_band_and_unknown),
        cmocka_unit_test(test_limits_resolve),
        cmocka_unit_test(test_limits_einval),
        cmocka_unit_test(test_p0_never_suspended),
        cmocka_unit_test(test_lowest_priority_first),
        cmocka_unit_test(test_newest_first_among_equals),
        cmocka_unit_test(test_interval_respected),
        cmocka_unit_test(test_elevated_holds),
        cmocka_unit_test(test_hold_down_and_restart),
        cmocka_unit_test(test_resume_order),
        cmocka_unit_test(test_checkpoint_then_suspend),
        cmocka_unit_test(test_checkpoint_cancelled),
        cmocka_unit_test(test_user_suspended_untouched),
        cmocka_unit_test(test_vanished_forgotten),
        cmocka_unit_test(test_level_off_resumes),
        cmocka_unit_test(test_lost_state_adopts),
        cmocka_unit_test(test_suspended_bound),
        cmocka_unit_test(test_plan_einval),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_profiles),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
