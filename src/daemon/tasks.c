/* SPDX-License-Identifier: MIT */
/* Supervised tasks (headroom run, background jobs): start, usage and end as they report them. A
 * task's own figures are exact, so they feed the learning at full weight and shrink its lease
 * without guessing from the machine. */

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "daemon/daemon.h"
#include "daemon/learn.h"
#include "daemon/leases.h"
#include "daemon/events.h"
#include "daemon/jobs.h"
#include "daemon/tasks.h"
#include "model/schedule.h"
#include "supervise/supervise.h"

static json_t *json_number_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static bool need_empty(const struct decide_need *n)
{
    return !(n->cpu_pct > 0 || n->mem_pct > 0 || n->mem_bytes > 0 || n->gpu_pct > 0 || n->vram_pct > 0 ||
             n->vram_bytes > 0 || n->disk_bytes > 0);
}

static struct api_task *find(struct daemon *d, uint64_t id)
{
    for (unsigned i = 0; i < d->n_tasks; i++)
        if (d->tasks[i].id == id)
            return &d->tasks[i];
    return NULL;
}

struct api_task *tasks_find(struct daemon *d, uint64_t id)
{
    return find(d, id);
}

static void emit(struct daemon *d, const char *type, const struct api_task *t, json_t *fields)
{
    if (d->events)
        (void) events_emit(d->events, type, t->id, (uint64_t) t->job_id, t->task, fields);
    else
        json_decref(fields);
}

/* Removes t (a pointer into d->tasks) from the table, and its history. */
static void remove_task(struct daemon *d, struct api_task *t)
{
    free(t->history);
    *t = d->tasks[--d->n_tasks];
    d->api.n_tasks = d->n_tasks;
}

/* Takes pid as t's process. The daemon signals and freezes the group a task's pid leads, as root:
 * so the pid a client names must belong to the task's owner (or the owner is root), and its start
 * time is kept to tell it from a later process with the same number. A task without an owner
 * (registered over TCP by no one in particular) keeps its pid for watching only. 0, -EPERM (not
 * the owner's), -ESRCH (no such process). */
static int take_pid(struct daemon *d, struct api_task *t, int64_t pid)
{
    uint32_t uid;
    uint64_t start;

    int r = sv_process_identity(d->proc_fd, (pid_t) pid, &uid, &start);
    if (r < 0)
        return r == -EBADMSG ? -ESRCH : r;
    if (t->has_owner && t->owner_uid != 0 && uid != t->owner_uid)
        return -EPERM;
    t->pid = pid;
    t->pid_start_ticks = start;
    t->pid_verified = t->has_owner;
    return 0;
}

/* t's pid is still the process it was when taken, and the daemon may act on its group. */
static bool pid_is_ours(const struct daemon *d, const struct api_task *t)
{
    uint64_t start;

    return t->pid > 0 && t->pid_verified && sv_process_start_time(d->proc_fd, (pid_t) t->pid, &start) >= 0 &&
           start == t->pid_start_ticks;
}

bool tasks_pid_is_ours(const struct daemon *d, const struct api_task *t)
{
    return pid_is_ours(d, t);
}

int tasks_drop(struct daemon *d, uint64_t id)
{
    struct api_task *t = find(d, id);

    if (!t)
        return -ENOENT;
    if (t->lease_id)
        (void) leases_release(d, t->lease_id);
    remove_task(d, t);
    return 0;
}

void tasks_set_client(struct daemon *d, uint64_t id, int64_t client_pid)
{
    struct api_task *t = find(d, id);
    if (t)
        t->client_pid = client_pid;
}

