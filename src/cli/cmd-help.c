/* SPDX-License-Identifier: MIT */
/* headroom help [COMMAND]: the same text as "headroom [COMMAND] --help". */

#include <stdio.h>

#include "cli/cli.h"
#include "cli/exit-codes.h"

static int run(const struct cli_args *args)
{
    const struct cli_command *c = NULL;

    if (args->n_args > 0) {
        c = cli_command_find(args->args[0]);
        if (!c)
            return cli_usage_error(NULL, "unknown command '%.64s'", args->args[0]);
    }
    if (c && c->raw) {
        char *help_argv[] = { (char *) c->name, (char *) "--help", NULL };
        return c->run(&(struct cli_args){ .raw_argc = 2, .raw_argv = help_argv });
    }
    cli_help(c, stdout);
    return CLI_EXIT_SUCCESS;
}

const struct cli_command cli_command_help = {
    .name = "help",
    .synopsis = "help [COMMAND]",
    .summary = "show the help of headroom or of COMMAND",
    .help = "Shows the help of headroom, or of COMMAND.\n",
    .options = CLI_OPT(CLI_OPTION_HELP),
    .max_args = 1,
    .arg_name = "COMMAND",
    .run = run,
};
