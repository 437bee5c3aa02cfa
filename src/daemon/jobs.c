/* SPDX-License-Identifier: MIT */
/* The job queue. A job is a row in the store from its submission on; the in-memory array mirrors
 * the unfinished jobs and the newest finished ones, in id order. A started job is supervised by
 * `headroom run --job-task ID --exit-file PATH` running as the job's owner: the wrapper does for a
 * job what it does for a command in a terminal (its own process group and cgroup, limits, timeout,
 * stall detection, usage and end reports), and writes the command's exit status to the exit file,
 * so a daemon that restarted while the job ran still learns how it ended. */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/macro.h"
#include "daemon/daemon.h"
#include "daemon/events.h"
#include "daemon/jobs.h"
#include "daemon/leases.h"
#include "daemon/tasks.h"
#include "model/schedule.h"
#include "supervise/supervise.h"

#define _cleanup_json_ _cleanup_(json_decrefp)

#define JOBS_STARTS_PER_CALL 16                     /* a burst of small jobs starts over ticks */
#define JOBS_EVAL_MAX        512                    /* queued jobs admission is asked about per call */
#define KILL_AFTER_DEFAULT_USEC (10 * USEC_PER_SEC)
#define EXIT_FILE_MAX        4096
#define WRAPPER_ARGS_MAX     32
#define DEFAULT_PATH         "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct job_proc {
    int pidfd;                  /* the wrapper, -EBADF when none is watched */
    struct loop_source *src;
    bool child;                 /* started by this daemon: its status comes from waitid() */
    usec_t kill_at_usec;        /* cancelled: SIGKILL to its group then; 0 none */
    usec_t head_since_usec;     /* sched_plan()'s claim of a blocked head */
};

static int jobs_grow(struct daemon *d)
{
    if (d->n_jobs < d->cap_jobs)
        return 0;
    unsigned cap = d->cap_jobs ? d->cap_jobs * 2 : 64;
    struct api_job *j = reallocarray(d->jobs, cap, sizeof(*j));
    if (!j)
        return -ENOMEM;
    d->jobs = j;
    d->api.jobs = d->jobs;
    struct job_proc *p = reallocarray(d->job_procs, cap, sizeof(*p));
    if (!p)
        return -ENOMEM;
    d->job_procs = p;
    d->cap_jobs = cap;
    d->api.jobs = d->jobs;
    return 0;
}

static int find(struct daemon *d, int64_t id)
{
    for (unsigned i = 0; i < d->n_jobs; i++)
        if (d->jobs[i].id == id)
            return (int) i;
    return -1;
}

static int64_t ms_of(usec_t real_usec)
{
    return (int64_t) (real_usec / USEC_PER_MSEC);
}

static int persist(struct daemon *d, const struct api_job *j)
{
    struct store_job s = {
        .id = j->id,
        .priority = j->priority,
        .uid = j->uid,
        .gid = j->gid,
        .complexity = j->complexity,
        .spec = j->spec,
        .submitted_ms = ms_of(j->submitted_real_usec),
        .started_ms = ms_of(j->started_real_usec),
        .ended_ms = ms_of(j->ended_real_usec),
        .wrapper_pid = j->wrapper_pid,
        .pid = j->pid,
        .task_id = j->task_id,
        .exit_code = j->exit_code,
    };
    s.wrapper_start = j->wrapper_start_ticks;
    s.lease_id = j->lease_id;
    (void) snprintf(s.state, sizeof(s.state), "%s", api_job_state_to_string(j->state));
    (void) snprintf(s.task, sizeof(s.task), "%s", j->task);
    (void) snprintf(s.reason, sizeof(s.reason), "%s", j->reason);
    int r = store_put_job(d->store, &s, NULL);
    if (r < 0)
        log_warning_errno(r, "Failed to store job %" PRIi64 ": %s", j->id, store_last_error(d->store));
    return r;
}

static void emit(struct daemon *d, const char *type, const struct api_job *j, json_t *fields)
{
    if (d->events)
        (void) events_emit(d->events, type, j->task_id, (uint64_t) j->id, j->task, fields);
    else
        json_decref(fields);
}

static void proc_release(struct job_proc *p)
{
    loop_source_free(p->src);
    p->src = NULL;
    if (p->pidfd >= 0)
        (void) close(p->pidfd);
    p->pidfd = -EBADF;
}

static void path_of(const struct daemon *d, int64_t id, const char *ext, char *buf, size_t len)
{
    (void) snprintf(buf, len, "%s/%" PRIi64 ".%s", d->jobs_dir, id, ext);
}

/* Keeps the newest keep_finished finished jobs in memory (the store prunes the same way). */
static void trim_finished(struct daemon *d)
{
    unsigned finished = 0;
    for (unsigned i = 0; i < d->n_jobs; i++)
        finished += api_job_state_is_finished(d->jobs[i].state);
    for (unsigned i = 0; i < d->n_jobs && finished > d->config.jobs.keep_finished;) {
        if (!api_job_state_is_finished(d->jobs[i].state)) {
            i++;
            continue;
        }
        /* Its log and exit file go with it: nothing else ever removes them. */
        char path[PATH_MAX];
        path_of(d, d->jobs[i].id, "log", path, sizeof(path));
        (void) unlink(path);
        path_of(d, d->jobs[i].id, "exit", path, sizeof(path));
        (void) unlink(path);
        free(d->jobs[i].spec);
        proc_release(&d->job_procs[i]);
        memmove(&d->jobs[i], &d->jobs[i + 1], (d->n_jobs - i - 1) * sizeof(*d->jobs));
        memmove(&d->job_procs[i], &d->job_procs[i + 1], (d->n_jobs - i - 1) * sizeof(*d->job_procs));
        d->n_jobs--;
        finished--;
    }
    d->api.n_jobs = d->n_jobs;
    (void) store_prune_jobs(d->store, d->config.jobs.keep_finished);
}

