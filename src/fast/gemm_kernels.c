/* src/fast/gemm_kernels.c: the micro-kernels of the built-in GEMM (src/fast/gemm.c), one
 * per instruction set (portable C, AVX2+FMA, AVX-512), with the packing each does best,
 * and the choice among them at run time. Their contract is in gemm_kernels.h; their
 * plain reference is gf_gemm_ref (gemm.c), which the agreement tests compare them with. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fast/gemm_kernels.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define GF_X86_KERNELS 1
#include <immintrin.h>
#else
#define GF_X86_KERNELS 0
#endif

#if !defined(__STDC_NO_ATOMICS__)
#include <stdatomic.h>
#endif

/* The loop over a tile's rows unrolled in full, so that its accumulators live in
 * registers: GCC at -O2 keeps such a loop rolled, and the accumulator array then lives
 * in memory (a load and a store around every FMA: a third of the speed). */
#if defined(__GNUC__)
#define GF_UNROLL_ROWS _Pragma("GCC unroll 8")
#else
#define GF_UNROLL_ROWS
#endif

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

/* The portable pack_bt: four rows of B at a time, read along p, so that each p writes
 * four adjacent values (one short vector store where the compiler has them). */
static void pack_bt_portable(gf_real *dst, const gf_real *b, size_t ldb, size_t kc, size_t nr)
{
    size_t j = 0;
    for (; j + 4 <= nr; j += 4)
        for (size_t p = 0; p < kc; p++) {
            gf_real *d = dst + p * nr + j;
            d[0] = b[j * ldb + p];
            d[1] = b[(j + 1) * ldb + p];
            d[2] = b[(j + 2) * ldb + p];
            d[3] = b[(j + 3) * ldb + p];
        }
    for (; j < nr; j++)
        for (size_t p = 0; p < kc; p++)
            dst[p * nr + j] = b[j * ldb + p];
}

static const gf_gemm_micro portable = {"built-in portable", P_MR, P_NR, kernel_portable,
                                       pack_bt_portable, NULL};

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
#define v512_store _mm512_storeu_pd
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
#define v512_store _mm512_storeu_ps
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
    GF_UNROLL_ROWS
    for (size_t i = 0; i < A2_MR; i++) {
        row[i] = a + (i < mr ? i : mr - 1) * rsa;
        acc[i][0] = acc[i][1] = v256_zero();
    }
    for (size_t p = 0; p < kc; p++) {
        v256 b0 = v256_load(b + p * ldb), b1 = v256_load(b + p * ldb + W256);
        GF_UNROLL_ROWS
        for (size_t i = 0; i < A2_MR; i++) {
            v256 ai = v256_set1(row[i][p * csa]);
            acc[i][0] = v256_fmadd(ai, b0, acc[i][0]);
            acc[i][1] = v256_fmadd(ai, b1, acc[i][1]);
        }
    }
    /* C (+)= alpha acc on the mr x nr corner. */
    v256 va = v256_set1(alpha);
    m256 m0 = v256_first(nr), m1 = v256_first(nr > W256 ? nr - W256 : 0);
    GF_UNROLL_ROWS
    for (size_t i = 0; i < A2_MR; i++) {
        gf_real *ci = c + i * ldc;
        v256 c0 = acc[i][0], c1 = acc[i][1];
        if (i >= mr)
            break;
        if (alpha != 1) { /* alpha acc is acc itself when alpha is 1 */
            c0 = v256_mul(va, c0);
            c1 = v256_mul(va, c1);
        }
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
    GF_UNROLL_ROWS
    for (size_t i = 0; i < A5_MR; i++) {
        row[i] = a + (i < mr ? i : mr - 1) * rsa;
        acc[i][0] = acc[i][1] = v512_zero();
    }
    for (size_t p = 0; p < kc; p++) {
        v512 b0 = v512_load(b + p * ldb), b1 = v512_load(b + p * ldb + W512);
        GF_UNROLL_ROWS
        for (size_t i = 0; i < A5_MR; i++) {
            v512 ai = v512_set1(row[i][p * csa]);
            acc[i][0] = v512_fmadd(ai, b0, acc[i][0]);
            acc[i][1] = v512_fmadd(ai, b1, acc[i][1]);
        }
    }
    /* C (+)= alpha acc on the mr x nr corner. */
    v512 va = v512_set1(alpha);
    m512 m0 = v512_first(nr), m1 = v512_first(nr > W512 ? nr - W512 : 0);
    GF_UNROLL_ROWS
    for (size_t i = 0; i < A5_MR; i++) {
        gf_real *ci = c + i * ldc;
        v512 c0 = acc[i][0], c1 = acc[i][1];
        if (i >= mr)
            break;
        if (alpha != 1) { /* alpha acc is acc itself when alpha is 1 */
            c0 = v512_mul(va, c0);
            c1 = v512_mul(va, c1);
        }
        if (add) {
            c0 = v512_add(v512_mask_load(m0, ci), c0);
            c1 = v512_add(v512_mask_load(m1, ci + W512), c1);
        }
        v512_mask_store(ci, m0, c0);
        v512_mask_store(ci + W512, m1, c1);
    }
}

