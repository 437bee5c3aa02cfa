/* SPDX-License-Identifier: MIT */
#pragma once

/* A bounded ring of compact samples: the in-memory history behind smoothing, the notify windows
 * and GET /v1/history. Pure data structure: time is passed in, nothing is read from the host. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/time-util.h"

#define HISTORY_GPUS_MAX 16

struct history_sample {
    usec_t mono_usec;
    usec_t real_usec;
    double cpu_pct;
    double mem_used_pct;
    uint64_t mem_available_bytes;
    double memory_pressure_pct;       /* PSI memory some avg10; < 0 when unavailable */
    unsigned n_gpus;
    double gpu_util_pct[HISTORY_GPUS_MAX];
    double vram_used_pct[HISTORY_GPUS_MAX];
};

struct history {
    struct history_sample *ring;
    size_t cap;
    size_t len;
    size_t head;                      /* index of the next write */
};

/* Allocates a ring of cap samples (cap ≥ 1). Returns 0 or -ENOMEM/-EINVAL. */
int history_init(struct history *h, size_t cap);
void history_done(struct history *h);

/* Resizes keeping the newest samples. Returns 0 or -ENOMEM (the old ring stays intact). */
int history_resize(struct history *h, size_t cap);

/* Forgets every sample, keeping the capacity. */
void history_clear(struct history *h);

void history_push(struct history *h, const struct history_sample *s);

/* The i-th newest sample (0 = latest), or NULL when i ≥ len. Borrowed. */
const struct history_sample *history_peek(const struct history *h, size_t i);

/* Mean of the last n samples (fewer if fewer exist) written into *ret: cpu, memory used, PSI and
 * GPU utilization are averaged; mem_available_bytes and VRAM are taken from the latest sample,
 * because a level that really changed must not be smoothed away. Returns the number of samples
 * used (0 when empty, then *ret is untouched). */
size_t history_smooth(const struct history *h, size_t n, struct history_sample *ret);
