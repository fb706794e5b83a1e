/* tests/test_layer_act.c: layers, part of test_layer (tests/test_layer.h): the
 * activation layer (backward for every row, accumulation, bad shapes, memory, the
 * record pass: dead ReLUs, saturated sigmoids) and PReLU. */
#include "test_layer.h"

/* ---- Activation layer ------------------------------------------------------------------ */

enum { AB = 3, AN = 4 };

/* Parameters tried for a row: its default, and 0.3 when it has a parameter. */
static size_t params_of(const gf_activation *a, gf_real *p)
{
    p[0] = (gf_real)a->default_param;
    if (a->param_name == NULL)
        return 1;
    p[1] = 0.3f;
    return 2;
}

/* Every row of the table through the activation layer, with no per-row code: dx
 * against central differences of the layer's forward pass, and against c_i df(x_i)
 * from the table. A surrogate row (its df is a chosen signal, not f') is held to the
 * second only: its backward pass is not the derivative of its forward pass by design. */
void activation_backward_every_row(void **state)
{
    gf_real xv[AB * AN], yv[AB * AN], dyv[AB * AN], dxv[AB * AN];
    gf_tensor x = mat(xv, AB, AN), y = mat(yv, AB, AN), dy = mat(dyv, AB, AN);
    gf_tensor dx = mat(dxv, AB, AN);
    (void)state;
    fill_coef(&dy);
    for (size_t r = 0; r < gf_activation_count(); r++) {
        const gf_activation *a = gf_activation_at(r);
        gf_real params[2];
        size_t np = params_of(a, params);
        for (size_t k = 0; k < np; k++) {
            gf_layer l;
            double norm = 0;
            assert_ok(gf_layer_activation(&l, AN, a, params[k]));
            assert_string_equal(l.ops->name, "activation");
            assert_ptr_equal(l.act, a);
            assert_int_equal(l.n_params, 0);
            bind(&l, NULL, NULL, NULL, NULL, AB);
            /* Scale 2: |x| in [0.3, 3.5], into the saturating range of sigmoid/tanh. */
            fill_off_kink(xv, AB * AN, 2.0, r + 5 * k);
            memset(dxv, 0, sizeof dxv);
            assert_ok(l.ops->forward(&l, &x, &y, 1));
            assert_ok(l.ops->backward(&l, &x, &y, &dy, &dx));
            for (size_t i = 0; i < AB * AN; i++) {
                double want = coef(i) * a->df((double)xv[i], (double)params[k]);
                assert_near(dxv[i], want, 8 * TU_EPS, 8 * TU_EPS);
                norm += want * want;
            }
            if (!(norm > 1e-6))
                fail_msg("%s: dx is all zero", a->name);
            if (!a->surrogate)
                check_against_fd(a->name, &l, &x, &y, xv, dxv, AB * AN);
            gf_layer_release(&l);
        }
    }
}

void activation_backward_accumulates(void **state)
{
    gf_layer l;
    const gf_activation *tanh_row = NULL;
    gf_real xv[AB * AN], yv[AB * AN], dyv[AB * AN], dxv[AB * AN], dx1[AB * AN];
    gf_tensor x = mat(xv, AB, AN), y = mat(yv, AB, AN), dy = mat(dyv, AB, AN);
    gf_tensor dx = mat(dxv, AB, AN);
    (void)state;
    assert_ok(gf_activation_find(&tanh_row, "tanh"));
    assert_ok(gf_layer_activation(&l, AN, tanh_row, 0));
    bind(&l, NULL, NULL, NULL, NULL, AB);
    fill_off_kink(xv, AB * AN, 1.0, 9);
    fill_coef(&dy);
    for (size_t i = 0; i < AB * AN; i++)
        dxv[i] = -0.75f;
    assert_ok(l.ops->forward(&l, &x, &y, 1));
    assert_ok(l.ops->backward(&l, &x, &y, &dy, &dx));
    memcpy(dx1, dxv, sizeof dx1);
    assert_ok(l.ops->backward(&l, &x, &y, &dy, &dx));
    for (size_t i = 0; i < AB * AN; i++)
        assert_near(dxv[i] + 0.75, 2 * (dx1[i] + 0.75), 8 * TU_EPS, 8 * TU_EPS);
    /* dx == NULL: nothing to add to, still fine (the cache is refreshed for record). */
    assert_ok(l.ops->backward(&l, &x, &y, &dy, NULL));
    gf_layer_release(&l);
}

