/* src/engine/net.c: the sequential network and its engine. One parameter block and one
 * gradient block (the optimiser adds its update to the parameters in place); activation
 * buffers sized on the first batch and reused. A training step is one forward loop, one
 * backward loop from the last layer to the first, a record pass on the steps that are
 * recorded (record.c), and one update. The engine a student reads is this one file, from
 * construction to the update; the network's fields are in net_state.h, and the accessors
 * and options, which only read or set a field, in net_access.c. */
#include <math.h>
#include <string.h>

#include "gradflow/net.h"
#include "core/internal.h"
#include "engine/net_state.h"
#include "engine/record.h"
#include "fast/fast.h"
#include "fast/gemm.h"
#include "fast/stats.h"
#include "layers/codec.h"

/* ---- Construction -------------------------------------------------------------------- */

gf_status gf_net_new(gf_net **out, size_t in_features)
{
    gf_net *net;
    gf_status st;
    GF_CHECK_NOT_NULL(out, "gf_net_new");
    *out = NULL;
    if (in_features == 0 || in_features > GF_MAX_ELEMENTS)
        return gf_fail(GF_EINVAL, "gf_net_new: in_features must be positive (got %zu)",
                       in_features);
    net = gf_calloc(1, sizeof *net);
    if (net == NULL)
        return gf_fail(GF_ENOMEM, "gf_net_new: out of memory");
    st = gf_telemetry_new(&net->tel);
    if (st != GF_OK) {
        gf_free(net);
        return st;
    }
    net->in_features = in_features;
    net->record_every = 1;
    net->input_grad = 1;
    net->last_loss = NAN;
    *out = net;
    return GF_OK;
}

static void free_buffers(gf_net *net)
{
    gf_free(net->acts);
    gf_free(net->dacts);
    gf_free(net->grad_norms);
    gf_free(net->pending);
    gf_free_reals(net->act_block);
    gf_free_reals(net->dact_block);
    net->acts = net->dacts = NULL;
    net->grad_norms = NULL;
    net->pending = NULL;
    net->act_block = net->dact_block = NULL;
    net->batch_cap = 0;
    net->have_forward = net->have_loss = net->have_backward = 0;
}

void gf_net_free(gf_net *net)
{
    if (net == NULL)
        return;
    for (size_t i = 0; i < net->n_layers; i++)
        gf_layer_release(&net->layers[i]);
    free_buffers(net);
    gf_free(net->layers);
    gf_free_reals(net->params);
    gf_free_reals(net->grads);
    gf_telemetry_free(net->tel);
    gf_free(net);
}

size_t gf_net_out_features(const gf_net *net)
{
    if (net == NULL)
        return 0;
    return net->n_layers ? net->layers[net->n_layers - 1].out : net->in_features;
}

/* Point every layer's parameter views at its place in the blocks (after a realloc). */
static void bind_params(gf_net *net)
{
    for (size_t i = 0; i < net->n_layers; i++) {
        gf_layer *l = &net->layers[i];
        size_t wn = l->weight.rows * l->weight.cols;
        l->weight.data = l->weight.rows ? net->params + l->param_offset : NULL;
        l->dweight.data = l->weight.rows ? net->grads + l->param_offset : NULL;
        l->bias.data = l->bias.rows ? net->params + l->param_offset + wn : NULL;
        l->dbias.data = l->bias.rows ? net->grads + l->param_offset + wn : NULL;
    }
}

/* Grow one block to n values, zeroing the new tail (aligned for the vector loops). */
static gf_status grow_block(gf_real **block, size_t old_n, size_t n)
{
    gf_real *grown = gf_grow_reals(*block, old_n, n);
    if (grown == NULL)
        return gf_fail(GF_ENOMEM, "gf_net_add_layer: cannot grow parameters to %zu values", n);
    *block = grown;
    return GF_OK;
}

