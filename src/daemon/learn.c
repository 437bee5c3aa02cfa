/* SPDX-License-Identifier: MIT */
/* Learning: the model cache, every observation (notify windows and supervised tasks) fed to its
 * type's models and stored with them in one transaction, and refits when the configured model
 * changes or a type has observations but no stored model (a database from before models). */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "daemon/daemon.h"
#include "daemon/learn.h"
#include "store/store.h"

void learn_params_from_config(const struct config *c, enum predict_model *ret_model,
                              struct predict_params *ret_params)
{
    struct predict_params p;

    predict_params_default(&p);
    p.lambda = c->learning.lambda;
    p.alpha = c->learning.alpha;
    p.quantile = c->learning.quantile;
    p.shrinkage_weight = c->learning.shrinkage_weight;
    p.margin_factor = c->learning.margin_factor;
    p.min_observations = c->learning.min_observations;
    enum predict_model m = predict_model_from_string(c->learning.model);
    *ret_model = m < 0 ? PREDICT_MODEL_EWLS : m;
    *ret_params = p;
}

/* Whether m was learnt with the model and parameters now configured. predictor_init() may have
 * normalised the parameters (linear: min_observations ≥ 2), so compare with what it would store. */
static bool model_current(const struct daemon *d, const struct task_model *m)
{
    struct predictor ref;

    if (predictor_init(&ref, d->predict_model, &d->predict_params) < 0)
        return false;
    const struct predictor *p = &m->p[LEARN_MEMORY];
    return p->model == ref.model && memcmp(&p->params, &ref.params, sizeof(ref.params)) == 0;
}

/* What each model learns: the mean impact for CPU and GPU utilization, which admission plans on
 * their expected values (a task shares them over its run); the peak for memory and VRAM, which a
 * task must have at its most. An observation without a mean (kept before means were) gives its
 * peak. */
static void observation_values(const struct observation *o, double v[_LEARN_RESOURCE_MAX])
{
    v[LEARN_CPU] = !isnan(o->cpu_mean_pct) ? o->cpu_mean_pct : o->cpu_delta_pct;
    v[LEARN_MEMORY] = o->mem_delta_pct;
    v[LEARN_GPU] = !isnan(o->gpu_mean_pct) ? o->gpu_mean_pct : o->gpu_delta_pct;
    v[LEARN_VRAM] = o->vram_delta_pct;
    v[LEARN_DURATION] = o->duration_ms >= 0 ? (double) o->duration_ms / 1000.0 : NAN;
}

static void raise_global_peak(struct daemon *d, const struct task_model *m)
{
    for (int r = 0; r < _LEARN_RESOURCE_MAX; r++)
        d->global_peak[r] = MAX(d->global_peak[r], predictor_peak_max(&m->p[r]));
}

/* ---- refit from raw observations ----------------------------------------------------------- */

struct refit_ctx {
    struct observation *v;
    unsigned n, cap;
};

static int collect_observation(const struct observation *o, void *userdata)
{
    struct refit_ctx *c = userdata;

    if (c->n >= c->cap)
        return -ENOBUFS;
    c->v[c->n++] = *o;
    return 0;
}

/* Rebuilds the models of task from its kept raw observations, oldest first. Returns 0, -ENOENT when
 * there are none, or another -errno. */
static int refit(struct daemon *d, const char *task, struct task_model *ret)
{
    struct refit_ctx c = { .cap = d->config.learning.observations_per_task };
    _cleanup_free_ struct observation *v = calloc(c.cap, sizeof(*v));
    struct task_model m;

    if (!v)
        return -ENOMEM;
    c.v = v;
    int r = store_foreach_observation(d->store, task, c.cap, collect_observation, &c);
    if (r < 0)
        return r;
    if (c.n == 0)
        return -ENOENT;
    r = task_model_init(&m, d->predict_model, &d->predict_params);
    if (r < 0)
        return r;
    for (unsigned i = c.n; i-- > 0;) {
        double vals[_LEARN_RESOURCE_MAX];
        observation_values(&v[i], vals);
        double w = v[i].weight > 0 && v[i].weight <= 1 ? v[i].weight : 1;
        /* A stored value the model refuses (a delta beyond PREDICT_VALUE_MAX from a foreign file)
         * is skipped rather than losing the rest. */
        (void) task_model_observe(&m, v[i].complexity, vals, w);
    }
    *ret = m;
    return 0;
}

/* ---- the cache ----------------------------------------------------------------------------- */

static struct model_cache_entry *cache_find(struct daemon *d, const char *task)
{
    for (unsigned i = 0; i < d->n_models; i++)
        if (strcmp(d->models[i].task, task) == 0)
            return &d->models[i];
    return NULL;
}

