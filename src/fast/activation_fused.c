/* src/fast/activation_fused.c: the fast variant of the activation layer (see
 * activation_fused.h). Its reference is src/layers/activation.c: forward y = f(x),
 * backward dx += dy f'(x), record() the derivative statistics in a separate pass;
 * tests/test_act.c checks that both give the same dx and statistics.
 *
 * Here f' is never stored whole: the backward pass evaluates it chunk by chunk into a
 * small buffer in the layer's state (in L1 cache), applies the chain rule, and, when the
 * pass is recorded (l->recording), takes the derivative statistics from the same chunk.
 * So the layer keeps no (batch, n) array and its telemetry costs no pass over memory.
 * record() outside such a pass evaluates f' again, through the same chunks, so both
 * give the same figures bit for bit. A row without array loops (act.h) is evaluated
 * through its scalar f and df, into the same chunks. */
#include <string.h>

#include "core/internal.h"
#include "fast/act_loops.h"
#include "fast/activation_fused.h"
#include "fast/pool.h"
#include "fast/simd.h"
#include "fast/stats.h"
#include "gradflow/telemetry.h"
#include "core/checks.h"

/* ACT_CHUNK values of f' are evaluated at a time: 8 KiB of floats, in L1 with the chunks
 * of dy and dx it meets. Each chunk's statistics end in a fixed reduction, which 1024
 * values amortised badly (measured: 16 values/ns at 1024, 20 at 2048, 22 at 32768). */
enum { ACT_CHUNK = 2048 };

/* Derivative statistics being gathered: sum |f'| (in fixed lanes per chunk, added in a
 * fixed order by gf_stats_abs, so the figures do not depend on the CPU), the entries
 * with |f'| below the saturation threshold, and per unit (column) the sum of |f'| in
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
    void *scratch;        /* the backward pass on threads: its parts' figures */
    size_t scratch_size;  /* bytes */
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

/* c[j] += |d[j]|: the per-unit sums. */
GF_SIMD_BODY void add_abs_loop(gf_real *restrict c, const gf_real *restrict d, size_t n)
{
    for (size_t j = 0; j < n; j++)
        c[j] += d[j] < 0 ? -d[j] : d[j];
}
GF_SIMD_VOID(static, add_abs, (gf_real *restrict c, const gf_real *restrict d, size_t n),
             (c, d, n))

/* Accumulate a chunk of f' values d[0..m), which start at column col0 of an n-column
 * array (a chunk is either whole rows or part of one row); returns the chunk's sum of
 * |f'|, which the caller adds to acc->abs_sum in chunk order. */