int tasks_start(struct daemon *d, const struct api_task *t, struct api_task *ret)
{
    struct lease *l = NULL;

    if (d->n_tasks >= DAEMON_TASKS_MAX)
        return -ENOSPC;
    if (t->lease_id) {
        l = lease_table_find(&d->leases, t->lease_id);
        if (!l)
            return -ENOENT;
        if (l->holder == LEASE_TASK)
            return -EBUSY;
    } else
        /* As a notify does: a task that asked with its name and now starts takes that lease. */
        l = lease_table_find_unattached(&d->leases, t->task);

    struct api_task *n = &d->tasks[d->n_tasks];
    *n = *t;
    n->pid = 0;
    n->pid_verified = false;
    if (t->pid > 0) {
        int r = take_pid(d, n, t->pid);
        if (r < 0)
            return r;
    }
    n->id = ++d->next_task_id;
    n->started_usec = now_usec(CLOCK_MONOTONIC);
    n->started_real_usec = now_usec(CLOCK_REALTIME);
    n->lease_id = l ? l->id : 0;
    n->progress_pct = NAN;
    n->history = NULL;
    n->history_len = n->history_next = 0;
    /* Without a given end (its timeout), the type's learnt duration says when it should end: that is
     * what the "when will it fit" estimate counts on. */
    struct task_model *m;
    double sec;
    if (n->expected_end_usec == 0 && learn_model_get(d, n->task, &m) >= 0 &&
        admit_expected_duration(m, n->complexity, &sec) >= 0)
        n->expected_end_usec = usec_add(n->started_usec, (usec_t) llround(sec * 1e6));
    for (int r = 0; r < _LEARN_RESOURCE_MAX; r++)
        n->use[r] = n->peak[r] = NAN;
    if (l) {
        /* Its use is its own, reported from zero; the lease is held until the task ends. */
        static const double zero[_LEARN_RESOURCE_MAX] = { 0 };
        lease_attach(l, LEASE_TASK, n->id, zero, USEC_INFINITY, USEC_INFINITY);
        leases_persist(d, l);
        if (need_empty(&n->declared))
            n->declared = l->declared;
    }
    d->n_tasks++;
    d->api.n_tasks = d->n_tasks;
    *ret = *n;
    emit(d, "task:started", n, json_pack("{s:o, s:o, s:s}", "complexity", json_real(n->complexity), "pid",
                                         n->pid > 0 ? json_integer((json_int_t) n->pid) : json_null(), "priority",
                                         sched_priority_to_string((enum sched_priority) n->priority)));
    return 0;
}

int tasks_adopt(struct daemon *d, const struct api_job *j)
{
    if (d->n_tasks >= DAEMON_TASKS_MAX)
        return -ENOSPC;
    if (!j->task_id || find(d, j->task_id))
        return -EEXIST;
    struct api_task *n = &d->tasks[d->n_tasks];
    *n = (struct api_task) {
        .id = j->task_id,
        .complexity = j->complexity,
        .client_pid = j->wrapper_pid,
        .started_usec = now_usec(CLOCK_MONOTONIC),
        .started_real_usec = j->started_real_usec,
        .progress_pct = NAN,
        .has_owner = true,
        .owner_uid = j->uid,
        .job_id = j->id,
        .priority = j->priority,
        .suspended = j->state == API_JOB_SUSPENDED,
    };
    (void) snprintf(n->task, sizeof(n->task), "%s", j->task);
    for (int r = 0; r < _LEARN_RESOURCE_MAX; r++)
        n->use[r] = n->peak[r] = NAN;
    if (j->pid > 0)
        (void) take_pid(d, n, j->pid);  /* gone or not the owner's: watched through its supervisor */
    json_t *spec = json_loads(j->spec, 0, NULL);
    char err[128];
    (void) api_parse_needs(json_object_get(spec, "needs"), &n->declared, err, sizeof(err));
    (void) api_parse_limits(json_object_get(spec, "limits"), &n->own_limits, err, sizeof(err));
    json_t *cs = json_object_get(spec, "checkpoint_signal"), *cg = json_object_get(spec, "checkpoint_grace_sec");
    n->checkpoint_signal = json_is_integer(cs) ? (int) json_integer_value(cs) : 0;
    n->checkpoint_grace_usec = json_is_number(cg) ? (usec_t) llround(json_number_value(cg) * 1e6) : 0;
    json_decref(spec);
    /* Its lease came back from the store as an ordinary one, to be claimed again in time. */
    struct lease *l = j->lease_id ? lease_table_find(&d->leases, j->lease_id) : NULL;
    if (l && l->holder != LEASE_TASK) {
        static const double zero[_LEARN_RESOURCE_MAX] = { 0 };
        lease_attach(l, LEASE_TASK, n->id, zero, USEC_INFINITY, USEC_INFINITY);
        leases_persist(d, l);
        n->lease_id = l->id;
    }
    d->n_tasks++;
    d->api.n_tasks = d->n_tasks;
    return 0;
}

