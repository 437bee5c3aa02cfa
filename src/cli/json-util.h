/* SPDX-License-Identifier: MIT */
#pragma once

/* jansson helpers shared by the client: a cleanup attribute and lenient lookups that treat a
 * missing key, a null and a value of the wrong type alike, so an answer from an older or newer
 * daemon prints "n/a" instead of crashing. */

#include <jansson.h>
#include <stdbool.h>

#include "basic/macro.h"

/* jansson ≥ 2.9 provides json_decrefp() for cleanup attributes. */
#ifndef _cleanup_json_
#    define _cleanup_json_ _cleanup_(json_decrefp)
#endif

/* The member key of obj when obj is an object, else NULL. Borrowed. */
static inline json_t *json_get(const json_t *obj, const char *key)
{
    return json_is_object(obj) ? json_object_get(obj, key) : NULL;
}

/* Stores the number under key (integer or real) in *ret and returns true; false when there is
 * none, *ret untouched. */
static inline bool json_get_number(const json_t *obj, const char *key, double *ret)
{
    json_t *v = json_get(obj, key);

    if (!json_is_number(v))
        return false;
    *ret = json_number_value(v);
    return true;
}

/* The string under key, or NULL. Borrowed from obj. */
static inline const char *json_get_string(const json_t *obj, const char *key)
{
    return json_string_value(json_get(obj, key));
}
