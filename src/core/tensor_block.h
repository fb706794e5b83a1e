/* src/core/tensor_block.h: what a tensor made by gf_tensor_new holds besides its public
 * rows, cols and data (gradflow/tensor.h): its capacity and where its data lives. Not
 * installed; only core/tensor.c (and the tensor test) read it. */
#ifndef GRADFLOW_CORE_TENSOR_BLOCK_H
#define GRADFLOW_CORE_TENSOR_BLOCK_H

#include "gradflow/tensor.h"

/* One allocation: this block, then (64-byte aligned, for SIMD loads) the data. The public
 * struct comes first, so that the gf_tensor * handed out and the block are one address
 * (a pointer to a struct converts to a pointer to its first member and back). */
typedef struct gf_tensor_block {
    gf_tensor t;    /* the public part: gf_tensor_new returns &block->t */
    size_t cap;     /* values the data can hold; rows * cols <= cap */
    gf_real *grown; /* a block of its own once a resize outgrew the first allocation
                       (released by gf_tensor_free); NULL while data is in the first */
} gf_tensor_block;

/* 1 when t was made by gf_tensor_new/clone/from_array: it points at itself (a view, or a
 * struct copy of a tensor, does not). Only then is t the start of a block. */
static inline int gf_tensor_is_block(const gf_tensor *t)
{
    return t->owner == (const void *)t;
}

/* The block of a tensor for which gf_tensor_is_block holds. */
static inline gf_tensor_block *gf_tensor_block_of(gf_tensor *t)
{
    return (gf_tensor_block *)t;
}
static inline const gf_tensor_block *gf_tensor_block_of_const(const gf_tensor *t)
{
    return (const gf_tensor_block *)t;
}

#endif
