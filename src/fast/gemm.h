/* src/fast/gemm.h: gf_gemm_raw, the unchecked GEMM behind gf_gemm (gradflow/tensor.h),
 * for the library's own callers (the layers) that have already checked shapes; and the
 * two GEMMs behind it, with its contract: C = alpha op(A) op(B) + beta C on row-major
 * arrays with leading dimensions. gf_gemm_raw runs gf_gemm_fast, or gf_gemm_ref in the
 * reference build; both are here so that a test can check that they agree in any build.
 * Not installed: programs use gf_gemm. */
#ifndef GRADFLOW_FAST_GEMM_H
#define GRADFLOW_FAST_GEMM_H

#include "gradflow/tensor.h"

/* C = alpha op(A) op(B) + beta C on raw row-major arrays with leading dimensions (the
 * row stride); op(A) is (m, k), op(B) (k, n), C (m, n). Nothing is checked. */
void gf_gemm_raw(gf_trans trans_a, gf_trans trans_b, size_t m, size_t n, size_t k,
                 gf_real alpha, const gf_real *a, size_t lda, const gf_real *b, size_t ldb,
                 gf_real beta, gf_real *c, size_t ldc);

/* The plain triple loop: each C[i][j] sums over p in order, in gf_real. */
void gf_gemm_ref(gf_trans trans_a, gf_trans trans_b, size_t m, size_t n, size_t k,
                 gf_real alpha, const gf_real *a, size_t lda, const gf_real *b, size_t ldb,
                 gf_real beta, gf_real *c, size_t ldc);

/* The blocked, register-tiled kernels (or CBLAS with -DGRADFLOW_BLAS=ON): the same
 * products, summed in another order. */
void gf_gemm_fast(gf_trans trans_a, gf_trans trans_b, size_t m, size_t n, size_t k,
                  gf_real alpha, const gf_real *a, size_t lda, const gf_real *b, size_t ldb,
                  gf_real beta, gf_real *c, size_t ldc);

/* ---- The built-in kernels give the same bits -------------------------------------------
 * Whichever kernel runs (AVX-512, AVX2+FMA, portable), each C[i][j] is computed the same
 * way: k cut into blocks of GF_GEMM_KC; in each block one accumulator, acc = fma(op(A)[i][p],
 * op(B)[p][j], acc) for p in order from acc = 0; C[i][j] = alpha acc for the first block
 * when beta = 0, else C[i][j] = (beta C[i][j] rounded, when beta != 1) + alpha acc, one
 * block after another. */
enum { GF_GEMM_KC = 128 };

/* ---- The sum of squares of C, taken as its rows are finished ---------------------------
 * A recorded training step takes ||dL/dW|| of each linear layer just after the product
 * that wrote dL/dW; at 1024 x 1024 weights (4 MiB, twice L2) that pass read it back from
 * L3, 0.4-3.6 % of a step at L (docs/performance.md, "Telemetry"). So a caller may ask the
 * next product this thread writes into a given C to take gf_stats_sumsq(C) on the way:
 * each chunk of GF_STATS_CHUNK values of C (fast/stats.h) is summed by
 * gf_stats_sumsq_fast as soon as the product has finished the rows that hold it, while
 * they are in cache, and the chunks' sums are added in chunk order from 0, as
 * gf_stats_sumsq adds them: the same bits. Served only by the built-in kernels, for a C
 * whose rows are contiguous (ldc = n), in one band or in bands of rows; `taken` says
 * whether it was, and the caller otherwise makes the pass itself. */
typedef struct gf_gemm_sumsq_request {
    const gf_real *c; /* the C asked about, with `count` values */
    size_t count;
    double sumsq; /* gf_stats_sumsq(c, count), once taken */
    int taken;
} gf_gemm_sumsq_request;

/* Ask (clearing req->taken) or, with NULL, stop asking, for the products this thread
 * runs next. One product serves a request, the first to write all of req->c. */
void gf_gemm_request_sumsq(gf_gemm_sumsq_request *req);

typedef enum gf_gemm_kernel {
    GF_GEMM_KERNEL_PORTABLE, /* C with fma: any CPU */
    GF_GEMM_KERNEL_AVX2,     /* AVX2 + FMA */
    GF_GEMM_KERNEL_AVX512    /* AVX-512F */
} gf_gemm_kernel;

/* gf_gemm_fast's built-in path with the given kernel (also in a CBLAS build), for tests
 * that compare the kernels in one process. Returns 1, or 0 without touching C when the
 * CPU cannot run that kernel. */
int gf_gemm_with_kernel(gf_gemm_kernel kernel, gf_trans trans_a, gf_trans trans_b, size_t m,
                        size_t n, size_t k, gf_real alpha, const gf_real *a, size_t lda,
                        const gf_real *b, size_t ldb, gf_real beta, gf_real *c, size_t ldc);

#endif
