/* examples/deep_residual.c: why skip connections let very deep networks pass gradients.
 * For depths of 50 and 100 linear layers (width 64, the activation after each), a plain
 * network and a residual one built from the SAME layers with the SAME weights: the
 * residual net wraps each run of (linear, act, linear, act) in a block y = x + F(x)
 * (skip_begin, F's layers, skip_add: F's layers are layers of the network, residual.h).
 * At initialisation one backward pass from a random unit dL/dy gives ||dL/dh_k|| at the
 * output of every linear layer k, read from each network's own telemetry. Beside the
 * plain net: the mean-field prediction (gradflow/theory.h) following the variance map
 * from the input.
 *
 * In a plain net, dL/dh_k is a product of L - k Jacobians and shrinks (or grows) by
 * sqrt(chi) per layer; in a residual net each block contributes (I + dF/dx), whose
 * identity part carries the signal whatever F does.
 *
 *   deep_residual [--act sigmoid] [--init xavier] [--width 64] [--batch 64] [--seed 1]
 *                 [--csv deep_residual] [--batchnorm]
 * writes <csv>_L50.csv and <csv>_L100.csv: layer,plain,residual,theory (theory empty
 * with --batchnorm, which puts batch norm after every linear layer of both nets; the
 * mean-field line is for plain networks without it), and the figure of both: the
 * gnuplot script <csv>_grad.gp, rendered to <csv>_grad.png when gnuplot is installed.
 *
 * Measured (float build, defaults): from layer 50 to layer 1 the plain sigmoid net
 * passes 2.5e-31 of the signal (mean-field: 1.7e-31), the residual one 0.22; at 100
 * layers the plain net's signal underflows float (the double build measures 8.5e-63,
 * mean-field 7.5e-63), the residual one still passes 0.22. The skip is no cure for
 * everything: with --act relu --init he the
 * residual net's signal GROWS by 1.7e5 over 50 layers and 1.5e11 over 100 (every block
 * adds F(x) of the same variance as x, doubling it). --batchnorm tames that to 5.7 and 13
 * in the residual net, while the plain ReLU net with batch norm explodes (1.2e4 and
 * 2.4e8: Yang et al. 2019 predict this gradient explosion of batch norm at init).
 * Starting F at zero (gf_net_add_residual_mlp's zero_last) is the other usual cure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradflow.h"
#include "gradflow/norm.h"
#include "gradflow/residual.h"
#include "gradflow/theory.h"

typedef struct options {
    const char *act, *init, *csv;
    size_t width, batch;
    uint64_t seed;
    int batchnorm; /* batch norm after every linear layer, in both nets */
} options;

static int check(gf_status st, const char *what)
{
    if (st == GF_OK)
        return 1;
    fprintf(stderr, "deep_residual: %s: %s (%s)\n", what, gf_strerror(st), gf_last_error());
    return 0;
}

static int parse(int argc, char **argv, options *o)
{
    *o = (options){"sigmoid", "xavier", "deep_residual", 64, 64, 1, 0};
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--batchnorm") == 0) {
            o->batchnorm = 1;
            i--;
            continue;
        }
        if (v == NULL)
            return 0;
        if (strcmp(a, "--act") == 0)
            o->act = v;
        else if (strcmp(a, "--init") == 0)
            o->init = v;
        else if (strcmp(a, "--csv") == 0)
            o->csv = v;
        else if (strcmp(a, "--width") == 0)
            o->width = strtoul(v, NULL, 10);
        else if (strcmp(a, "--batch") == 0)
            o->batch = strtoul(v, NULL, 10);
        else if (strcmp(a, "--seed") == 0)
            o->seed = strtoull(v, NULL, 10);
        else
            return 0;
    }
    return o->width > 0 && o->batch > 1;
}

