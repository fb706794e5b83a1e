/* tests/test_threads.c: the worker pool (src/fast/pool.c, gradflow/threads.h). The loops
 * that run on threads give the same bytes at 1, 2 and 3 threads: the GEMM in every
 * transpose, beta 0 and 1, with each kernel the CPU has, on shapes split by rows and
 * by columns; the telemetry's long reductions; the activation layer's forward pass and
 * its backward pass with its statistics; the bias gradient; the optimiser's update;
 * whole training steps. Two threads using the library at once get the same bytes too
 * (one falls back to running alone), and every part of a job runs exactly once. The
 * test lowers the sizes at which work is split (gf_pool_scale_thresholds), so that its
 * products and arrays are cut into several parts. Then the rule that says how many parts (gf_pool_parts_given), and the count's
 * setters and their errors. In the reference build every count runs on one thread, and
 * the comparisons hold trivially (the build is still tested). */
#define _POSIX_C_SOURCE 200809L /* nanosleep */

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

#include "../src/core/internal.h"
#include "../src/fast/bias_grad.h"
#include "../src/fast/fast.h"
#include "../src/fast/gemm.h"
#include "../src/fast/pool.h"
#include "../src/fast/stats.h"
#include "gradflow/layer.h"
#include "gradflow/net.h"
#include "gradflow/optim.h"
#include "gradflow/threads.h"

static const size_t counts[] = {1, 2, 3};
enum { N_COUNTS = sizeof counts / sizeof counts[0] };

static gf_real *random_array(size_t n, uint64_t seed)
{
    gf_rng rng;
    gf_real *x = test_malloc(n * sizeof *x);
    gf_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++)
        x[i] = (gf_real)gf_rng_normal(&rng);
    return x;
}

static int any_nonzero(const gf_real *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (x[i] != 0)
            return 1;
    return 0;
}

/* ---- GEMM ------------------------------------------------------------------------------ */

typedef struct shape {
    size_t m, n, k; /* split into several bands, with the test's scale (main) */
} shape;

/* C = alpha op(A) op(B) + beta C0 with the given kernel at each thread count: the same
 * bytes at every count. A and B are stored with leading dimensions wider than needed, so
 * that the bands' offsets into them are exercised with strides too. */
static void gemm_case(gf_gemm_kernel kernel, shape s, gf_trans ta, gf_trans tb, gf_real beta)
{
    size_t lda = (ta ? s.m : s.k) + 3, ldb = (tb ? s.k : s.n) + 5, ldc = s.n + 2;
    size_t na = (ta ? s.k : s.m) * lda, nb = (tb ? s.n : s.k) * ldb, nc = s.m * ldc;
    gf_real *a = random_array(na, 1), *b = random_array(nb, 2), *c0 = random_array(nc, 3);
    gf_real *want = test_malloc(nc * sizeof *want), *got = test_malloc(nc * sizeof *got);
    for (size_t t = 0; t < N_COUNTS; t++) {
        gf_real *c = t == 0 ? want : got;
        assert_ok(gf_set_threads(counts[t]));
        assert_int_equal(gf_threads(), GF_FAST ? counts[t] : 1);
        memcpy(c, c0, nc * sizeof *c);
        if (!gf_gemm_with_kernel(kernel, ta, tb, s.m, s.n, s.k, (gf_real)0.75, a, lda, b, ldb,
                                 beta, c, ldc))
            break; /* this CPU lacks the kernel */
        if (t > 0 && memcmp(want, got, nc * sizeof *got) != 0)
            fail_msg("kernel %d, %zux%zux%zu, trans %d%d, beta %g: %zu threads differ",
                     (int)kernel, s.m, s.n, s.k, (int)ta, (int)tb, (double)beta, counts[t]);
    }
    assert_true(any_nonzero(want, nc));
    test_free(a), test_free(b), test_free(c0), test_free(want), test_free(got);
}

