/* SPDX-License-Identifier: MIT */
#include "model/lease.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "basic/macro.h"

static const char *const holder_names[_LEASE_HOLDER_MAX] = {
    [LEASE_UNATTACHED] = "unattached",
    [LEASE_NOTIFY] = "notify",
    [LEASE_TASK] = "task",
};

const char *lease_holder_to_string(enum lease_holder h)
{
    if ((unsigned) h >= _LEASE_HOLDER_MAX)
        return NULL;
    return holder_names[h];
}

void lease_init(struct lease *l, uint64_t id, const char *task, double complexity,
                const struct decide_need *reserve, const struct decide_need *declared, usec_t now_usec,
                usec_t ttl_usec, usec_t now_real_usec)
{
    *l = (struct lease) {
        .id = id,
        .complexity = complexity,
        .reserve = *reserve,
        .declared = *declared,
        .remaining = *reserve,
        .gpu_index = -1,
        .holder = LEASE_UNATTACHED,
        .created_usec = now_usec,
        .expires_usec = usec_add(now_usec, ttl_usec),
        .expires_real_usec = usec_add(now_real_usec, ttl_usec),
    };
    (void) snprintf(l->task, sizeof(l->task), "%s", task ? task : "");
    for (int r = 0; r < _LEARN_RESOURCE_MAX; r++) {
        l->baseline[r] = 0;
        l->reached[r] = NAN;
    }
}

int lease_table_add(struct lease_table *t, const struct lease *l)
{
    if (lease_table_find(t, l->id))
        return -EEXIST;
    if (t->n >= t->cap)
        return -ENOSPC;
    t->v[t->n++] = *l;
    return 0;
}

struct lease *lease_table_find(struct lease_table *t, uint64_t id)
{
    for (unsigned i = 0; i < t->n; i++)
        if (t->v[i].id == id)
            return &t->v[i];
    return NULL;
}

struct lease *lease_table_find_unattached(struct lease_table *t, const char *task)
{
    for (unsigned i = 0; i < t->n; i++)
        if (t->v[i].holder == LEASE_UNATTACHED && strcmp(t->v[i].task, task) == 0)
            return &t->v[i];
    return NULL;
}

static void remove_at(struct lease_table *t, unsigned i, struct lease *ret)
{
    if (ret)
        *ret = t->v[i];
    memmove(&t->v[i], &t->v[i + 1], (t->n - i - 1) * sizeof(t->v[0]));
    t->n--;
}

int lease_table_remove(struct lease_table *t, uint64_t id, struct lease *ret)
{
    for (unsigned i = 0; i < t->n; i++)
        if (t->v[i].id == id) {
            remove_at(t, i, ret);
            return 0;
        }
    return -ENOENT;
}

int lease_table_expire_one(struct lease_table *t, usec_t now_usec, struct lease *ret)
{
    for (unsigned i = 0; i < t->n; i++)
        if (t->v[i].expires_usec <= now_usec) {
            remove_at(t, i, ret);
            return 1;
        }
    return 0;
}

void lease_attach(struct lease *l, enum lease_holder holder, uint64_t task_id,
                  const double baseline[_LEARN_RESOURCE_MAX], usec_t until_usec, usec_t until_real_usec)
{
    l->holder = holder;
    l->task_id = task_id;
    for (int r = 0; r < _LEARN_RESOURCE_MAX; r++) {
        l->baseline[r] = isnan(baseline[r]) ? 0 : baseline[r];
        l->reached[r] = NAN;
    }
    if (until_usec > l->expires_usec) {
        l->expires_usec = until_usec;
        l->expires_real_usec = until_real_usec;
    }
}

void lease_observe(struct lease *l, const double use[_LEARN_RESOURCE_MAX], uint64_t mem_total_bytes,
                   uint64_t vram_total_bytes)
{
    if (l->holder == LEASE_UNATTACHED)
        return;
    for (int r = 0; r < _LEARN_RESOURCE_MAX; r++) {
        if (isnan(use[r]))
            continue;
        double added = use[r] - l->baseline[r];
        if (isnan(l->reached[r]) || added > l->reached[r])
            l->reached[r] = added;
    }
    reservation_remaining(&l->reserve, l->reached, mem_total_bytes, vram_total_bytes, &l->remaining);
}

void lease_table_pool(const struct lease_table *t, struct admit_pool *ret)
{
    struct admit_pool p = { 0 };

    for (unsigned i = 0; i < t->n; i++)
        admit_pool_add(&p, &t->v[i].remaining, &t->v[i].margin);
    *ret = p;
}

void lease_table_sum(const struct lease_table *t, struct decide_need *ret)
{
    struct admit_pool p;

    lease_table_pool(t, &p);
    admit_pool_held(&p, ret);
}

uint64_t lease_gpus(const struct lease *l)
{
    if (l->gpu_mask)
        return l->gpu_mask;
    if (l->gpu_index >= 0 && l->gpu_index < DECIDE_GPUS_MAX)
        return UINT64_C(1) << l->gpu_index;
    return 0;
}

uint64_t lease_table_held_gpus(const struct lease_table *t)
{
    uint64_t m = 0;

    for (unsigned i = 0; i < t->n; i++)
        m |= t->v[i].gpu_mask;
    return m;
}

void lease_table_apply_gpus(const struct lease_table *t, struct decide_input *v)
{
    unsigned n = v->n_gpus > DECIDE_GPUS_MAX ? DECIDE_GPUS_MAX : v->n_gpus;

    for (unsigned i = 0; i < t->n; i++) {
        const struct lease *l = &t->v[i];
        uint64_t m = lease_gpus(l);
        for (unsigned k = 0; k < n; k++) {
            if (!(m & (UINT64_C(1) << k)))
                continue;
            struct decide_gpu *g = &v->gpus[k];
            g->held = g->held || (l->gpu_mask & (UINT64_C(1) << k));
            g->reserved_util_pct += l->remaining.gpu_pct;
            g->reserved_vram_bytes += l->remaining.vram_bytes;
            if (l->remaining.vram_pct > 0 && g->vram_total_bytes > 0)
                g->reserved_vram_bytes += (uint64_t) (l->remaining.vram_pct / 100.0 * (double) g->vram_total_bytes);
        }
    }
}
