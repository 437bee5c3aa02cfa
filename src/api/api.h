/* SPDX-License-Identifier: MIT */
#pragma once

/* The HTTP API: capfox's endpoints with capfox's shapes, headroom's /v1 endpoints, Prometheus
 * metrics and the test-only metric injection. The daemon owns every object referenced here and
 * keeps them current; the handlers only read them, and act through the hooks. */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/http-server.h"
#include "config/config.h"
#include "config/user-tokens.h"
#include "metrics/snapshot.h"
#include "model/admit.h"
#include "model/decide.h"
#include "model/lease.h"
#include "model/protect.h"
#include "model/history.h"
#include "basic/parse-util.h"
#include "basic/time-util.h"

struct store;
struct event_ring;

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
    uint64_t asks_insufficient_data_total;
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

#define LEASE_SECONDS_MAX 86400

/* One sample of a supervised task, as its supervisor reports it. Unknown values: NaN. */
struct api_task_sample {
    usec_t real_usec;                     /* CLOCK_REALTIME, when it arrived */
    double rss_bytes;                     /* its whole process tree (or its cgroup) */
    double cpu_pct;                       /* percent of the machine */
    double threads, fds, processes;
    double io_read_bps, io_write_bps;     /* bytes per second that reached the block layer */
};

/* Samples kept per task: five minutes at one a second. */
#define API_TASK_HISTORY_MAX 300

/* A task headroom supervises (headroom run, a background job): it says when it starts and ends,
 * and reports its own use, so its figures are exact rather than inferred from the machine. */
struct api_task {
    uint64_t id;
    char task[TASK_NAME_MAX + 1];
    double complexity;
    int64_t pid;                          /* 0 unknown */
    uint64_t pid_start_ticks;             /* pid's start time when it was taken (pid reuse) */
    bool pid_verified;                    /* pid belongs to the owner: the daemon may signal
                                           * and freeze its group (see tasks.c) */
    int64_t client_pid;                   /* the process that started it over the Unix socket
                                           * (SO_PEERCRED), 0 unknown: watched until pid is known */
    uint64_t lease_id;                    /* the lease it holds, 0 none */
    struct decide_need declared;
    usec_t started_usec;                  /* CLOCK_MONOTONIC */
    usec_t started_real_usec;
    usec_t expected_end_usec;             /* CLOCK_MONOTONIC; 0 unknown (from its timeout) */
    double use[_LEARN_RESOURCE_MAX];      /* last reported, percentage points; NaN unknown */
    double peak[_LEARN_RESOURCE_MAX];     /* most reported */
    double progress_pct;                  /* NaN: never reported */
    char phase[64];                       /* "" none */
    usec_t progress_usec;                 /* CLOCK_MONOTONIC of the last progress report */
    bool stalled;                         /* its supervisor says it stalled */
    usec_t last_activity_real_usec;       /* when it last wrote or used CPU, as reported; 0 unknown */
    bool has_owner;                       /* owner_uid is known (a Unix socket, or a job) */
    uint32_t owner_uid;                   /* who may suspend, resume or cancel it (and root) */
    int64_t job_id;                       /* the job it runs, 0 none */
    int priority;                         /* 0..2 (P0..P2): a job's, else P1 */
    bool suspended;                       /* stopped by headroom (cgroup.freeze or SIGSTOP) */
    bool suspended_by_protection;         /* ... by protective mode, which resumes it */
    usec_t kill_at_usec;                  /* cancelled: SIGKILL to its group then (monotonic),
                                           * 0 none */
    bool cancelling;                      /* its job is being cancelled */
    bool from_queue;                      /* a run admitted from the queue (run --wait): counts
                                           * against jobs.hard_max like a job */
    struct protect_limit_state limits;    /* high-memory, critical-memory, high-cpu in force */
    struct protect_limits own_limits;     /* its own limits ("limits"), over the global ones; 0
                                           * fields: the global ones. cpu_soft_pct is of the
                                           * machine here */
    struct api_task_sample *history;      /* API_TASK_HISTORY_MAX slots, a ring, NULL before the
                                           * first sample; owned by the daemon's table */
    unsigned history_len, history_next;
    int checkpoint_signal;                /* protective mode sends it before suspending, 0 none */
    usec_t checkpoint_grace_usec;
    double expected_seconds;              /* its timeout, for a waiter (0 none) */
    uint64_t vram_bytes, peak_vram_bytes; /* what its processes hold on the GPUs (the daemon's
                                           * NVML view), now and at most */
    unsigned n_gpus;                      /* the GPUs admitted for it ("gpus": N), 0 none */
    int gpus[DECIDE_GPUS_MAX];            /* their indices, most headroom first */
};

