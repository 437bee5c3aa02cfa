/* SPDX-License-Identifier: MIT */
/* GET /, /health, /ready, /status, /stats: capfox's read-only endpoints, capfox's key names, plus
 * the figures capfox never had (swap, PSI, load, IO, cgroup) under new keys. */

#include <math.h>
#include <string.h>

#include "api/api-internal.h"
#include "basic/time-util.h"
#include "store/store.h"

void handle_root(struct api *a, const struct http_request *req, struct http_response *resp)
{
    reply_json(resp, 200, json_pack("{s:s, s:s}", "name", "headroom", "version", HEADROOM_VERSION));
}

void handle_health(struct api *a, const struct http_request *req, struct http_response *resp)
{
    http_response_static(resp, 200, CT_JSON, "{\"status\":\"ok\"}\n");
}

void handle_ready(struct api *a, const struct http_request *req, struct http_response *resp)
{
    if (a->ready)
        http_response_static(resp, 200, CT_JSON, "{\"ready\":true}\n");
    else
        reply_json(resp, 503, json_pack("{s:b, s:s}", "ready", 0, "message",
                                        "no complete sample yet (CPU usage needs two readings)"));
}

static json_t *psi_line_json(const struct psi_line *l)
{
    return json_pack("{s:o, s:o, s:o, s:I}", "avg10", json_number(l->avg10), "avg60", json_number(l->avg60),
                     "avg300", json_number(l->avg300), "total_usec", (json_int_t) l->total_usec);
}

static json_t *psi_json(const struct psi_stats *p)
{
    if (!p->available)
        return json_null();
    return json_pack("{s:o, s:o}", "some", psi_line_json(&p->some), "full",
                     p->has_full ? psi_line_json(&p->full) : json_null());
}

json_t *status_gpu_json(const struct hr_gpu *g);
json_t *status_gpu_json(const struct hr_gpu *g)
{
    json_t *procs = json_array();
    for (unsigned i = 0; procs && i < g->n_procs && i < HR_GPU_PROCS_MAX; i++)
        (void) json_array_append_new(procs, json_pack("{s:I, s:o}", "pid", (json_int_t) g->procs[i].pid,
                                                      "vram_used_bytes",
                                                      g->procs[i].vram_used_bytes == UINT64_MAX
                                                              ? json_null()
                                                              : json_integer((json_int_t) g->procs[i].vram_used_bytes)));
    return json_pack("{s:I, s:s, s:s, s:s, s:o, s:o, s:I, s:I, s:b, s:o}", "index", (json_int_t) g->index, "name",
                     g->name, "uuid", g->uuid, "vendor", g->vendor, "usage_percent",
                     g->has_util ? json_number(g->util_pct) : json_null(), "temperature",
                     g->has_temperature ? json_integer(g->temperature_c) : json_null(), "vram_used_bytes",
                     (json_int_t) g->vram_used_bytes, "vram_total_bytes", (json_int_t) g->vram_total_bytes, "lost",
                     g->lost, "processes", procs ? procs : json_array());
}

