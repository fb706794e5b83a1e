/* src/core/tensor.c: tensor allocation, element-wise operations, reductions and norms, all
 * plain loops, and gf_gemm's checks. The GEMM itself and the vectorised sum of squares
 * behind the norms are in src/fast/ (which calls nothing here). Every public function
 * checks shapes before touching memory. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/internal.h"
#include "core/tensor_block.h"
#include "fast/gemm.h"
#include "fast/stats.h"

/* ---- Allocation ------------------------------------------------------------------ */

static gf_status check_dims(const char *who, size_t rows, size_t cols)
{
    int ok = 1;
    size_t n = gf_mul_size(rows, cols, &ok);
    if (rows == 0 || cols == 0)
        return gf_fail(GF_EINVAL, "%s: zero size (%zu x %zu)", who, rows, cols);
    if (!ok || n > GF_MAX_ELEMENTS)
        return gf_fail(GF_EINVAL, "%s: %zu x %zu is too large", who, rows, cols);
    return GF_OK;
}

gf_status gf_tensor_new(gf_tensor **out, size_t rows, size_t cols)
{
    gf_status st;
    gf_tensor *t;
    GF_CHECK_NOT_NULL(out, "gf_tensor_new");
    *out = NULL;
    st = check_dims("gf_tensor_new", rows, cols);
    if (st != GF_OK)
        return st;
    /* One allocation: the block (public part, capacity), then the data from the next
     * 64-byte boundary on, for SIMD loads (the allocator promises 16 bytes only). */
    gf_tensor_block *b =
        gf_alloc(sizeof(gf_tensor_block) + GF_ALIGN_PAD + rows * cols * sizeof(gf_real));
    if (b == NULL)
        return gf_fail(GF_ENOMEM, "gf_tensor_new: cannot allocate %zu x %zu", rows, cols);
    t = &b->t;
    t->data = gf_align64(b + 1);
    t->rows = rows;
    t->cols = cols;
    t->owner = t;
    b->cap = rows * cols;
    b->grown = NULL;
    memset(t->data, 0, rows * cols * sizeof(gf_real));
    *out = t;
    return GF_OK;
}

gf_status gf_tensor_from_array(gf_tensor **out, const gf_real *values, size_t rows, size_t cols)
{
    gf_status st;
    GF_CHECK_NOT_NULL(out, "gf_tensor_from_array");
    *out = NULL;
    GF_CHECK_NOT_NULL(values, "gf_tensor_from_array");
    st = gf_tensor_new(out, rows, cols);
    if (st != GF_OK)
        return st;
    memcpy((*out)->data, values, rows * cols * sizeof(gf_real));
    return GF_OK;
}

gf_status gf_tensor_clone(gf_tensor **out, const gf_tensor *src)
{
    GF_CHECK_NOT_NULL(out, "gf_tensor_clone");
    *out = NULL;
    GF_CHECK_TENSOR(src, "gf_tensor_clone");
    return gf_tensor_from_array(out, src->data, src->rows, src->cols);
}

void gf_tensor_free(gf_tensor *t)
{
    if (t == NULL || !gf_tensor_is_block(t))
        return;
    gf_tensor_block *b = gf_tensor_block_of(t);
    /* Data that outgrew the first allocation lives in a block of its own. */
    gf_free_reals(b->grown);
    gf_free(b);
}

gf_tensor gf_tensor_view(gf_real *data, size_t rows, size_t cols)
{
    gf_tensor t = {.data = data, .rows = rows, .cols = cols};
    return t;
}

gf_status gf_tensor_resize_rows(gf_tensor *t, size_t rows)
{
    gf_status st;
    GF_CHECK_NOT_NULL(t, "gf_tensor_resize_rows");
    st = check_dims("gf_tensor_resize_rows", rows, t->cols);
    if (st != GF_OK)
        return st;
    if (!gf_tensor_is_block(t)) {
        if (rows > t->rows)
            return gf_fail(GF_EINVAL, "gf_tensor_resize_rows: a view cannot grow (%zu rows "
                           "wanted, it has %zu)", rows, t->rows);
        t->rows = rows;
        return GF_OK;
    }
    gf_tensor_block *b = gf_tensor_block_of(t);
    if (rows * t->cols <= b->cap) {
        t->rows = rows;
        return GF_OK;
    }
    gf_real *data = gf_alloc_reals(rows * t->cols);
    if (data == NULL)
        return gf_fail(GF_ENOMEM, "gf_tensor_resize_rows: cannot allocate %zu x %zu", rows,
                       t->cols);
    gf_free_reals(b->grown);
    b->grown = data;
    t->data = data;
    t->rows = rows;
    b->cap = rows * t->cols;
    return GF_OK;
}

