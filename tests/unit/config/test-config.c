/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/macro.h"
#include "config/config.h"
#include "config/env-expand.h"

/* cmocka.h needs stdarg.h, stddef.h and setjmp.h before it. */
#include <cmocka.h>

/* snprintf that must not truncate (and whose checked result keeps gcc's truncation warning
 * quiet). */
#define SNPRINTF(buf, ...) \
    assert_in_range(snprintf((buf), sizeof(buf), __VA_ARGS__), 0, sizeof(buf) - 1)

static char tmp_dir[PATH_MAX];
static const char *fixtures;

/* ---- helpers ----------------------------------------------------------------------------------
 */

static int parse(const char *yaml, struct config *c, char *err)
{
    return config_parse_yaml(yaml, strlen(yaml), "test.yaml", c, err);
}

/* Parses yaml and expects success; returns the config for further checks. */
static void parse_ok(const char *yaml, struct config *c)
{
    char err[CONFIG_ERROR_MAX] = "";
    int r = parse(yaml, c, err);
    if (r < 0)
        fail_msg("unexpected failure %d for:\n%s\nerror: %s", r, yaml, err);
}

/* Parses yaml and expects -EINVAL with exactly the message expected. */
static void parse_fails(const char *yaml, const char *expected)
{
    struct config c;
    char err[CONFIG_ERROR_MAX] = "";

    config_init_defaults(&c);
    c.server.port = 4242; /* a sentinel: *ret must stay untouched on failure */
    int r = parse(yaml, &c, err);
    if (r != -EINVAL)
        fail_msg("expected -EINVAL, got %d for:\n%s\nerror: %s", r, yaml, err);
    assert_string_equal(err, expected);
    assert_int_equal(c.server.port, 4242);
}

static const char *fixture(const char *name)
{
    static char path[PATH_MAX];
    SNPRINTF(path, "%s/config/%s", fixtures, name);
    return path;
}

static const char *write_tmp(const char *name, const char *data, size_t len)
{
    static char path[PATH_MAX];
    SNPRINTF(path, "%s/%s", tmp_dir, name);
    FILE *f = fopen(path, "we");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return path;
}

/* The dump as a string, owned by the caller. */
static char *dump(const struct config *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    config_dump_yaml(c, f);
    assert_false(ferror(f));
    assert_int_equal(fclose(f), 0);
    return buf;
}

static void assert_close(double a, double b)
{
    if (fabs(a - b) > 1e-9)
        fail_msg("%.17g != %.17g", a, b);
}

/* ---- defaults and empty input -----------------------------------------------------------------
 */

static void test_defaults(void **state)
{
    struct config a, b;
    char err[CONFIG_ERROR_MAX];

    config_init_defaults(&a);
    assert_string_equal(a.server.host, "127.0.0.1");
    assert_int_equal(a.server.port, 9329);
    assert_int_equal(a.server.max_connections, 256);
    assert_int_equal(a.server.connection_timeout_sec, 60);
    assert_int_equal(a.server.max_body_bytes, 1048576);
    assert_string_equal(a.server.socket_path, "");
    assert_int_equal(a.server.socket_mode, 0660);
    assert_false(a.auth.enabled);
    assert_close(a.thresholds.cpu_max_pct, 80);
    assert_close(a.thresholds.memory_max_pct, 85);
    assert_close(a.thresholds.memory_max_pressure_pct, 20);
    assert_close(a.thresholds.gpu_max_pct, 90);
    assert_close(a.thresholds.vram_max_pct, 85);
    assert_close(a.thresholds.storage_min_free_gb, 10);
    assert_int_equal(a.monitoring.interval_ms, 1000);
    assert_int_equal(a.monitoring.smoothing_samples, 5);
    assert_int_equal(a.monitoring.history_samples, 600);
    assert_int_equal(a.monitoring.n_paths, 1);
    assert_string_equal(a.monitoring.paths[0], "/");
    assert_true(a.monitoring.gpu);
    assert_int_equal(a.learning.observation_delay_sec, 5);
    assert_int_equal(a.learning.max_pending, 1024);
    assert_int_equal(a.learning.max_task_types, 10000);
    assert_int_equal(a.learning.observations_per_task, 1000);
    assert_string_equal(a.persistence.data_dir, "");
    assert_string_equal(a.logging.level, "info");
    assert_string_equal(a.logging.format, "text");
    assert_false(a.debug.enabled);
    assert_string_equal(a.debug.token, "");
    assert_int_equal(a.n_warnings, 0);
    assert_int_equal(config_validate(&a, err), 0);

    /* Every byte is written, so two default configs compare equal. */
    memset(&b, 0xaa, sizeof(b));
    config_init_defaults(&b);
    assert_memory_equal(&a, &b, sizeof(a));
}

static void test_empty_files(void **state)
{
    struct config def, c;
    char err[CONFIG_ERROR_MAX];

    config_init_defaults(&def);

    /* An empty file, a comment-only file and an empty document all give the defaults. */
    memset(&c, 0x55, sizeof(c));
    assert_int_equal(config_load_file(fixture("empty.yaml"), &c, err), 0);
    assert_memory_equal(&c, &def, sizeof(c));

    memset(&c, 0x55, sizeof(c));
    assert_int_equal(config_load_file(fixture("comments-only.yaml"), &c, err), 0);
    assert_memory_equal(&c, &def, sizeof(c));

    memset(&c, 0x55, sizeof(c));
    parse_ok("---\n", &c);
    assert_memory_equal(&c, &def, sizeof(c));

    memset(&c, 0x55, sizeof(c));
    assert_int_equal(config_parse_yaml(NULL, 0, "none", &c, err), 0);
    assert_memory_equal(&c, &def, sizeof(c));

    /* An empty section is the same as an absent one. */
    parse_ok("auth:\nserver: ~\n", &c);
    assert_memory_equal(&c, &def, sizeof(c));
}

/* ---- capfox 6.2 case 23: validation ---------------------------------------------------------- */

static void test_ports(void **state)
{
    struct config c;

    parse_fails("server:\n  port: 0\n",
                "test.yaml:2:9: server.port: must be between 1 and 65535, got 0");
    parse_fails("server:\n  port: -1\n",
                "test.yaml:2:9: server.port: must be between 1 and 65535, got -1");
    parse_fails("server:\n  port: 65536\n",
                "test.yaml:2:9: server.port: must be between 1 and 65535, got 65536");
    parse_fails("server:\n  port: 99999999999999999999999\n",
                "test.yaml:2:9: server.port: must be between 1 and 65535, got "
                "99999999999999999999999");

    parse_ok("server:\n  port: 1\n", &c);
    assert_int_equal(c.server.port, 1);
    parse_ok("server:\n  port: 8080\n", &c);
    assert_int_equal(c.server.port, 8080);
    parse_ok("server:\n  port: 65535\n", &c);
    assert_int_equal(c.server.port, 65535);

    /* Integers reject fractions; numbers must not be quoted. */
    parse_fails("server:\n  port: 1.5\n",
                "test.yaml:2:9: server.port: expected an integer, got '1.5'");
    parse_fails("server:\n  port: \"8080\"\n",
                "test.yaml:2:9: server.port: expected an integer, got a quoted string '8080'");
    parse_fails("server:\n  port: 0x50\n",
                "test.yaml:2:9: server.port: expected an integer, got '0x50'");
    parse_fails("server:\n  port:\n",
                "test.yaml:2:8: server.port: expected an integer, got an empty value");
    parse_fails("server:\n  port: [1]\n",
                "test.yaml:2:9: server.port: expected an integer, got a list");
}

