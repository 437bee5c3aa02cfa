/* SPDX-License-Identifier: MIT */
#pragma once

/* The running daemon: owns the loop, the sampler, the GPU probe, the history, the store, the HTTP
 * server, the notify observations and the debug overlay, and ties them together on each tick. */

#include <stdbool.h>

#include "api/api.h"
#include "api/ctl-server.h"
#include "basic/parse-util.h"
#include "config/config.h"
#include "gpu/gpu.h"
#include "loop/loop.h"
#include "metrics/sampler.h"
#include "model/admit.h"
#include "model/history.h"
#include "model/lease.h"
#include "model/observe.h"

#define DAEMON_LISTEN_MAX  8
#define DAEMON_LEASES_MAX  4096
#define DAEMON_TASKS_MAX   4096
#define DAEMON_WAITERS_MAX 1024
#define DAEMON_MODEL_CACHE 256   /* task types whose models stay in memory (≈ 4.7 KiB each) */

/* Exit codes of "headroom serve" (man/headroom-serve.8.md), sysexits-style where one fits. */
enum serve_exit {
    SERVE_EXIT_OK = 0,
    SERVE_EXIT_FAILURE = 1,      /* a runtime failure after start-up */
    SERVE_EXIT_USAGE = 2,        /* bad command line */
    SERVE_EXIT_UNAVAILABLE = 69, /* the socket or port is already served by someone else */
    SERVE_EXIT_OSERR = 71,       /* cannot open /proc, bind, create the loop... */
    SERVE_EXIT_CANTCREAT = 73,   /* cannot create the state directory or open the database */
    SERVE_EXIT_CONFIG = 78,      /* invalid configuration, or an unsafe one (open port, no auth) */
};

struct daemon_options {
    char config_path[CONFIG_STRING_MAX];   /* "" = built-in defaults */
    char state_dir[CONFIG_STRING_MAX];
    char socket_path[CONFIG_STRING_MAX];   /* "" = no Unix socket */
    unsigned n_listen;
    struct config_listen listen[DAEMON_LISTEN_MAX];
    char root[CONFIG_STRING_MAX];
    char log_level[16];                    /* --log-level, "" = logging.level */
};

struct pending_observation {
    char task[TASK_NAME_MAX + 1];
    double complexity;
    usec_t start_real_usec;
    bool new_type;                  /* the store had no such task type at notify time */
    uint64_t lease_id;              /* the lease the task took, 0 none */
    struct decide_need declared;    /* what it declared when it asked (from the lease) */
    struct observe_window window;
};

struct model_cache_entry {
    char task[TASK_NAME_MAX + 1];
    bool absent;                    /* the type has no model: a remembered miss */
    uint64_t used;                  /* model_clock at the last use, for LRU eviction */
    struct task_model m;
};

struct daemon {
    struct daemon_options opts;
    struct config config;

    int root_fd;
    struct loop *loop;
    struct loop_source *tick;
    struct loop_source *signals;
    struct sampler *sampler;
    struct gpu_probe *gpus;
    struct store *store;
    struct http_server *http;
    struct ctl_server *ctl;         /* the control socket, beside the Unix socket; NULL without */

    struct hr_snapshot raw;         /* the last sample as read */
    struct hr_snapshot snapshot;    /* raw with the debug overlay applied: what the API shows */
    struct history history;
    struct decide_input view;       /* what decisions are made on */
    struct api_inject inject;
    struct api api;
    bool notified_ready;
    unsigned n_tcp;
    bool tcp_public;                /* a TCP listener is not on loopback */

    struct pending_observation *pending;
    unsigned n_pending, cap_pending;
    unsigned n_task_types;          /* task types in the store, to refuse a notify that cannot be kept */
    struct lease_table leases;      /* DAEMON_LEASES_MAX slots */
    uint64_t next_lease_id;
    struct api_task *tasks;         /* DAEMON_TASKS_MAX slots: supervised tasks, the first n_tasks */
    unsigned n_tasks;
    uint64_t next_task_id;

    enum predict_model predict_model;  /* learning.model and its parameters in force */
    struct predict_params predict_params;
    struct model_cache_entry *models;  /* DAEMON_MODEL_CACHE slots, the first n_models used */
    unsigned n_models;
    uint64_t model_clock;
    double global_peak[_LEARN_RESOURCE_MAX]; /* the largest peak any type has shown */

    struct api_job *jobs;           /* the queue (jobs.c), by id: unfinished and recent finished */
    struct job_proc *job_procs;     /* the same index: their supervisors */
    unsigned n_jobs, cap_jobs;
    struct waiter *waiters;         /* DAEMON_WAITERS_MAX slots, the first n_waiters used */
    unsigned n_waiters;
    uint64_t next_waiter_id;
    char jobs_dir[4000];           /* "" when jobs are off */
    char exe_path[4096];            /* the headroom binary, run as each job's supervisor */
    int proc_fd;                    /* /proc of the machine (not --root's: jobs are real) */
    int real_root_fd;               /* "/" of the machine, for the freezer */
    struct events *events;          /* the event log; NULL until set up */
    struct protect_state *protect;  /* protective mode's memory between ticks */
    struct user_token *user_tokens; /* auth.user_tokens_file (identity.c) */
    unsigned n_user_tokens;

    char sources[512];
};

struct events_options;
/* The event log's options from a configuration (the hook commands are borrowed from c). */
void daemon_events_options(const struct config *c, struct events_options *ret);

/* Sets up everything from opts and the loaded config; returns a serve_exit code (0 on success),
 * having logged the cause. */
int daemon_start(struct daemon *d, const struct daemon_options *opts, const struct config *config);

/* Runs until SIGTERM/SIGINT. Returns a serve_exit code. */
int daemon_run(struct daemon *d);

/* Closes pending observations (stored with the window they had), the listeners and the store. */
void daemon_stop(struct daemon *d);
