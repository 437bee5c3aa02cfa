/* SPDX-License-Identifier: MIT */
#pragma once

/* What a task type has learnt (one predictor per resource), and how admission turns it into the
 * need a decision is made on. Pure, like predict.h and decide.h: the daemon and the admission
 * simulator (bench/admission) call exactly this code.
 *
 * Units: every learnt value is in percentage points of the machine, as capfox measures them: CPU
 * of all CPUs, memory of MemTotal, GPU utilization and VRAM of one GPU.
 *
 * Which need a decision uses, per resource:
 *   1. what the client declared (resources / needs / --mem ...), when it declared that resource;
 *   2. else the model's upper bound, when the type has at least min_observations;
 *   3. else nothing: the decision falls back on thresholds for that resource, and the answer says
 *      insufficient_data.
 * A task without a name has no model: declared needs only, and no insufficient_data. */

#include <stdbool.h>

#include "basic/time-util.h"
#include "model/decide.h"
#include "model/predict.h"

enum learn_resource {
    LEARN_CPU,
    LEARN_MEMORY,
    LEARN_GPU,
    LEARN_VRAM,
    LEARN_DURATION,   /* seconds a supervised run took: not a need, it says when a task will end */
    _LEARN_RESOURCE_MAX,
    _LEARN_RESOURCE_INVALID = -22,
};

/* "cpu", "memory", "gpu", "vram", "duration"; NULL for anything else. */
const char *learn_resource_to_string(enum learn_resource r);
/* The inverse; _LEARN_RESOURCE_INVALID for NULL or an unknown name. */
enum learn_resource learn_resource_from_string(const char *s);

/* One task type's models. Plain data, saved field by field by the store. */
struct task_model {
    struct predictor p[_LEARN_RESOURCE_MAX];
};

/* Starts empty models for every resource. Returns 0 or -EINVAL as predictor_init(). */
int task_model_init(struct task_model *m, enum predict_model model, const struct predict_params *params);

/* Learns one observation: values[r] in percentage points, NaN for a resource not measured (left
 * untouched). weight as predictor_observe_weighted(). Returns 0, or -EINVAL when any measured value
 * or the complexity or weight is invalid, leaving *m exactly as it was. */
int task_model_observe(struct task_model *m, double complexity, const double values[_LEARN_RESOURCE_MAX],
                       double weight);

/* The weight an observation window gets when `overlaps` other tasks started while it was open:
 * 1/(1 + overlaps), so a window shared with three others counts a quarter. */
double observation_weight(unsigned overlaps);

enum need_source {
    NEED_NONE,        /* nothing declared, too little learnt: thresholds alone */
    NEED_DECLARED,
    NEED_PREDICTED,
};

/* "none", "declared", "predicted". */
const char *need_source_to_string(enum need_source s);

struct admit_explain {
    enum need_source source[_LEARN_RESOURCE_MAX];
    bool has_prediction[_LEARN_RESOURCE_MAX];      /* the type had a model for that resource */
    struct prediction prediction[_LEARN_RESOURCE_MAX];
    bool insufficient_data;                        /* a named task fell back on thresholds */
};

struct admit_request {
    const struct task_model *model;   /* NULL: no name, or a type never seen */
    bool named;                       /* the task has a name (so it can have a model) */
    double complexity;
    struct decide_need declared;      /* zero fields: not declared */
    struct decide_need fallback;      /* held for a resource with neither a declaration nor enough
                                       * observations (see below); zero for none */
};

struct admit_plan {
    struct decide_need need;          /* what the decision adds to current use */
    struct decide_need reserve;       /* what a lease of the admitted task holds */
    struct decide_need margin;        /* of reserve, the part above the model's point estimate:
                                       * predicted memory only (mem_pct; CPU is planned on its
                                       * expected value), 0 elsewhere. Leases pool it (struct
                                       * admit_pool). */
    struct admit_explain explain;
};

/* Plans a task of the given complexity from what it declared and what its type has learnt.
 * Memory and VRAM declared in bytes count as declared. A predicted need is the model's upper bound
 * for memory, GPU and VRAM, which a task cannot do with less of, and its expected value for CPU,
 * which is compressible: a task that takes more CPU than expected slows the others and kills
 * nothing. Predicted values go to the percent fields
 * (cpu_pct, mem_pct, gpu_pct, vram_pct); declared ones keep their fields. While observations
 * are few, the ewls upper is shrunk toward the type's own mean, upward only (predict.h): a small
 * complexity whose fitted line says little is raised toward what the type usually takes.
 *
 * need and reserve are the same, except for a resource that falls back on thresholds: the
 * decision adds nothing for it (thresholds alone, insufficient_data), but the lease still holds
 * the fallback, so that a burst of a new type cannot all pass on the same unchanged reading before
 * the first of them shows its use.
 *
 * Returns 0, or -EINVAL for an invalid complexity. *ret is written on success only. */
