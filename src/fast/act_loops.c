/* src/fast/act_loops.c: the activation table's array loops (see act_loops.h), the speed
 * code of src/layers/act.c. Each is a plain loop over inline gf_real math, so that the
 * compiler vectorises it (GF_SIMD_VOID: also for AVX2 and AVX-512, see simd.h), and each
 * scalar below names its reference in act.c and repeats its expression in gf_real. Two
 * things differ in the float build: tanh is a rational function and e^z a polynomial,
 * both vectorisable, where libm's tanhf and expf are a call per element.
 *
 * Agreement (tests/test_act.c): in the double build every loop equals its reference bit
 * for bit (same expressions, same libm). In the float build, against the true values
 * where they are normal floats, f is within 2.3 eps |f| (tanh) and f' within 3.3 eps |f'|
 * (tanh'), measured over [-100, 100]; the test allows 4 and 6. */
#include <stdint.h>
#include <string.h>
#include <tgmath.h> /* exp, expm1, log1p, fabs in the precision of gf_real */

#include "fast/act_loops.h"
#include "gradflow/act.h"
#include "fast/simd.h"

#if GF_REAL_IS_DOUBLE

static inline double tanh_fast(double x) { return tanh(x); }
static inline double exp_nonpos(double z) { return exp(z); }

#else

/* tanh in float: libm's tanhf was the largest single cost of a training step of small
 * tanh networks (40% of the instructions at width 32). x p(x^2) / q(x^2) instead, p of
 * degree 6 and q of degree 3 in x^2 (the coefficients of Eigen's fast tanh), with x
 * clamped to +-7.9053, where the result rounds to +-1. Relative error at most 3.4
 * FLT_EPSILON over the whole line; NaN in, NaN out (the clamp's comparisons are false
 * for NaN). The clamp is a select that the loop vectorises only when the compiler may
 * assume that comparisons do not trap: -fno-trapping-math (cmake/fast.cmake). */
static inline float tanh_fast(float x)
{
    const float clamp = 7.90531110763549805f;
    float x2, p, q;
    x = x > clamp ? clamp : x;
    x = x < -clamp ? -clamp : x;
    x2 = x * x;
    p = -2.76076847742355e-16f;
    p = p * x2 + 2.00018790482477e-13f;
    p = p * x2 - 8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    q = 1.19825839466702e-06f;
    q = q * x2 + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    return x * p / q;
}

/* e^z for z <= 0 in float, vectorisable: z = n ln2 + r with |r| <= ln2/2 (ln2 in two
 * parts, so that n ln2_hi is exact), e^r = 1 + r + r^2 q(r) with q the degree-4
 * Chebyshev fit of (e^r - 1 - r)/r^2 (relative error 1e-8, a tenth of an ulp: one
 * degree less than Cephes' expf, two operations fewer), 2^n put straight into the
 * exponent bits. n is rounded by adding 1.5 * 2^23, which leaves it in the low
 * bits of the sum, so no float-to-int conversion is needed (and NaN needs no branch:
 * NaN in, NaN out). Within 1 ulp where e^z is a normal float (z >= log FLT_MIN); 0
 * below, where it is subnormal. The derivatives need it in their tails, where y(1 - y)
 * and 1 - y^2 round to 0 in float. Written with fmaf: one instruction per step where the
 * CPU has FMA (simd.h), which halves the cost of tanh' in the backward pass, and the
 * same correctly rounded bits where it does not. */
static inline float exp_nonpos(float z)
{
    const float lowest = -87.3365402f; /* log(FLT_MIN): n >= -126 */
    const float shifter = 12582912.0f; /* 1.5 * 2^23, bits 0x4b400000 */
    float zc = z < lowest ? lowest : z, t, n, r, p, scale;
    uint32_t bits;
    t = fmaf(zc, 1.44269504088896341f, shifter);
    n = t - shifter;
    r = fmaf(n, 2.12194440e-4f, fmaf(n, -0.693359375f, zc));
    p = 1.3926175888627768e-3f;
    p = fmaf(p, r, 8.363173343241215e-3f);
    p = fmaf(p, r, 4.1666556149721146e-2f);
    p = fmaf(p, r, 1.6666577756404877e-1f);
    p = fmaf(p, r, 0.5f);
    p = fmaf(p, r * r, r) + 1.0f;
    memcpy(&bits, &t, sizeof bits);
    bits = (bits - 0x4b400000u + 127u) << 23; /* the exponent field of 2^n */
    memcpy(&scale, &bits, sizeof scale);
    return z < lowest ? 0.0f : p * scale;
}

#endif

