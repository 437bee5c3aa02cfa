/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/macro.h"
#include "config/user-tokens.h"
#include "daemon/daemon.h"
#include "daemon/identity.h"

int identity_load(struct daemon *d, const struct config *c, char *err, size_t errlen)
{
    const char *path = c->auth.user_tokens_file;

    if (!path[0]) {
        identity_free(d);
        return 0;
    }
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
    if (fd < 0) {
        int r = -errno;
        (void) snprintf(err, errlen, "cannot open %s: %s", path, strerror(-r));
        return r;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        (void) snprintf(err, errlen, "%s is not a regular file", path);
        return -EINVAL;
    }
    if ((st.st_mode & 0077) || (st.st_uid != 0 && st.st_uid != geteuid())) {
        (void) snprintf(err, errlen, "%s must be owned by root (or the daemon's user) with mode 0600 or 0400, "
                        "not %04o: anyone who can read it can act as its users", path,
                        (unsigned) (st.st_mode & 07777));
        return -EPERM;
    }
    _cleanup_free_ char *buf = malloc(USER_TOKENS_FILE_MAX + 1);
    if (!buf)
        return -ENOMEM;
    ssize_t n = pread(fd, buf, USER_TOKENS_FILE_MAX + 1, 0);
    if (n < 0) {
        int r = -errno;
        (void) snprintf(err, errlen, "cannot read %s: %s", path, strerror(-r));
        return r;
    }
    if ((size_t) n > USER_TOKENS_FILE_MAX) {
        (void) snprintf(err, errlen, "%s is larger than %u bytes", path, USER_TOKENS_FILE_MAX);
        return -EFBIG;
    }
    _cleanup_free_ struct user_token *t = calloc(USER_TOKENS_MAX, sizeof(*t));
    if (!t)
        return -ENOMEM;
    char why[192];
    int r = user_tokens_parse(buf, (size_t) n, t, USER_TOKENS_MAX, why, sizeof(why));
    if (r < 0) {
        (void) snprintf(err, errlen, "%s: %s", path, why);
        return r;
    }
    identity_free(d);
    d->n_user_tokens = (unsigned) r;
    d->user_tokens = TAKE_PTR(t);
    d->api.user_tokens = d->user_tokens;
    d->api.n_user_tokens = d->n_user_tokens;
    return 0;
}

void identity_free(struct daemon *d)
{
    if (d->user_tokens)
        explicit_bzero(d->user_tokens, USER_TOKENS_MAX * sizeof(*d->user_tokens));
    free(d->user_tokens);
    d->user_tokens = NULL;
    d->n_user_tokens = 0;
    d->api.user_tokens = NULL;
    d->api.n_user_tokens = 0;
}
