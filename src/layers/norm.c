/* src/layers/norm.c: batch normalisation and layer normalisation layers (formulas in
 * gradflow/norm.h). Both cache, per forward pass, only the mean and 1/sigma of each
 * normalised group (a feature for batch norm, a row for layer norm), in double; the
 * backward pass recomputes xhat from x, which costs one subtraction and saves a
 * (batch, n) buffer. Statistics are taken in double by two passes (mean first), so a
 * large mean does not cancel the variance away in float. */
#include <string.h>

#include "gradflow/norm.h"
#include "core/checks.h"
#include "core/internal.h"

typedef struct norm_state {
    int batch_norm;        /* 1: batch norm (per feature); 0: layer norm (per row) */
    double eps;            /* added to the variance */
    double momentum;       /* batch norm: weight of the new batch in the running stats */
    double *running_mean;  /* batch norm: (n), starts at 0 */
    double *running_var;   /* batch norm: (n), starts at 1 */
    double *mean;          /* the last forward pass's mean per group */
    double *inv_std;       /* ... and 1 / sqrt(var + eps) */
    size_t cap;            /* groups mean and inv_std hold */
    double *sum1, *sum2;   /* batch norm backward: per-feature sums, (n) each */
    size_t rows;           /* rows of the forward pass cached; 0: none */
    int training;          /* mode of that pass (batch norm) */
} norm_state;

static const char *norm_name(const gf_layer *l)
{
    return l->ops != NULL ? l->ops->name : "norm";
}

/* ---- Checks ------------------------------------------------------------------------- */

/* The layer is set up and its gamma and beta (and, in a backward pass, their gradients)
 * bound, each holding n values; x is (batch >= 1, n); backward: dy and dx (batch, n)
 * and the forward pass of this batch cached. */
static gf_status check_layer(const char *who, const gf_layer *l, const gf_tensor *x,
                             int backward, const gf_tensor *dy, const gf_tensor *dx)
{
    gf_status s = gf_check_stateful(who, l, x, "gamma and beta", backward, dy, dx);
    if (s != GF_OK)
        return s;
    if (l->weight.rows * l->weight.cols != l->out || l->bias.rows * l->bias.cols != l->out)
        return gf_fail(GF_ESTATE, "%s: gamma and beta must hold %zu values", who, l->out);
    return backward ? gf_check_cached(who, ((const norm_state *)l->state)->rows, x->rows)
                    : GF_OK;
}

/* Make room for `groups` statistics (layer norm: one per row). */
static gf_status grow_stats(norm_state *st, size_t groups, const char *who)
{
    double *m, *s;
    if (groups <= st->cap)
        return GF_OK;
    if (groups > GF_MAX_ELEMENTS)
        return gf_fail(GF_EINVAL, "%s: %zu rows exceed the limit", who, groups);
    m = gf_realloc(st->mean, groups * sizeof *m);
    if (m == NULL)
        return gf_fail(GF_ENOMEM, "%s: cannot allocate statistics for %zu rows", who, groups);
    st->mean = m;
    s = gf_realloc(st->inv_std, groups * sizeof *s);
    if (s == NULL)
        return gf_fail(GF_ENOMEM, "%s: cannot allocate statistics for %zu rows", who, groups);
    st->inv_std = s;
    st->cap = groups;
    st->rows = 0;
    return GF_OK;
}

/* ---- Batch norm --------------------------------------------------------------------- */

