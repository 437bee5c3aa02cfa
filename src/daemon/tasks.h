/* SPDX-License-Identifier: MIT */
#pragma once

/* Supervised tasks as they report themselves: the hooks behind /v1/tasks. */

#include "api/api.h"
#include "store/store.h"

struct daemon;

/* See struct api_hooks.task_start/task_usage/task_end. */
int tasks_start(struct daemon *d, const struct api_task *t, struct api_task *ret);
int tasks_usage(struct daemon *d, uint64_t id, int64_t pid, const double use[_LEARN_RESOURCE_MAX],
                const struct api_task_sample *sample);
int tasks_end(struct daemon *d, uint64_t id, const struct api_task_end *e);
int tasks_progress(struct daemon *d, uint64_t id, double pct, const char *phase);
int tasks_stall(struct daemon *d, uint64_t id, bool stalled, usec_t last_activity_real_usec);

/* The task with that id, NULL none. The pointer is valid until the table changes. */
struct api_task *tasks_find(struct daemon *d, uint64_t id);
/* Removes a task without learning from it, releasing its lease. 0 or -ENOENT. */
int tasks_drop(struct daemon *d, uint64_t id);
/* The process that supervises it (watched until the command's pid is known). */
void tasks_set_client(struct daemon *d, uint64_t id, int64_t client_pid);
/* Takes back the task of a job that ran across a restart: same id, its lease if it came back. 0,
 * -ENOSPC, -EEXIST. */
int tasks_adopt(struct daemon *d, const struct api_job *j);
/* See struct api_hooks.task_control. */
int tasks_control(struct daemon *d, uint64_t id, enum api_control what);
/* Suspends (on) or resumes a task; by_protection marks what protective mode may resume. 0,
 * -ENOENT, -EBUSY (already so), -ESRCH, or sv_freeze()'s -errno. */
int tasks_freeze(struct daemon *d, uint64_t id, bool on, bool by_protection);
/* t's pid was taken as its owner's and is still that process: its group may be signalled. */
bool tasks_pid_is_ours(const struct daemon *d, const struct api_task *t);
/* Each tick, after the sample: the VRAM the GPU processes of each task's process group use, as
 * the task's VRAM use (its lease shrinks by it, its peak is learnt at its end). */
void tasks_attribute_vram(struct daemon *d);
/* Each tick: SIGKILL for cancelled tasks whose grace has run out. */
void tasks_tick(struct daemon *d);

/* Each tick: a task whose pid no longer exists (it was given one, in the daemon's PID namespace)
 * is dropped and its lease released; nothing is learnt from it. */
void tasks_reap(struct daemon *d);

/* Sets o's declared_* fields (percentage points, NaN for nothing declared) from a need. */
void tasks_fill_declared(const struct daemon *d, const struct decide_need *n, struct observation *o);