#define API_PHASE_MAX 63

/* What a supervised task measured of itself, at its end. Unknown values: NaN, or
 * API_BYTES_UNKNOWN. */
#define API_BYTES_UNKNOWN UINT64_MAX
struct api_task_end {
    double duration_sec;                  /* wall time */
    double cpu_sec;                       /* user + system, whole tree */
    uint64_t peak_rss_bytes;              /* whole tree (cgroup memory.peak where available) */
    uint64_t peak_vram_bytes;
    uint64_t vram_total_bytes;            /* of its GPU, to express VRAM in percent; 0 unknown */
    double gpu_pct;                       /* mean utilization of its GPU */
    uint64_t io_write_bytes;
    int exit_code;                        /* -1 unknown */
};

/* A background job (headroom submit), as the daemon's queue holds it. */
enum api_job_state {
    API_JOB_QUEUED,
    API_JOB_RUNNING,
    API_JOB_SUSPENDED,
    API_JOB_DONE,          /* exited 0 */
    API_JOB_FAILED,        /* exited non-zero, or could not start */
    API_JOB_CANCELLED,
    API_JOB_LOST,          /* the daemon lost track of it (reason says how) */
    _API_JOB_STATE_MAX,
    _API_JOB_STATE_INVALID = -22,
};

const char *api_job_state_to_string(enum api_job_state s);
enum api_job_state api_job_state_from_string(const char *s);
static inline bool api_job_state_is_finished(enum api_job_state s)
{
    return s >= API_JOB_DONE;
}

#define API_JOB_REASON_MAX 255

struct api_job {
    int64_t id;
    enum api_job_state state;
    int priority;                         /* 0..2: P0..P2 */
    uint32_t uid, gid;                    /* it runs as them */
    char task[TASK_NAME_MAX + 1];
    double complexity;
    char *spec;                           /* the submitted request, JSON (argv, cwd, env, needs,
                                           * options), owned by the daemon */
    struct decide_need declared;          /* its "needs", read from spec once (the queue asks
                                           * admission about it every tick) */
    unsigned n_gpus;                      /* its "gpus", 0 none */
    usec_t submitted_real_usec, started_real_usec, ended_real_usec; /* 0: not yet */
    usec_t submitted_usec;                /* CLOCK_MONOTONIC, for the queue's aging */
    int64_t wrapper_pid;                  /* headroom run supervising it, 0 none */
    uint64_t wrapper_start_ticks;         /* its start time (/proc/PID/stat), to tell it from a
                                           * later process with the same pid */
    uint64_t lease_id;                    /* the lease its task holds, 0 none */
    int64_t pid;                          /* the command, 0 unknown */
    uint64_t task_id;                     /* its supervised task, 0 none */
    int exit_code;                        /* -1 unknown */
    char reason[API_JOB_REASON_MAX + 1];  /* why it failed, was lost or cancelled; "" none */
    unsigned waiting;                     /* queued: 1 << enum resource of what its last
                                           * admission lacked (0: not asked yet, or held back by
                                           * the queue's order) */
    char waiting_for[64];                 /* queued and not lacking resources: "its turn",
                                           * "the concurrency maximum" ... "" none */
    unsigned position;                    /* queued: 1 = next, 0 not queued */
    bool cancel_requested;
    bool restored;                        /* looked at after a restart (jobs.c) */
};

