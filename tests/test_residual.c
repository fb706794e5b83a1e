/* tests/test_residual.c: residual blocks in the flat stack (skip_begin, F, skip_add). The
 * block is the identity when F = 0; its backward pass (with and without a projection:
 * the input and every parameter) matches central differences, and so does an outer
 * network's through gf_net_gradcheck; gf_net_add_residual moves F's layers, values and
 * state into the network; every inner layer records its own telemetry, and skip_begin's
 * input gradient is F's share plus the skip's; bad input and allocation failures. */
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
    gf_tensor t = {.data = data, .rows = rows, .cols = cols};
    return t;
}

static double coef(size_t i) { return 0.5 + 0.9 * sin(0.7 * (double)i + 0.3); }

/* F: in -> hidden (tanh) -> out, Xavier-initialised from seed, biases 0.1. */
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
    static const char *const kinds[] = {"skip_begin", "linear", "relu", "linear", "skip_add"};
    gf_net *net = NULL;
    gf_rng rng;
    gf_tensor *x = random_tensor(5, 4, 1), *dy = random_tensor(5, 4, 2);
    const gf_tensor *y, *dx;
    (void)state;
    gf_rng_seed(&rng, 1);
    assert_ok(gf_net_new(&net, 4));
    assert_ok(gf_net_add_residual_mlp(net, 2, "relu", NULL, 1, &rng));
    assert_int_equal(gf_net_layer_count(net), 5);
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(gf_net_layer_kind(net, i), kinds[i]);
    assert_true(gf_skip_closes(gf_net_layer(net, 4), gf_net_layer(net, 0)));
    assert_int_equal(gf_skip_has_projection(gf_net_layer(net, 4)), 0);
    assert_int_equal(gf_net_param_count(net), 2 * (4 * 4 + 4));
    assert_ok(gf_net_forward(net, &y, x));
    for (size_t i = 0; i < 20; i++)
        assert_true(y->data[i] == x->data[i]);
    assert_ok(gf_net_backward_from(net, dy));
    dx = gf_net_activation_grad(net, 0);
    for (size_t i = 0; i < 20; i++)
        assert_true(dx->data[i] == dy->data[i]);
    assert_true(gf_tensor_norm2(&gf_net_layer(net, 1)->dweight) == 0);
    assert_true(gf_tensor_norm2(&gf_net_layer(net, 3)->dweight) > 0);
    gf_tensor_free(x);
    gf_tensor_free(dy);
    gf_net_free(net);
}

/* ---- Finite differences ------------------------------------------------------------------ */

/* L = sum c_i y_i of the network's output on x (forward in training mode). */
static double loss(gf_net *net, const gf_tensor *x)
{
    const gf_tensor *y;
    double sum = 0;
    assert_ok(gf_net_forward(net, &y, x));
    for (size_t i = 0; i < y->rows * y->cols; i++)
        sum += coef(i) * y->data[i];
    return sum;
}

