/* src/core/checks.h: the argument checks the built-in layers share (core/checks.c),
 * so that every layer words its errors the same way. Not installed. */
#ifndef GRADFLOW_CORE_CHECKS_H
#define GRADFLOW_CORE_CHECKS_H

#include "gradflow/layer.h"

/* A feature count that a layer can hold: nonzero and at most GF_MAX_ELEMENTS. */
gf_status gf_check_features(const char *who, const char *what, size_t n);

/* The input x: (batch, l->in) with batch >= 1; *batch receives its row count. */
gf_status gf_check_input(const char *who, const gf_layer *l, const gf_tensor *x, size_t *batch);

/* The checks every forward pass shares: x (batch, in) with batch >= 1, y (batch, out);
 * *batch receives x's row count. */
gf_status gf_check_forward(const char *who, const gf_layer *l, const gf_tensor *x,
                           const gf_tensor *y, size_t *batch);

/* The checks every backward pass shares: x (batch, in), y (batch, out) if need_y or
 * given, dy (batch, out) and dx (batch, in) when not NULL. */
gf_status gf_check_backward(const char *who, const gf_layer *l, const gf_tensor *x,
                            const gf_tensor *y, int need_y, const gf_tensor *dy,
                            const gf_tensor *dx, size_t *batch);

/* A layer with a state of its own, a weight and a bias (norm, rnn): l and l->state set,
 * x (batch >= 1, in) with data, weight and bias bound (`params` names them in the
 * message); with backward, also dweight and dbias bound and dy, dx as gf_check_grads. */
gf_status gf_check_stateful(const char *who, const gf_layer *l, const gf_tensor *x,
                            const char *params, int backward, const gf_tensor *dy,
                            const gf_tensor *dx);

/* GF_ESTATE ("no forward pass of this batch") unless cached_rows == rows. */
gf_status gf_check_cached(const char *who, size_t cached_rows, size_t rows);

/* A parameter view the network should have bound: data set, shape (rows, cols). */
gf_status gf_check_bound(const char *who, const char *name, const gf_tensor *t, size_t rows,
                         size_t cols);

/* An unbound parameter view of shape (rows, cols): the network sets .data later. */
gf_tensor gf_unbound_view(size_t rows, size_t cols);

#endif
