/* SPDX-License-Identifier: MIT */
/* Starting a supervised command: clone3() straight into its cgroup where the kernel allows, else
 * fork(); its own process group; the terminal's foreground; and exec errors reported back over a
 * close-on-exec pipe.
 *
 * The child waits on a "go" pipe until the parent has put it in its process group, its v1
 * cgroups (and the v2 one when clone3 could not) and the terminal's foreground, so nothing it
 * execs can run, fork or read the terminal before it is fully placed. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "basic/macro.h"
#include "supervise/sv-internal.h"

#ifndef SYS_clone3
#    define SYS_clone3 435
#endif
#ifndef CLONE_PIDFD
#    define CLONE_PIDFD 0x00001000ULL
#endif
/* Kernel ≥ 5.7 (include/uapi/linux/sched.h). */
#define SV_CLONE_INTO_CGROUP 0x200000000ULL

/* struct clone_args as of Linux 5.7 (CLONE_ARGS_SIZE_VER2, 88 bytes). Spelled out here because
 * <linux/sched.h> and glibc's <sched.h> do not mix. */
struct sv_clone_args {
    uint64_t flags;
    uint64_t pidfd;
    uint64_t child_tid;
    uint64_t parent_tid;
    uint64_t exit_signal;
    uint64_t stack;
    uint64_t stack_size;
    uint64_t tls;
    uint64_t set_tid;
    uint64_t set_tid_size;
    uint64_t cgroup;
};

/* What the child sends back when it cannot exec. */
struct exec_report {
    int err;
};

/* The child's side, after clone3() or fork(): async-signal-safe calls only, then exec. */
struct child_setup {
    char *const *argv;
    char *const *envp;
    int go_fd;       /* read end: end of file means "exec now" */
    int go_peer;     /* the write end, the parent's, closed here */
    int report_fd;   /* write end of the exec error pipe (close-on-exec) */
    int report_peer; /* its read end, the parent's */
    unsigned max_fd; /* for closing fds where close_range() is missing */
    bool keep_ignored;
    bool take_terminal; /* make our new group the terminal's foreground group (SIGTTOU is
                         * blocked until the exec, so asking from a background group works) */
    bool wait_go;       /* the parent has work to do before the exec (joining a cgroup): wait
                         * for it; else exec at once, a context switch sooner */
};

_noreturn_ static void child_run(const struct child_setup *s)
{
    struct sigaction dfl = { .sa_handler = SIG_DFL };
    sigset_t none;
    char go;

    /* Signals are blocked here (the parent blocked them around the clone): reset every handler
     * first, so no handler of the parent's can run in the child, then unblock. SIG_IGN is reset
     * too (an ignored SIGPIPE of a supervisor must not leak into the command), unless the caller
     * keeps what its own caller ignored, as any exec does: `nohup headroom run …`. */
    for (int sig = 1; sig < NSIG; sig++) {
        struct sigaction cur;
        if (sig == SIGKILL || sig == SIGSTOP)
            continue;
        if (s->keep_ignored && sigaction(sig, NULL, &cur) == 0 && cur.sa_handler == SIG_IGN)
            continue;
        (void) sigaction(sig, &dfl, NULL);
    }
    /* Both sides set the group (and the terminal), so they are in place whichever runs first. */
    (void) setpgid(0, 0);
    if (s->take_terminal)
        (void) tcsetpgrp(STDIN_FILENO, getpid());
    sigemptyset(&none);
    (void) sigprocmask(SIG_SETMASK, &none, NULL);

    (void) close(s->go_peer);
    (void) close(s->report_peer);

    if (s->wait_go) {
        ssize_t k;
        do
            k = read(s->go_fd, &go, 1);
        while (k < 0 && errno == EINTR);
        if (k != 0)
            _exit(SV_EXIT_INTERNAL);
    }
    (void) close(s->go_fd);

    /* Every fd above 2 goes, except the report pipe, which closes itself on exec. (It can be
     * below 3 itself when the supervisor runs with a standard fd closed.) */
    const int keep = s->report_fd;
    bool ok = true;
    if (keep > 3)
        ok = syscall(SYS_close_range, 3U, (unsigned) keep - 1, 0U) >= 0;
    if (ok)
        ok = syscall(SYS_close_range, (unsigned) MAX(keep + 1, 3), ~0U, 0U) >= 0;
    if (!ok) /* kernel < 5.9 */
        for (unsigned fd = 3; fd < s->max_fd; fd++)
            if ((int) fd != s->report_fd)
                (void) close((int) fd);

    /* execvpe() looks argv[0] up in PATH when it has no '/', and keeps EACCES over a later
     * ENOENT the way GNU timeout reports 126 vs 127. glibc's implementation does not allocate. */
    execvpe(s->argv[0], s->argv, s->envp ? s->envp : environ);

    struct exec_report rep = { .err = errno > 0 ? errno : EIO };
    ssize_t w;
    do
        w = write(s->report_fd, &rep, sizeof rep);
    while (w < 0 && errno == EINTR);
    _exit(rep.err == ENOENT ? SV_EXIT_NOTFOUND : SV_EXIT_NOEXEC);
}

