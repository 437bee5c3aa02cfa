/* SPDX-License-Identifier: MIT */
#include "fake-server.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/macro.h"
#include "cli/cli.h"
#include "cli/curl-dl.h"

/* cmocka.h needs stdarg.h, stddef.h and setjmp.h before it. */
#include <cmocka.h>

/* The server of the running test, for fake_teardown() after a failed assertion. */
static pid_t current_pid = -1;

bool fake_init(void)
{
    fixtures_init();
    if (curl_dl_load(NULL) < 0) {
        fputs("libcurl cannot be loaded, skipping\n", stderr);
        return false;
    }
    signal(SIGPIPE, SIG_IGN);
    return true;
}

int fake_teardown(void **state)
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
static _Noreturn void
serve(int listen_fd, int log_fd, enum fake_log log, const struct route *routes, size_t n_routes)
{
    unsigned used[FAKE_ROUTES_MAX] = { 0 };

    for (;;) {
        char req[131072], head[256], method[16], path[8192], version[16], line[8300];
        const char *body = "{\"error\":\"no such route\"}";
        size_t body_len = strlen(body), len = 0, content_length = 0;
        int status = 404;
        char *end = NULL;
        int c, n;

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

        method[0] = path[0] = version[0] = '\0';
        (void) sscanf(req, "%15s %8191s %15s", method, path, version);
        if (log == FAKE_LOG_REQUEST_LINE)
            n = snprintf(line, sizeof(line), "%s %s %s\n", method, path, version);
        else
            n = snprintf(line, sizeof(line), "%s %s\n", method, path);
        write_all(log_fd, line, (size_t) n);
        if (log == FAKE_LOG_TARGET && end && content_length > 0) {
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

void fake_start_logging(struct fake *f,
                        enum fake_log log,
                        const struct route *routes,
                        size_t n_routes)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd, log_fd;

    assert_true(n_routes <= FAKE_ROUTES_MAX);
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
        serve(fd, log_fd, log, routes, n_routes);
    }
    current_pid = f->pid;
    close(fd);
    close(log_fd);
}

void fake_start(struct fake *f, const struct route *routes, size_t n_routes)
{
    fake_start_logging(f, FAKE_LOG_TARGET, routes, n_routes);
}

char *fake_stop(struct fake *f)
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

void result_done(struct result *r)
{
    free(r->out.data);
    free(r->err.data);
}

int build_argv(const struct fake *f, const char *const *args, char **argv)
{
    int argc = 0;

    argv[argc++] = (char *) "headroom";
    argv[argc++] = (char *) "--server";
    argv[argc++] = (char *) f->server;
    for (size_t i = 0; args[i]; i++) {
        assert_true(argc < FAKE_ARGV_MAX - 2);
        argv[argc++] = (char *) args[i];
    }
    argv[argc] = NULL;
    return argc;
}

struct result run_cli_for(const struct fake *f, const char *const *args, usec_t kill_after_usec)
{
    char out_path[160], err_path[160];
    char *argv[FAKE_ARGV_MAX];
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

struct result run_cli(const struct fake *f, const char *const *args)
{
    return run_cli_for(f, args, 0);
}

bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}
