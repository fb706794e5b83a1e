/* src/engine/optim.c: SGD, momentum (PyTorch's form) and Adam (bias-corrected). The public
 * gf_optim_compute writes the update delta for a flat block without touching the
 * parameters; the network's step applies it in place, range by range, measuring the
 * update as it goes (gf_optim_apply_range, internal.h). Not here: decoupled decay (AdamW),
 * Nesterov, dampening, AMSGrad; clipping lives in clip.c. */
#include <stdint.h>
#include <string.h>

#include "core/internal.h"
#include "gradflow/optim.h"
#include "fast/simd.h"

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

/* Each kind's rule is one inline function of one element; the loops below run it over
 * a range, either writing the update (gf_optim_compute, which never touches the
 * parameters) or adding it to the parameters in the same pass (gf_optim_apply_range, the
 * network's step: no update block to store and read back). The loops are element-wise
 * in gf_real with coefficients fixed per call, so they vectorise; delta may alias grads.
 * Weight decay is PyTorch's non-decoupled L2: g <- g + wd * p. */

#if GF_REAL_IS_DOUBLE
#define REAL_SQRT sqrt
#else
#define REAL_SQRT sqrtf
#endif

/* The coefficients of one step, in gf_real. */
typedef struct coefs {
    gf_real lr, wd, mu;                   /* SGD, momentum */
    gf_real b1, a1, b2, a2, step, inv_sqrt_c2, eps; /* Adam */
} coefs;