gf_status gf_net_add_layer(gf_net *net, gf_layer *layer)
{
    gf_status st = GF_OK;
    size_t want_in;
    size_t n_params;
    if (layer == NULL)
        return gf_fail(GF_EINVAL, "gf_net_add_layer: layer is NULL");
    if (net == NULL) {
        gf_layer_release(layer);
        return gf_fail(GF_EINVAL, "gf_net_add_layer: net is NULL");
    }
    want_in = gf_net_out_features(net);
    if (layer->ops == NULL || layer->ops->forward == NULL || layer->ops->backward == NULL)
        st = gf_fail(GF_EINVAL, "gf_net_add_layer: layer has no forward/backward operations");
    else if (layer->in != want_in)
        st = gf_fail(GF_ESHAPE, "gf_net_add_layer: %s layer takes %zu inputs, the network "
                     "gives %zu", layer->ops->name, layer->in, want_in);
    else if (layer->weight.rows * layer->weight.cols + layer->bias.rows * layer->bias.cols !=
             layer->n_params)
        st = gf_fail(GF_EINVAL, "gf_net_add_layer: %s layer's n_params disagrees with its "
                     "weight and bias shapes", layer->ops->name);
    if (st != GF_OK) {
        gf_layer_release(layer);
        return st;
    }
    if (net->n_layers == net->cap_layers) {
        size_t cap = net->cap_layers ? 2 * net->cap_layers : 8;
        gf_layer *grown = gf_realloc(net->layers, cap * sizeof(gf_layer));
        if (grown == NULL) {
            gf_layer_release(layer);
            return gf_fail(GF_ENOMEM, "gf_net_add_layer: out of memory");
        }
        net->layers = grown;
        net->cap_layers = cap;
    }
    n_params = net->n_params + layer->n_params;
    if (layer->n_params > 0) {
        /* A block that did grow stays valid; n_params only moves once both have. */
        st = grow_block(&net->params, net->n_params, n_params);
        if (st == GF_OK)
            st = grow_block(&net->grads, net->n_params, n_params);
        if (st != GF_OK) {
            gf_layer_release(layer);
            return st;
        }
    }
    layer->param_offset = net->n_params;
    net->layers[net->n_layers++] = *layer;
    net->n_params = n_params;
    bind_params(net);
    if (layer->ops->reset != NULL)
        layer->ops->reset(&net->layers[net->n_layers - 1]);
    /* The widths changed: boundary buffers are rebuilt on the next forward pass. */
    free_buffers(net);
    /* The caller's copy no longer owns the state. */
    layer->state = NULL;
    return GF_OK;
}

/* ---- Forward ------------------------------------------------------------------------- */

static size_t boundary_width(const gf_net *net, size_t i)
{
    return i == 0 ? net->in_features : net->layers[i - 1].out;
}

/* Size the boundary buffers for `batch` rows; allocates only when the batch outgrows
 * them (or the architecture changed), so steady training allocates nothing. */
static gf_status ensure_batch(gf_net *net, size_t batch)
{
    size_t n = net->n_layers;
    if (batch > net->batch_cap) {
        size_t total = 0;
        size_t off = 0;
        free_buffers(net);
        for (size_t i = 0; i <= n; i++)
            total += boundary_width(net, i);
        if (total > GF_MAX_ELEMENTS / batch)
            return gf_fail(GF_EINVAL, "gf_net_forward: batch of %zu rows is too large", batch);
        /* The activations and their gradients, against the memory limit (common.h). */
        if (gf_memory_check(2 * total * batch * sizeof(gf_real), "gf_net_forward") != GF_OK)
            return gf_fail(GF_ENOMEM, "gf_net_forward: the activations of a batch of %zu rows "
                           "(%zu values per row, twice) exceed the memory limit of %zu bytes",
                           batch, total, gf_memory_limit());
        net->acts = gf_calloc(n + 1, sizeof(gf_tensor));
        net->dacts = gf_calloc(n + 1, sizeof(gf_tensor));
        net->grad_norms = gf_calloc(n + 1, sizeof(double));
        net->pending = gf_calloc(n, sizeof(gf_record));
        net->act_block = gf_alloc_reals(total * batch);
        net->dact_block = gf_alloc_reals(total * batch);
        if (!net->acts || !net->dacts || !net->grad_norms || !net->pending ||
            !net->act_block || !net->dact_block) {
            free_buffers(net);
            return gf_fail(GF_ENOMEM, "gf_net_forward: cannot allocate buffers for a batch "
                           "of %zu", batch);
        }
        for (size_t i = 0; i <= n; i++) {
            size_t w = boundary_width(net, i);
            net->acts[i] = gf_tensor_view(net->act_block + off, batch, w);
            net->dacts[i] = gf_tensor_view(net->dact_block + off, batch, w);
            off += w * batch;
        }
        for (size_t i = 0; i < n; i++) {
            gf_layer *l = &net->layers[i];
            gf_status st = l->ops->reserve ? l->ops->reserve(l, batch) : GF_OK;
            if (st != GF_OK) {
                free_buffers(net);
                return st;
            }
        }
        net->batch_cap = batch;
    }
    for (size_t i = 0; i <= n; i++)
        net->acts[i].rows = net->dacts[i].rows = batch;
    net->batch = batch;
    return GF_OK;
}

