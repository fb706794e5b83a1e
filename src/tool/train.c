/* src/tool/train.c: one run of the gradflow program, from options to run directory:
 * load the data, build the network (plain, normalised, residual or recurrent), train with
 * telemetry streamed to disk (and that of steps through time),
 * stop cleanly on NaN/inf or Ctrl-C, then write the run directory and figures through
 * report.h and the model through model.h. Tables and overlays of several runs are in
 * commands.c. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gradflow/model.h>
#include <gradflow/theory.h>

#include "tool.h"

/* Seeds of the independent streams of a run, derived from --seed, so that the data
 * split, the weights and the batch order can each be reproduced alone (a resumed run
 * replays the batch order without touching the weights' stream). */
#define SEED_DATA 0x6461746100000000ull  /* "data" */
#define SEED_BATCH 0x6261746368000000ull /* "batch" */

/* ---- Data ----------------------------------------------------------------------------- */

static int is_synthetic(const char *name)
{
    return strcmp(name, "gauss") == 0 || strcmp(name, "xor") == 0 ||
           strcmp(name, "spirals") == 0 || strcmp(name, "moons") == 0;
}

/* The adding problem (Hochreiter and Schmidhuber 1997), as examples/adding_problem.c
 * makes it: each row is T steps of (value ~ U(0, 1), marker), (n, 2T), step s in columns
 * 2s and 2s+1; exactly two markers are 1, one in each half of the sequence, and the
 * target is the sum of the two marked values. Always answering 1 scores the variance of
 * that sum, 1/6. */
static gf_status adding_problem(gf_dataset **out, size_t n, size_t T, gf_rng *rng)
{
    gf_dataset *d = NULL;
    gf_status st = gf_dataset_new(&d, n, 2 * T, 1, 0, "adding");
    if (st != GF_OK)
        return st;
    for (size_t r = 0; r < n; r++) {
        gf_real *row = d->x->data + r * 2 * T;
        size_t a = (size_t)gf_rng_below(rng, T / 2);
        size_t b = T / 2 + (size_t)gf_rng_below(rng, T - T / 2);
        for (size_t s = 0; s < T; s++) {
            row[2 * s] = (gf_real)gf_rng_uniform(rng);
            row[2 * s + 1] = (gf_real)(s == a || s == b);
        }
        d->y->data[r] = row[2 * a] + row[2 * b];
    }
    *out = d;
    return GF_OK;
}

/* Class indices (n, 1) -> one-hot rows (n, k), for MSE and BCE on a class set. */
static gf_status one_hot(gf_dataset **d)
{
    gf_dataset *src = *d, *dst = NULL;
    size_t n = gf_dataset_rows(src), k = src->n_classes;
    gf_status st = gf_dataset_new(&dst, n, src->x->cols, k, 0, src->name);
    if (st != GF_OK)
        return st;
    memcpy(dst->x->data, src->x->data, n * src->x->cols * sizeof(gf_real));
    for (size_t i = 0; i < n; i++)
        dst->y->data[i * k + (size_t)src->y->data[i]] = 1;
    /* gf_accuracy takes the argmax of one-hot rows: keep the class count for it. */
    dst->n_classes = k;
    gf_dataset_free(src);
    *d = dst;
    return GF_OK;
}

int gft_load_data(const gft_config *c, gf_dataset **train, gf_dataset **test,
                  gf_loss_kind *loss)
{
    gf_dataset *all = NULL;
    gf_rng rng;
    gf_status st;

    *train = *test = NULL;
    gf_rng_seed(&rng, c->seed ^ SEED_DATA);
    if (strcmp(c->data, "digits") == 0) {
        st = gf_data_digits(&all);
    } else if (is_synthetic(c->data)) {
        int gauss = strcmp(c->data, "gauss") == 0;
        st = gf_data_synthetic(&all, c->data, c->samples, gauss ? c->width : 0,
                               gauss ? c->width : 0, &rng);
    } else if (strcmp(c->data, "adding") == 0) {
        st = adding_problem(&all, c->samples, gft_adding_steps(c), &rng);
    } else if (strcmp(c->data, "fashion-mnist") == 0) {
        st = gf_data_fashion_mnist(train, test, NULL);
        if (st != GF_OK) {
            gft_error("--data fashion-mnist: %s (install Debian's dataset-fashion-mnist, or "
                      "set %s to the directory of its IDX files)", gf_last_error(),
                      GF_FASHION_MNIST_ENV);
            return GFT_EXIT_FAIL;
        }
    } else {
        gf_csv_options o = gf_csv_options_default();
        o.label_column = c->label_column > 0 ? c->label_column - 1 : -1;
        o.header = c->header;
        o.regression = c->loss_given && c->loss == GF_LOSS_MSE;
        st = gf_data_csv(&all, c->data, &o);
    }
    if (st != GF_OK) {
        gft_error("--data %s: %s", c->data, gf_last_error());
        return GFT_EXIT_FAIL;
    }
    if (all != NULL) {
        st = gf_data_split(train, test, all, c->test_fraction, &rng);
        gf_dataset_free(all);
        if (st != GF_OK) {
            gft_error("--data %s: %s", c->data, gf_last_error());
            return GFT_EXIT_FAIL;
        }
    }

    if (*train == NULL || *test == NULL) { /* a loader's contract; never trust it blindly */
        gft_error("--data %s: the loader returned no data", c->data);
        gf_dataset_free(*train), gf_dataset_free(*test);
        *train = *test = NULL;
        return GFT_EXIT_FAIL;
    }
    *loss = c->loss_given ? c->loss
                          : (*train)->n_classes > 0 ? GF_LOSS_SOFTMAX_CE : GF_LOSS_MSE;
    if ((*train)->n_classes == 0 && *loss == GF_LOSS_SOFTMAX_CE) {
        gft_error("--loss cross_entropy: the data set '%s' has real targets, not classes "
                  "(use --loss mse)", c->data);
        gf_dataset_free(*train), gf_dataset_free(*test);
        *train = *test = NULL;
        return GFT_EXIT_USAGE;
    }
    if ((*train)->n_classes > 0 && *loss != GF_LOSS_SOFTMAX_CE) {
        st = one_hot(train);
        if (st == GF_OK)
            st = one_hot(test);
        if (st != GF_OK) {
            gft_error("%s", gf_last_error());
            gf_dataset_free(*train), gf_dataset_free(*test);
            *train = *test = NULL;
            return GFT_EXIT_FAIL;
        }
    }
    return 0;
}

