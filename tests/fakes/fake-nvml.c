/* SPDX-License-Identifier: MIT */

/* A stand-in for libnvidia-ml, so that the GPU code runs end to end on machines without NVIDIA
 * hardware. It exports the NVML entry points headroom resolves and serves scripted values.
 *
 * FAKE_NVML_API selects which entry points this build exports, to exercise the fallback chain:
 *   3  every name headroom knows, versioned and unversioned, like a current driver
 *      (built as libnvidia-ml.so.1);
 *   2  nvmlInit_v2, nvmlDeviceGetCount_v2, nvmlDeviceGetHandleByIndex_v2, the unversioned
 *      nvmlDeviceGetMemoryInfo and nvmlDeviceGetComputeRunningProcesses_v2 plus name, UUID,
 *      utilization, temperature, driver version, error strings and shutdown, like an older
 *      driver (libfake-nvml-v2.so);
 *   1  only nvmlInit, nvmlDeviceGetCount, nvmlDeviceGetHandleByIndex, nvmlDeviceGetMemoryInfo and
 *      nvmlDeviceGetComputeRunningProcesses with its 16-byte entries (libfake-nvml-v1.so).
 *
 * The script: $HEADROOM_FAKE_NVML_SCRIPT names a text file that is re-read on every call, so a
 * running daemon sees edits at its next sample. Without the variable, or while the file does not
 * exist, the defaults below apply; a script starts from the defaults and changes them. One
 * directive per line; '#' starts a comment line; unknown directives are ignored.
 *
 *   gpus N                 number of devices, 0..16 (default 2)
 *   gpu I key=value ...    device I. Keys: name, uuid (text; may contain spaces, running up to the
 *                          next key), util (percent), temp (degrees C), mem_total, mem_used,
 *                          mem_reserved (bytes). util, temp, mem and procs also take the values
 *                          "unsupported" and "denied", which make that query return
 *                          NOT_SUPPORTED (3) or NO_PERMISSION (4).
 *   proc I PID BYTES       a compute process on device I using BYTES of VRAM ("na" = the
 *                          library's not-available marker). The first proc line for a device
 *                          replaces its default list. At most 256 per device.
 *   noprocs I              device I runs nothing.
 *   proc_hint I N          the sizing call (count 0) answers N instead of the real count, as if
 *                          processes started between the sizing call and the real one.
 *   init_error N           nvmlInit returns N (e.g. 9, DRIVER_NOT_LOADED).
 *   lost I                 every query on device I returns GPU_IS_LOST (15); its handle works.
 *   handle_error I N       nvmlDeviceGetHandleByIndex(I) returns N.
 *   driver TEXT            the driver version string.
 *
 * Example:
 *   gpus 1
 *   gpu 0 name=Fake H100 80GB uuid=GPU-0000 util=35 mem_total=85899345920 mem_used=1073741824
 *   proc 0 1234 536870912
 *
 * Defaults:
 *   device 0: "Fake NVML GPU 0", GPU-fa4e0000-0000-4000-8000-000000000000, util 35 %, 41 C,
 *             80 GiB total, 4 GiB used, 512 MiB reserved, processes 1234 (1 GiB), 5678 (2 GiB);
 *   device 1: "Fake NVML GPU 1", GPU-fa4e0000-0000-4000-8000-000000000001, util 0 %, 30 C,
 *             24 GiB total, 0 used, 256 MiB reserved, no processes;
 *   devices 2..15 (when "gpus" asks for them): "Fake NVML GPU <i>", 16 GiB, everything else 0;
 *   driver "535.00.fake".
 *
 * $HEADROOM_FAKE_NVML_LOG, when set, names a file to which every call appends its own symbol
 * name and a newline, so tests can tell which version of an entry point was used. */

#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpu/nvml-types.h"

#ifndef FAKE_NVML_API
#    define FAKE_NVML_API 3
#endif

