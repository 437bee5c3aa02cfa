/* SPDX-License-Identifier: MIT */
#include "model/admit.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"

static const char *const resource_names[_LEARN_RESOURCE_MAX] = {
    [LEARN_CPU] = "cpu",
    [LEARN_MEMORY] = "memory",
    [LEARN_GPU] = "gpu",
    [LEARN_VRAM] = "vram",
    [LEARN_DURATION] = "duration",
};

const char *learn_resource_to_string(enum learn_resource r)
{
    if (r < 0 || r >= _LEARN_RESOURCE_MAX)
        return NULL;
    return resource_names[r];
}

enum learn_resource learn_resource_from_string(const char *s)
{
    if (!s)
        return _LEARN_RESOURCE_INVALID;
    for (int i = 0; i < _LEARN_RESOURCE_MAX; i++)
        if (strcmp(s, resource_names[i]) == 0)
            return (enum learn_resource) i;
    return _LEARN_RESOURCE_INVALID;
}

static const char *const source_names[] = {
    [NEED_NONE] = "none",
    [NEED_DECLARED] = "declared",
    [NEED_PREDICTED] = "predicted",
};

const char *need_source_to_string(enum need_source s)
{
    if ((unsigned) s >= ELEMENTSOF(source_names))
        return NULL;
    return source_names[s];
}

int task_model_init(struct task_model *m, enum predict_model model, const struct predict_params *params)
{
    struct task_model n;

    for (int r = 0; r < _LEARN_RESOURCE_MAX; r++) {
        int k = predictor_init(&n.p[r], model, params);
        if (k < 0)
            return k;
    }
    *m = n;
    return 0;
}

int task_model_observe(struct task_model *m, double complexity, const double values[_LEARN_RESOURCE_MAX],
                       double weight)
{
    struct task_model n = *m;

    for (int r = 0; r < _LEARN_RESOURCE_MAX; r++) {
        if (isnan(values[r]))
            continue;
        int k = predictor_observe_weighted(&n.p[r], complexity, values[r], weight);
        if (k < 0)
            return k;
    }
    *m = n;
    return 0;
}

double observation_weight(unsigned overlaps)
{
    return 1.0 / (1.0 + (double) overlaps);
}

static bool declared_of(const struct decide_need *d, enum learn_resource r)
{
    switch (r) {
    case LEARN_CPU:
        return d->cpu_pct > 0;
    case LEARN_MEMORY:
        return d->mem_pct > 0 || d->mem_bytes > 0;
    case LEARN_GPU:
        return d->gpu_pct > 0;
    case LEARN_VRAM:
        return d->vram_pct > 0 || d->vram_bytes > 0;
    default:
        return false;
    }
}

static void set_predicted(struct decide_need *n, enum learn_resource r, double v)
{
    switch (r) {
    case LEARN_CPU:
        n->cpu_pct = v;
        break;
    case LEARN_MEMORY:
        n->mem_pct = v;
        break;
    case LEARN_GPU:
        n->gpu_pct = v;
        break;
    case LEARN_VRAM:
        n->vram_pct = v;
        break;
    default:
        break;
    }
}

static void set_fallback(struct decide_need *n, const struct decide_need *f, enum learn_resource r)
{
    switch (r) {
    case LEARN_CPU:
        n->cpu_pct = f->cpu_pct;
        break;
    case LEARN_MEMORY:
        n->mem_pct = f->mem_pct;
        n->mem_bytes = f->mem_bytes;
        break;
    case LEARN_GPU:
        n->gpu_pct = f->gpu_pct;
        break;
    case LEARN_VRAM:
        n->vram_pct = f->vram_pct;
        n->vram_bytes = f->vram_bytes;
        break;
    default:
        break;
    }
}

