/* SPDX-License-Identifier: MIT */
#pragma once

/* Internals of the supervise layer, shared by its files and its unit tests; not for other layers.
 *
 * The parsers here are pure: (buf, n) with no NUL terminator needed and no read past n, no I/O, no
 * logging; ret is written only on success; a malformed file is -EBADMSG, a number over 64 bits is
 * -ERANGE. Hostile input (a comm with spaces and parentheses, a truncated line, embedded NULs) is
 * rejected, never read past. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "supervise/supervise.h"

/* ---- Small bounded text helpers ------------------------------------------------------------- */

struct sv_span {
    const char *p;
    size_t n;
};

/* Splits the next line (without '\n') off the front of *rest. False once *rest is empty. */
bool sv_span_next_line(struct sv_span *rest, struct sv_span *ret_line);

/* Splits the next token separated by blanks (space, tab) off the front of *rest. */
bool sv_span_next_token(struct sv_span *rest, struct sv_span *ret_tok);

bool sv_span_eq(struct sv_span s, const char *lit);
/* Whether the comma-separated list ("memory,cpu") holds item. */
bool sv_span_list_has(struct sv_span list, const char *item);

/* Unsigned decimal, the whole span: 0, -EBADMSG (empty, not a digit), -ERANGE. */
int sv_span_to_u64(struct sv_span s, uint64_t *ret);

/* ---- /proc/PID files (proc(5)) -------------------------------------------------------------- */

/* The fields of /proc/PID/stat we use. Field numbers as in proc(5). */
struct sv_proc_stat {
    char state;               /* 3 */
    pid_t ppid;               /* 4 */
    pid_t pgrp;               /* 5 */
    pid_t session;            /* 6 */
    uint64_t utime_ticks;     /* 14 */
    uint64_t stime_ticks;     /* 15 */
    uint64_t cutime_ticks;    /* 16: of waited-for children */
    uint64_t cstime_ticks;    /* 17 */
    uint64_t num_threads;     /* 20 */
    uint64_t starttime_ticks; /* 22 */
    uint64_t rss_pages;       /* 24 */
};

/* Parses /proc/PID/stat. The comm field (2) can hold anything, spaces and ')' included, so the
 * fields are counted from the LAST ')' on. Fewer than 24 fields (field 24 must be followed by a
 * blank or newline, so a cut-short number is not taken), a negative time or a pid outside
 * 0..INT_MAX is -EBADMSG. */
int sv_proc_stat_parse(const char *buf, size_t n, struct sv_proc_stat *ret);

/* The lines of /proc/PID/status we use (values in kB there, bytes here). Kernel threads and
 * zombies have no Vm* lines: has_vm is false then and the sizes are 0. */
struct sv_proc_status {
    bool has_vm;
    uint64_t vm_rss_bytes;
    uint64_t vm_hwm_bytes;
    uint64_t threads;
    bool has_uid;
    uint32_t uid;             /* the real uid, the first of the "Uid:" line's four */
};

/* Parses /proc/PID/status by key ("VmRSS:\t   1234 kB"). A repeated key we use, a value that is
 * not a number, or a missing "Threads:" is -EBADMSG. */
int sv_proc_status_parse(const char *buf, size_t n, struct sv_proc_status *ret);

/* /proc/PID/io (Documentation/filesystems/proc.rst, "IO statistics fields"). */
struct sv_proc_io {
    uint64_t rchar;
    uint64_t wchar;
    uint64_t read_bytes;
    uint64_t write_bytes;
    uint64_t cancelled_write_bytes;
};

/* Parses /proc/PID/io by key ("wchar: 123"). All five keys are required; a repeated one is
 * -EBADMSG; unknown keys are ignored. */
int sv_proc_io_parse(const char *buf, size_t n, struct sv_proc_io *ret);

/* ---- cgroup files (Documentation/admin-guide/cgroup-v2.rst, cgroup-v1/memory.rst) ------------ */

/* One number, or "max" (UINT64_MAX), with trailing blanks/newlines: memory.current, memory.peak,
 * memory.usage_in_bytes, memory.max_usage_in_bytes, cpuacct.usage. */
