/* tests/test_tensor.c: tensor lifetime (new, clone, views, resize), GEMM against a naive
 * double-precision reference over every transpose case and shapes that cross the block
 * sizes, element-wise operations, reductions, norms at the edges of the number range,
 * and the documented status (with a message) for every bad input. */
#include "testutil.h"

#include "../src/core/tensor_block.h" /* capacity and ownership: private */
#include "../src/fast/gemm.h"

/* A tensor holding the given values (converted to gf_real). */
static gf_tensor *tensor_of(size_t rows, size_t cols, const double *values)
{
    gf_tensor *t = tu_tensor(rows, cols);
    for (size_t i = 0; i < rows * cols; i++)
        t->data[i] = (gf_real)values[i];
    return t;
}

/* Every element of t equals values[i] exactly (they are representable in float). */
static void assert_values(const gf_tensor *t, const double *values, size_t n)
{
    assert_int_equal(gf_tensor_size(t), n);
    for (size_t i = 0; i < n; i++)
        if (!((double)t->data[i] == values[i]))
            fail_msg("element %zu is %.17g, expected %.17g", i, (double)t->data[i], values[i]);
}

/* Bitwise equality of two arrays of gf_real (so that NaN == NaN). */
static void assert_same_bits(const gf_real *a, const gf_real *b, size_t n)
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

/* ==== GEMM =========================================================================== */

/* Element (i, p) of op(X) for X row-major with leading dimension ld. */
static double op_elem(gf_trans t, const gf_real *x, size_t ld, size_t i, size_t p)
{
    return (double)(t == GF_NO_TRANS ? x[i * ld + p] : x[p * ld + i]);
}

/* Compare c (after the call) with alpha op(A) op(B) + beta c_old computed in double.
 * Bound per element: (k + 4) eps (|alpha| sum_p |a_ip b_pj| + |beta c_old|), the
 * classical gamma_k bound for a dot product of length k (any summation order) plus the
 * roundings of alpha a, beta c and the final store, with eps = 2u for a factor 2 margin.
 * beta == 0 means c_old is ignored (it may be NaN). */
static void check_against_reference(gf_trans ta, gf_trans tb, size_t m, size_t n, size_t k,
                                    double alpha, const gf_real *a, size_t lda,
                                    const gf_real *b, size_t ldb, double beta,
                                    const gf_real *c_old, const gf_real *c, size_t ldc)
{
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++) {
            double s = 0, mag = 0;
            for (size_t p = 0; p < k; p++) {
                double prod = op_elem(ta, a, lda, i, p) * op_elem(tb, b, ldb, p, j);
                s += prod;
                mag += fabs(prod);
            }
            double old = beta == 0 ? 0 : beta * (double)c_old[i * ldc + j];
            double ref = alpha * s + old;
            double bound = (double)(k + 4) * TU_EPS * (fabs(alpha) * mag + fabs(old));
            double got = (double)c[i * ldc + j];
            if (!(fabs(got - ref) <= bound))
                fail_msg("gemm %c%c m=%zu n=%zu k=%zu alpha=%g beta=%g: C[%zu,%zu] = %.9g, "
                         "reference %.9g (bound %.3g)",
                         ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, alpha, beta, i, j, got, ref,
                         bound);
        }
    }
}

/* One gf_gemm call on random data, checked element by element. */
static void gemm_case(gf_rng *rng, gf_trans ta, gf_trans tb, size_t m, size_t n, size_t k,
                      double alpha, double beta, int nan_c)
{
    gf_tensor *a = ta ? tu_tensor(k, m) : tu_tensor(m, k);
    gf_tensor *b = tb ? tu_tensor(n, k) : tu_tensor(k, n);
    gf_tensor *c = tu_tensor(m, n);
    gf_tensor *c_old;
    tu_fill_uniform(a, rng, -1, 1);
    tu_fill_uniform(b, rng, -1, 1);
    if (nan_c)
        assert_ok(gf_tensor_fill(c, (gf_real)NAN));
    else
        tu_fill_uniform(c, rng, -1, 1);
    assert_ok(gf_tensor_clone(&c_old, c));
    assert_ok(gf_gemm(c, a, b, ta, tb, (gf_real)alpha, (gf_real)beta));
    check_against_reference(ta, tb, m, n, k, alpha, a->data, a->cols, b->data, b->cols, beta,
                            c_old->data, c->data, n);
    gf_tensor_free(a);
    gf_tensor_free(b);
    gf_tensor_free(c);
    gf_tensor_free(c_old);
}

