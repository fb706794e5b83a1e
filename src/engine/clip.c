/* src/engine/clip.c: gradient clipping by value and by L2 norm (one array, or several taken
 * together) on raw arrays. Norms are accumulated in double and never overflow or
 * underflow for finite inputs. The per-layer bookkeeping is in net.c. */
#include <float.h>
#include <string.h>

#include "core/internal.h"
#include "gradflow/clip.h"

#if GF_REAL_IS_DOUBLE
#define REAL_MAX DBL_MAX
#else
#define REAL_MAX FLT_MAX
#endif

static const char *const kind_names[GF_CLIP_COUNT] = {
    [GF_CLIP_NONE] = "none",
    [GF_CLIP_VALUE] = "value",
    [GF_CLIP_NORM] = "norm",
    [GF_CLIP_GLOBAL_NORM] = "global_norm",
};

const char *gf_clip_name(gf_clip_kind kind)
{
    if ((unsigned)kind >= GF_CLIP_COUNT)
        return NULL;
    return kind_names[kind];
}

/* ---- Norms --------------------------------------------------------------------------- */

/* A float squared is at most 1.2e77 and at least 2e-90, so for float the plain sum of
 * squares in double is exact enough and can neither overflow nor underflow. For double
 * gradients it can (|g| ~ 1e200 gives inf, |g| ~ 1e-200 gives 0): then, as BLAS's dnrm2,
 * we divide by the largest magnitude first and multiply it back after the sqrt. The
 * fast pass is kept for the common case; the scaled pass runs only when needed. */

/* Sums below this may have lost their digits to underflow (DBL_MIN is 2.2e-308). */
#define SUMSQ_TINY 1e-280

/* Pairwise summation: a plain loop over blocks of PAIRWISE_BLOCK, halves added
 * recursively, so the rounding error grows with the block size plus log2(n) rather than
 * with n (a million double gradients would otherwise lose ~1e-10 of the norm). */
#define PAIRWISE_BLOCK 64

static double sumsq(const gf_real *g, size_t n)
{
    double s = 0;
    if (n > PAIRWISE_BLOCK) {
        size_t h = n / 2;
        return sumsq(g, h) + sumsq(g + h, n - h);
    }
    for (size_t i = 0; i < n; i++)
        s += (double)g[i] * (double)g[i];
    return s;
}

/* max |g[i]|, for arrays known to hold no NaN. */
static double absmax(const gf_real *g, size_t n)
{
    double a = 0;
    for (size_t i = 0; i < n; i++) {
        double x = fabs((double)g[i]);
        a = x > a ? x : a;
    }
    return a;
}

/* sum (g[i] / scale)^2, pairwise like sumsq. */
static double scaled_sumsq(const gf_real *g, size_t n, double scale)
{
    double s = 0;
    if (n > PAIRWISE_BLOCK) {
        size_t h = n / 2;
        return scaled_sumsq(g, h, scale) + scaled_sumsq(g + h, n - h, scale);
    }
    for (size_t i = 0; i < n; i++) {
        double x = (double)g[i] / scale; /* division: 1/scale overflows for subnormals */
        s += x * x;
    }
    return s;
}

/* The L2 norm of count arrays taken together, as norm = amax * sqrt(ssq) (amax = 1
 * unless the plain sum over- or underflowed), so a norm beyond DBL_MAX can still be used
 * to scale. A NaN element gives amax = NaN, an infinite one amax = inf. */
static void norm_parts(const gf_real *const *gs, const size_t *ns, size_t count,
                       double *amax, double *ssq)
{
    double s = 0, a = 0;
    for (size_t k = 0; k < count; k++)
        s += sumsq(gs[k], ns[k]);
    *amax = 1;
    *ssq = s;
    if (isnan(s)) { /* only a NaN element makes a sum of squares NaN */
        *amax = s;
        return;
    }
    if (isfinite(s) && s >= SUMSQ_TINY)
        return;
    /* inf (an infinite element, or overflow), or tiny or 0 (all zeros, or underflow). */
    for (size_t k = 0; k < count; k++) {
        double ak = absmax(gs[k], ns[k]);
        a = ak > a ? ak : a;
    }
    *amax = a;
    *ssq = 1;
    if (isinf(a) || a == 0)
        return;
    s = 0;
    for (size_t k = 0; k < count; k++)
        s += scaled_sumsq(gs[k], ns[k], a);
    *ssq = s;
}

/* g = g * s1 * s2, in double: for float gradients near FLT_MAX and a small max_norm the
 * factor itself can be below float's range. */
static void scale_by(gf_real *g, size_t n, double s1, double s2)
{
    for (size_t i = 0; i < n; i++)
        g[i] = (gf_real)((double)g[i] * s1 * s2);
}

