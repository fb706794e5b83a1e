/* src/analysis/quad.c: E[h(z)] for z ~ N(0, 1) by adaptive Gauss-Kronrod (7-15)
 * quadrature on panels over |z| <= 12, the one integrator of the mean-field theory
 * (theory.c, 1-D; depth.c, nested for 2-D). Everything in double. */
#include <math.h>
#include <stdlib.h>

#include "analysis/quad.h"

/* 15-point Kronrod nodes on [-1, 1] (non-negative half) and weights, and the weights of
 * the embedded 7-point Gauss rule (nodes xk[1], xk[3], xk[5], xk[7]). */
static const double xk[8] = {
    0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
    0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
    0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
    0.207784955007898467600689403773245, 0.000000000000000000000000000000000,
};
static const double wk[8] = {
    0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
    0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
    0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
    0.204432940075298892414161999234649, 0.209482141084727828012999174891714,
};
static const double wg[4] = {
    0.129484966168869693270611432679082, 0.279705391489276667901467771423780,
    0.381830050505118944950369775488975, 0.417959183673469387755102040816327,
};

#define Z_MAX 12.0  /* the density there is 5e-32 of its peak */
#define MAX_ENDS 32

static double density(double z) { return exp(-0.5 * z * z) * 0.398942280401432677939946059934; }

/* K15 of h(z) N(z) on [a, b]; *err = |K15 - G7|. */
static double gk15(gf_zfun h, const void *ctx, double a, double b, double *err)
{
    double c = 0.5 * (a + b), w = 0.5 * (b - a);
    double fc = h(c, ctx) * density(c);
    double k = wk[7] * fc, g = wg[3] * fc;
    for (int i = 0; i < 7; i++) {
        double zl = c - w * xk[i], zr = c + w * xk[i];
        double f = h(zl, ctx) * density(zl) + h(zr, ctx) * density(zr);
        k += wk[i] * f;
        if (i % 2 == 1)
            g += wg[i / 2] * f;
    }
    *err = fabs((k - g) * w);
    return k * w;
}

/* Bisect [a, b] until the local error estimate is below tol (halved at each level), at
 * most `levels` levels deep. */
static double adapt(gf_zfun h, const void *ctx, double a, double b, double whole, double err,
                    double tol, int levels)
{
    double m, el, er, left, right;
    if (err <= tol || levels <= 0 || !isfinite(whole))
        return whole;
    m = 0.5 * (a + b);
    left = gk15(h, ctx, a, m, &el);
    right = gk15(h, ctx, m, b, &er);
    return adapt(h, ctx, a, m, left, el, 0.5 * tol, levels - 1) +
           adapt(h, ctx, m, b, right, er, 0.5 * tol, levels - 1);
}

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* E[h(z)] with panel ends at fixed points of z and at the n extra points given (those
 * outside |z| < Z_MAX are dropped), to an accuracy of about rel times the larger of
 * scale and E[|h|]. The scale matters when h cancels (E[phi(u1) phi(u2)] near c = 0):
 * a tolerance relative to the result alone would then chase the inner integrals'
 * rounding and subdivide without end. */
double gf_quad_gauss(gf_zfun h, const void *ctx, const double *extra, size_t n, double rel,
                     double scale, int levels)
{
    static const double fixed[] = {-Z_MAX, -6, -3, -1.5, 0, 1.5, 3, 6, Z_MAX};
    double ends[MAX_ENDS], est[MAX_ENDS], errs[MAX_ENDS], total = 0, sum = 0;
    size_t k = 0, m = 0;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        ends[k++] = fixed[i];
    for (size_t i = 0; i < n && k < MAX_ENDS; i++)
        if (fabs(extra[i]) < Z_MAX)
            ends[k++] = extra[i];
    qsort(ends, k, sizeof ends[0], cmp_double);
    for (size_t i = 1; i < k; i++)
        if (ends[i] > ends[m])
            ends[++m] = ends[i];
    /* A first pass sets the scale of the absolute tolerance. */
    for (size_t i = 0; i < m; i++) {
        est[i] = gk15(h, ctx, ends[i], ends[i + 1], &errs[i]);
        total += fabs(est[i]);
    }
    for (size_t i = 0; i < m; i++)
        sum += adapt(h, ctx, ends[i], ends[i + 1], est[i], errs[i],
                     rel * fmax(total, scale) / (double)m + 1e-300, levels);
    return sum;
}

typedef struct sq_ctx {
    double (*g)(double x, double param);
    double param, s;
} sq_ctx;

static double sq_at(double z, const void *ctx)
{
    const sq_ctx *p = ctx;
    double v = p->g(p->s * z, p->param);
    return v * v;
}

double gf_quad_mean_sq(double (*g)(double x, double param), double param, double s,
                       const double *extra, size_t n, double rel, int levels)
{
    sq_ctx p = {g, param, s};
    return gf_quad_gauss(sq_at, &p, extra, n, rel, 0, levels);
}
