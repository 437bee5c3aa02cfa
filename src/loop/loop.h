/* SPDX-License-Identifier: MIT */
#pragma once

/* A small single-threaded epoll loop in the shape of redis' ae: fd sources, CLOCK_MONOTONIC
 * timers on timerfd (absolute, so periodic ticks do not drift), signals on signalfd, and prepare
 * hooks that run before each sleep (batching, deadlines of embedded libraries such as MHD).
 *
 * Ownership: a source belongs to the loop until loop_source_free(); freeing a source from inside
 * any callback is safe (it is unlinked at once and released after the current dispatch round). */

#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>

#include "basic/time-util.h"

struct loop;
struct loop_source;

/* Called when fd is ready; events is the epoll mask. A negative return stops the loop, and
 * loop_run() returns that value. The same holds for the other callbacks. */
typedef int (*loop_io_cb)(struct loop_source *s, int fd, uint32_t events, void *userdata);
/* Called when a timer fires; now_usec is CLOCK_MONOTONIC; missed is the number of expirations
 * since the last call minus one (ticks lost while the loop was busy). */
typedef int (*loop_timer_cb)(struct loop_source *s, usec_t now_usec, uint64_t missed, void *userdata);
typedef int (*loop_signal_cb)(struct loop_source *s, const struct signalfd_siginfo *si, void *userdata);
/* Runs before each sleep; returns the longest the loop may sleep in ms (-1: no limit). */
typedef int (*loop_prepare_cb)(void *userdata);

int loop_new(struct loop **ret);
/* Frees the loop and every source still registered. Takes NULL. */
struct loop *loop_free(struct loop *l);

int loop_add_io(struct loop *l, int fd, uint32_t events, loop_io_cb cb, void *userdata,
                struct loop_source **ret);
/* A CLOCK_MONOTONIC timer first firing at first_usec (absolute) and then every period_usec
 * (0 = one-shot). */
int loop_add_timer(struct loop *l, usec_t first_usec, usec_t period_usec, loop_timer_cb cb,
                   void *userdata, struct loop_source **ret);
/* Re-arms a timer source. */
int loop_timer_set(struct loop_source *s, usec_t first_usec, usec_t period_usec);
/* Blocks the given signals in the calling thread and delivers them through a signalfd. */
int loop_add_signals(struct loop *l, const int *signals, unsigned n, loop_signal_cb cb, void *userdata,
                     struct loop_source **ret);
int loop_add_prepare(struct loop *l, loop_prepare_cb cb, void *userdata);

void loop_source_free(struct loop_source *s);

/* Runs until loop_exit() or a callback returns < 0. Returns the exit code given to loop_exit, or
 * the negative callback result. */
int loop_run(struct loop *l);
void loop_exit(struct loop *l, int code);
