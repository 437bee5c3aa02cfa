/* SPDX-License-Identifier: MIT */
/* Suspending and resuming a running task from outside it, given the pid that leads its process
 * group: through the cgroup v2 freezer of its headroom leaf (cgroup.freeze and cgroup.events,
 * Documentation/admin-guide/cgroup-v2.rst, "Core Interface Files"), else the v1 freezer
 * (freezer.state, Documentation/admin-guide/cgroup-v1/freezer-subsystem.rst), else SIGSTOP and
 * SIGCONT to the process group. A cgroup freeze cannot be undone or noticed by the task, and takes
 * processes that left the group; SIGSTOP is what every kernel has.
 *
 * Where the leaf is comes from the texts of proc/PID/cgroup (cgroups(7)) and proc/self/mountinfo
 * (proc(5)), decided by sv_freeze_locate(), which is pure. Every host file is opened below a root
 * fd, so the tests run this on fixture trees. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/macro.h"
#include "supervise/sv-internal.h"

/* /proc/PID/stat is one line of 52 numbers and a comm of at most 64 bytes. */
#define STAT_READ_MAX 2048U
/* proc/PID/cgroup: one line per hierarchy, each path at most SV_PATH_MAX. */
#define PID_CGROUP_READ_MAX (64U * 1024U)
/* cgroup.events ("populated 1\nfrozen 0\n") and freezer.state ("FREEZING\n"). */
#define SMALL_READ_MAX 256U

static const char *const method_names[_SV_FREEZE_METHOD_MAX] = {
    [SV_FREEZE_CGROUP_V2] = "cgroup.freeze",
    [SV_FREEZE_CGROUP_V1] = "freezer.state",
    [SV_FREEZE_SIGNAL] = "SIGSTOP",
};

const char *sv_freeze_method_to_string(enum sv_freeze_method m)
{
    if (m < 0 || m >= _SV_FREEZE_METHOD_MAX)
        return NULL;
    return method_names[m];
}

/* ---- Where: pure ---------------------------------------------------------------------------- */

/* The path of the hierarchy in proc/PID/cgroup: the v2 one ("0::/path") when controller is NULL,
 * else the v1 one whose controller list holds controller. False when there is none or the line
 * is not one the kernel writes. */
static bool cgroup_line_path(const char *buf, size_t n, const char *controller, struct sv_span *ret)
{
    struct sv_span rest = { buf, n }, line;

    while (sv_span_next_line(&rest, &line)) {
        const char *c1 = memchr(line.p, ':', line.n);
        if (!c1)
            continue;
        const char *c2 = memchr(c1 + 1, ':', line.n - (size_t) (c1 + 1 - line.p));
        if (!c2)
            continue;
        struct sv_span id = { line.p, (size_t) (c1 - line.p) };
        struct sv_span ctrls = { c1 + 1, (size_t) (c2 - c1 - 1) };
        struct sv_span path = { c2 + 1, line.n - (size_t) (c2 + 1 - line.p) };
        uint64_t hid;

        if (sv_span_to_u64(id, &hid) < 0 || path.n == 0 || path.p[0] != '/')
            continue;
        if (controller ? !sv_span_list_has(ctrls, controller) : hid != 0 || ctrls.n != 0)
            continue;
        *ret = path;
        return true;
    }
    return false;
}

/* Whether the last component of path is a headroom leaf: "headroom-" and something after it. */
static bool is_headroom_leaf(struct sv_span path)
{
    const size_t l = strlen(SV_FREEZE_LEAF_PREFIX);
    size_t start = path.n;

    while (start > 0 && path.p[start - 1] != '/')
        start--;
    return path.n - start > l && memcmp(path.p + start, SV_FREEZE_LEAF_PREFIX, l) == 0;
}

static bool has_dotdot(struct sv_span p)
{
    for (size_t i = 0; i + 1 < p.n; i++)
        if (p.p[i] == '.' && p.p[i + 1] == '.' && (i == 0 || p.p[i - 1] == '/') &&
            (i + 2 == p.n || p.p[i + 2] == '/'))
            return true;
    return false;
}

/* The v1 freezer's mount: the first mountinfo line of type "cgroup" whose super options list
 * "freezer" (later ones are bind mounts). ROOT and MOUNTPOINT (fields 4 and 5) are taken only
 * without octal escapes: a freezer mounted at a path with blanks in it is not worth the risk of
 * writing to the wrong place, and the task is then stopped with SIGSTOP instead. */
