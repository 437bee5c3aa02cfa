/* SPDX-License-Identifier: MIT */
/* The task's cgroups: making the leaves and their limits, moving the child in, signalling and
 * measuring through them, and removing them.
 *
 * File formats: Documentation/admin-guide/cgroup-v2.rst ("Core Interface Files", "Memory",
 * "CPU", "PID") and Documentation/admin-guide/cgroup-v1/{memory,cpuacct,pids}.rst, and
 * Documentation/scheduler/sched-bwc.rst for the v1 CPU quota. */

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/macro.h"
#include "supervise/sv-internal.h"

/* The CFS bandwidth period we write with a CPU limit: the kernel's default, 100 ms. */
#define SV_CPU_PERIOD_USEC 100000ULL
/* The kernel refuses quotas under 1 ms. */
#define SV_CPU_QUOTA_MIN_USEC 1000ULL
/* cgroup.procs of a task is read into a buffer this large: SV_SAMPLE_PROCS_MAX pids of up to 10
 * digits and a newline fit with room to spare. */
#define SV_PROCS_READ_MAX (64U * 1024U)
/* Small cgroup files (a number, cpu.stat, io.stat of a few devices). */
#define SV_SMALL_READ_MAX 4096U
/* How long sv_cgroup_kill_and_remove() waits for killed processes to leave, in 10 ms steps:
 * SIGKILLed processes are gone within a few ms unless stuck in the kernel (D state). */
#define SV_EMPTY_WAIT_STEPS 100
#define SV_STEP_NSEC        (10L * 1000L * 1000L)

static const char *const v1_names[3] = { "memory", "cpu", "pids" };
static const unsigned v1_bits[3] = { SV_CONTROLLER_MEMORY, SV_CONTROLLER_CPU, SV_CONTROLLER_PIDS };

void sv_note(char *notes, size_t size, const char *fmt, ...)
{
    size_t len = strnlen(notes, size);
    va_list ap;

    if (len + 1 >= size)
        return;
    if (len > 0) {
        int k = snprintf(notes + len, size - len, "; ");
        if (k < 0 || (size_t) k >= size - len)
            return;
        len += (size_t) k;
    }
    va_start(ap, fmt);
    (void) vsnprintf(notes + len, size - len, fmt, ap);
    va_end(ap);
}

static const char *errname(int err)
{
    const char *s = strerrorname_np(err < 0 ? -err : err);
    return s ? s : "error";
}

static void sleep_step(void)
{
    struct timespec ts = { 0, SV_STEP_NSEC };
    (void) nanosleep(&ts, NULL);
}

/* Writes s to dir_fd/name (no O_CREAT: cgroup files exist or the feature is absent). */
static int write_at(int dir_fd, const char *name, const char *s)
{
    _cleanup_close_ int fd = openat(dir_fd, name, O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return negative_errno();
    size_t len = strlen(s);
    ssize_t k = write(fd, s, len);
    if (k < 0)
        return negative_errno();
    if ((size_t) k != len)
        return -EIO;
    return 0;
}

/* Reads dir_fd/name into buf (capacity size, NUL-terminated). A file larger than the buffer is
 * cut at its last whole line. Returns the length or -errno. */
static ssize_t read_at(int dir_fd, const char *name, char *buf, size_t size)
{
    ssize_t n = read_virtual_at(dir_fd, name, buf, size);
    if (n != -ENOBUFS)
        return n;
    size_t len = strlen(buf);
    while (len > 0 && buf[len - 1] != '\n')
        len--;
    buf[len] = '\0';
    return (ssize_t) len;
}

static int read_value_at(int dir_fd, const char *name, uint64_t *ret)
{
    char buf[128];
    ssize_t n = read_at(dir_fd, name, buf, sizeof buf);
    if (n < 0)
        return (int) n;
    return sv_cgroup_value_parse(buf, (size_t) n, ret);
}

static int write_u64_at(int dir_fd, const char *name, uint64_t v)
{
    char buf[DECIMAL_STR_MAX(uint64_t) + 1];
    snprintf(buf, sizeof buf, "%llu\n", (unsigned long long) v);
    return write_at(dir_fd, name, buf);
}

static int check_fs(const char *path, long magic)
{
    struct statfs sfs;

    if (statfs(path, &sfs) < 0)
        return negative_errno();
    if ((long) sfs.f_type != magic)
        return -ENOTSUP;
    return 0;
}

static const char *fs_why(int r)
{
    return r == -ENOTSUP ? "not a cgroup file system" : errname(r);
}

static uint64_t cpu_quota_usec(double cores)
{
    double q = cores * (double) SV_CPU_PERIOD_USEC;
    /* An upper bound far beyond any machine (a million cores) keeps the conversion defined. */
    if (q > 1e11)
        q = 1e11;
    uint64_t u = (uint64_t) (q + 0.5);
    return MAX(u, SV_CPU_QUOTA_MIN_USEC);
}

/* mkdir parent/name and open it. A leftover empty leaf of the same name (a run that died before
 * cleaning up) is removed first. */
static int
make_leaf(const char *parent, const char *name, char *path, size_t path_size, int *ret_fd)
{
    int k = snprintf(path, path_size, "%s%s%s", parent,
                     parent[0] && parent[strlen(parent) - 1] == '/' ? "" : "/", name);
    if (k < 0 || (size_t) k >= path_size)
        return -ENAMETOOLONG;
    if (mkdir(path, 0755) < 0) {
        if (errno != EEXIST)
            return negative_errno();
        if (rmdir(path) < 0 || mkdir(path, 0755) < 0)
            return -EEXIST;
    }
    int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        int r = negative_errno();
        (void) rmdir(path);
        return r;
    }
    *ret_fd = fd;
    return 0;
}

