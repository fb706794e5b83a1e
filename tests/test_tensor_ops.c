/* tests/test_tensor_ops.c: tensors, part of test_tensor (tests/test_tensor.h):
 * element-wise operations, reductions (summed in double), norms at the edges of the
 * number range, and the documented status (with a message) for every NULL input. */
#include "test_tensor.h"

/* ==== Element-wise =================================================================== */

void add_sub_mul_with_aliasing(void **state)
{
    const double va[6] = {1, -2, 3, 0.5, 0, -4}, vb[6] = {2, 3, -1, 0.25, 7, -0.5};
    gf_tensor *a = tensor_of(2, 3, va), *b = tensor_of(2, 3, vb), *out = tu_tensor(2, 3);
    (void)state;
    assert_ok(gf_tensor_add(out, a, b));
    assert_values(out, (const double[]){3, 1, 2, 0.75, 7, -4.5}, 6);
    assert_ok(gf_tensor_sub(out, a, b));
    assert_values(out, (const double[]){-1, -5, 4, 0.25, -7, -3.5}, 6);
    assert_ok(gf_tensor_mul(out, a, b));
    assert_values(out, (const double[]){2, -6, -3, 0.125, 0, 2}, 6);

    /* out may alias a, b, or both. */
    assert_ok(gf_tensor_add(a, a, b));
    assert_values(a, (const double[]){3, 1, 2, 0.75, 7, -4.5}, 6);
    assert_ok(gf_tensor_sub(b, a, b)); /* b = (a + b) - b = a_original */
    assert_values(b, va, 6);
    assert_ok(gf_tensor_mul(b, b, b));
    assert_values(b, (const double[]){1, 4, 9, 0.25, 0, 16}, 6);
    assert_ok(gf_tensor_sub(a, a, a));
    assert_values(a, (const double[]){0, 0, 0, 0, 0, 0}, 6);

    /* Shape mismatches: any pair; out untouched. */
    gf_tensor *w = tu_tensor(3, 2), *x = tu_tensor(2, 3);
    assert_ok(gf_tensor_fill(out, 5));
    assert_status(gf_tensor_add(out, a, w), GF_ESHAPE);
    assert_error_mentions("gf_tensor_add");
    assert_status(gf_tensor_sub(out, w, a), GF_ESHAPE);
    assert_error_mentions("gf_tensor_sub");
    assert_status(gf_tensor_mul(w, a, x), GF_ESHAPE);
    assert_error_mentions("gf_tensor_mul");
    for (size_t i = 0; i < 6; i++)
        assert_true(out->data[i] == 5 && w->data[i] == 0);

    gf_tensor_free(a);
    gf_tensor_free(b);
    gf_tensor_free(out);
    gf_tensor_free(w);
    gf_tensor_free(x);
}

void scale_axpy_add_row(void **state)
{
    const double vx[6] = {1, 2, 3, 4, 5, 6};
    gf_tensor *x = tensor_of(2, 3, vx), *y = tu_tensor(2, 3);
    (void)state;
    assert_ok(gf_tensor_scale_inplace(x, -2));
    assert_values(x, (const double[]){-2, -4, -6, -8, -10, -12}, 6);
    assert_ok(gf_tensor_fill(y, 1));
    assert_ok(gf_tensor_axpy(y, x, (gf_real)0.5));
    assert_values(y, (const double[]){0, -1, -2, -3, -4, -5}, 6);
    /* y = y + alpha y with x aliasing y. */
    assert_ok(gf_tensor_axpy(y, y, 3));
    assert_values(y, (const double[]){0, -4, -8, -12, -16, -20}, 6);
    assert_ok(gf_tensor_scale_inplace(y, 0));
    assert_values(y, (const double[]){0, 0, 0, 0, 0, 0}, 6);

    /* Bias broadcast. */
    gf_tensor *row = tensor_of(1, 3, (const double[]){10, 20, 30});
    assert_ok(gf_tensor_add_row_inplace(x, row));
    assert_values(x, (const double[]){8, 16, 24, 2, 10, 18}, 6);
    assert_values(row, (const double[]){10, 20, 30}, 3);

    gf_tensor *bad_row = tu_tensor(2, 3), *long_row = tu_tensor(1, 4), *w = tu_tensor(3, 2);
    assert_status(gf_tensor_add_row_inplace(x, bad_row), GF_ESHAPE);
    assert_error_mentions("gf_tensor_add_row_inplace");
    assert_status(gf_tensor_add_row_inplace(x, long_row), GF_ESHAPE);
    assert_status(gf_tensor_axpy(y, w, 1), GF_ESHAPE);
    assert_error_mentions("gf_tensor_axpy");
    assert_values(x, (const double[]){8, 16, 24, 2, 10, 18}, 6);

    gf_tensor_free(x);
    gf_tensor_free(y);
    gf_tensor_free(row);
    gf_tensor_free(bad_row);
    gf_tensor_free(long_row);
    gf_tensor_free(w);
}

