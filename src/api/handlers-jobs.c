/* SPDX-License-Identifier: MIT */
/* Background jobs (headroom submit) and the controls of supervised tasks:
 *
 *   GET  /v1/jobs                       the unfinished jobs and the newest finished ones
 *   POST /v1/jobs                       queue a job {argv, cwd, env, task, complexity, needs,
 *                                        priority, gpus, timeout_sec, kill_after_sec, stall_sec,
 *                                        on_stall, max_mem_bytes, max_cpu, max_pids,
 *                                        checkpoint_signal, checkpoint_grace_sec}
 *   GET  /v1/jobs/ID                    one job
 *   GET  /v1/jobs/ID/log?offset=N&max=M its output (stdout and stderr together), raw bytes
 *   POST /v1/jobs/ID/{cancel,suspend,resume}
 *
 * A job runs as whoever submitted it: the peer's uid on the Unix socket. Only that user and root
 * may read its log or act on it. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api-internal.h"
#include "basic/fileio.h"
#include "model/schedule.h"
#include "store/store.h"

#define JOBS_PREFIX      "/v1/jobs/"
#define ARGV_MAX         1024
#define ENV_MAX          1024
#define STRINGS_MAX_BYTES (64U * 1024U)
#define LOG_CHUNK_MAX    (128U * 1024U)
#define COMPLEXITY_MAX   1e15
#define SECONDS_MAX      (86400.0 * 366)

static const char *const job_states[_API_JOB_STATE_MAX] = {
    [API_JOB_QUEUED] = "queued",       [API_JOB_RUNNING] = "running", [API_JOB_SUSPENDED] = "suspended",
    [API_JOB_DONE] = "done",           [API_JOB_FAILED] = "failed",   [API_JOB_CANCELLED] = "cancelled",
    [API_JOB_LOST] = "lost",
};

const char *api_job_state_to_string(enum api_job_state s)
{
    return s >= 0 && s < _API_JOB_STATE_MAX ? job_states[s] : NULL;
}

enum api_job_state api_job_state_from_string(const char *s)
{
    for (int i = 0; s && i < _API_JOB_STATE_MAX; i++)
        if (strcmp(s, job_states[i]) == 0)
            return (enum api_job_state) i;
    return _API_JOB_STATE_INVALID;
}

/* Decimal digits only, no sign or space, at most UINT64_MAX. */
static int parse_decimal(const char *s, uint64_t *ret)
{
    uint64_t v = 0;

    if (!s || !*s)
        return -EINVAL;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t) (*s - '0')) / 10)
            return -EINVAL;
        v = v * 10 + (uint64_t) (*s - '0');
    }
    *ret = v;
    return 0;
}

/* An array of 1..max strings without NUL bytes, at most STRINGS_MAX_BYTES together; env entries
 * must look like NAME=VALUE. */
static int check_strings(json_t *v, const char *key, bool required, size_t max, bool env, char *err, size_t errlen)
{
    size_t i, total = 0;
    json_t *e;

    if (!v || json_is_null(v)) {
        if (!required)
            return 0;
        (void) snprintf(err, errlen, "%s is required", key);
        return -EINVAL;
    }
    if (!json_is_array(v) || json_array_size(v) > max || (required && json_array_size(v) == 0)) {
        (void) snprintf(err, errlen, "%s must be an array of %s1 to %zu strings", key, required ? "" : "0 or ", max);
        return -EINVAL;
    }
    json_array_foreach(v, i, e) {
        const char *s = json_string_value(e);
        if (!s || json_string_length(e) != strlen(s)) {
            (void) snprintf(err, errlen, "%s[%zu] must be a string without NUL bytes", key, i);
            return -EINVAL;
        }
        if (env && (s[0] == '=' || !strchr(s, '='))) {
            (void) snprintf(err, errlen, "%s[%zu] must be NAME=VALUE", key, i);
            return -EINVAL;
        }
        if (!env && i == 0 && !s[0]) {
            (void) snprintf(err, errlen, "%s[0] must not be empty", key);
            return -EINVAL;
        }
        total += strlen(s) + 1;
    }
    if (total > STRINGS_MAX_BYTES) {
        (void) snprintf(err, errlen, "%s is too long (%zu bytes, at most %u)", key, total, STRINGS_MAX_BYTES);
        return -EINVAL;
    }
    return 0;
}

