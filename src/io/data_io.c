/* src/io/data_io.c: data set loaders that read files: IDX (MNIST/Fashion-MNIST) and CSV,
 * each gzip-compressed or raw. A whole file is read (and inflated) into memory first,
 * then checked in full before a data set is built, so a truncated or malformed file is
 * an error and never a partial data set. Reading is bounded by the memory limit
 * (common.h): only regular files are read, and a file, or what it inflates to, larger
 * than the limit is refused before it is. Without zlib (GF_HAVE_ZLIB 0 or undefined),
 * gzip files are refused with GF_EUNSUPPORTED and raw files still work. */
#define _POSIX_C_SOURCE 200809L /* fileno, fstat */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gradflow/data.h"
#include "core/internal.h"

/* Set by cmake/io.cmake to 1 when zlib was found. */
#ifndef GF_HAVE_ZLIB
#define GF_HAVE_ZLIB 0
#endif
#if GF_HAVE_ZLIB
#include <zlib.h>
#endif

int gf_data_has_gzip(void) { return GF_HAVE_ZLIB ? 1 : 0; }

/* ---- Whole files, inflated -------------------------------------------------------------- */

/* Append n bytes to a growing buffer (doubling). */
typedef struct buffer {
    unsigned char *data;
    size_t len, cap;
} buffer;

/* Room for extra more bytes, the capacity doubling but never past max (the memory
 * limit), so that a buffer bounded by the limit is never allocated beyond it. */
static int buffer_reserve(buffer *b, size_t extra, size_t max)
{
    size_t cap;
    unsigned char *p;
    if (extra <= b->cap - b->len)
        return 1;
    if (extra > GF_MAX_ELEMENTS - b->len || extra > max - b->len)
        return 0;
    cap = b->cap < 65536 ? 65536 : b->cap;
    while (cap - b->len < extra)
        cap = cap > max / 2 ? max : cap * 2;
    p = gf_realloc(b->data, cap);
    if (p == NULL)
        return 0;
    b->data = p;
    b->cap = cap;
    return 1;
}

/* Read the file at path into a new buffer; *out must be freed with gf_free. */
static gf_status read_raw(const char *who, const char *path, buffer *out)
{
    FILE *f;
    buffer b = {NULL, 0, 0};
    struct stat sb;
    size_t limit = gf_memory_limit();
    int err;
    errno = 0;
    f = fopen(path, "rb");
    if (f == NULL)
        return gf_fail(GF_EIO, "%s: cannot open '%s': %s", who, path,
                       errno ? strerror(errno) : "unknown error");
    /* Asked of the open file, not the path, so that what is read is what was checked.
     * A device (/dev/zero), a pipe or a directory has no size to check: refused. */
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return gf_fail(GF_EIO, "%s: '%s' is not a regular file", who, path);
    }
    if ((uintmax_t)sb.st_size > (uintmax_t)limit) {
        fclose(f);
        return gf_fail(GF_ENOMEM, "%s: '%s' holds %jd bytes, more than the memory limit of "
                       "%zu bytes (gf_set_memory_limit)", who, path, (intmax_t)sb.st_size,
                       limit);
    }
    for (;;) {
        /* Room for 1 byte beyond the limit: a file that grew while it was read shows. */
        size_t max = limit < SIZE_MAX ? limit + 1 : limit, got;
        size_t want = max - b.len < 65536 ? max - b.len : 65536;
        if (b.len > limit || !buffer_reserve(&b, want, max)) {
            fclose(f);
            gf_free(b.data);
            if (b.len > limit)
                return gf_fail(GF_ENOMEM, "%s: '%s' grew past the memory limit of %zu bytes "
                               "while it was read", who, path, limit);
            return gf_fail(GF_ENOMEM, "%s: '%s': cannot allocate %zu bytes to read it", who,
                           path, b.len + want);
        }
        got = fread(b.data + b.len, 1, b.cap - b.len, f);
        b.len += got;
        if (got == 0)
            break;
    }
    err = ferror(f);
    fclose(f);
    if (err) {
        gf_free(b.data);
        return gf_fail(GF_EIO, "%s: error reading '%s' (a directory, or an I/O error)", who,
                       path);
    }
    *out = b;
    return GF_OK;
}

