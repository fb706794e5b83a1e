/* tests/test_data.c: the data module: the embedded digits set against its known figures,
 * IDX and CSV loaders on small files written here (good, truncated, wrong magic, wrong
 * sizes, bad fields, empty), a gzip round trip, bounded reading (devices, files and gzip
 * bombs past the memory limit, in a memory-capped child), synthetic sets, the split,
 * standardisation, the batcher's epochs, evaluation, and allocation failures. */
#define _POSIX_C_SOURCE 200809L /* setenv, mkdir */

#include "testutil.h"

#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gradflow/data.h"
#include "gradflow/net.h"

#if GF_TEST_HAVE_ZLIB
#include <zlib.h>
#endif

/* Every file is written under this directory (the test's working directory is the build
 * directory, see cmake/io.cmake). */
#define DIR "test_data_files"

/* DIR/name in one of 8 rotating buffers: valid for the next 7 calls only. */
static const char *path_of(const char *name)
{
    static char buf[8][256];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, sizeof buf[0], DIR "/%s", name);
    return p;
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (n > 0)
        assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void write_text(const char *path, const char *text)
{
    write_bytes(path, text, strlen(text));
}

#if GF_TEST_HAVE_ZLIB
static void write_gz(const char *path, const void *data, size_t n)
{
    gzFile g = gzopen(path, "wb");
    assert_non_null(g);
    assert_int_equal(gzwrite(g, data, (unsigned)n), (int)n);
    assert_int_equal(gzclose(g), Z_OK);
}

/* Read a whole file (test side, plain stdio). */
static size_t read_bytes(const char *path, unsigned char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n;
    assert_non_null(f);
    n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}
#endif

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* An IDX image file of n images rows x cols with pixel (i, j) = (7 i + 3 j) % 256, and
 * its label file with label i = labels[i]; returns the byte counts. */
static size_t idx_images(unsigned char *buf, uint32_t n, uint32_t rows, uint32_t cols)
{
    put_be32(buf, 0x00000803u);
    put_be32(buf + 4, n);
    put_be32(buf + 8, rows);
    put_be32(buf + 12, cols);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < (size_t)rows * cols; j++)
            buf[16 + i * rows * cols + j] = (unsigned char)((7 * i + 3 * j) % 256);
    return 16 + (size_t)n * rows * cols;
}

static size_t idx_labels(unsigned char *buf, uint32_t n, const unsigned char *labels)
{
    put_be32(buf, 0x00000801u);
    put_be32(buf + 4, n);
    memcpy(buf + 8, labels, n);
    return 8 + n;
}

static int setup_dir(void **state)
{
    (void)state;
    mkdir(DIR, 0777);
    return 0;
}

/* ---- Digits ------------------------------------------------------------------------ */

static void digits_known_figures(void **state)
{
    gf_dataset *d = NULL;
    size_t hist[10] = {0};
    double sum = 0, lo = 1e9, hi = -1e9;
    /* The label histogram of the 1797 rows, counted once from
     * /work/shared/data/digits.csv.gz (python: collections.Counter of the last column);
     * it is also what sklearn.datasets.load_digits reports. */
    static const size_t expected[10] = {178, 182, 177, 183, 181, 182, 181, 179, 174, 180};
    /* The first row of the csv: a zero. */
    static const int row0[64] = {0, 0, 5,  13, 9, 1,  0,  0,  0,  0,  13, 15, 10,
                                 15, 5, 0,  0,  3, 15, 2,  0,  11, 8,  0,  0,  4,
                                 12, 0, 0,  8,  8, 0,  0,  5,  8,  0,  0,  9,  8,
                                 0,  0, 4,  11, 0, 1,  12, 7,  0,  0,  2,  14, 5,
                                 10, 12, 0, 0,  0, 0,  6,  13, 10, 0,  0,  0};
    (void)state;
    assert_ok(gf_data_digits(&d));
    assert_non_null(d);
    assert_int_equal(gf_dataset_rows(d), 1797);
    assert_int_equal(d->x->cols, 64);
    assert_int_equal(d->y->rows, 1797);
    assert_int_equal(d->y->cols, 1);
    assert_int_equal(d->n_classes, 10);
    assert_string_equal(d->name, "digits");
    for (size_t r = 0; r < 1797; r++) {
        double c = (double)d->y->data[r];
        assert_true(c >= 0 && c <= 9 && c == floor(c));
        hist[(size_t)c]++;
    }
    for (int k = 0; k < 10; k++)
        assert_int_equal(hist[k], expected[k]);
    for (size_t i = 0; i < 1797 * 64; i++) {
        double v = (double)d->x->data[i];
        sum += v;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    /* Sum of all pixel counts in the csv is 561718 (counted once, as the histogram);
     * every value is k/16, exact in float and double, so the sum is exact. */
    assert_true(sum == 561718.0 / 16.0);
    assert_true(lo == 0.0);
    assert_true(hi == 1.0);
    for (int j = 0; j < 64; j++)
        assert_true((double)d->x->data[j] == row0[j] / 16.0);
    assert_true(d->y->data[0] == 0);
    assert_true(d->y->data[1796] == 8); /* the last row is an 8 */
    gf_dataset_free(d);
    assert_status(gf_data_digits(NULL), GF_EINVAL);
}

/* ---- IDX ----------------------------------------------------------------------------- */

static const unsigned char LABELS5[5] = {3, 0, 9, 1, 3};

static void check_idx_set(const gf_dataset *d, size_t n, size_t pixels)
{
    assert_non_null(d);
    assert_int_equal(d->x->rows, n);
    assert_int_equal(d->x->cols, pixels);
    assert_int_equal(d->y->cols, 1);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < pixels; j++)
            assert_near(d->x->data[i * pixels + j], ((7 * i + 3 * j) % 256) / 255.0, 1e-7,
                        1e-6);
        assert_true(d->y->data[i] == LABELS5[i]);
    }
    assert_int_equal(d->n_classes, 10); /* the largest label is 9 */
}

static void idx_raw_good(void **state)
{
    unsigned char img[256], lab[64];
    gf_dataset *d = NULL;
    (void)state;
    write_bytes(path_of("img.idx"), img, idx_images(img, 5, 3, 2));
    write_bytes(path_of("lab.idx"), lab, idx_labels(lab, 5, LABELS5));
    assert_ok(gf_data_idx(&d, path_of("img.idx"), path_of("lab.idx")));
    check_idx_set(d, 5, 6);
    assert_string_equal(d->name, "img.idx");
    gf_dataset_free(d);
    /* A 255 pixel is exactly 1 and 0 is 0: the scaling is byte / 255. */
    img[16] = 255;
    img[17] = 0;
    write_bytes(path_of("img.idx"), img, 16 + 30);
    assert_ok(gf_data_idx(&d, path_of("img.idx"), path_of("lab.idx")));
    assert_true(d->x->data[0] == 1);
    assert_true(d->x->data[1] == 0);
    gf_dataset_free(d);
}

#if GF_TEST_HAVE_ZLIB
static void idx_gzip_round_trip(void **state)
{
    unsigned char img[256], lab[64];
    gf_dataset *d = NULL;
    size_t ni = idx_images(img, 5, 3, 2), nl = idx_labels(lab, 5, LABELS5);
    (void)state;
    assert_int_equal(gf_data_has_gzip(), 1);
    write_gz(path_of("img.idx.gz"), img, ni);
    write_gz(path_of("lab.idx.gz"), lab, nl);
    assert_ok(gf_data_idx(&d, path_of("img.idx.gz"), path_of("lab.idx.gz")));
    check_idx_set(d, 5, 6);
    gf_dataset_free(d);
    /* Mixed: gzip images with raw labels; detection is by content, not by name. */
    write_bytes(path_of("lab-raw.gz"), lab, nl);
    assert_ok(gf_data_idx(&d, path_of("img.idx.gz"), path_of("lab-raw.gz")));
    check_idx_set(d, 5, 6);
    gf_dataset_free(d);
}

