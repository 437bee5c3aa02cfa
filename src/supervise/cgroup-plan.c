/* SPDX-License-Identifier: MIT */
/* Where a task's cgroup can go, decided from the texts of proc/self/mountinfo and
 * proc/self/cgroup alone. Pure: no I/O, so every host layout can be tested from captured text. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"
#include "supervise/sv-internal.h"

struct mount_entry {
    bool found;
    bool read_only;
    char mount_point[SV_PATH_MAX];
    char root[SV_PATH_MAX];
};

struct plan_scratch {
    struct mount_entry mounts[_SV_HIERARCHY_MAX];
    bool cpuacct_found;
    char cpuacct_mount_point[SV_PATH_MAX];
    bool self_found[_SV_HIERARCHY_MAX];
    char self_path[_SV_HIERARCHY_MAX][SV_PATH_MAX];
};

/* Copies a mountinfo field, decoding the kernel's octal escapes (\040 space, \011 tab, \012
 * newline, \134 backslash). -EBADMSG for a bad escape or one decoding to NUL, -ENAMETOOLONG. */
static int unescape(struct sv_span s, char *buf, size_t size)
{
    size_t k = 0;

    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        if (c == '\\') {
            if (s.n - i < 4)
                return -EBADMSG;
            unsigned v = 0;
            for (size_t j = 1; j <= 3; j++) {
                char d = s.p[i + j];
                if (d < '0' || d > '7')
                    return -EBADMSG;
                v = v * 8 + (unsigned) (d - '0');
            }
            if (v == 0 || v > 255)
                return -EBADMSG;
            c = (char) v;
            i += 3;
        } else if (c == '\0')
            return -EBADMSG;
        if (k + 1 >= size)
            return -ENAMETOOLONG;
        buf[k++] = c;
    }
    buf[k] = '\0';
    return 0;
}

static void take_mount(struct mount_entry *m, bool ro, const char *mp, const char *root)
{
    if (m->found)
        return; /* the first one listed wins */
    m->found = true;
    m->read_only = ro;
    snprintf(m->mount_point, sizeof m->mount_point, "%s", mp);
    snprintf(m->root, sizeof m->root, "%s", root);
}

static int parse_mountinfo(const char *buf, size_t n, struct plan_scratch *s)
{
    struct sv_span rest = { buf, n }, line;

    while (sv_span_next_line(&rest, &line)) {
        struct sv_span tok, fields[6], fstype, source, super;
        struct sv_span l = line;
        size_t k = 0;

        while (k < 6 && sv_span_next_token(&l, &tok))
            fields[k++] = tok;
        if (k < 6)
            continue; /* not a mount line we can read; only cgroup lines matter */
        /* Optional fields run up to the lone "-". */
        bool sep = false;
        while (sv_span_next_token(&l, &tok))
            if (sv_span_eq(tok, "-")) {
                sep = true;
                break;
            }
        if (!sep || !sv_span_next_token(&l, &fstype))
            continue;
        bool v2 = sv_span_eq(fstype, "cgroup2");
        if (!v2 && !sv_span_eq(fstype, "cgroup"))
            continue;
        /* From here on the line is one of ours: it must be whole. */
        if (!sv_span_next_token(&l, &source) || !sv_span_next_token(&l, &super))
            return -EBADMSG;

        char mp[SV_PATH_MAX], root[SV_PATH_MAX];
        int r = unescape(fields[4], mp, sizeof mp);
        if (r == -ENAMETOOLONG)
            continue; /* unusable, not malformed */
        if (r < 0)
            return r;
        r = unescape(fields[3], root, sizeof root);
        if (r == -ENAMETOOLONG)
            continue;
        if (r < 0)
            return r;
        if (mp[0] != '/' || root[0] != '/')
            return -EBADMSG;
        bool ro = sv_span_list_has(fields[5], "ro") || sv_span_list_has(super, "ro");

        if (v2) {
            take_mount(&s->mounts[SV_HIERARCHY_UNIFIED], ro, mp, root);
            continue;
        }
        if (sv_span_list_has(super, "memory"))
            take_mount(&s->mounts[SV_HIERARCHY_MEMORY], ro, mp, root);
        if (sv_span_list_has(super, "cpu"))
            take_mount(&s->mounts[SV_HIERARCHY_CPU], ro, mp, root);
        if (sv_span_list_has(super, "pids"))
            take_mount(&s->mounts[SV_HIERARCHY_PIDS], ro, mp, root);
        if (sv_span_list_has(super, "cpuacct") && !s->cpuacct_found) {
            s->cpuacct_found = true;
            snprintf(s->cpuacct_mount_point, sizeof s->cpuacct_mount_point, "%s", mp);
        }
    }
    return 0;
}

