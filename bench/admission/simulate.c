/* SPDX-License-Identifier: MIT */
#include "simulate.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"
#include "model/admit.h"

static const char *const policy_names[_SIM_POLICY_MAX] = {
    [SIM_POLICY_STATIC] = "static",
    [SIM_POLICY_PREDICTIVE] = "predictive",
    [SIM_POLICY_RESERVE] = "predictive+reservations",
    [SIM_POLICY_ORACLE] = "oracle",
};

const char *sim_policy_to_string(enum sim_policy p)
{
    if (p < 0 || p >= _SIM_POLICY_MAX)
        return NULL;
    return policy_names[p];
}

enum sim_policy sim_policy_from_string(const char *s)
{
    if (!s)
        return _SIM_POLICY_INVALID;
    for (int i = 0; i < _SIM_POLICY_MAX; i++)
        if (strcmp(s, policy_names[i]) == 0)
            return (enum sim_policy) i;
    if (strcmp(s, "reserve") == 0)
        return SIM_POLICY_RESERVE;
    return _SIM_POLICY_INVALID;
}

void sim_machine_default(struct sim_machine *ret)
{
    *ret = (struct sim_machine) {
        .mem_total_bytes = UINT64_C(64) << 30,
        .n_cpus = 16,
        .background_mem_pct = 10.0,
        .background_cpu_pct = 5.0,
        .thresholds = {
            .cpu_max_pct = 80.0,
            .memory_max_pct = 85.0,
            .memory_max_pressure_pct = 0.0,
            .gpu_max_pct = 90.0,
            .vram_max_pct = 90.0,
            .storage_min_free_bytes = 0,
        },
        .ramp_fraction = 0.20,
        .plateau_dip = 0.05,
        .plateau_period_s = 120.0,
        .cpu_delay_s = 3.0,
    };
}

void sim_variant_default(struct sim_variant *ret)
{
    /* headroom's admission.cold_reserve_memory_percent. */
    *ret = (struct sim_variant){ .cold_fallback_mem_pct = 10.0 };
}

void sim_machine_limits(const struct sim_machine *m, struct trace_limits *ret)
{
    *ret = (struct trace_limits){
        .peak_mem_pct_max = m->thresholds.memory_max_pct - m->background_mem_pct,
        .cpu_pct_max = m->thresholds.cpu_max_pct - m->background_cpu_pct,
    };
}

/* A run in progress. */
struct running {
    size_t task;
    uint64_t start;
    uint64_t duration; /* whole ticks */
    double ramp_s;
    struct decide_need reserve; /* the lease as admitted (predictive+reservations) */
    struct decide_need margin;  /* the part of it admission pooled */
    bool mem_modelled;          /* memory need came from a model with enough observations */
    double mem_pct, cpu_pct;    /* current real use */
    double reached_mem_pct;     /* the most seen, as a lease follows it */
    double reached_cpu_pct;
    uint64_t mem_rose_at; /* the last tick reached_mem_pct grew */
    bool released;        /* exploration: the lease was dropped early */
};

struct sim {
    const struct trace *t;
    const struct sim_machine *m;
    enum sim_policy policy;
    struct sim_variant v;
    FILE *events;

    struct task_model *models; /* one per type */
    uint64_t epoch;            /* bumped by every observation: cached plans go stale */

    struct admit_plan *plans; /* per task, valid when plan_epoch[i] == epoch + 1 */
    uint64_t *plan_epoch;
    uint64_t *started_at; /* per task: the start of its latest run */
    bool *done;

    size_t *queue; /* task indexes, ascending (= arrival order) */
    size_t n_queue;
    struct running *run; /* in start order: the last is the most recent */
    size_t n_run;

    struct sim_result res;
};

static double mem_at(const struct sim_machine *m,
                     const struct trace_task *k,
                     const struct running *r,
                     uint64_t age)
{
    double a = (double) age;

    if (a < r->ramp_s)
        return k->peak_mem_pct * a / r->ramp_s;
    /* Starts the plateau at the peak, so every run really reaches it. */
    double phase = 2.0 * M_PI * (a - r->ramp_s) / m->plateau_period_s;
    return k->peak_mem_pct * (1.0 - m->plateau_dip * 0.5 * (1.0 - cos(phase)));
}

