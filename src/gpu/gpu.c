/* SPDX-License-Identifier: MIT */
#include "gpu/gpu.h"

#include <assert.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "gpu/amdgpu.h"
#include "gpu/nvml.h"

struct gpu_probe {
    /* NULL when NVML is off, absent or failed to initialise. */
    struct nvml *nvml;
    /* The AMD scan runs below our own duplicate of options->root_fd; amd is false without it. */
    bool amd;
    int root_fd;
    /* Devices per vendor in the last sample, for the description, which is rebuilt with it. */
    unsigned n_nvidia, n_amd;
    char description[160];
};

struct gpu_probe *gpu_probe_free(struct gpu_probe *p)
{
    if (!p)
        return NULL;
    p->nvml = nvml_free(p->nvml);
    if (p->root_fd >= 0)
        (void) close(p->root_fd);
    free(p);
    return NULL;
}

static void gpu_probe_freep(struct gpu_probe **p)
{
    *p = gpu_probe_free(*p);
}

static void describe(struct gpu_probe *p)
{
    const char *driver = p->nvml ? nvml_driver_version(p->nvml) : "";
    size_t len = 0;
    int k;

    p->description[0] = '\0';
    if (p->nvml) {
        if (driver[0])
            k = snprintf(p->description, sizeof(p->description), "nvml %u GPU%s (driver %s)",
                         p->n_nvidia, p->n_nvidia == 1 ? "" : "s", driver);
        else
            k = snprintf(p->description, sizeof(p->description), "nvml %u GPU%s", p->n_nvidia,
                         p->n_nvidia == 1 ? "" : "s");
        len = k < 0 ? 0 : MIN((size_t) k, sizeof(p->description) - 1);
    }
    if (p->n_amd > 0)
        (void) snprintf(p->description + len, sizeof(p->description) - len, "%samdgpu %u GPU%s",
                        len > 0 ? ", " : "", p->n_amd, p->n_amd == 1 ? "" : "s");
    if (!p->description[0])
        (void) snprintf(p->description, sizeof(p->description), "none");
}

int gpu_probe_new(const struct gpu_probe_options *o, struct gpu_probe **ret)
{
    _cleanup_(gpu_probe_freep) struct gpu_probe *p = NULL;
    _cleanup_free_ struct hr_gpu *scratch = NULL;
    int r;

    assert(o);
    assert(ret);

    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->root_fd = -EBADF;

    if (o->nvidia) {
        r = nvml_open(o->nvml_path, &p->nvml);
        if (r == -ENOMEM)
            return r;
        if (r < 0)
            log_debug_errno(r, "gpu: NVIDIA GPUs not available: %m");
    }

    if (o->amd) {
        /* Keep our own reference to the root so the caller's fd may close before we do. A
         * negative fd means the real root. */
        if (o->root_fd >= 0)
            p->root_fd = fcntl(o->root_fd, F_DUPFD_CLOEXEC, 3);
        else
            p->root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (p->root_fd < 0) {
            r = negative_errno();
            if (r == -ENOMEM)
                return r;
            log_debug_errno(r, "gpu: cannot keep the root directory, AMD GPUs not scanned: %m");
        } else
            p->amd = true;
    }

    /* One sample now, so the description names what is there from the start. */
    scratch = calloc(HR_GPUS_MAX, sizeof(*scratch));
    if (!scratch)
        return -ENOMEM;
    (void) gpu_probe_sample(p, scratch, HR_GPUS_MAX);
    log_debug("gpu: %s", p->description);

    *ret = TAKE_PTR(p);
    return 0;
}

int gpu_probe_sample(struct gpu_probe *p, struct hr_gpu *gpus, unsigned max)
{
    unsigned n = 0;
    int k;

    assert(p);
    assert(gpus || max == 0);

    max = MIN(max, (unsigned) HR_GPUS_MAX);
    p->n_nvidia = p->n_amd = 0;

    if (p->nvml && n < max) {
        k = nvml_sample(p->nvml, gpus + n, max - n);
        if (k > 0) {
            p->n_nvidia = (unsigned) k;
            n += (unsigned) k;
        }
    }
    if (p->amd && n < max) {
        k = amdgpu_sample(p->root_fd, gpus + n, max - n);
        if (k > 0) {
            p->n_amd = (unsigned) k;
            n += (unsigned) k;
        }
    }

    /* One numbering across vendors: NVIDIA in NVML order, then AMD in card order. */
    for (unsigned i = 0; i < n; i++)
        gpus[i].index = i;

    describe(p);
    return (int) n;
}

const char *gpu_probe_describe(const struct gpu_probe *p)
{
    return p ? p->description : "none";
}
