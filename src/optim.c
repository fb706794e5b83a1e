/* src/optim.c: SGD, momentum (PyTorch's form) and Adam (bias-corrected). Each computes
 * the update delta from a flat gradient block and never touches the parameters, so the
 * network can measure the update it applies. Not here: decoupled decay (AdamW),
 * Nesterov, dampening, AMSGrad; clipping lives in clip.c. */
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "gradflow/optim.h"

/* One allocation: the struct, then its state slots of n values each (momentum: v;
 * Adam: m then v). Slot pointers point into state[]. */
struct gf_optim {
    gf_optim_config cfg;
    size_t n;        /* parameters handled, fixed at creation */
    uint64_t steps;  /* compute calls so far (Adam's t before the next step) */
    int nslots;      /* 0 (SGD), 1 (momentum), 2 (Adam) */
    gf_real *slot[2];
    gf_real state[]; /* (nslots, n) */
};

static const char *const kind_names[GF_OPTIM_COUNT] = {
    [GF_OPTIM_SGD] = "sgd",
    [GF_OPTIM_MOMENTUM] = "momentum",
    [GF_OPTIM_ADAM] = "adam",
};

static int slots_of(gf_optim_kind kind)
{
    return kind == GF_OPTIM_ADAM ? 2 : kind == GF_OPTIM_MOMENTUM ? 1 : 0;
}

gf_optim_config gf_optim_default(gf_optim_kind kind)
{
    gf_optim_config c;
    c.kind = kind;
    c.lr = kind == GF_OPTIM_ADAM ? 0.001 : 0.01;
    c.momentum = 0.9;
    c.beta1 = 0.9;
    c.beta2 = 0.999;
    c.eps = 1e-8;
    c.weight_decay = 0.0;
    return c;
}

const char *gf_optim_name(gf_optim_kind kind)
{
    if ((unsigned)kind >= GF_OPTIM_COUNT)
        return NULL;
    return kind_names[kind];
}

gf_status gf_optim_from_name(gf_optim_kind *out, const char *name)
{
    GF_CHECK_NOT_NULL(out, "optim_from_name");
    GF_CHECK_NOT_NULL(name, "optim_from_name");
    for (int k = 0; k < GF_OPTIM_COUNT; k++) {
        if (strcmp(name, kind_names[k]) == 0) {
            *out = (gf_optim_kind)k;
            return GF_OK;
        }
    }
    return gf_fail(GF_ENOTFOUND, "optim: unknown optimiser '%s' (known: sgd, momentum, adam)",
                   name);
}

/* ---- Creation ---------------------------------------------------------------------- */

static gf_status check_lr(double lr, const char *who)
{
    if (!(lr > 0) || !isfinite(lr))
        return gf_fail(GF_EINVAL, "%s: lr must be > 0 and finite, got %g", who, lr);
    return GF_OK;
}

/* A value in [0, 1), the range of mu, beta1 and beta2 (1 would never forget). */
static gf_status check_unit(double x, const char *field)
{
    if (!(x >= 0 && x < 1))
        return gf_fail(GF_EINVAL, "optim_new: %s must be in [0, 1), got %g", field, x);
    return GF_OK;
}

/* Only the fields the kind uses are checked, so {.kind = GF_OPTIM_SGD, .lr = 0.1} is a
 * valid configuration even though its eps is 0. */
static gf_status check_config(const gf_optim_config *c)
{
    gf_status st;
    if ((unsigned)c->kind >= GF_OPTIM_COUNT)
        return gf_fail(GF_EINVAL, "optim_new: unknown kind %d", (int)c->kind);
    if ((st = check_lr(c->lr, "optim_new")) != GF_OK)
        return st;
    if (!(c->weight_decay >= 0) || !isfinite(c->weight_decay))
        return gf_fail(GF_EINVAL, "optim_new: weight_decay must be >= 0 and finite, got %g",
                       c->weight_decay);
    if (c->kind == GF_OPTIM_MOMENTUM && (st = check_unit(c->momentum, "momentum")) != GF_OK)
        return st;
    if (c->kind == GF_OPTIM_ADAM) {
        if ((st = check_unit(c->beta1, "beta1")) != GF_OK)
            return st;
        if ((st = check_unit(c->beta2, "beta2")) != GF_OK)
            return st;
        if (!(c->eps > 0) || !isfinite(c->eps))
            return gf_fail(GF_EINVAL, "optim_new: eps must be > 0 and finite, got %g", c->eps);
    }
    return GF_OK;
}

gf_status gf_optim_new(gf_optim **out, const gf_optim_config *config, size_t n)
{
    gf_status st;
    gf_optim *o;
    int nslots, ok = 1;
    size_t bytes;

    GF_CHECK_NOT_NULL(out, "optim_new");
    *out = NULL;
    GF_CHECK_NOT_NULL(config, "optim_new");
    if ((st = check_config(config)) != GF_OK)
        return st;
    if (n == 0 || n > GF_MAX_ELEMENTS)
        return gf_fail(GF_EINVAL, "optim_new: n must be in [1, %zu], got %zu",
                       GF_MAX_ELEMENTS, n);
    nslots = slots_of(config->kind);
    bytes = gf_mul_size(gf_mul_size((size_t)nslots, n, &ok), sizeof(gf_real), &ok);
    if (!ok || bytes > (size_t)-1 - sizeof *o)
        return gf_fail(GF_EINVAL, "optim_new: state for n = %zu does not fit in memory", n);
    o = gf_alloc(sizeof *o + bytes);
    if (o == NULL)
        return gf_fail(GF_ENOMEM, "optim_new: cannot allocate %zu bytes", sizeof *o + bytes);
    o->cfg = *config;
    o->n = n;
    o->steps = 0;
    o->nslots = nslots;
    o->slot[0] = nslots > 0 ? o->state : NULL;
    o->slot[1] = nslots > 1 ? o->state + n : NULL;
    if (bytes > 0)
        memset(o->state, 0, bytes);
    *out = o;
    return GF_OK;
}

