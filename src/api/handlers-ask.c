/* SPDX-License-Identifier: MIT */
/* POST /ask (capfox), POST /v1/ask (explained) and POST /task/notify. */

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "api/api-internal.h"
#include "basic/parse-util.h"
#include "basic/time-util.h"

#define PCT_NEED_MAX  100000.0   /* a need far beyond any machine is still a number, not an error */
#define COMPLEXITY_MAX 1e15

/* capfox's reason strings, then insufficient_data when the task's type had too few observations
 * and the decision fell back on thresholds. On capfox's /ask only once learning has begun for the
 * type (it has been observed at least once): a client that uses headroom as a plain threshold gate
 * and never notifies keeps capfox's exact answers. */
static bool says_insufficient(const struct api_admission *ad, bool capfox)
{
    return ad->plan.explain.insufficient_data && (!capfox || ad->has_model);
}

static json_t *reasons_json(const struct api_admission *ad, bool capfox)
{
    const struct decision *d = &ad->decision;
    json_t *arr = json_array();
    for (unsigned i = 0; arr && i < d->n_reasons; i++)
        (void) json_array_append_new(arr, json_string(resource_reason(d->reasons[i])));
    if (arr && says_insufficient(ad, capfox))
        (void) json_array_append_new(arr, json_string("insufficient_data"));
    return arr;
}

static bool admission_failed(struct api *a, int r, struct http_response *resp, bool explained)
{
    if (r >= 0)
        return false;
    if (explained)
        reply_error(resp, 500, "cannot read the task's model: %s", strerror(-r));
    else
        reply_text(resp, 500, "cannot read the task's model");
    return true;
}

/* admission.reserve_on_ask_seconds: an allowed capfox /ask holds its need like a /v1/ask with
 * reserve, so that capfox clients get burst safety without changing a line. A full lease table
 * turns the answer into a denial: admitting without holding would break the promise. */
static int ask_reserve(struct api *a, const char *task, double complexity, const struct api_admission *ad,
                       const struct decide_need *declared, usec_t ttl_usec, struct lease *ret)
{
    return a->hooks.lease_add(a->hooks.userdata, task, complexity, &ad->plan, declared, ad->decision.gpu_choice, 0,
                              ttl_usec, ret);
}

/* capfox's "resources": percent of CPU, memory, GPU and VRAM. capfox declared them as integers and
 * answered 400 to 12.5; any non-negative number is accepted here. */
static int parse_resources(json_t *res, struct decide_need *need, char *err, size_t errlen)
{
    if (!res || json_is_null(res))
        return 0;
    if (!json_is_object(res)) {
        (void) snprintf(err, errlen, "resources must be an object");
        return -EINVAL;
    }
    int r = get_number(res, "cpu", PCT_NEED_MAX, &need->cpu_pct, err, errlen);
    if (r >= 0)
        r = get_number(res, "memory", PCT_NEED_MAX, &need->mem_pct, err, errlen);
    if (r >= 0)
        r = get_number(res, "gpu", PCT_NEED_MAX, &need->gpu_pct, err, errlen);
    if (r >= 0)
        r = get_number(res, "vram", PCT_NEED_MAX, &need->vram_pct, err, errlen);
    if (r < 0) {
        char tmp[256];
        (void) snprintf(tmp, sizeof(tmp), "resources.%s", err);
        (void) snprintf(err, errlen, "%s", tmp);
    }
    return r;
}

static bool not_ready(struct api *a, struct http_response *resp, bool explained)
{
    if (a->ready)
        return false;
    if (explained)
        reply_json(resp, 503, json_pack("{s:b, s:[s], s:s}", "allowed", 0, "reasons", "not_ready", "message",
                                        "no complete sample yet; retry in a second"));
    else
        reply_json(resp, 503, json_pack("{s:b, s:[s]}", "allowed", 0, "reasons", "not_ready"));
    return true;
}

