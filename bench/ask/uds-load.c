/* SPDX-License-Identifier: MIT */
/*
 * uds-load: a closed-loop HTTP/1.1 keep-alive load client for one endpoint, over a Unix socket
 * or TCP, so that both transports are measured by the same client.
 *
 * One thread drives N connections through epoll. Each connection has exactly one request in
 * flight: it sends the request, waits for the complete response, records the latency and sends
 * the next one, as wrk does. Latencies go into a log-linear histogram of fixed size (128
 * sub-buckets per power of two of nanoseconds, under 0.8 % relative error), so memory stays
 * bounded whatever the duration.
 *
 * Only the response framing headroom and nginx use is understood: a status line, headers and a
 * Content-Length body. A chunked response is counted as a protocol error and the connection is
 * reopened, so a server that changes framing shows up as errors, not as fast answers.
 *
 * Build: cc -O2 -o uds-load uds-load.c
 * Usage: uds-load (-u PATH | -t HOST:PORT) [-c CONNS] [-d SECONDS] [-w SECONDS] [-m METHOD]
 *                 [-p PATH] [-b BODY] [-k]
 *        uds-load -P       print a free TCP port on 127.0.0.1 and exit
 */

#define _GNU_SOURCE   /* memmem */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CONNS_MAX 4096
#define RESP_BUF_BYTES 16384       /* one response; headroom's /ask answers are under 1 KiB */
#define REQ_BUF_BYTES 8192
#define EVENTS_MAX 256

/* Histogram: values below 2^SUB_BITS ns are exact; above, each power of two is cut into
 * 2^SUB_BITS buckets. 2^MAX_BITS ns is about 18 minutes: anything slower lands in the top bucket. */
#define SUB_BITS 7
#define SUB_COUNT (1u << SUB_BITS)
#define MAX_BITS 40
#define BUCKETS ((MAX_BITS - SUB_BITS + 1) * SUB_COUNT)

struct histogram {
    uint64_t counts[BUCKETS];
    uint64_t total;
    uint64_t min_ns;
    uint64_t max_ns;
    long double sum_ns;
};

static unsigned hist_index(uint64_t v)
{
    if (v >= (UINT64_C(1) << MAX_BITS))
        return BUCKETS - 1;
    if (v < (UINT64_C(1) << (SUB_BITS + 1)))
        return (unsigned) v;
    unsigned msb = 63u - (unsigned) __builtin_clzll(v);
    unsigned shift = msb - SUB_BITS;
    return (shift + 1) * SUB_COUNT + (unsigned) ((v >> shift) - SUB_COUNT);
}

/* The midpoint of the values bucket i holds. */
static uint64_t hist_value(unsigned i)
{
    if (i < 2 * SUB_COUNT)
        return i;
    unsigned shift = i / SUB_COUNT - 1;
    uint64_t sub = i % SUB_COUNT + SUB_COUNT;
    uint64_t lo = sub << shift;
    return lo + ((UINT64_C(1) << shift) >> 1);
}

static void hist_record(struct histogram *h, uint64_t v)
{
    h->counts[hist_index(v)]++;
    if (h->total == 0 || v < h->min_ns)
        h->min_ns = v;
    if (v > h->max_ns)
        h->max_ns = v;
    h->total++;
    h->sum_ns += (long double) v;
}

/* The smallest recorded value v such that at least pct percent of the samples are <= v. */
static uint64_t hist_percentile(const struct histogram *h, double pct)
{
    if (h->total == 0)
        return 0;
    uint64_t rank = (uint64_t) ((pct / 100.0) * (double) h->total + 0.999999);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t v = hist_value(i);
            /* The midpoint can lie outside what was seen; clamp to the exact extremes. */
            if (v > h->max_ns)
                v = h->max_ns;
            if (v < h->min_ns)
                v = h->min_ns;
            return v;
        }
    }
    return h->max_ns;
}

enum conn_state {
    CONN_CONNECTING,
    CONN_SENDING,
    CONN_READING,
};

struct conn {
    int fd;
    enum conn_state state;
    uint64_t start_ns;
    size_t sent;
    size_t len;
    char buf[RESP_BUF_BYTES];
};

