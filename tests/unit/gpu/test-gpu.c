/* SPDX-License-Identifier: MIT */

/* GPU probe tests. NVIDIA runs against the fake libraries in tests/fakes (their paths come in
 * through HEADROOM_FAKE_NVML, HEADROOM_FAKE_NVML_V2 and HEADROOM_FAKE_NVML_V1, and their script
 * format is described at the top of fake-nvml.c); AMD runs against the sysfs tree in
 * $HEADROOM_FIXTURES/sys-amd. */

/* cmocka.h needs these four first. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/macro.h"
#include "gpu/amdgpu.h"
#include "gpu/gpu-util.h"
#include "gpu/gpu.h"

#define GIB (1024ULL * 1024ULL * 1024ULL)
#define MIB (1024ULL * 1024ULL)

static char tmpdir[] = "/tmp/headroom-test-gpu.XXXXXX";
static char script_path[PATH_MAX];
static char log_path[PATH_MAX];

static const char *env_path(const char *name)
{
    const char *v = getenv(name);

    /* Without the paths from meson there is nothing meaningful to run against. */
    if (!v || !*v) {
        fprintf(stderr, "%s is not set; run this test through meson test\n", name);
        exit(77);
    }
    return v;
}

static const char *fake_full(void)
{
    return env_path("HEADROOM_FAKE_NVML");
}

static const char *fake_v2(void)
{
    return env_path("HEADROOM_FAKE_NVML_V2");
}

static const char *fake_v1(void)
{
    return env_path("HEADROOM_FAKE_NVML_V1");
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "we");

    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

/* Installs a fake NVML script (NULL = none, so the fake serves its defaults). */
static void script(const char *text)
{
    if (!text) {
        (void) unlink(script_path);
        assert_int_equal(unsetenv("HEADROOM_FAKE_NVML_SCRIPT"), 0);
        return;
    }
    write_text(script_path, text);
    assert_int_equal(setenv("HEADROOM_FAKE_NVML_SCRIPT", script_path, 1), 0);
}

/* Counts the calls of one symbol in the fake's call log. */
static unsigned calls(const char *symbol)
{
    _cleanup_fclose_ FILE *f = fopen(log_path, "re");
    char line[256];
    unsigned n = 0;

    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        if (strcmp(line, symbol) == 0)
            n++;
    }
    return n;
}

static void log_reset(void)
{
    (void) unlink(log_path);
}

static int group_setup(void **state)
{
    /* Skip before creating anything when the paths are missing. */
    (void) fake_full();
    (void) fake_v2();
    (void) fake_v1();
    (void) env_path("HEADROOM_FIXTURES");

    if (!mkdtemp(tmpdir))
        return -1;
    (void) snprintf(script_path, sizeof(script_path), "%s/nvml-script", tmpdir);
    (void) snprintf(log_path, sizeof(log_path), "%s/nvml-calls", tmpdir);
    if (setenv("HEADROOM_FAKE_NVML_LOG", log_path, 1) < 0)
        return -1;
    (void) unsetenv("HEADROOM_NVML_LIB");
    return 0;
}

static int group_teardown(void **state)
{
    (void) unlink(script_path);
    (void) unlink(log_path);
    (void) rmdir(tmpdir);
    return 0;
}

/* Every test starts from the fake's defaults with an empty call log. */
static int test_setup(void **state)
{
    (void) unlink(script_path);
    (void) unsetenv("HEADROOM_FAKE_NVML_SCRIPT");
    (void) unsetenv("HEADROOM_NVML_LIB");
    log_reset();
    return 0;
}

static struct gpu_probe *probe_nvml(const char *path)
{
    struct gpu_probe_options o = { .root_fd = -EBADF, .nvml_path = path, .nvidia = true };
    struct gpu_probe *p = NULL;

    assert_int_equal(gpu_probe_new(&o, &p), 0);
    assert_non_null(p);
    return p;
}

static int fixture_root(void)
{
    char path[PATH_MAX];
    int fd;

    (void) snprintf(path, sizeof(path), "%s/sys-amd", env_path("HEADROOM_FIXTURES"));
    fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0);
    return fd;
}

static int sample(struct gpu_probe *p, struct hr_gpu *gpus)
{
    /* Poison the array so that a field the probe forgets to set shows up. */
    memset(gpus, 0xa5, sizeof(struct hr_gpu) * HR_GPUS_MAX);
    return gpu_probe_sample(p, gpus, HR_GPUS_MAX);
}