static void test_thresholds(void **state)
{
    struct config c;

    parse_fails("thresholds:\n  cpu:\n    max_percent: 101\n",
                "test.yaml:3:18: thresholds.cpu.max_percent: must be between 0 and 100, got 101");
    parse_fails("thresholds:\n  cpu:\n    max_percent: -1\n",
                "test.yaml:3:18: thresholds.cpu.max_percent: must be between 0 and 100, got -1");
    parse_fails("thresholds:\n  memory:\n    max_percent: 150\n",
                "test.yaml:3:18: thresholds.memory.max_percent: must be between 0 and 100, "
                "got 150");
    parse_fails("thresholds:\n  storage:\n    min_free_gb: -5\n",
                "test.yaml:3:18: thresholds.storage.min_free_gb: must be at least 0, got -5");
    parse_fails("thresholds:\n  cpu:\n    max_percent: abc\n",
                "test.yaml:3:18: thresholds.cpu.max_percent: expected a number, got 'abc'");
    parse_fails("thresholds:\n  cpu:\n    max_percent: .nan\n",
                "test.yaml:3:18: thresholds.cpu.max_percent: expected a number, got '.nan'");
    parse_fails("thresholds:\n  gpu:\n    max_percent: 1e999\n",
                "test.yaml:3:18: thresholds.gpu.max_percent: number out of range, got '1e999'");
    parse_fails("thresholds:\n  vram:\n    max_percent: 100.5\n",
                "test.yaml:3:18: thresholds.vram.max_percent: must be between 0 and 100, "
                "got 100.5");

    parse_ok(
            "thresholds:\n  cpu:\n    max_percent: 0\n  memory:\n    max_percent: 100\n"
            "    max_pressure: 12.5\n  storage:\n    min_free_gb: 0\n",
            &c);
    assert_close(c.thresholds.cpu_max_pct, 0);
    assert_close(c.thresholds.memory_max_pct, 100);
    assert_close(c.thresholds.memory_max_pressure_pct, 12.5);
    assert_close(c.thresholds.storage_min_free_gb, 0);
    /* An integer is a fine number. */
    parse_ok("thresholds:\n  cpu:\n    max_percent: 70\n", &c);
    assert_close(c.thresholds.cpu_max_pct, 70);
}

static void test_monitoring(void **state)
{
    struct config c;

    parse_fails("monitoring:\n  interval_ms: 99\n",
                "test.yaml:2:16: monitoring.interval_ms: must be between 100 and 3600000, got 99");
    parse_fails("monitoring:\n  interval_ms: 0\n",
                "test.yaml:2:16: monitoring.interval_ms: must be between 100 and 3600000, got 0");
    parse_ok("monitoring:\n  interval_ms: 100\n", &c);
    assert_int_equal(c.monitoring.interval_ms, 100);

    parse_fails("monitoring:\n  smoothing_samples: 0\n",
                "test.yaml:2:22: monitoring.smoothing_samples: must be between 1 and 600, got 0");
    parse_fails("monitoring:\n  smoothing_samples: 601\n",
                "test.yaml:2:22: monitoring.smoothing_samples: must be between 1 and 600, "
                "got 601");
    parse_fails("monitoring:\n  history_samples: 86401\n",
                "test.yaml:2:20: monitoring.history_samples: must be between 1 and 86400, "
                "got 86401");
    /* A rule across keys: no position, the file name and both values. */
    parse_fails("monitoring:\n  smoothing_samples: 10\n  history_samples: 5\n",
                "test.yaml: monitoring.history_samples: must be at least "
                "monitoring.smoothing_samples (10), got 5");
    parse_ok("monitoring:\n  smoothing_samples: 10\n  history_samples: 10\n  gpu: false\n", &c);
    assert_int_equal(c.monitoring.history_samples, 10);
    assert_false(c.monitoring.gpu);
}

static void test_enums_and_learning(void **state)
{
    struct config c;

    parse_fails("logging:\n  level: invalid\n",
                "test.yaml:2:10: logging.level: invalid value 'invalid' (valid: debug, info, "
                "warn, error)");
    parse_fails("logging:\n  format: invalid\n",
                "test.yaml:2:11: logging.format: invalid value 'invalid' (valid: text, json)");
    parse_fails("logging:\n  level: a-very-long-level-name-that-does-not-fit\n",
                "test.yaml:2:10: logging.level: invalid value "
                "'a-very-long-level-name-that-does-not-fit' (valid: debug, info, warn, error)");
    parse_fails("learning:\n  model: invalid_model\n",
                "test.yaml:2:10: learning.model: invalid value 'invalid_model' (valid: "
                "ewls, moving_average, linear, linear_regression)");
    parse_fails("learning:\n  lambda: 0.2\n",
                "test.yaml:2:11: learning.lambda: must be between 0.5 and 1, got 0.2");
    parse_fails("learning:\n  margin_factor: 0.9\n",
                "test.yaml:2:18: learning.margin_factor: must be between 1 and 10, got 0.9");
    parse_fails("admission:\n  lease_seconds: 0\n",
                "test.yaml:2:18: admission.lease_seconds: must be between 1 and 86400, got 0");
    parse_fails("admission:\n  reserve_on_ask_second: 5\n",
                "test.yaml:2:3: unknown key 'reserve_on_ask_second' in admission; did you mean "
                "'reserve_on_ask_seconds'?");
    {
        struct config lc;
        char err[CONFIG_ERROR_MAX];
        static const char doc[] = "learning:\n  model: linear_regression\n  lambda: 0.9\n"
                                  "  min_observations: 3\nadmission:\n  reserve_on_ask_seconds: 30\n"
                                  "  reserve_unknown: false\n";
        assert_int_equal(config_parse_yaml(doc, strlen(doc), "test.yaml", &lc, err), 0);
        assert_string_equal(lc.learning.model, "linear_regression");
        assert_close(lc.learning.lambda, 0.9);
        assert_int_equal(lc.learning.min_observations, 3);
        assert_int_equal(lc.admission.reserve_on_ask_sec, 30);
        assert_false(lc.admission.reserve_unknown);
        assert_int_equal(lc.admission.lease_sec, 60);
        assert_close(lc.learning.quantile, 0.95);
    }
    parse_fails("learning:\n  observation_delay_sec: 0\n",
                "test.yaml:2:26: learning.observation_delay_sec: must be between 1 and 3600, "
                "got 0");
    parse_fails("persistence:\n  flush_interval_sec: 0\n",
                "test.yaml:2:23: persistence.flush_interval_sec: must be at least 1, got 0");

    parse_ok(
            "logging:\n  level: warn\n  format: json\nlearning:\n  observation_delay_sec: 3600\n"
            "  max_pending: 65536\n",
            &c);
    assert_string_equal(c.logging.level, "warn");
    assert_string_equal(c.logging.format, "json");
    assert_int_equal(c.learning.observation_delay_sec, 3600);
    assert_int_equal(c.learning.max_pending, 65536);
}

