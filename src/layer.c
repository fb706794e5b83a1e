/* src/layer.c: the built-in layers: linear (y = x W^T + b), element-wise activation
 * (one row of the act.h table) and PReLU (one learnt slope per feature). Each is a
 * forward/backward pair whose backward ADDS into the gradients. Parameters are views
 * the network binds; the layers never allocate them. Telemetry fields that every layer
 * has (norms, means, non-finite counts) are the engine's; record() fills only the
 * derivative statistics of activations. */
#include <string.h>

#include "gradflow/layer.h"
#include "gradflow/telemetry.h"
#include "internal.h"
#include "simd.h"
#include "stats.h"

/* ---- Shared checks ------------------------------------------------------------------ */

/* A feature count that a layer can hold: nonzero and at most GF_MAX_ELEMENTS. */
static gf_status check_features(const char *who, const char *what, size_t n)
{
    if (n == 0)
        return gf_fail(GF_EINVAL, "%s: %s is 0", who, what);
    if (n > GF_MAX_ELEMENTS)
        return gf_fail(GF_EINVAL, "%s: %s = %zu exceeds the limit of %zu elements", who, what,
                       n, (size_t)GF_MAX_ELEMENTS);
    return GF_OK;
}

/* The input x: (batch, in) with batch >= 1; *batch receives its row count. */
static gf_status check_input(const char *who, const gf_layer *l, const gf_tensor *x,
                             size_t *batch)
{
    if (l == NULL)
        return gf_fail(GF_EINVAL, "%s: layer is NULL", who);
    if (x == NULL)
        return gf_fail(GF_EINVAL, "%s: x is NULL", who);
    if (x->cols != l->in)
        return gf_fail(GF_ESHAPE, "%s: input has %zu columns, layer expects %zu", who,
                       x->cols, l->in);
    if (x->rows == 0)
        return gf_fail(GF_ESHAPE, "%s: input has 0 rows", who);
    if (x->data == NULL)
        return gf_fail(GF_EINVAL, "%s: x has no data", who);
    *batch = x->rows;
    return GF_OK;
}

gf_status gf_check_grads(const char *who, const gf_layer *l, size_t rows, const gf_tensor *dy,
                         const gf_tensor *dx)
{
    gf_status s = gf_check_shape(who, "dy", dy, rows, l->out);
    if (s == GF_OK && dx != NULL)
        s = gf_check_shape(who, "dx", dx, rows, l->in);
    return s;
}

/* The checks every backward pass here shares: x (batch, in), y (batch, out) if required
 * or given, and the gradients. */
static gf_status check_backward(const char *who, const gf_layer *l, const gf_tensor *x,
                                const gf_tensor *y, int need_y, const gf_tensor *dy,
                                const gf_tensor *dx, size_t *batch)
{
    gf_status s = check_input(who, l, x, batch);
    if (s == GF_OK && (need_y || y != NULL))
        s = gf_check_shape(who, "y", y, *batch, l->out);
    if (s == GF_OK)
        s = gf_check_grads(who, l, *batch, dy, dx);
    return s;
}

/* A parameter view the network should have bound: data set, shape as constructed. */
static gf_status check_bound(const char *who, const char *name, const gf_tensor *t,
                             size_t rows, size_t cols)
{
    if (t->data == NULL)
        return gf_fail(GF_ESTATE, "%s: %s is not bound (add the layer to a network, or "
                       "point its .data at storage)", who, name);
    if (t->rows != rows || t->cols != cols)
        return gf_fail(GF_ESTATE, "%s: %s is (%zu, %zu), expected (%zu, %zu)", who, name,
                       t->rows, t->cols, rows, cols);
    return GF_OK;
}

/* An unbound parameter view of shape (rows, cols): the network sets .data later. */
static gf_tensor unbound(size_t rows, size_t cols)
{
    gf_tensor t = {NULL, rows, cols, rows * cols, 0};
    return t;
}

/* ---- Linear ------------------------------------------------------------------------ */

