/* src/layers/rnn.c: tanh RNN, LSTM and GRU layers unrolled over T steps (formulas and layout in
 * gradflow/rnn.h), with backpropagation through time. Each step is two or three GEMMs
 * on strided views: x_t is read in place from the (batch, T*in) input (row stride
 * T*in), and W_x, W_h are the column blocks of the weight (row stride in+H), so nothing
 * is copied. The forward pass caches every h_t (and the LSTM's c_t, the gate values,
 * tanh(c_t) or the GRU's r h_{t-1}): backward needs all of them, in reverse order.
 * Inspection, telemetry and the model codec are in rnn_inspect.c. Not here: truncated
 * BPTT, bidirectional and stacked cells (stack layers instead). */
#include <string.h>

#include "gradflow/rnn.h"
#include "core/checks.h"
#include "core/internal.h"
#include "fast/gemm.h"
#include "layers/rnn_state.h"



static const char *const cell_names[GF_RNN_CELL_COUNT] = {"rnn", "lstm", "gru"};
const size_t gf_rnn_gates[GF_RNN_CELL_COUNT] = {1, 4, 3};

const char *gf_rnn_cell_name(gf_rnn_cell cell)
{
    return (unsigned)cell < GF_RNN_CELL_COUNT ? cell_names[cell] : NULL;
}

gf_status gf_rnn_cell_from_name(gf_rnn_cell *out, const char *name)
{
    GF_CHECK_NOT_NULL(out, "gf_rnn_cell_from_name");
    GF_CHECK_NOT_NULL(name, "gf_rnn_cell_from_name");
    for (int c = 0; c < GF_RNN_CELL_COUNT; c++)
        if (strcmp(name, cell_names[c]) == 0) {
            *out = (gf_rnn_cell)c;
            return GF_OK;
        }
    if (strcmp(name, "tanh") == 0) {
        *out = GF_RNN_TANH;
        return GF_OK;
    }
    return gf_fail(GF_ENOTFOUND, "gf_rnn_cell_from_name: unknown cell '%.64s' (known: rnn, "
                   "lstm, gru)", name);
}

static inline gf_real sigm(gf_real a) { return (gf_real)(1 / (1 + exp(-(double)a))); }

/* ---- Buffers ------------------------------------------------------------------------ */

static void free_buffers(rnn_state *st)
{
    gf_free(st->hs);
    gf_free(st->cs);
    gf_free(st->gates);
    gf_free(st->aux);
    gf_free(st->da);
    gf_free(st->dh);
    gf_free(st->dh_prev);
    gf_free(st->dc);
    gf_free(st->tmp);
    st->hs = st->cs = st->gates = st->aux = st->da = NULL;
    st->dh = st->dh_prev = st->dc = st->tmp = NULL;
    st->cap = 0;
    st->rows = 0;
}

/* Buffers for batches of up to `batch` rows (kept when large enough). */
static gf_status grow(rnn_state *st, size_t batch, const char *who)
{
    int ok = 1;
    size_t bh = gf_mul_size(batch, st->H, &ok);
    size_t seq = gf_mul_size(st->T + 1, bh, &ok);
    size_t gates = gf_mul_size(gf_mul_size(st->T, bh, &ok), st->G, &ok);

    if (batch <= st->cap)
        return GF_OK;
    if (!ok || seq > GF_MAX_ELEMENTS || gates > GF_MAX_ELEMENTS)
        return gf_fail(GF_EINVAL, "%s: a batch of %zu sequences exceeds the element limit",
                       who, batch);
    free_buffers(st);
    st->hs = gf_alloc(seq * sizeof(gf_real));
    st->gates = gf_alloc(gates * sizeof(gf_real));
    st->da = gf_alloc(bh * st->G * sizeof(gf_real));
    st->dh = gf_alloc(bh * sizeof(gf_real));
    st->dh_prev = gf_alloc(bh * sizeof(gf_real));
    st->tmp = gf_alloc(bh * sizeof(gf_real));
    if (st->cell != GF_RNN_TANH)
        st->aux = gf_alloc(seq * sizeof(gf_real));
    if (st->cell == GF_RNN_LSTM) {
        st->cs = gf_alloc(seq * sizeof(gf_real));
        st->dc = gf_alloc(bh * sizeof(gf_real));
    }
    if (!st->hs || !st->gates || !st->da || !st->dh || !st->dh_prev || !st->tmp ||
        (st->cell != GF_RNN_TANH && !st->aux) ||
        (st->cell == GF_RNN_LSTM && (!st->cs || !st->dc))) {
        free_buffers(st);
        return gf_fail(GF_ENOMEM, "%s: cannot allocate the unrolled buffers for a batch of "
                       "%zu x %zu steps", who, batch, st->T);
    }
    st->cap = batch;
    return GF_OK;
}

