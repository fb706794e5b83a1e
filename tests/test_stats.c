/* tests/test_stats.c: the telemetry's reductions (src/fast/stats.c), fast and reference
 * alike, against plain loops in double, on lengths around their blocks and lanes, with the values that take their
 * other paths: zeros of both signs, subnormals, NaN and infinities, squares that
 * underflow or overflow float, thresholds at and around the data. The counts must be
 * exact; the sums within the float partial sums' error (1e-6 relative) in the float
 * build and nearly exact in the double build. Then the library's _fast and _ref
 * versions against each other, whichever the build calls. */
#include "testutil.h"

#include <string.h>

#include "../src/fast/simd.h"
#include "../src/fast/stats.h"

#if GF_REAL_IS_DOUBLE
#define SUM_REL 1e-13
#else
#define SUM_REL 2e-6
#endif

static const size_t lengths[] = {0, 1, 15, 16, 17, 255, 256, 257, 1000, 2048, 5003, 70001};
enum { N_LENGTHS = sizeof lengths / sizeof lengths[0] };

typedef struct reference {
    double sum, sumsq, abs_sum;
    size_t zeros, small;
} reference;

static reference plain(const gf_real *x, size_t n, gf_real below)
{
    reference r = {0, 0, 0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        r.sum += v;
        r.sumsq += v * v;
        r.abs_sum += fabs(v);
        r.zeros += v == 0;
        r.small += fabs(v) < (double)below;
    }
    return r;
}

/* Normal values with a share of exact zeros of both signs and of values near below. */
static gf_real *mixed(size_t n, uint64_t seed, gf_real below)
{
    gf_rng rng;
    gf_real *x = test_malloc((n + 1) * sizeof *x);
    gf_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++) {
        double u = gf_rng_uniform(&rng);
        x[i] = (gf_real)gf_rng_normal(&rng);
        if (u < 0.1)
            x[i] = u < 0.05 ? (gf_real)0.0 : (gf_real)-0.0;
        else if (u < 0.15)
            x[i] = below;
        else if (u < 0.2)
            x[i] = u < 0.175 ? -below : nextafter(below, 0);
    }
    return x;
}

static void check(const gf_real *x, size_t n, gf_real below)
{
    reference r = plain(x, n, below);
    double sum, sumsq, abs_sum;
    size_t zeros, small, zeros2;
    gf_stats_moments(x, n, &sum, &sumsq, &zeros);
    gf_stats_abs(x, n, below, &abs_sum, &small, &zeros2);
    assert_int_equal(zeros, r.zeros);
    assert_int_equal(zeros2, r.zeros);
    assert_int_equal(small, r.small);
    assert_near(sum, r.sum, SUM_REL * r.abs_sum, 0);
    assert_near(sumsq, r.sumsq, 0, SUM_REL);
    assert_near(abs_sum, r.abs_sum, 0, SUM_REL);
    assert_near(gf_stats_sumsq(x, n), r.sumsq, 0, SUM_REL);
}

static void sums_and_counts_match_plain_loops(void **state)
{
    static const double belows[] = {0.0, 1e-30, 0.05, 1.0, 1e30};
    (void)state;
    for (size_t k = 0; k < N_LENGTHS; k++)
        for (size_t b = 0; b < sizeof belows / sizeof belows[0]; b++) {
            gf_real *x = mixed(lengths[k], 100 + k, (gf_real)belows[b]);
            check(x, lengths[k], (gf_real)belows[b]);
            /* Every start offset within a vector: unaligned loads, other tails. */
            for (size_t off = 1; off < 16 && off < lengths[k]; off += 5)
                check(x + off, lengths[k] - off, (gf_real)belows[b]);
            test_free(x);
        }
}

/* A threshold of 0 (or a negative or NaN one, which the callers never pass) counts
 * nothing; an infinite one counts every finite value; NaN is never small and never 0.
 * First on finite data (the fast path's answer stands), then with NaN and infinities. */
