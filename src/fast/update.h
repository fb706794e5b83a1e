/* src/fast/update.h: the optimiser's update, on threads for a long range, that also
 * measures itself on the recorded steps of gf_net_step. Its reference is
 * gf_optim_update_ref (engine/optim.c): the same rules (engine/optim_rules.h), with
 * ||delta|| measured in a pass of its own. */
#ifndef GRADFLOW_FAST_UPDATE_H
#define GRADFLOW_FAST_UPDATE_H

#include <stddef.h>

#include "engine/optim_rules.h"
#include "gradflow/optim.h"

/* The plain update of a range by the rule of `kind` (the reference's loops, in
 * engine/optim.c, which hands them to gf_fast_update: src/fast/ sits below the engine). */
typedef void gf_update_apply_fn(gf_optim_kind kind, const gf_optim_coefs *k, gf_real *s0,
                                gf_real *s1, gf_real *p, const gf_real *g, size_t n);

/* p[i] += delta[i] for i < n, and, when update_norm is not NULL, *update_norm = ||delta||
 * in the same pass. s0, s1: the optimiser's state at this range (momentum: v in s0; Adam:
 * m in s0, v in s1; NULL where the kind has none). The parameters end bit for bit where
 * the reference puts them; the norm agrees within a few ulps (sums in another order).
 * When param_sumsq is not NULL (with update_norm), *param_sumsq = gf_stats_sumsq(p, n)
 * of the parameters before the update, bit for bit. Without update_norm the pieces run
 * apply. A long range is shared among threads by pieces, with the same results at every
 * thread count. */
void gf_fast_update(gf_optim_kind kind, const gf_optim_coefs *k, gf_real *s0, gf_real *s1,
                    gf_real *p, const gf_real *g, size_t n, double *update_norm,
                    double *param_sumsq, gf_update_apply_fn *apply);

#endif
