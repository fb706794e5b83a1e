/* exploding_weights: weights too large make the backward signal grow layer by layer. In a
 * ReLU net of width n with weights N(0, s^2), each layer multiplies the signal by about
 * s sqrt(n/2) (half the units pass it, each weight adds variance s^2). He's init picks
 * s = sqrt(2/n) for a factor of 1; twice that gives 2; the "common" N(0, 1) gives
 * sqrt(n/2) = 5.7 for n = 64, and 12 layers amplify the signal by 5.7^11 ~ 2e8.
 *
 * Usage: exploding_weights [output-dir]   (default ./out/exploding_weights). Figure:
 * signal, with each scale's predicted factor dashed. Exits non-zero when a measured
 * factor is more than 15% off its prediction or a verdict is not the expected one. */
#include <math.h>
#include <stdio.h>

#include <gradflow.h>

#include "example_dir.h"

#define WIDTH 64
#define DEPTH 12
#define BATCH 128

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "out/exploding_weights";
    const double he = sqrt(2.0 / WIDTH);
    const double stds[3] = {he, 2 * he, 1.0};
    const char *labels[3] = {"He, N(0, 2/n)", "2 x He", "N(0,1)"};
    const gf_verdict_kind expect[3] = {GF_VERDICT_HEALTHY, GF_VERDICT_EXPLODING,
                                       GF_VERDICT_EXPLODING};
    gf_net *net[3] = {NULL, NULL, NULL};
    gf_tensor *x = NULL, *y = NULL;
    gf_plot_run runs[3];
    gf_rng rng;
    int bad = 0;

    gf_rng_seed(&rng, 11);
    gf_status st = example_mkdir(dir);
    if (st == GF_OK) st = gf_tensor_new(&x, BATCH, WIDTH);
    if (st == GF_OK) st = gf_tensor_new(&y, BATCH, 8);
    for (size_t i = 0; st == GF_OK && i < BATCH * WIDTH; i++)
        x->data[i] = (gf_real)gf_rng_normal(&rng);
    for (size_t i = 0; st == GF_OK && i < BATCH * 8; i++)
        y->data[i] = (gf_real)gf_rng_normal(&rng);

    printf("ReLU nets, %d layers of width %d, weights N(0, s^2): one backward pass at init.\n",
           DEPTH, WIDTH);
    for (int i = 0; st == GF_OK && i < 3; i++) {
        gf_init init = gf_init_default(GF_INIT_NORMAL);
        gf_mlp_spec spec = {.in = WIDTH, .width = WIDTH, .depth = DEPTH, .out = 8,
                            .act = "relu", .act_param = NAN, .init = &init};
        const gf_tensor *out;
        double loss, predicted = stds[i] * sqrt(WIDTH / 2.0);
        gf_verdict v;
        init.std = stds[i];
        st = gf_net_new_mlp(&net[i], &spec, &rng);
        if (st == GF_OK) st = gf_net_forward(net[i], &out, x);
        if (st == GF_OK) st = gf_net_loss(net[i], &loss, y, GF_LOSS_MSE);
        if (st == GF_OK) st = gf_net_backward(net[i]);
        if (st == GF_OK) st = gf_verdict_judge(&v, gf_net_telemetry(net[i]));
        if (st != GF_OK)
            break;
        int off = fabs(v.factor_init / predicted - 1) > 0.15 || v.kind != expect[i];
        printf("%-14s s = %.3f: x%.2f per layer (predicted s sqrt(n/2) = %.2f), first layer "
               "gets %.2g x the output's signal -> %s%s\n", labels[i], stds[i], v.factor_init,
               predicted, v.ratio_init, gf_verdict_name(v.kind), off ? "  MISMATCH" : "");
        bad |= off;
        runs[i] = (gf_plot_run){.label = labels[i], .telemetry = gf_net_telemetry(net[i]),
                                .predicted_factor = predicted};
    }
    if (st == GF_OK) {
        printf("(%.2f^%d = %.3g)\n", sqrt(WIDTH / 2.0), DEPTH - 1, pow(sqrt(WIDTH / 2.0), DEPTH - 1));
        gf_plot_options o = gf_plot_options_default();
        o.title = "ReLU nets with larger and larger weights: the signal explodes";
        st = gf_plot_signal(dir, "signal", runs, 3, &o);
        if (st == GF_EUNSUPPORTED) {
            printf("note: %s\n", gf_last_error());
            st = GF_OK;
        } else if (st == GF_OK) {
            printf("figure: %s/signal.png (script signal.gp)\n", dir);
        }
    }
    if (st != GF_OK)
        fprintf(stderr, "exploding_weights: %s\n", gf_last_error());
    for (int i = 0; i < 3; i++)
        gf_net_free(net[i]);
    gf_tensor_free(x);
    gf_tensor_free(y);
    return st != GF_OK || bad;
}
