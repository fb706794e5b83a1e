/* src/layers/codec.h: the inside of the payload writer and reader (gradflow/registry.h),
 * shared by the registry (layers/registry.c), the built-in codecs and the model-file
 * container (io/model.c), and the built-in kinds each layer file defines. Not installed. */
#ifndef GRADFLOW_LAYERS_CODEC_H
#define GRADFLOW_LAYERS_CODEC_H

#include "gradflow/registry.h"

/* A growing little-endian byte buffer. A failed allocation sets failed; later writes do
 * nothing, and the container checks once. */
struct gf_writer {
    unsigned char *p;
    size_t len, cap;
    int failed;
    size_t layer;   /* index of the layer being encoded, for messages */
    unsigned depth; /* residual blocks around it */
};

/* A bounds-checked cursor over bytes [0, len) of p, at pos. */
struct gf_reader {
    const unsigned char *p;
    size_t len, pos;
    unsigned real_size; /* bytes per stored real: 4 or 8 */
    size_t total;       /* size of the whole file */
    unsigned depth;     /* residual blocks around the records being read */
    /* The caller's own kinds (gf_model_load_with), looked up after the registry. */
    const gf_layer_ops *const *own;
    size_t n_own;
    unsigned version;   /* the file's format version */
};

/* n more bytes at the end of w (NULL once an allocation failed). */
unsigned char *gf_writer_room(gf_writer *w, size_t n);

/* Little-endian encoding of one value at d / from s. */
void gf_put_u32(unsigned char *d, uint32_t v);
void gf_put_u64(unsigned char *d, uint64_t v);
uint32_t gf_get_u32(const unsigned char *s);
uint64_t gf_get_u64(const unsigned char *s);

/* GF_EFORMAT unless n more bytes can be read. */
gf_status gf_read_need(const gf_reader *r, size_t n, const char *what);

/* 1 when name is 1..GF_NAME_MAX bytes of [A-Za-z0-9_.-]: it can be written as a name. */
int gf_name_is_valid(const char *name);

/* The built-in kinds, each defined at the end of its layer's file. */
extern const gf_layer_kind gf_kind_linear;
extern const gf_layer_kind gf_kind_activation;
extern const gf_layer_kind gf_kind_prelu;
extern const gf_layer_kind gf_kind_batchnorm;
extern const gf_layer_kind gf_kind_layernorm;
extern const gf_layer_kind gf_kind_rnn;

#endif
