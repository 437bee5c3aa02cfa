/* SPDX-License-Identifier: MIT */
#include "cli/format.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "basic/macro.h"
#include "basic/parse-util.h"
#include "cli/json-util.h"

#define LABEL          "%-12s"
#define NUM_MAX        64
#define CORES_PER_LINE 16

void fputs_sanitized(const char *s, FILE *f)
{
    if (!s) {
        fputs("n/a", f);
        return;
    }
    for (const unsigned char *p = (const unsigned char *) s; *p; p++)
        fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, f);
}

static const char *bytes_str(char *buf, size_t len, double v)
{
    if (!isfinite(v))
        return "n/a";
    if (v < 0) {
        /* "-" and the positive figure written right after it. */
        if (len < 2)
            return "n/a";
        buf[0] = '-';
        (void) bytes_str(buf + 1, len - 1, -v);
        return buf;
    }
    /* Clamp below 2^64 so the conversion is defined for any number a server sends. */
    return format_bytes(buf, len, (uint64_t) (MIN(v, 1.8e19) + 0.5));
}

/* The member as "12.3<suffix>", or "n/a". */
static const char *num1(char *buf, size_t len, const json_t *o, const char *key, const char *suffix)
{
    double v;

    if (!json_get_number(o, key, &v))
        return "n/a";
    (void) snprintf(buf, len, "%.1f%s", v, suffix);
    return buf;
}

/* The member in its shortest form ("85", "85.5") plus suffix, or "n/a". For configured limits,
 * which people write as round numbers. */
static const char *numg(char *buf, size_t len, const json_t *o, const char *key, const char *suffix)
{
    double v;

    if (!json_get_number(o, key, &v))
        return "n/a";
    (void) snprintf(buf, len, "%g%s", v, suffix);
    return buf;
}

static const char *bytes_of(char *buf, size_t len, const json_t *o, const char *key)
{
    double v;

    if (!json_get_number(o, key, &v))
        return "n/a";
    return bytes_str(buf, len, v);
}

/* ---- ask ---- */

static const char *check_reason(const json_t *check)
{
    static const struct {
        const char *resource;
        const char *reason;
    } table[] = {
        { "cpu", "cpu_overload" },
        { "memory", "memory_overload" },
        { "memory_pressure", "memory_pressure" },
        { "gpu", "gpu_overload" },
        { "vram", "vram_overload" },
        { "storage", "storage_low" },
    };

    const char *reason = json_get_string(check, "reason");
    const char *resource = json_get_string(check, "resource");

    if (reason)
        return reason;
    if (!resource)
        return "unknown";
    for (size_t i = 0; i < ELEMENTSOF(table); i++)
        if (strcmp(table[i].resource, resource) == 0)
            return table[i].reason;
    return resource;
}

static bool check_in_bytes(const json_t *check)
{
    const char *unit = json_get_string(check, "unit");
    return unit && strcmp(unit, "bytes") == 0;
}

/* Writes "gpu 0 " or "/data " for checks that have an index or a path; nothing otherwise (CPU
 * and memory are single resources). */
static void check_where(FILE *f, const json_t *check)
{
    const char *path = json_get_string(check, "path");
    json_t *index = json_get(check, "index");

    if (json_is_integer(index))
        fprintf(f, "gpu %lld ", (long long) json_integer_value(index));
    if (path) {
        fputs_sanitized(path, f);
        fputc(' ', f);
    }
}

static void check_name(FILE *f, const json_t *check)
{
    const char *path = json_get_string(check, "path");
    json_t *index = json_get(check, "index");

    fputs_sanitized(json_get_string(check, "resource"), f);
    if (json_is_integer(index))
        fprintf(f, " %lld", (long long) json_integer_value(index));
    if (path) {
        fputc(' ', f);
        fputs_sanitized(path, f);
    }
}

/* "  - memory_overload: 83.0% used + 33.3% (8.0 GiB) = 116.3% > 85%"
 * "  - storage_low: / 5.0 GiB free - 0 B = 5.0 GiB < 10.0 GiB" */
