/* src/io/csv.c: the CSV loader (gf_data_csv): the file read whole (io/data_io.c), split
 * into lines, its shape fixed by its first line, then every data line checked and read
 * into a new data set, so a malformed file is an error and never a partial data set.
 * Splitting and parsing ask the cancel callback as they go (common.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "gradflow/data.h"
#include "io/data_io.h"

/* ---- CSV ---------------------------------------------------------------------------------- */

gf_csv_options gf_csv_options_default(void)
{
    gf_csv_options o;
    o.label_column = -1;
    o.header = -1;
    o.delimiter = 0;
    o.regression = 0;
    return o;
}

/* One line of the file: [begin, end) without the line break (and without '\r'). */
typedef struct line {
    const char *begin, *end;
    size_t number; /* 1-based */
} line;

/* Fields are located one at a time: *pos advances past the delimiter. */
typedef struct field {
    const char *begin, *end; /* trimmed, unquoted */
} field;

static int is_blank(char c, char delim) { return (c == ' ' || c == '\t') && c != delim; }

static int line_is_blank(const line *l, char delim)
{
    for (const char *p = l->begin; p < l->end; p++)
        if (!is_blank(*p, delim))
            return 0;
    return 1;
}

/* The next field starting at *pos (which moves past it and its delimiter); returns 0
 * when the line has no more fields. */
static int next_field(const line *l, const char **pos, char delim, field *f)
{
    const char *p = *pos, *e;
    if (p == NULL)
        return 0;
    e = p;
    while (e < l->end && *e != delim)
        e++;
    *pos = e < l->end ? e + 1 : NULL;
    while (p < e && is_blank(*p, delim))
        p++;
    while (e > p && is_blank(e[-1], delim))
        e--;
    if (e - p >= 2 && *p == '"' && e[-1] == '"') {
        p++;
        e--;
    }
    f->begin = p;
    f->end = e;
    return 1;
}

/* Parse a field as a finite number: 1 on success. */
static int parse_number(const field *f, double *v)
{
    char buf[128];
    size_t len = (size_t)(f->end - f->begin);
    char *endp;
    if (len == 0 || len >= sizeof buf)
        return 0;
    memcpy(buf, f->begin, len);
    buf[len] = '\0';
    /* strtod alone would accept hex floats and "nan"/"inf" words, and skip leading
     * blanks: a table of numbers holds decimal digits, a sign, a point and an exponent. */
    for (size_t i = 0; i < len; i++)
        if (buf[i] == '\0' || strchr("0123456789+-.eE", buf[i]) == NULL)
            return 0;
    errno = 0;
    *v = strtod(buf, &endp);
    if (endp != buf + len || *v != *v || *v > 1.7976931348623157e308 ||
        *v < -1.7976931348623157e308)
        return 0;
    return 1;
}

/* Quote a field for an error message, shortened to 40 characters. */
static void field_text(char *dst, size_t size, const field *f)
{
    size_t len = (size_t)(f->end - f->begin), max = size - 4;
    if (len > max) {
        memcpy(dst, f->begin, max);
        memcpy(dst + max, "...", 4);
        return;
    }
    memcpy(dst, f->begin, len);
    dst[len] = '\0';
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)dst[i] < 0x20)
            dst[i] = '?';
}

/* Split the buffer into lines (pointers into it). */
static gf_status split_lines(const char *who, const char *path, const buffer *b, line **out,
                             size_t *count)
{
    const char *s = (const char *)b->data, *end = s + b->len;
    size_t n = 0, cap = 0, number = 0;
    line *lines = NULL;
    while (s < end) {
        const char *e = memchr(s, '\n', (size_t)(end - s));
        const char *next;
        if (e == NULL)
            e = end;
        next = e < end ? e + 1 : end;
        number++;
        /* Asked every 65536 lines: splitting is fast, a long file has millions. */
        if ((number & 0xffff) == 0 && gf_cancel_requested()) {
            gf_free(lines);
            return gf_fail(GF_ECANCELED, "%s: '%s': cancelled while splitting it into lines, "
                           "at line %zu", who, path, number);
        }
        if (e > s && e[-1] == '\r')
            e--;
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 1024;
            line *p = NULL;
            /* A file of empty lines needs 24 bytes a byte: bounded like the file. */
            if (gf_memory_check(b->len + nc * sizeof *p, "gf_data_csv") != GF_OK) {
                gf_free(lines);
                return gf_fail(GF_ENOMEM, "%s: '%s': %zu lines and more: their records and "
                               "the file pass the memory limit of %zu bytes", who, path, n,
                               gf_memory_limit());
            }
            p = gf_realloc(lines, nc * sizeof *p);
            if (p == NULL) {
                gf_free(lines);
                return gf_fail(GF_ENOMEM, "%s: '%s': cannot allocate %zu line records", who,
                               path, nc);
            }
            lines = p;
            cap = nc;
        }
        lines[n].begin = s;
        lines[n].end = e;
        lines[n].number = number;
        n++;
        s = next;
    }
    *out = lines;
    *count = n;
    return GF_OK;
}

