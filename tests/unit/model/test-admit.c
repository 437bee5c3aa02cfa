/* SPDX-License-Identifier: MIT */
/* Admission planning (declared vs predicted vs thresholds), reservations that shrink as a task's
 * use shows, the lease table, and the "when will it fit" estimate: exact values throughout. */

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "model/admit.h"
#include "model/lease.h"

#define GiB (1ULL << 30)

static void assert_close(double a, double b)
{
    if (fabs(a - b) > 1e-9 * (1 + fabs(b)))
        fail_msg("%.17g != %.17g", a, b);
}

static const double NONE[_LEARN_RESOURCE_MAX] = { NAN, NAN, NAN, NAN, NAN };

/* A type observed n times at complexity c with memory m·c pp and CPU 10 pp, no GPU. */
static struct task_model model_of(unsigned n, double mem_per_c)
{
    struct task_model m;

    assert_int_equal(task_model_init(&m, PREDICT_MODEL_EWLS, NULL), 0);
    for (unsigned i = 0; i < n; i++) {
        double c = 1 + i % 4;
        double v[_LEARN_RESOURCE_MAX] = { 10, mem_per_c * c, NAN, NAN, NAN };
        assert_int_equal(task_model_observe(&m, c, v, 1), 0);
    }
    return m;
}

static void test_names(void **state)
{
    assert_string_equal(learn_resource_to_string(LEARN_MEMORY), "memory");
    assert_int_equal(learn_resource_from_string("vram"), LEARN_VRAM);
    assert_string_equal(learn_resource_to_string(LEARN_DURATION), "duration");
    assert_int_equal(learn_resource_from_string("disk"), _LEARN_RESOURCE_INVALID);
    assert_int_equal(learn_resource_from_string(NULL), _LEARN_RESOURCE_INVALID);
    assert_null(learn_resource_to_string(_LEARN_RESOURCE_MAX));
    assert_string_equal(need_source_to_string(NEED_PREDICTED), "predicted");
    assert_string_equal(lease_holder_to_string(LEASE_TASK), "task");
    assert_null(lease_holder_to_string(_LEASE_HOLDER_MAX));
    assert_close(observation_weight(0), 1);
    assert_close(observation_weight(3), 0.25);
}

static void test_observe_is_atomic(void **state)
{
    struct task_model m = model_of(3, 2), before = m;
    double bad[_LEARN_RESOURCE_MAX] = { 5, INFINITY, NAN, NAN, NAN };

    /* The CPU value is valid but the memory one is not: nothing at all is learnt. */
    assert_int_equal(task_model_observe(&m, 1, bad, 1), -EINVAL);
    assert_memory_equal(&m, &before, sizeof(m));
    double ok[_LEARN_RESOURCE_MAX] = { 5, 1, NAN, NAN, NAN };
    assert_int_equal(task_model_observe(&m, 1, ok, 0), -EINVAL); /* weight 0 */
    assert_int_equal(task_model_observe(&m, 1, ok, 1.5), -EINVAL);
    assert_memory_equal(&m, &before, sizeof(m));
    assert_int_equal(task_model_observe(&m, 1, ok, 0.5), 0);
    assert_int_equal(m.p[LEARN_CPU].n, 4);
    assert_int_equal(m.p[LEARN_GPU].n, 0);
}

static void test_weighted_observation(void **state)
{
    struct predictor full, half;

    assert_int_equal(predictor_init(&full, PREDICT_MODEL_EWLS, NULL), 0);
    half = full;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(predictor_observe(&full, 1, 10), 0);
        assert_int_equal(predictor_observe(&half, 1, 10), 0);
    }
    /* An overlapped window measuring 30 pulls the mean less than a clean one would. */
    assert_int_equal(predictor_observe(&full, 1, 30), 0);
    assert_int_equal(predictor_observe_weighted(&half, 1, 30, 0.25), 0);
    assert_true(half.my < full.my);
    assert_true(half.my > 10);
    /* ...and does not raise the peak floor, which a clean one does. */
    assert_close(predictor_peak_max(&full), 30);
    assert_close(predictor_peak_max(&half), 10 * pow(0.97, 0.25)); /* decayed, not raised */
    /* With weight 1 the weighted form is the plain one, bit for bit. */
    struct predictor a, b;
    assert_int_equal(predictor_init(&a, PREDICT_MODEL_EWLS, NULL), 0);
    b = a;
    for (int i = 0; i < 20; i++) {
        assert_int_equal(predictor_observe(&a, i, 3.5 * i + 1), 0);
        assert_int_equal(predictor_observe_weighted(&b, i, 3.5 * i + 1, 1), 0);
    }
    assert_memory_equal(&a, &b, sizeof(a));
}