static bool
freezer_mount(const char *buf, size_t n, struct sv_span *ret_root, struct sv_span *ret_mp)
{
    struct sv_span rest = { buf, n }, line;

    while (sv_span_next_line(&rest, &line)) {
        struct sv_span l = line, tok, fields[6], fstype, source, super;
        size_t k = 0;
        bool sep = false;

        while (k < 6 && sv_span_next_token(&l, &tok))
            fields[k++] = tok;
        if (k < 6)
            continue;
        while (sv_span_next_token(&l, &tok))
            if (sv_span_eq(tok, "-")) {
                sep = true;
                break;
            }
        if (!sep || !sv_span_next_token(&l, &fstype) || !sv_span_eq(fstype, "cgroup") ||
            !sv_span_next_token(&l, &source) || !sv_span_next_token(&l, &super) ||
            !sv_span_list_has(super, "freezer"))
            continue;
        if (memchr(fields[3].p, '\\', fields[3].n) || memchr(fields[4].p, '\\', fields[4].n) ||
            fields[3].p[0] != '/' || fields[4].p[0] != '/' || sv_span_list_has(fields[5], "ro") ||
            sv_span_list_has(super, "ro"))
            return false;
        *ret_root = fields[3];
        *ret_mp = fields[4];
        return true;
    }
    return false;
}

/* mount point + (path minus the mount's root) into buf. False when path lies outside the
 * mounted subtree or does not fit. */
static bool
join(struct sv_span mp, struct sv_span root, struct sv_span path, char *buf, size_t size)
{
    struct sv_span rel = path;

    if (!(root.n == 1 && root.p[0] == '/')) {
        if (path.n < root.n || memcmp(path.p, root.p, root.n) != 0 ||
            (path.n > root.n && path.p[root.n] != '/'))
            return false;
        rel.p += root.n;
        rel.n -= root.n;
    }
    while (rel.n > 0 && rel.p[0] == '/') {
        rel.p++;
        rel.n--;
    }
    while (mp.n > 1 && mp.p[mp.n - 1] == '/')
        mp.n--;
    int k = snprintf(buf, size, "%.*s%s%.*s", (int) mp.n, mp.p,
                     rel.n > 0 && mp.p[mp.n - 1] != '/' ? "/" : "", (int) rel.n, rel.p);
    return k >= 0 && (size_t) k < size;
}

int sv_freeze_locate(const char *mountinfo,
                     size_t mountinfo_n,
                     const char *pid_cgroup,
                     size_t pid_cgroup_n,
                     struct sv_freeze_where *ret)
{
    if (!mountinfo || !pid_cgroup || !ret)
        return -EINVAL;

    _cleanup_free_ struct sv_freeze_where *w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;

    /* v2: the plan of cgroup-plan.c joins the mount and the path, with its checks (read-only
     * mounts, paths outside the namespace's view or the mounted subtree); given the task's
     * proc/PID/cgroup in place of our own, its "parent" is the task's own cgroup. */
    struct sv_span path;
    if (cgroup_line_path(pid_cgroup, pid_cgroup_n, NULL, &path) && is_headroom_leaf(path)) {
        _cleanup_free_ struct sv_cgroup_plan *plan = calloc(1, sizeof *plan);
        if (!plan)
            return -ENOMEM;
        int r = sv_cgroup_plan_make(mountinfo, mountinfo_n, pid_cgroup, pid_cgroup_n, plan);
        if (r == -ENOMEM)
            return r;
        /* A malformed text means no v2 leaf we trust; the other methods may still apply. */
        if (r >= 0 && plan->usable[SV_HIERARCHY_UNIFIED])
            memcpy(w->v2_leaf, plan->parent[SV_HIERARCHY_UNIFIED], sizeof w->v2_leaf);
    }

    struct sv_span root, mp;
    if (cgroup_line_path(pid_cgroup, pid_cgroup_n, "freezer", &path) && is_headroom_leaf(path) &&
        !has_dotdot(path) && !memchr(path.p, '\0', path.n) &&
        freezer_mount(mountinfo, mountinfo_n, &root, &mp) &&
        !join(mp, root, path, w->v1_leaf, sizeof w->v1_leaf))
        w->v1_leaf[0] = '\0';

    *ret = *w;
    return 0;
}

/* ---- I/O ------------------------------------------------------------------------------------ */

static int read_stat(int root_fd, pid_t pid, struct sv_proc_stat *ret)
{
    char name[DECIMAL_STR_MAX(pid_t) + 16], buf[STAT_READ_MAX];

    snprintf(name, sizeof name, "proc/%d/stat", (int) pid);
    ssize_t n = read_virtual_at(root_fd, name, buf, sizeof buf);
    if (n == -ENOENT)
        return -ESRCH;
    if (n < 0)
        return (int) n;
    return sv_proc_stat_parse(buf, (size_t) n, ret);
}

/* The pid is there and not a zombie. */
static int check_alive(int root_fd, pid_t pid, struct sv_proc_stat *ret)
{
    struct sv_proc_stat st;
    int r = read_stat(root_fd, pid, &st);

    if (r < 0)
        return r;
    if (st.state == 'Z' || st.state == 'X')
        return -ESRCH;
    if (ret)
        *ret = st;
    return 0;
}