#define FAKE_EXPORT    __attribute__((visibility("default")))
#define FAKE_GPUS_MAX  16
#define FAKE_PROCS_MAX 256
#define FAKE_LINE_MAX  1024
#define FAKE_LINES_MAX 4096
#define GIB            (1024ULL * 1024ULL * 1024ULL)
#define MIB            (1024ULL * 1024ULL)

struct nvmlDevice_st {
    unsigned index;
};

struct fake_proc {
    unsigned pid;
    unsigned long long used_bytes;
};

struct fake_gpu {
    char name[NVML_DEVICE_NAME_BUFFER_SIZE];
    char uuid[NVML_DEVICE_UUID_BUFFER_SIZE];
    unsigned util_pct, temp_c;
    unsigned long long mem_total, mem_used, mem_reserved;
    nvmlReturn_t util_err, temp_err, mem_err, procs_err, handle_err;
    bool lost;
    bool procs_scripted; /* a proc/noprocs line replaced the default list */
    long proc_hint;      /* -1 = report the real count */
    unsigned n_procs;
    struct fake_proc procs[FAKE_PROCS_MAX];
};

struct fake_state {
    unsigned n_gpus;
    nvmlReturn_t init_err;
    char driver[NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE];
    struct fake_gpu gpus[FAKE_GPUS_MAX];
};

static struct fake_state state;
static struct nvmlDevice_st devices[FAKE_GPUS_MAX];
static int init_count;

static void trace(const char *symbol)
{
    const char *path = getenv("HEADROOM_FAKE_NVML_LOG");
    char line[128];
    int fd, len;

    if (!path || !*path)
        return;
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    len = snprintf(line, sizeof(line), "%s\n", symbol);
    if (len > 0)
        (void) !write(fd, line, (size_t) len);
    (void) close(fd);
}

static void set_defaults(void)
{
    memset(&state, 0, sizeof(state));
    state.n_gpus = 2;
    snprintf(state.driver, sizeof(state.driver), "535.00.fake");
    for (unsigned i = 0; i < FAKE_GPUS_MAX; i++) {
        struct fake_gpu *g = &state.gpus[i];

        snprintf(g->name, sizeof(g->name), "Fake NVML GPU %u", i);
        snprintf(g->uuid, sizeof(g->uuid), "GPU-fa4e0000-0000-4000-8000-%012u", i);
        g->mem_total = 16 * GIB;
        g->proc_hint = -1;
    }
    state.gpus[0].util_pct = 35;
    state.gpus[0].temp_c = 41;
    state.gpus[0].mem_total = 80 * GIB;
    state.gpus[0].mem_used = 4 * GIB;
    state.gpus[0].mem_reserved = 512 * MIB;
    state.gpus[0].n_procs = 2;
    state.gpus[0].procs[0] = (struct fake_proc){ 1234, 1 * GIB };
    state.gpus[0].procs[1] = (struct fake_proc){ 5678, 2 * GIB };
    state.gpus[1].util_pct = 0;
    state.gpus[1].temp_c = 30;
    state.gpus[1].mem_total = 24 * GIB;
    state.gpus[1].mem_reserved = 256 * MIB;
}

static bool parse_ull(const char *s, unsigned long long *ret)
{
    char *end;

    if (!s || *s < '0' || *s > '9')
        return false;
    *ret = strtoull(s, &end, 10);
    return *end == '\0';
}

/* A number, or one of the words that select an error return. */
static bool parse_value(const char *s, unsigned long long *ret_value, nvmlReturn_t *ret_err)
{
    if (strcmp(s, "unsupported") == 0) {
        *ret_err = NVML_ERROR_NOT_SUPPORTED;
        return true;
    }
    if (strcmp(s, "denied") == 0) {
        *ret_err = NVML_ERROR_NO_PERMISSION;
        return true;
    }
    if (!parse_ull(s, ret_value))
        return false;
    *ret_err = NVML_SUCCESS;
    return true;
}

static struct fake_gpu *gpu_arg(const char *s)
{
    unsigned long long i;

    if (!parse_ull(s, &i) || i >= FAKE_GPUS_MAX)
        return NULL;
    return &state.gpus[i];
}

