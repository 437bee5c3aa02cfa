/* SPDX-License-Identifier: MIT */
/* One admission, shared by /ask and /v1/ask: the task's plan from what it declared and what its
 * type learnt, the decision on the current view (leases included), and, when denied, when it
 * would fit. */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api-internal.h"

/* Replaces decide()'s one-GPU verdict by the pick of n GPUs; reasons stay in their order. */
static void admit_gpus(struct api *a, const struct decide_thresholds *t, unsigned n, struct api_admission *ad)
{
    struct decision *d = &ad->decision;
    bool has[_RESOURCE_MAX] = { false };

    decide_pick_gpus(a->view, t, &ad->need, lease_table_held_gpus(a->leases), &ad->pick);
    ad->n_gpus_asked = n;
    ad->n_gpus_fit = ad->pick.n_fit;
    for (unsigned i = 0; i < d->n_reasons; i++)
        if (d->reasons[i] != RESOURCE_GPU && d->reasons[i] != RESOURCE_VRAM)
            has[d->reasons[i]] = true;
    if (ad->pick.n_fit < n)
        has[ad->pick.n_util_fit < n ? RESOURCE_GPU : RESOURCE_VRAM] = true;
    d->n_reasons = 0;
    for (int r = 0; r < _RESOURCE_MAX; r++)
        if (has[r])
            d->reasons[d->n_reasons++] = (enum resource) r;
    d->gpu_choice = ad->pick.n_fit >= n ? ad->pick.gpus[0] : -1;
    d->allowed = d->n_reasons == 0;
}

uint64_t api_admission_gpu_mask(const struct api_admission *ad)
{
    uint64_t m = 0;

    if (ad->n_gpus_asked == 0 || ad->pick.n_fit < ad->n_gpus_asked)
        return 0;
    for (unsigned i = 0; i < ad->n_gpus_asked; i++)
        m |= UINT64_C(1) << ad->pick.gpus[i];
    return m;
}

int api_admit(struct api *a, const char *task, double complexity, const struct decide_need *declared,
              unsigned n_gpus, struct api_admission *ret)
{
    struct decide_thresholds t;
    struct admit_request rq = { .named = task != NULL, .complexity = complexity, .declared = *declared };
    int r;

    memset(ret, 0, sizeof(*ret));
    if (task) {
        r = a->hooks.model_get(a->hooks.userdata, task, &rq.model);
        if (r < 0 && r != -ENOENT)
            return r;
        if (r == -ENOENT)
            rq.model = NULL;
    }
    if (a->config->admission.reserve_unknown && a->global_peak)
        admit_fallback(rq.model, a->global_peak, a->config->admission.cold_reserve_memory_pct, &rq.fallback);
    r = admit_plan(&rq, &ret->plan);
    if (r < 0)
        return r;
    ret->has_model = rq.model != NULL;

    /* The leases' margins are pooled (admit.h): the task adds its expected part and what its own
     * margin adds to the pooled one, which is what holding its lease will add. */
    struct admit_pool pool;
    api_thresholds(a->config, &t);
    a->hooks.leases_expire(a->hooks.userdata);
    lease_table_pool(a->leases, &pool);
    admit_pool_need(&pool, &ret->plan, &ret->need);
    decide(a->view, &t, &ret->need, &ret->decision);
    if (n_gpus > 0)
        admit_gpus(a, &t, MIN(n_gpus, (unsigned) DECIDE_GPUS_MAX), ret);
    if (ret->decision.allowed)
        a->counters.asks_allowed_total++;
    else {
        a->counters.asks_denied_total++;
        for (unsigned i = 0; i < ret->decision.n_reasons; i++)
            a->counters.denials_by_reason_total[ret->decision.reasons[i]]++;
    }
    if (ret->plan.explain.insufficient_data)
        a->counters.asks_insufficient_data_total++;
    return 0;
}

/* Releases headroom can foresee: a lease held by a supervised task goes at the task's expected end
 * (with the task's own use); any other lease at its deadline. */
