/* src/tool/paper_glorot.c: Glorot and Bengio (AISTATS 2010), "Understanding the
 * difficulty of training deep feedforward neural networks". Five hidden layers; the
 * "standard" init U[-1/sqrt(n), 1/sqrt(n)] (variance 1/(3n)) against the "normalised"
 * init U[-r, r], r = sqrt(6/(n_in + n_out)) (variance 1/n for square layers). At init,
 * with tanh: the back-propagated gradients dL/dh shrink from the top layer down with the
 * standard init and keep their size with the normalised one (their figure 7); the
 * activations do the opposite (figure 6); the weight gradients dL/dW, the product of
 * the two, stay level across layers even with the standard init (figure 8); and the
 * mean singular value of the layer Jacobians da_{i+1}/da_i is about 0.5 (standard)
 * against 0.8 (normalised). Histograms come from gf_hist_write and gf_plot_hist. The
 * full variant also trains sigmoid, tanh, softsign (standard) and tanh (normalised) for
 * the test errors beside their Table 1 (MNIST there). Not done: their figures 2 to 5
 * (sigmoid saturation over training) and Shapeset. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "paper.h"

#define HIDDEN 5
#define LAYERS (HIDDEN + 1) /* linear layers */
#define BATCH 64

typedef struct at_init {
    double signal[LAYERS];  /* ||dL/dh|| at each linear layer's output */
    double dw[LAYERS];      /* ||dL/dW|| of each linear layer */
    double act_std[HIDDEN]; /* standard deviation of each hidden activation */
    double mean_sv[HIDDEN]; /* mean singular value of da_{i+1}/da_i, i = 1..HIDDEN-1 */
} at_init;

static gf_init glorot_init(int normalised)
{
    gf_init init = gf_init_default(normalised ? GF_INIT_XAVIER_UNIFORM
                                              : GF_INIT_LECUN_UNIFORM);
    if (!normalised)
        init.gain = 1 / sqrt(3.0); /* LeCun uniform's r = gain sqrt(3/n) = 1/sqrt(n) */
    return init;
}

static double norm2(const gf_real *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)v[i] * v[i];
    return sqrt(s);
}

/* The mean singular value of each hidden-to-hidden layer's Jacobian at 4 points. */
static gf_status layer_jacobians(at_init *m, gf_net *net, const gf_tensor *x4,
                                 size_t width)
{
    gf_tensor *sv = NULL;
    gf_status s = gf_tensor_new(&sv, x4->rows, width);
    m->mean_sv[0] = NAN; /* the input layer is not square */
    for (size_t i = 1; i < HIDDEN && s == GF_OK; i++) {
        double sum = 0;
        /* linear layer 2i and its activation 2i + 1: a_{i+1} from a_i */
        s = gf_net_jacobian_singular_values(net, sv, x4, 2 * i, 2 * i + 1);
        for (size_t k = 0; k < sv->rows * sv->cols && s == GF_OK; k++)
            sum += sv->data[k];
        m->mean_sv[i] = sum / (double)(sv->rows * sv->cols);
    }
    gf_tensor_free(sv);
    return s;
}

/* One forward and backward pass at init on a batch: signals, weight gradients,
 * activation spreads, histograms (DIR/hist_NAME.csv and its figure), Jacobians. */
