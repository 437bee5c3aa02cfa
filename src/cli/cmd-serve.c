/* SPDX-License-Identifier: MIT */
/* headroom serve: the daemon. It lives in a module of its own (headroom-serve.so), loaded here and
 * only here, so that the client commands do not map libmicrohttpd, GnuTLS and SQLite. The daemon
 * parses its own options, so it gets argv as it came. */

#include <errno.h>

#include "cli/cli.h"
#include "cli/serve-dl.h"

static int run(const struct cli_args *args)
{
    char path[SERVE_DL_PATH_MAX], err[512];
    serve_module_entry_fn entry;
    int r;

    r = serve_dl_locate(path, sizeof(path));
    if (r < 0) {
        cli_error("cannot find the daemon module: its path is too long (set %s)", SERVE_DL_ENV);
        return SERVE_DL_EXIT_LOAD;
    }
    r = serve_dl_load(path, &entry, err, sizeof(err));
    if (r < 0) {
        cli_error("cannot load the daemon module '%s': %s%s", path, err,
                  r == -ELIBBAD ? " (not a headroom daemon module, or one of another version)"
                                : "");
        return SERVE_DL_EXIT_LOAD;
    }
    return entry(args->raw_argc, args->raw_argv);
}

const struct cli_command cli_command_serve = {
    .name = "serve",
    .synopsis = "serve [OPTIONS]",
    .summary = "run the daemon (see 'headroom serve --help')",
    .raw = true,
    .run = run,
};
