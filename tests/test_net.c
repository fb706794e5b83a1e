/* tests/test_net.c: the network and its engine, in two sources (tests/test_net.h): here
 * the helpers, building, shapes, forward/backward against finite differences (via
 * gf_net_gradcheck and by hand) and bad input; test_net_training.c: training,
 * telemetry, clipping and update ratios, non-finite detection, allocation-free steady
 * steps, the fast variants against their references. main, at the end, runs them all. */
#include <stdint.h>

#include "test_net.h"

/* Gradient-check tolerance for whole networks: see testutil.h for the reasoning; a
 * network compounds a few more roundings than one layer, hence the factor. */
#if GF_REAL_IS_DOUBLE
#define NET_FD_TOL 1e-5
#else
#define NET_FD_TOL 5e-2
#endif

gf_net *mlp(size_t in, size_t width, size_t depth, size_t out, const char *act,
            uint64_t seed)
{
    gf_rng rng;
    gf_net *net = NULL;
    gf_mlp_spec spec = {in, width, depth, out, act, NAN, NULL};
    gf_rng_seed(&rng, seed);
    assert_ok(gf_net_new_mlp(&net, &spec, &rng));
    return net;
}

gf_tensor *random_tensor(size_t rows, size_t cols, uint64_t seed)
{
    gf_rng rng;
    gf_tensor *t = tu_tensor(rows, cols);
    gf_rng_seed(&rng, seed);
    for (size_t i = 0; i < rows * cols; i++)
        t->data[i] = (gf_real)gf_rng_normal(&rng);
    return t;
}

/* Class-index targets 0..classes-1 as a (rows, 1) tensor. */
gf_tensor *class_targets(size_t rows, size_t classes)
{
    gf_tensor *t = tu_tensor(rows, 1);
    for (size_t i = 0; i < rows; i++)
        t->data[i] = (gf_real)(i % classes);
    return t;
}

/* ---- Building -------------------------------------------------------------------- */

static void builds_layers_with_params_in_one_block(void **state)
{
    gf_net *net = NULL;
    (void)state;
    assert_ok(gf_net_new(&net, 5));
    assert_ok(gf_net_add_linear(net, 4));
    assert_ok(gf_net_add_activation(net, "tanh"));
    assert_ok(gf_net_add_linear(net, 3));
    assert_ok(gf_net_add_prelu(net, 0.25));
    assert_int_equal(gf_net_layer_count(net), 4);
    assert_int_equal(gf_net_out_features(net), 3);
    assert_int_equal(gf_net_param_count(net), 5 * 4 + 4 + 4 * 3 + 3 + 3);
    /* Every parameter view lies inside the one block, in order, with no gaps. */
    gf_real *block = gf_net_params_mut(net);
    gf_real *grads = gf_net_grads_mut(net);
    gf_layer *l0 = gf_net_layer_mut(net, 0), *l2 = gf_net_layer_mut(net, 2);
    gf_layer *l3 = gf_net_layer_mut(net, 3);
    assert_ptr_equal(l0->weight.data, block);
    assert_ptr_equal(l0->bias.data, block + 20);
    assert_ptr_equal(l2->weight.data, block + 24);
    assert_ptr_equal(l2->dweight.data, grads + 24);
    assert_ptr_equal(l3->weight.data, block + 24 + 15);
    /* PReLU's slopes start where it was told. */
    for (size_t j = 0; j < 3; j++)
        assert_close(l3->weight.data[j], 0.25);
    assert_string_equal(gf_net_layer_kind(net, 1), "tanh");
    assert_string_equal(gf_net_layer_kind(net, 0), "linear");
    assert_null(gf_net_layer(net, 4));
    gf_net_free(net);
}

/* The parameter, gradient and activation blocks start on a 64-byte boundary, where the
 * vector loops read them a cache line at a time (src/core/internal.h). Blocks this large
 * come from mmap in glibc's malloc, 16 bytes past a page boundary: without the alignment
 * none of them would be on one. */
