/* SPDX-License-Identifier: MIT */
/* headroom run [OPTIONS] [--] COMMAND [ARGS...]: a wrapper like time(1) or timeout(1). It asks
 * the daemon first (holding a lease on what the command needs), runs the command in its own
 * process group and cgroup with the caller's stdio, forwards signals, enforces --timeout, reports
 * the command's start, use and end to the daemon so its type is learnt from exact figures, and
 * exits with the command's own status (GNU timeout's codes for everything else). */

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "basic/macro.h"
#include "basic/parse-util.h"
#include "basic/time-util.h"
#include "cli/cli.h"
#include "cli/ctl-client.h"
#include "cli/exit-codes.h"
#include "cli/format.h"
#include "cli/job-request.h"
#include "cli/json-util.h"
#include "cli/request.h"
#include "supervise/supervise.h"

#define LEASE_SECONDS        30      /* from the admission to the start: a moment */
#define REPORT_TIMEOUT_USEC  (2 * USEC_PER_SEC)  /* a hung daemon must not hold up the command */
#define SAMPLE_USEC          USEC_PER_SEC
#define WAIT_MIN_USEC        USEC_PER_SEC
#define WAIT_MAX_USEC        (30 * USEC_PER_SEC)
#define QUEUE_POLL_USEC      (500 * USEC_PER_MSEC)
#define ENV_MAX              4096
#define GPU_LIST_MAX         (16 * 100)  /* 16 UUIDs of at most 95 bytes and their commas */

struct run_ctx {
    const struct cli_args *args;
    struct http_client client;
    bool daemon;            /* the daemon answered: report to it */
    char task[TASK_NAME_MAX + 1];
    char lease[32];         /* "" none */
    char task_id[32];       /* "" none */
    const char *stopped;    /* why headroom stopped it: "timed out", "stalled"; NULL */
    bool report_failed;     /* the last report failed (said once) */
    bool usage_off;         /* the daemon refused a usage report: no more of them */
    bool has_gpus;          /* the daemon gave it GPUs (--gpus) */
    char gpu_devices[GPU_LIST_MAX]; /* CUDA_VISIBLE_DEVICES: their UUIDs, else indices */
    char gpu_indices[GPU_LIST_MAX]; /* HEADROOM_GPUS: their indices */
    char env_cuda[GPU_LIST_MAX + 32], env_gpus[GPU_LIST_MAX + 32]; /* the two as NAME=VALUE */
};

/* The GPUs of an admitted task's answer ("gpus", "gpu_uuids") as CUDA_VISIBLE_DEVICES and
 * HEADROOM_GPUS lists. CUDA takes "GPU-..." UUIDs, which stay right when the order of the
 * devices differs from the driver's; a GPU without a UUID goes by its index. */
static int take_gpus(struct run_ctx *c, const json_t *answer)
{
    const json_t *idx = json_get(answer, "gpus"), *uuids = json_get(answer, "gpu_uuids");
    size_t n = json_array_size(idx), pd = 0, pi = 0;

    if (!json_is_array(idx) || n == 0 || n > 16)
        return -EBADMSG;
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(idx, i);
        const char *u = json_string_value(json_array_get(uuids, i));
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= 16)
            return -EBADMSG;
        int g = (int) json_integer_value(v);
        /* A UUID goes into the environment as is: only the characters a UUID has. */
        bool uuid_ok = u && u[0] && strlen(u) < 96 && strspn(u, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                                "0123456789-_") == strlen(u);
        int k = uuid_ok ? snprintf(c->gpu_devices + pd, sizeof(c->gpu_devices) - pd, "%s%s", i ? "," : "", u)
                        : snprintf(c->gpu_devices + pd, sizeof(c->gpu_devices) - pd, "%s%d", i ? "," : "", g);
        if (k < 0 || (size_t) k >= sizeof(c->gpu_devices) - pd)
            return -EBADMSG;
        pd += (size_t) k;
        k = snprintf(c->gpu_indices + pi, sizeof(c->gpu_indices) - pi, "%s%d", i ? "," : "", g);
        if (k < 0 || (size_t) k >= sizeof(c->gpu_indices) - pi)
            return -EBADMSG;
        pi += (size_t) k;
    }
    (void) snprintf(c->env_cuda, sizeof(c->env_cuda), "CUDA_VISIBLE_DEVICES=%s", c->gpu_devices);
    (void) snprintf(c->env_gpus, sizeof(c->env_gpus), "HEADROOM_GPUS=%s", c->gpu_indices);
    c->has_gpus = true;
    return 0;
}

/* One request; the answer's JSON in *ret (NULL when not JSON). Returns the HTTP status, or a
 * -errno for a transport failure. */
