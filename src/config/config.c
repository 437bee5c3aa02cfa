/* SPDX-License-Identifier: MIT */
#include "config/config.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "basic/macro.h"
#include "basic/utf8.h"
#include "config/config-schema.h"

#define FIELD_SIZE(field) sizeof(((struct config *) 0)->field)

#define LEAF(n, k, field, lo, hi)                                           \
    {                                                                       \
        .name = (n), .kind = (k), .offset = offsetof(struct config, field), \
        .size = FIELD_SIZE(field), .min = (lo), .max = (hi),                \
    }
#define TEXT(n, k, field, fl)                                                              \
    {                                                                                      \
        .name = (n), .kind = (k), .flags = (fl), .offset = offsetof(struct config, field), \
        .size = FIELD_SIZE(field),                                                         \
    }
#define CHOICE(n, field, list)                                                   \
    {                                                                            \
        .name = (n), .kind = KEY_ENUM, .offset = offsetof(struct config, field), \
        .size = FIELD_SIZE(field), .choices = (list),                            \
    }
#define SECTION(n, list)                                                           \
    {                                                                              \
        .name = (n), .kind = KEY_MAP, .offset = KEY_NO_OFFSET, .children = (list), \
    }
/* Keys of capfox that headroom accepts, type-checks and ignores. Only the top-most one carries
 * KEY_IGNORED, so a whole ignored section gives one warning. */
#define UNUSED(n, k, lo, hi)                                                         \
    {                                                                                \
        .name = (n), .kind = (k), .offset = KEY_NO_OFFSET, .min = (lo), .max = (hi), \
    }
#define UNUSED_SECTION(n, list)                                                      \
    {                                                                                \
        .name = (n), .kind = KEY_MAP, .flags = KEY_IGNORED, .offset = KEY_NO_OFFSET, \
        .children = (list),                                                          \
    }
#define END          \
    {                \
        .name = NULL \
    }

static const char *const log_levels[] = { "debug", "info", "warn", "error", NULL };
static const char *const log_formats[] = { "text", "json", NULL };
static const char *const learning_models[] = { "ewls", "moving_average", "linear", "linear_regression", NULL };

/* capfox: golang.org/x/time/rate parameters of its global limiter. */
static const struct key_def rate_limit_keys[] = {
    UNUSED("enabled", KEY_BOOL, 0, 0),
    UNUSED("requests_per_second", KEY_DOUBLE, 0, INFINITY),
    UNUSED("burst", KEY_UINT, 0, INFINITY),
    UNUSED("trust_proxy", KEY_BOOL, 0, 0),
    END,
};

static const struct key_def profiling_keys[] = {
    UNUSED("enabled", KEY_BOOL, 0, 0),
    END,
};

static const struct key_def server_keys[] = {
    TEXT("host", KEY_HOST, server.host, 0),
    LEAF("port", KEY_UINT, server.port, 1, 65535),
    LEAF("max_connections", KEY_UINT, server.max_connections, 1, 65536),
    LEAF("connection_timeout_sec", KEY_UINT, server.connection_timeout_sec, 1, 3600),
    LEAF("max_body_bytes", KEY_SIZE, server.max_body_bytes, 1024, 16 * 1024 * 1024),
    TEXT("socket", KEY_SOCKET, server.socket_path, 0),
    LEAF("socket_mode", KEY_MODE, server.socket_mode, 0, 0777),
    { .name = "pid_file", .kind = KEY_STRING, .flags = KEY_IGNORED, .offset = KEY_NO_OFFSET },
    { .name = "shutdown_timeout_sec",
      .kind = KEY_UINT,
      .flags = KEY_IGNORED,
      .offset = KEY_NO_OFFSET,
      .min = 0,
      .max = INFINITY },
    UNUSED_SECTION("rate_limit", rate_limit_keys),
    UNUSED_SECTION("profiling", profiling_keys),
    END,
};

