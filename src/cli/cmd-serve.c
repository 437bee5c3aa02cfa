/* SPDX-License-Identifier: MIT */
/* headroom serve: the daemon. It parses its own options, so it gets argv as it came. */

#include "cli/cli.h"
#include "daemon/serve.h"

static int run(const struct cli_args *args)
{
    return serve_main(args->raw_argc, args->raw_argv);
}

const struct cli_command cli_command_serve = {
    .name = "serve",
    .synopsis = "serve [OPTIONS]",
    .summary = "run the daemon (see 'headroom serve --help')",
    .raw = true,
    .run = run,
};
