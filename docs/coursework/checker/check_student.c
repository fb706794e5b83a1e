/* check_student.c: the coursework checker. Links with a student's file that defines
 * student_activation() (student.h) and checks, one cmocka test per claim: the row is
 * complete; f' agrees with central differences of f; the array versions agree with
 * the scalar ones; |f'| <= the stated bound, which is reached; a small network using
 * the activation passes gradflow's gradient check; the bound caps every layer's
 * backward signal in a 10-layer network; and, initialised as the row says suits it,
 * that network passes the backward signal within a factor of 10 over 10 layers.
 * Build and run: check.sh student.c (see docs/coursework/README.md). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "student.h"

static const gf_activation *act; /* the student's row, set once in main */

static double param(void) { return act->default_param; }
static double f(double x) { return act->f(x, param()); }
static double df(double x) { return act->df(x, param()); }

/* A grid over [lo, hi] that steps over x = 0 and every multiple of 1/40: the kinks
 * of piecewise activations (ReLU at 0, hard tanh at +-1) sit half a step away. */
static double grid(size_t i, size_t n, double lo, double hi)
{
    return lo + (hi - lo) * ((double)i + 0.5) / (double)n;
}

/* The checks below call the row's functions; stop at once, with a clear message, when
 * the row is unusable (row_is_complete says which field). */
static void require_usable_row(void)
{
    if (act == NULL || act->f == NULL || act->df == NULL || act->forward == NULL ||
        act->deriv == NULL || act->deriv_bound == NULL || act->gain == NULL ||
        act->suited_init == NULL)
        fail_msg("the activation row is incomplete (see row_is_complete)");
}

/* The worst mismatches of a check, worst first: a student sees where f' is furthest off,
 * not merely where the grid first crosses a mistake. */
enum { WORST = 5 };
typedef struct worst_points {
    double score[WORST]; /* error / tolerance, > 1 for a mismatch */
    char text[WORST][160];
    size_t n;            /* kept (<= WORST) */
    size_t bad;          /* mismatches in all */
} worst_points;

static void note_mismatch(worst_points *w, double score, const char *text)
{
    size_t i;
    w->bad++;
    if (w->n < WORST)
        w->n++;
    else if (!(score > w->score[WORST - 1]))
        return;
    /* Insert in order, dropping the least bad when the list is full. */
    for (i = w->n - 1; i > 0 && w->score[i - 1] < score; i--) {
        w->score[i] = w->score[i - 1];
        memcpy(w->text[i], w->text[i - 1], sizeof w->text[i]);
    }
    w->score[i] = score;
    snprintf(w->text[i], sizeof w->text[i], "%s", text);
}

static void print_worst(const worst_points *w)
{
    if (w->bad > w->n)
        print_error("the %zu worst of %zu mismatches:\n", w->n, w->bad);
    for (size_t i = 0; i < w->n; i++)
        print_error("%s\n", w->text[i]);
}

/* ---- The row ------------------------------------------------------------------------ */

static void row_is_complete(void **state)
{
    gf_init init;
    (void)state;
    assert_non_null(act);
    assert_non_null(act->name);
    assert_true(act->name[0] != '\0');
    assert_non_null(act->formula);
    assert_non_null(act->f);
    assert_non_null(act->df);
    assert_non_null(act->forward);
    assert_non_null(act->deriv);
    assert_non_null(act->deriv_bound);
    assert_non_null(act->gain);
    assert_non_null(act->suited_init);
    if (gf_init_from_name(&init, act->suited_init) != GF_OK)
        fail_msg("suited_init \"%s\" is not an init scheme: %s", act->suited_init,
                 gf_last_error());
    if (act->surrogate)
        fail_msg("surrogate must be 0: the coursework asks for the true derivative");
    if (!isfinite(param()))
        fail_msg("default_param must be finite");
    double b = act->deriv_bound(param()), g = act->gain(param());
    if (!(isfinite(b) && b > 0))
        fail_msg("deriv_bound must be finite and > 0, not %g", b);
    if (!(isfinite(g) && g > 0))
        fail_msg("gain must be finite and > 0, not %g", g);
}

/* ---- f' against f ------------------------------------------------------------------- */