size_t gf_tensor_size(const gf_tensor *t) { return t == NULL ? 0 : t->rows * t->cols; }

static gf_status same_shape(const char *who, const gf_tensor *a, const gf_tensor *b)
{
    if (a->rows != b->rows || a->cols != b->cols)
        return gf_fail(GF_ESHAPE, "%s: shapes differ (%zu x %zu vs %zu x %zu)", who, a->rows,
                       a->cols, b->rows, b->cols);
    return GF_OK;
}

gf_status gf_tensor_copy(gf_tensor *dst, const gf_tensor *src)
{
    gf_status st;
    GF_CHECK_TENSOR(dst, "gf_tensor_copy");
    GF_CHECK_TENSOR(src, "gf_tensor_copy");
    st = same_shape("gf_tensor_copy", dst, src);
    if (st != GF_OK)
        return st;
    /* Empty views may have NULL data: memmove(NULL, ..., 0) is still undefined. */
    if (dst->data != src->data && gf_tensor_size(src) != 0)
        memmove(dst->data, src->data, gf_tensor_size(src) * sizeof(gf_real));
    return GF_OK;
}

gf_status gf_tensor_fill(gf_tensor *t, gf_real value)
{
    GF_CHECK_TENSOR(t, "gf_tensor_fill");
    size_t n = gf_tensor_size(t);
    for (size_t i = 0; i < n; i++)
        t->data[i] = value;
    return GF_OK;
}

gf_status gf_tensor_zero(gf_tensor *t)
{
    GF_CHECK_TENSOR(t, "gf_tensor_zero");
    if (gf_tensor_size(t) != 0) /* an empty view may have NULL data */
        memset(t->data, 0, gf_tensor_size(t) * sizeof(gf_real));
    return GF_OK;
}

/* ---- GEMM: the checks; the product itself is src/fast/gemm.c ------------------------ */

/* Whether the storage of two tensors overlaps (an empty tensor overlaps nothing).
 * Compared as integers: relational operators on unrelated pointers are undefined. */
static int overlaps(const gf_tensor *x, const gf_tensor *y)
{
    size_t nx = gf_tensor_size(x), ny = gf_tensor_size(y);
    uintptr_t px = (uintptr_t)x->data, py = (uintptr_t)y->data;
    if (nx == 0 || ny == 0)
        return 0;
    return px < py + ny * sizeof(gf_real) && py < px + nx * sizeof(gf_real);
}

gf_status gf_gemm(gf_tensor *c, const gf_tensor *a, const gf_tensor *b, gf_trans trans_a,
                  gf_trans trans_b, gf_real alpha, gf_real beta)
{
    size_t m, k, kb, n;
    GF_CHECK_TENSOR(a, "gf_gemm");
    GF_CHECK_TENSOR(b, "gf_gemm");
    GF_CHECK_TENSOR(c, "gf_gemm");
    if ((unsigned)trans_a > GF_TRANS || (unsigned)trans_b > GF_TRANS)
        return gf_fail(GF_EINVAL, "gf_gemm: transpose flag must be GF_NO_TRANS or GF_TRANS");
    m = trans_a ? a->cols : a->rows;
    k = trans_a ? a->rows : a->cols;
    kb = trans_b ? b->cols : b->rows;
    n = trans_b ? b->rows : b->cols;
    if (k != kb)
        return gf_fail(GF_ESHAPE, "gf_gemm: op(A) is %zu x %zu but op(B) is %zu x %zu", m, k, kb,
                       n);
    if (c->rows != m || c->cols != n)
        return gf_fail(GF_ESHAPE, "gf_gemm: C is %zu x %zu, op(A) op(B) is %zu x %zu", c->rows,
                       c->cols, m, n);
    if (overlaps(c, a) || overlaps(c, b))
        return gf_fail(GF_EINVAL, "gf_gemm: C must not alias A or B");
    gf_gemm_raw(trans_a, trans_b, m, n, k, alpha, a->data, a->cols, b->data, b->cols, beta,
                c->data, c->cols);
    return GF_OK;
}

/* ---- Element-wise ---------------------------------------------------------------- */

