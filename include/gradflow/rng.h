/* gradflow/rng.h: the library's own seeded random generator (xoshiro256**, seeded by
 * splitmix64), so that a run is reproducible bit for bit on the same build. The state
 * is a plain struct owned by the caller; there is no hidden global generator. */
#ifndef GRADFLOW_RNG_H
#define GRADFLOW_RNG_H

#include "gradflow/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gf_rng {
    uint64_t s[4];      /* xoshiro256** state; never all zero */
    int has_spare;      /* 1 when spare holds the second normal of a Box-Muller pair */
    double spare;
} gf_rng;

/* Seed the generator; any seed (0 included) gives a valid, distinct stream. The draw
 * functions return 0 (integers) or NaN (reals) for a NULL generator. */
void gf_rng_seed(gf_rng *rng, uint64_t seed);

/* 64 uniformly random bits. */
uint64_t gf_rng_u64(gf_rng *rng);

/* Uniform on [0, 1), 53 bits of precision. */
double gf_rng_uniform(gf_rng *rng);

/* Uniform integer on [0, n), without modulo bias; 0 when n == 0. */
uint64_t gf_rng_below(gf_rng *rng, uint64_t n);

/* Standard normal N(0, 1) (Box-Muller; the second value of each pair is kept). */
double gf_rng_normal(gf_rng *rng);

/* Shuffle idx[0..n) in place (Fisher-Yates). */
void gf_rng_shuffle(gf_rng *rng, size_t *idx, size_t n);

#ifdef __cplusplus
}
#endif
#endif