/* Scalar f and f' are in double whatever gf_real is: h = 1e-5 leaves a truncation error
 * h^2 |f'''| / 6 ~ 1e-11 and a rounding error eps |f| / h ~ 1e-10, so 1e-6 abs + 1e-5
 * rel is wide for a right f' and far below any real mistake (a missing factor, a sign,
 * f' evaluated at the wrong place). */
static void derivative_matches_central_difference(void **state)
{
    const size_t n = 480;
    const double h = 1e-5;
    worst_points w = {0};
    double largest = 0, f_lo = INFINITY, f_hi = -INFINITY;
    (void)state;
    require_usable_row();
    for (size_t i = 0; i < n; i++) {
        double x = grid(i, n, -6, 6);
        double num = (f(x + h) - f(x - h)) / (2 * h), an = df(x);
        double tol = 1e-6 + 1e-5 * fabs(num);
        if (!(fabs(num - an) <= tol)) {
            char text[160];
            snprintf(text, sizeof text,
                     "x = %+.4f: your f'(x) = %.9g, central difference of f = %.9g", x, an,
                     num);
            note_mismatch(&w, isnan(an) ? INFINITY : fabs(num - an) / tol, text);
        }
        largest = fmax(largest, fabs(an));
        f_lo = fmin(f_lo, f(x));
        f_hi = fmax(f_hi, f(x));
    }
    print_worst(&w);
    if (w.bad > 0)
        fail_msg("f' disagrees with the central difference of f at %zu of %zu points", w.bad,
                 n);
    /* A zero derivative would agree with any constant f: that proves nothing. */
    if (!(largest > 1e-3) || !(f_hi - f_lo > 1e-3))
        fail_msg("f is constant (or f' is zero) on [-6, 6]: nothing is checked");
    /* Far out, a stable formula stays finite (exp(x)/(1+exp(x)) gives inf/inf = NaN). */
    static const double far[] = {-1000, -50, -20, 20, 50, 1000};
    for (size_t i = 0; i < sizeof far / sizeof far[0]; i++)
        if (!isfinite(f(far[i])) || !isfinite(df(far[i])))
            fail_msg("f(%g) = %g, f'(%g) = %g: not finite (overflow?)", far[i], f(far[i]),
                     far[i], df(far[i]));
}

/* forward and deriv on gf_real arrays agree with f and f'. In float, f' computed from
 * y = f(x) (sigmoid's y (1 - y)) loses bits to cancellation where f' is small, hence
 * 1e-5 abs + 1e-3 rel; in double 1e-9 + 1e-7. */
static void array_versions_match_the_scalar_ones(void **state)
{
    enum { N = 480 };
    gf_real x[N], y[N], d[N];
    const double fabs_tol = GF_REAL_IS_DOUBLE ? 1e-12 : 1e-6;
    const double frel_tol = GF_REAL_IS_DOUBLE ? 1e-12 : 1e-6;
    const double dabs_tol = GF_REAL_IS_DOUBLE ? 1e-9 : 1e-5;
    const double drel_tol = GF_REAL_IS_DOUBLE ? 1e-7 : 1e-3;
    worst_points w = {0};
    double f_lo = INFINITY, f_hi = -INFINITY, d_max = 0;
    (void)state;
    require_usable_row();
    for (size_t i = 0; i < N; i++)
        x[i] = (gf_real)grid(i, N, -6, 6);
    act->forward(y, x, N, (gf_real)param());
    act->deriv(d, x, y, N, (gf_real)param());
    for (size_t i = 0; i < N; i++) {
        double xi = (double)x[i], fy = f(xi), fd = df(xi), yi = (double)y[i], di = (double)d[i];
        double ftol = fabs_tol + frel_tol * fabs(fy), dtol = dabs_tol + drel_tol * fabs(fd);
        char text[160];
        if (!(fabs(yi - fy) <= ftol)) {
            snprintf(text, sizeof text, "forward: x = %+.4f gives %.9g, f(x) = %.9g", xi, yi, fy);
            note_mismatch(&w, isnan(yi) ? INFINITY : fabs(yi - fy) / ftol, text);
        }
        if (!(fabs(di - fd) <= dtol)) {
            snprintf(text, sizeof text, "deriv: x = %+.4f gives %.9g, f'(x) = %.9g", xi, di, fd);
            note_mismatch(&w, isnan(di) ? INFINITY : fabs(di - fd) / dtol, text);
        }
        f_lo = fmin(f_lo, yi), f_hi = fmax(f_hi, yi), d_max = fmax(d_max, fabs(di));
    }
    print_worst(&w);
    if (w.bad > 0)
        fail_msg("the array versions disagree with f and f' (%zu mismatches)", w.bad);
    /* Arrays of zeros agree with a zero f and f': that proves nothing. */
    if (!(f_hi - f_lo > 1e-3) || !(d_max > 1e-3))
        fail_msg("forward or deriv gives a constant (zero) array on [-6, 6]: nothing is "
                 "checked");
}

