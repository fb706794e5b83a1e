/* tests/test_depth.c: the correlation map and the depth scales xi_q, xi_c (Schoenholz et
 * al. 2017). The 2-D expectation against closed forms (identity, ReLU's arc-cosine
 * kernel) and against the 1-D one at c = 1; the depth scales against closed forms
 * (linear; ReLU; tanh at sigma_b = 0 below the critical line, where q* = 0 and
 * chi_c = sigma_w^2) and against central differences of the public maps; xi_c
 * diverging at sigma_w^2 = 1 for tanh at sigma_b = 0; every built-in activation; the
 * predicted correlation map against the correlations measured in width-1000 networks;
 * bad arguments. */
#include "testutil.h"

#include "gradflow.h"
#include "gradflow/theory.h"

#define PI 3.14159265358979323846

static const gf_activation *act(const char *name)
{
    const gf_activation *a = NULL;
    assert_ok(gf_activation_find(&a, name));
    return a;
}

/* E[relu(u1) relu(u2)] = sqrt(q1 q2)/(2 pi) (sqrt(1 - c^2) + (pi - acos c) c) and
 * E[relu'(u1) relu'(u2)] = (pi - acos c)/(2 pi): the arc-cosine kernels of degree 1
 * and 0 (Cho and Saul 2009). */
static double arccos1(double c) { return (sqrt(1 - c * c) + (PI - acos(c)) * c) / (2 * PI); }
static double arccos0(double c) { return (PI - acos(c)) / (2 * PI); }

static void expectations_match_closed_forms(void **state)
{
    const double cs[] = {-1, -0.9, -0.3, 0, 0.2, 0.7, 0.99, 1};
    (void)state;
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        double c = cs[i], v, q1 = 0.7, q2 = 2.3;
        assert_ok(gf_theory_gauss_mean_prod(&v, act("identity"), 0, q1, q2, c, 0));
        assert_near(v, c * sqrt(q1 * q2), 1e-12, 1e-10);
        assert_ok(gf_theory_gauss_mean_prod(&v, act("identity"), 0, q1, q2, c, 1));
        assert_near(v, 1, 0, 1e-10);
        assert_ok(gf_theory_gauss_mean_prod(&v, act("relu"), 0, q1, q2, c, 0));
        assert_near(v, sqrt(q1 * q2) * arccos1(c), 1e-12, 1e-9);
        if (c > -1) { /* at c = -1 the kinks coincide: relu'(0) = 0 decides */
            assert_ok(gf_theory_gauss_mean_prod(&v, act("relu"), 0, q1, q2, c, 1));
            assert_near(v, arccos0(c), 1e-12, 1e-9);
        }
        /* An odd phi is uncorrelated with itself at c = 0. */
        if (c == 0) {
            assert_ok(gf_theory_gauss_mean_prod(&v, act("tanh"), 0, q1, q2, c, 0));
            assert_near(v, 0, 1e-12, 0);
        }
    }
    /* At c = 1 and q1 = q2 it is the 1-D E[g^2] of the existing theory. */
    {
        const char *names[] = {"tanh", "sigmoid", "softsign", "elu", "softplus"};
        for (size_t a = 0; a < 5; a++)
            for (int which = 0; which < 2; which++) {
                double v, ref;
                const gf_activation *f = act(names[a]);
                assert_ok(gf_theory_gauss_mean_prod(&v, f, f->default_param, 1.3, 1.3, 1, which));
                assert_ok(gf_theory_gauss_mean_sq(&ref, f, f->default_param, 1.3, which));
                assert_near(v, ref, 0, 1e-10);
            }
    }
}

static void correlation_map_closed_forms(void **state)
{
    double c;
    (void)state;
    /* Linear: C(c) = (sigma_w^2 q c + sigma_b^2) / (sigma_w^2 q + sigma_b^2). */
    assert_ok(gf_theory_c_map(&c, act("identity"), 0, 0.5, 0.3, 0.6, 0.2));
    assert_near(c, (0.5 * 0.6 * 0.2 + 0.3) / (0.5 * 0.6 + 0.3), 0, 1e-10);
    /* ReLU without bias: the normalised arc-cosine kernel, whatever sigma_w^2 and q. */
    assert_ok(gf_theory_c_map(&c, act("relu"), 0, 2.0, 0, 3.7, 0.3));
    assert_near(c, arccos1(0.3) / arccos1(1), 0, 1e-9);
    assert_ok(gf_theory_c_map(&c, act("relu"), 0, 1.2, 0, 0.01, -0.5));
    assert_near(c, arccos1(-0.5) / arccos1(1), 0, 1e-9);
    /* With a bias: (sigma_w^2 q k1(c) + sigma_b^2) / (sigma_w^2 q / 2 + sigma_b^2). */
    assert_ok(gf_theory_c_map(&c, act("relu"), 0, 1.5, 0.2, 0.8, 0.4));
    assert_near(c, (1.5 * 0.8 * arccos1(0.4) + 0.2) / (1.5 * 0.8 / 2 + 0.2), 0, 1e-9);
    assert_ok(gf_theory_c_map(&c, act("tanh"), 0, 1.5, 0.05, 0.4, 1));
    assert_near(c, 1, 0, 1e-10);
}

