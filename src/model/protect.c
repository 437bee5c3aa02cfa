/* SPDX-License-Identifier: MIT */
#include "model/protect.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "basic/macro.h"

static const char *const level_names[_PROTECT_LEVEL_MAX] = {
    [PROTECT_LEVEL_PASSIVE] = "passive",
    [PROTECT_LEVEL_ACTIVE] = "active",
    [PROTECT_LEVEL_PROTECTIVE] = "protective",
};

const char *protect_level_to_string(enum protect_level l)
{
    if (l < 0 || l >= _PROTECT_LEVEL_MAX)
        return NULL;
    return level_names[l];
}

enum protect_level protect_level_from_string(const char *s)
{
    if (!s)
        return _PROTECT_LEVEL_INVALID;
    for (int i = 0; i < _PROTECT_LEVEL_MAX; i++)
        if (strcmp(s, level_names[i]) == 0)
            return (enum protect_level) i;
    return _PROTECT_LEVEL_INVALID;
}

static const char *const task_state_names[_PROTECT_TASK_STATE_MAX] = {
    [PROTECT_TASK_RUNNING] = "running",
    [PROTECT_TASK_SUSPENDED_BY_USER] = "suspended-by-user",
    [PROTECT_TASK_SUSPENDED_BY_PROTECTION] = "suspended-by-protection",
};

const char *protect_task_state_to_string(enum protect_task_state s)
{
    if (s < 0 || s >= _PROTECT_TASK_STATE_MAX)
        return NULL;
    return task_state_names[s];
}

static const char *const pressure_names[_PROTECT_PRESSURE_MAX] = {
    [PROTECT_PRESSURE_UNKNOWN] = "unknown",
    [PROTECT_PRESSURE_CALM] = "calm",
    [PROTECT_PRESSURE_ELEVATED] = "elevated",
    [PROTECT_PRESSURE_CRITICAL] = "critical",
};

const char *protect_pressure_to_string(enum protect_pressure p)
{
    if (p < 0 || p >= _PROTECT_PRESSURE_MAX)
        return NULL;
    return pressure_names[p];
}

static const char *const action_names[_PROTECT_ACTION_MAX] = {
    [PROTECT_ACTION_NONE] = "none",
    [PROTECT_ACTION_CHECKPOINT] = "checkpoint",
    [PROTECT_ACTION_SUSPEND] = "suspend",
    [PROTECT_ACTION_RESUME] = "resume",
};

const char *protect_action_kind_to_string(enum protect_action_kind k)
{
    if (k < 0 || k >= _PROTECT_ACTION_MAX)
        return NULL;
    return action_names[k];
}

static usec_t elapsed(usec_t now, usec_t since)
{
    return now > since ? now - since : 0;
}

/* snprintf() into a reason: a reason cut short at its bound is still a reason, so truncation is
 * accepted here, in one place. */
static void _printf_(3, 4) say(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    (void) vsnprintf(buf, size, fmt, ap);
    va_end(ap);
}

/* Whole seconds, rounded up, for the reasons: "3 s left" must not say "0 s" while time is left. */
static unsigned long long secs_up(usec_t u)
{
    return (unsigned long long) (u / USEC_PER_SEC + (u % USEC_PER_SEC != 0));
}

/* ---- 1. Per-task limits --------------------------------------------------------------------- */

void protect_limits_resolve(const struct protect_limit_layers *l, struct protect_limits *ret)
{
    const struct protect_limits *g = &l->global, *t = &l->task;

    *ret = (struct protect_limits){
        .mem_soft_bytes = t->mem_soft_bytes ? t->mem_soft_bytes : g->mem_soft_bytes,
        .mem_hard_bytes = t->mem_hard_bytes ? t->mem_hard_bytes : g->mem_hard_bytes,
        .cpu_soft_pct = t->cpu_soft_pct > 0 ? t->cpu_soft_pct : g->cpu_soft_pct,
        .cpu_sustain_usec = t->cpu_sustain_usec ? t->cpu_sustain_usec : g->cpu_sustain_usec,
    };
}

uint64_t protect_pct_to_bytes(double pct, uint64_t total_bytes)
{
    if (!(pct > 0))
        return 0;
    if (pct >= 100)
        return total_bytes;
    /* long double keeps the product exact enough for any RAM size a 64-bit count can hold. */
    return (uint64_t) ((long double) total_bytes * (long double) pct / 100.0L);
}

