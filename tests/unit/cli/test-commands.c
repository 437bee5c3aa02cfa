/* SPDX-License-Identifier: MIT */
/* The "predict" and "stats" commands end to end: cli_main() against a canned HTTP server on a Unix
 * socket in a temporary directory (fake-server.h). The server answers each request from a table
 * and writes every request line to a log, so the tests see both what was asked and what was
 * printed. */

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
#include "cli/exit-codes.h"
#include "fake-server.h"

/* cmocka.h needs stdarg.h, stddef.h and setjmp.h before it. */
#include <cmocka.h>

static const char not_found[] = "{\"error\":\"unknown task 'nosuch'\"}";

static const char capfox_block[] =
        "=== Task Statistics ===\n"
        "\n"
        "Task: encode\n"
        "  Observations: 12\n"
        "  Avg CPU delta:  +29.10%\n"
        "  Avg Memory delta: +5.95%\n";

static void test_predict(void **state)
{
    char *model = fixture_text("model-encode.json");
    const struct route routes[] = {
        { "GET /v1/models/encode?complexity=1080", 200, model },
        { "GET /v1/models/encode?complexity=0", 200, "{\"resources\":{},\"sufficient\":false}" },
        { "GET /v1/models/my%20task?complexity=2.5", 400, "{\"error\":\"bad complexity\"}" },
        { "GET /v1/models/nosuch?complexity=0", 404, not_found },
        { "GET /v1/models/down?complexity=0", 500, "{\"error\":\"store failed\"}" },
    };
    struct fake f;
    struct result r;
    char *log;

    fake_start_logging(&f, FAKE_LOG_REQUEST_LINE, routes, ELEMENTSOF(routes));

    r = run_cli(&f, ARGS("predict", "encode", "--complexity", "1080"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(
            r.out.data,
            "Prediction for 'encode' at complexity 1080 (model ewls, 12 observations):\n"
            "  cpu      expected 31.3 %, upper 33.4 %, confidence 0.82, n 12, sufficient\n"
            "  memory   expected 5.6 % (3.6 GiB), upper 6.4 % (4.1 GiB), confidence 0.90, n 12, "
            "sufficient\n"
            "admission will reserve: cpu 31.3 %, memory 6.4 % (4.1 GiB)\n");
    assert_string_equal(r.err.data, "");
    result_done(&r);

    /* --json: the answer as it came. */
    r = run_cli(&f, ARGS("--json", "predict", "encode", "--complexity=1080"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(r.out.data, model);
    result_done(&r);

    /* --quiet: nothing, exit status only. */
    r = run_cli(&f, ARGS("predict", "encode", "--complexity=1080", "-q"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(r.out.data, "");
    result_done(&r);

    /* The default complexity is 0, and it is sent. */
    r = run_cli(&f, ARGS("predict", "encode"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_non_null(strstr(r.out.data, "too few observations (n/a of n/a)"));
    result_done(&r);

    r = run_cli(&f, ARGS("predict", "nosuch"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.out.data, "");
    assert_string_equal(r.err.data, "headroom: task not found: nosuch\n");
    result_done(&r);

    r = run_cli(&f, ARGS("predict", "my task", "--complexity", "2.5"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.err.data,
                        "headroom: GET /v1/models/my%20task?complexity=2.5: HTTP 400 Bad "
                        "Request: bad complexity\n");
    result_done(&r);

    r = run_cli(&f, ARGS("predict", "down"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_non_null(strstr(r.err.data, "HTTP 500 Internal Server Error: store failed"));
    result_done(&r);

    log = fake_stop(&f);
    assert_string_equal(log,
                        "GET /v1/models/encode?complexity=1080 HTTP/1.1\n"
                        "GET /v1/models/encode?complexity=1080 HTTP/1.1\n"
                        "GET /v1/models/encode?complexity=1080 HTTP/1.1\n"
                        "GET /v1/models/encode?complexity=0 HTTP/1.1\n"
                        "GET /v1/models/nosuch?complexity=0 HTTP/1.1\n"
                        "GET /v1/models/my%20task?complexity=2.5 HTTP/1.1\n"
                        "GET /v1/models/down?complexity=0 HTTP/1.1\n");
    free(log);
    free(model);
}

static void test_stats_task(void **state)
{
    char *model = fixture_text("model-encode-noquery.json");
    char *stats = fixture_text("stats-encode.json");
    const struct route routes[] = {
        { "GET /stats?task=encode", 200, stats },
        { "GET /v1/models/encode", 200, model },
        { "GET /stats?task=nosuch", 404, "{\"error\":\"task not found\"}" },
        { "GET /v1/models/nosuch", 404, not_found },
    };
    struct fake f;
    struct result r;
    char *log;

    fake_start_logging(&f, FAKE_LOG_REQUEST_LINE, routes, ELEMENTSOF(routes));

    /* The capfox block first, then the model. */
    r = run_cli(&f, ARGS("stats", "encode"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(r.err.data, "");
    assert_true(strncmp(r.out.data, capfox_block, strlen(capfox_block)) == 0);
    assert_non_null(strstr(r.out.data,
                           "+5.95%\n\nModel: ewls (lambda 0.97, quantile 0.95, shrinkage_weight 5, "
                           "margin_factor 1)\n  Observations: 12 (5 needed to decide: "
                           "sufficient)\n"));
    assert_non_null(strstr(r.out.data,
                           "  cpu            0.01       20.5        0.82    12     2.1    "
                           "35.0  yes\n"));
    assert_non_null(strstr(r.out.data,
                           "  2 of 12 observations overlapped another task's window and "
                           "were down-weighted\n"));
    assert_non_null(strstr(r.out.data, "; memory declared 1.5 pp above what was observed (EMA)\n"));
    assert_non_null(strstr(r.out.data, "  (2 older not shown; --json has them)\n"));
    result_done(&r);

    /* --json: the model's answer only. */
    r = run_cli(&f, ARGS("stats", "encode", "--json"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(r.out.data, model);
    result_done(&r);

    r = run_cli(&f, ARGS("stats", "nosuch"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.out.data, "");
    assert_string_equal(r.err.data, "headroom: task not found: nosuch\n");
    result_done(&r);

    r = run_cli(&f, ARGS("stats", "nosuch", "--json"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.out.data, "");
    assert_string_equal(r.err.data, "headroom: task not found: nosuch\n");
    result_done(&r);

    log = fake_stop(&f);
    assert_string_equal(log,
                        "GET /stats?task=encode HTTP/1.1\n"
                        "GET /v1/models/encode HTTP/1.1\n"
                        "GET /v1/models/encode HTTP/1.1\n"
                        "GET /stats?task=nosuch HTTP/1.1\n"
                        "GET /v1/models/nosuch HTTP/1.1\n"
                        "GET /stats?task=nosuch HTTP/1.1\n");
    free(log);
    free(model);
    free(stats);
}

/* A daemon from before models, and capfox, which answers an unknown GET from its "/" route. */
static void test_stats_older_daemon(void **state)
{
    char *stats = fixture_text("stats-encode.json");
    const struct route older[] = {
        { "GET /stats?task=encode", 200, stats },
    };
    const struct route capfox[] = {
        { "GET /stats?task=encode", 200, stats },
        { "GET /v1/models/encode", 200, "{\"status\":\"ok\"}" },
        { "GET /stats", 200, "{\"tasks\":{},\"total_tasks\":0}" },
    };
    struct fake f;
    struct result r;
    char *log;

    fake_start_logging(&f, FAKE_LOG_REQUEST_LINE, older, ELEMENTSOF(older));
    r = run_cli(&f, ARGS("stats", "encode"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(r.out.data, capfox_block);
    assert_string_equal(r.err.data, "");
    result_done(&r);
    r = run_cli(&f, ARGS("stats", "encode", "--json"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(r.out.data, stats);
    result_done(&r);
    log = fake_stop(&f);
    assert_string_equal(log,
                        "GET /stats?task=encode HTTP/1.1\n"
                        "GET /v1/models/encode HTTP/1.1\n"
                        "GET /v1/models/encode HTTP/1.1\n"
                        "GET /stats?task=encode HTTP/1.1\n");
    free(log);

    fake_start_logging(&f, FAKE_LOG_REQUEST_LINE, capfox, ELEMENTSOF(capfox));
    r = run_cli(&f, ARGS("stats", "encode"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(r.out.data, capfox_block);
    result_done(&r);
    r = run_cli(&f, ARGS("stats", "encode", "--json"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(r.out.data, stats);
    result_done(&r);
    /* Without TASK nothing changed: /stats only. */
    r = run_cli(&f, ARGS("stats"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(r.out.data,
                        "=== Task Statistics ===\nTotal observations: 0\n\n"
                        "No observations yet.\n");
    result_done(&r);
    log = fake_stop(&f);
    assert_string_equal(log,
                        "GET /stats?task=encode HTTP/1.1\n"
                        "GET /v1/models/encode HTTP/1.1\n"
                        "GET /v1/models/encode HTTP/1.1\n"
                        "GET /stats?task=encode HTTP/1.1\n"
                        "GET /stats HTTP/1.1\n");
    free(log);
    free(stats);
}

static void test_stats_model_errors(void **state)
{
    char *stats = fixture_text("stats-encode.json");
    const struct route routes[] = {
        { "GET /stats?task=encode", 200, stats },
        { "GET /v1/models/encode", 500, "{\"error\":\"database is locked\"}" },
        { "GET /stats?task=bad", 200, "{\"task\":\"bad\",\"count\":1}" },
        { "GET /v1/models/bad", 200, "not json" },
        { "GET /stats?task=evil", 200, "{\"task\":\"evil\",\"count\":1}" },
        { "GET /v1/models/evil", 200,
          "{\"model\":\"\\u001b[2J\",\"resources\":{\"cpu\":{\"n\":1}},"
          "\"recent\":[{\"started_at\":\"\\u001b]0;x\\u0007\",\"source\":\"\\r\"}]}" },
    };
    struct fake f;
    struct result r;
    char *log;

    fake_start_logging(&f, FAKE_LOG_REQUEST_LINE, routes, ELEMENTSOF(routes));

    /* The block has been printed when the model fails: it stays, and the exit status says. */
    r = run_cli(&f, ARGS("stats", "encode"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.out.data, capfox_block);
    assert_string_equal(r.err.data,
                        "headroom: GET /v1/models/encode: HTTP 500 Internal Server Error: "
                        "database is locked\n");
    result_done(&r);

    r = run_cli(&f, ARGS("stats", "encode", "--json"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.out.data, "");
    result_done(&r);

    r = run_cli(&f, ARGS("stats", "bad"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_non_null(strstr(r.err.data, "headroom: GET /v1/models/bad: "));
    result_done(&r);

    r = run_cli(&f, ARGS("stats", "evil"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_non_null(strstr(r.out.data, "\nModel: ?[2J\n"));
    assert_non_null(strstr(r.out.data,
                           "\n  ?]0;x?                       n/a     n/a     n/a     n/a"
                           "     n/a  ?       -\n"));
    for (const unsigned char *p = (const unsigned char *) r.out.data; *p; p++)
        if ((*p < 0x20 && *p != '\n') || *p == 0x7f)
            fail_msg("control character 0x%02x in:\n%s", *p, r.out.data);
    result_done(&r);

    log = fake_stop(&f);
    assert_string_equal(log,
                        "GET /stats?task=encode HTTP/1.1\n"
                        "GET /v1/models/encode HTTP/1.1\n"
                        "GET /v1/models/encode HTTP/1.1\n"
                        "GET /stats?task=bad HTTP/1.1\n"
                        "GET /v1/models/bad HTTP/1.1\n"
                        "GET /stats?task=evil HTTP/1.1\n"
                        "GET /v1/models/evil HTTP/1.1\n");
    free(log);
    free(stats);
}

static void test_unreachable(void **state)
{
    struct fake f;
    struct result r;

    fake_start_logging(&f, FAKE_LOG_REQUEST_LINE, NULL, 0);
    free(fake_stop(&f)); /* the socket is gone: nobody listens */
    assert_int_equal(mkdir(f.dir, 0700), 0);

    r = run_cli(&f, ARGS("predict", "encode"));
    assert_int_equal(r.status, CLI_EXIT_UNAVAILABLE);
    assert_non_null(strstr(r.err.data, "cannot reach the daemon at unix:"));
    result_done(&r);
    r = run_cli(&f, ARGS("stats", "encode"));
    assert_int_equal(r.status, CLI_EXIT_UNAVAILABLE);
    result_done(&r);
    assert_int_equal(rmdir(f.dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_predict, fake_teardown),
        cmocka_unit_test_teardown(test_stats_task, fake_teardown),
        cmocka_unit_test_teardown(test_stats_older_daemon, fake_teardown),
        cmocka_unit_test_teardown(test_stats_model_errors, fake_teardown),
        cmocka_unit_test_teardown(test_unreachable, fake_teardown),
    };

    /* cli_main() loads libcurl at run time to speak HTTP to the fake server; without it there is
     * nothing to test here. */
    if (!fake_init())
        return 77;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