void gf_optim_free(gf_optim *opt) { gf_free(opt); }

/* ---- Steps --------------------------------------------------------------------------- */

/* The loops below are plain element-wise loops in gf_real with scalar coefficients
 * fixed per call, so the compiler can vectorise them; delta may alias grads. */

/* Weight decay as PyTorch's non-decoupled L2: g <- g + wd * p, folded into each loop. */

static void sgd(gf_real *delta, const gf_real *p, const gf_real *g, size_t n, gf_real lr,
                gf_real wd)
{
    for (size_t i = 0; i < n; i++)
        delta[i] = -lr * (g[i] + wd * p[i]);
}

/* v = mu v + g; delta = -lr v. */
static void momentum(gf_real *delta, gf_real *v, const gf_real *p, const gf_real *g, size_t n,
                     gf_real lr, gf_real wd, gf_real mu)
{
    for (size_t i = 0; i < n; i++) {
        gf_real vi = mu * v[i] + (g[i] + wd * p[i]);
        v[i] = vi;
        delta[i] = -lr * vi;
    }
}

#if GF_REAL_IS_DOUBLE
#define REAL_SQRT sqrt
#else
#define REAL_SQRT sqrtf
#endif

/* m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * delta = -lr mhat / (sqrt(vhat) + eps), mhat = m / c1, vhat = v / c2, written as
 * -(lr / c1) m / (sqrt(v) / sqrt(c2) + eps), PyTorch's arrangement (one sqrt, no
 * division of v). */
static void adam(gf_real *delta, gf_real *m, gf_real *v, const gf_real *p, const gf_real *g,
                 size_t n, gf_real wd, gf_real b1, gf_real a1, gf_real b2, gf_real a2,
                 gf_real step, gf_real inv_sqrt_c2, gf_real eps)
{
    for (size_t i = 0; i < n; i++) {
        gf_real gi = g[i] + wd * p[i];
        gf_real mi = b1 * m[i] + a1 * gi;
        gf_real vi = b2 * v[i] + a2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        delta[i] = -step * mi / (REAL_SQRT(vi) * inv_sqrt_c2 + eps);
    }
}

gf_status gf_optim_compute(gf_optim *opt, gf_real *delta, const gf_real *params,
                           const gf_real *grads, size_t n)
{
    const gf_optim_config *c;
    GF_CHECK_NOT_NULL(opt, "optim_compute");
    GF_CHECK_NOT_NULL(delta, "optim_compute");
    GF_CHECK_NOT_NULL(params, "optim_compute");
    GF_CHECK_NOT_NULL(grads, "optim_compute");
    if (n != opt->n)
        return gf_fail(GF_ESHAPE, "optim_compute: %zu values given, optimiser was made for %zu",
                       n, opt->n);
    c = &opt->cfg;
    switch (c->kind) {
    case GF_OPTIM_SGD:
        sgd(delta, params, grads, n, (gf_real)c->lr, (gf_real)c->weight_decay);
        break;
    case GF_OPTIM_MOMENTUM:
        momentum(delta, opt->slot[0], params, grads, n, (gf_real)c->lr,
                 (gf_real)c->weight_decay, (gf_real)c->momentum);
        break;
    case GF_OPTIM_ADAM: {
        /* 1 - beta and the bias corrections 1 - beta^t in double, once per call: in
         * float, 1 - 0.999f is off by 1.3e-5 relative and 1 - 0.999f^t worse. t >= 1
         * and beta < 1, so both corrections are > 0. */
        double t = (double)(opt->steps + 1);
        double c1 = 1.0 - pow(c->beta1, t);
        double c2 = 1.0 - pow(c->beta2, t);
        adam(delta, opt->slot[0], opt->slot[1], params, grads, n, (gf_real)c->weight_decay,
             (gf_real)c->beta1, (gf_real)(1.0 - c->beta1), (gf_real)c->beta2,
             (gf_real)(1.0 - c->beta2), (gf_real)(c->lr / c1), (gf_real)(1.0 / sqrt(c2)),
             (gf_real)c->eps);
        break;
    }
    default: /* unreachable: the kind was checked at creation */
        return gf_fail(GF_ESTATE, "optim_compute: corrupt optimiser kind %d", (int)c->kind);
    }
    opt->steps++;
    return GF_OK;
}

/* ---- Accessors ----------------------------------------------------------------------- */

gf_status gf_optim_set_lr(gf_optim *opt, double lr)
{
    gf_status st;
    GF_CHECK_NOT_NULL(opt, "optim_set_lr");
    if ((st = check_lr(lr, "optim_set_lr")) != GF_OK)
        return st;
    opt->cfg.lr = lr;
    return GF_OK;
}

const gf_optim_config *gf_optim_config_of(const gf_optim *opt)
{
    return opt == NULL ? NULL : &opt->cfg;
}

uint64_t gf_optim_steps(const gf_optim *opt) { return opt == NULL ? 0 : opt->steps; }

gf_real *gf_optim_state(gf_optim *opt, int slot, size_t *n_state)
{
    gf_real *s = NULL;
    if (opt != NULL && slot >= 0 && slot < opt->nslots)
        s = opt->slot[slot];
    if (n_state != NULL)
        *n_state = s != NULL ? opt->n : 0;
    return s;
}

void gf_optim_set_steps(gf_optim *opt, uint64_t steps)
{
    if (opt != NULL)
        opt->steps = steps;
}