int sv_cgroup_value_parse(const char *buf, size_t n, uint64_t *ret);

/* Looks key up in a flat-keyed file ("usage_usec 123" per line: cpu.stat). -ENODATA when absent,
 * -EBADMSG when repeated or not a number. */
int sv_cgroup_keyed_parse(const char *buf, size_t n, const char *key, uint64_t *ret);

/* Sums rbytes= and wbytes= over the devices of a v2 io.stat ("8:0 rbytes=1 wbytes=2 rios=..."). An
 * empty file is zero. A line without a MAJ:MIN first token or a bad number is -EBADMSG. */
int sv_cgroup_io_stat_parse(const char *buf,
                            size_t n,
                            uint64_t *ret_read_bytes,
                            uint64_t *ret_write_bytes);

/* Parses cgroup.procs (one pid a line) into pids (capacity max), sorted and without duplicates
 * (v1 lists may repeat a pid). Returns the number stored; pids beyond max are dropped (the caller
 * bounds its work); a line that is not a pid in 1..INT_MAX is -EBADMSG. */
int sv_cgroup_procs_parse(const char *buf, size_t n, pid_t *pids, size_t max);

/* Sorts pids and drops repeats in place; returns how many are left. */
size_t sv_pids_sort_unique(pid_t *pids, size_t n);

/* Controllers we may need, as bits. */
enum {
    SV_CONTROLLER_MEMORY = 1 << 0,
    SV_CONTROLLER_CPU = 1 << 1,
    SV_CONTROLLER_PIDS = 1 << 2,
    SV_CONTROLLER_IO = 1 << 3,
};

/* Parses cgroup.controllers / cgroup.subtree_control ("cpuset cpu io memory pids") into
 * SV_CONTROLLER_* bits; others are ignored. Returns the mask (≥ 0). */
int sv_cgroup_controllers_parse(const char *buf, size_t n);

/* The controllers the limits need. */
unsigned sv_limits_controllers(const struct sv_limits *l);

/* ---- Where a task's cgroup can go: the plan, from proc/self/mountinfo and proc/self/cgroup ----
 */

enum sv_hierarchy {
    SV_HIERARCHY_UNIFIED, /* cgroup2 */
    SV_HIERARCHY_MEMORY,  /* v1 controllers, in the order of sv_child.v1_fds */
    SV_HIERARCHY_CPU,
    SV_HIERARCHY_PIDS,
    _SV_HIERARCHY_MAX,
};

#define SV_WHY_MAX 64

struct sv_cgroup_plan {
    /* A hierarchy is usable when it is mounted read-write and our own cgroup in it is known and
     * lies inside what the mount shows; parent is then the directory a leaf goes into (the mount
     * point joined with our cgroup, without sys_root), else why says what is missing. */
    bool usable[_SV_HIERARCHY_MAX];
    char parent[_SV_HIERARCHY_MAX][SV_PATH_MAX];
    char why[_SV_HIERARCHY_MAX][SV_WHY_MAX];
    bool cpuacct_with_cpu; /* v1 cpu and cpuacct share a mount (the cpu leaf has cpuacct.*) */
    /* The cgroup v2 mount point when the mount shows the whole hierarchy (its root is "/", not a
     * cgroup namespace's or a container's subtree), else "": where a task may go when its own
     * cgroup cannot have children with controllers (see sv_cgroup_prepare()). */
    char v2_top[SV_PATH_MAX];
};

/* The directory below the top of the v2 hierarchy for the cgroups of tasks that could not get
 * their limits below the caller's own cgroup. */
#define SV_CGROUP_TOP_DIR "headroom"

/* Decides the plan from the texts of proc/self/mountinfo (proc(5): "ID PARENT MAJ:MIN ROOT
 * MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS", with \ooo escapes) and
 * proc/self/cgroup (cgroups(7): "0::/path" for v2, "N:ctrl[,ctrl]:/path" for v1). The first mount
 * of a hierarchy listed wins (later ones are bind mounts). A mount is read-only when its mount
 * options or super options hold "ro". A cgroup path with a ".." component (we live outside the
 * cgroup namespace's view) or outside the mount's root is not usable. Returns 0, -ENOMEM, or
 * -EBADMSG when a cgroup or cgroup2 line of mountinfo is malformed (other lines are skipped). */
