/* gradflow/residual.h: a residual block (He et al. 2016), a layer wrapping a network F of
 * its own:  y = x + F(x)  when F keeps the width,  y = x P^T + p + F(x)  otherwise (a
 * learnt projection P (out, in) with bias p (1, out)). The skip path passes dL/dy to dL/dx
 * unchanged, which is why gradients survive depth:  dL/dx = dL/dy (I + dF/dx).
 *
 * Parameters: all of the block's parameters live in the OUTER network's block, like any
 * layer's. The block's weight view is (1, n_params) holding F's parameters in F's own
 * layout, then P and p; it has no bias view. At every forward and backward pass (and in
 * gf_residual_inner) the block points F's layers' views into that range, so optimisers,
 * clipping and gradient checks of the outer network see every inner parameter. F's own
 * parameter block is then unused, except as the source of the initial values: when the
 * outer network binds the block (reset), F's current parameters are copied in. So
 * initialise F (gf_net_init) before wrapping it, or afterwards through gf_residual_inner.
 *
 * Telemetry: the block's forward and backward passes run F's own engine, so F records
 * the telemetry of every inner layer in its own store on each backward pass of the
 * block: read it with gf_net_telemetry(gf_residual_inner(l)) or gf_net_last_records.
 * F's step counter counts the block's backward passes. The outer network records the
 * block as one layer of kind "residual" (its weight norms cover all its parameters).
 *
 * Not supported: adding layers to F after wrapping it (GF_ESTATE), sharing F. */
#ifndef GRADFLOW_RESIDUAL_H
#define GRADFLOW_RESIDUAL_H

#include "gradflow/init.h"
#include "gradflow/layer.h"
#include "gradflow/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

struct gf_net;

/* Set up l as a residual block around inner (at least one layer), which it takes over
 * (freed with the block, and on failure). When inner's output width differs from its
 * input width, a projection P ~ N(0, 1/in) (LeCun, variance kept), p = 0, is drawn from
 * rng; rng may be NULL when the widths agree. */
gf_status gf_layer_residual(gf_layer *l, struct gf_net *inner, gf_rng *rng);

/* Append a residual block around inner (taken over, also on failure); inner's input
 * width must be the network's current output width. */
gf_status gf_net_add_residual(struct gf_net *net, struct gf_net *inner, gf_rng *rng);

/* Convenience: append a block whose F is `depth` linear layers of the current width,
 * each but the last followed by the activation act (by name, its default parameter),
 * initialised by init (NULL: the activation's suited scheme, as gf_net_new_mlp). With
 * zero_last, F's last linear layer starts at zero, so the block starts as the identity
 * ("zero init" of the residual branch, Goyal et al. 2017). */
gf_status gf_net_add_residual_mlp(struct gf_net *net, size_t depth, const char *act,
                                  const gf_init *init, int zero_last, gf_rng *rng);

/* The inner network F of a residual block (borrowed, valid while the block lives), its
 * layers' views pointed into the block's current parameters. NULL when l is not a
 * residual block. Call it again after the outer network grows (its block moves). */
struct gf_net *gf_residual_inner(gf_layer *l);

/* 1 when the block has a projection (the widths differ). */
int gf_residual_has_projection(const gf_layer *l);

#ifdef __cplusplus
}
#endif
#endif