int admit_plan(const struct admit_request *req, struct admit_plan *ret)
{
    struct admit_plan plan = { .need = req->declared, .reserve = req->declared };
    struct admit_explain *e = &plan.explain;
    const struct task_model *m = req->model;
    double c = req->complexity;

    if (!isfinite(c) || c < 0 || c > PREDICT_COMPLEXITY_MAX)
        return -EINVAL;

    for (int i = 0; i < _LEARN_RESOURCE_MAX; i++) {
        enum learn_resource r = (enum learn_resource) i;
        if (r == LEARN_DURATION)
            continue;
        /* CPU and memory are what every task uses: lacking them is insufficient data. GPU and
         * VRAM are learnt only from tasks on GPU machines; a type that never touched one has
         * nothing to say about them, and that is not a gap. */
        bool primary = r == LEARN_CPU || r == LEARN_MEMORY;

        if (m && m->p[r].n > 0) {
            const struct predictor *p = &m->p[r];
            /* Shrink toward the type's own mean: with few runs, a slope fitted on them is the
             * least trustworthy part of the estimate. */
            double prior = p->model == PREDICT_MODEL_EWLS ? MAX(p->my, 0) : NAN;
            int k = predictor_predict(p, c, prior, &e->prediction[r]);
            if (k < 0)
                return k;
            e->has_prediction[r] = true;
        }
        if (declared_of(&req->declared, r)) {
            e->source[r] = NEED_DECLARED;
            continue;
        }
        if (e->has_prediction[r] && e->prediction[r].sufficient) {
            const struct prediction *p = &e->prediction[r];
            e->source[r] = NEED_PREDICTED;
            /* CPU is compressible: a task that takes more than expected slows the others, it
             * kills nothing. It is admitted on its expected use; memory, GPU and VRAM, which a
             * task cannot do with less of, on their upper bound. */
            double v = r == LEARN_CPU ? CLAMP(p->expected, 0, p->upper) : p->upper;
            set_predicted(&plan.need, r, v);
            set_predicted(&plan.reserve, r, v);
            /* GPU leases are held per GPU (lease_table_apply_gpus()): not pooled. */
            if (r == LEARN_MEMORY)
                set_predicted(&plan.margin, r, p->upper - CLAMP(p->expected, 0, p->upper));
            continue;
        }
        e->source[r] = NEED_NONE;
        /* A task without a name declares what it holds: it has no type that could be unknown. */
        if (req->named)
            set_fallback(&plan.reserve, &req->fallback, r);
        if (req->named && (primary || e->has_prediction[r]))
            e->insufficient_data = true;
    }

    *ret = plan;
    return 0;
}

int admit_expected_duration(const struct task_model *m, double complexity, double *ret_sec)
{
    struct prediction p;
    int r = predictor_predict(&m->p[LEARN_DURATION], complexity, NAN, &p);

    if (r < 0)
        return r;
    if (!p.sufficient)
        return -ENODATA;
    *ret_sec = MAX(p.expected, 0);
    return 0;
}

void admit_pool_add(struct admit_pool *p, const struct decide_need *remaining,
                    const struct decide_need *margin)
{
    double cpu = MIN(MAX(margin->cpu_pct, 0), remaining->cpu_pct);
    double mem = MIN(MAX(margin->mem_pct, 0), remaining->mem_pct);
    struct decide_need *s = &p->sum;

    s->cpu_pct += remaining->cpu_pct - cpu;
    s->mem_bytes += remaining->mem_bytes;
    s->mem_pct += remaining->mem_pct - mem;
    s->gpu_pct += remaining->gpu_pct;
    s->vram_bytes += remaining->vram_bytes;
    s->vram_pct += remaining->vram_pct;
    s->disk_bytes += remaining->disk_bytes;
    p->cpu_margin_sq += cpu * cpu;
    p->mem_margin_sq += mem * mem;
}

void admit_pool_held(const struct admit_pool *p, struct decide_need *ret)
{
    struct decide_need n = p->sum;

    n.cpu_pct += sqrt(p->cpu_margin_sq);
    n.mem_pct += sqrt(p->mem_margin_sq);
    *ret = n;
}

/* need, of which margin is pooled with margins whose squares sum to sq. */
static double pooled_need(double need, double margin, double sq)
{
    double m = MIN(MAX(margin, 0), need);

    return need - m + sqrt(sq + m * m) - sqrt(sq);
}

void admit_pool_need(const struct admit_pool *p, const struct admit_plan *plan,
                     struct decide_need *ret)
{
    struct decide_need n = plan->need;

    n.cpu_pct = pooled_need(n.cpu_pct, plan->margin.cpu_pct, p->cpu_margin_sq);
    n.mem_pct = pooled_need(n.mem_pct, plan->margin.mem_pct, p->mem_margin_sq);
    *ret = n;
}

double predictor_peak_max(const struct predictor *p)
{
    double m = 0;

    for (unsigned b = 0; b < PREDICT_BUCKETS; b++)
        if ((p->peak_seen & (UINT64_C(1) << b)) && p->peak[b] > m)
            m = p->peak[b];
    return m;
}

void admit_fallback(const struct task_model *m, const double global_peak[_LEARN_RESOURCE_MAX],
                    double cold_mem_pct, struct decide_need *ret)
{
    double v[_LEARN_RESOURCE_MAX];

    for (int r = 0; r < _LEARN_RESOURCE_MAX; r++) {
        v[r] = m ? predictor_peak_max(&m->p[r]) : 0;
        if (!(v[r] > 0))
            v[r] = global_peak[r] > 0 ? global_peak[r] : 0;
    }
    if (!(v[LEARN_MEMORY] > 0) && cold_mem_pct > 0)
        v[LEARN_MEMORY] = cold_mem_pct;
    *ret = (struct decide_need) {
        .cpu_pct = v[LEARN_CPU],
        .mem_pct = v[LEARN_MEMORY],
        .gpu_pct = v[LEARN_GPU],
        .vram_pct = v[LEARN_VRAM],
    };
}

