/* src/layers/act.c: the table of element-wise activations (see act.h). Each activation
 * is a pair of plain scalar functions in double, f and f', with its formula and the
 * bound on f' above them: the reference math the activation layer, the tests and the
 * mean-field theory use. The vectorised gf_real array loops of the rows are speed code,
 * in src/fast/act_loops.c, each beside the name of its reference here. Leaves out
 * activations with parameters learnt per feature (PReLU is a layer, see prelu.c).
 *
 * Kinks: at exactly x == 0 the branch for x <= 0 is taken (the left derivative), as
 * PyTorch does: relu'(0) = 0, leaky'(0) = a, elu'(0) = alpha, abs'(0) = 0.
 * NaN in, NaN out (relu is written x <= 0 ? 0 : x so that NaN passes through), so the
 * telemetry's non-finite counts see it. Every f' is within a few ulps of the true
 * derivative over the whole line, tails included (tests/test_act.c sweeps [-100, 100]
 * against long double): a saturated unit has a tiny f', never an exact 0. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gradflow/act.h"
#include "core/internal.h"
#include "fast/act_loops.h"

/* identity(x) = x; identity' = 1 */
static double identity_f(double x, double a) { (void)a; return x; }
static double identity_df(double x, double a) { (void)x, (void)a; return 1; }

/* sigmoid(x) = 1/(1 + e^-x), from e = e^-|x| <= 1 so that nothing overflows. */
static double sigmoid_f(double x, double a)
{
    double e = exp(-fabs(x)), r = 1 / (1 + e);
    (void)a;
    return x >= 0 ? r : e * r;
}
/* sigmoid' = y (1 - y) <= 1/4 (at 0), taken at -|x| (f' is even), where y <= 1/2: for
 * x >> 0, y rounds towards 1 and 1 - y would lose every digit (0 from x = 37 on). */
static double sigmoid_df(double x, double a)
{
    double y = sigmoid_f(-fabs(x), a);
    return y * (1 - y);
}

/* tanh(x), libm's; it saturates to +-1 without overflow. */
static double tanh_f(double x, double a) { (void)a; return tanh(x); }
/* tanh' = 1 - y^2 = (e^-|x| (1 + |y|))^2 <= 1: the same value, since 1 + |y| =
 * 2/(1 + e^-2|x|); the second form keeps its digits in the tail, where 1 - y^2 rounds
 * to 0 (from x = 19.1 in double, 9.01 in float) while the true f' is 4 e^-2|x|. */
static double tanh_df(double x, double a)
{
    double t = exp(-fabs(x)) * (1 + fabs(tanh(x)));
    (void)a;
    return t * t;
}

/* relu(x) = max(x, 0); relu' = 1 for x > 0, else 0: it neither shrinks nor grows a
 * live path. */
static double relu_f(double x, double a) { (void)a; return x <= 0 ? 0 : x; }
static double relu_df(double x, double a) { (void)a; return x > 0 ? 1 : 0; }

/* leaky_relu(x) = x for x > 0, else a x; leaky' = 1 or a, never 0 (a != 0):
 * |f'| <= max(1, |a|). */
static double leaky_relu_f(double x, double a) { return x > 0 ? x : a * x; }
static double leaky_relu_df(double x, double a) { return x > 0 ? 1 : a; }

/* softplus(x) = log(1 + e^x) = max(x, 0) + log1p(e^-|x|): exp never overflows and
 * log1p keeps the small tail exact. softplus' = sigmoid(x) < 1, from x. */
static double softplus_f(double x, double a)
{
    (void)a;
    return (x > 0 ? x : 0) + log1p(exp(-fabs(x)));
}
static double softplus_df(double x, double a) { return sigmoid_f(x, a); }

/* elu(x) = x for x > 0, else alpha (e^x - 1), with the exponent clamped to <= 0 so that
 * neither branch can overflow. elu' = 1 or alpha e^x <= max(1, |alpha|), from x: exact
 * in the tail, where y + alpha would cancel. */
static double elu_f(double x, double a) { return x > 0 ? x : a * expm1(x > 0 ? 0 : x); }
static double elu_df(double x, double a) { return x > 0 ? 1 : a * exp(x > 0 ? 0 : x); }

/* abs(x) = |x|; abs' = sign(x) (abs'(0) = 0, the subgradient PyTorch uses). */
static double abs_f(double x, double a) { (void)a; return fabs(x); }
static double abs_df(double x, double a)
{
    (void)a;
    return x > 0 ? 1 : (x < 0 ? -1 : 0);
}

/* softsign(x) = x/(1 + |x|): saturates polynomially; softsign' = 1/(1 + |x|)^2 <= 1. */
static double softsign_f(double x, double a) { (void)a; return x / (1 + fabs(x)); }
static double softsign_df(double x, double a)
{
    double s = 1 + fabs(x);
    (void)a;
    return 1 / (s * s);
}

/* relu_leaky_backward ("NecroReLU"): f = relu, but the backward pass passes back 1 for
 * x > 0 and the slope a otherwise, |.| <= max(1, |a|). A chosen surrogate, not the
 * derivative of f: it lets dead units receive signal. */
static double relu_leaky_backward_f(double x, double a) { return relu_f(x, a); }
static double relu_leaky_backward_df(double x, double a) { return x > 0 ? 1 : a; }

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

/* One row per activation: adding an activation is adding its f and f' above and a row
 * here. Columns after the formula: parameter name and default, sup |f'|, saturating,
 * suited init scheme and gain, surrogate (df is not f'). The array loops (forward,
 * deriv) are optional speed code from src/fast/act_loops.c; a row built with ACT_ROW_PLAIN
 * has none, and the layers then evaluate its scalar f and f' element by element. */
#define ACT_ROW_PLAIN(name, formula, param_name, param, bound, saturating, init, gain, \
                      surrogate)                                                       \
    {#name, formula, param_name, param, name##_f, name##_df, NULL, NULL, bound,       \
     saturating, init, gain, surrogate}
#define ACT_ROW(name, formula, param_name, param, bound, saturating, init, gain, surrogate) \
    {#name, formula, param_name, param, name##_f, name##_df, gf_act_##name##_forward,     \
     gf_act_##name##_deriv, bound, saturating, init, gain, surrogate}

/* One row per activation, alike by design: adding an activation is adding a row. */
static const gf_activation table[] = {
    ACT_ROW(identity,
            "f(x) = x; f'(x) = 1",
            NULL, 0.0, bound_one, 0, "lecun", gain_one, 0),
    ACT_ROW(sigmoid,
            "f(x) = 1/(1+exp(-x)); f'(x) = f(x)(1-f(x)) <= 1/4 (taken at -|x|)",
            NULL, 0.0, bound_quarter, 1, "xavier", gain_one, 0),
    ACT_ROW(tanh,
            "f(x) = tanh(x); f'(x) = 1 - f(x)^2 = (exp(-|x|)(1+|f(x)|))^2 <= 1",
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