void activation_backward_overwrites(void **state)
{
    const gf_activation *tanh_row = NULL;
    gf_real xv[AB * AN], yv[AB * AN], dyv[AB * AN], dxv[AB * AN], dx1[AB * AN];
    gf_tensor x = mat(xv, AB, AN), y = mat(yv, AB, AN), dy = mat(dyv, AB, AN);
    gf_tensor dx = mat(dxv, AB, AN);
    (void)state;
    assert_ok(gf_activation_find(&tanh_row, "tanh"));
    fill_off_kink(xv, AB * AN, 1.0, 9);
    fill_coef(&dy);
    for (int fused = 0; fused <= 1; fused++) {
        gf_layer l;
        assert_ok(gf_layer_activation_variant(&l, AN, tanh_row, 0, fused));
        assert_int_equal(l.can_overwrite, 1);
        bind(&l, NULL, NULL, NULL, NULL, AB);
        assert_ok(l.ops->forward(&l, &x, &y, 1));
        memset(dxv, 0, sizeof dxv);
        assert_ok(l.ops->backward(&l, &x, &y, &dy, &dx));
        memcpy(dx1, dxv, sizeof dx1);
        for (size_t i = 0; i < AB * AN; i++)
            dxv[i] = (gf_real)NAN;
        l.overwrite = 1;
        assert_ok(l.ops->backward(&l, &x, &y, &dy, &dx));
        assert_memory_equal(dxv, dx1, sizeof dx1);
        gf_layer_release(&l);
    }
}

void activation_bad_shapes(void **state)
{
    gf_layer l;
    const gf_activation *sig = NULL;
    gf_real xv[2 * 5], yv[2 * 5], dxv[2 * 5];
    gf_tensor x = mat(xv, 2, 5), y = mat(yv, 2, 5), x4 = mat(xv, 2, 4), y4 = mat(yv, 2, 4);
    gf_tensor y1 = mat(yv, 1, 5), dx = mat(dxv, 2, 5), dx4 = mat(dxv, 2, 4);
    (void)state;
    memset(xv, 0, sizeof xv);
    assert_ok(gf_activation_find(&sig, "sigmoid"));
    assert_ok(gf_layer_activation(&l, 5, sig, 0));
    assert_status(l.ops->forward(&l, &x4, &y4, 1), GF_ESHAPE);
    assert_error_mentions("4 columns");
    assert_status(l.ops->forward(&l, &x, &y1, 1), GF_ESHAPE);
    assert_status(l.ops->forward(&l, &x, NULL, 1), GF_EINVAL);
    assert_ok(l.ops->forward(&l, &x, &y, 1));
    assert_status(l.ops->backward(&l, &x, &y, &y1, &dx), GF_ESHAPE);
    assert_status(l.ops->backward(&l, &x, &y, &y, &dx4), GF_ESHAPE);
    assert_status(l.ops->backward(&l, &x, &y1, &y, &dx), GF_ESHAPE);
    /* The activation needs y (sigmoid' is computed from it). */
    assert_status(l.ops->backward(&l, &x, NULL, &y, &dx), GF_EINVAL);
    assert_status(l.ops->backward(&l, NULL, &y, &y, &dx), GF_EINVAL);
    assert_ok(l.ops->backward(&l, &x, &y, &y, &dx));
    gf_layer_release(&l);
    /* A released layer refuses to run instead of touching freed memory. */
    assert_status(l.ops->forward(&l, &x, &y, 1), GF_ESTATE);
}

/* The fused (fast) layer's state is allocated once, by the constructor (a failure there
 * is GF_ENOMEM and leaves nothing behind); forward and backward allocate nothing, at any
 * batch size: f' is evaluated chunk by chunk into a fixed buffer. Everything is released
 * by gf_layer_release. The reference layer keeps no state at all. Both variants are
 * built explicitly, so that the reference build checks them too. */
