/* SPDX-License-Identifier: MIT */
/* Supervised tasks: the start/usage/end interface a supervising wrapper reports through, so the
 * learning gets exact per-task figures instead of machine-wide deltas.
 *
 *   GET  /v1/tasks                running supervised tasks
 *   POST /v1/tasks                a task starts   {task, complexity, pid, lease, needs, expected_seconds,
 *                                                  admit, gpus}
 *   POST /v1/tasks/ID/usage       its use now     {rss_bytes, cpu_pct, gpu_pct, vram_bytes,
 *                                                  vram_total_bytes}
 *   POST /v1/tasks/ID/end         it ended        {duration_sec, cpu_sec, peak_rss_bytes, peak_vram_bytes,
 *                                                  vram_total_bytes, gpu_pct, io_write_bytes,
 *                                                  exit_code} */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api-internal.h"
#include "model/schedule.h"

#define TASKS_PREFIX   "/v1/tasks/"
#define COMPLEXITY_MAX 1e15
#define SECONDS_MAX    (86400.0 * 366 * 10)

static json_t *use_json(const double v[_LEARN_RESOURCE_MAX])
{
    json_t *o = json_object();
    for (int r = 0; o && r < _LEARN_RESOURCE_MAX; r++)
        if (!isnan(v[r]))
            (void) json_object_set_new(o, learn_resource_to_string((enum learn_resource) r), json_number(v[r]));
    return o;
}

/* The task's GPUs: their indices and their UUIDs as the driver gives them ("" unknown). */
static void add_gpus_json(const struct api *a, const struct api_task *t, json_t *o)
{
    json_t *idx = json_array(), *uuids = json_array();

    for (unsigned i = 0; idx && uuids && i < t->n_gpus; i++) {
        int g = t->gpus[i];
        const char *uuid = a->snapshot && g >= 0 && (unsigned) g < a->snapshot->n_gpus ? a->snapshot->gpus[g].uuid : "";
        (void) json_array_append_new(idx, json_integer(g));
        (void) json_array_append_new(uuids, json_string(uuid));
    }
    (void) json_object_set_new(o, "gpus", idx ? idx : json_array());
    (void) json_object_set_new(o, "gpu_uuids", uuids ? uuids : json_array());
}

static json_t *task_json(const struct api *a, const struct api_task *t)
{
    char id[API_LEASE_ID_MAX], lease[API_LEASE_ID_MAX], ts[64], te[64];

    format_task_id(id, t->id);
    if (t->lease_id)
        api_format_lease_id(lease, t->lease_id);
    usec_t now = now_usec(CLOCK_MONOTONIC), now_real = now_usec(CLOCK_REALTIME);
    json_t *end = json_null();
    if (t->expected_end_usec) {
        usec_t left = t->expected_end_usec > now ? t->expected_end_usec - now : 0;
        end = json_string(format_rfc3339(te, sizeof(te), now_real + left));
    }
    char la[64];
    json_t *o = json_pack("{s:s, s:s, s:o, s:I, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:b, s:o}", "id", id, "task", t->task,
                     "complexity", json_number(t->complexity), "pid", (json_int_t) t->pid, "lease",
                     t->lease_id ? json_string(lease) : json_null(), "started_at",
                     format_rfc3339(ts, sizeof(ts), t->started_real_usec), "expected_end_at", end, "use",
                     use_json(t->use), "peak", use_json(t->peak), "progress_pct", json_number(t->progress_pct),
                     "phase", t->phase[0] ? json_string(t->phase) : json_null(), "stalled", t->stalled,
                     "last_activity_at",
                     t->last_activity_real_usec ? json_string(format_rfc3339(la, sizeof(la), t->last_activity_real_usec))
                                                : json_null());
    if (o) {
        add_gpus_json(a, t, o);
        (void) json_object_set_new(o, "job_id", t->job_id ? json_integer((json_int_t) t->job_id) : json_null());
        (void) json_object_set_new(o, "priority", json_string(sched_priority_to_string((enum sched_priority) t->priority)));
        (void) json_object_set_new(o, "owner_uid", t->has_owner ? json_integer(t->owner_uid) : json_null());
        (void) json_object_set_new(o, "suspended", json_boolean(t->suspended));
        (void) json_object_set_new(o, "suspended_by_protection", json_boolean(t->suspended_by_protection));
        (void) json_object_set_new(o, "limits", api_limits_json(&t->own_limits));
        (void) json_object_set_new(o, "vram_bytes", json_integer((json_int_t) t->vram_bytes));
        (void) json_object_set_new(o, "peak_vram_bytes", json_integer((json_int_t) t->peak_vram_bytes));
    }
    return o;
}

