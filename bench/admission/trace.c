/* SPDX-License-Identifier: MIT */
#include "trace.h"

#include <ctype.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/macro.h"
#include "basic/parse-util.h"
#include "model/predict.h"
#include "rng.h"

static const char *const shape_names[_TRACE_SHAPE_MAX] = {
    [TRACE_SHAPE_STEADY] = "steady",
    [TRACE_SHAPE_BURSTY] = "bursty",
    [TRACE_SHAPE_HEAVY] = "heavy",
};

const char *trace_shape_to_string(enum trace_shape s)
{
    if (s < 0 || s >= _TRACE_SHAPE_MAX)
        return NULL;
    return shape_names[s];
}

enum trace_shape trace_shape_from_string(const char *s)
{
    if (!s)
        return _TRACE_SHAPE_INVALID;
    for (int i = 0; i < _TRACE_SHAPE_MAX; i++)
        if (strcmp(s, shape_names[i]) == 0)
            return (enum trace_shape) i;
    return _TRACE_SHAPE_INVALID;
}

void trace_done(struct trace *t)
{
    free(t->tasks);
    *t = (struct trace){ 0 };
}

/* ---- Generation ------------------------------------------------------------------------------ */

/* The task types of the generated traces and their hidden true costs, in percent of a 64 GiB,
 * 16-CPU machine. The shapes are chosen to cover what a model must cope with: a line with an
 * intercept (compile, etl), a mildly super-linear cost (train), a cost that barely depends on
 * complexity (render), CPU-light and CPU-heavy tasks, and durations of one to fifteen minutes. */
struct type_spec {
    const char *name;
    double weight;               /* share of arrivals */
    double c_min, c_max;         /* complexity, uniform in [c_min, c_max] (steady, bursty) */
    double c_cap_heavy;          /* the largest Pareto complexity (heavy) */
    bool integer;                /* complexity is a count */
    double mem_a, mem_b, mem_k;  /* nominal peak memory % = mem_a + mem_b · c^mem_k */
    double cpu_a, cpu_b;         /* nominal CPU % = cpu_a + cpu_b · c */
    double dur_a_min, dur_b_min; /* nominal duration in minutes = dur_a_min + dur_b_min · c */
};

static const struct type_spec type_specs[] = {
    /* A build: memory and CPU grow with the number of parallel jobs. */
    { "compile", 0.35, 1, 16, 48, true, 1.0, 0.50, 1.0, 2.0, 0.50, 2.0, 0.25 },
    /* An extract-transform-load job: memory grows with the input size (GiB), CPU is light. */
    { "etl", 0.30, 1, 40, 100, false, 2.0, 0.30, 1.0, 3.0, 0.00, 1.5, 0.15 },
    /* Model training: memory grows a little faster than the model size (c^1.3). */
    { "train", 0.15, 1, 8, 12, false, 0.0, 1.20, 1.3, 6.25, 0.50, 5.0, 1.00 },
    /* Rendering frames: a fixed working set, one CPU, time per frame. */
    { "render", 0.20, 1, 120, 400, true, 5.0, 0.01, 1.0, 6.25, 0.01, 1.0, 0.05 },
};

#define COST_SIGMA       0.10 /* lognormal noise on memory and CPU */
#define DURATION_SIGMA   0.20 /* lognormal noise on duration */
#define TAIL_PROBABILITY 0.03 /* heavy trace: share of runs far above their nominal peak */
#define TAIL_FACTOR_MIN  1.5
#define TAIL_FACTOR_MAX  2.5
#define PARETO_ALPHA     1.5
#define BURST_SIZE_MIN   10
#define BURST_SIZE_MAX   30
#define BURST_SPREAD_S   5.0
#define BURST_DOMINANT   0.7 /* share of a burst's tasks of its dominant type */
#define MEM_PCT_MIN      0.01

