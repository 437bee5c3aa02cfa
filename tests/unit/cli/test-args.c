/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/parse-util.h"
#include "cli/cli.h"
#include "cli/exit-codes.h"
#include "usage-errors.h"

/* cmocka.h needs stdarg.h, stddef.h and setjmp.h before it. */
#include <cmocka.h>

/* A literal argv: "headroom" and the arguments, NULL-terminated. */
#define ARGS(...)            ((const char *[]){ "headroom", __VA_ARGS__, NULL })
#define ARGV(...)            ((char **) ARGS(__VA_ARGS__))
#define ARGC(...)            ((int) (sizeof(ARGS(__VA_ARGS__)) / sizeof(char *)) - 1)
#define PARSE(ret, err, ...) cli_parse_args(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (ret), (err))

static void test_ask_options(void **state)
{
    struct cli_args a;
    char err[CLI_MESSAGE_MAX];

    assert_int_equal(PARSE(&a, err, "ask", "encode", "--cpu", "50", "--mem", "1.5GiB",
                           "--gpu=12.5%", "--vram", "8G", "--disk", "512M", "--complexity", "2.5",
                           "--reason"),
                     0);
    assert_ptr_equal(a.command, &cli_command_ask);
    assert_int_equal(a.n_args, 1);
    assert_string_equal(a.args[0], "encode");
    assert_true(a.needs.has_cpu);
    assert_true(a.needs.cpu_pct > 49.999 && a.needs.cpu_pct < 50.001);
    assert_true(a.needs.has_mem);
    assert_int_equal(a.needs.mem_bytes, 1610612736ULL);
    assert_true(a.needs.has_gpu);
    assert_true(a.needs.gpu_pct > 12.499 && a.needs.gpu_pct < 12.501);
    assert_int_equal(a.needs.vram_bytes, 8589934592ULL);
    assert_int_equal(a.needs.disk_bytes, 536870912ULL);
    assert_true(a.complexity > 2.499 && a.complexity < 2.501);
    assert_true(a.reason);
    assert_false(a.json);
    assert_int_equal(a.timeout_usec, CLI_DEFAULT_TIMEOUT_USEC);

    /* Global options before the command word, values glued to short options. */
    assert_int_equal(PARSE(&a, err, "--json", "-qp9329", "--timeout", "500ms", "ask", "x"), 0);
    assert_ptr_equal(a.command, &cli_command_ask);
    assert_true(a.json);
    assert_true(a.quiet);
    assert_int_equal(a.port, 9329);
    assert_int_equal(a.timeout_usec, 500 * USEC_PER_MSEC);
    assert_false(a.needs.has_cpu);

    /* Options between arguments, and "--" for a task that looks like an option. */
    assert_int_equal(PARSE(&a, err, "ask", "--cpu", "5", "--json", "--", "-weird"), 0);
    assert_int_equal(a.n_args, 1);
    assert_string_equal(a.args[0], "-weird");
    assert_true(a.json);
    /* After "--" nothing is an option any more. */
    assert_int_equal(PARSE(&a, err, "ask", "--", "-weird", "--json"), -EINVAL);
    assert_string_equal(err, "too many arguments for 'ask'");
    assert_false(a.json);
    assert_int_equal(PARSE(&a, err, "ask", "-", "--complexity=0"), 0);
    assert_string_equal(a.args[0], "-");
}

static void test_connection_options(void **state)
{
    struct cli_args a;
    char err[CLI_MESSAGE_MAX];

    assert_int_equal(
            PARSE(&a, err, "status", "--server", "unix:/run/x.sock", "--token", "abcdefgh"), 0);
    assert_true(a.has_server);
    assert_int_equal(a.server.kind, SERVER_ADDR_UNIX);
    assert_string_equal(a.server.socket_path, "/run/x.sock");
    assert_string_equal(a.token, "abcdefgh");

    assert_int_equal(PARSE(&a, err, "stats", "my task", "--host", "::1", "-p", "80", "--user", "u",
                           "--password", "p"),
                     0);
    assert_ptr_equal(a.command, &cli_command_stats);
    assert_string_equal(a.args[0], "my task");
    assert_string_equal(a.host, "::1");
    assert_int_equal(a.port, 80);

    assert_int_equal(PARSE(&a, err, "stats"), 0);
    assert_int_equal(a.n_args, 0);
}