static void print_failed_check(FILE *f, const json_t *check)
{
    char a[NUM_MAX], b[NUM_MAX], c[NUM_MAX], d[NUM_MAX];
    const char *resource = json_get_string(check, "resource");
    double need_bytes;

    fputs("  - ", f);
    fputs_sanitized(check_reason(check), f);
    fputs(": ", f);
    check_where(f, check);

    /* What leases of admitted tasks hold counts as used: say so, or the sum does not add up. */
    double reserved = 0;
    bool has_reserved = json_get_number(check, "reserved", &reserved) && reserved > 0;

    if (check_in_bytes(check)) {
        fprintf(f, "%s free - ", bytes_of(a, sizeof(a), check, "current"));
        if (has_reserved)
            fprintf(f, "%s reserved - ", bytes_of(b, sizeof(b), check, "reserved"));
        fprintf(f, "%s = %s < %s\n", bytes_of(b, sizeof(b), check, "need"),
                bytes_of(c, sizeof(c), check, "projected"), bytes_of(d, sizeof(d), check, "threshold"));
        return;
    }

    /* PSI is the share of time tasks stalled, not something "used". */
    bool stall = resource && strcmp(resource, "memory_pressure") == 0;
    fprintf(f, "%s %s", num1(a, sizeof(a), check, "current", "%"), stall ? "stalled" : "used");
    if (has_reserved)
        fprintf(f, " + %s reserved", num1(a, sizeof(a), check, "reserved", "%"));
    fprintf(f, " + %s", num1(b, sizeof(b), check, "need", "%"));
    if (json_get_number(check, "need_bytes", &need_bytes) && need_bytes > 0)
        fprintf(f, " (%s)", bytes_str(c, sizeof(c), need_bytes));
    fprintf(f, " = %s > %s\n", num1(a, sizeof(a), check, "projected", "%"),
            numg(d, sizeof(d), check, "threshold", "%"));
}

/* How close a check is to its limit, on the daemon's scale (model/decide.c): percentages relative
 * to their limit, storage relative to the space free now. Smaller is tighter. */
static bool check_slack(const json_t *check, double *ret)
{
    double headroom, scale = 0;

    if (!json_get_number(check, "headroom", &headroom))
        return false;
    if (check_in_bytes(check))
        (void) json_get_number(check, "current", &scale);
    else
        (void) json_get_number(check, "threshold", &scale);
    *ret = scale > 0 ? headroom / scale : headroom;
    return true;
}

/* The check named by "binding": an index into "checks", a check object, or a resource name. A
 * GPU or VRAM name means the check of the GPU the task would go to ("gpu"), else the tightest of
 * that name, as several GPUs or paths share one. Without a usable "binding", the tightest of all
 * checks. NULL when there are no checks. */
static const json_t *binding_check(const json_t *answer)
{
    const json_t *checks = json_get(answer, "checks");
    const json_t *binding = json_get(answer, "binding");
    const json_t *gpu = json_get(answer, "gpu");
    const char *name = json_string_value(binding);
    const json_t *best = NULL;
    double best_slack = INFINITY;
    size_t i;
    const json_t *check;

    if (json_is_object(binding))
        return binding;
    if (!json_is_array(checks))
        return NULL;
    if (json_is_integer(binding)) {
        json_int_t k = json_integer_value(binding);
        if (k >= 0 && (size_t) k < json_array_size(checks))
            return json_array_get(checks, (size_t) k);
    }

    if (name && json_is_integer(gpu))
        json_array_foreach(checks, i, check) {
            const char *resource = json_get_string(check, "resource");
            json_t *index = json_get(check, "index");
            if (resource && strcmp(resource, name) == 0 && json_is_integer(index) &&
                json_integer_value(index) == json_integer_value(gpu))
                return check;
        }

    for (int pass = 0; pass < 2 && !best; pass++)
        json_array_foreach(checks, i, check) {
            const char *resource = json_get_string(check, "resource");
            double slack;
            if (pass == 0 && (!name || !resource || strcmp(name, resource) != 0))
                continue;
            if (!check_slack(check, &slack))
                continue;
            if (!best || slack < best_slack) {
                best = check;
                best_slack = slack;
            }
        }
    return best;
}

/* "  tightest: memory 62.1% now, 70.3% with this task, limit 85% (14.7 left)" */
static void print_tightest(FILE *f, const json_t *check)
{
    char a[NUM_MAX], b[NUM_MAX], c[NUM_MAX], d[NUM_MAX];

    fputs("  tightest: ", f);
    check_name(f, check);
    if (check_in_bytes(check))
        fprintf(f, " %s free now, %s with this task, minimum %s (%s left)\n",
                bytes_of(a, sizeof(a), check, "current"),
                bytes_of(b, sizeof(b), check, "projected"),
                bytes_of(c, sizeof(c), check, "threshold"),
                bytes_of(d, sizeof(d), check, "headroom"));
    else
        fprintf(f, " %s now, %s with this task, limit %s (%s left)\n",
                num1(a, sizeof(a), check, "current", "%"),
                num1(b, sizeof(b), check, "projected", "%"),
                numg(c, sizeof(c), check, "threshold", "%"),
                num1(d, sizeof(d), check, "headroom", ""));
}

static bool check_failed(const json_t *check)
{
    return json_is_false(json_get(check, "ok"));
}

/* True when some failed check already explains reason. */
static bool reason_has_check(const json_t *checks, const char *reason)
{
    size_t i;
    const json_t *check;

    json_array_foreach(checks, i, check)
        if (check_failed(check) && strcmp(check_reason(check), reason) == 0)
            return true;
    return false;
}

/* True when the daemon gave reason as a cause of the refusal. A failed check whose reason is not
 * listed did not decide anything (a busy GPU when another one fits) and is not printed. */