static gf_status measure(at_init *m, const char *act, int normalised, const gf_dataset *d,
                         size_t width, const gfp_opts *o, const char *name, gfp_report *r)
{
    gf_init init = glorot_init(normalised);
    gf_mlp_spec spec = {d->x->cols, width, LAYERS, d->n_classes, act, 0, &init};
    gf_plot_options po = gf_plot_options_default();
    gf_net *net = NULL;
    gf_dataset *batch = NULL, *four = NULL;
    char path[1200], fig[64];
    double loss;
    gf_rng rng;
    gf_status s;
    gf_rng_seed(&rng, o->seed);
    s = gf_net_new_mlp(&net, &spec, &rng);
    if (s == GF_OK)
        s = gf_data_slice(&batch, d, 0, 256);
    if (s == GF_OK)
        s = gf_net_forward(net, NULL, batch->x);
    if (s == GF_OK)
        s = gf_net_loss(net, &loss, batch->y, GF_LOSS_SOFTMAX_CE);
    if (s == GF_OK)
        s = gf_net_backward(net);
    for (size_t j = 0; j < LAYERS && s == GF_OK; j++) {
        const gf_tensor *g = gf_net_activation_grad(net, 2 * j + 1);
        const gf_layer *lin = gf_net_layer(net, 2 * j);
        m->signal[j] = g ? norm2(g->data, g->rows * g->cols) : NAN;
        m->dw[j] = norm2(lin->dweight.data, lin->dweight.rows * lin->dweight.cols);
        if (j < HIDDEN) {
            const gf_tensor *a = gf_net_activation(net, 2 * j + 2);
            double mean = 0, sq = 0, n = (double)(a->rows * a->cols);
            for (size_t i = 0; i < a->rows * a->cols; i++) {
                mean += a->data[i] / n;
                sq += (double)a->data[i] * a->data[i] / n;
            }
            m->act_std[j] = sqrt(fmax(sq - mean * mean, 0));
        }
    }
    snprintf(path, sizeof path, "%s/hist_%s.csv", o->out, name);
    snprintf(fig, sizeof fig, "hist_%s", name);
    if (s == GF_OK)
        s = gf_hist_write(path, net, 40);
    po.format = o->format;
    if (s == GF_OK) {
        s = gf_plot_hist(o->out, fig, path, &po);
        if (s == GF_EUNSUPPORTED) { /* no gnuplot: the script is there */
            s = GF_OK;
            gf_clear_error();
        }
        if (s == GF_OK && r->n_figures < GFP_MAX_FIGURES)
            snprintf(r->figures[r->n_figures++], sizeof r->figures[0], "%s", fig);
    }
    if (s == GF_OK)
        s = gf_data_slice(&four, d, 256, 4);
    if (s == GF_OK)
        s = layer_jacobians(m, net, four->x, width);
    gf_dataset_free(batch);
    gf_dataset_free(four);
    gf_net_free(net);
    return s;
}

/* Train one configuration for steps steps; its test error. */
static gf_status train(double *test_error, const char *act, int normalised,
                       const gf_dataset *train_set, const gf_dataset *test, size_t width,
                       uint64_t steps, uint64_t seed)
{
    gf_init init = glorot_init(normalised);
    gf_mlp_spec spec = {train_set->x->cols, width, LAYERS, train_set->n_classes, act, 0,
                        &init};
    gf_optim_config oc = gf_optim_default(GF_OPTIM_MOMENTUM); /* lr 0.01, mu 0.9 */
    gfp_trainer t;
    double acc = 0;
    gf_status s = gfp_trainer_new(&t, &spec, &oc, train_set, BATCH, seed);
    for (uint64_t k = 0; k < steps && s == GF_OK; k++) {
        double loss;
        s = gf_batcher_next(t.batcher, t.x, t.y, NULL);
        if (s == GF_OK)
            s = gf_net_train_step(t.net, &loss, t.x, t.y, t.opt, GF_LOSS_SOFTMAX_CE, NULL);
    }
    if (s == GF_OK)
        s = gf_evaluate(t.net, NULL, &acc, test, GF_LOSS_SOFTMAX_CE, 500);
    *test_error = 1 - acc;
    gfp_trainer_free(&t);
    return s;
}

static double mean_sv(const at_init *m)
{
    double sum = 0;
    for (size_t i = 1; i < HIDDEN; i++)
        sum += m->mean_sv[i];
    return sum / (HIDDEN - 1);
}