int tasks_usage(struct daemon *d, uint64_t id, int64_t pid, const double use[_LEARN_RESOURCE_MAX],
                const struct api_task_sample *sample)
{
    struct api_task *t = find(d, id);

    if (!t)
        return -ENOENT;
    if (sample) {
        if (!t->history)
            t->history = calloc(API_TASK_HISTORY_MAX, sizeof(*t->history));
        if (t->history) {
            t->history[t->history_next] = *sample;
            t->history_next = (t->history_next + 1) % API_TASK_HISTORY_MAX;
            t->history_len = MIN(t->history_len + 1, API_TASK_HISTORY_MAX);
        }
    }
    /* A wrapper registers the task before it starts the command (the command gets the task's id in
     * its environment), so the pid comes with the first report. */
    if (pid > 0 && t->pid == 0) {
        /* A process already gone (the report raced its end) is no error: its end follows. */
        int r = take_pid(d, t, pid);
        if (r == -EPERM)
            return r;
        if (r >= 0)
            jobs_task_changed(d, t);
    }
    for (int r = 0; r < _LEARN_RESOURCE_MAX; r++) {
        if (isnan(use[r]))
            continue;
        t->use[r] = use[r];
        if (isnan(t->peak[r]) || use[r] > t->peak[r])
            t->peak[r] = use[r];
    }
    struct lease *l = t->lease_id ? lease_table_find(&d->leases, t->lease_id) : NULL;
    if (l) {
        lease_observe(l, use, d->view.mem_total_bytes, leases_vram_total(d));
        leases_sync_api(d);
    }
    return 0;
}

static double pct_or_nan(double part, double whole)
{
    return whole > 0 && !isnan(part) ? 100.0 * part / whole : NAN;
}

/* What a declared need is in the learnt units, for the declared-vs-observed statistics. */
static void declared_pct(const struct daemon *d, const struct decide_need *n, double ret[_LEARN_RESOURCE_MAX])
{
    double mem = n->mem_pct + (n->mem_bytes ? pct_or_nan((double) n->mem_bytes, (double) d->view.mem_total_bytes) : 0);
    double vram = n->vram_pct +
                  (n->vram_bytes ? pct_or_nan((double) n->vram_bytes, (double) leases_vram_total(d)) : 0);

    ret[LEARN_CPU] = n->cpu_pct > 0 ? n->cpu_pct : NAN;
    ret[LEARN_MEMORY] = mem > 0 ? mem : NAN;
    ret[LEARN_GPU] = n->gpu_pct > 0 ? n->gpu_pct : NAN;
    ret[LEARN_VRAM] = vram > 0 ? vram : NAN;
    ret[LEARN_DURATION] = NAN;
}

void tasks_fill_declared(const struct daemon *d, const struct decide_need *n, struct observation *o)
{
    double v[_LEARN_RESOURCE_MAX];

    declared_pct(d, n, v);
    o->declared_cpu_pct = v[LEARN_CPU];
    o->declared_mem_pct = v[LEARN_MEMORY];
    o->declared_gpu_pct = v[LEARN_GPU];
    o->declared_vram_pct = v[LEARN_VRAM];
}

