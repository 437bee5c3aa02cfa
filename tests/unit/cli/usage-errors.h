/* SPDX-License-Identifier: MIT */
#pragma once

/* Command lines the client must refuse as usage errors, checked twice: cli_parse_args() refuses
 * each with -EINVAL and its message, and cli_main() exits with status 2 before any request. Each
 * function fails the running cmocka test on the first case that does not hold. */

#include <stddef.h>

struct bad_case {
    const char *args[8]; /* after "headroom", NULL-terminated */
    const char *message; /* what cli_parse_args() says */
};

/* Checks cli_parse_args() on each of the n cases. */
void check_usage_errors(const struct bad_case *cases, size_t n);

/* Checks that cli_main() exits with CLI_EXIT_USAGE on each of the n cases. */
void check_main_exit_2(const struct bad_case *cases, size_t n);

/* cli_main(argc, argv) with its stderr sent to /dev/null; returns its exit status. */
int cli_main_quiet(int argc, char **argv);
