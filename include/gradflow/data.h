/* gradflow/data.h: data sets for training: the embedded digits set, IDX files
 * (Fashion-MNIST), CSV tables and synthetic problems; a seeded held-out split, optional
 * standardisation, mini-batches with a seeded shuffle per epoch, and evaluation.
 * Loaders never hand back a partial data set: on any failure *out is NULL and the
 * detail message (gf_last_error) names the file and what was wrong. A file loader
 * (CSV, IDX, Fashion-MNIST) asks the cancel callback as it reads, inflates and parses,
 * and returns GF_ECANCELED when it says stop (gf_set_cancel_callback, common.h). A gzip
 * file is inflated as it is read, never held whole in its compressed form. Scaling of
 * inputs and file rules are described in docs/data.md. */
#ifndef GRADFLOW_DATA_H
#define GRADFLOW_DATA_H

#include "gradflow/loss.h"
#include "gradflow/net.h"
#include "gradflow/rng.h"
#include "gradflow/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A data set: n rows of inputs and targets. Owned by the caller (gf_dataset_free). */
typedef struct gf_dataset {
    gf_tensor *x;     /* (n, features) inputs, already scaled as documented per loader */
    gf_tensor *y;     /* (n, 1) class indices 0..n_classes-1 (stored as gf_real), or
                         (n, k) regression targets */
    size_t n_classes; /* number of classes; 0 for regression */
    char name[64];    /* "digits", "fashion-mnist-train", a file's name, ... */
} gf_dataset;

/* An empty (zeroed) data set of n rows: x (n, features), y (n, targets). n_classes > 0
 * requires targets == 1. name may be NULL (""); it is truncated to 63 bytes. */
gf_status gf_dataset_new(gf_dataset **out, size_t n, size_t features, size_t targets,
                         size_t n_classes, const char *name);

/* Release a data set and its tensors; NULL does nothing. */
void gf_dataset_free(gf_dataset *d);

/* Number of rows; 0 for NULL. */
size_t gf_dataset_rows(const gf_dataset *d);

/* 1 when this build reads gzip-compressed files (it was built with zlib), else 0. */
int gf_data_has_gzip(void);

/* ---- Loaders ---------------------------------------------------------------------- */

/* The embedded digits set (UCI optical digits, E. Alpaydin and C. Kaynak, CC BY 4.0):
 * 1797 rows of 8x8 images, x (1797, 64) = pixel count / 16 in [0, 1], 10 classes.
 * Needs no file. */
gf_status gf_data_digits(gf_dataset **out);

/* An IDX image file (magic 0x00000803: n x rows x cols unsigned bytes) and its label
 * file (magic 0x00000801: n unsigned bytes), each gzip-compressed or raw (detected from
 * the content). x (n, rows*cols) = byte / 255, y (n, 1), n_classes = largest label + 1.
 * The sizes in each header must account for the file's length exactly (a gzip file is
 * refused as soon as it inflates past that length), and both files must hold the same n. Missing file: GF_EIO; malformed or truncated: GF_EFORMAT; a gzip
 * file in a build without zlib: GF_EUNSUPPORTED. */
gf_status gf_data_idx(gf_dataset **out, const char *images_path, const char *labels_path);

/* The standard Fashion-MNIST split, 60,000 training and 10,000 test images (28x28,
 * 10 classes, scaled as gf_data_idx), read from dir, which holds
 * train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz]
 * and t10k-labels-idx1-ubyte[.gz]. dir NULL: the environment variable
 * GRADFLOW_FASHION_MNIST, else /usr/share/datasets/fashion-mnist (Debian's
 * dataset-fashion-mnist package). Both sets get the same n_classes. On failure both
 * outputs are NULL. */
#define GF_FASHION_MNIST_ENV "GRADFLOW_FASHION_MNIST"
#define GF_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"
gf_status gf_data_fashion_mnist(gf_dataset **train, gf_dataset **test, const char *dir);

/* The directory gf_data_fashion_mnist(.., NULL) reads: the environment variable or the
 * default. Borrowed (static or the environment's storage). */
const char *gf_data_fashion_mnist_dir(void);

/* CSV options; NULL options mean all defaults (every field 0 except label_column -1,
 * header -1). */
typedef struct gf_csv_options {
    long label_column; /* 0-based column holding the label/target; -1 (or any negative):
                          the last column */
    int header;        /* -1: auto (the first line is a header when any field in it is
                          not a number), 0: no header, 1: the first line is a header */
    char delimiter;    /* field separator; 0 means ',' */
    int regression;    /* 0: the label is a class index, a non-negative integer, and
                          n_classes = largest + 1; 1: a real target, n_classes = 0 */
} gf_csv_options;

/* The defaults: label_column -1, header -1, delimiter ',', regression 0. */
gf_csv_options gf_csv_options_default(void);

/* The class count of a CSV file (its largest label + 1) is at most its number of data
 * rows, or this many when that is larger: a label far beyond the rows is refused. */
#define GF_CSV_MIN_CLASSES 1000

