/* gradflow/loss.h: losses and their gradients with respect to the network's output,
 * computed together, plus classification accuracy. Losses are means over the batch, in
 * double, and numerically stable for any finite input. */
#ifndef GRADFLOW_LOSS_H
#define GRADFLOW_LOSS_H

#include "gradflow/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum gf_loss_kind {
    /* L = (1/(B n)) sum (y - t)^2, the mean over all elements (as PyTorch's MSELoss).
     * target (B, n). */
    GF_LOSS_MSE,
    /* L = -(1/B) sum_b sum_j t_bj log softmax(y_b)_j, via log-sum-exp. target is either
     * (B, 1) holding class indices 0..n-1, or (B, n) holding probabilities (rows sum
     * to 1; one-hot included). */
    GF_LOSS_SOFTMAX_CE,
    /* L = (1/(B n)) sum [max(y,0) - y t + log(1 + exp(-|y|))], binary cross-entropy on
     * logits y with targets t in [0, 1]; target (B, n). */
    GF_LOSS_BCE_LOGITS,
    GF_LOSS_COUNT
} gf_loss_kind;

/* "mse", "cross_entropy", "bce"; NULL for an invalid kind. */
const char *gf_loss_name(gf_loss_kind kind);

/* Look up a loss by name (also accepts "ce", "softmax_ce", "bce_logits"). */
gf_status gf_loss_from_name(gf_loss_kind *out, const char *name);

/* *loss = L(y, target); when dy is not NULL, dy (same shape as y) is OVERWRITTEN with
 * dL/dy. Class indices out of range, targets outside [0, 1] for BCE, shape mismatches
 * and non-finite targets are errors. A non-finite y gives a non-finite loss and
 * GF_OK (the engine reports where it came from). */
gf_status gf_loss_compute(double *loss, gf_tensor *dy, const gf_tensor *y,
                          const gf_tensor *target, gf_loss_kind kind);

/* Fraction of rows whose argmax of y equals the class: target (B, 1) holds class
 * indices, or (B, n) one-hot/probabilities (argmax taken). For y with one column (a
 * binary logit), the class is y > 0. */
gf_status gf_accuracy(double *accuracy, const gf_tensor *y, const gf_tensor *target);

#ifdef __cplusplus
}
#endif
#endif