/* ==== Reductions ===================================================================== */

void sum_rows_and_cols_with_beta(void **state)
{
    const double va[6] = {1, 2, 3, 4, 5, 6};
    gf_tensor *a = tensor_of(2, 3, va);
    gf_tensor *cs = tu_tensor(1, 3), *rs = tu_tensor(2, 1);
    (void)state;
    /* beta = 0 ignores old contents, NaN included. */
    assert_ok(gf_tensor_fill(cs, (gf_real)NAN));
    assert_ok(gf_tensor_fill(rs, (gf_real)NAN));
    assert_ok(gf_tensor_sum_rows(cs, a, 0));
    assert_values(cs, (const double[]){5, 7, 9}, 3);
    assert_ok(gf_tensor_sum_cols(rs, a, 0));
    assert_values(rs, (const double[]){6, 15}, 2);
    /* beta = 1 accumulates, beta = 0.5 scales first. */
    assert_ok(gf_tensor_sum_rows(cs, a, 1));
    assert_values(cs, (const double[]){10, 14, 18}, 3);
    assert_ok(gf_tensor_sum_rows(cs, a, (gf_real)0.5));
    assert_values(cs, (const double[]){10, 14, 18}, 3);
    assert_ok(gf_tensor_sum_cols(rs, a, 1));
    assert_values(rs, (const double[]){12, 30}, 2);
    assert_ok(gf_tensor_sum_cols(rs, a, (gf_real)-0.5));
    assert_values(rs, (const double[]){0, 0}, 2);

    /* Shape errors, out untouched. */
    gf_tensor *wrong_c = tu_tensor(1, 2), *wrong_r = tu_tensor(3, 1), *two = tu_tensor(2, 3);
    assert_status(gf_tensor_sum_rows(wrong_c, a, 0), GF_ESHAPE);
    assert_error_mentions("gf_tensor_sum_rows");
    assert_status(gf_tensor_sum_rows(two, a, 0), GF_ESHAPE);
    assert_status(gf_tensor_sum_rows(rs, a, 0), GF_ESHAPE);
    assert_status(gf_tensor_sum_cols(wrong_r, a, 0), GF_ESHAPE);
    assert_error_mentions("gf_tensor_sum_cols");
    assert_status(gf_tensor_sum_cols(cs, a, 0), GF_ESHAPE);
    assert_values(cs, (const double[]){10, 14, 18}, 3);
    assert_values(rs, (const double[]){0, 0}, 2);

    gf_tensor_free(a);
    gf_tensor_free(cs);
    gf_tensor_free(rs);
    gf_tensor_free(wrong_c);
    gf_tensor_free(wrong_r);
    gf_tensor_free(two);
}

void sum_rows_and_cols_match_reference(void **state)
{
    /* Wider than any internal chunk of columns, with a ragged end. */
    const size_t rows = 37, cols = 150;
    gf_tensor *a = tu_tensor(rows, cols), *cs = tu_tensor(1, cols), *rs = tu_tensor(rows, 1);
    gf_rng rng;
    (void)state;
    gf_rng_seed(&rng, 6);
    tu_fill_uniform(a, &rng, -1, 1);
    tu_fill_uniform(cs, &rng, -1, 1);
    tu_fill_uniform(rs, &rng, -1, 1);
    double ref_c[150], ref_r[37];
    for (size_t c = 0; c < cols; c++) {
        ref_c[c] = 0.25 * (double)cs->data[c];
        for (size_t r = 0; r < rows; r++)
            ref_c[c] += a->data[r * cols + c];
    }
    for (size_t r = 0; r < rows; r++) {
        ref_r[r] = -2.0 * (double)rs->data[r];
        for (size_t c = 0; c < cols; c++)
            ref_r[r] += a->data[r * cols + c];
    }
    assert_ok(gf_tensor_sum_rows(cs, a, (gf_real)0.25));
    assert_ok(gf_tensor_sum_cols(rs, a, -2));
    /* Sums in double, one final rounding to gf_real (terms below 1, sums below 40). */
    for (size_t c = 0; c < cols; c++)
        assert_near(cs->data[c], ref_c[c], 40 * TU_EPS, 0);
    for (size_t r = 0; r < rows; r++)
        assert_near(rs->data[r], ref_r[r], 160 * TU_EPS, 0);
    gf_tensor_free(a);
    gf_tensor_free(cs);
    gf_tensor_free(rs);
}

