/* src/layers/prelu.c: PReLU, f(x_j) = x_j for x_j > 0, a_j x_j otherwise, with one
 * learnt slope a_j per feature (the layer's weight). */
#include <string.h>

#include "core/internal.h"
#include "gradflow/telemetry.h"
#include "core/checks.h"

/* ---- PReLU ----------------------------------------------------------------------------
 * f(x_j) = x_j for x_j > 0, a_j x_j otherwise; the slopes a (1, n) are the layer's
 * weight. Caches nothing: f' is 1 or a_j, cheaper to read again than to store. The
 * initial slope reset() restores is kept in act_param (act is NULL for PReLU). */

static gf_status prelu_forward(gf_layer *l, const gf_tensor *x, gf_tensor *y, int training)
{
    static const char who[] = "prelu forward";
    size_t batch = 0, n;
    gf_status s = gf_check_forward(who, l, x, y, &batch);

    (void)training;
    if (s == GF_OK)
        s = gf_check_bound(who, "weight (slopes)", &l->weight, 1, l->out);
    if (s != GF_OK)
        return s;
    n = l->out;
    for (size_t r = 0; r < batch; r++) {
        const gf_real *xr = x->data + r * n, *a = l->weight.data;
        gf_real *yr = y->data + r * n;
        for (size_t j = 0; j < n; j++)
            yr[j] = xr[j] > 0 ? xr[j] : a[j] * xr[j];
    }
    return GF_OK;
}

/* Differentiates y_j = x_j > 0 ? x_j : a_j x_j:
 *   da_j += sum over rows of dy_j x_j where x_j <= 0,   dx_j += dy_j (x_j > 0 ? 1 : a_j). */
static gf_status prelu_backward(gf_layer *l, const gf_tensor *x, const gf_tensor *y,
                                const gf_tensor *dy, gf_tensor *dx)
{
    static const char who[] = "prelu backward";
    size_t batch = 0, n;
    gf_status s = gf_check_backward(who, l, x, y, 0, dy, dx, &batch);

    if (s == GF_OK)
        s = gf_check_bound(who, "weight (slopes)", &l->weight, 1, l->out);
    if (s == GF_OK)
        s = gf_check_bound(who, "dweight", &l->dweight, 1, l->out);
    if (s != GF_OK)
        return s;
    n = l->out;
    /* Slope gradients summed over the batch in double, column by column. */
    for (size_t j = 0; j < n; j++) {
        double sum = 0;
        for (size_t r = 0; r < batch; r++) {
            gf_real xv = x->data[r * n + j];
            if (!(xv > 0))
                sum += (double)dy->data[r * n + j] * xv;
        }
        l->dweight.data[j] += (gf_real)sum;
    }
    if (dx != NULL) {
        for (size_t r = 0; r < batch; r++) {
            const gf_real *xr = x->data + r * n, *g = dy->data + r * n, *a = l->weight.data;
            gf_real *o = dx->data + r * n;
            for (size_t j = 0; j < n; j++)
                o[j] += g[j] * (xr[j] > 0 ? 1 : a[j]);
        }
    }
    return GF_OK;
}

/* Mean |f'|, dead units (a_j == 0 and x <= 0 on every row); no saturation. The
 * derivative is read from x and the slopes, one column at a time, without a buffer. */
static void prelu_record(const gf_layer *l, const gf_tensor *x, const gf_tensor *y,
                         struct gf_record *rec)
{
    size_t batch, n, dead = 0;
    double abs_sum = 0;

    (void)y;
    if (l == NULL || rec == NULL || x == NULL || x->data == NULL || x->cols != l->in ||
        x->rows == 0 || l->weight.data == NULL)
        return;
    batch = x->rows;
    n = l->out;
    for (size_t j = 0; j < n; j++) {
        double a = fabs((double)l->weight.data[j]);
        size_t zero_rows = 0;
        for (size_t r = 0; r < batch; r++) {
            double d = x->data[r * n + j] > 0 ? 1.0 : a;
            abs_sum += d;
            zero_rows += d == 0;
        }
        dead += zero_rows == batch;
    }
    rec->deriv_abs_mean = abs_sum / (double)(batch * n);
    rec->dead_frac = (double)dead / (double)n;
    rec->sat_frac = 0;
}

static void prelu_reset(gf_layer *l)
{
    if (l == NULL || l->weight.data == NULL)
        return;
    for (size_t j = 0; j < l->weight.rows * l->weight.cols; j++)
        l->weight.data[j] = l->act_param;
}

static const gf_layer_ops prelu_ops = {
    "prelu", prelu_forward, prelu_backward, prelu_record, NULL, prelu_reset, NULL,
    NULL, /* codec: the registry's entry, gf_kind_prelu, ends this file */
};

gf_status gf_layer_prelu(gf_layer *l, size_t n, gf_real initial_slope)
{
    static const char who[] = "gf_layer_prelu";
    gf_status s;

    GF_CHECK_NOT_NULL(l, who);
    memset(l, 0, sizeof *l);
    if ((s = gf_check_features(who, "n", n)) != GF_OK)
        return s;
    if (!isfinite(initial_slope))
        return gf_fail(GF_EINVAL, "%s: initial slope is not finite", who);

    l->ops = &prelu_ops;
    l->in = n;
    l->out = n;
    l->weight = gf_unbound_view(1, n);
    l->dweight = gf_unbound_view(1, n);
    l->n_params = n;
    l->act_param = initial_slope;
    return GF_OK;
}

/* ==== Registry entry: the prelu kind and its model-file codec ===========================
 * Payload: the initial slope (one real) that reset() would restore; the slopes
 * themselves are parameters. */
#include "layers/codec.h"

static gf_status prelu_encode(gf_writer *w, const gf_layer *l)
{
    gf_write_reals(w, &l->act_param, 1);
    return GF_OK;
}

static gf_status prelu_decode(gf_layer *l, const gf_layer_record *rec, gf_reader *r)
{
    gf_real slope = 0;
    gf_status st = gf_read_reals(r, &slope, 1, "prelu initial slope");
    if (st != GF_OK)
        return st;
    if (rec->in != rec->out || rec->n_params != rec->out)
        return gf_fail(GF_EFORMAT, "model: layer %zu (prelu) records %zu -> %zu features and "
                       "%zu parameters", rec->index, rec->in, rec->out, rec->n_params);
    return gf_layer_prelu(l, rec->in, slope);
}

static const gf_layer_codec prelu_codec = {prelu_encode, prelu_decode, NULL};

/* An element-wise activation with a learnable slope: the units figure and the
 * histograms treat it as one. */
const gf_layer_kind gf_kind_prelu = {
    .name = "prelu",
    .ops = &prelu_ops,
    .codec = &prelu_codec,
    .traits = GF_KIND_ACTIVATION,
};
