/* src/io/data_io.c: reading a data file whole (gzip-compressed or raw), and the IDX
 * loaders (MNIST/Fashion-MNIST); the CSV loader is io/csv.c. A whole file is read into
 * memory first, then checked in full before a data set is built, so a truncated or
 * malformed file is an error and never a partial data set. A gzip file is inflated as it
 * is read, 64 KiB of compressed bytes at a time. Reading is bounded by the memory limit
 * (common.h): only regular files are read, a file larger than the limit is refused
 * before it is, and what a file inflates to as soon as it reaches the limit. Every chunk
 * asks the cancel callback. Without zlib (GF_HAVE_ZLIB 0 or undefined), gzip files are
 * refused with GF_EUNSUPPORTED and raw files still work. */
#define _POSIX_C_SOURCE 200809L /* fileno, fstat */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/internal.h"
#include "gradflow/data.h"
#include "io/data_io.h"

/* Set by cmake/io.cmake to 1 when zlib was found. */
#ifndef GF_HAVE_ZLIB
#define GF_HAVE_ZLIB 0
#endif
#if GF_HAVE_ZLIB
#include <zlib.h>
#endif

int gf_data_has_gzip(void) { return GF_HAVE_ZLIB ? 1 : 0; }

/* ---- Whole files, inflated as they are read --------------------------------------------- */

/* Input is read (and the cancel callback asked) this many bytes at a time: of a gzip
 * file only one chunk of compressed bytes is ever held, never the whole file. */
#define CHUNK 65536

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
    if (cap > max)
        cap = max;
    while (cap - b->len < extra)
        cap = cap > max / 2 ? max : cap * 2;
    p = gf_realloc(b->data, cap);
    if (p == NULL)
        return 0;
    b->data = p;
    b->cap = cap;
    return 1;
}

/* An open file being read, and what messages say about it. */
typedef struct source {
    const char *who, *path;
    FILE *f;
    intmax_t size; /* its length when opened */
    size_t read;   /* bytes read so far */
    size_t limit;  /* gf_memory_limit() */
} source;

static gf_status cancelled(const source *s)
{
    return gf_fail(GF_ECANCELED, "%s: '%s': cancelled after reading %zu of its %jd bytes",
                   s->who, s->path, s->read, s->size);
}

