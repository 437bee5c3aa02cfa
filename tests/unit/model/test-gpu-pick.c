/* SPDX-License-Identifier: MIT */
/* decide_pick_gpus(): several GPUs for one task, most headroom first, never a lost one nor one
 * another lease holds (unless shareable); leases holding several GPUs; decide() skipping held
 * GPUs for a task that needs one. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "model/decide.h"
#include "model/lease.h"

#define GiB (1024.0 * 1024.0 * 1024.0)

static const struct decide_thresholds defaults = {
    .cpu_max_pct = 80,
    .memory_max_pct = 85,
    .gpu_max_pct = 90,
    .vram_max_pct = 85,
};

static void add_gpu(struct decide_input *in, double util, double vram_used_gib, double vram_total_gib)
{
    in->gpus[in->n_gpus++] = (struct decide_gpu) { .util_pct = util,
                                                   .vram_used_bytes = (uint64_t) (vram_used_gib * GiB),
                                                   .vram_total_bytes = (uint64_t) (vram_total_gib * GiB) };
}

/* 0: util 50, 1: util 10, 2: util 30; 80 GiB each, 8 GiB used. */
static void three(struct decide_input *in)
{
    memset(in, 0, sizeof(*in));
    in->mem_total_bytes = (uint64_t) (32 * GiB);
    add_gpu(in, 50, 8, 80);
    add_gpu(in, 10, 8, 80);
    add_gpu(in, 30, 8, 80);
}

static void test_most_headroom_first(void **state)
{
    struct decide_input in;
    struct gpu_pick p;

    (void) state;
    three(&in);
    decide_pick_gpus(&in, &defaults, NULL, 0, &p);
    assert_int_equal(p.n_fit, 3);
    assert_int_equal(p.n_util_fit, 3);
    assert_int_equal(p.gpus[0], 1);
    assert_int_equal(p.gpus[1], 2);
    assert_int_equal(p.gpus[2], 0);

    /* Equal headroom: the lower index first. */
    in.gpus[0].util_pct = in.gpus[2].util_pct = 10;
    decide_pick_gpus(&in, &defaults, NULL, 0, &p);
    assert_int_equal(p.n_fit, 3);
    assert_int_equal(p.gpus[0], 0);
    assert_int_equal(p.gpus[1], 1);
    assert_int_equal(p.gpus[2], 2);
}

static void test_held_excluded_unless_shareable(void **state)
{
    struct decide_input in;
    struct gpu_pick p;
    struct decide_thresholds shared = defaults;

    (void) state;
    three(&in);
    decide_pick_gpus(&in, &defaults, NULL, (1u << 1) | (1u << 2), &p);
    assert_int_equal(p.n_fit, 1);
    assert_int_equal(p.gpus[0], 0);

    shared.gpu_shareable = true;
    decide_pick_gpus(&in, &shared, NULL, (1u << 1) | (1u << 2), &p);
    assert_int_equal(p.n_fit, 3);
    assert_int_equal(p.gpus[0], 1);
}

static void test_lost_never_chosen(void **state)
{
    struct decide_input in;
    struct gpu_pick p;
    struct decide_thresholds shared = defaults;

    (void) state;
    three(&in);
    in.gpus[1].lost = true;
    shared.gpu_shareable = true;
    decide_pick_gpus(&in, &shared, NULL, 0, &p);
    assert_int_equal(p.n_fit, 2);
    assert_int_equal(p.gpus[0], 2);
    assert_int_equal(p.gpus[1], 0);
}