/* sup |f'| over a fine grid of [-20, 20] is at most the stated bound and at least 90%
 * of it: a bound is a claim about the worst case, and a loose one predicts nothing. */
static void derivative_bound_holds_and_is_reached(void **state)
{
    const size_t n = 40000;
    double b, top = 0, at = 0;
    (void)state;
    require_usable_row();
    b = act->deriv_bound(param());
    if (!(isfinite(b) && b > 0))
        fail_msg("your bound %g must be finite and > 0", b);
    for (size_t i = 0; i < n; i++) {
        double x = grid(i, n, -20, 20), d = fabs(df(x));
        if (d > top)
            top = d, at = x;
    }
    print_message("sup |f'| = %.7g at x = %+.4f; your bound %.7g\n", top, at, b);
    if (!(top > 0))
        fail_msg("f' is zero on all of [-20, 20]: there is nothing to bound");
    if (!(top <= b * (1 + 1e-9)))
        fail_msg("|f'(%g)| = %.9g exceeds your bound %.9g", at, top, b);
    if (!(top >= 0.9 * b))
        fail_msg("your bound %.9g is loose: |f'| never exceeds %.9g on [-20, 20]", b, top);
}

/* ---- Networks using the activation ------------------------------------------------- */

/* The init the row says suits f: its scheme with its gain (for He, the gain is
 * sqrt(2/(1+a^2)), so the slope a is recovered from it, as gf_net_new_mlp does). */
static gf_init suited_init(void)
{
    gf_init init;
    double g = act->gain(param());
    assert_int_equal(gf_init_from_name(&init, act->suited_init), GF_OK);
    if (init.kind == GF_INIT_HE_NORMAL || init.kind == GF_INIT_HE_UNIFORM) {
        double a2 = 2 / (g * g) - 1;
        init.slope = a2 > 0 ? sqrt(a2) : 0;
    } else {
        init.gain = g;
    }
    return init;
}

/* in -> [linear(width) -> student] x hidden -> linear(out), initialised by init. */
static gf_net *build(size_t in, size_t width, size_t hidden, size_t out, const gf_init *init,
                     gf_rng *rng)
{
    gf_net *net = NULL;
    assert_int_equal(gf_net_new(&net, in), GF_OK);
    for (size_t i = 0; i < hidden; i++) {
        gf_layer l;
        assert_int_equal(gf_net_add_linear(net, width), GF_OK);
        if (gf_layer_activation(&l, width, act, (gf_real)param()) != GF_OK ||
            gf_net_add_layer(net, &l) != GF_OK)
            fail_msg("cannot add the activation layer: %s", gf_last_error());
    }
    assert_int_equal(gf_net_add_linear(net, out), GF_OK);
    if (gf_net_init(net, init, rng) != GF_OK)
        fail_msg("cannot initialise with %s: %s", act->suited_init, gf_last_error());
    return net;
}

static gf_tensor *random_tensor(size_t rows, size_t cols, gf_rng *rng, int signs)
{
    gf_tensor *t = NULL;
    assert_int_equal(gf_tensor_new(&t, rows, cols), GF_OK);
    for (size_t i = 0; i < rows * cols; i++)
        t->data[i] = (gf_real)(signs ? (gf_rng_uniform(rng) < 0.5 ? -1 : 1)
                                     : gf_rng_normal(rng));
    return t;
}

/* 1 when f has a kink (a jump of f') within k = 1e-2 of v, seen from f alone: on a grid
 * of step s = 1e-3 over [v - 2k, v + 2k], a smooth f has second differences f'' s^2,
 * about equal along the grid, while a kink puts one of about jump x s, a thousand times
 * larger, where it sits. f' is not used: a wrong f' is check 2's finding, not a kink. */