/* A CSV table of numbers (gzip-compressed or not): every other column is an input,
 * taken as is (no scaling). A UTF-8 byte-order mark at the start is skipped. Only a
 * regular file of at most gf_memory_limit() bytes (inflated too: refused as soon as its
 * output passes the limit, not when it ends) is read: anything else is GF_EIO (not a
 * regular file) or GF_ENOMEM (too large), before it is read. Fields may be surrounded by
 * blanks or double quotes (no delimiter inside quotes); blank lines are skipped; "\r\n"
 * line ends are accepted. Every row must have as many fields as the first; every field
 * must be a finite number. The first bad field is named as "path:line:column: ..." (both
 * 1-based), e.g. "csv: data.csv:12:3: 'abc' is not a number". Empty file or no data
 * rows: GF_EFORMAT. Fewer than 2 columns or label_column out of range: GF_EFORMAT naming
 * the count. Cancelled (gf_set_cancel_callback): GF_ECANCELED. */
gf_status gf_data_csv(gf_dataset **out, const char *path, const gf_csv_options *opt);

/* A synthetic data set of n rows, drawn from rng:
 *   "gauss":   x (n, in) and y (n, out_dim), all i.i.d. N(0, 1); regression. in, out_dim
 *              >= 1.
 *   "xor":     x uniform on [-1, 1]^2, class = (x0 > 0) xor (x1 > 0).
 *   "spirals": two interleaved spirals (1.5 turns, radius <= 1, noise sd 0.02).
 *   "moons":   sklearn's two moons (noise sd 0.1), centred.
 * The last three have 2 inputs and 2 classes, y (n, 1), classes alternating by row;
 * pass in and out_dim as 0 (or 2). Unknown kind: GF_ENOTFOUND. */
gf_status gf_data_synthetic(gf_dataset **out, const char *kind, size_t n, size_t in,
                            size_t out_dim, gf_rng *rng);

/* The adding problem (Hochreiter and Schmidhuber 1997), fresh rows drawn from rng into
 * x (n, 2 steps) and t (n, 1): each row of x is `steps` pairs (value ~ U(0, 1), marker),
 * step s in columns 2s and 2s+1 (the layout gf_layer_rnn reads with 2 inputs per step);
 * exactly two markers are 1, one in each half of the sequence, and t is the sum of the
 * two marked values (mean 1, variance 1/6: always answering 1 scores MSE 1/6). steps < 2:
 * GF_EINVAL; other shapes: GF_ESHAPE, nothing written. */
gf_status gf_data_adding(gf_tensor *x, gf_tensor *t, size_t steps, gf_rng *rng);

/* ---- Handling --------------------------------------------------------------------- */

/* Rows [start, start + count) of d as a new data set (same n_classes, name). */
gf_status gf_data_slice(gf_dataset **out, const gf_dataset *d, size_t start, size_t count);

/* A seeded random split of all into two new sets: test gets round(n * test_fraction)
 * rows, train the rest, both non-empty; test_fraction in (0, 1). No stratification.
 * Names get "-train" / "-test" appended. On failure both outputs are NULL. */
gf_status gf_data_split(gf_dataset **train, gf_dataset **test, const gf_dataset *all,
                        double test_fraction, gf_rng *rng);

/* Optional standardisation: x_j = (x_j - mean_j) / std_j with per-feature mean and
 * (population) standard deviation computed on train only, applied to train and to test
 * (test may be NULL). A constant feature (std < 1e-12) is only centred. The examples do
 * not use it (Fashion-MNIST is scaled to [0, 1] only). */
gf_status gf_data_standardize(gf_dataset *train, gf_dataset *test);

/* ---- Mini-batches ----------------------------------------------------------------- */

/* Walks a data set in mini-batches: at the start of every epoch the row order is
 * reshuffled from rng, then rows are copied batch by batch into the caller's tensors.
 * The batcher borrows d and rng: both must outlive it. */
typedef struct gf_batcher gf_batcher;

/* batch >= 1 (a batch larger than the set is clipped to it). */
gf_status gf_batcher_new(gf_batcher **out, const gf_dataset *d, size_t batch, gf_rng *rng);
void gf_batcher_free(gf_batcher *b);

/* The next mini-batch: x and y (owning tensors with d's column counts) are resized
 * with gf_tensor_resize_rows to the batch and filled with copies of its rows. The last
 * batch of an epoch holds the remaining rows and may be smaller. *new_epoch (may be
 * NULL) is 1 when this batch is the first of an epoch (the first call included, after
 * a reshuffle), else 0. Every row appears exactly once per epoch. */
gf_status gf_batcher_next(gf_batcher *b, gf_tensor *x, gf_tensor *y, int *new_epoch);

/* Batches per epoch, ceil(n / batch); 0 for NULL. */
size_t gf_batcher_batches_per_epoch(const gf_batcher *b);

/* The 0-based epoch of the last batch returned (0 before the first call). */
size_t gf_batcher_epoch(const gf_batcher *b);

/* ---- Evaluation ------------------------------------------------------------------- */

/* Mean loss (over rows) and accuracy of net on d, in evaluation mode (gf_net_predict),
 * batch rows at a time; no telemetry is recorded and no gradient kept. *accuracy is NaN
 * for a regression set (n_classes == 0). Either output may be NULL. */
gf_status gf_evaluate(gf_net *net, double *mean_loss, double *accuracy, const gf_dataset *d,
                      gf_loss_kind loss, size_t batch);

#ifdef __cplusplus
}
#endif
#endif
