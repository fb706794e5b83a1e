/* src/analysis/depth.c: the correlation map of two inputs and the depth scales xi_q and
 * xi_c of Schoenholz et al. 2017 (formulas in gradflow/theory.h). The 2-D Gaussian
 * expectation is an outer 1-D integral over z1 of an inner one over z2, each by adaptive
 * Gauss-Kronrod (7-15) on panels whose ends include the points where phi has its kinks
 * (x = 0) or bends (|x| ~ 1), as src/analysis/theory.c does for 1-D. Everything in
 * double. Leaves out the backward correlation (gradients of two inputs). */
#include <stdlib.h>

#include "analysis/quad.h"
#include "analysis/theory_checks.h"
#include "core/internal.h"
#include "gradflow/theory.h"

/* Bisection depth of the quadrature: the 2-D expectations nest one integral in another,
 * so each is kept shallower than theory.c's 1-D ones. */
#define LEVELS 30

/* Where x = mean + scale z has a feature of phi (its kink at 0, bends near |x| ~ 1):
 * out[0..9) = the z of x in {0, +-0.25, +-1, +-4, +-16}; scale > 0. */
static size_t feature_points(double *out, double mean, double scale)
{
    static const double xs[] = {0, 0.25, -0.25, 1, -1, 4, -4, 16, -16};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++)
        out[i] = (xs[i] - mean) / scale;
    return sizeof xs / sizeof xs[0];
}

/* E[g(s z)^2], the scale of the 2-D expectation. */
static double mean_sq(double (*g)(double, double), double param, double s)
{
    double pts[9];
    size_t n = s > 0 ? feature_points(pts, 0, s) : 0;
    return gf_quad_mean_sq(g, param, s, pts, n, 1e-8, LEVELS);
}

/* ---- 2-D: E[g(u1) g(u2)] --------------------------------------------------------------
 * u1 = s1 z1, u2 = s2 (c z1 + r z2), r = sqrt(1 - c^2): the inner integral over z2 at a
 * fixed z1 is E[g(m + sigma z2)], m = s2 c z1, sigma = s2 r, a Gaussian smoothing of g
 * (smooth in z1 even when g has a kink), and the outer one multiplies it by g(s1 z1). */

typedef struct pair_ctx {
    double (*g)(double, double);
    double param;
    double s1, s2, c, r;
    double mean, sigma; /* of the inner integral, set per z1 */
} pair_ctx;

static double inner_at(double z2, const void *ctx)
{
    const pair_ctx *p = ctx;
    return p->g(p->mean + p->sigma * z2, p->param);
}

static double outer_at(double z1, const void *ctx)
{
    pair_ctx p = *(const pair_ctx *)ctx;
    double inner, pts[9];
    p.mean = p.s2 * p.c * z1;
    p.sigma = p.s2 * p.r;
    if (p.sigma == 0) {
        inner = p.g(p.mean, p.param);
    } else {
        size_t n = feature_points(pts, p.mean, p.sigma);
        inner = gf_quad_gauss(inner_at, &p, pts, n, 1e-12, 0, LEVELS);
    }
    return p.g(p.s1 * z1, p.param) * inner;
}

static double gauss_mean_prod(double (*g)(double, double), double param, double q1,
                              double q2, double c)
{
    pair_ctx p = {g, param, sqrt(q1), sqrt(q2), c, sqrt(fmax(0, 1 - c * c)), 0, 0};
    double pts[18];
    size_t n = 0;
    if (p.s1 == 0) { /* u1 = 0: g(0) E[g(u2)], u2 = s2 z2 */
        p.sigma = p.s2;
        n = p.s2 > 0 ? feature_points(pts, 0, p.s2) : 0;
        return g(0, param) * gf_quad_gauss(inner_at, &p, pts, n, 1e-12, 0, LEVELS);
    }
    /* The outer integrand has g(s1 z1)'s features, and, as c -> +-1, those of
     * g(s2 c z1) that the inner smoothing no longer hides. */
    n = feature_points(pts, 0, p.s1);
    if (p.s2 * fabs(c) > 0)
        n += feature_points(pts + n, 0, p.s2 * c);
    /* The inner integrals are good to 1e-12 of E|g(u2)|, so the outer one can be good to
     * 1e-11 of sqrt(E[g(u1)^2] E[g(u2)^2]) >= |E[g(u1) g(u2)]| (Cauchy-Schwarz). */
    return gf_quad_gauss(outer_at, &p, pts, n, 1e-11,
                  sqrt(mean_sq(g, param, p.s1) * mean_sq(g, param, p.s2)), LEVELS);
}

