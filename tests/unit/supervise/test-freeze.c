/* SPDX-License-Identifier: MIT */
/* Suspending and resuming a task (src/supervise/freeze.c): where its headroom leaves are, from
 * captured texts; which method is used and what is written, on fixture trees built in a
 * temporary directory; and on this machine, a real busy child stopped with SIGSTOP and, where the
 * host lets us make a leaf, frozen through cgroup v2's cgroup.freeze and the v1 freezer. A stopped
 * task must stop using CPU, and use it again once resumed. Parts the host cannot offer are
 * skipped with the reason. */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/magic.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
/* cmocka needs setjmp.h, stdarg.h and stddef.h first. */
#include <cmocka.h>

#include "basic/fileio.h"
#include "basic/macro.h"
#include "supervise/supervise.h"
#include "supervise/sv-internal.h"

/* Above any pid_max the kernel allows (4194304), so no real process can have it: even a bug that
 * signalled it would reach nothing. */
#define FAKE_PID 2147483000

static const char *fixtures(void)
{
    const char *f = getenv("HEADROOM_FIXTURES");
    assert_non_null(f);
    return f;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0)
        ;
}

/* ---- Files ---------------------------------------------------------------------------------- */

static char *slurp(const char *path, size_t *ret_n)
{
    char *buf = NULL;
    size_t n = 0;
    /* read_full_virtual_at() takes paths below a directory fd, a leading '/' included. */
    int dfd = open(path[0] == '/' ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert_true(dfd >= 0);
    int r = read_full_virtual_at(dfd, path, 1U << 20, &buf, &n);
    (void) close(dfd);
    if (r < 0)
        fail_msg("cannot read %s: %s", path, strerror(-r));
    if (ret_n)
        *ret_n = n;
    return buf;
}

/* Writes content to root/rel, making the directories on the way. */
static void put(const char *root, const char *rel, const char *content)
{
    char path[PATH_MAX], dir[PATH_MAX];

    snprintf(path, sizeof path, "%s/%s", root, rel);
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = '\0';
    assert_int_equal(mkdir_p(dir, 0755), 0);
    FILE *f = fopen(path, "we");
    assert_non_null(f);
    fputs(content, f);
    assert_int_equal(fclose(f), 0);
}

static void put_dir(const char *root, const char *rel)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    assert_int_equal(mkdir_p(path, 0755), 0);
}

static char *get(const char *root, const char *rel)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    return slurp(path, NULL);
}

static bool exists(const char *root, const char *rel)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    return access(path, F_OK) == 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) remove(path);
    return 0;
}

/* A fixture tree: the mountinfo of a captured host (copied, the fixture itself is never
 * written), and proc/FAKE_PID/{stat,cgroup}. The stat says the process is not a group leader
 * (pgrp 1), so the signal path can only ever end in -ESRCH. */
struct tree {
    char root[64];
    int fd;
};

