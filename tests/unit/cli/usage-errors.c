/* SPDX-License-Identifier: MIT */
#include "usage-errors.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/exit-codes.h"

/* cmocka.h needs stdarg.h, stddef.h and setjmp.h before it. */
#include <cmocka.h>

#define ARGV_MAX 10 /* "headroom", the 8 arguments of a case and NULL */

/* Fills argv with "headroom" and the case's arguments, NULL-terminated; returns argc. */
static int bad_argc(const struct bad_case *c, char **argv)
{
    int n = 0;

    argv[n++] = (char *) "headroom";
    while (c->args[n - 1])
        argv[n] = (char *) c->args[n - 1], n++;
    argv[n] = NULL;
    return n;
}

void check_usage_errors(const struct bad_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *argv[ARGV_MAX];
        int argc = bad_argc(&cases[i], argv);
        struct cli_args a;
        char err[CLI_MESSAGE_MAX];

        int r = cli_parse_args(argc, argv, &a, err);
        if (r != -EINVAL)
            fail_msg("case %zu (%s ...): parse returned %d", i, argc > 1 ? argv[1] : "", r);
        if (strcmp(err, cases[i].message) != 0)
            fail_msg("case %zu: got '%s', want '%s'", i, err, cases[i].message);
    }
}

int cli_main_quiet(int argc, char **argv)
{
    int saved = dup(STDERR_FILENO);
    int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    int status;

    assert_true(saved >= 0);
    assert_true(null_fd >= 0);
    fflush(stderr);
    assert_int_equal(dup2(null_fd, STDERR_FILENO), STDERR_FILENO);

    status = cli_main(argc, argv);

    fflush(stderr);
    assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    close(saved);
    close(null_fd);
    return status;
}

void check_main_exit_2(const struct bad_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *argv[ARGV_MAX];
        int argc = bad_argc(&cases[i], argv);
        int status = cli_main_quiet(argc, argv);

        if (status != CLI_EXIT_USAGE)
            fail_msg("case %zu: exit %d", i, status);
    }
}
