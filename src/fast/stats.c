/* src/fast/stats.c: the telemetry's reductions (see stats.h). First the references, one
 * plain loop each, in double, in order: what the reference build (-DGRADFLOW_REFERENCE=ON)
 * runs. Then the fast paths: with GNU C (GCC, Clang) the 16 lanes are two vectors of 8
 * doubles: written as plain loops over lane arrays, GCC vectorises a loop that keeps one
 * kind of sum but not one that keeps sums, squares and counts together, and runs it 4
 * times slower (measured on the telemetry at M). The one loop with one kind of sum, the
 * double build's sum of squares, is written as lane arrays (see there). Other compilers
 * run the references. */
#include <math.h>
#include <string.h>

#include "fast/fast.h"
#include "fast/pool.h"
#include "fast/simd.h"
#include "fast/stats.h"

/* ---- The references ------------------------------------------------------------------- */

double gf_stats_sumsq_ref(const gf_real *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)x[i] * x[i]; /* exact for float data: a float square fits a double */
    return s;
}

void gf_stats_moments_ref(const gf_real *x, size_t n, double *sum, double *sumsq, size_t *zeros)
{
    double s = 0, q = 0;
    size_t z = 0;
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        s += v;
        q += v * v;
        z += v == 0; /* -0 too */
    }
    *sum = s;
    *sumsq = q;
    *zeros = z;
}

void gf_stats_abs_ref(const gf_real *x, size_t n, gf_real below, double *abs_sum,
                      size_t *small, size_t *zeros)
{
    double s = 0;
    size_t c = 0, z = 0;
    for (size_t i = 0; i < n; i++) {
        double a = fabs((double)x[i]);
        s += a;
        c += a < (double)below; /* never for NaN, nor when below <= 0 or NaN */
        z += a == 0;
    }
    *abs_sum = s;
    *small = c;
    *zeros = z;
}

/* ---- The fast paths --------------------------------------------------------------------- */

#if defined(__GNUC__)

enum { LANES = 16 }; /* two vectors of 8 doubles */
typedef double vdbl __attribute__((vector_size(64)));  /* 8 doubles */
typedef gf_real vreal __attribute__((vector_size(8 * sizeof(gf_real))));
typedef long long vcount __attribute__((vector_size(64))); /* what a vdbl compare gives */

/* *out = x[0..8) as doubles (exact). Vectors pass by pointer: a 64-byte vector passed
 * by value changes the calling convention between the clones (GCC's -Wpsabi). */
static inline void load8(vdbl *out, const gf_real *x)
{
    vreal v;
    memcpy(&v, x, sizeof v); /* unaligned */
    *out = __builtin_convertvector(v, vdbl);
}

/* The 16 lanes of (lo, hi) added as a tree, in a fixed order: lane l of lo plus lane l
 * of hi, then the upper half of those 8 onto the lower, and again, to one. Added one
 * after another, the 16 lanes were a chain of 16 dependent adds (about 64 cycles), the
 * largest part of a reduction of the 1024 values of an S layer; the tree is 4 deep. */
static inline double add_lanes(const vdbl *lo, const vdbl *hi)
{
    double t[8];
    for (int l = 0; l < 8; l++)
        t[l] = (*lo)[l] + (*hi)[l];
    for (int w = 4; w > 0; w /= 2)
        for (int l = 0; l < w; l++)
            t[l] += t[l + w];
    return t[0];
}

static inline size_t count_lanes(const vcount *lo, const vcount *hi)
{
    long long c = 0;
    for (int l = 0; l < 8; l++)
        c += (*lo)[l] + (*hi)[l];
    return (size_t)c;
}

/* 32 lanes: lane l adds x[i + l] for i = 0, 32, 64, ...; then lanes l and l + 8 (lanes
 * 0-15) and lanes 16 + l and 24 + l (lanes 16-31) go to add_lanes. Plain arrays, which
 * GCC vectorises at each version's own width: written with vectors of 8 doubles, wider
 * than an AVX2 or SSE2 register, GCC 12 kept the sums on the stack in those versions (32
 * Ki doubles in cache: 15.3 us AVX2, 11.4 us portable, 1.9 us AVX-512; as arrays 2.8,
 * 5.5 and 2.0 us, the same bits). */
