/* SPDX-License-Identifier: MIT */
#pragma once

/* A small deterministic random number generator for the admission simulator: xoshiro256** seeded
 * through splitmix64 (Blackman and Vigna, https://prng.di.unimi.it/). libc's rand() is not used,
 * because its sequence differs between C libraries and a seed must give the same trace, and so the
 * same table, everywhere. */

#include <math.h>
#include <stdint.h>

struct rng {
    uint64_t s[4];
};

static inline uint64_t splitmix64_next(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static inline void rng_seed(struct rng *r, uint64_t seed)
{
    uint64_t x = seed;

    /* splitmix64 never yields four zero words in a row, so the state is never all zero. */
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64_next(&x);
}

static inline uint64_t rotl64(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

/* Uniform in [0, 1), from the top 53 bits. */
static inline double rng_uniform(struct rng *r)
{
    return (double) (rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in (0, 1]: safe under log(). */
static inline double rng_uniform_open0(struct rng *r)
{
    return 1.0 - rng_uniform(r);
}

/* Uniform in [lo, hi). */
static inline double rng_range(struct rng *r, double lo, double hi)
{
    return lo + (hi - lo) * rng_uniform(r);
}

/* A uniform integer in [lo, hi]; the modulo bias is below 2^-40 for the small ranges used here. */
static inline uint64_t rng_int(struct rng *r, uint64_t lo, uint64_t hi)
{
    return lo + rng_next(r) % (hi - lo + 1);
}

/* Standard normal by Box-Muller; one value per call keeps the sequence easy to reason about. */
static inline double rng_normal(struct rng *r)
{
    double u1 = rng_uniform_open0(r), u2 = rng_uniform(r);

    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* Exponential with the given mean. */
static inline double rng_exponential(struct rng *r, double mean)
{
    return -mean * log(rng_uniform_open0(r));
}