/* y[r, :] += b for every row r of y (batch, out). */
GF_CLONES static void add_bias(gf_real *y, const gf_real *b, size_t batch, size_t out)
{
    for (size_t r = 0; r < batch; r++)
        for (size_t j = 0; j < out; j++)
            y[r * out + j] += b[j];
}

/* y (batch, out) = x (batch, in) W^T + b, W (out, in), b (1, out). Caches nothing: the
 * backward pass needs only x, which the engine keeps. */
static gf_status linear_forward(gf_layer *l, const gf_tensor *x, gf_tensor *y, int training)
{
    static const char who[] = "linear forward";
    size_t batch = 0;
    gf_status s = check_input(who, l, x, &batch);

    (void)training;
    if (s == GF_OK)
        s = gf_check_shape(who, "y", y, batch, l->out);
    if (s == GF_OK)
        s = check_bound(who, "weight", &l->weight, l->out, l->in);
    if (s == GF_OK)
        s = check_bound(who, "bias", &l->bias, 1, l->out);
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
 * terms would lose digits. COLS columns at a time, so that the sums run in vector
 * registers while each column is still summed row after row, as a plain loop would. */
GF_CLONES static void bias_grad(gf_real *db, const gf_real *dy, size_t batch, size_t out)
{
    enum { COLS = 16 };
    size_t j0 = 0;
    for (; j0 + COLS <= out; j0 += COLS) {
        double sum[COLS] = {0};
        for (size_t r = 0; r < batch; r++)
            for (size_t c = 0; c < COLS; c++)
                sum[c] += dy[r * out + j0 + c];
        for (size_t c = 0; c < COLS; c++)
            db[j0 + c] += (gf_real)sum[c];
    }
    for (; j0 < out; j0++) {
        double sum = 0;
        for (size_t r = 0; r < batch; r++)
            sum += dy[r * out + j0];
        db[j0] += (gf_real)sum;
    }
}

/* Differentiates y = x W^T + b:
 *   dW (out, in) += dy^T x,   db (1, out) += column sums of dy,   dx (batch, in) += dy W. */
static gf_status linear_backward(gf_layer *l, const gf_tensor *x, const gf_tensor *y,
                                 const gf_tensor *dy, gf_tensor *dx)
{
    static const char who[] = "linear backward";
    size_t batch = 0;
    gf_status s = check_backward(who, l, x, y, 0, dy, dx, &batch);

    if (s == GF_OK)
        s = check_bound(who, "weight", &l->weight, l->out, l->in);
    if (s == GF_OK)
        s = check_bound(who, "dweight", &l->dweight, l->out, l->in);
    if (s == GF_OK)
        s = check_bound(who, "dbias", &l->dbias, 1, l->out);
    if (s != GF_OK)
        return s;

    gf_gemm_raw(GF_TRANS, GF_NO_TRANS, l->out, l->in, batch, 1, dy->data, l->out, x->data,
                l->in, 1, l->dweight.data, l->in);
    bias_grad(l->dbias.data, dy->data, batch, l->out);
    if (dx != NULL)
        gf_gemm_raw(GF_NO_TRANS, GF_NO_TRANS, batch, l->in, l->out, 1, dy->data, l->out,
                    l->weight.data, l->in, 1, dx->data, l->in);
    return GF_OK;
}

static const gf_layer_ops linear_ops = {
    "linear", linear_forward, linear_backward, NULL, NULL, NULL, NULL,
};

gf_status gf_layer_linear(gf_layer *l, size_t in, size_t out)
{
    static const char who[] = "gf_layer_linear";
    int ok = 1;
    size_t n_weight;
    gf_status s;

    GF_CHECK_NOT_NULL(l, who);
    memset(l, 0, sizeof *l);
    if ((s = check_features(who, "in", in)) != GF_OK ||
        (s = check_features(who, "out", out)) != GF_OK)
        return s;
    n_weight = gf_mul_size(out, in, &ok);
    if (!ok || n_weight > GF_MAX_ELEMENTS - out)
        return gf_fail(GF_EINVAL, "gf_layer_linear: %zu x %zu weights exceed the limit of "
                       "%zu elements", out, in, (size_t)GF_MAX_ELEMENTS);

    l->ops = &linear_ops;
    l->in = in;
    l->out = out;
    l->weight = unbound(out, in);
    l->bias = unbound(1, out);
    l->dweight = unbound(out, in);
    l->dbias = unbound(1, out);
    l->n_params = n_weight + out;
    l->is_parametric = 1;
    return GF_OK;
}

/* ---- Element-wise activation ---------------------------------------------------------
 * f'(x) is never stored whole: the backward pass evaluates it chunk by chunk into a small
 * buffer in the layer's state (in L1 cache), applies the chain rule, and, when the pass
 * is recorded (l->recording), takes the derivative statistics from the same chunk. So
 * the layer keeps no (batch, n) array and its telemetry costs no pass over memory.
 * record() outside such a pass evaluates f' again, through the same chunks, so both
 * give the same figures bit for bit. */

/* ACT_CHUNK values of f' are evaluated at a time: 8 KiB of floats, in L1 with the chunks
 * of dy and dx it meets. Each chunk's statistics end in a fixed reduction, which 1024
 * values amortised badly (measured: 16 values/ns at 1024, 20 at 2048, 22 at 32768). */
enum { ACT_CHUNK = 2048,
       LANES = 16 };

/* Derivative statistics being gathered: sum |f'| (in LANES double lanes per chunk,
 * added in a fixed order, so the figures do not depend on the CPU), the entries with
 * |f'| below the saturation threshold, and per unit (column) the sum of |f'| in
 * gf_real, which is 0 exactly when the unit's f' was 0 on every row (a sum of
 * non-negative values cannot round to 0): the unit is dead. */
typedef struct deriv_acc {
    double abs_sum;
    size_t sat, total;
    gf_real sat_below; /* the smallest gf_real >= the threshold; 0: nothing counts */
    int none_dead;     /* a whole row had no f' == 0: no unit can be dead */
} deriv_acc;

typedef struct act_state {
    gf_real chunk[ACT_CHUNK];
    gf_real *col_abs;     /* (n): sum over rows of |f'| */
    deriv_acc acc;        /* the statistics the last recorded backward pass took */
    size_t acc_rows;      /* rows they cover; 0: none (a forward pass came since) */
} act_state;

static void acc_start(deriv_acc *acc, gf_real *col_abs, size_t n, const gf_layer *l)
{
    double t = l->act->saturating ? GF_SATURATION_FRACTION * l->act->deriv_bound(l->act_param)
                                  : 0;
    /* |d| < t compared in gf_real: the smallest gf_real >= t gives the same answer for
     * every d (and the count needs no conversions). */
    gf_real tr = (gf_real)t;
    if ((double)tr < t)
        tr = nextafterf((float)tr, INFINITY);
    *acc = (deriv_acc){0, 0, 0, tr, 0};
    memset(col_abs, 0, n * sizeof *col_abs);
}

/* Accumulate a chunk of f' values d[0..m), which start at column col0 of an n-column
 * array (a chunk is either whole rows or part of one row). */
GF_CLONES static void add_abs(gf_real *restrict c, const gf_real *restrict d, size_t n)
{
    for (size_t j = 0; j < n; j++)
        c[j] += d[j] < 0 ? -d[j] : d[j];
}

static void acc_chunk(deriv_acc *acc, gf_real *col_abs, const gf_real *d, size_t m,
                      size_t col0, size_t n)
{
    double s;
    size_t sat, zeros;
    gf_stats_abs(d, m, acc->sat_below, &s, &sat, &zeros);
    /* Rows without a zero f' (most rows of a smooth f) make the per-unit sums moot. */
    if (zeros == 0 && col0 == 0 && m % n == 0)
        acc->none_dead = 1;
    for (size_t done = 0; done < m && !acc->none_dead;) {
        size_t run = n - col0 < m - done ? n - col0 : m - done;
        add_abs(col_abs + col0, d + done, run);
        done += run;
        col0 = 0;
    }
    acc->abs_sum += s;
    acc->sat += sat;
    acc->total += m;
}

/* The chunk after e: whole rows when a row fits, else up to the end of e's row. */
static size_t chunk_len(size_t e, size_t total, size_t n)
{
    size_t m = n <= ACT_CHUNK ? (ACT_CHUNK / n) * n : ACT_CHUNK;
    if (n > ACT_CHUNK && n - e % n < m)
        m = n - e % n;
    return total - e < m ? total - e : m;
}

static void acc_finish(const deriv_acc *acc, const gf_real *col_abs, size_t n,
                       struct gf_record *rec)
{
    size_t dead = 0;
    for (size_t j = 0; j < n && !acc->none_dead; j++)
        dead += col_abs[j] == 0;
    rec->deriv_abs_mean = acc->abs_sum / (double)acc->total;
    rec->dead_frac = (double)dead / (double)n;
    rec->sat_frac = (double)acc->sat / (double)acc->total;
}

/* y = f(x), element-wise. */
static gf_status act_forward(gf_layer *l, const gf_tensor *x, gf_tensor *y, int training)
{
    static const char who[] = "activation forward";
    size_t batch = 0;
    gf_status s = check_input(who, l, x, &batch);

    (void)training;
    if (s == GF_OK)
        s = gf_check_shape(who, "y", y, batch, l->out);
    if (s == GF_OK && (l->act == NULL || l->state == NULL))
        s = gf_fail(GF_ESTATE, "%s: layer has no activation or state (released?)", who);
    if (s != GF_OK)
        return s;
    ((act_state *)l->state)->acc_rows = 0;
    l->act->forward(y->data, x->data, batch * l->out, l->act_param);
    return GF_OK;
}

/* out[i] += g[i] d[i]: the chain rule through an element-wise activation. */
GF_CLONES static void add_product(gf_real *out, const gf_real *g, const gf_real *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] += g[i] * d[i];
}