GF_SIMD_BODY double sumsq_exact_loop(const gf_real *x, size_t n)
{
    double q[32] = {0};
    vdbl lo, hi;
    double s;
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int l = 0; l < 32; l++)
            q[l] += (double)x[i + l] * x[i + l];
    for (int l = 0; l < 8; l++) {
        lo[l] = q[l] + q[l + 8];
        hi[l] = q[l + 16] + q[l + 24];
    }
    s = add_lanes(&lo, &hi);
    for (; i < n; i++)
        s += (double)x[i] * x[i];
    return s;
}
GF_SIMD_RETURN(static, double, sumsq_exact, (const gf_real *x, size_t n), (x, n))

GF_SIMD_BODY void moments_exact_loop(const gf_real *x, size_t n, double *sum,
                                     double *sumsq, size_t *zeros)
{
    vdbl s0 = {0}, s1 = {0}, q0 = {0}, q1 = {0};
    vcount z0 = {0}, z1 = {0};
    double s, q;
    size_t i = 0, z;
    for (; i + LANES <= n; i += LANES) {
        vdbl a, b;
        load8(&a, x + i);
        load8(&b, x + i + 8);
        s0 += a;
        s1 += b;
        q0 += a * a;
        q1 += b * b;
        z0 -= a == 0; /* a compare gives -1 where true */
        z1 -= b == 0;
    }
    s = add_lanes(&s0, &s1);
    q = add_lanes(&q0, &q1);
    z = count_lanes(&z0, &z1);
    for (; i < n; i++) {
        double v = x[i];
        s += v;
        q += v * v;
        z += v == 0;
    }
    *sum = s;
    *sumsq = q;
    *zeros = z;
}
GF_SIMD_VOID(static, moments_exact,
             (const gf_real *x, size_t n, double *sum, double *sumsq,
              size_t *zeros),
             (x, n, sum, sumsq, zeros))

GF_SIMD_BODY void abs_exact_loop(const gf_real *x, size_t n, gf_real below, double *abs_sum,
                                 size_t *small, size_t *zeros)
{
    const vcount magnitude = (vcount){0} + 0x7fffffffffffffffLL; /* all but the sign */
    const vdbl t = (vdbl){0} + (double)below;
    vdbl s0 = {0}, s1 = {0};
    vcount c0 = {0}, c1 = {0}, z0 = {0}, z1 = {0};
    double s;
    size_t i = 0, c, z;
    for (; i + LANES <= n; i += LANES) {
        vdbl a, b;
        load8(&a, x + i);
        load8(&b, x + i + 8);
        a = (vdbl)((vcount)a & magnitude);
        b = (vdbl)((vcount)b & magnitude);
        s0 += a;
        s1 += b;
        c0 -= a < t;
        c1 -= b < t;
        z0 -= a == 0;
        z1 -= b == 0;
    }
    s = add_lanes(&s0, &s1);
    c = count_lanes(&c0, &c1);
    z = count_lanes(&z0, &z1);
    for (; i < n; i++) {
        double a = fabs((double)x[i]);
        s += a;
        c += a < (double)below;
        z += a == 0;
    }
    *abs_sum = s;
    *small = c;
    *zeros = z;
}
GF_SIMD_VOID(static, abs_exact,
             (const gf_real *x, size_t n, gf_real below, double *abs_sum,
              size_t *small, size_t *zeros),
             (x, n, below, abs_sum, small, zeros))


#if !GF_REAL_IS_DOUBLE
/* ---- Float data: float partial sums, checked ------------------------------------------
 * Converting every float to double costs more than the rest of these loops. Float data
 * are summed instead in 16 float lanes over blocks of BLOCK values (each lane adds 16
 * values, 4 accumulators deep; for the values after the last block see "The short
 * block" below), and each block's lanes go into double lanes: relative error about 16
 * float roundings, 1e-6, far below what a telemetry figure needs. A square
 * can overflow float (|x| > 1.8e19) or underflow it (|x| < 5e-20, and vanishing gradients
 * get there): a result that is not finite, or a sum of squares below 2^-80 (where the
 * underflowed squares, at most 2^-110 in all, could matter), is taken again exactly in
 * double.
 * Each accumulator of a block starts from its first value (k == 0 in the loops), not
 * from 0 plus it: the same sums bit for bit (0 + v is v but for the sign of a zero, and
 * a zero's sign is lost when the block's lanes are added to the double lanes, which
 * start at +0), one add fewer per accumulator: 1.1-1.3 times as fast on data in cache,
 * in a stand-alone copy of the loop. */
