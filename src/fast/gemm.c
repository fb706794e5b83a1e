/* src/fast/gemm.c: C = alpha op(A) op(B) + beta C. First the reference, a plain triple
 * loop (what the reference build, -DGRADFLOW_REFERENCE=ON, runs). Then the fast path: a
 * blocked GEMM in the manner of Goto and BLIS: op(B) is packed a block at a time into
 * narrow panels, and a register-tiled micro-kernel multiplies a few rows of op(A) by one
 * panel. The kernel is picked at run time (AVX-512, AVX2+FMA, or portable C), so a
 * generic build is fast everywhere. A large product is split over threads by bands of
 * C (see Threads below). With -DGRADFLOW_BLAS=ON, the fast path calls cblas_sgemm/dgemm
 * instead (and the CBLAS library's own threads). Leaves out Strassen-like tricks;
 * docs/performance.md has the figures. */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "fast/fast.h"
#include "fast/gemm.h"
#include "fast/pool.h"

/* ---- The reference ---------------------------------------------------------------------
 * C[i][j] = alpha sum_p op(A)[i][p] op(B)[p][j] + beta C[i][j], the sum over p in order,
 * in gf_real. gf_real rather than double because it is the arithmetic the fast kernels
 * do (their accumulators are gf_real too, only added in another order): the reference
 * build then runs the library at the precision it ships with, and a float-build test
 * cannot pass on the reference only because its sums were more precise. Both paths
 * keep the BLAS contract: beta = 0 ignores C's old values (NaN in C does not survive),
 * alpha = 0 reads neither A nor B. */
void gf_gemm_ref(gf_trans trans_a, gf_trans trans_b, size_t m, size_t n, size_t k,
                 gf_real alpha, const gf_real *a, size_t lda, const gf_real *b, size_t ldb,
                 gf_real beta, gf_real *c, size_t ldc)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            gf_real *cij = c + i * ldc + j;
            gf_real old = beta == 0 ? 0 : beta * *cij;
            gf_real sum = 0;
            if (alpha == 0) {
                *cij = old;
                continue;
            }
            for (size_t p = 0; p < k; p++) {
                gf_real aip = trans_a ? a[p * lda + i] : a[i * lda + p]; /* op(A)[i][p] */
                gf_real bpj = trans_b ? b[j * ldb + p] : b[p * ldb + j]; /* op(B)[p][j] */
                sum += aip * bpj;
            }
            *cij = alpha * sum + old;
        }
}

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define GF_X86_KERNELS 1
#include <immintrin.h>
#else
#define GF_X86_KERNELS 0
#endif

#if !defined(__STDC_NO_ATOMICS__)
#include <stdatomic.h>
#endif
#include <stdlib.h>

#if GF_USE_CBLAS
#include <cblas.h>
#endif

/* ---- Blocking ---------------------------------------------------------------------------
 * The loops, outermost first (jc, pc, ir, jr), and where each operand lives:
 *   jc: NC columns of C at a time;
 *   pc: KC of the k dimension: op(B)[pc:pc+KC, jc:jc+NC] is packed into NC/NR panels of
 *       KC x NR values (64 KiB, held in L2);
 *   ir: MR rows of C: the MR x KC strip of op(A) (4-8 KiB, held in L1) is read in place
 *       when A is row-major (each row a sequential stream), else packed;
 *   jr: the micro-kernel adds that strip times one B panel into an MR x NR tile of C.
 * Small operands are read in place instead (see SMALL below). The packing buffers live
 * on the stack: 72 KiB at most, less than the smallest thread stacks in common use
 * (musl's 128 KiB), and gf_gemm_raw cannot fail. With KC = 128 a kernel call does 128
 * rank-1 updates of its tile for one load and store of the tile.
 * KC is part of the result, not only of the speed: each block along k is summed on its
 * own and then added into C, so every kernel uses the same KC (GF_GEMM_KC, gemm.h). MR,
 * NR and NC only decide which elements are computed together, never how. */