/* Decimals kept of each generated value, so that a written trace reads back bit for bit. */
static double round_to(double x, int decimals)
{
    double s = pow(10, decimals);
    return round(x * s) / s;
}

static unsigned pick_type(struct rng *r)
{
    double u = rng_uniform(r), acc = 0;

    for (unsigned i = 0; i < ELEMENTSOF(type_specs); i++) {
        acc += type_specs[i].weight;
        if (u < acc)
            return i;
    }
    return (unsigned) ELEMENTSOF(type_specs) - 1;
}

static double pick_complexity(struct rng *r, const struct type_spec *s, bool heavy)
{
    double c;

    if (heavy) {
        /* Pareto with scale c_min: most runs small, a few very large. */
        c = s->c_min * pow(rng_uniform_open0(r), -1.0 / PARETO_ALPHA);
        c = MIN(c, s->c_cap_heavy);
    } else
        c = rng_range(r, s->c_min, s->c_max + (s->integer ? 1 : 0));
    if (s->integer)
        return MIN(floor(c), heavy ? s->c_cap_heavy : s->c_max);
    return round_to(c, 3);
}

static void draw_costs(struct rng *r,
                       const struct type_spec *s,
                       bool heavy,
                       const struct trace_limits *lim,
                       struct trace_task *t)
{
    double c = t->complexity;
    double mem = s->mem_a + s->mem_b * pow(c, s->mem_k);
    double cpu = s->cpu_a + s->cpu_b * c;
    double dur_s = 60.0 * (s->dur_a_min + s->dur_b_min * c);

    mem *= exp(COST_SIGMA * rng_normal(r));
    cpu *= exp(COST_SIGMA * rng_normal(r));
    dur_s *= exp(DURATION_SIGMA * rng_normal(r));
    /* Drawn in every shape so that the other draws do not depend on the shape. */
    double u = rng_uniform(r), f = rng_range(r, TAIL_FACTOR_MIN, TAIL_FACTOR_MAX);
    if (heavy && u < TAIL_PROBABILITY)
        mem *= f;

    t->peak_mem_pct = round_to(CLAMP(mem, MEM_PCT_MIN, lim->peak_mem_pct_max), 4);
    t->cpu_pct = round_to(CLAMP(cpu, 0, lim->cpu_pct_max), 4);
    t->duration_s = MAX(round(dur_s), 1);
}

static int cmp_task_arrival(const void *a, const void *b)
{
    const struct trace_task *x = a, *y = b;

    return (x->arrival_s > y->arrival_s) - (x->arrival_s < y->arrival_s);
}

/* Sorts by arrival, keeping the order of equal arrivals: qsort is not stable, so the original
 * position breaks ties. */
struct seq_task {
    struct trace_task t;
    size_t seq;
};