static void add_init_rows(gfp_report *r, const at_init *st, const at_init *no)
{
    double sv_st = mean_sv(st), sv_no = mean_sv(no);
    double g_st = st->signal[0] / st->signal[HIDDEN - 1];
    double g_no = no->signal[0] / no->signal[HIDDEN - 1];
    double a_st = st->act_std[HIDDEN - 1] / st->act_std[0];
    double a_no = no->act_std[HIDDEN - 1] / no->act_std[0];
    double w_lo = INFINITY, w_hi = 0;
    for (size_t j = 0; j < HIDDEN; j++) {
        w_lo = fmin(w_lo, st->dw[j]);
        w_hi = fmax(w_hi, st->dw[j]);
    }
    /* 0.1 either way: the mean singular value depends on tanh' at the data's scale
     * and on the width (the paper gives one figure, width 1000). */
    gfp_row_add(r, 1, fabs(sv_st - 0.5) <= 0.1, "tanh standard: mean singular value of J_i",
                "about 0.5", "0.5 +- 0.1", "%.3f", sv_st);
    gfp_row_add(r, 1, fabs(sv_no - 0.8) <= 0.1, "tanh normalised: mean singular value",
                "about 0.8", "0.8 +- 0.1", "%.3f", sv_no);
    gfp_row_add(r, 1, g_st < 0.5 && g_no >= 0.5 && g_no <= 2,
                "||dL/dh_1|| / ||dL/dh_5||, standard / norm.", "shrinks / level (fig. 7)",
                "< 0.5 / in [0.5, 2]", "%.3f / %.3f", g_st, g_no);
    gfp_row_add(r, 1, a_st < 0.5 && a_no >= 0.5, "std(a_5) / std(a_1), standard / norm.",
                "shrinks / level (fig. 6)", "< 0.5 / >= 0.5", "%.3f / %.3f", a_st, a_no);
    gfp_row_add(r, 1, w_hi / w_lo <= 2.5 && w_hi / w_lo < 1 / g_st,
                "standard: max/min ||dL/dW|| over layers 1-5", "level (fig. 8)",
                "<= 2.5, below the signal's", "%.2f (signal %.2f)", w_hi / w_lo, 1 / g_st);
}

gf_status gfp_glorot2010(const gfp_opts *o, gfp_report *r)
{
    /* Table 1, MNIST test errors of the 5-layer nets. */
    static const struct {
        const char *act;
        int normalised;
        const char *label;
        const char *published;
    } table1[] = {{"softsign", 0, "softsign", "1.64 % (MNIST)"},
                  {"tanh", 0, "tanh", "1.76 % (MNIST)"},
                  {"tanh", 1, "tanh normalised", "1.64 % (MNIST)"},
                  {"sigmoid", 0, "sigmoid", "2.21 % (MNIST)"}};
    at_init st, no;
    gf_dataset *train_set = NULL, *test = NULL;
    const size_t width = o->full ? 256 : 128;
    const uint64_t steps = 2000;
    char data[64];
    gf_status s = gfp_load_images(&train_set, &test, o->full, 2010, data, sizeof data);
    if (s == GF_OK) {
        gfp_say(o, "glorot2010: at init, tanh standard and normalised");
        s = measure(&st, "tanh", 0, train_set, width, o, "standard", r);
    }
    if (s == GF_OK)
        s = measure(&no, "tanh", 1, train_set, width, o, "normalised", r);
    if (s == GF_OK)
        add_init_rows(r, &st, &no);
    for (size_t k = 0; o->full && k < 4 && s == GF_OK; k++) {
        double err;
        char what[96];
        gfp_say(o, "glorot2010: training %s", table1[k].label);
        s = train(&err, table1[k].act, table1[k].normalised, train_set, test, width, steps,
                  o->seed);
        snprintf(what, sizeof what, "%s: test error (%s)", table1[k].label, data);
        if (s == GF_OK)
            gfp_row_add(r, 0, 1, what, table1[k].published, "", "%.2f %%", 100 * err);
    }
    gf_dataset_free(train_set);
    gf_dataset_free(test);
    snprintf(r->notes, sizeof r->notes,
             "%s; 5 hidden layers of width %zu, tanh; at init on 256 rows (Jacobians at 4 "
             "rows)%s; the paper: MNIST, CIFAR-10, Shapeset, width 1000",
             data, width, o->full ? "; trained with momentum SGD lr 0.01 batch 64 for 2000 "
                                    "steps for the test errors" : "");
    return s;
}
