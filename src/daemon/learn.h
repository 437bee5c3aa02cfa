/* SPDX-License-Identifier: MIT */
#pragma once

/* The daemon's learning: a bounded cache of task models over the store, and the one way an
 * observation enters (learnt, then stored together with the models that learnt it). */

#include "model/admit.h"
#include "store/store.h"

struct daemon;
struct config;

/* The model and parameters learning.* asks for. */
void learn_params_from_config(const struct config *c, enum predict_model *ret_model,
                              struct predict_params *ret_params);

/* Loads the cache and the largest peaks seen. Returns 0 or a -errno (the store failed). */
int learn_start(struct daemon *d);

/* After a reload: a changed model or parameter empties the cache, so each type is refitted from
 * its raw observations when next used. Logs what changed. */
void learn_reconfigure(struct daemon *d);

void learn_stop(struct daemon *d);

/* The models of task, valid until the next learn_* call: from the cache, else the store, else
 * refitted from raw observations (a type observed before models were stored, or learnt under
 * another configuration). Returns 0, -ENOENT for a type never observed, or another -errno. */
int learn_model_get(struct daemon *d, const char *task, struct task_model **ret);

/* Learns o (its weight, 0 meaning 1) and stores it with the updated models in one transaction.
 * The cache changes only once the store has committed. Returns 0, or a -errno of
 * store_add_observation() (-ENOSPC: too many task types) or of the model (-EINVAL). */
int learn_observation(struct daemon *d, const struct observation *o);
