/* SPDX-License-Identifier: MIT */
#pragma once

/* Entry point of "headroom serve": parses its options, runs the daemon until SIGTERM/SIGINT, and
 * returns the process exit code (see man/headroom-serve.8.md). argv[0] is "serve". */
int serve_main(int argc, char **argv);