static const struct key_def auth_keys[] = {
    LEAF("enabled", KEY_BOOL, auth.enabled, 0, 0),
    TEXT("user", KEY_STRING, auth.user, 0),
    TEXT("password", KEY_STRING, auth.password, KEY_SECRET),
    TEXT("token", KEY_STRING, auth.token, KEY_SECRET | KEY_TOKEN),
    TEXT("user_tokens_file", KEY_STRING, auth.user_tokens_file, 0),
    END,
};

static const struct key_def cpu_keys[] = {
    LEAF("max_percent", KEY_DOUBLE, thresholds.cpu_max_pct, 0, 100),
    END,
};

static const struct key_def memory_keys[] = {
    LEAF("max_percent", KEY_DOUBLE, thresholds.memory_max_pct, 0, 100),
    LEAF("max_pressure", KEY_DOUBLE, thresholds.memory_max_pressure_pct, 0, 100),
    END,
};

static const struct key_def gpu_keys[] = {
    LEAF("max_percent", KEY_DOUBLE, thresholds.gpu_max_pct, 0, 100),
    LEAF("shareable", KEY_BOOL, thresholds.gpu_shareable, 0, 0),
    END,
};

static const struct key_def vram_keys[] = {
    LEAF("max_percent", KEY_DOUBLE, thresholds.vram_max_pct, 0, 100),
    END,
};

static const struct key_def storage_keys[] = {
    LEAF("min_free_gb", KEY_DOUBLE, thresholds.storage_min_free_gb, 0, INFINITY),
    END,
};

static const struct key_def threshold_keys[] = {
    SECTION("cpu", cpu_keys),   SECTION("memory", memory_keys),   SECTION("gpu", gpu_keys),
    SECTION("vram", vram_keys), SECTION("storage", storage_keys), END,
};

static const struct key_def monitoring_keys[] = {
    /* One hour is far beyond any useful sampling interval; the bound keeps timer arithmetic in
     * range. */
    LEAF("interval_ms", KEY_UINT, monitoring.interval_ms, 100, 3600000),
    LEAF("smoothing_samples", KEY_UINT, monitoring.smoothing_samples, 1, 600),
    LEAF("history_samples", KEY_UINT, monitoring.history_samples, 1, 86400),
    { .name = "paths",
      .kind = KEY_PATHS,
      .offset = offsetof(struct config, monitoring.paths),
      .size = HR_PATH_MAX,
      .min = 1,
      .max = HR_DISKS_MAX },
    LEAF("gpu", KEY_BOOL, monitoring.gpu, 0, 0),
    END,
};

static const struct key_def learning_keys[] = {
    LEAF("observation_delay_sec", KEY_UINT, learning.observation_delay_sec, 1, 3600),
    LEAF("max_pending", KEY_UINT, learning.max_pending, 1, 65536),
    LEAF("max_task_types", KEY_UINT, learning.max_task_types, 1, 1000000),
    LEAF("observations_per_task", KEY_UINT, learning.observations_per_task, 1, 1000000),
    /* capfox validates the name but always uses its moving average; headroom uses the model it
     * names ("linear_regression" is capfox's spelling of "linear"). */
    CHOICE("model", learning.model, learning_models),
    LEAF("min_observations", KEY_UINT, learning.min_observations, 1, 1000),
    /* Forgetting below 0.5 would make a model of the last two runs. */
    LEAF("lambda", KEY_DOUBLE, learning.lambda, 0.5, 1),
    LEAF("alpha", KEY_DOUBLE, learning.alpha, 0.01, 1),
    LEAF("quantile", KEY_DOUBLE, learning.quantile, 0.5, 1),
    LEAF("shrinkage_weight", KEY_DOUBLE, learning.shrinkage_weight, 0, 1000),
    LEAF("margin_factor", KEY_DOUBLE, learning.margin_factor, 1, 10),
    END,
};

static const struct key_def admission_keys[] = {
    LEAF("reserve_on_ask_seconds", KEY_UINT, admission.reserve_on_ask_sec, 0, 86400),
    LEAF("lease_seconds", KEY_UINT, admission.lease_sec, 1, 86400),
    LEAF("reserve_unknown", KEY_BOOL, admission.reserve_unknown, 0, 0),
    LEAF("cold_reserve_memory_percent", KEY_DOUBLE, admission.cold_reserve_memory_pct, 0, 100),
    END,
};

