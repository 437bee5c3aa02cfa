/* SPDX-License-Identifier: MIT */
#pragma once

/* Who a TCP caller is: the per-user tokens of auth.user_tokens_file, loaded at start and on
 * reload. */

#include "config/config.h"

struct daemon;

/* Loads c's auth.user_tokens_file (nothing for ""). The file must be a regular file that only its
 * owner (root, or the daemon's own user) can read or write: tokens that others could read would
 * let them act as those users. On success the daemon's tokens are replaced; on failure the old
 * ones stay and err says why. 0 or a -errno. */
int identity_load(struct daemon *d, const struct config *c, char *err, size_t errlen);
void identity_free(struct daemon *d);
