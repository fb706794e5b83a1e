/* src/layers/linear.c: the linear layer y = x W^T + b, W (out, in), b (1, out): a
 * forward/backward pair whose backward ADDS into the gradients. Its parameters are views
 * the network binds; the layer never allocates them. */
#include <string.h>

#include "core/internal.h"
#include "fast/bias_grad.h"
#include "fast/fast.h"
#include "fast/gemm.h"
#include "fast/simd.h"
#include "core/checks.h"

/* ---- Linear ------------------------------------------------------------------------ */

/* y[r, :] += b for every row r of y (batch, out). */
GF_SIMD_BODY void add_bias_loop(gf_real *y, const gf_real *b, size_t batch, size_t out)
{
    for (size_t r = 0; r < batch; r++)
        for (size_t j = 0; j < out; j++)
            y[r * out + j] += b[j];
}
GF_SIMD_VOID(static, add_bias, (gf_real *y, const gf_real *b, size_t batch, size_t out),
             (y, b, batch, out))

/* y (batch, out) = x (batch, in) W^T + b, W (out, in), b (1, out). Caches nothing: the
 * backward pass needs only x, which the engine keeps. */
static gf_status linear_forward(gf_layer *l, const gf_tensor *x, gf_tensor *y, int training)
{
    static const char who[] = "linear forward";
    size_t batch = 0;
    gf_status s = gf_check_forward(who, l, x, y, &batch);

    (void)training;
    if (s == GF_OK)
        s = gf_check_bound(who, "weight", &l->weight, l->out, l->in);
    if (s == GF_OK)
        s = gf_check_bound(who, "bias", &l->bias, 1, l->out);
    if (s != GF_OK)
        return s;

    /* y = x W^T (beta = 0: y's old contents are not read), then + b on each row while y
     * is still in cache (writing b into y first cost a pass over y from memory). */
    gf_gemm_raw(GF_NO_TRANS, GF_TRANS, batch, l->out, l->in, 1, x->data, l->in,
                l->weight.data, l->in, 0, y->data, l->out);
    add_bias(y->data, l->bias.data, batch, l->out);
    return GF_OK;
}

/* db (1, out) += column sums of dy (batch, out), summed in double: a long batch of float
 * terms would lose digits (db = the sums when add is 0). The fast variant
 * (src/fast/bias_grad.c) adds the same terms in the same order, 16 columns at a time. */
static void bias_grad(gf_real *db, const gf_real *dy, size_t batch, size_t out, int add)
{
    if (GF_FAST) {
        gf_bias_grad_fast(db, dy, batch, out, add);
        return;
    }
    for (size_t j = 0; j < out; j++) {
        double sum = 0;
        for (size_t r = 0; r < batch; r++)
            sum += dy[r * out + j];
        db[j] = (add ? db[j] : 0) + (gf_real)sum;
    }
}

/* Differentiates y = x W^T + b:
 *   dW (out, in) += dy^T x,   db (1, out) += column sums of dy,   dx (batch, in) += dy W,
 * or = instead of += when the engine says the gradients are not zeroed (l->overwrite):
 * beta = 0 in the GEMMs. */
static gf_status linear_backward(gf_layer *l, const gf_tensor *x, const gf_tensor *y,
                                 const gf_tensor *dy, gf_tensor *dx)
{
    static const char who[] = "linear backward";
    size_t batch = 0;
    gf_real beta;
    gf_status s = gf_check_backward(who, l, x, y, 0, dy, dx, &batch);

    if (s == GF_OK)
        s = gf_check_bound(who, "weight", &l->weight, l->out, l->in);
    if (s == GF_OK)
        s = gf_check_bound(who, "dweight", &l->dweight, l->out, l->in);
    if (s == GF_OK)
        s = gf_check_bound(who, "dbias", &l->dbias, 1, l->out);
    if (s != GF_OK)
        return s;

    beta = l->overwrite ? 0 : 1;
    gf_gemm_raw(GF_TRANS, GF_NO_TRANS, l->out, l->in, batch, 1, dy->data, l->out, x->data,
                l->in, beta, l->dweight.data, l->in);
    bias_grad(l->dbias.data, dy->data, batch, l->out, !l->overwrite);
    if (dx != NULL)
        gf_gemm_raw(GF_NO_TRANS, GF_NO_TRANS, batch, l->in, l->out, 1, dy->data, l->out,
                    l->weight.data, l->in, beta, dx->data, l->in);
    return GF_OK;
}

/* The codec is the registry's entry, gf_kind_linear, at the end of this file. */
static const gf_layer_ops linear_ops = {
    .name = "linear",
    .forward = linear_forward,
    .backward = linear_backward,
};

gf_status gf_layer_linear(gf_layer *l, size_t in, size_t out)
{
    static const char who[] = "gf_layer_linear";
    int ok = 1;
    size_t n_weight;
    gf_status s;

    GF_CHECK_NOT_NULL(l, who);
    memset(l, 0, sizeof *l);
    if ((s = gf_check_features(who, "in", in)) != GF_OK ||
        (s = gf_check_features(who, "out", out)) != GF_OK)
        return s;
    n_weight = gf_mul_size(out, in, &ok);
    if (!ok || n_weight > GF_MAX_ELEMENTS - out)
        return gf_fail(GF_EINVAL, "gf_layer_linear: %zu x %zu weights exceed the limit of "
                       "%zu elements", out, in, (size_t)GF_MAX_ELEMENTS);

    l->ops = &linear_ops;
    l->in = in;
    l->out = out;
    l->weight = gf_unbound_view(out, in);
    l->bias = gf_unbound_view(1, out);
    l->dweight = gf_unbound_view(out, in);
    l->dbias = gf_unbound_view(1, out);
    l->n_params = n_weight + out;
    l->is_parametric = 1;
    l->can_overwrite = 1;
    return GF_OK;
}

/* ==== Registry entry: the linear kind and its model-file codec ==========================
 * Payload: nothing: in and out say everything; W and b are in the parameter block. */
#include "layers/codec.h"

static gf_status linear_encode(gf_writer *w, const gf_layer *l)
{
    (void)w;
    (void)l;
    return GF_OK;
}

static gf_status linear_decode(gf_layer *l, const gf_layer_record *rec, gf_reader *r)
{
    int ok = 1;
    size_t n = gf_mul_size(rec->in, rec->out, &ok);
    (void)r;
    /* Checked before allocating, so a crafted record cannot ask for more memory than
     * the file's parameter block accounts for. */
    if (!ok || n > GF_MAX_ELEMENTS || n + rec->out != rec->n_params)
        return gf_fail(GF_EFORMAT, "model: layer %zu (linear %zu -> %zu) records %zu "
                       "parameters, expected %zu x %zu + %zu", rec->index, rec->in, rec->out,
                       rec->n_params, rec->out, rec->in, rec->out);
    return gf_layer_linear(l, rec->in, rec->out);
}

static const gf_layer_codec linear_codec = {linear_encode, linear_decode, NULL};

const gf_layer_kind gf_kind_linear = {
    .name = "linear",
    .ops = &linear_ops,
    .codec = &linear_codec,
    .traits = GF_KIND_LINEAR,
};
