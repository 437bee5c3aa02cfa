/* SPDX-License-Identifier: MIT */
#pragma once

/* Leases: what admitted tasks reserve until their use shows. Pure and bounded: the caller passes
 * the time in and owns the storage (the daemon persists leases through the store).
 *
 * A lease holds its reserve from admission on. Once a task is attached to it (a notify, or a
 * supervised task's start), the lease records the use of the resources at that moment (the
 * baseline; for a supervised task, zero: its own figures are exact) and from then on follows what
 * the task has reached above it: the lease then holds only the part of its reserve the task has
 * not reached yet (reservation_remaining()), because the reached part is in the measured use
 * already. An unattached lease expires at its deadline; an attached one at its deadline too,
 * which notify and task start extend. */

#include <stdbool.h>
#include <stdint.h>

#include "basic/parse-util.h"
#include "basic/time-util.h"
#include "model/admit.h"
#include "model/decide.h"

enum lease_holder {
    LEASE_UNATTACHED,     /* admitted, not started yet */
    LEASE_NOTIFY,         /* a notify said the task started: its use is measured on the machine */
    LEASE_TASK,           /* a supervised task holds it: its use is reported exactly */
    _LEASE_HOLDER_MAX,
};

/* "unattached", "notify", "task". */
const char *lease_holder_to_string(enum lease_holder h);

struct lease {
    uint64_t id;
    char task[TASK_NAME_MAX + 1];    /* "" for a task without a name */
    double complexity;
    struct decide_need reserve;      /* held at admission */
    struct decide_need declared;     /* what the client declared (zero fields: nothing) */
    struct decide_need remaining;    /* reserve less what the task has reached */
    struct decide_need margin;       /* of reserve, the margin admission pooled (admit_plan()'s
                                      * margin); zero, as lease_init() leaves it: held whole */
    int gpu_index;                   /* the GPU its GPU and VRAM reserve is on, -1 none; for a
                                      * lease on several GPUs, the first of them */
    uint64_t gpu_mask;               /* the GPUs given to its task (bit i: GPU i; a task started
                                      * with "gpus": N), 0 none: each is held for that task alone
                                      * while the lease lives, unless GPUs are shareable, and the
                                      * GPU and VRAM reserve applies to each. A lease with an empty
                                      * mask (a /v1/ask reservation) holds its reserve on gpu_index
                                      * and keeps no GPU to itself. */
    enum lease_holder holder;
    uint64_t task_id;                /* the supervised task holding it, 0 for none */
    double baseline[_LEARN_RESOURCE_MAX]; /* use when attached (percentage points) */
    double reached[_LEARN_RESOURCE_MAX];  /* the most the task has been seen to add; NaN unseen */
    usec_t created_usec;             /* CLOCK_MONOTONIC */
    usec_t expires_usec;             /* CLOCK_MONOTONIC */
    usec_t expires_real_usec;        /* CLOCK_REALTIME, for the API and the store */
    bool stored;                     /* the daemon's bookkeeping: a row exists in the store */
    bool dirty;                      /* ... and it must be (re)written */
};

struct lease_table {
    struct lease *v;                 /* cap slots, the first n live, in creation order */
    unsigned n, cap;
};

/* Fills a new lease (unattached, remaining = reserve, reached unseen). task may be NULL. */
void lease_init(struct lease *l, uint64_t id, const char *task, double complexity,
                const struct decide_need *reserve, const struct decide_need *declared, usec_t now_usec,
                usec_t ttl_usec, usec_t now_real_usec);

/* Adds a copy of *l. Returns 0, -ENOSPC when the table is full, -EEXIST for a duplicate id. */
int lease_table_add(struct lease_table *t, const struct lease *l);

/* The lease with this id, or NULL. */
struct lease *lease_table_find(struct lease_table *t, uint64_t id);

/* The oldest unattached lease of task (a capfox client asks, then notifies, with the same name),
 * or NULL. */
struct lease *lease_table_find_unattached(struct lease_table *t, const char *task);

/* Removes lease id, copying it to *ret when ret is not NULL. Returns 0 or -ENOENT. */
int lease_table_remove(struct lease_table *t, uint64_t id, struct lease *ret);

/* Removes the first lease whose deadline is at or before now, copying it to *ret. Returns 1 when
 * one was removed, 0 when none is due (call until 0). */
int lease_table_expire_one(struct lease_table *t, usec_t now_usec, struct lease *ret);

/* Attaches a task to l: baseline[] is the use now (NaN entries: not measured, taken as 0), the
 * deadline moves to at least until_usec. */
void lease_attach(struct lease *l, enum lease_holder holder, uint64_t task_id,
                  const double baseline[_LEARN_RESOURCE_MAX], usec_t until_usec, usec_t until_real_usec);

/* Feeds the use now (percentage points; NaN: not measured) of an attached lease: reached becomes
 * the most seen above the baseline, remaining shrinks accordingly. mem_total_bytes and
 * vram_total_bytes convert reserves held in bytes. No effect on an unattached lease. */
void lease_observe(struct lease *l, const double use[_LEARN_RESOURCE_MAX], uint64_t mem_total_bytes,
                   uint64_t vram_total_bytes);

/* Every lease's remaining reserve, pooled (struct admit_pool): what admit_pool_need() decides
 * against. */
void lease_table_pool(const struct lease_table *t, struct admit_pool *ret);

/* What every lease's remaining reserve holds together: the pool's admit_pool_held(). */
void lease_table_sum(const struct lease_table *t, struct decide_need *ret);

/* The GPUs lease l reserves on: its gpu_mask, else the bit of gpu_index, else 0. */
uint64_t lease_gpus(const struct lease *l);

/* The GPUs that leases keep to their tasks (their gpu_mask), ORed. */
uint64_t lease_table_held_gpus(const struct lease_table *t);

/* Adds every lease's remaining GPU and VRAM reserve to each GPU it reserves on (lease_gpus();
 * reserved_util_pct, reserved_vram_bytes of v->gpus; VRAM held in percent is converted with that
 * GPU's size) and marks the GPUs of every gpu_mask held. A lease on a GPU that is not in v holds
 * nothing there. */
void lease_table_apply_gpus(const struct lease_table *t, struct decide_input *v);