static const char *const supervise_profiles[] = { "minimal", "balanced", "conservative", NULL };
static const char *const supervise_levels[] = { "auto", "passive", "active", "protective", NULL };

const char *const config_hook_names[CONFIG_HOOKS_MAX] = {
    "task_started",  "task_active",  "task_stalled",   "task_high_memory", "task_high_cpu",
    "task_critical_memory", "task_progress", "task_suspended", "task_resumed",     "task_checkpoint",
    "task_finished", "job_queued",   "job_cancelled",  "job_lost",
};

static const struct key_def jobs_keys[] = {
    LEAF("max_queued", KEY_UINT, jobs.max_queued, 1, 100000),
    LEAF("keep_finished", KEY_UINT, jobs.keep_finished, 1, 100000),
    LEAF("aging_seconds", KEY_UINT, jobs.aging_sec, 0, 604800),
    LEAF("backfill_limit_seconds", KEY_UINT, jobs.backfill_limit_sec, 0, 604800),
    LEAF("soft_max", KEY_UINT, jobs.soft_max, 0, 100000),
    LEAF("hard_max", KEY_UINT, jobs.hard_max, 0, 100000),
    END,
};

static const struct key_def supervise_keys[] = {
    CHOICE("profile", supervise.profile, supervise_profiles),
    CHOICE("level", supervise.level, supervise_levels),
    LEAF("stall_seconds", KEY_UINT, supervise.stall_sec, 0, 604800),
    LEAF("task_memory_soft_percent", KEY_DOUBLE, supervise.task_memory_soft_pct, 0, 100),
    LEAF("task_memory_hard_percent", KEY_DOUBLE, supervise.task_memory_hard_pct, 0, 100),
    LEAF("task_cpu_soft_percent", KEY_DOUBLE, supervise.task_cpu_soft_pct, 0, 100),
    LEAF("pressure_critical", KEY_DOUBLE, supervise.pressure_critical_pct, 0, 100),
    LEAF("pressure_low", KEY_DOUBLE, supervise.pressure_low_pct, 0, 100),
    LEAF("memory_critical_percent", KEY_DOUBLE, supervise.memory_critical_pct, 0, 100),
    LEAF("memory_low_percent", KEY_DOUBLE, supervise.memory_low_pct, 0, 100),
    LEAF("hold_down_seconds", KEY_UINT, supervise.hold_down_sec, 0, 86400),
    LEAF("action_interval_seconds", KEY_UINT, supervise.action_interval_sec, 0, 3600),
    END,
};

static const struct key_def events_keys[] = {
    LEAF("max_stored", KEY_UINT, events.max_stored, 100, 10000000),
    END,
};

static const struct key_def hooks_keys[] = {
    LEAF("timeout_seconds", KEY_UINT, hooks.timeout_sec, 1, 3600),
    LEAF("max_running", KEY_UINT, hooks.max_running, 1, 64),
    TEXT("task_started", KEY_STRING, hooks.command[0], 0),
    TEXT("task_active", KEY_STRING, hooks.command[1], 0),
    TEXT("task_stalled", KEY_STRING, hooks.command[2], 0),
    TEXT("task_high_memory", KEY_STRING, hooks.command[3], 0),
    TEXT("task_high_cpu", KEY_STRING, hooks.command[4], 0),
    TEXT("task_critical_memory", KEY_STRING, hooks.command[5], 0),
    TEXT("task_progress", KEY_STRING, hooks.command[6], 0),
    TEXT("task_suspended", KEY_STRING, hooks.command[7], 0),
    TEXT("task_resumed", KEY_STRING, hooks.command[8], 0),
    TEXT("task_checkpoint", KEY_STRING, hooks.command[9], 0),
    TEXT("task_finished", KEY_STRING, hooks.command[10], 0),
    TEXT("job_queued", KEY_STRING, hooks.command[11], 0),
    TEXT("job_cancelled", KEY_STRING, hooks.command[12], 0),
    TEXT("job_lost", KEY_STRING, hooks.command[13], 0),
    END,
};

