/* tests/test_data.h: what the four sources of the data test program share (test_data.c:
 * file helpers, digits, IDX, Fashion-MNIST, CSV; test_data_bounds.c: bounded reading;
 * test_data_sets.c: synthetic sets, split,
 * slice, standardisation, the batcher; test_data_eval.c: evaluation, allocation
 * failures). */
#ifndef GRADFLOW_TEST_DATA_H
#define GRADFLOW_TEST_DATA_H

#include "testutil.h"

#include <stdio.h>
#include <sys/stat.h>

#include "gradflow/data.h"
#include "gradflow/net.h"

#if GF_TEST_HAVE_ZLIB
#include <zlib.h>
#endif

static const unsigned char LABELS5[5] = {3, 0, 9, 1, 3};

/* ---- test_data.c ---- */
/* DIR/name in one of 8 rotating buffers: valid for the next 7 calls only. */
const char *path_of(const char *name);

void write_bytes(const char *path, const void *data, size_t n);

void write_text(const char *path, const char *text);

void write_gz(const char *path, const void *data, size_t n);

/* An IDX image file of n images rows x cols with pixel (i, j) = (7 i + 3 j) % 256, and
 * its label file with label i = labels[i]; returns the byte counts. */
size_t idx_images(unsigned char *buf, uint32_t n, uint32_t rows, uint32_t cols);

size_t idx_labels(unsigned char *buf, uint32_t n, const unsigned char *labels);

size_t read_bytes(const char *path, unsigned char *buf, size_t cap);

/* Write text to DIR/name and load it as CSV with opt (NULL: defaults). */
gf_status csv_load(gf_dataset **d, const char *name, const char *text,
                   const gf_csv_options *opt);

/* Row r of d has inputs x (d->x->cols of them) and label y. */
void assert_row(const gf_dataset *d, size_t r, const double *x, double y);

/* ---- test_data_bounds.c ---- */
void csv_reading_is_bounded(void **state);

void csv_bom_is_skipped(void **state);

void csv_class_count_is_bounded(void **state);

void data_load_can_be_cancelled(void **state);

#if GF_TEST_HAVE_ZLIB
void csv_gzip_bomb_is_refused(void **state);

/* Runs after csv_gzip_bomb_is_refused, whose bomb it reads again. */
void gzip_is_streamed(void **state);
#endif

/* ---- test_data_sets.c ---- */
void synthetic_sets(void **state);
void adding_problem_rows(void **state);

void synthetic_gauss_moments(void **state);

void synthetic_bad(void **state);

/* n rows with x = (i, -i), y = i % 3: every row identifies itself. */
gf_dataset *numbered(size_t n, const char *name);

void split_sizes_disjoint(void **state);

void slice_rows(void **state);

void standardize_from_train(void **state);

void dataset_new_checks(void **state);

void batcher_epochs(void **state);

void batcher_bad(void **state);

/* ---- test_data_eval.c ---- */
void evaluate_known_values(void **state);

/* A short training run through the batcher lifts digits' accuracy far above chance, and
 * gf_evaluate agrees with the accuracy of one full forward pass. */
void evaluate_after_training_digits(void **state);

void allocation_failures(void **state);

#endif