static void test_auth_rules(void **state)
{
    struct config c;

    parse_fails("auth:\n  enabled: true\n  password: secret\n",
                "test.yaml: auth.user cannot be empty when auth is enabled");
    parse_fails("auth:\n  enabled: true\n  user: admin\n",
                "test.yaml: auth.password cannot be empty when auth is enabled");
    parse_fails("auth:\n  enabled: true\n",
                "test.yaml: auth.user cannot be empty when auth is enabled");
    parse_ok("auth:\n  enabled: true\n  user: admin\n  password: secret\n", &c);
    assert_true(c.auth.enabled);
    assert_string_equal(c.auth.user, "admin");
    assert_string_equal(c.auth.password, "secret");

    /* Credentials without auth.enabled are kept but not required. */
    parse_ok("auth:\n  user: admin\n", &c);
    assert_false(c.auth.enabled);

    /* Tokens: at least CONFIG_TOKEN_MIN characters, and never echoed. */
    parse_fails("auth:\n  token: short77\n",
                "test.yaml:2:10: auth.token: must be at least 8 characters long, got 7");
    parse_ok("auth:\n  token: eight888\n", &c);
    assert_string_equal(c.auth.token, "eight888");
}

static void test_debug_rules(void **state)
{
    struct config c;

    parse_fails("debug:\n  enabled: true\n", "test.yaml: debug.enabled requires debug.auth.token");
    /* capfox lets auth.enabled stand in for the token; headroom's endpoint is Bearer-only. */
    parse_fails("auth:\n  enabled: true\n  user: a\n  password: b\ndebug:\n  enabled: true\n",
                "test.yaml: debug.enabled requires debug.auth.token");
    parse_fails("debug:\n  enabled: true\n  auth:\n    token: abc\n",
                "test.yaml:4:12: debug.auth.token: must be at least 8 characters long, got 3");
    parse_ok("debug:\n  enabled: true\n  auth:\n    token: secret-debug-token\n", &c);
    assert_true(c.debug.enabled);
    assert_string_equal(c.debug.token, "secret-debug-token");
    /* A token alone is fine. */
    parse_ok("debug:\n  auth:\n    token: secret-debug-token\n", &c);
    assert_false(c.debug.enabled);
}

static void test_booleans(void **state)
{
    static const struct {
        const char *text;
        bool value;
    } cases[] = {
        { "true", true },   { "TRUE", true },   { "yes", true }, { "On", true },
        { "false", false }, { "False", false }, { "no", false }, { "OFF", false },
    };
    struct config c;
    char yaml[128];

    for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
        SNPRINTF(yaml, "monitoring:\n  gpu: %s\n", cases[i].text);
        parse_ok(yaml, &c);
        assert_int_equal(c.monitoring.gpu, cases[i].value);
    }
    parse_fails("monitoring:\n  gpu: maybe\n",
                "test.yaml:2:8: monitoring.gpu: expected a boolean (true or false), got 'maybe'");
    parse_fails("monitoring:\n  gpu: 1\n",
                "test.yaml:2:8: monitoring.gpu: expected a boolean (true or false), got '1'");
    parse_fails("monitoring:\n  gpu: \"true\"\n",
                "test.yaml:2:8: monitoring.gpu: expected a boolean (true or false), got a quoted "
                "string 'true'");
}

static void test_server_values(void **state)
{
    struct config c;

    parse_ok("server:\n  max_body_bytes: 1MiB\n", &c);
    assert_int_equal(c.server.max_body_bytes, 1048576);
    parse_ok("server:\n  max_body_bytes: \"64 KiB\"\n", &c);
    assert_int_equal(c.server.max_body_bytes, 65536);
    parse_ok("server:\n  max_body_bytes: 2048\n", &c);
    assert_int_equal(c.server.max_body_bytes, 2048);
    parse_fails("server:\n  max_body_bytes: 512\n",
                "test.yaml:2:19: server.max_body_bytes: must be between 1024 and 16777216, "
                "got 512");
    parse_fails("server:\n  max_body_bytes: 32MiB\n",
                "test.yaml:2:19: server.max_body_bytes: must be between 1024 and 16777216, "
                "got 32MiB");
    parse_fails("server:\n  max_body_bytes: lots\n",
                "test.yaml:2:19: server.max_body_bytes: expected a size in bytes, such as "
                "1048576 or 1MiB, got 'lots'");

    /* socket_mode is octal however it is written. */
    parse_ok("server:\n  socket_mode: 0640\n", &c);
    assert_int_equal(c.server.socket_mode, 0640);
    parse_ok("server:\n  socket_mode: \"0600\"\n", &c);
    assert_int_equal(c.server.socket_mode, 0600);
    parse_ok("server:\n  socket_mode: 0o770\n", &c);
    assert_int_equal(c.server.socket_mode, 0770);
    parse_ok("server:\n  socket_mode: 660\n", &c);
    assert_int_equal(c.server.socket_mode, 0660);
    parse_fails("server:\n  socket_mode: \"0990\"\n",
                "test.yaml:2:16: server.socket_mode: expected an octal file mode, such as "
                "\"0660\", got '0990'");
    parse_fails("server:\n  socket_mode: 01777\n",
                "test.yaml:2:16: server.socket_mode: must be at most 0777, got 01777");

    parse_ok("server:\n  host: \"::1\"\n  socket: /run/headroom.sock\n", &c);
    assert_string_equal(c.server.host, "::1");
    assert_string_equal(c.server.socket_path, "/run/headroom.sock");
    parse_ok("server:\n  host: localhost\n", &c);
    assert_string_equal(c.server.host, "localhost");
    parse_ok("server:\n  host: 0.0.0.0\n", &c);
    assert_string_equal(c.server.host, "0.0.0.0");
    parse_fails("server:\n  host: example.com\n",
                "test.yaml:2:9: server.host: 'example.com' is not a numeric IPv4 or IPv6 "
                "address or 'localhost'");
    parse_fails("server:\n  host: \"\"\n", "test.yaml:2:9: server.host: must not be empty");
    parse_fails("server:\n  socket: run/x.sock\n",
                "test.yaml:2:11: server.socket: must be an absolute path, got 'run/x.sock'");

    char yaml[512];
    SNPRINTF(yaml, "server:\n  socket: /%0120d\n", 0);
    parse_fails(yaml,
                "test.yaml:2:11: server.socket: too long for a unix socket (at most 107 "
                "bytes)");

    parse_fails("auth:\n  user: \"a\\nb\"\n",
                "test.yaml:2:9: auth.user: value contains a control character");
    parse_fails("auth:\n  user: \"a\\0b\"\n",
                "test.yaml:2:9: auth.user: value contains a NUL character");
}

/* ---- capfox 6.2 case 24: environment ----------------------------------------------------------
 */

