/* src/layers/residual.c: the residual block y = x + F(x) (or x P^T + p + F(x)), F a network of
 * its own run by its own engine, so that F records the telemetry of its inner layers.
 * F's layers' parameter views are pointed into the block's range of the outer block at
 * the start of every operation (sync): the outer engine moves that block when it grows
 * and tells no one, and re-pointing a few views is far cheaper than any pass. */
#include <string.h>

#include "gradflow/net.h"
#include "gradflow/residual.h"
#include "core/internal.h"

typedef struct res_state {
    gf_net *inner;       /* F, owned */
    size_t n_inner;      /* F's parameter count when wrapped */
    size_t n_layers;     /* F's layer count when wrapped */
    int has_proj;        /* the widths differ: y = x P^T + p + F(x) */
    gf_layer proj;       /* P (out, in) and p (1, out), a linear layer without state */
    gf_real *proj_init;  /* P and p as drawn at construction, copied in by reset() */
    size_t n_proj;       /* values of P and p */
} res_state;

static const gf_layer_ops residual_ops;

/* Point F's layers (and the projection) at the block's parameter and gradient views.
 * Unbound block (not yet in a network): F keeps its own block. */
static gf_status sync(gf_layer *l, const char *who)
{
    res_state *st = l->state;
    gf_real *p, *g;
    size_t n;

    if (st == NULL)
        return gf_fail(GF_ESTATE, "%s: layer has no state (released?)", who);
    n = gf_net_layer_count(st->inner);
    if (n != st->n_layers || gf_net_param_count(st->inner) != st->n_inner)
        return gf_fail(GF_ESTATE, "%s: the inner network changed after it was wrapped (%zu "
                       "layers, %zu parameters; wrapped with %zu, %zu)", who, n,
                       gf_net_param_count(st->inner), st->n_layers, st->n_inner);
    if (l->n_params == 0)
        return GF_OK;
    if (l->weight.data == NULL || l->dweight.data == NULL)
        return gf_fail(GF_ESTATE, "%s: parameters are not bound (add the block to a network, "
                       "or point its weight and dweight views at storage)", who);
    if (l->weight.rows * l->weight.cols != l->n_params ||
        l->dweight.rows * l->dweight.cols != l->n_params)
        return gf_fail(GF_ESTATE, "%s: weight views must hold %zu values", who, l->n_params);
    p = l->weight.data;
    g = l->dweight.data;
    for (size_t i = 0; i < n; i++) {
        gf_layer *il = gf_net_layer(st->inner, i);
        size_t wn = il->weight.rows * il->weight.cols;
        il->weight.data = il->weight.rows ? p + il->param_offset : NULL;
        il->dweight.data = il->weight.rows ? g + il->param_offset : NULL;
        il->bias.data = il->bias.rows ? p + il->param_offset + wn : NULL;
        il->dbias.data = il->bias.rows ? g + il->param_offset + wn : NULL;
    }
    if (st->has_proj) {
        size_t wn = st->proj.out * st->proj.in;
        st->proj.weight.data = p + st->n_inner;
        st->proj.bias.data = p + st->n_inner + wn;
        st->proj.dweight.data = g + st->n_inner;
        st->proj.dbias.data = g + st->n_inner + wn;
    }
    return GF_OK;
}

/* y = x + F(x), or y = x P^T + p + F(x). Caches nothing itself: F's engine keeps F's
 * activations for the backward pass. */
static gf_status res_forward(gf_layer *l, const gf_tensor *x, gf_tensor *y, int training)
{
    static const char who[] = "residual forward";
    const gf_tensor *f = NULL;
    res_state *st;
    size_t n;
    gf_status s;

    GF_CHECK_NOT_NULL(l, who);
    s = sync(l, who);
    if (s == GF_OK)
        s = gf_check_shape(who, "x", x, x ? x->rows : 0, l->in);
    if (s == GF_OK)
        s = gf_check_shape(who, "y", y, x->rows, l->out);
    if (s != GF_OK)
        return s;
    st = l->state;
    s = training ? gf_net_forward(st->inner, x, &f) : gf_net_predict(st->inner, x, &f);
    if (s != GF_OK)
        return s;
    n = x->rows * l->out;
    if (st->has_proj) {
        s = st->proj.ops->forward(&st->proj, x, y, training);
        if (s != GF_OK)
            return s;
        for (size_t k = 0; k < n; k++)
            y->data[k] += f->data[k];
    } else {
        for (size_t k = 0; k < n; k++)
            y->data[k] = x->data[k] + f->data[k];
    }
    return GF_OK;
}