struct target {
    int family;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char label[128];
};

struct stats {
    struct histogram hist;
    uint64_t status_2xx;
    uint64_t status_503;
    uint64_t status_other;
    uint64_t errors_connect;
    uint64_t errors_io;
    uint64_t errors_protocol;
    uint64_t reconnects;
    uint64_t server_closes;
};

static struct target target;
static char request[REQ_BUF_BYTES];
static size_t request_len;
static int epfd = -EBADF;
static struct stats stats;
static uint64_t record_from_ns;   /* responses that complete before this are warm-up */
static uint64_t stop_at_ns;

static uint64_t now_ns(void)
{
    struct timespec ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * UINT64_C(1000000000) + (uint64_t) ts.tv_nsec;
}

static int parse_target_tcp(const char *s, struct target *ret)
{
    char host[64];
    const char *colon = strrchr(s, ':');

    if (!colon || (size_t) (colon - s) >= sizeof(host))
        return -EINVAL;
    memcpy(host, s, (size_t) (colon - s));
    host[colon - s] = '\0';
    char *end;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (errno || *end || port == 0 || port > 65535)
        return -EINVAL;

    struct sockaddr_in *in = (struct sockaddr_in *) &ret->addr;
    memset(ret, 0, sizeof(*ret));
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t) port);
    if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
        return -EINVAL;
    ret->family = AF_INET;
    ret->addrlen = sizeof(*in);
    (void) snprintf(ret->label, sizeof(ret->label), "tcp");
    return 0;
}

static int parse_target_unix(const char *path, struct target *ret)
{
    struct sockaddr_un *un = (struct sockaddr_un *) &ret->addr;

    memset(ret, 0, sizeof(*ret));
    if (strlen(path) >= sizeof(un->sun_path))
        return -ENAMETOOLONG;
    un->sun_family = AF_UNIX;
    strcpy(un->sun_path, path);
    ret->family = AF_UNIX;
    ret->addrlen = (socklen_t) sizeof(*un);
    (void) snprintf(ret->label, sizeof(ret->label), "unix");
    return 0;
}

static int set_events(struct conn *c, uint32_t events, int op)
{
    struct epoll_event ev = { .events = events, .data.ptr = c };

    return epoll_ctl(epfd, op, c->fd, &ev) < 0 ? -errno : 0;
}

static void conn_close(struct conn *c)
{
    if (c->fd >= 0) {
        (void) epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
        (void) close(c->fd);
    }
    c->fd = -EBADF;
    c->len = 0;
    c->sent = 0;
}

static int conn_send(struct conn *c);

/* Opens the connection and sends the first request. A refused or failed connect is counted and
 * retried on the next call. */
