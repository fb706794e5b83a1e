/* gradflow/clip.h: gradient clipping, on raw gradient arrays (the network-level
 * functions, which also record pre- and post-clip norms, are in net.h). Each returns
 * the L2 norm before clipping through norm_before (may be NULL). */
#ifndef GRADFLOW_CLIP_H
#define GRADFLOW_CLIP_H

#include "gradflow/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum gf_clip_kind {
    GF_CLIP_NONE,
    GF_CLIP_VALUE,       /* every component into [-t, t] */
    GF_CLIP_NORM,        /* each layer's gradient (W and b together) scaled to norm <= t */
    GF_CLIP_GLOBAL_NORM, /* all gradients together scaled to norm <= t (Pascanu et al.) */
    GF_CLIP_COUNT
} gf_clip_kind;

typedef struct gf_clip {
    gf_clip_kind kind;
    double threshold; /* t > 0, finite */
} gf_clip;

/* "none", "value", "norm", "global_norm"; NULL when invalid. */
const char *gf_clip_name(gf_clip_kind kind);

/* Clamp g[i] into [-limit, limit]. limit > 0 and finite, else GF_EINVAL. +-inf is
 * clamped like any value (GF_OK, *norm_before inf). NaN cannot be clamped: NaNs are left
 * as they are, the others still clamped, and the result is GF_ENONFINITE (*norm_before
 * NaN). On GF_EINVAL nothing is written. n = 0 is a no-op. */
gf_status gf_clip_value(gf_real *g, double *norm_before, size_t n, double limit);

/* Scale g by max_norm / ||g|| when ||g|| > max_norm (max_norm > 0 and finite, else
 * GF_EINVAL). A NaN or inf element: GF_ENONFINITE, g left unchanged, *norm_before NaN or
 * inf. Finite values never overflow the computation (a norm of doubles beyond DBL_MAX
 * is reported as inf, and g is still clipped, GF_OK). */
gf_status gf_clip_norm(gf_real *g, double *norm_before, size_t n, double max_norm);

/* The same as gf_clip_norm over several arrays taken together (one global norm). */
gf_status gf_clip_norm_multi(gf_real *const *gs, double *norm_before, const size_t *ns,
                             size_t count, double max_norm);

#ifdef __cplusplus
}
#endif
#endif