static void test_plan_sources(void **state)
{
    struct task_model m = model_of(8, 2); /* memory = 2·c exactly, CPU 10 */
    struct admit_plan p;
    struct admit_request rq = { .model = &m, .named = true, .complexity = 4 };

    assert_int_equal(admit_plan(&rq, &p), 0);
    assert_false(p.explain.insufficient_data);
    assert_int_equal(p.explain.source[LEARN_CPU], NEED_PREDICTED);
    assert_int_equal(p.explain.source[LEARN_MEMORY], NEED_PREDICTED);
    /* No GPU ever seen: nothing predicted, and that is not a gap. */
    assert_int_equal(p.explain.source[LEARN_GPU], NEED_NONE);
    assert_false(p.explain.has_prediction[LEARN_GPU]);
    /* The fit is exact, so the upper is the line itself floored by the bucket peak (8 at c=4). */
    assert_close(p.need.mem_pct, p.explain.prediction[LEARN_MEMORY].upper);
    assert_true(p.need.mem_pct >= 8 - 1e-9);
    assert_close(p.need.cpu_pct, p.explain.prediction[LEARN_CPU].upper);
    assert_memory_equal(&p.need, &p.reserve, sizeof(p.need));

    /* A declared size wins over the prediction for that resource only. */
    rq.declared.mem_bytes = 3 * GiB;
    assert_int_equal(admit_plan(&rq, &p), 0);
    assert_int_equal(p.explain.source[LEARN_MEMORY], NEED_DECLARED);
    assert_int_equal(p.explain.source[LEARN_CPU], NEED_PREDICTED);
    assert_int_equal(p.need.mem_bytes, 3 * GiB);
    assert_close(p.need.mem_pct, 0);
    /* ...and the prediction is still shown. */
    assert_true(p.explain.has_prediction[LEARN_MEMORY]);

    rq.complexity = -1;
    assert_int_equal(admit_plan(&rq, &p), -EINVAL);
    rq.complexity = NAN;
    assert_int_equal(admit_plan(&rq, &p), -EINVAL);
}

static void test_plan_cpu_expected(void **state)
{
    /* Noisy CPU and memory: memory is planned on its upper bound, CPU on its expected value. */
    struct task_model m;
    struct admit_plan p;

    assert_int_equal(task_model_init(&m, PREDICT_MODEL_EWLS, NULL), 0);
    for (int i = 0; i < 20; i++) {
        double v[_LEARN_RESOURCE_MAX] = { 10 + (i % 3) * 4, 20 + (i % 4) * 3, NAN, NAN, NAN };
        assert_int_equal(task_model_observe(&m, 1, v, 1), 0);
    }
    struct admit_request rq = { .model = &m, .named = true, .complexity = 1 };
    assert_int_equal(admit_plan(&rq, &p), 0);
    const struct prediction *c = &p.explain.prediction[LEARN_CPU], *mem = &p.explain.prediction[LEARN_MEMORY];
    assert_true(c->upper > c->expected + 1);
    assert_close(p.need.cpu_pct, c->expected);
    assert_close(p.reserve.cpu_pct, c->expected);
    assert_close(p.need.mem_pct, mem->upper);
    assert_close(p.margin.mem_pct, mem->upper - mem->expected);
    assert_close(p.margin.cpu_pct, 0);
}

static void test_plan_insufficient(void **state)
{
    struct task_model m = model_of(3, 2); /* fewer than 5 */
    struct admit_plan p;
    struct admit_request rq = { .model = &m, .named = true, .complexity = 2,
                                .fallback = { .cpu_pct = 40, .mem_pct = 25 } };

    assert_int_equal(admit_plan(&rq, &p), 0);
    assert_true(p.explain.insufficient_data);
    assert_int_equal(p.explain.source[LEARN_MEMORY], NEED_NONE);
    /* The decision falls back on thresholds: nothing added... */
    assert_close(p.need.mem_pct, 0);
    assert_close(p.need.cpu_pct, 0);
    /* ...but the lease holds the fallback. */
    assert_close(p.reserve.mem_pct, 25);
    assert_close(p.reserve.cpu_pct, 40);
    assert_false(p.explain.prediction[LEARN_MEMORY].sufficient);

    /* A type never seen, named: insufficient. Unnamed: just declared needs, no note. */
    rq.model = NULL;
    assert_int_equal(admit_plan(&rq, &p), 0);
    assert_true(p.explain.insufficient_data);
    rq.named = false;
    rq.declared.cpu_pct = 5;
    assert_int_equal(admit_plan(&rq, &p), 0);
    assert_false(p.explain.insufficient_data);
    assert_close(p.need.cpu_pct, 5);
    assert_close(p.reserve.cpu_pct, 5);
}