static const char *const gpu_keys[] = {
    "name", "uuid", "util", "temp", "mem_total", "mem_used", "mem_reserved", "mem", "procs",
};

static bool is_gpu_key(const char *tok, size_t len)
{
    for (size_t i = 0; i < sizeof(gpu_keys) / sizeof(gpu_keys[0]); i++)
        if (strlen(gpu_keys[i]) == len && strncmp(tok, gpu_keys[i], len) == 0)
            return true;
    return false;
}

static void set_gpu_field(struct fake_gpu *g, const char *key, const char *value)
{
    unsigned long long v = 0;
    nvmlReturn_t err = NVML_SUCCESS;

    if (strcmp(key, "name") == 0) {
        snprintf(g->name, sizeof(g->name), "%s", value);
        return;
    }
    if (strcmp(key, "uuid") == 0) {
        snprintf(g->uuid, sizeof(g->uuid), "%s", value);
        return;
    }
    if (!parse_value(value, &v, &err))
        return;
    if (strcmp(key, "util") == 0) {
        g->util_pct = (unsigned) v;
        g->util_err = err;
    } else if (strcmp(key, "temp") == 0) {
        g->temp_c = (unsigned) v;
        g->temp_err = err;
    } else if (strcmp(key, "mem") == 0)
        g->mem_err = err;
    else if (strcmp(key, "procs") == 0)
        g->procs_err = err;
    else if (err == NVML_SUCCESS) {
        if (strcmp(key, "mem_total") == 0)
            g->mem_total = v;
        else if (strcmp(key, "mem_used") == 0)
            g->mem_used = v;
        else if (strcmp(key, "mem_reserved") == 0)
            g->mem_reserved = v;
    } else
        g->mem_err = err;
}

/* "gpu I key=value key=value ...": values run until the next token that starts with a known key
 * followed by '=', so names with spaces need no quoting. */
static void apply_gpu_line(char *save)
{
    char key[32] = "", value[256] = "";
    struct fake_gpu *g = gpu_arg(strtok_r(NULL, " \t", &save));
    char *tok;

    if (!g)
        return;
    for (;;) {
        char *eq;

        tok = strtok_r(NULL, " \t", &save);
        if (!tok)
            break;
        eq = strchr(tok, '=');
        if (eq && is_gpu_key(tok, (size_t) (eq - tok))) {
            if (key[0])
                set_gpu_field(g, key, value);
            snprintf(key, sizeof(key), "%.*s", (int) (eq - tok), tok);
            snprintf(value, sizeof(value), "%s", eq + 1);
        } else if (key[0]) {
            size_t len = strlen(value);

            snprintf(value + len, sizeof(value) - len, " %s", tok);
        }
    }
    if (key[0])
        set_gpu_field(g, key, value);
}

static void apply_line(char *line)
{
    char *save = NULL, *word, *a, *b;
    unsigned long long n, m;
    struct fake_gpu *g;

    line[strcspn(line, "\r\n")] = '\0';
    word = strtok_r(line, " \t", &save);
    if (!word || word[0] == '#')
        return;

    if (strcmp(word, "gpu") == 0) {
        apply_gpu_line(save);
        return;
    }
    if (strcmp(word, "driver") == 0) {
        a = save ? save + strspn(save, " \t") : NULL;
        if (a && *a)
            snprintf(state.driver, sizeof(state.driver), "%s", a);
        return;
    }

    a = strtok_r(NULL, " \t", &save);
    b = strtok_r(NULL, " \t", &save);
    if (strcmp(word, "gpus") == 0) {
        if (parse_ull(a, &n) && n <= FAKE_GPUS_MAX)
            state.n_gpus = (unsigned) n;
    } else if (strcmp(word, "init_error") == 0) {
        if (parse_ull(a, &n))
            state.init_err = (nvmlReturn_t) n;
    } else if (strcmp(word, "lost") == 0) {
        g = gpu_arg(a);
        if (g)
            g->lost = true;
    } else if (strcmp(word, "handle_error") == 0) {
        g = gpu_arg(a);
        if (g && parse_ull(b, &n))
            g->handle_err = (nvmlReturn_t) n;
    } else if (strcmp(word, "noprocs") == 0) {
        g = gpu_arg(a);
        if (g) {
            g->procs_scripted = true;
            g->n_procs = 0;
        }
    } else if (strcmp(word, "proc_hint") == 0) {
        g = gpu_arg(a);
        if (g && parse_ull(b, &n))
            g->proc_hint = (long) n;
    } else if (strcmp(word, "proc") == 0) {
        char *c = strtok_r(NULL, " \t", &save);

        g = gpu_arg(a);
        if (!g || !parse_ull(b, &n) || !c)
            return;
        if (strcmp(c, "na") == 0)
            m = NVML_VALUE_NOT_AVAILABLE_ULL;
        else if (!parse_ull(c, &m))
            return;
        if (!g->procs_scripted) {
            g->procs_scripted = true;
            g->n_procs = 0;
        }
        if (g->n_procs < FAKE_PROCS_MAX)
            g->procs[g->n_procs++] = (struct fake_proc){ (unsigned) n, m };
    }
}