/* A signal by name ("USR1", "SIGUSR1") or number; 0 for anything else. */
static int signal_number(json_t *v)
{
    if (json_is_integer(v))
        return json_integer_value(v) >= 1 && json_integer_value(v) < NSIG ? (int) json_integer_value(v) : 0;
    const char *s = json_string_value(v);
    if (!s)
        return 0;
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    for (int sig = 1; sig < NSIG; sig++) {
        const char *name = sigabbrev_np(sig);
        if (name && strcasecmp(s, name) == 0)
            return sig;
    }
    return 0;
}

/* Checks a submitted body and builds the job to queue: j->spec is the body without the fields
 * that have columns of their own (task, complexity, priority), normalized. */
static int parse_submit(json_t *body, struct api_job *j, char **ret_spec, char *err, size_t errlen)
{
    static const char *const known[] = { "argv",          "cwd",        "env",       "task",
                                         "complexity",    "needs",      "priority",  "gpus",
                                         "timeout_sec",   "kill_after_sec", "stall_sec", "on_stall",
                                         "max_mem_bytes", "max_cpu",    "max_pids",  "checkpoint_signal",
                                         "checkpoint_grace_sec", "limits" };
    static const char *const seconds[] = { "timeout_sec", "kill_after_sec", "stall_sec", "checkpoint_grace_sec" };
    const char *task = NULL;
    struct decide_need need = { 0 };
    double d;
    int r;

    r = reject_unknown(body, known, ELEMENTSOF(known), err, errlen);
    if (r >= 0)
        r = check_strings(json_object_get(body, "argv"), "argv", true, ARGV_MAX, false, err, errlen);
    if (r >= 0)
        r = check_strings(json_object_get(body, "env"), "env", false, ENV_MAX, true, err, errlen);
    if (r < 0)
        return r;
    const char *cwd = json_string_value(json_object_get(body, "cwd"));
    if (!cwd || cwd[0] != '/' || strlen(cwd) >= PATH_MAX ||
        json_string_length(json_object_get(body, "cwd")) != strlen(cwd)) {
        (void) snprintf(err, errlen, "cwd must be an absolute directory");
        return -EINVAL;
    }
    r = get_task(body, false, &task, err, errlen);
    if (r < 0)
        return r;
    if (!task) {
        /* As run does: the command's base name. */
        const char *a0 = json_string_value(json_array_get(json_object_get(body, "argv"), 0));
        const char *slash = strrchr(a0, '/');
        task = slash ? slash + 1 : a0;
        if (!task_name_is_valid(task)) {
            (void) snprintf(err, errlen, "cannot name the task after argv[0]: give task");
            return -EINVAL;
        }
    }
    (void) snprintf(j->task, sizeof(j->task), "%s", task);
    r = get_number(body, "complexity", COMPLEXITY_MAX, &j->complexity, err, errlen);
    if (r < 0)
        return r;
    r = api_parse_needs(json_object_get(body, "needs"), &need, err, errlen);
    if (r < 0)
        return r;
    json_t *pv = json_object_get(body, "priority");
    j->priority = SCHED_PRIORITY_DEFAULT;
    if (pv && !json_is_null(pv)) {
        enum sched_priority p = sched_priority_from_string(json_string_value(pv));
        if (p < 0) {
            (void) snprintf(err, errlen, "priority must be P0, P1 or P2");
            return -EINVAL;
        }
        j->priority = (int) p;
    }
    json_t *gv = json_object_get(body, "gpus");
    if (gv && !json_is_null(gv) &&
        (!json_is_integer(gv) || json_integer_value(gv) < 1 || json_integer_value(gv) > DECIDE_GPUS_MAX)) {
        (void) snprintf(err, errlen, "gpus must be a whole number from 1 to %d", DECIDE_GPUS_MAX);
        return -EINVAL;
    }
    for (size_t i = 0; i < ELEMENTSOF(seconds); i++) {
        r = get_number(body, seconds[i], SECONDS_MAX, &d, err, errlen);
        if (r < 0)
            return r;
    }
    uint64_t bytes = 0;
    r = get_bytes(body, "max_mem_bytes", &bytes, err, errlen);
    if (r >= 0)
        r = get_number(body, "max_cpu", 4096, &d, err, errlen);
    if (r >= 0)
        r = get_number(body, "max_pids", 4194304, &d, err, errlen);
    if (r < 0)
        return r;
    struct protect_limits own;
    r = api_parse_limits(json_object_get(body, "limits"), &own, err, errlen);
    if (r < 0)
        return r;
    json_t *ov = json_object_get(body, "on_stall");
    if (ov && !json_is_null(ov) && !(json_is_string(ov) && (strcmp(json_string_value(ov), "warn") == 0 ||
                                                             strcmp(json_string_value(ov), "kill") == 0))) {
        (void) snprintf(err, errlen, "on_stall must be \"warn\" or \"kill\"");
        return -EINVAL;
    }
    json_t *cv = json_object_get(body, "checkpoint_signal");
    if (cv && !json_is_null(cv) && signal_number(cv) == 0) {
        (void) snprintf(err, errlen, "checkpoint_signal must be a signal name such as \"USR1\" or a number");
        return -EINVAL;
    }

    _cleanup_json_ json_t *spec = json_deep_copy(body);
    if (!spec)
        return -ENOMEM;
    (void) json_object_del(spec, "task");
    (void) json_object_del(spec, "complexity");
    (void) json_object_del(spec, "priority");
    /* Sizes given as "8G" are kept as byte counts. */
    (void) json_object_set_new(spec, "needs", api_need_json(&need));
    (void) json_object_set_new(spec, "limits", api_limits_json(&own));
    if (cv && !json_is_null(cv))
        (void) json_object_set_new(spec, "checkpoint_signal", json_integer(signal_number(cv)));
    char *text = json_dumps(spec, JSON_COMPACT);
    if (!text)
        return -ENOMEM;
    if (strlen(text) > STORE_JOB_SPEC_MAX) {
        free(text);
        (void) snprintf(err, errlen, "the job (command line and environment) is larger than %u bytes",
                        STORE_JOB_SPEC_MAX);
        return -EINVAL;
    }
    *ret_spec = text;
    return 0;
}

