/* src/analysis/jacobian.c: the input-output Jacobian of a range of layers, one backward
 * pass per output unit through the layers' own backward functions (not the engine's
 * backward, which would record telemetry and count a step), and its singular values by
 * LAPACK's dgesdd. Leaves out anything stochastic (no layer of gradflow is). */
#include <limits.h>
#include <string.h>

#include "gradflow/jacobian.h"
#include "core/internal.h"

#ifndef GF_HAVE_LAPACK
#define GF_HAVE_LAPACK 0
#endif
#if GF_HAVE_LAPACK
#include <lapacke.h>
#endif

int gf_jacobian_have_lapack(void) { return GF_HAVE_LAPACK; }

/* ---- Checks ------------------------------------------------------------------------- */

/* The range first..last of net, and x's shape; *in and *out the range's widths. */
static gf_status check_range(const char *who, gf_net *net, const gf_tensor *x, size_t first,
                             size_t last, size_t *in, size_t *out)
{
    size_t count;
    GF_CHECK_NOT_NULL(net, who);
    GF_CHECK_TENSOR(x, who);
    count = gf_net_layer_count(net);
    if (count == 0)
        return gf_fail(GF_ESTATE, "%s: the network has no layers", who);
    if (first > last || last >= count)
        return gf_fail(GF_EINVAL, "%s: layers %zu..%zu are not a range of the network's %zu "
                       "(need first <= last < %zu)", who, first, last, count, count);
    if (x->rows == 0 || x->cols != gf_net_in_features(net))
        return gf_fail(GF_ESHAPE, "%s: x is %zu x %zu, need at least one row of %zu", who,
                       x->rows, x->cols, gf_net_in_features(net));
    *in = gf_net_layer(net, first)->in;
    *out = gf_net_layer(net, last)->out;
    return GF_OK;
}

/* ---- Saving and restoring what a probe changes -------------------------------------- */

/* What the Jacobian's passes change: the gradient block (layers' backward adds into
 * it), the activations of the last forward pass (gf_net_predict replaces them) and, when
 * the latter are run again in training mode, batch norm's running statistics. */
typedef struct saved_state {
    gf_real *grads;      /* copy of the gradient block, NULL when it is empty */
    gf_tensor *input;    /* the last forward pass's input, NULL when there was none */
    double *running;     /* batch norm's running statistics (gradcheck.c) */
} saved_state;

static gf_status save_state(gf_net *net, saved_state *s)
{
    size_t n = gf_net_param_count(net);
    const gf_tensor *x0 = gf_net_activation(net, 0);
    gf_status st;
    *s = (saved_state){NULL, NULL, NULL};
    if (n > 0) {
        s->grads = gf_alloc(n * sizeof(gf_real));
        if (s->grads == NULL)
            return gf_fail(GF_ENOMEM, "gf_net_jacobian: cannot save %zu gradients", n);
        memcpy(s->grads, gf_net_grads(net), n * sizeof(gf_real));
    }
    if (x0 != NULL && (st = gf_tensor_clone(&s->input, x0)) != GF_OK)
        return st;
    return gf_net_save_running(net, &s->running);
}

/* Put everything back; the first failure is returned, but every step is attempted. */
static gf_status restore_state(gf_net *net, saved_state *s)
{
    gf_status st = GF_OK;
    if (s->input != NULL) {
        /* Training mode is what a pending loss and backward need; batch norm refuses a
         * one-row batch there, and such a pass can only have been gf_net_predict. */
        st = gf_net_forward(net, NULL, s->input);
        if (st != GF_OK)
            st = gf_net_predict(net, NULL, s->input);
    }
    if (s->running != NULL) {
        gf_status rs = gf_net_restore_running(net, s->running);
        st = st == GF_OK ? rs : st;
    }
    if (s->grads != NULL)
        memcpy(gf_net_grads_mut(net), s->grads, gf_net_param_count(net) * sizeof(gf_real));
    gf_free(s->grads);
    gf_tensor_free(s->input);
    gf_free(s->running);
    return st;
}

/* ---- The Jacobian ------------------------------------------------------------------- */

/* dx (batch, layer first's in) = the backward pass of layers last..first from dy (batch,
 * layer last's out), through two scratch buffers of batch * widest boundary values. The
 * result is left in *result (one of the two). */
