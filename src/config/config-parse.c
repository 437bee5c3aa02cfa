/* SPDX-License-Identifier: MIT */

/* The YAML reader. It walks libyaml's event stream against the key table (config-schema.h)
 * instead of loading a document tree, so memory stays bounded whatever the file holds, and every
 * error is reported at the event that caused it, with libyaml's mark. There are two passes over
 * the text: the first checks the YAML itself, the second the keys and values.
 * Anchors and aliases are refused outright: an alias can make a small file describe a huge
 * document, and a configuration file has no use for them. */

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "basic/macro.h"
#include "basic/parse-util.h"
#include "config/config-schema.h"
#include "config/config.h"
#include "config/env-expand.h"

/* Longest key looked up; longer keys are unknown by definition (the longest is 22 bytes). */
#define KEY_NAME_MAX 64
/* Most keys in one mapping of the table. */
#define SECTION_KEYS_MAX 16
/* How much of a bad value a message quotes. */
#define SHOWN_MAX 64
/* Deepest nesting of mappings and lists accepted anywhere in the file. The key table needs four
 * levels; the bound matters in the first pass, which also walks values the table would refuse,
 * and keeps libyaml's own stacks small. */
#define NESTING_MAX 16
/* Expansion buffer: large enough for any string field and any path. */
#define VALUE_MAX (CONFIG_STRING_MAX > HR_PATH_MAX ? CONFIG_STRING_MAX : HR_PATH_MAX)

struct parser {
    yaml_parser_t yaml;
    yaml_event_t event;
    bool have_event;
    const char *name; /* file name for messages */
    const char *buf;  /* the input, for positions of reader errors */
    size_t n;
    struct config *c; /* where values go */
    char *err;        /* CONFIG_ERROR_MAX */
};

static const char *lookup_env(const char *name, void *userdata)
{
    return secure_getenv(name);
}

/* Appends msg to err (CONFIG_ERROR_MAX), cutting it short rather than overflowing. */
static void append_message(char *err, const char *msg)
{
    size_t used = strnlen(err, CONFIG_ERROR_MAX - 1);
    size_t n = MIN(strlen(msg), CONFIG_ERROR_MAX - 1 - used);

    memcpy(err + used, msg, n);
    err[used + n] = '\0';
}

/* libyaml marks start at 0; messages count lines and columns from 1, as compilers do. */
_printf_(3, 4) static int fail(struct parser *p, const yaml_mark_t *mark, const char *fmt, ...)
{
    char msg[CONFIG_ERROR_MAX];
    va_list ap;

    va_start(ap, fmt);
    (void) vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    if (mark)
        (void) snprintf(p->err, CONFIG_ERROR_MAX, "%s:%zu:%zu: ", p->name, mark->line + 1,
                        mark->column + 1);
    else
        (void) snprintf(p->err, CONFIG_ERROR_MAX, "%s: ", p->name);
    append_message(p->err, msg);
    return -EINVAL;
}

/* Copies s for a message: at most SHOWN_MAX bytes, control characters replaced by '?', so that
 * a hostile value cannot break the one-line message. */
static const char *shown(char *buf, size_t size, const char *s, size_t len)
{
    size_t n = MIN(len, MIN((size_t) SHOWN_MAX, size - 4));
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char) s[i];
        buf[i] = ch < 0x20 || ch == 0x7f ? '?' : (char) ch;
    }
    if (n < len)
        buf[i++] = '.', buf[i++] = '.', buf[i++] = '.';
    buf[i] = '\0';
    return buf;
}

static int syntax_error(struct parser *p)
{
    yaml_parser_t *y = &p->yaml;
    yaml_mark_t mark;
    char ctx[128] = "";

    switch (y->error) {
    case YAML_MEMORY_ERROR:
        (void) snprintf(p->err, CONFIG_ERROR_MAX, "%s: out of memory", p->name);
        return -ENOMEM;

    case YAML_READER_ERROR:
        /* Encoding errors carry a byte offset rather than a mark: count lines and characters
         * (UTF-8 lead bytes) up to it. */
        mark = (yaml_mark_t){ .index = y->problem_offset };
        for (size_t i = 0; i < y->problem_offset && i < p->n; i++) {
            if (p->buf[i] == '\n') {
                mark.line++;
                mark.column = 0;
            } else if (((unsigned char) p->buf[i] & 0xc0) != 0x80)
                mark.column++;
        }
        return fail(p, &mark, "invalid input: %s", strna(y->problem));

    default:
        if (y->context)
            (void) snprintf(ctx, sizeof(ctx), " (%s at line %zu)", y->context,
                            y->context_mark.line + 1);
        return fail(p, &y->problem_mark, "YAML syntax error: %s%s", strna(y->problem), ctx);
    }
}

