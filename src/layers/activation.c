/* src/layers/activation.c: the element-wise activation layer y = f(x), one row of the
 * act.h table (act.c). Its backward ADDS dL/dx = dL/dy * f'(x) into dx; when the pass is
 * recorded it also takes the derivative statistics of the telemetry (mean |f'|, dead
 * and saturated units). */
#include <string.h>

#include "core/internal.h"
#include "fast/simd.h"
#include "fast/stats.h"
#include "gradflow/telemetry.h"
#include "layers/checks.h"

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
    gf_status s = gf_check_input(who, l, x, &batch);

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
    gf_status s = gf_check_backward(who, l, x, y, 1, dy, dx, &batch);

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
    if ((s = gf_check_features(who, "n", n)) != GF_OK)
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

/* ==== Registry entry: the activation kind and its model-file codec ======================
 * Payload: the activation's name, its parameter (one real). Appended here, apart from
 * the layer above, so that the layer can change without touching its codec. */
#include "layers/codec.h"

static gf_status activation_encode(gf_writer *w, const gf_layer *l)
{
    if (l->act == NULL || l->act->name == NULL)
        return gf_fail(GF_EUNSUPPORTED, "model: an activation layer without an activation");
    gf_write_name(w, l->act->name);
    gf_write_reals(w, &l->act_param, 1);
    return GF_OK;
}

static gf_status activation_decode(gf_layer *l, const gf_layer_record *rec, gf_reader *r)
{
    char name[GF_NAME_MAX + 1];
    const gf_activation *act = NULL;
    gf_real param = 0;
    gf_status st = gf_read_name(r, name, "activation name");
    if (st == GF_OK)
        st = gf_read_reals(r, &param, 1, "activation parameter");
    if (st != GF_OK)
        return st;
    if (rec->in != rec->out || rec->n_params != 0)
        return gf_fail(GF_EFORMAT, "model: layer %zu (%s) records %zu -> %zu features and "
                       "%zu parameters", rec->index, name, rec->in, rec->out, rec->n_params);
    if (gf_activation_find(&act, name) != GF_OK)
        return gf_fail(GF_EUNSUPPORTED, "model: layer %zu uses the activation '%s', which "
                       "this build does not know", rec->index, name);
    return gf_layer_activation(l, rec->in, act, param);
}

static const gf_layer_codec activation_codec = {activation_encode, activation_decode, NULL};

const gf_layer_kind gf_kind_activation = {"activation", &activation_ops, &activation_codec,
                                          GF_KIND_ACTIVATION};
