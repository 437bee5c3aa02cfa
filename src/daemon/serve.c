/* SPDX-License-Identifier: MIT */
#include "daemon/serve.h"

#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "basic/log.h"
#include "basic/time-util.h"
#include "basic/macro.h"
#include "basic/parse-util.h"
#include "daemon/daemon.h"

static void help(void)
{
    printf("Usage: headroom serve [OPTIONS]\n"
           "\n"
           "Run the headroom daemon: sample the machine and answer ask over HTTP and a Unix socket.\n"
           "\n"
           "  -c, --config FILE        YAML configuration (default: $HEADROOM_CONFIG, else built-in defaults)\n"
           "      --state-dir DIR      where the database and the port file live\n"
           "                           (root: /var/lib/headroom; others: $XDG_STATE_HOME/headroom)\n"
           "      --socket PATH        Unix socket, \"none\" to disable\n"
           "                           (root: /run/headroom/headroom.sock; others: $XDG_RUNTIME_DIR/headroom.sock)\n"
           "      --listen ADDR:PORT   TCP listener, repeatable; port 0 picks a free port and writes it to\n"
           "                           STATE_DIR/port; \"none\" disables TCP (default: server.host:server.port,\n"
           "                           127.0.0.1:9329)\n"
           "      --root DIR           read /proc and /sys below DIR (for tests and fixture trees)\n"
           "      --log-level LEVEL    debug, info, warn or error (default: logging.level)\n"
           "  -h, --help               show this help\n"
           "\n"
           "Signals: SIGTERM/SIGINT stop gracefully, SIGHUP reloads the configuration (an invalid file is\n"
           "refused and the running configuration kept).\n"
           "\n"
           "Exit status: 0 stopped cleanly, 1 runtime failure, 2 usage error, 69 address or socket already in\n"
           "use, 71 system error (cannot load the daemon module, read /proc, bind...), 73 cannot create the\n"
           "state directory or database, 78 invalid or unsafe configuration.\n");
}

/* logging.format: json writes one JSON object per line to stderr, for log shippers. */
static void json_log_sink(enum log_level level, const char *message)
{
    char ts[64];
    json_t *o = json_pack("{s:s, s:s, s:i, s:s}", "time", format_rfc3339(ts, sizeof(ts), now_usec(CLOCK_REALTIME)),
                          "level", log_level_to_string(level), "pid", (int) getpid(), "message", message);
    char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;

    if (line)
        (void) fprintf(stderr, "%s\n", line);
    else
        (void) fprintf(stderr, "headroom[%d]: %s: %s\n", (int) getpid(), log_level_to_string(level), message);
    free(line);
    json_decref(o);
}

static int parse_listen(const char *s, struct config_listen *ret)
{
    char host[CONFIG_STRING_MAX];
    const char *colon;
    uint64_t port;

    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':' || (size_t) (end - s - 1) >= sizeof(host))
            return -EINVAL;
        memcpy(host, s + 1, (size_t) (end - s - 1));
        host[end - s - 1] = '\0';
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || (size_t) (colon - s) >= sizeof(host))
            return -EINVAL;
        memcpy(host, s, (size_t) (colon - s));
        host[colon - s] = '\0';
        if (host[0] == '\0')
            strcpy(host, "127.0.0.1");
    }
    if (safe_atou64(colon + 1, &port) < 0 || port > 65535)
        return -EINVAL;
    (void) snprintf(ret->host, sizeof(ret->host), "%s", host);
    ret->port = (unsigned) port;
    return 0;
}

static int default_state_dir(char *buf, size_t len)
{
    const char *xdg = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");

    if (geteuid() == 0)
        return snprintf(buf, len, "/var/lib/headroom") < (int) len ? 0 : -ENAMETOOLONG;
    if (xdg && xdg[0] == '/')
        return snprintf(buf, len, "%s/headroom", xdg) < (int) len ? 0 : -ENAMETOOLONG;
    if (home && home[0] == '/')
        return snprintf(buf, len, "%s/.local/state/headroom", home) < (int) len ? 0 : -ENAMETOOLONG;
    return -ENOENT;
}

static int default_socket(const char *state_dir, char *buf, size_t len)
{
    const char *rt = getenv("XDG_RUNTIME_DIR");

    if (geteuid() == 0)
        return snprintf(buf, len, "/run/headroom/headroom.sock") < (int) len ? 0 : -ENAMETOOLONG;
    if (rt && rt[0] == '/')
        return snprintf(buf, len, "%s/headroom.sock", rt) < (int) len ? 0 : -ENAMETOOLONG;
    return snprintf(buf, len, "%s/headroom.sock", state_dir) < (int) len ? 0 : -ENAMETOOLONG;
}

