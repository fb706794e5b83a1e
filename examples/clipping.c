/* clipping: gradient clipping on an exploding network. A ReLU net whose weights are
 * three times He's scale amplifies the backward signal about x3 per layer; plain SGD then
 * takes a first step so large that the weights blow up and the loss becomes infinite or
 * NaN within a few steps. Clipping each gradient component into [-t, t] ("by value") or
 * scaling the whole gradient to norm <= t ("by norm", Pascanu et al. 2013) bounds every
 * step, and the same net trains.
 *
 * Usage: clipping [output-dir]   (default ./out/clipping). Figures: loss (the three runs)
 * and norms (the global gradient norm before clipping, per step). Exits non-zero unless
 * the unclipped run diverges and both clipped runs stay finite and reduce the loss. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gradflow.h>

#include "example_dir.h"

#define WIDTH 64
#define DEPTH 8
#define BATCH 64
#define STEPS 60

typedef struct result {
    double loss[STEPS];
    double norm[STEPS]; /* global gradient norm before clipping */
    int steps;          /* steps completed (updates applied) */
    int n_loss;         /* losses recorded (a diverging step's included) */
    int diverged;       /* a non-finite value or a loss beyond 1e6 x the first */
    gf_verdict verdict;
} result;

static gf_status train(const gf_clip *clip, const gf_tensor *x, const gf_tensor *y,
                       result *r, gf_net **keep)
{
    gf_init init = gf_init_default(GF_INIT_NORMAL);
    gf_mlp_spec spec = {.in = WIDTH, .width = WIDTH, .depth = DEPTH, .out = 8, .act = "relu",
                        .act_param = NAN, .init = &init};
    gf_optim_config cfg = gf_optim_default(GF_OPTIM_SGD);
    gf_optim *opt = NULL;
    gf_net *net = NULL;
    gf_rng rng;
    init.std = 1.5 * sqrt(2.0 / WIDTH);
    cfg.lr = 0.05;
    gf_rng_seed(&rng, 9); /* the same initial weights for the three runs */
    memset(r, 0, sizeof *r);
    gf_status st = gf_net_new_mlp(&net, &spec, &rng);
    if (st == GF_OK) st = gf_optim_new(&opt, &cfg, gf_net_param_count(net));
    for (int s = 0; st == GF_OK && s < STEPS; s++) {
        const gf_tensor *out;
        double loss = NAN;
        st = gf_net_forward(net, &out, x);
        if (st == GF_OK) st = gf_net_loss(net, &loss, y, GF_LOSS_MSE);
        if (st == GF_OK) st = gf_net_backward(net);
        if (st == GF_ENONFINITE) { /* the run blew up: the telemetry says where */
            r->loss[s] = loss;
            r->norm[s] = NAN;
            r->n_loss = s + 1;
            r->diverged = 1;
            st = GF_OK;
            break;
        }
        if (st != GF_OK)
            break;
        r->loss[s] = loss;
        r->n_loss = s + 1;
        r->norm[s] = gf_array_norm2(gf_net_grads(net), gf_net_param_count(net));
        if (clip != NULL) st = gf_net_clip(net, NULL, clip);
        if (st == GF_OK) st = gf_net_step(net, opt);
        r->steps = s + 1;
    }
    if (r->n_loss > 0 && !(r->loss[r->n_loss - 1] < 1e6 * r->loss[0]))
        r->diverged = 1;
    if (st == GF_OK) st = gf_verdict_judge(&r->verdict, gf_net_telemetry(net));
    gf_optim_free(opt);
    *keep = net;
    return st;
}