static int check_node_props(struct parser *p, const yaml_char_t *anchor, const yaml_char_t *tag)
{
    if (anchor)
        return fail(p, &p->event.start_mark, "YAML anchors are not supported (found '&%s')",
                    (const char *) anchor);
    if (tag)
        return fail(p, &p->event.start_mark, "YAML tags are not supported (found '%s')",
                    (const char *) tag);
    return 0;
}

/* Moves to the next event. Returns 0, -EINVAL (syntax, alias, anchor, tag) or -ENOMEM. */
static int next(struct parser *p)
{
    if (p->have_event) {
        yaml_event_delete(&p->event);
        p->have_event = false;
    }
    if (!yaml_parser_parse(&p->yaml, &p->event))
        return syntax_error(p);
    p->have_event = true;

    switch (p->event.type) {
    case YAML_ALIAS_EVENT:
        return fail(p, &p->event.start_mark, "YAML aliases are not supported (found '*%s')",
                    (const char *) p->event.data.alias.anchor);
    case YAML_SCALAR_EVENT:
        return check_node_props(p, p->event.data.scalar.anchor, p->event.data.scalar.tag);
    case YAML_SEQUENCE_START_EVENT:
        return check_node_props(p, p->event.data.sequence_start.anchor,
                                p->event.data.sequence_start.tag);
    case YAML_MAPPING_START_EVENT:
        return check_node_props(p, p->event.data.mapping_start.anchor,
                                p->event.data.mapping_start.tag);
    default:
        return 0;
    }
}

static bool scalar_is_plain(const yaml_event_t *e)
{
    return e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* YAML's null: an empty plain scalar, "~" or "null". */
static bool scalar_is_null(const yaml_event_t *e)
{
    const char *v = (const char *) e->data.scalar.value;

    return scalar_is_plain(e) &&
           (e->data.scalar.length == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
            strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0);
}

/* What the current event holds, for "expected X, got Y". */
static const char *describe_event(struct parser *p, char *buf, size_t size)
{
    const yaml_event_t *e = &p->event;
    char v[SHOWN_MAX + 4];

    switch (e->type) {
    case YAML_MAPPING_START_EVENT:
        return "a mapping";
    case YAML_SEQUENCE_START_EVENT:
        return "a list";
    case YAML_SCALAR_EVENT:
        if (scalar_is_null(e))
            return "an empty value";
        (void) shown(v, sizeof(v), (const char *) e->data.scalar.value, e->data.scalar.length);
        (void) snprintf(buf, size, scalar_is_plain(e) ? "'%s'" : "a quoted string '%s'", v);
        return buf;
    default:
        return "something else";
    }
}

static const char *describe_kind(const struct key_def *d)
{
    switch (d->kind) {
    case KEY_MAP:
        return "a mapping";
    case KEY_BOOL:
        return "a boolean (true or false)";
    case KEY_UINT:
        return "an integer";
    case KEY_DOUBLE:
        return "a number";
    case KEY_SIZE:
        return "a size in bytes, such as 1048576 or 1MiB";
    case KEY_MODE:
        return "an octal file mode, such as \"0660\"";
    case KEY_PATHS:
        return "a list of paths";
    case KEY_SCALAR:
        return "a single value";
    default:
        return "a string";
    }
}

static int type_error(struct parser *p, const struct key_def *d, const char *key)
{
    char buf[SHOWN_MAX + 64];

    return fail(p, &p->event.start_mark, "%s: expected %s, got %s", key, describe_kind(d),
                describe_event(p, buf, sizeof(buf)));
}

/* The same, for a value whose ${VAR} references were expanded: quote the result, which is what
 * failed to parse. */
static int
value_error(struct parser *p, const struct key_def *d, const char *key, const char *value)
{
    char v[SHOWN_MAX + 4];

    return fail(p, &p->event.start_mark, "%s: expected %s, got '%s'", key, describe_kind(d),
                shown(v, sizeof(v), value, strlen(value)));
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t row[KEY_NAME_MAX + 1];

    if (la > KEY_NAME_MAX || lb > KEY_NAME_MAX)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            row[j] = MIN(MIN(row[j] + 1, row[j - 1] + 1), diag + cost);
            diag = up;
        }
    }
    return row[lb];
}

