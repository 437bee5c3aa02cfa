/* SPDX-License-Identifier: MIT */
/* The pure parts of src/supervise: /proc/PID and cgroup file parsers, and the cgroup plan decided
 * from mountinfo and proc/self/cgroup texts (fixtures in tests/fixtures/sys-cgroup-*). */

#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
/* cmocka needs setjmp.h, stdarg.h and stddef.h first. */
#include <cmocka.h>

#include "basic/fileio.h"
#include "basic/macro.h"
#include "supervise/sv-internal.h"

/* An exact copy without a NUL terminator, so that ASan catches a read past n. */
static char *dup_exact(const char *s, size_t n)
{
    char *b = malloc(n ? n : 1);
    assert_non_null(b);
    memcpy(b, s, n);
    return b;
}

#define WITH_EXACT(s, call)            \
    ({                                 \
        size_t n_ = strlen(s);         \
        char *b_ = dup_exact((s), n_); \
        int r_ = call(b_, n_);         \
        free(b_);                      \
        r_;                            \
    })

/* ---- /proc/PID/stat ---- */

static int stat_str(const char *s, struct sv_proc_stat *st)
{
#define CALL(b, n) sv_proc_stat_parse(b, n, st)
    return WITH_EXACT(s, CALL);
#undef CALL
}

/* Captured on Debian 12, kernel 6.18 (cat reading its own stat). */
static const char stat_real[] =
        "2154 (cat) R 2150 2150 30310 0 -1 4194304 98 0 0 0 3 5 7 11 20 0 1 0 1293938 3133440 409 "
        "18446744073709551615 94167877091328 94167877111209 140727159635712 0 0 0 0 0 0 0 0 0 17 1 "
        "0 "
        "0 0 0 0 94167877127216 94167877128832 94168694710272 140727159638667 140727159638687 "
        "140727159638687 140727159640043 0\n";

static void test_stat_real(void **state)
{
    struct sv_proc_stat st;
    assert_int_equal(stat_str(stat_real, &st), 0);
    assert_int_equal(st.state, 'R');
    assert_int_equal(st.ppid, 2150);
    assert_int_equal(st.pgrp, 2150);
    assert_int_equal(st.session, 30310);
    assert_int_equal(st.utime_ticks, 3);
    assert_int_equal(st.stime_ticks, 5);
    assert_int_equal(st.cutime_ticks, 7);
    assert_int_equal(st.cstime_ticks, 11);
    assert_int_equal(st.num_threads, 1);
    assert_int_equal(st.starttime_ticks, 1293938);
    assert_int_equal(st.rss_pages, 409);
}

static void test_stat_hostile_comm(void **state)
{
    struct sv_proc_stat st;
    /* A comm made to look like fields: only the last ')' counts. */
    const char *s =
            "77 (x) R 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22) S 5 77 77 0 -1 0 "
            "0 0 0 0 100 200 0 0 20 0 3 0 999 1000 50\n";
    assert_int_equal(stat_str(s, &st), 0);
    assert_int_equal(st.state, 'S');
    assert_int_equal(st.ppid, 5);
    assert_int_equal(st.pgrp, 77);
    assert_int_equal(st.utime_ticks, 100);
    assert_int_equal(st.stime_ticks, 200);
    assert_int_equal(st.num_threads, 3);
    assert_int_equal(st.rss_pages, 50);

    /* Spaces and newlines inside the comm. */
    s = "8 (a b\nc) Z 1 8 8 0 -1 0 0 0 0 0 1 2 3 4 20 0 1 0 5 0 0\n";
    assert_int_equal(stat_str(s, &st), 0);
    assert_int_equal(st.state, 'Z');
    assert_int_equal(st.cstime_ticks, 4);
}