static void gemm_matches_reference_all_transposes(void **state)
{
    /* Around the block sizes MC = 64, KC = 128, NC = 128, and the 4-row kernel. */
    const size_t sizes[] = {1, 3, 5, 63, 64, 65, 129};
    const size_t ns = sizeof sizes / sizeof sizes[0];
    gf_rng rng;
    (void)state;
    gf_rng_seed(&rng, 1);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (size_t im = 0; im < ns; im++)
                for (size_t in = 0; in < ns; in++)
                    for (size_t ik = 0; ik < ns; ik++)
                        gemm_case(&rng, (gf_trans)ta, (gf_trans)tb, sizes[im], sizes[in],
                                  sizes[ik], 1.0, 0.0, 1);
}

static void gemm_large_shapes_cross_every_block(void **state)
{
    /* Several panels in every direction, with ragged last panels (257 = 2 KC + 1). */
    const size_t shapes[][3] = {
        {127, 129, 200}, {200, 127, 129}, {129, 200, 127}, {65, 257, 257},
        {200, 3, 257},   {1, 200, 129},   {130, 1, 300},   {200, 200, 1},
    };
    const double ab[][2] = {{1, 0}, {-0.5, 0.75}, {2, 1}, {0.25, -1}};
    gf_rng rng;
    (void)state;
    gf_rng_seed(&rng, 2);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int t = 0; t < 4; t++) {
            const double *v = ab[(s + (size_t)t) % 4];
            gemm_case(&rng, (gf_trans)(t & 1), (gf_trans)(t >> 1), shapes[s][0], shapes[s][1],
                      shapes[s][2], v[0], v[1], v[1] == 0);
        }
}

static void gemm_shapes_around_the_register_tiles(void **state)
{
    /* The micro-kernels compute MR x NR tiles of C (portable 4 x 8, AVX2 6 x 16, AVX-512
     * 8 x 32 in float; NR halves in double), short strips and narrow panels at the edges,
     * inside blocks of KC = 128 along k and NC (128 float, 64 double) along n. Every m
     * from 1 to 17 against n on both sides of each NR and NC, with k cycling around KC,
     * in every transpose case. CTest also runs this program with GF_GEMM_KERNEL set to
     * portable and avx2, so each kernel the CPU has is checked. */
    const size_t ns[] = {1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 129};
    const size_t ks[] = {1, 2, 7, 127, 128, 129, 257};
    const size_t nn = sizeof ns / sizeof ns[0], nk = sizeof ks / sizeof ks[0];
    size_t count = 0;
    gf_rng rng;
    (void)state;
    gf_rng_seed(&rng, 6);
    for (size_t m = 1; m <= 17; m++)
        for (size_t in = 0; in < nn; in++)
            for (int t = 0; t < 4; t++, count++) {
                int nan_c = count % 3 == 0;
                gemm_case(&rng, (gf_trans)(t & 1), (gf_trans)(t >> 1), m, ns[in],
                          ks[count % nk], nan_c ? 1.0 : -1.5, nan_c ? 0.0 : 0.5, nan_c);
            }
}

