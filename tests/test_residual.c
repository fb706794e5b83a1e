/* tests/test_residual.c: residual blocks. The block is the identity when F = 0; its
 * backward pass (with and without a projection, F's parameters and the input) matches
 * central differences per layer and through gf_net_gradcheck of an outer network; all
 * parameters live in the outer block (also after the outer block moves) and the
 * optimiser of the outer network trains F; F records the telemetry of each inner
 * layer; evaluation mode reaches F's batch norm; bad input and allocation failures. */
#include "testutil.h"

#include "gradflow.h"
#include "gradflow/norm.h"
#include "gradflow/residual.h"

#if GF_REAL_IS_DOUBLE
#define NET_FD_TOL 1e-5
#else
#define NET_FD_TOL 5e-2
#endif

static gf_tensor mat(gf_real *data, size_t rows, size_t cols)
{
    gf_tensor t = {data, rows, cols, rows * cols, 0};
    return t;
}

static double coef(size_t i) { return 0.5 + 0.9 * sin(0.7 * (double)i + 0.3); }

/* F: in -> hidden (tanh) -> out, Xavier-initialised from seed. */
static gf_net *small_inner(size_t in, size_t hidden, size_t out, uint64_t seed)
{
    gf_net *f = NULL;
    gf_rng rng;
    gf_init init = gf_init_default(GF_INIT_XAVIER_NORMAL);
    gf_rng_seed(&rng, seed);
    assert_ok(gf_net_new(&f, in));
    assert_ok(gf_net_add_linear(f, hidden));
    assert_ok(gf_net_add_activation(f, "tanh"));
    assert_ok(gf_net_add_linear(f, out));
    init.bias = 0.1;
    assert_ok(gf_net_init(f, &init, &rng));
    return f;
}

static gf_tensor *random_tensor(size_t rows, size_t cols, uint64_t seed)
{
    gf_rng rng;
    gf_tensor *t = tu_tensor(rows, cols);
    gf_rng_seed(&rng, seed);
    tu_fill_uniform(t, &rng, -1, 1);
    return t;
}

/* ---- Identity and the skip path -------------------------------------------------------- */

/* With F's last layer zero, F(x) = 0 and dF/dx = 0: y = x exactly, dx = dy exactly, and
 * the first inner layer's gradient is 0 while the last one's is not. */
static void identity_when_f_is_zero(void **state)
{
    gf_net *net = NULL, *inner;
    gf_rng rng;
    gf_tensor *x = random_tensor(5, 4, 1), *dy = random_tensor(5, 4, 2);
    const gf_tensor *y, *dx;
    gf_layer *blk;
    (void)state;
    gf_rng_seed(&rng, 1);
    assert_ok(gf_net_new(&net, 4));
    assert_ok(gf_net_add_residual_mlp(net, 2, "relu", NULL, 1, &rng));
    blk = gf_net_layer(net, 0);
    assert_string_equal(gf_net_layer_kind(net, 0), "residual");
    assert_int_equal(gf_residual_has_projection(blk), 0);
    assert_ok(gf_net_forward(net, x, &y));
    for (size_t i = 0; i < 20; i++)
        assert_true(y->data[i] == x->data[i]);
    assert_ok(gf_net_backward_from(net, dy));
    dx = gf_net_activation_grad(net, 0);
    for (size_t i = 0; i < 20; i++)
        assert_true(dx->data[i] == dy->data[i]);
    inner = gf_residual_inner(blk);
    assert_true(gf_tensor_norm2(&gf_net_layer(inner, 0)->dweight) == 0);
    assert_true(gf_tensor_norm2(&gf_net_layer(inner, 2)->dweight) > 0);
    gf_tensor_free(x);
    gf_tensor_free(dy);
    gf_net_free(net);
}

/* ---- Finite differences ------------------------------------------------------------------ */

