/* SPDX-License-Identifier: MIT */
#include "daemon/daemon.h"

#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include "daemon/notify.h"
#include <time.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/macro.h"
#include "basic/parse-util.h"
#include "daemon/learn.h"
#include "daemon/leases.h"
#include "daemon/reload.h"
#include "daemon/events.h"
#include "daemon/identity.h"
#include "daemon/jobs.h"
#include "daemon/protection.h"
#include "daemon/tasks.h"
#include "store/store.h"

#define DEBUG_GPU_VRAM_BYTES (24ULL << 30) /* capfox's synthetic "Debug GPU" size */
#define WARMUP_USEC          (100 * USEC_PER_MSEC)

/* ---- the debug overlay -------------------------------------------------------------------- */

static void apply_overlay(const struct api_inject *in, struct hr_snapshot *s)
{
    if (in->has_cpu) {
        s->cpu_pct = in->cpu_pct;
        for (unsigned i = 0; i < s->n_cpu_pct; i++)
            s->cpu_core_pct[i] = in->cpu_pct;
    }
    if (in->has_memory && s->mem_total_bytes > 0) {
        s->mem_used_pct = in->memory_pct;
        s->mem_used_bytes = (uint64_t) llround((double) s->mem_total_bytes * in->memory_pct / 100.0);
        s->mem_available_bytes = s->mem_total_bytes - MIN(s->mem_used_bytes, s->mem_total_bytes);
    }
    if (in->has_memory_pressure) {
        s->psi[PSI_MEMORY].available = true;
        s->psi[PSI_MEMORY].some.avg10 = in->memory_pressure_pct;
    }
    if (in->has_disk_free)
        for (unsigned i = 0; i < s->n_disks; i++) {
            s->disks[i].error = 0;
            s->disks[i].free_bytes = in->disk_free_bytes;
            if (s->disks[i].total_bytes < in->disk_free_bytes)
                s->disks[i].total_bytes = in->disk_free_bytes;
            s->disks[i].used_bytes = s->disks[i].total_bytes - in->disk_free_bytes;
        }
    if (in->has_gpu_usage || in->has_vram_usage) {
        unsigned idx = (unsigned) in->gpu_index;
        /* As capfox does, an index past the real GPUs adds synthetic ones up to it. */
        while (s->n_gpus <= idx && s->n_gpus < HR_GPUS_MAX) {
            struct hr_gpu *g = &s->gpus[s->n_gpus];
            *g = (struct hr_gpu) { .index = s->n_gpus, .has_util = true, .vram_total_bytes = DEBUG_GPU_VRAM_BYTES };
            (void) snprintf(g->vendor, sizeof(g->vendor), "debug");
            (void) snprintf(g->name, sizeof(g->name), "Debug GPU");
            (void) snprintf(g->uuid, sizeof(g->uuid), "GPU-debug-%u", s->n_gpus);
            s->n_gpus++;
        }
        if (idx < s->n_gpus) {
            struct hr_gpu *g = &s->gpus[idx];
            if (in->has_gpu_usage) {
                g->has_util = true;
                g->util_pct = in->gpu_usage_pct;
            }
            if (in->has_vram_usage)
                g->vram_used_bytes = (uint64_t) llround((double) g->vram_total_bytes * in->vram_usage_pct / 100.0);
        }
    }
}

static void history_sample_from(const struct hr_snapshot *s, struct history_sample *h)
{
    *h = (struct history_sample) {
        .mono_usec = s->mono_usec,
        .real_usec = s->real_usec,
        .cpu_pct = s->cpu_pct,
        .mem_used_pct = s->mem_used_pct,
        .mem_available_bytes = s->mem_available_bytes,
        .memory_pressure_pct = s->psi[PSI_MEMORY].available ? s->psi[PSI_MEMORY].some.avg10 : -1.0,
        .n_gpus = MIN(s->n_gpus, (unsigned) HISTORY_GPUS_MAX),
    };
    for (unsigned i = 0; i < h->n_gpus; i++) {
        const struct hr_gpu *g = &s->gpus[i];
        h->gpu_util_pct[i] = g->has_util ? g->util_pct : 0.0;
        h->vram_used_pct[i] = g->vram_total_bytes ? 100.0 * (double) g->vram_used_bytes / (double) g->vram_total_bytes
                                                  : 0.0;
    }
}