/* A foreground run waiting in the queue for its admission (run --wait). */
#define WAITER_POLL_TIMEOUT_USEC (60 * USEC_PER_SEC)
struct waiter {
    uint64_t id;
    struct api_task task;                 /* as it will start: task, complexity, declared, owner,
                                           * client_pid, priority, expected_seconds */
    unsigned n_gpus;
    usec_t submitted_usec, polled_usec, head_since_usec, admitted_usec; /* CLOCK_MONOTONIC */
    bool admitted;
    uint64_t task_id;                     /* admitted: its task */
    unsigned waiting;                     /* 1 << enum resource it lacks */
    char waiting_for[64];
    unsigned position;                    /* 1 = next */
};

/* What a job control asks. */
enum api_control {
    API_CONTROL_CANCEL,
    API_CONTROL_SUSPEND,
    API_CONTROL_RESUME,
    _API_CONTROL_MAX,
};

struct api_hooks {
    /* Starts a notify observation. lease_id: the lease the task holds (0: the oldest unattached
     * lease of the same task, if any). *ret_lease_id: the lease attached, 0 none. 0, -EAGAIN when
     * too many are pending, -ENOSPC when the task type table is full, -ENOENT for an unknown
     * lease, -EBUSY for a lease another task took. */
    int (*notify)(void *userdata, const char *task, double complexity, uint64_t lease_id,
                  uint64_t *ret_lease_id);
    /* Merges fields into the held overlay (only the has_* fields of in) and re-derives the view. */
    int (*inject)(void *userdata, const struct api_inject *in);
    void (*inject_clear)(void *userdata);
    /* Drops expired leases (and updates view->reserved). */
    void (*leases_expire)(void *userdata);
    /* Creates a lease holding plan->reserve for ttl_usec, its GPU part on GPU gpu_index (-1:
     * none), or, when gpu_mask is not 0, on every GPU in gpu_mask, all of which it holds (struct
     * lease). 0, -ENOSPC when the table is full. */
    int (*lease_add)(void *userdata, const char *task, double complexity, const struct admit_plan *plan,
                     const struct decide_need *declared, int gpu_index, uint64_t gpu_mask, usec_t ttl_usec,
                     struct lease *ret);
    /* Releases lease id. 0, -ENOENT when there is none (expired or never existed). */
    int (*lease_release)(void *userdata, uint64_t id);
    /* The learnt models of task: 0 with *ret valid until the next hook call, -ENOENT when the
     * type has none, or another -errno (the store failed). */
    int (*model_get)(void *userdata, const char *task, const struct task_model **ret);
    /* A supervised task starts: t->task, complexity, pid, lease_id, declared and
     * expected_end_usec are taken; the rest is filled in. 0, -ENOSPC (table full), -ENOENT
     * (unknown lease), -EBUSY (the lease is held by another task). */
    int (*task_start)(void *userdata, const struct api_task *t, struct api_task *ret);
    /* Its use now (percentage points, NaN unknown), and its pid when it was not known at the start
     * (0: no news); sample goes into its history. 0 or -ENOENT. */
    int (*task_usage)(void *userdata, uint64_t id, int64_t pid, const double use[_LEARN_RESOURCE_MAX],
                      const struct api_task_sample *sample);
    /* It reports progress: pct in [0, 100], phase "" or a short name. Its expected end becomes
     * the one its progress gives. 0 or -ENOENT. */
    int (*task_progress)(void *userdata, uint64_t id, double pct, const char *phase);
    /* Its supervisor says whether it has stalled, and when it last showed activity (realtime,
     * 0 unknown). 0 or -ENOENT. */
    int (*task_stall)(void *userdata, uint64_t id, bool stalled, usec_t last_activity_real_usec);
    /* It ended: its figures are learnt, its lease released. 0, -ENOENT, or -ENOSPC/-EIO when the
     * observation could not be stored (the task is ended anyway). */
    int (*task_end)(void *userdata, uint64_t id, const struct api_task_end *e);
    /* Queues a job: j->priority, uid, gid, task, complexity and spec (borrowed) are taken, the
     * rest is filled in *ret (valid until the next hook call). 0, -ENOSPC (the queue is full),
     * -EIO (it could not be stored: nothing is queued). */
    /* Queues a run that waits for its admission (see struct waiter); *ret valid until the next
     * hook call. 0, -ENOSPC, -ENOMEM. */
    int (*wait_add)(void *userdata, const struct api_task *t, unsigned n_gpus, struct waiter *ret);
    /* How waiter id stands; give_up drops it. 0 or -ENOENT. */
    int (*wait_poll)(void *userdata, uint64_t id, bool give_up, struct waiter *ret);
    int (*job_submit)(void *userdata, const struct api_job *j, struct api_job *ret);
    /* Cancels, suspends or resumes job id (the caller checked the owner). 0, -ENOENT, -EBUSY
     * (not in a state that allows it), -ESRCH (its process is gone), or another -errno. */
    int (*job_control)(void *userdata, int64_t id, enum api_control what);
    /* The same for a running supervised task. 0, -ENOENT, -EBUSY, -ESRCH (no pid known yet, or
     * gone), or another -errno. */
    int (*task_control)(void *userdata, uint64_t id, enum api_control what);
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
    const struct lease_table *leases; /* live leases, in creation order */
    const struct api_task *tasks;     /* n_tasks running supervised tasks */
    unsigned n_tasks;
    const struct api_job *jobs;       /* n_jobs: the unfinished jobs and the newest finished */
    unsigned n_jobs;
    const char *jobs_dir;             /* where job logs are, "" when jobs cannot run */
    const struct waiter *waiters;     /* n_waiters runs waiting in the queue */
    unsigned n_waiters;
    const struct user_token *user_tokens; /* n_user_tokens: who a TCP caller's token names */
    unsigned n_user_tokens;
    const double *global_peak;        /* _LEARN_RESOURCE_MAX: the largest peak any type showed */
    struct api_hooks hooks;
    struct api_counters counters;
    struct event_ring *events;        /* the newest events (api/event-ring.h), NULL: none kept */
};

