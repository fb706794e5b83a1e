/* tests/test_theory.c: the mean-field prediction. Gaussian expectations against closed
 * forms (identity, ReLU, leaky ReLU, |x|, ELU, sigmoid at q = 0) and against a brute-
 * force rule; fixed points and chi against the known values (ReLU chi = sigma_w^2/2,
 * linear chi = sigma_w^2, tanh at sigma_w^2 = 1, sigma_b = 0: q* = 0 and chi = 1) and
 * against plain iteration of the map; the init -> sigma_w^2 table; and the prediction
 * against the per-layer factor measured in 20-layer, width-512 networks; bad input. */
#include "testutil.h"

#include "gradflow.h"
#include "gradflow/theory.h"

static const gf_activation *act(const char *name)
{
    const gf_activation *a = NULL;
    assert_ok(gf_activation_find(&a, name));
    return a;
}

/* Phi(-a), the standard normal tail. */
static double tail(double a) { return 0.5 * erfc(a / sqrt(2.0)); }

/* An independent rule for E[g(sqrt(q) z)^2]: composite Simpson on [-12, 12] with 2^16
 * intervals. z = 0 (where ReLU-like units have their kink) is the end of a Simpson pair,
 * so the error is O(h^4) ~ 1e-13 even there. */
static double brute(double (*g)(double, double), double param, double q)
{
    const size_t n = (size_t)1 << 16;
    const double a = -12, h = 24.0 / (double)n, s = sqrt(q);
    double sum = 0;
    for (size_t i = 0; i <= n; i++) {
        double z = a + h * (double)i, v = g(s * z, param);
        double w = (i == 0 || i == n) ? 1 : (i % 2 ? 4 : 2);
        sum += w * v * v * exp(-0.5 * z * z);
    }
    return sum * h / 3 / 2.506628274631000502415765284811; /* sqrt(2 pi) */
}

/* ---- Gaussian expectations --------------------------------------------------------------- */

static void expectations_match_closed_forms(void **state)
{
    const double qs[] = {0, 1e-6, 0.3, 1, 2.5, 40};
    (void)state;
    for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
        double q = qs[k], v, e;
        assert_ok(gf_theory_gauss_mean_sq(&v, act("identity"), 0, q, 0));
        assert_near(v, q, 1e-15, 1e-12);
        assert_ok(gf_theory_gauss_mean_sq(&v, act("identity"), 0, q, 1));
        assert_near(v, 1, 0, 1e-12);
        assert_ok(gf_theory_gauss_mean_sq(&v, act("relu"), 0, q, 0));
        assert_near(v, q / 2, 1e-15, 1e-12);
        if (q > 0) {
            assert_ok(gf_theory_gauss_mean_sq(&v, act("relu"), 0, q, 1));
            assert_near(v, 0.5, 0, 1e-12);
            assert_ok(gf_theory_gauss_mean_sq(&v, act("leaky_relu"), 0.2, q, 1));
            assert_near(v, (1 + 0.04) / 2, 0, 1e-12);
            assert_ok(gf_theory_gauss_mean_sq(&v, act("abs"), 0, q, 1));
            assert_near(v, 1, 0, 1e-12);
        }
        assert_ok(gf_theory_gauss_mean_sq(&v, act("leaky_relu"), 0.2, q, 0));
        assert_near(v, q * (1 + 0.04) / 2, 1e-15, 1e-12);
        assert_ok(gf_theory_gauss_mean_sq(&v, act("abs"), 0, q, 0));
        assert_near(v, q, 1e-15, 1e-12);
        /* ELU(alpha): E[f^2] = q/2 + alpha^2 (e^{2q} Phi(-2 sqrt q) - 2 e^{q/2} Phi(-sqrt q)
         * + 1/2) and E[f'^2] = 1/2 + alpha^2 e^{2q} Phi(-2 sqrt q), from
         * E[e^{tx} 1{x<0}] = e^{t^2 q/2} Phi(-t sqrt q). */
        if (q > 0) {
            double al = 1.3;
            e = q / 2 + al * al * (exp(2 * q) * tail(2 * sqrt(q)) -
                                   2 * exp(q / 2) * tail(sqrt(q)) + 0.5);
            assert_ok(gf_theory_gauss_mean_sq(&v, act("elu"), al, q, 0));
            assert_near(v, e, 1e-15, 1e-11);
            e = 0.5 + al * al * exp(2 * q) * tail(2 * sqrt(q));
            assert_ok(gf_theory_gauss_mean_sq(&v, act("elu"), al, q, 1));
            assert_near(v, e, 0, 1e-11);
        }
    }
    {
        double v;
        assert_ok(gf_theory_gauss_mean_sq(&v, act("sigmoid"), 0, 0, 0));
        assert_true(v == 0.25);
        assert_ok(gf_theory_gauss_mean_sq(&v, act("sigmoid"), 0, 0, 1));
        assert_true(v == 1.0 / 16);
    }
}

