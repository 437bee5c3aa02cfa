/* SPDX-License-Identifier: MIT */
/* Finding and loading the daemon module: the path rule on a temporary tree, and dlopen() of the
 * real module (its one export, its entry point answering --help and a bad option), of a shared
 * library that is not a headroom module (the fake NVML) and of files that are not libraries. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/serve-dl.h"

/* cmocka.h needs stdarg.h, stddef.h and setjmp.h before it. */
#include <cmocka.h>

#define INSTALLED HEADROOM_PKGLIBDIR "/" SERVE_MODULE_NAME

static void test_beside(void **state)
{
    char buf[SERVE_DL_PATH_MAX];

    assert_int_equal(serve_dl_beside("/usr/local/bin/headroom", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/usr/local/bin/headroom-serve.so");
    assert_int_equal(serve_dl_beside("/headroom", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/headroom-serve.so");
    /* What /proc/self/exe reads after a rebuild replaced the running binary. */
    assert_int_equal(serve_dl_beside("/src/build/headroom (deleted)", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/src/build/headroom-serve.so");

    assert_int_equal(serve_dl_beside("headroom", buf, sizeof(buf)), -EINVAL);
    assert_int_equal(serve_dl_beside("build/headroom", buf, sizeof(buf)), -EINVAL);
    assert_int_equal(serve_dl_beside(NULL, buf, sizeof(buf)), -EINVAL);

    /* "/b/" + the name and its NUL need exactly 3 + sizeof(SERVE_MODULE_NAME) bytes. */
    assert_int_equal(serve_dl_beside("/b/headroom", buf, 3 + sizeof(SERVE_MODULE_NAME)), 0);
    assert_string_equal(buf, "/b/headroom-serve.so");
    assert_int_equal(serve_dl_beside("/b/headroom", buf, 2 + sizeof(SERVE_MODULE_NAME)),
                     -ENAMETOOLONG);
}

static void test_locate_at(void **state)
{
    char dir[] = "/tmp/headroom-serve-dl.XXXXXX";
    char exe[PATH_MAX], module[PATH_MAX], buf[SERVE_DL_PATH_MAX];

    assert_non_null(mkdtemp(dir));
    (void) snprintf(exe, sizeof(exe), "%s/headroom", dir);
    (void) snprintf(module, sizeof(module), "%s/%s", dir, SERVE_MODULE_NAME);

    /* Nothing beside the binary: the installed module. */
    assert_int_equal(serve_dl_locate_at(NULL, exe, buf, sizeof(buf)), 0);
    assert_string_equal(buf, INSTALLED);
    assert_int_equal(serve_dl_locate_at("", exe, buf, sizeof(buf)), 0);
    assert_string_equal(buf, INSTALLED);
    assert_int_equal(serve_dl_locate_at(NULL, NULL, buf, sizeof(buf)), 0);
    assert_string_equal(buf, INSTALLED);

    /* A module beside the binary (the build tree) wins over the installed one, whatever it holds:
     * loading it reports what is wrong with it rather than running another daemon. */
    int fd = open(module, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(close(fd), 0);
    assert_int_equal(serve_dl_locate_at(NULL, exe, buf, sizeof(buf)), 0);
    assert_string_equal(buf, module);

    /* The override wins over both, taken as it is. */
    assert_int_equal(serve_dl_locate_at("/opt/x/headroom-serve.so", exe, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/opt/x/headroom-serve.so");
    assert_int_equal(serve_dl_locate_at("/opt/x/headroom-serve.so", exe, buf, 8), -ENAMETOOLONG);
    assert_int_equal(serve_dl_locate_at(NULL, exe, buf, 4), -ENAMETOOLONG);

    assert_int_equal(unlink(module), 0);
    assert_int_equal(serve_dl_locate_at(NULL, exe, buf, sizeof(buf)), 0);
    assert_string_equal(buf, INSTALLED);
    /* A directory that does not exist (ENOENT) or a path through a file (ENOTDIR) falls back. */
    (void) snprintf(exe, sizeof(exe), "%s/missing/headroom", dir);
    assert_int_equal(serve_dl_locate_at(NULL, exe, buf, sizeof(buf)), 0);
    assert_string_equal(buf, INSTALLED);
    assert_int_equal(rmdir(dir), 0);
}

static void test_locate_env(void **state)
{
    char buf[SERVE_DL_PATH_MAX];

    assert_int_equal(setenv(SERVE_DL_ENV, "/somewhere/else.so", 1), 0);
    assert_int_equal(serve_dl_locate(buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/somewhere/else.so");

    /* This test binary is not beside a module (tests/unit/cli/ of the build tree). */
    assert_int_equal(unsetenv(SERVE_DL_ENV), 0);
    assert_int_equal(serve_dl_locate(buf, sizeof(buf)), 0);
    assert_string_equal(buf, INSTALLED);
}

static void test_load_not_a_module(void **state)
{
    char dir[] = "/tmp/headroom-serve-dl.XXXXXX";
    char path[PATH_MAX], err[512];
    serve_module_entry_fn entry = NULL;
    const char *fake = getenv("HEADROOM_FAKE_NVML");

    assert_non_null(mkdtemp(dir));
    (void) snprintf(path, sizeof(path), "%s/%s", dir, SERVE_MODULE_NAME);

    assert_int_equal(serve_dl_load(path, &entry, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, path));
    assert_null(entry);

    /* An empty file and a text file are no ELF objects. */
    FILE *f = fopen(path, "we");
    assert_non_null(f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(serve_dl_load(path, &entry, err, sizeof(err)), -ENOENT);
    assert_null(entry);
    f = fopen(path, "we");
    assert_non_null(f);
    assert_true(fputs("#!/bin/sh\nexit 0\n", f) >= 0);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(serve_dl_load(path, &entry, err, sizeof(err)), -ENOENT);
    assert_null(entry);
    /* errlen 0: nothing is written. */
    err[0] = 'x';
    assert_int_equal(serve_dl_load(path, &entry, err, 0), -ENOENT);
    assert_int_equal(err[0], 'x');
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(dir), 0);

    /* A shared library, but not a headroom module. */
    assert_non_null(fake);
    assert_int_equal(serve_dl_load(fake, &entry, err, sizeof(err)), -ELIBBAD);
    assert_non_null(strstr(err, SERVE_MODULE_ENTRY));
    assert_null(entry);
}

static void test_load_module(void **state)
{
    const char *module = getenv("HEADROOM_SERVE_MODULE_BUILT");
    serve_module_entry_fn entry = NULL;
    char err[512];

    assert_non_null(module);
    assert_int_equal(serve_dl_load(module, &entry, err, sizeof(err)), 0);
    assert_non_null(entry);

    /* The entry point is the daemon's: its help, and its usage error for an unknown option. */
    char *help_argv[] = { (char *) "serve", (char *) "--help", NULL };
    assert_int_equal(entry(2, help_argv), 0);
    char *bad_argv[] = { (char *) "serve", (char *) "--no-such-option", NULL };
    assert_int_equal(entry(2, bad_argv), 2);

    /* It is the module's only export: the static libraries inside stay local. */
    void *h = dlopen(module, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    assert_non_null(h);
    assert_ptr_equal(dlsym(h, SERVE_MODULE_ENTRY), (void *) entry);
    assert_null(dlsym(h, "serve_main"));
    assert_null(dlsym(h, "log_level_from_string"));
    assert_null(dlsym(h, "config_init_defaults"));
    assert_null(dlsym(h, "store_open"));
    assert_int_equal(dlclose(h), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_beside),      cmocka_unit_test(test_locate_at),
        cmocka_unit_test(test_locate_env),  cmocka_unit_test(test_load_not_a_module),
        cmocka_unit_test(test_load_module),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
