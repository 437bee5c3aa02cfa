/* SPDX-License-Identifier: MIT */
#include "gpu/nvml.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "gpu/gpu-util.h"
#include "gpu/nvml-types.h"

/* Default soname: the versioned name is what the driver package installs; the unversioned
 * libnvidia-ml.so only exists with the development files. */
#define NVML_LIBRARY "libnvidia-ml.so.1"

/* Devices looked at per sample. NVML counts every GPU in the machine, including ones we may not
 * open; this only bounds the loop against a broken count. */
#define NVML_DEVICES_SCAN_MAX 256

/* Per-process queries: at most this many entries are fetched (a GPU runs far fewer contexts), the
 * buffer gets some slack over the count NVML asked for because the list can grow between the
 * sizing call and the real one, and that race is retried a bounded number of times. */
#define PROCS_FETCH_MAX 4096
#define PROCS_SLACK     8
#define PROCS_ATTEMPTS  4

/* What a device is called when the driver will not say. */
#define NVML_UNNAMED "NVIDIA GPU"

struct nvml_seen {
    bool known;
    char name[sizeof(((struct hr_gpu *) NULL)->name)];
    char uuid[sizeof(((struct hr_gpu *) NULL)->uuid)];
};

struct nvml {
    void *dl;
    bool initialised;

    /* Resolved newest version first; NULL where the library lacks every version. */
    nvmlReturn_t (*sym_init)(void);
    nvmlReturn_t (*sym_shutdown)(void);
    const char *(*sym_error_string)(nvmlReturn_t e);
    nvmlReturn_t (*sym_driver_version)(char *version, unsigned len);
    nvmlReturn_t (*sym_device_count)(unsigned *count);
    nvmlReturn_t (*sym_device_handle)(unsigned index, nvmlDevice_t *dev);
    nvmlReturn_t (*sym_device_name)(nvmlDevice_t dev, char *name, unsigned len);
    nvmlReturn_t (*sym_device_uuid)(nvmlDevice_t dev, char *uuid, unsigned len);
    nvmlReturn_t (*sym_memory_v2)(nvmlDevice_t dev, nvmlMemory_v2_t *mem);
    nvmlReturn_t (*sym_memory_v1)(nvmlDevice_t dev, nvmlMemory_t *mem);
    nvmlReturn_t (*sym_utilization)(nvmlDevice_t dev, nvmlUtilization_t *util);
    nvmlReturn_t (*sym_temperature)(nvmlDevice_t dev, int sensor, unsigned *temp_c);
    /* _v3 or _v2 (24-byte entries) when present, else the unversioned call (16-byte entries). */
    nvmlReturn_t (*sym_procs_v2)(nvmlDevice_t dev, unsigned *count, nvmlProcessInfo_v2_t *infos);
    nvmlReturn_t (*sym_procs_v1)(nvmlDevice_t dev, unsigned *count, nvmlProcessInfo_v1_t *infos);

    char driver_version[NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE];

    /* Name and UUID by NVML index, so a device that is lost still says which one it was. */
    struct nvml_seen seen[HR_GPUS_MAX];
};

/* Assigns dlsym(name) to fp when fp is still NULL, so a chain of calls tries newest first. */
#define RESOLVE(n, fp, name)                            \
    do {                                                \
        if (!(fp))                                      \
            (fp) = (typeof(fp)) dlsym((n)->dl, (name)); \
    } while (0)

static const char *error_string(const struct nvml *n, nvmlReturn_t e)
{
    const char *s = n->sym_error_string ? n->sym_error_string(e) : NULL;

    return s ? s : "unknown error";
}

/* "The driver cannot tell us": the metric is absent, which is normal on consumer boards, in
 * containers without the right capabilities, and on virtual GPUs. */
static bool is_absent(nvmlReturn_t e)
{
    return e == NVML_ERROR_NOT_SUPPORTED || e == NVML_ERROR_NO_PERMISSION;
}

/* The device fell off the bus or needs a reset before it can run anything again. Both mean the
 * same to a scheduler: report it, never place work on it. */
