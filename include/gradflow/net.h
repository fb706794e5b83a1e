/* gradflow/net.h: a sequential network and its training engine. Forward, loss,
 * backward, clip, step; every backward pass records each layer's telemetry (see
 * telemetry.h) with nothing to wire up. All parameters live in one block and all
 * gradients in another; buffers are sized on the first batch and reused after. */
#ifndef GRADFLOW_NET_H
#define GRADFLOW_NET_H

#include "gradflow/clip.h"
#include "gradflow/init.h"
#include "gradflow/layer.h"
#include "gradflow/loss.h"
#include "gradflow/optim.h"
#include "gradflow/rng.h"
#include "gradflow/telemetry.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gf_net gf_net;

/* An empty network taking in_features inputs. Free with gf_net_free. */
gf_status gf_net_new(gf_net **out, size_t in_features);
void gf_net_free(gf_net *net);

/* Append layers; each takes the previous layer's output width as its input. */
gf_status gf_net_add_linear(gf_net *net, size_t out_features);
/* An activation from the table by name, with its default parameter. */
gf_status gf_net_add_activation(gf_net *net, const char *name);
/* The same with an explicit parameter (leaky slope, ELU alpha): finite. */
gf_status gf_net_add_activation_param(gf_net *net, const char *name, double param);
gf_status gf_net_add_prelu(gf_net *net, double initial_slope);
/* Append a layer set up by a gf_layer_* function (or your own ops); the network takes
 * ownership of its state (even on failure) and binds its parameters. l->in must equal
 * the current output width. */
gf_status gf_net_add_layer(gf_net *net, gf_layer *layer);

/* A plain multi-layer perceptron: depth linear layers (in -> width -> ... -> out), the
 * activation after each but the last, initialised by init (NULL: the activation's
 * suited scheme, e.g. He for ReLU with its slope, Xavier with gain for tanh). */
typedef struct gf_mlp_spec {
    size_t in;           /* input features */
    size_t width;        /* hidden width */
    size_t depth;        /* number of linear layers, >= 1 */
    size_t out;          /* output features */
    const char *act;     /* activation name, e.g. "relu" */
    double act_param;    /* its parameter (leaky slope, ELU alpha); 0 (left out of a
                          * designated initialiser) or NaN: the activation's default,
                          * e.g. slope 0.01. A slope or alpha of 0 is "relu". */
    const gf_init *init; /* NULL: the activation's suited init */
} gf_mlp_spec;
gf_status gf_net_new_mlp(gf_net **out, const gf_mlp_spec *spec, gf_rng *rng);

/* ---- Inspection -------------------------------------------------------------------
 * Every function here takes a const network and changes nothing. The pointers they
 * return are borrowed: valid until the network is next changed in the way listed, and
 * never after gf_net_free:
 *   gf_net_layer, gf_net_layer_mut        until gf_net_add_* (the layer array may move);
 *   gf_net_params, gf_net_grads (+ _mut)  until gf_net_add_* (the blocks may move; the
 *                                         layers' weight/bias views are moved with them);
 *   gf_net_activation, _activation_grad   until gf_net_add_*, or a forward pass with more
 *                                         rows than any before (the buffers are rebuilt);
 *                                         their contents are those of the last forward
 *                                         (backward) pass and are overwritten by the next;
 *   gf_net_telemetry                      until gf_net_free (the store stays in place);
 *   gf_net_last_records                   until the next recorded backward pass (records
 *                                         are appended: see gf_telemetry_at);
 *   gf_net_layer_kind                     as long as the layer's ops (static for the
 *                                         built-in kinds).
 * The _mut variants give writable pointers, for what inspection must not do: setting
 * weights by hand, restoring parameters, streaming the telemetry to a file. */
size_t gf_net_layer_count(const gf_net *net);
const gf_layer *gf_net_layer(const gf_net *net, size_t i); /* NULL when out of range */
gf_layer *gf_net_layer_mut(gf_net *net, size_t i);
const char *gf_net_layer_kind(const gf_net *net, size_t i); /* "linear", "relu", ... */
size_t gf_net_in_features(const gf_net *net);
size_t gf_net_out_features(const gf_net *net);
size_t gf_net_param_count(const gf_net *net);
const gf_real *gf_net_params(const gf_net *net);   /* the parameter block */
const gf_real *gf_net_grads(const gf_net *net);    /* the gradient block */
gf_real *gf_net_params_mut(gf_net *net);
gf_real *gf_net_grads_mut(gf_net *net);
/* The activation at boundary i of the last forward pass: 0 is the input, i the output
 * of layer i-1. NULL before the first forward pass, after gf_net_step, or out of range. */
