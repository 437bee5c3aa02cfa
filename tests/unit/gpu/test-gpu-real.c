/* SPDX-License-Identifier: MIT */

/* The GPU probe against the machine's own libnvidia-ml.so.1 (suite "gpu"). It checks what can be
 * checked without knowing the hardware: every device is named, sizes are consistent, and two
 * samples agree on identity. That is enough to catch a struct layout or symbol version that the
 * fakes got wrong. Exits 77 (skip) where there is no NVIDIA driver or no GPU. */

/* cmocka.h needs these four first. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/gpu.h"

static struct gpu_probe *probe;

static int group_setup(void **state)
{
    struct gpu_probe_options o = {
        .root_fd = -1,
        .nvml_path = "libnvidia-ml.so.1",
        .nvidia = true,
    };
    struct hr_gpu gpus[HR_GPUS_MAX];

    if (gpu_probe_new(&o, &probe) < 0)
        return -1;
    if (gpu_probe_sample(probe, gpus, HR_GPUS_MAX) <= 0) {
        fprintf(stderr, "no NVIDIA GPU through libnvidia-ml.so.1 (%s), skipping\n",
                gpu_probe_describe(probe));
        gpu_probe_free(probe);
        exit(77);
    }
    return 0;
}

static int group_teardown(void **state)
{
    probe = gpu_probe_free(probe);
    return 0;
}

static void test_sane(void **state)
{
    struct hr_gpu a[HR_GPUS_MAX], b[HR_GPUS_MAX];
    int n, m;

    n = gpu_probe_sample(probe, a, HR_GPUS_MAX);
    assert_true(n > 0);
    assert_true(strncmp(gpu_probe_describe(probe), "nvml ", 5) == 0);

    for (int i = 0; i < n; i++) {
        const struct hr_gpu *g = &a[i];

        fprintf(stderr, "GPU %u: %s %s util %s%.0f%% vram %llu/%llu temp %d procs %u%s\n", g->index,
                g->name, g->uuid, g->has_util ? "" : "n/a ", g->util_pct,
                (unsigned long long) g->vram_used_bytes, (unsigned long long) g->vram_total_bytes,
                g->has_temperature ? g->temperature_c : -1, g->n_procs, g->lost ? " LOST" : "");
        assert_int_equal(g->index, (unsigned) i);
        assert_string_equal(g->vendor, "nvidia");
        if (g->lost)
            continue;
        assert_true(g->name[0] != '\0');
        assert_true(strncmp(g->uuid, "GPU-", 4) == 0 || strncmp(g->uuid, "MIG-", 4) == 0);
        assert_true(g->vram_total_bytes > 0);
        assert_true(g->vram_used_bytes <= g->vram_total_bytes);
        if (g->has_util)
            assert_in_range((long) g->util_pct, 0, 100);
        if (g->has_temperature)
            assert_in_range(g->temperature_c, 1, 150);
        assert_true(g->n_procs <= HR_GPU_PROCS_MAX);
        for (unsigned k = 0; k < g->n_procs; k++) {
            assert_true(g->procs[k].pid > 0);
            assert_true(g->procs[k].vram_used_bytes == UINT64_MAX ||
                        g->procs[k].vram_used_bytes <= g->vram_total_bytes);
        }
    }

    /* Identity is stable from one sample to the next. */
    m = gpu_probe_sample(probe, b, HR_GPUS_MAX);
    assert_int_equal(m, n);
    for (int i = 0; i < n; i++) {
        assert_string_equal(a[i].uuid, b[i].uuid);
        assert_int_equal(a[i].vram_total_bytes, b[i].vram_total_bytes);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sane),
    };

    return cmocka_run_group_tests_name("gpu-real", tests, group_setup, group_teardown);
}
