/* SPDX-License-Identifier: MIT */
/* headroom-admission-sim: replays workload traces against headroom's admission code on a simulated
 * machine and compares policies. See bench/admission/README.md. */

#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"
#include "basic/parse-util.h"
#include "model/predict.h"
#include "simulate.h"
#include "trace.h"

#define TRACES_MAX _TRACE_SHAPE_MAX

enum format {
    FORMAT_MARKDOWN,
    FORMAT_TSV,
};

static uint64_t arg_seed = 1;
static uint64_t arg_tasks = 1000;
static double arg_load = 1.2;
static bool arg_shapes[_TRACE_SHAPE_MAX] = { true, true, true };
static bool arg_policies[_SIM_POLICY_MAX] = { true, true, true, true };
static const char *arg_trace_in = NULL;
static const char *arg_trace_out = NULL;
static const char *arg_events = NULL;
static enum format arg_format = FORMAT_MARKDOWN;
static struct predict_params arg_params;
static struct sim_machine arg_machine;
static struct sim_variant arg_variant;
static bool arg_diagnostics = false;

static void help(void)
{
    printf("Usage: headroom-admission-sim [OPTIONS]\n"
           "\n"
           "Replays workload traces against headroom's admission code (admit_plan, decide, "
           "leases)\n"
           "on a simulated 64 GiB, 16-CPU machine and prints one row per trace and policy.\n"
           "\n"
           "  --trace SHAPE       steady, bursty, heavy or all (default all); repeatable\n"
           "  --trace-in FILE     replay a CSV trace instead of generating one (\"-\" is stdin)\n"
           "  --trace-out FILE    write the generated trace as CSV (one --trace SHAPE only)\n"
           "  --policy NAME       static, predictive, predictive+reservations (reserve), oracle\n"
           "                      or all (default all); repeatable\n"
           "  --seed N            generator seed (default 1)\n"
           "  --tasks N           tasks per generated trace (default 1000, at most %u)\n"
           "  --load X            offered work / what a perfectly packed machine does (default "
           "1.2)\n"
           "  --format FMT        markdown (default) or tsv\n"
           "  --events FILE       write one line per OOM-equivalent kill\n"
           "  --ramp-fraction X   share of a run before memory reaches its peak (default 0.2)\n"
           "  --diagnostics       also print how the memory leases compared with the truth\n"
           "\n"
           "Exploration (the defaults are headroom's):\n"
           "  --lambda X  --quantile X  --margin X  --shrinkage X  --min-obs N\n"
           "  --cold-fallback PCT    memory lease of an unknown type before any type has run (10)\n"
           "  --fallback-global      unknown types lease the largest peak of all types, not their "
           "own\n"
           "  --release-plateau S    drop a lease once its task's memory has not risen for S "
           "seconds\n",
           TRACE_TASKS_MAX);
}

static int parse_number(const char *opt, const char *s, double lo, double hi, double *ret)
{
    double v;

    if (safe_atod(s, &v) < 0 || v < lo || v > hi) {
        fprintf(stderr, "headroom-admission-sim: %s: '%s' is not a number in [%g, %g]\n", opt, s,
                lo, hi);
        return -EINVAL;
    }
    *ret = v;
    return 0;
}

static int parse_uint(const char *opt, const char *s, uint64_t lo, uint64_t hi, uint64_t *ret)
{
    uint64_t v;

    if (safe_atou64(s, &v) < 0 || v < lo || v > hi) {
        fprintf(stderr, "headroom-admission-sim: %s: '%s' is not an integer in [%llu, %llu]\n", opt,
                s, (unsigned long long) lo, (unsigned long long) hi);
        return -EINVAL;
    }
    *ret = v;
    return 0;
}