static const struct key_def persistence_keys[] = {
    TEXT("data_dir", KEY_STRING, persistence.data_dir, 0),
    { .name = "flush_interval_sec",
      .kind = KEY_UINT,
      .flags = KEY_IGNORED,
      .offset = KEY_NO_OFFSET,
      .min = 1,
      .max = INFINITY },
    END,
};

static const struct key_def logging_keys[] = {
    CHOICE("level", logging.level, log_levels),
    CHOICE("format", logging.format, log_formats),
    END,
};

static const struct key_def debug_auth_keys[] = {
    TEXT("token", KEY_STRING, debug.token, KEY_SECRET | KEY_TOKEN),
    END,
};

static const struct key_def debug_keys[] = {
    LEAF("enabled", KEY_BOOL, debug.enabled, 0, 0),
    SECTION("auth", debug_auth_keys),
    END,
};

/* capfox's decision engine (not wired in capfox either). The model parameters are those of its
 * linear, polynomial and batch models. */
static const struct key_def model_params_keys[] = {
    UNUSED("alpha", KEY_DOUBLE, -INFINITY, INFINITY),
    UNUSED("degree", KEY_UINT, 0, INFINITY),
    UNUSED("n_estimators", KEY_UINT, 0, INFINITY),
    UNUSED("max_depth", KEY_UINT, 0, INFINITY),
    UNUSED("retrain_interval", KEY_SCALAR, 0, 0),
    UNUSED("min_retrain_samples", KEY_UINT, 0, INFINITY),
    UNUSED("max_buffer_size", KEY_UINT, 0, INFINITY),
    END,
};

static const struct key_def decision_keys[] = {
    UNUSED("strategy", KEY_STRING, 0, 0),
    UNUSED("model", KEY_STRING, 0, 0),
    UNUSED("fallback_strategy", KEY_STRING, 0, 0),
    UNUSED("min_observations", KEY_UINT, 0, INFINITY),
    UNUSED("safety_buffer_percent", KEY_DOUBLE, -INFINITY, INFINITY),
    { .name = "model_params",
      .kind = KEY_MAP,
      .offset = KEY_NO_OFFSET,
      .children = model_params_keys },
    END,
};

const struct key_def config_schema[] = {
    SECTION("server", server_keys),
    SECTION("auth", auth_keys),
    SECTION("thresholds", threshold_keys),
    SECTION("monitoring", monitoring_keys),
    SECTION("learning", learning_keys),
    SECTION("admission", admission_keys),
    SECTION("jobs", jobs_keys),
    SECTION("supervise", supervise_keys),
    SECTION("events", events_keys),
    SECTION("hooks", hooks_keys),
    SECTION("persistence", persistence_keys),
    SECTION("logging", logging_keys),
    SECTION("debug", debug_keys),
    UNUSED_SECTION("decision", decision_keys),
    END,
};

void config_set_string(char *field, size_t size, const char *s)
{
    size_t len = strlen(s);

    assert(len < size);
    memcpy(field, s, len);
    memset(field + len, 0, size - len);
}

