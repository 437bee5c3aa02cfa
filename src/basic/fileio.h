/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Upper bound for any single virtual file we read. /proc/stat on a 1024-CPU machine is ~150 KiB;
 * nothing we parse is legitimately larger, and a bound keeps a hostile or broken file from
 * growing our memory. */
#define READ_VIRTUAL_MAX_BYTES (4U * 1024U * 1024U)

/* Opens path relative to dir_fd (a leading '/' is ignored, so "/proc/stat" and "proc/stat" are the
 * same file under a --root tree). O_RDONLY|O_CLOEXEC. Returns the fd, or -errno. Does not log. */
int open_at_root(int dir_fd, const char *path, int flags);

/* Reads a whole file, which may be a virtual file reporting size 0, relative to dir_fd. The result
 * is NUL-terminated and owned by the caller. Returns 0, -EFBIG when the file is larger than
 * max_bytes, or another -errno. Does not log. */
int read_full_virtual_at(int dir_fd, const char *path, size_t max_bytes, char **ret, size_t *ret_size);

/* Re-reads an open virtual file from offset 0 into buf (capacity size, NUL-terminated). The kernel
 * regenerates /proc and cgroup files on each read at offset 0, so a kept fd is the cheapest way to
 * sample them. Returns the number of bytes read, -ENOBUFS when the content did not fit, or -errno. */
ssize_t pread_virtual(int fd, char *buf, size_t size);

/* Opens dir_fd/name (O_RDONLY|O_CLOEXEC|O_NOCTTY) and reads it as pread_virtual() does. On
 * -ENOBUFS buf still holds the first size - 1 bytes, NUL-terminated, for callers that can use a
 * prefix. Returns the length or -errno (-ENOENT/-ESRCH: a process or cgroup that is gone). */
ssize_t read_virtual_at(int dir_fd, const char *name, char *buf, size_t size);

/* Writes data to path atomically (temporary file in the same directory, fsync, rename), with the
 * given mode. Returns 0 or -errno. Does not log. */
int write_file_atomic(const char *path, const char *data, size_t len, unsigned mode);

/* mkdir -p with the given mode for each created component. Returns 0 or -errno. */
int mkdir_p(const char *path, unsigned mode);
