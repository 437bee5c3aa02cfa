/* SPDX-License-Identifier: MIT */
#pragma once

/* Files for the client's tests: any file read whole, the files of tests/unit/cli/fixtures
 * (answers of the daemon) found through $HEADROOM_CLI_FIXTURES, and JSON written in a test. Each
 * function fails the running cmocka test when it cannot do what it says; none returns NULL. */

#include <jansson.h>
#include <stddef.h>

#define FILE_MAX (1024 * 1024) /* the most slurp() reads */

struct blob {
    char *data; /* NUL-terminated */
    size_t size;
};

/* The first FILE_MAX bytes of the file at path, NUL-terminated; an empty blob when it cannot be
 * opened. data is owned by the caller (free()). */
struct blob slurp(const char *path);

/* Notes $HEADROOM_CLI_FIXTURES, when it is set, for a test that clears the environment later.
 * Without it, the functions below read the variable when they are called. */
void fixtures_init(void);

/* The whole of fixture name, NUL-terminated. Owned by the caller (free()). Fails the test when
 * the file cannot be read or is empty. */
char *fixture_text(const char *name);

/* Fixture name as JSON. Owned by the caller (json_decref()). */
json_t *fixture_json(const char *name);

/* text as JSON (any value, not only an object or array). Owned by the caller (json_decref()). */
json_t *parse_json(const char *text);
