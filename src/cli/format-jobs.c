/* SPDX-License-Identifier: MIT */
#include "cli/format-jobs.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "basic/macro.h"
#include "basic/parse-util.h"
#include "cli/job-request.h"
#include "cli/json-util.h"

/* ---- cells: bounded, sanitized text --------------------------------------------------------- */

#define CELL_CHARS_MAX 128
#define CELL_BYTES     (CELL_CHARS_MAX * 4 + 8)
#define ELLIPSIS       "…"

/* Text of at most max characters (max ≤ CELL_CHARS_MAX). What does not fit is cut, and the last
 * character that fits is replaced by "…". */
struct cell {
    char buf[CELL_BYTES];
    size_t len;        /* bytes in buf */
    size_t chars;      /* characters in buf */
    size_t max;        /* characters allowed */
    size_t last_start; /* byte offset of the last character, for the "…" */
    bool cut;
};

static void cell_init(struct cell *c, size_t max)
{
    c->len = c->chars = c->last_start = 0;
    c->max = MIN(max, (size_t) CELL_CHARS_MAX);
    c->cut = false;
    c->buf[0] = '\0';
}

/* Appends one character of n bytes. */
static void cell_put_char(struct cell *c, const char *p, size_t n)
{
    if (c->cut)
        return;
    if (c->chars >= c->max) {
        /* Full and more is coming: the last character gives way to "…". */
        c->cut = true;
        if (c->chars > 0) {
            c->len = c->last_start;
            memcpy(c->buf + c->len, ELLIPSIS, strlen(ELLIPSIS));
            c->len += strlen(ELLIPSIS);
            c->buf[c->len] = '\0';
        }
        return;
    }
    c->last_start = c->len;
    memcpy(c->buf + c->len, p, n);
    c->len += n;
    c->chars++;
    c->buf[c->len] = '\0';
}

/* The length of the well-formed UTF-8 character at p (1 to 4), or 0 for a malformed sequence. */
static size_t char_len(const unsigned char *p)
{
    size_t n;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        n = 2;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        n = 3;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        n = 4;
    else
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

/* Whether the character at p (of n bytes) may reach a terminal: not a C0 control, DEL, nor a C1
 * control (U+0080..U+009F, which some terminals obey: U+009B is CSI). */
static bool char_printable(const unsigned char *p, size_t n)
{
    if (n == 1)
        return p[0] >= 0x20 && p[0] != 0x7f;
    return !(n == 2 && p[0] == 0xc2 && p[1] < 0xa0);
}

/* Appends s (n bytes), sanitized: a character that may not be printed becomes one '?', and so
 * does each byte of a malformed sequence. */
static void cell_add_n(struct cell *c, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *) s, *end = p + n;

    while (p < end && !c->cut) {
        size_t k = char_len(p);
        if (k == 0 || p + k > end) {
            cell_put_char(c, "?", 1);
            p++;
        } else if (!char_printable(p, k)) {
            cell_put_char(c, "?", 1);
            p += k;
        } else {
            cell_put_char(c, (const char *) p, k);
            p += k;
        }
    }
}

static void cell_add(struct cell *c, const char *s)
{
    cell_add_n(c, s, strlen(s));
}

static void cell_addf(struct cell *c, const char *fmt, ...) _printf_(2, 3);

static void cell_addf(struct cell *c, const char *fmt, ...)
{
    char buf[CELL_BYTES];
    va_list ap;

    va_start(ap, fmt);
    (void) vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    cell_add(c, buf);
}

static void put_padded(FILE *f, const struct cell *c, size_t width)
{
    fputs(c->buf, f);
    for (size_t i = c->chars; i < width; i++)
        fputc(' ', f);
}

/* ---- time ------------------------------------------------------------------------------------ */

static bool digits(const char *p, size_t n, int *ret)
{
    int v = 0;

    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (p[i] - '0');
    }
    *ret = v;
    return true;
}

int timestamp_parse_rfc3339(const char *s, usec_t *ret)
{
    struct tm tm = { 0 };
    int year, mon, day, hour, min, sec, oh = 0, om = 0;
    long offset_sec = 0;
    usec_t frac = 0;
    const char *p;
    time_t t;

    if (!s || strlen(s) < 20)
        return -EINVAL;
    if (!digits(s, 4, &year) || s[4] != '-' || !digits(s + 5, 2, &mon) || s[7] != '-' ||
        !digits(s + 8, 2, &day) || !strchr("Tt ", s[10]) || !digits(s + 11, 2, &hour) ||
        s[13] != ':' || !digits(s + 14, 2, &min) || s[16] != ':' || !digits(s + 17, 2, &sec))
        return -EINVAL;
    if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
        return -EINVAL;

    p = s + 19;
    if (*p == '.') {
        usec_t scale = USEC_PER_SEC / 10;
        p++;
        if (*p < '0' || *p > '9')
            return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
            frac += (usec_t) (*p - '0') * scale;
            scale /= 10;
        }
    }
    if (*p == 'Z' || *p == 'z')
        p++;
    else if (*p == '+' || *p == '-') {
        if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return -EINVAL;
        offset_sec = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
        p += 6;
    } else
        return -EINVAL;
    if (*p != '\0')
        return -EINVAL;

    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = MIN(sec, 59);
    t = timegm(&tm);
    if (t == (time_t) -1 || t - offset_sec < 0)
        return -EINVAL;
    *ret = (usec_t) (t - offset_sec) * USEC_PER_SEC + frac;
    return 0;
}