static size_t collect_releases(const struct api *a, usec_t now, struct admit_release *ev, size_t max)
{
    size_t n = 0;

    for (unsigned i = 0; i < a->leases->n && n < max; i++) {
        const struct lease *l = &a->leases->v[i];
        struct admit_release *e = &ev[n];
        *e = (struct admit_release) { .reserved = l->remaining };
        for (int r = 0; r < _LEARN_RESOURCE_MAX; r++)
            e->used[r] = NAN;
        usec_t at = l->expires_usec;
        if (l->holder == LEASE_TASK) {
            const struct api_task *tk = NULL;
            for (unsigned j = 0; j < a->n_tasks && !tk; j++)
                if (a->tasks[j].id == l->task_id)
                    tk = &a->tasks[j];
            if (!tk || tk->expected_end_usec == 0)
                continue;
            at = tk->expected_end_usec;
            for (int r = 0; r < _LEARN_RESOURCE_MAX; r++)
                e->used[r] = tk->use[r];
        }
        if (at == USEC_INFINITY)
            continue;
        e->after_usec = at > now ? at - now : 0;
        n++;
    }
    return n;
}

json_t *api_estimate_json(struct api *a, const struct api_admission *ad)
{
    struct decide_thresholds t;
    usec_t now = now_usec(CLOCK_MONOTONIC), after;
    size_t max = a->leases->n;
    _cleanup_free_ struct admit_release *ev = NULL;

    if (ad->decision.allowed)
        return json_null();
    if (max > 0) {
        ev = calloc(max, sizeof(*ev));
        if (!ev)
            return json_null();
    }
    size_t n = collect_releases(a, now, ev, max);
    api_thresholds(a->config, &t);
    /* Replayed on whole reservations (margins summed, not pooled) and the task's whole need: a
     * release then frees exactly what it subtracts, and the time given errs on the late side. */
    struct decide_input v = *a->view;
    struct admit_pool whole = { 0 };
    static const struct decide_need no_margin;
    for (unsigned i = 0; i < a->leases->n; i++)
        admit_pool_add(&whole, &a->leases->v[i].remaining, &no_margin);
    admit_pool_held(&whole, &v.reserved);
    if (admit_estimate(&v, &t, &ad->plan.need, ev, n, &after) < 0)
        return json_pack("{s:n, s:s}", "fits_in_seconds", "why",
                         n == 0 ? "nothing headroom admitted is due to end or expire; the load that blocks "
                                  "is not held by its leases"
                                : "even after every lease and supervised task due to end has gone, the load "
                                  "that blocks remains");
    char ts[64];
    return json_pack("{s:o, s:s, s:s}", "fits_in_seconds", json_number((double) after / 1e6), "fits_at",
                     format_rfc3339(ts, sizeof(ts), now_usec(CLOCK_REALTIME) + after), "basis",
                     "leases expiring and supervised tasks ending as expected; other load assumed constant");
}

static json_t *prediction_fields(const struct prediction *p, const struct api *a, bool memory)
{
    json_t *o = json_pack("{s:o, s:o, s:o, s:o, s:I, s:b}", "expected", json_number(p->expected), "upper",
                          json_number(p->upper), "margin", json_number(p->margin), "confidence",
                          json_number(p->confidence), "n", (json_int_t) p->n, "sufficient", p->sufficient);
    if (!o)
        return NULL;
    if (p->has_peak)
        (void) json_object_set_new(o, "peak", json_number(p->peak));
    if (memory && a->view->mem_total_bytes > 0) {
        double total = (double) a->view->mem_total_bytes;
        (void) json_object_set_new(o, "expected_bytes",
                                   json_integer((json_int_t) llround(MAX(p->expected, 0) / 100.0 * total)));
        (void) json_object_set_new(o, "upper_bytes", json_integer((json_int_t) llround(p->upper / 100.0 * total)));
    }
    return o;
}

json_t *api_prediction_json(const struct prediction *p, struct api *a, enum learn_resource r)
{
    return prediction_fields(p, a, r == LEARN_MEMORY);
}

json_t *api_plan_json(struct api *a, const struct api_admission *ad)
{
    const struct admit_explain *e = &ad->plan.explain;
    json_t *o = json_object();

    for (int r = 0; o && r < _LEARN_RESOURCE_MAX; r++) {
        if (e->source[r] == NEED_NONE && !e->has_prediction[r])
            continue;
        json_t *x = e->has_prediction[r] ? prediction_fields(&e->prediction[r], a, r == LEARN_MEMORY)
                                          : json_object();
        if (!x)
            continue;
        (void) json_object_set_new(x, "source", json_string(need_source_to_string(e->source[r])));
        (void) json_object_set_new(o, learn_resource_to_string((enum learn_resource) r), x);
    }
    return o ? o : json_null();
}