static double acc_chunk(deriv_acc *acc, gf_real *col_abs, const gf_real *d, size_t m,
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
    acc->sat += sat;
    acc->total += m;
    return s;
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

/* ---- The forward pass on threads ------------------------------------------------------
 * y = f(x) element by element, so any split gives the same bits; the parts start at
 * multiples of FWD_ALIGN values, so that each part's vector loop meets its values at the
 * same alignment as a single pass does. FWD_MIN_PART values per part at least: tanh's
 * forward pass on 2 threads took 0.9-1.0 times as long as on 1 at 256 Ki and 512 Ki
 * values, 0.55-0.65 times at 1 and 2 Mi (docs/performance.md, "Threads"). */
enum { FWD_ALIGN = 1024 };
#define FWD_MIN_PART (512.0 * 1024)

typedef struct forward_job {
    const gf_activation *act;
    gf_real *y;
    const gf_real *x;
    size_t n;
    gf_real param;
} forward_job;

static void forward_part(void *arg, size_t part, size_t parts)
{
    const forward_job *j = arg;
    size_t blocks = (j->n + FWD_ALIGN - 1) / FWD_ALIGN;
    size_t lo = blocks * part / parts * FWD_ALIGN, hi = blocks * (part + 1) / parts * FWD_ALIGN;
    if (hi > j->n)
        hi = j->n;
    if (lo < hi)
        gf_act_forward(j->act, j->y + lo, j->x + lo, hi - lo, j->param);
}

/* y = f(x), element-wise: the row's array loop, else its scalar f. */
static gf_status fused_forward(gf_layer *l, const gf_tensor *x, gf_tensor *y, int training)
{
    static const char who[] = "activation forward";
    const gf_activation *a = l != NULL ? l->act : NULL;
    size_t batch = 0;
    forward_job job;
    gf_status s = gf_check_forward(who, l, x, y, &batch);

    (void)training;
    if (s == GF_OK && (a == NULL || l->state == NULL))
        s = gf_fail(GF_ESTATE, "%s: layer has no activation or state (released?)", who);
    if (s != GF_OK)
        return s;
    ((act_state *)l->state)->acc_rows = 0;
    job = (forward_job){a, y->data, x->data, batch * l->out, l->act_param};
    gf_pool_run(forward_part, &job, gf_pool_parts((double)job.n, FWD_MIN_PART));
    return GF_OK;
}

/* d[0..m) = f'(x[0..m)): the row's array loop, else its scalar df. */
static void deriv_chunk(const gf_layer *l, gf_real *d, const gf_real *x, const gf_real *y,
                        size_t m)
{
    gf_act_deriv(l->act, d, x, y, m, l->act_param);
}

/* Chunks [e, end) of the (batch, n) x and y: d = f' into the chunk buffer, dx += dy * d
 * when dx is given (dx = 0 + dy * d when l->overwrite), in the same loop as f'
 * (act_loops.h), and when acc is given the derivative statistics of each chunk into it:
 * each chunk's sum of |f'| added to acc->abs_sum, or written to the next slot of sums. */
static void chunks_between(const gf_layer *l, gf_real *chunk, const gf_tensor *x,
                           const gf_tensor *y, const gf_tensor *dy, gf_tensor *dx, size_t e,
                           size_t end, deriv_acc *acc, gf_real *col_abs, double *sums)
{
    size_t n = l->out, total = x->rows * n;
    for (size_t m; e < end; e += m) {
        m = chunk_len(e, total, n);
        if (dx != NULL)
            gf_act_deriv_chain(l->act, chunk, dx->data + e, dy->data + e, x->data + e,
                               y->data + e, m, l->act_param, !l->overwrite);
        else
            deriv_chunk(l, chunk, x->data + e, y->data + e, m);
        if (acc == NULL)
            continue;
        double s = acc_chunk(acc, col_abs, chunk, m, e % n, n);
        if (sums != NULL)
            *sums++ = s;
        else
            acc->abs_sum += s;
    }
}

/* ---- The backward pass on threads -----------------------------------------------------
 * dx is element-wise, so any split gives the same bits; the statistics are kept so too.
 * A part takes whole units: the rows of one chunk (a chunk holds whole rows when a row
 * fits) or one row (whose chunks are parts of it), so that every chunk is the one the
 * single pass meets. Each part counts into its own accumulator and per-unit sums, and
 * writes each chunk's sum of |f'| to its slot; the slots are added in chunk order, as
 * the single pass adds them. The per-unit sums only say whether a unit's f' was 0 on
 * every row, which no order of adding changes. CHAIN_MIN_PART values per part at least,
 * as for the forward pass (docs/performance.md, "Threads"). */
#define CHAIN_MIN_PART (512.0 * 1024)

typedef struct chain_job {
    const gf_layer *l;
    const gf_tensor *x, *y, *dy;
    gf_tensor *dx;
    size_t unit_rows, unit_chunks; /* rows and chunks of a unit */
    deriv_acc *accs;               /* (parts) */
    gf_real *cols;                 /* (parts, n) */
    double *sums;                  /* (chunks); NULL: no statistics */
} chain_job;

static void chain_part(void *arg, size_t part, size_t parts)
{
    const chain_job *j = arg;
    gf_real chunk[ACT_CHUNK];
    size_t n = j->l->out, rows = j->x->rows, units = (rows + j->unit_rows - 1) / j->unit_rows;
    size_t u0 = units * part / parts, u1 = units * (part + 1) / parts;
    size_t r1 = u1 * j->unit_rows < rows ? u1 * j->unit_rows : rows;
    gf_real *cols = j->cols + part * n;
    deriv_acc *acc = j->sums != NULL ? &j->accs[part] : NULL;
    if (acc != NULL)
        acc_start(acc, cols, n, j->l);
    chunks_between(j->l, chunk, j->x, j->y, j->dy, j->dx, u0 * j->unit_rows * n, r1 * n, acc,
                   cols, acc != NULL ? j->sums + u0 * j->unit_chunks : NULL);
}

/* The scratch of a job in `parts` parts, grown as needed: NULL when out of memory. */
static void *chain_scratch(act_state *st, size_t parts, size_t n, size_t chunks)
{
    size_t size = parts * sizeof(deriv_acc) + chunks * sizeof(double) +
                  parts * n * sizeof(gf_real);
    if (size > st->scratch_size) {
        void *p = gf_realloc(st->scratch, size);
        if (p == NULL)
            return NULL;
        st->scratch = p, st->scratch_size = size;
    }
    return st->scratch;
}

/* deriv_chunks on `parts` threads; 0 when there was no memory for it (nothing done). */
static int chain_on_threads(const gf_layer *l, const gf_tensor *x, const gf_tensor *y,
                            const gf_tensor *dy, gf_tensor *dx, int stats, size_t parts)
{
    act_state *st = l->state;
    size_t n = l->out, rows = x->rows;
    chain_job j = {l, x, y, dy, dx, n <= ACT_CHUNK ? ACT_CHUNK / n : 1,
                   n <= ACT_CHUNK ? 1 : (n + ACT_CHUNK - 1) / ACT_CHUNK, NULL, NULL, NULL};
    size_t units = (rows + j.unit_rows - 1) / j.unit_rows, chunks = units * j.unit_chunks;
    char *mem;
    parts = parts < units ? parts : units;
    if ((mem = chain_scratch(st, parts, n, chunks)) == NULL)
        return 0;
    j.accs = (deriv_acc *)mem;
    j.sums = stats ? (double *)(mem + parts * sizeof(deriv_acc)) : NULL;
    j.cols = (gf_real *)(mem + parts * sizeof(deriv_acc) + chunks * sizeof(double));
    gf_pool_run(chain_part, &j, parts);
    if (!stats)
        return 1;
    acc_start(&st->acc, st->col_abs, n, l);
    for (size_t c = 0; c < chunks; c++)
        st->acc.abs_sum += j.sums[c];
    for (size_t p = 0; p < parts; p++) {
        st->acc.sat += j.accs[p].sat;
        st->acc.total += j.accs[p].total;
        st->acc.none_dead |= j.accs[p].none_dead;
        for (size_t k = 0; k < n && !st->acc.none_dead; k++)
            st->col_abs[k] += j.cols[p * n + k];
    }
    return 1;
}

/* Evaluate f' over the (batch, n) x and y chunk by chunk: dx += dy * f' when dx is
 * given, and the derivative statistics from the same chunks when stats is set; on
 * threads when the arrays are large. The one loop of both the backward pass and
 * record(), so they give the same figures. */
static void deriv_chunks(const gf_layer *l, const gf_tensor *x, const gf_tensor *y,
                         const gf_tensor *dy, gf_tensor *dx, int stats)
{
    act_state *st = l->state;
    size_t n = l->out, total = x->rows * n;
    size_t parts = gf_pool_parts((double)total, CHAIN_MIN_PART);
    st->acc_rows = 0;
    if (parts == 1 || !chain_on_threads(l, x, y, dy, dx, stats, parts)) {
        if (stats)
            acc_start(&st->acc, st->col_abs, n, l);
        chunks_between(l, st->chunk, x, y, dy, dx, 0, total, stats ? &st->acc : NULL,
                       st->col_abs, NULL);
    }
    if (stats)
        st->acc_rows = x->rows;
}

/* dx += dy * f'(x); the statistics too when the pass is recorded. */
static gf_status fused_backward(gf_layer *l, const gf_tensor *x, const gf_tensor *y,
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
static void fused_record(const gf_layer *l, const gf_tensor *x, const gf_tensor *y,
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

static void fused_destroy(gf_layer *l)
{
    act_state *st;
    if (l == NULL || (st = l->state) == NULL)
        return;
    gf_free(st->col_abs);
    gf_free(st->scratch);
    gf_free(st);
    l->state = NULL;
}

/* The fast twin of gf_activation_reference_ops (layers/activation.c): same name, same
 * contract, the fused chunk loops instead of the plain ones. */
/* Its operations (layer.h): a table of the shape every layer kind has, alike by design. */
const gf_layer_ops gf_activation_fused_ops = {
    .name = "activation",
    .forward = fused_forward,
    .backward = fused_backward,
    .record = fused_record,
    .destroy = fused_destroy,
};

gf_status gf_activation_fused_attach(gf_layer *l)
{
    act_state *st = gf_calloc(1, sizeof *st);
    if (st != NULL && (st->col_abs = gf_calloc(l->out, sizeof *st->col_abs)) == NULL) {
        gf_free(st);
        st = NULL;
    }
    if (st == NULL)
        return gf_fail(GF_ENOMEM, "gf_layer_activation: cannot allocate the layer state");
    l->ops = &gf_activation_fused_ops;
    l->state = st;
    return GF_OK;
}