static void test_duration(void **state)
{
    struct task_model m;
    double sec;

    assert_int_equal(task_model_init(&m, PREDICT_MODEL_EWLS, NULL), 0);
    assert_int_equal(admit_expected_duration(&m, 1, &sec), -ENODATA);
    for (int i = 0; i < 6; i++) {
        double c = 1 + i;
        double v[_LEARN_RESOURCE_MAX] = { 10, 5, NAN, NAN, 60 * c };
        assert_int_equal(task_model_observe(&m, c, v, 1), 0);
    }
    /* Runs take a minute per unit of complexity: about 8 minutes at 8. */
    assert_int_equal(admit_expected_duration(&m, 8, &sec), 0);
    assert_true(fabs(sec - 480) < 1e-6);
    assert_int_equal(admit_expected_duration(&m, -1, &sec), -EINVAL);
    /* Duration is never a need: the plan holds nothing for it and says nothing about it. */
    struct admit_request rq = { .model = &m, .named = true, .complexity = 8 };
    struct admit_plan p;
    assert_int_equal(admit_plan(&rq, &p), 0);
    assert_false(p.explain.has_prediction[LEARN_DURATION]);
    assert_int_equal(p.explain.source[LEARN_DURATION], NEED_NONE);
    assert_false(p.explain.insufficient_data);
}

static void test_fallback(void **state)
{
    struct task_model m = model_of(2, 3); /* memory peaks 3 and 6 */
    const double global[_LEARN_RESOURCE_MAX] = { 50, 30, 70, 0, 0 };
    struct decide_need f;

    admit_fallback(&m, global, 10, &f);
    assert_close(f.mem_pct, 6);      /* the type's own */
    assert_close(f.cpu_pct, 10);
    assert_close(f.gpu_pct, 70);     /* the type never used a GPU: any type's */
    assert_close(f.vram_pct, 0);
    admit_fallback(NULL, global, 10, &f);
    assert_close(f.mem_pct, 30);
    /* Nothing seen anywhere: memory falls back on the cold-start reserve, the rest on nothing. */
    const double nothing[_LEARN_RESOURCE_MAX] = { 0, 0, 0, 0, 0 };
    admit_fallback(NULL, nothing, 10, &f);
    assert_close(f.mem_pct, 10);
    assert_close(f.cpu_pct, 0);
    admit_fallback(NULL, nothing, 0, &f);
    assert_close(f.mem_pct, 0);
}

static void test_remaining(void **state)
{
    struct decide_need held = { .cpu_pct = 20, .mem_pct = 10, .mem_bytes = 4 * GiB, .vram_bytes = 2 * GiB };
    struct decide_need r;
    double reached[_LEARN_RESOURCE_MAX] = { 5, 12.5, NAN, 25, NAN };

    /* Memory: 10 pp of percent reserve is used up first, the other 2.5 pp of 16 GiB come off
     * the bytes. VRAM: 25 % of 8 GiB = 2 GiB, all of it. */
    reservation_remaining(&held, reached, 16 * GiB, 8 * GiB, &r);
    assert_close(r.cpu_pct, 15);
    assert_close(r.mem_pct, 0);
    assert_int_equal(r.mem_bytes, 4 * GiB - (uint64_t) (0.025 * 16 * GiB));
    assert_int_equal(r.vram_bytes, 0);
    /* Never below zero, and nothing seen means nothing shrinks. */
    double big[_LEARN_RESOURCE_MAX] = { 90, 90, NAN, NAN, NAN };
    reservation_remaining(&held, big, 16 * GiB, 0, &r);
    assert_close(r.cpu_pct, 0);
    assert_int_equal(r.mem_bytes, 0);
    assert_int_equal(r.vram_bytes, 2 * GiB);
    reservation_remaining(&held, NONE, 16 * GiB, 8 * GiB, &r);
    assert_memory_equal(&r, &held, sizeof(r));
    /* Without a total, bytes cannot be converted and stay whole. */
    reservation_remaining(&held, reached, 0, 0, &r);
    assert_int_equal(r.mem_bytes, 4 * GiB);
}

