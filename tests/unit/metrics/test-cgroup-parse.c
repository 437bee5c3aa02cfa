/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "basic/macro.h"
#include "metrics-test-util.h"
#include "metrics/cgroup-parse.h"

#define HYBRID_MEMORY_PATH "/process_api/4a7f9b558f77d577e5d3cd1a58c602b0"

static struct cgroup_membership *membership_new(void)
{
    struct cgroup_membership *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    return m;
}

static struct cgroup_mounts *mounts_new(void)
{
    struct cgroup_mounts *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    return m;
}

static int cgroup_str(const char *s, struct cgroup_membership *ret)
{
    size_t n = strlen(s);
    char *b = dup_exact(s, n);
    int r = proc_self_cgroup_parse(b, n, ret);
    free(b);
    return r;
}

static int mountinfo_str(const char *s, struct cgroup_mounts *ret)
{
    size_t n = strlen(s);
    char *b = dup_exact(s, n);
    int r = mountinfo_cgroup_parse(b, n, ret);
    free(b);
    return r;
}

static int value_str(const char *s, uint64_t *ret)
{
    size_t n = strlen(s);
    char *b = dup_exact(s, n);
    int r = cgroup_value_parse(b, n, ret);
    free(b);
    return r;
}

static int cpu_max_str(const char *s, struct cgroup_cpu_max *ret)
{
    size_t n = strlen(s);
    char *b = dup_exact(s, n);
    int r = cgroup_cpu_max_parse(b, n, ret);
    free(b);
    return r;
}

static int quota_str(const char *s, uint64_t *ret)
{
    size_t n = strlen(s);
    char *b = dup_exact(s, n);
    int r = cgroup_v1_cfs_quota_parse(b, n, ret);
    free(b);
    return r;
}

static int keyed_str(const char *s, const char *key, uint64_t *ret)
{
    size_t n = strlen(s);
    char *b = dup_exact(s, n);
    int r = cgroup_keyed_parse(b, n, key, ret);
    free(b);
    return r;
}

/* ---- proc/self/cgroup */

static void test_self_cgroup_captures(void **state)
{
    struct cgroup_membership *m = membership_new();
    size_t n;
    char *b = read_fixture("proc/debian12-6.18-hybrid/self/cgroup", &n);

    /* Hybrid: v2 at the root, v1 memory in a child, cpu and cpuacct on separate hierarchies. */
    assert_int_equal(proc_self_cgroup_parse(b, n, m), 0);
    assert_true(m->found[CGROUP_HIERARCHY_UNIFIED]);
    assert_string_equal(m->path[CGROUP_HIERARCHY_UNIFIED], "/");
    assert_true(m->found[CGROUP_HIERARCHY_MEMORY]);
    assert_string_equal(m->path[CGROUP_HIERARCHY_MEMORY], HYBRID_MEMORY_PATH);
    assert_string_equal(m->path[CGROUP_HIERARCHY_CPU], "/");
    assert_string_equal(m->path[CGROUP_HIERARCHY_CPUACCT], "/");
    free(b);

    /* v1 only, cpu and cpuacct co-mounted on one line. */
    b = read_fixture("proc/legacy-v1-3.2/self/cgroup", &n);
    assert_int_equal(proc_self_cgroup_parse(b, n, m), 0);
    assert_false(m->found[CGROUP_HIERARCHY_UNIFIED]);
    assert_string_equal(m->path[CGROUP_HIERARCHY_MEMORY], "/lxc/web1");
    assert_string_equal(m->path[CGROUP_HIERARCHY_CPU], "/lxc/web1");
    assert_string_equal(m->path[CGROUP_HIERARCHY_CPUACCT], "/lxc/web1");
    free(b);

    /* v2 only, inside a cgroup namespace. */
    b = read_fixture("proc/container-v2-5.10/self/cgroup", &n);
    assert_int_equal(proc_self_cgroup_parse(b, n, m), 0);
    assert_true(m->found[CGROUP_HIERARCHY_UNIFIED]);
    assert_string_equal(m->path[CGROUP_HIERARCHY_UNIFIED], "/");
    assert_false(m->found[CGROUP_HIERARCHY_MEMORY]);
    assert_false(m->found[CGROUP_HIERARCHY_CPU]);
    free(b);
    free(m);
}

