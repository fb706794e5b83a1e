/* xor: the XOR problem with ReLU and with abs. XOR is not linearly separable, so it needs
 * a hidden layer; with f(x) = |x| one hidden unit computing |x1 - x2| is enough, and the
 * derivative of abs is never 0 away from x = 0, so no unit can die. ReLU needs two units
 * (max(x1 - x2, 0) + max(x2 - x1, 0)) and a unit that is off for all four points gets no
 * gradient: many initialisations fail with 2 hidden units, fewer with 8. Each net is
 * trained with Adam on the binary cross-entropy of its logit, from 20 initialisations.
 *
 * Usage: xor [output-dir]   (default ./out/xor). Figure: loss (the first seed of each).
 * Exits non-zero unless both reach 100% accuracy on the first seed with 8 hidden units
 * and abs solves XOR from at least as many initialisations as ReLU. */
#include <math.h>
#include <stdio.h>

#include <gradflow.h>

#include "example_dir.h"

#define STEPS 400
#define SEEDS 20

static const gf_real xs[8] = {0, 0, 0, 1, 1, 0, 1, 1};
static const gf_real ts[4] = {0, 1, 1, 0};

/* Train one net; *acc is its final accuracy. The net is kept for the first seed. */
static gf_status train(const char *act, size_t hidden, uint64_t seed, const gf_tensor *x,
                       const gf_tensor *t, double *acc, double *loss, gf_net **keep)
{
    gf_mlp_spec spec = {.in = 2, .width = hidden, .depth = 2, .out = 1, .act = act,
                        .act_param = NAN};
    gf_optim_config cfg = gf_optim_default(GF_OPTIM_ADAM);
    gf_optim *opt = NULL;
    gf_net *net = NULL;
    const gf_tensor *y;
    gf_rng rng;
    cfg.lr = 0.05;
    gf_rng_seed(&rng, seed);
    gf_status st = gf_net_new_mlp(&net, &spec, &rng);
    if (st == GF_OK) st = gf_optim_new(&opt, &cfg, gf_net_param_count(net));
    for (int s = 0; st == GF_OK && s < STEPS; s++)
        st = gf_net_train_step(net, loss, x, t, opt, GF_LOSS_BCE_LOGITS, NULL);
    if (st == GF_OK) st = gf_net_predict(net, &y, x);
    if (st == GF_OK) st = gf_accuracy(acc, y, t);
    gf_optim_free(opt);
    if (keep != NULL && st == GF_OK)
        *keep = net;
    else
        gf_net_free(net);
    return st;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "out/xor";
    const char *acts[4] = {"abs", "relu", "abs", "relu"};
    const size_t hidden[4] = {2, 2, 8, 8};
    char labels[4][32];
    gf_net *first[4] = {NULL, NULL, NULL, NULL};
    gf_tensor *x = NULL, *t = NULL;
    double acc0[4] = {0}, loss0[4] = {0};
    int solved[4] = {0}, bad = 0, rendered = 1;

    gf_status st = example_mkdir(dir);
    if (st == GF_OK) st = gf_tensor_from_array(&x, xs, 4, 2);
    if (st == GF_OK) st = gf_tensor_from_array(&t, ts, 4, 1);
    printf("XOR, Adam lr 0.05, %d steps, %d initialisations each:\n", STEPS, SEEDS);
    for (int a = 0; st == GF_OK && a < 4; a++) {
        for (uint64_t seed = 1; st == GF_OK && seed <= SEEDS; seed++) {
            double acc = 0, loss = NAN;
            st = train(acts[a], hidden[a], seed, x, t, &acc, &loss, seed == 1 ? &first[a] : NULL);
            solved[a] += acc == 1.0;
            if (seed == 1)
                acc0[a] = acc, loss0[a] = loss;
        }
        snprintf(labels[a], sizeof labels[a], "%s, %zu hidden", acts[a], hidden[a]);
        if (st == GF_OK)
            printf("%s (%zu hidden): first seed accuracy %.0f%%, loss %.4f; XOR solved from %d "
                   "of %d initialisations\n", acts[a], hidden[a], 100 * acc0[a], loss0[a],
                   solved[a], SEEDS);
    }
    if (st == GF_OK) {
        bad = acc0[2] != 1.0 || acc0[3] != 1.0 || solved[0] < solved[1] || solved[2] < solved[3];
        if (bad)
            printf("MISMATCH: expected both to solve XOR on the first seed with 8 units, and abs "
                   "at least as often as relu\n");
        gf_plot_run runs[4];
        for (int a = 0; a < 4; a++)
            runs[a] = (gf_plot_run){.label = labels[a],
                                    .telemetry = gf_net_telemetry(first[a]),
                                    .predicted_factor = NAN};
        gf_plot_options o = gf_plot_options_default();
        o.title = "XOR: binary cross-entropy (first initialisation of each)";
        st = gf_plot_loss(dir, "loss", runs, 4, &o);
        if (st == GF_EUNSUPPORTED)
            rendered = 0, st = GF_OK;
    }
    if (st != GF_OK)
        fprintf(stderr, "xor: %s\n", gf_last_error());
    else
        printf("figure: %s/loss (.gp%s)\n", dir,
               rendered ? " and .png" : "; gnuplot not installed, not rendered");
    for (int a = 0; a < 4; a++)
        gf_net_free(first[a]);
    gf_tensor_free(x);
    gf_tensor_free(t);
    return st != GF_OK || bad;
}
