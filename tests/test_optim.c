/* tests/test_optim.c: optimisers against known trajectories (SGD on 0.5 w^2, momentum
 * unrolled by hand, Adam against a double-precision reference), weight decay, saving and
 * resuming the state, names, defaults and every rejected configuration. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gradflow/optim.h"

/* Tolerances: the double build computes the same formulas as the references, so only
 * a few ulps separate them; the float build rounds every step to float (2^-24 ~ 6e-8
 * relative), accumulated over a handful of steps. */
#if GF_REAL_IS_DOUBLE
#define REL_TOL 1e-12
#define ABS_TOL 1e-15
#else
#define REL_TOL 2e-6
#define ABS_TOL 1e-9
#endif

static int close_to(double got, double want)
{
    return fabs(got - want) <= ABS_TOL + REL_TOL * fabs(want);
}

#define assert_close(got, want)                                                           \
    do {                                                                                  \
        double g_ = (got), w_ = (want);                                                   \
        if (!close_to(g_, w_))                                                            \
            fail_msg("%s = %.17g, expected %.17g", #got, g_, w_);                         \
    } while (0)

static void assert_failed_with(gf_status got, gf_status want)
{
    assert_int_equal(got, want);
    assert_true(strlen(gf_last_error()) > 0);
}

static gf_optim *make(const gf_optim_config *c, size_t n)
{
    gf_optim *o = NULL;
    assert_int_equal(gf_optim_new(&o, c, n), GF_OK);
    assert_non_null(o);
    return o;
}

/* ---- Names and defaults ---------------------------------------------------------- */

static void defaults_match_header(void **state)
{
    (void)state;
    for (int k = 0; k < GF_OPTIM_COUNT; k++) {
        gf_optim_config c = gf_optim_default((gf_optim_kind)k);
        assert_int_equal(c.kind, k);
        assert_true(c.lr == (k == GF_OPTIM_ADAM ? 0.001 : 0.01));
        assert_true(c.momentum == 0.9);
        assert_true(c.beta1 == 0.9);
        assert_true(c.beta2 == 0.999);
        assert_true(c.eps == 1e-8);
        assert_true(c.weight_decay == 0.0);
        /* Every default is itself a valid configuration. */
        gf_optim_free(make(&c, 3));
    }
}

static void names_round_trip(void **state)
{
    static const char *const want[] = {"sgd", "momentum", "adam"};
    gf_optim_kind k = GF_OPTIM_COUNT;
    (void)state;
    for (int i = 0; i < GF_OPTIM_COUNT; i++) {
        assert_string_equal(gf_optim_name((gf_optim_kind)i), want[i]);
        assert_int_equal(gf_optim_from_name(&k, want[i]), GF_OK);
        assert_int_equal(k, i);
    }
    assert_null(gf_optim_name(GF_OPTIM_COUNT));
    assert_null(gf_optim_name((gf_optim_kind)-1));

    gf_clear_error();
    assert_failed_with(gf_optim_from_name(&k, "rmsprop"), GF_ENOTFOUND);
    assert_non_null(strstr(gf_last_error(), "rmsprop"));
    assert_non_null(strstr(gf_last_error(), "sgd"));
    assert_non_null(strstr(gf_last_error(), "momentum"));
    assert_non_null(strstr(gf_last_error(), "adam"));
    assert_failed_with(gf_optim_from_name(&k, "SGD"), GF_ENOTFOUND); /* case matters */
    assert_failed_with(gf_optim_from_name(&k, ""), GF_ENOTFOUND);
    gf_clear_error();
    assert_failed_with(gf_optim_from_name(NULL, "sgd"), GF_EINVAL);
    gf_clear_error();
    assert_failed_with(gf_optim_from_name(&k, NULL), GF_EINVAL);
}

/* ---- Known trajectories ---------------------------------------------------------- */

/* f(w) = 0.5 w^2 has gradient w, so SGD gives w_k = w_0 (1 - lr)^k exactly. */
static void sgd_on_quadratic(void **state)
{
    enum { N = 4, STEPS = 25 };
    const double w0[N] = {1.0, -2.5, 0.125, 40.0};
    gf_real w[N], g[N], d[N];
    gf_optim_config c = gf_optim_default(GF_OPTIM_SGD);
    gf_optim *o;
    (void)state;
    c.lr = 0.1;
    o = make(&c, N);
    for (int i = 0; i < N; i++)
        w[i] = (gf_real)w0[i];
    for (int k = 1; k <= STEPS; k++) {
        memcpy(g, w, sizeof w);
        assert_int_equal(gf_optim_compute(o, d, w, g, N), GF_OK);
        for (int i = 0; i < N; i++) {
            assert_close(d[i], -0.1 * (double)g[i]);
            w[i] += d[i];
        }
        assert_true(gf_optim_steps(o) == (uint64_t)k);
    }
    for (int i = 0; i < N; i++) /* 0.9^25 = 0.0718 */
        assert_true(fabs(w[i] - w0[i] * pow(0.9, STEPS)) <= 1e-6 * fabs(w0[i]));
    /* SGD has no state. */
    size_t ns = 99;
    assert_null(gf_optim_state(o, &ns, 0));
    assert_true(ns == 0);
    assert_null(gf_optim_state(o, NULL, 1));
    gf_optim_free(o);
}

/* v1 = g1, v2 = mu g1 + g2, v3 = mu^2 g1 + mu g2 + g3; delta_k = -lr v_k. */
static void momentum_three_steps_by_hand(void **state)
{
    enum { N = 3 };
    const double mu = 0.8, lr = 0.05;
    const double g1[N] = {1.0, -2.0, 0.5}, g2[N] = {0.25, 3.0, -1.0}, g3[N] = {-4.0, 0.5, 2.0};
    const double *gs[3] = {g1, g2, g3};
    gf_real p[N] = {0.3f, -0.7f, 1.1f}, g[N], d[N];
    gf_optim_config c = gf_optim_default(GF_OPTIM_MOMENTUM);
    gf_optim *o;
    size_t ns = 0;
    (void)state;
    c.lr = lr;
    c.momentum = mu;
    o = make(&c, N);
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < N; i++)
            g[i] = (gf_real)gs[k][i];
        assert_int_equal(gf_optim_compute(o, d, p, g, N), GF_OK);
        for (int i = 0; i < N; i++) {
            double v = k == 0   ? g1[i]
                       : k == 1 ? mu * g1[i] + g2[i]
                                : mu * mu * g1[i] + mu * g2[i] + g3[i];
            assert_close(d[i], -lr * v);
        }
    }
    gf_real *v = gf_optim_state_mut(o, &ns, 0);
    assert_non_null(v);
    assert_true(ns == N);
    for (int i = 0; i < N; i++)
        assert_close(v[i], mu * mu * g1[i] + mu * g2[i] + g3[i]);
    assert_null(gf_optim_state(o, &ns, 1));
    assert_true(ns == 0);
    gf_optim_free(o);
}

