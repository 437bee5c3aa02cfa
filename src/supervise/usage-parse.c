/* SPDX-License-Identifier: MIT */
/* Pure parsers of the /proc/PID and cgroup files a supervised task is measured with. No I/O. */

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"
#include "supervise/sv-internal.h"

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

bool sv_span_next_line(struct sv_span *rest, struct sv_span *ret_line)
{
    if (rest->n == 0)
        return false;
    const char *nl = memchr(rest->p, '\n', rest->n);
    size_t len = nl ? (size_t) (nl - rest->p) : rest->n;
    ret_line->p = rest->p;
    ret_line->n = len;
    size_t skip = nl ? len + 1 : len;
    rest->p += skip;
    rest->n -= skip;
    return true;
}

bool sv_span_next_token(struct sv_span *rest, struct sv_span *ret_tok)
{
    while (rest->n > 0 && is_blank(*rest->p)) {
        rest->p++;
        rest->n--;
    }
    if (rest->n == 0)
        return false;
    size_t len = 0;
    while (len < rest->n && !is_blank(rest->p[len]))
        len++;
    ret_tok->p = rest->p;
    ret_tok->n = len;
    rest->p += len;
    rest->n -= len;
    return true;
}

bool sv_span_eq(struct sv_span s, const char *lit)
{
    size_t l = strlen(lit);
    return s.n == l && memcmp(s.p, lit, l) == 0;
}

bool sv_span_list_has(struct sv_span list, const char *item)
{
    size_t l = strlen(item), start = 0;

    for (size_t i = 0; i <= list.n; i++)
        if (i == list.n || list.p[i] == ',') {
            if (i - start == l && memcmp(list.p + start, item, l) == 0)
                return true;
            start = i + 1;
        }
    return false;
}

int sv_span_to_u64(struct sv_span s, uint64_t *ret)
{
    uint64_t v = 0;

    if (s.n == 0)
        return -EBADMSG;
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        if (c < '0' || c > '9')
            return -EBADMSG;
        unsigned d = (unsigned) (c - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
    }
    *ret = v;
    return 0;
}

/* A signed decimal that must not be negative (times in stat are printed with %ld / %llu). */
static int span_to_nonneg(struct sv_span s, uint64_t *ret)
{
    if (s.n > 0 && s.p[0] == '-')
        return -EBADMSG;
    return sv_span_to_u64(s, ret);
}

static int span_to_pid(struct sv_span s, pid_t *ret)
{
    uint64_t v;
    int r = span_to_nonneg(s, &v);
    if (r < 0)
        return r == -ERANGE ? -EBADMSG : r;
    if (v > INT_MAX)
        return -EBADMSG;
    *ret = (pid_t) v;
    return 0;
}

int sv_proc_stat_parse(const char *buf, size_t n, struct sv_proc_stat *ret)
{
    struct sv_proc_stat st = { 0 };

    if (!buf || !ret)
        return -EINVAL;
    /* The comm field is "(...)" and may itself contain ')' and blanks: start after the last one. */
    const char *close = NULL;
    for (size_t i = n; i > 0; i--)
        if (buf[i - 1] == ')') {
            close = buf + i - 1;
            break;
        }
    if (!close)
        return -EBADMSG;

    struct sv_span rest = { close + 1, n - (size_t) (close + 1 - buf) };
    /* Only the first line counts; stat is a single line. */
    struct sv_span line;
    if (!sv_span_next_line(&rest, &line))
        return -EBADMSG;

    struct sv_span tok = { NULL, 0 };
    unsigned field = 2; /* the last one consumed */
    while (field < 24 && sv_span_next_token(&line, &tok)) {
        field++;
        uint64_t v = 0;
        int r = 0;
        switch (field) {
        case 3:
            if (tok.n != 1)
                return -EBADMSG;
            st.state = tok.p[0];
            break;
        case 4:
            r = span_to_pid(tok, &st.ppid);
            break;
        case 5:
            r = span_to_pid(tok, &st.pgrp);
            break;
        case 6:
            r = span_to_pid(tok, &st.session);
            break;
        case 14:
        case 15:
        case 16:
        case 17:
        case 20:
        case 22:
        case 24:
            r = span_to_nonneg(tok, &v);
            if (r == -ERANGE)
                r = -EBADMSG;
            if (field == 14)
                st.utime_ticks = v;
            else if (field == 15)
                st.stime_ticks = v;
            else if (field == 16)
                st.cutime_ticks = v;
            else if (field == 17)
                st.cstime_ticks = v;
            else if (field == 20)
                st.num_threads = v;
            else if (field == 22)
                st.starttime_ticks = v;
            else
                st.rss_pages = v;
            break;
        default:
            break;
        }
        if (r < 0)
            return r;
    }
    /* Field 24 must be followed by something (a blank or the newline), or it may be a number
     * cut short. */
    if (field < 24 || tok.p + tok.n >= buf + n)
        return -EBADMSG;
    *ret = st;
    return 0;
}

