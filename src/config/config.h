/* SPDX-License-Identifier: MIT */
#pragma once

/* headroom's configuration: built-in defaults, overlaid by a YAML file. Keys follow capfox's names
 * wherever the two overlap, so a capfox config file loads unchanged. An invalid file is an error
 * with file:line:column and the reason: never silently replaced by defaults. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "metrics/snapshot.h"

#define CONFIG_LISTEN_MAX   8
#define CONFIG_STRING_MAX   256
#define CONFIG_ERROR_MAX    512

struct config_listen {
    char host[CONFIG_STRING_MAX]; /* numeric IPv4/IPv6 address or "localhost" */
    unsigned port;                /* 0 = pick a free port and write it to <state>/port */
};

struct config {
    struct {
        char host[CONFIG_STRING_MAX];     /* server.host, default "127.0.0.1" (capfox: 0.0.0.0) */
        unsigned port;                    /* server.port, default 9329, 1..65535 */
        unsigned max_connections;         /* server.max_connections, default 256, 1..65536 */
        unsigned connection_timeout_sec;  /* server.connection_timeout_sec, default 60 */
        uint64_t max_body_bytes;          /* server.max_body_bytes, default 1 MiB, 1 KiB..16 MiB */
        char socket_path[CONFIG_STRING_MAX]; /* server.socket, "" = default per uid */
        unsigned socket_mode;             /* server.socket_mode, default 0660 (octal in YAML: "0660") */
    } server;

    struct {
        bool enabled;                     /* auth.enabled: HTTP Basic, capfox style */
        char user[CONFIG_STRING_MAX];     /* auth.user */
        char password[CONFIG_STRING_MAX]; /* auth.password (secret) */
        char token[CONFIG_STRING_MAX];    /* auth.token: Bearer token, "" = none (secret) */
    } auth;

    struct {
        double cpu_max_pct;               /* thresholds.cpu.max_percent, default 80, 0..100 */
        double memory_max_pct;            /* thresholds.memory.max_percent, default 85, 0..100 */
        double memory_max_pressure_pct;   /* thresholds.memory.max_pressure: PSI memory some avg10,
                                           * default 20, 0..100; 0 disables the check */
        double gpu_max_pct;               /* thresholds.gpu.max_percent, default 90 */
        double vram_max_pct;              /* thresholds.vram.max_percent, default 85 */
        double storage_min_free_gb;       /* thresholds.storage.min_free_gb, default 10, ≥ 0 (GiB) */
    } thresholds;

    struct {
        unsigned interval_ms;             /* monitoring.interval_ms, default 1000, ≥ 100 */
        unsigned smoothing_samples;       /* monitoring.smoothing_samples, default 5, 1..600 */
        unsigned history_samples;         /* monitoring.history_samples, default 600, 1..86400 */
        unsigned n_paths;                 /* monitoring.paths, default ["/"], 1..HR_DISKS_MAX */
        char paths[HR_DISKS_MAX][HR_PATH_MAX];
        bool gpu;                         /* monitoring.gpu, default true */
    } monitoring;

    struct {
        unsigned observation_delay_sec;   /* learning.observation_delay_sec, default 5, 1..3600 */
        unsigned max_pending;             /* learning.max_pending, default 1024, 1..65536 */
        unsigned max_task_types;          /* learning.max_task_types, default 10000 */
        unsigned observations_per_task;   /* learning.observations_per_task, default 1000 */
    } learning;

    struct {
        char data_dir[CONFIG_STRING_MAX]; /* persistence.data_dir, "" = default state dir */
    } persistence;

    struct {
        char level[16];                   /* logging.level: debug|info|warn|error, default info */
        char format[16];                  /* logging.format: text|json, default text */
    } logging;

    struct {
        bool enabled;                     /* debug.enabled: /debug/inject-metrics */
        char token[CONFIG_STRING_MAX];    /* debug.auth.token (secret) */
    } debug;
};

/* Fills c with the built-in defaults. */
void config_init_defaults(struct config *c);

/* Loads path on top of the defaults into *ret. On failure returns -EINVAL (invalid content),
 * -ENOENT/-EACCES/... (cannot read), and writes a human message into err (never NULL, size
 * CONFIG_ERROR_MAX): "path:line:column: reason" for a bad key or value, "path: reason" for a
 * rule that spans keys. *ret is untouched on failure. Unknown keys are errors (a typo must not
 * silently disable a check). ${VAR} in scalar values is replaced by the environment variable;
 * an unset variable is an error. Does not log. */
int config_load_file(const char *path, struct config *ret, char err[static CONFIG_ERROR_MAX]);

/* Checks the rules that span keys (auth enabled needs user and password; debug needs a token...).
 * Returns 0 or -EINVAL with the message in err. Called by config_load_file. */
int config_validate(const struct config *c, char err[static CONFIG_ERROR_MAX]);

/* Writes the effective configuration as YAML to f, secrets masked as "********". */
void config_dump_yaml(const struct config *c, FILE *f);