/* The brief's formulas, in double, for one coordinate. */
typedef struct ref_adam {
    double m, v;
} ref_adam;

static double ref_adam_step(ref_adam *s, double g, double p, const gf_optim_config *c, int t)
{
    g += c->weight_decay * p;
    s->m = c->beta1 * s->m + (1 - c->beta1) * g;
    s->v = c->beta2 * s->v + (1 - c->beta2) * g * g;
    double mhat = s->m / (1 - pow(c->beta1, t));
    double vhat = s->v / (1 - pow(c->beta2, t));
    return -c->lr * mhat / (sqrt(vhat) + c->eps);
}

/* At t = 1, mhat = g and vhat = g^2, so delta = -lr g / (|g| + eps) ~ -lr sign(g):
 * Adam's first step has the same size for every coordinate, whatever its gradient. */
static void adam_first_step_is_lr_sign_g(void **state)
{
    enum { N = 7 };
    const double gv[N] = {1e-2, -3e-2, 0.7, -5.0, 123.0, -4e3, 0.0};
    gf_real p[N] = {0}, g[N], d[N];
    gf_optim_config c = gf_optim_default(GF_OPTIM_ADAM);
    gf_optim *o = make(&c, N);
    (void)state;
    for (int i = 0; i < N; i++)
        g[i] = (gf_real)gv[i];
    assert_int_equal(gf_optim_compute(o, d, p, g, N), GF_OK);
    for (int i = 0; i < N - 1; i++) {
        double want = gv[i] > 0 ? -c.lr : c.lr;
        /* eps / |g| <= 1e-6 here; plus float rounding. */
        assert_true(fabs(d[i] - want) <= 2e-6 * c.lr);
    }
    assert_true(d[N - 1] == 0); /* g = 0: m = 0, no step */
    gf_optim_free(o);
}

