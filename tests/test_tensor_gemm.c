/* tests/test_tensor_gemm.c: tensors, part of test_tensor (tests/test_tensor.h): GEMM
 * against a naive double-precision reference over every transpose case and shapes that
 * cross the block sizes and register tiles, alpha/beta, bad shapes and aliasing, leading
 * dimensions, and the fast kernels against the reference. */
#include "test_tensor.h"

#include "../src/fast/fast.h"
#include "../src/fast/stats.h"

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

void gemm_matches_reference_all_transposes(void **state)
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

void gemm_large_shapes_cross_every_block(void **state)
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

void gemm_shapes_around_the_register_tiles(void **state)
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

void gemm_alpha_beta_variants(void **state)
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

void gemm_known_small_product(void **state)
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

void gemm_empty_dimensions(void **state)
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

void gemm_rejects_bad_shapes_and_aliasing(void **state)
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

void gemm_raw_with_leading_dimensions(void **state)
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

/* C[i][j] after gf_gemm_fast as every built-in kernel computes it (src/fast/gemm.h):
 * blocks of GF_GEMM_KC along k, each summed with one fused multiply-add per product
 * from 0, times alpha, added into beta C (rounded first when beta is not 0 or 1); with
 * beta = 0 the first block's value is stored as it is (so -0 stays -0). */
static gf_real fused_model(gf_trans ta, gf_trans tb, size_t i, size_t j, size_t k,
                           gf_real alpha, const gf_real *a, size_t lda, const gf_real *b,
                           size_t ldb, gf_real beta, gf_real c_old)
{
    gf_real c = beta == 0 ? 0 : beta == 1 ? c_old : beta * c_old;
    for (size_t p0 = 0; alpha != 0 && p0 < k; p0 += GF_GEMM_KC) {
        gf_real acc = 0;
        for (size_t p = p0; p < k && p < p0 + GF_GEMM_KC; p++) {
            gf_real aip = ta ? a[p * lda + i] : a[i * lda + p];
            gf_real bpj = tb ? b[j * ldb + p] : b[p * ldb + j];
#if GF_REAL_IS_DOUBLE
            acc = fma(aip, bpj, acc);
#else
            acc = fmaf(aip, bpj, acc);
#endif
        }
        c = beta == 0 && p0 == 0 ? alpha * acc : c + alpha * acc;
    }
    return c;
}

/* gf_gemm_fast (the kernels gf_gemm_raw runs, or CBLAS) against gf_gemm_ref (the plain
 * triple loop of the reference build) in the same call. Both sum the k products in
 * gf_real, in different orders (blocks of KC, FMA in the AVX kernels), so each is within
 * gamma_k = k u / (1 - k u) of the exact sum times sum_p |a_ip b_pj|, plus a rounding
 * each for alpha, beta C and the last add: |fast - ref| <= 2 (k + 2) u (|alpha| sum_p
 * |a_ip b_pj| + |beta c_old|) = (k + 2) eps (...); we allow (k + 4) eps. With a
 * built-in kernel (not CBLAS) the fast result must also equal fused_model bit for bit,
 * whatever k and beta: the arithmetic every kernel promises. */
