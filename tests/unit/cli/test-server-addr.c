/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cli/server-addr.h"

/* cmocka.h needs stdarg.h, stddef.h and setjmp.h before it. */
#include <cmocka.h>

static void test_parse_http(void **state)
{
    struct server_addr a;

    assert_int_equal(server_addr_parse("http://127.0.0.1:9329", &a), 0);
    assert_int_equal(a.kind, SERVER_ADDR_HTTP);
    assert_string_equal(a.host, "127.0.0.1");
    assert_int_equal(a.port, 9329);

    assert_int_equal(server_addr_parse("http://localhost", &a), 0);
    assert_string_equal(a.host, "localhost");
    assert_int_equal(a.port, 80);

    assert_int_equal(server_addr_parse("HTTP://box.example.org:8080/", &a), 0);
    assert_string_equal(a.host, "box.example.org");
    assert_int_equal(a.port, 8080);

    assert_int_equal(server_addr_parse("http://[::1]:9329", &a), 0);
    assert_string_equal(a.host, "::1");
    assert_int_equal(a.port, 9329);

    assert_int_equal(server_addr_parse("http://[fe80::1]", &a), 0);
    assert_string_equal(a.host, "fe80::1");
    assert_int_equal(a.port, 80);

    assert_int_equal(server_addr_parse("http://h:1", &a), 0);
    assert_int_equal(a.port, 1);
    assert_int_equal(server_addr_parse("http://h:65535", &a), 0);
    assert_int_equal(a.port, 65535);
}

static void test_parse_unix(void **state)
{
    struct server_addr a;

    assert_int_equal(server_addr_parse("unix:/run/headroom/headroom.sock", &a), 0);
    assert_int_equal(a.kind, SERVER_ADDR_UNIX);
    assert_string_equal(a.socket_path, "/run/headroom/headroom.sock");

    assert_int_equal(server_addr_parse("/tmp/x.sock", &a), 0);
    assert_int_equal(a.kind, SERVER_ADDR_UNIX);
    assert_string_equal(a.socket_path, "/tmp/x.sock");

    /* "unix:" takes a relative path too, the bare form must be absolute. */
    assert_int_equal(server_addr_parse("unix:rel.sock", &a), 0);
    assert_string_equal(a.socket_path, "rel.sock");
    assert_int_equal(server_addr_parse("rel.sock", &a), -EINVAL);

    char longpath[200];
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    assert_int_equal(server_addr_parse(longpath, &a), -ENAMETOOLONG);

    /* 107 bytes plus NUL is the most sun_path holds. */
    char fits[SERVER_ADDR_SOCKET_MAX];
    memset(fits, 'b', sizeof(fits) - 1);
    fits[0] = '/';
    fits[sizeof(fits) - 1] = '\0';
    assert_int_equal(server_addr_parse(fits, &a), 0);
    assert_int_equal(strlen(a.socket_path), SERVER_ADDR_SOCKET_MAX - 1);
}

static void test_parse_bad(void **state)
{
    static const char *const bad[] = {
        "",
        "unix:",
        "ftp://h:21",
        "https://h:443",
        "http://",
        "http://:80",
        "http://h:",
        "http://h:0",
        "http://h:65536",
        "http://h:70000",
        "http://h:-1",
        "http://h:port",
        "http://h:80/v1",
        "http://h:80/?x",
        "http://h:80?x=1",
        "http://h:80#f",
        "http://user@h:80",
        "http://u:p@h:80",
        "http://[::1",
        "http://[::1]x",
        "http://[zz::1]:80",
        "http://[]:80",
        "http://::1:80",
        "http://a b:80",
        "h:80",
        "127.0.0.1:9329",
        "http://h:80:81",
        "http://h:+80",
        "http://h: 80",
    };
    struct server_addr a = { .port = 4242 };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int r = server_addr_parse(bad[i], &a);
        if (r != -EINVAL)
            fail_msg("'%s' gave %d", bad[i], r);
    }
    assert_int_equal(a.port, 4242); /* untouched on failure */
    assert_int_equal(server_addr_parse(NULL, &a), -EINVAL);

    char longhost[300] = "http://";
    memset(longhost + 7, 'a', 280);
    longhost[287] = '\0';
    assert_int_equal(server_addr_parse(longhost, &a), -ENAMETOOLONG);
}