/* pack_bt on AVX-512: a transpose in registers, W512 rows of B by W512 values of p at a
 * time: W512 loads of contiguous values, log2(W512) rounds of shuffles, W512 stores of a
 * panel row's half. The AVX-512 gathers this replaces loaded one value per lane and
 * took 12-16 % of a product with a transposed B at 256 x 1024 x 1024. The last kc % W512
 * rows of the panel are copied one value at a time. A copy only: the order in which
 * values move changes no result. */
#if GF_REAL_IS_DOUBLE
/* The float and double transposes below end in the same two rounds of lane shuffles, a
 * deliberate pair: only one of them is compiled, their vector types and intrinsics
 * differ, and a macro over both would hide the data movement a reader came to see. */
/* out[c] = column c of the 8 x 8 block whose rows are r[0..7]. unpacklo/hi pair up the
 * rows' values two by two within each 128-bit lane; shuffle_f64x2 then gathers the lanes
 * (0x88 takes lanes 0 and 2 of each operand, 0xdd lanes 1 and 3). */
__attribute__((target("avx512f"))) static inline void transpose_block(__m512d r[8])
{
    __m512d t[8], v[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm512_unpacklo_pd(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_pd(r[2 * i], r[2 * i + 1]);
    }
    for (int q = 0; q < 2; q++) {
        v[q] = _mm512_shuffle_f64x2(t[q], t[2 + q], 0x88);
        v[2 + q] = _mm512_shuffle_f64x2(t[q], t[2 + q], 0xdd);
        v[4 + q] = _mm512_shuffle_f64x2(t[4 + q], t[6 + q], 0x88);
        v[6 + q] = _mm512_shuffle_f64x2(t[4 + q], t[6 + q], 0xdd);
    }
    for (int q = 0; q < 2; q++) {
        r[q] = _mm512_shuffle_f64x2(v[q], v[4 + q], 0x88);
        r[4 + q] = _mm512_shuffle_f64x2(v[q], v[4 + q], 0xdd);
        r[2 + q] = _mm512_shuffle_f64x2(v[2 + q], v[6 + q], 0x88);
        r[6 + q] = _mm512_shuffle_f64x2(v[2 + q], v[6 + q], 0xdd);
    }
}
#else
/* out[c] = column c of the 16 x 16 block whose rows are r[0..15]: unpacklo/hi_ps pair up
 * rows, unpacklo/hi_pd pairs of pairs, so that each 128-bit lane holds one column of four
 * rows; two rounds of shuffle_f32x4 then gather the four lanes of each column. */
__attribute__((target("avx512f"))) static inline void transpose_block(__m512 r[16])
{
    __m512 t[16], v[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 2]);
        __m512d c = _mm512_castps_pd(t[4 * i + 1]), d = _mm512_castps_pd(t[4 * i + 3]);
        r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
        r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
        r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(c, d));
        r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(c, d));
    }
    for (int q = 0; q < 4; q++) {
        v[q] = _mm512_shuffle_f32x4(r[q], r[4 + q], 0x88);
        v[4 + q] = _mm512_shuffle_f32x4(r[q], r[4 + q], 0xdd);
        v[8 + q] = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], 0x88);
        v[12 + q] = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], 0xdd);
    }
    for (int q = 0; q < 4; q++) {
        r[q] = _mm512_shuffle_f32x4(v[q], v[8 + q], 0x88);
        r[8 + q] = _mm512_shuffle_f32x4(v[q], v[8 + q], 0xdd);
        r[4 + q] = _mm512_shuffle_f32x4(v[4 + q], v[12 + q], 0x88);
        r[12 + q] = _mm512_shuffle_f32x4(v[4 + q], v[12 + q], 0xdd);
    }
}
#endif