static void gemm_alpha_beta_variants(void **state)
{
    const double ab[][2] = {{1, 1}, {-0.5, 0.75}, {3, -2}, {0.1, 0}, {-1, 0.5}};
    gf_rng rng;
    (void)state;
    gf_rng_seed(&rng, 3);
    for (size_t v = 0; v < sizeof ab / sizeof ab[0]; v++)
        for (int t = 0; t < 4; t++)
            gemm_case(&rng, (gf_trans)(t & 1), (gf_trans)(t >> 1), 67, 9, 131, ab[v][0],
                      ab[v][1], 0);

    /* beta = 0: NaN and infinity in C must not leak into the result. */
    gf_tensor *a = tu_tensor(5, 4), *b = tu_tensor(4, 6), *c = tu_tensor(5, 6);
    tu_fill_uniform(a, &rng, -1, 1);
    tu_fill_uniform(b, &rng, -1, 1);
    assert_ok(gf_tensor_fill(c, (gf_real)NAN));
    c->data[3] = (gf_real)INFINITY;
    c->data[7] = -(gf_real)INFINITY;
    assert_ok(gf_gemm(c, a, b, GF_NO_TRANS, GF_NO_TRANS, 1, 0));
    assert_int_equal(gf_tensor_count_nonfinite(c), 0);

    /* alpha = 0: C = beta C exactly; alpha = 0, beta = 1: C unchanged bit for bit. */
    gf_tensor *c_old;
    tu_fill_uniform(c, &rng, -1, 1);
    assert_ok(gf_tensor_clone(&c_old, c));
    assert_ok(gf_gemm(c, a, b, GF_NO_TRANS, GF_NO_TRANS, 0, 1));
    assert_same_bits(c->data, c_old->data, 30);
    assert_ok(gf_gemm(c, a, b, GF_NO_TRANS, GF_NO_TRANS, 0, (gf_real)0.5));
    for (size_t i = 0; i < 30; i++)
        assert_true(c->data[i] == (gf_real)0.5 * c_old->data[i]);
    assert_ok(gf_tensor_fill(c, (gf_real)NAN));
    assert_ok(gf_gemm(c, a, b, GF_NO_TRANS, GF_NO_TRANS, 0, 0));
    for (size_t i = 0; i < 30; i++)
        assert_true(c->data[i] == 0);

    /* NaN in A is data, not garbage: it reaches every element of its row of C. */
    a->data[2 * 4 + 1] = (gf_real)NAN;
    assert_ok(gf_gemm(c, a, b, GF_NO_TRANS, GF_NO_TRANS, 1, 0));
    for (size_t i = 0; i < 5; i++)
        for (size_t j = 0; j < 6; j++)
            assert_int_equal(isnan(c->data[i * 6 + j]) != 0, i == 2);

    gf_tensor_free(a);
    gf_tensor_free(b);
    gf_tensor_free(c);
    gf_tensor_free(c_old);
}

static void gemm_known_small_product(void **state)
{
    /* [1 2 3; 4 5 6] [7 8; 9 10; 11 12] = [58 64; 139 154]. */
    const double va[6] = {1, 2, 3, 4, 5, 6}, vb[6] = {7, 8, 9, 10, 11, 12};
    gf_tensor *a = tensor_of(2, 3, va), *b = tensor_of(3, 2, vb), *c = tu_tensor(2, 2);
    gf_tensor *g = tu_tensor(3, 3);
    (void)state;
    assert_ok(gf_gemm(c, a, b, GF_NO_TRANS, GF_NO_TRANS, 1, 0));
    assert_values(c, (const double[]){58, 64, 139, 154}, 4);
    /* b^T a^T = (a b)^T. */
    assert_ok(gf_gemm(c, b, a, GF_TRANS, GF_TRANS, 1, 0));
    assert_values(c, (const double[]){58, 139, 64, 154}, 4);
    /* A and B may be the same tensor: the Gram matrix a^T a. */
    assert_ok(gf_gemm(g, a, a, GF_TRANS, GF_NO_TRANS, 1, 0));
    assert_values(g, (const double[]){17, 22, 27, 22, 29, 36, 27, 36, 45}, 9);
    /* 1 x 1: 2 * (3 * 4) + 0.5 * 10 = 29. */
    gf_real x = 3, y = 4, z = 10;
    gf_tensor tx = gf_tensor_view(&x, 1, 1), ty = gf_tensor_view(&y, 1, 1);
    gf_tensor tz = gf_tensor_view(&z, 1, 1);
    assert_ok(gf_gemm(&tz, &tx, &ty, GF_NO_TRANS, GF_TRANS, 2, (gf_real)0.5));
    assert_true(z == 29);
    gf_tensor_free(a);
    gf_tensor_free(b);
    gf_tensor_free(c);
    gf_tensor_free(g);
}