static gf_status check_threshold(double t, const char *who, const char *field)
{
    if (!(t > 0) || !isfinite(t))
        return gf_fail(GF_EINVAL, "%s: %s must be > 0 and finite, got %g", who, field, t);
    return GF_OK;
}

/* ---- Clipping ------------------------------------------------------------------------ */

gf_status gf_clip_value(gf_real *g, double *norm_before, size_t n, double limit)
{
    gf_status st;
    gf_real lim, neg;
    double amax, ssq;
    if ((st = check_threshold(limit, "clip_value", "limit")) != GF_OK)
        return st;
    if (g == NULL && n > 0)
        return gf_fail(GF_EINVAL, "clip_value: g is NULL with n = %zu", n);
    norm_parts((const gf_real *const *)&g, &n, 1, &amax, &ssq);
    if (norm_before != NULL)
        *norm_before = amax * sqrt(ssq);
    /* A limit beyond the type's range clamps nothing; converting it would overflow. */
    lim = limit >= REAL_MAX ? (gf_real)REAL_MAX : (gf_real)limit;
    neg = -lim;
    /* Comparisons with NaN are false, so NaN passes through; +-inf is clamped. */
    for (size_t i = 0; i < n; i++) {
        gf_real x = g[i] > lim ? lim : g[i];
        g[i] = x < neg ? neg : x;
    }
    if (isnan(amax)) {
        size_t nan_count = 0, first = 0;
        for (size_t i = n; i-- > 0;)
            if (isnan(g[i])) {
                nan_count++;
                first = i;
            }
        return gf_fail(GF_ENONFINITE,
                       "clip_value: %zu of %zu gradient values are NaN (first at %zu); "
                       "the others were clamped, the NaNs left as they are",
                       nan_count, n, first);
    }
    return GF_OK;
}

/* Shared by gf_clip_norm and gf_clip_norm_multi (which validate their arguments). */
static gf_status clip_arrays(gf_real *const *gs, const size_t *ns, size_t count,
                             double max_norm, double *norm_before, const char *who)
{
    double amax, ssq, norm;
    norm_parts((const gf_real *const *)gs, ns, count, &amax, &ssq);
    norm = amax * sqrt(ssq); /* inf also when finite doubles' norm exceeds DBL_MAX */
    if (norm_before != NULL)
        *norm_before = norm;
    if (!isfinite(amax))
        return gf_fail(GF_ENONFINITE,
                       "%s: gradient norm is %s (not finite); gradients left unchanged", who,
                       isnan(amax) ? "NaN" : "infinite");
    if (norm > max_norm) {
        /* The factor max_norm / norm is in (0, 1). When it is subnormal (or 0, the norm
         * having overflowed) it would lose digits, though the scaled values are normal:
         * then multiply twice by r = sqrt(max_norm / norm), taken apart so that no step
         * leaves double's range (ssq <= n, so its fourth root is small). */
        double s1 = max_norm / norm, s2 = 1;
        if (s1 < DBL_MIN)
            s1 = s2 = sqrt(max_norm) / (sqrt(amax) * sqrt(sqrt(ssq)));
        for (size_t k = 0; k < count; k++)
            scale_by(gs[k], ns[k], s1, s2);
    }
    return GF_OK;
}

gf_status gf_clip_norm(gf_real *g, double *norm_before, size_t n, double max_norm)
{
    gf_status st;
    if ((st = check_threshold(max_norm, "clip_norm", "max_norm")) != GF_OK)
        return st;
    if (g == NULL && n > 0)
        return gf_fail(GF_EINVAL, "clip_norm: g is NULL with n = %zu", n);
    return clip_arrays(&g, &n, 1, max_norm, norm_before, "clip_norm");
}

gf_status gf_clip_norm_multi(gf_real *const *gs, double *norm_before, const size_t *ns,
                             size_t count, double max_norm)
{
    gf_status st;
    if ((st = check_threshold(max_norm, "clip_norm_multi", "max_norm")) != GF_OK)
        return st;
    if (count > 0) {
        GF_CHECK_NOT_NULL(gs, "clip_norm_multi");
        GF_CHECK_NOT_NULL(ns, "clip_norm_multi");
    }
    for (size_t k = 0; k < count; k++)
        if (gs[k] == NULL && ns[k] > 0)
            return gf_fail(GF_EINVAL, "clip_norm_multi: gs[%zu] is NULL with ns[%zu] = %zu", k,
                           k, ns[k]);
    return clip_arrays(gs, ns, count, max_norm, norm_before, "clip_norm_multi");
}