static int conn_open(struct conn *c)
{
    c->fd = socket(target.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -errno;
    if (target.family == AF_INET) {
        int one = 1;
        (void) setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    c->len = 0;
    c->sent = 0;
    if (connect(c->fd, (struct sockaddr *) &target.addr, target.addrlen) < 0) {
        if (errno == EINPROGRESS) {
            c->state = CONN_CONNECTING;
            return set_events(c, EPOLLOUT, EPOLL_CTL_ADD);
        }
        int r = -errno;
        (void) close(c->fd);
        c->fd = -EBADF;
        stats.errors_connect++;
        return r;
    }
    int r = set_events(c, EPOLLIN, EPOLL_CTL_ADD);
    if (r < 0)
        return r;
    return conn_send(c);
}

static int conn_send(struct conn *c)
{
    if (c->sent == 0) {
        c->start_ns = now_ns();
        c->len = 0;
    }
    while (c->sent < request_len) {
        ssize_t n = send(c->fd, request + c->sent, request_len - c->sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN) {
                c->state = CONN_SENDING;
                return set_events(c, EPOLLOUT, EPOLL_CTL_MOD);
            }
            return -errno;
        }
        c->sent += (size_t) n;
    }
    if (c->state == CONN_SENDING || c->state == CONN_CONNECTING) {
        int r = set_events(c, EPOLLIN, EPOLL_CTL_MOD);
        if (r < 0)
            return r;
    }
    c->state = CONN_READING;
    return 0;
}

/* Looks for a header by name in [hdr, end); returns its value or NULL. */
static const char *find_header(const char *hdr, const char *end, const char *name, size_t *ret_len)
{
    size_t nlen = strlen(name);

    for (const char *p = hdr; p < end;) {
        const char *eol = memmem(p, (size_t) (end - p), "\r\n", 2);
        if (!eol)
            eol = end;
        if ((size_t) (eol - p) > nlen && p[nlen] == ':' && strncasecmp(p, name, nlen) == 0) {
            const char *v = p + nlen + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            *ret_len = (size_t) (eol - v);
            return v;
        }
        p = eol + 2;
    }
    return NULL;
}

/* Returns 1 when a complete response sits in c->buf (its length in *ret_used, and whether the
 * server asked to close in *ret_close), 0 when more bytes are needed, -EBADMSG when the bytes
 * are not a response this client understands. */
static int parse_response(struct conn *c, unsigned *ret_status, size_t *ret_used, bool *ret_close)
{
    const char *b = c->buf;
    const char *hend = memmem(b, c->len, "\r\n\r\n", 4);

    if (!hend)
        return c->len >= sizeof(c->buf) ? -EBADMSG : 0;
    if (c->len < 12 || strncmp(b, "HTTP/1.", 7) != 0 || b[8] != ' ')
        return -EBADMSG;
    unsigned status = (unsigned) (b[9] - '0') * 100 + (unsigned) (b[10] - '0') * 10 + (unsigned) (b[11] - '0');
    const char *first_eol = memmem(b, (size_t) (hend - b) + 2, "\r\n", 2);
    const char *hdr = first_eol + 2;
    size_t vlen;
    const char *v = find_header(hdr, hend, "Transfer-Encoding", &vlen);
    if (v)
        return -EBADMSG;
    v = find_header(hdr, hend, "Content-Length", &vlen);
    if (!v)
        return -EBADMSG;
    char num[24];
    if (vlen == 0 || vlen >= sizeof(num))
        return -EBADMSG;
    memcpy(num, v, vlen);
    num[vlen] = '\0';
    char *e;
    unsigned long long body = strtoull(num, &e, 10);
    if (*e)
        return -EBADMSG;
    size_t head = (size_t) (hend - b) + 4;
    if (body > sizeof(c->buf) - head)
        return -EBADMSG;
    if (c->len < head + body)
        return 0;
    v = find_header(hdr, hend, "Connection", &vlen);
    *ret_close = v && vlen == 5 && strncasecmp(v, "close", 5) == 0;
    *ret_status = status;
    *ret_used = head + (size_t) body;
    return 1;
}

static void count_response(unsigned status, uint64_t done_ns, uint64_t start_ns)
{
    if (done_ns < record_from_ns)
        return;
    hist_record(&stats.hist, done_ns - start_ns);
    if (status >= 200 && status < 300)
        stats.status_2xx++;
    else if (status == 503)
        stats.status_503++;
    else
        stats.status_other++;
}

/* Reads what is there; on a complete response records it and sends the next request. Returns
 * <0 when the connection must be reopened. */
static int conn_read(struct conn *c)
{
    for (;;) {
        if (c->len >= sizeof(c->buf)) {
            stats.errors_protocol++;
            return -EBADMSG;
        }
        ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
        if (n < 0) {
            if (errno == EAGAIN)
                return 0;
            stats.errors_io++;
            return -errno;
        }
        if (n == 0) {
            /* The server closed between requests (an idle or request-count limit): not an
             * error when nothing was outstanding, but the request we sent is lost. */
            stats.server_closes++;
            return -ECONNRESET;
        }
        c->len += (size_t) n;

        unsigned status;
        size_t used;
        bool close_after;
        int r = parse_response(c, &status, &used, &close_after);
        if (r < 0) {
            stats.errors_protocol++;
            return r;
        }
        if (r == 0)
            continue;
        uint64_t t = now_ns();
        count_response(status, t, c->start_ns);
        if (c->len != used) {
            /* One request in flight: extra bytes mean the server sent something unasked. */
            stats.errors_protocol++;
            return -EBADMSG;
        }
        if (close_after) {
            stats.server_closes++;
            return -ECONNRESET;
        }
        if (t >= stop_at_ns)
            return 0;
        c->sent = 0;
        return conn_send(c);
    }
}

static int conn_event(struct conn *c, uint32_t events)
{
    if (c->state == CONN_CONNECTING) {
        int err = 0;
        socklen_t l = sizeof(err);
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0 || err) {
            stats.errors_connect++;
            return -(err ? err : errno);
        }
        c->sent = 0;
        return conn_send(c);
    }
    if (c->state == CONN_SENDING) {
        if (events & (EPOLLERR | EPOLLHUP)) {
            stats.errors_io++;
            return -EIO;
        }
        return conn_send(c);
    }
    return conn_read(c);
}

