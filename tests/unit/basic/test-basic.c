/* SPDX-License-Identifier: MIT */
/* src/basic: number, size and duration parsing, task names, the capped strbuf, bounded file reads. */

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/parse-util.h"
#include "basic/strbuf.h"
#include "basic/utf8.h"

static void test_parse_size(void **state)
{
    uint64_t v;

    assert_int_equal(parse_size("4096", &v), 0);
    assert_int_equal(v, 4096);
    assert_int_equal(parse_size("512M", &v), 0);
    assert_int_equal(v, 512ULL << 20);
    assert_int_equal(parse_size("8G", &v), 0);
    assert_int_equal(v, 8ULL << 30);
    assert_int_equal(parse_size("1.5GiB", &v), 0);
    assert_int_equal(v, 3ULL << 29);
    assert_int_equal(parse_size("10GB", &v), 0);
    assert_int_equal(v, 10000000000ULL);
    assert_int_equal(parse_size("2 tib", &v), 0);
    assert_int_equal(v, 2ULL << 40);
    assert_int_equal(parse_size("0", &v), 0);
    assert_int_equal(v, 0);

    v = 77;
    assert_int_equal(parse_size("", &v), -EINVAL);
    assert_int_equal(parse_size("-1G", &v), -EINVAL);
    assert_int_equal(parse_size("12Q", &v), -EINVAL);
    assert_int_equal(parse_size("G", &v), -EINVAL);
    assert_int_equal(parse_size("nan", &v), -EINVAL);
    assert_int_equal(parse_size("1e400", &v), -EINVAL);
    assert_int_equal(parse_size("9999999P", &v), -ERANGE);
    assert_int_equal(v, 77); /* untouched on failure */
}

static void test_parse_duration(void **state)
{
    usec_t u;

    assert_int_equal(parse_duration("250ms", &u), 0);
    assert_int_equal(u, 250000);
    assert_int_equal(parse_duration("5", &u), 0);
    assert_int_equal(u, 5 * USEC_PER_SEC);
    assert_int_equal(parse_duration("1.5h", &u), 0);
    assert_int_equal(u, 5400 * USEC_PER_SEC);
    assert_int_equal(parse_duration("2m", &u), 0);
    assert_int_equal(u, 120 * USEC_PER_SEC);
    assert_int_equal(parse_duration("10x", &u), -EINVAL);
    assert_int_equal(parse_duration("-1s", &u), -EINVAL);
}

static void test_safe_ato(void **state)
{
    uint64_t u;
    int64_t i;
    double d;

    assert_int_equal(safe_atou64("18446744073709551615", &u), 0);
    assert_true(u == UINT64_MAX);
    assert_int_equal(safe_atou64("18446744073709551616", &u), -ERANGE);
    assert_int_equal(safe_atou64("-1", &u), -EINVAL);
    assert_int_equal(safe_atou64("12 ", &u), -EINVAL);
    assert_int_equal(safe_atou64(" 12", &u), -EINVAL);
    assert_int_equal(safe_atoi64("-42", &i), 0);
    assert_int_equal(i, -42);
    assert_int_equal(safe_atod("80.5", &d), 0);
    assert_float_equal(d, 80.5, 1e-12);
    assert_int_equal(safe_atod("inf", &d), -EINVAL);
    assert_int_equal(safe_atod("1,5", &d), -EINVAL);
}

static void test_task_names(void **state)
{
    char long_name[TASK_NAME_MAX + 2];

    assert_true(task_name_is_valid("video_encode"));
    assert_true(task_name_is_valid("kodierung-ü 4K"));
    assert_false(task_name_is_valid(""));
    assert_false(task_name_is_valid(NULL));
    assert_false(task_name_is_valid("a\nb"));
    assert_false(task_name_is_valid("a\x7f"));
    memset(long_name, 'x', sizeof(long_name));
    long_name[TASK_NAME_MAX] = '\0';
    assert_true(task_name_is_valid(long_name));
    long_name[TASK_NAME_MAX] = 'x';
    long_name[TASK_NAME_MAX + 1] = '\0';
    assert_false(task_name_is_valid(long_name));
}

static void test_format_bytes(void **state)
{
    char buf[32];

    assert_string_equal(format_bytes(buf, sizeof(buf), 512), "512 B");
    assert_string_equal(format_bytes(buf, sizeof(buf), 8ULL << 30), "8.0 GiB");
    assert_string_equal(format_bytes(buf, sizeof(buf), 1536), "1.5 KiB");
}