static const char *const limit_event_types[] = {
    "task:high-memory",
    "task:critical-memory",
    "task:high-cpu",
};

const char *protect_limit_event_type(unsigned bit)
{
    for (size_t i = 0; i < ELEMENTSOF(limit_event_types); i++)
        if (bit == 1U << i)
            return limit_event_types[i];
    return NULL;
}

/* 90% of limit, rounded down, without overflowing for limits near UINT64_MAX. */
static uint64_t below_band(uint64_t limit)
{
    return limit / 10 * 9 + limit % 10 * 9 / 10;
}

/* One memory condition: the bit in active toggles on a crossing, which is reported in ev. */
static void memory_condition(unsigned bit,
                             uint64_t limit,
                             uint64_t rss,
                             unsigned *active,
                             struct protect_limit_events *ev)
{
    bool on = *active & bit;

    if (!on && limit > 0 && rss > limit) {
        *active |= bit;
        ev->entered |= bit;
    } else if (on && (limit == 0 || rss < below_band(limit))) {
        *active &= ~bit;
        ev->left |= bit;
    }
}

static void cpu_condition(const struct protect_limits *l,
                          double cpu,
                          usec_t now,
                          struct protect_limit_state *s,
                          struct protect_limit_events *ev)
{
    bool on = s->active & PROTECT_LIMIT_HIGH_CPU;

    if (!(l->cpu_soft_pct > 0)) {
        /* No limit (any more): no condition, no clock. */
        if (on) {
            s->active &= ~PROTECT_LIMIT_HIGH_CPU;
            ev->left |= PROTECT_LIMIT_HIGH_CPU;
        }
        s->cpu_over_since_usec = s->cpu_under_since_usec = 0;
        return;
    }
    if (isnan(cpu) || cpu < 0)
        return; /* unknown: keep everything as it is */

    bool over = cpu > l->cpu_soft_pct;
    bool under = cpu < l->cpu_soft_pct * 0.9;

    if (!on) {
        s->cpu_under_since_usec = 0;
        if (over && s->cpu_over_since_usec == 0)
            s->cpu_over_since_usec = now;
        else if (under)
            s->cpu_over_since_usec = 0;
        if (s->cpu_over_since_usec != 0 &&
            elapsed(now, s->cpu_over_since_usec) >= l->cpu_sustain_usec) {
            s->active |= PROTECT_LIMIT_HIGH_CPU;
            ev->entered |= PROTECT_LIMIT_HIGH_CPU;
            s->cpu_over_since_usec = 0;
        }
        return;
    }

    s->cpu_over_since_usec = 0;
    if (under && s->cpu_under_since_usec == 0)
        s->cpu_under_since_usec = now;
    else if (over)
        s->cpu_under_since_usec = 0;
    if (s->cpu_under_since_usec != 0 &&
        elapsed(now, s->cpu_under_since_usec) >= l->cpu_sustain_usec) {
        s->active &= ~PROTECT_LIMIT_HIGH_CPU;
        ev->left |= PROTECT_LIMIT_HIGH_CPU;
        s->cpu_under_since_usec = 0;
    }
}

int protect_limits_check(const struct protect_limits *l,
                         const struct protect_task_usage *u,
                         usec_t now_usec,
                         struct protect_limit_state *state,
                         struct protect_limit_events *ret)
{
    if (!l || !u || !state || !ret || now_usec == 0)
        return -EINVAL;
    if (isnan(l->cpu_soft_pct) || l->cpu_soft_pct < 0)
        return -EINVAL;

    struct protect_limit_state s = *state;
    struct protect_limit_events ev = { 0 };

    /* Bits this version does not know are dropped, so a state from elsewhere cannot report
     * leaving a condition that was never entered. */
    s.active &= PROTECT_LIMIT_HIGH_MEMORY | PROTECT_LIMIT_CRITICAL_MEMORY | PROTECT_LIMIT_HIGH_CPU;

    memory_condition(PROTECT_LIMIT_HIGH_MEMORY, l->mem_soft_bytes, u->rss_bytes, &s.active, &ev);
    memory_condition(PROTECT_LIMIT_CRITICAL_MEMORY, l->mem_hard_bytes, u->rss_bytes, &s.active,
                     &ev);
    cpu_condition(l, u->cpu_pct, now_usec, &s, &ev);

    *state = s;
    *ret = ev;
    return __builtin_popcount(ev.entered) + __builtin_popcount(ev.left);
}

/* ---- 2. Protective mode --------------------------------------------------------------------- */