static gf_status rnn_reserve(gf_layer *l, size_t batch)
{
    GF_CHECK_NOT_NULL(l, "rnn reserve");
    if (l->state == NULL)
        return gf_fail(GF_ESTATE, "rnn reserve: layer has no state (released?)");
    return batch == 0 ? GF_OK : grow(l->state, batch, "rnn reserve");
}

/* ---- Checks ------------------------------------------------------------------------- */

/* The shared checks (core/checks.h), with x's shape worded in steps and features, and a
 * weight (G H, in + H) and bias (1, G H) as the cell needs; backward: dy and dx (batch,
 * out) and (batch, T in), and the forward pass of this batch cached. */
static gf_status check_layer(const char *who, const gf_layer *l, const gf_tensor *x,
                             int backward, const gf_tensor *dy, const gf_tensor *dx)
{
    const rnn_state *st = l != NULL ? l->state : NULL;
    gf_status s;
    if (st != NULL && x != NULL && (x->cols != l->in || x->rows == 0))
        return gf_fail(GF_ESHAPE, "%s: input is (%zu, %zu), expected (batch >= 1, %zu = %zu "
                       "steps x %zu features)", who, x->rows, x->cols, l->in, st->T, st->in);
    if ((s = gf_check_stateful(who, l, x, "parameters", backward, dy, dx)) != GF_OK)
        return s;
    if (l->weight.rows != st->G * st->H || l->weight.cols != st->in + st->H ||
        l->bias.rows * l->bias.cols != st->G * st->H)
        return gf_fail(GF_ESTATE, "%s: weight must be (%zu, %zu) and bias (1, %zu)", who,
                       st->G * st->H, st->in + st->H, st->G * st->H);
    return backward ? gf_check_cached(who, st->rows, x->rows) : GF_OK;
}

/* ---- Forward ------------------------------------------------------------------------ */

