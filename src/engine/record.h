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

/* Fill recs[0..n) for layers[0..n) after a backward pass: acts[i] is the input of layer i,
 * dacts[i] = dL/dacts[i] (dacts[0] only when input_grad), grad_norms (n + 1 values) is
 * scratch for ||dacts[i]||. update_ratio and the clipping norms are left NaN for the
 * step and the clip to fill in. */
void gf_record_pass(gf_record *recs, const gf_layer *layers, size_t n, const gf_tensor *acts,
                    const gf_tensor *dacts, int input_grad, double *grad_norms, uint64_t step,
                    double loss);

/* GF_ENONFINITE naming where NaN or infinity first appeared in one step's records (the
 * earliest layer of the forward pass, else the loss, else the first layer the backward
 * pass reached), GF_OK when nowhere. have_loss: loss is a loss (not NaN for "none"). */
gf_status gf_record_check_finite(const gf_record *recs, size_t n, uint64_t step, double loss,
                                 int have_loss);

#endif