static void assert_default_gpu0(const struct hr_gpu *g, unsigned index)
{
    assert_int_equal(g->index, index);
    assert_string_equal(g->vendor, "nvidia");
    assert_string_equal(g->name, "Fake NVML GPU 0");
    assert_string_equal(g->uuid, "GPU-fa4e0000-0000-4000-8000-000000000000");
    assert_true(g->has_util);
    assert_float_equal(g->util_pct, 35.0, 1e-9);
    assert_int_equal(g->vram_total_bytes, 80 * GIB);
    /* 4 GiB used plus the 512 MiB the driver reserves: both are unavailable to a new task. */
    assert_int_equal(g->vram_used_bytes, 4 * GIB + 512 * MIB);
    assert_true(g->has_temperature);
    assert_int_equal(g->temperature_c, 41);
    assert_false(g->lost);
    assert_int_equal(g->n_procs, 2);
    assert_int_equal(g->procs[0].pid, 1234);
    assert_int_equal(g->procs[0].vram_used_bytes, 1 * GIB);
    assert_int_equal(g->procs[1].pid, 5678);
    assert_int_equal(g->procs[1].vram_used_bytes, 2 * GIB);
}

static void assert_default_gpu1(const struct hr_gpu *g, unsigned index)
{
    assert_int_equal(g->index, index);
    assert_string_equal(g->vendor, "nvidia");
    assert_string_equal(g->name, "Fake NVML GPU 1");
    assert_string_equal(g->uuid, "GPU-fa4e0000-0000-4000-8000-000000000001");
    assert_true(g->has_util);
    assert_float_equal(g->util_pct, 0.0, 1e-9);
    assert_int_equal(g->vram_total_bytes, 24 * GIB);
    assert_int_equal(g->vram_used_bytes, 256 * MIB);
    assert_true(g->has_temperature);
    assert_int_equal(g->temperature_c, 30);
    assert_false(g->lost);
    assert_int_equal(g->n_procs, 0);
}

static void test_no_library(void **state)
{
    struct gpu_probe *p = probe_nvml("/nonexistent/headroom/libnvidia-ml.so.1");
    struct hr_gpu gpus[HR_GPUS_MAX];

    assert_int_equal(sample(p, gpus), 0);
    assert_string_equal(gpu_probe_describe(p), "none");
    assert_null(gpu_probe_free(p));
}

static void test_not_a_library(void **state)
{
    /* A file that exists but is not a shared object: dlopen fails, still not an error. */
    struct hr_gpu gpus[HR_GPUS_MAX];
    struct gpu_probe *p;

    script("gpus 1\n");
    p = probe_nvml(script_path);
    assert_int_equal(sample(p, gpus), 0);
    assert_string_equal(gpu_probe_describe(p), "none");
    gpu_probe_free(p);
}

static void test_nvidia_off(void **state)
{
    struct gpu_probe_options o = { .root_fd = -EBADF, .nvml_path = fake_full() };
    struct hr_gpu gpus[HR_GPUS_MAX];
    struct gpu_probe *p = NULL;

    assert_int_equal(gpu_probe_new(&o, &p), 0);
    assert_int_equal(sample(p, gpus), 0);
    assert_int_equal(calls("nvmlInit_v2"), 0);
    gpu_probe_free(p);
}

static void test_defaults(void **state)
{
    struct gpu_probe *p = probe_nvml(fake_full());
    struct hr_gpu gpus[HR_GPUS_MAX];

    assert_int_equal(sample(p, gpus), 2);
    assert_default_gpu0(&gpus[0], 0);
    assert_default_gpu1(&gpus[1], 1);
    assert_string_equal(gpu_probe_describe(p), "nvml 2 GPUs (driver 535.00.fake)");

    /* The newest entry points were used, never their older twins. */
    assert_true(calls("nvmlInit_v2") == 1);
    assert_true(calls("nvmlDeviceGetCount_v2") >= 2);
    assert_true(calls("nvmlDeviceGetMemoryInfo_v2") >= 4);
    assert_true(calls("nvmlDeviceGetComputeRunningProcesses_v3") >= 4);
    assert_int_equal(calls("nvmlInit"), 0);
    assert_int_equal(calls("nvmlDeviceGetCount"), 0);
    assert_int_equal(calls("nvmlDeviceGetHandleByIndex"), 0);
    assert_int_equal(calls("nvmlDeviceGetMemoryInfo"), 0);
    assert_int_equal(calls("nvmlDeviceGetComputeRunningProcesses_v2"), 0);
    assert_int_equal(calls("nvmlDeviceGetComputeRunningProcesses"), 0);

    assert_int_equal(calls("nvmlShutdown"), 0);
    gpu_probe_free(p);
    assert_int_equal(calls("nvmlShutdown"), 1);
}

