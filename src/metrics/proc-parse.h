/* SPDX-License-Identifier: MIT */
#pragma once

/* Pure parsers for the proc files the sampler reads. Each takes a buffer and its length; none
 * needs a NUL terminator, none reads past n, none allocates, does I/O or logs.
 *
 * Rules shared by every parser here (the tests pin each of them down):
 * - Files are parsed by key, never by line position; unknown keys and lines are ignored, so newer
 *   kernels that add fields keep working.
 * - A key we use that appears twice is -EBADMSG: the kernel never repeats one, so a repeat means
 *   the file is not what we think it is.
 * - A number that does not fit in 64 bits is -ERANGE (never saturated or wrapped).
 * - Anything else malformed (a missing mandatory key, a short line, a stray byte inside a number,
 *   empty input where content is required) is -EBADMSG.
 * - ret is written only on success (proc_stat_parse documents its one exception). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics/snapshot.h"

/* ---- proc/stat: Documentation/filesystems/proc.rst, "Miscellaneous kernel statistics" */

/* One "cpu" line, in USER_HZ ticks. guest and guest_nice are not kept: the kernel already counts
 * them inside user and nice. Fields missing on old kernels (steal before 2.6.11) read as 0. */
struct proc_stat_cpu {
    uint64_t user, nice, system, idle, iowait, irq, softirq, steal;
};

struct proc_stat {
    struct proc_stat_cpu total; /* the aggregate "cpu" line (mandatory) */
    unsigned n_cpus;            /* "cpuN" lines seen, including those past HR_CPUS_MAX */
    unsigned n_cores;           /* entries stored in core[]/core_id[]: min(n_cpus, HR_CPUS_MAX) */
    bool has_ctxt, has_procs_running, has_procs_blocked;
    uint64_t ctxt_total; /* context switches since boot */
    uint64_t procs_running, procs_blocked;
    unsigned core_id[HR_CPUS_MAX]; /* N of "cpuN"; strictly increasing */
    struct proc_stat_cpu core[HR_CPUS_MAX];
};

/* Parses proc/stat. The aggregate "cpu" line needs at least user, nice, system and idle; a cpuN
 * line the same. "ctxt", "procs_running" and "procs_blocked" are optional (has_* says whether
 * they were there) so that partial emulations of the file still give CPU figures. cpuN numbers
 * must be strictly increasing, which is how the kernel prints them; a repeat is -EBADMSG.
 *
 * Exception to the ret rule: struct proc_stat is ~70 KiB, too big to stage on the stack, so on
 * failure ret->core[] and ret->core_id[] may have been overwritten; all other fields of *ret are
 * still written only on success. Returns 0, -EBADMSG, or -ERANGE. */
int proc_stat_parse(const char *buf, size_t n, struct proc_stat *ret);

/* Busy percentage between two readings of the same CPU line: 100 * Δbusy / Δtotal, where
 * busy = user + nice + system + irq + softirq + steal and idle = idle + iowait. Each field's delta
 * is clamped at 0 first (per-CPU iowait is known to go backwards). Returns 0 when no time passed.
 * The result is always within 0..100. */
double proc_stat_cpu_busy_pct(const struct proc_stat_cpu *prev, const struct proc_stat_cpu *cur);

/* Fills ret_pct[0..cur->n_cores) with each core's busy percentage against prev, matching cores by
 * their cpuN number (a core that was offline in prev reads 0). Returns cur->n_cores. */
unsigned
proc_stat_core_pct(const struct proc_stat *prev, const struct proc_stat *cur, double *ret_pct);

/* ---- proc/meminfo: Documentation/filesystems/proc.rst, "meminfo" */

struct meminfo {
    uint64_t mem_total_bytes;
    uint64_t mem_free_bytes;
    uint64_t mem_available_bytes;
    uint64_t buffers_bytes, cached_bytes;
    uint64_t swap_total_bytes, swap_free_bytes;
    bool mem_available_estimated; /* no MemAvailable line (kernel < 3.14): estimated */
};

