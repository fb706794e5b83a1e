/* relu_sparsity: at initialisation about half of a ReLU network's outputs are exactly 0.
 * With zero biases and weights symmetric about 0, each pre-activation is positive or
 * negative with equal probability, so max(x, 0) zeroes half of them (Glorot, Bordes and
 * Bengio 2011: "sparse rectifier networks"). The engine's telemetry counts the zeros of
 * every layer's output (zero_frac); this program reads them back.
 *
 * Usage: relu_sparsity [output-dir]   (default ./out/relu_sparsity). Figures: sparsity
 * (zero fraction per layer), hist (the activations: half of them in the bin at 0). Exits
 * non-zero when the mean fraction is outside [45%, 55%] or a layer outside [35%, 65%]. */
#include <math.h>
#include <stdio.h>

#include <gradflow.h>

#include "example_dir.h"

#define WIDTH 128
#define DEPTH 10
#define BATCH 128

static gf_status write_figure(const char *dir, const gf_record *rec, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/sparsity.dat", dir);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        return GF_EIO;
    }
    fputs("# relu_layer network_layer zero_frac\n", f);
    for (size_t i = 0, k = 0; i < n; i++)
        if (!isnan(rec[i].dead_frac)) /* the activation layers */
            fprintf(f, "%zu %zu %.6f\n", ++k, i, rec[i].zero_frac);
    fclose(f);
    snprintf(path, sizeof path, "%s/sparsity.gp", dir);
    f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        return GF_EIO;
    }
    fputs("# sparsity.gp: run in this directory with gnuplot sparsity.gp\n"
          "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
          "    set terminal pngcairo size 800,480 enhanced font 'sans,10'\n"
          "} else {\n"
          "    set terminal png size 800,480 enhanced\n"
          "}\n"
          "set output 'sparsity.png'\n"
          "set title 'ReLU at initialisation (He, zero biases): about half the outputs are 0'\n"
          "set xlabel 'ReLU layer (1 = input side)'\n"
          "set ylabel 'fraction of outputs exactly 0'\n"
          "set yrange [0:1]\n"
          "set xtics 1\n"
          "set grid lc rgb '#d0d0d0'\n"
          "set key bottom right\n"
          "plot 0.5 with lines dt 2 lc rgb 'gray40' title '1/2', \\\n"
          "     'sparsity.dat' using 1:3 with linespoints lw 2 pt 7 title 'measured'\n", f);
    fclose(f);
    return gf_plot_render(path);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "out/relu_sparsity";
    gf_mlp_spec spec = {.in = WIDTH, .width = WIDTH, .depth = DEPTH, .out = 8, .act = "relu",
                        .act_param = NAN};
    gf_net *net = NULL;
    gf_tensor *x = NULL, *y = NULL;
    const gf_tensor *out;
    const gf_record *rec = NULL;
    size_t n = 0;
    double loss, sum = 0;
    int bad = 0, layers = 0, rendered = 1;
    char path[1024];
    gf_rng rng;

    gf_rng_seed(&rng, 4);
    gf_status st = example_mkdir(dir);
    if (st == GF_OK) st = gf_net_new_mlp(&net, &spec, &rng); /* He: ReLU's suited init */
    if (st == GF_OK) st = gf_tensor_new(&x, BATCH, WIDTH);
    if (st == GF_OK) st = gf_tensor_new(&y, BATCH, 8);
    for (size_t i = 0; st == GF_OK && i < BATCH * WIDTH; i++)
        x->data[i] = (gf_real)gf_rng_normal(&rng);
    if (st == GF_OK) st = gf_net_forward(net, &out, x);
    if (st == GF_OK) st = gf_net_loss(net, &loss, y, GF_LOSS_MSE);
    if (st == GF_OK) st = gf_net_backward(net);
    if (st == GF_OK) st = gf_net_last_records(net, &rec, &n);
    if (st == GF_OK) {
        printf("ReLU net, %d layers of width %d, He init, a batch of %d:\n", DEPTH, WIDTH, BATCH);
        for (size_t i = 0; i < n; i++) {
            if (isnan(rec[i].dead_frac))
                continue; /* linear layers */
            layers++;
            sum += rec[i].zero_frac;
            bad |= rec[i].zero_frac < 0.35 || rec[i].zero_frac > 0.65;
            printf("  relu layer %d: %.1f%% of the outputs are 0\n", layers, 100 * rec[i].zero_frac);
        }
        double mean = sum / layers;
        bad |= mean < 0.45 || mean > 0.55;
        printf("zeros at init: %.1f%% on average (expected about 50%%)%s\n", 100 * mean,
               bad ? "  MISMATCH" : "");
        st = write_figure(dir, rec, n);
        if (st == GF_EUNSUPPORTED)
            rendered = 0, st = GF_OK;
    }
    if (st == GF_OK) {
        snprintf(path, sizeof path, "%s/hist.csv", dir);
        st = gf_hist_write(path, net, 40);
    }
    if (st == GF_OK) {
        gf_plot_options o = gf_plot_options_default();
        o.title = "ReLU at init: activations (half of them 0) and backward gradients";
        st = gf_plot_hist(dir, "hist", path, &o);
        if (st == GF_EUNSUPPORTED)
            rendered = 0, st = GF_OK;
    }
    if (st != GF_OK)
        fprintf(stderr, "relu_sparsity: %s\n", gf_last_error());
    else
        printf("figures: %s/sparsity and hist (.gp%s)\n", dir,
               rendered ? " and .png" : "; gnuplot not installed, not rendered");
    gf_net_free(net);
    gf_tensor_free(x);
    gf_tensor_free(y);
    return st != GF_OK || bad;
}
