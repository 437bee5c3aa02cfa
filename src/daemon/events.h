/* SPDX-License-Identifier: MIT */
#pragma once

/* The daemon's event log: task and job events numbered in order, kept in memory (the API's ring,
 * api/event-ring.h), stored (the events table, the newest max_stored), sent to open streams, and
 * handed to the hook configured for their type (daemon/hooks.h). */

#include <jansson.h>
#include <stdint.h>

#include "api/api.h"
#include "api/event-ring.h"
#include "loop/loop.h"

struct store;
struct events;

struct events_options {
    unsigned max_stored;                  /* events.max_stored: the newest kept in the store */
    unsigned hook_timeout_sec;            /* hooks.timeout_sec, ≥ 1 */
    unsigned hooks_max_running;           /* hooks.max_running, ≥ 1 */
    const char *hooks[_EVENT_TYPE_MAX];   /* hooks.<type>: a shell command, NULL or "" none;
                                           * copied */
};

/* The config key of a type's hook below "hooks.": the type with ':' and '-' as '_'
 * ("task_high_memory"). NULL for a type out of range. */
const char *events_hook_key(enum event_type t);

/* The event log of the daemon. Creates the ring (capacity EVENT_RING_DEFAULT_CAPACITY) and sets
 * api->events to it; seqs continue after the last stored one. store may be NULL (nothing is
 * stored). The loop runs the hooks. Everything passed is borrowed and must outlive the result.
 * 0, -EINVAL, -ENOMEM, or the store's -errno when its last seq cannot be read (logged). */
int events_new(struct loop *loop, struct store *store, struct api *api, const struct events_options *o,
               struct events **ret);

/* Unsets api->events, frees the ring, kills hooks still running. The HTTP server must be freed
 * first (its open streams read the ring). Takes NULL, returns NULL. */
struct events *events_free(struct events *ev);

/* New options (on reload). 0, -EINVAL, -ENOMEM (the old ones stay). */
int events_set_options(struct events *ev, const struct events_options *o);

/* Emits an event of type (one of the names of api/event-ring.h) about supervised task task_id
 * (0 none) and job job_id (0 none) named task (NULL none). fields (its reference is stolen; NULL
 * none) are extra members merged into the event object; seq, time, type, task_id, job_id and task
 * cannot be overridden. The event gets the next seq and the current time, goes to the ring and
 * the open streams at once, to the store at the next events_flush(), and starts the type's hook
 * if one is configured. Returns 0, or
 * -EINVAL (unknown type), -E2BIG (the event is larger than EVENT_JSON_MAX), -ENOMEM: the event is
 * then dropped (logged at debug level only; the caller decides). */
int events_emit(struct events *ev, const char *type, uint64_t task_id, uint64_t job_id, const char *task,
                    json_t *fields);

/* Writes the events emitted since the last call to the store, in one transaction (the daemon
 * calls it each tick, and events_free() at the end): an event is in the ring and the streams at
 * once, in the store within a tick. A failure is logged once until the store works again. */
void events_flush(struct events *ev);

/* The seq of the newest event, 0 when none. */
uint64_t events_last_seq(const struct events *ev);
