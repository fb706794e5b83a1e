/* src/engine/gradcheck.c: compare the backward pass with central differences of the loss,
 * layer by layer, for parameters and for the activation entering each layer. The loss
 * is taken in double; in the float build the step must be large (1e-3) for the
 * difference to rise above rounding, so the tolerance a caller uses must be loose, and
 * activations within h of a kink (ReLU at 0) can be stepped across. */
#include <math.h>
#include <string.h>

#include "gradflow/gradcheck.h"
#include "gradflow/norm.h"
#include "core/internal.h"

/* ---- Leaving the network as it was --------------------------------------------------
 * A probe runs the network in training mode, and batch norm's training forward pass
 * moves its running statistics towards the batch's: without these, a gradient check or
 * LSUV would change what gf_net_predict gives. */

static int is_batchnorm(const gf_layer *l)
{
    return l != NULL && l->ops != NULL && l->ops->name != NULL &&
           strcmp(l->ops->name, "batchnorm") == 0;
}

gf_status gf_net_save_running(gf_net *net, double **saved)
{
    size_t total = 0, off = 0, count = gf_net_layer_count(net);
    const double *mean, *var;
    size_t n;
    *saved = NULL;
    for (size_t i = 0; i < count; i++)
        if (is_batchnorm(gf_net_layer(net, i)) &&
            gf_batchnorm_running(gf_net_layer(net, i), &mean, &var, &n) == GF_OK)
            total += 2 * n;
    if (total == 0)
        return GF_OK;
    *saved = gf_alloc(total * sizeof(double));
    if (*saved == NULL)
        return gf_fail(GF_ENOMEM, "cannot save %zu running statistics", total);
    for (size_t i = 0; i < count; i++) /* per layer: the n means, then the n variances */
        if (is_batchnorm(gf_net_layer(net, i)) &&
            gf_batchnorm_running(gf_net_layer(net, i), &mean, &var, &n) == GF_OK) {
            memcpy(*saved + off, mean, n * sizeof(double));
            memcpy(*saved + off + n, var, n * sizeof(double));
            off += 2 * n;
        }
    return GF_OK;
}

gf_status gf_net_restore_running(gf_net *net, const double *saved)
{
    size_t off = 0, count = gf_net_layer_count(net);
    const double *mean, *var;
    size_t n;
    gf_status st = GF_OK;
    for (size_t i = 0; i < count && saved != NULL && st == GF_OK; i++)
        if (is_batchnorm(gf_net_layer(net, i)) &&
            gf_batchnorm_running(gf_net_layer(net, i), &mean, &var, &n) == GF_OK) {
            st = gf_batchnorm_set_running(gf_net_layer_mut(net, i), saved + off,
                                          saved + off + n, n);
            off += 2 * n;
        }
    return st;
}

/* ---- The check ---------------------------------------------------------------------- */

typedef struct check_ctx {
    gf_net *net;
    const gf_tensor *target;
    gf_loss_kind loss;
    double h;
    double floor;
    size_t max_per_tensor;
} check_ctx;

static double rel_err(double analytic, double numeric, double floor)
{
    double scale = fmax(fmax(fabs(analytic), fabs(numeric)), floor);
    return fabs(analytic - numeric) / scale;
}

/* Loss after re-running the network from layer `first`. */
static gf_status loss_from(check_ctx *c, size_t first, double *loss)
{
    gf_status st = gf_net_rerun_from(c->net, first);
    if (st != GF_OK)
        return st;
    const gf_tensor *y = gf_net_boundary(c->net, gf_net_layer_count(c->net));
    return gf_loss_compute(loss, NULL, y, c->target, c->loss);
}

/* Central difference of the loss in value[0], re-running from layer `first`; value is
 * restored bit for bit. */