/* Differentiates y = x + F(x):  dx += dy + dy dF/dx  (F's engine gives dy dF/dx and
 * adds F's parameter gradients through the views);  with a projection the skip term
 * is dy P, and dP += dy^T x, dp += column sums of dy. */
static gf_status res_backward(gf_layer *l, const gf_tensor *x, const gf_tensor *y,
                              const gf_tensor *dy, gf_tensor *dx)
{
    static const char who[] = "residual backward";
    const gf_tensor *fdx;
    res_state *st;
    size_t n;
    gf_status s;

    (void)y;
    GF_CHECK_NOT_NULL(l, who);
    s = sync(l, who);
    if (s == GF_OK)
        s = gf_check_shape(who, "x", x, x ? x->rows : 0, l->in);
    if (s == GF_OK)
        s = gf_check_grads(who, l, x->rows, dy, dx);
    if (s != GF_OK)
        return s;
    st = l->state;
    gf_net_set_input_grad(st->inner, dx != NULL);
    s = gf_net_backward_from(st->inner, dy);
    /* NaN or infinity inside F: the gradients are computed all the same; the outer
     * engine counts them in this block's record and names the step. */
    if (s != GF_OK && s != GF_ENONFINITE)
        return s;
    if (st->has_proj) {
        s = st->proj.ops->backward(&st->proj, x, NULL, dy, dx);
        if (s != GF_OK)
            return s;
    }
    if (dx == NULL)
        return GF_OK;
    fdx = gf_net_activation_grad(st->inner, 0);
    if (fdx == NULL || fdx->rows != dx->rows || fdx->cols != dx->cols)
        return gf_fail(GF_ESTATE, "%s: the inner network gave no input gradient", who);
    n = dx->rows * dx->cols;
    for (size_t k = 0; k < n; k++)
        dx->data[k] += fdx->data[k];
    if (!st->has_proj)
        for (size_t k = 0; k < n; k++)
            dx->data[k] += dy->data[k];
    return GF_OK;
}

/* The block's parameters as constructed: F's current values, then P and p as drawn. */
static void res_reset(gf_layer *l)
{
    res_state *st;
    if (l == NULL || (st = l->state) == NULL || l->n_params == 0 || l->weight.data == NULL)
        return;
    if (st->n_inner > 0)
        memcpy(l->weight.data, gf_net_params(st->inner), st->n_inner * sizeof(gf_real));
    if (st->has_proj)
        memcpy(l->weight.data + st->n_inner, st->proj_init, st->n_proj * sizeof(gf_real));
    (void)sync(l, "residual reset");
}

static void res_destroy(gf_layer *l)
{
    res_state *st;
    if (l == NULL || (st = l->state) == NULL)
        return;
    gf_net_free(st->inner);
    gf_free(st->proj_init);
    gf_free(st);
    l->state = NULL;
}

static const gf_layer_ops residual_ops = {
    "residual", res_forward, res_backward, NULL, NULL, res_reset, res_destroy,
};

