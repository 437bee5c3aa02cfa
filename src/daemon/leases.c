/* SPDX-License-Identifier: MIT */
/* The daemon's leases: the table behind view.reserved, kept in the store so that a restart does not
 * forget what admitted tasks hold, and fed each tick with the use of the tasks attached to them. */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "daemon/daemon.h"
#include "daemon/leases.h"
#include "store/store.h"

static int64_t ms_of(usec_t u)
{
    return u == USEC_INFINITY ? INT64_MAX : (int64_t) (u / USEC_PER_MSEC);
}

static void to_store(const struct lease *l, usec_t now_real, struct store_lease *ret)
{
    *ret = (struct store_lease) {
        .id = l->id,
        .cpu_pct = l->reserve.cpu_pct,
        .mem_pct = l->reserve.mem_pct,
        .gpu_pct = l->reserve.gpu_pct,
        .vram_pct = l->reserve.vram_pct,
        .mem_bytes = l->reserve.mem_bytes,
        .vram_bytes = l->reserve.vram_bytes,
        .disk_bytes = l->reserve.disk_bytes,
        .gpu_index = l->gpu_index,
        .created_ms = ms_of(now_real),
        .expires_ms = ms_of(l->expires_usec == USEC_INFINITY ? USEC_INFINITY : l->expires_real_usec),
    };
    if (ret->expires_ms < ret->created_ms)
        ret->expires_ms = ret->created_ms;
    (void) snprintf(ret->task, sizeof(ret->task), "%s", l->task);
}

void leases_persist(struct daemon *d, struct lease *l)
{
    (void) d;
    /* Written by leases_flush() at the next tick, off the path of the request: a lease that
     * lives less than a tick costs no write at all. */
    l->dirty = true;
}

/* A lease that cannot be written is still held in memory: the promise to this daemon's callers is
 * kept, only a restart would forget it. Said once per failure. */
void leases_flush(struct daemon *d)
{
    usec_t now_real = now_usec(CLOCK_REALTIME);

    for (unsigned i = 0; i < d->leases.n; i++) {
        struct lease *l = &d->leases.v[i];
        if (!l->dirty)
            continue;
        struct store_lease sl;
        to_store(l, now_real, &sl);
        int r = store_put_lease(d->store, &sl);
        if (r < 0) {
            log_warning_errno(r, "Failed to store lease l-%016llx, holding it in memory only: %s",
                              (unsigned long long) l->id, store_last_error(d->store));
            continue;
        }
        l->dirty = false;
        l->stored = true;
    }
}

static void unpersist(struct daemon *d, const struct lease *l)
{
    if (!l->stored)
        return;
    int r = store_delete_lease(d->store, l->id);
    if (r < 0 && r != -ENOENT)
        log_warning_errno(r, "Failed to delete lease l-%016llx from the database: %s", (unsigned long long) l->id,
                          store_last_error(d->store));
}

void leases_sync_api(struct daemon *d)
{
    for (unsigned i = 0; i < d->view.n_gpus; i++) {
        d->view.gpus[i].reserved_util_pct = 0;
        d->view.gpus[i].reserved_vram_bytes = 0;
        d->view.gpus[i].held = false;
    }
    lease_table_sum(&d->leases, &d->view.reserved);
    lease_table_apply_gpus(&d->leases, &d->view);
}

void leases_expire(struct daemon *d, usec_t now)
{
    struct lease l;
    bool changed = false;

    while (lease_table_expire_one(&d->leases, now, &l) > 0) {
        unpersist(d, &l);
        if (l.holder == LEASE_TASK)
            /* A supervised task outlived its lease's deadline: it stays supervised, holding
             * nothing more than its measured use. */
            for (unsigned i = 0; i < d->n_tasks; i++)
                if (d->tasks[i].lease_id == l.id)
                    d->tasks[i].lease_id = 0;
        changed = true;
    }
    if (changed)
        leases_sync_api(d);
}

int leases_add(struct daemon *d, const char *task, double complexity, const struct decide_need *reserve,
               const struct decide_need *margin, const struct decide_need *declared, int gpu_index,
               uint64_t gpu_mask, usec_t ttl_usec, struct lease *ret)
{
    struct lease l;

    lease_init(&l, ++d->next_lease_id, task, complexity, reserve, declared, now_usec(CLOCK_MONOTONIC), ttl_usec,
               now_usec(CLOCK_REALTIME));
    /* Its margin is pooled with the others'. Not stored: a restored lease is held whole, which
     * errs on the safe side. */
    l.margin = *margin;
    /* Only a reserve with a GPU part is placed on a GPU. */
    if (reserve->gpu_pct > 0 || reserve->vram_pct > 0 || reserve->vram_bytes > 0)
        l.gpu_index = gpu_index;
    /* A task given GPUs holds them all, needs declared or not; the store keeps the first. */
    if (gpu_mask) {
        l.gpu_mask = gpu_mask;
        l.gpu_index = __builtin_ctzll(gpu_mask);
    }
    l.dirty = true;
    int r = lease_table_add(&d->leases, &l);
    if (r < 0)
        return r;
    leases_sync_api(d);
    *ret = l;
    return 0;
}

