/* SPDX-License-Identifier: MIT */
#include "metrics/cgroup-parse.h"

#include <string.h>

#include "basic/macro.h"
#include "metrics/text-scan.h"

/* Whether a NUL-terminated path has ".." as one of its components. */
static bool path_has_dotdot(const char *p)
{
    for (const char *s = p; (s = strstr(s, "..")); s += 2) {
        bool starts = s == p || s[-1] == '/';
        bool ends = s[2] == '\0' || s[2] == '/';
        if (starts && ends)
            return true;
    }
    return false;
}

int proc_self_cgroup_parse(const char *buf, size_t n, struct cgroup_membership *ret)
{
    struct cgroup_membership m = {};
    bool any = false;
    struct line_cursor c;
    struct span line;
    int r;

    line_cursor_init(&c, buf, n);
    while (line_next(&c, &line)) {
        struct span id_s, rest, controllers, path;
        uint64_t id;
        bool want[_CGROUP_HIERARCHY_MAX] = {};

        if (line.n == 0)
            continue;
        if (!span_split(line, ':', &id_s, &rest) || !span_split(rest, ':', &controllers, &path))
            return -EBADMSG;
        r = span_to_u64(id_s, &id);
        if (r < 0)
            return r;
        if (path.n == 0 || path.p[0] != '/')
            return -EBADMSG;

        if (id == 0) {
            /* The unified hierarchy has ID 0 and no controller list. */
            if (controllers.n != 0)
                return -EBADMSG;
            want[CGROUP_HIERARCHY_UNIFIED] = true;
        } else {
            want[CGROUP_HIERARCHY_MEMORY] = span_list_contains(controllers, "memory");
            want[CGROUP_HIERARCHY_CPU] = span_list_contains(controllers, "cpu");
            want[CGROUP_HIERARCHY_CPUACCT] = span_list_contains(controllers, "cpuacct");
        }

        for (size_t h = 0; h < _CGROUP_HIERARCHY_MAX; h++) {
            if (!want[h])
                continue;
            if (m.found[h])
                return -EBADMSG;
            r = span_copy(path, m.path[h], sizeof(m.path[h]));
            if (r < 0)
                return r;
            m.found[h] = true;
        }
        any = true;
    }
    if (!any)
        return -EBADMSG;

    *ret = m;
    return 0;
}

static bool is_octal(char c)
{
    return c >= '0' && c <= '7';
}

/* Decodes the kernel's mangle() escapes (backslash and three octal digits). A backslash not
 * followed by three octal digits is kept as it is. */
static int unescape(struct span s, char *buf, size_t size)
{
    size_t k = 0;

    if (size == 0)
        return -ENAMETOOLONG;
    for (size_t i = 0; i < s.n; i++) {
        char ch = s.p[i];

        if (ch == '\\' && i + 3 < s.n && is_octal(s.p[i + 1]) && is_octal(s.p[i + 2]) &&
            is_octal(s.p[i + 3])) {
            unsigned v = (unsigned) (s.p[i + 1] - '0') * 64 + (unsigned) (s.p[i + 2] - '0') * 8 +
                         (unsigned) (s.p[i + 3] - '0');
            if (v == 0 || v > 0xff)
                return -EBADMSG;
            ch = (char) v;
            i += 3;
        } else if (ch == '\0')
            return -EBADMSG;
        if (k + 1 >= size)
            return -ENAMETOOLONG;
        buf[k++] = ch;
    }
    buf[k] = '\0';
    return 0;
}

int mountinfo_cgroup_parse(const char *buf, size_t n, struct cgroup_mounts *ret)
{
    /* About 8 KiB: small enough to stage on the stack so that *ret is written only on success. */
    struct cgroup_mounts m = {};
    struct line_cursor c;
    struct span line;
    int r;

    line_cursor_init(&c, buf, n);
    while (line_next(&c, &line)) {
        struct span f[6], tok, fstype, source, options;
        bool separator = false;

        if (line.n == 0)
            continue;
        for (size_t i = 0; i < ELEMENTSOF(f); i++)
            if (!span_next_token(&line, &f[i]))
                return -EBADMSG;
        /* Optional fields ("shared:1", "master:2", …) run up to a lone "-". */
        while (span_next_token(&line, &tok))
            if (span_equal(tok, "-")) {
                separator = true;
                break;
            }
        if (!separator || !span_next_token(&line, &fstype) || !span_next_token(&line, &source) ||
            !span_next_token(&line, &options))
            return -EBADMSG;

        bool want[_CGROUP_HIERARCHY_MAX] = {};
        if (span_equal(fstype, "cgroup2"))
            want[CGROUP_HIERARCHY_UNIFIED] = true;
        else if (span_equal(fstype, "cgroup")) {
            want[CGROUP_HIERARCHY_MEMORY] = span_list_contains(options, "memory");
            want[CGROUP_HIERARCHY_CPU] = span_list_contains(options, "cpu");
            want[CGROUP_HIERARCHY_CPUACCT] = span_list_contains(options, "cpuacct");
        } else
            continue;

        for (size_t h = 0; h < _CGROUP_HIERARCHY_MAX; h++) {
            if (!want[h] || m.found[h])
                continue;
            r = unescape(f[4], m.mount_point[h], sizeof(m.mount_point[h]));
            if (r < 0)
                return r;
            r = unescape(f[3], m.root[h], sizeof(m.root[h]));
            if (r < 0)
                return r;
            if (m.mount_point[h][0] != '/' || m.root[h][0] != '/' ||
                path_has_dotdot(m.mount_point[h]))
                return -EBADMSG;
            m.found[h] = true;
        }
    }

    *ret = m;
    return 0;
}