static void gemm_empty_dimensions(void **state)
{
    /* k = 0: op(A) op(B) is an empty sum, so C = beta C. */
    gf_tensor a = gf_tensor_view(NULL, 2, 0), b = gf_tensor_view(NULL, 0, 3);
    gf_tensor *c = tu_tensor(2, 3);
    (void)state;
    assert_ok(gf_tensor_fill(c, 4));
    assert_ok(gf_gemm(c, &a, &b, GF_NO_TRANS, GF_NO_TRANS, 1, (gf_real)0.5));
    for (size_t i = 0; i < 6; i++)
        assert_true(c->data[i] == 2);
    assert_ok(gf_tensor_fill(c, (gf_real)NAN));
    assert_ok(gf_gemm(c, &a, &b, GF_NO_TRANS, GF_NO_TRANS, 1, 0));
    for (size_t i = 0; i < 6; i++)
        assert_true(c->data[i] == 0);
    /* m = 0: nothing to compute. */
    gf_real w[6] = {1, 2, 3, 4, 5, 6};
    gf_tensor a0 = gf_tensor_view(NULL, 0, 2), b2 = gf_tensor_view(w, 2, 3);
    gf_tensor c0 = gf_tensor_view(NULL, 0, 3);
    assert_ok(gf_gemm(&c0, &a0, &b2, GF_NO_TRANS, GF_NO_TRANS, 1, 0));
    gf_tensor_free(c);
}