void protect_config_default(struct protect_config *ret)
{
    struct protect_profile p;

    (void) protect_profile("balanced", &p);
    *ret = p.config;
    ret->level = PROTECT_LEVEL_PROTECTIVE;
}

static bool pct_ok(double v)
{
    return !isnan(v) && v >= 0 && v <= 100;
}

static bool criterion_ok(double critical, double low)
{
    if (!pct_ok(critical) || !pct_ok(low))
        return false;
    return !(critical > 0) || (low > 0 && low <= critical);
}

static bool config_ok(const struct protect_config *c)
{
    return c->level >= 0 && c->level < _PROTECT_LEVEL_MAX &&
           criterion_ok(c->psi_critical_pct, c->psi_low_pct) &&
           criterion_ok(c->mem_used_critical_pct, c->mem_used_low_pct);
}

static bool input_ok(const struct protect_input *in)
{
    if (in->n_tasks > 0 && !in->tasks)
        return false;
    if (in->n_tasks > PROTECT_TASKS_MAX)
        return false;
    if (in->has_psi && !pct_ok(in->psi_some_avg10_pct))
        return false;
    if (in->has_mem_used && !pct_ok(in->mem_used_pct))
        return false;
    for (size_t i = 0; i < in->n_tasks; i++) {
        const struct protect_task *t = &in->tasks[i];
        if (t->priority < 0 || t->priority >= _SCHED_PRIORITY_MAX)
            return false;
        if (t->state < 0 || t->state >= _PROTECT_TASK_STATE_MAX)
            return false;
        if (t->checkpoint_signal < 0)
            return false;
    }
    return true;
}

static size_t find_task(const struct protect_input *in, uint64_t id)
{
    for (size_t i = 0; i < in->n_tasks; i++)
        if (in->tasks[i].id == id)
            return i;
    return SIZE_MAX;
}

/* Rule 1: the state forgets what no longer holds. */
static void reconcile(const struct protect_input *in, struct protect_state *s)
{
    unsigned k = 0;

    for (unsigned i = 0; i < s->n_suspended && i < PROTECT_SUSPENDED_MAX; i++) {
        size_t t = find_task(in, s->suspended[i].id);
        if (t == SIZE_MAX || in->tasks[t].state != PROTECT_TASK_SUSPENDED_BY_PROTECTION)
            continue;
        s->suspended[k++] = s->suspended[i];
    }
    s->n_suspended = k;

    if (s->checkpoint_pending) {
        size_t t = find_task(in, s->checkpoint_id);
        if (t == SIZE_MAX || in->tasks[t].state != PROTECT_TASK_RUNNING ||
            in->tasks[t].priority == SCHED_P0)
            s->checkpoint_pending = false;
    }
}

/* When protection suspended task id, or 0 when it does not remember. */
static usec_t suspended_at(const struct protect_state *s, uint64_t id)
{
    for (unsigned i = 0; i < s->n_suspended; i++)
        if (s->suspended[i].id == id)
            return s->suspended[i].suspended_usec;
    return 0;
}

static void remember_suspended(struct protect_state *s, uint64_t id, usec_t now)
{
    if (s->n_suspended >= PROTECT_SUSPENDED_MAX)
        return; /* cannot happen: callers check first */
    s->suspended[s->n_suspended++] = (struct protect_suspended){ .id = id, .suspended_usec = now };
}

static void forget_suspended(struct protect_state *s, uint64_t id)
{
    unsigned k = 0;

    for (unsigned i = 0; i < s->n_suspended; i++)
        if (s->suspended[i].id != id)
            s->suspended[k++] = s->suspended[i];
    s->n_suspended = k;
}

/* The machine's pressure, with the readings that made it so written into why (capacity
 * PROTECT_REASON_MAX): the critical readings when critical, else every reading in use. */
