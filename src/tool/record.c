/* src/tool/record.c: the bookkeeping of one run beside the library's telemetry: the loss
 * per step and the evaluations as growing series, the configuration as key/value pairs for
 * summary.json, and the copy of the records that compare keeps for its overlays. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "run.h"

int gft_series_push(gft_series *s, uint64_t step, double a, double b)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        uint64_t *steps = gf_realloc(s->steps, cap * sizeof *steps);
        double *na, *nb;
        if (steps == NULL)
            return -1;
        s->steps = steps;
        na = gf_realloc(s->a, cap * sizeof *na);
        if (na == NULL)
            return -1;
        s->a = na;
        nb = gf_realloc(s->b, cap * sizeof *nb);
        if (nb == NULL)
            return -1;
        s->b = nb;
        s->cap = cap;
    }
    s->steps[s->n] = step;
    s->a[s->n] = a;
    s->b[s->n] = b;
    s->n++;
    return 0;
}

void gft_series_free(gft_series *s)
{
    gf_free(s->steps), gf_free(s->a), gf_free(s->b);
    memset(s, 0, sizeof *s);
}

static void kv_add(gft_config_text *t, const char *key, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void kv_add(gft_config_text *t, const char *key, const char *fmt, ...)
{
    va_list ap;
    if (t->n == GFT_MAX_KV)
        return;
    va_start(ap, fmt);
    vsnprintf(t->buf[t->n], sizeof t->buf[t->n], fmt, ap);
    va_end(ap);
    t->kv[t->n].key = key;
    t->kv[t->n].value = t->buf[t->n];
    t->n++;
}

void gft_config_kv(gft_config_text *t, const gft_config *c, gf_loss_kind loss,
                   const gf_optim_config *oc, uint64_t total, size_t seq_len)
{
    t->n = 0;
    kv_add(t, "data", "%s", c->data);
    if (c->cell >= 0 && !c->resume[0]) {
        kv_add(t, "cell", "%s", gf_rnn_cell_name((gf_rnn_cell)c->cell));
        kv_add(t, "seq_len", "%zu", seq_len);
        kv_add(t, "hidden", "%zu", c->hidden);
    } else {
        kv_add(t, "depth", "%zu", c->depth);
        kv_add(t, "width", "%zu", c->width);
        kv_add(t, "act", "%s", c->act);
        if (!isnan(c->act_param))
            kv_add(t, "act_param", "%g", c->act_param);
        if (c->norm != GFT_NORM_NONE)
            kv_add(t, "norm", "%s", c->norm == GFT_NORM_BATCH ? "batch" : "layer");
        if (c->residual)
            kv_add(t, "residual", "%zu", c->residual);
    }
    /* The recurrent layer's default is not an activation's suited scheme. */
    kv_add(t, "init", "%s", c->cell >= 0 && !c->init_given ? "uniform" : c->init_text);
    kv_add(t, "loss", "%s", gf_loss_name(loss));
    kv_add(t, "optim", "%s", gf_optim_name(oc->kind));
    kv_add(t, "lr", "%g", oc->lr);
    if (oc->kind == GF_OPTIM_MOMENTUM)
        kv_add(t, "momentum", "%g", oc->momentum);
    if (oc->weight_decay > 0)
        kv_add(t, "weight_decay", "%g", oc->weight_decay);
    if (c->lr_schedule.kind == GF_LR_STEP)
        kv_add(t, "lr_schedule", "step:%llu:%g", (unsigned long long)c->lr_schedule.every,
               c->lr_schedule.gamma);
    else if (c->lr_schedule.kind == GF_LR_COSINE)
        kv_add(t, "lr_schedule", "cosine:%g", c->lr_schedule.min_lr);
    kv_add(t, "batch", "%zu", c->batch);
    kv_add(t, "steps", "%llu", (unsigned long long)total);
    kv_add(t, "seed", "%llu", (unsigned long long)c->seed);
    if (c->clip.kind != GF_CLIP_NONE)
        kv_add(t, "clip", "%s:%g", gf_clip_name(c->clip.kind), c->clip.threshold);
    kv_add(t, "every", "%llu", (unsigned long long)c->every);
    if (c->resume[0])
        kv_add(t, "resume", "%s", c->resume);
}

gf_telemetry *gft_copy_telemetry(const gf_telemetry *t)
{
    gf_telemetry *copy = NULL;
    if (gf_telemetry_new(&copy) != GF_OK)
        return NULL;
    if (gf_telemetry_reserve(copy, gf_telemetry_count(t)) != GF_OK) {
        gf_telemetry_free(copy);
        return NULL;
    }
    for (size_t i = 0; i < gf_telemetry_count(t); i++)
        gf_telemetry_append(copy, gf_telemetry_at(t, i)); /* reserved: cannot fail */
    return copy;
}

void gft_result_release(gft_result *r)
{
    gf_telemetry_free(r->tel);
    gf_free(r->loss);
    gf_free(r->loss_steps);
    gf_free(r->time_init);
    gf_free(r->time_end);
    gf_free(r->predicted);
    r->predicted = NULL, r->n_predicted = 0;
    gf_free(r->eval_steps);
    gf_free(r->test_loss);
    gf_free(r->test_accuracy);
    r->eval_steps = NULL, r->test_loss = r->test_accuracy = NULL, r->n_eval = 0;
    r->tel = NULL, r->loss = NULL, r->loss_steps = NULL, r->n_loss = 0;
    r->time_init = r->time_end = NULL, r->time_T = 0;
}
