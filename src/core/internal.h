/* src/core/internal.h: helpers shared by the library's sources, not installed. */
#ifndef GRADFLOW_INTERNAL_H
#define GRADFLOW_INTERNAL_H

#include <math.h>
#include <stdint.h>

#include "gradflow/common.h"
#include "gradflow/tensor.h"

#if defined(__GNUC__)
#define GF_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define GF_PRINTF(a, b)
#endif

/* Record the detail message of a failure on this thread, pass it to the log callback,
 * and return status, so that call sites read: return gf_fail(GF_EINVAL, "...", ...). */
gf_status gf_fail(gf_status status, const char *fmt, ...) GF_PRINTF(2, 3);

/* Pass a warning (a problem worked around; the call still succeeds) to the log callback
 * at GF_LOG_WARN. The detail message of gf_last_error is left alone. */
void gf_warn(const char *fmt, ...) GF_PRINTF(1, 2);

/* 1 when the caller's cancel callback (gf_set_cancel_callback) asks a long loop to stop;
 * the loop then returns gf_fail(GF_ECANCELED, ...) saying how far it got. */
int gf_cancel_requested(void);

/* Argument checks that return a status with a message naming the function. */
#define GF_CHECK_NOT_NULL(ptr, who)                                                   \
    do {                                                                              \
        if ((ptr) == NULL)                                                            \
            return gf_fail(GF_EINVAL, "%s: %s is NULL", (who), #ptr);                 \
    } while (0)

#define GF_CHECK_TENSOR(t, who)                                                       \
    do {                                                                              \
        if ((t) == NULL)                                                              \
            return gf_fail(GF_EINVAL, "%s: %s is NULL", (who), #t);                   \
        if ((t)->data == NULL && (t)->rows * (t)->cols != 0)                          \
            return gf_fail(GF_EINVAL, "%s: %s has no data", (who), #t);               \
    } while (0)

/* t must hold data shaped (rows, cols) with rows >= 1: GF_EINVAL when t is NULL or has
 * no data, GF_ESHAPE otherwise; name is its role ("dy") in the message, who the caller.
 * The one shape check the layers share (tensor.c). */
gf_status gf_check_shape(const char *who, const char *name, const gf_tensor *t, size_t rows,
                         size_t cols);

/* The gradients a layer's backward pass is handed, with gf_check_shape: dy (rows,
 * l->out) and, when not NULL, dx (rows, l->in) (layers/layer.c). */
struct gf_layer;
gf_status gf_check_grads(const char *who, const struct gf_layer *l, size_t rows,
                         const gf_tensor *dy, const gf_tensor *dx);

/* a * b without overflow: 0 and *ok = 0 when it would overflow. */
static inline size_t gf_mul_size(size_t a, size_t b, int *ok)
{
    if (a != 0 && b > (size_t)-1 / a) {
        *ok = 0;
        return 0;
    }
    return a * b;
}

/* p rounded up to the next 64-byte boundary (a cache line, and the widest vector load):
 * an allocation GF_ALIGN_PAD bytes larger than its values holds them from there. */
enum { GF_ALIGN = 64, GF_ALIGN_PAD = GF_ALIGN - 1 };
static inline void *gf_align64(void *p)
{
    return (char *)p + (GF_ALIGN - (uintptr_t)p % GF_ALIGN) % GF_ALIGN;
}

/* Blocks of n gf_real values whose first value sits on a 64-byte boundary, from the
 * user's allocator (which promises only malloc's alignment, 16 bytes): the network's
 * parameters, gradients and activations, which the vector loops read 64 bytes at a time.
 * A vector load from a block 16 bytes off a boundary straddles two cache lines; aligned,
 * a training step of the S network ran 5-7 % faster (docs/performance.md). gf_alloc_reals
 * zeroes the values; gf_grow_reals keeps the first old_n and zeroes the rest (on failure
 * it returns NULL and a is left as it was); gf_free_reals takes NULL. */
gf_real *gf_alloc_reals(size_t n);
gf_real *gf_grow_reals(gf_real *a, size_t old_n, size_t n);
void gf_free_reals(gf_real *a);

/* gf_array_norm2(x, n) given s = gf_array_sumsq(x, n), taken already (it looks at x
 * again only when s may have underflowed or overflowed). */
double gf_array_norm2_given_sumsq(const gf_real *x, size_t n, double s);

/* Drop records from index count on (the gradient check undoes its own recording). */
struct gf_telemetry;
void gf_telemetry_truncate(struct gf_telemetry *t, size_t count);

/* The network's step (optim.c): add the optimiser's update to params[0, count), the
 * values [offset, offset + count) of the block the optimiser was made for; when
 * update_norm is not NULL, *update_norm = ||delta|| (as gf_array_norm2 would take it),
 * and when param_sumsq is not NULL too, *param_sumsq = gf_array_sumsq of the parameters
 * before the update. gf_optim_update measures in the pass that updates when GF_FAST
 * (fast/update.c); gf_optim_update_ref, its reference, measures in passes of its own,
 * then updates.
 * Every range of one step uses the same step number; gf_optim_advance then ends the
 * step (Adam's t). */
struct gf_optim;
gf_status gf_optim_update(struct gf_optim *opt, gf_real *params, const gf_real *grads,
                          size_t offset, size_t count, double *update_norm,
                          double *param_sumsq);
gf_status gf_optim_update_ref(struct gf_optim *opt, gf_real *params, const gf_real *grads,
                              size_t offset, size_t count, double *update_norm,
                              double *param_sumsq);
void gf_optim_advance(struct gf_optim *opt);

/* Engine hooks for the gradient check (net.c): re-run the forward pass from layer
 * `first` on the current boundary activations (training mode); the mutable activation at
 * boundary i; forget telemetry and steps made after a point. */
struct gf_net;
gf_status gf_net_rerun_from(struct gf_net *net, size_t first);
gf_tensor *gf_net_boundary(struct gf_net *net, size_t i);
void gf_net_rewind(struct gf_net *net, uint64_t step, size_t n_records);

/* Batch norm's running statistics in every layer of net, saved before passes that only
 * probe the network (the gradient check, LSUV: they run in training mode, which updates
 * them) and put back after (gradcheck.c). *saved is NULL when no layer has any; the
 * caller releases it with gf_free after gf_net_restore_running. Restoring fails only
 * when the saved values were not finite (a network that had already diverged). */
gf_status gf_net_save_running(struct gf_net *net, double **saved);
gf_status gf_net_restore_running(struct gf_net *net, const double *saved);

/* Largest tensor element count the library accepts: keeps every byte count and
 * index computation far from overflow. */
#define GF_MAX_ELEMENTS ((size_t)1 << 40)

#endif