static void test_lease_table(void **state)
{
    struct lease slots[3];
    struct lease_table t = { .v = slots, .cap = 3 };
    struct decide_need need = { .mem_pct = 10, .cpu_pct = 5 }, none = { 0 }, sum;
    struct lease l, got;

    for (uint64_t id = 1; id <= 3; id++) {
        lease_init(&l, id, id == 2 ? "b" : "a", 1, &need, &none, 1000, 100 * id, 5000);
        assert_int_equal(lease_table_add(&t, &l), 0);
    }
    assert_int_equal(lease_table_add(&t, &l), -EEXIST);
    l.id = 9;
    assert_int_equal(lease_table_add(&t, &l), -ENOSPC);
    lease_table_sum(&t, &sum);
    assert_close(sum.mem_pct, 30);
    assert_close(sum.cpu_pct, 15);

    /* The oldest unattached lease of a task. */
    assert_int_equal(lease_table_find_unattached(&t, "a")->id, 1);
    assert_int_equal(lease_table_find_unattached(&t, "b")->id, 2);
    assert_null(lease_table_find_unattached(&t, "c"));

    /* Attach lease 1 at a memory use of 40 pp; the task then grows to 46: 6 of its 10 are seen. */
    struct lease *p = lease_table_find(&t, 1);
    double base[_LEARN_RESOURCE_MAX] = { 20, 40, NAN, NAN, NAN };
    lease_attach(p, LEASE_NOTIFY, 0, base, 5000, 9000);
    assert_int_equal(p->expires_usec, 5000);
    assert_int_equal(p->expires_real_usec, 9000);
    assert_int_equal(lease_table_find_unattached(&t, "a")->id, 3);
    double now1[_LEARN_RESOURCE_MAX] = { 22, 46, NAN, NAN, NAN };
    lease_observe(p, now1, 0, 0);
    assert_close(p->remaining.mem_pct, 4);
    assert_close(p->remaining.cpu_pct, 3);
    /* Use falling back does not give the reservation back: reached is the most seen. */
    double now2[_LEARN_RESOURCE_MAX] = { 20, 41, NAN, NAN, NAN };
    lease_observe(p, now2, 0, 0);
    assert_close(p->remaining.mem_pct, 4);
    lease_table_sum(&t, &sum);
    assert_close(sum.mem_pct, 24);
    /* Observing an unattached lease changes nothing. */
    lease_observe(lease_table_find(&t, 2), now1, 0, 0);
    assert_close(lease_table_find(&t, 2)->remaining.mem_pct, 10);

    /* Expiry: lease 2 (deadline 1200) and 3 (1300) are due at 1300; 1 was extended to 5000. */
    assert_int_equal(lease_table_expire_one(&t, 1300, &got), 1);
    assert_int_equal(got.id, 2);
    assert_int_equal(lease_table_expire_one(&t, 1300, &got), 1);
    assert_int_equal(got.id, 3);
    assert_int_equal(lease_table_expire_one(&t, 1300, &got), 0);
    assert_int_equal(t.n, 1);
    assert_int_equal(lease_table_remove(&t, 7, NULL), -ENOENT);
    assert_int_equal(lease_table_remove(&t, 1, &got), 0);
    assert_string_equal(got.task, "a");
    assert_int_equal(t.n, 0);

    /* A deadline far away saturates instead of wrapping. */
    lease_init(&l, 4, NULL, 0, &need, &none, USEC_INFINITY - 5, 100, 0);
    assert_true(l.expires_usec == USEC_INFINITY);
    assert_string_equal(l.task, "");
}