/* The exit status the wrapper wrote, or -1. */
static int read_exit_file(const struct daemon *d, int64_t id)
{
    char path[PATH_MAX], buf[EXIT_FILE_MAX];

    path_of(d, id, "exit", path, sizeof(path));
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    json_t *o = json_loads(buf, 0, NULL);
    json_t *v = json_object_get(o, "exit_code");
    int code = json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 255
                       ? (int) json_integer_value(v)
                       : -1;
    json_decref(o);
    return code;
}

static void describe_failure(int code, char *buf, size_t len)
{
    if (code == 124)
        (void) snprintf(buf, len, "timed out (or stopped as stalled)");
    else if (code == 125)
        (void) snprintf(buf, len, "headroom could not run it; its log says why");
    else if (code == 126)
        (void) snprintf(buf, len, "its command cannot be run");
    else if (code == 127)
        (void) snprintf(buf, len, "its command was not found");
    else if (code > 128 && code < 128 + NSIG) {
        const char *s = sigabbrev_np(code - 128);
        (void) snprintf(buf, len, "killed by SIG%s", s ? s : "?");
    } else
        (void) snprintf(buf, len, "exited with %d", code);
}

/* The job ended with exit status code (-1: nobody knows). */
static void finish(struct daemon *d, unsigned i, int code, const char *lost_reason)
{
    struct api_job *j = &d->jobs[i];

    proc_release(&d->job_procs[i]);
    d->job_procs[i].kill_at_usec = 0;
    /* A wrapper that ended without its end report leaves a task behind, and its lease. */
    if (j->task_id)
        (void) tasks_drop(d, j->task_id);
    j->exit_code = code;
    j->ended_real_usec = now_usec(CLOCK_REALTIME);
    if (j->cancel_requested) {
        j->state = API_JOB_CANCELLED;
        if (!j->reason[0])
            (void) snprintf(j->reason, sizeof(j->reason), "cancelled");
        emit(d, "job:cancelled", j, json_pack("{s:o}", "exit_code", code >= 0 ? json_integer(code) : json_null()));
    } else if (code < 0) {
        j->state = API_JOB_LOST;
        (void) snprintf(j->reason, sizeof(j->reason), "%s", lost_reason);
        emit(d, "job:lost", j, json_pack("{s:s}", "reason", j->reason));
    } else if (code == 0) {
        j->state = API_JOB_DONE;
    } else {
        j->state = API_JOB_FAILED;
        /* A job that could not start says why already. */
        if (!j->reason[0])
            describe_failure(code, j->reason, sizeof(j->reason));
    }
    log_info("Job %" PRIi64 " ('%s') %s%s%s", j->id, j->task, api_job_state_to_string(j->state),
             j->reason[0] ? ": " : "", j->reason);
    (void) persist(d, j);
    trim_finished(d);
}

static int on_wrapper_exit(struct loop_source *s, int fd, uint32_t events, void *userdata)
{
    struct daemon *d = userdata;
    int i = -1;

    for (unsigned k = 0; k < d->n_jobs; k++)
        if (d->job_procs[k].src == s) {
            i = (int) k;
            break;
        }
    if (i < 0)
        return 0;
    struct job_proc *p = &d->job_procs[i];
    int code = -1;
    if (p->child) {
        siginfo_t si = { 0 };
        int w = waitid((idtype_t) P_PIDFD, (id_t) fd, &si, WEXITED | WNOHANG);
        if (w >= 0 && si.si_pid == 0)
            return 0;  /* not yet: a spurious wake-up */
        /* A failed wait (the child was collected elsewhere) must not leave a readable pidfd in
         * the loop: the job ends here, from its exit file. */
        if (w < 0)
            si.si_code = 0;
        if (si.si_code == CLD_EXITED)
            code = si.si_status;
        else if (si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED)
            code = 128 + si.si_status;
    }
    /* The exit file is the command's status as the wrapper saw it: better than the wrapper's own
     * when the wrapper was killed after the command ended, and the only source for an adopted
     * wrapper, which is not our child. */
    int written = read_exit_file(d, d->jobs[i].id);
    if (written >= 0)
        code = written;
    finish(d, (unsigned) i, code, "its supervisor ended without saying how the job ended");
    jobs_tick(d);
    return 0;
}

static int watch(struct daemon *d, unsigned i, pid_t pid, bool child)
{
    struct job_proc *p = &d->job_procs[i];
    int fd = (int) syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0)
        return negative_errno();
    int r = loop_add_io(d->loop, fd, EPOLLIN, on_wrapper_exit, d, &p->src);
    if (r < 0) {
        (void) close(fd);
        return r;
    }
    p->pidfd = fd;
    p->child = child;
    return 0;
}

/* ---- starting a job -------------------------------------------------------------------------- */

struct strv {
    char **v;
    size_t n, cap;
};

static void strv_done(struct strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    *s = (struct strv) { 0 };
}

static int strv_add(struct strv *s, const char *fmt, ...) _printf_(2, 3);
static int strv_add(struct strv *s, const char *fmt, ...)
{
    if (s->n + 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        char **v = reallocarray(s->v, cap, sizeof(char *));
        if (!v)
            return -ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&s->v[s->n], fmt, ap);
    va_end(ap);
    if (r < 0)
        return -ENOMEM;
    s->v[++s->n] = NULL;
    return 0;
}

static double spec_number(json_t *spec, const char *key)
{
    json_t *v = json_object_get(spec, key);
    return json_is_number(v) ? json_number_value(v) : 0;
}