static bool reason_listed(const json_t *reasons, const char *reason)
{
    size_t i;
    const json_t *v;

    json_array_foreach(reasons, i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), reason) == 0)
            return true;
    return false;
}

void format_ask(FILE *f, const char *task, const json_t *answer)
{
    const json_t *checks = json_get(answer, "checks");
    const json_t *reasons = json_get(answer, "reasons");
    bool allowed = !json_is_false(json_get(answer, "allowed"));
    size_t i, n_lines = 0;
    const json_t *v;

    fprintf(f, "%s Task '%s' is %s\n", allowed ? "✓" : "✗", task, allowed ? "ALLOWED" : "DENIED");

    if (allowed) {
        const json_t *tightest = binding_check(answer);
        const json_t *lease = json_get(answer, "lease");
        if (tightest)
            print_tightest(f, tightest);
        if (json_is_object(lease)) {
            fputs("Lease: ", f);
            fputs_sanitized(json_get_string(lease, "id"), f);
            fputs(" holds its needs until ", f);
            fputs_sanitized(json_get_string(lease, "expires_at"), f);
            fputc('\n', f);
        }
        if (reason_listed(reasons, "insufficient_data"))
            fputs("Note: too few observations of this task type yet; decided on thresholds "
                  "(insufficient_data)\n", f);
        return;
    }

    /* headroom explains every refusal: the numbers behind it are the useful part. */
    json_array_foreach(checks, i, v)
        if (check_failed(v) && reason_listed(reasons, check_reason(v)))
            n_lines++;
    json_array_foreach(reasons, i, v)
        if (json_is_string(v) && !reason_has_check(checks, json_string_value(v)))
            n_lines++;
    if (n_lines == 0)
        return;

    fputs("Reasons:\n", f);
    json_array_foreach(checks, i, v)
        if (check_failed(v) && reason_listed(reasons, check_reason(v)))
            print_failed_check(f, v);
    json_array_foreach(reasons, i, v)
        if (json_is_string(v) && !reason_has_check(checks, json_string_value(v))) {
            fputs("  - ", f);
            fputs_sanitized(json_string_value(v), f);
            fputc('\n', f);
        }

    /* When it would fit: from leases expiring and supervised tasks ending, or why not. */
    const json_t *est = json_get(answer, "estimate");
    double after;
    if (json_get_number(est, "fits_in_seconds", &after)) {
        fprintf(f, "Fits in about %.0f s (at ", after);
        fputs_sanitized(json_get_string(est, "fits_at"), f);
        fputs("), as leases expire and supervised tasks end\n", f);
    } else if (json_get_string(est, "why")) {
        fputs("No time can be given: ", f);
        fputs_sanitized(json_get_string(est, "why"), f);
        fputc('\n', f);
    }
}

/* ---- status ---- */

static void status_cpu(FILE *f, const json_t *cpu)
{
    char a[NUM_MAX];
    const json_t *cores = json_get(cpu, "cores");
    double capacity;
    size_t i;
    const json_t *v;

    fprintf(f, LABEL "%s used", "CPU:", num1(a, sizeof(a), cpu, "usage_percent", "%"));
    if (json_get_number(cpu, "capacity_cores", &capacity))
        fprintf(f, ", capacity %g cores", capacity);
    fputc('\n', f);

    if (!json_is_array(cores) || json_array_size(cores) == 0)
        return;
    json_array_foreach(cores, i, v) {
        if (i % CORES_PER_LINE == 0)
            fprintf(f, i == 0 ? LABEL "per core:" : LABEL "         ", "");
        if (json_is_number(v))
            fprintf(f, " %.0f%%", json_number_value(v));
        else
            fputs(" n/a", f);
        if (i % CORES_PER_LINE == CORES_PER_LINE - 1 || i + 1 == json_array_size(cores))
            fputc('\n', f);
    }
}

static void status_memory(FILE *f, const json_t *mem, const json_t *cgroup)
{
    char a[NUM_MAX], b[NUM_MAX], c[NUM_MAX], d[NUM_MAX];
    double limit;

    fprintf(f, LABEL "%s of %s used (%s), %s available",
            "Memory:", bytes_of(a, sizeof(a), mem, "used_bytes"),
            bytes_of(b, sizeof(b), mem, "total_bytes"),
            num1(c, sizeof(c), mem, "usage_percent", "%"),
            bytes_of(d, sizeof(d), mem, "available_bytes"));
    if (json_get_number(cgroup, "memory_limit_bytes", &limit))
        fprintf(f, ", cgroup limit %s", bytes_str(a, sizeof(a), limit));
    fputc('\n', f);
}