gf_status gf_layer_residual(gf_layer *l, gf_net *inner, gf_rng *rng)
{
    static const char who[] = "gf_layer_residual";
    res_state *st;
    size_t in, out, total;
    gf_status s;

    if (l == NULL) {
        gf_net_free(inner);
        return gf_fail(GF_EINVAL, "%s: l is NULL", who);
    }
    memset(l, 0, sizeof *l);
    GF_CHECK_NOT_NULL(inner, who);
    if (gf_net_layer_count(inner) == 0) {
        gf_net_free(inner);
        return gf_fail(GF_EINVAL, "%s: the inner network has no layers", who);
    }
    in = gf_net_in_features(inner);
    out = gf_net_out_features(inner);
    if (in != out && rng == NULL) {
        gf_net_free(inner);
        return gf_fail(GF_EINVAL, "%s: the inner network maps %zu to %zu features: the "
                       "projection needs an rng", who, in, out);
    }
    st = gf_calloc(1, sizeof *st);
    if (st == NULL) {
        gf_net_free(inner);
        return gf_fail(GF_ENOMEM, "%s: cannot allocate the block state", who);
    }
    st->inner = inner;
    st->n_inner = gf_net_param_count(inner);
    st->n_layers = gf_net_layer_count(inner);
    l->state = st;
    l->ops = &residual_ops;
    if (in != out) {
        gf_tensor w;
        s = gf_layer_linear(&st->proj, in, out);
        if (s == GF_OK) {
            st->has_proj = 1;
            st->n_proj = st->proj.n_params;
            st->proj_init = gf_calloc(st->n_proj, sizeof(gf_real));
            if (st->proj_init == NULL)
                s = gf_fail(GF_ENOMEM, "%s: cannot allocate the projection", who);
        }
        if (s == GF_OK) {
            /* LeCun N(0, 1/in): the skip path keeps the variance of x. */
            gf_init lecun = gf_init_default(GF_INIT_LECUN_NORMAL);
            w = gf_tensor_view(st->proj_init, out, in);
            s = gf_init_tensor(&w, &lecun, rng);
        }
        if (s != GF_OK) {
            res_destroy(l);
            memset(l, 0, sizeof *l);
            return s;
        }
    }
    total = st->n_inner + st->n_proj;
    if (total > GF_MAX_ELEMENTS) {
        res_destroy(l);
        memset(l, 0, sizeof *l);
        return gf_fail(GF_EINVAL, "%s: %zu parameters exceed the limit", who, total);
    }
    l->in = in;
    l->out = out;
    if (total > 0) {
        l->weight = l->dweight = (gf_tensor){NULL, 1, total, total, 0};
    }
    l->n_params = total;
    gf_net_set_input_grad(inner, 1);
    return GF_OK;
}

gf_status gf_net_add_residual(gf_net *net, gf_net *inner, gf_rng *rng)
{
    gf_layer l;
    gf_status s;
    if (net == NULL) {
        gf_net_free(inner);
        return gf_fail(GF_EINVAL, "gf_net_add_residual: net is NULL");
    }
    s = gf_layer_residual(&l, inner, rng);
    if (s != GF_OK)
        return s;
    return gf_net_add_layer(net, &l);
}

gf_status gf_net_add_residual_mlp(gf_net *net, size_t depth, const char *act,
                                  const gf_init *init, int zero_last, gf_rng *rng)
{
    static const char who[] = "gf_net_add_residual_mlp";
    gf_mlp_spec spec;
    gf_net *inner = NULL;
    size_t width;
    gf_status s;

    GF_CHECK_NOT_NULL(net, who);
    GF_CHECK_NOT_NULL(act, who);
    GF_CHECK_NOT_NULL(rng, who);
    if (depth == 0)
        return gf_fail(GF_EINVAL, "%s: depth must be at least 1", who);
    width = gf_net_out_features(net);
    spec = (gf_mlp_spec){width, width, depth, width, act, NAN, init};
    s = gf_net_new_mlp(&inner, &spec, rng);
    if (s != GF_OK)
        return s;
    if (zero_last) {
        gf_layer *last = gf_net_layer(inner, gf_net_layer_count(inner) - 1);
        gf_tensor_zero(&last->weight);
        gf_tensor_zero(&last->bias);
    }
    return gf_net_add_residual(net, inner, rng);
}

gf_net *gf_residual_inner(gf_layer *l)
{
    if (l == NULL || l->ops != &residual_ops || l->state == NULL)
        return NULL;
    if (l->weight.data != NULL)
        (void)sync(l, "gf_residual_inner");
    return ((res_state *)l->state)->inner;
}

int gf_residual_has_projection(const gf_layer *l)
{
    if (l == NULL || l->ops != &residual_ops || l->state == NULL)
        return 0;
    return ((const res_state *)l->state)->has_proj;
}
