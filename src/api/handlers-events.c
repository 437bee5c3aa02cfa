/* SPDX-License-Identifier: MIT */
/* GET /v1/events: the event log, as one JSON answer or as a stream of Server-Sent Events
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html). Recent events come from the
 * in-memory ring (api/event-ring.h), older ones from the store. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api-internal.h"
#include "api/event-ring.h"
#include "basic/log.h"
#include "basic/parse-util.h"
#include "basic/strbuf.h"
#include "store/store.h"

#define EVENTS_LIMIT_DEFAULT 100U
#define EVENTS_LIMIT_MAX     1000U

/* A comment line every 15 s keeps proxies and clients from taking a quiet stream for a dead one,
 * and lets the server find a client that went away. */
#define SSE_KEEPALIVE_USEC (15U * USEC_PER_SEC)
/* A client that takes no byte for this long (its socket buffer full) is cut off: four keepalive
 * periods, so a stream that only idles never gets there. */
#define SSE_STALL_SEC 60U
/* Events read from the store per query while a stream catches up with the ring. */
#define SSE_STORE_BATCH 64U
/* "id: " seq "\nevent: " type "\ndata: " json "\n\n" */
#define SSE_FRAME_MAX (EVENT_JSON_MAX + EVENT_TYPE_NAME_MAX + 64U)

/* ---- the JSON form --------------------------------------------------------------------------- */

struct page {
    struct strbuf body;
    const char *type;        /* filter, NULL none */
    unsigned limit;
    unsigned n;
    uint64_t last_seq;       /* of the last event looked at */
    bool full;               /* limit reached, or the body's size cap */
};

/* What follows the events in the body: "],\"last_seq\":N}\n". */
#define PAGE_TAIL_MAX (32U + DECIMAL_STR_MAX(uint64_t))

/* Adds one event; -ENOSPC once the page is full (the event is then not looked at). */
static int page_add(struct page *p, uint64_t seq, const char *type, const char *json, size_t len)
{
    int r;

    if (p->full)
        return -ENOSPC;
    if (p->type && strcmp(p->type, type) != 0) {
        p->last_seq = seq;
        return 0;
    }
    /* Keep room for the separator and the tail; a page that cannot take this event ends before
     * it, and last_seq lets the client ask for the rest. */
    if (p->body.len + len + 1 + PAGE_TAIL_MAX > p->body.max) {
        p->full = true;
        return -ENOSPC;
    }
    if (p->n > 0) {
        r = strbuf_append(&p->body, ",", 1);
        if (r < 0)
            return r;
    }
    r = strbuf_append(&p->body, json, len);
    if (r < 0)
        return r;
    p->n++;
    p->last_seq = seq;
    if (p->n >= p->limit)
        p->full = true;
    return 0;
}

/* A stored event goes out as it is; make sure it is a JSON object on one line first, since a
 * damaged row would otherwise break the whole answer. */
static bool stored_json_ok(const char *data, size_t len)
{
    json_error_t err;
    json_t *j;
    bool ok;

    if (len == 0 || memchr(data, '\n', len) || memchr(data, '\r', len))
        return false;
    j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &err);
    ok = j && json_is_object(j);
    json_decref(j);
    return ok;
}

struct store_walk {
    struct page *page;
    uint64_t stop_seq;       /* events from here on come from the ring; 0: no ring */
    uint64_t pos;            /* the last seq read */
    unsigned rows;
};

static int page_store_row(const struct store_event *e, void *userdata)
{
    struct store_walk *w = userdata;
    size_t len = strlen(e->data);

    w->rows++;
    if (w->stop_seq && e->seq >= w->stop_seq)
        return -ECANCELED;
    if (!stored_json_ok(e->data, len))
        return -EBADMSG;
    int r = page_add(w->page, e->seq, e->type, e->data, len);
    if (r < 0)
        return r;
    w->pos = e->seq;
    return 0;
}

/* Events after `after` from the store, up to the ring's first seq (or to the end without a
 * ring). Returns the last seq looked at through *pos, or a -errno. */
static int page_from_store(struct api *a, struct page *p, uint64_t *pos, uint64_t ring_first)
{
    for (;;) {
        struct store_walk w = { .page = p, .stop_seq = ring_first, .pos = *pos };
        int r = store_foreach_event(a->store, *pos, SSE_STORE_BATCH, page_store_row, &w);

        *pos = w.pos;
        if (r == -ENOSPC || r == -ECANCELED)
            return 0;
        if (r < 0)
            return r;
        if (w.rows < SSE_STORE_BATCH || p->full)
            return 0;
    }
}

static int parse_seq(const char *s, uint64_t *ret)
{
    uint64_t v;

    if (!s || safe_atou64(s, &v) < 0 || v > (uint64_t) INT64_MAX)
        return -EINVAL;
    *ret = v;
    return 0;
}

