/* SPDX-License-Identifier: MIT */
/* GET /v1/leases and DELETE /v1/leases/ID: the reservations admitted tasks hold. */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api-internal.h"

#define LEASES_PREFIX "/v1/leases/"

void handle_v1_leases(struct api *a, const struct http_request *req, struct http_response *resp)
{
    a->hooks.leases_expire(a->hooks.userdata);
    json_t *arr = json_array();
    for (unsigned i = 0; arr && i < a->leases->n; i++)
        (void) json_array_append_new(arr, api_lease_json(&a->leases->v[i]));
    reply_json(resp, 200, json_pack("{s:o, s:o}", "leases", arr ? arr : json_array(), "reserved",
                                    api_need_json(&a->view->reserved)));
}

void handle_v1_lease(struct api *a, const struct http_request *req, struct http_response *resp)
{
    const char *s = req->path + strlen(LEASES_PREFIX);
    uint64_t id;

    if (api_parse_lease_id(s, &id) < 0) {
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
