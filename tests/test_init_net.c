/* tests/test_init_net.c: initialisation, part of test_init (tests/test_init.h): whole
 * networks (every linear layer initialised), LSUV's unit output variance and the
 * batch-norm statistics it leaves alone, the default act_param of an MLP spec, and the
 * scheme suited to each row of the activation table. */
#include "test_init.h"

/* ---- Networks ------------------------------------------------------------------------ */

/* 6 -> linear 8 -> tanh -> linear 8 -> prelu -> linear 3. */
static gf_net *small_net(void)
{
    gf_net *net = NULL;
    assert_ok(gf_net_new(&net, 6));
    assert_ok(gf_net_add_linear(net, 8));
    assert_ok(gf_net_add_activation(net, "tanh"));
    assert_ok(gf_net_add_linear(net, 8));
    assert_ok(gf_net_add_prelu(net, 0.25));
    assert_ok(gf_net_add_linear(net, 3));
    return net;
}

void net_init_sets_every_linear_layer(void **state)
{
    (void)state;
    gf_net *net = small_net();
    gf_init init = gf_init_default(GF_INIT_CONSTANT);
    gf_rng rng;
    size_t linear = 0;
    gf_rng_seed(&rng, 9);
    init.value = 0.6;
    init.bias = 0.1;
    assert_ok(gf_net_init(net, &init, &rng));
    for (size_t i = 0; i < gf_net_layer_count(net); i++) {
        gf_layer *l = gf_net_layer_mut(net, i);
        assert_non_null(l);
        if (!l->is_parametric) {
            /* PReLU's slopes are not weights of an init scheme: left at 0.25. */
            for (size_t j = 0; j < gf_tensor_size(&l->weight); j++)
                assert_true(l->weight.data[j] == (gf_real)0.25);
            continue;
        }
        linear++;
        for (size_t j = 0; j < gf_tensor_size(&l->weight); j++)
            assert_true(l->weight.data[j] == (gf_real)0.6);
        assert_int_equal(gf_tensor_size(&l->bias), l->out);
        for (size_t j = 0; j < gf_tensor_size(&l->bias); j++)
            assert_true(l->bias.data[j] == (gf_real)0.1);
    }
    assert_int_equal(linear, 3);

    /* A random scheme: each layer gets its own draws, biases the given value. */
    init = gf_init_default(GF_INIT_XAVIER_UNIFORM);
    init.bias = -0.2;
    assert_ok(gf_net_init(net, &init, &rng));
    for (size_t i = 0; i < gf_net_layer_count(net); i++) {
        gf_layer *l = gf_net_layer_mut(net, i);
        double r = sqrt(6.0 / (double)(l->in + l->out));
        if (!l->is_parametric)
            continue;
        assert_true(stats_of(&l->weight).var > 0.0);
        for (size_t j = 0; j < gf_tensor_size(&l->weight); j++)
            assert_true(fabs((double)l->weight.data[j]) <= r * (1 + 1e-6));
        for (size_t j = 0; j < gf_tensor_size(&l->bias); j++)
            assert_true(l->bias.data[j] == (gf_real)-0.2);
    }
    /* Same seed, same network, bit for bit. */
    {
        gf_net *other = small_net();
        gf_rng_seed(&rng, 11);
        assert_ok(gf_net_init(net, &init, &rng));
        gf_rng_seed(&rng, 11);
        assert_ok(gf_net_init(other, &init, &rng));
        assert_int_equal(gf_net_param_count(net), gf_net_param_count(other));
        assert_memory_equal(gf_net_params(net), gf_net_params(other),
                            gf_net_param_count(net) * sizeof(gf_real));
        gf_net_free(other);
    }

    init.gain = 0.0;
    assert_status(gf_net_init(net, &init, &rng), GF_EINVAL);
    assert_error_mentions("gain");
    init.gain = 1.0;
    assert_status(gf_net_init(NULL, &init, &rng), GF_EINVAL);
    assert_status(gf_net_init(net, NULL, &rng), GF_EINVAL);
    assert_status(gf_net_init(net, &init, NULL), GF_EINVAL);
    assert_error_mentions("rng");
    gf_net_free(net);
}

/* Variance of all elements of t (population, as LSUV measures it). */
static double pop_var(const gf_tensor *t)
{
    stats s = stats_of(t);
    return s.var * (double)(s.n - 1) / (double)s.n;
}