static void status_swap(FILE *f, const json_t *swap)
{
    char a[NUM_MAX], b[NUM_MAX];
    double total, used, free_bytes;

    if (!json_get_number(swap, "total_bytes", &total)) {
        fprintf(f, LABEL "n/a\n", "Swap:");
        return;
    }
    if (!(total > 0)) {
        fprintf(f, LABEL "none\n", "Swap:");
        return;
    }
    if (!json_get_number(swap, "used_bytes", &used)) {
        if (!json_get_number(swap, "free_bytes", &free_bytes)) {
            fprintf(f, LABEL "n/a of %s used\n", "Swap:", bytes_str(b, sizeof(b), total));
            return;
        }
        used = total - free_bytes;
    }
    fprintf(f, LABEL "%s of %s used\n", "Swap:", bytes_str(a, sizeof(a), used),
            bytes_str(b, sizeof(b), total));
}

static void status_load(FILE *f, const json_t *load)
{
    const char *keys[] = { "load1", "load5", "load15" };

    fprintf(f, LABEL, "Load:");
    for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
        double v;
        if (json_get_number(load, keys[i], &v))
            fprintf(f, "%s%.2f", i ? " " : "", v);
        else
            fprintf(f, "%sn/a", i ? " " : "");
    }
    fputc('\n', f);
}

static void status_pressure(FILE *f, const json_t *pressure)
{
    const char *keys[] = { "cpu", "memory", "io" };
    char a[NUM_MAX];

    fprintf(f, LABEL, "Pressure:");
    for (size_t i = 0; i < ELEMENTSOF(keys); i++)
        fprintf(f, "%s%s %s", i ? ", " : "", keys[i],
                num1(a, sizeof(a), json_get(json_get(pressure, keys[i]), "some"), "avg10", "%"));
    fputs(" (some, avg10)\n", f);
}

static void status_storage(FILE *f, const json_t *storage)
{
    char a[NUM_MAX], b[NUM_MAX], c[NUM_MAX];
    const char *path;
    const json_t *d;
    bool first = true;

    if (!json_is_object(storage)) {
        fprintf(f, LABEL "n/a\n", "Storage:");
        return;
    }
    if (json_object_size(storage) == 0) {
        fprintf(f, LABEL "none\n", "Storage:");
        return;
    }
    json_object_foreach((json_t *) storage, path, d) {
        const char *error = json_get_string(d, "error");

        fprintf(f, LABEL, first ? "Storage:" : "");
        first = false;
        fputs_sanitized(path, f);
        if (error) {
            fputs(": error: ", f);
            fputs_sanitized(error, f);
            fputc('\n', f);
            continue;
        }
        fprintf(f, ": %s free of %s (%s used)\n", bytes_of(a, sizeof(a), d, "free_bytes"),
                bytes_of(b, sizeof(b), d, "total_bytes"),
                num1(c, sizeof(c), d, "usage_percent", "%"));
    }
}

static void status_gpus(FILE *f, const json_t *gpus)
{
    char a[NUM_MAX], b[NUM_MAX], c[NUM_MAX], label[32];
    size_t i;
    const json_t *g;

    if (!json_is_array(gpus)) {
        fprintf(f, LABEL "n/a\n", "GPUs:");
        return;
    }
    if (json_array_size(gpus) == 0) {
        fprintf(f, LABEL "none\n", "GPUs:");
        return;
    }
    json_array_foreach(gpus, i, g) {
        json_t *index = json_get(g, "index");
        double temp;

        (void) snprintf(label, sizeof(label), "GPU %lld:",
                        json_is_integer(index) ? (long long) json_integer_value(index)
                                               : (long long) i);
        fprintf(f, LABEL, label);
        fputs_sanitized(json_get_string(g, "name"), f);
        fprintf(f, ", util %s, VRAM %s of %s", num1(a, sizeof(a), g, "usage_percent", "%"),
                bytes_of(b, sizeof(b), g, "vram_used_bytes"),
                bytes_of(c, sizeof(c), g, "vram_total_bytes"));
        if (json_get_number(g, "temperature", &temp))
            fprintf(f, ", %.0f°C\n", temp);
        else
            fputs(", temp n/a\n", f);
    }
}

/* "1.0 MiB/s", or "n/a". */
static const char *rate_of(char *buf, size_t len, const json_t *o, const char *key)
{
    char tmp[NUM_MAX];
    double v;

    if (!json_get_number(o, key, &v))
        return "n/a";
    (void) snprintf(buf, len, "%s/s", bytes_str(tmp, sizeof(tmp), v));
    return buf;
}

static void status_rates(FILE *f,
                         const char *label,
                         const json_t *o,
                         const char *name1,
                         const char *key1,
                         const char *name2,
                         const char *key2)
{
    char a[NUM_MAX], b[NUM_MAX];

    fprintf(f, LABEL "%s %s, %s %s\n", label, name1, rate_of(a, sizeof(a), o, key1), name2,
            rate_of(b, sizeof(b), o, key2));
}

static const char *count_of(char *buf, size_t len, const json_t *o, const char *key)
{
    double v;

    if (!json_get_number(o, key, &v))
        return "n/a";
    (void) snprintf(buf, len, "%.0f", v);
    return buf;
}

