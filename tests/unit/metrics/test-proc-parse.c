/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "basic/macro.h"
#include "metrics-test-util.h"
#include "metrics/proc-parse.h"

#define KIB UINT64_C(1024)

/* Parses a string literal through an exact-size copy (no NUL terminator visible to the parser). */
static int stat_str(const char *s, struct proc_stat *ret)
{
    size_t n = strlen(s);
    char *b = dup_exact(s, n);
    int r = proc_stat_parse(b, n, ret);
    free(b);
    return r;
}

static int meminfo_str(const char *s, struct meminfo *ret)
{
    size_t n = strlen(s);
    char *b = dup_exact(s, n);
    int r = meminfo_parse(b, n, ret);
    free(b);
    return r;
}

static int psi_str(const char *s, struct psi_stats *ret)
{
    size_t n = strlen(s);
    char *b = dup_exact(s, n);
    int r = psi_parse(b, n, ret);
    free(b);
    return r;
}

static int loadavg_str(const char *s, struct loadavg *ret)
{
    size_t n = strlen(s);
    char *b = dup_exact(s, n);
    int r = loadavg_parse(b, n, ret);
    free(b);
    return r;
}

static int net_dev_str(const char *s, struct net_dev_totals *ret)
{
    size_t n = strlen(s);
    char *b = dup_exact(s, n);
    int r = net_dev_parse(b, n, ret);
    free(b);
    return r;
}

/* A whole-disk predicate backed by a NULL-terminated list, standing in for sys/block. */
static bool in_list(const char *name, void *userdata)
{
    const char *const *list = userdata;

    for (; *list; list++)
        if (strcmp(*list, name) == 0)
            return true;
    return false;
}

static int diskstats_str(const char *s, const char *const *disks, struct diskstats_totals *ret)
{
    size_t n = strlen(s);
    char *b = dup_exact(s, n);
    int r = diskstats_parse(b, n, disks ? in_list : NULL, (void *) disks, ret);
    free(b);
    return r;
}

static struct proc_stat *stat_new(void)
{
    struct proc_stat *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    return s;
}

/* ---- proc/stat */

static void test_stat_real_capture(void **state)
{
    struct proc_stat *st = stat_new();
    size_t n;
    char *b = read_fixture("proc/debian12-6.18-hybrid/stat", &n);

    assert_int_equal(proc_stat_parse(b, n, st), 0);
    assert_int_equal(st->total.user, 9323);
    assert_int_equal(st->total.nice, 0);
    assert_int_equal(st->total.system, 3446);
    assert_int_equal(st->total.idle, 453372);
    assert_int_equal(st->total.iowait, 650);
    assert_int_equal(st->total.irq, 0);
    assert_int_equal(st->total.softirq, 71);
    assert_int_equal(st->total.steal, 20);
    assert_int_equal(st->n_cpus, 2);
    assert_int_equal(st->n_cores, 2);
    assert_int_equal(st->core_id[0], 0);
    assert_int_equal(st->core_id[1], 1);
    assert_int_equal(st->core[1].user, 5759);
    assert_int_equal(st->core[1].iowait, 619);
    assert_true(st->has_ctxt && st->has_procs_running && st->has_procs_blocked);
    assert_int_equal(st->ctxt_total, 443777);
    assert_int_equal(st->procs_running, 1);
    assert_int_equal(st->procs_blocked, 0);
    free(b);
    free(st);
}

static void test_stat_other_kernels(void **state)
{
    struct proc_stat *st = stat_new();
    size_t n;
    char *b = read_fixture("proc/container-v2-5.10/stat", &n);

    assert_int_equal(proc_stat_parse(b, n, st), 0);
    assert_int_equal(st->n_cpus, 4);
    assert_int_equal(st->core_id[3], 3);
    assert_int_equal(st->core[3].softirq, 8306);
    assert_int_equal(st->total.user, 4705923);
    assert_int_equal(st->ctxt_total, 903376601);
    assert_int_equal(st->procs_running, 3);
    assert_int_equal(st->procs_blocked, 1);
    free(b);

    b = read_fixture("proc/legacy-v1-3.2/stat", &n);
    assert_int_equal(proc_stat_parse(b, n, st), 0);
    assert_int_equal(st->n_cpus, 2);
    assert_int_equal(st->total.idle, 22625563);
    assert_int_equal(st->total.irq, 127);
    assert_int_equal(st->ctxt_total, 1990473);
    free(b);

    /* Before 2.6.11 there was no steal column: 7 fields. */
    assert_int_equal(stat_str("cpu  10 20 30 40 50 60 70\ncpu0 10 20 30 40 50 60 70\n", st), 0);
    assert_int_equal(st->total.softirq, 70);
    assert_int_equal(st->total.steal, 0);
    assert_false(st->has_ctxt);
    assert_false(st->has_procs_running);

    /* The bare minimum: user nice system idle. */
    assert_int_equal(stat_str("cpu 1 2 3 4", st), 0);
    assert_int_equal(st->total.idle, 4);
    assert_int_equal(st->total.iowait, 0);
    assert_int_equal(st->n_cpus, 0);
    free(st);
}

