/* init_comparison: N(0,1) against Xavier against He, for ReLU and for tanh, in 20-layer
 * nets of width 64. Per-layer factors of the backward signal, roughly:
 *   ReLU:  N(0,1) sqrt(n/2) = 5.7 (explodes); Xavier (variance 1/n) sqrt(1/2) = 0.71
 *          (vanishes: 0.71^19 = 1.5e-3); He (variance 2/n) 1 (healthy).
 *   tanh:  N(0,1) about 2 (explodes, although most units are saturated); Xavier just
 *          under 1 (healthy at this depth); He a little over 1.
 * The dashed lines are the mean-field prediction (theory.h), followed layer by layer:
 * the pre-activation variance q_l of each layer from the variance map, and the geometric
 * mean of sqrt(chi(q_l)) over the layers the signal crosses (at depth 20 the fixed point
 * q* is not reached yet: tanh with Xavier has chi(q*) = 1 but shrinks the signal here).
 *
 * Usage: init_comparison [output-dir]   (default ./out/init_comparison). Figures:
 * signal_relu and signal_tanh. Exits non-zero when a verdict is not the expected one or a
 * measured factor is more than 12% from the prediction. */
#include <math.h>
#include <stdio.h>

#include <gradflow.h>

#include "example_dir.h"

#define WIDTH 64
#define DEPTH 20
#define BATCH 128

static const char *const acts[2] = {"relu", "tanh"};
static const char *const inits[3] = {"normal", "xavier", "he"};
/* The expected verdicts; -1: not checked (tanh with He depends on the depth). */
static const int expect[2][3] = {{GF_VERDICT_EXPLODING, GF_VERDICT_VANISHING, GF_VERDICT_HEALTHY},
                                 {GF_VERDICT_EXPLODING, GF_VERDICT_HEALTHY, -1}};

/* The mean-field per-layer factor of a plain net of DEPTH layers whose inputs have unit
 * variance: geometric mean of sqrt(chi(q_l)), l = 1 .. DEPTH-1. NaN when theory fails. */
static double predicted_factor(const gf_activation *act, double sw2)
{
    double q = sw2, log_sum = 0; /* first pre-activations: sigma_w^2 E[x^2] = sigma_w^2 */
    for (int l = 1; l < DEPTH; l++) {
        double chi;
        if (gf_theory_chi_at(&chi, act, act->default_param, sw2, q) != GF_OK ||
            gf_theory_q_map(&q, act, act->default_param, sw2, 0, q) != GF_OK || !(chi > 0))
            return NAN;
        log_sum += 0.5 * log(chi);
    }
    return exp(log_sum / (DEPTH - 1));
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "out/init_comparison";
    gf_net *net[2][3] = {{NULL}};
    gf_tensor *x = NULL, *y = NULL;
    gf_plot_run runs[2][3];
    gf_rng rng;
    char name[64];
    int bad = 0, rendered = 1;

    gf_rng_seed(&rng, 5);
    gf_status st = example_mkdir(dir);
    if (st == GF_OK) st = gf_tensor_new(&x, BATCH, WIDTH);
    if (st == GF_OK) st = gf_tensor_new(&y, BATCH, 8);
    for (size_t i = 0; st == GF_OK && i < BATCH * WIDTH; i++)
        x->data[i] = (gf_real)gf_rng_normal(&rng);
    for (size_t i = 0; st == GF_OK && i < BATCH * 8; i++)
        y->data[i] = (gf_real)gf_rng_normal(&rng);

    printf("%d-layer nets of width %d, one backward pass at init:\n", DEPTH, WIDTH);
    printf("%-5s %-7s %-12s %-12s %-12s %s\n", "act", "init", "per layer", "theory", "first/last",
           "verdict");
    for (int a = 0; st == GF_OK && a < 2; a++)
        for (int k = 0; st == GF_OK && k < 3; k++) {
            gf_init init;
            gf_mlp_spec spec = {.in = WIDTH, .width = WIDTH, .depth = DEPTH, .out = 8,
                                .act = acts[a], .act_param = NAN, .init = &init};
            const gf_tensor *out;
            const gf_activation *act = NULL;
            double loss, sw2 = NAN, pred = NAN;
            gf_verdict v;
            st = gf_init_from_name(&init, inits[k]); /* N(0,1); Xavier gain 1; He slope 0 */
            /* The mean-field prediction; a failure only leaves the line out. */
            if (st == GF_OK && gf_activation_find(&act, acts[a]) == GF_OK &&
                gf_theory_init_sigma_w2(&sw2, &init, WIDTH, WIDTH) == GF_OK)
                pred = predicted_factor(act, sw2);
            if (st == GF_OK) st = gf_net_new_mlp(&net[a][k], &spec, &rng);
            if (st == GF_OK) st = gf_net_forward(net[a][k], &out, x);
            if (st == GF_OK) st = gf_net_loss(net[a][k], &loss, y, GF_LOSS_MSE);
            if (st == GF_OK) st = gf_net_backward(net[a][k]);
            if (st == GF_OK) st = gf_verdict_judge(&v, gf_net_telemetry(net[a][k]));
            if (st != GF_OK)
                break;
            /* The verdict, and the measured factor within 12% of the theory's. */
            int off = (expect[a][k] >= 0 && (int)v.kind != expect[a][k]) ||
                      (isfinite(pred) && fabs(v.factor_init / pred - 1) > 0.12);
            printf("%-5s %-7s x%-11.3f x%-11.3f %-12.3g %s%s\n", acts[a], inits[k], v.factor_init,
                   pred, v.ratio_init, gf_verdict_name(v.kind), off ? "  MISMATCH" : "");
            bad |= off;
            runs[a][k] = (gf_plot_run){.label = inits[k],
                                       .telemetry = gf_net_telemetry(net[a][k]),
                                       .predicted_factor = pred};
        }
    for (int a = 0; st == GF_OK && a < 2; a++) {
        gf_plot_options o = gf_plot_options_default();
        char title[96];
        snprintf(title, sizeof title, "%s, %d layers: N(0,1) against Xavier against He",
                 acts[a], DEPTH);
        o.title = title;
        snprintf(name, sizeof name, "signal_%s", acts[a]);
        st = gf_plot_signal(dir, name, runs[a], 3, &o);
        if (st == GF_EUNSUPPORTED)
            rendered = 0, st = GF_OK;
    }
    if (st != GF_OK)
        fprintf(stderr, "init_comparison: %s\n", gf_last_error());
    else
        printf("figures: %s/signal_relu and signal_tanh (.gp%s)\n", dir,
               rendered ? " and .png" : "; gnuplot not installed, not rendered");
    for (int a = 0; a < 2; a++)
        for (int k = 0; k < 3; k++)
            gf_net_free(net[a][k]);
    gf_tensor_free(x);
    gf_tensor_free(y);
    return st != GF_OK || bad;
}
