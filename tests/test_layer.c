/* tests/test_layer.c: the built-in layers, in two sources (tests/test_layer.h): here the
 * helpers and the linear layer; test_layer_act.c: the activation layer (every row of the
 * activation table) and PReLU. Every backward pass is checked element by element against
 * central differences of L = sum c_i y_i; backward must ADD into its outputs; bad shapes
 * and arguments give a status and a message; record() gives the derivative statistics
 * constructed into the input. Parameters are bound to arrays the test owns, as a network
 * would bind views into its blocks. */
#include "test_layer.h"

#include "../src/fast/bias_grad.h"

/* ---- Helpers ------------------------------------------------------------------------ */

gf_tensor mat(gf_real *data, size_t rows, size_t cols)
{
    gf_tensor t = {.data = data, .rows = rows, .cols = cols};
    return t;
}

/* Fixed, non-trivial loss weights c_i in [-0.4, 1.4]: unequal, some negative. */
double coef(size_t i) { return 0.5 + 0.9 * sin(0.7 * (double)i + 0.3); }

/* dy = dL/dy = c for L = sum c_i y_i. */
void fill_coef(gf_tensor *dy)
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

void fill_off_kink(gf_real *v, size_t n, double scale, size_t seed)
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
void check_against_fd(const char *what, gf_layer *l, const gf_tensor *x, gf_tensor *y,
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
void bind(gf_layer *l, gf_real *w, gf_real *b, gf_real *dw, gf_real *db, size_t batch)
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

gf_record sentinel_record(void)
{
    gf_record r;
    memset(&r, 0, sizeof r);
    r.act_mean = r.act_std = r.zero_frac = r.grad_in_norm = 42.0;
    r.deriv_abs_mean = r.dead_frac = r.sat_frac = -1.0;
    return r;
}

/* record() fills only the derivative statistics; the engine owns the rest. */
void assert_generic_untouched(const gf_record *r)
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

/* l->overwrite (set by the engine, which then zeroes nothing): backward writes dx, dW and
 * db whatever they held (NaN here), the same values as adding into zeros. */
static void linear_backward_overwrites(void **state)
{
    linear_fixture f;
    gf_real dx1[LB * LIN], dw1[LOUT * LIN], db1[LOUT];
    (void)state;
    linear_setup(&f);
    assert_int_equal(f.l.can_overwrite, 1);
    memset(f.dxv, 0, sizeof f.dxv);
    memset(f.dw, 0, sizeof f.dw);
    memset(f.db, 0, sizeof f.db);
    assert_ok(f.l.ops->forward(&f.l, &f.x, &f.y, 1));
    assert_ok(f.l.ops->backward(&f.l, &f.x, &f.y, &f.dy, &f.dx));
    memcpy(dx1, f.dxv, sizeof dx1);
    memcpy(dw1, f.dw, sizeof dw1);
    memcpy(db1, f.db, sizeof db1);
    for (size_t i = 0; i < LB * LIN; i++)
        f.dxv[i] = (gf_real)NAN;
    for (size_t i = 0; i < LOUT * LIN; i++)
        f.dw[i] = (gf_real)NAN;
    for (size_t i = 0; i < LOUT; i++)
        f.db[i] = (gf_real)NAN;
    f.l.overwrite = 1;
    assert_ok(f.l.ops->backward(&f.l, &f.x, &f.y, &f.dy, &f.dx));
    /* Equal as numbers: a GEMM with beta 0 may give -0 where 0 + (-0) gave +0. */
    for (size_t i = 0; i < LB * LIN; i++)
        assert_true(f.dxv[i] == dx1[i]);
    for (size_t i = 0; i < LOUT * LIN; i++)
        assert_true(f.dw[i] == dw1[i]);
    assert_memory_equal(f.db, db1, sizeof db1);
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

/* The fast bias gradient (src/fast/bias_grad.c) adds the reference's terms in the
 * reference's order: the same bits, for widths below, at and past its 16-column blocks. */
static void bias_grad_fast_matches_its_reference(void **state)
{
    static const size_t widths[] = {1, 15, 16, 17, 40};
    (void)state;
    for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
        size_t out = widths[w], batch = 37;
        gf_real dy[37 * 40], fast[40], ref[40];
        for (size_t i = 0; i < batch * out; i++)
            dy[i] = (gf_real)(sin(0.7 * (double)i) * pow(10.0, (double)(i % 7) - 3));
        /* The reference (linear.c's bias_grad): db[j] += column j summed in double. */
        for (size_t j = 0; j < out; j++) {
            double sum = 0;
            for (size_t r = 0; r < batch; r++)
                sum += dy[r * out + j];
            fast[j] = (gf_real)0.5;
            ref[j] = (gf_real)0.5 + (gf_real)sum;
        }
        gf_bias_grad_fast(fast, dy, batch, out, 1);
        assert_memory_equal(fast, ref, out * sizeof ref[0]);
        /* add = 0 (the engine did not zero db): 0 + the sum, whatever db held. */
        for (size_t j = 0; j < out; j++) {
            double sum = 0;
            fast[j] = (gf_real)NAN;
            for (size_t r = 0; r < batch; r++)
                sum += dy[r * out + j];
            ref[j] = (gf_real)0 + (gf_real)sum;
        }
        gf_bias_grad_fast(fast, dy, batch, out, 0);
        assert_memory_equal(fast, ref, out * sizeof ref[0]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(linear_shape_and_fields),
        cmocka_unit_test(linear_forward_known_values),
        cmocka_unit_test(linear_backward_matches_central_differences),
        cmocka_unit_test(bias_grad_fast_matches_its_reference),
        cmocka_unit_test(linear_backward_accumulates),
        cmocka_unit_test(linear_backward_overwrites),
        cmocka_unit_test(linear_backward_without_dx),
        cmocka_unit_test(linear_bad_shapes),
        cmocka_unit_test(constructors_reject_bad_arguments),
        cmocka_unit_test(activation_backward_every_row),
        cmocka_unit_test(activation_backward_accumulates),
        cmocka_unit_test(activation_backward_overwrites),
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
