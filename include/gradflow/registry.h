/* gradflow/registry.h: layer kinds. A kind is a layer's name, its operations, its
 * model-file codec and what the analysis may assume of it (traits). The built-in kinds
 * are listed in one constant registry (src/layers/registry.c), each defined at the end
 * of its layer's file; model files, the verdict and the figures ask it instead of
 * comparing names. A layer of your own is a kind too: its gf_layer_ops carries its name
 * and, in .codec, how model files store it (docs/model-format.md, "Adding a layer kind").
 * Not here: the container around the layer records (header, parameters, checksum). */
#ifndef GRADFLOW_REGISTRY_H
#define GRADFLOW_REGISTRY_H

#include "gradflow/layer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Writing and reading a layer's payload --------------------------------------------
 * A model file stores each layer as a record: kind, in, out, parameter count, then a
 * payload of the kind's configuration (its parameters are in the file's parameter block,
 * written and read by the container). A codec writes and reads that payload with these,
 * little-endian, reals at the build's precision. Both are opaque cursors the container
 * owns; they stay valid for the length of the codec call. */
typedef struct gf_writer gf_writer;
typedef struct gf_reader gf_reader;

/* Append a value. Out of memory is remembered by the writer and reported once by the
 * container (GF_ENOMEM), so an encoder need not check each call. */
void gf_write_u32(gf_writer *w, uint32_t v);
void gf_write_u64(gf_writer *w, uint64_t v);
void gf_write_f64(gf_writer *w, double v);             /* IEEE-754 binary64 bits */
void gf_write_reals(gf_writer *w, const gf_real *x, size_t n); /* n gf_real values */
/* A name: u32 length, then its bytes. Names in model files are 1 to GF_NAME_MAX bytes
 * of [A-Za-z0-9_.-]. */
void gf_write_name(gf_writer *w, const char *name);

#define GF_NAME_MAX 63

/* Read a value of the record's payload. Reading past its end is GF_EFORMAT ("truncated:
 * <what> at byte ... needs ..."), naming what (the field) in the message. */
gf_status gf_read_u32(gf_reader *r, uint32_t *v, const char *what);
gf_status gf_read_u64(gf_reader *r, uint64_t *v, const char *what);
gf_status gf_read_f64(gf_reader *r, double *v, const char *what);
/* A count: a u64 that must fit in size_t and stay within GF_MAX_ELEMENTS. */
gf_status gf_read_count(gf_reader *r, size_t *v, const char *what);
/* n reals, widened exactly when the file is float and the build double. */
gf_status gf_read_reals(gf_reader *r, gf_real *x, size_t n, const char *what);
/* A name (see gf_write_name) into out, NUL-terminated. */
gf_status gf_read_name(gf_reader *r, char out[GF_NAME_MAX + 1], const char *what);
/* Bytes left in the payload, and the size of the whole file: bound a count by them
 * before allocating for it, so that a crafted file cannot ask for much more memory than
 * its own size. */
size_t gf_read_remaining(const gf_reader *r);
size_t gf_read_file_size(const gf_reader *r);

/* ---- Codecs --------------------------------------------------------------------------- */

/* A layer record's fixed fields, as the file states them. The container has checked
 * that in is the width of the layer before and that n_params fits the parameter block;
 * the rest is the decoder's to check. */
typedef struct gf_layer_record {
    size_t index;    /* position in the network, for messages */
    size_t in, out;  /* features */
    size_t n_params; /* values the layer takes in the parameter block */
} gf_layer_record;

typedef struct gf_layer_codec {
    /* Append the payload describing l: whatever its constructor needs beyond in and out
     * (an activation's name, a norm's eps). GF_EUNSUPPORTED (with a message) when l
     * cannot be stored; nothing else is expected to fail. */
    gf_status (*encode)(gf_writer *w, const gf_layer *l);

    /* Set up *l as the layer record and payload describe, reading the payload in the
     * order encode wrote it, and checking every value before allocating (GF_EFORMAT for
     * values that cannot be, GF_EUNSUPPORTED for names this build does not know). The
     * container then appends *l to the network and checks it matches the record. On
     * failure *l must hold nothing (release what was made). */
    gf_status (*decode)(gf_layer *l, const gf_layer_record *rec, gf_reader *r);

    /* Optional (NULL: none). Read the rest of the payload into l after the network has
     * bound l's parameters and called its reset(): state that is not a parameter and
     * that reset() would overwrite (batch norm's running statistics). */
    gf_status (*restore)(gf_layer *l, gf_reader *r);
} gf_layer_codec;

/* ---- Kinds ---------------------------------------------------------------------------- */

/* Traits: what the verdict and the figures may assume of a kind's layers. */
#define GF_KIND_LINEAR 1u     /* y = x W^T + b: its backward signal ||dL/dh|| is the one
                                 the verdict and the signal figure follow */
#define GF_KIND_ACTIVATION 2u /* element-wise f (PReLU too): dead and saturated units,
                                 the histograms of Glorot and Bengio's figure */
#define GF_KIND_NORM 4u       /* batch or layer normalisation */
#define GF_KIND_RECURRENT 8u  /* a recurrent layer unrolled over steps */

typedef struct gf_layer_kind {
    const char *name;             /* its name in model files and telemetry: ops->name */
    const gf_layer_ops *ops;      /* its operations */
    const gf_layer_codec *codec;  /* how model files store it */
    unsigned traits;              /* GF_KIND_* */
    /* The fast variant of its operations (src/fast/), which the default build's
     * constructor picks; the same kind, the same codec. NULL: none. */
    const gf_layer_ops *fast_ops;
} gf_layer_kind;

/* The built-in kinds: linear, activation, prelu, batchnorm, layernorm, rnn. Residual
 * blocks (skip_begin, skip_add) are stored by the model-file container itself: a codec
 * sees one layer, and a block is a pair of layers that must nest like brackets.
 * gf_layer_kind_at(i) is NULL for i >= gf_layer_kind_count(). Static storage. */
size_t gf_layer_kind_count(void);
const gf_layer_kind *gf_layer_kind_at(size_t i);

/* The built-in kind named name / whose operations are ops; NULL when none. */
const gf_layer_kind *gf_layer_kind_find(const char *name);
const gf_layer_kind *gf_layer_kind_of(const gf_layer_ops *ops);

/* The traits of a kind as a telemetry record names it (gf_record.kind): a built-in kind's,
 * GF_KIND_ACTIVATION for the name of an activation (an activation layer's records carry
 * the activation's name, "relu"), 0 for anything else (a layer of your own, NULL). */
unsigned gf_layer_kind_traits(const char *kind);

#ifdef __cplusplus
}
#endif
#endif
