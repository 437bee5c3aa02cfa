/* SPDX-License-Identifier: MIT */
#include "api/api.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <pwd.h>
#include <unistd.h>
#include <strings.h>

#include "api/api-internal.h"
#include "basic/parse-util.h"

enum {
    M_GET = 1 << HTTP_GET,
    M_HEAD = 1 << HTTP_HEAD,
    M_POST = 1 << HTTP_POST,
    M_DELETE = 1 << HTTP_DELETE,
};

enum route_auth {
    ROUTE_AUTH_MAIN,   /* TCP needs credentials when auth is configured */
    ROUTE_AUTH_OPEN,   /* /health and /ready: always open, for probes */
    ROUTE_AUTH_DEBUG,  /* Bearer debug.auth.token, everywhere */
};

struct route {
    const char *path;
    bool prefix;        /* matches path and anything below it */
    unsigned methods;
    const char *allow;  /* the Allow header for 405 */
    enum route_auth auth;
    void (*handler)(struct api *a, const struct http_request *req, struct http_response *resp);
};

static const struct route routes[] = {
    { "/", false, M_GET | M_HEAD, "GET, HEAD", ROUTE_AUTH_MAIN, handle_root },
    { "/health", false, M_GET | M_HEAD, "GET, HEAD", ROUTE_AUTH_OPEN, handle_health },
    { "/ready", false, M_GET | M_HEAD, "GET, HEAD", ROUTE_AUTH_OPEN, handle_ready },
    { "/status", false, M_GET | M_HEAD, "GET, HEAD", ROUTE_AUTH_MAIN, handle_status },
    { "/stats", false, M_GET | M_HEAD, "GET, HEAD", ROUTE_AUTH_MAIN, handle_stats },
    { "/ask", false, M_POST, "POST", ROUTE_AUTH_MAIN, handle_ask },
    { "/task/notify", false, M_POST, "POST", ROUTE_AUTH_MAIN, handle_notify },
    { "/v1/ask", false, M_POST, "POST", ROUTE_AUTH_MAIN, handle_v1_ask },
    { "/v1/models", false, M_GET | M_HEAD, "GET, HEAD", ROUTE_AUTH_MAIN, handle_v1_models },
    { "/v1/models/", true, M_GET | M_HEAD, "GET, HEAD", ROUTE_AUTH_MAIN, handle_v1_model },
    { "/v1/tasks", false, M_GET | M_HEAD | M_POST, "GET, HEAD, POST", ROUTE_AUTH_MAIN, handle_v1_tasks },
    { "/v1/tasks/", true, M_GET | M_HEAD | M_POST, "GET, HEAD, POST", ROUTE_AUTH_MAIN, handle_v1_task },
    { "/v1/waiters", false, M_GET | M_HEAD, "GET, HEAD", ROUTE_AUTH_MAIN, handle_v1_waiters },
    { "/v1/waiters/", true, M_GET | M_HEAD | M_DELETE, "GET, HEAD, DELETE", ROUTE_AUTH_MAIN, handle_v1_waiter },
    { "/v1/jobs", false, M_GET | M_HEAD | M_POST, "GET, HEAD, POST", ROUTE_AUTH_MAIN, handle_v1_jobs },
    { "/v1/jobs/", true, M_GET | M_HEAD | M_POST, "GET, HEAD, POST", ROUTE_AUTH_MAIN, handle_v1_job },
    { "/v1/events", false, M_GET | M_HEAD, "GET, HEAD", ROUTE_AUTH_MAIN, handle_v1_events },
    { "/v1/history", false, M_GET | M_HEAD, "GET, HEAD", ROUTE_AUTH_MAIN, handle_v1_history },
    { "/v1/leases", false, M_GET | M_HEAD, "GET, HEAD", ROUTE_AUTH_MAIN, handle_v1_leases },
    { "/v1/leases/", true, M_DELETE, "DELETE", ROUTE_AUTH_MAIN, handle_v1_lease },
    { "/metrics", false, M_GET | M_HEAD, "GET, HEAD", ROUTE_AUTH_MAIN, handle_metrics },
    { "/debug/inject-metrics", false, M_POST | M_DELETE, "POST, DELETE", ROUTE_AUTH_DEBUG, handle_debug_inject },
    { "/debug/status", false, M_GET | M_HEAD, "GET, HEAD", ROUTE_AUTH_DEBUG, handle_debug_status },
};

void api_thresholds(const struct config *c, struct decide_thresholds *ret)
{
    *ret = (struct decide_thresholds) {
        .cpu_max_pct = c->thresholds.cpu_max_pct,
        .memory_max_pct = c->thresholds.memory_max_pct,
        .memory_max_pressure_pct = c->thresholds.memory_max_pressure_pct,
        .gpu_max_pct = c->thresholds.gpu_max_pct,
        .vram_max_pct = c->thresholds.vram_max_pct,
        .gpu_shareable = c->thresholds.gpu_shareable,
        /* capfox's min_free_gb is GiB despite its name; kept so for compatibility. */
        .storage_min_free_bytes = (uint64_t) llround(c->thresholds.storage_min_free_gb * 1073741824.0),
    };
}

