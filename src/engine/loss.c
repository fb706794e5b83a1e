/* src/engine/loss.c: MSE, softmax cross-entropy and binary cross-entropy on logits, each with
 * its gradient dL/dy, plus classification accuracy. Everything is accumulated in double;
 * the two cross-entropies go through log-sum-exp so that no finite logit overflows.
 * Targets are validated (shape, finiteness, range) before anything is written to dy;
 * every bad target is GF_EINVAL, a caller's mistake, with the row named. */
#include <math.h>
#include <string.h>

#include "gradflow/loss.h"
#include "core/internal.h"

static const char *const loss_names[GF_LOSS_COUNT] = {
    [GF_LOSS_MSE] = "mse",
    [GF_LOSS_SOFTMAX_CE] = "cross_entropy",
    [GF_LOSS_BCE_LOGITS] = "bce",
};

static const struct {
    const char *name;
    gf_loss_kind kind;
} loss_aliases[] = {
    {"mse", GF_LOSS_MSE},
    {"cross_entropy", GF_LOSS_SOFTMAX_CE},
    {"ce", GF_LOSS_SOFTMAX_CE},
    {"softmax_ce", GF_LOSS_SOFTMAX_CE},
    {"bce", GF_LOSS_BCE_LOGITS},
    {"bce_logits", GF_LOSS_BCE_LOGITS},
};

/* Alike gf_optim_name and gf_optim_from_name (engine/optim.c) on purpose: each module keeps
 * its names beside its enum, and the losses take aliases. */
const char *gf_loss_name(gf_loss_kind kind)
{
    if ((unsigned)kind >= GF_LOSS_COUNT)
        return NULL;
    return loss_names[kind];
}

gf_status gf_loss_from_name(gf_loss_kind *out, const char *name)
{
    GF_CHECK_NOT_NULL(out, "gf_loss_from_name");
    GF_CHECK_NOT_NULL(name, "gf_loss_from_name");
    for (size_t i = 0; i < sizeof loss_aliases / sizeof loss_aliases[0]; i++) {
        if (strcmp(name, loss_aliases[i].name) == 0) {
            *out = loss_aliases[i].kind;
            return GF_OK;
        }
    }
    return gf_fail(GF_ENOTFOUND,
                   "gf_loss_from_name: unknown loss '%s' (known: mse, cross_entropy (ce, "
                   "softmax_ce), bce (bce_logits))",
                   name);
}

/* ---- Target checks ------------------------------------------------------------------ */

/* 1 when v is an integral class index in [0, n). */
static int is_class_index(double v, size_t n)
{
    return isfinite(v) && v >= 0.0 && v == floor(v) && v < (double)n;
}

/* Class indices in a (B, 1) target, one per row, in [0, n). */
static gf_status check_indices(const char *who, const gf_tensor *t, size_t n)
{
    for (size_t b = 0; b < t->rows; b++) {
        double v = (double)t->data[b];
        if (!is_class_index(v, n))
            return gf_fail(GF_EINVAL,
                           "%s: target row %zu holds %g, not a class index in 0..%zu", who, b,
                           v, n - 1);
    }
    return GF_OK;
}

/* Every entry finite and in [0, 1]. */
static gf_status check_unit_interval(const char *who, const gf_tensor *t)
{
    for (size_t r = 0; r < t->rows; r++) {
        for (size_t c = 0; c < t->cols; c++) {
            double v = (double)t->data[r * t->cols + c];
            if (!(v >= 0.0 && v <= 1.0))
                return gf_fail(GF_EINVAL,
                               "%s: target (%zu, %zu) is %g, not in [0, 1]", who, r, c, v);
        }
    }
    return GF_OK;
}

/* ---- The three losses ---------------------------------------------------------------- */

/* L = (1/N) sum (y - t)^2, N = B n;  dL/dy = 2 (y - t) / N. */
static gf_status mse(const gf_tensor *y, const gf_tensor *t, double *loss, gf_tensor *dy)
{
    size_t n = y->rows * y->cols;
    double inv_n = 1.0 / (double)n;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite((double)t->data[i]))
            return gf_fail(GF_EINVAL, "mse: target element %zu (row %zu) is %g", i,
                           i / y->cols, (double)t->data[i]);
    }
    for (size_t i = 0; i < n; i++) {
        double d = (double)y->data[i] - (double)t->data[i];
        sum += d * d;
        if (dy != NULL)
            dy->data[i] = (gf_real)(2.0 * d * inv_n);
    }
    *loss = sum * inv_n;
    return GF_OK;
}

