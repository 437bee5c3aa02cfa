/* SPDX-License-Identifier: MIT */
#pragma once

#include "daemon/daemon.h"

/* Re-reads the configuration file (SIGHUP). An invalid file is logged with its position and the
 * running configuration stays in force; a valid one is applied at once where it can be (thresholds,
 * auth, debug, logging, smoothing, history size, sampling interval, paths, learning limits) and
 * the keys that need a restart (listen addresses, socket, state) are named in a warning. */
void daemon_reload(struct daemon *d);

/* Creates a sampler for the daemon's current root and monitoring paths. */
int daemon_make_sampler(struct daemon *d, struct sampler **ret);