static void test_env(void **state)
{
    struct config c;
    char err[CONFIG_ERROR_MAX];

    assert_int_equal(setenv("TEST_VAR", "test_value", 1), 0);
    assert_int_equal(setenv("TEST_HOST", "10.1.2.3", 1), 0);
    assert_int_equal(setenv("TEST_PORT", "18080", 1), 0);
    assert_int_equal(setenv("TEST_EMPTY", "", 1), 0);
    assert_int_equal(unsetenv("TEST_UNSET"), 0);

    /* One variable. */
    parse_ok("persistence:\n  data_dir: ${TEST_VAR}\n", &c);
    assert_string_equal(c.persistence.data_dir, "test_value");

    /* Two variables, with text around them. */
    parse_ok("persistence:\n  data_dir: /srv/${TEST_VAR}/${TEST_HOST}.d\n", &c);
    assert_string_equal(c.persistence.data_dir, "/srv/test_value/10.1.2.3.d");

    /* Quoted, and in a number. */
    parse_ok("server:\n  host: \"${TEST_HOST}\"\n  port: ${TEST_PORT}\n", &c);
    assert_string_equal(c.server.host, "10.1.2.3");
    assert_int_equal(c.server.port, 18080);

    /* An unset variable is an error at its value, not a literal. */
    parse_fails("server:\n  host: 127.0.0.1\nauth:\n  user: ${TEST_UNSET}\n",
                "test.yaml:4:9: environment variable 'TEST_UNSET' is not set");

    /* A set but empty variable is an empty value. */
    parse_ok("persistence:\n  data_dir: \"${TEST_EMPTY}\"\n", &c);
    assert_string_equal(c.persistence.data_dir, "");

    /* Defaults: used when unset or empty, not when set. */
    parse_ok("persistence:\n  data_dir: ${TEST_UNSET:-/var/lib/x}\n", &c);
    assert_string_equal(c.persistence.data_dir, "/var/lib/x");
    parse_ok("persistence:\n  data_dir: ${TEST_EMPTY:-/var/lib/y}\n", &c);
    assert_string_equal(c.persistence.data_dir, "/var/lib/y");
    parse_ok("persistence:\n  data_dir: ${TEST_VAR:-/var/lib/z}\n", &c);
    assert_string_equal(c.persistence.data_dir, "test_value");
    parse_ok("server:\n  port: ${TEST_UNSET:-9999}\n", &c);
    assert_int_equal(c.server.port, 9999);
    parse_ok("persistence:\n  data_dir: \"${TEST_UNSET:-}\"\n", &c);
    assert_string_equal(c.persistence.data_dir, "");

    /* $$ is a literal $, and a lone $ stays. */
    parse_ok("auth:\n  password: \"pa$$${TEST_VAR}$$\"\n", &c);
    assert_string_equal(c.auth.password, "pa$test_value$");
    parse_ok("auth:\n  password: cost$5 and $\n", &c);
    assert_string_equal(c.auth.password, "cost$5 and $");

    /* A plain string is unchanged. */
    parse_ok("persistence:\n  data_dir: /var/lib/plain\n", &c);
    assert_string_equal(c.persistence.data_dir, "/var/lib/plain");

    /* Not in keys, not in comments. */
    parse_ok(
            "# ${TEST_UNSET} in a comment is not expanded\nserver:\n  port: 1234 # ${TEST_UNSET}\n",
            &c);
    assert_int_equal(c.server.port, 1234);
    assert_int_equal(setenv("TEST_KEY", "port", 1), 0);
    parse_fails("server:\n  ${TEST_KEY}: 1\n",
                "test.yaml:2:3: unknown key '${TEST_KEY}' in server");

    /* The expanded value is what gets validated. */
    assert_int_equal(setenv("TEST_BAD_PORT", "eighty", 1), 0);
    parse_fails("server:\n  port: ${TEST_BAD_PORT}\n",
                "test.yaml:2:9: server.port: expected an integer, got 'eighty'");

    /* Bad references. */
    parse_fails("auth:\n  user: ${1ABC}\n",
                "test.yaml:2:9: auth.user: invalid environment variable name '1ABC'");
    parse_fails("auth:\n  user: \"${A B}\"\n",
                "test.yaml:2:9: auth.user: invalid environment variable name 'A B'");
    parse_fails("auth:\n  user: ${}\n",
                "test.yaml:2:9: auth.user: invalid environment variable name ''");
    parse_fails("auth:\n  user: \"${TEST_VAR\"\n",
                "test.yaml:2:9: auth.user: unterminated '${' (missing '}')");
    parse_fails("auth:\n  user: \"${TEST_VAR:=x}\"\n",
                "test.yaml:2:9: auth.user: unsupported reference '${TEST_VAR:=x}' (use ${NAME} "
                "or ${NAME:-default})");

    /* Bounded: a long value makes the result too long. */
    char big[400];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(setenv("TEST_BIG", big, 1), 0);
    parse_fails("persistence:\n  data_dir: /${TEST_BIG}\n",
                "test.yaml:2:13: persistence.data_dir: value is too long after environment "
                "expansion (at most 255 bytes)");
    big[255] = '\0'; /* "/" and 255 bytes: one too many */
    assert_int_equal(setenv("TEST_BIG", big, 1), 0);
    parse_fails("persistence:\n  data_dir: /${TEST_BIG}\n",
                "test.yaml:2:13: persistence.data_dir: value is too long after environment "
                "expansion (at most 255 bytes)");
    big[254] = '\0';
    assert_int_equal(setenv("TEST_BIG", big, 1), 0);
    parse_ok("persistence:\n  data_dir: /${TEST_BIG}\n", &c);
    assert_int_equal(strlen(c.persistence.data_dir), 255);
    /* Without any reference, a literal that is too long says so plainly. */
    char yaml[512];
    SNPRINTF(yaml, "auth:\n  user: %s\n", big);
    parse_ok(yaml, &c);
    memset(big, 'x', 256);
    big[256] = '\0';
    SNPRINTF(yaml, "auth:\n  user: %s\n", big);
    parse_fails(yaml, "test.yaml:2:9: auth.user: value is too long (at most 255 bytes)");

    /* Non-UTF-8 from the environment is refused (the value goes into JSON). */
    assert_int_equal(setenv("TEST_LATIN1", "caf\xe9", 1), 0);
    parse_fails("auth:\n  user: ${TEST_LATIN1}\n",
                "test.yaml:2:9: auth.user: value is not valid UTF-8");

    /* C1 controls are controls too (libyaml would not read them back from a dump). */
    assert_int_equal(setenv("TEST_C1",
                            "a\xc2\x85"
                            "b",
                            1),
                     0);
    parse_fails("auth:\n  user: ${TEST_C1}\n",
                "test.yaml:2:9: auth.user: value contains a control character");

    /* A broken reference in a secret is reported without quoting the secret. */
    parse_fails("auth:\n  password: \"hunter2${oops\"\n",
                "test.yaml:2:13: auth.password: invalid environment variable reference");
    parse_fails("auth:\n  user: \"hunter2${oops\"\n",
                "test.yaml:2:9: auth.user: unterminated '${' (missing '}')");

    /* Through config_load_file as well. */
    const char *path = write_tmp("env.yaml", "server:\n  host: \"${TEST_HOST}\"\n",
                                 strlen("server:\n  host: \"${TEST_HOST}\"\n"));
    assert_int_equal(config_load_file(path, &c, err), 0);
    assert_string_equal(c.server.host, "10.1.2.3");
}