static bool is_lost(nvmlReturn_t e)
{
    return e == NVML_ERROR_GPU_IS_LOST || e == NVML_ERROR_RESET_REQUIRED;
}

static void resolve_symbols(struct nvml *n)
{
    /* dlsym() does not see the header's "#define nvmlInit nvmlInit_v2" renames, so the versioned
     * names are spelled out here, newest first. */
    RESOLVE(n, n->sym_init, "nvmlInit_v2");
    RESOLVE(n, n->sym_init, "nvmlInit");
    RESOLVE(n, n->sym_shutdown, "nvmlShutdown");
    RESOLVE(n, n->sym_error_string, "nvmlErrorString");
    RESOLVE(n, n->sym_driver_version, "nvmlSystemGetDriverVersion");
    RESOLVE(n, n->sym_device_count, "nvmlDeviceGetCount_v2");
    RESOLVE(n, n->sym_device_count, "nvmlDeviceGetCount");
    RESOLVE(n, n->sym_device_handle, "nvmlDeviceGetHandleByIndex_v2");
    RESOLVE(n, n->sym_device_handle, "nvmlDeviceGetHandleByIndex");
    RESOLVE(n, n->sym_device_name, "nvmlDeviceGetName");
    RESOLVE(n, n->sym_device_uuid, "nvmlDeviceGetUUID");
    RESOLVE(n, n->sym_memory_v2, "nvmlDeviceGetMemoryInfo_v2");
    RESOLVE(n, n->sym_memory_v1, "nvmlDeviceGetMemoryInfo");
    RESOLVE(n, n->sym_utilization, "nvmlDeviceGetUtilizationRates");
    RESOLVE(n, n->sym_temperature, "nvmlDeviceGetTemperature");
    RESOLVE(n, n->sym_procs_v2, "nvmlDeviceGetComputeRunningProcesses_v3");
    RESOLVE(n, n->sym_procs_v2, "nvmlDeviceGetComputeRunningProcesses_v2");
    if (!n->sym_procs_v2)
        RESOLVE(n, n->sym_procs_v1, "nvmlDeviceGetComputeRunningProcesses");
}

struct nvml *nvml_free(struct nvml *n)
{
    if (!n)
        return NULL;
    /* NVML counts init calls; one shutdown per successful init releases our reference. */
    if (n->initialised && n->sym_shutdown)
        (void) n->sym_shutdown();
    if (n->dl)
        (void) dlclose(n->dl);
    free(n);
    return NULL;
}

static void nvml_freep(struct nvml **n)
{
    *n = nvml_free(*n);
}

int nvml_open(const char *path, struct nvml **ret)
{
    _cleanup_(nvml_freep) struct nvml *n = NULL;
    nvmlReturn_t e;

    if (!path) {
        /* secure_getenv: a library path from the environment must not count in a setuid or
         * otherwise elevated process. */
        const char *env = secure_getenv("HEADROOM_NVML_LIB");

        path = env && *env ? env : NVML_LIBRARY;
    }

    n = calloc(1, sizeof(*n));
    if (!n)
        return -ENOMEM;

    /* RTLD_NOW: fail here rather than in the middle of a sample. RTLD_LOCAL: keep NVML's symbols
     * out of the global namespace of the daemon. */
    n->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!n->dl) {
        log_debug("nvml: cannot load %s: %s", path, strna(dlerror()));
        return -ENOENT;
    }

    resolve_symbols(n);
    if (!n->sym_init || !n->sym_device_count || !n->sym_device_handle) {
        log_debug("nvml: %s lacks nvmlInit, nvmlDeviceGetCount or nvmlDeviceGetHandleByIndex",
                  path);
        return -EOPNOTSUPP;
    }

    e = n->sym_init();
    if (e != NVML_SUCCESS) {
        log_debug("nvml: init failed: %s (%d)", error_string(n, e), e);
        return -ENODEV;
    }
    n->initialised = true;

    if (n->sym_driver_version) {
        char v[NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE] = "";

        e = n->sym_driver_version(v, sizeof(v));
        if (e == NVML_SUCCESS)
            (void) gpu_copy_text(n->driver_version, sizeof(n->driver_version), v, sizeof(v));
        else
            log_debug("nvml: no driver version: %s (%d)", error_string(n, e), e);
    }

    log_debug("nvml: loaded %s, driver %s, process list %s", path,
              n->driver_version[0] ? n->driver_version : "unknown",
              n->sym_procs_v2   ? "with 24-byte entries"
              : n->sym_procs_v1 ? "with 16-byte entries"
                                : "not available");
    *ret = TAKE_PTR(n);
    return 0;
}

