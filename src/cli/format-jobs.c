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