static int call(struct run_ctx *c, const char *method, const char *path, json_t *body, usec_t timeout_usec,
                json_t **ret)
{
    _cleanup_(http_response_done) struct http_response resp = { 0 };
    _cleanup_free_ char *text = NULL;
    struct http_client cl = c->client;
    char herr[HTTP_ERROR_MAX];

    if (body && !(text = json_dumps(body, JSON_COMPACT)))
        return -ENOMEM;
    if (timeout_usec)
        cl.timeout_usec = timeout_usec;
    int r = http_request(&cl, method, path, text, &resp, herr);
    if (r < 0)
        return r;
    if (ret)
        *ret = resp.body ? json_loadb(resp.body, resp.body_size, 0, NULL) : NULL;
    return (int) resp.status;
}

/* A report the command does not depend on: a failure is said once and further reports stop.
 * what: "usage" or "end". */
static void report(struct run_ctx *c, const char *what, json_t *body)
{
    char path[128];

    /* A refused usage report stops the usage reports; the end is still told. */
    if (!c->daemon || !c->task_id[0] || (c->usage_off && strcmp(what, "usage") == 0)) {
        json_decref(body);
        return;
    }
    (void) snprintf(path, sizeof(path), "/v1/tasks/%s/%s", c->task_id, what);
    /* The end of a command in a terminal: its answer would change nothing, so it is sent without
     * waiting for it, where the control socket allows. A job's supervisor waits: it retries. */
    if (strcmp(what, "end") == 0 && !c->args->job_task) {
        _cleanup_free_ char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
        if (text && ctl_client_send(&c->client, "POST", path, text) > 0) {
            json_decref(body);
            return;
        }
    }
    int r = call(c, "POST", path, body, REPORT_TIMEOUT_USEC, NULL);
    json_decref(body);
    if (r != 200 && r != 201) {
        /* A job's supervisor keeps reporting: the daemon may be restarting, and the next one
         * adopts the job. Said once. */
        if (!c->report_failed)
            cli_warning(c->args, "could not report to the daemon (%s)%s", r < 0 ? strerror(-r) : "HTTP error",
                        c->args->job_task ? "; retrying" : ": its learning misses this run");
        c->report_failed = true;
        if (!c->args->job_task && r < 0)
            c->daemon = false;     /* not there: no more requests */
        else if (!c->args->job_task && strcmp(what, "usage") == 0)
            c->usage_off = true;   /* there, but refusing: the end may still be learnt */
    } else
        c->report_failed = false;
}

/* A job's exit status, for the daemon to read after this process has gone (it may have been
 * restarted in between and cannot wait for us). The daemon created the file for the job's user
 * and hands it over open, as /proc/self/fd/N, since the user may not reach its directory. It is
 * opened before the command starts, so the command does not inherit it. */
static int open_exit_file(const struct run_ctx *c)
{
    const char *path = c->args->exit_file;
    if (!path)
        return -EBADF;
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        cli_warning(c->args, "cannot open the exit file '%s': %s", path, strerror(errno));
        return -EBADF;
    }
    int n;
    if (sscanf(path, "/proc/self/fd/%d", &n) == 1 && n > STDERR_FILENO && n != fd)
        (void) close(n);
    return fd;
}

static void write_exit_file(const struct run_ctx *c, int fd, int status, bool timed_out)
{
    char buf[64];

    if (fd < 0)
        return;
    int n = snprintf(buf, sizeof(buf), "{\"exit_code\": %d, \"timed_out\": %s}\n", status, timed_out ? "true" : "false");
    if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t) n, 0) != n)
        cli_warning(c->args, "cannot write the exit file: %s", strerror(errno));
}

/* How to ask: headroom's admit-and-start in one request; /v1/ask then /v1/tasks (a daemon that
 * does not know "admit"); capfox's /ask. */
enum ask_way {
    ASK_START,
    ASK_V1,
    ASK_CAPFOX,
};

static json_t *ask_body(struct run_ctx *c, enum ask_way way)
{
    const struct cli_args *a = c->args;
    _cleanup_free_ char *text = NULL;
    unsigned dropped;
    int r = way == ASK_CAPFOX ? request_ask_capfox_body(c->task, a->complexity, &a->needs, &text, &dropped)
                              : request_ask_body(c->task, a->complexity, &a->needs,
                                                 way == ASK_V1 ? LEASE_SECONDS : 0, &text);
    json_t *o = r < 0 ? NULL : json_loads(text, 0, NULL);
    if (o && way == ASK_START) {
        (void) json_object_set_new(o, "admit", json_true());
        /* Its id, lease and GPUs are all the wrapper reads of the answer. */
        (void) json_object_set_new(o, "brief", json_true());
        json_t *limits = job_limits_json(a);
        if (limits)
            (void) json_object_set_new(o, "limits", limits);
        /* --wait: wait in the daemon's queue, in order with the jobs, rather than poll. */
        if (a->wait)
            (void) json_object_set_new(o, "queue", json_true());
        if (a->has_priority)
            (void) json_object_set_new(o, "priority", json_string(a->priority == 0   ? "P0"
                                                                  : a->priority == 1 ? "P1"
                                                                                     : "P2"));
        if (a->gpus)
            (void) json_object_set_new(o, "gpus", json_integer(a->gpus));
        if (a->run_timeout_usec)
            (void) json_object_set_new(o, "expected_seconds", json_real((double) a->run_timeout_usec / 1e6));
    }
    return o;
}

