/* SPDX-License-Identifier: MIT */
#pragma once

/* Watching running tasks and, when asked to, protecting the machine from them. Two pure policies
 * the daemon calls on each tick; no I/O, no clock reads, no allocation, no logging. Time comes in
 * as an argument, in microseconds on one monotonic clock of the caller's choice; 0 stands for
 * "never", so now_usec must be > 0. Differences saturate at 0, so a clock stepped back counts as
 * no time passed.
 *
 * 1. Per-task limits (protect_limits_check()). A task has a soft memory limit (above it: "high
 *    memory"), a hard memory limit (above it: "critical memory") and a soft CPU limit (above it for
 *    a sustained time: "high CPU"). Each condition is a state kept by the caller with the task, and
 *    the check reports only the transitions, so the daemon says task:high-memory once per
 *    crossing, not once per tick. Leaving a condition needs the figure back under 90% of the limit
 *    (hysteresis), so a task that hovers at its limit does not flap.
 *
 * 2. Protective mode (protect_plan()). On critical memory pressure of the machine, suspend the
 *    least important running task, one per call and one per action interval; once the pressure has
 *    stayed low for a hold-down time, resume what protection suspended, most important first, one
 *    per interval. A task may ask for a checkpoint signal and a grace time before it is suspended.
 *    The caller applies the action (signal, sv_freeze()) and passes the tasks' new states the next
 *    time. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/time-util.h"
#include "model/schedule.h"

/* ---- Monitoring levels ---------------------------------------------------------------------- */

enum protect_level {
    PROTECT_LEVEL_PASSIVE,    /* record figures only: no events, no action */
    PROTECT_LEVEL_ACTIVE,     /* record and emit events (task:high-memory ...), never act */
    PROTECT_LEVEL_PROTECTIVE, /* events, and suspend/resume tasks under memory pressure */
    _PROTECT_LEVEL_MAX,
    _PROTECT_LEVEL_INVALID = -22,
};

/* "passive", "active", "protective"; NULL for anything else. */
const char *protect_level_to_string(enum protect_level l);
/* The inverse, exact lower-case names only; _PROTECT_LEVEL_INVALID for NULL or anything else. */
enum protect_level protect_level_from_string(const char *s);

/* ---- 1. Per-task limits --------------------------------------------------------------------- */

/* The limits of one task. Every field 0 means "none" (and, in protect_limits_resolve(), "not set
 * here": the other layer's value applies). */
struct protect_limits {
    uint64_t mem_soft_bytes; /* RSS above this: high memory */
    uint64_t mem_hard_bytes; /* RSS above this: critical memory */
    double cpu_soft_pct;     /* percent of ONE CPU, as top(1) shows it: 100 = one core busy,
                              * 250 = two and a half cores; above this for cpu_sustain_usec:
                              * high CPU */
    usec_t cpu_sustain_usec; /* how long CPU must stay above (and, to leave, under 90% of)
                              * cpu_soft_pct; 0: one sample is enough */
};

/* The two layers limits come from: the configuration's global ones, and the task's own (declared
 * when it started). */
struct protect_limit_layers {
    struct protect_limits global;
    struct protect_limits task;
};

/* The default of cpu_sustain_usec for a configuration that sets none: one minute, long enough
 * that a compile step or a start-up burst does not count, short enough to tell about a task that
 * really took over the CPUs. */
#define PROTECT_CPU_SUSTAIN_DEFAULT_USEC (60 * USEC_PER_SEC)

/* Field by field, the task's value when it is not 0, else the global one: a task's own limit
 * overrides the global one, either way (higher or lower). Writes *ret; does not fail. */
void protect_limits_resolve(const struct protect_limit_layers *l, struct protect_limits *ret);

/* pct percent of total_bytes, rounded down, for limits given as a share of RAM; 0 for pct ≤ 0 or
 * NaN, total_bytes for pct ≥ 100. */
uint64_t protect_pct_to_bytes(double pct, uint64_t total_bytes);

