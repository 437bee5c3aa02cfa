/* SPDX-License-Identifier: MIT */
/* src/supervise on this machine, with real processes: spawning and exec errors, exit codes,
 * process groups, signals reaching the whole task, sampling, reaping, cgroups and their limits,
 * the terminal's foreground, and no fd left behind. Parts that need what the machine lacks (a
 * writable cgroup, a controller) are skipped with the reason. */

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pty.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
/* cmocka needs setjmp.h, stdarg.h and stddef.h first. */
#include <cmocka.h>

#include "basic/macro.h"
#include "supervise/supervise.h"
#include "supervise/sv-internal.h"

#define MIB (1024ULL * 1024ULL)

static const char *helper(void)
{
    const char *h = getenv("HEADROOM_SV_HELPER");
    assert_non_null(h);
    return h;
}

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

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own fd */
}

static void assert_no_children(void)
{
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

static const char *cgroup_name(void)
{
    static char buf[64];
    static unsigned counter;
    snprintf(buf, sizeof buf, "sv-test-%d-%u", (int) getpid(), counter++);
    return buf;
}

static bool path_exists(const char *p)
{
    struct stat st;
    return p && p[0] && stat(p, &st) == 0;
}

/* Whether pid is listed in the cgroup.procs of the cgroup directory path. */
static bool in_cgroup(const char *path, pid_t pid)
{
    char procs[SV_PATH_MAX + 16], buf[8192];
    pid_t pids[512];

    snprintf(procs, sizeof procs, "%s/cgroup.procs", path);
    int fd = open(procs, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n < 0)
        return false;
    int k = sv_cgroup_procs_parse(buf, (size_t) n, pids, ELEMENTSOF(pids));
    for (int i = 0; i < k; i++)
        if (pids[i] == pid)
            return true;
    return false;
}

static int read_stat_of(pid_t pid, struct sv_proc_stat *st)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n <= 0)
        return -EIO;
    return sv_proc_stat_parse(buf, (size_t) n, st);
}

/* Gone, or a zombie nobody reaps (our pid 1 may not): either way it runs no more. */
static bool wait_dead(pid_t pid, long timeout_ms)
{
    for (long t = 0; t <= timeout_ms; t += 20) {
        struct sv_proc_stat st;
        if (read_stat_of(pid, &st) < 0 || st.state == 'Z' || st.state == 'X')
            return true;
        sleep_ms(20);
    }
    return false;
}

static bool wait_pidfd(int pidfd, int timeout_ms)
{
    struct pollfd p = { .fd = pidfd, .events = POLLIN };
    return poll(&p, 1, timeout_ms) == 1;
}

static int spawn_argv(char *const *argv, bool want_cgroup, struct sv_child *c)
{
    struct sv_spawn_options o = {
        .argv = argv,
        .want_cgroup = want_cgroup,
        .cgroup_name = want_cgroup ? cgroup_name() : NULL,
    };
    return sv_spawn(&o, c);
}

static struct sv_end run(char *const *argv, bool want_cgroup)
{
    struct sv_child c;
    struct sv_end end;
    assert_int_equal(spawn_argv(argv, want_cgroup, &c), 0);
    assert_true(c.pid > 0);
    assert_int_equal(sv_reap(&c, 0, NULL, &end), 0);
    return end;
}

/* ---- Spawning, exit codes, exec errors ---- */

static void test_exit_codes(void **state)
{
    char *t[] = { (char *) "true", NULL };
    struct sv_child c;
    struct sv_end end;

    assert_int_equal(spawn_argv(t, false, &c), 0);
    assert_true(c.pid > 0);
    assert_true(c.pidfd >= 0);
    assert_int_equal(c.isolation, SV_ISOLATION_GROUP);
    assert_true(c.isolation_desc[0] != '\0');
    assert_string_equal(c.cgroup_path, "");
    assert_int_equal(sv_reap(&c, 0, NULL, &end), 0);
    assert_true(end.exited);
    assert_int_equal(end.code, 0);
    assert_int_equal(sv_exit_code(&end, false), 0);
    assert_int_equal(c.pidfd, -EBADF);
    /* Reaped once only. */
    assert_int_equal(sv_reap(&c, 0, NULL, &end), -ECHILD);

    char *e42[] = { (char *) "sh", (char *) "-c", (char *) "exit 42", NULL };
    end = run(e42, false);
    assert_true(end.exited);
    assert_int_equal(end.code, 42);
    assert_int_equal(sv_exit_code(&end, false), 42);
    assert_int_equal(sv_exit_code(&end, true), SV_EXIT_TIMEOUT);
    assert_true(end.duration_usec > 0);

    struct sv_end killed = { .exited = false, .code = SIGKILL };
    assert_int_equal(sv_exit_code(&killed, false), 137);
    assert_int_equal(sv_exit_code(&killed, true), 124);
    assert_string_equal(sv_isolation_to_string(SV_ISOLATION_GROUP), "process group");
    assert_string_equal(sv_isolation_to_string(SV_ISOLATION_CGROUP_V2), "cgroup v2");
    assert_string_equal(sv_isolation_to_string(SV_ISOLATION_CGROUP_V1), "cgroup v1");
    assert_no_children();
}

