/* SPDX-License-Identifier: MIT */
/* Signalling, reaping and releasing a supervised task. */

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "basic/macro.h"
#include "supervise/sv-internal.h"

static int signal_once(struct sv_child *c, int sig)
{
    bool any = false;
    int err = 0;

    /* Before the reap the leader's zombie pins its pid and so its process group id; after it, the
     * id may belong to someone else, and only the cgroup still names the task. */
    if (!c->reaped) {
        if (kill(-c->pid, sig) >= 0)
            any = true;
        else if (errno != ESRCH)
            err = -errno;
    }
    int n = sv_cgroup_signal(c, sig);
    if (n > 0)
        any = true;
    else if (n < 0 && !err)
        err = n;
    if (any)
        return 0;
    return err == -EPERM ? err : -ESRCH;
}

int sv_signal(struct sv_child *c, int sig)
{
    if (!c || c->pid <= 0 || sig < 0 || sig >= NSIG)
        return -EINVAL;
    int r = signal_once(c, sig);
    if (r >= 0 && sig != SIGKILL && sig != SIGCONT && sig != 0)
        (void) signal_once(c, SIGCONT); /* a stopped task must run to act on sig */
    return r;
}

static void give_terminal_back(struct sv_child *c)
{
    sigset_t ttou, old;

    if (!c->took_terminal)
        return;
    c->took_terminal = false;
    sigemptyset(&ttou);
    sigaddset(&ttou, SIGTTOU);
    (void) pthread_sigmask(SIG_BLOCK, &ttou, &old);
    (void) tcsetpgrp(STDIN_FILENO, getpgrp());
    (void) pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static uint64_t timeval_usec(const struct timeval *tv)
{
    if (tv->tv_sec < 0 || tv->tv_usec < 0)
        return 0;
    return (uint64_t) tv->tv_sec * 1000000ULL + (uint64_t) tv->tv_usec;
}

int sv_reap(struct sv_child *c, int flags, const struct sv_usage *usage, struct sv_end *ret)
{
    struct sv_end end = { 0 };
    struct rusage ru;
    int status = 0;
    pid_t p;

    if (!c || !ret || c->pid <= 0 || (flags & ~WNOHANG))
        return -EINVAL;
    if (c->reaped)
        return -ECHILD;

    /* waitid(P_PIDFD) has no rusage; wait4 on the pid is as safe, since the zombie pins it. */
    do
        p = wait4(c->pid, &status, flags, &ru);
    while (p < 0 && errno == EINTR);
    if (p < 0)
        return negative_errno();
    if (p == 0)
        return -EAGAIN;
    usec_t now = now_usec(CLOCK_MONOTONIC);
    c->reaped = true;

    if (WIFEXITED(status)) {
        end.exited = true;
        end.code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        end.code = WTERMSIG(status);
        end.core_dumped = WCOREDUMP(status);
    }
    end.rusage = ru;
    end.duration_usec = now > c->started_usec ? now - c->started_usec : 0;

    /* ru_maxrss is in KiB (getrusage(2)). */
    uint64_t maxrss = ru.ru_maxrss > 0 ? (uint64_t) ru.ru_maxrss * 1024ULL : 0;
    end.peak_rss_bytes = maxrss;
    end.cpu_usec = timeval_usec(&ru.ru_utime) + timeval_usec(&ru.ru_stime);
    if (usage) {
        end.peak_rss_bytes = MAX(end.peak_rss_bytes, usage->peak_rss_bytes);
        end.cpu_usec = MAX(end.cpu_usec, usage->cpu_usec);
    }

    /* What is left of the task goes first, so the cgroup's CPU figure is final when read. The
     * peak cannot grow by killing. */
    struct sv_cgroup_usage before, after;
    sv_cgroup_usage_read(c, &before);
    _cleanup_free_ pid_t *pids = calloc(SV_SAMPLE_PROCS_MAX, sizeof(pid_t));
    if (pids && sv_cgroup_pids(c, pids, SV_SAMPLE_PROCS_MAX) > 0) {
        (void) sv_cgroup_signal(c, SIGKILL);
        for (int step = 0; step < 100 && sv_cgroup_pids(c, pids, SV_SAMPLE_PROCS_MAX) > 0; step++) {
            struct timespec ts = { 0, 10L * 1000L * 1000L };
            (void) nanosleep(&ts, NULL);
        }
    }
    sv_cgroup_usage_read(c, &after);
    if (before.peak_ok)
        end.peak_rss_bytes = MAX(end.peak_rss_bytes, before.peak_bytes);
    if (after.peak_ok)
        end.peak_rss_bytes = MAX(end.peak_rss_bytes, after.peak_bytes);
    if (after.cpu_ok || before.cpu_ok)
        end.cpu_usec = MAX(end.cpu_usec, MAX(after.cpu_usec, before.cpu_usec));
    sv_cgroup_kill_and_remove(c);

    if (c->pidfd >= 0)
        (void) close(c->pidfd);
    c->pidfd = -EBADF;
    give_terminal_back(c);
    *ret = end;
    return 0;
}

void sv_child_done(struct sv_child *c)
{
    if (!c)
        return;
    if (c->pidfd >= 0)
        (void) close(c->pidfd);
    c->pidfd = -EBADF;
    sv_cgroup_release(c, false);
    give_terminal_back(c);
}