void handle_status(struct api *a, const struct http_request *req, struct http_response *resp)
{
    const struct hr_snapshot *s = a->snapshot;
    char ts[64];

    json_t *cores = json_array();
    for (unsigned i = 0; cores && i < s->n_cpu_pct; i++)
        (void) json_array_append_new(cores, json_number(s->cpu_core_pct[i]));

    json_t *gpus = json_array();
    for (unsigned i = 0; gpus && i < s->n_gpus; i++)
        (void) json_array_append_new(gpus, status_gpu_json(&s->gpus[i]));

    json_t *storage = json_object();
    for (unsigned i = 0; storage && i < s->n_disks; i++) {
        const struct hr_disk *d = &s->disks[i];
        json_t *o;
        if (d->error)
            o = json_pack("{s:s}", "error", strerror(-d->error));
        else {
            /* df's percentage: used / (used + available to users). */
            double denom = (double) d->used_bytes + (double) d->free_bytes;
            o = json_pack("{s:I, s:I, s:o, s:I, s:I, s:b}", "used_bytes", (json_int_t) d->used_bytes,
                          "total_bytes", (json_int_t) d->total_bytes, "usage_percent",
                          json_number(denom > 0 ? 100.0 * (double) d->used_bytes / denom : 0.0), "free_bytes",
                          (json_int_t) d->free_bytes, "free_including_reserved_bytes",
                          (json_int_t) d->free_root_bytes, "readonly", d->readonly);
        }
        (void) json_object_set_new(storage, d->path, o);
    }

    const struct hr_cgroup_info *cg = &s->cgroup;
    json_t *cgroup = json_pack("{s:s, s:s, s:s, s:o, s:o}", "memory_mode", cgroup_mode_to_string(cg->memory_mode),
                               "cpu_mode", cgroup_mode_to_string(cg->cpu_mode), "path", cg->path,
                               "memory_limit_bytes",
                               cg->memory_limited ? json_integer((json_int_t) cg->memory_limit_bytes) : json_null(),
                               "cpu_quota_cores", cg->cpu_limited ? json_number(cg->cpu_quota_cores) : json_null());

    json_t *o = json_pack(
            "{s:{s:o, s:o, s:o, s:I}, s:{s:I, s:I, s:o, s:I}, s:{s:I, s:I, s:I}, s:{s:o, s:o, s:o},"
            " s:{s:o, s:o, s:o}, s:o, s:o, s:{s:o, s:o}, s:{s:o, s:o}, s:I, s:I, s:o, s:o, s:s, s:b}",
            "cpu", "usage_percent", json_number(s->cpu_pct), "cores", cores ? cores : json_array(), "capacity_cores",
            json_number(s->cpu_capacity_cores), "count", (json_int_t) s->n_cpus,
            "memory", "used_bytes", (json_int_t) s->mem_used_bytes, "total_bytes", (json_int_t) s->mem_total_bytes,
            "usage_percent", json_number(s->mem_used_pct), "available_bytes", (json_int_t) s->mem_available_bytes,
            "swap", "total_bytes", (json_int_t) s->swap_total_bytes, "free_bytes", (json_int_t) s->swap_free_bytes,
            "used_bytes", (json_int_t) (s->swap_total_bytes - MIN(s->swap_free_bytes, s->swap_total_bytes)),
            "load", "load1", json_number(s->load1), "load5", json_number(s->load5), "load15", json_number(s->load15),
            "pressure", "cpu", psi_json(&s->psi[PSI_CPU]), "memory", psi_json(&s->psi[PSI_MEMORY]), "io",
            psi_json(&s->psi[PSI_IO]),
            "gpus", gpus ? gpus : json_array(),
            "storage", storage ? storage : json_object(),
            "disk_io", "read_bytes_per_sec", json_number(s->disk_read_bytes_per_sec), "write_bytes_per_sec",
            json_number(s->disk_write_bytes_per_sec),
            "network", "rx_bytes_per_sec", json_number(s->net_rx_bytes_per_sec), "tx_bytes_per_sec",
            json_number(s->net_tx_bytes_per_sec),
            "processes", (json_int_t) s->processes, "threads", (json_int_t) s->threads,
            "context_switches_per_sec", json_number(s->ctxt_per_sec),
            "cgroup", cgroup ? cgroup : json_null(),
            "timestamp", format_rfc3339(ts, sizeof(ts), s->real_usec),
            "valid", s->valid);
    if (o && a->sources)
        (void) json_object_set_new(o, "sources", json_string(a->sources));
    reply_json(resp, 200, o);
}

static json_t *task_stats_json(const struct task_stats *st)
{
    json_t *o = json_pack("{s:s, s:I, s:o, s:o}", "task", st->task, "count", (json_int_t) st->count,
                          "avg_cpu_delta", json_number(st->avg_cpu_delta), "avg_mem_delta",
                          json_number(st->avg_mem_delta));
    /* capfox omits the GPU keys when they are zero (Go's omitempty); so do we. */
    if (o && fabs(st->avg_gpu_delta) > 0.0)
        (void) json_object_set_new(o, "avg_gpu_delta", json_number(st->avg_gpu_delta));
    if (o && fabs(st->avg_vram_delta) > 0.0)
        (void) json_object_set_new(o, "avg_vram_delta", json_number(st->avg_vram_delta));
    return o;
}

struct stats_acc {
    json_t *tasks;
    uint64_t total;
};

static int add_stats(const struct task_stats *st, void *userdata)
{
    struct stats_acc *acc = userdata;
    json_t *o = task_stats_json(st);

    if (!o || json_object_set_new(acc->tasks, st->task, o) < 0)
        return -ENOMEM;
    acc->total += st->count;
    return 0;
}

void handle_stats(struct api *a, const struct http_request *req, struct http_response *resp)
{
    const char *task = http_request_query(req, "task");
    int r;

    if (task && task[0]) {
        struct task_stats st;
        r = store_get_task_stats(a->store, task, &st);
        if (r == -ENOENT || r == -EINVAL) {
            reply_text(resp, 404, "task not found");
            return;
        }
        if (r < 0) {
            reply_text(resp, 500, "failed to read task statistics");
            return;
        }
        reply_json(resp, 200, task_stats_json(&st));
        return;
    }

    struct stats_acc acc = { .tasks = json_object() };
    if (!acc.tasks) {
        reply_text(resp, 503, "out of memory");
        return;
    }
    r = store_foreach_task_stats(a->store, add_stats, &acc);
    if (r < 0) {
        json_decref(acc.tasks);
        reply_text(resp, 500, "failed to read task statistics");
        return;
    }
    reply_json(resp, 200, json_pack("{s:o, s:I}", "tasks", acc.tasks, "total_tasks", (json_int_t) acc.total));
}