static void drop_leaf(int *fd, char *path)
{
    if (*fd >= 0)
        (void) close(*fd);
    *fd = -EBADF;
    if (path[0])
        (void) rmdir(path);
    path[0] = '\0';
}

static void controllers_to_string(unsigned mask, char *buf, size_t size)
{
    static const char *const names[] = { "memory", "cpu", "pids", "io" };
    size_t len = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < ELEMENTSOF(names); i++)
        if (mask & (1U << i)) {
            int k = snprintf(buf + len, size - len, "%s%s", len ? "," : "", names[i]);
            if (k < 0 || (size_t) k >= size - len)
                return;
            len += (size_t) k;
        }
}

/* Makes sure the v2 controllers in needs are enabled for children of parent, enabling them
 * where the parent offers them. The no-internal-process rule makes that fail with EBUSY when
 * parent holds processes and is not the root. */
static int v2_enable(const char *parent, unsigned needs, char *why, size_t why_size)
{
    _cleanup_close_ int pfd = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
    char buf[512], names[64];

    if (pfd < 0) {
        int r = negative_errno();
        snprintf(why, why_size, "%s", errname(r));
        return r;
    }
    ssize_t n = read_at(pfd, "cgroup.subtree_control", buf, sizeof buf);
    unsigned enabled = n >= 0 ? (unsigned) sv_cgroup_controllers_parse(buf, (size_t) n) : 0;
    unsigned missing = needs & ~enabled;
    if (missing == 0)
        return 0;

    n = read_at(pfd, "cgroup.controllers", buf, sizeof buf);
    unsigned available = n >= 0 ? (unsigned) sv_cgroup_controllers_parse(buf, (size_t) n) : 0;
    if (missing & ~available) {
        controllers_to_string(missing & ~available, names, sizeof names);
        snprintf(why, why_size, "no %s controller", names);
        return -EOPNOTSUPP;
    }

    char cmd[64] = "";
    size_t len = 0;
    for (unsigned i = 0; i < 3; i++)
        if (missing & v1_bits[i]) {
            int k = snprintf(cmd + len, sizeof cmd - len, "%s+%s", len ? " " : "", v1_names[i]);
            if (k > 0 && (size_t) k < sizeof cmd - len)
                len += (size_t) k;
        }
    int r = write_at(pfd, "cgroup.subtree_control", cmd);
    if (r < 0) {
        controllers_to_string(missing, names, sizeof names);
        snprintf(why, why_size, "cannot enable %s: %s", names, errname(r));
        return r;
    }
    return 0;
}

static int v2_write_limits(int fd, const struct sv_limits *l)
{
    int r;

    if (l->max_mem_bytes > 0) {
        r = write_u64_at(fd, "memory.max", l->max_mem_bytes);
        if (r < 0)
            return r;
        /* An OOM kill takes the whole task, not one process of it at random. */
        (void) write_at(fd, "memory.oom.group", "1\n");
    }
    if (l->max_cpu_cores > 0) {
        char buf[64];
        snprintf(buf, sizeof buf, "%llu %llu\n",
                 (unsigned long long) cpu_quota_usec(l->max_cpu_cores),
                 (unsigned long long) SV_CPU_PERIOD_USEC);
        r = write_at(fd, "cpu.max", buf);
        if (r < 0)
            return r;
    }
    if (l->max_pids > 0) {
        r = write_u64_at(fd, "pids.max", l->max_pids);
        if (r < 0)
            return r;
    }
    return 0;
}