static const char *fake_lookup(const char *name, void *userdata)
{
    if (strcmp(name, "A") == 0)
        return "alpha";
    if (strcmp(name, "EMPTY") == 0)
        return "";
    return NULL;
}

static void test_env_expand(void **state)
{
    char out[16], msg[128];
    const char *in;

    in = "x${A}y";
    assert_int_equal(
            env_expand(in, strlen(in), fake_lookup, NULL, out, sizeof(out), msg, sizeof(msg)), 7);
    assert_string_equal(out, "xalphay");

    in = "$$A$";
    assert_int_equal(
            env_expand(in, strlen(in), fake_lookup, NULL, out, sizeof(out), msg, sizeof(msg)), 3);
    assert_string_equal(out, "$A$");

    in = "${EMPTY}|${EMPTY:-d}|${B:-}";
    assert_int_equal(
            env_expand(in, strlen(in), fake_lookup, NULL, out, sizeof(out), msg, sizeof(msg)), 3);
    assert_string_equal(out, "|d|");

    /* Only n bytes are read: the reference is cut off. */
    in = "${A}";
    assert_int_equal(env_expand(in, 3, fake_lookup, NULL, out, sizeof(out), msg, sizeof(msg)),
                     -EINVAL);

    in = "${B}";
    assert_int_equal(
            env_expand(in, strlen(in), fake_lookup, NULL, out, sizeof(out), msg, sizeof(msg)),
            -ENOENT);
    assert_string_equal(msg, "environment variable 'B' is not set");

    /* Fits exactly, then one byte too many. */
    in = "${A}${A}${A}";
    assert_int_equal(
            env_expand(in, strlen(in), fake_lookup, NULL, out, sizeof(out), msg, sizeof(msg)), 15);
    in = "${A}${A}${A}!";
    assert_int_equal(
            env_expand(in, strlen(in), fake_lookup, NULL, out, sizeof(out), msg, sizeof(msg)),
            -ENOBUFS);

    char longname[ENV_NAME_MAX + 8];
    SNPRINTF(longname, "${%0*d}", ENV_NAME_MAX + 1, 0);
    longname[2] = 'N';
    assert_int_equal(env_expand(longname, strlen(longname), fake_lookup, NULL, out, sizeof(out),
                                msg, sizeof(msg)),
                     -EINVAL);
}

/* ---- capfox 6.2 case 25: merge over the defaults ----------------------------------------------
 */

static void test_merge(void **state)
{
    struct config c;
    char err[CONFIG_ERROR_MAX];

    assert_int_equal(config_load_file(fixture("merge.yaml"), &c, err), 0);
    assert_string_equal(c.server.host, "127.0.0.1");
    assert_int_equal(c.server.port, 9090);
    assert_close(c.thresholds.cpu_max_pct, 70);
    assert_string_equal(c.logging.level, "debug");
    assert_string_equal(c.logging.format, "text");
    /* Untouched keys keep their defaults. */
    assert_close(c.thresholds.memory_max_pct, 85);
    assert_close(c.thresholds.storage_min_free_gb, 10);
    assert_int_equal(c.monitoring.interval_ms, 1000);
    assert_int_equal(c.n_warnings, 0);
}

/* ---- positions --------------------------------------------------------------------------------
 */

static void load_fails(const char *name, int expected_r, const char *expected_suffix)
{
    struct config c;
    char err[CONFIG_ERROR_MAX] = "", expected[CONFIG_ERROR_MAX];
    const char *path = fixture(name);

    config_init_defaults(&c);
    c.server.port = 4242;
    int r = config_load_file(path, &c, err);
    if (r != expected_r)
        fail_msg("%s: expected %d, got %d: %s", name, expected_r, r, err);
    SNPRINTF(expected, "%s%s", path, expected_suffix);
    assert_string_equal(err, expected);
    assert_int_equal(c.server.port, 4242);
}

static void test_positions(void **state)
{
    load_fails("bad-value-line7.yaml", -EINVAL,
               ":7:18: thresholds.cpu.max_percent: expected a number, got 'abc'");
    load_fails("unknown-key.yaml", -EINVAL,
               ":3:5: unknown key 'max_precent' in thresholds.cpu; did you mean 'max_percent'?");
    load_fails("duplicate-key.yaml", -EINVAL,
               ":4:3: duplicate key 'port' in server (first set on line 2)");
    load_fails("syntax-error.yaml", -EINVAL,
               ":2:10: YAML syntax error: mapping values are not allowed in this context");
    load_fails("top-level-list.yaml", -EINVAL, ":1:1: the top level must be a mapping, got a list");

    parse_fails("just a string\n",
                "test.yaml:1:1: the top level must be a mapping, got 'just a "
                "string'");
    parse_fails("sever:\n  port: 1\n",
                "test.yaml:1:1: unknown key 'sever' at the top level; did you mean 'server'?");
    parse_fails("server:\n  zzz: 1\n", "test.yaml:2:3: unknown key 'zzz' in server");
    parse_fails("thresholds:\n  cpu:\n    MAX_PERCENT: 1\n",
                "test.yaml:3:5: unknown key 'MAX_PERCENT' in thresholds.cpu");
    parse_fails("server:\n  port: 1\nserver:\n  port: 2\n",
                "test.yaml:3:1: duplicate key 'server' in the top level (first set on line 1)");
    parse_fails("server:\n  ? [a]\n  : 1\n", "test.yaml:2:5: keys must be strings, got a list");
    parse_fails("server: [1, 2]\n", "test.yaml:1:9: server: expected a mapping, got a list");
    parse_fails("server:\n  port: 1\n---\nserver:\n  port: 2\n",
                "test.yaml:3:1: only one YAML document is allowed");
    parse_fails("server:\n  port: \"unterminated\n",
                "test.yaml:3:1: YAML syntax error: found unexpected end of stream (while "
                "scanning a quoted scalar at line 2)");
    /* Encoding errors are placed too. */
    parse_fails("server:\n  host: \xff\n",
                "test.yaml:2:9: invalid input: invalid leading UTF-8 "
                "octet");
    /* A column counts characters, not bytes. */
    parse_fails("auth:\n  user: \"\xc3\xa9\xc3\xa9\"\n  password: [x]\n",
                "test.yaml:3:13: auth.password: expected a string, got a list");
    parse_fails("auth: {user: \"\xc3\xa9\", enabled: maybe}\n",
                "test.yaml:1:28: auth.enabled: expected a boolean (true or false), got 'maybe'");
}