/* ---- The network ---------------------------------------------------------------------- */

/* The normalisation of --norm after a hidden linear layer (norm.h's usual constants). */
static gf_status add_norm(gf_net *net, gft_norm norm)
{
    if (norm == GFT_NORM_BATCH)
        return gf_net_add_batchnorm(net, 1e-5, 0.1);
    if (norm == GFT_NORM_LAYER)
        return gf_net_add_layernorm(net, 1e-5);
    return GF_OK;
}

/* A hidden layer: linear to width, the normalisation, the activation. */
static gf_status add_hidden(gf_net *net, size_t width, const gft_config *c, double param)
{
    gf_status st = gf_net_add_linear(net, width);
    if (st == GF_OK)
        st = add_norm(net, c->norm);
    if (st == GF_OK)
        st = gf_net_add_activation_param(net, c->act, param);
    return st;
}

/* A residual block y = x + F(x) in the flat stack (gradflow/residual.h): skip_begin,
 * F = K linear layers of the current width with the hidden layers' normalisation and
 * activation after each but the last, skip_add. F's layers are the network's: each is
 * initialised with the others and records its own telemetry. */
static gf_status add_block(gf_net *net, const gft_config *c, double param, gf_rng *rng)
{
    size_t w = gf_net_out_features(net);
    gf_status st = gf_net_add_skip_begin(net);
    for (size_t j = 0; st == GF_OK && j + 1 < c->residual; j++)
        st = add_hidden(net, w, c, param);
    if (st == GF_OK)
        st = gf_net_add_linear(net, w);
    if (st == GF_OK)
        st = gf_net_add_skip_add(net, rng);
    return st;
}

/* An MLP with normalisation layers, or a residual net (options.c has checked that
 * depth = 2 + blocks K): linear layers in -> width -> ... -> out, the last one bare. */
static gf_status build_mlp(gf_net **out, const gft_config *c, size_t in, size_t n_out,
                           const gf_init *init, double param, gf_rng *rng)
{
    gf_net *net = NULL;
    size_t hidden = c->residual ? 1 : c->depth - 1;
    size_t blocks = c->residual ? (c->depth - 2) / c->residual : 0;
    gf_status st = gf_net_new(&net, in);
    for (size_t i = 0; st == GF_OK && i < hidden; i++)
        st = add_hidden(net, c->width, c, param);
    for (size_t b = 0; st == GF_OK && b < blocks; b++)
        st = add_block(net, c, param, rng);
    if (st == GF_OK)
        st = gf_net_add_linear(net, n_out);
    /* Every linear layer, the blocks' too. */
    if (st == GF_OK)
        st = gf_net_init(net, init, rng);
    if (st != GF_OK) {
        gf_net_free(net);
        return st;
    }
    *out = net;
    return GF_OK;
}

/* A recurrent layer reading the input as T steps, then a linear output layer. Without
 * --init, both start U(-1/sqrt(H), 1/sqrt(H)) (gf_rnn_init's default, PyTorch's). */
static int build_recurrent(const gft_config *c, size_t in, size_t n_out, gf_net **out,
                           gf_rng *rng)
{
    size_t T = strcmp(c->data, "adding") == 0 ? gft_adding_steps(c)
                                               : c->seq_len ? c->seq_len : in;
    double r = 1 / sqrt((double)c->hidden);
    gf_init out_init = gf_init_default(GF_INIT_UNIFORM);
    gf_status st;
    if (in % T != 0) {
        gft_error("--seq-len %zu: the data's %zu input columns are not a multiple of it (each "
                  "step reads the same number of columns)", T, in);
        return GFT_EXIT_USAGE;
    }
    out_init.low = -r, out_init.high = r;
    st = gf_net_new(out, in);
    if (st == GF_OK)
        st = gf_net_add_rnn(*out, (gf_rnn_cell)c->cell, T, c->hidden, 0,
                            c->init_given ? &c->init : NULL, rng);
    if (st == GF_OK)
        st = gf_net_add_linear(*out, n_out);
    /* gf_net_init initialises the linear layer only: recurrent layers are not parametric. */
    if (st == GF_OK)
        st = gf_net_init(*out, c->init_given ? &c->init : &out_init, rng);
    if (st != GF_OK) {
        gft_error("cannot build the network: %s", gf_last_error());
        gf_net_free(*out);
        *out = NULL;
        return GFT_EXIT_FAIL;
    }
    return 0;
}

