/* src/analysis/report.c: verdicts on a run's telemetry and the run directory (telemetry.csv,
 * loss.csv, summary.json), plus reading a telemetry CSV back. The figures are in
 * src/analysis/plot*.c. Thresholds are documented in include/gradflow/report.h and
 * docs/verdicts.md; this file only applies them. POSIX (mkdir, stat). */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "gradflow/registry.h"
#include "gradflow/report.h"
#include "core/internal.h"
#include "analysis/run_dir.h"
#include "core/atomic.h"
#include "engine/telemetry_steps.h"

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

/* ---- Verdicts ------------------------------------------------------------------------ */

static const char *const verdict_names[GF_VERDICT_COUNT] = {
    "healthy", "vanishing", "exploding", "dead_units", "nonfinite"};

const char *gf_verdict_name(gf_verdict_kind kind)
{
    if ((int)kind < 0 || kind >= GF_VERDICT_COUNT)
        return "unknown";
    return verdict_names[kind];
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

/* Signals of the first and last linear layer in one step, their ratio and per-layer
 * factor. */
static void judge_signal(const gf_telemetry *t, size_t begin, size_t end, const gf_verdict *v,
                         double *s_first, double *s_last, double *ratio, double *factor,
                         double *wratio)
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

static void verdict_text(gf_verdict *v, const gf_telemetry *t)
{
    const char *name = gf_verdict_name(v->kind);
    /* The step that decided a signal verdict: the worse of init and last. */
    int use_final = 0;
    if (v->kind == GF_VERDICT_EXPLODING)
        use_final = !(v->ratio_init > GF_VERDICT_EXPLODE_RATIO);
    else if (v->kind == GF_VERDICT_VANISHING)
        use_final = !(v->ratio_init < GF_VERDICT_VANISH_RATIO);
    double ratio = use_final ? v->ratio_final : v->ratio_init;
    double factor = use_final ? v->factor_final : v->factor_init;
    unsigned long long step = use_final ? v->last_step : v->first_step;

    switch (v->kind) {
    case GF_VERDICT_NONFINITE:
        snprintf(v->text, sizeof v->text,
                 "%s: a NaN or infinity first appeared at step %llu, layer %zu (%s pass)", name,
                 (unsigned long long)v->nonfinite_step, layer_depth(t, v->nonfinite_layer),
                 v->nonfinite_backward ? "backward" : "forward");
        break;
    case GF_VERDICT_EXPLODING:
    case GF_VERDICT_VANISHING:
        snprintf(v->text, sizeof v->text,
                 "%s: the first layer gets %.3g times the output's backward signal "
                 "(x%.3g per layer) at step %llu", name, ratio, factor, step);
        break;
    case GF_VERDICT_DEAD_UNITS:
        snprintf(v->text, sizeof v->text,
                 "%s: %.0f%% of the units of layer %zu never activate (f' = 0 on every "
                 "example) at step %llu", name, 100 * v->max_dead_frac,
                 layer_depth(t, v->dead_layer),
                 (unsigned long long)v->last_step);
        break;
    default:
        snprintf(v->text, sizeof v->text,
                 "%s: the first layer gets %.3g times the output's backward signal at init, "
                 "%.3g at step %llu", name, v->ratio_init, v->ratio_final,
                 (unsigned long long)v->last_step);
        break;
    }
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
    v.kind = GF_VERDICT_HEALTHY;
    size_t b0, e0, b1, e1;
    gf_telemetry_step_group(t, 0, &b0, &e0);
    gf_telemetry_step_group(t, n - 1, &b1, &e1);
    v.first_step = gf_telemetry_at(t, b0)->step;
    v.last_step = gf_telemetry_at(t, b1)->step;

    /* Linear layers, from the first step's records; none: first and last layer. */
    int have = 0;
    for (size_t i = b0; i < e0; i++) {
        const gf_record *r = gf_telemetry_at(t, i);
        if (gf_layer_kind_traits(r->kind) & GF_KIND_LINEAR) {
            if (!have)
                v.first_linear = r->layer;
            v.last_linear = r->layer;
            v.n_linear++;
            have = 1;
        }
    }
    if (!have) {
        v.first_linear = gf_telemetry_at(t, b0)->layer;
        v.last_linear = gf_telemetry_at(t, e0 - 1)->layer;
        v.n_linear = e0 - b0;
    }

    judge_signal(t, b0, e0, &v, &v.signal_first_init, &v.signal_last_init, &v.ratio_init,
                 &v.factor_init, &v.wgrad_ratio_init);
    judge_signal(t, b1, e1, &v, &v.signal_first_final, &v.signal_last_final, &v.ratio_final,
                 &v.factor_final, NULL);

    v.max_dead_frac = 0;
    v.max_sat_frac = 0;
    for (size_t i = b1; i < e1; i++) {
        const gf_record *r = gf_telemetry_at(t, i);
        if (r->dead_frac > v.max_dead_frac) {
            v.max_dead_frac = r->dead_frac;
            v.dead_layer = r->layer;
        }
        if (r->sat_frac > v.max_sat_frac) {
            v.max_sat_frac = r->sat_frac;
            v.sat_layer = r->layer;
        }
    }
    v.final_loss = gf_telemetry_at(t, b1)->loss;

    /* The first step holding a NaN or infinity. */
    for (size_t i = 0; i < n;) {
        size_t b, e;
        gf_telemetry_step_group(t, i, &b, &e);
        if (find_nonfinite(t, b, e, &v)) {
            v.nonfinite = 1;
            v.nonfinite_step = gf_telemetry_at(t, b)->step;
            break;
        }
        i = e;
    }

    if (v.nonfinite)
        v.kind = GF_VERDICT_NONFINITE;
    else if (v.ratio_init > GF_VERDICT_EXPLODE_RATIO || v.ratio_final > GF_VERDICT_EXPLODE_RATIO)
        v.kind = GF_VERDICT_EXPLODING;
    else if (v.max_dead_frac >= GF_VERDICT_DEAD_FRAC)
        v.kind = GF_VERDICT_DEAD_UNITS;
    else if (v.ratio_init < GF_VERDICT_VANISH_RATIO || v.ratio_final < GF_VERDICT_VANISH_RATIO)
        v.kind = GF_VERDICT_VANISHING;
    verdict_text(&v, t);
    *out = v;
    return GF_OK;
}

/* ---- Directories and files ----------------------------------------------------------- */

gf_status gf_mkdir_p(const char *dir)
{
    char path[4096];
    struct stat sb;
    GF_CHECK_NOT_NULL(dir, "gf_mkdir_p");
    size_t len = strlen(dir);
    if (len == 0)
        return gf_fail(GF_EINVAL, "gf_mkdir_p: empty directory name");
    if (len >= sizeof path)
        return gf_fail(GF_EINVAL, "gf_mkdir_p: path of %zu characters is too long", len);
    memcpy(path, dir, len + 1);
    /* Create each prefix ending before a '/', then the whole path. */
    for (size_t i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        if (path[i - 1] == '/')
            continue;
        char c = path[i];
        path[i] = '\0';
        if (mkdir(path, 0777) != 0) {
            int err = errno;
            if (err != EEXIST || stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
                gf_status st = gf_fail(GF_EIO, "gf_mkdir_p: cannot create directory '%s': %s",
                                       path, err == EEXIST ? "a file is in the way"
                                                           : strerror(err));
                return st;
            }
        }
        path[i] = c;
    }
    return GF_OK;
}

static gf_status join(char *buf, size_t cap, const char *dir, const char *file, const char *who)
{
    int k = snprintf(buf, cap, "%s/%s", dir, file);
    if (k < 0 || (size_t)k >= cap)
        return gf_fail(GF_EINVAL, "%s: path '%s/%s' is too long", who, dir, file);
    return GF_OK;
}

/* ---- loss.csv ------------------------------------------------------------------------ */

gf_run_summary gf_run_summary_default(void)
{
    gf_run_summary s;
    memset(&s, 0, sizeof s);
    s.final_loss = NAN;
    s.final_accuracy = NAN;
    s.seconds = NAN;
    s.predicted_factor = NAN;
    return s;
}

/* Training losses, either given or one per recorded step of the telemetry. */
typedef struct loss_src {
    const gf_run_summary *s;
    const gf_telemetry *t;
    size_t n;     /* number of values */
    size_t next;  /* telemetry: index of the next step's first record */
} loss_src;

static int loss_next(loss_src *ls, size_t k, uint64_t *step, double *loss)
{
    if (ls->s->loss != NULL) {
        if (k >= ls->s->n_loss)
            return 0;
        *step = ls->s->loss_steps ? ls->s->loss_steps[k] : (uint64_t)k;
        *loss = ls->s->loss[k];
        return 1;
    }
    if (ls->t == NULL || ls->next >= gf_telemetry_count(ls->t))
        return 0;
    size_t b, e;
    gf_telemetry_step_group(ls->t, ls->next, &b, &e);
    *step = gf_telemetry_at(ls->t, b)->step;
    *loss = gf_telemetry_at(ls->t, b)->loss;
    ls->next = e;
    return 1;
}

static gf_status write_loss_csv(FILE *f, const gf_telemetry *t, const gf_run_summary *s)
{
    loss_src ls = {s, t, 0, 0};
    uint64_t step = 0;
    double loss = NAN;
    size_t k = 0, j = 0;
    int have = loss_next(&ls, k, &step, &loss);
    fputs("step,loss,test_loss,test_accuracy\n", f);
    /* Merge the training losses and the evaluations by step. */
    while (have || j < s->n_eval) {
        int take_eval = j < s->n_eval && (!have || s->eval_steps[j] <= step);
        int take_loss = have && (j >= s->n_eval || step <= s->eval_steps[j]);
        uint64_t row = take_loss ? step : s->eval_steps[j];
        fprintf(f, "%llu", (unsigned long long)row);
        gf_csv_put_real(f, take_loss ? loss : NAN);
        gf_csv_put_real(f, take_eval && s->test_loss ? s->test_loss[j] : NAN);
        gf_csv_put_real(f, take_eval && s->test_accuracy ? s->test_accuracy[j] : NAN);
        fputc('\n', f);
        if (take_loss)
            have = loss_next(&ls, ++k, &step, &loss);
        if (take_eval)
            j++;
    }
    return GF_OK;
}

/* ---- summary.json -------------------------------------------------------------------- */

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\t')
            fputs("\\t", f);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* JSON has no NaN or infinity: both are written null. */
static void json_real(FILE *f, const char *key, double v)
{
    fprintf(f, ",\n  \"%s\": ", key);
    if (isfinite(v))
        fprintf(f, "%.9g", v);
    else
        fputs("null", f);
}

static void json_uint(FILE *f, const char *key, unsigned long long v)
{
    fprintf(f, ",\n  \"%s\": %llu", key, v);
}

static gf_status write_summary(FILE *f, const gf_telemetry *t, const gf_run_summary *s)
{
    gf_verdict judged;
    const gf_verdict *v = s->verdict;
    if (v == NULL && t != NULL && gf_telemetry_count(t) > 0) {
        gf_status st = gf_verdict_judge(&judged, t);
        if (st != GF_OK)
            return st;
        v = &judged;
    }
    double final_loss = s->final_loss;
    if (isnan(final_loss) && s->loss != NULL && s->n_loss > 0)
        final_loss = s->loss[s->n_loss - 1];
    if (isnan(final_loss) && v != NULL)
        final_loss = v->final_loss;

    fputs("{\n  \"name\": ", f);
    json_string(f, s->name ? s->name : "run");
    fputs(",\n  \"gradflow_version\": ", f);
    json_string(f, gf_version());
    fputs(",\n  \"real\": ", f);
    json_string(f, gf_real_name());
    fputs(",\n  \"config\": {", f);
    for (size_t i = 0; i < s->n_config; i++) {
        fputs(i ? ", " : "", f);
        json_string(f, s->config[i].key);
        fputs(": ", f);
        json_string(f, s->config[i].value);
    }
    fputs("}", f);
    json_uint(f, "steps", s->steps);
    json_real(f, "seconds", s->seconds);
    json_real(f, "final_loss", final_loss);
    json_real(f, "final_accuracy", s->final_accuracy);
    json_uint(f, "records", t ? gf_telemetry_count(t) : 0);
    fputs(",\n  \"verdict\": ", f);
    if (v == NULL) {
        fputs("null\n}\n", f);
        return GF_OK;
    }
    json_string(f, gf_verdict_name(v->kind));
    fputs(",\n  \"verdict_text\": ", f);
    json_string(f, v->text);
    json_uint(f, "first_step", v->first_step);
    json_uint(f, "last_step", v->last_step);
    json_uint(f, "n_linear", v->n_linear);
    json_uint(f, "first_linear", v->first_linear);
    json_uint(f, "last_linear", v->last_linear);
    json_real(f, "signal_first_init", v->signal_first_init);
    json_real(f, "signal_last_init", v->signal_last_init);
    json_real(f, "ratio_init", v->ratio_init);
    json_real(f, "factor_init", v->factor_init);
    json_real(f, "predicted_factor_init", s->predicted_factor);
    json_real(f, "signal_first_final", v->signal_first_final);
    json_real(f, "signal_last_final", v->signal_last_final);
    json_real(f, "ratio_final", v->ratio_final);
    json_real(f, "factor_final", v->factor_final);
    json_real(f, "wgrad_ratio_init", v->wgrad_ratio_init);
    json_real(f, "max_dead_frac", v->max_dead_frac);
    json_uint(f, "dead_layer", v->dead_layer);
    json_real(f, "max_sat_frac", v->max_sat_frac);
    json_uint(f, "sat_layer", v->sat_layer);
    if (v->nonfinite) {
        json_uint(f, "nonfinite_step", v->nonfinite_step);
        json_uint(f, "nonfinite_layer", v->nonfinite_layer);
        fprintf(f, ",\n  \"nonfinite_pass\": \"%s\"", v->nonfinite_backward ? "backward" : "forward");
    } else {
        fputs(",\n  \"nonfinite_step\": null,\n  \"nonfinite_layer\": null,\n"
              "  \"nonfinite_pass\": null", f);
    }
    fputs("\n}\n", f);
    return GF_OK;
}

/* ---- The run directory --------------------------------------------------------------- */

gf_status gf_run_write(const char *dir, const gf_telemetry *t, const gf_run_summary *summary)
{
    static const char who[] = "gf_run_write";
    char path[4096];
    gf_atomic_file a;
    gf_status st;
    GF_CHECK_NOT_NULL(dir, who);
    GF_CHECK_NOT_NULL(t, who);
    gf_run_summary def = gf_run_summary_default();
    const gf_run_summary *s = summary ? summary : &def;
    if (s->n_config > 0 && s->config == NULL)
        return gf_fail(GF_EINVAL, "%s: %zu config entries but config is NULL", who, s->n_config);
    for (size_t i = 0; i < s->n_config; i++)
        if (s->config[i].key == NULL || s->config[i].value == NULL)
            return gf_fail(GF_EINVAL, "%s: config entry %zu has a NULL key or value", who, i);
    if (s->n_eval > 0 && s->eval_steps == NULL)
        return gf_fail(GF_EINVAL, "%s: %zu evaluations but eval_steps is NULL", who, s->n_eval);
    if (s->loss == NULL && s->loss_steps != NULL)
        return gf_fail(GF_EINVAL, "%s: loss_steps given without loss", who);
    for (size_t i = 1; s->loss_steps && i < s->n_loss; i++)
        if (s->loss_steps[i] <= s->loss_steps[i - 1])
            return gf_fail(GF_EINVAL, "%s: loss_steps must increase (entry %zu)", who, i);
    for (size_t i = 1; i < s->n_eval; i++)
        if (s->eval_steps[i] <= s->eval_steps[i - 1])
            return gf_fail(GF_EINVAL, "%s: eval_steps must increase (entry %zu)", who, i);

    if ((st = gf_mkdir_p(dir)) != GF_OK)
        return st;
    if ((st = join(path, sizeof path, dir, "telemetry.csv", who)) != GF_OK)
        return st;
    if ((st = gf_telemetry_save_csv(t, path)) != GF_OK)
        return st;

    if ((st = join(path, sizeof path, dir, "loss.csv", who)) != GF_OK)
        return st;
    if ((st = gf_atomic_begin(&a, path, who)) != GF_OK)
        return st;
    if ((st = gf_atomic_end(&a, write_loss_csv(a.f, t, s), who)) != GF_OK)
        return st;

    if ((st = join(path, sizeof path, dir, "summary.json", who)) != GF_OK)
        return st;
    if ((st = gf_atomic_begin(&a, path, who)) != GF_OK)
        return st;
    return gf_atomic_end(&a, write_summary(a.f, t, s), who);
}

/* ---- Reading a telemetry CSV --------------------------------------------------------- */

static int parse_real(const char *s, double *v)
{
    char *end;
    if (*s == '\0') {
        *v = NAN;
        return 1;
    }
    errno = 0;
    *v = strtod(s, &end);
    return *end == '\0';
}

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;
    if (*s < '0' || *s > '9')
        return 0;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (*end != '\0' || errno == ERANGE)
        return 0;
    *v = (uint64_t)x;
    return 1;
}

