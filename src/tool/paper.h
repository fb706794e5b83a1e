/* src/tool/paper.h: the classic papers reproduced (`gradflow paper NAME`, the
 * examples/paper_*.c programs, docs/papers.md). Each paper is a function that runs a
 * reduced but faithful version of the published experiment into a directory, writes its
 * figures, and fills a report: one row per figure, the published value beside ours and
 * the tolerance we hold ours to. Uses only the public library (gradflow.h) and POSIX, so
 * that the example programs link these files without the rest of the tool. */
#ifndef GRADFLOW_PAPER_H
#define GRADFLOW_PAPER_H

#include <stddef.h>
#include <stdint.h>

#include <gradflow.h>

/* How a paper is run. */
typedef struct gfp_opts {
    int full;                 /* 1: the full variant (minutes), 0: the quick one (CTest) */
    uint64_t seed;
    char out[1024];           /* the output directory (created) */
    gf_plot_format format;    /* GF_PLOT_NONE: scripts only */
    int quiet;                /* no progress lines on stderr */
    size_t jobs;              /* worker processes for the papers that grid (>= 1) */
} gfp_opts;

/* One compared figure. checked = 0 rows are shown for information (a number the paper
 * gives on other data, a run time); checked rows decide the exit status. */
typedef struct gfp_row {
    char what[96];            /* "tanh orthogonal, L = 128: var(s^2)/m1^2" */
    char published[64];       /* the paper's figure, or its formula evaluated here */
    char measured[64];
    char tolerance[64];       /* "within 25 %", "< 0.25 x the others", "" */
    int checked;
    int holds;
} gfp_row;

#define GFP_MAX_ROWS 48
#define GFP_MAX_FIGURES 8

typedef struct gfp_report {
    const char *paper;        /* "pennington2017" */
    const char *title;        /* the paper's title and venue */
    gfp_row rows[GFP_MAX_ROWS];
    size_t n_rows;
    char figures[GFP_MAX_FIGURES][64]; /* the figures' names (no extension) */
    size_t n_figures;
    char notes[1024];         /* set-up actually used: width, depths, steps, data */
} gfp_report;

/* One paper of the list. run fills the report and returns 0, or a library status
 * (already explained in gf_last_error()) when something failed. */
typedef struct gfp_paper {
    const char *name;         /* "pennington2017" */
    const char *title;        /* "Pennington, Schoenholz, Ganguli, NIPS 2017: ..." */
    const char *claim;        /* one line */
    const char *quick_time;   /* measured run time of the quick and the full variant */
    const char *full_time;
    gf_status (*run)(const gfp_opts *o, gfp_report *r);
} gfp_paper;

/* The papers, in the order they are documented; NULL when name is unknown. */
const gfp_paper *gfp_papers(size_t *count);
const gfp_paper *gfp_paper_find(const char *name);

/* Add a row; measured is printf-formatted. Extra rows beyond GFP_MAX_ROWS are dropped. */
void gfp_row_add(gfp_report *r, int checked, int holds, const char *what,
                 const char *published, const char *tolerance, const char *measured_fmt,
                 ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 7, 8)))
#endif
    ;

/* Write DIR/NAME.gp (the given gnuplot body after a terminal and output line for the
 * format) and render it when gnuplot is there; the figure is then listed in the report.
 * The body reads its data files by names relative to DIR. Returns 0, -1 on a write
 * error (said on stderr). */
int gfp_figure(gfp_report *r, const gfp_opts *o, const char *name, const char *body);

/* Print the report (the table, the figures), write DIR/results.tsv and DIR/index.html.
 * Returns 0 when every checked row holds, 1 otherwise. */
int gfp_finish(const gfp_report *r, const gfp_opts *o, double seconds);

/* Run a paper end to end: make the directory, run, finish. Returns the exit status
 * (0 all claims hold, 1 a claim failed or a run failed). */
int gfp_run_paper(const gfp_paper *p, const gfp_opts *o);

/* The main of an example program examples/paper_NAME.c: `paper_NAME [--full] [OUTDIR]`
 * (default OUTDIR ./paper-NAME-out), PNG figures, seed 1. Returns the exit status. */
int gfp_main(const char *name, int argc, char **argv);

/* A progress line on stderr unless quiet. */
void gfp_say(const gfp_opts *o, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* OUT/name (OUT the paper's output directory) opened for writing into *f, or GF_EIO
 * naming it. gfp_close_out closes f and returns s, or GF_EIO naming OUT/name when s was
 * GF_OK and a write or the close failed. */
gf_status gfp_open_out(FILE **f, const gfp_opts *o, const char *name);
gf_status gfp_close_out(FILE *f, const gfp_opts *o, const char *name, gf_status s);

/* Say "gradflow: <message>" on stderr for a failure the library did not explain (a file
 * this code writes) and return s. */
gf_status gfp_fail(gf_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* E[g(sqrt(q) z)] for z ~ N(0, 1) by composite Simpson on [-10, 0] and [0, 10] (kinks of
 * ReLU-like functions sit at 0): for moments the theory module does not give. */
double gfp_gauss_mean(double (*g)(double x, const void *ctx), const void *ctx, double q);

/* The papers (paper_*.c). */
/* What a training loop of a paper needs: the net, its optimiser, a batcher and the batch
 * tensors; rng seeds the weights, then orders the batches (the batcher keeps &rng). */
typedef struct gfp_trainer {
    gf_net *net;
    gf_optim *opt;
    gf_batcher *batcher;
    gf_tensor *x, *y;
    gf_rng rng;
} gfp_trainer;

/* Builds every part (the net without telemetry); on failure what was built is freed. */
gf_status gfp_trainer_new(gfp_trainer *t, const gf_mlp_spec *spec, const gf_optim_config *oc,
                          const gf_dataset *train, size_t batch, uint64_t seed);
/* The same around a net the caller built (batch norm, say) with rng: the trainer owns
 * net from here, even on failure, and orders the batches from rng's state. */
gf_status gfp_trainer_adopt(gfp_trainer *t, gf_net *net, const gf_optim_config *oc,
                            const gf_dataset *train, size_t batch, const gf_rng *rng);
void gfp_trainer_free(gfp_trainer *t);

/* The images of a paper's run: Fashion-MNIST for the full variant when it is installed,
 * else the digits split 80/20 with the generator seeded by seed; name gets which. */
gf_status gfp_load_images(gf_dataset **train, gf_dataset **test, int full, uint64_t seed,
                          char *name, size_t len);

gf_status gfp_pennington2017(const gfp_opts *o, gfp_report *r);
gf_status gfp_saxe2014(const gfp_opts *o, gfp_report *r);
gf_status gfp_schoenholz2017(const gfp_opts *o, gfp_report *r);
gf_status gfp_he2015(const gfp_opts *o, gfp_report *r);
gf_status gfp_glorot2010(const gfp_opts *o, gfp_report *r);
gf_status gfp_pascanu2013(const gfp_opts *o, gfp_report *r);
gf_status gfp_ioffe2015(const gfp_opts *o, gfp_report *r);

#endif