/* Compares without an early exit, so the time taken does not tell how much of a secret matched. */
static bool secret_equal(const char *given, const char *expected)
{
    size_t gl = strlen(given), el = strlen(expected);
    unsigned char diff = gl != el;

    for (size_t i = 0; i < el; i++)
        diff |= (unsigned char) expected[i] ^ (unsigned char) (i < gl ? given[i] : 0);
    return diff == 0;
}

static bool bearer_matches(const struct http_request *req, const char *token)
{
    const char *h = http_request_header(req, "Authorization");

    if (!h || !token[0] || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    h += 7;
    while (*h == ' ')
        h++;
    return *h && secret_equal(h, token);
}

static bool main_auth_ok(struct api *a, const struct http_request *req)
{
    const struct config *c = a->config;

    if (req->is_unix)
        return true; /* the socket's file mode decides who may connect */
    if (!c->auth.enabled && !c->auth.token[0])
        return true;
    if (c->auth.token[0] && bearer_matches(req, c->auth.token))
        return true;
    if (api_token_user(a, req))
        return true;
    if (c->auth.enabled) {
        _cleanup_free_ char *user = NULL, *password = NULL;
        if (http_request_basic_auth(req, &user, &password) == 0) {
            bool u = secret_equal(user, c->auth.user);
            bool p = secret_equal(password, c->auth.password);
            if (u && p)
                return true;
        }
    }
    return false;
}

void api_handle(const struct http_request *req, struct http_response *resp, void *userdata)
{
    struct api *a = userdata;
    const struct route *route = NULL;

    a->counters.requests_total++;
    for (size_t i = 0; i < ELEMENTSOF(routes); i++) {
        size_t n = strlen(routes[i].path);
        if (routes[i].prefix ? strncmp(req->path, routes[i].path, n) == 0 && req->path[n] != '\0'
                             : strcmp(req->path, routes[i].path) == 0) {
            route = &routes[i];
            break;
        }
    }

    if (route && route->auth == ROUTE_AUTH_DEBUG) {
        if (!a->config->debug.enabled || !bearer_matches(req, a->config->debug.token)) {
            a->counters.auth_failures_total++;
            reply_text(resp, 403, "Forbidden - Debug authentication required");
            return;
        }
    } else if (!route || route->auth == ROUTE_AUTH_MAIN) {
        /* As in capfox, credentials are checked before routing, so an unknown path does not
         * tell an unauthenticated caller whether it exists. */
        if (!main_auth_ok(a, req)) {
            a->counters.auth_failures_total++;
            if (a->config->auth.enabled)
                http_response_header(resp, "WWW-Authenticate", "Basic realm=\"headroom\"");
            else
                http_response_header(resp, "WWW-Authenticate", "Bearer realm=\"headroom\"");
            reply_text(resp, 401, "Unauthorized");
            return;
        }
    }

    if (!route) {
        reply_text(resp, 404, "404 page not found");
        return;
    }
    if (req->method == HTTP_OTHER || !(route->methods & (1u << req->method))) {
        http_response_header(resp, "Allow", route->allow);
        reply_text(resp, 405, "Method Not Allowed");
        return;
    }
    route->handler(a, req, resp);
}

void reply_json(struct http_response *resp, unsigned status, json_t *obj)
{
    if (!obj) {
        reply_text(resp, 503, "out of memory");
        return;
    }
    char *s = json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(obj);
    if (!s) {
        reply_text(resp, 503, "out of memory");
        return;
    }
    size_t n = strlen(s);
    char *body = realloc(s, n + 2);
    if (!body) {
        free(s);
        reply_text(resp, 503, "out of memory");
        return;
    }
    body[n] = '\n';
    body[n + 1] = '\0';
    http_response_set(resp, status, CT_JSON, body, n + 1);
}

void reply_text(struct http_response *resp, unsigned status, const char *text)
{
    size_t n = strlen(text);
    char *body = malloc(n + 2);

    if (!body) {
        http_response_set(resp, 503, CT_TEXT, NULL, 0);
        return;
    }
    memcpy(body, text, n);
    body[n] = '\n';
    body[n + 1] = '\0';
    http_response_set(resp, status, CT_TEXT, body, n + 1);
}

void reply_error(struct http_response *resp, unsigned status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    (void) vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    reply_json(resp, status, json_pack("{s:s, s:i}", "error", msg, "status", (int) status));
}

json_t *json_number(double v)
{
    if (!isfinite(v))
        return json_null();
    return json_real(v);
}

int parse_body(const struct http_request *req, json_t **ret, char *err, size_t errlen)
{
    json_error_t je;

    if (!req->body || req->body_len == 0) {
        (void) snprintf(err, errlen, "empty body, expected a JSON object");
        return -ENODATA;
    }
    json_t *j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!j) {
        (void) snprintf(err, errlen, "line %d column %d: %s", je.line, je.column, je.text);
        return -EINVAL;
    }
    *ret = j;
    return 0;
}