static gf_status write_norms(const char *dir, const result *r, const char *const *labels)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/norms.dat", dir);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        return GF_EIO;
    }
    fputs("# step, then the global gradient norm before clipping of each run\n", f);
    for (int s = 0; s < STEPS; s++) {
        fprintf(f, "%d", s);
        for (int i = 0; i < 3; i++) {
            double v = s < r[i].n_loss ? r[i].norm[s] : NAN;
            if (isfinite(v) && v > 0)
                fprintf(f, " %.6g", v);
            else
                fputs(" NaN", f);
        }
        fputc('\n', f);
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/norms.gp", dir);
    f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        return GF_EIO;
    }
    fputs("# norms.gp: run in this directory with gnuplot norms.gp\n"
          "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
          "    set terminal pngcairo size 900,520 enhanced font 'sans,10'\n"
          "} else {\n"
          "    set terminal png size 900,520 enhanced\n"
          "}\n"
          "set output 'norms.png'\n"
          "set datafile missing 'NaN'\n"
          "set title 'Global gradient norm before clipping'\n"
          "set xlabel 'step'\n"
          "set ylabel '||dL/d{/Symbol q}||'\n"
          "set logscale y\n"
          "set format y '10^{%L}'\n"
          "set grid lc rgb '#d0d0d0'\n"
          "set key below horizontal height 1.5 noenhanced\n"
          "plot ", f);
    for (int i = 0; i < 3; i++)
        fprintf(f, "%s'norms.dat' using 1:%d with linespoints lw 2 pt 7 ps 0.5 title '%s'",
                i ? ", \\\n     " : "", i + 2, labels[i]);
    fputc('\n', f);
    fclose(f);
    return gf_plot_render(path);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "out/clipping";
    const char *labels[3] = {"no clipping", "clip by value", "clip by norm"};
    const gf_clip clips[3] = {{.kind = GF_CLIP_NONE, .threshold = 1},
                              {.kind = GF_CLIP_VALUE, .threshold = 0.05},
                              {.kind = GF_CLIP_GLOBAL_NORM, .threshold = 1}};
    static result r[3];
    gf_net *net[3] = {NULL, NULL, NULL};
    gf_tensor *x = NULL, *y = NULL;
    gf_rng rng;
    int bad = 0, rendered = 1;

    gf_rng_seed(&rng, 1);
    gf_status st = example_mkdir(dir);
    if (st == GF_OK) st = gf_tensor_new(&x, BATCH, WIDTH);
    if (st == GF_OK) st = gf_tensor_new(&y, BATCH, 8);
    for (size_t i = 0; st == GF_OK && i < BATCH * WIDTH; i++)
        x->data[i] = (gf_real)gf_rng_normal(&rng);
    for (size_t i = 0; st == GF_OK && i < BATCH * 8; i++)
        y->data[i] = (gf_real)gf_rng_normal(&rng);

    printf("ReLU net, %d layers, weights 1.5 x He's scale, SGD lr 0.05, %d steps:\n", DEPTH, STEPS);
    for (int i = 0; st == GF_OK && i < 3; i++) {
        st = train(i ? &clips[i] : NULL, x, y, &r[i], &net[i]);
        if (st != GF_OK)
            break;
        const gf_verdict *v = &r[i].verdict;
        if (r[i].diverged && v->nonfinite)
            printf("%s: non-finite at step %llu, layer %zu (%s pass); the gradient norm was "
                   "%.3g at step 0\n", labels[i], (unsigned long long)v->nonfinite_step,
                   v->nonfinite_layer, v->nonfinite_backward ? "backward" : "forward",
                   r[i].norm[0]);
        else if (r[i].diverged)
            printf("%s: diverged, loss %.3g at step %d\n", labels[i], r[i].loss[r[i].n_loss - 1],
                   r[i].n_loss - 1);
        else
            printf("%s (t = %g): finite for all %d steps, loss %.4g -> %.4g, gradient norm "
                   "%.3g at step 0\n", labels[i], clips[i].threshold, r[i].steps, r[i].loss[0],
                   r[i].loss[STEPS - 1], r[i].norm[0]);
    }
    if (st == GF_OK) {
        int ok = r[0].diverged;
        for (int i = 1; i < 3; i++)
            ok = ok && !r[i].diverged && r[i].loss[STEPS - 1] < 0.5 * r[i].loss[0];
        if (!ok)
            printf("MISMATCH: expected the unclipped run to diverge and both clipped runs to "
                   "train\n");
        bad = !ok;
    }
    if (st == GF_OK) {
        double *losses[3] = {r[0].loss, r[1].loss, r[2].loss};
        gf_plot_run runs[3];
        for (int i = 0; i < 3; i++)
            runs[i] = (gf_plot_run){.label = labels[i],
                                    .telemetry = gf_net_telemetry(net[i]),
                                    .predicted_factor = NAN, .loss = losses[i],
                                    .n_loss = (size_t)r[i].n_loss};
        gf_plot_options o = gf_plot_options_default();
        o.title = "Training loss of an exploding ReLU net, with and without clipping";
        st = gf_plot_loss(dir, "loss", runs, 3, &o);
        if (st == GF_EUNSUPPORTED)
            rendered = 0, st = GF_OK;
        if (st == GF_OK) st = write_norms(dir, r, labels);
        if (st == GF_EUNSUPPORTED)
            rendered = 0, st = GF_OK;
    }
    if (st != GF_OK)
        fprintf(stderr, "clipping: %s\n", gf_last_error());
    else
        printf("figures: %s/loss and norms (.gp%s)\n", dir,
               rendered ? " and .png" : "; gnuplot not installed, not rendered");
    for (int i = 0; i < 3; i++)
        gf_net_free(net[i]);
    gf_tensor_free(x);
    gf_tensor_free(y);
    return st != GF_OK || bad;
}