/* The conditions, as bits. */
enum {
    PROTECT_LIMIT_HIGH_MEMORY = 1U << 0,
    PROTECT_LIMIT_CRITICAL_MEMORY = 1U << 1,
    PROTECT_LIMIT_HIGH_CPU = 1U << 2,
};

/* "task:high-memory", "task:critical-memory", "task:high-cpu" for one PROTECT_LIMIT_* bit; NULL
 * for anything else. The event type the daemon emits when a task enters the condition. */
const char *protect_limit_event_type(unsigned bit);

/* A task's latest figures. */
struct protect_task_usage {
    uint64_t rss_bytes;
    double cpu_pct; /* percent of one CPU over the last sample, as cpu_soft_pct; NaN
                     * or negative: unknown (no second sample yet), the CPU condition
                     * is then left as it is */
};

/* What the caller keeps with each task between calls; all zero for a new task. */
struct protect_limit_state {
    unsigned active;             /* PROTECT_LIMIT_* bits in force */
    usec_t cpu_over_since_usec;  /* not high CPU: when CPU went above the limit; 0: not above */
    usec_t cpu_under_since_usec; /* high CPU: when CPU went under 90% of the limit; 0: not under */
};

struct protect_limit_events {
    unsigned entered; /* PROTECT_LIMIT_* bits that began in this call */
    unsigned left;    /* PROTECT_LIMIT_* bits that ended in this call */
};

/* Updates the task's conditions from its latest figures and reports the transitions:
 *
 *   high memory      enters when rss_bytes > mem_soft_bytes; leaves when rss_bytes falls under
 *                    90% of mem_soft_bytes (or the limit is removed).
 *   critical memory  the same with mem_hard_bytes; it does not replace high memory: a task that
 *                    jumps past both enters both in one call.
 *   high CPU         enters once cpu_pct has been above cpu_soft_pct for cpu_sustain_usec: the
 *                    clock starts at the first sample above the limit and is reset only by a
 *                    sample under 90% of it, so dips within the 90–100% band do not restart it.
 *                    It leaves, the same way, once cpu_pct has stayed under 90% of the limit for
 *                    cpu_sustain_usec (reset by a sample above the limit), or at once when the
 *                    limit is removed. CPU figures are noisy, so both directions need a sustained
 *                    run, or a task at its limit would flap at every dip.
 *
 * l: the resolved limits. state: in and out, all zero for a new task. Returns the number of
 * transitions (bits in entered and left together, ≥ 0) and writes *ret; or -EINVAL, writing
 * nothing, for a NULL argument, now_usec 0, or a limit that is negative or NaN. Does not log. */
int protect_limits_check(const struct protect_limits *l,
                         const struct protect_task_usage *u,
                         usec_t now_usec,
                         struct protect_limit_state *state,
                         struct protect_limit_events *ret);

/* ---- 2. Protective mode --------------------------------------------------------------------- */

/* The most tasks protect_plan() takes in one call, and the most tasks protection keeps suspended
 * at once: bounds that keep one call short and struct protect_state fixed in size. A machine with
 * more than 256 tasks frozen by protection has a problem suspending more will not solve. */
#define PROTECT_TASKS_MAX     4096U
#define PROTECT_SUSPENDED_MAX 256U

#define PROTECT_REASON_MAX 192

struct protect_config {
    enum protect_level level;
    /* The machine is critical when any criterion in use is at or above its critical threshold, and
     * calm when every criterion in use (and known) is under its low threshold, at least one being
     * known. A critical threshold of 0 leaves the criterion out. For a criterion in use,
     * 0 < low ≤ critical ≤ 100. */
    double psi_critical_pct; /* PSI memory "some" avg10 (Documentation/accounting/psi.rst) */
    double psi_low_pct;
    double mem_used_critical_pct; /* memory used: (MemTotal - MemAvailable) / MemTotal */
    double mem_used_low_pct;
    usec_t action_interval_usec; /* at least this between two actions (suspend or resume), so
                                  * the effect of one shows in the figures before the next */
    usec_t resume_hold_usec;     /* calm this long before the first resume; any reading at or
                                  * above a low threshold restarts it */
};