/* `headroom run` in job mode, with the job's options. */
static int wrapper_argv(struct daemon *d, const struct api_job *j, json_t *spec, struct strv *a)
{
    char tid[32];
    double v;
    int r = 0;

    (void) snprintf(tid, sizeof(tid), "t-%016" PRIx64, j->task_id);
    r = strv_add(a, "headroom");
    r = r < 0 ? r : strv_add(a, "run");
    r = r < 0 ? r : strv_add(a, "--server=unix:%s", d->opts.socket_path);
    r = r < 0 ? r : strv_add(a, "--job-task=%s", tid);
    /* The exit file is handed over open as fd 3: the job's user may not reach the jobs directory. */
    r = r < 0 ? r : strv_add(a, "--exit-file=/proc/self/fd/3");
    r = r < 0 ? r : strv_add(a, "--task=%s", j->task);
    if ((v = spec_number(spec, "timeout_sec")) > 0)
        r = r < 0 ? r : strv_add(a, "--timeout=%.3fs", v);
    if ((v = spec_number(spec, "kill_after_sec")) > 0)
        r = r < 0 ? r : strv_add(a, "--kill-after=%.3fs", v);
    json_t *stall = json_object_get(spec, "stall_sec");
    v = json_is_number(stall) ? json_number_value(stall) : (double) d->config.supervise.stall_sec;
    r = r < 0 ? r : strv_add(a, "--stall=%.3fs", v);
    const char *on_stall = json_string_value(json_object_get(spec, "on_stall"));
    if (on_stall)
        r = r < 0 ? r : strv_add(a, "--on-stall=%s", on_stall);
    if ((v = spec_number(spec, "max_mem_bytes")) > 0)
        r = r < 0 ? r : strv_add(a, "--max-mem=%.0f", v);
    if ((v = spec_number(spec, "max_cpu")) > 0)
        r = r < 0 ? r : strv_add(a, "--max-cpu=%g", v);
    if ((v = spec_number(spec, "max_pids")) > 0)
        r = r < 0 ? r : strv_add(a, "--max-pids=%.0f", v);
    r = r < 0 ? r : strv_add(a, "--");
    size_t k;
    json_t *e;
    json_array_foreach(json_object_get(spec, "argv"), k, e)
        r = r < 0 ? r : strv_add(a, "%s", json_string_value(e));
    return r;
}

static bool env_is(const char *e, const char *name)
{
    size_t n = strlen(name);
    return strncmp(e, name, n) == 0 && e[n] == '=';
}

/* The submitted environment (else a login-like minimum), with headroom's own variables set for
 * this job, and the GPUs it was given. */
static int job_env(struct daemon *d, const struct api_job *j, const struct api_task *t, json_t *spec,
                   const struct passwd *pw, struct strv *env)
{
    json_t *given = json_object_get(spec, "env");
    size_t k;
    json_t *e;
    int r = 0;

    if (json_is_array(given) && json_array_size(given) > 0) {
        json_array_foreach(given, k, e) {
            const char *s = json_string_value(e);
            if (env_is(s, "HEADROOM_JOB_ID") || (t->n_gpus && (env_is(s, "CUDA_VISIBLE_DEVICES") ||
                                                                env_is(s, "HEADROOM_GPUS"))))
                continue;
            r = r < 0 ? r : strv_add(env, "%s", s);
        }
    } else {
        r = strv_add(env, "PATH=" DEFAULT_PATH);
        r = r < 0 ? r : strv_add(env, "HOME=%s", pw->pw_dir);
        r = r < 0 ? r : strv_add(env, "USER=%s", pw->pw_name);
        r = r < 0 ? r : strv_add(env, "LOGNAME=%s", pw->pw_name);
        r = r < 0 ? r : strv_add(env, "SHELL=%s", pw->pw_shell && pw->pw_shell[0] ? pw->pw_shell : "/bin/sh");
    }
    r = r < 0 ? r : strv_add(env, "HEADROOM_JOB_ID=%" PRIi64, j->id);
    if (t->n_gpus > 0) {
        char cuda[16 * 100] = "", idx[16 * 8] = "";
        size_t pc = 0, pi = 0;
        for (unsigned g = 0; g < t->n_gpus; g++) {
            int gi = t->gpus[g];
            const char *uuid = gi >= 0 && (unsigned) gi < d->snapshot.n_gpus ? d->snapshot.gpus[gi].uuid : "";
            int n = uuid[0] ? snprintf(cuda + pc, sizeof(cuda) - pc, "%s%s", g ? "," : "", uuid)
                            : snprintf(cuda + pc, sizeof(cuda) - pc, "%s%d", g ? "," : "", gi);
            pc = MIN(pc + (size_t) MAX(n, 0), sizeof(cuda) - 1);
            n = snprintf(idx + pi, sizeof(idx) - pi, "%s%d", g ? "," : "", gi);
            pi = MIN(pi + (size_t) MAX(n, 0), sizeof(idx) - 1);
        }
        r = r < 0 ? r : strv_add(env, "CUDA_VISIBLE_DEVICES=%s", cuda);
        r = r < 0 ? r : strv_add(env, "HEADROOM_GPUS=%s", idx);
    }
    return r;
}