static void test_gpu_leases(void **state)
{
    struct lease slots[4];
    struct lease_table t = { .v = slots, .cap = 4 };
    struct decide_need none = { 0 };
    struct decide_need a = { .vram_bytes = 8 * GiB, .gpu_pct = 30 }, b = { .vram_pct = 25 };
    struct decide_input v = { .cpu_pct = 0, .mem_used_pct = 0, .mem_total_bytes = 64 * GiB, .n_gpus = 2,
                              .gpus = { { .vram_total_bytes = 24 * GiB }, { .vram_total_bytes = 16 * GiB } } };
    struct decide_thresholds th = { .cpu_max_pct = 80, .memory_max_pct = 85, .gpu_max_pct = 90, .vram_max_pct = 85 };
    struct lease l;

    lease_init(&l, 1, "train", 1, &a, &none, 0, 1000, 0);
    l.gpu_index = 0;
    assert_int_equal(lease_table_add(&t, &l), 0);
    lease_init(&l, 2, "train", 1, &b, &none, 0, 1000, 0);
    l.gpu_index = 1;
    assert_int_equal(lease_table_add(&t, &l), 0);
    lease_init(&l, 3, "train", 1, &a, &none, 0, 1000, 0);
    l.gpu_index = 7; /* a GPU that is gone holds nothing */
    assert_int_equal(lease_table_add(&t, &l), 0);

    lease_table_apply_gpus(&t, &v);
    assert_close(v.gpus[0].reserved_util_pct, 30);
    assert_int_equal(v.gpus[0].reserved_vram_bytes, 8 * GiB);
    assert_int_equal(v.gpus[1].reserved_vram_bytes, 4 * GiB);

    /* A 12 GiB task: GPU 0 has 24 − 8 held = 16 free but 8 + 12 = 20 GiB is 83 % (fits under 85);
     * GPU 1 has 16 − 4 held, 4 + 12 = 16 GiB = 100 %: only GPU 0. */
    struct decide_need need = { .vram_bytes = 12 * GiB };
    struct decision d;
    decide(&v, &th, &need, &d);
    assert_true(d.allowed);
    assert_int_equal(d.gpu_choice, 0);
    /* The reservation shows in the check. */
    for (unsigned i = 0; i < d.n_checks; i++)
        if (d.checks[i].resource == RESOURCE_VRAM && d.checks[i].index == 0)
            assert_close(d.checks[i].reserved, 100.0 * 8 / 24);
    /* A second one no longer fits anywhere once the first is held. */
    lease_init(&l, 4, "train", 1, &need, &none, 0, 1000, 0);
    l.gpu_index = 0;
    assert_int_equal(lease_table_add(&t, &l), 0);
    for (unsigned i = 0; i < v.n_gpus; i++)
        v.gpus[i].reserved_util_pct = 0, v.gpus[i].reserved_vram_bytes = 0;
    lease_table_apply_gpus(&t, &v);
    decide(&v, &th, &need, &d);
    assert_false(d.allowed);
    assert_int_equal(d.reasons[0], RESOURCE_VRAM);
}

static void test_pool(void **state)
{
    struct task_model m = model_of(40, 2);
    struct admit_request rq = { .model = &m, .named = true, .complexity = 3 };
    struct admit_plan plan;
    struct admit_pool pool = { 0 };
    struct decide_need need, held;

    assert_int_equal(admit_plan(&rq, &plan), 0);
    const struct prediction *pm = &plan.explain.prediction[LEARN_MEMORY];
    assert_close(plan.margin.mem_pct, pm->upper - pm->expected);
    const struct prediction *pc = &plan.explain.prediction[LEARN_CPU];
    assert_close(plan.margin.cpu_pct, plan.need.cpu_pct - pc->expected);
    assert_close(plan.margin.gpu_pct, 0);

    /* Alone, a task needs its whole upper bound. */
    admit_pool_need(&pool, &plan, &need);
    assert_close(need.mem_pct, plan.need.mem_pct);

    /* Margins 3 and 4 pool to 5; what remains above them is summed. */
    struct decide_need rem = { .cpu_pct = 10, .mem_pct = 20, .mem_bytes = GiB };
    struct decide_need mar = { .cpu_pct = 3, .mem_pct = 3 };
    admit_pool_add(&pool, &rem, &mar);
    mar.mem_pct = 4;
    admit_pool_add(&pool, &rem, &mar);
    admit_pool_held(&pool, &held);
    assert_close(held.mem_pct, 17 + 16 + 5);
    assert_close(held.cpu_pct, 7 + 7 + sqrt(3 * 3 + 3 * 3));
    assert_int_equal(held.mem_bytes, 2 * GiB);

    /* A margin is never more than what the lease still holds: the task reached its estimate. */
    struct admit_pool p2 = { 0 };
    struct decide_need little = { .mem_pct = 2 };
    mar.mem_pct = 4;
    admit_pool_add(&p2, &little, &mar);
    admit_pool_held(&p2, &held);
    assert_close(held.mem_pct, 2);

    /* A new task adds its expected part and what its margin adds to the root; holding it after
     * admission holds exactly that much more. */
    struct admit_plan q = { .need = { .mem_pct = 22 }, .reserve = { .mem_pct = 22 },
                            .margin = { .mem_pct = 12 } };
    admit_pool_held(&pool, &held);
    double before = held.mem_pct;
    admit_pool_need(&pool, &q, &need);
    assert_close(need.mem_pct, 10 + 13 - 5);
    admit_pool_add(&pool, &q.reserve, &q.margin);
    admit_pool_held(&pool, &held);
    assert_close(held.mem_pct, before + need.mem_pct);

    /* The lease table pools the same way; a lease without a margin is held whole. */
    struct lease v[2];
    struct lease_table t = { .v = v, .cap = 2 };
    struct lease l;
    struct decide_need none = { 0 }, r1 = { .mem_pct = 20 };
    lease_init(&l, 1, "a", 1, &r1, &none, 0, 1000, 0);
    l.margin.mem_pct = 3;
    assert_int_equal(lease_table_add(&t, &l), 0);
    lease_init(&l, 2, "b", 1, &r1, &none, 0, 1000, 0);
    assert_close(l.margin.mem_pct, 0);
    assert_int_equal(lease_table_add(&t, &l), 0);
    lease_table_sum(&t, &held);
    assert_close(held.mem_pct, 17 + 20 + 3);
}

