/* src/layers/residual.c: the two layers of a residual block in the flat stack,
 * skip_begin (y = x, keeps s = x) and skip_add (y = x + s, or x + s P^T + p), sharing one
 * state: the saved s for skip_add's forward, and dL/ds for skip_begin's backward. The
 * layers F between them are ordinary layers of the network. Builders: engine/build.c. */
#include <math.h>
#include <string.h>

#include "gradflow/residual.h"
#include "core/internal.h"
#include "fast/gemm.h"
#include "core/checks.h"

/* What a block's two layers share. Allocated by gf_layer_skip_begin, freed when neither
 * layer is alive any more. */
typedef struct skip_state {
    int begin_alive;    /* the skip_begin layer holds this state */
    int add_alive;      /* a skip_add layer closes the block */
    size_t n;           /* width of s, the block's input */
    size_t cap_rows;    /* rows s and ds hold */
    size_t rows;        /* rows of the last forward pass */
    gf_real *s;         /* (rows, n) skip_begin's output, copied by its forward */
    gf_real *ds;        /* (rows, n) dL/ds through the skip edge, left by skip_add */
    int have_s;         /* s holds a forward pass */
    int have_ds;        /* ds holds this backward pass's gradient, not yet taken */
    gf_real *proj_init; /* P (m, n) then p (1, m) as drawn, for reset(); NULL: none */
    size_t n_proj;      /* values in proj_init */
} skip_state;

static const gf_layer_ops skip_begin_ops, skip_add_ops;

static void state_unref(skip_state *st)
{
    if (st == NULL || st->begin_alive || st->add_alive)
        return;
    gf_free(st->s);
    gf_free(st->ds);
    gf_free(st->proj_init);
    gf_free(st);
}

/* Size s and ds for `rows` rows; allocates only when they grow. s is a copy, not a view
 * of the engine's boundary after skip_begin: the engine's dL/d(that boundary) counts only
 * the path through F, so a gradient check that perturbs the boundary and re-runs from
 * there must not move s (the skip edge's own input) with it. */
static gf_status reserve_rows(skip_state *st, size_t rows, const char *who)
{
    gf_real *s, *ds;
    if (rows <= st->cap_rows)
        return GF_OK;
    if (st->n > GF_MAX_ELEMENTS / rows)
        return gf_fail(GF_EINVAL, "%s: batch of %zu rows is too large", who, rows);
    s = gf_alloc(rows * st->n * sizeof(gf_real));
    ds = gf_alloc(rows * st->n * sizeof(gf_real));
    if (s == NULL || ds == NULL) {
        gf_free(s);
        gf_free(ds);
        return gf_fail(GF_ENOMEM, "%s: cannot keep a batch of %zu x %zu", who, rows, st->n);
    }
    gf_free(st->s);
    gf_free(st->ds);
    st->s = s;
    st->ds = ds;
    st->cap_rows = rows;
    st->have_s = st->have_ds = 0;
    return GF_OK;
}

static gf_status skip_reserve(gf_layer *l, size_t batch)
{
    return reserve_rows(l->state, batch, l->ops->name);
}

/* ---- skip_begin: y = x, s = x ---------------------------------------------------------- */

/* y (batch, n) = x (batch, n); s (batch, n) = x, kept for skip_add. */
static gf_status begin_forward(gf_layer *l, const gf_tensor *x, gf_tensor *y, int training)
{
    static const char who[] = "skip_begin forward";
    skip_state *st = l->state;
    size_t batch = 0, n;
    gf_status s = gf_check_forward(who, l, x, y, &batch);

    (void)training;
    if (s == GF_OK)
        s = reserve_rows(st, batch, who);
    if (s != GF_OK)
        return s;
    n = batch * l->out;
    memcpy(y->data, x->data, n * sizeof(gf_real));
    memcpy(st->s, x->data, n * sizeof(gf_real));
    st->rows = batch;
    st->have_s = 1;
    st->have_ds = 0;
    return GF_OK;
}

/* Differentiates y = x and s = x:  dx (batch, n) += dy + ds,  ds = dL/ds from skip_add
 * (nothing when no skip_add closes the block). */
