/* SPDX-License-Identifier: MIT */
#pragma once

/* The newest events of the event log, in memory: each kept as the JSON line clients get, beside
 * the fields a reader filters and resumes on, so GET /v1/events and its streams answer "the
 * events after N" without SQLite for recent ones. Pure: no I/O, no clock. The daemon owns the
 * ring (events_emit() pushes), the API reads it.
 *
 * The ring also keeps the list of its subscribers, the open event streams, bounded by a maximum:
 * that keeps every reader of one event log in one place, and the daemon's push does not need to
 * know about HTTP. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The event types of the log, as in docs/API.md. The names are the "type" of the JSON. */
enum event_type {
    EVENT_TASK_STARTED,
    EVENT_TASK_ACTIVE,
    EVENT_TASK_STALLED,
    EVENT_TASK_HIGH_MEMORY,
    EVENT_TASK_HIGH_CPU,
    EVENT_TASK_CRITICAL_MEMORY,
    EVENT_TASK_PROGRESS,
    EVENT_TASK_SUSPENDED,
    EVENT_TASK_RESUMED,
    EVENT_TASK_CHECKPOINT,
    EVENT_TASK_FINISHED,
    EVENT_JOB_QUEUED,
    EVENT_JOB_CANCELLED,
    EVENT_JOB_LOST,
    _EVENT_TYPE_MAX,
    _EVENT_TYPE_INVALID = -EINVAL,
};

/* The longest type name, without its NUL ("task:critical-memory" is 20). */
#define EVENT_TYPE_NAME_MAX 31

/* "task:started" ...; NULL for a value out of range. */
const char *event_type_to_string(enum event_type t);
/* The type of a name (exact match), _EVENT_TYPE_INVALID for any other string or NULL. */
enum event_type event_type_from_string(const char *s);

/* The largest serialized event accepted (the store's limit too). */
#define EVENT_JSON_MAX (16U * 1024U)
/* Events kept by default: at a few hundred bytes each, about half a megabyte. */
#define EVENT_RING_DEFAULT_CAPACITY 1024U
#define EVENT_RING_CAPACITY_MAX     (1U << 20)

struct event_ring_entry {
    uint64_t seq;
    enum event_type type;
    uint64_t task_id, job_id;  /* 0 none */
    char *json;                /* one line, no newline, NUL-terminated; owned by the ring */
    size_t json_len;
};

/* A reader that wants to hear of new events (an open stream). Embedded in the reader's own
 * object; the ring links it and never frees it. ring is NULL once the reader is unsubscribed or
 * the ring was freed under it. */
struct event_ring_sub {
    struct event_ring *ring;
    struct event_ring_sub *prev, *next;
};

struct event_ring;

/* A ring of capacity entries (1..EVENT_RING_CAPACITY_MAX) taking at most max_subs subscribers.
 * 0, -EINVAL, -ENOMEM. Does not log. */
int event_ring_new(unsigned capacity, unsigned max_subs, struct event_ring **ret);
/* Frees the ring and its entries; subscribers still linked are unlinked (their ring set to NULL).
 * Takes NULL, returns NULL. */
struct event_ring *event_ring_free(struct event_ring *r);

/* Appends a copy of json (json_len bytes, no NUL or newline inside, 1..EVENT_JSON_MAX) as event
 * seq, dropping the oldest entry when the ring is full. Returns 0, -EINVAL (seq 0 or not above
 * the newest held, a type out of range, bad json bytes) or -ENOMEM (the ring is unchanged). */
int event_ring_push(struct event_ring *r, uint64_t seq, enum event_type type, uint64_t task_id,
                    uint64_t job_id, const char *json, size_t json_len);

/* The number of entries held, and the i-th oldest (i < count), borrowed until the next push. */
unsigned event_ring_count(const struct event_ring *r);
const struct event_ring_entry *event_ring_get(const struct event_ring *r, unsigned i);

/* The seq of the oldest and the newest entry held; 0 when empty. */
uint64_t event_ring_first_seq(const struct event_ring *r);
uint64_t event_ring_last_seq(const struct event_ring *r);

/* Tells the ring that events up to base_seq may exist outside it (the daemon calls it at start
 * with the last stored seq): readers after an older seq then look in the store first. */
void event_ring_set_base(struct event_ring *r, uint64_t base_seq);
/* The newest seq ever pushed, or the base when nothing was: the log's current end. */
uint64_t event_ring_head_seq(const struct event_ring *r);

/* The index of the oldest entry with seq > after, or event_ring_count() when none. *ret_complete
 * (may be NULL) tells whether the ring holds every event with seq > after: false when older ones
 * were dropped from the ring or came before its base (they can only be in the store). */
unsigned event_ring_find(const struct event_ring *r, uint64_t after, bool *ret_complete);

/* Links sub. 0, -EBUSY when max_subs are linked, -EALREADY when sub is linked. */
int event_ring_subscribe(struct event_ring *r, struct event_ring_sub *sub);
/* Unlinks sub; a sub that is not linked (ring NULL) is left alone. */
void event_ring_unsubscribe(struct event_ring_sub *sub);
unsigned event_ring_n_subs(const struct event_ring *r);
/* The first linked subscriber, NULL when none; walk on with sub->next. Take next before
 * unlinking the current one. */
struct event_ring_sub *event_ring_subs(const struct event_ring *r);