void handle_ask(struct api *a, const struct http_request *req, struct http_response *resp)
{
    _cleanup_json_ json_t *body = NULL;
    char err[256], msg[320];
    struct decide_need need = { 0 };
    const char *task = NULL;
    double complexity = 0;

    int r = parse_body(req, &body, err, sizeof(err));
    if (r >= 0 && json_is_null(body)) {
        /* capfox decodes a literal null into zero values and answers it; keep that. */
    } else if (r >= 0 && !json_is_object(body)) {
        (void) snprintf(err, sizeof(err), "expected a JSON object");
        r = -EINVAL;
    }
    if (r >= 0 && json_is_object(body)) {
        r = get_task(body, false, &task, err, sizeof(err));
        if (r >= 0)
            r = get_number(body, "complexity", COMPLEXITY_MAX, &complexity, err, sizeof(err));
        if (r >= 0)
            r = parse_resources(json_object_get(body, "resources"), &need, err, sizeof(err));
    }
    if (r < 0) {
        a->counters.bad_requests_total++;
        /* capfox's text, then what exactly is wrong. */
        (void) snprintf(msg, sizeof(msg), "invalid request body: %s", err);
        reply_text(resp, 400, msg);
        return;
    }
    if (not_ready(a, resp, false))
        return;

    struct api_admission ad;
    r = api_admit(a, task, complexity, &need, 0, &ad);
    if (admission_failed(a, r, resp, false))
        return;
    bool reasons = query_flag(req, "reason", "X-Reason");
    if (ad.decision.allowed && a->config->admission.reserve_on_ask_sec > 0) {
        struct lease l;
        r = ask_reserve(a, task, complexity, &ad, &need,
                        (usec_t) a->config->admission.reserve_on_ask_sec * USEC_PER_SEC, &l);
        if (r < 0 && r != -ENOSPC) {
            reply_text(resp, 500, "cannot hold the reservation");
            return;
        }
        if (r < 0) {
            a->counters.asks_allowed_total--;
            a->counters.asks_denied_total++;
            reply_json(resp, 503, json_pack("{s:b, s:[s]}", "allowed", 0, "reasons", "lease_table_full"));
            return;
        }
    }
    /* The two plain answers are constants: the server reuses one prepared response for each,
     * which is most of the cost of a request on this, the hottest path. */
    if (ad.decision.allowed) {
        if (reasons && says_insufficient(&ad, true))
            reply_json(resp, 200, json_pack("{s:b, s:o}", "allowed", 1, "reasons", reasons_json(&ad, true)));
        else
            http_response_static(resp, 200, CT_JSON, "{\"allowed\":true}\n");
        return;
    }
    if (reasons)
        reply_json(resp, 503, json_pack("{s:b, s:o}", "allowed", 0, "reasons", reasons_json(&ad, true)));
    else
        http_response_static(resp, 503, CT_JSON, "{\"allowed\":false}\n");
}

/* A size in a /v1 body: a non-negative integer of bytes, or a string such as "8G". */
static int get_size(json_t *obj, const char *key, uint64_t *ret, char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, key);

    if (!v || json_is_null(v))
        return 0;
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *ret = (uint64_t) json_integer_value(v);
        return 0;
    }
    if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) < 9.2e18) {
        *ret = (uint64_t) llround(json_real_value(v));
        return 0;
    }
    if (json_is_string(v) && parse_size(json_string_value(v), ret) == 0)
        return 0;
    (void) snprintf(err, errlen, "needs.%s must be a byte count or a size like \"8G\"", key);
    return -EINVAL;
}

int api_parse_needs(json_t *needs, struct decide_need *need, char *err, size_t errlen)
{
    static const char *const known[] = { "cpu_pct", "mem_bytes", "gpu_pct", "vram_bytes", "disk_bytes" };
    const char *key;
    json_t *v;

    if (!needs || json_is_null(needs))
        return 0;
    if (!json_is_object(needs)) {
        (void) snprintf(err, errlen, "needs must be an object");
        return -EINVAL;
    }
    json_object_foreach(needs, key, v) {
        bool ok = false;
        for (size_t i = 0; i < ELEMENTSOF(known); i++)
            ok = ok || strcmp(key, known[i]) == 0;
        if (!ok) {
            (void) snprintf(err, errlen, "unknown field 'needs.%.64s' (known: cpu_pct, mem_bytes, gpu_pct, "
                                         "vram_bytes, disk_bytes)", key);
            return -EINVAL;
        }
    }
    int r = get_number(needs, "cpu_pct", PCT_NEED_MAX, &need->cpu_pct, err, errlen);
    if (r >= 0)
        r = get_number(needs, "gpu_pct", PCT_NEED_MAX, &need->gpu_pct, err, errlen);
    if (r >= 0)
        r = get_size(needs, "mem_bytes", &need->mem_bytes, err, errlen);
    if (r >= 0)
        r = get_size(needs, "vram_bytes", &need->vram_bytes, err, errlen);
    if (r >= 0)
        r = get_size(needs, "disk_bytes", &need->disk_bytes, err, errlen);
    return r;
}

