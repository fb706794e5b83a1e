/* tests/test_layer.c: the built-in layers. Every backward pass (linear, every row of
 * the activation table through the activation layer, PReLU) is checked element by
 * element against central differences of L = sum c_i y_i; backward must ADD into its
 * outputs; bad shapes and arguments give a status and a message; record() gives the
 * derivative statistics constructed into the input. Parameters are bound to arrays the
 * test owns, as a network would bind views into its blocks. */
#include "testutil.h"

#include "gradflow/layer.h"
#include "gradflow/telemetry.h"

#include "../src/fast/activation_fused.h"

/* ---- Helpers ------------------------------------------------------------------------ */

static gf_tensor mat(gf_real *data, size_t rows, size_t cols)
{
    gf_tensor t = {.data = data, .rows = rows, .cols = cols};
    return t;
}

/* Fixed, non-trivial loss weights c_i in [-0.4, 1.4]: unequal, some negative. */
static double coef(size_t i) { return 0.5 + 0.9 * sin(0.7 * (double)i + 0.3); }

/* dy = dL/dy = c for L = sum c_i y_i. */
static void fill_coef(gf_tensor *dy)
{
    for (size_t i = 0; i < dy->rows * dy->cols; i++)
        dy->data[i] = (gf_real)coef(i);
}

/* Deterministic values of both signs with |v| in [0.15, 1.75] * scale: at least 0.15
 * away from the kinks at 0, which is far more than the finite-difference step h. */
static gf_real off_kink(size_t i, double scale)
{
    double v = 0.15 + 1.6 * fabs(sin(1.3 * (double)i + 0.4));
    return (gf_real)(sin(2.1 * (double)i + 1.1) > 0 ? v * scale : -v * scale);
}

static void fill_off_kink(gf_real *v, size_t n, double scale, size_t seed)
{
    for (size_t i = 0; i < n; i++)
        v[i] = off_kink(i + 17 * seed, scale);
}

/* L = sum c_i y_i after a forward pass, accumulated in double. */
static double loss(gf_layer *l, const gf_tensor *x, gf_tensor *y)
{
    double sum = 0;
    assert_ok(l->ops->forward(l, x, y, 1));
    for (size_t i = 0; i < y->rows * y->cols; i++)
        sum += coef(i) * y->data[i];
    return sum;
}

/* (L(p + h) - L(p - h)) / (2h) for one value p (an input or a parameter), restored
 * afterwards. The step actually taken, (p + h) - (p - h) after rounding to gf_real, is
 * the divisor: in float it differs from 2h in the last bits. */
static double central(gf_layer *l, const gf_tensor *x, gf_tensor *y, gf_real *p)
{
    gf_real keep = *p, up = (gf_real)(keep + TU_FD_H), down = (gf_real)(keep - TU_FD_H);
    double lp, lm;
    *p = up;
    lp = loss(l, x, y);
    *p = down;
    lm = loss(l, x, y);
    *p = keep;
    return (lp - lm) / ((double)up - (double)down);
}

/* Every analytic gradient[i] against the central difference of the value at[i]; the
 * gradient must not be all zero (a check that passes on zeros proves nothing). */
static void check_against_fd(const char *what, gf_layer *l, const gf_tensor *x, gf_tensor *y,
                             gf_real *at, const gf_real *grad, size_t n)
{
    double norm = 0;
    for (size_t i = 0; i < n; i++) {
        double num = central(l, x, y, &at[i]);
        double err = fabs(grad[i] - num);
        if (!(err <= TU_FD_ABS + TU_FD_REL * fabs(num)))
            fail_msg("%s[%zu]: analytic %.10g, central difference %.10g", what, i,
                     (double)grad[i], num);
        norm += (double)grad[i] * grad[i];
    }
    if (!(sqrt(norm) > 1e-3))
        fail_msg("%s: the analytic gradient is (nearly) all zero", what);
}

/* Point the layer's parameter views at test-owned arrays, as the network does, then
 * reset (PReLU slopes) and reserve private buffers. b and db may be NULL (no bias). */
static void bind(gf_layer *l, gf_real *w, gf_real *b, gf_real *dw, gf_real *db, size_t batch)
{
    l->weight.data = w;
    l->dweight.data = dw;
    l->bias.data = b;
    l->dbias.data = db;
    if (l->ops->reset != NULL)
        l->ops->reset(l);
    if (l->ops->reserve != NULL)
        assert_ok(l->ops->reserve(l, batch));
}

static gf_record sentinel_record(void)
{
    gf_record r;
    memset(&r, 0, sizeof r);
    r.act_mean = r.act_std = r.zero_frac = r.grad_in_norm = 42.0;
    r.deriv_abs_mean = r.dead_frac = r.sat_frac = -1.0;
    return r;
}