static int unknown_key(struct parser *p,
                       const struct key_def *defs,
                       const char *section,
                       const char *key,
                       size_t key_len)
{
    const char *best = NULL;
    size_t best_distance = SIZE_MAX;
    char where[160], hint[96] = "", v[SHOWN_MAX + 4];

    if (key_len <= KEY_NAME_MAX) {
        /* Close enough to be a typo: one edit in a short key, up to three in a long one. */
        size_t limit = key_len <= 4 ? 1 : key_len <= 8 ? 2 : 3;
        for (const struct key_def *d = defs; d->name; d++) {
            size_t dist = edit_distance(key, d->name);
            if (dist <= limit && dist < best_distance) {
                best = d->name;
                best_distance = dist;
            }
        }
    }
    if (best)
        (void) snprintf(hint, sizeof(hint), "; did you mean '%s'?", best);
    if (section[0])
        (void) snprintf(where, sizeof(where), "in %s", section);
    else
        (void) snprintf(where, sizeof(where), "at the top level");

    if (strcmp(key, "<<") == 0)
        return fail(p, &p->event.start_mark, "YAML merge keys ('<<') are not supported");
    return fail(p, &p->event.start_mark, "unknown key '%s' %s%s", shown(v, sizeof(v), key, key_len),
                where, hint);
}

static void add_warning(struct parser *p, const yaml_mark_t *mark, const char *key)
{
    struct config *c = p->c;

    if (c->n_warnings >= CONFIG_WARNINGS_MAX)
        return;
    (void) snprintf(c->warnings[c->n_warnings++], CONFIG_ERROR_MAX,
                    "%s:%zu:%zu: key '%s' is accepted for capfox compatibility and ignored",
                    p->name, mark->line + 1, mark->column + 1, key);
}

/* Expands ${VAR} in the current scalar into out (VALUE_MAX). A YAML null gives "". The value of a
 * secret is never quoted in a message. */
static int expand_scalar(struct parser *p, const char *key, bool secret, char *out)
{
    const yaml_event_t *e = &p->event;
    const char *raw = (const char *) e->data.scalar.value;
    size_t len = e->data.scalar.length;
    char msg[CONFIG_ERROR_MAX];
    int r;

    if (scalar_is_null(e)) {
        out[0] = '\0';
        return 0;
    }
    /* A double-quoted "\0" would silently cut the value short. */
    if (memchr(raw, '\0', len))
        return fail(p, &e->start_mark, "%s: value contains a NUL character", key);
    if (len >= VALUE_MAX && !memchr(raw, '$', len))
        return fail(p, &e->start_mark, "%s: value is too long (at most %d bytes)", key,
                    VALUE_MAX - 1);

    r = env_expand(raw, len, lookup_env, NULL, out, VALUE_MAX, msg, sizeof(msg));
    if (r == -ENOENT)
        return fail(p, &e->start_mark, "%s", msg);
    /* A bad reference is quoted in the message, unless it is part of a secret. */
    if (r == -EINVAL && secret)
        return fail(p, &e->start_mark, "%s: invalid environment variable reference", key);
    if (r < 0)
        return fail(p, &e->start_mark, "%s: %s", key, msg);
    return 0;
}

static int parse_bool(const char *s, bool *ret)
{
    static const char *const yes[] = { "true", "yes", "on" };
    static const char *const no[] = { "false", "no", "off" };

    for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *ret = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *ret = false;
            return 0;
        }
    }
    return -EINVAL;
}

/* Octal digits, with an optional YAML 1.2 "0o" prefix: "0660", "660", "0o660". */
static int parse_mode(const char *s, unsigned *ret)
{
    unsigned v = 0;

    if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
        s += 2;
    if (s[0] == '\0' || strlen(s) > 8)
        return -EINVAL;
    for (; *s; s++) {
        if (*s < '0' || *s > '7')
            return -EINVAL;
        v = v * 8 + (unsigned) (*s - '0');
    }
    *ret = v;
    return 0;
}