/* ---- Checks ----------------------------------------------------------------------------- */

static gf_status check_pair(const char *who, double q1, double q2, double c)
{
    if (!(isfinite(q1) && q1 >= 0 && isfinite(q2) && q2 >= 0))
        return gf_fail(GF_EINVAL, "%s: variances must be finite and >= 0 (got %g, %g)", who,
                       q1, q2);
    if (!(c >= -1 && c <= 1))
        return gf_fail(GF_EINVAL, "%s: the correlation must be in [-1, 1] (got %g)", who, c);
    return GF_OK;
}

static gf_status finite(const char *who, const gf_activation *act, double v)
{
    if (!isfinite(v))
        return gf_fail(GF_ENONFINITE, "%s: the expectation for %s is not finite", who,
                       act->name);
    return GF_OK;
}

/* ---- Public: the 2-D expectation and the correlation map -------------------------------- */

/* gf_theory_gauss_mean_prod and gf_theory_c_map read alike on purpose, as theory.c's
 * entry points do: the checks, then the plain computation, then a finite result. */
gf_status gf_theory_gauss_mean_prod(double *out, const gf_activation *act, double act_param,
                                    double q1, double q2, double c, int which)
{
    static const char who[] = "gf_theory_gauss_mean_prod";
    gf_status s;
    double v;
    GF_CHECK_NOT_NULL(out, who);
    *out = NAN;
    if ((s = gf_theory_check_model(who, act, act_param, 1, 0)) != GF_OK ||
        (s = check_pair(who, q1, q2, c)) != GF_OK)
        return s;
    if (which != 0 && which != 1)
        return gf_fail(GF_EINVAL, "%s: which must be 0 (phi) or 1 (phi'), got %d", who, which);
    v = gauss_mean_prod(which ? act->df : act->f, act_param, q1, q2, c);
    if ((s = finite(who, act, v)) != GF_OK)
        return s;
    *out = v;
    return GF_OK;
}

/* The correlation map without checks; NaN when V(q) = 0 (no signal, no correlation). */
static double c_map(const gf_activation *act, double param, double sw2, double sb2, double q,
                    double c)
{
    double cov = sw2 * gauss_mean_prod(act->f, param, q, q, c) + sb2;
    double var = sw2 * gauss_mean_prod(act->f, param, q, q, 1) + sb2;
    return var > 0 ? fmax(-1, fmin(1, cov / var)) : NAN;
}

gf_status gf_theory_c_map(double *c_next, const gf_activation *act, double act_param,
                          double sigma_w2, double sigma_b2, double q, double c)
{
    static const char who[] = "gf_theory_c_map";
    gf_status s;
    double v;
    GF_CHECK_NOT_NULL(c_next, who);
    *c_next = NAN;
    if ((s = gf_theory_check_model(who, act, act_param, sigma_w2, sigma_b2)) != GF_OK ||
        (s = check_pair(who, q, q, c)) != GF_OK)
        return s;
    v = c_map(act, act_param, sigma_w2, sigma_b2, q, c);
    if (isnan(v))
        return gf_fail(GF_EINVAL, "%s: %s at q = %g with sigma_b^2 = %g gives outputs of "
                       "variance 0, which have no correlation", who, act->name, q, sigma_b2);
    if ((s = finite(who, act, v)) != GF_OK)
        return s;
    *c_next = v;
    return GF_OK;
}

/* ---- Public: the depth scales ----------------------------------------------------------- */

/* Where the fixed point q* = 0 is evaluated (its limit from above), as in theory.c. */
#define Q_LIMIT_ZERO 1e-200

typedef struct slope_ctx {
    double (*f)(double, double);
    double (*df)(double, double);
    double param, s;
} slope_ctx;