char *format_duration_short(char *buf, size_t len, usec_t d)
{
    uint64_t s = d / USEC_PER_SEC;

    if (s < 60)
        (void) snprintf(buf, len, "%" PRIu64 "s", s);
    else if (s < 3600)
        (void) snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
    else if (s < 86400)
        (void) snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s / 60 % 60);
    else
        (void) snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, s / 3600 % 24);
    return buf;
}

/* The member as a timestamp, or false. */
static bool time_of(const json_t *o, const char *key, usec_t *ret)
{
    return timestamp_parse_rfc3339(json_get_string(o, key), ret) == 0;
}

/* "2026-11-23 17:00:00Z" for a timestamp string; the string itself, sanitized, when it is not one;
 * "-" when absent. */
static void cell_time(struct cell *c, const char *s)
{
    usec_t u;
    struct tm tm;
    char buf[32];

    if (!s) {
        cell_add(c, "-");
        return;
    }
    time_t t = timestamp_parse_rfc3339(s, &u) == 0 ? (time_t) (u / USEC_PER_SEC) : (time_t) -1;
    if (t < 0 || !gmtime_r(&t, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%SZ", &tm) == 0) {
        cell_add(c, s);
        return;
    }
    cell_add(c, buf);
}

/* ---- jobs ------------------------------------------------------------------------------------ */

char *format_job_command(char *buf, size_t len, const json_t *argv, size_t max)
{
    struct cell c;
    size_t i;
    json_t *a;

    cell_init(&c, max);
    if (!json_is_array(argv) || json_array_size(argv) == 0)
        cell_add(&c, "-");
    json_array_foreach ((json_t *) argv, i, a) {
        const char *s = json_string_value(a);
        if (!s)
            s = "?";
        if (i > 0)
            cell_add(&c, " ");
        /* Bytes a shell would take as they are; UTF-8 (≥ 0x80) included. */
        size_t n = strlen(s);
        bool plain = n > 0;
        for (size_t k = 0; k < n && plain; k++) {
            unsigned char ch = (unsigned char) s[k];
            plain = ch >= 0x80 || strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                         "0123456789_@%+=:,./-",
                                         ch) != NULL;
        }
        if (plain) {
            cell_add(&c, s);
            continue;
        }
        cell_add(&c, "'");
        for (const char *p = s; *p;) {
            const char *q = strchr(p, '\'');
            size_t k = q ? (size_t) (q - p) : strlen(p);
            cell_add_n(&c, p, k);
            if (!q)
                break;
            cell_add(&c, "'\\''");
            p = q + 1;
        }
        cell_add(&c, "'");
    }
    (void) snprintf(buf, len, "%s", c.buf);
    return buf;
}

enum {
    COL_ID,
    COL_STATE,
    COL_PRI,
    COL_USER,
    COL_TASK,
    COL_TIME,
    COL_DETAIL,
    COL_COMMAND,
    _COL_MAX,
};

static const char *const col_names[_COL_MAX] = {
    "ID", "STATE", "PRI", "USER", "TASK", "AGE/RUNTIME", "EXIT/REASON", "COMMAND",
};

static const size_t col_max[_COL_MAX] = {
    20, 12, 4, FORMAT_JOB_USER_MAX, FORMAT_JOB_TASK_MAX, 12, FORMAT_JOB_DETAIL_MAX,
    FORMAT_JOB_COMMAND_MAX,
};

/* "12s" from a to b; "0s" when b is before a (clocks a little apart). */
static void cell_span(struct cell *c, usec_t a, usec_t b)
{
    char buf[32];
    cell_add(c, format_duration_short(buf, sizeof(buf), b > a ? b - a : 0));
}

static void job_time(struct cell *c, const json_t *job, const char *state, usec_t now)
{
    usec_t submitted, started, ended;
    bool has_started = time_of(job, "started_at", &started);

    if (state && strcmp(state, "queued") == 0) {
        if (time_of(job, "submitted_at", &submitted))
            cell_span(c, submitted, now);
        else
            cell_add(c, "-");
    } else if (!has_started)
        cell_add(c, "-");
    else if (time_of(job, "ended_at", &ended))
        cell_span(c, started, ended);
    else
        cell_span(c, started, now);
}