/* Run layers first..n-1 on acts[first]. */
static gf_status forward_from(gf_net *net, size_t first, int training)
{
    for (size_t i = first; i < net->n_layers; i++) {
        gf_layer *l = &net->layers[i];
        gf_status st = l->ops->forward(l, &net->acts[i], &net->acts[i + 1], training);
        if (st != GF_OK) {
            net->have_forward = 0;
            return st;
        }
    }
    return GF_OK;
}

static gf_status forward(gf_net *net, const gf_tensor *x, const gf_tensor **y, int training,
                         const char *who)
{
    gf_status st;
    if (y != NULL)
        *y = NULL;
    GF_CHECK_NOT_NULL(net, who);
    GF_CHECK_TENSOR(x, who);
    if (net->n_layers == 0)
        return gf_fail(GF_ESTATE, "%s: the network has no layers", who);
    if (x->cols != net->in_features)
        return gf_fail(GF_ESHAPE, "%s: input has %zu columns, the network expects %zu", who,
                       x->cols, net->in_features);
    if (x->rows == 0)
        return gf_fail(GF_EINVAL, "%s: empty batch", who);
    net->have_forward = net->have_loss = 0;
    st = ensure_batch(net, x->rows);
    if (st != GF_OK)
        return st;
    memcpy(net->acts[0].data, x->data, x->rows * x->cols * sizeof(gf_real));
    st = forward_from(net, 0, training);
    if (st != GF_OK)
        return st;
    net->have_forward = 1;
    if (y != NULL)
        *y = &net->acts[net->n_layers];
    return GF_OK;
}

gf_status gf_net_forward(gf_net *net, const gf_tensor **y, const gf_tensor *x)
{
    return forward(net, x, y, 1, "gf_net_forward");
}

gf_status gf_net_predict(gf_net *net, const gf_tensor **y, const gf_tensor *x)
{
    return forward(net, x, y, 0, "gf_net_predict");
}

gf_status gf_net_loss(gf_net *net, double *loss, const gf_tensor *target, gf_loss_kind kind)
{
    gf_status st;
    double value;
    GF_CHECK_NOT_NULL(net, "gf_net_loss");
    if (!net->have_forward)
        return gf_fail(GF_ESTATE, "gf_net_loss: no forward pass to take the loss of");
    st = gf_loss_compute(&value, &net->dacts[net->n_layers], &net->acts[net->n_layers],
                         target, kind);
    if (st != GF_OK)
        return st;
    net->last_loss = value;
    net->have_loss = 1;
    if (loss != NULL)
        *loss = value;
    return GF_OK;
}

/* ---- Backward and the record pass ---------------------------------------------------- */

/* On a recorded step of gf_net_train_step the update comes right after the backward
 * pass, with the same weights, and reads every one of them: the fast path lets it take
 * the record's ||W|| of a layer whose weights do not stay in cache from its backward pass
 * to its record (more than WEIGHTS_IN_CACHE of them), a pass over the weights from memory
 * fewer (at L, 1024 x 1024 weights per layer, that pass was 1.5 % of a step;
 * docs/performance.md, "Telemetry"). Smaller layers keep it in the record: at M (256 x
 * 256 weights) the update taking it cost 0.5 % of a step more. The records are the same
 * bit for bit either way (test_net_training). Not in the double build, whose norm of tiny
 * or huge weights may need a second look at them (gf_array_norm2), by when they have
 * changed. */