/* One step: gates of step t (batch, G*H) from x_t and h_{t-1}; h_t (and c_t). */
static void step_forward(const gf_layer *l, rnn_state *st, const gf_real *xt, size_t ldx,
                         size_t batch, size_t t)
{
    size_t H = st->H, GH = st->G * H, ldw = st->in + H, bh = batch * H;
    const gf_real *W = l->weight.data, *b = l->bias.data;
    const gf_real *hp = st->hs + t * bh;
    gf_real *h = st->hs + (t + 1) * bh;
    gf_real *a = st->gates + t * batch * GH;

    for (size_t r = 0; r < batch; r++)
        memcpy(a + r * GH, b, GH * sizeof *a);
    /* a += x_t W_x^T: every gate at once. */
    gf_gemm_raw(GF_NO_TRANS, GF_TRANS, batch, GH, st->in, 1, xt, ldx, W, ldw, 1, a, GH);

    if (st->cell == GF_RNN_TANH) {
        gf_gemm_raw(GF_NO_TRANS, GF_TRANS, batch, H, H, 1, hp, H, W + st->in, ldw, 1, a, H);
        for (size_t k = 0; k < bh; k++)
            a[k] = h[k] = (gf_real)tanh((double)a[k]);
    } else if (st->cell == GF_RNN_LSTM) {
        const gf_real *cp = st->cs + t * bh;
        gf_real *c = st->cs + (t + 1) * bh, *tc = st->aux + t * bh;
        gf_gemm_raw(GF_NO_TRANS, GF_TRANS, batch, GH, H, 1, hp, H, W + st->in, ldw, 1, a, GH);
        for (size_t r = 0; r < batch; r++) {
            gf_real *ar = a + r * GH;
            for (size_t j = 0; j < H; j++) {
                gf_real i = sigm(ar[j]), f = sigm(ar[H + j]);
                gf_real g = (gf_real)tanh((double)ar[2 * H + j]), o = sigm(ar[3 * H + j]);
                size_t k = r * H + j;
                ar[j] = i;
                ar[H + j] = f;
                ar[2 * H + j] = g;
                ar[3 * H + j] = o;
                c[k] = f * cp[k] + i * g;
                tc[k] = (gf_real)tanh((double)c[k]);
                h[k] = o * tc[k];
            }
        }
    } else {
        gf_real *rh = st->aux + t * bh;
        /* r and z see h_{t-1}; the candidate n sees r h_{t-1}, known only after r. */
        gf_gemm_raw(GF_NO_TRANS, GF_TRANS, batch, 2 * H, H, 1, hp, H, W + st->in, ldw, 1, a,
                    GH);
        for (size_t r = 0; r < batch; r++) {
            gf_real *ar = a + r * GH;
            for (size_t j = 0; j < 2 * H; j++)
                ar[j] = sigm(ar[j]);
            for (size_t j = 0; j < H; j++)
                rh[r * H + j] = ar[j] * hp[r * H + j];
        }
        gf_gemm_raw(GF_NO_TRANS, GF_TRANS, batch, H, H, 1, rh, H, W + 2 * H * ldw + st->in,
                    ldw, 1, a + 2 * H, GH);
        for (size_t r = 0; r < batch; r++) {
            gf_real *ar = a + r * GH;
            for (size_t j = 0; j < H; j++) {
                size_t k = r * H + j;
                gf_real z = ar[H + j], n = (gf_real)tanh((double)ar[2 * H + j]);
                ar[2 * H + j] = n;
                h[k] = (1 - z) * n + z * hp[k];
            }
        }
    }
}

static gf_status rnn_forward(gf_layer *l, const gf_tensor *x, gf_tensor *y, int training)
{
    static const char who[] = "rnn forward";
    gf_status s = check_layer(who, l, x, 0, NULL, NULL);
    rnn_state *st;
    size_t batch, H, T, bh;

    (void)training;
    if (s == GF_OK)
        s = gf_check_shape(who, "y", y, x->rows, l->out);
    if (s == GF_OK)
        s = grow(l->state, x->rows, who);
    if (s != GF_OK)
        return s;
    st = l->state;
    batch = x->rows;
    H = st->H;
    T = st->T;
    bh = batch * H;
    st->rows = 0;
    memset(st->hs, 0, bh * sizeof *st->hs); /* h_0 = 0 */
    if (st->cs != NULL)
        memset(st->cs, 0, bh * sizeof *st->cs); /* c_0 = 0 */
    for (size_t t = 0; t < T; t++)
        step_forward(l, st, x->data + t * st->in, l->in, batch, t);
    for (size_t r = 0; r < batch; r++) {
        if (st->flags & GF_RNN_SEQUENCE) {
            for (size_t t = 0; t < T; t++)
                memcpy(y->data + r * l->out + t * H, st->hs + (t + 1) * bh + r * H,
                       H * sizeof *y->data);
        } else {
            memcpy(y->data + r * H, st->hs + T * bh + r * H, H * sizeof *y->data);
        }
    }
    st->rows = batch;
    return GF_OK;
}

/* ---- Backward through time -------------------------------------------------------------
 * dh holds dL/dh_t on entry to step t (every path: later steps and the output at t);
 * the step turns it into dL/da_t (da), adds the parameter gradients and dx_t, and leaves
 * dL/dh_{t-1} in dh_prev (for the LSTM, dc carries dL/dc_t across steps likewise). */