static void tree_make(struct tree *t, const char *mountinfo_fixture, const char *pid_cgroup)
{
    char src[PATH_MAX], name[64];

    snprintf(t->root, sizeof t->root, "/tmp/headroom-freeze-XXXXXX");
    assert_non_null(mkdtemp(t->root));
    snprintf(src, sizeof src, "%s/%s/proc/self/mountinfo", fixtures(), mountinfo_fixture);
    char *mi = slurp(src, NULL);
    put(t->root, "proc/self/mountinfo", mi);
    free(mi);
    snprintf(name, sizeof name, "proc/%d/stat", FAKE_PID);
    put(t->root, name,
        "2147483000 (spin loop) S 1 1 1 0 -1 4194304 100 0 0 0 250 30 0 0 20 0 1 0 12345 "
        "1000000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n");
    snprintf(name, sizeof name, "proc/%d/cgroup", FAKE_PID);
    put(t->root, name, pid_cgroup);
    t->fd = open(t->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert_true(t->fd >= 0);
}

static void tree_done(struct tree *t)
{
    if (t->fd >= 0)
        (void) close(t->fd);
    t->fd = -EBADF;
    (void) nftw(t->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- Locating the leaves: pure -------------------------------------------------------------- */

static struct sv_freeze_where where;

static void locate(const char *mountinfo, const char *cgroup)
{
    memset(&where, 0x5a, sizeof where);
    assert_int_equal(sv_freeze_locate(mountinfo, strlen(mountinfo), cgroup, strlen(cgroup), &where),
                     0);
}

static void test_locate(void **unused)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/sys-cgroup-hybrid/proc/self/mountinfo", fixtures());
    _cleanup_free_ char *hybrid = slurp(path, NULL);
    snprintf(path, sizeof path, "%s/sys-cgroup-v2/proc/self/mountinfo", fixtures());
    _cleanup_free_ char *v2 = slurp(path, NULL);
    snprintf(path, sizeof path, "%s/sys-cgroup-v1/proc/self/mountinfo", fixtures());
    _cleanup_free_ char *v1 = slurp(path, NULL);

    /* Hybrid host, v2 leaf. */
    locate(hybrid, "6:freezer:/\n4:memory:/headroom-run-7\n0::/headroom-run-7\n");
    assert_string_equal(where.v2_leaf, "/sys/fs/cgroup/unified/headroom-run-7");
    assert_string_equal(where.v1_leaf, "");
    /* Nested below other cgroups. */
    locate(hybrid, "0::/user.slice/headroom-run-3\n");
    assert_string_equal(where.v2_leaf, "/sys/fs/cgroup/unified/user.slice/headroom-run-3");
    /* The v1 freezer leaf (the controller listed with others). */
    locate(hybrid, "6:blkio,freezer:/headroom-run-8\n0::/\n");
    assert_string_equal(where.v2_leaf, "");
    assert_string_equal(where.v1_leaf, "/sys/fs/cgroup/freezer/headroom-run-8");
    /* Both. */
    locate(hybrid, "6:freezer:/a/headroom-x\n0::/headroom-y\n");
    assert_string_equal(where.v2_leaf, "/sys/fs/cgroup/unified/headroom-y");
    assert_string_equal(where.v1_leaf, "/sys/fs/cgroup/freezer/a/headroom-x");
    /* v2-only host. */
    locate(v2, "0::/user.slice/headroom-run-9\n");
    assert_string_equal(where.v2_leaf, "/sys/fs/cgroup/user.slice/headroom-run-9");
    assert_string_equal(where.v1_leaf, "");
    /* v1 host without a freezer mount: nothing. */
    locate(v1, "6:freezer:/headroom-run-1\n4:memory:/headroom-run-1\n");
    assert_string_equal(where.v2_leaf, "");
    assert_string_equal(where.v1_leaf, "");

    /* Not ours: another name, the prefix alone, a child below a headroom leaf, a prefix that is
     * a directory further up. */
    const char *foreign[] = {
        "0::/user.slice/session-2.scope\n6:freezer:/docker-1\n",
        "0::/headroom-\n6:freezer:/headroom-\n",
        "0::/headroom-run-1/child\n6:freezer:/headroom-run-1/child\n",
        "0::/xheadroom-run-1\n6:freezer:/Headroom-run-1\n",
        "0::/\n6:freezer:/\n",
    };
    for (size_t i = 0; i < ELEMENTSOF(foreign); i++) {
        locate(hybrid, foreign[i]);
        assert_string_equal(where.v2_leaf, "");
        assert_string_equal(where.v1_leaf, "");
    }

    /* Hostile or odd: ".." components (outside our namespace's view), lines that are not the
     * kernel's, an empty text. */
    const char *odd[] = {
        "0::/../headroom-run-1\n6:freezer:/../headroom-run-1\n",
        "0::/a/../../headroom-run-1\n6:freezer:/x/../../headroom-run-1\n",
        "0:/headroom-run-1\n6:freezer\n",
        "x::/headroom-run-1\nfreezer:/headroom-run-1\n",
        "0::headroom-run-1\n6:freezer:headroom-run-1\n",
        "",
    };
    for (size_t i = 0; i < ELEMENTSOF(odd); i++) {
        locate(hybrid, odd[i]);
        assert_string_equal(where.v2_leaf, "");
        assert_string_equal(where.v1_leaf, "");
    }

    /* Read-only mounts are not written to. */
    locate("41 31 0:38 / /sys/fs/cgroup/unified ro,relatime - cgroup2 cgroup2 rw\n"
           "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup ro,freezer\n",
           "0::/headroom-a\n6:freezer:/headroom-a\n");
    assert_string_equal(where.v2_leaf, "");
    assert_string_equal(where.v1_leaf, "");
    /* A mount showing a subtree: its root is taken off the path; a path outside it gives none. */
    const char *sub =
            "28 21 0:25 /sub /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
            "37 31 0:34 /fz /mnt/freezer rw - cgroup cgroup rw,freezer\n";
    locate(sub, "0::/sub/headroom-run-2\n6:freezer:/fz/b/headroom-run-2\n");
    assert_string_equal(where.v2_leaf, "/sys/fs/cgroup/headroom-run-2");
    assert_string_equal(where.v1_leaf, "/mnt/freezer/b/headroom-run-2");
    locate(sub, "0::/other/headroom-run-2\n6:freezer:/fzz/headroom-run-2\n");
    assert_string_equal(where.v2_leaf, "");
    assert_string_equal(where.v1_leaf, "");
    /* A freezer mounted where the kernel had to escape the path: not used. */
    locate("37 31 0:34 / /mnt/free\\040zer rw - cgroup cgroup rw,freezer\n",
           "6:freezer:/headroom-run-1\n");
    assert_string_equal(where.v1_leaf, "");
    /* The first freezer mount wins (later ones are bind mounts). */
    locate("37 31 0:34 / /a rw - cgroup cgroup rw,freezer\n"
           "38 31 0:34 / /b rw - cgroup cgroup rw,freezer\n",
           "6:freezer:/headroom-run-1\n");
    assert_string_equal(where.v1_leaf, "/a/headroom-run-1");

    assert_int_equal(sv_freeze_locate(NULL, 0, "", 0, &where), -EINVAL);
    assert_int_equal(sv_freeze_locate("", 0, NULL, 0, &where), -EINVAL);
    assert_int_equal(sv_freeze_locate("", 0, "", 0, NULL), -EINVAL);

    assert_string_equal(sv_freeze_method_to_string(SV_FREEZE_CGROUP_V2), "cgroup.freeze");
    assert_string_equal(sv_freeze_method_to_string(SV_FREEZE_CGROUP_V1), "freezer.state");
    assert_string_equal(sv_freeze_method_to_string(SV_FREEZE_SIGNAL), "SIGSTOP");
    assert_null(sv_freeze_method_to_string(_SV_FREEZE_METHOD_MAX));
}

/* ---- Fixture trees -------------------------------------------------------------------------- */

#define V2_LEAF "sys/fs/cgroup/unified/headroom-run-7"
#define V1_LEAF "sys/fs/cgroup/freezer/headroom-run-7"

static void test_fixture_v2(void **unused)
{
    struct tree t;
    struct sv_freeze_info info;
    _cleanup_free_ char *s = NULL;

    tree_make(&t, "sys-cgroup-hybrid", "6:freezer:/headroom-run-7\n0::/headroom-run-7\n");
    put(t.root, V2_LEAF "/cgroup.freeze", "");
    put(t.root, V2_LEAF "/cgroup.events", "populated 1\nfrozen 0\n");
    put(t.root, V1_LEAF "/freezer.state", "THAWED\n");

    memset(&info, 0, sizeof info);
    assert_int_equal(sv_freeze(t.fd, FAKE_PID, true, &info), 0);
    assert_int_equal(info.method, SV_FREEZE_CGROUP_V2);
    assert_string_equal(info.cgroup_path, "/" V2_LEAF);
    s = get(t.root, V2_LEAF "/cgroup.freeze");
    assert_string_equal(s, "1\n");
    free(s);
    /* v2 wins: the v1 freezer is left alone. */
    s = get(t.root, V1_LEAF "/freezer.state");
    assert_string_equal(s, "THAWED\n");
    free(s);

    /* The freeze is asynchronous: frozen only once cgroup.events says so. */
    assert_int_equal(sv_frozen_state(t.fd, FAKE_PID, &info), 0);
    put(t.root, V2_LEAF "/cgroup.events", "populated 1\nfrozen 1\n");
    memset(&info, 0, sizeof info);
    assert_int_equal(sv_frozen_state(t.fd, FAKE_PID, &info), 1);
    assert_int_equal(info.method, SV_FREEZE_CGROUP_V2);

    assert_int_equal(sv_freeze(t.fd, FAKE_PID, false, NULL), 0);
    s = get(t.root, V2_LEAF "/cgroup.freeze");
    assert_string_equal(s, "0\n");
    free(s);
    s = NULL;
    tree_done(&t);
}

static void test_fixture_v1(void **unused)
{
    struct tree t;
    struct sv_freeze_info info;
    _cleanup_free_ char *s = NULL;

    /* The v2 cgroup is not a headroom leaf, the freezer one is. */
    tree_make(&t, "sys-cgroup-hybrid", "6:freezer:/headroom-run-7\n0::/user.slice\n");
    put(t.root, V1_LEAF "/freezer.state", "THAWED\n");

    assert_int_equal(sv_freeze(t.fd, FAKE_PID, true, &info), 0);
    assert_int_equal(info.method, SV_FREEZE_CGROUP_V1);
    assert_string_equal(info.cgroup_path, "/" V1_LEAF);
    s = get(t.root, V1_LEAF "/freezer.state");
    assert_string_equal(s, "FROZEN\n");
    free(s);
    assert_int_equal(sv_frozen_state(t.fd, FAKE_PID, &info), 1);
    assert_int_equal(info.method, SV_FREEZE_CGROUP_V1);

    put(t.root, V1_LEAF "/freezer.state", "FREEZING\n");
    assert_int_equal(sv_frozen_state(t.fd, FAKE_PID, NULL), 0);
    put(t.root, V1_LEAF "/freezer.state", "FROZEN-ISH\n");
    assert_int_equal(sv_frozen_state(t.fd, FAKE_PID, NULL), -EBADMSG);
    put(t.root, V1_LEAF "/freezer.state", "\n");
    assert_int_equal(sv_frozen_state(t.fd, FAKE_PID, NULL), -EBADMSG);
    put(t.root, V1_LEAF "/freezer.state", "FROZEN\n");

    assert_int_equal(sv_freeze(t.fd, FAKE_PID, false, &info), 0);
    s = get(t.root, V1_LEAF "/freezer.state");
    assert_string_equal(s, "THAWED\n");
    free(s);
    s = NULL;
    tree_done(&t);
}

static void test_fixture_fallthrough(void **unused)
{
    struct tree t;
    struct sv_freeze_info info = { .method = 99 };

    /* A headroom v2 leaf without cgroup.freeze (Linux < 5.2): the v1 freezer is next. */
    tree_make(&t, "sys-cgroup-hybrid", "6:freezer:/headroom-run-7\n0::/headroom-run-7\n");
    put_dir(t.root, V2_LEAF);
    put(t.root, V1_LEAF "/freezer.state", "THAWED\n");
    assert_int_equal(sv_freeze(t.fd, FAKE_PID, true, &info), 0);
    assert_int_equal(info.method, SV_FREEZE_CGROUP_V1);
    assert_false(exists(t.root, V2_LEAF "/cgroup.freeze")); /* never created */
    tree_done(&t);

    /* Neither leaf has its file: the signal, but the process does not lead its group (pgrp 1),
     * so nothing is signalled and the answer is -ESRCH; info is not written. */
    tree_make(&t, "sys-cgroup-hybrid", "6:freezer:/headroom-run-7\n0::/headroom-run-7\n");
    put_dir(t.root, V2_LEAF);
    put_dir(t.root, V1_LEAF);
    info.method = 99;
    assert_int_equal(sv_freeze(t.fd, FAKE_PID, true, &info), -ESRCH);
    assert_int_equal(info.method, 99);
    assert_false(exists(t.root, V2_LEAF "/cgroup.freeze"));
    assert_false(exists(t.root, V1_LEAF "/freezer.state"));
    tree_done(&t);

    /* Our own leaf is never frozen, even when the task shares it. */
    tree_make(&t, "sys-cgroup-hybrid", "0::/headroom-run-7\n");
    put(t.root, "proc/self/cgroup", "0::/headroom-run-7\n");
    put(t.root, V2_LEAF "/cgroup.freeze", "");
    assert_int_equal(sv_freeze(t.fd, FAKE_PID, true, &info), -ESRCH);
    _cleanup_free_ char *s = get(t.root, V2_LEAF "/cgroup.freeze");
    assert_string_equal(s, "");
    tree_done(&t);
}

static void test_fixture_gone(void **unused)
{
    struct tree t;
    char name[64];

    tree_make(&t, "sys-cgroup-hybrid", "0::/headroom-run-7\n");
    put(t.root, V2_LEAF "/cgroup.freeze", "");
    /* Another pid: no such process. */
    assert_int_equal(sv_freeze(t.fd, FAKE_PID + 1, true, NULL), -ESRCH);
    assert_int_equal(sv_frozen_state(t.fd, FAKE_PID + 1, NULL), -ESRCH);
    /* A zombie counts as gone: its leaf is left alone. */
    snprintf(name, sizeof name, "proc/%d/stat", FAKE_PID);
    put(t.root, name,
        "2147483000 (spin) Z 1 1 1 0 -1 4194304 100 0 0 0 250 30 0 0 20 0 1 0 12345 "
        "0 0 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n");
    assert_int_equal(sv_freeze(t.fd, FAKE_PID, true, NULL), -ESRCH);
    _cleanup_free_ char *s = get(t.root, V2_LEAF "/cgroup.freeze");
    assert_string_equal(s, "");
    /* A stat that is not one. */
    put(t.root, name, "garbage\n");
    assert_int_equal(sv_freeze(t.fd, FAKE_PID, true, NULL), -EBADMSG);

    assert_int_equal(sv_freeze(-1, FAKE_PID, true, NULL), -EINVAL);
    assert_int_equal(sv_freeze(t.fd, 0, true, NULL), -EINVAL);
    assert_int_equal(sv_freeze(t.fd, -5, true, NULL), -EINVAL);
    assert_int_equal(sv_frozen_state(-1, FAKE_PID, NULL), -EINVAL);
    tree_done(&t);
}

/* ---- Real processes ------------------------------------------------------------------------- */

static pid_t child = -1;
static char leaf[PATH_MAX]; /* a real leaf the current test made, "" none */
static bool leaf_v1;

static int teardown_child(void **unused)
{
    if (leaf[0]) {
        char path[PATH_MAX + 32];
        /* A task frozen in a v1 freezer does not die until thawed. */
        snprintf(path, sizeof path, "%s/%s", leaf, leaf_v1 ? "freezer.state" : "cgroup.freeze");
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
            (void) !write(fd, leaf_v1 ? "THAWED\n" : "0\n", leaf_v1 ? 7 : 2);
            (void) close(fd);
        }
    }
    if (child > 0) {
        (void) kill(child, SIGKILL);
        (void) kill(child, SIGCONT);
        (void) waitpid(child, NULL, 0);
        child = -1;
    }
    if (leaf[0]) {
        for (int i = 0; i < 100 && rmdir(leaf) < 0 && errno == EBUSY; i++)
            sleep_ms(10);
        leaf[0] = '\0';
    }
    return 0;
}

/* A busy child; leader of its own group when own_group. It dies with us. */
static pid_t spawn_spinner(bool own_group)
{
    pid_t parent = getpid();
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        if (own_group)
            (void) setpgid(0, 0);
        for (volatile unsigned long i = 0;; i++)
            ;
    }
    /* In both, so the group exists before either goes on. */
    if (own_group)
        (void) setpgid(pid, pid);
    child = pid;
    return pid;
}