/* Parses proc/meminfo (values in kB, converted to bytes). MemTotal (non-zero) and MemFree are
 * mandatory. When MemAvailable is absent it is estimated as MemFree + Buffers + Cached (capped at
 * MemTotal) and mem_available_estimated is set; this over-counts slightly because part of the page
 * cache is not reclaimable, which is why the kernel added the real figure. Missing swap lines read
 * as 0. A used key whose unit is not "kB" is -EBADMSG; a value whose byte count overflows is
 * -ERANGE. */
int meminfo_parse(const char *buf, size_t n, struct meminfo *ret);

/* ---- proc/pressure/{cpu,memory,io} and cgroup *.pressure: Documentation/accounting/psi.rst */

/* Parses a PSI file: a mandatory "some" line and an optional "full" line (absent for cpu before
 * 5.13), each with avg10=, avg60=, avg300= (percent, 0..100) and total= (µs). Unknown line types
 * and unknown keys are ignored; a missing key, a repeated key or line, or an average outside
 * 0..100 is an error (-EBADMSG, or -ERANGE for the average). Sets ret->available = true. */
int psi_parse(const char *buf, size_t n, struct psi_stats *ret);

/* ---- proc/loadavg: proc(5) */

struct loadavg {
    double load1, load5, load15;
    uint64_t runnable; /* "running" of "running/total" */
    uint64_t threads;  /* "total": scheduling entities that exist */
};

/* Parses "0.12 0.12 0.05 1/91 4237". This file has no keys, so position is the format: four
 * fields are mandatory, the last PID and anything after it are ignored. */
int loadavg_parse(const char *buf, size_t n, struct loadavg *ret);

/* ---- proc/diskstats: Documentation/admin-guide/iostats.rst */

/* Decides whether a device name is a whole disk (the sampler asks sys/block). name is a
 * NUL-terminated copy, valid for the call only. */
typedef bool (*diskstats_is_disk_t)(const char *name, void *userdata);

struct diskstats_totals {
    uint64_t read_bytes;    /* Σ sectors read × 512, modulo 2^64 */
    uint64_t written_bytes; /* Σ sectors written × 512, modulo 2^64 */
    unsigned n_disks;       /* lines that were counted */
};

/* Whether a device name is one we never count: loop*, ram*, zram*. Their I/O is memory traffic or
 * lands on a real disk that is counted already. */
bool diskstats_name_is_virtual(const char *name);

/* Sums the sector counters of whole disks. Lines have 14 (kernel < 4.18), 18 (4.18+, discards) or
 * 20 (5.5+, flushes) fields; any count ≥ 14 is accepted, fewer is -EBADMSG. Virtual devices are
 * skipped first; then is_disk(name, userdata) decides (NULL: every remaining name counts).
 * Sectors are always 512 bytes whatever the device's block size. The sums wrap modulo 2^64 rather
 * than saturate, so a wrap shows up as one decreasing reading (which the rate code ignores) instead
 * of a counter stuck at the maximum. Device names longer than 63 bytes are -EBADMSG. Each line is
 * a record of its own: the kernel prints every device once, and a repeated name is summed again.
 * Empty input is valid (no disks). */
int diskstats_parse(const char *buf,
                    size_t n,
                    diskstats_is_disk_t is_disk,
                    void *userdata,
                    struct diskstats_totals *ret);

/* ---- proc/net/dev: Documentation/filesystems/proc.rst, "Networking info" */

struct net_dev_totals {
    uint64_t rx_bytes, tx_bytes; /* modulo 2^64, as for diskstats */
    unsigned n_interfaces;       /* interfaces counted (lo excluded) */
};

/* Sums receive and transmit bytes over every interface except "lo". Each line is split at the
 * first ':' before anything else, because a large counter can touch the colon
 * ("eth0:123456789"). Lines without a colon are the two header lines and are skipped. At least 16
 * counters must follow the colon. Each line is a record of its own (see diskstats). Empty input is
 * valid (no interfaces). */
int net_dev_parse(const char *buf, size_t n, struct net_dev_totals *ret);
