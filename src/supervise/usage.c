/* SPDX-License-Identifier: MIT */
/* Measuring a running task: the processes of its cgroup or process group, read from /proc
 * (proc(5): stat, status, io, fd/) and from the cgroup's own counters. The parsing is in
 * usage-parse.c; this file only finds the processes and reads their files, each into a bounded
 * buffer. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "basic/macro.h"
#include "basic/fileio.h"
#include "supervise/sv-internal.h"

/* /proc/PID/stat is one line of 52 numbers and a comm of at most 64 bytes: well under 1 KiB. */
#define STAT_READ_MAX 2048U
/* /proc/PID/status is about 1.5 KiB on 6.x kernels. */
#define STATUS_READ_MAX 8192U
#define IO_READ_MAX     1024U

static int read_stat(int proc_fd, pid_t pid, struct sv_proc_stat *ret)
{
    char name[DECIMAL_STR_MAX(pid_t) + 8], buf[STAT_READ_MAX];

    snprintf(name, sizeof name, "%d/stat", (int) pid);
    ssize_t n = read_virtual_at(proc_fd, name, buf, sizeof buf);
    if (n < 0)
        return (int) n;
    return sv_proc_stat_parse(buf, (size_t) n, ret);
}

static bool is_pid_name(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

int sv_proc_group_pids(int proc_fd, pid_t pgid, pid_t *pids, size_t max)
{
    size_t k = 0;

    int dfd = openat(proc_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return negative_errno();
    DIR *d = fdopendir(dfd);
    if (!d) {
        int r = negative_errno();
        (void) close(dfd);
        return r;
    }
    struct dirent *de;
    while (k < max && (de = readdir(d))) {
        if (!is_pid_name(de->d_name))
            continue;
        long v = strtol(de->d_name, NULL, 10);
        if (v <= 0 || v > INT32_MAX)
            continue;
        struct sv_proc_stat st;
        if (read_stat(proc_fd, (pid_t) v, &st) < 0)
            continue; /* gone meanwhile, or not ours to read */
        if (st.pgrp == pgid && st.state != 'Z' && st.state != 'X')
            pids[k++] = (pid_t) v;
    }
    (void) closedir(d);
    return (int) sv_pids_sort_unique(pids, k);
}

/* Counts the entries of /proc/PID/fd, up to SV_FDS_PER_PROC_MAX. */
static unsigned count_fds(int proc_fd, pid_t pid)
{
    char name[DECIMAL_STR_MAX(pid_t) + 8];
    unsigned n = 0;

    snprintf(name, sizeof name, "%d/fd", (int) pid);
    int dfd = openat(proc_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return 0;
    DIR *d = fdopendir(dfd);
    if (!d) {
        (void) close(dfd);
        return 0;
    }
    struct dirent *de;
    while (n < SV_FDS_PER_PROC_MAX && (de = readdir(d)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    (void) closedir(d);
    return n;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* What the processes say, summed. */
struct proc_sums {
    unsigned processes, threads, fds;
    uint64_t rss_bytes, max_hwm_bytes, cpu_ticks;
    uint64_t read_bytes, write_bytes, wchar_bytes;
};

static void sum_process(int proc_fd, pid_t pid, struct proc_sums *s)
{
    char name[DECIMAL_STR_MAX(pid_t) + 8], buf[STATUS_READ_MAX];
    struct sv_proc_stat st;
    ssize_t n;

    if (read_stat(proc_fd, pid, &st) < 0 || st.state == 'Z' || st.state == 'X')
        return;
    s->processes++;
    s->threads += (unsigned) MIN(st.num_threads, (uint64_t) UINT32_MAX / 2);
    /* cutime/cstime hold the children this process has reaped: their time is in no live
     * process any more, and each reaped process is counted by exactly one live reaper. */
    s->cpu_ticks = sat_add(s->cpu_ticks, sat_add(sat_add(st.utime_ticks, st.stime_ticks),
                                                 sat_add(st.cutime_ticks, st.cstime_ticks)));

    snprintf(name, sizeof name, "%d/status", (int) pid);
    n = read_virtual_at(proc_fd, name, buf, sizeof buf);
    struct sv_proc_status status;
    if (n >= 0 && sv_proc_status_parse(buf, (size_t) n, &status) >= 0 && status.has_vm) {
        s->rss_bytes = sat_add(s->rss_bytes, status.vm_rss_bytes);
        s->max_hwm_bytes = MAX(s->max_hwm_bytes, status.vm_hwm_bytes);
    }

    /* io counts the reaped children too (kernel/exit.c adds their counters to the reaper's). */
    snprintf(name, sizeof name, "%d/io", (int) pid);
    n = read_virtual_at(proc_fd, name, buf, IO_READ_MAX);
    struct sv_proc_io io;
    if (n >= 0 && sv_proc_io_parse(buf, (size_t) n, &io) >= 0) {
        s->read_bytes = sat_add(s->read_bytes, io.read_bytes);
        s->write_bytes = sat_add(s->write_bytes, io.write_bytes);
        s->wchar_bytes = sat_add(s->wchar_bytes, io.wchar);
    }

    unsigned f = count_fds(proc_fd, pid);
    s->fds = s->fds > UINT32_MAX - f ? UINT32_MAX : s->fds + f;
}

int sv_sample(struct sv_child *c, struct sv_usage *u)
{
    struct proc_sums s = { 0 };
    int n;

    if (!c || !u || c->pid <= 0)
        return -EINVAL;
    if (c->reaped)
        return -ESRCH;

    _cleanup_free_ pid_t *pids = calloc(SV_SAMPLE_PROCS_MAX, sizeof(pid_t));
    if (!pids)
        return -ENOMEM;
    _cleanup_close_ int proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (proc_fd < 0)
        return negative_errno();

    /* A cgroup holds every process of the task, those that left the process group included. */
    n = sv_cgroup_pids(c, pids, SV_SAMPLE_PROCS_MAX);
    if (n == -ENOENT)
        n = sv_proc_group_pids(proc_fd, c->pid, pids, SV_SAMPLE_PROCS_MAX);
    if (n < 0)
        return n;
    for (int i = 0; i < n; i++)
        sum_process(proc_fd, pids[i], &s);
    if (s.processes == 0)
        return -ESRCH;

    struct sv_cgroup_usage cg;
    sv_cgroup_usage_read(c, &cg);

    long tck = sysconf(_SC_CLK_TCK);
    uint64_t per_tick = tck > 0 ? 1000000ULL / (uint64_t) tck : 10000ULL;
    uint64_t cpu =
            cg.cpu_ok ? cg.cpu_usec
                      : (s.cpu_ticks > UINT64_MAX / per_tick ? UINT64_MAX : s.cpu_ticks * per_tick);
    uint64_t rss = cg.memory_ok ? cg.memory_bytes : s.rss_bytes;

    u->rss_bytes = rss;
    u->peak_rss_bytes = MAX(u->peak_rss_bytes, MAX(rss, s.max_hwm_bytes));
    if (cg.peak_ok)
        u->peak_rss_bytes = MAX(u->peak_rss_bytes, cg.peak_bytes);
    /* The counters only go up: a process that exits takes its share out of the /proc sums. */
    u->cpu_usec = MAX(u->cpu_usec, cpu);
    u->io_read_bytes = MAX(u->io_read_bytes, cg.io_ok ? cg.io_read_bytes : s.read_bytes);
    u->io_write_bytes = MAX(u->io_write_bytes, cg.io_ok ? cg.io_write_bytes : s.write_bytes);
    u->wchar_bytes = MAX(u->wchar_bytes, s.wchar_bytes);
    u->processes = s.processes;
    u->threads = s.threads;
    u->fds = s.fds;
    return 0;
}

int sv_process_start_time(int proc_fd, pid_t pid, uint64_t *ret_ticks)
{
    struct sv_proc_stat st;

    if (proc_fd < 0 || pid <= 0 || !ret_ticks)
        return -EINVAL;
    int r = read_stat(proc_fd, pid, &st);
    if (r < 0)
        return r == -ENOENT ? -ESRCH : r;
    /* A zombie has ended: only its parent has not collected it yet. */
    if (st.state == 'Z' || st.state == 'X')
        return -ESRCH;
    *ret_ticks = st.starttime_ticks;
    return 0;
}

int sv_process_identity(int proc_fd, pid_t pid, uint32_t *ret_uid, uint64_t *ret_start_ticks)
{
    char name[DECIMAL_STR_MAX(pid_t) + 8], buf[STATUS_READ_MAX];
    struct sv_proc_status st;
    uint64_t start;

    if (proc_fd < 0 || pid <= 0 || !ret_uid || !ret_start_ticks)
        return -EINVAL;
    int r = sv_process_start_time(proc_fd, pid, &start);
    if (r < 0)
        return r;
    snprintf(name, sizeof name, "%d/status", (int) pid);
    ssize_t n = read_virtual_at(proc_fd, name, buf, sizeof buf);
    if (n < 0)
        return n == -ENOENT ? -ESRCH : (int) n;
    r = sv_proc_status_parse(buf, (size_t) n, &st);
    if (r < 0)
        return r;
    if (!st.has_uid)
        return -EBADMSG;
    *ret_uid = st.uid;
    *ret_start_ticks = start;
    return 0;
}

int sv_process_group(int proc_fd, pid_t pid, pid_t *ret_pgid)
{
    struct sv_proc_stat st;

    if (proc_fd < 0 || pid <= 0 || !ret_pgid)
        return -EINVAL;
    int r = read_stat(proc_fd, pid, &st);
    if (r < 0)
        return r == -ENOENT ? -ESRCH : r;
    *ret_pgid = st.pgrp;
    return 0;
}