const gf_tensor *gf_net_activation(const gf_net *net, size_t i);
/* dL/d(activation at boundary i) of the last backward pass (i = 0 only when the input
 * gradient is on, see gf_net_set_input_grad); NULL once a step has used it. */
const gf_tensor *gf_net_activation_grad(const gf_net *net, size_t i);

/* ---- Training -------------------------------------------------------------------- */

/* Forward x (batch, in) in training mode; *y (borrowed, may be NULL) is the output,
 * valid until the next forward. */
gf_status gf_net_forward(gf_net *net, const gf_tensor **y, const gf_tensor *x);

/* Forward in evaluation mode (batch norm uses running statistics). */
gf_status gf_net_predict(gf_net *net, const gf_tensor **y, const gf_tensor *x);

/* Loss of the last forward's output against target; keeps dL/dy for gf_net_backward. */
gf_status gf_net_loss(gf_net *net, double *loss, const gf_tensor *target,
                      gf_loss_kind kind);

/* Backward from the gradient gf_net_loss kept: zeroes gradients, runs every layer's
 * backward from last to first, and records every layer's telemetry. Returns
 * GF_ENONFINITE (after recording) when a NaN or infinity appeared, naming the step,
 * layer and direction where it first did. */
gf_status gf_net_backward(gf_net *net);

/* The same from a given dL/dy (batch, out): for custom losses and linear probes. */
gf_status gf_net_backward_from(gf_net *net, const gf_tensor *dy);

/* Clip the gradients (records each layer's norm before and after). *norm_before (may be
 * NULL) is the global gradient norm before clipping. GF_CLIP_NONE does nothing. */
gf_status gf_net_clip(gf_net *net, double *norm_before, const gf_clip *clip);

/* Apply the optimiser's update to the parameters and record each layer's update
 * ratio. Refused (GF_ENONFINITE) when the last backward saw non-finite values, unless
 * skip_nonfinite is set, in which case the update is skipped and GF_OK returned. */
gf_status gf_net_step(gf_net *net, gf_optim *opt);

/* forward + loss + backward + clip (clip may be NULL) + step, by those calls in turn:
 * the records are those the separate calls give. */
gf_status gf_net_train_step(gf_net *net, double *loss, const gf_tensor *x,
                            const gf_tensor *target, gf_optim *opt, gf_loss_kind loss_kind,
                            const gf_clip *clip);

/* ---- Options and telemetry ------------------------------------------------------- */

/* Record every k-th backward pass (k >= 1; default 1). Step counting is unaffected. */
gf_status gf_net_set_record_every(gf_net *net, uint64_t k);
/* 1 (default): compute dL/dx for the first layer too, so every layer has an input
 * gradient norm; 0 saves that GEMM and records NaN there. */
void gf_net_set_input_grad(gf_net *net, int on);
int gf_net_input_grad(const gf_net *net);
/* 1: gf_net_step skips the update after non-finite values instead of refusing. */
void gf_net_set_skip_nonfinite(gf_net *net, int on);

/* Number of backward passes so far (the step counter of the telemetry). */
uint64_t gf_net_step_count(const gf_net *net);
void gf_net_set_step_count(gf_net *net, uint64_t step);

/* The network's telemetry (borrowed, see Inspection). gf_net_telemetry_mut: writable,
 * to stream it (gf_telemetry_stream_to) or clear it. */
const gf_telemetry *gf_net_telemetry(const gf_net *net);
gf_telemetry *gf_net_telemetry_mut(gf_net *net);

/* The records of the last recorded backward pass, one per layer (borrowed, see
 * Inspection). */
gf_status gf_net_last_records(const gf_net *net, const gf_record **records, size_t *count);

#ifdef __cplusplus
}
#endif
#endif
