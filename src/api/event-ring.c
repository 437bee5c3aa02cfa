/* SPDX-License-Identifier: MIT */
#include "api/event-ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"

struct event_ring {
    unsigned capacity;
    unsigned start;      /* index of the oldest entry in e[] */
    unsigned count;
    /* Events with seq ≤ floor may exist that the ring does not hold: those before its base, and
     * those it dropped when full. */
    uint64_t floor_seq;
    uint64_t head_seq;   /* newest seq pushed, or the base */
    unsigned max_subs, n_subs;
    struct event_ring_sub *subs;
    struct event_ring_entry e[];
};

static const char *const type_names[_EVENT_TYPE_MAX] = {
    [EVENT_TASK_STARTED] = "task:started",
    [EVENT_TASK_ACTIVE] = "task:active",
    [EVENT_TASK_STALLED] = "task:stalled",
    [EVENT_TASK_HIGH_MEMORY] = "task:high-memory",
    [EVENT_TASK_HIGH_CPU] = "task:high-cpu",
    [EVENT_TASK_CRITICAL_MEMORY] = "task:critical-memory",
    [EVENT_TASK_PROGRESS] = "task:progress",
    [EVENT_TASK_SUSPENDED] = "task:suspended",
    [EVENT_TASK_RESUMED] = "task:resumed",
    [EVENT_TASK_CHECKPOINT] = "task:checkpoint",
    [EVENT_TASK_FINISHED] = "task:finished",
    [EVENT_JOB_QUEUED] = "job:queued",
    [EVENT_JOB_CANCELLED] = "job:cancelled",
    [EVENT_JOB_LOST] = "job:lost",
};

const char *event_type_to_string(enum event_type t)
{
    if ((int) t < 0 || t >= _EVENT_TYPE_MAX)
        return NULL;
    return type_names[t];
}

enum event_type event_type_from_string(const char *s)
{
    if (!s)
        return _EVENT_TYPE_INVALID;
    for (int i = 0; i < _EVENT_TYPE_MAX; i++)
        if (strcmp(s, type_names[i]) == 0)
            return (enum event_type) i;
    return _EVENT_TYPE_INVALID;
}

int event_ring_new(unsigned capacity, unsigned max_subs, struct event_ring **ret)
{
    struct event_ring *r;

    if (capacity == 0 || capacity > EVENT_RING_CAPACITY_MAX)
        return -EINVAL;
    r = calloc(1, sizeof(*r) + (size_t) capacity * sizeof(r->e[0]));
    if (!r)
        return -ENOMEM;
    r->capacity = capacity;
    r->max_subs = max_subs;
    *ret = r;
    return 0;
}

struct event_ring *event_ring_free(struct event_ring *r)
{
    if (!r)
        return NULL;
    while (r->subs)
        event_ring_unsubscribe(r->subs);
    for (unsigned i = 0; i < r->count; i++)
        free(r->e[(r->start + i) % r->capacity].json);
    free(r);
    return NULL;
}

static bool json_bytes_ok(const char *json, size_t len)
{
    /* A line of a Server-Sent Events "data:" field, and a C string. */
    return json && len > 0 && len <= EVENT_JSON_MAX && !memchr(json, '\0', len) &&
           !memchr(json, '\n', len) && !memchr(json, '\r', len);
}

int event_ring_push(struct event_ring *r, uint64_t seq, enum event_type type, uint64_t task_id,
                    uint64_t job_id, const char *json, size_t json_len)
{
    struct event_ring_entry *slot;
    char *copy;

    if (seq == 0 || seq <= r->head_seq || (int) type < 0 || type >= _EVENT_TYPE_MAX ||
        !json_bytes_ok(json, json_len))
        return -EINVAL;
    copy = malloc(json_len + 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, json, json_len);
    copy[json_len] = '\0';

    if (r->count == r->capacity) {
        slot = &r->e[r->start];
        r->floor_seq = MAX(r->floor_seq, slot->seq);
        free(slot->json);
        r->start = (r->start + 1) % r->capacity;
        r->count--;
    }
    slot = &r->e[(r->start + r->count) % r->capacity];
    *slot = (struct event_ring_entry) {
        .seq = seq,
        .type = type,
        .task_id = task_id,
        .job_id = job_id,
        .json = copy,
        .json_len = json_len,
    };
    r->count++;
    r->head_seq = seq;
    return 0;
}

unsigned event_ring_count(const struct event_ring *r)
{
    return r->count;
}

const struct event_ring_entry *event_ring_get(const struct event_ring *r, unsigned i)
{
    if (i >= r->count)
        return NULL;
    return &r->e[(r->start + i) % r->capacity];
}

uint64_t event_ring_first_seq(const struct event_ring *r)
{
    return r->count ? r->e[r->start].seq : 0;
}

uint64_t event_ring_last_seq(const struct event_ring *r)
{
    return r->count ? r->e[(r->start + r->count - 1) % r->capacity].seq : 0;
}

void event_ring_set_base(struct event_ring *r, uint64_t base_seq)
{
    r->floor_seq = MAX(r->floor_seq, base_seq);
    r->head_seq = MAX(r->head_seq, base_seq);
}

uint64_t event_ring_head_seq(const struct event_ring *r)
{
    return r->head_seq;
}

unsigned event_ring_find(const struct event_ring *r, uint64_t after, bool *ret_complete)
{
    unsigned lo = 0, hi = r->count;

    /* Sequence numbers grow along the ring: the first entry above `after` by bisection. */
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;

        if (event_ring_get(r, mid)->seq <= after)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (ret_complete)
        *ret_complete = after >= r->floor_seq;
    return lo;
}

int event_ring_subscribe(struct event_ring *r, struct event_ring_sub *sub)
{
    if (sub->ring)
        return -EALREADY;
    if (r->n_subs >= r->max_subs)
        return -EBUSY;
    sub->ring = r;
    sub->prev = NULL;
    sub->next = r->subs;
    if (r->subs)
        r->subs->prev = sub;
    r->subs = sub;
    r->n_subs++;
    return 0;
}

void event_ring_unsubscribe(struct event_ring_sub *sub)
{
    struct event_ring *r = sub->ring;

    if (!r)
        return;
    if (sub->prev)
        sub->prev->next = sub->next;
    else
        r->subs = sub->next;
    if (sub->next)
        sub->next->prev = sub->prev;
    sub->prev = sub->next = NULL;
    sub->ring = NULL;
    r->n_subs--;
}

unsigned event_ring_n_subs(const struct event_ring *r)
{
    return r->n_subs;
}

struct event_ring_sub *event_ring_subs(const struct event_ring *r)
{
    return r->subs;
}
