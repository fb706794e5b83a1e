/* src/analysis/plot.h: what the figure files share (analysis/plot.c): the records of a
 * step, the linear layers among them, the .dat and .gp files, the gnuplot script's common
 * lines. Each family of figures has its file: plot_signal.c (signal, heat map),
 * plot_curves.c (loss, units), plot_hist.c (histograms). Not installed. */
#ifndef GRADFLOW_ANALYSIS_PLOT_H
#define GRADFLOW_ANALYSIS_PLOT_H

#include <stdio.h>

#include "gradflow/atomic.h"
#include "gradflow/report.h"

enum { GF_PLOT_PATH_CAP = 4096 };

/* ---- Telemetry ---- */
/* The group of step want, or GF_PLOT_STEP_FIRST / LAST; the last one before a missing
 * step. */
void gf_plot_group_for(const gf_telemetry *t, uint64_t want, size_t *begin, size_t *end);
/* A linear layer's record (the registry's GF_KIND_LINEAR), and whether a group has one:
 * figures per layer then show only those. */
int gf_plot_is_linear(const gf_record *r);
int gf_plot_group_has_linear(const gf_telemetry *t, size_t b, size_t e);
/* Activation layers at step: those whose dead fraction applies (not NaN). */
size_t gf_plot_count_units(const gf_telemetry *t, uint64_t step);

/* ---- Files ---- */
/* Start writing <dir>/<name><ext> (its path into path, GF_PLOT_PATH_CAP, which must live
 * until the close) atomically (gradflow/atomic.h): *f = a->f is a temporary file beside
 * it; gf_plot_close_file renames it over the target when every write succeeded. */
gf_status gf_plot_open_file(gf_atomic_file *a, FILE **f, char *path, const char *dir,
                            const char *name, const char *ext, const char *who);
gf_status gf_plot_close_file(gf_atomic_file *a, const char *who);
/* " v" (NaN for a missing or, with log, non-positive value). */
void gf_plot_put(FILE *f, double v, int log);
/* A gnuplot string literal of a followed by b (b may be NULL), quotes escaped. */
void gf_plot_quote2(FILE *f, const char *a, const char *b);
void gf_plot_quote(FILE *f, const char *s);

/* ---- Scripts ---- */
void gf_plot_script_begin(FILE *f, const char *name, const gf_plot_options *o, int w, int h);
void gf_plot_title_line(FILE *f, const char *cmd, const gf_plot_options *o,
                        const char *deflt);
void gf_plot_log_axis(FILE *f, const char *axis, double lo, double hi);
/* The x axis of a per-layer figure: positions 1..n from the input, or with align_output
 * n - 1 .. 0 back from the output layer (x = k - L); label says what a position is
 * (e.g. "the k-th linear layer from the input"), aligned_label the same from the output. */
void gf_plot_layer_axis(FILE *f, size_t n, int align_output, const char *label,
                        const char *aligned_label);

/* Range of the positive finite values seen, for the log axes. */
typedef struct gf_plot_range {
    double lo, hi;
    size_t count;
} gf_plot_range;
gf_plot_range gf_plot_range_empty(void);
void gf_plot_track(gf_plot_range *r, double v);

const char *gf_plot_run_label(const gf_plot_run *r, size_t i, char *buf, size_t cap);
gf_status gf_plot_check_runs(const gf_plot_run *runs, size_t n, int need_records,
                             const char *who);
/* Check the options and create dir. */
gf_status gf_plot_prepare(const char *dir, const char *name, const gf_plot_options *o,
                          const char *who);
/* Close the script and render it unless the format is GF_PLOT_NONE. */
gf_status gf_plot_finish(gf_atomic_file *a, const char *script, const gf_plot_options *o,
                         const char *who);

/* ---- Histograms (plot_hist.c) ---- */
/* The lines of a histogram CSV of net's last passes, each opening with prefix (bins > 0);
 * with zeros, a "grad_zero" line per unit counting its exact zeros of dL/dh. */
gf_status gf_hist_emit(FILE *f, const gf_net *net, size_t bins, const char *prefix,
                       int zeros, const char *who);
/* At most `most` (>= 2) of the units 1..max_unit, evenly spaced from the first to the
 * last, into chosen; returns how many. */
size_t gf_plot_choose_units(size_t *chosen, size_t max_unit, size_t most);

/* Reads a histogram CSV (hist_init.csv, hist_steps.csv) into a growable array of rows of
 * row_size bytes: checks the header line, skips blank lines, and hands every other line to
 * parse, which fills the row (the previous row, or NULL, lets it check the order) and
 * returns NULL, or what is wrong with the line. GF_EFORMAT names the file and line; a file
 * without rows is refused too. *rows is the caller's to gf_free. */
typedef const char *(*gf_plot_row_parser)(const char *line, void *row, const void *prev);
gf_status gf_plot_read_rows(void **rows, size_t *n_rows, const char *path, const char *header,
                            const char *what, size_t row_size, gf_plot_row_parser parse,
                            const char *who);

/* ---- Line styles (plot_training.c) ---- */
/* " lc rgb '#...' dt k pt p" of line i: a colour, a dash pattern and (with_point) a
 * point type, so that lines differ by more than colour; the colours repeat only past
 * gf_plot_style_count() lines. */
void gf_plot_style(FILE *f, size_t i, int with_point);
size_t gf_plot_style_count(void);
/* The colour of line i alone ("#rrggbb"), for a line that goes with it (a prediction). */
const char *gf_plot_colour(size_t i);
/* Line i's colour and point type on a solid line: for long, noisy curves (a loss per
 * step), where a dash pattern breaks into fragments that read as gaps. */
void gf_plot_style_solid(FILE *f, size_t i);
/* The point size of run i of n: earlier runs get larger points, so that runs with equal
 * values (every run at 0 dead units) show as nested marks rather than one hiding the
 * others. */
double gf_plot_point_size(size_t i, size_t n);

#endif