/* Per row b: lse = m + log sum_j exp(y_j - m), m = max_j y_j, so no exp overflows.
 * L_b = -sum_j t_j (y_j - lse) = lse sum_j t_j - sum_j t_j y_j;
 * dL_b/dy_j = softmax(y)_j sum_k t_k - t_j (softmax_j - t_j when t sums to 1).
 * With class indices, t is the one-hot row of the index. */
static gf_status softmax_ce(const gf_tensor *y, const gf_tensor *t, double *loss,
                            gf_tensor *dy)
{
    const char *who = "cross_entropy";
    size_t B = y->rows;
    size_t n = y->cols;
    /* A (B, 1) target holds class indices (with n == 1 the only class is 0). */
    int indices = t->cols == 1;
    double inv_b = 1.0 / (double)B;
    double total = 0.0;
    gf_status st;

    if (indices) {
        st = check_indices(who, t, n);
        if (st != GF_OK)
            return st;
    } else {
        st = check_unit_interval(who, t);
        if (st != GF_OK)
            return st;
        /* Rows must be distributions. Each float entry carries a relative rounding error
         * of about 6e-8, so 1e-3 leaves room for any n we meet while still catching a
         * target that was never normalised. */
        for (size_t b = 0; b < B; b++) {
            double s = 0.0;
            for (size_t j = 0; j < n; j++)
                s += (double)t->data[b * n + j];
            if (fabs(s - 1.0) > 1e-3)
                return gf_fail(GF_EINVAL,
                               "%s: target row %zu sums to %g; probabilities must sum to 1",
                               who, b, s);
        }
    }

    for (size_t b = 0; b < B; b++) {
        const gf_real *yb = y->data + b * n;
        double m = -INFINITY;
        double se = 0.0;
        double lse;
        double tsum = 0.0;
        double tdot = 0.0;
        size_t cls = indices ? (size_t)t->data[b] : 0;
        /* A NaN or infinite logit makes se or lse NaN/inf: the loss is then non-finite,
         * as the header promises, and nothing is hidden. */
        for (size_t j = 0; j < n; j++)
            if ((double)yb[j] > m)
                m = (double)yb[j];
        for (size_t j = 0; j < n; j++)
            se += exp((double)yb[j] - m);
        lse = m + log(se);
        if (indices) {
            tsum = 1.0;
            tdot = (double)yb[cls];
        } else {
            for (size_t j = 0; j < n; j++) {
                double tj = (double)t->data[b * n + j];
                tsum += tj;
                /* A zero-probability class contributes nothing, even at y = -inf. */
                if (tj != 0.0)
                    tdot += tj * (double)yb[j];
            }
        }
        total += lse * tsum - tdot;
        if (dy != NULL) {
            /* Read everything from row b of y and t before writing row b of dy, so dy
             * may alias y (or t). */
            gf_real *db = dy->data + b * n;
            for (size_t j = 0; j < n; j++) {
                double p = exp((double)yb[j] - lse);
                double tj = indices ? (j == cls ? 1.0 : 0.0) : (double)t->data[b * n + j];
                db[j] = (gf_real)((p * tsum - tj) * inv_b);
            }
        }
    }
    *loss = total * inv_b;
    return GF_OK;
}