static void test_self_cgroup_rules(void **state)
{
    struct cgroup_membership *m = membership_new();

    /* The path is everything after the second colon; "cpuset" and "name=…" are not "cpu". */
    assert_int_equal(cgroup_str("7:cpuset:/x\n6:name=systemd:/y\n0::/a:b c\n", m), 0);
    assert_string_equal(m->path[CGROUP_HIERARCHY_UNIFIED], "/a:b c");
    assert_false(m->found[CGROUP_HIERARCHY_CPU]);
    assert_false(m->found[CGROUP_HIERARCHY_MEMORY]);

    /* ".." is kept: it means we are outside the namespace's root; cgroup_dir_path refuses it. */
    assert_int_equal(cgroup_str("0::/../../sibling\n", m), 0);
    assert_string_equal(m->path[CGROUP_HIERARCHY_UNIFIED], "/../../sibling");

    strcpy(m->path[CGROUP_HIERARCHY_UNIFIED], "sentinel");
    assert_int_equal(cgroup_str("", m), -EBADMSG);
    assert_int_equal(cgroup_str("\n\n", m), -EBADMSG);
    assert_int_equal(cgroup_str("garbage\n", m), -EBADMSG);
    assert_int_equal(cgroup_str("0:/\n", m), -EBADMSG);
    assert_int_equal(cgroup_str("0::relative\n", m), -EBADMSG);
    assert_int_equal(cgroup_str("0::\n", m), -EBADMSG);
    assert_int_equal(cgroup_str("0:memory:/\n", m), -EBADMSG);
    assert_int_equal(cgroup_str("x:memory:/\n", m), -EBADMSG);
    assert_int_equal(cgroup_str("99999999999999999999:memory:/\n", m), -ERANGE);
    assert_int_equal(cgroup_str("0::/\n0::/\n", m), -EBADMSG);
    assert_int_equal(cgroup_str("3:memory:/a\n5:memory:/b\n", m), -EBADMSG);
    assert_int_equal(cgroup_str("2:cpu,cpuacct:/a\n3:cpuacct:/b\n", m), -EBADMSG);

    char *big = malloc(CGROUP_PATH_MAX + 16);
    assert_non_null(big);
    strcpy(big, "0::/");
    memset(big + 4, 'a', CGROUP_PATH_MAX);
    big[4 + CGROUP_PATH_MAX] = '\0';
    assert_int_equal(cgroup_str(big, m), -ENAMETOOLONG);
    free(big);

    static const char nul[] = "0::/a\0b\n";
    char *b = dup_exact(nul, sizeof(nul) - 1);
    assert_int_equal(proc_self_cgroup_parse(b, sizeof(nul) - 1, m), -EBADMSG);
    free(b);

    assert_string_equal(m->path[CGROUP_HIERARCHY_UNIFIED], "sentinel");
    free(m);
}

/* ---- proc/self/mountinfo */

static void test_mountinfo_captures(void **state)
{
    struct cgroup_mounts *m = mounts_new();
    size_t n;
    char *b = read_fixture("proc/debian12-6.18-hybrid/self/mountinfo", &n);

    assert_int_equal(mountinfo_cgroup_parse(b, n, m), 0);
    assert_string_equal(m->mount_point[CGROUP_HIERARCHY_UNIFIED], "/sys/fs/cgroup/unified");
    assert_string_equal(m->mount_point[CGROUP_HIERARCHY_MEMORY], "/sys/fs/cgroup/memory");
    assert_string_equal(m->mount_point[CGROUP_HIERARCHY_CPU], "/sys/fs/cgroup/cpu");
    assert_string_equal(m->mount_point[CGROUP_HIERARCHY_CPUACCT], "/sys/fs/cgroup/cpuacct");
    for (size_t h = 0; h < _CGROUP_HIERARCHY_MAX; h++) {
        assert_true(m->found[h]);
        assert_string_equal(m->root[h], "/");
    }
    free(b);

    b = read_fixture("proc/legacy-v1-3.2/self/mountinfo", &n);
    assert_int_equal(mountinfo_cgroup_parse(b, n, m), 0);
    assert_false(m->found[CGROUP_HIERARCHY_UNIFIED]);
    assert_string_equal(m->mount_point[CGROUP_HIERARCHY_CPU], "/sys/fs/cgroup/cpu,cpuacct");
    assert_string_equal(m->mount_point[CGROUP_HIERARCHY_CPUACCT], "/sys/fs/cgroup/cpu,cpuacct");
    assert_string_equal(m->mount_point[CGROUP_HIERARCHY_MEMORY], "/sys/fs/cgroup/memory");
    free(b);

    /* Docker-style: optional fields, "cgroup" as the source of a cgroup2 mount, an escaped path
     * on an unrelated mount. */
    b = read_fixture("proc/container-v2-5.10/self/mountinfo", &n);
    assert_int_equal(mountinfo_cgroup_parse(b, n, m), 0);
    assert_true(m->found[CGROUP_HIERARCHY_UNIFIED]);
    assert_string_equal(m->mount_point[CGROUP_HIERARCHY_UNIFIED], "/sys/fs/cgroup");
    assert_false(m->found[CGROUP_HIERARCHY_MEMORY]);
    free(b);
    free(m);
}