static void test_env_library(void **state)
{
    struct hr_gpu gpus[HR_GPUS_MAX];
    struct gpu_probe *p;

    assert_int_equal(setenv("HEADROOM_NVML_LIB", fake_v1(), 1), 0);
    p = probe_nvml(NULL);
    assert_int_equal(sample(p, gpus), 2);
    assert_true(calls("nvmlInit") == 1);
    gpu_probe_free(p);

    /* An explicit path wins over the environment. */
    log_reset();
    p = probe_nvml(fake_full());
    assert_int_equal(sample(p, gpus), 2);
    assert_int_equal(calls("nvmlInit"), 0);
    assert_int_equal(calls("nvmlInit_v2"), 1);
    gpu_probe_free(p);
    assert_int_equal(unsetenv("HEADROOM_NVML_LIB"), 0);
}

static void test_script_changes(void **state)
{
    struct gpu_probe *p;
    struct hr_gpu gpus[HR_GPUS_MAX];

    script("gpus 1\n"
           "gpu 0 name=Fake H100 80GB HBM3 uuid=GPU-11111111-2222-3333-4444-555555555555 util=12 "
           "mem_total=85899345920 mem_used=1073741824 mem_reserved=0 temp=44\n"
           "proc 0 4242 536870912\n");
    p = probe_nvml(fake_full());
    assert_int_equal(sample(p, gpus), 1);
    assert_string_equal(gpus[0].name, "Fake H100 80GB HBM3");
    assert_string_equal(gpus[0].uuid, "GPU-11111111-2222-3333-4444-555555555555");
    assert_float_equal(gpus[0].util_pct, 12.0, 1e-9);
    assert_int_equal(gpus[0].vram_total_bytes, 85899345920ULL);
    assert_int_equal(gpus[0].vram_used_bytes, 1073741824ULL);
    assert_int_equal(gpus[0].temperature_c, 44);
    assert_int_equal(gpus[0].n_procs, 1);
    assert_int_equal(gpus[0].procs[0].pid, 4242);
    assert_int_equal(gpus[0].procs[0].vram_used_bytes, 536870912ULL);

    /* The same probe sees new values, and a new device count, on the next sample. */
    script("gpus 3\n"
           "gpu 0 util=97 mem_used=80000000000 mem_reserved=0 temp=83\n"
           "noprocs 0\n"
           "gpu 2 name=Third util=5 mem_total=1000 mem_used=10\n");
    assert_int_equal(sample(p, gpus), 3);
    assert_string_equal(gpus[0].name, "Fake NVML GPU 0");
    assert_float_equal(gpus[0].util_pct, 97.0, 1e-9);
    assert_int_equal(gpus[0].vram_used_bytes, 80000000000ULL);
    assert_int_equal(gpus[0].temperature_c, 83);
    assert_int_equal(gpus[0].n_procs, 0);
    assert_default_gpu1(&gpus[1], 1);
    assert_int_equal(gpus[2].index, 2);
    assert_string_equal(gpus[2].name, "Third");
    assert_int_equal(gpus[2].vram_total_bytes, 1000);
    assert_int_equal(gpus[2].vram_used_bytes, 10);
    assert_string_equal(gpu_probe_describe(p), "nvml 3 GPUs (driver 535.00.fake)");

    script("gpus 0\n");
    assert_int_equal(sample(p, gpus), 0);
    assert_string_equal(gpu_probe_describe(p), "nvml 0 GPUs (driver 535.00.fake)");
    gpu_probe_free(p);
}

/* 40 processes, and a sizing call that claims only one: the probe must grow its buffer twice,
 * then keep the 32 biggest VRAM users. */
