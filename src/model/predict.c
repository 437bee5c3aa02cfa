/* SPDX-License-Identifier: MIT */
#include "model/predict.h"

#include <math.h>
#include <string.h>

#include "basic/macro.h"

#define DEFAULT_LAMBDA           0.97
#define DEFAULT_ALPHA            0.2
#define DEFAULT_QUANTILE         0.95
#define DEFAULT_SHRINKAGE_WEIGHT 5.0
#define DEFAULT_SD_MULTIPLIER    1.0
#define DEFAULT_MARGIN_FACTOR    1.0
#define DEFAULT_MIN_OBSERVATIONS 5

/* capfox's linear model treats Σ(x − x̄)² below this as "complexity never varied". */
#define LINEAR_FLAT_SXX 1e-10

/* ewls decides the same relative to the scale of the complexities, because forgetting shrinks Sxx
 * geometrically while the slope Sxy/Sxx stays meaningful until rounding takes over. */
#define EWLS_FLAT_REL 1e-12

/* Observations (ewls: effective weight) at which confidence reaches 1 − 1/e. */
#define CONFIDENCE_SCALE 5.0

static const char *const model_names[_PREDICT_MODEL_MAX] = {
    [PREDICT_MODEL_EWLS] = "ewls",
    [PREDICT_MODEL_MOVING_AVERAGE] = "moving_average",
    [PREDICT_MODEL_LINEAR] = "linear",
};

const char *predict_model_to_string(enum predict_model m)
{
    if (m < 0 || m >= _PREDICT_MODEL_MAX)
        return NULL;
    return model_names[m];
}

enum predict_model predict_model_from_string(const char *s)
{
    if (!s)
        return _PREDICT_MODEL_INVALID;
    for (int i = 0; i < _PREDICT_MODEL_MAX; i++)
        if (strcmp(s, model_names[i]) == 0)
            return (enum predict_model) i;
    if (strcmp(s, "linear_regression") == 0)
        return PREDICT_MODEL_LINEAR;
    return _PREDICT_MODEL_INVALID;
}

void predict_params_default(struct predict_params *ret)
{
    *ret = (struct predict_params) {
        .lambda = DEFAULT_LAMBDA,
        .alpha = DEFAULT_ALPHA,
        .quantile = DEFAULT_QUANTILE,
        .shrinkage_weight = DEFAULT_SHRINKAGE_WEIGHT,
        .sd_multiplier = DEFAULT_SD_MULTIPLIER,
        .margin_factor = DEFAULT_MARGIN_FACTOR,
        .min_observations = DEFAULT_MIN_OBSERVATIONS,
    };
}

static bool unit_interval(double x)
{
    /* (0, 1]; false for NaN. */
    return x > 0 && x <= 1;
}

static bool finite_at_least(double x, double lo)
{
    return isfinite(x) && x >= lo;
}

static uint64_t min_observations_floor(enum predict_model m)
{
    return m == PREDICT_MODEL_LINEAR ? 2 : 1;
}

static void params_normalize(struct predict_params *p, enum predict_model m)
{
    if (!unit_interval(p->lambda))
        p->lambda = DEFAULT_LAMBDA;
    if (!unit_interval(p->alpha))
        p->alpha = DEFAULT_ALPHA;
    if (!unit_interval(p->quantile))
        p->quantile = DEFAULT_QUANTILE;
    if (!finite_at_least(p->shrinkage_weight, 0))
        p->shrinkage_weight = DEFAULT_SHRINKAGE_WEIGHT;
    if (!finite_at_least(p->sd_multiplier, 0))
        p->sd_multiplier = DEFAULT_SD_MULTIPLIER;
    if (!finite_at_least(p->margin_factor, 1))
        p->margin_factor = DEFAULT_MARGIN_FACTOR;
    p->min_observations = MAX(p->min_observations, min_observations_floor(m));
}

