/* src/engine/build.c: building networks: gf_net_add_* for every built-in layer kind,
 * gf_net_new_mlp, and initialising a whole network (gf_net_init, LSUV). It sits above
 * the engine (net.c) and the init schemes (init.c), which therefore never call each
 * other: LSUV runs the network, a scheme fills one tensor. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/internal.h"
#include "gradflow/budget.h"
#include "gradflow/init.h"
#include "gradflow/net.h"
#include "gradflow/norm.h"
#include "gradflow/residual.h"
#include "gradflow/rnn.h"

/* ---- Adding layers ------------------------------------------------------------------- */

/* Append the layer l a constructor has just built, with status `built`: a constructor's
 * failure passes through, and nothing is added then. */
static gf_status add_built(gf_net *net, gf_status built, gf_layer *l)
{
    return built != GF_OK ? built : gf_net_add_layer(net, l);
}

gf_status gf_net_add_linear(gf_net *net, size_t out_features)
{
    gf_layer l;
    GF_CHECK_NOT_NULL(net, "gf_net_add_linear");
    return add_built(net, gf_layer_linear(&l, gf_net_out_features(net), out_features), &l);
}

/* The activation called name, for gf_net_add_activation(_param). */
static gf_status find_activation(const gf_activation **act, const gf_net *net,
                                 const char *name)
{
    GF_CHECK_NOT_NULL(net, "gf_net_add_activation");
    GF_CHECK_NOT_NULL(name, "gf_net_add_activation");
    return gf_activation_find(act, name);
}

gf_status gf_net_add_activation_param(gf_net *net, const char *name, double param)
{
    const gf_activation *act;
    gf_layer l;
    gf_status st = find_activation(&act, net, name);
    if (st != GF_OK)
        return st;
    if (!isfinite(param))
        return gf_fail(GF_EINVAL, "gf_net_add_activation: %s parameter must be finite", name);
    st = gf_layer_activation(&l, gf_net_out_features(net), act, (gf_real)param);
    return add_built(net, st, &l);
}

gf_status gf_net_add_activation(gf_net *net, const char *name)
{
    const gf_activation *act;
    gf_status st = find_activation(&act, net, name);
    if (st != GF_OK)
        return st;
    return gf_net_add_activation_param(net, name, act->default_param);
}

gf_status gf_net_add_prelu(gf_net *net, double initial_slope)
{
    gf_layer l;
    gf_status st;
    GF_CHECK_NOT_NULL(net, "gf_net_add_prelu");
    if (!isfinite(initial_slope))
        return gf_fail(GF_EINVAL, "gf_net_add_prelu: initial slope must be finite");
    st = gf_layer_prelu(&l, gf_net_out_features(net), (gf_real)initial_slope);
    return add_built(net, st, &l);
}

gf_status gf_net_add_batchnorm(gf_net *net, double eps, double momentum)
{
    gf_layer l;
    GF_CHECK_NOT_NULL(net, "gf_net_add_batchnorm");
    return add_built(net, gf_layer_batchnorm(&l, gf_net_out_features(net), eps, momentum),
                     &l);
}

gf_status gf_net_add_layernorm(gf_net *net, double eps)
{
    gf_layer l;
    GF_CHECK_NOT_NULL(net, "gf_net_add_layernorm");
    return add_built(net, gf_layer_layernorm(&l, gf_net_out_features(net), eps), &l);
}

gf_status gf_net_add_rnn(gf_net *net, gf_rnn_cell cell, size_t hidden, size_t steps,
                         unsigned flags, const gf_init *init, gf_rng *rng)
{
    static const char who[] = "gf_net_add_rnn";
    size_t width;
    gf_layer l;
    gf_status s;

    GF_CHECK_NOT_NULL(net, who);
    GF_CHECK_NOT_NULL(rng, who);
    if (init != NULL && (s = gf_init_validate(init)) != GF_OK)
        return s;
    if (init != NULL && init->kind == GF_INIT_LSUV)
        return gf_fail(GF_EUNSUPPORTED, "%s: LSUV is not defined for recurrent layers", who);
    width = gf_net_out_features(net);
    if (steps == 0 || width % steps != 0)
        return gf_fail(GF_ESHAPE, "%s: the network's width %zu is not a whole number of %zu "
                       "steps", who, width, steps);
    s = gf_layer_rnn(&l, cell, width / steps, hidden, steps, flags);
    if (s != GF_OK)
        return s;
    s = gf_net_add_layer(net, &l);
    if (s != GF_OK)
        return s;
    return gf_rnn_init(gf_net_layer_mut(net, gf_net_layer_count(net) - 1), init, rng);
}