void format_status(FILE *f, const json_t *status)
{
    char a[NUM_MAX], b[NUM_MAX], c[NUM_MAX];

    status_cpu(f, json_get(status, "cpu"));
    status_memory(f, json_get(status, "memory"), json_get(status, "cgroup"));
    status_swap(f, json_get(status, "swap"));
    status_load(f, json_get(status, "load"));
    status_pressure(f, json_get(status, "pressure"));
    status_storage(f, json_get(status, "storage"));
    status_gpus(f, json_get(status, "gpus"));
    status_rates(f, "Disk I/O:", json_get(status, "disk_io"), "read", "read_bytes_per_sec", "write",
                 "write_bytes_per_sec");
    status_rates(f, "Network:", json_get(status, "network"), "rx", "rx_bytes_per_sec", "tx",
                 "tx_bytes_per_sec");
    fprintf(f, LABEL "%s, threads %s, context switches %s%s\n",
            "Processes:", count_of(a, sizeof(a), status, "processes"),
            count_of(b, sizeof(b), status, "threads"),
            count_of(c, sizeof(c), status, "context_switches_per_sec"),
            json_is_number(json_get(status, "context_switches_per_sec")) ? "/s" : "");
}

/* ---- stats ---- */

static void stats_task(FILE *f, const char *name, const json_t *t)
{
    char a[NUM_MAX];
    double v;

    fputs("\nTask: ", f);
    fputs_sanitized(name, f);
    fprintf(f, "\n  Observations: %s\n", count_of(a, sizeof(a), t, "count"));
    if (json_get_number(t, "avg_cpu_delta", &v))
        fprintf(f, "  Avg CPU delta:  %+.2f%%\n", v);
    else
        fputs("  Avg CPU delta:  n/a\n", f);
    if (json_get_number(t, "avg_mem_delta", &v))
        fprintf(f, "  Avg Memory delta: %+.2f%%\n", v);
    else
        fputs("  Avg Memory delta: n/a\n", f);
    /* As capfox, which leaves the GPU members out when they are zero. */
    if (json_get_number(t, "avg_gpu_delta", &v) && fabs(v) > 0)
        fprintf(f, "  Avg GPU delta:  %+.2f%%\n", v);
    if (json_get_number(t, "avg_vram_delta", &v) && fabs(v) > 0)
        fprintf(f, "  Avg VRAM delta: %+.2f%%\n", v);
}

void format_stats(FILE *f, const json_t *stats)
{
    char a[NUM_MAX];
    const json_t *tasks = json_get(stats, "tasks");
    const json_t *t;
    const char *name;
    size_t i;

    fputs("=== Task Statistics ===\n", f);

    if (!tasks) {
        /* One task: GET /stats?task=NAME answers its TaskStats object alone. */
        stats_task(f, json_get_string(stats, "task"), stats);
        return;
    }

    fprintf(f, "Total observations: %s\n", count_of(a, sizeof(a), stats, "total_tasks"));
    if (json_is_object(tasks)) {
        if (json_object_size(tasks) == 0)
            fputs("\nNo observations yet.\n", f);
        json_object_foreach((json_t *) tasks, name, t)
            stats_task(f, name, t);
    } else if (json_is_array(tasks)) {
        if (json_array_size(tasks) == 0)
            fputs("\nNo observations yet.\n", f);
        json_array_foreach(tasks, i, t)
            stats_task(f, json_get_string(t, "task"), t);
    }
}

/* ---- models ---- */

/* The resources of a task model, in the order they are printed. Their values are percentage
 * points: of all CPUs, of MemTotal, of one GPU, of one GPU's VRAM (see docs/API.md). */
static const char *const model_resources[] = { "cpu", "memory", "gpu", "vram" };
#define MODEL_CPU    0 /* the index of "cpu" */
#define MODEL_MEMORY 1 /* the index of "memory", the one resource that also comes in bytes */

/* "6.4 %", or "6.4 % (4.1 GiB)" when o also has bytes_key; "n/a" without key. */
static const char *
pp_of(char *buf, size_t len, const json_t *o, const char *key, const char *bytes_key)
{
    char b[NUM_MAX];
    double v, bytes;

    if (!json_get_number(o, key, &v))
        return "n/a";
    if (bytes_key && json_get_number(o, bytes_key, &bytes))
        (void) snprintf(buf, len, "%.1f %% (%s)", v, bytes_str(b, sizeof(b), bytes));
    else
        (void) snprintf(buf, len, "%.1f %%", v);
    return buf;
}

/* The member with decimals digits after the point ("%.2f" for 2), or with -decimals significant
 * digits when decimals is negative ("%.4g" for -4); "n/a" when it is not a number. */
static const char *fixed_of(char *buf, size_t len, const json_t *o, const char *key, int decimals)
{
    double v;

    if (!json_get_number(o, key, &v))
        return "n/a";
    if (decimals >= 0)
        (void) snprintf(buf, len, "%.*f", decimals, v);
    else
        (void) snprintf(buf, len, "%.*g", -decimals, v);
    return buf;
}