static gf_status bn_forward(gf_layer *l, const gf_tensor *x, gf_tensor *y, int training)
{
    static const char who[] = "batchnorm forward";
    gf_status s = check_layer(who, l, x, 0, NULL, NULL);
    norm_state *st;
    size_t batch, n;

    if (s == GF_OK)
        s = gf_check_shape(who, "y", y, x->rows, l->out);
    if (s != GF_OK)
        return s;
    st = l->state;
    batch = x->rows;
    n = l->out;
    st->rows = 0;
    if (training) {
        double *mu = st->mean, *var = st->sum1;
        if (batch < 2)
            return gf_fail(GF_EINVAL, "%s: training needs a batch of at least 2 rows (got 1): "
                           "one row has no variance", who);
        memset(mu, 0, n * sizeof *mu);
        memset(var, 0, n * sizeof *var);
        for (size_t r = 0; r < batch; r++)
            for (size_t j = 0; j < n; j++)
                mu[j] += x->data[r * n + j];
        for (size_t j = 0; j < n; j++)
            mu[j] /= (double)batch;
        for (size_t r = 0; r < batch; r++)
            for (size_t j = 0; j < n; j++) {
                double d = x->data[r * n + j] - mu[j];
                var[j] += d * d;
            }
        for (size_t j = 0; j < n; j++) {
            double v = var[j] / (double)batch;
            double m = st->momentum;
            st->inv_std[j] = 1.0 / sqrt(v + st->eps);
            st->running_mean[j] = (1 - m) * st->running_mean[j] + m * mu[j];
            st->running_var[j] =
                (1 - m) * st->running_var[j] + m * v * (double)batch / (double)(batch - 1);
        }
    } else {
        for (size_t j = 0; j < n; j++) {
            st->mean[j] = st->running_mean[j];
            st->inv_std[j] = 1.0 / sqrt(st->running_var[j] + st->eps);
        }
    }
    for (size_t r = 0; r < batch; r++) {
        const gf_real *xr = x->data + r * n;
        gf_real *yr = y->data + r * n;
        for (size_t j = 0; j < n; j++) {
            double xhat = (xr[j] - st->mean[j]) * st->inv_std[j];
            yr[j] = (gf_real)(l->weight.data[j] * xhat + l->bias.data[j]);
        }
    }
    st->rows = batch;
    st->training = training;
    return GF_OK;
}

/* Differentiates y = gamma xhat + beta, xhat = (x - mu) / sigma:
 *   dgamma += sum_r dy xhat,  dbeta += sum_r dy,
 *   training:   dx += (1/sigma) (dxhat - mean_r dxhat - xhat mean_r(dxhat xhat)),
 *   evaluation: dx += dxhat / sigma (mu and sigma are constants then),  dxhat = dy gamma. */
static gf_status bn_backward(gf_layer *l, const gf_tensor *x, const gf_tensor *y,
                             const gf_tensor *dy, gf_tensor *dx)
{
    static const char who[] = "batchnorm backward";
    gf_status s = check_layer(who, l, x, 1, dy, dx);
    norm_state *st;
    size_t batch, n;
    double *sum1, *sum2;

    (void)y;
    if (s != GF_OK)
        return s;
    st = l->state;
    batch = x->rows;
    n = l->out;
    sum1 = st->sum1;
    sum2 = st->sum2;
    /* sum1 = sum_r dy, sum2 = sum_r dy xhat: they give dbeta and dgamma, and (times
     * gamma) the two means of the training-mode dx. */
    memset(sum1, 0, n * sizeof *sum1);
    memset(sum2, 0, n * sizeof *sum2);
    for (size_t r = 0; r < batch; r++)
        for (size_t j = 0; j < n; j++) {
            double g = dy->data[r * n + j];
            sum1[j] += g;
            sum2[j] += g * (x->data[r * n + j] - st->mean[j]) * st->inv_std[j];
        }
    for (size_t j = 0; j < n; j++) {
        l->dbias.data[j] += (gf_real)sum1[j];
        l->dweight.data[j] += (gf_real)sum2[j];
    }
    if (dx == NULL)
        return GF_OK;
    for (size_t r = 0; r < batch; r++) {
        const gf_real *xr = x->data + r * n, *g = dy->data + r * n;
        gf_real *o = dx->data + r * n;
        for (size_t j = 0; j < n; j++) {
            double gamma = l->weight.data[j];
            double d = g[j];
            if (st->training) {
                double xhat = (xr[j] - st->mean[j]) * st->inv_std[j];
                d -= (sum1[j] + xhat * sum2[j]) / (double)batch;
            }
            o[j] += (gf_real)(gamma * st->inv_std[j] * d);
        }
    }
    return GF_OK;
}

/* ---- Layer norm --------------------------------------------------------------------- */