static int parse_argv(int argc, char *argv[])
{
    enum {
        ARG_TRACE = 0x100,
        ARG_TRACE_IN,
        ARG_TRACE_OUT,
        ARG_POLICY,
        ARG_SEED,
        ARG_TASKS,
        ARG_LOAD,
        ARG_FORMAT,
        ARG_EVENTS,
        ARG_RAMP,
        ARG_LAMBDA,
        ARG_QUANTILE,
        ARG_MARGIN,
        ARG_SHRINKAGE,
        ARG_MIN_OBS,
        ARG_DIAGNOSTICS,
        ARG_COLD_FALLBACK,
        ARG_FALLBACK_GLOBAL,
        ARG_RELEASE_PLATEAU,
    };
    static const struct option options[] = {
        { "help", no_argument, NULL, 'h' },
        { "trace", required_argument, NULL, ARG_TRACE },
        { "trace-in", required_argument, NULL, ARG_TRACE_IN },
        { "trace-out", required_argument, NULL, ARG_TRACE_OUT },
        { "policy", required_argument, NULL, ARG_POLICY },
        { "seed", required_argument, NULL, ARG_SEED },
        { "tasks", required_argument, NULL, ARG_TASKS },
        { "load", required_argument, NULL, ARG_LOAD },
        { "format", required_argument, NULL, ARG_FORMAT },
        { "events", required_argument, NULL, ARG_EVENTS },
        { "ramp-fraction", required_argument, NULL, ARG_RAMP },
        { "lambda", required_argument, NULL, ARG_LAMBDA },
        { "quantile", required_argument, NULL, ARG_QUANTILE },
        { "margin", required_argument, NULL, ARG_MARGIN },
        { "shrinkage", required_argument, NULL, ARG_SHRINKAGE },
        { "min-obs", required_argument, NULL, ARG_MIN_OBS },
        { "diagnostics", no_argument, NULL, ARG_DIAGNOSTICS },
        { "cold-fallback", required_argument, NULL, ARG_COLD_FALLBACK },
        { "fallback-global", no_argument, NULL, ARG_FALLBACK_GLOBAL },
        { "release-plateau", required_argument, NULL, ARG_RELEASE_PLATEAU },
        {},
    };
    bool shapes_given = false, policies_given = false;
    uint64_t u;
    int c;

    while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
        switch (c) {
        case 'h':
            help();
            return 0;
        case ARG_TRACE:
            if (!shapes_given) {
                memset(arg_shapes, 0, sizeof(arg_shapes));
                shapes_given = true;
            }
            if (strcmp(optarg, "all") == 0) {
                for (int i = 0; i < _TRACE_SHAPE_MAX; i++)
                    arg_shapes[i] = true;
                break;
            }
            {
                enum trace_shape sh = trace_shape_from_string(optarg);
                if (sh < 0) {
                    fprintf(stderr,
                            "headroom-admission-sim: --trace: unknown shape '%s' (steady, bursty, "
                            "heavy, all)\n",
                            optarg);
                    return -EINVAL;
                }
                arg_shapes[sh] = true;
            }
            break;
        case ARG_TRACE_IN:
            arg_trace_in = optarg;
            break;
        case ARG_TRACE_OUT:
            arg_trace_out = optarg;
            break;
        case ARG_POLICY:
            if (!policies_given) {
                memset(arg_policies, 0, sizeof(arg_policies));
                policies_given = true;
            }
            if (strcmp(optarg, "all") == 0) {
                for (int i = 0; i < _SIM_POLICY_MAX; i++)
                    arg_policies[i] = true;
                break;
            }
            {
                enum sim_policy p = sim_policy_from_string(optarg);
                if (p < 0) {
                    fprintf(stderr,
                            "headroom-admission-sim: --policy: unknown policy '%s' (static, "
                            "predictive, predictive+reservations, oracle, all)\n",
                            optarg);
                    return -EINVAL;
                }
                arg_policies[p] = true;
            }
            break;
        case ARG_SEED:
            if (parse_uint("--seed", optarg, 0, UINT64_MAX, &arg_seed) < 0)
                return -EINVAL;
            break;
        case ARG_TASKS:
            if (parse_uint("--tasks", optarg, 1, TRACE_TASKS_MAX, &arg_tasks) < 0)
                return -EINVAL;
            break;
        case ARG_LOAD:
            if (parse_number("--load", optarg, 0.01, 100, &arg_load) < 0)
                return -EINVAL;
            break;
        case ARG_FORMAT:
            if (strcmp(optarg, "markdown") == 0)
                arg_format = FORMAT_MARKDOWN;
            else if (strcmp(optarg, "tsv") == 0)
                arg_format = FORMAT_TSV;
            else {
                fprintf(stderr, "headroom-admission-sim: --format: '%s' is not markdown or tsv\n",
                        optarg);
                return -EINVAL;
            }
            break;
        case ARG_EVENTS:
            arg_events = optarg;
            break;
        case ARG_RAMP:
            if (parse_number("--ramp-fraction", optarg, 0, 1, &arg_machine.ramp_fraction) < 0)
                return -EINVAL;
            break;
        case ARG_LAMBDA:
            if (parse_number("--lambda", optarg, 1e-6, 1, &arg_params.lambda) < 0)
                return -EINVAL;
            break;
        case ARG_QUANTILE:
            if (parse_number("--quantile", optarg, 1e-6, 1, &arg_params.quantile) < 0)
                return -EINVAL;
            break;
        case ARG_MARGIN:
            if (parse_number("--margin", optarg, 1, 100, &arg_params.margin_factor) < 0)
                return -EINVAL;
            break;
        case ARG_SHRINKAGE:
            if (parse_number("--shrinkage", optarg, 0, 1e6, &arg_params.shrinkage_weight) < 0)
                return -EINVAL;
            break;
        case ARG_MIN_OBS:
            if (parse_uint("--min-obs", optarg, 1, 1000000, &u) < 0)
                return -EINVAL;
            arg_params.min_observations = u;
            break;
        case ARG_DIAGNOSTICS:
            arg_diagnostics = true;
            break;
        case ARG_COLD_FALLBACK:
            if (parse_number("--cold-fallback", optarg, 0, 100,
                             &arg_variant.cold_fallback_mem_pct) < 0)
                return -EINVAL;
            break;
        case ARG_FALLBACK_GLOBAL:
            arg_variant.fallback_global = true;
            break;
        case ARG_RELEASE_PLATEAU:
            if (parse_number("--release-plateau", optarg, 0, 86400,
                             &arg_variant.release_plateau_s) < 0)
                return -EINVAL;
            break;
        case '?':
            return -EINVAL;
        default:
            return -EINVAL;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "headroom-admission-sim: unexpected argument '%s'\n", argv[optind]);
        return -EINVAL;
    }
    if (arg_trace_in && shapes_given) {
        fprintf(stderr, "headroom-admission-sim: --trace-in and --trace exclude each other\n");
        return -EINVAL;
    }
    if (arg_trace_out) {
        unsigned n = 0;
        for (int i = 0; i < _TRACE_SHAPE_MAX; i++)
            n += arg_shapes[i];
        if (arg_trace_in || n != 1) {
            fprintf(stderr,
                    "headroom-admission-sim: --trace-out needs exactly one --trace SHAPE\n");
            return -EINVAL;
        }
    }
    return 1;
}