int gft_build_net(const gft_config *c, size_t in, size_t out, const gf_tensor *batch,
                  gf_net **net)
{
    gf_mlp_spec spec = {.in = in, .width = c->width, .depth = c->depth, .out = out,
                        .act = c->act, .act_param = c->act_param, .init = NULL};
    gf_init init = c->init;
    const gf_activation *act;
    gf_rng rng;
    gf_status st;

    *net = NULL;
    gf_rng_seed(&rng, c->seed);
    if (c->cell >= 0)
        return build_recurrent(c, in, out, net, &rng);
    if (c->init_given) {
        /* LSUV needs data: build with its orthogonal start, then rescale on a batch. */
        if (init.kind == GF_INIT_LSUV)
            init.kind = GF_INIT_ORTHOGONAL;
        spec.init = &init;
    }
    if (c->norm == GFT_NORM_NONE && c->residual == 0) {
        st = gf_net_new_mlp(net, &spec, &rng);
    } else {
        st = gf_activation_find(&act, c->act);
        if (st == GF_OK) {
            double param = isnan(c->act_param) ? act->default_param : c->act_param;
            if (!c->init_given)
                st = gf_init_suited(&init, act, param);
            if (st == GF_OK)
                st = build_mlp(net, c, in, out, &init, param, &rng);
        }
    }
    if (st == GF_OK && c->init_given && c->init.kind == GF_INIT_LSUV)
        st = gf_net_init_lsuv(*net, &c->init, batch, &rng, 0.1, 10);
    if (st != GF_OK) {
        gft_error("cannot build the network: %s", gf_last_error());
        gf_net_free(*net);
        *net = NULL;
        return GFT_EXIT_FAIL;
    }
    return 0;
}

/* ---- Plots ---------------------------------------------------------------------------- */

/* The mean-field prediction of the signal's factor per layer at initialisation,
 * sqrt(chi) (theory.h), for the dashed line of the signal figure; 0 when there is none
 * (LSUV, whose scale depends on the data; a resumed, trained network). */
static double predicted_factor(const gft_config *c)
{
    const gf_activation *act;
    gf_init init;
    double param, sigma_w2, q, chi;
    /* The theory is that of plain networks. */
    if (c->resume[0] || c->depth < 3 || c->norm != GFT_NORM_NONE || c->residual ||
        c->cell >= 0 || gf_activation_find(&act, c->act) != GF_OK)
        return 0;
    param = isnan(c->act_param) ? act->default_param : c->act_param;
    if (c->init_given)
        init = c->init;
    else if (gf_init_suited(&init, act, param) != GF_OK)
        return 0;
    /* The hidden layers are width x width; biases start constant (sigma_b = 0). */
    if (gf_theory_init_sigma_w2(&init, c->width, c->width, &sigma_w2) != GF_OK ||
        gf_theory_chi(act, param, sigma_w2, 0.0, &q, &chi) != GF_OK || !(chi > 0))
        return 0;
    return sqrt(chi);
}

gf_plot_format gft_plot_format(const gft_config *c)
{
    return c->plot == GFT_PLOT_SVG ? GF_PLOT_SVG : c->plot == GFT_PLOT_NONE ? GF_PLOT_NONE
                                                                           : GF_PLOT_PNG;
}

void gft_clear_scripts(const char *dir, const char *const *names, size_t n)
{
    char path[1400];
    for (size_t i = 0; i < n; i++)
        if (snprintf(path, sizeof path, "%s/%s.gp", dir, names[i]) < (int)sizeof path)
            remove(path); /* absent is fine */
}

gf_status gft_render_batch(const char *dir, const char *const *names, size_t n, int render)
{
    char path[1400], script[1400];
    FILE *f;
    size_t found = 0;
    if (snprintf(path, sizeof path, "%s/figures.gp", dir) >= (int)sizeof path)
        return GF_EINVAL;
    f = fopen(path, "w");
    if (f == NULL) {
        gft_error("cannot write '%s'", path);
        return GF_EIO;
    }
    fprintf(f, "# figures.gp: renders every figure of this directory in one gnuplot process.\n"
               "# Run it here: gnuplot figures.gp\n");
    for (size_t i = 0; i < n; i++) {
        FILE *g;
        snprintf(script, sizeof script, "%s/%s.gp", dir, names[i]);
        g = fopen(script, "r");
        if (g == NULL)
            continue; /* not drawn for this run (no loss, no activation layer, NaN) */
        fclose(g);
        fprintf(f, "%sload '%s.gp'\n", found++ ? "reset\n" : "", names[i]);
    }
    if (fclose(f) != 0) {
        gft_error("cannot write '%s'", path);
        return GF_EIO;
    }
    return render && found > 0 ? gf_plot_render(path) : GF_OK;
}

int gft_plot_status(gf_status st, const char *what, int quiet, int soft)
{
    static int told;
    if (st == GF_OK)
        return 0;
    if (soft) {
        /* A run stopped by NaN may have nothing finite to draw: a note, not a failure. */
        if (!quiet)
            fprintf(stderr, "gradflow: note: %s: %s\n", what, gf_last_error());
        return 0;
    }
    if (st == GF_EUNSUPPORTED) {
        if (!told && !quiet)
            fprintf(stderr, "gradflow: note: %s\n", gf_last_error());
        told = 1;
        return 0;
    }
    gft_error("%s: %s", what, gf_last_error());
    return 1;
}

/* ---- Bookkeeping of one run ----------------------------------------------------------- */

/* A growing array of (step, value) pairs: the loss per step, the evaluations. */
typedef struct series {
    uint64_t *steps;
    double *a, *b;  /* b may stay NULL */
    size_t n, cap;
} series;

static int series_push(series *s, uint64_t step, double a, double b)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        uint64_t *steps = gf_realloc(s->steps, cap * sizeof *steps);
        double *na, *nb;
        if (steps == NULL)
            return -1;
        s->steps = steps;
        na = gf_realloc(s->a, cap * sizeof *na);
        if (na == NULL)
            return -1;
        s->a = na;
        nb = gf_realloc(s->b, cap * sizeof *nb);
        if (nb == NULL)
            return -1;
        s->b = nb;
        s->cap = cap;
    }
    s->steps[s->n] = step;
    s->a[s->n] = a;
    s->b[s->n] = b;
    s->n++;
    return 0;
}

static void series_free(series *s)
{
    gf_free(s->steps), gf_free(s->a), gf_free(s->b);
    memset(s, 0, sizeof *s);
}