/* Evaluate f' over the (batch, n) x and y chunk by chunk: dx += dy * f' when dx is
 * given, and the derivative statistics from the same chunk when stats is set. The one
 * loop of both the backward pass and record(), so they give the same figures. */
static void deriv_chunks(const gf_layer *l, const gf_tensor *x, const gf_tensor *y,
                         const gf_tensor *dy, gf_tensor *dx, int stats)
{
    act_state *st = l->state;
    size_t n = l->out, total = x->rows * n;
    st->acc_rows = 0;
    if (stats)
        acc_start(&st->acc, st->col_abs, n, l);
    for (size_t e = 0, m; e < total; e += m) {
        m = chunk_len(e, total, n);
        l->act->deriv(st->chunk, x->data + e, y->data + e, m, l->act_param);
        if (dx != NULL)
            add_product(dx->data + e, dy->data + e, st->chunk, m);
        if (stats)
            acc_chunk(&st->acc, st->col_abs, st->chunk, m, e % n, n);
    }
    if (stats)
        st->acc_rows = x->rows;
}

/* dx += dy * f'(x); the statistics too when the pass is recorded. */
static gf_status act_backward(gf_layer *l, const gf_tensor *x, const gf_tensor *y,
                              const gf_tensor *dy, gf_tensor *dx)
{
    static const char who[] = "activation backward";
    size_t batch = 0;
    gf_status s = check_backward(who, l, x, y, 1, dy, dx, &batch);

    if (s == GF_OK && (l->act == NULL || l->state == NULL))
        s = gf_fail(GF_ESTATE, "%s: layer has no activation or state (released?)", who);
    if (s != GF_OK)
        return s;
    deriv_chunks(l, x, y, dy, dx, l->recording);
    return GF_OK;
}

