/* src/layers/layer.c: the release of a layer's private state. The layers themselves live
 * one per file beside this one: linear.c, activation.c, prelu.c, norm.c, rnn.c,
 * residual.c; the argument checks they share are core/checks.h. */
#include "core/internal.h"
#include "gradflow/layer.h"

/* ---- Release ------------------------------------------------------------------------- */

void gf_layer_release(gf_layer *l)
{
    if (l == NULL)
        return;
    if (l->ops != NULL && l->ops->destroy != NULL)
        l->ops->destroy(l);
    l->state = NULL;
}