static void depth_scales_closed_forms(void **state)
{
    gf_depth_scales d;
    (void)state;
    /* Linear, sigma_w^2 = 0.5, sigma_b^2 = 0.3: q* = 0.6, every slope 0.5. */
    assert_ok(gf_theory_depth_scales(&d, act("identity"), 0, 0.5, 0.3));
    assert_near(d.q_star, 0.6, 0, 1e-12);
    assert_true(d.c_star == 1);
    assert_near(d.chi_c, 0.5, 0, 1e-10);
    assert_near(d.dq, 0.5, 0, 1e-10);
    assert_near(d.xi_c, 1 / log(2.0), 0, 1e-9);
    assert_near(d.xi_q, 1 / log(2.0), 0, 1e-9);
    /* ReLU: V(q) = sigma_w^2 q/2 + sigma_b^2, slope sigma_w^2/2; ordered: chi_c = chi_1. */
    assert_ok(gf_theory_depth_scales(&d, act("relu"), 0, 1.5, 0.2));
    assert_near(d.q_star, 0.8, 0, 1e-12);
    assert_near(d.dq, 0.75, 0, 1e-10);
    assert_near(d.chi_c, 0.75, 0, 1e-10);
    assert_near(d.xi_c, -1 / log(0.75), 0, 1e-9);
    /* He init (sigma_w^2 = 2, no bias) is critical: both scales infinite. */
    assert_ok(gf_theory_depth_scales(&d, act("relu"), 0, 2.0, 0));
    assert_true(isinf(d.xi_c) && d.xi_c > 0);
    assert_true(isinf(d.xi_q) && d.xi_q > 0);
    /* tanh, no bias, sigma_w^2 < 1: q* = 0, where tanh is linear: chi_c = V'(0) =
     * sigma_w^2. */
    for (double sw2 = 0.3; sw2 < 1; sw2 += 0.2) {
        assert_ok(gf_theory_depth_scales(&d, act("tanh"), 0, sw2, 0));
        assert_true(d.q_star == 0 && d.c_star == 1);
        assert_near(d.chi_c, sw2, 0, 1e-12);
        assert_near(d.dq, sw2, 0, 1e-10);
        assert_near(d.xi_c, -1 / log(sw2), 0, 1e-9);
    }
    /* Variance without bound: no fixed point, NaN scales. */
    assert_ok(gf_theory_depth_scales(&d, act("relu"), 0, 3.0, 0.1));
    assert_true(isinf(d.q_star) && isnan(d.xi_c) && isnan(d.xi_q));
}

/* dq and chi_c are the slopes of the public maps at their fixed points: central
 * differences (step 1e-4, truncation ~1e-8) agree to 1e-6. */
static void slopes_match_central_differences(void **state)
{
    const struct {
        const char *name;
        double sw2, sb2;
    } cases[] = {{"tanh", 2.0, 0.05}, {"tanh", 4.0, 0.05}, {"tanh", 1.2, 0.3},
                 {"sigmoid", 1.0, 0.0}, {"softsign", 4.0, 0.1}, {"elu", 1.5, 0.1}};
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const gf_activation *f = act(cases[i].name);
        double p = f->default_param, sw2 = cases[i].sw2, sb2 = cases[i].sb2;
        double hq, plus, minus, fixed;
        gf_depth_scales d;
        assert_ok(gf_theory_depth_scales(&d, f, p, sw2, sb2));
        hq = 1e-4 * d.q_star;
        assert_ok(gf_theory_q_map(&plus, f, p, sw2, sb2, d.q_star + hq));
        assert_ok(gf_theory_q_map(&minus, f, p, sw2, sb2, d.q_star - hq));
        assert_near(d.dq, (plus - minus) / (2 * hq), 1e-7, 1e-6);
        assert_near(d.xi_q, -1 / log(d.dq), 0, 1e-12);
        /* c* is a fixed point, and chi_c the slope there (one-sided at c* = 1). */
        assert_ok(gf_theory_c_map(&fixed, f, p, sw2, sb2, d.q_star, d.c_star));
        assert_near(fixed, d.c_star, 1e-9, 0);
        if (d.c_star < 1) {
            assert_ok(gf_theory_c_map(&plus, f, p, sw2, sb2, d.q_star, d.c_star + 1e-4));
            assert_ok(gf_theory_c_map(&minus, f, p, sw2, sb2, d.q_star, d.c_star - 1e-4));
            assert_near(d.chi_c, (plus - minus) / 2e-4, 1e-6, 1e-6);
            assert_true(d.chi_c < 1 && d.chi_1 > 1); /* chaotic phase */
        } else {
            assert_ok(gf_theory_c_map(&minus, f, p, sw2, sb2, d.q_star, 1 - 1e-5));
            assert_near(d.chi_c, (1 - minus) / 1e-5, 1e-4, 1e-4);
            assert_true(d.chi_c == d.chi_1 && d.chi_1 <= 1);
        }
    }
}