void lsuv_gives_unit_output_variance(void **state)
{
    (void)state;
    static const double biases[] = {0.0, 0.3};
    const double tol = 0.02;
    gf_rng rng;
    gf_tensor *batch = tu_tensor(256, 16);
    gf_rng_seed(&rng, 12);
    /* Inputs with variance 9, so that the first layer really has to be rescaled. */
    for (size_t i = 0; i < gf_tensor_size(batch); i++)
        batch->data[i] = (gf_real)(3.0 * gf_rng_normal(&rng));
    for (size_t bi = 0; bi < 2; bi++) {
        gf_net *net = NULL;
        gf_init init = gf_init_default(GF_INIT_LSUV);
        size_t linear = 0;
        assert_ok(gf_net_new(&net, 16));
        assert_ok(gf_net_add_linear(net, 32));
        assert_ok(gf_net_add_activation(net, "tanh"));
        assert_ok(gf_net_add_linear(net, 32));
        assert_ok(gf_net_add_activation(net, "relu"));
        assert_ok(gf_net_add_linear(net, 24));
        assert_ok(gf_net_add_linear(net, 4));
        init.bias = biases[bi];
        assert_ok(gf_net_init_lsuv(net, &init, batch, tol, 10, &rng));
        assert_ok(gf_net_forward(net, NULL, batch));
        for (size_t i = 0; i < gf_net_layer_count(net); i++) {
            gf_layer *l = gf_net_layer_mut(net, i);
            double v;
            if (!l->is_parametric)
                continue;
            linear++;
            v = pop_var(gf_net_activation(net, i + 1));
            if (!(fabs(v - 1.0) < tol))
                fail_msg("bias %g, layer %zu: output variance %g", biases[bi], i, v);
            for (size_t j = 0; j < gf_tensor_size(&l->bias); j++)
                assert_true(l->bias.data[j] == (gf_real)biases[bi]);
            /* Still a scaled orthogonal matrix: W^T W (or W W^T) = c^2 I for some c. */
            {
                const gf_tensor *w = &l->weight;
                double c2 = 0.0;
                for (size_t j = 0; j < w->cols; j++)
                    c2 += (double)w->data[j] * w->data[j];
                if (w->rows > w->cols) {
                    c2 = 0.0;
                    for (size_t r = 0; r < w->rows; r++)
                        c2 += (double)w->data[r * w->cols] * w->data[r * w->cols];
                }
                check_orthogonal(w, sqrt(c2));
            }
        }
        assert_int_equal(linear, 4);
        gf_net_free(net);
    }
    gf_tensor_free(batch);
}

/* LSUV measures each layer's output on the batch in training mode, where batch norm
 * updates its running statistics: an initialisation must leave them as they were. */
void lsuv_leaves_batchnorm_running_statistics_alone(void **state)
{
    static const double mean[8] = {0.5, -1, 0, 2, 0.25, 3, -0.5, 1};
    static const double var[8] = {2, 0.5, 1, 4, 1.5, 0.25, 3, 1};
    gf_net *net = NULL;
    gf_init init = gf_init_default(GF_INIT_LSUV);
    gf_tensor *batch = tu_tensor(64, 5);
    const double *m, *v;
    size_t n;
    gf_rng rng;
    (void)state;
    gf_rng_seed(&rng, 21);
    tu_fill_uniform(batch, &rng, -2, 2);
    assert_ok(gf_net_new(&net, 5));
    assert_ok(gf_net_add_linear(net, 8));
    assert_ok(gf_net_add_batchnorm(net, 1e-5, 0.1));
    assert_ok(gf_net_add_activation(net, "relu"));
    assert_ok(gf_net_add_linear(net, 3));
    assert_ok(gf_batchnorm_set_running(gf_net_layer_mut(net, 1), mean, var, 8));
    assert_ok(gf_net_init_lsuv(net, &init, batch, 0.05, 10, &rng));
    assert_ok(gf_batchnorm_running(gf_net_layer(net, 1), &m, &v, &n));
    assert_int_equal(n, 8);
    assert_memory_equal(m, mean, sizeof mean);
    assert_memory_equal(v, var, sizeof var);
    /* And LSUV still did its work: the last layer's output has unit variance. */
    assert_ok(gf_net_forward(net, NULL, batch));
    assert_near(pop_var(gf_net_activation(net, 4)), 1.0, 0.05, 0);
    gf_net_free(net);
    gf_tensor_free(batch);
}