/* Five steps on f(w) = sum a_i w_i^2 / 2 + b_i w_i (gradient a w + b, so it changes as w
 * moves), with and without weight decay, against the reference above. */
static void adam_matches_double_reference(void **state)
{
    enum { N = 5, STEPS = 5 };
    const double a[N] = {1.0, 10.0, 0.1, 3.0, 0.5}, b[N] = {0.5, -2.0, 0.0, 1e-3, -7.0};
    const double wd_cases[2] = {0.0, 0.05};
    (void)state;
    for (int w = 0; w < 2; w++) {
        gf_optim_config c = gf_optim_default(GF_OPTIM_ADAM);
        c.lr = 0.01;
        c.beta1 = 0.8;
        c.beta2 = 0.95;
        c.eps = 1e-6;
        c.weight_decay = wd_cases[w];
        gf_optim *o = make(&c, N);
        gf_real p[N], g[N], d[N];
        double rp[N];
        ref_adam rs[N] = {{0, 0}};
        for (int i = 0; i < N; i++)
            rp[i] = p[i] = (gf_real)(0.5 * i - 1.0);
        for (int t = 1; t <= STEPS; t++) {
            for (int i = 0; i < N; i++)
                g[i] = (gf_real)(a[i] * p[i] + b[i]);
            assert_int_equal(gf_optim_compute(o, d, p, g, N), GF_OK);
            for (int i = 0; i < N; i++) {
                /* The reference sees the same inputs (p, g as gf_real) each step. */
                double want = ref_adam_step(&rs[i], g[i], p[i], &c, t);
                assert_close(d[i], want);
                assert_true(fabs(d[i]) <= 3 * c.lr); /* Adam's step is bounded by ~lr */
                p[i] += d[i];
                rp[i] += want;
            }
        }
        size_t n0 = 0, n1 = 0;
        gf_real *m = gf_optim_state_mut(o, &n0, 0), *v = gf_optim_state_mut(o, &n1, 1);
        assert_non_null(m);
        assert_non_null(v);
        assert_true(n0 == N && n1 == N);
        for (int i = 0; i < N; i++) {
            assert_close(m[i], rs[i].m);
            assert_close(v[i], rs[i].v);
            assert_true(fabs(p[i] - rp[i]) <= 1e-5); /* trajectories agree */
        }
        assert_true(gf_optim_steps(o) == STEPS);
        gf_optim_free(o);
    }
}

/* Weight decay adds wd p to the gradient: with g = 0 the update is -lr wd p (SGD),
 * and momentum accumulates it like any gradient. */