int api_parse_limits(json_t *limits, struct protect_limits *ret, char *err, size_t errlen)
{
    static const char *const known[] = { "memory_soft_bytes", "memory_hard_bytes", "cpu_soft_percent" };
    struct protect_limits l = { 0 };

    if (!limits || json_is_null(limits)) {
        *ret = l;
        return 0;
    }
    if (!json_is_object(limits)) {
        (void) snprintf(err, errlen, "limits must be an object");
        return -EINVAL;
    }
    int r = reject_unknown(limits, known, ELEMENTSOF(known), err, errlen);
    if (r >= 0)
        r = get_size(limits, "memory_soft_bytes", &l.mem_soft_bytes, err, errlen);
    if (r >= 0)
        r = get_size(limits, "memory_hard_bytes", &l.mem_hard_bytes, err, errlen);
    if (r >= 0)
        r = get_number(limits, "cpu_soft_percent", 100, &l.cpu_soft_pct, err, errlen);
    if (r >= 0 && l.mem_soft_bytes && l.mem_hard_bytes && l.mem_soft_bytes > l.mem_hard_bytes) {
        (void) snprintf(err, errlen, "limits.memory_soft_bytes must not exceed limits.memory_hard_bytes");
        r = -EINVAL;
    }
    if (r >= 0)
        *ret = l;
    return r;
}

/* The non-zero fields of a task's own limits. */
json_t *api_limits_json(const struct protect_limits *l)
{
    json_t *o = json_object();
    if (o && l->mem_soft_bytes)
        (void) json_object_set_new(o, "memory_soft_bytes", json_integer((json_int_t) l->mem_soft_bytes));
    if (o && l->mem_hard_bytes)
        (void) json_object_set_new(o, "memory_hard_bytes", json_integer((json_int_t) l->mem_hard_bytes));
    if (o && l->cpu_soft_pct > 0)
        (void) json_object_set_new(o, "cpu_soft_percent", json_real(l->cpu_soft_pct));
    return o;
}

static json_t *check_json(const struct api *a, const struct decide_check *c, const struct decide_need *need)
{
    json_t *o;

    if (c->percent)
        o = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:b}", "resource", resource_to_string(c->resource),
                      "unit", "percent", "current", json_number(c->current), "reserved", json_number(c->reserved),
                      "need", json_number(c->need), "projected",
                      json_number(c->projected), "threshold", json_number(c->limit), "headroom",
                      json_number(c->headroom), "ok", c->ok);
    else
        o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:b}", "resource", resource_to_string(c->resource),
                      "unit", "bytes", "current", (json_int_t) llround(c->current), "reserved",
                      (json_int_t) llround(c->reserved), "need", (json_int_t) llround(c->need),
                      "projected", (json_int_t) llround(c->projected), "threshold", (json_int_t) llround(c->limit),
                      "headroom", (json_int_t) llround(c->headroom), "ok", c->ok);
    if (!o)
        return NULL;
    if (c->resource == RESOURCE_GPU || c->resource == RESOURCE_VRAM)
        (void) json_object_set_new(o, "index", json_integer(c->index));
    if (c->resource == RESOURCE_STORAGE && c->index >= 0 && (unsigned) c->index < a->view->n_disks)
        (void) json_object_set_new(o, "path", json_string(a->view->disks[c->index].path));
    if (c->resource == RESOURCE_MEMORY) {
        (void) json_object_set_new(o, "total_bytes", json_integer((json_int_t) a->view->mem_total_bytes));
        (void) json_object_set_new(o, "available_bytes", json_integer((json_int_t) a->view->mem_available_bytes));
        if (need->mem_bytes)
            (void) json_object_set_new(o, "need_bytes", json_integer((json_int_t) need->mem_bytes));
    }
    if (c->resource == RESOURCE_VRAM && c->index >= 0 && (unsigned) c->index < a->view->n_gpus) {
        const struct decide_gpu *g = &a->view->gpus[c->index];
        (void) json_object_set_new(o, "total_bytes", json_integer((json_int_t) g->vram_total_bytes));
        if (need->vram_bytes)
            (void) json_object_set_new(o, "need_bytes", json_integer((json_int_t) need->vram_bytes));
    }
    return o;
}