/* A member that may be null on purpose (an observation that measured no GPU): "-" for null,
 * "n/a" when missing or not a number, else the number with decimals as fixed_of(). */
static const char *cell_of(char *buf, size_t len, const json_t *o, const char *key, int decimals)
{
    if (json_is_null(json_get(o, key)))
        return "-";
    return fixed_of(buf, len, o, key, decimals);
}

static bool resource_has_model(const json_t *res)
{
    double n;

    return json_get_number(res, "n", &n) && n > 0;
}

/* 1 when the resource's model is sufficient to decide, 0 when not, -1 when the answer does not
 * say. The prediction's own flag comes first, then the resource's. */
static int resource_sufficient(const json_t *res)
{
    const json_t *v = json_get(json_get(res, "prediction"), "sufficient");

    if (!json_is_boolean(v))
        v = json_get(res, "sufficient");
    if (!json_is_boolean(v))
        return -1;
    return json_is_true(v);
}

static const char *sufficient_str(int s)
{
    if (s < 0)
        return "sufficiency n/a";
    return s ? "sufficient" : "insufficient";
}

/* cpu and memory: every task uses them, so lacking a model for them is insufficient data. */
static bool resource_is_primary(size_t i)
{
    return i == 0 || i == MODEL_MEMORY;
}

/* "  memory   expected 5.3 % (3.4 GiB), upper 6.4 % (4.1 GiB), confidence 0.90, n 12,
 * sufficient" */
static void predict_resource(FILE *f, size_t i, const json_t *res)
{
    char a[NUM_MAX], b[NUM_MAX], c[NUM_MAX], d[NUM_MAX];
    const json_t *pred = json_get(res, "prediction");
    bool memory = i == MODEL_MEMORY;
    const char *confidence;

    if (json_is_number(json_get(pred, "confidence")))
        confidence = fixed_of(c, sizeof(c), pred, "confidence", 2);
    else
        confidence = fixed_of(c, sizeof(c), res, "confidence", 2);
    fprintf(f, "  %-8s expected %s, upper %s, confidence %s, n %s, %s\n", model_resources[i],
            pp_of(a, sizeof(a), pred, "expected", memory ? "expected_bytes" : NULL),
            pp_of(b, sizeof(b), pred, "upper", memory ? "upper_bytes" : NULL), confidence,
            count_of(d, sizeof(d), res, "n"), sufficient_str(resource_sufficient(res)));
}

void format_predict(FILE *f, const char *task, double complexity, const json_t *model)
{
    char a[NUM_MAX], b[NUM_MAX];
    const json_t *resources = json_get(model, "resources");
    bool reserved[ELEMENTSOF(model_resources)] = { false };
    bool short_of[ELEMENTSOF(model_resources)] = { false };
    size_t n_reserved = 0, n_short = 0, n_short_primary = 0;
    const char *min_obs;
    bool any = false;

    fputs("Prediction for '", f);
    fputs_sanitized(task, f);
    fprintf(f, "' at complexity %g (model ", complexity);
    fputs_sanitized(json_get_string(model, "model"), f);
    fprintf(f, ", %s observations):\n", count_of(a, sizeof(a), model, "observations"));

    for (size_t i = 0; i < ELEMENTSOF(model_resources); i++) {
        const json_t *res = json_get(resources, model_resources[i]);

        if (!resource_has_model(res))
            continue;
        any = true;
        predict_resource(f, i, res);
    }
    if (!any)
        fputs("  no resource has been measured yet\n", f);

    /* What admission makes of it when the task declares nothing (model/admit.h): the upper
     * bound of every resource whose model is sufficient is reserved, CPU's expected value (it is
     * compressible); cpu and memory without one,
     * and any other resource whose model is not sufficient yet, fall back on the thresholds, and
     * the answer to "ask" notes insufficient_data. */
    for (size_t i = 0; i < ELEMENTSOF(model_resources); i++) {
        const json_t *res = json_get(resources, model_resources[i]);
        bool has_model = resource_has_model(res);

        if (has_model && resource_sufficient(res) == 1) {
            reserved[i] = true;
            n_reserved++;
        } else if (has_model || resource_is_primary(i)) {
            short_of[i] = true;
            n_short++;
            n_short_primary += resource_is_primary(i);
        }
    }

    if (n_reserved > 0) {
        fputs("admission will reserve:", f);
        for (size_t i = 0, k = 0; i < ELEMENTSOF(model_resources); i++) {
            if (!reserved[i])
                continue;
            const json_t *pred = json_get(json_get(resources, model_resources[i]), "prediction");

            fprintf(f, "%s %s %s", k++ ? "," : "", model_resources[i],
                    i == MODEL_CPU ? pp_of(a, sizeof(a), pred, "expected", NULL)
                                   : pp_of(a, sizeof(a), pred, "upper", i == MODEL_MEMORY ? "upper_bytes" : NULL));
        }
        fputc('\n', f);
    }
    if (n_short == 0)
        return;

    min_obs = count_of(b, sizeof(b), model, "min_observations");
    if (n_reserved == 0) {
        /* The fewest observations among the resources that fall short, cpu and memory first:
         * they are what the task's model as a whole waits for. */
        double fewest = INFINITY, n;

        for (size_t i = 0; i < ELEMENTSOF(model_resources); i++)
            if (short_of[i] && (resource_is_primary(i) || n_short_primary == 0) &&
                json_get_number(json_get(resources, model_resources[i]), "n", &n))
                fewest = MIN(fewest, n);
        if (isfinite(fewest))
            (void) snprintf(a, sizeof(a), "%.0f", fewest);
        else
            strcpy(a, "n/a");
        fprintf(f,
                "too few observations (%s of %s): admission falls back on thresholds "
                "(insufficient_data)\n",
                a, min_obs);
        return;
    }

    /* Some resources are reserved, others are not: name those. */
    fputs("too few observations for", f);
    for (size_t i = 0, k = 0; i < ELEMENTSOF(model_resources); i++) {
        if (!short_of[i])
            continue;
        fprintf(f, "%s %s (%s of %s)", k++ ? "," : "", model_resources[i],
                count_of(a, sizeof(a), json_get(resources, model_resources[i]), "n"), min_obs);
    }
    fputs(": admission falls back on thresholds (insufficient_data)\n", f);
}