static void weight_decay_is_l2_on_gradient(void **state)
{
    enum { N = 3 };
    gf_real p[N] = {2.0f, -1.0f, 0.5f}, g[N] = {0, 0.25f, -1.0f}, d[N];
    gf_optim_config c = gf_optim_default(GF_OPTIM_SGD);
    gf_optim *o;
    (void)state;
    c.lr = 0.1;
    c.weight_decay = 0.01;
    o = make(&c, N);
    assert_int_equal(gf_optim_compute(o, d, p, g, N), GF_OK);
    for (int i = 0; i < N; i++)
        assert_close(d[i], -0.1 * ((double)g[i] + 0.01 * (double)p[i]));
    assert_true(d[0] < 0); /* pure decay pulls a positive weight towards 0 */
    gf_optim_free(o);

    c = gf_optim_default(GF_OPTIM_MOMENTUM);
    c.lr = 0.1;
    c.momentum = 0.5;
    c.weight_decay = 0.2;
    o = make(&c, N);
    assert_int_equal(gf_optim_compute(o, d, p, g, N), GF_OK);
    assert_int_equal(gf_optim_compute(o, d, p, g, N), GF_OK);
    for (int i = 0; i < N; i++) {
        double gi = (double)g[i] + 0.2 * (double)p[i];
        assert_close(d[i], -0.1 * (0.5 * gi + gi));
    }
    gf_optim_free(o);
}

/* Adam's weight decay is L2 on the gradient too (PyTorch's Adam(weight_decay=...)), not
 * AdamW's decoupled p -= lr wd p: with g = 0, the first step is -lr sign(p), whatever wd
 * (Adam normalises the decay term like any gradient), where AdamW would give -lr wd p. */
static void adam_weight_decay_is_l2_not_decoupled(void **state)
{
    enum { N = 2 };
    gf_real p[N] = {2.0f, -0.5f}, g[N] = {0, 0}, d[N];
    gf_optim_config c = gf_optim_default(GF_OPTIM_ADAM);
    gf_optim *o;
    (void)state;
    c.lr = 0.01;
    c.weight_decay = 1e-3;
    o = make(&c, N);
    assert_int_equal(gf_optim_compute(o, d, p, g, N), GF_OK);
    assert_true(fabs((double)d[0] + 0.01) < 1e-5);  /* -lr, not -lr wd p = -2e-5 */
    assert_true(fabs((double)d[1] - 0.01) < 1e-5);
    gf_optim_free(o);
}

/* The schedules against their formulas (PyTorch's StepLR and CosineAnnealingLR). */
static void lr_schedules_follow_their_formulas(void **state)
{
    gf_lr_schedule s = {GF_LR_STEP, 10, 0.5, 0, 0};
    double lr;
    (void)state;
    static const struct {
        uint64_t step;
        double lr;
    } steps[] = {{0, 0.1}, {9, 0.1}, {10, 0.05}, {19, 0.05}, {20, 0.025}, {35, 0.0125}};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        assert_int_equal(gf_lr_schedule_at(&lr, &s, 0.1, steps[i].step), GF_OK);
        assert_true(fabs(lr - steps[i].lr) < 1e-15);
    }
    s = (gf_lr_schedule){GF_LR_COSINE, 0, 0, 100, 0.001};
    assert_int_equal(gf_lr_schedule_at(&lr, &s, 0.1, 0), GF_OK);
    assert_true(fabs(lr - 0.1) < 1e-15);
    assert_int_equal(gf_lr_schedule_at(&lr, &s, 0.1, 50), GF_OK);
    assert_true(fabs(lr - (0.001 + 0.099 / 2)) < 1e-15); /* half way: the mean */
    assert_int_equal(gf_lr_schedule_at(&lr, &s, 0.1, 25), GF_OK);
    assert_true(fabs(lr - (0.001 + 0.099 * (1 + sqrt(0.5)) / 2)) < 1e-15);
    assert_int_equal(gf_lr_schedule_at(&lr, &s, 0.1, 100), GF_OK);
    assert_true(fabs(lr - 0.001) < 1e-15);
    assert_int_equal(gf_lr_schedule_at(&lr, &s, 0.1, 1000), GF_OK); /* held at the end */
    assert_true(fabs(lr - 0.001) < 1e-15);
    /* The last step of a run of `total` steps still has a positive rate with min_lr 0. */
    s.min_lr = 0;
    assert_int_equal(gf_lr_schedule_at(&lr, &s, 0.1, 99), GF_OK);
    assert_true(lr > 0 && lr < 1e-4);
    s = (gf_lr_schedule){GF_LR_CONSTANT, 0, 0, 0, 0};
    assert_int_equal(gf_lr_schedule_at(&lr, &s, 0.3, 12345), GF_OK);
    assert_true(lr == 0.3);
    assert_string_equal(gf_lr_schedule_name(GF_LR_COSINE), "cosine");
    assert_null(gf_lr_schedule_name(GF_LR_SCHEDULE_COUNT));
    /* Bad fields for the kind, a bad base rate, NULL. */
    s = (gf_lr_schedule){GF_LR_STEP, 0, 0.5, 0, 0};
    assert_failed_with(gf_lr_schedule_at(&lr, &s, 0.1, 1), GF_EINVAL);
    s = (gf_lr_schedule){GF_LR_STEP, 5, 1.5, 0, 0};
    assert_failed_with(gf_lr_schedule_at(&lr, &s, 0.1, 1), GF_EINVAL);
    s = (gf_lr_schedule){GF_LR_COSINE, 0, 0, 0, 0};
    assert_failed_with(gf_lr_schedule_at(&lr, &s, 0.1, 1), GF_EINVAL);
    s = (gf_lr_schedule){GF_LR_COSINE, 0, 0, 10, 0.2};
    assert_failed_with(gf_lr_schedule_at(&lr, &s, 0.1, 1), GF_EINVAL);
    s = (gf_lr_schedule){GF_LR_CONSTANT, 0, 0, 0, 0};
    assert_failed_with(gf_lr_schedule_at(&lr, &s, 0, 1), GF_EINVAL);
    assert_failed_with(gf_lr_schedule_at(NULL, &s, 0.1, 1), GF_EINVAL);
    assert_failed_with(gf_lr_schedule_at(&lr, NULL, 0.1, 1), GF_EINVAL);
    s.kind = GF_LR_SCHEDULE_COUNT;
    assert_failed_with(gf_lr_schedule_at(&lr, &s, 0.1, 1), GF_EINVAL);
}