int cgroup_dir_path(
        const char *mount_point, const char *root, const char *cgroup_path, char *buf, size_t size)
{
    const char *rel = cgroup_path;
    size_t root_len = strlen(root);

    if (mount_point[0] != '/' || cgroup_path[0] != '/')
        return -EINVAL;

    /* A mount of a subtree ("/docker/abc" at /sys/fs/cgroup) already shows our part of the path. */
    if (strcmp(root, "/") != 0 && strncmp(cgroup_path, root, root_len) == 0 &&
        (cgroup_path[root_len] == '\0' || cgroup_path[root_len] == '/'))
        rel = cgroup_path + root_len;
    if (path_has_dotdot(rel))
        return -EINVAL;
    while (*rel == '/')
        rel++;

    size_t ml = strlen(mount_point);
    while (ml > 1 && mount_point[ml - 1] == '/')
        ml--;
    size_t rl = strlen(rel);
    while (rl > 0 && rel[rl - 1] == '/')
        rl--;

    bool slash = rl > 0 && !(ml == 1 && mount_point[0] == '/');
    size_t total = ml + (slash ? 1 : 0) + rl;
    if (total + 1 > size)
        return -ENAMETOOLONG;
    memcpy(buf, mount_point, ml);
    if (slash)
        buf[ml] = '/';
    memcpy(buf + ml + (slash ? 1 : 0), rel, rl);
    buf[total] = '\0';
    return 0;
}

/* Finds the single token of a one-value file, allowing trailing blanks and newlines. */
static int single_token(const char *buf, size_t n, struct span *ret)
{
    struct span s = { buf, n }, tok, extra;

    while (s.n > 0 && (s.p[s.n - 1] == '\n' || s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
        s.n--;
    if (!span_next_token(&s, &tok) || span_next_token(&s, &extra))
        return -EBADMSG;
    *ret = tok;
    return 0;
}

static int value_or_max(struct span tok, uint64_t *ret)
{
    if (span_equal(tok, "max")) {
        *ret = UINT64_MAX;
        return 0;
    }
    return span_to_u64(tok, ret);
}

int cgroup_value_parse(const char *buf, size_t n, uint64_t *ret)
{
    struct span tok;

    int r = single_token(buf, n, &tok);
    if (r < 0)
        return r;
    return value_or_max(tok, ret);
}

int cgroup_cpu_max_parse(const char *buf, size_t n, struct cgroup_cpu_max *ret)
{
    struct span s = { buf, n }, quota_s, period_s, extra;
    uint64_t quota, period;
    int r;

    while (s.n > 0 && (s.p[s.n - 1] == '\n' || s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
        s.n--;
    if (!span_next_token(&s, &quota_s) || !span_next_token(&s, &period_s) ||
        span_next_token(&s, &extra))
        return -EBADMSG;
    r = value_or_max(quota_s, &quota);
    if (r < 0)
        return r;
    r = span_to_u64(period_s, &period);
    if (r < 0)
        return r;
    if (quota == 0 || period == 0)
        return -EBADMSG;

    *ret = (struct cgroup_cpu_max){ .quota_usec = quota, .period_usec = period };
    return 0;
}

int cgroup_v1_cfs_quota_parse(const char *buf, size_t n, uint64_t *ret_quota_usec)
{
    struct span tok;
    int64_t v;

    int r = single_token(buf, n, &tok);
    if (r < 0)
        return r;
    r = span_to_i64(tok, &v);
    if (r < 0)
        return r;
    if (v == -1) {
        *ret_quota_usec = UINT64_MAX;
        return 0;
    }
    if (v <= 0)
        return -EBADMSG;
    *ret_quota_usec = (uint64_t) v;
    return 0;
}

int cgroup_keyed_parse(const char *buf, size_t n, const char *key, uint64_t *ret)
{
    struct line_cursor c;
    struct span line;
    bool seen = false;
    uint64_t value = 0;

    line_cursor_init(&c, buf, n);
    while (line_next(&c, &line)) {
        struct span k, v, extra;

        if (!span_next_token(&line, &k) || !span_equal(k, key))
            continue;
        if (seen || !span_next_token(&line, &v) || span_next_token(&line, &extra))
            return -EBADMSG;
        int r = span_to_u64(v, &value);
        if (r < 0)
            return r;
        seen = true;
    }
    if (!seen)
        return -ENODATA;
    *ret = value;
    return 0;
}

double cgroup_cpu_max_cores(const struct cgroup_cpu_max *m)
{
    if (m->quota_usec == UINT64_MAX || m->period_usec == 0)
        return 0.0;
    return (double) m->quota_usec / (double) m->period_usec;
}

uint64_t cgroup_v1_limit_normalize(uint64_t limit_bytes)
{
    return limit_bytes >= CGROUP_V1_UNLIMITED_MIN_BYTES ? UINT64_MAX : limit_bytes;
}

bool cgroup_memory_limit_applies(uint64_t limit_bytes, uint64_t host_total_bytes)
{
    return limit_bytes != UINT64_MAX && host_total_bytes > 0 && limit_bytes < host_total_bytes;
}