/* " (lambda 0.97, quantile 0.95)": the parameters in the daemon's order; nothing without any. */
static void model_params(FILE *f, const json_t *params)
{
    const char *key;
    const json_t *v;
    bool first = true;

    if (!json_is_object(params) || json_object_size(params) == 0)
        return;
    fputs(" (", f);
    json_object_foreach((json_t *) params, key, v) {
        fputs(first ? "" : ", ", f);
        first = false;
        fputs_sanitized(key, f);
        fputc(' ', f);
        if (json_is_number(v))
            fprintf(f, "%g", json_number_value(v));
        else if (json_is_string(v))
            fputs_sanitized(json_string_value(v), f);
        else if (json_is_boolean(v))
            fputs(json_is_true(v) ? "true" : "false", f);
        else
            fputs("n/a", f);
    }
    fputc(')', f);
}

static const char *yes_no(int s)
{
    if (s < 0)
        return "n/a";
    return s ? "yes" : "no";
}

#define MODEL_ROW "  %-8s %10s %10s %11s %5s %7s %7s  %s\n"

static void model_resource(FILE *f, const char *name, const json_t *res)
{
    char a[NUM_MAX], b[NUM_MAX], c[NUM_MAX], d[NUM_MAX], e[NUM_MAX], g[NUM_MAX];
    double n;

    if (!json_is_object(res)) {
        fprintf(f, "  %-8s n/a\n", name);
        return;
    }
    if (json_get_number(res, "n", &n) && !(n > 0)) {
        fprintf(f, "  %-8s no observations\n", name);
        return;
    }
    fprintf(f, MODEL_ROW, name, fixed_of(a, sizeof(a), res, "slope", -4),
            fixed_of(b, sizeof(b), res, "intercept", -4),
            fixed_of(c, sizeof(c), res, "confidence", 2), count_of(d, sizeof(d), res, "n"),
            fixed_of(e, sizeof(e), res, "margin", 1), fixed_of(g, sizeof(g), res, "peak", 1),
            yes_no(resource_sufficient(res)));
}

/* "  declared needs: 3 runs; memory declared 1.5 pp above what was observed (EMA)". The gap is
 * the moving average of declared minus observed, so above means the task asks for more than it
 * uses. */
static void model_declared(FILE *f, const json_t *declared)
{
    const json_t *gap = json_get(declared, "gap");
    double count;

    fputs("  declared needs: ", f);
    if (!json_get_number(declared, "count", &count)) {
        fputs("n/a\n", f);
        return;
    }
    if (!(count > 0)) {
        fputs("never\n", f);
        return;
    }
    fprintf(f, "%.0f run%s", count, count < 1.5 ? "" : "s");
    for (size_t i = 0; i < ELEMENTSOF(model_resources); i++) {
        const json_t *v = json_get(gap, model_resources[i]);
        double d;

        if (!v)
            continue;
        fprintf(f, "; %s declared ", model_resources[i]);
        if (!json_is_number(v)) {
            fputs("n/a", f);
            continue;
        }
        d = json_number_value(v);
        fprintf(f, "%.1f pp %s what was observed (EMA)", fabs(d), d < 0 ? "below" : "above");
    }
    fputc('\n', f);
}

/* Writes s sanitized, then spaces up to width bytes. */
static void put_padded(FILE *f, const char *s, size_t width)
{
    size_t n = s ? strlen(s) : strlen("n/a");

    fputs_sanitized(s, f);
    for (; n < width; n++)
        fputc(' ', f);
}