static void test_mountinfo_rules(void **state)
{
    struct cgroup_mounts *m = mounts_new();

    /* Escapes in ROOT and MOUNTPOINT; a lone backslash stays. */
    assert_int_equal(mountinfo_str("30 20 0:30 /docker/a\\134b /sys/fs/my\\040cgroup\\011x\\q rw "
                                   "shared:4 master:1 - "
                                   "cgroup2 cgroup2 rw\n",
                                   m),
                     0);
    assert_string_equal(m->mount_point[CGROUP_HIERARCHY_UNIFIED], "/sys/fs/my cgroup\tx\\q");
    assert_string_equal(m->root[CGROUP_HIERARCHY_UNIFIED], "/docker/a\\b");

    /* First mount wins; "cpuset" and "cpuacct" do not match "cpu". */
    assert_int_equal(mountinfo_str("1 0 0:1 / /first rw - cgroup2 cgroup2 rw\n"
                                   "2 0 0:2 / /second rw - cgroup2 cgroup2 rw\n"
                                   "3 0 0:3 / /cs rw - cgroup cgroup rw,cpuset\n"
                                   "4 0 0:4 / /acct rw - cgroup cgroup rw,cpuacct\n"
                                   "5 0 0:5 / /mem rw - tmpfs tmpfs rw,memory\n",
                                   m),
                     0);
    assert_string_equal(m->mount_point[CGROUP_HIERARCHY_UNIFIED], "/first");
    assert_false(m->found[CGROUP_HIERARCHY_CPU]);
    assert_true(m->found[CGROUP_HIERARCHY_CPUACCT]);
    assert_false(m->found[CGROUP_HIERARCHY_MEMORY]);

    /* No cgroup mount at all, and empty input: nothing found, not an error. */
    assert_int_equal(mountinfo_str("22 27 0:21 / /proc rw,relatime - proc proc rw\n", m), 0);
    assert_false(m->found[CGROUP_HIERARCHY_UNIFIED]);
    assert_int_equal(mountinfo_str("", m), 0);

    assert_int_equal(mountinfo_str("1 0 0:1 / /a rw - cgroup2\n", m), -EBADMSG);
    assert_int_equal(mountinfo_str("1 0 0:1 / /a rw cgroup2 cgroup2 rw\n", m), -EBADMSG);
    assert_int_equal(mountinfo_str("1 0 0:1 /\n", m), -EBADMSG);
    assert_int_equal(mountinfo_str("1 0 0:1 / /a\\000b rw - cgroup2 cgroup2 rw\n", m), -EBADMSG);
    assert_int_equal(mountinfo_str("1 0 0:1 / relative rw - cgroup2 cgroup2 rw\n", m), -EBADMSG);
    assert_int_equal(mountinfo_str("1 0 0:1 / /a/../b rw - cgroup2 cgroup2 rw\n", m), -EBADMSG);

    char *big = malloc(CGROUP_PATH_MAX + 128);
    assert_non_null(big);
    strcpy(big, "1 0 0:1 / /");
    size_t l = strlen(big);
    memset(big + l, 'a', CGROUP_PATH_MAX);
    strcpy(big + l + CGROUP_PATH_MAX, " rw - cgroup2 cgroup2 rw\n");
    assert_int_equal(mountinfo_str(big, m), -ENAMETOOLONG);
    free(big);
    free(m);
}