void sums_accumulate_in_double(void **state)
{
    /* 2^24 followed by 16 ones: in float arithmetic every 2^24 + 1 rounds back to 2^24;
     * accumulated in double the exact 2^24 + 16 (representable in float) comes out. */
    enum { R = 17 };
    gf_tensor *a = tu_tensor(R, 1), *at = tu_tensor(1, R);
    gf_tensor *cs = tu_tensor(1, 1), *rs = tu_tensor(1, 1);
    (void)state;
    assert_ok(gf_tensor_fill(a, 1));
    assert_ok(gf_tensor_fill(at, 1));
    a->data[0] = at->data[0] = 16777216;
    assert_ok(gf_tensor_sum_rows(cs, a, 0));  /* column sum over 17 rows */
    assert_ok(gf_tensor_sum_cols(rs, at, 0)); /* row sum over 17 columns */
    assert_true(cs->data[0] == 16777232);
    assert_true(rs->data[0] == 16777232);
    assert_true(gf_tensor_sum(a) == 16777232.0);
    assert_true(gf_tensor_dot(a, a) == 16777216.0 * 16777216.0 + 16);
    gf_tensor_free(a);
    gf_tensor_free(at);
    gf_tensor_free(cs);
    gf_tensor_free(rs);
}

void sum_and_dot(void **state)
{
    const double va[6] = {1, 2, 3, 4, 5, 6}, vb[6] = {-1, 0.5, 2, 0, 1, -2};
    gf_tensor *a = tensor_of(2, 3, va), *b = tensor_of(2, 3, vb), *c = tu_tensor(3, 2);
    (void)state;
    assert_true(gf_tensor_sum(a) == 21);
    assert_true(gf_tensor_dot(a, b) == -1 + 1 + 6 + 0 + 5 - 12);
    assert_true(gf_tensor_dot(a, a) == 91);
    assert_true(isnan(gf_tensor_dot(a, c))); /* same size, different shape */
    assert_true(isnan(gf_tensor_dot(a, NULL)));
    assert_true(isnan(gf_tensor_dot(NULL, a)));
    assert_true(isnan(gf_tensor_sum(NULL)));
    gf_tensor empty = gf_tensor_view(NULL, 0, 4);
    assert_true(isnan(gf_tensor_sum(&empty)));
    gf_tensor nodata = {.data = NULL, .rows = 2, .cols = 3};
    assert_true(isnan(gf_tensor_sum(&nodata)));
    assert_true(isnan(gf_tensor_dot(&nodata, a)));
    gf_tensor_free(a);
    gf_tensor_free(b);
    gf_tensor_free(c);
}

/* ==== Norms ========================================================================== */

void norm2_known_values(void **state)
{
    gf_real v[5] = {3, 4, 0, 0, 0};
    (void)state;
    gf_tensor t = gf_tensor_view(v, 1, 2);
    assert_true(gf_tensor_norm2(&t) == 5);
    assert_true(gf_array_norm2(v, 2) == 5);
    assert_true(gf_array_sumsq(v, 2) == 25);
    /* Odd lengths exercise the tail after groups of four: 1+4+...+n^2 = n(n+1)(2n+1)/6. */
    gf_real r[11];
    for (int n = 0; n <= 11; n++) {
        for (int i = 0; i < n; i++)
            r[i] = (gf_real)(i + 1);
        assert_true(gf_array_sumsq(r, (size_t)n) == n * (n + 1) * (2 * n + 1) / 6.0);
    }
    gf_tensor t5 = gf_tensor_view(v, 5, 1);
    v[0] = -3;
    v[3] = -4;
    v[1] = 12;
    assert_true(gf_tensor_norm2(&t5) == 13); /* 9 + 144 + 16 = 169 */
    assert_true(gf_array_norm2(v, 0) == 0);
    assert_true(gf_array_sumsq(v, 0) == 0);
    gf_tensor zero = gf_tensor_view(v + 4, 1, 1);
    assert_true(gf_tensor_norm2(&zero) == 0);
}

