/* tests/test_norm.c: batch norm and layer norm. Every backward pass (batch norm in
 * training mode, with the paths through the batch mean and variance; batch norm in
 * evaluation mode; layer norm) is checked element by element against central
 * differences of L = sum c_i y_i, per layer and through gf_net_gradcheck; the forward
 * pass against the defining statistics; running statistics against their recurrence;
 * training vs evaluation; reset and init; bad input and allocation failures. */
#include "testutil.h"

#include "gradflow.h"
#include "gradflow/norm.h"

/* Whole-network gradient check tolerance: as test_net.c (a network compounds a few
 * more roundings than one layer). In float, batch norm divides by a batch standard
 * deviation of order 1, so the rounding noise of L is not amplified further. */
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

/* Fixed, non-trivial loss weights c_i in [-0.4, 1.4]. */
static double coef(size_t i) { return 0.5 + 0.9 * sin(0.7 * (double)i + 0.3); }

static void fill_smooth(gf_real *v, size_t n, double scale, double phase)
{
    for (size_t i = 0; i < n; i++)
        v[i] = (gf_real)(scale * (sin(1.7 * (double)i + phase) + 0.4 * cos(0.37 * (double)i)));
}

static double loss(gf_layer *l, const gf_tensor *x, gf_tensor *y, int training)
{
    double sum = 0;
    assert_ok(l->ops->forward(l, x, y, training));
    for (size_t i = 0; i < y->rows * y->cols; i++)
        sum += coef(i) * y->data[i];
    return sum;
}