/* Waits in the daemon's queue until it admits the run (201 with the task in *ret), or --wait
 * runs out (-75, after telling the daemon). Polls every half second: the daemon holds the place,
 * so polling only collects the answer. */
static int wait_in_queue(struct run_ctx *c, const char *waiter, usec_t start, json_t **ret)
{
    const struct cli_args *a = c->args;
    char path[64];
    bool said = false;

    if (!waiter || strlen(waiter) != 18 || strncmp(waiter, "w-", 2) != 0 ||
        strspn(waiter + 2, "0123456789abcdef") != 16) {
        cli_error("the daemon queued '%s' without a usable waiter id", c->task);
        return -SV_EXIT_INTERNAL;
    }
    (void) snprintf(path, sizeof(path), "/v1/waiters/%s", waiter);
    for (;;) {
        json_t *answer = NULL;
        int status = call(c, "GET", path, NULL, 0, &answer);
        if (status == 201) {
            *ret = answer;
            return 201;
        }
        if (status != 202) {
            const char *err = json_get_string(answer, "error");
            char msg[CLI_MESSAGE_MAX];
            (void) snprintf(msg, sizeof(msg), "%s", err ? err : status < 0 ? strerror(-status) : "unexpected answer");
            json_decref(answer);
            cli_error("lost the place of '%s' in the daemon's queue: %s", c->task, msg);
            return -SV_EXIT_INTERNAL;
        }
        if (!said && !a->quiet) {
            fprintf(stderr, "headroom: '");
            fputs_sanitized(c->task, stderr);
            fprintf(stderr, "' waits in the queue");
            const json_t *v = json_get(answer, "position");
            if (json_is_integer(v))
                fprintf(stderr, " (position %lld)", (long long) json_integer_value(v));
            fputc('\n', stderr);
            said = true;
        }
        json_decref(answer);
        usec_t now = now_usec(CLOCK_MONOTONIC);
        if (a->wait_usec && now - start >= a->wait_usec) {
            (void) call(c, "DELETE", path, NULL, REPORT_TIMEOUT_USEC, NULL);
            cli_error("'%s' was not admitted within the --wait time", c->task);
            return -SV_EXIT_DENIED;
        }
        struct timespec ts;
        usec_t pause = QUEUE_POLL_USEC;
        if (a->wait_usec)
            pause = MIN(pause, a->wait_usec - (now - start) + 1);
        (void) nanosleep(timespec_store(&ts, pause), NULL);
    }
}

/* Admission: 0 to run, or the exit code. Waits with --wait, polling at the pace the daemon's
 * estimate gives (between 1 and 30 s). */
