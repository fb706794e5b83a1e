/* tests/test_act.c: activations, in two sources (tests/test_act.h). Here the activation
 * table, row by row with no per-row code: df against central differences of f, the
 * array loops against the scalar functions, |f'| within its bound; then known figures
 * (sigmoid'(5), tanh'(0), ...), stability at +-1000 and look-up by name; then accuracy:
 * the reference scalars and the fast array loops against long double over [-100, 100],
 * tails and clamp points included. test_act_layer.c: the reference and the fused
 * activation layers against each other, saturated tanh, a row without array loops. */
#include "test_act.h"

/* Parameters tried for rows that have one: the default, a larger and a negative value
 * (ELU with negative alpha and leaky with negative slope are unusual but legal). */
size_t params_of(const gf_activation *a, double *p)
{
    if (a->param_name == NULL) {
        p[0] = a->default_param;
        return 1;
    }
    p[0] = a->default_param;
    p[1] = 0.3;
    p[2] = 1.7;
    p[3] = -0.2;
    return 4;
}

/* Every kink in the table is at x = 0; points closer than this are skipped by the
 * finite-difference check. */
#define KINK_GAP 1e-3

/* The scalar f and df are double in both builds (act.h), so the check is tight in
 * both: with h = 1e-6 the truncation error h^2 |f'''| / 6 is below 1e-12 and the
 * rounding error about 1e-16 |f| / h <= 1e-9 for |f| <= 8 on this grid.
 * A row flagged surrogate (df is a chosen backward signal, not f') must instead differ
 * from the central difference somewhere: the flag has to be honest both ways. */
static void df_matches_central_difference(void **state)
{
    const double h = 1e-6;
    (void)state;
    for (size_t r = 0; r < gf_activation_count(); r++) {
        const gf_activation *a = gf_activation_at(r);
        double params[4];
        size_t np = params_of(a, params);
        for (size_t k = 0; k < np; k++) {
            double nonzero = 0;
            size_t mismatches = 0;
            for (double x = -8.0; x <= 8.0; x += 0.0137) {
                double num, ana;
                if (fabs(x) < KINK_GAP)
                    continue;
                num = (a->f(x + h, params[k]) - a->f(x - h, params[k])) / (2 * h);
                ana = a->df(x, params[k]);
                nonzero += fabs(ana);
                if (fabs(num - ana) <= 1e-7 + 1e-6 * fabs(num))
                    continue;
                mismatches++;
                if (!a->surrogate)
                    fail_msg("%s (param %g): f'(%g) = %.12g, central difference %.12g",
                             a->name, params[k], x, ana, num);
            }
            if (!(nonzero > 1e-3))
                fail_msg("%s: derivative is zero everywhere on the grid", a->name);
            if (a->surrogate && params[k] != 0 && mismatches == 0)
                fail_msg("%s is flagged surrogate but df equals f' everywhere", a->name);
        }
    }
}

/* The array loops (gf_real) agree with the scalar functions (double) to a few units of
 * gf_real's rounding. The tolerance is absolute as well as relative because y(1-y)
 * and 1 - y^2 cancel where y is near 1: the error there is about eps, not eps |f'|. */
static void arrays_match_scalars(void **state)
{
    enum { N = 801 };
    gf_real x[N], y[N], d[N];
    (void)state;
    for (size_t i = 0; i < N; i++)
        x[i] = (gf_real)(-40.0 + 0.1 * (double)i); /* includes 0 exactly (i = 400) */
    for (size_t r = 0; r < gf_activation_count(); r++) {
        const gf_activation *a = gf_activation_at(r);
        double params[4];
        size_t np = params_of(a, params);
        for (size_t k = 0; k < np; k++) {
            gf_real p = (gf_real)params[k];
            gf_act_forward(a, y, x, N, p);
            gf_act_deriv(a, d, x, y, N, p);
            for (size_t i = 0; i < N; i++) {
                double fy = a->f((double)x[i], (double)p);
                double fd = a->df((double)x[i], (double)p);
                if (fabs(y[i] - fy) > 8 * REAL_EPS * (fabs(fy) + 1e-30))
                    fail_msg("%s: forward(%g) = %.9g, f = %.9g", a->name, (double)x[i],
                             (double)y[i], fy);
                if (fabs(d[i] - fd) > 8 * REAL_EPS * (fabs(fd) + 1))
                    fail_msg("%s: deriv(%g) = %.9g, df = %.9g", a->name, (double)x[i],
                             (double)d[i], fd);
            }
        }
    }
}