static void thresholds_at_the_edges(void **state)
{
    enum { N = 600 };
    gf_real *x = mixed(N, 7, (gf_real)0.5);
    double s;
    size_t small, zeros;
    (void)state;
    x[5] = (gf_real)3e38;
    for (int pass = 0; pass < 2; pass++) {
        size_t finite = pass ? N - 3 : N;
        if (pass) {
            x[3] = (gf_real)NAN;
            x[300] = (gf_real)INFINITY;
            x[301] = (gf_real)-INFINITY;
        }
        gf_stats_abs(x, N, 0, &s, &small, &zeros);
        assert_int_equal(small, 0);
        assert_int_equal(zeros, plain(x, N, 0).zeros);
        assert_true(pass ? isnan(s) : isfinite(s));
        gf_stats_abs(x, N, (gf_real)-1, &s, &small, &zeros);
        assert_int_equal(small, 0);
        gf_stats_abs(x, N, (gf_real)-INFINITY, &s, &small, &zeros);
        assert_int_equal(small, 0);
        gf_stats_abs(x, N, (gf_real)NAN, &s, &small, &zeros);
        assert_int_equal(small, 0);
        gf_stats_abs(x, N, (gf_real)INFINITY, &s, &small, &zeros);
        assert_int_equal(small, finite);
    }
    x[3] = 0;
    gf_stats_abs(x, N, (gf_real)INFINITY, &s, &small, &zeros);
    assert_true(isinf(s));
    assert_int_equal(small, N - 2);
    test_free(x);
}

/* Squares that leave float's range send the float build to its exact path: a vanishing
 * gradient keeps its size, a huge one does not read as infinite. Subnormals count as
 * small and not as zero. */
static void squares_out_of_float_range_stay_exact(void **state)
{
    enum { N = 3000 };
    static const double scales[] = {1e-25, 1e-41, 1e20};
    gf_real *x = test_malloc(N * sizeof *x);
    (void)state;
    for (size_t s = 0; s < sizeof scales / sizeof scales[0]; s++) {
        for (size_t i = 0; i < N; i++)
            x[i] = (gf_real)(scales[s] * (double)((i % 7) + 1) * (i % 2 ? 1 : -1));
        reference r = plain(x, N, (gf_real)1e-30);
        double sum, sumsq, abs_sum;
        size_t zeros, small;
        assert_true(r.sumsq > 0 && isfinite(r.sumsq));
        gf_stats_moments(x, N, &sum, &sumsq, &zeros);
        gf_stats_abs(x, N, (gf_real)1e-30, &abs_sum, &small, &zeros);
        assert_near(sumsq, r.sumsq, 0, SUM_REL);
        assert_near(gf_stats_sumsq(x, N), r.sumsq, 0, SUM_REL);
        assert_near(abs_sum, r.abs_sum, 0, SUM_REL);
        assert_int_equal(zeros, 0);
        assert_int_equal(small, r.small);
    }
    test_free(x);
}

/* Two sums of the same values in different orders (or the fast path's float partial
 * sums): equal when either is not finite (NaN stays NaN, an infinity keeps its sign),
 * else within SUM_REL of the scale (sum |x| for a signed sum, the sum for one of
 * nonnegative terms). */
static void assert_sums_agree(double fast, double ref, double scale)
{
    if (!isfinite(fast) || !isfinite(ref)) {
        assert_true(isnan(fast) ? isnan(ref) : fast == ref);
        return;
    }
    assert_near(fast, ref, SUM_REL * scale, 0);
}

static void check_fast_against_ref(const gf_real *x, size_t n, gf_real below)
{
    double fs, fq, fa, rs, rq, ra;
    size_t fz, fz2, fc, rz, rz2, rc;
    gf_stats_moments_fast(x, n, &fs, &fq, &fz);
    gf_stats_moments_ref(x, n, &rs, &rq, &rz);
    gf_stats_abs_fast(x, n, below, &fa, &fc, &fz2);
    gf_stats_abs_ref(x, n, below, &ra, &rc, &rz2);
    assert_int_equal(fz, rz);
    assert_int_equal(fz2, rz2);
    assert_int_equal(fc, rc);
    assert_sums_agree(fa, ra, ra);
    assert_sums_agree(fs, rs, ra);
    assert_sums_agree(fq, rq, rq);
    assert_sums_agree(gf_stats_sumsq_fast(x, n), gf_stats_sumsq_ref(x, n), rq);
}

/* The fast reductions against the references, on the data of the tests above: every
 * length and start offset, every threshold, NaN and infinities, squares out of float's
 * range. The library calls one or the other (GF_FAST): the plain names must be it. */
