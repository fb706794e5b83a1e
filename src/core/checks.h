/* src/core/checks.h: the argument checks the built-in layers share (core/checks.c),
 * so that every layer words its errors the same way. Not installed. */
#ifndef GRADFLOW_CORE_CHECKS_H
#define GRADFLOW_CORE_CHECKS_H

#include "gradflow/layer.h"

/* A feature count that a layer can hold: nonzero and at most GF_MAX_ELEMENTS. */
gf_status gf_check_features(const char *who, const char *what, size_t n);

/* The input x: (batch, l->in) with batch >= 1; *batch receives its row count. */
gf_status gf_check_input(const char *who, const gf_layer *l, const gf_tensor *x, size_t *batch);

/* The checks every backward pass shares: x (batch, in), y (batch, out) if need_y or
 * given, dy (batch, out) and dx (batch, in) when not NULL. */
gf_status gf_check_backward(const char *who, const gf_layer *l, const gf_tensor *x,
                            const gf_tensor *y, int need_y, const gf_tensor *dy,
                            const gf_tensor *dx, size_t *batch);

/* A parameter view the network should have bound: data set, shape (rows, cols). */
gf_status gf_check_bound(const char *who, const char *name, const gf_tensor *t, size_t rows,
                         size_t cols);

/* An unbound parameter view of shape (rows, cols): the network sets .data later. */
gf_tensor gf_unbound_view(size_t rows, size_t cols);

#endif
