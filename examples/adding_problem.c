/* examples/adding_problem.c: the adding problem (Hochreiter and Schmidhuber 1997). Each
 * input is a sequence of T pairs (a value drawn from U(0, 1), a marker); exactly two
 * markers are 1, one in each half of the sequence, and the target is the sum of the two
 * marked values. Always answering 1 scores the variance of that sum, 1/6 = 0.167.
 *
 * A vanilla tanh RNN and an LSTM of the same width are trained side by side with Adam
 * and global gradient-norm clipping (Pascanu et al. 2013). At the start the program
 * prints ||dL/dh_t|| for every step t of both: the RNN's signal from the loss fades
 * geometrically as t moves back towards the first marker, the LSTM's (through its
 * additive cell state) much less. Then the RNN stays at the baseline while the LSTM
 * learns. CSVs: <prefix>_time_grad.csv (t, rnn, lstm at step 0) and <prefix>_loss.csv.
 *
 *   adding_problem [--T 50] [--hidden 32] [--steps 3000] [--batch 32] [--lr 0.01]
 *                  [--clip 1] [--seed 1] [--csv adding] [--quick]
 * --quick: T = 20, 150 steps, no CSV unless --csv is given: checks in a few seconds that
 * it runs and prints. With a CSV prefix, also the figure of ||dL/dh_t|| against t (log y,
 * both models at step 0): the gnuplot script <prefix>_time_grad.gp, rendered to
 * <prefix>_time_grad.png when gnuplot is installed.
 *
 * Measured (float build, defaults, one core): at step 0, ||dL/dh_1|| / ||dL/dh_50|| is
 * 4e-12 for the RNN (a factor ~0.55 per step) and 1e-4 for the LSTM; after 3000 steps
 * the RNN's test MSE is 0.172 (the baseline: 0.170 on this test set) and the LSTM's
 * 0.0001, below 0.05 from step 600; 14 s of CPU in all. At --T 100: ratios 2e-23 and
 * 1e-7, the LSTM below 0.05 from step 1100 (0.0004 at the end), 28 s. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gradflow.h"
#include "gradflow/rnn.h"

typedef struct options {
    size_t T, hidden, steps, batch;
    double lr, clip;
    uint64_t seed;
    const char *csv;
    int quick, csv_set; /* csv_set: --csv given (kept with --quick) */
} options;

static void usage(const char *prog)
{
    fprintf(stderr, "usage: %s [--T n] [--hidden n] [--steps n] [--batch n] [--lr x] "
            "[--clip x] [--seed n] [--csv prefix] [--quick]\n", prog);
}

static int parse(int argc, char **argv, options *o)
{
    *o = (options){50, 32, 3000, 32, 0.01, 1.0, 1, "adding", 0, 0};
    /* Every option but --quick takes a value. */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quick") == 0) {
            o->quick = 1;
            continue;
        }
        if (v == NULL) {
            usage(argv[0]);
            return 0;
        }
        i++;
        if (strcmp(a, "--T") == 0)
            o->T = strtoul(v, NULL, 10);
        else if (strcmp(a, "--hidden") == 0)
            o->hidden = strtoul(v, NULL, 10);
        else if (strcmp(a, "--steps") == 0)
            o->steps = strtoul(v, NULL, 10);
        else if (strcmp(a, "--batch") == 0)
            o->batch = strtoul(v, NULL, 10);
        else if (strcmp(a, "--lr") == 0)
            o->lr = strtod(v, NULL);
        else if (strcmp(a, "--clip") == 0)
            o->clip = strtod(v, NULL);
        else if (strcmp(a, "--seed") == 0)
            o->seed = strtoull(v, NULL, 10);
        else if (strcmp(a, "--csv") == 0) {
            o->csv = v;
            o->csv_set = 1;
        }
        else {
            usage(argv[0]);
            return 0;
        }
    }
    if (o->quick) {
        o->T = 20;
        o->steps = 150;
        if (!o->csv_set)
            o->csv = NULL;
    }
    if (o->T < 2 || o->hidden == 0 || o->batch == 0 || !(o->lr > 0) || !(o->clip > 0)) {
        fprintf(stderr, "%s: T >= 2, hidden, batch, lr and clip must be positive\n", argv[0]);
        return 0;
    }
    return 1;
}