static void job_detail(struct cell *c, const json_t *job, const char *state)
{
    const json_t *code = json_get(job, "exit_code"), *pos = json_get(job, "position");
    const json_t *waiting = json_get(job, "waiting"), *pid = json_get(job, "pid");
    const char *reason = json_get_string(job, "reason");
    bool finished = job_state_is_finished(state);

    if (state && strcmp(state, "queued") == 0) {
        bool any = false;
        if (json_is_integer(pos)) {
            cell_addf(c, "#%" JSON_INTEGER_FORMAT, json_integer_value(pos));
            any = true;
        }
        if (json_array_size(waiting) > 0) {
            size_t i;
            json_t *w;
            cell_add(c, any ? ", waits for " : "waits for ");
            json_array_foreach ((json_t *) waiting, i, w) {
                if (i > 0)
                    cell_add(c, ", ");
                cell_add(c, json_string_value(w) ?: "?");
            }
            any = true;
        }
        if (reason) {
            cell_add(c, any ? ": " : "");
            cell_add(c, reason);
            any = true;
        }
        if (!any)
            cell_add(c, "-");
        return;
    }
    if (!finished) {
        if (json_is_integer(pid))
            cell_addf(c, "pid %" JSON_INTEGER_FORMAT, json_integer_value(pid));
        else
            cell_add(c, "-");
        return;
    }
    if (json_is_integer(code)) {
        cell_addf(c, "exit %" JSON_INTEGER_FORMAT, json_integer_value(code));
        if (reason) {
            cell_add(c, ": ");
            cell_add(c, reason);
        }
    } else if (reason)
        cell_add(c, reason);
    else if (strcmp(state, "cancelled") == 0)
        cell_add(c, "before it started");
    else
        cell_add(c, "-");
}

static void job_cells(struct cell cells[static _COL_MAX], const json_t *job, usec_t now)
{
    const char *state = json_get_string(job, "state");
    const json_t *id = json_get(job, "id"), *uid = json_get(job, "uid");
    char cmd[CELL_BYTES];

    for (size_t i = 0; i < _COL_MAX; i++)
        cell_init(&cells[i], col_max[i]);
    if (json_is_integer(id))
        cell_addf(&cells[COL_ID], "%" JSON_INTEGER_FORMAT, json_integer_value(id));
    else
        cell_add(&cells[COL_ID], "?");
    cell_add(&cells[COL_STATE], state ?: "?");
    cell_add(&cells[COL_PRI], json_get_string(job, "priority") ?: "-");
    if (json_get_string(job, "user"))
        cell_add(&cells[COL_USER], json_get_string(job, "user"));
    else if (json_is_integer(uid))
        cell_addf(&cells[COL_USER], "%" JSON_INTEGER_FORMAT, json_integer_value(uid));
    else
        cell_add(&cells[COL_USER], "-");
    cell_add(&cells[COL_TASK], json_get_string(job, "task") ?: "-");
    job_time(&cells[COL_TIME], job, state, now);
    job_detail(&cells[COL_DETAIL], job, state);
    cell_add(&cells[COL_COMMAND],
             format_job_command(cmd, sizeof(cmd), json_get(job, "argv"), FORMAT_JOB_COMMAND_MAX));
}

static bool job_shown(const json_t *job, bool all)
{
    return json_is_object(job) && (all || !job_state_is_finished(json_get_string(job, "state")));
}

void format_jobs(FILE *f, const json_t *jobs, bool all, usec_t now_usec)
{
    struct cell cells[_COL_MAX];
    size_t width[_COL_MAX], shown = 0, hidden = 0, i;
    json_t *job;

    for (size_t k = 0; k < _COL_MAX; k++)
        width[k] = strlen(col_names[k]);

    /* Two passes, the cells made twice: the widths first, then the rows, with nothing kept in
     * between however many jobs the daemon lists. */
    json_array_foreach ((json_t *) jobs, i, job) {
        if (!job_shown(job, all)) {
            hidden += json_is_object(job);
            continue;
        }
        shown++;
        job_cells(cells, job, now_usec);
        for (size_t k = 0; k < _COL_MAX; k++)
            width[k] = MAX(width[k], cells[k].chars);
    }
    if (shown == 0) {
        if (hidden > 0)
            fprintf(f, "No unfinished jobs (%zu finished; --all shows them).\n", hidden);
        else
            fputs("No jobs.\n", f);
        return;
    }

    for (size_t k = 0; k < _COL_MAX; k++) {
        fputs(col_names[k], f);
        if (k + 1 < _COL_MAX)
            for (size_t s = strlen(col_names[k]); s < width[k] + 2; s++)
                fputc(' ', f);
    }
    fputc('\n', f);
    json_array_foreach ((json_t *) jobs, i, job) {
        if (!job_shown(job, all))
            continue;
        job_cells(cells, job, now_usec);
        for (size_t k = 0; k < _COL_MAX; k++) {
            if (k + 1 < _COL_MAX)
                put_padded(f, &cells[k], width[k] + 2);
            else
                fputs(cells[k].buf, f);
        }
        fputc('\n', f);
    }
}

/* ---- events ---------------------------------------------------------------------------------- */

