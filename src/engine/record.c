/* src/engine/record.c: the record pass. After a backward pass that is to be recorded, one
 * plain loop over the layers fills each layer's gf_record from the network's buffers:
 * gradient norms, parameter norms, the output's statistics, non-finite counts, then the
 * layer's own record op (an activation's derivative statistics). It reads only; the
 * engine (net.c) decides which steps are recorded and stores the records. */
#include <math.h>

#include "gradflow/registry.h"
#include "core/internal.h"
#include "engine/record.h"
#include "fast/stats.h"

/* Mean, standard deviation, zero fraction and non-finite count of a layer's output y
 * (the sums in double, see stats.h). A NaN or infinity makes the sums non-finite, so
 * non-finite values are counted only then. */
static void output_stats(gf_record *r, const gf_tensor *y)
{
    size_t n = y->rows * y->cols, zeros;
    double s, sq;
    gf_stats_moments(y->data, n, &s, &sq, &zeros);
    r->act_mean = s / (double)n;
    r->act_std = sqrt(fmax(sq / (double)n - r->act_mean * r->act_mean, 0.0));
    r->zero_frac = (double)zeros / (double)n;
    r->nonfinite_fwd = isfinite(s) && isfinite(sq) ? 0 : gf_tensor_count_nonfinite(y);
}

/* Non-finite values of t, whose norm is known: none when the norm is finite (a norm is
 * NaN or infinite exactly when an element is), so counting costs a pass only then. */
static uint64_t nonfinite_given_norm(double norm, const gf_tensor *t)
{
    return isfinite(norm) ? 0 : gf_tensor_count_nonfinite(t);
}

double gf_record_weight_norm(const gf_layer *l)
{
    return l->weight.rows ? gf_tensor_norm2(&l->weight) : NAN;
}

/* ||dL/dW|| of layer l, from the sum of squares when given. */
static double weight_grad_norm(const gf_layer *l, const double *sumsq)
{
    if (l->weight.rows == 0)
        return NAN;
    if (sumsq != NULL)
        return gf_array_norm2_given_sumsq(l->dweight.data, gf_tensor_size(&l->dweight),
                                          *sumsq);
    return gf_tensor_norm2(&l->dweight);
}

void gf_record_layer(gf_record *r, const gf_layer *l, size_t i, const gf_tensor *acts,
                     const gf_tensor *dacts, int has_dx, int with_weight_norm,
                     const double *dweight_sumsq, double *grad_norms, uint64_t step,
                     double loss)
{
    const gf_tensor *y = &acts[i + 1];
    grad_norms[i] = has_dx ? gf_tensor_norm2(&dacts[i]) : NAN;

    *r = (gf_record){0};
    r->step = step;
    r->layer = (uint32_t)i;
    gf_record_set_kind(r, gf_layer_kind_name(l));
    r->loss = loss;
    r->grad_out_norm = grad_norms[i + 1];
    r->grad_in_norm = grad_norms[i];
    r->weight_grad_norm = weight_grad_norm(l, dweight_sumsq);
    r->bias_grad_norm = l->bias.rows ? gf_tensor_norm2(&l->dbias) : NAN;
    r->weight_norm = with_weight_norm ? gf_record_weight_norm(l) : NAN;
    r->update_ratio = r->clip_pre_norm = r->clip_post_norm = NAN;
    r->deriv_abs_mean = r->dead_frac = r->sat_frac = NAN;
    output_stats(r, y);
    r->nonfinite_bwd = (has_dx ? nonfinite_given_norm(r->grad_in_norm, &dacts[i]) : 0) +
                       nonfinite_given_norm(r->weight_grad_norm, &l->dweight) +
                       nonfinite_given_norm(r->bias_grad_norm, &l->dbias);
    if (l->ops->record != NULL)
        l->ops->record(l, &acts[i], y, r);
}

void gf_record_pass(gf_record *recs, const gf_layer *layers, size_t n, const gf_tensor *acts,
                    const gf_tensor *dacts, int input_grad, double *grad_norms, uint64_t step,
                    double loss)
{
    grad_norms[n] = gf_tensor_norm2(&dacts[n]);
    for (size_t i = n; i-- > 0;)
        gf_record_layer(&recs[i], &layers[i], i, acts, dacts, i > 0 || input_grad, 1, NULL,
                        grad_norms, step, loss);
}

/* The number people read for network layer i (docs/concepts.md, "Layer numbers"): its
 * depth k, the count of linear layers up to and including it, so the activation after
 * the third linear layer is "layer 3 (relu)". 0 for layers before the first linear one. */
static size_t layer_depth(const gf_record *recs, size_t i)
{
    size_t k = 0;
    for (size_t j = 0; j <= i; j++)
        k += (gf_layer_kind_traits(recs[j].kind) & GF_KIND_LINEAR) != 0;
    return k;
}

gf_status gf_record_check_finite(const gf_record *recs, size_t n, uint64_t step, double loss,
                                 int have_loss)
{
    unsigned long long s = (unsigned long long)step;
    for (size_t i = 0; i < n; i++)
        if (recs[i].nonfinite_fwd)
            return gf_fail(GF_ENONFINITE, "step %llu: %llu non-finite values first appear in "
                           "the forward pass, at the output of layer %zu (%s)", s,
                           (unsigned long long)recs[i].nonfinite_fwd, layer_depth(recs, i),
                           recs[i].kind);
    if (!isnan(loss) && !isfinite(loss))
        return gf_fail(GF_ENONFINITE, "step %llu: the loss is infinite", s);
    for (size_t i = n; i-- > 0;)
        if (recs[i].nonfinite_bwd)
            return gf_fail(GF_ENONFINITE, "step %llu: %llu non-finite values first appear in "
                           "the backward pass, at layer %zu (%s)", s,
                           (unsigned long long)recs[i].nonfinite_bwd, layer_depth(recs, i),
                           recs[i].kind);
    if (isnan(loss) && have_loss)
        return gf_fail(GF_ENONFINITE, "step %llu: the loss is NaN", s);
    return GF_OK;
}
