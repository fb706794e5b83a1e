/* tests/test_clip.c: clipping by value and by norm against hand-computed results, the
 * global norm against the concatenated arrays, huge and tiny values (no overflow or
 * underflow in the norm), NaN and inf as documented in clip.h, and bad arguments. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <string.h>

#include "gradflow/clip.h"

/* The norm is accumulated in double in both builds, so norm_before is accurate to a
 * few double ulps of the stored values; scaled gradients are rounded to gf_real, so
 * their norm is max_norm to within gf_real's epsilon (times a small factor). */
#if GF_REAL_IS_DOUBLE
#define REAL_EPS DBL_EPSILON
#else
#define REAL_EPS FLT_EPSILON
#endif

static double ref_norm(const gf_real *g, size_t n)
{
    /* A reference independent of the code under test: a plain sum in long double,
     * applied only to arrays whose squares fit in double. */
    long double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (long double)g[i] * (long double)g[i];
    return (double)sqrtl(s);
}

static void assert_failed_with(gf_status got, gf_status want)
{
    assert_int_equal(got, want);
    assert_true(strlen(gf_last_error()) > 0);
}

static void assert_rel(double got, double want, double tol)
{
    if (!(fabs(got - want) <= tol * fabs(want)))
        fail_msg("got %.17g, expected %.17g (rel tol %g)", got, want, tol);
}

static void names(void **state)
{
    (void)state;
    assert_string_equal(gf_clip_name(GF_CLIP_NONE), "none");
    assert_string_equal(gf_clip_name(GF_CLIP_VALUE), "value");
    assert_string_equal(gf_clip_name(GF_CLIP_NORM), "norm");
    assert_string_equal(gf_clip_name(GF_CLIP_GLOBAL_NORM), "global_norm");
    assert_null(gf_clip_name(GF_CLIP_COUNT));
    assert_null(gf_clip_name((gf_clip_kind)-1));
}

/* ---- By value ---------------------------------------------------------------------- */

static void value_clamps(void **state)
{
    gf_real g[7] = {-3, -1, -0.25f, 0, 0.5f, 1, 2.5f};
    const gf_real want[7] = {-1, -1, -0.25f, 0, 0.5f, 1, 1};
    double pre = -1, ref = ref_norm(g, 7);
    (void)state;
    assert_int_equal(gf_clip_value(g, &pre, 7, 1.0), GF_OK);
    assert_memory_equal(g, want, sizeof g);
    assert_rel(pre, ref, 1e-15); /* sqrt(9+1+1/16+1/4+1+6.25) */
    assert_rel(pre, sqrt(17.5625), 1e-15);

    /* A limit above the largest gf_real clamps nothing (and does not overflow). */
    gf_real h[3] = {-2, 3, (gf_real)1e30};
    gf_real h0[3];
    memcpy(h0, h, sizeof h);
    assert_int_equal(gf_clip_value(h, NULL, 3, 1e300), GF_OK);
    assert_memory_equal(h, h0, sizeof h);

    /* n = 0: nothing to do, norm 0; a NULL array is fine then. */
    pre = -1;
    assert_int_equal(gf_clip_value(NULL, &pre, 0, 1.0), GF_OK);
    assert_true(pre == 0);
}

/* Documented in clip.h: +-inf is clamped (status OK, norm_before inf); NaN is left,
 * the rest still clamped, status GF_ENONFINITE, norm_before NaN. */
static void value_nan_and_inf(void **state)
{
    gf_real g[4] = {(gf_real)INFINITY, 5, (gf_real)-INFINITY, -0.5f};
    double pre = 0;
    (void)state;
    assert_int_equal(gf_clip_value(g, &pre, 4, 2.0), GF_OK);
    assert_true(g[0] == 2 && g[1] == 2 && g[2] == -2 && g[3] == -0.5f);
    assert_true(isinf(pre));

    gf_real h[5] = {3, (gf_real)NAN, -4, (gf_real)NAN, 0.25f};
    gf_clear_error();
    assert_failed_with(gf_clip_value(h, &pre, 5, 1.0), GF_ENONFINITE);
    assert_non_null(strstr(gf_last_error(), "NaN"));
    assert_non_null(strstr(gf_last_error(), "2 of 5")); /* counts them */
    assert_true(isnan(pre));
    assert_true(h[0] == 1 && isnan(h[1]) && h[2] == -1 && isnan(h[3]) && h[4] == 0.25f);
}

/* ---- By norm ----------------------------------------------------------------------- */

