/* SPDX-License-Identifier: MIT */
#include "model/schedule.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <strings.h>

#include "basic/macro.h"

static const char *const priority_names[_SCHED_PRIORITY_MAX] = {
    [SCHED_P0] = "P0",
    [SCHED_P1] = "P1",
    [SCHED_P2] = "P2",
};

const char *sched_priority_to_string(enum sched_priority p)
{
    if (p < 0 || p >= _SCHED_PRIORITY_MAX)
        return NULL;
    return priority_names[p];
}

enum sched_priority sched_priority_from_string(const char *s)
{
    if (!s)
        return _SCHED_PRIORITY_INVALID;
    for (int i = 0; i < _SCHED_PRIORITY_MAX; i++) {
        /* "P1" or "p1" is the name; "1" is the bare level, as `nice`-style options take it. */
        if (strcasecmp(s, priority_names[i]) == 0 || strcmp(s, priority_names[i] + 1) == 0)
            return (enum sched_priority) i;
    }
    return _SCHED_PRIORITY_INVALID;
}

static const char *const state_names[_SCHED_STATE_MAX] = {
    [SCHED_STATE_START] = "start",
    [SCHED_STATE_WAITING] = "waiting",
    [SCHED_STATE_NO_FIT] = "no-fit",
    [SCHED_STATE_HELD] = "held",
    [SCHED_STATE_AT_MAX] = "at-max",
};

const char *sched_state_to_string(enum sched_state s)
{
    if (s < 0 || s >= _SCHED_STATE_MAX)
        return NULL;
    return state_names[s];
}

void sched_params_default(struct sched_params *ret)
{
    *ret = (struct sched_params) {
        .aging_usec = SCHED_AGING_DEFAULT_USEC,
        .backfill_limit_usec = SCHED_BACKFILL_LIMIT_DEFAULT_USEC,
        .soft_max = 0,
        .hard_max = 0,
    };
}

static usec_t elapsed(usec_t now, usec_t since)
{
    return now > since ? now - since : 0;
}

static int effective_priority(const struct sched_job *j, usec_t now, usec_t aging_usec)
{
    usec_t steps;

    if (aging_usec == 0)
        return (int) j->priority;
    steps = elapsed(now, j->submitted_usec) / aging_usec;
    return steps >= (usec_t) j->priority ? 0 : (int) j->priority - (int) steps;
}

/* The rank order of rule 2: true when jobs[a] goes before jobs[b]. effective_priority must have
 * been written already. The index is the last key, so no two entries compare equal. */
static bool before(const struct sched_job *jobs, size_t a, size_t b)
{
    const struct sched_job *x = &jobs[a], *y = &jobs[b];

    if (x->effective_priority != y->effective_priority)
        return x->effective_priority < y->effective_priority;
    if (x->submitted_usec != y->submitted_usec)
        return x->submitted_usec < y->submitted_usec;
    if (x->id != y->id)
        return x->id < y->id;
    return a < b;
}

static void sift_down(const struct sched_job *jobs, size_t *v, size_t root, size_t n)
{
    for (;;) {
        size_t child = 2 * root + 1, t;

        if (child >= n)
            return;
        if (child + 1 < n && before(jobs, v[child], v[child + 1]))
            child++;
        if (!before(jobs, v[root], v[child]))
            return;
        t = v[root];
        v[root] = v[child];
        v[child] = t;
        root = child;
    }
}

/* Heapsort of the index array: in place (the caller's scratch is all the memory there is),
 * O(n log n) in the worst case, and deterministic because before() is a total order. */
static void sort_indices(const struct sched_job *jobs, size_t *v, size_t n)
{
    if (n < 2)
        return;
    for (size_t i = n / 2; i-- > 0;)
        sift_down(jobs, v, i, n);
    for (size_t end = n - 1; end > 0; end--) {
        size_t t = v[0];

        v[0] = v[end];
        v[end] = t;
        sift_down(jobs, v, 0, end);
    }
}

int sched_plan(struct sched_job *jobs, size_t n, unsigned running, usec_t now_usec,
               const struct sched_params *p, size_t *scratch, size_t *ret_start)
{
    struct sched_params defaults;
    size_t start_index = SIZE_MAX;
    bool head_seen = false, reserved = false;

    if (n > 0 && (!jobs || !scratch))
        return -EINVAL;
    if (n > SCHED_JOBS_MAX || now_usec == 0)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (jobs[i].priority < 0 || jobs[i].priority >= _SCHED_PRIORITY_MAX)
            return -EINVAL;
    if (!p) {
        sched_params_default(&defaults);
        p = &defaults;
    }

    for (size_t i = 0; i < n; i++) {
        jobs[i].effective_priority = effective_priority(&jobs[i], now_usec, p->aging_usec);
        scratch[i] = i;
    }
    sort_indices(jobs, scratch, n);

    for (size_t k = 0; k < n; k++) {
        struct sched_job *j = &jobs[scratch[k]];

        j->position = (unsigned) k;
        j->start = j->over_soft = j->head = j->reserved = j->held_by_head = false;

        if (!j->fits) {
            j->state = SCHED_STATE_NO_FIT;
            if (head_seen) {
                /* Ranked after the head: not the head, so no claim to keep. */
                j->head_since_usec = 0;
                continue;
            }
            head_seen = true;
            j->head = true;
            if (j->head_since_usec == 0)
                j->head_since_usec = now_usec;
            j->reserved = reserved =
                elapsed(now_usec, j->head_since_usec) >= p->backfill_limit_usec;
            continue;
        }

        /* It fits. Behind a head it has no claim of its own; before one it keeps any claim from
         * an earlier call, so a head whose fit flickers does not restart its window. */
        if (head_seen)
            j->head_since_usec = 0;

        if (reserved)
            j->state = SCHED_STATE_HELD;
        else if (p->hard_max > 0 && running >= p->hard_max)
            j->state = SCHED_STATE_AT_MAX;
        else if (start_index != SIZE_MAX)
            j->state = SCHED_STATE_WAITING;
        else {
            j->state = SCHED_STATE_START;
            j->start = true;
            j->head_since_usec = 0;
            /* running + 1 > soft_max, written so that it cannot overflow. */
            j->over_soft = p->soft_max > 0 && running >= p->soft_max;
            /* Counted at once, so the jobs after it see the hard maximum it brings closer. */
            if (running < UINT_MAX)
                running++;
            start_index = scratch[k];
        }
        j->held_by_head = j->state == SCHED_STATE_HELD;
    }

    if (ret_start)
        *ret_start = start_index;
    return start_index != SIZE_MAX;
}
