/* SPDX-License-Identifier: MIT */
/* GET /v1/leases and DELETE /v1/leases/ID: the reservations admitted tasks hold. */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api-internal.h"

#define LEASES_PREFIX "/v1/leases/"

static json_t *need_json(const struct decide_need *n)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (n->cpu_pct > 0)
        (void) json_object_set_new(o, "cpu_pct", json_number(n->cpu_pct));
    if (n->mem_bytes > 0)
        (void) json_object_set_new(o, "mem_bytes", json_integer((json_int_t) n->mem_bytes));
    if (n->mem_pct > 0)
        (void) json_object_set_new(o, "mem_pct", json_number(n->mem_pct));
    if (n->disk_bytes > 0)
        (void) json_object_set_new(o, "disk_bytes", json_integer((json_int_t) n->disk_bytes));
    return o;
}

void handle_v1_leases(struct api *a, const struct http_request *req, struct http_response *resp)
{
    char ts[64], id[32];

    a->hooks.leases_expire(a->hooks.userdata);
    json_t *arr = json_array();
    for (unsigned i = 0; arr && i < a->n_leases; i++) {
        const struct api_lease *l = &a->leases[i];
        (void) snprintf(id, sizeof(id), "l-%016" PRIx64, l->id);
        (void) json_array_append_new(arr, json_pack("{s:s, s:o, s:o, s:s}", "id", id, "task",
                                                    l->task[0] ? json_string(l->task) : json_null(), "needs",
                                                    need_json(&l->need), "expires_at",
                                                    format_rfc3339(ts, sizeof(ts), l->expires_real_usec)));
    }
    reply_json(resp, 200, json_pack("{s:o, s:o}", "leases", arr ? arr : json_array(), "reserved",
                                    need_json(&a->view->reserved)));
}

void handle_v1_lease(struct api *a, const struct http_request *req, struct http_response *resp)
{
    const char *s = req->path + strlen(LEASES_PREFIX);
    char *end;
    uint64_t id;

    if (strncmp(s, "l-", 2) != 0 || strlen(s) != 18) {
        reply_error(resp, 404, "no such lease '%.40s'", s);
        return;
    }
    errno = 0;
    id = strtoull(s + 2, &end, 16);
    if (errno != 0 || *end != '\0') {
        reply_error(resp, 404, "no such lease '%.40s'", s);
        return;
    }
    a->hooks.leases_expire(a->hooks.userdata);
    if (a->hooks.lease_release(a->hooks.userdata, id) < 0) {
        reply_error(resp, 404, "no such lease '%s' (released or expired)", s);
        return;
    }
    reply_json(resp, 200, json_pack("{s:b, s:s}", "released", 1, "id", s));
}