static gf_status begin_backward(gf_layer *l, const gf_tensor *x, const gf_tensor *y,
                                const gf_tensor *dy, gf_tensor *dx)
{
    static const char who[] = "skip_begin backward";
    skip_state *st = l->state;
    size_t batch = 0, n;
    gf_status s = gf_check_backward(who, l, x, y, 0, dy, dx, &batch);

    if (s != GF_OK)
        return s;
    if (st->add_alive && !(st->have_ds && st->rows == batch))
        return gf_fail(GF_ESTATE, "%s: its skip_add has not run backward on this batch",
                       who);
    st->have_ds = 0; /* taken: the next backward pass needs a new one */
    if (dx == NULL)
        return GF_OK;
    n = batch * l->out;
    for (size_t k = 0; k < n; k++)
        dx->data[k] += dy->data[k];
    if (st->add_alive)
        for (size_t k = 0; k < n; k++)
            dx->data[k] += st->ds[k];
    return GF_OK;
}

static void begin_destroy(gf_layer *l)
{
    skip_state *st = l->state;
    if (st == NULL)
        return;
    st->begin_alive = 0;
    state_unref(st);
    l->state = NULL;
}

/* ---- skip_add: y = x + s, or y = x + s P^T + p --------------------------------------- */

/* y (batch, m) = x (batch, m) + s (batch, n), or with the projection P (m, n), p (1, m):
 * y = x + s P^T + p. */
static gf_status add_forward(gf_layer *l, const gf_tensor *x, gf_tensor *y, int training)
{
    static const char who[] = "skip_add forward";
    skip_state *st = l->state;
    size_t batch = 0, m = l->out;
    gf_status s = gf_check_input(who, l, x, &batch);

    (void)training;
    if (s == GF_OK)
        s = gf_check_shape(who, "y", y, batch, m);
    if (s == GF_OK && !(st->have_s && st->rows == batch))
        s = gf_fail(GF_ESTATE, "%s: its skip_begin has not run forward on this batch", who);
    if (s != GF_OK)
        return s;
    memcpy(y->data, x->data, batch * m * sizeof(gf_real));
    if (l->weight.rows == 0) {
        for (size_t k = 0; k < batch * m; k++)
            y->data[k] += st->s[k];
        return GF_OK;
    }
    /* y += s P^T, then + p on each row. */
    gf_gemm_raw(GF_NO_TRANS, GF_TRANS, batch, m, st->n, 1, st->s, st->n, l->weight.data,
                st->n, 1, y->data, m);
    for (size_t r = 0; r < batch; r++)
        for (size_t j = 0; j < m; j++)
            y->data[r * m + j] += l->bias.data[j];
    return GF_OK;
}

/* Differentiates y = x + s:  dx += dy,  ds = dy  (left for skip_begin).
 * With the projection, y = x + s P^T + p:  dx += dy,  ds = dy P,  dP (m, n) += dy^T s,
 * dp (1, m) += column sums of dy. */
static gf_status add_backward(gf_layer *l, const gf_tensor *x, const gf_tensor *y,
                              const gf_tensor *dy, gf_tensor *dx)
{
    static const char who[] = "skip_add backward";
    skip_state *st = l->state;
    size_t batch = 0, m = l->out;
    gf_status s = gf_check_backward(who, l, x, y, 0, dy, dx, &batch);

    if (s == GF_OK && !(st->have_s && st->rows == batch))
        s = gf_fail(GF_ESTATE, "%s: no forward pass of this batch to differentiate", who);
    if (s != GF_OK)
        return s;
    if (dx != NULL)
        for (size_t k = 0; k < batch * m; k++)
            dx->data[k] += dy->data[k];
    if (l->weight.rows == 0) {
        memcpy(st->ds, dy->data, batch * m * sizeof(gf_real));
    } else {
        gf_gemm_raw(GF_NO_TRANS, GF_NO_TRANS, batch, st->n, m, 1, dy->data, m,
                    l->weight.data, st->n, 0, st->ds, st->n);
        gf_gemm_raw(GF_TRANS, GF_NO_TRANS, m, st->n, batch, 1, dy->data, m, st->s, st->n,
                    1, l->dweight.data, st->n);
        for (size_t j = 0; j < m; j++) {
            double sum = 0; /* in double: a long batch of float terms would lose digits */
            for (size_t r = 0; r < batch; r++)
                sum += dy->data[r * m + j];
            l->dbias.data[j] += (gf_real)sum;
        }
    }
    st->have_ds = 1;
    return GF_OK;
}

/* P and p as drawn at construction (the network binds parameters at zero). */
static void add_reset(gf_layer *l)
{
    skip_state *st = l->state;
    size_t wn = l->weight.rows * l->weight.cols;
    if (st == NULL || st->proj_init == NULL || l->weight.data == NULL)
        return;
    memcpy(l->weight.data, st->proj_init, wn * sizeof(gf_real));
    memcpy(l->bias.data, st->proj_init + wn, l->out * sizeof(gf_real));
}