static gf_status central_difference(check_ctx *c, gf_real *value, size_t first, double *out)
{
    gf_real saved = *value;
    double plus = NAN, minus = NAN;
    gf_status st;
    *value = (gf_real)(saved + c->h);
    st = loss_from(c, first, &plus);
    if (st == GF_OK) {
        *value = (gf_real)(saved - c->h);
        st = loss_from(c, first, &minus);
    }
    /* The step actually taken, after rounding to gf_real, is what divides. */
    double step = ((double)(gf_real)(saved + c->h) - (double)(gf_real)(saved - c->h));
    *value = saved;
    *out = (plus - minus) / step;
    return st;
}

/* Compare n values at x (re-running from layer `first`) with their analytic gradient. */
static gf_status check_values(check_ctx *c, gf_real *x, const gf_real *analytic, size_t n,
                              size_t first, double *worst, gf_gradcheck_layer *res)
{
    size_t stride = 1;
    if (c->max_per_tensor > 0 && n > c->max_per_tensor)
        stride = (n + c->max_per_tensor - 1) / c->max_per_tensor;
    for (size_t k = 0; k < n; k += stride) {
        double numeric;
        gf_status st = central_difference(c, &x[k], first, &numeric);
        if (st != GF_OK)
            return st;
        double e = rel_err(analytic[k], numeric, c->floor);
        if (!(e <= *worst) || isnan(*worst))
            *worst = e;
        res->checked++;
        res->grad_norm = hypot(res->grad_norm, analytic[k]);
    }
    return GF_OK;
}

/* Step h and error floor from the caller's options (0: the defaults for gf_real). */
static gf_status set_options(check_ctx *c, const gf_gradcheck_options *options)
{
    gf_gradcheck_options opt = {0};
    if (options != NULL)
        opt = *options;
    if (!(opt.h >= 0 && isfinite(opt.h)) || !(opt.abs_floor >= 0 && isfinite(opt.abs_floor)))
        return gf_fail(GF_EINVAL, "gf_net_gradcheck: h and abs_floor must be finite and >= 0");
#if GF_REAL_IS_DOUBLE
    c->h = opt.h > 0 ? opt.h : 1e-5;
    /* The floor sits above the rounding noise of a central difference, about
     * eps |L| / h: 1e-11 in double, 1e-4 in float, so a tiny gradient's error is
     * measured against that noise rather than against itself. */
    c->floor = opt.abs_floor > 0 ? opt.abs_floor : 1e-5;
#else
    c->h = opt.h > 0 ? opt.h : 1e-3;
    c->floor = opt.abs_floor > 0 ? opt.abs_floor : 1e-2;
#endif
    c->max_per_tensor = opt.max_per_tensor;
    return GF_OK;
}

/* A copy of the analytic gradients: the parameters' (n_params), then dL/d(input of layer
 * i) for every i. The probing forward passes overwrite nothing of them, but a copy makes
 * the comparison independent of that. NULL when out of memory. */
static gf_real *copy_gradients(const gf_net *net)
{
    size_t n_layers = gf_net_layer_count(net), n_params = gf_net_param_count(net);
    size_t n_acts = 0, off = n_params;
    gf_real *saved;
    for (size_t i = 0; i < n_layers; i++)
        n_acts += gf_tensor_size(gf_net_activation_grad(net, i));
    saved = gf_alloc((n_params + n_acts) * sizeof(gf_real));
    if (saved == NULL)
        return NULL;
    memcpy(saved, gf_net_grads(net), n_params * sizeof(gf_real));
    for (size_t i = 0; i < n_layers; i++) {
        const gf_tensor *g = gf_net_activation_grad(net, i);
        memcpy(saved + off, g->data, gf_tensor_size(g) * sizeof(gf_real));
        off += gf_tensor_size(g);
    }
    return saved;
}

/* Layer by layer: its parameters, then the activation entering it, against the copy
 * `saved` of the analytic gradients (copy_gradients' layout). */
