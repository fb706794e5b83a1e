/* src/fast/gemm_kernels.h: the micro-kernels behind the built-in GEMM (src/fast/gemm.c):
 * each multiplies a few rows of op(A) by a narrow panel of op(B) into a register tile of
 * C. One per instruction set, chosen at run time. Not installed. */
#ifndef GRADFLOW_FAST_GEMM_KERNELS_H
#define GRADFLOW_FAST_GEMM_KERNELS_H

#include "fast/gemm.h"

/* ---- The micro-kernel contract ------------------------------------------------------------
 * run(kc, a, rsa, csa, b, ldb, c, ldc, mr, nr, alpha, add):
 *   C[i, j] (+)= alpha sum_{p < kc} A(i, p) B(p, j)  for i < mr <= MR, j < nr <= NR,
 * adding to C when add is nonzero, else overwriting it (C is not read: beta = 0),
 * where A(i, p) = a[i rsa + p csa] (rows of A in place, or a packed strip) and
 * B(p, j) = b[p ldb + j]: NR readable values per p (a packed panel, zero beyond column
 * nr, or B itself). Rows i >= mr are read from row mr - 1 (real data, never stored), so a
 * short strip needs no padding.
 * The arithmetic, the same in every kernel so that they all give the same bits: one
 * accumulator per element of C, acc = 0, then acc = fma(A(i, p), B(p, j), acc) for p in
 * order (one rounding per product), then C[i, j] = C[i, j] + alpha acc (two roundings:
 * alpha acc, then the add), or alpha acc when add is zero. alpha acc is acc itself when
 * alpha is 1, so a kernel may skip that product then. */
typedef void gf_gemm_micro_fn(size_t kc, const gf_real *a, size_t rsa, size_t csa,
                              const gf_real *b, size_t ldb, gf_real *c, size_t ldc, size_t mr,
                              size_t nr, gf_real alpha, int add);

/* pack_bt(dst, b, ldb, kc, nr): one full panel of a transposed B, op(B)(p, j) = b[j ldb + p]
 * for p < kc, j < nr, written as dst[p nr + j] (kc rows of the panel's nr values). A copy
 * only: how it moves the values changes no result. */
typedef void gf_gemm_pack_bt_fn(gf_real *dst, const gf_real *b, size_t ldb, size_t kc,
                                size_t nr);

/* pack_a(dst, a, lda, kc): one full strip of a row-major A, A(i, p) = a[i lda + p] for
 * i < MR, p < kc, written as dst[p MR + i] (kc groups of the strip's MR values, the
 * layout the kernel reads with rsa = 1, csa = MR). A copy only. */
typedef void gf_gemm_pack_a_fn(gf_real *dst, const gf_real *a, size_t lda, size_t kc);

typedef struct gf_gemm_micro {
    const char *name;             /* what gf_gemm_backend reports */
    size_t mr, nr;                /* the register tile: MR rows by NR columns of C */
    gf_gemm_micro_fn *run;        /* the micro-kernel */
    gf_gemm_pack_bt_fn *pack_bt;  /* packs a panel of a transposed B */
    gf_gemm_pack_a_fn *pack_a;    /* packs a strip of a row-major A, or NULL: read in place */
} gf_gemm_micro;

/* The largest MR of any kernel (the packing buffer of a strip of op(A) is sized by it). */
enum { GF_GEMM_MR_MAX = 8 };

/* The kernel asked for, or NULL when this CPU (or this compiler) cannot run it. */
const gf_gemm_micro *gf_gemm_micro_if_supported(gf_gemm_kernel which);

/* The best kernel the CPU supports, or the lesser one the environment variable
 * GF_GEMM_KERNEL (portable, avx2, avx512) asks for, to compare or to test them all on
 * one machine. Decided on the first call and kept. */
const gf_gemm_micro *gf_gemm_micro_chosen(void);

#endif