static void blocks_start_on_a_cache_line(void **state)
{
    gf_mlp_spec spec = {.in = 64, .width = 256, .depth = 3, .out = 10, .act = "relu",
                        .act_param = NAN};
    gf_net *net = NULL;
    gf_tensor *x = NULL, *t = NULL;
    const gf_tensor *y;
    double loss;
    gf_rng rng;
    (void)state;
    gf_rng_seed(&rng, 5);
    assert_ok(gf_net_new_mlp(&net, &spec, &rng));
    assert_ok(gf_tensor_new(&x, 128, 64));
    assert_ok(gf_tensor_new(&t, 128, 10));
    assert_ok(gf_net_forward(net, &y, x));
    assert_ok(gf_net_loss(net, &loss, t, GF_LOSS_MSE));
    assert_ok(gf_net_backward(net));
    assert_int_equal((uintptr_t)gf_net_params(net) % 64, 0);
    assert_int_equal((uintptr_t)gf_net_grads(net) % 64, 0);
    for (size_t i = 0; i <= gf_net_layer_count(net); i++) {
        assert_int_equal((uintptr_t)gf_net_activation(net, i)->data % 64, 0);
        if (i > 0) /* dL/dx of the input is not taken unless asked for */
            assert_int_equal((uintptr_t)gf_net_activation_grad(net, i)->data % 64, 0);
    }
    gf_tensor_free(x);
    gf_tensor_free(t);
    gf_net_free(net);
}

static void mlp_uses_the_activations_suited_init(void **state)
{
    (void)state;
    /* ReLU gets He: weight variance 2/fan_in. 256 x 256 weights: the sample variance's
     * relative standard error is sqrt(2/65536) = 0.6%; 5% is over 8 of them. */
    gf_net *net = mlp(256, 256, 3, 10, "relu", 1);
    gf_layer *l = gf_net_layer_mut(net, 2);
    double v = gf_array_sumsq(l->weight.data, 256 * 256) / (256.0 * 256.0);
    assert_near(v, 2.0 / 256, 0, 0.05);
    assert_int_equal(gf_tensor_norm_max(&l->bias), 0);
    gf_net_free(net);
    /* tanh gets Xavier with gain 5/3: variance (25/9) 2/(256+256). */
    net = mlp(256, 256, 3, 10, "tanh", 1);
    l = gf_net_layer_mut(net, 2);
    v = gf_array_sumsq(l->weight.data, 256 * 256) / (256.0 * 256.0);
    assert_near(v, 25.0 / 9.0 * 2.0 / 512, 0, 0.05);
    gf_net_free(net);
}

static void rejects_bad_construction(void **state)
{
    gf_net *net = NULL;
    gf_rng rng;
    gf_mlp_spec spec = {4, 8, 3, 2, "relu", NAN, NULL};
    (void)state;
    gf_rng_seed(&rng, 1);
    assert_status(gf_net_new(NULL, 3), GF_EINVAL);
    assert_status(gf_net_new(&net, 0), GF_EINVAL);
    assert_null(net);
    assert_ok(gf_net_new(&net, 3));
    assert_status(gf_net_add_linear(net, 0), GF_EINVAL);
    assert_status(gf_net_add_activation(net, "sigmoidd"), GF_ENOTFOUND);
    assert_error_mentions("sigmoid");
    assert_status(gf_net_add_activation(net, NULL), GF_EINVAL);
    assert_status(gf_net_add_activation_param(net, "leaky_relu", NAN), GF_EINVAL);
    assert_status(gf_net_add_prelu(net, INFINITY), GF_EINVAL);
    assert_status(gf_net_add_linear(NULL, 3), GF_EINVAL);
    /* A layer whose input width does not match is refused and its state released. */
    gf_layer l;
    assert_ok(gf_layer_linear(&l, 7, 2));
    assert_status(gf_net_add_layer(net, &l), GF_ESHAPE);
    assert_error_mentions("7");
    assert_int_equal(gf_net_layer_count(net), 0);
    /* Forward before any layer. */
    gf_tensor *x = random_tensor(2, 3, 1);
    assert_status(gf_net_forward(net, NULL, x), GF_ESTATE);
    gf_net_free(net);
    gf_tensor_free(x);

    assert_status(gf_net_new_mlp(&net, NULL, &rng), GF_EINVAL);
    assert_status(gf_net_new_mlp(&net, &spec, NULL), GF_EINVAL);
    spec.depth = 0;
    assert_status(gf_net_new_mlp(&net, &spec, &rng), GF_EINVAL);
    spec.depth = 3;
    spec.act = "nope";
    assert_status(gf_net_new_mlp(&net, &spec, &rng), GF_ENOTFOUND);
    spec.act = "relu";
    gf_init bad = gf_init_default(GF_INIT_NORMAL);
    bad.std = -1;
    spec.init = &bad;
    assert_status(gf_net_new_mlp(&net, &spec, &rng), GF_EINVAL);
    assert_null(net);
    gf_net_free(NULL);
}

