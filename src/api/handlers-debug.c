/* SPDX-License-Identifier: MIT */
/* Test-only metric injection (capfox's /debug/inject-metrics), behind debug.enabled and a Bearer
 * token. Injected values are held until DELETE: a sample does not wipe them, so a test can rely
 * on them for as long as it needs. */

#include <stdio.h>

#include "api/api-internal.h"

json_t *status_gpu_json(const struct hr_gpu *g);

static int get_pct(json_t *body, const char *key, bool *has, double *ret, char *err, size_t errlen)
{
    double v = -1;
    int r = get_number(body, key, 100.0, &v, err, errlen);
    if (r < 0)
        return r;
    if (v >= 0) {
        *has = true;
        *ret = v;
    }
    return 0;
}

void handle_debug_inject(struct api *a, const struct http_request *req, struct http_response *resp)
{
    _cleanup_json_ json_t *body = NULL;
    char err[256], msg[320];
    struct api_inject in = { .gpu_index = 0 };

    if (req->method == HTTP_DELETE) {
        a->hooks.inject_clear(a->hooks.userdata);
        reply_json(resp, 200, json_pack("{s:b}", "success", 1));
        return;
    }

    int r = parse_body(req, &body, err, sizeof(err));
    if (r >= 0 && !json_is_object(body)) {
        (void) snprintf(err, sizeof(err), "expected a JSON object");
        r = -EINVAL;
    }
    if (r >= 0) {
        json_t *gi = json_object_get(body, "gpu_index");
        if (gi && !json_is_null(gi)) {
            if (!json_is_integer(gi)) {
                reply_text(resp, 400, "invalid request body: gpu_index must be an integer");
                return;
            }
            json_int_t idx = json_integer_value(gi);
            if (idx < 0 || idx >= HR_GPUS_MAX) {
                (void) snprintf(msg, sizeof(msg), idx < 0 ? "gpu_index must be >= 0, got %lld"
                                                          : "gpu_index must be < 16, got %lld",
                                (long long) idx);
                reply_text(resp, 400, msg);
                return;
            }
            in.gpu_index = (int) idx;
        }
    }
    if (r >= 0)
        r = get_pct(body, "cpu", &in.has_cpu, &in.cpu_pct, err, sizeof(err));
    if (r >= 0)
        r = get_pct(body, "memory", &in.has_memory, &in.memory_pct, err, sizeof(err));
    if (r >= 0)
        r = get_pct(body, "gpu_usage", &in.has_gpu_usage, &in.gpu_usage_pct, err, sizeof(err));
    if (r >= 0)
        r = get_pct(body, "vram_usage", &in.has_vram_usage, &in.vram_usage_pct, err, sizeof(err));
    if (r >= 0)
        r = get_pct(body, "memory_pressure", &in.has_memory_pressure, &in.memory_pressure_pct, err, sizeof(err));
    if (r >= 0) {
        double free_b = -1;
        r = get_number(body, "disk_free_bytes", 9.2e18, &free_b, err, sizeof(err));
        if (r >= 0 && free_b >= 0) {
            in.has_disk_free = true;
            in.disk_free_bytes = (uint64_t) free_b;
        }
    }
    if (r < 0) {
        (void) snprintf(msg, sizeof(msg), "invalid request body: %s", err);
        reply_text(resp, 400, msg);
        return;
    }
    r = a->hooks.inject(a->hooks.userdata, &in);
    if (r < 0) {
        reply_text(resp, 500, "failed to inject metrics");
        return;
    }
    reply_json(resp, 200, json_pack("{s:b}", "success", 1));
}

void handle_debug_status(struct api *a, const struct http_request *req, struct http_response *resp)
{
    const struct hr_snapshot *s = a->snapshot;
    const struct api_inject *in = a->inject;

    json_t *gpus = json_array();
    for (unsigned i = 0; gpus && i < s->n_gpus; i++)
        (void) json_array_append_new(gpus, status_gpu_json(&s->gpus[i]));

    json_t *inj = json_object();
    if (inj && in->has_cpu)
        (void) json_object_set_new(inj, "cpu", json_number(in->cpu_pct));
    if (inj && in->has_memory)
        (void) json_object_set_new(inj, "memory", json_number(in->memory_pct));
    if (inj && in->has_gpu_usage)
        (void) json_object_set_new(inj, "gpu_usage", json_number(in->gpu_usage_pct));
    if (inj && in->has_vram_usage)
        (void) json_object_set_new(inj, "vram_usage", json_number(in->vram_usage_pct));
    if (inj && in->has_memory_pressure)
        (void) json_object_set_new(inj, "memory_pressure", json_number(in->memory_pressure_pct));
    if (inj && in->has_disk_free)
        (void) json_object_set_new(inj, "disk_free_bytes", json_integer((json_int_t) in->disk_free_bytes));

    reply_json(resp, 200,
               json_pack("{s:b, s:o, s:{s:o, s:o, s:o}}", "debug_enabled", 1, "injected", inj ? inj : json_object(),
                         "current_state", "cpu", json_number(a->view->cpu_pct), "memory",
                         json_number(a->view->mem_used_pct), "gpus", gpus ? gpus : json_array()));
}