static double cpu_at(const struct sim_machine *m, const struct trace_task *k, uint64_t age)
{
    return (double) age >= m->cpu_delay_s ? k->cpu_pct : 0.0;
}

/* The lease held for a resource the type has too few observations of: the type's own largest
 * peak if it has any, else the largest over all types, else the cold reserve (headroom's
 * admit_fallback()). */
static double fallback_of(const struct sim *s, unsigned type, enum learn_resource r)
{
    const struct predictor *own = &s->models[type].p[r];
    double v = 0;
    bool any = false;

    if (own->n > 0 && !s->v.fallback_global)
        return predictor_peak_max(own);
    for (unsigned i = 0; i < s->t->n_types; i++) {
        v = MAX(v, predictor_peak_max(&s->models[i].p[r]));
        any = any || s->models[i].p[r].n > 0;
    }
    if (!any)
        return r == LEARN_MEMORY ? s->v.cold_fallback_mem_pct : s->v.cold_fallback_cpu_pct;
    return v;
}

static int plan_of(struct sim *s, size_t i, const struct admit_plan **ret)
{
    const struct trace_task *k = &s->t->tasks[i];

    if (s->plan_epoch[i] != s->epoch + 1) {
        struct admit_request req = {
            .model = &s->models[k->type],
            .named = true,
            .complexity = k->complexity,
        };
        if (s->policy == SIM_POLICY_RESERVE) {
            req.fallback.cpu_pct = fallback_of(s, k->type, LEARN_CPU);
            req.fallback.mem_pct = fallback_of(s, k->type, LEARN_MEMORY);
        }
        int r = admit_plan(&req, &s->plans[i]);
        if (r < 0)
            return r;
        s->plan_epoch[i] = s->epoch + 1;
    }
    *ret = &s->plans[i];
    return 0;
}

static void queue_insert(struct sim *s, size_t task)
{
    size_t lo = 0, hi = s->n_queue;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->queue[mid] < task)
            lo = mid + 1;
        else
            hi = mid;
    }
    memmove(&s->queue[lo + 1], &s->queue[lo], (s->n_queue - lo) * sizeof(s->queue[0]));
    s->queue[lo] = task;
    s->n_queue++;
}

static int learn(struct sim *s, size_t i)
{
    const struct trace_task *k = &s->t->tasks[i];
    double values[_LEARN_RESOURCE_MAX] = { [LEARN_CPU] = k->cpu_pct,
                                           [LEARN_MEMORY] = k->peak_mem_pct,
                                           [LEARN_GPU] = NAN,
                                           [LEARN_VRAM] = NAN };

    if (s->policy != SIM_POLICY_PREDICTIVE && s->policy != SIM_POLICY_RESERVE)
        return 0;
    int r = task_model_observe(&s->models[k->type], k->complexity, values, 1.0);
    if (r < 0)
        return r;
    s->epoch++;
    return 0;
}

static void log_kill(struct sim *s, uint64_t now, double mem_pct, const struct running *victim)
{
    const struct trace_task *k = &s->t->tasks[victim->task];
    unsigned unmodelled = 0;
    double beyond = 0;

    if (!s->events)
        return;
    for (size_t j = 0; j < s->n_run; j++) {
        unmodelled += !s->run[j].mem_modelled;
        beyond += MAX(s->run[j].mem_pct - s->run[j].reserve.mem_pct, 0);
    }
    (void) fprintf(s->events,
                   "t=%llu policy=%s mem_pct=%.2f running=%zu killed=%zu type=%s complexity=%g "
                   "peak_pct=%.2f lease_pct=%.2f modelled=%d unmodelled_running=%u "
                   "use_beyond_leases_pct=%.2f\n",
                   (unsigned long long) now, policy_names[s->policy], mem_pct, s->n_run,
                   victim->task, s->t->type_names[k->type], k->complexity, k->peak_mem_pct,
                   victim->reserve.mem_pct, victim->mem_modelled, unmodelled, beyond);
}