/* LSTM: dh (and dc, carried from step t+1) to dL/da of the gates i, f, g, o; dc becomes
 * dL/dc_{t-1}. Differentiates step_forward's lines
 *   c[k] = f * cp[k] + i * g;   tc[k] = tanh(c[k]);   h[k] = o * tc[k];
 * with i, f, o = sigm(a), g = tanh(a): sigm' = s (1 - s), tanh' = 1 - tanh^2. */
static void lstm_gates_backward(rnn_state *st, const gf_real *a, size_t batch, size_t t)
{
    size_t H = st->H, GH = st->G * H, bh = batch * H;
    const gf_real *cp = st->cs + t * bh, *tc = st->aux + t * bh, *dh = st->dh;
    gf_real *dc = st->dc;
    for (size_t r = 0; r < batch; r++) {
        const gf_real *ar = a + r * GH;
        gf_real *dr = st->da + r * GH;
        for (size_t j = 0; j < H; j++) {
            size_t k = r * H + j;
            gf_real i = ar[j], f = ar[H + j], g = ar[2 * H + j], o = ar[3 * H + j];
            /* h = o tanh(c): dc += dh o (1 - tanh(c)^2), do = dh tanh(c). */
            gf_real dck = dc[k] + dh[k] * o * (1 - tc[k] * tc[k]);
            gf_real d_o = dh[k] * tc[k];
            /* c = f c_prev + i g. */
            dr[j] = dck * g * i * (1 - i);
            dr[H + j] = dck * cp[k] * f * (1 - f);
            dr[2 * H + j] = dck * i * (1 - g * g);
            dr[3 * H + j] = d_o * o * (1 - o);
            dc[k] = dck * f; /* dL/dc_{t-1} */
        }
    }
}

/* GRU: dh to dL/da of the gates r, z, n, the direct share of dL/dh_{t-1} (in dh_prev),
 * and dW_h^n (the only weight block that multiplies r h_{t-1}, not h_{t-1}).
 * Differentiates step_forward's lines
 *   rh = r * hp;   a_n += (r h_{t-1}) W_h^n^T;   n = tanh(a_n);   h[k] = (1 - z) n + z hp[k];
 * with r, z = sigm(a). */
static void gru_gates_backward(gf_layer *l, rnn_state *st, const gf_real *a, size_t batch,
                               size_t t)
{
    size_t H = st->H, GH = st->G * H, ldw = st->in + H, bh = batch * H;
    const gf_real *hp = st->hs + t * bh, *rh = st->aux + t * bh, *dh = st->dh;
    gf_real *da = st->da, *dhp = st->dh_prev, *drh = st->tmp;
    for (size_t r = 0; r < batch; r++) {
        const gf_real *ar = a + r * GH;
        gf_real *dr = da + r * GH;
        for (size_t j = 0; j < H; j++) {
            size_t k = r * H + j;
            gf_real z = ar[H + j], n = ar[2 * H + j];
            /* h = (1 - z) n + z h_prev. */
            dr[H + j] = dh[k] * (hp[k] - n) * z * (1 - z);
            dr[2 * H + j] = dh[k] * (1 - z) * (1 - n * n);
            dhp[k] = dh[k] * z;
        }
    }
    /* a_n = ... + W_h^n (r h_prev): d(r h_prev) = da_n W_h^n, then through r (this second
     * loop needs all of da_n, so it cannot join the first). */
    gf_gemm_raw(GF_NO_TRANS, GF_NO_TRANS, batch, H, H, 1, da + 2 * H, GH,
                l->weight.data + 2 * H * ldw + st->in, ldw, 0, drh, H);
    for (size_t r = 0; r < batch; r++) {
        const gf_real *ar = a + r * GH;
        gf_real *dr = da + r * GH;
        for (size_t j = 0; j < H; j++) {
            size_t k = r * H + j;
            gf_real rg = ar[j];
            dr[j] = drh[k] * hp[k] * rg * (1 - rg);
            dhp[k] += drh[k] * rg;
        }
    }
    gf_gemm_raw(GF_TRANS, GF_NO_TRANS, H, H, batch, 1, da + 2 * H, GH, rh, H, 1,
                l->dweight.data + 2 * H * ldw + st->in, ldw);
}