/* Rebuilds the state from the defaults and the script, on every call. */
static void load(void)
{
    const char *path = getenv("HEADROOM_FAKE_NVML_SCRIPT");
    char line[FAKE_LINE_MAX];
    FILE *f;

    set_defaults();
    if (!path || !*path)
        return;
    f = fopen(path, "re");
    if (!f)
        return;
    for (unsigned i = 0; i < FAKE_LINES_MAX && fgets(line, sizeof(line), f); i++)
        apply_line(line);
    (void) fclose(f);
}

/* Common checks of every device call: initialised, a handle we gave out, the device not lost. */
static nvmlReturn_t device_arg(nvmlDevice_t dev, struct fake_gpu **ret)
{
    load();
    if (init_count <= 0)
        return NVML_ERROR_UNINITIALIZED;
    if (!dev || dev < devices || dev >= devices + FAKE_GPUS_MAX || dev->index >= state.n_gpus)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (state.gpus[dev->index].lost)
        return NVML_ERROR_GPU_IS_LOST;
    *ret = &state.gpus[dev->index];
    return NVML_SUCCESS;
}

static nvmlReturn_t do_init(void)
{
    load();
    if (state.init_err != NVML_SUCCESS)
        return state.init_err;
    for (unsigned i = 0; i < FAKE_GPUS_MAX; i++)
        devices[i].index = i;
    init_count++;
    return NVML_SUCCESS;
}

static nvmlReturn_t do_count(unsigned *count)
{
    load();
    if (init_count <= 0)
        return NVML_ERROR_UNINITIALIZED;
    if (!count)
        return NVML_ERROR_INVALID_ARGUMENT;
    *count = state.n_gpus;
    return NVML_SUCCESS;
}

static nvmlReturn_t do_handle(unsigned index, nvmlDevice_t *dev)
{
    load();
    if (init_count <= 0)
        return NVML_ERROR_UNINITIALIZED;
    if (!dev || index >= state.n_gpus)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (state.gpus[index].handle_err != NVML_SUCCESS)
        return state.gpus[index].handle_err;
    *dev = &devices[index];
    return NVML_SUCCESS;
}

static nvmlReturn_t do_memory_v1(nvmlDevice_t dev, nvmlMemory_t *mem)
{
    struct fake_gpu *g;
    nvmlReturn_t e = device_arg(dev, &g);

    if (e != NVML_SUCCESS)
        return e;
    if (!mem)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (g->mem_err != NVML_SUCCESS)
        return g->mem_err;
    /* The original struct counts the driver's reservation as used. */
    mem->total = g->mem_total;
    mem->used = g->mem_used + g->mem_reserved;
    mem->free = mem->used > mem->total ? 0 : mem->total - mem->used;
    return NVML_SUCCESS;
}

/* Serves the process list with the given entry size. Entry layout: pid at 0, usedGpuMemory at 8,
 * and for the 24-byte entries the two instance ids, all ones as without MIG. */
