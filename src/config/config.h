/* SPDX-License-Identifier: MIT */
#pragma once

/* headroom's configuration: built-in defaults, overlaid by a YAML file. Keys follow capfox's names
 * wherever the two overlap, so a capfox config file loads unchanged. An invalid file is an error
 * with file:line:column and the reason: never silently replaced by defaults. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#include "metrics/snapshot.h"

#define CONFIG_LISTEN_MAX   8
#define CONFIG_STRING_MAX   256
#define CONFIG_ERROR_MAX    512
#define CONFIG_WARNINGS_MAX 16

/* A configuration file larger than this is refused before it is parsed: the largest sensible file
 * is a few KiB, and the bound keeps a wrong path (a log, a disk image) from costing memory. */
#define CONFIG_FILE_MAX_BYTES (1024U * 1024U)

/* The shortest accepted auth.token and debug.auth.token. Eight characters is a floor against
 * placeholders like "x" or "test", not a strength policy. */
#define CONFIG_TOKEN_MIN 8

struct config_listen {
    char host[CONFIG_STRING_MAX]; /* numeric IPv4/IPv6 address or "localhost" */
    unsigned port;                /* 0 = pick a free port and write it to <state>/port */
};

/* The event types a hook can be configured for: hooks.task_started ... (':' and '-' as '_'). */
#define CONFIG_HOOKS_MAX 14
extern const char *const config_hook_names[CONFIG_HOOKS_MAX];

struct config {
    struct {
        char host[CONFIG_STRING_MAX];     /* server.host, default "127.0.0.1" (capfox: 0.0.0.0) */
        unsigned port;                    /* server.port, default 9329, 1..65535 */
        unsigned max_connections;         /* server.max_connections, default 256, 1..65536 */
        unsigned connection_timeout_sec;  /* server.connection_timeout_sec, default 60, 1..3600 */
        uint64_t max_body_bytes;          /* server.max_body_bytes, default 1 MiB, 1 KiB..16 MiB;
                                           * an integer or a size string such as "1MiB" */
        char socket_path[CONFIG_STRING_MAX]; /* server.socket, "" = default per uid, else absolute
                                              * and shorter than sun_path (108 bytes) */
        unsigned socket_mode;             /* server.socket_mode, default 0660, ≤ 0777; always read
                                           * as octal digits, whether written 0660 or "0660" */
    } server;

    struct {
        bool enabled;                     /* auth.enabled: HTTP Basic, capfox style */
        char user[CONFIG_STRING_MAX];     /* auth.user */
        char password[CONFIG_STRING_MAX]; /* auth.password (secret) */
        char token[CONFIG_STRING_MAX];    /* auth.token: Bearer token, "" = none, else at least
                                           * CONFIG_TOKEN_MIN characters (secret) */
        char user_tokens_file[CONFIG_STRING_MAX]; /* auth.user_tokens_file: "USER TOKEN" lines, ""
                                           * none (config/user-tokens.h) */
    } auth;

    struct {
        double cpu_max_pct;               /* thresholds.cpu.max_percent, default 80, 0..100 */
        double memory_max_pct;            /* thresholds.memory.max_percent, default 85, 0..100 */
        double memory_max_pressure_pct;   /* thresholds.memory.max_pressure: PSI memory some avg10,
                                           * default 20, 0..100; 0 disables the check */
        double gpu_max_pct;               /* thresholds.gpu.max_percent, default 90, 0..100 */
        bool gpu_shareable;               /* thresholds.gpu.shareable, default false: a GPU a
                                           * task holds is given to no other task */
        double vram_max_pct;              /* thresholds.vram.max_percent, default 85, 0..100 */
        double storage_min_free_gb;       /* thresholds.storage.min_free_gb, default 10, ≥ 0 (GiB) */
    } thresholds;

    struct {
        unsigned interval_ms;             /* monitoring.interval_ms, default 1000, ≥ 100 */
        unsigned smoothing_samples;       /* monitoring.smoothing_samples, default 5, 1..600 */
        unsigned history_samples;         /* monitoring.history_samples, default 600,
                                           * smoothing_samples..86400 */
        unsigned n_paths;                 /* monitoring.paths, default ["/"], 1..HR_DISKS_MAX
                                           * distinct absolute paths */
        char paths[HR_DISKS_MAX][HR_PATH_MAX];
        bool gpu;                         /* monitoring.gpu, default true */
    } monitoring;

