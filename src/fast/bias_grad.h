/* src/fast/bias_grad.h: the linear layer's bias gradient, column sums of dy, 16 columns
 * at a time (bias_grad.c); its reference is bias_grad in src/layers/linear.c. */
#ifndef GRADFLOW_FAST_BIAS_GRAD_H
#define GRADFLOW_FAST_BIAS_GRAD_H

#include <stddef.h>

#include "gradflow/common.h"

/* db[j] += sum over rows r of dy[r * out + j] (db[j] = 0 + the sum when add is 0), each
 * column summed row after row in double: the reference's terms in the reference's
 * order, so the same bits. */
void gf_bias_grad_fast(gf_real *db, const gf_real *dy, size_t batch, size_t out, int add);

#endif
