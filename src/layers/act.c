/* src/layers/act.c: the table of element-wise activations (see act.h). The math of each
 * activation is written once, as scalar f and f' below; the array loops the layers use
 * and the double scalar functions of the table are generated from it. Leaves out
 * activations with parameters learnt per feature (PReLU is a layer, see prelu.c). */
#include <stdio.h>
#include <string.h>
#include <tgmath.h>

#include "gradflow/act.h"
#include "core/internal.h"
#include "fast/simd.h"

/* ---- tanh in float ------------------------------------------------------------------
 * libm's tanhf is a call per element that the compiler cannot vectorise; it was the
 * largest single cost of a training step of small tanh networks (40% of the
 * instructions at width 32). For float, tanh is instead a rational function that
 * vectorises: x p(x^2) / q(x^2), p of degree 6 and q of degree 3 in x^2 (the
 * coefficients of Eigen's fast tanh), with x clamped to +-7.9053, where the result
 * rounds to +-1. Relative error at most 3.4 FLT_EPSILON over the whole line (checked
 * against tanh in double every 1e-5 on [-12, 12]); exactly +-1 in the tails; NaN in,
 * NaN out (the clamp's comparisons are false for NaN). TANH picks it by type, so the
 * double build and the table's double scalar f keep libm's tanh: a rational this small
 * is not accurate to a few DBL_EPSILON. */