static int v1_write_limit(int fd, int h, const struct sv_limits *l)
{
    int r;

    switch (h) {
    case SV_HIERARCHY_MEMORY:
        return write_u64_at(fd, "memory.limit_in_bytes", l->max_mem_bytes);
    case SV_HIERARCHY_CPU:
        r = write_u64_at(fd, "cpu.cfs_period_us", SV_CPU_PERIOD_USEC);
        if (r < 0)
            return r;
        return write_u64_at(fd, "cpu.cfs_quota_us", cpu_quota_usec(l->max_cpu_cores));
    case SV_HIERARCHY_PIDS:
        return write_u64_at(fd, "pids.max", l->max_pids);
    default:
        return -EINVAL;
    }
}

static void remove_all(struct sv_child *c)
{
    drop_leaf(&c->v2_fd, c->v2_path);
    for (int i = 0; i < 3; i++)
        drop_leaf(&c->v1_fds[i], c->v1_paths[i]);
    c->v1_cpuacct = false;
}

int sv_cgroup_prepare(const struct sv_spawn_options *o,
                      struct sv_child *c,
                      char *notes,
                      size_t notes_size)
{
    const char *root = o->sys_root && o->sys_root[0] ? o->sys_root : "/";
    const unsigned needs = sv_limits_controllers(&o->limits);
    char prefix[SV_PATH_MAX], parent[SV_PATH_MAX], why[SV_WHY_MAX + 64];
    _cleanup_free_ char *mountinfo = NULL, *self = NULL;
    _cleanup_free_ struct sv_cgroup_plan *plan = NULL;
    size_t mountinfo_n = 0, self_n = 0;
    int r;

    /* The prefix put before every path of the plan: none for "/", else sys_root. */
    snprintf(prefix, sizeof prefix, "%s", strcmp(root, "/") == 0 ? "" : root);
    for (size_t l = strlen(prefix); l > 0 && prefix[l - 1] == '/'; l--)
        prefix[l - 1] = '\0';

    _cleanup_close_ int root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) {
        sv_note(notes, notes_size, "cannot open %s: %s", root, errname(errno));
        return needs ? -EOPNOTSUPP : 0;
    }
    r = read_full_virtual_at(root_fd, "proc/self/mountinfo", READ_VIRTUAL_MAX_BYTES, &mountinfo,
                             &mountinfo_n);
    if (r >= 0)
        r = read_full_virtual_at(root_fd, "proc/self/cgroup", SV_PROCS_READ_MAX, &self, &self_n);
    if (r == -ENOMEM)
        return r;
    if (r < 0) {
        sv_note(notes, notes_size, "cannot read proc/self: %s", errname(r));
        return needs ? -EOPNOTSUPP : 0;
    }
    plan = calloc(1, sizeof *plan);
    if (!plan)
        return -ENOMEM;
    r = sv_cgroup_plan_make(mountinfo, mountinfo_n, self, self_n, plan);
    if (r == -ENOMEM)
        return r;
    if (r < 0) {
        sv_note(notes, notes_size, "cannot parse proc/self/mountinfo: %s", errname(r));
        return needs ? -EOPNOTSUPP : 0;
    }

    /* cgroup v2 first: the common case, and the only one with cgroup.kill and CLONE_INTO_CGROUP. */
    bool v2_limits = false;
    if (!plan->usable[SV_HIERARCHY_UNIFIED])
        sv_note(notes, notes_size, "cgroup v2: %s", plan->why[SV_HIERARCHY_UNIFIED]);
    else {
        snprintf(parent, sizeof parent, "%s%s", prefix, plan->parent[SV_HIERARCHY_UNIFIED]);
        r = check_fs(parent, CGROUP2_SUPER_MAGIC);
        if (r < 0)
            sv_note(notes, notes_size, "cgroup v2: %s", fs_why(r));
        else {
            if (needs) {
                why[0] = '\0';
                r = v2_enable(parent, needs, why, sizeof why);
                v2_limits = r >= 0;
                /* Our own cgroup holds processes (a login session, a service), so under the no
                 * internal process rule it cannot give controllers to children. Root may put the
                 * task in a cgroup of headroom's own at the top of the hierarchy instead, as
                 * container managers do. */
                if (!v2_limits && r != -EOPNOTSUPP && r != -ENOMEM && plan->v2_top[0] && o->allow_top) {
                    char top[SV_PATH_MAX], twhy[SV_WHY_MAX + 64] = "";
                    int k = snprintf(top, sizeof top, "%s%s/" SV_CGROUP_TOP_DIR, prefix, plan->v2_top);
                    snprintf(parent, sizeof parent, "%s%s", prefix, plan->v2_top);
                    if (k > 0 && (size_t) k < sizeof top && v2_enable(parent, needs, twhy, sizeof twhy) >= 0 &&
                        (mkdir(top, 0755) >= 0 || errno == EEXIST) && v2_enable(top, needs, twhy, sizeof twhy) >= 0) {
                        memcpy(parent, top, (size_t) k + 1);
                        v2_limits = true;
                        sv_note(notes, notes_size, "cgroup v2: our own cgroup holds processes, so below %s",
                                top);
                    } else {
                        snprintf(parent, sizeof parent, "%s%s", prefix, plan->parent[SV_HIERARCHY_UNIFIED]);
                        sv_note(notes, notes_size, "cgroup v2: %s; at the top: %s", why, twhy[0] ? twhy : errname(errno));
                    }
                } else if (!v2_limits)
                    sv_note(notes, notes_size, "cgroup v2: %s", why);
            }
            r = make_leaf(parent, o->cgroup_name, c->v2_path, sizeof c->v2_path, &c->v2_fd);
            if (r < 0) {
                c->v2_path[0] = '\0';
                v2_limits = false;
                sv_note(notes, notes_size, "cgroup v2: mkdir: %s", errname(r));
            } else if (v2_limits) {
                r = v2_write_limits(c->v2_fd, &o->limits);
                if (r < 0) {
                    /* Start over without limits: a leaf with half of them would surprise. */
                    sv_note(notes, notes_size, "cgroup v2: limits: %s", errname(r));
                    v2_limits = false;
                    drop_leaf(&c->v2_fd, c->v2_path);
                    r = make_leaf(parent, o->cgroup_name, c->v2_path, sizeof c->v2_path, &c->v2_fd);
                    if (r < 0)
                        c->v2_path[0] = '\0';
                }
            }
        }
    }

    /* cgroup v1 for the limits v2 could not take, and, where there is no v2 leaf, for the memory
     * and CPU accounting of the whole tree. Not for accounting beside a v2 leaf: joining a v1
     * cgroup means migrating the child, and a migration waits for an RCU grace period (about
     * 10 ms: the child's placement through CLONE_INTO_CGROUP costs nothing), which would make a
     * short command several times slower. The v2 leaf still holds the whole tree; its memory is
     * then the sum of its processes' RSS, sampled, and the peak the kernel kept per process. */
    const unsigned needs_v1 = v2_limits ? 0 : needs;
    for (int i = 0; i < 3; i++) {
        const int h = SV_HIERARCHY_MEMORY + i;
        const bool required = needs_v1 & v1_bits[i];
        bool wanted = required;
        if (i == 0 && c->v2_fd < 0)
            wanted = true;
        if (i == 1 && c->v2_fd < 0 && plan->cpuacct_with_cpu)
            wanted = true;
        if (!wanted)
            continue;
        if (!plan->usable[h]) {
            if (required) {
                sv_note(notes, notes_size, "cgroup v1 %s: %s", v1_names[i], plan->why[h]);
                goto unsupported;
            }
            continue;
        }
        snprintf(parent, sizeof parent, "%s%s", prefix, plan->parent[h]);
        r = check_fs(parent, CGROUP_SUPER_MAGIC);
        if (r >= 0)
            r = make_leaf(parent, o->cgroup_name, c->v1_paths[i], sizeof c->v1_paths[i],
                          &c->v1_fds[i]);
        else
            c->v1_paths[i][0] = '\0';
        if (r < 0) {
            c->v1_paths[i][0] = '\0';
            sv_note(notes, notes_size, "cgroup v1 %s: %s", v1_names[i], fs_why(r));
            if (required)
                goto unsupported;
            continue;
        }
        if (required) {
            r = v1_write_limit(c->v1_fds[i], h, &o->limits);
            if (r < 0) {
                sv_note(notes, notes_size, "cgroup v1 %s: limit: %s", v1_names[i], errname(r));
                goto unsupported;
            }
        }
    }
    c->v1_cpuacct = c->v1_fds[1] >= 0 && plan->cpuacct_with_cpu;

    if (needs)
        c->isolation = v2_limits ? SV_ISOLATION_CGROUP_V2 : SV_ISOLATION_CGROUP_V1;
    return 0;