static void test_predict_options(void **state)
{
    struct cli_args a;
    char err[CLI_MESSAGE_MAX];

    assert_int_equal(PARSE(&a, err, "predict", "encode"), 0);
    assert_ptr_equal(a.command, &cli_command_predict);
    assert_int_equal(a.n_args, 1);
    assert_string_equal(a.args[0], "encode");
    assert_false(a.complexity > 0); /* the default is 0 */
    assert_false(a.json);

    assert_int_equal(PARSE(&a, err, "--server", "unix:/run/h.sock", "predict", "--complexity",
                           "1080", "my task", "--json", "-q"),
                     0);
    assert_ptr_equal(a.command, &cli_command_predict);
    assert_string_equal(a.args[0], "my task");
    assert_true(a.complexity > 1079.999 && a.complexity < 1080.001);
    assert_true(a.json);
    assert_true(a.quiet);
    assert_true(a.has_server);

    /* The limits themselves are accepted. */
    assert_int_equal(PARSE(&a, err, "predict", "x", "--complexity=1e15"), 0);
    assert_true(a.complexity > 0.999e15 && a.complexity < 1.001e15);
    assert_int_equal(PARSE(&a, err, "predict", "x", "--complexity", "0.25"), 0);
    assert_true(a.complexity > 0.2499 && a.complexity < 0.2501);
    assert_int_equal(PARSE(&a, err, "predict", "--", "-x"), 0);
    assert_string_equal(a.args[0], "-x");

    /* Listed in the help, with its option. */
    assert_ptr_equal(cli_command_find("predict"), &cli_command_predict);
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);
    assert_non_null(f);
    cli_help(NULL, f);
    cli_help(&cli_command_predict, f);
    assert_int_equal(fclose(f), 0);
    assert_non_null(strstr(out, "\n  predict TASK [OPTIONS]   what TASK is expected to use"));
    assert_non_null(strstr(out, "Usage: headroom predict TASK [OPTIONS]\n"));
    assert_non_null(strstr(out, "      --complexity N      how heavy this run is, 0 to 1e15"));
    assert_non_null(strstr(out, "      --server URL"));
    free(out);
}

static void test_other_commands(void **state)
{
    struct cli_args a;
    char err[CLI_MESSAGE_MAX];

    assert_int_equal(PARSE(&a, err, "config", "--validate", "/etc/headroom.yaml", "--json"), 0);
    assert_ptr_equal(a.command, &cli_command_config);
    assert_true(a.validate);
    assert_string_equal(a.args[0], "/etc/headroom.yaml");
    assert_int_equal(PARSE(&a, err, "-c", "/x.yaml", "config"), 0);
    assert_string_equal(a.config_path, "/x.yaml");

    /* serve gets everything after its word, untouched, even options we do not know. */
    assert_int_equal(PARSE(&a, err, "serve", "--listen", "127.0.0.1:0", "--json", "--bogus"), 0);
    assert_ptr_equal(a.command, &cli_command_serve);
    assert_int_equal(a.raw_argc, 5);
    assert_string_equal(a.raw_argv[0], "serve");
    assert_string_equal(a.raw_argv[4], "--bogus");

    assert_int_equal(PARSE(&a, err, "--help"), 0);
    assert_true(a.help);
    assert_null(a.command);
    assert_int_equal(PARSE(&a, err, "ask", "--help"), 0); /* help needs no TASK */
    assert_true(a.help);
    assert_ptr_equal(a.command, &cli_command_ask);
    assert_int_equal(PARSE(&a, err, "--version"), 0);
    assert_true(a.version);
    assert_int_equal(PARSE(&a, err, "help", "ask"), 0);
    assert_ptr_equal(a.command, &cli_command_help);
    assert_int_equal(PARSE(&a, err, "version", "--json"), 0);
    assert_ptr_equal(a.command, &cli_command_version);
}