/* ---- Residual blocks: skip_begin, F, skip_add (layers/residual.c) ------------------- */

static gf_status init_layer(gf_layer *l, const gf_init *init, gf_rng *rng);

gf_status gf_net_add_skip_begin(gf_net *net)
{
    gf_layer l;
    GF_CHECK_NOT_NULL(net, "gf_net_add_skip_begin");
    return add_built(net, gf_layer_skip_begin(&l, gf_net_out_features(net)), &l);
}

gf_status gf_net_skip_open_before(const gf_net *net, size_t *begin, size_t end)
{
    size_t closed = 0; /* skip_adds met, walking back, whose skip_begin is not yet met */
    GF_CHECK_NOT_NULL(net, "gf_net_skip_open_before");
    GF_CHECK_NOT_NULL(begin, "gf_net_skip_open_before");
    if (end > gf_net_layer_count(net))
        end = gf_net_layer_count(net);
    for (size_t i = end; i-- > 0;) {
        const gf_layer *l = gf_net_layer(net, i);
        if (gf_layer_is_skip_add(l)) {
            closed++;
        } else if (gf_layer_is_skip_begin(l)) {
            if (closed == 0) {
                *begin = i;
                return GF_OK;
            }
            closed--;
        }
    }
    return gf_fail(GF_ENOTFOUND, "gf_net_skip_open_before: no open residual block before "
                   "layer %zu", end);
}

/* The skip_add closing the block opened at layer `begin`. */
static gf_status close_block(gf_net *net, size_t begin, gf_rng *rng)
{
    gf_layer l;
    gf_status s = gf_layer_skip_add(&l, gf_net_layer(net, begin), gf_net_out_features(net),
                                    rng);
    return add_built(net, s, &l);
}

gf_status gf_net_add_skip_add(gf_net *net, gf_rng *rng)
{
    size_t begin = 0;
    GF_CHECK_NOT_NULL(net, "gf_net_add_skip_add");
    if (gf_net_skip_open_before(net, &begin, gf_net_layer_count(net)) != GF_OK)
        return gf_fail(GF_ESTATE, "gf_net_add_skip_add: no open residual block to close "
                       "(add a skip_begin first)");
    return close_block(net, begin, rng);
}

/* Move inner's layer i to the end of net as it is: the engine binds the copy's views into
 * net's block and the values are copied over. Its reset hook, which would set defaults
 * (batch norm's running statistics among them), is kept from running by adding the
 * layer under a copy of its ops without it; the real ops are put back after. */
static gf_status move_layer(gf_net *net, gf_net *inner, size_t i)
{
    gf_layer *from = gf_net_layer_mut(inner, i);
    const gf_layer_ops *ops = from->ops;
    gf_layer_ops no_reset = *ops;
    gf_layer l = *from;
    size_t offset = from->param_offset;
    gf_status s;
    from->state = NULL; /* net owns it now, also when adding fails */
    no_reset.reset = NULL;
    l.ops = &no_reset;
    s = gf_net_add_layer(net, &l);
    if (s != GF_OK)
        return s;
    gf_net_layer_mut(net, gf_net_layer_count(net) - 1)->ops = ops;
    if (l.n_params > 0)
        memcpy(gf_net_params_mut(net) + l.param_offset, gf_net_params_mut(inner) + offset,
               l.n_params * sizeof(gf_real));
    return GF_OK;
}