static void test_stat_unknown_and_extra(void **state)
{
    struct proc_stat *st = stat_new();

    /* Extra columns after guest_nice, unknown keys, blank lines and "cpu…" keys that are not CPU
     * lines are all ignored. */
    assert_int_equal(stat_str("\n"
                              "cpu  1 2 3 4 5 6 7 8 9 10 11 12 13\n"
                              "cpufreq 99\n"
                              "cpu-x 1 2 3 4\n"
                              "cpu0 1 2 3 4 5 6 7 8 9 10 11\n"
                              "future_key 1 2 3\n"
                              "ctxt 5 6 7\n",
                              st),
                     0);
    assert_int_equal(st->total.steal, 8);
    assert_int_equal(st->n_cpus, 1);
    assert_int_equal(st->ctxt_total, 5);

    /* Sparse CPU numbers (offline CPUs are not listed) are fine. */
    assert_int_equal(stat_str("cpu 1 1 1 1\ncpu0 1 1 1 1\ncpu2 1 1 1 1\ncpu7 1 1 1 1\n", st), 0);
    assert_int_equal(st->n_cpus, 3);
    assert_int_equal(st->core_id[2], 7);
    free(st);
}

static void test_stat_malformed(void **state)
{
    struct proc_stat *st = stat_new();

    assert_int_equal(stat_str("", st), -EBADMSG);
    assert_int_equal(stat_str("\n\n", st), -EBADMSG);
    assert_int_equal(stat_str("cpu0 1 2 3 4\nctxt 5\n", st), -EBADMSG); /* no aggregate */
    assert_int_equal(stat_str("cpu 1 2 3\n", st), -EBADMSG);            /* too few fields */
    assert_int_equal(stat_str("cpu 1 2 3 4\ncpu0 1 2\n", st), -EBADMSG);
    assert_int_equal(stat_str("cpu 1 2 x 4\n", st), -EBADMSG);
    assert_int_equal(stat_str("cpu 1 2 -3 4\n", st), -EBADMSG);
    assert_int_equal(stat_str("cpu 1 2 3 4\nctxt\n", st), -EBADMSG);
    assert_int_equal(stat_str("cpu 1 2 3 4\nctxt abc\n", st), -EBADMSG);

    /* Duplicates. */
    assert_int_equal(stat_str("cpu 1 2 3 4\ncpu 1 2 3 4\n", st), -EBADMSG);
    assert_int_equal(stat_str("cpu 1 2 3 4\ncpu0 1 2 3 4\ncpu0 1 2 3 4\n", st), -EBADMSG);
    assert_int_equal(stat_str("cpu 1 2 3 4\ncpu1 1 2 3 4\ncpu0 1 2 3 4\n", st), -EBADMSG);
    assert_int_equal(stat_str("cpu 1 2 3 4\nctxt 1\nctxt 2\n", st), -EBADMSG);
    assert_int_equal(stat_str("cpu 1 2 3 4\nprocs_blocked 1\nprocs_blocked 1\n", st), -EBADMSG);

    /* Overflow is an error, never a wrap; the maximum itself is fine. */
    assert_int_equal(stat_str("cpu 18446744073709551616 0 0 0\n", st), -ERANGE);
    assert_int_equal(stat_str("cpu 1 1 1 1\nctxt 99999999999999999999999\n", st), -ERANGE);
    assert_int_equal(stat_str("cpu 1 1 1 1\ncpu4294967296 1 1 1 1\n", st), -ERANGE);
    assert_int_equal(stat_str("cpu 18446744073709551615 0 0 0\n", st), 0);
    assert_true(st->total.user == UINT64_MAX);

    /* NUL bytes inside a number are garbage, not a terminator. */
    static const char nul[] = "cpu 1 2\0 3 4\n";
    char *b = dup_exact(nul, sizeof(nul) - 1);
    assert_int_equal(proc_stat_parse(b, sizeof(nul) - 1, st), -EBADMSG);
    free(b);
    free(st);
}

static void test_stat_ret_untouched_on_failure(void **state)
{
    struct proc_stat *st = stat_new();

    assert_int_equal(stat_str("cpu 1 2 3 4\ncpu0 1 2 3 4\nctxt 9\n", st), 0);
    assert_int_equal(stat_str("cpu 5 6 7 8\nctxt 10\nctxt 11\n", st), -EBADMSG);
    assert_int_equal(st->total.user, 1);
    assert_int_equal(st->ctxt_total, 9);
    assert_int_equal(st->n_cpus, 1);
    free(st);
}