/* The derivative statistics: those the recorded backward pass took, else f' evaluated
 * again now, through the same chunks. */
static void act_record(const gf_layer *l, const gf_tensor *x, const gf_tensor *y,
                       struct gf_record *rec)
{
    act_state *st;

    if (l == NULL || rec == NULL || l->act == NULL || (st = l->state) == NULL ||
        x == NULL || x->data == NULL || x->cols != l->in || x->rows == 0)
        return;
    if (st->acc_rows != x->rows) {
        if (y == NULL || y->data == NULL || y->rows != x->rows || y->cols != l->out)
            return;
        deriv_chunks(l, x, y, NULL, NULL, 1);
    }
    acc_finish(&st->acc, st->col_abs, l->out, rec);
}

static void act_destroy(gf_layer *l)
{
    act_state *st;
    if (l == NULL || (st = l->state) == NULL)
        return;
    gf_free(st->col_abs);
    gf_free(st);
    l->state = NULL;
}

static const gf_layer_ops activation_ops = {
    "activation", act_forward, act_backward, act_record, NULL, NULL, act_destroy,
};

gf_status gf_layer_activation(gf_layer *l, size_t n, const gf_activation *act, gf_real param)
{
    static const char who[] = "gf_layer_activation";
    act_state *st;
    gf_status s;

    GF_CHECK_NOT_NULL(l, who);
    memset(l, 0, sizeof *l);
    if ((s = check_features(who, "n", n)) != GF_OK)
        return s;
    GF_CHECK_NOT_NULL(act, who);
    if (!isfinite(param))
        return gf_fail(GF_EINVAL, "%s: %s parameter %s is not finite", who, act->name,
                       act->param_name ? act->param_name : "(unused)");
    st = gf_calloc(1, sizeof *st);
    if (st != NULL && (st->col_abs = gf_calloc(n, sizeof *st->col_abs)) == NULL) {
        gf_free(st);
        st = NULL;
    }
    if (st == NULL)
        return gf_fail(GF_ENOMEM, "%s: cannot allocate the layer state", who);

    l->ops = &activation_ops;
    l->in = n;
    l->out = n;
    l->act = act;
    l->act_param = param;
    l->state = st;
    return GF_OK;
}

