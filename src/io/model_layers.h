/* src/io/model_layers.h: what the model-file container (io/model.c) asks of the layer
 * records (io/model_layers.c). Not installed. */
#ifndef GRADFLOW_IO_MODEL_LAYERS_H
#define GRADFLOW_IO_MODEL_LAYERS_H

#include "gradflow/net.h"
#include "layers/codec.h"

/* The smallest layer record: a 1-byte kind, in, out, n_params, payload length. */
#define GF_LAYER_MIN_BYTES (4u + 1u + 4u * 8u)

/* Append one record per layer of net to w; GF_EUNSUPPORTED naming a layer whose kind
 * cannot be saved (no codec, or a skip_add that does not nest), GF_ENOMEM. */
gf_status gf_model_write_layers(gf_writer *w, const gf_net *net);

/* Read layer record i at r's position and append the layer it describes to net; the
 * record may hold at most param_budget parameters. GF_EFORMAT for a record that does not
 * describe a layer this net can take, GF_EUNSUPPORTED for a kind this build lacks. */
gf_status gf_model_read_layer(gf_net *net, gf_reader *r, size_t i, size_t param_budget);

/* A constructor's failure on values read from the file is the file's fault: GF_EFORMAT
 * with the constructor's message prefixed by where; GF_OK, GF_ENOMEM, GF_EFORMAT and
 * GF_EUNSUPPORTED pass through. */
gf_status gf_model_format_error(gf_status st, const char *where);

/* The caller's own kinds (gf_model_load_with): GF_EINVAL unless each has a codec that
 * decodes and a valid name that no built-in or container kind has. */
gf_status gf_model_check_own_kinds(const gf_layer_ops *const *own, size_t n_own,
                                   const char *who);

/* The oldest format version that holds net's layer records: 1 without skip layers (so
 * such a file reads in version-1 readers, byte for byte as before), else
 * GF_MODEL_VERSION. */
uint32_t gf_model_layers_version(const gf_net *net);

#endif
