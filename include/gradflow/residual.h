/* gradflow/residual.h: residual blocks (He et al. 2016) in the flat stack of layers. A
 * block is a pair of layers around ordinary layers F of the same network:
 *
 *   skip_begin   y = x, and keeps a copy s = x                  (batch, n)
 *   F            any layers (linear, activation, norm, ...)    (batch, n) -> (batch, m)
 *   skip_add     y = x + s          when m = n (x = F(s))
 *                y = x + s P^T + p  otherwise: a learnt projection P (m, n), p (1, m)
 *
 * so y = s + F(s). The skip edge passes dL/dy to dL/ds unchanged, which is why gradients
 * survive depth: dL/ds = dL/dy (I + dF/ds). skip_add's backward leaves dL/ds (dy, or dy P)
 * in the state the pair shares, and skip_begin's backward, which the engine always runs
 * later (it goes from the last layer to the first), adds it to the gradient F gave it.
 *
 * F's layers are layers of the network: its parameters live in the network's block, its
 * layers are initialised by gf_net_init and each records its telemetry (the signal
 * figure, heat map and verdict see every inner linear layer). Blocks nest like brackets.
 * P and p are skip_add's weight and bias; they start at P ~ N(0, 1/n) (LeCun: the skip
 * keeps the variance of s), p = 0, and no init scheme rescales them. */
#ifndef GRADFLOW_RESIDUAL_H
#define GRADFLOW_RESIDUAL_H

#include "gradflow/init.h"
#include "gradflow/layer.h"
#include "gradflow/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

struct gf_net;

/* ---- The two layers ----------------------------------------------------------------- */

/* Set up l as a skip_begin over n features, opening a block (closed by gf_layer_skip_add).
 * Its state is shared with the skip_add that closes it, and freed with the last of the
 * two. */
gf_status gf_layer_skip_begin(gf_layer *l, size_t n);

/* Set up l as the skip_add closing the open block of begin (a skip_begin not yet closed;
 * borrowed, only read now): in is the width of F's output, which is also l's output;
 * when it differs from begin's width, the projection is drawn from rng (else rng may
 * be NULL). Once l is released, begin is open again. */
gf_status gf_layer_skip_add(gf_layer *l, const gf_layer *begin, size_t in, gf_rng *rng);

int gf_layer_is_skip_begin(const gf_layer *l);
int gf_layer_is_skip_add(const gf_layer *l);
/* 1 when begin is a skip_begin that no live skip_add closes. */
int gf_skip_is_open(const gf_layer *begin);
/* 1 when add is the skip_add that closes begin. */
int gf_skip_closes(const gf_layer *add, const gf_layer *begin);
/* 1 when add is a skip_add with a projection (F changes the width). */
int gf_skip_has_projection(const gf_layer *add);

/* ---- Building blocks in a network (engine/build.c) ---------------------------------- */

/* Append a skip_begin (opens a block at the current width). */
gf_status gf_net_add_skip_begin(struct gf_net *net);

/* Append the skip_add closing the innermost open block (rng: for a projection, when the
 * width changed inside the block). GF_ESTATE when no block is open. */
gf_status gf_net_add_skip_add(struct gf_net *net, gf_rng *rng);

/* *begin = the innermost skip_begin among layers 0 .. end-1 still open at layer end,
 * pairing skip_begin and skip_add as brackets. GF_ENOTFOUND when there is none. */
gf_status gf_net_skip_open_before(const struct gf_net *net, size_t *begin, size_t end);

/* Append a residual block around the layers of inner, which is taken over (freed, also
 * on failure): skip_begin, inner's layers with their current parameters and state (the
 * network's last layers, its block), skip_add (a projection from rng when inner changes
 * the width). inner's input width must be the network's output width; its step count
 * and telemetry are not kept. On a failure past the checks (out of memory) the network
 * may hold the first layers of the block: free it. */
gf_status gf_net_add_residual(struct gf_net *net, struct gf_net *inner, gf_rng *rng);

/* Append a block whose F is `depth` linear layers of the current width, each but the
 * last followed by the activation act (by name, its default parameter), initialised by
 * init (NULL: the activation's suited scheme, as gf_net_new_mlp); only the new layers
 * are initialised. With zero_last, F's last linear layer starts at zero, so the block
 * starts as the identity ("zero init" of the residual branch, Goyal et al. 2017); a
 * later gf_net_init of the whole network draws it again. */
gf_status gf_net_add_residual_mlp(struct gf_net *net, size_t depth, const char *act,
                                  const gf_init *init, int zero_last, gf_rng *rng);

#ifdef __cplusplus
}
#endif
#endif
