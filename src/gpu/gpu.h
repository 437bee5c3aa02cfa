/* SPDX-License-Identifier: MIT */
#pragma once

/* GPU discovery and sampling: NVIDIA through a dlopen()ed libnvidia-ml.so.1 (no build-time
 * dependency, no headers from NVIDIA), AMD through the amdgpu sysfs files. A machine without
 * either simply has no GPUs: that is not an error. */

#include "metrics/snapshot.h"

struct gpu_probe;

struct gpu_probe_options {
    int root_fd;           /* the --root tree; sysfs is read below it */
    const char *nvml_path; /* NULL = $HEADROOM_NVML_LIB, else "libnvidia-ml.so.1" */
    bool nvidia;           /* try NVML */
    bool amd;              /* scan /sys/class/drm */
};

/* Creates a probe. Never fails because GPUs or libraries are missing: it returns 0 with a probe
 * that reports 0 GPUs. Returns -ENOMEM only. Logs at debug level what it found and why not. */
int gpu_probe_new(const struct gpu_probe_options *o, struct gpu_probe **ret);

/* Fills up to max entries of gpus, NVIDIA first then AMD, index numbered 0.. in that order.
 * Returns the number filled (≥ 0); a device that fails mid-run is reported with lost = true
 * rather than dropped. Never blocks longer than the driver calls themselves. */
int gpu_probe_sample(struct gpu_probe *p, struct hr_gpu *gpus, unsigned max);

/* A short description for logs and /status: "nvml 2 GPUs (driver 550.54)", "none". Borrowed. */
const char *gpu_probe_describe(const struct gpu_probe *p);

/* Frees the probe, calls nvmlShutdown and dlclose as needed. Takes NULL. Returns NULL. */
struct gpu_probe *gpu_probe_free(struct gpu_probe *p);