static gf_status check_binary(const char *who, gf_tensor *out, const gf_tensor *a,
                              const gf_tensor *b)
{
    gf_status st;
    GF_CHECK_TENSOR(out, who);
    GF_CHECK_TENSOR(a, who);
    GF_CHECK_TENSOR(b, who);
    st = same_shape(who, a, b);
    if (st == GF_OK)
        st = same_shape(who, out, a);
    return st;
}

/* gf_tensor_add, _sub, _mul and _div are alike on purpose: one plain loop each, the
 * operator the only line that differs (a shared loop over an operator code would hide it). */
gf_status gf_tensor_add(gf_tensor *out, const gf_tensor *a, const gf_tensor *b)
{
    gf_status st = check_binary("gf_tensor_add", out, a, b);
    if (st != GF_OK)
        return st;
    size_t n = gf_tensor_size(a);
    for (size_t i = 0; i < n; i++)
        out->data[i] = a->data[i] + b->data[i];
    return GF_OK;
}

gf_status gf_tensor_sub(gf_tensor *out, const gf_tensor *a, const gf_tensor *b)
{
    gf_status st = check_binary("gf_tensor_sub", out, a, b);
    if (st != GF_OK)
        return st;
    size_t n = gf_tensor_size(a);
    for (size_t i = 0; i < n; i++)
        out->data[i] = a->data[i] - b->data[i];
    return GF_OK;
}

gf_status gf_tensor_mul(gf_tensor *out, const gf_tensor *a, const gf_tensor *b)
{
    gf_status st = check_binary("gf_tensor_mul", out, a, b);
    if (st != GF_OK)
        return st;
    size_t n = gf_tensor_size(a);
    for (size_t i = 0; i < n; i++)
        out->data[i] = a->data[i] * b->data[i];
    return GF_OK;
}

gf_status gf_tensor_scale_inplace(gf_tensor *t, gf_real alpha)
{
    GF_CHECK_TENSOR(t, "gf_tensor_scale_inplace");
    size_t n = gf_tensor_size(t);
    for (size_t i = 0; i < n; i++)
        t->data[i] *= alpha;
    return GF_OK;
}

gf_status gf_tensor_axpy(gf_tensor *y, const gf_tensor *x, gf_real alpha)
{
    gf_status st;
    GF_CHECK_TENSOR(y, "gf_tensor_axpy");
    GF_CHECK_TENSOR(x, "gf_tensor_axpy");
    st = same_shape("gf_tensor_axpy", y, x);
    if (st != GF_OK)
        return st;
    size_t n = gf_tensor_size(x);
    for (size_t i = 0; i < n; i++)
        y->data[i] += alpha * x->data[i];
    return GF_OK;
}

gf_status gf_tensor_add_row_inplace(gf_tensor *t, const gf_tensor *row)
{
    GF_CHECK_TENSOR(t, "gf_tensor_add_row_inplace");
    GF_CHECK_TENSOR(row, "gf_tensor_add_row_inplace");
    if (row->rows != 1 || row->cols != t->cols)
        return gf_fail(GF_ESHAPE, "gf_tensor_add_row_inplace: row is %zu x %zu, expected 1 x %zu",
                       row->rows, row->cols, t->cols);
    for (size_t r = 0; r < t->rows; r++) {
        gf_real *dst = t->data + r * t->cols;
        for (size_t c = 0; c < t->cols; c++)
            dst[c] += row->data[c];
    }
    return GF_OK;
}

/* ---- Reductions ------------------------------------------------------------------ */

gf_status gf_tensor_sum_rows(gf_tensor *out, const gf_tensor *a, gf_real beta)
{
    GF_CHECK_TENSOR(out, "gf_tensor_sum_rows");
    GF_CHECK_TENSOR(a, "gf_tensor_sum_rows");
    if (out->rows != 1 || out->cols != a->cols)
        return gf_fail(GF_ESHAPE, "gf_tensor_sum_rows: out is %zu x %zu, expected 1 x %zu",
                       out->rows, out->cols, a->cols);
    /* Column sums accumulated in double (a float running sum stops growing once it is
     * 2^24 times larger than the terms), a stack chunk of columns at a time so the rows
     * are still read in order. */
    enum { CHUNK = 64 };
    for (size_t c0 = 0; c0 < a->cols; c0 += CHUNK) {
        size_t w = a->cols - c0 < CHUNK ? a->cols - c0 : CHUNK;
        double acc[CHUNK];
        for (size_t c = 0; c < w; c++)
            acc[c] = beta == 0 ? 0 : beta * (double)out->data[c0 + c];
        for (size_t r = 0; r < a->rows; r++) {
            const gf_real *src = a->data + r * a->cols + c0;
            for (size_t c = 0; c < w; c++)
                acc[c] += src[c];
        }
        for (size_t c = 0; c < w; c++)
            out->data[c0 + c] = (gf_real)acc[c];
    }
    return GF_OK;
}