static bool params_valid(const struct predict_params *p, enum predict_model m)
{
    return unit_interval(p->lambda) && unit_interval(p->alpha) && unit_interval(p->quantile) &&
           finite_at_least(p->shrinkage_weight, 0) && finite_at_least(p->sd_multiplier, 0) &&
           finite_at_least(p->margin_factor, 1) && p->min_observations >= min_observations_floor(m);
}

static bool model_valid(enum predict_model m)
{
    return m >= 0 && m < _PREDICT_MODEL_MAX;
}

static bool complexity_valid(double c)
{
    return c >= 0 && c <= PREDICT_COMPLEXITY_MAX; /* false for NaN */
}

static bool value_valid(double y)
{
    return fabs(y) <= PREDICT_VALUE_MAX; /* false for NaN */
}

static unsigned bucket_of(double c)
{
    if (c < 1)
        return 0;
    /* frexp gives c = m·2^e with m in [0.5, 1), so c in [2^(e−1), 2^e) lands in bucket e. */
    int e;
    (void) frexp(c, &e);
    return e >= PREDICT_BUCKETS ? PREDICT_BUCKETS - 1 : (unsigned) e;
}

int predictor_init(struct predictor *p, enum predict_model m, const struct predict_params *params)
{
    struct predict_params pp;

    if (!model_valid(m))
        return -EINVAL;
    if (params)
        pp = *params;
    else
        predict_params_default(&pp);
    params_normalize(&pp, m);

    memset(p, 0, sizeof(*p));
    p->model = m;
    p->params = pp;
    return 0;
}

/* The fitted line, in the form each model computes it. */
struct fit {
    double slope;
    double intercept;
    bool flat;          /* complexity did not vary enough for a slope: the mean is used */
};

static struct fit fit_of(const struct predictor *p)
{
    struct fit f = { 0 };

    switch (p->model) {
    case PREDICT_MODEL_EWLS:
        /* Sxx/W is the weighted variance of the complexities. */
        f.flat = !(p->sxx > EWLS_FLAT_REL * p->w * (1 + p->mx * p->mx));
        f.slope = f.flat ? 0 : p->sxy / p->sxx;
        f.intercept = p->my - f.slope * p->mx;
        break;
    case PREDICT_MODEL_LINEAR:
        f.flat = p->sxx < LINEAR_FLAT_SXX;
        f.slope = f.flat ? 0 : p->sxy / p->sxx;
        f.intercept = p->my - f.slope * p->mx;
        break;
    case PREDICT_MODEL_MOVING_AVERAGE:
        f.flat = true;
        f.intercept = p->ewma;
        break;
    default:
        break;
    }
    return f;
}

static double point_estimate(const struct predictor *p, const struct fit *f, double c)
{
    if (p->model == PREDICT_MODEL_EWLS)
        /* Centred on the weighted mean: no cancellation between a large intercept and slope·c. */
        return p->my + f->slope * (c - p->mx);
    return f->intercept + f->slope * c;
}

/* Weighted Welford: an observation of weight wt moves the means by wt·d/W and adds wt·d·d' to the
 * co-moments (West 1979); wt = 1 is the plain update. */
static void welford_update(struct predictor *p, double lambda, double c, double y, double wt)
{
    p->w = lambda * p->w + wt;
    p->sxx *= lambda;
    p->sxy *= lambda;
    p->syy *= lambda;

    double dx = c - p->mx, dy = y - p->my;
    p->mx += wt * dx / p->w;
    p->my += wt * dy / p->w;
    p->sxx += wt * dx * (c - p->mx);
    p->sxy += wt * dx * (y - p->my);
    p->syy += wt * dy * (y - p->my);
}

static void ewma_update(struct predictor *p, double y, double wt)
{
    if (p->n == 0) {
        p->ewma = y;
        p->ewvar = 0;
        return;
    }
    double a = p->params.alpha * wt, d = y - p->ewma;
    p->ewma = a * y + (1 - a) * p->ewma;       /* capfox's form, for bit-for-bit parity */
    p->ewvar = (1 - a) * (p->ewvar + a * d * d);
}

int predictor_observe(struct predictor *p, double complexity, double value)
{
    return predictor_observe_weighted(p, complexity, value, 1.0);
}