typedef float vf16 __attribute__((vector_size(64)));
typedef int vi16 __attribute__((vector_size(64)));
enum { BLOCK = 256, ZERO_FLUSH = 1 << 24 };
#define SMALL_SUMSQ 0x1p-80

static inline void load16(vf16 *out, const float *x) { memcpy(out, x, sizeof *out); }

/* Add the 16 float lanes of v into the 16 double lanes d[0], d[1] (lane l into lane l
 * of d[0] for l < 8, lane l - 8 of d[1] after), as whole vectors. Widened as one vector
 * of 16 doubles, which the AVX-512 version does in two instructions; widened half by
 * half (8 floats at a time), GCC 12 took each half apart into quarters and put it back
 * together, 11 instructions where 5 do (with the change above, a sum of squares of 1024
 * floats in cache went from 46 to 38 ns: docs/performance.md, "Telemetry"). Lane by lane
 * in scalar registers, it cost more still. */
typedef double vd16 __attribute__((vector_size(128)));
static inline void flush16(vdbl *d, const vf16 *v)
{
    vd16 w = __builtin_convertvector(*v, vd16); /* exact */
    vdbl lo, hi;
    memcpy(&lo, &w, sizeof lo);
    memcpy(&hi, (const char *)&w + sizeof lo, sizeof hi);
    d[0] += lo;
    d[1] += hi;
}

/* ---- The short block ----------------------------------------------------------------------
 * After the blocks, the whole 16s left (up to BLOCK - 16 values) are one short block: lane
 * l adds the terms of x[i + 16 g + l], g = 0, 1, ..., in float from the first, and goes
 * into double lane l; the rest (under 16 values) is added in double, in order. Taken one
 * value at a time, the 232 values after the blocks of an array of 1000 were one chain of
 * dependent adds: a sum of squares of 1000 floats took 230-266 ns against 38 for 1024
 * (now 46 AVX-512, 82 AVX2, 119 portable; bench_stats). The block is kept in halves of 8
 * lanes: GCC 12 keeps a vector of 16 floats carried around a loop on the stack in the AVX2
 * version, moved through general registers (slower than the values one by one). Its terms
 * go into sums (the values, or with `magnitude` their magnitudes) and squares, either
 * NULL when not wanted; the counts, of magnitudes below the float whose bits are
 * below_bits and of zeros, into *small and *zeros (NULL: not counted). */
typedef float vf8 __attribute__((vector_size(32)));
typedef int vi8 __attribute__((vector_size(32)));

static inline __attribute__((always_inline)) void
short_block(const float *x, size_t *at, size_t n, int magnitude, vdbl *sums, vdbl *squares,
            int below_bits, size_t *small, size_t *zeros)
{
    const vi8 mask = (vi8){0} + 0x7fffffff, below = (vi8){0} + below_bits;
    vf8 s[2] = {{0}, {0}}, q[2] = {{0}, {0}};
    vi8 sc = {0}, zc = {0};
    size_t i = *at;
    for (size_t first = i; i + 16 <= n; i += 16)
        for (int h = 0; h < 2; h++) {
            vf8 v;
            memcpy(&v, x + i + 8 * h, sizeof v);
            vi8 m = (vi8)v & mask;
            if (magnitude)
                v = (vf8)m;
            s[h] = i == first ? v : s[h] + v;
            q[h] = i == first ? v * v : q[h] + v * v;
            sc -= (m - below) >> 31; /* -1 where below */
            zc -= (m - 1) >> 31;     /* -1 where 0 or -0 */
        }
    for (int h = 0; h < 2 && i > *at; h++) {
        if (sums != NULL)
            sums[h] += __builtin_convertvector(s[h], vdbl); /* exact */
        if (squares != NULL)
            squares[h] += __builtin_convertvector(q[h], vdbl);
    }
    for (int l = 0; l < 8; l++) {
        if (small != NULL)
            *small += (size_t)sc[l];
        if (zeros != NULL)
            *zeros += (size_t)zc[l];
    }
    *at = i;
}