/* Smooth and kinked activations without closed forms, against the brute-force rule. */
static void expectations_match_brute_force(void **state)
{
    const char *names[] = {"tanh", "sigmoid", "softsign", "softplus", "elu"};
    const double qs[] = {0.01, 0.7, 3, 25};
    (void)state;
    for (size_t a = 0; a < 5; a++)
        for (size_t k = 0; k < 4; k++)
            for (int which = 0; which < 2; which++) {
                const gf_activation *f = act(names[a]);
                double v, ref = brute(which ? f->df : f->f, f->default_param, qs[k]);
                assert_ok(gf_theory_gauss_mean_sq(&v, f, f->default_param, qs[k], which));
                if (!(fabs(v - ref) <= 1e-8 * fabs(ref) + 1e-12))
                    fail_msg("%s %s q=%g: %.15g vs brute force %.15g", names[a],
                             which ? "phi'" : "phi", qs[k], v, ref);
            }
}

/* ---- Fixed points and chi ----------------------------------------------------------------- */

static void chi_known_values(void **state)
{
    double q, chi;
    (void)state;
    /* ReLU: V(q) = sigma_w^2 q/2 + sigma_b^2, so q* = sigma_b^2/(1 - sigma_w^2/2) and
     * chi = sigma_w^2/2 exactly, whatever q. */
    assert_ok(gf_theory_chi(&q, &chi, act("relu"), 0, 1.5, 0.2));
    assert_near(q, 0.8, 0, 1e-12);
    assert_near(chi, 0.75, 0, 1e-12);
    assert_ok(gf_theory_chi(&q, &chi, act("relu"), 0, 2.0, 0.0)); /* He: the critical line */
    assert_near(chi, 1.0, 0, 1e-12);
    /* LeCun (sigma_w^2 = 1), no bias: q* = 0, and chi is the limit q -> 0+, 1/2 (the
     * signal halves per layer), not relu'(0)^2 = 0. */
    assert_ok(gf_theory_chi(&q, &chi, act("relu"), 0, 1.0, 0.0));
    assert_true(q < 1e-100);
    assert_near(chi, 0.5, 0, 1e-12);
    assert_ok(gf_theory_chi(&q, &chi, act("relu"), 0, 3.0, 0.1)); /* grows without bound */
    assert_true(isinf(q));
    assert_near(chi, 1.5, 0, 1e-12);
    /* Leaky ReLU: chi = sigma_w^2 (1 + a^2)/2. */
    assert_ok(gf_theory_chi(&q, &chi, act("leaky_relu"), 0.1, 1.0, 0.3));
    assert_near(chi, 0.505, 0, 1e-12);
    assert_near(q, 0.3 / (1 - 0.505), 0, 1e-12);
    /* Linear: chi = sigma_w^2; q* = sigma_b^2/(1 - sigma_w^2). */
    assert_ok(gf_theory_chi(&q, &chi, act("identity"), 0, 0.5, 0.3));
    assert_near(q, 0.6, 0, 1e-12);
    assert_near(chi, 0.5, 0, 1e-12);
    assert_ok(gf_theory_chi(&q, &chi, act("identity"), 0, 2.0, 0.0));
    assert_true(isinf(q));
    assert_near(chi, 2.0, 0, 1e-12);
    /* tanh at sigma_w^2 = 1, sigma_b = 0: the map creeps to q* = 0 like 1/(2l), where
     * tanh'(0) = 1 makes chi = 1 (the edge of chaos). Bisection gets within rounding of
     * 0 (residual -2q^2 vanishes below the quadrature's 1e-14 relative accuracy). */
    assert_ok(gf_theory_chi(&q, &chi, act("tanh"), 0, 1.0, 0.0));
    assert_true(q >= 0 && q < 1e-10);
    assert_near(chi, 1.0, 0, 1e-9);
    /* Below it, q* = 0 and chi = sigma_w^2. */
    assert_ok(gf_theory_chi(&q, &chi, act("tanh"), 0, 0.5, 0.0));
    assert_true(q == 0);
    assert_near(chi, 0.5, 0, 1e-14);
}