/* Would task t (its task, complexity and declared need) with n_gpus GPUs be admitted now? 1 yes,
 * 0 no, with *ret_lacking the 1 << enum resource of what it lacks; or a -errno (its model could
 * not be read). Counts nothing, holds nothing. */
int api_task_fits(struct api *a, const struct api_task *t, unsigned n_gpus, unsigned *ret_lacking);
/* Admits t as POST /v1/tasks with "admit" does: 1 admitted, with t->lease_id (the lease of the
 * admission), n_gpus and gpus set; 0 denied (*ret_lacking as above); -ENOSPC when no lease can be
 * added; another -errno. */
int api_task_admit(struct api *a, struct api_task *t, unsigned n_gpus, unsigned *ret_lacking);

/* A task's own limits: {"memory_soft_bytes", "memory_hard_bytes" (byte counts or "8G"),
 * "cpu_soft_percent" (of the machine, 0..100)}; unknown fields are refused; absent or null:
 * none. 0, or -EINVAL with err. */
int api_parse_limits(json_t *limits, struct protect_limits *ret, char *err, size_t errlen);

/* /v1's "needs" object: cpu_pct, gpu_pct, and sizes mem_bytes, vram_bytes, disk_bytes (a byte
 * count or "8G"); unknown fields are refused. Absent or null: nothing. 0, or -EINVAL with err. */
int api_parse_needs(json_t *needs, struct decide_need *need, char *err, size_t errlen);

/* The http_handler for http_server_options.handler; userdata is a struct api *. */
void api_handle(const struct http_request *req, struct http_response *resp, void *userdata);

/* Tells the open event streams (GET /v1/events as Server-Sent Events) that events were pushed
 * to a->events, so they send them. Cheap: it only marks the streams for the next loop round. */
void api_events_appended(struct api *a);

/* Fills a decide_thresholds from the config. */
void api_thresholds(const struct config *c, struct decide_thresholds *ret);