static int admit(struct run_ctx *c)
{
    static const char *const paths[] = {
        [ASK_START] = "/v1/tasks",
        [ASK_V1] = "/v1/ask",
        [ASK_CAPFOX] = "/ask?reason=true",
    };
    const struct cli_args *a = c->args;
    usec_t start = now_usec(CLOCK_MONOTONIC), pause = WAIT_MIN_USEC;
    enum ask_way way = ASK_START;
    bool said = false;

    for (;;) {
        _cleanup_json_ json_t *body = ask_body(c, way), *answer = NULL;
        if (!body)
            return cli_error("cannot build the request"), SV_EXIT_INTERNAL;
        int status = call(c, "POST", paths[way], body, 0, &answer);

        if (status < 0) {
            if (a->on_unavailable_fail) {
                cli_error("cannot reach the daemon (%s): not running '%s' (--on-unavailable=fail)",
                          strerror(-status), c->task);
                return SV_EXIT_DENIED;
            }
            cli_warning(a, "cannot reach the daemon (%s): running '%s' without admission%s", strerror(-status),
                        c->task, a->gpus ? " and without GPUs held for it (CUDA_VISIBLE_DEVICES unchanged)" : "");
            return 0;
        }
        if (a->gpus && status != 201 && status != 503) {
            /* Only the admission that starts the task gives GPUs: no fallback can hold them. */
            char msg[CLI_MESSAGE_MAX];
            const char *err = json_get_string(answer, "error");
            (void) snprintf(msg, sizeof(msg), "%s", err ? err : "it does not give GPUs to tasks");
            cli_error("the daemon cannot give '%s' GPUs (--gpus, HTTP %d): %s", c->task, status, msg);
            return SV_EXIT_INTERNAL;
        }
        if (way != ASK_CAPFOX && (status == 404 || status == 405)) {
            /* capfox: no /v1, no leases; its /ask is the question it can answer. */
            way = ASK_CAPFOX;
            continue;
        }
        if (way == ASK_START && status == 400) {
            /* A headroom that does not know "admit": ask, then register. */
            way = ASK_V1;
            continue;
        }
        c->daemon = true;
        if (way == ASK_START && status == 202) {
            json_t *task = NULL;
            status = wait_in_queue(c, json_get_string(answer, "waiter"), start, &task);
            json_decref(answer);
            answer = task;
            if (status < 0)
                return -status;
        }
        if (way == ASK_START && status == 201) {
            const char *id = json_get_string(answer, "id"), *lease = json_get_string(answer, "lease");
            if (id)
                (void) snprintf(c->task_id, sizeof(c->task_id), "%s", id);
            if (lease)
                (void) snprintf(c->lease, sizeof(c->lease), "%s", lease);
            if (a->gpus && take_gpus(c, answer) < 0) {
                cli_error("the daemon admitted '%s' without a usable list of GPUs", c->task);
                return SV_EXIT_INTERNAL;
            }
            return 0;
        }
        if (status == 200) {
            const char *lease = json_get_string(json_get(answer, "lease"), "id");
            if (lease)
                (void) snprintf(c->lease, sizeof(c->lease), "%s", lease);
            return 0;
        }
        if (status != 503) {
            char msg[CLI_MESSAGE_MAX];
            const char *err = json_get_string(answer, "error");
            (void) snprintf(msg, sizeof(msg), "%s", err ? err : "unexpected answer");
            cli_error("the daemon refused the ask (HTTP %d): %s", status, msg);
            return SV_EXIT_INTERNAL;
        }

        usec_t now = now_usec(CLOCK_MONOTONIC);
        if (!a->wait || (a->wait_usec && now - start >= a->wait_usec)) {
            const char *why = json_get_string(answer, "error");
            if (!why)
                why = json_get_string(answer, "message");
            if (!a->quiet && why) {
                char msg[CLI_MESSAGE_MAX];
                (void) snprintf(msg, sizeof(msg), "%s", why);
                cli_error("'%s' not admitted: %s", c->task, msg);
            } else if (!a->quiet && answer)
                format_ask(stderr, c->task, answer);
            if (a->wait)
                cli_error("'%s' was not admitted within the --wait time", c->task);
            return SV_EXIT_DENIED;
        }
        if (!said && !a->quiet) {
            fprintf(stderr, "headroom: waiting for capacity to run '%s'", c->task);
            const json_t *reasons = json_get(answer, "reasons");
            size_t i;
            const json_t *v;
            json_array_foreach(reasons, i, v) {
                fputs(i ? ", " : " (", stderr);
                fputs_sanitized(json_string_value(v), stderr);
                if (i + 1 == json_array_size(reasons))
                    fputc(')', stderr);
            }
            fputc('\n', stderr);
            said = true;
        }
        /* The daemon's own estimate, when it has one, else doubling pauses. */
        double fits;
        if (json_get_number(json_get(answer, "estimate"), "fits_in_seconds", &fits) && fits > 0)
            pause = (usec_t) (fits * 1e6);
        else
            pause = MIN(pause * 2, WAIT_MAX_USEC);
        pause = CLAMP(pause, WAIT_MIN_USEC, WAIT_MAX_USEC);
        if (a->wait_usec)
            pause = MIN(pause, a->wait_usec - (now - start) + 1);
        struct timespec ts;
        (void) nanosleep(timespec_store(&ts, pause), NULL);
    }
}

static void register_task(struct run_ctx *c)
{
    const struct cli_args *a = c->args;
    _cleanup_json_ json_t *answer = NULL;
    json_t *body = json_pack("{s:s, s:f}", "task", c->task, "complexity", a->complexity);

    /* Registered at the admission already (or no daemon to register with). */
    if (!body || !c->daemon || c->task_id[0])
        goto done;
    if (c->lease[0])
        (void) json_object_set_new(body, "lease", json_string(c->lease));
    json_t *limits = job_limits_json(a);
    if (limits)
        (void) json_object_set_new(body, "limits", limits);
    if (a->run_timeout_usec)
        (void) json_object_set_new(body, "expected_seconds", json_real((double) a->run_timeout_usec / 1e6));
    int r = call(c, "POST", "/v1/tasks", body, REPORT_TIMEOUT_USEC, &answer);
    const char *id = json_get_string(answer, "id");
    if (r == 201 && id)
        (void) snprintf(c->task_id, sizeof(c->task_id), "%s", id);
    else if (r != 404 && r != 405)
        /* A daemon without /v1/tasks (capfox) is not an error: it just does not learn. */
        cli_warning(a, "could not register '%s' with the daemon: its learning misses this run", c->task);
done:
    json_decref(body);
}

