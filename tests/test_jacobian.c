/* tests/test_jacobian.c: the input-output Jacobian of a network and its singular values.
 * An orthogonal linear net of depth L and gain g has J J^T = g^{2L} I and every singular
 * value g^L; a tanh net's Jacobian against central differences of gf_net_predict; the
 * chain rule across a split of the layers; the network's state left as it was; known
 * singular values; in a build without LAPACK, GF_EUNSUPPORTED; bad arguments. */
#include "testutil.h"

#include "gradflow.h"
#include "gradflow/jacobian.h"

/* A linear net of `depth` (n, n) layers with identity activations between them,
 * orthogonal weights of gain g and zero biases. */
static gf_net *orthogonal_net(size_t n, size_t depth, double gain, uint64_t seed)
{
    gf_net *net = NULL;
    gf_rng rng;
    gf_init init = gf_init_default(GF_INIT_ORTHOGONAL);
    init.gain = gain;
    gf_rng_seed(&rng, seed);
    assert_ok(gf_net_new(&net, n));
    for (size_t l = 0; l < depth; l++) {
        assert_ok(gf_net_add_linear(net, n));
        if (l + 1 < depth)
            assert_ok(gf_net_add_activation(net, "identity"));
    }
    assert_ok(gf_net_init(net, &init, &rng));
    return net;
}

/* Tolerance of a product of `depth` matrices in gf_real, relative to its scale. */
static double product_tol(size_t depth) { return 20.0 * (double)depth * TU_EPS; }

static void orthogonal_linear_net_is_an_isometry_times_gain(void **state)
{
    const size_t n = 12, depth = 5, batch = 3;
    const double gain = 1.2, expect = pow(gain, (double)depth);
    gf_net *net = orthogonal_net(n, depth, gain, 7);
    size_t layers = gf_net_layer_count(net);
    gf_tensor *x = tu_tensor(batch, n), *jac = tu_tensor(batch * n, n);
    gf_rng rng;
    (void)state;
    gf_rng_seed(&rng, 3);
    tu_fill_uniform(x, &rng, -1, 1);
    assert_ok(gf_net_jacobian(net, jac, x, 0, layers - 1));
    /* J J^T = g^{2L} I for every row of the batch: a closed form that needs no SVD. */
    for (size_t b = 0; b < batch; b++)
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < n; k++) {
                double dot = 0;
                for (size_t j = 0; j < n; j++)
                    dot += (double)jac->data[(b * n + i) * n + j] *
                           (double)jac->data[(b * n + k) * n + j];
                assert_near(dot, i == k ? expect * expect : 0, product_tol(depth) * expect * expect,
                            0);
            }
    if (gf_jacobian_have_lapack()) {
        gf_tensor *sv = tu_tensor(batch, n);
        assert_ok(gf_net_jacobian_singular_values(net, sv, x, 0, layers - 1));
        for (size_t i = 0; i < batch * n; i++)
            assert_near(sv->data[i], expect, 0, product_tol(depth));
        /* One layer of the range: every singular value is the gain. */
        gf_tensor *sv1 = tu_tensor(batch, n);
        assert_ok(gf_net_jacobian_singular_values(net, sv1, x, 2, 2));
        for (size_t i = 0; i < batch * n; i++)
            assert_near(sv1->data[i], gain, 0, product_tol(1));
        gf_tensor_free(sv1);
        gf_tensor_free(sv);
    }
    gf_tensor_free(jac);
    gf_tensor_free(x);
    gf_net_free(net);
}

/* A small tanh MLP (5 -> 7 -> 7 -> 4). */
static gf_net *tanh_net(uint64_t seed)
{
    gf_net *net = NULL;
    gf_rng rng;
    gf_mlp_spec spec = {.in = 5, .width = 7, .depth = 3, .out = 4, .act = "tanh"};
    gf_rng_seed(&rng, seed);
    assert_ok(gf_net_new_mlp(&net, &spec, &rng));
    return net;
}