struct row {
    char trace[TRACE_TYPE_NAME_MAX];
    enum sim_policy policy;
    struct sim_result r;
    double oracle_util_pct; /* the oracle's on the same trace */
};

/* Every row of the run, printed once all traces are done. */
static struct row rows[TRACES_MAX * _SIM_POLICY_MAX];
static size_t n_rows;

static void print_caption(void)
{
    struct predict_params d;
    struct sim_variant v;

    if (arg_format != FORMAT_MARKDOWN)
        return;
    predict_params_default(&d);
    sim_variant_default(&v);
    bool defaults = memcmp(&d, &arg_params, sizeof(d)) == 0;
    if (arg_trace_in)
        printf("Trace %s; ", arg_trace_in);
    else
        printf("Seed %llu, %llu tasks per trace, load %g; ", (unsigned long long) arg_seed,
               (unsigned long long) arg_tasks, arg_load);
    printf("ramp %g of each run; model ewls, lambda %g, quantile %g, margin %g, shrinkage %g, "
           "min observations %llu%s",
           arg_machine.ramp_fraction, arg_params.lambda, arg_params.quantile,
           arg_params.margin_factor, arg_params.shrinkage_weight,
           (unsigned long long) arg_params.min_observations,
           defaults ? " (headroom's defaults)" : "");
    if (memcmp(&v, &arg_variant, sizeof(v)) != 0)
        printf("; EXPLORATION VARIANT: cold fallback %g %%, fallback %s, lease release after %g s "
               "of plateau",
               arg_variant.cold_fallback_mem_pct, arg_variant.fallback_global ? "global" : "own",
               arg_variant.release_plateau_s);
    printf(".\n\n");
}

static void of_oracle(const struct row *w, char *buf, size_t size)
{
    if (!(w->oracle_util_pct > 0))
        (void) snprintf(buf, size, "-");
    else
        (void) snprintf(buf, size, "%.1f", 100.0 * w->r.mem_util_pct / w->oracle_util_pct);
}

