/* SPDX-License-Identifier: MIT */
#include "metrics/proc-parse.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "basic/macro.h"
#include "metrics/text-scan.h"

/* Takes the single number that follows a key ("ctxt 286861"); a second occurrence of the key is
 * -EBADMSG. Tokens after the number are ignored. */
static int take_once(struct span *rest, bool *seen, uint64_t *ret)
{
    struct span tok;

    if (*seen)
        return -EBADMSG;
    if (!span_next_token(rest, &tok))
        return -EBADMSG;
    int r = span_to_u64(tok, ret);
    if (r < 0)
        return r;
    *seen = true;
    return 0;
}

static int parse_cpu_fields(struct span *rest, struct proc_stat_cpu *ret)
{
    uint64_t v[8] = {};
    struct span tok;
    size_t k = 0;

    /* guest, guest_nice and anything a later kernel appends are not needed: ignore them. */
    while (k < ELEMENTSOF(v) && span_next_token(rest, &tok)) {
        int r = span_to_u64(tok, &v[k]);
        if (r < 0)
            return r;
        k++;
    }
    if (k < 4)
        return -EBADMSG;

    *ret = (struct proc_stat_cpu){
        .user = v[0],
        .nice = v[1],
        .system = v[2],
        .idle = v[3],
        .iowait = v[4],
        .irq = v[5],
        .softirq = v[6],
        .steal = v[7],
    };
    return 0;
}

int proc_stat_parse(const char *buf, size_t n, struct proc_stat *ret)
{
    struct proc_stat_cpu total = {};
    bool has_total = false, has_ctxt = false, has_running = false, has_blocked = false;
    uint64_t ctxt = 0, running = 0, blocked = 0, last_id = 0;
    unsigned n_cpus = 0, n_cores = 0;
    struct line_cursor c;
    struct span line;
    int r;

    line_cursor_init(&c, buf, n);
    while (line_next(&c, &line)) {
        struct span key;

        if (!span_next_token(&line, &key))
            continue;

        if (span_equal(key, "cpu")) {
            if (has_total)
                return -EBADMSG;
            r = parse_cpu_fields(&line, &total);
            if (r < 0)
                return r;
            has_total = true;
        } else if (span_startswith(key, "cpu")) {
            struct span digits = { key.p + 3, key.n - 3 };
            struct proc_stat_cpu v;
            uint64_t id;

            r = span_to_u64(digits, &id);
            if (r == -EBADMSG)
                continue; /* Some other "cpu…" key: not ours. */
            if (r < 0)
                return r;
            if (id > UINT_MAX)
                return -ERANGE;
            if (n_cpus > 0 && id <= last_id)
                return -EBADMSG;
            r = parse_cpu_fields(&line, &v);
            if (r < 0)
                return r;
            if (n_cpus == UINT_MAX)
                return -EBADMSG;
            if (n_cores < HR_CPUS_MAX) {
                ret->core_id[n_cores] = (unsigned) id;
                ret->core[n_cores] = v;
                n_cores++;
            }
            last_id = id;
            n_cpus++;
        } else if (span_equal(key, "ctxt")) {
            r = take_once(&line, &has_ctxt, &ctxt);
            if (r < 0)
                return r;
        } else if (span_equal(key, "procs_running")) {
            r = take_once(&line, &has_running, &running);
            if (r < 0)
                return r;
        } else if (span_equal(key, "procs_blocked")) {
            r = take_once(&line, &has_blocked, &blocked);
            if (r < 0)
                return r;
        }
    }
    if (!has_total)
        return -EBADMSG;

    ret->total = total;
    ret->n_cpus = n_cpus;
    ret->n_cores = n_cores;
    ret->has_ctxt = has_ctxt;
    ret->has_procs_running = has_running;
    ret->has_procs_blocked = has_blocked;
    ret->ctxt_total = ctxt;
    ret->procs_running = running;
    ret->procs_blocked = blocked;
    return 0;
}

static double delta(uint64_t prev, uint64_t cur)
{
    return cur > prev ? (double) (cur - prev) : 0.0;
}

double proc_stat_cpu_busy_pct(const struct proc_stat_cpu *prev, const struct proc_stat_cpu *cur)
{
    double busy = delta(prev->user, cur->user) + delta(prev->nice, cur->nice) +
                  delta(prev->system, cur->system) + delta(prev->irq, cur->irq) +
                  delta(prev->softirq, cur->softirq) + delta(prev->steal, cur->steal);
    /* iowait is idle time: the CPU had nothing to run while a task waited for I/O. */
    double idle = delta(prev->idle, cur->idle) + delta(prev->iowait, cur->iowait);

    if (busy + idle <= 0.0)
        return 0.0;
    return CLAMP(100.0 * busy / (busy + idle), 0.0, 100.0);
}