static inline float tanh_rational(float x)
{
    const float clamp = 7.90531110763549805f;
    float x2, p, q;
    /* The clamp is a select the loop vectorises only when the compiler may assume that
     * comparisons do not trap: the library is built with -fno-trapping-math (cmake/fast.cmake). */
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

static inline double tanh_libm(double x) { return tanh(x); }

#define TANH(x) _Generic((x), float: tanh_rational, default: tanh_libm)(x)

/* ---- The math, written once -------------------------------------------------------
 * ACT_MATH(T, S) defines, for the number type T, name_f##S(x, a) = f(x) and
 * name_d##S(x, y, a) = f'(x), given y = f(x) (the derivative uses x or y, whichever is
 * cheaper and more accurate). It is instantiated twice: for gf_real (the array loops)
 * and for double (the table's scalar f and df, used by tests and the mean-field
 * theory), so the float build's scalar functions keep double precision. <tgmath.h>
 * makes exp, expm1, log1p, tanh and fabs pick the float or double version from T.
 *
 * Kinks: at exactly x == 0 the branch for x <= 0 is taken (the left derivative), as
 * PyTorch does: relu'(0) = 0, leaky'(0) = a, elu'(0) = alpha, abs'(0) = 0.
 * NaN inputs give NaN outputs (relu is written x <= 0 ? 0 : x so NaN passes through),
 * so the telemetry's non-finite counts see them. */
#define ACT_MATH(T, S)                                                                   \
    /* identity: f = x, f' = 1. */                                                       \
    static inline T identity_f##S(T x, T a) { (void)a; return x; }                       \
    static inline T identity_d##S(T x, T y, T a)                                         \
    {                                                                                    \
        (void)x, (void)y, (void)a;                                                       \
        return 1;                                                                        \
    }                                                                                    \
                                                                                         \
    /* sigmoid from e = exp(-|x|) <= 1, which cannot overflow: 1/(1+e) for x >= 0 and    \
     * e/(1+e) for x < 0. f' = y(1-y) from the output, <= 1/4 (at x = 0). */             \
    static inline T sigmoid_f##S(T x, T a)                                               \
    {                                                                                    \
        T e = exp(-fabs(x));                                                             \
        T r = 1 / (1 + e);                                                               \
        (void)a;                                                                         \
        return x >= 0 ? r : e * r;                                                       \
    }                                                                                    \
    static inline T sigmoid_d##S(T x, T y, T a)                                          \
    {                                                                                    \
        (void)x, (void)a;                                                                \
        return y * (1 - y);                                                              \
    }                                                                                    \
                                                                                         \
    /* tanh saturates to +-1 without overflow; f' = 1 - y^2 <= 1 from the output. */     \
    static inline T tanh_f##S(T x, T a) { (void)a; return TANH(x); }                     \
    static inline T tanh_d##S(T x, T y, T a)                                             \
    {                                                                                    \
        (void)x, (void)a;                                                                \
        return 1 - y * y;                                                                \
    }                                                                                    \
                                                                                         \
    /* relu: f' is 0 or 1, so it neither shrinks nor grows a live path. */               \
    static inline T relu_f##S(T x, T a) { (void)a; return x <= 0 ? 0 : x; }              \
    static inline T relu_d##S(T x, T y, T a)                                             \
    {                                                                                    \
        (void)y, (void)a;                                                                \
        return x > 0 ? 1 : 0;                                                            \
    }                                                                                    \
                                                                                         \
    /* leaky relu with slope a: f' is 1 or a, never 0 (for a != 0). */                   \
    static inline T leaky_relu_f##S(T x, T a) { return x > 0 ? x : a * x; }              \
    static inline T leaky_relu_d##S(T x, T y, T a)                                       \
    {                                                                                    \
        (void)y;                                                                         \
        return x > 0 ? 1 : a;                                                            \
    }                                                                                    \
                                                                                         \
    /* softplus = log(1 + e^x) = max(x, 0) + log1p(exp(-|x|)): exp never overflows and   \
     * log1p keeps the small tail exact. f' = sigmoid(x), from x (y = log(1+e^x)         \
     * would need an exp to invert). */                                                  \
    static inline T softplus_f##S(T x, T a)                                              \
    {                                                                                    \
        (void)a;                                                                         \
        return (x > 0 ? x : 0) + log1p(exp(-fabs(x)));                                   \
    }                                                                                    \
    static inline T softplus_d##S(T x, T y, T a)                                         \
    {                                                                                    \
        (void)y;                                                                         \
        return sigmoid_f##S(x, a);                                                       \
    }                                                                                    \
                                                                                         \
    /* elu: alpha (e^x - 1) for x <= 0. The exponent is clamped to <= 0 so that neither  \
     * branch can overflow, whichever the compiler evaluates. f' = alpha e^x from x,     \
     * exact in the tail (y + alpha would cancel there). */                              \
    static inline T elu_f##S(T x, T a)                                                   \
    {                                                                                    \
        T neg = x > 0 ? 0 : x;                                                           \
        return x > 0 ? x : a * expm1(neg);                                               \
    }                                                                                    \
    static inline T elu_d##S(T x, T y, T a)                                              \
    {                                                                                    \
        T neg = x > 0 ? 0 : x;                                                           \
        (void)y;                                                                         \
        return x > 0 ? 1 : a * exp(neg);                                                 \
    }                                                                                    \
                                                                                         \
    /* abs: f' = sign(x), with abs'(0) = 0 (the subgradient PyTorch uses). */            \
    static inline T abs_f##S(T x, T a) { (void)a; return fabs(x); }                      \
    static inline T abs_d##S(T x, T y, T a)                                              \
    {                                                                                    \
        (void)y, (void)a;                                                                \
        return x > 0 ? 1 : (x < 0 ? -1 : 0);                                             \
    }                                                                                    \
                                                                                         \
    /* softsign = x/(1+|x|): saturates polynomially, f' = 1/(1+|x|)^2 <= 1. */           \
    static inline T softsign_f##S(T x, T a) { (void)a; return x / (1 + fabs(x)); }       \
    static inline T softsign_d##S(T x, T y, T a)                                         \
    {                                                                                    \
        T s = 1 + fabs(x);                                                               \
        (void)y, (void)a;                                                                \
        return 1 / (s * s);                                                              \
    }                                                                                    \
                                                                                         \
    /* relu_leaky_backward ("NecroReLU"): the forward pass is plain relu, but the        \
     * backward pass passes back 1 for x > 0 and the slope a otherwise. That is a        \
     * chosen surrogate, not the derivative of f: it lets dead units receive signal. */  \
    static inline T relu_leaky_backward_f##S(T x, T a) { return relu_f##S(x, a); }       \
    static inline T relu_leaky_backward_d##S(T x, T y, T a)                              \
    {                                                                                    \
        (void)y;                                                                         \
        return x > 0 ? 1 : a;                                                            \
    }

ACT_MATH(gf_real, _r)
ACT_MATH(double, _d)

/* ---- Array loops and scalar wrappers ----------------------------------------------
 * One plain loop per activation over the inline scalar math, so the compiler can
 * vectorise it (GF_CLONES: also for AVX2 and AVX-512, chosen at load time; see
 * simd.h). y may alias x (in place); d may alias x or y. */
#define ACT_FUNCS(name)                                                                  \
    GF_CLONES static void name##_forward(gf_real *y, const gf_real *x, size_t n,         \
                                         gf_real a)                                      \
    {                                                                                    \
        for (size_t i = 0; i < n; i++)                                                   \
            y[i] = name##_f_r(x[i], a);                                                  \
    }                                                                                    \
    GF_CLONES static void name##_deriv(gf_real *d, const gf_real *x, const gf_real *y,   \
                                       size_t n, gf_real a)                              \
    {                                                                                    \
        for (size_t i = 0; i < n; i++)                                                   \
            d[i] = name##_d_r(x[i], y[i], a);                                            \
    }                                                                                    \
    static double name##_f(double x, double a) { return name##_f_d(x, a); }              \
    static double name##_df(double x, double a)                                          \
    {                                                                                    \
        return name##_d_d(x, name##_f_d(x, a), a);                                       \
    }

ACT_FUNCS(identity)
ACT_FUNCS(sigmoid)
ACT_FUNCS(tanh)
ACT_FUNCS(relu)
ACT_FUNCS(leaky_relu)
ACT_FUNCS(softplus)
ACT_FUNCS(elu)
ACT_FUNCS(abs)
ACT_FUNCS(softsign)
ACT_FUNCS(relu_leaky_backward)

