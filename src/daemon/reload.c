/* SPDX-License-Identifier: MIT */
#include "daemon/learn.h"
#include "daemon/events.h"
#include "daemon/identity.h"
#include "daemon/reload.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "daemon/notify.h"

#include "basic/log.h"

static bool paths_equal(const struct config *a, const struct config *b)
{
    if (a->monitoring.n_paths != b->monitoring.n_paths)
        return false;
    for (unsigned i = 0; i < a->monitoring.n_paths; i++)
        if (strcmp(a->monitoring.paths[i], b->monitoring.paths[i]) != 0)
            return false;
    return true;
}

void daemon_reload(struct daemon *d)
{
    char err[CONFIG_ERROR_MAX];
    struct config next;
    int r;

    if (!d->opts.config_path[0]) {
        log_info("Received SIGHUP, but no configuration file is in use; nothing to reload");
        return;
    }
    daemon_notify("RELOADING=1");
    log_info("Received SIGHUP, reloading '%s'", d->opts.config_path);

    r = config_load_file(d->opts.config_path, &next, err);
    if (r < 0) {
        d->api.counters.config_reload_failures_total++;
        log_error("Configuration reload refused, keeping the running configuration: %s", err);
        daemon_notify("READY=1");
        return;
    }
    if (d->tcp_public && !next.auth.enabled && !next.auth.token[0]) {
        d->api.counters.config_reload_failures_total++;
        log_error("Configuration reload refused, keeping the running configuration: it removes auth while "
                  "headroom listens on a non-loopback address");
        daemon_notify("READY=1");
        return;
    }
    for (unsigned i = 0; i < next.n_warnings; i++)
        log_warning("%s", next.warnings[i]);

    if (strcmp(next.server.host, d->config.server.host) != 0 || next.server.port != d->config.server.port ||
        strcmp(next.server.socket_path, d->config.server.socket_path) != 0 ||
        strcmp(next.persistence.data_dir, d->config.persistence.data_dir) != 0 ||
        next.server.max_connections != d->config.server.max_connections ||
        next.server.socket_mode != d->config.server.socket_mode ||
        next.server.connection_timeout_sec != d->config.server.connection_timeout_sec ||
        strcmp(next.logging.format, d->config.logging.format) != 0 || next.monitoring.gpu != d->config.monitoring.gpu)
        log_warning("server.host, server.port, server.socket, server.socket_mode, server.max_connections, "
                    "server.connection_timeout_sec, persistence.data_dir, logging.format and monitoring.gpu "
                    "take effect at the next restart");

    if (next.monitoring.history_samples != d->config.monitoring.history_samples) {
        r = history_resize(&d->history, next.monitoring.history_samples);
        if (r < 0) {
            log_warning_errno(r, "Failed to resize the history, keeping %u samples: %m",
                              d->config.monitoring.history_samples);
            next.monitoring.history_samples = d->config.monitoring.history_samples;
        }
    }
    if (next.monitoring.interval_ms != d->config.monitoring.interval_ms) {
        usec_t period = (usec_t) next.monitoring.interval_ms * USEC_PER_MSEC;
        r = loop_timer_set(d->tick, now_usec(CLOCK_MONOTONIC) + period, period);
        if (r < 0) {
            log_warning_errno(r, "Failed to change the sampling interval, keeping %u ms: %m",
                              d->config.monitoring.interval_ms);
            next.monitoring.interval_ms = d->config.monitoring.interval_ms;
        }
    }

    char terr[512];
    r = identity_load(d, &next, terr, sizeof(terr));
    if (r < 0) {
        log_warning("Keeping the per-user tokens in force: %s", terr);
        memcpy(next.auth.user_tokens_file, d->config.auth.user_tokens_file, sizeof(next.auth.user_tokens_file));
    }
    bool new_paths = !paths_equal(&next, &d->config);
    struct config old = d->config;
    d->config = next;
    if (d->events) {
        struct events_options eo;
        daemon_events_options(&d->config, &eo);
        r = events_set_options(d->events, &eo);
        if (r < 0)
            log_warning_errno(r, "Failed to apply the new event and hook settings: %m");
    }
    if (new_paths) {
        struct sampler *s;
        r = daemon_make_sampler(d, &s);
        if (r < 0) {
            log_warning_errno(r, "Failed to apply the new monitoring paths, keeping the old ones: %m");
            memcpy(d->config.monitoring.paths, old.monitoring.paths, sizeof(old.monitoring.paths));
            d->config.monitoring.n_paths = old.monitoring.n_paths;
        } else {
            /* Prime the new sampler, so that the next tick has rates and CPU deltas instead of
             * one sample of zeros in the history. */
            struct hr_snapshot *scratch = malloc(sizeof(*scratch));
            if (scratch)
                (void) sampler_sample(s, now_usec(CLOCK_MONOTONIC), now_usec(CLOCK_REALTIME), scratch);
            free(scratch);
            sampler_free(d->sampler);
            d->sampler = s;
        }
    }
    /* Settings that only take effect at start stay as they were. */
    d->config.server = old.server;
    d->config.server.max_body_bytes = next.server.max_body_bytes;
    d->config.persistence = old.persistence;
    (void) snprintf(d->config.logging.format, sizeof(d->config.logging.format), "%s", old.logging.format);
    d->config.monitoring.gpu = old.monitoring.gpu;
    http_server_set_max_body(d->http, (size_t) d->config.server.max_body_bytes);
    learn_reconfigure(d);

    /* --log-level on the command line wins over the file, on reload as at start. */
    enum log_level lvl = log_level_from_string(d->opts.log_level[0] ? d->opts.log_level : d->config.logging.level);
    if (lvl >= 0)
        log_set_max_level(lvl);

    d->api.counters.config_reloads_total++;
    log_info("Configuration reloaded: cpu %.1f%%, memory %.1f%%, gpu %.1f%%, vram %.1f%%, min free %.1f GiB",
             d->config.thresholds.cpu_max_pct, d->config.thresholds.memory_max_pct, d->config.thresholds.gpu_max_pct,
             d->config.thresholds.vram_max_pct, d->config.thresholds.storage_min_free_gb);
    daemon_notify("READY=1");
}