#define RECENT_TIME_WIDTH   20 /* "2026-11-23 14:59:00Z" */
#define RECENT_SOURCE_WIDTH 6  /* "notify" */
#define RECENT_ROW          "  %10s %7s %7s %7s %7s  "

/* An RFC 3339 time in UTC ("2026-11-23T14:59:00.123456Z") to the second, as "2026-11-23
 * 14:59:00Z", which is what a table of recent runs needs. Anything else is returned as it is. */
static const char *time_cell(char *buf, size_t len, const char *s)
{
    static const char pattern[] = "dddd-dd-ddTdd:dd:dd";
    size_t n = s ? strlen(s) : 0;

    if (n < sizeof(pattern) || s[n - 1] != 'Z' || len < sizeof(pattern) + 1)
        return s;
    for (size_t i = 0; i < sizeof(pattern) - 1; i++)
        if (pattern[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != pattern[i])
            return s;
    memcpy(buf, s, sizeof(pattern) - 1);
    buf[10] = ' ';
    buf[sizeof(pattern) - 1] = 'Z';
    buf[sizeof(pattern)] = '\0';
    return buf;
}

static void recent_row(FILE *f, const json_t *o)
{
    char t[NUM_MAX], a[NUM_MAX], b[NUM_MAX], c[NUM_MAX], d[NUM_MAX], e[NUM_MAX];
    const json_t *declared = json_get(o, "declared");
    bool overlapped = json_is_true(json_get(o, "overlapped"));
    bool has_declared = json_is_object(declared) && json_object_size(declared) > 0;
    const char *flags = "-";

    if (overlapped && has_declared)
        flags = "overlapped,declared";
    else if (overlapped)
        flags = "overlapped";
    else if (has_declared)
        flags = "declared";

    fputs("  ", f);
    put_padded(f, time_cell(t, sizeof(t), json_get_string(o, "started_at")), RECENT_TIME_WIDTH);
    fprintf(f, RECENT_ROW, cell_of(a, sizeof(a), o, "complexity", -10),
            cell_of(b, sizeof(b), o, "cpu", 1), cell_of(c, sizeof(c), o, "memory", 1),
            cell_of(d, sizeof(d), o, "gpu", 1), cell_of(e, sizeof(e), o, "vram", 1));
    put_padded(f, json_get_string(o, "source"), RECENT_SOURCE_WIDTH);
    fprintf(f, "  %s\n", flags);
}

static void model_recent(FILE *f, const json_t *recent)
{
    size_t i, n;
    const json_t *o;

    if (!json_is_array(recent)) {
        fputs("\n  Recent observations: n/a\n", f);
        return;
    }
    n = json_array_size(recent);
    if (n == 0) {
        fputs("\n  Recent observations: none\n", f);
        return;
    }
    fputs("\n  Recent observations (newest first):\n  ", f);
    put_padded(f, "time", RECENT_TIME_WIDTH);
    fprintf(f, RECENT_ROW, "complexity", "cpu", "memory", "gpu", "vram");
    put_padded(f, "source", RECENT_SOURCE_WIDTH);
    fputs("  flags\n", f);
    json_array_foreach(recent, i, o) {
        if (i >= FORMAT_RECENT_MAX)
            break;
        recent_row(f, o);
    }
    if (n > FORMAT_RECENT_MAX)
        fprintf(f, "  (%zu older not shown; --json has them)\n", n - FORMAT_RECENT_MAX);
}

void format_model(FILE *f, const json_t *model)
{
    char a[NUM_MAX], b[NUM_MAX], c[NUM_MAX];
    const json_t *resources = json_get(model, "resources");
    const json_t *sufficient = json_get(model, "sufficient");

    fputs("\nModel: ", f);
    fputs_sanitized(json_get_string(model, "model"), f);
    model_params(f, json_get(model, "params"));
    fprintf(f, "\n  Observations: %s (%s needed to decide: %s)\n",
            count_of(a, sizeof(a), model, "observations"),
            count_of(b, sizeof(b), model, "min_observations"),
            sufficient_str(json_is_boolean(sufficient) ? json_is_true(sufficient) : -1));
    fputs("  Updated: ", f);
    fputs_sanitized(json_get_string(model, "updated_at"), f);
    fputc('\n', f);

    fputs("  Per resource, in percentage points (slope: per unit of complexity):\n", f);
    fprintf(f, MODEL_ROW, "resource", "slope", "intercept", "confidence", "n", "margin", "peak",
            "sufficient");
    for (size_t i = 0; i < ELEMENTSOF(model_resources); i++)
        model_resource(f, model_resources[i], json_get(resources, model_resources[i]));

    fprintf(f, "  %s of %s observations overlapped another task's window and were down-weighted\n",
            count_of(a, sizeof(a), model, "overlapped"),
            count_of(c, sizeof(c), model, "observations"));
    model_declared(f, json_get(model, "declared"));
    model_recent(f, json_get(model, "recent"));
}
