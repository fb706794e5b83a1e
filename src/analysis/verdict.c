/* src/analysis/verdict.c: verdicts on a run's telemetry, at the first recorded step (init)
 * and at the last, each on its own: the backward signal's ratio (after clipping, when the
 * run clipped; through time too, for recurrent nets), dead units (and when they first
 * appeared), NaN/inf. Thresholds are documented in include/gradflow/report.h and
 * docs/verdicts.md; this file only applies them. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gradflow/registry.h"
#include "gradflow/report.h"
#include "core/internal.h"
#include "engine/telemetry_steps.h"

static const char *const verdict_names[GF_VERDICT_COUNT] = {
    "healthy", "vanishing", "exploding", "dead_units", "nonfinite"};

const char *gf_verdict_name(gf_verdict_kind kind)
{
    if ((int)kind < 0 || kind >= GF_VERDICT_COUNT)
        return "unknown";
    return verdict_names[kind];
}

/* The record of `layer` within [begin, end), NULL when absent. */
static const gf_record *in_group(const gf_telemetry *t, size_t begin, size_t end, size_t layer)
{
    for (size_t i = begin; i < end; i++) {
        const gf_record *r = gf_telemetry_at(t, i);
        if (r->layer == layer)
            return r;
    }
    return NULL;
}

/* Where a non-finite value first appeared within one step, by the engine's rule: the
 * earliest layer of the forward pass, else the loss, else the first layer the backward
 * pass reached (the highest index). Returns 1 when the step has one. */
static int find_nonfinite(const gf_telemetry *t, size_t begin, size_t end, gf_verdict *v)
{
    const gf_record *first = gf_telemetry_at(t, begin);
    for (size_t i = begin; i < end; i++) {
        const gf_record *r = gf_telemetry_at(t, i);
        if (r->nonfinite_fwd) {
            v->nonfinite_layer = r->layer;
            v->nonfinite_backward = 0;
            return 1;
        }
    }
    /* NaN loss alone means "no loss" (gf_net_backward_from); infinity is a blow-up. */
    if (isinf(first->loss)) {
        v->nonfinite_layer = gf_telemetry_at(t, end - 1)->layer;
        v->nonfinite_backward = 1;
        return 1;
    }
    for (size_t i = end; i-- > begin;) {
        const gf_record *r = gf_telemetry_at(t, i);
        if (r->nonfinite_bwd || !isfinite(r->grad_out_norm) ||
            (r->weight_grad_norm == r->weight_grad_norm && !isfinite(r->weight_grad_norm))) {
            v->nonfinite_layer = r->layer;
            v->nonfinite_backward = 1;
            return 1;
        }
    }
    return 0;
}

/* The share of a layer's gradient that clipping kept, post / pre; 1 when not clipped. */
static double clip_kept(const gf_record *r)
{
    if (r == NULL || !(r->clip_pre_norm > 0) || isnan(r->clip_post_norm))
        return 1;
    return r->clip_post_norm / r->clip_pre_norm;
}

/* Signals of the first and last linear layer in one step, their ratio, per-layer factor
 * and the ratio after clipping. */
static void judge_signal(const gf_telemetry *t, size_t begin, size_t end, const gf_verdict *v,
                         double *s_first, double *s_last, double *ratio, double *factor,
                         double *wratio, double *clip_ratio)
{
    const gf_record *a = in_group(t, begin, end, v->first_linear);
    const gf_record *b = in_group(t, begin, end, v->last_linear);
    *s_first = a ? a->grad_out_norm : NAN;
    *s_last = b ? b->grad_out_norm : NAN;
    /* 0/0 (no signal at all) and x/0 are not judged: NaN. */
    *ratio = *s_last > 0 ? *s_first / *s_last : NAN;
    *factor = v->n_linear >= 2 ? pow(*ratio, 1.0 / (double)(v->n_linear - 1)) : NAN;
    if (wratio != NULL) {
        double wa = a ? a->weight_grad_norm : NAN, wb = b ? b->weight_grad_norm : NAN;
        *wratio = wb > 0 ? wa / wb : NAN;
    }
    /* The first layer's weight gradient is its signal times its input; clipping scales
     * it by post/pre. The signal it learns from, relative to the last layer's, is then r
     * times the two layers' kept shares (global-norm clipping keeps r: one scale). */
    *clip_ratio = v->clipped ? *ratio * clip_kept(a) / clip_kept(b) : NAN;
}