static void fast_agrees_with_reference(void **state)
{
    static const double belows[] = {0.0, 1e-30, 0.05, 1.0, 1e30};
    static const double scales[] = {1e-25, 1e-41, 1e20};
    enum { N = 3000 };
    gf_real *y = test_malloc(N * sizeof *y);
    double s1, q1, s2, q2;
    size_t z1, z2;
    (void)state;
    for (size_t k = 0; k < N_LENGTHS; k++)
        for (size_t b = 0; b < sizeof belows / sizeof belows[0]; b++) {
            gf_real *x = mixed(lengths[k], 300 + k, (gf_real)belows[b]);
            for (size_t off = 0; off < 16 && off <= lengths[k]; off += 5)
                check_fast_against_ref(x + off, lengths[k] - off, (gf_real)belows[b]);
            if (lengths[k] > 301) {
                x[3] = (gf_real)NAN;
                check_fast_against_ref(x, lengths[k], (gf_real)belows[b]);
                x[3] = 1;
                x[300] = (gf_real)INFINITY;
                x[301] = (gf_real)INFINITY;
                check_fast_against_ref(x, lengths[k], (gf_real)belows[b]);
            }
            test_free(x);
        }
    for (size_t s = 0; s < sizeof scales / sizeof scales[0]; s++) {
        for (size_t i = 0; i < N; i++)
            y[i] = (gf_real)(scales[s] * (double)((i % 7) + 1) * (i % 2 ? 1 : -1));
        check_fast_against_ref(y, N, (gf_real)1e-30);
    }
    gf_stats_moments(y, N, &s1, &q1, &z1);
    if (GF_REFERENCE)
        gf_stats_moments_ref(y, N, &s2, &q2, &z2);
    else
        gf_stats_moments_fast(y, N, &s2, &q2, &z2);
    assert_true(s1 == s2 && q1 == q2 && z1 == z2);
    assert_true(gf_stats_sumsq(y, N) ==
                (GF_REFERENCE ? gf_stats_sumsq_ref(y, N) : gf_stats_sumsq_fast(y, N)));
    test_free(y);
}

#if !GF_REAL_IS_DOUBLE && defined(__GNUC__)
/* The order the float data's fast sums are defined by (src/fast/stats.c, "Float data"
 * and "The short block"), one value at a time: blocks of 256 values, 16 lanes; lane l of
 * accumulator j adds the term of x[i + k + 16 j + l] for k = 0, 64, 128, 192 in float,
 * starting from the first term; the four accumulators are added as (a0 + a1) + (a2 + a3)
 * and the lane goes into double lane l; then the short block, the whole 16s left, lane l
 * adding the terms of x[i + 16 g + l] in float from the first and going into double lane
 * l; the 16 double lanes are added as a tree (lane l plus lane l + 8, then halves again),
 * then the tail (under 16 values) in double, in order. Every version (AVX-512, AVX2,
 * portable: CTest runs this program under each) must give these bits, so that the
 * figures do not depend on the CPU. term: 0 the value, 1 its square, 2 its magnitude. */
static float term(float v, int kind)
{
    return kind == 0 ? v : kind == 1 ? v * v : fabsf(v);
}

static double model_sum(const float *x, size_t n, int kind)
{
    double d[16] = {0}, t[8];
    size_t i = 0;
    for (; i + 256 <= n; i += 256)
        for (int l = 0; l < 16; l++) {
            float a[4];
            for (int j = 0; j < 4; j++) {
                a[j] = term(x[i + 16 * j + l], kind);
                for (size_t k = 64; k < 256; k += 64)
                    a[j] = a[j] + term(x[i + k + 16 * j + l], kind);
            }
            d[l] += (double)((a[0] + a[1]) + (a[2] + a[3]));
        }
    if (i + 16 <= n) { /* the short block: the whole 16s left */
        size_t groups = (n - i) / 16;
        for (int l = 0; l < 16; l++) {
            float a = term(x[i + l], kind);
            for (size_t g = 1; g < groups; g++)
                a = a + term(x[i + 16 * g + l], kind);
            d[l] += (double)a;
        }
        i += 16 * groups;
    }
    for (int l = 0; l < 8; l++)
        t[l] = d[l] + d[l + 8];
    for (int w = 4; w > 0; w /= 2)
        for (int l = 0; l < w; l++)
            t[l] += t[l + w];
    for (; i < n; i++) {
        double v = x[i];
        t[0] += kind == 0 ? v : kind == 1 ? v * v : fabs(v);
    }
    return t[0];
}

static void assert_same_bits(double got, double want)
{
    assert_memory_equal(&got, &want, sizeof got);
}

/* The fast sums of float data, bit for bit as model_sum adds them, on data that keep
 * them on the float path (finite, squares in float's range). */
static void float_sums_follow_their_written_order(void **state)
{
    static const size_t ns[] = {15, 16, 17, 100, 255, 256, 257, 1000, 1024, 5003, 16384, 70001};
    (void)state;
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        gf_real *x = mixed(ns[k], 900 + k, (gf_real)0.5);
        for (size_t off = 0; off < 3; off++) {
            const float *y = x + off;
            size_t n = ns[k] - off, zeros, small;
            double sum, sumsq, abs_sum;
            gf_stats_moments_fast(y, n, &sum, &sumsq, &zeros);
            gf_stats_abs_fast(y, n, (gf_real)0.5, &abs_sum, &small, &zeros);
            assert_same_bits(gf_stats_sumsq_fast(y, n), model_sum(y, n, 1));
            assert_same_bits(sumsq, model_sum(y, n, 1));
            assert_same_bits(sum, model_sum(y, n, 0));
            assert_same_bits(abs_sum, model_sum(y, n, 2));
        }
        test_free(x);
    }
}
#endif