static gf_status ln_reserve(gf_layer *l, size_t batch)
{
    GF_CHECK_NOT_NULL(l, "layernorm reserve");
    if (l->state == NULL)
        return gf_fail(GF_ESTATE, "layernorm reserve: layer has no state (released?)");
    return grow_stats(l->state, batch, "layernorm reserve");
}

static gf_status ln_forward(gf_layer *l, const gf_tensor *x, gf_tensor *y, int training)
{
    static const char who[] = "layernorm forward";
    gf_status s = check_layer(who, l, x, 0, NULL, NULL);
    norm_state *st;
    size_t batch, n;

    (void)training;
    if (s == GF_OK)
        s = gf_check_shape(who, "y", y, x->rows, l->out);
    if (s == GF_OK)
        s = grow_stats(l->state, x->rows, who);
    if (s != GF_OK)
        return s;
    st = l->state;
    batch = x->rows;
    n = l->out;
    for (size_t r = 0; r < batch; r++) {
        const gf_real *xr = x->data + r * n;
        gf_real *yr = y->data + r * n;
        double mu = 0, var = 0, inv;
        for (size_t j = 0; j < n; j++)
            mu += xr[j];
        mu /= (double)n;
        for (size_t j = 0; j < n; j++)
            var += (xr[j] - mu) * (xr[j] - mu);
        inv = 1.0 / sqrt(var / (double)n + st->eps);
        st->mean[r] = mu;
        st->inv_std[r] = inv;
        for (size_t j = 0; j < n; j++)
            yr[j] = (gf_real)(l->weight.data[j] * (xr[j] - mu) * inv + l->bias.data[j]);
    }
    st->rows = batch;
    st->training = 1;
    return GF_OK;
}

/* Its opening reads as bn_backward's on purpose, so that each pass stands alone.
 * The batch-norm formula with the roles of rows and features exchanged: for each row,
 *   dx = (1/sigma) (dxhat - mean_j dxhat - xhat mean_j(dxhat xhat)),  dxhat = dy gamma;
 *   dgamma += sum_r dy xhat, dbeta += sum_r dy (gamma and beta are per feature). */
static gf_status ln_backward(gf_layer *l, const gf_tensor *x, const gf_tensor *y,
                             const gf_tensor *dy, gf_tensor *dx)
{
    static const char who[] = "layernorm backward";
    gf_status s = check_layer(who, l, x, 1, dy, dx);
    norm_state *st;
    size_t batch, n;

    (void)y;
    if (s != GF_OK)
        return s;
    st = l->state;
    batch = x->rows;
    n = l->out;
    /* dgamma and dbeta are sums over the batch: kept in double until the end. */
    memset(st->sum1, 0, n * sizeof *st->sum1);
    memset(st->sum2, 0, n * sizeof *st->sum2);
    for (size_t r = 0; r < batch; r++) {
        const gf_real *xr = x->data + r * n, *g = dy->data + r * n;
        double mu = st->mean[r], inv = st->inv_std[r];
        double m1 = 0, m2 = 0;
        for (size_t j = 0; j < n; j++) {
            double xhat = (xr[j] - mu) * inv;
            double dxhat = (double)g[j] * l->weight.data[j];
            m1 += dxhat;
            m2 += dxhat * xhat;
            st->sum1[j] += g[j];
            st->sum2[j] += g[j] * xhat;
        }
        if (dx == NULL)
            continue;
        m1 /= (double)n;
        m2 /= (double)n;
        for (size_t j = 0; j < n; j++) {
            double xhat = (xr[j] - mu) * inv;
            double dxhat = (double)g[j] * l->weight.data[j];
            dx->data[r * n + j] += (gf_real)(inv * (dxhat - m1 - xhat * m2));
        }
    }
    for (size_t j = 0; j < n; j++) {
        l->dbias.data[j] += (gf_real)st->sum1[j];
        l->dweight.data[j] += (gf_real)st->sum2[j];
    }
    return GF_OK;
}

/* ---- Shared ------------------------------------------------------------------------- */

