/* tests/test_gradcheck.c: the public gradient check: it passes a correct network, fails
 * a wrong derivative where it sits, restores parameters bit for bit, leaves no trace in
 * the telemetry or in batch norm's running statistics, samples large tensors, and rejects
 * bad arguments. (Every layer and
 * activation is checked through it in test_net.c.) */
#include "testutil.h"

#include "gradflow.h"

static gf_status copy_forward(gf_layer *l, const gf_tensor *x, gf_tensor *y, int training)
{
    (void)l;
    (void)training;
    return gf_tensor_copy(y, x);
}

/* Claims f'(x) = 2 for f(x) = x. */
static gf_status doubling_backward(gf_layer *l, const gf_tensor *x, const gf_tensor *y,
                                   const gf_tensor *dy, gf_tensor *dx)
{
    (void)l;
    (void)x;
    (void)y;
    if (dx != NULL)
        for (size_t i = 0; i < dy->rows * dy->cols; i++)
            dx->data[i] += 2 * dy->data[i];
    return GF_OK;
}

static const gf_layer_ops broken_ops = {"broken", copy_forward, doubling_backward, NULL, NULL,
                                        NULL, NULL, NULL};

static gf_net *three_layers(int broken)
{
    gf_net *net = NULL;
    gf_rng rng;
    gf_layer l = {0};
    gf_init init = gf_init_default(GF_INIT_NORMAL);
    gf_rng_seed(&rng, 3);
    assert_ok(gf_net_new(&net, 3));
    assert_ok(gf_net_add_linear(net, 3));
    if (broken) {
        l.ops = &broken_ops;
        l.in = l.out = 3;
        assert_ok(gf_net_add_layer(net, &l));
    } else {
        assert_ok(gf_net_add_activation(net, "tanh"));
    }
    assert_ok(gf_net_add_linear(net, 2));
    init.bias = 0.2;
    assert_ok(gf_net_init(net, &init, &rng));
    return net;
}

static gf_tensor *filled(size_t rows, size_t cols, uint64_t seed)
{
    gf_rng rng;
    gf_tensor *t = tu_tensor(rows, cols);
    gf_rng_seed(&rng, seed);
    tu_fill_uniform(t, &rng, -1, 1);
    return t;
}

static void a_wrong_derivative_is_caught_where_it_is(void **state)
{
    gf_net *net = three_layers(1);
    gf_gradcheck_layer res[3];
    double worst = 0;
    gf_tensor *x = filled(2, 3, 4), *t = filled(2, 2, 5);
    (void)state;
    assert_ok(gf_net_gradcheck(net, res, &worst, x, t, GF_LOSS_MSE, NULL));
    assert_true(res[1].input_err > 0.3);   /* the broken layer itself */
    assert_true(res[0].param_err > 0.3);   /* and what sits below it */
    assert_true(res[2].param_err < 1e-2);  /* above it, all is well */
    assert_true(res[2].input_err < 1e-2);
    assert_true(worst > 0.3);
    gf_tensor_free(x);
    gf_tensor_free(t);
    gf_net_free(net);
}

static void a_correct_network_passes_and_is_left_as_it_was(void **state)
{
    gf_net *net = three_layers(0);
    gf_gradcheck_layer res[3];
    double worst = 1;
    gf_tensor *x = filled(4, 3, 4), *t = filled(4, 2, 5);
    size_t n = gf_net_param_count(net);
    gf_real *before = malloc(n * sizeof(gf_real));
    (void)state;
    memcpy(before, gf_net_params(net), n * sizeof(gf_real));
    gf_net_set_input_grad(net, 0);
    assert_ok(gf_net_gradcheck(net, res, &worst, x, t, GF_LOSS_MSE, NULL));
#if GF_REAL_IS_DOUBLE
    assert_true(worst < 1e-6);
#else
    assert_true(worst < 2e-2);
#endif
    for (size_t i = 0; i < 3; i++)
        assert_true(res[i].grad_norm > 1e-3);
    assert_true(isnan(res[1].param_err)); /* tanh has no parameters */
    /* Parameters bit for bit, the user's setting, no step, no records. */
    assert_memory_equal(before, gf_net_params(net), n * sizeof(gf_real));
    assert_int_equal(gf_net_input_grad(net), 0);
    assert_int_equal(gf_net_step_count(net), 0);
    assert_int_equal(gf_telemetry_count(gf_net_telemetry(net)), 0);
    /* The gradients are the analytic ones: a fresh backward pass gives the same. */
    gf_real *g = malloc(n * sizeof(gf_real));
    memcpy(g, gf_net_grads(net), n * sizeof(gf_real));
    assert_ok(gf_net_forward(net, NULL, x));
    assert_ok(gf_net_loss(net, NULL, t, GF_LOSS_MSE));
    assert_ok(gf_net_backward(net));
    assert_memory_equal(g, gf_net_grads(net), n * sizeof(gf_real));
    free(g);
    free(before);
    gf_tensor_free(x);
    gf_tensor_free(t);
    gf_net_free(net);
}

