/* examples/batchnorm_depth.c: batch normalisation against depth. Two networks of the
 * same depth, width, activation and initial weights, one with batch norm after every
 * linear layer (Ioffe and Szegedy 2015), learn the same task: 4 classes of 16-dimensional
 * Gaussian inputs, labelled by a random linear "teacher". Printed: ||dL/dh_k|| at the
 * output of every 5th linear layer at the first step (the plain sigmoid net's signal
 * fades by ~1/4 per layer, the normalised one's does not), then training loss and test
 * accuracy (evaluation mode: batch norm uses its running statistics) as they go.
 * CSV <csv>.csv: step, loss and accuracy of both; <csv>_signal.csv: layer, plain, bn (the
 * norms at the first step) and its figure, ||dL/dh_k|| against k (log y): the gnuplot
 * script <csv>_signal.gp, rendered to <csv>_signal.png when gnuplot is installed.
 *
 *   batchnorm_depth [--act sigmoid] [--init xavier] [--depth 20] [--width 64]
 *                   [--steps 600] [--lr 0.05] [--seed 1] [--csv batchnorm_depth] [--quick]
 * --quick: depth 10, 100 steps, no CSV unless --csv is given. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradflow.h"
#include "gradflow/norm.h"

enum { IN = 16, CLASSES = 4, BATCH = 64, TEST = 1000 };

typedef struct options {
    const char *act, *init, *csv;
    int csv_set; /* --csv given: kept with --quick */
    size_t depth, width, steps;
    double lr;
    uint64_t seed;
} options;

static int check(gf_status st, const char *what)
{
    if (st == GF_OK)
        return 1;
    fprintf(stderr, "batchnorm_depth: %s: %s (%s)\n", what, gf_strerror(st), gf_last_error());
    return 0;
}

static int parse(int argc, char **argv, options *o)
{
    *o = (options){"sigmoid", "xavier", "batchnorm_depth", 0, 20, 64, 600, 0.05, 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quick") == 0) {
            o->depth = 10;
            o->steps = 100;
            if (!o->csv_set)
                o->csv = NULL;
            continue;
        }
        if (v == NULL)
            return 0;
        i++;
        if (strcmp(a, "--act") == 0)
            o->act = v;
        else if (strcmp(a, "--init") == 0)
            o->init = v;
        else if (strcmp(a, "--csv") == 0) {
            o->csv = v;
            o->csv_set = 1;
        }
        else if (strcmp(a, "--depth") == 0)
            o->depth = strtoul(v, NULL, 10);
        else if (strcmp(a, "--width") == 0)
            o->width = strtoul(v, NULL, 10);
        else if (strcmp(a, "--steps") == 0)
            o->steps = strtoul(v, NULL, 10);
        else if (strcmp(a, "--lr") == 0)
            o->lr = strtod(v, NULL);
        else if (strcmp(a, "--seed") == 0)
            o->seed = strtoull(v, NULL, 10);
        else
            return 0;
    }
    return o->depth >= 2 && o->width > 0 && o->lr > 0;
}

/* x ~ N(0, I), class = argmax of x W^T for the teacher W (CLASSES, IN). */
static void make_data(gf_tensor *x, gf_tensor *t, const double *teacher, gf_rng *rng)
{
    for (size_t r = 0; r < x->rows; r++) {
        size_t best = 0;
        double best_v = -INFINITY;
        for (size_t j = 0; j < IN; j++)
            x->data[r * IN + j] = (gf_real)gf_rng_normal(rng);
        for (size_t c = 0; c < CLASSES; c++) {
            double v = 0;
            for (size_t j = 0; j < IN; j++)
                v += teacher[c * IN + j] * x->data[r * IN + j];
            if (v > best_v) {
                best_v = v;
                best = c;
            }
        }
        t->data[r] = (gf_real)best;
    }
}

/* (linear [, batch norm], act) x (depth - 1), then linear to the classes. */
static int build(gf_net **net, const options *o, int bn, const gf_init *init, gf_rng *rng)
{
    int ok = check(gf_net_new(net, IN), "gf_net_new");
    for (size_t k = 0; k + 1 < o->depth && ok; k++)
        ok = check(gf_net_add_linear(*net, o->width), "add_linear") &&
             (!bn || check(gf_net_add_batchnorm(*net, 1e-5, 0.1), "add_batchnorm")) &&
             check(gf_net_add_activation(*net, o->act), "add_activation");
    ok = ok && check(gf_net_add_linear(*net, CLASSES), "add_linear");
    return ok && check(gf_net_init(*net, init, rng), "init");
}