/* The decision input: smoothed CPU, memory, PSI and GPU utilization over the configured window,
 * levels (disk, VRAM) as last read, and injected values exactly as injected. */
static void build_view(struct daemon *d)
{
    const struct hr_snapshot *s = &d->snapshot;
    struct decide_input *v = &d->view;
    struct history_sample m;

    memset(v, 0, sizeof(*v));
    if (history_smooth(&d->history, d->config.monitoring.smoothing_samples, &m) == 0)
        history_sample_from(s, &m);

    v->cpu_pct = d->inject.has_cpu ? d->inject.cpu_pct : m.cpu_pct;
    v->mem_used_pct = d->inject.has_memory ? d->inject.memory_pct : m.mem_used_pct;
    v->mem_total_bytes = s->mem_total_bytes;
    v->mem_available_bytes = s->mem_available_bytes;
    v->has_memory_pressure = s->psi[PSI_MEMORY].available;
    v->memory_pressure_pct = d->inject.has_memory_pressure ? d->inject.memory_pressure_pct
                                                           : (m.memory_pressure_pct >= 0 ? m.memory_pressure_pct : 0);
    v->n_gpus = MIN(s->n_gpus, (unsigned) DECIDE_GPUS_MAX);
    for (unsigned i = 0; i < v->n_gpus; i++) {
        const struct hr_gpu *g = &s->gpus[i];
        bool injected = d->inject.has_gpu_usage && (unsigned) d->inject.gpu_index == i;
        v->gpus[i] = (struct decide_gpu) {
            .util_pct = injected || i >= m.n_gpus ? (g->has_util ? g->util_pct : 0.0) : m.gpu_util_pct[i],
            .vram_used_bytes = g->vram_used_bytes,
            .vram_total_bytes = g->vram_total_bytes,
            .lost = g->lost,
        };
    }
    lease_table_sum(&d->leases, &v->reserved);
    lease_table_apply_gpus(&d->leases, v);
    v->n_disks = MIN(s->n_disks, (unsigned) DECIDE_DISKS_MAX);
    for (unsigned i = 0; i < v->n_disks; i++)
        v->disks[i] = (struct decide_disk) {
            .path = s->disks[i].path,
            .error = s->disks[i].error,
            .free_bytes = s->disks[i].free_bytes,
            .total_bytes = s->disks[i].total_bytes,
        };
}

static void apply_snapshot_overlay(struct daemon *d)
{
    d->snapshot = d->raw;
    apply_overlay(&d->inject, &d->snapshot);
}

static void refresh_derived(struct daemon *d)
{
    apply_snapshot_overlay(d);
    build_view(d);
}

/* Adds the current (overlaid) snapshot to the history and rebuilds the view from it. Fills *ret
 * with the history sample, for the notify windows. */
static void record_sample(struct daemon *d, struct history_sample *ret)
{
    apply_snapshot_overlay(d);
    history_sample_from(&d->snapshot, ret);
    history_push(&d->history, ret);
    build_view(d);
}

/* ---- notify observations ------------------------------------------------------------------ */

static void finish_observation(struct daemon *d, struct pending_observation *p, usec_t now)
{
    struct observation o = { 0 };

    (void) snprintf(o.task, sizeof(o.task), "%s", p->task);
    o.complexity = p->complexity;
    o.started_ms = (int64_t) (p->start_real_usec / USEC_PER_MSEC);
    o.window_ms = (int64_t) ((MIN(now, p->window.end_mono_usec) - p->window.start_mono_usec) / USEC_PER_MSEC);
    observe_window_result(&p->window, &o.cpu_delta_pct, &o.mem_delta_pct, &o.gpu_delta_pct, &o.vram_delta_pct);
    observe_window_means(&p->window, &o.cpu_mean_pct, &o.mem_mean_pct, &o.gpu_mean_pct, &o.vram_mean_pct);
    if (!p->window.has_gpu)
        /* Not measured, which is not a measured zero: the GPU models learn nothing from it. */
        o.gpu_delta_pct = o.vram_delta_pct = NAN;
    o.overlapped = p->window.overlaps > 0;
    /* A window shared with other starts also measured their load: it counts for less. */
    o.weight = observation_weight(p->window.overlaps);
    (void) snprintf(o.source, sizeof(o.source), "notify");
    tasks_fill_declared(d, &p->declared, &o);
    o.duration_ms = STORE_DURATION_UNKNOWN;

    int r = learn_observation(d, &o);
    if (r < 0) {
        d->api.counters.observations_failed_total++;
        log_warning_errno(r, "Failed to store the observation of task '%s': %s, dropping it", p->task,
                          r == -EINVAL ? "invalid values" : store_last_error(d->store));
        return;
    }
    d->api.counters.observations_total++;
}