void config_init_defaults(struct config *c)
{
    assert(c);

    /* Zero everything first, padding and the tails of strings included, so that configs can be
     * compared and copied byte for byte. */
    memset(c, 0, sizeof(*c));

    config_set_string(c->server.host, sizeof(c->server.host), "127.0.0.1");
    c->server.port = 9329;
    c->server.max_connections = 256;
    c->server.connection_timeout_sec = 60;
    c->server.max_body_bytes = 1024 * 1024;
    c->server.socket_mode = 0660;

    c->thresholds.cpu_max_pct = 80;
    c->thresholds.memory_max_pct = 85;
    c->thresholds.memory_max_pressure_pct = 20;
    c->thresholds.gpu_max_pct = 90;
    c->thresholds.vram_max_pct = 85;
    c->thresholds.storage_min_free_gb = 10;

    c->monitoring.interval_ms = 1000;
    c->monitoring.smoothing_samples = 5;
    c->monitoring.history_samples = 600;
    c->monitoring.n_paths = 1;
    config_set_string(c->monitoring.paths[0], sizeof(c->monitoring.paths[0]), "/");
    c->monitoring.gpu = true;

    c->learning.observation_delay_sec = 5;
    c->learning.max_pending = 1024;
    c->learning.max_task_types = 10000;
    c->learning.observations_per_task = 1000;
    config_set_string(c->learning.model, sizeof(c->learning.model), "ewls");
    c->learning.min_observations = 5;
    c->learning.lambda = 0.97;
    c->learning.alpha = 0.2;
    c->learning.quantile = 0.95;
    c->learning.shrinkage_weight = 5;
    c->learning.margin_factor = 1;

    c->admission.reserve_on_ask_sec = 0;
    c->admission.lease_sec = 60;
    c->admission.reserve_unknown = true;
    c->admission.cold_reserve_memory_pct = 10;

    c->jobs.max_queued = 1000;
    c->jobs.keep_finished = 100;
    c->jobs.aging_sec = 600;
    c->jobs.backfill_limit_sec = 1800;
    config_set_string(c->supervise.profile, sizeof(c->supervise.profile), "balanced");
    config_set_string(c->supervise.level, sizeof(c->supervise.level), "auto");
    c->supervise.stall_sec = 300;
    c->events.max_stored = 10000;
    c->hooks.timeout_sec = 10;
    c->hooks.max_running = 4;

    config_set_string(c->logging.level, sizeof(c->logging.level), "info");
    config_set_string(c->logging.format, sizeof(c->logging.format), "text");
}

char *config_format_double(char *buf, size_t size, double v)
{
    /* Whole numbers as such ("100", not "1e+02"); below 2^53 they are exact. */
    if (!islessgreater(v, trunc(v)) && fabs(v) < 9007199254740992.0) {
        (void) snprintf(buf, size, "%.0f", v);
        return buf;
    }
    /* Otherwise the shortest %g that reads back to the same bits; 17 significant digits always
     * do. */
    for (int prec = 1; prec <= 17; prec++) {
        (void) snprintf(buf, size, "%.*g", prec, v);
        double back = strtod(buf, NULL);
        if (memcmp(&back, &v, sizeof(v)) == 0)
            break;
    }
    return buf;
}

int config_check_number(const struct key_def *d,
                        const char *key,
                        double v,
                        const char *shown,
                        char *msg,
                        size_t msg_size)
{
    char lo[32], hi[32];

    if (v >= d->min && v <= d->max)
        return 0;

    if (d->kind == KEY_MODE) {
        (void) snprintf(lo, sizeof(lo), "%04o", (unsigned) d->min);
        (void) snprintf(hi, sizeof(hi), "%04o", (unsigned) d->max);
    } else {
        (void) config_format_double(lo, sizeof(lo), d->min);
        (void) config_format_double(hi, sizeof(hi), d->max);
    }

    if (isinf(d->max))
        (void) snprintf(msg, msg_size, "%s: must be at least %s, got %s", key, lo, shown);
    else if (isinf(d->min) || (d->kind == KEY_MODE && d->min <= 0))
        (void) snprintf(msg, msg_size, "%s: must be at most %s, got %s", key, hi, shown);
    else
        (void) snprintf(msg, msg_size, "%s: must be between %s and %s, got %s", key, lo, hi, shown);
    return -EINVAL;
}

/* What is wrong with s as a configuration string, or NULL. UTF-8 as RFC 3629 defines it (no
 * overlong forms, no surrogates, nothing above U+10FFFF), and no control characters: C0, DEL, C1
 * and the non-characters U+FFFE and U+FFFF, which libyaml refuses to read back. */
static const char *text_problem(const char *s)
{
    while (*s) {
        uint32_t cp;
        int n = utf8_decode(s, &cp);
        if (n < 0)
            return "is not valid UTF-8";
        if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0xfffe || cp == 0xffff)
            return "contains a control character";
        s += n;
    }
    return NULL;
}

static size_t utf8_length(const char *s)
{
    size_t n = 0;

    for (const unsigned char *p = (const unsigned char *) s; *p; p++)
        if ((*p & 0xc0) != 0x80)
            n++;
    return n;
}