static void gemm_same_bytes_at_1_2_3_threads(void **state)
{
    /* Taller than wide (split by rows); wider than tall with a small op(B) (by rows at 2
     * threads, by columns at 3, whose bands would be under two tiles); wider than tall
     * and too short for bands of rows (by columns); sizes that are no multiple of any
     * tile, and k over two blocks of GF_GEMM_KC. */
    static const shape shapes[] = {{203, 61, 261}, {37, 301, 259}, {13, 700, 130}};
    static const gf_gemm_kernel kernels[] = {GF_GEMM_KERNEL_PORTABLE, GF_GEMM_KERNEL_AVX2,
                                             GF_GEMM_KERNEL_AVX512};
    static const gf_real betas[] = {0, 1}; /* beta C then overwritten, or added to */
    (void)state;
    for (size_t kk = 0; kk < 3; kk++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int ta = 0; ta < 2; ta++)
                for (int tb = 0; tb < 2; tb++)
                    for (size_t be = 0; be < 2; be++)
                        gemm_case(kernels[kk], shapes[s], (gf_trans)ta, (gf_trans)tb, betas[be]);
    assert_ok(gf_set_threads(0));
}

/* sum x^2 over x[0..n) as gf_stats_sumsq adds it in the fast build: chunks of
 * GF_STATS_CHUNK values by gf_stats_sumsq_fast, added in order from 0. */
static double chunked_sumsq(const gf_real *x, size_t n)
{
    double s = 0;
    for (size_t lo = 0; lo < n; lo += GF_STATS_CHUNK)
        s += gf_stats_sumsq_fast(x + lo, n - lo < GF_STATS_CHUNK ? n - lo : GF_STATS_CHUNK);
    return s;
}

/* The sum of squares a product takes of its C when asked (gf_gemm_request_sumsq): that of
 * the C it wrote, bit for bit, at every count; taken in one band and in bands of rows
 * (a product cut in bands of columns leaves it to the caller). Rows of C contiguous,
 * C over one chunk of the sums, chunks ending inside rows. */
static void gemm_sum_of_squares_same_at_1_2_3_threads(void **state)
{
    /* Taller than wide (by rows); wider than tall with a small op(B) (by rows at 2
     * threads, by columns at 3); k in one block. */
    static const shape shapes[] = {{203, 161, 261}, {37, 301, 259}, {300, 290, 40}};
    static const gf_gemm_kernel kernels[] = {GF_GEMM_KERNEL_PORTABLE, GF_GEMM_KERNEL_AVX2,
                                             GF_GEMM_KERNEL_AVX512};
    (void)state;
    for (size_t kk = 0; kk < 3; kk++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int t = 0; t < 4; t++) {
                gf_trans ta = (gf_trans)(t & 1), tb = (gf_trans)(t >> 1);
                size_t m = shapes[s].m, n = shapes[s].n, k = shapes[s].k;
                gf_real *a = random_array(m * k, 6), *b = random_array(k * n, 7);
                gf_real *c = random_array(m * n, 8);
                double first = NAN;
                for (size_t i = 0; i < N_COUNTS; i++) {
                    gf_gemm_sumsq_request req = {c, m * n, NAN, 0};
                    assert_ok(gf_set_threads(counts[i]));
                    gf_gemm_request_sumsq(&req);
                    if (!gf_gemm_with_kernel(kernels[kk], ta, tb, m, n, k, 1, a, ta ? m : k,
                                             b, tb ? k : n, (gf_real)(t & 1), c, n)) {
                        gf_gemm_request_sumsq(NULL);
                        break; /* this CPU lacks the kernel */
                    }
                    gf_gemm_request_sumsq(NULL);
                    if (counts[i] == 1 || m >= n || !GF_FAST)
                        assert_true(req.taken); /* one band, or bands of rows */
                    if (!req.taken)
                        continue;
                    double want = chunked_sumsq(c, m * n);
                    assert_memory_equal(&req.sumsq, &want, sizeof want);
                    if (GF_FAST)
                        assert_true(req.sumsq == gf_stats_sumsq(c, m * n));
                    if (t & 1) /* beta 1: C grows from count to count */
                        continue;
                    if (i == 0)
                        first = req.sumsq;
                    assert_memory_equal(&req.sumsq, &first, sizeof first);
                }
                test_free(a), test_free(b), test_free(c);
            }
    assert_ok(gf_set_threads(0));
}