static void large_tensors_are_sampled(void **state)
{
    gf_net *net = NULL;
    gf_rng rng;
    gf_gradcheck_layer res[2];
    gf_gradcheck_options opt = {0, 0, 10};
    (void)state;
    gf_rng_seed(&rng, 1);
    assert_ok(gf_net_new(&net, 40));
    assert_ok(gf_net_add_linear(net, 30));
    assert_ok(gf_net_add_activation(net, "sigmoid"));
    gf_init init = gf_init_default(GF_INIT_XAVIER_NORMAL);
    assert_ok(gf_net_init(net, &init, &rng));
    gf_tensor *x = filled(3, 40, 1), *t = filled(3, 30, 2);
    assert_ok(gf_net_gradcheck(net, res, NULL, x, t, GF_LOSS_MSE, &opt));
    /* 1230 parameters and 120 inputs, at most 10 of each per tensor. */
    assert_true(res[0].checked <= 20);
    assert_true(res[0].checked >= 10);
    gf_tensor_free(x);
    gf_tensor_free(t);
    gf_net_free(net);
}

static void bad_arguments_are_refused(void **state)
{
    gf_net *net = three_layers(0), *empty = NULL;
    gf_gradcheck_layer res[3];
    gf_gradcheck_options bad = {-1, 0, 0};
    gf_tensor *x = filled(2, 3, 1), *t = filled(2, 2, 2), *wrong = filled(2, 4, 3);
    (void)state;
    assert_status(gf_net_gradcheck(NULL, res, NULL, x, t, GF_LOSS_MSE, NULL), GF_EINVAL);
    assert_status(gf_net_gradcheck(net, res, NULL, NULL, t, GF_LOSS_MSE, NULL), GF_EINVAL);
    assert_status(gf_net_gradcheck(net, res, NULL, x, NULL, GF_LOSS_MSE, NULL), GF_EINVAL);
    assert_status(gf_net_gradcheck(net, NULL, NULL, x, t, GF_LOSS_MSE, NULL), GF_EINVAL);
    assert_status(gf_net_gradcheck(net, res, NULL, x, t, GF_LOSS_MSE, &bad), GF_EINVAL);
    bad.h = NAN;
    assert_status(gf_net_gradcheck(net, res, NULL, x, t, GF_LOSS_MSE, &bad), GF_EINVAL);
    assert_status(gf_net_gradcheck(net, res, NULL, wrong, t, GF_LOSS_MSE, NULL), GF_ESHAPE);
    assert_status(gf_net_gradcheck(net, res, NULL, x, wrong, GF_LOSS_MSE, NULL), GF_ESHAPE);
    assert_status(gf_net_gradcheck(net, res, NULL, x, t, (gf_loss_kind)42, NULL), GF_EINVAL);
    assert_int_equal(gf_net_step_count(net), 0);
    assert_ok(gf_net_new(&empty, 3));
    assert_status(gf_net_gradcheck(empty, res, NULL, x, t, GF_LOSS_MSE, NULL), GF_ESTATE);
    gf_net_free(empty);
    gf_tensor_free(x);
    gf_tensor_free(t);
    gf_tensor_free(wrong);
    gf_net_free(net);
}

/* The check runs its passes in training mode (the backward pass it checks is training
 * mode's), where batch norm updates its running statistics: after the check they must
 * be what they were, bit for bit, or a check would change what gf_net_predict gives. */
static void batchnorm_running_statistics_are_left_as_they_were(void **state)
{
    static const double mean[4] = {0.5, -0.25, 1.0, 2.0}, var[4] = {2.0, 0.5, 1.5, 3.0};
    gf_net *net = NULL;
    gf_rng rng;
    gf_gradcheck_layer res[4];
    gf_init init = gf_init_default(GF_INIT_NORMAL);
    const double *m, *v;
    size_t n;
    double worst = 1;
    gf_tensor *x = filled(6, 3, 7), *t = filled(6, 2, 8);
    (void)state;
    gf_rng_seed(&rng, 9);
    assert_ok(gf_net_new(&net, 3));
    assert_ok(gf_net_add_linear(net, 4));
    assert_ok(gf_net_add_batchnorm(net, 1e-5, 0.1));
    assert_ok(gf_net_add_activation(net, "tanh"));
    assert_ok(gf_net_add_linear(net, 2));
    assert_ok(gf_net_init(net, &init, &rng));
    assert_ok(gf_batchnorm_set_running(gf_net_layer_mut(net, 1), mean, var, 4));
    assert_ok(gf_net_gradcheck(net, res, &worst, x, t, GF_LOSS_MSE, NULL));
#if GF_REAL_IS_DOUBLE
    assert_true(worst < 1e-5);
#else
    assert_true(worst < 5e-2);
#endif
    assert_ok(gf_batchnorm_running(gf_net_layer(net, 1), &m, &v, &n));
    assert_int_equal(n, 4);
    assert_memory_equal(m, mean, sizeof mean);
    assert_memory_equal(v, var, sizeof var);
    gf_tensor_free(x);
    gf_tensor_free(t);
    gf_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_wrong_derivative_is_caught_where_it_is),
        cmocka_unit_test(a_correct_network_passes_and_is_left_as_it_was),
        cmocka_unit_test(large_tensors_are_sampled),
        cmocka_unit_test(bad_arguments_are_refused),
        cmocka_unit_test(batchnorm_running_statistics_are_left_as_they_were),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