unsigned
proc_stat_core_pct(const struct proc_stat *prev, const struct proc_stat *cur, double *ret_pct)
{
    unsigned j = 0;

    /* Both id lists are strictly increasing, so one merge walk pairs them up even when a CPU went
     * offline or came online between the two readings. */
    for (unsigned i = 0; i < cur->n_cores; i++) {
        while (j < prev->n_cores && prev->core_id[j] < cur->core_id[i])
            j++;
        if (j < prev->n_cores && prev->core_id[j] == cur->core_id[i])
            ret_pct[i] = proc_stat_cpu_busy_pct(&prev->core[j], &cur->core[i]);
        else
            ret_pct[i] = 0.0;
    }
    return cur->n_cores;
}

enum {
    MI_MEM_TOTAL,
    MI_MEM_FREE,
    MI_MEM_AVAILABLE,
    MI_BUFFERS,
    MI_CACHED,
    MI_SWAP_TOTAL,
    MI_SWAP_FREE,
    _MI_MAX,
};

static const char *const meminfo_keys[_MI_MAX] = {
    [MI_MEM_TOTAL] = "MemTotal:", [MI_MEM_FREE] = "MemFree:", [MI_MEM_AVAILABLE] = "MemAvailable:",
    [MI_BUFFERS] = "Buffers:",    [MI_CACHED] = "Cached:",    [MI_SWAP_TOTAL] = "SwapTotal:",
    [MI_SWAP_FREE] = "SwapFree:",
};