/* Splits "Key:  value" into key and the rest. */
static bool split_key(struct sv_span line, struct sv_span *ret_key, struct sv_span *ret_value)
{
    const char *colon = memchr(line.p, ':', line.n);
    if (!colon)
        return false;
    ret_key->p = line.p;
    ret_key->n = (size_t) (colon - line.p);
    ret_value->p = colon + 1;
    ret_value->n = line.n - ret_key->n - 1;
    return true;
}

/* "   1234 kB" → bytes. */
static int kb_value(struct sv_span v, uint64_t *ret)
{
    struct sv_span num, unit, extra;
    if (!sv_span_next_token(&v, &num))
        return -EBADMSG;
    int r = sv_span_to_u64(num, ret);
    if (r < 0)
        return r;
    if (!sv_span_next_token(&v, &unit) || !sv_span_eq(unit, "kB") || sv_span_next_token(&v, &extra))
        return -EBADMSG;
    if (*ret > UINT64_MAX / 1024)
        return -ERANGE;
    *ret *= 1024;
    return 0;
}

static int plain_value(struct sv_span v, uint64_t *ret)
{
    struct sv_span num, extra;
    if (!sv_span_next_token(&v, &num) || sv_span_next_token(&v, &extra))
        return -EBADMSG;
    return sv_span_to_u64(num, ret);
}

int sv_proc_status_parse(const char *buf, size_t n, struct sv_proc_status *ret)
{
    struct sv_proc_status st = { 0 };
    bool seen_rss = false, seen_hwm = false, seen_threads = false;

    if (!buf || !ret)
        return -EINVAL;
    struct sv_span rest = { buf, n }, line, key, value;
    while (sv_span_next_line(&rest, &line)) {
        if (!split_key(line, &key, &value))
            continue;
        int r = 0;
        if (sv_span_eq(key, "Uid")) {
            /* "real effective saved filesystem": the real one owns the process. */
            struct sv_span first;
            uint64_t uid;
            if (st.has_uid || !sv_span_next_token(&value, &first) || sv_span_to_u64(first, &uid) < 0 ||
                uid > UINT32_MAX)
                return -EBADMSG;
            st.has_uid = true;
            st.uid = (uint32_t) uid;
        } else if (sv_span_eq(key, "VmRSS")) {
            if (seen_rss)
                return -EBADMSG;
            seen_rss = true;
            r = kb_value(value, &st.vm_rss_bytes);
        } else if (sv_span_eq(key, "VmHWM")) {
            if (seen_hwm)
                return -EBADMSG;
            seen_hwm = true;
            r = kb_value(value, &st.vm_hwm_bytes);
        } else if (sv_span_eq(key, "Threads")) {
            if (seen_threads)
                return -EBADMSG;
            seen_threads = true;
            r = plain_value(value, &st.threads);
        }
        if (r < 0)
            return r;
    }
    if (!seen_threads)
        return -EBADMSG;
    st.has_vm = seen_rss;
    *ret = st;
    return 0;
}

int sv_proc_io_parse(const char *buf, size_t n, struct sv_proc_io *ret)
{
    static const char *const keys[] = {
        "rchar", "wchar", "read_bytes", "write_bytes", "cancelled_write_bytes",
    };
    uint64_t values[ELEMENTSOF(keys)] = { 0 };
    bool seen[ELEMENTSOF(keys)] = { false };

    if (!buf || !ret)
        return -EINVAL;
    struct sv_span rest = { buf, n }, line, key, value;
    while (sv_span_next_line(&rest, &line)) {
        if (line.n == 0)
            continue;
        if (!split_key(line, &key, &value))
            return -EBADMSG;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
            if (!sv_span_eq(key, keys[i]))
                continue;
            if (seen[i])
                return -EBADMSG;
            seen[i] = true;
            int r = plain_value(value, &values[i]);
            if (r < 0)
                return r;
        }
    }
    for (size_t i = 0; i < ELEMENTSOF(keys); i++)
        if (!seen[i])
            return -EBADMSG;
    *ret = (struct sv_proc_io){
        .rchar = values[0],
        .wchar = values[1],
        .read_bytes = values[2],
        .write_bytes = values[3],
        .cancelled_write_bytes = values[4],
    };
    return 0;
}

int sv_cgroup_value_parse(const char *buf, size_t n, uint64_t *ret)
{
    if (!buf || !ret)
        return -EINVAL;
    struct sv_span s = { buf, n }, tok, extra;
    if (!sv_span_next_token(&s, &tok))
        return -EBADMSG;
    /* The single token may carry the trailing newline(s). */
    while (tok.n > 0 && tok.p[tok.n - 1] == '\n')
        tok.n--;
    /* Anything after it must be blanks and newlines only. */
    while (sv_span_next_token(&s, &extra)) {
        for (size_t i = 0; i < extra.n; i++)
            if (extra.p[i] != '\n')
                return -EBADMSG;
    }
    if (sv_span_eq(tok, "max")) {
        *ret = UINT64_MAX;
        return 0;
    }
    return sv_span_to_u64(tok, ret);
}