/* The largest dead fraction of a step's activation layers, and where. */
static double step_dead(const gf_telemetry *t, size_t begin, size_t end, size_t *layer)
{
    double max = 0;
    *layer = 0;
    for (size_t i = begin; i < end; i++) {
        const gf_record *r = gf_telemetry_at(t, i);
        if (r->dead_frac > max) {
            max = r->dead_frac;
            *layer = r->layer;
        }
    }
    return max;
}

/* The figures of one step that the rules read. */
typedef struct step_view {
    int nonfinite;
    double ratio;      /* r, or r_clip for a clipped run */
    double time_ratio; /* NaN: not recurrent */
    double dead;
} step_view;

static step_view view_of(const gf_verdict *v, int final)
{
    step_view s;
    s.nonfinite = v->nonfinite && (final || v->nonfinite_step == v->first_step);
    s.ratio = final ? (v->clipped ? v->clip_ratio_final : v->ratio_final)
                    : (v->clipped ? v->clip_ratio_init : v->ratio_init);
    s.time_ratio = v->time_steps ? (final ? v->time_ratio_final : v->time_ratio_init) : NAN;
    s.dead = final ? v->max_dead_frac : v->max_dead_frac_init;
    return s;
}

/* The rules, first match wins; NaN ratios count towards nothing. */
static gf_verdict_kind judge_step(step_view s)
{
    if (s.nonfinite)
        return GF_VERDICT_NONFINITE;
    if (s.ratio > GF_VERDICT_EXPLODE_RATIO || s.time_ratio > GF_VERDICT_EXPLODE_RATIO)
        return GF_VERDICT_EXPLODING;
    if (s.dead >= GF_VERDICT_DEAD_FRAC)
        return GF_VERDICT_DEAD_UNITS;
    if (s.ratio < GF_VERDICT_VANISH_RATIO || s.time_ratio < GF_VERDICT_VANISH_RATIO)
        return GF_VERDICT_VANISHING;
    return GF_VERDICT_HEALTHY;
}

/* ---- The verdict's text ---------------------------------------------------------------- */

/* Append to the text; silently cut at its end. */
static void add(gf_verdict *v, const char *fmt, ...) GF_PRINTF(2, 3);
static void add(gf_verdict *v, const char *fmt, ...)
{
    size_t n = strlen(v->text);
    va_list ap;
    if (n + 1 >= sizeof v->text)
        return;
    va_start(ap, fmt);
    vsnprintf(v->text + n, sizeof v->text - n, fmt, ap);
    va_end(ap);
}

/* What decided one step's verdict: "the first layer gets 0.1 times ...". */
static void why(gf_verdict *v, gf_verdict_kind kind, int final)
{
    step_view s = view_of(v, final);
    double factor = final ? v->factor_final : v->factor_init;
    double tf = final ? v->time_factor_final : v->time_factor_init;
    int time_decides = v->time_steps &&
        ((kind == GF_VERDICT_EXPLODING && s.time_ratio > GF_VERDICT_EXPLODE_RATIO) ||
         (kind == GF_VERDICT_VANISHING && s.time_ratio < GF_VERDICT_VANISH_RATIO));
    switch (kind) {
    case GF_VERDICT_NONFINITE:
        add(v, "a NaN or infinity first appeared at step %llu, layer %zu (%s pass)",
            (unsigned long long)v->nonfinite_step, v->nonfinite_depth,
            v->nonfinite_backward ? "backward" : "forward");
        return;
    case GF_VERDICT_DEAD_UNITS:
        add(v, "%.0f%% of the units of layer %zu never activate (f' = 0 on every example)",
            100 * s.dead, final ? v->dead_depth : v->dead_depth_init);
        return;
    default:
        break;
    }
    if (time_decides)
        add(v, "||dL/dh_1|| is %.3g times ||dL/dh_T|| through %zu time steps (x%.3g per "
            "step)", s.time_ratio, v->time_steps, tf);
    else
        add(v, "the first layer gets %.3g times the output's backward signal%s", s.ratio,
            v->clipped ? " after clipping" : "");
    if (!time_decides && kind != GF_VERDICT_HEALTHY && !isnan(factor))
        add(v, " (x%.3g per layer)", v->clipped ? pow(s.ratio, 1.0 / (double)(v->n_linear - 1))
                                                : factor);
    if (!time_decides && v->time_steps)
        add(v, "; %.3g through time", s.time_ratio);
}