void gemm_fast_agrees_with_reference(void **state)
{
    const size_t ms[] = {1, 7, 33}, ns[] = {3, 17, 65}, ks[] = {1, 5, 127, 131};
    const double ab[][2] = {{1, 0}, {1, 1}, {-0.75, 0}, {0.5, 1}, {1.5, -0.5}};
    size_t count = 0, exact_cases = 0;
    int built_in = strncmp(gf_gemm_backend(), "built-in", 8) == 0;
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
                    int exact = built_in;
                    exact_cases += (size_t)exact;
                    for (size_t i = 0; i < m; i++)
                        for (size_t j = 0; j < n; j++) {
                            double mag = 0, f = c_fast[i * ldc + j], r = c_ref[i * ldc + j];
                            gf_real model = fused_model(ta, tb, i, j, k, (gf_real)alpha, a, lda,
                                                        b, ldb, (gf_real)beta,
                                                        c_old[i * ldc + j]);
                            for (size_t p = 0; p < k; p++)
                                mag += fabs(op_elem(ta, a, lda, i, p) *
                                            op_elem(tb, b, ldb, p, j));
                            double old = beta == 0 ? 0 : beta * (double)c_old[i * ldc + j];
                            double bound =
                                (double)(k + 4) * TU_EPS * (fabs(alpha) * mag + fabs(old));
                            if (!(fabs(f - r) <= bound) ||
                                (exact && memcmp(&c_fast[i * ldc + j], &model, sizeof model)))
                                fail_msg("gemm %c%c m=%zu n=%zu k=%zu alpha=%g beta=%g: "
                                         "C[%zu,%zu] fast %.9g, reference %.9g (bound %.3g), "
                                         "fused model %.9g%s",
                                         ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, alpha, beta,
                                         i, j, f, r, bound, (double)model,
                                         exact ? " (bit for bit)" : "");
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
    print_message("gemm (%s): %zu of %zu cases checked bit for bit against the fused model\n",
                  gf_gemm_backend(), exact_cases, count);
}

/* Every built-in kernel this CPU runs gives the same bytes as the portable one, for the
 * four transpose cases, beta 0, 1 and other, alpha 1 and other, sizes that cross every
 * register tile (4, 6, 8 rows; 4 to 32 columns), NC, and KC (several blocks along k),
 * with leading dimensions wider than the rows; the bytes past each row must stay. With
 * k = 129 and 300 the operands pass 64 KiB and are packed (gemm.c): a row-major A's full
 * strips by the AVX-512 kernel's pack_a, both in its vector blocks and its tail of
 * k % 16 values (a wrong value in either fails this test), and B's panels. */
void gemm_kernels_give_the_same_bits(void **state)
{
    const size_t ms[] = {1, 5, 7, 13, 37}, ns[] = {1, 9, 17, 33, 131}, ks[] = {1, 3, 128, 129, 300};
    const double ab[][2] = {{1, 0}, {1, 1}, {-0.75, 0.5}, {1.25, 0}, {0.5, -2}, {-1, 1}};
    const gf_gemm_kernel others[] = {GF_GEMM_KERNEL_AVX2, GF_GEMM_KERNEL_AVX512};
    size_t count = 0, compared = 0;
    gf_rng rng;
    (void)state;
    gf_rng_seed(&rng, 15);
    for (int t = 0; t < 4; t++)
        for (size_t im = 0; im < 5; im++)
            for (size_t in = 0; in < 5; in++, count++) {
                gf_trans ta = (gf_trans)(t & 1), tb = (gf_trans)(t >> 1);
                size_t m = ms[im], n = ns[in], k = ks[(count + (size_t)t) % 5];
                double alpha = ab[count % 6][0], beta = ab[count % 6][1];
                size_t lda = (ta ? m : k) + 1, ldb = (tb ? k : n) + 3, ldc = n + 2;
                gf_real *a = padded_block(&rng, ta ? k : m, ta ? m : k, lda);
                gf_real *b = padded_block(&rng, tb ? n : k, tb ? k : n, ldb);
                gf_real *c_old = padded_block(&rng, m, n, ldc);
                gf_real *c_port = gf_alloc((m * ldc + 1) * sizeof *c_port);
                gf_real *c_other = gf_alloc((m * ldc + 1) * sizeof *c_other);
                assert_true(c_port != NULL && c_other != NULL);
                memcpy(c_port, c_old, m * ldc * sizeof *c_port);
                assert_int_equal(gf_gemm_with_kernel(GF_GEMM_KERNEL_PORTABLE, ta, tb, m, n, k,
                                                     (gf_real)alpha, a, lda, b, ldb,
                                                     (gf_real)beta, c_port, ldc),
                                 1);
                for (size_t i = 0; i < m; i++) /* the portable kernel is the fused model */
                    for (size_t j = 0; j < n; j++) {
                        gf_real model = fused_model(ta, tb, i, j, k, (gf_real)alpha, a, lda, b,
                                                    ldb, (gf_real)beta, c_old[i * ldc + j]);
                        assert_same_bits(&c_port[i * ldc + j], &model, 1);
                    }
                for (size_t o = 0; o < 2; o++) {
                    memcpy(c_other, c_old, m * ldc * sizeof *c_other);
                    if (!gf_gemm_with_kernel(others[o], ta, tb, m, n, k, (gf_real)alpha, a, lda,
                                             b, ldb, (gf_real)beta, c_other, ldc))
                        continue; /* this CPU lacks the kernel */
                    compared++;
                    if (memcmp(c_port, c_other, m * ldc * sizeof *c_other) != 0)
                        fail_msg("gemm %c%c m=%zu n=%zu k=%zu alpha=%g beta=%g: the %s kernel "
                                 "differs from the portable one",
                                 ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, alpha, beta,
                                 o == 0 ? "avx2" : "avx512");
                }
                gf_free(a);
                gf_free(b);
                gf_free(c_old);
                gf_free(c_port);
                gf_free(c_other);
            }
    print_message("gemm: %zu products of %zu compared byte for byte across kernels\n", compared,
                  count);
}

/* gf_gemm_with_kernel on a copy of c_old, then every element against the fused model. */
static void check_kernel_against_model(gf_gemm_kernel kernel, gf_trans ta, gf_trans tb,
                                       size_t m, size_t n, size_t k, const gf_real *a,
                                       size_t lda, const gf_real *b, size_t ldb, gf_real beta,
                                       const gf_real *c_old, gf_real *c, size_t ldc)
{
    memcpy(c, c_old, m * ldc * sizeof *c);
    if (!gf_gemm_with_kernel(kernel, ta, tb, m, n, k, (gf_real)0.5, a, lda, b, ldb, beta, c,
                             ldc))
        return; /* this CPU lacks the kernel */
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            gf_real model = fused_model(ta, tb, i, j, k, (gf_real)0.5, a, lda, b, ldb, beta,
                                        c_old[i * ldc + j]);
            if (memcmp(&c[i * ldc + j], &model, sizeof model) != 0)
                fail_msg("gemm %c%c m=%zu n=%zu k=%zu beta=%g kernel %d: C[%zu,%zu] %.9g, "
                         "fused model %.9g", ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k,
                         (double)beta, (int)kernel, i, j, (double)c[i * ldc + j],
                         (double)model);
        }
}