static coefs coefs_of(const gf_optim *opt)
{
    const gf_optim_config *c = &opt->cfg;
    coefs k = {(gf_real)c->lr, (gf_real)c->weight_decay, (gf_real)c->momentum, 0, 0, 0, 0, 0,
               0, 0};
    if (c->kind == GF_OPTIM_ADAM) {
        /* 1 - beta and the bias corrections 1 - beta^t in double, once per step: in
         * float, 1 - 0.999f is off by 1.3e-5 relative and 1 - 0.999f^t worse. t >= 1
         * and beta < 1, so both corrections are > 0. mhat / (sqrt(vhat) + eps) is
         * written as (m / c1) / (sqrt(v) / sqrt(c2) + eps): PyTorch's arrangement. */
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

/* delta = -lr (g + wd p). */
static inline gf_real sgd_rule(gf_real p, gf_real g, const coefs *k)
{
    return -k->lr * (g + k->wd * p);
}

/* v = mu v + g; delta = -lr v. */
static inline gf_real momentum_rule(gf_real *v, gf_real p, gf_real g, const coefs *k)
{
    gf_real vi = k->mu * *v + (g + k->wd * p);
    *v = vi;
    return -k->lr * vi;
}

/* m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; delta = -lr mhat / (sqrt(vhat) + eps). */
static inline gf_real adam_rule(gf_real *m, gf_real *v, gf_real p, gf_real g, const coefs *k)
{
    gf_real gi = g + k->wd * p;
    gf_real mi = k->b1 * *m + k->a1 * gi;
    gf_real vi = k->b2 * *v + k->a2 * gi * gi;
    *m = mi;
    *v = vi;
    return -k->step * mi / (REAL_SQRT(vi) * k->inv_sqrt_c2 + k->eps);
}

/* delta[i] = the rule's update, i < n; s0, s1 the state slots at this range. */
GF_CLONES static void compute_loop(gf_optim_kind kind, const coefs *k, gf_real *delta,
                                   gf_real *s0, gf_real *s1, const gf_real *p,
                                   const gf_real *g, size_t n)
{
    coefs c = *k;
    if (kind == GF_OPTIM_SGD)
        for (size_t i = 0; i < n; i++)
            delta[i] = sgd_rule(p[i], g[i], &c);
    else if (kind == GF_OPTIM_MOMENTUM)
        for (size_t i = 0; i < n; i++)
            delta[i] = momentum_rule(&s0[i], p[i], g[i], &c);
    else
        for (size_t i = 0; i < n; i++)
            delta[i] = adam_rule(&s0[i], &s1[i], p[i], g[i], &c);
}

/* p[i] += the rule's update for i < n. With sums != NULL, also the sum of the squared
 * updates in double (LANES lanes, then the tail): the update ratio ||delta W|| / ||W||
 * then costs no pass of its own; and sums[2], the sum of the squared parameters before
 * their update, for an engine that takes ||W|| here instead of in a pass of its own. In
 * the double build sums[1] is the same sum of (2^400 delta)^2, exact where the squares of
 * updates below 1e-150 underflow (a vanishing update must not read as 0); float updates
 * cannot underflow a double. */
enum { LANES = 16 };
#define SMALL_SCALE 0x1p400

#if GF_REAL_IS_DOUBLE
#define ADD_SMALL(acc, d) ((acc) += ((d) * SMALL_SCALE) * ((d) * SMALL_SCALE))
#else
#define ADD_SMALL(acc, d) ((void)(acc))
#endif

#define APPLY_LOOP(RULE)                                                                  \
    do {                                                                                  \
        if (sums == NULL) {                                                               \
            for (size_t i = 0; i < n; i++)                                                \
                p[i] += RULE(i);                                                          \
            return;                                                                       \
        }                                                                                 \
        double lane[LANES] = {0}, small[LANES] = {0}, old[LANES] = {0};                   \
        double s = 0, sm = 0, so = 0;                                                     \
        size_t i = 0;                                                                     \
        for (; i + LANES <= n; i += LANES)                                                \
            for (size_t l = 0; l < LANES; l++) {                                          \
                gf_real d = RULE(i + l);                                                  \
                lane[l] += (double)d * d;                                                 \
                ADD_SMALL(small[l], d);                                                   \
                old[l] += (double)p[i + l] * p[i + l];                                    \
                p[i + l] += d;                                                            \
            }                                                                             \
        for (size_t l = 0; l < LANES; l++) {                                              \
            s += lane[l];                                                                 \
            sm += small[l];                                                               \
            so += old[l];                                                                 \
        }                                                                                 \
        for (; i < n; i++) {                                                              \
            gf_real d = RULE(i);                                                          \
            s += (double)d * d;                                                           \
            ADD_SMALL(sm, d);                                                             \
            so += (double)p[i] * p[i];                                                    \
            p[i] += d;                                                                    \
        }                                                                                 \
        sums[0] = s;                                                                      \
        sums[1] = sm;                                                                     \
        sums[2] = so;                                                                     \
    } while (0)

#define SGD_AT(j) sgd_rule(p[j], g[j], &c)
#define MOMENTUM_AT(j) momentum_rule(&s0[j], p[j], g[j], &c)
#define ADAM_AT(j) adam_rule(&s0[j], &s1[j], p[j], g[j], &c)

GF_CLONES static void apply_sgd(const coefs *k, gf_real *restrict p,
                                const gf_real *restrict g, size_t n, double *sums)
{
    coefs c = *k;
    APPLY_LOOP(SGD_AT);
}

GF_CLONES static void apply_momentum(const coefs *k, gf_real *restrict s0,
                                     gf_real *restrict p, const gf_real *restrict g, size_t n,
                                     double *sums)
{
    coefs c = *k;
    APPLY_LOOP(MOMENTUM_AT);
}

GF_CLONES static void apply_adam(const coefs *k, gf_real *restrict s0, gf_real *restrict s1,
                                 gf_real *restrict p, const gf_real *restrict g, size_t n,
                                 double *sums)
{
    coefs c = *k;
    APPLY_LOOP(ADAM_AT);
}

#undef SGD_AT
#undef MOMENTUM_AT
#undef ADAM_AT
#undef APPLY_LOOP
#undef ADD_SMALL

/* The state slots of the range starting at offset (NULL where the kind has none). */
static gf_real *slot_at(gf_optim *opt, int slot, size_t offset)
{
    return opt->slot[slot] != NULL ? opt->slot[slot] + offset : NULL;
}

gf_status gf_optim_compute(gf_optim *opt, gf_real *delta, const gf_real *params,
                           const gf_real *grads, size_t n)
{
    coefs k;
    GF_CHECK_NOT_NULL(opt, "optim_compute");
    GF_CHECK_NOT_NULL(delta, "optim_compute");
    GF_CHECK_NOT_NULL(params, "optim_compute");
    GF_CHECK_NOT_NULL(grads, "optim_compute");
    if (n != opt->n)
        return gf_fail(GF_ESHAPE, "optim_compute: %zu values given, optimiser was made for %zu",
                       n, opt->n);
    k = coefs_of(opt);
    compute_loop(opt->cfg.kind, &k, delta, slot_at(opt, 0, 0), slot_at(opt, 1, 0), params,
                 grads, n);
    opt->steps++;
    return GF_OK;
}

gf_status gf_optim_apply_range(gf_optim *opt, gf_real *params, const gf_real *grads,
                               size_t offset, size_t count, double *update_norm,
                               double *param_sumsq)
{
    coefs k;
    double sums[3] = {0, 0, 0};
    double *want = update_norm != NULL || param_sumsq != NULL ? sums : NULL;
    gf_real *s0, *s1;
    GF_CHECK_NOT_NULL(opt, "optim_apply_range");
    GF_CHECK_NOT_NULL(params, "optim_apply_range");
    GF_CHECK_NOT_NULL(grads, "optim_apply_range");
    if (offset > opt->n || count > opt->n - offset)
        return gf_fail(GF_ESHAPE, "optim_apply_range: values [%zu, %zu) are outside the %zu "
                       "the optimiser was made for", offset, offset + count, opt->n);
    k = coefs_of(opt);
    s0 = slot_at(opt, 0, offset);
    s1 = slot_at(opt, 1, offset);
    if (opt->cfg.kind == GF_OPTIM_SGD)
        apply_sgd(&k, params, grads, count, want);
    else if (opt->cfg.kind == GF_OPTIM_MOMENTUM)
        apply_momentum(&k, s0, params, grads, count, want);
    else
        apply_adam(&k, s0, s1, params, grads, count, want);
    if (update_norm != NULL) {
        /* As gf_array_norm2: the plain sum unless it may have underflowed. */
        if (!(sums[0] < 0x1p-600) || !GF_REAL_IS_DOUBLE)
            *update_norm = sqrt(sums[0]);
        else
            *update_norm = sqrt(sums[1]) / SMALL_SCALE;
    }
    if (param_sumsq != NULL)
        *param_sumsq = sums[2];
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
