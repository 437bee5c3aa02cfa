/* SPDX-License-Identifier: MIT */
#include "model/decide.h"

#include <math.h>
#include <string.h>

#define MIN_GPUS(n) ((n) > DECIDE_GPUS_MAX ? DECIDE_GPUS_MAX : (n))
#define MIN_D(a, b) ((a) < (b) ? (a) : (b))
#define MAX_D(a, b) ((a) > (b) ? (a) : (b))

static const char *const resource_names[_RESOURCE_MAX] = {
    [RESOURCE_CPU] = "cpu",
    [RESOURCE_MEMORY] = "memory",
    [RESOURCE_MEMORY_PRESSURE] = "memory_pressure",
    [RESOURCE_GPU] = "gpu",
    [RESOURCE_VRAM] = "vram",
    [RESOURCE_STORAGE] = "storage",
};

static const char *const reason_names[_RESOURCE_MAX] = {
    [RESOURCE_CPU] = "cpu_overload",
    [RESOURCE_MEMORY] = "memory_overload",
    [RESOURCE_MEMORY_PRESSURE] = "memory_pressure",
    [RESOURCE_GPU] = "gpu_overload",
    [RESOURCE_VRAM] = "vram_overload",
    [RESOURCE_STORAGE] = "storage_low",
};

const char *resource_to_string(enum resource r)
{
    if (r < 0 || r >= _RESOURCE_MAX)
        return NULL;
    return resource_names[r];
}

const char *resource_reason(enum resource r)
{
    if (r < 0 || r >= _RESOURCE_MAX)
        return NULL;
    return reason_names[r];
}

static struct decide_check *add_check(struct decision *d, enum resource res, int index, bool percent,
                                      double current, double reserved, double need, double limit)
{
    if (d->n_checks >= DECIDE_CHECKS_MAX)
        return NULL;
    struct decide_check *c = &d->checks[d->n_checks++];
    *c = (struct decide_check) {
        .resource = res,
        .index = index,
        .percent = percent,
        .current = current,
        .reserved = reserved,
        .need = need,
    };
    if (res == RESOURCE_STORAGE) {
        c->projected = current - reserved - need;
        c->limit = limit;
        c->headroom = c->projected - limit;
        c->ok = !(c->projected < limit);
    } else {
        c->projected = current + reserved + need;
        c->limit = limit;
        c->headroom = limit - c->projected;
        c->ok = !(c->projected > limit);
    }
    return c;
}

static void add_reason(struct decision *d, enum resource r)
{
    for (unsigned i = 0; i < d->n_reasons; i++)
        if (d->reasons[i] == r)
            return;
    d->reasons[d->n_reasons++] = r;
}

static double vram_pct(const struct decide_gpu *g, const struct decide_need *need)
{
    if (g->vram_total_bytes == 0)
        return 0.0;
    return 100.0 * (double) g->vram_used_bytes / (double) g->vram_total_bytes;
}

static double vram_need_pct(const struct decide_gpu *g, const struct decide_need *need)
{
    double pct = need->vram_pct;
    if (need->vram_bytes > 0 && g->vram_total_bytes > 0)
        pct += 100.0 * (double) need->vram_bytes / (double) g->vram_total_bytes;
    else if (need->vram_bytes > 0)
        pct = INFINITY; /* a GPU whose size we do not know cannot promise any VRAM */
    return pct;
}

/* A memory need in percent of the capacity that applies to us: bytes are converted, capfox's
 * percent is added as is. Bytes with an unknown capacity cannot be promised. */
static double mem_pct_of(const struct decide_input *in, const struct decide_need *n)
{
    double pct = n->mem_pct;
    if (n->mem_bytes > 0)
        pct += in->mem_total_bytes > 0 ? 100.0 * (double) n->mem_bytes / (double) in->mem_total_bytes : INFINITY;
    return pct;
}

static bool need_uses_gpu(const struct decide_need *n)
{
    return n->gpu_pct > 0 || n->vram_pct > 0 || n->vram_bytes > 0;
}

/* How far a GPU's two checks are from their limits, relative to them: the smaller. */
static double gpu_headroom(const struct decide_check *cu, const struct decide_check *cv,
                           const struct decide_thresholds *t)
{
    return MIN_D(cu->headroom / MAX_D(t->gpu_max_pct, 1e-9), cv->headroom / MAX_D(t->vram_max_pct, 1e-9));
}