/* tanh without bias: xi_c grows without bound as sigma_w^2 -> 1 from either side. */
static void xi_c_diverges_at_the_critical_line(void **state)
{
    const double below[] = {0.9, 0.99, 0.999}, above[] = {3.0, 1.5, 1.1, 1.01};
    double prev = 0;
    gf_depth_scales d;
    (void)state;
    for (size_t i = 0; i < 3; i++) {
        assert_ok(gf_theory_depth_scales(&d, act("tanh"), 0, below[i], 0));
        assert_near(d.xi_c, -1 / log(below[i]), 0, 1e-9); /* 9.5, 99.5, 999.5 */
        assert_true(d.xi_c > prev);
        prev = d.xi_c;
    }
    assert_ok(gf_theory_depth_scales(&d, act("tanh"), 0, 1.0, 0));
    assert_true(isinf(d.xi_c));
    prev = 0;
    for (size_t i = 0; i < 4; i++) {
        assert_ok(gf_theory_depth_scales(&d, act("tanh"), 0, above[i], 0));
        assert_near(d.c_star, 0, 1e-8, 0); /* odd phi, no bias: c* = 0 in the chaos */
        assert_true(d.xi_c > prev);
        prev = d.xi_c;
    }
    assert_true(prev > 1000); /* sigma_w^2 = 1.01 */
}

/* Every row of the table, in the ordered and the chaotic regime: finite, consistent. */
static void every_activation(void **state)
{
    const double sigmas[][2] = {{0.8, 0.1}, {2.5, 0.05}};
    (void)state;
    for (size_t i = 0; i < gf_activation_count(); i++)
        for (size_t k = 0; k < 2; k++) {
            const gf_activation *f = gf_activation_at(i);
            gf_depth_scales d;
            if (gf_theory_depth_scales(&d, f, f->default_param, sigmas[k][0],
                                       sigmas[k][1]) != GF_OK)
                fail_msg("%s: %s", f->name, gf_last_error());
            if (isinf(d.q_star))
                continue; /* no fixed point (ReLU-like above its critical line) */
            if (!(d.c_star >= -1 && d.c_star <= 1 && d.chi_c > 0 && d.chi_c <= 1 + 1e-12 &&
                  d.xi_c > 0 && d.dq >= 0 && d.dq <= 1 + 1e-9 && !isnan(d.xi_q)))
                fail_msg("%s (%g, %g): c* %g chi_c %g xi_c %g dq %g xi_q %g", f->name,
                         sigmas[k][0], sigmas[k][1], d.c_star, d.chi_c, d.xi_c, d.dq, d.xi_q);
        }
}

/* ---- Against wide networks ---------------------------------------------------------------
 * Two inputs through a width-1000, depth-15 net (weights N(0, sigma_w^2/1000), biases
 * N(0, sigma_b^2)): the correlation of their pre-activations at each layer against the
 * map. A width-N layer adds a fluctuation of about 1/sqrt(N) = 0.03 to an empirical
 * correlation (measured: 0.02 per layer on average), which the trajectory carries on.
 * Over 6 seeds: the mean of the trajectory (the map iterated from what layer 1
 * measured) stays within 0.06 of the measured mean at every layer (measured 0.035 -
 * 0.04), and the map applied to each measured layer is unbiased to 0.01 (the mean of 84
 * one-step gaps, noise about 0.002; a map off by a wrong normalisation is off by more
 * than 0.03). The test prints its figures. */
#define WIDE 1000
#define WIDE_DEPTH 15

/* The measured correlation of the two rows of the pre-activations after each linear
 * layer, corr[0..WIDE_DEPTH), and the variance after the first, *q1. */
