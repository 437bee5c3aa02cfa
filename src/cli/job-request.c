/* SPDX-License-Identifier: MIT */
#include "cli/job-request.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <string.h>

#include "basic/macro.h"
#include "basic/utf8.h"
#include "cli/json-util.h"

/* A number as JSON: an integer when it is one, so "60" stays 60 rather than 60.0. */
static json_t *number(double v)
{
    /* floor(v) ≤ v always, so "not above" means integral, without comparing floats for equality. */
    if (!(v > floor(v)) && fabs(v) < 9007199254740992.0)
        return json_integer((json_int_t) v);
    return json_real(v);
}

static json_t *seconds(usec_t u)
{
    if (u % USEC_PER_SEC == 0)
        return json_integer((json_int_t) (u / USEC_PER_SEC));
    return json_real((double) u / (double) USEC_PER_SEC);
}

/* Sets key to v (taking it); -ENOMEM when v is NULL or the set fails. */
static int set(json_t *o, const char *key, json_t *v)
{
    if (!v)
        return -ENOMEM;
    return json_object_set_new(o, key, v) < 0 ? -ENOMEM : 0;
}

static int needs_object(const struct cli_needs *n, json_t **ret)
{
    _cleanup_json_ json_t *o = json_object();
    int r = 0;

    if (!o)
        return -ENOMEM;
    if (n->has_cpu)
        r = r ?: set(o, "cpu_pct", number(n->cpu_pct));
    if (n->has_mem)
        r = r ?: set(o, "mem_bytes", json_integer((json_int_t) n->mem_bytes));
    if (n->has_gpu)
        r = r ?: set(o, "gpu_pct", number(n->gpu_pct));
    if (n->has_vram)
        r = r ?: set(o, "vram_bytes", json_integer((json_int_t) n->vram_bytes));
    if (n->has_disk)
        r = r ?: set(o, "disk_bytes", json_integer((json_int_t) n->disk_bytes));
    if (r < 0)
        return r;
    *ret = json_object_size(o) > 0 ? TAKE_PTR(o) : NULL;
    return 0;
}

/* The environment as sent: see job_submit_body(). */
static int env_array(char *const *env, json_t **ret, unsigned *ret_dropped)
{
    _cleanup_json_ json_t *a = json_array();
    unsigned dropped = 0;
    size_t bytes = 0;

    if (!a)
        return -ENOMEM;
    for (size_t i = 0; env && env[i]; i++) {
        const char *e = env[i], *eq = strchr(e, '=');
        size_t n = strlen(e) + 1;

        /* They name the submitting task, never the job: left out, and not worth a warning. */
        if (strncmp(e, "HEADROOM_TASK=", 14) == 0 || strncmp(e, "HEADROOM_TASK_ID=", 17) == 0)
            continue;
        if (!eq || eq == e || !utf8_is_valid(e) || json_array_size(a) >= JOB_ENV_MAX ||
            bytes + n > JOB_ENV_BYTES_MAX) {
            dropped++;
            continue;
        }
        if (json_array_append_new(a, json_string(e)) < 0)
            return -ENOMEM;
        bytes += n;
    }
    *ret = TAKE_PTR(a);
    *ret_dropped = dropped;
    return 0;
}