static int cmp_seq_task(const void *a, const void *b)
{
    const struct seq_task *x = a, *y = b;
    int c = cmp_task_arrival(&x->t, &y->t);

    if (c != 0)
        return c;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static int sort_stable(struct trace_task *tasks, size_t n)
{
    _cleanup_free_ struct seq_task *v = NULL;

    if (n < 2)
        return 0;
    v = calloc(n, sizeof(*v));
    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        v[i] = (struct seq_task){ .t = tasks[i], .seq = i };
    qsort(v, n, sizeof(*v), cmp_seq_task);
    for (size_t i = 0; i < n; i++)
        tasks[i] = v[i].t;
    return 0;
}

int trace_generate(enum trace_shape shape,
                   uint64_t seed,
                   size_t n_tasks,
                   double load,
                   const struct trace_limits *limits,
                   struct trace *ret)
{
    _cleanup_free_ struct trace_task *tasks = NULL;
    _cleanup_free_ size_t *burst_of = NULL;
    struct rng r;
    bool heavy = shape == TRACE_SHAPE_HEAVY;
    size_t n_bursts = 0;

    if (shape < 0 || shape >= _TRACE_SHAPE_MAX || n_tasks == 0 || n_tasks > TRACE_TASKS_MAX ||
        !(load > 0) || !isfinite(load) || !(limits->peak_mem_pct_max > 0) ||
        !(limits->cpu_pct_max > 0))
        return -EINVAL;

    tasks = calloc(n_tasks, sizeof(*tasks));
    burst_of = calloc(n_tasks, sizeof(*burst_of));
    if (!tasks || !burst_of)
        return -ENOMEM;

    /* One stream per shape, so that the three traces of a seed are independent. */
    uint64_t x = seed ^ (UINT64_C(0x5851f42d4c957f2d) * (uint64_t) (shape + 1));
    rng_seed(&r, splitmix64_next(&x));

    /* First what runs, then when it arrives: the arrival rate follows from the total work. */
    unsigned dominant = 0;
    size_t left_in_burst = 0;
    double mem_work = 0, cpu_work = 0;
    for (size_t i = 0; i < n_tasks; i++) {
        struct trace_task *t = &tasks[i];

        if (shape == TRACE_SHAPE_BURSTY) {
            if (left_in_burst == 0) {
                left_in_burst = (size_t) rng_int(&r, BURST_SIZE_MIN, BURST_SIZE_MAX);
                dominant = pick_type(&r);
                n_bursts++;
            }
            left_in_burst--;
            burst_of[i] = n_bursts - 1;
            t->type = rng_uniform(&r) < BURST_DOMINANT ? dominant : pick_type(&r);
        } else
            t->type = pick_type(&r);

        const struct type_spec *s = &type_specs[t->type];
        t->complexity = pick_complexity(&r, s, heavy);
        draw_costs(&r, s, heavy, limits, t);
        mem_work += t->peak_mem_pct * t->duration_s;
        cpu_work += t->cpu_pct * t->duration_s;
    }

    /* The time the work would take on a machine packed to its limits at every second; arrivals
     * are spread over that time divided by load. */
    double span_s = MAX(mem_work / limits->peak_mem_pct_max, cpu_work / limits->cpu_pct_max) / load;

    if (shape == TRACE_SHAPE_BURSTY) {
        double gap_mean_s = span_s / (double) n_bursts, burst_start = 0;
        size_t b = 0;
        for (size_t i = 0; i < n_tasks; i++) {
            if (burst_of[i] != b) {
                b = burst_of[i];
                burst_start += gap_mean_s * rng_range(&r, 0.5, 1.5);
            }
            tasks[i].arrival_s = floor(burst_start + rng_range(&r, 0, BURST_SPREAD_S));
        }
    } else {
        double gap_mean_s = span_s / (double) n_tasks, now = 0;
        for (size_t i = 0; i < n_tasks; i++) {
            tasks[i].arrival_s = floor(now);
            now += rng_exponential(&r, gap_mean_s);
        }
    }
    for (size_t i = 0; i < n_tasks; i++)
        tasks[i].arrival_s = MIN(tasks[i].arrival_s, TRACE_ARRIVAL_MAX_S);

    int k = sort_stable(tasks, n_tasks);
    if (k < 0)
        return k;

    struct trace t = { .n_tasks = n_tasks, .n_types = (unsigned) ELEMENTSOF(type_specs) };
    for (unsigned i = 0; i < t.n_types; i++)
        (void) snprintf(t.type_names[i], sizeof(t.type_names[i]), "%s", type_specs[i].name);
    t.tasks = TAKE_PTR(tasks);
    *ret = t;
    return 0;
}

/* ---- CSV ------------------------------------------------------------------------------------- */

enum column {
    COLUMN_ARRIVAL,
    COLUMN_TYPE,
    COLUMN_COMPLEXITY,
    COLUMN_PEAK_MEM,
    COLUMN_CPU,
    COLUMN_DURATION,
    _COLUMN_MAX,
};

static const char *const column_names[_COLUMN_MAX] = {
    [COLUMN_ARRIVAL] = "arrival_s",     [COLUMN_TYPE] = "type",
    [COLUMN_COMPLEXITY] = "complexity", [COLUMN_PEAK_MEM] = "true_peak_mem_pct",
    [COLUMN_CPU] = "true_cpu_pct",      [COLUMN_DURATION] = "duration_s",
};

_printf_(3, 4) static int fail(struct trace_error *err, unsigned line, const char *fmt, ...)
{
    if (err) {
        va_list ap;

        err->line = line;
        va_start(ap, fmt);
        (void) vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
    }
    return -EBADMSG;
}

/* Splits a line in place at commas, trimming blanks around each field. Returns the number of
 * fields, or -E2BIG for more than max. */
static int split_fields(char *line, char **fields, unsigned max)
{
    unsigned n = 0;
    char *p = line;

    for (;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (n >= max)
            return -E2BIG;
        while (*p == ' ' || *p == '\t')
            p++;
        char *end = p + strlen(p);
        while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        fields[n++] = p;
        if (!comma)
            return (int) n;
        p = comma + 1;
    }
}

static bool type_name_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n >= TRACE_TYPE_NAME_MAX)
        return false;
    for (const char *p = s; *p; p++)
        if (!isgraph((unsigned char) *p) || *p == '"' || *p == '\'')
            return false;
    return true;
}