    struct {
        unsigned observation_delay_sec;   /* learning.observation_delay_sec, default 5, 1..3600 */
        unsigned max_pending;             /* learning.max_pending, default 1024, 1..65536 */
        unsigned max_task_types;          /* learning.max_task_types, default 10000, 1..1000000 */
        unsigned observations_per_task;   /* learning.observations_per_task, default 1000,
                                           * 1..1000000 */
        char model[24];                   /* learning.model: ewls (default) | moving_average |
                                           * linear (capfox's "linear_regression" is accepted) */
        unsigned min_observations;        /* learning.min_observations, default 5, 1..1000: below
                                           * it a type is decided on thresholds */
        double lambda;                    /* learning.lambda, ewls forgetting, default 0.97, 0.5..1 */
        double alpha;                     /* learning.alpha, moving_average, default 0.2, 0.01..1 */
        double quantile;                  /* learning.quantile, ewls margin, default 0.95, 0.5..1 */
        double shrinkage_weight;          /* learning.shrinkage_weight, default 5, 0..1000 */
        double margin_factor;             /* learning.margin_factor, default 1, 1..10 */
    } learning;

    struct {
        unsigned reserve_on_ask_sec;      /* admission.reserve_on_ask_seconds, default 0 (capfox's
                                           * /ask stays stateless), 0..86400: an allowed /ask holds
                                           * its need that long */
        unsigned lease_sec;               /* admission.lease_seconds, default 60, 1..86400: how
                                           * long an unattached /v1/ask reservation lives */
        bool reserve_unknown;             /* admission.reserve_unknown, default true: a type with
                                           * too few observations still reserves the largest peak
                                           * seen (its own, else any type's) */
        double cold_reserve_memory_pct;   /* admission.cold_reserve_memory_percent, default 10,
                                           * 0..100: that reserve before any task was ever seen */
    } admission;

    struct {
        char data_dir[CONFIG_STRING_MAX]; /* persistence.data_dir, "" = default state dir */
    } persistence;

    struct {
        unsigned max_queued;              /* jobs.max_queued, default 1000, 1..100000: more
                                           * submits are refused (503) */
        unsigned keep_finished;           /* jobs.keep_finished, default 100, 1..100000 */
        unsigned aging_sec;               /* jobs.aging_seconds, default 600, 0..604800: one
                                           * priority level per this much waiting, 0 off */
        unsigned backfill_limit_sec;      /* jobs.backfill_limit_seconds, default 1800,
                                           * 0..604800: how long smaller jobs may pass a blocked
                                           * head */
        unsigned soft_max;                /* jobs.soft_max, default 0 (none), 0..100000: running
                                           * jobs above which a start is warned about */
        unsigned hard_max;                /* jobs.hard_max, default 0 (none), 0..100000 */
    } jobs;

    struct {
        char profile[16];                 /* supervise.profile: minimal|balanced (default)|
                                           * conservative: the defaults of the keys below left
                                           * at auto/0 */
        char level[16];                   /* supervise.level: auto (the profile's)|passive|
                                           * active|protective */
        unsigned stall_sec;               /* supervise.stall_seconds, default 300, 0 off: a job
                                           * without output or CPU time for this long stalls */
        double task_memory_soft_pct;      /* supervise.task_memory_soft_percent, 0 = the
                                           * profile's, 0..100 of RAM: task:high-memory */
        double task_memory_hard_pct;      /* supervise.task_memory_hard_percent: task:critical-memory */
        double task_cpu_soft_pct;         /* supervise.task_cpu_soft_percent: task:high-cpu */
        double pressure_critical_pct;     /* supervise.pressure_critical, PSI memory some avg10 */
        double pressure_low_pct;          /* supervise.pressure_low */
        double memory_critical_pct;       /* supervise.memory_critical_percent, of RAM used */
        double memory_low_pct;            /* supervise.memory_low_percent */
        unsigned hold_down_sec;           /* supervise.hold_down_seconds, 0 = the profile's */
        unsigned action_interval_sec;     /* supervise.action_interval_seconds, 0 = the
                                           * profile's: between two suspends or resumes */
    } supervise;

    struct {
        unsigned max_stored;              /* events.max_stored, default 10000, 100..10000000 */
    } events;

    struct {
        unsigned timeout_sec;             /* hooks.timeout_seconds, default 10, 1..3600 */
        unsigned max_running;             /* hooks.max_running, default 4, 1..64 */
        char command[CONFIG_HOOKS_MAX][CONFIG_STRING_MAX]; /* hooks.<event>, "" none; the
                                           * order of config_hook_names */
    } hooks;