void norm2_extreme_magnitudes(void **state)
{
    (void)state;
    /* Squares of 1e30 overflow float but not the double accumulator. */
    gf_real big[3] = {(gf_real)1e30, (gf_real)-1e30, (gf_real)1e30};
    gf_tensor t = gf_tensor_view(big, 3, 1);
    assert_near(gf_tensor_norm2(&t), sqrt(3.0) * (double)(gf_real)1e30, 0, 4 * DBL_EPSILON);
    gf_real fmax[2] = {FLT_MAX, FLT_MAX};
    assert_near(gf_array_norm2(fmax, 2), sqrt(2.0) * FLT_MAX, 0, 4 * DBL_EPSILON);
    assert_int_equal(gf_array_count_nonfinite(fmax, 2), 0);
#if GF_REAL_IS_DOUBLE
    /* 1e200^2 overflows even double: the norm must be computed by scaling. */
    gf_real huge[4] = {1e200, -3e200, 1, 0};
    assert_near(gf_array_norm2(huge, 4), sqrt(10.0) * 1e200, 0, 8 * DBL_EPSILON);
    gf_real dmax[2] = {DBL_MAX / 2, DBL_MAX / 4};
    assert_near(gf_array_norm2(dmax, 2), sqrt(5.0) / 4 * DBL_MAX, 0, 8 * DBL_EPSILON);
    /* And 1e-200^2 underflows to zero: a vanishing gradient must not read as exactly 0. */
    gf_real tiny[3] = {3e-200, 4e-200, 0};
    assert_near(gf_array_norm2(tiny, 3), 5e-200, 0, 8 * DBL_EPSILON);
    gf_real denorm[2] = {DBL_MIN / 1024, 0};
    assert_near(gf_array_norm2(denorm, 2), DBL_MIN / 1024, 0, 8 * DBL_EPSILON);
#else
    /* The smallest float subnormals square to ~1e-90, well inside double's range. */
    gf_real tiny[3] = {3e-40f, 4e-40f, 0};
    assert_near(gf_array_norm2(tiny, 3), hypot((double)tiny[0], (double)tiny[1]), 0,
                4 * DBL_EPSILON);
    gf_real sub[1] = {0x1p-149f};
    assert_true(gf_array_norm2(sub, 1) == 0x1p-149);
#endif
}

void norm2_nan_and_inf(void **state)
{
    (void)state;
    gf_real a[5] = {1, 2, (gf_real)NAN, 4, 5};
    assert_true(isnan(gf_array_norm2(a, 5)));
    gf_real b[5] = {1, 2, -(gf_real)INFINITY, 4, 5};
    assert_true(isinf(gf_array_norm2(b, 5)) && gf_array_norm2(b, 5) > 0);
    b[0] = (gf_real)INFINITY;
    assert_true(isinf(gf_array_norm2(b, 5)));
    /* Infinity and NaN together: NaN, in either order. */
    b[4] = (gf_real)NAN;
    assert_true(isnan(gf_array_norm2(b, 5)));
    gf_real c[6] = {(gf_real)NAN, (gf_real)INFINITY, 1, 1, 1, 1};
    assert_true(isnan(gf_array_norm2(c, 6)));
#if GF_REAL_IS_DOUBLE
    /* A finite sum that overflows, plus an infinity or a NaN. */
    gf_real d[3] = {1e300, 1e300, INFINITY};
    assert_true(isinf(gf_array_norm2(d, 3)));
    d[2] = NAN;
    assert_true(isnan(gf_array_norm2(d, 3)));
#endif
    gf_tensor t = gf_tensor_view(a, 1, 5);
    assert_true(isnan(gf_tensor_norm2(&t)));
}

void norm_max_and_count_nonfinite(void **state)
{
    gf_real v[6] = {1, -7.5f, 3, 0, 2, -1};
    gf_tensor t = gf_tensor_view(v, 2, 3);
    (void)state;
    assert_true(gf_tensor_norm_max(&t) == 7.5);
    assert_int_equal(gf_tensor_count_nonfinite(&t), 0);
    v[2] = -(gf_real)INFINITY;
    assert_true(isinf(gf_tensor_norm_max(&t)) && gf_tensor_norm_max(&t) > 0);
    assert_int_equal(gf_tensor_count_nonfinite(&t), 1);
    v[4] = (gf_real)NAN;
    v[5] = (gf_real)INFINITY;
    assert_true(isnan(gf_tensor_norm_max(&t)));
    assert_int_equal(gf_tensor_count_nonfinite(&t), 3);
    assert_int_equal(gf_array_count_nonfinite(v, 6), 3);
    assert_int_equal(gf_array_count_nonfinite(v, 2), 0);
    /* NaN first, then larger finite values: still NaN. */
    gf_real w[3] = {(gf_real)NAN, 5, 9};
    gf_tensor tw = gf_tensor_view(w, 1, 3);
    assert_true(isnan(gf_tensor_norm_max(&tw)));
    gf_real z[2] = {0, -0.0f};
    gf_tensor tz = gf_tensor_view(z, 2, 1);
    assert_true(gf_tensor_norm_max(&tz) == 0);
}

