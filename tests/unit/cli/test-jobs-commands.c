/* SPDX-License-Identifier: MIT */
/* The job commands end to end: cli_main() against a canned HTTP server on a Unix socket in a
 * temporary directory. Each route answers a method and target a number of times (then the next
 * route for the same target answers), so a job can be queued, then running, then done; the server
 * writes every request line, and every request body, to a log, so the tests see what was asked as
 * well as what was printed and the exit status. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

#include "basic/macro.h"
#include "cli/cli.h"
#include "cli/curl-dl.h"
#include "cli/exit-codes.h"

/* cmocka.h needs stdarg.h, stddef.h and setjmp.h before it. */
#include <cmocka.h>

#define FILE_MAX   (1024 * 1024)
#define ROUTES_MAX 32

struct route {
    const char *target; /* "GET /v1/jobs/12": the method and the request target, query included */
    int status;
    const char *body;
    size_t body_len; /* 0: strlen(body) */
    unsigned times;  /* answers this many requests, then gives way; 0: all of them */
};

struct fake {
    char dir[64];
    char sock[128];
    char server[140]; /* "unix:" + sock */
    char log[128];
    pid_t pid;
};

struct blob {
    char *data; /* NUL-terminated */
    size_t size;
};

static struct blob slurp(const char *path)
{
    struct blob b = { .data = calloc(1, FILE_MAX + 1) };
    FILE *f;

    assert_non_null(b.data);
    f = fopen(path, "re");
    if (!f)
        return b;
    b.size = fread(b.data, 1, FILE_MAX, f);
    b.data[b.size] = '\0';
    fclose(f);
    return b;
}

/* $HEADROOM_CLI_FIXTURES, read once: test_submit() clears the environment. */
static const char *fixtures_dir;

static char *fixture(const char *name)
{
    const char *dir = fixtures_dir;
    char path[4096];
    struct blob b;

    assert_non_null(dir);
    assert_true(snprintf(path, sizeof(path), "%s/%s", dir, name) < (int) sizeof(path));
    b = slurp(path);
    if (b.size == 0)
        fail_msg("cannot read %s", path);
    return b.data;
}

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

/* The child: one request per connection, answered from routes (404 for any other target), until
 * it is killed. */
static _Noreturn void serve(int listen_fd, int log_fd, const struct route *routes, size_t n_routes)
{
    unsigned used[ROUTES_MAX] = { 0 };

    for (;;) {
        char req[131072], head[256], method[16], path[8192], line[8300];
        const char *body = "{\"error\":\"no such route\"}";
        size_t body_len = strlen(body), len = 0, content_length = 0;
        int status = 404;
        char *end = NULL;
        int c;

        req[0] = '\0';
        c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

        if (c < 0) {
            if (errno == EINTR)
                continue;
            _exit(0);
        }
        /* The head, then as much of the body as Content-Length says. */
        for (;;) {
            if (!end && (end = strstr(req, "\r\n\r\n"))) {
                const char *cl = strcasestr(req, "\r\nContent-Length:");
                if (cl && cl < end)
                    content_length = strtoul(cl + 17, NULL, 10);
            }
            if (end && len >= (size_t) (end + 4 - req) + content_length)
                break;
            if (len >= sizeof(req) - 1)
                break;
            ssize_t k = read(c, req + len, sizeof(req) - 1 - len);
            if (k <= 0)
                break;
            len += (size_t) k;
            req[len] = '\0';
        }
        req[len] = '\0';

        method[0] = path[0] = '\0';
        (void) sscanf(req, "%15s %8191s", method, path);
        int n = snprintf(line, sizeof(line), "%s %s\n", method, path);
        write_all(log_fd, line, (size_t) n);
        if (end && content_length > 0) {
            write_all(log_fd, "BODY ", 5);
            write_all(log_fd, end + 4, MIN(content_length, len - (size_t) (end + 4 - req)));
            write_all(log_fd, "\n", 1);
        }

        (void) snprintf(line, sizeof(line), "%s %s", method, path);
        for (size_t i = 0; i < n_routes; i++) {
            if (strcmp(routes[i].target, line) != 0)
                continue;
            if (routes[i].times && used[i] >= routes[i].times)
                continue;
            used[i]++;
            status = routes[i].status;
            body = routes[i].body;
            body_len = routes[i].body_len ? routes[i].body_len : strlen(body);
            break;
        }
        int hn = snprintf(head, sizeof(head),
                          "HTTP/1.1 %d Canned\r\nContent-Type: application/json\r\n"
                          "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                          status, body_len);
        write_all(c, head, (size_t) hn);
        write_all(c, body, body_len);
        close(c);
    }
}

static void fake_start(struct fake *f, const struct route *routes, size_t n_routes)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd, log_fd;

    assert_true(n_routes <= ROUTES_MAX);
    strcpy(f->dir, "/tmp/headroom-jobs-test-XXXXXX");
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
    struct blob log;

    (void) kill(f->pid, SIGKILL);
    (void) waitpid(f->pid, NULL, 0);
    current_pid = -1;
    log = slurp(f->log);
    (void) unlink(f->log);
    (void) unlink(f->sock);
    (void) rmdir(f->dir);
    return log.data;
}

