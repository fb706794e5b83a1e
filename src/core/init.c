/* src/core/init.c: weight initialisation schemes (constant, normal, uniform, Xavier, He,
 * LeCun, orthogonal) for one weight tensor, and the scheme an activation suits. Whole
 * networks and LSUV are initialised in build.c, which uses these.
 * Every scale is computed in double; randomness comes only from the caller's gf_rng. */
#include <math.h>
#include <string.h>

#include "gradflow/act.h"
#include "gradflow/init.h"
#include "core/internal.h"

static const char *const init_names[GF_INIT_COUNT] = {
    [GF_INIT_ZEROS] = "zeros",
    [GF_INIT_CONSTANT] = "constant",
    [GF_INIT_NORMAL] = "normal",
    [GF_INIT_UNIFORM] = "uniform",
    [GF_INIT_XAVIER_NORMAL] = "xavier",
    [GF_INIT_XAVIER_UNIFORM] = "xavier_uniform",
    [GF_INIT_HE_NORMAL] = "he",
    [GF_INIT_HE_UNIFORM] = "he_uniform",
    [GF_INIT_LECUN_NORMAL] = "lecun",
    [GF_INIT_LECUN_UNIFORM] = "lecun_uniform",
    [GF_INIT_ORTHOGONAL] = "orthogonal",
    [GF_INIT_LSUV] = "lsuv",
};

/* Names beyond the canonical ones: explicit "_normal" suffixes and the Glorot/Kaiming
 * spellings of the same schemes. */
static const struct {
    const char *name;
    gf_init_kind kind;
} init_aliases[] = {
    {"xavier_normal", GF_INIT_XAVIER_NORMAL},
    {"glorot", GF_INIT_XAVIER_NORMAL},
    {"glorot_normal", GF_INIT_XAVIER_NORMAL},
    {"glorot_uniform", GF_INIT_XAVIER_UNIFORM},
    {"he_normal", GF_INIT_HE_NORMAL},
    {"kaiming", GF_INIT_HE_NORMAL},
    {"kaiming_normal", GF_INIT_HE_NORMAL},
    {"kaiming_uniform", GF_INIT_HE_UNIFORM},
    {"lecun_normal", GF_INIT_LECUN_NORMAL},
};

const char *gf_init_name(gf_init_kind kind)
{
    if ((unsigned)kind >= GF_INIT_COUNT)
        return NULL;
    return init_names[kind];
}

gf_init gf_init_default(gf_init_kind kind)
{
    gf_init init;
    memset(&init, 0, sizeof init);
    init.kind = kind;
    init.value = 0.0;
    init.mean = 0.0;
    init.std = 1.0;
    init.low = -1.0;
    init.high = 1.0;
    init.gain = 1.0;
    init.slope = 0.0;
    init.fan_out = 0;
    init.bias = 0.0;
    return init;
}

gf_status gf_init_from_name(gf_init *out, const char *name)
{
    GF_CHECK_NOT_NULL(out, "gf_init_from_name");
    GF_CHECK_NOT_NULL(name, "gf_init_from_name");
    for (int k = 0; k < GF_INIT_COUNT; k++) {
        if (strcmp(name, init_names[k]) == 0) {
            *out = gf_init_default((gf_init_kind)k);
            return GF_OK;
        }
    }
    for (size_t i = 0; i < sizeof init_aliases / sizeof init_aliases[0]; i++) {
        if (strcmp(name, init_aliases[i].name) == 0) {
            *out = gf_init_default(init_aliases[i].kind);
            return GF_OK;
        }
    }
    return gf_fail(GF_ENOTFOUND,
                   "gf_init_from_name: unknown init scheme '%s' (known: zeros, constant, "
                   "normal, uniform, xavier, xavier_uniform, he, he_uniform, lecun, "
                   "lecun_uniform, orthogonal, lsuv; glorot* and kaiming* also accepted)",
                   name);
}

/* ---- Validation ---------------------------------------------------------------------- */