static void measure_correlations(const char *name, double sw2, double sb2, double c0,
                                 uint64_t seed, double *corr, double *q1)
{
    gf_net *net = NULL;
    gf_rng rng;
    gf_init init = gf_init_default(GF_INIT_NORMAL);
    gf_tensor *x = tu_tensor(2, WIDE);
    const gf_tensor *y;
    gf_rng_seed(&rng, seed);
    init.std = sqrt(sw2 / WIDE);
    assert_ok(gf_net_new(&net, WIDE));
    for (size_t l = 0; l < WIDE_DEPTH; l++) {
        assert_ok(gf_net_add_linear(net, WIDE));
        assert_ok(gf_net_add_activation(net, name));
    }
    assert_ok(gf_net_init(net, &init, &rng));
    for (size_t l = 0; l < WIDE_DEPTH; l++) {
        gf_layer *lin = gf_net_layer_mut(net, 2 * l);
        for (size_t j = 0; j < WIDE; j++)
            lin->bias.data[j] = (gf_real)(sqrt(sb2) * gf_rng_normal(&rng));
    }
    for (size_t j = 0; j < WIDE; j++) {
        double z1 = gf_rng_normal(&rng), z2 = gf_rng_normal(&rng);
        x->data[j] = (gf_real)z1;
        x->data[WIDE + j] = (gf_real)(c0 * z1 + sqrt(1 - c0 * c0) * z2);
    }
    assert_ok(gf_net_predict(net, &y, x));
    for (size_t l = 0; l < WIDE_DEPTH; l++) {
        const gf_tensor *h = gf_net_activation(net, 2 * l + 1);
        double aa = 0, bb = 0, ab = 0;
        for (size_t j = 0; j < WIDE; j++) {
            double a = h->data[j], b = h->data[WIDE + j];
            aa += a * a;
            bb += b * b;
            ab += a * b;
        }
        corr[l] = ab / sqrt(aa * bb);
        if (l == 0)
            *q1 = 0.5 * (aa + bb) / WIDE;
    }
    gf_tensor_free(x);
    gf_net_free(net);
}

static void correlation_map_matches_wide_networks(void **state)
{
    const struct {
        const char *name;
        double sw2, sb2, c0;
    } cases[] = {
        {"tanh", 4.0, 0.05, 0.9},  /* chaotic: c decays to c* = 0.165, chi_c = 0.87 */
        {"tanh", 1.5, 0.05, 0.2},  /* ordered: c rises to 1, chi_c = 0.94 */
        {"relu", 2.0, 0.0, 0.1},   /* the arc-cosine map, c -> 1 */
    };
    enum { SEEDS = 6 };
    (void)state;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const gf_activation *f = act(cases[k].name);
        double p = f->default_param, sw2 = cases[k].sw2, sb2 = cases[k].sb2;
        double traj[WIDE_DEPTH] = {0}, worst = 0, step_gap = 0, pred_last = 0, meas_last = 0;
        for (uint64_t s = 0; s < SEEDS; s++) {
            double corr[WIDE_DEPTH], q = 0, c, one;
            measure_correlations(cases[k].name, sw2, sb2, cases[k].c0, 100 + s, corr, &q);
            /* The map iterated from what layer 1 measured (the trajectory), and applied
             * to each measured layer (one step, where the noise does not accumulate). */
            c = corr[0];
            for (size_t l = 1; l < WIDE_DEPTH; l++) {
                double q_next;
                assert_ok(gf_theory_c_map(&one, f, p, sw2, sb2, q, corr[l - 1]));
                assert_ok(gf_theory_c_map(&c, f, p, sw2, sb2, q, c));
                assert_ok(gf_theory_q_map(&q_next, f, p, sw2, sb2, q));
                q = q_next;
                traj[l] += (corr[l] - c) / SEEDS;
                step_gap += (corr[l] - one) / (SEEDS * (WIDE_DEPTH - 1));
            }
            pred_last += c / SEEDS;
            meas_last += corr[WIDE_DEPTH - 1] / SEEDS;
        }
        for (size_t l = 1; l < WIDE_DEPTH; l++)
            worst = fmax(worst, fabs(traj[l]));
        print_message("%s (%g, %g), c0 = %g: c_%d predicted %.4f, measured %.4f; largest "
                      "trajectory gap %.4f; mean one-step gap %+.4f (%d seeds)\n",
                      cases[k].name, sw2, sb2, cases[k].c0, WIDE_DEPTH, pred_last, meas_last,
                      worst, step_gap, (int)SEEDS);
        assert_true(worst < 0.06);
        assert_true(fabs(step_gap) < 0.01);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(expectations_match_closed_forms),
        cmocka_unit_test(correlation_map_closed_forms),
        cmocka_unit_test(depth_scales_closed_forms),
        cmocka_unit_test(slopes_match_central_differences),
        cmocka_unit_test(xi_c_diverges_at_the_critical_line),
        cmocka_unit_test(every_activation),
        cmocka_unit_test(correlation_map_matches_wide_networks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
