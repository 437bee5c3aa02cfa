/* SPDX-License-Identifier: MIT */
/* headroom version: prints "headroom X.Y.Z", or {"version":"X.Y.Z"} with --json. */

#include <stdio.h>

#include "cli/cli.h"
#include "cli/exit-codes.h"

static int run(const struct cli_args *args)
{
    if (args->quiet)
        return CLI_EXIT_SUCCESS;
    if (args->json)
        printf("{\"version\":\"%s\"}\n", HEADROOM_VERSION);
    else
        printf("headroom %s\n", HEADROOM_VERSION);
    return CLI_EXIT_SUCCESS;
}

const struct cli_command cli_command_version = {
    .name = "version",
    .synopsis = "version",
    .summary = "print the version",
    .help = "Prints the version of headroom, as 'headroom --version' does.\n",
    .options = CLI_OPTS_OUTPUT,
    .run = run,
};
