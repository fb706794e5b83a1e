/* tests/test_report.h: what the three sources of the report test program share
 * (test_report.c: helpers, verdicts; test_report_runs.c: run directories and reading
 * telemetry back; test_report_figures.c: gnuplot scripts and their rendering, gnuplot
 * missing or failing, allocation failures). */
#ifndef GRADFLOW_TEST_REPORT_H
#define GRADFLOW_TEST_REPORT_H

#include "testutil.h"

#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gradflow.h"
#include "../src/analysis/run_dir.h" /* gf_mkdir_p, private */

/* A deep MLP (32 -> 64 x depth -> 8) with one backward pass on a Gaussian batch. */
typedef struct fixture {
    gf_net *net;
    gf_tensor *x, *y;
    gf_optim *opt;
} fixture;

/* ---- test_report.c ---- */
/* rel inside the test directory. The result lives in one of 8 rotating buffers: copy
 * it when it must outlive the next calls. */
const char *tpath(const char *rel);

long file_size(const char *path);

/* The whole file as a string (caller frees). */
char *slurp(const char *path);

size_t count_lines(const char *s);

void assert_contains(const char *hay, const char *needle);

void build(fixture *fx, const char *act, const gf_init *init, size_t depth, uint64_t seed);

/* Forward, loss and backward (no step), so the buffers stay valid for histograms. */
gf_status pass(fixture *fx);

void release(fixture *fx);

/* ---- test_report_runs.c ---- */
void run_directory_holds_every_file(void **state);

void loss_values_given_by_the_caller(void **state);

void run_write_bad_input(void **state);

void telemetry_csv_reads_back(void **state);

/* A telemetry CSV cut in the middle of a line (a run killed mid-write, a full disk) reads
 * up to its last whole line; the partial line is dropped with a warning through the log
 * callback. */
void incomplete_last_line_is_dropped_with_a_warning(void **state);
void cut_last_step_is_dropped_whole(void **state);

/* Every built-in kind a network records (rnn, batchnorm, layernorm, prelu, an activation,
 * linear) reads back from the CSV under its own name; before the kinds were copies, an
 * rnn layer read back as "other". */
void every_kind_round_trips_through_the_csv(void **state);

/* ---- test_report_figures.c ---- */
void figure_scripts_are_written_and_sane(void **state);

void histograms_of_activations_and_gradients(void **state);

void plot_bad_input(void **state);

void formats_by_name(void **state);

void missing_gnuplot_keeps_the_scripts(void **state);

void failing_gnuplot_is_an_io_error(void **state);
void renders_started_together_each_report(void **state);
void renders_polled_until_done(void **state);

void allocation_failures_leak_nothing(void **state);

/* ---- test_report_training.c ---- */
void histograms_over_steps(void **state);

void update_ratio_per_layer(void **state);

void clipped_and_unclipped_norms(void **state);

void test_loss_beside_training_loss(void **state);

void heatmap_draws_an_exact_zero(void **state);

#endif