static json_t *waiter_json(const struct waiter *w)
{
    char id[API_LEASE_ID_MAX];
    json_t *waiting = json_array();

    (void) snprintf(id, sizeof(id), "w-%016llx", (unsigned long long) w->id);
    for (int r = 0; waiting && r < _RESOURCE_MAX; r++)
        if (w->waiting & (1u << r))
            (void) json_array_append_new(waiting, json_string(resource_to_string((enum resource) r)));
    if (waiting && w->waiting_for[0])
        (void) json_array_append_new(waiting, json_string(w->waiting_for));
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "waiter", id, "state", w->admitted ? "admitted" : "waiting",
                     "task", w->task.task, "priority", sched_priority_to_string((enum sched_priority) w->task.priority),
                     "position", w->position ? json_integer(w->position) : json_null(), "waiting",
                     waiting ? waiting : json_array());
}

/* GET /v1/waiters: the runs waiting in the queue. */
void handle_v1_waiters(struct api *a, const struct http_request *req, struct http_response *resp)
{
    json_t *arr = json_array();
    for (unsigned i = 0; arr && i < a->n_waiters; i++)
        (void) json_array_append_new(arr, waiter_json(&a->waiters[i]));
    reply_json(resp, 200, json_pack("{s:o}", "waiters", arr ? arr : json_array()));
}

/* GET /v1/waiters/ID: 202 still waiting, 201 admitted (the task, once: it then leaves the queue),
 * 404 gone. DELETE: the client stops waiting. */
void handle_v1_waiter(struct api *a, const struct http_request *req, struct http_response *resp)
{
    const char *s = req->path + strlen("/v1/waiters/");
    char tmp[API_LEASE_ID_MAX];
    uint64_t id;
    struct waiter w;

    if (strlen(s) != 18 || strncmp(s, "w-", 2) != 0) {
        reply_error(resp, 404, "no such waiter");
        return;
    }
    memcpy(tmp, s, 19);
    tmp[0] = 'l';
    if (api_parse_lease_id(tmp, &id) < 0) {
        reply_error(resp, 404, "no such waiter");
        return;
    }
    for (unsigned i = 0; i < a->n_waiters; i++) {
        const struct waiter *x = &a->waiters[i];
        uint32_t uid;
        if (x->id == id && x->task.has_owner && (api_caller_uid(a, req, &uid) < 0 || !api_may_act(uid, true, x->task.owner_uid))) {
            reply_error(resp, 403, "waiter %s is not yours", s);
            return;
        }
    }
    bool give_up = req->method == HTTP_DELETE;
    if (a->hooks.wait_poll(a->hooks.userdata, id, give_up, &w) < 0) {
        reply_error(resp, 404, "no such waiter (it stopped asking for too long, or its client is gone)");
        return;
    }
    if (give_up) {
        reply_json(resp, 200, json_pack("{s:s, s:b}", "waiter", s, "dropped", 1));
        return;
    }
    if (!w.admitted) {
        reply_json(resp, 202, waiter_json(&w));
        return;
    }
    for (unsigned i = 0; i < a->n_tasks; i++)
        if (a->tasks[i].id == w.task_id) {
            reply_json(resp, 201, task_json(a, &a->tasks[i]));
            return;
        }
    reply_error(resp, 404, "the waiter was admitted but its task is gone");
}