static void test_exec_errors(void **state)
{
    int fds_before = count_fds();
    struct sv_child c;

    char *missing[] = { (char *) "headroom-test-no-such-command", NULL };
    assert_int_equal(spawn_argv(missing, false, &c), -ENOENT);
    assert_int_equal(c.pid, 0);
    assert_int_equal(c.pidfd, -EBADF);
    sv_child_done(&c); /* harmless on a failed spawn */

    char *missing_path[] = { (char *) "/nonexistent-dir/cmd", NULL };
    assert_int_equal(spawn_argv(missing_path, false, &c), -ENOENT);

    /* A file without execute permission: found, cannot run (126 in GNU timeout terms). */
    char plain[] = "/tmp/headroom-sv-XXXXXX";
    int fd = mkstemp(plain);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "#!/bin/sh\nexit 0\n", 17), 17);
    close(fd);
    assert_int_equal(chmod(plain, 0644), 0);
    char *noexec[] = { plain, NULL };
    assert_int_equal(spawn_argv(noexec, false, &c), -EACCES);

    /* A directory. */
    char *dir[] = { (char *) "/tmp", NULL };
    int r = spawn_argv(dir, false, &c);
    assert_true(r == -EACCES || r == -EISDIR);

    /* A script without "#!" runs under /bin/sh, as execvp does it. */
    fd = open(plain, O_WRONLY | O_TRUNC | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "exit 7\n", 7), 7);
    close(fd);
    assert_int_equal(chmod(plain, 0755), 0);
    struct sv_end end = run(noexec, false);
    assert_true(end.exited);
    assert_int_equal(end.code, 7);
    unlink(plain);

    assert_int_equal(count_fds(), fds_before);
    assert_no_children();
}

static void test_invalid(void **state)
{
    struct sv_child c;
    struct sv_end end;
    char *t[] = { (char *) "true", NULL };
    char *empty[] = { (char *) "", NULL };
    char *none[] = { NULL };
    struct sv_spawn_options o = { .argv = t };

    assert_int_equal(sv_spawn(NULL, &c), -EINVAL);
    assert_int_equal(sv_spawn(&o, NULL), -EINVAL);
    o.argv = empty;
    assert_int_equal(sv_spawn(&o, &c), -EINVAL);
    o.argv = none;
    assert_int_equal(sv_spawn(&o, &c), -EINVAL);
    o = (struct sv_spawn_options){ .argv = t, .want_cgroup = true };
    assert_int_equal(sv_spawn(&o, &c), -EINVAL); /* no name */
    o.cgroup_name = "a/b";
    assert_int_equal(sv_spawn(&o, &c), -EINVAL);
    o.cgroup_name = "..";
    assert_int_equal(sv_spawn(&o, &c), -EINVAL);
    o.cgroup_name = "cgroup.procs";
    assert_int_equal(sv_spawn(&o, &c), -EINVAL);
    o = (struct sv_spawn_options){ .argv = t, .limits.max_mem_bytes = 1 };
    assert_int_equal(sv_spawn(&o, &c), -EINVAL); /* limits need want_cgroup */
    o = (struct sv_spawn_options){
        .argv = t, .want_cgroup = true, .cgroup_name = "x", .limits.max_cpu_cores = -1
    };
    assert_int_equal(sv_spawn(&o, &c), -EINVAL);

    assert_int_equal(spawn_argv(t, false, &c), 0);
    assert_int_equal(sv_reap(&c, 42, NULL, &end), -EINVAL);
    assert_int_equal(sv_reap(&c, 0, NULL, &end), 0);
    assert_int_equal(sv_signal(&c, -1), -EINVAL);
    sv_child_done(NULL);
    assert_no_children();
}