/* gf_gemm_raw, what the layers call (the reference GEMM in the reference build). */
static void gemm_raw_same_bytes(void **state)
{
    size_t m = 150, n = 140, k = 130;
    gf_real *a = random_array(m * k, 4), *b = random_array(k * n, 5);
    gf_real *want = test_calloc(m * n, sizeof *want), *got = test_calloc(m * n, sizeof *got);
    (void)state;
    for (size_t t = 0; t < N_COUNTS; t++) {
        assert_ok(gf_set_threads(counts[t]));
        gf_gemm_raw(GF_NO_TRANS, GF_NO_TRANS, m, n, k, 1, a, k, b, n, 0, t == 0 ? want : got, n);
        if (t > 0)
            assert_memory_equal(want, got, m * n * sizeof *got);
    }
    assert_true(any_nonzero(want, m * n));
    assert_ok(gf_set_threads(0));
    test_free(a), test_free(b), test_free(want), test_free(got);
}

/* ---- Reductions and the activation layer ------------------------------------------------ */

static void reductions_same_bits(void **state)
{
    size_t n = 1234567; /* many chunks, a short last one */
    gf_real *x = random_array(n, 6);
    double want[3] = {0}, got[3], ref_sum, ref_sq;
    size_t zeros, ref_zeros;
    (void)state;
    x[1000] = 0, x[900000] = -0.0f; /* zeros in two chunks */
    for (size_t t = 0; t < N_COUNTS; t++) {
        assert_ok(gf_set_threads(counts[t]));
        got[0] = gf_stats_sumsq(x, n);
        gf_stats_moments(x, n, &got[1], &got[2], &zeros);
        assert_int_equal(zeros, 2);
        if (t == 0)
            memcpy(want, got, sizeof want);
        else
            assert_memory_equal(want, got, sizeof want);
    }
    /* and the sums are right: against the plain loop, within its rounding */
    gf_stats_moments_ref(x, n, &ref_sum, &ref_sq, &ref_zeros);
    assert_near(want[0], ref_sq, 0, 1e-6);
    assert_near(want[2], ref_sq, 0, 1e-6);
    assert_near(want[1], ref_sum, 1e-6 * sqrt(ref_sq), 1e-6);
    assert_ok(gf_set_threads(0));
    test_free(x);
}

static void activation_forward_same_bytes(void **state)
{
    size_t batch = 300, width = 1001; /* 300300 values: split, with the test's scale */
    const gf_activation *tanh_row = NULL;
    gf_layer layer;
    gf_tensor *x, *want, *got;
    (void)state;
    assert_ok(gf_activation_find(&tanh_row, "tanh"));
    assert_ok(gf_layer_activation(&layer, width, tanh_row, 0));
    assert_ok(gf_tensor_new(&x, batch, width));
    assert_ok(gf_tensor_new(&want, batch, width));
    assert_ok(gf_tensor_new(&got, batch, width));
    gf_real *r = random_array(batch * width, 7);
    memcpy(x->data, r, batch * width * sizeof *r);
    for (size_t t = 0; t < N_COUNTS; t++) {
        assert_ok(gf_set_threads(counts[t]));
        assert_ok(layer.ops->forward(&layer, x, t == 0 ? want : got, 1));
        if (t > 0)
            assert_memory_equal(want->data, got->data, batch * width * sizeof *r);
    }
    assert_true(any_nonzero(want->data, batch * width));
    assert_ok(gf_set_threads(0));
    gf_layer_release(&layer);
    gf_tensor_free(x), gf_tensor_free(want), gf_tensor_free(got);
    test_free(r);
}

