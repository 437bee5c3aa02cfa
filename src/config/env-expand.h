/* SPDX-License-Identifier: MIT */
#pragma once

/* Environment references in configuration values: ${VAR}, ${VAR:-default} and $$. Kept apart from
 * the YAML code so that the expansion is a pure function of its input and a lookup callback. */

#include <stddef.h>

/* Returns the value of the variable called name, or NULL when it is not set. The returned string
 * is borrowed and must stay valid until the next call. */
typedef const char *(*env_lookup_t)(const char *name, void *userdata);

/* Longest accepted variable name, in bytes. */
#define ENV_NAME_MAX 128

/* Copies in[0..n) to out (capacity out_size, always NUL-terminated on success), replacing:
 *  - "${NAME}" by the value of NAME (an empty value is allowed);
 *  - "${NAME:-default}" by the value of NAME, or by default (taken literally, up to the first
 *    '}') when NAME is unset or empty;
 *  - "$$" by a single '$'.
 * A '$' followed by anything else is kept as it is. NAME is [A-Za-z_][A-Za-z0-9_]*, at most
 * ENV_NAME_MAX bytes. Returns the length of the result; -ENOENT when a variable without default is
 * unset; -EINVAL for an unterminated "${", a bad name or another operator ("${A-b}"); -ENOBUFS
 * when the result does not fit out_size. On failure a one-line reason is written to msg
 * (capacity msg_size), e.g. "environment variable 'HOME' is not set", and out is unspecified.
 * Pure apart from lookup; does not log. */
int env_expand(const char *in,
               size_t n,
               env_lookup_t lookup,
               void *userdata,
               char *out,
               size_t out_size,
               char *msg,
               size_t msg_size);
