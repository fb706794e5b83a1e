/* src/engine/telemetry.c: the record store behind every network, and its CSV form. Records are
 * appended by the engine; clipping and the optimiser amend the last step's records in
 * place, which is why streaming writes a step only once the next one starts. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gradflow/telemetry.h"
#include "core/internal.h"
#include "engine/telemetry_steps.h"

struct gf_telemetry {
    gf_record *records;
    size_t count;
    size_t cap;
    FILE *stream;        /* streaming target, NULL when not streaming */
    size_t streamed;     /* records [0, streamed) are already in the stream */
};

gf_status gf_telemetry_new(gf_telemetry **out)
{
    GF_CHECK_NOT_NULL(out, "gf_telemetry_new");
    *out = gf_calloc(1, sizeof(gf_telemetry));
    if (*out == NULL)
        return gf_fail(GF_ENOMEM, "gf_telemetry_new: out of memory");
    return GF_OK;
}

void gf_telemetry_free(gf_telemetry *t)
{
    if (t == NULL)
        return;
    if (t->stream != NULL) {
        gf_telemetry_flush(t);
        fclose(t->stream);
    }
    gf_free(t->records);
    gf_free(t);
}

size_t gf_telemetry_count(const gf_telemetry *t) { return t == NULL ? 0 : t->count; }

const gf_record *gf_telemetry_at(const gf_telemetry *t, size_t i)
{
    if (t == NULL || i >= t->count)
        return NULL;
    return &t->records[i];
}

const gf_record *gf_telemetry_find(const gf_telemetry *t, uint64_t step, size_t layer)
{
    size_t lo = 0;
    size_t hi;
    if (t == NULL)
        return NULL;
    /* Records are appended in step order: binary search for the first of this step. */
    hi = t->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->records[mid].step < step)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < t->count && t->records[i].step == step; i++)
        if (t->records[i].layer == layer)
            return &t->records[i];
    return NULL;
}

static gf_status grow(gf_telemetry *t, size_t cap)
{
    gf_record *grown;
    if (cap > (size_t)-1 / sizeof(gf_record))
        return gf_fail(GF_ENOMEM, "telemetry: %zu records is too many", cap);
    grown = gf_realloc(t->records, cap * sizeof(gf_record));
    if (grown == NULL)
        return gf_fail(GF_ENOMEM, "telemetry: cannot grow to %zu records", cap);
    t->records = grown;
    t->cap = cap;
    return GF_OK;
}

gf_status gf_telemetry_reserve(gf_telemetry *t, size_t n)
{
    GF_CHECK_NOT_NULL(t, "gf_telemetry_reserve");
    return n > t->cap ? grow(t, n) : GF_OK;
}

gf_status gf_telemetry_append(gf_telemetry *t, const gf_record *rec)
{
    GF_CHECK_NOT_NULL(t, "gf_telemetry_append");
    GF_CHECK_NOT_NULL(rec, "gf_telemetry_append");
    if (t->count > 0 && rec->step < t->records[t->count - 1].step)
        return gf_fail(GF_EINVAL, "gf_telemetry_append: step %llu comes after step %llu",
                       (unsigned long long)rec->step,
                       (unsigned long long)t->records[t->count - 1].step);
    if (t->count == t->cap) {
        /* Doubling keeps appends amortised O(1): a long run reallocates rarely. */
        gf_status st = grow(t, t->cap ? 2 * t->cap : 256);
        if (st != GF_OK)
            return st;
    }
    t->records[t->count++] = *rec;
    return GF_OK;
}

void gf_telemetry_clear(gf_telemetry *t)
{
    if (t != NULL)
        gf_telemetry_truncate(t, 0);
}

void gf_telemetry_truncate(gf_telemetry *t, size_t count)
{
    if (t == NULL || count >= t->count)
        return;
    t->count = count;
    if (t->streamed > count)
        t->streamed = count;
}

/* ---- CSV --------------------------------------------------------------------------- */

static const char csv_header[] =
    "step,layer,kind,loss,grad_out_norm,grad_in_norm,weight_grad_norm,bias_grad_norm,"
    "weight_norm,update_ratio,clip_pre_norm,clip_post_norm,act_mean,act_std,deriv_abs_mean,"
    "zero_frac,dead_frac,sat_frac,nonfinite_fwd,nonfinite_bwd";

const char *gf_telemetry_csv_header(void) { return csv_header; }

/* NaN means "does not apply": an empty field, which gnuplot and spreadsheets skip. */
void gf_csv_put_real(FILE *f, double v)
{
    if (isnan(v))
        fputs(",", f);
    else if (isinf(v))
        fputs(v > 0 ? ",inf" : ",-inf", f);
    else
        fprintf(f, ",%.9g", v);
}

void gf_record_set_kind(gf_record *rec, const char *kind)
{
    if (rec == NULL)
        return;
    size_t i = 0;
    /* Copied, cut to fit (a plain loop: this runs for every layer of every recorded
     * step). The CSV has no quoting: a separator or a line break in a name would shift
     * fields, so those become '_'. */
    for (; kind != NULL && kind[i] != '\0' && i + 1 < sizeof rec->kind; i++) {
        char c = kind[i];
        rec->kind[i] = c == ',' || c == '"' || (unsigned char)c < 0x20 ? '_' : c;
    }
    rec->kind[i] = '\0';
}

