/* src/layers/rnn_inspect.c: what the recurrent layers (layers/rnn.c) show outside a
 * pass: their shape and flags, the gradient norms of the last backward pass through time
 * (per step and per parameter block) as numbers and CSV, and the rnn kind's registry
 * entry with its model-file codec. The cells' forward and backward stay in rnn.c. */
#include <math.h>
#include <string.h>

#include "gradflow/rnn.h"
#include "core/internal.h"
#include "layers/codec.h"
#include "layers/rnn_state.h"

/* ---- Inspection and telemetry ---------------------------------------------------------- */

gf_status gf_rnn_flags(const gf_layer *l, unsigned *flags)
{
    rnn_state *st = NULL;
    gf_status s;
    GF_CHECK_NOT_NULL(flags, "gf_rnn_flags");
    s = gf_rnn_state_of(l, "gf_rnn_flags", &st);
    if (s != GF_OK)
        return s;
    *flags = st->flags;
    return GF_OK;
}

gf_status gf_rnn_shape(const gf_layer *l, gf_rnn_cell *cell, size_t *in, size_t *hidden,
                       size_t *steps)
{
    rnn_state *st = NULL;
    gf_status s = gf_rnn_state_of(l, "gf_rnn_shape", &st);
    if (s != GF_OK)
        return s;
    if (cell != NULL)
        *cell = st->cell;
    if (in != NULL)
        *in = st->in;
    if (hidden != NULL)
        *hidden = st->H;
    if (steps != NULL)
        *steps = st->T;
    return GF_OK;
}

gf_status gf_rnn_time_grad_norms(const gf_layer *l, const double **norms, size_t *steps)
{
    static const char who[] = "gf_rnn_time_grad_norms";
    rnn_state *st = NULL;
    gf_status s;
    GF_CHECK_NOT_NULL(norms, who);
    GF_CHECK_NOT_NULL(steps, who);
    *norms = NULL;
    *steps = 0;
    if ((s = gf_rnn_state_of(l, who, &st)) != GF_OK)
        return s;
    if (!st->have_norms)
        return gf_fail(GF_ESTATE, "%s: no backward pass yet", who);
    *norms = st->norms;
    *steps = st->T;
    return GF_OK;
}

gf_status gf_rnn_param_grad_norms(const gf_layer *l, double *wx, double *wh, double *b)
{
    static const char who[] = "gf_rnn_param_grad_norms";
    rnn_state *st = NULL;
    double sx = 0, sh = 0;
    gf_status s = gf_rnn_state_of(l, who, &st);
    if (s != GF_OK)
        return s;
    if (l->dweight.data == NULL || l->dbias.data == NULL)
        return gf_fail(GF_ESTATE, "%s: gradients are not bound", who);
    for (size_t r = 0; r < l->dweight.rows; r++) {
        const gf_real *row = l->dweight.data + r * l->dweight.cols;
        sx += gf_array_sumsq(row, st->in);
        sh += gf_array_sumsq(row + st->in, st->H);
    }
    if (wx != NULL)
        *wx = sqrt(sx);
    if (wh != NULL)
        *wh = sqrt(sh);
    if (b != NULL)
        *b = gf_array_norm2(l->dbias.data, l->dbias.rows * l->dbias.cols);
    return GF_OK;
}

gf_status gf_rnn_write_time_csv(const gf_layer *l, FILE *stream, uint64_t step, int header)
{
    static const char who[] = "gf_rnn_write_time_csv";
    const double *norms = NULL;
    size_t T = 0;
    gf_status s;
    GF_CHECK_NOT_NULL(stream, who);
    if ((s = gf_rnn_time_grad_norms(l, &norms, &T)) != GF_OK)
        return s;
    if (header && fprintf(stream, "step,t,grad_h_norm\n") < 0)
        return gf_fail(GF_EIO, "%s: write failed", who);
    for (size_t t = 0; t < T; t++)
        if (fprintf(stream, "%llu,%zu,%.9g\n", (unsigned long long)step, t + 1, norms[t]) < 0)
            return gf_fail(GF_EIO, "%s: write failed", who);
    return GF_OK;
}

/* ==== Registry entry: the rnn kind and its model-file codec ==============================
 * Payload: the cell's name (rnn, lstm, gru), steps T and hidden units H (u64), flags
 * (u32). The per-step input width is in / T. */