/* gamma = 1, beta = 0; batch norm's running statistics back to mean 0, variance 1. */
static void norm_reset(gf_layer *l)
{
    norm_state *st;
    if (l == NULL)
        return;
    if (l->weight.data != NULL)
        for (size_t j = 0; j < l->out; j++)
            l->weight.data[j] = 1;
    if (l->bias.data != NULL)
        for (size_t j = 0; j < l->out; j++)
            l->bias.data[j] = 0;
    st = l->state;
    if (st != NULL && st->batch_norm) {
        for (size_t j = 0; j < l->out; j++) {
            st->running_mean[j] = 0;
            st->running_var[j] = 1;
        }
    }
}

static void norm_destroy(gf_layer *l)
{
    norm_state *st;
    if (l == NULL || (st = l->state) == NULL)
        return;
    gf_free(st->running_mean);
    gf_free(st->running_var);
    gf_free(st->mean);
    gf_free(st->inv_std);
    gf_free(st->sum1);
    gf_free(st->sum2);
    gf_free(st);
    l->state = NULL;
}

static const gf_layer_ops batchnorm_ops = {
    "batchnorm", bn_forward, bn_backward, NULL, NULL, norm_reset, norm_destroy,
    NULL, /* codec: the registry's entry ends this file */
};

static const gf_layer_ops layernorm_ops = {
    "layernorm", ln_forward, ln_backward, NULL, ln_reserve, norm_reset, norm_destroy,
    NULL, /* codec: the registry's entry ends this file */
};

/* Common set-up: gamma (1, n) as the weight, beta (1, n) as the bias, unbound. */
static gf_status norm_setup(gf_layer *l, size_t n, double eps, const char *who,
                            norm_state **out)
{
    norm_state *st;
    if (n == 0)
        return gf_fail(GF_EINVAL, "%s: n is 0", who);
    if (n > GF_MAX_ELEMENTS / 2)
        return gf_fail(GF_EINVAL, "%s: n = %zu exceeds the limit", who, n);
    if (!(isfinite(eps) && eps > 0))
        return gf_fail(GF_EINVAL, "%s: eps must be positive and finite (got %g)", who, eps);
    st = gf_calloc(1, sizeof *st);
    if (st == NULL)
        return gf_fail(GF_ENOMEM, "%s: cannot allocate the layer state", who);
    st->eps = eps;
    st->sum1 = gf_calloc(n, sizeof(double));
    st->sum2 = gf_calloc(n, sizeof(double));
    l->state = st;
    if (st->sum1 == NULL || st->sum2 == NULL) {
        norm_destroy(l);
        return gf_fail(GF_ENOMEM, "%s: cannot allocate scratch for %zu features", who, n);
    }
    l->in = l->out = n;
    l->weight = l->dweight = (gf_tensor){.data = NULL, .rows = 1, .cols = n};
    l->bias = l->dbias = (gf_tensor){.data = NULL, .rows = 1, .cols = n};
    l->n_params = 2 * n;
    l->is_parametric = 0;
    l->state = st;
    *out = st;
    return GF_OK;
}

gf_status gf_layer_batchnorm(gf_layer *l, size_t n, double eps, double momentum)
{
    static const char who[] = "gf_layer_batchnorm";
    norm_state *st = NULL;
    gf_status s;

    GF_CHECK_NOT_NULL(l, who);
    memset(l, 0, sizeof *l);
    if (!(isfinite(momentum) && momentum >= 0 && momentum <= 1))
        return gf_fail(GF_EINVAL, "%s: momentum must be in [0, 1] (got %g)", who, momentum);
    s = norm_setup(l, n, eps, who, &st);
    if (s != GF_OK)
        return s;
    l->ops = &batchnorm_ops;
    st->batch_norm = 1;
    st->momentum = momentum;
    st->running_mean = gf_calloc(n, sizeof(double));
    st->running_var = gf_calloc(n, sizeof(double));
    s = st->running_mean && st->running_var
            ? grow_stats(st, n, who)
            : gf_fail(GF_ENOMEM, "%s: cannot allocate statistics for %zu features", who, n);
    if (s != GF_OK) {
        norm_destroy(l);
        memset(l, 0, sizeof *l);
        return s;
    }
    norm_reset(l);
    return GF_OK;
}

