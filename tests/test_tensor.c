/* tests/test_tensor.c: tensors, in three sources (tests/test_tensor.h): here the helpers
 * and tensor lifetime (new, clone, views, resize); test_tensor_gemm.c: GEMM against a
 * naive double-precision reference; test_tensor_ops.c: element-wise operations,
 * reductions, norms at the edges of the number range, and the documented status (with a
 * message) for every bad input. main, at the end, runs them all. */
#include "test_tensor.h"

/* A tensor holding the given values (converted to gf_real). */
gf_tensor *tensor_of(size_t rows, size_t cols, const double *values)
{
    gf_tensor *t = tu_tensor(rows, cols);
    for (size_t i = 0; i < rows * cols; i++)
        t->data[i] = (gf_real)values[i];
    return t;
}

/* Every element of t equals values[i] exactly (they are representable in float). */
void assert_values(const gf_tensor *t, const double *values, size_t n)
{
    assert_int_equal(gf_tensor_size(t), n);
    for (size_t i = 0; i < n; i++)
        if (!((double)t->data[i] == values[i]))
            fail_msg("element %zu is %.17g, expected %.17g", i, (double)t->data[i], values[i]);
}

/* Bitwise equality of two arrays of gf_real (so that NaN == NaN). */
void assert_same_bits(const gf_real *a, const gf_real *b, size_t n)
{
    assert_memory_equal(a, b, n * sizeof(gf_real));
}

/* Every field of t, public and private, as in before (a failed call changed nothing). */
static void assert_same_header(const gf_tensor *t, const gf_tensor_block *before)
{
    const gf_tensor_block *b = gf_tensor_block_of_const(t);
    assert_ptr_equal(t->owner, t);
    assert_ptr_equal(t->data, before->t.data);
    assert_int_equal(t->rows, before->t.rows);
    assert_int_equal(t->cols, before->t.cols);
    assert_int_equal(b->cap, before->cap);
    assert_ptr_equal(b->grown, before->grown);
}

/* ==== Lifetime ======================================================================= */

static void new_sets_fields_and_zeroes(void **state)
{
    gf_tensor *t = NULL;
    (void)state;
    tu_alloc_install(0); /* poisons memory: zeros must come from gf_tensor_new */
    assert_ok(gf_tensor_new(&t, 5, 7));
    assert_int_equal(t->rows, 5);
    assert_int_equal(t->cols, 7);
    assert_true(gf_tensor_block_of(t)->cap >= 35);
    assert_ptr_equal(t->owner, t);
    assert_null(gf_tensor_block_of(t)->grown); /* the data is in the one allocation */
    assert_non_null(t->data);
    assert_int_equal(gf_tensor_size(t), 35);
    for (size_t i = 0; i < 35; i++)
        assert_true(t->data[i] == 0);
    t->data[34] = 1; /* the last element is writable (ASan checks the bound) */
    gf_tensor_free(t);

    assert_ok(gf_tensor_new(&t, 1, 1));
    assert_int_equal(gf_tensor_size(t), 1);
    gf_tensor_free(t);
    assert_int_equal(tu_alloc_live(), 0);
    tu_alloc_uninstall();
}

static void new_rejects_zero_and_overflowing_sizes(void **state)
{
    const size_t half = (size_t)1 << (sizeof(size_t) * 4); /* 2^32 on LP64 */
    const size_t bad[][2] = {
        {0, 3}, {3, 0}, {0, 0},
        {SIZE_MAX, 2}, {2, SIZE_MAX}, {SIZE_MAX, SIZE_MAX},
        {half, half},                 /* rows * cols wraps to 0 */
        {half / 2, half / 2},         /* the element count fits, the byte count does not */
        {SIZE_MAX / sizeof(gf_real) + 1, 1},
    };
    const gf_real v[4] = {1, 2, 3, 4};
    (void)state;
    tu_alloc_install(0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gf_tensor *t = (gf_tensor *)&t;
        assert_status(gf_tensor_new(&t, bad[i][0], bad[i][1]), GF_EINVAL);
        assert_error_mentions("gf_tensor_new");
        assert_null(t);
        t = (gf_tensor *)&t;
        assert_status(gf_tensor_from_array(&t, v, bad[i][0], bad[i][1]), GF_EINVAL);
        assert_null(t);
    }
    /* Refused by the size check, not by a failed (or, worse, wrapped) allocation. */
    assert_int_equal(tu_alloc.calls, 0);
    tu_alloc_uninstall();
}