/* ---- Signals ---- */

static void test_signal_term(void **state)
{
    char *s[] = { (char *) "sleep", (char *) "100", NULL };
    struct sv_child c;
    struct sv_end end;

    assert_int_equal(spawn_argv(s, false, &c), 0);
    assert_int_equal(sv_reap(&c, WNOHANG, NULL, &end), -EAGAIN);
    assert_int_equal(sv_signal(&c, SIGTERM), 0);
    assert_true(wait_pidfd(c.pidfd, 5000));
    assert_int_equal(sv_reap(&c, WNOHANG, NULL, &end), 0);
    assert_false(end.exited);
    assert_int_equal(end.code, SIGTERM);
    assert_int_equal(sv_exit_code(&end, false), 143);
    assert_int_equal(sv_exit_code(&end, true), 124);
    /* Nothing is left to signal, and the group id is no longer ours to use. */
    assert_int_equal(sv_signal(&c, SIGTERM), -ESRCH);
    assert_no_children();
}

static void test_signal_stopped(void **state)
{
    char *s[] = { (char *) "sleep", (char *) "100", NULL };
    struct sv_child c;
    struct sv_end end;
    struct sv_proc_stat st;

    assert_int_equal(spawn_argv(s, false, &c), 0);
    assert_int_equal(kill(c.pid, SIGSTOP), 0);
    for (int i = 0; i < 100 && !(read_stat_of(c.pid, &st) == 0 && st.state == 'T'); i++)
        sleep_ms(10);
    assert_int_equal(st.state, 'T');
    /* SIGTERM alone would wait for a SIGCONT; sv_signal sends it. */
    assert_int_equal(sv_signal(&c, SIGTERM), 0);
    assert_true(wait_pidfd(c.pidfd, 5000));
    assert_int_equal(sv_reap(&c, 0, NULL, &end), 0);
    assert_int_equal(end.code, SIGTERM);
}

static int group_pids(pid_t pgid, pid_t *pids, size_t max)
{
    int proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert_true(proc_fd >= 0);
    int n = sv_proc_group_pids(proc_fd, pgid, pids, max);
    close(proc_fd);
    return n;
}

static void test_process_group(void **state)
{
    char *s[] = { (char *) "sh", (char *) "-c", (char *) "sleep 100 & wait", NULL };
    struct sv_child c;
    struct sv_end end;
    struct sv_proc_stat st;
    pid_t pids[8], grandchild = 0;
    int n = 0;

    assert_int_equal(spawn_argv(s, false, &c), 0);
    for (int i = 0; i < 300 && n < 2; i++) {
        n = group_pids(c.pid, pids, ELEMENTSOF(pids));
        if (n < 2)
            sleep_ms(10);
    }
    assert_int_equal(n, 2);
    for (int i = 0; i < n; i++)
        if (pids[i] != c.pid)
            grandchild = pids[i];
    assert_true(grandchild > 0);

    /* Its own group, not ours, and the grandchild in it. */
    assert_int_equal(read_stat_of(c.pid, &st), 0);
    assert_int_equal(st.pgrp, c.pid);
    assert_true(st.pgrp != getpgrp());
    assert_int_equal(read_stat_of(grandchild, &st), 0);
    assert_int_equal(st.pgrp, c.pid);
    assert_int_equal(st.ppid, c.pid);

    struct sv_usage u = { 0 };
    assert_int_equal(sv_sample(&c, &u), 0);
    assert_int_equal(u.processes, 2);

    assert_int_equal(sv_signal(&c, SIGTERM), 0);
    assert_int_equal(sv_reap(&c, 0, NULL, &end), 0);
    assert_false(end.exited);
    assert_int_equal(end.code, SIGTERM);
    assert_true(wait_dead(grandchild, 3000));
    assert_no_children();
}