static void test_yaml_features_refused(void **state)
{
    parse_fails("base: &b\n  port: 1\n",
                "test.yaml:1:7: YAML anchors are not supported (found "
                "'&b')");
    parse_fails("server:\n  host: &h 127.0.0.1\n",
                "test.yaml:2:9: YAML anchors are not supported (found '&h')");
    parse_fails("server:\n  port: *p\n",
                "test.yaml:2:9: YAML aliases are not supported (found "
                "'*p')");
    parse_fails("server:\n  <<: {port: 1}\n",
                "test.yaml:2:3: YAML merge keys ('<<') are not "
                "supported");
    parse_fails("server:\n  port: !!int 80\n",
                "test.yaml:2:9: YAML tags are not supported (found 'tag:yaml.org,2002:int')");
    parse_fails("!!map\nserver: {}\n",
                "test.yaml:1:1: YAML tags are not supported (found 'tag:yaml.org,2002:map')");

    /* The YAML is checked as a whole before any value: a syntax error further down wins over a
     * bad value above it. */
    parse_fails(
            "server:\n  port: 0\n  host: a: b\n",
            "test.yaml:3:10: YAML syntax error: mapping values are not allowed in this context");
    parse_fails("server:\n  port: 0\nlater: *alias\n",
                "test.yaml:3:8: YAML aliases are not supported (found '*alias')");

    /* Nesting is bounded, even under a key that would be refused anyway, and even for a file
     * that is nothing but brackets. */
    parse_fails("x: [[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]\n",
                "test.yaml:1:19: nesting is deeper than 16 levels");
    size_t n = CONFIG_FILE_MAX_BYTES;
    char *brackets = malloc(n);
    assert_non_null(brackets);
    memset(brackets, '[', n);
    char err[CONFIG_ERROR_MAX];
    struct config c;
    assert_int_equal(config_parse_yaml(brackets, n, "b.yaml", &c, err), -EINVAL);
    assert_string_equal(err, "b.yaml:1:17: nesting is deeper than 16 levels");
    free(brackets);

    /* A "billion laughs" document stops at the first alias. */
    parse_fails("a: &a [x, x]\nb: &b [*a, *a]\n",
                "test.yaml:1:4: YAML anchors are not supported "
                "(found '&a')");
}

/* ---- capfox files -----------------------------------------------------------------------------
 */

static void test_capfox_example(void **state)
{
    static const struct {
        unsigned line, column;
        const char *key;
    } expected[] = {
        { 6, 3, "server.pid_file" },
        { 7, 3, "server.shutdown_timeout_sec" },
        { 8, 3, "server.rate_limit" },
        { 13, 3, "server.profiling" },
        { 40, 3, "persistence.flush_interval_sec" },
        { 50, 1, "decision" },
    };
    struct config c;
    char err[CONFIG_ERROR_MAX], want[CONFIG_ERROR_MAX];
    const char *path = fixture("capfox-example.yaml");

    assert_int_equal(config_load_file(path, &c, err), 0);
    assert_string_equal(c.server.host, "0.0.0.0");
    assert_int_equal(c.server.port, 8080);
    assert_string_equal(c.persistence.data_dir, "/var/lib/capfox");
    assert_string_equal(c.logging.format, "json");
    assert_int_equal(c.learning.observation_delay_sec, 5);
    /* capfox ignored its learning.model; headroom uses it. */
    assert_string_equal(c.learning.model, "moving_average");
    assert_false(c.debug.enabled);

    assert_int_equal(c.n_warnings, ELEMENTSOF(expected));
    for (size_t i = 0; i < ELEMENTSOF(expected); i++) {
        SNPRINTF(want, "%s:%u:%u: key '%s' is accepted for capfox compatibility and ignored", path,
                 expected[i].line, expected[i].column, expected[i].key);
        assert_string_equal(c.warnings[i], want);
    }

    /* Ignored keys are still type-checked. */
    parse_fails("decision:\n  min_observations: many\n",
                "test.yaml:2:21: decision.min_observations: expected an integer, got 'many'");
    parse_fails("decision:\n  model_params:\n    alpha: high\n",
                "test.yaml:3:12: decision.model_params.alpha: expected a number, got 'high'");
    parse_fails("decision:\n  model_params:\n    alpah: 0.3\n",
                "test.yaml:3:5: unknown key 'alpah' in decision.model_params; did you mean "
                "'alpha'?");
    parse_fails("server:\n  rate_limit:\n    burst: -1\n",
                "test.yaml:3:12: server.rate_limit.burst: must be at least 0, got -1");
    parse_fails("server:\n  rate_limit:\n    enabled: sometimes\n",
                "test.yaml:3:14: server.rate_limit.enabled: expected a boolean (true or false), "
                "got 'sometimes'");
    parse_fails("server:\n  pid_file: [a]\n",
                "test.yaml:2:13: server.pid_file: expected a string, got a list");

    /* A capfox debug file that relies on auth.enabled for /debug must now name a token. */
    parse_fails("auth:\n  enabled: true\n  user: u\n  password: p\ndebug:\n  enabled: true\n",
                "test.yaml: debug.enabled requires debug.auth.token");
}

/* ---- monitoring.paths -------------------------------------------------------------------------
 */

static void test_paths(void **state)
{
    struct config c;
    char yaml[4096];
    size_t pos;

    parse_ok("monitoring:\n  paths:\n    - /\n    - /home\n    - \"/mnt/data disk\"\n", &c);
    assert_int_equal(c.monitoring.n_paths, 3);
    assert_string_equal(c.monitoring.paths[0], "/");
    assert_string_equal(c.monitoring.paths[1], "/home");
    assert_string_equal(c.monitoring.paths[2], "/mnt/data disk");

    /* A later list replaces the default, it does not append. */
    parse_ok("monitoring:\n  paths: [/srv]\n", &c);
    assert_int_equal(c.monitoring.n_paths, 1);
    assert_string_equal(c.monitoring.paths[0], "/srv");
    assert_string_equal(c.monitoring.paths[1], "");

    parse_fails("monitoring:\n  paths: []\n",
                "test.yaml:2:10: monitoring.paths: the list must not be empty");
    parse_fails("monitoring:\n  paths:\n",
                "test.yaml:2:9: monitoring.paths: expected a list of "
                "paths, got an empty value");
    parse_fails("monitoring:\n  paths: /\n",
                "test.yaml:2:10: monitoring.paths: expected a list of paths, got '/'");
    parse_fails("monitoring:\n  paths:\n    - var/lib\n",
                "test.yaml:3:7: monitoring.paths: must be an absolute path, got 'var/lib'");
    parse_fails("monitoring:\n  paths:\n    - /a\n    - /a\n",
                "test.yaml:4:7: monitoring.paths: '/a' is listed twice");
    parse_fails("monitoring:\n  paths:\n    - [/a]\n",
                "test.yaml:3:7: monitoring.paths: expected a path, got a list");
    parse_fails("monitoring:\n  paths:\n    -\n",
                "test.yaml:3:6: monitoring.paths: expected a path, got an empty value");

    /* HR_DISKS_MAX paths are fine, one more is not. */
    pos = (size_t) snprintf(yaml, sizeof(yaml), "monitoring:\n  paths:\n");
    for (int i = 0; i < HR_DISKS_MAX; i++)
        pos += (size_t) snprintf(yaml + pos, sizeof(yaml) - pos, "    - /d%d\n", i);
    parse_ok(yaml, &c);
    assert_int_equal(c.monitoring.n_paths, HR_DISKS_MAX);
    assert_string_equal(c.monitoring.paths[HR_DISKS_MAX - 1], "/d15");
    assert_true(snprintf(yaml + pos, sizeof(yaml) - pos, "    - /d%d\n", HR_DISKS_MAX) > 0);
    parse_fails(yaml, "test.yaml:19:7: monitoring.paths: at most 16 paths may be listed");

    /* A path of HR_PATH_MAX - 1 bytes fits, one byte more does not. */
    char longpath[HR_PATH_MAX + 1];
    memset(longpath, 'p', sizeof(longpath));
    longpath[0] = '/';
    longpath[HR_PATH_MAX - 1] = '\0';
    SNPRINTF(yaml, "monitoring:\n  paths:\n    - %s\n", longpath);
    parse_ok(yaml, &c);
    assert_int_equal(strlen(c.monitoring.paths[0]), HR_PATH_MAX - 1);
    longpath[HR_PATH_MAX - 1] = 'p';
    longpath[HR_PATH_MAX] = '\0';
    SNPRINTF(yaml, "monitoring:\n  paths:\n    - %s\n", longpath);
    parse_fails(yaml, "test.yaml:3:7: monitoring.paths: value is too long (at most 255 bytes)");
}

