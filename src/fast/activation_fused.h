/* src/fast/activation_fused.h: the fast variant of the activation layer (src/layers/
 * activation.c is the reference): f' evaluated chunk by chunk by the row's array loop,
 * with the telemetry's derivative statistics taken from the same chunk while it is in
 * cache. gf_layer_activation picks it when GF_FAST. */
#ifndef GRADFLOW_ACTIVATION_FUSED_H
#define GRADFLOW_ACTIVATION_FUSED_H

#include "gradflow/layer.h"

/* The activation layer's two operation tables, both named "activation". */
extern const gf_layer_ops gf_activation_reference_ops; /* src/layers/activation.c */
extern const gf_layer_ops gf_activation_fused_ops;     /* src/fast/activation_fused.c */

/* Switch l, set up on the reference operations by gf_layer_activation_variant, to the
 * fused ones: allocates their state (GF_ENOMEM: l is left as it was). */
gf_status gf_activation_fused_attach(gf_layer *l);

/* gf_layer_activation on the reference operations (fused = 0) or the fused ones
 * (fused = 1), whatever the build: gf_layer_activation is this with fused = GF_FAST;
 * the tests compare the two. */
gf_status gf_layer_activation_variant(gf_layer *l, size_t n, const gf_activation *act,
                                      gf_real param, int fused);

#endif
