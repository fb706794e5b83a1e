/* src/fast/update.c: the update that measures ||delta|| in the pass that adds it, so that
 * a recorded step reads its parameters, gradients and state once instead of twice; asked
 * for, it also takes the sum of the squared parameters before they change, chunk by
 * chunk just ahead of the update, while the chunk is in cache.
 * Reference: gf_optim_update_ref in engine/optim.c (measure, then update: two passes),
 * which gives the same parameters bit for bit; test_net checks both agree.
 *
 * One plain sum of squares would chain every element on one addition and keep GCC from
 * vectorising the update; the sums run in LANES independent lanes, added in a fixed
 * order, so the figure does not depend on the CPU. In the double build a second sum of
 * (2^400 delta)^2 keeps vanishing updates from reading as 0 (see optim_rules.h). */
#include "fast/simd.h"
#include "fast/stats.h"
#include "fast/update.h"

enum { LANES = 16 };
#define SCALE 0x1p400

/* The lane sums of one range: sum[l] of delta^2 and scaled[l] of (2^400 delta)^2. */
typedef struct lanes {
    double sum[LANES], scaled[LANES];
} lanes;

static inline void add_square(lanes *s, size_t l, gf_real d)
{
    s->sum[l] += (double)d * d;
#if GF_REAL_IS_DOUBLE
    s->scaled[l] += (d * SCALE) * (d * SCALE);
#endif
}

static double norm_of(const lanes *s)
{
    double sum = 0, scaled = 0;
    for (size_t l = 0; l < LANES; l++) {
        sum += s->sum[l];
        scaled += s->scaled[l];
    }
    return gf_update_norm_from_sums(sum, scaled);
}

/* One element of each rule: add delta to p and its square to lane l. */
static inline void sgd_at(const gf_optim_coefs *c, lanes *s, size_t l, gf_real *p,
                          const gf_real *g)
{
    gf_real d = gf_sgd_rule(*p, *g, c);
    add_square(s, l, d);
    *p += d;
}

static inline void momentum_at(const gf_optim_coefs *c, lanes *s, size_t l, gf_real *v,
                               gf_real *p, const gf_real *g)
{
    gf_real d = gf_momentum_rule(v, *p, *g, c);
    add_square(s, l, d);
    *p += d;
}

static inline void adam_at(const gf_optim_coefs *c, lanes *s, size_t l, gf_real *m,
                           gf_real *v, gf_real *p, const gf_real *g)
{
    gf_real d = gf_adam_rule(m, v, *p, *g, c);
    add_square(s, l, d);
    *p += d;
}

/* Element i goes to lane i % LANES: whole blocks of LANES (the loop GCC vectorises), then
 * the tail, so every version (simd.h) adds in the same order. The lanes come in and go
 * out through *acc, so a range can be updated in pieces whose lengths are multiples of
 * LANES (but the last) with the same sums. sgd, momentum and adam are one loop written
 * three times on purpose: each must inline its own rule for GCC to vectorise it (through
 * a function pointer it would not). */
GF_SIMD_BODY void sgd_loop(const gf_optim_coefs *k, lanes *acc, gf_real *restrict p,
                           const gf_real *restrict g, size_t n)
{
    gf_optim_coefs c = *k;
    lanes s = *acc; /* a local copy: the loop keeps it in registers */
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (size_t l = 0; l < LANES; l++)
            sgd_at(&c, &s, l, &p[i + l], &g[i + l]);
    for (; i < n; i++)
        sgd_at(&c, &s, i % LANES, &p[i], &g[i]);
    *acc = s;
}
GF_SIMD_VOID(static, sgd,
             (const gf_optim_coefs *k, lanes *acc, gf_real *restrict p,
              const gf_real *restrict g, size_t n),
             (k, acc, p, g, n))

GF_SIMD_BODY void momentum_loop(const gf_optim_coefs *k, lanes *acc, gf_real *restrict v,
                                gf_real *restrict p, const gf_real *restrict g, size_t n)
{
    gf_optim_coefs c = *k;
    lanes s = *acc; /* a local copy: the loop keeps it in registers */
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (size_t l = 0; l < LANES; l++)
            momentum_at(&c, &s, l, &v[i + l], &p[i + l], &g[i + l]);
    for (; i < n; i++)
        momentum_at(&c, &s, i % LANES, &v[i], &p[i], &g[i]);
    *acc = s;
}
GF_SIMD_VOID(static, momentum,
             (const gf_optim_coefs *k, lanes *acc, gf_real *restrict v, gf_real *restrict p,
              const gf_real *restrict g, size_t n),
             (k, acc, v, p, g, n))

GF_SIMD_BODY void adam_loop(const gf_optim_coefs *k, lanes *acc, gf_real *restrict m,
                            gf_real *restrict v, gf_real *restrict p,
                            const gf_real *restrict g, size_t n)
{
    gf_optim_coefs c = *k;
    lanes s = *acc; /* a local copy: the loop keeps it in registers */
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (size_t l = 0; l < LANES; l++)
            adam_at(&c, &s, l, &m[i + l], &v[i + l], &p[i + l], &g[i + l]);
    for (; i < n; i++)
        adam_at(&c, &s, i % LANES, &m[i], &v[i], &p[i], &g[i]);
    *acc = s;
}
GF_SIMD_VOID(static, adam,
             (const gf_optim_coefs *k, lanes *acc, gf_real *restrict m, gf_real *restrict v,
              gf_real *restrict p, const gf_real *restrict g, size_t n),
             (k, acc, m, v, p, g, n))

/* Values [lo, lo + n) of the range. */
static void update_piece(gf_optim_kind kind, const gf_optim_coefs *k, lanes *acc, gf_real *s0,
                         gf_real *s1, gf_real *p, const gf_real *g, size_t lo, size_t n)
{
    if (kind == GF_OPTIM_SGD)
        sgd(k, acc, p + lo, g + lo, n);
    else if (kind == GF_OPTIM_MOMENTUM)
        momentum(k, acc, s0 + lo, p + lo, g + lo, n);
    else
        adam(k, acc, s0 + lo, s1 + lo, p + lo, g + lo, n);
}

/* With param_sumsq, piece by piece of GF_STATS_CHUNK values: the piece's squares summed
 * (gf_stats_sumsq_fast), then the piece updated while it is still in cache, the pieces'
 * sums added in order as gf_stats_sumsq adds its chunks, so *param_sumsq is
 * gf_stats_sumsq(p, n) of the parameters before the update, bit for bit. Without, one
 * piece. */
void gf_fast_update_measured(gf_optim_kind kind, const gf_optim_coefs *k, gf_real *s0,
                             gf_real *s1, gf_real *p, const gf_real *g, size_t n,
                             double *update_norm, double *param_sumsq)
{
    lanes acc = {{0}, {0}};
    size_t piece = param_sumsq != NULL ? GF_STATS_CHUNK : n;
    double q = 0;
    for (size_t lo = 0; lo < n; lo += piece) {
        size_t len = n - lo < piece ? n - lo : piece;
        if (param_sumsq != NULL)
            q += gf_stats_sumsq_fast(p + lo, len);
        update_piece(kind, k, &acc, s0, s1, p, g, lo, len);
    }
    *update_norm = norm_of(&acc);
    if (param_sumsq != NULL)
        *param_sumsq = q;
}