/* ---- The scalars, one pair per row of act.c -------------------------------------------
 * NAME_f(x, a) = f(x) and NAME_d(x, y, a) = f'(x) given y = f(x). */

/* identity_f, identity_df */
static inline gf_real identity_f(gf_real x, gf_real a) { (void)a; return x; }
static inline gf_real identity_d(gf_real x, gf_real y, gf_real a)
{
    (void)x, (void)y, (void)a;
    return 1;
}

/* sigmoid_f */
static inline gf_real sigmoid_f(gf_real x, gf_real a)
{
    gf_real e = exp(-fabs(x)), r = 1 / (1 + e);
    (void)a;
    return x >= 0 ? r : e * r;
}
/* sigmoid_df: y (1 - y) at -|x|, where y <= 1/2; the y given (at x) would cancel. */
static inline gf_real sigmoid_d(gf_real x, gf_real y, gf_real a)
{
    gf_real e = exp_nonpos(-fabs(x)), yn = e * (1 / (1 + e));
    (void)y, (void)a;
    return yn * (1 - yn);
}

/* tanh_f (a rational in float, see tanh_fast) */
static inline gf_real tanh_f(gf_real x, gf_real a) { (void)a; return tanh_fast(x); }
/* tanh_df: (e^-|x| (1 + |y|))^2, exact in the tail where 1 - y^2 is 0; in float also
 * where the rational is clamped to +-1 (1 + |y| is then 2 to within an ulp). */
static inline gf_real tanh_d(gf_real x, gf_real y, gf_real a)
{
    gf_real t = exp_nonpos(-fabs(x)) * (1 + fabs(y));
    (void)a;
    return t * t;
}

/* relu_f, relu_df */
static inline gf_real relu_f(gf_real x, gf_real a) { (void)a; return x <= 0 ? 0 : x; }
static inline gf_real relu_d(gf_real x, gf_real y, gf_real a)
{
    (void)y, (void)a;
    return x > 0 ? 1 : 0;
}

/* leaky_relu_f, leaky_relu_df */
static inline gf_real leaky_relu_f(gf_real x, gf_real a) { return x > 0 ? x : a * x; }
static inline gf_real leaky_relu_d(gf_real x, gf_real y, gf_real a)
{
    (void)y;
    return x > 0 ? 1 : a;
}

/* softplus_f, softplus_df (= sigmoid_f) */
static inline gf_real softplus_f(gf_real x, gf_real a)
{
    (void)a;
    return (x > 0 ? x : 0) + log1p(exp(-fabs(x)));
}
static inline gf_real softplus_d(gf_real x, gf_real y, gf_real a)
{
    (void)y;
    return sigmoid_f(x, a);
}

/* elu_f, elu_df */
static inline gf_real elu_f(gf_real x, gf_real a)
{
    return x > 0 ? x : a * expm1(x > 0 ? 0 : x);
}
static inline gf_real elu_d(gf_real x, gf_real y, gf_real a)
{
    (void)y;
    return x > 0 ? 1 : a * exp(x > 0 ? 0 : x);
}

/* abs_f, abs_df */
static inline gf_real abs_f(gf_real x, gf_real a) { (void)a; return fabs(x); }
static inline gf_real abs_d(gf_real x, gf_real y, gf_real a)
{
    (void)y, (void)a;
    return x > 0 ? 1 : (x < 0 ? -1 : 0);
}

/* softsign_f, softsign_df */
static inline gf_real softsign_f(gf_real x, gf_real a) { (void)a; return x / (1 + fabs(x)); }
static inline gf_real softsign_d(gf_real x, gf_real y, gf_real a)
{
    gf_real s = 1 + fabs(x);
    (void)y, (void)a;
    return 1 / (s * s);
}

/* relu_leaky_backward_f, relu_leaky_backward_df */
static inline gf_real relu_leaky_backward_f(gf_real x, gf_real a) { return relu_f(x, a); }
static inline gf_real relu_leaky_backward_d(gf_real x, gf_real y, gf_real a)
{
    (void)y;
    return x > 0 ? 1 : a;
}

/* ---- The loops ------------------------------------------------------------------------
 * The same three loops for every row, over its scalars above: f, f', and f' with the
 * chain rule of the backward pass (one pass over the data instead of two). */