static int is_gzip(const buffer *b)
{
    return b->len >= 2 && b->data[0] == 0x1f && b->data[1] == 0x8b;
}

#if GF_HAVE_ZLIB
/* zlib allocates through the library's allocator too (failure injection reaches it). */
static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    return gf_calloc(items, size);
}

static void z_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    gf_free(p);
}

/* Inflate a complete gzip file (every member, as gunzip does) into *out. */
static gf_status inflate_gzip(const char *who, const char *path, const buffer *in, buffer *out)
{
    z_stream z;
    buffer b = {NULL, 0, 0};
    size_t consumed = 0, limit = gf_memory_limit(), want;
    size_t max = limit > in->len ? limit - in->len : 0;
    int ret, over = 0;
    memset(&z, 0, sizeof z);
    z.zalloc = z_alloc;
    z.zfree = z_free;
    /* 15 + 16: gzip wrapper only, largest window. */
    ret = inflateInit2(&z, 15 + 16);
    if (ret != Z_OK)
        return gf_fail(ret == Z_MEM_ERROR ? GF_ENOMEM : GF_EIO, "%s: '%s': zlib init failed",
                       who, path);
    while (consumed < in->len) {
        size_t chunk = in->len - consumed;
        if (chunk > (uInt)-1)
            chunk = (uInt)-1;
        z.next_in = in->data + consumed;
        z.avail_in = (uInt)chunk;
        /* What it inflates to shares the limit with the compressed bytes: a gzip bomb
         * is refused once its output reaches it, never allocated further. */
        want = max - b.len < 262144 ? max - b.len : 262144;
        if (want == 0 || !buffer_reserve(&b, want, max)) {
            over = want == 0;
            ret = Z_MEM_ERROR;
            break;
        }
        z.next_out = b.data + b.len;
        z.avail_out = (uInt)(b.cap - b.len > (uInt)-1 ? (uInt)-1 : b.cap - b.len);
        {
            uInt avail_before = z.avail_out;
            ret = inflate(&z, Z_NO_FLUSH);
            b.len += avail_before - z.avail_out;
        }
        consumed += chunk - z.avail_in;
        if (ret == Z_STREAM_END) {
            /* Another gzip member may follow (concatenated files); trailing zero padding
             * is accepted as gzip does. */
            size_t rest = in->len - consumed;
            int only_zeros = 1;
            for (size_t i = 0; i < rest && only_zeros; i++)
                only_zeros = in->data[consumed + i] == 0;
            if (rest == 0 || only_zeros) {
                consumed = in->len;
                break;
            }
            if (inflateReset(&z) != Z_OK) {
                ret = Z_DATA_ERROR;
                break;
            }
            ret = Z_OK;
            continue;
        }
        if (ret == Z_OK || (ret == Z_BUF_ERROR && z.avail_out == 0))
            continue;
        break; /* Z_DATA_ERROR, Z_MEM_ERROR, Z_BUF_ERROR with input exhausted, ... */
    }
    inflateEnd(&z);
    if (ret == Z_STREAM_END) {
        *out = b;
        return GF_OK;
    }
    gf_free(b.data);
    if (over)
        return gf_fail(GF_ENOMEM, "%s: '%s' inflates to more than %zu bytes, which with its "
                       "%zu compressed bytes pass the memory limit of %zu bytes "
                       "(gf_set_memory_limit)", who, path, max, in->len, limit);
    if (ret == Z_MEM_ERROR)
        return gf_fail(GF_ENOMEM, "%s: '%s': out of memory while decompressing", who, path);
    if (ret == Z_DATA_ERROR)
        return gf_fail(GF_EFORMAT, "%s: '%s': corrupt gzip data%s%s", who, path,
                       z.msg ? ": " : "", z.msg ? z.msg : "");
    return gf_fail(GF_EFORMAT, "%s: '%s': truncated gzip file (the compressed stream ends "
                   "early)", who, path);
}
#endif

/* Read a file whole, inflating it when it is gzip-compressed (detected by its magic
 * bytes, not its name). */
