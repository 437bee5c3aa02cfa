/* SPDX-License-Identifier: MIT */
/* decide(): capfox's threshold cases (strict comparisons, reason order) and headroom's needs,
 * GPU choice, storage and binding resource. */

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "model/decide.h"

#define GiB (1024.0 * 1024.0 * 1024.0)

static const struct decide_thresholds defaults = {
    .cpu_max_pct = 80,
    .memory_max_pct = 85,
    .memory_max_pressure_pct = 20,
    .gpu_max_pct = 90,
    .vram_max_pct = 85,
    .storage_min_free_bytes = (uint64_t) (10 * GiB),
};

/* cpu 50 / mem 50 / 400 GiB free of 500, no GPU: capfox case 5. */
static void machine(struct decide_input *in)
{
    memset(in, 0, sizeof(*in));
    in->cpu_pct = 50;
    in->mem_used_pct = 50;
    in->mem_total_bytes = (uint64_t) (32 * GiB);
    in->mem_available_bytes = (uint64_t) (16 * GiB);
    in->n_disks = 1;
    in->disks[0] = (struct decide_disk) { .path = "/", .free_bytes = (uint64_t) (400 * GiB),
                                          .total_bytes = (uint64_t) (500 * GiB) };
}

static void add_gpu(struct decide_input *in, double util, double vram_used_gib, double vram_total_gib)
{
    in->gpus[in->n_gpus++] = (struct decide_gpu) { .util_pct = util,
                                                   .vram_used_bytes = (uint64_t) (vram_used_gib * GiB),
                                                   .vram_total_bytes = (uint64_t) (vram_total_gib * GiB) };
}

static void assert_reasons(const struct decision *d, unsigned n, ...)
{
    va_list ap;

    assert_int_equal(d->n_reasons, n);
    va_start(ap, n);
    for (unsigned i = 0; i < n; i++)
        assert_string_equal(resource_reason(d->reasons[i]), va_arg(ap, const char *));
    va_end(ap);
    assert_true(d->allowed == (n == 0));
}

static void test_idle_machine_allowed(void **state)
{
    struct decide_input in;
    struct decision d;

    machine(&in);
    decide(&in, &defaults, NULL, &d);
    assert_reasons(&d, 0);
    assert_int_equal(d.gpu_choice, -1);
}

static void test_cpu_over(void **state)
{
    struct decide_input in;
    struct decision d;

    machine(&in);
    in.cpu_pct = 90;
    decide(&in, &defaults, NULL, &d);
    assert_reasons(&d, 1, "cpu_overload");
}

static void test_reason_order(void **state)
{
    struct decide_input in;
    struct decision d;

    machine(&in);
    in.cpu_pct = 90;
    in.mem_used_pct = 90;
    in.disks[0].free_bytes = (uint64_t) (5 * GiB);
    add_gpu(&in, 95, 1, 10);
    decide(&in, &defaults, NULL, &d);
    assert_reasons(&d, 4, "cpu_overload", "memory_overload", "gpu_overload", "storage_low");
}

static void test_boundaries_are_strict(void **state)
{
    struct decide_input in;
    struct decision d;

    machine(&in);
    in.cpu_pct = 80.0; /* exactly at the limit: allowed */
    decide(&in, &defaults, NULL, &d);
    assert_reasons(&d, 0);
    in.cpu_pct = 85;
    decide(&in, &defaults, NULL, &d);
    assert_reasons(&d, 1, "cpu_overload");

    machine(&in);
    in.mem_used_pct = 85.0;
    decide(&in, &defaults, NULL, &d);
    assert_reasons(&d, 0);
    in.mem_used_pct = 90;
    decide(&in, &defaults, NULL, &d);
    assert_reasons(&d, 1, "memory_overload");

    machine(&in);
    in.disks[0].free_bytes = (uint64_t) (10 * GiB); /* exactly the minimum: allowed */
    decide(&in, &defaults, NULL, &d);
    assert_reasons(&d, 0);
    in.disks[0].free_bytes -= 1;
    decide(&in, &defaults, NULL, &d);
    assert_reasons(&d, 1, "storage_low");
}