/* strtod accepts hex, "inf" and "nan"; a configuration number is decimal. */
static bool looks_decimal(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!strchr("0123456789.eE+-", *s))
            return false;
    return true;
}

static bool is_string_kind(enum key_kind k)
{
    return k == KEY_STRING || k == KEY_HOST || k == KEY_SOCKET || k == KEY_ENUM;
}

static int parse_scalar(struct parser *p, const struct key_def *d, const char *key)
{
    const yaml_event_t *e = &p->event;
    void *field = key_is_stored(d) ? (char *) p->c + d->offset : NULL;
    char value[VALUE_MAX], msg[CONFIG_ERROR_MAX];
    int r;

    if (d->kind != KEY_SCALAR && !is_string_kind(d->kind)) {
        /* Numbers and booleans are plain YAML scalars; "80" in quotes is a string, and a
         * value must not change meaning with its quoting. The mode and the size are also
         * accepted as strings ("0660", "1MiB"). */
        if (scalar_is_null(e))
            return type_error(p, d, key);
        if (!scalar_is_plain(e) && d->kind != KEY_MODE && d->kind != KEY_SIZE)
            return type_error(p, d, key);
    }

    r = expand_scalar(p, key, d->flags & KEY_SECRET, value);
    if (r < 0)
        return r;

    switch (d->kind) {
    case KEY_STRING:
    case KEY_HOST:
    case KEY_SOCKET:
    case KEY_ENUM:
        r = config_check_string(d, key, value, msg, sizeof(msg));
        if (r < 0)
            return fail(p, &e->start_mark, "%s", msg);
        if (field)
            config_set_string(field, d->size, value);
        return 0;

    case KEY_SCALAR:
        return 0;

    case KEY_BOOL: {
        bool b;
        if (parse_bool(value, &b) < 0)
            return value_error(p, d, key, value);
        if (field)
            *(bool *) field = b;
        return 0;
    }

    case KEY_UINT: {
        int64_t v = 0;
        double approx;

        r = safe_atoi64(value, &v);
        if (r == -ERANGE) {
            approx = value[0] == '-' ? -INFINITY : INFINITY;
        } else if (r < 0)
            return value_error(p, d, key, value);
        else
            approx = (double) v;
        r = config_check_number(d, key, approx, value, msg, sizeof(msg));
        if (r < 0)
            return fail(p, &e->start_mark, "%s", msg);
        if (field)
            *(unsigned *) field = (unsigned) v;
        return 0;
    }

    case KEY_DOUBLE: {
        double v;

        if (!looks_decimal(value))
            return value_error(p, d, key, value);
        r = safe_atod(value, &v);
        if (r == -ERANGE)
            return fail(p, &e->start_mark, "%s: number out of range, got '%s'", key, value);
        if (r < 0)
            return value_error(p, d, key, value);
        r = config_check_number(d, key, v, value, msg, sizeof(msg));
        if (r < 0)
            return fail(p, &e->start_mark, "%s", msg);
        if (field)
            *(double *) field = v;
        return 0;
    }

    case KEY_SIZE: {
        uint64_t v;

        r = safe_atou64(value, &v);
        if (r == -EINVAL)
            r = parse_size(value, &v);
        if (r == -ERANGE)
            v = UINT64_MAX;
        else if (r < 0)
            return value_error(p, d, key, value);
        r = config_check_number(d, key, (double) v, value, msg, sizeof(msg));
        if (r < 0)
            return fail(p, &e->start_mark, "%s", msg);
        if (field)
            *(uint64_t *) field = v;
        return 0;
    }

    case KEY_MODE: {
        unsigned v;

        if (parse_mode(value, &v) < 0)
            return value_error(p, d, key, value);
        r = config_check_number(d, key, v, value, msg, sizeof(msg));
        if (r < 0)
            return fail(p, &e->start_mark, "%s", msg);
        if (field)
            *(unsigned *) field = v;
        return 0;
    }

    default:
        assert(false);
        return -EINVAL;
    }
}