static void tasks_list(struct api *a, struct http_response *resp)
{
    json_t *arr = json_array();
    for (unsigned i = 0; arr && i < a->n_tasks; i++)
        (void) json_array_append_new(arr, task_json(a, &a->tasks[i]));
    reply_json(resp, 200, json_pack("{s:o}", "tasks", arr ? arr : json_array()));
}

static void task_start(struct api *a, const struct http_request *req, struct http_response *resp)
{
    static const char *const known[] = { "task", "complexity", "pid", "lease", "needs", "expected_seconds",
                                         "admit", "gpus", "queue", "priority", "limits", "brief" };
    _cleanup_json_ json_t *body = NULL;
    struct api_task t = { 0 }, got;
    const char *task = NULL;
    double pid = 0, expected = 0;
    char err[256];

    int r = object_body(req, &body, err, sizeof(err));
    if (r >= 0)
        r = reject_unknown(body, known, ELEMENTSOF(known), err, sizeof(err));
    if (r >= 0) {
        r = get_task(body, true, &task, err, sizeof(err));
        if (r == -ENOENT)
            (void) snprintf(err, sizeof(err), "task is required");
    }
    if (r >= 0)
        r = get_number(body, "complexity", COMPLEXITY_MAX, &t.complexity, err, sizeof(err));
    if (r >= 0)
        r = get_number(body, "pid", 4194304, &pid, err, sizeof(err));
    if (r >= 0)
        r = get_number(body, "expected_seconds", SECONDS_MAX, &expected, err, sizeof(err));
    if (r >= 0)
        r = api_parse_needs(json_object_get(body, "needs"), &t.declared, err, sizeof(err));
    if (r >= 0)
        r = api_parse_limits(json_object_get(body, "limits"), &t.own_limits, err, sizeof(err));
    json_t *lv = r >= 0 ? json_object_get(body, "lease") : NULL;
    if (lv && !json_is_null(lv) && (!json_is_string(lv) || api_parse_lease_id(json_string_value(lv), &t.lease_id) < 0)) {
        (void) snprintf(err, sizeof(err), "lease must be a lease id such as \"l-0123456789abcdef\"");
        r = -EINVAL;
    }
    json_t *av = r >= 0 ? json_object_get(body, "admit") : NULL;
    json_t *bv0 = r >= 0 ? json_object_get(body, "brief") : NULL;
    if (bv0 && !json_is_boolean(bv0)) {
        (void) snprintf(err, sizeof(err), "brief must be true or false");
        r = -EINVAL;
    }
    if (av && !json_is_boolean(av)) {
        (void) snprintf(err, sizeof(err), "admit must be true or false");
        r = -EINVAL;
    }
    unsigned n_gpus = 0;
    json_t *gv = r >= 0 ? json_object_get(body, "gpus") : NULL;
    if (gv && !json_is_null(gv)) {
        if (!json_is_integer(gv) || json_integer_value(gv) < 1 || json_integer_value(gv) > DECIDE_GPUS_MAX) {
            (void) snprintf(err, sizeof(err), "gpus must be a whole number from 1 to %d", DECIDE_GPUS_MAX);
            r = -EINVAL;
        } else
            n_gpus = (unsigned) json_integer_value(gv);
    }
    if (r >= 0 && n_gpus > 0 && !(av && json_is_true(av))) {
        (void) snprintf(err, sizeof(err), "gpus needs \"admit\": true: GPUs are given at the admission");
        r = -EINVAL;
    }
    json_t *qv = r >= 0 ? json_object_get(body, "queue") : NULL, *pv = r >= 0 ? json_object_get(body, "priority") : NULL;
    bool queue = qv && json_is_true(qv);
    if (qv && !json_is_boolean(qv)) {
        (void) snprintf(err, sizeof(err), "queue must be true or false");
        r = -EINVAL;
    }
    if (r >= 0 && queue && !(av && json_is_true(av))) {
        (void) snprintf(err, sizeof(err), "queue needs \"admit\": true: it waits for its admission");
        r = -EINVAL;
    }
    t.priority = SCHED_PRIORITY_DEFAULT;
    if (r >= 0 && pv && !json_is_null(pv)) {
        enum sched_priority p = sched_priority_from_string(json_string_value(pv));
        if (p < 0) {
            (void) snprintf(err, sizeof(err), "priority must be P0, P1 or P2");
            r = -EINVAL;
        } else
            t.priority = (int) p;
    }
    if (r >= 0 && av && json_is_true(av) && t.lease_id) {
        (void) snprintf(err, sizeof(err), "admit and lease exclude each other: the lease was admitted already");
        r = -EINVAL;
    }
    if (r < 0) {
        a->counters.bad_requests_total++;
        reply_error(resp, 400, "invalid request body: %s", err);
        return;
    }
    (void) snprintf(t.task, sizeof(t.task), "%s", task);

    t.pid = (int64_t) pid;
    /* A wrapper registers its task before it starts the command: until the command's pid is
     * reported, the wrapper itself is what shows the task is still alive. */
    if (req->has_peer_cred && req->peer_pid > 0)
        t.client_pid = req->peer_pid;
    if (req->has_peer_cred) {
        t.has_owner = true;
        t.owner_uid = (uint32_t) req->peer_uid;
    }
    t.expected_seconds = expected;
    if (expected > 0)
        t.expected_end_usec = usec_add(now_usec(CLOCK_MONOTONIC), (usec_t) llround(expected * 1e6));

    /* "admit": ask and start in one step, so that nothing can take the room between the answer
     * and the start: denied, the answer is /v1/ask's (503); admitted, the task holds the lease of
     * its admission from the start. */
    json_t *admission = NULL;
    bool admitted = false;
    /* "brief": the task alone in the answer, without the admission's checks and predictions,
     * for a wrapper that only needs its id, lease and GPUs. */
    json_t *bv = json_object_get(body, "brief");
    bool brief = bv && json_is_true(bv);
    if (av && json_is_true(av)) {
        struct api_admission ad;
        if (!a->ready) {
            reply_error(resp, 503, "no complete sample yet; retry in a second");
            return;
        }
        struct lease l;
        r = api_admit_lease(a, &t, n_gpus, &ad, &l);
        if (r == -ENOSPC) {
            reply_error(resp, 503, "too many leases are held");
            return;
        }
        if (r < 0) {
            reply_error(resp, 500, "cannot read the task's model: %s", strerror(-r));
            return;
        }
        if (r == 0 && queue) {
            /* Denied, and it waits in the queue: the answer says where. */
            struct waiter w;
            r = a->hooks.wait_add(a->hooks.userdata, &t, n_gpus, &w);
            if (r < 0) {
                reply_error(resp, 503, r == -ENOSPC ? "too many runs wait in the queue" : "cannot queue: %s",
                            strerror(-r));
                return;
            }
            json_t *o = waiter_json(&w);
            if (o)
                (void) json_object_set_new(o, "answer", api_ask_answer(a, t.task, t.complexity, &ad, NULL));
            reply_json(resp, 202, o);
            return;
        }
        if (r == 0) {
            json_t *no = api_ask_answer(a, t.task, t.complexity, &ad, NULL);
            if (no && ad.n_gpus_asked > 0 && ad.n_gpus_fit < ad.n_gpus_asked) {
                char msg[160];
                (void) snprintf(msg, sizeof(msg), "%u of the %u GPUs asked for fit (%u GPU%s, not held by another "
                                "task and with room for its need)", ad.n_gpus_fit, ad.n_gpus_asked,
                                a->view->n_gpus, a->view->n_gpus == 1 ? "" : "s");
                (void) json_object_set_new(no, "gpus_fit", json_integer(ad.n_gpus_fit));
                (void) json_object_set_new(no, "message", json_string(msg));
            }
            reply_json(resp, 503, no);
            return;
        }
        admitted = true;
        if (!brief) {
            char id[API_LEASE_ID_MAX], ts[64];
            api_format_lease_id(id, l.id);
            admission = api_ask_answer(a, t.task, t.complexity, &ad,
                                       json_pack("{s:s, s:s, s:o}", "id", id, "expires_at",
                                                 format_rfc3339(ts, sizeof(ts), l.expires_real_usec), "holds",
                                                 api_need_json(&l.reserve)));
        }
    }

    if (!admitted)
        a->hooks.leases_expire(a->hooks.userdata);
    r = a->hooks.task_start(a->hooks.userdata, &t, &got);
    if (r < 0 && admitted) {
        /* Not started: the lease of the admission goes too. */
        (void) a->hooks.lease_release(a->hooks.userdata, t.lease_id);
        json_decref(admission);
        admission = NULL;
    }
    if (r == -ENOENT) {
        reply_error(resp, 404, "no such lease (released or expired)");
        return;
    }
    if (r == -EBUSY) {
        reply_error(resp, 409, "the lease is held by another task");
        return;
    }
    if (r == -ENOSPC) {
        reply_error(resp, 503, "too many supervised tasks are running");
        return;
    }
    if (r == -EPERM) {
        reply_error(resp, 403, "process %.0f is not yours", pid);
        return;
    }
    if (r == -ESRCH) {
        a->counters.bad_requests_total++;
        reply_error(resp, 400, "there is no process %.0f", pid);
        return;
    }
    if (r < 0) {
        reply_error(resp, 500, "cannot start the task: %s", strerror(-r));
        return;
    }
    json_t *o = task_json(a, &got);
    if (o && admission)
        (void) json_object_set_new(o, "admission", admission);
    else
        json_decref(admission);
    reply_json(resp, 201, o);
}

