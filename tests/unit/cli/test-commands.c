/* SPDX-License-Identifier: MIT */
/* The "predict" and "stats" commands end to end: cli_main() against a canned HTTP server on a Unix
 * socket in a temporary directory. The server answers each path from a table and writes every
 * request line to a log, so the tests see both what was asked and what was printed. */

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/curl-dl.h"
#include "cli/exit-codes.h"
#include "cli/http-client.h"

/* cmocka.h needs stdarg.h, stddef.h and setjmp.h before it. */
#include <cmocka.h>

#define FILE_MAX (1024 * 1024)

struct route {
    const char *path; /* the request target, query included */
    int status;
    const char *body;
};

struct fake {
    char dir[64];
    char sock[128];
    char server[140]; /* "unix:" + sock */
    char log[128];
    pid_t pid;
};

/* The whole file, NUL-terminated; "" when it does not exist. Owned by the caller. */
static char *slurp(const char *path)
{
    char *buf = calloc(1, FILE_MAX + 1);
    FILE *f;
    size_t n;

    assert_non_null(buf);
    f = fopen(path, "re");
    if (!f)
        return buf;
    n = fread(buf, 1, FILE_MAX, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static char *fixture(const char *name)
{
    const char *dir = getenv("HEADROOM_CLI_FIXTURES");
    char path[4096];
    char *s;

    assert_non_null(dir);
    assert_true(snprintf(path, sizeof(path), "%s/%s", dir, name) < (int) sizeof(path));
    s = slurp(path);
    if (s[0] == '\0')
        fail_msg("cannot read %s", path);
    return s;
}

/* The server of the running test, for teardown() after a failed assertion. */
static pid_t current_pid = -1;

static int teardown(void **state)
{
    if (current_pid > 0) {
        (void) kill(current_pid, SIGKILL);
        (void) waitpid(current_pid, NULL, 0);
        current_pid = -1;
    }
    return 0;
}

static void write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, s, n);
        if (k <= 0)
            return;
        s += k;
        n -= (size_t) k;
    }
}

/* The child: one request per connection, answered from routes (404 for any other path), until
 * it is killed. */
static _Noreturn void serve(int listen_fd, int log_fd, const struct route *routes, size_t n_routes)
{
    for (;;) {
        char req[16384], head[256], path[8192];
        const char *body = "{\"error\":\"no such route\"}";
        int status = 404;
        size_t len = 0;
        int c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

        if (c < 0) {
            if (errno == EINTR)
                continue;
            _exit(0);
        }
        while (len < sizeof(req) - 1) {
            ssize_t k = read(c, req + len, sizeof(req) - 1 - len);
            if (k <= 0)
                break;
            len += (size_t) k;
            req[len] = '\0';
            if (strstr(req, "\r\n\r\n"))
                break;
        }
        req[len] = '\0';
        char *eol = strstr(req, "\r\n");
        if (eol)
            *eol = '\0';
        write_all(log_fd, req, strlen(req));
        write_all(log_fd, "\n", 1);

        path[0] = '\0';
        (void) sscanf(req, "%*s %8191s", path);
        for (size_t i = 0; i < n_routes; i++)
            if (strcmp(routes[i].path, path) == 0) {
                status = routes[i].status;
                body = routes[i].body;
                break;
            }
        int hn = snprintf(head, sizeof(head),
                          "HTTP/1.1 %d Canned\r\nContent-Type: application/json\r\n"
                          "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                          status, strlen(body));
        write_all(c, head, (size_t) hn);
        write_all(c, body, strlen(body));
        close(c);
    }
}

static void fake_start(struct fake *f, const struct route *routes, size_t n_routes)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd, log_fd;

    strcpy(f->dir, "/tmp/headroom-cli-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    (void) snprintf(f->sock, sizeof(f->sock), "%s/s.sock", f->dir);
    (void) snprintf(f->server, sizeof(f->server), "unix:%s", f->sock);
    (void) snprintf(f->log, sizeof(f->log), "%s/requests", f->dir);

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    strcpy(sa.sun_path, f->sock);
    assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 16), 0);
    log_fd = open(f->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    assert_true(log_fd >= 0);

    f->pid = fork();
    assert_true(f->pid >= 0);
    if (f->pid == 0) {
        /* Gone with the test runner, and after a while in any case, so that a failed assertion
         * (which skips fake_stop()) leaves nothing behind. */
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() == 1)
            _exit(0);
        alarm(30);
        serve(fd, log_fd, routes, n_routes);
    }
    current_pid = f->pid;
    close(fd);
    close(log_fd);
}