static void verdict_text(gf_verdict *v)
{
    v->text[0] = '\0';
    add(v, "%s: ", gf_verdict_name(v->kind_final));
    why(v, v->kind_final, 1);
    if (v->kind_final != GF_VERDICT_NONFINITE) /* its text names its own step */
        add(v, " at step %llu", (unsigned long long)v->last_step);
    if (v->last_step != v->first_step && v->kind_final != GF_VERDICT_NONFINITE) {
        add(v, "; at init (step %llu) %s: ", (unsigned long long)v->first_step,
            gf_verdict_name(v->kind_init));
        why(v, v->kind_init, 0);
    }
    if (v->dead_seen && v->kind_final != GF_VERDICT_NONFINITE)
        add(v, "; dead units first at step %llu (%.0f%% of layer %zu)",
            (unsigned long long)v->dead_step, 100 * v->dead_step_frac, v->dead_step_depth);
    else if (v->dead_seen)
        add(v, "; before it, dead units at step %llu (%.0f%% of layer %zu)",
            (unsigned long long)v->dead_step, 100 * v->dead_step_frac, v->dead_step_depth);
    if (v->clipped)
        add(v, "; clipping engaged on %llu of %llu recorded steps",
            (unsigned long long)v->clip_engaged, (unsigned long long)v->clip_steps);
}

/* The kinds and the text from the figures. */
static void decide(gf_verdict *v)
{
    v->kind_init = judge_step(view_of(v, 0));
    v->kind_final = judge_step(view_of(v, 1));
    v->kind = v->kind_final;
    verdict_text(v);
}

/* Network layer `layer` as people read it (docs/concepts.md, "Layer numbers"): its
 * depth k, the count of linear layers up to and including it in the first recorded
 * step, so the activation after the third linear layer is "layer 3 (relu)". */
static size_t layer_depth(const gf_telemetry *t, size_t layer)
{
    size_t b, e, k = 0;
    if (gf_telemetry_count(t) == 0)
        return layer;
    gf_telemetry_step_group(t, 0, &b, &e);
    for (size_t j = b; j < e && gf_telemetry_at(t, j)->layer <= layer; j++)
        k += (gf_layer_kind_traits(gf_telemetry_at(t, j)->kind) & GF_KIND_LINEAR) != 0;
    return k;
}

/* ---- Judging ------------------------------------------------------------------------------ */

/* The linear layers, from the first step's records; none: first and last layer. */
static void find_linear(gf_verdict *v, const gf_telemetry *t, size_t b0, size_t e0)
{
    int have = 0;
    for (size_t i = b0; i < e0; i++) {
        const gf_record *r = gf_telemetry_at(t, i);
        if (gf_layer_kind_traits(r->kind) & GF_KIND_LINEAR) {
            if (!have)
                v->first_linear = r->layer;
            v->last_linear = r->layer;
            v->n_linear++;
            have = 1;
        }
    }
    if (!have) {
        v->first_linear = gf_telemetry_at(t, b0)->layer;
        v->last_linear = gf_telemetry_at(t, e0 - 1)->layer;
        v->n_linear = e0 - b0;
    }
}

/* Every step in order: the first NaN/inf, when dead units first appeared (before it),
 * how often clipping was applied and engaged (changed some layer's gradient norm). */