/* ||dL/dh_k|| of every linear layer from the last backward pass's records. */
static size_t linear_norms(gf_net *net, double *norms, size_t cap)
{
    const gf_record *rec;
    size_t count, k = 0;
    if (!check(gf_net_last_records(net, &rec, &count), "records"))
        return 0;
    for (size_t i = 0; i < count && k < cap; i++)
        if (strcmp(rec[i].kind, "linear") == 0)
            norms[k++] = rec[i].grad_out_norm;
    return k;
}

/* <csv>_signal.csv (layer, plain, bn) and its figure: ||dL/dh_k|| against k, log y. The
 * script sits beside the CSV and reads it by its base name (gnuplot runs in the
 * script's directory). */
static int signal_figure(const options *o, double *const norms[2])
{
    const char *slash = strrchr(o->csv, '/'), *base = slash != NULL ? slash + 1 : o->csv;
    char path[512];
    FILE *fp;
    snprintf(path, sizeof path, "%s_signal.csv", o->csv);
    fp = fopen(path, "w");
    if (fp == NULL) {
        perror(path);
        return 0;
    }
    fprintf(fp, "layer,plain,bn\n");
    for (size_t k = 0; k < o->depth; k++)
        fprintf(fp, "%zu,%.9g,%.9g\n", k + 1, norms[0][k], norms[1][k]);
    fclose(fp);
    snprintf(path, sizeof path, "%s_signal.gp", o->csv);
    fp = fopen(path, "w");
    if (fp == NULL) {
        perror(path);
        return 0;
    }
    fprintf(fp, "# %s_signal.gp: run in this directory with gnuplot %s_signal.gp\n"
            "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
            "    set terminal pngcairo size 900,560 enhanced font 'sans,10'\n"
            "} else {\n"
            "    set terminal png size 900,560 enhanced\n"
            "}\n"
            "set output '%s_signal.png'\n"
            "set datafile separator ','\n"
            "set title \"Backward signal per layer at the first step, with and without batch "
            "norm\\n%zu linear layers of width %zu, %s, %s init; layer 1 / layer %zu: plain "
            "%.1e, batch norm %.1e\" noenhanced\n"
            "set xlabel 'linear layer k (1 = input side)'\n"
            "set ylabel '||dL/dh_k|| at the output of linear layer k'\n"
            "set xrange [1:%zu]\n"
            "set logscale y\n"
            "set format y '10^{%%L}'\n"
            "set grid lc rgb '#d0d0d0'\n"
            "set key bottom right box opaque noenhanced\n"
            "pos(v) = v > 0 ? v : NaN  # log axis: drop zeros (float underflow)\n"
            "plot '%s_signal.csv' skip 1 using 1:(pos($2)) with linespoints lw 2 pt 7 "
            "ps 0.6 lc rgb '#d62728' title 'plain', \\\n"
            "     '' skip 1 using 1:(pos($3)) with linespoints lw 2 pt 5 ps 0.6 "
            "lc rgb '#1f77b4' title 'batch norm after every linear layer'\n",
            base, base, base, o->depth, o->width, o->act, o->init, o->depth,
            norms[0][0] / norms[0][o->depth - 1], norms[1][0] / norms[1][o->depth - 1],
            o->depth, base);
    if (fclose(fp) != 0) {
        perror(path);
        return 0;
    }
    printf("wrote %s_signal.csv and %s\n", o->csv, path);
    if (!gf_plot_available()) {
        printf("gnuplot not found: %s not rendered\n\n", path);
        return 1;
    }
    if (!check(gf_plot_render(path), "gf_plot_render"))
        return 0;
    printf("wrote %s_signal.png\n\n", o->csv);
    return 1;
}