static void test_stat_bad(void **state)
{
    struct sv_proc_stat st = { .pgrp = 4242 };
    /* Truncated at every length: never a read past the end, never a success before field 24. */
    size_t full = strlen(stat_real);
    const char *p24 = strstr(stat_real, " 409 ");
    assert_non_null(p24);
    size_t need = (size_t) (p24 - stat_real) + 5; /* through "409 " */
    for (size_t n = 0; n < full; n++) {
        char *b = dup_exact(stat_real, n);
        int r = sv_proc_stat_parse(b, n, &st);
        free(b);
        if (n < need)
            assert_int_equal(r, -EBADMSG);
        else
            assert_int_equal(r, 0);
    }
    st.pgrp = 4242;
    assert_int_equal(stat_str("", &st), -EBADMSG);
    assert_int_equal(stat_str("1 (no close paren R 1 1 1", &st), -EBADMSG);
    assert_int_equal(stat_str("1 (x) R 1 1 1 0 -1 0 0 0 0 0 -5 0 0 0 20 0 1 0 5 0 0", &st),
                     -EBADMSG); /* negative utime */
    assert_int_equal(stat_str("1 (x) R 1 99999999999 1 0 -1 0 0 0 0 0 1 0 0 0 20 0 1 0 5 0 0", &st),
                     -EBADMSG); /* pgrp out of range */
    assert_int_equal(stat_str("1 (x) RR 1 1 1 0 -1 0 0 0 0 0 1 0 0 0 20 0 1 0 5 0 0", &st),
                     -EBADMSG);
    assert_int_equal(stat_str("1 (x) R 1 1 1 0 -1 0 0 0 0 0 1x 0 0 0 20 0 1 0 5 0 0", &st),
                     -EBADMSG);
    /* A NUL inside a number. */
    char nul[] = "1 (x) R 1 1 1 0 -1 0 0 0 0 0 7 0 0 0 20 0 1 0 5 0 0";
    char *z = strstr(nul, " 7 "); /* utime, field 14 */
    z[1] = '\0';
    size_t n = sizeof nul - 1;
    char *b = dup_exact(nul, n);
    assert_int_equal(sv_proc_stat_parse(b, n, &st), -EBADMSG);
    free(b);
    assert_int_equal(st.pgrp, 4242); /* untouched on failure */
}

/* ---- /proc/PID/status ---- */

static int status_str(const char *s, struct sv_proc_status *st)
{
#define CALL(b, n) sv_proc_status_parse(b, n, st)
    return WITH_EXACT(s, CALL);
#undef CALL
}

static void test_status(void **state)
{
    struct sv_proc_status st;
    const char *real =
            "Name:\thead\nUmask:\t0022\nState:\tR (running)\nTgid:\t2156\nPid:\t2156\n"
            "VmPeak:\t    2928 kB\nVmSize:\t    2928 kB\nVmHWM:\t    1712 kB\n"
            "VmRSS:\t    1700 kB\nRssAnon:\t     116 kB\nThreads:\t1\n"
            "SigQ:\t0/96365\nCpus_allowed_list:\t0-1\n";
    assert_int_equal(status_str(real, &st), 0);
    assert_true(st.has_vm);
    assert_int_equal(st.vm_rss_bytes, 1700ULL * 1024);
    assert_int_equal(st.vm_hwm_bytes, 1712ULL * 1024);
    assert_int_equal(st.threads, 1);

    /* A zombie or kernel thread: no Vm lines. */
    assert_int_equal(status_str("Name:\tkworker/0:1\nState:\tI (idle)\nThreads:\t1\n", &st), 0);
    assert_false(st.has_vm);
    assert_int_equal(st.vm_rss_bytes, 0);

    /* Unknown keys and odd lines are ignored; the order does not matter. */
    assert_int_equal(status_str("Threads:\t7\nNewKey:\tx y z\nno colon here\nVmRSS:\t5 kB", &st),
                     0);
    assert_int_equal(st.threads, 7);
    assert_int_equal(st.vm_rss_bytes, 5120);

    assert_int_equal(status_str("VmRSS:\t5 kB\n", &st), -EBADMSG); /* no Threads */
    assert_int_equal(status_str("VmRSS:\t5 kB\nVmRSS:\t6 kB\nThreads:\t1\n", &st), -EBADMSG);
    assert_int_equal(status_str("VmRSS:\t5 MB\nThreads:\t1\n", &st), -EBADMSG);
    assert_int_equal(status_str("VmRSS:\t5\nThreads:\t1\n", &st), -EBADMSG);
    assert_int_equal(status_str("VmRSS:\t-5 kB\nThreads:\t1\n", &st), -EBADMSG);
    assert_int_equal(status_str("VmRSS:\t99999999999999999999 kB\nThreads:\t1\n", &st), -ERANGE);
    assert_int_equal(status_str("VmRSS:\t18014398509481984 kB\nThreads:\t1\n", &st), -ERANGE);
    assert_int_equal(status_str("Threads:\t1 2\n", &st), -EBADMSG);
    assert_int_equal(status_str("", &st), -EBADMSG);
}

