/* tests/test_tensor.h: what the three sources of the tensor test program share
 * (test_tensor.c: helpers, lifetime; test_tensor_gemm.c: GEMM; test_tensor_ops.c:
 * element-wise operations, reductions, norms, NULL inputs). */
#ifndef GRADFLOW_TEST_TENSOR_H
#define GRADFLOW_TEST_TENSOR_H

#include "testutil.h"

#include "../src/core/tensor_block.h" /* capacity and ownership: private */
#include "../src/fast/gemm.h"

/* ---- test_tensor.c ---- */
/* A tensor holding the given values (converted to gf_real). */
gf_tensor *tensor_of(size_t rows, size_t cols, const double *values);

/* Every element of t equals values[i] exactly (they are representable in float). */
void assert_values(const gf_tensor *t, const double *values, size_t n);

/* Bitwise equality of two arrays of gf_real (so that NaN == NaN). */
void assert_same_bits(const gf_real *a, const gf_real *b, size_t n);

/* ---- test_tensor_gemm.c ---- */
void gemm_matches_reference_all_transposes(void **state);

void gemm_large_shapes_cross_every_block(void **state);

void gemm_shapes_around_the_register_tiles(void **state);

void gemm_alpha_beta_variants(void **state);

void gemm_known_small_product(void **state);

void gemm_empty_dimensions(void **state);

void gemm_rejects_bad_shapes_and_aliasing(void **state);

void gemm_raw_with_leading_dimensions(void **state);

void gemm_sum_of_squares_only_where_asked(void **state);

/* gf_gemm_fast (the kernels gf_gemm_raw runs, or CBLAS) against gf_gemm_ref (the plain
 * triple loop of the reference build) in the same call. Both sum the k products in
 * gf_real, in different orders (blocks of KC, FMA in the AVX kernels), so each is within
 * gamma_k = k u / (1 - k u) of the exact sum times sum_p |a_ip b_pj|, plus a rounding
 * each for alpha, beta C and the last add: |fast - ref| <= 2 (k + 2) u (|alpha| sum_p
 * |a_ip b_pj| + |beta c_old|) = (k + 2) eps (...); we allow (k + 4) eps. With a
 * built-in kernel the fast result must also equal, bit for bit, the fused summation
 * every kernel promises (src/fast/gemm.h). */
void gemm_fast_agrees_with_reference(void **state);

/* The AVX2 and AVX-512 kernels (those the CPU has) give the same bytes as the portable
 * kernel, which gives the fused model's, over every transpose case and beta 0/1/other. */
void gemm_kernels_give_the_same_bits(void **state);
void gemm_wide_blocks_and_no_memory_give_the_same_bits(void **state);

/* ---- test_tensor_ops.c ---- */
void add_sub_mul_with_aliasing(void **state);

void scale_axpy_add_row(void **state);

void sum_rows_and_cols_with_beta(void **state);

void sum_rows_and_cols_match_reference(void **state);

void sums_accumulate_in_double(void **state);

void sum_and_dot(void **state);

void norm2_known_values(void **state);

void norm2_extreme_magnitudes(void **state);

void norm2_nan_and_inf(void **state);

void norm_max_and_count_nonfinite(void **state);

void null_inputs_never_crash(void **state);

#endif
