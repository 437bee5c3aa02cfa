/* SPDX-License-Identifier: MIT */
#pragma once

/* Per-user tokens (auth.user_tokens_file): over TCP, where no peer credentials say who is asking,
 * a Bearer token from this file stands for its user, who may then submit jobs (run as that user)
 * and act on that user's tasks. The file holds one "USER TOKEN" pair per line; '#' starts a
 * comment. It is kept apart from the configuration so that the secrets can be readable by root
 * alone while the configuration is not. */

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

#define USER_TOKENS_MAX   1024
#define USER_NAME_MAX     32       /* useradd(8)'s limit */
#define USER_TOKENS_FILE_MAX (256U * 1024U)

struct user_token {
    char user[USER_NAME_MAX + 1];
    char token[CONFIG_STRING_MAX];
};

/* Parses the text of a tokens file into ret (max entries). A user name is 1..32 characters of
 * [A-Za-z0-9._-] (not starting with '-'); a token at least CONFIG_TOKEN_MIN printable characters
 * without spaces. A line with another number of words, a token given twice (it could not tell its
 * users apart), more than max entries or a NUL byte is -EINVAL with "line N: reason" in err. A user
 * may have several tokens. Pure. Returns the number of entries. */
int user_tokens_parse(const char *buf, size_t n, struct user_token *ret, unsigned max, char *err, size_t errlen);