static void rejects_bad_calls_in_training(void **state)
{
    gf_net *net = mlp(4, 6, 2, 3, "tanh", 2);
    gf_tensor *x = random_tensor(5, 4, 3);
    gf_tensor *wrong = random_tensor(5, 3, 3);
    gf_tensor *t = class_targets(5, 3);
    gf_optim *opt = NULL;
    gf_optim_config cfg = gf_optim_default(GF_OPTIM_SGD);
    gf_clip clip = {GF_CLIP_NORM, 1.0};
    (void)state;
    assert_ok(gf_optim_new(&opt, &cfg, gf_net_param_count(net)));
    assert_status(gf_net_backward(net), GF_ESTATE);
    assert_status(gf_net_loss(net, NULL, t, GF_LOSS_MSE), GF_ESTATE);
    assert_status(gf_net_step(net, opt), GF_ESTATE);
    assert_status(gf_net_forward(net, NULL, wrong), GF_ESHAPE);
    assert_error_mentions("3 columns");
    assert_error_mentions("expects 4");
    assert_status(gf_net_forward(NULL, NULL, x), GF_EINVAL);
    assert_status(gf_net_forward(net, NULL, NULL), GF_EINVAL);
    assert_ok(gf_net_forward(net, NULL, x));
    assert_status(gf_net_loss(net, NULL, t, GF_LOSS_MSE), GF_ESHAPE);
    assert_status(gf_net_backward_from(net, x), GF_ESHAPE);
    assert_ok(gf_net_loss(net, NULL, t, GF_LOSS_SOFTMAX_CE));
    assert_status(gf_net_clip(net, NULL, &clip), GF_ESTATE);
    assert_ok(gf_net_backward(net));
    clip.threshold = -1;
    assert_status(gf_net_clip(net, NULL, &clip), GF_EINVAL);
    clip.threshold = NAN;
    assert_status(gf_net_clip(net, NULL, &clip), GF_EINVAL);
    clip.kind = (gf_clip_kind)99;
    assert_status(gf_net_clip(net, NULL, &clip), GF_EINVAL);
    assert_ok(gf_net_step(net, opt));
    /* One step per backward pass. */
    assert_status(gf_net_step(net, opt), GF_ESTATE);
    assert_status(gf_net_set_record_every(net, 0), GF_EINVAL);
    /* An optimiser sized for another network. */
    gf_optim *other = NULL;
    assert_ok(gf_optim_new(&other, &cfg, 3));
    assert_ok(gf_net_train_step(net, NULL, x, t, opt, GF_LOSS_SOFTMAX_CE, NULL));
    assert_status(gf_net_train_step(net, NULL, x, t, other, GF_LOSS_SOFTMAX_CE, NULL), GF_ESHAPE);
    gf_optim_free(other);
    gf_optim_free(opt);
    gf_tensor_free(x);
    gf_tensor_free(wrong);
    gf_tensor_free(t);
    gf_net_free(net);
}