static void test_stat_bound_and_length(void **state)
{
    struct proc_stat *st = stat_new();
    size_t cap = 64 * (HR_CPUS_MAX + 10), len = 0;
    char *text = malloc(cap);

    assert_non_null(text);
    len += (size_t) snprintf(text + len, cap - len, "cpu 1 1 1 1\n");
    for (unsigned i = 0; i < HR_CPUS_MAX + 6; i++)
        len += (size_t) snprintf(text + len, cap - len, "cpu%u %u 0 0 10\n", i, i);
    char *b = dup_exact(text, len);
    assert_int_equal(proc_stat_parse(b, len, st), 0);
    assert_int_equal(st->n_cpus, HR_CPUS_MAX + 6);
    assert_int_equal(st->n_cores, HR_CPUS_MAX);
    assert_int_equal(st->core_id[HR_CPUS_MAX - 1], HR_CPUS_MAX - 1);
    assert_int_equal(st->core[HR_CPUS_MAX - 1].user, HR_CPUS_MAX - 1);
    free(b);
    free(text);

    /* n bounds the parse: the "5" after the cut is never seen. */
    static const char s[] = "cpu 1 2 3 4 5";
    b = dup_exact(s, 11);
    assert_int_equal(proc_stat_parse(b, 11, st), 0);
    assert_int_equal(st->total.idle, 4);
    assert_int_equal(st->total.iowait, 0);
    free(b);
    free(st);
}

static void test_stat_busy_pct(void **state)
{
    struct proc_stat_cpu a = { .user = 100, .system = 50, .idle = 800, .iowait = 50 };
    struct proc_stat_cpu b = a;

    b.user += 150;
    b.system += 50;
    b.idle += 150;
    b.iowait += 50;
    /* busy 200, idle 150 + iowait 50: 50 %. */
    assert_float_equal(proc_stat_cpu_busy_pct(&a, &b), 50.0, 1e-9);

    /* iowait is idle, not busy. */
    b = a;
    b.iowait += 100;
    assert_float_equal(proc_stat_cpu_busy_pct(&a, &b), 0.0, 1e-9);

    /* steal, irq and softirq are busy; nice too. */
    b = a;
    b.steal += 10;
    b.irq += 10;
    b.softirq += 10;
    b.nice += 10;
    assert_float_equal(proc_stat_cpu_busy_pct(&a, &b), 100.0, 1e-9);

    /* A field going backwards counts as 0, not as a huge unsigned delta. */
    b = a;
    b.iowait -= 40;
    b.user += 30;
    b.idle += 90;
    assert_float_equal(proc_stat_cpu_busy_pct(&a, &b), 25.0, 1e-9);

    /* No time passed. */
    assert_float_equal(proc_stat_cpu_busy_pct(&a, &a), 0.0, 1e-9);
}

static void test_stat_core_pct(void **state)
{
    struct proc_stat *prev = stat_new(), *cur = stat_new();
    double pct[8];

    /* CPU 1 goes offline and CPU 3 comes online between the readings. */
    assert_int_equal(
            stat_str("cpu 0 0 0 0\ncpu0 0 0 0 100\ncpu1 0 0 0 100\ncpu2 50 0 0 50\n", prev), 0);
    assert_int_equal(
            stat_str("cpu 0 0 0 0\ncpu0 25 0 0 175\ncpu2 150 0 0 50\ncpu3 99 0 0 1\n", cur), 0);
    assert_int_equal(proc_stat_core_pct(prev, cur, pct), 3);
    assert_float_equal(pct[0], 25.0, 1e-9);
    assert_float_equal(pct[1], 100.0, 1e-9);
    assert_float_equal(pct[2], 0.0, 1e-9);
    free(prev);
    free(cur);
}

/* ---- proc/meminfo */

static void test_meminfo_real_capture(void **state)
{
    struct meminfo mi;
    size_t n;
    char *b = read_fixture("proc/debian12-6.18-hybrid/meminfo", &n);

    assert_int_equal(meminfo_parse(b, n, &mi), 0);
    assert_true(mi.mem_total_bytes == 24684092 * KIB);
    assert_true(mi.mem_free_bytes == 24083428 * KIB);
    assert_true(mi.mem_available_bytes == 24300752 * KIB);
    assert_true(mi.buffers_bytes == 2892 * KIB);
    assert_true(mi.cached_bytes == 398260 * KIB);
    assert_true(mi.swap_total_bytes == 0);
    assert_false(mi.mem_available_estimated);
    free(b);

    b = read_fixture("proc/container-v2-5.10/meminfo", &n);
    assert_int_equal(meminfo_parse(b, n, &mi), 0);
    assert_true(mi.mem_available_bytes == 11027436 * KIB);
    assert_true(mi.swap_total_bytes == 2097148 * KIB);
    assert_true(mi.swap_free_bytes == 2051580 * KIB);
    free(b);
}