static void task_usage(struct api *a, uint64_t id, const struct http_request *req, struct http_response *resp)
{
    static const char *const known[] = { "rss_bytes", "cpu_pct",  "gpu_pct",   "vram_bytes",    "vram_total_bytes",
                                         "pid",       "stalled",  "last_activity_ms", "threads", "fds",
                                         "processes", "io_read_bps", "io_write_bps" };
    struct api_task_sample sample = { .real_usec = now_usec(CLOCK_REALTIME), .threads = NAN, .fds = NAN,
                                      .processes = NAN, .io_read_bps = NAN, .io_write_bps = NAN };
    _cleanup_json_ json_t *body = NULL;
    double use[_LEARN_RESOURCE_MAX] = { NAN, NAN, NAN, NAN, NAN }, rss = NAN, vram = NAN, vram_total = NAN,
           pid = 0;
    char err[256];

    int r = object_body(req, &body, err, sizeof(err));
    if (r >= 0)
        r = reject_unknown(body, known, ELEMENTSOF(known), err, sizeof(err));
    if (r >= 0)
        r = get_number(body, "cpu_pct", 100000, &use[LEARN_CPU], err, sizeof(err));
    if (r >= 0)
        r = get_number(body, "gpu_pct", 100000, &use[LEARN_GPU], err, sizeof(err));
    if (r >= 0)
        r = get_number(body, "rss_bytes", BYTES_MAX, &rss, err, sizeof(err));
    if (r >= 0)
        r = get_number(body, "vram_bytes", BYTES_MAX, &vram, err, sizeof(err));
    if (r >= 0)
        r = get_number(body, "vram_total_bytes", BYTES_MAX, &vram_total, err, sizeof(err));
    if (r >= 0)
        r = get_number(body, "pid", 4194304, &pid, err, sizeof(err));
    double last_ms = NAN;
    if (r >= 0)
        r = get_number(body, "last_activity_ms", 9.2e15, &last_ms, err, sizeof(err));
    if (r >= 0)
        r = get_number(body, "threads", 4194304, &sample.threads, err, sizeof(err));
    if (r >= 0)
        r = get_number(body, "fds", 1e9, &sample.fds, err, sizeof(err));
    if (r >= 0)
        r = get_number(body, "processes", 4194304, &sample.processes, err, sizeof(err));
    if (r >= 0)
        r = get_number(body, "io_read_bps", BYTES_MAX, &sample.io_read_bps, err, sizeof(err));
    if (r >= 0)
        r = get_number(body, "io_write_bps", BYTES_MAX, &sample.io_write_bps, err, sizeof(err));
    json_t *sv = r >= 0 ? json_object_get(body, "stalled") : NULL;
    if (sv && !json_is_boolean(sv)) {
        (void) snprintf(err, sizeof(err), "stalled must be true or false");
        r = -EINVAL;
    }
    if (r < 0) {
        a->counters.bad_requests_total++;
        reply_error(resp, 400, "invalid request body: %s", err);
        return;
    }
    /* Bytes become percentage points of the machine, the unit everything is learnt in. */
    if (!isnan(rss) && a->view->mem_total_bytes > 0)
        use[LEARN_MEMORY] = 100.0 * rss / (double) a->view->mem_total_bytes;
    if (!isnan(vram) && vram_total > 0)
        use[LEARN_VRAM] = 100.0 * vram / vram_total;
    sample.rss_bytes = rss;
    sample.cpu_pct = use[LEARN_CPU];
    r = a->hooks.task_usage(a->hooks.userdata, id, (int64_t) pid, use, &sample);
    if (r >= 0 && (sv || !isnan(last_ms)))
        r = a->hooks.task_stall(a->hooks.userdata, id, sv && json_is_true(sv),
                                isnan(last_ms) ? 0 : (usec_t) last_ms * USEC_PER_MSEC);
    if (r == -EPERM) {
        reply_error(resp, 403, "process %.0f is not the task's owner's", pid);
        return;
    }
    if (r == -ESRCH) {
        a->counters.bad_requests_total++;
        reply_error(resp, 400, "there is no process %.0f", pid);
        return;
    }
    if (r < 0) {
        reply_error(resp, 404, "no such task");
        return;
    }
    reply_json(resp, 200, json_pack("{s:b}", "updated", 1));
}