#define ARRAY_LOOPS(name)                                                                   \
    GF_SIMD_BODY void gf_act_##name##_forward_loop(gf_real *y, const gf_real *x, size_t n,  \
                                                   gf_real a)                               \
    {                                                                                       \
        for (size_t i = 0; i < n; i++)                                                      \
            y[i] = name##_f(x[i], a);                                                       \
    }                                                                                       \
    GF_SIMD_BODY void gf_act_##name##_deriv_loop(gf_real *d, const gf_real *x,              \
                                                 const gf_real *y, size_t n, gf_real a)     \
    {                                                                                       \
        for (size_t i = 0; i < n; i++)                                                      \
            d[i] = name##_d(x[i], y[i], a);                                                 \
    }                                                                                       \
    GF_SIMD_BODY void gf_act_##name##_chain_loop(gf_real *restrict d, gf_real *restrict dx, \
                                                 const gf_real *restrict dy,                \
                                                 const gf_real *x, const gf_real *y,        \
                                                 size_t n, gf_real a, int add)              \
    {                                                                                       \
        for (size_t i = 0; i < n; i++) {                                                    \
            gf_real di = name##_d(x[i], y[i], a);                                           \
            d[i] = di;                                                                      \
            dx[i] = (add ? dx[i] : 0) + dy[i] * di;                                         \
        }                                                                                   \
    }                                                                                       \
    GF_SIMD_VOID(extern, gf_act_##name##_forward,                                           \
                 (gf_real *y, const gf_real *x, size_t n, gf_real a), (y, x, n, a))         \
    GF_SIMD_VOID(extern, gf_act_##name##_deriv,                                             \
                 (gf_real *d, const gf_real *x, const gf_real *y, size_t n, gf_real a),     \
                 (d, x, y, n, a))                                                           \
    GF_SIMD_VOID(extern, gf_act_##name##_chain,                                             \
                 (gf_real *restrict d, gf_real *restrict dx, const gf_real *restrict dy,    \
                  const gf_real *x, const gf_real *y, size_t n, gf_real a, int add),        \
                 (d, dx, dy, x, y, n, a, add))

ARRAY_LOOPS(identity)
ARRAY_LOOPS(sigmoid)
ARRAY_LOOPS(tanh)
ARRAY_LOOPS(relu)
ARRAY_LOOPS(leaky_relu)
ARRAY_LOOPS(softplus)
ARRAY_LOOPS(elu)
ARRAY_LOOPS(abs)
ARRAY_LOOPS(softsign)
ARRAY_LOOPS(relu_leaky_backward)

/* ---- Any row, with or without loops --------------------------------------------------- */

void gf_act_forward(const gf_activation *act, gf_real *y, const gf_real *x, size_t n, gf_real a)
{
    if (act->forward != NULL) {
        act->forward(y, x, n, a);
        return;
    }
    for (size_t i = 0; i < n; i++)
        y[i] = (gf_real)act->f((double)x[i], (double)a);
}

void gf_act_deriv(const gf_activation *act, gf_real *d, const gf_real *x, const gf_real *y,
                  size_t n, gf_real a)
{
    if (act->deriv != NULL) {
        act->deriv(d, x, y, n, a);
        return;
    }
    for (size_t i = 0; i < n; i++)
        d[i] = (gf_real)act->df((double)x[i], (double)a);
}

typedef void chain_fn(gf_real *restrict d, gf_real *restrict dx, const gf_real *restrict dy,
                      const gf_real *x, const gf_real *y, size_t n, gf_real a, int add);

/* The rows' chain loops, found by their f' loops: the table of act.c names only f and f'
 * loops (a row needs no more), and a user's row has neither. */
static chain_fn *chain_of(const gf_activation *act)
{
#define ROW(name) {gf_act_##name##_deriv, gf_act_##name##_chain}
    static const struct {
        void (*deriv)(gf_real *, const gf_real *, const gf_real *, size_t, gf_real);
        chain_fn *chain;
    } rows[] = {ROW(identity), ROW(sigmoid),  ROW(tanh), ROW(relu),     ROW(leaky_relu),
                ROW(softplus), ROW(elu),      ROW(abs),  ROW(softsign), ROW(relu_leaky_backward)};
#undef ROW
    for (size_t k = 0; act->deriv != NULL && k < sizeof rows / sizeof rows[0]; k++)
        if (act->deriv == rows[k].deriv)
            return rows[k].chain;
    return NULL;
}

void gf_act_deriv_chain(const gf_activation *act, gf_real *restrict d, gf_real *restrict dx,
                        const gf_real *restrict dy, const gf_real *x, const gf_real *y,
                        size_t n, gf_real a, int add)
{
    chain_fn *chain = chain_of(act);
    if (chain != NULL) {
        chain(d, dx, dy, x, y, n, a, add);
        return;
    }
    gf_act_deriv(act, d, x, y, n, a);
    for (size_t i = 0; i < n; i++)
        dx[i] = (add ? dx[i] : 0) + dy[i] * d[i];
}