#define EVENT_TYPE_WIDTH 20 /* "task:critical-memory" */

/* ", " before every part but the first. */
static void part(struct cell *c, bool *first)
{
    if (!*first)
        cell_add(c, ", ");
    *first = false;
}

static void event_bytes(struct cell *c, bool *first, const json_t *e, const char *key, const char *label)
{
    double v;
    char buf[32];

    if (!json_get_number(e, key, &v) || !isfinite(v) || v < 0)
        return;
    part(c, first);
    cell_addf(c, "%s %s", label, format_bytes(buf, sizeof(buf), (uint64_t) (MIN(v, 1.8e19) + 0.5)));
}

static void event_seconds(struct cell *c, bool *first, const json_t *e, const char *key, const char *label)
{
    double v;
    char buf[32];

    if (!json_get_number(e, key, &v) || !isfinite(v) || v < 0)
        return;
    part(c, first);
    if (v < 60)
        cell_addf(c, "%s %.1fs", label, v);
    else
        cell_addf(c, "%s %s", label, format_duration_short(buf, sizeof(buf), (usec_t) (MIN(v, 1e12) * 1e6)));
}

static void event_details(struct cell *c, const json_t *e)
{
    const json_t *v;
    const char *s;
    bool first = true;
    double x;

    if (json_get_number(e, "pct", &x) && isfinite(x)) {
        part(c, &first);
        cell_addf(c, "%.4g%%", x);
    }
    if ((s = json_get_string(e, "phase"))) {
        part(c, &first);
        cell_add(c, "phase ");
        cell_add(c, s);
    }
    event_seconds(c, &first, e, "eta_seconds", "eta");
    event_bytes(c, &first, e, "rss_bytes", "rss");
    event_bytes(c, &first, e, "limit_bytes", "limit");
    if (json_get_number(e, "cpu_pct", &x) && isfinite(x)) {
        part(c, &first);
        cell_addf(c, "cpu %.1f%%", x);
    }
    if ((s = json_get_string(e, "last_activity"))) {
        part(c, &first);
        cell_add(c, "last activity ");
        cell_time(c, s);
    } else
        event_seconds(c, &first, e, "last_activity", "idle");
    v = json_get(e, "exit_code");
    if (json_is_integer(v)) {
        part(c, &first);
        cell_addf(c, "exit %" JSON_INTEGER_FORMAT, json_integer_value(v));
    }
    v = json_get(e, "signal");
    if (json_is_integer(v) || json_is_string(v)) {
        part(c, &first);
        if (json_is_integer(v))
            cell_addf(c, "signal %" JSON_INTEGER_FORMAT, json_integer_value(v));
        else {
            cell_add(c, "signal ");
            cell_add(c, json_string_value(v));
        }
    }
    event_seconds(c, &first, e, "duration_sec", "after");
    event_seconds(c, &first, e, "cpu_sec", "cpu time");
    event_bytes(c, &first, e, "peak_rss_bytes", "peak");
    if ((s = json_get_string(e, "priority"))) {
        part(c, &first);
        cell_add(c, s);
    }
    if ((s = json_get_string(e, "reason"))) {
        part(c, &first);
        cell_add(c, s);
    }
}

void format_event(FILE *f, const json_t *event)
{
    const json_t *job = json_get(event, "job_id");
    const char *task_id = json_get_string(event, "task_id"), *task = json_get_string(event, "task");
    struct cell when, type, subject, details;

    cell_init(&when, 24);
    cell_init(&type, 40);
    cell_init(&subject, 48);
    cell_init(&details, FORMAT_EVENT_DETAIL_MAX);

    cell_time(&when, json_get_string(event, "time"));
    cell_add(&type, json_get_string(event, "type") ?: "?");
    if (json_is_integer(job))
        cell_addf(&subject, "job %" JSON_INTEGER_FORMAT, json_integer_value(job));
    else if (task_id)
        cell_add(&subject, task_id);
    if (task) {
        cell_add(&subject, subject.chars > 0 ? " '" : "'");
        cell_add(&subject, task);
        cell_add(&subject, "'");
    }
    if (subject.chars == 0)
        cell_add(&subject, "-");
    event_details(&details, event);

    put_padded(f, &when, 0);
    fputs("  ", f);
    put_padded(f, &type, EVENT_TYPE_WIDTH);
    fputs("  ", f);
    fputs(subject.buf, f);
    if (details.chars > 0) {
        fputs("  ", f);
        fputs(details.buf, f);
    }
    fputc('\n', f);
}

/* ---- tasks ----------------------------------------------------------------------------------- */

enum {
    TCOL_ID,
    TCOL_JOB,
    TCOL_TASK,
    TCOL_PID,
    TCOL_STATE,
    TCOL_CPU,
    TCOL_MEM,
    TCOL_GPU,
    TCOL_PROGRESS,
    TCOL_RUNTIME,
    _TCOL_MAX,
};

