/* src/engine/optim.c: SGD, momentum (PyTorch's form) and Adam (bias-corrected), as plain
 * loops over a flat block; the rules are in optim_rules.h. The public gf_optim_compute
 * writes the update delta without touching the parameters; the network's step adds it in
 * place (gf_optim_update, internal.h), measuring ||delta|| on recorded steps. Then the
 * learning-rate schedules (step, cosine). Not here: decoupled decay (AdamW), Nesterov,
 * dampening, AMSGrad; clipping lives in clip.c. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/internal.h"
#include "engine/optim_rules.h"
#include "fast/fast.h"
#include "fast/simd.h"
#include "fast/update.h"
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

/* The range [offset, offset + count) of the block the optimiser was made for. */
static gf_status check_range(const gf_optim *opt, const gf_real *params, const gf_real *grads,
                             size_t offset, size_t count)
{
    GF_CHECK_NOT_NULL(opt, "optim_update");
    GF_CHECK_NOT_NULL(params, "optim_update");
    GF_CHECK_NOT_NULL(grads, "optim_update");
    if (offset > opt->n || count > opt->n - offset)
        return gf_fail(GF_ESHAPE, "optim_update: values [%zu, %zu) are outside the %zu the "
                       "optimiser was made for", offset, offset + count, opt->n);
    return GF_OK;
}

/* ---- Steps --------------------------------------------------------------------------- */

/* The coefficients of one step (the rules themselves are in optim_rules.h). */
static gf_optim_coefs coefs_of(const gf_optim *opt)
{
    const gf_optim_config *c = &opt->cfg;
    gf_optim_coefs k = {(gf_real)c->lr, (gf_real)c->weight_decay, (gf_real)c->momentum,
                        0, 0, 0, 0, 0, 0, 0};
    if (c->kind == GF_OPTIM_ADAM) {
        /* 1 - beta and the bias corrections 1 - beta^t in double, once per step: in
         * float, 1 - 0.999f is off by 1.3e-5 relative and 1 - 0.999f^t worse. t >= 1
         * and beta < 1, so both corrections are > 0. */
        double t = (double)(opt->steps + 1);
        double c1 = 1.0 - pow(c->beta1, t);
        double c2 = 1.0 - pow(c->beta2, t);
        k.b1 = (gf_real)c->beta1;
        k.a1 = (gf_real)(1.0 - c->beta1);
        k.b2 = (gf_real)c->beta2;
        k.a2 = (gf_real)(1.0 - c->beta2);
        k.step = (gf_real)(c->lr / c1);
        k.inv_sqrt_c2 = (gf_real)(1.0 / sqrt(c2));
        k.eps = (gf_real)c->eps;
    }
    return k;
}

/* The state slots of the range starting at offset (NULL where the kind has none). */
static gf_real *slot_at(gf_optim *opt, int slot, size_t offset)
{
    return opt->slot[slot] != NULL ? opt->slot[slot] + offset : NULL;
}

/* The updates in place, one plain loop per rule: p <- p + delta. (GF_SIMD_VOID, simd.h:
 * the loop built for AVX-512, AVX2 and the baseline; restrict: the blocks never overlap.)
 * They read like fast/update.c's loops on purpose: those are the same rules that also sum
 * the squares for telemetry, and each file stands alone. */

GF_SIMD_BODY void sgd_update_loop(const gf_optim_coefs *k, gf_real *restrict p,
                                  const gf_real *restrict g, size_t n)
{
    gf_optim_coefs c = *k;
    for (size_t i = 0; i < n; i++)
        p[i] += gf_sgd_rule(p[i], g[i], &c);
}
GF_SIMD_VOID(static, sgd_update,
             (const gf_optim_coefs *k, gf_real *restrict p, const gf_real *restrict g, size_t n),
             (k, p, g, n))

GF_SIMD_BODY void momentum_update_loop(const gf_optim_coefs *k, gf_real *restrict v,
                                       gf_real *restrict p, const gf_real *restrict g, size_t n)
{
    gf_optim_coefs c = *k;
    for (size_t i = 0; i < n; i++)
        p[i] += gf_momentum_rule(&v[i], p[i], g[i], &c);
}
GF_SIMD_VOID(static, momentum_update,
             (const gf_optim_coefs *k, gf_real *restrict v, gf_real *restrict p,
              const gf_real *restrict g, size_t n),
             (k, v, p, g, n))

