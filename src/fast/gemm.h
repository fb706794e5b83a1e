/* src/fast/gemm.h: the two GEMMs behind gf_gemm_raw (gradflow/tensor.h), both with its
 * contract: C = alpha op(A) op(B) + beta C on row-major arrays with leading dimensions.
 * gf_gemm_raw runs gf_gemm_fast, or gf_gemm_ref in the reference build; both are here
 * so that a test can check that they agree in any build. */
#ifndef GRADFLOW_FAST_GEMM_H
#define GRADFLOW_FAST_GEMM_H

#include "gradflow/tensor.h"

/* The plain triple loop: each C[i][j] sums over p in order, in gf_real. */
void gf_gemm_ref(gf_trans trans_a, gf_trans trans_b, size_t m, size_t n, size_t k,
                 gf_real alpha, const gf_real *a, size_t lda, const gf_real *b, size_t ldb,
                 gf_real beta, gf_real *c, size_t ldc);

/* The blocked, register-tiled kernels (or CBLAS with -DGRADFLOW_BLAS=ON): the same
 * products, summed in another order. */
void gf_gemm_fast(gf_trans trans_a, gf_trans trans_b, size_t m, size_t n, size_t k,
                  gf_real alpha, const gf_real *a, size_t lda, const gf_real *b, size_t ldb,
                  gf_real beta, gf_real *c, size_t ldc);

#endif
