/* SPDX-License-Identifier: MIT */
#pragma once

/* The sampler turns the host's /proc, /sys and statvfs readings into one hr_snapshot (GPUs are
 * filled in separately by the daemon from src/gpu, so a slow driver never delays the rest). It
 * keeps the fds of the files it re-reads each tick and the previous counters for rates. All paths
 * are read below root_fd, so a fixture tree works exactly like "/". */

#include "metrics/snapshot.h"

struct sampler;

struct sampler_options {
    int root_fd;              /* borrowed; "/" in production */
    unsigned n_paths;         /* disk paths to statvfs (resolved below root_fd) */
    const char *const *paths;
};

/* Creates a sampler. Missing optional sources (PSI, cgroup files, diskstats) are not errors:
 * they are reported as absent in the snapshot. Returns 0, -ENOMEM, or -errno when a mandatory
 * source (proc/stat, proc/meminfo) cannot be opened. Logs at debug only. */
int sampler_new(const struct sampler_options *o, struct sampler **ret);

/* Takes one sample into *ret (fully overwritten). Rates and CPU percentages need two samples: the
 * first call returns with ret->valid = false and zero rates. mono_usec/real_usec are passed in so
 * tests control time. Returns 0, or -EBADMSG/-errno when a mandatory source failed (the previous
 * snapshot should then be kept by the caller). */
int sampler_sample(struct sampler *s, usec_t mono_usec, usec_t real_usec, struct hr_snapshot *ret);

/* Describes the sources in use for the start-up log ("psi yes, cgroup v1 memory, gpu none"). */
const char *sampler_describe(const struct sampler *s);

struct sampler *sampler_free(struct sampler *s);