static uint64_t add_saturating(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

int meminfo_parse(const char *buf, size_t n, struct meminfo *ret)
{
    uint64_t v[_MI_MAX] = {};
    bool seen[_MI_MAX] = {};
    struct line_cursor c;
    struct span line;

    line_cursor_init(&c, buf, n);
    while (line_next(&c, &line)) {
        struct span key, value, unit, extra;
        size_t k;

        if (!span_next_token(&line, &key))
            continue;
        for (k = 0; k < _MI_MAX; k++)
            if (span_equal(key, meminfo_keys[k]))
                break;
        if (k == _MI_MAX)
            continue;
        if (seen[k])
            return -EBADMSG;

        if (!span_next_token(&line, &value) || !span_next_token(&line, &unit) ||
            !span_equal(unit, "kB") || span_next_token(&line, &extra))
            return -EBADMSG;
        uint64_t kib;
        int r = span_to_u64(value, &kib);
        if (r < 0)
            return r;
        if (kib > UINT64_MAX / 1024)
            return -ERANGE;
        v[k] = kib * 1024;
        seen[k] = true;
    }
    if (!seen[MI_MEM_TOTAL] || !seen[MI_MEM_FREE] || v[MI_MEM_TOTAL] == 0)
        return -EBADMSG;

    bool estimated = !seen[MI_MEM_AVAILABLE];
    uint64_t available = v[MI_MEM_AVAILABLE];
    if (estimated)
        available = add_saturating(add_saturating(v[MI_MEM_FREE], v[MI_BUFFERS]), v[MI_CACHED]);

    *ret = (struct meminfo){
        .mem_total_bytes = v[MI_MEM_TOTAL],
        .mem_free_bytes = v[MI_MEM_FREE],
        .mem_available_bytes = MIN(available, v[MI_MEM_TOTAL]),
        .buffers_bytes = v[MI_BUFFERS],
        .cached_bytes = v[MI_CACHED],
        .swap_total_bytes = v[MI_SWAP_TOTAL],
        .swap_free_bytes = v[MI_SWAP_FREE],
        .mem_available_estimated = estimated,
    };
    return 0;
}

static int parse_psi_line(struct span rest, struct psi_line *ret)
{
    enum { AVG10, AVG60, AVG300, TOTAL, _N };

    static const char *const keys[_N] = { "avg10", "avg60", "avg300", "total" };
    bool seen[_N] = {};
    double avg[3] = {};
    uint64_t total = 0;
    struct span tok;

    while (span_next_token(&rest, &tok)) {
        struct span key, value;
        size_t k;
        int r;

        if (!span_split(tok, '=', &key, &value))
            return -EBADMSG;
        for (k = 0; k < _N; k++)
            if (span_equal(key, keys[k]))
                break;
        if (k == _N)
            continue; /* A key a later kernel added. */
        if (seen[k])
            return -EBADMSG;
        if (k == TOTAL)
            r = span_to_u64(value, &total);
        else {
            r = span_to_double(value, &avg[k]);
            if (r >= 0 && avg[k] > 100.0)
                r = -ERANGE;
        }
        if (r < 0)
            return r;
        seen[k] = true;
    }
    for (size_t k = 0; k < _N; k++)
        if (!seen[k])
            return -EBADMSG;

    *ret = (struct psi_line){
        .avg10 = avg[AVG10],
        .avg60 = avg[AVG60],
        .avg300 = avg[AVG300],
        .total_usec = total,
    };
    return 0;
}

int psi_parse(const char *buf, size_t n, struct psi_stats *ret)
{
    struct psi_line some = {}, full = {};
    bool has_some = false, has_full = false;
    struct line_cursor c;
    struct span line;

    line_cursor_init(&c, buf, n);
    while (line_next(&c, &line)) {
        struct span kind;
        bool *seen;
        struct psi_line *dest;

        if (!span_next_token(&line, &kind))
            continue;
        if (span_equal(kind, "some")) {
            seen = &has_some;
            dest = &some;
        } else if (span_equal(kind, "full")) {
            seen = &has_full;
            dest = &full;
        } else
            continue;
        if (*seen)
            return -EBADMSG;
        int r = parse_psi_line(line, dest);
        if (r < 0)
            return r;
        *seen = true;
    }
    if (!has_some)
        return -EBADMSG;

    *ret = (struct psi_stats){
        .available = true,
        .has_full = has_full,
        .some = some,
        .full = full,
    };
    return 0;
}

int loadavg_parse(const char *buf, size_t n, struct loadavg *ret)
{
    struct span rest, tok, running, total;
    struct line_cursor c;
    double load[3];
    uint64_t r_running, r_total;
    int r;

    /* The kernel writes one line; only that line is read. */
    line_cursor_init(&c, buf, n);
    if (!line_next(&c, &rest))
        return -EBADMSG;

    for (size_t i = 0; i < ELEMENTSOF(load); i++) {
        if (!span_next_token(&rest, &tok))
            return -EBADMSG;
        r = span_to_double(tok, &load[i]);
        if (r < 0)
            return r;
    }
    if (!span_next_token(&rest, &tok) || !span_split(tok, '/', &running, &total))
        return -EBADMSG;
    r = span_to_u64(running, &r_running);
    if (r < 0)
        return r;
    r = span_to_u64(total, &r_total);
    if (r < 0)
        return r;

    *ret = (struct loadavg){
        .load1 = load[0],
        .load5 = load[1],
        .load15 = load[2],
        .runnable = r_running,
        .threads = r_total,
    };
    return 0;
}

bool diskstats_name_is_virtual(const char *name)
{
    return strncmp(name, "loop", 4) == 0 || strncmp(name, "ram", 3) == 0 ||
           strncmp(name, "zram", 4) == 0;
}

int diskstats_parse(const char *buf,
                    size_t n,
                    diskstats_is_disk_t is_disk,
                    void *userdata,
                    struct diskstats_totals *ret)
{
    struct diskstats_totals t = {};
    struct line_cursor c;
    struct span line;
    int r;

    line_cursor_init(&c, buf, n);
    while (line_next(&c, &line)) {
        struct span tok;
        uint64_t id, f[11];
        char name[64];

        /* major minor name, then the 11 classic counters, then optional discard and flush
         * counters on newer kernels. */
        if (!span_next_token(&line, &tok))
            continue;
        r = span_to_u64(tok, &id);
        if (r < 0)
            return r;
        if (!span_next_token(&line, &tok))
            return -EBADMSG;
        r = span_to_u64(tok, &id);
        if (r < 0)
            return r;
        if (!span_next_token(&line, &tok))
            return -EBADMSG;
        r = span_copy(tok, name, sizeof(name));
        if (r < 0)
            return -EBADMSG;
        for (size_t i = 0; i < ELEMENTSOF(f); i++) {
            if (!span_next_token(&line, &tok))
                return -EBADMSG;
            r = span_to_u64(tok, &f[i]);
            if (r < 0)
                return r;
        }

        if (diskstats_name_is_virtual(name))
            continue;
        if (is_disk && !is_disk(name, userdata))
            continue;

        /* Field 3 is sectors read, field 7 sectors written, both in 512-byte units. */
        t.read_bytes += f[2] * 512;
        t.written_bytes += f[6] * 512;
        if (t.n_disks < UINT_MAX)
            t.n_disks++;
    }

    *ret = t;
    return 0;
}

int net_dev_parse(const char *buf, size_t n, struct net_dev_totals *ret)
{
    struct net_dev_totals t = {};
    struct line_cursor c;
    struct span line;

    line_cursor_init(&c, buf, n);
    while (line_next(&c, &line)) {
        struct span name, counters, tok;
        uint64_t v[16];

        if (!span_split(line, ':', &name, &counters))
            continue; /* One of the two header lines. */
        span_trim(&name);
        if (name.n == 0)
            return -EBADMSG;
        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
            if (!span_next_token(&counters, &tok))
                return -EBADMSG;
            int r = span_to_u64(tok, &v[i]);
            if (r < 0)
                return r;
        }
        if (span_equal(name, "lo"))
            continue;

        /* Receive bytes come first, transmit bytes are the ninth counter. */
        t.rx_bytes += v[0];
        t.tx_bytes += v[8];
        if (t.n_interfaces < UINT_MAX)
            t.n_interfaces++;
    }

    *ret = t;
    return 0;
}
