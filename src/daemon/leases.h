/* SPDX-License-Identifier: MIT */
#pragma once

/* The daemon's lease table (src/model/lease.h) with its persistence. */

#include "model/lease.h"

struct daemon;

/* Allocates the table and restores the unexpired leases of the store. Returns 0 or a -errno. */
int leases_start(struct daemon *d);
void leases_stop(struct daemon *d);

/* Drops leases past their deadline (from the store too) and updates view.reserved. */
void leases_expire(struct daemon *d, usec_t now);

/* A new unattached lease holding reserve: its GPU part on gpu_index (kept only when the reserve
 * has a GPU part), or, when gpu_mask is not 0, on every GPU in gpu_mask, which it then holds
 * whatever its reserve. 0, -ENOSPC when the table is full. The lease is written to the store at
 * the next tick (leases_flush()), so a lease younger than a tick does not survive a kill -9; the
 * store keeps one GPU index, so a lease on several GPUs comes back after a restart holding its
 * first GPU only. */
int leases_add(struct daemon *d, const char *task, double complexity, const struct decide_need *reserve,
               const struct decide_need *margin, const struct decide_need *declared, int gpu_index,
               uint64_t gpu_mask, usec_t ttl_usec, struct lease *ret);

/* Marks l (an entry of the table) to be written to the store again at the next tick (after it was
 * attached or its deadline moved), so that a restart brings it back as it is now. */
void leases_persist(struct daemon *d, struct lease *l);
/* Writes the leases changed since the last call (each tick, and at the stop). A lease the store
 * refuses stays in memory, and is tried again at the next call. */
void leases_flush(struct daemon *d);

/* Removes lease id from the table and the store. 0 or -ENOENT. */
int leases_release(struct daemon *d, uint64_t id);

/* The machine's use now as leases measure it (percentage points; GPU and VRAM as the mean over live
 * GPUs, NaN without one). */
void leases_use_now(const struct daemon *d, double ret[_LEARN_RESOURCE_MAX]);

/* Each tick: notify-attached leases follow what the machine shows above their baseline. */
void leases_tick(struct daemon *d);

/* Recomputes view.reserved from the table. */
void leases_sync_api(struct daemon *d);

/* The largest VRAM among the GPUs (to convert reserves held in bytes); 0 without GPUs. */
uint64_t leases_vram_total(const struct daemon *d);