static void task_progress(struct api *a, uint64_t id, const struct http_request *req, struct http_response *resp)
{
    static const char *const known[] = { "pct", "phase" };
    _cleanup_json_ json_t *body = NULL;
    double pct = NAN;
    const char *phase = NULL;
    char err[256];

    int r = object_body(req, &body, err, sizeof(err));
    if (r >= 0)
        r = reject_unknown(body, known, ELEMENTSOF(known), err, sizeof(err));
    if (r >= 0)
        r = get_number(body, "pct", 100, &pct, err, sizeof(err));
    if (r >= 0 && isnan(pct)) {
        (void) snprintf(err, sizeof(err), "pct is required (0 to 100)");
        r = -EINVAL;
    }
    json_t *ph = r >= 0 ? json_object_get(body, "phase") : NULL;
    if (ph && !json_is_null(ph)) {
        phase = json_is_string(ph) ? json_string_value(ph) : NULL;
        /* A short label, shown as is: the rules of a task name. */
        if (!phase || strlen(phase) > API_PHASE_MAX || !task_name_is_valid(phase)) {
            (void) snprintf(err, sizeof(err), "phase must be 1-%d bytes without control characters", API_PHASE_MAX);
            r = -EINVAL;
        }
    }
    if (r < 0) {
        a->counters.bad_requests_total++;
        reply_error(resp, 400, "invalid request body: %s", err);
        return;
    }
    if (a->hooks.task_progress(a->hooks.userdata, id, pct, phase) < 0) {
        reply_error(resp, 404, "no such task");
        return;
    }
    reply_json(resp, 200, json_pack("{s:b}", "updated", 1));
}