void lsuv_rejects_bad_arguments(void **state)
{
    (void)state;
    gf_net *net = small_net();
    gf_init init = gf_init_default(GF_INIT_LSUV);
    gf_tensor *batch = tu_tensor(32, 6);
    gf_tensor *wrong = tu_tensor(32, 5);
    gf_rng rng;
    gf_rng_seed(&rng, 13);
    tu_fill_uniform(batch, &rng, -1.0, 1.0);
    assert_status(gf_net_init_lsuv(net, &init, batch, 0.0, 5, &rng), GF_EINVAL);
    assert_error_mentions("tol");
    assert_status(gf_net_init_lsuv(net, &init, batch, -0.1, 5, &rng), GF_EINVAL);
    assert_status(gf_net_init_lsuv(net, &init, batch, NAN, 5, &rng), GF_EINVAL);
    assert_error_mentions("tol");
    assert_status(gf_net_init_lsuv(net, &init, batch, 0.1, 0, &rng), GF_EINVAL);
    assert_error_mentions("max_iter");
    assert_status(gf_net_init_lsuv(net, &init, wrong, 0.1, 5, &rng), GF_ESHAPE);
    assert_error_mentions("columns");
    assert_status(gf_net_init_lsuv(NULL, &init, batch, 0.1, 5, &rng), GF_EINVAL);
    assert_status(gf_net_init_lsuv(net, NULL, batch, 0.1, 5, &rng), GF_EINVAL);
    assert_status(gf_net_init_lsuv(net, &init, NULL, 0.1, 5, &rng), GF_EINVAL);
    assert_status(gf_net_init_lsuv(net, &init, batch, 0.1, 5, NULL), GF_EINVAL);
    init.gain = -1.0;
    assert_status(gf_net_init_lsuv(net, &init, batch, 0.1, 5, &rng), GF_EINVAL);
    assert_error_mentions("gain");
    init.gain = 1.0;
    /* An all-zero batch with zero bias: the first layer's output has no variance to
     * rescale. */
    assert_ok(gf_tensor_zero(batch));
    assert_status(gf_net_init_lsuv(net, &init, batch, 0.1, 5, &rng), GF_EINVAL);
    assert_error_mentions("variance");
    gf_tensor_free(batch);
    gf_tensor_free(wrong);
    gf_net_free(net);
}

/* Each activation's suited scheme: He with the slope its gain implies, Xavier with gain. */
/* gf_mlp_spec's act_param: designated initialisers leave it 0, which (like NaN) means
 * the activation's default (leaky slope 0.01, ELU alpha 1), not a slope of 0 that would
 * silently make leaky ReLU a plain ReLU; any other value is used as given. */
void mlp_spec_without_act_param_gives_the_default(void **state)
{
    static const struct {
        const char *act;
        double param, expected;
    } cases[] = {
        {"leaky_relu", 0.0, 0.01}, {"leaky_relu", NAN, 0.01}, {"leaky_relu", 0.2, 0.2},
        {"elu", 0.0, 1.0},         {"elu", 0.5, 0.5},         {"relu_leaky_backward", 0.0, 0.01},
        {"tanh", 0.0, 0.0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gf_net *net = NULL;
        gf_rng rng;
        gf_mlp_spec spec = {.in = 3, .width = 4, .depth = 3, .out = 2, .act = cases[i].act};
        gf_rng_seed(&rng, 5);
        if (!(cases[i].param == 0.0)) /* the 0.0 cases leave the field as {...} does */
            spec.act_param = cases[i].param;
        assert_ok(gf_net_new_mlp(&net, &spec, &rng));
        for (size_t j = 1; j < gf_net_layer_count(net); j += 2) {
            gf_layer *l = gf_net_layer_mut(net, j);
            assert_string_equal(gf_net_layer_kind(net, j), cases[i].act);
            if (!(l->act_param == (gf_real)cases[i].expected))
                fail_msg("%s with act_param %g: layer %zu has parameter %g, expected %g",
                         cases[i].act, cases[i].param, j, (double)l->act_param,
                         cases[i].expected);
        }
        gf_net_free(net);
    }
}

void suited_init_follows_the_activation_table(void **state)
{
    const gf_activation *act;
    gf_init init;
    (void)state;
    assert_ok(gf_activation_find(&act, "relu"));
    assert_ok(gf_init_suited(&init, act, NAN));
    assert_int_equal(init.kind, GF_INIT_HE_NORMAL);
    assert_near(init.slope, 0.0, 1e-7, 0);
    assert_ok(gf_activation_find(&act, "leaky_relu"));
    assert_ok(gf_init_suited(&init, act, 0.2));
    assert_int_equal(init.kind, GF_INIT_HE_NORMAL);
    assert_near(init.slope, 0.2, 1e-12, 0);
    assert_ok(gf_activation_find(&act, "tanh"));
    assert_ok(gf_init_suited(&init, act, NAN));
    assert_int_equal(init.kind, GF_INIT_XAVIER_NORMAL);
    assert_near(init.gain, 5.0 / 3.0, 1e-12, 0);
    assert_ok(gf_activation_find(&act, "sigmoid"));
    assert_ok(gf_init_suited(&init, act, NAN));
    assert_int_equal(init.kind, GF_INIT_XAVIER_NORMAL);
    assert_near(init.gain, 1.0, 1e-12, 0);
    assert_status(gf_init_suited(NULL, act, 0), GF_EINVAL);
    assert_status(gf_init_suited(&init, NULL, 0), GF_EINVAL);
    assert_status(gf_init_suited(&init, act, INFINITY), GF_EINVAL);
}
