/* SPDX-License-Identifier: MIT */
#pragma once

/* Finding and loading the daemon module for "headroom serve" (the contract is in
 * src/daemon/serve-module.h; the rule is in docs/ARCHITECTURE.md, "The binary and the daemon
 * module"). Only "serve" calls these, so no other command maps libmicrohttpd, GnuTLS or SQLite.
 * Nothing here logs. */

#include <stddef.h>

#include "daemon/serve-module.h"

/* The exit status of "headroom serve" when its module cannot be loaded: EX_OSERR, the daemon's
 * own "system error". */
#define SERVE_DL_EXIT_LOAD 71

/* The environment variable that names the module, first of all (tests, packaging). */
#define SERVE_DL_ENV "HEADROOM_SERVE_MODULE"

/* Longest module path, with its NUL. */
#define SERVE_DL_PATH_MAX 4096

/* Writes to buf (len bytes) the path of the module beside the executable exe_path: its directory
 * followed by SERVE_MODULE_NAME. Pure. Returns 0, -EINVAL (exe_path NULL or not absolute) or
 * -ENAMETOOLONG (the result does not fit in len). */
int serve_dl_beside(const char *exe_path, char *buf, size_t len);

/* Writes to buf (len bytes) the module to load, the first of:
 *   1. override (the value of $HEADROOM_SERVE_MODULE), when not NULL and not empty, as it is;
 *   2. the module beside exe_path (see serve_dl_beside()), when that file exists: the build tree,
 *      where "headroom" and "headroom-serve.so" are built into the same directory;
 *   3. HEADROOM_PKGLIBDIR "/" SERVE_MODULE_NAME, where "meson install" puts it.
 * exe_path may be NULL (unknown): step 2 is skipped. Looks at the file system (access()) in step 2
 * only. Returns 0 or -ENAMETOOLONG. */
int serve_dl_locate_at(const char *override, const char *exe_path, char *buf, size_t len);

/* serve_dl_locate_at() with $HEADROOM_SERVE_MODULE (secure_getenv()) and the target of
 * /proc/self/exe. Returns 0 or -ENAMETOOLONG. */
int serve_dl_locate(char *buf, size_t len);

/* Loads the module at path with dlopen(RTLD_NOW | RTLD_LOCAL) and looks up SERVE_MODULE_ENTRY. On
 * success *ret is the entry point and the module stays loaded for the life of the process (it is
 * never closed: the daemon runs until the process ends). Returns 0, -ENOENT (dlopen() failed: no
 * such file, not a shared object, a library it needs missing ...) or -ELIBBAD (loaded, but without
 * the entry point: not a headroom module, or one of another contract version); on failure err
 * (errlen bytes, may be 0) holds dlerror()'s text and the module is unloaded again. */
int serve_dl_load(const char *path, serve_module_entry_fn *ret, char *err, size_t errlen);