static void gemm_rejects_bad_shapes_and_aliasing(void **state)
{
    gf_tensor *a = tu_tensor(4, 3), *b = tu_tensor(3, 5), *c = tu_tensor(4, 5);
    gf_tensor *sq = tu_tensor(4, 4);
    gf_tensor *c_old;
    gf_rng rng;
    (void)state;
    gf_rng_seed(&rng, 4);
    tu_fill_uniform(a, &rng, -1, 1);
    tu_fill_uniform(b, &rng, -1, 1);
    tu_fill_uniform(c, &rng, -1, 1);
    tu_fill_uniform(sq, &rng, -1, 1);
    assert_ok(gf_tensor_clone(&c_old, c));

    /* Inner dimensions disagree. */
    assert_status(gf_gemm(c, a, b, GF_TRANS, GF_NO_TRANS, 1, 0), GF_ESHAPE);
    assert_error_mentions("gf_gemm");
    assert_status(gf_gemm(c, a, b, GF_NO_TRANS, GF_TRANS, 1, 0), GF_ESHAPE);
    assert_status(gf_gemm(c, b, a, GF_NO_TRANS, GF_NO_TRANS, 1, 0), GF_ESHAPE);
    /* C has the wrong shape (the transpose of the right one, the same size). */
    gf_tensor *ct = tu_tensor(5, 4);
    assert_status(gf_gemm(ct, a, b, GF_NO_TRANS, GF_NO_TRANS, 1, 0), GF_ESHAPE);
    assert_error_mentions("gf_gemm");
    gf_tensor *c45 = tu_tensor(4, 4);
    assert_status(gf_gemm(c45, a, b, GF_NO_TRANS, GF_NO_TRANS, 1, 0), GF_ESHAPE);
    assert_same_bits(c->data, c_old->data, 20); /* nothing written on failure */

    /* C aliasing A or B. */
    assert_status(gf_gemm(sq, sq, sq, GF_NO_TRANS, GF_NO_TRANS, 1, 0), GF_EINVAL);
    assert_error_mentions("alias");
    gf_tensor *sq2 = tu_tensor(4, 4);
    assert_status(gf_gemm(sq, sq2, sq, GF_NO_TRANS, GF_NO_TRANS, 1, 0), GF_EINVAL);
    assert_status(gf_gemm(sq, sq, sq2, GF_NO_TRANS, GF_NO_TRANS, 1, 0), GF_EINVAL);
    /* A view of C's storage under another header is still aliasing ... */
    gf_tensor same = gf_tensor_view(sq->data, 4, 4);
    assert_status(gf_gemm(sq, &same, sq2, GF_NO_TRANS, GF_NO_TRANS, 1, 0), GF_EINVAL);
    /* ... and so is a partial overlap (C starts inside B). */
    gf_real buf[40] = {0};
    gf_tensor bv = gf_tensor_view(buf, 3, 5), cv = gf_tensor_view(buf + 10, 4, 5);
    assert_status(gf_gemm(&cv, a, &bv, GF_NO_TRANS, GF_NO_TRANS, 1, 0), GF_EINVAL);
    gf_tensor av = gf_tensor_view(buf + 19, 4, 3), cv2 = gf_tensor_view(buf, 4, 5);
    assert_status(gf_gemm(&cv2, &av, b, GF_NO_TRANS, GF_NO_TRANS, 1, 0), GF_EINVAL);
    /* Adjacent, non-overlapping storage in one buffer is fine. */
    gf_tensor bv2 = gf_tensor_view(buf, 3, 5), cv3 = gf_tensor_view(buf + 15, 4, 5);
    assert_ok(gf_gemm(&cv3, a, &bv2, GF_NO_TRANS, GF_NO_TRANS, 1, 0));

    /* Bad transpose flags and NULLs. */
    assert_status(gf_gemm(c, a, b, (gf_trans)2, GF_NO_TRANS, 1, 0), GF_EINVAL);
    assert_status(gf_gemm(c, a, b, GF_NO_TRANS, (gf_trans)7, 1, 0), GF_EINVAL);
    assert_status(gf_gemm(c, NULL, b, GF_NO_TRANS, GF_NO_TRANS, 1, 0), GF_EINVAL);
    assert_status(gf_gemm(c, a, NULL, GF_NO_TRANS, GF_NO_TRANS, 1, 0), GF_EINVAL);
    assert_status(gf_gemm(NULL, a, b, GF_NO_TRANS, GF_NO_TRANS, 1, 0), GF_EINVAL);
    gf_tensor nodata = {.data = NULL, .rows = 4, .cols = 3};
    assert_status(gf_gemm(c, &nodata, b, GF_NO_TRANS, GF_NO_TRANS, 1, 0), GF_EINVAL);
    assert_same_bits(c->data, c_old->data, 20);

    gf_tensor_free(a);
    gf_tensor_free(b);
    gf_tensor_free(c);
    gf_tensor_free(ct);
    gf_tensor_free(c45);
    gf_tensor_free(sq);
    gf_tensor_free(sq2);
    gf_tensor_free(c_old);
}

