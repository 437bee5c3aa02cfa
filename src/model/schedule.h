/* SPDX-License-Identifier: MIT */
#pragma once

/* The scheduling policy of the local job queue (`headroom submit`): which queued job, if any, the
 * job runner starts now. Pure: no I/O, no clock reads, no allocation, no logging. The caller
 * passes the time in, says for each job whether admission would let it run right now, and keeps
 * the one piece of state the policy carries between calls (head_since_usec) with the job.
 *
 * All times are on one clock of the caller's choice, in microseconds. Differences saturate at 0,
 * so a job submitted "after" now (a clock stepped back) counts as having waited 0.
 *
 * 1. Priorities with aging. A job has a base priority P0 (0, highest), P1 (1, the default) or P2
 *    (2). Every aging_usec it has waited lowers its number by one, down to 0:
 *
 *        waited    = now_usec - submitted_usec                   (0 when negative)
 *        effective = base - MIN(base, waited / aging_usec)       (integer division)
 *
 *    so a P2 job reaches P0 level after 2 * aging_usec and can no longer be passed by work that
 *    was submitted after it. aging_usec = 0 turns aging off.
 *
 * 2. Order. The queue is ranked by (effective priority, submitted_usec, id), ascending; the
 *    position in the caller's array breaks the remaining ties, so the order is total and the
 *    result depends on nothing but the input. Ids are meant to be unique. Position 0 is the front.
 *
 * 3. Backfill and the head's reservation. The head is the first job in that order that does not
 *    fit (and has not just been started). Jobs ranked before it that fit start normally. Jobs
 *    ranked after it that fit may overtake it (backfill) only while
 *
 *        now_usec - head_since_usec < backfill_limit_usec
 *
 *    where head_since_usec is when that job became the head. Once the limit is reached the head is
 *    reserved: no job ranked after it starts (those that fit are held_by_head) until the head has
 *    started or left the queue. So a large job is not starved by a stream of small ones, while
 *    small ones still use idle capacity for a bounded time. backfill_limit_usec = 0 means no
 *    backfill at all; USEC_INFINITY means backfill forever (the head may starve).
 *
 *    head_since_usec is kept while the job stays the head, and also while it fits but waits for
 *    its turn (another job ranked before it started in this call, or the hard maximum): a job
 *    whose fit flickers keeps its claim. It is cleared (0) when the job starts, or when another
 *    job ranked before it is the head; a job that leaves the queue takes its claim with it, so
 *    the next head starts a fresh window.
 *
 * 4. Concurrency. hard_max: nothing starts while running >= hard_max, P0 jobs included. soft_max:
 *    a start that brings the number running above soft_max is allowed but flagged over_soft, for
 *    the caller to warn. 0 means unlimited for either.
 *
 * 5. One start per call. Starting a job changes the capacity the other jobs' `fits` was judged
 *    on, so sched_plan() starts at most one job; the caller then re-runs admission for the rest
 *    and calls it again (plan, admit, start, re-evaluate fits, plan ...) until nothing starts.
 *    Starting several jobs on stale fits could overcommit the machine; one per call costs only a
 *    loop in the caller. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/time-util.h"

/* The most jobs sched_plan() takes in one call: positions are unsigned and the sort is
 * O(n log n), so a bound keeps one call short. */
#define SCHED_JOBS_MAX (1U << 20)

#define SCHED_AGING_DEFAULT_USEC          (10 * 60 * USEC_PER_SEC)
#define SCHED_BACKFILL_LIMIT_DEFAULT_USEC (30 * 60 * USEC_PER_SEC)

enum sched_priority {
    SCHED_P0,
    SCHED_P1,
    SCHED_P2,
    _SCHED_PRIORITY_MAX,
    _SCHED_PRIORITY_INVALID = -22,
};

#define SCHED_PRIORITY_DEFAULT SCHED_P1

/* "P0", "P1", "P2"; NULL for anything else. */
const char *sched_priority_to_string(enum sched_priority p);
/* The inverse. Accepts "P0".."P2" in either case and the bare digits "0".."2", nothing else (no
 * spaces, no signs); _SCHED_PRIORITY_INVALID for NULL or anything else. */
enum sched_priority sched_priority_from_string(const char *s);

/* What a queued job is doing after sched_plan(). */
enum sched_state {
    SCHED_STATE_START,       /* start it now */
    SCHED_STATE_WAITING,     /* it fits, but waits its turn: another job started in this call */
    SCHED_STATE_NO_FIT,      /* admission would not let it run now */
    SCHED_STATE_HELD,        /* it fits, but is ranked after a reserved head */
    SCHED_STATE_AT_MAX,      /* it fits, but running >= hard_max */
    _SCHED_STATE_MAX,
    _SCHED_STATE_INVALID = -22,
};

/* "start", "waiting", "no-fit", "held", "at-max"; NULL for anything else. */
const char *sched_state_to_string(enum sched_state s);

struct sched_params {
    usec_t aging_usec;            /* one priority level per this much waiting; 0: no aging */
    usec_t backfill_limit_usec;   /* how long a head may be overtaken; see rule 3 */
    unsigned soft_max;            /* running jobs above which a start is flagged; 0: unlimited */
    unsigned hard_max;            /* running jobs at which nothing starts; 0: unlimited */
};

/* Fills *ret with 10 minutes aging, a 30 minutes backfill limit and no concurrency limits. */
void sched_params_default(struct sched_params *ret);

struct sched_job {
    /* Inputs. */
    uint64_t id;
    enum sched_priority priority;
    usec_t submitted_usec;
    bool fits;                    /* admission would let it run right now */

    /* In and out: when the job became the blocked head, 0 when it is not (rule 3). The caller
     * keeps it with the job between calls and passes it back unchanged; 0 for a new job. */
    usec_t head_since_usec;

    /* Outputs, all written by every successful sched_plan(). */
    unsigned position;            /* rank in the order, 0 the front */
    int effective_priority;       /* 0..2 after aging */
    enum sched_state state;
    bool start;                   /* state == SCHED_STATE_START */
    bool over_soft;               /* it starts and takes the running count above soft_max */
    bool head;                    /* it is the head: the first job ranked that does not fit */
    bool reserved;                /* it is the head and its backfill window has run out */
    bool held_by_head;            /* state == SCHED_STATE_HELD */
};

/* Plans one scheduling step for the n queued jobs (rules 1-5 above).
 *
 * jobs: the queue, in any order; borrowed. sched_plan() never reorders the array; it writes the
 * outputs and head_since_usec of every job. running: how many jobs run now. now_usec: the current
 * time, > 0 (0 stands for "never" in head_since_usec). p: NULL for sched_params_default().
 * scratch: n entries the caller owns; on success scratch[k] is the index in jobs of the job at
 * position k, so the caller can list the queue in order.
 *
 * Returns the number of jobs marked to start, 0 or 1, and then, if ret_start is not NULL, stores
 * in *ret_start the index in jobs of that job, or SIZE_MAX when none starts. Returns -EINVAL, and
 * writes nothing at all, when jobs or scratch is NULL with n > 0, n > SCHED_JOBS_MAX, now_usec is
 * 0, or a job's priority is out of range. Runs in O(n log n) time with no allocation; does not
 * log. */
int sched_plan(struct sched_job *jobs, size_t n, unsigned running, usec_t now_usec,
               const struct sched_params *p, size_t *scratch, size_t *ret_start);