enum { CSV_FIELDS = 20 };

static gf_status parse_line(char *line, gf_record *r, const char *path, size_t lineno)
{
    char *field[CSV_FIELDS];
    size_t nf = 0;
    char *p = line;
    field[nf++] = p;
    for (; *p; p++) {
        if (*p == ',') {
            *p = '\0';
            if (nf == CSV_FIELDS)
                return gf_fail(GF_EFORMAT, "gf_run_read_telemetry: %s:%zu: more than %d fields",
                               path, lineno, CSV_FIELDS);
            field[nf++] = p + 1;
        }
    }
    if (nf != CSV_FIELDS)
        return gf_fail(GF_EFORMAT, "gf_run_read_telemetry: %s:%zu: %zu fields, expected %d",
                       path, lineno, nf, CSV_FIELDS);
    uint64_t step, layer, nff, nfb;
    double *reals[] = {&r->loss,           &r->grad_out_norm,  &r->grad_in_norm,
                       &r->weight_grad_norm, &r->bias_grad_norm, &r->weight_norm,
                       &r->update_ratio,   &r->clip_pre_norm,  &r->clip_post_norm,
                       &r->act_mean,       &r->act_std,        &r->deriv_abs_mean,
                       &r->zero_frac,      &r->dead_frac,      &r->sat_frac};
    if (!parse_u64(field[0], &step) || !parse_u64(field[1], &layer) || layer > UINT32_MAX)
        return gf_fail(GF_EFORMAT, "gf_run_read_telemetry: %s:%zu: bad step or layer", path,
                       lineno);
    for (size_t i = 0; i < 15; i++)
        if (!parse_real(field[3 + i], reals[i]))
            return gf_fail(GF_EFORMAT, "gf_run_read_telemetry: %s:%zu: field %zu is not a "
                           "number: '%s'", path, lineno, 4 + i, field[3 + i]);
    if (!parse_u64(field[18], &nff) || !parse_u64(field[19], &nfb))
        return gf_fail(GF_EFORMAT, "gf_run_read_telemetry: %s:%zu: bad non-finite counts", path,
                       lineno);
    r->step = step;
    r->layer = (uint32_t)layer;
    gf_record_set_kind(r, field[2]);
    r->nonfinite_fwd = nff;
    r->nonfinite_bwd = nfb;
    return GF_OK;
}

