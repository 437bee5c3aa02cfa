/* SPDX-License-Identifier: MIT */
/* The headroom binary: "headroom serve" is the daemon, every other command a client of it. */

#include "cli/cli.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