const char *nvml_driver_version(const struct nvml *n)
{
    return n ? n->driver_version : "";
}

static struct nvml_seen *seen_slot(struct nvml *n, unsigned nvml_index)
{
    return nvml_index < ELEMENTSOF(n->seen) ? &n->seen[nvml_index] : NULL;
}

/* Clears the metrics of g and marks it lost, keeping the identity last seen for that index. */
static void mark_lost(struct nvml *n, unsigned nvml_index, struct hr_gpu *g, nvmlReturn_t e)
{
    const struct nvml_seen *s = seen_slot(n, nvml_index);

    log_debug("nvml: GPU %u lost: %s (%d)", nvml_index, error_string(n, e), e);
    *g = (struct hr_gpu){ .vendor = "nvidia", .lost = true };
    if (s && s->known) {
        memcpy(g->name, s->name, sizeof(g->name));
        memcpy(g->uuid, s->uuid, sizeof(g->uuid));
    } else
        (void) gpu_copy_text(g->name, sizeof(g->name), NVML_UNNAMED, SIZE_MAX);
}

static nvmlReturn_t get_procs(struct nvml *n, nvmlDevice_t dev, unsigned *count, void *buf)
{
    if (n->sym_procs_v2)
        return n->sym_procs_v2(dev, count, buf);
    return n->sym_procs_v1(dev, count, buf);
}

