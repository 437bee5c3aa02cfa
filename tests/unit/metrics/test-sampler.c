/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include "basic/macro.h"
#include "metrics-test-util.h"
#include "metrics/sampler.h"

#define KIB UINT64_C(1024)
#define MIB (KIB * 1024)
#define GIB (MIB * 1024)

#define T0 (UINT64_C(1000) * USEC_PER_SEC)
#define T1 (T0 + 2 * USEC_PER_SEC)

/* A fixture root in a mkdtemp directory. */
struct root {
    char path[256];
    int fd;
};

static void root_make(struct root *r)
{
    strcpy(r->path, "/tmp/headroom-test-sampler-XXXXXX");
    assert_non_null(mkdtemp(r->path));
    r->fd = open(r->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(r->fd >= 0);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void root_done(struct root *r)
{
    close(r->fd);
    assert_int_equal(nftw(r->path, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* mkdir -p of rel (relative to the root). */
static void root_mkdir(struct root *r, const char *rel)
{
    char path[512];

    (void) snprintf(path, sizeof(path), "%s/%s", r->path, rel);
    assert_int_equal(mkdir_p(path, 0755), 0);
}

/* Writes a file below the root, creating its parent directories. */
static void root_put(struct root *r, const char *rel, const char *content)
{
    char path[512], dir[512];

    (void) snprintf(path, sizeof(path), "%s/%s", r->path, rel);
    strcpy(dir, path);
    *strrchr(dir, '/') = '\0';
    assert_int_equal(mkdir_p(dir, 0755), 0);
    FILE *f = fopen(path, "we");
    assert_non_null(f);
    assert_int_equal(fputs(content, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void root_unlink(struct root *r, const char *rel)
{
    char path[512];

    (void) snprintf(path, sizeof(path), "%s/%s", r->path, rel);
    assert_int_equal(unlink(path), 0);
}

/* ---- the host files used by every scenario (2 CPUs, 8 GiB) */

/* Between the two readings, 2 s apart: total Δbusy = 300 (user 200 + system 100), Δidle = 250 +
 * iowait 50, so the host is 50 % busy = 1.0 core of 2. cpu0 is 200/300 busy, cpu1 100/300. */
static const char stat_a[] =
        "cpu  1000 0 500 8000 500 0 0 0 0 0\n"
        "cpu0 500 0 250 4000 250 0 0 0 0 0\n"
        "cpu1 500 0 250 4000 250 0 0 0 0 0\n"
        "intr 1 2 3\n"
        "ctxt 10000\n"
        "btime 1700000000\n"
        "procs_running 3\n"
        "procs_blocked 1\n";
static const char stat_b[] =
        "cpu  1200 0 600 8250 550 0 0 0 0 0\n"
        "cpu0 650 0 300 4100 250 0 0 0 0 0\n"
        "cpu1 550 0 300 4150 300 0 0 0 0 0\n"
        "intr 1 2 3\n"
        "ctxt 14000\n"
        "btime 1700000000\n"
        "procs_running 5\n"
        "procs_blocked 2\n";

static const char meminfo_host[] =
        "MemTotal:        8388608 kB\n"
        "MemFree:         1048576 kB\n"
        "MemAvailable:    6291456 kB\n"
        "Buffers:          262144 kB\n"
        "Cached:           524288 kB\n"
        "SwapCached:            0 kB\n"
        "SwapTotal:       2097152 kB\n"
        "SwapFree:        1048576 kB\n";

/* sda and dm-0 are whole disks (sys/block has them), sda1 is a partition, loop0 is virtual.
 * 20-, 14- and 18-field lines mixed. Δ read sectors: sda 4000 + dm-0 1000; Δ written: 1000 +
 * 1000. */
static const char diskstats_a[] =
        "   8       0 sda 100 0 1000 0 50 0 2000 0 0 0 0 0 0 0 0 0 0\n"
        "   8       1 sda1 100 0 1000 0 50 0 2000 0 0 0 0 0 0 0 0 0 0\n"
        "   7       0 loop0 10 0 500 0 0 0 0 0 0 0 0\n"
        " 253       0 dm-0 10 0 100 0 10 0 200 0 0 0 0 0 0 0 0\n";
static const char diskstats_b[] =
        "   8       0 sda 100 0 5000 0 50 0 3000 0 0 0 0 0 0 0 0 0 0\n"
        "   8       1 sda1 100 0 5000 0 50 0 3000 0 0 0 0 0 0 0 0 0 0\n"
        "   7       0 loop0 10 0 100500 0 0 0 0 0 0 0 0\n"
        " 253       0 dm-0 10 0 1100 0 10 0 1200 0 0 0 0 0 0 0 0\n";

/* Δrx: eth0 600000 + eth1 400000 (its counter touches the colon); Δtx: 200000; lo is ignored. */
static const char net_a[] =
        "Inter-|   Receive                                                |  Transmit\n"
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
        "drop fifo colls carrier compressed\n"
        "    lo:    1000      10    0    0    0     0          0         0     1000      10    0   "
        " 0    0     0       0          0\n"
        "  eth0: 1000000     100    0    0    0     0          0         0   500000      50    0   "
        " 0    0     0       0          0\n"
        "  eth1:4294967296   100    0    0    0     0          0         0        7      50    0   "
        " 0    0     0       0          0\n";
static const char net_b[] =
        "Inter-|   Receive                                                |  Transmit\n"
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
        "drop fifo colls carrier compressed\n"
        "    lo:  100999      10    0    0    0     0          0         0   100999      10    0   "
        " 0    0     0       0          0\n"
        "  eth0: 1600000     100    0    0    0     0          0         0   700000      50    0   "
        " 0    0     0       0          0\n"
        "  eth1:4295367296   100    0    0    0     0          0         0        7      50    0   "
        " 0    0     0       0          0\n";

static const char psi_cpu[] =
        "some avg10=1.50 avg60=1.00 avg300=0.50 total=12345\n"
        "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
static const char psi_memory[] =
        "some avg10=0.25 avg60=0.10 avg300=0.05 total=777\n"
        "full avg10=0.20 avg60=0.05 avg300=0.01 total=555\n";
static const char psi_io[] =
        "some avg10=7.00 avg60=6.00 avg300=5.00 total=999999\n"
        "full avg10=3.00 avg60=2.00 avg300=1.00 total=888888\n";

static void put_host(struct root *r)
{
    root_put(r, "proc/stat", stat_a);
    root_put(r, "proc/meminfo", meminfo_host);
    root_put(r, "proc/loadavg", "0.50 0.75 1.25 2/345 999\n");
    root_put(r, "proc/diskstats", diskstats_a);
    root_put(r, "proc/net/dev", net_a);
    root_put(r, "proc/pressure/cpu", psi_cpu);
    root_put(r, "proc/pressure/memory", psi_memory);
    root_put(r, "proc/pressure/io", psi_io);
    root_mkdir(r, "proc/1");
    root_mkdir(r, "proc/42");
    root_mkdir(r, "proc/4242");
    root_mkdir(r, "proc/0x1");
    root_put(r, "sys/block/sda/dev", "8:0\n");
    root_put(r, "sys/block/dm-0/dev", "253:0\n");
    root_put(r, "sys/block/loop0/dev", "7:0\n");
}

static void advance_host(struct root *r)
{
    root_put(r, "proc/stat", stat_b);
    root_put(r, "proc/diskstats", diskstats_b);
    root_put(r, "proc/net/dev", net_b);
}

/* The unified hierarchy at /sys/fs/cgroup; our path does not exist below it, as inside a cgroup
 * namespace, so the mount point itself is our cgroup. */
static void put_v2(struct root *r, bool with_cpu_stat)
{
    root_put(r, "proc/self/cgroup", "0::/kubepods/pod1/ctr\n");
    root_put(r, "proc/self/mountinfo",
             "1081 941 0:123 / / rw,relatime master:512 - overlay overlay rw\n"
             "1086 1085 0:30 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup "
             "rw,nsdelegate\n");
    root_put(r, "sys/fs/cgroup/memory.max", "2147483648\n");
    root_put(r, "sys/fs/cgroup/memory.current", "1073741824\n");
    root_put(r, "sys/fs/cgroup/memory.stat",
             "anon 1\nfile 2\ninactive_file 268435456\nactive_file 5\n");
    root_put(r, "sys/fs/cgroup/cpu.max", "150000 100000\n");
    if (with_cpu_stat)
        root_put(r, "sys/fs/cgroup/cpu.stat",
                 "usage_usec 1000000\nuser_usec 600000\nsystem_usec 400000\n");
}

/* Hybrid: v2 root without controllers, v1 memory/cpu/cpuacct each on its own hierarchy, and our
 * v1 cgroup directory exists. */
static void put_v1(struct root *r, const char *limit, const char *quota)
{
    root_put(r, "proc/self/cgroup",
             "5:cpuacct:/svc/app\n4:memory:/svc/app\n1:cpu:/svc/app\n0::/\n");
    root_put(r, "proc/self/mountinfo",
             "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
             "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
             "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
             "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
             "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n");
    root_put(r, "sys/fs/cgroup/unified/cgroup.controllers", "hugetlb\n");
    root_put(r, "sys/fs/cgroup/unified/cpu.stat", "usage_usec 99999999\n");
    root_put(r, "sys/fs/cgroup/memory/svc/app/memory.limit_in_bytes", limit);
    root_put(r, "sys/fs/cgroup/memory/svc/app/memory.usage_in_bytes", "629145600\n");
    root_put(r, "sys/fs/cgroup/memory/svc/app/memory.stat",
             "cache 1\ninactive_file 1\ntotal_cache 1\ntotal_inactive_file 104857600\n");
    root_put(r, "sys/fs/cgroup/cpu/svc/app/cpu.cfs_quota_us", quota);
    root_put(r, "sys/fs/cgroup/cpu/svc/app/cpu.cfs_period_us", "100000\n");
    root_put(r, "sys/fs/cgroup/cpuacct/svc/app/cpuacct.usage", "1000000000\n");
}

static struct sampler *sampler_at(struct root *r, unsigned n_paths, const char *const *paths)
{
    struct sampler_options o = { .root_fd = r->fd, .n_paths = n_paths, .paths = paths };
    struct sampler *s = NULL;

    assert_int_equal(sampler_new(&o, &s), 0);
    assert_non_null(s);
    return s;
}

static struct hr_snapshot *snap_new(void)
{
    struct hr_snapshot *snap = malloc(sizeof(*snap));
    assert_non_null(snap);
    memset(snap, 0x5a, sizeof(*snap));
    return snap;
}

/* ---- scenarios */

static void test_plain_host(void **state)
{
    static const char *const paths[] = { "/", "/missing/dir" };
    struct root r;
    struct hr_snapshot *snap = snap_new();
    struct statvfs sv;

    root_make(&r);
    put_host(&r);
    root_put(&r, "proc/self/cgroup", "0::/\n");
    root_put(&r, "proc/self/mountinfo",
             "41 31 0:38 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n");
    root_put(&r, "sys/fs/cgroup/cgroup.controllers", "cpu memory\n");
    root_put(&r, "sys/fs/cgroup/cpu.stat", "usage_usec 5\n");

    struct sampler *s = sampler_at(&r, ELEMENTSOF(paths), paths);
    assert_string_equal(sampler_describe(s), "cgroup: memory host, cpu host; psi: yes");

    /* First sample: figures but no rates. */
    assert_int_equal(sampler_sample(s, T0, 42, snap), 0);
    assert_false(snap->valid);
    assert_true(snap->seq == 1);
    assert_true(snap->mono_usec == T0);
    assert_true(snap->real_usec == 42);
    assert_float_equal(snap->cpu_pct, 0.0, 1e-9);
    assert_float_equal(snap->disk_read_bytes_per_sec, 0.0, 1e-9);
    assert_float_equal(snap->net_rx_bytes_per_sec, 0.0, 1e-9);
    assert_float_equal(snap->ctxt_per_sec, 0.0, 1e-9);
    assert_int_equal(snap->n_cpu_pct, 0);
    assert_int_equal(snap->n_cpus, 2);
    assert_true(snap->mem_total_bytes == 8 * GIB);
    assert_int_equal(snap->n_gpus, 0);

    advance_host(&r);
    assert_int_equal(sampler_sample(s, T1, 43, snap), 0);
    assert_true(snap->valid);
    assert_true(snap->seq == 2);

    /* CPU: 50 % of 2 cores; per core 2/3 and 1/3. */
    assert_int_equal(snap->n_cpus, 2);
    assert_float_equal(snap->cpu_capacity_cores, 2.0, 1e-9);
    assert_float_equal(snap->cpu_pct, 50.0, 1e-9);
    assert_int_equal(snap->n_cpu_pct, 2);
    assert_float_equal(snap->cpu_core_pct[0], 200.0 / 3.0, 1e-9);
    assert_float_equal(snap->cpu_core_pct[1], 100.0 / 3.0, 1e-9);
    assert_float_equal(snap->load1, 0.50, 1e-9);
    assert_float_equal(snap->load5, 0.75, 1e-9);
    assert_float_equal(snap->load15, 1.25, 1e-9);

    /* Memory: the host's. */
    assert_true(snap->mem_total_bytes == 8 * GIB);
    assert_true(snap->mem_available_bytes == 6 * GIB);
    assert_true(snap->mem_used_bytes == 2 * GIB);
    assert_float_equal(snap->mem_used_pct, 25.0, 1e-9);
    assert_true(snap->host_mem_total_bytes == 8 * GIB);
    assert_true(snap->host_mem_available_bytes == 6 * GIB);
    assert_true(snap->swap_total_bytes == 2 * GIB);
    assert_true(snap->swap_free_bytes == GIB);

    /* PSI, all three. */
    assert_true(snap->psi[PSI_CPU].available);
    assert_float_equal(snap->psi[PSI_CPU].some.avg10, 1.5, 1e-9);
    assert_true(snap->psi[PSI_MEMORY].full.total_usec == 555);
    assert_float_equal(snap->psi[PSI_IO].full.avg10, 3.0, 1e-9);

    /* Rates over 2 s. */
    assert_float_equal(snap->disk_read_bytes_per_sec, 5000.0 * 512 / 2, 1e-6);
    assert_float_equal(snap->disk_write_bytes_per_sec, 2000.0 * 512 / 2, 1e-6);
    assert_float_equal(snap->net_rx_bytes_per_sec, 1000000.0 / 2, 1e-6);
    assert_float_equal(snap->net_tx_bytes_per_sec, 200000.0 / 2, 1e-6);
    assert_float_equal(snap->ctxt_per_sec, 2000.0, 1e-9);

    /* Processes are the numeric entries ("0x1" is not one), threads come from loadavg. */
    assert_true(snap->processes == 3);
    assert_true(snap->threads == 345);
    assert_true(snap->procs_running == 5);
    assert_true(snap->procs_blocked == 2);

    /* cgroup: the root of a v2 hierarchy has no limits. */
    assert_int_equal(snap->cgroup.memory_mode, CGROUP_MODE_NONE);
    assert_int_equal(snap->cgroup.cpu_mode, CGROUP_MODE_NONE);
    assert_false(snap->cgroup.memory_limited);
    assert_false(snap->cgroup.cpu_limited);
    assert_true(snap->cgroup.memory_limit_bytes == UINT64_MAX);
    assert_string_equal(snap->cgroup.path, "/");

    /* Disks: the root is the tmp directory; the missing path is kept with its error. */
    assert_int_equal(snap->n_disks, 2);
    assert_string_equal(snap->disks[0].path, "/");
    assert_int_equal(snap->disks[0].error, 0);
    assert_int_equal(statvfs(r.path, &sv), 0);
    assert_true(snap->disks[0].total_bytes == (uint64_t) sv.f_blocks * sv.f_frsize);
    assert_true(snap->disks[0].used_bytes ==
                snap->disks[0].total_bytes - snap->disks[0].free_root_bytes);
    assert_true(snap->disks[0].free_bytes <= snap->disks[0].free_root_bytes);
    assert_true(snap->disks[0].free_root_bytes <= snap->disks[0].total_bytes);
    assert_false(snap->disks[0].readonly);
    assert_string_equal(snap->disks[1].path, "/missing/dir");
    assert_int_equal(snap->disks[1].error, -ENOENT);
    assert_true(snap->disks[1].total_bytes == 0);

    sampler_free(s);
    root_done(&r);
    free(snap);
}

static void test_counters_and_time(void **state)
{
    struct root r;
    struct hr_snapshot *snap = snap_new();

    root_make(&r);
    put_host(&r);
    struct sampler *s = sampler_at(&r, 0, NULL);
    assert_string_equal(sampler_describe(s), "cgroup: memory host, cpu host; psi: yes");

    assert_int_equal(sampler_sample(s, T0, 0, snap), 0);
    advance_host(&r);

    /* No time passed: no rates, not valid, but no error either. */
    assert_int_equal(sampler_sample(s, T0, 0, snap), 0);
    assert_false(snap->valid);
    assert_float_equal(snap->cpu_pct, 0.0, 1e-9);
    assert_float_equal(snap->disk_read_bytes_per_sec, 0.0, 1e-9);

    /* Counters going backwards (interface reset, disk replaced) give 0, never a huge rate; the
     * counters that did advance still give theirs. */
    root_put(&r, "proc/net/dev", net_a);
    root_put(&r, "proc/diskstats",
             "   8       0 sda 100 0 9000 0 50 0 3000 0 0 0 0 0 0 0 0 0 0\n"
             " 253       0 dm-0 10 0 1100 0 10 0 1200 0 0 0 0 0 0 0 0\n");
    assert_int_equal(sampler_sample(s, T0 + USEC_PER_SEC, 0, snap), 0);
    assert_true(snap->valid);
    assert_float_equal(snap->net_rx_bytes_per_sec, 0.0, 1e-9);
    assert_float_equal(snap->net_tx_bytes_per_sec, 0.0, 1e-9);
    assert_float_equal(snap->disk_read_bytes_per_sec, 4000.0 * 512, 1e-6);
    assert_float_equal(snap->disk_write_bytes_per_sec, 0.0, 1e-9);

    /* A broken mandatory source fails the tick and leaves *ret alone; the next good tick works. */
    struct hr_snapshot *copy = malloc(sizeof(*copy));
    assert_non_null(copy);
    memcpy(copy, snap, sizeof(*copy));
    root_put(&r, "proc/stat", "cpu 1 2 garbage\n");
    assert_int_equal(sampler_sample(s, T0 + 2 * USEC_PER_SEC, 0, snap), -EBADMSG);
    assert_memory_equal(copy, snap, sizeof(*copy));
    root_put(&r, "proc/meminfo", "MemTotal: 1 kB\n");
    root_put(&r, "proc/stat", stat_b);
    assert_int_equal(sampler_sample(s, T0 + 2 * USEC_PER_SEC, 0, snap), -EBADMSG);
    assert_memory_equal(copy, snap, sizeof(*copy));

    root_put(&r, "proc/meminfo", meminfo_host);
    root_put(&r, "proc/net/dev", net_b);
    assert_int_equal(sampler_sample(s, T0 + 3 * USEC_PER_SEC, 0, snap), 0);
    assert_true(snap->valid);
    assert_true(snap->seq == 4); /* failed ticks do not count */
    /* net went a → b over the 2 s since its last good reading. */
    assert_float_equal(snap->net_rx_bytes_per_sec, 1000000.0 / 2, 1e-6);

    /* A stalled clock (monotonic time earlier than the last sample) is treated like Δt = 0. */
    assert_int_equal(sampler_sample(s, T0, 0, snap), 0);
    assert_false(snap->valid);

    free(copy);
    sampler_free(s);
    root_done(&r);
    free(snap);
}

static void test_refresh_intervals(void **state)
{
    struct root r;
    struct hr_snapshot *snap = snap_new();

    root_make(&r);
    put_host(&r);
    struct sampler *s = sampler_at(&r, 0, NULL);
    assert_int_equal(sampler_sample(s, T0, 0, snap), 0);
    assert_true(snap->processes == 3);

    /* A new PID and a new disk: the PID count is refreshed every 10 s, the disk list every 60 s. */
    root_mkdir(&r, "proc/777");
    root_put(&r, "sys/block/sda1/dev", "8:1\n");
    advance_host(&r);
    assert_int_equal(sampler_sample(s, T1, 0, snap), 0);
    assert_true(snap->processes == 3);
    assert_float_equal(snap->disk_read_bytes_per_sec, 5000.0 * 512 / 2, 1e-6);

    assert_int_equal(sampler_sample(s, T0 + 10 * USEC_PER_SEC, 0, snap), 0);
    assert_true(snap->processes == 4);

    /* After a minute sda1 counts as a whole disk too. The tick that notices restarts the disk
     * rates (sda1's history must not show up as one burst); the next one includes sda1. */
    assert_int_equal(sampler_sample(s, T0 + 61 * USEC_PER_SEC, 0, snap), 0);
    assert_true(snap->valid);
    assert_float_equal(snap->disk_read_bytes_per_sec, 0.0, 1e-9);
    assert_float_equal(snap->net_rx_bytes_per_sec, 0.0, 1e-9); /* unchanged files: 0, not reset */
    root_put(&r, "proc/diskstats",
             "   8       0 sda 100 0 7000 0 50 0 3000 0 0 0 0 0 0 0 0 0 0\n"
             "   8       1 sda1 100 0 7000 0 50 0 3000 0 0 0 0 0 0 0 0 0 0\n"
             " 253       0 dm-0 10 0 1100 0 10 0 1200 0 0 0 0 0 0 0 0\n");
    assert_int_equal(sampler_sample(s, T0 + 63 * USEC_PER_SEC, 0, snap), 0);
    assert_float_equal(snap->disk_read_bytes_per_sec, 4000.0 * 512 / 2, 1e-6);

    sampler_free(s);
    root_done(&r);
    free(snap);
}

static void test_v2_container(void **state)
{
    struct root r;
    struct hr_snapshot *snap = snap_new();

    root_make(&r);
    put_host(&r);
    put_v2(&r, true);
    struct sampler *s = sampler_at(&r, 0, NULL);
    assert_string_equal(sampler_describe(s),
                        "cgroup: v2 memory (limit 2.0 GiB), v2 cpu (quota 1.50 cores); psi: yes");

    assert_int_equal(sampler_sample(s, T0, 0, snap), 0);
    advance_host(&r);
    /* Our cgroup used 1.6 s of CPU in 2 s: 0.8 cores of the 1.5 allowed. */
    root_put(&r, "sys/fs/cgroup/cpu.stat", "usage_usec 2600000\nuser_usec 1\nsystem_usec 1\n");
    assert_int_equal(sampler_sample(s, T1, 0, snap), 0);
    assert_true(snap->valid);

    /* Memory: limit 2 GiB, working set 1 GiB - 256 MiB = 768 MiB, so 1280 MiB are left (the host
     * has 6 GiB available, more than that). */
    assert_int_equal(snap->cgroup.memory_mode, CGROUP_MODE_V2);
    assert_true(snap->cgroup.memory_limited);
    assert_true(snap->cgroup.memory_limit_bytes == 2 * GIB);
    assert_true(snap->cgroup.memory_usage_bytes == GIB);
    assert_true(snap->mem_total_bytes == 2 * GIB);
    assert_true(snap->mem_available_bytes == 1280 * MIB);
    assert_true(snap->mem_used_bytes == 768 * MIB);
    assert_float_equal(snap->mem_used_pct, 37.5, 1e-9);
    assert_true(snap->host_mem_total_bytes == 8 * GIB);
    assert_true(snap->host_mem_available_bytes == 6 * GIB);
    assert_string_equal(snap->cgroup.path, "/kubepods/pod1/ctr");

    /* CPU: capacity min(2, 1.5); free = min(1.5 - 0.8, 2 - 1.0) = 0.7 cores → 53.3 %. */
    assert_int_equal(snap->cgroup.cpu_mode, CGROUP_MODE_V2);
    assert_true(snap->cgroup.cpu_limited);
    assert_float_equal(snap->cgroup.cpu_quota_cores, 1.5, 1e-9);
    assert_float_equal(snap->cpu_capacity_cores, 1.5, 1e-9);
    assert_float_equal(snap->cpu_pct, 100.0 * (1.0 - 0.7 / 1.5), 1e-9);

    /* Now the host is the tighter bound: only 1 GiB available there. And the cgroup is nearly
     * idle (0.1 core) while the host stays 1.0 core busy: free = min(1.4, 1.0) → 33.3 %. */
    root_put(&r, "proc/meminfo",
             "MemTotal: 8388608 kB\nMemFree: 524288 kB\nMemAvailable: 1048576 kB\n");
    root_put(&r, "sys/fs/cgroup/cpu.stat", "usage_usec 2800000\n");
    root_put(&r, "proc/stat", "cpu  1400 0 700 8500 600 0 0 0 0 0\ncpu0 1 0 0 0\ncpu1 1 0 0 0\n");
    assert_int_equal(sampler_sample(s, T1 + 2 * USEC_PER_SEC, 0, snap), 0);
    assert_true(snap->mem_available_bytes == GIB);
    assert_true(snap->mem_used_bytes == GIB);
    assert_float_equal(snap->mem_used_pct, 50.0, 1e-9);
    assert_true(snap->swap_total_bytes == 0);
    assert_float_equal(snap->cpu_pct, 100.0 * (1.0 - 1.0 / 1.5), 1e-9);

    /* The quota is lifted at run time ("max"): capacity is back to both CPUs. */
    root_put(&r, "sys/fs/cgroup/cpu.max", "max 100000\n");
    root_put(&r, "sys/fs/cgroup/memory.max", "max\n");
    assert_int_equal(sampler_sample(s, T1 + 4 * USEC_PER_SEC, 0, snap), 0);
    assert_false(snap->cgroup.cpu_limited);
    assert_float_equal(snap->cgroup.cpu_quota_cores, 0.0, 1e-9);
    assert_float_equal(snap->cpu_capacity_cores, 2.0, 1e-9);
    assert_false(snap->cgroup.memory_limited);
    assert_true(snap->cgroup.memory_limit_bytes == UINT64_MAX);
    assert_true(snap->mem_total_bytes == 8 * GIB);

    sampler_free(s);
    root_done(&r);
    free(snap);
}

static void test_v2_without_usage(void **state)
{
    struct root r;
    struct hr_snapshot *snap = snap_new();

    /* Without cpu.stat the cgroup's own usage is unknown, so all host load (1.0 core) is assumed
     * to be ours: 1.0 / 1.5. */
    root_make(&r);
    put_host(&r);
    put_v2(&r, false);
    struct sampler *s = sampler_at(&r, 0, NULL);
    assert_string_equal(sampler_describe(s),
                        "cgroup: v2 memory (limit 2.0 GiB), v2 cpu (quota 1.50 cores, usage "
                        "unknown); psi: yes");
    assert_int_equal(sampler_sample(s, T0, 0, snap), 0);
    advance_host(&r);
    assert_int_equal(sampler_sample(s, T1, 0, snap), 0);
    assert_true(snap->cgroup.cpu_limited);
    assert_float_equal(snap->cpu_capacity_cores, 1.5, 1e-9);
    assert_float_equal(snap->cpu_pct, 100.0 / 1.5, 1e-9);

    sampler_free(s);
    root_done(&r);
    free(snap);
}

static void test_v1_hybrid(void **state)
{
    struct root r;
    struct hr_snapshot *snap = snap_new();

    root_make(&r);
    put_host(&r);
    put_v1(&r, "1073741824\n", "50000\n");
    struct sampler *s = sampler_at(&r, 0, NULL);
    assert_string_equal(sampler_describe(s),
                        "cgroup: v1 memory (limit 1.0 GiB), v1 cpu (quota 0.50 cores); psi: yes");

    assert_int_equal(sampler_sample(s, T0, 0, snap), 0);
    advance_host(&r);
    /* cpuacct counts ns: 0.5 s of CPU in 2 s is 0.25 cores. */
    root_put(&r, "sys/fs/cgroup/cpuacct/svc/app/cpuacct.usage", "1500000000\n");
    assert_int_equal(sampler_sample(s, T1, 0, snap), 0);

    /* Memory: 1 GiB limit, 600 MiB usage - 100 MiB total_inactive_file (not the local
     * inactive_file) = 500 MiB used, 524 MiB left. */
    assert_int_equal(snap->cgroup.memory_mode, CGROUP_MODE_V1);
    assert_true(snap->cgroup.memory_limited);
    assert_true(snap->cgroup.memory_limit_bytes == GIB);
    assert_true(snap->cgroup.memory_usage_bytes == 600 * MIB);
    assert_true(snap->mem_total_bytes == GIB);
    assert_true(snap->mem_available_bytes == 524 * MIB);
    assert_true(snap->mem_used_bytes == 500 * MIB);
    assert_float_equal(snap->mem_used_pct, 100.0 * 500.0 / 1024.0, 1e-9);
    assert_string_equal(snap->cgroup.path, "/svc/app");

    /* CPU: quota 0.5 of 2 CPUs; free = min(0.5 - 0.25, 2 - 1.0) = 0.25 → 50 %. The v2 root's
     * cpu.stat (another set of processes) is not used. */
    assert_int_equal(snap->cgroup.cpu_mode, CGROUP_MODE_V1);
    assert_true(snap->cgroup.cpu_limited);
    assert_float_equal(snap->cgroup.cpu_quota_cores, 0.5, 1e-9);
    assert_float_equal(snap->cpu_capacity_cores, 0.5, 1e-9);
    assert_float_equal(snap->cpu_pct, 50.0, 1e-9);

    sampler_free(s);
    root_done(&r);
    free(snap);
}

static void test_v1_unlimited(void **state)
{
    struct root r;
    struct hr_snapshot *snap = snap_new();

    root_make(&r);
    put_host(&r);
    put_v1(&r, "9223372036854771712\n", "-1\n");
    struct sampler *s = sampler_at(&r, 0, NULL);
    assert_string_equal(sampler_describe(s),
                        "cgroup: v1 memory (unlimited), v1 cpu (unlimited); psi: yes");

    assert_int_equal(sampler_sample(s, T0, 0, snap), 0);
    advance_host(&r);
    assert_int_equal(sampler_sample(s, T1, 0, snap), 0);

    /* The cgroup is found and reported, but the host's figures apply. */
    assert_int_equal(snap->cgroup.memory_mode, CGROUP_MODE_V1);
    assert_false(snap->cgroup.memory_limited);
    assert_true(snap->cgroup.memory_limit_bytes == UINT64_MAX);
    assert_true(snap->cgroup.memory_usage_bytes == 600 * MIB);
    assert_true(snap->mem_total_bytes == 8 * GIB);
    assert_true(snap->mem_available_bytes == 6 * GIB);
    assert_int_equal(snap->cgroup.cpu_mode, CGROUP_MODE_V1);
    assert_false(snap->cgroup.cpu_limited);
    assert_float_equal(snap->cgroup.cpu_quota_cores, 0.0, 1e-9);
    assert_float_equal(snap->cpu_capacity_cores, 2.0, 1e-9);
    assert_float_equal(snap->cpu_pct, 50.0, 1e-9);

    /* A finite limit above the host's RAM does not bind either; a quota above the CPU count
     * neither. */
    root_put(&r, "sys/fs/cgroup/memory/svc/app/memory.limit_in_bytes", "34359738368\n");
    root_put(&r, "sys/fs/cgroup/cpu/svc/app/cpu.cfs_quota_us", "400000\n");
    assert_int_equal(sampler_sample(s, T1 + USEC_PER_SEC, 0, snap), 0);
    assert_false(snap->cgroup.memory_limited);
    assert_true(snap->cgroup.memory_limit_bytes == 32 * GIB);
    assert_true(snap->mem_total_bytes == 8 * GIB);
    assert_false(snap->cgroup.cpu_limited);
    assert_float_equal(snap->cgroup.cpu_quota_cores, 4.0, 1e-9);
    assert_float_equal(snap->cpu_capacity_cores, 2.0, 1e-9);

    /* A limit set on an ancestor shows up in v1's hierarchical_memory_limit and binds us. */
    root_put(&r, "sys/fs/cgroup/memory/svc/app/memory.limit_in_bytes", "9223372036854771712\n");
    root_put(&r, "sys/fs/cgroup/memory/svc/app/memory.stat",
             "total_inactive_file 104857600\nhierarchical_memory_limit 2147483648\n");
    assert_int_equal(sampler_sample(s, T1 + 2 * USEC_PER_SEC, 0, snap), 0);
    assert_true(snap->cgroup.memory_limited);
    assert_true(snap->cgroup.memory_limit_bytes == 2 * GIB);
    assert_true(snap->mem_total_bytes == 2 * GIB);
    assert_true(snap->mem_available_bytes == 2 * GIB - 500 * MIB);

    /* A cgroup file that turns unreadable degrades to host values for that tick. */
    root_put(&r, "sys/fs/cgroup/memory/svc/app/memory.usage_in_bytes", "garbage\n");
    assert_int_equal(sampler_sample(s, T1 + 3 * USEC_PER_SEC, 0, snap), 0);
    assert_int_equal(snap->cgroup.memory_mode, CGROUP_MODE_NONE);
    assert_true(snap->mem_total_bytes == 8 * GIB);

    sampler_free(s);
    root_done(&r);
    free(snap);
}

static void test_psi_absent_or_broken(void **state)
{
    struct root r;
    struct hr_snapshot *snap = snap_new();

    root_make(&r);
    put_host(&r);
    root_unlink(&r, "proc/pressure/cpu");
    root_unlink(&r, "proc/pressure/memory");
    root_unlink(&r, "proc/pressure/io");
    struct sampler *s = sampler_at(&r, 0, NULL);
    assert_string_equal(sampler_describe(s), "cgroup: memory host, cpu host; psi: no");
    assert_int_equal(sampler_sample(s, T0, 0, snap), 0);
    for (size_t i = 0; i < _PSI_RESOURCE_MAX; i++)
        assert_false(snap->psi[i].available);
    sampler_free(s);

    /* A PSI file that exists but fails when read. The kernel says EOPNOTSUPP (psi=0), which a
     * regular file cannot; a directory in its place fails the read with EISDIR, which takes the
     * same path. Unparsable content counts as absent too. */
    root_mkdir(&r, "proc/pressure/cpu");
    root_put(&r, "proc/pressure/memory", "not psi\n");
    root_put(&r, "proc/pressure/io", psi_io);
    s = sampler_at(&r, 0, NULL);
    assert_string_equal(sampler_describe(s), "cgroup: memory host, cpu host; psi: io");
    assert_int_equal(sampler_sample(s, T0, 0, snap), 0);
    assert_false(snap->psi[PSI_CPU].available);
    assert_false(snap->psi[PSI_MEMORY].available);
    assert_true(snap->psi[PSI_IO].available);
    assert_float_equal(snap->psi[PSI_IO].some.avg10, 7.0, 1e-9);

    /* PSI that breaks after start-up is reported unavailable for that tick. */
    root_put(&r, "proc/pressure/io", "some avg10=x\n");
    assert_int_equal(sampler_sample(s, T1, 0, snap), 0);
    assert_false(snap->psi[PSI_IO].available);

    sampler_free(s);
    root_done(&r);
    free(snap);
}

static void test_missing_mem_available(void **state)
{
    struct root r;
    struct hr_snapshot *snap = snap_new();

    root_make(&r);
    put_host(&r);
    root_put(&r, "proc/meminfo",
             "MemTotal:        8388608 kB\n"
             "MemFree:         1048576 kB\n"
             "Buffers:          262144 kB\n"
             "Cached:           524288 kB\n"
             "SwapTotal:            0 kB\n"
             "SwapFree:             0 kB\n");
    struct sampler *s = sampler_at(&r, 0, NULL);
    assert_int_equal(sampler_sample(s, T0, 0, snap), 0);
    /* MemFree + Buffers + Cached = 1 GiB + 256 MiB + 512 MiB. */
    assert_true(snap->mem_available_bytes == GIB + 768 * MIB);
    assert_true(snap->host_mem_available_bytes == GIB + 768 * MIB);
    assert_true(snap->mem_used_bytes == 8 * GIB - GIB - 768 * MIB);
    sampler_free(s);
    root_done(&r);
    free(snap);
}

static void test_minimal_root(void **state)
{
    struct root r;
    struct hr_snapshot *snap = snap_new();
    struct sampler_options o = {};
    struct sampler *s = NULL;

    root_make(&r);
    o.root_fd = r.fd;

    /* proc/stat and proc/meminfo are mandatory. */
    assert_int_equal(sampler_new(&o, &s), -ENOENT);
    root_put(&r, "proc/stat", stat_a);
    assert_int_equal(sampler_new(&o, &s), -ENOENT);
    assert_null(s);

    /* With only those two, everything else is absent and zero, never an error. */
    root_put(&r, "proc/meminfo", meminfo_host);
    s = sampler_at(&r, 0, NULL);
    assert_string_equal(sampler_describe(s), "cgroup: memory host, cpu host; psi: no");
    assert_int_equal(sampler_sample(s, T0, 0, snap), 0);
    root_put(&r, "proc/stat", stat_b);
    assert_int_equal(sampler_sample(s, T1, 0, snap), 0);
    assert_true(snap->valid);
    assert_float_equal(snap->cpu_pct, 50.0, 1e-9);
    assert_float_equal(snap->disk_read_bytes_per_sec, 0.0, 1e-9);
    assert_float_equal(snap->net_rx_bytes_per_sec, 0.0, 1e-9);
    assert_float_equal(snap->load1, 0.0, 1e-9);
    assert_true(snap->processes == 0);
    assert_true(snap->threads == 0);
    assert_int_equal(snap->n_disks, 0);
    assert_int_equal(snap->cgroup.memory_mode, CGROUP_MODE_NONE);
    assert_string_equal(snap->cgroup.path, "");
    s = sampler_free(s);

    /* Bad options. */
    const char *too_many[HR_DISKS_MAX + 1];
    for (size_t i = 0; i < ELEMENTSOF(too_many); i++)
        too_many[i] = "/";
    o.paths = too_many;
    o.n_paths = HR_DISKS_MAX + 1;
    assert_int_equal(sampler_new(&o, &s), -EINVAL);
    o.n_paths = 1;
    too_many[0] = "";
    assert_int_equal(sampler_new(&o, &s), -EINVAL);
    char longpath[HR_PATH_MAX + 1];
    memset(longpath, 'a', HR_PATH_MAX);
    longpath[HR_PATH_MAX] = '\0';
    too_many[0] = longpath;
    assert_int_equal(sampler_new(&o, &s), -ENAMETOOLONG);
    o.root_fd = -1;
    assert_int_equal(sampler_new(&o, &s), -EINVAL);
    assert_null(s);
    assert_null(sampler_free(NULL));

    root_done(&r);
    free(snap);
}

/* ---- the captured and hand-written fixture scenarios as whole roots */

static void root_link_scenario(struct root *r, const char *scenario)
{
    char target[1024], link[512];

    (void) snprintf(target, sizeof(target), "%s/proc/%s", fixtures_dir(), scenario);
    (void) snprintf(link, sizeof(link), "%s/proc", r->path);
    assert_int_equal(symlink(target, link), 0);
    (void) snprintf(target, sizeof(target), "%s/sys/%s", fixtures_dir(), scenario);
    (void) snprintf(link, sizeof(link), "%s/sys", r->path);
    assert_int_equal(symlink(target, link), 0);
}

static void test_fixture_scenarios(void **state)
{
    struct root r;
    struct hr_snapshot *snap = snap_new();
    struct sampler *s;

    /* This machine's capture: hybrid, v1 memory cgroup without a limit, cpu at the v1 root. */
    root_make(&r);
    root_link_scenario(&r, "debian12-6.18-hybrid");
    s = sampler_at(&r, 0, NULL);
    assert_string_equal(sampler_describe(s),
                        "cgroup: v1 memory (unlimited), v1 cpu (unlimited); psi: yes");
    assert_int_equal(sampler_sample(s, T0, 0, snap), 0);
    assert_int_equal(sampler_sample(s, T1, 0, snap), 0);
    assert_true(snap->valid);
    assert_int_equal(snap->n_cpus, 2);
    assert_float_equal(snap->cpu_pct, 0.0, 1e-9); /* the same file twice */
    assert_true(snap->mem_total_bytes == 24684092 * KIB);
    assert_true(snap->mem_available_bytes == 24300752 * KIB);
    assert_int_equal(snap->cgroup.memory_mode, CGROUP_MODE_V1);
    assert_false(snap->cgroup.memory_limited);
    assert_true(snap->cgroup.memory_usage_bytes == 8630272);
    assert_string_equal(snap->cgroup.path, "/process_api/4a7f9b558f77d577e5d3cd1a58c602b0");
    assert_true(snap->psi[PSI_CPU].available);
    assert_true(snap->threads == 89);
    sampler_free(s);
    root_done(&r);

    /* 5.10 container, v2 in a cgroup namespace, 4 CPUs, 2 GiB and 1.5 cores. */
    root_make(&r);
    root_link_scenario(&r, "container-v2-5.10");
    s = sampler_at(&r, 0, NULL);
    assert_string_equal(sampler_describe(s),
                        "cgroup: v2 memory (limit 2.0 GiB), v2 cpu (quota 1.50 cores); psi: yes");
    assert_int_equal(sampler_sample(s, T0, 0, snap), 0);
    assert_int_equal(snap->n_cpus, 4);
    assert_float_equal(snap->cpu_capacity_cores, 1.5, 1e-9);
    assert_true(snap->mem_total_bytes == 2 * GIB);
    assert_true(snap->mem_available_bytes == 2 * GIB - (UINT64_C(1288490188) - 268435456));
    assert_true(snap->host_mem_available_bytes == 11027436 * KIB);
    assert_true(snap->swap_free_bytes == 2051580 * KIB);
    assert_false(snap->psi[PSI_CPU].has_full);
    assert_true(snap->psi[PSI_IO].has_full);
    sampler_free(s);
    root_done(&r);

    /* 3.2, v1 only with cpu,cpuacct co-mounted, no MemAvailable, no PSI. */
    root_make(&r);
    root_link_scenario(&r, "legacy-v1-3.2");
    s = sampler_at(&r, 0, NULL);
    assert_string_equal(sampler_describe(s),
                        "cgroup: v1 memory (limit 1.0 GiB), v1 cpu (quota 0.50 cores); psi: no");
    assert_int_equal(sampler_sample(s, T0, 0, snap), 0);
    assert_float_equal(snap->cpu_capacity_cores, 0.5, 1e-9);
    assert_true(snap->mem_total_bytes == GIB);
    assert_true(snap->mem_available_bytes == GIB - (UINT64_C(644245094) - 104857600));
    assert_true(snap->host_mem_available_bytes == (1502344 + 160512 + 1421884) * KIB);
    for (size_t i = 0; i < _PSI_RESOURCE_MAX; i++)
        assert_false(snap->psi[i].available);
    sampler_free(s);
    root_done(&r);
    free(snap);
}

/* ---- the real machine */

static void burn_cpu_ms(unsigned ms)
{
    usec_t end = now_usec(CLOCK_MONOTONIC) + ms * USEC_PER_MSEC;
    volatile uint64_t x = 0;

    while (now_usec(CLOCK_MONOTONIC) < end)
        x++;
}

static void test_real_root(void **state)
{
    static const char *const paths[] = { "/" };
    struct sampler_options o = { .n_paths = 1, .paths = paths };
    struct hr_snapshot *snap = snap_new();
    struct sampler *s = NULL;

    o.root_fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(o.root_fd >= 0);
    assert_int_equal(sampler_new(&o, &s), 0);
    assert_true(strncmp(sampler_describe(s), "cgroup: ", 8) == 0);

    assert_int_equal(sampler_sample(s, now_usec(CLOCK_MONOTONIC), now_usec(CLOCK_REALTIME), snap),
                     0);
    assert_false(snap->valid);
    burn_cpu_ms(100);
    assert_int_equal(sampler_sample(s, now_usec(CLOCK_MONOTONIC), now_usec(CLOCK_REALTIME), snap),
                     0);
    assert_true(snap->valid);

    assert_true(snap->n_cpus >= 1);
    assert_true(snap->n_cpu_pct == MIN(snap->n_cpus, (unsigned) HR_CPUS_MAX));
    assert_true(snap->cpu_capacity_cores > 0.0 && snap->cpu_capacity_cores <= snap->n_cpus);
    assert_true(snap->cpu_pct >= 0.0 && snap->cpu_pct <= 100.0);
    for (unsigned i = 0; i < snap->n_cpu_pct; i++)
        assert_true(snap->cpu_core_pct[i] >= 0.0 && snap->cpu_core_pct[i] <= 100.0);
    assert_true(snap->mem_total_bytes > 0);
    assert_true(snap->mem_available_bytes <= snap->mem_total_bytes);
    assert_true(snap->mem_used_bytes + snap->mem_available_bytes == snap->mem_total_bytes);
    assert_true(snap->mem_used_pct >= 0.0 && snap->mem_used_pct <= 100.0);
    assert_true(snap->host_mem_total_bytes >= snap->mem_total_bytes);
    assert_true(snap->swap_free_bytes <= snap->swap_total_bytes);
    assert_true(snap->processes >= 1);
    assert_true(snap->threads >= 1);
    assert_true(snap->load1 >= 0.0);
    assert_true(snap->ctxt_per_sec >= 0.0);
    assert_true(snap->disk_read_bytes_per_sec >= 0.0 && snap->net_rx_bytes_per_sec >= 0.0);
    assert_int_equal(snap->n_disks, 1);
    assert_int_equal(snap->disks[0].error, 0);
    assert_true(snap->disks[0].total_bytes > 0);
    assert_true(snap->disks[0].free_bytes <= snap->disks[0].total_bytes);

    sampler_free(s);
    close(o.root_fd);
    free(snap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_host),
        cmocka_unit_test(test_counters_and_time),
        cmocka_unit_test(test_refresh_intervals),
        cmocka_unit_test(test_v2_container),
        cmocka_unit_test(test_v2_without_usage),
        cmocka_unit_test(test_v1_hybrid),
        cmocka_unit_test(test_v1_unlimited),
        cmocka_unit_test(test_psi_absent_or_broken),
        cmocka_unit_test(test_missing_mem_available),
        cmocka_unit_test(test_minimal_root),
        cmocka_unit_test(test_fixture_scenarios),
        cmocka_unit_test(test_real_root),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
