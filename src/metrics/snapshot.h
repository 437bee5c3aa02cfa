/* SPDX-License-Identifier: MIT */
#pragma once

/* The one picture of the machine that every consumer (decision, API, Prometheus, learning) reads.
 * The sampler fills it; nothing else writes it except the debug injection overlay in the daemon.
 * Plain data, fixed size, copyable with '='. Units are in the names. */

#include <stdbool.h>
#include <stdint.h>

#include "basic/time-util.h"

#define HR_CPUS_MAX      1024 /* per-core array bound; more CPUs are summed into the total only */
#define HR_GPUS_MAX      16
#define HR_GPU_PROCS_MAX 32
#define HR_DISKS_MAX     16   /* configured monitoring paths */
#define HR_PATH_MAX      256

enum psi_resource {
    PSI_CPU,
    PSI_MEMORY,
    PSI_IO,
    _PSI_RESOURCE_MAX,
    _PSI_RESOURCE_INVALID = -22,
};

struct psi_line {
    double avg10, avg60, avg300; /* percent of wall time */
    uint64_t total_usec;
};

struct psi_stats {
    bool available;              /* file present and readable */
    bool has_full;
    struct psi_line some, full;
};

struct hr_disk {
    char path[HR_PATH_MAX];
    int error;                   /* 0, or -errno from statvfs (the path is reported, never dropped) */
    bool readonly;
    uint64_t total_bytes;        /* f_blocks * f_frsize */
    uint64_t free_bytes;         /* f_bavail * f_frsize: what an unprivileged job can use */
    uint64_t free_root_bytes;    /* f_bfree * f_frsize: includes the root reserve */
    uint64_t used_bytes;         /* total - free_root (df's "Used") */
};

struct hr_gpu_proc {
    uint32_t pid;
    uint64_t vram_used_bytes;    /* UINT64_MAX when the driver does not say */
};

struct hr_gpu {
    unsigned index;
    char vendor[8];              /* "nvidia", "amd", "debug" */
    char name[96];
    char uuid[96];
    bool has_util;
    double util_pct;
    uint64_t vram_used_bytes, vram_total_bytes;
    bool has_temperature;
    int temperature_c;
    bool lost;                   /* NVML said GPU_IS_LOST: reported, never admitted onto */
    unsigned n_procs;
    struct hr_gpu_proc procs[HR_GPU_PROCS_MAX];
};

enum cgroup_mode {
    CGROUP_MODE_NONE,            /* no cgroup information at all */
    CGROUP_MODE_V1,              /* only v1 controllers (hybrid hosts) */
    CGROUP_MODE_V2,
    _CGROUP_MODE_MAX,
};

/* The modes say which hierarchy a figure was read from on this tick (NONE when there was no such
 * cgroup file or it could not be read, in which case the host's figures apply). */
struct hr_cgroup_info {
    enum cgroup_mode memory_mode; /* where the memory limit/usage came from */
    enum cgroup_mode cpu_mode;    /* where the CPU quota came from */
    /* Our cgroup path as proc/self/cgroup lists it: the v1 memory one when memory_mode is v1,
     * else the v2 one ("" when unknown). */
    char path[HR_PATH_MAX];
    bool memory_limited;         /* a finite limit below the host's RAM */
    uint64_t memory_limit_bytes; /* UINT64_MAX = unlimited (v1's page-rounded LONG_MAX included) */
    uint64_t memory_usage_bytes; /* usage as the cgroup reports it, page cache included */
    bool cpu_limited;            /* a quota below the CPUs we may run on */
    double cpu_quota_cores;      /* quota/period; 0 when unlimited */
};

struct hr_snapshot {
    bool valid;                  /* true once two samples gave rates and CPU deltas */
    usec_t mono_usec;            /* CLOCK_MONOTONIC of the sample */
    usec_t real_usec;            /* CLOCK_REALTIME of the sample */
    uint64_t seq;                /* sample counter */

    /* CPU: percent of the capacity we may use (cgroup quota when set, else all online CPUs). */
    double cpu_pct;
    double cpu_capacity_cores;
    unsigned n_cpus;             /* online CPUs seen in proc/stat (at least 1) */
    unsigned n_cpu_pct;          /* entries filled in cpu_core_pct (≤ HR_CPUS_MAX) */
    double cpu_core_pct[HR_CPUS_MAX];
    double load1, load5, load15;

    /* Memory: the capacity and use that apply to us (cgroup limit when set, else the host). */
    uint64_t mem_total_bytes;
    uint64_t mem_available_bytes;
    uint64_t mem_used_bytes;     /* total - available (under a limit: usage - inactive_file, or more
                                  * when the host has less available than the limit leaves) */
    double mem_used_pct;         /* 100 * (1 - available/total) */
    uint64_t host_mem_total_bytes;
    uint64_t host_mem_available_bytes;
    uint64_t swap_total_bytes, swap_free_bytes;

    struct psi_stats psi[_PSI_RESOURCE_MAX];

    unsigned n_disks;
    struct hr_disk disks[HR_DISKS_MAX];
    double disk_read_bytes_per_sec, disk_write_bytes_per_sec;
    double net_rx_bytes_per_sec, net_tx_bytes_per_sec;

    uint64_t processes;          /* PIDs in the proc directory, recounted at most every 10 s */
    uint64_t threads;            /* scheduling entities, proc/loadavg field 4 */
    uint64_t procs_running, procs_blocked;
    double ctxt_per_sec;         /* real context switches, proc/stat ctxt delta */

    unsigned n_gpus;
    struct hr_gpu gpus[HR_GPUS_MAX];

    struct hr_cgroup_info cgroup;
};

const char *psi_resource_to_string(enum psi_resource r);
const char *cgroup_mode_to_string(enum cgroup_mode m);