static void tanh_jacobian_matches_central_differences(void **state)
{
    const size_t batch = 3, in = 5, out = 4;
    gf_net *net = tanh_net(11);
    gf_tensor *x = tu_tensor(batch, in), *jac = tu_tensor(batch * out, in);
    const gf_tensor *y;
    gf_rng rng;
    double norm = 0;
    (void)state;
    gf_rng_seed(&rng, 5);
    tu_fill_uniform(x, &rng, -1.5, 1.5);
    assert_ok(gf_net_jacobian(net, jac, x, 0, gf_net_layer_count(net) - 1));
    for (size_t b = 0; b < batch; b++)
        for (size_t j = 0; j < in; j++) {
            gf_real saved = x->data[b * in + j];
            double plus[4], minus[4], step;
            x->data[b * in + j] = (gf_real)(saved + TU_FD_H);
            assert_ok(gf_net_predict(net, &y, x));
            for (size_t k = 0; k < out; k++)
                plus[k] = y->data[b * out + k];
            x->data[b * in + j] = (gf_real)(saved - TU_FD_H);
            assert_ok(gf_net_predict(net, &y, x));
            for (size_t k = 0; k < out; k++)
                minus[k] = y->data[b * out + k];
            step = (double)(gf_real)(saved + TU_FD_H) - (double)(gf_real)(saved - TU_FD_H);
            x->data[b * in + j] = saved;
            for (size_t k = 0; k < out; k++) {
                double num = (plus[k] - minus[k]) / step;
                double got = jac->data[(b * out + k) * in + j];
                assert_near(got, num, TU_FD_ABS, TU_FD_REL);
                norm += got * got;
            }
        }
    assert_true(sqrt(norm) > 0.1); /* never passes on all zeros */
    gf_tensor_free(jac);
    gf_tensor_free(x);
    gf_net_free(net);
}

/* J(0..n-1) = J(k..n-1) J(0..k-1), row by row of the batch. */
static void ranges_compose_by_the_chain_rule(void **state)
{
    const size_t batch = 2, in = 5, out = 4, mid = 7;
    gf_net *net = tanh_net(13);
    size_t n = gf_net_layer_count(net), k = 2; /* after linear, tanh: width 7 */
    gf_tensor *x = tu_tensor(batch, in), *all = tu_tensor(batch * out, in);
    gf_tensor *top = tu_tensor(batch * out, mid), *bottom = tu_tensor(batch * mid, in);
    gf_rng rng;
    (void)state;
    assert_int_equal(gf_net_layer(net, k)->in, mid);
    gf_rng_seed(&rng, 9);
    tu_fill_uniform(x, &rng, -1, 1);
    assert_ok(gf_net_jacobian(net, all, x, 0, n - 1));
    assert_ok(gf_net_jacobian(net, top, x, k, n - 1));
    assert_ok(gf_net_jacobian(net, bottom, x, 0, k - 1));
    for (size_t b = 0; b < batch; b++)
        for (size_t i = 0; i < out; i++)
            for (size_t j = 0; j < in; j++) {
                double v = 0;
                for (size_t m = 0; m < mid; m++)
                    v += (double)top->data[(b * out + i) * mid + m] *
                         (double)bottom->data[(b * mid + m) * in + j];
                assert_near(all->data[(b * out + i) * in + j], v, 50 * TU_EPS, 50 * TU_EPS);
            }
    gf_tensor_free(bottom);
    gf_tensor_free(top);
    gf_tensor_free(all);
    gf_tensor_free(x);
    gf_net_free(net);
}

/* After forward, loss and backward on a batch-norm net, a Jacobian on other points
 * leaves the step count, telemetry, gradients, running statistics and the last forward
 * pass as they were, and the pending step applies the same update. */