static void many_procs(const char *library, const char *procs_symbol)
{
    char text[4096];
    struct hr_gpu gpus[HR_GPUS_MAX];
    struct gpu_probe *p;
    size_t len = 0;
    bool seen[41] = { false };

    len += (size_t) snprintf(text + len, sizeof(text) - len, "gpus 1\nproc_hint 0 1\n");
    for (unsigned i = 1; i <= 40; i++)
        len += (size_t) snprintf(text + len, sizeof(text) - len, "proc 0 %u %llu\n", 1000 + i,
                                 (unsigned long long) i * MIB);
    /* An entry the driver cannot measure is kept apart from the measured ones. */
    len += (size_t) snprintf(text + len, sizeof(text) - len, "proc 0 999 na\n");
    assert_true(len < sizeof(text));
    script(text);

    p = probe_nvml(library);
    log_reset();
    assert_int_equal(sample(p, gpus), 1);
    assert_int_equal(gpus[0].n_procs, HR_GPU_PROCS_MAX);
    /* Sizing call (0 → told 1), a call with room for 9 (told 41), then the one that fits. */
    assert_int_equal(calls(procs_symbol), 3);
    for (unsigned i = 0; i < gpus[0].n_procs; i++) {
        uint32_t pid = gpus[0].procs[i].pid;

        assert_in_range(pid, 1009, 1040);
        assert_false(seen[pid - 1000]);
        seen[pid - 1000] = true;
        assert_int_equal(gpus[0].procs[i].vram_used_bytes, (uint64_t) (pid - 1000) * MIB);
    }
    assert_int_equal(gpus[0].procs[0].pid, 1040);

    /* Under the bound, every process is kept in NVML order, the unmeasured one included. */
    script("gpus 1\nproc 0 7 na\nproc 0 8 4096\n");
    assert_int_equal(sample(p, gpus), 1);
    assert_int_equal(gpus[0].n_procs, 2);
    assert_int_equal(gpus[0].procs[0].pid, 7);
    assert_int_equal(gpus[0].procs[0].vram_used_bytes, UINT64_MAX);
    assert_int_equal(gpus[0].procs[1].pid, 8);
    assert_int_equal(gpus[0].procs[1].vram_used_bytes, 4096);
    gpu_probe_free(p);
}

static void test_many_procs(void **state)
{
    many_procs(fake_full(), "nvmlDeviceGetComputeRunningProcesses_v3");
}

static void test_many_procs_v1(void **state)
{
    many_procs(fake_v1(), "nvmlDeviceGetComputeRunningProcesses");
}

static void test_init_error(void **state)
{
    struct hr_gpu gpus[HR_GPUS_MAX];
    struct gpu_probe *p;

    script("init_error 9\n");
    p = probe_nvml(fake_full());
    assert_int_equal(calls("nvmlInit_v2"), 1);
    assert_int_equal(sample(p, gpus), 0);
    assert_string_equal(gpu_probe_describe(p), "none");
    /* No device was queried, and no shutdown without a successful init. */
    assert_int_equal(calls("nvmlDeviceGetCount_v2"), 0);
    gpu_probe_free(p);
    assert_int_equal(calls("nvmlShutdown"), 0);
}

static void test_lost(void **state)
{
    struct hr_gpu gpus[HR_GPUS_MAX];
    struct gpu_probe *p = probe_nvml(fake_full());

    assert_int_equal(sample(p, gpus), 2);
    assert_false(gpus[1].lost);

    /* Device 1 falls off the bus: it stays in the list, with the identity last seen. */
    script("lost 1\n");
    assert_int_equal(sample(p, gpus), 2);
    assert_default_gpu0(&gpus[0], 0);
    assert_true(gpus[1].lost);
    assert_int_equal(gpus[1].index, 1);
    assert_string_equal(gpus[1].vendor, "nvidia");
    assert_string_equal(gpus[1].name, "Fake NVML GPU 1");
    assert_string_equal(gpus[1].uuid, "GPU-fa4e0000-0000-4000-8000-000000000001");
    assert_false(gpus[1].has_util);
    assert_false(gpus[1].has_temperature);
    assert_int_equal(gpus[1].vram_total_bytes, 0);
    assert_int_equal(gpus[1].n_procs, 0);

    /* Losing the handle too is reported the same way. */
    script("handle_error 0 15\n");
    assert_int_equal(sample(p, gpus), 2);
    assert_true(gpus[0].lost);
    assert_string_equal(gpus[0].name, "Fake NVML GPU 0");
    assert_false(gpus[1].lost);

    /* Back after a reset. */
    script(NULL);
    assert_int_equal(sample(p, gpus), 2);
    assert_default_gpu0(&gpus[0], 0);
    assert_default_gpu1(&gpus[1], 1);
    gpu_probe_free(p);

    /* Lost from the first sample on: no identity to keep, but still listed. */
    script("lost 0\n");
    p = probe_nvml(fake_full());
    assert_int_equal(sample(p, gpus), 2);
    assert_true(gpus[0].lost);
    assert_string_equal(gpus[0].name, "NVIDIA GPU");
    assert_string_equal(gpus[0].uuid, "");
    assert_default_gpu1(&gpus[1], 1);
    gpu_probe_free(p);
}