/* tanh and sigmoid off the special cases: plain iteration of the brute-force map (it
 * converges geometrically there) agrees with bracketing and bisection. */
static void chi_matches_iterated_map(void **state)
{
    const struct {
        const char *name;
        double sw2, sb2;
    } cases[] = {{"tanh", 2.0, 0.05}, {"tanh", 1.2, 0.3}, {"sigmoid", 1.0, 0.0},
                 {"softsign", 4.0, 0.1}};
    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const gf_activation *f = act(cases[c].name);
        double q = 1, q_star, chi, chi_ref;
        for (int it = 0; it < 200; it++) {
            double next = cases[c].sw2 * brute(f->f, 0, q) + cases[c].sb2;
            if (fabs(next - q) < 1e-13 * q) {
                q = next;
                break;
            }
            q = next;
        }
        chi_ref = cases[c].sw2 * brute(f->df, 0, q);
        assert_ok(gf_theory_chi(&q_star, &chi, f, 0, cases[c].sw2, cases[c].sb2));
        if (!(fabs(q_star - q) <= 1e-7 * q && fabs(chi - chi_ref) <= 1e-7 * chi_ref))
            fail_msg("%s (%g, %g): q* %.12g chi %.12g; iterated %.12g, %.12g", cases[c].name,
                     cases[c].sw2, cases[c].sb2, q_star, chi, q, chi_ref);
        /* q* is a fixed point of the public map too. */
        {
            double next;
            assert_ok(gf_theory_q_map(&next, f, 0, cases[c].sw2, cases[c].sb2, q_star));
            assert_near(next, q_star, 0, 1e-12);
            assert_ok(gf_theory_chi_at(&chi_ref, f, 0, cases[c].sw2, q_star));
            assert_true(chi_ref == chi);
        }
    }
}

/* ---- Init schemes ------------------------------------------------------------------------- */

static void init_sigma_w2(void **state)
{
    gf_init init;
    double v;
    (void)state;
    init = gf_init_default(GF_INIT_HE_NORMAL);
    assert_ok(gf_theory_init_sigma_w2(&v, &init, 100, 50));
    assert_near(v, 2, 0, 1e-15);
    init.slope = 0.5;
    init.fan_out = 1;
    assert_ok(gf_theory_init_sigma_w2(&v, &init, 100, 50));
    assert_near(v, 2 / 1.25 * 2, 0, 1e-15);
    init = gf_init_default(GF_INIT_XAVIER_UNIFORM);
    init.gain = 5.0 / 3;
    assert_ok(gf_theory_init_sigma_w2(&v, &init, 64, 64));
    assert_near(v, 25.0 / 9, 0, 1e-15);
    init = gf_init_default(GF_INIT_LECUN_NORMAL);
    assert_ok(gf_theory_init_sigma_w2(&v, &init, 30, 70));
    assert_near(v, 1, 0, 1e-15);
    init = gf_init_default(GF_INIT_ORTHOGONAL);
    init.gain = 2;
    assert_ok(gf_theory_init_sigma_w2(&v, &init, 10, 20));
    assert_near(v, 2, 0, 1e-15);
    init = gf_init_default(GF_INIT_NORMAL); /* N(0, 1): "the common procedure" */
    assert_ok(gf_theory_init_sigma_w2(&v, &init, 256, 256));
    assert_near(v, 256, 0, 1e-15);
    init = gf_init_default(GF_INIT_UNIFORM); /* U(-1, 1): variance 1/3 */
    assert_ok(gf_theory_init_sigma_w2(&v, &init, 3, 3));
    assert_near(v, 1, 0, 1e-15);
    init = gf_init_default(GF_INIT_ZEROS);
    assert_ok(gf_theory_init_sigma_w2(&v, &init, 3, 3));
    assert_true(v == 0);
    init = gf_init_default(GF_INIT_LSUV);
    assert_status(gf_theory_init_sigma_w2(&v, &init, 3, 3), GF_EUNSUPPORTED);
    init = gf_init_default(GF_INIT_HE_NORMAL);
    assert_status(gf_theory_init_sigma_w2(&v, &init, 0, 3), GF_EINVAL);
    assert_status(gf_theory_init_sigma_w2(&v, NULL, 3, 3), GF_EINVAL);
    assert_status(gf_theory_init_sigma_w2(NULL, &init, 3, 3), GF_EINVAL);
    init.slope = NAN;
    assert_status(gf_theory_init_sigma_w2(&v, &init, 3, 3), GF_EINVAL);
}