/* Shared by every cell, from da = dL/da_t: differentiates a = b + x_t W_x^T + h_{t-1} W_h^T,
 *   dW_x += da^T x_t,  dW_h += da^T h_{t-1} (GRU: r, z rows only; gru_gates_backward did
 *   n's),  db += column sums of da,  dx_t += da W_x,  dh_{t-1} += da W_h. */
static void weights_backward(gf_layer *l, rnn_state *st, const gf_real *xt, gf_real *dxt,
                             size_t ldx, size_t batch, size_t t)
{
    size_t H = st->H, GH = st->G * H, ldw = st->in + H;
    size_t hrows = st->cell == GF_RNN_GRU ? 2 * H : GH;
    const gf_real *W = l->weight.data, *hp = st->hs + t * batch * H, *da = st->da;
    gf_real *dW = l->dweight.data;

    gf_gemm_raw(GF_TRANS, GF_NO_TRANS, GH, st->in, batch, 1, da, GH, xt, ldx, 1, dW, ldw);
    gf_gemm_raw(GF_TRANS, GF_NO_TRANS, hrows, H, batch, 1, da, GH, hp, H, 1, dW + st->in, ldw);
    for (size_t r = 0; r < batch; r++)
        for (size_t j = 0; j < GH; j++)
            st->db[j] += da[r * GH + j];
    if (dxt != NULL)
        gf_gemm_raw(GF_NO_TRANS, GF_NO_TRANS, batch, st->in, GH, 1, da, GH, W, ldw, 1, dxt,
                    ldx);
    if (t > 0)
        gf_gemm_raw(GF_NO_TRANS, GF_NO_TRANS, batch, H, hrows, 1, da, GH, W + st->in, ldw, 1,
                    st->dh_prev, H);
}

/* One step back: the cell's gates first, then the weights every cell shares. */
static void step_backward(gf_layer *l, rnn_state *st, const gf_real *xt, gf_real *dxt,
                          size_t ldx, size_t batch, size_t t)
{
    size_t bh = batch * st->H;
    const gf_real *h = st->hs + (t + 1) * bh, *a = st->gates + t * batch * st->G * st->H;

    memset(st->dh_prev, 0, bh * sizeof *st->dh_prev);
    if (st->cell == GF_RNN_TANH) {
        /* h = tanh(a): dL/da = dh (1 - h^2). */
        for (size_t k = 0; k < bh; k++)
            st->da[k] = st->dh[k] * (1 - h[k] * h[k]);
    } else if (st->cell == GF_RNN_LSTM) {
        lstm_gates_backward(st, a, batch, t);
    } else {
        gru_gates_backward(l, st, a, batch, t);
    }
    weights_backward(l, st, xt, dxt, ldx, batch, t);
}

/* Its opening (checks, sizes) reads as rnn_forward's on purpose: each pass stands alone. */
static gf_status rnn_backward(gf_layer *l, const gf_tensor *x, const gf_tensor *y,
                              const gf_tensor *dy, gf_tensor *dx)
{
    static const char who[] = "rnn backward";
    gf_status s = check_layer(who, l, x, 1, dy, dx);
    rnn_state *st;
    size_t batch, H, T, bh, GH;
    int seq;

    (void)y;
    if (s != GF_OK)
        return s;
    st = l->state;
    batch = x->rows;
    H = st->H;
    T = st->T;
    bh = batch * H;
    GH = st->G * H;
    seq = (st->flags & GF_RNN_SEQUENCE) != 0;
    memset(st->dh, 0, bh * sizeof *st->dh);
    if (st->dc != NULL)
        memset(st->dc, 0, bh * sizeof *st->dc);
    memset(st->db, 0, GH * sizeof *st->db);
    for (size_t t = T; t-- > 0;) {
        gf_real *swap;
        /* dL/dh_{t+1}: the output's share first (all of it, for the last state). */
        for (size_t r = 0; r < batch; r++) {
            if (seq) {
                const gf_real *g = dy->data + r * l->out + t * H;
                for (size_t j = 0; j < H; j++)
                    st->dh[r * H + j] += g[j];
            } else if (t + 1 == T) {
                memcpy(st->dh + r * H, dy->data + r * H, H * sizeof *st->dh);
            }
        }
        st->norms[t] = gf_array_norm2(st->dh, bh);
        step_backward(l, st, x->data + t * st->in, dx ? dx->data + t * st->in : NULL, l->in,
                      batch, t);
        swap = st->dh;
        st->dh = st->dh_prev;
        st->dh_prev = swap;
    }
    for (size_t j = 0; j < GH; j++)
        l->dbias.data[j] += (gf_real)st->db[j];
    st->have_norms = 1;
    return GF_OK;
}

