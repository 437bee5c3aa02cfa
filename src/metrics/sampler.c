/* SPDX-License-Identifier: MIT */
#include "metrics/sampler.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/macro.h"
#include "basic/parse-util.h"
#include "metrics/cgroup-parse.h"
#include "metrics/paths.h"
#include "metrics/proc-parse.h"

/* First size of the shared read buffer. proc/stat is ~1 KiB on a 2-CPU machine and grows with the
 * CPU and interrupt count; the buffer doubles on demand up to READ_VIRTUAL_MAX_BYTES and then
 * keeps its size. */
#define READ_BUF_INITIAL_BYTES 16384U

/* getdents64 buffer for counting PIDs and listing sys/block: 32 KiB holds ~1000 entries, so a
 * typical proc directory is read in one or two system calls. */
#define DENTS_BUF_BYTES 32768U

/* Counting PIDs walks the whole proc directory: ~20 µs warm and ~65 µs with cold caches on a
 * 2-CPU VM with 90 processes (measured), growing linearly with the process count. Rescanning on
 * every tick is the single most expensive part of a sample, so the count is refreshed at most this
 * often; it is an informational figure, no decision depends on it. */
#define PROCESS_COUNT_INTERVAL_USEC (10 * USEC_PER_SEC)

/* The names in sys/block decide which diskstats lines are whole disks. Listing the directory once
 * a minute replaces one fstatat() per diskstats line per tick (~7 µs each, cold), which adds up on
 * hosts with many partitions. A disk that appears is counted within a minute. */
#define BLOCK_LIST_INTERVAL_USEC (60 * USEC_PER_SEC)
#define BLOCK_LIST_MAX           256
#define BLOCK_NAME_MAX           64

/* A cumulative counter and when it was last read, for turning it into a rate. */
struct counter {
    bool have;
    uint64_t value;
    usec_t mono_usec;
};

struct sampler {
    int root_fd;    /* borrowed */
    bool real_root; /* root_fd is the process's own "/" */

    /* Kept open and re-read at offset 0 on every tick. Negative when absent. */
    int stat_fd, meminfo_fd, loadavg_fd, diskstats_fd, net_dev_fd, proc_dir_fd;
    int psi_fd[_PSI_RESOURCE_MAX];

    /* Our cgroup, found once at start. Limits are re-read each tick: they can change at run time
     * ("docker update", systemctl set-property). */
    enum cgroup_mode memory_mode, cpu_mode;
    int mem_limit_fd, mem_usage_fd, mem_stat_fd;
    int cpu_max_fd;                  /* v2 cpu.max */
    int cfs_quota_fd, cfs_period_fd; /* v1 cpu.cfs_quota_us, cpu.cfs_period_us */
    int cpu_usage_fd;                /* v2 cpu.stat or v1 cpuacct.usage of the same cgroup */
    char cgroup_path[HR_PATH_MAX];

    char *buf;
    size_t buf_size;
    void *dents;

    /* Two proc/stat readings, swapped on each successful tick. */
    struct proc_stat *stat; /* array of 2 */
    unsigned stat_cur;
    bool have_stat;
    usec_t stat_mono_usec;

    struct counter disk_read, disk_write, net_rx, net_tx, ctxt, cgroup_cpu;

    bool have_processes;
    uint64_t processes;
    usec_t processes_mono_usec;

    /* Cached listing of sys/block. overflow: the listing did not fit, so a name that is not in it
     * is looked up directly. */
    bool have_blocks, blocks_overflow;
    usec_t blocks_mono_usec;
    unsigned n_blocks;
    char blocks[BLOCK_LIST_MAX][BLOCK_NAME_MAX];

    uint64_t seq;
    unsigned n_paths;
    char paths[HR_DISKS_MAX][HR_PATH_MAX];
    char description[256];
};

static void close_fd(int *fd)
{
    if (*fd >= 0)
        (void) close(*fd);
    *fd = -EBADF;
}

struct sampler *sampler_free(struct sampler *s)
{
    if (!s)
        return NULL;

    close_fd(&s->stat_fd);
    close_fd(&s->meminfo_fd);
    close_fd(&s->loadavg_fd);
    close_fd(&s->diskstats_fd);
    close_fd(&s->net_dev_fd);
    close_fd(&s->proc_dir_fd);
    for (size_t i = 0; i < _PSI_RESOURCE_MAX; i++)
        close_fd(&s->psi_fd[i]);
    close_fd(&s->mem_limit_fd);
    close_fd(&s->mem_usage_fd);
    close_fd(&s->mem_stat_fd);
    close_fd(&s->cpu_max_fd);
    close_fd(&s->cfs_quota_fd);
    close_fd(&s->cfs_period_fd);
    close_fd(&s->cpu_usage_fd);
    free(s->buf);
    free(s->dents);
    free(s->stat);
    free(s);
    return NULL;
}

static void sampler_freep(struct sampler **s)
{
    (void) sampler_free(*s);
}