typedef struct fd_ctx {
    gf_layer *l;
    gf_tensor *x, *y;
} fd_ctx;

static double loss(fd_ctx *c)
{
    double sum = 0;
    assert_ok(c->l->ops->forward(c->l, c->x, c->y, 1));
    for (size_t i = 0; i < c->y->rows * c->y->cols; i++)
        sum += coef(i) * c->y->data[i];
    return sum;
}

static void check_fd(const char *what, fd_ctx *c, gf_real *at, const gf_real *grad, size_t n)
{
    double norm = 0;
    for (size_t i = 0; i < n; i++) {
        gf_real keep = at[i], up = (gf_real)(keep + TU_FD_H), down = (gf_real)(keep - TU_FD_H);
        double lp, lm, num;
        at[i] = up;
        lp = loss(c);
        at[i] = down;
        lm = loss(c);
        at[i] = keep;
        num = (lp - lm) / ((double)up - (double)down);
        if (!(fabs(grad[i] - num) <= TU_FD_ABS + TU_FD_REL * fabs(num)))
            fail_msg("%s[%zu]: analytic %.10g, central difference %.10g", what, i,
                     (double)grad[i], num);
        norm += (double)grad[i] * grad[i];
    }
    if (!(sqrt(norm) > 1e-3))
        fail_msg("%s: the analytic gradient is (nearly) all zero", what);
}

/* The block on its own, its views pointed at test-owned arrays as a network would:
 * dx and every parameter (F's and the projection's) against central differences. */
static void block_backward_matches_central_differences(void **state)
{
    (void)state;
    for (int proj = 0; proj < 2; proj++) {
        size_t in = 4, out = proj ? 3 : 4, batch = 3, np;
        gf_layer l;
        gf_rng rng;
        gf_real *p, *g, xv[12], yv[12], dyv[12], dxv[12];
        gf_tensor x = mat(xv, batch, in), y = mat(yv, batch, out), dy = mat(dyv, batch, out),
                  dx = mat(dxv, batch, in);
        fd_ctx c = {&l, &x, &y};
        gf_rng_seed(&rng, 5);
        assert_ok(gf_layer_residual(&l, small_inner(in, 5, out, 9), &rng));
        assert_int_equal(gf_residual_has_projection(&l), proj);
        np = l.n_params;
        assert_int_equal(np, in * 5 + 5 + 5 * out + out + (proj ? out * in + out : 0));
        assert_int_equal(l.weight.rows * l.weight.cols, np);
        assert_int_equal(l.bias.rows, 0);
        p = test_calloc(np, sizeof *p);
        g = test_calloc(np, sizeof *g);
        l.weight.data = p;
        l.dweight.data = g;
        l.ops->reset(&l);
        /* The projection's bias starts at 0; move it so that its role is visible. */
        if (proj)
            for (size_t j = 0; j < out; j++)
                p[np - out + j] = (gf_real)(0.1 * (double)j - 0.05);
        tu_fill_uniform(&x, &rng, -1, 1);
        for (size_t i = 0; i < batch * out; i++)
            dyv[i] = (gf_real)coef(i);
        memset(dxv, 0, sizeof dxv);
        assert_ok(l.ops->forward(&l, &x, &y, 1));
        assert_ok(l.ops->backward(&l, &x, &y, &dy, &dx));
        check_fd(proj ? "residual+proj dx" : "residual dx", &c, xv, dxv, batch * in);
        check_fd(proj ? "residual+proj dparams" : "residual dparams", &c, p, g, np);
        gf_layer_release(&l);
        test_free(p);
        test_free(g);
    }
}

/* An outer network of blocks, one with a projection and one holding batch norm, through
 * the engine's gradient check: every parameter of the single block, every input. */
