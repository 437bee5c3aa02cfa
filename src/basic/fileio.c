/* SPDX-License-Identifier: MIT */
#include "basic/fileio.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/macro.h"

int open_at_root(int dir_fd, const char *path, int flags)
{
    while (*path == '/')
        path++;
    if (*path == '\0')
        path = ".";
    int fd = openat(dir_fd, path, flags | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return negative_errno();
    return fd;
}

int read_full_virtual_at(int dir_fd, const char *path, size_t max_bytes, char **ret, size_t *ret_size)
{
    _cleanup_close_ int fd = open_at_root(dir_fd, path, O_RDONLY);
    if (fd < 0)
        return fd;

    size_t cap = 4096, len = 0;
    _cleanup_free_ char *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;

    for (;;) {
        if (len + 1 >= cap) {
            if (cap >= max_bytes + 1) {
                /* Exactly max_bytes read: fine if that was the end of the file. */
                char extra;
                ssize_t k = read(fd, &extra, 1);
                if (k < 0)
                    return negative_errno();
                if (k > 0)
                    return -EFBIG;
                break;
            }
            size_t ncap = MIN(cap * 2, max_bytes + 1);
            char *n = realloc(buf, ncap);
            if (!n)
                return -ENOMEM;
            buf = n;
            cap = ncap;
        }
        ssize_t k = read(fd, buf + len, cap - 1 - len);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return negative_errno();
        }
        if (k == 0)
            break;
        len += (size_t) k;
        if (len > max_bytes)
            return -EFBIG;
    }
    buf[len] = '\0';
    if (ret_size)
        *ret_size = len;
    *ret = TAKE_PTR(buf);
    return 0;
}

ssize_t pread_virtual(int fd, char *buf, size_t size)
{
    size_t len = 0;

    if (size == 0)
        return -ENOBUFS;
    /* Virtual files can return short reads; keep reading until EOF or the buffer is full. */
    for (;;) {
        ssize_t k = pread(fd, buf + len, size - 1 - len, (off_t) len);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return negative_errno();
        }
        if (k == 0)
            break;
        len += (size_t) k;
        if (len >= size - 1) {
            char extra;
            ssize_t e = pread(fd, &extra, 1, (off_t) len);
            buf[len] = '\0';
            if (e > 0)
                return -ENOBUFS;
            break;
        }
    }
    buf[len] = '\0';
    return (ssize_t) len;
}

ssize_t read_virtual_at(int dir_fd, const char *name, char *buf, size_t size)
{
    _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (fd < 0)
        return negative_errno();
    return pread_virtual(fd, buf, size);
}

int write_file_atomic(const char *path, const char *data, size_t len, unsigned mode)
{
    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int) getpid());
    if (n < 0 || (size_t) n >= sizeof(tmp))
        return -ENAMETOOLONG;

    _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return negative_errno();

    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t k = write(fd, p, left);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            int r = negative_errno();
            (void) unlink(tmp);
            return r;
        }
        p += k;
        left -= (size_t) k;
    }
    if (fchmod(fd, mode) < 0 || fsync(fd) < 0 || rename(tmp, path) < 0) {
        int r = negative_errno();
        (void) unlink(tmp);
        return r;
    }
    return 0;
}

int mkdir_p(const char *path, unsigned mode)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return negative_errno();
        *p = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return negative_errno();
    return 0;
}
