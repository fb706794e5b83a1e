/* tests/test_act_layer.c: activations, part of test_act (tests/test_act.h): the
 * reference and the fused activation layers against each other, saturated tanh units
 * counted saturated, not dead, and a row without array loops. */
#include "test_act.h"

/* ---- The activation layer: reference and fused ------------------------------------------ */

typedef struct layer_run {
    gf_tensor *y, *dx;
    gf_record rec;
} layer_run;

/* Forward, recorded backward (dx from 0) and record() on one variant of the layer. */
static layer_run run_layer(const gf_activation *a, gf_real p, int fused, const gf_tensor *x,
                           const gf_tensor *dy)
{
    layer_run run = {tu_tensor(x->rows, x->cols), tu_tensor(x->rows, x->cols), {0}};
    gf_layer l;
    assert_ok(gf_layer_activation_variant(&l, x->cols, a, p, fused));
    assert_ptr_equal(l.ops, fused ? &gf_activation_fused_ops : &gf_activation_reference_ops);
    assert_ok(l.ops->forward(&l, x, run.y, 1));
    l.recording = 1;
    assert_ok(l.ops->backward(&l, x, run.y, dy, run.dx));
    l.recording = 0;
    l.ops->record(&l, x, run.y, &run.rec);
    gf_layer_release(&l);
    return run;
}

static void free_run(layer_run *run)
{
    gf_tensor_free(run->y);
    gf_tensor_free(run->dx);
}

/* |f'| of how many entries lies within 16 ulps of the saturation threshold: there the
 * reference and the fast f' may fall on either side of it. */
static size_t near_threshold(const gf_activation *a, gf_real p, const gf_tensor *x)
{
    double t = a->saturating ? GF_SATURATION_FRACTION * a->deriv_bound(p) : 0;
    size_t count = 0;
    for (size_t i = 0; i < x->rows * x->cols; i++)
        count += fabs(fabs(a->df(x->data[i], p)) - t) <= 16 * TU_EPS * t;
    return count;
}

/* Both variants of the layer on random batches, for every row, shapes shorter and longer
 * than the fused layer's chunk: y and dx within the array tolerances (bit for bit in the
 * double build, where the arrays are the reference expressions); dead_frac equal;
 * sat_frac equal up to entries within 16 ulps of the threshold; deriv_abs_mean within
 * the error of the fused sum (float partial sums, 1e-6, see fast/stats.c; 1e-12 in
 * double: a different order of additions). */
void reference_and_fused_layers_agree(void **state)
{
    static const size_t shapes[][2] = {{7, 3}, {33, 100}, {5, 1500}, {3, 2500}};
    gf_rng rng;
    (void)state;
    gf_rng_seed(&rng, 15);
    for (size_t r = 0; r < gf_activation_count(); r++) {
        const gf_activation *a = gf_activation_at(r);
        double params[4];
        size_t np = params_of(a, params);
        for (size_t k = 0; k < np; k++)
            for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
                size_t b = shapes[s][0], n = shapes[s][1], total = b * n;
                gf_real p = (gf_real)params[k];
                gf_tensor *x = tu_tensor(b, n), *dy = tu_tensor(b, n);
                layer_run ref, fast;
                double tol = GF_REAL_IS_DOUBLE ? 1e-12 : 4e-6;
                tu_fill_uniform(x, &rng, -12, 12);
                tu_fill_uniform(dy, &rng, -1, 1);
                for (size_t j = 0; j < n; j += 4) /* dead units for relu-like rows */
                    for (size_t i = 0; i < b; i++)
                        x->data[i * n + j] = (gf_real)-fabs(x->data[i * n + j]);
                ref = run_layer(a, p, 0, x, dy);
                fast = run_layer(a, p, 1, x, dy);
                for (size_t i = 0; i < total; i++) {
                    double ey = err_eps(fast.y->data[i], ref.y->data[i], TU_EPS, REAL_MIN);
                    double ed = err_eps(fast.dx->data[i], ref.dx->data[i], TU_EPS, REAL_MIN);
                    if (!(ey <= (GF_REAL_IS_DOUBLE ? 0 : FAST_F_TOL)) ||
                        !(ed <= (GF_REAL_IS_DOUBLE ? 0 : FAST_DF_TOL + 1)))
                        fail_msg("%s (param %g) x = %.9g: y %.9g / %.9g, dx %.9g / %.9g",
                                 a->name, (double)p, (double)x->data[i],
                                 (double)fast.y->data[i], (double)ref.y->data[i],
                                 (double)fast.dx->data[i], (double)ref.dx->data[i]);
                }
                assert_true(ref.rec.dead_frac == fast.rec.dead_frac);
                assert_true(fabs(ref.rec.sat_frac - fast.rec.sat_frac) * (double)total <=
                            (double)near_threshold(a, p, x) + 1e-9);
                assert_near(fast.rec.deriv_abs_mean, ref.rec.deriv_abs_mean, 0, tol);
                if (strcmp(a->name, "relu") == 0)
                    assert_true(ref.rec.dead_frac >= 0.25); /* the forced columns */
                free_run(&ref);
                free_run(&fast);
                gf_tensor_free(x);
                gf_tensor_free(dy);
            }
    }
}