static gf_status backward_range(gf_net *net, size_t first, size_t last, gf_real *buf_a,
                                gf_real *buf_b, gf_real **result)
{
    gf_real *dy = buf_a, *dx = buf_b;
    for (size_t i = last + 1; i-- > first;) {
        gf_layer *l = gf_net_layer_mut(net, i);
        const gf_tensor *a_in = gf_net_activation(net, i);
        const gf_tensor *a_out = gf_net_activation(net, i + 1);
        gf_tensor tdy = gf_tensor_view(dy, a_out->rows, l->out);
        gf_tensor tdx = gf_tensor_view(dx, a_in->rows, l->in);
        gf_status st;
        memset(dx, 0, a_in->rows * l->in * sizeof(gf_real)); /* backward adds into dx */
        st = l->ops->backward(l, a_in, a_out, &tdy, &tdx);
        if (st != GF_OK)
            return st;
        dy = dx;
        dx = dx == buf_a ? buf_b : buf_a;
    }
    *result = dy;
    return GF_OK;
}

/* The work of gf_net_jacobian, on a network whose state the caller has saved. */
static gf_status jacobian_rows(gf_net *net, gf_tensor *jac, const gf_tensor *x, size_t first,
                               size_t last, size_t in, size_t out)
{
    size_t batch = x->rows, widest = 0;
    gf_real *buf_a, *buf_b;
    gf_status st = gf_net_predict(net, NULL, x);
    if (st != GF_OK)
        return st;
    for (size_t i = first; i <= last + 1; i++) {
        size_t w = gf_net_activation(net, i)->cols;
        widest = w > widest ? w : widest;
    }
    buf_a = gf_alloc(2 * batch * widest * sizeof(gf_real));
    if (buf_a == NULL)
        return gf_fail(GF_ENOMEM, "gf_net_jacobian: cannot allocate 2 x %zu x %zu scratch",
                       batch, widest);
    buf_b = buf_a + batch * widest;
    for (size_t k = 0; k < out && st == GF_OK; k++) {
        gf_real *dx;
        /* dL/da_{last+1} = e_k in every row: row b of dL/da_first is then row k of J_b
         * (the rows do not mix in evaluation mode). */
        memset(buf_a, 0, batch * out * sizeof(gf_real));
        for (size_t b = 0; b < batch; b++)
            buf_a[b * out + k] = 1;
        st = backward_range(net, first, last, buf_a, buf_b, &dx);
        for (size_t b = 0; b < batch && st == GF_OK; b++)
            memcpy(jac->data + (b * out + k) * in, dx + b * in, in * sizeof(gf_real));
    }
    gf_free(buf_a);
    return st;
}

gf_status gf_net_jacobian(gf_net *net, gf_tensor *jac, const gf_tensor *x, size_t first,
                          size_t last)
{
    static const char who[] = "gf_net_jacobian";
    size_t in = 0, out = 0, rows;
    int ok = 1;
    saved_state saved;
    gf_status st, rs;

    GF_CHECK_TENSOR(jac, who);
    if ((st = check_range(who, net, x, first, last, &in, &out)) != GF_OK)
        return st;
    rows = gf_mul_size(x->rows, out, &ok);
    if (!ok || jac->rows != rows || jac->cols != in)
        return gf_fail(GF_ESHAPE, "%s: jac is %zu x %zu, need (batch %zu x out %zu) x in %zu",
                       who, jac->rows, jac->cols, x->rows, out, in);
    st = save_state(net, &saved);
    if (st == GF_OK)
        st = jacobian_rows(net, jac, x, first, last, in, out);
    rs = restore_state(net, &saved);
    return st == GF_OK ? rs : st;
}

/* ---- Singular values ---------------------------------------------------------------- */

static gf_status refuse_without_lapack(const char *who)
{
    return gf_fail(GF_EUNSUPPORTED, "%s: this gradflow was built without LAPACK, so it "
                   "computes no singular values (install liblapacke-dev and rebuild with "
                   "-DGRADFLOW_LAPACK=ON); gf_net_jacobian still gives the Jacobians", who);
}