int main(int argc, char **argv)
{
    options o;
    gf_init init;
    gf_rng rng;
    gf_net *net[2] = {NULL, NULL};
    gf_optim *opt[2] = {NULL, NULL};
    gf_tensor *x = NULL, *t = NULL, *tx = NULL, *tt = NULL;
    double teacher[CLASSES * IN], *norms[2] = {NULL, NULL}, avg[2] = {NAN, NAN};
    gf_optim_config cfg = gf_optim_default(GF_OPTIM_MOMENTUM);
    FILE *csv = NULL;
    int ok;

    if (!parse(argc, argv, &o)) {
        fprintf(stderr, "usage: %s [--act name] [--init scheme] [--depth n >= 2] [--width n] "
                "[--steps n] [--lr x] [--seed n] [--csv prefix] [--quick]\n", argv[0]);
        return 2;
    }
    gf_rng_seed(&rng, o.seed);
    for (size_t i = 0; i < CLASSES * IN; i++)
        teacher[i] = gf_rng_normal(&rng);
    cfg.lr = o.lr;
    norms[0] = calloc(o.depth, sizeof(double));
    norms[1] = calloc(o.depth, sizeof(double));
    ok = norms[0] != NULL && norms[1] != NULL &&
         check(gf_init_from_name(&init, o.init), "init") &&
         check(gf_tensor_new(&x, BATCH, IN), "tensor") &&
         check(gf_tensor_new(&t, BATCH, 1), "tensor") &&
         check(gf_tensor_new(&tx, TEST, IN), "tensor") &&
         check(gf_tensor_new(&tt, TEST, 1), "tensor");
    for (int k = 0; k < 2 && ok; k++) {
        gf_rng wr;
        gf_rng_seed(&wr, o.seed + 100); /* the same weights for both */
        ok = build(&net[k], &o, k, &init, &wr) &&
             check(gf_optim_new(&opt[k], &cfg, gf_net_param_count(net[k])), "optim");
    }
    if (ok) {
        make_data(tx, tt, teacher, &rng);
        printf("batch norm and depth: %zu linear layers of width %zu, %s, %s init, SGD with "
               "momentum lr %g, batch %d\n", o.depth, o.width, o.act, o.init, o.lr, BATCH);
    }
    if (ok && o.csv != NULL) {
        char path[512];
        snprintf(path, sizeof path, "%s.csv", o.csv);
        csv = fopen(path, "w");
        if (csv != NULL)
            fprintf(csv, "step,plain_loss,plain_acc,bn_loss,bn_acc\n");
        else
            perror(path);
    }
    for (size_t s = 0; s <= o.steps && ok; s++) {
        make_data(x, t, teacher, &rng);
        for (int k = 0; k < 2 && ok; k++) {
            double loss;
            ok = check(gf_net_forward(net[k], NULL, x), "forward") &&
                 check(gf_net_loss(net[k], &loss, t, GF_LOSS_SOFTMAX_CE), "loss") &&
                 check(gf_net_backward(net[k]), "backward");
            if (ok && s == 0)
                ok = linear_norms(net[k], norms[k], o.depth) == o.depth;
            ok = ok && check(gf_net_step(net[k], opt[k]), "step");
            avg[k] = isnan(avg[k]) ? loss : 0.9 * avg[k] + 0.1 * loss;
        }
        if (ok && s == 0) {
            printf("\nat the first step, ||dL/dh_k|| at the output of linear layer k:\n");
            printf("%6s  %12s  %12s\n", "k", "plain", "batch norm");
            for (size_t k = 0; k < o.depth; k++)
                if (k == 0 || (k + 1) % 5 == 0 || k + 1 == o.depth)
                    printf("%6zu  %12.4e  %12.4e\n", k + 1, norms[0][k], norms[1][k]);
            printf("ratio layer 1 / layer %zu: plain %.3e, batch norm %.3e\n\n", o.depth,
                   norms[0][0] / norms[0][o.depth - 1], norms[1][0] / norms[1][o.depth - 1]);
            if (o.csv != NULL && !signal_figure(&o, norms)) {
                ok = 0;
                break;
            }
            printf("%6s  %10s %9s  %10s %9s\n", "step", "plain loss", "accuracy", "bn loss",
                   "accuracy");
        }
        if (ok && (s % (o.steps >= 200 ? o.steps / 10 : 20) == 0 || s == o.steps)) {
            double acc[2];
            for (int k = 0; k < 2 && ok; k++) {
                const gf_tensor *y;
                ok = check(gf_net_predict(net[k], &y, tx), "predict") &&
                     check(gf_accuracy(&acc[k], y, tt), "accuracy");
            }
            if (!ok)
                break;
            printf("%6zu  %10.4f %8.1f%%  %10.4f %8.1f%%\n", s, avg[0], 100 * acc[0], avg[1],
                   100 * acc[1]);
            if (csv != NULL)
                fprintf(csv, "%zu,%.6g,%.6g,%.6g,%.6g\n", s, avg[0], acc[0], avg[1], acc[1]);
        }
    }
    if (csv != NULL)
        fclose(csv);
    for (int k = 0; k < 2; k++) {
        gf_optim_free(opt[k]);
        gf_net_free(net[k]);
        free(norms[k]);
    }
    gf_tensor_free(x);
    gf_tensor_free(t);
    gf_tensor_free(tx);
    gf_tensor_free(tt);
    return ok ? 0 : 1;
}