/* delta may be the gradient array itself. */
static void delta_in_place(void **state)
{
    enum { N = 4 };
    gf_real p[N] = {1, 2, 3, 4}, g[N] = {0.5f, -0.5f, 2, -3}, d[N];
    gf_real g2[N];
    gf_optim_config c = gf_optim_default(GF_OPTIM_ADAM);
    gf_optim *a = make(&c, N), *b = make(&c, N);
    (void)state;
    memcpy(g2, g, sizeof g);
    assert_int_equal(gf_optim_compute(a, d, p, g, N), GF_OK);
    assert_int_equal(gf_optim_compute(b, g2, p, g2, N), GF_OK);
    assert_memory_equal(d, g2, sizeof d);
    gf_optim_free(a);
    gf_optim_free(b);
}

/* ---- State: saving and resuming -------------------------------------------------- */

static void grad_at(gf_real *g, const gf_real *p, size_t n, int t)
{
    for (size_t i = 0; i < n; i++)
        g[i] = (gf_real)(0.3 * (double)p[i] - 0.1 * (double)i + 0.05 * sin(t + (double)i));
}

/* Run 10 steps uninterrupted; separately run 4, save m, v, steps, build a fresh
 * optimiser from them and run 6 more. The two must agree bit for bit. */
static void adam_resume_is_bit_identical(void **state)
{
    enum { N = 6, SPLIT = 4, STEPS = 10 };
    gf_optim_config c = gf_optim_default(GF_OPTIM_ADAM);
    gf_real pa[N], pb[N], g[N], d[N], saved_m[N], saved_v[N];
    gf_optim *a, *b, *r, *r_nosteps;
    uint64_t saved_steps;
    size_t ns = 0;
    (void)state;
    c.weight_decay = 1e-3;
    a = make(&c, N);
    b = make(&c, N);
    for (int i = 0; i < N; i++)
        pa[i] = pb[i] = (gf_real)(0.1 * i - 0.2);

    for (int t = 0; t < STEPS; t++) {
        grad_at(g, pa, N, t);
        assert_int_equal(gf_optim_compute(a, d, pa, g, N), GF_OK);
        for (int i = 0; i < N; i++)
            pa[i] += d[i];
    }
    for (int t = 0; t < SPLIT; t++) {
        grad_at(g, pb, N, t);
        assert_int_equal(gf_optim_compute(b, d, pb, g, N), GF_OK);
        for (int i = 0; i < N; i++)
            pb[i] += d[i];
    }
    memcpy(saved_m, gf_optim_state(b, &ns, 0), sizeof saved_m);
    assert_true(ns == N);
    memcpy(saved_v, gf_optim_state(b, &ns, 1), sizeof saved_v);
    assert_true(ns == N);
    saved_steps = gf_optim_steps(b);
    assert_true(saved_steps == SPLIT);
    r = make(gf_optim_config_of(b), N);
    r_nosteps = make(gf_optim_config_of(b), N);
    gf_optim_free(b);

    memcpy(gf_optim_state_mut(r, NULL, 0), saved_m, sizeof saved_m);
    memcpy(gf_optim_state_mut(r, NULL, 1), saved_v, sizeof saved_v);
    gf_optim_set_steps(r, saved_steps);
    assert_true(gf_optim_steps(r) == SPLIT);
    memcpy(gf_optim_state_mut(r_nosteps, NULL, 0), saved_m, sizeof saved_m);
    memcpy(gf_optim_state_mut(r_nosteps, NULL, 1), saved_v, sizeof saved_v);

    gf_real pn[N];
    memcpy(pn, pb, sizeof pb);
    for (int t = SPLIT; t < STEPS; t++) {
        grad_at(g, pb, N, t);
        assert_int_equal(gf_optim_compute(r, d, pb, g, N), GF_OK);
        for (int i = 0; i < N; i++)
            pb[i] += d[i];
        grad_at(g, pn, N, t);
        assert_int_equal(gf_optim_compute(r_nosteps, d, pn, g, N), GF_OK);
        for (int i = 0; i < N; i++)
            pn[i] += d[i];
    }
    assert_memory_equal(pa, pb, sizeof pa);
    assert_true(gf_optim_steps(r) == STEPS);
    /* Without set_steps the bias correction restarts at t = 1 and the run differs:
     * the test above would notice a set_steps that did nothing. */
    assert_memory_not_equal(pa, pn, sizeof pa);
    gf_optim_free(a);
    gf_optim_free(r);
    gf_optim_free(r_nosteps);
}

