/* SPDX-License-Identifier: MIT */
#pragma once

/* Prediction models: what a task of a given type and complexity will need of one resource, learnt
 * from the peaks its earlier runs reached. One struct predictor exists per (task type, resource).
 * Pure: numbers in, numbers out. No I/O, no clock, no allocation, no logging, no globals, so every
 * prediction is reproducible from the observations that built it.
 *
 * A predictor is plain data (counts, doubles and fixed arrays, no pointers), so the store can save
 * it field by field and load it back; predictor_validate() checks a loaded one.
 *
 * Three models:
 *
 *   ewls            the default. Exponentially weighted least squares of value on complexity with
 *                   a forgetting factor λ (Welford form, so it stays stable where raw Σx² sums
 *                   cancel):
 *                       W = λW + 1;  Sxx, Sxy, Syy *= λ;  dx = c − mx;  dy = y − my;
 *                       mx += dx/W;  my += dy/W;
 *                       Sxx += dx(c − mx);  Sxy += dx(y − my);  Syy += dy(y − my)
 *                       slope = Sxy/Sxx (0 when the weighted variance of c is ~0)
 *                       ŷ(c)  = my + slope·(c − mx)
 *                   What admission reserves:
 *                       raw   = max(ŷ(c) + Q_q(residuals), 0)
 *                       raw'  = max(raw, (n·raw + k·prior)/(n + k))   (k = shrinkage_weight)
 *                       upper = max(raw', floor(c)) · margin_factor
 *                   Shrinkage is one-sided: while runs are few, a prior above the estimate raises
 *                   it, one below never lowers it, and no upper is below a peak really seen.
 *                   where the residuals are the last PREDICT_RESIDUALS_MAX values of y − ŷ(c), each
 *                   taken with the model as it was BEFORE that observation (out-of-sample errors,
 *                   so the margin includes the fit's own uncertainty), Q_q is their exact
 *                   order statistic of rank ⌈q·(len + 1)⌉ (capped at len) — taken over the
 *                   residuals of c's own complexity bucket once it holds
 *                   PREDICT_LOCAL_RESIDUALS_MIN of them, else over all —, and floor(c) comes
 *                   from the largest value ever observed in the complexity bucket of c (see the
 *                   buckets below). That rank, rather than the nearest rank ⌈q·len⌉, is what
 *                   makes the next run stay below the upper with probability q: with 64
 *                   residuals at q = 0.95 it is the 62nd smallest (95.4 % expected coverage)
 *                   where the nearest rank takes the 61st (93.8 %). With fewer than
 *                   (1 + q)/(1 − q) residuals (39 at 0.95) Q_q is their maximum, the
 *                   conservative choice. The prior is the caller's fallback (a user hint, else a
 *                   global default); with no prior there is no shrinkage.
 *                   confidence = (1 − e^(−W/5)) · |ŷ| / (|ŷ| + rms(residuals)): it grows with the
 *                   effective weight W behind the fit and falls as the typical error approaches
 *                   the size of the prediction itself (1 when both are 0).
 *
 *   moving_average  capfox's EMA, complexity ignored: s = y₁, then s = α·y + (1 − α)·s; with the
 *                   exponentially weighted variance v = (1 − α)(v + α(y − s_old)²).
 *                   expected = s, upper = s + sd_multiplier·√v. confidence = 1 − e^(−n/5);
 *                   capfox's fastExp approximation, which makes this fall after n = 50, reach 0 at
 *                   n = 100 and go negative beyond, is not copied.
 *
 *   linear          capfox's online least squares, exactly: unweighted Welford (λ = 1),
 *                   slope = Sxy/Sxx, intercept = my − slope·mx, and when Sxx < 1e-10 the mean.
 *                   upper = expected (floored at 0): no residual margin, no peak floor, no
 *                   shrinkage.
 *                   confidence = 0 below min_observations, else 0.5 + 0.5(1 − e^(−(n − min)/10)),
 *                   halved when Sxx < 1e-10, at most 1.
 *
 * Complexity buckets, for the peak floor: bucket 0 holds complexities in [0, 1), bucket b ≥ 1
 * holds [2^(b−1), 2^b), i.e. octaves, so 1 | 2–3 | 4–7 | 8–15 | …; PREDICT_COMPLEXITY_MAX = 2^50
 * is in bucket 51. Octaves are coarse on purpose: they suit complexities that are sizes or counts
 * spanning orders of magnitude. Each bucket keeps its peak and the complexity c_p it was seen at;
 * the floor at c is peak · min(1, c/c_p). ewls with λ < 1 lets the floor forget as the fit does:
 * each observation (of any complexity) multiplies every bucket's peak by λ^weight before a new
 * peak may replace it, so one outlier does not hold every later reservation up forever. A cost that does not fall as complexity grows and starts
 * from a non-negative base reaches at least that much at c, so the floor stays a floor, where the
 * whole peak held over the bucket would overstate a linear cost by up to 2× at the octave's
 * bottom. The peak table is kept for every model but only ewls uses it.
 *
 * Every model sets sufficient = (n ≥ min_observations); below that the caller decides on
 * thresholds alone and says insufficient_data. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PREDICT_RESIDUALS_MAX 64
#define PREDICT_BUCKETS       64
/* The margin at a complexity comes from the residuals of its own bucket once it has this many:
 * with fewer than 39 the q = 0.95 rank is their maximum, and the largest error of 30 runs of that
 * size covers the next with probability 30/31 ≈ 0.97. */
