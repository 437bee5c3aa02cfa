/* SPDX-License-Identifier: MIT */
#include "daemon/events.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "basic/time-util.h"
#include "daemon/hooks.h"
#include "store/store.h"

/* Open event streams at once; one more gets 503. */
#define EVENT_STREAMS_MAX 64U

struct events {
    struct store *store;
    struct api *api;
    struct event_ring *ring;
    struct hooks *hooks;
    unsigned max_stored;
    char *hook_cmd[_EVENT_TYPE_MAX];
    uint64_t last_seq;
    bool store_failing;    /* a failure was logged; the next success says so */
    /* Events not stored yet: written by events_flush() in one transaction, off the path of the
     * request that caused them. At most EVENTS_PENDING_MAX; beyond, the oldest are stored at
     * once. */
    struct store_event *pending;
    unsigned n_pending;
};

#define EVENTS_PENDING_MAX 1024U

static const char *const hook_keys[_EVENT_TYPE_MAX] = {
    [EVENT_TASK_STARTED] = "task_started",
    [EVENT_TASK_ACTIVE] = "task_active",
    [EVENT_TASK_STALLED] = "task_stalled",
    [EVENT_TASK_HIGH_MEMORY] = "task_high_memory",
    [EVENT_TASK_HIGH_CPU] = "task_high_cpu",
    [EVENT_TASK_CRITICAL_MEMORY] = "task_critical_memory",
    [EVENT_TASK_PROGRESS] = "task_progress",
    [EVENT_TASK_SUSPENDED] = "task_suspended",
    [EVENT_TASK_RESUMED] = "task_resumed",
    [EVENT_TASK_CHECKPOINT] = "task_checkpoint",
    [EVENT_TASK_FINISHED] = "task_finished",
    [EVENT_JOB_QUEUED] = "job_queued",
    [EVENT_JOB_CANCELLED] = "job_cancelled",
    [EVENT_JOB_LOST] = "job_lost",
};

const char *events_hook_key(enum event_type t)
{
    if ((int) t < 0 || t >= _EVENT_TYPE_MAX)
        return NULL;
    return hook_keys[t];
}

static void free_cmds(char *cmds[_EVENT_TYPE_MAX])
{
    for (int t = 0; t < _EVENT_TYPE_MAX; t++) {
        free(cmds[t]);
        cmds[t] = NULL;
    }
}

static int copy_cmds(const struct events_options *o, char *ret[_EVENT_TYPE_MAX])
{
    char *cmds[_EVENT_TYPE_MAX] = { 0 };

    for (int t = 0; t < _EVENT_TYPE_MAX; t++) {
        if (!o->hooks[t] || !o->hooks[t][0])
            continue;
        cmds[t] = strdup(o->hooks[t]);
        if (!cmds[t]) {
            free_cmds(cmds);
            return -ENOMEM;
        }
    }
    memcpy(ret, cmds, sizeof(cmds));
    return 0;
}

int events_new(struct loop *loop, struct store *store, struct api *api, const struct events_options *o,
               struct events **ret)
{
    struct events *ev;
    int r;

    if (!loop || !api || !o || o->hook_timeout_sec == 0 || o->hooks_max_running == 0)
        return -EINVAL;
    ev = calloc(1, sizeof(*ev));
    if (!ev)
        return -ENOMEM;
    ev->store = store;
    ev->api = api;
    ev->max_stored = o->max_stored;
    ev->pending = calloc(EVENTS_PENDING_MAX, sizeof(*ev->pending));
    if (!ev->pending) {
        free(ev);
        return -ENOMEM;
    }

