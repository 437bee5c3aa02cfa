/* SPDX-License-Identifier: MIT */
#pragma once

/* A canned daemon for the client's end-to-end tests: an HTTP server on a Unix socket in a fresh
 * temporary directory, in a forked child, that answers each request from a table of routes and
 * writes every request to a log, so that a test sees what was asked as well as what was printed;
 * and cli_main() run against it with its stdout and stderr captured. Each function fails the
 * running cmocka test on an error of its own. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "basic/time-util.h"
#include "cli-fixtures.h"

#define FAKE_ROUTES_MAX 32
#define FAKE_ARGV_MAX   32 /* build_argv()'s room, NULL included */

/* The NULL-terminated argument list of a command line: run_cli(&f, ARGS("jobs", "--all")). */
#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

struct route {
    const char *target; /* "GET /v1/jobs/12": the method and the request target, query included */
    int status;
    const char *body;
    size_t body_len; /* 0: strlen(body) */
    unsigned times;  /* answers this many requests, then gives way to the next route for the
                      * same target; 0: all of them */
};

/* What the log holds of each request. */
enum fake_log {
    FAKE_LOG_TARGET,       /* "GET /v1/jobs\n", then "BODY <the body>\n" when it has one */
    FAKE_LOG_REQUEST_LINE, /* the request line, version included: "GET /v1/jobs HTTP/1.1\n" */
};

struct fake {
    char dir[64]; /* the temporary directory, which holds the socket and the log */
    char sock[128];
    char server[140]; /* "unix:" + sock, for --server */
    char log[128];
    pid_t pid;
};

/* Prepares the process for the tests of a file, from its main(): notes $HEADROOM_CLI_FIXTURES
 * (fixtures_init()), ignores SIGPIPE (a client that hangs up early must not kill the server, which
 * inherits this) and loads libcurl, which cli_main() speaks HTTP through. Returns false, having
 * said so on stderr, when libcurl cannot be loaded: main() then returns 77 (skipped). */
bool fake_init(void);

/* Starts a server answering from routes (FAKE_ROUTES_MAX at most; borrowed, they must outlive it),
 * 404 with {"error":"no such route"} for any other request, one request per connection, until
 * fake_stop() (or fake_teardown(), or 30 s, or the end of the test runner). */
void fake_start(struct fake *f, const struct route *routes, size_t n_routes);

/* As fake_start(), with what the log holds of each request. */
void fake_start_logging(struct fake *f,
                        enum fake_log log,
                        const struct route *routes,
                        size_t n_routes);

/* Stops the server, removes its directory and returns its request log (owned by the caller). */
char *fake_stop(struct fake *f);

/* A cmocka teardown: kills the server of a test that failed before fake_stop(). */
int fake_teardown(void **state);

/* Fills argv (FAKE_ARGV_MAX entries) with "headroom --server unix:SOCK ARGS..." and a NULL;
 * returns argc. */
int build_argv(const struct fake *f, const char *const *args, char **argv);

struct result {
    int status; /* the exit status; -1 when run_cli_for() killed it */
    struct blob out, err;
};

/* Runs "headroom --server unix:SOCK ARGS..." (cli_main() in this process) with stdout and stderr
 * captured. Free the result with result_done(). */
struct result run_cli(const struct fake *f, const char *const *args);

/* As run_cli(); with kill_after_usec, in a child killed after that long (for a command that does
 * not end by itself, such as --follow), the status then -1. */
struct result run_cli_for(const struct fake *f, const char *const *args, usec_t kill_after_usec);

/* Frees what a result holds. */
void result_done(struct result *r);

/* Whether s begins with prefix. */
bool starts_with(const char *s, const char *prefix);