static double to_us(uint64_t ns)
{
    return (double) ns / 1e3;
}

static void print_free_port(void)
{
    struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = 0 };
    socklen_t l = sizeof(in);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *) &in, sizeof(in)) < 0 ||
        getsockname(fd, (struct sockaddr *) &in, &l) < 0) {
        perror("uds-load: free port");
        exit(1);
    }
    printf("%u\n", ntohs(in.sin_port));
    (void) close(fd);
}

static void usage(FILE *f)
{
    fputs("usage: uds-load (-u PATH | -t HOST:PORT) [-c CONNS] [-d SECONDS] [-w SECONDS]\n"
          "                [-m METHOD] [-p PATH] [-b BODY] [-k]\n"
          "       uds-load -P\n"
          "  -u PATH       connect to a Unix stream socket\n"
          "  -t HOST:PORT  connect over TCP (IPv4)\n"
          "  -c CONNS      keep-alive connections, one request in flight each (default 8)\n"
          "  -d SECONDS    measured duration (default 10)\n"
          "  -w SECONDS    warm-up before measuring, not recorded (default 1)\n"
          "  -m METHOD     request method (default POST)\n"
          "  -p PATH       request path (default /ask)\n"
          "  -b BODY       request body (default {\"task\":\"bench\",\"complexity\":10})\n"
          "  -k            print one key=value line instead of the text report\n"
          "  -P            print a free TCP port on 127.0.0.1 and exit\n",
          f);
}