static void count_denied(struct sim *s, const struct decision *d)
{
    for (unsigned i = 0; i < d->n_reasons; i++) {
        if (d->reasons[i] == RESOURCE_MEMORY)
            s->res.denied_memory++;
        else if (d->reasons[i] == RESOURCE_CPU)
            s->res.denied_cpu++;
    }
}

static void count_lease(struct sim *s, const struct admit_plan *plan, const struct trace_task *k)
{
    const struct prediction *p = &plan->explain.prediction[LEARN_MEMORY];
    double lease = plan->need.mem_pct;

    s->res.predicted_runs++;
    s->res.lease_over_peak_mean += lease / k->peak_mem_pct;
    s->res.lease_short_share += k->peak_mem_pct > lease;
    /* The floor binds when the upper bound is the bucket's peak (times the margin factor). */
    s->res.floor_share +=
            p->has_peak &&
            !(lease > p->peak * s->models[k->type].p[LEARN_MEMORY].params.margin_factor);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;

    return (x > y) - (x < y);
}

static int finish(struct sim *s, uint64_t makespan)
{
    _cleanup_free_ double *waits = NULL;
    size_t n = 0;
    double sum = 0;

    s->res.makespan_s = makespan;
    s->res.mem_util_pct = makespan > 0 ? s->res.mem_util_pct / (double) makespan : 0;
    s->res.tasks_unfinished = s->t->n_tasks - s->res.tasks_done;
    if (s->res.predicted_runs > 0) {
        s->res.lease_over_peak_mean /= (double) s->res.predicted_runs;
        s->res.lease_short_share /= (double) s->res.predicted_runs;
        s->res.floor_share /= (double) s->res.predicted_runs;
    }
    if (s->res.predicted_cpu_runs > 0)
        s->res.cpu_lease_over_true_mean /= (double) s->res.predicted_cpu_runs;

    waits = calloc(MAX(s->t->n_tasks, (size_t) 1), sizeof(*waits));
    if (!waits)
        return -ENOMEM;
    for (size_t i = 0; i < s->t->n_tasks; i++)
        if (s->done[i]) {
            waits[n] = (double) s->started_at[i] - s->t->tasks[i].arrival_s;
            sum += waits[n++];
        }
    if (n > 0) {
        qsort(waits, n, sizeof(*waits), cmp_double);
        size_t rank = (size_t) ceil(0.95 * (double) n - 1e-9);
        s->res.wait_mean_s = sum / (double) n;
        s->res.wait_p95_s = waits[CLAMP(rank, (size_t) 1, n) - 1];
    }
    return 0;
}

static void sim_free(struct sim *s)
{
    free(s->models);
    free(s->plans);
    free(s->plan_epoch);
    free(s->started_at);
    free(s->done);
    free(s->queue);
    free(s->run);
}

