/* src/engine/record.h: the record pass (record.c), private to the engine. */
#ifndef GRADFLOW_RECORD_H
#define GRADFLOW_RECORD_H

#include <stdint.h>

#include "gradflow/layer.h"
#include "gradflow/telemetry.h"

/* The kind a layer is recorded under: its activation's name ("tanh"), else its ops'. */
static inline const char *gf_layer_kind_name(const gf_layer *l)
{
    return l->act != NULL ? l->act->name : l->ops->name;
}

/* Fill r, the record of layers[i] = l, after its backward pass: acts[i] is the input of
 * layer i, dacts[i] = dL/dacts[i] (taken when has_dx), grad_norms[i + 1] must hold
 * ||dacts[i + 1]||; sets grad_norms[i] = ||dacts[i]||. update_ratio and the clipping
 * norms are left NaN for the step and the clip to fill in, and so is the weight norm
 * unless with_weight_norm (the engine may take it in the update, see net.c).
 * dweight_sumsq: gf_array_sumsq of l's weight gradient when the engine has it already
 * (net.c), else NULL. */
void gf_record_layer(gf_record *r, const gf_layer *l, size_t i, const gf_tensor *acts,
                     const gf_tensor *dacts, int has_dx, int with_weight_norm,
                     const double *dweight_sumsq, double *grad_norms, uint64_t step,
                     double loss);

/* ||W|| of layer l as its record holds it: NaN for a layer without weights. */
double gf_record_weight_norm(const gf_layer *l);

/* The record pass: recs[0..n) for layers[0..n), from the last layer to the first, as the
 * backward pass ran (dacts[0] taken when input_grad; grad_norms: n + 1 values of scratch). */
void gf_record_pass(gf_record *recs, const gf_layer *layers, size_t n, const gf_tensor *acts,
                    const gf_tensor *dacts, int input_grad, double *grad_norms, uint64_t step,
                    double loss);

/* GF_ENONFINITE naming where NaN or infinity first appeared in one step's records (the
 * earliest layer of the forward pass, else the loss, else the first layer the backward
 * pass reached), GF_OK when nowhere. have_loss: loss is a loss (not NaN for "none"). */
gf_status gf_record_check_finite(const gf_record *recs, size_t n, uint64_t step, double loss,
                                 int have_loss);

#endif
