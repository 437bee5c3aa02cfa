/* SPDX-License-Identifier: MIT */
/* The epoll loop: absolute periodic timers, signals through signalfd, io sources, and freeing a
 * source from inside a callback. */

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <unistd.h>

#include "loop/loop.h"

struct counts {
    struct loop *loop;
    int ticks;
    int signals;
    int reads;
    struct loop_source *victim;
};

static int on_tick(struct loop_source *s, usec_t now, uint64_t missed, void *userdata)
{
    struct counts *c = userdata;

    if (++c->ticks == 3)
        loop_exit(c->loop, 7);
    return 0;
}

static void test_periodic_timer(void **state)
{
    struct loop *l;
    struct counts c = { 0 };

    assert_int_equal(loop_new(&l), 0);
    c.loop = l;
    usec_t start = now_usec(CLOCK_MONOTONIC);
    assert_int_equal(loop_add_timer(l, start + 10 * USEC_PER_MSEC, 10 * USEC_PER_MSEC, on_tick, &c, NULL), 0);
    assert_int_equal(loop_run(l), 7);
    assert_int_equal(c.ticks, 3);
    assert_true(now_usec(CLOCK_MONOTONIC) - start >= 30 * USEC_PER_MSEC);
    loop_free(l);
}

static int on_signal(struct loop_source *s, const struct signalfd_siginfo *si, void *userdata)
{
    struct counts *c = userdata;

    assert_int_equal(si->ssi_signo, SIGUSR1);
    c->signals++;
    loop_exit(c->loop, 0);
    return 0;
}

static void test_signal(void **state)
{
    struct loop *l;
    struct counts c = { 0 };
    static const int sigs[] = { SIGUSR1 };

    assert_int_equal(loop_new(&l), 0);
    c.loop = l;
    assert_int_equal(loop_add_signals(l, sigs, 1, on_signal, &c, NULL), 0);
    assert_int_equal(kill(getpid(), SIGUSR1), 0);
    assert_int_equal(loop_run(l), 0);
    assert_int_equal(c.signals, 1);
    loop_free(l);
}

static int on_read(struct loop_source *s, int fd, uint32_t events, void *userdata)
{
    struct counts *c = userdata;
    char buf[8];

    assert_true(read(fd, buf, sizeof(buf)) > 0);
    c->reads++;
    /* Free both this source and another one that is ready in the same round. */
    loop_source_free(c->victim);
    loop_source_free(s);
    loop_exit(c->loop, 3);
    return 0;
}

static void test_free_inside_callback(void **state)
{
    struct loop *l;
    struct counts c = { 0 };
    int p1[2], p2[2];

    assert_int_equal(pipe(p1), 0);
    assert_int_equal(pipe(p2), 0);
    assert_int_equal(loop_new(&l), 0);
    c.loop = l;
    struct loop_source *a, *b;
    assert_int_equal(loop_add_io(l, p1[0], EPOLLIN, on_read, &c, &a), 0);
    assert_int_equal(loop_add_io(l, p2[0], EPOLLIN, on_read, &c, &b), 0);
    c.victim = b;
    assert_int_equal(write(p1[1], "x", 1), 1);
    assert_int_equal(write(p2[1], "y", 1), 1);
    assert_int_equal(loop_run(l), 3);
    /* Whichever ran first freed the other one: exactly one read happened. */
    assert_int_equal(c.reads, 1);
    loop_free(l);
    close(p1[0]);
    close(p1[1]);
    close(p2[0]);
    close(p2[1]);
}

static int on_err(struct loop_source *s, usec_t now, uint64_t missed, void *userdata)
{
    return -EIO;
}

static void test_callback_error_stops(void **state)
{
    struct loop *l;

    assert_int_equal(loop_new(&l), 0);
    assert_int_equal(loop_add_timer(l, now_usec(CLOCK_MONOTONIC), 0, on_err, NULL, NULL), 0);
    assert_int_equal(loop_run(l), -EIO);
    loop_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_periodic_timer),
        cmocka_unit_test(test_signal),
        cmocka_unit_test(test_free_inside_callback),
        cmocka_unit_test(test_callback_error_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