/* In place: forward with y == x gives the same values. */
static void forward_in_place(void **state)
{
    enum { N = 64 };
    gf_real x[N], y[N];
    (void)state;
    for (size_t r = 0; r < gf_activation_count(); r++) {
        const gf_activation *a = gf_activation_at(r);
        gf_real p = (gf_real)a->default_param;
        for (size_t i = 0; i < N; i++)
            x[i] = (gf_real)(-3.1 + 0.1 * (double)i);
        gf_act_forward(a, y, x, N, p);
        gf_act_forward(a, x, x, N, p);
        assert_memory_equal(x, y, sizeof x);
    }
}

/* |f'| <= deriv_bound everywhere, kinks and tails included (a tiny relative slack for
 * y(1-y) rounding at y = 1/2); and the bound is attained or approached on the grid. */
static void derivative_within_bound(void **state)
{
    (void)state;
    for (size_t r = 0; r < gf_activation_count(); r++) {
        const gf_activation *a = gf_activation_at(r);
        double params[4];
        size_t np = params_of(a, params);
        for (size_t k = 0; k < np; k++) {
            double bound = a->deriv_bound(params[k]), largest = 0;
            assert_true(bound > 0 && isfinite(bound));
            for (double x = -60.0; x <= 60.0; x += 0.01) {
                double d = fabs(a->df(x, params[k]));
                if (d > bound * (1 + 1e-12))
                    fail_msg("%s (param %g): |f'(%g)| = %.17g > bound %.17g", a->name,
                             params[k], x, d, bound);
                if (d > largest)
                    largest = d;
            }
            {
                double d0 = fabs(a->df(0.0, params[k]));
                assert_true(d0 <= bound * (1 + 1e-12));
                if (d0 > largest)
                    largest = d0;
            }
            /* A bound far above every value would make sat_frac meaningless. */
            if (largest < 0.99 * bound)
                fail_msg("%s (param %g): largest |f'| %.6g well below the bound %.6g",
                         a->name, params[k], largest, bound);
        }
    }
}

/* Each row is complete: names unique, every pointer set, a positive gain, a formula. */
static void table_rows_are_complete(void **state)
{
    static const char *const expected[] = {"identity", "sigmoid", "tanh", "relu",
                                           "leaky_relu", "softplus", "elu", "abs",
                                           "softsign", "relu_leaky_backward"};
    size_t n = gf_activation_count();
    (void)state;
    assert_true(n >= sizeof expected / sizeof expected[0]);
    assert_null(gf_activation_at(n));
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        const gf_activation *a = NULL;
        assert_int_equal(gf_activation_find(&a, expected[i]), GF_OK);
        assert_non_null(a);
        assert_string_equal(a->name, expected[i]);
    }
    for (size_t r = 0; r < n; r++) {
        const gf_activation *a = gf_activation_at(r), *found = NULL;
        assert_non_null(a);
        assert_non_null(a->name);
        assert_non_null(a->formula);
        assert_true(strlen(a->formula) > 10);
        assert_non_null(a->f);
        assert_non_null(a->df);
        /* The array loops are optional (for speed), but come as a pair. */
        assert_true((a->forward == NULL) == (a->deriv == NULL));
        assert_non_null(a->deriv_bound);
        assert_non_null(a->suited_init);
        assert_non_null(a->gain);
        assert_true(a->gain(a->default_param) > 0);
        assert_true(isfinite(a->default_param));
        assert_int_equal(gf_activation_find(&found, a->name), GF_OK);
        assert_ptr_equal(found, a); /* also: no two rows share a name */
    }
}

const gf_activation *row(const char *name)
{
    const gf_activation *a = NULL;
    assert_int_equal(gf_activation_find(&a, name), GF_OK);
    return a;
}