    if (store) {
        r = store_last_event_seq(store, &ev->last_seq);
        if (r < 0) {
            free(ev->pending);
            free(ev);
            return log_error_errno(r, "Failed to read the last stored event: %s", store_last_error(store));
        }
    }
    r = copy_cmds(o, ev->hook_cmd);
    if (r >= 0)
        r = hooks_new(loop, o->hook_timeout_sec, o->hooks_max_running, &ev->hooks);
    if (r >= 0)
        r = event_ring_new(EVENT_RING_DEFAULT_CAPACITY, EVENT_STREAMS_MAX, &ev->ring);
    if (r < 0) {
        events_free(ev);
        return r;
    }
    /* Events up to the last stored one are in the store only. */
    event_ring_set_base(ev->ring, ev->last_seq);
    api->events = ev->ring;
    *ret = ev;
    return 0;
}

struct events *events_free(struct events *ev)
{
    if (!ev)
        return NULL;
    /* What was emitted goes to the store before the daemon stops. */
    events_flush(ev);
    for (unsigned i = 0; ev->pending && i < ev->n_pending; i++)
        free((char *) ev->pending[i].data);
    free(ev->pending);
    if (ev->api && ev->api->events == ev->ring)
        ev->api->events = NULL;
    ev->ring = event_ring_free(ev->ring);
    ev->hooks = hooks_free(ev->hooks);
    free_cmds(ev->hook_cmd);
    free(ev);
    return NULL;
}

int events_set_options(struct events *ev, const struct events_options *o)
{
    char *cmds[_EVENT_TYPE_MAX] = { 0 };
    int r;

    if (o->hook_timeout_sec == 0 || o->hooks_max_running == 0)
        return -EINVAL;
    r = copy_cmds(o, cmds);
    if (r < 0)
        return r;
    (void) hooks_set_limits(ev->hooks, o->hook_timeout_sec, o->hooks_max_running);
    free_cmds(ev->hook_cmd);
    memcpy(ev->hook_cmd, cmds, sizeof(cmds));
    ev->max_stored = o->max_stored;
    return 0;
}

uint64_t events_last_seq(const struct events *ev)
{
    return ev->last_seq;
}

/* RFC 3339 in UTC with milliseconds, as the rest of the /v1 API writes times. */
static void format_time_ms(char *buf, size_t len, usec_t realtime_usec)
{
    time_t sec = (time_t) (realtime_usec / USEC_PER_SEC);
    struct tm tm;
    char date[32];

    if (!gmtime_r(&sec, &tm) || strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        (void) snprintf(buf, len, "1970-01-01T00:00:00.000Z");
        return;
    }
    (void) snprintf(buf, len, "%s.%03uZ", date, (unsigned) (realtime_usec % USEC_PER_SEC / USEC_PER_MSEC));
}