static const char *user_name(uint32_t uid, char *buf, size_t len)
{
    struct passwd *pw = getpwuid((uid_t) uid);
    if (pw && pw->pw_name)
        (void) snprintf(buf, len, "%s", pw->pw_name);
    else
        (void) snprintf(buf, len, "%" PRIu32, uid);
    return buf;
}

static json_t *time_json(usec_t real_usec)
{
    char ts[64];
    return real_usec ? json_string(format_rfc3339(ts, sizeof(ts), real_usec)) : json_null();
}

static json_t *job_json(const struct api *a, const struct api_job *j)
{
    _cleanup_json_ json_t *spec = j->spec ? json_loads(j->spec, 0, NULL) : NULL;
    char user[64], tid[API_LEASE_ID_MAX], log[PATH_MAX];
    json_t *waiting = json_null();

    if (j->state == API_JOB_QUEUED && j->waiting) {
        waiting = json_array();
        for (int r = 0; waiting && r < _RESOURCE_MAX; r++)
            if (j->waiting & (1u << r))
                (void) json_array_append_new(waiting, json_string(resource_to_string((enum resource) r)));
    } else if (j->state == API_JOB_QUEUED && j->waiting_for[0])
        waiting = json_pack("[s]", j->waiting_for);
    if (j->task_id)
        format_task_id(tid, j->task_id);
    (void) snprintf(log, sizeof(log), "%s/%" PRIi64 ".log", a->jobs_dir ? a->jobs_dir : "", j->id);
    json_t *argv = json_object_get(spec, "argv");
    json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:o, s:O, s:O, s:I, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, "
                     "s:o, s:s, s:O, s:b}",
                     "id", (json_int_t) j->id, "state", api_job_state_to_string(j->state), "priority",
                     sched_priority_to_string((enum sched_priority) j->priority), "task", j->task, "complexity",
                     json_number(j->complexity), "argv", argv ? argv : json_null(), "cwd",
                     json_object_get(spec, "cwd") ? json_object_get(spec, "cwd") : json_null(), "uid",
                     (json_int_t) j->uid, "user", user_name(j->uid, user, sizeof(user)), "submitted_at",
                     time_json(j->submitted_real_usec), "started_at", time_json(j->started_real_usec), "ended_at",
                     time_json(j->ended_real_usec), "exit_code",
                     j->exit_code >= 0 ? json_integer(j->exit_code) : json_null(), "reason",
                     j->reason[0] ? json_string(j->reason) : json_null(), "waiting", waiting, "position",
                     j->position ? json_integer(j->position) : json_null(), "task_id",
                     j->task_id ? json_string(tid) : json_null(), "pid",
                     j->pid > 0 ? json_integer((json_int_t) j->pid) : json_null(), "log", log, "needs",
                     json_object_get(spec, "needs") ? json_object_get(spec, "needs") : json_null(),
                     "cancel_requested", j->cancel_requested);
    if (o)
        (void) json_object_set_new(o, "supervisor_pid",
                                   j->wrapper_pid > 0 && !api_job_state_is_finished(j->state)
                                           ? json_integer((json_int_t) j->wrapper_pid)
                                           : json_null());
    return o;
}