/* ---- Set-up, init ------------------------------------------------------------------- */

/* Biases 0, the LSTM's forget-gate bias 1 (on top of `base`). */
static void set_biases(gf_layer *l, gf_real base)
{
    rnn_state *st = l->state;
    size_t GH;
    if (st == NULL || l->bias.data == NULL)
        return;
    GH = st->G * st->H;
    for (size_t j = 0; j < GH; j++)
        l->bias.data[j] = base;
    if (st->cell == GF_RNN_LSTM)
        for (size_t j = st->H; j < 2 * st->H; j++)
            l->bias.data[j] = base + 1;
}

static void rnn_reset(gf_layer *l)
{
    if (l != NULL)
        set_biases(l, 0);
}

static void rnn_destroy(gf_layer *l)
{
    rnn_state *st;
    if (l == NULL || (st = l->state) == NULL)
        return;
    free_buffers(st);
    gf_free(st->db);
    gf_free(st->norms);
    gf_free(st);
    l->state = NULL;
}

/* The codec: the registry's entry, gf_kind_rnn, ends layers/rnn_inspect.c. */
/* Its operations (layer.h): a table of the shape every layer kind has, alike by design. */
const gf_layer_ops gf_rnn_ops = {
    .name = "rnn",
    .forward = rnn_forward,
    .backward = rnn_backward,
    .reserve = rnn_reserve,
    .reset = rnn_reset,
    .destroy = rnn_destroy,
};

gf_status gf_layer_rnn(gf_layer *l, gf_rnn_cell cell, size_t in, size_t hidden,
                       size_t steps, unsigned flags)
{
    static const char who[] = "gf_layer_rnn";
    int ok = 1;
    size_t G, rows, cols, nw, lin, lout;
    rnn_state *st;

    GF_CHECK_NOT_NULL(l, who);
    memset(l, 0, sizeof *l);
    if ((unsigned)cell >= GF_RNN_CELL_COUNT)
        return gf_fail(GF_EINVAL, "%s: invalid cell %d", who, (int)cell);
    if (in == 0 || hidden == 0 || steps == 0)
        return gf_fail(GF_EINVAL, "%s: in, hidden and steps must be positive (got %zu, %zu, "
                       "%zu)", who, in, hidden, steps);
    if (flags & ~GF_RNN_SEQUENCE)
        return gf_fail(GF_EINVAL, "%s: unknown flags 0x%x", who, flags & ~GF_RNN_SEQUENCE);
    G = gf_rnn_gates[cell];
    rows = gf_mul_size(G, hidden, &ok);
    cols = in + hidden;
    nw = gf_mul_size(rows, cols, &ok);
    lin = gf_mul_size(steps, in, &ok);
    lout = flags & GF_RNN_SEQUENCE ? gf_mul_size(steps, hidden, &ok) : hidden;
    if (!ok || cols < in || nw > GF_MAX_ELEMENTS - rows || lin > GF_MAX_ELEMENTS ||
        lout > GF_MAX_ELEMENTS)
        return gf_fail(GF_EINVAL, "%s: %zu steps of %zu features with %zu hidden units "
                       "exceed the element limit", who, steps, in, hidden);
    st = gf_calloc(1, sizeof *st);
    if (st != NULL) {
        st->db = gf_calloc(rows, sizeof(double));
        st->norms = gf_calloc(steps, sizeof(double));
    }
    if (st == NULL || st->db == NULL || st->norms == NULL) {
        if (st != NULL) {
            gf_free(st->db);
            gf_free(st->norms);
            gf_free(st);
        }
        return gf_fail(GF_ENOMEM, "%s: cannot allocate the layer state", who);
    }
    st->cell = cell;
    st->in = in;
    st->H = hidden;
    st->T = steps;
    st->G = G;
    st->flags = flags;
    l->ops = &gf_rnn_ops;
    l->in = lin;
    l->out = lout;
    l->weight = l->dweight = (gf_tensor){.data = NULL, .rows = rows, .cols = cols};
    l->bias = l->dbias = (gf_tensor){.data = NULL, .rows = 1, .cols = rows};
    l->n_params = nw + rows;
    l->is_parametric = 0;
    l->state = st;
    return GF_OK;
}