/* ---- Derivative bounds and init gains --------------------------------------------- */

static double bound_one(double a) { (void)a; return 1.0; }
static double bound_quarter(double a) { (void)a; return 0.25; }
/* leaky slope a or ELU alpha: |f'| is 1 on one side and up to |a| on the other. */
static double bound_one_or_param(double a) { return fmax(1.0, fabs(a)); }

static double gain_one(double a) { (void)a; return 1.0; }
static double gain_tanh(double a) { (void)a; return 5.0 / 3.0; }
static double gain_relu(double a) { (void)a; return sqrt(2.0); }
/* He et al. (2015): a leaky unit keeps (1 + a^2)/2 of the input's second moment. */
static double gain_leaky(double a) { return sqrt(2.0 / (1.0 + a * a)); }

/* ---- The table -------------------------------------------------------------------- */

/* One row per activation. Columns after the formula: parameter name and default,
 * sup |f'|, saturating, suited init scheme and gain, surrogate (df is not f'). */
#define ACT_ROW(name, formula, param_name, param, bound, saturating, init, gain, surrogate) \
    {#name, formula, param_name, param, name##_f, name##_df, name##_forward,              \
     name##_deriv, bound, saturating, init, gain, surrogate}

static const gf_activation table[] = {
    ACT_ROW(identity,
            "f(x) = x; f'(x) = 1",
            NULL, 0.0, bound_one, 0, "lecun", gain_one, 0),
    ACT_ROW(sigmoid,
            "f(x) = 1/(1+exp(-x)); f'(x) = f(x)(1-f(x)) <= 1/4",
            NULL, 0.0, bound_quarter, 1, "xavier", gain_one, 0),
    ACT_ROW(tanh,
            "f(x) = tanh(x); f'(x) = 1 - f(x)^2 <= 1",
            NULL, 0.0, bound_one, 1, "xavier", gain_tanh, 0),
    ACT_ROW(relu,
            "f(x) = max(x, 0); f'(x) = 1 for x > 0, else 0 (f'(0) = 0)",
            NULL, 0.0, bound_one, 0, "he", gain_relu, 0),
    ACT_ROW(leaky_relu,
            "f(x) = x for x > 0, else a x; f'(x) = 1 for x > 0, else a (a = slope, "
            "f'(0) = a)",
            "slope", 0.01, bound_one_or_param, 0, "he", gain_leaky, 0),
    ACT_ROW(softplus,
            "f(x) = log(1+exp(x)) = max(x,0) + log1p(exp(-|x|)); "
            "f'(x) = 1/(1+exp(-x)) < 1",
            NULL, 0.0, bound_one, 1, "he", gain_relu, 0),
    ACT_ROW(elu,
            "f(x) = x for x > 0, else alpha (exp(x)-1); "
            "f'(x) = 1 for x > 0, else alpha exp(x) (f'(0) = alpha)",
            "alpha", 1.0, bound_one_or_param, 1, "he", gain_relu, 0),
    ACT_ROW(abs,
            "f(x) = |x|; f'(x) = sign(x) (f'(0) = 0)",
            NULL, 0.0, bound_one, 0, "he", gain_relu, 0),
    ACT_ROW(softsign,
            "f(x) = x/(1+|x|); f'(x) = 1/(1+|x|)^2 <= 1",
            NULL, 0.0, bound_one, 1, "xavier", gain_one, 0),
    ACT_ROW(relu_leaky_backward,
            "f(x) = max(x, 0); the derivative passed back is a choice, not f': "
            "1 for x > 0, else a (a = slope; \"NecroReLU\", dead units still learn)",
            "slope", 0.01, bound_one_or_param, 0, "he", gain_relu, 1),
};

#define TABLE_COUNT (sizeof table / sizeof table[0])

size_t gf_activation_count(void) { return TABLE_COUNT; }

const gf_activation *gf_activation_at(size_t i)
{
    return i < TABLE_COUNT ? &table[i] : NULL;
}

gf_status gf_activation_find(const gf_activation **out, const char *name)
{
    char known[256];
    size_t len = 0;

    GF_CHECK_NOT_NULL(out, "gf_activation_find");
    *out = NULL;
    GF_CHECK_NOT_NULL(name, "gf_activation_find");
    for (size_t i = 0; i < TABLE_COUNT; i++) {
        if (strcmp(table[i].name, name) == 0) {
            *out = &table[i];
            return GF_OK;
        }
    }
    known[0] = '\0';
    for (size_t i = 0; i < TABLE_COUNT && len < sizeof known; i++) {
        int k = snprintf(known + len, sizeof known - len, "%s%s", i ? ", " : "",
                         table[i].name);
        if (k < 0)
            break;
        len += (size_t)k;
    }
    return gf_fail(GF_ENOTFOUND,
                   "gf_activation_find: unknown activation '%.64s'; known: %s", name, known);
}