/* ---- Gradients ------------------------------------------------------------------- */

/* Targets suited to each loss, for a (rows, 3) output. */
static gf_tensor *targets_for(gf_loss_kind loss, size_t rows)
{
    if (loss == GF_LOSS_SOFTMAX_CE)
        return class_targets(rows, 3);
    gf_tensor *t = random_tensor(rows, 3, 12);
    if (loss == GF_LOSS_BCE_LOGITS)
        for (size_t i = 0; i < rows * 3; i++)
            t->data[i] = (gf_real)((i % 3) / 2.0);
    return t;
}

/* Gradient-check net and assert every layer passes with non-zero gradients. */
static void assert_gradcheck_passes(gf_net *net, gf_loss_kind loss)
{
    gf_gradcheck_layer res[64];
    double worst = -1;
    gf_tensor *x = random_tensor(4, gf_net_in_features(net), 11);
    gf_tensor *t = targets_for(loss, 4);
    assert_true(gf_net_layer_count(net) <= 64);
    assert_ok(gf_net_gradcheck(net, res, &worst, x, t, loss, NULL));
    for (size_t i = 0; i < gf_net_layer_count(net) && !(worst < NET_FD_TOL); i++)
        print_message("loss %d layer %zu (%s): param err %.3g, input err %.3g\n", (int)loss,
                      i, gf_net_layer_kind(net, i), res[i].param_err, res[i].input_err);
    assert_true(worst >= 0);
    assert_true(worst < NET_FD_TOL);
    for (size_t i = 0; i < gf_net_layer_count(net); i++) {
        assert_true(res[i].checked > 0);
        assert_true(res[i].grad_norm > 1e-6); /* never passes on all zeros */
        assert_true(res[i].input_err < NET_FD_TOL);
    }
    /* The check is not a training step. */
    assert_int_equal(gf_net_step_count(net), 0);
    assert_int_equal(gf_telemetry_count(gf_net_telemetry(net)), 0);
    gf_tensor_free(x);
    gf_tensor_free(t);
}

/* Smallest |value| entering any activation or PReLU layer for input x: central
 * differences are only meaningful where no perturbation carries a value across a kink
 * (ReLU, abs, PReLU at 0), so the test keeps these well clear, as layer tests keep
 * their inputs off kinks. */
static double kink_clearance(gf_net *net, const gf_tensor *x)
{
    double m = INFINITY;
    assert_ok(gf_net_forward(net, NULL, x));
    for (size_t i = 0; i < gf_net_layer_count(net); i++) {
        const char *kind = gf_net_layer_kind(net, i);
        /* The layers whose derivative jumps at 0. */
        if (strcmp(kind, "relu") != 0 && strcmp(kind, "leaky_relu") != 0 &&
            strcmp(kind, "abs") != 0 && strcmp(kind, "prelu") != 0)
            continue;
        const gf_tensor *in = gf_net_activation(net, i);
        for (size_t k = 0; k < gf_tensor_size(in); k++)
            m = fmin(m, fabs((double)in->data[k]));
    }
    return m;
}

/* Clearance that many steps h (1e-5 in double, 1e-3 in float) wide. */
#if GF_REAL_IS_DOUBLE
#define KINK_MARGIN 1e-3
#else
#define KINK_MARGIN 2e-2
#endif