static void idx_gzip_damaged(void **state)
{
    unsigned char img[4096], gz[4096], lab[64];
    size_t ni, ng;
    gf_dataset *d = (gf_dataset *)&d; /* must come back NULL */
    (void)state;
    /* A larger image file, so that the compressed stream has some length. */
    ni = idx_images(img, 40, 8, 8);
    for (size_t i = 0; i < 40; i++)
        lab[8 + i] = (unsigned char)(i % 10);
    idx_labels(lab, 40, lab + 8);
    write_bytes(path_of("lab40.idx"), lab, 48);
    write_gz(path_of("img40.gz"), img, ni);
    ng = read_bytes(path_of("img40.gz"), gz, sizeof gz);
    assert_true(ng > 40 && ng < sizeof gz);
    assert_ok(gf_data_idx(&d, path_of("img40.gz"), path_of("lab40.idx")));
    gf_dataset_free(d);
    /* Cut in half: the stream ends early. */
    write_bytes(path_of("cut.gz"), gz, ng / 2);
    d = (gf_dataset *)&d;
    assert_status(gf_data_idx(&d, path_of("cut.gz"), path_of("lab40.idx")), GF_EFORMAT);
    assert_null(d);
    assert_error_mentions("cut.gz");
    assert_error_mentions("truncated");
    /* Only the trailer missing (CRC and length): still not whole. */
    write_bytes(path_of("cut.gz"), gz, ng - 4);
    assert_status(gf_data_idx(&d, path_of("cut.gz"), path_of("lab40.idx")), GF_EFORMAT);
    assert_null(d);
    /* Corrupt bytes in the middle: the CRC or the deflate stream catches it. */
    for (size_t i = ng / 3; i < ng / 3 + 8; i++)
        gz[i] ^= 0x5a;
    write_bytes(path_of("bad.gz"), gz, ng);
    assert_status(gf_data_idx(&d, path_of("bad.gz"), path_of("lab40.idx")), GF_EFORMAT);
    assert_null(d);
    assert_error_mentions("bad.gz");
    /* A gzip file that inflates to a truncated IDX file: the size check still applies. */
    write_gz(path_of("short.gz"), img, ni - 1);
    assert_status(gf_data_idx(&d, path_of("short.gz"), path_of("lab40.idx")), GF_EFORMAT);
    assert_error_mentions("truncated");
}
#else
static void idx_gzip_unsupported(void **state)
{
    /* The 10-byte gzip header of an empty member: enough to be recognised. */
    static const unsigned char gz[] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0,
                                       0,    0,    0, 0, 0, 0, 0, 0};
    unsigned char lab[64];
    gf_dataset *d = NULL;
    (void)state;
    assert_int_equal(gf_data_has_gzip(), 0);
    write_bytes(path_of("img.gz"), gz, sizeof gz);
    write_bytes(path_of("lab.idx"), lab, idx_labels(lab, 5, LABELS5));
    assert_status(gf_data_idx(&d, path_of("img.gz"), path_of("lab.idx")), GF_EUNSUPPORTED);
    assert_error_mentions("zlib");
    assert_null(d);
}
#endif

static void idx_bad_files(void **state)
{
    unsigned char img[256], lab[64], tmp[256];
    size_t ni = idx_images(img, 5, 3, 2), nl = idx_labels(lab, 5, LABELS5);
    gf_dataset *d = (gf_dataset *)&d;
    const char *I = DIR "/i.idx", *L = DIR "/l.idx"; /* stable, unlike path_of */
    (void)state;
    write_bytes(I, img, ni);
    write_bytes(L, lab, nl);
    assert_ok(gf_data_idx(&d, I, L));
    gf_dataset_free(d);

    /* Missing files. */
    d = (gf_dataset *)&d;
    assert_status(gf_data_idx(&d, path_of("nonexistent.idx"), L), GF_EIO);
    assert_null(d);
    assert_error_mentions("nonexistent.idx");
    assert_status(gf_data_idx(&d, I, path_of("nonexistent-labels")), GF_EIO);
    assert_error_mentions("nonexistent-labels");
    /* A directory is not a file. */
    assert_status(gf_data_idx(&d, DIR, L), GF_EIO);

    /* Empty file. */
    write_bytes(path_of("empty.idx"), img, 0);
    assert_status(gf_data_idx(&d, path_of("empty.idx"), L), GF_EFORMAT);
    assert_error_mentions("empty");

    /* Wrong magic: labels given as images and the reverse, and garbage. */
    assert_status(gf_data_idx(&d, L, I), GF_EFORMAT);
    assert_error_mentions("0x00000801");
    assert_error_mentions("0x00000803");
    memcpy(tmp, img, ni);
    put_be32(tmp, 0x12345678u);
    write_bytes(path_of("magic.idx"), tmp, ni);
    assert_status(gf_data_idx(&d, path_of("magic.idx"), L), GF_EFORMAT);
    assert_error_mentions("0x12345678");
    /* Big-endian matters: the magic read little-endian is wrong. */
    memcpy(tmp, img, ni);
    tmp[0] = 0x03, tmp[1] = 0x08, tmp[2] = 0, tmp[3] = 0;
    write_bytes(path_of("magic.idx"), tmp, ni);
    assert_status(gf_data_idx(&d, path_of("magic.idx"), L), GF_EFORMAT);

    /* Truncated: one data byte missing; header cut inside the dimensions. */
    write_bytes(path_of("trunc.idx"), img, ni - 1);
    assert_status(gf_data_idx(&d, path_of("trunc.idx"), L), GF_EFORMAT);
    assert_error_mentions("truncated");
    assert_error_mentions("trunc.idx");
    write_bytes(path_of("trunc.idx"), img, 10);
    assert_status(gf_data_idx(&d, path_of("trunc.idx"), L), GF_EFORMAT);
    assert_error_mentions("header");
    write_bytes(path_of("trunc.idx"), lab, nl - 2);
    assert_status(gf_data_idx(&d, I, path_of("trunc.idx")), GF_EFORMAT);

    /* Wrong sizes: a byte too many; dimensions that disagree with the length. */
    memcpy(tmp, img, ni);
    tmp[ni] = 1;
    write_bytes(path_of("long.idx"), tmp, ni + 1);
    assert_status(gf_data_idx(&d, path_of("long.idx"), L), GF_EFORMAT);
    assert_error_mentions("trailing");
    memcpy(tmp, img, ni);
    put_be32(tmp + 8, 4); /* 5 x 4 x 2 = 40 bytes promised, 30 present */
    write_bytes(path_of("dims.idx"), tmp, ni);
    assert_status(gf_data_idx(&d, path_of("dims.idx"), L), GF_EFORMAT);
    put_be32(tmp + 8, 0); /* a zero dimension */
    write_bytes(path_of("dims.idx"), tmp, 16);
    assert_status(gf_data_idx(&d, path_of("dims.idx"), L), GF_EFORMAT);
    /* Huge dimensions must not overflow into a small product. */
    put_be32(tmp + 4, 0xffffffffu);
    put_be32(tmp + 8, 0xffffffffu);
    put_be32(tmp + 12, 0xffffffffu);
    write_bytes(path_of("dims.idx"), tmp, ni);
    assert_status(gf_data_idx(&d, path_of("dims.idx"), L), GF_EFORMAT);

    /* Image and label counts must agree. */
    write_bytes(path_of("l4.idx"), lab, idx_labels(lab, 4, LABELS5));
    assert_status(gf_data_idx(&d, I, path_of("l4.idx")), GF_EFORMAT);
    assert_error_mentions("5 images");
    assert_error_mentions("4 labels");
    assert_null(d);

    /* Arguments. */
    assert_status(gf_data_idx(NULL, I, L), GF_EINVAL);
    assert_status(gf_data_idx(&d, NULL, L), GF_EINVAL);
    assert_status(gf_data_idx(&d, I, NULL), GF_EINVAL);
}

/* ---- Fashion-MNIST layout ------------------------------------------------------------ */

