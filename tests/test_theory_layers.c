/* tests/test_theory_layers.c: the mean-field prediction at finite depth
 * (gf_theory_layer_factors), layer by layer, against the factor measured at
 * initialisation on the showcase's network (embedded digits, 12 linear layers of width
 * 64, the activation's suited init, softmax cross-entropy, batches of 64), for every
 * activation of the table; and its contract (closed forms, bad input). */
#include "testutil.h"

#include "gradflow.h"
#include "gradflow/theory.h"

enum { DEPTH = 12, WIDTH = 64, BATCH = 64, SEEDS = 16 };

/* ReLU under He on inputs of mean square m: q_0 = 2m, every later q is the same (ReLU
 * halves E[h^2], He doubles it back), and every factor but through the last layer is
 * sqrt(2 * 1/2) = 1; the last (fan_out 10) too, since He reads fan_in only. */
static void relu_under_he_is_one_per_layer(void **state)
{
    const gf_activation *relu = NULL;
    double sw2[5] = {2, 2, 2, 2, 2}, f[4];
    (void)state;
    assert_ok(gf_activation_find(&relu, "relu"));
    assert_ok(gf_theory_layer_factors(f, relu, 0, sw2, 5, 0, 0.3));
    for (size_t k = 0; k < 4; k++)
        assert_near(f[k], 1.0, 1e-10, 0);
}

/* A linear network: factor[k] = sqrt(sigma_w2[k+1]) whatever the input. And with the
 * variance map at its fixed point from the start, every factor is sqrt(chi). */
static void matches_closed_forms_and_the_fixed_point(void **state)
{
    const gf_activation *id = NULL, *tanh_ = NULL;
    double sw2[4] = {0.5, 2, 3, 0.25}, f[3], q_star, chi;
    (void)state;
    assert_ok(gf_activation_find(&id, "identity"));
    assert_ok(gf_theory_layer_factors(f, id, 0, sw2, 4, 0.1, 7));
    for (size_t k = 0; k < 3; k++)
        assert_near(f[k], sqrt(sw2[k + 1]), 1e-12, 0);

    assert_ok(gf_activation_find(&tanh_, "tanh"));
    assert_ok(gf_theory_chi(&q_star, &chi, tanh_, 0, 2.0, 0.1));
    double same[6] = {2, 2, 2, 2, 2, 2}, g[5];
    /* q_0 = 2 m + 0.1 = q*: start on the fixed point. */
    assert_ok(gf_theory_layer_factors(g, tanh_, 0, same, 6, 0.1, (q_star - 0.1) / 2));
    for (size_t k = 0; k < 5; k++)
        assert_near(g[k], sqrt(chi), 1e-9, 1e-9);
}

static void refuses_bad_input(void **state)
{
    const gf_activation *relu = NULL;
    double sw2[3] = {2, 2, 2}, bad[3] = {2, 0, 2}, f[2];
    (void)state;
    assert_ok(gf_activation_find(&relu, "relu"));
    assert_status(gf_theory_layer_factors(NULL, relu, 0, sw2, 3, 0, 1), GF_EINVAL);
    assert_status(gf_theory_layer_factors(f, relu, 0, NULL, 3, 0, 1), GF_EINVAL);
    assert_status(gf_theory_layer_factors(f, relu, 0, sw2, 1, 0, 1), GF_EINVAL);
    assert_status(gf_theory_layer_factors(f, relu, 0, bad, 3, 0, 1), GF_EINVAL);
    assert_status(gf_theory_layer_factors(f, relu, 0, sw2, 3, 0, -1), GF_EINVAL);
    assert_status(gf_theory_layer_factors(f, relu, 0, sw2, 3, 0, NAN), GF_EINVAL);
}

/* ---- Against the showcase's network ------------------------------------------------ */

/* One seed: the per-layer factor ||dL/dh_k|| / ||dL/dh_{k+1}|| of the linear layers at
 * initialisation, added to logm[k] (log), and the batch's mean square into *ms. */