static gf_status read_file(const char *who, const char *path, buffer *out)
{
    buffer raw;
    gf_status st = read_raw(who, path, &raw);
    if (st != GF_OK)
        return st;
    if (!is_gzip(&raw)) {
        *out = raw;
        return GF_OK;
    }
#if GF_HAVE_ZLIB
    st = inflate_gzip(who, path, &raw, out);
    gf_free(raw.data);
    return st;
#else
    gf_free(raw.data);
    return gf_fail(GF_EUNSUPPORTED, "%s: '%s' is gzip-compressed, but this build of gradflow "
                   "has no zlib: decompress it (gunzip) or rebuild with zlib", who, path);
#endif
}

/* The file name part of a path, for data set names. */
static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s == NULL ? path : s + 1;
}

/* ---- IDX ---------------------------------------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Check an IDX header against the expected magic (0x0000080X: unsigned bytes, X dims)
 * and the buffer's length; *count is the first dimension, *item the product of the
 * others. */
static gf_status parse_idx(const char *who, const char *path, const buffer *b, uint32_t magic,
                           size_t *count, size_t *item)
{
    size_t ndims = magic & 0xff, header = 4 + 4 * ndims, total = 1;
    uint32_t m;
    if (b->len < 4)
        return gf_fail(GF_EFORMAT, "%s: '%s': %zu bytes, too short for an IDX header%s", who,
                       path, b->len, b->len == 0 ? " (empty file)" : "");
    m = be32(b->data);
    if (m != magic) {
        const char *hint = "";
        if (m == 0x00000803u)
            hint = " (an image file where labels were expected?)";
        else if (m == 0x00000801u)
            hint = " (a label file where images were expected?)";
        return gf_fail(GF_EFORMAT, "%s: '%s': magic number 0x%08x, expected 0x%08x (IDX, "
                       "unsigned bytes, %zu dimension%s)%s", who, path, (unsigned)m,
                       (unsigned)magic, ndims, ndims == 1 ? "" : "s", hint);
    }
    if (b->len < header)
        return gf_fail(GF_EFORMAT, "%s: '%s': truncated header: %zu bytes, the %zu dimension "
                       "sizes need %zu", who, path, b->len, ndims, header);
    for (size_t i = 0; i < ndims; i++) {
        size_t dim = be32(b->data + 4 + 4 * i);
        int ok = 1;
        if (dim == 0)
            return gf_fail(GF_EFORMAT, "%s: '%s': dimension %zu is 0", who, path, i + 1);
        total = gf_mul_size(total, dim, &ok);
        if (!ok || total > GF_MAX_ELEMENTS)
            return gf_fail(GF_EFORMAT, "%s: '%s': dimension sizes too large", who, path);
        if (i == 0)
            *count = dim;
    }
    *item = total / *count;
    if (b->len - header != total)
        return gf_fail(GF_EFORMAT, "%s: '%s': the header promises %zu data bytes, the file "
                       "holds %zu (%s)", who, path, total, b->len - header,
                       b->len - header < total ? "truncated" : "trailing bytes");
    return GF_OK;
}

gf_status gf_data_idx(gf_dataset **out, const char *images_path, const char *labels_path)
{
    const char *who = "gf_data_idx";
    buffer img = {NULL, 0, 0}, lab = {NULL, 0, 0};
    size_t n_img = 0, n_lab = 0, pixels = 0, one = 0, max_label = 0;
    gf_dataset *d = NULL;
    gf_status st;
    GF_CHECK_NOT_NULL(out, who);
    *out = NULL;
    GF_CHECK_NOT_NULL(images_path, who);
    GF_CHECK_NOT_NULL(labels_path, who);
    st = read_file(who, images_path, &img);
    if (st == GF_OK)
        st = parse_idx(who, images_path, &img, 0x00000803u, &n_img, &pixels);
    if (st == GF_OK)
        st = read_file(who, labels_path, &lab);
    if (st == GF_OK)
        st = parse_idx(who, labels_path, &lab, 0x00000801u, &n_lab, &one);
    if (st == GF_OK && n_img != n_lab)
        st = gf_fail(GF_EFORMAT, "%s: '%s' holds %zu images but '%s' holds %zu labels", who,
                     images_path, n_img, labels_path, n_lab);
    if (st == GF_OK) {
        for (size_t i = 0; i < n_lab; i++)
            if (lab.data[8 + i] > max_label)
                max_label = lab.data[8 + i];
        st = gf_dataset_new(&d, n_img, pixels, 1, max_label + 1, base_name(images_path));
    }
    if (st == GF_OK) {
        const unsigned char *px = img.data + 16;
        /* Bytes 0..255 scaled to [0, 1]: the only preprocessing (docs/data.md). */
        for (size_t i = 0; i < n_img * pixels; i++)
            d->x->data[i] = (gf_real)px[i] / (gf_real)255;
        for (size_t i = 0; i < n_lab; i++)
            d->y->data[i] = (gf_real)lab.data[8 + i];
        *out = d;
    }
    gf_free(img.data);
    gf_free(lab.data);
    return st;
}