static void network_state_is_left_as_found(void **state)
{
    const size_t batch = 6, in = 5;
    gf_net *net = NULL;
    gf_tensor *x = tu_tensor(batch, in), *probe = tu_tensor(2, in), *target = tu_tensor(batch, 3);
    gf_tensor *jac = tu_tensor(2 * 3, in);
    const gf_tensor *y;
    gf_rng rng;
    gf_init init = gf_init_default(GF_INIT_XAVIER_NORMAL);
    const double *mean, *var;
    double mean0[8], var0[8], loss0, loss1;
    size_t nbn, np, records;
    uint64_t step;
    gf_real *grads0, *out0;
    (void)state;
    gf_rng_seed(&rng, 21);
    assert_ok(gf_net_new(&net, in));
    assert_ok(gf_net_add_linear(net, 8));
    assert_ok(gf_net_add_batchnorm(net, 1e-5, 0.1));
    assert_ok(gf_net_add_activation(net, "tanh"));
    assert_ok(gf_net_add_linear(net, 3));
    assert_ok(gf_net_init(net, &init, &rng));
    tu_fill_uniform(x, &rng, -1, 1);
    tu_fill_uniform(probe, &rng, -1, 1);
    tu_fill_uniform(target, &rng, -1, 1);
    assert_ok(gf_net_forward(net, &y, x));
    assert_ok(gf_net_loss(net, &loss0, target, GF_LOSS_MSE));
    assert_ok(gf_net_backward(net));
    np = gf_net_param_count(net);
    grads0 = malloc(np * sizeof *grads0);
    out0 = malloc(batch * 3 * sizeof *out0);
    memcpy(grads0, gf_net_grads(net), np * sizeof *grads0);
    memcpy(out0, y->data, batch * 3 * sizeof *out0);
    assert_ok(gf_batchnorm_running(gf_net_layer(net, 1), &mean, &var, &nbn));
    memcpy(mean0, mean, nbn * sizeof *mean);
    memcpy(var0, var, nbn * sizeof *var);
    step = gf_net_step_count(net);
    records = gf_telemetry_count(gf_net_telemetry(net));

    assert_ok(gf_net_jacobian(net, jac, probe, 0, gf_net_layer_count(net) - 1));
    assert_true(gf_tensor_norm2(jac) > 0.1);

    assert_true(gf_net_step_count(net) == step);
    assert_int_equal(gf_telemetry_count(gf_net_telemetry(net)), records);
    assert_memory_equal(gf_net_grads(net), grads0, np * sizeof *grads0);
    assert_ok(gf_batchnorm_running(gf_net_layer(net, 1), &mean, &var, &nbn));
    assert_memory_equal(mean, mean0, nbn * sizeof *mean);
    assert_memory_equal(var, var0, nbn * sizeof *var);
    y = gf_net_activation(net, gf_net_layer_count(net));
    assert_non_null(y);
    assert_int_equal(y->rows, batch);
    assert_memory_equal(y->data, out0, batch * 3 * sizeof *out0);
    /* The loss of the restored pass is the loss taken before. */
    assert_ok(gf_net_loss(net, &loss1, target, GF_LOSS_MSE));
    assert_true(loss1 == loss0);
    free(out0);
    free(grads0);
    gf_tensor_free(jac);
    gf_tensor_free(target);
    gf_tensor_free(probe);
    gf_tensor_free(x);
    gf_net_free(net);
}