/* A slot for task: a free one, else the least recently used (models are written through to the
 * store, so an evicted entry loses nothing). */
static struct model_cache_entry *cache_slot(struct daemon *d, const char *task)
{
    struct model_cache_entry *e;

    if (d->n_models < DAEMON_MODEL_CACHE)
        e = &d->models[d->n_models++];
    else {
        e = &d->models[0];
        for (unsigned i = 1; i < d->n_models; i++)
            if (d->models[i].used < e->used)
                e = &d->models[i];
    }
    (void) snprintf(e->task, sizeof(e->task), "%s", task);
    return e;
}

int learn_model_get(struct daemon *d, const char *task, struct task_model **ret)
{
    struct model_cache_entry *e = cache_find(d, task);
    struct task_model m;
    int r;

    if (e) {
        e->used = ++d->model_clock;
        if (e->absent)
            return -ENOENT;
        *ret = &e->m;
        return 0;
    }
    r = store_get_task_model(d->store, task, &m);
    if (r == -ENOENT || (r >= 0 && !model_current(d, &m))) {
        /* Observations without a model (kept from before models were stored), or a model learnt
         * with another configuration: rebuild it from the raw observations, so switching models
         * loses no history. */
        bool had = r >= 0;
        r = refit(d, task, &m);
        if (r == -ENOENT && had)
            r = task_model_init(&m, d->predict_model, &d->predict_params);
        if (r == -ENOENT) {
            /* Remember the miss too: asks for a type never seen must not query the database each
             * time. The first observation of the type replaces the entry. */
            e = cache_slot(d, task);
            e->absent = true;
            e->used = ++d->model_clock;
            return -ENOENT;
        }
        if (r < 0)
            return r;
        int k = store_put_task_model(d->store, task, &m);
        if (k < 0)
            log_warning_errno(k, "Failed to store the refitted models of task '%s', keeping them in memory: %s",
                              task, store_last_error(d->store));
        log_debug("Refitted the models of task '%s' (%s)", task, d->config.learning.model);
    }
    if (r < 0)
        return r;
    e = cache_slot(d, task);
    e->m = m;
    e->absent = false;
    e->used = ++d->model_clock;
    *ret = &e->m;
    return 0;
}

int learn_observation(struct daemon *d, const struct observation *o)
{
    struct task_model *cached = NULL, m;
    double vals[_LEARN_RESOURCE_MAX];
    struct task_stats known;
    int r;

    r = store_get_task_stats(d->store, o->task, &known);
    if (r < 0 && r != -ENOENT)
        return r;
    bool is_new = r == -ENOENT;
    r = is_new ? -ENOENT : learn_model_get(d, o->task, &cached);
    if (r == -ENOENT)
        r = task_model_init(&m, d->predict_model, &d->predict_params);
    else if (r >= 0)
        m = *cached;
    if (r < 0)
        return r;

    observation_values(o, vals);
    r = task_model_observe(&m, o->complexity, vals, o->weight > 0 ? o->weight : 1);
    if (r < 0)
        return r;
    r = store_add_observation(d->store, o, d->config.learning.observations_per_task,
                              d->config.learning.max_task_types, &m);
    if (r < 0)
        return r;
    if (is_new)
        d->n_task_types++;
    /* Only now that the store has it: the cache never runs ahead of the database. */
    struct model_cache_entry *e = cache_find(d, o->task);
    if (!e)
        e = cache_slot(d, o->task);
    e->m = m;
    e->absent = false;
    e->used = ++d->model_clock;
    raise_global_peak(d, &m);
    return 0;
}

static int scan_model(const char *task, const struct task_model *m, void *userdata)
{
    struct daemon *d = userdata;

    raise_global_peak(d, m);
    return 0;
}

int learn_start(struct daemon *d)
{
    learn_params_from_config(&d->config, &d->predict_model, &d->predict_params);
    d->models = calloc(DAEMON_MODEL_CACHE, sizeof(*d->models));
    if (!d->models)
        return -ENOMEM;
    int r = store_foreach_task_model(d->store, scan_model, d);
    return r < 0 ? r : 0;
}

void learn_reconfigure(struct daemon *d)
{
    enum predict_model m;
    struct predict_params p;

    learn_params_from_config(&d->config, &m, &p);
    if (m == d->predict_model && memcmp(&p, &d->predict_params, sizeof(p)) == 0)
        return;
    d->predict_model = m;
    d->predict_params = p;
    /* Cached models were learnt under the old settings: the next use refits them. */
    d->n_models = 0;
    log_info("Learning now uses the %s model; task types are refitted from their observations as they "
             "are next used", predict_model_to_string(m));
}

void learn_stop(struct daemon *d)
{
    free(d->models);
    d->models = NULL;
    d->n_models = 0;
}