/* ---- /proc/PID/io ---- */

static int io_str(const char *s, struct sv_proc_io *io)
{
#define CALL(b, n) sv_proc_io_parse(b, n, io)
    return WITH_EXACT(s, CALL);
#undef CALL
}

static void test_io(void **state)
{
    struct sv_proc_io io;
    const char *real =
            "rchar: 6976\nwchar: 24\nsyscr: 10\nsyscw: 3\nread_bytes: 4096\n"
            "write_bytes: 8192\ncancelled_write_bytes: 0\n";
    assert_int_equal(io_str(real, &io), 0);
    assert_int_equal(io.rchar, 6976);
    assert_int_equal(io.wchar, 24);
    assert_int_equal(io.read_bytes, 4096);
    assert_int_equal(io.write_bytes, 8192);
    assert_int_equal(io.cancelled_write_bytes, 0);

    /* An unknown key of a newer kernel is fine. */
    assert_int_equal(io_str("wchar: 1\nrchar: 2\nread_bytes: 3\nwrite_bytes: 4\n"
                            "cancelled_write_bytes: 5\nfuture_key: 9",
                            &io),
                     0);
    assert_int_equal(io.wchar, 1);
    assert_int_equal(io.cancelled_write_bytes, 5);

    assert_int_equal(io_str("rchar: 1\nwchar: 2\n", &io), -EBADMSG); /* truncated */
    assert_int_equal(io_str("rchar: 1\nwchar: 2\nwchar: 3\nread_bytes: 3\nwrite_bytes: 4\n"
                            "cancelled_write_bytes: 5\n",
                            &io),
                     -EBADMSG);
    assert_int_equal(io_str("rchar 1\n", &io), -EBADMSG);
    assert_int_equal(io_str("rchar: x\nwchar: 2\nread_bytes: 3\nwrite_bytes: 4\n"
                            "cancelled_write_bytes: 5\n",
                            &io),
                     -EBADMSG);
    assert_int_equal(io_str("", &io), -EBADMSG);
}

/* ---- cgroup files ---- */

static int value_str(const char *s, uint64_t *v)
{
#define CALL(b, n) sv_cgroup_value_parse(b, n, v)
    return WITH_EXACT(s, CALL);
#undef CALL
}