static void task_end(struct api *a, uint64_t id, const struct http_request *req, struct http_response *resp)
{
    static const char *const known[] = { "duration_sec",    "cpu_sec", "peak_rss_bytes", "peak_vram_bytes",
                                         "vram_total_bytes", "gpu_pct", "io_write_bytes", "exit_code" };
    _cleanup_json_ json_t *body = NULL;
    struct api_task_end e = { .duration_sec = NAN, .cpu_sec = NAN, .gpu_pct = NAN,
                              .peak_rss_bytes = API_BYTES_UNKNOWN, .peak_vram_bytes = API_BYTES_UNKNOWN,
                              .io_write_bytes = API_BYTES_UNKNOWN, .exit_code = -1 };
    double exit_code = -1, vram_total = NAN;
    char err[256];

    int r = object_body(req, &body, err, sizeof(err));
    if (r >= 0)
        r = reject_unknown(body, known, ELEMENTSOF(known), err, sizeof(err));
    if (r >= 0)
        r = get_number(body, "duration_sec", SECONDS_MAX, &e.duration_sec, err, sizeof(err));
    if (r >= 0)
        r = get_number(body, "cpu_sec", SECONDS_MAX * 4096, &e.cpu_sec, err, sizeof(err));
    if (r >= 0)
        r = get_number(body, "gpu_pct", 100, &e.gpu_pct, err, sizeof(err));
    if (r >= 0)
        r = get_bytes(body, "peak_rss_bytes", &e.peak_rss_bytes, err, sizeof(err));
    if (r >= 0)
        r = get_bytes(body, "peak_vram_bytes", &e.peak_vram_bytes, err, sizeof(err));
    if (r >= 0)
        r = get_number(body, "vram_total_bytes", BYTES_MAX, &vram_total, err, sizeof(err));
    if (r >= 0)
        r = get_bytes(body, "io_write_bytes", &e.io_write_bytes, err, sizeof(err));
    if (r >= 0)
        r = get_number(body, "exit_code", 255, &exit_code, err, sizeof(err));
    if (r < 0) {
        a->counters.bad_requests_total++;
        reply_error(resp, 400, "invalid request body: %s", err);
        return;
    }
    e.exit_code = (int) exit_code;
    e.vram_total_bytes = isnan(vram_total) ? 0 : (uint64_t) llround(vram_total);
    r = a->hooks.task_end(a->hooks.userdata, id, &e);
    if (r == -ENOENT) {
        reply_error(resp, 404, "no such task");
        return;
    }
    if (r < 0) {
        reply_error(resp, 500, "the task ended but its figures could not be stored: %s", strerror(-r));
        return;
    }
    reply_json(resp, 200, json_pack("{s:b}", "ended", 1));
}