enum { WEIGHT_NORMS_IN_UPDATE = GF_FAST && !GF_REAL_IS_DOUBLE, WEIGHTS_IN_CACHE = 1 << 18 };

/* Whether layer l's record leaves ||W|| to the update (see above). */
static int weight_norm_in_update(const gf_net *net, const gf_layer *l)
{
    return net->weight_norms_later && l->weight.rows * l->weight.cols > WEIGHTS_IN_CACHE;
}

/* The record of layer i (record.c), once its backward pass is done; dweight: the sum of
 * squares of its weight gradient if its product took it (see backward_pass). */
static void record_layer(gf_net *net, size_t i, const gf_gemm_sumsq_request *dweight)
{
    gf_record_layer(&net->pending[i], &net->layers[i], i, net->acts, net->dacts,
                    i > 0 || net->input_grad, !weight_norm_in_update(net, &net->layers[i]),
                    dweight->taken ? &dweight->sumsq : NULL, net->grad_norms, net->step,
                    net->last_loss);
}

/* The fast variant of the record pass (GF_FAST): each layer recorded as soon as its
 * backward pass is done, while its gradients, weights and dL/dx are in cache; after the
 * whole pass a network larger than the cache has evicted them, and the separate record
 * pass, the reference, reads them from memory again (4-5 % of a step at L, measured).
 * Nothing later in the backward pass changes what a record reads, so the records are the
 * reference's bit for bit (test_net checks). */
enum { RECORD_IN_BACKWARD = GF_FAST };

/* Whether, in a recorded fast pass, layer l's weight-gradient product takes the sum of
 * squares of dL/dW for its record as it writes it (gf_gemm_request_sumsq, fast/gemm.h):
 * a linear layer's one product into dL/dW is the last word on it, so the record holds
 * what a pass after it would find, bit for bit (test_net checks), one pass over dL/dW
 * fewer. At L the telemetry fell from 1.9-3.2 % of a step to 0.5-1.9 % (one thread),
 * from 1.4-3.0 % to 0.9-1.4 % (two); at M from 1.5-1.8 % to 1.1-1.5 % (one thread).
 * Only for a dL/dW of more than one chunk of the sums (fast/stats.h): a smaller one stays
 * in cache for the pass, and at S asking cost more than it gave (docs/performance.md). */
static int dweight_sumsq_in_product(const gf_layer *l)
{
    return l->ops == gf_kind_linear.ops && gf_tensor_size(&l->dweight) > GF_STATS_CHUNK;
}

/* dL/dparams and dL/dacts from dacts[n_layers] = dL/dy: the layers from the last to the
 * first, each adding into gradients zeroed first, or writing them when it can
 * (l->overwrite: the linear layer's GEMMs then run with beta 0, and no pass of zeroes
 * goes before them). On a recorded step a layer may take its statistics in this pass
 * (l->recording), a linear layer's product its ||dL/dW|| (see above). */
static gf_status backward_pass(gf_net *net, int record)
{
    size_t n = net->n_layers;
    int record_now = record && RECORD_IN_BACKWARD;
    if (record_now)
        net->grad_norms[n] = gf_tensor_norm2(&net->dacts[n]);
    for (size_t i = n; i-- > 0;) {
        gf_layer *l = &net->layers[i];
        gf_tensor *dx = i > 0 || net->input_grad ? &net->dacts[i] : NULL;
        gf_gemm_sumsq_request dweight = {l->dweight.data, gf_tensor_size(&l->dweight), 0, 0};
        int watch = record_now && dweight_sumsq_in_product(l);
        gf_status st;
        l->overwrite = l->can_overwrite;
        if (!l->overwrite && l->n_params > 0)
            memset(net->grads + l->param_offset, 0, l->n_params * sizeof(gf_real));
        if (!l->overwrite && dx != NULL)
            memset(dx->data, 0, dx->rows * dx->cols * sizeof(gf_real));
        l->recording = record;
        if (watch)
            gf_gemm_request_sumsq(&dweight);
        st = l->ops->backward(l, &net->acts[i], &net->acts[i + 1], &net->dacts[i + 1], dx);
        if (watch)
            gf_gemm_request_sumsq(NULL);
        l->recording = 0;
        l->overwrite = 0;
        if (st != GF_OK)
            return st;
        if (record_now)
            record_layer(net, i, &dweight);
    }
    return GF_OK;
}