unsupported:
    remove_all(c);
    return -EOPNOTSUPP;
}

int sv_cgroup_join(struct sv_child *c,
                   pid_t pid,
                   bool v2_joined,
                   const struct sv_limits *limits,
                   char *notes,
                   size_t notes_size)
{
    const unsigned needs = sv_limits_controllers(limits);
    char buf[DECIMAL_STR_MAX(pid_t) + 1];
    int r;

    snprintf(buf, sizeof buf, "%d\n", (int) pid);
    if (c->v2_fd >= 0 && !v2_joined) {
        r = write_at(c->v2_fd, "cgroup.procs", buf);
        if (r < 0) {
            sv_note(notes, notes_size, "cgroup v2: joining: %s", errname(r));
            if (needs && c->isolation == SV_ISOLATION_CGROUP_V2)
                return -EOPNOTSUPP;
            drop_leaf(&c->v2_fd, c->v2_path);
        }
    }
    for (int i = 0; i < 3; i++) {
        if (c->v1_fds[i] < 0)
            continue;
        r = write_at(c->v1_fds[i], "cgroup.procs", buf);
        if (r < 0) {
            sv_note(notes, notes_size, "cgroup v1 %s: joining: %s", v1_names[i], errname(r));
            if (c->isolation == SV_ISOLATION_CGROUP_V1 && (needs & v1_bits[i]))
                return -EOPNOTSUPP;
            drop_leaf(&c->v1_fds[i], c->v1_paths[i]);
            if (i == 1)
                c->v1_cpuacct = false;
        }
    }
    return 0;
}