gf_status gf_net_add_residual(gf_net *net, gf_net *inner, gf_rng *rng)
{
    static const char who[] = "gf_net_add_residual";
    size_t begin, in, out, n = 0;
    gf_status s = GF_OK;

    if (net == NULL)
        s = gf_fail(GF_EINVAL, "%s: net is NULL", who);
    else if (inner == NULL)
        return gf_fail(GF_EINVAL, "%s: inner is NULL", who);
    else if ((n = gf_net_layer_count(inner)) == 0)
        s = gf_fail(GF_EINVAL, "%s: the inner network has no layers", who);
    else if ((in = gf_net_in_features(inner)) != gf_net_out_features(net))
        s = gf_fail(GF_ESHAPE, "%s: the inner network takes %zu inputs, the network gives "
                    "%zu", who, in, gf_net_out_features(net));
    else if ((out = gf_net_out_features(inner)) != in && rng == NULL)
        s = gf_fail(GF_EINVAL, "%s: the inner network maps %zu to %zu features: the "
                    "projection needs an rng", who, in, out);
    begin = gf_net_layer_count(net);
    if (s == GF_OK)
        s = gf_net_add_skip_begin(net);
    for (size_t i = 0; s == GF_OK && i < n; i++)
        s = move_layer(net, inner, i);
    if (s == GF_OK)
        s = close_block(net, begin, rng);
    gf_net_free(inner); /* its layers' states are net's now, or freed with it */
    return s;
}

gf_status gf_net_add_residual_mlp(gf_net *net, size_t depth, const char *act,
                                  const gf_init *init, int zero_last, gf_rng *rng)
{
    static const char who[] = "gf_net_add_residual_mlp";
    const gf_activation *a;
    gf_init scheme;
    size_t width, first;
    gf_layer *last = NULL;
    gf_status s;

    GF_CHECK_NOT_NULL(net, who);
    GF_CHECK_NOT_NULL(act, who);
    GF_CHECK_NOT_NULL(rng, who);
    if (depth == 0)
        return gf_fail(GF_EINVAL, "%s: depth must be at least 1", who);
    if ((s = gf_activation_find(&a, act)) != GF_OK)
        return s;
    if (init != NULL)
        scheme = *init;
    else if ((s = gf_init_suited(&scheme, a, a->default_param)) != GF_OK)
        return s;
    if ((s = gf_init_validate(&scheme)) != GF_OK)
        return s;
    if (scheme.kind == GF_INIT_LSUV)
        return gf_fail(GF_EINVAL, "%s: LSUV needs data: add the block, then call "
                       "gf_net_init_lsuv on the network", who);
    width = gf_net_out_features(net);
    first = gf_net_layer_count(net);
    s = gf_net_add_skip_begin(net);
    for (size_t k = 0; s == GF_OK && k < depth; k++) {
        s = gf_net_add_linear(net, width);
        if (s == GF_OK && k + 1 < depth)
            s = gf_net_add_activation(net, act);
    }
    if (s == GF_OK)
        s = close_block(net, first, rng);
    /* The new linear layers only, in order (the views are final: nothing is added now). */
    for (size_t i = first; s == GF_OK && i < gf_net_layer_count(net); i++) {
        gf_layer *l = gf_net_layer_mut(net, i);
        if (l->is_parametric) {
            s = init_layer(l, &scheme, rng);
            last = l;
        }
    }
    if (s == GF_OK && zero_last && last != NULL) {
        gf_tensor_zero(&last->weight);
        gf_tensor_zero(&last->bias);
    }
    return s;
}

/* ---- A whole network ----------------------------------------------------------------- */