int job_submit_body(const struct cli_args *args,
                    char *const *argv,
                    size_t argc,
                    const char *cwd,
                    char *const *env,
                    char **ret,
                    unsigned *ret_env_dropped)
{
    _cleanup_json_ json_t *o = NULL, *av = NULL, *ev = NULL, *needs = NULL;
    uint64_t seen = args->seen;
    unsigned dropped = 0;
    size_t bytes = 0;
    char *text;
    int r = 0;

    if (argc == 0 || !argv || !cwd || cwd[0] != '/' || !utf8_is_valid(cwd))
        return -EINVAL;
    if (argc > JOB_ARGV_MAX)
        return -E2BIG;
    av = json_array();
    if (!av)
        return -ENOMEM;
    for (size_t i = 0; i < argc; i++) {
        bytes += strlen(argv[i]) + 1;
        if (bytes > JOB_ARGV_BYTES_MAX)
            return -E2BIG;
        if (!utf8_is_valid(argv[i]))
            return -EILSEQ;
        if (json_array_append_new(av, json_string(argv[i])) < 0)
            return -ENOMEM;
    }
    r = env_array(env, &ev, &dropped);
    if (r < 0)
        return r;
    r = needs_object(&args->needs, &needs);
    if (r < 0)
        return r;

    o = json_object();
    if (!o)
        return -ENOMEM;
    r = set(o, "argv", json_incref(av));
    r = r ?: set(o, "cwd", json_string(cwd));
    r = r ?: set(o, "env", json_incref(ev));
    if (args->task)
        r = r ?: set(o, "task", json_string(args->task));
    if (seen & CLI_OPT(CLI_OPTION_COMPLEXITY))
        r = r ?: set(o, "complexity", number(args->complexity));
    if (needs)
        r = r ?: set(o, "needs", json_incref(needs));
    if (args->has_priority) {
        static const char *const names[] = { "P0", "P1", "P2" };
        r = r ?: set(o, "priority", json_string(names[MIN(args->priority, 2U)]));
    }
    if (args->gpus)
        r = r ?: set(o, "gpus", json_integer(args->gpus));
    if (args->run_timeout_usec)
        r = r ?: set(o, "timeout_sec", seconds(args->run_timeout_usec));
    if (seen & CLI_OPT(CLI_OPTION_KILL_AFTER))
        r = r ?: set(o, "kill_after_sec", seconds(args->kill_after_usec));
    if (seen & CLI_OPT(CLI_OPTION_STALL))
        r = r ?: set(o, "stall_sec", seconds(args->stall_usec));
    if (seen & CLI_OPT(CLI_OPTION_ON_STALL))
        r = r ?: set(o, "on_stall", json_string(args->on_stall_kill ? "kill" : "warn"));
    if (args->max_mem_bytes)
        r = r ?: set(o, "max_mem_bytes", json_integer((json_int_t) args->max_mem_bytes));
    if (args->max_cpu_cores > 0)
        r = r ?: set(o, "max_cpu", number(args->max_cpu_cores));
    if (args->max_pids)
        r = r ?: set(o, "max_pids", json_integer((json_int_t) args->max_pids));
    if (args->checkpoint_signal > 0) {
        /* By name where it has one: signal numbers differ between architectures. */
        const char *name = args->checkpoint_signal < SIGRTMIN ? sigabbrev_np(args->checkpoint_signal)
                                                              : NULL;
        r = r ?: set(o, "checkpoint_signal",
                     name ? json_string(name) : json_integer(args->checkpoint_signal));
    }
    if (seen & CLI_OPT(CLI_OPTION_CHECKPOINT_GRACE))
        r = r ?: set(o, "checkpoint_grace_sec", seconds(args->checkpoint_grace_usec));
    json_t *limits = job_limits_json(args);
    if (limits)
        r = r ?: set(o, "limits", limits);
    if (r < 0)
        return r;

    text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text)
        return -ENOMEM;
    *ret = text;
    if (ret_env_dropped)
        *ret_env_dropped = dropped;
    return 0;
}

bool job_state_is_finished(const char *state)
{
    static const char *const finished[] = { "done", "failed", "cancelled", "lost" };

    if (!state)
        return false;
    for (size_t i = 0; i < ELEMENTSOF(finished); i++)
        if (strcmp(state, finished[i]) == 0)
            return true;
    return false;
}

int job_exit_status(const json_t *job)
{
    const char *state = json_get_string(job, "state");
    const json_t *code = json_get(job, "exit_code");

    if (!state)
        return -EBADMSG;
    if (!job_state_is_finished(state))
        return -EAGAIN;
    if (strcmp(state, "lost") == 0)
        return JOB_EXIT_LOST;
    if (json_is_integer(code)) {
        json_int_t c = json_integer_value(code);
        return c >= 0 && c <= 255 ? (int) c : JOB_EXIT_LOST;
    }
    if (strcmp(state, "done") == 0)
        return 0;
    if (strcmp(state, "cancelled") == 0)
        return JOB_EXIT_CANCELLED;
    return JOB_EXIT_LOST;
}

uint64_t events_next_after(const json_t *answer, uint64_t after, size_t limit)
{
    json_t *events = json_get(answer, "events");
    const json_t *last = json_get(answer, "last_seq");
    uint64_t next = after;
    size_t i;
    json_t *e;

    json_array_foreach (events, i, e) {
        const json_t *seq = json_get(e, "seq");
        if (json_is_integer(seq) && json_integer_value(seq) > 0 &&
            (uint64_t) json_integer_value(seq) > next)
            next = (uint64_t) json_integer_value(seq);
    }
    if (json_array_size(events) < limit && json_is_integer(last) && json_integer_value(last) > 0 &&
        (uint64_t) json_integer_value(last) > next)
        next = (uint64_t) json_integer_value(last);
    return next;
}

json_t *job_limits_json(const struct cli_args *args)
{
    if (!args->warn_mem_bytes && !args->critical_mem_bytes && !(args->warn_cpu_pct > 0))
        return NULL;
    json_t *o = json_object();
    if (o && args->warn_mem_bytes)
        (void) json_object_set_new(o, "memory_soft_bytes", json_integer((json_int_t) args->warn_mem_bytes));
    if (o && args->critical_mem_bytes)
        (void) json_object_set_new(o, "memory_hard_bytes", json_integer((json_int_t) args->critical_mem_bytes));
    if (o && args->warn_cpu_pct > 0)
        (void) json_object_set_new(o, "cpu_soft_percent", json_real(args->warn_cpu_pct));
    return o;
}