int predictor_observe_weighted(struct predictor *p, double complexity, double value, double weight)
{
    if (!model_valid(p->model) || !complexity_valid(complexity) || !value_valid(value) ||
        !unit_interval(weight))
        return -EINVAL;

    if (p->n > 0) {
        struct fit f = fit_of(p);
        p->residuals[p->residual_next] = value - point_estimate(p, &f, complexity);
        p->residual_complexity[p->residual_next] = complexity;
        p->residual_next = (uint16_t) ((p->residual_next + 1) % PREDICT_RESIDUALS_MAX);
        if (p->residual_len < PREDICT_RESIDUALS_MAX)
            p->residual_len++;
    }

    switch (p->model) {
    case PREDICT_MODEL_EWLS:
        welford_update(p, p->params.lambda, complexity, value, weight);
        break;
    case PREDICT_MODEL_LINEAR:
        welford_update(p, 1, complexity, value, weight);
        break;
    case PREDICT_MODEL_MOVING_AVERAGE:
        ewma_update(p, value, weight);
        break;
    default:
        break;
    }

    /* The floor forgets as the fit does: each observation decays every bucket's peak by λ^weight,
     * so one outlier long ago does not hold every later reservation up forever, while a recent
     * peak still floors its bucket. (λ = 1, plain least squares, never forgets.) */
    if (p->model == PREDICT_MODEL_EWLS && p->params.lambda < 1) {
        double decay = pow(p->params.lambda, weight);
        for (unsigned k = 0; k < PREDICT_BUCKETS; k++)
            if (p->peak_seen & (UINT64_C(1) << k))
                p->peak[k] *= decay;
    }

    /* A down-weighted value is a doubtful one (it shared its window with other tasks): it informs
     * the fit but does not raise the floor. */
    unsigned b = bucket_of(complexity);
    uint64_t bit = UINT64_C(1) << b;
    if (weight >= 1 && (!(p->peak_seen & bit) || value > p->peak[b])) {
        p->peak[b] = value;
        p->peak_complexity[b] = complexity;
        p->peak_seen |= bit;
    }

    p->n++;
    return 0;
}

