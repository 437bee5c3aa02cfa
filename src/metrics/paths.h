/* SPDX-License-Identifier: MIT */
#pragma once

/* The one place that names the kernel files headroom samples. On a normal host they are the files
 * under /proc and /sys; the paths here are relative on purpose, because every read goes through
 * openat() below the sampler's root_fd, which is "/" in production and a fixture tree in tests
 * (or with "headroom serve --root"). Nothing else in the tree spells these paths out. */

#define PROC_DIR_PATH             "proc"
#define PROC_STAT_PATH            "proc/stat"
#define PROC_MEMINFO_PATH         "proc/meminfo"
#define PROC_LOADAVG_PATH         "proc/loadavg"
#define PROC_DISKSTATS_PATH       "proc/diskstats"
#define PROC_NET_DEV_PATH         "proc/net/dev"
#define PROC_PRESSURE_CPU_PATH    "proc/pressure/cpu"
#define PROC_PRESSURE_MEMORY_PATH "proc/pressure/memory"
#define PROC_PRESSURE_IO_PATH     "proc/pressure/io"
#define PROC_SELF_CGROUP_PATH     "proc/self/cgroup"
#define PROC_SELF_MOUNTINFO_PATH  "proc/self/mountinfo"

/* A device listed in diskstats is a whole disk when sys/block/<name> exists. */
#define SYS_BLOCK_PATH "sys/block"