gf_status gf_net_new_mlp(gf_net **out, const gf_mlp_spec *spec, gf_rng *rng)
{
    const gf_activation *act;
    gf_init init;
    gf_net *net;
    gf_net_plan plan = gf_net_plan_default();
    gf_status st;
    double param;
    GF_CHECK_NOT_NULL(out, "gf_net_new_mlp");
    *out = NULL;
    GF_CHECK_NOT_NULL(spec, "gf_net_new_mlp");
    GF_CHECK_NOT_NULL(rng, "gf_net_new_mlp");
    if (spec->depth == 0 || spec->in == 0 || spec->out == 0 ||
        (spec->depth > 1 && spec->width == 0))
        return gf_fail(GF_EINVAL, "gf_net_new_mlp: in, out, depth (and width when depth > 1) "
                       "must be positive (in %zu, width %zu, depth %zu, out %zu)",
                       spec->in, spec->width, spec->depth, spec->out);
    if (spec->act == NULL)
        return gf_fail(GF_EINVAL, "gf_net_new_mlp: act is NULL");
    st = gf_activation_find(&act, spec->act);
    if (st != GF_OK)
        return st;
    /* 0 (what designated initialisers leave) and NaN both mean the default: a parameter
     * of 0 would make every parametric activation of the table a plain ReLU. */
    param = isnan(spec->act_param) || spec->act_param == 0 ? act->default_param
                                                           : spec->act_param;
    if (spec->init != NULL)
        init = *spec->init;
    else if ((st = gf_init_suited(&init, act, param)) != GF_OK)
        return st;
    if ((st = gf_init_validate(&init)) != GF_OK)
        return st;
    /* The whole network's size against the memory limit before the first allocation
     * (its activations are checked when a batch first arrives, net.c). */
    plan.in = spec->in, plan.width = spec->width, plan.depth = spec->depth;
    plan.out = spec->out, plan.batch = 1;
    if ((st = gf_net_plan_check(&plan)) != GF_OK) {
        char why[512];
        snprintf(why, sizeof why, "%s", gf_last_error());
        return gf_fail(st, "gf_net_new_mlp: %s", why);
    }
    if ((st = gf_net_new(&net, spec->in)) != GF_OK)
        return st;
    for (size_t i = 0; i < spec->depth && st == GF_OK; i++) {
        int last = i + 1 == spec->depth;
        st = gf_net_add_linear(net, last ? spec->out : spec->width);
        if (st == GF_OK && !last)
            st = gf_net_add_activation_param(net, spec->act, param);
    }
    if (st == GF_OK)
        st = init.kind == GF_INIT_LSUV
                 ? gf_fail(GF_EINVAL, "gf_net_new_mlp: LSUV needs data: build the network, "
                           "then call gf_net_init_lsuv")
                 : gf_net_init(net, &init, rng);
    if (st != GF_OK) {
        gf_net_free(net);
        return st;
    }
    *out = net;
    return GF_OK;
}

/* Weights of layer l by init, biases to init->bias. */
static gf_status init_layer(gf_layer *l, const gf_init *init, gf_rng *rng)
{
    if (l->weight.rows != 0) {
        gf_status st = gf_init_tensor(&l->weight, init, rng);
        if (st != GF_OK)
            return st;
    }
    for (size_t i = 0; i < l->bias.rows * l->bias.cols; i++)
        l->bias.data[i] = (gf_real)init->bias;
    return GF_OK;
}

/* For GF_INIT_LSUV this is its first half (orthogonal times gain); the data-dependent
 * rescaling is gf_net_init_lsuv. */
gf_status gf_net_init(struct gf_net *net, const gf_init *init, gf_rng *rng)
{
    const char *who = "gf_net_init";
    size_t count, n_params = 0;
    gf_real *saved = NULL;
    gf_rng rng_saved;
    gf_status st;
    GF_CHECK_NOT_NULL(net, who);
    GF_CHECK_NOT_NULL(init, who);
    st = gf_init_validate(init);
    if (st != GF_OK)
        return st;
    if (rng == NULL && init->kind != GF_INIT_ZEROS && init->kind != GF_INIT_CONSTANT)
        return gf_fail(GF_EINVAL, "%s (%s): rng is NULL", who, gf_init_name(init->kind));
    /* All or nothing: orthogonal draws allocate scratch layer by layer and can fail
     * midway (out of memory, no independent row); the parameters and the generator are
     * then restored, so that a failed call leaves no half-initialised network. */
    if (init->kind == GF_INIT_ORTHOGONAL || init->kind == GF_INIT_LSUV) {
        n_params = gf_net_param_count(net);
        saved = n_params ? gf_alloc(n_params * sizeof(gf_real)) : NULL;
        if (n_params && saved == NULL)
            return gf_fail(GF_ENOMEM, "%s: no memory to back up %zu parameters", who, n_params);
        if (saved != NULL)
            memcpy(saved, gf_net_params(net), n_params * sizeof(gf_real));
        rng_saved = *rng;
    }
    count = gf_net_layer_count(net);
    for (size_t i = 0; i < count && st == GF_OK; i++) {
        gf_layer *l = gf_net_layer_mut(net, i);
        if (l == NULL || !l->is_parametric)
            continue;
        st = init_layer(l, init, rng);
    }
    if (st != GF_OK && saved != NULL) {
        memcpy(gf_net_params_mut(net), saved, n_params * sizeof(gf_real));
        *rng = rng_saved;
    }
    gf_free(saved);
    return st;
}

/* Population variance of all elements of t, in double (two passes: the mean first, so
 * a large mean does not cancel the variance away). */
