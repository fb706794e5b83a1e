/* vanishing_sigmoid: deep sigmoid networks with Glorot and Bengio's (Xavier) init. The
 * backward signal shrinks by about sigma'(h) ~ 1/4 per layer, so the first layer of a
 * 20-layer net gets ~1e-12 of the signal at the output, and barely learns. Networks of
 * 3, 10 and 20 linear layers (width 32) are measured at init and trained briefly on a
 * regression task; the 20-layer run is kept as a run directory (depth20/).
 *
 * Usage: vanishing_sigmoid [output-dir]   (default ./out/vanishing_sigmoid). Figures:
 * signal (per layer, at init), heatmap (20 layers over training), loss, hist (Glorot and
 * Bengio's histograms). Exits non-zero when the 20-layer net is not judged vanishing. */
#include <math.h>
#include <stdio.h>

#include <gradflow.h>

#include "example_dir.h"

#define WIDTH 32
#define BATCH 32
#define STEPS 100

static const size_t depths[3] = {3, 10, 20};

/* A fixed regression task: targets are a random linear map of the inputs. */
static gf_status make_task(gf_tensor **x, gf_tensor **y, gf_rng *rng)
{
    gf_status st = gf_tensor_new(x, BATCH, WIDTH);
    if (st == GF_OK) st = gf_tensor_new(y, BATCH, 8);
    for (size_t i = 0; st == GF_OK && i < BATCH * WIDTH; i++)
        (*x)->data[i] = (gf_real)gf_rng_normal(rng);
    for (size_t b = 0; st == GF_OK && b < BATCH; b++)
        for (size_t j = 0; j < 8; j++)
            (*y)->data[b * 8 + j] = (*x)->data[b * WIDTH + j] - (*x)->data[b * WIDTH + j + 8];
    return st;
}

/* Build a sigmoid net, measure it at init (step 0) and train it; the optimiser's last
 * backward pass is repeated without a step so its buffers stay valid for histograms. */
static gf_status run(gf_net **net, size_t depth, const gf_tensor *x, const gf_tensor *y)
{
    gf_mlp_spec spec = {.in = WIDTH, .width = WIDTH, .depth = depth, .out = 8,
                        .act = "sigmoid", .act_param = NAN};
    gf_optim_config cfg = gf_optim_default(GF_OPTIM_SGD);
    gf_optim *opt = NULL;
    gf_rng rng;
    const gf_tensor *out;
    double loss;
    cfg.lr = 0.5;
    gf_rng_seed(&rng, 2024 + depth);
    gf_status st = gf_net_new_mlp(net, &spec, &rng); /* Xavier: sigmoid's suited init */
    if (st == GF_OK) st = gf_optim_new(&opt, &cfg, gf_net_param_count(*net));
    for (int s = 0; st == GF_OK && s < STEPS; s++)
        st = gf_net_train_step(*net, NULL, x, y, opt, GF_LOSS_MSE, NULL);
    if (st == GF_OK) st = gf_net_forward(*net, &out, x);
    if (st == GF_OK) st = gf_net_loss(*net, &loss, y, GF_LOSS_MSE);
    if (st == GF_OK) st = gf_net_backward(*net);
    gf_optim_free(opt);
    return st;
}

/* A missing gnuplot is not an error for an example: the scripts are there. */
static gf_status plotted(gf_status st, int *rendered)
{
    if (st == GF_EUNSUPPORTED) {
        *rendered = 0;
        return GF_OK;
    }
    return st;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "out/vanishing_sigmoid";
    gf_net *net[3] = {NULL, NULL, NULL};
    gf_tensor *x = NULL, *y = NULL;
    gf_verdict v[3];
    gf_rng rng;
    char path[1024], label[3][32];
    int bad = 0, rendered = 1;

    gf_rng_seed(&rng, 7);
    gf_status st = example_mkdir(dir);
    if (st == GF_OK) st = make_task(&x, &y, &rng);
    printf("Deep sigmoid nets (width %d, Xavier init): the backward signal per layer.\n", WIDTH);
    for (int i = 0; st == GF_OK && i < 3; i++) {
        st = run(&net[i], depths[i], x, y);
        if (st == GF_OK) st = gf_verdict_judge(&v[i], gf_net_telemetry(net[i]));
        if (st != GF_OK)
            break;
        printf("depth %2zu: first/last layer signal %.2e at init, x%.2f per layer -> %s\n",
               depths[i], v[i].ratio_init, v[i].factor_init, gf_verdict_name(v[i].kind));
        snprintf(label[i], sizeof label[i], "%zu layers", depths[i]);
    }
    if (st == GF_OK) {
        printf("sigma' <= 1/4, so the factor is at most 0.25: 0.25^19 = %.1e\n", pow(0.25, 19));
        printf("loss after %d SGD steps: %.4f (3 layers), %.4f (10), %.4f (20); at init %.4f:\n"
               "  only the shallow net learns; the deep ones predict the mean\n",
               STEPS, v[0].final_loss, v[1].final_loss, v[2].final_loss,
               gf_telemetry_at(gf_net_telemetry(net[2]), 0)->loss);
        bad |= v[2].kind != GF_VERDICT_VANISHING;
        bad |= !(v[2].factor_init > 0.15 && v[2].factor_init < 0.3);
        bad |= !(v[2].ratio_init < 1e-8);
        if (bad)
            printf("MISMATCH: the 20-layer sigmoid net should vanish at about x0.25 per layer\n");
    }

    gf_plot_options o = gf_plot_options_default();
    gf_plot_run runs[3];
    for (int i = 0; i < 3; i++)
        runs[i] = (gf_plot_run){.label = label[i],
                                .telemetry = net[i] ? gf_net_telemetry(net[i]) : NULL,
                                .predicted_factor = 0.25};
    if (st == GF_OK) st = plotted(gf_plot_signal(dir, "signal", runs, 3, &o), &rendered);
    if (st == GF_OK) st = plotted(gf_plot_heatmap(dir, "heatmap", runs[2].telemetry, &o), &rendered);
    if (st == GF_OK) st = plotted(gf_plot_loss(dir, "loss", runs, 3, &o), &rendered);
    if (st == GF_OK) {
        snprintf(path, sizeof path, "%s/hist.csv", dir);
        st = gf_hist_write(path, net[2], 40);
    }
    if (st == GF_OK) st = plotted(gf_plot_hist(dir, "hist", path, &o), &rendered);
    if (st == GF_OK) {
        gf_run_kv cfg[] = {{.key = "act", .value = "sigmoid"}, {.key = "init", .value = "xavier"},
                           {.key = "depth", .value = "20"}, {.key = "width", .value = "32"},
                           {.key = "optim", .value = "sgd"}, {.key = "lr", .value = "0.5"}};
        gf_run_summary s = gf_run_summary_default();
        s.name = "sigmoid, 20 layers";
        s.config = cfg;
        s.n_config = sizeof cfg / sizeof cfg[0];
        s.steps = STEPS;
        snprintf(path, sizeof path, "%s/depth20", dir);
        st = gf_run_write(path, runs[2].telemetry, &s);
    }
    if (st != GF_OK) {
        fprintf(stderr, "vanishing_sigmoid: %s\n", gf_last_error());
    } else {
        printf("figures: %s/signal, heatmap, loss and hist (.gp scripts%s)\n", dir,
               rendered ? ", .png images" : "; gnuplot not installed, not rendered");
        printf("run directory: %s/depth20\n", dir);
    }
    for (int i = 0; i < 3; i++)
        gf_net_free(net[i]);
    gf_tensor_free(x);
    gf_tensor_free(y);
    return st != GF_OK || bad;
}