void activation_memory(void **state)
{
    enum { B = 300, N = 3 }; /* B * N spans several chunks */
    gf_layer l;
    const gf_activation *relu = NULL;
    static gf_real xv[B * N], yv[B * N], dyv[B * N], dxv[B * N];
    gf_tensor x = mat(xv, B, N), y = mat(yv, B, N), dy = mat(dyv, B, N);
    gf_tensor dx = mat(dxv, B, N), x2 = mat(xv, 2, N), y2 = mat(yv, 2, N);
    gf_record rec = sentinel_record();
    (void)state;
    assert_ok(gf_activation_find(&relu, "relu"));
    fill_off_kink(xv, B * N, 1.0, 4);
    fill_coef(&dy);
    memset(dxv, 0, sizeof dxv);

    tu_alloc_install(0);
    assert_ok(gf_layer_activation_variant(&l, N, relu, 0, 0));
    assert_int_equal(tu_alloc.calls, 0);
    assert_null(l.state);
    gf_layer_release(&l);
    tu_alloc_uninstall();

    for (long k = 1; k <= 2; k++) {
        tu_alloc_install(k); /* the constructor's k-th allocation fails */
        assert_status(gf_layer_activation_variant(&l, N, relu, 0, 1), GF_ENOMEM);
        gf_layer_release(&l);
        assert_int_equal(tu_alloc_live(), 0);
        tu_alloc_uninstall();
    }

    tu_alloc_install(0);
    assert_ok(gf_layer_activation_variant(&l, N, relu, 0, 1));
    assert_ptr_equal(l.ops, &gf_activation_fused_ops);
    assert_null(l.ops->reserve);
    {
        long before = tu_alloc.calls;
        assert_ok(l.ops->forward(&l, &x2, &y2, 1));
        assert_ok(l.ops->forward(&l, &x, &y, 1));
        l.recording = 1;
        assert_ok(l.ops->backward(&l, &x, &y, &dy, &dx));
        l.recording = 0;
        l.ops->record(&l, &x, &y, &rec);
        assert_ok(l.ops->backward(&l, &x, &y, &dy, &dx));
        l.ops->record(&l, &x, &y, &rec);
        assert_int_equal(tu_alloc.calls, before);
    }
    gf_layer_release(&l);
    assert_int_equal(tu_alloc_live(), 0);
    tu_alloc_uninstall();
}

/* The derivative statistics taken inside a recorded backward pass equal, bit for bit,
 * those record() computes on its own, for rows shorter and longer than a chunk, for
 * every activation of the table; the chain rule gives the same dx either way. */