static void test_strbuf_cap(void **state)
{
    struct strbuf b;
    size_t len;

    strbuf_init(&b, 10);
    assert_int_equal(strbuf_puts(&b, "12345"), 0);
    assert_int_equal(strbuf_printf(&b, "%d", 6789), 0);
    assert_int_equal(strbuf_puts(&b, "AB"), -E2BIG); /* would be 11 bytes */
    assert_int_equal(strbuf_puts(&b, "C"), -E2BIG);  /* sticky */
    assert_null(strbuf_steal(&b, &len));

    strbuf_init(&b, 4096);
    for (int i = 0; i < 100; i++)
        assert_int_equal(strbuf_printf(&b, "%02d", i), 0);
    char *s = strbuf_steal(&b, &len);
    assert_non_null(s);
    assert_int_equal(len, 200);
    assert_memory_equal(s + 196, "9899", 4);
    free(s);
}

static void test_read_full_virtual_at(void **state)
{
    char dir[] = "/tmp/test-basic.XXXXXX";
    char path[256];
    char *buf = NULL;
    size_t n;

    assert_non_null(mkdtemp(dir));
    int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert_true(dfd >= 0);
    snprintf(path, sizeof(path), "%s/f", dir);
    FILE *f = fopen(path, "we");
    assert_non_null(f);
    for (int i = 0; i < 1000; i++)
        fputs("0123456789", f);
    fclose(f);

    assert_int_equal(read_full_virtual_at(dfd, "/f", 20000, &buf, &n), 0); /* leading '/' is relative */
    assert_int_equal(n, 10000);
    assert_int_equal(buf[n], '\0');
    free(buf);
    assert_int_equal(read_full_virtual_at(dfd, "f", 9999, &buf, &n), -EFBIG);
    assert_int_equal(read_full_virtual_at(dfd, "f", 10000, &buf, &n), 0); /* exactly the cap */
    assert_int_equal(n, 10000);
    free(buf);
    assert_int_equal(read_full_virtual_at(dfd, "missing", 100, &buf, &n), -ENOENT);

    /* A real virtual file that reports size 0. */
    int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert_int_equal(read_full_virtual_at(root, "proc/self/status", READ_VIRTUAL_MAX_BYTES, &buf, &n), 0);
    assert_non_null(strstr(buf, "Name:"));
    free(buf);

    int fd = open_at_root(dfd, "f", O_RDONLY);
    assert_true(fd >= 0);
    char small[16];
    assert_int_equal(pread_virtual(fd, small, sizeof(small)), -ENOBUFS);
    char big[20000];
    assert_int_equal(pread_virtual(fd, big, sizeof(big)), 10000);
    close(fd);
    /* The same by name; an overflow still leaves the prefix, NUL-terminated. */
    memset(small, 'z', sizeof(small));
    assert_int_equal(read_virtual_at(dfd, "f", small, sizeof(small)), -ENOBUFS);
    assert_int_equal(strlen(small), sizeof(small) - 1);
    assert_int_equal(read_virtual_at(dfd, "f", big, sizeof(big)), 10000);
    assert_int_equal(read_virtual_at(dfd, "missing", big, sizeof(big)), -ENOENT);
    assert_true(read_virtual_at(root, "proc/self/stat", big, sizeof(big)) > 0);

    assert_int_equal(write_file_atomic(path, "x\n", 2, 0600), 0);
    assert_int_equal(read_full_virtual_at(dfd, "f", 100, &buf, &n), 0);
    assert_string_equal(buf, "x\n");
    free(buf);

    char deep[300];
    snprintf(deep, sizeof(deep), "%s/a/b/c", dir);
    assert_int_equal(mkdir_p(deep, 0755), 0);
    assert_int_equal(mkdir_p(deep, 0755), 0); /* idempotent */
    struct stat st;
    assert_int_equal(stat(deep, &st), 0);

    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    close(dfd);
    close(root);
}

static void test_utf8(void **state)
{
    uint32_t cp;

    assert_true(utf8_is_valid(""));
    assert_true(utf8_is_valid("plain ascii"));
    assert_true(utf8_is_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
    assert_int_equal(utf8_decode("\xe2\x82\xac", &cp), 3);
    assert_int_equal(cp, 0x20ac);
    assert_int_equal(utf8_decode("\xf4\x8f\xbf\xbf", &cp), 4);
    assert_int_equal(cp, 0x10ffff);
    assert_false(utf8_is_valid("\xc0\xaf"));          /* overlong '/' */
    assert_false(utf8_is_valid("\xe0\x80\xaf"));      /* overlong */
    assert_false(utf8_is_valid("\xed\xa0\x80"));      /* a surrogate */
    assert_false(utf8_is_valid("\xf4\x90\x80\x80"));  /* above U+10FFFF */
    assert_false(utf8_is_valid("\xff"));
    assert_false(utf8_is_valid("ok\xe2\x82"));         /* cut short by the end */
    assert_int_equal(utf8_decode("\xe2\x82", &cp), -EILSEQ);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_parse_duration),
        cmocka_unit_test(test_safe_ato),
        cmocka_unit_test(test_task_names),
        cmocka_unit_test(test_format_bytes),
        cmocka_unit_test(test_strbuf_cap),
        cmocka_unit_test(test_read_full_virtual_at),
        cmocka_unit_test(test_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