GF_SIMD_BODY int sumsq_fast_loop(const float *x, size_t n, double *out)
{
    vdbl lanes[2] = {{0}};
    double s;
    size_t i = 0;
    for (; i + BLOCK <= n; i += BLOCK) {
        vf16 a[4];
        for (size_t k = 0; k < BLOCK; k += 64)
            for (int j = 0; j < 4; j++) {
                vf16 v;
                load16(&v, x + i + k + 16 * j);
                a[j] = k == 0 ? v * v : a[j] + v * v; /* starts at the first square */
            }
        a[0] = (a[0] + a[1]) + (a[2] + a[3]);
        flush16(lanes, &a[0]);
    }
    short_block(x, &i, n, 0, NULL, lanes, 0, NULL, NULL);
    s = add_lanes(&lanes[0], &lanes[1]);
    for (; i < n; i++)
        s += (double)x[i] * x[i];
    *out = s;
    return isfinite(s) && s >= SMALL_SUMSQ;
}
GF_SIMD_RETURN(static, int, sumsq_fast, (const float *x, size_t n, double *out), (x, n, out))

/* Zeros are counted on the bit patterns, as integers, like abs_fast_loop's counts: a
 * compare of two vectors of 16 floats (v == 0) has no AVX2 or SSE2 form that GCC 12
 * finds, and it compiled to 16 scalar compares and inserts per vector, which made these
 * moments 10 times slower in the AVX2 version than in the AVX-512 one (32 Ki floats in
 * cache: 27.7 us against 2.9). */
GF_SIMD_BODY int moments_fast_loop(const float *x, size_t n, double *sum, double *sumsq,
                                   size_t *zeros)
{
    const vi16 magnitude = (vi16){0} + 0x7fffffff; /* all but the sign */
    vdbl sl[2] = {{0}}, ql[2] = {{0}};
    double s, q;
    vi16 zc[2] = {{0}};
    size_t i = 0, z = 0;
    for (; i + BLOCK <= n; i += BLOCK) {
        vf16 a[4], b[4];
        if (i % ZERO_FLUSH == 0) { /* int lanes count at most ZERO_FLUSH / 32 each */
            for (int l = 0; l < 16; l++)
                z += (size_t)zc[0][l] + (size_t)zc[1][l];
            zc[0] = zc[1] = (vi16){0};
        }
        for (size_t k = 0; k < BLOCK; k += 64)
            for (int j = 0; j < 4; j++) {
                vf16 v;
                load16(&v, x + i + k + 16 * j);
                a[j] = k == 0 ? v : a[j] + v;
                b[j] = k == 0 ? v * v : b[j] + v * v;
                zc[j & 1] -= (((vi16)v & magnitude) - 1) >> 31; /* -1 where v is 0 or -0 */
            }
        a[0] = (a[0] + a[1]) + (a[2] + a[3]);
        b[0] = (b[0] + b[1]) + (b[2] + b[3]);
        flush16(sl, &a[0]);
        flush16(ql, &b[0]);
    }
    short_block(x, &i, n, 0, sl, ql, 0, NULL, &z);
    s = add_lanes(&sl[0], &sl[1]);
    q = add_lanes(&ql[0], &ql[1]);
    for (int l = 0; l < 16; l++)
        z += (size_t)zc[0][l] + (size_t)zc[1][l];
    for (; i < n; i++) {
        double v = x[i];
        s += v;
        q += v * v;
        z += v == 0;
    }
    *sum = s;
    *sumsq = q;
    *zeros = z;
    return isfinite(s) && isfinite(q) && (q >= SMALL_SUMSQ || z == n);
}
GF_SIMD_RETURN(static, int, moments_fast,
               (const float *x, size_t n, double *sum, double *sumsq, size_t *zeros),
               (x, n, sum, sumsq, zeros))

/* |f'| values are of order one: a sum below 2^-100 (all tiny) is taken again exactly.
 * The counts compare bit patterns as integers: for magnitudes (sign cleared) integer
 * order is float order, NaN above every finite value, and an integer difference's sign
 * costs no compare mask (measured: 7 % faster than comparing floats). */