static struct sv_proc_stat stat_of(pid_t pid)
{
    char path[64], buf[2048];
    struct sv_proc_stat st;

    snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
    ssize_t n = read_virtual_at(AT_FDCWD, path, buf, sizeof buf);
    assert_true(n > 0);
    assert_int_equal(sv_proc_stat_parse(buf, (size_t) n, &st), 0);
    return st;
}

static uint64_t cpu_ticks(pid_t pid)
{
    struct sv_proc_stat st = stat_of(pid);
    return st.utime_ticks + st.stime_ticks;
}

/* Polls sv_frozen_state() for up to 2 s until it says want. */
static bool wait_frozen(int root_fd, pid_t pid, int want)
{
    for (int i = 0; i < 200; i++) {
        int r = sv_frozen_state(root_fd, pid, NULL);
        assert_true(r >= 0);
        if (r == want)
            return true;
        sleep_ms(10);
    }
    return false;
}

/* Stopped: not one tick of CPU time over 300 ms (a running spinner gets about 30 of 10 ms on an
 * idle core). */
static void assert_stopped(pid_t pid)
{
    uint64_t a = cpu_ticks(pid);
    sleep_ms(300);
    assert_int_equal(cpu_ticks(pid), a);
}

/* Running: its CPU time grows by a few ticks within 2 s, however loaded the machine is. */
static void assert_running(pid_t pid)
{
    uint64_t a = cpu_ticks(pid);
    for (int i = 0; i < 20; i++) {
        sleep_ms(100);
        if (cpu_ticks(pid) > a + 2)
            return;
    }
    fail_msg("pid %d used no CPU time in 2 s", (int) pid);
}

