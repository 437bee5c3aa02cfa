/* SPDX-License-Identifier: MIT */
/* The history ring, smoothing, and notify observation windows. */

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "model/history.h"
#include "model/observe.h"

static struct history_sample at(usec_t t, double cpu, double mem)
{
    return (struct history_sample) { .mono_usec = t, .cpu_pct = cpu, .mem_used_pct = mem, .memory_pressure_pct = -1 };
}

static void test_ring_wraps_and_peeks(void **state)
{
    struct history h;

    assert_int_equal(history_init(&h, 3), 0);
    assert_null(history_peek(&h, 0));
    for (int i = 1; i <= 5; i++) {
        struct history_sample s = at((usec_t) i, i * 10.0, 0);
        history_push(&h, &s);
    }
    assert_int_equal(h.len, 3);
    assert_float_equal(history_peek(&h, 0)->cpu_pct, 50, 1e-9);
    assert_float_equal(history_peek(&h, 2)->cpu_pct, 30, 1e-9);
    assert_null(history_peek(&h, 3));
    history_clear(&h);
    assert_int_equal(h.len, 0);
    assert_null(history_peek(&h, 0));
    struct history_sample s = at(9, 90, 0);
    history_push(&h, &s);
    assert_float_equal(history_peek(&h, 0)->cpu_pct, 90, 1e-9);
    history_done(&h);
    assert_int_equal(history_init(&h, 0), -EINVAL);
}

static void test_resize_keeps_newest(void **state)
{
    struct history h;

    assert_int_equal(history_init(&h, 5), 0);
    for (int i = 1; i <= 5; i++) {
        struct history_sample s = at((usec_t) i, i, 0);
        history_push(&h, &s);
    }
    assert_int_equal(history_resize(&h, 2), 0);
    assert_int_equal(h.len, 2);
    assert_float_equal(history_peek(&h, 0)->cpu_pct, 5, 1e-9);
    assert_float_equal(history_peek(&h, 1)->cpu_pct, 4, 1e-9);
    assert_int_equal(history_resize(&h, 10), 0);
    assert_int_equal(h.len, 2);
    struct history_sample s = at(6, 6, 0);
    history_push(&h, &s);
    assert_float_equal(history_peek(&h, 2)->cpu_pct, 4, 1e-9);
    history_done(&h);
}

static void test_smoothing_ignores_one_spike(void **state)
{
    struct history h;
    struct history_sample m;

    assert_int_equal(history_init(&h, 10), 0);
    assert_int_equal(history_smooth(&h, 5, &m), 0);
    double cpu[] = { 40, 40, 40, 40, 100 }; /* one spike at the end */
    for (size_t i = 0; i < 5; i++) {
        struct history_sample s = at(i, cpu[i], 50);
        s.n_gpus = 1;
        s.gpu_util_pct[0] = i == 4 ? 100 : 0;
        s.memory_pressure_pct = 10;
        history_push(&h, &s);
    }
    assert_int_equal(history_smooth(&h, 5, &m), 5);
    assert_float_equal(m.cpu_pct, 52, 1e-9);          /* below an 80 % threshold */
    assert_float_equal(m.gpu_util_pct[0], 20, 1e-9);
    assert_float_equal(m.memory_pressure_pct, 10, 1e-9);
    assert_int_equal(history_smooth(&h, 1, &m), 1);
    assert_float_equal(m.cpu_pct, 100, 1e-9);
    assert_int_equal(history_smooth(&h, 50, &m), 5);  /* more than exist: all */
    history_done(&h);
}

static void test_smoothing_never_hides_memory_growth(void **state)
{
    struct history h;
    struct history_sample m;

    assert_int_equal(history_init(&h, 10), 0);
    double mem[] = { 20, 20, 20, 20, 90 };
    for (size_t i = 0; i < 5; i++) {
        struct history_sample s = at(i, 0, mem[i]);
        history_push(&h, &s);
    }
    history_smooth(&h, 5, &m);
    assert_float_equal(m.mem_used_pct, 90, 1e-9);
    history_done(&h);
}

static void test_window_peak_minus_baseline(void **state)
{
    struct observe_window w;
    struct history_sample base = at(0, 30, 40);
    double c, m, g, v;

    observe_window_start(&w, &base, 1000, 5 * USEC_PER_SEC);
    assert_false(observe_window_done(&w, 1000 + 4 * USEC_PER_SEC));
    double cpu[] = { 35, 60, 45 };
    double mem[] = { 41, 43, 47 };
    for (size_t i = 0; i < 3; i++) {
        struct history_sample s = at(i, cpu[i], mem[i]);
        observe_window_feed(&w, &s);
    }
    assert_true(observe_window_done(&w, 1000 + 5 * USEC_PER_SEC));
    observe_window_result(&w, &c, &m, &g, &v);
    assert_float_equal(c, 30, 1e-9);  /* peak 60 − baseline 30, not a two-point delta (45 − 30) */
    assert_float_equal(m, 7, 1e-9);
    assert_float_equal(g, 0, 1e-9);
    assert_float_equal(v, 0, 1e-9);
    /* The mean impact: (35 + 60 + 45)/3 − 30 = 16.67 and (41 + 43 + 47)/3 − 40 = 3.67; no GPU. */
    observe_window_means(&w, &c, &m, &g, &v);
    assert_float_equal(c, 140.0 / 3 - 30, 1e-5);
    assert_float_equal(m, 131.0 / 3 - 40, 1e-5);
    assert_true(isnan(g));
    assert_true(isnan(v));
}

static void test_window_without_baseline_and_gpu(void **state)
{
    struct observe_window w;
    double c, m, g, v;

    observe_window_start(&w, NULL, 0, USEC_PER_SEC);
    observe_window_result(&w, &c, &m, &g, &v);
    assert_float_equal(c, 0, 1e-9);
    observe_window_means(&w, &c, &m, &g, &v);
    assert_true(isnan(c) && isnan(m) && isnan(g) && isnan(v));

    struct history_sample s1 = at(1, 10, 10);
    s1.n_gpus = 2;
    s1.gpu_util_pct[0] = 10;
    s1.gpu_util_pct[1] = 30; /* mean 20 */
    s1.vram_used_pct[0] = 10;
    s1.vram_used_pct[1] = 10;
    observe_window_feed(&w, &s1); /* becomes the baseline */
    struct history_sample s2 = s1;
    s2.cpu_pct = 25;
    s2.gpu_util_pct[0] = 50; /* mean 40 */
    s2.vram_used_pct[1] = 30; /* mean 20 */
    observe_window_feed(&w, &s2);
    observe_window_result(&w, &c, &m, &g, &v);
    assert_float_equal(c, 15, 1e-9);
    assert_float_equal(m, 0, 1e-9);
    assert_float_equal(g, 20, 1e-9);
    assert_float_equal(v, 10, 1e-9);
    /* One sample after the baseline: its mean is itself. */
    observe_window_means(&w, &c, &m, &g, &v);
    assert_float_equal(c, 15, 1e-9);
    assert_float_equal(g, 20, 1e-9);
    assert_float_equal(v, 10, 1e-9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_wraps_and_peeks),
        cmocka_unit_test(test_resize_keeps_newest),
        cmocka_unit_test(test_smoothing_ignores_one_spike),
        cmocka_unit_test(test_smoothing_never_hides_memory_growth),
        cmocka_unit_test(test_window_peak_minus_baseline),
        cmocka_unit_test(test_window_without_baseline_and_gpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