static void state_accessors(void **state)
{
    gf_optim_config c = gf_optim_default(GF_OPTIM_ADAM);
    gf_optim *o = make(&c, 5);
    size_t ns = 42;
    gf_real *m, *v;
    (void)state;
    m = gf_optim_state_mut(o, &ns, 0);
    assert_true(ns == 5);
    v = gf_optim_state_mut(o, &ns, 1);
    assert_true(ns == 5);
    assert_true(m != v);
    assert_true(v >= m + 5 || m >= v + 5); /* slots do not overlap */
    for (int i = 0; i < 5; i++)
        assert_true(m[i] == 0 && v[i] == 0); /* zeroed at creation */
    assert_null(gf_optim_state(o, &ns, 2));
    assert_true(ns == 0);
    assert_null(gf_optim_state(o, &ns, -1));
    assert_null(gf_optim_state(NULL, &ns, 0));
    assert_true(gf_optim_steps(o) == 0);
    gf_optim_set_steps(o, 1000);
    assert_true(gf_optim_steps(o) == 1000);
    gf_optim_set_steps(NULL, 3); /* no-op */
    assert_true(gf_optim_steps(NULL) == 0);
    assert_null(gf_optim_config_of(NULL));
    assert_true(gf_optim_config_of(o)->kind == GF_OPTIM_ADAM);

    /* set_lr changes the step size and rejects bad values, leaving lr unchanged. */
    assert_int_equal(gf_optim_set_lr(o, 0.5), GF_OK);
    assert_true(gf_optim_config_of(o)->lr == 0.5);
    const double bad[] = {0.0, -1.0, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gf_clear_error();
        assert_failed_with(gf_optim_set_lr(o, bad[i]), GF_EINVAL);
        assert_non_null(strstr(gf_last_error(), "lr"));
        assert_true(gf_optim_config_of(o)->lr == 0.5);
    }
    gf_clear_error();
    assert_failed_with(gf_optim_set_lr(NULL, 0.1), GF_EINVAL);
    gf_optim_free(o);
    gf_optim_free(NULL);
}

