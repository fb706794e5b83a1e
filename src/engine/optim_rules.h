/* src/engine/optim_rules.h: the update rules of the optimisers, one inline function of one
 * element each, shared by the plain loops (engine/optim.c) and the update that also
 * measures itself (fast/update.c), so that both compute the very same delta. Weight
 * decay is PyTorch's non-decoupled L2: g <- g + wd * p. Private, not installed. */
#ifndef GRADFLOW_OPTIM_RULES_H
#define GRADFLOW_OPTIM_RULES_H

#include <math.h>

#include "gradflow/common.h"

#if GF_REAL_IS_DOUBLE
#define GF_REAL_SQRT sqrt
#else
#define GF_REAL_SQRT sqrtf
#endif

/* The coefficients of one step, in gf_real, fixed for the whole block (optim.c). */
typedef struct gf_optim_coefs {
    gf_real lr, wd, mu;                              /* SGD, momentum */
    gf_real b1, a1, b2, a2, step, inv_sqrt_c2, eps;  /* Adam: a = 1 - b, step = lr / c1 */
} gf_optim_coefs;

/* delta = -lr (g + wd p). */
static inline gf_real gf_sgd_rule(gf_real p, gf_real g, const gf_optim_coefs *k)
{
    return -k->lr * (g + k->wd * p);
}

/* v = mu v + (g + wd p); delta = -lr v. */
static inline gf_real gf_momentum_rule(gf_real *v, gf_real p, gf_real g,
                                       const gf_optim_coefs *k)
{
    gf_real vi = k->mu * *v + (g + k->wd * p);
    *v = vi;
    return -k->lr * vi;
}

/* m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; delta = -lr mhat / (sqrt(vhat) + eps),
 * written (m / c1) / (sqrt(v) / sqrt(c2) + eps) as PyTorch does. */
static inline gf_real gf_adam_rule(gf_real *m, gf_real *v, gf_real p, gf_real g,
                                   const gf_optim_coefs *k)
{
    gf_real gi = g + k->wd * p;
    gf_real mi = k->b1 * *m + k->a1 * gi;
    gf_real vi = k->b2 * *v + k->a2 * gi * gi;
    *m = mi;
    *v = vi;
    return -k->step * mi / (GF_REAL_SQRT(vi) * k->inv_sqrt_c2 + k->eps);
}

/* ||delta|| from sum delta^2 and sum (2^400 delta)^2, both in double: the plain sum,
 * unless it is so small that squares may have underflowed (double updates under 1e-150;
 * a vanishing update must not read as 0), as gf_array_norm2 decides. */
static inline double gf_update_norm_from_sums(double sum, double scaled)
{
    return sum < 0x1p-600 ? sqrt(scaled) / 0x1p400 : sqrt(sum);
}

#endif
