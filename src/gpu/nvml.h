/* SPDX-License-Identifier: MIT */
#pragma once

/* NVIDIA backend of the GPU probe, private to src/gpu. It dlopen()s libnvidia-ml and reads every
 * metric through sym_ pointers resolved newest-version-first, so one binary runs against any
 * driver from the last decade and against the fakes in tests/fakes. */

#include "metrics/snapshot.h"

struct nvml;

/* Loads the library at path (NULL = $HEADROOM_NVML_LIB when set and non-empty, else
 * "libnvidia-ml.so.1"), resolves the symbols and initialises NVML. On success *ret owns the
 * library handle and one NVML init reference. Returns 0; -ENOENT when the library cannot be
 * loaded; -EOPNOTSUPP when a mandatory symbol (init, count, handle) is missing; -ENODEV when
 * nvmlInit fails (no driver, no device node); -ENOMEM. Logs at debug only. */
int nvml_open(const char *path, struct nvml **ret);

/* Fills up to max entries (index and vendor included; index counts from 0 in NVML order) and
 * returns how many, ≥ 0. The device count is re-read on every call. A device whose queries
 * fail with GPU_IS_LOST is reported with lost = true and the name and UUID last seen for it.
 * Metrics the driver does not support or does not let us read are left absent. Logs at debug. */
int nvml_sample(struct nvml *n, struct hr_gpu *gpus, unsigned max);

/* The driver version string NVML reported at open, "" when unknown. Borrowed from n. */
const char *nvml_driver_version(const struct nvml *n);

/* Shuts NVML down and unloads the library. Takes NULL. Returns NULL. */
struct nvml *nvml_free(struct nvml *n);