/* The sum of squares of C that a product takes when asked (gf_gemm_request_sumsq,
 * src/fast/gemm.h) is served only as asked: by the next product into all of that C, with
 * contiguous rows, through the kernels, once; with the bits of the chunked sum. Without
 * memory for the sums of a C of more than 64 chunks, the product is done all the same
 * and the request left to the caller. */
void gemm_sum_of_squares_only_where_asked(void **state)
{
    const size_t m = 50, n = 700, k = 20; /* 35000 values: three chunks */
    gf_rng rng;
    gf_real *a, *b, *c, *other, *big, *big_want, *ones;
    gf_gemm_sumsq_request req = {NULL, 0, NAN, 0};
    double first;
    (void)state;
    gf_rng_seed(&rng, 22);
    a = padded_block(&rng, m, k, k);
    b = padded_block(&rng, k, n, n);
    c = padded_block(&rng, m, n, n);
    other = padded_block(&rng, m, n, n);
    /* Asked about c, a product into another C, or into c with padded rows, or with alpha
     * 0, does not serve it. */
    req = (gf_gemm_sumsq_request){c, m * n, NAN, 1};
    gf_gemm_request_sumsq(&req);
    assert_int_equal(req.taken, 0);
    gf_gemm_with_kernel(GF_GEMM_KERNEL_PORTABLE, 0, 0, m, n, k, 1, a, k, b, n, 0, other, n);
    gf_gemm_with_kernel(GF_GEMM_KERNEL_PORTABLE, 0, 0, m, n - 1, k, 1, a, k, b, n, 0, c, n);
    gf_gemm_with_kernel(GF_GEMM_KERNEL_PORTABLE, 0, 0, m, n, k, 0, a, k, b, n, 1, c, n);
    assert_int_equal(req.taken, 0);
    /* The product into c serves it, with gf_stats_sumsq's bits in the fast build. */
    gf_gemm_with_kernel(GF_GEMM_KERNEL_PORTABLE, 0, 0, m, n, k, 1, a, k, b, n, 0, c, n);
    assert_int_equal(req.taken, 1);
    first = req.sumsq;
    if (GF_FAST)
        assert_true(first == gf_stats_sumsq(c, m * n));
    assert_true(first > 0);
    /* Once: a second product into c leaves the figure of the first. */
    gf_gemm_with_kernel(GF_GEMM_KERNEL_PORTABLE, 0, 0, m, n, k, 2, a, k, b, n, 0, c, n);
    assert_memory_equal(&req.sumsq, &first, sizeof first);
    /* No longer asked: nothing is written. */
    gf_gemm_request_sumsq(NULL);
    req.taken = 0;
    gf_gemm_with_kernel(GF_GEMM_KERNEL_PORTABLE, 0, 0, m, n, k, 1, a, k, b, n, 0, c, n);
    assert_int_equal(req.taken, 0);
    /* 1100 x 1000 values (68 chunks), their sums from gf_alloc; when it fails, the same
     * product, not served. */
    big = gf_alloc(1100 * 1000 * sizeof *big);
    big_want = gf_alloc(1100 * 1000 * sizeof *big_want);
    ones = padded_block(&rng, 1, 1100, 1100);
    assert_true(big != NULL && big_want != NULL);
    gf_gemm_with_kernel(GF_GEMM_KERNEL_PORTABLE, 1, 0, 1100, 1000, 1, 1, ones, 1100, ones, 1100,
                        0, big_want, 1000);
    req = (gf_gemm_sumsq_request){big, 1100 * 1000, NAN, 0};
    gf_gemm_request_sumsq(&req);
    gf_gemm_with_kernel(GF_GEMM_KERNEL_PORTABLE, 1, 0, 1100, 1000, 1, 1, ones, 1100, ones, 1100,
                        0, big, 1000);
    assert_int_equal(req.taken, 1);
    if (GF_FAST)
        assert_true(req.sumsq == gf_stats_sumsq(big_want, 1100 * 1000));
    gf_gemm_request_sumsq(&req);
    tu_alloc_install(1); /* every allocation fails */
    tu_alloc.fail_after = 1;
    memset(big, 0, 1100 * 1000 * sizeof *big);
    gf_gemm_with_kernel(GF_GEMM_KERNEL_PORTABLE, 1, 0, 1100, 1000, 1, 1, ones, 1100, ones, 1100,
                        0, big, 1000);
    assert_true(tu_alloc.failed > 0);
    tu_alloc_uninstall();
    gf_gemm_request_sumsq(NULL);
    assert_int_equal(req.taken, 0);
    assert_same_bits(big, big_want, 1100 * 1000);
    gf_free(a), gf_free(b), gf_free(c), gf_free(other), gf_free(big), gf_free(big_want);
    gf_free(ones);
}