static void print_tsv(void)
{
    printf("trace\tpolicy\toom_kills\toom_kills_unmodelled\tmem_util_pct\tutil_of_oracle_pct\tmem_"
           "max_pct\t"
           "wait_mean_s\twait_p95_s\tmakespan_s\ttasks_done\ttasks_unfinished\tstarts\tpredicted_"
           "runs\t"
           "lease_over_peak\tlease_short_pct\tfloor_pct\tcpu_lease_over_true\tdenied_"
           "memory\tdenied_cpu\n");
    for (size_t i = 0; i < n_rows; i++) {
        const struct row *w = &rows[i];
        const struct sim_result *r = &w->r;
        char of[32];

        of_oracle(w, of, sizeof(of));
        printf("%s\t%s\t%llu\t%llu\t%.2f\t%s\t%.2f\t%.1f\t%.1f\t%llu\t%llu\t%llu\t%llu\t%llu\t%."
               "3f\t%.2f\t%.2f\t"
               "%.3f\t%llu\t%llu\n",
               w->trace, sim_policy_to_string(w->policy), (unsigned long long) r->oom_kills,
               (unsigned long long) r->oom_kills_unmodelled, r->mem_util_pct, of, r->mem_max_pct,
               r->wait_mean_s, r->wait_p95_s, (unsigned long long) r->makespan_s,
               (unsigned long long) r->tasks_done, (unsigned long long) r->tasks_unfinished,
               (unsigned long long) r->starts, (unsigned long long) r->predicted_runs,
               r->lease_over_peak_mean, 100.0 * r->lease_short_share, 100.0 * r->floor_share,
               r->cpu_lease_over_true_mean, (unsigned long long) r->denied_memory,
               (unsigned long long) r->denied_cpu);
    }
}

static void print_markdown(void)
{
    print_caption();
    printf("| trace | policy | OOM-equivalents | mean mem util %% | %% of oracle | max mem %% | "
           "mean wait s | p95 wait s | makespan s | tasks run | unfinished |\n");
    printf("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < n_rows; i++) {
        const struct row *w = &rows[i];
        const struct sim_result *r = &w->r;
        char of[32];

        of_oracle(w, of, sizeof(of));
        printf("| %s | %s | %llu | %.1f | %s | %.1f | %.0f | %.0f | %llu | %llu | %llu |\n",
               w->trace, sim_policy_to_string(w->policy), (unsigned long long) r->oom_kills,
               r->mem_util_pct, of, r->mem_max_pct, r->wait_mean_s, r->wait_p95_s,
               (unsigned long long) r->makespan_s, (unsigned long long) r->tasks_done,
               (unsigned long long) r->tasks_unfinished);
    }
    if (!arg_diagnostics)
        return;

    printf("\nMemory leases against the truth (runs started with a learnt memory need), and kills "
           "with a "
           "task running that had none (the learning phase):\n\n");
    printf("| trace | policy | learnt runs | lease / true peak | peak > lease %% | lease = bucket "
           "peak %% | "
           "CPU lease / true CPU | OOM in learning phase | denied: memory | denied: cpu |\n");
    printf("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < n_rows; i++) {
        const struct row *w = &rows[i];
        const struct sim_result *r = &w->r;

        if (w->policy != SIM_POLICY_PREDICTIVE && w->policy != SIM_POLICY_RESERVE)
            continue;
        printf("| %s | %s | %llu | %.3f | %.1f | %.1f | %.3f | %llu | %llu | %llu |\n", w->trace,
               sim_policy_to_string(w->policy), (unsigned long long) r->predicted_runs,
               r->lease_over_peak_mean, 100.0 * r->lease_short_share, 100.0 * r->floor_share,
               r->cpu_lease_over_true_mean, (unsigned long long) r->oom_kills_unmodelled,
               (unsigned long long) r->denied_memory, (unsigned long long) r->denied_cpu);
    }
}

/* Runs every selected policy on one trace, the oracle always (the others are measured against
 * it), and keeps the rows. */