static void feed_observations(struct daemon *d, const struct history_sample *hs, usec_t now)
{
    unsigned kept = 0;

    for (unsigned i = 0; i < d->n_pending; i++) {
        struct pending_observation *p = &d->pending[i];
        observe_window_feed(&p->window, hs);
        if (observe_window_done(&p->window, now)) {
            finish_observation(d, p, now);
            continue;
        }
        if (kept != i)
            d->pending[kept] = *p;
        kept++;
    }
    d->n_pending = kept;
    d->api.pending_observations = kept;
}

static int hook_notify(void *userdata, const char *task, double complexity, uint64_t lease_id,
                       uint64_t *ret_lease_id)
{
    struct daemon *d = userdata;
    usec_t now = now_usec(CLOCK_MONOTONIC);
    struct lease *l = NULL;

    if (d->n_pending >= d->config.learning.max_pending)
        return -EAGAIN;
    if (lease_id) {
        l = lease_table_find(&d->leases, lease_id);
        if (!l)
            return -ENOENT;
        if (l->holder != LEASE_UNATTACHED)
            return -EBUSY;
    } else
        /* capfox's ask-then-notify with the same name: the notify takes the lease the ask got. */
        l = lease_table_find_unattached(&d->leases, task);
    /* Refuse now what the store would refuse at the end of the window: a new task type when the
     * table is full. Open windows of new types count, so a burst cannot overrun the limit. */
    struct task_stats known;
    bool new_type = store_get_task_stats(d->store, task, &known) == -ENOENT;
    if (new_type) {
        unsigned n_types = d->n_task_types;
        bool pending = false;
        for (unsigned i = 0; i < d->n_pending; i++) {
            if (!d->pending[i].new_type)
                continue;
            if (strcmp(d->pending[i].task, task) == 0)
                pending = true;
            /* Count each pending new type once: only its first window. */
            bool first = true;
            for (unsigned j = 0; j < i && first; j++)
                first = !(d->pending[j].new_type && strcmp(d->pending[j].task, d->pending[i].task) == 0);
            if (first)
                n_types++;
        }
        if (!pending && n_types >= d->config.learning.max_task_types)
            return -ENOSPC;
    }
    if (d->n_pending == d->cap_pending) {
        unsigned ncap = d->cap_pending ? d->cap_pending * 2 : 16;
        if (ncap > d->config.learning.max_pending)
            ncap = d->config.learning.max_pending;
        struct pending_observation *n = realloc(d->pending, (size_t) ncap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        d->pending = n;
        d->cap_pending = ncap;
    }

    struct pending_observation *p = &d->pending[d->n_pending];
    memset(p, 0, sizeof(*p));
    (void) snprintf(p->task, sizeof(p->task), "%s", task);
    p->complexity = complexity;
    p->new_type = new_type;
    p->start_real_usec = now_usec(CLOCK_REALTIME);
    usec_t window = (usec_t) d->config.learning.observation_delay_sec * USEC_PER_SEC;
    observe_window_start(&p->window, history_peek(&d->history, 0), now, window);
    *ret_lease_id = 0;
    if (l) {
        /* From now on the lease holds only what the task has not reached above the use it
         * started on; it lives at least as long as the window that measures it. */
        double base[_LEARN_RESOURCE_MAX];
        leases_use_now(d, base);
        lease_attach(l, LEASE_NOTIFY, 0, base, usec_add(now, window),
                     usec_add(now_usec(CLOCK_REALTIME), window));
        leases_persist(d, l);
        p->lease_id = l->id;
        p->declared = l->declared;
        *ret_lease_id = l->id;
    }

    /* Windows that overlap measure each other's load too: mark both sides so the learning layer
     * can weigh or skip them. */
    for (unsigned i = 0; i < d->n_pending; i++) {
        d->pending[i].window.overlaps++;
        p->window.overlaps++;
    }
    d->n_pending++;
    d->api.pending_observations = d->n_pending;
    return 0;
}

static int hook_inject(void *userdata, const struct api_inject *in)
{
    struct daemon *d = userdata;
    struct api_inject *o = &d->inject;

#define MERGE(flag, field)                                                                                   \
    do {                                                                                                     \
        if (in->flag) {                                                                                      \
            o->flag = true;                                                                                  \
            o->field = in->field;                                                                            \
        }                                                                                                    \
    } while (0)
    MERGE(has_cpu, cpu_pct);
    MERGE(has_memory, memory_pct);
    MERGE(has_memory_pressure, memory_pressure_pct);
    MERGE(has_disk_free, disk_free_bytes);
    if (in->has_gpu_usage || in->has_vram_usage) {
        if (o->gpu_index != in->gpu_index) {
            o->has_gpu_usage = o->has_vram_usage = false;
            o->gpu_index = in->gpu_index;
        }
        MERGE(has_gpu_usage, gpu_usage_pct);
        MERGE(has_vram_usage, vram_usage_pct);
    }
#undef MERGE
    refresh_derived(d);
    log_info("Debug overlay updated (cpu %s, memory %s, gpu %s, vram %s, disk %s, pressure %s)",
             o->has_cpu ? "set" : "-", o->has_memory ? "set" : "-", o->has_gpu_usage ? "set" : "-",
             o->has_vram_usage ? "set" : "-", o->has_disk_free ? "set" : "-", o->has_memory_pressure ? "set" : "-");
    return 0;
}

static void hook_inject_clear(void *userdata)
{
    struct daemon *d = userdata;

    d->inject = (struct api_inject) { 0 };
    /* Injected values must not linger in the smoothing window: restart the history from the last
     * real sample. */
    history_clear(&d->history);
    struct history_sample hs;
    record_sample(d, &hs);
    log_info("Debug overlay cleared");
}

/* ---- leases, models and supervised tasks: the hooks ----------------------------------------- */

static void hook_leases_expire(void *userdata)
{
    leases_expire(userdata, now_usec(CLOCK_MONOTONIC));
}

static int hook_lease_add(void *userdata, const char *task, double complexity, const struct admit_plan *plan,
                          const struct decide_need *declared, int gpu_index, uint64_t gpu_mask, usec_t ttl_usec,
                          struct lease *ret)
{
    return leases_add(userdata, task, complexity, &plan->reserve, &plan->margin, declared, gpu_index, gpu_mask,
                      ttl_usec, ret);
}

static int hook_lease_release(void *userdata, uint64_t id)
{
    return leases_release(userdata, id);
}

static int hook_model_get(void *userdata, const char *task, const struct task_model **ret)
{
    struct task_model *m;
    int r = learn_model_get(userdata, task, &m);
    if (r >= 0)
        *ret = m;
    return r;
}

static int hook_task_start(void *userdata, const struct api_task *t, struct api_task *ret)
{
    return tasks_start(userdata, t, ret);
}

static int hook_task_usage(void *userdata, uint64_t id, int64_t pid, const double use[_LEARN_RESOURCE_MAX],
                           const struct api_task_sample *sample)
{
    return tasks_usage(userdata, id, pid, use, sample);
}

static int hook_task_progress(void *userdata, uint64_t id, double pct, const char *phase)
{
    return tasks_progress(userdata, id, pct, phase);
}

static int hook_task_stall(void *userdata, uint64_t id, bool stalled, usec_t last_activity_real_usec)
{
    return tasks_stall(userdata, id, stalled, last_activity_real_usec);
}

static int hook_task_end(void *userdata, uint64_t id, const struct api_task_end *e)
{
    return tasks_end(userdata, id, e);
}

static int hook_task_control(void *userdata, uint64_t id, enum api_control what)
{
    return tasks_control(userdata, id, what);
}

static int hook_wait_add(void *userdata, const struct api_task *t, unsigned n_gpus, struct waiter *ret)
{
    return jobs_wait_add(userdata, t, n_gpus, ret);
}

static int hook_wait_poll(void *userdata, uint64_t id, bool give_up, struct waiter *ret)
{
    return jobs_wait_poll(userdata, id, give_up, ret);
}

static int hook_job_submit(void *userdata, const struct api_job *j, struct api_job *ret)
{
    return jobs_submit(userdata, j, ret);
}

static int hook_job_control(void *userdata, int64_t id, enum api_control what)
{
    return jobs_control(userdata, id, what);
}

/* ---- sampling ------------------------------------------------------------------------------ */

static double cpu_seconds_self(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0)
        return 0;
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void take_sample(struct daemon *d, usec_t now)
{
    double t0 = cpu_seconds_self();
    uint64_t seq = d->raw.seq;

    /* The sampler leaves raw untouched when it fails, so the previous sample stays in force. */
    int r = sampler_sample(d->sampler, now, now_usec(CLOCK_REALTIME), &d->raw);
    if (r < 0) {
        d->api.counters.sample_errors_total++;
        log_warning_errno(r, "Sampling failed, keeping the previous sample: %m");
        return;
    }
    if (d->gpus) {
        int n = gpu_probe_sample(d->gpus, d->raw.gpus, HR_GPUS_MAX);
        d->raw.n_gpus = n > 0 ? (unsigned) n : 0;
    }
    d->raw.seq = seq + 1;
    d->api.counters.samples_total++;

    struct history_sample hs;
    record_sample(d, &hs);
    feed_observations(d, &hs, now);

    if (d->raw.valid && !d->api.ready) {
        d->api.ready = true;
        if (!d->notified_ready) {
            daemon_notify("READY=1\nSTATUS=Answering");
            d->notified_ready = true;
            log_info("Ready: first complete sample taken");
        }
    }
    d->api.counters.last_sample_seconds = cpu_seconds_self() - t0;
}

static int on_tick(struct loop_source *s, usec_t now, uint64_t missed, void *userdata)
{
    struct daemon *d = userdata;

    if (missed > 0)
        log_debug("Sampling fell %llu ticks behind", (unsigned long long) missed);
    leases_expire(d, now);
    tasks_reap(d);
    take_sample(d, now);
    leases_tick(d);
    tasks_attribute_vram(d);
    tasks_tick(d);
    protection_tick(d);
    jobs_tick(d);
    /* The writes of the second, in one go each, off the path of the requests. */
    leases_flush(d);
    events_flush(d->events);
    return 0;
}

/* Housekeeping every 10 minutes: checkpoint the WAL so it does not grow, refresh the planner's
 * statistics. Cheap when there is nothing to do. */
#define MAINTAIN_PERIOD_USEC (600 * USEC_PER_SEC)

static int on_maintain(struct loop_source *s, usec_t now, uint64_t missed, void *userdata)
{
    struct daemon *d = userdata;
    int r = store_maintain(d->store);
    if (r < 0 && r != -EBUSY)
        log_warning_errno(r, "Database maintenance failed, ignoring: %s", store_last_error(d->store));
    return 0;
}

static int on_signal(struct loop_source *s, const struct signalfd_siginfo *si, void *userdata)
{
    struct daemon *d = userdata;

    switch (si->ssi_signo) {
    case SIGTERM:
    case SIGINT:
        log_info("Received %s, stopping", si->ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
        daemon_notify("STOPPING=1");
        loop_exit(d->loop, SERVE_EXIT_OK);
        break;
    case SIGHUP:
        daemon_reload(d);
        break;
    }
    return 0;
}

/* ---- start-up ------------------------------------------------------------------------------ */

static int open_store(struct daemon *d)
{
    char path[PATH_MAX];
    int r = mkdir_p(d->opts.state_dir, 0750);
    if (r < 0)
        return log_error_errno(r, "Failed to create the state directory '%s': %m", d->opts.state_dir);
    if (snprintf(path, sizeof(path), "%s/headroom.db", d->opts.state_dir) >= (int) sizeof(path))
        return log_error_errno(-ENAMETOOLONG, "State directory path too long: '%s'", d->opts.state_dir);
    r = store_open(path, &d->store);
    if (r < 0)
        return log_error_errno(r, "Failed to open the database '%s': %m", path);
    return 0;
}

static int count_task_type(const struct task_stats *st, void *userdata)
{
    struct daemon *d = userdata;

    d->n_task_types++;
    return 0;
}

int daemon_make_sampler(struct daemon *d, struct sampler **ret)
{
    const char *paths[HR_DISKS_MAX];

    for (unsigned i = 0; i < d->config.monitoring.n_paths; i++)
        paths[i] = d->config.monitoring.paths[i];
    struct sampler_options so = {
        .root_fd = d->root_fd,
        .n_paths = d->config.monitoring.n_paths,
        .paths = paths,
    };
    return sampler_new(&so, ret);
}

static int start_listeners(struct daemon *d)
{
    struct http_server_options ho = {
        .max_connections = d->config.server.max_connections,
        .connection_timeout_sec = d->config.server.connection_timeout_sec,
        .max_body_bytes = (size_t) d->config.server.max_body_bytes,
        .handler = api_handle,
        .userdata = &d->api,
    };
    bool auth = d->config.auth.enabled || d->config.auth.token[0];
    int r;

    r = http_server_new(d->loop, &ho, &d->http);
    if (r < 0)
        return log_error_errno(r, "Failed to set up the HTTP server: %m") , SERVE_EXIT_OSERR;

    for (unsigned i = 0; i < d->opts.n_listen; i++) {
        const struct config_listen *l = &d->opts.listen[i];
        if (!address_is_loopback(l->host)) {
            if (!auth) {
                log_error("Refusing to listen on %s:%u: it is reachable from other machines and no auth is "
                          "configured (set auth.token, or auth.enabled with auth.user and auth.password, or "
                          "listen on 127.0.0.1)", l->host, l->port);
                return SERVE_EXIT_CONFIG;
            }
            d->tcp_public = true;
        }
    }

    for (unsigned i = 0; i < d->opts.n_listen; i++) {
        const struct config_listen *l = &d->opts.listen[i];
        unsigned port;
        r = http_server_listen_tcp(d->http, l->host, l->port, &port);
        if (r < 0) {
            log_error_errno(r, "Failed to listen on %s:%u: %m", l->host, l->port);
            return r == -EADDRINUSE ? SERVE_EXIT_UNAVAILABLE : SERVE_EXIT_OSERR;
        }
        log_info("Listening on http://%s%s%s:%u", strchr(l->host, ':') ? "[" : "", l->host,
                 strchr(l->host, ':') ? "]" : "", port);
        if (d->n_tcp == 0) {
            /* The first TCP port goes to <state>/port, so that tests and scripts that asked for
             * port 0 learn which one they got. */
            char path[PATH_MAX], buf[16];
            int n = snprintf(buf, sizeof(buf), "%u\n", port);
            if (snprintf(path, sizeof(path), "%s/port", d->opts.state_dir) < (int) sizeof(path)) {
                r = write_file_atomic(path, buf, (size_t) n, 0644);
                if (r < 0)
                    log_warning_errno(r, "Failed to write '%s', ignoring: %m", path);
            }
        }
        d->n_tcp++;
    }

    if (d->opts.socket_path[0]) {
        r = http_server_listen_unix(d->http, d->opts.socket_path, d->config.server.socket_mode);
        if (r < 0) {
            log_error_errno(r, "Failed to listen on the Unix socket '%s': %m%s", d->opts.socket_path,
                            r == -EADDRINUSE ? " (another headroom is serving it)" : "");
            return r == -EADDRINUSE ? SERVE_EXIT_UNAVAILABLE : SERVE_EXIT_OSERR;
        }
        log_info("Listening on unix:%s (mode %04o)", d->opts.socket_path, d->config.server.socket_mode);

        /* The control socket: the same API for local clients, one datagram per request, without
         * HTTP (docs/API.md, "The control socket"). Clients find it by its name. */
        struct ctl_server_options co = {
            .max_connections = d->config.server.max_connections,
            .connection_timeout_sec = d->config.server.connection_timeout_sec,
            .max_body_bytes = &d->config.server.max_body_bytes,
            .handler = api_handle,
            .userdata = &d->api,
        };
        char ctl_path[PATH_MAX];
        (void) snprintf(ctl_path, sizeof(ctl_path), "%s" CTL_SOCKET_SUFFIX, d->opts.socket_path);
        r = ctl_server_new(d->loop, ctl_path, d->config.server.socket_mode, &co, &d->ctl);
        if (r == -EADDRINUSE) {
            /* Clients would reach the other daemon through it: never run beside one. */
            log_error_errno(r, "Failed to listen on the control socket '%s': %m (another headroom "
                            "is serving it)", ctl_path);
            return SERVE_EXIT_UNAVAILABLE;
        }
        if (r < 0)
            log_warning_errno(r, "Failed to listen on the control socket '%s', clients will use "
                              "HTTP: %m", ctl_path);
        else
            log_info("Listening on unix:%s (control)", ctl_path);
    }
    return 0;
}

void daemon_events_options(const struct config *c, struct events_options *ret)
{
    *ret = (struct events_options) {
        .max_stored = c->events.max_stored,
        .hook_timeout_sec = c->hooks.timeout_sec,
        .hooks_max_running = c->hooks.max_running,
    };
    _Static_assert(CONFIG_HOOKS_MAX == _EVENT_TYPE_MAX, "a hook key per event type");
    for (int t = 0; t < _EVENT_TYPE_MAX; t++)
        ret->hooks[t] = c->hooks.command[t];
}

int daemon_start(struct daemon *d, const struct daemon_options *opts, const struct config *config)
{
    static const int signals[] = { SIGTERM, SIGINT, SIGHUP };
    int r;

    memset(d, 0, sizeof(*d));
    d->root_fd = d->proc_fd = d->real_root_fd = -EBADF;
    d->opts = *opts;
    d->config = *config;
    d->api.config = &d->config;
    d->api.snapshot = &d->snapshot;
    d->api.history = &d->history;
    d->api.view = &d->view;
    d->api.inject = &d->inject;
    d->api.started_mono_usec = now_usec(CLOCK_MONOTONIC);
    d->api.sources = d->sources;
    d->api.hooks = (struct api_hooks) {
        .notify = hook_notify,
        .inject = hook_inject,
        .inject_clear = hook_inject_clear,
        .leases_expire = hook_leases_expire,
        .lease_add = hook_lease_add,
        .lease_release = hook_lease_release,
        .model_get = hook_model_get,
        .task_start = hook_task_start,
        .task_usage = hook_task_usage,
        .task_end = hook_task_end,
        .task_progress = hook_task_progress,
        .task_stall = hook_task_stall,
        .task_control = hook_task_control,
        .wait_add = hook_wait_add,
        .wait_poll = hook_wait_poll,
        .job_submit = hook_job_submit,
        .job_control = hook_job_control,
        .userdata = d,
    };
    d->api.leases = &d->leases;
    d->api.global_peak = d->global_peak;
    d->tasks = calloc(DAEMON_TASKS_MAX, sizeof(*d->tasks));
    if (!d->tasks)
        return log_error_errno(-ENOMEM, "Failed to allocate the task table: %m"), SERVE_EXIT_OSERR;
    d->api.tasks = d->tasks;
    /* As lease ids: a task id from before a restart never names a new task. */
    d->next_task_id = (now_usec(CLOCK_REALTIME) & 0xffffffffULL) << 20;
    d->next_waiter_id = d->next_task_id;

    char err[512];
    r = identity_load(d, &d->config, err, sizeof(err));
    if (r < 0)
        return log_error("Invalid auth.user_tokens_file: %s", err), SERVE_EXIT_CONFIG;

    /* The machine's own /proc, whatever --root says: supervised tasks are real processes. */
    d->proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (d->proc_fd < 0)
        return log_error_errno(negative_errno(), "Failed to open /proc: %m"), SERVE_EXIT_OSERR;

    d->root_fd = open(opts->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (d->root_fd < 0)
        return log_error_errno(negative_errno(), "Failed to open the root directory '%s': %m", opts->root),
               SERVE_EXIT_OSERR;

    r = history_init(&d->history, d->config.monitoring.history_samples);
    if (r < 0)
        return log_error_errno(r, "Failed to allocate the history: %m"), SERVE_EXIT_OSERR;

    r = daemon_make_sampler(d, &d->sampler);
    if (r < 0)
        return log_error_errno(r, "Failed to open the metric sources below '%s': %m", opts->root),
               SERVE_EXIT_OSERR;

    if (d->config.monitoring.gpu) {
        struct gpu_probe_options go = { .root_fd = d->root_fd, .nvidia = true, .amd = true };
        r = gpu_probe_new(&go, &d->gpus);
        if (r < 0)
            return log_error_errno(r, "Failed to set up GPU monitoring: %m"), SERVE_EXIT_OSERR;
    }
    (void) snprintf(d->sources, sizeof(d->sources), "%s; gpu: %s", sampler_describe(d->sampler),
                    d->gpus ? gpu_probe_describe(d->gpus) : "off");
    log_info("Sources: %s", d->sources);

    if (open_store(d) < 0)
        return SERVE_EXIT_CANTCREAT;
    d->api.store = d->store;
    r = store_foreach_task_stats(d->store, count_task_type, d);
    if (r < 0)
        return log_error_errno(r, "Failed to read the task types: %s", store_last_error(d->store)),
               SERVE_EXIT_CANTCREAT;
    r = learn_start(d);
    if (r < 0)
        return log_error_errno(r, "Failed to read the task models: %s", store_last_error(d->store)),
               SERVE_EXIT_CANTCREAT;
    r = leases_start(d);
    if (r < 0)
        return log_error_errno(r, "Failed to restore the leases: %s", store_last_error(d->store)),
               SERVE_EXIT_CANTCREAT;

    r = loop_new(&d->loop);
    if (r < 0)
        return log_error_errno(r, "Failed to create the event loop: %m"), SERVE_EXIT_OSERR;
    r = loop_add_signals(d->loop, signals, ELEMENTSOF(signals), on_signal, d, &d->signals);
    if (r < 0)
        return log_error_errno(r, "Failed to set up signal handling: %m"), SERVE_EXIT_OSERR;

    /* The first reading now, the second after a short warm-up so that CPU usage (a delta) is known
     * well before the first full interval; then the regular grid. */
    usec_t now = now_usec(CLOCK_MONOTONIC);
    take_sample(d, now);
    usec_t period = (usec_t) d->config.monitoring.interval_ms * USEC_PER_MSEC;
    r = loop_add_timer(d->loop, now + MIN(WARMUP_USEC, period), period, on_tick, d, &d->tick);
    if (r < 0)
        return log_error_errno(r, "Failed to set up the sampling timer: %m"), SERVE_EXIT_OSERR;

    r = loop_add_timer(d->loop, now + MAINTAIN_PERIOD_USEC, MAINTAIN_PERIOD_USEC, on_maintain, d, NULL);
    if (r < 0)
        return log_error_errno(r, "Failed to set up the maintenance timer: %m"), SERVE_EXIT_OSERR;

    struct events_options eo;
    daemon_events_options(&d->config, &eo);
    r = events_new(d->loop, d->store, &d->api, &eo, &d->events);
    if (r < 0)
        return log_error_errno(r, "Failed to set up the event log: %m"), SERVE_EXIT_CANTCREAT;

    r = start_listeners(d);
    if (r != 0)
        return r;
    d->real_root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (d->real_root_fd < 0)
        return log_error_errno(negative_errno(), "Failed to open /: %m"), SERVE_EXIT_OSERR;
    /* After the listeners: a job's supervisor reports over the Unix socket. */
    if (jobs_start(d) < 0)
        return SERVE_EXIT_CANTCREAT;
    return SERVE_EXIT_OK;
}

int daemon_run(struct daemon *d)
{
    int r = loop_run(d->loop);
    if (r < 0) {
        log_error_errno(r, "Event loop failed: %m");
        return SERVE_EXIT_FAILURE;
    }
    return r;
}

void daemon_stop(struct daemon *d)
{
    usec_t now = now_usec(CLOCK_MONOTONIC);

    /* Acknowledged notifications are not dropped: store them with the window they had. */
    for (unsigned i = 0; i < d->n_pending && d->store; i++)
        finish_observation(d, &d->pending[i], now);
    d->n_pending = 0;
    free(d->pending);
    d->pending = NULL;

    /* What protection stopped would stay stopped with nobody left to resume it. */
    for (unsigned i = 0; d->tasks && i < d->n_tasks; i++)
        if (d->tasks[i].suspended_by_protection)
            (void) tasks_freeze(d, d->tasks[i].id, false, false);

    d->http = http_server_free(d->http);
    d->ctl = ctl_server_free(d->ctl);
    /* After the HTTP server: its open event streams read the ring. */
    d->events = events_free(d->events);
    jobs_stop(d);
    d->loop = loop_free(d->loop);
    learn_stop(d);
    leases_stop(d);
    for (unsigned i = 0; d->tasks && i < d->n_tasks; i++)
        free(d->tasks[i].history);
    free(d->tasks);
    d->tasks = NULL;
    free(d->protect);
    d->protect = NULL;
    identity_free(d);
    d->store = store_free(d->store);
    d->sampler = sampler_free(d->sampler);
    d->gpus = gpu_probe_free(d->gpus);
    history_done(&d->history);
    if (d->root_fd >= 0)
        (void) close(d->root_fd);
    d->root_fd = -EBADF;
    if (d->real_root_fd >= 0)
        (void) close(d->real_root_fd);
    d->real_root_fd = -EBADF;
    if (d->proc_fd >= 0)
        (void) close(d->proc_fd);
    d->proc_fd = -EBADF;
}