static const struct api_job *find_job(const struct api *a, int64_t id)
{
    for (unsigned i = 0; i < a->n_jobs; i++)
        if (a->jobs[i].id == id)
            return &a->jobs[i];
    return NULL;
}

static void jobs_list(struct api *a, struct http_response *resp)
{
    json_t *arr = json_array();
    for (unsigned i = 0; arr && i < a->n_jobs; i++)
        (void) json_array_append_new(arr, job_json(a, &a->jobs[i]));
    reply_json(resp, 200, json_pack("{s:o}", "jobs", arr ? arr : json_array()));
}

static void job_submit(struct api *a, const struct http_request *req, struct http_response *resp)
{
    _cleanup_json_ json_t *body = NULL;
    _cleanup_free_ char *spec = NULL;
    struct api_job j = { 0 }, got;
    char err[256];
    uint32_t uid;

    if (!a->jobs_dir || !a->jobs_dir[0]) {
        reply_error(resp, 503, "this daemon runs no jobs (it has no Unix socket for their supervisors to report to)");
        return;
    }
    if (api_caller_uid(a, req, &uid) < 0) {
        reply_error(resp, 403, "a job runs as the user who submits it: submit over the Unix socket, "
                               "whose peer credentials say who you are, or over TCP with your own token "
                               "(auth.user_tokens_file)");
        return;
    }
    int r = object_body(req, &body, err, sizeof(err));
    if (r >= 0)
        r = parse_submit(body, &j, &spec, err, sizeof(err));
    if (r == -ENOMEM) {
        reply_error(resp, 503, "out of memory");
        return;
    }
    if (r < 0) {
        a->counters.bad_requests_total++;
        reply_error(resp, 400, "invalid request body: %s", err);
        return;
    }
    if (geteuid() != 0 && uid != (uint32_t) geteuid()) {
        reply_error(resp, 403, "this daemon does not run as root: it can run jobs as uid %u only", (unsigned) geteuid());
        return;
    }
    struct passwd *pw = getpwuid((uid_t) uid);
    if (!pw) {
        reply_error(resp, 403, "uid %" PRIu32 " has no user entry: cannot run a job as it", uid);
        return;
    }
    j.uid = uid;
    j.gid = (uint32_t) pw->pw_gid;
    j.spec = spec;
    r = a->hooks.job_submit(a->hooks.userdata, &j, &got);
    if (r == -ENOSPC) {
        reply_error(resp, 503, "the job queue is full");
        return;
    }
    if (r < 0) {
        reply_error(resp, 500, "cannot queue the job: %s", strerror(-r));
        return;
    }
    reply_json(resp, 201, job_json(a, &got));
}

static void job_log(struct api *a, const struct api_job *j, const struct http_request *req, struct http_response *resp)
{
    char path[PATH_MAX];
    uint64_t offset = 0, max = LOG_CHUNK_MAX;
    const char *q;

    q = http_request_query(req, "offset");
    if (q && parse_decimal(q, &offset) < 0) {
        reply_error(resp, 400, "offset must be a byte count");
        return;
    }
    q = http_request_query(req, "max");
    if (q && (parse_decimal(q, &max) < 0 || max == 0)) {
        reply_error(resp, 400, "max must be a positive byte count");
        return;
    }
    max = MIN(max, (uint64_t) LOG_CHUNK_MAX);
    (void) snprintf(path, sizeof(path), "%s/%" PRIi64 ".log", a->jobs_dir, j->id);
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (fd < 0) {
        reply_error(resp, 404, errno == ENOENT ? "job %" PRIi64 " has no log yet" : "cannot open the log of job %" PRIi64,
                    j->id);
        return;
    }
    char *buf = malloc(max + 1);
    if (!buf) {
        reply_error(resp, 503, "out of memory");
        return;
    }
    ssize_t n = offset > (uint64_t) INT64_MAX ? 0 : pread(fd, buf, max, (off_t) offset);
    if (n < 0) {
        free(buf);
        reply_error(resp, 500, "cannot read the log: %s", strerror(errno));
        return;
    }
    buf[n] = '\0';
    http_response_set(resp, 200, "application/octet-stream", buf, (size_t) n);
}