/* The figures the table promises, checked against closed forms. */
static void bounds_inits_and_gains(void **state)
{
    static const struct {
        const char *name;
        double bound, gain;
        int saturating;
        const char *init;
    } want[] = {
        {"identity", 1, 1, 0, "lecun"},
        {"sigmoid", 0.25, 1, 1, "xavier"},
        {"tanh", 1, 5.0 / 3.0, 1, "xavier"},
        {"relu", 1, 1.4142135623730951, 0, "he"},
        {"leaky_relu", 1, 1.4141428569978354, 0, "he"}, /* sqrt(2/(1+0.01^2)) */
        {"softplus", 1, 1.4142135623730951, 1, "he"},
        {"elu", 1, 1.4142135623730951, 1, "he"},
        {"abs", 1, 1.4142135623730951, 0, "he"},
        {"softsign", 1, 1, 1, "xavier"},
        {"relu_leaky_backward", 1, 1.4142135623730951, 0, "he"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const gf_activation *a = row(want[i].name);
        assert_true(fabs(a->deriv_bound(a->default_param) - want[i].bound) < 1e-15);
        assert_true(fabs(a->gain(a->default_param) - want[i].gain) < 1e-15);
        assert_int_equal(a->saturating, want[i].saturating);
        assert_string_equal(a->suited_init, want[i].init);
    }
    assert_string_equal(row("leaky_relu")->param_name, "slope");
    assert_true(row("leaky_relu")->default_param == 0.01);
    assert_string_equal(row("relu_leaky_backward")->param_name, "slope");
    assert_true(row("relu_leaky_backward")->default_param == 0.01);
    assert_string_equal(row("elu")->param_name, "alpha");
    assert_true(row("elu")->default_param == 1.0);
    assert_null(row("relu")->param_name);
    /* Bounds that grow with the parameter. */
    assert_true(row("leaky_relu")->deriv_bound(3.0) == 3.0);
    assert_true(row("leaky_relu")->deriv_bound(-2.5) == 2.5);
    assert_true(row("elu")->deriv_bound(2.0) == 2.0);
    assert_true(row("relu_leaky_backward")->deriv_bound(4.0) == 4.0);
    assert_true(fabs(row("leaky_relu")->gain(0.2) - sqrt(2.0 / 1.04)) < 1e-15);
    /* The surrogate is flagged, and its formula does not pass it off as f'. */
    assert_true(row("relu_leaky_backward")->surrogate);
    assert_non_null(strstr(row("relu_leaky_backward")->formula, "choice"));
    for (size_t r = 0; r < gf_activation_count(); r++)
        if (strcmp(gf_activation_at(r)->name, "relu_leaky_backward") != 0)
            assert_false(gf_activation_at(r)->surrogate);
}

static void known_figures(void **state)
{
    const gf_activation *sig = row("sigmoid"), *th = row("tanh"), *sp = row("softplus");
    const gf_activation *relu = row("relu"), *leaky = row("leaky_relu");
    const gf_activation *elu = row("elu"), *ab = row("abs"), *ss = row("softsign");
    const gf_activation *necro = row("relu_leaky_backward"), *id = row("identity");
    double s5 = 1 / (1 + exp(-5.0));
    (void)state;

    /* sigmoid'(5) = s(5)(1 - s(5)) = 0.006648 (4 significant digits), to within an ulp
     * (8.7e-19) of e^-5/(1+e^-5)^2: s5 * (1 - s5) in double is 140 ulps off (1.2e-16),
     * as 1 - s5 cancels, so it is checked against long double. */
    assert_true(fabs(sig->f(5, 0) - s5) < 1e-16);
    {
        long double e5 = expl(-5.0L), exact = e5 / ((1 + e5) * (1 + e5));
        assert_true(fabsl((long double)sig->df(5, 0) - exact) < 1e-18L);
        assert_true(fabsl((long double)(s5 * (1 - s5)) - exact) < 2e-16L);
    }
    assert_true(fabs(sig->df(5, 0) - 0.006648) < 5e-7);
    assert_true(fabs(sig->df(5, 0) - 0.0066480566707901) < 1e-15);
    /* Its maximum is 1/4, at 0 and only there: a sigmoid layer shrinks the signal by 4
     * or more. */
    assert_true(sig->df(0, 0) == 0.25);
    assert_true(sig->f(0, 0) == 0.5);
    for (double x = -10; x <= 10; x += 0.25)
        if (x != 0)
            assert_true(sig->df(x, 0) < 0.25);
    /* Symmetric (it was up to the cancellation in 1 - y for y near 1, eps / (1 - y) =
     * 2e-14 relative at x = 5; f' is now taken at -|x|, so exactly). */
    assert_true(fabs(sig->df(-5, 0) - sig->df(5, 0)) < 1e-13 * sig->df(5, 0));
    assert_true(sig->df(-5, 0) == sig->df(5, 0));

    assert_true(th->df(0, 0) == 1);
    assert_true(fabs(th->df(1, 0) - (1 - tanh(1.0) * tanh(1.0))) < 1e-16);
    /* tanh'(x) = 4 sigmoid'(2x). */
    assert_true(fabs(th->df(0.7, 0) - 4 * sig->df(1.4, 0)) < 1e-15);

    /* softplus' = sigmoid. */
    for (double x = -30; x <= 30; x += 0.37)
        assert_true(fabs(sp->df(x, 0) - sig->f(x, 0)) <= 1e-16 * sig->f(x, 0) + 1e-300);
    assert_true(fabs(sp->f(0, 0) - log(2.0)) < 1e-16);
    assert_true(fabs(sp->f(1, 0) - log1p(exp(1.0))) < 1e-15);

    /* Kinks, as documented: the x <= 0 branch at 0. */
    assert_true(relu->df(0, 0) == 0);
    assert_true(relu->f(-2, 0) == 0 && relu->f(2.5, 0) == 2.5);
    assert_true(leaky->f(-2, 0.01) == -0.02);
    assert_true(leaky->df(-2, 0.01) == 0.01 && leaky->df(3, 0.01) == 1);
    assert_true(leaky->df(0, 0.01) == 0.01);
    assert_true(leaky->df(-1, 0.3) == 0.3);
    assert_true(ab->df(0, 0) == 0 && ab->df(-3, 0) == -1 && ab->df(3, 0) == 1);
    assert_true(ab->f(-3, 0) == 3);

    /* ELU: alpha (e^x - 1) on the left, alpha e^x its derivative. */
    assert_true(fabs(elu->f(-1, 1) - expm1(-1.0)) < 1e-16);
    assert_true(fabs(elu->df(-1, 2) - 2 * exp(-1.0)) < 1e-16);
    assert_true(elu->df(0, 1.5) == 1.5 && elu->df(0.5, 1.5) == 1);
    assert_true(fabs(elu->f(-1e-8, 1) - expm1(-1e-8)) < 1e-24); /* expm1: no cancellation */

    /* softsign: 1/(1+|x|)^2. */
    assert_true(ss->f(1, 0) == 0.5 && ss->df(1, 0) == 0.25 && ss->df(-3, 0) == 1.0 / 16);

    /* NecroReLU: ReLU forward, leaky slope backward. */
    assert_true(necro->f(-2, 0.01) == 0 && necro->f(2, 0.01) == 2);
    assert_true(necro->df(-2, 0.01) == 0.01 && necro->df(2, 0.01) == 1);
    assert_true(necro->df(-2, 0.2) == 0.2);

    assert_true(id->f(-1.25, 0) == -1.25 && id->df(7, 0) == 1);
}

/* Large inputs: no overflow, no NaN, the right limits. Scalar and array paths both. */
static void stable_at_large_inputs(void **state)
{
    const gf_activation *sig = row("sigmoid"), *th = row("tanh"), *sp = row("softplus");
    gf_real x[4] = {1000, -1000, 88, -88}, y[4], d[4];
    (void)state;

    assert_true(sig->f(1000, 0) == 1 && sig->f(-1000, 0) == 0);
    assert_true(sig->df(1000, 0) == 0 && sig->df(-1000, 0) == 0);
    assert_true(sig->f(-40, 0) > 0 && fabs(sig->f(-40, 0) / exp(-40.0) - 1) < 1e-12);
    assert_true(th->f(1000, 0) == 1 && th->f(-1000, 0) == -1 && th->df(1000, 0) == 0);
    assert_true(sp->f(1000, 0) == 1000 && sp->f(-1000, 0) == 0);
    assert_true(fabs(sp->f(-40, 0) / exp(-40.0) - 1) < 1e-12); /* log1p keeps the tail */
    assert_true(sp->df(1000, 0) == 1 && sp->df(-1000, 0) == 0);

    for (size_t r = 0; r < gf_activation_count(); r++) {
        const gf_activation *a = gf_activation_at(r);
        double p = a->default_param;
        assert_true(isfinite(a->f(1000, p)) && isfinite(a->f(-1000, p)));
        assert_true(isfinite(a->df(1000, p)) && isfinite(a->df(-1000, p)));
        gf_act_forward(a, y, x, 4, (gf_real)p);
        gf_act_deriv(a, d, x, y, 4, (gf_real)p);
        for (size_t i = 0; i < 4; i++)
            if (!isfinite(y[i]) || !isfinite(d[i]))
                fail_msg("%s: non-finite at x = %g", a->name, (double)x[i]);
    }
    gf_act_forward(sig, y, x, 4, 0);
    assert_true(y[0] == 1 && y[1] == 0);
    gf_act_forward(th, y, x, 4, 0);
    assert_true(y[0] == 1 && y[1] == -1);
    gf_act_forward(sp, y, x, 4, 0);
    assert_true(y[0] == 1000 && y[1] == 0);
}

/* NaN in, NaN out: the telemetry must be able to see it. */
static void nan_propagates(void **state)
{
    (void)state;
    for (size_t r = 0; r < gf_activation_count(); r++) {
        const gf_activation *a = gf_activation_at(r);
        gf_real x = (gf_real)NAN, y = 0;
        gf_act_forward(a, &y, &x, 1, (gf_real)a->default_param);
        if (!isnan(y))
            fail_msg("%s: f(NaN) = %g", a->name, (double)y);
        assert_true(isnan(a->f(NAN, a->default_param)));
    }
}

static void find_by_name(void **state)
{
    const gf_activation *a = row("relu");
    (void)state;

    assert_int_equal(gf_activation_find(&a, "swish"), GF_ENOTFOUND);
    assert_null(a);
    assert_non_null(strstr(gf_last_error(), "swish"));
    assert_non_null(strstr(gf_last_error(), "leaky_relu"));
    assert_non_null(strstr(gf_last_error(), "relu_leaky_backward"));
    assert_int_equal(gf_activation_find(&a, "ReLU"), GF_ENOTFOUND); /* exact names */
    assert_int_equal(gf_activation_find(&a, ""), GF_ENOTFOUND);

    gf_clear_error();
    assert_int_equal(gf_activation_find(&a, NULL), GF_EINVAL);
    assert_true(strlen(gf_last_error()) > 0);
    gf_clear_error();
    assert_int_equal(gf_activation_find(NULL, "relu"), GF_EINVAL);
    assert_true(strlen(gf_last_error()) > 0);
}

/* ---- Accuracy against long double ------------------------------------------------------
 * The true f and f' of each row in long double (64-bit significand on x86-64): rows
 * without one here are left to the finite-difference check above. */
typedef struct exact_row {
    const char *name;
    long double (*f)(long double x, long double a);
    long double (*df)(long double x, long double a);
} exact_row;

static long double sig_l(long double x) { return 1 / (1 + expl(-x)); }
static long double ex_id_f(long double x, long double a) { (void)a; return x; }
static long double ex_id_df(long double x, long double a) { (void)x, (void)a; return 1; }
static long double ex_sig_f(long double x, long double a) { (void)a; return sig_l(x); }
static long double ex_sig_df(long double x, long double a)
{
    long double e = expl(-fabsl(x));
    (void)a;
    return e / ((1 + e) * (1 + e));
}
static long double ex_tanh_f(long double x, long double a) { (void)a; return tanhl(x); }
long double ex_tanh_df(long double x, long double a)
{
    long double c = coshl(x);
    (void)a;
    return 1 / (c * c);
}
static long double ex_relu_f(long double x, long double a) { (void)a; return x > 0 ? x : 0; }
static long double ex_relu_df(long double x, long double a) { (void)a; return x > 0; }
static long double ex_leaky_f(long double x, long double a) { return x > 0 ? x : a * x; }
static long double ex_leaky_df(long double x, long double a) { return x > 0 ? 1 : a; }
static long double ex_sp_f(long double x, long double a)
{
    (void)a;
    return (x > 0 ? x : 0) + log1pl(expl(-fabsl(x)));
}
static long double ex_sp_df(long double x, long double a) { (void)a; return sig_l(x); }
static long double ex_elu_f(long double x, long double a) { return x > 0 ? x : a * expm1l(x); }
static long double ex_elu_df(long double x, long double a) { return x > 0 ? 1 : a * expl(x); }
static long double ex_abs_f(long double x, long double a) { (void)a; return fabsl(x); }
static long double ex_abs_df(long double x, long double a)
{
    (void)a;
    return x > 0 ? 1 : x < 0 ? -1 : 0;
}
static long double ex_ss_f(long double x, long double a) { (void)a; return x / (1 + fabsl(x)); }
static long double ex_ss_df(long double x, long double a)
{
    (void)a;
    return 1 / ((1 + fabsl(x)) * (1 + fabsl(x)));
}

static const exact_row exact_rows[] = {
    {"identity", ex_id_f, ex_id_df},     {"sigmoid", ex_sig_f, ex_sig_df},
    {"tanh", ex_tanh_f, ex_tanh_df},     {"relu", ex_relu_f, ex_relu_df},
    {"leaky_relu", ex_leaky_f, ex_leaky_df}, {"softplus", ex_sp_f, ex_sp_df},
    {"elu", ex_elu_f, ex_elu_df},        {"abs", ex_abs_f, ex_abs_df},
    {"softsign", ex_ss_f, ex_ss_df},     {"relu_leaky_backward", ex_relu_f, ex_leaky_df},
};

static const exact_row *exact_of(const gf_activation *a)
{
    for (size_t i = 0; i < sizeof exact_rows / sizeof exact_rows[0]; i++)
        if (strcmp(exact_rows[i].name, a->name) == 0)
            return &exact_rows[i];
    return NULL;
}


/* |got - want| in units of eps |want|; 0 where both are below tiny, the smallest normal. */
double err_eps(long double got, long double want, double eps, double tiny)
{
    if (fabsl(want) < tiny)
        return fabsl(got - want) <= tiny ? 0 : INFINITY;
    return (double)(fabsl(got - want) / (fabsl(want) * eps));
}

/* The sweep: [-100, 100] every 1/64 + 1/1000 (off the grid of the kinks), and the
 * points where a formula changes: tanh's float clamp and its neighbours, where 1 - y^2
 * rounds to 0 (9.01 float, 19.1 double), where the derivatives become subnormal (44.4
 * and 87.3 float), 0 and the tiny values around it. */
enum { SWEEP_GRID = 12801, SWEEP_MAX = SWEEP_GRID + 64 };

static size_t sweep_points(gf_real *x)
{
    static const double special[] = {0, 1e-30, 1e-8, 0.5, 7.9053111076354980, 7.95, 9.01,
                                     9.0109, 19.06, 36.8, 44.3, 44.4, 87.33, 87.34, 88.8,
                                     100};
    const float clamp = 7.90531110763549805f;
    size_t n = 0;
    for (size_t i = 0; i < SWEEP_GRID; i++)
        x[n++] = (gf_real)(-100.0 + (double)i / 64 + 0.001);
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) {
        x[n++] = (gf_real)special[i];
        x[n++] = (gf_real)-special[i];
    }
    x[n++] = (gf_real)nextafterf(clamp, 0);
    x[n++] = (gf_real)nextafterf(clamp, 10);
    x[n++] = (gf_real)-nextafterf(clamp, 10);
    return n;
}