static void sort_small(double *v, size_t n)
{
    /* Insertion sort: at most PREDICT_RESIDUALS_MAX elements, deterministic, no callbacks. */
    for (size_t i = 1; i < n; i++) {
        double x = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/* The rank-th smallest (1-based) of n ≤ PREDICT_RESIDUALS_MAX finite values, from a sorted copy. */
static double order_statistic(const double *values, size_t n, size_t rank)
{
    double v[PREDICT_RESIDUALS_MAX];

    memcpy(v, values, n * sizeof(double));
    sort_small(v, n);
    return v[CLAMP(rank, 1, n) - 1];
}

/* ⌈x⌉ for a rank computed in floating point; the tolerance keeps a product that is an integer in
 * exact arithmetic (0.4·5) from rounding up past it. */
static size_t rank_ceil(double x)
{
    double k = ceil(x - 1e-9);
    return k < 1 ? 1 : (size_t) k;
}

int predict_quantile(const double *values, size_t n, double q, double *ret)
{
    if (n == 0 || !unit_interval(q))
        return -EINVAL;
    if (n > PREDICT_RESIDUALS_MAX)
        return -E2BIG;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(values[i]))
            return -EINVAL;

    *ret = order_statistic(values, n, rank_ceil(q * (double) n));
    return 0;
}

/* The residual margin. The nearest rank ⌈q·n⌉ of n past residuals is exceeded by the next one more
 * often than 1 − q: for exchangeable residuals the k-th smallest covers the next with probability
 * k/(n + 1), 61/65 = 93.8 % for 64 residuals at q = 0.95. Rank ⌈q·(n + 1)⌉ (the split-conformal
 * rule) brings that to at least q, 62/65 = 95.4 %. It is the maximum while n < (1 + q)/(1 − q),
 * i.e. up to 38 residuals at 0.95 (the nearest rank: up to 19). */
static double residual_margin(const struct predictor *p)
{
    if (p->residual_len == 0)
        return 0;
    return order_statistic(p->residuals, p->residual_len,
                           rank_ceil(p->params.quantile * (double) (p->residual_len + 1)));
}

/* The margin at complexity c: the quantile of the residuals of runs in c's complexity bucket when
 * there are PREDICT_LOCAL_RESIDUALS_MIN of them, else of all. Errors grow with the size of a run;
 * one quantile for every complexity charges a small run the errors of the big ones (and, where
 * big runs are few, the reverse). Residuals of unknown complexity (kept before it was) count only
 * in the pooled quantile. */
static double residual_margin_at(const struct predictor *p, double c)
{
    double v[PREDICT_RESIDUALS_MAX];
    size_t n = 0;
    unsigned b = bucket_of(c);

    for (unsigned i = 0; i < p->residual_len; i++)
        if (p->residual_complexity[i] >= 0 && bucket_of(p->residual_complexity[i]) == b)
            v[n++] = p->residuals[i];
    if (n < PREDICT_LOCAL_RESIDUALS_MIN)
        return residual_margin(p);
    return order_statistic(v, n, rank_ceil(p->params.quantile * (double) (n + 1)));
}

static double residual_rms(const struct predictor *p)
{
    double s = 0;

    if (p->residual_len == 0)
        return 0;
    for (unsigned i = 0; i < p->residual_len; i++)
        s += p->residuals[i] * p->residuals[i];
    return sqrt(s / p->residual_len);
}

static double growth(double n)
{
    return 1 - exp(-n / CONFIDENCE_SCALE);
}

static void predict_ewls(const struct predictor *p, double c, double prior, struct prediction *r)
{
    struct fit f = fit_of(p);
    double yhat = point_estimate(p, &f, c);

    r->expected = yhat;
    r->margin = residual_margin_at(p, c);

    /* Shrink first, floor last: never below what a run of similar complexity has really reached. */
    double raw = MAX(yhat + r->margin, 0);
    double k = p->params.shrinkage_weight, n = (double) p->n;
    /* One-sided: a larger prior raises an estimate built on few runs, a smaller one never lowers
     * it. Admission must err on the side of the task that might not fit; pulling a complexity's
     * estimate down toward a type mean taken at other complexities would not. */
    double shrunk = isnan(prior) || !(k > 0) ? raw : MAX(raw, (n * raw + k * prior) / (n + k));
    if (r->has_peak)
        shrunk = MAX(shrunk, r->peak);
    r->upper = MAX(shrunk, 0) * p->params.margin_factor;

    double spread = residual_rms(p), size = fabs(yhat);
    double quality = size + spread > 0 ? size / (size + spread) : 1;
    r->confidence = growth(p->w) * quality;
}

static void predict_moving_average(const struct predictor *p, struct prediction *r)
{
    r->expected = p->ewma;
    r->upper = p->ewma + p->params.sd_multiplier * sqrt(p->ewvar);
    r->confidence = growth((double) p->n);
}

static void predict_linear(const struct predictor *p, double c, struct prediction *r)
{
    struct fit f = fit_of(p);
    uint64_t min = p->params.min_observations;

    r->expected = point_estimate(p, &f, c);
    r->upper = r->expected;
    if (p->n < min)
        r->confidence = 0;
    else {
        double conf = 0.5 + 0.5 * (1 - exp(-(double) (p->n - min) / 10));
        if (f.flat)
            conf *= 0.5;
        r->confidence = MIN(conf, 1);
    }
}

int predictor_predict(const struct predictor *p, double complexity, double prior,
                      struct prediction *ret)
{
    struct prediction r = { .n = p->n };

    if (!model_valid(p->model) || !complexity_valid(complexity))
        return -EINVAL;
    if (!isnan(prior) && !finite_at_least(prior, 0))
        return -EINVAL;

    r.sufficient = p->n >= p->params.min_observations;

    if (p->n == 0) {
        r.expected = r.upper = isnan(prior) ? 0 : prior;
        *ret = r;
        return 0;
    }

    unsigned b = bucket_of(complexity);
    if (p->peak_seen & (UINT64_C(1) << b)) {
        r.has_peak = true;
        r.peak = p->peak[b];
        /* A cost that grows with complexity from a non-negative base reaches at least this share
         * of a peak seen higher up; the whole peak would overstate it by up to the octave's 2×. */
        if (r.peak > 0 && complexity < p->peak_complexity[b])
            r.peak *= complexity / p->peak_complexity[b];
    }

    switch (p->model) {
    case PREDICT_MODEL_EWLS:
        predict_ewls(p, complexity, prior, &r);
        break;
    case PREDICT_MODEL_MOVING_AVERAGE:
        predict_moving_average(p, &r);
        break;
    case PREDICT_MODEL_LINEAR:
        predict_linear(p, complexity, &r);
        break;
    default:
        return -EINVAL;
    }

    r.upper = MAX(r.upper, 0);
    r.confidence = CLAMP(r.confidence, 0, 1);
    *ret = r;
    return 0;
}

int predictor_coefficients(const struct predictor *p, double *ret_slope, double *ret_intercept)
{
    if (!model_valid(p->model))
        return -EINVAL;
    if (p->n == 0)
        return -ENODATA;

    struct fit f = fit_of(p);
    *ret_slope = f.slope;
    *ret_intercept = f.intercept;
    return 0;
}

int predictor_refit(struct predictor *p, enum predict_model m, const struct predict_params *params,
                    const double *complexity, const double *value, size_t n)
{
    struct predictor t;
    int r;

    r = predictor_init(&t, m, params);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        r = predictor_observe(&t, complexity[i], value[i]);
        if (r < 0)
            return r;
    }
    *p = t;
    return 0;
}

