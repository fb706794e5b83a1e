/* src/engine/net_access.c: what a program reads of a network and the options it sets
 * (gradflow/net.h), each a field of the engine's state (net_state.h); the engine itself
 * is net.c. */
#include "gradflow/net.h"
#include "core/internal.h"
#include "engine/net_state.h"
#include "engine/record.h"

/* ---- Inspection ---------------------------------------------------------------------- */

size_t gf_net_layer_count(const gf_net *net) { return net ? net->n_layers : 0; }

const gf_layer *gf_net_layer(const gf_net *net, size_t i)
{
    return net != NULL && i < net->n_layers ? &net->layers[i] : NULL;
}

gf_layer *gf_net_layer_mut(gf_net *net, size_t i)
{
    return net != NULL && i < net->n_layers ? &net->layers[i] : NULL;
}

const char *gf_net_layer_kind(const gf_net *net, size_t i)
{
    return net != NULL && i < net->n_layers ? gf_layer_kind_name(&net->layers[i]) : NULL;
}

size_t gf_net_in_features(const gf_net *net) { return net ? net->in_features : 0; }
size_t gf_net_param_count(const gf_net *net) { return net ? net->n_params : 0; }
const gf_real *gf_net_params(const gf_net *net) { return net ? net->params : NULL; }
const gf_real *gf_net_grads(const gf_net *net) { return net ? net->grads : NULL; }
gf_real *gf_net_params_mut(gf_net *net) { return net ? net->params : NULL; }
gf_real *gf_net_grads_mut(gf_net *net) { return net ? net->grads : NULL; }

const gf_tensor *gf_net_activation(const gf_net *net, size_t i)
{
    if (net == NULL || !net->have_forward || i > net->n_layers)
        return NULL;
    return &net->acts[i];
}

const gf_tensor *gf_net_activation_grad(const gf_net *net, size_t i)
{
    if (net == NULL || !net->have_backward || i > net->n_layers)
        return NULL;
    if (i == 0 && !net->last_input_grad)
        return NULL;
    return &net->dacts[i];
}

/* ---- Options ------------------------------------------------------------------------- */

gf_status gf_net_set_record_every(gf_net *net, uint64_t k)
{
    GF_CHECK_NOT_NULL(net, "gf_net_set_record_every");
    if (k == 0)
        return gf_fail(GF_EINVAL, "gf_net_set_record_every: k must be at least 1");
    net->record_every = k;
    return GF_OK;
}

void gf_net_set_input_grad(gf_net *net, int on)
{
    if (net != NULL)
        net->input_grad = on != 0;
}

int gf_net_input_grad(const gf_net *net) { return net ? net->input_grad : 0; }

void gf_net_set_skip_nonfinite(gf_net *net, int on)
{
    if (net != NULL)
        net->skip_nonfinite = on != 0;
}

uint64_t gf_net_step_count(const gf_net *net) { return net ? net->step : 0; }

void gf_net_set_step_count(gf_net *net, uint64_t step)
{
    if (net != NULL)
        net->step = step;
}

const gf_telemetry *gf_net_telemetry(const gf_net *net) { return net ? net->tel : NULL; }
gf_telemetry *gf_net_telemetry_mut(gf_net *net) { return net ? net->tel : NULL; }

gf_status gf_net_last_records(const gf_net *net, const gf_record **records, size_t *count)
{
    GF_CHECK_NOT_NULL(net, "gf_net_last_records");
    GF_CHECK_NOT_NULL(records, "gf_net_last_records");
    GF_CHECK_NOT_NULL(count, "gf_net_last_records");
    *records = NULL;
    *count = 0;
    if (!net->last_recorded)
        return gf_fail(GF_ESTATE, "gf_net_last_records: the last backward pass was not "
                       "recorded (none yet, or between record_every steps)");
    *records = gf_telemetry_at(net->tel, net->last_first_record);
    *count = net->n_layers;
    return GF_OK;
}