GF_SIMD_BODY int abs_fast_loop(const float *x, size_t n, float below, double *abs_sum,
                              size_t *small, size_t *zeros)
{
    const vi16 magnitude = (vi16){0} + 0x7fffffff; /* all but the sign */
    vi16 below_bits;
    vdbl sl[2] = {{0}};
    double s;
    vi16 sc[2] = {{0}}, zc[2] = {{0}};
    size_t i = 0, c = 0, z = 0;
    int bb = 0; /* below <= 0 or NaN: nothing counts */
    if (below > 0)
        memcpy(&bb, &below, sizeof bb);
    below_bits = (vi16){0} + bb;
    for (; i + BLOCK <= n; i += BLOCK) {
        vf16 a[4];
        if (i % ZERO_FLUSH == 0) { /* int lanes count at most ZERO_FLUSH / 32 each */
            for (int l = 0; l < 16; l++) {
                c += (size_t)sc[0][l] + (size_t)sc[1][l];
                z += (size_t)zc[0][l] + (size_t)zc[1][l];
            }
            sc[0] = sc[1] = zc[0] = zc[1] = (vi16){0};
        }
        for (size_t k = 0; k < BLOCK; k += 64)
            for (int j = 0; j < 4; j++) {
                vf16 v;
                load16(&v, x + i + k + 16 * j);
                vi16 m = (vi16)v & magnitude;
                a[j] = k == 0 ? (vf16)m : a[j] + (vf16)m;
                sc[j & 1] -= (m - below_bits) >> 31; /* -1 where m < below */
                zc[j & 1] -= (m - 1) >> 31;         /* -1 where m == 0 */
            }
        a[0] = (a[0] + a[1]) + (a[2] + a[3]);
        flush16(sl, &a[0]);
    }
    short_block(x, &i, n, 1, sl, NULL, bb, &c, &z);
    s = add_lanes(&sl[0], &sl[1]);
    for (int l = 0; l < 16; l++) {
        c += (size_t)sc[0][l] + (size_t)sc[1][l];
        z += (size_t)zc[0][l] + (size_t)zc[1][l];
    }
    for (; i < n; i++) {
        double a = fabs((double)x[i]);
        s += a;
        c += a < (double)below;
        z += a == 0;
    }
    *abs_sum = s;
    *small = c;
    *zeros = z;
    return isfinite(s) && (s >= 0x1p-100 || s == 0);
}
GF_SIMD_RETURN(static, int, abs_fast,
               (const float *x, size_t n, float below, double *abs_sum, size_t *small,
                size_t *zeros),
               (x, n, below, abs_sum, small, zeros))

#if GF_SIMD_VERSIONS
/* ---- AVX-512: the counts in mask registers ----------------------------------------------
 * moments_fast_loop and abs_fast_loop again, for AVX-512 only, with one change: a compare
 * lands in a mask register and popcount counts it (on a scalar port), where the vector
 * form turns each mask into a vector of -1s and adds it (three vector instructions, and
 * AVX-512 runs two a cycle). The sums are the same operations in the same order, so the
 * figures are the same bits (test_stats compares every version); the counts are
 * integers. Measured on the telemetry of the S network (50 layers of 32 x 32): moments
 * 1.2-1.3 times, abs 1.5 times faster. Each repeats its portable twin's lane flush and
 * scalar tail on purpose: a tail shared through a helper would be compiled for another
 * target, and its contraction of s + v * v into an fma could then differ (short_block is
 * shared: it is always inlined, so compiled for its caller's target). */
#include <immintrin.h>

#define GF_AVX512 __attribute__((target("avx512f,popcnt")))

GF_AVX512 static int moments_masks(const float *x, size_t n, double *sum, double *sumsq,
                                   size_t *zeros)
{
    vdbl sl[2] = {{0}}, ql[2] = {{0}};
    double s, q;
    size_t i = 0, z = 0;
    for (; i + BLOCK <= n; i += BLOCK) {
        vf16 a[4], b[4];
        for (size_t k = 0; k < BLOCK; k += 64)
            for (int j = 0; j < 4; j++) {
                vf16 v;
                load16(&v, x + i + k + 16 * j);
                a[j] = k == 0 ? v : a[j] + v;
                b[j] = k == 0 ? v * v : b[j] + v * v;
                z += (size_t)__builtin_popcount(
                    _mm512_cmp_ps_mask((__m512)v, _mm512_setzero_ps(), _CMP_EQ_OQ));
            }
        a[0] = (a[0] + a[1]) + (a[2] + a[3]);
        b[0] = (b[0] + b[1]) + (b[2] + b[3]);
        flush16(sl, &a[0]);
        flush16(ql, &b[0]);
    }
    short_block(x, &i, n, 0, sl, ql, 0, NULL, &z);
    s = add_lanes(&sl[0], &sl[1]);
    q = add_lanes(&ql[0], &ql[1]);
    for (; i < n; i++) {
        double v = x[i];
        s += v;
        q += v * v;
        z += v == 0;
    }
    *sum = s;
    *sumsq = q;
    *zeros = z;
    return isfinite(s) && isfinite(q) && (q >= SMALL_SUMSQ || z == n);
}