/* A CSV file split into lines, and what its first non-blank line fixes. */
typedef struct csv_file {
    const char *path;
    char delim;
    const line *lines;
    size_t n_lines;
    size_t first;  /* the first non-blank line: the column count, maybe a header */
    size_t cols;   /* fields per line */
    size_t label;  /* the label's column */
    size_t rows;   /* non-blank data lines */
    int header;    /* lines[first] is a header */
} csv_file;

static const char csv_who[] = "csv";

/* GF_EINVAL for an option the reader cannot follow: a header other than -1, 0, 1, or a
 * delimiter that can stand inside a number or a line. */
static gf_status check_csv_options(const gf_csv_options *o, char delim)
{
    if (o->header < -1 || o->header > 1)
        return gf_fail(GF_EINVAL, "gf_data_csv: header option %d is not -1, 0 or 1", o->header);
    if (delim == '\n' || delim == '\r' || delim == '"' || delim == '.' || delim == '-' ||
        delim == '+' || (delim >= '0' && delim <= '9') || delim == 'e' || delim == 'E')
        return gf_fail(GF_EINVAL, "gf_data_csv: '%c' cannot be a delimiter", delim);
    return GF_OK;
}

/* The table's shape, from its first non-blank line (a header when o->header is 1, or
 * when -1 and a field of it is not a number), and the count of data rows. */
static gf_status read_shape(csv_file *f, const gf_csv_options *o)
{
    const char *who = csv_who, *path = f->path;
    const line *lines = f->lines;
    const char *pos;
    field fd;
    double v;
    int numeric = 1;

    f->first = 0;
    while (f->first < f->n_lines && line_is_blank(&lines[f->first], f->delim))
        f->first++;
    if (f->first == f->n_lines)
        return gf_fail(GF_EFORMAT, "%s: %s: empty file (no rows)", who, path);
    pos = lines[f->first].begin;
    f->cols = 0;
    while (next_field(&lines[f->first], &pos, f->delim, &fd)) {
        f->cols++;
        if (!parse_number(&fd, &v))
            numeric = 0;
    }
    f->header = o->header == -1 ? !numeric : o->header;
    if (f->cols < 2)
        return gf_fail(GF_EFORMAT, "%s: %s:%zu: %zu column; need at least one input and a "
                       "label (is the delimiter '%c' right?)", who, path,
                       lines[f->first].number, f->cols, f->delim);
    if (o->label_column >= 0 && (size_t)o->label_column >= f->cols)
        return gf_fail(GF_EFORMAT, "%s: %s: label column %ld (0-based) does not exist: the "
                       "file has %zu columns", who, path, o->label_column, f->cols);
    f->label = o->label_column < 0 ? f->cols - 1 : (size_t)o->label_column;
    f->rows = 0;
    for (size_t i = f->first + (size_t)f->header; i < f->n_lines; i++)
        f->rows += !line_is_blank(&lines[i], f->delim);
    if (f->rows == 0)
        return gf_fail(GF_EFORMAT, "%s: %s: a header line and no data rows", who, path);
    return GF_OK;
}

/* Field fd, column c (0-based) of line l, as a number that gf_real holds; a label must
 * be a class index unless the table is a regression. */
static gf_status read_value(const csv_file *f, const line *l, size_t c, const field *fd,
                            int is_label, int regression, double *v)
{
    const char *who = csv_who, *path = f->path;
    char text[48]; /* the field, quoted in a message */
    if (!parse_number(fd, v)) {
        if (fd->begin == fd->end)
            return gf_fail(GF_EFORMAT, "%s: %s:%zu:%zu: empty field, not a number", who, path,
                           l->number, c + 1);
        field_text(text, sizeof text, fd);
        return gf_fail(GF_EFORMAT, "%s: %s:%zu:%zu: '%s' is not a number", who, path,
                       l->number, c + 1, text);
    }
    if (!isfinite((double)(gf_real)*v)) {
        field_text(text, sizeof text, fd);
        return gf_fail(GF_EFORMAT, "%s: %s:%zu:%zu: '%s' overflows %s", who, path, l->number,
                       c + 1, text, GF_REAL_NAME);
    }
    /* Class indices must survive the trip through gf_real exactly. */
    if (is_label && !regression && (*v < 0 || *v > 16777216.0 || *v != (double)(long)*v)) {
        field_text(text, sizeof text, fd);
        return gf_fail(GF_EFORMAT, "%s: %s:%zu:%zu: label '%s' is not a class index (an "
                       "integer 0..16777216); use the regression option for real targets",
                       who, path, l->number, c + 1, text);
    }
    return GF_OK;
}

/* Data line l into row `row` of d: its inputs into x, its label into y; *max_class grows
 * to the largest class seen, *max_line to the line it is on. Every line must have f->cols
 * fields. */