int sv_cgroup_keyed_parse(const char *buf, size_t n, const char *key, uint64_t *ret)
{
    bool found = false;
    uint64_t value = 0;

    if (!buf || !key || !ret)
        return -EINVAL;
    struct sv_span rest = { buf, n }, line, k;
    while (sv_span_next_line(&rest, &line)) {
        if (!sv_span_next_token(&line, &k) || !sv_span_eq(k, key))
            continue;
        if (found)
            return -EBADMSG;
        found = true;
        int r = plain_value(line, &value);
        if (r < 0)
            return r;
    }
    if (!found)
        return -ENODATA;
    *ret = value;
    return 0;
}

static int add_u64(uint64_t *sum, uint64_t v)
{
    if (*sum > UINT64_MAX - v)
        return -ERANGE;
    *sum += v;
    return 0;
}

int sv_cgroup_io_stat_parse(const char *buf,
                            size_t n,
                            uint64_t *ret_read_bytes,
                            uint64_t *ret_write_bytes)
{
    uint64_t rb = 0, wb = 0;

    if (!buf || !ret_read_bytes || !ret_write_bytes)
        return -EINVAL;
    struct sv_span rest = { buf, n }, line, tok;
    while (sv_span_next_line(&rest, &line)) {
        if (!sv_span_next_token(&line, &tok))
            continue; /* empty line */
        const char *colon = memchr(tok.p, ':', tok.n);
        uint64_t major, minor;
        if (!colon)
            return -EBADMSG;
        struct sv_span maj = { tok.p, (size_t) (colon - tok.p) };
        struct sv_span min = { colon + 1, tok.n - maj.n - 1 };
        if (sv_span_to_u64(maj, &major) < 0 || sv_span_to_u64(min, &minor) < 0)
            return -EBADMSG;
        while (sv_span_next_token(&line, &tok)) {
            const char *eq = memchr(tok.p, '=', tok.n);
            if (!eq)
                return -EBADMSG;
            struct sv_span k = { tok.p, (size_t) (eq - tok.p) };
            struct sv_span v = { eq + 1, tok.n - k.n - 1 };
            uint64_t x;
            int r;
            if (sv_span_eq(k, "rbytes")) {
                r = sv_span_to_u64(v, &x);
                if (r >= 0)
                    r = add_u64(&rb, x);
            } else if (sv_span_eq(k, "wbytes")) {
                r = sv_span_to_u64(v, &x);
                if (r >= 0)
                    r = add_u64(&wb, x);
            } else
                continue;
            if (r < 0)
                return r;
        }
    }
    *ret_read_bytes = rb;
    *ret_write_bytes = wb;
    return 0;
}

static int pid_cmp(const void *a, const void *b)
{
    pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;
    return (x > y) - (x < y);
}

int sv_cgroup_procs_parse(const char *buf, size_t n, pid_t *pids, size_t max)
{
    size_t k = 0;

    if (!buf || (!pids && max > 0))
        return -EINVAL;
    struct sv_span rest = { buf, n }, line, tok, extra;
    while (sv_span_next_line(&rest, &line)) {
        if (!sv_span_next_token(&line, &tok))
            continue;
        if (sv_span_next_token(&line, &extra))
            return -EBADMSG;
        pid_t p;
        if (span_to_pid(tok, &p) < 0 || p <= 0)
            return -EBADMSG;
        if (k < max)
            pids[k++] = p;
    }
    return (int) sv_pids_sort_unique(pids, k);
}

size_t sv_pids_sort_unique(pid_t *pids, size_t n)
{
    if (n < 2)
        return n;
    qsort(pids, n, sizeof(pid_t), pid_cmp);
    size_t w = 1;
    for (size_t i = 1; i < n; i++)
        if (pids[i] != pids[w - 1])
            pids[w++] = pids[i];
    return w;
}

int sv_cgroup_controllers_parse(const char *buf, size_t n)
{
    static const struct {
        const char *name;
        int bit;
    } table[] = {
        { "memory", SV_CONTROLLER_MEMORY },
        { "cpu", SV_CONTROLLER_CPU },
        { "pids", SV_CONTROLLER_PIDS },
        { "io", SV_CONTROLLER_IO },
    };

    int mask = 0;

    if (!buf)
        return 0;
    struct sv_span rest = { buf, n }, line, tok;
    while (sv_span_next_line(&rest, &line))
        while (sv_span_next_token(&line, &tok))
            for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (sv_span_eq(tok, table[i].name))
                    mask |= table[i].bit;
    return mask;
}

unsigned sv_limits_controllers(const struct sv_limits *l)
{
    unsigned m = 0;

    if (!l)
        return 0;
    if (l->max_mem_bytes > 0)
        m |= SV_CONTROLLER_MEMORY;
    if (l->max_cpu_cores > 0)
        m |= SV_CONTROLLER_CPU;
    if (l->max_pids > 0)
        m |= SV_CONTROLLER_PIDS;
    return m;
}