static void network_gradcheck(void **state)
{
    gf_net *net = NULL, *f = NULL;
    gf_rng rng;
    gf_tensor *x = random_tensor(6, 5, 3), *t = random_tensor(6, 2, 4);
    gf_gradcheck_layer res[8];
    double worst = NAN;
    size_t total = 0;
    gf_init init = gf_init_default(GF_INIT_XAVIER_NORMAL);
    (void)state;
    gf_rng_seed(&rng, 11);
    assert_ok(gf_net_new(&net, 5));
    assert_ok(gf_net_add_linear(net, 4));
    assert_ok(gf_net_add_residual(net, small_inner(4, 6, 4, 21), NULL));
    assert_ok(gf_net_add_activation(net, "tanh"));
    assert_ok(gf_net_add_residual(net, small_inner(4, 3, 3, 22), &rng));
    assert_ok(gf_net_new(&f, 3));
    assert_ok(gf_net_add_linear(f, 3));
    assert_ok(gf_net_add_batchnorm(f, 1e-5, 0.1));
    assert_ok(gf_net_add_activation(f, "tanh"));
    assert_ok(gf_net_add_linear(f, 3));
    assert_ok(gf_net_init(f, &init, &rng));
    assert_ok(gf_net_add_residual(net, f, NULL));
    assert_ok(gf_net_add_linear(net, 2));
    assert_ok(gf_net_init(net, &init, &rng)); /* the outer linear layers only */
    assert_ok(gf_net_gradcheck(net, x, t, GF_LOSS_MSE, NULL, res, &worst));
    assert_true(worst < NET_FD_TOL);
    for (size_t i = 0; i < gf_net_layer_count(net); i++) {
        assert_true(res[i].grad_norm > 1e-6);
        total += res[i].checked;
    }
    /* Every parameter and every boundary value was compared. */
    assert_int_equal(total, gf_net_param_count(net) + 6 * (5 + 4 + 4 + 4 + 3 + 3));
    gf_tensor_free(x);
    gf_tensor_free(t);
    gf_net_free(net);
}

/* ---- One parameter block ----------------------------------------------------------------- */

static int inside(const gf_real *p, const gf_real *block, size_t n)
{
    return p >= block && p < block + n;
}

/* F's layers point into the outer network's blocks, after the outer block moved too;
 * F's values are those it was initialised with; an optimiser step on the outer network
 * changes them. */
static void parameters_live_in_the_outer_block(void **state)
{
    gf_net *net = NULL, *f = small_inner(3, 4, 3, 8), *inner;
    gf_real w0;
    gf_tensor *x = random_tensor(4, 3, 6), *t = random_tensor(4, 3, 7);
    gf_optim_config cfg = gf_optim_default(GF_OPTIM_SGD);
    gf_optim *opt = NULL;
    (void)state;
    w0 = gf_net_layer(f, 0)->weight.data[1];
    assert_ok(gf_net_new(&net, 3));
    assert_ok(gf_net_add_residual(net, f, NULL));
    assert_int_equal(gf_net_param_count(net), 3 * 4 + 4 + 4 * 3 + 3);
    /* Grow the outer block several times: it moves; the views must follow. */
    for (int i = 0; i < 6; i++)
        assert_ok(gf_net_add_linear(net, 3));
    {
        /* The outer layers need weights for any gradient to reach the block. */
        gf_rng rng;
        gf_init init = gf_init_default(GF_INIT_XAVIER_NORMAL);
        gf_rng_seed(&rng, 4);
        assert_ok(gf_net_init(net, &init, &rng));
    }
    inner = gf_residual_inner(gf_net_layer(net, 0));
    assert_ptr_equal(inner, f);
    for (size_t i = 0; i < gf_net_layer_count(inner); i++) {
        gf_layer *il = gf_net_layer(inner, i);
        if (il->weight.rows == 0)
            continue;
        assert_true(inside(il->weight.data, gf_net_params(net), gf_net_param_count(net)));
        assert_true(inside(il->bias.data, gf_net_params(net), gf_net_param_count(net)));
        assert_true(inside(il->dweight.data, gf_net_grads(net), gf_net_param_count(net)));
    }
    assert_true(gf_net_layer(inner, 0)->weight.data[1] == w0);
    assert_true(gf_net_params(net)[1] == w0);
    assert_ok(gf_optim_new(&opt, &cfg, gf_net_param_count(net)));
    assert_ok(gf_net_train_step(net, x, t, GF_LOSS_MSE, opt, NULL, NULL));
    assert_true(gf_net_params(net)[1] != w0);
    inner = gf_residual_inner(gf_net_layer(net, 0));
    assert_true(gf_net_layer(inner, 0)->weight.data[1] == gf_net_params(net)[1]);
    gf_optim_free(opt);
    gf_tensor_free(x);
    gf_tensor_free(t);
    gf_net_free(net);
}