int tasks_end(struct daemon *d, uint64_t id, const struct api_task_end *e)
{
    struct api_task *p = find(d, id);

    if (!p)
        return -ENOENT;
    struct api_task t = *p;
    t.history = NULL;  /* freed with the table entry */
    remove_task(d, p);
    if (t.lease_id)
        (void) leases_release(d, t.lease_id);
    emit(d, "task:finished", &t,
         json_pack("{s:I, s:o, s:o, s:o, s:o}", "peak_vram_bytes", (json_int_t) t.peak_vram_bytes, "exit_code", e->exit_code >= 0 ? json_integer(e->exit_code) : json_null(),
                   "duration_sec", json_number_or_null(e->duration_sec), "cpu_sec", json_number_or_null(e->cpu_sec),
                   "peak_rss_bytes", e->peak_rss_bytes != API_BYTES_UNKNOWN
                                             ? json_integer((json_int_t) e->peak_rss_bytes)
                                             : json_null()));

    /* A task that failed says nothing of what a successful run needs (a command not found would
     * teach that the type costs nothing): only successes, or ends without an exit code, are
     * learnt. */
    if (e->exit_code > 0) {
        log_debug("Task '%s' (t-%016llx) exited with %d: not learnt", t.task, (unsigned long long) t.id,
                  e->exit_code);
        return 0;
    }

    usec_t now_real = now_usec(CLOCK_REALTIME);
    double duration = !isnan(e->duration_sec) ? e->duration_sec
                                              : (double) (now_usec(CLOCK_MONOTONIC) - t.started_usec) / 1e6;
    /* Percent of the CPU capacity that decisions use (the cgroup quota when there is one). */
    double ncpu = d->raw.cpu_capacity_cores > 0 ? d->raw.cpu_capacity_cores : MAX(d->raw.n_cpus, 1u);
    struct observation o = {
        .complexity = t.complexity,
        .started_ms = (int64_t) (t.started_real_usec / USEC_PER_MSEC),
        .window_ms = (int64_t) llround(duration * 1000),
        .duration_ms = (int64_t) llround(duration * 1000),
        /* Mean CPU over the run, in percent of the machine as everything else; its peak is the
         * most a usage report said, else the mean. */
        .cpu_mean_pct = !isnan(e->cpu_sec) && duration > 0 ? 100.0 * e->cpu_sec / duration / ncpu : NAN,
        .mem_mean_pct = NAN,
        .gpu_mean_pct = e->gpu_pct,
        .vram_mean_pct = NAN,
        .mem_delta_pct = e->peak_rss_bytes != API_BYTES_UNKNOWN
                                 ? pct_or_nan((double) e->peak_rss_bytes, (double) d->view.mem_total_bytes)
                                 : t.peak[LEARN_MEMORY],
        .gpu_delta_pct = !isnan(t.peak[LEARN_GPU]) ? t.peak[LEARN_GPU] : e->gpu_pct,
        /* Its own figure, else the most the daemon saw its processes hold on the GPUs. */
        .vram_delta_pct = e->peak_vram_bytes != API_BYTES_UNKNOWN && e->vram_total_bytes > 0
                                  ? pct_or_nan((double) e->peak_vram_bytes, (double) e->vram_total_bytes)
                                  : t.peak[LEARN_VRAM],
        .disk_written_bytes = e->io_write_bytes != API_BYTES_UNKNOWN ? e->io_write_bytes : STORE_BYTES_UNKNOWN,
        .weight = 1,
    };
    o.cpu_delta_pct = !isnan(t.peak[LEARN_CPU]) ? MAX(t.peak[LEARN_CPU], isnan(o.cpu_mean_pct) ? 0 : o.cpu_mean_pct)
                                                : o.cpu_mean_pct;
    (void) snprintf(o.task, sizeof(o.task), "%s", t.task);
    (void) snprintf(o.source, sizeof(o.source), "run");
    tasks_fill_declared(d, &t.declared, &o);
    if (o.window_ms < 0 || o.started_ms > (int64_t) (now_real / USEC_PER_MSEC))
        o.window_ms = 0;

    int r = learn_observation(d, &o);
    if (r < 0) {
        d->api.counters.observations_failed_total++;
        log_warning_errno(r, "Failed to learn the end of task '%s': %s", t.task,
                          r == -EINVAL ? "invalid figures" : store_last_error(d->store));
        return r;
    }
    d->api.counters.observations_total++;
    return 0;
}

