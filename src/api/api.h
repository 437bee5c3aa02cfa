/* SPDX-License-Identifier: MIT */
#pragma once

/* The HTTP API: capfox's endpoints with capfox's shapes, headroom's /v1 endpoints, Prometheus
 * metrics and the test-only metric injection. The daemon owns every object referenced here and
 * keeps them current; the handlers only read them, and act through the hooks. */

#include <stdbool.h>
#include <stdint.h>

#include "api/http-server.h"
#include "config/config.h"
#include "metrics/snapshot.h"
#include "model/decide.h"
#include "model/history.h"
#include "basic/parse-util.h"
#include "basic/time-util.h"

struct store;

/* Debug overlay: values held until cleared (unlike capfox, a sample does not erase them). */
struct api_inject {
    bool has_cpu, has_memory, has_gpu_usage, has_vram_usage, has_disk_free, has_memory_pressure;
    double cpu_pct, memory_pct, gpu_usage_pct, vram_usage_pct, memory_pressure_pct;
    int gpu_index;
    uint64_t disk_free_bytes;
};

struct api_counters {
    uint64_t requests_total;
    uint64_t asks_allowed_total;
    uint64_t asks_denied_total;
    uint64_t denials_by_reason_total[_RESOURCE_MAX];
    uint64_t notifies_total;
    uint64_t observations_total;
    uint64_t observations_failed_total;
    uint64_t samples_total;
    uint64_t sample_errors_total;
    uint64_t auth_failures_total;
    uint64_t bad_requests_total;
    double last_sample_seconds;
    uint64_t config_reloads_total;
    uint64_t config_reload_failures_total;
};

#define LEASE_SECONDS_DEFAULT 60
#define LEASE_SECONDS_MAX     3600

/* A reservation of an admitted task's declared needs, held until released or expired, so that a
 * burst of asks cannot all be admitted against the same free memory. */
struct api_lease {
    uint64_t id;
    char task[TASK_NAME_MAX + 1];
    struct decide_need need;
    usec_t expires_mono_usec;
    usec_t expires_real_usec;
};

struct api_hooks {
    /* Starts a notify observation. 0, -EAGAIN when too many are pending, -ENOSPC when the task
     * type table is full. */
    int (*notify)(void *userdata, const char *task, double complexity);
    /* Merges fields into the held overlay (only the has_* fields of in) and re-derives the view. */
    int (*inject)(void *userdata, const struct api_inject *in);
    void (*inject_clear)(void *userdata);
    /* Drops expired leases (and updates view->reserved). */
    void (*leases_expire)(void *userdata);
    /* Creates a lease for need lasting ttl_usec. 0, -ENOSPC when the lease table is full. */
    int (*lease_add)(void *userdata, const char *task, const struct decide_need *need, usec_t ttl_usec,
                     struct api_lease *ret);
    /* Releases lease id. 0, -ENOENT when there is none (expired or never existed). */
    int (*lease_release)(void *userdata, uint64_t id);
    void *userdata;
};

struct api {
    const struct config *config;      /* current; replaced on reload */
    const struct hr_snapshot *snapshot;
    const struct history *history;
    const struct decide_input *view;  /* smoothed, overlay applied: what /ask decides on */
    const struct api_inject *inject;  /* current overlay (for /debug/status) */
    bool ready;
    struct store *store;
    usec_t started_mono_usec;
    unsigned pending_observations;
    const char *sources;              /* what is sampled, from where (shown in /status) */
    const struct api_lease *leases;   /* n_leases live leases, in creation order */
    unsigned n_leases;
    struct api_hooks hooks;
    struct api_counters counters;
};

/* The http_handler for http_server_options.handler; userdata is a struct api *. */
void api_handle(const struct http_request *req, struct http_response *resp, void *userdata);

/* Fills a decide_thresholds from the config. */
void api_thresholds(const struct config *c, struct decide_thresholds *ret);