/* ---- Bad input ------------------------------------------------------------------- */

typedef struct bad_case {
    gf_optim_kind kind;
    int field; /* 0 lr, 1 momentum, 2 beta1, 3 beta2, 4 eps, 5 weight_decay */
    double value;
    const char *name; /* the message must name the field */
} bad_case;

static void bad_configs_rejected(void **state)
{
    static const bad_case cases[] = {
        {GF_OPTIM_SGD, 0, 0.0, "lr"},
        {GF_OPTIM_SGD, 0, -0.1, "lr"},
        {GF_OPTIM_SGD, 0, NAN, "lr"},
        {GF_OPTIM_ADAM, 0, INFINITY, "lr"},
        {GF_OPTIM_MOMENTUM, 1, -0.1, "momentum"},
        {GF_OPTIM_MOMENTUM, 1, 1.0, "momentum"},
        {GF_OPTIM_MOMENTUM, 1, NAN, "momentum"},
        {GF_OPTIM_ADAM, 2, 1.0, "beta1"},
        {GF_OPTIM_ADAM, 2, -0.5, "beta1"},
        {GF_OPTIM_ADAM, 3, 1.0, "beta2"},
        {GF_OPTIM_ADAM, 3, NAN, "beta2"},
        {GF_OPTIM_ADAM, 4, 0.0, "eps"},
        {GF_OPTIM_ADAM, 4, -1e-8, "eps"},
        {GF_OPTIM_ADAM, 4, INFINITY, "eps"},
        {GF_OPTIM_SGD, 5, -1e-4, "weight_decay"},
        {GF_OPTIM_MOMENTUM, 5, NAN, "weight_decay"},
        {GF_OPTIM_ADAM, 5, INFINITY, "weight_decay"},
    };
    (void)state;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        gf_optim_config c = gf_optim_default(cases[k].kind);
        double *f[6] = {&c.lr, &c.momentum, &c.beta1, &c.beta2, &c.eps, &c.weight_decay};
        gf_optim *o = (gf_optim *)&c; /* must be reset to NULL */
        *f[cases[k].field] = cases[k].value;
        gf_clear_error();
        gf_status st = gf_optim_new(&o, &c, 4);
        if (st != GF_EINVAL || strstr(gf_last_error(), cases[k].name) == NULL)
            fail_msg("case %zu (%s = %g): status %d, message '%s'", k, cases[k].name,
                     cases[k].value, (int)st, gf_last_error());
        assert_null(o);
    }

    /* Kind, sizes and pointers. */
    gf_optim_config c = gf_optim_default(GF_OPTIM_SGD);
    gf_optim *o = NULL;
    c.kind = GF_OPTIM_COUNT;
    gf_clear_error();
    assert_failed_with(gf_optim_new(&o, &c, 4), GF_EINVAL);
    assert_non_null(strstr(gf_last_error(), "kind"));
    c = gf_optim_default(GF_OPTIM_ADAM);
    gf_clear_error();
    assert_failed_with(gf_optim_new(&o, &c, 0), GF_EINVAL);
    assert_non_null(strstr(gf_last_error(), "n "));
    gf_clear_error();
    assert_failed_with(gf_optim_new(&o, &c, SIZE_MAX), GF_EINVAL);
    gf_clear_error();
    assert_failed_with(gf_optim_new(&o, &c, ((size_t)1 << 40) + 1), GF_EINVAL);
    gf_clear_error();
    assert_failed_with(gf_optim_new(&o, NULL, 4), GF_EINVAL);
    gf_clear_error();
    assert_failed_with(gf_optim_new(NULL, &c, 4), GF_EINVAL);
    assert_null(o);
}