static void gemm_raw_with_leading_dimensions(void **state)
{
    /* Sub-matrices of larger arrays: op(A) (m, k), op(B) (k, n), C (m, n) each stored with
     * a row stride wider than the block used. Everything outside C's block must keep its
     * sentinel value. */
    const size_t shapes[][3] = {{3, 5, 2}, {70, 130, 129}, {65, 1, 131}};
    const double ab[][2] = {{1, 0}, {-0.5, 0.75}};
    gf_rng rng;
    (void)state;
    gf_rng_seed(&rng, 5);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        for (int t = 0; t < 4; t++) {
            gf_trans ta = (gf_trans)(t & 1), tb = (gf_trans)(t >> 1);
            size_t ar = ta ? k : m, ac = ta ? m : k; /* stored A block */
            size_t br = tb ? n : k, bc = tb ? k : n; /* stored B block */
            size_t lda = ac + 3, ldb = bc + 7, ldc = n + 5;
            size_t na = ar * lda, nb = br * ldb, nc = (m + 1) * ldc;
            gf_real *a = gf_alloc(na * sizeof *a), *b = gf_alloc(nb * sizeof *b);
            gf_real *c = gf_alloc(nc * sizeof *c), *c_old = gf_alloc(nc * sizeof *c);
            assert_true(a && b && c && c_old);
            for (size_t i = 0; i < na; i++)
                a[i] = (gf_real)(2 * gf_rng_uniform(&rng) - 1);
            for (size_t i = 0; i < nb; i++)
                b[i] = (gf_real)(2 * gf_rng_uniform(&rng) - 1);
            /* Padding columns of A and B hold NaN: reading them would poison C. */
            for (size_t r = 0; r < ar; r++)
                for (size_t j = ac; j < lda; j++)
                    a[r * lda + j] = (gf_real)NAN;
            for (size_t r = 0; r < br; r++)
                for (size_t j = bc; j < ldb; j++)
                    b[r * ldb + j] = (gf_real)NAN;
            for (size_t i = 0; i < nc; i++)
                c[i] = (gf_real)(2 * gf_rng_uniform(&rng) - 1);
            memcpy(c_old, c, nc * sizeof *c);
            double alpha = ab[t % 2][0], beta = ab[t % 2][1];
            gf_gemm_raw(ta, tb, m, n, k, (gf_real)alpha, a, lda, b, ldb, (gf_real)beta, c,
                        ldc);
            check_against_reference(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c_old, c,
                                    ldc);
            for (size_t i = 0; i < m + 1; i++)
                for (size_t j = 0; j < ldc; j++)
                    if (i >= m || j >= n)
                        assert_true(c[i * ldc + j] == c_old[i * ldc + j]);
            gf_free(a);
            gf_free(b);
            gf_free(c);
            gf_free(c_old);
        }
    }
}

/* A random block of rows x ld values whose columns [cols, ld) hold NaN: reading past
 * the block would poison the result. */
static gf_real *padded_block(gf_rng *rng, size_t rows, size_t cols, size_t ld)
{
    gf_real *x = gf_alloc((rows * ld + 1) * sizeof *x);
    assert_non_null(x);
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < ld; j++)
            x[r * ld + j] = j < cols ? (gf_real)(2 * gf_rng_uniform(rng) - 1) : (gf_real)NAN;
    return x;
}

/* gf_gemm_fast (the kernels gf_gemm_raw runs, or CBLAS) against gf_gemm_ref (the plain
 * triple loop of the reference build) in the same call. Both sum the k products in
 * gf_real, in different orders (blocks of KC, FMA in the AVX kernels), so each is within
 * gamma_k = k u / (1 - k u) of the exact sum times sum_p |a_ip b_pj|, plus a rounding
 * each for alpha, beta C and the last add: |fast - ref| <= 2 (k + 2) u (|alpha| sum_p
 * |a_ip b_pj| + |beta c_old|) = (k + 2) eps (...); we allow (k + 4) eps. Where the order
 * is the same (the portable kernel, which has no FMA, with k <= KC = 128 and beta 0 or
 * 1) the two must agree bit for bit; only GCC is known not to contract a * b + c into an
 * FMA in ISO C mode, so only GCC builds check that. */