static void check_fd(const char *what, gf_net *net, const gf_tensor *x, gf_real *at,
                     const gf_real *grad, size_t n)
{
    double norm = 0;
    for (size_t i = 0; i < n; i++) {
        gf_real keep = at[i], up = (gf_real)(keep + TU_FD_H), down = (gf_real)(keep - TU_FD_H);
        double lp, lm, num;
        at[i] = up;
        lp = loss(net, x);
        at[i] = down;
        lm = loss(net, x);
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

/* One block, skip_begin, linear in -> 5, tanh, linear 5 -> out, skip_add (a projection
 * when out != in): dx and every parameter (F's, P's and p's) against central
 * differences of L = sum c_i y_i. */
static void block_backward_matches_central_differences(void **state)
{
    (void)state;
    for (int proj = 0; proj < 2; proj++) {
        size_t in = 4, out = proj ? 3 : 4, batch = 3, np;
        gf_net *net = NULL;
        gf_layer *add;
        gf_rng rng;
        gf_tensor *x = random_tensor(batch, in, 7);
        gf_real dyv[12], xv[12];
        gf_tensor dy = mat(dyv, batch, out), xc = mat(xv, batch, in);
        gf_rng_seed(&rng, 5);
        assert_ok(gf_net_new(&net, in));
        assert_ok(gf_net_add_residual(net, small_inner(in, 5, out, 9), &rng));
        assert_int_equal(gf_net_layer_count(net), 5);
        add = gf_net_layer_mut(net, 4);
        assert_int_equal(gf_skip_has_projection(add), proj);
        np = gf_net_param_count(net);
        assert_int_equal(np, in * 5 + 5 + 5 * out + out + (proj ? out * in + out : 0));
        assert_int_equal(add->n_params, proj ? out * in + out : 0);
        /* The projection's bias starts at 0; move it so that its role is visible. */
        for (size_t j = 0; proj && j < out; j++)
            add->bias.data[j] = (gf_real)(0.1 * (double)j - 0.05);
        for (size_t i = 0; i < batch * out; i++)
            dyv[i] = (gf_real)coef(i);
        assert_ok(gf_net_forward(net, NULL, x));
        assert_ok(gf_net_backward_from(net, &dy));
        memcpy(xv, gf_net_activation_grad(net, 0)->data, sizeof(gf_real) * batch * in);
        check_fd(proj ? "block+proj dx" : "block dx", net, x, x->data, xc.data, batch * in);
        /* The loss evaluations leave the gradients alone. */
        check_fd(proj ? "block+proj dparams" : "block dparams", net, x, gf_net_params_mut(net),
                 gf_net_grads(net), np);
        gf_tensor_free(x);
        gf_net_free(net);
    }
}

/* An outer network of blocks, one with a projection and one holding batch norm, through
 * the engine's gradient check: every parameter, every layer's input. */
static void network_gradcheck(void **state)
{
    gf_net *net = NULL, *f = NULL;
    gf_rng rng;
    gf_tensor *x = random_tensor(6, 5, 3), *t = random_tensor(6, 2, 4);
    gf_gradcheck_layer res[24];
    double worst = NAN;
    size_t total = 0, inputs = 0;
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
    assert_int_equal(gf_net_layer_count(net), 19);
    assert_ok(gf_net_init(net, &init, &rng)); /* every linear layer, inner ones too */
    assert_ok(gf_net_gradcheck(net, res, &worst, x, t, GF_LOSS_MSE, NULL));
    assert_true(worst < NET_FD_TOL);
    for (size_t i = 0; i < gf_net_layer_count(net); i++) {
        assert_true(res[i].grad_norm > 1e-6);
        total += res[i].checked;
        inputs += gf_net_layer(net, i)->in;
    }
    /* Every parameter and every layer's input was compared. */
    assert_int_equal(total, gf_net_param_count(net) + 6 * inputs);
    gf_tensor_free(x);
    gf_tensor_free(t);
    gf_net_free(net);
}

/* ---- Moving F into the network ------------------------------------------------------------ */

/* F's values land in the network's block in F's order, between skip_begin and skip_add;
 * an optimiser step on the network changes them. */
static void add_residual_moves_layers_and_values(void **state)
{
    gf_net *net = NULL, *f = small_inner(3, 4, 3, 8);
    gf_real *want = test_malloc(gf_net_param_count(f) * sizeof(gf_real));
    size_t nf = gf_net_param_count(f);
    gf_tensor *x = random_tensor(4, 3, 6), *t = random_tensor(4, 3, 7);
    gf_optim_config cfg = gf_optim_default(GF_OPTIM_SGD);
    gf_optim *opt = NULL;
    gf_rng rng;
    gf_init init = gf_init_default(GF_INIT_XAVIER_NORMAL);
    (void)state;
    memcpy(want, gf_net_params(f), nf * sizeof(gf_real));
    assert_ok(gf_net_new(&net, 3));
    assert_ok(gf_net_add_linear(net, 3));
    gf_rng_seed(&rng, 4);
    assert_ok(gf_net_init(net, &init, &rng));
    assert_ok(gf_net_add_residual(net, f, NULL)); /* f is freed */
    assert_int_equal(gf_net_layer_count(net), 6);
    assert_int_equal(gf_net_param_count(net), 12 + nf);
    assert_string_equal(gf_net_layer_kind(net, 1), "skip_begin");
    assert_string_equal(gf_net_layer_kind(net, 3), "tanh");
    assert_string_equal(gf_net_layer_kind(net, 5), "skip_add");
    assert_int_equal(gf_net_layer(net, 2)->param_offset, 12);
    assert_memory_equal(gf_net_params(net) + 12, want, nf * sizeof(gf_real));
    assert_ok(gf_optim_new(&opt, &cfg, gf_net_param_count(net)));
    assert_ok(gf_net_train_step(net, NULL, x, t, opt, GF_LOSS_MSE, NULL));
    assert_true(gf_net_params(net)[12 + 1] != want[1]);
    assert_true(gf_net_layer(net, 2)->weight.data[1] == gf_net_params(net)[12 + 1]);
    test_free(want);
    gf_optim_free(opt);
    gf_tensor_free(x);
    gf_tensor_free(t);
    gf_net_free(net);
}

/* gf_net_init of the network initialises the block's linear layers like any other. */
static void init_reaches_inner_layers(void **state)
{
    gf_net *net = NULL, *f = NULL;
    gf_rng rng;
    gf_init he = gf_init_default(GF_INIT_HE_NORMAL);
    const gf_real *w;
    double ss = 0;
    (void)state;
    gf_rng_seed(&rng, 2);
    assert_ok(gf_net_new(&f, 64));
    assert_ok(gf_net_add_linear(f, 64));
    assert_ok(gf_net_new(&net, 64));
    assert_ok(gf_net_add_residual(net, f, NULL));
    assert_true(gf_array_norm2(gf_net_params(net), gf_net_param_count(net)) == 0);
    assert_ok(gf_net_init(net, &he, &rng));
    w = gf_net_layer(net, 1)->weight.data;
    for (size_t i = 0; i < 64 * 64; i++)
        ss += w[i] * (double)w[i];
    /* He: Var W = 2/64; the sample of 4096 is within 10% (4 standard errors is 9%). */
    assert_near(ss / 4096, 2.0 / 64, 0, 0.1);
    gf_net_free(net);
}

/* ---- Telemetry of the inner layers ------------------------------------------------------- */

/* Every layer of both blocks is a record of the network's telemetry; the skip_add passes
 * dL/dy on to F's last layer, and skip_begin's input gradient is F's share plus dL/dy of
 * the block. */
static void inner_layers_record_telemetry(void **state)
{
    gf_net *net = NULL;
    gf_rng rng;
    gf_tensor *x = random_tensor(8, 6, 1), *t = random_tensor(8, 6, 2);
    const gf_record *rec;
    size_t n, linear = 0;
    (void)state;
    gf_rng_seed(&rng, 3);
    assert_ok(gf_net_new(&net, 6));
    assert_ok(gf_net_add_residual_mlp(net, 3, "tanh", NULL, 0, &rng));  /* layers 0..6 */
    assert_ok(gf_net_add_residual_mlp(net, 2, "relu", NULL, 0, &rng));  /* layers 7..11 */
    for (int s = 0; s < 3; s++) {
        assert_ok(gf_net_forward(net, NULL, x));
        assert_ok(gf_net_loss(net, NULL, t, GF_LOSS_MSE));
        assert_ok(gf_net_backward(net));
    }
    assert_int_equal(gf_telemetry_count(gf_net_telemetry(net)), 3 * 12);
    assert_ok(gf_net_last_records(net, &rec, &n));
    assert_int_equal(n, 12);
    for (size_t i = 0; i < n; i++)
        if (strcmp(rec[i].kind, "linear") == 0) {
            linear++;
            assert_true(rec[i].weight_grad_norm > 0 && isfinite(rec[i].grad_in_norm));
        }
    assert_int_equal(linear, 5);
    assert_true(isfinite(rec[2].deriv_abs_mean)); /* activation statistics too */
    for (size_t b = 0; b < 2; b++) {
        size_t begin = b == 0 ? 0 : 7, add = b == 0 ? 6 : 11;
        const gf_tensor *through_f = gf_net_activation_grad(net, begin + 1);
        const gf_tensor *skip = gf_net_activation_grad(net, add + 1);
        double ss = 0;
        assert_string_equal(rec[begin].kind, "skip_begin");
        assert_string_equal(rec[add].kind, "skip_add");
        assert_near(rec[add - 1].grad_out_norm, rec[add].grad_out_norm, 0, 1e-12);
        assert_near(rec[add].grad_in_norm, rec[add].grad_out_norm, 0, 1e-12);
        for (size_t k = 0; k < 8 * 6; k++) {
            double d = (double)through_f->data[k] + skip->data[k];
            ss += d * d;
        }
        assert_near(rec[begin].grad_in_norm, sqrt(ss), 0, 10 * TU_TOL_REL);
    }
    gf_tensor_free(x);
    gf_tensor_free(t);
    gf_net_free(net);
}

/* Evaluation mode reaches F's batch norm, whose running statistics moved with it. */
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
    bn = gf_net_layer_mut(f, 0);
    assert_ok(gf_batchnorm_set_running(bn, mean, var, 3));
    assert_ok(gf_net_new(&net, 3));
    assert_ok(gf_net_add_residual(net, f, NULL));
    assert_ok(gf_net_predict(net, &y, x));
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

/* The pair's own checks: opening, closing, order of the passes. */
static void pair_contract(void **state)
{
    gf_layer begin, add, add2, lin;
    gf_rng rng;
    gf_tensor *x = random_tensor(2, 3, 1);
    gf_real yv[6], dv[6];
    gf_tensor y = mat(yv, 2, 3), d = mat(dv, 2, 3);
    (void)state;
    gf_rng_seed(&rng, 1);
    assert_status(gf_layer_skip_begin(NULL, 3), GF_EINVAL);
    assert_status(gf_layer_skip_begin(&begin, 0), GF_EINVAL);
    assert_ok(gf_layer_linear(&lin, 3, 3));
    assert_status(gf_layer_skip_add(&add, &lin, 3, NULL), GF_EINVAL);
    assert_status(gf_layer_skip_add(&add, NULL, 3, NULL), GF_EINVAL);
    assert_int_equal(gf_layer_is_skip_begin(&lin) + gf_layer_is_skip_add(&lin), 0);
    assert_int_equal(gf_layer_is_skip_begin(NULL) + gf_skip_has_projection(NULL), 0);

    assert_ok(gf_layer_skip_begin(&begin, 3));
    assert_true(gf_skip_is_open(&begin));
    assert_status(gf_layer_skip_add(&add, &begin, 2, NULL), GF_EINVAL); /* widths differ */
    assert_error_mentions("rng");
    assert_ok(gf_layer_skip_add(&add, &begin, 3, NULL));
    assert_false(gf_skip_is_open(&begin));
    assert_true(gf_skip_closes(&add, &begin));
    assert_status(gf_layer_skip_add(&add2, &begin, 3, NULL), GF_EINVAL); /* closed */

    /* skip_add needs skip_begin's forward; skip_begin's backward needs skip_add's. */
    assert_status(add.ops->forward(&add, x, &y, 1), GF_ESTATE);
    assert_ok(begin.ops->forward(&begin, x, &y, 1));
    assert_status(begin.ops->backward(&begin, x, &y, &y, &d), GF_ESTATE);
    assert_ok(add.ops->forward(&add, x, &y, 1));
    for (size_t k = 0; k < 6; k++)
        assert_true(yv[k] == 2 * x->data[k]); /* F empty: y = x + x */
    memset(dv, 0, sizeof dv);
    assert_ok(add.ops->backward(&add, x, &y, x, &d));
    assert_ok(begin.ops->backward(&begin, x, &y, x, &d));
    for (size_t k = 0; k < 6; k++)
        assert_true(dv[k] == 3 * x->data[k]); /* dy (add) + dy (begin) + ds */
    assert_status(begin.ops->backward(&begin, x, &y, x, &d), GF_ESTATE); /* ds taken */

    /* Releasing skip_add opens the block again; skip_begin alone passes dy through. */
    gf_layer_release(&add);
    assert_true(gf_skip_is_open(&begin));
    memset(dv, 0, sizeof dv);
    assert_ok(begin.ops->backward(&begin, x, &y, x, &d));
    assert_true(dv[0] == x->data[0]);
    gf_layer_release(&begin);
    gf_tensor_free(x);
}

static void bad_arguments(void **state)
{
    gf_net *net = NULL, *f = NULL;
    gf_rng rng;
    (void)state;
    gf_rng_seed(&rng, 1);
    /* Ownership is taken also on failure: ASan would report these inner nets leaked. */
    assert_status(gf_net_add_residual(NULL, small_inner(3, 2, 3, 1), NULL), GF_EINVAL);
    assert_ok(gf_net_new(&net, 3));
    assert_status(gf_net_add_residual(net, NULL, NULL), GF_EINVAL);
    assert_ok(gf_net_new(&f, 3));
    assert_status(gf_net_add_residual(net, f, NULL), GF_EINVAL); /* no layers */
    assert_error_mentions("no layers");
    assert_status(gf_net_add_residual(net, small_inner(3, 2, 4, 1), NULL), GF_EINVAL);
    assert_error_mentions("rng");
    assert_status(gf_net_add_skip_add(net, NULL), GF_ESTATE); /* no open block */
    assert_status(gf_net_add_skip_add(NULL, NULL), GF_EINVAL);
    assert_status(gf_net_add_skip_begin(NULL), GF_EINVAL);
    assert_int_equal(gf_net_layer_count(net), 0);
    gf_net_free(net);

    assert_ok(gf_net_new(&net, 5));
    assert_status(gf_net_add_residual(net, small_inner(3, 2, 3, 1), NULL), GF_ESHAPE);
    assert_status(gf_net_add_residual_mlp(NULL, 2, "relu", NULL, 0, &rng), GF_EINVAL);
    assert_status(gf_net_add_residual_mlp(net, 0, "relu", NULL, 0, &rng), GF_EINVAL);
    assert_status(gf_net_add_residual_mlp(net, 2, NULL, NULL, 0, &rng), GF_EINVAL);
    assert_status(gf_net_add_residual_mlp(net, 2, "nope", NULL, 0, &rng), GF_ENOTFOUND);
    assert_status(gf_net_add_residual_mlp(net, 2, "relu", NULL, 0, NULL), GF_EINVAL);
    assert_int_equal(gf_net_layer_count(net), 0);

    /* Blocks nest as brackets: the innermost open one is closed first. */
    assert_ok(gf_net_add_skip_begin(net));
    assert_ok(gf_net_add_linear(net, 5));
    assert_ok(gf_net_add_skip_begin(net));
    assert_ok(gf_net_add_linear(net, 4));
    assert_ok(gf_net_add_skip_add(net, &rng)); /* 5 -> 4: a projection */
    assert_true(gf_skip_closes(gf_net_layer(net, 4), gf_net_layer(net, 2)));
    assert_true(gf_skip_has_projection(gf_net_layer(net, 4)));
    assert_ok(gf_net_add_linear(net, 5));
    assert_ok(gf_net_add_skip_add(net, NULL));
    assert_true(gf_skip_closes(gf_net_layer(net, 6), gf_net_layer(net, 0)));
    assert_status(gf_net_add_skip_add(net, NULL), GF_ESTATE);
    gf_net_free(net);
}

/* Allocation failures while building and running a residual network: GF_ENOMEM, no leak. */
static void allocation_failures(void **state)
{
    (void)state;
    for (long k = 1; k < 120; k++) {
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
            st = gf_net_forward(net, NULL, x);
        if (st == GF_OK)
            st = gf_net_backward_from(net, gf_net_activation(net, gf_net_layer_count(net)));
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
        cmocka_unit_test(add_residual_moves_layers_and_values),
        cmocka_unit_test(init_reaches_inner_layers),
        cmocka_unit_test(inner_layers_record_telemetry),
        cmocka_unit_test(eval_mode_reaches_inner_batchnorm),
        cmocka_unit_test(pair_contract),
        cmocka_unit_test(bad_arguments),
        cmocka_unit_test(allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