/* gf_net_init on a freshly wrapped F (through gf_residual_inner) writes the outer block. */
static void init_through_inner(void **state)
{
    gf_net *net = NULL, *f = NULL;
    gf_rng rng;
    gf_init he = gf_init_default(GF_INIT_HE_NORMAL);
    double ss = 0;
    (void)state;
    gf_rng_seed(&rng, 2);
    assert_ok(gf_net_new(&f, 64));
    assert_ok(gf_net_add_linear(f, 64));
    assert_ok(gf_net_new(&net, 64));
    assert_ok(gf_net_add_residual(net, f, NULL));
    assert_true(gf_array_norm2(gf_net_params(net), gf_net_param_count(net)) == 0);
    assert_ok(gf_net_init(gf_residual_inner(gf_net_layer(net, 0)), &he, &rng));
    for (size_t i = 0; i < 64 * 64; i++)
        ss += gf_net_params(net)[i] * (double)gf_net_params(net)[i];
    /* He: Var W = 2/64; the sample of 4096 is within 10% (4 standard errors is 9%). */
    assert_near(ss / 4096, 2.0 / 64, 0, 0.1);
    gf_net_free(net);
}

/* ---- Telemetry of the inner layers ------------------------------------------------------- */

static void inner_layers_record_telemetry(void **state)
{
    gf_net *net = NULL, *inner;
    gf_rng rng;
    gf_tensor *x = random_tensor(8, 6, 1), *t = random_tensor(8, 6, 2);
    const gf_record *outer, *in;
    size_t n_out, n_in;
    (void)state;
    gf_rng_seed(&rng, 3);
    assert_ok(gf_net_new(&net, 6));
    assert_ok(gf_net_add_residual_mlp(net, 3, "tanh", NULL, 0, &rng));
    assert_ok(gf_net_add_residual_mlp(net, 2, "relu", NULL, 0, &rng));
    for (int s = 0; s < 3; s++) {
        assert_ok(gf_net_forward(net, x, NULL));
        assert_ok(gf_net_loss(net, GF_LOSS_MSE, t, NULL));
        assert_ok(gf_net_backward(net));
    }
    assert_ok(gf_net_last_records(net, &outer, &n_out));
    assert_int_equal(n_out, 2);
    for (size_t b = 0; b < 2; b++) {
        inner = gf_residual_inner(gf_net_layer(net, b));
        assert_int_equal(gf_net_step_count(inner), 3);
        assert_int_equal(gf_telemetry_count(gf_net_telemetry(inner)),
                         3 * gf_net_layer_count(inner));
        assert_ok(gf_net_last_records(inner, &in, &n_in));
        assert_int_equal(n_in, b == 0 ? 5 : 3);
        /* F's last layer receives the block's dL/dy; F's first passes back its share of
         * dL/dx (the skip adds dL/dy to it). */
        assert_near(in[n_in - 1].grad_out_norm, outer[b].grad_out_norm, 0, 1e-12);
        assert_string_equal(in[0].kind, "linear");
        assert_true(in[0].weight_grad_norm > 0 && isfinite(in[0].grad_in_norm));
        assert_true(isfinite(in[1].deriv_abs_mean)); /* activation statistics too */
    }
    assert_true(isfinite(outer[0].weight_grad_norm));
    gf_tensor_free(x);
    gf_tensor_free(t);
    gf_net_free(net);
}

