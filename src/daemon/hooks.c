/* SPDX-License-Identifier: MIT */
#include "daemon/hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "basic/time-util.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define HOOK_INPUT_MAX (64U * 1024U)
#define HOOK_DROP_WARN_USEC (60U * USEC_PER_SEC)

struct hook {
    struct hooks *owner;
    struct hook *prev, *next;
    pid_t pid;                    /* also its process group */
    int pidfd;
    struct loop_source *exit_src;
    struct loop_source *timer_src;
    int input_fd;                 /* the write end of its stdin, -EBADF once all is written */
    struct loop_source *input_src;
    char *input;
    size_t input_len, input_off;
    char type[32];
    usec_t started_usec;
    bool killed;                  /* at its timeout */
};

struct hooks {
    struct loop *loop;
    unsigned timeout_sec;
    unsigned max_running;
    unsigned n_running;
    struct hook *running;
    uint64_t dropped_total;
    uint64_t dropped_unwarned;    /* since the last warning */
    usec_t last_drop_warn_usec;   /* 0: never warned */
};

int hooks_new(struct loop *l, unsigned timeout_sec, unsigned max_running, struct hooks **ret)
{
    struct hooks *h;

    if (!l || timeout_sec == 0 || max_running == 0)
        return -EINVAL;
    h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->loop = l;
    h->timeout_sec = timeout_sec;
    h->max_running = max_running;
    *ret = h;
    return 0;
}

int hooks_set_limits(struct hooks *h, unsigned timeout_sec, unsigned max_running)
{
    if (timeout_sec == 0 || max_running == 0)
        return -EINVAL;
    h->timeout_sec = timeout_sec;
    h->max_running = max_running;
    return 0;
}

unsigned hooks_running(const struct hooks *h)
{
    return h->n_running;
}

uint64_t hooks_dropped_total(const struct hooks *h)
{
    return h->dropped_total;
}

static void input_close(struct hook *k)
{
    loop_source_free(k->input_src);
    k->input_src = NULL;
    if (k->input_fd >= 0)
        (void) close(k->input_fd);
    k->input_fd = -EBADF;
    free(k->input);
    k->input = NULL;
}

static void hook_free(struct hook *k)
{
    struct hooks *h = k->owner;

    if (k->prev)
        k->prev->next = k->next;
    else
        h->running = k->next;
    if (k->next)
        k->next->prev = k->prev;
    h->n_running--;

    input_close(k);
    loop_source_free(k->exit_src);
    loop_source_free(k->timer_src);
    if (k->pidfd >= 0)
        (void) close(k->pidfd);
    free(k);
}

/* Writes what the pipe takes now. 1 when all is written (the pipe is then closed, so the hook
 * sees the end of its input), 0 when more is left, or a -errno (the hook stopped reading: EPIPE). */
static int input_write(struct hook *k)
{
    while (k->input_off < k->input_len) {
        ssize_t n = write(k->input_fd, k->input + k->input_off, k->input_len - k->input_off);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return 0;
            return negative_errno();
        }
        k->input_off += (size_t) n;
    }
    input_close(k);
    return 1;
}

static int on_input_ready(struct loop_source *s, int fd, uint32_t events, void *userdata)
{
    struct hook *k = userdata;
    int r = input_write(k);

    if (r < 0) {
        /* Not reading its input is the hook's business; only its exit status is reported. */
        log_debug_errno(r, "hook for %s (pid %d) does not take its input: %m", k->type, (int) k->pid);
        input_close(k);
    }
    return 0;
}