#define PREDICT_LOCAL_RESIDUALS_MIN 30
/* residual_complexity of a residual kept before complexities were. */
#define PREDICT_COMPLEXITY_UNKNOWN (-1.0)

/* Inputs beyond these are rejected: they keep every square in the Welford sums far from overflow
 * (2^50 ≈ 1.1e15 complexity, 1e18 ≈ 888 PiB of value). */
#define PREDICT_COMPLEXITY_MAX 1125899906842624.0
#define PREDICT_VALUE_MAX      1e18

enum predict_model {
    PREDICT_MODEL_EWLS,
    PREDICT_MODEL_MOVING_AVERAGE,
    PREDICT_MODEL_LINEAR,
    _PREDICT_MODEL_MAX,
    _PREDICT_MODEL_INVALID = -EINVAL,
};

/* "ewls", "moving_average", "linear"; NULL for anything else. */
const char *predict_model_to_string(enum predict_model m);
/* The inverse; also accepts capfox's learning.model spelling "linear_regression". Returns
 * _PREDICT_MODEL_INVALID for NULL or an unknown name. */
enum predict_model predict_model_from_string(const char *s);

/* Tuning. predictor_init() replaces a value outside its range by the default, as capfox does for α,
 * and stores the result in the predictor, so what is in force can be read back. */
struct predict_params {
    double lambda;            /* ewls forgetting factor, (0, 1]; default 0.97 (memory ≈ 33 runs);
                               * 1 = plain least squares */
    double alpha;             /* moving_average smoothing, (0, 1]; default 0.2 */
    double quantile;          /* ewls residual quantile, (0, 1]; default 0.95 */
    double shrinkage_weight;  /* ewls: how many observations the prior counts as, ≥ 0; default 5 */
    double sd_multiplier;     /* moving_average: upper = s + this·sd, ≥ 0; default 1 */
    double margin_factor;     /* ewls: raw upper is multiplied by this, ≥ 1; default 1 */
    uint64_t min_observations; /* below this a prediction is not sufficient; default 5. At least 1,
                                * and at least 2 for linear (capfox: 0 → 2). */
};

/* Fills *ret with the defaults above. Never fails, never logs. */
void predict_params_default(struct predict_params *ret);

/* One (task type, resource). Fields are public for the store; only this module changes them. */
struct predictor {
    enum predict_model model;
    uint16_t residual_len;    /* how many of residuals[] hold values */
    uint16_t residual_next;   /* where the next residual goes */
    struct predict_params params;
    uint64_t n;               /* observations taken */

    /* ewls and linear: weighted Welford state (W = n for linear). */
    double w, mx, my, sxx, sxy, syy;

    /* moving_average. */
    double ewma, ewvar;

    /* Largest value observed per complexity bucket; bit b of peak_seen says bucket b has one. */
    uint64_t peak_seen;
    double peak[PREDICT_BUCKETS];
    /* The complexity each bucket's peak was seen at. 0 for a predictor kept before this was: the
     * peak then floors its whole bucket, as it did. */
    double peak_complexity[PREDICT_BUCKETS];