/* phi(s z) phi'(s z) z / s, whose mean is dE[phi(sqrt(q) z)^2]/dq. */
static double slope_at(double z, const void *ctx)
{
    const slope_ctx *p = ctx;
    return p->f(p->s * z, p->param) * p->df(p->s * z, p->param) * z / p->s;
}

/* V'(q) = sigma_w^2 dE[phi(sqrt(q) z)^2]/dq = sigma_w^2 E[phi'(u)^2 + phi''(u) phi(u)]
 * (Gaussian integration by parts), computed in the first form so that phi'' is not
 * needed. q > 0. */
static double q_map_slope(const gf_activation *act, double param, double sw2, double q)
{
    slope_ctx p = {act->f, act->df, param, sqrt(q)};
    double pts[9];
    size_t n = feature_points(pts, 0, p.s);
    return sw2 * gf_quad_gauss(slope_at, &p, pts, n, 1e-12, 0, LEVELS);
}

/* The stable fixed point of the correlation map at q (> 0) when c = 1 is unstable
 * (chi_1 > 1): C(c) - c >= 0 at c = -1, < 0 just below 1; bracket from above, then bisect. */
static double stable_c_star(const gf_activation *act, double param, double sw2, double sb2,
                            double q)
{
    static const double gaps[] = {0.5, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6};
    double lo = -1, hi = 1;
    for (size_t i = 0; i < sizeof gaps / sizeof gaps[0]; i++) {
        double c = 1 - gaps[i];
        if (c_map(act, param, sw2, sb2, q, c) - c < 0) {
            hi = c;
            break;
        }
        lo = c;
    }
    if (hi == 1) /* within 1e-6 of 1: as good as 1 */
        return 1;
    while (hi - lo > 1e-10) {
        double mid = 0.5 * (lo + hi);
        if (c_map(act, param, sw2, sb2, q, mid) - mid >= 0)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

/* -1/log(chi): the depth over which a deviation shrinks by e; +inf at chi = 1 (to the
 * quadrature's accuracy: ReLU at sigma_w^2 = 2 gives 1 + 2e-16). */
static double depth_of(double chi)
{
    return fabs(chi - 1) <= 1e-12 ? INFINITY : -1 / log(chi);
}

gf_status gf_theory_depth_scales(gf_depth_scales *out, const gf_activation *act,
                                 double act_param, double sigma_w2, double sigma_b2)
{
    static const char who[] = "gf_theory_depth_scales";
    gf_depth_scales d = {NAN, NAN, NAN, NAN, NAN, NAN, NAN};
    double q;
    gf_status s;
    GF_CHECK_NOT_NULL(out, who);
    *out = d;
    if ((s = gf_theory_check_model(who, act, act_param, sigma_w2, sigma_b2)) != GF_OK)
        return s;
    if ((s = gf_theory_chi(&d.q_star, &d.chi_1, act, act_param, sigma_w2, sigma_b2)) != GF_OK)
        return s;
    if (isinf(d.q_star)) { /* no fixed point: the depth scales are undefined */
        *out = d;
        return GF_OK;
    }
    q = d.q_star > 0 ? d.q_star : Q_LIMIT_ZERO;
    /* c = 1 is always a fixed point of the correlation map at q*; it is the stable one
     * when chi_1 = its slope there is at most 1 (the ordered phase). */
    d.c_star = d.chi_1 <= 1 ? 1 : stable_c_star(act, act_param, sigma_w2, sigma_b2, q);
    /* A stable fixed point has slope <= 1: c* = 1 with chi_1 > 1 means a c* within 1e-6
     * of 1 (or a map like ReLU's that approaches 1 only like a power of the depth). */
    d.chi_c = d.c_star == 1 ? fmin(d.chi_1, 1)
                            : sigma_w2 * gauss_mean_prod(act->df, act_param, q, q, d.c_star);
    d.dq = q_map_slope(act, act_param, sigma_w2, q);
    if ((s = finite(who, act, d.chi_c)) != GF_OK || (s = finite(who, act, d.dq)) != GF_OK)
        return s;
    d.xi_q = depth_of(d.dq);
    d.xi_c = depth_of(d.chi_c);
    *out = d;
    return GF_OK;
}