static enum protect_pressure
assess(const struct protect_config *c, const struct protect_input *in, char *why, size_t size)
{
    bool psi_used = in->has_psi && c->psi_critical_pct > 0;
    bool mem_used = in->has_mem_used && c->mem_used_critical_pct > 0;
    bool psi_crit = psi_used && in->psi_some_avg10_pct >= c->psi_critical_pct;
    bool mem_crit = mem_used && in->mem_used_pct >= c->mem_used_critical_pct;
    bool psi_calm = !psi_used || in->psi_some_avg10_pct < c->psi_low_pct;
    bool mem_calm = !mem_used || in->mem_used_pct < c->mem_used_low_pct;
    char psi[80] = "", mem[80] = "";

    if (psi_used)
        say(psi, sizeof psi, "memory pressure %.1f%% %s %g%%", in->psi_some_avg10_pct,
            psi_crit   ? "≥"
            : psi_calm ? "<"
                       : "≥",
            psi_crit ? c->psi_critical_pct : c->psi_low_pct);
    if (mem_used)
        say(mem, sizeof mem, "memory used %.1f%% %s %g%%", in->mem_used_pct,
            mem_crit   ? "≥"
            : mem_calm ? "<"
                       : "≥",
            mem_crit ? c->mem_used_critical_pct : c->mem_used_low_pct);

    if (psi_crit || mem_crit) {
        say(why, size, "%s%s%s", psi_crit ? psi : "", psi_crit && mem_crit ? ", " : "",
            mem_crit ? mem : "");
        return PROTECT_PRESSURE_CRITICAL;
    }
    if (!psi_used && !mem_used) {
        say(why, size, "memory pressure unknown");
        return PROTECT_PRESSURE_UNKNOWN;
    }
    say(why, size, "%s%s%s", psi, psi[0] && mem[0] ? ", " : "", mem);
    return psi_calm && mem_calm ? PROTECT_PRESSURE_CALM : PROTECT_PRESSURE_ELEVATED;
}

/* Rule 4's order: true when a should be suspended before b. */
static bool suspend_before(const struct protect_task *a, const struct protect_task *b)
{
    if (a->priority != b->priority)
        return a->priority > b->priority;
    if (a->started_usec != b->started_usec)
        return a->started_usec > b->started_usec;
    return a->id > b->id;
}

static size_t pick_suspend(const struct protect_input *in)
{
    size_t best = SIZE_MAX;

    for (size_t i = 0; i < in->n_tasks; i++) {
        const struct protect_task *t = &in->tasks[i];
        if (t->state != PROTECT_TASK_RUNNING || t->priority == SCHED_P0)
            continue;
        if (find_task(in, t->id) != i)
            continue; /* a repeated id: the first one listed counts */
        if (best == SIZE_MAX || suspend_before(t, &in->tasks[best]))
            best = i;
    }
    return best;
}

/* Rule 5's order. */
static size_t pick_resume(const struct protect_input *in, const struct protect_state *s)
{
    size_t best = SIZE_MAX;
    usec_t best_at = 0;

    for (size_t i = 0; i < in->n_tasks; i++) {
        const struct protect_task *t = &in->tasks[i];
        if (t->state != PROTECT_TASK_SUSPENDED_BY_PROTECTION || find_task(in, t->id) != i)
            continue;
        usec_t at = suspended_at(s, t->id);
        if (best != SIZE_MAX) {
            const struct protect_task *b = &in->tasks[best];
            if (t->priority != b->priority) {
                if (t->priority > b->priority)
                    continue;
            } else if (at != best_at) {
                if (at > best_at)
                    continue;
            } else if (t->id > b->id)
                continue;
        }
        best = i;
        best_at = at;
    }
    return best;
}

static int act(struct protect_action *a,
               enum protect_action_kind kind,
               const struct protect_input *in,
               size_t index)
{
    a->kind = kind;
    a->task_index = index;
    a->task_id = in->tasks[index].id;
    if (kind == PROTECT_ACTION_CHECKPOINT) {
        a->signal = in->tasks[index].checkpoint_signal;
        a->grace_usec = in->tasks[index].checkpoint_grace_usec;
    }
    return 1;
}

int protect_plan(const struct protect_config *c,
                 const struct protect_input *in,
                 usec_t now_usec,
                 struct protect_state *state,
                 struct protect_action *ret)
{
    struct protect_config defaults;
    char why[PROTECT_REASON_MAX];
    size_t i;

    if (!in || !state || !ret || now_usec == 0)
        return -EINVAL;
    if (!c) {
        protect_config_default(&defaults);
        c = &defaults;
    }
    if (!config_ok(c) || !input_ok(in))
        return -EINVAL;

    struct protect_state *s = state;
    struct protect_action a = {
        .kind = PROTECT_ACTION_NONE,
        .task_index = SIZE_MAX,
    };
    int r = 0;

    if (s->n_suspended > PROTECT_SUSPENDED_MAX)
        s->n_suspended = PROTECT_SUSPENDED_MAX; /* a corrupt count cannot send us past the array */
    reconcile(in, s);

