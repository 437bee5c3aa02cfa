/* SPDX-License-Identifier: MIT */
/* The per-user tokens file: pairs, comments and blank lines, and every malformed line refused
 * with its line number. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include "config/user-tokens.h"

#include <cmocka.h>

static int parse(const char *text, struct user_token *t, unsigned max, char *err)
{
    return user_tokens_parse(text, strlen(text), t, max, err, 128);
}

static void test_good(void **state)
{
    struct user_token t[4];
    char err[128] = "";

    assert_int_equal(parse("# who\n\nalice  secret-alice-1 # her laptop\n\tbob\tbobs-token-xyz\nalice other-alice-2", t, 4,
                           err),
                     3);
    assert_string_equal(t[0].user, "alice");
    assert_string_equal(t[0].token, "secret-alice-1");
    assert_string_equal(t[1].user, "bob");
    assert_string_equal(t[1].token, "bobs-token-xyz");
    assert_string_equal(t[2].token, "other-alice-2");
    assert_int_equal(parse("", t, 4, err), 0);
    assert_int_equal(parse("# nothing\n   \n", t, 4, err), 0);
}

static void test_bad(void **state)
{
    struct user_token t[2];
    char err[128];

    assert_int_equal(parse("alice\n", t, 2, err), -EINVAL);
    assert_string_equal(err, "line 1: expected \"USER TOKEN\"");
    assert_int_equal(parse("ok secret-token-1\nalice a b c\n", t, 2, err), -EINVAL);
    assert_non_null(strstr(err, "line 2"));
    assert_int_equal(parse("alice short\n", t, 2, err), -EINVAL);
    assert_non_null(strstr(err, "characters"));
    assert_int_equal(parse("-alice secret-token-1\n", t, 2, err), -EINVAL);
    assert_int_equal(parse("al/ice secret-token-1\n", t, 2, err), -EINVAL);
    assert_int_equal(parse("abcdefghijklmnopqrstuvwxyz0123456 secret-token-1\n", t, 2, err), -EINVAL);
    assert_int_equal(parse("alice secret-token-1\nbob secret-token-1\n", t, 2, err), -EINVAL);
    assert_non_null(strstr(err, "another line"));
    assert_int_equal(parse("a secret-token-1\nb secret-token-2\nc secret-token-3\n", t, 2, err), -EINVAL);
    assert_non_null(strstr(err, "more than 2"));
    assert_int_equal(parse("alice secret\x7ftoken\n", t, 2, err), -EINVAL);
    char nul[] = "alice secret-token-1\0x";
    assert_int_equal(user_tokens_parse(nul, sizeof(nul) - 1, t, 2, err, sizeof(err)), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