static void add_destroy(gf_layer *l)
{
    skip_state *st = l->state;
    if (st == NULL)
        return;
    gf_free(st->proj_init);
    st->proj_init = NULL;
    st->add_alive = 0; /* the block is open again */
    state_unref(st);
    l->state = NULL;
}

static const gf_layer_ops skip_begin_ops = {
    .name = "skip_begin",
    .forward = begin_forward,
    .backward = begin_backward,
    .reserve = skip_reserve,
    .destroy = begin_destroy,
};

static const gf_layer_ops skip_add_ops = {
    .name = "skip_add",
    .forward = add_forward,
    .backward = add_backward,
    .reserve = skip_reserve,
    .reset = add_reset,
    .destroy = add_destroy,
};

/* ---- Construction and inspection ------------------------------------------------------- */

gf_status gf_layer_skip_begin(gf_layer *l, size_t n)
{
    static const char who[] = "gf_layer_skip_begin";
    skip_state *st;
    gf_status s;

    GF_CHECK_NOT_NULL(l, who);
    memset(l, 0, sizeof *l);
    if ((s = gf_check_features(who, "n", n)) != GF_OK)
        return s;
    st = gf_calloc(1, sizeof *st);
    if (st == NULL)
        return gf_fail(GF_ENOMEM, "%s: cannot allocate the block state", who);
    st->begin_alive = 1;
    st->n = n;
    l->ops = &skip_begin_ops;
    l->in = l->out = n;
    l->state = st;
    return GF_OK;
}

gf_status gf_layer_skip_add(gf_layer *l, const gf_layer *begin, size_t in, gf_rng *rng)
{
    static const char who[] = "gf_layer_skip_add";
    skip_state *st;
    size_t n, wn;
    int ok = 1;
    gf_status s;

    GF_CHECK_NOT_NULL(l, who);
    memset(l, 0, sizeof *l);
    if (!gf_skip_is_open(begin))
        return gf_fail(GF_EINVAL, "%s: begin is not an open skip_begin", who);
    if ((s = gf_check_features(who, "in", in)) != GF_OK)
        return s;
    st = begin->state;
    n = st->n;
    if (in != n) {
        wn = gf_mul_size(in, n, &ok);
        if (!ok || wn > GF_MAX_ELEMENTS - in)
            return gf_fail(GF_EINVAL, "%s: a %zu x %zu projection exceeds the limit", who, in,
                           n);
        if (rng == NULL)
            return gf_fail(GF_EINVAL, "%s: the block maps %zu to %zu features: the "
                           "projection needs an rng", who, n, in);
        st->proj_init = gf_calloc(wn + in, sizeof(gf_real));
        if (st->proj_init == NULL)
            return gf_fail(GF_ENOMEM, "%s: cannot allocate the projection", who);
        /* LeCun N(0, 1/n): the skip path keeps the variance of s; p = 0. */
        for (size_t k = 0; k < wn; k++)
            st->proj_init[k] = (gf_real)(gf_rng_normal(rng) / sqrt((double)n));
        st->n_proj = wn + in;
        l->weight = gf_unbound_view(in, n);
        l->dweight = gf_unbound_view(in, n);
        l->bias = gf_unbound_view(1, in);
        l->dbias = gf_unbound_view(1, in);
        l->n_params = wn + in;
    }
    st->add_alive = 1;
    l->ops = &skip_add_ops;
    l->in = l->out = in;
    l->state = st;
    return GF_OK;
}

int gf_layer_is_skip_begin(const gf_layer *l) { return l != NULL && l->ops == &skip_begin_ops; }
int gf_layer_is_skip_add(const gf_layer *l) { return l != NULL && l->ops == &skip_add_ops; }

int gf_skip_is_open(const gf_layer *begin)
{
    return gf_layer_is_skip_begin(begin) && begin->state != NULL &&
           !((const skip_state *)begin->state)->add_alive;
}

int gf_skip_closes(const gf_layer *add, const gf_layer *begin)
{
    return gf_layer_is_skip_add(add) && gf_layer_is_skip_begin(begin) &&
           add->state != NULL && add->state == begin->state;
}

int gf_skip_has_projection(const gf_layer *add)
{
    return gf_layer_is_skip_add(add) && add->weight.rows != 0;
}