static int parse_self_cgroup(const char *buf, size_t n, struct plan_scratch *s)
{
    struct sv_span rest = { buf, n }, line;

    while (sv_span_next_line(&rest, &line)) {
        if (line.n == 0)
            continue;
        const char *c1 = memchr(line.p, ':', line.n);
        if (!c1)
            return -EBADMSG;
        size_t left = line.n - (size_t) (c1 + 1 - line.p);
        const char *c2 = memchr(c1 + 1, ':', left);
        if (!c2)
            return -EBADMSG;
        struct sv_span id = { line.p, (size_t) (c1 - line.p) };
        struct sv_span ctrls = { c1 + 1, (size_t) (c2 - c1 - 1) };
        struct sv_span path = { c2 + 1, line.n - (size_t) (c2 + 1 - line.p) };
        uint64_t hid;
        if (sv_span_to_u64(id, &hid) < 0)
            return -EBADMSG;
        if (path.n == 0 || path.p[0] != '/' || memchr(path.p, '\0', path.n))
            return -EBADMSG;
        if (path.n >= SV_PATH_MAX)
            continue;

        int which[3], nw = 0;
        if (hid == 0 && ctrls.n == 0)
            which[nw++] = SV_HIERARCHY_UNIFIED;
        else {
            if (sv_span_list_has(ctrls, "memory"))
                which[nw++] = SV_HIERARCHY_MEMORY;
            if (sv_span_list_has(ctrls, "cpu"))
                which[nw++] = SV_HIERARCHY_CPU;
            if (sv_span_list_has(ctrls, "pids"))
                which[nw++] = SV_HIERARCHY_PIDS;
        }
        for (int i = 0; i < nw; i++) {
            if (s->self_found[which[i]])
                return -EBADMSG; /* a hierarchy listed twice */
            s->self_found[which[i]] = true;
            memcpy(s->self_path[which[i]], path.p, path.n);
            s->self_path[which[i]][path.n] = '\0';
        }
    }
    return 0;
}

static bool has_dotdot(const char *p)
{
    for (const char *q = p; (q = strstr(q, "..")); q += 2) {
        bool start = q == p || q[-1] == '/';
        bool end = q[2] == '\0' || q[2] == '/';
        if (start && end)
            return true;
    }
    return false;
}

/* mount_point + (path minus the mount's root). */
static int join_parent(
        const struct mount_entry *m, const char *path, char *buf, size_t size, const char **ret_why)
{
    const char *rel = path;

    if (has_dotdot(path)) {
        *ret_why = "outside our cgroup namespace";
        return -EINVAL;
    }
    if (strcmp(m->root, "/") != 0) {
        size_t rl = strlen(m->root);
        if (strncmp(path, m->root, rl) != 0 || (path[rl] != '\0' && path[rl] != '/')) {
            *ret_why = "our cgroup is outside the mounted subtree";
            return -EINVAL;
        }
        rel = path + rl;
    }
    while (*rel == '/')
        rel++;
    int k = snprintf(buf, size, "%s%s%s", m->mount_point,
                     (*rel && m->mount_point[strlen(m->mount_point) - 1] != '/') ? "/" : "", rel);
    if (k < 0 || (size_t) k >= size) {
        *ret_why = "path too long";
        return -ENAMETOOLONG;
    }
    return 0;
}

int sv_cgroup_plan_make(const char *mountinfo,
                        size_t mountinfo_n,
                        const char *self_cgroup,
                        size_t self_cgroup_n,
                        struct sv_cgroup_plan *ret)
{
    if (!mountinfo || !self_cgroup || !ret)
        return -EINVAL;

    _cleanup_free_ struct plan_scratch *s = calloc(1, sizeof *s);
    _cleanup_free_ struct sv_cgroup_plan *plan = calloc(1, sizeof *plan);
    if (!s || !plan)
        return -ENOMEM;

    int r = parse_mountinfo(mountinfo, mountinfo_n, s);
    if (r < 0)
        return r;
    r = parse_self_cgroup(self_cgroup, self_cgroup_n, s);
    if (r < 0)
        return r;

    for (int h = 0; h < _SV_HIERARCHY_MAX; h++) {
        const struct mount_entry *m = &s->mounts[h];
        const char *why = NULL;

        if (!m->found)
            why = "not mounted";
        else if (m->read_only)
            why = "mounted read-only";
        else if (!s->self_found[h])
            why = "not in proc/self/cgroup";
        else if (join_parent(m, s->self_path[h], plan->parent[h], sizeof plan->parent[h], &why) < 0)
            plan->parent[h][0] = '\0';
        if (why) {
            snprintf(plan->why[h], sizeof plan->why[h], "%s", why);
            continue;
        }
        plan->usable[h] = true;
    }
    const struct mount_entry *u = &s->mounts[SV_HIERARCHY_UNIFIED];
    if (u->found && !u->read_only && strcmp(u->root, "/") == 0)
        snprintf(plan->v2_top, sizeof plan->v2_top, "%s", u->mount_point);
    plan->cpuacct_with_cpu =
            s->cpuacct_found && s->mounts[SV_HIERARCHY_CPU].found &&
            strcmp(s->cpuacct_mount_point, s->mounts[SV_HIERARCHY_CPU].mount_point) == 0;
    *ret = *plan;
    return 0;
}