enum { KC = GF_GEMM_KC, MR_MAX = 8 };
#if GF_REAL_IS_DOUBLE
enum { NC = 64 };
#else
enum { NC = 128 };
#endif

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
 * alpha acc, then the add), or alpha acc when add is zero. */
typedef void kernel_fn(size_t kc, const gf_real *a, size_t rsa, size_t csa, const gf_real *b,
                       size_t ldb, gf_real *c, size_t ldc, size_t mr, size_t nr, gf_real alpha,
                       int add);

typedef struct gemm_kernel {
    const char *name; /* what gf_gemm_backend reports */
    size_t mr, nr;    /* the register tile: MR rows by NR columns of C */
    kernel_fn *run;
} gemm_kernel;

/* Add (or copy) an MR x NR tile (row stride nr_max) into the mr x nr corner of C. */
static void add_tile(gf_real *c, size_t ldc, const gf_real *tile, size_t nr_max, size_t mr,
                     size_t nr, int add)
{
    for (size_t i = 0; i < mr; i++)
        for (size_t j = 0; j < nr; j++)
            c[i * ldc + j] = add ? c[i * ldc + j] + tile[i * nr_max + j] : tile[i * nr_max + j];
}

/* ---- Portable kernel: 4 x 8 (float) or 4 x 4 (double) ---------------------------------------
 * The same arithmetic as the x86 kernels, one fused multiply-add per product: fma
 * rounds a b + acc once, as VFMADD does, so every kernel gives the same bits (a b + acc
 * written out would round twice; ISO C mode never contracts it). Where the target has
 * FMA (aarch64, x86 with -mfma) fma is one instruction and the loops vectorise; elsewhere
 * it is a libm call, slower but exact: this kernel is the fallback for CPUs without AVX2. */
#if GF_REAL_IS_DOUBLE
#define real_fma fma
#elif defined(__FMA__) || defined(__aarch64__)
#define real_fma fmaf
#else
#define real_fma fma_by_odd_rounding
/* fmaf(a, b, c) without an FMA unit, inline (libm's fmaf on such a CPU costs 40 times
 * more, through its rounding-mode changes): a b is exact in double (24 + 24 bits < 53),
 * s = a b + c rounded to double has the error e = (a b + c) - s, given exactly by
 * TwoSum, and s rounded "to odd" (an inexact sum gets the neighbour with an odd last
 * bit, the one towards e) then to float is a b + c rounded once (Boldo and Melquiond,
 * 2008: rounding to odd with 2 bits or more to spare, then to nearest, is correct
 * rounding, also where the float result is subnormal). NaN or infinity: e is NaN and
 * s is the answer. */
static inline float fma_by_odd_rounding(float a, float b, float c)
{
    double p = (double)a * b, s = p + c, t = s - p;
    double e = (p - (s - t)) + ((double)c - t);
    uint64_t u;
    memcpy(&u, &s, sizeof u);
    if (e != 0 && !isnan(e) && (u & 1) == 0)
        u += (e > 0) == (s > 0) ? 1 : UINT64_MAX; /* one ulp up or down in magnitude */
    memcpy(&s, &u, sizeof s);
    return (float)s;
}
#endif
enum { P_MR = 4, P_NR = 32 / (int)sizeof(gf_real) };

static void kernel_portable(size_t kc, const gf_real *a, size_t rsa, size_t csa,
                            const gf_real *b, size_t ldb, gf_real *c, size_t ldc, size_t mr,
                            size_t nr, gf_real alpha, int add)
{
    gf_real acc[P_MR][P_NR] = {{0}}, tile[P_MR * P_NR];
    const gf_real *row[P_MR];
    for (size_t i = 0; i < P_MR; i++)
        row[i] = a + (i < mr ? i : mr - 1) * rsa;
    for (size_t p = 0; p < kc; p++)
        for (size_t i = 0; i < P_MR; i++) {
            gf_real ai = row[i][p * csa];
            for (size_t j = 0; j < P_NR; j++)
                acc[i][j] = real_fma(ai, b[p * ldb + j], acc[i][j]);
        }
    for (size_t i = 0; i < P_MR; i++)
        for (size_t j = 0; j < P_NR; j++)
            tile[i * P_NR + j] = alpha * acc[i][j];
    add_tile(c, ldc, tile, P_NR, mr, nr, add);
}

