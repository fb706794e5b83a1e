/* gradflow/rnn.h: recurrent layers (vanilla tanh RNN, LSTM, GRU) unrolled over T steps
 * and trained by backpropagation through time, with the norm of dL/dh_t recorded for
 * every step t on each backward pass: the figure of vanishing gradients through time.
 *
 * Shapes: the layer's input is (batch, T*in), each row a sequence of T steps of `in`
 * features, step t (0-based) in columns [t*in, (t+1)*in). Its output is the last hidden
 * state h_T (batch, H), or with GF_RNN_SEQUENCE every h_1..h_T as (batch, T*H), step t
 * in columns [(t-1)*H, t*H). h_0 = 0 (and c_0 = 0).
 *
 * Parameters (views into the network's blocks like any layer's): weight (G*H, in+H),
 * gate block g = rows [g*H, (g+1)*H), each row [W_x row | W_h row]; bias (1, G*H).
 * With a_g = W_x^g x_t + W_h^g h_{t-1} + b_g:
 *   tanh RNN (G = 1): h_t = tanh(a)
 *   LSTM (G = 4, gates i, f, g, o; Hochreiter and Schmidhuber 1997, with forget gate):
 *     i, f, o = sigmoid(a_i, a_f, a_o), g = tanh(a_g),
 *     c_t = f c_{t-1} + i g,  h_t = o tanh(c_t)
 *   GRU (G = 3, gates r, z, n; Cho et al. 2014):
 *     r, z = sigmoid(a_r, a_z),  n = tanh(W_x^n x_t + W_h^n (r h_{t-1}) + b_n),
 *     h_t = (1 - z) n + z h_{t-1}
 * (products element-wise). The LSTM's forget-gate bias starts at 1 (Gers et al. 2000,
 * Jozefowicz et al. 2015), every other bias at 0. Init schemes of init.h do not touch
 * these layers (is_parametric is 0): use gf_rnn_init. */
#ifndef GRADFLOW_RNN_H
#define GRADFLOW_RNN_H

#include <stdio.h>

#include "gradflow/init.h"
#include "gradflow/layer.h"
#include "gradflow/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

struct gf_net;

typedef enum gf_rnn_cell {
    GF_RNN_TANH, /* "rnn" (also "tanh"): h_t = tanh(W_x x_t + W_h h_{t-1} + b) */
    GF_RNN_LSTM, /* "lstm" */
    GF_RNN_GRU,  /* "gru" */
    GF_RNN_CELL_COUNT
} gf_rnn_cell;

/* Output every hidden state (batch, T*H) instead of the last one (batch, H). */
#define GF_RNN_SEQUENCE 1u

/* "rnn", "lstm", "gru"; NULL when invalid. */
const char *gf_rnn_cell_name(gf_rnn_cell cell);
/* Look a cell up by name ("tanh" is accepted for "rnn"). Unknown: GF_ENOTFOUND. */
gf_status gf_rnn_cell_from_name(gf_rnn_cell *out, const char *name);

/* Set up l as a recurrent layer over steps >= 1 steps of in features with hidden units.
 * Zero sizes, an invalid cell, unknown flags or sizes beyond the element limit:
 * GF_EINVAL. Weights start at 0 once bound: initialise with gf_rnn_init. */
gf_status gf_layer_rnn(gf_layer *l, gf_rnn_cell cell, size_t in, size_t hidden,
                       size_t steps, unsigned flags);

/* Initialise a bound recurrent layer. init NULL: every weight U(-1/sqrt(H), 1/sqrt(H))
 * (as PyTorch). Otherwise the scheme fills each gate's W_x^g (H, in) and W_h^g (H, H)
 * separately (e.g. "orthogonal" for W_h), biases = init->bias. Then the LSTM's forget
 * bias is set to 1 (added to init->bias). LSUV: GF_EUNSUPPORTED. */
gf_status gf_rnn_init(gf_layer *l, const gf_init *init, gf_rng *rng);

/* Append a recurrent layer reading the network's current output as `steps` steps (the
 * width must be a multiple of steps), initialised by gf_rnn_init(.., init, rng). */
gf_status gf_net_add_rnn(struct gf_net *net, gf_rnn_cell cell, size_t hidden, size_t steps,
                         unsigned flags, const gf_init *init, gf_rng *rng);

/* The cell, per-step input width, hidden width and steps of a recurrent layer. Not a
 * recurrent layer: GF_EINVAL. Any out-pointer may be NULL. */
gf_status gf_rnn_shape(const gf_layer *l, gf_rnn_cell *cell, size_t *in, size_t *hidden,
                       size_t *steps);

/* The flags (0 or GF_RNN_SEQUENCE) a recurrent layer was made with. Not a recurrent
 * layer: GF_EINVAL. */
gf_status gf_rnn_flags(const gf_layer *l, unsigned *flags);

/* Telemetry through time: norms[t-1] = ||dL/dh_t|| (Frobenius norm over the batch) for
 * t = 1..T, of the last backward pass (borrowed, valid until the next backward pass or
 * release); dL/dh_t counts every path from h_t to the loss (through later steps and,
 * with GF_RNN_SEQUENCE, the output at t). Before any backward pass: GF_ESTATE. */
gf_status gf_rnn_time_grad_norms(const gf_layer *l, const double **norms, size_t *steps);

/* The gradient norms per parameter group: ||dL/dW_x||, ||dL/dW_h||, ||dL/db|| (any
 * pointer may be NULL), read from the gradient views when called: the last backward
 * pass's gradients before gf_net_clip, the clipped ones after it. Needs the views bound. */
gf_status gf_rnn_param_grad_norms(const gf_layer *l, double *wx, double *wh, double *b);

/* Write the time telemetry as CSV lines "step,t,grad_h_norm" (t = 1..T), preceded by
 * that header line when header is nonzero; step is the caller's label (e.g. the
 * network's step count). */
gf_status gf_rnn_write_time_csv(const gf_layer *l, FILE *stream, uint64_t step, int header);

#ifdef __cplusplus
}
#endif
#endif