static void reply_page(struct api *a, const struct http_request *req, struct http_response *resp,
                       uint64_t after, const char *type)
{
    struct page p = { .type = type, .limit = EVENTS_LIMIT_DEFAULT };
    const char *q;
    uint64_t pos = after, head = 0;
    int r;

    q = http_request_query(req, "limit");
    if (q) {
        uint64_t v;
        if (safe_atou64(q, &v) < 0 || v == 0 || v > EVENTS_LIMIT_MAX) {
            reply_error(resp, 400, "limit must be an integer from 1 to %u", EVENTS_LIMIT_MAX);
            return;
        }
        p.limit = (unsigned) v;
    }

    strbuf_init(&p.body, RESPONSE_MAX_BYTES);
    r = strbuf_puts(&p.body, "{\"events\":[");
    if (r < 0)
        goto fail;

    if (a->events) {
        bool complete;
        unsigned i = event_ring_find(a->events, pos, &complete);

        if (!complete && a->store) {
            r = page_from_store(a, &p, &pos, event_ring_first_seq(a->events));
            if (r < 0)
                goto fail;
            i = event_ring_find(a->events, pos, NULL);
        }
        for (; i < event_ring_count(a->events) && !p.full; i++) {
            const struct event_ring_entry *e = event_ring_get(a->events, i);

            r = page_add(&p, e->seq, event_type_to_string(e->type), e->json, e->json_len);
            if (r == -ENOSPC)
                break;
            if (r < 0)
                goto fail;
        }
        head = event_ring_head_seq(a->events);
    } else {
        r = page_from_store(a, &p, &pos, 0);
        if (r < 0)
            goto fail;
        r = store_last_event_seq(a->store, &head);
        if (r < 0)
            goto fail;
    }

    /* The seq to ask after next: the last event of a full page, else the log's end. */
    r = strbuf_printf(&p.body, "],\"last_seq\":%" PRIu64 "}\n", p.full ? p.last_seq : MAX(head, p.last_seq));
    if (r < 0)
        goto fail;
    size_t len;
    char *body = strbuf_steal(&p.body, &len);
    if (!body) {
        r = -ENOMEM;
        goto fail;
    }
    http_response_set(resp, 200, CT_JSON, body, len);
    return;

fail:
    strbuf_done(&p.body);
    if (r == -EBADMSG)
        reply_error(resp, 500, "the stored event log is damaged");
    else if (r == -ENOMEM || r == -E2BIG)
        reply_error(resp, 503, "out of memory");
    else
        reply_error(resp, 503, "the event log cannot be read now");
}

/* ---- the stream ------------------------------------------------------------------------------ */

struct sse_client {
    struct event_ring_sub sub;   /* first: the ring's list links it */
    struct api *a;
    struct http_stream *h;
    enum event_type type;        /* filter, _EVENT_TYPE_INVALID none */
    uint64_t pos;                /* the last seq sent or skipped */
    bool live;                   /* has read from the ring; falling behind it now ends the stream */
    usec_t last_write_usec;      /* CLOCK_MONOTONIC */
    char *frame;                 /* what is being written, SSE_FRAME_MAX + 1 bytes */
    size_t frame_len, frame_off;
};

static int frame_set(struct sse_client *c, uint64_t seq, const char *type, const char *json)
{
    int n = snprintf(c->frame, SSE_FRAME_MAX + 1, "id: %" PRIu64 "\nevent: %s\ndata: %s\n\n", seq, type, json);

    if (n < 0 || (size_t) n > SSE_FRAME_MAX)
        return -E2BIG;
    c->frame_len = (size_t) n;
    c->frame_off = 0;
    return 0;
}

static bool type_matches(const struct sse_client *c, const char *type)
{
    return (int) c->type < 0 || strcmp(event_type_to_string(c->type), type) == 0;
}

static int sse_store_row(const struct store_event *e, void *userdata)
{
    struct sse_client *c = userdata;
    int r;

    c->pos = e->seq;
    if (!type_matches(c, e->type))
        return 0;
    if (!stored_json_ok(e->data, strlen(e->data)))
        return -EBADMSG;
    r = frame_set(c, e->seq, e->type, e->data);
    if (r < 0)
        return r;
    /* One event at a time: the next read resumes after it. */
    return -ECANCELED;
}

/* Fills c->frame with the next event for the client, if any. 1 when there is one, 0 when it is
 * up to date, -EPIPE when it fell behind the ring, or another -errno. */
static int sse_next(struct sse_client *c)
{
    struct event_ring *ring = c->sub.ring;
    bool complete;
    unsigned i;
    int r;

    i = event_ring_find(ring, c->pos, &complete);
    if (!complete) {
        if (c->live)
            return -EPIPE;
        /* Catching up: what the ring does not hold is in the store, if anywhere. */
        while (!complete && c->a->store) {
            uint64_t before = c->pos;

            r = store_foreach_event(c->a->store, c->pos, SSE_STORE_BATCH, sse_store_row, c);
            if (r == -ECANCELED)
                return 1;
            if (r < 0)
                return r;
            if (c->pos == before)
                break; /* the store has nothing more */
            (void) event_ring_find(ring, c->pos, &complete);
        }
        /* The ring takes over; events lost in between (a store that failed) are skipped. */
        i = event_ring_find(ring, c->pos, NULL);
    }
    c->live = true;
    for (; i < event_ring_count(ring); i++) {
        const struct event_ring_entry *e = event_ring_get(ring, i);
        const char *type = event_type_to_string(e->type);

        c->pos = e->seq;
        if (!type_matches(c, type))
            continue;
        r = frame_set(c, e->seq, type, e->json);
        if (r < 0)
            return r;
        return 1;
    }
    return 0;
}