struct result {
    int status;
    struct blob out, err;
};

static void result_done(struct result *r)
{
    free(r->out.data);
    free(r->err.data);
}

static int build_argv(const struct fake *f, const char *const *args, char **argv)
{
    int argc = 0;

    argv[argc++] = (char *) "headroom";
    argv[argc++] = (char *) "--server";
    argv[argc++] = (char *) f->server;
    for (size_t i = 0; args[i]; i++) {
        assert_true(argc < 30);
        argv[argc++] = (char *) args[i];
    }
    argv[argc] = NULL;
    return argc;
}

/* Runs "headroom --server unix:SOCK ARGS..." with stdout and stderr captured in files. With
 * kill_after_usec, runs it in a child killed after that long (for --follow, which does not end by
 * itself); status is then -1. */
static struct result run_cli_for(const struct fake *f, const char *const *args, usec_t kill_after_usec)
{
    char out_path[160], err_path[160];
    char *argv[32];
    int argc = build_argv(f, args, argv), saved_out, saved_err, out_fd, err_fd;
    struct result r = { .status = -1 };

    (void) snprintf(out_path, sizeof(out_path), "%s/stdout", f->dir);
    (void) snprintf(err_path, sizeof(err_path), "%s/stderr", f->dir);
    out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    err_fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(out_fd >= 0 && err_fd >= 0);

    fflush(stdout);
    fflush(stderr);
    if (kill_after_usec) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            (void) dup2(out_fd, STDOUT_FILENO);
            (void) dup2(err_fd, STDERR_FILENO);
            _exit(cli_main(argc, argv));
        }
        usleep((useconds_t) kill_after_usec);
        (void) kill(pid, SIGKILL);
        (void) waitpid(pid, NULL, 0);
    } else {
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
    }
    close(out_fd);
    close(err_fd);

    r.out = slurp(out_path);
    r.err = slurp(err_path);
    (void) unlink(out_path);
    (void) unlink(err_path);
    return r;
}