static int root_fd(void)
{
    int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0);
    return fd;
}

static void test_sigstop_real(void **unused)
{
    _cleanup_close_ int rfd = root_fd();
    struct sv_freeze_info info;
    pid_t pid = spawn_spinner(true);

    assert_running(pid);
    assert_int_equal(sv_freeze(rfd, pid, true, &info), 0);
    if (info.method != SV_FREEZE_SIGNAL)
        fail_msg("the test's own cgroup is a headroom leaf? method %s",
                 sv_freeze_method_to_string(info.method));
    assert_string_equal(info.cgroup_path, "");
    assert_true(wait_frozen(rfd, pid, 1));
    assert_int_equal(stat_of(pid).state, 'T');
    assert_stopped(pid);

    assert_int_equal(sv_freeze(rfd, pid, false, &info), 0);
    assert_int_equal(info.method, SV_FREEZE_SIGNAL);
    assert_true(wait_frozen(rfd, pid, 0));
    assert_int_not_equal(stat_of(pid).state, 'T');
    assert_running(pid);

    /* Gone: reaped, its pid no longer names anything of ours. */
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    child = -1;
    assert_int_equal(sv_freeze(rfd, pid, true, NULL), -ESRCH);
}

static void test_not_leader_real(void **unused)
{
    _cleanup_close_ int rfd = root_fd();
    /* A child in our own process group: not a group leader, so not signalled. */
    pid_t pid = spawn_spinner(false);

    assert_int_equal(stat_of(pid).pgrp, getpgrp());
    assert_int_equal(sv_freeze(rfd, pid, true, NULL), -ESRCH);
    sleep_ms(50);
    assert_int_not_equal(stat_of(pid).state, 'T');
    assert_running(pid);
    assert_int_equal(sv_group_signal(rfd, pid, SIGTERM), -ESRCH);
    /* Ourselves and init: refused outright. */
    assert_int_equal(sv_freeze(rfd, getpid(), true, NULL), -EINVAL);
    assert_int_equal(sv_freeze(rfd, 1, true, NULL), -EINVAL);
    assert_int_equal(sv_group_signal(rfd, getpid(), 0), -EINVAL);
    assert_int_equal(sv_group_signal(rfd, getpgrp(), 0), -EINVAL);
    assert_int_equal(sv_group_signal(rfd, 1, 0), -EINVAL);
    assert_int_equal(sv_group_signal(rfd, pid, -1), -EINVAL);
    assert_int_equal(sv_group_signal(rfd, pid, NSIG), -EINVAL);
    assert_int_not_equal(stat_of(pid).state, 'T');
}