int sv_cgroup_plan_make(const char *mountinfo,
                        size_t mountinfo_n,
                        const char *self_cgroup,
                        size_t self_cgroup_n,
                        struct sv_cgroup_plan *ret);

/* ---- cgroup I/O (cgroup.c) ------------------------------------------------------------------ */

/* Makes the task's cgroup leaves as sv_spawn() describes, into c (v2_fd/v2_path, v1_fds/v1_paths,
 * v1_cpuacct), writes the limits, and appends why a hierarchy was not used to notes (capacity
 * notes_size). Returns 0 (possibly with no leaf at all, when no limits were asked for),
 * -EOPNOTSUPP when the limits cannot be met (nothing is left behind), -ENOMEM. Does not log. */
int sv_cgroup_prepare(const struct sv_spawn_options *o,
                      struct sv_child *c,
                      char *notes,
                      size_t notes_size);

/* Writes pid into the cgroup.procs of the v2 leaf (unless v2_joined: clone3 put it there) and of
 * every v1 leaf, while the child waits to exec. A leaf that cannot take it is removed and noted;
 * returns -EOPNOTSUPP when that leaf carried a limit (the caller then kills the child). */
int sv_cgroup_join(struct sv_child *c,
                   pid_t pid,
                   bool v2_joined,
                   const struct sv_limits *limits,
                   char *notes,
                   size_t notes_size);

/* Sets c->isolation, c->cgroup_path and c->isolation_desc from the leaves c holds. */
void sv_cgroup_describe(struct sv_child *c, const struct sv_limits *limits, const char *notes);

/* Reads the pids of the task's cgroups (v2 leaf and v1 leaves, merged, sorted, unique) into pids
 * (capacity max). Returns their number, or -ENOENT when c has no cgroup. */
int sv_cgroup_pids(const struct sv_child *c, pid_t *pids, size_t max);

/* Sends sig to every process in the task's cgroups (cgroup.kill for SIGKILL in v2 when present).
 * Returns how many processes were signalled (cgroup.kill counts as the pids listed before). */
int sv_cgroup_signal(const struct sv_child *c, int sig);

/* Figures the cgroups keep for the whole task. Each *_ok says whether the file was there. */
struct sv_cgroup_usage {
    bool memory_ok, peak_ok, cpu_ok, io_ok;
    uint64_t memory_bytes, peak_bytes, cpu_usec, io_read_bytes, io_write_bytes;
};

void sv_cgroup_usage_read(const struct sv_child *c, struct sv_cgroup_usage *ret);

/* Kills what is left in the task's cgroups, waits (bounded) for them to empty and removes the
 * leaves. Closes the cgroup fds. Best effort: a leaf that would not go is left behind. */
void sv_cgroup_kill_and_remove(struct sv_child *c);

/* Closes the cgroup fds and removes the leaves without killing anything: a populated leaf stays.
 * wait_busy: retry a leaf that is still busy for up to 200 ms (it was just emptied). */
void sv_cgroup_release(struct sv_child *c, bool wait_busy);

/* Appends a formatted note ("; " separated) to notes. */
void sv_note(char *notes, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- Spawning (spawn.c) ---- */

/* Tests only: when set, sv_spawn() takes its fork() path as on kernels without clone3 or
 * CLONE_INTO_CGROUP (the parent then moves the child into the v2 leaf too). */
extern bool sv_spawn_force_fork;

/* ---- Per-process I/O (usage.c) -------------------------------------------------------------- */

/* At most this many processes of one task are looked at per sample. */
#define SV_SAMPLE_PROCS_MAX 4096U
/* Open files counted per process at most (a bound on the directory walk). */
#define SV_FDS_PER_PROC_MAX 65536U

/* The live (not zombie) processes whose process group is pgid, from a walk of proc_fd (an fd of
 * /proc). Returns their number (up to max), or -errno when /proc cannot be read. */
int sv_proc_group_pids(int proc_fd, pid_t pgid, pid_t *pids, size_t max);