/* Issue 15: tanh units at 7.95 <= |x| <= 9 are saturated (f' ~ 1e-7 .. 5e-7), not dead.
 * The float tanh used to be clamped to exactly +-1 there, so 1 - y^2 = 0 and 62.5 % of
 * the units of this batch were counted dead. Both variants, both builds: no dead unit,
 * every value saturated, and mean |f'| that of the true derivative. */
void saturated_tanh_is_not_dead(void **state)
{
    enum { B = 8, N = 8 };
    const gf_activation *th = row("tanh");
    gf_tensor *x = tu_tensor(B, N), *dy = tu_tensor(B, N);
    long double mean = 0;
    (void)state;
    for (size_t i = 0; i < B * N; i++) {
        double v = 7.95 + (9.0 - 7.95) * (double)i / (B * N - 1);
        x->data[i] = (gf_real)(i % 3 ? v : -v);
        dy->data[i] = 1;
        mean += ex_tanh_df(x->data[i], 0) / (B * N);
    }
    for (int fused = 0; fused <= 1; fused++) {
        layer_run run = run_layer(th, 0, fused, x, dy);
        assert_true(run.rec.dead_frac == 0);
        assert_true(run.rec.sat_frac == 1);
        assert_near(run.rec.deriv_abs_mean, (double)mean, 0, 1e-5);
        for (size_t i = 0; i < B * N; i++)
            assert_true(run.dx->data[i] > 0); /* the signal still passes */
        free_run(&run);
    }
    gf_tensor_free(x);
    gf_tensor_free(dy);
}

/* A row without array loops (a user's activation, or a new row before its fast loop):
 * the layers fall back to its scalar f and df, and a network runs it (it used to crash
 * gf_net_forward on the NULL forward). It gives the tanh row's figures, within the
 * array tolerances. */
void row_without_arrays_works(void **state)
{
    enum { B = 6, N = 5 };
    gf_activation plain = *row("tanh");
    gf_tensor *x = tu_tensor(B, N), *dy = tu_tensor(B, N);
    gf_net *net = NULL;
    gf_layer l;
    const gf_tensor *y = NULL;
    gf_rng rng;
    (void)state;
    plain.name = "tanh_without_arrays";
    plain.forward = NULL;
    plain.deriv = NULL;
    gf_rng_seed(&rng, 3);
    tu_fill_uniform(x, &rng, -10, 10);
    tu_fill_uniform(dy, &rng, -1, 1);
    for (int fused = 0; fused <= 1; fused++) {
        layer_run got = run_layer(&plain, 0, fused, x, dy);
        layer_run want = run_layer(row("tanh"), 0, fused, x, dy);
        for (size_t i = 0; i < B * N; i++) {
            assert_true(err_eps(got.y->data[i], want.y->data[i], TU_EPS, REAL_MIN) <=
                        FAST_F_TOL);
            assert_true(err_eps(got.dx->data[i], want.dx->data[i], TU_EPS, REAL_MIN) <=
                        FAST_DF_TOL + 1);
        }
        assert_true(got.rec.dead_frac == want.rec.dead_frac);
        assert_near(got.rec.deriv_abs_mean, want.rec.deriv_abs_mean, 0, 4e-6);
        free_run(&got);
        free_run(&want);
    }
    assert_ok(gf_net_new(&net, N));
    assert_ok(gf_layer_activation(&l, N, &plain, 0));
    assert_ok(gf_net_add_layer(net, &l));
    assert_ok(gf_net_forward(net, &y, x));
    for (size_t i = 0; i < B * N; i++)
        assert_near(y->data[i], tanh((double)x->data[i]), 0, 4 * TU_EPS);
    assert_ok(gf_net_backward_from(net, dy));
    gf_net_free(net);
    gf_tensor_free(x);
    gf_tensor_free(dy);
}