static void test_meminfo_no_mem_available(void **state)
{
    struct meminfo mi;
    size_t n;
    char *b = read_fixture("proc/legacy-v1-3.2/meminfo", &n);

    assert_int_equal(meminfo_parse(b, n, &mi), 0);
    assert_true(mi.mem_available_estimated);
    assert_true(mi.mem_available_bytes == (1502344 + 160512 + 1421884) * KIB);
    assert_true(mi.swap_free_bytes == 4192252 * KIB);
    free(b);

    /* The estimate never exceeds MemTotal. */
    assert_int_equal(
            meminfo_str("MemTotal: 100 kB\nMemFree: 80 kB\nBuffers: 30 kB\nCached: 30 kB\n", &mi),
            0);
    assert_true(mi.mem_available_estimated);
    assert_true(mi.mem_available_bytes == 100 * KIB);
    assert_true(mi.swap_total_bytes == 0);
}

static void test_meminfo_malformed(void **state)
{
    struct meminfo mi = { .mem_total_bytes = 42 };

    assert_int_equal(meminfo_str("", &mi), -EBADMSG);
    assert_int_equal(meminfo_str("MemFree: 1 kB\n", &mi), -EBADMSG);  /* no MemTotal */
    assert_int_equal(meminfo_str("MemTotal: 1 kB\n", &mi), -EBADMSG); /* no MemFree */
    assert_int_equal(meminfo_str("MemTotal: 0 kB\nMemFree: 0 kB\n", &mi), -EBADMSG);
    assert_int_equal(meminfo_str("MemTotal: 1 MB\nMemFree: 1 kB\n", &mi), -EBADMSG);
    assert_int_equal(meminfo_str("MemTotal: 1\nMemFree: 1 kB\n", &mi), -EBADMSG);
    assert_int_equal(meminfo_str("MemTotal: 1 kB extra\nMemFree: 1 kB\n", &mi), -EBADMSG);
    assert_int_equal(meminfo_str("MemTotal: x kB\nMemFree: 1 kB\n", &mi), -EBADMSG);
    assert_int_equal(meminfo_str("MemTotal: 2 kB\nMemFree: 1 kB\nMemTotal: 2 kB\n", &mi), -EBADMSG);
    /* 2^54 kB is 2^64 bytes: one past what fits. */
    assert_int_equal(meminfo_str("MemTotal: 18014398509481984 kB\nMemFree: 1 kB\n", &mi), -ERANGE);
    assert_int_equal(meminfo_str("MemTotal: 18446744073709551616 kB\nMemFree: 1 kB\n", &mi),
                     -ERANGE);
    assert_true(mi.mem_total_bytes == 42);

    /* A key we do not use may repeat, carry no unit, or hold anything. */
    assert_int_equal(meminfo_str("HugePages_Total: 0\nHugePages_Total: x\nMemTotal: 8 kB\n"
                                 "MemFree: 4 kB\nMemAvailable: 6 kB\nNewKey: 1 kB\n",
                                 &mi),
                     0);
    assert_true(mi.mem_total_bytes == 8 * KIB);
    assert_true(mi.mem_available_bytes == 6 * KIB);
    assert_false(mi.mem_available_estimated);

    /* Largest value that fits. */
    assert_int_equal(meminfo_str("MemTotal: 18014398509481983 kB\nMemFree: 1 kB\n", &mi), 0);
    assert_true(mi.mem_total_bytes == UINT64_C(18014398509481983) * KIB);
}

/* ---- PSI */

static void test_psi_real_capture(void **state)
{
    struct psi_stats p;
    size_t n;
    char *b = read_fixture("proc/debian12-6.18-hybrid/pressure/cpu", &n);

    assert_int_equal(psi_parse(b, n, &p), 0);
    assert_true(p.available);
    assert_true(p.has_full);
    assert_float_equal(p.some.avg10, 5.97, 1e-9);
    assert_float_equal(p.some.avg60, 4.91, 1e-9);
    assert_float_equal(p.some.avg300, 2.06, 1e-9);
    assert_true(p.some.total_usec == 13747238);
    assert_true(p.full.total_usec == 0);
    free(b);

    b = read_fixture("proc/debian12-6.18-hybrid/pressure/io", &n);
    assert_int_equal(psi_parse(b, n, &p), 0);
    assert_float_equal(p.full.avg60, 0.47, 1e-9);
    assert_true(p.full.total_usec == 5420946);
    free(b);

    /* Before 5.13 the system-wide cpu file has no "full" line. */
    b = read_fixture("proc/container-v2-5.10/pressure/cpu", &n);
    assert_int_equal(psi_parse(b, n, &p), 0);
    assert_false(p.has_full);
    assert_float_equal(p.some.avg10, 12.45, 1e-9);
    assert_true(p.some.total_usec == 981234567);
    free(b);
}