void handle_v1_ask(struct api *a, const struct http_request *req, struct http_response *resp)
{
    static const char *const known[] = { "task", "complexity", "needs", "resources", "reserve", "lease_seconds" };
    _cleanup_json_ json_t *body = NULL;
    char err[256];
    struct decide_need need = { 0 };
    const char *task = NULL, *key;
    double complexity = 0;
    json_t *v;

    int r = parse_body(req, &body, err, sizeof(err));
    if (r >= 0 && !json_is_object(body)) {
        (void) snprintf(err, sizeof(err), "expected a JSON object");
        r = -EINVAL;
    }
    if (r >= 0)
        json_object_foreach(body, key, v) {
            bool ok = false;
            for (size_t i = 0; i < ELEMENTSOF(known); i++)
                ok = ok || strcmp(key, known[i]) == 0;
            if (!ok) {
                (void) snprintf(err, sizeof(err),
                                "unknown field '%.64s' (known: task, complexity, needs, resources, reserve, "
                                "lease_seconds)",
                                key);
                r = -EINVAL;
                break;
            }
        }
    if (r >= 0)
        r = get_task(body, false, &task, err, sizeof(err));
    if (r >= 0)
        r = get_number(body, "complexity", COMPLEXITY_MAX, &complexity, err, sizeof(err));
    if (r >= 0)
        r = parse_resources(json_object_get(body, "resources"), &need, err, sizeof(err));
    if (r >= 0)
        r = api_parse_needs(json_object_get(body, "needs"), &need, err, sizeof(err));
    bool reserve = false;
    double lease_seconds = a->config->admission.lease_sec;
    if (r >= 0) {
        json_t *rv = json_object_get(body, "reserve");
        if (rv && !json_is_boolean(rv)) {
            (void) snprintf(err, sizeof(err), "reserve must be true or false");
            r = -EINVAL;
        } else
            reserve = rv && json_is_true(rv);
    }
    if (r >= 0)
        r = get_number(body, "lease_seconds", LEASE_SECONDS_MAX, &lease_seconds, err, sizeof(err));
    if (r >= 0 && lease_seconds < 1) {
        (void) snprintf(err, sizeof(err), "lease_seconds must be between 1 and %u", (unsigned) LEASE_SECONDS_MAX);
        r = -EINVAL;
    }
    if (r < 0) {
        a->counters.bad_requests_total++;
        reply_error(resp, 400, "invalid request body: %s", err);
        return;
    }
    if (not_ready(a, resp, true))
        return;

    struct api_admission ad;
    r = api_admit(a, task, complexity, &need, 0, &ad);
    if (admission_failed(a, r, resp, true))
        return;
    const struct decision *d = &ad.decision;

    /* An admitted task with reserve holds its need (declared, else predicted, else the fallback)
     * until it is released, expires, or shrinks to what the task has not reached yet. */
    json_t *lease = json_null();
    if (d->allowed && reserve) {
        struct lease l;
        char ts[64], id[API_LEASE_ID_MAX];
        r = a->hooks.lease_add(a->hooks.userdata, task, complexity, &ad.plan, &need, d->gpu_choice, 0,
                               (usec_t) llround(lease_seconds * 1e6), &l);
        if (r < 0 && r != -ENOSPC) {
            reply_error(resp, 500, "cannot hold the reservation: %s", strerror(-r));
            return;
        }
        if (r < 0) {
            a->counters.asks_allowed_total--;
            a->counters.asks_denied_total++;
            reply_json(resp, 503, json_pack("{s:b, s:[s], s:s}", "allowed", 0, "reasons", "lease_table_full", "message",
                                            "too many leases are held; release some or retry later"));
            return;
        }
        api_format_lease_id(id, l.id);
        lease = json_pack("{s:s, s:s, s:o, s:o}", "id", id, "expires_at",
                          format_rfc3339(ts, sizeof(ts), l.expires_real_usec), "ttl_sec", json_number(lease_seconds),
                          "holds", api_need_json(&l.reserve));
    }

    reply_json(resp, d->allowed ? 200 : 503, api_ask_answer(a, task, complexity, &ad, lease));
}

