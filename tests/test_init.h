/* tests/test_init.h: what the two sources of the initialisation test program share
 * (test_init.c: the schemes' sample statistics, orthogonality, determinism, validation;
 * test_init_net.c: whole networks, LSUV, suited schemes). */
#ifndef GRADFLOW_TEST_INIT_H
#define GRADFLOW_TEST_INIT_H

#include "testutil.h"

#include "gradflow/act.h"

#include "gradflow/init.h"
#include "gradflow/net.h"
#include "gradflow/norm.h"

typedef struct stats {
    double mean, var, min, max;
    size_t n;
} stats;

/* ---- test_init.c ---- */
stats stats_of(const gf_tensor *w);

/* The Gram matrix of the shorter side must be gain^2 I. */
void check_orthogonal(const gf_tensor *w, double gain);

/* ---- test_init_net.c ---- */
void net_init_sets_every_linear_layer(void **state);

void lsuv_gives_unit_output_variance(void **state);

/* LSUV measures each layer's output on the batch in training mode, where batch norm
 * updates its running statistics: an initialisation must leave them as they were. */
void lsuv_leaves_batchnorm_running_statistics_alone(void **state);

void lsuv_rejects_bad_arguments(void **state);

/* gf_mlp_spec's act_param: designated initialisers leave it 0, which (like NaN) means
 * the activation's default (leaky slope 0.01, ELU alpha 1), not a slope of 0 that would
 * silently make leaky ReLU a plain ReLU; any other value is used as given. */
void mlp_spec_without_act_param_gives_the_default(void **state);

void suited_init_follows_the_activation_table(void **state);

#endif