static const gemm_kernel portable = {"built-in portable", P_MR, P_NR, kernel_portable};

#if GF_X86_KERNELS
/* ---- SIMD vocabulary: the same names for float and double --------------------------------
 * vN: a vector of N bits of gf_real; WN: gf_real lanes in it. mN: a lane mask, from
 * vN_first(n): the first n lanes (any n; n >= WN is every lane). Masked loads and stores
 * touch only the lanes in the mask, so edge tiles need no buffer. */
#if GF_REAL_IS_DOUBLE
typedef __m256d v256;
typedef __m256i m256;
typedef __m512d v512;
typedef __mmask8 m512;
#define W256 4
#define W512 8
#define v256_zero _mm256_setzero_pd
#define v256_load _mm256_loadu_pd
#define v256_set1 _mm256_set1_pd
#define v256_fmadd _mm256_fmadd_pd
#define v256_mul _mm256_mul_pd
#define v256_add _mm256_add_pd
#define v256_mask_load _mm256_maskload_pd
#define v256_mask_store _mm256_maskstore_pd
#define v512_zero _mm512_setzero_pd
#define v512_load _mm512_loadu_pd
#define v512_set1 _mm512_set1_pd
#define v512_fmadd _mm512_fmadd_pd
#define v512_mul _mm512_mul_pd
#define v512_add _mm512_add_pd
#define v512_mask_load _mm512_maskz_loadu_pd
#define v512_mask_store _mm512_mask_storeu_pd

__attribute__((target("avx2"))) static inline m256 v256_first(size_t n)
{
    long long k = n < W256 ? (long long)n : W256;
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(k), _mm256_setr_epi64x(0, 1, 2, 3));
}
#else
typedef __m256 v256;
typedef __m256i m256;
typedef __m512 v512;
typedef __mmask16 m512;
#define W256 8
#define W512 16
#define v256_zero _mm256_setzero_ps
#define v256_load _mm256_loadu_ps
#define v256_set1 _mm256_set1_ps
#define v256_fmadd _mm256_fmadd_ps
#define v256_mul _mm256_mul_ps
#define v256_add _mm256_add_ps
#define v256_mask_load _mm256_maskload_ps
#define v256_mask_store _mm256_maskstore_ps
#define v512_zero _mm512_setzero_ps
#define v512_load _mm512_loadu_ps
#define v512_set1 _mm512_set1_ps
#define v512_fmadd _mm512_fmadd_ps
#define v512_mul _mm512_mul_ps
#define v512_add _mm512_add_ps
#define v512_mask_load _mm512_maskz_loadu_ps
#define v512_mask_store _mm512_mask_storeu_ps