int main(int argc, char **argv)
{
    const char *method = "POST", *path = "/ask", *body = "{\"task\":\"bench\",\"complexity\":10}";
    double duration_s = 10, warmup_s = 1;
    unsigned nconns = 8;
    bool have_target = false, kv = false;
    int opt;

    while ((opt = getopt(argc, argv, "u:t:c:d:w:m:p:b:kPh")) != -1) {
        switch (opt) {
        case 'u':
            if (parse_target_unix(optarg, &target) < 0) {
                fprintf(stderr, "uds-load: socket path too long: %s\n", optarg);
                return 2;
            }
            have_target = true;
            break;
        case 't':
            if (parse_target_tcp(optarg, &target) < 0) {
                fprintf(stderr, "uds-load: expected IPV4:PORT, got %s\n", optarg);
                return 2;
            }
            have_target = true;
            break;
        case 'c':
            nconns = (unsigned) strtoul(optarg, NULL, 10);
            break;
        case 'd':
            duration_s = strtod(optarg, NULL);
            break;
        case 'w':
            warmup_s = strtod(optarg, NULL);
            break;
        case 'm':
            method = optarg;
            break;
        case 'p':
            path = optarg;
            break;
        case 'b':
            body = optarg;
            break;
        case 'k':
            kv = true;
            break;
        case 'P':
            print_free_port();
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!have_target || nconns == 0 || nconns > CONNS_MAX || !(duration_s > 0) || warmup_s < 0) {
        usage(stderr);
        return 2;
    }

    int n = snprintf(request, sizeof(request),
                     "%s %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     method, path, strlen(body), body);
    if (n < 0 || (size_t) n >= sizeof(request)) {
        fprintf(stderr, "uds-load: request too large\n");
        return 2;
    }
    request_len = (size_t) n;

    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) {
        perror("uds-load: epoll_create1");
        return 1;
    }
    struct conn *conns = calloc(nconns, sizeof(*conns));
    if (!conns) {
        fprintf(stderr, "uds-load: out of memory\n");
        return 1;
    }

    uint64_t t0 = now_ns();
    record_from_ns = t0 + (uint64_t) (warmup_s * 1e9);
    stop_at_ns = record_from_ns + (uint64_t) (duration_s * 1e9);

    for (unsigned i = 0; i < nconns; i++) {
        conns[i].fd = -EBADF;
        int r = conn_open(&conns[i]);
        if (r < 0) {
            conn_close(&conns[i]);
            /* A target that refuses the very first connection is not there at all. */
            if (i == 0) {
                fprintf(stderr, "uds-load: cannot connect: %s\n", strerror(-r));
                return 1;
            }
        }
    }

    struct epoll_event events[EVENTS_MAX];
    for (;;) {
        uint64_t t = now_ns();
        if (t >= stop_at_ns)
            break;
        int timeout_ms = (int) ((stop_at_ns - t) / 1000000) + 1;
        int k = epoll_wait(epfd, events, EVENTS_MAX, timeout_ms);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            perror("uds-load: epoll_wait");
            return 1;
        }
        for (int i = 0; i < k; i++) {
            struct conn *c = events[i].data.ptr;
            if (conn_event(c, events[i].events) < 0) {
                conn_close(c);
                if (now_ns() < stop_at_ns) {
                    stats.reconnects++;
                    if (conn_open(c) < 0)
                        conn_close(c);
                }
            }
        }
        /* Connections that failed to reopen are retried here, not in a tight loop. */
        for (unsigned i = 0; i < nconns; i++)
            if (conns[i].fd < 0 && now_ns() < stop_at_ns && conn_open(&conns[i]) < 0)
                conn_close(&conns[i]);
    }
    uint64_t measured_ns = now_ns() - record_from_ns;

    for (unsigned i = 0; i < nconns; i++)
        conn_close(&conns[i]);
    free(conns);
    (void) close(epfd);

    const struct histogram *h = &stats.hist;
    double secs = (double) measured_ns / 1e9;
    double rps = (double) h->total / secs;
    double mean_us = h->total ? (double) (h->sum_ns / (long double) h->total) / 1e3 : 0;
    uint64_t errors = stats.errors_connect + stats.errors_io + stats.errors_protocol;

    if (kv) {
        printf("transport=%s conns=%u duration_s=%.2f requests=%" PRIu64 " rps=%.1f mean_us=%.1f "
               "p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f status_2xx=%" PRIu64
               " status_503=%" PRIu64 " status_other=%" PRIu64 " errors=%" PRIu64 " server_closes=%" PRIu64
               "\n",
               target.label, nconns, secs, h->total, rps, mean_us, to_us(hist_percentile(h, 50)),
               to_us(hist_percentile(h, 90)), to_us(hist_percentile(h, 99)), to_us(hist_percentile(h, 99.9)),
               to_us(h->max_ns), stats.status_2xx, stats.status_503, stats.status_other, errors,
               stats.server_closes);
    } else {
        printf("%s, %u connections, %.2f s measured after %.1f s warm-up\n", target.label, nconns, secs, warmup_s);
        printf("  requests   %" PRIu64 " (2xx %" PRIu64 ", 503 %" PRIu64 ", other %" PRIu64 ")\n", h->total,
               stats.status_2xx, stats.status_503, stats.status_other);
        printf("  throughput %.1f req/s\n", rps);
        printf("  latency    mean %.1f us, p50 %.1f us, p90 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us\n",
               mean_us, to_us(hist_percentile(h, 50)), to_us(hist_percentile(h, 90)), to_us(hist_percentile(h, 99)),
               to_us(hist_percentile(h, 99.9)), to_us(h->max_ns));
        printf("  errors     connect %" PRIu64 ", io %" PRIu64 ", protocol %" PRIu64 "; server closes %" PRIu64
               ", reconnects %" PRIu64 "\n",
               stats.errors_connect, stats.errors_io, stats.errors_protocol, stats.server_closes, stats.reconnects);
    }
    return errors > 0 && h->total == 0 ? 1 : 0;
}