gf_status gf_layer_layernorm(gf_layer *l, size_t n, double eps)
{
    static const char who[] = "gf_layer_layernorm";
    norm_state *st = NULL;
    gf_status s;

    GF_CHECK_NOT_NULL(l, who);
    memset(l, 0, sizeof *l);
    if (n == 1)
        return gf_fail(GF_EINVAL, "%s: n must be at least 2 (over one feature the output "
                       "is always beta)", who);
    s = norm_setup(l, n, eps, who, &st);
    if (s != GF_OK)
        return s;
    l->ops = &layernorm_ops;
    return GF_OK;
}

/* ---- Running statistics --------------------------------------------------------------- */

static gf_status bn_state(const gf_layer *l, const char *who, norm_state **out)
{
    GF_CHECK_NOT_NULL(l, who);
    if (l->ops != &batchnorm_ops)
        return gf_fail(GF_EINVAL, "%s: layer is %s, not batchnorm", who,
                       l->ops != NULL ? norm_name(l) : "not set up");
    if (l->state == NULL)
        return gf_fail(GF_ESTATE, "%s: layer has no state (released?)", who);
    *out = l->state;
    return GF_OK;
}

gf_status gf_batchnorm_running(const gf_layer *l, const double **mean, const double **var,
                               size_t *n)
{
    static const char who[] = "gf_batchnorm_running";
    norm_state *st = NULL;
    gf_status s;
    GF_CHECK_NOT_NULL(mean, who);
    GF_CHECK_NOT_NULL(var, who);
    GF_CHECK_NOT_NULL(n, who);
    *mean = *var = NULL;
    *n = 0;
    if ((s = bn_state(l, who, &st)) != GF_OK)
        return s;
    *mean = st->running_mean;
    *var = st->running_var;
    *n = l->out;
    return GF_OK;
}

gf_status gf_norm_config(const gf_layer *l, double *eps, double *momentum)
{
    static const char who[] = "gf_norm_config";
    const norm_state *st;
    GF_CHECK_NOT_NULL(l, who);
    if (l->ops != &batchnorm_ops && l->ops != &layernorm_ops)
        return gf_fail(GF_EINVAL, "%s: layer is %s, not batchnorm or layernorm", who,
                       l->ops != NULL && l->ops->name != NULL ? l->ops->name : "not set up");
    if ((st = l->state) == NULL)
        return gf_fail(GF_ESTATE, "%s: layer has no state (released?)", who);
    if (eps != NULL)
        *eps = st->eps;
    if (momentum != NULL)
        *momentum = st->batch_norm ? st->momentum : 0.0;
    return GF_OK;
}

gf_status gf_batchnorm_set_running(gf_layer *l, const double *mean, const double *var,
                                   size_t n)
{
    static const char who[] = "gf_batchnorm_set_running";
    norm_state *st = NULL;
    gf_status s;
    GF_CHECK_NOT_NULL(mean, who);
    GF_CHECK_NOT_NULL(var, who);
    if ((s = bn_state(l, who, &st)) != GF_OK)
        return s;
    if (n != l->out)
        return gf_fail(GF_ESHAPE, "%s: %zu values given, the layer has %zu features", who, n,
                       l->out);
    for (size_t j = 0; j < n; j++)
        if (!isfinite(mean[j]) || !(isfinite(var[j]) && var[j] >= 0))
            return gf_fail(GF_EINVAL, "%s: feature %zu: mean %g, variance %g (finite, "
                           "variance >= 0 required)", who, j, mean[j], var[j]);
    memcpy(st->running_mean, mean, n * sizeof *mean);
    memcpy(st->running_var, var, n * sizeof *var);
    return GF_OK;
}

/* ==== Registry entries: the batchnorm and layernorm kinds and their codecs ===============
 * Batch norm's payload: eps, momentum (f64), then the running mean and the running
 * variance (out f64 each: they are doubles in every build). Layer norm's: eps (f64).
 * gamma and beta are parameters. */
