/* SPDX-License-Identifier: MIT */
#pragma once

/* The contract between the headroom binary and the daemon module (headroom-serve.so). The daemon
 * and everything only it uses (libmicrohttpd and through it GnuTLS, SQLite, the store, the HTTP
 * API, the loop) live in a module that "headroom serve" loads with dlopen(), so that the client
 * commands start without mapping and relocating those libraries. The module exports exactly one
 * symbol, SERVE_MODULE_ENTRY, of type serve_module_entry_fn; everything else in it is local
 * (serve-module.sym), so its copies of the static libraries it shares with the binary (basic,
 * config) never bind to the binary's, nor the binary's to them. */

/* The file name of the module: beside the binary in the build tree, in HEADROOM_PKGLIBDIR once
 * installed (docs/ARCHITECTURE.md, "The binary and the daemon module"). */
#define SERVE_MODULE_NAME "headroom-serve.so"

/* The name of the one exported function. The "_v1" is the version of this contract: a change to
 * the signature below takes a new name, so a binary and a module of different versions fail to
 * load with a clear message instead of calling through the wrong type. */
#define SERVE_MODULE_ENTRY "headroom_serve_main_v1"

/* Runs "headroom serve": argv[0] is "serve", the rest its options, as serve_main() takes them.
 * Returns the daemon's exit status (man/headroom-serve.8.md). */
typedef int (*serve_module_entry_fn)(int argc, char **argv);

/* Declared here so that the definition in serve-module.c is checked against the type above. */
int headroom_serve_main_v1(int argc, char **argv);