static void from_array_and_clone_are_independent_copies(void **state)
{
    const double v[6] = {1, -2, 3.5, 0.25, -8, 1e3};
    gf_real raw[6];
    gf_tensor *a = NULL, *b = NULL, *c = NULL;
    (void)state;
    for (int i = 0; i < 6; i++)
        raw[i] = (gf_real)v[i];
    tu_alloc_install(0);
    assert_ok(gf_tensor_from_array(&a, raw, 2, 3));
    assert_int_equal(a->rows, 2);
    assert_int_equal(a->cols, 3);
    assert_values(a, v, 6);
    raw[0] = 99; /* the tensor holds a copy */
    assert_true(a->data[0] == 1);

    assert_ok(gf_tensor_clone(&b, a));
    assert_int_equal(b->rows, 2);
    assert_int_equal(b->cols, 3);
    assert_true(b->data != a->data);
    assert_values(b, v, 6);
    a->data[1] = 42;
    assert_true(b->data[1] == -2);

    /* A clone of a view owns its data. */
    gf_tensor view = gf_tensor_view(raw + 3, 3, 1);
    assert_ok(gf_tensor_clone(&c, &view));
    assert_ptr_equal(c->owner, c);
    assert_true(c->data != raw + 3);
    assert_true(gf_tensor_block_of(c)->cap >= 3);
    assert_int_equal(c->rows, 3);
    assert_int_equal(c->cols, 1);
    assert_values(c, v + 3, 3);
    assert_int_equal(tu_alloc.allocs, 3);

    gf_tensor_free(a);
    gf_tensor_free(b);
    gf_tensor_free(c);
    assert_int_equal(tu_alloc_live(), 0);
    tu_alloc_uninstall();

    /* NULL arguments: EINVAL, *out reset. */
    gf_tensor *t = (gf_tensor *)&t;
    assert_status(gf_tensor_from_array(&t, NULL, 2, 2), GF_EINVAL);
    assert_null(t);
    assert_status(gf_tensor_from_array(NULL, raw, 2, 2), GF_EINVAL);
    t = (gf_tensor *)&t;
    assert_status(gf_tensor_clone(&t, NULL), GF_EINVAL);
    assert_null(t);
    assert_status(gf_tensor_clone(NULL, &view), GF_EINVAL);
    gf_tensor broken = {.data = NULL, .rows = 2, .cols = 2}; /* a view with no data */
    assert_status(gf_tensor_clone(&t, &broken), GF_EINVAL);
    assert_null(t);
}

static void view_shares_data(void **state)
{
    gf_real buf[12] = {0};
    (void)state;
    gf_tensor v = gf_tensor_view(buf + 2, 2, 5);
    assert_ptr_equal(v.data, buf + 2);
    assert_int_equal(v.rows, 2);
    assert_int_equal(v.cols, 5);
    assert_null(v.owner); /* a view owns nothing */
    assert_ok(gf_tensor_fill(&v, 3));
    assert_true(buf[0] == 0 && buf[1] == 0);
    for (int i = 2; i < 12; i++)
        assert_true(buf[i] == 3);
}