static void test_dir_path(void **state)
{
    char buf[CGROUP_PATH_MAX];

    assert_int_equal(cgroup_dir_path("/sys/fs/cgroup", "/", "/", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/sys/fs/cgroup");
    assert_int_equal(
            cgroup_dir_path("/sys/fs/cgroup/memory", "/", HYBRID_MEMORY_PATH, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/sys/fs/cgroup/memory" HYBRID_MEMORY_PATH);
    assert_int_equal(cgroup_dir_path("/sys/fs/cgroup/", "/", "/a/b/", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/sys/fs/cgroup/a/b");
    assert_int_equal(cgroup_dir_path("/", "/", "/a", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/a");

    /* A subtree mount: strip the mount's root, but only at a component boundary. */
    assert_int_equal(
            cgroup_dir_path("/sys/fs/cgroup", "/docker/abc", "/docker/abc/sub", buf, sizeof(buf)),
            0);
    assert_string_equal(buf, "/sys/fs/cgroup/sub");
    assert_int_equal(
            cgroup_dir_path("/sys/fs/cgroup", "/docker/abc", "/docker/abc", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/sys/fs/cgroup");
    assert_int_equal(
            cgroup_dir_path("/sys/fs/cgroup", "/docker/abc", "/docker/abcd", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/sys/fs/cgroup/docker/abcd");

    assert_int_equal(cgroup_dir_path("/sys/fs/cgroup", "/", "/../x", buf, sizeof(buf)), -EINVAL);
    assert_int_equal(cgroup_dir_path("/sys/fs/cgroup", "/", "/a/..", buf, sizeof(buf)), -EINVAL);
    assert_int_equal(cgroup_dir_path("/sys/fs/cgroup", "/", "/a..b", buf, sizeof(buf)), 0);
    assert_int_equal(cgroup_dir_path("sys", "/", "/", buf, sizeof(buf)), -EINVAL);
    assert_int_equal(cgroup_dir_path("/sys/fs/cgroup", "/", "/abc", buf, 18), -ENAMETOOLONG);
    assert_int_equal(cgroup_dir_path("/sys/fs/cgroup", "/", "/abc", buf, 19), 0);
    assert_string_equal(buf, "/sys/fs/cgroup/abc");
}

/* ---- cgroup value files */

static void test_value_files(void **state)
{
    uint64_t v = 7;
    size_t n;

    assert_int_equal(value_str("max\n", &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(value_str("2147483648\n", &v), 0);
    assert_true(v == UINT64_C(2147483648));
    assert_int_equal(value_str("123", &v), 0);
    assert_true(v == 123);
    assert_int_equal(value_str("  5 \n\n", &v), 0);
    assert_true(v == 5);

    char *b = read_fixture("sys/debian12-6.18-hybrid/fs/cgroup/memory" HYBRID_MEMORY_PATH
                           "/memory.limit_in_bytes",
                           &n);
    assert_int_equal(cgroup_value_parse(b, n, &v), 0);
    assert_true(v == UINT64_C(9223372036854771712));
    assert_true(cgroup_v1_limit_normalize(v) == UINT64_MAX);
    free(b);
    b = read_fixture("sys/debian12-6.18-hybrid/fs/cgroup/cpuacct/cpuacct.usage", &n);
    assert_int_equal(cgroup_value_parse(b, n, &v), 0);
    assert_true(v > 0);
    free(b);

    v = 7;
    assert_int_equal(value_str("", &v), -EBADMSG);
    assert_int_equal(value_str("\n", &v), -EBADMSG);
    assert_int_equal(value_str("12 34\n", &v), -EBADMSG);
    assert_int_equal(value_str("12\n34\n", &v), -EBADMSG);
    assert_int_equal(value_str("-1\n", &v), -EBADMSG);
    assert_int_equal(value_str("maximum\n", &v), -EBADMSG);
    assert_int_equal(value_str("0x10\n", &v), -EBADMSG);
    assert_int_equal(value_str("18446744073709551616\n", &v), -ERANGE);
    assert_true(v == 7);
}

static void test_cpu_max(void **state)
{
    struct cgroup_cpu_max m = { .quota_usec = 1, .period_usec = 1 };
    size_t n;

    assert_int_equal(cpu_max_str("max 100000\n", &m), 0);
    assert_true(m.quota_usec == UINT64_MAX);
    assert_true(m.period_usec == 100000);
    assert_float_equal(cgroup_cpu_max_cores(&m), 0.0, 1e-12);

    char *b = read_fixture("sys/container-v2-5.10/fs/cgroup/cpu.max", &n);
    assert_int_equal(cgroup_cpu_max_parse(b, n, &m), 0);
    assert_true(m.quota_usec == 150000);
    assert_float_equal(cgroup_cpu_max_cores(&m), 1.5, 1e-12);
    free(b);

    assert_int_equal(cpu_max_str("", &m), -EBADMSG);
    assert_int_equal(cpu_max_str("max\n", &m), -EBADMSG);
    assert_int_equal(cpu_max_str("0 100000\n", &m), -EBADMSG);
    assert_int_equal(cpu_max_str("max 0\n", &m), -EBADMSG);
    assert_int_equal(cpu_max_str("1 2 3\n", &m), -EBADMSG);
    assert_int_equal(cpu_max_str("max max\n", &m), -EBADMSG);
    assert_int_equal(cpu_max_str("18446744073709551616 100000\n", &m), -ERANGE);
    assert_true(m.quota_usec == 150000);
}

static void test_cfs_quota(void **state)
{
    uint64_t q = 7;
    size_t n;

    assert_int_equal(quota_str("-1\n", &q), 0);
    assert_true(q == UINT64_MAX);
    assert_int_equal(quota_str("50000\n", &q), 0);
    assert_true(q == 50000);

    char *b = read_fixture("sys/debian12-6.18-hybrid/fs/cgroup/cpu/cpu.cfs_quota_us", &n);
    assert_int_equal(cgroup_v1_cfs_quota_parse(b, n, &q), 0);
    assert_true(q == UINT64_MAX);
    free(b);

    q = 7;
    assert_int_equal(quota_str("0\n", &q), -EBADMSG);
    assert_int_equal(quota_str("-2\n", &q), -EBADMSG);
    assert_int_equal(quota_str("-\n", &q), -EBADMSG);
    assert_int_equal(quota_str("", &q), -EBADMSG);
    assert_int_equal(quota_str("max\n", &q), -EBADMSG);
    assert_int_equal(quota_str("99999999999999999999\n", &q), -ERANGE);
    assert_int_equal(quota_str("-9223372036854775809\n", &q), -ERANGE);
    assert_true(q == 7);
}

static void test_keyed(void **state)
{
    uint64_t v = 7;
    size_t n;

    /* v1 memory.stat carries both the local and the hierarchical figure. */
    char *b = read_fixture("sys/legacy-v1-3.2/fs/cgroup/memory/lxc/web1/memory.stat", &n);
    assert_int_equal(cgroup_keyed_parse(b, n, "inactive_file", &v), 0);
    assert_true(v == 52428800);
    assert_int_equal(cgroup_keyed_parse(b, n, "total_inactive_file", &v), 0);
    assert_true(v == 104857600);
    free(b);

    b = read_fixture("sys/debian12-6.18-hybrid/fs/cgroup/memory" HYBRID_MEMORY_PATH "/memory.stat",
                     &n);
    assert_int_equal(cgroup_keyed_parse(b, n, "total_inactive_file", &v), 0);
    assert_true(v == 1531904);
    free(b);

    b = read_fixture("sys/container-v2-5.10/fs/cgroup/memory.stat", &n);
    assert_int_equal(cgroup_keyed_parse(b, n, "inactive_file", &v), 0);
    assert_true(v == 268435456);
    assert_int_equal(cgroup_keyed_parse(b, n, "total_inactive_file", &v), -ENODATA);
    free(b);

    b = read_fixture("sys/container-v2-5.10/fs/cgroup/cpu.stat", &n);
    assert_int_equal(cgroup_keyed_parse(b, n, "usage_usec", &v), 0);
    assert_true(v == 88123456);
    free(b);

    v = 7;
    assert_int_equal(keyed_str("", "usage_usec", &v), -ENODATA);
    assert_int_equal(keyed_str("usage_usec 1\nusage_usec 2\n", "usage_usec", &v), -EBADMSG);
    assert_int_equal(keyed_str("usage_usec\n", "usage_usec", &v), -EBADMSG);
    assert_int_equal(keyed_str("usage_usec x\n", "usage_usec", &v), -EBADMSG);
    assert_int_equal(keyed_str("usage_usec 1 2\n", "usage_usec", &v), -EBADMSG);
    assert_int_equal(keyed_str("usage_usec 18446744073709551616\n", "usage_usec", &v), -ERANGE);
    assert_true(v == 7);

    /* Other keys may hold anything, repeat, or come in any order. */
    assert_int_equal(
            keyed_str("junk\njunk\nfuture x y\nusage_usec_extra 1\nusage_usec 9", "usage_usec", &v),
            0);
    assert_true(v == 9);
}

static void test_limits(void **state)
{
    const uint64_t gib = UINT64_C(1) << 30;

    assert_true(cgroup_v1_limit_normalize(UINT64_C(9223372036854771712)) ==
                UINT64_MAX); /* 4 KiB pages */
    assert_true(cgroup_v1_limit_normalize(UINT64_C(9223372036854710272)) ==
                UINT64_MAX); /* 64 KiB pages */
    assert_true(cgroup_v1_limit_normalize(gib) == gib);

    assert_true(cgroup_memory_limit_applies(gib, 24 * gib));
    assert_false(cgroup_memory_limit_applies(UINT64_MAX, 24 * gib));
    assert_false(cgroup_memory_limit_applies(32 * gib, 24 * gib));
    assert_false(cgroup_memory_limit_applies(24 * gib, 24 * gib));
    assert_false(cgroup_memory_limit_applies(gib, 0));
}

static void test_hostile_bytes(void **state)
{
    uint64_t seed = 0x2545f4914f6cdd1dULL;
    struct cgroup_membership *cg = membership_new();
    struct cgroup_mounts *mnt = mounts_new();
    char buf[600];

    for (int i = 0; i < 20000; i++) {
        size_t n = test_rand(&seed) % sizeof(buf);
        struct cgroup_cpu_max m;
        uint64_t v;
        int r;

        hostile_bytes(&seed, buf, n);
        char *b = dup_exact(buf, n);
        switch (i % 6) {
        case 0:
            r = proc_self_cgroup_parse(b, n, cg);
            break;
        case 1:
            r = mountinfo_cgroup_parse(b, n, mnt);
            break;
        case 2:
            r = cgroup_value_parse(b, n, &v);
            break;
        case 3:
            r = cgroup_cpu_max_parse(b, n, &m);
            break;
        case 4:
            r = cgroup_v1_cfs_quota_parse(b, n, &v);
            break;
        default:
            r = cgroup_keyed_parse(b, n, "max", &v);
            break;
        }
        assert_true(r == 0 || r == -EBADMSG || r == -ERANGE || r == -ENAMETOOLONG || r == -ENODATA);
        free(b);
    }
    free(cg);
    free(mnt);
}

static void test_truncated_captures(void **state)
{
    static const char *const files[] = {
        "proc/debian12-6.18-hybrid/self/cgroup",
        "proc/debian12-6.18-hybrid/self/mountinfo",
        "proc/container-v2-5.10/self/mountinfo",
        "proc/legacy-v1-3.2/self/cgroup",
    };
    struct cgroup_membership *cg = membership_new();
    struct cgroup_mounts *mnt = mounts_new();

    for (size_t f = 0; f < ELEMENTSOF(files); f++) {
        size_t n;
        char *full = read_fixture(files[f], &n);
        bool is_cgroup = strstr(files[f], "/cgroup") != NULL;

        for (size_t k = 0; k <= n; k++) {
            char *b = dup_exact(full, k);
            int r = is_cgroup ? proc_self_cgroup_parse(b, k, cg)
                              : mountinfo_cgroup_parse(b, k, mnt);
            assert_true(r == 0 || r == -EBADMSG || r == -ERANGE);
            free(b);
        }
        free(full);
    }
    free(cg);
    free(mnt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_self_cgroup_captures),
        cmocka_unit_test(test_self_cgroup_rules),
        cmocka_unit_test(test_mountinfo_captures),
        cmocka_unit_test(test_mountinfo_rules),
        cmocka_unit_test(test_dir_path),
        cmocka_unit_test(test_value_files),
        cmocka_unit_test(test_cpu_max),
        cmocka_unit_test(test_cfs_quota),
        cmocka_unit_test(test_keyed),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_hostile_bytes),
        cmocka_unit_test(test_truncated_captures),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
