/* SPDX-License-Identifier: MIT */
#pragma once

/* Shared by the handler files of src/api; not part of the layer's interface. */

#include <jansson.h>

#include "api/api.h"
#include "basic/macro.h"

#define CT_JSON "application/json"
#define API_LEASE_ID_MAX 19   /* "l-" or "t-" + 16 hex digits + NUL */

/* {"memory_soft_bytes", "memory_hard_bytes", "cpu_soft_percent"}: the non-zero ones. */
json_t *api_limits_json(const struct protect_limits *l);
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

/* A byte count up to BYTES_MAX (JSON numbers are doubles). */
#define BYTES_MAX 9.2e18
/* Optional non-negative byte count field; *ret untouched when absent. */
int get_bytes(json_t *obj, const char *key, uint64_t *ret, char *err, size_t errlen);
/* The body as a JSON object; an empty body is an empty object. */
int object_body(const struct http_request *req, json_t **ret, char *err, size_t errlen);
/* -EINVAL with err naming the first key of body not among the n known. */
int reject_unknown(json_t *body, const char *const *known, size_t n, char *err, size_t errlen);

/* Supervised task ids: "t-" and 16 lowercase hex digits. */
void format_task_id(char buf[static API_LEASE_ID_MAX], uint64_t id);
int parse_task_id(const char *s, size_t len, uint64_t *ret);

/* The user whose token (auth.user_tokens_file) the request's Bearer token is, or NULL. */
const char *api_token_user(const struct api *a, const struct http_request *req);
/* Who is asking, for the calls that act on a task or run a job: the peer's uid on a Unix socket
 * (SO_PEERCRED); over TCP, the user of a per-user token; else, when the daemon does not run as
 * root, the daemon's own uid (it can run nothing as anyone else, and the route's authentication
 * has been checked); else -EPERM. -ESRCH for a token whose user does not exist. */
int api_caller_uid(const struct api *a, const struct http_request *req, uint32_t *ret);
/* May caller act on something owned by owner_uid (has_owner false: only root and the daemon's own
 * uid may)? */
bool api_may_act(uint32_t caller, bool has_owner, uint32_t owner_uid);

/* "cancel", "suspend", "resume" → enum api_control, else -EINVAL. */
int api_control_from_string(const char *s);
/* The answer to a refused control: 404 (-ENOENT), 409 (-EBUSY, -ESRCH), else 500. what: "job" or
 * "task"; name: the control's name. */
void api_reply_control_error(struct http_response *resp, int r, const char *what, const char *name);

bool query_flag(const struct http_request *req, const char *query, const char *header);

/* ---- admission (admission.c) ---- */

struct api_admission {
    bool has_model;                 /* the task type had learnt models */
    struct admit_plan plan;
    struct decide_need need;        /* what the decision added: plan.need with margins pooled */
    struct decision decision;
    unsigned n_gpus_asked;          /* GPUs the task asked for ("gpus": N), 0: the one GPU decide()
                                     * chooses, if any */
    unsigned n_gpus_fit;            /* of them, how many fit (when n_gpus_asked > 0) */
    struct gpu_pick pick;           /* the GPUs that fit, most headroom first */
};

/* Plans the task (declared needs, else its type's predictions, else thresholds), expires due
 * leases and decides on the current view; counts the answer. task may be NULL. With n_gpus > 0
 * the task needs that many GPUs, each not held by another lease (unless shareable) and each with
 * room for its per-GPU need (decide_pick_gpus()): the GPU reasons are then those of the pick, and
 * when allowed, pick.gpus[0..n_gpus) are its GPUs. Returns 0, or a -errno from the model lookup
 * (the store failed) or -EINVAL for a bad complexity. */
int api_admit(struct api *a, const char *task, double complexity, const struct decide_need *declared,
              unsigned n_gpus, struct api_admission *ret);
/* Admits task t (its task, complexity and declared need) with n_gpus GPUs (0: the one GPU, if
 * any, decide() picks) and, when allowed, creates the lease of the admission: t->lease_id,
 * n_gpus and gpus are then set, and *ret is the lease. Returns 1 admitted, 0 denied (*ad says
 * why), -ENOSPC when the lease table is full, or api_admit()'s -errno. */
int api_admit_lease(struct api *a, struct api_task *t, unsigned n_gpus, struct api_admission *ad, struct lease *ret);
/* The GPUs of an allowed admission as a mask. */
uint64_t api_admission_gpu_mask(const struct api_admission *ad);
/* /v1/ask's answer for an admission: allowed, reasons, binding, checks, gpu, sampled_at, lease
 * (steals the reference; NULL for null), prediction and estimate. */
json_t *api_ask_answer(struct api *a, const char *task, double complexity, const struct api_admission *ad,
                       json_t *lease);

/* {"fits_in_seconds": N, "fits_at": ..., "basis": ...} or {"fits_in_seconds": null, "why": ...}
 * for a denied admission; null for an allowed one. */
json_t *api_estimate_json(struct api *a, const struct api_admission *ad);
/* Per resource: where the need came from and the prediction behind it. */
json_t *api_plan_json(struct api *a, const struct api_admission *ad);
json_t *api_prediction_json(const struct prediction *p, struct api *a, enum learn_resource r);
/* The non-zero fields of a need: cpu_pct, mem_bytes, mem_pct, gpu_pct, vram_bytes, vram_pct,
 * disk_bytes. */
json_t *api_need_json(const struct decide_need *n);



void api_format_lease_id(char buf[static API_LEASE_ID_MAX], uint64_t id);
/* "l-" and exactly 16 lowercase hex digits. 0 or -EINVAL. */
int api_parse_lease_id(const char *s, uint64_t *ret);
json_t *api_lease_json(const struct lease *l);

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
void handle_v1_models(struct api *a, const struct http_request *req, struct http_response *resp);
void handle_v1_model(struct api *a, const struct http_request *req, struct http_response *resp);
void handle_v1_tasks(struct api *a, const struct http_request *req, struct http_response *resp);
void handle_v1_task(struct api *a, const struct http_request *req, struct http_response *resp);
void handle_v1_jobs(struct api *a, const struct http_request *req, struct http_response *resp);
void handle_v1_job(struct api *a, const struct http_request *req, struct http_response *resp);
void handle_v1_events(struct api *a, const struct http_request *req, struct http_response *resp);
void handle_v1_waiters(struct api *a, const struct http_request *req, struct http_response *resp);
void handle_v1_waiter(struct api *a, const struct http_request *req, struct http_response *resp);
void handle_v1_history(struct api *a, const struct http_request *req, struct http_response *resp);
void handle_metrics(struct api *a, const struct http_request *req, struct http_response *resp);
void handle_debug_inject(struct api *a, const struct http_request *req, struct http_response *resp);
void handle_debug_status(struct api *a, const struct http_request *req, struct http_response *resp);