/* ---- Fashion-MNIST ------------------------------------------------------------------------ */

const char *gf_data_fashion_mnist_dir(void)
{
    const char *env = getenv(GF_FASHION_MNIST_ENV);
    return env != NULL && env[0] != '\0' ? env : GF_FASHION_MNIST_DIR;
}

/* dir/name.gz if it exists, else dir/name (then missing, reported by the reader). */
static gf_status idx_path(char *dst, size_t size, const char *dir, const char *name)
{
    FILE *f;
    int len = snprintf(dst, size, "%s/%s.gz", dir, name);
    if (len < 0 || (size_t)len >= size)
        return gf_fail(GF_EINVAL, "gf_data_fashion_mnist: directory name too long: '%s'", dir);
    f = fopen(dst, "rb");
    if (f != NULL) {
        fclose(f);
        return GF_OK;
    }
    dst[len - 3] = '\0';
    return GF_OK;
}

gf_status gf_data_fashion_mnist(gf_dataset **train, gf_dataset **test, const char *dir)
{
    const char *who = "gf_data_fashion_mnist";
    static const char *const files[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    char path[4][4096];
    gf_dataset *sets[2] = {NULL, NULL};
    gf_status st;
    FILE *probe;
    GF_CHECK_NOT_NULL(train, who);
    GF_CHECK_NOT_NULL(test, who);
    *train = *test = NULL;
    if (dir == NULL)
        dir = gf_data_fashion_mnist_dir();
    for (int i = 0; i < 4; i++) {
        st = idx_path(path[i], sizeof path[i], dir, files[i]);
        if (st != GF_OK)
            return st;
    }
    /* A missing file gets a message that says how to get the data. */
    for (int i = 0; i < 4; i++) {
        probe = fopen(path[i], "rb");
        if (probe == NULL)
            return gf_fail(GF_EIO, "%s: cannot open '%s[.gz]': %s. Fashion-MNIST is not in "
                           "'%s': install it (Debian/Ubuntu: apt-get install "
                           "dataset-fashion-mnist) or set %s to its directory", who, path[i],
                           strerror(errno), dir, GF_FASHION_MNIST_ENV);
        fclose(probe);
    }
    for (int s = 0; s < 2; s++) {
        st = gf_data_idx(&sets[s], path[2 * s], path[2 * s + 1]);
        if (st != GF_OK) {
            gf_dataset_free(sets[0]);
            return st;
        }
    }
    {
        size_t k = sets[0]->n_classes > sets[1]->n_classes ? sets[0]->n_classes
                                                             : sets[1]->n_classes;
        sets[0]->n_classes = sets[1]->n_classes = k;
    }
    if (sets[0]->x->cols != sets[1]->x->cols) {
        st = gf_fail(GF_EFORMAT, "%s: training images have %zu pixels, test images %zu", who,
                     sets[0]->x->cols, sets[1]->x->cols);
        gf_dataset_free(sets[0]);
        gf_dataset_free(sets[1]);
        return st;
    }
    strcpy(sets[0]->name, "fashion-mnist-train");
    strcpy(sets[1]->name, "fashion-mnist-test");
    *train = sets[0];
    *test = sets[1];
    return GF_OK;
}

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
    if ((st = read_file("gf_data_csv", path, &b)) != GF_OK)
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
        st = gf_dataset_new(&d, f.rows, f.cols - 1, 1, 0, base_name(path));
    for (size_t i = f.first + (size_t)f.header; i < f.n_lines && st == GF_OK; i++)
        if (!line_is_blank(&lines[i], f.delim))
            st = read_row(d, row++, &f, &lines[i], o.regression, &max_class, &max_line);
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
