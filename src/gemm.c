/* src/gemm.c: C = alpha op(A) op(B) + beta C. Blocks of op(A) and op(B) are packed into
 * contiguous row-major panels, so every transpose case runs the same inner loop: a row
 * of C updated by a scalar times a row of the B panel, which the compiler vectorises. */
#include <string.h>

#include "internal.h"

/* Block sizes: a KC x NC panel of B stays in L2 while MC rows of A stream past it. The
 * packed panels live on the stack: 96 KiB in either precision (double halves KC). */
#if GF_REAL_IS_DOUBLE
enum { MC = 64, KC = 64, NC = 128 };
#else
enum { MC = 64, KC = 128, NC = 128 };
#endif

/* Element (i, p) of op(A), where A is stored row-major with leading dimension lda. */
static inline gf_real op_at(gf_trans t, const gf_real *a, size_t lda, size_t i, size_t p)
{
    return t == GF_NO_TRANS ? a[i * lda + p] : a[p * lda + i];
}

static void pack_a(gf_real *dst, gf_trans t, const gf_real *a, size_t lda, size_t i0, size_t mc,
                   size_t p0, size_t kc, gf_real alpha)
{
    for (size_t i = 0; i < mc; i++)
        for (size_t p = 0; p < kc; p++)
            dst[i * kc + p] = alpha * op_at(t, a, lda, i0 + i, p0 + p);
}

static void pack_b(gf_real *dst, gf_trans t, const gf_real *b, size_t ldb, size_t p0, size_t kc,
                   size_t j0, size_t nc)
{
    if (t == GF_NO_TRANS) {
        for (size_t p = 0; p < kc; p++)
            memcpy(dst + p * nc, b + (p0 + p) * ldb + j0, nc * sizeof(gf_real));
    } else {
        for (size_t p = 0; p < kc; p++)
            for (size_t j = 0; j < nc; j++)
                dst[p * nc + j] = b[(j0 + j) * ldb + p0 + p];
    }
}

/* C[0..mc, 0..nc) += A_panel (mc, kc) B_panel (kc, nc); four rows of C at a time, so each
 * row of the B panel is loaded once per four rows. */
static void panel_kernel(gf_real *c, size_t ldc, const gf_real *ap, const gf_real *bp,
                         size_t mc, size_t nc, size_t kc)
{
    size_t i = 0;
    for (; i + 4 <= mc; i += 4) {
        gf_real *c0 = c + i * ldc, *c1 = c0 + ldc, *c2 = c1 + ldc, *c3 = c2 + ldc;
        const gf_real *a0 = ap + i * kc;
        for (size_t p = 0; p < kc; p++) {
            const gf_real *brow = bp + p * nc;
            gf_real x0 = a0[p], x1 = a0[kc + p], x2 = a0[2 * kc + p], x3 = a0[3 * kc + p];
            for (size_t j = 0; j < nc; j++) {
                gf_real bj = brow[j];
                c0[j] += x0 * bj;
                c1[j] += x1 * bj;
                c2[j] += x2 * bj;
                c3[j] += x3 * bj;
            }
        }
    }
    for (; i < mc; i++) {
        gf_real *ci = c + i * ldc;
        for (size_t p = 0; p < kc; p++) {
            const gf_real *brow = bp + p * nc;
            gf_real x = ap[i * kc + p];
            for (size_t j = 0; j < nc; j++)
                ci[j] += x * brow[j];
        }
    }
}

static void scale_c(gf_real *c, size_t ldc, size_t m, size_t n, gf_real beta)
{
    for (size_t i = 0; i < m; i++) {
        gf_real *ci = c + i * ldc;
        if (beta == 0)
            memset(ci, 0, n * sizeof(gf_real)); /* beta = 0: old NaNs must not survive */
        else if (beta != 1)
            for (size_t j = 0; j < n; j++)
                ci[j] *= beta;
    }
}

void gf_gemm_raw(gf_trans trans_a, gf_trans trans_b, size_t m, size_t n, size_t k,
                 gf_real alpha, const gf_real *a, size_t lda, const gf_real *b, size_t ldb,
                 gf_real beta, gf_real *c, size_t ldc)
{
    /* Panels on the stack (see the block sizes above): small enough for any thread. */
    gf_real apack[MC * KC];
    gf_real bpack[KC * NC];

    scale_c(c, ldc, m, n, beta);
    if (alpha == 0 || k == 0)
        return;
    for (size_t j0 = 0; j0 < n; j0 += NC) {
        size_t nc = n - j0 < NC ? n - j0 : NC;
        for (size_t p0 = 0; p0 < k; p0 += KC) {
            size_t kc = k - p0 < KC ? k - p0 : KC;
            pack_b(bpack, trans_b, b, ldb, p0, kc, j0, nc);
            for (size_t i0 = 0; i0 < m; i0 += MC) {
                size_t mc = m - i0 < MC ? m - i0 : MC;
                pack_a(apack, trans_a, a, lda, i0, mc, p0, kc, alpha);
                panel_kernel(c + i0 * ldc + j0, ldc, apack, bpack, mc, nc, kc);
            }
        }
    }
}

/* Whether the storage of two tensors overlaps (an empty tensor overlaps nothing).
 * Compared as integers: relational operators on unrelated pointers are undefined. */
static int overlaps(const gf_tensor *x, const gf_tensor *y)
{
    size_t nx = gf_tensor_size(x), ny = gf_tensor_size(y);
    uintptr_t px = (uintptr_t)x->data, py = (uintptr_t)y->data;
    if (nx == 0 || ny == 0)
        return 0;
    return px < py + ny * sizeof(gf_real) && py < px + nx * sizeof(gf_real);
}

gf_status gf_gemm(gf_trans trans_a, gf_trans trans_b, gf_real alpha, const gf_tensor *a,
                  const gf_tensor *b, gf_real beta, gf_tensor *c)
{
    size_t m, k, kb, n;
    GF_CHECK_TENSOR(a, "gf_gemm");
    GF_CHECK_TENSOR(b, "gf_gemm");
    GF_CHECK_TENSOR(c, "gf_gemm");
    if ((unsigned)trans_a > GF_TRANS || (unsigned)trans_b > GF_TRANS)
        return gf_fail(GF_EINVAL, "gf_gemm: transpose flag must be GF_NO_TRANS or GF_TRANS");
    m = trans_a ? a->cols : a->rows;
    k = trans_a ? a->rows : a->cols;
    kb = trans_b ? b->cols : b->rows;
    n = trans_b ? b->rows : b->cols;
    if (k != kb)
        return gf_fail(GF_ESHAPE, "gf_gemm: op(A) is %zu x %zu but op(B) is %zu x %zu", m, k, kb,
                       n);
    if (c->rows != m || c->cols != n)
        return gf_fail(GF_ESHAPE, "gf_gemm: C is %zu x %zu, op(A) op(B) is %zu x %zu", c->rows,
                       c->cols, m, n);
    if (overlaps(c, a) || overlaps(c, b))
        return gf_fail(GF_EINVAL, "gf_gemm: C must not alias A or B");
    gf_gemm_raw(trans_a, trans_b, m, n, k, alpha, a->data, a->cols, b->data, b->cols, beta,
                c->data, c->cols);
    return GF_OK;
}
