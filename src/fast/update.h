/* src/fast/update.h: the optimiser's update that also measures itself, for the recorded
 * steps of gf_net_step. Its reference is gf_optim_update_ref (engine/optim.c): the same
 * rules (engine/optim_rules.h), with ||delta|| measured in a pass of its own. */
#ifndef GRADFLOW_FAST_UPDATE_H
#define GRADFLOW_FAST_UPDATE_H

#include <stddef.h>

#include "engine/optim_rules.h"
#include "gradflow/optim.h"

/* p[i] += delta[i] for i < n, and *update_norm = ||delta||, in one pass. s0, s1: the
 * optimiser's state at this range (momentum: v in s0; Adam: m in s0, v in s1; NULL where
 * the kind has none). The parameters end bit for bit where the reference puts them; the
 * norm agrees within a few ulps (sums in another order). When param_sumsq is not NULL,
 * *param_sumsq = gf_stats_sumsq(p, n) of the parameters before the update, bit for bit. */
void gf_fast_update_measured(gf_optim_kind kind, const gf_optim_coefs *k, gf_real *s0,
                             gf_real *s1, gf_real *p, const gf_real *g, size_t n,
                             double *update_norm, double *param_sumsq);

#endif