static const char *const tcol_names[_TCOL_MAX] = {
    "ID", "JOB", "TASK", "PID", "STATE", "CPU%", "MEM%", "GPU%", "PROGRESS", "RUNTIME",
};

static const size_t tcol_max[_TCOL_MAX] = {
    20, 16, FORMAT_JOB_TASK_MAX, 10, 12, 10, 10, 10, FORMAT_TASK_PROGRESS_MAX, 12,
};

/* Figures read best aligned on their last digit. */
static const bool tcol_right[_TCOL_MAX] = {
    [TCOL_PID] = true, [TCOL_CPU] = true, [TCOL_MEM] = true, [TCOL_GPU] = true,
};

/* What the table's STATE column says: suspended (by its owner, root or a job's control),
 * suspended* (by protective mode), stalled (its supervisor saw no output and no CPU), else
 * running. A suspended task is idle by force, so its stall is not news. */
static const char *task_state(const json_t *task)
{
    if (json_is_true(json_get(task, "suspended_by_protection")))
        return "suspended*";
    if (json_is_true(json_get(task, "suspended")))
        return "suspended";
    if (json_is_true(json_get(task, "stalled")))
        return "stalled";
    return "running";
}

/* A finite number under key, or false. */
static bool finite_of(const json_t *o, const char *key, double *ret)
{
    double v;

    if (!json_get_number(o, key, &v) || !isfinite(v))
        return false;
    *ret = v;
    return true;
}

/* "12.3" for percentage points, "-" when there is no such figure. */
static void cell_pct(struct cell *c, const json_t *o, const char *key)
{
    double v;

    if (finite_of(o, key, &v))
        cell_addf(c, "%.1f", CLAMP(v, -1e9, 1e9));
    else
        cell_add(c, "-");
}

/* "40%", "12.5%": a progress to a tenth of a percent, without a noisy ".0", and cut rather than
 * rounded, so that a task at 99.96% does not show 100%. */
static void cell_progress_pct(struct cell *c, double v)
{
    long long tenths = (long long) floor(CLAMP(v, -1e9, 1e9) * 10.0 + 1e-6);

    if (tenths % 10 == 0)
        cell_addf(c, "%lld%%", tenths / 10);
    else
        cell_addf(c, "%.1f%%", (double) tenths / 10.0);
}

/* "40% encode", "40%", "encode", or "-" (in the detail view, with phase_sep ", phase " and
 * phase_alone "phase ": "40%, phase encode"). */
static void cell_progress(struct cell *c,
                          const json_t *task,
                          const char *phase_sep,
                          const char *phase_alone)
{
    const char *phase = json_get_string(task, "phase");
    double pct;
    bool has_pct = finite_of(task, "progress_pct", &pct);

    if (has_pct)
        cell_progress_pct(c, pct);
    if (phase) {
        cell_add(c, has_pct ? phase_sep : phase_alone);
        cell_add(c, phase);
    }
    if (!has_pct && !phase)
        cell_add(c, "-");
}

