/* tests/test_data.c: the data module, in three sources (tests/test_data.h): here the file
 * helpers, the embedded digits set against its known figures, IDX and CSV loaders on
 * small files written here (good, truncated, wrong magic, wrong sizes, bad fields,
 * empty) and a gzip round trip; test_data_sets.c: synthetic sets, the split,
 * standardisation, the batcher's epochs; test_data_eval.c: evaluation, allocation
 * failures. main, at the end, runs them all. */
#define _POSIX_C_SOURCE 200809L /* setenv, mkdir */

#include "test_data.h"

/* Every file is written under this directory (the test's working directory is the build
 * directory, see cmake/io.cmake). */
#define DIR "test_data_files"

/* DIR/name in one of 8 rotating buffers: valid for the next 7 calls only. */
const char *path_of(const char *name)
{
    static char buf[8][256];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, sizeof buf[0], DIR "/%s", name);
    return p;
}

void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (n > 0)
        assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

void write_text(const char *path, const char *text)
{
    write_bytes(path, text, strlen(text));
}

#if GF_TEST_HAVE_ZLIB
void write_gz(const char *path, const void *data, size_t n)
{
    gzFile g = gzopen(path, "wb");
    assert_non_null(g);
    assert_int_equal(gzwrite(g, data, (unsigned)n), (int)n);
    assert_int_equal(gzclose(g), Z_OK);
}

/* Read a whole file (test side, plain stdio). */
size_t read_bytes(const char *path, unsigned char *buf, size_t cap)
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
size_t idx_images(unsigned char *buf, uint32_t n, uint32_t rows, uint32_t cols)
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

size_t idx_labels(unsigned char *buf, uint32_t n, const unsigned char *labels)
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
gf_status csv_load(gf_dataset **d, const char *name, const char *text,
                          const gf_csv_options *o)
{
    write_text(path_of(name), text);
    gf_clear_error();
    return gf_data_csv(d, path_of(name), o);
}

void assert_row(const gf_dataset *d, size_t r, const double *x, double y)
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
        cmocka_unit_test(data_load_can_be_cancelled),
#if GF_TEST_HAVE_ZLIB
        cmocka_unit_test(csv_gzip_bomb_is_refused),
        cmocka_unit_test(gzip_is_streamed),
#endif
        cmocka_unit_test(synthetic_sets),
        cmocka_unit_test(adding_problem_rows),
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
