/* SPDX-License-Identifier: MIT */
#pragma once

/* The sampler turns the host's proc and sys files and statvfs readings into one hr_snapshot
 * (GPUs are filled in separately by the daemon from src/gpu, so a slow driver never delays the
 * rest). It keeps the fds of the files it re-reads each tick and the previous counters for rates.
 * All paths are read below root_fd, so a fixture tree works exactly like "/". */

#include "metrics/snapshot.h"

struct sampler;

struct sampler_options {
    int root_fd;              /* borrowed; "/" in production */
    unsigned n_paths;         /* disk paths to statvfs (resolved below root_fd) */
    const char *const *paths;
};

/* Creates a sampler. Missing optional sources (PSI, cgroup files, diskstats) are not errors:
 * they are reported as absent in the snapshot. Returns 0, -ENOMEM, or -errno when a mandatory
 * source (proc/stat, proc/meminfo) cannot be opened; -EINVAL for a negative root_fd, more than
 * HR_DISKS_MAX paths or an empty path, -ENAMETOOLONG for a path of HR_PATH_MAX bytes or more.
 * The paths are copied. Logs at debug only. */
int sampler_new(const struct sampler_options *o, struct sampler **ret);

/* Takes one sample into *ret (fully overwritten). Rates and CPU percentages need two samples: the
 * first call returns with ret->valid = false and zero rates. mono_usec/real_usec are passed in so
 * tests control time. Returns 0, or -EBADMSG/-errno when a mandatory source failed (the previous
 * snapshot should then be kept by the caller).
 *
 * Details: *ret is not touched at all on failure. On success n_gpus is 0, so the caller fills GPUs
 * after this call. A mono_usec not later than the previous sample's gives valid = false and zero
 * rates (no error). A counter that went backwards gives a zero rate for that tick. A failing
 * optional source reads as absent/zero for that tick only. */
int sampler_sample(struct sampler *s, usec_t mono_usec, usec_t real_usec, struct hr_snapshot *ret);

/* Describes the sources found at start-up, for the start-up log, e.g.
 * "cgroup: v1 memory (limit 2.0 GiB), cpu host; psi: yes" or "...; psi: cpu io" when only some
 * PSI files work. GPUs are not the sampler's and are not mentioned. The string is owned by the
 * sampler and lives as long as it. */
const char *sampler_describe(const struct sampler *s);

/* Closes every kept fd and frees the sampler. Takes NULL; returns NULL. */
struct sampler *sampler_free(struct sampler *s);