static json_t *build_event(uint64_t seq, usec_t real_usec, const char *type, uint64_t task_id, uint64_t job_id,
                           const char *task, json_t *fields)
{
    char when[48], tid[24];
    json_t *o = json_object();

    if (!o)
        return NULL;
    format_time_ms(when, sizeof(when), real_usec);
    (void) snprintf(tid, sizeof(tid), "t-%016" PRIx64, task_id);
    if (json_object_set_new(o, "seq", json_integer((json_int_t) seq)) < 0 ||
        json_object_set_new(o, "time", json_string(when)) < 0 ||
        json_object_set_new(o, "type", json_string(type)) < 0 ||
        json_object_set_new(o, "task_id", task_id ? json_string(tid) : json_null()) < 0 ||
        json_object_set_new(o, "job_id", job_id ? json_integer((json_int_t) job_id) : json_null()) < 0 ||
        json_object_set_new(o, "task", task ? json_string(task) : json_null()) < 0 ||
        (fields && json_object_update_missing(o, fields) < 0)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

void events_flush(struct events *ev)
{
    if (!ev || !ev->store || ev->n_pending == 0)
        return;
    int r = store_append_events(ev->store, ev->pending, ev->n_pending, ev->max_stored);
    if (r < 0 && !ev->store_failing) {
        log_warning_errno(r, "Failed to store events %" PRIu64 "-%" PRIu64 ", keeping events in memory only "
                          "until the store works again: %s", ev->pending[0].seq,
                          ev->pending[ev->n_pending - 1].seq, store_last_error(ev->store));
        ev->store_failing = true;
    } else if (r >= 0 && ev->store_failing) {
        log_info("Events are stored again (from event %" PRIu64 ").", ev->pending[0].seq);
        ev->store_failing = false;
    }
    /* Not stored: kept for the next flush, so that no number is given twice after a restart.
     * When the store stays down for a whole queue's worth, the older half goes (said once). */
    unsigned drop = ev->n_pending;
    if (r < 0)
        drop = ev->n_pending < EVENTS_PENDING_MAX ? 0 : EVENTS_PENDING_MAX / 2;
    for (unsigned i = 0; i < drop; i++)
        free((char *) ev->pending[i].data);
    memmove(ev->pending, ev->pending + drop, (ev->n_pending - drop) * sizeof(*ev->pending));
    ev->n_pending -= drop;
}

int events_emit(struct events *ev, const char *type, uint64_t task_id, uint64_t job_id, const char *task,
                json_t *fields)
{
    _cleanup_(json_decrefp) json_t *extra = fields;
    _cleanup_(json_decrefp) json_t *obj = NULL;
    _cleanup_free_ char *line = NULL;
    enum event_type t = event_type_from_string(type);
    usec_t real_usec = now_usec(CLOCK_REALTIME);
    uint64_t seq;
    size_t len;
    int r;

    if ((int) t < 0 || (fields && !json_is_object(fields)) || task_id > (uint64_t) INT64_MAX ||
        job_id > (uint64_t) INT64_MAX)
        return -EINVAL;
    seq = ev->last_seq + 1;

    obj = build_event(seq, real_usec, type, task_id, job_id, task, extra);
    if (!obj)
        return -ENOMEM;
    /* Compact: one line, as a Server-Sent Events "data:" field needs (strings escape their
     * newlines). */
    line = json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(10));
    if (!line)
        return -ENOMEM;
    len = strlen(line);
    if (len > EVENT_JSON_MAX) {
        log_debug("events: a %s event of %zu bytes is too large, dropped", type, len);
        return -E2BIG;
    }

    r = event_ring_push(ev->ring, seq, t, task_id, job_id, line, len);
    if (r < 0)
        return r;
    ev->last_seq = seq;

    if (ev->store) {
        if (ev->n_pending >= EVENTS_PENDING_MAX)
            events_flush(ev);
        if (ev->n_pending >= EVENTS_PENDING_MAX) {
            /* The store refuses them all: the oldest waiting one is not stored. */
            free((char *) ev->pending[0].data);
            memmove(ev->pending, ev->pending + 1, (ev->n_pending - 1) * sizeof(*ev->pending));
            ev->n_pending--;
        }
        char *copy = ev->pending ? strdup(line) : NULL;
        if (copy && ev->n_pending < EVENTS_PENDING_MAX) {
            struct store_event *se = &ev->pending[ev->n_pending++];
            *se = (struct store_event) {
                .seq = seq,
                .time_ms = (int64_t) (real_usec / USEC_PER_MSEC),
                .task_id = task_id,
                .job_id = job_id,
                .data = copy,
            };
            (void) snprintf(se->type, sizeof(se->type), "%s", type);
        } else {
            free(copy);
            log_debug("events: out of memory, event %" PRIu64 " is kept in memory only", seq);
        }
    }

    api_events_appended(ev->api);

    if (ev->hook_cmd[t]) {
        /* With a final newline, so that line-oriented tools (sh's read) take the whole event. */
        char *nl = realloc(line, len + 2);

        if (!nl) {
            log_warning("Out of memory, the hook for event %" PRIu64 " (%s) is not run.", seq, type);
            return 0;
        }
        line = nl;
        line[len] = '\n';
        line[len + 1] = '\0';
        (void) hooks_run(ev->hooks, ev->hook_cmd[t], type, line, len + 1);
    }
    return 0;
}