static void test_not_enough_says_why(void **state)
{
    struct decide_input in;
    struct gpu_pick p;
    struct decide_need need = { .gpu_pct = 50 };

    (void) state;
    three(&in);
    /* 50 + 50 > 90: only GPUs 1 and 2 have utilization room. */
    decide_pick_gpus(&in, &defaults, &need, 0, &p);
    assert_int_equal(p.n_fit, 2);
    assert_int_equal(p.n_util_fit, 2);
    assert_int_equal(p.gpus[0], 1);
    assert_int_equal(p.gpus[1], 2);

    /* 70 GiB more on top of 8 of 80 is over 85 %: utilization room, no memory. */
    need = (struct decide_need) { .vram_bytes = (uint64_t) (70 * GiB) };
    decide_pick_gpus(&in, &defaults, &need, 0, &p);
    assert_int_equal(p.n_fit, 0);
    assert_int_equal(p.n_util_fit, 3);

    /* Reserves of leases count: GPU 2 with 60 % reserved has no room for 50 more. */
    need = (struct decide_need) { .gpu_pct = 50 };
    in.gpus[2].reserved_util_pct = 60;
    decide_pick_gpus(&in, &defaults, &need, 0, &p);
    assert_int_equal(p.n_fit, 1);
    assert_int_equal(p.gpus[0], 1);
}

static void test_lease_on_several_gpus(void **state)
{
    struct decide_input in;
    struct lease v[4], l;
    struct lease_table t = { .v = v, .cap = 4 };
    struct decide_need reserve = { .gpu_pct = 20, .vram_bytes = (uint64_t) (4 * GiB) }, none = { 0 };

    (void) state;
    three(&in);
    lease_init(&l, 1, "train", 0, &reserve, &none, 0, 1000, 0);
    l.gpu_index = 0;
    l.gpu_mask = (1u << 0) | (1u << 2);
    assert_int_equal(lease_table_add(&t, &l), 0);
    /* A /v1/ask reservation: its reserve on gpu_index, the GPU not kept to itself. */
    reserve.vram_bytes = 0;
    lease_init(&l, 2, "infer", 0, &reserve, &none, 0, 1000, 0);
    l.gpu_index = 1;
    assert_int_equal(lease_table_add(&t, &l), 0);
    assert_int_equal(lease_gpus(&t.v[1]), 1u << 1);
    assert_int_equal(lease_table_held_gpus(&t), 5);

    lease_table_apply_gpus(&t, &in);
    assert_true(in.gpus[0].held && !in.gpus[1].held && in.gpus[2].held);
    assert_float_equal(in.gpus[0].reserved_util_pct, 20, 1e-9);
    assert_float_equal(in.gpus[1].reserved_util_pct, 20, 1e-9);
    assert_int_equal(in.gpus[1].reserved_vram_bytes, 0);
    assert_float_equal(in.gpus[2].reserved_util_pct, 20, 1e-9);
    assert_int_equal(in.gpus[2].reserved_vram_bytes, (uint64_t) (4 * GiB));

    assert_int_equal(lease_table_remove(&t, 1, NULL), 0);
    assert_int_equal(lease_table_held_gpus(&t), 0);
}

static void test_decide_skips_held_for_gpu_task(void **state)
{
    struct decide_input in;
    struct decision d;
    struct decide_need gpu = { .gpu_pct = 10 }, cpu = { .cpu_pct = 10 };
    struct decide_thresholds shared = defaults;

    (void) state;
    three(&in);
    in.gpus[1].held = true;
    decide(&in, &defaults, &gpu, &d);
    assert_true(d.allowed);
    assert_int_equal(d.gpu_choice, 2);

    in.gpus[0].held = in.gpus[2].held = true;
    decide(&in, &defaults, &gpu, &d);
    assert_false(d.allowed);
    assert_int_equal(d.gpu_choice, -1);
    assert_int_equal(d.n_reasons, 1);
    assert_int_equal(d.reasons[0], RESOURCE_GPU);

    /* A task without a GPU need is not concerned by who holds the GPUs. */
    decide(&in, &defaults, &cpu, &d);
    assert_true(d.allowed);

    shared.gpu_shareable = true;
    decide(&in, &shared, &gpu, &d);
    assert_true(d.allowed);
    assert_int_equal(d.gpu_choice, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_most_headroom_first),
        cmocka_unit_test(test_held_excluded_unless_shareable),
        cmocka_unit_test(test_lost_never_chosen),
        cmocka_unit_test(test_not_enough_says_why),
        cmocka_unit_test(test_lease_on_several_gpus),
        cmocka_unit_test(test_decide_skips_held_for_gpu_task),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
