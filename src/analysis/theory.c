/* src/analysis/theory.c: mean-field variance map and backward factor chi (formulas in
 * gradflow/theory.h). Gaussian expectations by adaptive Gauss-Kronrod quadrature on
 * panels whose ends include z = 0 and z = +-c/sqrt(q), so that a kink of phi at x = 0
 * or a feature of width ~1 in x (tanh's bend, a clipped unit's corner) falls on or near
 * a panel end whatever the variance. Everything in double. */
#include <stdlib.h>
#include <string.h>

#include "analysis/quad.h"
#include "analysis/theory_checks.h"
#include "core/internal.h"
#include "gradflow/theory.h"

/* ---- Quadrature ----------------------------------------------------------------------- */

/* E[g(sqrt(q) z)^2], q >= 0 finite, to 1e-14 relative (analysis/quad.c). */
static double gauss_mean_sq(double (*g)(double, double), double param, double q)
{
    static const double scaled[] = {0.25, 1, 4, 16};
    double extra[2 * sizeof scaled / sizeof scaled[0]], s = sqrt(q);

    if (q == 0) {
        double v = g(0, param);
        return v * v;
    }
    for (size_t i = 0; i < sizeof scaled / sizeof scaled[0]; i++) {
        extra[2 * i] = scaled[i] / s;
        extra[2 * i + 1] = -scaled[i] / s;
    }
    return gf_quad_mean_sq(g, param, s, extra, sizeof extra / sizeof extra[0], 1e-14, 48);
}

/* ---- Checks ----------------------------------------------------------------------------- */

static gf_status check_sigmas(const char *who, double sigma_w2, double sigma_b2)
{
    if (!(isfinite(sigma_w2) && sigma_w2 > 0))
        return gf_fail(GF_EINVAL, "%s: sigma_w^2 must be positive and finite (got %g)", who,
                       sigma_w2);
    if (!(isfinite(sigma_b2) && sigma_b2 >= 0))
        return gf_fail(GF_EINVAL, "%s: sigma_b^2 must be finite and >= 0 (got %g)", who,
                       sigma_b2);
    return GF_OK;
}

/* The activation (scalar f and df, a finite parameter) and the sigmas of a mean-field
 * model: declared in analysis/theory_checks.h, shared with depth.c. */
gf_status gf_theory_check_model(const char *who, const gf_activation *act, double param,
                                double sigma_w2, double sigma_b2)
{
    GF_CHECK_NOT_NULL(act, who);
    if (act->f == NULL || act->df == NULL)
        return gf_fail(GF_EINVAL, "%s: activation %s has no scalar f and df", who,
                       act->name ? act->name : "(unnamed)");
    if (!isfinite(param))
        return gf_fail(GF_EINVAL, "%s: %s parameter is not finite", who, act->name);
    return check_sigmas(who, sigma_w2, sigma_b2);
}

static gf_status check_q(const char *who, double q)
{
    if (!(isfinite(q) && q >= 0))
        return gf_fail(GF_EINVAL, "%s: q must be finite and >= 0 (got %g)", who, q);
    return GF_OK;
}

static gf_status finite_result(const char *who, const gf_activation *act, double q, double v)
{
    if (!isfinite(v))
        return gf_fail(GF_ENONFINITE, "%s: the expectation for %s at q = %g is not finite",
                       who, act->name, q);
    return GF_OK;
}

/* *out = v when v is finite; else GF_ENONFINITE (finite_result's message), *out kept. */
static gf_status store_finite(double *out, const char *who, const gf_activation *act,
                              double q, double v)
{
    gf_status s = finite_result(who, act, q, v);
    if (s == GF_OK)
        *out = v;
    return s;
}

/* ---- Public --------------------------------------------------------------------------- */

/* gf_theory_gauss_mean_sq, _q_map and _chi_at read alike on purpose: the checks, then
 * one formula line (E[phi^2], V(q), chi) that is the point of each. */
gf_status gf_theory_gauss_mean_sq(double *out, const gf_activation *act, double act_param,
                                  double q, int which)
{
    static const char who[] = "gf_theory_gauss_mean_sq";
    gf_status s;
    double v;
    GF_CHECK_NOT_NULL(out, who);
    *out = NAN;
    if ((s = gf_theory_check_model(who, act, act_param, 1, 0)) != GF_OK ||
        (s = check_q(who, q)) != GF_OK)
        return s;
    if (which != 0 && which != 1)
        return gf_fail(GF_EINVAL, "%s: which must be 0 (phi) or 1 (phi'), got %d", who, which);
    v = gauss_mean_sq(which ? act->df : act->f, act_param, q);
    return store_finite(out, who, act, q, v);
}