/* Rules for every string: it fits, it is text, and it holds no control character (these values
 * end up in HTTP headers, paths and log lines). */
static int check_text(const char *key, const char *s, size_t cap, char *msg, size_t msg_size)
{
    if (strlen(s) >= cap) {
        (void) snprintf(msg, msg_size, "%s: value is too long (at most %zu bytes)", key, cap - 1);
        return -EINVAL;
    }
    const char *problem = text_problem(s);
    if (problem) {
        (void) snprintf(msg, msg_size, "%s: value %s", key, problem);
        return -EINVAL;
    }
    return 0;
}

int config_check_string(
        const struct key_def *d, const char *key, const char *s, char *msg, size_t msg_size)
{
    size_t cap = d->size > 0 ? d->size : CONFIG_STRING_MAX;
    int r;

    if (d->kind == KEY_ENUM) {
        /* Checked before the length, which is only a storage detail of a short enum field. */
        for (const char *const *c = d->choices; *c; c++)
            if (strcmp(*c, s) == 0)
                return 0;

        char valid[128] = "";
        size_t pos = 0;
        for (const char *const *c = d->choices; *c && pos < sizeof(valid); c++) {
            int k = snprintf(valid + pos, sizeof(valid) - pos, "%s%s", c == d->choices ? "" : ", ",
                             *c);
            if (k < 0)
                break;
            pos += (size_t) k;
        }
        r = check_text(key, s, CONFIG_STRING_MAX, msg, msg_size);
        if (r < 0)
            return r;
        (void) snprintf(msg, msg_size, "%s: invalid value '%s' (valid: %s)", key, s, valid);
        return -EINVAL;
    }

    r = check_text(key, s, cap, msg, msg_size);
    if (r < 0)
        return r;

    switch (d->kind) {
    case KEY_HOST: {
        unsigned char addr[sizeof(struct in6_addr)];

        if (s[0] == '\0') {
            (void) snprintf(msg, msg_size, "%s: must not be empty", key);
            return -EINVAL;
        }
        if (strcmp(s, "localhost") == 0 || inet_pton(AF_INET, s, addr) == 1 ||
            inet_pton(AF_INET6, s, addr) == 1)
            return 0;
        (void) snprintf(msg, msg_size,
                        "%s: '%s' is not a numeric IPv4 or IPv6 address or 'localhost'", key, s);
        return -EINVAL;
    }
    case KEY_SOCKET:
        if (s[0] == '\0')
            return 0;
        if (s[0] != '/') {
            (void) snprintf(msg, msg_size, "%s: must be an absolute path, got '%s'", key, s);
            return -EINVAL;
        }
        if (strlen(s) >= sizeof(((struct sockaddr_un *) 0)->sun_path)) {
            (void) snprintf(msg, msg_size, "%s: too long for a unix socket (at most %zu bytes)",
                            key, sizeof(((struct sockaddr_un *) 0)->sun_path) - 1);
            return -EINVAL;
        }
        return 0;
    default:
        break;
    }

    if ((d->flags & KEY_TOKEN) && s[0] != '\0' && utf8_length(s) < CONFIG_TOKEN_MIN) {
        /* The token itself is never repeated in a message. */
        (void) snprintf(msg, msg_size, "%s: must be at least %d characters long, got %zu", key,
                        CONFIG_TOKEN_MIN, utf8_length(s));
        return -EINVAL;
    }
    return 0;
}

int config_check_path(const char *key, const char *s, char *msg, size_t msg_size)
{
    int r = check_text(key, s, HR_PATH_MAX, msg, msg_size);
    if (r < 0)
        return r;
    if (s[0] != '/') {
        (void) snprintf(msg, msg_size, "%s: must be an absolute path, got '%s'", key, s);
        return -EINVAL;
    }
    return 0;
}