static int parse_header(char *line,
                        unsigned lineno,
                        int ret_index[_COLUMN_MAX],
                        unsigned *ret_n,
                        struct trace_error *err)
{
    char *fields[_COLUMN_MAX + 1];
    int index[_COLUMN_MAX];
    int n = split_fields(line, fields, ELEMENTSOF(fields));

    if (n < 0)
        return fail(err, lineno, "header has more than %u columns", (unsigned) _COLUMN_MAX);
    for (int c = 0; c < _COLUMN_MAX; c++)
        index[c] = -1;
    for (int i = 0; i < n; i++) {
        int c = 0;
        for (; c < _COLUMN_MAX; c++)
            if (strcmp(fields[i], column_names[c]) == 0)
                break;
        if (c == _COLUMN_MAX)
            return fail(err, lineno, "unknown column '%.40s' (expected %s,%s,%s,%s,%s,%s)",
                        fields[i], column_names[0], column_names[1], column_names[2],
                        column_names[3], column_names[4], column_names[5]);
        if (index[c] >= 0)
            return fail(err, lineno, "duplicate column '%s'", column_names[c]);
        index[c] = i;
    }
    for (int c = 0; c < _COLUMN_MAX; c++)
        if (index[c] < 0)
            return fail(err, lineno, "missing column '%s'", column_names[c]);
    memcpy(ret_index, index, sizeof(index));
    *ret_n = (unsigned) n;
    return 0;
}

static int number_in(const char *s, double lo, double hi, bool lo_open, double *ret)
{
    double v;

    if (safe_atod(s, &v) < 0)
        return -EINVAL;
    if (v < lo || (lo_open && !(v > lo)) || v > hi)
        return -ERANGE;
    *ret = v;
    return 0;
}

static int parse_row(char *line,
                     unsigned lineno,
                     const int index[_COLUMN_MAX],
                     unsigned n_columns,
                     const struct trace_limits *lim,
                     struct trace *t,
                     struct trace_task *ret,
                     struct trace_error *err)
{
    char *fields[_COLUMN_MAX + 1];
    struct trace_task task = { 0 };
    int n = split_fields(line, fields, ELEMENTSOF(fields));

    if (n < 0 || (unsigned) n != n_columns)
        return fail(err, lineno, "expected %u fields, got %s%d", n_columns,
                    n < 0 ? "more than " : "", n < 0 ? (int) _COLUMN_MAX : n);