void decide(const struct decide_input *in, const struct decide_thresholds *t,
            const struct decide_need *need, struct decision *ret)
{
    static const struct decide_need no_need;
    struct decision *d = ret;

    if (!need)
        need = &no_need;
    memset(d, 0, sizeof(*d));
    d->binding = -1;
    d->gpu_choice = -1;

    /* CPU */
    struct decide_check *c = add_check(d, RESOURCE_CPU, -1, true, in->cpu_pct, in->reserved.cpu_pct, need->cpu_pct,
                                       t->cpu_max_pct);
    if (c && !c->ok)
        add_reason(d, RESOURCE_CPU);

    /* Memory: a byte need is converted to percent of the capacity that applies to us. */
    double mem_need_pct = mem_pct_of(in, need);
    double mem_reserved_pct = mem_pct_of(in, &in->reserved);
    c = add_check(d, RESOURCE_MEMORY, -1, true, in->mem_used_pct, mem_reserved_pct, mem_need_pct, t->memory_max_pct);
    if (c && !c->ok)
        add_reason(d, RESOURCE_MEMORY);

    if (in->has_memory_pressure && t->memory_max_pressure_pct > 0) {
        c = add_check(d, RESOURCE_MEMORY_PRESSURE, -1, true, in->memory_pressure_pct, 0.0, 0.0,
                      t->memory_max_pressure_pct);
        if (c && !c->ok)
            add_reason(d, RESOURCE_MEMORY_PRESSURE);
    }

    /* GPUs: the task needs one GPU that passes both its checks. Report every GPU; the reason is
     * gpu_overload when no GPU has utilization room, else vram_overload when none with room also
     * has the memory. */
    if (in->n_gpus > 0) {
        unsigned n = MIN_GPUS(in->n_gpus);
        bool any_util_ok = false;
        /* Held GPUs are skipped for a task that needs a GPU only: a task without a GPU need is
         * placed on none, so another task holding them does not concern it. */
        bool skip_held = !t->gpu_shareable && need_uses_gpu(need);
        double best_headroom = -INFINITY;

        for (unsigned i = 0; i < n; i++) {
            const struct decide_gpu *g = &in->gpus[i];
            double vram_reserved = g->vram_total_bytes > 0
                                           ? 100.0 * (double) g->reserved_vram_bytes / (double) g->vram_total_bytes
                                           : 0.0;
            struct decide_check *cu = add_check(d, RESOURCE_GPU, (int) i, true, g->util_pct, g->reserved_util_pct,
                                                need->gpu_pct, t->gpu_max_pct);
            struct decide_check *cv = add_check(d, RESOURCE_VRAM, (int) i, true, vram_pct(g, need), vram_reserved,
                                                vram_need_pct(g, need), t->vram_max_pct);
            if (!cu || !cv)
                break;
            if (g->lost) {
                cu->ok = cv->ok = false;
                continue;
            }
            if (skip_held && g->held)
                continue;
            if (cu->ok)
                any_util_ok = true;
            if (cu->ok && cv->ok) {
                double h = gpu_headroom(cu, cv, t);
                if (h > best_headroom) {
                    best_headroom = h;
                    d->gpu_choice = (int) i;
                }
            }
        }
        if (d->gpu_choice < 0)
            add_reason(d, any_util_ok ? RESOURCE_VRAM : RESOURCE_GPU);
    }

    /* Storage: every monitored path must keep the minimum free; the task's own writes land on the
     * first path. An unreadable path counts as full: a typo must not switch the check off. */
    unsigned nd = in->n_disks > DECIDE_DISKS_MAX ? DECIDE_DISKS_MAX : in->n_disks;
    for (unsigned i = 0; i < nd; i++) {
        const struct decide_disk *k = &in->disks[i];
        double free_b = k->error ? 0.0 : (double) k->free_bytes;
        c = add_check(d, RESOURCE_STORAGE, (int) i, false, free_b, i == 0 ? (double) in->reserved.disk_bytes : 0.0,
                      i == 0 ? (double) need->disk_bytes : 0.0,
                      (double) t->storage_min_free_bytes);
        if (c && !c->ok)
            add_reason(d, RESOURCE_STORAGE);
    }

    /* The binding check is the one with the least headroom relative to its limit; for a GPU only
     * the chosen GPU (or all, when none fits) competes. */
    double best = INFINITY;
    for (unsigned i = 0; i < d->n_checks; i++) {
        const struct decide_check *k = &d->checks[i];
        if ((k->resource == RESOURCE_GPU || k->resource == RESOURCE_VRAM) && d->gpu_choice >= 0 &&
            k->index != d->gpu_choice)
            continue;
        double scale = k->resource == RESOURCE_STORAGE ? MAX_D(k->current, 1.0) : MAX_D(k->limit, 1e-9);
        double rel = k->headroom / scale;
        if (rel < best) {
            best = rel;
            d->binding = (int) i;
        }
    }

    d->allowed = d->n_reasons == 0;
}

void decide_pick_gpus(const struct decide_input *in, const struct decide_thresholds *t,
                      const struct decide_need *need, uint64_t held_mask, struct gpu_pick *ret)
{
    static const struct decide_need no_need;
    double headroom[DECIDE_GPUS_MAX];
    struct gpu_pick p = { 0 };

    if (!need)
        need = &no_need;
    if (t->gpu_shareable)
        held_mask = 0;
    for (unsigned i = 0; i < MIN_GPUS(in->n_gpus); i++) {
        const struct decide_gpu *g = &in->gpus[i];
        struct decision one = { 0 };
        if (g->lost || (held_mask & (UINT64_C(1) << i)))
            continue;
        double vram_reserved = g->vram_total_bytes > 0
                                       ? 100.0 * (double) g->reserved_vram_bytes / (double) g->vram_total_bytes
                                       : 0.0;
        /* decide()'s own checks, so that both rank and pass a GPU alike. */
        const struct decide_check *cu = add_check(&one, RESOURCE_GPU, (int) i, true, g->util_pct,
                                                  g->reserved_util_pct, need->gpu_pct, t->gpu_max_pct);
        const struct decide_check *cv = add_check(&one, RESOURCE_VRAM, (int) i, true, vram_pct(g, need),
                                                  vram_reserved, vram_need_pct(g, need), t->vram_max_pct);
        if (!cu->ok)
            continue;
        p.n_util_fit++;
        if (!cv->ok)
            continue;
        /* Insertion by headroom, most first; equal headroom keeps the lower index first. */
        double h = gpu_headroom(cu, cv, t);
        unsigned k = p.n_fit;
        while (k > 0 && headroom[k - 1] < h) {
            headroom[k] = headroom[k - 1];
            p.gpus[k] = p.gpus[k - 1];
            k--;
        }
        headroom[k] = h;
        p.gpus[k] = (int) i;
        p.n_fit++;
    }
    *ret = p;
}