gf_status gf_tensor_sum_cols(gf_tensor *out, const gf_tensor *a, gf_real beta)
{
    GF_CHECK_TENSOR(out, "gf_tensor_sum_cols");
    GF_CHECK_TENSOR(a, "gf_tensor_sum_cols");
    if (out->rows != a->rows || out->cols != 1)
        return gf_fail(GF_ESHAPE, "gf_tensor_sum_cols: out is %zu x %zu, expected %zu x 1",
                       out->rows, out->cols, a->rows);
    for (size_t r = 0; r < a->rows; r++) {
        const gf_real *src = a->data + r * a->cols;
        double s = 0;
        for (size_t c = 0; c < a->cols; c++)
            s += src[c];
        out->data[r] = (gf_real)((beta == 0 ? 0 : beta * out->data[r]) + s);
    }
    return GF_OK;
}

double gf_tensor_sum(const gf_tensor *t)
{
    double s = 0;
    if (t == NULL || t->data == NULL || gf_tensor_size(t) == 0)
        return NAN;
    for (size_t i = 0, n = gf_tensor_size(t); i < n; i++)
        s += t->data[i];
    return s;
}

double gf_tensor_dot(const gf_tensor *a, const gf_tensor *b)
{
    double s = 0;
    if (a == NULL || b == NULL || a->data == NULL || b->data == NULL || a->rows != b->rows ||
        a->cols != b->cols)
        return NAN;
    for (size_t i = 0, n = gf_tensor_size(a); i < n; i++)
        s += (double)a->data[i] * b->data[i];
    return s;
}

/* ---- Norms ----------------------------------------------------------------------- */

/* The telemetry's sum of squares (src/fast/stats.c: its vectorised loop, or the plain
 * one in the reference build): norms are most of the telemetry's cost. */
double gf_array_sumsq(const gf_real *x, size_t n)
{
    if (x == NULL)
        return n == 0 ? 0.0 : NAN; /* an empty block (a network without parameters) */
    return gf_stats_sumsq(x, n);
}

double gf_array_norm2(const gf_real *x, size_t n)
{
    return gf_array_norm2_given_sumsq(x, n, gf_array_sumsq(x, n));
}

double gf_array_norm2_given_sumsq(const gf_real *x, size_t n, double s)
{
    double big = 0;
    /* Below 2^-600 the squares of double data (under 1e-150) may have underflowed: a
     * vanishing gradient must not read as 0. Float data never gets there unless zero. */
    if (isfinite(s) && s >= 0x1p-600)
        return sqrt(s);
    if (isnan(s))
        return s;
    /* The sum overflowed (only possible for double data near 1e154 and above) or may have
     * underflowed: scale by the largest magnitude, as BLAS's nrm2 does, unless an element
     * is itself infinite. */
    for (size_t i = 0; i < n; i++) {
        double a = fabs((double)x[i]);
        if (isnan(a))
            return a;
        if (a > big)
            big = a;
    }
    if (isinf(big) || big == 0)
        return big;
    double scaled = 0;
    for (size_t i = 0; i < n; i++) {
        double r = x[i] / big;
        scaled += r * r;
    }
    return big * sqrt(scaled);
}

size_t gf_array_count_nonfinite(const gf_real *x, size_t n)
{
    size_t count = 0;
    if (x == NULL)
        return 0;
    for (size_t i = 0; i < n; i++)
        count += !isfinite(x[i]);
    return count;
}

double gf_tensor_norm2(const gf_tensor *t)
{
    if (t == NULL || t->data == NULL)
        return NAN;
    return gf_array_norm2(t->data, gf_tensor_size(t));
}

double gf_tensor_norm_max(const gf_tensor *t)
{
    double m = 0;
    if (t == NULL || t->data == NULL)
        return NAN;
    for (size_t i = 0, n = gf_tensor_size(t); i < n; i++) {
        double a = fabs((double)t->data[i]);
        if (isnan(a))
            return a;
        if (a > m)
            m = a;
    }
    return m;
}

size_t gf_tensor_count_nonfinite(const gf_tensor *t)
{
    if (t == NULL)
        return 0;
    return gf_array_count_nonfinite(t->data, gf_tensor_size(t));
}
