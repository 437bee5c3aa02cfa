/* SPDX-License-Identifier: MIT */
#pragma once

/* A listening Unix socket at a path, shared by the HTTP and the control listeners. */

/* Creates the parent directory (0755) when missing; replaces a socket file nobody accepts on (a
 * crash left it) but refuses one that answers, which belongs to a running daemon (-EADDRINUSE);
 * binds a non-blocking, close-on-exec socket of the given type (SOCK_STREAM, SOCK_SEQPACKET)
 * created inaccessible and then given mode, so nobody can connect in between; and listens.
 * Returns the fd, or -ENAMETOOLONG (path too long for a socket address), -EADDRINUSE or another
 * -errno; on failure nothing is left at path that was not there. Does not log. */
int unix_listen(const char *path, int type, unsigned mode);
