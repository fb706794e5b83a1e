/* gradflow/budget.h: the memory a network will need, computed from its options before
 * anything is built, so that a network too large for the memory limit (common.h,
 * gf_set_memory_limit) is refused in microseconds rather than after minutes of
 * allocating. The figure counts the large blocks only (parameters, gradients, optimiser
 * state, the activations of a batch and the caches of its backward pass), not the
 * small per-layer records. */
#ifndef GRADFLOW_BUDGET_H
#define GRADFLOW_BUDGET_H

#include "gradflow/common.h"
#include "gradflow/optim.h"
#include "gradflow/rnn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A network as gf_net_new_mlp (and the gradflow program) builds it. */
typedef struct gf_net_plan {
    size_t in;            /* input features */
    size_t out;           /* output features */
    size_t batch;         /* rows per forward pass */
    gf_optim_kind optim;  /* its state: none (sgd), one slot (momentum), two (adam) */
    /* An MLP (cell < 0): depth linear layers in -> width -> ... -> out. */
    size_t width, depth;
    int norm;             /* 1: a normalisation layer after each hidden linear layer */
    size_t residual;      /* K > 0: the hidden layers as residual blocks of K (depth = 2 +
                             a multiple of K) */
    /* A recurrent net (cell >= 0, a gf_rnn_cell): one recurrent layer of hidden units
     * over steps steps (in / steps features each), then a linear layer to out. */
    int cell;
    size_t hidden, steps;
} gf_net_plan;

/* A plan with every field 0 but cell = -1 (an MLP) and optim GF_OPTIM_SGD. */
gf_net_plan gf_net_plan_default(void);

/* The bytes the planned network needs, split into its parts (either output may be
 * NULL): params = parameters + gradients + optimiser state, acts = the activations and
 * their gradients for one batch, with the backward pass's caches. Sums that overflow
 * size_t saturate at SIZE_MAX. Zero sizes (in, out, batch; width and depth for an MLP;
 * hidden and steps for a recurrent net): GF_EINVAL. */
gf_status gf_net_plan_bytes(size_t *params, size_t *acts, const gf_net_plan *plan);

/* GF_OK when the planned network fits gf_memory_limit(), else GF_ENOMEM with a message
 * giving the bytes needed (and their parts) and the limit. */
gf_status gf_net_plan_check(const gf_net_plan *plan);

#ifdef __cplusplus
}
#endif
#endif