static int simulate(struct sim *s, const struct predict_params *params)
{
    const struct trace *t = s->t;
    const struct sim_machine *m = s->m;
    const struct decide_need no_need = { 0 };
    size_t n = t->n_tasks, next_arrival = 0;
    double total_duration = 0;
    int r;

    for (unsigned i = 0; i < t->n_types; i++) {
        r = task_model_init(&s->models[i], PREDICT_MODEL_EWLS, params);
        if (r < 0)
            return r;
    }
    for (size_t i = 0; i < n; i++)
        total_duration += ceil(t->tasks[i].duration_s);
    /* A bound no sane run comes near: every task run back to back twenty times after the last
     * arrival. It only stops a policy that would loop for ever. */
    double tick_limit = ceil(t->tasks[n - 1].arrival_s) + 20.0 * total_duration + 100000.0;

    for (uint64_t now = 0;; now++) {
        /* 1. Arrivals. */
        while (next_arrival < n && ceil(t->tasks[next_arrival].arrival_s) <= (double) now)
            s->queue[s->n_queue++] = next_arrival++;

        /* 2. Completions, in start order. */
        size_t w = 0;
        for (size_t j = 0; j < s->n_run; j++) {
            struct running *x = &s->run[j];
            if (now - x->start >= x->duration) {
                s->done[x->task] = true;
                s->res.tasks_done++;
                r = learn(s, x->task);
                if (r < 0)
                    return r;
                continue;
            }
            s->run[w++] = *x;
        }
        s->n_run = w;

        /* 3. Real use. */
        double mem = m->background_mem_pct, cpu = m->background_cpu_pct;
        for (size_t j = 0; j < s->n_run; j++) {
            struct running *x = &s->run[j];
            const struct trace_task *k = &t->tasks[x->task];
            x->mem_pct = mem_at(m, k, x, now - x->start);
            x->cpu_pct = cpu_at(m, k, now - x->start);
            if (x->mem_pct > x->reached_mem_pct) {
                x->reached_mem_pct = x->mem_pct;
                x->mem_rose_at = now;
            }
            x->reached_cpu_pct = MAX(x->reached_cpu_pct, x->cpu_pct);
            mem += x->mem_pct;
            cpu += x->cpu_pct;
        }
        s->res.mem_max_pct = MAX(s->res.mem_max_pct, mem);

        /* 4. OOM-equivalents: the most recent run goes first, as the newest allocation is the
         * likeliest victim and the one that has lost the least work. */
        while (mem > 100.0 && s->n_run > 0) {
            struct running *x = &s->run[s->n_run - 1];
            log_kill(s, now, mem, x);
            s->res.oom_kills++;
            for (size_t j = 0; j < s->n_run; j++)
                if (!s->run[j].mem_modelled) {
                    s->res.oom_kills_unmodelled++;
                    break;
                }
            mem -= x->mem_pct;
            cpu -= x->cpu_pct;
            queue_insert(s, x->task);
            s->n_run--;
        }

        if (s->res.tasks_done == n || (double) now >= tick_limit)
            return finish(s, now);
        s->res.mem_util_pct += mem;

        /* 5. Admission. */
        struct decide_input view = {
            .cpu_pct = cpu,
            .mem_used_pct = mem,
            .mem_total_bytes = m->mem_total_bytes,
            .mem_available_bytes =
                    (uint64_t) ((double) m->mem_total_bytes * MAX(100.0 - mem, 0) / 100.0),
        };
        double oracle_mem = m->background_mem_pct, oracle_cpu = m->background_cpu_pct;
        struct admit_pool pool = { 0 };
        for (size_t j = 0; j < s->n_run; j++) {
            const struct running *x = &s->run[j];
            if (s->policy == SIM_POLICY_RESERVE && !x->released) {
                /* As a lease follows its task: the most it has been seen to use. */
                double reached[_LEARN_RESOURCE_MAX] = { [LEARN_CPU] = x->reached_cpu_pct,
                                                        [LEARN_MEMORY] = x->reached_mem_pct,
                                                        [LEARN_GPU] = NAN,
                                                        [LEARN_VRAM] = NAN };
                struct decide_need left;
                reservation_remaining(&x->reserve, reached, m->mem_total_bytes, 0, &left);
                admit_pool_add(&pool, &left, &x->margin);
            }
            if (s->v.release_plateau_s > 0 && x->reached_mem_pct > 0 &&
                (double) (now - x->mem_rose_at) >= s->v.release_plateau_s)
                s->run[j].released = true;
            oracle_mem += t->tasks[x->task].peak_mem_pct;
            oracle_cpu += t->tasks[x->task].cpu_pct;
        }
        /* As the daemon's lease_table_sum(): the leases' margins pooled. */
        if (s->policy == SIM_POLICY_RESERVE)
            admit_pool_held(&pool, &view.reserved);

        size_t kept = 0, started = 0;
        for (size_t q = 0; q < s->n_queue; q++) {
            size_t i = s->queue[q];
            const struct trace_task *k = &t->tasks[i];
            const struct admit_plan *plan = NULL;
            struct decision d;
            bool admit;

            switch (s->policy) {
            case SIM_POLICY_STATIC:
                decide(&view, &m->thresholds, &no_need, &d);
                admit = d.allowed;
                count_denied(s, &d);
                break;
            case SIM_POLICY_PREDICTIVE:
                r = plan_of(s, i, &plan);
                if (r < 0)
                    return r;
                decide(&view, &m->thresholds, &plan->need, &d);
                admit = d.allowed;
                count_denied(s, &d);
                break;
            case SIM_POLICY_RESERVE: {
                struct decide_need need;
                r = plan_of(s, i, &plan);
                if (r < 0)
                    return r;
                admit_pool_need(&pool, plan, &need);
                decide(&view, &m->thresholds, &need, &d);
                admit = d.allowed;
                count_denied(s, &d);
                break;
            }
            case SIM_POLICY_ORACLE:
                admit = oracle_mem + k->peak_mem_pct <= m->thresholds.memory_max_pct &&
                        oracle_cpu + k->cpu_pct <= m->thresholds.cpu_max_pct;
                break;
            default:
                return -EINVAL;
            }
            if (!admit) {
                s->queue[kept++] = i;
                continue;
            }

            struct running x = {
                .task = i,
                .start = now,
                .duration = (uint64_t) ceil(k->duration_s),
                .mem_modelled = s->policy == SIM_POLICY_ORACLE,
            };
            x.ramp_s = MAX(1.0, m->ramp_fraction * (double) x.duration);
            if (plan) {
                x.mem_modelled = plan->explain.source[LEARN_MEMORY] == NEED_PREDICTED;
                if (x.mem_modelled)
                    count_lease(s, plan, k);
                if (plan->explain.source[LEARN_CPU] == NEED_PREDICTED && k->cpu_pct > 0) {
                    s->res.predicted_cpu_runs++;
                    s->res.cpu_lease_over_true_mean += plan->need.cpu_pct / k->cpu_pct;
                }
                if (s->policy == SIM_POLICY_RESERVE) {
                    x.reserve = plan->reserve;
                    x.margin = plan->margin;
                    admit_pool_add(&pool, &plan->reserve, &plan->margin);
                    admit_pool_held(&pool, &view.reserved);
                }
            }
            oracle_mem += k->peak_mem_pct;
            oracle_cpu += k->cpu_pct;
            s->run[s->n_run++] = x;
            s->started_at[i] = now;
            s->res.starts++;
            started++;
        }
        s->n_queue = kept;

        if (s->n_run == 0 && next_arrival == n && s->n_queue > 0 && started == 0)
            return finish(s, now);
    }
}

