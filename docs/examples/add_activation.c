/* add_activation: a new element-wise activation, added in one place. It is one
 * gf_activation row, f and f' with the bound on f' and the initialisation that suits f;
 * it has no array loops (.forward, .deriv), so the activation layer evaluates f and f'
 * element by element. The row goes into a network like any row of the table, the
 * telemetry records it under its name, and gf_net_gradcheck checks its backward pass.
 * Inside the library, the same row goes into the table in src/layers/act.c (whose tests
 * for now also want a table row's array loops: docs/tutorial.md, "Add an activation").
 * Usage: add_activation (exit status 0 when f' and the gradient check are right). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gradflow.h>

/* f(x) = atan(x), f'(x) = 1/(1+x^2) <= 1, the bound reached at x = 0. Near 0 it behaves
 * like tanh. For large |x| its f' falls off as 1/x^2, where tanh's falls off as exp(-2|x|),
 * so a saturated unit still passes some signal back. */
static double atan_f(double x, double a) { (void)a; return atan(x); }
static double atan_df(double x, double a) { (void)a; return 1 / (1 + x * x); }
static double atan_bound(double a) { (void)a; return 1; }
/* f'(0) = 1, as for tanh: Xavier with gain 1 keeps the variance of a small signal. */
static double atan_gain(double a) { (void)a; return 1; }

static const gf_activation atan_row = {
    .name = "atan",
    .formula = "f(x) = atan(x); f'(x) = 1/(1+x^2) <= 1",
    .param_name = NULL, /* f has no parameter */
    .f = atan_f,
    .df = atan_df,
    .forward = NULL, /* no array loops: the layer falls back to f and df */
    .deriv = NULL,
    .deriv_bound = atan_bound,
    .saturating = 1, /* f' -> 0 as |x| grows: the telemetry counts saturated units */
    .suited_init = "xavier",
    .gain = atan_gain,
};

/* f' against a central difference of f, at points away from 0 and in the tails. */
static double worst_derivative_error(const gf_activation *act)
{
    static const double xs[] = {-6, -1.5, -0.3, 0.2, 1, 4};
    const double h = 1e-5;
    double worst = 0;
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        double num = (act->f(xs[i] + h, 0) - act->f(xs[i] - h, 0)) / (2 * h);
        double err = fabs(num - act->df(xs[i], 0)) / fmax(fabs(num), 1e-12);
        worst = fmax(worst, err);
    }
    return worst;
}

/* 4 -> linear 8 -> atan -> linear 8 -> atan -> linear 2, the row's suited init. */
static gf_status build(gf_net **net, gf_rng *rng)
{
    gf_layer act;
    gf_init init;
    gf_status st = gf_net_new(net, 4);
    for (int i = 0; i < 2 && st == GF_OK; i++) {
        st = gf_net_add_linear(*net, 8);
        if (st == GF_OK) st = gf_layer_activation(&act, 8, &atan_row, 0);
        if (st == GF_OK) st = gf_net_add_layer(*net, &act);
    }
    if (st == GF_OK) st = gf_net_add_linear(*net, 2);
    if (st == GF_OK) st = gf_init_suited(&init, &atan_row, NAN);
    if (st == GF_OK) st = gf_net_init(*net, &init, rng);
    return st;
}

int main(void)
{
    gf_net *net = NULL;
    gf_tensor *x = NULL, *t = NULL;
    gf_gradcheck_layer res[5];
    const gf_record *rec = NULL;
    size_t n_rec = 0;
    double worst = 0, loss = 0;
    double tol = GF_REAL_IS_DOUBLE ? 1e-6 : 2e-2;
    gf_rng rng;
    gf_rng_seed(&rng, 5);

    double deriv_err = worst_derivative_error(&atan_row);
    printf("%s: %s\nf' against central differences of f: worst relative error %.1e\n",
           atan_row.name, atan_row.formula, deriv_err);

    gf_status st = build(&net, &rng);
    if (st == GF_OK) st = gf_tensor_new(&x, 3, 4);
    if (st == GF_OK) st = gf_tensor_new(&t, 3, 2);
    for (size_t i = 0; st == GF_OK && i < 12; i++) x->data[i] = (gf_real)gf_rng_normal(&rng);
    for (size_t i = 0; st == GF_OK && i < 6; i++) t->data[i] = (gf_real)gf_rng_normal(&rng);

    /* The backward pass through the new row, against central differences of the loss. */
    if (st == GF_OK) st = gf_net_gradcheck(net, res, &worst, x, t, GF_LOSS_MSE, NULL);
    for (size_t i = 0; st == GF_OK && i < gf_net_layer_count(net); i++)
        printf("layer %zu %-6s param err %.2e  input err %.2e\n", i,
               gf_net_layer_kind(net, i), res[i].param_err, res[i].input_err);

    /* One recorded pass: the telemetry names the layers "atan" and takes their
     * derivative statistics from the row's df. */
    if (st == GF_OK) st = gf_net_forward(net, NULL, x);
    if (st == GF_OK) st = gf_net_loss(net, &loss, t, GF_LOSS_MSE);
    if (st == GF_OK) st = gf_net_backward(net);
    if (st == GF_OK) st = gf_net_last_records(net, &rec, &n_rec);
    for (size_t i = 1; st == GF_OK && i < n_rec; i += 2)
        printf("layer %zu %s: mean |f'| %.3f, saturated %.0f%%\n", i, rec[i].kind,
               rec[i].deriv_abs_mean, 100 * rec[i].sat_frac);

    int ok = st == GF_OK && deriv_err < 1e-6 && worst < tol && n_rec == 5 &&
             strcmp(rec[1].kind, "atan") == 0 && rec[1].deriv_abs_mean > 0 &&
             rec[1].deriv_abs_mean <= 1;
    if (st != GF_OK)
        fprintf(stderr, "add_activation: %s: %s\n", gf_strerror(st), gf_last_error());
    else
        printf("worst relative error %.2e: %s\n", worst,
               ok ? "the backward pass is right" : "WRONG");
    gf_tensor_free(x);
    gf_tensor_free(t);
    gf_net_free(net);
    return ok ? 0 : 1;
}