/* The activation layer's backward pass on a recorded step: dx and the derivative
 * statistics (record) the same bytes at every count, with rows that fit a chunk and rows
 * longer than one. One unit is negative on every row: a ReLU unit is then dead, and the
 * per-unit sums of every part are needed; tanh's |f'| sums depend on their order. */
static void activation_backward_case(const char *name, size_t batch, size_t width)
{
    const gf_activation *act = NULL;
    gf_layer layer;
    gf_tensor *x, *y, *dy, *dx;
    gf_record want = {0}, got;
    gf_real *want_dx = test_malloc(batch * width * sizeof *want_dx);
    assert_ok(gf_activation_find(&act, name));
    assert_ok(gf_layer_activation(&layer, width, act, 0));
    assert_ok(gf_tensor_new(&x, batch, width));
    assert_ok(gf_tensor_new(&y, batch, width));
    assert_ok(gf_tensor_new(&dy, batch, width));
    assert_ok(gf_tensor_new(&dx, batch, width));
    gf_real *r = random_array(batch * width, 13), *g = random_array(batch * width, 14);
    memcpy(x->data, r, batch * width * sizeof *r);
    memcpy(dy->data, g, batch * width * sizeof *g);
    for (size_t i = 0; i < batch; i++)
        x->data[i * width + 5] = -1; /* unit 5 is dead */
    for (size_t t = 0; t < N_COUNTS; t++) {
        assert_ok(gf_set_threads(counts[t]));
        assert_ok(layer.ops->forward(&layer, x, y, 1));
        memcpy(dx->data, r, batch * width * sizeof *r); /* backward adds into dx */
        layer.recording = 1;
        assert_ok(layer.ops->backward(&layer, x, y, dy, dx));
        layer.recording = 0;
        got = (gf_record){0};
        layer.ops->record(&layer, x, y, &got);
        if (t == 0) {
            want = got;
            memcpy(want_dx, dx->data, batch * width * sizeof *r);
        } else {
            assert_memory_equal(want_dx, dx->data, batch * width * sizeof *r);
            assert_memory_equal(&want, &got, sizeof got);
        }
    }
    assert_near(want.dead_frac, strcmp(name, "relu") == 0 ? 1.0 / (double)width : 0, 0, 1e-12);
    assert_true(want.deriv_abs_mean > 0.3 && want.deriv_abs_mean < 0.7); /* about half */
    assert_ok(gf_set_threads(0));
    gf_layer_release(&layer);
    gf_tensor_free(x), gf_tensor_free(y), gf_tensor_free(dy), gf_tensor_free(dx);
    test_free(r), test_free(g), test_free(want_dx);
}

static void activation_backward_same_bytes(void **state)
{
    (void)state;
    activation_backward_case("relu", 300, 1001); /* two rows a chunk */
    activation_backward_case("tanh", 300, 1001);
    activation_backward_case("tanh", 70, 5000);  /* a row in three chunks */
}

/* The bias gradient, column sums of a wide dy, shared out by columns: the same bytes at
 * every count, and each column the plain sum, row after row in double. */
static void bias_gradient_same_bytes(void **state)
{
    size_t batch = 300, out = 1001; /* 300300 values: split, with the test's scale */
    gf_real *dy = random_array(batch * out, 10), *start = random_array(out, 11);
    gf_real *want = test_malloc(out * sizeof *want), *got = test_malloc(out * sizeof *got);
    (void)state;
    for (int add = 0; add <= 1; add++) {
        for (size_t t = 0; t < N_COUNTS; t++) {
            gf_real *db = t == 0 ? want : got;
            assert_ok(gf_set_threads(counts[t]));
            memcpy(db, start, out * sizeof *db);
            gf_bias_grad_fast(db, dy, batch, out, add);
            if (t > 0)
                assert_memory_equal(want, got, out * sizeof *got);
        }
        for (size_t j = 0; j < out; j++) {
            double sum = 0;
            for (size_t r = 0; r < batch; r++)
                sum += dy[r * out + j];
            assert_true(want[j] == (add ? start[j] : 0) + (gf_real)sum);
        }
    }
    assert_ok(gf_set_threads(0));
    test_free(dy), test_free(start), test_free(want), test_free(got);
}