static json_t *num_or_null(double v)
{
    return isnan(v) ? json_null() : json_real(v);
}

/* GET /v1/tasks/ID: the task, its latest sample and its history (oldest first) as rows of
 * [time_ms, rss_bytes, cpu_pct, threads, fds, processes, io_read_bps, io_write_bps]. */
static void task_get(struct api *a, uint64_t id, const struct http_request *req, struct http_response *resp)
{
    if (req->method != HTTP_GET && req->method != HTTP_HEAD) {
        http_response_header(resp, "Allow", "GET, HEAD");
        reply_error(resp, 405, "a task is read with GET");
        return;
    }
    const struct api_task *t = NULL;
    for (unsigned i = 0; i < a->n_tasks && !t; i++)
        if (a->tasks[i].id == id)
            t = &a->tasks[i];
    if (!t) {
        reply_error(resp, 404, "no such task");
        return;
    }
    json_t *o = task_json(a, t), *rows = json_array(), *last = json_null();
    for (unsigned k = 0; o && rows && k < t->history_len; k++) {
        unsigned at = (t->history_next + API_TASK_HISTORY_MAX - t->history_len + k) % API_TASK_HISTORY_MAX;
        const struct api_task_sample *x = &t->history[at];
        (void) json_array_append_new(
                rows, json_pack("[I, o, o, o, o, o, o, o]", (json_int_t) (x->real_usec / USEC_PER_MSEC),
                                num_or_null(x->rss_bytes), num_or_null(x->cpu_pct), num_or_null(x->threads),
                                num_or_null(x->fds), num_or_null(x->processes), num_or_null(x->io_read_bps),
                                num_or_null(x->io_write_bps)));
        if (k + 1 == t->history_len) {
            char ts[64];
            json_decref(last);
            last = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "at",
                             format_rfc3339(ts, sizeof(ts), x->real_usec), "rss_bytes", num_or_null(x->rss_bytes),
                             "cpu_pct", num_or_null(x->cpu_pct), "threads", num_or_null(x->threads), "fds",
                             num_or_null(x->fds), "processes", num_or_null(x->processes), "io_read_bps",
                             num_or_null(x->io_read_bps), "io_write_bps", num_or_null(x->io_write_bps));
        }
    }
    if (o) {
        (void) json_object_set_new(o, "metrics", last ? last : json_null());
        (void) json_object_set_new(o, "history_columns",
                                   json_pack("[s, s, s, s, s, s, s, s]", "time_ms", "rss_bytes", "cpu_pct", "threads",
                                             "fds", "processes", "io_read_bps", "io_write_bps"));
        (void) json_object_set_new(o, "history", rows ? rows : json_array());
    } else {
        json_decref(rows);
        json_decref(last);
    }
    reply_json(resp, 200, o);
}