static void test_absent_metrics(void **state)
{
    struct hr_gpu gpus[HR_GPUS_MAX];
    struct gpu_probe *p;

    script("gpu 0 util=unsupported temp=denied procs=denied\n"
           "gpu 1 mem=unsupported\n");
    p = probe_nvml(fake_full());
    assert_int_equal(sample(p, gpus), 2);
    assert_false(gpus[0].lost);
    assert_false(gpus[0].has_util);
    assert_false(gpus[0].has_temperature);
    assert_int_equal(gpus[0].n_procs, 0);
    assert_int_equal(gpus[0].vram_total_bytes, 80 * GIB);
    assert_string_equal(gpus[0].name, "Fake NVML GPU 0");
    assert_false(gpus[1].lost);
    assert_true(gpus[1].has_util);
    assert_int_equal(gpus[1].vram_total_bytes, 0);
    assert_int_equal(gpus[1].vram_used_bytes, 0);

    /* A device we may not open (NO_PERMISSION on its handle) is left out, and numbering stays
     * dense. */
    script("handle_error 0 4\n");
    assert_int_equal(sample(p, gpus), 1);
    assert_default_gpu1(&gpus[0], 0);
    gpu_probe_free(p);
}

static void test_v1_only(void **state)
{
    struct hr_gpu gpus[HR_GPUS_MAX];
    struct gpu_probe *p = probe_nvml(fake_v1());

    assert_int_equal(sample(p, gpus), 2);
    /* Memory from the original struct and processes with the 16-byte stride are still exact. */
    assert_int_equal(gpus[0].vram_total_bytes, 80 * GIB);
    assert_int_equal(gpus[0].vram_used_bytes, 4 * GIB + 512 * MIB);
    assert_int_equal(gpus[0].n_procs, 2);
    assert_int_equal(gpus[0].procs[0].pid, 1234);
    assert_int_equal(gpus[0].procs[0].vram_used_bytes, 1 * GIB);
    assert_int_equal(gpus[0].procs[1].pid, 5678);
    assert_int_equal(gpus[0].procs[1].vram_used_bytes, 2 * GIB);
    assert_int_equal(gpus[1].vram_total_bytes, 24 * GIB);
    assert_int_equal(gpus[1].n_procs, 0);
    /* This library cannot name devices or read sensors: those are absent, not made up. */
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(gpus[i].index, i);
        assert_string_equal(gpus[i].vendor, "nvidia");
        assert_string_equal(gpus[i].name, "NVIDIA GPU");
        assert_string_equal(gpus[i].uuid, "");
        assert_false(gpus[i].has_util);
        assert_false(gpus[i].has_temperature);
        assert_false(gpus[i].lost);
    }
    assert_string_equal(gpu_probe_describe(p), "nvml 2 GPUs");
    assert_true(calls("nvmlDeviceGetMemoryInfo") >= 2);
    assert_true(calls("nvmlDeviceGetComputeRunningProcesses") >= 2);
    gpu_probe_free(p);
}

static void test_v2(void **state)
{
    struct hr_gpu gpus[HR_GPUS_MAX];
    struct gpu_probe *p = probe_nvml(fake_v2());

    assert_int_equal(sample(p, gpus), 2);
    assert_default_gpu0(&gpus[0], 0);
    assert_default_gpu1(&gpus[1], 1);
    assert_true(calls("nvmlInit_v2") == 1);
    assert_true(calls("nvmlDeviceGetMemoryInfo") >= 2);
    assert_true(calls("nvmlDeviceGetComputeRunningProcesses_v2") >= 2);
    gpu_probe_free(p);
}