/* An integer member as a decimal, or "-". */
static void cell_int(struct cell *c, const json_t *o, const char *key)
{
    const json_t *v = json_get(o, key);

    if (json_is_integer(v))
        cell_addf(c, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else
        cell_add(c, "-");
}

static void task_cells(struct cell cells[static _TCOL_MAX], const json_t *task, usec_t now)
{
    const json_t *use = json_get(task, "use");
    usec_t started;

    for (size_t i = 0; i < _TCOL_MAX; i++)
        cell_init(&cells[i], tcol_max[i]);
    cell_add(&cells[TCOL_ID], json_get_string(task, "id") ?: "?");
    cell_int(&cells[TCOL_JOB], task, "job_id");
    cell_add(&cells[TCOL_TASK], json_get_string(task, "task") ?: "-");
    cell_int(&cells[TCOL_PID], task, "pid");
    cell_add(&cells[TCOL_STATE], task_state(task));
    cell_pct(&cells[TCOL_CPU], use, "cpu");
    cell_pct(&cells[TCOL_MEM], use, "memory");
    cell_pct(&cells[TCOL_GPU], use, "gpu");
    cell_progress(&cells[TCOL_PROGRESS], task, " ", "");
    if (time_of(task, "started_at", &started))
        cell_span(&cells[TCOL_RUNTIME], started, now);
    else
        cell_add(&cells[TCOL_RUNTIME], "-");
}

/* Writes one cell of a table row: padded to width, on the left or (right) on the right; the last
 * cell of a row, left-aligned, without trailing blanks. */
static void put_cell(FILE *f, const struct cell *c, size_t width, bool right, bool last)
{
    if (right)
        for (size_t i = c->chars; i < width; i++)
            fputc(' ', f);
    fputs(c->buf, f);
    if (!right && !last)
        for (size_t i = c->chars; i < width; i++)
            fputc(' ', f);
}

void format_tasks(FILE *f, const json_t *tasks, usec_t now_usec)
{
    struct cell cells[_TCOL_MAX];
    size_t width[_TCOL_MAX], shown = 0, protected = 0, i, last = 0;
    bool column[_TCOL_MAX];
    json_t *task;

    for (size_t k = 0; k < _TCOL_MAX; k++) {
        width[k] = strlen(tcol_names[k]);
        /* GPU% only where some task reports GPU use: most machines have none. */
        column[k] = k != TCOL_GPU;
    }

    /* As format_jobs(): the widths first, then the rows, the cells made twice. */
    json_array_foreach ((json_t *) tasks, i, task) {
        if (!json_is_object(task))
            continue;
        shown++;
        task_cells(cells, task, now_usec);
        for (size_t k = 0; k < _TCOL_MAX; k++)
            width[k] = MAX(width[k], cells[k].chars);
        if (json_is_number(json_get(json_get(task, "use"), "gpu")))
            column[TCOL_GPU] = true;
        protected += json_is_true(json_get(task, "suspended_by_protection"));
    }
    if (shown == 0) {
        fputs("No running tasks.\n", f);
        return;
    }
    for (size_t k = 0; k < _TCOL_MAX; k++)
        if (column[k])
            last = k;

    for (size_t k = 0; k < _TCOL_MAX; k++) {
        struct cell h;
        if (!column[k])
            continue;
        cell_init(&h, CELL_CHARS_MAX);
        cell_add(&h, tcol_names[k]);
        put_cell(f, &h, width[k], tcol_right[k], k == last);
        if (k != last)
            fputs("  ", f);
    }
    fputc('\n', f);
    json_array_foreach ((json_t *) tasks, i, task) {
        if (!json_is_object(task))
            continue;
        task_cells(cells, task, now_usec);
        for (size_t k = 0; k < _TCOL_MAX; k++) {
            if (!column[k])
                continue;
            put_cell(f, &cells[k], width[k], tcol_right[k], k == last);
            if (k != last)
                fputs("  ", f);
        }
        fputc('\n', f);
    }
    if (protected > 0)
        fputs("* suspended by protective mode; the daemon resumes it when there is room again\n",
              f);
}

/* ---- one task -------------------------------------------------------------------------------- */

#define DETAIL_VALUE_MAX 100
#define SPARK_WIDTH_MAX  60

static void detail(FILE *f, const char *label, const struct cell *value)
{
    fprintf(f, "  %-15s %s\n", label, value->buf);
}

/* A label and one string from the daemon (sanitized), or "-". */
static void detail_string(FILE *f, const char *label, const char *s)
{
    struct cell c;

    cell_init(&c, DETAIL_VALUE_MAX);
    cell_add(&c, s ?: "-");
    detail(f, label, &c);
}

/* "2026-11-23 17:00:00Z (3m07s ago)", "(in 2m00s)" for a time to come; "-" without one. */
static void detail_when(FILE *f, const char *label, const json_t *task, const char *key, usec_t now)
{
    const char *s = json_get_string(task, key);
    char buf[32];
    struct cell c;
    usec_t t;

    cell_init(&c, DETAIL_VALUE_MAX);
    cell_time(&c, s);
    if (s && timestamp_parse_rfc3339(s, &t) == 0) {
        if (t <= now)
            cell_addf(&c, " (%s ago)", format_duration_short(buf, sizeof(buf), now - t));
        else
            cell_addf(&c, " (in %s)", format_duration_short(buf, sizeof(buf), t - now));
    }
    detail(f, label, &c);
}

/* "cpu 50.1%, memory 2.3%, gpu 40.0%, vram 10.0%" from a use or peak object, in that order, then
 * any other resource it names; "none reported yet" for an empty one. */
static void detail_use(FILE *f, const char *label, const json_t *use)
{
    static const char *const known[] = { "cpu", "memory", "gpu", "vram" };
    const char *key;
    json_t *v;
    struct cell c;
    bool first = true;
    double x;

    cell_init(&c, DETAIL_VALUE_MAX);
    for (size_t i = 0; i < ELEMENTSOF(known); i++)
        if (finite_of(use, known[i], &x)) {
            part(&c, &first);
            cell_addf(&c, "%s %.1f%%", known[i], CLAMP(x, -1e9, 1e9));
        }
    if (json_is_object(use))
        json_object_foreach ((json_t *) use, key, v) {
            bool seen = false;
            for (size_t i = 0; i < ELEMENTSOF(known); i++)
                seen = seen || strcmp(key, known[i]) == 0;
            if (seen || !json_is_number(v) || !isfinite(json_number_value(v)))
                continue;
            part(&c, &first);
            cell_add(&c, key);
            cell_addf(&c, " %.1f%%", CLAMP(json_number_value(v), -1e9, 1e9));
        }
    if (first)
        cell_add(&c, "none reported yet");
    detail(f, label, &c);
}

/* "0 (GPU-5d3c...), 1 (GPU-8a41...)" from the parallel arrays gpus and gpu_uuids; "none". */
static void detail_gpus(FILE *f, const json_t *task)
{
    const json_t *gpus = json_get(task, "gpus"), *uuids = json_get(task, "gpu_uuids");
    struct cell c;
    size_t i;
    json_t *g;

    cell_init(&c, DETAIL_VALUE_MAX);
    json_array_foreach ((json_t *) gpus, i, g) {
        const char *uuid = json_string_value(json_array_get(uuids, i));
        if (i > 0)
            cell_add(&c, ", ");
        if (json_is_integer(g))
            cell_addf(&c, "%" JSON_INTEGER_FORMAT, json_integer_value(g));
        else
            cell_add(&c, "?");
        if (uuid && uuid[0]) {
            cell_add(&c, " (");
            cell_add(&c, uuid);
            cell_add(&c, ")");
        }
    }
    if (c.chars == 0)
        cell_add(&c, "none");
    detail(f, "GPUs:", &c);
}

static void detail_bytes(FILE *f, const char *label, const json_t *o, const char *key)
{
    struct cell c;
    char buf[32];
    double v;

    cell_init(&c, DETAIL_VALUE_MAX);
    if (finite_of(o, key, &v) && v >= 0)
        cell_add(&c, format_bytes(buf, sizeof(buf), (uint64_t) (MIN(v, 1.8e19) + 0.5)));
    else
        cell_add(&c, "-");
    detail(f, label, &c);
}

static void detail_count(FILE *f, const char *label, const json_t *o, const char *key)
{
    struct cell c;
    double v;

    cell_init(&c, DETAIL_VALUE_MAX);
    if (finite_of(o, key, &v))
        cell_addf(&c, "%.0f", CLAMP(v, -1e15, 1e15));
    else
        cell_add(&c, "-");
    detail(f, label, &c);
}

/* "read 1.5 MiB/s, write 0 B/s". */
static void detail_io(FILE *f, const json_t *m)
{
    static const char *const keys[] = { "io_read_bps", "io_write_bps" };
    static const char *const names[] = { "read", "write" };
    struct cell c;
    char buf[32];
    double v;

    cell_init(&c, DETAIL_VALUE_MAX);
    for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
        cell_add(&c, i > 0 ? ", " : "");
        cell_add(&c, names[i]);
        if (finite_of(m, keys[i], &v) && v >= 0)
            cell_addf(&c, " %s/s",
                      format_bytes(buf, sizeof(buf), (uint64_t) (MIN(v, 1.8e19) + 0.5)));
        else
            cell_add(&c, " -");
    }
    detail(f, "IO:", &c);
}