/* The optimiser's update of a long range, shared out by pieces, measured (||delta|| and
 * the parameters' sum of squares) and not: the same parameters, state and figures, byte
 * for byte, at every count, for every optimiser; the sum of squares is gf_stats_sumsq's,
 * and two steps run, so that the state's second step is compared too. */
static void update_same_bytes(void **state)
{
    enum { N = 3 * GF_STATS_CHUNK + 101 }; /* pieces of the chunk, the last one short */
    gf_real *g = random_array(N, 12), *p0 = random_array(N, 13);
    gf_real *want = test_malloc(N * sizeof *want), *got = test_malloc(N * sizeof *got);
    (void)state;
    for (int kind = 0; kind < GF_OPTIM_COUNT; kind++)
        for (int measure = 0; measure <= 1; measure++) {
            gf_optim_config cfg = gf_optim_default((gf_optim_kind)kind);
            gf_optim *first = NULL;
            double norm0[2] = {0}, sumsq0[2] = {0};
            for (size_t t = 0; t < N_COUNTS; t++) {
                gf_real *p = t == 0 ? want : got;
                gf_optim *opt = NULL;
                double norm[2] = {-1, -1}, sumsq[2] = {-1, -1};
                assert_ok(gf_set_threads(counts[t]));
                assert_ok(gf_optim_new(&opt, &cfg, N));
                memcpy(p, p0, N * sizeof *p);
                for (int step = 0; step < 2; step++) {
                    double before = gf_stats_sumsq(p, N);
                    assert_ok(gf_optim_update(opt, p, g, 0, N, measure ? &norm[step] : NULL,
                                              measure ? &sumsq[step] : NULL));
                    gf_optim_advance(opt);
                    if (measure)
                        assert_memory_equal(&sumsq[step], &before, sizeof before);
                }
                if (t == 0) {
                    first = opt;
                    memcpy(norm0, norm, sizeof norm), memcpy(sumsq0, sumsq, sizeof sumsq);
                    continue;
                }
                assert_memory_equal(want, got, N * sizeof *got);
                assert_memory_equal(norm0, norm, sizeof norm);
                assert_memory_equal(sumsq0, sumsq, sizeof sumsq);
                tu_assert_same_optim_state(first, opt);
                gf_optim_free(opt);
            }
            assert_true(!measure || (norm0[0] > 0 && norm0[1] > 0));
            gf_optim_free(first);
        }
    assert_ok(gf_set_threads(0));
    test_free(g), test_free(p0), test_free(want), test_free(got);
}

/* Training steps of a network large enough for its update to be shared out by pieces
 * (and its GEMMs, activations and bias gradients by rows and columns): the same
 * parameters and the same records, byte for byte, at every count. Adam, so that the
 * optimiser's state is shared out too. */