/* Matrices with known singular values; in a build without LAPACK, the refusal. */
static void singular_values_known_or_refused(void **state)
{
    /* Two 2 x 3 matrices (batch 2): diag-like with values 3 and 2; rank one [1 1 0; 1 1 0]
     * with sqrt(2) * sqrt(2) = 2 and 0. */
    const gf_real m[] = {0, 3, 0, 2, 0, 0, 1, 1, 0, 1, 1, 0};
    const double expect[] = {3, 2, 2, 0};
    gf_tensor *jac = NULL, *sv = tu_tensor(2, 2);
    gf_net *net = tanh_net(1);
    gf_tensor *x = tu_tensor(1, 5), *sv_net = tu_tensor(1, 4);
    (void)state;
    assert_ok(gf_tensor_from_array(&jac, m, 4, 3));
    if (gf_jacobian_have_lapack()) {
        assert_ok(gf_jacobian_singular_values(sv, jac, 2));
        for (size_t i = 0; i < 4; i++)
            assert_near(sv->data[i], expect[i], 10 * TU_EPS, 10 * TU_EPS);
        assert_ok(gf_net_jacobian_singular_values(net, sv_net, x, 0, 4));
        for (size_t i = 0; i + 1 < 4; i++) /* decreasing */
            assert_true(sv_net->data[i] >= sv_net->data[i + 1]);
    } else {
        assert_status(gf_jacobian_singular_values(sv, jac, 2), GF_EUNSUPPORTED);
        assert_true(isnan(sv->data[0]));
        assert_non_null(strstr(gf_last_error(), "LAPACK"));
        assert_status(gf_net_jacobian_singular_values(net, sv_net, x, 0, 4), GF_EUNSUPPORTED);
        assert_true(isnan(sv_net->data[0]));
    }
    gf_tensor_free(sv_net);
    gf_tensor_free(x);
    gf_net_free(net);
    gf_tensor_free(sv);
    gf_tensor_free(jac);
}

static void bad_arguments(void **state)
{
    gf_net *net = tanh_net(2), *empty = NULL;
    gf_tensor *x = tu_tensor(2, 5), *jac = tu_tensor(8, 5), *sv = tu_tensor(2, 4);
    gf_tensor *wrong = tu_tensor(8, 4), *x_wrong = tu_tensor(2, 6);
    (void)state;
    assert_ok(gf_net_new(&empty, 5));
    assert_status(gf_net_jacobian(NULL, jac, x, 0, 4), GF_EINVAL);
    assert_status(gf_net_jacobian(net, NULL, x, 0, 4), GF_EINVAL);
    assert_status(gf_net_jacobian(net, jac, NULL, 0, 4), GF_EINVAL);
    assert_status(gf_net_jacobian(net, jac, x, 0, 5), GF_EINVAL);  /* last past the end */
    assert_status(gf_net_jacobian(net, jac, x, 3, 2), GF_EINVAL);  /* first > last */
    assert_status(gf_net_jacobian(net, wrong, x, 0, 4), GF_ESHAPE);
    assert_status(gf_net_jacobian(net, jac, x_wrong, 0, 4), GF_ESHAPE);
    assert_status(gf_net_jacobian(empty, jac, x, 0, 0), GF_ESTATE);
    assert_status(gf_net_jacobian_singular_values(net, NULL, x, 0, 4), GF_EINVAL);
    assert_status(gf_net_jacobian_singular_values(net, wrong, x, 0, 4), GF_ESHAPE);
    assert_status(gf_net_jacobian_singular_values(net, sv, x, 4, 5), GF_EINVAL);
    assert_status(gf_jacobian_singular_values(sv, jac, 0), GF_ESHAPE);
    assert_status(gf_jacobian_singular_values(sv, jac, 3), GF_ESHAPE); /* 8 rows, batch 3 */
    assert_status(gf_jacobian_singular_values(wrong, jac, 2), GF_ESHAPE);
    assert_status(gf_jacobian_singular_values(sv, NULL, 2), GF_EINVAL);
    jac->data[0] = (gf_real)NAN;
    assert_status(gf_jacobian_singular_values(sv, jac, 2), GF_ENONFINITE);
    gf_tensor_free(x_wrong);
    gf_tensor_free(wrong);
    gf_tensor_free(sv);
    gf_tensor_free(jac);
    gf_tensor_free(x);
    gf_net_free(empty);
    gf_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(orthogonal_linear_net_is_an_isometry_times_gain),
        cmocka_unit_test(tanh_jacobian_matches_central_differences),
        cmocka_unit_test(ranges_compose_by_the_chain_rule),
        cmocka_unit_test(network_state_is_left_as_found),
        cmocka_unit_test(singular_values_known_or_refused),
        cmocka_unit_test(bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
