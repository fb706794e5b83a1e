/* softplus_vs_relu: softplus, log(1 + e^x), is a smooth ReLU: it is never 0, its
 * derivative is the sigmoid (softplus'(0) = 1/2, not 1) and it exceeds ReLU by at most
 * log 2 = 0.6931, at x = 0. Smoothness costs gradient: where ReLU passes the signal on
 * with factor exactly 1 (or 0), softplus passes sigmoid(h) < 1, and its outputs are all
 * positive, so the pre-activations drift. The same 20-layer nets (width 32, He init) are
 * measured at init and trained briefly with SGD.
 *
 * Usage: softplus_vs_relu [output-dir]   (default ./out/softplus_vs_relu). Figures:
 * signal and loss. Exits non-zero when softplus's known values are off or its per-layer
 * factor is not below ReLU's. */
#include <math.h>
#include <stdio.h>

#include <gradflow.h>

#include "example_dir.h"

#define WIDTH 32
#define DEPTH 20
#define BATCH 32
#define STEPS 60

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "out/softplus_vs_relu";
    const char *acts[2] = {"softplus", "relu"};
    const gf_activation *sp = NULL;
    gf_net *net[2] = {NULL, NULL};
    gf_tensor *x = NULL, *y = NULL;
    gf_verdict v[2];
    gf_plot_run runs[2];
    gf_rng rng;
    int bad = 0, rendered = 1;

    gf_status st = example_mkdir(dir);
    if (st == GF_OK) st = gf_activation_find(&sp, "softplus");
    if (st == GF_OK) {
        /* The known values, from the table's own functions. */
        double gap = 0;
        for (int i = -8000; i <= 8000; i++) {
            double xv = i * 1e-3, d = sp->f(xv, 0) - fmax(xv, 0);
            gap = fmax(gap, d);
            bad |= !(d > 0); /* softplus is above ReLU everywhere */
        }
        printf("softplus'(0) = %.4f (ReLU' is 1 for x > 0)\n", sp->df(0, 0));
        printf("softplus(0) = %.4f = log 2: the largest gap to ReLU (%.4f on [-8, 8])\n",
               sp->f(0, 0), gap);
        bad |= fabs(sp->df(0, 0) - 0.5) > 1e-15 || fabs(sp->f(0, 0) - log(2)) > 1e-15;
        bad |= fabs(gap - log(2)) > 1e-12;
    }

    gf_rng_seed(&rng, 12);
    if (st == GF_OK) st = gf_tensor_new(&x, BATCH, WIDTH);
    if (st == GF_OK) st = gf_tensor_new(&y, BATCH, 8);
    for (size_t i = 0; st == GF_OK && i < BATCH * WIDTH; i++)
        x->data[i] = (gf_real)gf_rng_normal(&rng);
    for (size_t b = 0; st == GF_OK && b < BATCH; b++)
        for (size_t j = 0; j < 8; j++)
            y->data[b * 8 + j] = x->data[b * WIDTH + j] - x->data[b * WIDTH + j + 8];
    for (int a = 0; st == GF_OK && a < 2; a++) {
        gf_init he = gf_init_default(GF_INIT_HE_NORMAL);
        gf_mlp_spec spec = {.in = WIDTH, .width = WIDTH, .depth = DEPTH, .out = 8,
                            .act = acts[a], .act_param = NAN, .init = &he};
        gf_optim_config cfg = gf_optim_default(GF_OPTIM_SGD);
        gf_optim *opt = NULL;
        gf_rng r;
        cfg.lr = 0.01;
        gf_rng_seed(&r, 77); /* the same weights for both */
        st = gf_net_new_mlp(&net[a], &spec, &r);
        if (st == GF_OK) st = gf_optim_new(&opt, &cfg, gf_net_param_count(net[a]));
        for (int s = 0; st == GF_OK && s < STEPS; s++)
            st = gf_net_train_step(net[a], NULL, x, y, opt, GF_LOSS_MSE, NULL);
        gf_optim_free(opt);
        if (st == GF_OK) st = gf_verdict_judge(&v[a], gf_net_telemetry(net[a]));
        if (st != GF_OK)
            break;
        const gf_record *r0 = gf_telemetry_at(gf_net_telemetry(net[a]), 2 * DEPTH - 3);
        printf("%-8s %d layers, He: x%.3f per layer, first layer gets %.3g x the output's "
               "signal -> %s; mean |f'| in the last hidden layer %.3f; loss %.3f -> %.3f\n",
               acts[a], DEPTH, v[a].factor_init, v[a].ratio_init, gf_verdict_name(v[a].kind),
               r0->deriv_abs_mean, r0->loss, v[a].final_loss);
        runs[a] = (gf_plot_run){.label = acts[a], .telemetry = gf_net_telemetry(net[a]),
                                .predicted_factor = NAN};
    }
    if (st == GF_OK) {
        bad |= !(v[0].factor_init < v[1].factor_init);
        if (bad)
            printf("MISMATCH: a softplus figure is off, or its factor is not below ReLU's\n");
        gf_plot_options o = gf_plot_options_default();
        o.title = "softplus against ReLU, 20 layers, He init";
        gf_status p = gf_plot_signal(dir, "signal", runs, 2, &o);
        if (p == GF_EUNSUPPORTED)
            rendered = 0, p = GF_OK;
        o.title = NULL;
        if (p == GF_OK) p = gf_plot_loss(dir, "loss", runs, 2, &o);
        if (p == GF_EUNSUPPORTED)
            rendered = 0, p = GF_OK;
        st = p;
    }
    if (st != GF_OK)
        fprintf(stderr, "softplus_vs_relu: %s\n", gf_last_error());
    else
        printf("figures: %s/signal and loss (.gp%s)\n", dir,
               rendered ? " and .png" : "; gnuplot not installed, not rendered");
    gf_net_free(net[0]);
    gf_net_free(net[1]);
    gf_tensor_free(x);
    gf_tensor_free(y);
    return st != GF_OK || bad;
}