/* A process that left the group with setsid is still in the task's cgroup, and still reached. */
static void test_setsid_escapee(void **state)
{
    char *s[] = { (char *) "sh", (char *) "-c", (char *) "setsid sleep 100 & wait", NULL };
    struct sv_child c;
    struct sv_end end;
    pid_t pids[8], escapee = 0;

    assert_int_equal(spawn_argv(s, true, &c), 0);
    if (c.isolation == SV_ISOLATION_GROUP) {
        sv_signal(&c, SIGKILL);
        sv_reap(&c, 0, NULL, &end);
        print_message("no cgroup here (%s): setsid escapes a process group\n", c.isolation_desc);
        skip();
    }
    for (int i = 0; i < 300 && !escapee; i++) {
        int n = sv_cgroup_pids(&c, pids, ELEMENTSOF(pids));
        for (int j = 0; j < n; j++) {
            struct sv_proc_stat st;
            if (read_stat_of(pids[j], &st) == 0 && st.pgrp != c.pid && st.state != 'Z')
                escapee = pids[j];
        }
        if (!escapee)
            sleep_ms(10);
    }
    assert_true(escapee > 0);
    assert_int_equal(sv_signal(&c, SIGKILL), 0);
    assert_int_equal(sv_reap(&c, 0, NULL, &end), 0);
    assert_int_equal(end.code, SIGKILL);
    assert_true(wait_dead(escapee, 3000));
    assert_no_children();
}

/* ---- The child's environment ---- */

static void on_sigint(int sig)
{
}

static void test_clean_child(void **state)
{
    char *s[] = { (char *) helper(), (char *) "check-clean", NULL };
    struct sigaction ign = { .sa_handler = SIG_IGN }, handler = { .sa_handler = on_sigint };
    struct sigaction old_pipe, old_int;
    sigset_t block, old_mask;

    /* What a supervisor typically has that a command must not inherit. */
    assert_int_equal(sigaction(SIGPIPE, &ign, &old_pipe), 0);
    assert_int_equal(sigaction(SIGINT, &handler, &old_int), 0);
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGTERM);
    assert_int_equal(sigprocmask(SIG_BLOCK, &block, &old_mask), 0);
    int leaky = open("/dev/null", O_RDONLY); /* no O_CLOEXEC on purpose */
    assert_true(leaky > 2);

    struct sv_end end = run(s, false);

    close(leaky);
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    sigaction(SIGPIPE, &old_pipe, NULL);
    sigaction(SIGINT, &old_int, NULL);
    assert_true(end.exited);
    assert_int_equal(end.code, 0);
}

/* A supervisor running with stdin closed gets pipes as low as fd 0: the child's stdout and
 * stderr must survive the closing of everything above 2 all the same. */
static void test_std_fd_closed(void **state)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(10);
        close(STDIN_FILENO);
        char *s[] = { (char *) "sh", (char *) "-c",
                      (char *) "[ -e /proc/self/fd/1 ] && [ -e /proc/self/fd/2 ] && exit 4; exit 1",
                      NULL };
        struct sv_spawn_options o = { .argv = s };
        struct sv_child c;
        struct sv_end end;
        if (sv_spawn(&o, &c) < 0 || sv_reap(&c, 0, NULL, &end) < 0)
            _exit(2);
        _exit(end.exited ? end.code : 3);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 4);
}

/* ---- Sampling ---- */

static void test_sample_memory(void **state)
{
    char *s[] = { (char *) helper(), (char *) "alloc", (char *) "50", (char *) "2", NULL };

    for (int mode = 0; mode < 2; mode++) {
        struct sv_child c;
        struct sv_usage u = { 0 };
        struct sv_end end;

        assert_int_equal(spawn_argv(s, mode == 1, &c), 0);
        print_message("alloc 50 MiB in %s: %s\n", sv_isolation_to_string(c.isolation),
                      c.isolation_desc);
        for (int i = 0; i < 150 && u.rss_bytes < 40 * MIB; i++) {
            assert_int_equal(sv_sample(&c, &u), 0);
            if (u.rss_bytes < 40 * MIB)
                sleep_ms(20);
        }
        assert_true(u.rss_bytes >= 40 * MIB);
        assert_true(u.peak_rss_bytes >= u.rss_bytes);
        assert_int_equal(u.processes, 1);
        assert_true(u.threads >= 1);
        assert_true(u.fds >= 3);
        assert_int_equal(sv_reap(&c, 0, &u, &end), 0);
        assert_true(end.exited);
        assert_int_equal(end.code, 0);
        assert_true(end.peak_rss_bytes >= 40 * MIB);
        assert_true((uint64_t) end.rusage.ru_maxrss * 1024 >= 40 * MIB);
        /* Gone after the reap, and nothing more to sample. */
        assert_int_equal(sv_sample(&c, &u), -ESRCH);
    }
    assert_no_children();
}

