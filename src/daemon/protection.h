/* SPDX-License-Identifier: MIT */
#pragma once

/* Supervision of every running task by the monitoring level (supervise.level, or its profile's):
 * passive records only; active emits task:high-memory, task:critical-memory and task:high-cpu as
 * tasks cross their limits; protective also suspends the least important tasks under critical
 * memory pressure and resumes them once it has stayed low (model/protect.c decides). */

#include "model/protect.h"

struct daemon;

/* The settings in force: the profile's, with every key the configuration sets on top. 0, or
 * -EINVAL for an unknown profile (the configuration validator prevents it). */
int protection_settings(const struct daemon *d, struct protect_profile *ret);

/* Each tick, after the sample: limits, then at most one protective action. */
void protection_tick(struct daemon *d);