/* Re-reads a kept fd into s->buf, growing the buffer when the content does not fit. */
static int read_fd(struct sampler *s, int fd, size_t *ret_n)
{
    if (fd < 0)
        return -ENOENT;
    for (;;) {
        ssize_t k = pread_virtual(fd, s->buf, s->buf_size);
        if (k >= 0) {
            *ret_n = (size_t) k;
            return 0;
        }
        if (k != -ENOBUFS)
            return (int) k;
        if (s->buf_size > READ_VIRTUAL_MAX_BYTES)
            return -EFBIG;

        size_t nsize = MIN(s->buf_size * 2, (size_t) READ_VIRTUAL_MAX_BYTES + 1);
        char *n = realloc(s->buf, nsize);
        if (!n)
            return -ENOMEM;
        s->buf = n;
        s->buf_size = nsize;
    }
}

static int open_file(int dir_fd, const char *path)
{
    int fd = open_at_root(dir_fd, path, O_RDONLY);
    if (fd < 0)
        log_debug_errno(fd, "Metrics source '%s' is not available: %m", path);
    return fd;
}

static bool root_is_real(int root_fd)
{
    struct stat a, b;

    if (fstat(root_fd, &a) < 0 || stat("/", &b) < 0)
        return false;
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* ---- cgroup discovery */

/* Opens the directory of our cgroup in hierarchy h: <mount point>/<our path>, or the mount point
 * itself when that directory does not exist. The latter happens inside a cgroup namespace or a
 * container that mounts only its own subtree: there the mount point is our cgroup (or an ancestor
 * of it, whose limits bind us as well). */
static int open_cgroup_dir(int root_fd,
                           const struct cgroup_membership *cg,
                           const struct cgroup_mounts *mnt,
                           enum cgroup_hierarchy h)
{
    char dir[CGROUP_PATH_MAX];
    int fd;

    if (!cg->found[h] || !mnt->found[h])
        return -ENOENT;

    int r = cgroup_dir_path(mnt->mount_point[h], mnt->root[h], cg->path[h], dir, sizeof(dir));
    if (r >= 0) {
        fd = open_at_root(root_fd, dir, O_PATH | O_DIRECTORY);
        if (fd >= 0)
            return fd;
        log_debug_errno(fd, "cgroup directory '%s' is not reachable, using the mount point: %m",
                        dir);
    }
    return open_at_root(root_fd, mnt->mount_point[h], O_PATH | O_DIRECTORY);
}

/* Opens a cgroup file and checks that it can be read now, so that a file that exists but does not
 * work (EOPNOTSUPP and the like) counts as absent from the start. */
static int open_cgroup_file(struct sampler *s, int dir_fd, const char *name)
{
    _cleanup_close_ int fd = -EBADF;
    size_t n = 0;

    if (dir_fd < 0)
        return -ENOENT;
    fd = open_at_root(dir_fd, name, O_RDONLY);
    if (fd < 0)
        return fd;
    int r = read_fd(s, fd, &n);
    if (r < 0)
        return r;
    return TAKE_FD(fd);
}

/* Copies a NUL-terminated string, truncating it to fit (size > 0). */
static void copy_string(char *dst, size_t size, const char *src)
{
    size_t l = strnlen(src, size - 1);

    memcpy(dst, src, l);
    dst[l] = '\0';
}

static int cgroup_setup(struct sampler *s)
{
    _cleanup_free_ struct cgroup_membership *cg = NULL;
    _cleanup_free_ struct cgroup_mounts *mnt = NULL;
    _cleanup_free_ char *text = NULL;
    _cleanup_close_ int v2_fd = -EBADF, mem_fd = -EBADF, cpu_fd = -EBADF, acct_fd = -EBADF;
    size_t n = 0;
    int r;

    cg = malloc(sizeof(*cg));
    mnt = malloc(sizeof(*mnt));
    if (!cg || !mnt)
        return -ENOMEM;

    r = read_full_virtual_at(s->root_fd, PROC_SELF_CGROUP_PATH, READ_VIRTUAL_MAX_BYTES, &text, &n);
    if (r < 0)
        return log_debug_errno(r, "Cannot read our cgroup membership, using host values: %m");
    r = proc_self_cgroup_parse(text, n, cg);
    if (r < 0)
        return log_debug_errno(r, "Cannot parse our cgroup membership, using host values: %m");
    free(text);
    text = NULL;

    r = read_full_virtual_at(s->root_fd, PROC_SELF_MOUNTINFO_PATH, READ_VIRTUAL_MAX_BYTES, &text,
                             &n);
    if (r < 0)
        return log_debug_errno(r, "Cannot read the mount table, using host values: %m");
    r = mountinfo_cgroup_parse(text, n, mnt);
    if (r < 0)
        return log_debug_errno(r, "Cannot parse the mount table, using host values: %m");

    v2_fd = open_cgroup_dir(s->root_fd, cg, mnt, CGROUP_HIERARCHY_UNIFIED);
    mem_fd = open_cgroup_dir(s->root_fd, cg, mnt, CGROUP_HIERARCHY_MEMORY);
    cpu_fd = open_cgroup_dir(s->root_fd, cg, mnt, CGROUP_HIERARCHY_CPU);
    acct_fd = open_cgroup_dir(s->root_fd, cg, mnt, CGROUP_HIERARCHY_CPUACCT);

    /* Memory: v2 first. On a hybrid host the unified hierarchy has no memory controller, so
     * memory.max is missing there and the v1 memory controller is used instead. */
    s->mem_limit_fd = open_cgroup_file(s, v2_fd, "memory.max");
    s->mem_usage_fd = open_cgroup_file(s, v2_fd, "memory.current");
    if (s->mem_limit_fd >= 0 && s->mem_usage_fd >= 0) {
        s->memory_mode = CGROUP_MODE_V2;
        s->mem_stat_fd = open_cgroup_file(s, v2_fd, "memory.stat");
    } else {
        close_fd(&s->mem_limit_fd);
        close_fd(&s->mem_usage_fd);
        s->mem_limit_fd = open_cgroup_file(s, mem_fd, "memory.limit_in_bytes");
        s->mem_usage_fd = open_cgroup_file(s, mem_fd, "memory.usage_in_bytes");
        if (s->mem_limit_fd >= 0 && s->mem_usage_fd >= 0) {
            s->memory_mode = CGROUP_MODE_V1;
            s->mem_stat_fd = open_cgroup_file(s, mem_fd, "memory.stat");
        } else {
            close_fd(&s->mem_limit_fd);
            close_fd(&s->mem_usage_fd);
        }
    }

    /* CPU: the quota and the usage come from the same hierarchy, so that both describe the same
     * set of processes. v1 usage lives in cpuacct, which may be mounted apart from cpu. */
    s->cpu_max_fd = open_cgroup_file(s, v2_fd, "cpu.max");
    if (s->cpu_max_fd >= 0) {
        s->cpu_mode = CGROUP_MODE_V2;
        s->cpu_usage_fd = open_cgroup_file(s, v2_fd, "cpu.stat");
    } else {
        s->cfs_quota_fd = open_cgroup_file(s, cpu_fd, "cpu.cfs_quota_us");
        s->cfs_period_fd = open_cgroup_file(s, cpu_fd, "cpu.cfs_period_us");
        if (s->cfs_quota_fd >= 0 && s->cfs_period_fd >= 0) {
            s->cpu_mode = CGROUP_MODE_V1;
            s->cpu_usage_fd = open_cgroup_file(s, acct_fd, "cpuacct.usage");
        } else {
            close_fd(&s->cfs_quota_fd);
            close_fd(&s->cfs_period_fd);
        }
    }

    /* Report the path of the hierarchy our memory figures come from; otherwise the v2 one. */
    if (s->memory_mode == CGROUP_MODE_V1 || !cg->found[CGROUP_HIERARCHY_UNIFIED]) {
        if (cg->found[CGROUP_HIERARCHY_MEMORY])
            copy_string(s->cgroup_path, sizeof(s->cgroup_path), cg->path[CGROUP_HIERARCHY_MEMORY]);
    } else
        copy_string(s->cgroup_path, sizeof(s->cgroup_path), cg->path[CGROUP_HIERARCHY_UNIFIED]);
    return 0;
}

/* ---- per-tick readers for optional sources; each returns -errno and leaves its outputs alone on
 * failure, and the caller then falls back to host values for this tick. */

static int read_cgroup_memory(struct sampler *s,
                              uint64_t *ret_limit,
                              uint64_t *ret_usage,
                              uint64_t *ret_inactive_file)
{
    uint64_t limit, usage, inactive = 0;
    size_t n = 0;
    int r;

    r = read_fd(s, s->mem_limit_fd, &n);
    if (r < 0)
        return r;
    r = cgroup_value_parse(s->buf, n, &limit);
    if (r < 0)
        return r;
    r = read_fd(s, s->mem_usage_fd, &n);
    if (r < 0)
        return r;
    r = cgroup_value_parse(s->buf, n, &usage);
    if (r < 0)
        return r;

    /* inactive_file is page cache the kernel reclaims first, so it is not "used" in any sense that
     * matters for admitting work (cAdvisor's working set is computed the same way). v1 has both a
     * local and a hierarchical figure; the hierarchical one matches usage_in_bytes. Without
     * memory.stat the whole usage counts, which errs on the safe side. */
    if (s->mem_stat_fd >= 0 && read_fd(s, s->mem_stat_fd, &n) >= 0) {
        const char *key =
                s->memory_mode == CGROUP_MODE_V2 ? "inactive_file" : "total_inactive_file";
        uint64_t v;

        if (cgroup_keyed_parse(s->buf, n, key, &v) >= 0)
            inactive = v;
        /* v1 also states the tightest limit of this cgroup and all its ancestors, so a limit set
         * on a parent (a slice, a pod) binds us too. v2 has no such summary. */
        if (s->memory_mode == CGROUP_MODE_V1 &&
            cgroup_keyed_parse(s->buf, n, "hierarchical_memory_limit", &v) >= 0)
            limit = MIN(limit, v);
    }
    if (s->memory_mode == CGROUP_MODE_V1)
        limit = cgroup_v1_limit_normalize(limit);

    *ret_limit = limit;
    *ret_usage = usage;
    *ret_inactive_file = inactive;
    return 0;
}

/* The CPU quota in cores, 0 when none is set. */
static int read_cgroup_quota(struct sampler *s, double *ret_cores)
{
    struct cgroup_cpu_max m;
    size_t n = 0;
    int r;

    if (s->cpu_mode == CGROUP_MODE_V2) {
        r = read_fd(s, s->cpu_max_fd, &n);
        if (r < 0)
            return r;
        r = cgroup_cpu_max_parse(s->buf, n, &m);
        if (r < 0)
            return r;
    } else if (s->cpu_mode == CGROUP_MODE_V1) {
        r = read_fd(s, s->cfs_quota_fd, &n);
        if (r < 0)
            return r;
        r = cgroup_v1_cfs_quota_parse(s->buf, n, &m.quota_usec);
        if (r < 0)
            return r;
        r = read_fd(s, s->cfs_period_fd, &n);
        if (r < 0)
            return r;
        r = cgroup_value_parse(s->buf, n, &m.period_usec);
        if (r < 0)
            return r;
        if (m.period_usec == 0 || m.period_usec == UINT64_MAX)
            return -EBADMSG;
    } else
        return -ENOENT;

    *ret_cores = cgroup_cpu_max_cores(&m);
    return 0;
}

/* Cumulative CPU time of our cgroup in µs. */
static int read_cgroup_cpu_usage(struct sampler *s, uint64_t *ret_usec)
{
    uint64_t v;
    size_t n = 0;

    int r = read_fd(s, s->cpu_usage_fd, &n);
    if (r < 0)
        return r;
    if (s->cpu_mode == CGROUP_MODE_V2)
        r = cgroup_keyed_parse(s->buf, n, "usage_usec", &v);
    else {
        r = cgroup_value_parse(s->buf, n, &v);
        v /= NSEC_PER_USEC; /* cpuacct.usage counts nanoseconds. */
    }
    if (r < 0)
        return r;
    *ret_usec = v;
    return 0;
}

static bool interval_elapsed(bool have, usec_t last_usec, usec_t now_usec, usec_t interval_usec)
{
    /* A clock that went backwards (only possible with test-supplied times) also refreshes. */
    return !have || now_usec < last_usec || now_usec - last_usec >= interval_usec;
}

/* FNV-1a over the listed names, to notice when the set of disks changed. */
static uint64_t block_list_hash(const struct sampler *s)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);

    for (unsigned i = 0; i < s->n_blocks; i++)
        for (const char *p = s->blocks[i];; p++) {
            h = (h ^ (unsigned char) *p) * UINT64_C(0x100000001b3);
            if (*p == '\0')
                break;
        }
    return h ^ s->blocks_overflow;
}