static nvmlReturn_t do_procs(nvmlDevice_t dev, unsigned *count, void *infos, size_t stride)
{
    struct fake_gpu *g;
    nvmlReturn_t e = device_arg(dev, &g);

    if (e != NVML_SUCCESS)
        return e;
    if (!count)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (g->procs_err != NVML_SUCCESS)
        return g->procs_err;
    if (*count < g->n_procs) {
        *count = *count == 0 && g->proc_hint >= 0 ? (unsigned) g->proc_hint : g->n_procs;
        return NVML_ERROR_INSUFFICIENT_SIZE;
    }
    if (g->n_procs > 0 && !infos)
        return NVML_ERROR_INVALID_ARGUMENT;
    for (unsigned i = 0; i < g->n_procs; i++) {
        unsigned char *p = (unsigned char *) infos + i * stride;

        if (stride == sizeof(nvmlProcessInfo_v2_t)) {
            nvmlProcessInfo_v2_t info = {
                .pid = g->procs[i].pid,
                .usedGpuMemory = g->procs[i].used_bytes,
                .gpuInstanceId = 0xFFFFFFFFu,
                .computeInstanceId = 0xFFFFFFFFu,
            };
            memcpy(p, &info, sizeof(info));
        } else {
            nvmlProcessInfo_v1_t info = {
                .pid = g->procs[i].pid,
                .usedGpuMemory = g->procs[i].used_bytes,
            };
            memcpy(p, &info, sizeof(info));
        }
    }
    *count = g->n_procs;
    return NVML_SUCCESS;
}

/* Exported entry points, per API level. */

FAKE_EXPORT nvmlReturn_t nvmlInit(void);
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetCount(unsigned *count);
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned index, nvmlDevice_t *dev);
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t dev, nvmlMemory_t *mem);
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses(nvmlDevice_t dev,
                                                              unsigned *count,
                                                              nvmlProcessInfo_v1_t *infos);

#if FAKE_NVML_API != 2
nvmlReturn_t nvmlInit(void)
{
    trace(__func__);
    return do_init();
}

nvmlReturn_t nvmlDeviceGetCount(unsigned *count)
{
    trace(__func__);
    return do_count(count);
}

nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned index, nvmlDevice_t *dev)
{
    trace(__func__);
    return do_handle(index, dev);
}

nvmlReturn_t
nvmlDeviceGetComputeRunningProcesses(nvmlDevice_t dev, unsigned *count, nvmlProcessInfo_v1_t *infos)
{
    trace(__func__);
    return do_procs(dev, count, infos, sizeof(nvmlProcessInfo_v1_t));
}
#endif

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t dev, nvmlMemory_t *mem)
{
    trace(__func__);
    return do_memory_v1(dev, mem);
}

#if FAKE_NVML_API >= 2
FAKE_EXPORT nvmlReturn_t nvmlInit_v2(void);
FAKE_EXPORT nvmlReturn_t nvmlShutdown(void);
FAKE_EXPORT const char *nvmlErrorString(nvmlReturn_t e);
FAKE_EXPORT nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned len);
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetCount_v2(unsigned *count);
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned index, nvmlDevice_t *dev);
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t dev, char *name, unsigned len);
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t dev, char *uuid, unsigned len);
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t dev, nvmlUtilization_t *u);
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t dev, int sensor, unsigned *temp);
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v2(nvmlDevice_t dev,
                                                                 unsigned *count,
                                                                 nvmlProcessInfo_v2_t *infos);

nvmlReturn_t nvmlInit_v2(void)
{
    trace(__func__);
    return do_init();
}

nvmlReturn_t nvmlShutdown(void)
{
    trace(__func__);
    if (init_count <= 0)
        return NVML_ERROR_UNINITIALIZED;
    init_count--;
    return NVML_SUCCESS;
}

