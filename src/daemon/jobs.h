/* SPDX-License-Identifier: MIT */
#pragma once

/* The local job queue (headroom submit): kept in the store, started by the queue's policy
 * (model/schedule.c) when admission lets them, each supervised by a `headroom run` process of its
 * own that runs as the job's owner, reports like any run task, and outlives a restart of the
 * daemon (the next daemon adopts it). */

#include "api/api.h"

struct daemon;

/* Creates the jobs directory (logs and exit files) below the state directory, and restores the
 * queue: queued jobs wait again; a running job whose supervisor is still alive is adopted, else
 * finished from its exit file, else marked lost with the reason. 0 or a -errno (logged). */
int jobs_start(struct daemon *d);
/* Stops watching the supervisors (they keep running, to be adopted) and frees the queue. */
void jobs_stop(struct daemon *d);

/* See struct api_hooks.job_submit/job_control. */
int jobs_submit(struct daemon *d, const struct api_job *j, struct api_job *ret);
int jobs_control(struct daemon *d, int64_t id, enum api_control what);

/* Each tick: escalates cancellations (SIGKILL after the grace) and starts what the queue's policy
 * and admission allow. */
void jobs_tick(struct daemon *d);

/* The job a supervised task runs has had its task's state changed (suspended, resumed): the job's
 * state follows. */
void jobs_task_changed(struct daemon *d, const struct api_task *t);

/* A `headroom run --wait` that waits in the queue (POST /v1/tasks with "queue"): ordered with the
 * jobs by priority and age, admitted when its turn comes and it fits, its task then registered
 * and holding the lease of its admission until the client collects it. 0, -ENOSPC (too many
 * wait), -ENOMEM. *ret is the waiter as it stands after a first scheduling step. */
int jobs_wait_add(struct daemon *d, const struct api_task *t, unsigned n_gpus, struct waiter *ret);
/* Its client asks how it stands (give_up: it stops waiting). An admitted waiter is returned once
 * and leaves the queue. 0 or -ENOENT (never was, or dropped because its client stopped asking for
 * WAITER_POLL_TIMEOUT_USEC or is gone). */
int jobs_wait_poll(struct daemon *d, uint64_t id, bool give_up, struct waiter *ret);
