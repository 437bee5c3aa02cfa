/* SPDX-License-Identifier: MIT */
#include "api/unix-listen.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/macro.h"

int unix_listen(const char *path, int type, unsigned mode)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    char dir[PATH_MAX];

    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);

    (void) snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        int r = mkdir_p(dir, 0755);
        if (r < 0)
            return r;
    }

    {
        _cleanup_close_ int probe = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (probe < 0)
            return negative_errno();
        if (connect(probe, (struct sockaddr *) &sa, sizeof(sa)) == 0)
            return -EADDRINUSE;
        /* A live listener with a full backlog, or one of another socket type. */
        if (errno == EAGAIN || errno == EPROTOTYPE)
            return -EADDRINUSE;
        if (errno == ECONNREFUSED)
            (void) unlink(path);
    }

    _cleanup_close_ int fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return negative_errno();
    mode_t old = umask(0177);
    int b = bind(fd, (struct sockaddr *) &sa, sizeof(sa));
    int saved = errno;
    umask(old);
    if (b < 0)
        return -saved;
    if (chmod(path, mode) < 0 || listen(fd, SOMAXCONN) < 0) {
        int r = negative_errno();
        (void) unlink(path);
        return r;
    }
    return TAKE_FD(fd);
}