gf_status gf_rnn_state_of(const gf_layer *l, const char *who, rnn_state **out)
{
    GF_CHECK_NOT_NULL(l, who);
    if (l->ops != &gf_rnn_ops)
        return gf_fail(GF_EINVAL, "%s: layer is %s, not a recurrent layer", who,
                       l->ops != NULL ? l->ops->name : "not set up");
    if (l->state == NULL)
        return gf_fail(GF_ESTATE, "%s: layer has no state (released?)", who);
    *out = l->state;
    return GF_OK;
}

gf_status gf_rnn_init(gf_layer *l, const gf_init *init, gf_rng *rng)
{
    static const char who[] = "gf_rnn_init";
    rnn_state *st = NULL;
    gf_real *tmp;
    size_t H, ldw;
    gf_status s = gf_rnn_state_of(l, who, &st);

    if (s != GF_OK)
        return s;
    if (l->weight.data == NULL || l->bias.data == NULL)
        return gf_fail(GF_ESTATE, "%s: parameters are not bound (add the layer to a network "
                       "first)", who);
    if (init != NULL) {
        if ((s = gf_init_validate(init)) != GF_OK)
            return s;
        if (init->kind == GF_INIT_LSUV)
            return gf_fail(GF_EUNSUPPORTED, "%s: LSUV is not defined for recurrent layers", who);
    }
    if (rng == NULL && (init == NULL || (init->kind != GF_INIT_ZEROS &&
                                         init->kind != GF_INIT_CONSTANT)))
        return gf_fail(GF_EINVAL, "%s: rng is NULL", who);
    H = st->H;
    ldw = st->in + H;
    if (init == NULL) {
        double k = 1 / sqrt((double)H);
        for (size_t i = 0; i < l->weight.rows * l->weight.cols; i++)
            l->weight.data[i] = (gf_real)(k * (2 * gf_rng_uniform(rng) - 1));
        set_biases(l, 0);
        return GF_OK;
    }
    /* Each gate's W_x^g (H, in) and W_h^g (H, H) as a matrix of its own, so fans and
     * orthogonality are those of the block, not of the concatenated weight. */
    tmp = gf_alloc(H * (st->in > H ? st->in : H) * sizeof *tmp);
    if (tmp == NULL)
        return gf_fail(GF_ENOMEM, "%s: out of memory", who);
    for (size_t g = 0; g < st->G && s == GF_OK; g++) {
        for (int part = 0; part < 2 && s == GF_OK; part++) {
            size_t cols = part == 0 ? st->in : H, off = part == 0 ? 0 : st->in;
            gf_tensor w = gf_tensor_view(tmp, H, cols);
            s = gf_init_tensor(&w, init, rng);
            for (size_t r = 0; r < H && s == GF_OK; r++)
                memcpy(l->weight.data + (g * H + r) * ldw + off, tmp + r * cols,
                       cols * sizeof *tmp);
        }
    }
    gf_free(tmp);
    if (s == GF_OK)
        set_biases(l, (gf_real)init->bias);
    return s;
}