static void test_gpu_and_vram(void **state)
{
    struct decide_input in;
    struct decision d;

    machine(&in);
    add_gpu(&in, 95, 1, 10);
    decide(&in, &defaults, NULL, &d);
    assert_reasons(&d, 1, "gpu_overload");

    machine(&in);
    add_gpu(&in, 10, 9, 10); /* 90 % VRAM */
    decide(&in, &defaults, NULL, &d);
    assert_reasons(&d, 1, "vram_overload");
}

static void test_gpu_choice_any_fits(void **state)
{
    struct decide_input in;
    struct decision d;

    /* One busy GPU must not deny a task that fits on the other one. */
    machine(&in);
    add_gpu(&in, 99, 9, 10);
    add_gpu(&in, 20, 2, 10);
    add_gpu(&in, 40, 1, 10);
    decide(&in, &defaults, NULL, &d);
    assert_reasons(&d, 0);
    /* The GPU whose tighter check has the most room: GPU 1 (min(70/90, 65/85) = 0.76) beats GPU 2
     * (min(50/90, 75/85) = 0.56). */
    assert_int_equal(d.gpu_choice, 1);

    struct decide_need need = { .vram_bytes = (uint64_t) (7.5 * GiB) };
    decide(&in, &defaults, &need, &d);
    /* GPU 1: 20 % + 75 % = 95 % > 85; GPU 2: 10 % + 75 % = 85 % ≤ 85. */
    assert_reasons(&d, 0);
    assert_int_equal(d.gpu_choice, 2);

    need.vram_bytes = (uint64_t) (8 * GiB);
    decide(&in, &defaults, &need, &d);
    assert_reasons(&d, 1, "vram_overload");
    assert_int_equal(d.gpu_choice, -1);
}

static void test_lost_gpu_never_chosen(void **state)
{
    struct decide_input in;
    struct decision d;

    machine(&in);
    add_gpu(&in, 0, 0, 10);
    in.gpus[0].lost = true;
    decide(&in, &defaults, NULL, &d);
    assert_reasons(&d, 1, "gpu_overload");
}

static void test_memory_need_in_bytes(void **state)
{
    struct decide_input in;
    struct decision d;
    struct decide_need need = { .mem_bytes = (uint64_t) (8 * GiB) };

    machine(&in); /* 50 % of 32 GiB used */
    decide(&in, &defaults, &need, &d);
    /* 50 % + 25 % = 75 % ≤ 85 */
    assert_reasons(&d, 0);
    assert_int_equal(d.checks[1].resource, RESOURCE_MEMORY);
    assert_float_equal(d.checks[1].projected, 75.0, 1e-9);
    assert_float_equal(d.checks[1].headroom, 10.0, 1e-9);

    need.mem_bytes = (uint64_t) (12 * GiB); /* + 37.5 % = 87.5 % */
    decide(&in, &defaults, &need, &d);
    assert_reasons(&d, 1, "memory_overload");
    assert_int_equal(d.binding, 1);
}

static void test_capfox_resources_in_percent(void **state)
{
    struct decide_input in;
    struct decision d;
    struct decide_need need = { .cpu_pct = 30.5 };

    machine(&in);
    decide(&in, &defaults, &need, &d);
    assert_reasons(&d, 1, "cpu_overload"); /* 50 + 30.5 > 80 */
    need = (struct decide_need) { .cpu_pct = 30.0 };
    decide(&in, &defaults, &need, &d);
    assert_reasons(&d, 0); /* 80 is not > 80 */
    assert_float_equal(d.checks[0].headroom, 0.0, 1e-9);
    assert_int_equal(d.binding, 0);
}

static void test_disk_need_on_first_path_and_errors(void **state)
{
    struct decide_input in;
    struct decision d;
    struct decide_need need = { .disk_bytes = (uint64_t) (395 * GiB) };

    machine(&in);
    in.n_disks = 2;
    in.disks[1] = (struct decide_disk) { .path = "/data", .free_bytes = (uint64_t) (50 * GiB) };
    decide(&in, &defaults, &need, &d);
    assert_reasons(&d, 1, "storage_low"); /* 400 - 395 = 5 < 10 on "/" */

    need.disk_bytes = 0;
    in.disks[1].error = -2; /* ENOENT: a typo must not switch the check off */
    decide(&in, &defaults, &need, &d);
    assert_reasons(&d, 1, "storage_low");
}

