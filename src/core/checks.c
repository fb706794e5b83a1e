/* src/core/checks.c: the argument checks every layer shares (core/checks.h), so that
 * each layer, reference or fast, words its errors the same way. */
#include <string.h>

#include "core/checks.h"
#include "core/internal.h"

/* ---- Shared checks ------------------------------------------------------------------ */

/* A feature count that a layer can hold: nonzero and at most GF_MAX_ELEMENTS. */
gf_status gf_check_features(const char *who, const char *what, size_t n)
{
    if (n == 0)
        return gf_fail(GF_EINVAL, "%s: %s is 0", who, what);
    if (n > GF_MAX_ELEMENTS)
        return gf_fail(GF_EINVAL, "%s: %s = %zu exceeds the limit of %zu elements", who, what,
                       n, (size_t)GF_MAX_ELEMENTS);
    return GF_OK;
}

/* The input x: (batch, in) with batch >= 1; *batch receives its row count. */
gf_status gf_check_input(const char *who, const gf_layer *l, const gf_tensor *x,
                             size_t *batch)
{
    if (l == NULL)
        return gf_fail(GF_EINVAL, "%s: layer is NULL", who);
    if (x == NULL)
        return gf_fail(GF_EINVAL, "%s: x is NULL", who);
    if (x->cols != l->in)
        return gf_fail(GF_ESHAPE, "%s: input has %zu columns, layer expects %zu", who,
                       x->cols, l->in);
    if (x->rows == 0)
        return gf_fail(GF_ESHAPE, "%s: input has 0 rows", who);
    if (x->data == NULL)
        return gf_fail(GF_EINVAL, "%s: x has no data", who);
    *batch = x->rows;
    return GF_OK;
}

/* The checks every forward pass shares: x (batch, in) and y (batch, out). */
gf_status gf_check_forward(const char *who, const gf_layer *l, const gf_tensor *x,
                           const gf_tensor *y, size_t *batch)
{
    gf_status s = gf_check_input(who, l, x, batch);
    if (s == GF_OK)
        s = gf_check_shape(who, "y", y, *batch, l->out);
    return s;
}

gf_status gf_check_grads(const char *who, const gf_layer *l, size_t rows, const gf_tensor *dy,
                         const gf_tensor *dx)
{
    gf_status s = gf_check_shape(who, "dy", dy, rows, l->out);
    if (s == GF_OK && dx != NULL)
        s = gf_check_shape(who, "dx", dx, rows, l->in);
    return s;
}

/* The checks every backward pass here shares: x (batch, in), y (batch, out) if required
 * or given, and the gradients. */
gf_status gf_check_backward(const char *who, const gf_layer *l, const gf_tensor *x,
                                const gf_tensor *y, int need_y, const gf_tensor *dy,
                                const gf_tensor *dx, size_t *batch)
{
    gf_status s = gf_check_input(who, l, x, batch);
    if (s == GF_OK && (need_y || y != NULL))
        s = gf_check_shape(who, "y", y, *batch, l->out);
    if (s == GF_OK)
        s = gf_check_grads(who, l, *batch, dy, dx);
    return s;
}

/* The checks a layer with a state of its own, a weight and a bias (norm, rnn) shares,
 * forward and backward: the layer and its state, x (batch >= 1, in) with data, weight
 * and bias bound (`params` names them), and in a backward pass (dy, dx given) their
 * gradients bound and dy, dx shaped as gf_check_grads says. */
gf_status gf_check_stateful(const char *who, const gf_layer *l, const gf_tensor *x,
                            const char *params, int backward, const gf_tensor *dy,
                            const gf_tensor *dx)
{
    if (l == NULL)
        return gf_fail(GF_EINVAL, "%s: layer is NULL", who);
    if (l->state == NULL)
        return gf_fail(GF_ESTATE, "%s: layer has no state (released?)", who);
    if (x == NULL)
        return gf_fail(GF_EINVAL, "%s: x is NULL", who);
    if (x->cols != l->in || x->rows == 0)
        return gf_fail(GF_ESHAPE, "%s: input is (%zu, %zu), expected (batch >= 1, %zu)", who,
                       x->rows, x->cols, l->in);
    if (x->data == NULL)
        return gf_fail(GF_EINVAL, "%s: x has no data", who);
    if (l->weight.data == NULL || l->bias.data == NULL ||
        (backward && (l->dweight.data == NULL || l->dbias.data == NULL)))
        return gf_fail(GF_ESTATE, "%s: %s are not bound (add the layer to a network, or "
                       "point its views at storage)", who, params);
    return backward ? gf_check_grads(who, l, x->rows, dy, dx) : GF_OK;
}

/* GF_ESTATE unless the layer's cache holds a forward pass of `rows` rows. */
gf_status gf_check_cached(const char *who, size_t cached_rows, size_t rows)
{
    if (cached_rows != rows)
        return gf_fail(GF_ESTATE, "%s: no forward pass of this batch to differentiate", who);
    return GF_OK;
}

/* A parameter view the network should have bound: data set, shape as constructed. */
gf_status gf_check_bound(const char *who, const char *name, const gf_tensor *t,
                             size_t rows, size_t cols)
{
    if (t->data == NULL)
        return gf_fail(GF_ESTATE, "%s: %s is not bound (add the layer to a network, or "
                       "point its .data at storage)", who, name);
    if (t->rows != rows || t->cols != cols)
        return gf_fail(GF_ESTATE, "%s: %s is (%zu, %zu), expected (%zu, %zu)", who, name,
                       t->rows, t->cols, rows, cols);
    return GF_OK;
}

/* An unbound parameter view of shape (rows, cols): the network sets .data later. */
gf_tensor gf_unbound_view(size_t rows, size_t cols)
{
    gf_tensor t = {.data = NULL, .rows = rows, .cols = cols};
    return t;
}

gf_status gf_check_shape(const char *who, const char *name, const gf_tensor *t, size_t rows,
                         size_t cols)
{
    if (t == NULL)
        return gf_fail(GF_EINVAL, "%s: %s is NULL", who, name);
    if (t->rows != rows || t->cols != cols || rows == 0)
        return gf_fail(GF_ESHAPE, "%s: %s is (%zu, %zu), expected (%zu, %zu)", who, name,
                       t->rows, t->cols, rows, cols);
    if (t->data == NULL)
        return gf_fail(GF_EINVAL, "%s: %s has no data", who, name);
    return GF_OK;
}