static void test_sample_cpu(void **state)
{
    char *s[] = { (char *) helper(), (char *) "spin", (char *) "1.2", NULL };

    for (int mode = 0; mode < 2; mode++) {
        struct sv_child c;
        struct sv_usage u = { 0 };
        struct sv_end end;

        assert_int_equal(spawn_argv(s, mode == 1, &c), 0);
        sleep_ms(150);
        assert_int_equal(sv_sample(&c, &u), 0);
        uint64_t first = u.cpu_usec;
        sleep_ms(700);
        assert_int_equal(sv_sample(&c, &u), 0);
        print_message("spin in %s: cpu %llu -> %llu usec\n", sv_isolation_to_string(c.isolation),
                      (unsigned long long) first, (unsigned long long) u.cpu_usec);
        /* 700 ms of a busy loop on a 2-core machine: well over 100 ms even when shared. */
        assert_true(u.cpu_usec >= first + 100000);
        assert_int_equal(sv_reap(&c, 0, &u, &end), 0);
        assert_true(end.cpu_usec >= u.cpu_usec);
        assert_true(end.cpu_usec >= 200000);
    }
    assert_no_children();
}

static void test_sample_fds_io(void **state)
{
    char *f[] = { (char *) helper(), (char *) "fds", (char *) "20", (char *) "1", NULL };
    char *w[] = { (char *) helper(), (char *) "write", (char *) "1000000", (char *) "1", NULL };
    struct sv_child c;
    struct sv_usage u = { 0 };
    struct sv_end end;

    assert_int_equal(spawn_argv(f, false, &c), 0);
    for (int i = 0; i < 100 && u.fds < 23; i++) {
        assert_int_equal(sv_sample(&c, &u), 0);
        if (u.fds < 23)
            sleep_ms(10);
    }
    assert_true(u.fds >= 23);
    assert_int_equal(sv_reap(&c, 0, NULL, &end), 0);

    memset(&u, 0, sizeof u);
    assert_int_equal(spawn_argv(w, false, &c), 0);
    for (int i = 0; i < 100 && u.wchar_bytes < 1000000; i++) {
        assert_int_equal(sv_sample(&c, &u), 0);
        if (u.wchar_bytes < 1000000)
            sleep_ms(10);
    }
    assert_true(u.wchar_bytes >= 1000000);
    assert_int_equal(sv_reap(&c, 0, NULL, &end), 0);

    /* A leader that has exited but is not reaped yet: nothing of the task runs. */
    char *t[] = { (char *) "true", NULL };
    memset(&u, 0, sizeof u);
    u.cpu_usec = 77;
    assert_int_equal(spawn_argv(t, false, &c), 0);
    assert_true(wait_pidfd(c.pidfd, 5000));
    assert_int_equal(sv_sample(&c, &u), -ESRCH);
    assert_int_equal(u.cpu_usec, 77); /* left as it was */
    assert_int_equal(sv_reap(&c, 0, NULL, &end), 0);
    assert_no_children();
}

/* ---- cgroups ---- */

static void test_cgroup(void **state)
{
    char *s[] = { (char *) "sleep", (char *) "100", NULL };
    struct sv_child c;
    struct sv_end end;
    char paths[4][SV_PATH_MAX];
    int fds_before = count_fds();

    assert_int_equal(spawn_argv(s, true, &c), 0);
    print_message("isolation without limits: %s: %s\n", sv_isolation_to_string(c.isolation),
                  c.isolation_desc);
    assert_true(c.isolation == SV_ISOLATION_GROUP || c.isolation == SV_ISOLATION_CGROUP_V1 ||
                c.isolation == SV_ISOLATION_CGROUP_V2);
    assert_true(c.isolation_desc[0] != '\0');
    assert_true(c.isolation == SV_ISOLATION_GROUP ? c.cgroup_path[0] == '\0'
                                                  : c.cgroup_path[0] == '/');

    snprintf(paths[0], sizeof paths[0], "%s", c.v2_path);
    for (int i = 0; i < 3; i++)
        snprintf(paths[i + 1], sizeof paths[i + 1], "%s", c.v1_paths[i]);
    if (c.cgroup_path[0]) {
        assert_true(path_exists(c.cgroup_path));
        /* The child is in it from its first instruction (clone3, or before it execs). */
        assert_true(in_cgroup(c.cgroup_path, c.pid));
    }
    for (int i = 0; i < 4; i++)
        if (paths[i][0])
            assert_true(path_exists(paths[i]));

    assert_int_equal(sv_signal(&c, SIGKILL), 0);
    assert_int_equal(sv_reap(&c, 0, NULL, &end), 0);
    assert_int_equal(end.code, SIGKILL);
    for (int i = 0; i < 4; i++)
        assert_false(path_exists(paths[i]));
    assert_int_equal(count_fds(), fds_before);
    assert_no_children();
}