static double variance(const gf_tensor *t)
{
    size_t n = t->rows * t->cols;
    double mean = 0.0;
    double ss = 0.0;
    for (size_t i = 0; i < n; i++)
        mean += (double)t->data[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++) {
        double d = (double)t->data[i] - mean;
        ss += d * d;
    }
    return ss / (double)n;
}

/* LSUV's second half: scale each parametric layer's weights, first to last, until its
 * output on batch has unit variance (within tol, at most max_iter passes per layer). */
static gf_status lsuv_rescale(struct gf_net *net, const gf_tensor *batch, double tol,
                              int max_iter)
{
    const char *who = "gf_net_init_lsuv";
    size_t count = gf_net_layer_count(net);
    for (size_t i = 0; i < count; i++) {
        gf_layer *l = gf_net_layer_mut(net, i);
        if (l == NULL || !l->is_parametric || l->weight.rows == 0)
            continue;
        /* Layers before i are already final, so each pass only changes layer i's
         * output. With zero bias, var(s W x) = s^2 var(W x) and one pass is exact; a
         * bias makes the relation inexact, hence the loop. */
        for (int iter = 0; iter < max_iter; iter++) {
            const gf_tensor *out;
            double var;
            double s;
            gf_status st = gf_net_forward(net, NULL, batch);
            if (st != GF_OK)
                return st;
            out = gf_net_activation(net, i + 1);
            if (out == NULL)
                return gf_fail(GF_ESTATE, "%s: no output recorded for layer %zu", who, i);
            var = variance(out);
            if (!isfinite(var))
                return gf_fail(GF_ENONFINITE, "%s: output variance of layer %zu is %g", who,
                               i, var);
            if (fabs(var - 1.0) < tol)
                break;
            if (!(var > 0.0))
                return gf_fail(GF_EINVAL,
                               "%s: output of layer %zu has zero variance on the batch; "
                               "cannot rescale (is the batch constant?)",
                               who, i);
            s = 1.0 / sqrt(var);
            for (size_t k = 0; k < l->weight.rows * l->weight.cols; k++)
                l->weight.data[k] = (gf_real)((double)l->weight.data[k] * s);
        }
    }
    return GF_OK;
}

gf_status gf_net_init_lsuv(struct gf_net *net, const gf_init *init, const gf_tensor *batch,
                           double tol, int max_iter, gf_rng *rng)
{
    const char *who = "gf_net_init_lsuv";
    gf_init ortho;
    double *running = NULL;
    gf_status st, rs;
    GF_CHECK_NOT_NULL(net, who);
    GF_CHECK_NOT_NULL(init, who);
    GF_CHECK_TENSOR(batch, who);
    GF_CHECK_NOT_NULL(rng, who);
    if (!(isfinite(tol) && tol > 0.0))
        return gf_fail(GF_EINVAL, "%s: tol is %g, must be finite and > 0", who, tol);
    if (max_iter < 1)
        return gf_fail(GF_EINVAL, "%s: max_iter is %d, must be >= 1", who, max_iter);
    if (batch->rows == 0 || batch->cols == 0)
        return gf_fail(GF_EINVAL, "%s: batch is empty (%zu x %zu)", who, batch->rows,
                       batch->cols);
    if (batch->cols != gf_net_in_features(net))
        return gf_fail(GF_ESHAPE, "%s: batch has %zu columns, network takes %zu", who,
                       batch->cols, gf_net_in_features(net));
    /* The scheme's own kind is not read: LSUV always starts from orthogonal weights,
     * with the caller's gain and bias. */
    ortho = gf_init_default(GF_INIT_ORTHOGONAL);
    ortho.gain = init->gain;
    ortho.bias = init->bias;
    st = gf_init_validate(&ortho);
    if (st == GF_OK)
        st = gf_net_init(net, &ortho, rng);
    /* The measuring passes run in training mode (batch norm normalises with the batch's
     * statistics, as in training), which also moves batch norm's running statistics:
     * an initialisation must not, so they are put back. */
    if (st == GF_OK)
        st = gf_net_save_running(net, &running);
    if (st != GF_OK)
        return st;
    st = lsuv_rescale(net, batch, tol, max_iter);
    rs = gf_net_restore_running(net, running);
    gf_free(running);
    return st != GF_OK ? st : rs;
}