/* environ plus HEADROOM_TASK (and HEADROOM_TASK_ID when registered), for the command and for
 * `headroom progress` run from it; with GPUs given, CUDA_VISIBLE_DEVICES and HEADROOM_GPUS. */
static char **make_env(struct run_ctx *c, char *buf_task, size_t len_task, char *buf_id, size_t len_id)
{
    size_t n = 0;
    while (environ[n] && n < ENV_MAX)
        n++;
    char **env = calloc(n + 5, sizeof(char *));
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "HEADROOM_TASK=", 14) == 0 || strncmp(environ[i], "HEADROOM_TASK_ID=", 17) == 0)
            continue;
        if (c->has_gpus && (strncmp(environ[i], "CUDA_VISIBLE_DEVICES=", 21) == 0 ||
                            strncmp(environ[i], "HEADROOM_GPUS=", 14) == 0))
            continue;
        env[k++] = environ[i];
    }
    (void) snprintf(buf_task, len_task, "HEADROOM_TASK=%s", c->task);
    env[k++] = buf_task;
    if (c->task_id[0]) {
        (void) snprintf(buf_id, len_id, "HEADROOM_TASK_ID=%s", c->task_id);
        env[k++] = buf_id;
    }
    if (c->has_gpus) {
        env[k++] = c->env_cuda;
        env[k++] = c->env_gpus;
    }
    env[k] = NULL;
    return env;
}

static void report_end(struct run_ctx *c, const struct sv_end *end, const struct sv_usage *u, int status)
{
    json_t *body = json_pack("{s:f, s:f, s:I, s:i}", "duration_sec", (double) end->duration_usec / 1e6, "cpu_sec",
                             (double) end->cpu_usec / 1e6, "peak_rss_bytes", (json_int_t) end->peak_rss_bytes,
                             "exit_code", status);
    if (body && u->io_write_bytes)
        (void) json_object_set_new(body, "io_write_bytes", json_integer((json_int_t) u->io_write_bytes));
    report(c, "end", body);
}

/* The line time(1) would print, on stderr. */
static void print_summary(const struct run_ctx *c, const struct sv_child *ch, const struct sv_end *end,
                          bool timed_out)
{
    char peak[32];

    fprintf(stderr, "headroom: '");
    fputs_sanitized(c->task, stderr);
    if (timed_out)
        fprintf(stderr, "' %s and was stopped", c->stopped ? c->stopped : "timed out");
    else if (end->exited)
        fprintf(stderr, "' exited %d", end->code);
    else {
        const char *abbrev = sigabbrev_np(end->code);
        if (abbrev)
            fprintf(stderr, "' killed by SIG%s%s", abbrev, end->core_dumped ? " (core dumped)" : "");
        else
            fprintf(stderr, "' killed by signal %d%s", end->code, end->core_dumped ? " (core dumped)" : "");
    }
    fprintf(stderr, " after %.2f s; peak %s, CPU %.2f s; %s\n", (double) end->duration_usec / 1e6,
            format_bytes(peak, sizeof(peak), end->peak_rss_bytes), (double) end->cpu_usec / 1e6,
            sv_isolation_to_string(ch->isolation));
}