bool sv_spawn_force_fork = false;

static bool cgroup_name_is_valid(const char *s)
{
    size_t n = 0;

    /* No leading '.', and not "cgroup.*", which names interface files in a v2 directory. */
    if (!s || !*s || s[0] == '.' || strncmp(s, "cgroup.", 7) == 0)
        return false;
    for (; *s; s++, n++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return n <= 128;
}

static void child_init(struct sv_child *c)
{
    memset(c, 0, sizeof *c);
    c->pidfd = -EBADF;
    c->v2_fd = -EBADF;
    for (int i = 0; i < 3; i++)
        c->v1_fds[i] = -EBADF;
    c->isolation = SV_ISOLATION_GROUP;
}

static void kill_and_wait(pid_t pid)
{
    (void) kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

/* Makes pid's group the foreground group of the terminal on fd 0, when that terminal is ours and
 * its foreground group is ours. SIGTTOU is blocked so we are not stopped for asking. */
static bool take_terminal(pid_t pgid)
{
    sigset_t ttou, old;
    bool ok = false;

    if (!isatty(STDIN_FILENO) || tcgetpgrp(STDIN_FILENO) != getpgrp())
        return false;
    sigemptyset(&ttou);
    sigaddset(&ttou, SIGTTOU);
    (void) pthread_sigmask(SIG_BLOCK, &ttou, &old);
    ok = tcsetpgrp(STDIN_FILENO, pgid) >= 0;
    (void) pthread_sigmask(SIG_SETMASK, &old, NULL);
    return ok;
}

static unsigned fd_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
        return 65536;
    return (unsigned) MIN(rl.rlim_cur, (rlim_t) (1U << 20));
}

static bool clone3_fallback_errno(int e)
{
    /* ENOSYS: no clone3 (< 5.3); E2BIG/EINVAL: no CLONE_INTO_CGROUP (< 5.7) or a seccomp filter
     * that rejects it; EACCES/EPERM/EBUSY/EOPNOTSUPP: the cgroup will not take a process this way
     * (delegation rules, a domain-invalid or threaded cgroup). */
    return e == ENOSYS || e == E2BIG || e == EINVAL || e == EACCES || e == EPERM || e == EBUSY ||
           e == EOPNOTSUPP;
}

int sv_spawn(const struct sv_spawn_options *o, struct sv_child *ret)
{
    _cleanup_close_ int go_r = -EBADF, go_w = -EBADF, rep_r = -EBADF, rep_w = -EBADF;
    _cleanup_free_ struct sv_child *c = NULL;
    char notes[SV_DESC_MAX] = "";
    sigset_t all, old;
    int r;

    if (!o || !ret || !o->argv || !o->argv[0] || !o->argv[0][0])
        return -EINVAL;
    if (!(o->limits.max_cpu_cores >= 0)) /* negative or NaN */
        return -EINVAL;
    if (sv_limits_controllers(&o->limits) && !o->want_cgroup)
        return -EINVAL;
    if (o->want_cgroup && !cgroup_name_is_valid(o->cgroup_name))
        return -EINVAL;

    c = malloc(sizeof *c);
    if (!c)
        return -ENOMEM;
    child_init(c);
    child_init(ret); /* safe for sv_child_done() whatever happens below */

    if (o->want_cgroup) {
        r = sv_cgroup_prepare(o, c, notes, sizeof notes);
        if (r == -EOPNOTSUPP) {
            snprintf(ret->isolation_desc, sizeof ret->isolation_desc,
                     "no cgroup for the limits (%s)", notes);
            return r;
        }
        if (r < 0)
            return r;
    } else
        sv_note(notes, sizeof notes, "no cgroup asked for");

    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        r = negative_errno();
        goto fail_cgroup;
    }
    go_r = fds[0];
    go_w = fds[1];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        r = negative_errno();
        goto fail_cgroup;
    }
    rep_r = fds[0];
    rep_w = fds[1];

    struct child_setup setup = {
        .argv = o->argv,
        .envp = o->envp,
        .go_fd = go_r,
        .go_peer = go_w,
        .report_fd = rep_w,
        .report_peer = rep_r,
        .max_fd = fd_limit(),
        .keep_ignored = o->keep_ignored,
        .take_terminal = o->foreground && isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp(),
        /* Only v1 leaves, or a v2 leaf that clone3 could not place the child in, are joined by the
         * parent between the clone and the exec. */
        .wait_go = c->v1_fds[0] >= 0 || c->v1_fds[1] >= 0 || c->v1_fds[2] >= 0,
    };

    c->started_usec = now_usec(CLOCK_MONOTONIC);
    sigfillset(&all);
    (void) pthread_sigmask(SIG_SETMASK, &all, &old);

    int pidfd = -EBADF;
    bool v2_joined = false;
    struct sv_clone_args args = {
        .flags = CLONE_PIDFD,
        .pidfd = (uint64_t) (uintptr_t) &pidfd,
        .exit_signal = SIGCHLD,
    };
    if (c->v2_fd >= 0) {
        args.flags |= SV_CLONE_INTO_CGROUP;
        args.cgroup = (uint64_t) c->v2_fd;
    }
    pid_t pid;
    if (sv_spawn_force_fork) {
        pid = -1;
        errno = ENOSYS;
    } else
        pid = (pid_t) syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0 && clone3_fallback_errno(errno)) {
        pidfd = -EBADF;
        /* Without CLONE_INTO_CGROUP the parent moves the child into its v2 leaf first. */
        if (c->v2_fd >= 0)
            setup.wait_go = true;
        pid = fork();
    } else if (pid > 0)
        v2_joined = c->v2_fd >= 0;
    if (pid == 0)
        child_run(&setup);
    r = pid < 0 ? negative_errno() : 0;
    (void) pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r < 0)
        goto fail_cgroup;

    c->pid = pid;
    c->pidfd = pidfd;
    (void) close(TAKE_FD(go_r));
    (void) close(TAKE_FD(rep_w));

    /* Both sides set the group, so it is in place whichever runs first. */
    (void) setpgid(pid, pid);

    r = sv_cgroup_join(c, pid, v2_joined, &o->limits, notes, sizeof notes);
    if (r < 0) {
        kill_and_wait(pid);
        snprintf(ret->isolation_desc, sizeof ret->isolation_desc, "no cgroup for the limits (%s)",
                 notes);
        r = -EOPNOTSUPP;
        goto fail_child;
    }
    sv_cgroup_describe(c, &o->limits, notes);

    if (o->foreground)
        c->took_terminal = take_terminal(pid);

    /* Go: end of file on the go pipe. (Closing, unlike writing, cannot raise SIGPIPE when the
     * child is already gone.) */
    (void) close(TAKE_FD(go_w));

    struct exec_report rep;
    ssize_t k;
    do
        k = read(rep_r, &rep, sizeof rep);
    while (k < 0 && errno == EINTR);
    if (k < 0) {
        /* We cannot tell whether it runs: do not leave it running unsupervised. */
        r = negative_errno();
        kill_and_wait(pid);
        goto fail_child;
    }
    if (k != 0) {
        /* The exec failed (or the report is garbled: treat it as a failure too). */
        r = k == (ssize_t) sizeof rep && rep.err > 0 ? -rep.err : -EIO;
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        goto fail_child;
    }

    if (c->pidfd < 0) {
        int fd = pidfd_open(pid, 0);
        c->pidfd = fd >= 0 ? fd : -EBADF;
    }
    memcpy(ret, c, sizeof *ret);
    return 0;

fail_child:
    if (c->took_terminal) {
        c->took_terminal = false;
        sigset_t ttou, prev;
        sigemptyset(&ttou);
        sigaddset(&ttou, SIGTTOU);
        (void) pthread_sigmask(SIG_BLOCK, &ttou, &prev);
        (void) tcsetpgrp(STDIN_FILENO, getpgrp());
        (void) pthread_sigmask(SIG_SETMASK, &prev, NULL);
    }
    if (c->pidfd >= 0)
        (void) close(c->pidfd);
    c->pidfd = -EBADF;
fail_cgroup:
    sv_cgroup_release(c, true);
    return r;
}