GF_AVX512 static int abs_masks(const float *x, size_t n, float below, double *abs_sum,
                               size_t *small, size_t *zeros)
{
    const vi16 magnitude = (vi16){0} + 0x7fffffff;
    const __m512i zero = _mm512_setzero_si512();
    __m512i below_bits;
    vdbl sl[2] = {{0}};
    double s;
    size_t i = 0, c = 0, z = 0;
    int bb = 0; /* below <= 0 or NaN: nothing counts */
    if (below > 0)
        memcpy(&bb, &below, sizeof bb);
    below_bits = _mm512_set1_epi32(bb);
    for (; i + BLOCK <= n; i += BLOCK) {
        vf16 a[4];
        for (size_t k = 0; k < BLOCK; k += 64)
            for (int j = 0; j < 4; j++) {
                vf16 v;
                load16(&v, x + i + k + 16 * j);
                vi16 m = (vi16)v & magnitude;
                a[j] = k == 0 ? (vf16)m : a[j] + (vf16)m;
                /* magnitudes compare as integers (abs_fast_loop) */
                c += (size_t)__builtin_popcount(_mm512_cmplt_epi32_mask((__m512i)m, below_bits));
                z += (size_t)__builtin_popcount(_mm512_cmpeq_epi32_mask((__m512i)m, zero));
            }
        a[0] = (a[0] + a[1]) + (a[2] + a[3]);
        flush16(sl, &a[0]);
    }
    short_block(x, &i, n, 1, sl, NULL, bb, &c, &z);
    s = add_lanes(&sl[0], &sl[1]);
    for (; i < n; i++) {
        double a = fabs((double)x[i]);
        s += a;
        c += a < (double)below;
        z += a == 0;
    }
    *abs_sum = s;
    *small = c;
    *zeros = z;
    return isfinite(s) && (s >= 0x1p-100 || s == 0);
}
#endif
#endif

#if !GF_REAL_IS_DOUBLE
/* The mask-register loops run where the AVX-512 version is the one chosen (simd.h). */
#if GF_SIMD_VERSIONS
static int masks_wanted(void) { return gf_simd_now() == GF_SIMD_AVX512; }
#else
static int masks_wanted(void) { return 0; }
#define moments_masks moments_fast
#define abs_masks abs_fast
#endif
#endif

void gf_stats_abs_fast(const gf_real *x, size_t n, gf_real below, double *abs_sum,
                       size_t *small, size_t *zeros)
{
#if !GF_REAL_IS_DOUBLE
    if (masks_wanted() ? abs_masks(x, n, below, abs_sum, small, zeros)
                       : abs_fast(x, n, below, abs_sum, small, zeros))
        return;
#endif
    abs_exact(x, n, below, abs_sum, small, zeros);
}

void gf_stats_moments_fast(const gf_real *x, size_t n, double *sum, double *sumsq,
                           size_t *zeros)
{
#if !GF_REAL_IS_DOUBLE
    if (masks_wanted() ? moments_masks(x, n, sum, sumsq, zeros)
                       : moments_fast(x, n, sum, sumsq, zeros))
        return;
#endif
    moments_exact(x, n, sum, sumsq, zeros);
}

double gf_stats_sumsq_fast(const gf_real *x, size_t n)
{
#if !GF_REAL_IS_DOUBLE
    double s;
    if (sumsq_fast(x, n, &s))
        return s;
#endif
    return sumsq_exact(x, n);
}

#else /* no GNU vectors: the fast paths are the references */

double gf_stats_sumsq_fast(const gf_real *x, size_t n) { return gf_stats_sumsq_ref(x, n); }

void gf_stats_moments_fast(const gf_real *x, size_t n, double *sum, double *sumsq,
                           size_t *zeros)
{
    gf_stats_moments_ref(x, n, sum, sumsq, zeros);
}