static void fashion_layout(void **state)
{
    unsigned char img[256], lab[64];
    static const unsigned char test_labels[3] = {1, 2, 3};
    gf_dataset *tr = (gf_dataset *)&tr, *te = (gf_dataset *)&te;
    size_t ni = idx_images(img, 5, 2, 2), nl = idx_labels(lab, 5, LABELS5);
    (void)state;
    mkdir(DIR "/fm", 0777);
    /* The training files raw, the test files compressed when zlib is there: the loader
     * looks for name.gz first, then name. */
    write_bytes(DIR "/fm/train-images-idx3-ubyte", img, ni);
    write_bytes(DIR "/fm/train-labels-idx1-ubyte", lab, nl);
    ni = idx_images(img, 3, 2, 2);
    nl = idx_labels(lab, 3, test_labels);
#if GF_TEST_HAVE_ZLIB
    write_gz(DIR "/fm/t10k-images-idx3-ubyte.gz", img, ni);
    write_gz(DIR "/fm/t10k-labels-idx1-ubyte.gz", lab, nl);
#else
    write_bytes(DIR "/fm/t10k-images-idx3-ubyte", img, ni);
    write_bytes(DIR "/fm/t10k-labels-idx1-ubyte", lab, nl);
#endif
    assert_ok(gf_data_fashion_mnist(&tr, &te, DIR "/fm"));
    assert_int_equal(gf_dataset_rows(tr), 5);
    assert_int_equal(gf_dataset_rows(te), 3);
    assert_int_equal(tr->x->cols, 4);
    assert_string_equal(tr->name, "fashion-mnist-train");
    assert_string_equal(te->name, "fashion-mnist-test");
    /* Test labels go up to 3 only; both sets share the training set's 10 classes. */
    assert_int_equal(tr->n_classes, 10);
    assert_int_equal(te->n_classes, 10);
    assert_true(te->y->data[2] == 3);
    gf_dataset_free(tr);
    gf_dataset_free(te);

    /* The environment variable names the directory when dir is NULL. */
    assert_int_equal(setenv(GF_FASHION_MNIST_ENV, DIR "/fm", 1), 0);
    assert_string_equal(gf_data_fashion_mnist_dir(), DIR "/fm");
    assert_ok(gf_data_fashion_mnist(&tr, &te, NULL));
    gf_dataset_free(tr);
    gf_dataset_free(te);
    unsetenv(GF_FASHION_MNIST_ENV);
    assert_string_equal(gf_data_fashion_mnist_dir(), GF_FASHION_MNIST_DIR);

    /* A missing directory says how to get the data; both outputs stay NULL. */
    tr = (gf_dataset *)&tr;
    te = (gf_dataset *)&te;
    assert_status(gf_data_fashion_mnist(&tr, &te, DIR "/no-such-dir"), GF_EIO);
    assert_error_mentions("dataset-fashion-mnist");
    assert_error_mentions(GF_FASHION_MNIST_ENV);
    assert_null(tr);
    assert_null(te);
    /* A damaged test file after a good training set: nothing is returned, no leak. */
    write_bytes(DIR "/fm/t10k-labels-idx1-ubyte.gz", lab, 4);
    write_bytes(DIR "/fm/t10k-labels-idx1-ubyte", lab, 4);
    assert_status(gf_data_fashion_mnist(&tr, &te, DIR "/fm"), GF_EFORMAT);
    assert_null(tr);
    assert_null(te);
    assert_status(gf_data_fashion_mnist(NULL, &te, NULL), GF_EINVAL);
    assert_status(gf_data_fashion_mnist(&tr, NULL, NULL), GF_EINVAL);
}

/* ---- CSV ------------------------------------------------------------------------------- */

/* Load text as a CSV file named name with options o (NULL: defaults). */
static gf_status csv_load(gf_dataset **d, const char *name, const char *text,
                          const gf_csv_options *o)
{
    write_text(path_of(name), text);
    gf_clear_error();
    return gf_data_csv(d, path_of(name), o);
}

static void assert_row(const gf_dataset *d, size_t r, const double *x, double y)
{
    for (size_t j = 0; j < d->x->cols; j++)
        assert_near(d->x->data[r * d->x->cols + j], x[j], 1e-6, 1e-6);
    assert_near(d->y->data[r], y, 1e-6, 1e-6);
}

static void csv_good(void **state)
{
    gf_dataset *d = NULL;
    gf_csv_options o = gf_csv_options_default();
    (void)state;
    assert_int_equal(o.label_column, -1);
    assert_int_equal(o.header, -1);
    assert_int_equal(o.delimiter, 0);
    assert_int_equal(o.regression, 0);

    /* No header, label last (the default), blanks and CRLF tolerated. */
    assert_ok(csv_load(&d, "a.csv", "1,2.5,0\r\n -3e1 , 4 ,2\r\n\r\n0.5,-0,1\r\n", NULL));
    assert_int_equal(gf_dataset_rows(d), 3);
    assert_int_equal(d->x->cols, 2);
    assert_int_equal(d->n_classes, 3);
    assert_string_equal(d->name, "a.csv");
    assert_row(d, 0, (double[]){1, 2.5}, 0);
    assert_row(d, 1, (double[]){-30, 4}, 2);
    assert_row(d, 2, (double[]){0.5, 0}, 1);
    gf_dataset_free(d);

    /* Header auto-detected (a field is not a number), quoted names; no final newline. */
    assert_ok(csv_load(&d, "h.csv", "\"a\",\"b\",\"class\"\n1,2,3\n4,5,6", NULL));
    assert_int_equal(gf_dataset_rows(d), 2);
    assert_int_equal(d->n_classes, 7);
    assert_row(d, 1, (double[]){4, 5}, 6);
    gf_dataset_free(d);

    /* A numeric first line is data under auto, and skipped when the header is forced. */
    o.header = -1;
    assert_ok(csv_load(&d, "n.csv", "1,2,3\n4,5,6\n", &o));
    assert_int_equal(gf_dataset_rows(d), 2);
    gf_dataset_free(d);
    o.header = 1;
    assert_ok(csv_load(&d, "n.csv", "1,2,3\n4,5,6\n", &o));
    assert_int_equal(gf_dataset_rows(d), 1);
    assert_row(d, 0, (double[]){4, 5}, 6);
    gf_dataset_free(d);

    /* Label column choices: first, middle, -1 (last), any negative = last. */
    o = gf_csv_options_default();
    o.label_column = 0;
    assert_ok(csv_load(&d, "l.csv", "2,10,20\n0,30,40\n", &o));
    assert_row(d, 0, (double[]){10, 20}, 2);
    assert_row(d, 1, (double[]){30, 40}, 0);
    assert_int_equal(d->n_classes, 3);
    gf_dataset_free(d);
    o.label_column = 1;
    assert_ok(csv_load(&d, "l.csv", "10,1,20\n30,0,40\n", &o));
    assert_row(d, 0, (double[]){10, 20}, 1);
    assert_row(d, 1, (double[]){30, 40}, 0);
    gf_dataset_free(d);
    o.label_column = -7;
    assert_ok(csv_load(&d, "l.csv", "10,20,1\n30,40,0\n", &o));
    assert_row(d, 0, (double[]){10, 20}, 1);
    gf_dataset_free(d);

    /* Regression: any real target, n_classes 0. */
    o = gf_csv_options_default();
    o.regression = 1;
    assert_ok(csv_load(&d, "r.csv", "x,t\n1,-0.25\n2,3.5e2\n", &o));
    assert_int_equal(d->n_classes, 0);
    assert_row(d, 1, (double[]){2}, 350);
    gf_dataset_free(d);

    /* Another delimiter; blanks around fields are fine. */
    o = gf_csv_options_default();
    o.delimiter = ';';
    assert_ok(csv_load(&d, "s.csv", "1.5; 2 ;1\n3;4;0\n", &o));
    assert_row(d, 0, (double[]){1.5, 2}, 1);
    gf_dataset_free(d);
    o.delimiter = '\t';
    assert_ok(csv_load(&d, "t.tsv", "1\t2\t1\n3\t4\t0\n", &o));
    assert_row(d, 1, (double[]){3, 4}, 0);
    gf_dataset_free(d);
}

