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