static int supervise(struct run_ctx *c, struct sv_child *ch, int sfd, bool *ret_timed_out, struct sv_usage *u)
{
    const struct cli_args *a = c->args;
    usec_t deadline = a->run_timeout_usec ? usec_add(ch->started_usec, a->run_timeout_usec) : USEC_INFINITY;
    /* A job's first report goes at once: its pid is what suspend, resume and cancel act on. */
    usec_t kill_at = USEC_INFINITY,
           next_sample = now_usec(CLOCK_MONOTONIC) + (a->job_task ? 50 * USEC_PER_MSEC : SAMPLE_USEC);
    uint64_t last_cpu = 0, last_wchar = 0, last_io_read = 0, last_io_write = 0;
    usec_t last_t = ch->started_usec, last_activity = ch->started_usec;
    bool stalled = false;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    _cleanup_close_ int root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

    for (;;) {
        usec_t now = now_usec(CLOCK_MONOTONIC);
        if (!*ret_timed_out && now >= deadline) {
            /* GNU timeout's escalation: TERM to everything, KILL after the grace time. */
            *ret_timed_out = true;
            c->stopped = "timed out";
            (void) sv_signal(ch, SIGTERM);
            kill_at = usec_add(now, a->kill_after_usec);
        }
        if (*ret_timed_out && now >= kill_at) {
            (void) sv_signal(ch, SIGKILL);
            kill_at = USEC_INFINITY;
        }
        if (now >= next_sample) {
            bool sampled = sv_sample(ch, u) >= 0;
            /* Suspended by the daemon (its cgroup frozen, or its group stopped): neither a stall
             * nor time that counts against --timeout. */
            if (root_fd >= 0 && sv_frozen_state(root_fd, ch->pid, NULL) == 1) {
                last_activity = now;
                if (deadline != USEC_INFINITY && !*ret_timed_out)
                    deadline = usec_add(deadline, now - last_t);
            }
            /* Activity is output written (wchar: files, pipes or a terminal alike, so inherited
             * stdio needs no pipe of ours) or CPU time used. */
            if (sampled && (u->wchar_bytes != last_wchar || u->cpu_usec != last_cpu)) {
                last_activity = now;
                if (stalled && !a->quiet)
                    fprintf(stderr, "headroom: '%s' is active again\n", c->task);
                stalled = false;
            }
            bool stall_now = a->stall_usec && !stalled && now - last_activity >= a->stall_usec;
            if (stall_now) {
                stalled = true;
                if (!a->quiet)
                    fprintf(stderr, "headroom: '%s' stalled: no output and no CPU time for %.0f s%s\n", c->task,
                            (double) (now - last_activity) / 1e6, a->on_stall_kill ? "; stopping it" : "");
                if (a->on_stall_kill && !*ret_timed_out) {
                    /* As a timeout: TERM, then KILL after the grace. A stall never kills unless
                     * asked to. */
                    *ret_timed_out = true;
                    c->stopped = "stalled";
                    (void) sv_signal(ch, SIGTERM);
                    kill_at = usec_add(now, a->kill_after_usec);
                }
            }
            if (sampled && c->task_id[0]) {
                double dt = (double) (now - last_t);
                /* The first report carries the command's pid: the daemon watches it from then on
                 * (until then, this wrapper), and a command that ends at once costs no request. */
                json_t *body = json_pack("{s:I, s:I, s:b, s:I}", "rss_bytes", (json_int_t) u->rss_bytes, "pid",
                                         (json_int_t) ch->pid, "stalled", stalled, "last_activity_ms",
                                         (json_int_t) ((now_usec(CLOCK_REALTIME) - (now - last_activity)) /
                                                       USEC_PER_MSEC));
                if (body && dt > 0 && ncpu > 0 && u->cpu_usec >= last_cpu)
                    (void) json_object_set_new(body, "cpu_pct",
                                               json_real(100.0 * (double) (u->cpu_usec - last_cpu) / dt / ncpu));
                if (body) {
                    (void) json_object_set_new(body, "threads", json_integer(u->threads));
                    (void) json_object_set_new(body, "fds", json_integer(u->fds));
                    (void) json_object_set_new(body, "processes", json_integer(u->processes));
                }
                if (body && dt > 0 && u->io_read_bytes >= last_io_read && u->io_write_bytes >= last_io_write) {
                    (void) json_object_set_new(body, "io_read_bps",
                                               json_real((double) (u->io_read_bytes - last_io_read) * 1e6 / dt));
                    (void) json_object_set_new(body, "io_write_bps",
                                               json_real((double) (u->io_write_bytes - last_io_write) * 1e6 / dt));
                }
                report(c, "usage", body);
            }
            last_cpu = u->cpu_usec;
            last_wchar = u->wchar_bytes;
            last_io_read = u->io_read_bytes;
            last_io_write = u->io_write_bytes;
            last_t = now;
            next_sample = now + SAMPLE_USEC;
        }

        usec_t wake = MIN(next_sample, MIN(*ret_timed_out ? kill_at : deadline, USEC_INFINITY));
        int ms = wake <= now ? 0 : (int) MIN((wake - now + 999) / 1000, (usec_t) 60000);
        struct pollfd p[2] = { { .fd = ch->pidfd, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
        int n = poll(p, 2, ms);
        if (n < 0 && errno != EINTR)
            return -errno;
        if (n > 0 && (p[1].revents & POLLIN)) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof(si)) == (ssize_t) sizeof(si))
                (void) sv_signal(ch, (int) si.ssi_signo);
        }
        if (n > 0 && (p[0].revents & (POLLIN | POLLHUP)))
            return 0;
    }
}