/* A file of the job's in the jobs directory, owned by the job's user (the wrapper writes it). */
static int open_job_file(struct daemon *d, const struct api_job *j, const char *ext, int flags)
{
    char path[PATH_MAX];

    path_of(d, j->id, ext, path, sizeof(path));
    int fd = open(path, flags | O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
    if (fd < 0)
        return negative_errno();
    if (geteuid() == 0 && fchown(fd, (uid_t) j->uid, (gid_t) j->gid) < 0) {
        int r = negative_errno();
        (void) close(fd);
        return r;
    }
    return fd;
}

/* In the child: become the job's user, in its directory, with its log as stdout and stderr, then
 * exec the wrapper. Nothing here returns. */
_noreturn_ static void exec_wrapper(struct daemon *d, const struct api_job *j, const struct passwd *pw,
                                    const char *cwd, int log_fd, int exit_fd, char **argv, char **envp)
{
    sigset_t all;
    (void) sigemptyset(&all);
    (void) sigprocmask(SIG_SETMASK, &all, NULL);
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            (void) signal(sig, SIG_DFL);
    /* Its own session: a signal to the daemon's process group (a ^C in the terminal of a
     * foreground daemon) does not reach the jobs, which outlive the daemon anyway. */
    (void) setsid();
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    /* log_fd and exit_fd are above 2: they were opened after stdio, which the daemon keeps. */
    if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(log_fd, STDOUT_FILENO) < 0 ||
        dup2(log_fd, STDERR_FILENO) < 0 || (exit_fd == 3 ? fcntl(3, F_SETFD, 0) : dup2(exit_fd, 3)) < 0)
        _exit(125);
    (void) close_range(4, ~0U, 0);
    if (geteuid() == 0 && j->uid != 0) {
        if (initgroups(pw->pw_name, (gid_t) j->gid) < 0 || setgid((gid_t) j->gid) < 0 ||
            setuid((uid_t) j->uid) < 0) {
            dprintf(STDERR_FILENO, "headroom: job %" PRIi64 ": cannot become user %s: %s\n", j->id, pw->pw_name,
                    strerror(errno));
            _exit(125);
        }
    }
    if (chdir(cwd) < 0) {
        dprintf(STDERR_FILENO, "headroom: job %" PRIi64 ": cannot enter its directory %s: %s\n", j->id, cwd,
                strerror(errno));
        _exit(125);
    }
    (void) execve(d->exe_path, argv, envp);
    dprintf(STDERR_FILENO, "headroom: job %" PRIi64 ": cannot run %s: %s\n", j->id, d->exe_path, strerror(errno));
    _exit(125);
}

/* Admits job i and starts its wrapper: 1 started, 0 not admitted now (j->waiting says why), or a
 * -errno when it cannot start at all (the job has then failed). */
static int start_job(struct daemon *d, unsigned i)
{
    struct api_job *j = &d->jobs[i];
    _cleanup_json_ json_t *spec = json_loads(j->spec, 0, NULL);
    _cleanup_(strv_done) struct strv argv = { 0 }, env = { 0 };
    struct api_task t = { 0 }, got;
    unsigned lacking = 0;
    char err[256];
    int r;

    struct passwd *pw = getpwuid((uid_t) j->uid);
    const char *cwd = json_string_value(json_object_get(spec, "cwd"));
    if (!spec || !pw || !cwd) {
        (void) snprintf(j->reason, sizeof(j->reason), "%s", !pw ? "its user no longer exists" : "its request is unreadable");
        return -EINVAL;
    }
    (void) snprintf(t.task, sizeof(t.task), "%s", j->task);
    t.complexity = j->complexity;
    t.declared = j->declared;
    r = api_task_admit(&d->api, &t, j->n_gpus, &lacking);
    if (r < 0 && r != -ENOSPC) {
        (void) snprintf(j->reason, sizeof(j->reason), "admission failed: %s", strerror(-r));
        return r;
    }
    if (r <= 0) {
        j->waiting = r == -ENOSPC ? 0 : lacking;
        (void) snprintf(j->waiting_for, sizeof(j->waiting_for), "%s", r == -ENOSPC ? "a free lease slot" : "");
        return 0;
    }
    t.job_id = j->id;
    t.priority = j->priority;
    t.has_owner = true;
    t.owner_uid = j->uid;
    (void) api_parse_limits(json_object_get(spec, "limits"), &t.own_limits, err, sizeof(err));
    t.checkpoint_signal = (int) spec_number(spec, "checkpoint_signal");
    t.checkpoint_grace_usec = (usec_t) llround(spec_number(spec, "checkpoint_grace_sec") * 1e6);
    double timeout = spec_number(spec, "timeout_sec");
    if (timeout > 0)
        t.expected_end_usec = usec_add(now_usec(CLOCK_MONOTONIC), (usec_t) llround(timeout * 1e6));
    uint64_t lease_id = t.lease_id;
    r = tasks_start(d, &t, &got);
    if (r < 0) {
        (void) leases_release(d, lease_id);
        if (r == -ENOSPC) {
            (void) snprintf(j->waiting_for, sizeof(j->waiting_for), "a free task slot");
            return 0;
        }
        (void) snprintf(j->reason, sizeof(j->reason), "cannot register its task: %s", strerror(-r));
        return r;
    }
    j->task_id = got.id;
    j->lease_id = got.lease_id;

    r = wrapper_argv(d, j, spec, &argv);
    if (r >= 0)
        r = job_env(d, j, &got, spec, pw, &env);
    _cleanup_close_ int log_fd = r < 0 ? r : open_job_file(d, j, "log", O_APPEND);
    _cleanup_close_ int exit_fd = log_fd < 0 ? log_fd : open_job_file(d, j, "exit", O_TRUNC);
    if (r < 0 || log_fd < 0 || exit_fd < 0) {
        r = r < 0 ? r : log_fd < 0 ? log_fd : exit_fd;
        (void) tasks_drop(d, got.id);
        j->task_id = 0;
        (void) snprintf(j->reason, sizeof(j->reason), "cannot prepare its log: %s", strerror(-r));
        return r;
    }

    /* Stored as started before it starts: a crash in between leaves a job that a restart finds
     * lost, never one that runs twice. */
    j->state = API_JOB_RUNNING;
    j->started_real_usec = now_usec(CLOCK_REALTIME);
    (void) persist(d, j);
    pid_t pid = fork();
    if (pid < 0) {
        r = negative_errno();
        (void) tasks_drop(d, got.id);
        j->task_id = 0;
        (void) snprintf(j->reason, sizeof(j->reason), "cannot start its supervisor: %s", strerror(-r));
        return r;
    }
    if (pid == 0)
        exec_wrapper(d, j, pw, cwd, log_fd, exit_fd, argv.v, env.v);

    j->wrapper_pid = pid;
    (void) sv_process_start_time(d->proc_fd, pid, &j->wrapper_start_ticks);
    tasks_set_client(d, got.id, pid);
    r = watch(d, i, pid, true);
    if (r < 0) {
        /* A job whose end could not be seen would stay "running" for ever: stop it now. */
        (void) kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        (void) tasks_drop(d, got.id);
        j->task_id = 0;
        (void) snprintf(j->reason, sizeof(j->reason), "cannot watch its supervisor: %s", strerror(-r));
        return r;
    }
    j->waiting = 0;
    j->waiting_for[0] = '\0';
    j->position = 0;
    d->job_procs[i].head_since_usec = 0;
    (void) persist(d, j);
    log_info("Job %" PRIi64 " ('%s') started as %s, supervisor pid %d", j->id, j->task, pw->pw_name, (int) pid);
    return 1;
}