/* linear (then batch norm), then the activation. */
static int add_unit(gf_net *net, const options *o)
{
    return check(gf_net_add_linear(net, o->width), "add_linear") &&
           (!o->batchnorm || check(gf_net_add_batchnorm(net, 1e-5, 0.1), "add_batchnorm")) &&
           check(gf_net_add_activation(net, o->act), "add_activation");
}

/* Plain: (linear, act) x depth, all width x width. */
static int build_plain(gf_net **net, const options *o, size_t depth, const gf_init *init,
                       gf_rng *rng)
{
    int ok = check(gf_net_new(net, o->width), "gf_net_new");
    for (size_t k = 0; k < depth && ok; k++)
        ok = add_unit(*net, o);
    return ok && check(gf_net_init(*net, init, rng), "init");
}

/* Residual: blocks y = x + F(x), F = (linear, act, linear, act), depth/2 of them: the
 * plain net's very sequence of layers, with a skip around every pair. Initialised like
 * the plain net, in layer order, so the same rng stream gives the same weights. The main
 * path is the identity (no activation between blocks, as in the "pre-activation" ResNet
 * of He et al. 2016). */
static int build_residual(gf_net **net, const options *o, size_t depth, const gf_init *init,
                          gf_rng *rng)
{
    int ok = check(gf_net_new(net, o->width), "gf_net_new");
    for (size_t k = 0; k < depth / 2 && ok; k++) {
        ok = check(gf_net_add_skip_begin(*net), "add_skip_begin");
        for (int j = 0; j < 2 && ok; j++)
            ok = add_unit(*net, o);
        ok = ok && check(gf_net_add_skip_add(*net, NULL), "add_skip_add");
    }
    return ok && check(gf_net_init(*net, init, rng), "init");
}

/* One forward and backward pass; norms[k] = ||dL/dh_k|| for linear layer k, from the
 * records of that pass (one per layer, the blocks' inner layers too). */
static int measure(gf_net *net, const gf_tensor *x, const gf_tensor *dy, double *norms,
                   size_t depth)
{
    const gf_record *rec;
    size_t count, k = 0;
    if (!check(gf_net_forward(net, NULL, x), "forward") ||
        !check(gf_net_backward_from(net, dy), "backward") ||
        !check(gf_net_last_records(net, &rec, &count), "records"))
        return 0;
    for (size_t i = 0; i < count && k < depth; i++)
        if (strcmp(rec[i].kind, "linear") == 0)
            norms[k++] = rec[i].grad_out_norm;
    return k == depth;
}

/* Mean-field ||dL/dh_k|| for the plain net: q_1 = sigma_w^2 E[x^2] (biases 0), q_{k+1} =
 * V(q_k); E||g_L||^2 = E[phi'^2](q_L) ||dy||^2 and E||g_k||^2 = chi(q_k) E||g_{k+1}||^2. */
static int theory(double *pred, size_t depth, const gf_activation *act, double param,
                  double sw2, double x_sq)
{
    double *q = malloc(depth * sizeof *q), e;
    int ok = q != NULL;
    if (ok)
        q[0] = sw2 * x_sq;
    for (size_t k = 1; k < depth && ok; k++)
        ok = check(gf_theory_q_map(&q[k], act, param, sw2, 0, q[k - 1]), "q map");
    ok = ok && check(gf_theory_gauss_mean_sq(&e, act, param, q[depth - 1], 1), "E[phi'^2]");
    if (ok)
        pred[depth - 1] = sqrt(e);
    for (size_t k = depth - 1; k-- > 0 && ok;) {
        double chi;
        ok = check(gf_theory_chi_at(&chi, act, param, sw2, q[k]), "chi");
        pred[k] = pred[k + 1] * sqrt(chi);
    }
    free(q);
    return ok;
}

/* The figure: ||dL/dh_k|| against the layer k (log y), one panel per depth, plain and
 * residual nets (and the mean-field line), from the two CSVs. <csv>_grad.gp sits beside
 * them and reads them by their base names (gnuplot runs in the script's directory);
 * rendered to <csv>_grad.png when gnuplot is installed. */