static void csv_bad(void **state)
{
    gf_dataset *d = (gf_dataset *)&d;
    gf_csv_options o = gf_csv_options_default();
    (void)state;
    /* The first bad field, by line and column (1-based). */
    assert_status(csv_load(&d, "bad.csv", "1,2,3\n4,5,6\n7,abc,9\n1,x,1\n", NULL), GF_EFORMAT);
    assert_null(d);
    assert_error_mentions("bad.csv:3:2: 'abc' is not a number");
    /* Lines are counted in the file, blank ones and the header included. */
    assert_status(csv_load(&d, "bad.csv", "a,b,c\n\n1,2,3\n\n4,5,six\n", NULL), GF_EFORMAT);
    assert_error_mentions("bad.csv:5:3: 'six' is not a number");
    assert_status(csv_load(&d, "bad.csv", "1,2,3\n4,,6\n", NULL), GF_EFORMAT);
    assert_error_mentions("bad.csv:2:2: empty field");
    /* Not numbers to a table of numbers: words strtod would take, hex, trailing text. */
    assert_status(csv_load(&d, "bad.csv", "1,2,3\nnan,5,6\n", NULL), GF_EFORMAT);
    assert_error_mentions(":2:1: 'nan'");
    assert_status(csv_load(&d, "bad.csv", "1,2,3\n4,inf,6\n", NULL), GF_EFORMAT);
    assert_status(csv_load(&d, "bad.csv", "1,2,3\n4,0x10,6\n", NULL), GF_EFORMAT);
    assert_status(csv_load(&d, "bad.csv", "1,2,3\n4,5kg,6\n", NULL), GF_EFORMAT);
    assert_error_mentions(":2:2: '5kg'");
    assert_status(csv_load(&d, "bad.csv", "1,2,3\n4,1e999,6\n", NULL), GF_EFORMAT);
#if !GF_REAL_IS_DOUBLE
    /* Finite in double, but not in the float build's gf_real. */
    assert_status(csv_load(&d, "bad.csv", "1,2,3\n4,1e300,6\n", NULL), GF_EFORMAT);
    assert_error_mentions("overflows");
#endif
    /* A header forced off: the text line is data, hence an error. */
    o.header = 0;
    assert_status(csv_load(&d, "bad.csv", "a,b,c\n1,2,3\n", &o), GF_EFORMAT);
    assert_error_mentions("bad.csv:1:1: 'a' is not a number");

    /* Ragged rows: too few and too many fields. */
    assert_status(csv_load(&d, "rag.csv", "1,2,3\n4,5\n", NULL), GF_EFORMAT);
    assert_error_mentions("rag.csv:2:3: 2 fields, expected 3");
    assert_status(csv_load(&d, "rag.csv", "1,2,3\n4,5,6\n7,8,9,10,11\n", NULL), GF_EFORMAT);
    assert_error_mentions("rag.csv:3:4: 5 fields, expected 3");
    /* A header with fewer names than the rows have fields. */
    assert_status(csv_load(&d, "rag.csv", "a,b\n1,2,3\n", NULL), GF_EFORMAT);
    assert_error_mentions("rag.csv:2:3");

    /* Empty: no bytes, only blank lines, a header and nothing else. */
    assert_status(csv_load(&d, "empty.csv", "", NULL), GF_EFORMAT);
    assert_error_mentions("empty");
    assert_status(csv_load(&d, "empty.csv", "\n  \n\r\n", NULL), GF_EFORMAT);
    assert_error_mentions("empty");
    assert_status(csv_load(&d, "empty.csv", "a,b,c\n\n", NULL), GF_EFORMAT);
    assert_error_mentions("no data rows");

    /* One column: no inputs (or the wrong delimiter). */
    assert_status(csv_load(&d, "one.csv", "1\n2\n", NULL), GF_EFORMAT);
    assert_error_mentions("1 column");
    assert_status(csv_load(&d, "one.csv", "1;2;3\n", NULL), GF_EFORMAT);

    /* Labels: classes are non-negative integers; label column in range. */
    assert_status(csv_load(&d, "lab.csv", "1,2,0\n3,4,1.5\n", NULL), GF_EFORMAT);
    assert_error_mentions("lab.csv:2:3: label '1.5'");
    assert_status(csv_load(&d, "lab.csv", "1,2,0\n3,4,-1\n", NULL), GF_EFORMAT);
    assert_error_mentions("lab.csv:2:3");
    o = gf_csv_options_default();
    o.label_column = 3;
    assert_status(csv_load(&d, "lab.csv", "1,2,0\n", &o), GF_EFORMAT);
    assert_error_mentions("label column 3");
    assert_error_mentions("3 columns");

    /* Missing file, bad options, NULLs. */
    assert_status(gf_data_csv(&d, path_of("missing.csv"), NULL), GF_EIO);
    assert_error_mentions("missing.csv");
    o = gf_csv_options_default();
    o.header = 2;
    assert_status(csv_load(&d, "x.csv", "1,2\n", &o), GF_EINVAL);
    o = gf_csv_options_default();
    o.delimiter = '.';
    assert_status(csv_load(&d, "x.csv", "1,2\n", &o), GF_EINVAL);
    assert_status(gf_data_csv(NULL, path_of("x.csv"), NULL), GF_EINVAL);
    assert_status(gf_data_csv(&d, NULL, NULL), GF_EINVAL);
    assert_null(d);
}

#if GF_TEST_HAVE_ZLIB
/* The digits csv.gz format (65 integers a row, no header) read through gzip. */
static void csv_gzip_round_trip(void **state)
{
    char text[4096];
    size_t len = 0;
    gf_dataset *d = NULL, *ref = NULL;
    (void)state;
    assert_ok(gf_data_digits(&ref));
    for (size_t r = 0; r < 20; r++) {
        for (size_t j = 0; j < 64; j++)
            len += (size_t)sprintf(text + len, "%d,", (int)(ref->x->data[r * 64 + j] * 16));
        len += (size_t)sprintf(text + len, "%d\n", (int)ref->y->data[r]);
    }
    write_gz(path_of("digits20.csv.gz"), text, len);
    assert_ok(gf_data_csv(&d, path_of("digits20.csv.gz"), NULL));
    assert_int_equal(gf_dataset_rows(d), 20);
    assert_int_equal(d->x->cols, 64);
    for (size_t i = 0; i < 20 * 64; i++)
        assert_true((double)d->x->data[i] == 16.0 * (double)ref->x->data[i]); /* unscaled */
    for (size_t r = 0; r < 20; r++)
        assert_true(d->y->data[r] == ref->y->data[r]);
    gf_dataset_free(d);
    gf_dataset_free(ref);
}
#endif

/* ---- Bounded reading (issue 16) -------------------------------------------------------- */

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Load path in a child capped at cap bytes of address space (none under ASan, whose
 * shadow needs terabytes); the child exits with the status, the parent checks it came
 * within max_s seconds and the message holds needle. */
static void load_in_capped_child(const char *path, rlim_t cap, gf_status expected,
                                 const char *needle, double max_s)
{
    int ws = 0;
    double t0 = seconds_now();
    pid_t pid;
    fflush(stdout), fflush(stderr);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        gf_dataset *d = NULL;
        gf_status st;
#if !defined(__SANITIZE_ADDRESS__)
        struct rlimit rl = {cap, cap};
        if (setrlimit(RLIMIT_AS, &rl) != 0)
            _exit(100);
#else
        (void)cap;
        gf_set_memory_limit(64u << 20);
#endif
        st = gf_data_csv(&d, path, NULL);
        if (st == expected && strstr(gf_last_error(), needle) == NULL) {
            fprintf(stderr, "message '%s' does not mention '%s'\n", gf_last_error(), needle);
            _exit(101);
        }
        gf_dataset_free(d);
        _exit((int)st);
    }
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), (int)expected);
    assert_true(seconds_now() - t0 < max_s);
}

/* Only regular files within the memory limit are read: a device is refused before a byte
 * of it is read, a larger file before it is. */
static void csv_reading_is_bounded(void **state)
{
    static char text[3 << 20];
    size_t len = 0;
    gf_dataset *d = NULL;
    (void)state;
    assert_status(gf_data_csv(&d, "/dev/zero", NULL), GF_EIO);
    assert_null(d);
    assert_error_mentions("'/dev/zero' is not a regular file");
    assert_status(gf_data_csv(&d, DIR, NULL), GF_EIO);
    assert_error_mentions("not a regular file");
    /* 2 MB of rows against a 1 MiB limit: refused; with the default limit, read. */
    while (len < (2u << 20))
        len += (size_t)sprintf(text + len, "%zu,%zu\n", len % 1000, (len / 7) % 2);
    write_bytes(path_of("two-mb.csv"), text, len);
    gf_set_memory_limit(1u << 20);
    assert_int_equal(gf_memory_limit(), 1u << 20);
    assert_status(gf_data_csv(&d, path_of("two-mb.csv"), NULL), GF_ENOMEM);
    assert_null(d);
    assert_error_mentions("more than the memory limit of 1048576 bytes");
    gf_set_memory_limit(0);
    assert_int_equal(gf_memory_limit(), gf_memory_limit_default());
    assert_ok(gf_data_csv(&d, path_of("two-mb.csv"), NULL));
    assert_int_equal(d->n_classes, 2);
    gf_dataset_free(d);
    /* The device again, in a child with 256 MB of address space: refused at once. */
    load_in_capped_child("/dev/zero", (rlim_t)256 << 20, GF_EIO, "not a regular file", 1.0);
}

/* A UTF-8 byte-order mark does not make a header-less file's first row a header. */
static void csv_bom_is_skipped(void **state)
{
    gf_dataset *d = NULL;
    (void)state;
    assert_ok(csv_load(&d, "bom.csv", "\xEF\xBB\xBF" "1,2,0\n3,4,1\n5,6,1\n", NULL));
    assert_int_equal(gf_dataset_rows(d), 3);
    assert_row(d, 0, (double[]){1, 2}, 0);
    assert_row(d, 2, (double[]){5, 6}, 1);
    gf_dataset_free(d);
    /* With a header, the header (not the first row) is what goes. */
    assert_ok(csv_load(&d, "bomh.csv", "\xEF\xBB\xBF" "a,b,y\n1,2,0\n3,4,1\n", NULL));
    assert_int_equal(gf_dataset_rows(d), 2);
    assert_row(d, 0, (double[]){1, 2}, 0);
    gf_dataset_free(d);
}

