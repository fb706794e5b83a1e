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

/* The prediction at finite depth, layer by layer, for a plain network of n linear
 * layers, h_0 = W_0 x and h_k = W_k phi(h_{k-1}) (no activation on the input x), whose
 * weights have sigma_w2[k] = fan_in Var(W_k) (gf_theory_init_sigma_w2; the first and the
 * last layer differ from the others), biases sigma_b^2, on inputs of mean square
 * input_ms = E[x_i^2] (averaged over the features). The variance map is iterated from
 * the actual input, not taken at its fixed point:
 *     q_0 = sigma_w2[0] input_ms + sigma_b^2,
 *     q_{k+1} = sigma_w2[k+1] E[phi(sqrt(q_k) z)^2] + sigma_b^2,
 *     factor[k] = sqrt(sigma_w2[k+1] E[phi'(sqrt(q_k) z)^2]),
 * the predicted ||dL/dh_k|| / ||dL/dh_{k+1}|| for k = 0 .. n-2 (n - 1 values). Near the
 * input, or in a shallow net, it differs from the infinite-depth sqrt(chi): softplus
 * under He shrinks the signal by about 0.85 per layer there, not 1. n >= 2; every
 * sigma_w2 > 0 and finite; input_ms >= 0 and finite. */
gf_status gf_theory_layer_factors(double *factor, const gf_activation *act, double act_param,
                                  const double *sigma_w2, size_t n, double sigma_b2,
                                  double input_ms);


/* ---- Two inputs: the correlation map and the depth scales (Schoenholz et al. 2017) --
 * Two inputs whose pre-activations u1, u2 have variance q and correlation c give, in
 * the next layer, the correlation
 *     c' = C(c) = (sigma_w^2 E[phi(u1) phi(u2)] + sigma_b^2) / V(q)
 * (at q = q* the denominator is q*). c = 1 is always a fixed point, stable when
 * chi_1 = chi <= 1 (ordered phase); otherwise (chaotic phase) the stable one is c* < 1.
 * Near the fixed points, deviations shrink by a factor per layer:
 *     q:  V'(q*) = chi_1 + sigma_w^2 E[phi''(u) phi(u)],       xi_q = -1/log V'(q*)
 *     c:  chi_c = sigma_w^2 E[phi'(u1) phi'(u2)] at (q*, c*),  xi_c = -1/log chi_c
 * chi_c = chi_1 in the ordered phase; chi_c -> 1 and xi_c -> infinity on the critical
 * line (tanh: sigma_w^2 = 1 at sigma_b = 0), and 6 xi_c is about the deepest trainable
 * network. When q* = 0 the quantities are their limits q -> 0+ (tanh below
 * sigma_w^2 = 1 at sigma_b = 0: V'(0) = chi_c = sigma_w^2). 2-D expectations by nested
 * adaptive Gauss-Kronrod quadrature, relative accuracy about 1e-10. */

/* E[g(u1) g(u2)] for centred Gaussian u1, u2 of variances q1, q2 >= 0 and correlation
 * c in [-1, 1]; g = phi (which = 0) or phi' (which = 1). */
gf_status gf_theory_gauss_mean_prod(double *out, const gf_activation *act, double act_param,
                                    double q1, double q2, double c, int which);

/* One step of the correlation map at variance q: *c_next = C(c), clamped to [-1, 1].
 * GF_EINVAL when V(q) = 0 (outputs of variance 0 have no correlation). */
gf_status gf_theory_c_map(double *c_next, const gf_activation *act, double act_param,
                          double sigma_w2, double sigma_b2, double q, double c);

typedef struct gf_depth_scales {
    double q_star; /* fixed point of the variance map from q_0 = 1 (gf_theory_chi) */
    double chi_1;  /* sigma_w^2 E[phi'(u)^2] at q*: the backward factor chi */
    double c_star; /* the stable fixed point of the correlation map at q* */
    double chi_c;  /* sigma_w^2 E[phi'(u1) phi'(u2)] at (q*, c*) */
    double dq;     /* V'(q*), the slope of the variance map at its fixed point */
    double xi_q;   /* -1/log dq: layers for a deviation of q from q* to shrink by e */
    double xi_c;   /* -1/log chi_c, the same for c; +infinity at chi_c = 1 */
} gf_depth_scales;

/* The depth scales of a deep network with activation act, weights of variance
 * sigma_w^2 / fan_in and biases of variance sigma_b^2. When the variance grows without
 * bound (q* = +infinity: ReLU with sigma_w^2 > 2, linear with sigma_w^2 >= 1 and a bias)
 * there is no fixed point: chi_1 is gf_theory_chi's and the rest is NaN. */
gf_status gf_theory_depth_scales(gf_depth_scales *out, const gf_activation *act,
                                 double act_param, double sigma_w2, double sigma_b2);

#ifdef __cplusplus
}
#endif
#endif