static int kink_near(double v)
{
    enum { STEPS = 40 };
    const double s = 1e-3;
    double d2[STEPS - 1], sorted[STEPS - 1], top = 0;
    for (size_t i = 1; i < STEPS; i++) {
        double x = v - 0.02 + s * (double)i;
        d2[i - 1] = fabs(f(x + s) - 2 * f(x) + f(x - s));
        top = fmax(top, d2[i - 1]);
    }
    /* The median second difference is the smooth part's size. */
    memcpy(sorted, d2, sizeof d2);
    for (size_t i = 1; i < STEPS - 1; i++)
        for (size_t j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
            double t = sorted[j];
            sorted[j] = sorted[j - 1], sorted[j - 1] = t;
        }
    return top > 100 * sorted[(STEPS - 1) / 2] + 1e-7 * (1 + fabs(f(v)));
}

/* 1 when every value entering an activation layer of the last forward pass is away
 * from a kink of f, where the gradient check's differences (steps up to 1e-3) would
 * straddle it and disagree with any f'. */
static int off_kinks(gf_net *net)
{
    for (size_t i = 0; i < gf_net_layer_count(net); i++) {
        const gf_tensor *x = gf_net_activation(net, i);
        if (gf_net_layer(net, i)->act != act || x == NULL)
            continue;
        for (size_t j = 0; j < x->rows * x->cols; j++)
            if (kink_near((double)x->data[j]))
                return 0;
    }
    return 1;
}

/* gradflow's own gradient check (every parameter and every layer's input gradient
 * against central differences) on 5 -> 8 -> 8 -> 3 with the student's activation. The
 * thresholds are the library's tests': 1e-6 in double, 2e-2 in float (h = 1e-3 there,
 * rounding eps |L| / h). Seeds whose pre-activations sit on a kink are skipped. */
static void network_passes_the_gradient_check(void **state)
{
    gf_init init;
    gf_gradcheck_layer res[5];
    double worst = INFINITY;
    const double limit = GF_REAL_IS_DOUBLE ? 1e-6 : 2e-2;
    int checked = 0;
    (void)state;
    require_usable_row();
    init = suited_init();
    init.bias = 0.1;
    for (uint64_t seed = 1; seed <= 20 && !checked; seed++) {
        gf_rng rng;
        gf_rng_seed(&rng, seed);
        gf_net *net = build(5, 8, 2, 3, &init, &rng);
        gf_tensor *x = random_tensor(4, 5, &rng, 0), *t = random_tensor(4, 3, &rng, 0);
        assert_int_equal(gf_net_forward(net, NULL, x), GF_OK);
        if (off_kinks(net)) {
            checked = 1;
            if (gf_net_gradcheck(net, res, &worst, x, t, GF_LOSS_MSE, NULL) != GF_OK)
                fail_msg("gf_net_gradcheck: %s", gf_last_error());
        }
        gf_tensor_free(x);
        gf_tensor_free(t);
        gf_net_free(net);
    }
    if (!checked)
        fail_msg("every seed put a pre-activation within 1e-2 of a kink of f (a jump in f')");
    for (size_t i = 0; i < 5; i++)
        print_message("layer %zu: param err %.3g, input err %.3g, |grad| %.3g\n", i,
                      res[i].param_err, res[i].input_err, res[i].grad_norm);
    for (size_t i = 0; i < 5; i++)
        if (!(res[i].grad_norm > 1e-8))
            fail_msg("layer %zu has a zero gradient: the check would prove nothing", i);
    if (!(worst <= limit))
        fail_msg("worst relative error %.3g > %.3g: the backward pass through your "
                 "activation is wrong", worst, limit);
}

/* A 10-layer network (width 128) initialised by the row's suited init, on a batch of
 * N(0, 1) inputs, probed from the top by a fixed dL/dy of random signs (the signal
 * then does not depend on a loss). Fills the telemetry of one backward pass. */
enum { DEPTH = 10, WIDTH = 128, BATCH = 64, SEEDS = 4 };

static gf_net *probe(uint64_t seed, const gf_record **recs, size_t *n)
{
    gf_rng rng;
    gf_init init = suited_init();
    gf_rng_seed(&rng, seed);
    gf_net *net = build(WIDTH, WIDTH, DEPTH, 10, &init, &rng);
    gf_tensor *x = random_tensor(BATCH, WIDTH, &rng, 0), *dy = random_tensor(BATCH, 10, &rng, 1);
    assert_int_equal(gf_net_forward(net, NULL, x), GF_OK);
    if (gf_net_backward_from(net, dy) != GF_OK)
        fail_msg("backward: %s", gf_last_error());
    assert_int_equal(gf_net_last_records(net, recs, n), GF_OK);
    assert_int_equal(*n, 2 * DEPTH + 1);
    gf_tensor_free(x);
    gf_tensor_free(dy);
    return net;
}