    a.pressure = assess(c, in, why, sizeof why);
    if (a.pressure == PROTECT_PRESSURE_CALM) {
        if (s->calm_since_usec == 0)
            s->calm_since_usec = now_usec;
    } else
        s->calm_since_usec = 0;

    bool ready = s->last_action_usec == 0 ||
                 elapsed(now_usec, s->last_action_usec) >= c->action_interval_usec;
    usec_t wait = ready ? 0 : c->action_interval_usec - elapsed(now_usec, s->last_action_usec);

    /* Rule 2. */
    if (c->level != PROTECT_LEVEL_PROTECTIVE) {
        s->checkpoint_pending = false;
        i = pick_resume(in, s);
        if (i != SIZE_MAX && ready) {
            r = act(&a, PROTECT_ACTION_RESUME, in, i);
            say(a.reason, sizeof a.reason, "level %s: protection is off, resuming",
                protect_level_to_string(c->level));
        } else if (i != SIZE_MAX)
            say(a.reason, sizeof a.reason, "level %s: protection is off, next resume in %llu s",
                protect_level_to_string(c->level), secs_up(wait));
        else
            say(a.reason, sizeof a.reason, "level %s: protection is off",
                protect_level_to_string(c->level));
        goto done;
    }

    /* Rule 3. */
    if (s->checkpoint_pending) {
        usec_t waited = elapsed(now_usec, s->checkpoint_usec);
        i = find_task(in, s->checkpoint_id);
        if (waited < s->checkpoint_grace_usec) {
            say(a.reason, sizeof a.reason,
                "waiting for task %llu to checkpoint: %llu s of its %llu s grace left",
                (unsigned long long) s->checkpoint_id, secs_up(s->checkpoint_grace_usec - waited),
                secs_up(s->checkpoint_grace_usec));
            goto done;
        }
        s->checkpoint_pending = false;
        if (a.pressure == PROTECT_PRESSURE_CALM) {
            say(a.reason, sizeof a.reason,
                "checkpoint grace of task %llu over, but %s: not suspending it",
                (unsigned long long) s->checkpoint_id, why);
            goto done;
        }
        r = act(&a, PROTECT_ACTION_SUSPEND, in, i);
        remember_suspended(s, a.task_id, now_usec);
        s->last_action_usec = now_usec;
        say(a.reason, sizeof a.reason, "%s; checkpoint grace of %llu s over", why,
            secs_up(s->checkpoint_grace_usec));
        goto done;
    }

    switch (a.pressure) {
    case PROTECT_PRESSURE_CRITICAL:
        /* Rule 4. */
        if (!ready) {
            say(a.reason, sizeof a.reason, "%s; next action in %llu s", why, secs_up(wait));
            break;
        }
        i = pick_suspend(in);
        if (i == SIZE_MAX) {
            say(a.reason, sizeof a.reason, "%s; no running task below P0 to suspend", why);
            break;
        }
        if (s->n_suspended >= PROTECT_SUSPENDED_MAX) {
            say(a.reason, sizeof a.reason, "%s; %u tasks suspended already", why, s->n_suspended);
            break;
        }
        if (in->tasks[i].checkpoint_signal > 0) {
            r = act(&a, PROTECT_ACTION_CHECKPOINT, in, i);
            s->checkpoint_pending = true;
            s->checkpoint_id = a.task_id;
            s->checkpoint_usec = now_usec;
            s->checkpoint_grace_usec = a.grace_usec;
            say(a.reason, sizeof a.reason, "%s; checkpoint first, %llu s grace", why,
                secs_up(a.grace_usec));
            break;
        }
        r = act(&a, PROTECT_ACTION_SUSPEND, in, i);
        remember_suspended(s, a.task_id, now_usec);
        s->last_action_usec = now_usec;
        say(a.reason, sizeof a.reason, "%s", why);
        break;

    case PROTECT_PRESSURE_CALM: {
        /* Rule 5. */
        usec_t calm = elapsed(now_usec, s->calm_since_usec);
        i = pick_resume(in, s);
        if (i == SIZE_MAX)
            say(a.reason, sizeof a.reason, "%s", why);
        else if (calm < c->resume_hold_usec)
            say(a.reason, sizeof a.reason, "%s; calm for %llu s of %llu s before resuming", why,
                (unsigned long long) (calm / USEC_PER_SEC), secs_up(c->resume_hold_usec));
        else if (!ready)
            say(a.reason, sizeof a.reason, "%s; next resume in %llu s", why, secs_up(wait));
        else {
            r = act(&a, PROTECT_ACTION_RESUME, in, i);
            forget_suspended(s, a.task_id);
            s->last_action_usec = now_usec;
            say(a.reason, sizeof a.reason, "%s for %llu s", why,
                (unsigned long long) (calm / USEC_PER_SEC));
        }
        break;
    }

    default:
        /* Rule 6: elevated or unknown. */
        say(a.reason, sizeof a.reason, "%s", why);
        break;
    }

done:
    *ret = a;
    return r;
}