void handle_v1_tasks(struct api *a, const struct http_request *req, struct http_response *resp)
{
    if (req->method == HTTP_POST)
        task_start(a, req, resp);
    else
        tasks_list(a, resp);
}

void handle_v1_task(struct api *a, const struct http_request *req, struct http_response *resp)
{
    const char *s = req->path + strlen(TASKS_PREFIX);
    const char *slash = strchr(s, '/');
    uint64_t id;

    if (parse_task_id(s, slash ? (size_t) (slash - s) : strlen(s), &id) < 0) {
        reply_error(resp, 404, "no such task");
        return;
    }
    if (!slash) {
        task_get(a, id, req, resp);
        return;
    }
    if (req->method != HTTP_POST) {
        http_response_header(resp, "Allow", "POST");
        reply_error(resp, 405, "%s is a POST", slash + 1);
        return;
    }
    const struct api_task *t = NULL;
    for (unsigned i = 0; i < a->n_tasks && !t; i++)
        if (a->tasks[i].id == id)
            t = &a->tasks[i];
    /* What a task reports of itself, or asks of it, is for its owner (and root) alone. A task
     * registered by no one in particular (over TCP, without a token of a user's own) takes
     * reports from whoever registered it, but only root and the daemon's own user may act on it. */
    int what = api_control_from_string(slash + 1);
    uint32_t uid;
    if (t && (t->has_owner || what >= 0) &&
        (api_caller_uid(a, req, &uid) < 0 || !api_may_act(uid, t->has_owner, t->owner_uid))) {
        reply_error(resp, 403, "task %.18s is not yours", s);
        return;
    }
    if (what >= 0) {
        int r = a->hooks.task_control(a->hooks.userdata, id, (enum api_control) what);
        if (r < 0) {
            api_reply_control_error(resp, r, "task", slash + 1);
            return;
        }
        for (unsigned i = 0; i < a->n_tasks; i++)
            if (a->tasks[i].id == id) {
                reply_json(resp, 200, task_json(a, &a->tasks[i]));
                return;
            }
        reply_json(resp, 200, json_pack("{s:s}", "id", s));
        return;
    }
    if (strcmp(slash, "/usage") == 0)
        task_usage(a, id, req, resp);
    else if (strcmp(slash, "/progress") == 0)
        task_progress(a, id, req, resp);
    else if (strcmp(slash, "/end") == 0)
        task_end(a, id, req, resp);
    else
        reply_error(resp, 404, "no such endpoint (POST %sID/usage or %sID/end)", TASKS_PREFIX, TASKS_PREFIX);
}