static const char *first_v1(const struct sv_child *c)
{
    for (int i = 0; i < 3; i++)
        if (c->v1_fds[i] >= 0)
            return c->v1_paths[i];
    return NULL;
}

void sv_cgroup_describe(struct sv_child *c, const struct sv_limits *limits, const char *notes)
{
    const char *v1 = first_v1(c);
    char *d = c->isolation_desc;
    const size_t size = sizeof c->isolation_desc;

    if (sv_limits_controllers(limits) == 0) {
        if (c->v2_fd >= 0)
            c->isolation = SV_ISOLATION_CGROUP_V2;
        else if (v1)
            c->isolation = SV_ISOLATION_CGROUP_V1;
        else
            c->isolation = SV_ISOLATION_GROUP;
    }
    d[0] = '\0';
    c->cgroup_path[0] = '\0';
    switch (c->isolation) {
    case SV_ISOLATION_CGROUP_V2:
        snprintf(c->cgroup_path, sizeof c->cgroup_path, "%s", c->v2_path);
        sv_note(d, size, "cgroup v2 %s", c->v2_path);
        if (v1)
            sv_note(d, size, "memory in cgroup v1 %s", v1);
        break;
    case SV_ISOLATION_CGROUP_V1:
        snprintf(c->cgroup_path, sizeof c->cgroup_path, "%s", v1 ? v1 : "");
        sv_note(d, size, "cgroup v1 %s", v1 ? v1 : "");
        if (c->v2_fd >= 0)
            sv_note(d, size, "tracked in cgroup v2 %s", c->v2_path);
        break;
    default:
        sv_note(d, size, "process group");
        break;
    }
    if (notes && notes[0]) {
        size_t len = strnlen(d, size);
        if (len + 4 < size)
            snprintf(d + len, size - len, " (%s)", notes);
    }
}

int sv_cgroup_pids(const struct sv_child *c, pid_t *pids, size_t max)
{
    int fds[4] = { c->v2_fd, c->v1_fds[0], c->v1_fds[1], c->v1_fds[2] };
    bool any = false;
    size_t total = 0;

    _cleanup_free_ char *buf = malloc(SV_PROCS_READ_MAX);
    _cleanup_free_ pid_t *tmp = calloc(max ? max : 1, sizeof(pid_t));
    if (!buf || !tmp)
        return -ENOMEM;
    for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
        if (fds[i] < 0)
            continue;
        any = true;
        ssize_t n = read_at(fds[i], "cgroup.procs", buf, SV_PROCS_READ_MAX);
        if (n < 0)
            continue;
        int k = sv_cgroup_procs_parse(buf, (size_t) n, tmp, max);
        for (int j = 0; j < k && total < max; j++)
            pids[total++] = tmp[j];
        /* A v2 leaf sees every process; the v1 leaves would only repeat it. */
        if (i == 0 && k >= 0)
            break;
    }
    if (!any)
        return -ENOENT;
    return (int) sv_pids_sort_unique(pids, total);
}