/* sv_child_done without a reap: the fds go, the leaves go once empty, nothing is killed. */
static void test_child_done(void **state)
{
    char *s[] = { (char *) "sleep", (char *) "100", NULL };
    struct sv_child c;
    char paths[4][SV_PATH_MAX];
    int fds_before = count_fds();

    assert_int_equal(spawn_argv(s, true, &c), 0);
    snprintf(paths[0], sizeof paths[0], "%s", c.v2_path);
    for (int i = 0; i < 3; i++)
        snprintf(paths[i + 1], sizeof paths[i + 1], "%s", c.v1_paths[i]);
    pid_t pid = c.pid;
    /* Still running: nothing is killed, and a populated leaf stays. */
    sv_child_done(&c);
    assert_int_equal(count_fds(), fds_before);
    assert_int_equal(kill(pid, 0), 0);
    for (int i = 0; i < 4; i++)
        if (paths[i][0])
            assert_true(path_exists(paths[i]));

    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    for (int i = 0; i < 4; i++)
        if (paths[i][0]) {
            for (int k = 0; k < 50 && rmdir(paths[i]) < 0 && errno == EBUSY; k++)
                sleep_ms(10);
            assert_false(path_exists(paths[i]));
        }
    assert_no_children();
}

static int spawn_limited(char *const *argv, const struct sv_limits *l, struct sv_child *c)
{
    struct sv_spawn_options o = {
        .argv = argv,
        .want_cgroup = true,
        .cgroup_name = cgroup_name(),
        .limits = *l,
    };
    return sv_spawn(&o, c);
}

static void test_limit_memory(void **state)
{
    char *s[] = { (char *) helper(), (char *) "alloc", (char *) "200", (char *) "1", NULL };
    struct sv_limits l = { .max_mem_bytes = 64 * MIB };
    struct sv_child c;
    struct sv_end end;
    int fds_before = count_fds();

    int r = spawn_limited(s, &l, &c);
    if (r == -EOPNOTSUPP) {
        print_message("no cgroup can take a memory limit here: %s\n", c.isolation_desc);
        assert_int_equal(c.pid, 0);
        assert_no_children();
        skip();
    }
    assert_int_equal(r, 0);
    print_message("isolation with --max-mem: %s: %s\n", sv_isolation_to_string(c.isolation),
                  c.isolation_desc);
    assert_true(c.isolation == SV_ISOLATION_CGROUP_V1 || c.isolation == SV_ISOLATION_CGROUP_V2);
    assert_true(path_exists(c.cgroup_path));
    char cg[SV_PATH_MAX];
    snprintf(cg, sizeof cg, "%s", c.cgroup_path);

    assert_int_equal(sv_reap(&c, 0, NULL, &end), 0);
    print_message("200 MiB under 64 MiB: exited=%d code=%d peak=%llu MiB\n", end.exited, end.code,
                  (unsigned long long) (end.peak_rss_bytes / MIB));
    /* OOM-killed, or the allocation refused. */
    assert_true((!end.exited && end.code == SIGKILL) || (end.exited && end.code != 0));
    assert_true(end.peak_rss_bytes <= 72 * MIB);
    assert_false(path_exists(cg));
    assert_int_equal(count_fds(), fds_before);
    assert_no_children();
}

static void test_limit_cpu(void **state)
{
    char *s[] = { (char *) helper(), (char *) "spin", (char *) "1", NULL };
    struct sv_limits l = { .max_cpu_cores = 0.2 };
    struct sv_child c;
    struct sv_end end;

    int r = spawn_limited(s, &l, &c);
    if (r == -EOPNOTSUPP) {
        print_message("no cgroup can take a CPU limit here: %s\n", c.isolation_desc);
        skip();
    }
    assert_int_equal(r, 0);
    assert_int_equal(sv_reap(&c, 0, NULL, &end), 0);
    print_message("1 s spin at 0.2 cores: cpu %llu usec\n", (unsigned long long) end.cpu_usec);
    assert_true(end.exited);
    /* 0.2 cores over 1 s is 200 ms; unlimited it would be about 1 s. */
    assert_true(end.cpu_usec <= 500000);
    assert_true(end.cpu_usec >= 50000);
    assert_no_children();
}