#include "layers/codec.h"

static gf_status bn_encode(gf_writer *w, const gf_layer *l)
{
    const double *mean = NULL, *var = NULL;
    double eps = 0, momentum = 0;
    size_t n = 0;
    if (gf_norm_config(l, &eps, &momentum) != GF_OK ||
        gf_batchnorm_running(l, &mean, &var, &n) != GF_OK)
        return gf_fail(GF_EUNSUPPORTED, "model: a batchnorm layer without readable state");
    gf_write_f64(w, eps);
    gf_write_f64(w, momentum);
    for (size_t j = 0; j < n; j++)
        gf_write_f64(w, mean[j]);
    for (size_t j = 0; j < n; j++)
        gf_write_f64(w, var[j]);
    return GF_OK;
}

static gf_status bn_decode(gf_layer *l, const gf_layer_record *rec, gf_reader *r)
{
    double eps = 0, momentum = 0;
    gf_status st;
    if ((st = gf_read_f64(r, &eps, "batchnorm eps")) != GF_OK ||
        (st = gf_read_f64(r, &momentum, "batchnorm momentum")) != GF_OK)
        return st;
    if (rec->in != rec->out || rec->n_params / 2 != rec->out || rec->n_params % 2 != 0)
        return gf_fail(GF_EFORMAT, "model: layer %zu (batchnorm) records %zu -> %zu features "
                       "and %zu parameters", rec->index, rec->in, rec->out, rec->n_params);
    if (rec->out > gf_read_remaining(r) / 16)
        return gf_fail(GF_EFORMAT, "model: truncated: layer %zu (batchnorm) needs 2 x %zu "
                       "running statistics, %zu bytes remain", rec->index, rec->out,
                       gf_read_remaining(r));
    return gf_layer_batchnorm(l, rec->in, eps, momentum);
}

/* The running statistics, after the network's reset() has set them to 0 and 1. */
static gf_status bn_restore(gf_layer *l, gf_reader *r)
{
    size_t n = l->out;
    gf_status st = GF_OK;
    double *stats = gf_alloc(2 * n * sizeof *stats);
    if (stats == NULL)
        return gf_fail(GF_ENOMEM, "model: out of memory reading a batchnorm layer");
    for (size_t j = 0; j < 2 * n && st == GF_OK; j++)
        st = gf_read_f64(r, &stats[j], "batchnorm running statistics");
    if (st == GF_OK)
        st = gf_batchnorm_set_running(l, stats, stats + n, n);
    gf_free(stats);
    return st;
}

static gf_status ln_encode(gf_writer *w, const gf_layer *l)
{
    double eps = 0;
    if (gf_norm_config(l, &eps, NULL) != GF_OK)
        return gf_fail(GF_EUNSUPPORTED, "model: a layernorm layer without readable state");
    gf_write_f64(w, eps);
    return GF_OK;
}

static gf_status ln_decode(gf_layer *l, const gf_layer_record *rec, gf_reader *r)
{
    double eps = 0;
    gf_status st = gf_read_f64(r, &eps, "layernorm eps");
    if (st != GF_OK)
        return st;
    if (rec->in != rec->out || rec->n_params / 2 != rec->out || rec->n_params % 2 != 0)
        return gf_fail(GF_EFORMAT, "model: layer %zu (layernorm) records %zu -> %zu features "
                       "and %zu parameters", rec->index, rec->in, rec->out, rec->n_params);
    return gf_layer_layernorm(l, rec->in, eps);
}

static const gf_layer_codec batchnorm_codec = {bn_encode, bn_decode, bn_restore};
static const gf_layer_codec layernorm_codec = {ln_encode, ln_decode, NULL};

const gf_layer_kind gf_kind_batchnorm = {
    .name = "batchnorm",
    .ops = &batchnorm_ops,
    .codec = &batchnorm_codec,
    .traits = GF_KIND_NORM,
};
const gf_layer_kind gf_kind_layernorm = {
    .name = "layernorm",
    .ops = &layernorm_ops,
    .codec = &layernorm_codec,
    .traits = GF_KIND_NORM,
};