static void read_block_list(struct sampler *s)
{
    _cleanup_close_ int fd = -EBADF;

    s->blocks_overflow = false;
    s->n_blocks = 0;

    fd = open_at_root(s->root_fd, SYS_BLOCK_PATH, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return; /* No sysfs: no line counts as a whole disk. */
    for (;;) {
        ssize_t k = getdents64(fd, s->dents, DENTS_BUF_BYTES);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        for (size_t off = 0; off < (size_t) k;) {
            const struct dirent64 *d = (const void *) ((const char *) s->dents + off);

            if (d->d_reclen == 0)
                return;
            off += d->d_reclen;
            size_t l = strlen(d->d_name);
            if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
                continue;
            if (l >= BLOCK_NAME_MAX || s->n_blocks >= BLOCK_LIST_MAX) {
                s->blocks_overflow = true;
                continue;
            }
            memcpy(s->blocks[s->n_blocks++], d->d_name, l + 1);
        }
    }
}

static void refresh_block_list(struct sampler *s, usec_t now_usec)
{
    if (!interval_elapsed(s->have_blocks, s->blocks_mono_usec, now_usec, BLOCK_LIST_INTERVAL_USEC))
        return;

    uint64_t before = block_list_hash(s);
    bool had = s->have_blocks;

    read_block_list(s);
    s->have_blocks = true;
    s->blocks_mono_usec = now_usec;
    /* A disk that came or went would put its whole history into one delta: start the disk rates
     * afresh instead. */
    if (had && block_list_hash(s) != before) {
        s->disk_read.have = false;
        s->disk_write.have = false;
    }
}

static bool is_whole_disk(const char *name, void *userdata)
{
    struct sampler *s = userdata;
    char path[sizeof(SYS_BLOCK_PATH) + BLOCK_NAME_MAX];
    const char *sysfs_name = path + sizeof(SYS_BLOCK_PATH);
    struct stat st;

    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return false;
    int k = snprintf(path, sizeof(path), "%s/%s", SYS_BLOCK_PATH, name);
    if (k < 0 || (size_t) k >= sizeof(path))
        return false;
    /* sysfs spells a '/' in a device name as '!' (cciss/c0d0 is sys/block/cciss!c0d0). */
    for (char *p = path + sizeof(SYS_BLOCK_PATH); *p; p++)
        if (*p == '/')
            *p = '!';

    for (unsigned i = 0; i < s->n_blocks; i++)
        if (strcmp(s->blocks[i], sysfs_name) == 0)
            return true;
    if (!s->blocks_overflow)
        return false;
    return fstatat(s->root_fd, path, &st, AT_SYMLINK_NOFOLLOW) >= 0;
}

static bool name_is_pid(const char *name)
{
    if (name[0] < '1' || name[0] > '9')
        return false;
    for (const char *p = name + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

/* Counts the PID directories of the proc directory with raw getdents64 on the kept fd: no
 * allocation and no per-entry stat. */
static int count_pids(struct sampler *s, uint64_t *ret)
{
    uint64_t count = 0;

    if (s->proc_dir_fd < 0)
        return -ENOENT;
    if (lseek(s->proc_dir_fd, 0, SEEK_SET) < 0)
        return negative_errno();
    for (;;) {
        ssize_t k = getdents64(s->proc_dir_fd, s->dents, DENTS_BUF_BYTES);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return negative_errno();
        }
        if (k == 0)
            break;
        for (size_t off = 0; off < (size_t) k;) {
            const struct dirent64 *d = (const void *) ((const char *) s->dents + off);
            if (d->d_reclen == 0)
                return -EIO;
            if (name_is_pid(d->d_name))
                count++;
            off += d->d_reclen;
        }
    }
    *ret = count;
    return 0;
}

/* Turns a cumulative counter into a rate per second against its previous reading. A counter that
 * went backwards (wrap, reset, a device removed) or no elapsed time gives 0 and *ret_valid false.
 * A failed read (ok = false) keeps the old baseline, so the next good reading spans the gap. */
static double
counter_rate(struct counter *c, bool ok, uint64_t value, usec_t now_usec, bool *ret_valid)
{
    double rate = 0.0;
    bool valid = false;

    if (!ok) {
        if (ret_valid)
            *ret_valid = false;
        return 0.0;
    }
    if (c->have && now_usec > c->mono_usec && value >= c->value) {
        rate = (double) (value - c->value) * (double) USEC_PER_SEC /
               (double) (now_usec - c->mono_usec);
        valid = true;
    }
    c->have = true;
    c->value = value;
    c->mono_usec = now_usec;
    if (ret_valid)
        *ret_valid = valid;
    return rate;
}

/* With a restricted CPU affinity (cpuset, taskset), only the CPUs we may run on are capacity, and
 * only their load competes with us. Returns false when every CPU is ours. */
static bool affinity_view(const struct proc_stat *cur,
                          const double *core_pct,
                          unsigned n_core_pct,
                          double host_fraction,
                          double *ret_online,
                          double *ret_busy)
{
    cpu_set_t set;
    double busy = 0.0;
    unsigned matched = 0;

    if (sched_getaffinity(0, sizeof(set), &set) < 0)
        return false;
    int count = CPU_COUNT(&set);
    if (count <= 0 || (unsigned) count >= cur->n_cpus)
        return false;

    for (unsigned i = 0; i < n_core_pct; i++)
        if (cur->core_id[i] < CPU_SETSIZE && CPU_ISSET(cur->core_id[i], &set)) {
            busy += core_pct[i] / 100.0;
            matched++;
        }
    *ret_online = count;
    /* Per-core figures cover CPUs below HR_CPUS_MAX only; past that, assume our CPUs are as busy
     * as the host on average. */
    *ret_busy = matched == (unsigned) count ? busy : host_fraction * count;
    return true;
}

static void sample_disks(struct sampler *s, struct hr_snapshot *ret)
{
    ret->n_disks = s->n_paths;
    for (unsigned i = 0; i < s->n_paths; i++) {
        struct hr_disk *d = &ret->disks[i];
        struct statvfs sv;

        copy_string(d->path, sizeof(d->path), s->paths[i]);
        /* Opened afresh on each tick: a kept fd would pin the file system and make unmounting it
         * fail with EBUSY, and a path created after start-up is picked up this way. */
        _cleanup_close_ int fd = open_at_root(s->root_fd, s->paths[i], O_PATH);
        if (fd < 0) {
            d->error = fd;
            continue;
        }
        if (fstatvfs(fd, &sv) < 0) {
            d->error = negative_errno();
            continue;
        }
        uint64_t frsize = sv.f_frsize ? sv.f_frsize : sv.f_bsize;
        d->readonly = sv.f_flag & ST_RDONLY;
        d->total_bytes = (uint64_t) sv.f_blocks * frsize;
        d->free_bytes = (uint64_t) sv.f_bavail * frsize;
        d->free_root_bytes = (uint64_t) sv.f_bfree * frsize;
        d->used_bytes =
                d->total_bytes > d->free_root_bytes ? d->total_bytes - d->free_root_bytes : 0;
    }
}

static void sample_memory(struct sampler *s, const struct meminfo *mi, struct hr_snapshot *ret)
{
    uint64_t total = mi->mem_total_bytes;
    uint64_t available = MIN(mi->mem_available_bytes, total);
    uint64_t limit, usage, inactive;

    ret->host_mem_total_bytes = total;
    ret->host_mem_available_bytes = available;
    ret->swap_total_bytes = mi->swap_total_bytes;
    ret->swap_free_bytes = MIN(mi->swap_free_bytes, mi->swap_total_bytes);
    ret->cgroup.memory_limit_bytes = UINT64_MAX;

    if (s->memory_mode != CGROUP_MODE_NONE &&
        read_cgroup_memory(s, &limit, &usage, &inactive) >= 0) {
        ret->cgroup.memory_mode = s->memory_mode;
        ret->cgroup.memory_limit_bytes = limit;
        ret->cgroup.memory_usage_bytes = usage;
        if (cgroup_memory_limit_applies(limit, total)) {
            /* The limit is what we have; what is left is bounded both by the limit and by what the
             * host can still hand out, since a limit can be overcommitted. */
            uint64_t used = usage > inactive ? usage - inactive : 0;
            uint64_t room = limit > used ? limit - used : 0;

            ret->cgroup.memory_limited = true;
            total = limit;
            available = MIN(available, room);
        }
    }

    ret->mem_total_bytes = total;
    ret->mem_available_bytes = available;
    ret->mem_used_bytes = total - available;
    ret->mem_used_pct = total > 0 ? 100.0 * (double) (total - available) / (double) total : 0.0;
}

/* CPU percentage of the capacity we may use.
 *
 * capacity = online CPUs (our affinity on a real root, else the cpuN lines), lowered to the
 * cgroup quota when one is set below that. Two things can use it up: our own cgroup (bounded by
 * the quota) and everybody on the CPUs we share (bounded by online). So
 *
 *     free    = min(capacity - cgroup_busy, online - host_busy)
 *     cpu_pct = 100 * (1 - free / capacity), clamped to 0..100
 *
 * where host_busy = host busy fraction × CPUs, and cgroup_busy is the cgroup's own usage rate
 * (v2 cpu.stat usage_usec, v1 cpuacct.usage) when a quota applies and that file is readable.
 * Without a quota, or without the usage file, cgroup_busy = host_busy: all load is assumed to be
 * ours, which makes cpu_pct = 100 * host_busy / capacity (never optimistic). */
static void sample_cpu(struct sampler *s,
                       const struct proc_stat *prev,
                       const struct proc_stat *cur,
                       bool have_delta,
                       usec_t mono_usec,
                       struct hr_snapshot *ret)
{
    unsigned n_cpus = MAX(cur->n_cpus, 1U);
    double online = n_cpus, host_fraction = 0.0, host_busy = 0.0, capacity, quota = 0.0;
    uint64_t usage_usec = 0;
    bool usage_valid = false;

    ret->n_cpus = n_cpus;
    if (have_delta) {
        ret->n_cpu_pct = proc_stat_core_pct(prev, cur, ret->cpu_core_pct);
        host_fraction = proc_stat_cpu_busy_pct(&prev->total, &cur->total) / 100.0;
        host_busy = host_fraction * n_cpus;
    }
    if (s->real_root)
        (void) affinity_view(cur, ret->cpu_core_pct, ret->n_cpu_pct, host_fraction, &online,
                             &host_busy);

    capacity = online;
    if (s->cpu_mode != CGROUP_MODE_NONE && read_cgroup_quota(s, &quota) >= 0) {
        ret->cgroup.cpu_mode = s->cpu_mode;
        ret->cgroup.cpu_quota_cores = quota;
        if (quota > 0.0 && quota < online) {
            ret->cgroup.cpu_limited = true;
            capacity = quota;
        }
    }

    /* Read on every tick, limited or not, so the baseline is there when a quota appears. */
    if (s->cpu_usage_fd >= 0) {
        bool ok = read_cgroup_cpu_usage(s, &usage_usec) >= 0;
        double rate = counter_rate(&s->cgroup_cpu, ok, usage_usec, mono_usec, &usage_valid);
        if (usage_valid && ret->cgroup.cpu_limited) {
            double cgroup_busy = rate / (double) USEC_PER_SEC;
            double free_cores = MIN(capacity - cgroup_busy, online - host_busy);
            ret->cpu_capacity_cores = capacity;
            if (have_delta)
                ret->cpu_pct = CLAMP(100.0 * (1.0 - free_cores / capacity), 0.0, 100.0);
            return;
        }
    }

    ret->cpu_capacity_cores = capacity;
    if (have_delta)
        ret->cpu_pct = CLAMP(100.0 * host_busy / capacity, 0.0, 100.0);
}

int sampler_sample(struct sampler *s, usec_t mono_usec, usec_t real_usec, struct hr_snapshot *ret)
{
    struct proc_stat *prev, *cur;
    struct meminfo mi;
    size_t n = 0;
    int r;

    if (!s || !ret)
        return -EINVAL;
    prev = &s->stat[s->stat_cur];
    cur = &s->stat[s->stat_cur ^ 1];

    /* The two mandatory sources first: if either fails, nothing has been touched yet. */
    r = read_fd(s, s->stat_fd, &n);
    if (r < 0)
        return log_debug_errno(r, "Failed to read %s: %m", PROC_STAT_PATH);
    r = proc_stat_parse(s->buf, n, cur);
    if (r < 0)
        return log_debug_errno(r, "Failed to parse %s: %m", PROC_STAT_PATH);
    r = read_fd(s, s->meminfo_fd, &n);
    if (r < 0)
        return log_debug_errno(r, "Failed to read %s: %m", PROC_MEMINFO_PATH);
    r = meminfo_parse(s->buf, n, &mi);
    if (r < 0)
        return log_debug_errno(r, "Failed to parse %s: %m", PROC_MEMINFO_PATH);

    bool have_delta = s->have_stat && mono_usec > s->stat_mono_usec;

    memset(ret, 0, sizeof(*ret));
    ret->valid = have_delta;
    ret->mono_usec = mono_usec;
    ret->real_usec = real_usec;
    ret->seq = ++s->seq;
    copy_string(ret->cgroup.path, sizeof(ret->cgroup.path), s->cgroup_path);

    sample_cpu(s, prev, cur, have_delta, mono_usec, ret);
    ret->procs_running = cur->procs_running;
    ret->procs_blocked = cur->procs_blocked;
    ret->ctxt_per_sec = counter_rate(&s->ctxt, cur->has_ctxt, cur->ctxt_total, mono_usec, NULL);

    s->stat_cur ^= 1;
    s->have_stat = true;
    s->stat_mono_usec = mono_usec;

    sample_memory(s, &mi, ret);

    for (size_t i = 0; i < _PSI_RESOURCE_MAX; i++) {
        struct psi_stats p;

        /* A PSI file that exists can still fail with EOPNOTSUPP (psi=0 on the command line). */
        if (read_fd(s, s->psi_fd[i], &n) >= 0 && psi_parse(s->buf, n, &p) >= 0)
            ret->psi[i] = p;
    }

    struct loadavg la;
    if (read_fd(s, s->loadavg_fd, &n) >= 0 && loadavg_parse(s->buf, n, &la) >= 0) {
        ret->load1 = la.load1;
        ret->load5 = la.load5;
        ret->load15 = la.load15;
        ret->threads = la.threads;
    }
    if (interval_elapsed(s->have_processes, s->processes_mono_usec, mono_usec,
                         PROCESS_COUNT_INTERVAL_USEC)) {
        uint64_t count;

        /* Keep the last count when the scan fails: it is rarely off by much. */
        if (count_pids(s, &count) >= 0) {
            s->processes = count;
            s->have_processes = true;
            s->processes_mono_usec = mono_usec;
        }
    }
    ret->processes = s->processes;

    struct diskstats_totals ds = {};
    refresh_block_list(s, mono_usec);
    bool ds_ok = read_fd(s, s->diskstats_fd, &n) >= 0 &&
                 diskstats_parse(s->buf, n, is_whole_disk, s, &ds) >= 0;
    ret->disk_read_bytes_per_sec =
            counter_rate(&s->disk_read, ds_ok, ds.read_bytes, mono_usec, NULL);
    ret->disk_write_bytes_per_sec =
            counter_rate(&s->disk_write, ds_ok, ds.written_bytes, mono_usec, NULL);

    struct net_dev_totals nd = {};
    bool nd_ok = read_fd(s, s->net_dev_fd, &n) >= 0 && net_dev_parse(s->buf, n, &nd) >= 0;
    ret->net_rx_bytes_per_sec = counter_rate(&s->net_rx, nd_ok, nd.rx_bytes, mono_usec, NULL);
    ret->net_tx_bytes_per_sec = counter_rate(&s->net_tx, nd_ok, nd.tx_bytes, mono_usec, NULL);

    sample_disks(s, ret);
    return 0;
}

static void describe(struct sampler *s)
{
    char memory[96], cpu[96], psi[64], size[32];
    uint64_t limit, usage, inactive, host_total = 0;
    struct meminfo mi;
    double quota;
    size_t n = 0;

    if (read_fd(s, s->meminfo_fd, &n) >= 0 && meminfo_parse(s->buf, n, &mi) >= 0)
        host_total = mi.mem_total_bytes;

    if (s->memory_mode == CGROUP_MODE_NONE)
        copy_string(memory, sizeof(memory), "memory host");
    else if (read_cgroup_memory(s, &limit, &usage, &inactive) < 0)
        (void) snprintf(memory, sizeof(memory), "%s memory (unreadable)",
                        cgroup_mode_to_string(s->memory_mode));
    else if (limit == UINT64_MAX)
        (void) snprintf(memory, sizeof(memory), "%s memory (unlimited)",
                        cgroup_mode_to_string(s->memory_mode));
    else
        (void) snprintf(memory, sizeof(memory), "%s memory (limit %s%s)",
                        cgroup_mode_to_string(s->memory_mode),
                        format_bytes(size, sizeof(size), limit),
                        cgroup_memory_limit_applies(limit, host_total) ? "" : ", not below RAM");

    if (s->cpu_mode == CGROUP_MODE_NONE)
        copy_string(cpu, sizeof(cpu), "cpu host");
    else if (read_cgroup_quota(s, &quota) < 0)
        (void) snprintf(cpu, sizeof(cpu), "%s cpu (unreadable)",
                        cgroup_mode_to_string(s->cpu_mode));
    else if (quota <= 0.0)
        (void) snprintf(cpu, sizeof(cpu), "%s cpu (unlimited)", cgroup_mode_to_string(s->cpu_mode));
    else
        (void) snprintf(cpu, sizeof(cpu), "%s cpu (quota %.2f cores%s)",
                        cgroup_mode_to_string(s->cpu_mode), quota,
                        s->cpu_usage_fd >= 0 ? "" : ", usage unknown");

    unsigned have = 0;
    size_t len = 0;
    psi[0] = '\0';
    for (size_t i = 0; i < _PSI_RESOURCE_MAX; i++)
        if (s->psi_fd[i] >= 0) {
            int k = snprintf(psi + len, sizeof(psi) - len, "%s%s", have ? " " : "",
                             psi_resource_to_string((enum psi_resource) i));
            if (k > 0 && (size_t) k < sizeof(psi) - len)
                len += (size_t) k;
            have++;
        }
    if (have == _PSI_RESOURCE_MAX)
        copy_string(psi, sizeof(psi), "yes");
    else if (have == 0)
        copy_string(psi, sizeof(psi), "no");

    (void) snprintf(s->description, sizeof(s->description), "cgroup: %s, %s; psi: %s", memory, cpu,
                    psi);
}

const char *sampler_describe(const struct sampler *s)
{
    return s ? s->description : "none";
}

int sampler_new(const struct sampler_options *o, struct sampler **ret)
{
    static const char *const psi_paths[_PSI_RESOURCE_MAX] = {
        [PSI_CPU] = PROC_PRESSURE_CPU_PATH,
        [PSI_MEMORY] = PROC_PRESSURE_MEMORY_PATH,
        [PSI_IO] = PROC_PRESSURE_IO_PATH,
    };
    _cleanup_(sampler_freep) struct sampler *s = NULL;
    int r;

    if (!o || !ret || o->root_fd < 0 || o->n_paths > HR_DISKS_MAX || (o->n_paths > 0 && !o->paths))
        return -EINVAL;

    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->root_fd = o->root_fd;
    s->stat_fd = s->meminfo_fd = s->loadavg_fd = s->diskstats_fd = s->net_dev_fd = -EBADF;
    s->proc_dir_fd = s->mem_limit_fd = s->mem_usage_fd = s->mem_stat_fd = -EBADF;
    s->cpu_max_fd = s->cfs_quota_fd = s->cfs_period_fd = s->cpu_usage_fd = -EBADF;
    for (size_t i = 0; i < _PSI_RESOURCE_MAX; i++)
        s->psi_fd[i] = -EBADF;

    for (unsigned i = 0; i < o->n_paths; i++) {
        if (!o->paths[i] || o->paths[i][0] == '\0')
            return -EINVAL;
        if (strlen(o->paths[i]) >= HR_PATH_MAX)
            return -ENAMETOOLONG;
        copy_string(s->paths[i], sizeof(s->paths[i]), o->paths[i]);
    }
    s->n_paths = o->n_paths;

    s->buf_size = READ_BUF_INITIAL_BYTES;
    s->buf = malloc(s->buf_size);
    s->dents = malloc(DENTS_BUF_BYTES);
    s->stat = calloc(2, sizeof(struct proc_stat));
    if (!s->buf || !s->dents || !s->stat)
        return -ENOMEM;

    s->stat_fd = open_file(s->root_fd, PROC_STAT_PATH);
    if (s->stat_fd < 0)
        return s->stat_fd;
    s->meminfo_fd = open_file(s->root_fd, PROC_MEMINFO_PATH);
    if (s->meminfo_fd < 0)
        return s->meminfo_fd;
    s->loadavg_fd = open_file(s->root_fd, PROC_LOADAVG_PATH);
    s->diskstats_fd = open_file(s->root_fd, PROC_DISKSTATS_PATH);
    s->net_dev_fd = open_file(s->root_fd, PROC_NET_DEV_PATH);
    s->proc_dir_fd = open_at_root(s->root_fd, PROC_DIR_PATH, O_RDONLY | O_DIRECTORY);

    for (size_t i = 0; i < _PSI_RESOURCE_MAX; i++) {
        struct psi_stats p;
        size_t n = 0;

        s->psi_fd[i] = open_file(s->root_fd, psi_paths[i]);
        if (s->psi_fd[i] < 0)
            continue;
        r = read_fd(s, s->psi_fd[i], &n);
        if (r >= 0)
            r = psi_parse(s->buf, n, &p);
        if (r < 0) {
            log_debug_errno(r, "PSI file '%s' is not usable: %m", psi_paths[i]);
            close_fd(&s->psi_fd[i]);
        }
    }

    s->real_root = root_is_real(s->root_fd);
    r = cgroup_setup(s);
    if (r == -ENOMEM)
        return r;

    describe(s);
    log_debug("Sampler sources: %s", s->description);
    *ret = TAKE_PTR(s);
    return 0;
}
