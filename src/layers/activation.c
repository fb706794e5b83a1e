/* src/layers/activation.c: the element-wise activation layer y = f(x), one row of the
 * act.h table (act.c), as plain math: forward y = f(x), backward the chain rule
 * dx += dy f'(x), and record() the telemetry's derivative statistics in a separate pass.
 * This is the reference; the fast variant, which takes the statistics inside the
 * backward pass while f' is in cache, is src/fast/activation_fused.c (used when
 * GF_FAST). The layer caches nothing: f' is evaluated again from x when needed. */
#include <string.h>

#include "core/internal.h"
#include "fast/activation_fused.h"
#include "fast/fast.h"
#include "gradflow/telemetry.h"
#include "core/checks.h"

/* f(x) and f'(x) of the layer's row, in double, rounded to gf_real. */
static gf_real act_f(const gf_layer *l, gf_real x)
{
    return (gf_real)l->act->f((double)x, (double)l->act_param);
}

static gf_real act_df(const gf_layer *l, gf_real x)
{
    return (gf_real)l->act->df((double)x, (double)l->act_param);
}

/* y (batch, n) = f(x (batch, n)), element by element. */
static gf_status act_forward(gf_layer *l, const gf_tensor *x, gf_tensor *y, int training)
{
    static const char who[] = "activation forward";
    size_t batch = 0;
    gf_status s = gf_check_forward(who, l, x, y, &batch);

    (void)training;
    if (s == GF_OK && l->act == NULL)
        s = gf_fail(GF_ESTATE, "%s: layer has no activation (released?)", who);
    if (s != GF_OK)
        return s;
    for (size_t i = 0; i < batch * l->out; i++)
        y->data[i] = act_f(l, x->data[i]);
    return GF_OK;
}

/* dx += dy * f'(x): the chain rule through an element-wise f, whose Jacobian is
 * diagonal (dx = 0 + dy * f'(x) when the engine did not zero dx: l->overwrite). y is
 * required, as the fast variant takes f' from it. */
static gf_status act_backward(gf_layer *l, const gf_tensor *x, const gf_tensor *y,
                              const gf_tensor *dy, gf_tensor *dx)
{
    static const char who[] = "activation backward";
    size_t batch = 0;
    gf_status s = gf_check_backward(who, l, x, y, 1, dy, dx, &batch);

    if (s == GF_OK && l->act == NULL)
        s = gf_fail(GF_ESTATE, "%s: layer has no activation (released?)", who);
    if (s != GF_OK || dx == NULL)
        return s;
    for (size_t i = 0; i < batch * l->out; i++)
        dx->data[i] = (l->overwrite ? 0 : dx->data[i]) + dy->data[i] * act_df(l, x->data[i]);
    return GF_OK;
}

/* The derivative statistics of the telemetry (telemetry.h), from f'(x) over the batch:
 * the mean |f'|; the fraction of units (columns) whose f' is 0 on every row (dead: no
 * signal passes them); and for an f that saturates, the fraction of values with
 * |f'| < GF_SATURATION_FRACTION sup |f'| (saturated: little signal passes). */
static void act_record(const gf_layer *l, const gf_tensor *x, const gf_tensor *y,
                       struct gf_record *rec)
{
    double threshold, abs_sum = 0;
    size_t n, rows, sat = 0, dead = 0;

    (void)y;
    if (l == NULL || rec == NULL || l->act == NULL || x == NULL || x->data == NULL ||
        x->cols != l->in || x->rows == 0)
        return;
    n = l->out;
    rows = x->rows;
    threshold = l->act->saturating
                    ? GF_SATURATION_FRACTION * l->act->deriv_bound(l->act_param)
                    : 0;
    for (size_t j = 0; j < n; j++) {
        int alive = 0;
        for (size_t r = 0; r < rows; r++) {
            double d = fabs((double)act_df(l, x->data[r * n + j]));
            abs_sum += d;
            sat += d < threshold;
            alive |= d != 0;
        }
        dead += !alive;
    }
    rec->deriv_abs_mean = abs_sum / (double)(rows * n);
    rec->dead_frac = (double)dead / (double)n;
    rec->sat_frac = (double)sat / (double)(rows * n);
}

/* Nothing to free; clearing act makes a released layer refuse to run. */
static void act_destroy(gf_layer *l)
{
    if (l != NULL)
        l->act = NULL;
}

/* The plain reference beside gf_activation_fused_ops (fast/activation_fused.c). */
/* Its operations (layer.h): a table of the shape every layer kind has, alike by design. */
const gf_layer_ops gf_activation_reference_ops = {
    .name = "activation",
    .forward = act_forward,
    .backward = act_backward,
    .record = act_record,
    .destroy = act_destroy,
};

gf_status gf_layer_activation_variant(gf_layer *l, size_t n, const gf_activation *act,
                                      gf_real param, int fused)
{
    static const char who[] = "gf_layer_activation";
    gf_status s;

    GF_CHECK_NOT_NULL(l, who);
    memset(l, 0, sizeof *l);
    if ((s = gf_check_features(who, "n", n)) != GF_OK)
        return s;
    GF_CHECK_NOT_NULL(act, who);
    if (act->f == NULL || act->df == NULL)
        return gf_fail(GF_EINVAL, "%s: activation %s has no f or df", who,
                       act->name != NULL ? act->name : "(unnamed)");
    if (!isfinite(param))
        return gf_fail(GF_EINVAL, "%s: %s parameter %s is not finite", who, act->name,
                       act->param_name ? act->param_name : "(unused)");
    l->ops = &gf_activation_reference_ops;
    l->in = n;
    l->out = n;
    l->act = act;
    l->act_param = param;
    l->can_overwrite = 1; /* both variants' backward honour l->overwrite */
    if (fused && (s = gf_activation_fused_attach(l)) != GF_OK)
        memset(l, 0, sizeof *l);
    return s;
}

gf_status gf_layer_activation(gf_layer *l, size_t n, const gf_activation *act, gf_real param)
{
    return gf_layer_activation_variant(l, n, act, param, GF_FAST);
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

const gf_layer_kind gf_kind_activation = {
    .name = "activation",
    .ops = &gf_activation_reference_ops,
    .codec = &activation_codec,
    .traits = GF_KIND_ACTIVATION,
    .fast_ops = &gf_activation_fused_ops,
};