static int parse_paths(struct parser *p, const char *key)
{
    char paths[HR_DISKS_MAX][HR_PATH_MAX];
    yaml_mark_t list_mark = p->event.start_mark;
    char value[VALUE_MAX], msg[CONFIG_ERROR_MAX];
    unsigned n = 0;
    int r;

    for (;;) {
        r = next(p);
        if (r < 0)
            return r;
        if (p->event.type == YAML_SEQUENCE_END_EVENT)
            break;
        if (p->event.type != YAML_SCALAR_EVENT || scalar_is_null(&p->event)) {
            char buf[SHOWN_MAX + 64];
            return fail(p, &p->event.start_mark, "%s: expected a path, got %s", key,
                        describe_event(p, buf, sizeof(buf)));
        }
        if (n >= HR_DISKS_MAX)
            return fail(p, &p->event.start_mark, "%s: at most %d paths may be listed", key,
                        HR_DISKS_MAX);

        r = expand_scalar(p, key, false, value);
        if (r < 0)
            return r;
        r = config_check_path(key, value, msg, sizeof(msg));
        if (r < 0)
            return fail(p, &p->event.start_mark, "%s", msg);
        for (unsigned i = 0; i < n; i++)
            if (strcmp(paths[i], value) == 0)
                return fail(p, &p->event.start_mark, "%s: '%s' is listed twice", key, value);
        config_set_string(paths[n++], HR_PATH_MAX, value);
    }
    if (n == 0)
        return fail(p, &list_mark, "%s: the list must not be empty", key);

    /* The file's list replaces the default one. */
    memset(p->c->monitoring.paths, 0, sizeof(p->c->monitoring.paths));
    memcpy(p->c->monitoring.paths, paths, n * sizeof(paths[0]));
    p->c->monitoring.n_paths = n;
    return 0;
}

static int parse_mapping(struct parser *p, const struct key_def *defs, const char *section);

static int parse_value(struct parser *p, const struct key_def *d, const char *key)
{
    int r = next(p);
    if (r < 0)
        return r;

    switch (d->kind) {
    case KEY_MAP:
        if (p->event.type == YAML_MAPPING_START_EVENT)
            return parse_mapping(p, d->children, key);
        /* "auth:" with every key below commented out is an empty section. */
        if (p->event.type == YAML_SCALAR_EVENT && scalar_is_null(&p->event))
            return 0;
        return type_error(p, d, key);

    case KEY_PATHS:
        if (p->event.type == YAML_SEQUENCE_START_EVENT)
            return parse_paths(p, key);
        return type_error(p, d, key);

    default:
        if (p->event.type != YAML_SCALAR_EVENT)
            return type_error(p, d, key);
        return parse_scalar(p, d, key);
    }
}

static int parse_mapping(struct parser *p, const struct key_def *defs, const char *section)
{
    size_t first_line[SECTION_KEYS_MAX] = { 0 };
    bool seen[SECTION_KEYS_MAX] = { false };
    int r;

    for (;;) {
        char key[128];
        const struct key_def *d = NULL;

        r = next(p);
        if (r < 0)
            return r;
        if (p->event.type == YAML_MAPPING_END_EVENT)
            return 0;
        if (p->event.type != YAML_SCALAR_EVENT)
            return fail(p, &p->event.start_mark, "keys must be strings, got %s",
                        p->event.type == YAML_MAPPING_START_EVENT ? "a mapping" : "a list");

        const char *raw = (const char *) p->event.data.scalar.value;
        size_t len = p->event.data.scalar.length;
        yaml_mark_t mark = p->event.start_mark;
        size_t idx = 0;

        if (len <= KEY_NAME_MAX && !memchr(raw, '\0', len))
            for (d = defs; d->name; d++, idx++)
                if (strcmp(d->name, raw) == 0)
                    break;
        if (!d || !d->name)
            return unknown_key(p, defs, section, raw, len);

        assert(idx < SECTION_KEYS_MAX);
        if (seen[idx])
            return fail(p, &mark, "duplicate key '%s' in %s (first set on line %zu)", d->name,
                        section[0] ? section : "the top level", first_line[idx] + 1);
        seen[idx] = true;
        first_line[idx] = mark.line;

        (void) snprintf(key, sizeof(key), "%s%s%s", section, section[0] ? "." : "", d->name);
        if (d->flags & KEY_IGNORED)
            add_warning(p, &mark, key);

        r = parse_value(p, d, key);
        if (r < 0)
            return r;
    }
}

