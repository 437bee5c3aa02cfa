/* SPDX-License-Identifier: MIT */
#pragma once

/* Shared by the handler files of src/api; not part of the layer's interface. */

#include <jansson.h>

#include "api/api.h"
#include "basic/macro.h"

#define CT_JSON "application/json"
#define CT_TEXT "text/plain; charset=utf-8"
#define CT_PROM "text/plain; version=0.0.4; charset=utf-8"

/* Largest response we build (a /status on a 1024-CPU, 16-GPU machine is far below). */
#define RESPONSE_MAX_BYTES (4U * 1024U * 1024U)

/* jansson ≥ 2.9 provides json_decrefp() for cleanup attributes. */
#define _cleanup_json_ _cleanup_(json_decrefp)

/* Serializes obj (steals the reference) with a trailing newline, as capfox's encoder does. */
void reply_json(struct http_response *resp, unsigned status, json_t *obj);
/* text/plain body "text\n": capfox's error style, kept on capfox's endpoints. */
void reply_text(struct http_response *resp, unsigned status, const char *text);
/* {"error": "..."} on /v1 endpoints. */
void reply_error(struct http_response *resp, unsigned status, const char *fmt, ...) _printf_(3, 4);

/* A real JSON number for a double; null for NaN/Inf (jansson refuses them). */
json_t *json_number(double v);

/* Parses the request body as JSON (duplicates rejected). An empty body is -ENODATA. On failure
 * writes a reason into err ("line 1 column 9: unexpected token"). */
int parse_body(const struct http_request *req, json_t **ret, char *err, size_t errlen);

/* Reads an optional non-negative finite number field. -EINVAL with err filled when present but not
 * a number or negative. *ret untouched when absent (returns 0). */
int get_number(json_t *obj, const char *key, double max, double *ret, char *err, size_t errlen);
/* Optional string field validated as a task name. */
int get_task(json_t *obj, bool required, const char **ret, char *err, size_t errlen);

bool query_flag(const struct http_request *req, const char *query, const char *header);

/* Endpoint handlers. */
void handle_root(struct api *a, const struct http_request *req, struct http_response *resp);
void handle_health(struct api *a, const struct http_request *req, struct http_response *resp);
void handle_ready(struct api *a, const struct http_request *req, struct http_response *resp);
void handle_status(struct api *a, const struct http_request *req, struct http_response *resp);
void handle_stats(struct api *a, const struct http_request *req, struct http_response *resp);
void handle_ask(struct api *a, const struct http_request *req, struct http_response *resp);
void handle_notify(struct api *a, const struct http_request *req, struct http_response *resp);
void handle_v1_ask(struct api *a, const struct http_request *req, struct http_response *resp);
void handle_v1_leases(struct api *a, const struct http_request *req, struct http_response *resp);
void handle_v1_lease(struct api *a, const struct http_request *req, struct http_response *resp);
void handle_v1_history(struct api *a, const struct http_request *req, struct http_response *resp);
void handle_metrics(struct api *a, const struct http_request *req, struct http_response *resp);
void handle_debug_inject(struct api *a, const struct http_request *req, struct http_response *resp);
void handle_debug_status(struct api *a, const struct http_request *req, struct http_response *resp);