int sv_cgroup_signal(const struct sv_child *c, int sig)
{
    _cleanup_free_ pid_t *pids = calloc(SV_SAMPLE_PROCS_MAX, sizeof(pid_t));
    int n, hit = 0;

    if (!pids)
        return -ENOMEM;
    n = sv_cgroup_pids(c, pids, SV_SAMPLE_PROCS_MAX);
    if (n < 0)
        return n == -ENOENT ? 0 : n;
    if (sig == SIGKILL && c->v2_fd >= 0 && write_at(c->v2_fd, "cgroup.kill", "1") >= 0)
        hit = n; /* the kernel has killed every one of them, forks in flight included */
    for (int i = 0; i < n; i++)
        if (kill(pids[i], sig) >= 0 && hit < n)
            hit++;
    return hit;
}

void sv_cgroup_usage_read(const struct sv_child *c, struct sv_cgroup_usage *ret)
{
    struct sv_cgroup_usage u = { 0 };
    char buf[SV_SMALL_READ_MAX];
    uint64_t v;

    if (c->v2_fd >= 0) {
        if (read_value_at(c->v2_fd, "memory.current", &v) >= 0) {
            u.memory_ok = true;
            u.memory_bytes = v;
        }
        if (read_value_at(c->v2_fd, "memory.peak", &v) >= 0) {
            u.peak_ok = true;
            u.peak_bytes = v;
        }
        ssize_t n = read_at(c->v2_fd, "cpu.stat", buf, sizeof buf);
        if (n >= 0 && sv_cgroup_keyed_parse(buf, (size_t) n, "usage_usec", &v) >= 0) {
            u.cpu_ok = true;
            u.cpu_usec = v;
        }
        n = read_at(c->v2_fd, "io.stat", buf, sizeof buf);
        if (n >= 0 &&
            sv_cgroup_io_stat_parse(buf, (size_t) n, &u.io_read_bytes, &u.io_write_bytes) >= 0)
            u.io_ok = true;
    }
    if (c->v1_fds[0] >= 0) {
        if (!u.memory_ok && read_value_at(c->v1_fds[0], "memory.usage_in_bytes", &v) >= 0) {
            u.memory_ok = true;
            u.memory_bytes = v;
        }
        if (!u.peak_ok && read_value_at(c->v1_fds[0], "memory.max_usage_in_bytes", &v) >= 0) {
            u.peak_ok = true;
            u.peak_bytes = v;
        }
    }
    if (!u.cpu_ok && c->v1_cpuacct && c->v1_fds[1] >= 0 &&
        read_value_at(c->v1_fds[1], "cpuacct.usage", &v) >= 0) {
        u.cpu_ok = true;
        u.cpu_usec = v / 1000; /* ns */
    }
    *ret = u;
}

void sv_cgroup_kill_and_remove(struct sv_child *c)
{
    _cleanup_free_ pid_t *pids = calloc(SV_SAMPLE_PROCS_MAX, sizeof(pid_t));

    if (pids)
        for (int step = 0; step < SV_EMPTY_WAIT_STEPS; step++) {
            int n = sv_cgroup_pids(c, pids, SV_SAMPLE_PROCS_MAX);
            if (n <= 0)
                break;
            /* Again every 100 ms: a fork racing the first kill may have slipped through (v1). */
            if (step % 10 == 0)
                (void) sv_cgroup_signal(c, SIGKILL);
            sleep_step();
        }
    sv_cgroup_release(c, true);
}

void sv_cgroup_release(struct sv_child *c, bool wait_busy)
{
    char *paths[4] = { c->v2_path, c->v1_paths[0], c->v1_paths[1], c->v1_paths[2] };
    int *fds[4] = { &c->v2_fd, &c->v1_fds[0], &c->v1_fds[1], &c->v1_fds[2] };

    for (int i = 0; i < 4; i++) {
        if (*fds[i] >= 0)
            (void) close(*fds[i]);
        *fds[i] = -EBADF;
        if (!paths[i][0])
            continue;
        /* A v2 cgroup can report EBUSY for a moment after its last process is gone. */
        for (int step = 0; rmdir(paths[i]) < 0 && errno == EBUSY && wait_busy && step < 20; step++)
            sleep_step();
        paths[i][0] = '\0';
    }
    c->v1_cpuacct = false;
}