/* The class count is the largest label + 1, bounded by the rows (or GF_CSV_MIN_CLASSES):
 * a stray 16777216 in a 40-row file is refused, naming its line. */
static void csv_class_count_is_bounded(void **state)
{
    char text[2048];
    size_t len = 0;
    gf_dataset *d = NULL;
    (void)state;
    for (int i = 0; i < 40; i++)
        len += (size_t)sprintf(text + len, "%d,%d,%d\n", i, i % 3,
                               i == 5 ? 16777216 : i % 2);
    assert_true(len < 700);
    assert_status(csv_load(&d, "stray.csv", text, NULL), GF_EFORMAT);
    assert_null(d);
    assert_error_mentions("stray.csv:6:3: label 16777216 would make 16777217 classes for 40 rows");
    /* Below the floor a sparse label is fine: 3 rows of a 1000-class problem. */
    assert_ok(csv_load(&d, "sparse.csv", "1,0\n2,999\n3,5\n", NULL));
    assert_int_equal(d->n_classes, GF_CSV_MIN_CLASSES);
    gf_dataset_free(d);
    assert_status(csv_load(&d, "sparse2.csv", "1,0\n2,1000\n3,5\n", NULL), GF_EFORMAT);
    assert_error_mentions("1001 classes for 3 rows");
}

#if GF_TEST_HAVE_ZLIB
/* A gzip bomb: 256 concatenated members of 1 MiB of "0,1\n" each, a few hundred KB that
 * inflate to 256 MiB. Refused once the output reaches the limit, never allocated past
 * it: in a child with 256 MB of address space (default limit 128 MB), in under a second. */