/* The configuration as key/value pairs for summary.json. */
#define MAX_KV 24
typedef struct config_text {
    char buf[MAX_KV][128];
    gf_run_kv kv[MAX_KV];
    size_t n;
} config_text;

static void kv_add(config_text *t, const char *key, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void kv_add(config_text *t, const char *key, const char *fmt, ...)
{
    va_list ap;
    if (t->n == MAX_KV)
        return;
    va_start(ap, fmt);
    vsnprintf(t->buf[t->n], sizeof t->buf[t->n], fmt, ap);
    va_end(ap);
    t->kv[t->n].key = key;
    t->kv[t->n].value = t->buf[t->n];
    t->n++;
}

/* seq_len: the steps the recurrent layer reads (0: no recurrent layer). */
static void config_kv(config_text *t, const gft_config *c, gf_loss_kind loss,
                      const gf_optim_config *oc, uint64_t total, size_t seq_len)
{
    t->n = 0;
    kv_add(t, "data", "%s", c->data);
    if (c->cell >= 0 && !c->resume[0]) {
        kv_add(t, "cell", "%s", gf_rnn_cell_name((gf_rnn_cell)c->cell));
        kv_add(t, "seq_len", "%zu", seq_len);
        kv_add(t, "hidden", "%zu", c->hidden);
    } else {
        kv_add(t, "depth", "%zu", c->depth);
        kv_add(t, "width", "%zu", c->width);
        kv_add(t, "act", "%s", c->act);
        if (!isnan(c->act_param))
            kv_add(t, "act_param", "%g", c->act_param);
        if (c->norm != GFT_NORM_NONE)
            kv_add(t, "norm", "%s", c->norm == GFT_NORM_BATCH ? "batch" : "layer");
        if (c->residual)
            kv_add(t, "residual", "%zu", c->residual);
    }
    /* The recurrent layer's default is not an activation's suited scheme. */
    kv_add(t, "init", "%s", c->cell >= 0 && !c->init_given ? "uniform" : c->init_text);
    kv_add(t, "loss", "%s", gf_loss_name(loss));
    kv_add(t, "optim", "%s", gf_optim_name(oc->kind));
    kv_add(t, "lr", "%g", oc->lr);
    if (oc->kind == GF_OPTIM_MOMENTUM)
        kv_add(t, "momentum", "%g", oc->momentum);
    kv_add(t, "batch", "%zu", c->batch);
    kv_add(t, "steps", "%llu", (unsigned long long)total);
    kv_add(t, "seed", "%llu", (unsigned long long)c->seed);
    if (c->clip.kind != GF_CLIP_NONE)
        kv_add(t, "clip", "%s:%g", gf_clip_name(c->clip.kind), c->clip.threshold);
    kv_add(t, "every", "%llu", (unsigned long long)c->every);
    if (c->resume[0])
        kv_add(t, "resume", "%s", c->resume);
}

static gf_telemetry *copy_telemetry(const gf_telemetry *t)
{
    gf_telemetry *copy = NULL;
    if (gf_telemetry_new(&copy) != GF_OK)
        return NULL;
    if (gf_telemetry_reserve(copy, gf_telemetry_count(t)) != GF_OK) {
        gf_telemetry_free(copy);
        return NULL;
    }
    for (size_t i = 0; i < gf_telemetry_count(t); i++)
        gf_telemetry_append(copy, gf_telemetry_at(t, i)); /* reserved: cannot fail */
    return copy;
}

void gft_result_release(gft_result *r)
{
    gf_telemetry_free(r->tel);
    gf_free(r->loss);
    gf_free(r->loss_steps);
    gf_free(r->time_init);
    r->tel = NULL, r->loss = NULL, r->loss_steps = NULL, r->n_loss = 0;
    r->time_init = NULL, r->time_T = 0;
}

/* ---- One training step ---------------------------------------------------------------- */

/* gf_net_train_step taken apart, so that the histograms of activations and backward
 * gradients can be written between the backward pass and the update. On GF_ENONFINITE
 * the backward pass's message (naming the step and layer) is left in gf_last_error. */
static gf_status train_step(gf_net *net, const gf_tensor *x, const gf_tensor *y,
                            gf_loss_kind kind, gf_optim *opt, const gf_clip *clip, int skip,
                            double *loss, const char *hist_path, int *hist_done)
{
    gf_status st = gf_net_forward(net, x, NULL);
    if (st == GF_OK)
        st = gf_net_loss(net, kind, y, loss);
    if (st == GF_OK)
        st = gf_net_backward(net);
    if (st == GF_ENONFINITE)
        return skip ? gf_net_step(net, opt) /* skips the update: GF_OK */ : st;
    if (st == GF_OK && hist_path != NULL) {
        st = gf_hist_write(hist_path, net, 0);
        *hist_done = st == GF_OK;
    }
    if (st == GF_OK && clip->kind != GF_CLIP_NONE)
        st = gf_net_clip(net, clip, NULL);
    if (st == GF_OK)
        st = gf_net_step(net, opt);
    return st;
}

/* ---- Gradients through time ------------------------------------------------------------ */

static int path_in(char *buf, size_t len, const char *dir, const char *file)
{
    int n = snprintf(buf, len, "%s/%s", dir, file);
    if (n < 0 || (size_t)n >= len) {
        gft_error("--out: the path '%s/%s' is too long", dir, file);
        return -1;
    }
    return 0;
}


/* 1 when the backward pass of `step` was recorded in the telemetry (every --every-th
 * step, and any step that saw NaN/inf): the extra files follow the same steps. */
static int step_recorded(gf_net *net, uint64_t step)
{
    const gf_record *rec;
    size_t n;
    return gf_net_last_records(net, &rec, &n) == GF_OK && n > 0 && rec[0].step == step;
}

/* ||dL/dh_t|| of a recurrent layer, t = 1..T, on every recorded step: streamed to
 * time.csv (rnn.h's "step,t,grad_h_norm", T lines per step), and kept for the first and
 * the last recorded step for time.png. */
typedef struct time_trace {
    gf_layer *layer;        /* the network's first recurrent layer; NULL: none */
    gf_rnn_cell cell;
    size_t T;
    FILE *csv;              /* opened at the first record */
    char path[1300];
    double *first, *last;   /* (T) norms at the first and at the last recorded step */
    uint64_t first_step, last_step;
    size_t recorded;        /* steps recorded */
    int failed;             /* a write failed (said once) */
} time_trace;

static int time_begin(time_trace *tt, gf_net *net, const char *dir)
{
    memset(tt, 0, sizeof *tt);
    for (size_t i = 0; i < gf_net_layer_count(net); i++) {
        gf_layer *l = gf_net_layer(net, i);
        if (strcmp(gf_net_layer_kind(net, i), "rnn") == 0 &&
            gf_rnn_shape(l, &tt->cell, NULL, NULL, &tt->T) == GF_OK) {
            tt->layer = l;
            break;
        }
    }
    if (tt->layer == NULL)
        return 0;
    if (path_in(tt->path, sizeof tt->path, dir, "time.csv") != 0)
        return -1;
    remove(tt->path); /* a previous run's */
    tt->first = gf_calloc(tt->T, sizeof *tt->first);
    tt->last = gf_calloc(tt->T, sizeof *tt->last);
    if (tt->first == NULL || tt->last == NULL) {
        gft_error("out of memory");
        return -1;
    }
    return 0;
}

/* After a training step: record it when the telemetry did. */
static void time_record(time_trace *tt, gf_net *net, uint64_t step)
{
    const double *norms;
    size_t T;
    if (tt->layer == NULL || tt->failed || !step_recorded(net, step) ||
        gf_rnn_time_grad_norms(tt->layer, &norms, &T) != GF_OK || T != tt->T)
        return;
    if (tt->csv == NULL && (tt->csv = fopen(tt->path, "w")) == NULL) {
        gft_error("cannot write '%s': %s", tt->path, strerror(errno));
        tt->failed = 1;
        return;
    }
    /* Flushed step by step, as telemetry.csv: valid up to its last line after a crash. */
    if (gf_rnn_write_time_csv(tt->layer, tt->csv, step, tt->recorded == 0) != GF_OK ||
        fflush(tt->csv) != 0) {
        gft_error("cannot write '%s': %s", tt->path, gf_last_error());
        tt->failed = 1;
        return;
    }
    if (tt->recorded++ == 0) {
        memcpy(tt->first, norms, T * sizeof *norms);
        tt->first_step = step;
    }
    memcpy(tt->last, norms, T * sizeof *norms);
    tt->last_step = step;
}

/* Close time.csv; returns -1 when it could not be written whole (said). */
static int time_end(time_trace *tt)
{
    int bad = tt->failed;
    if (tt->csv != NULL && fclose(tt->csv) != 0 && !bad) {
        gft_error("cannot write '%s': %s", tt->path, strerror(errno));
        bad = 1;
    }
    tt->csv = NULL;
    return bad ? -1 : 0;
}

static void time_release(time_trace *tt)
{
    if (tt->csv != NULL)
        fclose(tt->csv);
    gf_free(tt->first);
    gf_free(tt->last);
    memset(tt, 0, sizeof *tt);
}

/* A string in a gnuplot script: single quotes doubled, newlines dropped. */
static void gp_string(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', f);
        if (*s != '\n' && *s != '\r')
            fputc(*s, f);
    }
    fputc('\'', f);
}