static void norm_above_is_scaled_to_max(void **state)
{
    enum { N = 6 };
    gf_real g[N] = {3, -4, 12, 0.5f, -7, 1e-3f}, g0[N];
    double pre = 0, ref = ref_norm(g, N);
    (void)state;
    memcpy(g0, g, sizeof g);
    assert_int_equal(gf_clip_norm(g, &pre, N, 2.0), GF_OK);
    assert_rel(pre, ref, 1e-15);
    assert_rel(ref_norm(g, N), 2.0, 4 * REAL_EPS);
    /* Direction kept: each component scaled by the same factor 2 / ||g0||. */
    for (int i = 0; i < N; i++)
        assert_rel(g[i], g0[i] * (2.0 / ref), 2 * REAL_EPS);

    /* The classic 3-4-5: norm 5 clipped to 1 gives (0.6, 0.8). */
    gf_real t[2] = {3, 4};
    assert_int_equal(gf_clip_norm(t, &pre, 2, 1.0), GF_OK);
    assert_true(pre == 5.0);
    assert_rel(t[0], 0.6, REAL_EPS);
    assert_rel(t[1], 0.8, REAL_EPS);
}

static void norm_below_or_equal_untouched(void **state)
{
    gf_real g[3] = {0.1f, -0.2f, 0.05f}, g0[3];
    gf_real z[4] = {0, 0, 0, 0};
    gf_real e[2] = {3, 4};
    double pre = 0;
    (void)state;
    memcpy(g0, g, sizeof g);
    assert_int_equal(gf_clip_norm(g, &pre, 3, 1.0), GF_OK);
    assert_memory_equal(g, g0, sizeof g);
    assert_rel(pre, ref_norm(g0, 3), 1e-15);
    assert_int_equal(gf_clip_norm(e, &pre, 2, 5.0), GF_OK); /* exactly at the limit */
    assert_true(e[0] == 3 && e[1] == 4 && pre == 5.0);
    assert_int_equal(gf_clip_norm(z, &pre, 4, 1.0), GF_OK);
    assert_true(pre == 0 && z[0] == 0 && z[3] == 0);
    assert_int_equal(gf_clip_norm(NULL, &pre, 0, 1.0), GF_OK);
    assert_true(pre == 0);
    assert_int_equal(gf_clip_norm(g, NULL, 3, 1.0), GF_OK); /* norm_before optional */
}

/* The global norm over several arrays equals the norm of their concatenation, and so
 * does the clipped result. */
static void multi_equals_concatenation(void **state)
{
    gf_real a[3] = {1, -2, 3}, b[1] = {10}, c[4] = {-0.5f, 0.25f, 7, -6};
    gf_real cat[8];
    gf_real *gs[4] = {a, NULL, b, c};
    const size_t ns[4] = {3, 0, 1, 4}; /* an empty array in the middle */
    double pre_multi = 0, pre_cat = 0;
    (void)state;
    memcpy(cat, a, sizeof a);
    memcpy(cat + 3, b, sizeof b);
    memcpy(cat + 4, c, sizeof c);
    assert_int_equal(gf_clip_norm_multi(gs, &pre_multi, ns, 4, 3.0), GF_OK);
    assert_int_equal(gf_clip_norm(cat, &pre_cat, 8, 3.0), GF_OK);
    assert_rel(pre_multi, pre_cat, 1e-15);
    assert_rel(pre_multi, sqrt(1 + 4 + 9 + 100 + 0.25 + 0.0625 + 49 + 36), 1e-15);
    assert_memory_equal(a, cat, sizeof a);
    assert_memory_equal(b, cat + 3, sizeof b);
    assert_memory_equal(c, cat + 4, sizeof c);
    assert_rel(ref_norm(cat, 8), 3.0, 4 * REAL_EPS);

    /* Below the threshold nothing changes; no arrays at all is norm 0. */
    gf_real a1[3];
    memcpy(a1, a, sizeof a);
    assert_int_equal(gf_clip_norm_multi(gs, &pre_multi, ns, 4, 100.0), GF_OK);
    assert_memory_equal(a, a1, sizeof a);
    assert_int_equal(gf_clip_norm_multi(NULL, &pre_multi, NULL, 0, 1.0), GF_OK);
    assert_true(pre_multi == 0);
}

/* ---- Huge and tiny values ---------------------------------------------------------- */