static void measure(double *logm, double *ms, const gf_activation *a, const gf_dataset *d,
                    uint64_t seed)
{
    gf_mlp_spec spec = {.in = 64, .width = WIDTH, .depth = DEPTH, .out = 10, .act = a->name,
                        .act_param = a->default_param, .init = NULL};
    gf_net *net = NULL;
    gf_rng rng;
    gf_tensor *x = NULL, *y = NULL;
    const gf_record *rec = NULL;
    double loss, sum = 0, sig[DEPTH];
    size_t n = 0, k = 0;
    gf_rng_seed(&rng, seed);
    assert_ok(gf_net_new_mlp(&net, &spec, &rng));
    assert_ok(gf_tensor_new(&x, BATCH, 64));
    assert_ok(gf_tensor_new(&y, BATCH, 1));
    /* A batch of the digits, rows drawn at random. */
    for (size_t r = 0; r < BATCH; r++) {
        size_t row = (size_t)(gf_rng_uniform(&rng) * (double)gf_dataset_rows(d));
        for (size_t j = 0; j < 64; j++) {
            gf_real v = d->x->data[row * 64 + j];
            x->data[r * 64 + j] = v;
            sum += (double)v * (double)v;
        }
        y->data[r] = d->y->data[row];
    }
    *ms = sum / (BATCH * 64);
    assert_ok(gf_net_forward(net, NULL, x));
    assert_ok(gf_net_loss(net, &loss, y, GF_LOSS_SOFTMAX_CE));
    assert_ok(gf_net_backward(net));
    assert_ok(gf_net_last_records(net, &rec, &n));
    for (size_t i = 0; i < n; i++)
        if (strcmp(rec[i].kind, "linear") == 0)
            sig[k++] = rec[i].grad_out_norm;
    assert_int_equal(k, DEPTH);
    for (k = 0; k + 1 < DEPTH; k++)
        logm[k] += log(sig[k] / sig[k + 1]);
    gf_tensor_free(x);
    gf_tensor_free(y);
    gf_net_free(net);
}

/* For every activation of the table: the geometric mean over 16 seeds of the measured
 * factor at each layer is within 10 % of the prediction from the measured input mean
 * square. One seed at width 64 scatters by about 8 % per layer (ReLU under He, whose
 * prediction is exactly 1, measures 0.91 to 1.12); sixteen bring that to about 2 %, and
 * 64 seeds leave a bias of at most 3.3 % (softplus near the input). The infinite-depth
 * sqrt(chi) fails this for softplus (1 against 0.75 to 0.87) and tanh's last layer (1.1 against 1.28). */
static void every_activation_matches_per_layer_at_init(void **state)
{
    gf_dataset *d = NULL;
    (void)state;
    assert_ok(gf_data_digits(&d));
    for (size_t i = 0; i < gf_activation_count(); i++) {
        const gf_activation *a = gf_activation_at(i);
        double logm[DEPTH - 1] = {0}, ms, ms_mean = 0, sw2[DEPTH], pred[DEPTH - 1];
        gf_init init;
        for (uint64_t seed = 1; seed <= SEEDS; seed++) {
            measure(logm, &ms, a, d, seed);
            ms_mean += ms / SEEDS;
        }
        assert_ok(gf_init_suited(&init, a, a->default_param));
        for (size_t k = 0; k < DEPTH; k++)
            assert_ok(gf_theory_init_sigma_w2(&sw2[k], &init, k == 0 ? 64 : WIDTH,
                                              k + 1 == DEPTH ? 10 : WIDTH));
        assert_ok(gf_theory_layer_factors(pred, a, a->default_param, sw2, DEPTH, 0, ms_mean));
        double worst = 0;
        for (size_t k = 0; k + 1 < DEPTH; k++) {
            double m = exp(logm[k] / SEEDS);
            worst = fmax(worst, fabs(m / pred[k] - 1));
            if (!(fabs(m / pred[k] - 1) <= 0.10))
                fail_msg("%s, linear layer %zu: measured x%.3f, predicted x%.3f", a->name,
                         k + 1, m, pred[k]);
        }
        print_message("%-20s predicted x%.3f (layer 1) to x%.3f (layer %d); worst %.1f %%\n",
                      a->name, pred[0], pred[DEPTH - 2], DEPTH - 1, 100 * worst);
    }
    gf_dataset_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(relu_under_he_is_one_per_layer),
        cmocka_unit_test(matches_closed_forms_and_the_fixed_point),
        cmocka_unit_test(refuses_bad_input),
        cmocka_unit_test(every_activation_matches_per_layer_at_init),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