int predictor_validate(const struct predictor *p)
{
    if (!model_valid(p->model) || !params_valid(&p->params, p->model))
        return -EBADMSG;
    if (p->residual_len > PREDICT_RESIDUALS_MAX || p->residual_next >= PREDICT_RESIDUALS_MAX)
        return -EBADMSG;
    /* The ring fills from slot 0, so until it is full the next slot is its length. */
    if (p->residual_len < PREDICT_RESIDUALS_MAX && p->residual_next != p->residual_len)
        return -EBADMSG;
    /* Every observation after the first leaves a residual. */
    if (p->residual_len != MIN(p->n > 0 ? p->n - 1 : 0, (uint64_t) PREDICT_RESIDUALS_MAX))
        return -EBADMSG;

    const double nums[] = { p->w, p->mx, p->my, p->sxx, p->sxy, p->syy, p->ewma, p->ewvar };
    for (size_t i = 0; i < ELEMENTSOF(nums); i++)
        if (!isfinite(nums[i]))
            return -EBADMSG;
    if (p->w < 0 || p->sxx < 0 || p->syy < 0 || p->ewvar < 0)
        return -EBADMSG;
    /* ewls and linear weigh each observation, so W > 0 exactly when something was observed;
     * moving_average leaves W at 0. */
    bool weighted = p->w > 0;
    if (p->model == PREDICT_MODEL_MOVING_AVERAGE ? weighted : weighted != (p->n > 0))
        return -EBADMSG;

    for (unsigned i = 0; i < p->residual_len; i++) {
        double rc = p->residual_complexity[i];
        if (!isfinite(p->residuals[i]) || isnan(rc) ||
            (islessgreater(rc, PREDICT_COMPLEXITY_UNKNOWN) && !complexity_valid(rc)))
            return -EBADMSG;
    }
    for (unsigned b = 0; b < PREDICT_BUCKETS; b++)
        if ((p->peak_seen & (UINT64_C(1) << b)) &&
            (!value_valid(p->peak[b]) || !complexity_valid(p->peak_complexity[b])))
            return -EBADMSG;
    if (p->n == 0 && p->peak_seen != 0)
        return -EBADMSG;
    return 0;
}