gf_status gf_theory_q_map(double *q_next, const gf_activation *act, double act_param,
                          double sigma_w2, double sigma_b2, double q)
{
    static const char who[] = "gf_theory_q_map";
    gf_status s;
    double v;
    GF_CHECK_NOT_NULL(q_next, who);
    *q_next = NAN;
    if ((s = gf_theory_check_model(who, act, act_param, sigma_w2, sigma_b2)) != GF_OK ||
        (s = check_q(who, q)) != GF_OK)
        return s;
    v = sigma_w2 * gauss_mean_sq(act->f, act_param, q) + sigma_b2;
    return store_finite(q_next, who, act, q, v);
}

gf_status gf_theory_chi_at(double *chi, const gf_activation *act, double act_param,
                           double sigma_w2, double q)
{
    static const char who[] = "gf_theory_chi_at";
    gf_status s;
    double v;
    GF_CHECK_NOT_NULL(chi, who);
    *chi = NAN;
    if ((s = gf_theory_check_model(who, act, act_param, sigma_w2, 0)) != GF_OK ||
        (s = check_q(who, q)) != GF_OK)
        return s;
    v = sigma_w2 * gauss_mean_sq(act->df, act_param, q);
    return store_finite(chi, who, act, q, v);
}

#define Q_START 1.0
/* Where chi is evaluated when the fixed point is q* = 0 (the limit from above). */
#define Q_LIMIT_ZERO 1e-200
#define Q_HUGE 1e24 /* beyond this q is taken to grow without bound */

/* V(q) - q, the fixed-point residual. */
static double residual(const gf_activation *act, double param, double sw2, double sb2,
                       double q)
{
    return sw2 * gauss_mean_sq(act->f, param, q) + sb2 - q;
}

gf_status gf_theory_chi(double *q_star, double *chi, const gf_activation *act,
                        double act_param, double sigma_w2, double sigma_b2)
{
    static const char who[] = "gf_theory_chi";
    double lo, hi, f0, qs;
    gf_status s;

    GF_CHECK_NOT_NULL(q_star, who);
    GF_CHECK_NOT_NULL(chi, who);
    *q_star = *chi = NAN;
    if ((s = gf_theory_check_model(who, act, act_param, sigma_w2, sigma_b2)) != GF_OK)
        return s;

    /* For an increasing map V, the iteration from q_0 moves monotonically to the nearest
     * fixed point on the side V(q_0) - q_0 points to: bracket that root on a geometric
     * grid (factor 4), then bisect. */
    f0 = residual(act, act_param, sigma_w2, sigma_b2, Q_START);
    if (!isfinite(f0))
        return finite_result(who, act, Q_START, f0);
    if (f0 == 0) {
        qs = Q_START;
    } else if (f0 < 0) {
        double q = Q_START, prev = Q_START, f = f0;
        while (f < 0 && q > 1e-200) {
            prev = q;
            q *= 0.25;
            f = residual(act, act_param, sigma_w2, sigma_b2, q);
        }
        if (f < 0) {
            /* No sign change down to 1e-200: the root is in [0, q]; at 0 if V(0) = 0. */
            prev = q;
            q = 0;
            f = residual(act, act_param, sigma_w2, sigma_b2, 0);
        }
        lo = q;
        hi = prev;
        if (f == 0 && q == 0)
            hi = 0;
    } else {
        double q = Q_START, prev = Q_START, f = f0;
        while (f > 0 && q < Q_HUGE) {
            prev = q;
            q *= 4;
            f = residual(act, act_param, sigma_w2, sigma_b2, q);
            if (!isfinite(f))
                return finite_result(who, act, q, f);
        }
        if (f > 0) {
            /* V(q) > q all the way: the variance grows without bound. chi is taken
             * where it has settled (exact for positively homogeneous phi). */
            *q_star = INFINITY;
            return gf_theory_chi_at(chi, act, act_param, sigma_w2, Q_HUGE);
        }
        lo = prev;
        hi = q;
    }
    if (f0 != 0) {
        /* Invariant: residual(lo) >= 0 >= residual(hi) (or lo == hi). */
        for (int it = 0; it < 400 && hi - lo > 1e-15 * hi; it++) {
            double mid = 0.5 * (lo + hi);
            double f = residual(act, act_param, sigma_w2, sigma_b2, mid);
            if (!isfinite(f))
                return finite_result(who, act, mid, f);
            if (f >= 0)
                lo = mid;
            else
                hi = mid;
        }
        qs = 0.5 * (lo + hi);
    }
    /* At q* = 0 the signal sees phi' only near 0: take chi as the limit q -> 0+, which
     * is what a deep, finite network approaches (ReLU: sigma_w^2 / 2, not the
     * 0 that the convention relu'(0) = 0 would give at exactly q = 0). */
    s = gf_theory_chi_at(chi, act, act_param, sigma_w2, qs > 0 ? qs : Q_LIMIT_ZERO);
    if (s == GF_OK)
        *q_star = qs;
    return s;
}