void tasks_reap(struct daemon *d)
{
    for (unsigned i = 0; i < d->n_tasks;) {
        struct api_task *t = &d->tasks[i];
        /* Signal 0 checks existence only. A process that is gone without an /end (killed with
         * its wrapper, say) must not hold its lease forever. Nothing is learnt from it. The
         * command's pid once reported, else the client that registered it over the Unix socket. */
        int64_t watched = t->pid > 0 ? t->pid : t->client_pid;
        if (watched <= 0 || kill((pid_t) watched, 0) == 0 || errno != ESRCH) {
            i++;
            continue;
        }
        log_info("Task '%s' (t-%016llx, pid %lld) is gone without reporting its end; releasing what it held",
                 t->task, (unsigned long long) t->id, (long long) watched);
        emit(d, "task:finished", t, json_pack("{s:n, s:s}", "exit_code", "reason", "gone without reporting its end"));
        if (t->lease_id)
            (void) leases_release(d, t->lease_id);
        remove_task(d, t);
    }
}

int tasks_progress(struct daemon *d, uint64_t id, double pct, const char *phase)
{
    struct api_task *t = find(d, id);

    if (!t)
        return -ENOENT;
    usec_t now = now_usec(CLOCK_MONOTONIC);
    t->progress_pct = pct;
    t->progress_usec = now;
    (void) snprintf(t->phase, sizeof(t->phase), "%s", phase ? phase : "");
    /* The end its own progress gives, at the pace it has kept so far: better than a learnt
     * duration or a timeout for the "when will it fit" estimate. */
    if (pct > 0 && pct < 100 && now > t->started_usec) {
        double elapsed = (double) (now - t->started_usec);
        t->expected_end_usec = now + (usec_t) (elapsed * (100 - pct) / pct);
    } else if (pct >= 100)
        t->expected_end_usec = now;
    double eta = t->expected_end_usec > now ? (double) (t->expected_end_usec - now) / 1e6 : 0;
    emit(d, "task:progress", t, json_pack("{s:f, s:o, s:o}", "pct", pct, "phase",
                                          t->phase[0] ? json_string(t->phase) : json_null(), "eta_seconds",
                                          pct > 0 ? json_real(eta) : json_null()));
    return 0;
}

int tasks_stall(struct daemon *d, uint64_t id, bool stalled, usec_t last_activity_real_usec)
{
    struct api_task *t = find(d, id);

    if (!t)
        return -ENOENT;
    if (stalled && !t->stalled)
        log_info("Task '%s' (t-%016llx) stalled: no output and no CPU time since its last activity", t->task,
                 (unsigned long long) t->id);
    bool changed = stalled != t->stalled;
    t->stalled = stalled;
    if (last_activity_real_usec)
        t->last_activity_real_usec = last_activity_real_usec;
    if (changed) {
        char ts[64];
        usec_t now_real = now_usec(CLOCK_REALTIME);
        double idle = t->last_activity_real_usec && now_real > t->last_activity_real_usec
                              ? (double) (now_real - t->last_activity_real_usec) / 1e6
                              : 0;
        emit(d, stalled ? "task:stalled" : "task:active", t,
             json_pack("{s:o, s:f}", "last_activity",
                       t->last_activity_real_usec ? json_string(format_rfc3339(ts, sizeof(ts), t->last_activity_real_usec))
                                                  : json_null(),
                       "idle_seconds", idle));
    }
    return 0;
}

/* Stops or continues the whole task: its cgroup's freezer where headroom made it one, else its
 * process group. */
static int freeze(struct daemon *d, struct api_task *t, bool on, bool by_protection)
{
    struct sv_freeze_info info;

    if (!pid_is_ours(d, t))
        return t->pid > 0 && !t->pid_verified ? -EPERM : -ESRCH;
    int r = sv_freeze(d->real_root_fd, (pid_t) t->pid, on, &info);
    if (r < 0)
        return r;
    t->suspended = on;
    t->suspended_by_protection = on && by_protection;
    jobs_task_changed(d, t);
    emit(d, on ? "task:suspended" : "task:resumed", t,
         json_pack("{s:s, s:s}", "method", sv_freeze_method_to_string(info.method), "by", by_protection ? "protection" : "request"));
    log_info("Task '%s' (t-%016llx) %s (%s)", t->task, (unsigned long long) t->id, on ? "suspended" : "resumed",
             sv_freeze_method_to_string(info.method));
    return 0;
}