static int write_figure(const options *o)
{
    const char *slash = strrchr(o->csv, '/'), *base = slash != NULL ? slash + 1 : o->csv;
    char path[512];
    FILE *fp;
    snprintf(path, sizeof path, "%s_grad.gp", o->csv);
    fp = fopen(path, "w");
    if (fp == NULL) {
        perror(path);
        return 0;
    }
    fprintf(fp, "# %s_grad.gp: run in this directory with gnuplot %s_grad.gp\n"
            "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
            "    set terminal pngcairo size 1200,520 enhanced font 'sans,10'\n"
            "} else {\n"
            "    set terminal png size 1200,520 enhanced\n"
            "}\n"
            "set output '%s_grad.png'\n"
            "set datafile separator ','\n"
            "set logscale y\n"
            "set format y '10^{%%L}'\n"
            "set grid lc rgb '#d0d0d0'\n"
            "set key below horizontal maxrows 1 noenhanced\n"
            "set xlabel 'linear layer k (1 = input side)'\n"
            "set ylabel '||dL/dh_k|| at initialisation (||dL/dh|| = 1 at the output)'\n"
            "pos(v) = v > 0 ? v : NaN  # log axis: drop zeros (float underflow)\n"
            "set multiplot layout 1,2 title 'Backward signal per layer, plain vs residual "
            "(%s, %s init, width %zu%s)' font ',12'\n",
            base, base, base, o->act, o->init, o->width,
            o->batchnorm ? ", batch norm" : "");
    for (int d = 0; d < 2; d++) {
        size_t L = d == 0 ? 50 : 100;
        fprintf(fp, "set title '%zu layers%s'\nset xrange [1:%zu]\n", L,
                GF_REAL_IS_DOUBLE || L == 50 ? "" : " (norms that underflow float to 0 are not drawn)",
                L);
        fprintf(fp, "plot '%s_L%zu.csv' skip 1 using 1:(pos($2)) with lines lw 2 "
                "lc rgb '#d62728' title 'plain', \\\n"
                "     '' skip 1 using 1:(pos($3)) with lines lw 2 lc rgb '#1f77b4' "
                "title 'residual'", base, L);
        if (!o->batchnorm)
            fprintf(fp, ", \\\n     '' skip 1 using 1:(pos($4)) with lines lw 2 dt 2 "
                    "lc rgb 'black' title 'mean-field (plain)'");
        fputc('\n', fp);
    }
    fprintf(fp, "unset multiplot\n");
    if (fclose(fp) != 0) {
        perror(path);
        return 0;
    }
    printf("wrote %s\n", path);
    if (!gf_plot_available()) {
        printf("gnuplot not found: %s not rendered\n", path);
        return 1;
    }
    if (!check(gf_plot_render(path), "gf_plot_render"))
        return 0;
    printf("wrote %s_grad.png\n", o->csv);
    return 1;
}