static gf_status check_finite(const char *scheme, const char *field, double v)
{
    if (!isfinite(v))
        return gf_fail(GF_EINVAL, "gf_init (%s): %s is %g, must be finite", scheme, field, v);
    return GF_OK;
}

static gf_status check_gain(const char *scheme, double gain)
{
    if (!(isfinite(gain) && gain > 0.0))
        return gf_fail(GF_EINVAL, "gf_init (%s): gain is %g, must be finite and > 0", scheme,
                       gain);
    return GF_OK;
}

/* Only the fields a scheme reads are checked (plus bias, which every scheme uses), so an
 * unused field left at any value does not make a valid init invalid. */
gf_status gf_init_validate(const gf_init *init)
{
    const char *scheme;
    gf_status st;
    GF_CHECK_NOT_NULL(init, "gf_init_validate");
    scheme = gf_init_name(init->kind);
    if (scheme == NULL)
        return gf_fail(GF_EINVAL, "gf_init_validate: invalid init kind %d", (int)init->kind);
    st = check_finite(scheme, "bias", init->bias);
    if (st != GF_OK)
        return st;
    switch (init->kind) {
    case GF_INIT_ZEROS:
        return GF_OK;
    case GF_INIT_CONSTANT:
        return check_finite(scheme, "value", init->value);
    case GF_INIT_NORMAL:
        st = check_finite(scheme, "mean", init->mean);
        if (st != GF_OK)
            return st;
        if (!(isfinite(init->std) && init->std >= 0.0))
            return gf_fail(GF_EINVAL, "gf_init (normal): std is %g, must be finite and >= 0",
                           init->std);
        return GF_OK;
    case GF_INIT_UNIFORM:
        st = check_finite(scheme, "low", init->low);
        if (st == GF_OK)
            st = check_finite(scheme, "high", init->high);
        if (st != GF_OK)
            return st;
        if (!(init->low < init->high))
            return gf_fail(GF_EINVAL, "gf_init (uniform): low %g must be below high %g",
                           init->low, init->high);
        /* high - low is the scale of every draw: it must not overflow. */
        if (!isfinite(init->high - init->low))
            return gf_fail(GF_EINVAL, "gf_init (uniform): range [%g, %g] is too wide",
                           init->low, init->high);
        return GF_OK;
    case GF_INIT_HE_NORMAL:
    case GF_INIT_HE_UNIFORM:
        /* The gain of He is sqrt(2/(1+a^2)), set by the slope; init->gain is not read. */
        return check_finite(scheme, "slope", init->slope);
    case GF_INIT_XAVIER_NORMAL:
    case GF_INIT_XAVIER_UNIFORM:
    case GF_INIT_LECUN_NORMAL:
    case GF_INIT_LECUN_UNIFORM:
    case GF_INIT_ORTHOGONAL:
    case GF_INIT_LSUV:
        return check_gain(scheme, init->gain);
    default:
        break;
    }
    return gf_fail(GF_EINVAL, "gf_init_validate: invalid init kind %d", (int)init->kind);
}

/* ---- Filling one tensor -------------------------------------------------------------- */

static void fill_normal(gf_real *w, size_t n, double mean, double std, gf_rng *rng)
{
    for (size_t i = 0; i < n; i++)
        w[i] = (gf_real)(mean + std * gf_rng_normal(rng));
}

/* U(low, high). In float, low + (high - low) u may round up to high itself; that end
 * point then has probability about 2^-24 and does no harm. */
static void fill_uniform(gf_real *w, size_t n, double low, double high, gf_rng *rng)
{
    double width = high - low;
    for (size_t i = 0; i < n; i++)
        w[i] = (gf_real)(low + width * gf_rng_uniform(rng));
}