/* Products wider than one packed block of op(B) (1024 columns of floats, 512 of doubles,
 * src/fast/gemm.c), whose blocks come from gf_alloc: every kernel still computes the
 * fused model bit for bit, and the same bits again when gf_alloc fails (the product then
 * runs with the small blocks kept on the stack). */
void gemm_wide_blocks_and_no_memory_give_the_same_bits(void **state)
{
    const size_t m = 11, n = 1100, k = 260;
    const gf_gemm_kernel kernels[] = {GF_GEMM_KERNEL_PORTABLE, GF_GEMM_KERNEL_AVX2,
                                      GF_GEMM_KERNEL_AVX512};
    gf_rng rng;
    (void)state;
    gf_rng_seed(&rng, 21);
    for (int t = 0; t < 4; t++) {
        gf_trans ta = (gf_trans)(t & 1), tb = (gf_trans)(t >> 1);
        size_t lda = (ta ? m : k) + 1, ldb = (tb ? k : n) + 3, ldc = n + 2;
        gf_real *a = padded_block(&rng, ta ? k : m, ta ? m : k, lda);
        gf_real *b = padded_block(&rng, tb ? n : k, tb ? k : n, ldb);
        gf_real *c_old = padded_block(&rng, m, n, ldc);
        gf_real *c = gf_alloc((m * ldc + 1) * sizeof *c);
        assert_non_null(c);
        for (size_t kk = 0; kk < 3; kk++)
            for (int beta = 0; beta <= 1; beta++) {
                check_kernel_against_model(kernels[kk], ta, tb, m, n, k, a, lda, b, ldb,
                                           (gf_real)beta, c_old, c, ldc);
                tu_alloc_install(1); /* every allocation from the first on fails */
                tu_alloc.fail_after = 1;
                check_kernel_against_model(kernels[kk], ta, tb, m, n, k, a, lda, b, ldb,
                                           (gf_real)beta, c_old, c, ldc);
                assert_true(tu_alloc.failed > 0); /* the wide block was asked for */
                assert_int_equal(tu_alloc_live(), 0);
                tu_alloc_uninstall();
            }
        gf_free(a);
        gf_free(b);
        gf_free(c_old);
        gf_free(c);
    }
}