/* ---- the queue ------------------------------------------------------------------------------- */

static void sched_params(const struct daemon *d, struct sched_params *p)
{
    *p = (struct sched_params) {
        .aging_usec = (usec_t) d->config.jobs.aging_sec * USEC_PER_SEC,
        .backfill_limit_usec = (usec_t) d->config.jobs.backfill_limit_sec * USEC_PER_SEC,
        .soft_max = d->config.jobs.soft_max,
        .hard_max = d->config.jobs.hard_max,
    };
}

/* A queued job or waiting run, as the scheduling step sees them. */
struct candidate {
    bool waiter;
    unsigned index;   /* into d->jobs or d->waiters */
};

#define WAITER_BIT (UINT64_C(1) << 62)   /* sched_job ids of waiters, apart from job ids */

/* Asks admission whether queued job j would fit now. */
/* Reads what admission needs of a job from its spec, once, when it enters the queue in memory. */
static void job_read_needs(struct api_job *j)
{
    _cleanup_json_ json_t *spec = json_loads(j->spec, 0, NULL);
    char err[256];

    j->declared = (struct decide_need) { 0 };
    (void) api_parse_needs(json_object_get(spec, "needs"), &j->declared, err, sizeof(err));
    j->n_gpus = (unsigned) spec_number(spec, "gpus");
}

static bool job_fits(struct daemon *d, struct api_job *j)
{
    struct api_task t = { .complexity = j->complexity, .declared = j->declared };
    unsigned lacking = 0;

    (void) snprintf(t.task, sizeof(t.task), "%s", j->task);
    int fits = api_task_fits(&d->api, &t, j->n_gpus, &lacking);
    j->waiting = fits > 0 ? 0 : lacking;
    return fits > 0;
}

static void set_waiting_for(char *buf, size_t len, enum sched_state st)
{
    static const char *const why[_SCHED_STATE_MAX] = {
        [SCHED_STATE_WAITING] = "its turn",
        [SCHED_STATE_HELD] = "an earlier job that was passed for too long",
        [SCHED_STATE_AT_MAX] = "the concurrency maximum (jobs.hard_max)",
    };
    (void) snprintf(buf, len, "%s", st >= 0 && st < _SCHED_STATE_MAX && why[st] ? why[st] : "");
}

/* Admits waiting run w: 1 admitted (its task registered, holding the lease), 0 not now. */
static int admit_waiter(struct daemon *d, struct waiter *w)
{
    struct api_task t = w->task, got;
    unsigned lacking = 0;

    int r = api_task_admit(&d->api, &t, w->n_gpus, &lacking);
    if (r <= 0) {
        w->waiting = r == 0 ? lacking : 0;
        return 0;
    }
    uint64_t lease_id = t.lease_id;
    if (t.expected_seconds > 0)
        t.expected_end_usec = usec_add(now_usec(CLOCK_MONOTONIC), (usec_t) llround(t.expected_seconds * 1e6));
    r = tasks_start(d, &t, &got);
    if (r < 0) {
        (void) leases_release(d, lease_id);
        return 0;
    }
    struct api_task *nt = tasks_find(d, got.id);
    if (nt)
        nt->from_queue = true;
    w->admitted = true;
    w->task_id = got.id;
    w->admitted_usec = now_usec(CLOCK_MONOTONIC);
    log_info("Waiting run '%s' (w-%016" PRIx64 ") admitted as t-%016" PRIx64, w->task.task, w->id, got.id);
    return 1;
}

/* Drops waiters whose client is gone or stopped asking, and admitted ones never collected. */
static void expire_waiters(struct daemon *d, usec_t now)
{
    for (unsigned i = 0; i < d->n_waiters;) {
        struct waiter *w = &d->waiters[i];
        bool gone = w->task.client_pid > 0 && kill((pid_t) w->task.client_pid, 0) < 0 && errno == ESRCH;
        bool stale = now > w->polled_usec + WAITER_POLL_TIMEOUT_USEC;
        if (!gone && !stale) {
            i++;
            continue;
        }
        if (w->admitted)
            (void) tasks_drop(d, w->task_id);
        log_info("Waiting run '%s' (w-%016" PRIx64 ") dropped: its client %s", w->task.task, w->id,
                 gone ? "is gone" : "stopped asking");
        d->waiters[i] = d->waiters[--d->n_waiters];
        d->api.n_waiters = d->n_waiters;
    }
}