static void test_psi_variants(void **state)
{
    struct psi_stats p;

    /* Unknown keys and unknown line kinds are ignored; key order does not matter. */
    assert_int_equal(psi_str("some total=7 avg300=3.00 future=1 avg60=2.00 avg10=1.00\n"
                             "partial avg10=9.00\n"
                             "full avg10=0.50 avg60=0.25 avg300=0.125 total=3 extra=x\n",
                             &p),
                     0);
    assert_float_equal(p.some.avg10, 1.0, 1e-9);
    assert_true(p.some.total_usec == 7);
    assert_float_equal(p.full.avg300, 0.125, 1e-9);
    assert_true(p.has_full);

    assert_int_equal(psi_str("some avg10=100.00 avg60=0 avg300=0 total=0", &p), 0);
    assert_float_equal(p.some.avg10, 100.0, 1e-9);
}

static void test_psi_malformed(void **state)
{
    struct psi_stats p = { .some.total_usec = 77 };

    assert_int_equal(psi_str("", &p), -EBADMSG);
    assert_int_equal(psi_str("full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", &p), -EBADMSG);
    assert_int_equal(psi_str("some avg10=0.00 avg60=0.00 avg300=0.00\n", &p), -EBADMSG);
    assert_int_equal(psi_str("some avg10=0.00 avg60=0.00 total=1\n", &p), -EBADMSG);
    assert_int_equal(psi_str("some avg10=0.00 avg10=0.00 avg60=0.00 avg300=0.00 total=1\n", &p),
                     -EBADMSG);
    assert_int_equal(psi_str("some avg10=0.00 avg60=0.00 avg300=0.00 total=1\n"
                             "some avg10=0.00 avg60=0.00 avg300=0.00 total=1\n",
                             &p),
                     -EBADMSG);
    assert_int_equal(psi_str("some avg10=-1.00 avg60=0.00 avg300=0.00 total=1\n", &p), -EBADMSG);
    assert_int_equal(psi_str("some avg10=nan avg60=0.00 avg300=0.00 total=1\n", &p), -EBADMSG);
    assert_int_equal(psi_str("some avg10=1e5 avg60=0.00 avg300=0.00 total=1\n", &p), -EBADMSG);
    assert_int_equal(psi_str("some avg10=1..0 avg60=0.00 avg300=0.00 total=1\n", &p), -EBADMSG);
    assert_int_equal(psi_str("some avg10= avg60=0.00 avg300=0.00 total=1\n", &p), -EBADMSG);
    assert_int_equal(psi_str("some avg10 avg60=0.00 avg300=0.00 total=1\n", &p), -EBADMSG);
    assert_int_equal(psi_str("some avg10=100.01 avg60=0.00 avg300=0.00 total=1\n", &p), -ERANGE);
    assert_int_equal(psi_str("some avg10=0 avg60=0 avg300=0 total=18446744073709551616\n", &p),
                     -ERANGE);
    assert_int_equal(psi_str("some avg10=0 avg60=0 avg300=0 total=1\nfull avg10=0\n", &p),
                     -EBADMSG);
    assert_true(p.some.total_usec == 77);
}

/* ---- proc/loadavg */

static void test_loadavg(void **state)
{
    struct loadavg la = {};
    size_t n;
    char *b = read_fixture("proc/debian12-6.18-hybrid/loadavg", &n);

    assert_int_equal(loadavg_parse(b, n, &la), 0);
    assert_float_equal(la.load1, 0.49, 1e-9);
    assert_float_equal(la.load5, 0.21, 1e-9);
    assert_float_equal(la.load15, 0.08, 1e-9);
    assert_true(la.runnable == 1);
    assert_true(la.threads == 89);
    free(b);

    b = read_fixture("proc/container-v2-5.10/loadavg", &n);
    assert_int_equal(loadavg_parse(b, n, &la), 0);
    assert_float_equal(la.load1, 1.52, 1e-9);
    assert_float_equal(la.load15, 0.71, 1e-9);
    assert_true(la.runnable == 3);
    assert_true(la.threads == 1043);
    free(b);

    /* Without the last PID, and with anything after it. */
    assert_int_equal(loadavg_str("1.00 2.00 3.00 4/5", &la), 0);
    assert_true(la.threads == 5);
    assert_int_equal(loadavg_str("1.00 2.00 3.00 4/6 7 8 9\nsecond line\n", &la), 0);
    assert_true(la.threads == 6);

    assert_int_equal(loadavg_str("", &la), -EBADMSG);
    assert_int_equal(loadavg_str("1.00 2.00 3.00\n", &la), -EBADMSG);
    assert_int_equal(loadavg_str("1.00 2.00 3.00 4 5\n", &la), -EBADMSG);
    assert_int_equal(loadavg_str("1.00 2.00 3.00 4/x 5\n", &la), -EBADMSG);
    assert_int_equal(loadavg_str("1.00 -2.00 3.00 4/5 5\n", &la), -EBADMSG);
    assert_int_equal(loadavg_str("\n1.00 2.00 3.00 4/5 5\n", &la), -EBADMSG);
    assert_int_equal(loadavg_str("1.00 2.00 3.00 4/18446744073709551616 5\n", &la), -ERANGE);
    assert_true(la.threads == 6);
}

