/* SPDX-License-Identifier: MIT */
/* The daemon's side of supervision: feeds each task's latest figures and the machine's memory
 * pressure to the pure policies of model/protect.c and applies what they say, through the event
 * log and tasks_freeze(). */

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "daemon/daemon.h"
#include "daemon/events.h"
#include "daemon/protection.h"
#include "daemon/tasks.h"
#include "supervise/supervise.h"

int protection_settings(const struct daemon *d, struct protect_profile *ret)
{
    const struct config *c = &d->config;
    struct protect_profile p;

    int r = protect_profile(c->supervise.profile, &p);
    if (r < 0)
        return r;
    if (strcmp(c->supervise.level, "auto") != 0) {
        enum protect_level l = protect_level_from_string(c->supervise.level);
        if (l < 0)
            return -EINVAL;
        p.config.level = l;
    }
    if (c->supervise.pressure_critical_pct > 0)
        p.config.psi_critical_pct = c->supervise.pressure_critical_pct;
    if (c->supervise.pressure_low_pct > 0)
        p.config.psi_low_pct = c->supervise.pressure_low_pct;
    if (c->supervise.memory_critical_pct > 0)
        p.config.mem_used_critical_pct = c->supervise.memory_critical_pct;
    if (c->supervise.memory_low_pct > 0)
        p.config.mem_used_low_pct = c->supervise.memory_low_pct;
    /* A low threshold from the profile above a critical one set here would never be calm. */
    if (p.config.psi_low_pct > p.config.psi_critical_pct)
        p.config.psi_low_pct = p.config.psi_critical_pct;
    if (p.config.mem_used_low_pct > p.config.mem_used_critical_pct)
        p.config.mem_used_low_pct = p.config.mem_used_critical_pct;
    if (c->supervise.hold_down_sec > 0)
        p.config.resume_hold_usec = (usec_t) c->supervise.hold_down_sec * USEC_PER_SEC;
    if (c->supervise.action_interval_sec > 0)
        p.config.action_interval_usec = (usec_t) c->supervise.action_interval_sec * USEC_PER_SEC;
    if (c->supervise.task_memory_soft_pct > 0)
        p.task_mem_soft_pct = c->supervise.task_memory_soft_pct;
    if (c->supervise.task_memory_hard_pct > 0)
        p.task_mem_hard_pct = c->supervise.task_memory_hard_pct;
    *ret = p;
    return 0;
}

static double ncpus(const struct daemon *d)
{
    return d->raw.cpu_capacity_cores > 0 ? d->raw.cpu_capacity_cores : MAX(d->raw.n_cpus, 1u);
}

static void check_limits(struct daemon *d, const struct protect_profile *p, usec_t now)
{
    uint64_t total = d->view.mem_total_bytes;
    struct protect_limit_layers layers = {
        .global = {
            .mem_soft_bytes = protect_pct_to_bytes(p->task_mem_soft_pct, total),
            .mem_hard_bytes = protect_pct_to_bytes(p->task_mem_hard_pct, total),
            /* The configuration speaks of the machine; the policy of one CPU, as top(1). */
            .cpu_soft_pct = d->config.supervise.task_cpu_soft_pct * ncpus(d),
            .cpu_sustain_usec = PROTECT_CPU_SUSTAIN_DEFAULT_USEC,
        },
    };
    for (unsigned i = 0; i < d->n_tasks; i++) {
        struct api_task *t = &d->tasks[i];
        if (isnan(t->use[LEARN_MEMORY]) && isnan(t->use[LEARN_CPU]))
            continue;
        /* Its own limits, where it has them, over the global ones. */
        struct protect_limits lim;
        layers.task = t->own_limits;
        layers.task.cpu_soft_pct *= ncpus(d);
        protect_limits_resolve(&layers, &lim);
        struct protect_task_usage u = {
            .rss_bytes = isnan(t->use[LEARN_MEMORY]) ? 0
                                                     : (uint64_t) llround(t->use[LEARN_MEMORY] / 100.0 * (double) total),
            .cpu_pct = isnan(t->use[LEARN_CPU]) ? NAN : t->use[LEARN_CPU] * ncpus(d),
        };
        struct protect_limit_events ev;
        if (protect_limits_check(&lim, &u, now, &t->limits, &ev) <= 0 || !ev.entered)
            continue;
        for (unsigned bit = 1; bit <= PROTECT_LIMIT_HIGH_CPU; bit <<= 1) {
            if (!(ev.entered & bit) || !d->events)
                continue;
            uint64_t limit = bit == PROTECT_LIMIT_HIGH_MEMORY ? lim.mem_soft_bytes : lim.mem_hard_bytes;
            json_t *f = bit == PROTECT_LIMIT_HIGH_CPU
                                ? json_pack("{s:f, s:f}", "cpu_pct", u.cpu_pct, "limit_pct", lim.cpu_soft_pct)
                                : json_pack("{s:I, s:I}", "rss_bytes", (json_int_t) u.rss_bytes, "limit_bytes",
                                            (json_int_t) limit);
            (void) events_emit(d->events, protect_limit_event_type(bit), t->id, (uint64_t) t->job_id, t->task, f);
        }
    }
}