void jobs_tick(struct daemon *d)
{
    usec_t now = now_usec(CLOCK_MONOTONIC);
    unsigned running = 0, queued = 0;

    for (unsigned i = 0; i < d->n_jobs; i++) {
        struct api_job *j = &d->jobs[i];
        struct job_proc *p = &d->job_procs[i];
        if (j->state == API_JOB_RUNNING || j->state == API_JOB_SUSPENDED)
            running++;
        if (j->state == API_JOB_QUEUED)
            queued++;
        if (p->kill_at_usec && now >= p->kill_at_usec && !api_job_state_is_finished(j->state)) {
            /* The grace of a cancellation is over: the whole group goes, if its process is still
             * the one its supervisor reported; else (no pid yet, or a supervisor that hangs) the
             * supervisor itself. */
            const struct api_task *t = j->task_id ? tasks_find(d, j->task_id) : NULL;
            if (t && tasks_pid_is_ours(d, t))
                (void) sv_group_signal(d->real_root_fd, (pid_t) t->pid, SIGKILL);
            else if (p->pidfd >= 0)
                (void) syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
            p->kill_at_usec = 0;
        }
    }
    expire_waiters(d, now);
    unsigned jobs_queued = queued;
    for (unsigned i = 0; i < d->n_waiters; i++)
        queued += !d->waiters[i].admitted;
    /* Runs the queue started count against the concurrency maximum as long as they run. */
    for (unsigned i = 0; i < d->n_tasks; i++)
        running += d->tasks[i].from_queue;
    if (queued == 0 || !d->api.ready)
        return;

    size_t n = MIN(queued, (unsigned) JOBS_EVAL_MAX);
    _cleanup_free_ struct sched_job *sj = calloc(n, sizeof(*sj));
    _cleanup_free_ size_t *scratch = calloc(n, sizeof(*scratch));
    _cleanup_free_ struct candidate *cand = calloc(n, sizeof(*cand));
    if (!sj || !scratch || !cand)
        return;
    struct sched_params params;
    sched_params(d, &params);

    for (unsigned starts = 0; starts < JOBS_STARTS_PER_CALL; starts++) {
        size_t k = 0;
        /* Waiters take at most half the places a step looks at, so that jobs are never crowded
         * out of it (nor waiters by jobs, which fill the rest). */
        size_t waiter_places = n - MIN((size_t) jobs_queued, n / 2);
        for (unsigned i = 0; i < d->n_waiters && k < waiter_places; i++) {
            struct waiter *w = &d->waiters[i];
            if (w->admitted)
                continue;
            unsigned lacking = 0;
            int fits = api_task_fits(&d->api, &w->task, w->n_gpus, &lacking);
            w->waiting = fits > 0 ? 0 : lacking;
            sj[k] = (struct sched_job) {
                .id = w->id | WAITER_BIT,
                .priority = (enum sched_priority) w->task.priority,
                .submitted_usec = w->submitted_usec,
                .fits = fits > 0,
                .head_since_usec = w->head_since_usec,
            };
            cand[k++] = (struct candidate) { .waiter = true, .index = i };
        }
        for (unsigned i = 0; i < d->n_jobs && k < n; i++) {
            struct api_job *j = &d->jobs[i];
            if (j->state != API_JOB_QUEUED)
                continue;
            sj[k] = (struct sched_job) {
                .id = (uint64_t) j->id,
                .priority = (enum sched_priority) j->priority,
                .submitted_usec = j->submitted_usec,
                .fits = job_fits(d, j),
                .head_since_usec = d->job_procs[i].head_since_usec,
            };
            cand[k++] = (struct candidate) { .waiter = false, .index = i };
        }
        size_t start = SIZE_MAX;
        int r = sched_plan(sj, k, running, now, &params, scratch, &start);
        if (r < 0)
            return;
        for (size_t q = 0; q < k; q++) {
            if (cand[q].waiter) {
                struct waiter *w = &d->waiters[cand[q].index];
                w->head_since_usec = sj[q].head_since_usec;
                w->position = sj[q].position + 1;
                set_waiting_for(w->waiting_for, sizeof(w->waiting_for), sj[q].state);
                continue;
            }
            struct api_job *j = &d->jobs[cand[q].index];
            d->job_procs[cand[q].index].head_since_usec = sj[q].head_since_usec;
            j->position = sj[q].position + 1;
            set_waiting_for(j->waiting_for, sizeof(j->waiting_for), sj[q].state);
        }
        if (r == 0 || start == SIZE_MAX)
            return;
        if (sj[start].over_soft)
            log_warning("Starting %s takes the running jobs above jobs.soft_max (%u)",
                        cand[start].waiter ? "a waiting run" : "a job", d->config.jobs.soft_max);
        if (cand[start].waiter) {
            if (admit_waiter(d, &d->waiters[cand[start].index]) == 0)
                return;
            running++;
            continue;
        }
        unsigned i = cand[start].index;
        r = start_job(d, i);
        if (r == 0)
            return;  /* admission changed its mind (a lease slot, a task slot): next tick */
        if (r < 0) {
            log_warning("Job %" PRIi64 " ('%s') cannot start: %s", d->jobs[i].id, d->jobs[i].task, d->jobs[i].reason);
            d->jobs[i].cancel_requested = false;
            finish(d, i, 125, "");
            return;
        }
        running++;
    }
}

int jobs_wait_add(struct daemon *d, const struct api_task *t, unsigned n_gpus, struct waiter *ret)
{
    if (!d->waiters) {
        d->waiters = calloc(DAEMON_WAITERS_MAX, sizeof(*d->waiters));
        if (!d->waiters)
            return -ENOMEM;
        d->api.waiters = d->waiters;
    }
    if (d->n_waiters >= DAEMON_WAITERS_MAX)
        return -ENOSPC;
    usec_t now = now_usec(CLOCK_MONOTONIC);
    struct waiter *w = &d->waiters[d->n_waiters++];
    *w = (struct waiter) {
        .id = ++d->next_waiter_id,
        .task = *t,
        .n_gpus = n_gpus,
        .submitted_usec = now,
        .polled_usec = now,
    };
    d->api.n_waiters = d->n_waiters;
    log_info("Run '%s' (w-%016" PRIx64 ", %s) waits in the queue", t->task, w->id,
             sched_priority_to_string((enum sched_priority) t->priority));
    jobs_tick(d);
    for (unsigned i = 0; i < d->n_waiters; i++)
        if (d->waiters[i].id == w->id) {
            *ret = d->waiters[i];
            return 0;
        }
    return -EIO;
}

