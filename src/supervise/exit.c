/* SPDX-License-Identifier: MIT */
/* How a supervised run's end becomes an exit code, as GNU timeout does (coreutils timeout(1),
 * "EXIT STATUS"). */

#include <stddef.h>

#include "supervise/supervise.h"

const char *sv_isolation_to_string(enum sv_isolation i)
{
    switch (i) {
    case SV_ISOLATION_GROUP:
        return "process group";
    case SV_ISOLATION_CGROUP_V2:
        return "cgroup v2";
    case SV_ISOLATION_CGROUP_V1:
        return "cgroup v1";
    }
    return NULL;
}

int sv_exit_code(const struct sv_end *end, bool timed_out)
{
    if (!end)
        return SV_EXIT_INTERNAL;
    if (timed_out)
        return SV_EXIT_TIMEOUT;
    if (end->exited)
        return end->code & 0xff;
    /* Killed by a signal: the shell convention, 128 + signal. */
    return 128 + end->code;
}