static int parse_stream(struct parser *p)
{
    char buf[SHOWN_MAX + 64];
    int r;

    r = next(p);
    if (r < 0)
        return r;
    assert(p->event.type == YAML_STREAM_START_EVENT);

    r = next(p);
    if (r < 0)
        return r;
    if (p->event.type == YAML_STREAM_END_EVENT)
        return 0; /* nothing but comments and blank lines: the defaults */
    assert(p->event.type == YAML_DOCUMENT_START_EVENT);

    r = next(p);
    if (r < 0)
        return r;
    if (p->event.type == YAML_MAPPING_START_EVENT) {
        r = parse_mapping(p, config_schema, "");
        if (r < 0)
            return r;
    } else if (!(p->event.type == YAML_SCALAR_EVENT && scalar_is_null(&p->event)))
        return fail(p, &p->event.start_mark, "the top level must be a mapping, got %s",
                    describe_event(p, buf, sizeof(buf)));

    r = next(p);
    if (r < 0)
        return r;
    assert(p->event.type == YAML_DOCUMENT_END_EVENT);

    /* check_stream() saw to it that nothing follows. */
    r = next(p);
    if (r < 0)
        return r;
    assert(p->event.type == YAML_STREAM_END_EVENT);
    return 0;
}

/* The first pass: the whole file is well-formed YAML, without anchors, aliases or tags, one
 * document, nesting bounded. It runs before any value is looked at, so a broken file is reported
 * as such rather than by the first value that happens to precede the break. */
static int check_stream(struct parser *p)
{
    unsigned depth = 0, documents = 0;
    int r;

    for (;;) {
        r = next(p);
        if (r < 0)
            return r;

        switch (p->event.type) {
        case YAML_DOCUMENT_START_EVENT:
            if (++documents > 1)
                return fail(p, &p->event.start_mark, "only one YAML document is allowed");
            break;
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT:
            if (++depth > NESTING_MAX)
                return fail(p, &p->event.start_mark, "nesting is deeper than %d levels",
                            NESTING_MAX);
            break;
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
            depth--;
            break;
        case YAML_STREAM_END_EVENT:
            return 0;
        default:
            break;
        }
    }
}

static int run_pass(struct parser *p, int (*pass)(struct parser *p))
{
    int r;

    if (!yaml_parser_initialize(&p->yaml)) {
        (void) snprintf(p->err, CONFIG_ERROR_MAX, "%s: out of memory", p->name);
        return -ENOMEM;
    }
    yaml_parser_set_input_string(&p->yaml, (const unsigned char *) p->buf, p->n);

    r = pass(p);

    if (p->have_event) {
        yaml_event_delete(&p->event);
        p->have_event = false;
    }
    yaml_parser_delete(&p->yaml);
    return r;
}

int config_parse_yaml(const char *buf,
                      size_t n,
                      const char *name,
                      struct config *ret,
                      char err[static CONFIG_ERROR_MAX])
{
    _cleanup_free_ struct config *tmp = NULL;
    char msg[CONFIG_ERROR_MAX];
    int r;

    assert(buf || n == 0);
    assert(name);
    assert(ret);
    assert(err);

    if (n > CONFIG_FILE_MAX_BYTES) {
        (void) snprintf(err, CONFIG_ERROR_MAX, "%s: file is larger than %u bytes", name,
                        CONFIG_FILE_MAX_BYTES);
        return -EFBIG;
    }

    /* About 13 KiB (paths and warnings): on the heap, as callers keep theirs. */
    tmp = malloc(sizeof(*tmp));
    if (!tmp) {
        (void) snprintf(err, CONFIG_ERROR_MAX, "%s: out of memory", name);
        return -ENOMEM;
    }
    config_init_defaults(tmp);
    struct parser p = {
        .name = name,
        .buf = buf ? buf : "",
        .n = n,
        .c = tmp,
        .err = err,
    };

    r = run_pass(&p, check_stream);
    if (r < 0)
        return r;
    r = run_pass(&p, parse_stream);
    if (r < 0)
        return r;

    r = config_validate(tmp, msg);
    if (r < 0) {
        (void) snprintf(err, CONFIG_ERROR_MAX, "%s: ", name);
        append_message(err, msg);
        return r;
    }

    *ret = *tmp;
    return 0;
}