static void test_cgroup_value(void **state)
{
    uint64_t v = 0;
    assert_int_equal(value_str("52428800\n", &v), 0);
    assert_int_equal(v, 52428800);
    assert_int_equal(value_str("max\n", &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(value_str("7", &v), 0);
    assert_int_equal(v, 7);
    assert_int_equal(value_str("8 \n\n", &v), 0);
    assert_int_equal(v, 8);
    assert_int_equal(value_str("18446744073709551615\n", &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(value_str("18446744073709551616\n", &v), -ERANGE);
    assert_int_equal(value_str("", &v), -EBADMSG);
    assert_int_equal(value_str("\n", &v), -EBADMSG);
    assert_int_equal(value_str("1 2\n", &v), -EBADMSG);
    assert_int_equal(value_str("1\n2\n", &v), -EBADMSG);
    assert_int_equal(value_str("-1\n", &v), -EBADMSG);
    assert_int_equal(value_str("maximum\n", &v), -EBADMSG);
}

static int keyed_str(const char *s, const char *key, uint64_t *v)
{
#define CALL(b, n) sv_cgroup_keyed_parse(b, n, key, v)
    return WITH_EXACT(s, CALL);
#undef CALL
}

static void test_cgroup_keyed(void **state)
{
    uint64_t v = 0;
    /* cpu.stat of a v2 leaf without the cpu controller (this host), and with it. */
    assert_int_equal(keyed_str("usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\n"
                               "nice_usec 0\ncore_sched.force_idle_usec 0\n",
                               "usage_usec", &v),
                     0);
    assert_int_equal(v, 123456);
    assert_int_equal(keyed_str("usage_usec 9\nuser_usec 5\nsystem_usec 4\nnr_periods 3\n"
                               "nr_throttled 1\nthrottled_usec 50\nnr_bursts 0\nburst_usec 0",
                               "throttled_usec", &v),
                     0);
    assert_int_equal(v, 50);
    /* A key that is a prefix of another is not it. */
    assert_int_equal(keyed_str("usage_usec_x 5\n", "usage_usec", &v), -ENODATA);
    assert_int_equal(keyed_str("", "usage_usec", &v), -ENODATA);
    assert_int_equal(keyed_str("usage_usec 1\nusage_usec 2\n", "usage_usec", &v), -EBADMSG);
    assert_int_equal(keyed_str("usage_usec\n", "usage_usec", &v), -EBADMSG);
    assert_int_equal(keyed_str("usage_usec 1 2\n", "usage_usec", &v), -EBADMSG);
    assert_int_equal(keyed_str("usage_usec 99999999999999999999\n", "usage_usec", &v), -ERANGE);
}

static void test_cgroup_io_stat(void **state)
{
    uint64_t r = 0, w = 0;
    const char *s =
            "8:0 rbytes=1000 wbytes=2000 rios=3 wios=4 dbytes=0 dios=0\n"
            "253:1 rbytes=10 wbytes=20 rios=1 wios=1 dbytes=0 dios=0\n";
#define CALL(b, n) sv_cgroup_io_stat_parse(b, n, &r, &w)
    assert_int_equal(WITH_EXACT(s, CALL), 0);
    assert_int_equal(r, 1010);
    assert_int_equal(w, 2020);
    assert_int_equal(WITH_EXACT("", CALL), 0);
    assert_int_equal(r, 0);
    assert_int_equal(WITH_EXACT("8:0 rbytes=1 newkey=7\n", CALL), 0);
    assert_int_equal(r, 1);
    assert_int_equal(WITH_EXACT("sda rbytes=1\n", CALL), -EBADMSG);
    assert_int_equal(WITH_EXACT("8:0 rbytes\n", CALL), -EBADMSG);
    assert_int_equal(WITH_EXACT("8:0 rbytes=x\n", CALL), -EBADMSG);
    assert_int_equal(WITH_EXACT("8:0 rbytes=18446744073709551615\n8:1 rbytes=1\n", CALL), -ERANGE);
#undef CALL
}

static void test_cgroup_procs(void **state)
{
    pid_t pids[4];
#define CALL(b, n) sv_cgroup_procs_parse(b, n, pids, ELEMENTSOF(pids))
    /* v1 lists can repeat and are not sorted. */
    assert_int_equal(WITH_EXACT("30\n10\n20\n10\n", CALL), 3);
    assert_int_equal(pids[0], 10);
    assert_int_equal(pids[1], 20);
    assert_int_equal(pids[2], 30);
    assert_int_equal(WITH_EXACT("", CALL), 0);
    assert_int_equal(WITH_EXACT("\n\n", CALL), 0);
    /* More than fit: bounded. */
    assert_int_equal(WITH_EXACT("1\n2\n3\n4\n5\n6\n", CALL), 4);
    assert_int_equal(WITH_EXACT("5", CALL), 1);
    assert_int_equal(pids[0], 5);
    assert_int_equal(WITH_EXACT("0\n", CALL), -EBADMSG);
    assert_int_equal(WITH_EXACT("-1\n", CALL), -EBADMSG);
    assert_int_equal(WITH_EXACT("12 13\n", CALL), -EBADMSG);
    assert_int_equal(WITH_EXACT("abc\n", CALL), -EBADMSG);
    assert_int_equal(WITH_EXACT("4294967296\n", CALL), -EBADMSG);
#undef CALL
}

static void test_cgroup_controllers(void **state)
{
#define CALL(b, n) sv_cgroup_controllers_parse(b, n)
    assert_int_equal(WITH_EXACT("hugetlb\n", CALL), 0);
    assert_int_equal(WITH_EXACT("cpuset cpu io memory hugetlb pids rdma misc\n", CALL),
                     SV_CONTROLLER_CPU | SV_CONTROLLER_IO | SV_CONTROLLER_MEMORY |
                             SV_CONTROLLER_PIDS);
    assert_int_equal(WITH_EXACT("cpuset memory_x\n", CALL), 0);
    assert_int_equal(WITH_EXACT("", CALL), 0);
#undef CALL
    struct sv_limits l = { .max_mem_bytes = 1 };
    assert_int_equal(sv_limits_controllers(&l), SV_CONTROLLER_MEMORY);
    l = (struct sv_limits){ .max_cpu_cores = 0.5, .max_pids = 3 };
    assert_int_equal(sv_limits_controllers(&l), SV_CONTROLLER_CPU | SV_CONTROLLER_PIDS);
    l = (struct sv_limits){ 0 };
    assert_int_equal(sv_limits_controllers(&l), 0);
}

/* ---- The plan ---- */

static char *fixture_read(const char *scenario, const char *file, size_t *ret_n)
{
    const char *root = getenv("HEADROOM_FIXTURES");
    char path[PATH_MAX];
    char *buf = NULL;

    assert_non_null(root);
    snprintf(path, sizeof path, "%s/sys-cgroup-%s/proc/self/%s", root, scenario, file);
    int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(read_full_virtual_at(fd, path, 1 << 20, &buf, ret_n), 0);
    close(fd);
    return buf;
}

static struct sv_cgroup_plan *plan_fixture(const char *scenario, int *ret_r)
{
    size_t mn, cn;
    char *mi = fixture_read(scenario, "mountinfo", &mn);
    char *cg = fixture_read(scenario, "cgroup", &cn);
    char *mi_x = dup_exact(mi, mn), *cg_x = dup_exact(cg, cn);
    struct sv_cgroup_plan *p = calloc(1, sizeof *p);
    assert_non_null(p);
    *ret_r = sv_cgroup_plan_make(mi_x, mn, cg_x, cn, p);
    free(mi);
    free(cg);
    free(mi_x);
    free(cg_x);
    return p;
}

static void test_plan_hybrid(void **state)
{
    int r;
    struct sv_cgroup_plan *p = plan_fixture("hybrid", &r);
    assert_int_equal(r, 0);
    assert_true(p->usable[SV_HIERARCHY_UNIFIED]);
    assert_string_equal(p->parent[SV_HIERARCHY_UNIFIED], "/sys/fs/cgroup/unified");
    assert_true(p->usable[SV_HIERARCHY_MEMORY]);
    assert_string_equal(p->parent[SV_HIERARCHY_MEMORY],
                        "/sys/fs/cgroup/memory/process_api/2413b21906a77fc9dc71d06aa0747962");
    assert_true(p->usable[SV_HIERARCHY_CPU]);
    assert_string_equal(p->parent[SV_HIERARCHY_CPU], "/sys/fs/cgroup/cpu");
    assert_true(p->usable[SV_HIERARCHY_PIDS]);
    assert_string_equal(p->parent[SV_HIERARCHY_PIDS], "/sys/fs/cgroup/pids");
    /* cpu and cpuacct are separate mounts here. */
    assert_false(p->cpuacct_with_cpu);
    assert_string_equal(p->v2_top, "/sys/fs/cgroup/unified");
    free(p);
}

static void test_plan_v2(void **state)
{
    int r;
    struct sv_cgroup_plan *p = plan_fixture("v2", &r);
    assert_int_equal(r, 0);
    assert_true(p->usable[SV_HIERARCHY_UNIFIED]);
    assert_string_equal(p->parent[SV_HIERARCHY_UNIFIED],
                        "/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope");
    for (int h = SV_HIERARCHY_MEMORY; h < _SV_HIERARCHY_MAX; h++) {
        assert_false(p->usable[h]);
        assert_string_equal(p->why[h], "not mounted");
    }
    /* The mount shows the whole hierarchy: its top is where root may place a task whose own
     * cgroup (here a login session, holding processes) cannot give its children controllers. */
    assert_string_equal(p->v2_top, "/sys/fs/cgroup");
    free(p);
}

static void test_plan_v1(void **state)
{
    int r;
    struct sv_cgroup_plan *p = plan_fixture("v1", &r);
    assert_int_equal(r, 0);
    assert_false(p->usable[SV_HIERARCHY_UNIFIED]);
    assert_string_equal(p->why[SV_HIERARCHY_UNIFIED], "not mounted");
    assert_true(p->usable[SV_HIERARCHY_MEMORY]);
    assert_string_equal(p->parent[SV_HIERARCHY_MEMORY], "/sys/fs/cgroup/memory/user.slice");
    assert_true(p->usable[SV_HIERARCHY_CPU]);
    assert_string_equal(p->parent[SV_HIERARCHY_CPU], "/sys/fs/cgroup/cpu,cpuacct/user.slice");
    assert_true(p->usable[SV_HIERARCHY_PIDS]);
    assert_string_equal(p->parent[SV_HIERARCHY_PIDS], "/sys/fs/cgroup/pids/user.slice");
    assert_true(p->cpuacct_with_cpu);
    free(p);
}

static void test_plan_read_only(void **state)
{
    int r;
    struct sv_cgroup_plan *p = plan_fixture("ro", &r);
    assert_int_equal(r, 0);
    assert_false(p->usable[SV_HIERARCHY_UNIFIED]);
    assert_string_equal(p->why[SV_HIERARCHY_UNIFIED], "mounted read-only");
    assert_false(p->usable[SV_HIERARCHY_MEMORY]);
    assert_string_equal(p->v2_top, "");
    free(p);
}

static void test_plan_outside(void **state)
{
    int r;
    struct sv_cgroup_plan *p = plan_fixture("ns-outside", &r);
    assert_int_equal(r, 0);
    assert_false(p->usable[SV_HIERARCHY_UNIFIED]);
    assert_string_equal(p->why[SV_HIERARCHY_UNIFIED], "outside our cgroup namespace");
    assert_false(p->usable[SV_HIERARCHY_MEMORY]);
    assert_string_equal(p->why[SV_HIERARCHY_MEMORY], "our cgroup is outside the mounted subtree");
    assert_false(p->usable[SV_HIERARCHY_CPU]);
    assert_string_equal(p->why[SV_HIERARCHY_CPU], "not mounted");
    /* A mount of a subtree (a cgroup namespace, a container) has no top of ours to use. */
    assert_string_equal(p->v2_top, "");
    free(p);
}

static int plan_str(const char *mi, const char *cg, struct sv_cgroup_plan *p)
{
    size_t mn = strlen(mi), cn = strlen(cg);
    char *a = dup_exact(mi, mn), *b = dup_exact(cg, cn);
    int r = sv_cgroup_plan_make(a, mn, b, cn, p);
    free(a);
    free(b);
    return r;
}

static void test_plan_inline(void **state)
{
    struct sv_cgroup_plan *p = calloc(1, sizeof *p);
    assert_non_null(p);

    /* A bind mount of our own subtree, with an escaped mount point. */
    assert_int_equal(plan_str("7 1 0:30 /docker/abc /sys/fs/my\\040cg rw - cgroup2 cgroup2 rw\n",
                              "0::/docker/abc/sub\n", p),
                     0);
    assert_true(p->usable[SV_HIERARCHY_UNIFIED]);
    assert_string_equal(p->parent[SV_HIERARCHY_UNIFIED], "/sys/fs/my cg/sub");

    /* A prefix that is not a path component ("/docker/abcdef" is not inside "/docker/abc"). */
    assert_int_equal(plan_str("7 1 0:30 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
                              "0::/docker/abcdef\n", p),
                     0);
    assert_false(p->usable[SV_HIERARCHY_UNIFIED]);

    /* The first mount listed wins; a later bind mount does not replace it. */
    assert_int_equal(plan_str("7 1 0:30 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
                              "8 1 0:30 / /mnt/cg ro - cgroup2 cgroup2 rw\n",
                              "0::/a\n", p),
                     0);
    assert_true(p->usable[SV_HIERARCHY_UNIFIED]);
    assert_string_equal(p->parent[SV_HIERARCHY_UNIFIED], "/sys/fs/cgroup/a");

    /* Read-only in the super options. */
    assert_int_equal(
            plan_str("7 1 0:30 / /sys/fs/cgroup rw - cgroup2 cgroup2 ro,nsdelegate\n", "0::/\n", p),
            0);
    assert_false(p->usable[SV_HIERARCHY_UNIFIED]);
    assert_string_equal(p->why[SV_HIERARCHY_UNIFIED], "mounted read-only");

    /* Mounted but we are not listed. */
    assert_int_equal(
            plan_str("7 1 0:30 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", "4:memory:/x\n", p), 0);
    assert_false(p->usable[SV_HIERARCHY_UNIFIED]);
    assert_string_equal(p->why[SV_HIERARCHY_UNIFIED], "not in proc/self/cgroup");

    /* Optional fields before the separator, and a ':' inside our path. */
    assert_int_equal(plan_str("7 1 0:30 / /sys/fs/cgroup rw shared:9 master:2 - cgroup2 none rw\n",
                              "0::/we:ird\n", p),
                     0);
    assert_string_equal(p->parent[SV_HIERARCHY_UNIFIED], "/sys/fs/cgroup/we:ird");

    /* Malformed cgroup lines. */
    assert_int_equal(plan_str("7 1 0:30 / /sys/fs/cgroup rw - cgroup2\n", "0::/\n", p), -EBADMSG);
    assert_int_equal(plan_str("7 1 0:30 / /sys/fs/\\04 rw - cgroup2 cgroup2 rw\n", "0::/\n", p),
                     -EBADMSG);
    assert_int_equal(plan_str("7 1 0:30 / /sys/fs/\\000x rw - cgroup2 cgroup2 rw\n", "0::/\n", p),
                     -EBADMSG);
    assert_int_equal(plan_str("7 1 0:30 / relative rw - cgroup2 cgroup2 rw\n", "0::/\n", p),
                     -EBADMSG);
    /* Other lines that are broken are not ours to judge. */
    assert_int_equal(plan_str("garbage\n7 1 0:30 / /x rw - ext4\n", "0::/\n", p), 0);
    assert_false(p->usable[SV_HIERARCHY_UNIFIED]);

    /* Malformed proc/self/cgroup. */
    assert_int_equal(plan_str("", "0::/a\n0::/b\n", p), -EBADMSG);
    assert_int_equal(plan_str("", "0:/a\n", p), -EBADMSG);
    assert_int_equal(plan_str("", "x::/a\n", p), -EBADMSG);
    assert_int_equal(plan_str("", "0::relative\n", p), -EBADMSG);
    assert_int_equal(plan_str("", "", p), 0);

    /* Truncated texts at every length: no read past the end, and no crash. */
    const char *mi =
            "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
            "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n";
    for (size_t n = 0; n <= strlen(mi); n++) {
        char *a = dup_exact(mi, n), *b = dup_exact("0::/\n4:memory:/m\n", 17);
        int r = sv_cgroup_plan_make(a, n, b, 17, p);
        assert_true(r == 0 || r == -EBADMSG);
        free(a);
        free(b);
    }
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stat_real),    cmocka_unit_test(test_stat_hostile_comm),
        cmocka_unit_test(test_stat_bad),     cmocka_unit_test(test_status),
        cmocka_unit_test(test_io),           cmocka_unit_test(test_cgroup_value),
        cmocka_unit_test(test_cgroup_keyed), cmocka_unit_test(test_cgroup_io_stat),
        cmocka_unit_test(test_cgroup_procs), cmocka_unit_test(test_cgroup_controllers),
        cmocka_unit_test(test_plan_hybrid),  cmocka_unit_test(test_plan_v2),
        cmocka_unit_test(test_plan_v1),      cmocka_unit_test(test_plan_read_only),
        cmocka_unit_test(test_plan_outside), cmocka_unit_test(test_plan_inline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
