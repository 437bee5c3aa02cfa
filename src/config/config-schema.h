/* SPDX-License-Identifier: MIT */
#pragma once

/* The table of configuration keys, shared by the YAML reader, the validator and the writers, so
 * that a key is named, typed and bounded in exactly one place. Internal to src/config. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

enum key_kind {
    KEY_MAP,    /* a nested mapping: children */
    KEY_STRING, /* free text */
    KEY_HOST,   /* a numeric IPv4/IPv6 address or "localhost" */
    KEY_SOCKET, /* "" or an absolute path that fits sockaddr_un */
    KEY_ENUM,   /* one of choices */
    KEY_BOOL,   /* bool */
    KEY_UINT,   /* an integer, stored as unsigned, min..max */
    KEY_DOUBLE, /* a finite number, min..max */
    KEY_SIZE,   /* bytes as uint64_t: an integer or a size string ("1MiB") */
    KEY_MODE,   /* a file mode, octal digits, stored as unsigned */
    KEY_PATHS,  /* monitoring.paths: a list of absolute paths */
    KEY_SCALAR, /* any scalar (only for ignored keys of loose type) */
};

enum {
    KEY_IGNORED = 1 << 0, /* a capfox key accepted with a warning; its subtree is not stored */
    KEY_SECRET = 1 << 1,  /* masked in dumps, never quoted in messages */
    KEY_TOKEN = 1 << 2,   /* "" or at least CONFIG_TOKEN_MIN characters */
};

/* offset of a key that is type-checked but not stored */
#define KEY_NO_OFFSET SIZE_MAX

struct key_def {
    const char *name;
    enum key_kind kind;
    unsigned flags;
    size_t offset;                  /* into struct config, or KEY_NO_OFFSET */
    size_t size;                    /* capacity of a string field */
    double min, max;                /* numeric bounds; max may be INFINITY */
    const char *const *choices;     /* KEY_ENUM: NULL-terminated */
    const struct key_def *children; /* KEY_MAP: terminated by an entry with name NULL */
};

/* The top-level mapping. */
extern const struct key_def config_schema[];

static inline bool key_is_stored(const struct key_def *d)
{
    return d->offset != KEY_NO_OFFSET;
}

/* Checks a number against d's bounds. shown is the value as the user wrote it. Returns 0, or
 * -EINVAL with "key: reason" in msg. */
int config_check_number(const struct key_def *d,
                        const char *key,
                        double v,
                        const char *shown,
                        char *msg,
                        size_t msg_size);

/* Checks a string value against d (length, host, socket path, choices, token length). Returns 0,
 * or -EINVAL with "key: reason" in msg. */
int config_check_string(
        const struct key_def *d, const char *key, const char *s, char *msg, size_t msg_size);

/* Checks one entry of monitoring.paths. Returns 0, or -EINVAL with "key: reason" in msg. */
int config_check_path(const char *key, const char *s, char *msg, size_t msg_size);

/* Formats v so that strtod() reads back exactly v, as briefly as possible ("80", "0.1"). */
char *config_format_double(char *buf, size_t size, double v);

/* Copies s into a string field of capacity size, zero-filling the rest. s must fit. */
void config_set_string(char *field, size_t size, const char *s);