/* Orthonormalise the k rows of q (k, m), k <= m, in place by modified Gram-Schmidt with
 * one re-orthogonalisation pass ("twice is enough", Giraud et al. 2005): a single MGS
 * pass loses orthogonality in proportion to the condition number of the Gaussian
 * matrix, which for square matrices is often 1e3 or more; the second pass brings it to
 * rounding level. This is the QR factorisation q^T = Q R with R's diagonal positive,
 * i.e. exactly what PyTorch's sign fix (Q times sign(diag R)) makes of a Householder QR.
 * A row that is (numerically) dependent on the earlier ones is redrawn; that has
 * probability zero for Gaussian draws, so a bounded number of attempts suffices. */
static gf_status orthonormalise_rows(double *q, size_t k, size_t m, gf_rng *rng)
{
    for (size_t i = 0; i < k; i++) {
        double *qi = q + i * m;
        int attempt;
        for (attempt = 0; attempt < 16; attempt++) {
            double before = 0.0;
            double after = 0.0;
            for (size_t c = 0; c < m; c++)
                before += qi[c] * qi[c];
            for (int pass = 0; pass < 2; pass++) {
                for (size_t j = 0; j < i; j++) {
                    const double *qj = q + j * m;
                    double dot = 0.0;
                    for (size_t c = 0; c < m; c++)
                        dot += qi[c] * qj[c];
                    for (size_t c = 0; c < m; c++)
                        qi[c] -= dot * qj[c];
                }
            }
            for (size_t c = 0; c < m; c++)
                after += qi[c] * qi[c];
            /* Keeping less than 1e-20 of the squared norm: the row was dependent. */
            if (after > 1e-20 * before && after > 0.0) {
                double inv = 1.0 / sqrt(after);
                for (size_t c = 0; c < m; c++)
                    qi[c] *= inv;
                break;
            }
            for (size_t c = 0; c < m; c++)
                qi[c] = gf_rng_normal(rng);
        }
        if (attempt == 16)
            return gf_fail(GF_ENONFINITE,
                           "gf_init (orthogonal): could not draw an independent row %zu", i);
    }
    return GF_OK;
}

/* w (r, c) = gain Q with orthonormal rows (r <= c: W W^T = I) or orthonormal columns
 * (r > c: W^T W = I). For r > c the transpose is built and written transposed. */
static gf_status fill_orthogonal(gf_tensor *w, double gain, gf_rng *rng)
{
    size_t r = w->rows;
    size_t c = w->cols;
    int transposed = r > c;
    size_t k = transposed ? c : r; /* vectors to orthonormalise */
    size_t m = transposed ? r : c; /* their length */
    int ok = 1;
    size_t n = gf_mul_size(k, m, &ok);
    size_t bytes = gf_mul_size(n, sizeof(double), &ok);
    double *q;
    gf_status st;
    if (!ok)
        return gf_fail(GF_EINVAL, "gf_init (orthogonal): %zu x %zu is too large", r, c);
    q = gf_alloc(bytes);
    if (q == NULL)
        return gf_fail(GF_ENOMEM, "gf_init (orthogonal): no memory for %zu x %zu scratch", k,
                       m);
    for (size_t i = 0; i < n; i++)
        q[i] = gf_rng_normal(rng);
    st = orthonormalise_rows(q, k, m, rng);
    if (st == GF_OK) {
        for (size_t i = 0; i < k; i++) {
            for (size_t j = 0; j < m; j++) {
                size_t dst = transposed ? j * c + i : i * c + j;
                w->data[dst] = (gf_real)(gain * q[i * m + j]);
            }
        }
    }
    gf_free(q);
    return st;
}