json_t *api_ask_answer(struct api *a, const char *task, double complexity, const struct api_admission *ad,
                       json_t *lease)
{
    const struct decision *d = &ad->decision;
    json_t *checks = json_array();
    for (unsigned i = 0; checks && i < d->n_checks; i++)
        (void) json_array_append_new(checks, check_json(a, &d->checks[i], &ad->need));

    char ts[64];
    const struct decide_check *b = d->binding >= 0 ? &d->checks[d->binding] : NULL;
    return json_pack("{s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:o}", "allowed", d->allowed, "task",
                     task ? json_string(task) : json_null(), "complexity", json_number(complexity), "reasons",
                     reasons_json(ad, false), "binding", b ? json_string(resource_to_string(b->resource)) : json_null(),
                     "checks", checks ? checks : json_array(), "gpu",
                     d->gpu_choice >= 0 ? json_integer(d->gpu_choice) : json_null(), "sampled_at",
                     format_rfc3339(ts, sizeof(ts), a->snapshot->real_usec), "lease", lease ? lease : json_null(),
                     "prediction", api_plan_json(a, ad), "estimate", api_estimate_json(a, ad));
}

void handle_notify(struct api *a, const struct http_request *req, struct http_response *resp)
{
    _cleanup_json_ json_t *body = NULL;
    char err[256], msg[320];
    const char *task = NULL;
    double complexity = 0;

    int r = parse_body(req, &body, err, sizeof(err));
    if (r >= 0 && !json_is_object(body)) {
        (void) snprintf(err, sizeof(err), "expected a JSON object");
        r = -EINVAL;
    }
    if (r >= 0) {
        r = get_task(body, true, &task, err, sizeof(err));
        if (r == -ENOENT) {
            a->counters.bad_requests_total++;
            reply_text(resp, 400, "task field is required");
            return;
        }
    }
    if (r >= 0)
        r = get_number(body, "complexity", COMPLEXITY_MAX, &complexity, err, sizeof(err));
    uint64_t lease_id = 0, attached = 0;
    json_t *lv = r >= 0 ? json_object_get(body, "lease") : NULL;
    if (lv && !json_is_null(lv) && (!json_is_string(lv) || api_parse_lease_id(json_string_value(lv), &lease_id) < 0)) {
        (void) snprintf(err, sizeof(err), "lease must be a lease id such as \"l-0123456789abcdef\"");
        r = -EINVAL;
    }
    if (r < 0) {
        a->counters.bad_requests_total++;
        (void) snprintf(msg, sizeof(msg), "invalid request body: %s", err);
        reply_text(resp, 400, msg);
        return;
    }

    a->hooks.leases_expire(a->hooks.userdata);
    r = a->hooks.notify(a->hooks.userdata, task, complexity, lease_id, &attached);
    if (r == -ENOENT) {
        reply_text(resp, 404, "no such lease (released or expired)");
        return;
    }
    if (r == -EBUSY) {
        reply_text(resp, 409, "the lease was already taken by another task");
        return;
    }
    if (r == -EAGAIN) {
        reply_text(resp, 429, "too many pending observations, retry later");
        return;
    }
    if (r == -ENOSPC) {
        reply_text(resp, 507, "too many task types (learning.max_task_types)");
        return;
    }
    if (r < 0) {
        reply_text(resp, 500, "failed to record the notification");
        return;
    }
    a->counters.notifies_total++;
    json_t *o = json_pack("{s:b, s:s}", "received", 1, "task", task);
    if (o && attached) {
        char id[API_LEASE_ID_MAX];
        api_format_lease_id(id, attached);
        (void) json_object_set_new(o, "lease", json_string(id));
    }
    reply_json(resp, 200, o);
}