/* Stops the server and returns its request log (owned by the caller). */
static char *fake_stop(struct fake *f)
{
    char *log;

    (void) kill(f->pid, SIGKILL);
    (void) waitpid(f->pid, NULL, 0);
    current_pid = -1;
    log = slurp(f->log);
    (void) unlink(f->log);
    (void) unlink(f->sock);
    (void) rmdir(f->dir);
    return log;
}

struct result {
    int status;
    char *out, *err;
};

static void result_done(struct result *r)
{
    free(r->out);
    free(r->err);
}

/* Runs "headroom --server unix:SOCK ARGS..." with stdout and stderr captured in files. */
static struct result run_cli(const struct fake *f, const char *const *args)
{
    char out_path[160], err_path[160];
    char *argv[16];
    int argc = 0, saved_out, saved_err, out_fd, err_fd;
    struct result r;

    argv[argc++] = (char *) "headroom";
    argv[argc++] = (char *) "--server";
    argv[argc++] = (char *) f->server;
    for (size_t i = 0; args[i]; i++) {
        assert_true(argc < 15);
        argv[argc++] = (char *) args[i];
    }
    argv[argc] = NULL;

    (void) snprintf(out_path, sizeof(out_path), "%s/stdout", f->dir);
    (void) snprintf(err_path, sizeof(err_path), "%s/stderr", f->dir);
    out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    err_fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(out_fd >= 0 && err_fd >= 0);

    fflush(stdout);
    fflush(stderr);
    saved_out = dup(STDOUT_FILENO);
    saved_err = dup(STDERR_FILENO);
    assert_true(saved_out >= 0 && saved_err >= 0);
    assert_int_equal(dup2(out_fd, STDOUT_FILENO), STDOUT_FILENO);
    assert_int_equal(dup2(err_fd, STDERR_FILENO), STDERR_FILENO);

    r.status = cli_main(argc, argv);

    fflush(stdout);
    fflush(stderr);
    (void) dup2(saved_out, STDOUT_FILENO);
    (void) dup2(saved_err, STDERR_FILENO);
    close(saved_out);
    close(saved_err);
    close(out_fd);
    close(err_fd);

    r.out = slurp(out_path);
    r.err = slurp(err_path);
    (void) unlink(out_path);
    (void) unlink(err_path);
    return r;
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

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
    char *model = fixture("model-encode.json");
    const struct route routes[] = {
        { "/v1/models/encode?complexity=1080", 200, model },
        { "/v1/models/encode?complexity=0", 200, "{\"resources\":{},\"sufficient\":false}" },
        { "/v1/models/my%20task?complexity=2.5", 400, "{\"error\":\"bad complexity\"}" },
        { "/v1/models/nosuch?complexity=0", 404, not_found },
        { "/v1/models/down?complexity=0", 500, "{\"error\":\"store failed\"}" },
    };
    struct fake f;
    struct result r;
    char *log;

    fake_start(&f, routes, ELEMENTSOF(routes));

