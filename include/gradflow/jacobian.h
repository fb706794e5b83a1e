/* gradflow/jacobian.h: the input-output Jacobian of a network (or of a range of its
 * layers) at a batch of points, and its singular values (Saxe et al. 2014, Pennington
 * et al. 2017: "dynamical isometry" is every singular value near 1). For layers
 * first..last (inclusive) and a row b of the batch,
 *     J_b[k][j] = d a_{last+1}[b][k] / d a_first[b][j],
 * a_i being the activation entering layer i (a_0 the input) in evaluation mode, the map
 * gf_net_predict computes: batch norm uses its running statistics, so each row's
 * Jacobian is its own. Found by one backward pass through the range per output unit k,
 * from the one-hot dL/da_{last+1} = e_k. Singular values come from LAPACK (dgesdd,
 * through LAPACKE); a build without it (-DGRADFLOW_LAPACK=OFF, or liblapacke-dev not
 * installed) still gives the Jacobian, and refuses the singular values with
 * GF_EUNSUPPORTED. */
#ifndef GRADFLOW_JACOBIAN_H
#define GRADFLOW_JACOBIAN_H

#include "gradflow/net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* jac (batch * out, in) = the Jacobians of layers first..last at the rows of x (batch,
 * net in): rows b*out .. b*out + out-1 hold J_b (out, in), out = the width after layer
 * last, in = the width entering layer first. first <= last < gf_net_layer_count(net).
 * The network is left as it was found: parameters, gradients, batch norm's running
 * statistics, step count and telemetry (no record is added); the last forward pass
 * before the call is run again at the end (training mode) so that its activations are
 * back, but a loss taken on it must be taken again before gf_net_backward. */
gf_status gf_net_jacobian(gf_net *net, gf_tensor *jac, const gf_tensor *x, size_t first,
                          size_t last);

/* sv (batch, min(out, in)) = the singular values of each Jacobian J_b, the rows
 * b*out .. b*out + out-1 of jac (batch * out, in), in decreasing order. Computed in
 * double. GF_EUNSUPPORTED (sv set to NaN) in a build without LAPACK. */
gf_status gf_jacobian_singular_values(gf_tensor *sv, const gf_tensor *jac, size_t batch);

/* Both at once: sv (batch, min(out, in)) = the singular values of the Jacobians of
 * layers first..last at the rows of x, with the network left as gf_net_jacobian leaves
 * it. GF_EUNSUPPORTED in a build without LAPACK (checked before any work). */
gf_status gf_net_jacobian_singular_values(gf_net *net, gf_tensor *sv, const gf_tensor *x,
                                          size_t first, size_t last);

/* 1 when this build computes singular values (LAPACK found), 0 when it refuses them. */
int gf_jacobian_have_lapack(void);

#ifdef __cplusplus
}
#endif
#endif