static void scan_steps(gf_verdict *v, const gf_telemetry *t)
{
    size_t n = gf_telemetry_count(t);
    for (size_t i = 0; i < n;) {
        size_t b, e, layer;
        int clipped = 0, engaged = 0;
        gf_telemetry_step_group(t, i, &b, &e);
        uint64_t step = gf_telemetry_at(t, b)->step;
        if (!v->nonfinite && find_nonfinite(t, b, e, v)) {
            v->nonfinite = 1;
            v->nonfinite_step = step;
        }
        /* Units are dead on finite values only: a step with NaN says nothing of them. */
        double dead = v->nonfinite ? 0 : step_dead(t, b, e, &layer);
        if (!v->dead_seen && dead >= GF_VERDICT_DEAD_FRAC) {
            v->dead_seen = 1;
            v->dead_step = step;
            v->dead_step_layer = layer;
            v->dead_step_frac = dead;
        }
        for (size_t k = b; k < e; k++) {
            const gf_record *r = gf_telemetry_at(t, k);
            if (isnan(r->clip_pre_norm))
                continue;
            clipped = 1;
            /* A relative margin: an untouched gradient's norm is computed twice. */
            engaged |= r->clip_post_norm < r->clip_pre_norm * (1 - 1e-6);
        }
        v->clip_steps += (uint64_t)clipped;
        v->clip_engaged += (uint64_t)engaged;
        i = e;
    }
    v->clipped = v->clip_steps > 0;
}

gf_status gf_verdict_judge(gf_verdict *out, const gf_telemetry *t)
{
    GF_CHECK_NOT_NULL(t, "gf_verdict_judge");
    GF_CHECK_NOT_NULL(out, "gf_verdict_judge");
    size_t n = gf_telemetry_count(t);
    if (n == 0)
        return gf_fail(GF_EINVAL, "gf_verdict_judge: the telemetry holds no record");

    gf_verdict v;
    memset(&v, 0, sizeof v);
    size_t b0, e0, b1, e1;
    gf_telemetry_step_group(t, 0, &b0, &e0);
    gf_telemetry_step_group(t, n - 1, &b1, &e1);
    v.first_step = gf_telemetry_at(t, b0)->step;
    v.last_step = gf_telemetry_at(t, b1)->step;
    v.time_ratio_init = v.time_ratio_final = NAN;
    v.time_factor_init = v.time_factor_final = NAN;
    find_linear(&v, t, b0, e0);
    scan_steps(&v, t);

    judge_signal(t, b0, e0, &v, &v.signal_first_init, &v.signal_last_init, &v.ratio_init,
                 &v.factor_init, &v.wgrad_ratio_init, &v.clip_ratio_init);
    judge_signal(t, b1, e1, &v, &v.signal_first_final, &v.signal_last_final, &v.ratio_final,
                 &v.factor_final, NULL, &v.clip_ratio_final);
    v.max_dead_frac_init = step_dead(t, b0, e0, &v.dead_layer_init);
    v.max_dead_frac = step_dead(t, b1, e1, &v.dead_layer);
    v.max_sat_frac = 0;
    for (size_t i = b1; i < e1; i++) {
        const gf_record *r = gf_telemetry_at(t, i);
        if (r->sat_frac > v.max_sat_frac) {
            v.max_sat_frac = r->sat_frac;
            v.sat_layer = r->layer;
        }
    }
    v.final_loss = gf_telemetry_at(t, b1)->loss;
    v.dead_depth = layer_depth(t, v.dead_layer);
    v.dead_depth_init = layer_depth(t, v.dead_layer_init);
    v.dead_step_depth = layer_depth(t, v.dead_step_layer);
    v.nonfinite_depth = layer_depth(t, v.nonfinite_layer);
    decide(&v);
    *out = v;
    return GF_OK;
}

/* ||dL/dh_1|| / ||dL/dh_T||, NaN when the last is not positive (no signal to compare). */
static double time_ratio(const double *norms, size_t T)
{
    return norms[T - 1] > 0 ? norms[0] / norms[T - 1] : NAN;
}

gf_status gf_verdict_add_time(gf_verdict *v, const double *norms_init,
                              const double *norms_final, size_t T)
{
    GF_CHECK_NOT_NULL(v, "gf_verdict_add_time");
    GF_CHECK_NOT_NULL(norms_init, "gf_verdict_add_time");
    if (T < 2)
        return gf_fail(GF_EINVAL, "gf_verdict_add_time: %zu time steps, need at least 2", T);
    if (norms_final == NULL)
        norms_final = norms_init;
    v->time_steps = T;
    v->time_ratio_init = time_ratio(norms_init, T);
    v->time_ratio_final = time_ratio(norms_final, T);
    v->time_factor_init = pow(v->time_ratio_init, 1.0 / (double)(T - 1));
    v->time_factor_final = pow(v->time_ratio_final, 1.0 / (double)(T - 1));
    decide(v);
    return GF_OK;
}