void gf_stats_abs_fast(const gf_real *x, size_t n, gf_real below, double *abs_sum,
                       size_t *small, size_t *zeros)
{
    gf_stats_abs_ref(x, n, below, abs_sum, small, zeros);
}

#endif

/* ---- What the library calls: the fast path, or the reference in the reference build ---
 * The fast path takes a long array in chunks of STATS_CHUNK values, each reduced on its
 * own (by the _fast loop), the chunks' results added in chunk order: the same sums for
 * every number of threads, since the chunks, not the threads, fix the order. Groups of
 * chunks run on threads (src/fast/pool.c) when the array has 2 STATS_MIN_PART values or
 * more: a sum of squares on 2 threads took 0.8-1.15 times as long as on 1 at 512 Ki
 * values and below, 0.6-0.8 times at 1 and 2 Mi (docs/performance.md, "Threads"). An
 * array of one chunk or less is reduced exactly as _fast does. */
enum { STATS_CHUNK = GF_STATS_CHUNK, STATS_GROUP = 64 };
#define STATS_MIN_PART (512.0 * 1024)

typedef struct chunked {
    const gf_real *x;
    size_t n, first, chunks; /* chunks first .. first + chunks of x[0..n) */
    double sum[STATS_GROUP], sumsq[STATS_GROUP];
    size_t zeros[STATS_GROUP];
    int moments;             /* all three figures, else only sumsq */
} chunked;

/* Reduce the chunks of part `part`: an equal share of the group, each chunk into its
 * own slot. */
static void reduce_chunks(void *arg, size_t part, size_t parts)
{
    chunked *c = arg;
    for (size_t i = c->chunks * part / parts; i < c->chunks * (part + 1) / parts; i++) {
        size_t lo = (c->first + i) * STATS_CHUNK;
        size_t len = c->n - lo < STATS_CHUNK ? c->n - lo : STATS_CHUNK;
        if (c->moments)
            gf_stats_moments_fast(c->x + lo, len, &c->sum[i], &c->sumsq[i], &c->zeros[i]);
        else
            c->sumsq[i] = gf_stats_sumsq_fast(c->x + lo, len);
    }
}

/* The chunked reduction: groups of STATS_GROUP chunks (a bounded buffer for any n),
 * each group's chunks on threads, all chunk results added here in order. */
static void reduce_chunked(const gf_real *x, size_t n, int moments, double *sum,
                           double *sumsq, size_t *zeros)
{
    chunked c;
    size_t total = (n + STATS_CHUNK - 1) / STATS_CHUNK;
    size_t parts = gf_pool_parts((double)n, STATS_MIN_PART);
    *sum = *sumsq = 0;
    *zeros = 0;
    c.x = x, c.n = n, c.moments = moments;
    for (c.first = 0; c.first < total; c.first += c.chunks) {
        c.chunks = total - c.first < STATS_GROUP ? total - c.first : STATS_GROUP;
        gf_pool_run(reduce_chunks, &c, parts < c.chunks ? parts : c.chunks);
        for (size_t i = 0; i < c.chunks; i++) {
            *sumsq += c.sumsq[i];
            if (moments)
                *sum += c.sum[i], *zeros += c.zeros[i];
        }
    }
}

double gf_stats_sumsq(const gf_real *x, size_t n)
{
    double s, q;
    size_t z;
    if (!GF_FAST)
        return gf_stats_sumsq_ref(x, n);
    if (n <= STATS_CHUNK)
        return gf_stats_sumsq_fast(x, n);
    reduce_chunked(x, n, 0, &s, &q, &z);
    return q;
}

void gf_stats_moments(const gf_real *x, size_t n, double *sum, double *sumsq, size_t *zeros)
{
    if (!GF_FAST)
        gf_stats_moments_ref(x, n, sum, sumsq, zeros);
    else if (n <= STATS_CHUNK)
        gf_stats_moments_fast(x, n, sum, sumsq, zeros);
    else
        reduce_chunked(x, n, 1, sum, sumsq, zeros);
}

/* Called on chunks of ACT_CHUNK values (src/fast/activation_fused.c): not split. */
void gf_stats_abs(const gf_real *x, size_t n, gf_real below, double *abs_sum, size_t *small,
                  size_t *zeros)
{
    if (GF_FAST)
        gf_stats_abs_fast(x, n, below, abs_sum, small, zeros);
    else
        gf_stats_abs_ref(x, n, below, abs_sum, small, zeros);
}