static void training_steps_same_bytes(void **state)
{
    gf_mlp_spec spec = {.in = 200, .width = 300, .depth = 4, .out = 100, .act = "tanh",
                        .act_param = NAN};
    gf_optim_config adam = gf_optim_default(GF_OPTIM_ADAM);
    size_t batch = 64, n_params = 0, n_rec = 0;
    gf_real *want_params = NULL;
    gf_record *want_recs = NULL;
    (void)state;
    for (size_t t = 0; t < N_COUNTS; t++) {
        gf_net *net;
        gf_optim *opt;
        gf_tensor *x, *target;
        gf_rng rng;
        const gf_record *recs;
        size_t count;
        assert_ok(gf_set_threads(counts[t]));
        gf_rng_seed(&rng, 12);
        assert_ok(gf_net_new_mlp(&net, &spec, &rng));
        n_params = gf_net_param_count(net);
        assert_ok(gf_optim_new(&opt, &adam, n_params));
        assert_ok(gf_tensor_new(&x, batch, spec.in));
        assert_ok(gf_tensor_new(&target, batch, spec.out));
        for (size_t i = 0; i < batch * spec.in; i++)
            x->data[i] = (gf_real)gf_rng_normal(&rng);
        for (size_t i = 0; i < batch * spec.out; i++)
            target->data[i] = (gf_real)(0.5 * gf_rng_normal(&rng));
        for (int step = 0; step < 3; step++)
            assert_ok(gf_net_train_step(net, NULL, x, target, opt, GF_LOSS_MSE, NULL));
        assert_ok(gf_net_last_records(net, &recs, &count));
        if (t == 0) {
            n_rec = count;
            want_params = test_malloc(n_params * sizeof *want_params);
            want_recs = test_malloc(count * sizeof *want_recs);
            memcpy(want_params, gf_net_params(net), n_params * sizeof *want_params);
            memcpy(want_recs, recs, count * sizeof *recs);
            assert_true(recs[0].update_ratio > 0); /* measured, not left NaN */
        } else {
            assert_int_equal(count, n_rec);
            assert_memory_equal(want_params, gf_net_params(net), n_params * sizeof(gf_real));
            assert_memory_equal(want_recs, recs, count * sizeof *recs);
        }
        gf_net_free(net), gf_optim_free(opt), gf_tensor_free(x), gf_tensor_free(target);
    }
    assert_ok(gf_set_threads(0));
    test_free(want_params), test_free(want_recs);
}

/* ---- Two threads using the library at once ------------------------------------------------ */

typedef struct concurrent {
    const gf_real *a, *b;
    gf_real *c;
    size_t n;
} concurrent;

static void *product(void *arg)
{
    concurrent *w = arg;
    for (int rep = 0; rep < 3; rep++)
        gf_gemm_raw(GF_NO_TRANS, GF_TRANS, w->n, w->n, w->n, 1, w->a, w->n, w->b, w->n, 0, w->c,
                    w->n);
    return NULL;
}

static void two_callers_at_once(void **state)
{
    size_t n = 160, nn = 160 * 160;
    gf_real *a = random_array(nn, 8), *b = random_array(nn, 9);
    gf_real *c[3] = {test_malloc(nn * sizeof(gf_real)), test_malloc(nn * sizeof(gf_real)),
                     test_malloc(nn * sizeof(gf_real))};
    concurrent w[3] = {{a, b, c[0], n}, {a, b, c[1], n}, {a, b, c[2], n}};
    pthread_t other;
    (void)state;
    assert_ok(gf_set_threads(2));
    product(&w[0]); /* alone */
    assert_int_equal(pthread_create(&other, NULL, product, &w[1]), 0);
    product(&w[2]); /* beside the other thread: one of the two finds the pool busy */
    assert_int_equal(pthread_join(other, NULL), 0);
    assert_memory_equal(c[0], c[1], nn * sizeof(gf_real));
    assert_memory_equal(c[0], c[2], nn * sizeof(gf_real));
    assert_ok(gf_set_threads(0));
    test_free(a), test_free(b), test_free(c[0]), test_free(c[1]), test_free(c[2]);
}

/* ---- The jobs themselves -------------------------------------------------------------------- */

/* Each part of a job counts itself in its own slot; the job also counts the parts that
 * ran on a thread other than the caller's, and part 0 may post a job of its own (no
 * cmocka assertion runs inside a part: a worker must not jump out of it). */
enum { SLOTS = 70000 };

typedef struct tally {
    unsigned char runs[SLOTS];
    pthread_t caller;
    size_t elsewhere; /* parts run off the caller's thread: written by part 1 only */
    int nested;       /* part 0 posts a job of 3 parts ... */
    int nested_ok;    /* ... which ran on its thread, every part once */
} tally;

