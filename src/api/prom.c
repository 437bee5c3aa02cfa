/* SPDX-License-Identifier: MIT */
/* GET /metrics: Prometheus text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/). Each family is written whole,
 * HELP and TYPE first, every series once. Base units: bytes, seconds, ratios 0..1. */

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api/api-internal.h"
#include "basic/strbuf.h"

struct prom {
    struct strbuf b;
};

static void family(struct prom *p, const char *name, const char *type, const char *help)
{
    (void) strbuf_printf(&p->b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values escape backslash, double quote and newline. */
static void label_value(struct prom *p, const char *v)
{
    for (const char *c = v; *c; c++) {
        if (*c == '\\')
            (void) strbuf_puts(&p->b, "\\\\");
        else if (*c == '"')
            (void) strbuf_puts(&p->b, "\\\"");
        else if (*c == '\n')
            (void) strbuf_puts(&p->b, "\\n");
        else
            (void) strbuf_append(&p->b, c, 1);
    }
}

static void value(struct prom *p, double v)
{
    if (isnan(v))
        (void) strbuf_puts(&p->b, " NaN\n");
    else if (isinf(v))
        (void) strbuf_puts(&p->b, v > 0 ? " +Inf\n" : " -Inf\n");
    else
        (void) strbuf_printf(&p->b, " %.17g\n", v);
}

static void sample(struct prom *p, const char *name, double v)
{
    (void) strbuf_puts(&p->b, name);
    value(p, v);
}

/* A sample with labels given as "k1", "v1", "k2", "v2", ..., NULL. */
static void sample_l(struct prom *p, const char *name, double v, ...)
{
    va_list ap;
    bool first = true;

    (void) strbuf_printf(&p->b, "%s{", name);
    va_start(ap, v);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (!k)
            break;
        const char *val = va_arg(ap, const char *);
        (void) strbuf_printf(&p->b, "%s%s=\"", first ? "" : ",", k);
        label_value(p, val);
        (void) strbuf_puts(&p->b, "\"");
        first = false;
    }
    va_end(ap);
    (void) strbuf_puts(&p->b, "}");
    value(p, v);
}

static void gauge(struct prom *p, const char *name, const char *help, double v)
{
    family(p, name, "gauge", help);
    sample(p, name, v);
}

static void counter(struct prom *p, const char *name, const char *help, double v)
{
    family(p, name, "counter", help);
    sample(p, name, v);
}

static void write_pressure(struct prom *p, const struct hr_snapshot *s)
{
    static const char *const windows[] = { "10s", "60s", "300s" };
    bool any = false;

    for (int r = 0; r < _PSI_RESOURCE_MAX; r++)
        any = any || s->psi[r].available;
    if (!any)
        return;

    family(p, "headroom_pressure_ratio", "gauge",
           "Share of wall time some/all tasks stalled on the resource (PSI averages).");
    for (int r = 0; r < _PSI_RESOURCE_MAX; r++) {
        const struct psi_stats *ps = &s->psi[r];
        if (!ps->available)
            continue;
        for (int k = 0; k < 2; k++) {
            const struct psi_line *l = k == 0 ? &ps->some : &ps->full;
            if (k == 1 && !ps->has_full)
                continue;
            double avgs[3] = { l->avg10, l->avg60, l->avg300 };
            for (int w = 0; w < 3; w++)
                sample_l(p, "headroom_pressure_ratio", avgs[w] / 100.0, "resource",
                         psi_resource_to_string((enum psi_resource) r), "kind", k == 0 ? "some" : "full", "window",
                         windows[w], NULL);
        }
    }
    family(p, "headroom_pressure_stalled_seconds_total", "counter", "Total stall time reported by PSI.");
    for (int r = 0; r < _PSI_RESOURCE_MAX; r++) {
        const struct psi_stats *ps = &s->psi[r];
        if (!ps->available)
            continue;
        sample_l(p, "headroom_pressure_stalled_seconds_total", (double) ps->some.total_usec / 1e6, "resource",
                 psi_resource_to_string((enum psi_resource) r), "kind", "some", NULL);
        if (ps->has_full)
            sample_l(p, "headroom_pressure_stalled_seconds_total", (double) ps->full.total_usec / 1e6, "resource",
                     psi_resource_to_string((enum psi_resource) r), "kind", "full", NULL);
    }
}

static void write_disks(struct prom *p, const struct hr_snapshot *s)
{
    if (s->n_disks == 0)
        return;
    family(p, "headroom_storage_free_bytes", "gauge", "Bytes available to unprivileged users (statvfs f_bavail).");
    for (unsigned i = 0; i < s->n_disks; i++)
        if (!s->disks[i].error)
            sample_l(p, "headroom_storage_free_bytes", (double) s->disks[i].free_bytes, "path", s->disks[i].path,
                     NULL);
    family(p, "headroom_storage_total_bytes", "gauge", "Size of the filesystem holding the path.");
    for (unsigned i = 0; i < s->n_disks; i++)
        if (!s->disks[i].error)
            sample_l(p, "headroom_storage_total_bytes", (double) s->disks[i].total_bytes, "path", s->disks[i].path,
                     NULL);
    family(p, "headroom_storage_up", "gauge", "1 when the monitored path could be read, 0 when statvfs failed.");
    for (unsigned i = 0; i < s->n_disks; i++)
        sample_l(p, "headroom_storage_up", s->disks[i].error ? 0.0 : 1.0, "path", s->disks[i].path, NULL);
}

static void write_gpus(struct prom *p, const struct hr_snapshot *s)
{
    char idx[DECIMAL_STR_MAX(unsigned)];

    if (s->n_gpus == 0)
        return;
    family(p, "headroom_gpu_info", "gauge", "GPU identity; the value is always 1.");
    for (unsigned i = 0; i < s->n_gpus; i++) {
        (void) snprintf(idx, sizeof(idx), "%u", s->gpus[i].index);
        sample_l(p, "headroom_gpu_info", 1.0, "gpu", idx, "name", s->gpus[i].name, "uuid", s->gpus[i].uuid,
                 "vendor", s->gpus[i].vendor, NULL);
    }
    family(p, "headroom_gpu_utilization_ratio", "gauge", "GPU busy share over the driver's last sample period.");
    for (unsigned i = 0; i < s->n_gpus; i++)
        if (s->gpus[i].has_util) {
            (void) snprintf(idx, sizeof(idx), "%u", s->gpus[i].index);
            sample_l(p, "headroom_gpu_utilization_ratio", s->gpus[i].util_pct / 100.0, "gpu", idx, NULL);
        }
    family(p, "headroom_gpu_memory_used_bytes", "gauge", "VRAM in use.");
    for (unsigned i = 0; i < s->n_gpus; i++) {
        (void) snprintf(idx, sizeof(idx), "%u", s->gpus[i].index);
        sample_l(p, "headroom_gpu_memory_used_bytes", (double) s->gpus[i].vram_used_bytes, "gpu", idx, NULL);
    }
    family(p, "headroom_gpu_memory_total_bytes", "gauge", "VRAM size.");
    for (unsigned i = 0; i < s->n_gpus; i++) {
        (void) snprintf(idx, sizeof(idx), "%u", s->gpus[i].index);
        sample_l(p, "headroom_gpu_memory_total_bytes", (double) s->gpus[i].vram_total_bytes, "gpu", idx, NULL);
    }
    family(p, "headroom_gpu_temperature_celsius", "gauge", "GPU core temperature.");
    for (unsigned i = 0; i < s->n_gpus; i++)
        if (s->gpus[i].has_temperature) {
            (void) snprintf(idx, sizeof(idx), "%u", s->gpus[i].index);
            sample_l(p, "headroom_gpu_temperature_celsius", (double) s->gpus[i].temperature_c, "gpu", idx, NULL);
        }
}

void handle_metrics(struct api *a, const struct http_request *req, struct http_response *resp)
{
    const struct hr_snapshot *s = a->snapshot;
    const struct api_counters *c = &a->counters;
    struct prom p;
    char core[DECIMAL_STR_MAX(unsigned)];

    strbuf_init(&p.b, RESPONSE_MAX_BYTES);

    family(&p, "headroom_build_info", "gauge", "headroom version; the value is always 1.");
    sample_l(&p, "headroom_build_info", 1.0, "version", HEADROOM_VERSION, NULL);
    gauge(&p, "headroom_ready", "1 once a complete sample exists.", a->ready ? 1.0 : 0.0);
    gauge(&p, "headroom_uptime_seconds", "Seconds since the daemon started.",
          (double) (now_usec(CLOCK_MONOTONIC) - a->started_mono_usec) / 1e6);

    gauge(&p, "headroom_cpu_usage_ratio", "CPU busy share of the capacity headroom may use (0..1).",
          s->cpu_pct / 100.0);
    if (s->n_cpu_pct > 0) {
        family(&p, "headroom_cpu_core_usage_ratio", "gauge", "CPU busy share per core (0..1).");
        for (unsigned i = 0; i < s->n_cpu_pct; i++) {
            (void) snprintf(core, sizeof(core), "%u", i);
            sample_l(&p, "headroom_cpu_core_usage_ratio", s->cpu_core_pct[i] / 100.0, "core", core, NULL);
        }
    }
    gauge(&p, "headroom_cpu_capacity_cores", "CPUs headroom may use: online CPUs or the cgroup quota.",
          s->cpu_capacity_cores);
    family(&p, "headroom_load_average", "gauge", "Load average from /proc/loadavg.");
    sample_l(&p, "headroom_load_average", s->load1, "period", "1m", NULL);
    sample_l(&p, "headroom_load_average", s->load5, "period", "5m", NULL);
    sample_l(&p, "headroom_load_average", s->load15, "period", "15m", NULL);

    gauge(&p, "headroom_memory_total_bytes", "Memory capacity: the cgroup limit when set, else MemTotal.",
          (double) s->mem_total_bytes);
    gauge(&p, "headroom_memory_available_bytes", "Memory available without swapping (MemAvailable or cgroup).",
          (double) s->mem_available_bytes);
    gauge(&p, "headroom_memory_used_bytes", "Memory in use: total minus available.", (double) s->mem_used_bytes);
    gauge(&p, "headroom_swap_total_bytes", "Swap size.", (double) s->swap_total_bytes);
    gauge(&p, "headroom_swap_free_bytes", "Swap unused.", (double) s->swap_free_bytes);
    write_pressure(&p, s);
    write_disks(&p, s);
    gauge(&p, "headroom_disk_read_bytes_per_second", "Bytes read from whole disks per second.",
          s->disk_read_bytes_per_sec);
    gauge(&p, "headroom_disk_written_bytes_per_second", "Bytes written to whole disks per second.",
          s->disk_write_bytes_per_sec);
    gauge(&p, "headroom_network_receive_bytes_per_second", "Bytes received per second, all interfaces but lo.",
          s->net_rx_bytes_per_sec);
    gauge(&p, "headroom_network_transmit_bytes_per_second", "Bytes sent per second, all interfaces but lo.",
          s->net_tx_bytes_per_sec);
    gauge(&p, "headroom_processes", "Processes on the machine.", (double) s->processes);
    gauge(&p, "headroom_threads", "Threads (scheduling entities) on the machine.", (double) s->threads);
    gauge(&p, "headroom_context_switches_per_second", "Context switches per second (/proc/stat ctxt).",
          s->ctxt_per_sec);
    write_gpus(&p, s);

    family(&p, "headroom_admission_decisions_total", "counter", "Answers to ask requests.");
    sample_l(&p, "headroom_admission_decisions_total", (double) c->asks_allowed_total, "result", "allowed", NULL);
    sample_l(&p, "headroom_admission_decisions_total", (double) c->asks_denied_total, "result", "denied", NULL);
    family(&p, "headroom_admission_denials_total", "counter", "Denied asks by reason (one ask may have several).");
    for (int r = 0; r < _RESOURCE_MAX; r++)
        sample_l(&p, "headroom_admission_denials_total", (double) c->denials_by_reason_total[r], "reason",
                 resource_reason((enum resource) r), NULL);
    counter(&p, "headroom_admission_insufficient_data_total",
            "Asks of a named task whose type had too few observations, decided on thresholds.",
            (double) c->asks_insufficient_data_total);
    gauge(&p, "headroom_leases", "Reservations held for admitted tasks.", (double) a->leases->n);
    gauge(&p, "headroom_reserved_cpu_ratio", "CPU share held by leases, on top of current use.",
          a->view->reserved.cpu_pct / 100.0);
    double mem_reserved = a->view->reserved.mem_pct / 100.0;
    if (a->view->mem_total_bytes > 0)
        mem_reserved += (double) a->view->reserved.mem_bytes / (double) a->view->mem_total_bytes;
    gauge(&p, "headroom_reserved_memory_ratio", "Memory share held by leases, on top of current use.",
          mem_reserved);
    gauge(&p, "headroom_supervised_tasks", "Supervised tasks running.", (double) a->n_tasks);
    counter(&p, "headroom_http_requests_total", "HTTP requests received.", (double) c->requests_total);
    counter(&p, "headroom_http_auth_failures_total", "Requests refused for missing or wrong credentials.",
            (double) c->auth_failures_total);
    counter(&p, "headroom_http_bad_requests_total", "Requests refused as malformed.", (double) c->bad_requests_total);
    counter(&p, "headroom_task_notifications_total", "Task start notifications accepted.", (double) c->notifies_total);
    counter(&p, "headroom_observations_total", "Task impact observations stored.", (double) c->observations_total);
    counter(&p, "headroom_observations_failed_total", "Task impact observations that could not be stored.",
            (double) c->observations_failed_total);
    gauge(&p, "headroom_observations_pending", "Observation windows still open.", (double) a->pending_observations);
    counter(&p, "headroom_samples_total", "Samples taken.", (double) c->samples_total);
    counter(&p, "headroom_sample_errors_total", "Samples that failed.", (double) c->sample_errors_total);
    gauge(&p, "headroom_sample_duration_seconds", "CPU time the last sample took.", c->last_sample_seconds);
    counter(&p, "headroom_config_reloads_total", "Configuration reloads applied.", (double) c->config_reloads_total);
    counter(&p, "headroom_config_reload_failures_total", "Configuration reloads refused as invalid.",
            (double) c->config_reload_failures_total);

    size_t len;
    char *body = strbuf_steal(&p.b, &len);
    if (!body) {
        reply_text(resp, 503, "metrics too large or out of memory");
        return;
    }
    http_response_set(resp, 200, CT_PROM, body, len);
}