static void resize_rows_grows_shrinks_and_keeps_capacity(void **state)
{
    gf_tensor *t = NULL;
    (void)state;
    tu_alloc_install(0);
    assert_ok(gf_tensor_new(&t, 4, 3));
    for (size_t i = 0; i < 12; i++)
        t->data[i] = (gf_real)(i + 1);
    gf_real *first = t->data;

    /* Shrink: same storage, same capacity, leading rows kept. */
    assert_ok(gf_tensor_resize_rows(t, 2));
    assert_int_equal(t->rows, 2);
    assert_int_equal(t->cols, 3);
    assert_int_equal(gf_tensor_block_of(t)->cap, 12);
    assert_ptr_equal(t->data, first);
    for (size_t i = 0; i < 6; i++)
        assert_true(t->data[i] == (gf_real)(i + 1));

    /* Back up to the capacity: still no allocation. */
    assert_ok(gf_tensor_resize_rows(t, 4));
    assert_ptr_equal(t->data, first);
    assert_int_equal(tu_alloc.calls, 1);

    /* Growth past the capacity: new zeroed storage (the allocator poisons it). */
    assert_ok(gf_tensor_resize_rows(t, 10));
    assert_int_equal(t->rows, 10);
    assert_int_equal(t->cols, 3);
    assert_true(gf_tensor_block_of(t)->cap >= 30);
    assert_int_equal(tu_alloc.calls, 2);
    for (size_t i = 0; i < 30; i++)
        assert_true(t->data[i] == 0);
    t->data[29] = 1;

    /* Shrink again keeps the larger capacity; grow twice more (the old block freed). */
    size_t cap = gf_tensor_block_of(t)->cap;
    assert_ok(gf_tensor_resize_rows(t, 1));
    assert_int_equal(gf_tensor_block_of(t)->cap, cap);
    assert_ok(gf_tensor_resize_rows(t, 20));
    assert_ok(gf_tensor_resize_rows(t, 33));
    assert_int_equal(t->rows, 33);
    t->data[33 * 3 - 1] = 1;
    assert_int_equal(tu_alloc_live(), 2); /* the tensor and its current data block */

    /* A failed growth leaves the tensor as it was. */
    gf_tensor_block before = *gf_tensor_block_of(t);
    tu_alloc_fail_next(1);
    assert_status(gf_tensor_resize_rows(t, 1000), GF_ENOMEM);
    assert_error_mentions("gf_tensor_resize_rows");
    assert_same_header(t, &before);

    gf_tensor_free(t);
    assert_int_equal(tu_alloc_live(), 0);
    tu_alloc_uninstall();
}

static void resize_rows_rejects_bad_requests(void **state)
{
    gf_real buf[12];
    gf_tensor *t = tu_tensor(2, 3);
    (void)state;
    gf_tensor_block before = *gf_tensor_block_of(t);
    assert_status(gf_tensor_resize_rows(t, 0), GF_EINVAL);
    assert_same_header(t, &before);
    assert_status(gf_tensor_resize_rows(t, SIZE_MAX), GF_EINVAL);
    assert_status(gf_tensor_resize_rows(t, SIZE_MAX / 3 + 1), GF_EINVAL);
    assert_same_header(t, &before);
    assert_status(gf_tensor_resize_rows(NULL, 3), GF_EINVAL);

    /* A struct copy of a tensor is a view of its data: it cannot grow (that would free
     * the tensor's block) and gf_tensor_free ignores it. */
    gf_tensor copy = *t;
    assert_status(gf_tensor_resize_rows(&copy, 3), GF_EINVAL);
    assert_error_mentions("view");
    assert_ptr_equal(copy.data, t->data);
    gf_tensor_free(&copy);
    gf_tensor_free(t);

    /* A view may shrink, but cannot grow: the library does not know its memory. */
    gf_tensor v = gf_tensor_view(buf, 4, 3);
    assert_ok(gf_tensor_resize_rows(&v, 2));
    assert_int_equal(v.rows, 2);
    assert_ptr_equal(v.data, buf);
    assert_status(gf_tensor_resize_rows(&v, 4), GF_EINVAL);
    assert_error_mentions("view");
    assert_int_equal(v.rows, 2);
    assert_ptr_equal(v.data, buf);
    assert_null(v.owner);
}