int main(int argc, char **argv)
{
    static const size_t depths[2] = {50, 100};
    options o;
    const gf_activation *act = NULL;
    gf_init init;
    gf_tensor *x = NULL, *dy = NULL;
    double sw2, x_sq;
    int ok;

    if (!parse(argc, argv, &o)) {
        fprintf(stderr, "usage: %s [--act name] [--init scheme] [--width n] [--batch n >= 2] "
                "[--seed n] [--csv prefix] [--batchnorm]\n", argv[0]);
        return 2;
    }
    ok = check(gf_activation_find(&act, o.act), "activation") &&
         check(gf_init_from_name(&init, o.init), "init") &&
         check(gf_theory_init_sigma_w2(&sw2, &init, o.width, o.width), "sigma_w^2") &&
         check(gf_tensor_new(&x, o.batch, o.width), "tensor") &&
         check(gf_tensor_new(&dy, o.batch, o.width), "tensor");
    if (ok) {
        gf_rng rng;
        double n2;
        gf_rng_seed(&rng, o.seed + 1000);
        for (size_t i = 0; i < o.batch * o.width; i++) {
            x->data[i] = (gf_real)gf_rng_normal(&rng);
            dy->data[i] = (gf_real)gf_rng_normal(&rng);
        }
        /* ||dL/dh|| = 1 at the output, so the table reads as the gain of the backward
         * pass. */
        n2 = gf_tensor_norm2(dy);
        gf_tensor_scale_inplace(dy, (gf_real)(1 / n2));
        x_sq = gf_tensor_dot(x, x) / (double)(o.batch * o.width);
        printf("plain vs residual at init: %s, %s init (sigma_w^2 = %.3f), width %zu, batch "
               "%zu%s\n", o.act, o.init, sw2, o.width, o.batch,
               o.batchnorm ? ", batch norm after every linear layer" : "");
    }
    for (int d = 0; d < 2 && ok; d++) {
        size_t L = depths[d];
        gf_net *plain = NULL, *res = NULL;
        double *np = calloc(L, sizeof *np), *nr = calloc(L, sizeof *nr);
        double *pred = calloc(L, sizeof *pred);
        gf_rng rng;
        ok = np != NULL && nr != NULL && pred != NULL;
        gf_rng_seed(&rng, o.seed);
        ok = ok && build_plain(&plain, &o, L, &init, &rng);
        gf_rng_seed(&rng, o.seed);
        ok = ok && build_residual(&res, &o, L, &init, &rng);
        /* Same weights, layer for layer: compare the first and the last. */
        if (ok && (gf_net_layer(plain, 0)->weight.data[0] !=
                       gf_net_layer(res, 1)->weight.data[0]))
            ok = check(GF_ESTATE, "the two nets do not share their weights");
        ok = ok && measure(plain, x, dy, np, L) && measure(res, x, dy, nr, L);
        /* The mean-field line is for plain networks without normalisation. */
        if (o.batchnorm)
            for (size_t k = 0; k < L; k++)
                pred[k] = NAN;
        else
            ok = ok && theory(pred, L, act, act->default_param, sw2, x_sq);
        if (ok) {
            char path[512];
            FILE *fp;
            printf("\n%zu layers: ||dL/dh_k|| at the output of linear layer k (1 at the top)\n",
                   L);
            printf("%6s  %12s  %12s  %12s\n", "k", "plain", "residual", "mean-field");
            for (size_t k = 0; k < L; k++)
                if (k == 0 || (k + 1) % 10 == 0)
                    printf("%6zu  %12.4e  %12.4e  %12.4e\n", k + 1, np[k], nr[k], pred[k]);
            printf("gain from layer %zu to layer 1: plain %.3e, residual %.3e, mean-field "
                   "%.3e\n", L, np[0] / np[L - 1], nr[0] / nr[L - 1], pred[0] / pred[L - 1]);
            snprintf(path, sizeof path, "%s_L%zu.csv", o.csv, L);
            fp = fopen(path, "w");
            if (fp == NULL) {
                perror(path);
            } else {
                fprintf(fp, "layer,plain,residual,theory\n");
                /* NaN (no prediction) is an empty field, as in the telemetry CSV. */
                for (size_t k = 0; k < L; k++) {
                    fprintf(fp, "%zu,%.9g,%.9g,", k + 1, np[k], nr[k]);
                    if (!isnan(pred[k]))
                        fprintf(fp, "%.9g", pred[k]);
                    fputc('\n', fp);
                }
                fclose(fp);
                printf("wrote %s\n", path);
            }
        }
        free(np);
        free(nr);
        free(pred);
        gf_net_free(plain);
        gf_net_free(res);
    }
    ok = ok && write_figure(&o);
    gf_tensor_free(x);
    gf_tensor_free(dy);
    return ok ? 0 : 1;
}