/* ---- Prediction against measurement -------------------------------------------------------- */

enum { WIDTH = 512, DEPTH = 20, BATCH = 16, SEEDS = 2 };

/* The per-layer factor of ||dL/dh||^2 between consecutive linear layers of a plain
 * network (depth 20, width 512, weights N(0, sigma_w^2/512), biases N(0, sigma_b^2)),
 * its input scaled so that the first pre-activation has variance q* already; dL/dy
 * random normal. Geometric mean over the 19 layer pairs and SEEDS draws of the weights
 * (one network, re-initialised); *spread receives the standard error of the mean of the
 * log factors. */
static double measured_chi(const char *name, double sw2, double sb2, double q_star,
                           double *spread)
{
    double sum = 0, sumsq = 0;
    size_t n = 0;
    gf_rng rng;
    gf_net *net = NULL;
    gf_init init = gf_init_default(GF_INIT_LECUN_NORMAL);
    gf_mlp_spec spec = {WIDTH, WIDTH, DEPTH, WIDTH, name, NAN, &init};
    gf_tensor *x = tu_tensor(BATCH, WIDTH), *dy = tu_tensor(BATCH, WIDTH);
    /* E[phi(h)^2] at q*, the second moment of the input that gives q_1 = q*. */
    double in_sd = sqrt((q_star - sb2) / sw2);
    init.gain = sqrt(sw2);
    gf_rng_seed(&rng, 1000);
    assert_ok(gf_net_new_mlp(&net, &spec, &rng));
    gf_net_set_input_grad(net, 0);
    for (uint64_t seed = 0; seed < SEEDS; seed++) {
        const gf_record *rec;
        size_t count;
        if (seed > 0)
            assert_ok(gf_net_init(net, &init, &rng));
        for (size_t i = 0; i < gf_net_layer_count(net); i += 2) {
            gf_layer *l = gf_net_layer_mut(net, i);
            for (size_t j = 0; j < WIDTH; j++)
                l->bias.data[j] = (gf_real)(sqrt(sb2) * gf_rng_normal(&rng));
        }
        for (size_t i = 0; i < BATCH * WIDTH; i++) {
            x->data[i] = (gf_real)(in_sd * gf_rng_normal(&rng));
            dy->data[i] = (gf_real)gf_rng_normal(&rng);
        }
        assert_ok(gf_net_forward(net, NULL, x));
        assert_ok(gf_net_backward_from(net, dy));
        assert_ok(gf_net_last_records(net, &rec, &count));
        assert_int_equal(count, 2 * DEPTH - 1);
        for (size_t k = 0; k + 1 < DEPTH; k++) {
            double r = rec[2 * k].grad_out_norm / rec[2 * k + 2].grad_out_norm;
            double lg = log(r * r);
            sum += lg;
            sumsq += lg * lg;
            n++;
        }
    }
    gf_tensor_free(x);
    gf_tensor_free(dy);
    gf_net_free(net);
    sum /= (double)n;
    *spread = sqrt(fmax(sumsq / (double)n - sum * sum, 0) / (double)n);
    return exp(sum);
}

/* Tolerance: each factor is a ratio of squared norms over BATCH x WIDTH = 8192 entries
 * whose log fluctuates by a few percent (sqrt(2/8192) = 1.6% for Gaussian entries, more
 * with the spread of phi'^2); the standard error of the mean over 38 pairs is measured
 * (printed; asserted below 1%). The mean-field limit itself is off by
 * O(1/WIDTH) = 0.2% at finite width. The seeds are fixed, so the test is deterministic;
 * 2% is 2.5 or more standard errors plus the width correction, while a wrong chi
 * misses by far more in the tanh cases: E[phi'] in place of E[phi'^2] by 19% and 34%,
 * chi at q = 1 in place of q* by 28% and 15%, a missing sigma_w^2 by 20% and 200%.
 * Sizes are kept small enough for the program to run in about 2 s of CPU in the float
 * build (about 15 s under ASan, where drawing each network's 5 million weights
 * dominates). */