static void test_host_port(void **state)
{
    struct server_addr a;

    assert_int_equal(server_addr_from_host_port("localhost", 9329, &a), 0);
    assert_int_equal(a.kind, SERVER_ADDR_HTTP);
    assert_string_equal(a.host, "localhost");
    assert_int_equal(a.port, 9329);

    assert_int_equal(server_addr_from_host_port("::1", 80, &a), 0);
    assert_string_equal(a.host, "::1");
    assert_int_equal(server_addr_from_host_port("[::1]", 80, &a), 0);
    assert_string_equal(a.host, "::1");

    assert_int_equal(server_addr_from_host_port("h", 0, &a), -EINVAL);
    assert_int_equal(server_addr_from_host_port("h", 65536, &a), -EINVAL);
    assert_int_equal(server_addr_from_host_port("", 80, &a), -EINVAL);
    assert_int_equal(server_addr_from_host_port("a/b", 80, &a), -EINVAL);
    assert_int_equal(server_addr_from_host_port("a@b", 80, &a), -EINVAL);
    assert_int_equal(server_addr_from_host_port(NULL, 80, &a), -EINVAL);
}

static void test_port(void **state)
{
    static const char *const bad[] = {
        "0", "65536", "70000", "-1", "+1", " 1", "1 ", "1x", "", "0x50", "99999999999999999999999"
    };
    unsigned p = 7;

    assert_int_equal(server_port_parse("1", &p), 0);
    assert_int_equal(p, 1);
    assert_int_equal(server_port_parse("65535", &p), 0);
    assert_int_equal(p, 65535);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (server_port_parse(bad[i], &p) != -EINVAL)
            fail_msg("'%s' accepted", bad[i]);
    }
    assert_int_equal(p, 65535);
}

static void test_default_socket(void **state)
{
    char buf[SERVER_ADDR_SOCKET_MAX];
    char longdir[200];

    assert_int_equal(server_default_socket(0, "/run/user/0", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/run/headroom/headroom.sock");
    assert_int_equal(server_default_socket(1000, "/run/user/1000", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/run/user/1000/headroom.sock");
    assert_int_equal(server_default_socket(1000, NULL, buf, sizeof(buf)), -ENOENT);
    assert_int_equal(server_default_socket(1000, "", buf, sizeof(buf)), -ENOENT);
    assert_int_equal(server_state_socket("/home/u/.state", "/home/u", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/home/u/.state/headroom/headroom.sock");
    assert_int_equal(server_state_socket(NULL, "/home/u", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/home/u/.local/state/headroom/headroom.sock");
    assert_int_equal(server_state_socket("relative", "", buf, sizeof(buf)), -ENOENT);
    assert_int_equal(server_default_socket(1000, "run/user", buf, sizeof(buf)), -ENOENT);

    memset(longdir, 'd', sizeof(longdir) - 1);
    longdir[0] = '/';
    longdir[sizeof(longdir) - 1] = '\0';
    assert_int_equal(server_default_socket(1000, longdir, buf, sizeof(buf)), -ENAMETOOLONG);
}

static void test_format(void **state)
{
    struct server_addr a;
    char buf[SERVER_ADDR_STR_MAX];

    assert_int_equal(server_addr_parse("http://[::1]:9329", &a), 0);
    assert_string_equal(server_addr_to_string(&a, buf, sizeof(buf)), "http://[::1]:9329");
    assert_int_equal(server_addr_url(&a, "/v1/ask", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "http://[::1]:9329/v1/ask");

    assert_int_equal(server_addr_parse("http://localhost", &a), 0);
    assert_string_equal(server_addr_to_string(&a, buf, sizeof(buf)), "http://localhost:80");
    assert_int_equal(server_addr_url(&a, "/stats?task=a%20b", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "http://localhost:80/stats?task=a%20b");

    assert_int_equal(server_addr_parse("/run/h.sock", &a), 0);
    assert_string_equal(server_addr_to_string(&a, buf, sizeof(buf)), "unix:/run/h.sock");
    assert_int_equal(server_addr_url(&a, "/status", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "http://localhost/status");

    assert_int_equal(server_addr_url(&a, "status", buf, sizeof(buf)), -EINVAL);
    assert_int_equal(server_addr_url(&a, "/status", buf, 10), -ENOBUFS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_http), cmocka_unit_test(test_parse_unix),
        cmocka_unit_test(test_parse_bad),  cmocka_unit_test(test_host_port),
        cmocka_unit_test(test_port),       cmocka_unit_test(test_default_socket),
        cmocka_unit_test(test_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
