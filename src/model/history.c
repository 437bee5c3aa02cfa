/* SPDX-License-Identifier: MIT */
#include "model/history.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int history_init(struct history *h, size_t cap)
{
    if (cap == 0)
        return -EINVAL;
    *h = (struct history) { 0 };
    h->ring = calloc(cap, sizeof(*h->ring));
    if (!h->ring)
        return -ENOMEM;
    h->cap = cap;
    return 0;
}

void history_done(struct history *h)
{
    free(h->ring);
    *h = (struct history) { 0 };
}

const struct history_sample *history_peek(const struct history *h, size_t i)
{
    if (i >= h->len)
        return NULL;
    size_t idx = (h->head + h->cap - 1 - i) % h->cap;
    return &h->ring[idx];
}

int history_resize(struct history *h, size_t cap)
{
    struct history n;
    int r = history_init(&n, cap);
    if (r < 0)
        return r;
    size_t keep = h->len < cap ? h->len : cap;
    for (size_t i = keep; i > 0; i--)
        history_push(&n, history_peek(h, i - 1));
    history_done(h);
    *h = n;
    return 0;
}

void history_clear(struct history *h)
{
    h->len = 0;
    h->head = 0;
}

void history_push(struct history *h, const struct history_sample *s)
{
    h->ring[h->head] = *s;
    h->head = (h->head + 1) % h->cap;
    if (h->len < h->cap)
        h->len++;
}

size_t history_smooth(const struct history *h, size_t n, struct history_sample *ret)
{
    if (h->len == 0 || n == 0)
        return 0;
    if (n > h->len)
        n = h->len;

    const struct history_sample *latest = history_peek(h, 0);
    struct history_sample m = *latest;
    double cpu = 0, mem = 0, psi = 0;
    double gpu[HISTORY_GPUS_MAX] = { 0 };
    unsigned gpu_n[HISTORY_GPUS_MAX] = { 0 };
    size_t psi_n = 0;

    for (size_t i = 0; i < n; i++) {
        const struct history_sample *s = history_peek(h, i);
        cpu += s->cpu_pct;
        mem += s->mem_used_pct;
        if (s->memory_pressure_pct >= 0) {
            psi += s->memory_pressure_pct;
            psi_n++;
        }
        for (unsigned g = 0; g < s->n_gpus && g < HISTORY_GPUS_MAX; g++) {
            gpu[g] += s->gpu_util_pct[g];
            gpu_n[g]++;
        }
    }
    m.cpu_pct = cpu / (double) n;
    m.mem_used_pct = mem / (double) n;
    /* Memory in use is a level, not a noisy rate: never report less than the latest reading. */
    if (latest->mem_used_pct > m.mem_used_pct)
        m.mem_used_pct = latest->mem_used_pct;
    m.memory_pressure_pct = psi_n ? psi / (double) psi_n : -1.0;
    for (unsigned g = 0; g < m.n_gpus && g < HISTORY_GPUS_MAX; g++)
        m.gpu_util_pct[g] = gpu_n[g] ? gpu[g] / gpu_n[g] : latest->gpu_util_pct[g];
    *ret = m;
    return n;
}