/* record() fills only the derivative statistics; the engine owns the rest. */
static void assert_generic_untouched(const gf_record *r)
{
    assert_true(r->act_mean == 42.0 && r->act_std == 42.0 && r->zero_frac == 42.0 &&
                r->grad_in_norm == 42.0);
    assert_int_equal(r->nonfinite_fwd, 0);
}

/* ---- Linear -------------------------------------------------------------------------- */

enum { LB = 5, LIN = 4, LOUT = 3 };

typedef struct linear_fixture {
    gf_layer l;
    gf_real w[LOUT * LIN], b[LOUT], dw[LOUT * LIN], db[LOUT];
    gf_real xv[LB * LIN], yv[LB * LOUT], dyv[LB * LOUT], dxv[LB * LIN];
    gf_tensor x, y, dy, dx;
} linear_fixture;

static void linear_setup(linear_fixture *f)
{
    memset(f, 0, sizeof *f);
    assert_ok(gf_layer_linear(&f->l, LIN, LOUT));
    bind(&f->l, f->w, f->b, f->dw, f->db, LB);
    fill_off_kink(f->w, LOUT * LIN, 0.5, 1);
    fill_off_kink(f->b, LOUT, 0.3, 2);
    fill_off_kink(f->xv, LB * LIN, 1.0, 3);
    f->x = mat(f->xv, LB, LIN);
    f->y = mat(f->yv, LB, LOUT);
    f->dy = mat(f->dyv, LB, LOUT);
    f->dx = mat(f->dxv, LB, LIN);
    fill_coef(&f->dy);
}

static void linear_shape_and_fields(void **state)
{
    gf_layer l;
    (void)state;
    assert_ok(gf_layer_linear(&l, 7, 5));
    assert_string_equal(l.ops->name, "linear");
    assert_int_equal(l.in, 7);
    assert_int_equal(l.out, 5);
    assert_int_equal(l.weight.rows, 5);
    assert_int_equal(l.weight.cols, 7);
    assert_int_equal(l.bias.rows, 1);
    assert_int_equal(l.bias.cols, 5);
    assert_int_equal(l.dweight.rows, 5);
    assert_int_equal(l.dbias.cols, 5);
    assert_null(l.weight.data);
    assert_null(l.bias.data);
    assert_int_equal(l.n_params, 5 * 7 + 5);
    assert_int_equal(l.is_parametric, 1);
    assert_null(l.act);
    assert_null(l.ops->record);
    gf_layer_release(&l);
}

/* y = x W^T + b by hand: W = [[1, 2], [3, 4]], b = [0.5, -1], x = [[1, 1], [2, -1]]. */
static void linear_forward_known_values(void **state)
{
    gf_layer l;
    gf_real w[4] = {1, 2, 3, 4}, b[2] = {0.5, -1}, dw[4], db[2];
    gf_real xv[4] = {1, 1, 2, -1}, yv[4] = {99, 99, 99, 99};
    gf_tensor x = mat(xv, 2, 2), y = mat(yv, 2, 2);
    (void)state;
    assert_ok(gf_layer_linear(&l, 2, 2));
    bind(&l, w, b, dw, db, 2);
    assert_ok(l.ops->forward(&l, &x, &y, 1));
    assert_true(yv[0] == 3.5 && yv[1] == 6 && yv[2] == 0.5 && yv[3] == 1);
    gf_layer_release(&l);
}

static void linear_backward_matches_central_differences(void **state)
{
    linear_fixture f;
    (void)state;
    linear_setup(&f);
    assert_ok(f.l.ops->forward(&f.l, &f.x, &f.y, 1));
    assert_ok(f.l.ops->backward(&f.l, &f.x, &f.y, &f.dy, &f.dx));
    check_against_fd("linear dx", &f.l, &f.x, &f.y, f.xv, f.dxv, LB * LIN);
    check_against_fd("linear dW", &f.l, &f.x, &f.y, f.w, f.dw, LOUT * LIN);
    check_against_fd("linear db", &f.l, &f.x, &f.y, f.b, f.db, LOUT);
    gf_layer_release(&f.l);
}

