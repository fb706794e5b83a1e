/* src/core/rng.c: xoshiro256** (Blackman and Vigna), seeded through splitmix64, with
 * Box-Muller normals. Double arithmetic only, so the stream is the same on every build. */
#include <math.h>

#include "gradflow/rng.h"

/* M_PI is POSIX, not C11. */
#define TWO_PI 6.28318530717958647692

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void gf_rng_seed(gf_rng *rng, uint64_t seed)
{
    if (rng == NULL)
        return;
    /* splitmix64 never yields four zero words in a row, so the state is valid. */
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&seed);
    rng->has_spare = 0;
    rng->spare = 0.0;
}

uint64_t gf_rng_u64(gf_rng *rng)
{
    uint64_t *s;
    if (rng == NULL)
        return 0;
    s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double gf_rng_uniform(gf_rng *rng)
{
    /* The top 53 bits, scaled by 2^-53: every value k/2^53 equally likely. */
    if (rng == NULL)
        return NAN;
    return (double)(gf_rng_u64(rng) >> 11) * 0x1.0p-53;
}

uint64_t gf_rng_below(gf_rng *rng, uint64_t n)
{
    /* Reject the low sliver of values that would make the modulo uneven. */
    uint64_t threshold;
    uint64_t r;
    if (rng == NULL || n == 0)
        return 0;
    threshold = (0 - n) % n;
    do {
        r = gf_rng_u64(rng);
    } while (r < threshold);
    return r % n;
}

double gf_rng_normal(gf_rng *rng)
{
    double u1;
    double u2;
    double radius;
    if (rng == NULL)
        return NAN;
    if (rng->has_spare) {
        rng->has_spare = 0;
        return rng->spare;
    }
    /* 1 - u lies in (0, 1], so the logarithm is finite. */
    u1 = 1.0 - gf_rng_uniform(rng);
    u2 = gf_rng_uniform(rng);
    radius = sqrt(-2.0 * log(u1));
    rng->spare = radius * sin(TWO_PI * u2);
    rng->has_spare = 1;
    return radius * cos(TWO_PI * u2);
}

void gf_rng_shuffle(gf_rng *rng, size_t *idx, size_t n)
{
    if (rng == NULL || idx == NULL)
        return;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)gf_rng_below(rng, i);
        size_t tmp = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = tmp;
    }
}
