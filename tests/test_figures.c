/* tests/test_figures.c: the figures the project must reproduce, measured through the
 * engine's own telemetry: the scalar chain 0.6^15 and 1.6^15, sigmoid'(5), ReLU's
 * sparsity at init, the backward signal's variance through ReLU layers under He and
 * LeCun (1/n) initialisation and leaky ReLU's 2/((1+a^2) n), and the flat
 * weight-gradient profile that hides a vanishing signal. */
#include "testutil.h"

#include "gradflow.h"

/* A chain of 15 linear layers of width 1, each followed by identity, constant weight w,
 * zero bias; dL/dy = 1 at the top. The signal reaching the input is w^15. */
static double chain_input_gradient(double w)
{
    gf_net *net = NULL;
    gf_rng rng;
    gf_init init = gf_init_default(GF_INIT_CONSTANT);
    gf_tensor *x = tu_tensor(1, 1), *dy = tu_tensor(1, 1);
    const gf_record *recs = NULL;
    size_t n = 0;
    double g;
    gf_rng_seed(&rng, 1);
    assert_ok(gf_net_new(&net, 1));
    for (int i = 0; i < 15; i++) {
        assert_ok(gf_net_add_linear(net, 1));
        assert_ok(gf_net_add_activation(net, "identity"));
    }
    init.value = w;
    assert_ok(gf_net_init(net, &init, &rng));
    x->data[0] = 1;
    dy->data[0] = 1;
    assert_ok(gf_net_forward(net, NULL, x));
    assert_ok(gf_net_backward_from(net, dy));
    assert_ok(gf_net_last_records(net, &recs, &n));
    assert_int_equal(n, 30);
    g = recs[0].grad_in_norm;
    /* The telemetry agrees with the buffer, and the signal falls by w per linear layer. */
    assert_close(g, fabs(gf_net_activation_grad(net, 0)->data[0]));
    for (size_t i = 0; i + 2 < n; i += 2)
        assert_near(recs[i].grad_in_norm / recs[i + 2].grad_in_norm, w, 0, 1e-5);
    gf_tensor_free(x);
    gf_tensor_free(dy);
    gf_net_free(net);
    return g;
}

static void scalar_chain_scales_by_w_to_the_15th(void **state)
{
    (void)state;
    /* 0.6^15 = 4.7018e-4 and 1.6^15 = 1152.92 (not 281.47, which is 1.6^12). Float
     * rounds each of 15 products: relative error below 15 eps. */
    double small = chain_input_gradient(0.6);
    double big = chain_input_gradient(1.6);
    assert_near(small, pow(0.6, 15), 0, 20 * TU_EPS);
    assert_near(big, pow(1.6, 15), 0, 20 * TU_EPS);
    assert_near(small, 4.7018e-4, 1e-8, 0);
    assert_near(big, 1152.92, 0.01, 0);
    assert_true(fabs(big - 281.47) > 800);
}

static void sigmoid_derivative_at_five(void **state)
{
    gf_net *net = NULL;
    gf_tensor *x = tu_tensor(1, 1), *dy = tu_tensor(1, 1);
    (void)state;
    assert_ok(gf_net_new(&net, 1));
    assert_ok(gf_net_add_activation(net, "sigmoid"));
    x->data[0] = 5;
    dy->data[0] = 1;
    assert_ok(gf_net_forward(net, NULL, x));
    assert_ok(gf_net_backward_from(net, dy));
    double s = 1 / (1 + exp(-5.0));
    double d = gf_net_activation_grad(net, 0)->data[0];
    /* y (1 - y) at y = 0.9933 loses log2(1/0.0067) = 7 bits to the cancellation in 1 - y. */
    assert_near(d, s * (1 - s), 0, 1000 * TU_EPS);
    assert_near(d, 0.0066, 0.00005, 0); /* 0.006648 */
    const gf_record *recs = NULL;
    size_t n = 0;
    assert_ok(gf_net_last_records(net, &recs, &n));
    assert_near(recs[0].deriv_abs_mean, s * (1 - s), 0, 1000 * TU_EPS);
    gf_tensor_free(x);
    gf_tensor_free(dy);
    gf_net_free(net);
}

/* A plain ReLU network of `depth` linear layers of width w (no bias, N(0, var/w)
 * weights via He with the given slope, or LeCun) on N(0,1) inputs, probed by the linear
 * loss L = sum v . h with a fixed v: the output gradient does not depend on the weights.
 * Returns, per linear layer l, the mean over seeds of ||dL/dh_{l-1}||^2 (the backward
 * signal entering layer l) in sig[l] and ||dL/dW_l||^2 in wg[l]. */
enum { WIDTH = 256, DEPTH = 20, BATCH = 32, SEEDS = 4 };