int admit_plan(const struct admit_request *req, struct admit_plan *ret);

/* What leases hold, with their margins pooled. A lease's reserve is its task's expected use plus a
 * margin that covers that task's own error with probability q. The errors of different tasks are
 * about independent, so the q-quantile of their total is about the root of the summed squared
 * margins, not the sum of the margins: summed, n leases at q would hold for all n running over at
 * once. Pooled: CPU and memory in percent; every other field is summed whole. */
struct admit_pool {
    struct decide_need sum;           /* what the leases hold less their pooled margins */
    double cpu_margin_sq;             /* Σ of the squared margins still held (pp²) */
    double mem_margin_sq;
};

/* Adds a lease that still holds remaining (reservation_remaining()) and was admitted with margin
 * (the plan's; zero: held whole). The margin comes off last: what the task has reached is taken
 * from the expected part first, as its use rises toward its estimate. */
void admit_pool_add(struct admit_pool *p, const struct decide_need *remaining,
                    const struct decide_need *margin);

/* What the pool holds: sum plus the root of each resource's squared margins. */
void admit_pool_held(const struct admit_pool *p, struct decide_need *ret);

/* The need a decision adds for plan on top of what p holds: its expected part plus what its
 * margin adds to the pooled root, √(S + m²) − √S (the whole margin when p holds none). Once the
 * task is admitted, admit_pool_add(p, &plan->reserve, &plan->margin) holds exactly that more. */
void admit_pool_need(const struct admit_pool *p, const struct admit_plan *plan,
                     struct decide_need *ret);

/* The largest value a predictor has seen at full weight, over every complexity bucket; 0 when it
 * has seen none. A cautious stand-in for a type or machine whose model is not ready yet. */
double predictor_peak_max(const struct predictor *p);

/* How long a task of this type and complexity is expected to run: the duration model's point
 * estimate (seconds), once it has min_observations. Returns 0, -ENODATA when the type has too few
 * timed runs (notify-only types never have any), -EINVAL for a bad complexity. */
int admit_expected_duration(const struct task_model *m, double complexity, double *ret_sec);

/* The fallback reserve of a task type whose model is not ready (admission.reserve_unknown): per
 * resource, the largest peak the type itself has shown at full weight, else global_peak[r] (the
 * largest any type has shown), else 0 — and for memory, at least cold_mem_pct when nothing at all
 * has been seen yet (a fresh machine: a burst of the first tasks must not all pass on the same
 * unchanged reading). m may be NULL. */
void admit_fallback(const struct task_model *m, const double global_peak[_LEARN_RESOURCE_MAX],
                    double cold_mem_pct, struct decide_need *ret);

/* What a running task still holds: its reserved need minus what it has been seen to use, never
 * below zero, per percent resource (CPU, memory, GPU, VRAM); byte fields (mem_bytes, vram_bytes,
 * disk_bytes) shrink by reached[] converted with the totals (0 = no conversion: kept whole).
 * reached[] is in percentage points, NaN for not seen. */
void reservation_remaining(const struct decide_need *reserved, const double reached[_LEARN_RESOURCE_MAX],
                           uint64_t mem_total_bytes, uint64_t vram_total_bytes, struct decide_need *ret);

/* Something that will free capacity at a known time: a lease expiring, or a supervised task
 * expected to end (then its own measured use goes too). */
struct admit_release {
    usec_t after_usec;                       /* from now */
    struct decide_need reserved;             /* the part of a lease it gives back */
    double used[_LEARN_RESOURCE_MAX];        /* use it gives back (pp; NaN: none); GPU entries are
                                              * ignored, which GPU is not known here */
};

/* When would a task with this need fit? Replays the releases in time order on a copy of the view
 * and returns in *ret_after_usec the first time at which decide() allows it (0 when it fits now).
 * Reorders ev (sorted by after_usec). Returns 0, or -ENODATA when it does not fit even after every
 * release: what blocks it is load headroom did not admit, and no time can be given. */
int admit_estimate(const struct decide_input *view, const struct decide_thresholds *t,
                   const struct decide_need *need, struct admit_release *ev, size_t n,
                   usec_t *ret_after_usec);