/* 1e30 squared is 1e60, far beyond float; the norm must still come out right. */
static void huge_values_float_range(void **state)
{
    enum { N = 1000 };
    static gf_real g[N];
    double pre = 0;
    (void)state;
    for (int i = 0; i < N; i++)
        g[i] = (gf_real)(i % 2 ? 1e30 : -1e30);
    assert_int_equal(gf_clip_norm(g, &pre, N, 1.0), GF_OK);
    assert_rel(pre, 1e30 * sqrt((double)N), 1e-6); /* 1e30 rounded to gf_real */
    assert_rel(ref_norm(g, N), 1.0, 4 * REAL_EPS);
    assert_rel(fabs(g[0]), 1.0 / sqrt((double)N), 2 * REAL_EPS);

    /* The largest finite gf_real, scaled to a tiny max_norm: the factor (~1e-48 for
     * float) is below float's range but the result is not. */
    const double big = GF_REAL_IS_DOUBLE ? 1e300 : FLT_MAX;
    gf_real m[2] = {(gf_real)-big, (gf_real)big};
    assert_int_equal(gf_clip_norm(m, &pre, 2, 1e-10), GF_OK);
    assert_rel(pre, sqrt(2.0) * big, 1e-15);
    assert_rel(m[1], 1e-10 / sqrt(2.0), 2 * REAL_EPS);
    assert_rel(-m[0], 1e-10 / sqrt(2.0), 2 * REAL_EPS);

    /* Value clipping reports the same huge norm. */
    gf_real v[N];
    for (int i = 0; i < N; i++)
        v[i] = (gf_real)3e37;
    assert_int_equal(gf_clip_value(v, &pre, N, 1.0), GF_OK);
    assert_rel(pre, (double)(gf_real)3e37 * sqrt((double)N), 1e-12);
    assert_true(v[0] == 1 && v[N - 1] == 1);
}

#if GF_REAL_IS_DOUBLE
/* In double, squares of 1e200 overflow and squares of 1e-200 underflow: the norm must
 * take the scaled path (as dnrm2) and still be accurate. */
static void huge_and_tiny_values_double(void **state)
{
    enum { N = 100 };
    static gf_real g[N], h[N];
    double pre = 0;
    (void)state;
    for (int i = 0; i < N; i++)
        g[i] = i % 3 ? 1e200 : -2e200;
    double want = 1e200 * sqrt(4.0 * 34 + 66); /* 34 multiples of 3 in [0, 100) */
    assert_int_equal(gf_clip_norm(g, &pre, N, 1.0), GF_OK);
    assert_true(isfinite(pre));
    assert_rel(pre, want, 1e-14);
    assert_rel(ref_norm(g, N), 1.0, 8 * DBL_EPSILON);
    assert_rel(g[0], -2.0 / sqrt(202.0), 4 * DBL_EPSILON);

    /* Multi with one huge array and one ordinary one. */
    gf_real big[2] = {3e250, -4e250}, small[3] = {1, 2, 3};
    gf_real *gs[2] = {small, big};
    const size_t ns[2] = {3, 2};
    assert_int_equal(gf_clip_norm_multi(gs, &pre, ns, 2, 10.0), GF_OK);
    assert_rel(pre, 5e250, 1e-14);
    assert_rel(big[0], 6.0, 4 * DBL_EPSILON);
    assert_rel(big[1], -8.0, 4 * DBL_EPSILON);
    assert_true(small[0] > 0 && small[0] < 1e-240); /* scaled by 2e-250, still nonzero */

    /* Tiny: the plain sum of squares would be 0 and hide a nonzero gradient. */
    for (int i = 0; i < N; i++)
        h[i] = 3e-200;
    assert_int_equal(gf_clip_value(h, &pre, N, 1.0), GF_OK);
    assert_rel(pre, 3e-200 * 10.0, 1e-14);
    assert_int_equal(gf_clip_norm(h, &pre, N, 1.0), GF_OK);
    assert_rel(pre, 3e-199, 1e-14);
    assert_true(h[0] == 3e-200); /* below the threshold: untouched */

    /* Finite values whose norm exceeds DBL_MAX: reported as inf, yet clipped (GF_OK). */
    gf_real o[3] = {1.5e308, -1.5e308, 1.5e308};
    assert_int_equal(gf_clip_norm(o, &pre, 3, 1.0), GF_OK);
    assert_true(isinf(pre));
    for (int i = 0; i < 3; i++)
        assert_rel(fabs(o[i]), 1.0 / sqrt(3.0), 4 * DBL_EPSILON);

    /* Subnormal values: the scaled pass divides rather than multiplying by 1/max. */
    gf_real d[2] = {4.9406564584124654e-324, 4.9406564584124654e-324};
    assert_int_equal(gf_clip_norm(d, &pre, 2, 1.0), GF_OK);
    assert_rel(pre, d[0] * sqrt(2.0), 1e-15);
}
#endif

/* ---- Non-finite norms -------------------------------------------------------------- */