/* A recurrent layer keeps one double per step whatever its size: its step count may not
 * exceed RNN_STEPS_PER_BYTE times the file's size, so that a crafted file cannot make
 * the loader allocate more than a small multiple of its size. */
#define RNN_STEPS_PER_BYTE 8u

static gf_status rnn_encode(gf_writer *w, const gf_layer *l)
{
    gf_rnn_cell cell = GF_RNN_TANH;
    size_t hidden = 0, steps = 0;
    unsigned flags = 0;
    if (gf_rnn_shape(l, &cell, NULL, &hidden, &steps) != GF_OK ||
        gf_rnn_flags(l, &flags) != GF_OK)
        return gf_fail(GF_EUNSUPPORTED, "model: a recurrent layer without readable state");
    gf_write_name(w, gf_rnn_cell_name(cell));
    gf_write_u64(w, steps);
    gf_write_u64(w, hidden);
    gf_write_u32(w, flags);
    return GF_OK;
}

/* The record's outputs and parameters must be those of the cell it names: checked
 * before anything is allocated. */
static gf_status rnn_check_sizes(const gf_layer_record *rec, const char *name,
                                 gf_rnn_cell cell, size_t steps, size_t hidden, uint32_t flags)
{
    int ok = 1;
    size_t in = rec->in / steps, gates = gf_rnn_gates[cell];
    size_t want_out = flags & GF_RNN_SEQUENCE ? gf_mul_size(steps, hidden, &ok) : hidden;
    size_t want_params = gf_mul_size(gf_mul_size(gates, hidden, &ok), in + hidden + 1, &ok);
    if (!ok || in + hidden + 1 < in || want_out != rec->out || want_params != rec->n_params)
        return gf_fail(GF_EFORMAT, "model: layer %zu (%s, %zu steps of %zu, %zu hidden) "
                       "records %zu outputs and %zu parameters", rec->index, name, steps, in,
                       hidden, rec->out, rec->n_params);
    return GF_OK;
}

static gf_status rnn_decode(gf_layer *l, const gf_layer_record *rec, gf_reader *r)
{
    char name[GF_NAME_MAX + 1];
    gf_rnn_cell cell = GF_RNN_TANH;
    size_t steps = 0, hidden = 0;
    uint32_t flags = 0;
    gf_status st;
    if ((st = gf_read_name(r, name, "rnn cell")) != GF_OK ||
        (st = gf_read_count(r, &steps, "rnn steps")) != GF_OK ||
        (st = gf_read_count(r, &hidden, "rnn hidden units")) != GF_OK ||
        (st = gf_read_u32(r, &flags, "rnn flags")) != GF_OK)
        return st;
    if (gf_rnn_cell_from_name(&cell, name) != GF_OK)
        return gf_fail(GF_EUNSUPPORTED, "model: layer %zu uses the recurrent cell '%s', which "
                       "this build does not know", rec->index, name);
    /* One spelling per cell ("tanh" is an alias): a file loads and saves to itself. */
    if (strcmp(name, gf_rnn_cell_name(cell)) != 0)
        return gf_fail(GF_EFORMAT, "model: layer %zu names its cell '%s', written '%s' in "
                       "model files", rec->index, name, gf_rnn_cell_name(cell));
    if (steps == 0 || hidden == 0 || rec->in % steps != 0 || (flags & ~GF_RNN_SEQUENCE) != 0)
        return gf_fail(GF_EFORMAT, "model: layer %zu (rnn) has %zu steps, %zu hidden units "
                       "and flags 0x%lx over %zu inputs", rec->index, steps, hidden,
                       (unsigned long)flags, rec->in);
    if (steps / RNN_STEPS_PER_BYTE > gf_read_file_size(r))
        return gf_fail(GF_EFORMAT, "model: layer %zu (rnn) has %zu steps, more than a file "
                       "of %zu bytes can describe", rec->index, steps, gf_read_file_size(r));
    if ((st = rnn_check_sizes(rec, name, cell, steps, hidden, flags)) != GF_OK)
        return st;
    return gf_layer_rnn(l, cell, rec->in / steps, hidden, steps, (unsigned)flags);
}

static const gf_layer_codec rnn_codec = {rnn_encode, rnn_decode, NULL};

const gf_layer_kind gf_kind_rnn = {
    .name = "rnn",
    .ops = &gf_rnn_ops,
    .codec = &rnn_codec,
    .traits = GF_KIND_RECURRENT,
};
