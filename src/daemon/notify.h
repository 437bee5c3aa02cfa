/* SPDX-License-Identifier: MIT */
#pragma once

/* Service manager notifications (READY=1, RELOADING=1, STOPPING=1...) through libsystemd's
 * sd_notify(). libsystemd is loaded only when $NOTIFY_SOCKET says a service manager listens, so a
 * daemon started any other way does not carry the library and its dependencies in memory. */
void daemon_notify(const char *state);
