/* src/tool/build.c: the network of a configuration: a plain MLP (gf_net_new_mlp), one with
 * normalisation layers, a residual net in the flat stack, or a recurrent layer with a
 * linear output layer; LSUV on a batch; and the mean-field prediction of the signal's
 * factor per layer that the signal figure draws as a dashed line. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gradflow/budget.h>
#include <gradflow/theory.h>

#include "tool.h"

int gft_find_act(const gft_config *c, const gf_activation **act, double *param)
{
    /* PReLU (He et al. 2015) is leaky ReLU whose slope is learned: at init it is that
     * leaky ReLU, with its suited init and theory. */
    int prelu = strcmp(c->act, GFT_PRELU) == 0;
    if (gf_activation_find(act, prelu ? "leaky_relu" : c->act) != GF_OK)
        return -1;
    *param = !isnan(c->act_param) ? c->act_param
             : prelu ? GFT_PRELU_SLOPE : (*act)->default_param;
    return 0;
}

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
        st = strcmp(c->act, GFT_PRELU) == 0 ? gf_net_add_prelu(net, param)
                                            : gf_net_add_activation_param(net, c->act, param);
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
        st = gf_net_add_rnn(*out, (gf_rnn_cell)c->cell, c->hidden, T, 0,
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

/* ---- The memory budget ------------------------------------------------------------- */

/* The plan of the configuration's network (gradflow/budget.h). */
static gf_net_plan plan_of(const gft_config *c, size_t in, size_t out)
{
    gf_net_plan p = gf_net_plan_default();
    p.in = in, p.out = out, p.batch = c->batch, p.optim = c->optim;
    p.width = c->width, p.depth = c->depth;
    p.norm = c->norm != GFT_NORM_NONE, p.residual = c->residual;
    if (c->cell >= 0) {
        p.cell = c->cell;
        p.hidden = c->hidden;
        p.steps = strcmp(c->data, "adding") == 0 ? gft_adding_steps(c)
                                                 : c->seq_len ? c->seq_len : in;
    }
    return p;
}

int gft_check_budget(const gft_config *c, size_t in, size_t out, size_t data_bytes)
{
    gf_net_plan plan = plan_of(c, in, out);
    size_t params = 0, acts = 0, limit = gf_memory_limit();
    double need;
    if (gf_net_plan_bytes(&params, &acts, &plan) != GF_OK)
        return 0; /* a plan the builder refuses itself, with its own message */
    need = (double)params + (double)acts + (double)data_bytes;
    if (need <= (double)limit)
        return 0;
    gft_error("the run needs %.4g GB (parameters, gradients and optimiser state %.4g GB; "
              "activations for a batch of %zu: %.4g GB; data %.4g GB), more than the memory limit of %.4g GB (%zu bytes): make the "
              "network or --batch smaller, or raise --max-memory", need / 1e9,
              (double)params / 1e9, c->batch, (double)acts / 1e9, (double)data_bytes / 1e9,
              (double)limit / 1e9, limit);
    return GFT_EXIT_USAGE;
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
    if (gft_check_budget(c, in, out, 0) != 0)
        return GFT_EXIT_USAGE;
    gf_rng_seed(&rng, c->seed);
    if (c->cell >= 0)
        return build_recurrent(c, in, out, net, &rng);
    if (c->init_given) {
        /* LSUV needs data: build with its orthogonal start, then rescale on a batch. */
        if (init.kind == GF_INIT_LSUV)
            init.kind = GF_INIT_ORTHOGONAL;
        spec.init = &init;
    }
    if (c->norm == GFT_NORM_NONE && c->residual == 0 && strcmp(c->act, GFT_PRELU) != 0) {
        st = gf_net_new_mlp(net, &spec, &rng);
    } else {
        double param = 0;
        st = gft_find_act(c, &act, &param) == 0 ? GF_OK : GF_ENOTFOUND;
        if (st == GF_OK) {
            if (!c->init_given)
                st = gf_init_suited(&init, act, param);
            if (st == GF_OK)
                st = build_mlp(net, c, in, out, &init, param, &rng);
        }
    }
    if (st == GF_OK && c->init_given && c->init.kind == GF_INIT_LSUV)
        st = gf_net_init_lsuv(*net, &c->init, batch, 0.1, 10, &rng);
    if (st != GF_OK) {
        gft_error("cannot build the network: %s", gf_last_error());
        gf_net_free(*net);
        *net = NULL;
        return GFT_EXIT_FAIL;
    }
    return 0;
}

/* The mean-field prediction of the signal's factor per layer at initialisation, layer
 * by layer from the input's mean square (gf_theory_layer_factors), for the dashed line
 * of the signal figure: factor[k] = ||dL/dh|| into linear layer k+1 over that into k+2
 * (counted from 1), depth - 1 values (gf_alloc). Returns the count, 0 when there is no
 * prediction (LSUV, whose scale depends on the data; a resumed, trained network; not a
 * plain net; a failure). */
size_t gft_predicted_factors(const gft_config *c, size_t in, size_t out, double input_ms,
                             double **factor)
{
    const gf_activation *act;
    gf_init init;
    double param, *sw2;
    size_t n = c->depth;
    *factor = NULL;
    /* The theory is that of plain networks. */
    if (c->resume[0] || c->depth < 3 || c->norm != GFT_NORM_NONE || c->residual ||
        c->cell >= 0 || gft_find_act(c, &act, &param) != 0)
        return 0;
    if (c->init_given)
        init = c->init;
    else if (gf_init_suited(&init, act, param) != GF_OK)
        return 0;
    sw2 = gf_alloc(n * sizeof *sw2);
    *factor = gf_alloc((n - 1) * sizeof **factor);
    int ok = sw2 != NULL && *factor != NULL;
    /* Layers in -> width -> ... -> width -> out: Xavier and orthogonal see the fans. */
    for (size_t k = 0; ok && k < n; k++)
        ok = gf_theory_init_sigma_w2(&sw2[k], &init, k == 0 ? in : c->width,
                                     k + 1 == n ? out : c->width) == GF_OK && sw2[k] > 0;
    /* The biases start constant: no variance (a constant's mean shift is left out). */
    ok = ok && gf_theory_layer_factors(*factor, act, param, sw2, n, 0.0, input_ms) == GF_OK;
    gf_free(sw2);
    if (!ok) {
        gf_free(*factor);
        *factor = NULL;
        return 0;
    }
    return n - 1;
}