GF_SIMD_BODY void adam_update_loop(const gf_optim_coefs *k, gf_real *restrict m,
                                   gf_real *restrict v, gf_real *restrict p,
                                   const gf_real *restrict g, size_t n)
{
    gf_optim_coefs c = *k;
    for (size_t i = 0; i < n; i++)
        p[i] += gf_adam_rule(&m[i], &v[i], p[i], g[i], &c);
}
GF_SIMD_VOID(static, adam_update,
             (const gf_optim_coefs *k, gf_real *restrict m, gf_real *restrict v,
              gf_real *restrict p, const gf_real *restrict g, size_t n),
             (k, m, v, p, g, n))

/* The update of element i of the range without making it: the rules run on copies of
 * the state, so the measuring pass changes nothing. */
static gf_real delta_at(gf_optim_kind kind, const gf_optim_coefs *k, const gf_real *s0,
                        const gf_real *s1, gf_real p, gf_real g, size_t i)
{
    gf_real a, b;
    if (kind == GF_OPTIM_SGD)
        return gf_sgd_rule(p, g, k);
    a = s0[i];
    if (kind == GF_OPTIM_MOMENTUM)
        return gf_momentum_rule(&a, p, g, k);
    b = s1[i];
    return gf_adam_rule(&a, &b, p, g, k);
}

/* ||delta|| of the update the next step makes to this range, as gf_array_norm2 would
 * take it of a stored delta. The squares of double updates under 1e-150 underflow, so
 * the same sum is also taken of 2^400 delta and used when the plain one is that small
 * (a vanishing update must not read as 0). */
static double measure_update(gf_optim *opt, const gf_optim_coefs *k, const gf_real *p,
                             const gf_real *g, size_t offset, size_t n)
{
    const gf_real *s0 = slot_at(opt, 0, offset), *s1 = slot_at(opt, 1, offset);
    double sum = 0, scaled = 0;
    for (size_t i = 0; i < n; i++) {
        double d = delta_at(opt->cfg.kind, k, s0, s1, p[i], g[i], i);
        sum += d * d;
        scaled += (d * 0x1p400) * (d * 0x1p400);
    }
    return gf_update_norm_from_sums(sum, scaled);
}

/* p[i] += delta[i] for i < n by the rule of `kind`: the plain loops, which the fast update
 * also runs, piece by piece, on a step it does not measure (passed to it as a function:
 * src/fast/ sits below the engine). */
static void apply_update(gf_optim_kind kind, const gf_optim_coefs *k, gf_real *s0, gf_real *s1,
                         gf_real *p, const gf_real *g, size_t n)
{
    if (kind == GF_OPTIM_SGD)
        sgd_update(k, p, g, n);
    else if (kind == GF_OPTIM_MOMENTUM)
        momentum_update(k, s0, p, g, n);
    else
        adam_update(k, s0, s1, p, g, n);
}

/* The reference update: measure (when asked), then update, each in its own pass. */
gf_status gf_optim_update_ref(gf_optim *opt, gf_real *params, const gf_real *grads,
                              size_t offset, size_t count, double *update_norm,
                              double *param_sumsq)
{
    gf_optim_coefs k;
    gf_real *s0, *s1;
    gf_status st = check_range(opt, params, grads, offset, count);
    if (st != GF_OK)
        return st;
    k = coefs_of(opt);
    s0 = slot_at(opt, 0, offset);
    s1 = slot_at(opt, 1, offset);
    if (update_norm != NULL)
        *update_norm = measure_update(opt, &k, params, grads, offset, count);
    if (update_norm != NULL && param_sumsq != NULL)
        *param_sumsq = gf_array_sumsq(params, count);
    apply_update(opt->cfg.kind, &k, s0, s1, params, grads, count);
    return GF_OK;
}

gf_status gf_optim_update(gf_optim *opt, gf_real *params, const gf_real *grads, size_t offset,
                          size_t count, double *update_norm, double *param_sumsq)
{
    gf_optim_coefs k;
    gf_status st;
    if (!GF_FAST)
        return gf_optim_update_ref(opt, params, grads, offset, count, update_norm,
                                   param_sumsq);
    if ((st = check_range(opt, params, grads, offset, count)) != GF_OK)
        return st;
    k = coefs_of(opt);
    gf_fast_update(opt->cfg.kind, &k, slot_at(opt, 0, offset), slot_at(opt, 1, offset), params,
                   grads, count, update_norm, update_norm != NULL ? param_sumsq : NULL,
                   apply_update);
    return GF_OK;
}