gf_status gf_init_tensor(gf_tensor *w, const gf_init *init, gf_rng *rng)
{
    const char *who = "gf_init_tensor";
    size_t n;
    double fan_in;
    double fan_out;
    double fan;
    double scale;
    gf_status st;
    GF_CHECK_TENSOR(w, who);
    GF_CHECK_NOT_NULL(init, who);
    if (w->rows == 0 || w->cols == 0)
        return gf_fail(GF_EINVAL, "%s: weight is empty (%zu x %zu)", who, w->rows, w->cols);
    st = gf_init_validate(init);
    if (st != GF_OK)
        return st;
    if (rng == NULL && init->kind != GF_INIT_ZEROS && init->kind != GF_INIT_CONSTANT)
        return gf_fail(GF_EINVAL, "%s (%s): rng is NULL", who, gf_init_name(init->kind));

    n = w->rows * w->cols;
    fan_out = (double)w->rows;
    fan_in = (double)w->cols;
    fan = init->fan_out ? fan_out : fan_in;

    switch (init->kind) {
    case GF_INIT_ZEROS:
        for (size_t i = 0; i < n; i++)
            w->data[i] = 0;
        return GF_OK;
    case GF_INIT_CONSTANT:
        for (size_t i = 0; i < n; i++)
            w->data[i] = (gf_real)init->value;
        return GF_OK;
    case GF_INIT_NORMAL:
        fill_normal(w->data, n, init->mean, init->std, rng);
        return GF_OK;
    case GF_INIT_UNIFORM:
        fill_uniform(w->data, n, init->low, init->high, rng);
        return GF_OK;
    case GF_INIT_XAVIER_NORMAL:
        /* Var = gain^2 2/(fan_in+fan_out): the forward and backward variance conditions
         * of Glorot and Bengio, averaged. */
        fill_normal(w->data, n, 0.0, init->gain * sqrt(2.0 / (fan_in + fan_out)), rng);
        return GF_OK;
    case GF_INIT_XAVIER_UNIFORM:
        /* U(-r, r) has variance r^2/3, so r = gain sqrt(6/(fan_in+fan_out)). */
        scale = init->gain * sqrt(6.0 / (fan_in + fan_out));
        fill_uniform(w->data, n, -scale, scale, rng);
        return GF_OK;
    case GF_INIT_HE_NORMAL:
        /* Var = 2/((1+a^2) fan): a leaky ReLU with slope a keeps (1+a^2)/2 of the
         * second moment, which this exactly compensates. */
        scale = sqrt(2.0 / ((1.0 + init->slope * init->slope) * fan));
        fill_normal(w->data, n, 0.0, scale, rng);
        return GF_OK;
    case GF_INIT_HE_UNIFORM:
        scale = sqrt(6.0 / ((1.0 + init->slope * init->slope) * fan));
        fill_uniform(w->data, n, -scale, scale, rng);
        return GF_OK;
    case GF_INIT_LECUN_NORMAL:
        fill_normal(w->data, n, 0.0, init->gain * sqrt(1.0 / fan), rng);
        return GF_OK;
    case GF_INIT_LECUN_UNIFORM:
        scale = init->gain * sqrt(3.0 / fan);
        fill_uniform(w->data, n, -scale, scale, rng);
        return GF_OK;
    case GF_INIT_ORTHOGONAL:
    case GF_INIT_LSUV:
        return fill_orthogonal(w, init->gain, rng);
    default:
        break;
    }
    return gf_fail(GF_EINVAL, "%s: invalid init kind %d", who, (int)init->kind);
}

/* ---- Networks ------------------------------------------------------------------------ */

gf_status gf_init_suited(gf_init *out, const gf_activation *act, double param)
{
    gf_status st;
    double gain;
    GF_CHECK_NOT_NULL(out, "gf_init_suited");
    GF_CHECK_NOT_NULL(act, "gf_init_suited");
    if (isnan(param))
        param = act->default_param;
    if (!isfinite(param))
        return gf_fail(GF_EINVAL, "gf_init_suited: %s parameter must be finite", act->name);
    st = gf_init_from_name(out, act->suited_init);
    if (st != GF_OK)
        return st;
    gain = act->gain(param);
    if (out->kind == GF_INIT_HE_NORMAL || out->kind == GF_INIT_HE_UNIFORM) {
        /* He's variance 2/((1+a^2) n) is gain^2/n with gain^2 = 2/(1+a^2): recover a. */
        double a2 = 2.0 / (gain * gain) - 1.0;
        out->slope = a2 > 0 ? sqrt(a2) : 0.0;
    } else {
        out->gain = gain;
    }
    return GF_OK;
}
