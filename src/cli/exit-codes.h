/* SPDX-License-Identifier: MIT */
#pragma once

/* The exit status of every client subcommand of the headroom binary ("headroom serve" has its own
 * table in man/headroom-serve.8). The values follow <sysexits.h> where one fits, so shell scripts
 * can tell "try again later" (75) from "nobody is listening" (69) from a real error. The same table
 * is printed by "headroom --help"; keep the two in step. */

enum cli_exit {
    CLI_EXIT_SUCCESS = 0,      /* done; for "ask": the task is allowed */
    CLI_EXIT_FAILURE = 1,      /* any other error: HTTP 4xx/5xx, an answer that is not JSON, an
                                * invalid configuration file, a write error on stdout */
    CLI_EXIT_USAGE = 2,        /* bad command line: unknown option, missing TASK, invalid value */
    CLI_EXIT_UNAVAILABLE = 69, /* EX_UNAVAILABLE: the daemon cannot be reached (connection
                                * refused, no such socket, timeout) */
    CLI_EXIT_NO_CAPACITY = 75, /* EX_TEMPFAIL: "ask" was answered 503 with "allowed": false;
                                * the task should wait and ask again */
};
