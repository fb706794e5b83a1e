/* dying_relu: a ReLU unit whose input is negative for every example passes back exactly
 * zero, so nothing can ever turn it back on: it is dead. Here biases start at -2 (a bad
 * init, or where a too-large step leaves them): from the second hidden layer on, every
 * ReLU unit is off for the whole batch, no gradient reaches the layers below, and the net
 * cannot learn. Two fixes keep a small slope a = 0.01 for negative inputs: leaky ReLU
 * (f(x) = a x there) and "ReLU with a leaky backward pass" (f stays max(x, 0), but the
 * backward pass uses a, so dead units still receive a signal). Adam, which rescales
 * small gradients, then revives the units. The fixes are judged "vanishing" at init (the
 * signal crossed the off units at slope 0.01 only) and "healthy" at the end.
 *
 * Usage: dying_relu [output-dir]   (default ./out/dying_relu). Figures: loss, units (dead
 * fraction per layer after training). Exits non-zero unless plain ReLU is judged dead and
 * both fixes have no dead unit and a lower loss. */
#include <math.h>
#include <stdio.h>

#include <gradflow.h>

#include "example_dir.h"

#define IN 32
#define WIDTH 32
#define DEPTH 4
#define BATCH 64
#define STEPS 150

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "out/dying_relu";
    const char *acts[3] = {"relu", "leaky_relu", "relu_leaky_backward"};
    gf_net *net[3] = {NULL, NULL, NULL};
    gf_tensor *x = NULL, *y = NULL;
    gf_verdict v[3];
    gf_plot_run runs[3];
    gf_rng rng;
    int bad = 0, rendered = 1;

    gf_rng_seed(&rng, 21);
    gf_status st = example_mkdir(dir);
    if (st == GF_OK) st = gf_tensor_new(&x, BATCH, IN);
    if (st == GF_OK) st = gf_tensor_new(&y, BATCH, 4);
    for (size_t i = 0; st == GF_OK && i < BATCH * IN; i++)
        x->data[i] = (gf_real)gf_rng_normal(&rng);
    for (size_t b = 0; st == GF_OK && b < BATCH; b++)
        for (size_t j = 0; j < 4; j++) /* a smooth target of the inputs */
            y->data[b * 4 + j] = (gf_real)sin(x->data[b * IN + j] + x->data[b * IN + j + 4]);

    printf("%d-layer nets, He init with biases -2, Adam lr 0.01, %d steps:\n", DEPTH, STEPS);
    for (int i = 0; st == GF_OK && i < 3; i++) {
        gf_init init = gf_init_default(GF_INIT_HE_NORMAL);
        gf_mlp_spec spec = {.in = IN, .width = WIDTH, .depth = DEPTH, .out = 4, .act = acts[i],
                            .act_param = NAN, .init = &init};
        gf_optim_config cfg = gf_optim_default(GF_OPTIM_ADAM);
        gf_optim *opt = NULL;
        gf_rng r;
        init.bias = -2;
        cfg.lr = 0.01;
        gf_rng_seed(&r, 8); /* the same weights for the three nets */
        st = gf_net_new_mlp(&net[i], &spec, &r);
        if (st == GF_OK) st = gf_optim_new(&opt, &cfg, gf_net_param_count(net[i]));
        for (int s = 0; st == GF_OK && s < STEPS; s++)
            st = gf_net_train_step(net[i], NULL, x, y, opt, GF_LOSS_MSE, NULL);
        gf_optim_free(opt);
        if (st == GF_OK) st = gf_verdict_judge(&v[i], gf_net_telemetry(net[i]));
        if (st != GF_OK)
            break;
        const gf_record *r0 = gf_telemetry_at(gf_net_telemetry(net[i]), 3); /* layer 3, init */
        printf("%s: dead %.0f%% after training (%.0f%% of layer 3 at init); loss %.4f -> %.4f; "
               "first/last layer signal %.2g at init, %.2g after; verdict %s at init, %s at the "
               "end\n", acts[i], 100 * v[i].max_dead_frac, 100 * r0->dead_frac, r0->loss,
               v[i].final_loss, v[i].ratio_init, v[i].ratio_final,
               gf_verdict_name(v[i].kind_init), gf_verdict_name(v[i].kind_final));
        runs[i] = (gf_plot_run){.label = acts[i], .telemetry = gf_net_telemetry(net[i]),
                                .predicted_factor = NAN};
    }
    if (st == GF_OK) {
        bad |= v[0].kind_init != GF_VERDICT_DEAD_UNITS ||
               v[0].kind_final != GF_VERDICT_DEAD_UNITS;
        for (int i = 1; i < 3; i++)
            bad |= v[i].max_dead_frac != 0 || !(v[i].final_loss < 0.5 * v[0].final_loss) ||
                   v[i].kind_final != GF_VERDICT_HEALTHY;
        if (bad)
            printf("MISMATCH: expected dead ReLUs, and no dead unit, a lower loss and a healthy "
                   "verdict at the end with the fixes\n");
        gf_plot_options o = gf_plot_options_default();
        gf_status p = gf_plot_loss(dir, "loss", runs, 3, &o);
        if (p == GF_EUNSUPPORTED)
            rendered = 0, p = GF_OK;
        o.step = GF_PLOT_STEP_LAST;
        o.title = "Dead units after training (biases started at -2)";
        if (p == GF_OK) p = gf_plot_units(dir, "units", runs, 3, &o);
        if (p == GF_EUNSUPPORTED)
            rendered = 0, p = GF_OK;
        st = p;
    }
    if (st != GF_OK)
        fprintf(stderr, "dying_relu: %s\n", gf_last_error());
    else
        printf("figures: %s/loss and units (.gp%s)\n", dir,
               rendered ? " and .png" : "; gnuplot not installed, not rendered");
    for (int i = 0; i < 3; i++)
        gf_net_free(net[i]);
    gf_tensor_free(x);
    gf_tensor_free(y);
    return st != GF_OK || bad;
}