gf_status gf_record_write_csv(const gf_record *r, FILE *f)
{
    GF_CHECK_NOT_NULL(r, "gf_record_write_csv");
    GF_CHECK_NOT_NULL(f, "gf_record_write_csv");
    fprintf(f, "%llu,%u,%s", (unsigned long long)r->step, (unsigned)r->layer,
            r->kind);
    const double fields[] = {r->loss,           r->grad_out_norm,  r->grad_in_norm,
                             r->weight_grad_norm, r->bias_grad_norm, r->weight_norm,
                             r->update_ratio,   r->clip_pre_norm,  r->clip_post_norm,
                             r->act_mean,       r->act_std,        r->deriv_abs_mean,
                             r->zero_frac,      r->dead_frac,      r->sat_frac};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        gf_csv_put_real(f, fields[i]);
    fprintf(f, ",%llu,%llu\n", (unsigned long long)r->nonfinite_fwd,
            (unsigned long long)r->nonfinite_bwd);
    if (ferror(f))
        return gf_fail(GF_EIO, "telemetry: write failed: %s", strerror(errno));
    return GF_OK;
}

gf_status gf_telemetry_write_csv(const gf_telemetry *t, FILE *f)
{
    GF_CHECK_NOT_NULL(t, "gf_telemetry_write_csv");
    GF_CHECK_NOT_NULL(f, "gf_telemetry_write_csv");
    fprintf(f, "%s\n", csv_header);
    for (size_t i = 0; i < t->count; i++) {
        gf_status st = gf_record_write_csv(&t->records[i], f);
        if (st != GF_OK)
            return st;
    }
    return GF_OK;
}

gf_status gf_telemetry_save_csv(const gf_telemetry *t, const char *path)
{
    char tmp[4096];
    FILE *f;
    gf_status st;
    GF_CHECK_NOT_NULL(t, "gf_telemetry_save_csv");
    GF_CHECK_NOT_NULL(path, "gf_telemetry_save_csv");
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return gf_fail(GF_EINVAL, "gf_telemetry_save_csv: path too long");
    f = fopen(tmp, "w");
    if (f == NULL)
        return gf_fail(GF_EIO, "gf_telemetry_save_csv: cannot open '%s': %s", tmp,
                       strerror(errno));
    st = gf_telemetry_write_csv(t, f);
    if (fclose(f) != 0 && st == GF_OK)
        st = gf_fail(GF_EIO, "gf_telemetry_save_csv: cannot write '%s': %s", tmp,
                     strerror(errno));
    if (st == GF_OK && rename(tmp, path) != 0)
        st = gf_fail(GF_EIO, "gf_telemetry_save_csv: cannot rename '%s' to '%s': %s", tmp, path,
                     strerror(errno));
    if (st != GF_OK)
        remove(tmp);
    return st;
}

gf_status gf_telemetry_flush(gf_telemetry *t)
{
    GF_CHECK_NOT_NULL(t, "gf_telemetry_flush");
    if (t->stream == NULL)
        return GF_OK;
    for (; t->streamed < t->count; t->streamed++) {
        gf_status st = gf_record_write_csv(&t->records[t->streamed], t->stream);
        if (st != GF_OK)
            return st;
    }
    if (fflush(t->stream) != 0)
        return gf_fail(GF_EIO, "telemetry: flush failed: %s", strerror(errno));
    return GF_OK;
}

gf_status gf_telemetry_stream_to(gf_telemetry *t, const char *path)
{
    gf_status st = GF_OK;
    GF_CHECK_NOT_NULL(t, "gf_telemetry_stream_to");
    if (t->stream != NULL) {
        st = gf_telemetry_flush(t);
        if (fclose(t->stream) != 0 && st == GF_OK)
            st = gf_fail(GF_EIO, "gf_telemetry_stream_to: closing the stream failed");
        t->stream = NULL;
    }
    if (path == NULL || st != GF_OK)
        return st;
    t->stream = fopen(path, "w");
    if (t->stream == NULL)
        return gf_fail(GF_EIO, "gf_telemetry_stream_to: cannot open '%s': %s", path,
                       strerror(errno));
    /* Only records made from now on go to the new file. */
    t->streamed = t->count;
    fprintf(t->stream, "%s\n", csv_header);
    if (fflush(t->stream) != 0)
        return gf_fail(GF_EIO, "gf_telemetry_stream_to: cannot write '%s'", path);
    return GF_OK;
}

/* Records are appended in step order, layer by layer: the records of one step are a
 * contiguous run, found by walking from i both ways while the step is the same. */
void gf_telemetry_step_group(const gf_telemetry *t, size_t i, size_t *begin, size_t *end)
{
    size_t n = gf_telemetry_count(t);
    uint64_t step = gf_telemetry_at(t, i)->step;
    size_t b = i, e = i;
    while (b > 0 && gf_telemetry_at(t, b - 1)->step == step)
        b--;
    while (e < n && gf_telemetry_at(t, e)->step == step)
        e++;
    *begin = b;
    *end = e;
}