int gft_time_figure(const char *dir, const char *name, const char *title,
                    const gft_curve *curves, size_t n, gf_plot_format format)
{
    char dat[1300], gp[1300], file[200];
    double lo = INFINITY, hi = 0;
    size_t t_max = 1, drawn = 0;
    FILE *f;
    snprintf(file, sizeof file, "%s.dat", name);
    if (path_in(dat, sizeof dat, dir, file) != 0)
        return -1;
    snprintf(file, sizeof file, "%s.gp", name);
    if (path_in(gp, sizeof gp, dir, file) != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < curves[i].T; t++) {
            double v = curves[i].norms[t];
            if (isfinite(v) && v > 0)
                lo = fmin(lo, v), hi = fmax(hi, v);
            t_max = curves[i].T > t_max ? curves[i].T : t_max;
        }
    if (!(hi > 0))
        return 1;

    /* One block per curve (gnuplot's index), so curves of different T share the file. */
    f = fopen(dat, "w");
    if (f == NULL)
        goto fail_dat;
    fprintf(f, "# t ||dL/dh_t||, one block per curve\n");
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%s# %s\n", i ? "\n\n" : "", curves[i].label);
        for (size_t t = 0; t < curves[i].T; t++) {
            double v = curves[i].norms[t];
            /* A log axis cannot hold 0 or NaN: missing points. */
            if (isfinite(v) && v > 0)
                fprintf(f, "%zu %.6g\n", t + 1, v);
            else
                fprintf(f, "%zu NaN\n", t + 1);
        }
    }
    if (fclose(f) != 0)
        goto fail_dat;

    f = fopen(gp, "w");
    if (f == NULL)
        goto fail_gp;
    fprintf(f, "# %s.gp: written by gradflow %s. Run it in this directory: gnuplot %s.gp\n",
            name, gf_version(), name);
    if (format == GF_PLOT_SVG)
        fputs("set terminal svg size 900,520 enhanced font 'sans,12' background rgb 'white'\n",
              f);
    else
        fputs("if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
              "    set terminal pngcairo size 900,520 enhanced font 'sans,10'\n"
              "} else {\n"
              "    set terminal png size 900,520 enhanced\n"
              "}\n", f);
    fprintf(f, "set output '%s.%s'\n", name, format == GF_PLOT_SVG ? "svg" : "png");
    fputs("set datafile missing 'NaN'\n"
          "set grid lc rgb '#d0d0d0'\n"
          "set key noenhanced top left\n"
          "set title ", f);
    gp_string(f, title);
    fputs(" noenhanced font ',12'\n"
          "set xlabel 't (step of the sequence; the loss reads h_T)' noenhanced\n"
          "set ylabel '||dL/dh_t||'\n"
          "set logscale y\n", f);
    fprintf(f, "set format y '%s'\n", hi / lo > 100 ? "10^{%L}" : "%g");
    if (t_max > 1)
        fprintf(f, "set xrange [1:%zu]\n", t_max);
    fputs("plot ", f);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%s'%s.dat' index %zu using 1:2 with linespoints lw 2 pt 7 ps 0.5 lc %zu "
                   "title ", drawn++ ? ", \\\n     " : "", name, i, i + 1);
        gp_string(f, curves[i].label);
    }
    fputc('\n', f);
    if (fclose(f) != 0)
        goto fail_gp;
    return 0;