    const struct {
        enum column c;
        double lo, hi;
        bool lo_open;
        double *dst;
        const char *what;
    } nums[] = {
        { COLUMN_ARRIVAL, 0, TRACE_ARRIVAL_MAX_S, false, &task.arrival_s,
          "a number of seconds in [0, 31536000]" },
        { COLUMN_COMPLEXITY, 0, PREDICT_COMPLEXITY_MAX, false, &task.complexity,
          "a number in [0, 2^50]" },
        { COLUMN_PEAK_MEM, 0, lim->peak_mem_pct_max, true, &task.peak_mem_pct, NULL },
        { COLUMN_CPU, 0, lim->cpu_pct_max, false, &task.cpu_pct, NULL },
        { COLUMN_DURATION, 1, TRACE_DURATION_MAX_S, false, &task.duration_s,
          "a number of seconds in [1, 604800]" },
    };

    for (size_t i = 0; i < ELEMENTSOF(nums); i++) {
        const char *s = fields[index[nums[i].c]];
        int k = number_in(s, nums[i].lo, nums[i].hi, nums[i].lo_open, nums[i].dst);
        if (k == -EINVAL)
            return fail(err, lineno, "%s: '%.40s' is not a number", column_names[nums[i].c], s);
        if (k < 0 && nums[i].what)
            return fail(err, lineno, "%s: %.40s is out of range (expected %s)",
                        column_names[nums[i].c], s, nums[i].what);
        if (k < 0)
            return fail(err, lineno,
                        "%s: %.40s is out of range (expected %s%g, %g]: the simulated machine "
                        "could never "
                        "admit more)",
                        column_names[nums[i].c], s, nums[i].lo_open ? "(" : "[", nums[i].lo,
                        nums[i].hi);
    }

    const char *name = fields[index[COLUMN_TYPE]];
    if (!type_name_valid(name))
        return fail(err, lineno,
                    "type: '%.40s' is not a valid type name (1-%u printable characters, no "
                    "blanks or quotes)",
                    name, TRACE_TYPE_NAME_MAX - 1);
    unsigned ty = 0;
    for (; ty < t->n_types; ty++)
        if (strcmp(t->type_names[ty], name) == 0)
            break;
    if (ty == t->n_types) {
        if (t->n_types >= TRACE_TYPES_MAX) {
            (void) fail(err, lineno, "more than %u task types", TRACE_TYPES_MAX);
            return -E2BIG;
        }
        (void) snprintf(t->type_names[ty], sizeof(t->type_names[ty]), "%s", name);
        t->n_types++;
    }
    task.type = ty;
    *ret = task;
    return 0;
}

int trace_parse(const char *buf,
                size_t n,
                const struct trace_limits *limits,
                struct trace *ret,
                struct trace_error *err)
{
    _cleanup_free_ struct trace_task *tasks = NULL;
    struct trace t = { 0 };
    size_t cap = 0;
    int index[_COLUMN_MAX];
    unsigned n_columns = 0, lineno = 0;
    bool have_header = false;
    char line[TRACE_LINE_MAX];

    if (err)
        *err = (struct trace_error){ 0 };
    if (memchr(buf, '\0', n))
        return fail(err, 0, "the file contains a NUL byte");

    for (size_t pos = 0; pos < n;) {
        const char *nl = memchr(buf + pos, '\n', n - pos);
        size_t len = nl ? (size_t) (nl - (buf + pos)) : n - pos;

        lineno++;
        if (len >= sizeof(line))
            return fail(err, lineno, "line longer than %u bytes", TRACE_LINE_MAX - 1);
        memcpy(line, buf + pos, len);
        line[len] = '\0';
        pos += len + (nl ? 1 : 0);
        if (len > 0 && line[len - 1] == '\r')
            line[--len] = '\0';

        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '#')
            continue;

        if (!have_header) {
            int k = parse_header(line, lineno, index, &n_columns, err);
            if (k < 0)
                return k;
            have_header = true;
            continue;
        }