/* ---- files ------------------------------------------------------------------------------------
 */

static void test_files(void **state)
{
    struct config c;
    char err[CONFIG_ERROR_MAX], want[CONFIG_ERROR_MAX];
    const char *path;

    /* Over CONFIG_FILE_MAX_BYTES: refused before parsing. */
    size_t big = CONFIG_FILE_MAX_BYTES + 1;
    char *data = malloc(big);
    assert_non_null(data);
    for (size_t i = 0; i < big; i++)
        data[i] = (i % 64 == 63) ? '\n' : (i % 64 == 0 ? '#' : 'x');
    path = write_tmp("huge.yaml", data, big);
    config_init_defaults(&c);
    c.server.port = 4242;
    assert_int_equal(config_load_file(path, &c, err), -EFBIG);
    SNPRINTF(want, "%s: file is larger than 1048576 bytes", path);
    assert_string_equal(err, want);
    assert_int_equal(c.server.port, 4242);
    assert_int_equal(config_parse_yaml(data, big, "mem", &c, err), -EFBIG);

    /* Exactly at the limit: loads (comments only, so the defaults). */
    path = write_tmp("limit.yaml", data, big - 1);
    assert_int_equal(config_load_file(path, &c, err), 0);
    assert_int_equal(c.server.port, 9329);
    free(data);

    path = fixture("does-not-exist.yaml");
    assert_int_equal(config_load_file(path, &c, err), -ENOENT);
    SNPRINTF(want, "%s: cannot open: %s", path, strerror(ENOENT));
    assert_string_equal(err, want);

    assert_int_equal(config_load_file(tmp_dir, &c, err), -EINVAL);
    SNPRINTF(want, "%s: not a regular file", tmp_dir);
    assert_string_equal(err, want);

    /* A FIFO must neither hang nor be read. */
    char fifo[PATH_MAX];
    SNPRINTF(fifo, "%s/fifo.yaml", tmp_dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(config_load_file(fifo, &c, err), -EINVAL);

    /* Embedded NUL bytes are refused by the YAML reader, with a position. */
    static const char nul[] = "server:\n  port: 1\0\n";
    assert_int_equal(config_parse_yaml(nul, sizeof(nul) - 1, "nul.yaml", &c, err), -EINVAL);
    assert_string_equal(err, "nul.yaml:2:10: invalid input: control characters are not allowed");
}

/* ---- dump, JSON, round trip -------------------------------------------------------------------
 */

static void test_full_and_round_trip(void **state)
{
    struct config a, b, def;
    char err[CONFIG_ERROR_MAX];

    assert_int_equal(config_load_file(fixture("full.yaml"), &a, err), 0);
    assert_string_equal(a.server.host, "::1");
    assert_int_equal(a.server.port, 18080);
    assert_int_equal(a.server.max_connections, 64);
    assert_int_equal(a.server.connection_timeout_sec, 30);
    assert_int_equal(a.server.max_body_bytes, 2 * 1024 * 1024);
    assert_string_equal(a.server.socket_path, "/run/headroom/test.sock");
    assert_int_equal(a.server.socket_mode, 0600);
    assert_true(a.auth.enabled);
    assert_string_equal(a.auth.user, "admin");
    assert_string_equal(a.auth.password, "s3cret pass");
    assert_string_equal(a.auth.token, "bearer-token-123");
    assert_close(a.thresholds.cpu_max_pct, 75.5);
    assert_close(a.thresholds.memory_max_pct, 90);
    assert_close(a.thresholds.memory_max_pressure_pct, 0);
    assert_close(a.thresholds.gpu_max_pct, 95);
    assert_close(a.thresholds.vram_max_pct, 80);
    assert_close(a.thresholds.storage_min_free_gb, 0.5);
    assert_int_equal(a.monitoring.interval_ms, 250);
    assert_int_equal(a.monitoring.smoothing_samples, 8);
    assert_int_equal(a.monitoring.history_samples, 1200);
    assert_int_equal(a.monitoring.n_paths, 3);
    assert_string_equal(a.monitoring.paths[1], "/var/lib/with space");
    assert_string_equal(a.monitoring.paths[2], "/srv/$weird \"dir\"");
    assert_false(a.monitoring.gpu);
    assert_int_equal(a.learning.observation_delay_sec, 10);
    assert_int_equal(a.learning.max_pending, 100);
    assert_int_equal(a.learning.max_task_types, 500);
    assert_int_equal(a.learning.observations_per_task, 50);
    assert_string_equal(a.persistence.data_dir, "/var/lib/headroom-test");
    assert_string_equal(a.logging.level, "warn");
    assert_string_equal(a.logging.format, "json");
    assert_true(a.debug.enabled);
    assert_string_equal(a.debug.token, "debug-token-456");
    assert_int_equal(a.n_warnings, 0);

    /* The dump masks every secret and shows the rest. */
    char *text = dump(&a);
    assert_null(strstr(text, "s3cret"));
    assert_null(strstr(text, "bearer-token-123"));
    assert_null(strstr(text, "debug-token-456"));
    assert_non_null(strstr(text, "  password: \"********\"\n"));
    assert_non_null(strstr(text, "  token: \"********\"\n"));
    assert_non_null(strstr(text, "    token: \"********\"\n"));
    assert_non_null(strstr(text, "  user: \"admin\"\n"));
    assert_non_null(strstr(text, "    max_percent: 75.5\n"));
    assert_non_null(strstr(text, "  socket_mode: \"0600\"\n"));
    assert_non_null(strstr(text, "    - \"/srv/$$weird \\\"dir\\\"\"\n"));
    /* No ignored capfox key is written. */
    assert_null(strstr(text, "decision"));
    assert_null(strstr(text, "pid_file"));

    /* It loads back: identical except the secrets, which are now the mask. */
    assert_int_equal(config_parse_yaml(text, strlen(text), "dump.yaml", &b, err), 0);
    assert_string_equal(b.auth.password, "********");
    assert_string_equal(b.auth.token, "********");
    assert_string_equal(b.debug.token, "********");
    memcpy(b.auth.password, a.auth.password, sizeof(a.auth.password));
    memcpy(b.auth.token, a.auth.token, sizeof(a.auth.token));
    memcpy(b.debug.token, a.debug.token, sizeof(a.debug.token));
    assert_memory_equal(&a, &b, sizeof(a));

    /* Dumping the reloaded config gives the same text. */
    char *text2 = dump(&b);
    assert_string_equal(text, text2);
    free(text2);
    free(text);

    /* Without secrets the round trip is exact, byte for byte. */
    parse_ok(
            "server:\n  port: 1234\nthresholds:\n  cpu:\n    max_percent: 0.1\n"
            "  storage:\n    min_free_gb: 123.456789012345\nmonitoring:\n  paths: [\"/$${x}\"]\n",
            &a);
    assert_string_equal(a.monitoring.paths[0], "/${x}");
    text = dump(&a);
    assert_int_equal(config_parse_yaml(text, strlen(text), "dump.yaml", &b, err), 0);
    assert_memory_equal(&a, &b, sizeof(a));
    free(text);

    /* The defaults dump: empty secrets are "", not the mask. */
    config_init_defaults(&def);
    text = dump(&def);
    assert_non_null(strstr(text, "  password: \"\"\n"));
    assert_null(strstr(text, "********"));
    assert_int_equal(config_parse_yaml(text, strlen(text), "dump.yaml", &b, err), 0);
    assert_memory_equal(&def, &b, sizeof(def));
    free(text);
}

static void test_json(void **state)
{
    struct config a;
    char err[CONFIG_ERROR_MAX];

    assert_int_equal(config_load_file(fixture("full.yaml"), &a, err), 0);
    json_t *j = config_to_json(&a);
    assert_non_null(j);

    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "server"), "host")),
                        "::1");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "server"), "port")),
                     18080);
    assert_string_equal(
            json_string_value(json_object_get(json_object_get(j, "server"), "socket_mode")),
            "0600");
    assert_int_equal(
            json_integer_value(json_object_get(json_object_get(j, "server"), "max_body_bytes")),
            2097152);
    json_t *auth = json_object_get(j, "auth");
    assert_true(json_is_true(json_object_get(auth, "enabled")));
    assert_string_equal(json_string_value(json_object_get(auth, "user")), "admin");
    assert_string_equal(json_string_value(json_object_get(auth, "password")), "********");
    assert_string_equal(json_string_value(json_object_get(auth, "token")), "********");
    json_t *debug_auth = json_object_get(json_object_get(j, "debug"), "auth");
    assert_string_equal(json_string_value(json_object_get(debug_auth, "token")), "********");
    json_t *cpu = json_object_get(json_object_get(j, "thresholds"), "cpu");
    assert_close(json_real_value(json_object_get(cpu, "max_percent")), 75.5);
    json_t *paths = json_object_get(json_object_get(j, "monitoring"), "paths");
    assert_int_equal(json_array_size(paths), 3);
    assert_string_equal(json_string_value(json_array_get(paths, 2)), "/srv/$weird \"dir\"");
    assert_true(json_is_false(json_object_get(json_object_get(j, "monitoring"), "gpu")));
    assert_null(json_object_get(j, "decision"));
    assert_int_equal(json_object_size(j), 13);

    char *s = json_dumps(j, JSON_COMPACT);
    assert_non_null(s);
    assert_null(strstr(s, "s3cret"));
    assert_null(strstr(s, "token-"));
    free(s);
    json_decref(j);

    /* Empty secrets stay empty. */
    config_init_defaults(&a);
    j = config_to_json(&a);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "auth"), "password")),
                        "");
    json_decref(j);
}