void recorded_backward_matches_record(void **state)
{
    static const size_t shapes[][2] = {{7, 3}, {33, 100}, {5, 1500}, {3, 2500}, {2, 4096}};
    (void)state;
    for (size_t a = 0; a < gf_activation_count(); a++) {
        const gf_activation *act = gf_activation_at(a);
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            size_t b = shapes[s][0], n = shapes[s][1];
            gf_tensor *x = tu_tensor(b, n), *y = tu_tensor(b, n), *dy = tu_tensor(b, n);
            gf_tensor *dx1 = tu_tensor(b, n), *dx2 = tu_tensor(b, n);
            gf_record r1 = sentinel_record(), r2 = sentinel_record();
            gf_layer l;
            fill_off_kink(x->data, b * n, 3.0, 11 + s);
            for (size_t k = 0; k < n; k += 3) /* some units dead for ReLU-like f */
                for (size_t r = 0; r < b; r++)
                    x->data[r * n + k] = (gf_real)(-1.5 - 0.25 * (double)r);
            fill_coef(dy);
            memset(dx1->data, 0, b * n * sizeof(gf_real));
            memset(dx2->data, 0, b * n * sizeof(gf_real));
            assert_ok(gf_layer_activation(&l, n, act, (gf_real)act->default_param));
            assert_ok(l.ops->forward(&l, x, y, 1));
            l.recording = 1;
            assert_ok(l.ops->backward(&l, x, y, dy, dx1));
            l.recording = 0;
            l.ops->record(&l, x, y, &r1);
            assert_ok(l.ops->forward(&l, x, y, 1));
            assert_ok(l.ops->backward(&l, x, y, dy, dx2));
            l.ops->record(&l, x, y, &r2);
            assert_memory_equal(dx1->data, dx2->data, b * n * sizeof(gf_real));
            assert_memory_equal(&r1.deriv_abs_mean, &r2.deriv_abs_mean, sizeof(double));
            assert_memory_equal(&r1.dead_frac, &r2.dead_frac, sizeof(double));
            assert_memory_equal(&r1.sat_frac, &r2.sat_frac, sizeof(double));
            assert_true(r1.deriv_abs_mean >= 0 && r1.dead_frac >= 0 && r1.dead_frac <= 1);
            /* The mean |f'| against the table's own scalar derivative, in double. */
            double mean = 0;
            for (size_t k = 0; k < b * n; k++)
                mean += fabs(act->df((double)x->data[k], act->default_param));
            assert_near(r1.deriv_abs_mean, mean / (double)(b * n), 1e-6, 1e-4);
            gf_layer_release(&l);
            gf_tensor_free(x);
            gf_tensor_free(y);
            gf_tensor_free(dy);
            gf_tensor_free(dx1);
            gf_tensor_free(dx2);
        }
    }
}

/* ReLU on a symmetric input, built so that: columns 0 and 1 are negative on every row
 * (dead), columns 2 and 3 positive on every row, columns 4 and 5 alternate in sign.
 * Half of all values are positive: mean |f'| = 1/2, dead_frac = 2/6, no saturation. */
void record_relu_dead_fraction(void **state)
{
    enum { B = 4, N = 6 };
    gf_layer l;
    const gf_activation *relu = NULL;
    gf_real xv[B * N], yv[B * N], dyv[B * N];
    gf_tensor x = mat(xv, B, N), y = mat(yv, B, N), dy = mat(dyv, B, N);
    gf_record rec = sentinel_record(), before_backward = sentinel_record();
    (void)state;
    for (size_t r = 0; r < B; r++)
        for (size_t j = 0; j < N; j++) {
            double mag = 0.5 + 0.25 * (double)r;
            double sign = j < 2 ? -1 : j < 4 ? 1 : (r + j) % 2 ? 1 : -1;
            xv[r * N + j] = (gf_real)(sign * mag);
        }
    fill_coef(&dy);
    assert_ok(gf_activation_find(&relu, "relu"));
    assert_ok(gf_layer_activation(&l, N, relu, 0));
    bind(&l, NULL, NULL, NULL, NULL, B);
    assert_ok(l.ops->forward(&l, &x, &y, 1));
    /* Without a backward pass record() evaluates f' itself: the same figures. */
    l.ops->record(&l, &x, &y, &before_backward);
    assert_ok(l.ops->backward(&l, &x, &y, &dy, NULL));
    l.ops->record(&l, &x, &y, &rec);
    assert_true(rec.deriv_abs_mean == 0.5);
    assert_near(rec.dead_frac, 2.0 / 6.0, 1e-15, 0);
    assert_true(rec.sat_frac == 0);
    assert_generic_untouched(&rec);
    assert_true(before_backward.deriv_abs_mean == rec.deriv_abs_mean);
    assert_true(before_backward.dead_frac == rec.dead_frac);
    assert_true(before_backward.sat_frac == rec.sat_frac);
    gf_layer_release(&l);
}

/* Sigmoid at |x| = 20: f' ~ 2e-9, far below 5% of 1/4: every value saturated. At x = 0
 * f' = 1/4, the bound itself: none. Half and half: one half. Never dead (f' > 0). */