#define PROTECT_ACTION_INTERVAL_DEFAULT_USEC (10 * USEC_PER_SEC)
#define PROTECT_RESUME_HOLD_DEFAULT_USEC     (60 * USEC_PER_SEC)

/* The "balanced" profile's thresholds with level protective: PSI 40% critical, 10% low; memory
 * used 95% critical, 85% low; 10 s between actions, 60 s hold-down. */
void protect_config_default(struct protect_config *ret);

enum protect_task_state {
    PROTECT_TASK_RUNNING,
    PROTECT_TASK_SUSPENDED_BY_USER,       /* never touched by protection */
    PROTECT_TASK_SUSPENDED_BY_PROTECTION, /* suspended on protect_plan()'s word */
    _PROTECT_TASK_STATE_MAX,
    _PROTECT_TASK_STATE_INVALID = -22,
};

/* "running", "suspended-by-user", "suspended-by-protection"; NULL for anything else. */
const char *protect_task_state_to_string(enum protect_task_state s);

struct protect_task {
    uint64_t id;                  /* unique; with repeats, the first one listed counts */
    enum sched_priority priority; /* P0 is never suspended */
    usec_t started_usec;
    enum protect_task_state state;
    int checkpoint_signal; /* > 0: send this signal first, and suspend only after the
                            * grace; 0: suspend at once */
    usec_t checkpoint_grace_usec;
};

struct protect_input {
    bool has_psi;              /* the PSI figure is known (the kernel has PSI) */
    double psi_some_avg10_pct; /* memory "some" avg10, 0..100 */
    bool has_mem_used;
    double mem_used_pct;              /* 0..100 */
    const struct protect_task *tasks; /* borrowed; any order */
    size_t n_tasks;
};

/* What protect_plan() keeps between calls. The caller owns it, zeroes it once
 * (PROTECT_STATE_INIT) and passes it back unchanged; it holds no pointers, so it can be copied. */
struct protect_suspended {
    uint64_t id;
    usec_t suspended_usec;
};

struct protect_state {
    usec_t last_action_usec; /* the last suspend or resume; 0: never */
    usec_t calm_since_usec;  /* since when the machine has been calm; 0: not calm */
    bool checkpoint_pending; /* a checkpoint was asked for; its suspend is due after grace */
    uint64_t checkpoint_id;
    usec_t checkpoint_usec; /* when the checkpoint action was given */
    usec_t checkpoint_grace_usec;
    unsigned n_suspended; /* tasks protection suspended, oldest first */
    struct protect_suspended suspended[PROTECT_SUSPENDED_MAX];
};

#define PROTECT_STATE_INIT ((struct protect_state){ 0 })

enum protect_pressure {
    PROTECT_PRESSURE_UNKNOWN,  /* no criterion in use is known */
    PROTECT_PRESSURE_CALM,     /* every criterion known is under its low threshold */
    PROTECT_PRESSURE_ELEVATED, /* between low and critical */
    PROTECT_PRESSURE_CRITICAL, /* a criterion is at or above its critical threshold */
    _PROTECT_PRESSURE_MAX,
    _PROTECT_PRESSURE_INVALID = -22,
};

/* "unknown", "calm", "elevated", "critical"; NULL for anything else. */
const char *protect_pressure_to_string(enum protect_pressure p);

enum protect_action_kind {
    PROTECT_ACTION_NONE,
    PROTECT_ACTION_CHECKPOINT, /* send signal to the task; its suspend follows after grace */
    PROTECT_ACTION_SUSPEND,
    PROTECT_ACTION_RESUME,
    _PROTECT_ACTION_MAX,
    _PROTECT_ACTION_INVALID = -22,
};

/* "none", "checkpoint", "suspend", "resume"; NULL for anything else. */
const char *protect_action_kind_to_string(enum protect_action_kind k);