static void count_part(void *arg, size_t part, size_t parts)
{
    tally *t = arg;
    (void)parts;
    t->runs[part]++;
    if (part == 1)
        t->elsewhere += !pthread_equal(pthread_self(), t->caller);
    if (part == 0 && t->nested) { /* the pool is busy: it runs here */
        tally *inner = malloc(sizeof *inner);
        if (inner == NULL)
            return;
        memset(inner->runs, 0, 3);
        inner->caller = pthread_self();
        inner->elsewhere = 0;
        inner->nested = 0;
        gf_pool_run(count_part, inner, 3);
        t->nested_ok = inner->runs[0] == 1 && inner->runs[1] == 1 && inner->runs[2] == 1 &&
                       inner->elsewhere == 0;
        free(inner);
    }
}

/* A job of `parts` parts, `jobs` times back to back: every part runs exactly once in
 * each. */
static void run_jobs(tally *t, size_t parts, int jobs, int nested)
{
    for (int j = 0; j < jobs; j++) {
        memset(t->runs, 0, parts);
        t->caller = pthread_self();
        t->elsewhere = 0;
        t->nested = nested;
        t->nested_ok = 0;
        gf_pool_run(count_part, t, parts);
        if (nested)
            assert_true(t->nested_ok);
        for (size_t p = 0; p < parts; p++)
            if (t->runs[p] != 1)
                fail_msg("job %d of %zu parts: part %zu ran %d times", j, parts, p,
                         t->runs[p]);
    }
}

/* A job of two parts whose part 0 (the calling thread's) waits, 10 s at most, for part 1
 * to start: part 1 then runs on a worker, whenever the system schedules it (how many
 * parts of a short job a worker takes depends on that, so the jobs above do not count
 * them). */
typedef struct handshake {
    atomic_int started;
    pthread_t caller;
    int elsewhere;
} handshake;

static void wait_for_part_1(void *arg, size_t part, size_t parts)
{
    handshake *h = arg;
    struct timespec nap = {0, 100000};
    (void)parts;
    if (part == 1) {
        h->elsewhere = !pthread_equal(pthread_self(), h->caller);
        atomic_store(&h->started, 1);
        return;
    }
    for (int i = 0; i < 100000 && !atomic_load(&h->started); i++)
        nanosleep(&nap, NULL);
}

static int part_runs_on_a_worker(void)
{
    handshake h;
    atomic_init(&h.started, 0);
    h.caller = pthread_self();
    h.elsewhere = 0;
    gf_pool_run(wait_for_part_1, &h, 2);
    return atomic_load(&h.started) && h.elsewhere;
}

/* Jobs posted and claimed without the pool's lock (src/fast/pool.c): many short jobs of
 * 2 to 9 parts, and of 1000, at 2 and 3 threads, each part run exactly once, a part
 * posting a job of its own (run on its thread), jobs after the workers have gone to
 * sleep (a pause longer than their watch), and more parts than the job word holds
 * (65535: run on the calling thread). A worker takes a part that waits for it. */
static void every_part_runs_once(void **state)
{
    tally *t = test_malloc(sizeof *t);
    struct timespec pause = {0, 2000000}; /* 2 ms: the workers watch for 0.1 ms */
    (void)state;
    for (size_t c = 1; c < N_COUNTS; c++) {
        assert_ok(gf_set_threads(counts[c]));
        for (size_t parts = 2; parts <= 9; parts++)
            run_jobs(t, parts, 300, 0);
        run_jobs(t, 1000, 20, 0);
        run_jobs(t, 4, 50, 1);
        for (int sleeps = 0; sleeps < 5; sleeps++) {
            nanosleep(&pause, NULL);
            run_jobs(t, 2, 1, 0);
        }
        run_jobs(t, SLOTS, 1, 0); /* beyond the job word: on the calling thread */
        assert_int_equal(t->elsewhere, 0);
        if (GF_FAST) /* the reference build runs every part on the calling thread */
            assert_true(part_runs_on_a_worker());
    }
    assert_ok(gf_set_threads(0));
    test_free(t);
}

/* ---- How many parts ---------------------------------------------------------------------- */