/* ---- PReLU ----------------------------------------------------------------------------
 * f(x_j) = x_j for x_j > 0, a_j x_j otherwise; the slopes a (1, n) are the layer's
 * weight. Caches nothing: f' is 1 or a_j, cheaper to read again than to store. The
 * initial slope reset() restores is kept in act_param (act is NULL for PReLU). */

static gf_status prelu_forward(gf_layer *l, const gf_tensor *x, gf_tensor *y, int training)
{
    static const char who[] = "prelu forward";
    size_t batch = 0, n;
    gf_status s = check_input(who, l, x, &batch);

    (void)training;
    if (s == GF_OK)
        s = gf_check_shape(who, "y", y, batch, l->out);
    if (s == GF_OK)
        s = check_bound(who, "weight (slopes)", &l->weight, 1, l->out);
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
    gf_status s = check_backward(who, l, x, y, 0, dy, dx, &batch);

    if (s == GF_OK)
        s = check_bound(who, "weight (slopes)", &l->weight, 1, l->out);
    if (s == GF_OK)
        s = check_bound(who, "dweight", &l->dweight, 1, l->out);
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
};

gf_status gf_layer_prelu(gf_layer *l, size_t n, gf_real initial_slope)
{
    static const char who[] = "gf_layer_prelu";
    gf_status s;

    GF_CHECK_NOT_NULL(l, who);
    memset(l, 0, sizeof *l);
    if ((s = check_features(who, "n", n)) != GF_OK)
        return s;
    if (!isfinite(initial_slope))
        return gf_fail(GF_EINVAL, "%s: initial slope is not finite", who);

    l->ops = &prelu_ops;
    l->in = n;
    l->out = n;
    l->weight = unbound(1, n);
    l->dweight = unbound(1, n);
    l->n_params = n;
    l->act_param = initial_slope;
    return GF_OK;
}

/* ---- Release ------------------------------------------------------------------------- */

void gf_layer_release(gf_layer *l)
{
    if (l == NULL)
        return;
    if (l->ops != NULL && l->ops->destroy != NULL)
        l->ops->destroy(l);
    l->state = NULL;
}