static void csv_gzip_bomb_is_refused(void **state)
{
    static char block[1 << 20];
    unsigned char member[1 << 16];
    FILE *f;
    gzFile g;
    size_t n;
    (void)state;
    for (size_t i = 0; i < sizeof block; i += 4)
        memcpy(block + i, "0,1\n", 4);
    g = gzopen(path_of("one-member.gz"), "wb9");
    assert_non_null(g);
    assert_int_equal(gzwrite(g, block, sizeof block), (int)sizeof block);
    assert_int_equal(gzclose(g), Z_OK);
    n = read_bytes(path_of("one-member.gz"), member, sizeof member);
    assert_true(n > 0 && n < sizeof member);
    f = fopen(path_of("bomb.csv.gz"), "wb");
    assert_non_null(f);
    for (int i = 0; i < 256; i++)
        assert_int_equal(fwrite(member, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    load_in_capped_child(path_of("bomb.csv.gz"), (rlim_t)256 << 20, GF_ENOMEM,
                         "inflates to more than", 1.0);
    /* Under an explicit limit in this process too. */
    {
        gf_dataset *d = NULL;
        gf_set_memory_limit(8u << 20);
        assert_status(gf_data_csv(&d, path_of("bomb.csv.gz"), NULL), GF_ENOMEM);
        gf_set_memory_limit(0);
        assert_null(d);
        assert_error_mentions("pass the memory limit of 8388608 bytes");
    }
}
#endif

/* ---- Synthetic ------------------------------------------------------------------------- */

static void synthetic_sets(void **state)
{
    static const char *const kinds[] = {"gauss", "xor", "spirals", "moons"};
    gf_rng r1, r2;
    (void)state;
    for (int k = 0; k < 4; k++) {
        gf_dataset *a = NULL, *b = NULL, *c = NULL;
        size_t in = k == 0 ? 5 : 0, od = k == 0 ? 3 : 0, ones = 0;
        gf_rng_seed(&r1, 7);
        gf_rng_seed(&r2, 7);
        assert_ok(gf_data_synthetic(&a, kinds[k], 400, in, od, &r1));
        assert_ok(gf_data_synthetic(&b, kinds[k], 400, in, od, &r2));
        assert_ok(gf_data_synthetic(&c, kinds[k], 400, in, od, &r1)); /* later draws */
        assert_string_equal(a->name, kinds[k]);
        assert_int_equal(a->x->rows, 400);
        assert_int_equal(a->x->cols, k == 0 ? 5 : 2);
        assert_int_equal(a->y->cols, k == 0 ? 3 : 1);
        assert_int_equal(a->n_classes, k == 0 ? 0 : 2);
        /* Same seed, same data, bit for bit; the next draws differ. */
        assert_memory_equal(a->x->data, b->x->data, 400 * a->x->cols * sizeof(gf_real));
        assert_memory_equal(a->y->data, b->y->data, 400 * a->y->cols * sizeof(gf_real));
        assert_true(memcmp(a->x->data, c->x->data, 400 * a->x->cols * sizeof(gf_real)) != 0);
        if (k > 0) {
            for (size_t i = 0; i < 400; i++) {
                double y = (double)a->y->data[i];
                double x0 = (double)a->x->data[2 * i], x1 = (double)a->x->data[2 * i + 1];
                assert_true(y == 0 || y == 1);
                ones += y == 1;
                assert_true(fabs(x0) < 2 && fabs(x1) < 2);
                if (k == 1) {
                    assert_true(x0 >= -1 && x0 <= 1 && x1 >= -1 && x1 <= 1);
                    assert_true(y == (double)((x0 > 0) != (x1 > 0)));
                }
            }
            if (k == 1)
                assert_true(ones > 150 && ones < 250); /* xor: binomial(400, 1/2) */
            else
                assert_int_equal(ones, 200); /* alternating */
        }
        gf_dataset_free(a);
        gf_dataset_free(b);
        gf_dataset_free(c);
    }
}

static void synthetic_gauss_moments(void **state)
{
    gf_dataset *d = NULL;
    gf_rng rng;
    double s = 0, ss = 0;
    size_t n;
    (void)state;
    gf_rng_seed(&rng, 3);
    assert_ok(gf_data_synthetic(&d, "gauss", 20000, 4, 2, &rng));
    n = gf_tensor_size(d->x);
    for (size_t i = 0; i < n; i++) {
        s += (double)d->x->data[i];
        ss += (double)d->x->data[i] * (double)d->x->data[i];
    }
    /* 80,000 N(0,1) draws: the mean's sd is 0.0035 and the variance's 0.005; 5 sigma. */
    assert_near(s / (double)n, 0.0, 0.018, 0);
    assert_near(ss / (double)n, 1.0, 0.025, 0);
    gf_dataset_free(d);
}

static void synthetic_bad(void **state)
{
    gf_dataset *d = (gf_dataset *)&d;
    gf_rng rng;
    (void)state;
    gf_rng_seed(&rng, 1);
    assert_status(gf_data_synthetic(&d, "circles", 10, 0, 0, &rng), GF_ENOTFOUND);
    assert_error_mentions("circles");
    assert_null(d);
    assert_status(gf_data_synthetic(&d, "xor", 0, 0, 0, &rng), GF_EINVAL);
    assert_status(gf_data_synthetic(&d, "xor", 10, 3, 0, &rng), GF_EINVAL);
    assert_status(gf_data_synthetic(&d, "moons", 10, 0, 5, &rng), GF_EINVAL);
    assert_status(gf_data_synthetic(&d, "gauss", 10, 0, 1, &rng), GF_EINVAL);
    assert_status(gf_data_synthetic(&d, "gauss", 10, 1, 0, &rng), GF_EINVAL);
    assert_status(gf_data_synthetic(&d, "gauss", (size_t)1 << 40, 1 << 20, 1, &rng),
                  GF_EINVAL);
    assert_status(gf_data_synthetic(&d, NULL, 10, 0, 0, &rng), GF_EINVAL);
    assert_status(gf_data_synthetic(&d, "xor", 10, 0, 0, NULL), GF_EINVAL);
    assert_status(gf_data_synthetic(NULL, "xor", 10, 0, 0, &rng), GF_EINVAL);
    assert_null(d);
    /* in and out_dim 2 are accepted for the 2-D sets. */
    assert_ok(gf_data_synthetic(&d, "spirals", 10, 2, 2, &rng));
    gf_dataset_free(d);
}

/* ---- Split, slice, standardise --------------------------------------------------------- */

/* n rows with x = (i, -i), y = i % 3: every row identifies itself. */
static gf_dataset *numbered(size_t n, const char *name)
{
    gf_dataset *d = NULL;
    assert_ok(gf_dataset_new(&d, n, 2, 1, 3, name));
    for (size_t i = 0; i < n; i++) {
        d->x->data[2 * i] = (gf_real)i;
        d->x->data[2 * i + 1] = -(gf_real)i;
        d->y->data[i] = (gf_real)(i % 3);
    }
    return d;
}

static void split_sizes_disjoint(void **state)
{
    gf_dataset *all = numbered(101, "num"), *tr = NULL, *te = NULL, *tr2 = NULL, *te2 = NULL;
    int seen[101] = {0};
    gf_rng r1, r2;
    (void)state;
    gf_rng_seed(&r1, 11);
    gf_rng_seed(&r2, 11);
    assert_ok(gf_data_split(&tr, &te, all, 0.2, &r1));
    assert_int_equal(gf_dataset_rows(te), 20); /* round(101 * 0.2) = round(20.2) */
    assert_int_equal(gf_dataset_rows(tr), 81);
    assert_string_equal(tr->name, "num-train");
    assert_string_equal(te->name, "num-test");
    assert_int_equal(tr->n_classes, 3);
    for (int s = 0; s < 2; s++) {
        const gf_dataset *d = s == 0 ? tr : te;
        for (size_t r = 0; r < gf_dataset_rows(d); r++) {
            size_t i = (size_t)d->x->data[2 * r];
            assert_true(i < 101);
            assert_true(d->x->data[2 * r + 1] == -(gf_real)i); /* rows copied whole */
            assert_true(d->y->data[r] == (gf_real)(i % 3));
            seen[i]++;
        }
    }
    for (int i = 0; i < 101; i++)
        assert_int_equal(seen[i], 1); /* disjoint, and together the whole set */
    /* Shuffled, not the first or last rows in order. */
    {
        int in_order = 1;
        for (size_t r = 1; r < 20; r++)
            in_order &= te->x->data[2 * r] > te->x->data[2 * r - 2];
        assert_false(in_order);
    }
    /* Seeded: the same split again. */
    assert_ok(gf_data_split(&tr2, &te2, all, 0.2, &r2));
    assert_memory_equal(te->x->data, te2->x->data, 40 * sizeof(gf_real));
    assert_memory_equal(tr->x->data, tr2->x->data, 162 * sizeof(gf_real));
    gf_dataset_free(tr);
    gf_dataset_free(te);
    gf_dataset_free(tr2);
    gf_dataset_free(te2);

    /* Bad fractions and sets that would leave one side empty. */
    tr = te = (gf_dataset *)&tr;
    assert_status(gf_data_split(&tr, &te, all, 0.0, &r1), GF_EINVAL);
    assert_null(tr);
    assert_null(te);
    assert_status(gf_data_split(&tr, &te, all, 1.0, &r1), GF_EINVAL);
    assert_status(gf_data_split(&tr, &te, all, -0.1, &r1), GF_EINVAL);
    assert_status(gf_data_split(&tr, &te, all, NAN, &r1), GF_EINVAL);
    assert_status(gf_data_split(&tr, &te, all, 0.001, &r1), GF_EINVAL); /* 0 test rows */
    assert_error_mentions("0 test");
    assert_status(gf_data_split(&tr, &te, all, 0.999, &r1), GF_EINVAL); /* 0 train rows */
    assert_status(gf_data_split(&tr, &te, NULL, 0.2, &r1), GF_EINVAL);
    assert_status(gf_data_split(&tr, &te, all, 0.2, NULL), GF_EINVAL);
    assert_status(gf_data_split(NULL, &te, all, 0.2, &r1), GF_EINVAL);
    gf_dataset_free(all);

    /* A long name keeps its suffix. */
    all = numbered(4, "a-very-long-data-set-name-that-fills-the-whole-sixty-four-bytes..");
    assert_int_equal(strlen(all->name), 63);
    assert_ok(gf_data_split(&tr, &te, all, 0.5, &r1));
    assert_int_equal(strlen(tr->name), 63);
    assert_non_null(strstr(tr->name, "-train"));
    assert_non_null(strstr(te->name, "-test"));
    gf_dataset_free(tr);
    gf_dataset_free(te);
    gf_dataset_free(all);
}

static void slice_rows(void **state)
{
    gf_dataset *all = numbered(10, "num"), *s = NULL;
    (void)state;
    assert_ok(gf_data_slice(&s, all, 3, 4));
    assert_int_equal(gf_dataset_rows(s), 4);
    assert_true(s->x->data[0] == 3 && s->x->data[7] == -6);
    assert_true(s->y->data[3] == 0); /* row 6 */
    assert_int_equal(s->n_classes, 3);
    gf_dataset_free(s);
    assert_ok(gf_data_slice(&s, all, 0, 10));
    gf_dataset_free(s);
    s = (gf_dataset *)&s;
    assert_status(gf_data_slice(&s, all, 8, 3), GF_EINVAL);
    assert_null(s);
    assert_status(gf_data_slice(&s, all, 0, 0), GF_EINVAL);
    assert_status(gf_data_slice(&s, all, 11, 0), GF_EINVAL);
    assert_status(gf_data_slice(&s, all, 5, (size_t)-1), GF_EINVAL);
    assert_status(gf_data_slice(&s, NULL, 0, 1), GF_EINVAL);
    gf_dataset_free(all);
}

static void standardize_from_train(void **state)
{
    gf_dataset *tr = NULL, *te = NULL;
    (void)state;
    /* Feature 0: 1, 2, 3, 4 (mean 2.5, population sd sqrt(1.25)); feature 1: constant 7. */
    assert_ok(gf_dataset_new(&tr, 4, 2, 1, 2, "tr"));
    assert_ok(gf_dataset_new(&te, 2, 2, 1, 2, "te"));
    for (int i = 0; i < 4; i++) {
        tr->x->data[2 * i] = (gf_real)(i + 1);
        tr->x->data[2 * i + 1] = 7;
    }
    te->x->data[0] = 5, te->x->data[1] = 8, te->x->data[2] = 2.5, te->x->data[3] = 7;
    assert_ok(gf_data_standardize(tr, te));
    {
        double m = 0, v = 0;
        for (int i = 0; i < 4; i++)
            m += (double)tr->x->data[2 * i] / 4;
        for (int i = 0; i < 4; i++)
            v += ((double)tr->x->data[2 * i] - m) * ((double)tr->x->data[2 * i] - m) / 4;
        assert_near(m, 0, 1e-6, 0);
        assert_near(v, 1, 1e-6, 1e-6);
    }
    assert_near(tr->x->data[0], (1 - 2.5) / sqrt(1.25), 1e-6, 1e-6);
    assert_true(tr->x->data[1] == 0); /* constant: centred, not divided by 0 */
    /* The test set uses the training statistics. */
    assert_near(te->x->data[0], (5 - 2.5) / sqrt(1.25), 1e-6, 1e-6);
    assert_near(te->x->data[1], 1, 1e-6, 0);
    assert_near(te->x->data[2], 0, 1e-6, 0);
    /* Test may be NULL; shapes must agree. */
    assert_ok(gf_data_standardize(te, NULL));
    gf_dataset_free(te);
    assert_ok(gf_dataset_new(&te, 2, 3, 1, 2, "te3"));
    assert_status(gf_data_standardize(tr, te), GF_ESHAPE);
    assert_status(gf_data_standardize(NULL, te), GF_EINVAL);
    tr->x->data[3] = NAN;
    assert_status(gf_data_standardize(tr, NULL), GF_ENONFINITE);
    gf_dataset_free(tr);
    gf_dataset_free(te);
}

static void dataset_new_checks(void **state)
{
    gf_dataset *d = (gf_dataset *)&d;
    (void)state;
    assert_status(gf_dataset_new(&d, 0, 2, 1, 0, "x"), GF_EINVAL);
    assert_null(d);
    assert_status(gf_dataset_new(&d, 2, 0, 1, 0, "x"), GF_EINVAL);
    assert_status(gf_dataset_new(&d, 2, 2, 0, 0, "x"), GF_EINVAL);
    assert_status(gf_dataset_new(&d, 2, 2, 3, 4, "x"), GF_EINVAL); /* classes need 1 col */
    assert_status(gf_dataset_new(NULL, 2, 2, 1, 0, "x"), GF_EINVAL);
    assert_ok(gf_dataset_new(&d, 2, 2, 3, 0, NULL));
    assert_string_equal(d->name, "");
    assert_true(d->x->data[3] == 0 && d->y->data[5] == 0); /* zeroed */
    gf_dataset_free(d);
    gf_dataset_free(NULL);
    assert_int_equal(gf_dataset_rows(NULL), 0);
}

/* ---- Batcher ----------------------------------------------------------------------------- */

/* Run `epochs` epochs of a batcher over numbered(n), recording the order of rows. */
static void run_epochs(size_t n, size_t batch, uint64_t seed, int epochs, size_t *order)
{
    gf_dataset *d = numbered(n, "num");
    gf_batcher *b = NULL;
    gf_tensor *x = tu_tensor(1, 2), *y = tu_tensor(1, 1);
    gf_rng rng;
    size_t per, k = 0;
    gf_rng_seed(&rng, seed);
    assert_ok(gf_batcher_new(&b, d, batch, &rng));
    per = gf_batcher_batches_per_epoch(b);
    assert_int_equal(per, (n + batch - 1) / batch);
    assert_int_equal(gf_batcher_epoch(b), 0);
    for (int e = 0; e < epochs; e++) {
        int *seen = calloc(n, sizeof *seen);
        size_t rows = 0;
        assert_non_null(seen);
        for (size_t i = 0; i < per; i++) {
            int fresh = -1;
            size_t want = i + 1 < per ? batch : n - batch * (per - 1);
            assert_ok(gf_batcher_next(b, x, y, &fresh));
            assert_int_equal(fresh, i == 0);
            assert_int_equal(gf_batcher_epoch(b), (size_t)e);
            assert_int_equal(x->rows, want); /* the last batch holds the rest */
            assert_int_equal(y->rows, want);
            for (size_t r = 0; r < x->rows; r++) {
                size_t row = (size_t)x->data[2 * r];
                assert_true(row < n);
                assert_true(x->data[2 * r + 1] == -(gf_real)row);
                assert_true(y->data[r] == (gf_real)(row % 3));
                seen[row]++;
                order[k++] = row;
            }
            rows += x->rows;
        }
        assert_int_equal(rows, n);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(seen[i], 1); /* every row exactly once per epoch */
        free(seen);
    }
    gf_batcher_free(b);
    gf_tensor_free(x);
    gf_tensor_free(y);
    gf_dataset_free(d);
}

static void batcher_epochs(void **state)
{
    size_t a[3 * 50], b[3 * 50], c[3 * 50];
    (void)state;
    run_epochs(50, 7, 5, 3, a); /* 7 batches of 7, then 1 */
    run_epochs(50, 7, 5, 3, b);
    run_epochs(50, 7, 6, 3, c);
    /* Deterministic for a seed; reshuffled every epoch; another seed, another order. */
    assert_memory_equal(a, b, sizeof a);
    assert_true(memcmp(a, a + 50, 50 * sizeof a[0]) != 0);
    assert_true(memcmp(a + 50, a + 100, 50 * sizeof a[0]) != 0);
    assert_true(memcmp(a, c, sizeof a) != 0);
    run_epochs(10, 10, 1, 2, a); /* one batch per epoch */
    run_epochs(10, 1, 1, 2, a);  /* batches of one row */
    run_epochs(9, 3, 1, 2, a);   /* exact division */
}

static void batcher_bad(void **state)
{
    gf_dataset *d = numbered(5, "num");
    gf_batcher *b = (gf_batcher *)&b;
    gf_tensor *x = tu_tensor(1, 2), *y = tu_tensor(1, 1), *x3 = tu_tensor(1, 3);
    gf_tensor view;
    gf_real data[2];
    gf_rng rng;
    int fresh;
    (void)state;
    gf_rng_seed(&rng, 1);
    assert_status(gf_batcher_new(&b, d, 0, &rng), GF_EINVAL);
    assert_null(b);
    assert_status(gf_batcher_new(&b, NULL, 2, &rng), GF_EINVAL);
    assert_status(gf_batcher_new(&b, d, 2, NULL), GF_EINVAL);
    assert_status(gf_batcher_new(NULL, d, 2, &rng), GF_EINVAL);
    /* A batch larger than the set is the whole set. */
    assert_ok(gf_batcher_new(&b, d, 100, &rng));
    assert_int_equal(gf_batcher_batches_per_epoch(b), 1);
    assert_ok(gf_batcher_next(b, x, y, NULL));
    assert_int_equal(x->rows, 5);
    assert_status(gf_batcher_next(b, x3, y, &fresh), GF_ESHAPE);
    assert_status(gf_batcher_next(b, y, x, &fresh), GF_ESHAPE);
    assert_status(gf_batcher_next(b, NULL, y, &fresh), GF_EINVAL);
    assert_status(gf_batcher_next(NULL, x, y, &fresh), GF_EINVAL);
    /* A view too small cannot grow: refused, and the batcher's state is unchanged. */
    view = gf_tensor_view(data, 1, 2);
    assert_status(gf_batcher_next(b, &view, y, &fresh), GF_EINVAL);
    assert_int_equal(gf_batcher_epoch(b), 0);
    assert_ok(gf_batcher_next(b, x, y, &fresh));
    assert_int_equal(fresh, 1);
    assert_int_equal(gf_batcher_epoch(b), 1);
    gf_batcher_free(b);
    gf_batcher_free(NULL);
    assert_int_equal(gf_batcher_batches_per_epoch(NULL), 0);
    assert_int_equal(gf_batcher_epoch(NULL), 0);
    gf_tensor_free(x);
    gf_tensor_free(y);
    gf_tensor_free(x3);
    gf_dataset_free(d);
}

/* ---- Evaluation -------------------------------------------------------------------------- */

/* A network computing y = x exactly (one 2 -> 2 linear layer, W = I, b = 0). */
static gf_net *identity_net(void)
{
    gf_net *net = NULL;
    gf_real *p;
    assert_ok(gf_net_new(&net, 2));
    assert_ok(gf_net_add_linear(net, 2));
    assert_int_equal(gf_net_param_count(net), 6);
    p = gf_net_params_mut(net); /* W (2, 2) row-major, then b (1, 2) */
    p[0] = 1, p[1] = 0, p[2] = 0, p[3] = 1, p[4] = 0, p[5] = 0;
    return net;
}

static void evaluate_known_values(void **state)
{
    gf_net *net = identity_net();
    gf_dataset *d = NULL;
    double loss = 0, acc = 0, want_loss = 0;
    size_t correct = 0;
    gf_rng rng;
    (void)state;
    gf_rng_seed(&rng, 9);
    assert_ok(gf_dataset_new(&d, 11, 2, 1, 2, "eval"));
    for (size_t i = 0; i < 11; i++) {
        double a = gf_rng_uniform(&rng) * 4 - 2, b = gf_rng_uniform(&rng) * 4 - 2;
        size_t c = i % 2;
        d->x->data[2 * i] = (gf_real)a;
        d->x->data[2 * i + 1] = (gf_real)b;
        d->y->data[i] = (gf_real)c;
        a = (double)d->x->data[2 * i];
        b = (double)d->x->data[2 * i + 1];
        /* Cross-entropy of logits (a, b): log(e^a + e^b) - logit of the class. */
        want_loss += log(exp(a) + exp(b)) - (c == 0 ? a : b);
        correct += (a > b) == (c == 0);
    }
    want_loss /= 11;
    /* Batches of 4 (4 + 4 + 3 rows): the mean over rows, not over batches. */
    for (size_t batch = 1; batch <= 12; batch += 3) {
        assert_ok(gf_evaluate(net, &loss, &acc, d, GF_LOSS_SOFTMAX_CE, batch));
        assert_near(loss, want_loss, 1e-6, 1e-5);
        assert_near(acc, (double)correct / 11, 1e-12, 0);
    }
    assert_true(correct > 0 && correct < 11); /* a non-trivial accuracy was checked */
    assert_ok(gf_evaluate(net, NULL, &acc, d, GF_LOSS_SOFTMAX_CE, 4));
    assert_ok(gf_evaluate(net, &loss, NULL, d, GF_LOSS_SOFTMAX_CE, 4));
    /* No telemetry is recorded by evaluation. */
    assert_int_equal(gf_telemetry_count(gf_net_telemetry(net)), 0);
    assert_int_equal(gf_net_step_count(net), 0);
    gf_dataset_free(d);

    /* Regression: MSE, accuracy NaN. y = x against target (x0 + 1, x1): MSE = 1/2. */
    assert_ok(gf_dataset_new(&d, 5, 2, 2, 0, "reg"));
    for (size_t i = 0; i < 10; i++)
        d->x->data[i] = (gf_real)(0.25 * (double)i);
    for (size_t i = 0; i < 5; i++) {
        d->y->data[2 * i] = d->x->data[2 * i] + 1;
        d->y->data[2 * i + 1] = d->x->data[2 * i + 1];
    }
    assert_ok(gf_evaluate(net, &loss, &acc, d, GF_LOSS_MSE, 2));
    assert_near(loss, 0.5, 1e-6, 1e-6);
    assert_true(isnan(acc));

    /* Errors: batch 0, bad loss, shape mismatch, NULLs; outputs NaN on failure. */
    assert_status(gf_evaluate(net, &loss, &acc, d, GF_LOSS_MSE, 0), GF_EINVAL);
    assert_true(isnan(loss));
    assert_status(gf_evaluate(net, &loss, &acc, d, GF_LOSS_COUNT, 2), GF_EINVAL);
    assert_status(gf_evaluate(NULL, &loss, &acc, d, GF_LOSS_MSE, 2), GF_EINVAL);
    assert_status(gf_evaluate(net, &loss, &acc, NULL, GF_LOSS_MSE, 2), GF_EINVAL);
    gf_dataset_free(d);
    assert_ok(gf_dataset_new(&d, 3, 5, 1, 2, "wide"));
    assert_status(gf_evaluate(net, &loss, &acc, d, GF_LOSS_SOFTMAX_CE, 2), GF_ESHAPE);
    gf_dataset_free(d);
    gf_net_free(net);
}

/* A short training run through the batcher lifts digits' accuracy far above chance, and
 * gf_evaluate agrees with the accuracy of one full forward pass. */
static void evaluate_after_training_digits(void **state)
{
    gf_dataset *all = NULL, *tr = NULL, *te = NULL;
    gf_mlp_spec spec = {.in = 64, .width = 32, .depth = 2, .out = 10, .act = "relu",
                        .act_param = NAN};
    gf_optim_config cfg = gf_optim_default(GF_OPTIM_ADAM);
    gf_net *net = NULL;
    gf_optim *opt = NULL;
    gf_batcher *b = NULL;
    gf_tensor *x = tu_tensor(1, 64), *y = tu_tensor(1, 1);
    double acc0 = 0, acc = 0, loss = 0, full = 0;
    const gf_tensor *out;
    gf_rng rng;
    (void)state;
    gf_rng_seed(&rng, 2024);
    assert_ok(gf_data_digits(&all));
    assert_ok(gf_data_split(&tr, &te, all, 0.25, &rng));
    assert_ok(gf_net_new_mlp(&net, &spec, &rng));
    cfg.lr = 0.01;
    assert_ok(gf_optim_new(&opt, &cfg, gf_net_param_count(net)));
    assert_ok(gf_evaluate(net, &loss, &acc0, te, GF_LOSS_SOFTMAX_CE, 100));
    assert_ok(gf_batcher_new(&b, tr, 32, &rng));
    for (size_t i = 0; i < 3 * gf_batcher_batches_per_epoch(b); i++) {
        assert_ok(gf_batcher_next(b, x, y, NULL));
        assert_ok(gf_net_train_step(net, NULL, x, y, opt, GF_LOSS_SOFTMAX_CE, NULL));
    }
    assert_ok(gf_evaluate(net, &loss, &acc, te, GF_LOSS_SOFTMAX_CE, 64));
    assert_ok(gf_net_predict(net, &out, te->x));
    assert_ok(gf_accuracy(&full, out, te->y));
    assert_near(acc, full, 1e-12, 0);
    /* Three epochs of a small MLP on 8x8 digits: well above 0.85 (chance is 0.1). */
    assert_true(acc > 0.85);
    assert_true(acc > acc0 + 0.5);
    assert_true(loss < 0.6);
    gf_batcher_free(b);
    gf_optim_free(opt);
    gf_net_free(net);
    gf_tensor_free(x);
    gf_tensor_free(y);
    gf_dataset_free(all);
    gf_dataset_free(tr);
    gf_dataset_free(te);
}

/* ---- Allocation failures ------------------------------------------------------------------ */

/* Make the k-th allocation fail for k = 1, 2, ... until the call succeeds: every failure
 * is GF_ENOMEM with a message and nothing leaks. */
#define FOR_EACH_ALLOC_FAILURE(call, cleanup)                                                \
    do {                                                                                   \
        for (long k_ = 1;; k_++) {                                                         \
            gf_status st_;                                                                 \
            tu_alloc_install(k_);                                                          \
            gf_clear_error();                                                              \
            st_ = (call);                                                                  \
            if (st_ == GF_OK) {                                                            \
                cleanup;                                                                   \
                assert_int_equal(tu_alloc_live(), 0);                                      \
                tu_alloc_uninstall();                                                      \
                assert_true(k_ > 1);                                                       \
                break;                                                                     \
            }                                                                              \
            assert_int_equal(st_, GF_ENOMEM);                                              \
            assert_true(gf_last_error()[0] != '\0');                                       \
            assert_int_equal(tu_alloc_live(), 0);                                          \
            tu_alloc_uninstall();                                                          \
            assert_true(k_ < 1000);                                                        \
        }                                                                                  \
    } while (0)

static void allocation_failures(void **state)
{
    unsigned char img[256], lab[64];
    gf_dataset *d = NULL, *tr = NULL, *te = NULL, *all;
    gf_batcher *b = NULL;
    gf_rng rng;
    (void)state;
    write_bytes(path_of("af-img"), img, idx_images(img, 5, 3, 2));
    write_bytes(path_of("af-lab"), lab, idx_labels(lab, 5, LABELS5));
    write_text(path_of("af.csv"), "a,b,c\n1,2,0\n3,4,1\n");
    FOR_EACH_ALLOC_FAILURE(gf_data_digits(&d), gf_dataset_free(d));
    FOR_EACH_ALLOC_FAILURE(gf_data_idx(&d, path_of("af-img"), path_of("af-lab")),
                           gf_dataset_free(d));
    FOR_EACH_ALLOC_FAILURE(gf_data_csv(&d, path_of("af.csv"), NULL), gf_dataset_free(d));
#if GF_TEST_HAVE_ZLIB
    /* zlib's own allocations go through gf_alloc too. */
    write_gz(path_of("af-img.gz"), img, idx_images(img, 5, 3, 2));
    FOR_EACH_ALLOC_FAILURE(gf_data_idx(&d, path_of("af-img.gz"), path_of("af-lab")),
                           gf_dataset_free(d));
#endif
    gf_rng_seed(&rng, 1);
    FOR_EACH_ALLOC_FAILURE(gf_data_synthetic(&d, "moons", 10, 0, 0, &rng), gf_dataset_free(d));
    /* The source set comes from the default allocator and is only read under the
     * counting one (then freed after it is uninstalled). */
    all = numbered(10, "num");
    FOR_EACH_ALLOC_FAILURE(gf_data_split(&tr, &te, all, 0.3, &rng),
                           (gf_dataset_free(tr), gf_dataset_free(te)));
    FOR_EACH_ALLOC_FAILURE(gf_data_slice(&d, all, 2, 3), gf_dataset_free(d));
    FOR_EACH_ALLOC_FAILURE(gf_batcher_new(&b, all, 3, &rng), gf_batcher_free(b));
    gf_dataset_free(all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(digits_known_figures),
        cmocka_unit_test(idx_raw_good),
#if GF_TEST_HAVE_ZLIB
        cmocka_unit_test(idx_gzip_round_trip),
        cmocka_unit_test(idx_gzip_damaged),
        cmocka_unit_test(csv_gzip_round_trip),
#else
        cmocka_unit_test(idx_gzip_unsupported),
#endif
        cmocka_unit_test(idx_bad_files),
        cmocka_unit_test(fashion_layout),
        cmocka_unit_test(csv_good),
        cmocka_unit_test(csv_bad),
        cmocka_unit_test(csv_reading_is_bounded),
        cmocka_unit_test(csv_bom_is_skipped),
        cmocka_unit_test(csv_class_count_is_bounded),
#if GF_TEST_HAVE_ZLIB
        cmocka_unit_test(csv_gzip_bomb_is_refused),
#endif
        cmocka_unit_test(synthetic_sets),
        cmocka_unit_test(synthetic_gauss_moments),
        cmocka_unit_test(synthetic_bad),
        cmocka_unit_test(split_sizes_disjoint),
        cmocka_unit_test(slice_rows),
        cmocka_unit_test(standardize_from_train),
        cmocka_unit_test(dataset_new_checks),
        cmocka_unit_test(batcher_epochs),
        cmocka_unit_test(batcher_bad),
        cmocka_unit_test(evaluate_known_values),
        cmocka_unit_test(evaluate_after_training_digits),
        cmocka_unit_test(allocation_failures),
    };
    return cmocka_run_group_tests(tests, setup_dir, NULL);
}