static int locate(int root_fd, pid_t pid, struct sv_freeze_where *ret)
{
    _cleanup_free_ char *mountinfo = NULL, *cg = NULL;
    size_t mountinfo_n = 0, cg_n = 0;
    char name[DECIMAL_STR_MAX(pid_t) + 16];
    int r;

    snprintf(name, sizeof name, "proc/%d/cgroup", (int) pid);
    r = read_full_virtual_at(root_fd, name, PID_CGROUP_READ_MAX, &cg, &cg_n);
    if (r == -ENOENT)
        return -ESRCH;
    if (r == -ENOMEM)
        return r;
    if (r < 0) {
        /* No cgroup file to read (a kernel without cgroups): only the signal is left. */
        *ret = (struct sv_freeze_where){ 0 };
        return 0;
    }
    r = read_full_virtual_at(root_fd, "proc/self/mountinfo", READ_VIRTUAL_MAX_BYTES, &mountinfo,
                             &mountinfo_n);
    if (r == -ENOMEM)
        return r;
    if (r < 0) {
        *ret = (struct sv_freeze_where){ 0 };
        return 0;
    }
    r = sv_freeze_locate(mountinfo, mountinfo_n, cg, cg_n, ret);
    if (r < 0)
        return r;

    /* Never freeze our own cgroup: a daemon started inside a headroom leaf (under `headroom run`,
     * say) shares it with nothing it should stop, least of all itself. Without a proc/self/cgroup
     * to compare with, we are in no leaf. */
    _cleanup_free_ char *self = NULL;
    size_t self_n = 0;
    r = read_full_virtual_at(root_fd, "proc/self/cgroup", PID_CGROUP_READ_MAX, &self, &self_n);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return 0;
    _cleanup_free_ struct sv_freeze_where *own = calloc(1, sizeof *own);
    if (!own)
        return -ENOMEM;
    r = sv_freeze_locate(mountinfo, mountinfo_n, self, self_n, own);
    if (r < 0)
        return r;
    if (own->v2_leaf[0] && strcmp(own->v2_leaf, ret->v2_leaf) == 0)
        ret->v2_leaf[0] = '\0';
    if (own->v1_leaf[0] && strcmp(own->v1_leaf, ret->v1_leaf) == 0)
        ret->v1_leaf[0] = '\0';
    return 0;
}

/* Writes s to leaf/name under root_fd, without O_CREAT or O_TRUNC: cgroup files exist or the
 * feature is absent (-ENOENT). */
static int write_leaf(int root_fd, const char *leaf, const char *name, const char *s)
{
    char path[SV_PATH_MAX + 32];
    int k = snprintf(path, sizeof path, "%s/%s", leaf, name);

    if (k < 0 || (size_t) k >= sizeof path)
        return -ENAMETOOLONG;
    _cleanup_close_ int fd = open_at_root(root_fd, path, O_WRONLY);
    if (fd < 0)
        return fd;
    size_t len = strlen(s);
    ssize_t w = write(fd, s, len);
    if (w < 0)
        return negative_errno();
    return (size_t) w == len ? 0 : -EIO;
}

static ssize_t read_leaf(int root_fd, const char *leaf, const char *name, char *buf, size_t size)
{
    char path[SV_PATH_MAX + 32];
    int k = snprintf(path, sizeof path, "%s/%s", leaf, name);

    if (k < 0 || (size_t) k >= sizeof path)
        return -ENAMETOOLONG;
    while (path[0] == '/')
        memmove(path, path + 1, strlen(path));
    return read_virtual_at(root_fd, path, buf, size);
}

/* The last safety check before kill(-pid): pid is alive and leads its own group, and that group
 * is not ours (nor init's, nor "every process": kill(-1) means all of them). */
static int check_group_leader(int root_fd, pid_t pid)
{
    struct sv_proc_stat st;
    int r;

    if (pid <= 1 || pid == getpid() || pid == getpgrp())
        return -EINVAL;
    r = check_alive(root_fd, pid, &st);
    if (r < 0)
        return r;
    return st.pgrp == pid ? 0 : -ESRCH;
}

static void info_set(struct sv_freeze_info *ret, enum sv_freeze_method m, const char *leaf)
{
    if (!ret)
        return;
    ret->method = m;
    snprintf(ret->cgroup_path, sizeof ret->cgroup_path, "%s", leaf ? leaf : "");
}

int sv_group_signal(int root_fd, pid_t pid, int sig)
{
    int r;

    if (root_fd < 0 || pid <= 0 || sig < 0 || sig >= NSIG)
        return -EINVAL;
    r = check_group_leader(root_fd, pid);
    if (r < 0)
        return r;
    if (kill(-pid, sig) < 0)
        return negative_errno();
    return 0;
}

