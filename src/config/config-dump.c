/* SPDX-License-Identifier: MIT */

/* The writers of the effective configuration, YAML and JSON. Both walk the key table, so a key
 * added there shows up here without further work; the capfox keys that are ignored never do. */

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "config/config-schema.h"
#include "config/config.h"

#define SECRET_MASK "********"

static const char *secret_shown(const char *s)
{
    return s[0] ? SECRET_MASK : "";
}

/* A YAML double-quoted scalar. '$' is doubled because the reader expands ${VAR} in every value:
 * without it, a path containing "${x}" would not read back as itself. */
static void dump_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '$':
            fputs("$$", f);
            break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                fprintf(f, "\\x%02x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

static bool section_is_dumped(const struct key_def *d)
{
    return d->kind == KEY_MAP && !(d->flags & KEY_IGNORED);
}

static void dump_keys(FILE *f, const struct key_def *defs, const struct config *c, int indent)
{
    const char *base = (const char *) c;

    for (const struct key_def *d = defs; d->name; d++) {
        if (section_is_dumped(d)) {
            fprintf(f, "%*s%s:\n", indent, "", d->name);
            dump_keys(f, d->children, c, indent + 2);
            continue;
        }
        if (!key_is_stored(d))
            continue;

        const void *field = base + d->offset;
        char num[64];

        fprintf(f, "%*s%s:", indent, "", d->name);
        switch (d->kind) {
        case KEY_UINT:
            fprintf(f, " %u\n", *(const unsigned *) field);
            break;
        case KEY_MODE:
            fprintf(f, " \"%04o\"\n", *(const unsigned *) field);
            break;
        case KEY_SIZE:
            fprintf(f, " %llu\n", (unsigned long long) *(const uint64_t *) field);
            break;
        case KEY_DOUBLE:
            fprintf(f, " %s\n", config_format_double(num, sizeof(num), *(const double *) field));
            break;
        case KEY_BOOL:
            fprintf(f, " %s\n", *(const bool *) field ? "true" : "false");
            break;
        case KEY_PATHS:
            fputc('\n', f);
            for (unsigned i = 0; i < c->monitoring.n_paths && i < HR_DISKS_MAX; i++) {
                fprintf(f, "%*s- ", indent + 2, "");
                dump_string(f, c->monitoring.paths[i]);
                fputc('\n', f);
            }
            break;
        default:
            fputc(' ', f);
            dump_string(f, (d->flags & KEY_SECRET) ? secret_shown(field) : field);
            fputc('\n', f);
        }
    }
}

void config_dump_yaml(const struct config *c, FILE *f)
{
    assert(c);
    assert(f);

    fputs("# headroom effective configuration\n", f);
    dump_keys(f, config_schema, c, 0);
}

/* Steals value into obj under name; false on OOM (value is released either way). */
static bool set_new(json_t *obj, const char *name, json_t *value)
{
    return value && json_object_set_new(obj, name, value) == 0;
}

static json_t *json_keys(const struct key_def *defs, const struct config *c)
{
    const char *base = (const char *) c;
    json_t *obj = json_object();

    if (!obj)
        return NULL;

    for (const struct key_def *d = defs; d->name; d++) {
        json_t *v = NULL;

        if (section_is_dumped(d))
            v = json_keys(d->children, c);
        else if (!key_is_stored(d))
            continue;
        else {
            const void *field = base + d->offset;
            char mode[16];

            switch (d->kind) {
            case KEY_UINT:
                v = json_integer(*(const unsigned *) field);
                break;
            case KEY_MODE:
                (void) snprintf(mode, sizeof(mode), "%04o", *(const unsigned *) field);
                v = json_string(mode);
                break;
            case KEY_SIZE:
                /* Bounded to 16 MiB by validation, so json_int_t (long long) holds it. */
                v = json_integer((json_int_t) * (const uint64_t *) field);
                break;
            case KEY_DOUBLE:
                v = json_real(*(const double *) field);
                break;
            case KEY_BOOL:
                v = json_boolean(*(const bool *) field);
                break;
            case KEY_PATHS:
                v = json_array();
                for (unsigned i = 0; v && i < c->monitoring.n_paths && i < HR_DISKS_MAX; i++)
                    if (json_array_append_new(v, json_string(c->monitoring.paths[i])) < 0) {
                        json_decref(v);
                        v = NULL;
                    }
                break;
            default:
                v = json_string((d->flags & KEY_SECRET) ? secret_shown(field) : field);
            }
        }
        if (!set_new(obj, d->name, v)) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

json_t *config_to_json(const struct config *c)
{
    assert(c);
    return json_keys(config_schema, c);
}
