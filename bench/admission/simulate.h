/* SPDX-License-Identifier: MIT */
#pragma once

/* Replays a trace on a simulated machine, one-second ticks, under one admission policy. The
 * decisions are made by headroom's own code (src/model: admit_plan, decide,
 * reservation_remaining, task_model_observe, predictor_peak_max); only the machine is simulated.
 *
 * Each tick, in this order:
 *   1. tasks whose arrival time has come join the queue (arrival order);
 *   2. running tasks that have run their duration end; the predictive policies learn their true
 *      peak memory and mean CPU (weight 1), as `headroom run` would measure them;
 *   3. the machine's real use is background plus every running task's current use: memory ramps
 *      linearly from 0 to the task's peak over its first ramp_fraction of its duration, then stays
 *      between (1 − plateau_dip) × peak and the peak; CPU shows cpu_delay_s after the start;
 *   4. while real memory is above 100 % of RAM (the OOM-equivalent), the most recently started
 *      task is killed and goes back to the queue at its arrival position: one kill each;
 *   5. the policy scans the queue in arrival order and starts every task it admits; the view is
 *      updated after each start (a lease is held at once; the task's real use shows only later).
 *      A lease then follows its task as the daemon's does: it holds its reserve less the most the
 *      task has been seen to use (reservation_remaining()), until the task ends, and the leases'
 *      margins are pooled (struct admit_pool).
 *
 * The run ends when every task has completed, or when no task runs, none is to arrive and the
 * policy admits none of those queued (they would wait forever: counted as unfinished). */

#include <stdint.h>
#include <stdio.h>

#include "model/decide.h"
#include "model/predict.h"
#include "trace.h"

enum sim_policy {
    SIM_POLICY_STATIC,     /* capfox: current use against thresholds, nothing else */
    SIM_POLICY_PREDICTIVE, /* + the learnt need of the task, no leases */
    SIM_POLICY_RESERVE,    /* + leases held by running tasks, shrinking as their use shows */
    SIM_POLICY_ORACLE,     /* knows every true peak: Σ peaks within the thresholds */
    _SIM_POLICY_MAX,
    _SIM_POLICY_INVALID = -EINVAL,
};

/* "static", "predictive", "predictive+reservations", "oracle"; NULL for anything else. */
const char *sim_policy_to_string(enum sim_policy p);
/* The inverse; also "reserve" for predictive+reservations. _SIM_POLICY_INVALID otherwise. */
enum sim_policy sim_policy_from_string(const char *s);

struct sim_machine {
    uint64_t mem_total_bytes;
    unsigned n_cpus; /* informative: CPU is in percent of all CPUs */
    double background_mem_pct;
    double background_cpu_pct;
    struct decide_thresholds thresholds;
    double ramp_fraction; /* share of a run before its memory reaches the peak */
    double plateau_dip;   /* after the ramp, use swings between the peak and this much below */
    double plateau_period_s;
    double cpu_delay_s; /* CPU use shows this long after the start */
};

/* Exploration only: departures from headroom's behaviour, to measure what a change would do. The
 * table of record uses none (sim_variant_default()). */
struct sim_variant {
    double cold_fallback_mem_pct; /* lease for a type with too few observations when no type
                                   * has any yet (headroom: 10) */
    double cold_fallback_cpu_pct;
    bool fallback_global;     /* the fallback is the largest peak over all types, even
                               * for a type with observations (headroom: its own) */
    double release_plateau_s; /* > 0: a lease is dropped once the task's memory has not
                               * risen for this long (headroom: 0, held until the task
                               * ends) */
};

void sim_variant_default(struct sim_variant *ret);

/* 64 GiB, 16 CPUs, background 10 % memory and 5 % CPU, headroom's default thresholds (CPU 80 %,
 * memory 85 %) with memory pressure off, ramp 20 %, dip 5 % over 120 s, CPU after 3 s. */
void sim_machine_default(struct sim_machine *ret);

/* What a task may never exceed on this machine to be admitted at all (thresholds − background). */
void sim_machine_limits(const struct sim_machine *m, struct trace_limits *ret);

struct sim_result {
    uint64_t oom_kills;            /* OOM-equivalents: one per task killed */
    uint64_t oom_kills_unmodelled; /* of them, with a task running that was admitted without a
                                    * memory model for its type (the learning phase) */
    uint64_t starts;               /* runs started, kills included */
    uint64_t tasks_done;
    uint64_t tasks_unfinished; /* never admitted (see above) */
    uint64_t makespan_s;       /* the tick the last task ended */
    double mem_util_pct;       /* time average of used memory (background included) / RAM */
    double mem_max_pct;        /* the highest real memory seen, before kills */
    double wait_mean_s;        /* arrival to the start of the run that completed */
    double wait_p95_s;         /* nearest rank */

    /* How the memory leases compare with the truth, over runs started with a predicted memory
     * need (predictive policies only). */
    uint64_t predicted_runs;
    double lease_over_peak_mean; /* mean of lease / true peak */
    double lease_short_share;    /* share of runs whose true peak exceeded the lease */
    double floor_share;          /* share whose lease was the bucket's peak floor */
    uint64_t predicted_cpu_runs; /* likewise for CPU, over runs with a learnt CPU need */
    double cpu_lease_over_true_mean;
    /* Denied decisions by reason (a scan asks for every queued task, so these are large). */
    uint64_t denied_memory;
    uint64_t denied_cpu;
};

/* Runs the trace under policy p. params: the models' parameters (NULL: headroom's defaults).
 * variant: NULL for headroom's behaviour. events: where to write one line per OOM-equivalent (NULL:
 * nowhere). Returns 0, -EINVAL for a bad policy, -ENOMEM. *ret is written only on success. Does not
 * log. */
int sim_run(const struct trace *t,
            enum sim_policy p,
            const struct sim_machine *m,
            const struct predict_params *params,
            const struct sim_variant *variant,
            FILE *events,
            struct sim_result *ret);