static void test_estimate(void **state)
{
    struct decide_input v = { .cpu_pct = 10, .mem_used_pct = 50, .mem_total_bytes = 100 * GiB,
                              .mem_available_bytes = 50 * GiB };
    struct decide_thresholds t = { .cpu_max_pct = 80, .memory_max_pct = 85, .gpu_max_pct = 90,
                                   .vram_max_pct = 85 };
    struct decide_need need = { .mem_pct = 20 };
    usec_t after;

    /* Fits now. */
    assert_int_equal(admit_estimate(&v, &t, &need, NULL, 0, &after), 0);
    assert_int_equal(after, 0);

    /* 30 pp reserved by two leases: 50 + 30 + 20 = 100 > 85. The lease of 10 expiring at 5 s
     * leaves 90: still over; the one of 20 at 30 s leaves 70: fits. Given out of order. */
    v.reserved.mem_pct = 30;
    struct admit_release ev[3] = {
        { .after_usec = 30 * USEC_PER_SEC, .reserved = { .mem_pct = 20 }, .used = { NAN, NAN, NAN, NAN, NAN } },
        { .after_usec = 5 * USEC_PER_SEC, .reserved = { .mem_pct = 10 }, .used = { NAN, NAN, NAN, NAN, NAN } },
        { .after_usec = 60 * USEC_PER_SEC, .reserved = { 0 }, .used = { NAN, 30, NAN, NAN, NAN } },
    };
    assert_int_equal(admit_estimate(&v, &t, &need, ev, 3, &after), 0);
    assert_int_equal(after, 30 * USEC_PER_SEC);
    assert_int_equal(ev[0].after_usec, 5 * USEC_PER_SEC); /* sorted */

    /* A task ending gives back its own use: with 40 pp more in use, only the end at 60 s helps. */
    v.mem_used_pct = 75;
    assert_int_equal(admit_estimate(&v, &t, &need, ev, 3, &after), 0);
    assert_int_equal(after, 60 * USEC_PER_SEC);

    /* Load headroom did not admit: no time can be given. */
    v.mem_used_pct = 96;
    assert_int_equal(admit_estimate(&v, &t, &need, ev, 3, &after), -ENODATA);
    assert_int_equal(admit_estimate(&v, &t, &need, NULL, 0, &after), -ENODATA);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_observe_is_atomic),
        cmocka_unit_test(test_weighted_observation),
        cmocka_unit_test(test_plan_sources),
        cmocka_unit_test(test_plan_cpu_expected),
        cmocka_unit_test(test_plan_insufficient),
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_fallback),
        cmocka_unit_test(test_remaining),
        cmocka_unit_test(test_lease_table),
        cmocka_unit_test(test_gpu_leases),
        cmocka_unit_test(test_pool),
        cmocka_unit_test(test_estimate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