static void gemm_fast_agrees_with_reference(void **state)
{
    const size_t ms[] = {1, 7, 33}, ns[] = {3, 17, 65}, ks[] = {1, 5, 127, 131};
    const double ab[][2] = {{1, 0}, {1, 1}, {-0.75, 0}, {0.5, 1}, {1.5, -0.5}};
    size_t count = 0, exact_cases = 0;
    int portable = strcmp(gf_gemm_backend(), "built-in portable") == 0;
    gf_rng rng;
    (void)state;
    gf_rng_seed(&rng, 9);
    for (int t = 0; t < 4; t++)
        for (size_t im = 0; im < 3; im++)
            for (size_t in = 0; in < 3; in++)
                for (size_t ik = 0; ik < 4; ik++, count++) {
                    gf_trans ta = (gf_trans)(t & 1), tb = (gf_trans)(t >> 1);
                    size_t m = ms[im], n = ns[in], k = ks[ik];
                    double alpha = ab[count % 5][0], beta = ab[count % 5][1];
                    size_t ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
                    size_t lda = ac + 1 + count % 3, ldb = bc + 2, ldc = n + 3;
                    gf_real *a = padded_block(&rng, ar, ac, lda);
                    gf_real *b = padded_block(&rng, br, bc, ldb);
                    gf_real *c_fast = padded_block(&rng, m, n, ldc);
                    gf_real *c_ref = gf_alloc((m * ldc + 1) * sizeof *c_ref);
                    gf_real *c_old = gf_alloc((m * ldc + 1) * sizeof *c_old);
                    assert_true(c_ref != NULL && c_old != NULL);
                    if (beta == 0) /* old NaNs must not survive beta = 0 */
                        for (size_t i = 0; i < m * ldc; i += 2)
                            c_fast[i] = (gf_real)NAN;
                    memcpy(c_ref, c_fast, m * ldc * sizeof *c_ref);
                    memcpy(c_old, c_fast, m * ldc * sizeof *c_old);
                    gf_gemm_fast(ta, tb, m, n, k, (gf_real)alpha, a, lda, b, ldb,
                                 (gf_real)beta, c_fast, ldc);
                    gf_gemm_ref(ta, tb, m, n, k, (gf_real)alpha, a, lda, b, ldb,
                                (gf_real)beta, c_ref, ldc);
                    int exact = portable && k <= 128 && (beta == 0 || beta == 1);
#if !defined(__GNUC__) || defined(__clang__)
                    exact = 0;
#endif
                    exact_cases += (size_t)exact;
                    for (size_t i = 0; i < m; i++)
                        for (size_t j = 0; j < n; j++) {
                            double mag = 0, f = c_fast[i * ldc + j], r = c_ref[i * ldc + j];
                            for (size_t p = 0; p < k; p++)
                                mag += fabs(op_elem(ta, a, lda, i, p) *
                                            op_elem(tb, b, ldb, p, j));
                            double old = beta == 0 ? 0 : beta * (double)c_old[i * ldc + j];
                            double bound =
                                (double)(k + 4) * TU_EPS * (fabs(alpha) * mag + fabs(old));
                            if (!(fabs(f - r) <= bound) || (exact && f != r))
                                fail_msg("gemm %c%c m=%zu n=%zu k=%zu alpha=%g beta=%g: "
                                         "C[%zu,%zu] fast %.9g, reference %.9g (bound %.3g%s)",
                                         ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, alpha, beta,
                                         i, j, f, r, bound, exact ? ", bit for bit" : "");
                        }
                    /* Nothing outside the m x n block was written. */
                    for (size_t i = 0; i < m; i++)
                        for (size_t j = n; j < ldc; j++)
                            assert_true(isnan(c_fast[i * ldc + j]) &&
                                        isnan(c_ref[i * ldc + j]));
                    gf_free(a);
                    gf_free(b);
                    gf_free(c_fast);
                    gf_free(c_ref);
                    gf_free(c_old);
                }
    if (portable) /* the GF_GEMM_KERNEL=portable run of this program */
        print_message("gemm: %zu of %zu cases checked bit for bit\n", exact_cases, count);
}

/* ==== Element-wise =================================================================== */

static void add_sub_mul_with_aliasing(void **state)
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

static void scale_axpy_add_row(void **state)
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

static void sum_rows_and_cols_with_beta(void **state)
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

static void sum_rows_and_cols_match_reference(void **state)
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

static void sums_accumulate_in_double(void **state)
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

static void sum_and_dot(void **state)
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

static void norm2_known_values(void **state)
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

static void norm2_extreme_magnitudes(void **state)
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

static void norm2_nan_and_inf(void **state)
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

static void norm_max_and_count_nonfinite(void **state)
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

static void null_inputs_never_crash(void **state)
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
