/* gradflow/tensor.h: dense row-major matrices (batch x features), GEMM, element-wise
 * operations, reductions and norms. Every shape is checked: a mismatch is GF_ESHAPE,
 * never undefined behaviour. Layout (row-major, contiguous) is described once, in
 * docs/file-formats.md. */
#ifndef GRADFLOW_TENSOR_H
#define GRADFLOW_TENSOR_H

#include "gradflow/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A rows x cols matrix; element (r, c) is data[r * cols + c]. data, rows and cols are all
 * there is to read. A tensor made by gf_tensor_new (or clone, from_array) also has a
 * capacity and data it owns; those live in the same allocation, behind this struct
 * (src/core/tensor_block.h), not here. What stays here is one pointer the library sets
 * and reads, because C cannot tell a view from a tensor it must free by its data, rows
 * and cols: `owner` is the tensor's own address for a tensor from gf_tensor_new, NULL for
 * a view (gf_tensor_view, a designated initialiser leaves it NULL). So a view is refused
 * by gf_tensor_resize_rows instead of corrupting memory, and a struct copy of a tensor is
 * a view of its data (it owns nothing, gf_tensor_free ignores it). Never set it. */
typedef struct gf_tensor {
    gf_real *data;     /* rows * cols values, row-major, contiguous */
    size_t rows;       /* first dimension: the batch, for activations */
    size_t cols;       /* second dimension: the features */
    const void *owner; /* the library's (see above): read and set by tensor.c only */
} gf_tensor;

/* Allocate a zeroed rows x cols tensor (one allocation). rows or cols zero: GF_EINVAL.
 * The caller owns *out and releases it with gf_tensor_free. */
gf_status gf_tensor_new(gf_tensor **out, size_t rows, size_t cols);

/* Allocate a copy of src. */
gf_status gf_tensor_clone(gf_tensor **out, const gf_tensor *src);

/* Allocate a rows x cols tensor holding a copy of values[0 .. rows*cols). */
gf_status gf_tensor_from_array(gf_tensor **out, const gf_real *values, size_t rows, size_t cols);

/* Release a tensor from gf_tensor_new/clone/from_array; NULL or a view does nothing. */
void gf_tensor_free(gf_tensor *t);

/* A non-owning view of data as rows x cols (nothing is allocated or copied). */
gf_tensor gf_tensor_view(gf_real *data, size_t rows, size_t cols);

/* Change the number of rows, keeping cols. A tensor from gf_tensor_new/clone/from_array
 * grows its storage only when rows * cols exceeds its capacity (contents are then not
 * kept) and never shrinks it. A view has no capacity the library knows of: it may only
 * shrink (rows * cols at most what it is now), else GF_EINVAL naming the view. */
gf_status gf_tensor_resize_rows(gf_tensor *t, size_t rows);

/* Number of elements, rows * cols; 0 for NULL. */
size_t gf_tensor_size(const gf_tensor *t);

/* dst = src; shapes must be equal. */
gf_status gf_tensor_copy(gf_tensor *dst, const gf_tensor *src);

/* Every element = value. */
gf_status gf_tensor_fill(gf_tensor *t, gf_real value);

/* Every element = 0. */
gf_status gf_tensor_zero(gf_tensor *t);

/* ---- GEMM ---------------------------------------------------------------------- */

typedef enum gf_trans { GF_NO_TRANS = 0, GF_TRANS = 1 } gf_trans;

/* C = alpha op(A) op(B) + beta C, op(X) = X or X^T. op(A) is (m, k), op(B) is (k, n),
 * C is (m, n); any mismatch is GF_ESHAPE. With beta == 0, C's old contents are ignored
 * (NaN in C does not leak into the result). C must not alias A or B. The arguments are
 * in gradflow's order (output, inputs, options), not BLAS's: C = A B^T is
 * gf_gemm(c, a, b, GF_NO_TRANS, GF_TRANS, 1, 0). */
gf_status gf_gemm(gf_tensor *c, const gf_tensor *a, const gf_tensor *b, gf_trans trans_a,
                  gf_trans trans_b, gf_real alpha, gf_real beta);

/* The kernel gf_gemm runs on this machine: "built-in avx512", "built-in avx2+fma",
 * "built-in portable", "cblas" when built with -DGRADFLOW_BLAS=ON, or "reference" (the
 * plain triple loop) when built with -DGRADFLOW_REFERENCE=ON. Static storage. */
const char *gf_gemm_backend(void);

/* ---- Element-wise -------------------------------------------------------------- */

/* out = a + b, out = a - b, out = a * b (element-wise); all three shapes equal. out may
 * alias a or b. */
gf_status gf_tensor_add(gf_tensor *out, const gf_tensor *a, const gf_tensor *b);
gf_status gf_tensor_sub(gf_tensor *out, const gf_tensor *a, const gf_tensor *b);
gf_status gf_tensor_mul(gf_tensor *out, const gf_tensor *a, const gf_tensor *b);

/* t = alpha t. */
gf_status gf_tensor_scale_inplace(gf_tensor *t, gf_real alpha);

/* y = y + alpha x; shapes equal. */
gf_status gf_tensor_axpy(gf_tensor *y, const gf_tensor *x, gf_real alpha);

/* t[r, :] += row[0, :] for every row r; row is (1, t->cols). The bias broadcast. */
gf_status gf_tensor_add_row_inplace(gf_tensor *t, const gf_tensor *row);

/* ---- Reductions and norms ------------------------------------------------------ */

/* out (1, cols) = sum over rows of a (column sums); beta scales out's old contents:
 * out = beta out + colsum(a). */
gf_status gf_tensor_sum_rows(gf_tensor *out, const gf_tensor *a, gf_real beta);

/* out (rows, 1) = sum over columns of a (row sums), out = beta out + rowsum(a). */
gf_status gf_tensor_sum_cols(gf_tensor *out, const gf_tensor *a, gf_real beta);

/* Sum of all elements, accumulated in double. NaN for NULL or empty. */
double gf_tensor_sum(const gf_tensor *t);

/* Sum of products of corresponding elements, in double; NaN when shapes differ. */
double gf_tensor_dot(const gf_tensor *a, const gf_tensor *b);

/* L2 (Frobenius) norm sqrt(sum x^2), accumulated in double without overflow or
 * underflow for finite values (float data: float partial sums over short blocks, about
 * 1e-6 relative, taken again in double where squares could under- or overflow; the
 * reference build, -DGRADFLOW_REFERENCE=ON, sums in double in order); NaN if any
 * element is NaN, infinity if one is infinite. NaN for NULL. */
double gf_tensor_norm2(const gf_tensor *t);

/* Max norm max |x|; NaN for NULL or if any element is NaN. */
double gf_tensor_norm_max(const gf_tensor *t);

/* Number of NaN or infinite elements; 0 for NULL. */
size_t gf_tensor_count_nonfinite(const gf_tensor *t);

/* The same three on a raw array of n values, for parameter blocks and views. An empty
 * array (n == 0, x may be NULL) has norm 0; a NULL x with n > 0 gives NaN (count: 0). */
double gf_array_norm2(const gf_real *x, size_t n);
double gf_array_sumsq(const gf_real *x, size_t n);
size_t gf_array_count_nonfinite(const gf_real *x, size_t n);

#ifdef __cplusplus
}
#endif
#endif
