/* SPDX-License-Identifier: MIT */
#include "daemon/notify.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>

#include "basic/log.h"

void daemon_notify(const char *state)
{
    static bool tried;
    static typeof(sd_notify) *sym_sd_notify;

    if (!getenv("NOTIFY_SOCKET"))
        return;
    if (!tried) {
        tried = true;
        void *h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
        if (h)
            sym_sd_notify = (typeof(sd_notify) *) dlsym(h, "sd_notify");
        if (!sym_sd_notify)
            log_warning("NOTIFY_SOCKET is set but libsystemd.so.0 cannot be loaded; the service manager "
                        "will not hear that headroom is ready");
    }
    if (sym_sd_notify)
        (void) sym_sd_notify(0, state);
}