static int run(const struct cli_args *args)
{
    static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
    struct run_ctx c = { .args = args };
    struct sv_child ch = { .pidfd = -EBADF };
    struct sv_usage usage = { 0 };
    struct sv_end end;
    char env_task[TASK_NAME_MAX + 32], env_id[64], cgname[64];
    bool timed_out = false;
    int r;

    /* The task's name: --task, else the command's base name, as capfox's run does. */
    const char *name = args->task;
    if (!name) {
        const char *slash = strrchr(args->raw_argv[0], '/');
        name = slash ? slash + 1 : args->raw_argv[0];
    }
    if (!request_task_is_valid(name)) {
        cli_error("cannot name the task after '%s': give --task NAME", args->raw_argv[0]);
        return SV_EXIT_INTERNAL;
    }
    (void) snprintf(c.task, sizeof(c.task), "%s", name);

    if (cli_client(args, &c.client) != 0)
        return SV_EXIT_INTERNAL;
    _cleanup_close_ int exit_fd = open_exit_file(&c);
    if (args->job_task) {
        /* A job: the daemon admitted it and registered its task before starting us. */
        (void) snprintf(c.task_id, sizeof(c.task_id), "%s", args->job_task);
        c.daemon = true;
    } else {
        r = admit(&c);
        if (r != 0)
            return r;
        register_task(&c);
    }

    _cleanup_free_ char **env = make_env(&c, env_task, sizeof(env_task), env_id, sizeof(env_id));
    if (!env)
        return cli_error("out of memory"), SV_EXIT_INTERNAL;

    /* Signals meant for the command arrive here as events, before the child exists, so none is
     * lost in between; the child starts with an empty mask (sv_spawn). */
    sigset_t mask, old;
    sigemptyset(&mask);
    for (size_t i = 0; i < ELEMENTSOF(forwarded); i++)
        sigaddset(&mask, forwarded[i]);
    if (sigprocmask(SIG_BLOCK, &mask, &old) < 0)
        return cli_error("cannot block signals: %s", strerror(errno)), SV_EXIT_INTERNAL;
    _cleanup_close_ int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0)
        return cli_error("cannot create a signalfd: %s", strerror(errno)), SV_EXIT_INTERNAL;

    (void) snprintf(cgname, sizeof(cgname), "headroom-run-%d", (int) getpid());
    struct sv_spawn_options so = {
        .argv = args->raw_argv,
        .envp = env,
        .want_cgroup = !args->no_cgroup,
        .cgroup_name = cgname,
        .limits = { .max_mem_bytes = args->max_mem_bytes, .max_cpu_cores = args->max_cpu_cores,
                    .max_pids = args->max_pids },
        .foreground = isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp(),
        .keep_ignored = true,
        /* Root may place a task whose limits its own cgroup cannot give below the top of the
         * hierarchy; anyone else could not create cgroups there anyway. */
        .allow_top = geteuid() == 0,
    };
    r = sv_spawn(&so, &ch);
    if (r < 0) {
        int code = r == -ENOENT ? SV_EXIT_NOTFOUND
                   : r == -EOPNOTSUPP ? SV_EXIT_INTERNAL
                   : (r == -EACCES || r == -ENOEXEC || r == -EISDIR || r == -ELOOP || r == -ENOTDIR ||
                      r == -EPERM || r == -ETXTBSY)
                           ? SV_EXIT_NOEXEC
                           : SV_EXIT_INTERNAL;
        if (r == -EOPNOTSUPP)
            cli_error("cannot apply --max-mem/--max-cpu/--max-pids: %s", ch.isolation_desc);
        else
            cli_error("%s: %s", args->raw_argv[0], code == SV_EXIT_NOTFOUND ? "command not found" : strerror(-r));
        report(&c, "end", json_pack("{s:i}", "exit_code", code));
        write_exit_file(&c, exit_fd, code, false);
        return code;
    }

    r = supervise(&c, &ch, sfd, &timed_out, &usage);
    if (r < 0)
        cli_error("supervising '%s' failed: %s", c.task, strerror(-r));
    r = sv_reap(&ch, 0, &usage, &end);
    if (r < 0) {
        cli_error("cannot collect the end of '%s': %s", c.task, strerror(-r));
        sv_child_done(&ch);
        return SV_EXIT_INTERNAL;
    }
    int status = sv_exit_code(&end, timed_out);
    write_exit_file(&c, exit_fd, status, timed_out);
    report_end(&c, &end, &usage, status);
    /* A job's end is worth a few tries: the daemon may be restarting. */
    for (int i = 0; i < 5 && args->job_task && c.report_failed; i++) {
        struct timespec ts = { .tv_sec = 1 };
        (void) nanosleep(&ts, NULL);
        report_end(&c, &end, &usage, status);
    }
    if (!args->quiet)
        print_summary(&c, &ch, &end, timed_out);

    /* Killed by a signal (not ours): die of the same signal, so that the caller's shell sees what
     * it would have seen without the wrapper. No core dump of our own. */
    if (!end.exited && !timed_out) {
        (void) prctl(PR_SET_DUMPABLE, 0);
        (void) signal(end.code, SIG_DFL);
        (void) sigprocmask(SIG_SETMASK, &old, NULL);
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, end.code);
        (void) sigprocmask(SIG_UNBLOCK, &one, NULL);
        (void) raise(end.code);
    }
    (void) sigprocmask(SIG_SETMASK, &old, NULL);
    return status;
}

