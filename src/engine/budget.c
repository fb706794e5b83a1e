/* src/engine/budget.c: the bytes a network will need, from its options alone. Counted in
 * double (exact for any size below 2^53, and it cannot wrap round), then saturated into
 * size_t. What is counted mirrors the allocations of net.c (one parameter block, one
 * gradient block, the boundary activations and their gradients for a batch), optim.c
 * (its state slots) and the layers' caches (residual.c, rnn.c). */
#include <stdint.h>

#include "gradflow/budget.h"
#include "core/internal.h"

gf_net_plan gf_net_plan_default(void)
{
    gf_net_plan p = {.optim = GF_OPTIM_SGD, .cell = -1};
    return p;
}

/* State values per parameter: sgd none, momentum its velocity, adam two moments. */
static double optim_slots(gf_optim_kind kind)
{
    return kind == GF_OPTIM_ADAM ? 2 : kind == GF_OPTIM_MOMENTUM ? 1 : 0;
}

/* A linear layer's parameters, W (out, in) and b (out). */
static double linear_params(double in, double out) { return in * out + out; }

/* An MLP: parameters and the widths of every boundary between layers, whose activations
 * and gradients the engine keeps for a batch. */
static void mlp_counts(const gf_net_plan *p, double *params, double *boundaries)
{
    double w = (double)p->width, in = (double)p->in;
    size_t hidden = p->residual ? 1 : p->depth - 1;
    size_t blocks = p->residual ? (p->depth - 2) / p->residual : 0;
    double per_hidden = p->norm ? 3 * w : 2 * w; /* linear, [norm,] activation outputs */
    *params = linear_params(in, hidden ? w : (double)p->out); /* the first layer */
    *params += (double)(hidden ? hidden - 1 : 0) * linear_params(w, w);
    if (hidden)
        *params += linear_params(w, (double)p->out);
    *params += (double)(hidden + blocks * (p->residual - 1)) * (p->norm ? 2 * w : 0);
    *params += (double)blocks * (double)p->residual * linear_params(w, w);
    *boundaries = in + (double)hidden * per_hidden + (double)p->out;
    /* A block: skip_begin (output and its saved copy), K - 1 hidden layers, the last
     * linear layer, skip_add. */
    *boundaries += (double)blocks *
                   (2 * w + (double)(p->residual - 1) * per_hidden + w + w);
}

/* A recurrent net: the recurrent layer unrolled over its steps for a batch (rnn.c keeps
 * h_t, the gates and, for LSTM and GRU, one more value per step for backward), then the
 * linear output layer. */
static void rnn_counts(const gf_net_plan *p, double *params, double *boundaries,
                       double *cache)
{
    double H = (double)p->hidden, T = (double)p->steps, B = (double)p->batch;
    double x = (double)p->in / T;
    double G = p->cell == GF_RNN_LSTM ? 4 : p->cell == GF_RNN_GRU ? 3 : 1;
    double seq = (T + 1) * B * H;
    *params = G * (H * x + H * H + H) + linear_params(H, (double)p->out);
    *boundaries = (double)p->in + H + (double)p->out;
    *cache = seq + T * B * H * G + 4 * B * H * G;
    if (p->cell != GF_RNN_TANH)
        *cache += seq;
    if (p->cell == GF_RNN_LSTM)
        *cache += seq;
}

static size_t saturate(double bytes)
{
    return bytes >= (double)SIZE_MAX ? SIZE_MAX : (size_t)bytes;
}

gf_status gf_net_plan_bytes(size_t *params, size_t *acts, const gf_net_plan *plan)
{
    const char *who = "gf_net_plan_bytes";
    double n_params = 0, boundaries = 0, cache = 0, real = (double)sizeof(gf_real);
    GF_CHECK_NOT_NULL(plan, who);
    if (plan->in == 0 || plan->out == 0 || plan->batch == 0)
        return gf_fail(GF_EINVAL, "%s: in, out and batch must be >= 1", who);
    if ((unsigned)plan->optim >= GF_OPTIM_COUNT)
        return gf_fail(GF_EINVAL, "%s: unknown optimiser %d", who, (int)plan->optim);
    if (plan->cell >= 0) {
        if (plan->cell >= GF_RNN_CELL_COUNT || plan->hidden == 0 || plan->steps == 0)
            return gf_fail(GF_EINVAL, "%s: a recurrent plan needs a cell, hidden and steps",
                           who);
        rnn_counts(plan, &n_params, &boundaries, &cache);
    } else {
        if (plan->width == 0 || plan->depth == 0)
            return gf_fail(GF_EINVAL, "%s: an MLP plan needs width and depth >= 1", who);
        if (plan->residual && (plan->depth < plan->residual + 2 ||
                               (plan->depth - 2) % plan->residual != 0))
            return gf_fail(GF_EINVAL, "%s: depth %zu is not 2 + a multiple of residual %zu",
                           who, plan->depth, plan->residual);
        mlp_counts(plan, &n_params, &boundaries);
    }
    /* Parameters, their gradients, and the optimiser's slots of the same size. */
    if (params != NULL)
        *params = saturate(n_params * (2 + optim_slots(plan->optim)) * real);
    /* Each boundary's activation and its gradient, batch rows of each. */
    if (acts != NULL)
        *acts = saturate((2 * boundaries * (double)plan->batch + cache) * real);
    return GF_OK;
}

gf_status gf_net_plan_check(const gf_net_plan *plan)
{
    size_t params, acts, limit = gf_memory_limit();
    gf_status st = gf_net_plan_bytes(&params, &acts, plan);
    if (st != GF_OK)
        return st;
    if (params <= limit && acts <= limit - params)
        return GF_OK;
    return gf_fail(GF_ENOMEM, "the network needs %.4g GB (%.4g GB of parameters, gradients "
                   "and optimiser state, %.4g GB of activations for a batch of %zu), more "
                   "than the memory limit of %.4g GB (%zu bytes)",
                   ((double)params + (double)acts) / 1e9, (double)params / 1e9,
                   (double)acts / 1e9, plan->batch, (double)limit / 1e9, limit);
}