static int validate_paths(const struct key_def *d,
                          const char *key,
                          const struct config *c,
                          char *msg,
                          size_t msg_size)
{
    unsigned n = c->monitoring.n_paths;
    int r;

    if (n < d->min || n > d->max) {
        (void) snprintf(msg, msg_size, "%s: must list between %.0f and %.0f paths, got %u", key,
                        d->min, d->max, n);
        return -EINVAL;
    }
    for (unsigned i = 0; i < n; i++) {
        /* The field is a fixed array; a missing terminator must not be read past. */
        if (!memchr(c->monitoring.paths[i], '\0', sizeof(c->monitoring.paths[i]))) {
            (void) snprintf(msg, msg_size, "%s: value is too long (at most %d bytes)", key,
                            HR_PATH_MAX - 1);
            return -EINVAL;
        }
        r = config_check_path(key, c->monitoring.paths[i], msg, msg_size);
        if (r < 0)
            return r;
        for (unsigned j = 0; j < i; j++)
            if (strcmp(c->monitoring.paths[i], c->monitoring.paths[j]) == 0) {
                (void) snprintf(msg, msg_size, "%s: '%s' is listed twice", key,
                                c->monitoring.paths[i]);
                return -EINVAL;
            }
    }
    return 0;
}

static int validate_keys(const struct key_def *defs,
                         const char *prefix,
                         const struct config *c,
                         char *msg,
                         size_t msg_size)
{
    const char *base = (const char *) c;
    int r;

    for (const struct key_def *d = defs; d->name; d++) {
        char key[128], shown[64];

        (void) snprintf(key, sizeof(key), "%s%s%s", prefix, prefix[0] ? "." : "", d->name);

        if (d->kind == KEY_MAP) {
            if (d->flags & KEY_IGNORED)
                continue;
            r = validate_keys(d->children, key, c, msg, msg_size);
            if (r < 0)
                return r;
            continue;
        }
        if (!key_is_stored(d))
            continue;

        const void *field = base + d->offset;
        switch (d->kind) {
        case KEY_UINT:
        case KEY_MODE: {
            unsigned v = *(const unsigned *) field;
            (void) snprintf(shown, sizeof(shown), d->kind == KEY_MODE ? "0%03o" : "%u", v);
            r = config_check_number(d, key, v, shown, msg, msg_size);
            break;
        }
        case KEY_SIZE: {
            uint64_t v = *(const uint64_t *) field;
            (void) snprintf(shown, sizeof(shown), "%llu", (unsigned long long) v);
            r = config_check_number(d, key, (double) v, shown, msg, msg_size);
            break;
        }
        case KEY_DOUBLE: {
            double v = *(const double *) field;
            (void) config_format_double(shown, sizeof(shown), v);
            r = config_check_number(d, key, v, shown, msg, msg_size);
            break;
        }
        case KEY_BOOL:
            r = 0;
            break;
        case KEY_PATHS:
            r = validate_paths(d, key, c, msg, msg_size);
            break;
        default:
            if (!memchr(field, '\0', d->size)) {
                (void) snprintf(msg, msg_size, "%s: value is too long (at most %zu bytes)", key,
                                d->size - 1);
                return -EINVAL;
            }
            r = config_check_string(d, key, field, msg, msg_size);
            break;
        }
        if (r < 0)
            return r;
    }
    return 0;
}