/* Fields a kind does not use are not checked: {.kind, .lr} alone is a valid SGD. */
static void unused_fields_ignored(void **state)
{
    gf_optim_config c = {.kind = GF_OPTIM_SGD, .lr = 0.1};
    gf_optim *o = NULL;
    (void)state;
    c.momentum = NAN;
    assert_int_equal(gf_optim_new(&o, &c, 2), GF_OK);
    gf_optim_free(o);
    c.kind = GF_OPTIM_MOMENTUM;
    c.momentum = 0.0; /* mu = 0 is plain SGD, allowed */
    assert_int_equal(gf_optim_new(&o, &c, 2), GF_OK);
    gf_optim_free(o);
}

static void compute_bad_arguments(void **state)
{
    gf_optim_config c = gf_optim_default(GF_OPTIM_MOMENTUM);
    gf_optim *o = make(&c, 3);
    gf_real p[4] = {0}, g[4] = {1, 1, 1, 1}, d[4];
    (void)state;
    gf_clear_error();
    assert_failed_with(gf_optim_compute(o, d, p, g, 4), GF_ESHAPE);
    assert_non_null(strstr(gf_last_error(), "3"));
    gf_clear_error();
    assert_failed_with(gf_optim_compute(o, d, p, g, 2), GF_ESHAPE);
    gf_clear_error();
    assert_failed_with(gf_optim_compute(NULL, d, p, g, 3), GF_EINVAL);
    gf_clear_error();
    assert_failed_with(gf_optim_compute(o, NULL, p, g, 3), GF_EINVAL);
    gf_clear_error();
    assert_failed_with(gf_optim_compute(o, d, NULL, g, 3), GF_EINVAL);
    gf_clear_error();
    assert_failed_with(gf_optim_compute(o, d, p, NULL, 3), GF_EINVAL);
    /* Failed calls leave the state alone. */
    assert_true(gf_optim_steps(o) == 0);
    assert_true(gf_optim_state(o, NULL, 0)[0] == 0);
    gf_optim_free(o);
}

/* ---- Allocation failure ---------------------------------------------------------- */

static void *failing_alloc(size_t size, void *user)
{
    (void)size;
    (void)user;
    return NULL;
}
static void *std_realloc(void *p, size_t size, void *user)
{
    (void)user;
    return realloc(p, size);
}
static void std_free(void *p, void *user)
{
    (void)user;
    free(p);
}

static void allocation_failure_is_enomem(void **state)
{
    const gf_allocator fail = {failing_alloc, std_realloc, std_free, NULL};
    gf_optim_config c = gf_optim_default(GF_OPTIM_ADAM);
    gf_optim *o = (gf_optim *)&c;
    (void)state;
    gf_set_allocator(&fail);
    gf_clear_error();
    gf_status st = gf_optim_new(&o, &c, 8);
    gf_set_allocator(NULL);
    assert_failed_with(st, GF_ENOMEM);
    assert_null(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_match_header),
        cmocka_unit_test(names_round_trip),
        cmocka_unit_test(sgd_on_quadratic),
        cmocka_unit_test(momentum_three_steps_by_hand),
        cmocka_unit_test(adam_first_step_is_lr_sign_g),
        cmocka_unit_test(adam_matches_double_reference),
        cmocka_unit_test(weight_decay_is_l2_on_gradient),
        cmocka_unit_test(adam_weight_decay_is_l2_not_decoupled),
        cmocka_unit_test(lr_schedules_follow_their_formulas),
        cmocka_unit_test(delta_in_place),
        cmocka_unit_test(adam_resume_is_bit_identical),
        cmocka_unit_test(state_accessors),
        cmocka_unit_test(bad_configs_rejected),
        cmocka_unit_test(unused_fields_ignored),
        cmocka_unit_test(compute_bad_arguments),
        cmocka_unit_test(allocation_failure_is_enomem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