int jobs_wait_poll(struct daemon *d, uint64_t id, bool give_up, struct waiter *ret)
{
    for (unsigned i = 0; i < d->n_waiters; i++) {
        struct waiter *w = &d->waiters[i];
        if (w->id != id)
            continue;
        w->polled_usec = now_usec(CLOCK_MONOTONIC);
        *ret = *w;
        /* Collected, or given up: it leaves the queue (an admitted one given up releases what it
         * was given). */
        if (w->admitted || give_up) {
            if (give_up && w->admitted)
                (void) tasks_drop(d, w->task_id);
            d->waiters[i] = d->waiters[--d->n_waiters];
            d->api.n_waiters = d->n_waiters;
        }
        return 0;
    }
    return -ENOENT;
}

int jobs_submit(struct daemon *d, const struct api_job *in, struct api_job *ret)
{
    unsigned queued = 0;
    for (unsigned i = 0; i < d->n_jobs; i++)
        queued += d->jobs[i].state == API_JOB_QUEUED;
    if (queued >= d->config.jobs.max_queued)
        return -ENOSPC;
    int r = jobs_grow(d);
    if (r < 0)
        return r;

    struct api_job j = *in;
    j.state = API_JOB_QUEUED;
    j.submitted_real_usec = now_usec(CLOCK_REALTIME);
    j.submitted_usec = now_usec(CLOCK_MONOTONIC);
    j.started_real_usec = j.ended_real_usec = 0;
    j.exit_code = -1;
    j.wrapper_pid = j.pid = 0;
    j.task_id = j.lease_id = 0;
    j.reason[0] = '\0';
    j.spec = strdup(in->spec);
    if (!j.spec)
        return -ENOMEM;
    job_read_needs(&j);
    struct store_job s = {
        .priority = j.priority, .uid = j.uid, .gid = j.gid, .complexity = j.complexity, .spec = j.spec,
        .submitted_ms = ms_of(j.submitted_real_usec), .exit_code = -1,
    };
    (void) snprintf(s.state, sizeof(s.state), "queued");
    (void) snprintf(s.task, sizeof(s.task), "%s", j.task);
    r = store_put_job(d->store, &s, &j.id);
    if (r < 0) {
        log_warning_errno(r, "Failed to store a submitted job: %s", store_last_error(d->store));
        free(j.spec);
        return -EIO;
    }
    unsigned i = d->n_jobs++;
    d->jobs[i] = j;
    d->job_procs[i] = (struct job_proc) { .pidfd = -EBADF };
    d->api.n_jobs = d->n_jobs;
    log_info("Job %" PRIi64 " ('%s', %s) queued for uid %" PRIu32, j.id, j.task,
             sched_priority_to_string((enum sched_priority) j.priority), j.uid);
    emit(d, "job:queued", &d->jobs[i], json_pack("{s:s}", "priority",
                                                 sched_priority_to_string((enum sched_priority) j.priority)));
    jobs_tick(d);
    int k = find(d, j.id);
    *ret = k >= 0 ? d->jobs[k] : j;
    return 0;
}

int jobs_control(struct daemon *d, int64_t id, enum api_control what)
{
    int i = find(d, id);
    if (i < 0)
        return -ENOENT;
    struct api_job *j = &d->jobs[i];
    if (api_job_state_is_finished(j->state))
        return -EBUSY;

    switch (what) {
    case API_CONTROL_CANCEL:
        if (j->cancel_requested)
            return 0;
        j->cancel_requested = true;
        if (j->state == API_JOB_QUEUED) {
            (void) snprintf(j->reason, sizeof(j->reason), "cancelled before it started");
            finish(d, (unsigned) i, -1, "");
            return 0;
        }
        (void) snprintf(j->reason, sizeof(j->reason), "cancelled while it ran");
        if (j->state == API_JOB_SUSPENDED && j->task_id)
            (void) tasks_control(d, j->task_id, API_CONTROL_RESUME);
        /* TERM through its supervisor, which forwards it to the whole task; KILL after the
         * grace. Through the pidfd: the supervisor's pid could have been reused. */
        if (d->job_procs[i].pidfd >= 0)
            (void) syscall(SYS_pidfd_send_signal, d->job_procs[i].pidfd, SIGTERM, NULL, 0);
        struct api_task *jt = j->task_id ? tasks_find(d, j->task_id) : NULL;
        if (jt)
            jt->cancelling = true;
        json_t *spec = json_loads(j->spec, 0, NULL);
        double grace = spec_number(spec, "kill_after_sec");
        json_decref(spec);
        d->job_procs[i].kill_at_usec = usec_add(now_usec(CLOCK_MONOTONIC),
                                                grace > 0 ? (usec_t) llround(grace * 1e6) : KILL_AFTER_DEFAULT_USEC);
        (void) persist(d, j);
        return 0;
    case API_CONTROL_SUSPEND:
    case API_CONTROL_RESUME:
        if (j->state == API_JOB_QUEUED || !j->task_id)
            return -EBUSY;
        return tasks_control(d, j->task_id, what);
    default:
        return -EINVAL;
    }
}

void jobs_task_changed(struct daemon *d, const struct api_task *t)
{
    int i = t->job_id ? find(d, t->job_id) : -1;
    if (i < 0)
        return;
    struct api_job *j = &d->jobs[i];
    if (api_job_state_is_finished(j->state))
        return;
    enum api_job_state s = t->suspended ? API_JOB_SUSPENDED : API_JOB_RUNNING;
    if (t->pid > 0)
        j->pid = t->pid;
    if (j->state != s) {
        j->state = s;
        (void) persist(d, j);
    }
}

/* ---- restart --------------------------------------------------------------------------------- */

struct restore_ctx {
    struct daemon *d;
    int r;
};