int config_validate(const struct config *c, char err[static CONFIG_ERROR_MAX])
{
    int r;

    assert(c);
    assert(err);

    r = validate_keys(config_schema, "", c, err, CONFIG_ERROR_MAX);
    if (r < 0)
        return r;

    /* The rules below span keys. capfox words the auth ones the same way. */
    if (c->auth.enabled && c->auth.user[0] == '\0') {
        (void) snprintf(err, CONFIG_ERROR_MAX, "auth.user cannot be empty when auth is enabled");
        return -EINVAL;
    }
    if (c->auth.enabled && c->auth.password[0] == '\0') {
        (void) snprintf(err, CONFIG_ERROR_MAX,
                        "auth.password cannot be empty when auth is enabled");
        return -EINVAL;
    }
    /* headroom's debug endpoints accept only a Bearer token, so auth.enabled does not stand in
     * for it as it does in capfox. */
    if (c->debug.enabled && c->debug.token[0] == '\0') {
        (void) snprintf(err, CONFIG_ERROR_MAX, "debug.enabled requires debug.auth.token");
        return -EINVAL;
    }
    if (c->monitoring.history_samples < c->monitoring.smoothing_samples) {
        (void) snprintf(err, CONFIG_ERROR_MAX,
                        "monitoring.history_samples: must be at least "
                        "monitoring.smoothing_samples (%u), got %u",
                        c->monitoring.smoothing_samples, c->monitoring.history_samples);
        return -EINVAL;
    }
    if (c->jobs.soft_max && c->jobs.hard_max && c->jobs.soft_max > c->jobs.hard_max) {
        (void) snprintf(err, CONFIG_ERROR_MAX, "jobs.soft_max: must not exceed jobs.hard_max (%u), got %u",
                        c->jobs.hard_max, c->jobs.soft_max);
        return -EINVAL;
    }
    if (c->supervise.pressure_low_pct > 0 && c->supervise.pressure_critical_pct > 0 &&
        c->supervise.pressure_low_pct >= c->supervise.pressure_critical_pct) {
        (void) snprintf(err, CONFIG_ERROR_MAX, "supervise.pressure_low: must be below supervise.pressure_critical");
        return -EINVAL;
    }
    if (c->supervise.memory_low_pct > 0 && c->supervise.memory_critical_pct > 0 &&
        c->supervise.memory_low_pct >= c->supervise.memory_critical_pct) {
        (void) snprintf(err, CONFIG_ERROR_MAX,
                        "supervise.memory_low_percent: must be below supervise.memory_critical_percent");
        return -EINVAL;
    }
    if (c->supervise.task_memory_soft_pct > 0 && c->supervise.task_memory_hard_pct > 0 &&
        c->supervise.task_memory_soft_pct > c->supervise.task_memory_hard_pct) {
        (void) snprintf(err, CONFIG_ERROR_MAX,
                        "supervise.task_memory_soft_percent: must not exceed supervise.task_memory_hard_percent");
        return -EINVAL;
    }
    return 0;
}

static void format_errno(char *err, const char *path, const char *what, int r)
{
    char buf[128];

    (void) snprintf(err, CONFIG_ERROR_MAX, "%s: %s: %s", path, what,
                    strerror_r(-r, buf, sizeof(buf)));
}

int config_load_file(const char *path, struct config *ret, char err[static CONFIG_ERROR_MAX])
{
    _cleanup_close_ int fd = -EBADF;
    _cleanup_free_ char *buf = NULL;
    struct stat st;
    size_t len = 0;

    assert(path);
    assert(ret);
    assert(err);

    /* O_NONBLOCK: opening a FIFO must not hang; only regular files are read. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int r = negative_errno();
        format_errno(err, path, "cannot open", r);
        return r;
    }
    if (fstat(fd, &st) < 0) {
        int r = negative_errno();
        format_errno(err, path, "cannot stat", r);
        return r;
    }
    if (!S_ISREG(st.st_mode)) {
        (void) snprintf(err, CONFIG_ERROR_MAX, "%s: not a regular file", path);
        return -EINVAL;
    }
    if ((uintmax_t) st.st_size > CONFIG_FILE_MAX_BYTES)
        goto too_big;

    /* The size from fstat is a hint only: the file may change under us, so read to EOF and stop
     * one byte past the limit. */
    buf = malloc(CONFIG_FILE_MAX_BYTES + 1);
    if (!buf) {
        (void) snprintf(err, CONFIG_ERROR_MAX, "%s: out of memory", path);
        return -ENOMEM;
    }
    for (;;) {
        ssize_t k = read(fd, buf + len, CONFIG_FILE_MAX_BYTES + 1 - len);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            int r = negative_errno();
            format_errno(err, path, "cannot read", r);
            return r;
        }
        if (k == 0)
            break;
        len += (size_t) k;
        if (len > CONFIG_FILE_MAX_BYTES)
            goto too_big;
    }

    return config_parse_yaml(buf, len, path, ret, err);

too_big:
    (void) snprintf(err, CONFIG_ERROR_MAX, "%s: file is larger than %u bytes", path,
                    CONFIG_FILE_MAX_BYTES);
    return -EFBIG;
}
