/* SPDX-License-Identifier: MIT */
/* GET /v1/models and GET /v1/models/TASK[?complexity=N]: what each task type has learnt, with its
 * coefficients, confidence, the observations behind it, and a prediction on demand. */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api-internal.h"
#include "store/store.h"

#define MODELS_PREFIX   "/v1/models/"
#define MODELS_LIST_MAX 1000u   /* keeps the answer far below RESPONSE_MAX_BYTES */
#define RECENT_MAX      20u
#define COMPLEXITY_MAX  1e15

/* As admission sees it: the predictor's own minimum (linear raises 1 to 2). */
static bool predictor_sufficient(const struct predictor *p)
{
    return p->n >= p->params.min_observations;
}

static bool model_sufficient(const struct api *a, const struct task_model *m)
{
    return predictor_sufficient(&m->p[LEARN_CPU]) && predictor_sufficient(&m->p[LEARN_MEMORY]);
}

/* learning.model as the models name it ("linear_regression" is "linear"). */
static const char *model_name(const struct api *a)
{
    const char *s = predict_model_to_string(predict_model_from_string(a->config->learning.model));
    return s ? s : a->config->learning.model;
}

/* The peak over every complexity bucket, which /v1/models/TASK shows as "peak". */
static json_t *resource_json(struct api *a, const struct predictor *p, bool detail)
{
    double slope, intercept;
    bool sufficient = predictor_sufficient(p);
    json_t *o = json_pack("{s:I, s:b}", "n", (json_int_t) p->n, "sufficient", sufficient);

    if (!o || p->n == 0 || predictor_coefficients(p, &slope, &intercept) < 0)
        return o;
    struct prediction at_mean;
    double c = p->model == PREDICT_MODEL_MOVING_AVERAGE ? 0 : MAX(p->mx, 0);
    (void) json_object_set_new(o, "slope", json_number(slope));
    (void) json_object_set_new(o, "intercept", json_number(intercept));
    if (predictor_predict(p, c, NAN, &at_mean) == 0) {
        (void) json_object_set_new(o, "confidence", json_number(at_mean.confidence));
        if (detail)
            (void) json_object_set_new(o, "margin", json_number(at_mean.margin));
    }
    if (detail && p->peak_seen)
        (void) json_object_set_new(o, "peak", json_number(predictor_peak_max(p)));
    return o;
}

static json_t *resources_json(struct api *a, const struct task_model *m, bool detail)
{
    json_t *o = json_object();

    for (int r = 0; o && r < _LEARN_RESOURCE_MAX; r++)
        (void) json_object_set_new(o, learn_resource_to_string((enum learn_resource) r),
                                   resource_json(a, &m->p[r], detail));
    return o;
}

struct list_ctx {
    struct api *a;
    json_t *by_task;
    unsigned n;
    bool truncated;
};

static int list_model(const char *task, const struct task_model *m, void *userdata)
{
    struct list_ctx *c = userdata;

    if (c->n >= MODELS_LIST_MAX) {
        c->truncated = true;
        return -ENOBUFS;
    }
    c->n++;
    json_t *o = json_pack("{s:s, s:b, s:o}", "task", task, "sufficient", model_sufficient(c->a, m), "resources",
                          resources_json(c->a, m, false));
    if (o)
        (void) json_object_set_new(c->by_task, task, o);
    return 0;
}

static int list_stats(const struct task_stats *st, void *userdata)
{
    struct list_ctx *c = userdata;
    json_t *o = json_object_get(c->by_task, st->task);
    char ts[64];

    if (!o)
        return 0;
    (void) json_object_set_new(o, "observations", json_integer((json_int_t) st->count));
    (void) json_object_set_new(o, "overlapped", json_integer((json_int_t) st->overlapped_count));
    (void) json_object_set_new(o, "declared", json_integer((json_int_t) st->declared_count));
    (void) json_object_set_new(o, "updated_at",
                               json_string(format_rfc3339(ts, sizeof(ts), (usec_t) st->updated_ms * USEC_PER_MSEC)));
    return 0;
}