static void protect(struct daemon *d, const struct protect_profile *p, usec_t now)
{
    _cleanup_free_ struct protect_task *tasks = calloc(MAX(d->n_tasks, 1u), sizeof(*tasks));
    size_t n = 0;

    if (!tasks)
        return;
    for (unsigned i = 0; i < d->n_tasks && n < PROTECT_TASKS_MAX; i++) {
        const struct api_task *t = &d->tasks[i];
        /* Only a task whose process was taken as its owner's is ever stopped; one being cancelled
         * is left to end. */
        if (!t->pid_verified || t->kill_at_usec || t->cancelling)
            continue;
        tasks[n++] = (struct protect_task) {
            .id = t->id,
            .priority = (enum sched_priority) CLAMP(t->priority, 0, 2),
            .started_usec = t->started_usec,
            .state = !t->suspended                ? PROTECT_TASK_RUNNING
                     : t->suspended_by_protection ? PROTECT_TASK_SUSPENDED_BY_PROTECTION
                                                  : PROTECT_TASK_SUSPENDED_BY_USER,
            .checkpoint_signal = t->checkpoint_signal,
            .checkpoint_grace_usec = t->checkpoint_grace_usec,
        };
    }
    struct protect_input in = {
        .has_psi = d->view.has_memory_pressure && !isnan(d->view.memory_pressure_pct),
        .psi_some_avg10_pct = CLAMP(d->view.memory_pressure_pct, 0.0, 100.0),
        .has_mem_used = d->view.mem_total_bytes > 0 && !isnan(d->view.mem_used_pct),
        .mem_used_pct = CLAMP(d->view.mem_used_pct, 0.0, 100.0),
        .tasks = tasks,
        .n_tasks = n,
    };
    struct protect_action a;
    int r = protect_plan(&p->config, &in, now, d->protect, &a);
    if (r < 0)
        log_debug_errno(r, "Protection could not plan: %m");
    if (r <= 0)
        return;
    struct api_task *t = tasks_find(d, a.task_id);
    if (!t)
        return;
    switch (a.kind) {
    case PROTECT_ACTION_CHECKPOINT:
        log_info("Protection: checkpoint signal %d to '%s' (t-%016" PRIx64 "): %s", a.signal, t->task, t->id, a.reason);
        if (tasks_pid_is_ours(d, t))
            (void) sv_group_signal(d->real_root_fd, (pid_t) t->pid, a.signal);
        if (d->events)
            (void) events_emit(d->events, "task:checkpoint", t->id, (uint64_t) t->job_id, t->task,
                               json_pack("{s:i, s:f, s:s}", "signal", a.signal, "grace_sec",
                                         (double) a.grace_usec / 1e6, "reason", a.reason));
        break;
    case PROTECT_ACTION_SUSPEND:
    case PROTECT_ACTION_RESUME:
        log_info("Protection: %s '%s' (t-%016" PRIx64 "): %s", a.kind == PROTECT_ACTION_SUSPEND ? "suspending" : "resuming",
                 t->task, t->id, a.reason);
        r = tasks_freeze(d, t->id, a.kind == PROTECT_ACTION_SUSPEND, true);
        if (r < 0 && r != -EBUSY)
            log_warning_errno(r, "Protection could not %s '%s': %m", a.kind == PROTECT_ACTION_SUSPEND ? "suspend" : "resume",
                              t->task);
        break;
    default:
        break;
    }
}

void protection_tick(struct daemon *d)
{
    struct protect_profile p;
    usec_t now = now_usec(CLOCK_MONOTONIC);

    if (protection_settings(d, &p) < 0)
        return;
    if (p.config.level >= PROTECT_LEVEL_ACTIVE)
        check_limits(d, &p, now);
    if (!d->protect) {
        d->protect = calloc(1, sizeof(*d->protect));
        if (!d->protect)
            return;
    }
    /* Below protective the plan still resumes what protection had suspended. */
    protect(d, &p, now);
}