/* ---- proc/diskstats */

static void test_diskstats_real_capture(void **state)
{
    /* The capture's sys/block: loop0-7 and zram0 exist but are virtual; vda is the one disk. */
    static const char *const disks[] = { "loop0", "loop1", "vda", "zram0", NULL };
    struct diskstats_totals t;
    size_t n;
    char *b = read_fixture("proc/debian12-6.18-hybrid/diskstats", &n);

    assert_int_equal(diskstats_parse(b, n, in_list, (void *) disks, &t), 0);
    assert_int_equal(t.n_disks, 1);
    assert_true(t.read_bytes == UINT64_C(4182018) * 512);
    assert_true(t.written_bytes == UINT64_C(1166472) * 512);
    free(b);
}

static void test_diskstats_other_kernels(void **state)
{
    static const char *const v510[] = { "nvme0n1", "dm-0", NULL };
    static const char *const v32[] = { "sda", "sr0", NULL };
    struct diskstats_totals t;
    size_t n;

    /* 5.10, 20 fields: the disk and the device-mapper device count, partitions do not. */
    char *b = read_fixture("proc/container-v2-5.10/diskstats", &n);
    assert_int_equal(diskstats_parse(b, n, in_list, (void *) v510, &t), 0);
    assert_int_equal(t.n_disks, 2);
    assert_true(t.read_bytes == (UINT64_C(98476590) + 98453392) * 512);
    assert_true(t.written_bytes == (UINT64_C(187123752) + 187123750) * 512);
    free(b);

    /* 3.2, 14 fields, with ram* devices. */
    b = read_fixture("proc/legacy-v1-3.2/diskstats", &n);
    assert_int_equal(diskstats_parse(b, n, in_list, (void *) v32, &t), 0);
    assert_int_equal(t.n_disks, 2);
    assert_true(t.read_bytes == UINT64_C(4765902) * 512);
    assert_true(t.written_bytes == UINT64_C(2779096) * 512);

    /* Without a predicate every non-virtual line counts, partitions included. */
    assert_int_equal(diskstats_parse(b, n, NULL, NULL, &t), 0);
    assert_int_equal(t.n_disks, 5);
    assert_true(t.read_bytes == (UINT64_C(4765902) + 4764062 + 4 + 1184) * 512);
    free(b);

    /* 4.18+, 18 fields (discards, no flushes). */
    assert_int_equal(
            diskstats_str("   8  0 sda 1 2 300 4 5 6 700 8 9 10 11 12 13 14 15\n", NULL, &t), 0);
    assert_true(t.read_bytes == 300 * 512);
    assert_true(t.written_bytes == 700 * 512);
    /* A later kernel's extra fields are ignored. */
    assert_int_equal(
            diskstats_str("8 0 sda 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20\n", NULL, &t),
            0);
    assert_true(t.read_bytes == 3 * 512);
}