/* The history's column called name (by history_columns), or -1. */
static ssize_t history_column(const json_t *task, const char *name)
{
    const json_t *cols = json_get(task, "history_columns");
    size_t i;
    json_t *c;

    json_array_foreach ((json_t *) cols, i, c)
        if (json_is_string(c) && strcmp(json_string_value(c), name) == 0)
            return (ssize_t) i;
    return -1;
}

/* The number in column col of row, or false (null, missing, not a number). */
static bool row_value(const json_t *row, ssize_t col, double *ret)
{
    const json_t *v;

    if (col < 0)
        return false;
    v = json_array_get(row, (size_t) col);
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
        return false;
    *ret = json_number_value(v);
    return true;
}

struct series {
    size_t n;
    double min, max, sum;
};

static struct series series_of(const json_t *rows, ssize_t col, size_t from, size_t to)
{
    struct series s = { 0 };
    double v;

    for (size_t i = from; i < to; i++) {
        if (!row_value(json_array_get(rows, i), col, &v))
            continue;
        if (s.n == 0 || v < s.min)
            s.min = v;
        if (s.n == 0 || v > s.max)
            s.max = v;
        s.sum += v;
        s.n++;
    }
    return s;
}

/* A line of at most SPARK_WIDTH_MAX block characters, each the mean of its share of the rows,
 * from "▁" at the series' minimum to "█" at its maximum ("▄" throughout for a flat series; a space
 * where a share has no value). */