/* The check of a step that is not recorded: the loss, dL/dy, dL/dx when it was taken and
 * the whole gradient block (a norm is NaN or infinite exactly when an element is). A NaN
 * or infinity in a hidden activation reaches the loss or a parameter gradient unless a
 * layer maps it to a finite value (ReLU of -inf): the recorded steps see those too. One
 * pass over the gradients, 2 % of an unrecorded step at M (bench: finiteness check). */
static int step_is_finite(const gf_net *net)
{
    if (net->have_loss && !isfinite(net->last_loss))
        return 0;
    if (!isfinite(gf_tensor_norm2(&net->dacts[net->n_layers])))
        return 0;
    if (net->input_grad && !isfinite(gf_tensor_norm2(&net->dacts[0])))
        return 0;
    return isfinite(gf_array_norm2(net->grads, net->n_params));
}

/* The record pass (unless the backward pass took it), then the records stored, from
 * first_record on. */
static gf_status record_step(gf_net *net, int in_backward, size_t first_record)
{
    size_t n = net->n_layers;
    if (!in_backward)
        gf_record_pass(net->pending, net->layers, n, net->acts, net->dacts, net->input_grad,
                       net->grad_norms, net->step, net->last_loss);
    for (size_t i = 0; i < n; i++) {
        gf_status st = gf_telemetry_append(net->tel, &net->pending[i]);
        if (st != GF_OK) {
            gf_telemetry_truncate(net->tel, first_record);
            return st;
        }
    }
    net->last_first_record = first_record;
    net->last_recorded = 1;
    /* Records taken in the backward pass may lack ||W|| (record_layer); the record pass
     * takes every one. */
    net->weight_norms_pending = in_backward && net->weight_norms_later;
    return GF_OK;
}

static gf_status backward(gf_net *net)
{
    int record = net->step % net->record_every == 0;
    size_t first_record = gf_telemetry_count(net->tel);
    gf_status st;

    /* The previous step's records are final now (clip and step have amended them). */
    if ((st = gf_telemetry_flush(net->tel)) != GF_OK)
        return st;
    net->have_backward = 0;
    net->last_recorded = 0;
    net->weight_norms_pending = 0;
    if ((st = backward_pass(net, record)) != GF_OK)
        return st;
    /* A step that was not to be recorded and saw a NaN or infinity is recorded all the
     * same, to say where it came from. */
    if (record)
        st = record_step(net, RECORD_IN_BACKWARD, first_record);
    else if (!step_is_finite(net)) {
        record = 1;
        st = record_step(net, 0, first_record);
    }
    if (st != GF_OK)
        return st;
    net->have_backward = 1;
    net->last_input_grad = net->input_grad;
    net->last_nonfinite = 0;
    if (record) {
        st = gf_record_check_finite(gf_telemetry_at(net->tel, first_record), net->n_layers,
                                    net->step, net->last_loss, net->have_loss);
        net->last_nonfinite = st != GF_OK;
    }
    net->step++;
    return st;
}

gf_status gf_net_backward(gf_net *net)
{
    GF_CHECK_NOT_NULL(net, "gf_net_backward");
    if (!net->have_forward || !net->have_loss)
        return gf_fail(GF_ESTATE, "gf_net_backward: call gf_net_forward and gf_net_loss first "
                       "(or gf_net_backward_from)");
    return backward(net);
}