#if GF_HAVE_LAPACK
/* sv[0, min(m, n)) = the singular values of the row-major (m, n) matrix a, decreasing.
 * Read as column-major, a is A^T (n, m), which has the same singular values: no copy.
 * a is overwritten. */
static gf_status svd_values(double *sv, double *a, size_t m, size_t n)
{
    double u_unused = 0, vt_unused = 0;
    lapack_int info = LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'N', (lapack_int)n, (lapack_int)m, a,
                                     (lapack_int)n, sv, &u_unused, 1, &vt_unused, 1);
    if (info < 0)
        return gf_fail(GF_EINVAL, "gf_jacobian_singular_values: dgesdd refused argument %d",
                       (int)-info);
    if (info > 0)
        return gf_fail(GF_ENONFINITE, "gf_jacobian_singular_values: dgesdd did not converge "
                       "(%d superdiagonals left)", (int)info);
    return GF_OK;
}
#endif

gf_status gf_jacobian_singular_values(gf_tensor *sv, const gf_tensor *jac, size_t batch)
{
    static const char who[] = "gf_jacobian_singular_values";
    size_t out, in, k;
    GF_CHECK_TENSOR(sv, who);
    GF_CHECK_TENSOR(jac, who);
    if (batch == 0 || jac->rows == 0 || jac->cols == 0 || jac->rows % batch != 0)
        return gf_fail(GF_ESHAPE, "%s: jac has %zu rows, not batch %zu times a positive out",
                       who, jac->rows, batch);
    out = jac->rows / batch;
    in = jac->cols;
    k = out < in ? out : in;
    if (sv->rows != batch || sv->cols != k)
        return gf_fail(GF_ESHAPE, "%s: sv is %zu x %zu, need batch %zu x min(out %zu, in %zu)",
                       who, sv->rows, sv->cols, batch, out, in);
    if (gf_tensor_count_nonfinite(jac) > 0)
        return gf_fail(GF_ENONFINITE, "%s: jac holds NaN or infinity", who);
    if (out > (size_t)INT_MAX || in > (size_t)INT_MAX) /* LAPACK's dimensions are int */
        return gf_fail(GF_EINVAL, "%s: a %zu x %zu Jacobian is too large", who, out, in);
#if GF_HAVE_LAPACK
    {
        double *a = gf_alloc((out * in + k) * sizeof(double));
        gf_status st = GF_OK;
        if (a == NULL)
            return gf_fail(GF_ENOMEM, "%s: cannot allocate a %zu x %zu matrix", who, out, in);
        for (size_t b = 0; b < batch && st == GF_OK; b++) {
            double *s = a + out * in;
            for (size_t i = 0; i < out * in; i++)
                a[i] = jac->data[b * out * in + i];
            st = svd_values(s, a, out, in);
            for (size_t i = 0; i < k && st == GF_OK; i++)
                sv->data[b * k + i] = (gf_real)s[i];
        }
        gf_free(a);
        return st;
    }
#else
    gf_tensor_fill(sv, (gf_real)NAN);
    return refuse_without_lapack(who);
#endif
}

gf_status gf_net_jacobian_singular_values(gf_net *net, gf_tensor *sv, const gf_tensor *x,
                                          size_t first, size_t last)
{
    static const char who[] = "gf_net_jacobian_singular_values";
    size_t in = 0, out = 0;
    gf_tensor *jac = NULL;
    gf_status st;
    GF_CHECK_TENSOR(sv, who);
    if ((st = check_range(who, net, x, first, last, &in, &out)) != GF_OK)
        return st;
    if (sv->rows != x->rows || sv->cols != (out < in ? out : in))
        return gf_fail(GF_ESHAPE, "%s: sv is %zu x %zu, need batch %zu x min(out %zu, in %zu)",
                       who, sv->rows, sv->cols, x->rows, out, in);
    if (!GF_HAVE_LAPACK) {
        gf_tensor_fill(sv, (gf_real)NAN);
        return refuse_without_lapack(who);
    }
    st = gf_tensor_new(&jac, x->rows * out, in);
    if (st == GF_OK)
        st = gf_net_jacobian(net, jac, x, first, last);
    if (st == GF_OK)
        st = gf_jacobian_singular_values(sv, jac, x->rows);
    gf_tensor_free(jac);
    return st;
}