#if GF_REAL_IS_DOUBLE && defined(__GNUC__)
/* The order the double build's fast sums are defined by (src/fast/stats.c, "Exact
 * sums"): `lanes` lanes (32 for the sum of squares, 16 for the moments and |x|), lane l
 * adding the term of x[i + l] for i = 0, lanes, 2 lanes, ...; 32 lanes are first folded
 * to 16 (lane l plus lane l + 8, lane 16 + l plus lane 24 + l); the 16 are added as a
 * tree (lane l plus lane l + 8, then halves again); then the tail, in order. kind: 0 the
 * value, 1 its square, 2 its magnitude. */
static double exact_term(double v, int kind)
{
    return kind == 0 ? v : kind == 1 ? v * v : fabs(v);
}

static double model_exact_sum(const double *x, size_t n, size_t lanes, int kind)
{
    double d[32] = {0}, t[16];
    size_t i = 0;
    for (; i + lanes <= n; i += lanes)
        for (size_t l = 0; l < lanes; l++)
            d[l] += exact_term(x[i + l], kind);
    for (int l = 0; l < 8; l++) {
        t[l] = lanes == 32 ? d[l] + d[l + 8] : d[l];
        t[l + 8] = lanes == 32 ? d[l + 16] + d[l + 24] : d[l + 8];
    }
    for (int w = 8; w > 0; w /= 2)
        for (int l = 0; l < w; l++)
            t[l] += t[l + w];
    for (; i < n; i++)
        t[0] += exact_term(x[i], kind);
    return t[0];
}

/* The fast sums of the double build, bit for bit as model_exact_sum adds them. */
static void exact_sums_follow_their_written_order(void **state)
{
    static const size_t ns[] = {15, 16, 31, 32, 33, 1000, 1024, 5003, 16384, 70001};
    (void)state;
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        gf_real *x = mixed(ns[k], 700 + k, 0.5);
        for (size_t off = 0; off < 3; off++) {
            const double *y = x + off;
            size_t n = ns[k] - off, zeros, small;
            double sum, sumsq, abs_sum, want;
            gf_stats_moments_fast(y, n, &sum, &sumsq, &zeros);
            gf_stats_abs_fast(y, n, 0.5, &abs_sum, &small, &zeros);
            want = model_exact_sum(y, n, 32, 1);
            double got = gf_stats_sumsq_fast(y, n);
            assert_memory_equal(&got, &want, sizeof got);
            want = model_exact_sum(y, n, 16, 1);
            assert_memory_equal(&sumsq, &want, sizeof want);
            want = model_exact_sum(y, n, 16, 0);
            assert_memory_equal(&sum, &want, sizeof want);
            want = model_exact_sum(y, n, 16, 2);
            assert_memory_equal(&abs_sum, &want, sizeof want);
        }
        test_free(x);
    }
}
#endif

/* GF_SIMD picks the version of the vectorised loops (simd.h): CTest runs this program
 * again under GF_SIMD=portable and avx2 (cmake/fast.cmake), so its sums are checked in
 * every version; this checks that the variable is obeyed (a lesser version always runs,
 * a better one only if the CPU has it), so that those runs are not the default again. */
static void gf_simd_is_obeyed(void **state)
{
    const char *want = getenv("GF_SIMD");
    gf_simd_version v = gf_simd_active();
    (void)state;
    assert_true(v == gf_simd_active()); /* decided once */
    if (want != NULL && strcmp(want, "portable") == 0)
        assert_int_equal(v, GF_SIMD_PORTABLE);
    if (want != NULL && strcmp(want, "avx2") == 0)
        assert_true(v <= GF_SIMD_AVX2);
    if (want != NULL && strcmp(want, gf_simd_name(v)) != 0)
        print_message("GF_SIMD=%s: this CPU runs %s\n", want, gf_simd_name(v));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sums_and_counts_match_plain_loops),
        cmocka_unit_test(thresholds_at_the_edges),
        cmocka_unit_test(squares_out_of_float_range_stay_exact),
        cmocka_unit_test(fast_agrees_with_reference),
#if !GF_REAL_IS_DOUBLE && defined(__GNUC__)
        cmocka_unit_test(float_sums_follow_their_written_order),
#endif
#if GF_REAL_IS_DOUBLE && defined(__GNUC__)
        cmocka_unit_test(exact_sums_follow_their_written_order),
#endif
        cmocka_unit_test(gf_simd_is_obeyed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
