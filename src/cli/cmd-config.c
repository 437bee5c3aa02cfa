/* SPDX-License-Identifier: MIT */
/* headroom config [FILE]: loads a configuration file locally, as "headroom serve" would, and prints
 * the effective configuration. No daemon is involved, so it checks a file before a reload. Unlike
 * capfox, an invalid file is an error (exit 1), never silently replaced by the defaults. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/exit-codes.h"
#include "cli/json-util.h"
#include "config/config.h"

static int run(const struct cli_args *args)
{
    _cleanup_free_ struct config *c = NULL;
    _cleanup_json_ json_t *j = NULL;
    char err[CONFIG_ERROR_MAX] = "";
    const char *path;
    int r;

    if (args->n_args > 0 && args->config_path)
        return cli_usage_error(args->command, "give the file either as FILE or with --config");
    path = args->n_args > 0 ? args->args[0] : args->config_path;
    if (!path) {
        const char *env = getenv("HEADROOM_CONFIG");
        path = env && env[0] ? env : NULL;
    }

    /* struct config holds the monitored paths and the warnings: several KiB, so not the stack. */
    c = malloc(sizeof(*c));
    if (!c) {
        cli_error("out of memory");
        return CLI_EXIT_FAILURE;
    }
    if (path) {
        r = config_load_file(path, c, err);
        if (r < 0) {
            if (err[0])
                cli_error("%s", err);
            else
                cli_error("%s: %s", path, strerror(-r));
            if (args->json && args->validate && !args->quiet) {
                _cleanup_json_ json_t *v =
                        json_pack("{s:b, s:s}", "valid", 0, "error", err[0] ? err : strerror(-r));
                if (v && json_dumpf(v, stdout, JSON_COMPACT) == 0)
                    fputc('\n', stdout);
            }
            return CLI_EXIT_FAILURE;
        }
    } else
        config_init_defaults(c);

    for (unsigned i = 0; i < c->n_warnings && i < CONFIG_WARNINGS_MAX; i++)
        cli_warning(args, "%s", c->warnings[i]);

    if (args->quiet)
        return CLI_EXIT_SUCCESS;

    if (args->json) {
        /* capfox's --validate --json prints only the verdict; keep stdout one JSON document. */
        if (args->validate)
            j = json_pack("{s:b}", "valid", 1);
        else
            j = config_to_json(c);
        if (!j ||
            json_dumpf(j, stdout,
                       args->validate ? JSON_COMPACT : JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0) {
            cli_error("cannot format the configuration as JSON");
            return CLI_EXIT_FAILURE;
        }
        fputc('\n', stdout);
        return CLI_EXIT_SUCCESS;
    }

    config_dump_yaml(c, stdout);
    if (args->validate)
        printf("Configuration is valid\n");
    return CLI_EXIT_SUCCESS;
}

const struct cli_command cli_command_config = {
    .name = "config",
    .synopsis = "config [FILE] [OPTIONS]",
    .summary = "print the effective configuration (local, no daemon)",
    .help = "Loads FILE (or --config FILE, else $HEADROOM_CONFIG, else the built-in defaults)\n"
            "as 'headroom serve' would and prints the effective configuration, secrets\n"
            "masked. Warnings go to stderr. An invalid file prints the problem with its\n"
            "file:line:column and exits with status 1. The daemon is not contacted.\n"
            "\n"
            "Options:\n"
            "  -c, --config FILE       the file to load (the same as giving FILE)\n"
            "      --validate          also print 'Configuration is valid'; with --json,\n"
            "                          print only {\"valid\":true} (or {\"valid\":false,...})\n",
    .options = CLI_OPTS_OUTPUT | CLI_OPT(CLI_OPTION_CONFIG) | CLI_OPT(CLI_OPTION_VALIDATE),
    .max_args = 1,
    .arg_name = "FILE",
    .run = run,
};