/* The checks and the leaves both entry points start with: *ret is malloc()ed. */
static int where_for(int root_fd, pid_t pid, struct sv_freeze_where **ret)
{
    _cleanup_free_ struct sv_freeze_where *w = NULL;
    int r;

    if (root_fd < 0 || pid <= 0)
        return -EINVAL;
    r = check_alive(root_fd, pid, NULL);
    if (r < 0)
        return r;
    w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    r = locate(root_fd, pid, w);
    if (r < 0)
        return r;
    *ret = TAKE_PTR(w);
    return 0;
}

int sv_freeze(int root_fd, pid_t pid, bool freeze, struct sv_freeze_info *ret)
{
    _cleanup_free_ struct sv_freeze_where *w = NULL;
    int r = where_for(root_fd, pid, &w);
    if (r < 0)
        return r;

    /* A leaf without the control file (a kernel before 5.2 has no cgroup.freeze; a leaf removed
     * meanwhile) or one that refuses the write: the next method. */
    if (w->v2_leaf[0] &&
        write_leaf(root_fd, w->v2_leaf, "cgroup.freeze", freeze ? "1\n" : "0\n") >= 0) {
        info_set(ret, SV_FREEZE_CGROUP_V2, w->v2_leaf);
        return 0;
    }
    if (w->v1_leaf[0] &&
        write_leaf(root_fd, w->v1_leaf, "freezer.state", freeze ? "FROZEN\n" : "THAWED\n") >= 0) {
        info_set(ret, SV_FREEZE_CGROUP_V1, w->v1_leaf);
        return 0;
    }

    r = sv_group_signal(root_fd, pid, freeze ? SIGSTOP : SIGCONT);
    if (r < 0)
        return r;
    info_set(ret, SV_FREEZE_SIGNAL, NULL);
    return 0;
}

/* 1 when every live process of the group is stopped ('T'), 0 when one is not, -ESRCH when none
 * is left. */
static int group_stopped(int root_fd, pid_t pgid)
{
    _cleanup_close_ int proc_fd = open_at_root(root_fd, "proc", O_RDONLY | O_DIRECTORY);
    _cleanup_free_ pid_t *pids = calloc(SV_SAMPLE_PROCS_MAX, sizeof(pid_t));
    int n;

    if (proc_fd < 0)
        return proc_fd;
    if (!pids)
        return -ENOMEM;
    n = sv_proc_group_pids(proc_fd, pgid, pids, SV_SAMPLE_PROCS_MAX);
    if (n < 0)
        return n;
    if (n == 0)
        return -ESRCH;
    for (int i = 0; i < n; i++) {
        struct sv_proc_stat st;
        if (read_stat(root_fd, pids[i], &st) < 0)
            continue; /* gone meanwhile */
        if (st.state != 'T')
            return 0;
    }
    return 1;
}

int sv_frozen_state(int root_fd, pid_t pid, struct sv_freeze_info *ret)
{
    _cleanup_free_ struct sv_freeze_where *w = NULL;
    char buf[SMALL_READ_MAX];
    uint64_t v;
    ssize_t n;
    int r = where_for(root_fd, pid, &w);
    if (r < 0)
        return r;

    /* The same order as sv_freeze(): the method it would use is the one to ask. */
    if (w->v2_leaf[0] &&
        (n = read_leaf(root_fd, w->v2_leaf, "cgroup.events", buf, sizeof buf)) >= 0 &&
        sv_cgroup_keyed_parse(buf, (size_t) n, "frozen", &v) >= 0) {
        info_set(ret, SV_FREEZE_CGROUP_V2, w->v2_leaf);
        return v != 0;
    }
    if (w->v1_leaf[0] &&
        (n = read_leaf(root_fd, w->v1_leaf, "freezer.state", buf, sizeof buf)) >= 0) {
        struct sv_span s = { buf, (size_t) n }, line, tok;
        if (!sv_span_next_line(&s, &line) || !sv_span_next_token(&line, &tok))
            return -EBADMSG;
        /* Only whole words: "FROZEN" is done; "FREEZING" is still on the way; "THAWED" is not. */
        if (!sv_span_eq(tok, "FROZEN") && !sv_span_eq(tok, "FREEZING") &&
            !sv_span_eq(tok, "THAWED"))
            return -EBADMSG;
        info_set(ret, SV_FREEZE_CGROUP_V1, w->v1_leaf);
        return sv_span_eq(tok, "FROZEN");
    }

    r = group_stopped(root_fd, pid);
    if (r < 0)
        return r;
    info_set(ret, SV_FREEZE_SIGNAL, NULL);
    return r;
}