static void test_diskstats_rules(void **state)
{
    static const char *const all[] = { "sda", "loop0", "ram0", "zram0", NULL };
    struct diskstats_totals t = { .n_disks = 99 };

    assert_true(diskstats_name_is_virtual("loop12"));
    assert_true(diskstats_name_is_virtual("ram0"));
    assert_true(diskstats_name_is_virtual("zram0"));
    assert_false(diskstats_name_is_virtual("sda"));
    assert_false(diskstats_name_is_virtual("dm-0"));
    assert_false(diskstats_name_is_virtual("nvme0n1"));

    /* Virtual devices are skipped even when the predicate would accept them. */
    assert_int_equal(diskstats_str("7 0 loop0 1 0 10 0 1 0 10 0 0 0 0\n"
                                   "1 0 ram0 1 0 10 0 1 0 10 0 0 0 0\n"
                                   "252 0 zram0 1 0 10 0 1 0 10 0 0 0 0\n"
                                   "8 0 sda 1 0 2 0 1 0 4 0 0 0 0\n",
                                   all, &t),
                     0);
    assert_int_equal(t.n_disks, 1);
    assert_true(t.read_bytes == 2 * 512);

    /* Empty input: no disks, no error. */
    assert_int_equal(diskstats_str("", all, &t), 0);
    assert_int_equal(t.n_disks, 0);
    assert_true(t.read_bytes == 0);

    /* A repeated device is summed again (each line is a record). */
    assert_int_equal(diskstats_str("8 0 sda 1 0 2 0 1 0 4 0 0 0 0\n8 0 sda 1 0 2 0 1 0 4 0 0 0 0\n",
                                   all, &t),
                     0);
    assert_int_equal(t.n_disks, 2);
    assert_true(t.written_bytes == 8 * 512);

    /* Sums wrap modulo 2^64 instead of saturating. */
    assert_int_equal(diskstats_str("8 0 sda 0 0 36028797018963967 0 0 0 0 0 0 0 0\n"
                                   "8 16 sdb 0 0 2 0 0 0 0 0 0 0 0\n",
                                   NULL, &t),
                     0);
    assert_true(t.read_bytes == (uint64_t) (UINT64_C(36028797018963967) * 512 + 2 * 512));

    t.n_disks = 99;
    assert_int_equal(diskstats_str("8 0 sda 1 0 2 0 1 0 4 0 0 0\n", NULL, &t),
                     -EBADMSG);                                                /* 13 fields */
    assert_int_equal(diskstats_str("8 0 sda1 1 2 3 4\n", NULL, &t), -EBADMSG); /* 2.6 partition */
    assert_int_equal(diskstats_str("8 0\n", NULL, &t), -EBADMSG);
    assert_int_equal(diskstats_str("x 0 sda 1 0 2 0 1 0 4 0 0 0 0\n", NULL, &t), -EBADMSG);
    assert_int_equal(diskstats_str("8 0 sda 1 0 2x 0 1 0 4 0 0 0 0\n", NULL, &t), -EBADMSG);
    assert_int_equal(diskstats_str("8 0 sda 1 0 18446744073709551616 0 1 0 4 0 0 0 0\n", NULL, &t),
                     -ERANGE);
    assert_int_equal(
            diskstats_str("8 0 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                          " 1 0 2 0 1 0 4 0 0 0 0\n",
                          NULL, &t),
            -EBADMSG);
    assert_int_equal(t.n_disks, 99);
}

static bool record_name(const char *name, void *userdata)
{
    char *out = userdata;

    /* The name is a proper C string: strlen stops at the name, not at the rest of the line. */
    assert_int_equal(strlen(name), 7);
    strcpy(out, name);
    return true;
}

static void test_diskstats_callback_gets_name(void **state)
{
    static const char s[] = "259 0 nvme0n1 1 0 2 0 1 0 4 0 0 0 0";
    struct diskstats_totals t;
    char seen[64] = "";
    char *b = dup_exact(s, sizeof(s) - 1);

    assert_int_equal(diskstats_parse(b, sizeof(s) - 1, record_name, seen, &t), 0);
    assert_string_equal(seen, "nvme0n1");
    free(b);
}

/* ---- proc/net/dev */

static void test_net_dev_real_capture(void **state)
{
    struct net_dev_totals t;
    size_t n;
    char *b = read_fixture("proc/debian12-6.18-hybrid/net/dev", &n);

    assert_int_equal(net_dev_parse(b, n, &t), 0);
    assert_int_equal(t.n_interfaces, 3); /* ifb0, ifb1, eth0; lo is excluded */
    assert_true(t.rx_bytes == 39350369);
    assert_true(t.tx_bytes == 43553);
    free(b);
}

static void test_net_dev_other_kernels(void **state)
{
    struct net_dev_totals t;
    size_t n;

    /* The counter touches the colon: "eth0:98765432101". */
    char *b = read_fixture("proc/container-v2-5.10/net/dev", &n);
    assert_int_equal(net_dev_parse(b, n, &t), 0);
    assert_int_equal(t.n_interfaces, 1);
    assert_true(t.rx_bytes == UINT64_C(98765432101));
    assert_true(t.tx_bytes == UINT64_C(12345678901));
    free(b);

    b = read_fixture("proc/legacy-v1-3.2/net/dev", &n);
    assert_int_equal(net_dev_parse(b, n, &t), 0);
    assert_int_equal(t.n_interfaces, 2);
    assert_true(t.rx_bytes == UINT64_C(1425386301));
    assert_true(t.tx_bytes == UINT64_C(97633417));
    free(b);
}

static void test_net_dev_rules(void **state)
{
    struct net_dev_totals t = { .n_interfaces = 99 };

    assert_int_equal(net_dev_str("", &t), 0);
    assert_int_equal(t.n_interfaces, 0);
    assert_int_equal(net_dev_str("header without colon\n", &t), 0);

    /* Extra counters a later kernel might add are ignored; lines are summed as records. */
    assert_int_equal(net_dev_str("a:1 0 0 0 0 0 0 0 2 0 0 0 0 0 0 0 99 99\n"
                                 "a:1 0 0 0 0 0 0 0 2 0 0 0 0 0 0 0\n"
                                 "  lo:5 0 0 0 0 0 0 0 5 0 0 0 0 0 0 0\n",
                                 &t),
                     0);
    assert_int_equal(t.n_interfaces, 2);
    assert_true(t.rx_bytes == 2);
    assert_true(t.tx_bytes == 4);

    t.n_interfaces = 99;
    assert_int_equal(net_dev_str("eth0: 1 2 3\n", &t), -EBADMSG);
    assert_int_equal(net_dev_str(" : 1 0 0 0 0 0 0 0 2 0 0 0 0 0 0 0\n", &t), -EBADMSG);
    assert_int_equal(net_dev_str("eth0: 1 0 0 0 0 0 0 0 x 0 0 0 0 0 0 0\n", &t), -EBADMSG);
    assert_int_equal(net_dev_str("eth0:18446744073709551616 0 0 0 0 0 0 0 2 0 0 0 0 0 0 0\n", &t),
                     -ERANGE);
    assert_int_equal(t.n_interfaces, 99);
}