gf_status gf_theory_init_sigma_w2(double *sigma_w2, const gf_init *init, size_t fan_in,
                                  size_t fan_out)
{
    static const char who[] = "gf_theory_init_sigma_w2";
    double fi = (double)fan_in, fo = (double)fan_out, fan, mean, v;
    gf_status s;

    GF_CHECK_NOT_NULL(sigma_w2, who);
    *sigma_w2 = NAN;
    GF_CHECK_NOT_NULL(init, who);
    if (fan_in == 0 || fan_out == 0)
        return gf_fail(GF_EINVAL, "%s: fans must be positive (got %zu, %zu)", who, fan_in,
                       fan_out);
    if ((s = gf_init_validate(init)) != GF_OK)
        return s;
    fan = init->fan_out ? fo : fi;
    switch (init->kind) {
    case GF_INIT_ZEROS:
        v = 0;
        break;
    case GF_INIT_CONSTANT:
        v = fi * init->value * init->value;
        break;
    case GF_INIT_NORMAL:
        v = fi * (init->std * init->std + init->mean * init->mean);
        break;
    case GF_INIT_UNIFORM:
        mean = 0.5 * (init->low + init->high);
        v = fi * ((init->high - init->low) * (init->high - init->low) / 12 + mean * mean);
        break;
    case GF_INIT_XAVIER_NORMAL:
    case GF_INIT_XAVIER_UNIFORM:
        v = init->gain * init->gain * 2 * fi / (fi + fo);
        break;
    case GF_INIT_HE_NORMAL:
    case GF_INIT_HE_UNIFORM:
        v = 2 / (1 + init->slope * init->slope) * fi / fan;
        break;
    case GF_INIT_LECUN_NORMAL:
    case GF_INIT_LECUN_UNIFORM:
        v = init->gain * init->gain * fi / fan;
        break;
    case GF_INIT_ORTHOGONAL:
        v = init->gain * init->gain * fi / (fi > fo ? fi : fo);
        break;
    default:
        return gf_fail(GF_EUNSUPPORTED, "%s: %s depends on the data; measure sigma_w^2 from "
                       "the weights instead", who, gf_init_name(init->kind));
    }
    *sigma_w2 = v;
    return GF_OK;
}

gf_status gf_theory_layer_factors(double *factor, const gf_activation *act, double act_param,
                                  const double *sigma_w2, size_t n, double sigma_b2,
                                  double input_ms)
{
    static const char who[] = "gf_theory_layer_factors";
    gf_status s;
    double q;

    GF_CHECK_NOT_NULL(factor, who);
    GF_CHECK_NOT_NULL(sigma_w2, who);
    if (n < 2)
        return gf_fail(GF_EINVAL, "%s: need at least 2 linear layers (got %zu)", who, n);
    for (size_t k = 0; k < n; k++)
        if ((s = gf_theory_check_model(who, act, act_param, sigma_w2[k], sigma_b2)) != GF_OK)
            return s;
    if ((s = check_q(who, input_ms)) != GF_OK)
        return s;
    /* The first layer sees the data, not phi of anything: q_1 comes from its mean square. */
    q = sigma_w2[0] * input_ms + sigma_b2;
    for (size_t k = 0; k + 1 < n; k++) {
        double chi;
        /* The signal into h_k passes W_{k+1}^T (sigma_w2[k+1]) and then phi'(h_k). */
        if ((s = gf_theory_chi_at(&chi, act, act_param, sigma_w2[k + 1], q)) != GF_OK)
            return s;
        factor[k] = sqrt(chi);
        if (k + 2 < n && (s = gf_theory_q_map(&q, act, act_param, sigma_w2[k + 1], sigma_b2,
                                              q)) != GF_OK)
            return s;
    }
    return GF_OK;
}
