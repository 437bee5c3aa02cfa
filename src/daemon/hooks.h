/* SPDX-License-Identifier: MIT */
#pragma once

/* Event hooks: a shell command run for each event of a configured type, with the event's JSON on
 * its stdin and HEADROOM_EVENT=<type> in its environment. Each runs in its own process group,
 * is reaped through a pidfd in the daemon's loop, and is killed (the whole group) when it outlives
 * its timeout. A bounded number run at once; an event arriving beyond that gets no hook. Nothing
 * here blocks the loop. */

#include <stddef.h>
#include <stdint.h>

#include "loop/loop.h"

struct hooks;

/* Hooks in loop l, each killed after timeout_sec (≥ 1), at most max_running (≥ 1) at once.
 * 0, -EINVAL, -ENOMEM. Does not log. */
int hooks_new(struct loop *l, unsigned timeout_sec, unsigned max_running, struct hooks **ret);

/* Kills every hook still running (SIGKILL to its process group) and reaps it, then frees h. Takes
 * NULL, returns NULL. */
struct hooks *hooks_free(struct hooks *h);

/* New limits (on reload); hooks already running keep their deadline. 0 or -EINVAL. */
int hooks_set_limits(struct hooks *h, unsigned timeout_sec, unsigned max_running);

/* Starts `/bin/sh -c command` with input (input_len bytes, copied) on its stdin and
 * HEADROOM_EVENT=event_type. Returns 0 when started; -EBUSY when max_running hooks run already
 * (dropped and counted; warned at most once a minute); -E2BIG for input above 64 KiB; another
 * -errno when it could not be started (logged at warning level). A hook that exits non-zero or is
 * killed at its timeout is logged at warning level. */
int hooks_run(struct hooks *h, const char *command, const char *event_type, const char *input,
              size_t input_len);

unsigned hooks_running(const struct hooks *h);
/* Hooks not run because too many were running, since start. */
uint64_t hooks_dropped_total(const struct hooks *h);