/* gf_pool_parts_given: a sleeping pool is woken only for parts of min_part units, up to
 * GF_POOL_PARTS_PER_THREAD a thread; an awake one shares a job GF_POOL_AWAKE_SHARE times
 * smaller in one part per thread; one thread never splits. */
static void parts_rule(void **state)
{
    const double min = 1000, small = min / GF_POOL_AWAKE_SHARE;
    (void)state;
    for (int awake = 0; awake <= 1; awake++) {
        assert_int_equal(gf_pool_parts_given(1e9, min, 1, awake), 1);
        assert_int_equal(gf_pool_parts_given(3 * min, min, 2, awake), awake ? 2 : 3);
        assert_int_equal(gf_pool_parts_given(100 * min, min, 2, awake),
                         awake ? 2 : 2 * GF_POOL_PARTS_PER_THREAD);
    }
    assert_int_equal(gf_pool_parts_given(2 * min - 1, min, 2, 0), 1);
    assert_int_equal(gf_pool_parts_given(2 * small, min, 2, 0), 1);
    assert_int_equal(gf_pool_parts_given(2 * small, min, 2, 1), 2);
    assert_int_equal(gf_pool_parts_given(2 * small, min, 3, 1), 1); /* a third each: too little */
    assert_int_equal(gf_pool_parts_given(3 * small, min, 3, 1), 3);
    assert_int_equal(gf_pool_parts_given(2 * small - 1, min, 2, 1), 1);
    /* The live rule: nothing is split in the reference build, nor below the small size. */
    if (!GF_FAST)
        assert_int_equal(gf_pool_parts(1e12, 1), 1);
    assert_int_equal(gf_pool_parts(1, 64.0 * GF_POOL_AWAKE_SHARE), 1);
}

/* ---- The count --------------------------------------------------------------------------- */

static void count_setters_and_errors(void **state)
{
    size_t n = 99;
    (void)state;
    assert_status(gf_set_threads(GF_THREADS_MAX + 1), GF_EINVAL);
    assert_ok(gf_set_threads(0)); /* every core */
    assert_true(gf_threads() >= 1 && gf_threads() <= GF_THREADS_MAX);
    if (!GF_FAST)
        assert_int_equal(gf_threads(), 1);
    assert_ok(gf_threads_parse(&n, "3"));
    assert_int_equal(n, 3);
    assert_ok(gf_threads_parse(&n, "0"));
    assert_int_equal(n, 0);
    assert_status(gf_threads_parse(&n, "257"), GF_EINVAL);
    assert_status(gf_threads_parse(&n, ""), GF_EINVAL);
    assert_status(gf_threads_parse(&n, "-1"), GF_EINVAL);
    assert_status(gf_threads_parse(&n, "2x"), GF_EINVAL);
    assert_status(gf_threads_parse(&n, "99999999999999999999999"), GF_EINVAL);
    assert_status(gf_threads_parse(NULL, "2"), GF_EINVAL);
    assert_int_equal(n, 0); /* untouched by the failures */
}

int main(void)
{
    /* Split at a 64th of the sizes the library splits at, so that products and arrays
     * small enough for a sanitizer build are still cut into several parts. */
    gf_pool_scale_thresholds(1.0 / 64);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gemm_same_bytes_at_1_2_3_threads),
        cmocka_unit_test(gemm_raw_same_bytes),
        cmocka_unit_test(gemm_sum_of_squares_same_at_1_2_3_threads),
        cmocka_unit_test(reductions_same_bits),
        cmocka_unit_test(activation_forward_same_bytes),
        cmocka_unit_test(activation_backward_same_bytes),
        cmocka_unit_test(bias_gradient_same_bytes),
        cmocka_unit_test(update_same_bytes),
        cmocka_unit_test(training_steps_same_bytes),
        cmocka_unit_test(two_callers_at_once),
        cmocka_unit_test(every_part_runs_once),
        cmocka_unit_test(parts_rule),
        cmocka_unit_test(count_setters_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