static int on_hook_exit(struct loop_source *s, int fd, uint32_t events, void *userdata)
{
    struct hook *k = userdata;
    siginfo_t si = { 0 };
    usec_t ran_msec = (now_usec(CLOCK_MONOTONIC) - k->started_usec) / USEC_PER_MSEC;

    /* Looked at without reaping first: while the leader is an unreaped zombie, its pid still
     * names its group and no other, so the group can be killed safely. */
    if (waitid((idtype_t) P_PIDFD, (id_t) k->pidfd, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
        log_warning_errno(negative_errno(), "Failed to reap hook for %s (pid %d), ignoring: %m", k->type,
                          (int) k->pid);
        hook_free(k);
        return 0;
    }
    if (si.si_pid == 0)
        return 0; /* not yet: a spurious wake */
    /* Whatever it left running in its group goes with it: a hook's children must not outlive
     * the hook's own deadline unseen. */
    (void) kill(-k->pid, SIGKILL);
    siginfo_t reaped = { 0 };
    (void) waitid((idtype_t) P_PIDFD, (id_t) k->pidfd, &reaped, WEXITED | WNOHANG);

    if (k->killed)
        log_warning("Hook for %s (pid %d) timed out after %u s and was killed.", k->type, (int) k->pid,
                    k->owner->timeout_sec);
    else if (si.si_code == CLD_EXITED && si.si_status != 0)
        log_warning("Hook for %s (pid %d) failed with exit status %d after %llu ms.", k->type, (int) k->pid,
                    si.si_status, (unsigned long long) ran_msec);
    else if (si.si_code != CLD_EXITED)
        log_warning("Hook for %s (pid %d) was killed by signal %d after %llu ms.", k->type, (int) k->pid,
                    si.si_status, (unsigned long long) ran_msec);
    else
        log_debug("hook for %s (pid %d) done in %llu ms", k->type, (int) k->pid, (unsigned long long) ran_msec);

    hook_free(k);
    return 0;
}

static int on_hook_timeout(struct loop_source *s, usec_t now, uint64_t missed, void *userdata)
{
    struct hook *k = userdata;

    /* The leader is not reaped yet (we hold its pidfd and reap only in on_hook_exit), so its pid,
     * and with it the group id, cannot have been reused. */
    k->killed = true;
    (void) kill(-k->pid, SIGKILL);
    loop_source_free(k->timer_src);
    k->timer_src = NULL;
    return 0;
}

/* In the child: stdin from the pipe, stdout to /dev/null, stderr stays the daemon's (a hook's
 * complaints belong in its log), default signals, its own process group. Never returns. */
_noreturn_ static void exec_hook(int input_fd, const char *command, const char *type)
{
    sigset_t none;
    int null_fd;

    (void) sigemptyset(&none);
    (void) sigprocmask(SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            (void) signal(sig, SIG_DFL);
    (void) setpgid(0, 0);
    null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null_fd < 0 || dup2(input_fd, STDIN_FILENO) < 0 || dup2(null_fd, STDOUT_FILENO) < 0)
        _exit(125);
    (void) close_range(3, ~0U, 0);
    if (setenv("HEADROOM_EVENT", type, 1) < 0)
        _exit(125);
    (void) execl("/bin/sh", "sh", "-c", command, (char *) NULL);
    _exit(127);
}

static void note_drop(struct hooks *h, const char *type)
{
    usec_t now = now_usec(CLOCK_MONOTONIC);

    h->dropped_total++;
    h->dropped_unwarned++;
    if (h->last_drop_warn_usec == 0 || now - h->last_drop_warn_usec >= HOOK_DROP_WARN_USEC) {
        log_warning("%u hooks are running already; the hook for %s is not run (%llu not run since the "
                    "last warning, %llu in all).",
                    h->max_running, type, (unsigned long long) h->dropped_unwarned,
                    (unsigned long long) h->dropped_total);
        h->last_drop_warn_usec = now;
        h->dropped_unwarned = 0;
    }
}

int hooks_run(struct hooks *h, const char *command, const char *event_type, const char *input,
              size_t input_len)
{
    _cleanup_close_ int rfd = -EBADF, wfd = -EBADF;
    int fds[2];
    struct hook *k;
    pid_t pid;
    int r;

    if (!command || !event_type || (!input && input_len > 0))
        return -EINVAL;
    if (input_len > HOOK_INPUT_MAX)
        return -E2BIG;
    if (h->n_running >= h->max_running) {
        note_drop(h, event_type);
        return -EBUSY;
    }

    k = calloc(1, sizeof(*k));
    if (!k)
        return -ENOMEM;
    *k = (struct hook) { .owner = h, .pidfd = -EBADF, .input_fd = -EBADF, .input_len = input_len };
    (void) snprintf(k->type, sizeof(k->type), "%s", event_type);
    k->input = malloc(input_len + 1);
    if (!k->input) {
        free(k);
        return -ENOMEM;
    }
    if (input_len > 0)
        memcpy(k->input, input, input_len);

    if (pipe2(fds, O_CLOEXEC) < 0) {
        r = negative_errno();
        goto fail;
    }
    rfd = fds[0];
    wfd = fds[1];

    pid = fork();
    if (pid < 0) {
        r = negative_errno();
        goto fail;
    }
    if (pid == 0)
        exec_hook(rfd, command, event_type);

    /* Both sides set the group, so it exists whichever runs first. */
    (void) setpgid(pid, pid);
    k->pid = pid;
    k->started_usec = now_usec(CLOCK_MONOTONIC);
    (void) close(rfd);
    rfd = -EBADF;

    k->pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
    if (k->pidfd < 0) {
        r = negative_errno();
        /* Without a pidfd it cannot be watched without blocking; better not to run it. */
        (void) kill(-pid, SIGKILL);
        (void) kill(pid, SIGKILL);
        (void) waitpid(pid, NULL, 0);
        goto fail;
    }

    /* Linked from here on: hook_free() undoes everything below. */
    k->prev = NULL;
    k->next = h->running;
    if (h->running)
        h->running->prev = k;
    h->running = k;
    h->n_running++;

    r = loop_add_io(h->loop, k->pidfd, EPOLLIN, on_hook_exit, k, &k->exit_src);
    if (r >= 0)
        r = loop_add_timer(h->loop, usec_add(k->started_usec, (usec_t) h->timeout_sec * USEC_PER_SEC), 0,
                           on_hook_timeout, k, &k->timer_src);
    if (r < 0) {
        (void) kill(-pid, SIGKILL);
        (void) waitid((idtype_t) P_PIDFD, (id_t) k->pidfd, &(siginfo_t) { 0 }, WEXITED);
        hook_free(k);
        return log_warning_errno(r, "Failed to watch the hook for %s: %m", event_type);
    }

    /* Never block: the pipe takes 64 KiB unless the user's pipe allowance ran out (then 4 KiB);
     * whatever does not fit now is written when the pipe has room. */
    if (fcntl(wfd, F_SETFL, O_NONBLOCK) < 0) {
        r = negative_errno();
        log_debug_errno(r, "hook for %s: cannot make its input non-blocking, it gets none: %m", event_type);
        return 0; /* wfd closes: the hook reads an empty input */
    }
    k->input_fd = TAKE_FD(wfd);
    r = input_write(k);
    if (r == 0) {
        r = loop_add_io(h->loop, k->input_fd, EPOLLOUT, on_input_ready, k, &k->input_src);
        if (r < 0) {
            log_debug_errno(r, "hook for %s: cannot wait to write its input, it gets a part: %m", event_type);
            input_close(k);
        }
    } else if (r < 0) {
        log_debug_errno(r, "hook for %s (pid %d) does not take its input: %m", event_type, (int) pid);
        input_close(k);
    }
    log_debug("hook for %s started (pid %d)", event_type, (int) pid);
    return 0;

fail:
    free(k->input);
    free(k);
    return log_warning_errno(r, "Failed to start the hook for %s: %m", event_type);
}

struct hooks *hooks_free(struct hooks *h)
{
    if (!h)
        return NULL;
    while (h->running) {
        struct hook *k = h->running;

        (void) kill(-k->pid, SIGKILL);
        /* SIGKILL cannot be caught: the wait is short. */
        (void) waitid((idtype_t) P_PIDFD, (id_t) k->pidfd, &(siginfo_t) { 0 }, WEXITED);
        hook_free(k);
    }
    free(h);
    return NULL;
}