/* Backward adds: from non-zero starting values, two calls add twice the gradient. */
static void linear_backward_accumulates(void **state)
{
    linear_fixture f;
    gf_real dx1[LB * LIN], dw1[LOUT * LIN], db1[LOUT];
    (void)state;
    linear_setup(&f);
    for (size_t i = 0; i < LB * LIN; i++)
        f.dxv[i] = 0.25f;
    for (size_t i = 0; i < LOUT * LIN; i++)
        f.dw[i] = -0.5f;
    for (size_t i = 0; i < LOUT; i++)
        f.db[i] = 1.0f;
    assert_ok(f.l.ops->forward(&f.l, &f.x, &f.y, 1));
    assert_ok(f.l.ops->backward(&f.l, &f.x, &f.y, &f.dy, &f.dx));
    memcpy(dx1, f.dxv, sizeof dx1);
    memcpy(dw1, f.dw, sizeof dw1);
    memcpy(db1, f.db, sizeof db1);
    assert_ok(f.l.ops->backward(&f.l, &f.x, &f.y, &f.dy, &f.dx));
    for (size_t i = 0; i < LB * LIN; i++)
        assert_near(f.dxv[i] - 0.25, 2 * (dx1[i] - 0.25), 8 * TU_EPS, 8 * TU_EPS);
    for (size_t i = 0; i < LOUT * LIN; i++)
        assert_near(f.dw[i] + 0.5, 2 * (dw1[i] + 0.5), 8 * TU_EPS, 8 * TU_EPS);
    for (size_t i = 0; i < LOUT; i++)
        assert_near(f.db[i] - 1.0, 2 * (db1[i] - 1.0), 8 * TU_EPS, 8 * TU_EPS);
    gf_layer_release(&f.l);
}

/* dx == NULL: the parameter gradients alone, the same as with dx. */
static void linear_backward_without_dx(void **state)
{
    linear_fixture f;
    gf_real dw1[LOUT * LIN], db1[LOUT];
    (void)state;
    linear_setup(&f);
    assert_ok(f.l.ops->forward(&f.l, &f.x, &f.y, 1));
    assert_ok(f.l.ops->backward(&f.l, &f.x, &f.y, &f.dy, &f.dx));
    memcpy(dw1, f.dw, sizeof dw1);
    memcpy(db1, f.db, sizeof db1);
    memset(f.dw, 0, sizeof f.dw);
    memset(f.db, 0, sizeof f.db);
    assert_ok(f.l.ops->backward(&f.l, &f.x, &f.y, &f.dy, NULL));
    assert_memory_equal(f.dw, dw1, sizeof dw1);
    assert_memory_equal(f.db, db1, sizeof db1);
    /* y is not needed by linear backward: NULL is accepted. */
    assert_ok(f.l.ops->backward(&f.l, &f.x, NULL, &f.dy, NULL));
    gf_layer_release(&f.l);
}

static void linear_bad_shapes(void **state)
{
    gf_layer l;
    static gf_real w[64 * 3], b[3], dw[64 * 3], db[3], xv[2 * 64], yv[2 * 4], dxv[2 * 64];
    gf_tensor x63 = mat(xv, 2, 63), x = mat(xv, 2, 64), y = mat(yv, 2, 3);
    gf_tensor y_rows = mat(yv, 1, 3), y_cols = mat(yv, 2, 4), x0 = mat(xv, 0, 64);
    gf_tensor dy = mat(yv, 2, 3), dx = mat(dxv, 2, 64), dx_bad = mat(dxv, 2, 63);
    gf_tensor nodata = {.data = NULL, .rows = 2, .cols = 3};
    (void)state;

    assert_ok(gf_layer_linear(&l, 64, 3));
    bind(&l, w, b, dw, db, 2);
    assert_status(l.ops->forward(&l, &x63, &y, 1), GF_ESHAPE);
    assert_error_mentions("linear");
    assert_error_mentions("63 columns");
    assert_error_mentions("expects 64");
    assert_status(l.ops->forward(&l, &x, &y_rows, 1), GF_ESHAPE);
    assert_status(l.ops->forward(&l, &x, &y_cols, 1), GF_ESHAPE);
    assert_status(l.ops->forward(&l, &x0, &y, 1), GF_ESHAPE);
    assert_status(l.ops->forward(&l, NULL, &y, 1), GF_EINVAL);
    assert_status(l.ops->forward(&l, &x, NULL, 1), GF_EINVAL);
    assert_status(l.ops->forward(NULL, &x, &y, 1), GF_EINVAL);
    assert_status(l.ops->forward(&l, &x, &nodata, 1), GF_EINVAL);
    assert_ok(l.ops->forward(&l, &x, &y, 1));

    assert_status(l.ops->backward(&l, &x63, &y, &dy, &dx), GF_ESHAPE);
    assert_status(l.ops->backward(&l, &x, &y, &y_cols, &dx), GF_ESHAPE);
    assert_status(l.ops->backward(&l, &x, &y, &dy, &dx_bad), GF_ESHAPE);
    assert_error_mentions("dx");
    assert_status(l.ops->backward(&l, &x, &y_rows, &dy, &dx), GF_ESHAPE);
    assert_status(l.ops->backward(&l, &x, &y, NULL, &dx), GF_EINVAL);
    assert_status(l.ops->backward(NULL, &x, &y, &dy, &dx), GF_EINVAL);
    assert_ok(l.ops->backward(&l, &x, &y, &dy, &dx));

    /* Parameters not bound yet: a state error, not a crash. */
    l.weight.data = NULL;
    assert_status(l.ops->forward(&l, &x, &y, 1), GF_ESTATE);
    assert_error_mentions("weight");
    l.weight.data = w;
    l.dbias.data = NULL;
    assert_status(l.ops->backward(&l, &x, &y, &dy, &dx), GF_ESTATE);
    gf_layer_release(&l);
}