static void norm_nonfinite_left_unchanged(void **state)
{
    gf_real g[4] = {1, (gf_real)NAN, 100, -3}, g0[4];
    gf_real h[3] = {1, (gf_real)-INFINITY, 2}, h0[3];
    double pre = 0;
    (void)state;
    memcpy(g0, g, sizeof g);
    memcpy(h0, h, sizeof h);
    gf_clear_error();
    assert_failed_with(gf_clip_norm(g, &pre, 4, 1.0), GF_ENONFINITE);
    assert_non_null(strstr(gf_last_error(), "NaN"));
    assert_non_null(strstr(gf_last_error(), "unchanged"));
    assert_true(isnan(pre));
    assert_memory_equal(g, g0, sizeof g);

    gf_clear_error();
    assert_failed_with(gf_clip_norm(h, &pre, 3, 1.0), GF_ENONFINITE);
    assert_non_null(strstr(gf_last_error(), "infinite"));
    assert_true(isinf(pre));
    assert_memory_equal(h, h0, sizeof h);

    /* Multi: one bad array leaves every array alone. */
    gf_real a[2] = {30, 40}, a0[2];
    gf_real *gs[2] = {a, h};
    const size_t ns[2] = {2, 3};
    memcpy(a0, a, sizeof a);
    gf_clear_error();
    assert_failed_with(gf_clip_norm_multi(gs, &pre, ns, 2, 1.0), GF_ENONFINITE);
    assert_true(isinf(pre));
    assert_memory_equal(a, a0, sizeof a);
    assert_memory_equal(h, h0, sizeof h);
    gs[1] = g;
    gf_clear_error();
    assert_failed_with(gf_clip_norm_multi(gs, &pre, (const size_t[]){2, 4}, 2, 1.0),
                       GF_ENONFINITE);
    assert_true(isnan(pre));
    assert_memory_equal(a, a0, sizeof a);
}

/* ---- Bad arguments ----------------------------------------------------------------- */

static void bad_thresholds_rejected(void **state)
{
    const double bad[] = {0.0, -0.0, -1.0, NAN, INFINITY, -INFINITY};
    gf_real g[3] = {5, -5, 5}, g0[3];
    gf_real *gs[1] = {g};
    const size_t ns[1] = {3};
    double pre = 123;
    (void)state;
    memcpy(g0, g, sizeof g);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gf_clear_error();
        assert_failed_with(gf_clip_value(g, &pre, 3, bad[i]), GF_EINVAL);
        assert_non_null(strstr(gf_last_error(), "limit"));
        gf_clear_error();
        assert_failed_with(gf_clip_norm(g, &pre, 3, bad[i]), GF_EINVAL);
        assert_non_null(strstr(gf_last_error(), "max_norm"));
        gf_clear_error();
        assert_failed_with(gf_clip_norm_multi(gs, &pre, ns, 1, bad[i]), GF_EINVAL);
        assert_non_null(strstr(gf_last_error(), "max_norm"));
    }
    assert_memory_equal(g, g0, sizeof g);
    assert_true(pre == 123); /* not written on GF_EINVAL */
}

static void null_arrays_rejected(void **state)
{
    gf_real a[2] = {1, 2};
    gf_real *gs[2] = {a, NULL};
    const size_t ns[2] = {2, 5};
    (void)state;
    gf_clear_error();
    assert_failed_with(gf_clip_value(NULL, NULL, 3, 1.0), GF_EINVAL);
    gf_clear_error();
    assert_failed_with(gf_clip_norm(NULL, NULL, 3, 1.0), GF_EINVAL);
    gf_clear_error();
    assert_failed_with(gf_clip_norm_multi(NULL, NULL, ns, 2, 1.0), GF_EINVAL);
    gf_clear_error();
    assert_failed_with(gf_clip_norm_multi(gs, NULL, NULL, 2, 1.0), GF_EINVAL);
    gf_clear_error();
    assert_failed_with(gf_clip_norm_multi(gs, NULL, ns, 2, 1.0), GF_EINVAL);
    assert_non_null(strstr(gf_last_error(), "gs[1]"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names),
        cmocka_unit_test(value_clamps),
        cmocka_unit_test(value_nan_and_inf),
        cmocka_unit_test(norm_above_is_scaled_to_max),
        cmocka_unit_test(norm_below_or_equal_untouched),
        cmocka_unit_test(multi_equals_concatenation),
        cmocka_unit_test(huge_values_float_range),
#if GF_REAL_IS_DOUBLE
        cmocka_unit_test(huge_and_tiny_values_double),
#endif
        cmocka_unit_test(norm_nonfinite_left_unchanged),
        cmocka_unit_test(bad_thresholds_rejected),
        cmocka_unit_test(null_arrays_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
