/* src/fast/act_loops.h: the activation table's array loops (gf_activation.forward and
 * .deriv, see gradflow/act.h), the speed code of the rows of src/layers/act.c. Each
 * gf_act_NAME_forward(y, x, n, a) sets y[i] = f(x[i]) (y may alias x) and
 * gf_act_NAME_deriv(d, x, y, n, a) sets d[i] = f'(x[i]) given y = f(x) (d may alias x
 * or y), within the ulps stated in act_loops.c of the reference scalar f and df. */
#ifndef GRADFLOW_ACT_LOOPS_H
#define GRADFLOW_ACT_LOOPS_H

#include <stddef.h>

#include "gradflow/common.h"

#define GF_ACT_LOOPS(name)                                                               \
    void gf_act_##name##_forward(gf_real *y, const gf_real *x, size_t n, gf_real a);     \
    void gf_act_##name##_deriv(gf_real *d, const gf_real *x, const gf_real *y, size_t n, \
                               gf_real a);                                               \
    void gf_act_##name##_chain(gf_real *restrict d, gf_real *restrict dx,                \
                               const gf_real *restrict dy, const gf_real *x,             \
                               const gf_real *y, size_t n, gf_real a, int add)

GF_ACT_LOOPS(identity);
GF_ACT_LOOPS(sigmoid);
GF_ACT_LOOPS(tanh);
GF_ACT_LOOPS(relu);
GF_ACT_LOOPS(leaky_relu);
GF_ACT_LOOPS(softplus);
GF_ACT_LOOPS(elu);
GF_ACT_LOOPS(abs);
GF_ACT_LOOPS(softsign);
GF_ACT_LOOPS(relu_leaky_backward);

#undef GF_ACT_LOOPS

/* A row's array loops where it has them, else its scalar f and df (a row needs only f
 * and df: the loops are for speed). y[i] = f(x[i]); d[i] = f'(x[i]) given y = f(x). */
struct gf_activation;
void gf_act_forward(const struct gf_activation *act, gf_real *y, const gf_real *x, size_t n,
                    gf_real a);
void gf_act_deriv(const struct gf_activation *act, gf_real *d, const gf_real *x,
                  const gf_real *y, size_t n, gf_real a);

/* The chain rule of the activation layer's backward pass, in one loop with f': d[i] =
 * f'(x[i]) as gf_act_deriv gives it, and dx[i] = dx[i] + dy[i] d[i] (0 + dy[i] d[i]
 * when add is 0: dx was not zeroed), the same bits as gf_act_deriv followed by that
 * loop, which is what a row without array loops runs. d (the layer's chunk buffer), dx
 * and dy are separate arrays, and x and y are not written. */
void gf_act_deriv_chain(const struct gf_activation *act, gf_real *restrict d,
                        gf_real *restrict dx, const gf_real *restrict dy, const gf_real *x,
                        const gf_real *y, size_t n, gf_real a, int add);

#endif