/* Element-wise, the signal dL/dh at an activation layer's input is f'(x) times the one
 * at its output, at most B times it, so the norms (the telemetry's grad_in_norm and
 * grad_out_norm) obey in <= B out: the telemetry must show it at every layer. Layers are
 * numbered as the figures number them: network layer i = 2k - 1 is layer k's activation. */
static void bound_caps_every_layer(void **state)
{
    const gf_record *recs = NULL;
    size_t n = 0;
    double b;
    (void)state;
    require_usable_row();
    b = act->deriv_bound(param());
    gf_net *net = probe(1, &recs, &n);
    for (size_t i = 1; i < n; i += 2) {
        double in = recs[i].grad_in_norm, out = recs[i].grad_out_norm;
        if (!(in <= b * out * (1 + 1e-4)))
            fail_msg("layer %zu (%s): ||dL/dh|| at its input, %.6g, exceeds your bound %.6g "
                     "times the one at its output, %.6g", (i + 1) / 2, act->name, in, b, out);
        if (!(recs[i].deriv_abs_mean <= b * (1 + 1e-4)))
            fail_msg("layer %zu (%s): mean |f'| = %.6g exceeds your bound %.6g", (i + 1) / 2,
                     act->name, recs[i].deriv_abs_mean, b);
    }
    gf_net_free(net);
}

/* The profile: ||dL/dh|| entering each linear layer, geometric mean over 4 seeds. From
 * the 10th hidden layer down to the input it must change by less than a factor of 10
 * (a per-layer factor within 10^(1/10) = 1.26 either way): the init the row names,
 * with its gain, has to suit f. And the forward signal must reach the top. */
static void suited_init_keeps_the_gradient_profile_flat(void **state)
{
    double logp[DEPTH + 1] = {0}, top_std = 0;
    (void)state;
    require_usable_row();
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        const gf_record *recs = NULL;
        size_t n = 0;
        gf_net *net = probe(seed, &recs, &n);
        for (size_t l = 0; l <= DEPTH; l++)
            logp[l] += log10(recs[2 * l].grad_in_norm) / SEEDS;
        top_std += recs[2 * DEPTH - 1].act_std / SEEDS;
        gf_net_free(net);
    }
    print_message("%s with %s (gain %.4g): ||dL/dh|| entering each linear layer\n",
                  act->name, act->suited_init, act->gain(param()));
    for (size_t l = 0; l <= DEPTH; l++)
        print_message("  layer %2zu  %.3e\n", l + 1, pow(10, logp[l]));
    double ratio = pow(10, logp[0] - logp[DEPTH]);
    print_message("bottom / top = %.3g over %d layers (%.3f per layer); top activation "
                  "std %.3g\n", ratio, DEPTH, pow(ratio, 1.0 / DEPTH), top_std);
    if (!isfinite(ratio) || ratio < 0.1)
        fail_msg("the gradient vanishes: bottom / top = %.3g < 0.1 over %d layers", ratio,
                 DEPTH);
    if (ratio > 10)
        fail_msg("the gradient explodes: bottom / top = %.3g > 10 over %d layers", ratio,
                 DEPTH);
    if (!(top_std > 1e-2))
        fail_msg("the forward signal dies: std of the last hidden activation %.3g", top_std);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(row_is_complete),
        cmocka_unit_test(derivative_matches_central_difference),
        cmocka_unit_test(array_versions_match_the_scalar_ones),
        cmocka_unit_test(derivative_bound_holds_and_is_reached),
        cmocka_unit_test(network_passes_the_gradient_check),
        cmocka_unit_test(bound_caps_every_layer),
        cmocka_unit_test(suited_init_keeps_the_gradient_profile_flat),
    };
    act = student_activation();
    printf("checking \"%s\": %s\n", act && act->name ? act->name : "(null)",
           act && act->formula ? act->formula : "(no formula)");
    return cmocka_run_group_tests_name("coursework checker", tests, NULL, NULL);
}