static void copy_fill_zero(void **state)
{
    const double va[6] = {1, 2, 3, 4, 5, 6};
    gf_tensor *a = tensor_of(2, 3, va);
    gf_tensor *b = tu_tensor(2, 3);
    gf_tensor *wrong = tu_tensor(3, 2); /* same size, different shape */
    (void)state;

    assert_ok(gf_tensor_copy(b, a));
    assert_values(b, va, 6);
    assert_ok(gf_tensor_copy(b, b)); /* copying onto itself is a no-op */
    assert_values(b, va, 6);

    assert_ok(gf_tensor_fill(wrong, 7));
    assert_status(gf_tensor_copy(wrong, a), GF_ESHAPE);
    assert_error_mentions("gf_tensor_copy");
    for (size_t i = 0; i < 6; i++)
        assert_true(wrong->data[i] == 7);

    assert_ok(gf_tensor_fill(b, -0.5f));
    for (size_t i = 0; i < 6; i++)
        assert_true(b->data[i] == -0.5f);
    assert_ok(gf_tensor_fill(b, (gf_real)NAN));
    assert_int_equal(gf_tensor_count_nonfinite(b), 6);
    assert_ok(gf_tensor_zero(b));
    for (size_t i = 0; i < 6; i++)
        assert_true(b->data[i] == 0);

    /* On a view, only the viewed elements change. */
    gf_real buf[8] = {9, 9, 9, 9, 9, 9, 9, 9};
    gf_tensor v = gf_tensor_view(buf + 1, 2, 3);
    assert_ok(gf_tensor_zero(&v));
    assert_true(buf[0] == 9 && buf[7] == 9);
    assert_true(buf[1] == 0 && buf[6] == 0);
    assert_ok(gf_tensor_fill(&v, 2));
    assert_true(buf[0] == 9 && buf[7] == 9);
    assert_true(buf[1] == 2 && buf[6] == 2);

    /* Empty views are valid and untouched. */
    gf_tensor empty = gf_tensor_view(NULL, 0, 3);
    assert_ok(gf_tensor_zero(&empty));
    assert_ok(gf_tensor_fill(&empty, 1));
    gf_tensor empty2 = gf_tensor_view(NULL, 0, 3);
    assert_ok(gf_tensor_copy(&empty2, &empty));

    gf_tensor_free(a);
    gf_tensor_free(b);
    gf_tensor_free(wrong);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(new_sets_fields_and_zeroes),
        cmocka_unit_test(new_rejects_zero_and_overflowing_sizes),
        cmocka_unit_test(from_array_and_clone_are_independent_copies),
        cmocka_unit_test(view_shares_data),
        cmocka_unit_test(resize_rows_grows_shrinks_and_keeps_capacity),
        cmocka_unit_test(resize_rows_rejects_bad_requests),
        cmocka_unit_test(copy_fill_zero),
        cmocka_unit_test(gemm_matches_reference_all_transposes),
        cmocka_unit_test(gemm_large_shapes_cross_every_block),
        cmocka_unit_test(gemm_shapes_around_the_register_tiles),
        cmocka_unit_test(gemm_alpha_beta_variants),
        cmocka_unit_test(gemm_known_small_product),
        cmocka_unit_test(gemm_empty_dimensions),
        cmocka_unit_test(gemm_rejects_bad_shapes_and_aliasing),
        cmocka_unit_test(gemm_raw_with_leading_dimensions),
        cmocka_unit_test(gemm_fast_agrees_with_reference),
        cmocka_unit_test(gemm_kernels_give_the_same_bits),
        cmocka_unit_test(gemm_wide_blocks_and_no_memory_give_the_same_bits),
        cmocka_unit_test(gemm_sum_of_squares_only_where_asked),
        cmocka_unit_test(add_sub_mul_with_aliasing),
        cmocka_unit_test(scale_axpy_add_row),
        cmocka_unit_test(sum_rows_and_cols_with_beta),
        cmocka_unit_test(sum_rows_and_cols_match_reference),
        cmocka_unit_test(sums_accumulate_in_double),
        cmocka_unit_test(sum_and_dot),
        cmocka_unit_test(norm2_known_values),
        cmocka_unit_test(norm2_extreme_magnitudes),
        cmocka_unit_test(norm2_nan_and_inf),
        cmocka_unit_test(norm_max_and_count_nonfinite),
        cmocka_unit_test(null_inputs_never_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