/* Every row's f and f', reference scalars and fast arrays, within the tolerances above
 * of the long-double truth over the sweep: in particular no exact 0 for f' in a tail
 * where the true f' is a normal number (tanh at 8 in float, sigmoid at 40 in double). */
static void tails_against_long_double(void **state)
{
    static gf_real x[SWEEP_MAX], y[SWEEP_MAX], d[SWEEP_MAX];
    size_t n = sweep_points(x);
    (void)state;
    for (size_t r = 0; r < gf_activation_count(); r++) {
        const gf_activation *a = gf_activation_at(r);
        const exact_row *ex = exact_of(a);
        double params[4], worst[4] = {0, 0, 0, 0};
        size_t np = params_of(a, params);
        if (ex == NULL)
            continue;
        for (size_t k = 0; k < np; k++) {
            gf_real p = (gf_real)params[k];
            gf_act_forward(a, y, x, n, p);
            gf_act_deriv(a, d, x, y, n, p);
            for (size_t i = 0; i < n; i++) {
                long double xl = x[i], f = ex->f(xl, p), df = ex->df(xl, p);
                double e[4] = {err_eps(a->f(x[i], p), f, DBL_EPSILON, DBL_MIN),
                               err_eps(a->df(x[i], p), df, DBL_EPSILON, DBL_MIN),
                               err_eps(y[i], f, TU_EPS, REAL_MIN),
                               err_eps(d[i], df, TU_EPS, REAL_MIN)};
                static const double tol[4] = {REF_F_TOL, REF_DF_TOL, FAST_F_TOL, FAST_DF_TOL};
                static const char *const what[4] = {"f", "df", "forward", "deriv"};
                for (int w = 0; w < 4; w++) {
                    if (e[w] > worst[w])
                        worst[w] = e[w];
                    if (!(e[w] <= tol[w]))
                        fail_msg("%s (param %g) %s(%.9g): error %.3g eps (tolerance %g), "
                                 "true %.9Lg", a->name, (double)p, what[w], (double)x[i],
                                 e[w], tol[w], w % 2 ? df : f);
                }
            }
        }
        print_message("%-20s worst error (eps |true|): f %.2f  df %.2f  forward %.2f  "
                      "deriv %.2f\n", a->name, worst[0], worst[1], worst[2], worst[3]);
    }
}