/* Open path for reading: only a regular file no larger than the memory limit. */
static gf_status open_source(source *s, const char *who, const char *path)
{
    struct stat sb;
    *s = (source){.who = who, .path = path, .limit = gf_memory_limit()};
    errno = 0;
    s->f = fopen(path, "rb");
    if (s->f == NULL)
        return gf_fail(GF_EIO, "%s: cannot open '%s': %s", who, path,
                       errno ? strerror(errno) : "unknown error");
    /* Asked of the open file, not the path, so that what is read is what was checked.
     * A device (/dev/zero), a pipe or a directory has no size to check: refused. */
    if (fstat(fileno(s->f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(s->f);
        return gf_fail(GF_EIO, "%s: '%s' is not a regular file", who, path);
    }
    s->size = (intmax_t)sb.st_size;
    if ((uintmax_t)sb.st_size > (uintmax_t)s->limit) {
        fclose(s->f);
        return gf_fail(GF_ENOMEM, "%s: '%s' holds %jd bytes, more than the memory limit of "
                       "%zu bytes (gf_set_memory_limit)", who, path, s->size, s->limit);
    }
    return GF_OK;
}

/* Up to n bytes into dst, after asking the cancel callback; *got is 0 at the end. */
static gf_status read_chunk(source *s, unsigned char *dst, size_t n, size_t *got)
{
    if (gf_cancel_requested())
        return cancelled(s);
    *got = fread(dst, 1, n, s->f);
    s->read += *got;
    if (*got < n && ferror(s->f))
        return gf_fail(GF_EIO, "%s: error reading '%s' (a directory, or an I/O error)",
                       s->who, s->path);
    return GF_OK;
}

/* The rest of a raw file, appended to *b (which holds its first chunk). */
static gf_status read_rest(source *s, buffer *b)
{
    /* Room for 1 byte beyond the limit: a file that grew while it was read shows. */
    size_t max = s->limit < SIZE_MAX ? s->limit + 1 : s->limit, got = 1;
    gf_status st = GF_OK;
    while (st == GF_OK && got > 0) {
        size_t want = max - b->len < CHUNK ? max - b->len : CHUNK;
        if (b->len > s->limit)
            return gf_fail(GF_ENOMEM, "%s: '%s' grew past the memory limit of %zu bytes "
                           "while it was read", s->who, s->path, s->limit);
        if (!buffer_reserve(b, want, max))
            return gf_fail(GF_ENOMEM, "%s: '%s': cannot allocate %zu bytes to read it",
                           s->who, s->path, b->len + want);
        st = read_chunk(s, b->data + b->len, want, &got);
        b->len += got;
    }
    return st;
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

/* After a gzip member ends: another member follows (concatenated files, as gunzip
 * reads them), or zero padding runs to the end of the file (accepted, as gunzip does).
 * *padding is set once zeros began; a non-zero byte after them is corrupt. */
static gf_status after_member(const source *s, z_stream *z, int *padding)
{
    if (*padding || z->next_in[0] == 0) {
        *padding = 1;
        for (uInt i = 0; i < z->avail_in; i++)
            if (z->next_in[i] != 0)
                return gf_fail(GF_EFORMAT, "%s: '%s': corrupt gzip data: bytes after the "
                               "zero padding that follows its last member", s->who, s->path);
        z->avail_in = 0;
        return GF_OK;
    }
    if (inflateReset(z) != Z_OK)
        return gf_fail(GF_EFORMAT, "%s: '%s': corrupt gzip data", s->who, s->path);
    return GF_OK;
}

static gf_status inflate_failed(const source *s, const z_stream *z, int ret)
{
    if (ret == Z_MEM_ERROR)
        return gf_fail(GF_ENOMEM, "%s: '%s': out of memory while decompressing", s->who,
                       s->path);
    return gf_fail(GF_EFORMAT, "%s: '%s': corrupt gzip data%s%s", s->who, s->path,
                   z->msg ? ": " : "", z->msg ? z->msg : "");
}

/* Inflate the gzip file s, whose first chunk is in `in` (reused for the next chunks),
 * into *out, every member, reading a chunk whenever zlib has used the last one. What it
 * inflates to is bounded by the memory limit: a gzip bomb is refused as soon as its
 * output reaches it, having read only the compressed bytes that made that output. */
static gf_status inflate_stream(source *s, gf_usable_fn usable, buffer *in, buffer *out)
{
    z_stream z;
    buffer b = {NULL, 0, 0};
    gf_status st = GF_OK;
    int ended = 0, padding = 0, eof = 0;
    memset(&z, 0, sizeof z);
    z.zalloc = z_alloc;
    z.zfree = z_free;
    if (inflateInit2(&z, 15 + 16) != Z_OK) /* 15 + 16: gzip wrapper only, largest window */
        return gf_fail(GF_ENOMEM, "%s: '%s': zlib init failed", s->who, s->path);
    z.next_in = in->data;
    z.avail_in = (uInt)in->len;
    while (st == GF_OK) {
        size_t got, want = s->limit - b.len < 262144 ? s->limit - b.len : 262144;
        uInt room;
        int ret;
        if (z.avail_in == 0 && !eof) {
            if ((st = read_chunk(s, in->data, in->cap, &got)) != GF_OK)
                break;
            eof = got == 0;
            z.next_in = in->data;
            z.avail_in = (uInt)got;
        } else if (gf_cancel_requested()) { /* a bomb inflates long from one chunk */
            st = cancelled(s);
            break;
        }
        if (ended) {
            if (z.avail_in == 0) {
                if (eof)
                    break; /* the whole file, every member */
                continue;
            }
            if ((st = after_member(s, &z, &padding)) != GF_OK || padding)
                continue;
            ended = 0;
        }
        if (z.avail_in == 0 && eof) {
            st = gf_fail(GF_EFORMAT, "%s: '%s': truncated gzip file (the compressed stream "
                         "ends early)", s->who, s->path);
        } else if (want == 0) {
            st = gf_fail(GF_ENOMEM, "%s: '%s' inflates to more than the memory limit of %zu "
                         "bytes (gf_set_memory_limit); refused after reading %zu of its %jd "
                         "compressed bytes", s->who, s->path, s->limit, s->read, s->size);
        } else if (!buffer_reserve(&b, want, s->limit)) {
            st = gf_fail(GF_ENOMEM, "%s: '%s': cannot allocate %zu bytes to decompress it",
                         s->who, s->path, b.len + want);
        } else {
            room = (uInt)(b.cap - b.len > (uInt)-1 ? (uInt)-1 : b.cap - b.len);
            z.next_out = b.data + b.len;
            z.avail_out = room;
            ret = inflate(&z, Z_NO_FLUSH);
            b.len += room - z.avail_out;
            /* Z_BUF_ERROR: no progress without more input (read next) or more room. */
            if (ret == Z_STREAM_END)
                ended = 1;
            else if (ret != Z_OK && ret != Z_BUF_ERROR)
                st = inflate_failed(s, &z, ret);
            if (st == GF_OK && usable != NULL && b.len > usable(b.data, b.len))
                st = gf_fail(GF_EFORMAT, "%s: '%s' inflates to more than the %zu bytes its "
                             "header accounts for (trailing bytes); refused after reading %zu "
                             "of its %jd compressed bytes", s->who, s->path,
                             usable(b.data, b.len), s->read, s->size);
        }
    }
    inflateEnd(&z);
    if (st != GF_OK) {
        gf_free(b.data);
        return st;
    }
    *out = b;
    return GF_OK;
}
#endif

/* Read a file whole, inflating it as it is read when it is gzip-compressed (detected by
 * its magic bytes, not its name). */
gf_status gf_read_file(const char *who, const char *path, gf_usable_fn usable, buffer *out)
{
    source s;
    buffer b = {NULL, 0, 0};
    size_t first = 0;
    gf_status st = open_source(&s, who, path);
    if (st != GF_OK)
        return st;
    first = s.limit < CHUNK ? s.limit : CHUNK;
    if (!buffer_reserve(&b, first, first))
        st = gf_fail(GF_ENOMEM, "%s: '%s': cannot allocate %zu bytes to read it", who, path,
                     first);
    if (st == GF_OK)
        st = read_chunk(&s, b.data, first, &b.len);
    if (st == GF_OK && !is_gzip(&b)) {
        st = read_rest(&s, &b);
        if (st == GF_OK) {
            *out = b;
            b.data = NULL;
        }
    } else if (st == GF_OK) {
#if GF_HAVE_ZLIB
        st = inflate_stream(&s, usable, &b, out);
#else
        (void)usable;
        st = gf_fail(GF_EUNSUPPORTED, "%s: '%s' is gzip-compressed, but this build of "
                     "gradflow has no zlib: decompress it (gunzip) or rebuild with zlib", who,
                     path);
#endif
    }
    fclose(s.f);
    gf_free(b.data);
    return st;
}

/* The file name part of a path, for data set names. */
const char *gf_base_name(const char *path)
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

/* The length an IDX file's header gives (gf_usable_fn): 4 + 4 ndims header bytes and the
 * product of the dimensions; SIZE_MAX until the header is read, or when it is not one
 * (the parser then says why). */
static size_t idx_usable(const unsigned char *p, size_t len)
{
    size_t ndims, header, total = 1;
    int ok = 1;
    if (len < 4 || p[0] != 0 || p[1] != 0 || p[2] != 0x08 || p[3] < 1 || p[3] > 4)
        return SIZE_MAX;
    ndims = p[3];
    header = 4 + 4 * ndims;
    if (len < header)
        return SIZE_MAX;
    for (size_t i = 0; i < ndims && ok; i++)
        total = gf_mul_size(total, be32(p + 4 + 4 * i), &ok);
    return ok && total <= SIZE_MAX - header ? header + total : SIZE_MAX;
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
    st = gf_read_file(who, images_path, idx_usable, &img);
    if (st == GF_OK)
        st = parse_idx(who, images_path, &img, 0x00000803u, &n_img, &pixels);
    if (st == GF_OK)
        st = gf_read_file(who, labels_path, idx_usable, &lab);
    if (st == GF_OK)
        st = parse_idx(who, labels_path, &lab, 0x00000801u, &n_lab, &one);
    if (st == GF_OK && n_img != n_lab)
        st = gf_fail(GF_EFORMAT, "%s: '%s' holds %zu images but '%s' holds %zu labels", who,
                     images_path, n_img, labels_path, n_lab);
    if (st == GF_OK) {
        for (size_t i = 0; i < n_lab; i++)
            if (lab.data[8 + i] > max_label)
                max_label = lab.data[8 + i];
        st = gf_dataset_new(&d, n_img, pixels, 1, max_label + 1, gf_base_name(images_path));
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