/* ==== NULL inputs ==================================================================== */

void null_inputs_never_crash(void **state)
{
    gf_tensor *t = tu_tensor(2, 3), *row = tu_tensor(1, 3);
    gf_tensor *cs = tu_tensor(1, 3), *rs = tu_tensor(2, 1);
    gf_tensor nodata = {.data = NULL, .rows = 2, .cols = 3};
    gf_tensor *out = (gf_tensor *)&out;
    (void)state;

    assert_status(gf_tensor_new(NULL, 2, 2), GF_EINVAL);
    assert_status(gf_tensor_new(&out, 0, 2), GF_EINVAL);
    assert_null(out);
    gf_tensor_free(NULL);
    assert_int_equal(gf_tensor_size(NULL), 0);
    assert_status(gf_tensor_resize_rows(NULL, 1), GF_EINVAL);

    assert_status(gf_tensor_copy(NULL, t), GF_EINVAL);
    assert_status(gf_tensor_copy(t, NULL), GF_EINVAL);
    assert_status(gf_tensor_copy(&nodata, t), GF_EINVAL);
    assert_status(gf_tensor_copy(t, &nodata), GF_EINVAL);
    assert_status(gf_tensor_fill(NULL, 1), GF_EINVAL);
    assert_status(gf_tensor_fill(&nodata, 1), GF_EINVAL);
    assert_status(gf_tensor_zero(NULL), GF_EINVAL);
    assert_status(gf_tensor_zero(&nodata), GF_EINVAL);

    gf_status (*const binary[3])(gf_tensor *, const gf_tensor *, const gf_tensor *) = {
        gf_tensor_add, gf_tensor_sub, gf_tensor_mul};
    for (int f = 0; f < 3; f++) {
        assert_status(binary[f](NULL, t, t), GF_EINVAL);
        assert_status(binary[f](t, NULL, t), GF_EINVAL);
        assert_status(binary[f](t, t, NULL), GF_EINVAL);
        assert_status(binary[f](&nodata, t, t), GF_EINVAL);
        assert_status(binary[f](t, &nodata, t), GF_EINVAL);
        assert_status(binary[f](t, t, &nodata), GF_EINVAL);
    }
    assert_status(gf_tensor_scale_inplace(NULL, 2), GF_EINVAL);
    assert_status(gf_tensor_scale_inplace(&nodata, 2), GF_EINVAL);
    assert_status(gf_tensor_axpy(NULL, t, 1), GF_EINVAL);
    assert_status(gf_tensor_axpy(t, NULL, 1), GF_EINVAL);
    assert_status(gf_tensor_axpy(t, &nodata, 1), GF_EINVAL);
    assert_status(gf_tensor_add_row_inplace(NULL, row), GF_EINVAL);
    assert_status(gf_tensor_add_row_inplace(t, NULL), GF_EINVAL);
    assert_status(gf_tensor_add_row_inplace(&nodata, row), GF_EINVAL);
    assert_status(gf_tensor_sum_rows(NULL, t, 0), GF_EINVAL);
    assert_status(gf_tensor_sum_rows(cs, NULL, 0), GF_EINVAL);
    assert_status(gf_tensor_sum_rows(cs, &nodata, 0), GF_EINVAL);
    assert_status(gf_tensor_sum_cols(NULL, t, 0), GF_EINVAL);
    assert_status(gf_tensor_sum_cols(rs, NULL, 0), GF_EINVAL);
    assert_status(gf_tensor_sum_cols(rs, &nodata, 0), GF_EINVAL);

    assert_true(isnan(gf_tensor_sum(NULL)));
    assert_true(isnan(gf_tensor_dot(NULL, NULL)));
    assert_true(isnan(gf_tensor_norm2(NULL)));
    assert_true(isnan(gf_tensor_norm2(&nodata)));
    assert_true(isnan(gf_tensor_norm_max(NULL)));
    assert_true(isnan(gf_tensor_norm_max(&nodata)));
    assert_int_equal(gf_tensor_count_nonfinite(NULL), 0);
    assert_int_equal(gf_tensor_count_nonfinite(&nodata), 0);
    assert_true(isnan(gf_array_norm2(NULL, 3)));
    assert_true(isnan(gf_array_sumsq(NULL, 3)));
    assert_int_equal(gf_array_count_nonfinite(NULL, 3), 0);

    gf_tensor_free(t);
    gf_tensor_free(row);
    gf_tensor_free(cs);
    gf_tensor_free(rs);
}
