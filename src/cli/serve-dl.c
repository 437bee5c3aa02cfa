/* SPDX-License-Identifier: MIT */
#include "cli/serve-dl.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int serve_dl_beside(const char *exe_path, char *buf, size_t len)
{
    if (!exe_path || exe_path[0] != '/')
        return -EINVAL;

    /* The last '/' exists: the path is absolute. Whatever follows it (the name, or "headroom
     * (deleted)" after a rebuild replaced the running file) is dropped. */
    size_t dir_len = (size_t) (strrchr(exe_path, '/') - exe_path);
    int n = snprintf(buf, len, "%.*s/%s", (int) dir_len, exe_path, SERVE_MODULE_NAME);
    if (n < 0 || (size_t) n >= len)
        return -ENAMETOOLONG;
    return 0;
}

/* Only a file that is not there moves on to the installed path. One that is there but cannot be
 * loaded (or read) is reported as it is: falling back would run an installed daemon of another
 * version from a build tree without saying so. */
static bool present(const char *path)
{
    return access(path, F_OK) == 0 || (errno != ENOENT && errno != ENOTDIR);
}

int serve_dl_locate_at(const char *override, const char *exe_path, char *buf, size_t len)
{
    char beside[SERVE_DL_PATH_MAX];
    int n;

    if (override && override[0]) {
        n = snprintf(buf, len, "%s", override);
        return n >= 0 && (size_t) n < len ? 0 : -ENAMETOOLONG;
    }

    if (exe_path && serve_dl_beside(exe_path, beside, sizeof(beside)) == 0 && present(beside)) {
        n = snprintf(buf, len, "%s", beside);
        return n >= 0 && (size_t) n < len ? 0 : -ENAMETOOLONG;
    }

    n = snprintf(buf, len, "%s/%s", HEADROOM_PKGLIBDIR, SERVE_MODULE_NAME);
    return n >= 0 && (size_t) n < len ? 0 : -ENAMETOOLONG;
}

int serve_dl_locate(char *buf, size_t len)
{
    char exe[SERVE_DL_PATH_MAX];
    const char *exe_path = NULL;

    /* Without /proc (a chroot) the executable is unknown and only the other two rules apply; so
     * it is when the path fills the buffer, which means it may have been cut. */
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0 && (size_t) n < sizeof(exe) - 1) {
        exe[n] = '\0';
        exe_path = exe;
    }
    return serve_dl_locate_at(secure_getenv(SERVE_DL_ENV), exe_path, buf, len);
}

static void set_error(char *err, size_t errlen, const char *fallback)
{
    const char *e = dlerror();

    if (errlen > 0)
        (void) snprintf(err, errlen, "%s", e ? e : fallback);
}

int serve_dl_load(const char *path, serve_module_entry_fn *ret, char *err, size_t errlen)
{
    (void) dlerror();
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        set_error(err, errlen, "dlopen() failed");
        return -ENOENT;
    }

    (void) dlerror();
    void *sym = dlsym(h, SERVE_MODULE_ENTRY);
    if (!sym) {
        set_error(err, errlen, "no " SERVE_MODULE_ENTRY);
        (void) dlclose(h);
        return -ELIBBAD;
    }

    /* POSIX guarantees that a function's address survives the round trip through void *. */
    *ret = (serve_module_entry_fn) sym;
    return 0;
}
