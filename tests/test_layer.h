/* tests/test_layer.h: what the two sources of the layer test program share
 * (test_layer.c: helpers, the linear layer; test_layer_act.c: the activation layer and
 * PReLU). */
#ifndef GRADFLOW_TEST_LAYER_H
#define GRADFLOW_TEST_LAYER_H

#include "testutil.h"

#include "gradflow/layer.h"
#include "gradflow/telemetry.h"

#include "../src/fast/activation_fused.h"

/* ---- test_layer.c ---- */
gf_tensor mat(gf_real *data, size_t rows, size_t cols);

/* Fixed, non-trivial loss weights c_i in [-0.4, 1.4]: unequal, some negative. */
double coef(size_t i);

/* dy = dL/dy = c for L = sum c_i y_i. */
void fill_coef(gf_tensor *dy);

void fill_off_kink(gf_real *v, size_t n, double scale, size_t seed);

/* Every analytic gradient[i] against the central difference of the value at[i]; the
 * gradient must not be all zero (a check that passes on zeros proves nothing). */
void check_against_fd(const char *what, gf_layer *l, const gf_tensor *x, gf_tensor *y,
                      gf_real *at, const gf_real *grad, size_t n);

/* Point the layer's parameter views at test-owned arrays, as the network does, then
 * reset (PReLU slopes) and reserve private buffers. b and db may be NULL (no bias). */
void bind(gf_layer *l, gf_real *w, gf_real *b, gf_real *dw, gf_real *db, size_t batch);

gf_record sentinel_record(void);

/* record() fills only the derivative statistics; the engine owns the rest. */
void assert_generic_untouched(const gf_record *r);

/* ---- test_layer_act.c ---- */
/* Every row of the table through the activation layer, with no per-row code: dx
 * against central differences of the layer's forward pass, and against c_i df(x_i)
 * from the table. A surrogate row (its df is a chosen signal, not f') is held to the
 * second only: its backward pass is not the derivative of its forward pass by design. */
void activation_backward_every_row(void **state);

void activation_backward_accumulates(void **state);
/* With l->overwrite, both variants write dx: the bits of adding into zeros. */
void activation_backward_overwrites(void **state);

void activation_bad_shapes(void **state);

/* The fused (fast) layer's state is allocated once, by the constructor (a failure there
 * is GF_ENOMEM and leaves nothing behind); forward and backward allocate nothing, at any
 * batch size: f' is evaluated chunk by chunk into a fixed buffer. Everything is released
 * by gf_layer_release. The reference layer keeps no state at all. Both variants are
 * built explicitly, so that the reference build checks them too. */
void activation_memory(void **state);

/* The derivative statistics taken inside a recorded backward pass equal, bit for bit,
 * those record() computes on its own, for rows shorter and longer than a chunk, for
 * every activation of the table; the chain rule gives the same dx either way. */
void recorded_backward_matches_record(void **state);

/* ReLU on a symmetric input, built so that: columns 0 and 1 are negative on every row
 * (dead), columns 2 and 3 positive on every row, columns 4 and 5 alternate in sign.
 * Half of all values are positive: mean |f'| = 1/2, dead_frac = 2/6, no saturation. */
void record_relu_dead_fraction(void **state);

/* Sigmoid at |x| = 20: f' ~ 2e-9, far below 5% of 1/4: every value saturated. At x = 0
 * f' = 1/4, the bound itself: none. Half and half: one half. Never dead (f' > 0). */
void record_sigmoid_saturation(void **state);

void prelu_fields_and_reset(void **state);

void prelu_backward_matches_central_differences(void **state);

void prelu_bad_shapes(void **state);

/* Slopes {0, 0.5, 0, 1}. Column 0: x < 0 on every row and slope 0: dead. Column 1:
 * x < 0 everywhere but slope 0.5: alive. Column 2: slope 0 but x > 0 on one row: alive.
 * Column 3: mixed. dead_frac = 1/4; mean |f'| by hand below. */
void prelu_record(void **state);

#endif