static int check(gf_status st, const char *what)
{
    if (st == GF_OK)
        return 1;
    fprintf(stderr, "adding_problem: %s: %s (%s)\n", what, gf_strerror(st), gf_last_error());
    return 0;
}

typedef struct model {
    const char *name;
    gf_net *net;
    gf_optim *opt;
    double loss_avg; /* running mean of the training loss */
    double test_mse;
    double seconds;
    long solved_at;  /* first evaluation step with test MSE < 0.05, -1 if none */
} model;

static int build(model *m, gf_rnn_cell cell, const options *o, gf_rng *rng)
{
    gf_init xavier = gf_init_default(GF_INIT_XAVIER_NORMAL);
    gf_optim_config cfg = gf_optim_default(GF_OPTIM_ADAM);
    cfg.lr = o->lr;
    m->name = cell == GF_RNN_LSTM ? "lstm" : "rnn";
    m->loss_avg = NAN;
    m->test_mse = NAN;
    m->seconds = 0;
    m->solved_at = -1;
    return check(gf_net_new(&m->net, 2 * o->T), "gf_net_new") &&
           check(gf_net_add_rnn(m->net, cell, o->hidden, o->T, 0, NULL, rng), "add_rnn") &&
           check(gf_net_add_linear(m->net, 1), "add_linear") &&
           check(gf_net_init(m->net, &xavier, rng), "init") &&
           check(gf_optim_new(&m->opt, &cfg, gf_net_param_count(m->net)), "optim");
}

static double mse(model *m, const gf_tensor *x, const gf_tensor *t)
{
    const gf_tensor *y;
    double loss = NAN;
    if (check(gf_net_predict(m->net, &y, x), "predict"))
        check(gf_loss_compute(&loss, NULL, y, t, GF_LOSS_MSE), "loss");
    return loss;
}

/* The figure of <prefix>_time_grad.csv: ||dL/dh_t|| against t, log y. The script sits
 * beside the CSV and reads it by its base name (gnuplot runs in the script's directory). */
static int time_plot(const options *o, double rnn_ratio, double lstm_ratio)
{
    const char *slash = strrchr(o->csv, '/'), *base = slash != NULL ? slash + 1 : o->csv;
    char path[512];
    FILE *fp;
    snprintf(path, sizeof path, "%s_time_grad.gp", o->csv);
    fp = fopen(path, "w");
    if (fp == NULL) {
        perror(path);
        return 0;
    }
    fprintf(fp, "# %s_time_grad.gp: run in this directory with gnuplot %s_time_grad.gp\n"
            "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
            "    set terminal pngcairo size 900,560 enhanced font 'sans,10'\n"
            "} else {\n"
            "    set terminal png size 900,560 enhanced\n"
            "}\n"
            "set output '%s_time_grad.png'\n"
            "set datafile separator ','\n"
            "set title \"Adding problem, T = %zu, hidden %zu: gradient through time at step 0 "
            "(the loss sees h_T only)\\n||dL/dh_1|| / ||dL/dh_T||: tanh RNN %.1e, LSTM %.1e\" "
            "noenhanced\n"
            "set xlabel 'time step t'\n"
            "set ylabel '||dL/dh_t||'\n"
            "set xrange [1:%zu]\n"
            "set logscale y\n"
            "set format y '10^{%%L}'\n"
            "set grid lc rgb '#d0d0d0'\n"
            "set key bottom right box opaque noenhanced\n"
            "pos(v) = v > 0 ? v : NaN  # log axis: drop zeros (float underflow)\n"
            "plot '%s_time_grad.csv' skip 1 using 1:(pos($2)) with linespoints lw 2 pt 7 "
            "ps 0.6 lc rgb '#d62728' title 'vanilla tanh RNN', \\\n"
            "     '' skip 1 using 1:(pos($3)) with linespoints lw 2 pt 5 ps 0.6 "
            "lc rgb '#1f77b4' title 'LSTM'\n",
            base, base, base, o->T, o->hidden, rnn_ratio, lstm_ratio, o->T, base);
    if (fclose(fp) != 0) {
        perror(path);
        return 0;
    }
    printf("wrote %s\n", path);
    if (!gf_plot_available()) {
        printf("gnuplot not found: %s not rendered\n\n", path);
        return 1;
    }
    if (!check(gf_plot_render(path), "gf_plot_render"))
        return 0;
    printf("wrote %s_time_grad.png\n\n", o->csv);
    return 1;
}