void handle_v1_jobs(struct api *a, const struct http_request *req, struct http_response *resp)
{
    if (req->method == HTTP_POST)
        job_submit(a, req, resp);
    else
        jobs_list(a, resp);
}

static const char *const control_names[_API_CONTROL_MAX] = {
    [API_CONTROL_CANCEL] = "cancel",
    [API_CONTROL_SUSPEND] = "suspend",
    [API_CONTROL_RESUME] = "resume",
};

int api_control_from_string(const char *s)
{
    for (int i = 0; i < _API_CONTROL_MAX; i++)
        if (strcmp(s, control_names[i]) == 0)
            return i;
    return -EINVAL;
}

/* Replies to a refused control with the right status. */
void api_reply_control_error(struct http_response *resp, int r, const char *what, const char *name)
{
    if (r == -ENOENT)
        reply_error(resp, 404, "no such %s", what);
    else if (r == -EBUSY)
        reply_error(resp, 409, "%s: the %s is not in a state that allows it", name, what);
    else if (r == -EPERM)
        reply_error(resp, 403, "%s: the %s's process was not taken as its owner's (it registered over TCP "
                               "without a user's token): only watched, never signalled", name, what);
    else if (r == -ESRCH)
        reply_error(resp, 409, "%s: the %s has no process (yet, or any more)", name, what);
    else
        reply_error(resp, 500, "%s failed: %s", name, strerror(-r));
}

void handle_v1_job(struct api *a, const struct http_request *req, struct http_response *resp)
{
    const char *s = req->path + strlen(JOBS_PREFIX);
    const char *slash = strchr(s, '/');
    char num[24];
    uint64_t id;
    size_t len = slash ? (size_t) (slash - s) : strlen(s);

    if (len == 0 || len >= sizeof(num)) {
        reply_error(resp, 404, "no such job");
        return;
    }
    memcpy(num, s, len);
    num[len] = '\0';
    const struct api_job *j = parse_decimal(num, &id) >= 0 && id <= INT64_MAX ? find_job(a, (int64_t) id) : NULL;
    if (!j) {
        reply_error(resp, 404, "no such job");
        return;
    }
    bool get = req->method == HTTP_GET || req->method == HTTP_HEAD;
    if (!slash) {
        if (!get) {
            http_response_header(resp, "Allow", "GET, HEAD");
            reply_error(resp, 405, "GET %s%s, or POST %s%s/{cancel,suspend,resume}", JOBS_PREFIX, num, JOBS_PREFIX,
                        num);
            return;
        }
        reply_json(resp, 200, job_json(a, j));
        return;
    }
    uint32_t uid;
    if (api_caller_uid(a, req, &uid) < 0 || !api_may_act(uid, true, j->uid)) {
        reply_error(resp, 403, "job %s is not yours", num);
        return;
    }
    if (strcmp(slash, "/log") == 0) {
        if (!get) {
            http_response_header(resp, "Allow", "GET, HEAD");
            reply_error(resp, 405, "the log is read with GET");
            return;
        }
        job_log(a, j, req, resp);
        return;
    }
    int what = api_control_from_string(slash + 1);
    if (what < 0) {
        reply_error(resp, 404, "no such endpoint (%s%s/{log,cancel,suspend,resume})", JOBS_PREFIX, num);
        return;
    }
    if (req->method != HTTP_POST) {
        http_response_header(resp, "Allow", "POST");
        reply_error(resp, 405, "%s is a POST", slash + 1);
        return;
    }
    int64_t jid = j->id;
    int r = a->hooks.job_control(a->hooks.userdata, jid, (enum api_control) what);
    if (r < 0) {
        api_reply_control_error(resp, r, "job", slash + 1);
        return;
    }
    /* The hook may have moved the job in the array. */
    j = find_job(a, jid);
    reply_json(resp, 200, j ? job_json(a, j) : json_pack("{s:I}", "id", (json_int_t) jid));
}