gf_status gf_optim_compute(gf_optim *opt, gf_real *delta, const gf_real *params,
                           const gf_real *grads, size_t n)
{
    gf_optim_coefs k;
    gf_real *m, *v;
    GF_CHECK_NOT_NULL(opt, "optim_compute");
    GF_CHECK_NOT_NULL(delta, "optim_compute");
    GF_CHECK_NOT_NULL(params, "optim_compute");
    GF_CHECK_NOT_NULL(grads, "optim_compute");
    if (n != opt->n)
        return gf_fail(GF_ESHAPE, "optim_compute: %zu values given, optimiser was made for %zu",
                       n, opt->n);
    k = coefs_of(opt);
    m = opt->slot[0];
    v = opt->slot[1];
    /* delta may be grads: each element reads g[i] before it writes delta[i]. */
    for (size_t i = 0; i < n; i++) {
        if (opt->cfg.kind == GF_OPTIM_SGD)
            delta[i] = gf_sgd_rule(params[i], grads[i], &k);
        else if (opt->cfg.kind == GF_OPTIM_MOMENTUM)
            delta[i] = gf_momentum_rule(&m[i], params[i], grads[i], &k);
        else
            delta[i] = gf_adam_rule(&m[i], &v[i], params[i], grads[i], &k);
    }
    opt->steps++;
    return GF_OK;
}

size_t gf_optim_param_count(const gf_optim *opt) { return opt == NULL ? 0 : opt->n; }

void gf_optim_advance(gf_optim *opt)
{
    if (opt != NULL)
        opt->steps++;
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

/* ---- Learning-rate schedules -------------------------------------------------------- */

const char *gf_lr_schedule_name(gf_lr_schedule_kind kind)
{
    static const char *const names[GF_LR_SCHEDULE_COUNT] = {"constant", "step", "cosine"};
    return (unsigned)kind < GF_LR_SCHEDULE_COUNT ? names[kind] : NULL;
}

gf_status gf_lr_schedule_at(double *lr, const gf_lr_schedule *s, double lr0, uint64_t step)
{
    static const double pi = 3.14159265358979323846;
    GF_CHECK_NOT_NULL(lr, "gf_lr_schedule_at");
    GF_CHECK_NOT_NULL(s, "gf_lr_schedule_at");
    if (check_lr(lr0, "gf_lr_schedule_at") != GF_OK)
        return GF_EINVAL;
    switch (s->kind) {
    case GF_LR_CONSTANT:
        *lr = lr0;
        return GF_OK;
    case GF_LR_STEP:
        if (s->every < 1 || !(s->gamma > 0 && s->gamma <= 1))
            return gf_fail(GF_EINVAL, "gf_lr_schedule_at: step needs every >= 1 and gamma "
                           "in (0, 1], got %llu and %g", (unsigned long long)s->every, s->gamma);
        *lr = lr0 * pow(s->gamma, (double)(step / s->every));
        return GF_OK;
    case GF_LR_COSINE:
        if (s->total < 1 || !(s->min_lr >= 0 && s->min_lr < lr0))
            return gf_fail(GF_EINVAL, "gf_lr_schedule_at: cosine needs total >= 1 and "
                           "min_lr in [0, lr0), got %llu and %g", (unsigned long long)s->total,
                           s->min_lr);
        {
            double t = step < s->total ? (double)step : (double)s->total;
            *lr = s->min_lr + (lr0 - s->min_lr) * (1 + cos(pi * t / (double)s->total)) / 2;
        }
        return GF_OK;
    default:
        return gf_fail(GF_EINVAL, "gf_lr_schedule_at: unknown schedule %d", (int)s->kind);
    }
}

const gf_optim_config *gf_optim_config_of(const gf_optim *opt)
{
    return opt == NULL ? NULL : &opt->cfg;
}

uint64_t gf_optim_steps(const gf_optim *opt) { return opt == NULL ? 0 : opt->steps; }

const gf_real *gf_optim_state(const gf_optim *opt, size_t *n_state, int slot)
{
    return gf_optim_state_mut((gf_optim *)opt, n_state, slot); /* only read through */
}

gf_real *gf_optim_state_mut(gf_optim *opt, size_t *n_state, int slot)
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
