/* SPDX-License-Identifier: MIT */
#pragma once

/* The admission decision as a pure function: numbers in, a verdict and every number behind it out.
 * No I/O, no clock, no globals, so every rule is unit-tested on exact values.
 *
 * Rules (capfox-compatible, strict comparisons as capfox has them):
 * "Use" below is current use plus what leases of admitted tasks reserve.
 *   cpu_overload      cpu + need_cpu                > cpu_max_pct
 *   memory_overload   used% + need (bytes or %)      > memory_max_pct
 *   memory_pressure   PSI memory some avg10          > memory_max_pressure_pct (0 = off)
 *   gpu_overload      no GPU with util + need_gpu    ≤ gpu_max_pct
 *   vram_overload     no such GPU with vram% + need  ≤ vram_max_pct
 *                     (a GPU held by a lease counts for a task that needs a GPU only when
 *                     gpu_shareable; a lost GPU never counts)
 *   storage_low       any path: free - need_disk     < storage_min_free_bytes (need on paths[0])
 * Reasons come out in that order. A GPU rule only applies when GPUs exist. */

#include <stdbool.h>
#include <stdint.h>

#define DECIDE_GPUS_MAX  16
#define DECIDE_DISKS_MAX 16
#define DECIDE_CHECKS_MAX (3 + 2 * DECIDE_GPUS_MAX + DECIDE_DISKS_MAX)

enum resource {
    RESOURCE_CPU,
    RESOURCE_MEMORY,
    RESOURCE_MEMORY_PRESSURE,
    RESOURCE_GPU,
    RESOURCE_VRAM,
    RESOURCE_STORAGE,
    _RESOURCE_MAX,
    _RESOURCE_INVALID = -22,
};

/* "cpu", "memory", "memory_pressure", "gpu", "vram", "storage" */
const char *resource_to_string(enum resource r);
/* "cpu_overload", "memory_overload", "memory_pressure", "gpu_overload", "vram_overload",
 * "storage_low" */
const char *resource_reason(enum resource r);

struct decide_gpu {
    double util_pct;
    uint64_t vram_used_bytes, vram_total_bytes;
    /* Held on this GPU by leases of admitted GPU tasks whose use does not show yet. */
    double reserved_util_pct;
    uint64_t reserved_vram_bytes;
    bool lost;
    /* A lease of an admitted task holds this GPU (lease_table_apply_gpus()): unless GPUs are
     * shareable, no other task that needs a GPU is placed on it. */
    bool held;
};

struct decide_disk {
    const char *path;       /* borrowed */
    int error;              /* statvfs failed: the path counts as having no free space */
    uint64_t free_bytes;    /* f_bavail-based */
    uint64_t total_bytes;
};

/* What the task says it needs on top of the current use. Zero means "nothing declared". */
struct decide_need {
    double cpu_pct;          /* percent of the machine's CPU capacity */
    uint64_t mem_bytes;
    double mem_pct;          /* capfox's resources.memory: percent of memory */
    double gpu_pct;
    uint64_t vram_bytes;
    double vram_pct;
    uint64_t disk_bytes;     /* on the first monitored path */
};

struct decide_input {
    double cpu_pct;
    double mem_used_pct;
    uint64_t mem_total_bytes;
    uint64_t mem_available_bytes;
    bool has_memory_pressure;
    double memory_pressure_pct;
    unsigned n_gpus;
    struct decide_gpu gpus[DECIDE_GPUS_MAX];
    unsigned n_disks;
    struct decide_disk disks[DECIDE_DISKS_MAX];
    /* Held by admitted tasks whose use does not show yet (leases): CPU, memory (bytes or
     * percent) and disk on the first path. Counted like current use. GPU reservations are per
     * GPU, in gpus[]; the GPU fields here only total them for display. */
    struct decide_need reserved;
};

struct decide_thresholds {
    double cpu_max_pct;
    double memory_max_pct;
    double memory_max_pressure_pct; /* 0 disables */
    double gpu_max_pct;
    double vram_max_pct;
    uint64_t storage_min_free_bytes;
    bool gpu_shareable;              /* a GPU held by a lease may be given to another task too */
};



struct decide_check {
    enum resource resource;
    int index;               /* GPU index or disk index; -1 otherwise */
    bool percent;            /* values are percent (true) or bytes (false) */
    double current;          /* what is in use now (storage: free bytes now) */
    double reserved;         /* held by leases of admitted tasks, on top of current */
    double need;             /* what the task adds (storage: bytes it will write) */
    double projected;        /* current + need (storage: free - need) */
    double limit;            /* the threshold (storage: minimum free bytes) */
    double headroom;         /* limit - projected (storage: projected - limit); < 0 = over */
    bool ok;
};

struct decision {
    bool allowed;
    unsigned n_reasons;
    enum resource reasons[_RESOURCE_MAX];
    unsigned n_checks;
    struct decide_check checks[DECIDE_CHECKS_MAX];
    int binding;             /* index in checks of the tightest check (least headroom relative to
                              * its limit), -1 when there are no checks */
    int gpu_choice;          /* the GPU a GPU task would go to, -1 if none fits or none exists */
};

/* Decides. Always succeeds for valid pointers; fills *ret completely. */
void decide(const struct decide_input *in, const struct decide_thresholds *t,
            const struct decide_need *need, struct decision *ret);

/* The GPUs a task that needs several would go to. */
struct gpu_pick {
    unsigned n_fit;                  /* GPUs that pass both checks and are free to take */
    unsigned n_util_fit;             /* of the GPUs free to take, those with utilization room */
    int gpus[DECIDE_GPUS_MAX];       /* the n_fit fitting GPUs, most headroom first (ties: the
                                      * lower index first) */
};

/* Ranks the GPUs for a task that needs need (per GPU) on each of several GPUs. A GPU fits when it
 * is not lost, not in held_mask (bit i: GPU i is held by a lease of another task; ignored when
 * t->gpu_shareable), and passes decide()'s GPU and VRAM checks with need. The headroom that ranks
 * them is decide()'s: the smaller of the two checks' headroom relative to its limit. A caller
 * wanting n GPUs takes gpus[0..n) when n_fit >= n; otherwise the reason is gpu_overload when
 * n_util_fit < n, else vram_overload. Pure; always succeeds for valid pointers. */
void decide_pick_gpus(const struct decide_input *in, const struct decide_thresholds *t,
                      const struct decide_need *need, uint64_t held_mask, struct gpu_pick *ret);