static void prediction_matches_measurement(void **state)
{
    const struct {
        const char *name;
        double sw2, sb2;
    } cases[] = {
        {"tanh", 1.2, 0.1},   /* ordered: chi < 1, vanishing */
        {"tanh", 3.0, 0.05},  /* chaotic: chi > 1, exploding */
        {"relu", 2.0, 0.0},   /* He: chi = 1 */
    };
    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double q, chi, se, m;
        assert_ok(gf_theory_chi(&q, &chi, act(cases[c].name), 0, cases[c].sw2, cases[c].sb2));
        m = measured_chi(cases[c].name, cases[c].sw2, cases[c].sb2, isinf(q) ? 1 : q, &se);
        print_message("%s sigma_w^2 %.2f sigma_b^2 %.2f: q* %.4f, chi predicted %.4f, "
                      "measured %.4f (s.e. %.2f%%)\n", cases[c].name, cases[c].sw2,
                      cases[c].sb2, q, chi, m, 100 * se);
        assert_true(se < 0.01);
        assert_near(m, chi, 0, 0.02);
    }
}

/* ---- Bad input ----------------------------------------------------------------------------- */

static void bad_arguments(void **state)
{
    const gf_activation *t = act("tanh");
    gf_activation broken = *t;
    double q, chi, v;
    (void)state;
    assert_status(gf_theory_chi(&q, &chi, NULL, 0, 1, 0), GF_EINVAL);
    assert_true(isnan(q) && isnan(chi));
    assert_status(gf_theory_chi(NULL, &chi, t, 0, 1, 0), GF_EINVAL);
    assert_status(gf_theory_chi(&q, NULL, t, 0, 1, 0), GF_EINVAL);
    assert_status(gf_theory_chi(&q, &chi, t, 0, 0, 0), GF_EINVAL);
    assert_status(gf_theory_chi(&q, &chi, t, 0, -1, 0), GF_EINVAL);
    assert_status(gf_theory_chi(&q, &chi, t, 0, NAN, 0), GF_EINVAL);
    assert_error_mentions("sigma_w");
    assert_status(gf_theory_chi(&q, &chi, t, 0, INFINITY, 0), GF_EINVAL);
    assert_status(gf_theory_chi(&q, &chi, t, 0, 1, -0.1), GF_EINVAL);
    assert_status(gf_theory_chi(&q, &chi, t, 0, 1, NAN), GF_EINVAL);
    assert_status(gf_theory_chi(&q, &chi, t, NAN, 1, 0), GF_EINVAL);
    broken.df = NULL;
    assert_status(gf_theory_chi(&q, &chi, &broken, 0, 1, 0), GF_EINVAL);
    assert_status(gf_theory_chi_at(&chi, t, 0, 1, -1), GF_EINVAL);
    assert_status(gf_theory_chi_at(&chi, t, 0, 1, INFINITY), GF_EINVAL);
    assert_status(gf_theory_chi_at(&chi, t, 0, 0, 1), GF_EINVAL);
    assert_status(gf_theory_chi_at(NULL, t, 0, 1, 1), GF_EINVAL);
    assert_status(gf_theory_q_map(&v, t, 0, 1, 0, NAN), GF_EINVAL);
    assert_status(gf_theory_q_map(&v, t, 0, 1, -1, 1), GF_EINVAL);
    assert_status(gf_theory_q_map(&v, NULL, 0, 1, 0, 1), GF_EINVAL);
    assert_status(gf_theory_q_map(NULL, t, 0, 1, 0, 1), GF_EINVAL);
    assert_status(gf_theory_gauss_mean_sq(&v, t, 0, 1, 2), GF_EINVAL);
    assert_status(gf_theory_gauss_mean_sq(&v, t, 0, -1, 0), GF_EINVAL);
    assert_status(gf_theory_gauss_mean_sq(NULL, t, 0, 1, 0), GF_EINVAL);
    assert_status(gf_theory_gauss_mean_sq(&v, NULL, 0, 1, 0), GF_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(expectations_match_closed_forms),
        cmocka_unit_test(expectations_match_brute_force),
        cmocka_unit_test(chi_known_values),
        cmocka_unit_test(chi_matches_iterated_map),
        cmocka_unit_test(init_sigma_w2),
        cmocka_unit_test(prediction_matches_measurement),
        cmocka_unit_test(bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