static const struct bad_case bad_cases[] = {
    { { NULL }, "no command given" },
    { { "--json", NULL }, "no command given" },
    { { "frobnicate", NULL }, "unknown command 'frobnicate'" },
    { { "ask", NULL }, "missing TASK" },
    { { "notify", "--complexity", "1", NULL }, "missing TASK" },
    { { "ask", "a", "b", NULL }, "too many arguments for 'ask'" },
    { { "status", "extra", NULL }, "too many arguments for 'status'" },
    { { "ask", "x", "--bogus", NULL }, "unrecognized option '--bogus'" },
    { { "ask", "x", "-z", NULL }, "invalid option -- 'z'" },
    { { "ask", "x", "--mem", "12Q", NULL },
      "invalid --mem '12Q': expected a size such as 512M, 8G or 1.5GiB" },
    { { "ask", "x", "--vram", "-1G", NULL },
      "invalid --vram '-1G': expected a size such as 512M, 8G or 1.5GiB" },
    { { "ask", "x", "--complexity", "-1", NULL },
      "invalid --complexity '-1': must be a number from 0 to 1e15" },
    { { "ask", "x", "--complexity", "nan", NULL },
      "invalid --complexity 'nan': must be a number from 0 to 1e15" },
    { { "ask", "x", "--complexity", "inf", NULL },
      "invalid --complexity 'inf': must be a number from 0 to 1e15" },
    { { "ask", "x", "--cpu", "150", NULL },
      "invalid --cpu '150': must be a percentage of the whole machine, 0-100" },
    { { "ask", "x", "--gpu", "-5", NULL },
      "invalid --gpu '-5': must be a percentage of one GPU, 0-100" },
    { { "ask", "x", "--cpu", NULL }, "option '--cpu' requires an argument" },
    { { "ask", "x", "--json=yes", NULL }, "option '--json' doesn't allow an argument" },
    { { "status", "--port", "70000", NULL }, "invalid --port '70000': must be 1-65535" },
    { { "status", "-p", "0", NULL }, "invalid --port '0': must be 1-65535" },
    { { "status", "-p", NULL }, "option '-p' requires an argument" },
    { { "status", "--server", "ftp://x", NULL },
      "invalid --server 'ftp://x': expected http://HOST:PORT, unix:/PATH or /PATH" },
    { { "status", "--host", "a b", NULL }, "invalid --host 'a b'" },
    { { "status", "--timeout", "0", NULL },
      "invalid --timeout '0': expected a duration such as 500ms, 10s or 2m" },
    { { "status", "--timeout", "soon", NULL },
      "invalid --timeout 'soon': expected a duration such as 500ms, 10s or 2m" },
    { { "status", "--token", "", NULL }, "--token must not be empty" },
    { { "status", "--user", "a:b", NULL },
      "invalid --user: HTTP Basic user names cannot contain ':'" },
    { { "status", "--cpu", "5", NULL }, "option '--cpu' does not apply to 'status'" },
    { { "--validate", "ask", "x", NULL }, "option '--validate' does not apply to 'ask'" },
    { { "config", "--server", "/x", NULL }, "option '--server' does not apply to 'config'" },
    { { "notify", "x", "--mem", "1G", NULL }, "option '--mem' does not apply to 'notify'" },
    { { "status", "--server", "/x", "--port", "1", NULL },
      "--server cannot be combined with --host or --port" },
    { { "status", "--token", "t", "--user", "u", NULL },
      "--token cannot be combined with --user/--password" },
    { { "--json", "serve", NULL }, "options must come after 'serve'" },
    { { "ask", "", NULL },
      "invalid task name: it must be 1-128 bytes of UTF-8 without control characters" },
    { { "ask", "tab\there", NULL },
      "invalid task name: it must be 1-128 bytes of UTF-8 without control characters" },
    { { "stats", "new\nline", NULL },
      "invalid task name: it must be 1-128 bytes of UTF-8 without control characters" },
    { { "ask", "\xff", NULL },
      "invalid task name: it must be 1-128 bytes of UTF-8 without control characters" },
    { { "help", "a", "b", NULL }, "too many arguments for 'help'" },
    { { "ask", "x", "--complexity", "1e16", NULL },
      "invalid --complexity '1e16': must be a number from 0 to 1e15" },
    { { "predict", NULL }, "missing TASK" },
    { { "predict", "--complexity", "5", "--json", NULL }, "missing TASK" },
    { { "predict", "a", "b", NULL }, "too many arguments for 'predict'" },
    { { "predict", "a", "--", "--json", NULL }, "too many arguments for 'predict'" },
    { { "predict", "x", "--complexity", "-0.5", NULL },
      "invalid --complexity '-0.5': must be a number from 0 to 1e15" },
    { { "predict", "x", "--complexity", "1000000000000001", NULL },
      "invalid --complexity '1000000000000001': must be a number from 0 to 1e15" },
    { { "predict", "x", "--complexity", "1e999", NULL },
      "invalid --complexity '1e999': must be a number from 0 to 1e15" },
    { { "predict", "x", "--complexity=NaN", NULL },
      "invalid --complexity 'NaN': must be a number from 0 to 1e15" },
    { { "predict", "x", "--complexity", "12abc", NULL },
      "invalid --complexity '12abc': must be a number from 0 to 1e15" },
    { { "predict", "x", "--complexity", "", NULL },
      "invalid --complexity '': must be a number from 0 to 1e15" },
    { { "predict", "x", "--complexity", NULL }, "option '--complexity' requires an argument" },
    { { "predict", "x", "--cpu", "5", NULL }, "option '--cpu' does not apply to 'predict'" },
    { { "predict", "x", "--mem", "1G", NULL }, "option '--mem' does not apply to 'predict'" },
    { { "predict", "new\nline", NULL },
      "invalid task name: it must be 1-128 bytes of UTF-8 without control characters" },
    { { "stats", "x", "--complexity", "1", NULL },
      "option '--complexity' does not apply to 'stats'" },
};

static void test_usage_errors(void **state)
{
    check_usage_errors(bad_cases, ELEMENTSOF(bad_cases));
}

