/* relu_cure: ReLU as the cure for vanishing gradients. The same 20-layer network (width
 * 32) with sigmoid (Xavier init), tanh (Xavier with gain 5/3) and ReLU (He init): ReLU's
 * derivative is exactly 1 wherever a unit is on, and He's init makes up for the half that
 * is off, so the backward signal keeps its size through all 20 layers and the first
 * layer learns, where the sigmoid net's first layer receives ~1e-12 of the signal and
 * its weights barely move. (tanh with its gain also keeps the signal, and here trains
 * fastest of the three.)
 *
 * Usage: relu_cure [output-dir]   (default ./out/relu_cure). Figures: signal (at init),
 * loss, units (dead and saturated fractions). Exits non-zero when the verdicts are not
 * sigmoid vanishing and ReLU healthy, or the first layer of the ReLU net does not move a
 * million times more than the sigmoid net's. */
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
    const char *dir = argc > 1 ? argv[1] : "out/relu_cure";
    const char *acts[3] = {"sigmoid", "tanh", "relu"};
    const char *labels[3] = {"sigmoid, Xavier", "tanh, Xavier x5/3", "relu, He"};
    gf_net *net[3] = {NULL, NULL, NULL};
    gf_tensor *x = NULL, *y = NULL;
    gf_verdict v[3];
    double moved[3] = {0, 0, 0}; /* sum of the first layer's update ratios ||dW|| / ||W|| */
    gf_plot_run runs[3];
    gf_rng rng;
    int bad = 0, rendered = 1;

    gf_rng_seed(&rng, 3);
    gf_status st = example_mkdir(dir);
    if (st == GF_OK) st = gf_tensor_new(&x, BATCH, WIDTH);
    if (st == GF_OK) st = gf_tensor_new(&y, BATCH, 8);
    /* Targets: differences of inputs, a task any net that trains can learn. */
    for (size_t i = 0; st == GF_OK && i < BATCH * WIDTH; i++)
        x->data[i] = (gf_real)gf_rng_normal(&rng);
    for (size_t b = 0; st == GF_OK && b < BATCH; b++)
        for (size_t j = 0; j < 8; j++)
            y->data[b * 8 + j] = x->data[b * WIDTH + j] - x->data[b * WIDTH + j + 8];

    printf("The same %d-layer net with three activations, each with its suited init.\n", DEPTH);
    for (int i = 0; st == GF_OK && i < 3; i++) {
        gf_mlp_spec spec = {.in = WIDTH, .width = WIDTH, .depth = DEPTH, .out = 8,
                            .act = acts[i], .act_param = NAN}; /* init: the suited one */
        gf_optim_config cfg = gf_optim_default(GF_OPTIM_SGD);
        gf_optim *opt = NULL;
        gf_rng r;
        cfg.lr = 0.05;
        gf_rng_seed(&r, 100);
        st = gf_net_new_mlp(&net[i], &spec, &r);
        if (st == GF_OK) st = gf_optim_new(&opt, &cfg, gf_net_param_count(net[i]));
        for (int s = 0; st == GF_OK && s < STEPS; s++)
            st = gf_net_train_step(net[i], NULL, x, y, opt, GF_LOSS_MSE, NULL);
        gf_optim_free(opt);
        if (st == GF_OK) st = gf_verdict_judge(&v[i], gf_net_telemetry(net[i]));
        if (st != GF_OK)
            break;
        const gf_telemetry *t = gf_net_telemetry(net[i]);
        for (size_t k = 0; k < gf_telemetry_count(t); k++)
            if (gf_telemetry_at(t, k)->layer == 0 && !isnan(gf_telemetry_at(t, k)->update_ratio))
                moved[i] += gf_telemetry_at(t, k)->update_ratio;
        printf("%-8s first layer gets %.2g x the output's signal (x%.2f per layer) -> %-9s  "
               "its weights moved %.2g; loss %.3f -> %.3f in %d steps\n", acts[i], v[i].ratio_init,
               v[i].factor_init, gf_verdict_name(v[i].kind), moved[i],
               gf_telemetry_at(t, 0)->loss, v[i].final_loss, STEPS);
        runs[i] = (gf_plot_run){.label = labels[i], .telemetry = gf_net_telemetry(net[i]),
                                .predicted_factor = NAN};
    }
    if (st == GF_OK) {
        bad |= v[0].kind != GF_VERDICT_VANISHING || v[2].kind != GF_VERDICT_HEALTHY;
        bad |= !(v[2].factor_init > 0.8 && v[2].factor_init < 1.25);
        bad |= !(moved[2] > 1e6 * moved[0]);
        if (bad)
            printf("MISMATCH: expected sigmoid vanishing, relu healthy and its first layer "
                   "learning\n");
        gf_plot_options o = gf_plot_options_default();
        gf_status p[3] = {gf_plot_signal(dir, "signal", runs, 3, &o),
                          gf_plot_loss(dir, "loss", runs, 3, &o),
                          gf_plot_units(dir, "units", runs, 3, &o)};
        for (int i = 0; i < 3 && st == GF_OK; i++) {
            if (p[i] == GF_EUNSUPPORTED)
                rendered = 0;
            else
                st = p[i];
        }
    }
    if (st != GF_OK)
        fprintf(stderr, "relu_cure: %s\n", gf_last_error());
    else
        printf("figures: %s/signal, loss, units (.gp%s)\n", dir,
               rendered ? " and .png" : "; gnuplot not installed, not rendered");
    for (int i = 0; i < 3; i++)
        gf_net_free(net[i]);
    gf_tensor_free(x);
    gf_tensor_free(y);
    return st != GF_OK || bad;
}