void handle_v1_models(struct api *a, const struct http_request *req, struct http_response *resp)
{
    _cleanup_json_ json_t *by_task = json_object();
    struct list_ctx c = { .a = a, .by_task = by_task };

    if (!by_task) {
        reply_error(resp, 500, "out of memory");
        return;
    }
    int r = store_foreach_task_model(a->store, list_model, &c);
    if (r >= 0 || r == -ENOBUFS)
        r = store_foreach_task_stats(a->store, list_stats, &c);
    if (r < 0 && r != -ENOBUFS) {
        reply_error(resp, 500, "cannot read the models: %s", store_last_error(a->store));
        return;
    }
    /* Both iterations are in task order, so the object's insertion order is too. */
    json_t *arr = json_array();
    const char *key;
    json_t *v;
    json_object_foreach(by_task, key, v)
        (void) json_array_append(arr, v);
    json_t *o = json_pack("{s:s, s:I, s:o}", "model", model_name(a), "min_observations",
                          (json_int_t) a->config->learning.min_observations, "models", arr ? arr : json_array());
    if (o && c.truncated)
        (void) json_object_set_new(o, "truncated", json_true());
    reply_json(resp, 200, o);
}

static json_t *declared_json(const struct observation *o)
{
    const double v[_LEARN_RESOURCE_MAX] = { o->declared_cpu_pct, o->declared_mem_pct, o->declared_gpu_pct,
                                            o->declared_vram_pct, NAN };
    json_t *d = NULL;

    for (int r = 0; r < _LEARN_RESOURCE_MAX; r++) {
        if (isnan(v[r]))
            continue;
        if (!d && !(d = json_object()))
            return NULL;
        (void) json_object_set_new(d, learn_resource_to_string((enum learn_resource) r), json_number(v[r]));
    }
    return d;
}

static int recent_one(const struct observation *o, void *userdata)
{
    json_t *arr = userdata;
    char ts[64];
    json_t *x = json_pack("{s:s, s:o, s:I, s:s, s:b, s:o, s:o, s:o, s:o, s:o, s:o}", "started_at",
                          format_rfc3339(ts, sizeof(ts), (usec_t) o->started_ms * USEC_PER_MSEC), "complexity",
                          json_number(o->complexity), "window_ms", (json_int_t) o->window_ms, "source",
                          o->source[0] ? o->source : STORE_SOURCE_DEFAULT, "overlapped", o->overlapped, "weight",
                          json_number(o->weight > 0 ? o->weight : 1), "cpu", json_number(o->cpu_delta_pct), "memory",
                          json_number(o->mem_delta_pct), "gpu", json_number(o->gpu_delta_pct), "vram",
                          json_number(o->vram_delta_pct), "duration_ms",
                          o->duration_ms >= 0 ? json_integer(o->duration_ms) : json_null());
    if (!x)
        return -ENOMEM;
    json_t *d = declared_json(o);
    if (d)
        (void) json_object_set_new(x, "declared", d);
    /* The mean impact, where it was measured (the values above are the peak). */
    const double means[_LEARN_RESOURCE_MAX] = { o->cpu_mean_pct, o->mem_mean_pct, o->gpu_mean_pct, o->vram_mean_pct,
                                                NAN };
    json_t *mean = NULL;
    for (int r = 0; r < _LEARN_RESOURCE_MAX; r++) {
        if (isnan(means[r]))
            continue;
        if (!mean && !(mean = json_object()))
            break;
        (void) json_object_set_new(mean, learn_resource_to_string((enum learn_resource) r), json_number(means[r]));
    }
    if (mean)
        (void) json_object_set_new(x, "mean", mean);
    return json_array_append_new(arr, x) < 0 ? -ENOMEM : 0;
}