static void test_memory_pressure(void **state)
{
    struct decide_input in;
    struct decision d;

    machine(&in);
    in.has_memory_pressure = true;
    in.memory_pressure_pct = 25;
    decide(&in, &defaults, NULL, &d);
    assert_reasons(&d, 1, "memory_pressure");

    struct decide_thresholds off = defaults;
    off.memory_max_pressure_pct = 0;
    decide(&in, &off, NULL, &d);
    assert_reasons(&d, 0);

    in.has_memory_pressure = false; /* PSI absent: no check, no false denial */
    decide(&in, &defaults, NULL, &d);
    assert_reasons(&d, 0);
}

static void test_unknown_total_denies_byte_need(void **state)
{
    struct decide_input in;
    struct decision d;
    struct decide_need need = { .mem_bytes = 1 };

    machine(&in);
    in.mem_total_bytes = 0;
    decide(&in, &defaults, &need, &d);
    assert_reasons(&d, 1, "memory_overload");
}

static void test_reservations_count_as_use(void **state)
{
    struct decide_input in;
    struct decision d;
    struct decide_need need = { .mem_bytes = (uint64_t) (8 * GiB) };

    machine(&in);             /* 50 % of 32 GiB used */
    in.mem_used_pct = 0;
    decide(&in, &defaults, &need, &d);
    assert_reasons(&d, 0);    /* 25 % */
    in.reserved.mem_bytes = (uint64_t) (16 * GiB); /* two earlier 8 GiB tasks hold 50 % */
    decide(&in, &defaults, &need, &d);
    assert_reasons(&d, 0);    /* 50 + 25 = 75 % */
    assert_float_equal(d.checks[1].reserved, 50.0, 1e-9);
    assert_float_equal(d.checks[1].projected, 75.0, 1e-9);
    in.reserved.mem_bytes = (uint64_t) (24 * GiB);
    decide(&in, &defaults, &need, &d);
    assert_reasons(&d, 1, "memory_overload"); /* 75 + 25 = 100 % */

    machine(&in);
    in.reserved.cpu_pct = 25;
    decide(&in, &defaults, NULL, &d);
    assert_reasons(&d, 0);    /* 50 + 25 = 75 */
    struct decide_need cpu = { .cpu_pct = 10 };
    decide(&in, &defaults, &cpu, &d);
    assert_reasons(&d, 1, "cpu_overload");

    machine(&in);
    in.reserved.disk_bytes = (uint64_t) (391 * GiB); /* 400 - 391 = 9 < 10 */
    decide(&in, &defaults, NULL, &d);
    assert_reasons(&d, 1, "storage_low");
}

static void test_names(void **state)
{
    assert_string_equal(resource_to_string(RESOURCE_VRAM), "vram");
    assert_string_equal(resource_reason(RESOURCE_STORAGE), "storage_low");
    assert_null(resource_to_string(_RESOURCE_MAX));
    assert_null(resource_reason((enum resource) - 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_machine_allowed),
        cmocka_unit_test(test_cpu_over),
        cmocka_unit_test(test_reason_order),
        cmocka_unit_test(test_boundaries_are_strict),
        cmocka_unit_test(test_gpu_and_vram),
        cmocka_unit_test(test_gpu_choice_any_fits),
        cmocka_unit_test(test_lost_gpu_never_chosen),
        cmocka_unit_test(test_memory_need_in_bytes),
        cmocka_unit_test(test_capfox_resources_in_percent),
        cmocka_unit_test(test_disk_need_on_first_path_and_errors),
        cmocka_unit_test(test_memory_pressure),
        cmocka_unit_test(test_unknown_total_denies_byte_need),
        cmocka_unit_test(test_reservations_count_as_use),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