static int restore_one(const struct store_job *s, void *userdata)
{
    struct restore_ctx *c = userdata;
    struct daemon *d = c->d;
    usec_t now = now_usec(CLOCK_MONOTONIC), now_real = now_usec(CLOCK_REALTIME);

    int r = jobs_grow(d);
    if (r < 0)
        return r;
    struct api_job j = {
        .id = s->id,
        .state = api_job_state_from_string(s->state),
        .priority = s->priority,
        .uid = s->uid,
        .gid = s->gid,
        .complexity = s->complexity,
        .submitted_real_usec = (usec_t) s->submitted_ms * USEC_PER_MSEC,
        .started_real_usec = (usec_t) s->started_ms * USEC_PER_MSEC,
        .ended_real_usec = (usec_t) s->ended_ms * USEC_PER_MSEC,
        .wrapper_pid = s->wrapper_pid,
        .wrapper_start_ticks = s->wrapper_start,
        .pid = s->pid,
        .task_id = s->task_id,
        .lease_id = s->lease_id,
        .exit_code = s->exit_code,
    };
    if (j.state < 0)
        return 0;
    (void) snprintf(j.task, sizeof(j.task), "%s", s->task);
    (void) snprintf(j.reason, sizeof(j.reason), "%s", s->reason);
    /* Its place in the queue ages from its submission, across the restart. */
    usec_t waited = now_real > j.submitted_real_usec ? now_real - j.submitted_real_usec : 0;
    j.submitted_usec = now > waited ? now - waited : 1;
    j.spec = strdup(s->spec);
    if (!j.spec)
        return -ENOMEM;
    job_read_needs(&j);
    unsigned i = d->n_jobs++;
    d->jobs[i] = j;
    d->job_procs[i] = (struct job_proc) { .pidfd = -EBADF };
    d->api.n_jobs = d->n_jobs;
    return 0;
}

/* A job that ran when the last daemon stopped: its supervisor, if it is still the same process,
 * goes on, and is adopted; else its exit file tells how it ended, else it is lost. */
static void restore_running(struct daemon *d, unsigned i)
{
    struct api_job j = d->jobs[i];
    int r;
    uint64_t start = 0;
    bool alive = j.wrapper_pid > 0 && sv_process_start_time(d->proc_fd, (pid_t) j.wrapper_pid, &start) >= 0 &&
                 start == j.wrapper_start_ticks;
    if (alive && watch(d, i, (pid_t) j.wrapper_pid, false) >= 0) {
        r = tasks_adopt(d, &d->jobs[i]);
        if (r < 0)
            log_warning_errno(r, "Job %" PRIi64 ": cannot take its task back; its figures are not learnt: %m", j.id);
        log_info("Job %" PRIi64 " ('%s') is still running (supervisor pid %" PRIi64 "): adopted", j.id, j.task,
                 j.wrapper_pid);
        return;
    }
    int code = read_exit_file(d, j.id);
    d->jobs[i].task_id = 0;  /* its task was the old daemon's */
    /* Its lease came back from the store: what it held is free again. */
    if (j.lease_id)
        (void) leases_release(d, j.lease_id);
    finish(d, i, code,
           alive ? "headroom restarted while it ran, and cannot watch its supervisor any more"
                 : "headroom restarted while it ran, and its supervisor was gone without a word");
}

int jobs_start(struct daemon *d)
{
    char path[PATH_MAX];

    d->api.jobs_dir = d->jobs_dir;
    if (!d->opts.socket_path[0]) {
        log_info("No Unix socket: background jobs are off (their supervisors report over it)");
        return 0;
    }
    ssize_t n = readlink("/proc/self/exe", d->exe_path, sizeof(d->exe_path) - 1);
    if (n <= 0) {
        log_warning_errno(negative_errno(), "Cannot find the headroom binary: background jobs are off: %m");
        return 0;
    }
    d->exe_path[n] = '\0';
    (void) snprintf(path, sizeof(path), "%s/jobs", d->opts.state_dir);
    /* 0711: each user reaches the files of their own jobs by name, and lists nothing. */
    if (mkdir(path, 0711) < 0 && errno != EEXIST)
        return log_error_errno(negative_errno(), "Failed to create the jobs directory '%s': %m", path);
    (void) chmod(path, 0711);
    if (strlen(path) >= sizeof(d->jobs_dir))
        return log_error_errno(-ENAMETOOLONG, "The jobs directory path is too long: %s", path);
    memcpy(d->jobs_dir, path, strlen(path) + 1);

    struct restore_ctx c = { .d = d };
    int r = store_foreach_job(d->store, d->config.jobs.keep_finished, restore_one, &c);
    if (r < 0)
        return log_error_errno(r, "Failed to restore the job queue: %s", store_last_error(d->store));
    /* After the iteration: adopting and finishing write to the store. finish() may drop the oldest
     * finished jobs from the array, so go by id. */
    for (unsigned k = 0; k < (unsigned) r; k++) {
        int64_t id = 0;
        for (unsigned i = 0; i < d->n_jobs; i++)
            if ((d->jobs[i].state == API_JOB_RUNNING || d->jobs[i].state == API_JOB_SUSPENDED) &&
                d->job_procs[i].pidfd < 0 && !d->jobs[i].restored) {
                id = d->jobs[i].id;
                d->jobs[i].restored = true;
                break;
            }
        int i = id ? find(d, id) : -1;
        if (i < 0)
            break;
        restore_running(d, (unsigned) i);
    }
    return 0;
}

void jobs_stop(struct daemon *d)
{
    free(d->waiters);
    d->waiters = NULL;
    d->n_waiters = 0;
    d->api.waiters = NULL;
    d->api.n_waiters = 0;
    for (unsigned i = 0; i < d->n_jobs; i++) {
        proc_release(&d->job_procs[i]);
        free(d->jobs[i].spec);
    }
    free(d->jobs);
    free(d->job_procs);
    d->jobs = NULL;
    d->job_procs = NULL;
    d->n_jobs = d->cap_jobs = 0;
    d->api.jobs = NULL;
    d->api.n_jobs = 0;
}