static int run_trace(const char *name, const struct trace *t, FILE *events)
{
    struct row here[_SIM_POLICY_MAX];
    double oracle = NAN;

    for (int p = _SIM_POLICY_MAX - 1; p >= 0; p--) {
        if (!arg_policies[p] && p != SIM_POLICY_ORACLE)
            continue;
        here[p] = (struct row){ .policy = (enum sim_policy) p };
        (void) snprintf(here[p].trace, sizeof(here[p].trace), "%s", name);
        if (events)
            fprintf(events, "# trace=%s policy=%s\n", name,
                    sim_policy_to_string((enum sim_policy) p));
        int r = sim_run(t, (enum sim_policy) p, &arg_machine, &arg_params, &arg_variant, events,
                        &here[p].r);
        if (r < 0) {
            fprintf(stderr, "headroom-admission-sim: simulating %s under %s failed: %s\n", name,
                    sim_policy_to_string((enum sim_policy) p), strerror(-r));
            return r;
        }
        if (p == SIM_POLICY_ORACLE)
            oracle = here[p].r.mem_util_pct;
    }
    for (int p = 0; p < _SIM_POLICY_MAX; p++) {
        if (!arg_policies[p])
            continue;
        assert(n_rows < ELEMENTSOF(rows));
        here[p].oracle_util_pct = oracle;
        rows[n_rows++] = here[p];
    }
    return 0;
}

static int write_trace(const struct trace *t, const char *path)
{
    _cleanup_fclose_ FILE *f = fopen(path, "we");

    if (!f)
        return -errno;
    int r = trace_format(t, f);
    if (r < 0)
        return r;
    if (fclose(TAKE_PTR(f)) != 0)
        return -errno;
    return 0;
}

static int load_trace(const char *path, const struct trace_limits *limits, struct trace *ret)
{
    _cleanup_free_ char *buf = NULL;
    struct trace_error err;
    size_t size;
    int r;

    r = trace_read_file(path, &buf, &size);
    if (r < 0) {
        fprintf(stderr, "headroom-admission-sim: cannot read '%s': %s\n", path,
                r == -EFBIG ? "larger than 16 MiB" : strerror(-r));
        return r;
    }
    r = trace_parse(buf, size, limits, ret, &err);
    if (r == -ENOMEM)
        fprintf(stderr, "headroom-admission-sim: %s: out of memory\n", path);
    else if (r < 0 && err.line > 0)
        fprintf(stderr, "headroom-admission-sim: %s:%u: %s\n", path, err.line, err.message);
    else if (r < 0)
        fprintf(stderr, "headroom-admission-sim: %s: %s\n", path, err.message);
    return r;
}

int main(int argc, char *argv[])
{
    _cleanup_fclose_ FILE *events = NULL;
    struct trace_limits limits;
    int r;

    predict_params_default(&arg_params);
    sim_machine_default(&arg_machine);
    sim_variant_default(&arg_variant);
    r = parse_argv(argc, argv);
    if (r <= 0)
        return r < 0 ? 2 : 0;
    sim_machine_limits(&arg_machine, &limits);

    if (arg_events) {
        events = fopen(arg_events, "we");
        if (!events) {
            fprintf(stderr, "headroom-admission-sim: cannot open '%s': %s\n", arg_events,
                    strerror(errno));
            return 1;
        }
    }

    if (arg_trace_in) {
        struct trace t;

        if (load_trace(arg_trace_in, &limits, &t) < 0)
            return 1;
        r = run_trace(arg_trace_in, &t, events);
        trace_done(&t);
        if (r < 0)
            return 1;
    } else
        for (int sh = 0; sh < _TRACE_SHAPE_MAX; sh++) {
            struct trace t;

            if (!arg_shapes[sh])
                continue;
            r = trace_generate((enum trace_shape) sh, arg_seed, arg_tasks, arg_load, &limits, &t);
            if (r < 0) {
                fprintf(stderr, "headroom-admission-sim: generating the %s trace failed: %s\n",
                        trace_shape_to_string((enum trace_shape) sh), strerror(-r));
                return 1;
            }
            if (arg_trace_out) {
                r = write_trace(&t, arg_trace_out);
                if (r < 0) {
                    fprintf(stderr, "headroom-admission-sim: cannot write '%s': %s\n",
                            arg_trace_out, strerror(-r));
                    trace_done(&t);
                    return 1;
                }
            }
            r = run_trace(trace_shape_to_string((enum trace_shape) sh), &t, events);
            trace_done(&t);
            if (r < 0)
                return 1;
        }

    if (arg_format == FORMAT_TSV)
        print_tsv();
    else
        print_markdown();
    if (fflush(stdout) != 0) {
        fprintf(stderr, "headroom-admission-sim: writing the table failed: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}