    struct {
        char level[16];                   /* logging.level: debug|info|warn|error, default info */
        char format[16];                  /* logging.format: text|json, default text */
    } logging;

    struct {
        bool enabled;                     /* debug.enabled: /debug/inject-metrics */
        char token[CONFIG_STRING_MAX];    /* debug.auth.token (secret), required when enabled,
                                           * at least CONFIG_TOKEN_MIN characters when set */
    } debug;

    /* Not configuration: what config_load_file() had to say about a file that loaded, one
     * "path:line:column: message" each (a capfox key that is accepted and ignored). Warnings past
     * CONFIG_WARNINGS_MAX are dropped. Zero after config_init_defaults(). */
    unsigned n_warnings;
    char warnings[CONFIG_WARNINGS_MAX][CONFIG_ERROR_MAX];
};

/* Fills c with the built-in defaults (every byte of c is written, so two default configs compare
 * equal with memcmp). Does not log. */
void config_init_defaults(struct config *c);

/* Loads the YAML file at path on top of the defaults into *ret. The file must be a regular file of
 * at most CONFIG_FILE_MAX_BYTES. The top level is a mapping of the sections above; an empty file
 * (or one holding only comments) is valid and gives the defaults. Rules:
 *  - unknown keys are errors (a typo must not silently disable a check), with a suggestion when a
 *    known key is close; duplicate keys are errors;
 *  - numbers and booleans must be plain scalars (a quoted scalar is a string); integer keys reject
 *    fractions; booleans are true/false/yes/no/on/off in any case;
 *  - YAML anchors, aliases and tags are refused, and so are a second document and nesting
 *    deeper than 16 levels; the whole file must be valid YAML before any value is looked at;
 *  - ${VAR} in a scalar value (never in a key or a comment) is replaced by the environment
 *    variable, ${VAR:-default} falls back to default when VAR is unset or empty, $$ is one '$';
 *    an unset variable without a default is an error; the result must fit CONFIG_STRING_MAX;
 *  - capfox keys headroom does not use (server.pid_file, server.shutdown_timeout_sec,
 *    server.rate_limit, server.profiling, persistence.flush_interval_sec,
 *    decision) are type-checked, then ignored with a warning in ret->warnings.
 * Returns 0; -EINVAL for invalid content or a path that is not a regular file; -EFBIG when the
 * file is too large; -ENOMEM; or the -errno of open/read (-ENOENT, -EACCES...). On failure err
 * (never NULL) holds one line: "path:line:column: reason" for a bad key or value (line and column
 * start at 1), "path: reason" for a rule that spans keys or a file that cannot be read; *ret is
 * untouched. Reads the environment (secure_getenv). Does not log. */
int config_load_file(const char *path, struct config *ret, char err[static CONFIG_ERROR_MAX]);

/* The parser behind config_load_file(): buf holds n bytes of YAML (no terminator needed; a NUL
 * byte inside is an error), name is the file name used in messages. Same rules, return values
 * (without the I/O errors) and messages; -EFBIG when n > CONFIG_FILE_MAX_BYTES. *ret is written
 * only on success, with the defaults overlaid by the document. Reads the environment; no other
 * I/O. Does not log. */
int config_parse_yaml(const char *buf, size_t n, const char *name, struct config *ret,
                      char err[static CONFIG_ERROR_MAX]);

/* Checks every value of c against its range, and the rules that span keys: auth.enabled needs
 * auth.user and auth.password; debug.enabled needs debug.auth.token; history_samples must be at
 * least smoothing_samples. Returns 0, or -EINVAL with "key: reason" in err (no file position; the
 * value is named, except for secrets, whose length is given instead). Called by
 * config_load_file(), so a loaded config always passes. Does not log. */
int config_validate(const struct config *c, char err[static CONFIG_ERROR_MAX]);

/* Writes the effective configuration as YAML to f: every key headroom uses, none of the ignored
 * capfox keys. Secrets (auth.password, auth.token, debug.auth.token) are written as "********"
 * when set and "" when empty. Strings are double-quoted with '$' doubled, so the output loads
 * back into the same configuration (secrets aside). Write errors show in ferror(f). Does not
 * log. */
void config_dump_yaml(const struct config *c, FILE *f);

/* The effective configuration as a JSON object with the same nesting and key names as the YAML
 * (server.socket_mode as an octal string such as "0660"), secrets masked as in
 * config_dump_yaml(). Returns a new reference owned by the caller, or NULL on OOM (or a string
 * that is not UTF-8, which config_load_file() never produces). Does not log. */
json_t *config_to_json(const struct config *c);
