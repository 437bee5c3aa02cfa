/* SPDX-License-Identifier: MIT */
#pragma once

/* Where the client finds the daemon: a TCP address spoken to over plain HTTP, or a Unix socket.
 * Pure parsing and formatting only; nothing here opens a connection. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define SERVER_ADDR_HOST_MAX   256
#define SERVER_ADDR_SOCKET_MAX 108 /* sizeof(((struct sockaddr_un *) 0)->sun_path) on Linux */
#define SERVER_ADDR_STR_MAX    (SERVER_ADDR_HOST_MAX + SERVER_ADDR_SOCKET_MAX + 16)
#define SERVER_DEFAULT_HOST    "127.0.0.1"
#define SERVER_DEFAULT_PORT    9329U
#define SERVER_SYSTEM_SOCKET   "/run/headroom/headroom.sock"
#define SERVER_USER_SOCKET     "headroom.sock" /* under $XDG_RUNTIME_DIR */

enum server_addr_kind {
    SERVER_ADDR_HTTP,
    SERVER_ADDR_UNIX,
    _SERVER_ADDR_KIND_MAX,
    _SERVER_ADDR_KIND_INVALID = -22,
};

struct server_addr {
    enum server_addr_kind kind;
    char host[SERVER_ADDR_HOST_MAX];          /* HTTP: name or address, IPv6 without brackets */
    unsigned port;                            /* HTTP: 1..65535 */
    char socket_path[SERVER_ADDR_SOCKET_MAX]; /* UNIX: NUL-terminated path */
};

/* Parses a server given by the user: "http://HOST[:PORT][/]" (IPv6 as "[::1]"; no port means 80,
 * as in any URL), "unix:PATH", or a bare absolute "/PATH" to a socket. Returns 0, -EINVAL for
 * anything else (another scheme, a path or query after the authority, user info, a port outside
 * 1..65535, an empty host or path), or -ENAMETOOLONG when the host or socket path does not fit.
 * Pure; does not log. */
int server_addr_parse(const char *s, struct server_addr *ret);

/* Builds an HTTP address from capfox-style --host/--port. host may be a name, an IPv4 address,
 * or an IPv6 address with or without brackets. Returns 0, -EINVAL (bad host, port 0 or above
 * 65535) or -ENAMETOOLONG. Pure; does not log. */
int server_addr_from_host_port(const char *host, unsigned port, struct server_addr *ret);

/* Parses a port number "1".."65535" (decimal, nothing else). Returns 0 or -EINVAL. */
int server_port_parse(const char *s, unsigned *ret);

/* The daemon's default socket for a user: SERVER_SYSTEM_SOCKET for root (euid 0), else
 * $XDG_RUNTIME_DIR/SERVER_USER_SOCKET, given as xdg_runtime_dir. Returns 0, -ENOENT when a
 * non-root user has no (absolute) runtime directory, or -ENAMETOOLONG. Pure: it does not look
 * at the file system. */
int server_default_socket(uid_t euid, const char *xdg_runtime_dir, char *buf, size_t len);

/* Where "headroom serve" puts its socket for a user without $XDG_RUNTIME_DIR: in its state
 * directory, $XDG_STATE_HOME/headroom/headroom.sock, else $HOME/.local/state/headroom/headroom.sock.
 * Returns 0, -ENOENT when neither variable holds an absolute path, -ENAMETOOLONG. */
int server_state_socket(const char *xdg_state_home, const char *home, char *buf, size_t len);

/* Formats a for messages: "http://127.0.0.1:9329", "http://[::1]:9329" or
 * "unix:/run/headroom/headroom.sock". buf should hold SERVER_ADDR_STR_MAX bytes. Returns buf. */
char *server_addr_to_string(const struct server_addr *a, char *buf, size_t len);

/* The URL curl is given for path ("/v1/ask?x=y", starting with '/'): "http://HOST:PORT/path", or
 * "http://localhost/path" for a Unix socket (the socket itself is a separate curl option).
 * Returns 0, -EINVAL (path not starting with '/') or -ENOBUFS when it does not fit in len. */
int server_addr_url(const struct server_addr *a, const char *path, char *buf, size_t len);