void record_sigmoid_saturation(void **state)
{
    enum { B = 4, N = 2 };
    static const double big[B * N] = {20, -20, -20, 20, 20, 20, -20, -20};
    static const double mixed[B * N] = {20, 0, -20, 0, 0, -20, 0, 20};
    const gf_activation *sig = NULL;
    gf_layer l;
    gf_real xv[B * N], yv[B * N], dyv[B * N];
    gf_tensor x = mat(xv, B, N), y = mat(yv, B, N), dy = mat(dyv, B, N);
    gf_record rec = sentinel_record();
    (void)state;
    fill_coef(&dy);
    assert_ok(gf_activation_find(&sig, "sigmoid"));
    assert_ok(gf_layer_activation(&l, N, sig, 0));
    bind(&l, NULL, NULL, NULL, NULL, B);

    for (size_t i = 0; i < B * N; i++)
        xv[i] = (gf_real)big[i];
    assert_ok(l.ops->forward(&l, &x, &y, 1));
    assert_ok(l.ops->backward(&l, &x, &y, &dy, NULL));
    l.ops->record(&l, &x, &y, &rec);
    assert_true(rec.sat_frac == 1.0);
    assert_true(rec.deriv_abs_mean < 1e-8);
    /* In float y(20) rounds to 1 and y(1-y) to 0, but every column also holds a -20,
     * where f' = y(1-y) ~ 2e-9 > 0: no unit is dead in either precision. */
    assert_true(rec.dead_frac == 0);
    assert_generic_untouched(&rec);

    memset(xv, 0, sizeof xv);
    assert_ok(l.ops->forward(&l, &x, &y, 1));
    assert_ok(l.ops->backward(&l, &x, &y, &dy, NULL));
    l.ops->record(&l, &x, &y, &rec);
    assert_true(rec.sat_frac == 0 && rec.dead_frac == 0 && rec.deriv_abs_mean == 0.25);

    for (size_t i = 0; i < B * N; i++)
        xv[i] = (gf_real)mixed[i];
    assert_ok(l.ops->forward(&l, &x, &y, 1));
    assert_ok(l.ops->backward(&l, &x, &y, &dy, NULL));
    l.ops->record(&l, &x, &y, &rec);
    assert_true(rec.sat_frac == 0.5);
    assert_near(rec.deriv_abs_mean, 0.125, 1e-8, 0);
    gf_layer_release(&l);
}

/* ---- PReLU --------------------------------------------------------------------------- */

enum { PB = 5, PN = 4 };

void prelu_fields_and_reset(void **state)
{
    gf_layer l;
    gf_real a[PN] = {9, 9, 9, 9}, da[PN] = {0};
    (void)state;
    assert_ok(gf_layer_prelu(&l, PN, 0.25f));
    assert_string_equal(l.ops->name, "prelu");
    assert_int_equal(l.weight.rows, 1);
    assert_int_equal(l.weight.cols, PN);
    assert_int_equal(l.bias.rows, 0);
    assert_int_equal(l.n_params, PN);
    assert_null(l.act);
    assert_non_null(l.ops->reset);
    bind(&l, a, NULL, da, NULL, PB);
    for (size_t j = 0; j < PN; j++)
        assert_true(a[j] == 0.25f);
    gf_layer_release(&l);
}

