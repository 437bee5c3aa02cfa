/* SPDX-License-Identifier: MIT */
/* GET /v1/history?limit=N: the in-memory ring of recent samples, oldest first. */

#include <stdio.h>

#include "api/api-internal.h"
#include "basic/parse-util.h"

void handle_v1_history(struct api *a, const struct http_request *req, struct http_response *resp)
{
    const struct history *h = a->history;
    const char *ls = http_request_query(req, "limit");
    uint64_t limit = h->len;

    if (ls && (safe_atou64(ls, &limit) < 0 || limit == 0)) {
        reply_error(resp, 400, "limit must be a positive integer, got '%.32s'", ls);
        return;
    }
    if (limit > h->len)
        limit = h->len;

    json_t *samples = json_array();
    for (size_t i = limit; samples && i > 0; i--) {
        const struct history_sample *s = history_peek(h, i - 1);
        char ts[64];
        json_t *gpu = json_array();
        for (unsigned g = 0; gpu && g < s->n_gpus && g < HISTORY_GPUS_MAX; g++)
            (void) json_array_append_new(gpu, json_number(s->gpu_util_pct[g]));
        (void) json_array_append_new(
                samples,
                json_pack("{s:s, s:o, s:o, s:I, s:o, s:o}", "timestamp", format_rfc3339(ts, sizeof(ts), s->real_usec),
                          "cpu_pct", json_number(s->cpu_pct), "mem_used_pct", json_number(s->mem_used_pct),
                          "mem_available_bytes", (json_int_t) s->mem_available_bytes, "memory_pressure_pct",
                          s->memory_pressure_pct >= 0 ? json_number(s->memory_pressure_pct) : json_null(),
                          "gpu_util_pct", gpu ? gpu : json_array()));
    }
    reply_json(resp, 200,
               json_pack("{s:I, s:I, s:I, s:o}", "interval_ms", (json_int_t) a->config->monitoring.interval_ms,
                         "capacity", (json_int_t) h->cap, "count", (json_int_t) limit, "samples",
                         samples ? samples : json_array()));
}