const struct cli_command cli_command_run = {
    .name = "run",
    .synopsis = "run [OPTIONS] [--] COMMAND [ARGS...]",
    .summary = "ask, then run COMMAND supervised, like time(1) or timeout(1)",
    .help = "Asks the daemon whether the task may start (holding what it needs), runs COMMAND in\n"
            "its own process group and cgroup with your stdin, stdout and stderr, forwards\n"
            "SIGINT, SIGTERM, SIGHUP and SIGQUIT to it, and reports its start, use and end so\n"
            "the daemon learns what the task costs. Options end at COMMAND; '--' also ends them.\n"
            "Prints one summary line on stderr at the end (not with --quiet).\n"
            "\n"
            "Options:\n"
            "      --task NAME         the task type (default: COMMAND's base name)\n"
            "      --complexity N      how big this run is, 0 to 1e15 (default 0)\n"
            "      --cpu PCT, --mem SIZE, --gpu PCT, --vram SIZE, --disk SIZE\n"
            "                          what it needs, as for ask; else the learnt prediction\n"
            "      --gpus N            hold N GPUs (1-16) for it alone: each with room for the\n"
            "                          --gpu/--vram need and held by no other task (unless\n"
            "                          thresholds.gpu.shareable); COMMAND gets their UUIDs in\n"
            "                          CUDA_VISIBLE_DEVICES and their indices in HEADROOM_GPUS\n"
            "      --wait[=DURATION]   when denied, wait for capacity (for ever, or DURATION) in\n"
            "                          the daemon's queue, in order with the jobs\n"
            "      --priority P0|P1|P2 its place in that queue (default P1)\n"
            "      --timeout DURATION  stop COMMAND after DURATION: SIGTERM, then SIGKILL\n"
            "      --kill-after DUR    the grace between them (default 10s)\n"
            "      --max-mem SIZE, --max-cpu CPUS, --max-pids N\n"
            "                          limits, in its cgroup (refused when none can be made)\n"
            "      --warn-mem SIZE, --critical-mem SIZE, --warn-cpu PCT\n"
            "                          its own limits for the task:high-memory,\n"
            "                          task:critical-memory and task:high-cpu events (over\n"
            "                          the daemon's supervise.* ones); nothing is stopped\n"
            "      --no-cgroup         its own process group only\n"
            "      --stall DURATION    no output and no CPU time for that long is a stall\n"
            "                          (default 5m, 0 off): said on stderr and to the daemon\n"
            "      --on-stall=warn|kill\n"
            "                          kill: stop a stalled COMMAND as --timeout does (124)\n"
            "      --on-unavailable=run|fail\n"
            "                          without a daemon: run anyway with a warning (default),\n"
            "                          or fail with 75\n"
            "\n"
            "Exit status: COMMAND's own; 128+N when it was killed by signal N (headroom then\n"
            "dies of the same signal); 124 timed out; 125 headroom failed; 126 COMMAND cannot\n"
            "be run; 127 not found; 75 not admitted (or --wait ran out).\n",
    .options = CLI_OPTS_CONNECTION | CLI_OPT(CLI_OPTION_QUIET) | CLI_OPT(CLI_OPTION_HELP) |
               CLI_OPT(CLI_OPTION_COMPLEXITY) | CLI_OPT(CLI_OPTION_CPU) | CLI_OPT(CLI_OPTION_MEM) |
               CLI_OPT(CLI_OPTION_GPU) | CLI_OPT(CLI_OPTION_VRAM) | CLI_OPT(CLI_OPTION_DISK) |
               CLI_OPT(CLI_OPTION_TASK) | CLI_OPT(CLI_OPTION_WAIT) | CLI_OPT(CLI_OPTION_KILL_AFTER) |
               CLI_OPT(CLI_OPTION_ON_UNAVAILABLE) | CLI_OPT(CLI_OPTION_MAX_MEM) | CLI_OPT(CLI_OPTION_MAX_CPU) |
               CLI_OPT(CLI_OPTION_MAX_PIDS) | CLI_OPT(CLI_OPTION_NO_CGROUP) | CLI_OPT(CLI_OPTION_STALL) |
               CLI_OPT(CLI_OPTION_ON_STALL) | CLI_OPT(CLI_OPTION_GPUS) | CLI_OPT(CLI_OPTION_PRIORITY) |
               CLI_OPT(CLI_OPTION_WARN_MEM) | CLI_OPT(CLI_OPTION_CRITICAL_MEM) | CLI_OPT(CLI_OPTION_WARN_CPU),
    .arg_name = "COMMAND",
    .stop_at_operand = true,
    .run = run,
};