gf_status gf_run_read_telemetry(gf_telemetry *t, const char *path)
{
    char line[1024];
    size_t lineno = 0;
    gf_status st = GF_OK;
    GF_CHECK_NOT_NULL(t, "gf_run_read_telemetry");
    GF_CHECK_NOT_NULL(path, "gf_run_read_telemetry");
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return gf_fail(GF_EIO, "gf_run_read_telemetry: cannot open '%s': %s", path,
                       strerror(errno));
    while (st == GF_OK && fgets(line, sizeof line, f) != NULL) {
        size_t len = strlen(line);
        lineno++;
        if (len > 0 && line[len - 1] != '\n' && !feof(f)) {
            st = gf_fail(GF_EFORMAT, "gf_run_read_telemetry: %s:%zu: line too long", path,
                         lineno);
            break;
        }
        /* Every line the library writes ends in a newline: a last line without one was
         * cut short (a killed run, a full disk), and a number cut short still parses. */
        if (len > 0 && line[len - 1] != '\n' && lineno > 1) {
            gf_warn("gf_run_read_telemetry: %s:%zu: the last line is incomplete (the run "
                    "was cut short?): dropped", path, lineno);
            break;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (lineno == 1) {
            if (strcmp(line, gf_telemetry_csv_header()) != 0)
                st = gf_fail(GF_EFORMAT, "gf_run_read_telemetry: %s: not a telemetry CSV "
                             "(the header differs)", path);
            continue;
        }
        if (len == 0)
            continue;
        gf_record r;
        memset(&r, 0, sizeof r);
        st = parse_line(line, &r, path, lineno);
        if (st == GF_OK)
            st = gf_telemetry_append(t, &r);
    }
    if (st == GF_OK && ferror(f))
        st = gf_fail(GF_EIO, "gf_run_read_telemetry: cannot read '%s'", path);
    if (st == GF_OK && lineno == 0)
        st = gf_fail(GF_EFORMAT, "gf_run_read_telemetry: %s is empty", path);
    fclose(f);
    return st;
}
