/* src/engine/net_state.h: the fields of a gf_net, private to the engine: net.c (the
 * engine) and net_access.c (its accessors and options). */
#ifndef GRADFLOW_NET_STATE_H
#define GRADFLOW_NET_STATE_H

#include "gradflow/net.h"

struct gf_net {
    size_t in_features;
    gf_layer *layers;
    size_t n_layers;
    size_t cap_layers;

    gf_real *params; /* every parameter, layer after layer */
    gf_real *grads;  /* dL/dparams, same layout */
    size_t n_params;

    /* Boundary i (0..n_layers): acts[i] is the input of layer i (acts[0] a copy of the
     * batch), dacts[i] = dL/dacts[i]. Views into act_block and dact_block. */
    gf_tensor *acts;
    gf_tensor *dacts;
    double *grad_norms;  /* ||dacts[i]||, scratch of the record pass */
    gf_record *pending;  /* the records of the current backward pass, one per layer */
    gf_real *act_block;
    gf_real *dact_block;
    size_t batch_cap;    /* rows the blocks hold; 0 after the architecture changes */
    size_t batch;        /* rows of the last forward pass */

    int have_forward;    /* acts hold a forward pass */
    int have_loss;       /* dacts[n_layers] holds dL/dy for that pass */
    int have_backward;   /* grads hold a backward pass not yet stepped on */
    int last_nonfinite;  /* that backward pass saw NaN or infinity */
    double last_loss;

    uint64_t step;       /* backward passes so far */
    uint64_t record_every;
    int input_grad;
    int last_input_grad; /* the last backward pass computed dacts[0] */
    int skip_nonfinite;

    gf_telemetry *tel;
    size_t last_first_record; /* index of the last recorded step's first record */
    int last_recorded;        /* the last backward pass was recorded */
    int weight_norms_later;   /* gf_net_train_step: records leave ||W|| to the update */
    int weight_norms_pending; /* the last records wait for their ||W|| */
};

#endif