__attribute__((target("avx512f"))) static void
pack_bt_avx512(gf_real *dst, const gf_real *b, size_t ldb, size_t kc, size_t nr)
{
    size_t whole = kc / W512 * W512;
    if (nr != A5_NR) {
        pack_bt_portable(dst, b, ldb, kc, nr);
        return;
    }
    for (size_t p = 0; p < whole; p += W512)
        for (size_t half = 0; half < A5_NR; half += W512) { /* rows half .. half + W512 */
            v512 r[W512];
            for (size_t i = 0; i < W512; i++)
                r[i] = v512_load(b + (half + i) * ldb + p);
            transpose_block(r);
            for (size_t c = 0; c < W512; c++)
                v512_store(dst + (p + c) * nr + half, r[c]);
        }
    for (size_t p = whole; p < kc; p++)
        for (size_t j = 0; j < nr; j++)
            dst[p * nr + j] = b[j * ldb + p];
}

/* pack_a on AVX-512: the strip's A5_MR rows by W512 values of p at a time, through the
 * same transpose in registers as pack_bt. For floats the 16 x 16 transpose takes the 8
 * rows twice over, and the first 8 lanes of each column are the strip's 8 values at one
 * p; for doubles the 8 x 8 transpose is exact. */
__attribute__((target("avx512f"))) static void pack_a_avx512(gf_real *dst, const gf_real *a,
                                                             size_t lda, size_t kc)
{
    size_t whole = kc / W512 * W512;
    for (size_t p = 0; p < whole; p += W512) {
        v512 r[W512];
        for (size_t i = 0; i < W512; i++)
            r[i] = v512_load(a + (i % A5_MR) * lda + p);
        transpose_block(r);
        for (size_t c = 0; c < W512; c++)
            v512_mask_store(dst + (p + c) * A5_MR, v512_first(A5_MR), r[c]);
    }
    for (size_t p = whole; p < kc; p++)
        for (size_t i = 0; i < A5_MR; i++)
            dst[p * A5_MR + i] = a[i * lda + p];
}

static const gf_gemm_micro avx2 = {"built-in avx2+fma", A2_MR, A2_NR, kernel_avx2,
                                   pack_bt_portable, NULL};
static const gf_gemm_micro avx512 = {"built-in avx512", A5_MR, A5_NR, kernel_avx512,
                                     pack_bt_avx512, pack_a_avx512};
#endif /* GF_X86_KERNELS */

/* ---- Choosing the kernel ---------------------------------------------------------------------
 * The best kernel the CPU supports; the environment variable GF_GEMM_KERNEL (portable,
 * avx2, avx512) can ask for a lesser one, to compare or to test them all on one machine.
 * Decided on the first call and kept (a data-race-free cache of a fact about the CPU). */

/* The kernel asked for, or NULL when this CPU (or this compiler) cannot run it. */
const gf_gemm_micro *gf_gemm_micro_if_supported(gf_gemm_kernel which)
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

static const gf_gemm_micro *pick_kernel(void)
{
    const char *want = getenv("GF_GEMM_KERNEL");
    const gf_gemm_micro *best = gf_gemm_micro_if_supported(GF_GEMM_KERNEL_AVX512);
    const gf_gemm_micro *avx2_or_less = gf_gemm_micro_if_supported(GF_GEMM_KERNEL_AVX2);
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

const gf_gemm_micro *gf_gemm_micro_chosen(void)
{
#if !defined(__STDC_NO_ATOMICS__)
    static _Atomic(const gf_gemm_micro *) chosen;
    const gf_gemm_micro *k = atomic_load_explicit(&chosen, memory_order_acquire);
    if (k == NULL) {
        k = pick_kernel();
        atomic_store_explicit(&chosen, k, memory_order_release);
    }
    return k;
#else
    return pick_kernel();
#endif
}