static void put_sparkline(FILE *f, const json_t *rows, ssize_t col, const struct series *all)
{
    static const char *const blocks[] = { "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };
    size_t n = json_array_size(rows), w = MIN(n, (size_t) SPARK_WIDTH_MAX);
    double span = all->max - all->min;

    fputs("                  ", f);
    for (size_t b = 0; b < w; b++) {
        struct series s = series_of(rows, col, b * n / w, (b + 1) * n / w);
        if (s.n == 0) {
            fputc(' ', f);
            continue;
        }
        double mean = s.sum / (double) s.n;
        size_t level = span > 0 ? (size_t) lround((mean - all->min) / span * 7.0) : 3;
        fputs(blocks[MIN(level, (size_t) 7)], f);
    }
    fputc('\n', f);
}

static void history_series(
        FILE *f, const json_t *task, const char *label, const char *column, bool bytes)
{
    const json_t *rows = json_get(task, "history");
    ssize_t col = history_column(task, column);
    struct series s = series_of(rows, col, 0, json_array_size(rows));
    char a[32], b[32], c[32];

    if (s.n == 0) {
        fprintf(f, "  %-15s -\n", label);
        return;
    }
    double avg = s.sum / (double) s.n;
    if (bytes)
        fprintf(f, "  %-15s min %s, avg %s, max %s\n", label,
                format_bytes(a, sizeof(a), (uint64_t) (CLAMP(s.min, 0, 1.8e19) + 0.5)),
                format_bytes(b, sizeof(b), (uint64_t) (CLAMP(avg, 0, 1.8e19) + 0.5)),
                format_bytes(c, sizeof(c), (uint64_t) (CLAMP(s.max, 0, 1.8e19) + 0.5)));
    else
        fprintf(f, "  %-15s min %.1f%%, avg %.1f%%, max %.1f%%\n", label, CLAMP(s.min, -1e9, 1e9),
                CLAMP(avg, -1e9, 1e9), CLAMP(s.max, -1e9, 1e9));
    put_sparkline(f, rows, col, &s);
}

static void history_section(FILE *f, const json_t *task)
{
    const json_t *rows = json_get(task, "history");
    size_t n = json_array_size(rows);
    ssize_t tcol = history_column(task, "time_ms");
    double t0, t1;
    char buf[32];

    if (n == 0) {
        fputs("\nHistory: none yet\n", f);
        return;
    }
    fprintf(f, "\nHistory: %zu sample%s", n, n == 1 ? "" : "s");
    if (n > 1 && row_value(json_array_get(rows, 0), tcol, &t0) &&
        row_value(json_array_get(rows, n - 1), tcol, &t1) && t1 >= t0)
        fprintf(f, " over %s",
                format_duration_short(buf, sizeof(buf), (usec_t) (MIN(t1 - t0, 1e15) * 1000)));
    fputs(" (graphs from min to max, oldest first)\n", f);
    history_series(f, task, "RSS:", "rss_bytes", true);
    history_series(f, task, "CPU:", "cpu_pct", false);
}

void format_task(FILE *f, const json_t *task, usec_t now_usec)
{
    const json_t *m = json_get(task, "metrics"), *v;
    struct cell c;
    double x;

    cell_init(&c, DETAIL_VALUE_MAX);
    cell_add(&c, json_get_string(task, "id") ?: "?");
    v = json_get(task, "job_id");
    if (json_is_integer(v))
        cell_addf(&c, " (job %" JSON_INTEGER_FORMAT ")", json_integer_value(v));
    fprintf(f, "Task %s\n", c.buf);

    detail_string(f, "Type:", json_get_string(task, "task"));
    cell_init(&c, DETAIL_VALUE_MAX);
    if (json_is_true(json_get(task, "suspended_by_protection")))
        cell_add(&c, "suspended by protective mode");
    else
        cell_add(&c, task_state(task));
    detail(f, "State:", &c);
    cell_init(&c, DETAIL_VALUE_MAX);
    cell_int(&c, task, "pid");
    detail(f, "PID:", &c);
    detail_string(f, "Priority:", json_get_string(task, "priority"));
    cell_init(&c, DETAIL_VALUE_MAX);
    cell_int(&c, task, "owner_uid");
    detail(f, "Owner uid:", &c);
    cell_init(&c, DETAIL_VALUE_MAX);
    if (finite_of(task, "complexity", &x))
        cell_addf(&c, "%g", x);
    else
        cell_add(&c, "-");
    detail(f, "Complexity:", &c);
    detail_when(f, "Started:", task, "started_at", now_usec);
    detail_when(f, "Expected end:", task, "expected_end_at", now_usec);
    cell_init(&c, DETAIL_VALUE_MAX);
    cell_progress(&c, task, ", phase ", "phase ");
    detail(f, "Progress:", &c);
    detail_when(f, "Last activity:", task, "last_activity_at", now_usec);
    detail_string(f, "Lease:", json_get_string(task, "lease") ?: "none");
    detail_gpus(f, task);
    detail_use(f, "Use:", json_get(task, "use"));
    detail_use(f, "Peak:", json_get(task, "peak"));

    if (!json_is_object(m))
        fputs("\nLatest sample: none yet\n", f);
    else {
        cell_init(&c, DETAIL_VALUE_MAX);
        cell_time(&c, json_get_string(m, "at"));
        fprintf(f, "\nLatest sample, %s:\n", c.buf);
        detail_bytes(f, "RSS:", m, "rss_bytes");
        cell_init(&c, DETAIL_VALUE_MAX);
        if (finite_of(m, "cpu_pct", &x))
            cell_addf(&c, "%.1f%% of the machine", CLAMP(x, -1e9, 1e9));
        else
            cell_add(&c, "-");
        detail(f, "CPU:", &c);
        detail_count(f, "Threads:", m, "threads");
        detail_count(f, "Open files:", m, "fds");
        detail_count(f, "Processes:", m, "processes");
        detail_io(f, m);
    }
    history_section(f, task);
}