/* ---- truncation and hostile bytes for every parser */

static int parse_any(int which, const char *b, size_t n)
{
    static struct proc_stat st;
    struct meminfo mi;
    struct psi_stats p;
    struct loadavg la;
    struct diskstats_totals d;
    struct net_dev_totals nd;

    switch (which) {
    case 0:
        return proc_stat_parse(b, n, &st);
    case 1:
        return meminfo_parse(b, n, &mi);
    case 2:
        return psi_parse(b, n, &p);
    case 3:
        return loadavg_parse(b, n, &la);
    case 4:
        return diskstats_parse(b, n, NULL, NULL, &d);
    default:
        return net_dev_parse(b, n, &nd);
    }
}

static void test_truncated_captures(void **state)
{
    static const char *const files[] = { "stat",    "meminfo",   "pressure/io",
                                         "loadavg", "diskstats", "net/dev" };
    static const char *const scenarios[] = { "debian12-6.18-hybrid", "container-v2-5.10" };

    for (size_t sc = 0; sc < ELEMENTSOF(scenarios); sc++)
        for (int f = 0; f < (int) ELEMENTSOF(files); f++) {
            char rel[256];
            size_t n;

            (void) snprintf(rel, sizeof(rel), "proc/%s/%s", scenarios[sc], files[f]);
            char *full = read_fixture(rel, &n);
            assert_int_equal(parse_any(f, full, n), 0);
            /* Every prefix: a clean result or a clean error, and never a read past the cut (the
             * copy is exactly k bytes, so ASan would catch it). */
            for (size_t k = 0; k < n; k++) {
                char *b = dup_exact(full, k);
                int r = parse_any(f, b, k);
                assert_true(r == 0 || r == -EBADMSG || r == -ERANGE);
                free(b);
            }
            free(full);
        }

    /* Specific cuts with a known answer. */
    struct meminfo mi;
    struct loadavg la;
    struct psi_stats p;
    assert_int_equal(meminfo_str("MemTotal:       24684092 kB\nMemFr", &mi), -EBADMSG);
    assert_int_equal(meminfo_str("MemTotal:       24684092 kB\nMemFree: 12", &mi), -EBADMSG);
    assert_int_equal(loadavg_str("0.00 0.01 0.00 1/", &la), -EBADMSG);
    assert_int_equal(psi_str("some avg10=2.30 avg60=0.70 avg300=0.24 tot", &p), -EBADMSG);
}

static void test_hostile_bytes(void **state)
{
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    char buf[512];

    for (int i = 0; i < 20000; i++) {
        size_t n = test_rand(&seed) % sizeof(buf);
        hostile_bytes(&seed, buf, n);
        char *b = dup_exact(buf, n);
        int r = parse_any(i % 6, b, n);
        assert_true(r == 0 || r == -EBADMSG || r == -ERANGE);
        free(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stat_real_capture),
        cmocka_unit_test(test_stat_other_kernels),
        cmocka_unit_test(test_stat_unknown_and_extra),
        cmocka_unit_test(test_stat_malformed),
        cmocka_unit_test(test_stat_ret_untouched_on_failure),
        cmocka_unit_test(test_stat_bound_and_length),
        cmocka_unit_test(test_stat_busy_pct),
        cmocka_unit_test(test_stat_core_pct),
        cmocka_unit_test(test_meminfo_real_capture),
        cmocka_unit_test(test_meminfo_no_mem_available),
        cmocka_unit_test(test_meminfo_malformed),
        cmocka_unit_test(test_psi_real_capture),
        cmocka_unit_test(test_psi_variants),
        cmocka_unit_test(test_psi_malformed),
        cmocka_unit_test(test_loadavg),
        cmocka_unit_test(test_diskstats_real_capture),
        cmocka_unit_test(test_diskstats_other_kernels),
        cmocka_unit_test(test_diskstats_rules),
        cmocka_unit_test(test_diskstats_callback_gets_name),
        cmocka_unit_test(test_net_dev_real_capture),
        cmocka_unit_test(test_net_dev_other_kernels),
        cmocka_unit_test(test_net_dev_rules),
        cmocka_unit_test(test_truncated_captures),
        cmocka_unit_test(test_hostile_bytes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
