/* SPDX-License-Identifier: MIT */
#include "cli/server-addr.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "basic/macro.h"
#include "basic/parse-util.h"

static bool char_is_hostname(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
}

static bool char_is_ipv6(char c)
{
    return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || (c >= '0' && c <= '9') || c == ':' ||
           c == '.';
}

/* Checks and stores a host of n bytes. IPv6 literals (anything with a ':') are stored without
 * brackets; the URL builder adds them back. */
static int set_host(struct server_addr *a, const char *host, size_t n, bool ipv6)
{
    if (n == 0)
        return -EINVAL;
    if (n >= sizeof(a->host))
        return -ENAMETOOLONG;
    for (size_t i = 0; i < n; i++)
        if (ipv6 ? !char_is_ipv6(host[i]) : !char_is_hostname(host[i]))
            return -EINVAL;
    if (ipv6 && !memchr(host, ':', n))
        return -EINVAL;
    memcpy(a->host, host, n);
    a->host[n] = '\0';
    return 0;
}

static int set_socket(struct server_addr *a, const char *path)
{
    size_t n = strlen(path);

    if (n == 0)
        return -EINVAL;
    if (n >= sizeof(a->socket_path))
        return -ENAMETOOLONG;
    memcpy(a->socket_path, path, n + 1);
    return 0;
}

int server_port_parse(const char *s, unsigned *ret)
{
    uint64_t v;

    if (safe_atou64(s, &v) < 0 || v < 1 || v > 65535)
        return -EINVAL;
    *ret = (unsigned) v;
    return 0;
}

static int port_from_range(const char *s, size_t n, unsigned *ret)
{
    char buf[8];

    if (n == 0 || n >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return server_port_parse(buf, ret);
}

static int parse_http(const char *authority_start, struct server_addr *a)
{
    const char *p = authority_start;
    size_t n = strcspn(p, "/?#");
    const char *rest = p + n;
    int r;

    /* Only the authority is meaningful: the daemon serves its API at fixed paths, so a base path
     * or a query would be silently ignored, which is worse than refusing it. */
    if (!(rest[0] == '\0' || (rest[0] == '/' && rest[1] == '\0')))
        return -EINVAL;
    if (memchr(p, '@', n))
        return -EINVAL;

    const char *port = NULL;
    size_t port_len = 0;

    if (p[0] == '[') {
        const char *close = memchr(p, ']', n);
        if (!close)
            return -EINVAL;
        r = set_host(a, p + 1, (size_t) (close - p - 1), true);
        if (r < 0)
            return r;
        const char *after = close + 1;
        if (after < p + n) {
            if (after[0] != ':')
                return -EINVAL;
            port = after + 1;
            port_len = (size_t) (p + n - port);
        }
    } else {
        const char *colon = memchr(p, ':', n);
        size_t host_len = colon ? (size_t) (colon - p) : n;
        r = set_host(a, p, host_len, false);
        if (r < 0)
            return r;
        if (colon) {
            port = colon + 1;
            port_len = (size_t) (p + n - port);
        }
    }

    a->port = 80;
    if (port) {
        r = port_from_range(port, port_len, &a->port);
        if (r < 0)
            return r;
    }
    a->kind = SERVER_ADDR_HTTP;
    return 0;
}

int server_addr_parse(const char *s, struct server_addr *ret)
{
    struct server_addr a = { 0 };
    int r;

    if (!s)
        return -EINVAL;

    if (strncmp(s, "unix:", 5) == 0) {
        r = set_socket(&a, s + 5);
        a.kind = SERVER_ADDR_UNIX;
    } else if (s[0] == '/') {
        r = set_socket(&a, s);
        a.kind = SERVER_ADDR_UNIX;
    } else if (strncasecmp(s, "http://", 7) == 0)
        r = parse_http(s + 7, &a);
    else
        r = -EINVAL;
    if (r < 0)
        return r;

    *ret = a;
    return 0;
}

int server_addr_from_host_port(const char *host, unsigned port, struct server_addr *ret)
{
    struct server_addr a = { .kind = SERVER_ADDR_HTTP };
    size_t n;
    int r;

    if (!host || port < 1 || port > 65535)
        return -EINVAL;
    n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']')
        r = set_host(&a, host + 1, n - 2, true);
    else
        r = set_host(&a, host, n, strchr(host, ':') != NULL);
    if (r < 0)
        return r;
    a.port = port;
    *ret = a;
    return 0;
}

int server_default_socket(uid_t euid, const char *xdg_runtime_dir, char *buf, size_t len)
{
    int n;

    if (euid == 0)
        n = snprintf(buf, len, "%s", SERVER_SYSTEM_SOCKET);
    else {
        if (!xdg_runtime_dir || xdg_runtime_dir[0] != '/')
            return -ENOENT;
        n = snprintf(buf, len, "%s/%s", xdg_runtime_dir, SERVER_USER_SOCKET);
    }
    if (n < 0 || (size_t) n >= len || (size_t) n >= SERVER_ADDR_SOCKET_MAX)
        return -ENAMETOOLONG;
    return 0;
}

int server_state_socket(const char *xdg_state_home, const char *home, char *buf, size_t len)
{
    int n;

    if (xdg_state_home && xdg_state_home[0] == '/')
        n = snprintf(buf, len, "%s/headroom/%s", xdg_state_home, SERVER_USER_SOCKET);
    else if (home && home[0] == '/')
        n = snprintf(buf, len, "%s/.local/state/headroom/%s", home, SERVER_USER_SOCKET);
    else
        return -ENOENT;
    if (n < 0 || (size_t) n >= len || (size_t) n >= SERVER_ADDR_SOCKET_MAX)
        return -ENAMETOOLONG;
    return 0;
}

char *server_addr_to_string(const struct server_addr *a, char *buf, size_t len)
{
    if (a->kind == SERVER_ADDR_UNIX)
        (void) snprintf(buf, len, "unix:%s", a->socket_path);
    else if (strchr(a->host, ':'))
        (void) snprintf(buf, len, "http://[%s]:%u", a->host, a->port);
    else
        (void) snprintf(buf, len, "http://%s:%u", a->host, a->port);
    return buf;
}

int server_addr_url(const struct server_addr *a, const char *path, char *buf, size_t len)
{
    int n;

    if (!path || path[0] != '/')
        return -EINVAL;
    if (a->kind == SERVER_ADDR_UNIX)
        n = snprintf(buf, len, "http://localhost%s", path);
    else if (strchr(a->host, ':'))
        n = snprintf(buf, len, "http://[%s]:%u%s", a->host, a->port, path);
    else
        n = snprintf(buf, len, "http://%s:%u%s", a->host, a->port, path);
    if (n < 0 || (size_t) n >= len)
        return -ENOBUFS;
    return 0;
}