/* Print and save ||dL/dh_t|| of the first backward pass of both models, and plot it. */
static int time_figure(model *m, const options *o)
{
    const double *norms[2];
    size_t T[2];
    FILE *fp = NULL;
    char path[512];
    for (int k = 0; k < 2; k++)
        if (!check(gf_rnn_time_grad_norms(gf_net_layer(m[k].net, 0), &norms[k], &T[k]),
                   "time norms"))
            return 0;
    printf("gradient through time at step 0: ||dL/dh_t|| (the loss sees h_T only)\n");
    printf("%6s  %12s  %12s\n", "t", "rnn", "lstm");
    for (size_t t = T[0]; t-- > 0;)
        if (t + 1 == T[0] || t == 0 || (t + 1) % 5 == 0)
            printf("%6zu  %12.4e  %12.4e\n", t + 1, norms[0][t], norms[1][t]);
    printf("ratio ||dL/dh_1|| / ||dL/dh_T||:  rnn %.3e   lstm %.3e\n\n",
           norms[0][0] / norms[0][T[0] - 1], norms[1][0] / norms[1][T[1] - 1]);
    if (o->csv == NULL)
        return 1;
    snprintf(path, sizeof path, "%s_time_grad.csv", o->csv);
    fp = fopen(path, "w");
    if (fp == NULL) {
        perror(path);
        return 0;
    }
    fprintf(fp, "t,rnn,lstm\n");
    for (size_t t = 0; t < T[0]; t++)
        fprintf(fp, "%zu,%.9g,%.9g\n", t + 1, norms[0][t], norms[1][t]);
    fclose(fp);
    printf("wrote %s\n", path);
    return time_plot(o, norms[0][0] / norms[0][T[0] - 1], norms[1][0] / norms[1][T[1] - 1]);
}