fail_dat:
    gft_error("cannot write '%s': %s", dat, strerror(errno));
    return -1;
fail_gp:
    gft_error("cannot write '%s': %s", gp, strerror(errno));
    return -1;
}

/* time.png of a run: the first and the last recorded step. */
static int time_figure(const time_trace *tt, const char *dir, const char *label,
                       gf_plot_format format)
{
    char title[400], first[64], last[64];
    gft_curve curves[2];
    int two = tt->recorded > 1 && tt->last_step != tt->first_step;
    snprintf(title, sizeof title, "%s: the gradient through time (%s, T = %zu)", label,
             gf_rnn_cell_name(tt->cell), tt->T);
    snprintf(first, sizeof first, "step %llu%s", (unsigned long long)tt->first_step,
             tt->first_step == 0 ? " (initialisation)" : "");
    snprintf(last, sizeof last, "step %llu", (unsigned long long)tt->last_step);
    curves[0] = (gft_curve){first, tt->first, tt->T};
    curves[1] = (gft_curve){last, tt->last, tt->T};
    return gft_time_figure(dir, "time", title, curves, two ? 2 : 1, format);
}

/* ---- The run -------------------------------------------------------------------------- */

/* The optimiser: from the model file when resuming and it holds one, else new. */
static int make_optim(const gft_config *c, gf_net *net, gf_optim **opt)
{
    gf_optim_config oc = gf_optim_default(c->optim);
    gf_status st;
    if (*opt != NULL)
        return 0;
    if (!isnan(c->lr))
        oc.lr = c->lr;
    if (!isnan(c->momentum))
        oc.momentum = c->momentum;
    st = gf_optim_new(opt, &oc, gf_net_param_count(net));
    if (st != GF_OK) {
        gft_error("cannot make the optimiser: %s", gf_last_error());
        return GFT_EXIT_FAIL;
    }
    return 0;
}

