/* src/engine/telemetry.c: the record store behind every network, and its CSV form. Records are
 * appended by the engine; clipping and the optimiser amend the last step's records in
 * place, which is why streaming writes a step only once the next one starts. Streaming
 * writes each step's lines with one write(2), so the file holds whole lines and whole
 * steps, except when the process is killed during a write of more than a page: Linux
 * stops it at a 4 KiB boundary, and the reader (gf_run_read_telemetry) drops that cut
 * last step. POSIX (open, write, ftruncate). */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gradflow/telemetry.h"
#include "core/atomic.h"
#include "core/internal.h"
#include "engine/telemetry_steps.h"


struct gf_telemetry {
    gf_record *records;
    size_t count;
    size_t cap;
    int fd;              /* streaming target, -1 when not streaming */
    char *stream_path;   /* its name, for messages (owned) */
    char *lines;         /* one step's CSV lines, formatted before the one write */
    size_t lines_cap;
    size_t streamed;     /* records [0, streamed) are already in the stream */
};

gf_status gf_telemetry_new(gf_telemetry **out)
{
    GF_CHECK_NOT_NULL(out, "gf_telemetry_new");
    *out = gf_calloc(1, sizeof(gf_telemetry));
    if (*out == NULL)
        return gf_fail(GF_ENOMEM, "gf_telemetry_new: out of memory");
    (*out)->fd = -1;
    return GF_OK;
}

static void stream_close(gf_telemetry *t)
{
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
    gf_free(t->stream_path);
    t->stream_path = NULL;
}