int get_number(json_t *obj, const char *key, double max, double *ret, char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, key);

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_number(v)) {
        (void) snprintf(err, errlen, "%s must be a number", key);
        return -EINVAL;
    }
    double d = json_number_value(v);
    if (!isfinite(d) || d < 0 || d > max) {
        (void) snprintf(err, errlen, "%s must be between 0 and %g, got %g", key, max, d);
        return -EINVAL;
    }
    *ret = d;
    return 0;
}

int get_task(json_t *obj, bool required, const char **ret, char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, "task");

    if (!v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0)) {
        if (required) {
            (void) snprintf(err, errlen, "task field is required");
            return -ENOENT;
        }
        *ret = NULL;
        return 0;
    }
    if (!json_is_string(v)) {
        (void) snprintf(err, errlen, "task must be a string");
        return -EINVAL;
    }
    const char *s = json_string_value(v);
    if (json_string_length(v) != strlen(s) || !task_name_is_valid(s)) {
        (void) snprintf(err, errlen, "task must be 1..%d printable bytes", TASK_NAME_MAX);
        return -EINVAL;
    }
    *ret = s;
    return 0;
}

bool query_flag(const struct http_request *req, const char *query, const char *header)
{
    const char *q = http_request_query(req, query);
    const char *h = header ? http_request_header(req, header) : NULL;

    /* capfox accepts exactly the lowercase "true"; so do we. */
    return (q && strcmp(q, "true") == 0) || (h && strcmp(h, "true") == 0);
}

void format_task_id(char buf[static API_LEASE_ID_MAX], uint64_t id)
{
    (void) snprintf(buf, API_LEASE_ID_MAX, "t-%016llx", (unsigned long long) id);
}


int parse_task_id(const char *s, size_t len, uint64_t *ret)
{
    char tmp[API_LEASE_ID_MAX];

    if (len != 18 || strncmp(s, "t-", 2) != 0)
        return -EINVAL;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    tmp[0] = 'l';
    return api_parse_lease_id(tmp, ret);
}


int reject_unknown(json_t *body, const char *const *known, size_t n, char *err, size_t errlen)
{
    const char *key;
    json_t *v;

    json_object_foreach(body, key, v) {
        bool ok = false;
        for (size_t i = 0; i < n; i++)
            ok = ok || strcmp(key, known[i]) == 0;
        if (!ok) {
            (void) snprintf(err, errlen, "unknown field '%.64s'", key);
            return -EINVAL;
        }
    }
    return 0;
}


int get_bytes(json_t *obj, const char *key, uint64_t *ret, char *err, size_t errlen)
{
    double v = NAN;
    int r = get_number(obj, key, BYTES_MAX, &v, err, errlen);
    if (r >= 0 && !isnan(v))
        *ret = (uint64_t) llround(v);
    return r;
}


int object_body(const struct http_request *req, json_t **ret, char *err, size_t errlen)
{
    int r = parse_body(req, ret, err, errlen);
    if (r == -ENODATA) {
        *ret = json_object();
        return *ret ? 0 : -ENOMEM;
    }
    if (r >= 0 && !json_is_object(*ret)) {
        (void) snprintf(err, errlen, "expected a JSON object");
        return -EINVAL;
    }
    return r;
}

const char *api_token_user(const struct api *a, const struct http_request *req)
{
    const char *found = NULL;

    /* Every token is compared, so the time taken does not tell which one nearly matched. */
    for (unsigned i = 0; i < a->n_user_tokens; i++)
        if (bearer_matches(req, a->user_tokens[i].token) && !found)
            found = a->user_tokens[i].user;
    return found;
}

int api_caller_uid(const struct api *a, const struct http_request *req, uint32_t *ret)
{
    if (req->has_peer_cred) {
        *ret = (uint32_t) req->peer_uid;
        return 0;
    }
    const char *user = req->is_unix ? NULL : api_token_user(a, req);
    if (user) {
        struct passwd *pw = getpwnam(user);
        if (!pw)
            return -ESRCH;
        *ret = (uint32_t) pw->pw_uid;
        return 0;
    }
    if (geteuid() != 0) {
        *ret = (uint32_t) geteuid();
        return 0;
    }
    return -EPERM;
}

bool api_may_act(uint32_t caller, bool has_owner, uint32_t owner_uid)
{
    if (caller == 0 || caller == (uint32_t) geteuid())
        return true;
    return has_owner && caller == owner_uid;
}