static struct result run_cli(const struct fake *f, const char *const *args)
{
    return run_cli_for(f, args, 0);
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static const char job_queued[] =
        "{\"id\":12,\"state\":\"queued\",\"priority\":\"P0\",\"task\":\"make\",\"argv\":[\"make\"]}";

static void test_submit(void **state)
{
    const struct route routes[] = {
        { "POST /v1/jobs", 201, job_queued, 0, 1 },
        { "POST /v1/jobs", 201, job_queued, 0, 1 },
        { "POST /v1/jobs", 201, job_queued, 0, 1 },
        { "POST /v1/jobs", 400, "{\"error\":\"cwd must be absolute\"}", 0, 1 },
        { "POST /v1/jobs", 403, "{\"error\":\"no identity to run this job as\"}", 0, 1 },
        { "POST /v1/jobs", 503, "{\"error\":\"the queue is full\"}", 0, 1 },
        { "POST /v1/jobs", 501, "{\"error\":\"jobs are not implemented yet\"}", 0, 1 },
        { "POST /v1/jobs", 201, "{\"state\":\"queued\"}", 0, 1 },
    };
    char cwd[PATH_MAX], saved_cwd[PATH_MAX], expected[3 * PATH_MAX];
    struct fake f;
    struct result r;
    char *log;

    fake_start(&f, routes, ELEMENTSOF(routes));
    /* A known working directory and environment: both go into the body. */
    assert_non_null(getcwd(saved_cwd, sizeof(saved_cwd)));
    assert_int_equal(chdir(f.dir), 0);
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(clearenv(), 0);
    assert_int_equal(setenv("LANG", "C.UTF-8", 1), 0);
    assert_int_equal(setenv("HEADROOM_TASK_ID", "t-0000000000000001", 1), 0);

    /* The id alone on stdout, for $(...). */
    r = run_cli(&f, ARGS("submit", "--priority", "P0", "--mem", "1G", "--timeout", "2m", "--",
                         "make", "-j8", "it's"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(r.out.data, "12\n");
    assert_string_equal(r.err.data, "");
    result_done(&r);

    r = run_cli(&f, ARGS("submit", "--json", "make"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(r.out.data, "{\"id\":12,\"state\":\"queued\",\"priority\":\"P0\","
                                    "\"task\":\"make\",\"argv\":[\"make\"]}\n");
    result_done(&r);

    r = run_cli(&f, ARGS("submit", "-q", "make"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(r.out.data, "");
    result_done(&r);

    r = run_cli(&f, ARGS("submit", "make"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.out.data, "");
    assert_string_equal(r.err.data, "headroom: the daemon refused the job: HTTP 400 Bad Request: "
                                    "cwd must be absolute\n");
    result_done(&r);

    r = run_cli(&f, ARGS("submit", "make"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.err.data,
                        "headroom: the daemon will not run a job for this caller: HTTP 403 "
                        "Forbidden: no identity to run this job as (over TCP, a daemon running as "
                        "root needs a token of the user's own)\n");
    result_done(&r);

    r = run_cli(&f, ARGS("submit", "make"));
    assert_int_equal(r.status, CLI_EXIT_NO_CAPACITY);
    assert_non_null(strstr(r.err.data, "the daemon cannot do it now, try again later"));
    result_done(&r);

    r = run_cli(&f, ARGS("submit", "make"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_non_null(strstr(r.err.data, "POST /v1/jobs: this daemon does not run jobs"));
    result_done(&r);

    r = run_cli(&f, ARGS("submit", "make"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.err.data, "headroom: POST /v1/jobs: the answer has no job id\n");
    result_done(&r);

    /* Refused before anything is sent. */
    r = run_cli(&f, ARGS("submit", "echo", "\xff"));
    assert_int_equal(r.status, CLI_EXIT_USAGE);
    assert_non_null(strstr(r.err.data, "not valid UTF-8"));
    result_done(&r);

    assert_int_equal(chdir(saved_cwd), 0);
    log = fake_stop(&f);
    (void) snprintf(expected, sizeof(expected),
                    "POST /v1/jobs\n"
                    "BODY {\"argv\":[\"make\",\"-j8\",\"it's\"],\"cwd\":\"%s\",\"env\":[\"LANG=C.UTF-8\"],"
                    "\"needs\":{\"mem_bytes\":1073741824},\"priority\":\"P0\",\"timeout_sec\":120}\n"
                    "POST /v1/jobs\n"
                    "BODY {\"argv\":[\"make\"],\"cwd\":\"%s\",\"env\":[\"LANG=C.UTF-8\"]}\n",
                    cwd, cwd);
    assert_true(strlen(log) > strlen(expected));
    assert_memory_equal(log, expected, strlen(expected));
    free(log);
}

static void test_jobs(void **state)
{
    char *jobs = fixture("jobs.json");
    const struct route routes[] = {
        { "GET /v1/jobs", 200, jobs, 0, 0 },
        { "GET /v1/jobs/12", 200, "{\"id\":12,\"state\":\"done\",\"exit_code\":0,\"argv\":[\"x\"]}", 0, 0 },
        { "GET /v1/jobs/99", 404, "{\"error\":\"no such job\"}", 0, 0 },
    };
    struct fake f;
    struct result r;
    char *log;

    fake_start(&f, routes, ELEMENTSOF(routes));

    r = run_cli(&f, ARGS("jobs"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_true(starts_with(r.out.data, "ID  STATE      PRI  USER   TASK "));
    assert_non_null(strstr(r.out.data, "\n12  running    P1   alice  encode "));
    assert_null(strstr(r.out.data, "\n9 ")); /* finished */
    result_done(&r);

    r = run_cli(&f, ARGS("jobs", "--all"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_non_null(strstr(r.out.data, "\n9   done       P1   root   backup "));
    result_done(&r);

    r = run_cli(&f, ARGS("jobs", "--json"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    /* The answer, compacted. */
    assert_true(starts_with(r.out.data, "{\"jobs\":[{\"id\":9,\"state\":\"done\",\"priority\":\"P1\""));
    result_done(&r);

    /* One job, finished or not. */
    r = run_cli(&f, ARGS("jobs", "12"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_non_null(strstr(r.out.data, "\n12  done   -    -     -     -            exit 0       x\n"));
    result_done(&r);

    r = run_cli(&f, ARGS("jobs", "99"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.out.data, "");
    assert_string_equal(r.err.data, "headroom: no such job 99 (HTTP 404 Not Found: no such job)\n");
    result_done(&r);

    log = fake_stop(&f);
    assert_string_equal(log, "GET /v1/jobs\nGET /v1/jobs\nGET /v1/jobs\nGET /v1/jobs/12\n"
                             "GET /v1/jobs/99\n");
    free(log);
    free(jobs);
}

static void test_logs(void **state)
{
    static const char binary[] = "a\0b\x1b[31m\xff\n";
    const struct route routes[] = {
        /* A finished job: read to the end, no state asked. */
        { "GET /v1/jobs/5/log?offset=0", 200, "hello\n", 0, 0 },
        { "GET /v1/jobs/5/log?offset=6", 200, binary, sizeof(binary) - 1, 0 },
        { "GET /v1/jobs/5/log?offset=16", 200, "", 0, 0 },
        /* Followed from queued to done. */
        { "GET /v1/jobs/20/log?offset=0", 404, "{\"error\":\"no log yet\"}", 0, 1 },
        { "GET /v1/jobs/20", 200, "{\"id\":20,\"state\":\"queued\"}", 0, 1 },
        { "GET /v1/jobs/20/log?offset=0", 200, "start\n", 0, 0 },
        { "GET /v1/jobs/20/log?offset=6", 200, "", 0, 1 },
        { "GET /v1/jobs/20", 200, "{\"id\":20,\"state\":\"running\"}", 0, 1 },
        { "GET /v1/jobs/20/log?offset=6", 200, "end\n", 0, 0 },
        { "GET /v1/jobs/20/log?offset=10", 200, "", 0, 0 },
        { "GET /v1/jobs/20", 200, "{\"id\":20,\"state\":\"done\",\"exit_code\":0}", 0, 0 },
        /* Queued, not followed; no such job; not ours. */
        { "GET /v1/jobs/21/log?offset=0", 404, "{\"error\":\"no log yet\"}", 0, 0 },
        { "GET /v1/jobs/21", 200, "{\"id\":21,\"state\":\"queued\"}", 0, 0 },
        { "GET /v1/jobs/22/log?offset=0", 404, "{\"error\":\"no such job\"}", 0, 0 },
        { "GET /v1/jobs/22", 404, "{\"error\":\"no such job\"}", 0, 0 },
        { "GET /v1/jobs/23/log?offset=0", 403, "{\"error\":\"not the owner\"}", 0, 0 },
        /* Cancelled while queued: there will never be a log. */
        { "GET /v1/jobs/24/log?offset=0", 404, "{\"error\":\"no log\"}", 0, 0 },
        { "GET /v1/jobs/24", 200, "{\"id\":24,\"state\":\"cancelled\"}", 0, 0 },
    };
    struct fake f;
    struct result r;
    char *log;

    fake_start(&f, routes, ELEMENTSOF(routes));

    r = run_cli(&f, ARGS("logs", "5"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_int_equal(r.out.size, 6 + sizeof(binary) - 1);
    assert_memory_equal(r.out.data, "hello\n", 6);
    assert_memory_equal(r.out.data + 6, binary, sizeof(binary) - 1); /* byte for byte */
    assert_string_equal(r.err.data, "");
    result_done(&r);

    r = run_cli(&f, ARGS("logs", "-f", "20"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(r.out.data, "start\nend\n");
    assert_string_equal(r.err.data, "");
    result_done(&r);

    r = run_cli(&f, ARGS("logs", "21"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(r.out.data, "");
    assert_string_equal(r.err.data,
                        "headroom: warning: job 21 has no log yet (it is queued); -f waits for it\n");
    result_done(&r);

    r = run_cli(&f, ARGS("logs", "22"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.err.data, "headroom: no such job 22 (HTTP 404 Not Found: no such job)\n");
    result_done(&r);

    r = run_cli(&f, ARGS("logs", "23", "-f"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.err.data, "headroom: job 23 is not yours: only its owner and root may "
                                    "(HTTP 403 Forbidden: not the owner)\n");
    result_done(&r);

    r = run_cli(&f, ARGS("logs", "24", "-f"));
    assert_int_equal(r.status, CLI_EXIT_SUCCESS);
    assert_string_equal(r.err.data, "headroom: warning: job 24 was cancelled without a log\n");
    result_done(&r);

    log = fake_stop(&f);
    assert_string_equal(log,
                        "GET /v1/jobs/5/log?offset=0\n"
                        "GET /v1/jobs/5/log?offset=6\n"
                        "GET /v1/jobs/5/log?offset=16\n"
                        "GET /v1/jobs/20/log?offset=0\n"
                        "GET /v1/jobs/20\n"
                        "GET /v1/jobs/20/log?offset=0\n"
                        "GET /v1/jobs/20/log?offset=6\n"
                        "GET /v1/jobs/20\n"
                        "GET /v1/jobs/20/log?offset=6\n"
                        "GET /v1/jobs/20/log?offset=10\n"
                        "GET /v1/jobs/20\n"
                        "GET /v1/jobs/20/log?offset=10\n"
                        "GET /v1/jobs/21/log?offset=0\n"
                        "GET /v1/jobs/21\n"
                        "GET /v1/jobs/22/log?offset=0\n"
                        "GET /v1/jobs/22\n"
                        "GET /v1/jobs/23/log?offset=0\n"
                        "GET /v1/jobs/24/log?offset=0\n"
                        "GET /v1/jobs/24\n"
                        "GET /v1/jobs/24/log?offset=0\n");
    free(log);
}

static void test_wait(void **state)
{
    const struct route routes[] = {
        { "GET /v1/jobs/30", 200, "{\"id\":30,\"state\":\"running\"}", 0, 2 },
        { "GET /v1/jobs/30", 200, "{\"id\":30,\"state\":\"failed\",\"exit_code\":3}", 0, 0 },
        { "GET /v1/jobs/31", 200, "{\"id\":31,\"state\":\"cancelled\",\"exit_code\":null}", 0, 0 },
        { "GET /v1/jobs/32", 200,
          "{\"id\":32,\"state\":\"lost\",\"reason\":\"the daemon restarted\\u001b[2J\"}", 0, 0 },
        { "GET /v1/jobs/33", 200, "{\"id\":33,\"state\":\"running\"}", 0, 0 },
        { "GET /v1/jobs/34", 200, "{\"id\":34,\"state\":\"done\",\"exit_code\":0}", 0, 0 },
        { "GET /v1/jobs/35", 404, "{\"error\":\"no such job\"}", 0, 0 },
        { "GET /v1/jobs/36", 200, "{\"id\":36,\"state\":\"failed\",\"exit_code\":null,"
                                  "\"reason\":\"execvp: No such file or directory\"}", 0, 0 },
        { "GET /v1/jobs/37", 200, "[1,2]", 0, 0 },
    };
    struct fake f;
    struct result r;
    usec_t t0;
    char *log;

    fake_start(&f, routes, ELEMENTSOF(routes));

    r = run_cli(&f, ARGS("wait", "30"));
    assert_int_equal(r.status, 3);
    assert_string_equal(r.out.data, "");
    assert_string_equal(r.err.data, "headroom: job 30 failed: exit 3\n");
    result_done(&r);

    r = run_cli(&f, ARGS("wait", "31"));
    assert_int_equal(r.status, 75);
    assert_string_equal(r.err.data, "headroom: job 31 cancelled: before it started\n");
    result_done(&r);

    r = run_cli(&f, ARGS("wait", "32"));
    assert_int_equal(r.status, 125);
    assert_string_equal(r.err.data,
                        "headroom: job 32 lost: no exit status (the daemon restarted?[2J)\n");
    result_done(&r);

    r = run_cli(&f, ARGS("wait", "36", "-q"));
    assert_int_equal(r.status, 125);
    assert_string_equal(r.err.data, "");
    result_done(&r);

    t0 = now_usec(CLOCK_MONOTONIC);
    r = run_cli(&f, ARGS("wait", "33", "--timeout", "700ms"));
    assert_int_equal(r.status, 124);
    assert_true(now_usec(CLOCK_MONOTONIC) - t0 >= 700 * USEC_PER_MSEC);
    assert_string_equal(r.err.data, "headroom: job 33 is still running\n");
    result_done(&r);

    r = run_cli(&f, ARGS("wait", "34", "--json"));
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out.data, "{\"id\":34,\"state\":\"done\",\"exit_code\":0}\n");
    assert_string_equal(r.err.data, "");
    result_done(&r);

    r = run_cli(&f, ARGS("wait", "35"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.err.data, "headroom: no such job 35 (HTTP 404 Not Found: no such job)\n");
    result_done(&r);

    r = run_cli(&f, ARGS("wait", "37"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.err.data, "headroom: GET /v1/jobs/37: the answer is not a job\n");
    result_done(&r);

    log = fake_stop(&f);
    /* Polled until finished: twice running, then failed. */
    assert_true(starts_with(log, "GET /v1/jobs/30\nGET /v1/jobs/30\nGET /v1/jobs/30\nGET /v1/jobs/31\n"));
    free(log);
}

static void test_control(void **state)
{
    const struct route routes[] = {
        { "POST /v1/jobs/12/cancel", 200, "{\"id\":12,\"state\":\"cancelled\"}", 0, 0 },
        { "POST /v1/jobs/13/cancel", 200, "{\"id\":13,\"state\":\"running\"}", 0, 0 },
        { "POST /v1/jobs/13/suspend", 409, "{\"error\":\"the job is not running\"}", 0, 0 },
        { "POST /v1/jobs/7/resume", 200, "{\"id\":7,\"state\":\"running\"}", 0, 0 },
        { "POST /v1/jobs/14/cancel", 403, "{\"error\":\"not the owner\"}", 0, 0 },
        { "POST /v1/jobs/15/cancel", 404, "{\"error\":\"no such job\"}", 0, 0 },
        { "POST /v1/tasks/t-00000000000000aa/suspend", 200,
          "{\"id\":\"t-00000000000000aa\",\"state\":\"suspended\"}", 0, 0 },
        { "POST /v1/tasks/t-00000000000000aa/cancel", 200, "{\"id\":\"t-00000000000000aa\"}", 0, 0 },
    };
    struct fake f;
    struct result r;
    char *log;

    fake_start(&f, routes, ELEMENTSOF(routes));

    r = run_cli(&f, ARGS("cancel", "12"));
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out.data, "job 12 cancelled\n");
    result_done(&r);

    r = run_cli(&f, ARGS("cancel", "13"));
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out.data, "job 13 is being cancelled\n");
    result_done(&r);

    r = run_cli(&f, ARGS("suspend", "13"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.out.data, "");
    assert_string_equal(r.err.data, "headroom: job 13: refused in its current state (HTTP 409 "
                                    "Conflict: the job is not running)\n");
    result_done(&r);

    r = run_cli(&f, ARGS("resume", "007"));
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out.data, "job 7 resumed\n");
    result_done(&r);

    r = run_cli(&f, ARGS("cancel", "14"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.err.data, "headroom: job 14 is not yours: only its owner and root may "
                                    "(HTTP 403 Forbidden: not the owner)\n");
    result_done(&r);

    r = run_cli(&f, ARGS("cancel", "15"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.err.data, "headroom: no such job 15 (HTTP 404 Not Found: no such job)\n");
    result_done(&r);

    r = run_cli(&f, ARGS("suspend", "t-00000000000000aa"));
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out.data, "task t-00000000000000aa suspended\n");
    result_done(&r);

    r = run_cli(&f, ARGS("cancel", "t-00000000000000aa", "--json"));
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out.data, "{\"id\":\"t-00000000000000aa\"}\n");
    result_done(&r);

    r = run_cli(&f, ARGS("cancel", "-q", "12"));
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out.data, "");
    result_done(&r);

    log = fake_stop(&f);
    assert_string_equal(log, "POST /v1/jobs/12/cancel\n"
                             "POST /v1/jobs/13/cancel\n"
                             "POST /v1/jobs/13/suspend\n"
                             "POST /v1/jobs/7/resume\n"
                             "POST /v1/jobs/14/cancel\n"
                             "POST /v1/jobs/15/cancel\n"
                             "POST /v1/tasks/t-00000000000000aa/suspend\n"
                             "POST /v1/tasks/t-00000000000000aa/cancel\n"
                             "POST /v1/jobs/12/cancel\n");
    free(log);
}

static void test_events(void **state)
{
    char *events = fixture("events.json");
    const struct route routes[] = {
        { "GET /v1/events?after=0&limit=1000", 200, events, 0, 0 },
        { "GET /v1/events?after=5&limit=1000&type=task:stalled", 200,
          "{\"events\":[{\"seq\":6,\"time\":\"2026-11-23T17:00:00Z\",\"type\":\"task:stalled\","
          "\"job_id\":3}],\"last_seq\":6}", 0, 0 },
        /* Followed: two events, then nothing new, then one more. */
        { "GET /v1/events?after=100&limit=1000", 200,
          "{\"events\":[{\"seq\":101,\"type\":\"job:queued\",\"job_id\":1},"
          "{\"seq\":102,\"type\":\"job:queued\",\"job_id\":2}],\"last_seq\":102}", 0, 0 },
        { "GET /v1/events?after=102&limit=1000", 200, "{\"events\":[],\"last_seq\":102}", 0, 1 },
        { "GET /v1/events?after=102&limit=1000", 200,
          "{\"events\":[{\"seq\":103,\"type\":\"job:lost\",\"job_id\":3}],\"last_seq\":103}", 0, 0 },
        { "GET /v1/events?after=103&limit=1000", 200, "{\"events\":[],\"last_seq\":103}", 0, 0 },
        { "GET /v1/events?after=7&limit=1000", 200, "{\"last_seq\":7}", 0, 0 },
        { "GET /v1/events?after=8&limit=1000", 501, "{\"error\":\"events are not implemented yet\"}", 0, 0 },
    };
    struct fake f;
    struct result r;
    char *log;

    fake_start(&f, routes, ELEMENTSOF(routes));

    r = run_cli(&f, ARGS("events"));
    assert_int_equal(r.status, 0);
    assert_true(starts_with(r.out.data,
                            "2026-11-23 17:00:00Z  task:stalled          job 12 'encode'  last "
                            "activity 2026-11-23 16:55:00Z\n"
                            "2026-11-23 17:00:05Z  task:high-memory      "));
    {
        size_t lines = 0;
        for (const char *p = r.out.data; *p; p++)
            lines += *p == '\n';
        assert_int_equal(lines, 8);
    }
    result_done(&r);

    r = run_cli(&f, ARGS("events", "--type", "task:stalled", "--after", "5", "--json"));
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out.data, "{\"seq\":6,\"time\":\"2026-11-23T17:00:00Z\",\"type\":"
                                    "\"task:stalled\",\"job_id\":3}\n");
    result_done(&r);

    r = run_cli_for(&f, ARGS("events", "-f", "--after", "100", "--json"), 1800 * USEC_PER_MSEC);
    assert_string_equal(r.out.data, "{\"seq\":101,\"type\":\"job:queued\",\"job_id\":1}\n"
                                    "{\"seq\":102,\"type\":\"job:queued\",\"job_id\":2}\n"
                                    "{\"seq\":103,\"type\":\"job:lost\",\"job_id\":3}\n");
    result_done(&r);

    r = run_cli(&f, ARGS("events", "--after", "7"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_string_equal(r.err.data,
                        "headroom: GET /v1/events?after=7&limit=1000: the answer has no event list\n");
    result_done(&r);

    r = run_cli(&f, ARGS("events", "--after", "8"));
    assert_int_equal(r.status, CLI_EXIT_FAILURE);
    assert_non_null(strstr(r.err.data, "this daemon does not run jobs"));
    result_done(&r);

    log = fake_stop(&f);
    assert_true(starts_with(log, "GET /v1/events?after=0&limit=1000\n"
                                 "GET /v1/events?after=5&limit=1000&type=task:stalled\n"
                                 "GET /v1/events?after=100&limit=1000\n"
                                 "GET /v1/events?after=102&limit=1000\n"
                                 "GET /v1/events?after=102&limit=1000\n"));
    /* Then it goes on from the last event seen. */
    assert_non_null(strstr(log, "GET /v1/events?after=103&limit=1000\n"));
    free(log);
    free(events);
}

static void test_unreachable(void **state)
{
    const char *const *const cases[] = {
        ARGS("submit", "true"), ARGS("jobs"),        ARGS("logs", "1"),   ARGS("wait", "1"),
        ARGS("cancel", "1"),    ARGS("suspend", "1"), ARGS("resume", "1"), ARGS("events", "-f"),
    };
    struct fake f;

    fake_start(&f, NULL, 0);
    free(fake_stop(&f)); /* the socket is gone: nobody listens */
    assert_int_equal(mkdir(f.dir, 0700), 0);
    for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
        struct result r = run_cli(&f, cases[i]);
        if (r.status != CLI_EXIT_UNAVAILABLE)
            fail_msg("%s: exit %d", cases[i][0], r.status);
        assert_non_null(strstr(r.err.data, "cannot reach the daemon at unix:"));
        result_done(&r);
    }
    assert_int_equal(rmdir(f.dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_submit, teardown),
        cmocka_unit_test_teardown(test_jobs, teardown),
        cmocka_unit_test_teardown(test_logs, teardown),
        cmocka_unit_test_teardown(test_wait, teardown),
        cmocka_unit_test_teardown(test_control, teardown),
        cmocka_unit_test_teardown(test_events, teardown),
        cmocka_unit_test_teardown(test_unreachable, teardown),
    };

    fixtures_dir = getenv("HEADROOM_CLI_FIXTURES");
    /* cli_main() loads libcurl at run time to speak HTTP to the fake server; without it there is
     * nothing to test here. */
    if (curl_dl_load(NULL) < 0) {
        fputs("libcurl cannot be loaded, skipping\n", stderr);
        return 77;
    }
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