/* Every grad[i] against the central difference of L in at[i]; not all zero. */
static void check_fd(const char *what, gf_layer *l, const gf_tensor *x, gf_tensor *y,
                     int training, gf_real *at, const gf_real *grad, size_t n)
{
    double norm = 0;
    for (size_t i = 0; i < n; i++) {
        gf_real keep = at[i], up = (gf_real)(keep + TU_FD_H), down = (gf_real)(keep - TU_FD_H);
        double lp, lm, num;
        at[i] = up;
        lp = loss(l, x, y, training);
        at[i] = down;
        lm = loss(l, x, y, training);
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

enum { B = 6, N = 4 };

typedef struct fixture {
    gf_layer l;
    gf_real gamma[N], beta[N], dgamma[N], dbeta[N];
    gf_real xv[B * N], yv[B * N], dyv[B * N], dxv[B * N];
    gf_tensor x, y, dy, dx;
} fixture;

static void setup(fixture *f, int batch_norm)
{
    memset(f, 0, sizeof *f);
    if (batch_norm)
        assert_ok(gf_layer_batchnorm(&f->l, N, 1e-5, 0.1));
    else
        assert_ok(gf_layer_layernorm(&f->l, N, 1e-5));
    f->l.weight.data = f->gamma;
    f->l.bias.data = f->beta;
    f->l.dweight.data = f->dgamma;
    f->l.dbias.data = f->dbeta;
    f->l.ops->reset(&f->l);
    for (size_t j = 0; j < N; j++) {
        assert_true(f->gamma[j] == 1 && f->beta[j] == 0);
        f->gamma[j] = (gf_real)(0.7 + 0.3 * (double)j);
        f->beta[j] = (gf_real)(0.2 - 0.15 * (double)j);
    }
    if (f->l.ops->reserve != NULL)
        assert_ok(f->l.ops->reserve(&f->l, B));
    /* Features of different means and spreads, so that no group is degenerate. */
    fill_smooth(f->xv, B * N, 1.0, 0.3);
    for (size_t r = 0; r < B; r++)
        for (size_t j = 0; j < N; j++)
            f->xv[r * N + j] = (gf_real)(f->xv[r * N + j] * (0.5 + 0.4 * (double)j) + j);
    f->x = mat(f->xv, B, N);
    f->y = mat(f->yv, B, N);
    f->dy = mat(f->dyv, B, N);
    f->dx = mat(f->dxv, B, N);
    for (size_t i = 0; i < B * N; i++)
        f->dyv[i] = (gf_real)coef(i);
}

static void run_fd(fixture *f, int training, const char *name)
{
    char what[64];
    assert_ok(f->l.ops->forward(&f->l, &f->x, &f->y, training));
    assert_ok(f->l.ops->backward(&f->l, &f->x, &f->y, &f->dy, &f->dx));
    snprintf(what, sizeof what, "%s dx", name);
    check_fd(what, &f->l, &f->x, &f->y, training, f->xv, f->dxv, B * N);
    snprintf(what, sizeof what, "%s dgamma", name);
    check_fd(what, &f->l, &f->x, &f->y, training, f->gamma, f->dgamma, N);
    snprintf(what, sizeof what, "%s dbeta", name);
    check_fd(what, &f->l, &f->x, &f->y, training, f->beta, f->dbeta, N);
}

/* ---- Batch norm --------------------------------------------------------------------- */

static void batchnorm_fields(void **state)
{
    gf_layer l;
    (void)state;
    assert_ok(gf_layer_batchnorm(&l, 7, 1e-5, 0.1));
    assert_string_equal(l.ops->name, "batchnorm");
    assert_int_equal(l.in, 7);
    assert_int_equal(l.out, 7);
    assert_int_equal(l.weight.rows * l.weight.cols, 7);
    assert_int_equal(l.bias.rows * l.bias.cols, 7);
    assert_int_equal(l.n_params, 14);
    assert_int_equal(l.is_parametric, 0);
    assert_null(l.weight.data);
    gf_layer_release(&l);
    assert_null(l.state);
}

/* The full training-mode gradient, including the mean and variance paths: a gradient
 * that dropped them would be off by far more than the tolerance (the dx check is what
 * catches it; sum_r dx_r = 0 is a consequence checked below). */
static void batchnorm_training_backward_matches_central_differences(void **state)
{
    fixture f;
    double colsum[N] = {0};
    (void)state;
    setup(&f, 1);
    run_fd(&f, 1, "batchnorm(train)");
    /* dx sums to zero over the batch (y does not move when x shifts by a constant per
     * feature), and is orthogonal to xhat (nor when x scales). */
    for (size_t r = 0; r < B; r++)
        for (size_t j = 0; j < N; j++)
            colsum[j] += f.dxv[r * N + j];
    for (size_t j = 0; j < N; j++)
        assert_near(colsum[j], 0, 1e3 * TU_EPS, 0);
    gf_layer_release(&f.l);
}

static void batchnorm_eval_backward_matches_central_differences(void **state)
{
    fixture f;
    double mean[N] = {0.5, -1, 2, 0.1}, var[N] = {0.8, 2.5, 0.3, 1.2};
    (void)state;
    setup(&f, 1);
    assert_ok(gf_batchnorm_set_running(&f.l, mean, var, N));
    run_fd(&f, 0, "batchnorm(eval)");
    /* Evaluation is affine: dx = dy gamma / sqrt(var + eps) exactly. */
    for (size_t r = 0; r < B; r++)
        for (size_t j = 0; j < N; j++)
            assert_close(f.dxv[r * N + j], f.dyv[r * N + j] * f.gamma[j] / sqrt(var[j] + 1e-5));
    gf_layer_release(&f.l);
}

/* Backward adds into dx, dgamma and dbeta: a second call doubles them. */
static void batchnorm_backward_accumulates(void **state)
{
    fixture f;
    gf_real dx1[B * N], dg1[N];
    (void)state;
    setup(&f, 1);
    assert_ok(f.l.ops->forward(&f.l, &f.x, &f.y, 1));
    assert_ok(f.l.ops->backward(&f.l, &f.x, &f.y, &f.dy, &f.dx));
    memcpy(dx1, f.dxv, sizeof dx1);
    memcpy(dg1, f.dgamma, sizeof dg1);
    assert_ok(f.l.ops->backward(&f.l, &f.x, &f.y, &f.dy, &f.dx));
    for (size_t i = 0; i < B * N; i++)
        assert_close(f.dxv[i], 2 * dx1[i]);
    for (size_t j = 0; j < N; j++)
        assert_close(f.dgamma[j], 2 * dg1[j]);
    /* dx may be NULL: parameter gradients only. */
    assert_ok(f.l.ops->backward(&f.l, &f.x, &f.y, &f.dy, NULL));
    for (size_t j = 0; j < N; j++)
        assert_close(f.dgamma[j], 3 * dg1[j]);
    gf_layer_release(&f.l);
}

/* Training output per feature: mean beta_j and (biased) variance
 * gamma_j^2 var_j / (var_j + eps). */
static void batchnorm_training_output_statistics(void **state)
{
    fixture f;
    (void)state;
    setup(&f, 1);
    assert_ok(f.l.ops->forward(&f.l, &f.x, &f.y, 1));
    for (size_t j = 0; j < N; j++) {
        double mx = 0, vx = 0, my = 0, vy = 0;
        for (size_t r = 0; r < B; r++) {
            mx += f.xv[r * N + j] / (double)B;
            my += f.yv[r * N + j] / (double)B;
        }
        for (size_t r = 0; r < B; r++) {
            vx += pow(f.xv[r * N + j] - mx, 2) / B;
            vy += pow(f.yv[r * N + j] - my, 2) / B;
        }
        assert_near(my, f.beta[j], 10 * TU_EPS, 0);
        assert_near(vy, f.gamma[j] * f.gamma[j] * vx / (vx + 1e-5), 0, 1e2 * TU_EPS);
    }
    gf_layer_release(&f.l);
}

/* running = (1 - m) running + m stat, from mean 0, variance 1, with the unbiased batch
 * variance; after k identical batches, running_mean = (1 - (1-m)^k) mu. Evaluation
 * changes nothing. */
static void batchnorm_running_statistics(void **state)
{
    fixture f;
    const double *rm, *rv;
    size_t n;
    double mu[N], var[N], m = 0.1;
    (void)state;
    setup(&f, 1);
    for (size_t j = 0; j < N; j++) {
        mu[j] = var[j] = 0;
        for (size_t r = 0; r < B; r++)
            mu[j] += f.xv[r * N + j] / (double)B;
        for (size_t r = 0; r < B; r++)
            var[j] += pow(f.xv[r * N + j] - mu[j], 2) / (B - 1);
    }
    assert_ok(gf_batchnorm_running(&f.l, &rm, &rv, &n));
    assert_int_equal(n, N);
    for (size_t j = 0; j < N; j++)
        assert_true(rm[j] == 0 && rv[j] == 1);
    for (int k = 1; k <= 30; k++) {
        assert_ok(f.l.ops->forward(&f.l, &f.x, &f.y, 1));
        for (size_t j = 0; j < N; j++) {
            double decay = pow(1 - m, k);
            assert_near(rm[j], (1 - decay) * mu[j], 1e-12, 1e2 * TU_EPS);
            assert_near(rv[j], decay * 1 + (1 - decay) * var[j], 1e-12, 1e2 * TU_EPS);
        }
    }
    {
        double keep_m[N], keep_v[N];
        memcpy(keep_m, rm, sizeof keep_m);
        memcpy(keep_v, rv, sizeof keep_v);
        assert_ok(f.l.ops->forward(&f.l, &f.x, &f.y, 0));
        for (size_t j = 0; j < N; j++)
            assert_true(rm[j] == keep_m[j] && rv[j] == keep_v[j]);
    }
    gf_layer_release(&f.l);
}

/* Evaluation normalises with the running statistics, not the batch's: one row alone
 * works, and its output does not depend on the other rows. Training needs 2 rows. */
static void batchnorm_train_vs_eval(void **state)
{
    gf_net *net = NULL;
    gf_layer *bn;
    gf_tensor *x = tu_tensor(B, N), *one = tu_tensor(1, N);
    const gf_tensor *y;
    double mean[N] = {1, -2, 0.5, 3}, var[N] = {4, 0.25, 1, 9};
    (void)state;
    assert_ok(gf_net_new(&net, N));
    assert_ok(gf_net_add_batchnorm(net, 1e-3, 0.1));
    bn = gf_net_layer_mut(net, 0);
    assert_string_equal(gf_net_layer_kind(net, 0), "batchnorm");
    assert_ok(gf_batchnorm_set_running(bn, mean, var, N));
    for (size_t j = 0; j < N; j++) {
        bn->weight.data[j] = (gf_real)(1.5 - 0.25 * (double)j);
        bn->bias.data[j] = (gf_real)(0.1 * (double)j);
    }
    fill_smooth(x->data, B * N, 2.0, 0.9);
    assert_ok(gf_net_predict(net, &y, x));
    for (size_t r = 0; r < B; r++)
        for (size_t j = 0; j < N; j++) {
            double want = bn->weight.data[j] * (x->data[r * N + j] - mean[j]) /
                              sqrt(var[j] + 1e-3) + bn->bias.data[j];
            assert_near(y->data[r * N + j], want, TU_TOL_ABS, 10 * TU_TOL_REL);
        }
    memcpy(one->data, x->data + 2 * N, N * sizeof(gf_real));
    assert_ok(gf_net_predict(net, &y, one));
    for (size_t j = 0; j < N; j++) {
        double want = bn->weight.data[j] * (one->data[j] - mean[j]) / sqrt(var[j] + 1e-3) +
                      bn->bias.data[j];
        assert_near(y->data[j], want, TU_TOL_ABS, 10 * TU_TOL_REL);
    }
    /* Training mode normalises with the batch: per feature the output mean is beta. */
    assert_ok(gf_net_forward(net, &y, x));
    for (size_t j = 0; j < N; j++) {
        double m = 0;
        for (size_t r = 0; r < B; r++)
            m += y->data[r * N + j] / B;
        assert_near(m, bn->bias.data[j], 10 * TU_EPS, 0);
    }
    assert_status(gf_net_forward(net, &y, one), GF_EINVAL);
    assert_error_mentions("at least 2 rows");
    gf_tensor_free(x);
    gf_tensor_free(one);
    gf_net_free(net);
}

/* ---- Layer norm --------------------------------------------------------------------- */

static void layernorm_backward_matches_central_differences(void **state)
{
    fixture f;
    (void)state;
    setup(&f, 0);
    assert_string_equal(f.l.ops->name, "layernorm");
    run_fd(&f, 1, "layernorm");
    /* Evaluation mode is the same function (backward adds: start from zero again). */
    memset(f.dxv, 0, sizeof f.dxv);
    memset(f.dgamma, 0, sizeof f.dgamma);
    memset(f.dbeta, 0, sizeof f.dbeta);
    run_fd(&f, 0, "layernorm(eval)");
    gf_layer_release(&f.l);
}

/* With gamma = 1, beta = 0 each row has mean 0 and variance var/(var + eps). */
static void layernorm_rows_are_normalised(void **state)
{
    fixture f;
    (void)state;
    setup(&f, 0);
    for (size_t j = 0; j < N; j++) {
        f.gamma[j] = 1;
        f.beta[j] = 0;
    }
    assert_ok(f.l.ops->forward(&f.l, &f.x, &f.y, 1));
    for (size_t r = 0; r < B; r++) {
        double mx = 0, vx = 0, my = 0, vy = 0;
        for (size_t j = 0; j < N; j++) {
            mx += f.xv[r * N + j] / N;
            my += f.yv[r * N + j] / N;
        }
        for (size_t j = 0; j < N; j++) {
            vx += pow(f.xv[r * N + j] - mx, 2) / N;
            vy += pow(f.yv[r * N + j] - my, 2) / N;
        }
        assert_near(my, 0, 10 * TU_EPS, 0);
        assert_near(vy, vx / (vx + 1e-5), 0, 1e2 * TU_EPS);
    }
    gf_layer_release(&f.l);
}

/* ---- In a network ---------------------------------------------------------------------- */

static void network_gradcheck_with_norms(void **state)
{
    gf_net *net = NULL;
    gf_rng rng;
    gf_tensor *x = tu_tensor(8, 5), *t = tu_tensor(8, 3);
    gf_gradcheck_layer res[16];
    double worst = NAN;
    gf_init init = gf_init_default(GF_INIT_XAVIER_NORMAL);
    (void)state;
    gf_rng_seed(&rng, 7);
    assert_ok(gf_net_new(&net, 5));
    assert_ok(gf_net_add_linear(net, 6));
    assert_ok(gf_net_add_batchnorm(net, 1e-5, 0.1));
    assert_ok(gf_net_add_activation(net, "tanh"));
    assert_ok(gf_net_add_linear(net, 6));
    assert_ok(gf_net_add_layernorm(net, 1e-5));
    assert_ok(gf_net_add_activation(net, "tanh"));
    assert_ok(gf_net_add_linear(net, 3));
    assert_ok(gf_net_init(net, &init, &rng));
    /* gamma and beta off their defaults, so that their roles are distinguishable. */
    for (size_t i = 1; i <= 4; i += 3) {
        gf_layer *l = gf_net_layer_mut(net, i);
        for (size_t j = 0; j < 6; j++) {
            l->weight.data[j] = (gf_real)(0.8 + 0.1 * (double)j);
            l->bias.data[j] = (gf_real)(0.05 * (double)j - 0.1);
        }
    }
    tu_fill_uniform(x, &rng, -1.5, 1.5);
    tu_fill_uniform(t, &rng, -1, 1);
    assert_ok(gf_net_gradcheck(net, res, &worst, x, t, GF_LOSS_MSE, NULL));
    assert_true(worst < NET_FD_TOL);
    for (size_t i = 0; i < gf_net_layer_count(net); i++)
        assert_true(res[i].grad_norm > 1e-6);
    assert_true(res[1].checked > 0 && res[4].checked > 0);
    gf_tensor_free(x);
    gf_tensor_free(t);
    gf_net_free(net);
}

/* reset() sets gamma = 1, beta = 0 when the network binds them; init schemes leave
 * them alone (is_parametric = 0); training moves them. */
static void reset_init_and_training(void **state)
{
    gf_net *net = NULL;
    gf_rng rng;
    gf_init init = gf_init_default(GF_INIT_NORMAL);
    gf_optim_config cfg = gf_optim_default(GF_OPTIM_SGD);
    gf_optim *opt = NULL;
    gf_tensor *x = tu_tensor(16, 3), *t = tu_tensor(16, 1);
    double first = 0, last = 0;
    (void)state;
    gf_rng_seed(&rng, 3);
    assert_ok(gf_net_new(&net, 3));
    assert_ok(gf_net_add_linear(net, 8));
    assert_ok(gf_net_add_batchnorm(net, 1e-5, 0.1));
    assert_ok(gf_net_add_activation(net, "relu"));
    assert_ok(gf_net_add_linear(net, 8));
    assert_ok(gf_net_add_layernorm(net, 1e-5));
    assert_ok(gf_net_add_linear(net, 1));
    init.std = 0.5;
    assert_ok(gf_net_init(net, &init, &rng));
    for (size_t i = 1; i <= 4; i += 3) {
        gf_layer *l = gf_net_layer_mut(net, i);
        assert_int_equal(l->is_parametric, 0);
        for (size_t j = 0; j < 8; j++)
            assert_true(l->weight.data[j] == 1 && l->bias.data[j] == 0);
    }
    tu_fill_uniform(x, &rng, -1, 1);
    for (size_t r = 0; r < 16; r++)
        t->data[r] = (gf_real)(x->data[3 * r] - 2 * x->data[3 * r + 1] * x->data[3 * r + 2]);
    cfg.lr = 0.05;
    assert_ok(gf_optim_new(&opt, &cfg, gf_net_param_count(net)));
    for (int s = 0; s < 200; s++) {
        double l;
        assert_ok(gf_net_train_step(net, &l, x, t, opt, GF_LOSS_MSE, NULL));
        if (s == 0)
            first = l;
        last = l;
    }
    assert_true(last < 0.5 * first);
    assert_true(gf_net_layer(net, 1)->weight.data[0] != 1);
    gf_optim_free(opt);
    gf_tensor_free(x);
    gf_tensor_free(t);
    gf_net_free(net);
}

/* ---- Bad input --------------------------------------------------------------------------- */

static void bad_arguments(void **state)
{
    gf_layer l, lin;
    gf_net *net = NULL;
    const double *m, *v;
    double vals[3] = {0, 1, 2}, bad[3] = {0, NAN, 1}, neg[3] = {0, -1, 1};
    size_t n;
    (void)state;
    assert_status(gf_layer_batchnorm(NULL, 3, 1e-5, 0.1), GF_EINVAL);
    assert_status(gf_layer_batchnorm(&l, 0, 1e-5, 0.1), GF_EINVAL);
    assert_status(gf_layer_batchnorm(&l, 3, 0, 0.1), GF_EINVAL);
    assert_status(gf_layer_batchnorm(&l, 3, -1e-5, 0.1), GF_EINVAL);
    assert_status(gf_layer_batchnorm(&l, 3, NAN, 0.1), GF_EINVAL);
    assert_status(gf_layer_batchnorm(&l, 3, INFINITY, 0.1), GF_EINVAL);
    assert_status(gf_layer_batchnorm(&l, 3, 1e-5, NAN), GF_EINVAL);
    assert_error_mentions("momentum");
    assert_status(gf_layer_batchnorm(&l, 3, 1e-5, -0.1), GF_EINVAL);
    assert_status(gf_layer_batchnorm(&l, 3, 1e-5, 1.5), GF_EINVAL);
    assert_status(gf_layer_layernorm(NULL, 3, 1e-5), GF_EINVAL);
    assert_status(gf_layer_layernorm(&l, 0, 1e-5), GF_EINVAL);
    assert_status(gf_layer_layernorm(&l, 1, 1e-5), GF_EINVAL);
    assert_status(gf_layer_layernorm(&l, 3, NAN), GF_EINVAL);
    assert_status(gf_net_add_batchnorm(NULL, 1e-5, 0.1), GF_EINVAL);
    assert_status(gf_net_add_layernorm(NULL, 1e-5), GF_EINVAL);

    assert_ok(gf_net_new(&net, 3));
    assert_status(gf_net_add_batchnorm(net, 1e-5, NAN), GF_EINVAL);
    assert_status(gf_net_add_layernorm(net, -1), GF_EINVAL);
    assert_int_equal(gf_net_layer_count(net), 0);
    assert_ok(gf_net_add_layernorm(net, 1e-5));
    /* Running statistics only for batch norm. */
    assert_status(gf_batchnorm_running(gf_net_layer(net, 0), &m, &v, &n), GF_EINVAL);
    assert_error_mentions("layernorm");
    assert_status(gf_batchnorm_running(NULL, &m, &v, &n), GF_EINVAL);
    assert_ok(gf_layer_linear(&lin, 2, 2));
    assert_status(gf_batchnorm_running(&lin, &m, &v, &n), GF_EINVAL);
    assert_ok(gf_net_add_batchnorm(net, 1e-5, 0.1));
    assert_status(gf_batchnorm_running(gf_net_layer(net, 1), NULL, &v, &n), GF_EINVAL);
    assert_status(gf_batchnorm_running(gf_net_layer(net, 1), &m, NULL, &n), GF_EINVAL);
    assert_status(gf_batchnorm_running(gf_net_layer(net, 1), &m, &v, NULL), GF_EINVAL);
    assert_status(gf_batchnorm_set_running(gf_net_layer_mut(net, 1), vals, vals, 2), GF_ESHAPE);
    assert_status(gf_batchnorm_set_running(gf_net_layer_mut(net, 1), bad, vals, 3), GF_EINVAL);
    assert_status(gf_batchnorm_set_running(gf_net_layer_mut(net, 1), vals, neg, 3), GF_EINVAL);
    assert_status(gf_batchnorm_set_running(gf_net_layer_mut(net, 1), NULL, vals, 3), GF_EINVAL);
    assert_status(gf_batchnorm_set_running(NULL, vals, vals, 3), GF_EINVAL);
    assert_ok(gf_batchnorm_set_running(gf_net_layer_mut(net, 1), vals, vals, 3));
    gf_net_free(net);
}

static void bad_shapes_and_state(void **state)
{
    gf_layer l;
    gf_real g[3] = {1, 1, 1}, b[3] = {0}, dg[3], db[3];
    gf_real xv[12], yv[12], dyv[12], dxv[12];
    gf_tensor x = mat(xv, 4, 3), y = mat(yv, 4, 3), dy = mat(dyv, 4, 3), dx = mat(dxv, 4, 3);
    gf_tensor x_wide = mat(xv, 3, 4), y_short = mat(yv, 3, 3), empty = mat(xv, 0, 3);
    (void)state;
    fill_smooth(xv, 12, 1, 0);
    fill_smooth(dyv, 12, 1, 1);
    for (int which = 0; which < 2; which++) {
        if (which == 0)
            assert_ok(gf_layer_batchnorm(&l, 3, 1e-5, 0.1));
        else
            assert_ok(gf_layer_layernorm(&l, 3, 1e-5));
        /* Unbound gamma/beta. */
        assert_status(l.ops->forward(&l, &x, &y, 1), GF_ESTATE);
        assert_error_mentions("not bound");
        l.weight.data = g;
        l.bias.data = b;
        l.dweight.data = dg;
        l.dbias.data = db;
        /* Backward before any forward. */
        assert_status(l.ops->backward(&l, &x, &y, &dy, &dx), GF_ESTATE);
        assert_status(l.ops->forward(NULL, &x, &y, 1), GF_EINVAL);
        assert_status(l.ops->forward(&l, NULL, &y, 1), GF_EINVAL);
        assert_status(l.ops->forward(&l, &x, NULL, 1), GF_EINVAL);
        assert_status(l.ops->forward(&l, &x_wide, &y, 1), GF_ESHAPE);
        assert_status(l.ops->forward(&l, &empty, &y, 1), GF_ESHAPE);
        assert_status(l.ops->forward(&l, &x, &y_short, 1), GF_ESHAPE);
        assert_ok(l.ops->forward(&l, &x, &y, 1));
        assert_status(l.ops->backward(&l, &x, &y, &y_short, &dx), GF_ESHAPE);
        assert_status(l.ops->backward(&l, &x, &y, &dy, &y_short), GF_ESHAPE);
        assert_status(l.ops->backward(&l, &x, &y, NULL, &dx), GF_EINVAL);
        /* A backward pass of another batch size than the forward's. */
        assert_status(l.ops->backward(&l, &y_short, &y_short, &y_short, NULL), GF_ESTATE);
        assert_ok(l.ops->backward(&l, &x, &y, &dy, &dx));
        gf_layer_release(&l);
        gf_layer_release(&l); /* twice: harmless */
    }
}

/* Every allocation failure while building a network with both layers and running it
 * returns GF_ENOMEM and leaks nothing. */
static void allocation_failures(void **state)
{
    (void)state;
    for (long k = 1; k < 40; k++) {
        gf_net *net = NULL;
        gf_tensor *x = NULL;
        gf_status st;
        tu_alloc_install(k);
        st = gf_net_new(&net, 4);
        if (st == GF_OK)
            st = gf_net_add_batchnorm(net, 1e-5, 0.1);
        if (st == GF_OK)
            st = gf_net_add_layernorm(net, 1e-5);
        if (st == GF_OK)
            st = gf_tensor_new(&x, 5, 4);
        if (st == GF_OK) {
            fill_smooth(x->data, 20, 1, 0);
            st = gf_net_forward(net, NULL, x);
        }
        assert_true(st == (tu_alloc.failed ? GF_ENOMEM : GF_OK));
        if (st != GF_OK)
            assert_true(gf_last_error()[0] != '\0');
        gf_tensor_free(x);
        gf_net_free(net);
        assert_int_equal(tu_alloc_live(), 0);
        tu_alloc_uninstall();
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(batchnorm_fields),
        cmocka_unit_test(batchnorm_training_backward_matches_central_differences),
        cmocka_unit_test(batchnorm_eval_backward_matches_central_differences),
        cmocka_unit_test(batchnorm_backward_accumulates),
        cmocka_unit_test(batchnorm_training_output_statistics),
        cmocka_unit_test(batchnorm_running_statistics),
        cmocka_unit_test(batchnorm_train_vs_eval),
        cmocka_unit_test(layernorm_backward_matches_central_differences),
        cmocka_unit_test(layernorm_rows_are_normalised),
        cmocka_unit_test(network_gradcheck_with_norms),
        cmocka_unit_test(reset_init_and_training),
        cmocka_unit_test(bad_arguments),
        cmocka_unit_test(bad_shapes_and_state),
        cmocka_unit_test(allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