const char *nvmlErrorString(nvmlReturn_t e)
{
    switch (e) {
    case NVML_SUCCESS:
        return "Success";
    case NVML_ERROR_UNINITIALIZED:
        return "Uninitialized";
    case NVML_ERROR_NOT_SUPPORTED:
        return "Not Supported";
    case NVML_ERROR_NO_PERMISSION:
        return "Insufficient Permissions";
    case NVML_ERROR_DRIVER_NOT_LOADED:
        return "Driver Not Loaded";
    case NVML_ERROR_GPU_IS_LOST:
        return "GPU is lost";
    default:
        return "Unknown Error";
    }
}

nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned len)
{
    trace(__func__);
    load();
    if (init_count <= 0)
        return NVML_ERROR_UNINITIALIZED;
    if (!version)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (strlen(state.driver) + 1 > len)
        return NVML_ERROR_INSUFFICIENT_SIZE;
    memcpy(version, state.driver, strlen(state.driver) + 1);
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned *count)
{
    trace(__func__);
    return do_count(count);
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned index, nvmlDevice_t *dev)
{
    trace(__func__);
    return do_handle(index, dev);
}

static nvmlReturn_t copy_text(const char *src, char *dst, unsigned len)
{
    if (!dst)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (strlen(src) + 1 > len)
        return NVML_ERROR_INSUFFICIENT_SIZE;
    memcpy(dst, src, strlen(src) + 1);
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t dev, char *name, unsigned len)
{
    struct fake_gpu *g;
    nvmlReturn_t e;

    trace(__func__);
    e = device_arg(dev, &g);
    return e != NVML_SUCCESS ? e : copy_text(g->name, name, len);
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t dev, char *uuid, unsigned len)
{
    struct fake_gpu *g;
    nvmlReturn_t e;

    trace(__func__);
    e = device_arg(dev, &g);
    return e != NVML_SUCCESS ? e : copy_text(g->uuid, uuid, len);
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t dev, nvmlUtilization_t *u)
{
    struct fake_gpu *g;
    nvmlReturn_t e;

    trace(__func__);
    e = device_arg(dev, &g);
    if (e != NVML_SUCCESS)
        return e;
    if (!u)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (g->util_err != NVML_SUCCESS)
        return g->util_err;
    u->gpu = g->util_pct;
    u->memory = g->util_pct / 2;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t dev, int sensor, unsigned *temp)
{
    struct fake_gpu *g;
    nvmlReturn_t e;

    trace(__func__);
    e = device_arg(dev, &g);
    if (e != NVML_SUCCESS)
        return e;
    if (!temp || sensor != NVML_TEMPERATURE_GPU)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (g->temp_err != NVML_SUCCESS)
        return g->temp_err;
    *temp = g->temp_c;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v2(nvmlDevice_t dev,
                                                     unsigned *count,
                                                     nvmlProcessInfo_v2_t *infos)
{
    trace(__func__);
    return do_procs(dev, count, infos, sizeof(nvmlProcessInfo_v2_t));
}
#endif

#if FAKE_NVML_API >= 3
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t dev, nvmlMemory_v2_t *mem);
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t dev,
                                                                 unsigned *count,
                                                                 nvmlProcessInfo_v2_t *infos);

nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t dev, nvmlMemory_v2_t *mem)
{
    struct fake_gpu *g;
    nvmlReturn_t e;

    trace(__func__);
    e = device_arg(dev, &g);
    if (e != NVML_SUCCESS)
        return e;
    if (!mem)
        return NVML_ERROR_INVALID_ARGUMENT;
    /* The real library insists on the version word; so does the fake, to catch a caller that
     * forgets it. */
    if (mem->version != NVML_MEMORY_V2_VERSION)
        return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
    if (g->mem_err != NVML_SUCCESS)
        return g->mem_err;
    mem->total = g->mem_total;
    mem->reserved = g->mem_reserved;
    mem->used = g->mem_used;
    mem->free = g->mem_used + g->mem_reserved > g->mem_total
                        ? 0
                        : g->mem_total - g->mem_used - g->mem_reserved;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t dev,
                                                     unsigned *count,
                                                     nvmlProcessInfo_v2_t *infos)
{
    trace(__func__);
    return do_procs(dev, count, infos, sizeof(nvmlProcessInfo_v2_t));
}
#endif