        if (t.n_tasks >= TRACE_TASKS_MAX) {
            (void) fail(err, lineno, "more than %u tasks", TRACE_TASKS_MAX);
            return -E2BIG;
        }
        if (t.n_tasks == cap) {
            size_t ncap = cap == 0 ? 256 : MIN(cap * 2, (size_t) TRACE_TASKS_MAX);
            struct trace_task *nt = realloc(tasks, ncap * sizeof(*tasks));
            if (!nt)
                return -ENOMEM;
            tasks = nt;
            cap = ncap;
        }
        int k = parse_row(line, lineno, index, n_columns, limits, &t, &tasks[t.n_tasks], err);
        if (k < 0)
            return k;
        t.n_tasks++;
    }

    if (!have_header)
        return fail(err, lineno, "no header line (%s,%s,%s,%s,%s,%s)", column_names[0],
                    column_names[1], column_names[2], column_names[3], column_names[4],
                    column_names[5]);
    if (t.n_tasks == 0)
        return fail(err, lineno, "no tasks after the header");

    int k = sort_stable(tasks, t.n_tasks);
    if (k < 0)
        return k;
    t.tasks = TAKE_PTR(tasks);
    *ret = t;
    return 0;
}

int trace_read_file(const char *path, char **ret, size_t *ret_size)
{
    _cleanup_close_ int fd = -EBADF;
    _cleanup_free_ char *buf = NULL;
    size_t size = 0, cap = 0;
    int in = STDIN_FILENO;

    if (strcmp(path, "-") != 0) {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return -errno;
        in = fd;
    }

    for (;;) {
        if (cap - size < 4096) {
            if (cap >= (size_t) TRACE_FILE_MAX + 1)
                return -EFBIG;
            size_t ncap = MIN(MAX(cap * 2, (size_t) 65536), (size_t) TRACE_FILE_MAX + 1);
            char *nb = realloc(buf, ncap + 1);
            if (!nb)
                return -ENOMEM;
            buf = nb;
            cap = ncap;
        }
        ssize_t k = read(in, buf + size, cap - size);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (k == 0)
            break;
        size += (size_t) k;
        if (size > TRACE_FILE_MAX)
            return -EFBIG;
    }
    if (!buf) {
        buf = malloc(1);
        if (!buf)
            return -ENOMEM;
    }
    buf[size] = '\0';
    *ret = TAKE_PTR(buf);
    *ret_size = size;
    return 0;
}

/* The shortest decimal form that reads back as the same double, so that a written trace replays
 * exactly and a generated one stays readable (4.4123, not 4.4123000000000001). */
static void format_exact(char *buf, size_t size, double v)
{
    for (int prec = 1; prec <= 17; prec++) {
        (void) snprintf(buf, size, "%.*g", prec, v);
        double back = strtod(buf, NULL);
        if (!(back < v) && !(back > v))
            return;
    }
}

int trace_format(const struct trace *t, FILE *f)
{
    char a[32], c[32], m[32], u[32], d[32];

    if (fprintf(f, "%s,%s,%s,%s,%s,%s\n", column_names[0], column_names[1], column_names[2],
                column_names[3], column_names[4], column_names[5]) < 0)
        return -EIO;
    for (size_t i = 0; i < t->n_tasks; i++) {
        const struct trace_task *k = &t->tasks[i];
        format_exact(a, sizeof(a), k->arrival_s);
        format_exact(c, sizeof(c), k->complexity);
        format_exact(m, sizeof(m), k->peak_mem_pct);
        format_exact(u, sizeof(u), k->cpu_pct);
        format_exact(d, sizeof(d), k->duration_s);
        if (fprintf(f, "%s,%s,%s,%s,%s,%s\n", a, t->type_names[k->type], c, m, u, d) < 0)
            return -EIO;
    }
    if (fflush(f) != 0)
        return -errno;
    return 0;
}
