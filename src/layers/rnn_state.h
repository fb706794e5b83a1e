/* src/layers/rnn_state.h: what the recurrent layers' cells (layers/rnn.c) share with
 * their inspection, telemetry and model codec (layers/rnn_inspect.c): the state behind
 * gf_layer.state and the ops that identify a recurrent layer. Not installed. */
#ifndef GRADFLOW_LAYERS_RNN_STATE_H
#define GRADFLOW_LAYERS_RNN_STATE_H

#include "gradflow/rnn.h"

typedef struct rnn_state {
    gf_rnn_cell cell;
    size_t in;           /* features per step */
    size_t H;            /* hidden units */
    size_t T;            /* steps */
    size_t G;            /* gates: 1, 4 or 3 */
    unsigned flags;
    size_t cap;          /* rows the buffers hold */
    gf_real *hs;         /* h_0..h_T, (T+1, batch, H) */
    gf_real *cs;         /* LSTM: c_0..c_T, (T+1, batch, H) */
    gf_real *gates;      /* gate values after their nonlinearity, (T, batch, G*H) */
    gf_real *aux;        /* LSTM: tanh(c_t); GRU: r h_{t-1}; (T, batch, H) */
    gf_real *da;         /* backward: dL/da of one step, (batch, G*H) */
    gf_real *dh, *dh_prev, *dc, *tmp; /* backward: (batch, H) each */
    double *db;          /* backward: bias gradient summed over steps and rows, (G*H) */
    double *norms;       /* ||dL/dh_t||, t = 1..T, of the last backward pass */
    size_t rows;         /* rows of the cached forward pass; 0: none */
    int have_norms;      /* norms hold a backward pass */
} rnn_state;

/* Gates per cell, in gf_rnn_cell order: 1 (tanh), 4 (LSTM: i, f, g, o), 3 (GRU: r, z, n). */
extern const size_t gf_rnn_gates[GF_RNN_CELL_COUNT];

/* The operations of every recurrent layer: a layer is recurrent when l->ops is this. */
extern const gf_layer_ops gf_rnn_ops;

/* *out = l's state; GF_EINVAL when l is not a recurrent layer, GF_ESTATE when released.
 * The state is borrowed from l. */
gf_status gf_rnn_state_of(const gf_layer *l, const char *who, rnn_state **out);

#endif