static void assert_fixture_amd(const struct hr_gpu *gpus, unsigned first)
{
    const struct hr_gpu *g = &gpus[first];

    /* card0 */
    assert_int_equal(g->index, first);
    assert_string_equal(g->vendor, "amd");
    assert_string_equal(g->name, "AMD GPU");
    assert_string_equal(g->uuid, "5e2c81b7a1d34f02");
    assert_true(g->has_util);
    assert_float_equal(g->util_pct, 37.0, 1e-9);
    assert_int_equal(g->vram_total_bytes, 25753026560ULL);
    assert_int_equal(g->vram_used_bytes, 1234567168ULL);
    assert_true(g->has_temperature);
    assert_int_equal(g->temperature_c, 52);
    assert_false(g->lost);
    assert_int_equal(g->n_procs, 0);

    /* card2 */
    g++;
    assert_int_equal(g->index, first + 1);
    assert_string_equal(g->vendor, "amd");
    assert_string_equal(g->name, "AMD Instinct MI210");
    assert_string_equal(g->uuid, "");
    assert_true(g->has_util);
    assert_float_equal(g->util_pct, 100.0, 1e-9);
    assert_int_equal(g->vram_total_bytes, 68702699520ULL);
    assert_int_equal(g->vram_used_bytes, 0);
    assert_false(g->has_temperature);
    assert_false(g->lost);
    assert_int_equal(g->n_procs, 0);

    /* card10 */
    g++;
    assert_int_equal(g->index, first + 2);
    assert_string_equal(g->vendor, "amd");
    assert_string_equal(g->name, "AMD GPU");
    assert_string_equal(g->uuid, "");
    assert_false(g->has_util);
    assert_int_equal(g->vram_total_bytes, 0);
    assert_int_equal(g->vram_used_bytes, 0);
    assert_false(g->has_temperature);
    assert_false(g->lost);
    assert_int_equal(g->n_procs, 0);
}

static void test_amd_fixture(void **state)
{
    struct gpu_probe_options o = { .amd = true };
    struct hr_gpu gpus[HR_GPUS_MAX];
    struct gpu_probe *p = NULL;

    o.root_fd = fixture_root();
    assert_int_equal(gpu_probe_new(&o, &p), 0);
    /* The probe keeps its own reference to the root. */
    assert_int_equal(close(o.root_fd), 0);

    assert_int_equal(sample(p, gpus), 3);
    assert_fixture_amd(gpus, 0);
    assert_string_equal(gpu_probe_describe(p), "amdgpu 3 GPUs");

    /* A bound smaller than the card count fills only that many. */
    assert_int_equal(gpu_probe_sample(p, gpus, 1), 1);
    assert_string_equal(gpus[0].uuid, "5e2c81b7a1d34f02");
    gpu_probe_free(p);
}

static void test_amd_and_nvml(void **state)
{
    struct gpu_probe_options o = { .nvml_path = fake_full(), .nvidia = true, .amd = true };
    struct hr_gpu gpus[HR_GPUS_MAX];
    struct gpu_probe *p = NULL;

    o.root_fd = fixture_root();
    assert_int_equal(gpu_probe_new(&o, &p), 0);
    (void) close(o.root_fd);

    assert_int_equal(sample(p, gpus), 5);
    assert_default_gpu0(&gpus[0], 0);
    assert_default_gpu1(&gpus[1], 1);
    assert_fixture_amd(gpus, 2);
    assert_string_equal(gpu_probe_describe(p), "nvml 2 GPUs (driver 535.00.fake), amdgpu 3 GPUs");

    /* NVIDIA first also under a bound: 2 from NVML, then what is left for AMD. */
    assert_int_equal(gpu_probe_sample(p, gpus, 3), 3);
    assert_string_equal(gpus[0].vendor, "nvidia");
    assert_string_equal(gpus[1].vendor, "nvidia");
    assert_string_equal(gpus[2].vendor, "amd");
    assert_int_equal(gpus[2].index, 2);

    /* The NVIDIA count changes between samples; the AMD entries move up and are renumbered. */
    script("gpus 1\n");
    assert_int_equal(sample(p, gpus), 4);
    assert_default_gpu0(&gpus[0], 0);
    assert_fixture_amd(gpus, 1);
    gpu_probe_free(p);
}

