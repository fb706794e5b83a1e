/* gradflow/optim.h: optimisers. An optimiser computes the update delta for a flat
 * parameter block from its gradient block. gf_net_step applies it to the network's
 * parameters in place, measuring it in the same pass (the update ratio ||dW|| / ||W||
 * in the telemetry); gf_optim_compute gives it to you without applying it. */
#ifndef GRADFLOW_OPTIM_H
#define GRADFLOW_OPTIM_H

#include "gradflow/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum gf_optim_kind {
    GF_OPTIM_SGD,      /* delta = -lr g */
    GF_OPTIM_MOMENTUM, /* v = mu v + g; delta = -lr v (PyTorch's form) */
    GF_OPTIM_ADAM,     /* Kingma and Ba 2015, bias-corrected */
    GF_OPTIM_COUNT
} gf_optim_kind;

typedef struct gf_optim_config {
    gf_optim_kind kind;
    double lr;           /* learning rate, > 0 */
    double momentum;     /* MOMENTUM: mu in [0, 1) */
    double beta1, beta2; /* ADAM: in [0, 1) */
    double eps;          /* ADAM: > 0 */
    double weight_decay; /* L2 penalty wd: wd * params is added to the gradient before the
                            rule, for every kind, biases included (PyTorch's weight_decay
                            of SGD and Adam; not AdamW's decoupled p -= lr wd p), >= 0 */
} gf_optim_config;

/* Defaults: lr 0.01 (Adam 0.001), momentum 0.9, betas 0.9 and 0.999, eps 1e-8, no decay. */
gf_optim_config gf_optim_default(gf_optim_kind kind);

/* "sgd", "momentum", "adam". Unknown: GF_ENOTFOUND. gf_optim_name: NULL when invalid. */
gf_status gf_optim_from_name(gf_optim_kind *out, const char *name);
const char *gf_optim_name(gf_optim_kind kind);

typedef struct gf_optim gf_optim;

/* Create an optimiser for n parameters (state zeroed). Bad config (only the fields the
 * kind uses are checked), n = 0 or n > 2^40: GF_EINVAL. */
gf_status gf_optim_new(gf_optim **out, const gf_optim_config *config, size_t n);
void gf_optim_free(gf_optim *opt);

/* delta[i] = the update for params[i] given grads[i] (not applied here); advances the
 * optimiser's state by one step. n must be the n given to gf_optim_new (else GF_ESHAPE).
 * delta may be grads (in place). Weight decay adds weight_decay * params[i] to grads[i]. */
gf_status gf_optim_compute(gf_optim *opt, gf_real *delta, const gf_real *params,
                           const gf_real *grads, size_t n);

/* Change the learning rate (schedules). */
gf_status gf_optim_set_lr(gf_optim *opt, double lr);

/* ---- Learning-rate schedules ----------------------------------------------------------
 * The rate at step t (from 0) of a base rate lr0, as PyTorch's schedulers stepped once
 * per training step:
 *   CONSTANT  lr0;
 *   STEP      lr0 * gamma^floor(t / every)                        (StepLR);
 *   COSINE    min_lr + (lr0 - min_lr) (1 + cos(pi t / total)) / 2 (CosineAnnealingLR,
 *             t held at total after it). */
typedef enum gf_lr_schedule_kind {
    GF_LR_CONSTANT,
    GF_LR_STEP,
    GF_LR_COSINE,
    GF_LR_SCHEDULE_COUNT
} gf_lr_schedule_kind;

typedef struct gf_lr_schedule {
    gf_lr_schedule_kind kind;
    uint64_t every;  /* STEP: steps between two decays, >= 1 */
    double gamma;    /* STEP: the factor of each decay, in (0, 1] */
    uint64_t total;  /* COSINE: steps of the half cosine (the run's length), >= 1 */
    double min_lr;   /* COSINE: the rate it ends at, in [0, lr0) */
} gf_lr_schedule;

/* The rate at `step` into *lr. Bad fields (for the kind) or lr0 not > 0: GF_EINVAL. */
gf_status gf_lr_schedule_at(double *lr, const gf_lr_schedule *s, double lr0, uint64_t step);

/* "constant", "step", "cosine"; NULL when invalid. */
const char *gf_lr_schedule_name(gf_lr_schedule_kind kind);

/* The configuration, step count and the n it was made for (0 for NULL). */
const gf_optim_config *gf_optim_config_of(const gf_optim *opt);
uint64_t gf_optim_steps(const gf_optim *opt);
size_t gf_optim_param_count(const gf_optim *opt);

/* Borrowed access to the state, for saving and resuming: *n_state values per slot,
 * slot 0 = momentum/first moment, slot 1 = second moment; NULL when the kind has no
 * such slot. Valid until gf_optim_free. gf_optim_state_mut: the same, writable (to
 * restore a checkpoint). set_steps restores the step count (Adam's bias correction). */
const gf_real *gf_optim_state(const gf_optim *opt, size_t *n_state, int slot);
gf_real *gf_optim_state_mut(gf_optim *opt, size_t *n_state, int slot);
void gf_optim_set_steps(gf_optim *opt, uint64_t steps);

#ifdef __cplusplus
}
#endif
#endif
