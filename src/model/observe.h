/* SPDX-License-Identifier: MIT */
#pragma once

/* The impact of a notified task, measured over a window rather than capfox's two-point delta:
 * the baseline is the sample just before the notify, the impact is the peak over the window minus
 * that baseline, per resource. Pure: samples are fed in by the caller. */

#include <stdbool.h>

#include "basic/time-util.h"
#include "model/history.h"

struct observe_window {
    usec_t start_mono_usec;
    usec_t end_mono_usec;
    double base_cpu, base_mem, base_gpu, base_vram;   /* percent */
    double peak_cpu, peak_mem, peak_gpu, peak_vram;
    double sum_cpu, sum_mem, sum_gpu, sum_vram;       /* over the samples after the baseline */
    unsigned n_summed, n_gpu_summed;
    bool has_gpu;
    unsigned n_samples;
    unsigned overlaps;   /* other notifies that started while this window was open */
};

/* Starts a window at now lasting length_usec, with baseline taken from sample (may be NULL when
 * nothing was sampled yet: the first fed sample becomes the baseline). */
void observe_window_start(struct observe_window *w, const struct history_sample *baseline, usec_t now_usec,
                          usec_t length_usec);

/* Feeds one sample taken inside the window. */
void observe_window_feed(struct observe_window *w, const struct history_sample *s);

/* True once now is at or past the window's end. */
bool observe_window_done(const struct observe_window *w, usec_t now_usec);

/* The mean impact over the window (mean of the samples after the baseline, minus the baseline) in
 * percent points; NAN for a resource no sample after the baseline measured (GPU values without a
 * GPU). */
void observe_window_means(const struct observe_window *w, double *ret_cpu, double *ret_mem, double *ret_gpu,
                          double *ret_vram);

/* The measured deltas (peak - baseline) in percent points; GPU values are the mean over GPUs.
 * A window without samples yields zeros. */
void observe_window_result(const struct observe_window *w, double *ret_cpu, double *ret_mem, double *ret_gpu,
                           double *ret_vram);
