/* SPDX-License-Identifier: MIT */
#include "metrics/snapshot.h"

#include <stddef.h>

static const char *const psi_resource_table[_PSI_RESOURCE_MAX] = {
    [PSI_CPU] = "cpu",
    [PSI_MEMORY] = "memory",
    [PSI_IO] = "io",
};

const char *psi_resource_to_string(enum psi_resource r)
{
    if (r < 0 || r >= _PSI_RESOURCE_MAX)
        return NULL;
    return psi_resource_table[r];
}

static const char *const cgroup_mode_table[_CGROUP_MODE_MAX] = {
    [CGROUP_MODE_NONE] = "none",
    [CGROUP_MODE_V1] = "v1",
    [CGROUP_MODE_V2] = "v2",
};

const char *cgroup_mode_to_string(enum cgroup_mode m)
{
    if ((int) m < 0 || m >= _CGROUP_MODE_MAX)
        return NULL;
    return cgroup_mode_table[m];
}