/* Every activation of the table, in a short network, for every loss. */
static void each_activation_network_matches_central_differences(void **state)
{
    (void)state;
    for (size_t a = 0; a < gf_activation_count(); a++) {
        const char *act = gf_activation_at(a)->name;
        if (gf_activation_at(a)->surrogate)
            continue; /* passes back a chosen slope, not f': see test_act */
        for (int loss = 0; loss < GF_LOSS_COUNT; loss++) {
            gf_net *net = NULL;
            int clear = 0;
            for (uint64_t seed = 1; seed < 500 && !clear; seed++) {
                gf_rng rng;
                gf_init init = gf_init_default(GF_INIT_XAVIER_NORMAL);
                gf_net_free(net);
                gf_rng_seed(&rng, seed);
                assert_ok(gf_net_new(&net, 5));
                assert_ok(gf_net_add_linear(net, 6));
                assert_ok(gf_net_add_activation(net, act));
                assert_ok(gf_net_add_linear(net, 6));
                /* PReLU after a linear layer: after ReLU it would sit on its own kink. */
                assert_ok(gf_net_add_prelu(net, 0.2));
                assert_ok(gf_net_add_linear(net, 6));
                assert_ok(gf_net_add_activation(net, act));
                assert_ok(gf_net_add_linear(net, 3));
                init.bias = 0.1;
                assert_ok(gf_net_init(net, &init, &rng));
                gf_tensor *x = random_tensor(4, 5, 11);
                clear = kink_clearance(net, x) > KINK_MARGIN;
                gf_tensor_free(x);
            }
            if (!clear)
                print_message("no clear seed for %s\n", act);
            assert_true(clear);
            assert_gradcheck_passes(net, (gf_loss_kind)loss);
            gf_net_free(net);
        }
    }
}

/* A deep network mixing every kind of layer. Only in the double build: in float, 20
 * layers of forward rounding are as large as the loss difference a step of 1e-2 makes,
 * so central differences there measure noise, not the gradient. */
static void deep_mixed_network_matches_central_differences(void **state)
{
    (void)state;
#if GF_REAL_IS_DOUBLE
    for (int loss = 0; loss < GF_LOSS_COUNT; loss++) {
        gf_net *net = NULL;
        gf_rng rng;
        gf_init init = gf_init_default(GF_INIT_XAVIER_NORMAL);
        gf_rng_seed(&rng, 7 + (uint64_t)loss);
        assert_ok(gf_net_new(&net, 5));
        for (size_t a = 0; a < gf_activation_count(); a++) {
            if (gf_activation_at(a)->surrogate)
                continue;
            assert_ok(gf_net_add_linear(net, 6));
            assert_ok(gf_net_add_activation(net, gf_activation_at(a)->name));
        }
        assert_ok(gf_net_add_linear(net, 6));
        assert_ok(gf_net_add_prelu(net, 0.2));
        assert_ok(gf_net_add_linear(net, 3));
        init.bias = 0.1;
        assert_ok(gf_net_init(net, &init, &rng));
        assert_gradcheck_passes(net, (gf_loss_kind)loss);
        gf_net_free(net);
    }
#else
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(builds_layers_with_params_in_one_block),
        cmocka_unit_test(blocks_start_on_a_cache_line),
        cmocka_unit_test(mlp_uses_the_activations_suited_init),
        cmocka_unit_test(rejects_bad_construction),
        cmocka_unit_test(rejects_bad_calls_in_training),
        cmocka_unit_test(each_activation_network_matches_central_differences),
        cmocka_unit_test(deep_mixed_network_matches_central_differences),
        cmocka_unit_test(training_reduces_the_loss),
        cmocka_unit_test(every_backward_pass_records_every_layer),
        cmocka_unit_test(the_step_applies_the_optimisers_update),
        cmocka_unit_test(a_tiny_update_keeps_its_ratio),
        cmocka_unit_test(train_step_records_what_separate_calls_record),
        cmocka_unit_test(clipping_is_recorded_before_and_after),
        cmocka_unit_test(nonfinite_values_are_located_and_stop_the_step),
        cmocka_unit_test(fast_update_agrees_with_its_reference),
        cmocka_unit_test(update_takes_the_parameters_norm_on_the_way),
        cmocka_unit_test(records_agree_with_the_record_pass),
        cmocka_unit_test(steady_training_allocates_nothing),
        cmocka_unit_test(allocation_failures_leave_nothing_behind),
        cmocka_unit_test(telemetry_csv_has_the_documented_columns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