    r = run_cli(&f, ARGS("predict", "encode", "--complexity", "1080"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(
            r.out,
            "Prediction for 'encode' at complexity 1080 (model ewls, 12 observations):\n"
            "  cpu      expected 31.3 %, upper 33.4 %, confidence 0.82, n 12, sufficient\n"
            "  memory   expected 5.6 % (3.6 GiB), upper 6.4 % (4.1 GiB), confidence 0.90, n 12, "
            "sufficient\n"
            "admission will reserve: cpu 31.3 %, memory 6.4 % (4.1 GiB)\n");
    assert_string_equal(r.err, "");
    result_done(&r);

    /* --json: the answer as it came. */
    r = run_cli(&f, ARGS("--json", "predict", "encode", "--complexity=1080"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(r.out, model);
    result_done(&r);

    /* --quiet: nothing, exit status only. */
    r = run_cli(&f, ARGS("predict", "encode", "--complexity=1080", "-q"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(r.out, "");
    result_done(&r);

    /* The default complexity is 0, and it is sent. */
    r = run_cli(&f, ARGS("predict", "encode"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_non_null(strstr(r.out, "too few observations (n/a of n/a)"));
    result_done(&r);

    r = run_cli(&f, ARGS("predict", "nosuch"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.out, "");
    assert_string_equal(r.err, "headroom: task not found: nosuch\n");
    result_done(&r);

    r = run_cli(&f, ARGS("predict", "my task", "--complexity", "2.5"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.err,
                        "headroom: GET /v1/models/my%20task?complexity=2.5: HTTP 400 Bad "
                        "Request: bad complexity\n");
    result_done(&r);

    r = run_cli(&f, ARGS("predict", "down"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_non_null(strstr(r.err, "HTTP 500 Internal Server Error: store failed"));
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
    char *model = fixture("model-encode-noquery.json");
    char *stats = fixture("stats-encode.json");
    const struct route routes[] = {
        { "/stats?task=encode", 200, stats },
        { "/v1/models/encode", 200, model },
        { "/stats?task=nosuch", 404, "{\"error\":\"task not found\"}" },
        { "/v1/models/nosuch", 404, not_found },
    };
    struct fake f;
    struct result r;
    char *log;

    fake_start(&f, routes, ELEMENTSOF(routes));

    /* The capfox block first, then the model. */
    r = run_cli(&f, ARGS("stats", "encode"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(r.err, "");
    assert_true(strncmp(r.out, capfox_block, strlen(capfox_block)) == 0);
    assert_non_null(strstr(r.out,
                           "+5.95%\n\nModel: ewls (lambda 0.97, quantile 0.95, shrinkage_weight 5, "
                           "margin_factor 1)\n  Observations: 12 (5 needed to decide: "
                           "sufficient)\n"));
    assert_non_null(strstr(r.out,
                           "  cpu            0.01       20.5        0.82    12     2.1    "
                           "35.0  yes\n"));
    assert_non_null(strstr(r.out,
                           "  2 of 12 observations overlapped another task's window and "
                           "were down-weighted\n"));
    assert_non_null(strstr(r.out, "; memory declared 1.5 pp above what was observed (EMA)\n"));
    assert_non_null(strstr(r.out, "  (2 older not shown; --json has them)\n"));
    result_done(&r);

    /* --json: the model's answer only. */
    r = run_cli(&f, ARGS("stats", "encode", "--json"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(r.out, model);
    result_done(&r);

    r = run_cli(&f, ARGS("stats", "nosuch"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.out, "");
    assert_string_equal(r.err, "headroom: task not found: nosuch\n");
    result_done(&r);

    r = run_cli(&f, ARGS("stats", "nosuch", "--json"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.out, "");
    assert_string_equal(r.err, "headroom: task not found: nosuch\n");
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
    char *stats = fixture("stats-encode.json");
    const struct route older[] = {
        { "/stats?task=encode", 200, stats },
    };
    const struct route capfox[] = {
        { "/stats?task=encode", 200, stats },
        { "/v1/models/encode", 200, "{\"status\":\"ok\"}" },
        { "/stats", 200, "{\"tasks\":{},\"total_tasks\":0}" },
    };
    struct fake f;
    struct result r;
    char *log;

    fake_start(&f, older, ELEMENTSOF(older));
    r = run_cli(&f, ARGS("stats", "encode"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(r.out, capfox_block);
    assert_string_equal(r.err, "");
    result_done(&r);
    r = run_cli(&f, ARGS("stats", "encode", "--json"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(r.out, stats);
    result_done(&r);
    log = fake_stop(&f);
    assert_string_equal(log,
                        "GET /stats?task=encode HTTP/1.1\n"
                        "GET /v1/models/encode HTTP/1.1\n"
                        "GET /v1/models/encode HTTP/1.1\n"
                        "GET /stats?task=encode HTTP/1.1\n");
    free(log);

    fake_start(&f, capfox, ELEMENTSOF(capfox));
    r = run_cli(&f, ARGS("stats", "encode"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(r.out, capfox_block);
    result_done(&r);
    r = run_cli(&f, ARGS("stats", "encode", "--json"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(r.out, stats);
    result_done(&r);
    /* Without TASK nothing changed: /stats only. */
    r = run_cli(&f, ARGS("stats"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(r.out,
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
    char *stats = fixture("stats-encode.json");
    const struct route routes[] = {
        { "/stats?task=encode", 200, stats },
        { "/v1/models/encode", 500, "{\"error\":\"database is locked\"}" },
        { "/stats?task=bad", 200, "{\"task\":\"bad\",\"count\":1}" },
        { "/v1/models/bad", 200, "not json" },
        { "/stats?task=evil", 200, "{\"task\":\"evil\",\"count\":1}" },
        { "/v1/models/evil", 200,
          "{\"model\":\"\\u001b[2J\",\"resources\":{\"cpu\":{\"n\":1}},"
          "\"recent\":[{\"started_at\":\"\\u001b]0;x\\u0007\",\"source\":\"\\r\"}]}" },
    };
    struct fake f;
    struct result r;
    char *log;

    fake_start(&f, routes, ELEMENTSOF(routes));

    /* The block has been printed when the model fails: it stays, and the exit status says. */
    r = run_cli(&f, ARGS("stats", "encode"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.out, capfox_block);
    assert_string_equal(r.err,
                        "headroom: GET /v1/models/encode: HTTP 500 Internal Server Error: "
                        "database is locked\n");
    result_done(&r);

    r = run_cli(&f, ARGS("stats", "encode", "--json"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.out, "");
    result_done(&r);

    r = run_cli(&f, ARGS("stats", "bad"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_non_null(strstr(r.err, "headroom: GET /v1/models/bad: "));
    result_done(&r);

    r = run_cli(&f, ARGS("stats", "evil"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_non_null(strstr(r.out, "\nModel: ?[2J\n"));
    assert_non_null(strstr(r.out,
                           "\n  ?]0;x?                       n/a     n/a     n/a     n/a"
                           "     n/a  ?       -\n"));
    for (const unsigned char *p = (const unsigned char *) r.out; *p; p++)
        if ((*p < 0x20 && *p != '\n') || *p == 0x7f)
            fail_msg("control character 0x%02x in:\n%s", *p, r.out);
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

    fake_start(&f, NULL, 0);
    free(fake_stop(&f)); /* the socket is gone: nobody listens */
    assert_int_equal(mkdir(f.dir, 0700), 0);

    r = run_cli(&f, ARGS("predict", "encode"));
    assert_int_equal(r.status, CLI_EXIT_UNAVAILABLE);
    assert_non_null(strstr(r.err, "cannot reach the daemon at unix:"));
    result_done(&r);
    r = run_cli(&f, ARGS("stats", "encode"));
    assert_int_equal(r.status, CLI_EXIT_UNAVAILABLE);
    result_done(&r);
    assert_int_equal(rmdir(f.dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_predict, teardown),
        cmocka_unit_test_teardown(test_stats_task, teardown),
        cmocka_unit_test_teardown(test_stats_older_daemon, teardown),
        cmocka_unit_test_teardown(test_stats_model_errors, teardown),
        cmocka_unit_test_teardown(test_unreachable, teardown),
    };

    /* cli_main() loads libcurl at run time to speak HTTP to the fake server; without it there is
     * nothing to test here. */
    if (curl_dl_load(NULL) < 0) {
        fputs("libcurl cannot be loaded, skipping\n", stderr);
        return 77;
    }
    /* A client that hangs up early must not kill the server (the children inherit this). */
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