__attribute__((target("avx2"))) static inline m256 v256_first(size_t n)
{
    int k = n < W256 ? (int)n : W256;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
#endif

static inline m512 v512_first(size_t n)
{
    return n >= W512 ? (m512)-1 : (m512)((1u << n) - 1);
}

/* ---- AVX2 + FMA kernel: 6 x 2 vectors ------------------------------------------------------
 * 12 accumulators, 2 B vectors and a broadcast fill 15 of the 16 ymm registers. */
enum { A2_MR = 6, A2_NR = 2 * W256 };

__attribute__((target("avx2,fma"))) static void
kernel_avx2(size_t kc, const gf_real *a, size_t rsa, size_t csa, const gf_real *b, size_t ldb,
            gf_real *c, size_t ldc, size_t mr, size_t nr, gf_real alpha, int add)
{
    v256 acc[A2_MR][2];
    const gf_real *row[A2_MR];
    for (size_t i = 0; i < A2_MR; i++) {
        row[i] = a + (i < mr ? i : mr - 1) * rsa;
        acc[i][0] = acc[i][1] = v256_zero();
    }
    for (size_t p = 0; p < kc; p++) {
        v256 b0 = v256_load(b + p * ldb), b1 = v256_load(b + p * ldb + W256);
        for (size_t i = 0; i < A2_MR; i++) {
            v256 ai = v256_set1(row[i][p * csa]);
            acc[i][0] = v256_fmadd(ai, b0, acc[i][0]);
            acc[i][1] = v256_fmadd(ai, b1, acc[i][1]);
        }
    }
    /* C (+)= alpha acc on the mr x nr corner. */
    v256 va = v256_set1(alpha);
    m256 m0 = v256_first(nr), m1 = v256_first(nr > W256 ? nr - W256 : 0);
    for (size_t i = 0; i < A2_MR; i++) {
        gf_real *ci = c + i * ldc;
        v256 c0 = v256_mul(va, acc[i][0]), c1 = v256_mul(va, acc[i][1]);
        if (i >= mr)
            break;
        if (add) {
            c0 = v256_add(v256_mask_load(ci, m0), c0);
            c1 = v256_add(v256_mask_load(ci + W256, m1), c1);
        }
        v256_mask_store(ci, m0, c0);
        v256_mask_store(ci + W256, m1, c1);
    }
}

/* ---- AVX-512 kernel: 8 x 2 vectors ---------------------------------------------------------
 * 16 accumulators: enough independent FMA chains to hide the FMA latency on two ports,
 * and each broadcast of A feeds two FMAs. The body is kernel_avx2's with 512-bit vectors
 * and 8 rows, a deliberate pair: C has no type generic over vector widths, and a shared
 * macro would hide the kernel a reader came to see. */
enum { A5_MR = 8, A5_NR = 2 * W512 };

__attribute__((target("avx512f"))) static void
kernel_avx512(size_t kc, const gf_real *a, size_t rsa, size_t csa, const gf_real *b,
              size_t ldb, gf_real *c, size_t ldc, size_t mr, size_t nr, gf_real alpha, int add)
{
    v512 acc[A5_MR][2];
    const gf_real *row[A5_MR];
    for (size_t i = 0; i < A5_MR; i++) {
        row[i] = a + (i < mr ? i : mr - 1) * rsa;
        acc[i][0] = acc[i][1] = v512_zero();
    }
    for (size_t p = 0; p < kc; p++) {
        v512 b0 = v512_load(b + p * ldb), b1 = v512_load(b + p * ldb + W512);
        for (size_t i = 0; i < A5_MR; i++) {
            v512 ai = v512_set1(row[i][p * csa]);
            acc[i][0] = v512_fmadd(ai, b0, acc[i][0]);
            acc[i][1] = v512_fmadd(ai, b1, acc[i][1]);
        }
    }
    /* C (+)= alpha acc on the mr x nr corner. */
    v512 va = v512_set1(alpha);
    m512 m0 = v512_first(nr), m1 = v512_first(nr > W512 ? nr - W512 : 0);
    for (size_t i = 0; i < A5_MR; i++) {
        gf_real *ci = c + i * ldc;
        v512 c0 = v512_mul(va, acc[i][0]), c1 = v512_mul(va, acc[i][1]);
        if (i >= mr)
            break;
        if (add) {
            c0 = v512_add(v512_mask_load(m0, ci), c0);
            c1 = v512_add(v512_mask_load(m1, ci + W512), c1);
        }
        v512_mask_store(ci, m0, c0);
        v512_mask_store(ci + W512, m1, c1);
    }
}

static const gemm_kernel avx2 = {"built-in avx2+fma", A2_MR, A2_NR, kernel_avx2};
static const gemm_kernel avx512 = {"built-in avx512", A5_MR, A5_NR, kernel_avx512};
#endif /* GF_X86_KERNELS */

/* ---- Choosing the kernel ---------------------------------------------------------------------
 * The best kernel the CPU supports; the environment variable GF_GEMM_KERNEL (portable,
 * avx2, avx512) can ask for a lesser one, to compare or to test them all on one machine.
 * Decided on the first call and kept (a data-race-free cache of a fact about the CPU). */

/* The kernel asked for, or NULL when this CPU (or this compiler) cannot run it. */
static const gemm_kernel *kernel_if_supported(gf_gemm_kernel which)
{
    if (which == GF_GEMM_KERNEL_PORTABLE)
        return &portable;
#if GF_X86_KERNELS
    __builtin_cpu_init();
    if (which == GF_GEMM_KERNEL_AVX2 && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma"))
        return &avx2;
    if (which == GF_GEMM_KERNEL_AVX512 && __builtin_cpu_supports("avx512f"))
        return &avx512;
#endif
    return NULL;
}

static const gemm_kernel *pick_kernel(void)
{
    const char *want = getenv("GF_GEMM_KERNEL");
    const gemm_kernel *best = kernel_if_supported(GF_GEMM_KERNEL_AVX512);
    const gemm_kernel *avx2_or_less = kernel_if_supported(GF_GEMM_KERNEL_AVX2);
    if (avx2_or_less == NULL)
        avx2_or_less = &portable;
    if (best == NULL)
        best = avx2_or_less;
    if (want != NULL && strcmp(want, "avx2") == 0)
        return avx2_or_less;
    if (want != NULL && strcmp(want, "portable") == 0)
        return &portable;
    return best;
}

static const gemm_kernel *the_kernel(void)
{
#if !defined(__STDC_NO_ATOMICS__)
    static _Atomic(const gemm_kernel *) chosen;
    const gemm_kernel *k = atomic_load_explicit(&chosen, memory_order_acquire);
    if (k == NULL) {
        k = pick_kernel();
        atomic_store_explicit(&chosen, k, memory_order_release);
    }
    return k;
#else
    return pick_kernel();
#endif
}

/* ---- Packing -------------------------------------------------------------------------------- */

/* Copy n values, n usually a kernel's MR or NR: with the count a constant the compiler
 * copies inline (a call to memcpy per panel row cost more than the copy). */
static inline void copy_short(gf_real *dst, const gf_real *src, size_t n)
{
    switch (n) {
    case 4: memcpy(dst, src, 4 * sizeof(gf_real)); break;
    case 6: memcpy(dst, src, 6 * sizeof(gf_real)); break;
    case 8: memcpy(dst, src, 8 * sizeof(gf_real)); break;
    case 16: memcpy(dst, src, 16 * sizeof(gf_real)); break;
    case 32: memcpy(dst, src, 32 * sizeof(gf_real)); break;
    default: memcpy(dst, src, n * sizeof(gf_real)); break;
    }
}

/* op(B)[p0:p0+kc, j0:j0+nc] into panels of nr columns: panel q holds columns
 * j0 + q nr ... as kc rows of nr values (zero past column nc). */
static void pack_b(gf_real *dst, gf_trans t, const gf_real *b, size_t ldb, size_t p0, size_t kc,
                   size_t j0, size_t nc, size_t nr)
{
    for (size_t q = 0; q < nc; q += nr, dst += kc * nr) {
        size_t w = nc - q < nr ? nc - q : nr;
        if (t == GF_NO_TRANS) {
            const gf_real *src = b + p0 * ldb + j0 + q;
            for (size_t p = 0; p < kc; p++) {
                if (w == nr) {
                    copy_short(dst + p * nr, src + p * ldb, nr);
                } else {
                    memcpy(dst + p * nr, src + p * ldb, w * sizeof(gf_real));
                    memset(dst + p * nr + w, 0, (nr - w) * sizeof(gf_real));
                }
            }
        } else {
            /* op(B)(p, j) = B[j][p]: a transpose. Four rows of B at a time, read along
             * p, so that each p writes four adjacent values (one vector store). */
            const gf_real *src = b + (j0 + q) * ldb + p0;
            size_t j = 0;
            for (; j + 4 <= w; j += 4)
                for (size_t p = 0; p < kc; p++) {
                    gf_real *d = dst + p * nr + j;
                    d[0] = src[j * ldb + p];
                    d[1] = src[(j + 1) * ldb + p];
                    d[2] = src[(j + 2) * ldb + p];
                    d[3] = src[(j + 3) * ldb + p];
                }
            for (; j < w; j++)
                for (size_t p = 0; p < kc; p++)
                    dst[p * nr + j] = src[j * ldb + p];
            for (j = w; j < nr; j++)
                for (size_t p = 0; p < kc; p++)
                    dst[p * nr + j] = 0;
        }
    }
}

/* op(A)[i0:i0+mr, p0:p0+kc] for A stored transposed (op(A)(i, p) = A[p][i]): kc groups of
 * mr values, a copy of mr contiguous values per p. */
static void pack_a_trans(gf_real *dst, const gf_real *a, size_t lda, size_t i0, size_t mr,
                         size_t p0, size_t kc)
{
    for (size_t p = 0; p < kc; p++)
        copy_short(dst + p * mr, a + (p0 + p) * lda + i0, mr);
}

/* ---- The blocked product: C = alpha op(A) op(B) (+ C when add_to_c) ------------------------ */

/* Small operands are read in place rather than packed: packing exists to keep a large
 * operand's rows from evicting each other in cache (rows a power of two apart share
 * cache sets), which cannot happen to a block of SMALL bytes, and for the small GEMMs of
 * narrow networks the copy would cost as much as the product. */
enum { SMALL = 64 * 1024 };

static void gemm_blocked(const gemm_kernel *kern, gf_trans ta, gf_trans tb, size_t m, size_t n,
                         size_t k, gf_real alpha, const gf_real *a, size_t lda, const gf_real *b,
                         size_t ldb, gf_real *c, size_t ldc, int add_to_c)
{
    _Alignas(64) gf_real bpack[KC * NC];
    _Alignas(64) gf_real apack[MR_MAX * KC];
    size_t mr = kern->mr, nr = kern->nr;
    int b_in_place = tb == GF_NO_TRANS && k * ldb <= SMALL / sizeof(gf_real);
    int a_in_place = ta == GF_NO_TRANS || k * lda <= SMALL / sizeof(gf_real);

    for (size_t jc = 0; jc < n; jc += NC) {
        size_t nc = n - jc < NC ? n - jc : NC;
        size_t full = b_in_place ? nc / nr * nr : 0; /* panels of B read in place */
        for (size_t pc = 0; pc < k; pc += KC) {
            size_t kc = k - pc < KC ? k - pc : KC;
            int add = add_to_c || pc > 0; /* the first block along k overwrites C */
            if (full < nc)
                pack_b(bpack + full * kc, tb, b, ldb, pc, kc, jc + full, nc - full, nr);
            for (size_t ir = 0; ir < m; ir += mr) {
                size_t rows = m - ir < mr ? m - ir : mr;
                const gf_real *strip = a + ir * lda + pc; /* row-major A: read in place */
                size_t rsa = lda, csa = 1;
                if (ta == GF_TRANS) {
                    strip = a + pc * lda + ir, rsa = 1, csa = lda;
                    if (!a_in_place) {
                        pack_a_trans(apack, a, lda, ir, rows, pc, kc);
                        strip = apack, csa = rows;
                    }
                }
                for (size_t jr = 0; jr < nc; jr += nr) {
                    size_t cols = nc - jr < nr ? nc - jr : nr;
                    gf_real *ct = c + ir * ldc + jc + jr;
                    if (jr < full)
                        kern->run(kc, strip, rsa, csa, b + pc * ldb + jc + jr, ldb, ct, ldc,
                                  rows, cols, alpha, add);
                    else
                        kern->run(kc, strip, rsa, csa, bpack + jr * kc, nr, ct, ldc, rows, cols,
                                  alpha, add);
                }
            }
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

/* C = alpha op(A) op(B) + beta C with a built-in kernel, for m, n > 0. beta C is
 * rounded once, before the products are added (the same in every kernel). */
static void gemm_built_in(const gemm_kernel *kern, gf_trans ta, gf_trans tb, size_t m,
                          size_t n, size_t k, gf_real alpha, const gf_real *a, size_t lda,
                          const gf_real *b, size_t ldb, gf_real beta, gf_real *c, size_t ldc)
{
    if (alpha == 0 || k == 0) {
        scale_c(c, ldc, m, n, beta);
        return;
    }
    /* beta = 0: the kernel overwrites C (never reading it, so old NaNs cannot survive)
     * instead of a pass that zeroes it first. */
    if (beta != 0 && beta != 1)
        scale_c(c, ldc, m, n, beta);
    gemm_blocked(kern, ta, tb, m, n, k, alpha, a, lda, b, ldb, c, ldc, beta != 0);
}

/* ---- Threads ------------------------------------------------------------------------------
 * A large product is cut into bands of C: bands of rows (of op(A) and C) when C is taller
 * than wide, else bands of columns (of op(B) and C), each a multiple of the kernel's tile
 * and each run by gemm_built_in on its own thread. Every element of C is still computed
 * as gemm.h says, whatever band it falls in (k is never split), so the bits do not depend
 * on the number of threads. Each band packs its own blocks of B (and of A): the
 * duplicated packing is a few per cent of a band's work at the sizes that are split.
 * GEMM_MIN_PART multiply-adds per band at least, so that a product is split from about
 * n = 320 (square): measured on a shared 2-core machine, 2 threads took 1.15-1.2 times
 * as long as 1 at n = 128 and 160 (bands of 1-2 M), 0.8-1.3 times at n = 256, and
 * 0.6-0.7 times at n = 512 (docs/performance.md, "Threads"). */
#define GEMM_MIN_PART (1u << 24)

typedef struct gemm_job {
    const gemm_kernel *kern;
    gf_trans ta, tb;
    size_t m, n, k;
    gf_real alpha, beta;
    const gf_real *a, *b;
    gf_real *c;
    size_t lda, ldb, ldc;
    int by_rows; /* bands of rows, else of columns */
} gemm_job;

static void gemm_band(void *arg, size_t part, size_t parts)
{
    const gemm_job *j = arg;
    size_t unit = j->by_rows ? j->kern->mr : j->kern->nr;
    size_t len = j->by_rows ? j->m : j->n;
    size_t tiles = (len + unit - 1) / unit;
    size_t lo = tiles * part / parts * unit, hi = tiles * (part + 1) / parts * unit;
    const gf_real *a = j->a, *b = j->b;
    if (hi > len)
        hi = len;
    if (lo >= hi)
        return;
    if (j->by_rows) {
        a += j->ta == GF_NO_TRANS ? lo * j->lda : lo; /* op(A)[lo:hi, :] */
        gemm_built_in(j->kern, j->ta, j->tb, hi - lo, j->n, j->k, j->alpha, a, j->lda, b,
                      j->ldb, j->beta, j->c + lo * j->ldc, j->ldc);
    } else {
        b += j->tb == GF_NO_TRANS ? lo : lo * j->ldb; /* op(B)[:, lo:hi] */
        gemm_built_in(j->kern, j->ta, j->tb, j->m, hi - lo, j->k, j->alpha, a, j->lda, b,
                      j->ldb, j->beta, j->c + lo, j->ldc);
    }
}

/* gemm_built_in, on as many threads as the size pays for. */
static void gemm_threaded(const gemm_kernel *kern, gf_trans ta, gf_trans tb, size_t m,
                          size_t n, size_t k, gf_real alpha, const gf_real *a, size_t lda,
                          const gf_real *b, size_t ldb, gf_real beta, gf_real *c, size_t ldc)
{
    int by_rows = m >= n;
    size_t tiles = by_rows ? (m + kern->mr - 1) / kern->mr : (n + kern->nr - 1) / kern->nr;
    size_t parts = gf_pool_parts((double)m * (double)n * (double)k, GEMM_MIN_PART);
    gemm_job job = {kern, ta, tb, m, n, k, alpha, beta, a, b, c, lda, ldb, ldc, by_rows};
    if (parts > tiles)
        parts = tiles;
    if (parts <= 1)
        gemm_built_in(kern, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else
        gf_pool_run(gemm_band, &job, parts);
}

/* ---- Entry points ------------------------------------------------------------------------ */

#if GF_USE_CBLAS
/* CBLAS takes int sizes: anything larger stays with the built-in kernel. */
static int fits_int(size_t m, size_t n, size_t k, size_t lda, size_t ldb, size_t ldc)
{
    return m <= INT_MAX && n <= INT_MAX && k <= INT_MAX && lda <= INT_MAX && ldb <= INT_MAX &&
           ldc <= INT_MAX;
}
#endif

void gf_gemm_fast(gf_trans trans_a, gf_trans trans_b, size_t m, size_t n, size_t k,
                  gf_real alpha, const gf_real *a, size_t lda, const gf_real *b, size_t ldb,
                  gf_real beta, gf_real *c, size_t ldc)
{
    if (m == 0 || n == 0)
        return;
#if GF_USE_CBLAS
    /* Empty products are left to the code below: CBLAS rejects a leading dimension of 0
     * (and OpenBLAS would print about it). */
    if (k > 0 && alpha != 0 && fits_int(m, n, k, lda, ldb, ldc)) {
        enum CBLAS_TRANSPOSE ca = trans_a ? CblasTrans : CblasNoTrans;
        enum CBLAS_TRANSPOSE cb = trans_b ? CblasTrans : CblasNoTrans;
#if GF_REAL_IS_DOUBLE
        cblas_dgemm(CblasRowMajor, ca, cb, (int)m, (int)n, (int)k, alpha, a, (int)lda, b,
                    (int)ldb, beta, c, (int)ldc);
#else
        cblas_sgemm(CblasRowMajor, ca, cb, (int)m, (int)n, (int)k, alpha, a, (int)lda, b,
                    (int)ldb, beta, c, (int)ldc);
#endif
        return;
    }
#endif
    gemm_threaded(the_kernel(), trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c,
                  ldc);
}

int gf_gemm_with_kernel(gf_gemm_kernel kernel, gf_trans trans_a, gf_trans trans_b, size_t m,
                        size_t n, size_t k, gf_real alpha, const gf_real *a, size_t lda,
                        const gf_real *b, size_t ldb, gf_real beta, gf_real *c, size_t ldc)
{
    const gemm_kernel *kern = kernel_if_supported(kernel);
    if (kern == NULL)
        return 0;
    if (m > 0 && n > 0)
        gemm_threaded(kern, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return 1;
}

void gf_gemm_raw(gf_trans trans_a, gf_trans trans_b, size_t m, size_t n, size_t k,
                 gf_real alpha, const gf_real *a, size_t lda, const gf_real *b, size_t ldb,
                 gf_real beta, gf_real *c, size_t ldc)
{
    if (GF_FAST)
        gf_gemm_fast(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else
        gf_gemm_ref(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

const char *gf_gemm_backend(void)
{
    if (!GF_FAST)
        return "reference";
#if GF_USE_CBLAS
    return "cblas";
#else
    return the_kernel()->name;
#endif
}