static gf_status check_layers(check_ctx *c, const gf_real *saved, gf_gradcheck_layer *result)
{
    gf_net *net = c->net;
    size_t off = gf_net_param_count(net);
    gf_status st = GF_OK;
    for (size_t i = 0; i < gf_net_layer_count(net) && st == GF_OK; i++) {
        gf_layer *l = gf_net_layer_mut(net, i);
        gf_tensor *xin = gf_net_boundary(net, i);
        gf_gradcheck_layer *res = &result[i];
        if (l->n_params > 0) {
            res->param_err = 0;
            st = check_values(c, gf_net_params_mut(net) + l->param_offset,
                              saved + l->param_offset, l->n_params, 0, &res->param_err, res);
        }
        if (st == GF_OK) {
            res->input_err = 0;
            st = check_values(c, xin->data, saved + off, gf_tensor_size(xin), i,
                              &res->input_err, res);
        }
        off += gf_tensor_size(xin);
        /* Leave the activations as the unperturbed pass made them. */
        if (st == GF_OK)
            st = gf_net_rerun_from(net, i);
    }
    return st;
}

/* The largest error over every layer's parameters and input. */
static double worst_of(const gf_gradcheck_layer *result, size_t n_layers)
{
    double worst = 0;
    for (size_t i = 0; i < n_layers; i++) {
        if (!isnan(result[i].param_err))
            worst = fmax(worst, result[i].param_err);
        worst = fmax(worst, result[i].input_err);
    }
    return worst;
}

/* The steps: an analytic pass (forward, loss, backward, with the input gradient on so
 * that layer 0 is checked too), a copy of its gradients, the probes layer by layer; then
 * everything a probe moved is put back. */
gf_status gf_net_gradcheck(gf_net *net, gf_gradcheck_layer *result, double *worst,
                           const gf_tensor *x, const gf_tensor *target,
                           gf_loss_kind loss, const gf_gradcheck_options *options)
{
    check_ctx c;
    gf_real *saved = NULL;
    double *running = NULL; /* batch norm's running statistics, put back at the end */
    uint64_t step;
    size_t n_records;
    int input_grad;
    gf_status st;

    GF_CHECK_NOT_NULL(net, "gf_net_gradcheck");
    GF_CHECK_TENSOR(x, "gf_net_gradcheck");
    GF_CHECK_TENSOR(target, "gf_net_gradcheck");
    GF_CHECK_NOT_NULL(result, "gf_net_gradcheck");
    if ((st = set_options(&c, options)) != GF_OK)
        return st;
    c.net = net;
    c.target = target;
    c.loss = loss;
    if (gf_net_layer_count(net) == 0)
        return gf_fail(GF_ESTATE, "gf_net_gradcheck: the network has no layers");
    for (size_t i = 0; i < gf_net_layer_count(net); i++)
        result[i] = (gf_gradcheck_layer){NAN, NAN, 0, 0};

    input_grad = gf_net_input_grad(net);
    step = gf_net_step_count(net);
    n_records = gf_telemetry_count(gf_net_telemetry(net));
    gf_net_set_input_grad(net, 1);
    st = gf_net_save_running(net, &running);
    if (st == GF_OK)
        st = gf_net_forward(net, NULL, x);
    if (st == GF_OK)
        st = gf_net_loss(net, NULL, target, loss);
    if (st == GF_OK)
        st = gf_net_backward(net);
    if (st == GF_OK && (saved = copy_gradients(net)) == NULL)
        st = gf_fail(GF_ENOMEM, "gf_net_gradcheck: out of memory");
    if (st == GF_OK)
        st = check_layers(&c, saved, result);
    if (st == GF_OK && worst != NULL)
        *worst = worst_of(result, gf_net_layer_count(net));
    if (saved != NULL)
        memcpy(gf_net_grads_mut(net), saved, gf_net_param_count(net) * sizeof(gf_real));
    gf_free(saved);

    /* A check is not a training step: leave the step count, telemetry and running
     * statistics as they were. */
    gf_net_rewind(net, step, n_records);
    if (running != NULL) {
        gf_status rs = gf_net_restore_running(net, running);
        st = st == GF_OK ? rs : st;
        gf_free(running);
    }
    gf_net_set_input_grad(net, input_grad);
    return st;
}