int sim_run(const struct trace *t,
            enum sim_policy p,
            const struct sim_machine *m,
            const struct predict_params *params,
            const struct sim_variant *variant,
            FILE *events,
            struct sim_result *ret)
{
    struct sim s = { .t = t, .m = m, .policy = p, .events = events };
    size_t n = t->n_tasks;
    int r;

    if (variant)
        s.v = *variant;
    else
        sim_variant_default(&s.v);

    if (p < 0 || p >= _SIM_POLICY_MAX || n == 0 || t->n_types == 0)
        return -EINVAL;

    s.models = calloc(t->n_types, sizeof(*s.models));
    s.plans = calloc(n, sizeof(*s.plans));
    s.plan_epoch = calloc(n, sizeof(*s.plan_epoch));
    s.started_at = calloc(n, sizeof(*s.started_at));
    s.done = calloc(n, sizeof(*s.done));
    s.queue = calloc(n, sizeof(*s.queue));
    s.run = calloc(n, sizeof(*s.run));
    if (!s.models || !s.plans || !s.plan_epoch || !s.started_at || !s.done || !s.queue || !s.run) {
        sim_free(&s);
        return -ENOMEM;
    }

    r = simulate(&s, params);
    if (r >= 0)
        *ret = s.res;
    sim_free(&s);
    return r < 0 ? r : 0;
}