static void test_limit_pids(void **state)
{
    char *s[] = { (char *) helper(), (char *) "forks", (char *) "10", (char *) "0.5", NULL };
    struct sv_limits l = { .max_pids = 4 };
    struct sv_child c;
    struct sv_end end;

    int r = spawn_limited(s, &l, &c);
    if (r == -EOPNOTSUPP) {
        print_message("no cgroup can take a pids limit here: %s\n", c.isolation_desc);
        skip();
    }
    assert_int_equal(r, 0);
    assert_int_equal(sv_reap(&c, 0, NULL, &end), 0);
    print_message("10 forks under pids.max 4: %d worked\n", end.code);
    assert_true(end.exited);
    assert_true(end.code <= 3);
    assert_no_children();
}

/* The fork() path of kernels without clone3 or CLONE_INTO_CGROUP: the parent moves the child
 * into its cgroups before it execs, and exec errors still come back. */
static void test_fork_path(void **state)
{
    char *sl[] = { (char *) "sleep", (char *) "100", NULL };
    char *e3[] = { (char *) "sh", (char *) "-c", (char *) "exit 3", NULL };
    char *missing[] = { (char *) "headroom-test-no-such-command", NULL };
    char *big[] = { (char *) helper(), (char *) "alloc", (char *) "200", (char *) "1", NULL };
    struct sv_limits l = { .max_mem_bytes = 64 * MIB };
    struct sv_child c;
    struct sv_end end;
    int fds_before = count_fds();

    sv_spawn_force_fork = true;
    assert_int_equal(spawn_argv(missing, true, &c), -ENOENT);

    assert_int_equal(spawn_argv(sl, true, &c), 0);
    assert_true(c.pidfd >= 0); /* from pidfd_open() on this path */
    if (c.v2_path[0])
        assert_true(in_cgroup(c.v2_path, c.pid));
    for (int i = 0; i < 3; i++)
        if (c.v1_paths[i][0])
            assert_true(in_cgroup(c.v1_paths[i], c.pid));
    assert_int_equal(sv_signal(&c, SIGKILL), 0);
    assert_int_equal(sv_reap(&c, 0, NULL, &end), 0);
    assert_int_equal(end.code, SIGKILL);

    end = run(e3, true);
    assert_true(end.exited);
    assert_int_equal(end.code, 3);

    int r = spawn_limited(big, &l, &c);
    sv_spawn_force_fork = false;
    if (r == -EOPNOTSUPP)
        skip();
    assert_int_equal(r, 0);
    assert_int_equal(sv_reap(&c, 0, NULL, &end), 0);
    assert_true((!end.exited && end.code == SIGKILL) || (end.exited && end.code != 0));
    assert_int_equal(count_fds(), fds_before);
    assert_no_children();
}

/* A fixture tree instead of the host: detection runs on its texts, and since its directories are
 * no cgroup file system, the run falls back to the process group, or refuses limits. */
static void test_fixture_fallback(void **state)
{
    char root[PATH_MAX];
    char *t[] = { (char *) "true", NULL };
    struct sv_child c;
    struct sv_end end;
    int fds_before = count_fds();

    snprintf(root, sizeof root, "%s/sys-cgroup-v2", fixtures());
    struct sv_spawn_options o = {
        .argv = t, .want_cgroup = true, .cgroup_name = "fx", .sys_root = root
    };
    assert_int_equal(sv_spawn(&o, &c), 0);
    assert_int_equal(c.isolation, SV_ISOLATION_GROUP);
    assert_non_null(strstr(c.isolation_desc, "not a cgroup file system"));
    assert_int_equal(sv_reap(&c, 0, NULL, &end), 0);
    assert_true(end.exited);

    o.limits.max_mem_bytes = 64 * MIB;
    assert_int_equal(sv_spawn(&o, &c), -EOPNOTSUPP);
    assert_int_equal(c.pid, 0);
    assert_true(c.isolation_desc[0] != '\0');

    snprintf(root, sizeof root, "%s/sys-cgroup-ro", fixtures());
    o.limits.max_mem_bytes = 0;
    assert_int_equal(sv_spawn(&o, &c), 0);
    assert_non_null(strstr(c.isolation_desc, "read-only"));
    assert_int_equal(sv_reap(&c, 0, NULL, &end), 0);

    snprintf(root, sizeof root, "%s/no-such-tree", fixtures());
    assert_int_equal(sv_spawn(&o, &c), 0);
    assert_int_equal(c.isolation, SV_ISOLATION_GROUP);
    assert_int_equal(sv_reap(&c, 0, NULL, &end), 0);

    assert_int_equal(count_fds(), fds_before);
    assert_no_children();
}