/* ---- config_validate on hand-built configs ----------------------------------------------------
 */

static void test_validate(void **state)
{
    struct config c;
    char err[CONFIG_ERROR_MAX];

    config_init_defaults(&c);
    c.server.port = 0;
    assert_int_equal(config_validate(&c, err), -EINVAL);
    assert_string_equal(err, "server.port: must be between 1 and 65535, got 0");

    config_init_defaults(&c);
    c.thresholds.cpu_max_pct = NAN;
    assert_int_equal(config_validate(&c, err), -EINVAL);
    assert_string_equal(err, "thresholds.cpu.max_percent: must be between 0 and 100, got nan");

    config_init_defaults(&c);
    c.server.socket_mode = 01000;
    assert_int_equal(config_validate(&c, err), -EINVAL);
    assert_string_equal(err, "server.socket_mode: must be at most 0777, got 01000");

    config_init_defaults(&c);
    c.monitoring.n_paths = 0;
    assert_int_equal(config_validate(&c, err), -EINVAL);
    assert_string_equal(err, "monitoring.paths: must list between 1 and 16 paths, got 0");

    config_init_defaults(&c);
    c.monitoring.n_paths = 2;
    strcpy(c.monitoring.paths[1], "/");
    assert_int_equal(config_validate(&c, err), -EINVAL);
    assert_string_equal(err, "monitoring.paths: '/' is listed twice");

    config_init_defaults(&c);
    memset(c.auth.user, 'u', sizeof(c.auth.user));
    assert_int_equal(config_validate(&c, err), -EINVAL);
    assert_string_equal(err, "auth.user: value is too long (at most 255 bytes)");

    config_init_defaults(&c);
    strcpy(c.logging.level, "verbose");
    assert_int_equal(config_validate(&c, err), -EINVAL);
    assert_string_equal(err,
                        "logging.level: invalid value 'verbose' (valid: debug, info, warn, "
                        "error)");

    config_init_defaults(&c);
    strcpy(c.debug.token, "1234567");
    assert_int_equal(config_validate(&c, err), -EINVAL);
    assert_string_equal(err, "debug.auth.token: must be at least 8 characters long, got 7");
    /* Characters, not bytes: eight two-byte characters pass. */
    strcpy(c.debug.token, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
    assert_int_equal(config_validate(&c, err), 0);
}

static int setup(void **state)
{
    SNPRINTF(tmp_dir, "%s/test-config-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmp_dir))
        return -1;
    fixtures = getenv("HEADROOM_FIXTURES");
    if (!fixtures)
        fixtures = "tests/fixtures";
    return 0;
}

static int teardown(void **state)
{
    static const char *const names[] = { "huge.yaml", "limit.yaml", "env.yaml", "fifo.yaml" };
    char path[PATH_MAX];

    for (size_t i = 0; i < ELEMENTSOF(names); i++) {
        SNPRINTF(path, "%s/%s", tmp_dir, names[i]);
        (void) unlink(path);
    }
    return rmdir(tmp_dir) < 0 ? -1 : 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_empty_files),
        cmocka_unit_test(test_ports),
        cmocka_unit_test(test_thresholds),
        cmocka_unit_test(test_monitoring),
        cmocka_unit_test(test_enums_and_learning),
        cmocka_unit_test(test_auth_rules),
        cmocka_unit_test(test_debug_rules),
        cmocka_unit_test(test_booleans),
        cmocka_unit_test(test_server_values),
        cmocka_unit_test(test_env),
        cmocka_unit_test(test_env_expand),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_yaml_features_refused),
        cmocka_unit_test(test_capfox_example),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_full_and_round_trip),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_validate),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