/* The fast arrays against the reference scalars rounded to gf_real, over the sweep: bit
 * for bit in the double build (the same expressions, the same libm), within FAST_F_TOL
 * and FAST_DF_TOL in float (where the reference is a normal float). */
static void fast_arrays_match_reference(void **state)
{
    static gf_real x[SWEEP_MAX], y[SWEEP_MAX], d[SWEEP_MAX];
    size_t n = sweep_points(x);
    (void)state;
    for (size_t r = 0; r < gf_activation_count(); r++) {
        const gf_activation *a = gf_activation_at(r);
        double params[4];
        size_t np = params_of(a, params);
        for (size_t k = 0; k < np; k++) {
            gf_real p = (gf_real)params[k];
            gf_act_forward(a, y, x, n, p);
            gf_act_deriv(a, d, x, y, n, p);
            for (size_t i = 0; i < n; i++) {
                gf_real f = (gf_real)a->f(x[i], p), df = (gf_real)a->df(x[i], p);
#if GF_REAL_IS_DOUBLE
                if (memcmp(&f, &y[i], sizeof f) != 0 || memcmp(&df, &d[i], sizeof df) != 0)
#else
                if (!(err_eps(y[i], f, TU_EPS, REAL_MIN) <= FAST_F_TOL) ||
                    !(err_eps(d[i], df, TU_EPS, REAL_MIN) <= FAST_DF_TOL))
#endif
                    fail_msg("%s (param %g) at %.9g: forward %.9g deriv %.9g, reference "
                             "f %.9g df %.9g", a->name, (double)p, (double)x[i],
                             (double)y[i], (double)d[i], (double)f, (double)df);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_rows_are_complete),
        cmocka_unit_test(df_matches_central_difference),
        cmocka_unit_test(arrays_match_scalars),
        cmocka_unit_test(forward_in_place),
        cmocka_unit_test(derivative_within_bound),
        cmocka_unit_test(bounds_inits_and_gains),
        cmocka_unit_test(known_figures),
        cmocka_unit_test(stable_at_large_inputs),
        cmocka_unit_test(nan_propagates),
        cmocka_unit_test(find_by_name),
        cmocka_unit_test(tails_against_long_double),
        cmocka_unit_test(fast_arrays_match_reference),
        cmocka_unit_test(reference_and_fused_layers_agree),
        cmocka_unit_test(saturated_tanh_is_not_dead),
        cmocka_unit_test(row_without_arrays_works),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