static void probe(const char *act, double slope, gf_init init, double *sig, double *wg,
                  double *zero_frac)
{
    for (size_t l = 0; l < DEPTH; l++)
        sig[l] = wg[l] = 0;
    *zero_frac = 0;
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        gf_net *net = NULL;
        gf_rng rng;
        gf_tensor *x = tu_tensor(BATCH, WIDTH), *v = tu_tensor(BATCH, WIDTH);
        gf_rng_seed(&rng, seed);
        assert_ok(gf_net_new(&net, WIDTH));
        for (size_t l = 0; l < DEPTH; l++) {
            assert_ok(gf_net_add_linear(net, WIDTH));
            assert_ok(gf_net_add_activation_param(net, act, slope));
        }
        assert_ok(gf_net_init(net, &init, &rng));
        for (size_t i = 0; i < BATCH * WIDTH; i++)
            x->data[i] = (gf_real)gf_rng_normal(&rng);
        /* Independent signs per row: rows sharing one v would correlate the examples'
         * gradients and add cross terms to ||dL/dW|| that grow with depth. */
        for (size_t i = 0; i < BATCH * WIDTH; i++)
            v->data[i] = (gf_real)(gf_rng_uniform(&rng) < 0.5 ? -1 : 1);
        assert_ok(gf_net_forward(net, NULL, x));
        assert_ok(gf_net_backward_from(net, v));
        const gf_record *recs = NULL;
        size_t n = 0;
        assert_ok(gf_net_last_records(net, &recs, &n));
        for (size_t l = 0; l < DEPTH; l++) {
            sig[l] += recs[2 * l].grad_in_norm * recs[2 * l].grad_in_norm / SEEDS;
            wg[l] += recs[2 * l].weight_grad_norm * recs[2 * l].weight_grad_norm / SEEDS;
            *zero_frac += recs[2 * l + 1].zero_frac / (SEEDS * DEPTH);
        }
        gf_tensor_free(x);
        gf_tensor_free(v);
        gf_net_free(net);
    }
}

/* Least-squares slope of log2 y against the layer index: the per-layer factor in log2. */
static double log2_slope(const double *y, size_t n)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (size_t i = 0; i < n; i++) {
        double ly = log2(y[i]);
        sx += (double)i;
        sy += ly;
        sxx += (double)i * i;
        sxy += (double)i * ly;
    }
    return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

/* The theory: each ReLU layer passes on half of the units, so the backward signal's
 * second moment changes by n Var(W) / 2 per layer: 1 for He (2/n), 1/2 for 1/n, and for
 * leaky slope a: n Var(W) (1 + a^2)/2, which He's 2/((1+a^2) n) makes 1 again.
 * Tolerance: with width 256 and batch 32 each layer's squared norm fluctuates by a few
 * percent, and the 20 factors compound, so the fitted log2 slope (over 4 seeds) is
 * within about 0.02 of the theory; 0.06 allows three times that and still separates
 * 0 from -1 (1/n) by a factor of more than 15. */
#define SLOPE_TOL 0.06

static void he_init_keeps_the_backward_signal(void **state)
{
    double sig[DEPTH], wg[DEPTH], zeros;
    (void)state;
    probe("relu", 0, gf_init_default(GF_INIT_HE_NORMAL), sig, wg, &zeros);
    /* The signal enters layer l from above: fit against depth from the top. */
    double rev[DEPTH];
    for (size_t l = 0; l < DEPTH; l++)
        rev[l] = sig[DEPTH - 1 - l];
    assert_near(log2_slope(rev, DEPTH), 0.0, SLOPE_TOL, 0);
    /* About half of ReLU units are exactly zero at init (symmetric weights, zero bias). */
    assert_near(zeros, 0.5, 0.02, 0);
}

static void variance_one_over_n_halves_the_signal_per_layer(void **state)
{
    double sig[DEPTH], wg[DEPTH], zeros;
    (void)state;
    probe("relu", 0, gf_init_default(GF_INIT_LECUN_NORMAL), sig, wg, &zeros);
    double rev[DEPTH];
    for (size_t l = 0; l < DEPTH; l++)
        rev[l] = sig[DEPTH - 1 - l];
    assert_near(log2_slope(rev, DEPTH), -1.0, SLOPE_TOL, 0);
    /* Over 19 layers the signal's second moment falls by about 2^19 ... */
    assert_true(sig[0] / sig[DEPTH - 1] < pow(2, -17));
    /* ... while the weight gradients stay flat: forward and backward shrinkage cancel
     * (Glorot and Bengio), so ||dL/dW|| alone would hide the vanishing. */
    assert_near(log2_slope(wg, DEPTH), 0.0, SLOPE_TOL, 0);
}

static void leaky_relu_he_variance_uses_the_slope(void **state)
{
    double sig[DEPTH], wg[DEPTH], zeros;
    gf_init he = gf_init_default(GF_INIT_HE_NORMAL);
    (void)state;
    he.slope = 0.5;
    probe("leaky_relu", 0.5, he, sig, wg, &zeros);
    double rev[DEPTH];
    for (size_t l = 0; l < DEPTH; l++)
        rev[l] = sig[DEPTH - 1 - l];
    assert_near(log2_slope(rev, DEPTH), 0.0, SLOPE_TOL, 0);
    /* Plain He (2/n) ignores the slope: the signal grows by (1 + a^2) = 1.25 per layer. */
    probe("leaky_relu", 0.5, gf_init_default(GF_INIT_HE_NORMAL), sig, wg, &zeros);
    for (size_t l = 0; l < DEPTH; l++)
        rev[l] = sig[DEPTH - 1 - l];
    assert_near(log2_slope(rev, DEPTH), log2(1.25), SLOPE_TOL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scalar_chain_scales_by_w_to_the_15th),
        cmocka_unit_test(sigmoid_derivative_at_five),
        cmocka_unit_test(he_init_keeps_the_backward_signal),
        cmocka_unit_test(variance_one_over_n_halves_the_signal_per_layer),
        cmocka_unit_test(leaky_relu_he_variance_uses_the_slope),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
