/* gradflow/gradcheck.h: check a network's backward pass against central finite
 * differences, layer by layer: each layer's parameters, and its input (perturbing the
 * activation entering it and running the rest of the network forward). */
#ifndef GRADFLOW_GRADCHECK_H
#define GRADFLOW_GRADCHECK_H

#include "gradflow/net.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gf_gradcheck_options {
    double h;            /* difference step (0: 1e-5 in double, 1e-3 in float) */
    double abs_floor;    /* rel err = |a - n| / max(|a|, |n|, abs_floor) (0: 1e-5 in double,
                          1e-2 in float: above the rounding noise eps |L| / h) */
    size_t max_per_tensor; /* entries checked per tensor, spread evenly (0: all) */
} gf_gradcheck_options;

typedef struct gf_gradcheck_layer {
    double param_err;  /* worst relative error over the layer's parameters (NaN: none) */
    double input_err;  /* worst relative error over dL/dx of the layer's input */
    size_t checked;    /* entries compared */
    double grad_norm;  /* norm of the analytic gradients compared (0 would prove nothing) */
} gf_gradcheck_layer;

/* Run forward, loss and backward on (x, target), then compare with central
 * differences of the loss. result[i] for layer i (result has gf_net_layer_count
 * entries); *worst (may be NULL) is the worst error over all. The network's parameters
 * are restored exactly; its gradients hold the analytic ones afterwards. Runs in
 * training mode; layers with randomness are not supported. */
gf_status gf_net_gradcheck(gf_net *net, gf_gradcheck_layer *result, double *worst,
                           const gf_tensor *x, const gf_tensor *target,
                           gf_loss_kind loss, const gf_gradcheck_options *options);

#ifdef __cplusplus
}
#endif
#endif
