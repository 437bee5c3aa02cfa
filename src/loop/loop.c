/* SPDX-License-Identifier: MIT */
#include "loop/loop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "basic/macro.h"

#define LOOP_EVENTS_MAX   64
#define LOOP_PREPARE_MAX  8

enum source_type {
    SOURCE_IO,
    SOURCE_TIMER,
    SOURCE_SIGNAL,
};

struct loop_source {
    struct loop *loop;
    enum source_type type;
    int fd;
    bool owns_fd;
    bool dead;
    void *userdata;
    union {
        loop_io_cb io;
        loop_timer_cb timer;
        loop_signal_cb signal;
    } cb;
    struct loop_source *next;      /* all live sources, or the graveyard once dead */
};

struct loop {
    int epoll_fd;
    bool quit;
    int exit_code;
    struct loop_source *sources;
    struct loop_source *graveyard; /* freed after the dispatch round that killed them */
    unsigned n_prepare;
    struct {
        loop_prepare_cb cb;
        void *userdata;
    } prepare[LOOP_PREPARE_MAX];
};

int loop_new(struct loop **ret)
{
    struct loop *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epoll_fd < 0) {
        int r = negative_errno();
        free(l);
        return r;
    }
    *ret = l;
    return 0;
}

static void source_release(struct loop_source *s)
{
    if (s->owns_fd && s->fd >= 0)
        (void) close(s->fd);
    free(s);
}

static void bury_dead(struct loop *l)
{
    while (l->graveyard) {
        struct loop_source *s = l->graveyard;
        l->graveyard = s->next;
        source_release(s);
    }
}

struct loop *loop_free(struct loop *l)
{
    if (!l)
        return NULL;
    while (l->sources)
        loop_source_free(l->sources);
    bury_dead(l);
    if (l->epoll_fd >= 0)
        (void) close(l->epoll_fd);
    free(l);
    return NULL;
}

static int add_source(struct loop *l, enum source_type type, int fd, bool owns_fd, uint32_t events,
                      void *userdata, struct loop_source **ret)
{
    struct loop_source *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    *s = (struct loop_source) {
        .loop = l,
        .type = type,
        .fd = fd,
        .owns_fd = owns_fd,
        .userdata = userdata,
    };
    struct epoll_event ev = { .events = events, .data.ptr = s };
    if (epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        int r = negative_errno();
        free(s);
        return r;
    }
    s->next = l->sources;
    l->sources = s;
    *ret = s;
    return 0;
}

int loop_add_io(struct loop *l, int fd, uint32_t events, loop_io_cb cb, void *userdata,
                struct loop_source **ret)
{
    struct loop_source *s;
    int r = add_source(l, SOURCE_IO, fd, false, events, userdata, &s);
    if (r < 0)
        return r;
    s->cb.io = cb;
    if (ret)
        *ret = s;
    return 0;
}

int loop_timer_set(struct loop_source *s, usec_t first_usec, usec_t period_usec)
{
    struct itimerspec its = { 0 };

    if (s->type != SOURCE_TIMER)
        return -EINVAL;
    /* 0 would disarm the timer; the earliest possible absolute time fires at once instead. */
    timespec_store(&its.it_value, first_usec == 0 ? 1 : first_usec);
    timespec_store(&its.it_interval, period_usec);
    if (timerfd_settime(s->fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
        return negative_errno();
    return 0;
}

int loop_add_timer(struct loop *l, usec_t first_usec, usec_t period_usec, loop_timer_cb cb,
                   void *userdata, struct loop_source **ret)
{
    _cleanup_close_ int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd < 0)
        return negative_errno();

    struct loop_source *s;
    int r = add_source(l, SOURCE_TIMER, fd, true, EPOLLIN, userdata, &s);
    if (r < 0)
        return r;
    TAKE_FD(fd);
    s->cb.timer = cb;
    r = loop_timer_set(s, first_usec, period_usec);
    if (r < 0) {
        loop_source_free(s);
        return r;
    }
    if (ret)
        *ret = s;
    return 0;
}

int loop_add_signals(struct loop *l, const int *signals, unsigned n, loop_signal_cb cb, void *userdata,
                     struct loop_source **ret)
{
    sigset_t mask;

    sigemptyset(&mask);
    for (unsigned i = 0; i < n; i++)
        sigaddset(&mask, signals[i]);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
        return negative_errno();

    _cleanup_close_ int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0)
        return negative_errno();

    struct loop_source *s;
    int r = add_source(l, SOURCE_SIGNAL, fd, true, EPOLLIN, userdata, &s);
    if (r < 0)
        return r;
    TAKE_FD(fd);
    s->cb.signal = cb;
    if (ret)
        *ret = s;
    return 0;
}

int loop_add_prepare(struct loop *l, loop_prepare_cb cb, void *userdata)
{
    if (l->n_prepare >= LOOP_PREPARE_MAX)
        return -ENOSPC;
    l->prepare[l->n_prepare].cb = cb;
    l->prepare[l->n_prepare].userdata = userdata;
    l->n_prepare++;
    return 0;
}

void loop_source_free(struct loop_source *s)
{
    if (!s || s->dead)
        return;
    struct loop *l = s->loop;

    (void) epoll_ctl(l->epoll_fd, EPOLL_CTL_DEL, s->fd, NULL);
    for (struct loop_source **p = &l->sources; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            break;
        }
    /* The current epoll batch may still point at s: mark it and release it after the round. */
    s->dead = true;
    s->next = l->graveyard;
    l->graveyard = s;
}

void loop_exit(struct loop *l, int code)
{
    l->quit = true;
    l->exit_code = code;
}

static int dispatch(struct loop_source *s, uint32_t events)
{
    switch (s->type) {
    case SOURCE_IO:
        return s->cb.io(s, s->fd, events, s->userdata);

    case SOURCE_TIMER: {
        uint64_t expirations = 0;
        ssize_t k = read(s->fd, &expirations, sizeof(expirations));
        if (k != (ssize_t) sizeof(expirations))
            return 0; /* spurious wake-up (EAGAIN): nothing expired */
        return s->cb.timer(s, now_usec(CLOCK_MONOTONIC), expirations > 0 ? expirations - 1 : 0,
                           s->userdata);
    }

    case SOURCE_SIGNAL: {
        struct signalfd_siginfo si;
        ssize_t k = read(s->fd, &si, sizeof(si));
        if (k != (ssize_t) sizeof(si))
            return 0;
        return s->cb.signal(s, &si, s->userdata);
    }
    }
    return 0;
}

int loop_run(struct loop *l)
{
    struct epoll_event events[LOOP_EVENTS_MAX];

    while (!l->quit) {
        int timeout_ms = -1;
        for (unsigned i = 0; i < l->n_prepare; i++) {
            int t = l->prepare[i].cb(l->prepare[i].userdata);
            if (t >= 0 && (timeout_ms < 0 || t < timeout_ms))
                timeout_ms = t;
        }
        if (l->quit)
            break;

        int n = epoll_wait(l->epoll_fd, events, LOOP_EVENTS_MAX, timeout_ms);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return negative_errno();
        }
        for (int i = 0; i < n; i++) {
            struct loop_source *s = events[i].data.ptr;
            if (s->dead)
                continue;
            int r = dispatch(s, events[i].events);
            if (r < 0) {
                bury_dead(l);
                return r;
            }
        }
        bury_dead(l);
    }
    return l->exit_code;
}