static void test_group_signal_real(void **unused)
{
    _cleanup_close_ int rfd = root_fd();
    pid_t pid = spawn_spinner(true);
    int status;

    /* A checkpoint-like signal reaches the group: SIGUSR1 at its default disposition ends it. */
    assert_int_equal(sv_group_signal(rfd, pid, 0), 0);
    assert_int_equal(sv_group_signal(rfd, pid, SIGUSR1), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    child = -1;
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGUSR1);
    assert_int_equal(sv_group_signal(rfd, pid, SIGUSR1), -ESRCH);
}

/* Makes a leaf named headroom-test-PID below base, a cgroup file system of type magic, and
 * moves pid into it; false (and the reason printed) when the host does not allow it. */
static bool make_leaf(const char *base, long magic, const char *control, pid_t pid)
{
    char path[PATH_MAX + 32], buf[32];
    struct statfs sfs;

    if (statfs(base, &sfs) < 0 || (long) sfs.f_type != magic) {
        print_message("skipping: %s is not the cgroup file system wanted\n", base);
        return false;
    }
    if (access(base, W_OK) < 0) {
        print_message("skipping: %s not writable: %s\n", base, strerror(errno));
        return false;
    }
    snprintf(leaf, sizeof leaf, "%s/headroom-test-%d", base, (int) getpid());
    if (mkdir(leaf, 0755) < 0 && errno != EEXIST) {
        print_message("skipping: cannot make %s: %s\n", leaf, strerror(errno));
        leaf[0] = '\0';
        return false;
    }
    snprintf(path, sizeof path, "%s/%s", leaf, control);
    if (access(path, F_OK) < 0) {
        print_message("skipping: %s has no %s\n", leaf, control);
        return false;
    }
    snprintf(path, sizeof path, "%s/cgroup.procs", leaf);
    snprintf(buf, sizeof buf, "%d\n", (int) pid);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, buf, strlen(buf)) < 0) {
        print_message("skipping: cannot move %d into %s: %s\n", (int) pid, leaf, strerror(errno));
        if (fd >= 0)
            (void) close(fd);
        return false;
    }
    (void) close(fd);
    return true;
}