static json_t *gap_json(const struct task_stats *st)
{
    const double g[_LEARN_RESOURCE_MAX] = { st->avg_cpu_gap, st->avg_mem_gap, st->avg_gpu_gap, st->avg_vram_gap,
                                            NAN };
    json_t *o = json_object();

    for (int r = 0; o && r < _LEARN_RESOURCE_MAX; r++)
        if (!isnan(g[r]))
            (void) json_object_set_new(o, learn_resource_to_string((enum learn_resource) r), json_number(g[r]));
    return o;
}

void handle_v1_model(struct api *a, const struct http_request *req, struct http_response *resp)
{
    const char *task = req->path + strlen(MODELS_PREFIX);
    const struct task_model *m;
    struct task_stats st;
    double complexity = NAN;
    char ts[64];

    if (!task_name_is_valid(task)) {
        reply_error(resp, 400, "invalid task name");
        return;
    }
    const char *cq = http_request_query(req, "complexity");
    if (cq) {
        char *end;
        errno = 0;
        complexity = strtod(cq, &end);
        if (errno != 0 || end == cq || *end != '\0' || !isfinite(complexity) || complexity < 0 ||
            complexity > COMPLEXITY_MAX) {
            reply_error(resp, 400, "complexity must be a number between 0 and 1e15");
            return;
        }
    }
    int r = a->hooks.model_get(a->hooks.userdata, task, &m);
    if (r == -ENOENT) {
        reply_error(resp, 404, "unknown task '%s'", task);
        return;
    }
    if (r < 0) {
        reply_error(resp, 500, "cannot read the model: %s", strerror(-r));
        return;
    }
    /* The model lives in a cache the next hook call may reuse: copy what is needed now. */
    struct task_model model = *m;
    r = store_get_task_stats(a->store, task, &st);
    if (r < 0 && r != -ENOENT) {
        reply_error(resp, 500, "cannot read the task's statistics: %s", store_last_error(a->store));
        return;
    }
    bool has_stats = r >= 0;

    json_t *res = resources_json(a, &model, true);
    for (int i = 0; res && !isnan(complexity) && i < _LEARN_RESOURCE_MAX; i++) {
        const struct predictor *p = &model.p[i];
        struct prediction pr;
        double prior = p->model == PREDICT_MODEL_EWLS ? MAX(p->my, 0) : NAN;
        if (p->n == 0 || predictor_predict(p, complexity, prior, &pr) < 0)
            continue;
        json_t *pj = api_prediction_json(&pr, a, (enum learn_resource) i);
        if (pj)
            (void) json_object_set_new(pj, "complexity", json_number(complexity));
        (void) json_object_set_new(json_object_get(res, learn_resource_to_string((enum learn_resource) i)),
                                   "prediction", pj);
    }

    json_t *recent = json_array();
    if (recent && store_foreach_observation(a->store, task, RECENT_MAX, recent_one, recent) < 0)
        json_array_clear(recent);

    const struct predict_params *pp = &model.p[LEARN_MEMORY].params;
    json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:b, s:I, s:{s:I, s:o}, s:o, s:{s:f, s:f, s:f, s:f, s:f}, s:o, s:o}",
                          "task", task, "model", predict_model_to_string(model.p[LEARN_MEMORY].model),
                          "observations", (json_int_t) (has_stats ? st.count : model.p[LEARN_MEMORY].n),
                          "min_observations", (json_int_t) a->config->learning.min_observations, "sufficient",
                          model_sufficient(a, &model), "overlapped", (json_int_t) (has_stats ? st.overlapped_count : 0),
                          "declared", "count", (json_int_t) (has_stats ? st.declared_count : 0), "gap",
                          has_stats ? gap_json(&st) : json_object(), "updated_at",
                          has_stats ? json_string(format_rfc3339(ts, sizeof(ts), (usec_t) st.updated_ms * USEC_PER_MSEC))
                                    : json_null(),
                          "params", "lambda", pp->lambda, "alpha", pp->alpha, "quantile", pp->quantile,
                          "shrinkage_weight", pp->shrinkage_weight, "margin_factor", pp->margin_factor, "resources",
                          res ? res : json_object(), "recent", recent ? recent : json_array());
    reply_json(resp, 200, o);
}