void prelu_backward_matches_central_differences(void **state)
{
    gf_layer l;
    gf_real a[PN], da[PN], xv[PB * PN], yv[PB * PN], dyv[PB * PN], dxv[PB * PN];
    gf_tensor x = mat(xv, PB, PN), y = mat(yv, PB, PN), dy = mat(dyv, PB, PN);
    gf_tensor dx = mat(dxv, PB, PN);
    (void)state;
    assert_ok(gf_layer_prelu(&l, PN, 0.25f));
    bind(&l, a, NULL, da, NULL, PB);
    /* Distinct slopes per feature, one of them negative. */
    a[0] = 0.25f, a[1] = -0.1f, a[2] = 0.6f, a[3] = 1.3f;
    memset(da, 0, sizeof da);
    memset(dxv, 0, sizeof dxv);
    fill_off_kink(xv, PB * PN, 1.0, 6);
    fill_coef(&dy);
    assert_ok(l.ops->forward(&l, &x, &y, 1));
    for (size_t i = 0; i < PB * PN; i++)
        assert_true(yv[i] == (xv[i] > 0 ? xv[i] : a[i % PN] * xv[i]));
    assert_ok(l.ops->backward(&l, &x, &y, &dy, &dx));
    check_against_fd("prelu dx", &l, &x, &y, xv, dxv, PB * PN);
    check_against_fd("prelu slopes", &l, &x, &y, a, da, PN);

    /* Backward adds: a second call doubles both gradients. */
    {
        gf_real dx1[PB * PN], da1[PN];
        memcpy(dx1, dxv, sizeof dx1);
        memcpy(da1, da, sizeof da1);
        assert_ok(l.ops->backward(&l, &x, &y, &dy, &dx));
        for (size_t i = 0; i < PB * PN; i++)
            assert_near(dxv[i], 2 * dx1[i], 8 * TU_EPS, 8 * TU_EPS);
        for (size_t j = 0; j < PN; j++)
            assert_near(da[j], 2 * da1[j], 8 * TU_EPS, 8 * TU_EPS);
        assert_ok(l.ops->backward(&l, &x, NULL, &dy, NULL)); /* dx and y optional */
    }
    gf_layer_release(&l);
}

void prelu_bad_shapes(void **state)
{
    gf_layer l;
    gf_real a[PN], da[PN], xv[2 * 5], yv[2 * 5];
    gf_tensor x5 = mat(xv, 2, 5), x = mat(xv, 2, PN), y = mat(yv, 2, PN);
    gf_tensor y5 = mat(yv, 2, 5);
    (void)state;
    memset(xv, 0, sizeof xv);
    assert_ok(gf_layer_prelu(&l, PN, 0.25f));
    assert_status(l.ops->forward(&l, &x, &y, 1), GF_ESTATE); /* slopes not bound */
    bind(&l, a, NULL, da, NULL, 2);
    assert_status(l.ops->forward(&l, &x5, &y5, 1), GF_ESHAPE);
    assert_error_mentions("prelu");
    assert_status(l.ops->forward(&l, &x, &y5, 1), GF_ESHAPE);
    assert_ok(l.ops->forward(&l, &x, &y, 1));
    assert_status(l.ops->backward(&l, &x, &y, &y5, NULL), GF_ESHAPE);
    assert_status(l.ops->backward(&l, &x, &y, &y, &y5), GF_ESHAPE);
    assert_status(l.ops->backward(&l, &x, &y, NULL, NULL), GF_EINVAL);
    l.dweight.data = NULL;
    assert_status(l.ops->backward(&l, &x, &y, &y, NULL), GF_ESTATE);
    gf_layer_release(&l);
}

/* Slopes {0, 0.5, 0, 1}. Column 0: x < 0 on every row and slope 0: dead. Column 1:
 * x < 0 everywhere but slope 0.5: alive. Column 2: slope 0 but x > 0 on one row: alive.
 * Column 3: mixed. dead_frac = 1/4; mean |f'| by hand below. */
void prelu_record(void **state)
{
    enum { B = 2 };
    gf_layer l;
    gf_real a[PN], da[PN];
    gf_real xv[B * PN] = {-1, -2, 3, 4, -0.5f, -1, -3, -4};
    gf_real yv[B * PN];
    gf_tensor x = mat(xv, B, PN), y = mat(yv, B, PN);
    gf_record rec = sentinel_record();
    (void)state;
    assert_ok(gf_layer_prelu(&l, PN, 0.25f));
    bind(&l, a, NULL, da, NULL, B);
    a[0] = 0, a[1] = 0.5f, a[2] = 0, a[3] = 1;
    assert_ok(l.ops->forward(&l, &x, &y, 1));
    l.ops->record(&l, &x, &y, &rec);
    /* f' per entry: row 0 {0, .5, 1, 1}, row 1 {0, .5, 0, 1}: sum 4, mean 4/8. */
    assert_true(rec.deriv_abs_mean == 0.5);
    assert_true(rec.dead_frac == 0.25);
    assert_true(rec.sat_frac == 0);
    assert_generic_untouched(&rec);
    gf_layer_release(&l);
}
