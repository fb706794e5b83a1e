/* gradflow/norm.h: batch normalisation (Ioffe and Szegedy 2015) and layer normalisation
 * (Ba et al. 2016) layers. Both learn a scale gamma (the layer's weight, (1, n)) and a
 * shift beta (its bias, (1, n)); reset() sets gamma = 1, beta = 0. They are not
 * "parametric" in init.h's sense: init schemes leave gamma and beta alone.
 *
 * Batch norm, per feature j over the batch of B rows (biased variance, as in the paper):
 *   mu_j = mean_r x_rj,  var_j = mean_r (x_rj - mu_j)^2,
 *   xhat_rj = (x_rj - mu_j) / sqrt(var_j + eps),  y_rj = gamma_j xhat_rj + beta_j.
 * Training (gf_net_forward) uses the batch statistics and updates the running ones,
 *   running_mean = (1 - momentum) running_mean + momentum mu,
 *   running_var  = (1 - momentum) running_var  + momentum var B/(B-1)   (unbiased),
 * starting from mean 0 and variance 1; evaluation (gf_net_predict) uses the running
 * statistics in place of mu and var, and changes nothing. The backward pass is exact for
 * the mode of the last forward pass, including the paths through mu and var:
 *   dx_r = (1/sigma) (dxhat_r - mean_r dxhat - xhat_r mean_r(dxhat xhat)),
 *   dxhat = dy gamma,  sigma = sqrt(var + eps).
 *
 * Layer norm: the same per row over its n features, identical in both modes, with no
 * running statistics. */
#ifndef GRADFLOW_NORM_H
#define GRADFLOW_NORM_H

#include "gradflow/layer.h"

#ifdef __cplusplus
extern "C" {
#endif

struct gf_net;

/* Set up l as batch norm over n features. eps > 0 (1e-5 is usual), momentum in [0, 1]
 * (0.1 is usual; 0 freezes the running statistics). n zero, eps or momentum out of
 * range or not finite: GF_EINVAL. A training forward pass needs at least 2 rows. */
gf_status gf_layer_batchnorm(gf_layer *l, size_t n, double eps, double momentum);

/* Set up l as layer norm over n >= 2 features (one feature would always give beta). */
gf_status gf_layer_layernorm(gf_layer *l, size_t n, double eps);

/* Append batch norm / layer norm over the network's current output width. */
gf_status gf_net_add_batchnorm(struct gf_net *net, double eps, double momentum);
gf_status gf_net_add_layernorm(struct gf_net *net, double eps);

/* The running statistics of a batch-norm layer (borrowed, n values each, valid while
 * the layer lives). Not a batch-norm layer: GF_EINVAL. */
gf_status gf_batchnorm_running(const gf_layer *l, const double **mean, const double **var,
                               size_t *n);

/* The eps and momentum a batch-norm or layer-norm layer was made with (momentum is 0 for
 * layer norm); either out-pointer may be NULL. Not a normalisation layer: GF_EINVAL. */
gf_status gf_norm_config(const gf_layer *l, double *eps, double *momentum);

/* Replace them (restoring a checkpoint): n must be the layer's width, every value
 * finite and every variance >= 0. */
gf_status gf_batchnorm_set_running(gf_layer *l, const double *mean, const double *var,
                                   size_t n);

#ifdef __cplusplus
}
#endif
#endif