/* ---- Profiles ------------------------------------------------------------------------------- */

/* The thresholds, and why.
 *
 * PSI memory "some" avg10 is the share of the last ten seconds in which at least one task waited
 * for memory (reclaim, refaults, swap-in). A busy machine with a warm page cache shows 0–2%;
 * around 10% interactive work starts to feel it; at 20% the machine is thrashing, and at 40% and
 * beyond a good part of every second goes to waiting, which is when freezing a task pays off more
 * than it costs. The low thresholds sit well under the critical ones so the same task is not
 * suspended and resumed in a loop.
 *
 * Memory used ((MemTotal - MemAvailable) / MemTotal) catches the case PSI shows late: memory
 * filling up steadily with nothing to reclaim yet. At 95% little room is left before the OOM
 * killer; at 90% (conservative) there is time to act before reclaim starts to hurt.
 *
 * Per-task limits as a share of RAM: a task past half the machine's memory is worth an event on a
 * shared machine (balanced); past 80% it is about to push everything else out. conservative warns
 * earlier (30% / 60%) because it also acts; minimal keeps only the last warning (90%) and no soft
 * limit, so it produces few events.
 *
 * Stall time: balanced uses `headroom run`'s five minutes; minimal waits longer (quiet phases of
 * long jobs are common and an event is only noise there); conservative notices after two minutes,
 * since a stalled task still holds its memory. */
static const struct {
    const char *name;
    struct protect_profile profile;
} profiles[] = {
    {
        "minimal",
        {
            .config = {
                .level = PROTECT_LEVEL_PASSIVE,
                .psi_critical_pct = 60,
                .psi_low_pct = 20,
                .mem_used_critical_pct = 97,
                .mem_used_low_pct = 90,
                .action_interval_usec = PROTECT_ACTION_INTERVAL_DEFAULT_USEC,
                .resume_hold_usec = PROTECT_RESUME_HOLD_DEFAULT_USEC,
            },
            .stall_usec = 15 * 60 * USEC_PER_SEC,
            .task_mem_soft_pct = 0,
            .task_mem_hard_pct = 90,
        },
    },
    {
        "balanced",
        {
            .config = {
                .level = PROTECT_LEVEL_ACTIVE,
                .psi_critical_pct = 40,
                .psi_low_pct = 10,
                .mem_used_critical_pct = 95,
                .mem_used_low_pct = 85,
                .action_interval_usec = PROTECT_ACTION_INTERVAL_DEFAULT_USEC,
                .resume_hold_usec = PROTECT_RESUME_HOLD_DEFAULT_USEC,
            },
            .stall_usec = 5 * 60 * USEC_PER_SEC,
            .task_mem_soft_pct = 50,
            .task_mem_hard_pct = 80,
        },
    },
    {
        /* A longer hold-down too: resuming into a machine that only just recovered would undo
         * the suspend. */
        "conservative",
        {
            .config = {
                .level = PROTECT_LEVEL_PROTECTIVE,
                .psi_critical_pct = 20,
                .psi_low_pct = 5,
                .mem_used_critical_pct = 90,
                .mem_used_low_pct = 75,
                .action_interval_usec = PROTECT_ACTION_INTERVAL_DEFAULT_USEC,
                .resume_hold_usec = 2 * PROTECT_RESUME_HOLD_DEFAULT_USEC,
            },
            .stall_usec = 2 * 60 * USEC_PER_SEC,
            .task_mem_soft_pct = 30,
            .task_mem_hard_pct = 60,
        },
    },
};

int protect_profile(const char *name, struct protect_profile *ret)
{
    if (!name || !ret)
        return -EINVAL;
    for (size_t i = 0; i < ELEMENTSOF(profiles); i++)
        if (strcmp(name, profiles[i].name) == 0) {
            *ret = profiles[i].profile;
            return 0;
        }
    return -EINVAL;
}