static gf_status read_row(gf_dataset *d, size_t row, const csv_file *f, const line *l,
                          int regression, size_t *max_class, size_t *max_line)
{
    const char *who = csv_who, *pos = l->begin;
    size_t cols = f->cols, c = 0, first_number = f->lines[f->first].number;
    gf_real *xr = d->x->data + row * (cols - 1);
    field fd;
    while (next_field(l, &pos, f->delim, &fd)) {
        double v;
        gf_status st;
        if (c == cols) {
            size_t more = 1;
            while (next_field(l, &pos, f->delim, &fd))
                more++;
            return gf_fail(GF_EFORMAT, "%s: %s:%zu:%zu: %zu fields, expected %zu as on line "
                           "%zu", who, f->path, l->number, cols + 1, cols + more, cols,
                           first_number);
        }
        if ((st = read_value(f, l, c, &fd, c == f->label, regression, &v)) != GF_OK)
            return st;
        if (c == f->label) {
            if (!regression && (size_t)v > *max_class)
                *max_class = (size_t)v, *max_line = l->number;
            d->y->data[row] = (gf_real)v;
        } else {
            *xr++ = (gf_real)v;
        }
        c++;
    }
    if (c < cols)
        return gf_fail(GF_EFORMAT, "%s: %s:%zu:%zu: %zu field%s, expected %zu as on line %zu",
                       who, f->path, l->number, c + 1, c, c == 1 ? "" : "s", cols,
                       first_number);
    return GF_OK;
}

/* n_classes is the largest label + 1, and a network gets an output per class: a label
 * far beyond the rows (a stray 16777216) would ask for millions of outputs that no row
 * can train. At most one class per row, or GF_CSV_MIN_CLASSES. */
static gf_status check_classes(const csv_file *f, size_t max_class, size_t max_line)
{
    if (max_class < f->rows || max_class < GF_CSV_MIN_CLASSES)
        return GF_OK;
    return gf_fail(GF_EFORMAT, "%s: %s:%zu:%zu: label %zu would make %zu classes for %zu rows "
                   "(at most one class per row, or %d); is column %zu the label?", csv_who,
                   f->path, max_line, f->label + 1, max_class, max_class + 1, f->rows,
                   GF_CSV_MIN_CLASSES, f->label + 1);
}

/* Read the file, split it into lines, fix the table's shape from its first line, then
 * read the data lines one by one into a new data set. */
gf_status gf_data_csv(gf_dataset **out, const char *path, const gf_csv_options *opt)
{
    gf_csv_options o = opt != NULL ? *opt : gf_csv_options_default();
    buffer b = {NULL, 0, 0}, body;
    line *lines = NULL;
    csv_file f = {.path = path, .delim = o.delimiter ? o.delimiter : ','};
    size_t row = 0, max_class = 0, max_line = 0;
    gf_dataset *d = NULL;
    gf_status st;
    GF_CHECK_NOT_NULL(out, "gf_data_csv");
    *out = NULL;
    GF_CHECK_NOT_NULL(path, "gf_data_csv");
    if ((st = check_csv_options(&o, f.delim)) != GF_OK)
        return st;
    if ((st = gf_read_file("gf_data_csv", path, NULL, &b)) != GF_OK)
        return st;
    /* A UTF-8 byte-order mark (spreadsheets write one) is not part of the first field:
     * left in, it would make a header-less file's first row read as a header. */
    body = b;
    if (body.len >= 3 && memcmp(body.data, "\xEF\xBB\xBF", 3) == 0)
        body.data += 3, body.len -= 3;
    st = split_lines("gf_data_csv", path, &body, &lines, &f.n_lines);
    f.lines = lines;
    if (st == GF_OK)
        st = read_shape(&f, &o);
    /* The data set beside the file and its line records, against the memory limit. */
    if (st == GF_OK)
        st = gf_memory_check(b.len + f.n_lines * sizeof *lines +
                                 f.rows * f.cols * sizeof(gf_real), "gf_data_csv");
    if (st == GF_OK)
        st = gf_dataset_new(&d, f.rows, f.cols - 1, 1, 0, gf_base_name(path));
    for (size_t i = f.first + (size_t)f.header; i < f.n_lines && st == GF_OK; i++) {
        /* Asked every 256 lines: a line of many fields takes a while to parse. */
        if ((i & 0xff) == 0 && gf_cancel_requested())
            st = gf_fail(GF_ECANCELED, "%s: '%s': cancelled while parsing it, at line %zu of "
                         "%zu", csv_who, path, lines[i].number, f.n_lines);
        else if (!line_is_blank(&lines[i], f.delim))
            st = read_row(d, row++, &f, &lines[i], o.regression, &max_class, &max_line);
    }
    if (st == GF_OK && !o.regression)
        st = check_classes(&f, max_class, max_line);
    if (st == GF_OK) {
        d->n_classes = o.regression ? 0 : max_class + 1;
        *out = d;
        d = NULL;
    }
    gf_dataset_free(d);
    gf_free(lines);
    gf_free(b.data);
    return st;
}