/* ---- The terminal ---- */

/* Runs in a forked process that owns a pseudo-terminal as its controlling terminal. Returns 0 or
 * the number of the check that failed. */
static int foreground_checks(void)
{
    int master, slave;

    if (openpty(&master, &slave, NULL, NULL, NULL) < 0)
        return 1;
    if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0 || dup2(slave, STDIN_FILENO) < 0)
        return 2;
    if (tcgetpgrp(STDIN_FILENO) != getpgrp())
        return 3;
    /* A line for the child to read: in the background it would be stopped by SIGTTIN. */
    if (write(master, "hello\n", 6) != 6)
        return 4;

    char *s[] = { (char *) "sh", (char *) "-c",
                  (char *) "read x && test \"$x\" = hello && exit 5; exit 6", NULL };
    struct sv_spawn_options o = { .argv = s, .foreground = true };
    struct sv_child c;
    struct sv_end end;
    if (sv_spawn(&o, &c) < 0)
        return 5;
    if (!c.took_terminal)
        return 6;
    if (tcgetpgrp(STDIN_FILENO) != c.pid)
        return 7;
    if (sv_reap(&c, 0, NULL, &end) < 0)
        return 8;
    if (!end.exited || end.code != 5)
        return 9;
    if (tcgetpgrp(STDIN_FILENO) != getpgrp() || c.took_terminal)
        return 10;

    /* Not our terminal's foreground: nothing is taken. */
    o.foreground = true;
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0 || dup2(devnull, STDIN_FILENO) < 0)
        return 11;
    char *t[] = { (char *) "true", NULL };
    o.argv = t;
    if (sv_spawn(&o, &c) < 0 || c.took_terminal || sv_reap(&c, 0, NULL, &end) < 0)
        return 12;
    return 0;
}

static void test_foreground(void **state)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(10); /* a child stopped by SIGTTIN would hang the test otherwise */
        _exit(foreground_checks());
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status))
        print_message("foreground check process died by signal %d\n", WTERMSIG(status));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- Leaks ---- */

static void test_no_fd_leak(void **state)
{
    char *t[] = { (char *) "true", NULL };
    char *missing[] = { (char *) "headroom-test-no-such-command", NULL };
    struct sv_child c;
    struct sv_end end;
    int before = count_fds();

    for (int i = 0; i < 3; i++) {
        (void) run(t, false);
        (void) run(t, true);
        assert_int_equal(spawn_argv(missing, true, &c), -ENOENT);
        assert_int_equal(spawn_argv(t, true, &c), 0);
        assert_true(wait_pidfd(c.pidfd, 5000));
        struct sv_usage u = { 0 };
        (void) sv_sample(&c, &u);
        assert_int_equal(sv_reap(&c, WNOHANG, &u, &end), 0);
    }
    assert_int_equal(count_fds(), before);
    assert_no_children();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_codes),       cmocka_unit_test(test_exec_errors),
        cmocka_unit_test(test_invalid),          cmocka_unit_test(test_signal_term),
        cmocka_unit_test(test_signal_stopped),   cmocka_unit_test(test_process_group),
        cmocka_unit_test(test_setsid_escapee),   cmocka_unit_test(test_clean_child),
        cmocka_unit_test(test_std_fd_closed),    cmocka_unit_test(test_sample_memory),
        cmocka_unit_test(test_sample_cpu),       cmocka_unit_test(test_sample_fds_io),
        cmocka_unit_test(test_cgroup),           cmocka_unit_test(test_child_done),
        cmocka_unit_test(test_limit_memory),     cmocka_unit_test(test_limit_cpu),
        cmocka_unit_test(test_limit_pids),       cmocka_unit_test(test_fork_path),
        cmocka_unit_test(test_fixture_fallback), cmocka_unit_test(test_foreground),
        cmocka_unit_test(test_no_fd_leak),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