int leases_release(struct daemon *d, uint64_t id)
{
    struct lease l;
    int r = lease_table_remove(&d->leases, id, &l);
    if (r < 0)
        return r;
    unpersist(d, &l);
    for (unsigned i = 0; i < d->n_tasks; i++)
        if (d->tasks[i].lease_id == id)
            d->tasks[i].lease_id = 0;
    leases_sync_api(d);
    return 0;
}

void leases_use_now(const struct daemon *d, double ret[_LEARN_RESOURCE_MAX])
{
    const struct decide_input *v = &d->view;
    double gpu = 0, vram = 0;
    unsigned n = 0;

    for (unsigned i = 0; i < v->n_gpus; i++) {
        if (v->gpus[i].lost)
            continue;
        gpu += v->gpus[i].util_pct;
        if (v->gpus[i].vram_total_bytes)
            vram += 100.0 * (double) v->gpus[i].vram_used_bytes / (double) v->gpus[i].vram_total_bytes;
        n++;
    }
    ret[LEARN_CPU] = v->cpu_pct;
    ret[LEARN_MEMORY] = v->mem_used_pct;
    ret[LEARN_GPU] = n ? gpu / n : NAN;
    ret[LEARN_VRAM] = n ? vram / n : NAN;
    ret[LEARN_DURATION] = NAN;
}

void leases_tick(struct daemon *d)
{
    double use[_LEARN_RESOURCE_MAX];
    bool any = false;

    leases_use_now(d, use);
    for (unsigned i = 0; i < d->leases.n; i++) {
        struct lease *l = &d->leases.v[i];
        /* Supervised tasks report their own use; only notify-attached leases are inferred from
         * the machine. */
        if (l->holder != LEASE_NOTIFY)
            continue;
        lease_observe(l, use, d->view.mem_total_bytes, leases_vram_total(d));
        any = true;
    }
    if (any)
        leases_sync_api(d);
}

uint64_t leases_vram_total(const struct daemon *d)
{
    uint64_t t = 0;
    for (unsigned i = 0; i < d->view.n_gpus; i++)
        t = MAX(t, d->view.gpus[i].vram_total_bytes);
    return t;
}

struct restore_ctx {
    struct daemon *d;
    usec_t now, now_real;
    unsigned restored;
};

static int restore_one(const struct store_lease *sl, void *userdata)
{
    struct restore_ctx *c = userdata;
    struct daemon *d = c->d;
    struct decide_need reserve = {
        .cpu_pct = sl->cpu_pct,
        .mem_pct = sl->mem_pct,
        .gpu_pct = sl->gpu_pct,
        .vram_pct = sl->vram_pct,
        .mem_bytes = sl->mem_bytes,
        .vram_bytes = sl->vram_bytes,
        .disk_bytes = sl->disk_bytes,
    }, none = { 0 };
    struct lease l;
    usec_t ttl;

    int64_t now_ms = (int64_t) (c->now_real / USEC_PER_MSEC);
    if (sl->expires_ms <= now_ms)
        return 0;
    /* A lease held by a supervised task has no deadline; its task may be gone with the old
     * daemon, so it comes back as an ordinary lease that the task must claim again in time. */
    if (sl->expires_ms == INT64_MAX)
        ttl = (usec_t) d->config.admission.lease_sec * USEC_PER_SEC;
    else
        ttl = (usec_t) (sl->expires_ms - now_ms) * USEC_PER_MSEC;
    lease_init(&l, sl->id, sl->task[0] ? sl->task : NULL, 0, &reserve, &none, c->now, ttl, c->now_real);
    l.gpu_index = sl->gpu_index;
    l.stored = true;
    if (lease_table_add(&d->leases, &l) < 0)
        return 0;
    d->next_lease_id = MAX(d->next_lease_id, sl->id);
    c->restored++;
    return 0;
}

int leases_start(struct daemon *d)
{
    struct restore_ctx c = { .d = d, .now = now_usec(CLOCK_MONOTONIC), .now_real = now_usec(CLOCK_REALTIME) };

    d->leases.v = calloc(DAEMON_LEASES_MAX, sizeof(*d->leases.v));
    if (!d->leases.v)
        return -ENOMEM;
    d->leases.cap = DAEMON_LEASES_MAX;
    /* Lease ids are not guessable from one run to the next, so a stale id never names a new
     * lease; restored ones move the counter past them. */
    d->next_lease_id = (now_usec(CLOCK_REALTIME) & 0xffffffffULL) << 20;

    int r = store_delete_expired_leases(d->store, (int64_t) (c.now_real / USEC_PER_MSEC));
    if (r < 0)
        return r;
    r = store_foreach_lease(d->store, restore_one, &c);
    if (r < 0)
        return r;
    if (c.restored > 0)
        log_info("Restored %u lease%s held before the restart", c.restored, c.restored == 1 ? "" : "s");
    return 0;
}

void leases_stop(struct daemon *d)
{
    if (d->store)
        leases_flush(d);
    free(d->leases.v);
    d->leases = (struct lease_table) { 0 };
}
