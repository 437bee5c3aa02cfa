/* SPDX-License-Identifier: MIT */
#pragma once

/* Pure parsers for finding our cgroup and reading its limits, for both cgroup v2
 * (Documentation/admin-guide/cgroup-v2.rst) and the v1 memory, cpu and cpuacct controllers
 * (Documentation/admin-guide/cgroup-v1/memory.rst, Documentation/scheduler/sched-bwc.rst).
 * The rules of proc-parse.h apply: (buf, n) with no NUL terminator needed, no reads past n, no
 * I/O, no logging, a repeated key we use is -EBADMSG, a number over 64 bits is -ERANGE, and ret
 * is written only on success. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bound for cgroup paths and cgroup mount points. Real ones are far shorter (systemd keeps unit
 * names under 256 bytes); a longer one is reported as -ENAMETOOLONG and the sampler falls back to
 * host values. */
#define CGROUP_PATH_MAX 1024

/* cgroup v1 hands out memory.limit_in_bytes = LONG_MAX rounded down to the page size as
 * "unlimited" (9223372036854771712 with 4 KiB pages). Anything at or above 2^63 - 1 MiB covers
 * every page size up to 1 MiB. */
#define CGROUP_V1_UNLIMITED_MIN_BYTES (UINT64_C(0x8000000000000000) - UINT64_C(0x100000))

/* The hierarchies we look for: the unified (v2) one, and the v1 controllers that carry memory and
 * CPU limits and usage. On a v2-only host only the first is found; on a hybrid host all four. */
enum cgroup_hierarchy {
    CGROUP_HIERARCHY_UNIFIED,
    CGROUP_HIERARCHY_MEMORY,
    CGROUP_HIERARCHY_CPU,
    CGROUP_HIERARCHY_CPUACCT,
    _CGROUP_HIERARCHY_MAX,
    _CGROUP_HIERARCHY_INVALID = -EINVAL,
};

/* Our place in each hierarchy, from proc/self/cgroup. */
struct cgroup_membership {
    bool found[_CGROUP_HIERARCHY_MAX];
    char path[_CGROUP_HIERARCHY_MAX][CGROUP_PATH_MAX];
};

/* Parses proc/self/cgroup (see cgroups(7)): "0::/path" for v2 and
 * "N:controller[,controller...]:/path" for v1 ("name=systemd" and other controllers are ignored).
 * The path is everything after the second ':', so it may itself contain ':'. Paths must start
 * with '/'; they may contain ".." components when we live outside our cgroup namespace's root
 * (cgroup_dir_path refuses those). A hierarchy listed twice is -EBADMSG; a path that does not fit
 * is -ENAMETOOLONG; input without a single valid line is -EBADMSG. */
int proc_self_cgroup_parse(const char *buf, size_t n, struct cgroup_membership *ret);

/* Where each hierarchy is mounted, from proc/self/mountinfo. */
struct cgroup_mounts {
    bool found[_CGROUP_HIERARCHY_MAX];
    char mount_point[_CGROUP_HIERARCHY_MAX][CGROUP_PATH_MAX]; /* absolute, unescaped */
    char root[_CGROUP_HIERARCHY_MAX][CGROUP_PATH_MAX];        /* the cgroup shown at mount_point */
};

/* Parses proc/self/mountinfo (see proc(5)): "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS
 * [OPTIONAL...]
 * - FSTYPE SOURCE SUPER_OPTIONS". The unified hierarchy is the mount of type "cgroup2"; a v1
 * controller is a mount of type "cgroup" whose super options list it ("rw,cpu,cpuacct"). When a
 * hierarchy is mounted more than once, the first mount listed wins (it is the oldest, normally
 * /sys/fs/cgroup; later ones are bind mounts). ROOT and MOUNTPOINT are unescaped (the kernel writes
 * space, tab, newline and backslash as \040, \011, \012, \134); an escape decoding to NUL is
 * -EBADMSG. A line without the " - " separator or with too few fields is -EBADMSG. Finding no
 * cgroup mount at all is not an error. */
int mountinfo_cgroup_parse(const char *buf, size_t n, struct cgroup_mounts *ret);

/* Joins a hierarchy's mount point and our cgroup path into the directory to read, in buf
 * (capacity size). When the mount shows a subtree (root is not "/") and our path lies inside it,
 * that prefix is removed first, since the mount point already stands for it. Returns 0,
 * -ENAMETOOLONG, or -EINVAL when the path has a ".." component (we are outside the namespace's
 * view, so no directory below the mount point is ours). */
int cgroup_dir_path(
        const char *mount_point, const char *root, const char *cgroup_path, char *buf, size_t size);

/* Parses a file holding one number, or "max" (returned as UINT64_MAX): memory.max,
 * memory.current, memory.limit_in_bytes, memory.usage_in_bytes, cpuacct.usage,
 * cpu.cfs_period_us. Trailing blanks and newlines are allowed, anything else is -EBADMSG. */
int cgroup_value_parse(const char *buf, size_t n, uint64_t *ret);

/* A CPU bandwidth limit. quota_usec is UINT64_MAX when there is none. */
struct cgroup_cpu_max {
    uint64_t quota_usec;
    uint64_t period_usec;
};

/* Parses v2 cpu.max: "max 100000" or "150000 100000". A zero quota or period is -EBADMSG (the
 * kernel refuses both). */
int cgroup_cpu_max_parse(const char *buf, size_t n, struct cgroup_cpu_max *ret);

/* Parses v1 cpu.cfs_quota_us: "-1" means no quota (UINT64_MAX), otherwise a positive number of
 * µs. Zero and other negative values are -EBADMSG. */
int cgroup_v1_cfs_quota_parse(const char *buf, size_t n, uint64_t *ret_quota_usec);

/* Looks up key in a flat-keyed file ("key value" per line: memory.stat, cpu.stat). Returns 0,
 * -ENODATA when the key is absent, -EBADMSG when it is repeated or its value is not a number,
 * -ERANGE on overflow. Other lines are not inspected beyond their key. */
int cgroup_keyed_parse(const char *buf, size_t n, const char *key, uint64_t *ret);

/* quota / period in cores, or 0 when there is no quota. */
double cgroup_cpu_max_cores(const struct cgroup_cpu_max *m);

/* Maps v1's "unlimited" memory limits (≥ CGROUP_V1_UNLIMITED_MIN_BYTES) to UINT64_MAX. */
uint64_t cgroup_v1_limit_normalize(uint64_t limit_bytes);

/* Whether a memory limit constrains us: finite and below the host's MemTotal. A limit at or above
 * the RAM the host has cannot be reached before the host itself runs out. */
bool cgroup_memory_limit_applies(uint64_t limit_bytes, uint64_t host_total_bytes);
