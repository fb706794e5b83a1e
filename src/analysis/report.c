/* src/analysis/report.c: the run directory (telemetry.csv, loss.csv, summary.json), plus
 * reading a telemetry CSV back. The verdicts are in src/analysis/verdict.c, the figures in
 * src/analysis/plot*.c. POSIX (mkdir, stat). */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "gradflow/report.h"
#include "core/internal.h"
#include "analysis/run_dir.h"
#include "core/atomic.h"
#include "engine/telemetry_steps.h"

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

/* When dead units first appeared, clipping, the gradient through time: null when the run
 * had none. */
static void write_dead_clip_time(FILE *f, const gf_verdict *v)
{
    if (v->dead_seen) {
        json_uint(f, "dead_step", v->dead_step);
        json_uint(f, "dead_step_layer", v->dead_step_layer);
        json_real(f, "dead_step_frac", v->dead_step_frac);
    } else {
        fputs(",\n  \"dead_step\": null,\n  \"dead_step_layer\": null,\n"
              "  \"dead_step_frac\": null", f);
    }
    json_uint(f, "clip_steps", v->clip_steps);
    json_uint(f, "clip_engaged", v->clip_engaged);
    json_real(f, "clip_ratio_init", v->clip_ratio_init);
    json_real(f, "clip_ratio_final", v->clip_ratio_final);
    json_uint(f, "time_steps", v->time_steps);
    json_real(f, "time_ratio_init", v->time_ratio_init);
    json_real(f, "time_ratio_final", v->time_ratio_final);
    json_real(f, "time_factor_init", v->time_factor_init);
    json_real(f, "time_factor_final", v->time_factor_final);
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
    fputs(",\n  \"verdict_init\": ", f);
    json_string(f, gf_verdict_name(v->kind_init));
    fputs(",\n  \"verdict_final\": ", f);
    json_string(f, gf_verdict_name(v->kind_final));
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
    json_real(f, "max_dead_frac_init", v->max_dead_frac_init);
    json_uint(f, "dead_layer_init", v->dead_layer_init);
    write_dead_clip_time(f, v);
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

/* The page size at which Linux stops a write(2) when the writer is killed: a file cut
 * there may end on a newline and still lack the rest of its last step. */
enum { KILLED_WRITE_BOUNDARY = 4096 };

/* A streamed run writes each step with one write(2), but when the process is killed
 * (kill -9, the OOM killer) during a write of more than a page, Linux stops it at a
 * 4 KiB boundary of the file: the last step is then cut, at a line or within one. The
 * records read from t's index `start` on end with such a step, and it is dropped, when
 * the file shows a cut (its last line has no newline, or it ends on a 4 KiB boundary)
 * and the step is short: the cut line names the same step, or, when it names none (or
 * the file ends on the boundary), the step has fewer records than the step before. */
static void drop_cut_step(gf_telemetry *t, size_t start, const char *path, int cut_line,
                          long cut_step, long size)
{
    size_t n = gf_telemetry_count(t), first, end, prev_first;
    int short_step = 0;
    if (n <= start || !(cut_line || (size > 0 && size % KILLED_WRITE_BOUNDARY == 0)))
        return;
    gf_telemetry_step_group(t, n - 1, &first, &end);
    if (first < start)
        first = start;
    if (first > start) {
        gf_telemetry_step_group(t, first - 1, &prev_first, &end);
        if (prev_first < start)
            prev_first = start;
        short_step = n - first < first - prev_first;
    }
    if (cut_line && cut_step >= 0) /* the cut line names its step: cut there or not */
        short_step = (uint64_t)cut_step == gf_telemetry_at(t, n - 1)->step;
    if (!short_step)
        return;
    gf_warn("gf_run_read_telemetry: %s: the last step (%llu) was cut short (the run was "
            "killed while writing it?): its %zu record(s) dropped", path,
            (unsigned long long)gf_telemetry_at(t, n - 1)->step, n - first);
    gf_telemetry_truncate(t, first);
}

gf_status gf_run_read_telemetry(gf_telemetry *t, const char *path)
{
    char line[1024];
    size_t lineno = 0, start;
    gf_status st = GF_OK;
    int cut_line = 0;
    long cut_step = -1;
    GF_CHECK_NOT_NULL(t, "gf_run_read_telemetry");
    GF_CHECK_NOT_NULL(path, "gf_run_read_telemetry");
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return gf_fail(GF_EIO, "gf_run_read_telemetry: cannot open '%s': %s", path,
                       strerror(errno));
    start = gf_telemetry_count(t);
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
            char *end;
            gf_warn("gf_run_read_telemetry: %s:%zu: the last line is incomplete (the run "
                    "was cut short?): dropped", path, lineno);
            cut_line = 1;
            cut_step = strtol(line, &end, 10); /* its step, when the cut came after it */
            if (end == line || *end != ',')
                cut_step = -1;
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
    if (st == GF_OK && fseek(f, 0, SEEK_END) == 0)
        drop_cut_step(t, start, path, cut_line, cut_step, ftell(f));
    fclose(f);
    return st;
}