static int cmp_proc_vram_desc(const void *a, const void *b)
{
    const struct hr_gpu_proc *x = a, *y = b;
    /* UINT64_MAX means "unknown": sort those last, the measured biggest users first. */
    uint64_t vx = x->vram_used_bytes == UINT64_MAX ? 0 : x->vram_used_bytes + 1;
    uint64_t vy = y->vram_used_bytes == UINT64_MAX ? 0 : y->vram_used_bytes + 1;

    if (vx != vy)
        return vx > vy ? -1 : 1;
    return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* Fills g->procs. The sizing protocol: a call with count 0 answers SUCCESS (nothing running) or
 * INSUFFICIENT_SIZE with the count needed; the list may grow before the second call, so retry a
 * few times with the new count. Returns the NVML result, NVML_ERROR_MEMORY when out of memory. */
static nvmlReturn_t read_procs(struct nvml *n, nvmlDevice_t dev, struct hr_gpu *g)
{
    size_t stride = n->sym_procs_v2 ? sizeof(nvmlProcessInfo_v2_t) : sizeof(nvmlProcessInfo_v1_t);
    _cleanup_free_ unsigned char *buf = NULL;
    _cleanup_free_ struct hr_gpu_proc *all = NULL;
    unsigned count = 0, cap = 0;
    nvmlReturn_t e;

    g->n_procs = 0;
    if (!n->sym_procs_v2 && !n->sym_procs_v1)
        return NVML_ERROR_FUNCTION_NOT_FOUND;

    e = get_procs(n, dev, &count, NULL);
    for (unsigned attempt = 0; e == NVML_ERROR_INSUFFICIENT_SIZE && attempt < PROCS_ATTEMPTS;
         attempt++) {
        /* size_t: a count near UINT_MAX from a broken library must not wrap into a small one. */
        size_t want = (size_t) MAX(count, cap) + PROCS_SLACK;
        unsigned char *nbuf;

        if (want > PROCS_FETCH_MAX) {
            log_debug("nvml: %u processes on one GPU, more than %u, not listing them", count,
                      PROCS_FETCH_MAX);
            return NVML_ERROR_INSUFFICIENT_SIZE;
        }
        nbuf = realloc(buf, want * stride);
        if (!nbuf)
            return NVML_ERROR_MEMORY;
        buf = nbuf;
        cap = (unsigned) want;
        count = cap;
        e = get_procs(n, dev, &count, buf);
    }
    if (e != NVML_SUCCESS)
        return e;
    /* On success count is the number of entries written; never trust it beyond the buffer. */
    count = MIN(count, cap);
    if (count == 0)
        return NVML_SUCCESS;

    all = calloc(count, sizeof(*all));
    if (!all)
        return NVML_ERROR_MEMORY;
    for (unsigned i = 0; i < count; i++) {
        unsigned long long used;
        unsigned pid;

        /* Both layouts start with pid and usedGpuMemory; only the stride differs. */
        if (n->sym_procs_v2) {
            const nvmlProcessInfo_v2_t *p = (const nvmlProcessInfo_v2_t *) (void *) buf + i;

            pid = p->pid;
            used = p->usedGpuMemory;
        } else {
            const nvmlProcessInfo_v1_t *p = (const nvmlProcessInfo_v1_t *) (void *) buf + i;

            pid = p->pid;
            used = p->usedGpuMemory;
        }
        all[i].pid = pid;
        all[i].vram_used_bytes = used == NVML_VALUE_NOT_AVAILABLE_ULL ? UINT64_MAX : used;
    }

    /* More processes than the snapshot holds: keep the biggest VRAM users, they are the ones
     * that explain where the memory went. */
    if (count > HR_GPU_PROCS_MAX) {
        qsort(all, count, sizeof(*all), cmp_proc_vram_desc);
        count = HR_GPU_PROCS_MAX;
    }
    memcpy(g->procs, all, count * sizeof(*all));
    g->n_procs = count;
    return NVML_SUCCESS;
}

/* Reads total and used VRAM. "Used" includes the driver's reservation in both versions: the v1
 * struct counts it as used, the v2 struct reports it apart and we add it back, because for
 * placing a new task reserved memory is as unavailable as memory in use. */
static nvmlReturn_t read_memory(struct nvml *n, nvmlDevice_t dev, struct hr_gpu *g)
{
    nvmlReturn_t e = NVML_ERROR_FUNCTION_NOT_FOUND;

    if (n->sym_memory_v2) {
        nvmlMemory_v2_t m = { .version = NVML_MEMORY_V2_VERSION };

        e = n->sym_memory_v2(dev, &m);
        if (e == NVML_SUCCESS) {
            g->vram_total_bytes = m.total;
            g->vram_used_bytes = m.used + m.reserved;
            return e;
        }
        if (is_lost(e))
            return e;
        /* Older drivers export the _v2 name but reject the version word; fall back. */
    }
    if (n->sym_memory_v1) {
        nvmlMemory_t m = { 0 };

        e = n->sym_memory_v1(dev, &m);
        if (e == NVML_SUCCESS) {
            g->vram_total_bytes = m.total;
            g->vram_used_bytes = m.used;
        }
    }
    return e;
}

/* Logs a failed optional query unless the driver simply does not offer it. */
static void log_query(const struct nvml *n, unsigned nvml_index, const char *what, nvmlReturn_t e)
{
    if (e != NVML_SUCCESS && !is_absent(e) && e != NVML_ERROR_FUNCTION_NOT_FOUND)
        log_debug("nvml: GPU %u %s: %s (%d)", nvml_index, what, error_string(n, e), e);
}

/* Samples NVML device nvml_index into *g. Returns 1 when *g was filled (possibly as lost), 0 when
 * the device is not ours to see (no permission) and is left out. */
static int sample_device(struct nvml *n, unsigned nvml_index, struct hr_gpu *g)
{
    struct nvml_seen *seen = seen_slot(n, nvml_index);
    char text[NVML_DEVICE_NAME_BUFFER_SIZE];
    nvmlUtilization_t util;
    nvmlDevice_t dev = NULL;
    unsigned temp_c;
    nvmlReturn_t e;

    e = n->sym_device_handle(nvml_index, &dev);
    if (e == NVML_ERROR_NO_PERMISSION) {
        /* A device hidden from us (a container's device cgroup) is not a device we can use. */
        log_debug("nvml: GPU %u not accessible, skipping", nvml_index);
        return 0;
    }
    if (e != NVML_SUCCESS) {
        /* Any other failure to even get a handle means the device is unusable: report it as lost
         * rather than letting it vanish from the list. */
        mark_lost(n, nvml_index, g, e);
        return 1;
    }

    *g = (struct hr_gpu){ .vendor = "nvidia" };

    e = n->sym_device_name ? n->sym_device_name(dev, text, sizeof(text))
                           : NVML_ERROR_FUNCTION_NOT_FOUND;
    if (is_lost(e))
        goto lost;
    log_query(n, nvml_index, "name", e);
    if (e == NVML_SUCCESS)
        (void) gpu_copy_text(g->name, sizeof(g->name), text, sizeof(text));
    else if (seen && seen->known)
        memcpy(g->name, seen->name, sizeof(g->name));
    if (!g->name[0])
        (void) gpu_copy_text(g->name, sizeof(g->name), NVML_UNNAMED, SIZE_MAX);

    e = n->sym_device_uuid ? n->sym_device_uuid(dev, text, sizeof(text))
                           : NVML_ERROR_FUNCTION_NOT_FOUND;
    if (is_lost(e))
        goto lost;
    log_query(n, nvml_index, "UUID", e);
    if (e == NVML_SUCCESS)
        (void) gpu_copy_text(g->uuid, sizeof(g->uuid), text, sizeof(text));
    else if (seen && seen->known)
        memcpy(g->uuid, seen->uuid, sizeof(g->uuid));

    if (seen) {
        seen->known = true;
        memcpy(seen->name, g->name, sizeof(seen->name));
        memcpy(seen->uuid, g->uuid, sizeof(seen->uuid));
    }

    e = read_memory(n, dev, g);
    if (is_lost(e))
        goto lost;
    log_query(n, nvml_index, "memory", e);

    e = n->sym_utilization ? n->sym_utilization(dev, &util) : NVML_ERROR_FUNCTION_NOT_FOUND;
    if (is_lost(e))
        goto lost;
    log_query(n, nvml_index, "utilization", e);
    if (e == NVML_SUCCESS) {
        g->has_util = true;
        g->util_pct = (double) MIN(util.gpu, 100u);
    }

    e = n->sym_temperature ? n->sym_temperature(dev, NVML_TEMPERATURE_GPU, &temp_c)
                           : NVML_ERROR_FUNCTION_NOT_FOUND;
    if (is_lost(e))
        goto lost;
    log_query(n, nvml_index, "temperature", e);
    if (e == NVML_SUCCESS && temp_c <= 1000) {
        g->has_temperature = true;
        g->temperature_c = (int) temp_c;
    }

    e = read_procs(n, dev, g);
    if (is_lost(e))
        goto lost;
    log_query(n, nvml_index, "processes", e);
    return 1;

lost:
    mark_lost(n, nvml_index, g, e);
    return 1;
}

int nvml_sample(struct nvml *n, struct hr_gpu *gpus, unsigned max)
{
    unsigned count = 0, filled = 0;
    nvmlReturn_t e;

    if (!n || max == 0)
        return 0;

    e = n->sym_device_count(&count);
    if (e != NVML_SUCCESS) {
        log_debug("nvml: device count failed: %s (%d)", error_string(n, e), e);
        return 0;
    }
    count = MIN(count, (unsigned) NVML_DEVICES_SCAN_MAX);

    for (unsigned i = 0; i < count && filled < max; i++) {
        if (sample_device(n, i, &gpus[filled]) <= 0)
            continue;
        gpus[filled].index = filled;
        filled++;
    }
    return (int) filled;
}
