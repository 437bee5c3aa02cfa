/* SPDX-License-Identifier: MIT */
#include "model/observe.h"

#include <math.h>
#include <string.h>

static void gpu_means(const struct history_sample *s, double *ret_util, double *ret_vram)
{
    double u = 0, v = 0;
    unsigned n = s->n_gpus < HISTORY_GPUS_MAX ? s->n_gpus : HISTORY_GPUS_MAX;

    for (unsigned i = 0; i < n; i++) {
        u += s->gpu_util_pct[i];
        v += s->vram_used_pct[i];
    }
    *ret_util = n ? u / n : 0.0;
    *ret_vram = n ? v / n : 0.0;
}

static void set_base(struct observe_window *w, const struct history_sample *s)
{
    w->base_cpu = w->peak_cpu = s->cpu_pct;
    w->base_mem = w->peak_mem = s->mem_used_pct;
    gpu_means(s, &w->base_gpu, &w->base_vram);
    w->peak_gpu = w->base_gpu;
    w->peak_vram = w->base_vram;
    w->has_gpu = s->n_gpus > 0;
}

void observe_window_start(struct observe_window *w, const struct history_sample *baseline, usec_t now_usec,
                          usec_t length_usec)
{
    memset(w, 0, sizeof(*w));
    w->start_mono_usec = now_usec;
    w->end_mono_usec = now_usec + length_usec;
    if (baseline)
        set_base(w, baseline);
    else
        w->base_cpu = -1; /* marks "no baseline yet" */
}

void observe_window_feed(struct observe_window *w, const struct history_sample *s)
{
    if (w->n_samples == 0 && w->base_cpu < 0) {
        set_base(w, s);
        w->n_samples++;
        return;
    }
    double g, v;
    gpu_means(s, &g, &v);
    w->sum_cpu += s->cpu_pct;
    w->sum_mem += s->mem_used_pct;
    w->n_summed++;
    if (s->n_gpus > 0) {
        w->sum_gpu += g;
        w->sum_vram += v;
        w->n_gpu_summed++;
    }
    if (s->cpu_pct > w->peak_cpu)
        w->peak_cpu = s->cpu_pct;
    if (s->mem_used_pct > w->peak_mem)
        w->peak_mem = s->mem_used_pct;
    if (s->n_gpus > 0) {
        if (!w->has_gpu) {
            w->has_gpu = true;
            w->peak_gpu = g;
            w->peak_vram = v;
        }
        if (g > w->peak_gpu)
            w->peak_gpu = g;
        if (v > w->peak_vram)
            w->peak_vram = v;
    }
    w->n_samples++;
}

bool observe_window_done(const struct observe_window *w, usec_t now_usec)
{
    return now_usec >= w->end_mono_usec;
}

void observe_window_means(const struct observe_window *w, double *ret_cpu, double *ret_mem, double *ret_gpu,
                          double *ret_vram)
{
    bool base = w->base_cpu >= 0;
    double n = w->n_summed, ng = w->n_gpu_summed;

    *ret_cpu = base && n > 0 ? w->sum_cpu / n - w->base_cpu : NAN;
    *ret_mem = base && n > 0 ? w->sum_mem / n - w->base_mem : NAN;
    *ret_gpu = base && ng > 0 ? w->sum_gpu / ng - w->base_gpu : NAN;
    *ret_vram = base && ng > 0 ? w->sum_vram / ng - w->base_vram : NAN;
}

void observe_window_result(const struct observe_window *w, double *ret_cpu, double *ret_mem, double *ret_gpu,
                           double *ret_vram)
{
    if (w->n_samples == 0 || w->base_cpu < 0) {
        *ret_cpu = *ret_mem = *ret_gpu = *ret_vram = 0.0;
        return;
    }
    *ret_cpu = w->peak_cpu - w->base_cpu;
    *ret_mem = w->peak_mem - w->base_mem;
    *ret_gpu = w->has_gpu ? w->peak_gpu - w->base_gpu : 0.0;
    *ret_vram = w->has_gpu ? w->peak_vram - w->base_vram : 0.0;
}
