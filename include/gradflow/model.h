/* gradflow/model.h: model files. A network's architecture and parameters, its step
 * counter, optionally an optimiser (configuration, state, step count) and a random
 * generator's state, in one versioned, checksummed, little-endian binary file, so that a
 * run saved and loaded again continues bit for bit. The format is described in
 * docs/model-format.md. Telemetry is not saved here (gf_telemetry_save_csv). */
#ifndef GRADFLOW_MODEL_H
#define GRADFLOW_MODEL_H

#include "gradflow/net.h"
#include "gradflow/registry.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The newest format version this library writes: 2 (residual blocks as skip_begin and
 * skip_add records) for a network with residual blocks, 1 for any other, so that older
 * readers keep reading those. It reads versions 1 .. GF_MODEL_VERSION (a version-1
 * nested residual block is flattened); a newer file is GF_EUNSUPPORTED. */
#define GF_MODEL_VERSION 2u

/* Save net (and opt, rng, each may be NULL) to path, atomically: the file is written to
 * a new temporary file of a unique name beside path ("path.<random>.tmp", created with
 * O_EXCL, so a planted link is never followed and concurrent saves never share it),
 * flushed, fsync'ed and renamed over path, so path holds either its old contents or the
 * complete new file of one of the writers, never a broken one. opt must have been made for
 * gf_net_param_count(net) parameters (else GF_ESHAPE). Each layer is stored by its kind's
 * codec (gradflow/registry.h): every built-in kind (linear, activations, prelu, batchnorm
 * with its running statistics, layernorm, rnn/lstm/gru, residual blocks (skip_begin, skip_add)),
 * and a layer of your own when its gf_layer_ops has a .codec; a layer without one is
 * GF_EUNSUPPORTED naming the layer and its kind, nothing written. File errors: GF_EIO
 * (the temporary file removed). Nothing of the arguments is changed. */
gf_status gf_model_save(const char *path, const gf_net *net, const gf_optim *opt,
                        const gf_rng *rng);

/* Load a model file. On GF_OK, *net is a new network (the caller frees it) with the
 * saved layers, parameters and step count; when opt is not NULL, *opt is a new optimiser
 * with the saved configuration, state and step count, or NULL when the file holds none;
 * when rng is not NULL and the file holds a generator state, *rng is set to it (a file
 * without one leaves *rng unchanged). Options set by gf_net_set_* (record_every, input
 * gradient, skip non-finite) are not saved: set them again.
 * Errors, with nothing returned (*net and *opt NULL, *rng unchanged):
 *   GF_EIO          the file cannot be opened or read;
 *   GF_EFORMAT      not a model file (magic), truncated, checksum mismatch (corrupted),
 *                   or inconsistent contents;
 *   GF_EUNSUPPORTED a newer format version, a layer kind, activation or optimiser this
 *                   build does not know (named in the message), or a double-precision
 *                   file loaded into a float build (it would round: use a double build).
 *                   A float file loads into a double build, converted exactly;
 *   GF_ENOMEM       out of memory. */
gf_status gf_model_load(gf_net **net, gf_optim **opt, gf_rng *rng, const char *path);

/* gf_model_load, also knowing the caller's own layer kinds: kinds[0..n_kinds) are the
 * gf_layer_ops of layers saved with their .codec; a record naming one is decoded by it.
 * Each needs a codec and a name of 1 to GF_NAME_MAX characters [A-Za-z0-9_.-] that no
 * built-in kind has (else GF_EINVAL). The caller owns the list: nothing is registered
 * anywhere, so two callers never see each other's kinds. */
gf_status gf_model_load_with(gf_net **net, gf_optim **opt, gf_rng *rng, const char *path,
                             const gf_layer_ops *const *kinds, size_t n_kinds);

/* The same two on memory. gf_model_save_memory: *data (release with gf_free) receives
 * the *size bytes a file would hold. gf_model_load_memory reads size bytes at data. */
gf_status gf_model_save_memory(void **data, size_t *size, const gf_net *net,
                               const gf_optim *opt, const gf_rng *rng);
gf_status gf_model_load_memory(gf_net **net, gf_optim **opt, gf_rng *rng, const void *data,
                               size_t size);
gf_status gf_model_load_memory_with(gf_net **net, gf_optim **opt, gf_rng *rng,
                                    const void *data, size_t size,
                                    const gf_layer_ops *const *kinds, size_t n_kinds);

#ifdef __cplusplus
}
#endif
#endif