/* Evaluation mode is passed to F: its batch norm then uses running statistics. */
static void eval_mode_reaches_inner_batchnorm(void **state)
{
    gf_net *net = NULL, *f = NULL;
    gf_layer *bn;
    gf_tensor *x = random_tensor(5, 3, 4);
    const gf_tensor *y;
    double mean[3] = {0.5, -0.5, 1}, var[3] = {4, 1, 0.25};
    (void)state;
    assert_ok(gf_net_new(&f, 3));
    assert_ok(gf_net_add_batchnorm(f, 1e-5, 0.1));
    bn = gf_net_layer(f, 0);
    assert_ok(gf_batchnorm_set_running(bn, mean, var, 3));
    assert_ok(gf_net_new(&net, 3));
    assert_ok(gf_net_add_residual(net, f, NULL));
    assert_ok(gf_net_predict(net, x, &y));
    for (size_t r = 0; r < 5; r++)
        for (size_t j = 0; j < 3; j++) {
            double xv = x->data[r * 3 + j];
            assert_near(y->data[r * 3 + j], xv + (xv - mean[j]) / sqrt(var[j] + 1e-5),
                        TU_TOL_ABS, 10 * TU_TOL_REL);
        }
    gf_tensor_free(x);
    gf_net_free(net);
}

/* ---- Bad input --------------------------------------------------------------------------- */

static void bad_arguments(void **state)
{
    gf_layer l, lin;
    gf_net *net = NULL, *f = NULL;
    gf_rng rng;
    gf_tensor *x = random_tensor(2, 3, 1);
    (void)state;
    gf_rng_seed(&rng, 1);
    /* Ownership is taken also on failure: ASan would report these inner nets leaked. */
    assert_status(gf_layer_residual(NULL, small_inner(3, 2, 3, 1), NULL), GF_EINVAL);
    assert_status(gf_layer_residual(&l, NULL, NULL), GF_EINVAL);
    assert_ok(gf_net_new(&f, 3));
    assert_status(gf_layer_residual(&l, f, NULL), GF_EINVAL); /* no layers */
    assert_error_mentions("no layers");
    assert_status(gf_layer_residual(&l, small_inner(3, 2, 4, 1), NULL), GF_EINVAL);
    assert_error_mentions("rng");
    assert_status(gf_net_add_residual(NULL, small_inner(3, 2, 3, 1), NULL), GF_EINVAL);
    assert_ok(gf_net_new(&net, 5));
    assert_status(gf_net_add_residual(net, small_inner(3, 2, 3, 1), NULL), GF_ESHAPE);
    assert_status(gf_net_add_residual_mlp(NULL, 2, "relu", NULL, 0, &rng), GF_EINVAL);
    assert_status(gf_net_add_residual_mlp(net, 0, "relu", NULL, 0, &rng), GF_EINVAL);
    assert_status(gf_net_add_residual_mlp(net, 2, NULL, NULL, 0, &rng), GF_EINVAL);
    assert_status(gf_net_add_residual_mlp(net, 2, "nope", NULL, 0, &rng), GF_ENOTFOUND);
    assert_status(gf_net_add_residual_mlp(net, 2, "relu", NULL, 0, NULL), GF_EINVAL);
    assert_int_equal(gf_net_layer_count(net), 0);
    gf_net_free(net);

    /* Not a block. */
    assert_ok(gf_layer_linear(&lin, 2, 2));
    assert_null(gf_residual_inner(&lin));
    assert_null(gf_residual_inner(NULL));
    assert_int_equal(gf_residual_has_projection(&lin), 0);

    /* Unbound block: forward refuses. */
    assert_ok(gf_layer_residual(&l, small_inner(3, 2, 3, 1), NULL));
    {
        gf_real yv[6];
        gf_tensor y = mat(yv, 2, 3), y_bad = mat(yv, 3, 2);
        assert_status(l.ops->forward(&l, x, &y, 1), GF_ESTATE);
        assert_error_mentions("not bound");
        assert_status(l.ops->forward(&l, NULL, &y, 1), GF_ESTATE); /* state checked first */
        assert_status(l.ops->forward(NULL, x, &y, 1), GF_EINVAL);
        (void)y_bad;
    }
    gf_layer_release(&l);

    /* Shapes and changing F after wrapping it. */
    assert_ok(gf_net_new(&net, 3));
    assert_ok(gf_net_add_residual(net, small_inner(3, 2, 3, 1), NULL));
    {
        gf_layer *blk = gf_net_layer(net, 0);
        gf_real yv[6], dv[6];
        gf_tensor y = mat(yv, 2, 3), y_bad = mat(yv, 3, 2), d = mat(dv, 2, 3);
        assert_status(blk->ops->forward(blk, x, &y_bad, 1), GF_ESHAPE);
        assert_status(blk->ops->forward(blk, &y_bad, &y, 1), GF_ESHAPE);
        assert_status(blk->ops->forward(blk, x, NULL, 1), GF_EINVAL);
        assert_ok(blk->ops->forward(blk, x, &y, 1));
        assert_status(blk->ops->backward(blk, x, &y, &y_bad, &d), GF_ESHAPE);
        assert_status(blk->ops->backward(blk, x, &y, &y, &y_bad), GF_ESHAPE);
        assert_ok(gf_net_add_linear(gf_residual_inner(blk), 3));
        blk = gf_net_layer(net, 0);
        assert_status(gf_net_forward(net, x, NULL), GF_ESTATE);
        assert_error_mentions("changed after it was wrapped");
    }
    gf_net_free(net);
    gf_tensor_free(x);
}