int serve_main(int argc, char **argv)
{
    enum { ARG_STATE_DIR = 0x100, ARG_SOCKET, ARG_LISTEN, ARG_ROOT, ARG_LOG_LEVEL };
    static const struct option options[] = {
        { "config", required_argument, NULL, 'c' },
        { "state-dir", required_argument, NULL, ARG_STATE_DIR },
        { "socket", required_argument, NULL, ARG_SOCKET },
        { "listen", required_argument, NULL, ARG_LISTEN },
        { "root", required_argument, NULL, ARG_ROOT },
        { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
        { "help", no_argument, NULL, 'h' },
        {},
    };
    struct daemon_options opts = { 0 };
    const char *arg_config = getenv("HEADROOM_CONFIG");
    const char *arg_state_dir = NULL, *arg_socket = NULL, *arg_log_level = NULL;
    bool listen_none = false;
    int c;

    snprintf(opts.root, sizeof(opts.root), "/");
    optind = 0;
    while ((c = getopt_long(argc, argv, "+c:h", options, NULL)) >= 0) {
        switch (c) {
        case 'c':
            arg_config = optarg;
            break;
        case ARG_STATE_DIR:
            arg_state_dir = optarg;
            break;
        case ARG_SOCKET:
            arg_socket = optarg;
            break;
        case ARG_LISTEN:
            if (strcmp(optarg, "none") == 0) {
                listen_none = true;
                break;
            }
            if (opts.n_listen >= DAEMON_LISTEN_MAX) {
                fprintf(stderr, "headroom serve: at most %d --listen options\n", DAEMON_LISTEN_MAX);
                return SERVE_EXIT_USAGE;
            }
            if (parse_listen(optarg, &opts.listen[opts.n_listen]) < 0) {
                fprintf(stderr, "headroom serve: invalid --listen '%s', expected ADDR:PORT (e.g. 127.0.0.1:9329)\n",
                        optarg);
                return SERVE_EXIT_USAGE;
            }
            opts.n_listen++;
            break;
        case ARG_ROOT:
            if (snprintf(opts.root, sizeof(opts.root), "%s", optarg) >= (int) sizeof(opts.root)) {
                fprintf(stderr, "headroom serve: --root path too long\n");
                return SERVE_EXIT_USAGE;
            }
            break;
        case ARG_LOG_LEVEL:
            if (log_level_from_string(optarg) < 0) {
                fprintf(stderr, "headroom serve: invalid --log-level '%s' (debug, info, warn, error)\n", optarg);
                return SERVE_EXIT_USAGE;
            }
            arg_log_level = optarg;
            (void) snprintf(opts.log_level, sizeof(opts.log_level), "%s", optarg);
            break;
        case 'h':
            help();
            return SERVE_EXIT_OK;
        default:
            fprintf(stderr, "Try 'headroom serve --help'.\n");
            return SERVE_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "headroom serve: unexpected argument '%s'\nTry 'headroom serve --help'.\n", argv[optind]);
        return SERVE_EXIT_USAGE;
    }

    struct config config;
    config_init_defaults(&config);
    if (arg_config && arg_config[0]) {
        char err[CONFIG_ERROR_MAX];
        if (snprintf(opts.config_path, sizeof(opts.config_path), "%s", arg_config) >= (int) sizeof(opts.config_path)) {
            fprintf(stderr, "headroom serve: --config path too long\n");
            return SERVE_EXIT_USAGE;
        }
        if (config_load_file(arg_config, &config, err) < 0) {
            log_error("Invalid configuration, not starting: %s", err);
            return SERVE_EXIT_CONFIG;
        }
        for (unsigned i = 0; i < config.n_warnings; i++)
            log_warning("%s", config.warnings[i]);
    }

    if (strcmp(config.logging.format, "json") == 0)
        log_set_sink(json_log_sink);
    enum log_level lvl = log_level_from_string(arg_log_level ? arg_log_level : config.logging.level);
    if (lvl >= 0)
        log_set_max_level(lvl);

    const char *sd = arg_state_dir ? arg_state_dir : config.persistence.data_dir[0] ? config.persistence.data_dir : NULL;
    if (sd) {
        if (snprintf(opts.state_dir, sizeof(opts.state_dir), "%s", sd) >= (int) sizeof(opts.state_dir)) {
            fprintf(stderr, "headroom serve: state directory path too long\n");
            return SERVE_EXIT_USAGE;
        }
    } else if (default_state_dir(opts.state_dir, sizeof(opts.state_dir)) < 0) {
        log_error("Cannot choose a state directory: set --state-dir, persistence.data_dir, XDG_STATE_HOME or HOME");
        return SERVE_EXIT_CANTCREAT;
    }

    const char *so = arg_socket ? arg_socket : config.server.socket_path[0] ? config.server.socket_path : NULL;
    if (so && (strcmp(so, "none") == 0 || so[0] == '\0'))
        opts.socket_path[0] = '\0';
    else if (so) {
        if (snprintf(opts.socket_path, sizeof(opts.socket_path), "%s", so) >= (int) sizeof(opts.socket_path)) {
            fprintf(stderr, "headroom serve: socket path too long\n");
            return SERVE_EXIT_USAGE;
        }
    } else if (default_socket(opts.state_dir, opts.socket_path, sizeof(opts.socket_path)) < 0) {
        log_error("Socket path too long; set --socket");
        return SERVE_EXIT_USAGE;
    }

    if (listen_none)
        opts.n_listen = 0;
    else if (opts.n_listen == 0) {
        (void) snprintf(opts.listen[0].host, sizeof(opts.listen[0].host), "%s", config.server.host);
        opts.listen[0].port = config.server.port;
        opts.n_listen = 1;
    }
    if (opts.n_listen == 0 && !opts.socket_path[0]) {
        fprintf(stderr, "headroom serve: neither a TCP listener nor a Unix socket; nothing to serve on\n");
        return SERVE_EXIT_USAGE;
    }

    /* A client that goes away mid-response must not kill the daemon. */
    (void) signal(SIGPIPE, SIG_IGN);

    struct daemon *d = calloc(1, sizeof(*d));
    if (!d) {
        log_error("Out of memory");
        return SERVE_EXIT_OSERR;
    }
    int r = daemon_start(d, &opts, &config);
    if (r == SERVE_EXIT_OK)
        r = daemon_run(d);
    daemon_stop(d);
    free(d);
    if (r == SERVE_EXIT_OK)
        log_info("Stopped");
    return r;
}