int tasks_freeze(struct daemon *d, uint64_t id, bool on, bool by_protection)
{
    struct api_task *t = find(d, id);
    if (!t)
        return -ENOENT;
    if (t->suspended == on)
        return on ? -EBUSY : -EBUSY;
    return freeze(d, t, on, by_protection);
}

int tasks_control(struct daemon *d, uint64_t id, enum api_control what)
{
    struct api_task *t = find(d, id);

    if (!t)
        return -ENOENT;
    switch (what) {
    case API_CONTROL_SUSPEND:
        return t->suspended ? -EBUSY : freeze(d, t, true, false);
    case API_CONTROL_RESUME:
        return !t->suspended ? -EBUSY : freeze(d, t, false, false);
    case API_CONTROL_CANCEL:
        if (t->job_id)
            return jobs_control(d, t->job_id, API_CONTROL_CANCEL);
        if (!pid_is_ours(d, t))
            return t->pid > 0 && !t->pid_verified ? -EPERM : -ESRCH;
        if (t->suspended)
            (void) freeze(d, t, false, false);
        /* TERM to its group: its wrapper sees the command end and reports it. */
        int r = sv_group_signal(d->real_root_fd, (pid_t) t->pid, SIGTERM);
        if (r < 0)
            return r;
        t->kill_at_usec = usec_add(now_usec(CLOCK_MONOTONIC), 10 * USEC_PER_SEC);
        return 0;
    default:
        return -EINVAL;
    }
}

void tasks_attribute_vram(struct daemon *d)
{
    uint64_t total = leases_vram_total(d);
    bool any = false;

    for (unsigned g = 0; g < d->raw.n_gpus && !any; g++)
        any = d->raw.gpus[g].n_procs > 0;
    if (!any || total == 0 || d->n_tasks == 0)
        return;
    /* Each GPU process counts for the task whose process group it is in: the driver knows the
     * processes, the kernel their groups, and a supervised task leads its own group. */
    _cleanup_free_ uint64_t *bytes = calloc(d->n_tasks, sizeof(*bytes));
    if (!bytes)
        return;
    bool found = false;
    for (unsigned g = 0; g < d->raw.n_gpus; g++)
        for (unsigned k = 0; k < d->raw.gpus[g].n_procs; k++) {
            const struct hr_gpu_proc *gp = &d->raw.gpus[g].procs[k];
            pid_t pgid;
            if (gp->vram_used_bytes == UINT64_MAX || sv_process_group(d->proc_fd, (pid_t) gp->pid, &pgid) < 0)
                continue;
            for (unsigned i = 0; i < d->n_tasks; i++)
                if (d->tasks[i].pid_verified && d->tasks[i].pid == pgid) {
                    bytes[i] += gp->vram_used_bytes;
                    found = true;
                }
        }
    if (!found)
        return;
    double use[_LEARN_RESOURCE_MAX];
    for (unsigned i = 0; i < d->n_tasks; i++) {
        struct api_task *t = &d->tasks[i];
        if (!bytes[i])
            continue;
        for (int r = 0; r < _LEARN_RESOURCE_MAX; r++)
            use[r] = NAN;
        use[LEARN_VRAM] = 100.0 * (double) bytes[i] / (double) total;
        t->vram_bytes = bytes[i];
        t->peak_vram_bytes = MAX(t->peak_vram_bytes, bytes[i]);
        (void) tasks_usage(d, t->id, 0, use, NULL);
    }
}

void tasks_tick(struct daemon *d)
{
    usec_t now = now_usec(CLOCK_MONOTONIC);
    for (unsigned i = 0; i < d->n_tasks; i++) {
        struct api_task *t = &d->tasks[i];
        if (t->kill_at_usec && now >= t->kill_at_usec) {
            if (pid_is_ours(d, t))
                (void) sv_group_signal(d->real_root_fd, (pid_t) t->pid, SIGKILL);
            t->kill_at_usec = 0;
        }
    }
}
