/* SPDX-License-Identifier: MIT */
#include "cli-fixtures.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* cmocka.h needs stdarg.h, stddef.h and setjmp.h before it. */
#include <cmocka.h>

/* A copy, not the pointer getenv() gives: the environment it points into may be cleared. */
static char fixtures_dir[4096];
static bool fixtures_noted;

struct blob slurp(const char *path)
{
    struct blob b = { .data = calloc(1, FILE_MAX + 1) };
    FILE *f;

    assert_non_null(b.data);
    f = fopen(path, "re");
    if (!f)
        return b;
    b.size = fread(b.data, 1, FILE_MAX, f);
    b.data[b.size] = '\0';
    fclose(f);
    return b;
}

void fixtures_init(void)
{
    const char *dir = getenv("HEADROOM_CLI_FIXTURES");

    /* Called from main(), outside any test: a missing or overlong variable is said by the test
     * that needs a fixture. */
    fixtures_noted = dir && snprintf(fixtures_dir, sizeof(fixtures_dir), "%s", dir) <
                                    (int) sizeof(fixtures_dir);
}

static void fixture_path(const char *name, char *buf, size_t size)
{
    const char *dir = fixtures_noted ? fixtures_dir : getenv("HEADROOM_CLI_FIXTURES");

    assert_non_null(dir);
    assert_true(snprintf(buf, size, "%s/%s", dir, name) < (int) size);
}

char *fixture_text(const char *name)
{
    char path[4096];
    struct blob b;

    fixture_path(name, path, sizeof(path));
    b = slurp(path);
    if (b.size == 0)
        fail_msg("cannot read %s", path);
    return b.data;
}

json_t *fixture_json(const char *name)
{
    char path[4096];
    json_error_t e;
    json_t *j;

    fixture_path(name, path, sizeof(path));
    j = json_load_file(path, 0, &e);
    if (!j)
        fail_msg("cannot load %s: %s (line %d)", path, e.text, e.line);
    return j;
}

json_t *parse_json(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &e);

    if (!j)
        fail_msg("bad test JSON: %s (line %d col %d)", e.text, e.line, e.column);
    return j;
}
