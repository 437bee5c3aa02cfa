/* SPDX-License-Identifier: MIT */
#pragma once

/* Workload traces for the admission simulator: what arrives when, and what each run really costs.
 *
 * A trace is a list of tasks, each with its arrival time, its type, its complexity (the number a
 * client passes with `headroom run --complexity`), and the hidden truth the simulated machine
 * plays out: the peak memory it reaches, the CPU it uses, and how long it runs. The admission
 * policies never see the truth, except the oracle.
 *
 * CSV form (trace_format() writes it, trace_parse() reads it):
 *
 *     arrival_s,type,complexity,true_peak_mem_pct,true_cpu_pct,duration_s
 *     0,compile,7,4.4123,8.1020,312
 *
 * The first non-comment line is the header; columns are found by name, in any order. Lines
 * starting with '#' and empty lines are skipped. Percentages are of the whole machine (memory of
 * RAM, CPU of all CPUs), as headroom measures them. */

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TRACE_TASKS_MAX      100000U
#define TRACE_TYPES_MAX      64U
#define TRACE_TYPE_NAME_MAX  64U   /* including the NUL */
#define TRACE_LINE_MAX       1024U /* including the newline */
#define TRACE_FILE_MAX       (16U * 1024U * 1024U)
#define TRACE_ARRIVAL_MAX_S  31536000.0 /* a year */
#define TRACE_DURATION_MAX_S 604800.0   /* a week */

struct trace_task {
    double arrival_s;    /* ≥ 0 */
    unsigned type;       /* index into trace.type_names */
    double complexity;   /* ≥ 0 */
    double peak_mem_pct; /* the peak the run reaches, percent of RAM, > 0 */
    double cpu_pct;      /* mean CPU while running, percent of all CPUs, ≥ 0 */
    double duration_s;   /* ≥ 1 */
};

struct trace {
    struct trace_task *tasks; /* owned; sorted by arrival, stable */
    size_t n_tasks;
    unsigned n_types;
    char type_names[TRACE_TYPES_MAX][TRACE_TYPE_NAME_MAX];
};

enum trace_shape {
    TRACE_SHAPE_STEADY, /* Poisson arrivals, uniform complexities */
    TRACE_SHAPE_BURSTY, /* groups of 10–30 arrivals within 5 s, mostly of one type, then quiet */
    TRACE_SHAPE_HEAVY, /* Poisson arrivals, Pareto complexities, 3 % of runs 1.5–2.5× their peak */
    _TRACE_SHAPE_MAX,
    _TRACE_SHAPE_INVALID = -EINVAL,
};

/* "steady", "bursty", "heavy"; NULL for anything else. */
const char *trace_shape_to_string(enum trace_shape s);
/* The inverse; _TRACE_SHAPE_INVALID for NULL or an unknown name. */
enum trace_shape trace_shape_from_string(const char *s);

/* What the simulated machine can ever run: a task whose peak memory or CPU is above these could
 * never be admitted even on an empty machine, so a trace holding one is rejected. */
struct trace_limits {
    double peak_mem_pct_max;
    double cpu_pct_max;
};

/* Generates n_tasks (1..TRACE_TASKS_MAX) tasks of the given shape from seed. The arrival rate is
 * set so that the offered work (Σ peak × duration, per resource) is `load` times what the machine
 * could do if it were packed to limits at all times: load > 1 makes the queue build up. Values
 * are rounded to the precision trace_format() writes, so a written trace replays exactly.
 * The same arguments give the same trace on every machine. Returns 0, -EINVAL for a bad argument,
 * -ENOMEM. *ret is written only on success; free it with trace_done(). Does not log. */
int trace_generate(enum trace_shape shape,
                   uint64_t seed,
                   size_t n_tasks,
                   double load,
                   const struct trace_limits *limits,
                   struct trace *ret);

/* Where a parse failed: the 1-based line (0: not tied to a line) and a message. */
struct trace_error {
    unsigned line;
    char message[160];
};

/* Parses a CSV trace (format above) from buf[0..n). Lines longer than TRACE_LINE_MAX, more than
 * TRACE_TASKS_MAX tasks or TRACE_TYPES_MAX types, a missing, duplicate or unknown column, a
 * missing or extra field, and any value out of range (see struct trace_task and limits) are
 * errors. Returns 0, -EBADMSG for malformed input (with *err filled when err is not NULL), -E2BIG
 * for a limit exceeded (likewise), -ENOMEM. *ret is written only on success. Does not log. */
int trace_parse(const char *buf,
                size_t n,
                const struct trace_limits *limits,
                struct trace *ret,
                struct trace_error *err);

/* Reads a whole file of at most TRACE_FILE_MAX bytes ("-" is stdin). The buffer is NUL-terminated
 * and owned by the caller. Returns 0, -EFBIG when larger, or -errno. Does not log. */
int trace_read_file(const char *path, char **ret, size_t *ret_size);

/* Writes the trace as CSV. Returns 0 or -errno (-EIO for a failed write). Does not log. */
int trace_format(const struct trace *t, FILE *f);

/* Frees what the trace owns and empties it; takes an empty trace too. */
void trace_done(struct trace *t);
