/* gradflow/layer.h: a layer is data plus a pointer to a constant table of operations.
 * Parameters and their gradients are views into the owning network's two blocks (all
 * parameters in one block, all gradients in another). This header defines the layer
 * interface and the built-in layers: linear, element-wise activation, PReLU. */
#ifndef GRADFLOW_LAYER_H
#define GRADFLOW_LAYER_H

#include "gradflow/act.h"
#include "gradflow/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gf_layer gf_layer;
struct gf_record;

typedef struct gf_layer_ops {
    const char *name; /* "linear", "activation", "prelu" */

    /* y (batch, out) = layer(x (batch, in)). y has been sized by the engine. training
     * is 1 while training (batch norm uses batch statistics), 0 when evaluating. */
    gf_status (*forward)(gf_layer *l, const gf_tensor *x, gf_tensor *y, int training);

    /* Given dy = dL/dy: ADD dL/dx into dx (dx may be NULL: not wanted) and ADD
     * dL/dparams into the layer's gradient views. The engine zeroes gradients before
     * the backward pass; a layer never does (but see gf_layer's can_overwrite). x and y
     * are the forward pass's. */
    gf_status (*backward)(gf_layer *l, const gf_tensor *x, const gf_tensor *y,
                          const gf_tensor *dy, gf_tensor *dx);

    /* Fill the layer-specific telemetry fields of rec (derivative statistics of an
     * activation), after backward. NULL: nothing layer-specific. */
    void (*record)(const gf_layer *l, const gf_tensor *x, const gf_tensor *y,
                   struct gf_record *rec);

    /* Size private buffers for batches of up to `batch` rows. NULL: none. */
    gf_status (*reserve)(gf_layer *l, size_t batch);

    /* Set parameters to their defaults (PReLU slope) right after the network binds
     * them. NULL: parameters start at zero. */
    void (*reset)(gf_layer *l);

    /* Release private state. NULL: none. */
    void (*destroy)(gf_layer *l);

    /* How model files store a layer of your own kind (gradflow/registry.h): NULL, the
     * default, and gf_model_save refuses the network naming the kind. Built-in kinds
     * leave it NULL: the registry holds their codecs. */
    const struct gf_layer_codec *codec;
} gf_layer_ops;

struct gf_layer {
    const gf_layer_ops *ops;
    size_t in;                /* input features */
    size_t out;               /* output features */
    /* Parameter and gradient views into the network's blocks; a tensor with rows == 0
     * is absent. Linear: weight (out, in), bias (1, out). PReLU: weight (1, out) holds
     * the slopes, no bias. */
    gf_tensor weight, bias;
    gf_tensor dweight, dbias;
    size_t param_offset;      /* where weight starts in the blocks; bias follows it */
    size_t n_params;          /* weight and bias values together */
    const gf_activation *act; /* element-wise activation row, NULL for other layers */
    gf_real act_param;        /* its parameter (leaky slope, ELU alpha) */
    int is_parametric;        /* 1 for layers an init scheme initialises (linear) */
    /* Set by the engine before each backward call: 1 when record() will follow for this
     * pass, so that a layer may take its figures in the pass, while the data are in
     * cache (activations do). A layer must give the same figures either way. */
    int recording;
    /* 1 when backward honours overwrite (below): set by the layer's constructor (the
     * linear and activation layers). 0, the default: backward only adds. */
    int can_overwrite;
    /* Set by the engine before each backward call of a layer with can_overwrite: 1 when
     * dx and the layer's gradients were not zeroed and hold nothing of this pass, so
     * backward WRITES them (= instead of +=, a GEMM with beta 0): the engine saves a
     * pass of zeroes over each. 0: backward adds, as always. */
    int overwrite;
    void *state;              /* private state (caches), released by ops->destroy */
};

/* Set up l as a linear layer y = x W^T + b, W (out, in), b (1, out). Parameters are
 * bound later by the network. in or out zero: GF_EINVAL. */
gf_status gf_layer_linear(gf_layer *l, size_t in, size_t out);

/* Set up l as the element-wise activation act with parameter param over n features. */
gf_status gf_layer_activation(gf_layer *l, size_t n, const gf_activation *act, gf_real param);

/* Set up l as PReLU over n features: f(x) = x for x > 0, a_j x otherwise, with one
 * learnable slope a_j per feature, starting at initial_slope (0.25 is usual). */
gf_status gf_layer_prelu(gf_layer *l, size_t n, gf_real initial_slope);

/* Release a layer's private state (ops->destroy); the struct itself is the caller's. */
void gf_layer_release(gf_layer *l);

#ifdef __cplusplus
}
#endif
#endif