static void test_v2_real(void **unused)
{
    _cleanup_close_ int rfd = root_fd();
    struct sv_freeze_info info;
    pid_t pid = spawn_spinner(true);
    char path[PATH_MAX + 32];

    leaf_v1 = false;
    if (!make_leaf("/sys/fs/cgroup/unified", CGROUP2_SUPER_MAGIC, "cgroup.freeze", pid) &&
        !make_leaf("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC, "cgroup.freeze", pid))
        skip();

    assert_int_equal(sv_freeze(rfd, pid, true, &info), 0);
    assert_int_equal(info.method, SV_FREEZE_CGROUP_V2);
    assert_string_equal(info.cgroup_path, leaf);
    assert_true(wait_frozen(rfd, pid, 1));
    snprintf(path, sizeof path, "%s/cgroup.events", leaf);
    _cleanup_free_ char *events = slurp(path, NULL);
    assert_non_null(strstr(events, "frozen 1"));
    assert_stopped(pid);

    assert_int_equal(sv_freeze(rfd, pid, false, &info), 0);
    assert_int_equal(info.method, SV_FREEZE_CGROUP_V2);
    assert_true(wait_frozen(rfd, pid, 0));
    assert_running(pid);
}

static void test_v1_real(void **unused)
{
    _cleanup_close_ int rfd = root_fd();
    struct sv_freeze_info info;
    pid_t pid = spawn_spinner(true);

    leaf_v1 = true;
    if (!make_leaf("/sys/fs/cgroup/freezer", CGROUP_SUPER_MAGIC, "freezer.state", pid))
        skip();

    assert_int_equal(sv_freeze(rfd, pid, true, &info), 0);
    if (info.method == SV_FREEZE_CGROUP_V2)
        skip(); /* our process sits in a headroom v2 leaf of its own: not this host's layout */
    assert_int_equal(info.method, SV_FREEZE_CGROUP_V1);
    assert_string_equal(info.cgroup_path, leaf);
    assert_true(wait_frozen(rfd, pid, 1));
    assert_stopped(pid);

    assert_int_equal(sv_freeze(rfd, pid, false, &info), 0);
    assert_true(wait_frozen(rfd, pid, 0));
    assert_running(pid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_locate),
        cmocka_unit_test(test_fixture_v2),
        cmocka_unit_test(test_fixture_v1),
        cmocka_unit_test(test_fixture_fallthrough),
        cmocka_unit_test(test_fixture_gone),
        cmocka_unit_test_teardown(test_sigstop_real, teardown_child),
        cmocka_unit_test_teardown(test_not_leader_real, teardown_child),
        cmocka_unit_test_teardown(test_group_signal_real, teardown_child),
        cmocka_unit_test_teardown(test_v2_real, teardown_child),
        cmocka_unit_test_teardown(test_v1_real, teardown_child),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