int gft_train(const gft_config *c, const char *dir, const char *label, int keep,
              gft_result *r)
{
    gf_dataset *train = NULL, *test = NULL;
    gf_net *net = NULL;
    gf_optim *opt = NULL;
    gf_batcher *batcher = NULL;
    gf_tensor *x = NULL, *y = NULL;
    gf_loss_kind loss_kind;
    gf_rng batch_rng;
    series losses = {0}, evals = {0};
    gft_progress bar;
    config_text ct;
    char path[1300], hist[1300];
    uint64_t start_step = 0, total, step;
    double t0 = gft_now();
    int status = 0, nonfinite = 0, interrupted = 0, hist_done = 0;
    gf_status st;
    char nonfinite_msg[600] = "";
    time_trace tt;

    memset(r, 0, sizeof *r);
    memset(&tt, 0, sizeof tt);
    snprintf(r->label, sizeof r->label, "%s", label);
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    r->final_loss = r->accuracy = r->seconds = NAN;
    r->time_first = r->time_last = r->time_ratio = NAN;
    r->predicted_factor = predicted_factor(c);

    status = gft_load_data(c, &train, &test, &loss_kind);
    if (status != 0)
        goto done;
    if (c->norm == GFT_NORM_BATCH && !c->resume[0]) {
        /* A training pass of batch norm needs 2 rows; the last batch of an epoch holds
         * what is left. */
        size_t n = gf_dataset_rows(train), b = c->batch < n ? c->batch : n;
        if (n % b == 1) {
            gft_error("--norm batch: the last batch of each epoch would hold 1 row (%zu "
                      "training rows, --batch %zu); choose another --batch", n, c->batch);
            status = GFT_EXIT_USAGE;
            goto done;
        }
    }
    if (gf_tensor_new(&x, 1, train->x->cols) != GF_OK ||
        gf_tensor_new(&y, 1, train->y->cols) != GF_OK) {
        gft_error("%s", gf_last_error());
        status = GFT_EXIT_FAIL;
        goto done;
    }
    gf_rng_seed(&batch_rng, c->seed ^ SEED_BATCH);
    if (gf_batcher_new(&batcher, train, c->batch, &batch_rng) != GF_OK) {
        gft_error("%s", gf_last_error());
        status = GFT_EXIT_FAIL;
        goto done;
    }

    if (c->resume[0]) {
        st = gf_model_load(&net, &opt, NULL, c->resume);
        if (st != GF_OK) {
            gft_error("--resume %s: %s", c->resume, gf_last_error());
            status = GFT_EXIT_FAIL;
            goto done;
        }
        if (gf_net_in_features(net) != train->x->cols ||
            gf_net_out_features(net) != (loss_kind == GF_LOSS_SOFTMAX_CE ? train->n_classes
                                                                       : train->y->cols)) {
            gft_error("--resume %s: the model maps %zu inputs to %zu outputs, which does not "
                      "fit the data (%zu columns, %zu %s)", c->resume, gf_net_in_features(net),
                      gf_net_out_features(net), train->x->cols,
                      loss_kind == GF_LOSS_SOFTMAX_CE ? train->n_classes : train->y->cols,
                      loss_kind == GF_LOSS_SOFTMAX_CE ? "classes" : "targets");
            status = GFT_EXIT_FAIL;
            goto done;
        }
        /* Replay the batch order up to the saved step: the run then sees exactly the
         * batches it would have seen had it never stopped. */
        start_step = gf_net_step_count(net);
        for (uint64_t k = 0; k < start_step; k++)
            if (gf_batcher_next(batcher, x, y, NULL) != GF_OK)
                break;
    } else {
        size_t out = loss_kind == GF_LOSS_SOFTMAX_CE ? train->n_classes : train->y->cols;
        int new_epoch;
        /* LSUV rescales on the first batch; peeking at it would shift the batch order,
         * so it is drawn from a copy of the batcher's generator. */
        if (c->init_given && c->init.kind == GF_INIT_LSUV) {
            gf_rng peek = batch_rng;
            gf_batcher *b2 = NULL;
            if (gf_batcher_new(&b2, train, c->batch, &peek) == GF_OK)
                gf_batcher_next(b2, x, y, &new_epoch);
            gf_batcher_free(b2);
        }
        status = gft_build_net(c, train->x->cols, out, x, &net);
        if (status != 0)
            goto done;
    }
    if (make_optim(c, net, &opt) != 0) {
        status = GFT_EXIT_FAIL;
        goto done;
    }
    /* A resumed run keeps the saved optimiser; an explicit --lr changes its rate. */
    if (c->resume[0] && !isnan(c->lr) && gf_optim_set_lr(opt, c->lr) != GF_OK) {
        gft_error("--lr: %s", gf_last_error());
        status = GFT_EXIT_FAIL;
        goto done;
    }
    /* Model files may not hold every layer kind (model.h): find out now, not after the
     * run, by saving to memory. */
    if (c->save[0]) {
        void *data = NULL;
        size_t size = 0;
        st = gf_model_save_memory(&data, &size, net, opt, NULL);
        gf_free(data);
        if (st != GF_OK) {
            gft_error("--save %s: %s%s", c->save, gf_last_error(),
                      st == GF_EUNSUPPORTED ? " (nothing trained; run without --save)" : "");
            status = GFT_EXIT_FAIL;
            goto done;
        }
    }
    gf_net_set_record_every(net, c->every);
    gf_net_set_skip_nonfinite(net, c->skip_nonfinite);

    total = c->steps ? c->steps
                     : c->epochs * (uint64_t)gf_batcher_batches_per_epoch(batcher);
    if (total <= start_step) {
        gft_error("--resume %s: the model has already made %llu steps (--steps %llu)",
                  c->resume, (unsigned long long)start_step, (unsigned long long)total);
        status = GFT_EXIT_USAGE;
        goto done;
    }

    /* Stream the telemetry from the start, so that a killed run leaves a CSV valid up
     * to its last complete line. */
    st = gf_mkdir_p(dir);
    if (st == GF_OK && path_in(path, sizeof path, dir, "telemetry.csv") == 0)
        st = gf_telemetry_stream_to(gf_net_telemetry(net), path);
    if (st != GF_OK || path_in(hist, sizeof hist, dir, "hist_init.csv") != 0) {
        if (st != GF_OK)
            gft_error("--out %s: %s", dir, gf_last_error());
        status = GFT_EXIT_FAIL;
        goto done;
    }
    if (time_begin(&tt, net, dir) != 0) {
        status = GFT_EXIT_FAIL;
        goto done;
    }

    gft_progress_begin(&bar, label, total - start_step, c->quiet);
    for (step = start_step; step < total; step++) {
        int new_epoch = 0;
        double loss = NAN;
        const char *hist_path = step == start_step && !c->resume[0] ? hist : NULL;
        st = gf_batcher_next(batcher, x, y, &new_epoch);
        /* Evaluate on the test set at the start of every epoch (and at the first step). */
        if (st == GF_OK && (new_epoch || step == start_step)) {
            double tl = NAN, ta = NAN;
            st = gf_evaluate(net, test, loss_kind, 256, &tl, &ta);
            if (st == GF_OK && series_push(&evals, step, tl, ta) != 0)
                st = GF_ENOMEM;
        }
        if (st == GF_OK)
            st = train_step(net, x, y, loss_kind, opt, &c->clip, c->skip_nonfinite, &loss,
                            hist_path, &hist_done);
        if (st == GF_OK || st == GF_ENONFINITE)
            time_record(&tt, net, step);
        if (st == GF_OK || st == GF_ENONFINITE)
            if (series_push(&losses, step, loss, NAN) != 0) {
                gft_error("out of memory");
                status = GFT_EXIT_FAIL;
                break;
            }
        if (st == GF_ENONFINITE) {
            snprintf(nonfinite_msg, sizeof nonfinite_msg, "%s", gf_last_error());
            nonfinite = 1;
            step++;
            break;
        }
        if (st != GF_OK) {
            gft_error("step %llu: %s", (unsigned long long)step, gf_last_error());
            status = GFT_EXIT_FAIL;
            break;
        }
        gft_progress_update(&bar, step + 1 - start_step, loss);
        if (gft_interrupted) {
            interrupted = 1;
            step++;
            break;
        }
    }
    gft_progress_end(&bar);
    r->steps = step - start_step;

    /* Final evaluation, unless the weights are no longer finite. */
    if (!nonfinite) {
        double tl = NAN, ta = NAN;
        if (gf_evaluate(net, test, loss_kind, 256, &tl, &ta) == GF_OK) {
            if (evals.n == 0 || evals.steps[evals.n - 1] != step)
                series_push(&evals, step, tl, ta);
            r->accuracy = ta;
        }
    }
    r->final_loss = losses.n ? losses.a[losses.n - 1] : NAN;
    r->seconds = gft_now() - t0;
    if (tt.recorded > 0) {
        r->time_first = tt.first[0];
        r->time_last = tt.first[tt.T - 1];
        r->time_ratio = r->time_first / r->time_last;
        /* For the overlays of compare (a missing copy only drops the run from them). */
        r->time_init = gf_alloc(tt.T * sizeof *r->time_init);
        if (r->time_init != NULL) {
            memcpy(r->time_init, tt.first, tt.T * sizeof *r->time_init);
            r->time_T = tt.T;
        }
    }
    if (time_end(&tt) != 0 && status == 0)
        status = GFT_EXIT_FAIL;

    /* Everything recorded goes to the run directory, whatever stopped the run. */
    {
        gf_telemetry *tel = gf_net_telemetry(net);
        gf_run_summary sum = gf_run_summary_default();
        gf_plot_options po = gf_plot_options_default();
        gf_plot_run pr = {0};
        int plot_failed = 0, soft;
        config_kv(&ct, c, loss_kind, gf_optim_config_of(opt), total, tt.T);
        gf_telemetry_stream_to(tel, NULL); /* final flush; run_write rewrites it whole */
        if (gf_telemetry_count(tel) > 0 && gf_verdict_judge(tel, &r->verdict) == GF_OK)
            r->judged = 1;
        sum.name = label;
        sum.config = ct.kv;
        sum.n_config = ct.n;
        sum.loss = losses.a;
        sum.loss_steps = losses.steps;
        sum.n_loss = losses.n;
        sum.eval_steps = evals.steps;
        sum.test_loss = evals.a;
        sum.test_accuracy = evals.b;
        sum.n_eval = evals.n;
        sum.final_loss = r->final_loss;
        sum.final_accuracy = r->accuracy;
        sum.steps = step;
        sum.seconds = r->seconds;
        sum.verdict = r->judged ? &r->verdict : NULL;
        sum.predicted_factor = r->predicted_factor > 0 ? r->predicted_factor : NAN;
        st = gf_run_write(dir, tel, &sum);
        if (st != GF_OK) {
            gft_error("--out %s: %s", dir, gf_last_error());
            status = GFT_EXIT_FAIL;
        }
        if (st == GF_OK && gf_telemetry_count(tel) > 0) {
            static const char *const figs[] = {"signal", "heatmap", "loss", "units",
                                               "hist_init", "time"};
            int batch = c->plot != GFT_PLOT_SVG;
            /* A run that saw NaN may have nothing finite to draw: notes, not failures. */
            soft = nonfinite || (r->judged && r->verdict.kind == GF_VERDICT_NONFINITE);
            /* PNG: write the scripts, then render them all in one gnuplot process. */
            gft_clear_scripts(dir, figs, 6);
            po.format = batch ? GF_PLOT_NONE : gft_plot_format(c);
            pr.label = label;
            pr.telemetry = tel;
            pr.predicted_factor = r->predicted_factor;
            pr.loss = losses.a;
            pr.loss_steps = losses.steps;
            pr.n_loss = losses.n;
            plot_failed |= gft_plot_status(gf_plot_run_all(dir, &pr, &po), dir, c->quiet,
                                           soft);
            if (hist_done)
                plot_failed |= gft_plot_status(gf_plot_hist(dir, "hist_init", hist, &po), dir,
                                               c->quiet, soft);
            if (tt.recorded > 0) {
                int tf = time_figure(&tt, dir, label, batch ? GF_PLOT_PNG : GF_PLOT_SVG);
                char script[1300];
                if (tf < 0)
                    plot_failed = 1;
                else if (tf > 0 && !c->quiet)
                    fprintf(stderr, "gradflow: note: %s: no positive, finite ||dL/dh_t|| to "
                                    "draw in time.png\n", dir);
                else if (tf == 0 && !batch && path_in(script, sizeof script, dir, "time.gp") == 0)
                    plot_failed |= gft_plot_status(gf_plot_render(script), dir, c->quiet, soft);
            }
            if (batch)
                plot_failed |= gft_plot_status(
                    gft_render_batch(dir, figs, 6, c->plot == GFT_PLOT_PNG), dir, c->quiet,
                    soft);
            if (plot_failed && status == 0)
                status = GFT_EXIT_FAIL;
        }
    }
    if (keep) {
        r->tel = copy_telemetry(gf_net_telemetry(net));
        r->loss = losses.a, r->loss_steps = losses.steps, r->n_loss = losses.n;
        gf_free(losses.b);
        memset(&losses, 0, sizeof losses);
    }

    if (c->save[0] && !nonfinite && status == 0) {
        st = gf_model_save(c->save, net, opt, NULL);
        if (st != GF_OK) {
            gft_error("--save %s: %s", c->save, gf_last_error());
            status = GFT_EXIT_FAIL;
        }
    } else if (c->save[0] && nonfinite) {
        fprintf(stderr, "gradflow: note: --save %s: not saved (the weights are no longer "
                        "finite)\n", c->save);
    }
    if (nonfinite) {
        gft_error("%s: %s; stopped, telemetry kept up to there in %s", label, nonfinite_msg,
                  dir);
        status = GFT_EXIT_NONFINITE;
    } else if ((interrupted || gft_interrupted) && status == 0) {
        /* Ctrl-C during the final writing still finishes it, then says so. */
        status = GFT_EXIT_INTERRUPTED;
    }

done:
    r->status = status;
    time_release(&tt);
    series_free(&losses);
    series_free(&evals);
    gf_tensor_free(x);
    gf_tensor_free(y);
    gf_batcher_free(batcher);
    gf_optim_free(opt);
    gf_net_free(net);
    gf_dataset_free(train);
    gf_dataset_free(test);
    return status;
}