gf_status gf_net_backward_from(gf_net *net, const gf_tensor *dy)
{
    gf_tensor *top;
    GF_CHECK_NOT_NULL(net, "gf_net_backward_from");
    GF_CHECK_TENSOR(dy, "gf_net_backward_from");
    if (!net->have_forward)
        return gf_fail(GF_ESTATE, "gf_net_backward_from: no forward pass to differentiate");
    top = &net->dacts[net->n_layers];
    if (dy->rows != top->rows || dy->cols != top->cols)
        return gf_fail(GF_ESHAPE, "gf_net_backward_from: dy is %zu x %zu, the output is "
                       "%zu x %zu", dy->rows, dy->cols, top->rows, top->cols);
    memcpy(top->data, dy->data, dy->rows * dy->cols * sizeof(gf_real));
    net->last_loss = NAN;
    net->have_loss = 0;
    return backward(net);
}

/* The last step's record of layer i, NULL when that step was not recorded. */
static gf_record *last_record(gf_net *net, size_t i)
{
    if (!net->last_recorded)
        return NULL;
    return (gf_record *)gf_telemetry_at(net->tel, net->last_first_record + i);
}

/* ---- Clipping and the update --------------------------------------------------------- */

gf_status gf_net_clip(gf_net *net, double *norm_before, const gf_clip *clip)
{
    gf_status st = GF_OK;
    double global;
    GF_CHECK_NOT_NULL(net, "gf_net_clip");
    GF_CHECK_NOT_NULL(clip, "gf_net_clip");
    if ((unsigned)clip->kind >= GF_CLIP_COUNT)
        return gf_fail(GF_EINVAL, "gf_net_clip: unknown clip kind %d", (int)clip->kind);
    if (clip->kind != GF_CLIP_NONE && !(isfinite(clip->threshold) && clip->threshold > 0))
        return gf_fail(GF_EINVAL, "gf_net_clip: threshold must be positive and finite (got %g)",
                       clip->threshold);
    if (!net->have_backward)
        return gf_fail(GF_ESTATE, "gf_net_clip: no gradients to clip (call backward first)");
    global = gf_array_norm2(net->grads, net->n_params);
    if (norm_before != NULL)
        *norm_before = global;
    if (clip->kind == GF_CLIP_NONE)
        return GF_OK;
    for (size_t i = 0; i < net->n_layers; i++) {
        gf_layer *l = &net->layers[i];
        gf_record *r = last_record(net, i);
        gf_real *g = net->grads + l->param_offset;
        double pre = gf_array_norm2(g, l->n_params);
        if (l->n_params == 0)
            continue;
        if (clip->kind == GF_CLIP_VALUE)
            st = gf_clip_value(g, NULL, l->n_params, clip->threshold);
        else if (clip->kind == GF_CLIP_NORM)
            st = gf_clip_norm(g, NULL, l->n_params, clip->threshold);
        if (st != GF_OK)
            return st;
        if (r != NULL)
            r->clip_pre_norm = pre;
    }
    if (clip->kind == GF_CLIP_GLOBAL_NORM) {
        st = gf_clip_norm(net->grads, NULL, net->n_params, clip->threshold);
        if (st != GF_OK)
            return st;
    }
    for (size_t i = 0; i < net->n_layers; i++) {
        gf_layer *l = &net->layers[i];
        gf_record *r = last_record(net, i);
        if (r != NULL && l->n_params > 0)
            r->clip_post_norm = gf_array_norm2(net->grads + l->param_offset, l->n_params);
    }
    return GF_OK;
}

