/* SPDX-License-Identifier: MIT */
#include "daemon/serve.h"

#include <stdio.h>

int serve_main(int argc, char **argv)
{
    (void) argc;
    (void) argv;
    fprintf(stderr, "headroom serve: not built yet\n");
    return 1;
}