static ssize_t sse_read(struct http_stream *h, void *userdata, char *buf, size_t max)
{
    struct sse_client *c = userdata;
    usec_t now = now_usec(CLOCK_MONOTONIC);
    size_t n;

    c->h = h;
    if (!c->sub.ring)
        return HTTP_STREAM_END; /* the ring is gone: the daemon stops */

    if (c->frame_off >= c->frame_len) {
        int r = sse_next(c);

        if (r == -EPIPE) {
            /* It did not keep up: end the stream instead of holding events for it. The client
             * reconnects with Last-Event-ID and catches up from the store. */
            log_debug("events: a stream fell behind at %" PRIu64 ", ending it", c->pos);
            return HTTP_STREAM_END;
        }
        if (r < 0) {
            log_debug_errno(r, "events: cannot read the log for a stream: %m");
            return HTTP_STREAM_ERROR;
        }
        if (r == 0) {
            if (now - c->last_write_usec < SSE_KEEPALIVE_USEC)
                return 0;
            c->frame_len = (size_t) snprintf(c->frame, SSE_FRAME_MAX + 1, ": keepalive\n\n");
            c->frame_off = 0;
        }
    }
    n = MIN(max, c->frame_len - c->frame_off);
    memcpy(buf, c->frame + c->frame_off, n);
    c->frame_off += n;
    c->last_write_usec = now;
    return (ssize_t) n;
}

static void sse_free(void *userdata)
{
    struct sse_client *c = userdata;

    event_ring_unsubscribe(&c->sub);
    free(c->frame);
    free(c);
}

static const struct http_stream_ops sse_ops = {
    .read = sse_read,
    .free = sse_free,
};

static void start_stream(struct api *a, struct http_response *resp, uint64_t after, enum event_type type)
{
    struct sse_client *c;
    int r;

    c = calloc(1, sizeof(*c));
    if (!c) {
        reply_error(resp, 503, "out of memory");
        return;
    }
    c->frame = malloc(SSE_FRAME_MAX + 1);
    if (!c->frame) {
        free(c);
        reply_error(resp, 503, "out of memory");
        return;
    }
    c->a = a;
    c->type = type;
    c->pos = after;
    c->last_write_usec = now_usec(CLOCK_MONOTONIC);
    r = event_ring_subscribe(a->events, &c->sub);
    if (r < 0) {
        free(c->frame);
        free(c);
        reply_error(resp, 503, "too many event streams are open");
        return;
    }
    /* A first comment, so the client sees the stream open before the first event. */
    c->frame_len = (size_t) snprintf(c->frame, SSE_FRAME_MAX + 1, ": headroom events\n\n");
    http_response_stream(resp, 200, "text/event-stream", &sse_ops, c, SSE_KEEPALIVE_USEC, SSE_STALL_SEC);
}

void api_events_appended(struct api *a)
{
    if (!a || !a->events)
        return;
    for (struct event_ring_sub *s = event_ring_subs(a->events); s; s = s->next) {
        struct sse_client *c = (struct sse_client *) s;

        /* A stream not read yet has no handle; its first read finds the event anyway. */
        if (c->h)
            http_stream_wake(c->h);
    }
}

/* ---- the endpoint ---------------------------------------------------------------------------- */

static bool wants_stream(const struct http_request *req)
{
    const char *accept = http_request_header(req, "Accept");
    const char *q = http_request_query(req, "stream");

    if (q && (strcmp(q, "1") == 0 || strcmp(q, "true") == 0))
        return true;
    return accept && strstr(accept, "text/event-stream");
}

void handle_v1_events(struct api *a, const struct http_request *req, struct http_response *resp)
{
    const char *q, *type_name = NULL;
    enum event_type type = _EVENT_TYPE_INVALID;
    uint64_t after = 0;

    if (!a->events && !a->store) {
        reply_error(resp, 503, "the event log is not available");
        return;
    }
    q = http_request_query(req, "after");
    if (q && parse_seq(q, &after) < 0) {
        reply_error(resp, 400, "after must be a non-negative integer");
        return;
    }
    q = http_request_query(req, "type");
    if (q) {
        type = event_type_from_string(q);
        if ((int) type < 0) {
            reply_error(resp, 400, "unknown event type");
            return;
        }
        type_name = event_type_to_string(type);
    }

    /* Streams need a connection that stays open: HTTP only; HEAD gets the headers of the JSON. */
    if (req->conn && req->method == HTTP_GET && a->events && wants_stream(req)) {
        /* An EventSource that reconnects says where it stopped; it wins over "after". */
        q = http_request_header(req, "Last-Event-ID");
        if (q && parse_seq(q, &after) < 0) {
            reply_error(resp, 400, "Last-Event-ID must be a non-negative integer");
            return;
        }
        start_stream(a, resp, after, type);
        return;
    }
    reply_page(a, req, resp, after, type_name);
}