gf_status gf_net_step(gf_net *net, gf_optim *opt)
{
    gf_status st;
    GF_CHECK_NOT_NULL(net, "gf_net_step");
    GF_CHECK_NOT_NULL(opt, "gf_net_step");
    if (!net->have_backward)
        return gf_fail(GF_ESTATE, "gf_net_step: no gradients to step on (call backward first; "
                       "one step per backward pass)");
    if (net->last_nonfinite) {
        net->have_backward = 0;
        if (net->skip_nonfinite)
            return GF_OK;
        return gf_fail(GF_ENONFINITE, "gf_net_step: refused: the last backward pass produced "
                       "non-finite values (see gf_net_set_skip_nonfinite)");
    }
    if (net->n_params == 0)
        return gf_fail(GF_ESTATE, "gf_net_step: the network has no parameters");
    if (gf_optim_param_count(opt) != net->n_params)
        return gf_fail(GF_ESHAPE, "gf_net_step: the optimiser was made for %zu parameters, "
                       "the network has %zu", gf_optim_param_count(opt), net->n_params);
    /* Layer by layer (their parameters tile the block in order, the weights first); a
     * recorded step also measures ||delta W|| for the update ratio ||delta W|| / ||W||,
     * and ||W|| itself when the records wait for it (weight_norms_pending). */
    for (size_t i = 0; i < net->n_layers; i++) {
        gf_layer *l = &net->layers[i];
        gf_record *r = last_record(net, i);
        size_t off = l->param_offset, wn = l->weight.rows * l->weight.cols;
        int with_w = r != NULL && net->weight_norms_pending && weight_norm_in_update(net, l);
        double norm = NAN, w_sumsq = NAN;
        if (l->n_params == 0)
            continue;
        st = gf_optim_update(opt, net->params + off, net->grads + off, off, wn,
                             r != NULL ? &norm : NULL, with_w ? &w_sumsq : NULL);
        if (st == GF_OK)
            st = gf_optim_update(opt, net->params + off + wn, net->grads + off + wn, off + wn,
                                 l->n_params - wn, NULL, NULL);
        if (st != GF_OK)
            return st; /* unreachable: the sizes were checked above */
        if (with_w)
            r->weight_norm = sqrt(w_sumsq); /* gf_array_norm2 for float data */
        if (r != NULL && wn > 0)
            r->update_ratio = norm / r->weight_norm;
    }
    net->weight_norms_pending = 0;
    gf_optim_advance(opt);
    net->have_backward = 0;
    net->have_forward = 0;
    return GF_OK;
}

/* The records' ||W|| that the update did not take (a step refused or skipped). */
static void take_weight_norms(gf_net *net)
{
    for (size_t i = 0; i < net->n_layers && net->weight_norms_pending; i++) {
        gf_record *r = last_record(net, i);
        if (r != NULL && weight_norm_in_update(net, &net->layers[i]))
            r->weight_norm = gf_record_weight_norm(&net->layers[i]);
    }
    net->weight_norms_pending = 0;
}

gf_status gf_net_train_step(gf_net *net, double *loss, const gf_tensor *x,
                            const gf_tensor *target, gf_optim *opt, gf_loss_kind loss_kind,
                            const gf_clip *clip)
{
    gf_status st;
    GF_CHECK_NOT_NULL(opt, "gf_net_train_step");
    GF_CHECK_NOT_NULL(net, "gf_net_train_step");
    net->weight_norms_later = WEIGHT_NORMS_IN_UPDATE;
    st = gf_net_forward(net, NULL, x);
    if (st == GF_OK)
        st = gf_net_loss(net, loss, target, loss_kind);
    if (st == GF_OK)
        st = gf_net_backward(net);
    if (st == GF_ENONFINITE && net->skip_nonfinite)
        st = gf_net_step(net, opt); /* skips the update, returns GF_OK */
    else {
        if (st == GF_OK && clip != NULL)
            st = gf_net_clip(net, NULL, clip);
        if (st == GF_OK)
            st = gf_net_step(net, opt);
    }
    take_weight_norms(net);
    net->weight_norms_later = 0;
    return st;
}

/* ---- Engine hooks for the gradient check ----------------------------------------------- */

gf_status gf_net_rerun_from(gf_net *net, size_t first)
{
    if (!net->have_forward || first > net->n_layers)
        return gf_fail(GF_ESTATE, "gradcheck: no forward pass to re-run");
    return forward_from(net, first, 1);
}

gf_tensor *gf_net_boundary(gf_net *net, size_t i)
{
    return net->have_forward && i <= net->n_layers ? &net->acts[i] : NULL;
}

void gf_net_rewind(gf_net *net, uint64_t step, size_t n_records)
{
    gf_telemetry_truncate(net->tel, n_records);
    net->step = step;
    net->last_recorded = 0;
}