void gf_telemetry_free(gf_telemetry *t)
{
    if (t == NULL)
        return;
    if (t->fd >= 0)
        gf_telemetry_flush(t);
    stream_close(t);
    gf_free(t->lines);
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
static int put_real(char *out, size_t cap, double v)
{
    if (isnan(v))
        return snprintf(out, cap, ",");
    if (isinf(v))
        return snprintf(out, cap, v > 0 ? ",inf" : ",-inf");
    return snprintf(out, cap, ",%.9g", v);
}

/* The same field for the CSV files written through stdio (loss.csv, plot data). */
void gf_csv_put_real(FILE *f, double v)
{
    char field[32];
    put_real(field, sizeof field, v);
    fputs(field, f);
}

/* The longest line a record makes: 3 integers of at most 20 digits, the kind, 15 reals
 * of at most 16 characters ("-1.23456789e-308"), 20 separators and the newline. */
enum { LINE_MAX_CSV = 3 * 20 + GF_RECORD_KIND_SIZE + 15 * 16 + 21 + 1 };

/* One record's CSV line, newline included, into out (cap >= LINE_MAX_CSV + 1); returns
 * its length. */
static size_t format_record(char *out, size_t cap, const gf_record *r)
{
    const double fields[] = {r->loss,           r->grad_out_norm,  r->grad_in_norm,
                             r->weight_grad_norm, r->bias_grad_norm, r->weight_norm,
                             r->update_ratio,   r->clip_pre_norm,  r->clip_post_norm,
                             r->act_mean,       r->act_std,        r->deriv_abs_mean,
                             r->zero_frac,      r->dead_frac,      r->sat_frac};
    size_t n = (size_t)snprintf(out, cap, "%llu,%u,%s", (unsigned long long)r->step,
                                (unsigned)r->layer, r->kind);
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        n += (size_t)put_real(out + n, cap - n, fields[i]);
    n += (size_t)snprintf(out + n, cap - n, ",%llu,%llu\n",
                          (unsigned long long)r->nonfinite_fwd,
                          (unsigned long long)r->nonfinite_bwd);
    return n;
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
    char line[LINE_MAX_CSV + 1];
    GF_CHECK_NOT_NULL(r, "gf_record_write_csv");
    GF_CHECK_NOT_NULL(f, "gf_record_write_csv");
    format_record(line, sizeof line, r);
    if (fputs(line, f) == EOF || ferror(f))
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
    gf_atomic_file a;
    gf_status st;
    GF_CHECK_NOT_NULL(t, "gf_telemetry_save_csv");
    GF_CHECK_NOT_NULL(path, "gf_telemetry_save_csv");
    if ((st = gf_atomic_begin(&a, path, "gf_telemetry_save_csv")) != GF_OK)
        return st;
    return gf_atomic_end(&a, gf_telemetry_write_csv(t, a.f), "gf_telemetry_save_csv");
}

/* ---- Streaming ----------------------------------------------------------------------- */

/* Append len bytes to the stream in one write(2) (more only when the kernel takes part
 * of it). When it fails part way (a full disk, a file size limit), the file is cut back
 * to where it was, so that it still ends with a whole line. */
static gf_status stream_write(gf_telemetry *t, const char *buf, size_t len, const char *who)
{
    off_t start = lseek(t->fd, 0, SEEK_END);
    size_t done = 0;
    while (done < len) {
        ssize_t k = write(t->fd, buf + done, len - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            int err = k < 0 ? errno : EIO;
            if (start >= 0 && ftruncate(t->fd, start) != 0) {
                /* nothing more to do: the reader drops an incomplete last line */
            }
            return gf_fail(GF_EIO, "%s: cannot write '%s': %s", who, t->stream_path,
                           strerror(err));
        }
        done += (size_t)k;
    }
    return GF_OK;
}

gf_status gf_telemetry_flush(gf_telemetry *t)
{
    size_t n, len = 0;
    gf_status st;
    int ok = 1;
    GF_CHECK_NOT_NULL(t, "gf_telemetry_flush");
    if (t->fd < 0 || t->streamed >= t->count)
        return GF_OK;
    /* A whole step's lines go into one buffer, whatever the depth, then one write. */
    n = t->count - t->streamed;
    size_t need = gf_mul_size(n, LINE_MAX_CSV, &ok) + 1;
    if (!ok || need == 0)
        return gf_fail(GF_ENOMEM, "telemetry: %zu records to stream is too many", n);
    if (need > t->lines_cap) {
        char *grown = gf_realloc(t->lines, need);
        if (grown == NULL)
            return gf_fail(GF_ENOMEM, "telemetry: out of memory streaming %zu records", n);
        t->lines = grown;
        t->lines_cap = need;
    }
    for (size_t i = t->streamed; i < t->count; i++)
        len += format_record(t->lines + len, t->lines_cap - len, &t->records[i]);
    st = stream_write(t, t->lines, len, "telemetry");
    if (st == GF_OK)
        t->streamed = t->count;
    return st;
}

gf_status gf_telemetry_stream_to(gf_telemetry *t, const char *path)
{
    gf_status st = GF_OK;
    size_t n;
    GF_CHECK_NOT_NULL(t, "gf_telemetry_stream_to");
    if (t->fd >= 0) {
        st = gf_telemetry_flush(t);
        stream_close(t);
    }
    if (path == NULL || st != GF_OK)
        return st;
    n = strlen(path);
    t->stream_path = gf_alloc(n + 1);
    if (t->stream_path == NULL)
        return gf_fail(GF_ENOMEM, "gf_telemetry_stream_to: out of memory");
    memcpy(t->stream_path, path, n + 1);
    /* O_NOFOLLOW: a symbolic link planted at path is refused, not written through. */
    t->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (t->fd < 0) {
        st = gf_fail(GF_EIO, "gf_telemetry_stream_to: cannot open '%s': %s", path,
                     strerror(errno));
        stream_close(t);
        return st;
    }
    /* Only records made from now on go to the new file. */
    t->streamed = t->count;
    char header[sizeof csv_header + 1];
    memcpy(header, csv_header, sizeof csv_header - 1);
    header[sizeof csv_header - 1] = '\n';
    st = stream_write(t, header, sizeof csv_header, "gf_telemetry_stream_to");
    if (st != GF_OK)
        stream_close(t);
    return st;
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