/* Allocation failures while building and running a residual network: GF_ENOMEM, no leak. */
static void allocation_failures(void **state)
{
    (void)state;
    for (long k = 1; k < 80; k++) {
        gf_net *net = NULL;
        gf_tensor *x = NULL;
        gf_rng rng;
        gf_status st;
        gf_rng_seed(&rng, 1);
        tu_alloc_install(k);
        st = gf_net_new(&net, 4);
        if (st == GF_OK)
            st = gf_net_add_residual_mlp(net, 2, "relu", NULL, 0, &rng);
        if (st == GF_OK) {
            gf_net *f = NULL;
            st = gf_net_new(&f, 4);
            if (st == GF_OK)
                st = gf_net_add_linear(f, 2);
            if (st == GF_OK)
                st = gf_net_add_residual(net, f, &rng);
            else
                gf_net_free(f);
        }
        if (st == GF_OK)
            st = gf_tensor_new(&x, 3, 4);
        if (st == GF_OK)
            st = gf_net_forward(net, x, NULL);
        if (st == GF_OK)
            st = gf_net_backward_from(net, gf_net_activation(net, 2));
        assert_true(st == (tu_alloc.failed ? GF_ENOMEM : GF_OK));
        gf_tensor_free(x);
        gf_net_free(net);
        assert_int_equal(tu_alloc_live(), 0);
        tu_alloc_uninstall();
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(identity_when_f_is_zero),
        cmocka_unit_test(block_backward_matches_central_differences),
        cmocka_unit_test(network_gradcheck),
        cmocka_unit_test(parameters_live_in_the_outer_block),
        cmocka_unit_test(init_through_inner),
        cmocka_unit_test(inner_layers_record_telemetry),
        cmocka_unit_test(eval_mode_reaches_inner_batchnorm),
        cmocka_unit_test(bad_arguments),
        cmocka_unit_test(allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