static void constructors_reject_bad_arguments(void **state)
{
    gf_layer l;
    const gf_activation *relu = NULL;
    size_t big = (size_t)1 << 21;
    (void)state;
    assert_ok(gf_activation_find(&relu, "relu"));

    assert_status(gf_layer_linear(NULL, 2, 3), GF_EINVAL);
    assert_status(gf_layer_linear(&l, 0, 3), GF_EINVAL);
    assert_error_mentions("in");
    assert_status(gf_layer_linear(&l, 3, 0), GF_EINVAL);
    assert_error_mentions("out");
    assert_status(gf_layer_linear(&l, big, big / 2), GF_EINVAL); /* 2^41 > 2^40 weights */
    assert_status(gf_layer_linear(&l, (size_t)1 << 33, (size_t)1 << 33), GF_EINVAL);
    assert_status(gf_layer_linear(&l, SIZE_MAX, 2), GF_EINVAL);
    assert_status(gf_layer_linear(&l, 2, SIZE_MAX), GF_EINVAL);

    assert_status(gf_layer_activation(NULL, 4, relu, 0), GF_EINVAL);
    assert_status(gf_layer_activation(&l, 0, relu, 0), GF_EINVAL);
    assert_status(gf_layer_activation(&l, SIZE_MAX, relu, 0), GF_EINVAL);
    assert_status(gf_layer_activation(&l, 4, NULL, 0), GF_EINVAL);
    assert_status(gf_layer_activation(&l, 4, relu, (gf_real)NAN), GF_EINVAL);
    assert_error_mentions("finite");
    assert_status(gf_layer_activation(&l, 4, relu, (gf_real)INFINITY), GF_EINVAL);
    assert_status(gf_layer_activation(&l, 4, relu, -(gf_real)INFINITY), GF_EINVAL);

    assert_status(gf_layer_prelu(NULL, 4, 0.25f), GF_EINVAL);
    assert_status(gf_layer_prelu(&l, 0, 0.25f), GF_EINVAL);
    assert_status(gf_layer_prelu(&l, SIZE_MAX, 0.25f), GF_EINVAL);
    assert_status(gf_layer_prelu(&l, 4, (gf_real)NAN), GF_EINVAL);
    assert_status(gf_layer_prelu(&l, 4, (gf_real)INFINITY), GF_EINVAL);
    assert_error_mentions("slope");

    /* Release of a failed or zeroed layer, of NULL, and twice, is harmless. */
    gf_layer_release(&l);
    gf_layer_release(NULL);
    assert_ok(gf_layer_activation(&l, 4, relu, 0));
    gf_layer_release(&l);
    gf_layer_release(&l);
}

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
static void activation_backward_every_row(void **state)
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

static void activation_backward_accumulates(void **state)
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

static void activation_bad_shapes(void **state)
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
static void activation_memory(void **state)
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
static void recorded_backward_matches_record(void **state)
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
static void record_relu_dead_fraction(void **state)
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
static void record_sigmoid_saturation(void **state)
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

static void prelu_fields_and_reset(void **state)
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

static void prelu_backward_matches_central_differences(void **state)
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

static void prelu_bad_shapes(void **state)
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
static void prelu_record(void **state)
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(linear_shape_and_fields),
        cmocka_unit_test(linear_forward_known_values),
        cmocka_unit_test(linear_backward_matches_central_differences),
        cmocka_unit_test(linear_backward_accumulates),
        cmocka_unit_test(linear_backward_without_dx),
        cmocka_unit_test(linear_bad_shapes),
        cmocka_unit_test(constructors_reject_bad_arguments),
        cmocka_unit_test(activation_backward_every_row),
        cmocka_unit_test(activation_backward_accumulates),
        cmocka_unit_test(activation_bad_shapes),
        cmocka_unit_test(activation_memory),
        cmocka_unit_test(recorded_backward_matches_record),
        cmocka_unit_test(record_relu_dead_fraction),
        cmocka_unit_test(record_sigmoid_saturation),
        cmocka_unit_test(prelu_fields_and_reset),
        cmocka_unit_test(prelu_backward_matches_central_differences),
        cmocka_unit_test(prelu_bad_shapes),
        cmocka_unit_test(prelu_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