static void test_long_task_name(void **state)
{
    char name[TASK_NAME_MAX + 2];
    struct cli_args a;
    char err[CLI_MESSAGE_MAX];

    memset(name, 'n', TASK_NAME_MAX);
    name[TASK_NAME_MAX] = '\0';
    assert_int_equal(PARSE(&a, err, "ask", name), 0);
    name[TASK_NAME_MAX] = 'n';
    name[TASK_NAME_MAX + 1] = '\0';
    assert_int_equal(PARSE(&a, err, "ask", name), -EINVAL);
}

/* cli_main() turns every usage error into exit status 2, before any network access. */
static void test_main_exit_2(void **state)
{
    check_main_exit_2(bad_cases, ELEMENTSOF(bad_cases));
    /* So is an unknown command given to "help". */
    assert_int_equal(cli_main_quiet(ARGC("help", "nope"), ARGV("help", "nope")), CLI_EXIT_USAGE);
}

static void test_resolve(void **state)
{
    struct cli_args a;
    struct http_client c;
    char err[CLI_MESSAGE_MAX];

    /* Nothing given, no socket: the TCP default. */
    assert_int_equal(PARSE(&a, err, "status"), 0);
    assert_int_equal(
            cli_resolve_client(&a, NULL, NULL, "/run/headroom/headroom.sock", false, &c, err), 0);
    assert_int_equal(c.server.kind, SERVER_ADDR_HTTP);
    assert_string_equal(c.server.host, "127.0.0.1");
    assert_int_equal(c.server.port, 9329);
    assert_null(c.token);
    assert_null(c.user);
    assert_int_equal(c.timeout_usec, 10 * USEC_PER_SEC);

    /* The default socket when it exists. */
    assert_int_equal(cli_resolve_client(&a, "", NULL, "/run/headroom/headroom.sock", true, &c, err),
                     0);
    assert_int_equal(c.server.kind, SERVER_ADDR_UNIX);
    assert_string_equal(c.server.socket_path, "/run/headroom/headroom.sock");

    /* $HEADROOM_SERVER beats the socket; a bad one is an error. */
    assert_int_equal(cli_resolve_client(&a, "http://10.0.0.1:1234", "tok", "/s", true, &c, err), 0);
    assert_int_equal(c.server.kind, SERVER_ADDR_HTTP);
    assert_string_equal(c.server.host, "10.0.0.1");
    assert_int_equal(c.server.port, 1234);
    assert_string_equal(c.token, "tok");
    assert_int_equal(cli_resolve_client(&a, "nonsense", NULL, NULL, false, &c, err), -EINVAL);
    assert_string_equal(
            err,
            "invalid $HEADROOM_SERVER 'nonsense': expected http://HOST:PORT, unix:/PATH or /PATH");

    /* --port alone: loopback; --host alone: port 9329; both beat the environment. */
    assert_int_equal(PARSE(&a, err, "status", "-p", "4000"), 0);
    assert_int_equal(cli_resolve_client(&a, "/env.sock", NULL, NULL, false, &c, err), 0);
    assert_string_equal(c.server.host, "127.0.0.1");
    assert_int_equal(c.server.port, 4000);
    assert_int_equal(PARSE(&a, err, "status", "--host", "box"), 0);
    assert_int_equal(cli_resolve_client(&a, "/env.sock", NULL, NULL, false, &c, err), 0);
    assert_string_equal(c.server.host, "box");
    assert_int_equal(c.server.port, 9329);

    /* --server beats everything; --token beats $HEADROOM_TOKEN. */
    assert_int_equal(PARSE(&a, err, "status", "--server", "/mine.sock", "--token", "flag",
                           "--timeout", "2s"),
                     0);
    assert_int_equal(cli_resolve_client(&a, "http://h:1", "env", "/s", true, &c, err), 0);
    assert_string_equal(c.server.socket_path, "/mine.sock");
    assert_string_equal(c.token, "flag");
    assert_int_equal(c.timeout_usec, 2 * USEC_PER_SEC);

    /* Basic auth only with both halves; explicit Basic credentials win over the env token. */
    assert_int_equal(PARSE(&a, err, "status", "--user", "u", "--password", "p"), 0);
    assert_int_equal(cli_resolve_client(&a, NULL, "env", NULL, false, &c, err), 0);
    assert_null(c.token);
    assert_string_equal(c.user, "u");
    assert_string_equal(c.password, "p");
    assert_int_equal(PARSE(&a, err, "status", "--user", "u"), 0);
    assert_int_equal(cli_resolve_client(&a, NULL, "env", NULL, false, &c, err), 0);
    assert_null(c.user);
    assert_null(c.password);
    assert_null(c.token);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ask_options),    cmocka_unit_test(test_connection_options),
        cmocka_unit_test(test_other_commands), cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_long_task_name), cmocka_unit_test(test_main_exit_2),
        cmocka_unit_test(test_resolve),        cmocka_unit_test(test_predict_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