static void test_amd_missing_tree(void **state)
{
    struct gpu_probe_options o = { .amd = true };
    struct hr_gpu gpus[HR_GPUS_MAX];
    struct gpu_probe *p = NULL;

    /* A root without sys/class/drm (the temporary directory) has no GPUs, and that is fine. */
    o.root_fd = open(tmpdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert_true(o.root_fd >= 0);
    assert_int_equal(gpu_probe_new(&o, &p), 0);
    (void) close(o.root_fd);
    assert_int_equal(sample(p, gpus), 0);
    assert_string_equal(gpu_probe_describe(p), "none");
    gpu_probe_free(p);
    assert_null(gpu_probe_free(NULL));
}

static void test_parse_u64(void **state)
{
    uint64_t v = 7;

    assert_int_equal(amdgpu_parse_u64("42\n", 3, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(amdgpu_parse_u64("18446744073709551615\n", 21, &v), 0);
    assert_int_equal(v, UINT64_MAX);
    /* The length bounds the read even without a NUL where the caller says the data ends. */
    assert_int_equal(amdgpu_parse_u64("123456", 2, &v), 0);
    assert_int_equal(v, 12);

    v = 7;
    assert_int_equal(amdgpu_parse_u64("18446744073709551616", 20, &v), -ERANGE);
    assert_int_equal(amdgpu_parse_u64("", 0, &v), -EBADMSG);
    assert_int_equal(amdgpu_parse_u64("\n", 1, &v), -EBADMSG);
    assert_int_equal(amdgpu_parse_u64(" 42", 3, &v), -EBADMSG);
    assert_int_equal(amdgpu_parse_u64("-1", 2, &v), -EBADMSG);
    assert_int_equal(amdgpu_parse_u64("4 2", 3, &v), -EBADMSG);
    assert_int_equal(amdgpu_parse_u64("0x10", 4, &v), -EBADMSG);
    assert_int_equal(amdgpu_parse_u64("1234567890123456789012345", 25, &v), -EBADMSG);
    assert_int_equal(amdgpu_parse_u64(NULL, 0, &v), -EBADMSG);
    assert_int_equal(v, 7);
}

static void test_parse_pci_id(void **state)
{
    unsigned v = 7;

    assert_int_equal(amdgpu_parse_pci_id("0x1002\n", 7, &v), 0);
    assert_int_equal(v, 0x1002);
    assert_int_equal(amdgpu_parse_pci_id("10DE", 4, &v), 0);
    assert_int_equal(v, 0x10de);
    assert_int_equal(amdgpu_parse_pci_id("0XabCd", 6, &v), 0);
    assert_int_equal(v, 0xabcd);

    v = 7;
    assert_int_equal(amdgpu_parse_pci_id("0x", 2, &v), -EBADMSG);
    assert_int_equal(amdgpu_parse_pci_id("0x10020", 7, &v), -EBADMSG);
    assert_int_equal(amdgpu_parse_pci_id("0x10g2", 6, &v), -EBADMSG);
    assert_int_equal(amdgpu_parse_pci_id("", 0, &v), -EBADMSG);
    assert_int_equal(v, 7);
}

static void test_parse_numbered_name(void **state)
{
    unsigned v = 7;

    assert_int_equal(amdgpu_parse_numbered_name("card0", "card", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(amdgpu_parse_numbered_name("card10", "card", &v), 0);
    assert_int_equal(v, 10);
    assert_int_equal(amdgpu_parse_numbered_name("hwmon3", "hwmon", &v), 0);
    assert_int_equal(v, 3);

    v = 7;
    assert_int_equal(amdgpu_parse_numbered_name("card0-DP-1", "card", &v), -EINVAL);
    assert_int_equal(amdgpu_parse_numbered_name("card1-HDMI-A-1", "card", &v), -EINVAL);
    assert_int_equal(amdgpu_parse_numbered_name("card", "card", &v), -EINVAL);
    assert_int_equal(amdgpu_parse_numbered_name("renderD128", "card", &v), -EINVAL);
    assert_int_equal(amdgpu_parse_numbered_name("version", "card", &v), -EINVAL);
    assert_int_equal(amdgpu_parse_numbered_name("card+1", "card", &v), -EINVAL);
    assert_int_equal(amdgpu_parse_numbered_name("card12345678901", "card", &v), -EINVAL);
    assert_int_equal(amdgpu_parse_numbered_name(".", "card", &v), -EINVAL);
    assert_int_equal(v, 7);
}

static void test_parse_card(void **state)
{
    struct amdgpu_card_files f = {
        .vendor = "0x1002\n",
        .busy_pct = "101\n",
        .vram_total = "banana\n",
        .vram_used = "4096\n",
        .unique_id = "  \n",
        .product_name = "Radeon\tPRO \x01W7900\n",
        .temp_millic = "-5500\n",
    };
    struct hr_gpu g;

    memset(&g, 0x5a, sizeof(g));
    assert_int_equal(amdgpu_parse_card(&f, &g), 0);
    assert_string_equal(g.vendor, "amd");
    assert_int_equal(g.index, 0);
    /* Control characters never reach JSON or logs. */
    assert_string_equal(g.name, "Radeon?PRO ?W7900");
    assert_string_equal(g.uuid, "");
    assert_false(g.has_util);
    assert_int_equal(g.vram_total_bytes, 0);
    assert_int_equal(g.vram_used_bytes, 4096);
    assert_true(g.has_temperature);
    assert_int_equal(g.temperature_c, -6);
    assert_false(g.lost);
    assert_int_equal(g.n_procs, 0);

    f.temp_millic = "2000000\n"; /* 2000 °C: a sensor fault */
    f.busy_pct = "0\n";
    assert_int_equal(amdgpu_parse_card(&f, &g), 0);
    assert_false(g.has_temperature);
    assert_true(g.has_util);
    assert_float_equal(g.util_pct, 0.0, 1e-9);

    memset(&g, 0x5a, sizeof(g));
    f.vendor = "0x10de\n";
    assert_int_equal(amdgpu_parse_card(&f, &g), -ENODEV);
    f.vendor = "AMD\n";
    assert_int_equal(amdgpu_parse_card(&f, &g), -ENODEV);
    f.vendor = NULL;
    assert_int_equal(amdgpu_parse_card(&f, &g), -ENODEV);
    /* ret is written only on success. */
    assert_int_equal(g.index, 0x5a5a5a5a);
}

static void test_copy_text(void **state)
{
    char buf[8];

    assert_int_equal(gpu_copy_text(buf, sizeof(buf), "  abc \n", SIZE_MAX), 3);
    assert_string_equal(buf, "abc");
    assert_int_equal(gpu_copy_text(buf, sizeof(buf), "0123456789", SIZE_MAX), 7);
    assert_string_equal(buf, "0123456");
    assert_int_equal(gpu_copy_text(buf, sizeof(buf), "a\x7f\xc3\xa9", SIZE_MAX), 4);
    assert_string_equal(buf, "a???");
    assert_int_equal(gpu_copy_text(buf, sizeof(buf), "abcdef", 2), 2);
    assert_string_equal(buf, "ab");
    assert_int_equal(gpu_copy_text(buf, sizeof(buf), NULL, 3), 0);
    assert_string_equal(buf, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_no_library, test_setup),
        cmocka_unit_test_setup(test_not_a_library, test_setup),
        cmocka_unit_test_setup(test_nvidia_off, test_setup),
        cmocka_unit_test_setup(test_defaults, test_setup),
        cmocka_unit_test_setup(test_env_library, test_setup),
        cmocka_unit_test_setup(test_script_changes, test_setup),
        cmocka_unit_test_setup(test_many_procs, test_setup),
        cmocka_unit_test_setup(test_many_procs_v1, test_setup),
        cmocka_unit_test_setup(test_init_error, test_setup),
        cmocka_unit_test_setup(test_lost, test_setup),
        cmocka_unit_test_setup(test_absent_metrics, test_setup),
        cmocka_unit_test_setup(test_v1_only, test_setup),
        cmocka_unit_test_setup(test_v2, test_setup),
        cmocka_unit_test_setup(test_amd_fixture, test_setup),
        cmocka_unit_test_setup(test_amd_and_nvml, test_setup),
        cmocka_unit_test_setup(test_amd_missing_tree, test_setup),
        cmocka_unit_test(test_parse_u64),
        cmocka_unit_test(test_parse_pci_id),
        cmocka_unit_test(test_parse_numbered_name),
        cmocka_unit_test(test_parse_card),
        cmocka_unit_test(test_copy_text),
    };

    return cmocka_run_group_tests_name("gpu", tests, group_setup, group_teardown);
}