int main(int argc, char **argv)
{
    options o;
    gf_rng rng;
    model m[2];
    gf_tensor *x = NULL, *t = NULL, *tx = NULL, *tt = NULL;
    gf_clip clip;
    FILE *loss_csv = NULL;
    double baseline = 0;
    size_t eval_every;
    int ok;

    if (!parse(argc, argv, &o))
        return 2;
    memset(m, 0, sizeof m);
    gf_rng_seed(&rng, o.seed);
    clip = (gf_clip){.kind = GF_CLIP_GLOBAL_NORM, .threshold = o.clip};
    ok = build(&m[0], GF_RNN_TANH, &o, &rng) && build(&m[1], GF_RNN_LSTM, &o, &rng) &&
         check(gf_tensor_new(&x, o.batch, 2 * o.T), "tensor") &&
         check(gf_tensor_new(&t, o.batch, 1), "tensor") &&
         check(gf_tensor_new(&tx, 1000, 2 * o.T), "tensor") &&
         check(gf_tensor_new(&tt, 1000, 1), "tensor");
    if (!ok)
        goto done;
    ok = check(gf_data_adding(tx, tt, o.T, &rng), "gf_data_adding");
    if (!ok)
        goto done;
    for (size_t r = 0; r < 1000; r++)
        baseline += (tt->data[r] - 1.0) * (tt->data[r] - 1.0) / 1000;
    printf("adding problem: T = %zu, hidden %zu, batch %zu, Adam lr %g, global-norm clip %g, "
           "%zu steps\n", o.T, o.hidden, o.batch, o.lr, o.clip, o.steps);
    printf("parameters: rnn %zu, lstm %zu; baseline (always answer 1): test MSE %.4f\n\n",
           gf_net_param_count(m[0].net), gf_net_param_count(m[1].net), baseline);
    if (o.csv != NULL) {
        char path[512];
        snprintf(path, sizeof path, "%s_loss.csv", o.csv);
        loss_csv = fopen(path, "w");
        if (loss_csv == NULL)
            perror(path);
        else
            fprintf(loss_csv, "step,rnn_train,rnn_test,lstm_train,lstm_test\n");
    }
    eval_every = o.steps >= 1000 ? 100 : 25;
    for (size_t s = 0; s <= o.steps && ok; s++) {
        /* both models see the same batches */
        ok = check(gf_data_adding(x, t, o.T, &rng), "gf_data_adding");
        for (int k = 0; k < 2 && ok; k++) {
            clock_t c0 = clock();
            double loss;
            ok = check(gf_net_forward(m[k].net, NULL, x), "forward") &&
                 check(gf_net_loss(m[k].net, &loss, t, GF_LOSS_MSE), "loss") &&
                 check(gf_net_backward(m[k].net), "backward");
            if (ok && s == 0 && k == 1)
                ok = time_figure(m, &o);
            ok = ok && check(gf_net_clip(m[k].net, NULL, &clip), "clip") &&
                 check(gf_net_step(m[k].net, m[k].opt), "step");
            m[k].seconds += (double)(clock() - c0) / CLOCKS_PER_SEC;
            m[k].loss_avg = isnan(m[k].loss_avg) ? loss : 0.95 * m[k].loss_avg + 0.05 * loss;
        }
        if (ok && s == 0)
            printf("%6s  %10s %10s  %10s %10s   (train: running mean)\n", "step", "rnn train",
                   "rnn test", "lstm train", "lstm test");
        if (ok && (s % eval_every == 0 || s == o.steps)) {
            for (int k = 0; k < 2; k++) {
                m[k].test_mse = mse(&m[k], tx, tt);
                if (m[k].solved_at < 0 && m[k].test_mse < 0.05)
                    m[k].solved_at = (long)s;
            }
            printf("%6zu  %10.4f %10.4f  %10.4f %10.4f\n", s, m[0].loss_avg, m[0].test_mse,
                   m[1].loss_avg, m[1].test_mse);
            fflush(stdout);
            if (loss_csv != NULL)
                fprintf(loss_csv, "%zu,%.6g,%.6g,%.6g,%.6g\n", s, m[0].loss_avg,
                        m[0].test_mse, m[1].loss_avg, m[1].test_mse);
        }
    }
    if (ok) {
        printf("\nafter %zu steps (baseline %.4f):\n", o.steps, baseline);
        for (int k = 0; k < 2; k++) {
            printf("  %-4s test MSE %.4f (%.1f%% of the baseline), %.1f s CPU", m[k].name,
                   m[k].test_mse, 100 * m[k].test_mse / baseline, m[k].seconds);
            if (m[k].solved_at >= 0)
                printf(", below 0.05 from step %ld\n", m[k].solved_at);
            else
                printf(", never below 0.05\n");
        }
    }
done:
    if (loss_csv != NULL)
        fclose(loss_csv);
    for (int k = 0; k < 2; k++) {
        gf_optim_free(m[k].opt);
        gf_net_free(m[k].net);
    }
    gf_tensor_free(x);
    gf_tensor_free(t);
    gf_tensor_free(tx);
    gf_tensor_free(tt);
    return ok ? 0 : 1;
}
