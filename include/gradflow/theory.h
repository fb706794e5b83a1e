/* gradflow/theory.h: the mean-field prediction of the backward signal in a deep plain
 * network (Poole et al. 2016, Schoenholz et al. 2017), to draw beside what is measured.
 * For h_l = W_l phi(h_{l-1}) + b_l with W_ij ~ (0, sigma_w^2 / fan_in), b ~ (0, sigma_b^2),
 * wide layers, the pre-activation variance follows the map
 *     q_l = V(q_{l-1}),   V(q) = sigma_w^2 E[phi(sqrt(q) z)^2] + sigma_b^2,  z ~ N(0, 1),
 * to a fixed point q*, and each layer multiplies the squared norm of the backward
 * signal dL/dh by
 *     chi = sigma_w^2 E[phi'(sqrt(q*) z)^2]
 * (for equal widths): chi < 1 vanishing, chi > 1 exploding, chi = 1 the "edge of chaos".
 * The norm itself changes by sqrt(chi) per layer. phi' is the table row's df (the
 * derivative the backward pass uses). Expectations are computed in double by adaptive
 * Gauss-Kronrod (7-15) quadrature over |z| <= 12, split at z = 0 where ReLU-like
 * activations have their kink: relative accuracy about 1e-12. */
#ifndef GRADFLOW_THEORY_H
#define GRADFLOW_THEORY_H

#include "gradflow/act.h"
#include "gradflow/init.h"

#ifdef __cplusplus
extern "C" {
#endif

/* E[g(sqrt(q) z)^2] for g = phi (which = 0) or g = phi' (which = 1), q >= 0. */
gf_status gf_theory_gauss_mean_sq(double *out, const gf_activation *act, double act_param,
                                  double q, int which);

/* One step of the variance map: *q_next = V(q). */
gf_status gf_theory_q_map(double *q_next, const gf_activation *act, double act_param,
                          double sigma_w2, double sigma_b2, double q);

/* chi at a given variance q (for the layers before the fixed point is reached). */
gf_status gf_theory_chi_at(double *chi, const gf_activation *act, double act_param,
                           double sigma_w2, double q);

/* The fixed point q* that the map reaches from q_0 = 1, and chi there. Found by
 * bracketing and bisection (the map itself converges only like 1/l when chi -> 1, as
 * for tanh at sigma_w^2 = 1, sigma_b^2 = 0, where q* = 0 and chi = 1). When q grows
 * without bound (ReLU with sigma_w^2 > 2, linear with sigma_w^2 > 1), *q_star is
 * +infinity and *chi its limit as q grows (sigma_w^2/2 and sigma_w^2 there). When
 * q* = 0 (ReLU with sigma_w^2 < 2), *chi is its limit as q -> 0+ (sigma_w^2/2). sigma_w2
 * > 0, sigma_b2 >= 0, both finite; act_param finite. */
gf_status gf_theory_chi(double *q_star, double *chi, const gf_activation *act,
                        double act_param, double sigma_w2, double sigma_b2);

/* sigma_w^2 = fan_in Var(W) (E[W^2] for a nonzero mean) of an init scheme for a weight
 * (fan_out, fan_in): He 2/(1+a^2) (fan_in mode), Xavier gain^2 2 fan_in/(fan_in+fan_out),
 * LeCun gain^2, orthogonal gain^2 fan_in/max(fan_in, fan_out), normal fan_in (std^2 +
 * mean^2), ... LSUV depends on data: GF_EUNSUPPORTED. The biases of init.h are constant
 * (init->bias), so sigma_b^2 = 0 for those networks. */
gf_status gf_theory_init_sigma_w2(double *sigma_w2, const gf_init *init, size_t fan_in,
                                  size_t fan_out);

#ifdef __cplusplus
}
#endif
#endif