/* Stable sigmoid: never evaluates exp of a positive number. */
static double sigmoid(double x)
{
    if (x >= 0.0)
        return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

/* l = max(y, 0) - y t + log(1 + exp(-|y|)), which equals -t log s(y) - (1-t) log(1-s(y))
 * without ever forming log(0);  dl/dy = s(y) - t. L is the mean over all B n entries. */
static gf_status bce_logits(const gf_tensor *y, const gf_tensor *t, double *loss,
                            gf_tensor *dy)
{
    size_t n = y->rows * y->cols;
    double inv_n = 1.0 / (double)n;
    double sum = 0.0;
    gf_status st = check_unit_interval("bce", t);
    if (st != GF_OK)
        return st;
    for (size_t i = 0; i < n; i++) {
        double v = (double)y->data[i];
        double ti = (double)t->data[i];
        sum += fmax(v, 0.0) - v * ti + log1p(exp(-fabs(v)));
        if (dy != NULL)
            dy->data[i] = (gf_real)((sigmoid(v) - ti) * inv_n);
    }
    *loss = sum * inv_n;
    return GF_OK;
}

gf_status gf_loss_compute(double *loss, gf_tensor *dy, const gf_tensor *y,
                          const gf_tensor *target, gf_loss_kind kind)
{
    const char *who = "gf_loss_compute";
    const char *name = gf_loss_name(kind);
    if (name == NULL)
        return gf_fail(GF_EINVAL, "%s: invalid loss kind %d", who, (int)kind);
    GF_CHECK_TENSOR(y, who);
    GF_CHECK_TENSOR(target, who);
    GF_CHECK_NOT_NULL(loss, who);
    if (y->rows == 0 || y->cols == 0)
        return gf_fail(GF_EINVAL, "%s (%s): y is empty (%zu x %zu)", who, name, y->rows,
                       y->cols);
    if (target->rows != y->rows)
        return gf_fail(GF_ESHAPE, "%s (%s): target has %zu rows, y has %zu", who, name,
                       target->rows, y->rows);
    if (kind == GF_LOSS_SOFTMAX_CE) {
        if (target->cols != 1 && target->cols != y->cols)
            return gf_fail(GF_ESHAPE,
                           "%s (%s): target has %zu columns; expected 1 (class indices) or "
                           "%zu (probabilities)",
                           who, name, target->cols, y->cols);
    } else if (target->cols != y->cols) {
        return gf_fail(GF_ESHAPE, "%s (%s): target is %zu x %zu, y is %zu x %zu", who, name,
                       target->rows, target->cols, y->rows, y->cols);
    }
    if (dy != NULL) {
        GF_CHECK_TENSOR(dy, who);
        if (dy->rows != y->rows || dy->cols != y->cols)
            return gf_fail(GF_ESHAPE, "%s (%s): dy is %zu x %zu, y is %zu x %zu", who, name,
                           dy->rows, dy->cols, y->rows, y->cols);
    }
    switch (kind) {
    case GF_LOSS_MSE:
        return mse(y, target, loss, dy);
    case GF_LOSS_SOFTMAX_CE:
        return softmax_ce(y, target, loss, dy);
    case GF_LOSS_BCE_LOGITS:
        return bce_logits(y, target, loss, dy);
    default:
        break;
    }
    return gf_fail(GF_EINVAL, "%s: invalid loss kind %d", who, (int)kind);
}

/* ---- Accuracy ------------------------------------------------------------------------ */

/* Index of the largest of x[0..n); ties go to the first. -1 when any entry is NaN or
 * infinite: a non-finite prediction never counts as correct. */
static long argmax_finite(const gf_real *x, size_t n)
{
    size_t best = 0;
    for (size_t j = 0; j < n; j++) {
        if (!isfinite((double)x[j]))
            return -1;
        if (x[j] > x[best])
            best = j;
    }
    return (long)best;
}

gf_status gf_accuracy(double *accuracy, const gf_tensor *y, const gf_tensor *target)
{
    const char *who = "gf_accuracy";
    size_t B;
    size_t n;
    size_t classes;
    size_t correct = 0;
    GF_CHECK_TENSOR(y, who);
    GF_CHECK_TENSOR(target, who);
    GF_CHECK_NOT_NULL(accuracy, who);
    B = y->rows;
    n = y->cols;
    if (B == 0 || n == 0)
        return gf_fail(GF_EINVAL, "%s: y is empty (%zu x %zu)", who, B, n);
    if (target->rows != B)
        return gf_fail(GF_ESHAPE, "%s: target has %zu rows, y has %zu", who, target->rows, B);
    if (target->cols != 1 && target->cols != n)
        return gf_fail(GF_ESHAPE,
                       "%s: target has %zu columns; expected 1 (class indices) or %zu", who,
                       target->cols, n);
    /* One output column is a binary logit: classes 0 and 1. */
    classes = n == 1 ? 2 : n;
    if (target->cols == 1) {
        gf_status st = check_indices(who, target, classes);
        if (st != GF_OK)
            return st;
    } else {
        size_t bad = gf_tensor_count_nonfinite(target);
        if (bad != 0)
            return gf_fail(GF_EINVAL, "%s: target holds %zu non-finite values", who, bad);
    }
    for (size_t b = 0; b < B; b++) {
        long pred;
        long cls;
        if (n == 1) {
            double v = (double)y->data[b];
            pred = isfinite(v) ? (v > 0.0) : -1;
        } else {
            pred = argmax_finite(y->data + b * n, n);
        }
        if (target->cols == 1)
            cls = (long)target->data[b];
        else
            cls = argmax_finite(target->data + b * n, n);
        if (pred >= 0 && pred == cls)
            correct++;
    }
    *accuracy = (double)correct / (double)B;
    return GF_OK;
}