struct protect_action {
    enum protect_action_kind kind;
    uint64_t task_id;  /* the task acted on; 0 with PROTECT_ACTION_NONE */
    size_t task_index; /* its index in in->tasks; SIZE_MAX with PROTECT_ACTION_NONE */
    int signal;        /* PROTECT_ACTION_CHECKPOINT: the signal to send; else 0 */
    usec_t grace_usec; /* PROTECT_ACTION_CHECKPOINT: the grace before the suspend */
    enum protect_pressure pressure;
    char reason[PROTECT_REASON_MAX]; /* always set, e.g. "memory pressure 62.0% ≥ 40%" */
};

/* Plans one protective step (at most one action per call):
 *
 * 1. Bookkeeping. The state forgets a task it suspended that is no longer among in->tasks (it
 *    ended) or no longer SUSPENDED_BY_PROTECTION (the user resumed or took it over), and a pending
 *    checkpoint whose task ended, is no longer running or is P0 now. The calm clock starts
 *    at the first calm reading and is cleared by any reading that is not calm.
 * 2. Level below protective: no suspend, no checkpoint; a pending checkpoint is dropped, and the
 *    tasks protection had suspended are resumed, one per action interval, without waiting for
 *    calm: whoever turned protection off has taken the machine back.
 * 3. A pending checkpoint: until its grace has passed, nothing else happens (none). Then, unless
 *    the machine is calm by now, SUSPEND that task (the pending checkpoint is cleared either way).
 * 4. Critical: once the action interval since the last action has passed, pick among RUNNING
 *    tasks of priority P1 or P2 the one with the highest priority number (P2 first), and among
 *    equals the one started last (old work keeps going), then the highest id. If it asks for a
 *    checkpoint: CHECKPOINT (and the state remembers it), else SUSPEND. P0 tasks and tasks the user
 *    suspended are never picked; at PROTECT_SUSPENDED_MAX suspended tasks no more are.
 * 5. Calm for resume_hold_usec, and the action interval passed: RESUME the SUSPENDED_BY_PROTECTION
 *    task of the lowest priority number (P0 first), then the one suspended earliest, then the
 *    lowest id. A task protection does not remember (the state was lost) counts as suspended at 0.
 * 6. Otherwise (elevated, unknown, or waiting): none.
 *
 * c: NULL for protect_config_default(). in, state: borrowed; state is updated as though the
 * caller applies the action (a suspended task is remembered, the action time is recorded), so the
 * caller should apply it and pass the task's new state next time. Returns 1 when *ret holds an
 * action to apply, 0 for PROTECT_ACTION_NONE (*ret still says why); -EINVAL, writing nothing at
 * all, for a NULL in/state/ret, now_usec 0, tasks NULL with n_tasks > 0, n_tasks above
 * PROTECT_TASKS_MAX, a task with a priority or state out of range or a negative checkpoint signal,
 * a figure that is known but NaN or outside 0..100, or an invalid config (thresholds out of
 * range, low above critical, level out of range). O(n_tasks × PROTECT_SUSPENDED_MAX); does not
 * log. */
int protect_plan(const struct protect_config *c,
                 const struct protect_input *in,
                 usec_t now_usec,
                 struct protect_state *state,
                 struct protect_action *ret);

/* ---- Profiles ------------------------------------------------------------------------------- */

/* A preset for the configuration: the protective policy and the per-task defaults that go with
 * it. */
struct protect_profile {
    struct protect_config config;
    usec_t stall_usec;        /* a task with no output and no CPU time for this long is
                               * reported stalled; 0: never */
    double task_mem_soft_pct; /* default per-task soft memory limit, percent of RAM; 0: none */
    double task_mem_hard_pct; /* default per-task hard memory limit, percent of RAM; 0: none */
};

/* Fills *ret with the preset named "minimal", "balanced" or "conservative" (see protect.c for the
 * values and why). Returns 0, or -EINVAL for NULL or any other name. Does not log. */
int protect_profile(const char *name, struct protect_profile *ret);