    /* Ring of the last residuals y − ŷ(c), each from the model before its observation. */
    double residuals[PREDICT_RESIDUALS_MAX];
    /* The complexity of the run each residual came from (PREDICT_COMPLEXITY_UNKNOWN: not kept). */
    double residual_complexity[PREDICT_RESIDUALS_MAX];
};

struct prediction {
    double expected;    /* the model's point estimate; may be negative for linear (capfox) */
    double upper;       /* what admission should reserve; never negative */
    double confidence;  /* [0, 1] */
    double margin;      /* ewls: the residual quantile Q_q added to ŷ (0 without residuals) */
    double peak;        /* the floor from the largest value seen in the bucket of the
                         * complexity, scaled down below the complexity it was seen at (0 if
                         * none) */
    uint64_t n;         /* observations behind the prediction */
    bool has_peak;
    bool sufficient;    /* n ≥ min_observations */
};

/* Starts an empty predictor for model m. params may be NULL for the defaults; out-of-range values
 * are replaced by defaults (see struct predict_params). Returns 0, or -EINVAL for an invalid m
 * (then *p is untouched). Never logs. */
int predictor_init(struct predictor *p, enum predict_model m, const struct predict_params *params);

/* Learns one run: its complexity (finite, 0 ≤ c ≤ PREDICT_COMPLEXITY_MAX) and the value it reached
 * (finite, |value| ≤ PREDICT_VALUE_MAX; negative is allowed, capfox measures deltas). Records the
 * residual against the model as it was before, then updates the model and the bucket peak.
 * Returns 0, or -EINVAL for bad input, leaving *p exactly as it was. Never logs. */
int predictor_observe(struct predictor *p, double complexity, double value);

/* The same with a weight in (0, 1]: how much this value counts against a full observation (an
 * observation window shared with other tasks is worth less). The fit takes it weighted (ewls and
 * linear: weighted Welford; moving_average: α·weight); the residual is recorded as usual; a value
 * of weight < 1 does not raise the bucket peak, since part of it may be other tasks' load. n counts
 * it as one observation. Returns 0, or -EINVAL (weight outside (0, 1] included). */
int predictor_observe_weighted(struct predictor *p, double complexity, double value, double weight);

/* Predicts for a task of the given complexity. prior is the fallback the ewls estimate is shrunk
 * toward while observations are few (finite and ≥ 0), or NaN for none. With no observation at all,
 * expected = upper = prior (0 without one), confidence 0 and sufficient false. Returns 0, or
 * -EINVAL for a bad complexity, a bad prior, or a predictor whose model is invalid; *ret is written
 * only on success. Never logs. */
int predictor_predict(const struct predictor *p, double complexity, double prior,
                      struct prediction *ret);

/* The fitted line: value ≈ intercept + slope·complexity (moving_average: slope 0, intercept the
 * EMA). Returns 0, -ENODATA before the first observation, -EINVAL for an invalid model; the out
 * parameters are written only on success. Never logs. */
int predictor_coefficients(const struct predictor *p, double *ret_slope, double *ret_intercept);

/* Rebuilds *p from kept raw observations, oldest first: the way to switch a model or change its
 * parameters without losing history. The arrays are borrowed; n may be 0. Returns 0, or -EINVAL
 * for an invalid model or any invalid observation, leaving *p untouched. Never logs. */
int predictor_refit(struct predictor *p, enum predict_model m, const struct predict_params *params,
                    const double *complexity, const double *value, size_t n);

/* Checks a predictor loaded from storage: a valid model, parameters in range, ring indexes in
 * bounds, every number finite and every sum of squares non-negative. Returns 0 or -EBADMSG. Never
 * logs. */
int predictor_validate(const struct predictor *p);

/* The exact nearest-rank q-quantile of n values: the k-th smallest with k = ⌈q·n⌉ (at least 1).
 * (The ewls margin uses rank ⌈q·(n + 1)⌉ instead; see the top of this file.)
 * The values are borrowed and not reordered. Returns 0; -EINVAL for n = 0, q outside (0, 1] or a
 * non-finite value; -E2BIG for n > PREDICT_RESIDUALS_MAX. *ret is written only on success. Never
 * logs. */
int predict_quantile(const double *values, size_t n, double q, double *ret);