static double shrink_pct(double held, double reached)
{
    if (isnan(reached) || reached <= 0)
        return held;
    return MAX(held - reached, 0);
}

static uint64_t shrink_bytes(uint64_t held, double reached_pct, uint64_t total)
{
    if (isnan(reached_pct) || reached_pct <= 0 || total == 0)
        return held;
    double reached = reached_pct / 100.0 * (double) total;
    if (reached >= (double) held)
        return 0;
    return held - (uint64_t) reached;
}

void reservation_remaining(const struct decide_need *reserved, const double reached[_LEARN_RESOURCE_MAX],
                           uint64_t mem_total_bytes, uint64_t vram_total_bytes, struct decide_need *ret)
{
    struct decide_need n = *reserved;

    n.cpu_pct = shrink_pct(n.cpu_pct, reached[LEARN_CPU]);
    /* Memory may be held in bytes, percent or both (a declared size and nothing else, say): the
     * reached part comes off the percent first, then what is left of it off the bytes. */
    double mem_reached = reached[LEARN_MEMORY];
    if (!isnan(mem_reached) && mem_reached > 0 && n.mem_pct > 0) {
        double used = MIN(n.mem_pct, mem_reached);
        n.mem_pct -= used;
        mem_reached -= used;
    }
    n.mem_bytes = shrink_bytes(n.mem_bytes, mem_reached, mem_total_bytes);
    n.gpu_pct = shrink_pct(n.gpu_pct, reached[LEARN_GPU]);
    double vram_reached = reached[LEARN_VRAM];
    if (!isnan(vram_reached) && vram_reached > 0 && n.vram_pct > 0) {
        double used = MIN(n.vram_pct, vram_reached);
        n.vram_pct -= used;
        vram_reached -= used;
    }
    n.vram_bytes = shrink_bytes(n.vram_bytes, vram_reached, vram_total_bytes);
    *ret = n;
}

static int release_cmp(const void *a, const void *b)
{
    const struct admit_release *x = a, *y = b;

    return x->after_usec < y->after_usec ? -1 : x->after_usec > y->after_usec;
}

static double minus_floor0(double a, double b)
{
    return a > b ? a - b : 0;
}

static uint64_t minus_floor0_u(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

static void apply_release(struct decide_input *v, const struct admit_release *e)
{
    struct decide_need *r = &v->reserved;

    r->cpu_pct = minus_floor0(r->cpu_pct, e->reserved.cpu_pct);
    r->mem_pct = minus_floor0(r->mem_pct, e->reserved.mem_pct);
    r->mem_bytes = minus_floor0_u(r->mem_bytes, e->reserved.mem_bytes);
    r->gpu_pct = minus_floor0(r->gpu_pct, e->reserved.gpu_pct);
    r->vram_pct = minus_floor0(r->vram_pct, e->reserved.vram_pct);
    r->vram_bytes = minus_floor0_u(r->vram_bytes, e->reserved.vram_bytes);
    r->disk_bytes = minus_floor0_u(r->disk_bytes, e->reserved.disk_bytes);

    if (!isnan(e->used[LEARN_CPU]) && e->used[LEARN_CPU] > 0)
        v->cpu_pct = minus_floor0(v->cpu_pct, e->used[LEARN_CPU]);
    if (!isnan(e->used[LEARN_MEMORY]) && e->used[LEARN_MEMORY] > 0) {
        double freed = MIN(e->used[LEARN_MEMORY], v->mem_used_pct);
        v->mem_used_pct -= freed;
        uint64_t freed_bytes = (uint64_t) (freed / 100.0 * (double) v->mem_total_bytes);
        v->mem_available_bytes = MIN(v->mem_available_bytes + freed_bytes, v->mem_total_bytes);
    }
}

int admit_estimate(const struct decide_input *view, const struct decide_thresholds *t,
                   const struct decide_need *need, struct admit_release *ev, size_t n,
                   usec_t *ret_after_usec)
{
    struct decide_input v = *view;
    struct decision d;

    decide(&v, t, need, &d);
    if (d.allowed) {
        *ret_after_usec = 0;
        return 0;
    }
    if (n > 0)
        qsort(ev, n, sizeof(*ev), release_cmp);
    for (size_t i = 0; i < n; i++) {
        apply_release(&v, &ev[i]);
        /* Releases due at the same moment count together. */
        if (i + 1 < n && ev[i + 1].after_usec == ev[i].after_usec)
            continue;
        decide(&v, t, need, &d);
        if (d.allowed) {
            *ret_after_usec = ev[i].after_usec;
            return 0;
        }
    }
    return -ENODATA;
}