json_t *api_need_json(const struct decide_need *n)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (n->cpu_pct > 0)
        (void) json_object_set_new(o, "cpu_pct", json_number(n->cpu_pct));
    if (n->mem_bytes > 0)
        (void) json_object_set_new(o, "mem_bytes", json_integer((json_int_t) n->mem_bytes));
    if (n->mem_pct > 0)
        (void) json_object_set_new(o, "mem_pct", json_number(n->mem_pct));
    if (n->gpu_pct > 0)
        (void) json_object_set_new(o, "gpu_pct", json_number(n->gpu_pct));
    if (n->vram_bytes > 0)
        (void) json_object_set_new(o, "vram_bytes", json_integer((json_int_t) n->vram_bytes));
    if (n->vram_pct > 0)
        (void) json_object_set_new(o, "vram_pct", json_number(n->vram_pct));
    if (n->disk_bytes > 0)
        (void) json_object_set_new(o, "disk_bytes", json_integer((json_int_t) n->disk_bytes));
    return o;
}

void api_format_lease_id(char buf[static API_LEASE_ID_MAX], uint64_t id)
{
    (void) snprintf(buf, API_LEASE_ID_MAX, "l-%016llx", (unsigned long long) id);
}

int api_parse_lease_id(const char *s, uint64_t *ret)
{
    char *end;

    if (!s || strncmp(s, "l-", 2) != 0 || strlen(s) != 18 || strspn(s + 2, "0123456789abcdef") != 16)
        return -EINVAL;
    errno = 0;
    unsigned long long v = strtoull(s + 2, &end, 16);
    if (errno != 0 || *end != '\0')
        return -EINVAL;
    *ret = v;
    return 0;
}

json_t *api_lease_json(const struct lease *l)
{
    char ts[64], id[API_LEASE_ID_MAX];
    json_t *reached = json_object();

    api_format_lease_id(id, l->id);
    for (int r = 0; reached && r < _LEARN_RESOURCE_MAX; r++)
        if (!isnan(l->reached[r]))
            (void) json_object_set_new(reached, learn_resource_to_string((enum learn_resource) r),
                                       json_number(l->reached[r]));
    return json_pack("{s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:o}", "id", id, "task",
                     l->task[0] ? json_string(l->task) : json_null(), "holder", lease_holder_to_string(l->holder),
                     "needs", api_need_json(&l->reserve), "remaining", api_need_json(&l->remaining), "reached",
                     reached ? reached : json_object(), "gpu",
                     l->gpu_index >= 0 ? json_integer(l->gpu_index) : json_null(), "expires_at",
                     l->expires_usec == USEC_INFINITY ? json_null()
                                                      : json_string(format_rfc3339(ts, sizeof(ts),
                                                                                   l->expires_real_usec)));
}

int api_admit_lease(struct api *a, struct api_task *t, unsigned n_gpus, struct api_admission *ad, struct lease *ret)
{
    int r = api_admit(a, t->task, t->complexity, &t->declared, n_gpus, ad);
    if (r < 0)
        return r;
    if (!ad->decision.allowed)
        return 0;
    r = a->hooks.lease_add(a->hooks.userdata, t->task, t->complexity, &ad->plan, &t->declared,
                           ad->decision.gpu_choice, api_admission_gpu_mask(ad),
                           (usec_t) a->config->admission.lease_sec * USEC_PER_SEC, ret);
    if (r < 0)
        return -ENOSPC;
    t->lease_id = ret->id;
    t->n_gpus = ad->n_gpus_asked;
    for (unsigned i = 0; i < t->n_gpus; i++)
        t->gpus[i] = ad->pick.gpus[i];
    return 1;
}

static unsigned lacking_mask(const struct api_admission *ad)
{
    unsigned m = 0;
    for (unsigned i = 0; i < ad->decision.n_reasons; i++)
        m |= 1u << ad->decision.reasons[i];
    return m;
}

int api_task_fits(struct api *a, const struct api_task *t, unsigned n_gpus, unsigned *ret_lacking)
{
    struct api_admission ad;
    int r = api_admit(a, t->task, t->complexity, &t->declared, n_gpus, &ad);
    if (r < 0)
        return r;
    *ret_lacking = lacking_mask(&ad);
    return ad.decision.allowed;
}

int api_task_admit(struct api *a, struct api_task *t, unsigned n_gpus, unsigned *ret_lacking)
{
    struct api_admission ad;
    struct lease l;
    int r = api_admit_lease(a, t, n_gpus, &ad, &l);
    if (r >= 0)
        *ret_lacking = lacking_mask(&ad);
    return r;
}
