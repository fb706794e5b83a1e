/* src/tool/tool.h: declarations shared by the files of the `gradflow` program: options and
 * their parsing, one file per command (cmd_*.c), the training loop and what it uses (data,
 * network, figures, the table of results), the progress bar. The program is not part of the
 * library: it prints, exits and handles signals, which the library never does. */
#ifndef GRADFLOW_TOOL_H
#define GRADFLOW_TOOL_H

#include <signal.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

#include <gradflow.h>

#include "../analysis/run_dir.h" /* gf_mkdir_p: the library's own, not installed */

/* ---- Exit statuses (docs/cli.md lists them) ------------------------------------------ */
enum {
    GFT_EXIT_OK = 0,            /* done (whatever the verdict) */
    GFT_EXIT_FAIL = 1,          /* a run failed: unreadable data, a write error, gradcheck
                                   above tolerance, a sweep with a failed configuration */
    GFT_EXIT_USAGE = 2,         /* unknown option or command, bad value */
    GFT_EXIT_NONFINITE = 3,     /* a value turned NaN or infinite; the run stopped there */
    GFT_EXIT_INTERRUPTED = 130  /* SIGINT (Ctrl-C): stopped after the current step */
};

typedef enum gft_command {
    GFT_CMD_SHOWCASE,
    GFT_CMD_RUN,
    GFT_CMD_COMPARE,
    GFT_CMD_SWEEP,
    GFT_CMD_MERGE,
    GFT_CMD_LIST,
    GFT_CMD_GRADCHECK,
    GFT_CMD_PAPER,
    GFT_CMD_COUNT
} gft_command;

typedef enum gft_plot { GFT_PLOT_PNG, GFT_PLOT_SVG, GFT_PLOT_NONE } gft_plot;

/* --norm: what follows each hidden linear layer, before its activation. */
typedef enum gft_norm { GFT_NORM_NONE, GFT_NORM_BATCH, GFT_NORM_LAYER } gft_norm;

/* --data adding: steps per sequence when --seq-len is not given. */
#define GFT_ADDING_STEPS 20
/* --cell: hidden units when --hidden is not given. */
#define GFT_HIDDEN 32

/* Everything one run needs, filled from the defaults and then the options in order. */
typedef struct gft_renders gft_renders; /* renders.c */

typedef struct gft_config {
    /* data */
    char data[1024];          /* "digits", "gauss", "xor", "spirals", "moons",
                                 "fashion-mnist", or a CSV path */
    long label_column;        /* CSV: 1-based column of the label; 0 = the last one */
    int header;               /* CSV: 1 the first line is a header, 0 not, -1 detect */
    size_t samples;           /* synthetic sets: number of examples (train + test) */
    double test_fraction;     /* held-out fraction for sets with no test set of their own */
    /* network */
    size_t depth;             /* number of linear layers */
    size_t width;             /* hidden width */
    char act[64];             /* activation name */
    double act_param;         /* its parameter; NaN: the table's default */
    int init_given;           /* 0: the activation's suited init (gf_net_new_mlp's NULL) */
    gf_init init;             /* the scheme when init_given */
    char init_text[64];       /* as the user typed it, for labels ("suited" when not given) */
    int loss_given;           /* 0: cross-entropy for classes, MSE for regression */
    gf_loss_kind loss;
    gft_norm norm;            /* after each hidden linear layer (batch: eps 1e-5, momentum
                                 0.1; layer: eps 1e-5) */
    size_t residual;          /* K > 0: the hidden layers as residual blocks of K linear
                                 layers between an input and an output layer; 0: plain */
    int cell;                 /* -1: no recurrent layer; else the gf_rnn_cell of a net made
                                 of a recurrent layer and a linear output layer */
    size_t seq_len;           /* steps T per sequence; 0: GFT_ADDING_STEPS for adding, else
                                 one input column per step */
    size_t hidden;            /* hidden units of the recurrent layer */
    /* training */
    gf_optim_kind optim;
    double lr;                /* NaN: the optimiser's default */
    double momentum;          /* NaN: the optimiser's default */
    double weight_decay;      /* L2 penalty added to the gradient (gf_optim_config) */
    gf_lr_schedule lr_schedule; /* the rate over the steps (its cosine total: the run's
                                 length, filled when training) */
    size_t batch;
    uint64_t steps;           /* 0 when epochs decides */
    uint64_t epochs;          /* 0 when steps decides */
    uint64_t seed;
    gf_clip clip;
    uint64_t every;           /* record every K-th step */
    int skip_nonfinite;       /* 1: skip the update after NaN/inf instead of stopping */
    /* output */
    char name[256];           /* the run's label; "" = the activation's name */
    char out[1024];           /* output directory; "" = the command's default */
    gft_plot plot;
    int align_output;         /* --align output: per-layer figures counted from the output */
    int quiet;
    char save[1024];          /* --save FILE ("" none) */
    char resume[1024];        /* --resume FILE ("" none) */
    /* resources */
    uint64_t max_memory;      /* --max-memory in bytes; 0: the library's default limit */
    size_t threads;           /* --threads; 0: GRADFLOW_THREADS, else every core */
    /* sweep */
    size_t jobs;              /* parallel processes */
    int emit_commands;
    /* gradcheck */
    double tol;               /* NaN: the build's default */
    size_t entries;           /* entries checked per tensor (0: all) */
    /* paper */
    int full;                 /* 1: the full variant of the reproduction */
    /* seeds */
    size_t seeds;             /* --seeds N: N runs, seeds seed .. seed + N - 1 (run, compare) */
    /* not an option: where a comparison starts its runs' renders, to wait for them after
     * its last run (renders.c); NULL: each render is waited for at once */
    gft_renders *renders;
} gft_config;

/* One row of the option table (options.c). parse stores a value into a config; it
 * returns 0, or writes a one-line reason ("is not a number") into why and returns -1. */
typedef struct gft_option {
    const char *name;         /* "lr", spelled --lr */
    const char *metavar;      /* "X"; NULL for flags, which take no value */
    unsigned commands;        /* bit (1u << cmd) for each command accepting it */
    int listable;             /* compare/sweep accept a comma list of values */
    int (*parse)(gft_config *c, const struct gft_option *o, const char *value, char *why,
                 size_t why_len);
    size_t offset;            /* field of gft_config the generic parsers write */
    double lo, hi;            /* accepted range for numbers (inclusive unless noted) */
    const char *help;         /* one line */
} gft_option;

/* An option as given on the command line; for a list, the raw comma list. */
typedef struct gft_setting {
    const gft_option *opt;
    const char *value;        /* NULL for flags; borrowed from argv */
} gft_setting;

#define GFT_MAX_SETTINGS 64
#define GFT_MAX_OPERANDS 256

typedef struct gft_args {
    gft_command cmd;
    gft_config cfg;           /* defaults + every option (for lists: the first value) */
    gft_setting set[GFT_MAX_SETTINGS];
    size_t n_set;
    const char *operands[GFT_MAX_OPERANDS]; /* merge: the directories */
    size_t n_operands;
} gft_args;

/* ---- help.c --------------------------------------------------------------------------- */

/* "run", "compare", ...; the showcase is "showcase". */
const char *gft_command_name(gft_command cmd);

/* The command spelled name, or -1. */
int gft_command_find(const char *name);

/* Print the help of a command (GFT_CMD_COUNT: the overview). */
void gft_help(FILE *f, gft_command cmd);

/* Print "gradflow: <message>" as one line on stderr. */
void gft_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* ---- options.c ------------------------------------------------------------------------ */

/* The option table and its size. */
const gft_option *gft_options(size_t *count);

/* 1 when name (as stored in gft_config.data) is a built-in set, 0 for a CSV file. */
int gft_data_is_builtin(const char *name);

/* The defaults of a command's configuration. */
void gft_config_default(gft_config *c, gft_command cmd);

/* ---- parse.c -------------------------------------------------------------------------- */

/* Parse argv (argv[0] is the program) into a. Returns -1 when the command should run;
 * otherwise the exit status to end with (0 after --help or --version, 2 after a usage
 * error, whose one-line message has been printed). */
int gft_parse(gft_args *a, int argc, char **argv);

/* 1 when the command takes comma lists (compare, sweep). */
int gft_takes_lists(gft_command cmd);

/* Comma lists: the number of items of value, and item i copied into buf (cut to len - 1
 * characters); returns the item's whole length, so that a caller can tell it was cut. */
size_t gft_list_count(const char *value);
size_t gft_list_item(const char *value, size_t i, char *buf, size_t len);

/* The longest value (or comma-list item) + 1: longer ones are refused when parsed, so
 * that no buffer a value is copied into cuts it short. */
#define GFT_MAX_VALUE 1024

/* The configuration of one grid point: defaults, then every setting, taking item
 * choice[k] of setting k (choice NULL: the whole value). Returns 0, or prints the
 * one-line error and returns GFT_EXIT_USAGE. */
int gft_config_build(gft_config *c, gft_command cmd, const gft_setting *set, size_t n,
                     const size_t *choice);

/* The steps per sequence of the adding problem: --seq-len, else GFT_ADDING_STEPS. */
size_t gft_adding_steps(const gft_config *c);

/* A short label of a grid point naming the varied settings: "act=relu,depth=10". */
void gft_point_label(char *buf, size_t len, const gft_setting *set, size_t n,
                     const size_t *choice, int only_lists);

/* ---- progress.c ----------------------------------------------------------------------- */

/* A one-line progress bar on stderr, drawn only when stderr is a terminal, the user did
 * not ask for quiet, and the run has lasted long enough to deserve one (0.5 s). */
typedef struct gft_progress {
    int enabled;
    int drawn;                /* something is on the line, to be cleared */
    const char *label;
    uint64_t total;
    double start;             /* monotonic seconds */
    double last_draw;
} gft_progress;

void gft_progress_begin(gft_progress *p, const char *label, uint64_t total, int quiet);
void gft_progress_update(gft_progress *p, uint64_t done, double loss);
void gft_progress_end(gft_progress *p);
double gft_now(void);

/* ---- data.c --------------------------------------------------------------------------- */

/* The training and test sets of a configuration, with the loss that goes with them
 * (the given one, else cross-entropy for classes and MSE for regression). Targets are
 * one-hot when a class set is trained with MSE or BCE. Returns 0, or prints the error
 * and returns the exit status (2 for a bad combination of options, 1 for a file). */
int gft_load_data(const gft_config *c, gf_dataset **train, gf_dataset **test,
                  gf_loss_kind *loss);

/* The shape of a configuration's data known without loading it (every set but CSV
 * files): inputs, outputs of the network (classes, or target columns) and rows in all.
 * Returns 0, or -1 for a CSV file (known once it is read). */
int gft_data_shape(const gft_config *c, size_t *in, size_t *out, size_t *rows);

/* ---- build.c -------------------------------------------------------------------------- */

/* --act prelu: PReLU layers (gf_net_add_prelu), their slope learned from GFT_PRELU_SLOPE
 * (or --act-param), PyTorch's default. */
#define GFT_PRELU "prelu"
#define GFT_PRELU_SLOPE 0.25
/* The names --act accepts, one list for the option, its message and `gradflow list`:
 * every row of the activation table (act.h), then the activation layers of a kind of
 * their own that build.c makes (prelu). gft_act_name(i) for i < gft_act_count(), else
 * NULL. gft_act_own_kind: for such a kind, its formula, and the row and parameter it is
 * at init; NULL for a row of the table. */
size_t gft_act_count(void);
const char *gft_act_name(size_t i);
const char *gft_act_own_kind(size_t i, const gf_activation **like, double *param);
/* The activation row of a configuration and its parameter: for prelu, leaky_relu with
 * the initial slope (what PReLU is at init). Returns 0, or -1 when unknown. */
int gft_find_act(const gft_config *c, const gf_activation **act, double *param);

/* The network of a configuration for in inputs and out outputs (LSUV uses batch): a
 * plain MLP, one with normalisation layers, a residual net or a recurrent net (docs/cli.md
 * says which layers each has). Returns 0, or prints the error and returns the exit status
 * (2 when --seq-len does not divide the input width, 1 for a library failure). */
int gft_build_net(const gft_config *c, size_t in, size_t out, const gf_tensor *batch,
                  gf_net **net);

/* The memory budget of a run: the network of the configuration for in inputs and out
 * outputs (gradflow/budget.h) plus data_bytes of data, against gf_memory_limit()
 * (--max-memory). Returns 0, or prints the bytes needed and the limit and returns 2. */
int gft_check_budget(const gft_config *c, size_t in, size_t out, size_t data_bytes);

/* The mean-field prediction of the signal's factor per layer at initialisation, layer
 * by layer from the input's mean square input_ms (theory.h, gf_theory_layer_factors),
 * for the dashed line of the signal figure: *factor (gf_alloc'd, the caller gf_frees) gets
 * ||dL/dh|| into linear layer k over that into layer k + 1, k = 1 .. depth - 1, for a
 * network of in inputs and out outputs. Returns the count; 0 and NULL when there is
 * none (LSUV, whose scale depends on the data; a resumed, trained network; not a plain
 * net). */
size_t gft_predicted_factors(const gft_config *c, size_t in, size_t out, double input_ms,
                             double **factor);

/* ---- train.c, record.c ---------------------------------------------------------------- */

/* What one run leaves for the tables and overlaid figures of compare and showcase. */
typedef struct gft_result {
    char label[256];
    char dir[1200];
    char init[64];            /* the init scheme for the table ("" when unknown) */
    int status;               /* the run's exit status */
    int judged;               /* 1 when verdict holds a verdict */
    gf_verdict verdict;
    double final_loss;        /* last training loss */
    double accuracy;          /* test accuracy at the end (NaN: regression or none) */
    double seconds;
    uint64_t steps;           /* steps taken in this run */
    double predicted_factor;  /* mean-field signal factor per layer at init, the
                                 geometric mean of predicted[]; 0: none */
    double *predicted;        /* per-layer prediction (gft_predicted_factors); NULL: none */
    size_t n_predicted;
    double time_first;        /* recurrent nets: ||dL/dh_1||, ||dL/dh_T|| and their ratio */
    double time_last;         /* at the first recorded step (NaN: not a recurrent net) */
    double time_ratio;
    double *time_init;        /* ||dL/dh_t|| at the first recorded step (time_T values;
                                 NULL: none) */
    double *time_end;         /* the same at the last recorded step (NULL: none) */
    size_t time_T;
    gf_telemetry *tel;        /* a copy of the records when asked for (else NULL) */
    double *loss;             /* training loss per step (n_loss values) */
    uint64_t *loss_steps;
    size_t n_loss;
    uint64_t *eval_steps;     /* evaluations on the test set (n_eval; kept with the */
    double *test_loss;        /* telemetry copy) */
    double *test_accuracy;
    size_t n_eval;
} gft_result;

/* The histograms over the steps (hist_steps.csv): at most this many snapshots, and the
 * last step. */
#define GFT_HIST_SNAPSHOTS 24

/* Train one configuration into run directory dir: stream telemetry.csv while training,
 * then write loss.csv, summary.json, the figures, and the model (--save). label names
 * the run in figures and messages. keep: also keep a copy of the telemetry in r->tel.
 * Returns the exit status (0, 1, 3 non-finite, 130 interrupted). */
int gft_train(const gft_config *c, const char *dir, const char *label, int keep,
              gft_result *r);
void gft_result_release(gft_result *r);

/* ---- figures_training.c --------------------------------------------------------------- */

/* The figures over training: "update_ratio", "clip", "eval", "hist_steps". */
#define GFT_N_TRAINING_FIGS 4
extern const char *const gft_training_figs[GFT_N_TRAINING_FIGS];

/* Draw those of them that apply to the runs into dir (hist_csv: one run's
 * hist_steps.csv, or NULL). Returns 1 when one failed (said). */
int gft_training_figures(const char *dir, const gf_plot_run *runs, const gf_plot_evals *ev,
                         size_t n, const char *hist_csv, const gf_plot_options *po,
                         const gft_config *c, int soft);

/* ---- html.c --------------------------------------------------------------------------- */

/* DIR/index.html of a run: its verdict, summary.json as a table, every figure with an
 * SVG inlined, the configuration. Returns 1 when it could not be written (said). */
int gft_html_run(const char *dir, const char *label);
/* DIR/index.html of a comparison of n runs (first: the column naming them). */
int gft_html_compare(const char *dir, const gft_result *res, size_t n, const char *first);
/* The same with seeds runs per configuration (res: n / seeds groups): a table of mean
 * +- spread over the seeds comes first. */
int gft_html_compare_seeds(const char *dir, const gft_result *res, size_t n, size_t seeds,
                           const char *first);
/* SVG copies of the PNG figures names[0..n) of dir (those with a script), drawn by the
 * same scripts through DIR/figures_svg.gp, rendered by gft_render. Returns 1 when that
 * failed (said). */
int gft_svg_copies(const gft_config *c, const char *dir, const char *const *names, size_t n,
                   const char *script);

/* ---- seeds.c, figures_seeds.c: --seeds N ---------------------------------------------- */

#define GFT_MAX_SEEDS 100
/* Train c with the seeds c->seed .. c->seed + c->seeds - 1 into DIR/seed-<s>, labelled
 * "LABEL seed=<s>", keeping each run's records in res[0..c->seeds). Returns the worst
 * exit status. */
int gft_train_seeds(const gft_config *c, const char *dir, const char *label, gft_result *res);
/* The table over the seeds of n_items configurations (res: n_seeds results each, in
 * order): mean +- spread, and the verdicts with their disagreements. */
void gft_print_seeds(const gft_result *res, size_t n_items, size_t n_seeds, const char *first);
/* One cell of that table into cell: "1.78 +- 0.05" (mean +- sample standard deviation
 * of the finite v[0..n)), or with geometric "0.89 x/ 1.1" (the geometric mean x/ the
 * geometric standard deviation); "-" when none. Returns cell. */
const char *gft_seed_stat(char *cell, size_t len, const double *v, size_t n, int geometric);
/* The verdicts of n seeds at init (at_init) or at the end: "healthy (3 of 3)" or "seeds
 * disagree: healthy 2, vanishing 1". Returns out. */
const char *gft_seed_verdicts(char *out, size_t len, const gft_result *r, size_t n,
                              int at_init);
/* The ratio at init, final loss and accuracy of n seeds' results into v[0..2][0..n). */
void gft_seed_values(double v[3][GFT_MAX_SEEDS], const gft_result *r, size_t n);
/* DIR/seeds.{dat,gp,png}: means and bands over the seeds. Returns 1 on failure (said). */
int gft_seeds_figure(const char *dir, const gft_result *res, size_t n_items, size_t n_seeds,
                     const gft_config *c);

/* ---- figures.c ------------------------------------------------------------------------ */

/* A curve of the gradient through time: norms[t-1] = ||dL/dh_t||, t = 1..T; and, for a
 * comparison, end[t-1] the same at the run's last recorded step (NULL: none). */
typedef struct gft_curve {
    const char *label;
    const double *norms;
    size_t T;
    const double *end;
} gft_curve;

/* The figure of the gradient through time, written as report.h writes its figures:
 * DIR/NAME.dat (one block per curve) and DIR/NAME.gp, which reads it by its relative name
 * and writes NAME.png (or .svg) beside it; ||dL/dh_t|| against t, log y, one line per
 * curve, each in its own colour, dash and point type (gft_line_style). When some curve has
 * an end, two panels on one y range: the first steps (blocks 0..n-1 of NAME.dat) and the
 * last (blocks n..2n-1). Not rendered here. Returns 0, 1 when no curve has a positive finite value (no
 * script written), -1 on a write error (said). */
int gft_time_figure(const char *dir, const char *name, const char *title,
                    const gft_curve *curves, size_t n, gf_plot_format format);

/* " lc rgb '#...' dt D pt P" of line i of a figure: a colour, a dash pattern and a point
 * type, as the library's figures over training draw them (no colour twice in twelve). */
void gft_line_style(FILE *f, size_t i);
/* The colour alone of line i ("#rrggbb"), for what goes with it (a band). */
const char *gft_line_colour(size_t i);

/* The plot format of a configuration. */
gf_plot_format gft_plot_format(const gft_config *c);

/* What the figures are: 1 rendered images, 0 only scripts (--plot none, no gnuplot); and
 * the extension of what a figure's name ends with: "png", "svg" or "gp". */
int gft_figures_rendered(const gft_config *c);
const char *gft_figure_ext(const gft_config *c);

/* PNG figures are rendered in one gnuplot process per directory: gnuplot's start-up is
 * most of the cost of a figure, and the PNGs are byte for byte those of separate runs.
 * gft_clear_figures removes DIR/NAME.gp, .png and .svg of a previous run (so that a page
 * never shows an earlier run's image as this one's); gft_render_batch writes
 * DIR/figures.gp loading every DIR/NAME.gp that exists ("reset" between them) and, for
 * --plot png, renders it through gft_render. Returns 1 when that failed (said). */
void gft_clear_figures(const char *dir, const char *const *names, size_t n);
int gft_render_batch(const gft_config *c, const char *dir, const char *const *names, size_t n,
                     int soft);
/* The end of a run's or a comparison's figures: with batch, gft_render_batch; for --plot
 * png, the SVG copies index.html inlines (figures_svg.gp). Returns 1 when one failed. */
int gft_render_figures(const gft_config *c, const char *dir, const char *const *names,
                       size_t n, int batch, int soft);

/* ---- renders.c: figures rendered while the next run trains ---------------------------- */

/* A comparison's renders: gft_renders_new (NULL when out of memory: render at once);
 * gft_renders_finish waits for every gnuplot started, reports each failure, writes the
 * run pages held back, frees q, and returns 1 when any of that failed (said). */
gft_renders *gft_renders_new(void);
int gft_renders_finish(gft_renders *q);
/* Render DIR's SCRIPT: at once, or queued in c->renders (started when a core is free;
 * reported when it ends). Returns 1 when it failed (said). */
int gft_render(const gft_config *c, const char *script, const char *dir, int soft);
/* Between training steps: note the gnuplots that ended, start queued ones in their
 * place (every core but the trainer's). Cheap when nothing is queued or running. */
void gft_renders_pump(gft_renders *q);
/* DIR/index.html of a run (gft_html_run): at once, or after c->renders' gnuplots, since
 * the page inlines the SVGs they draw. Returns 1 when it failed (said). */
int gft_run_page(const gft_config *c, const char *dir, const char *label);

/* Report a plotting status: GF_EUNSUPPORTED (no gnuplot) is said once, as a note;
 * returns 0 for it and GF_OK, 1 for other failures (printed). soft: every failure is
 * only a note (the figures of a run stopped by NaN may have nothing to draw). */
int gft_plot_status(gf_status st, const char *what, int quiet, int soft);

/* ---- text.c --------------------------------------------------------------------------- */

/* A directory name from a label: letters, digits and . _ = - kept, ',' to '_', the rest
 * '-'. */
void gft_dir_name(char *buf, size_t len, const char *label);
/* --out, else the command's default directory. */
const char *gft_out_dir(const gft_config *c, const char *fallback);
/* The init a configuration uses, for tables: the given scheme or the suited one. */
const char *gft_init_label(const gft_config *c);
/* A number for people into buf ("%.4g", NaN and infinities as words); returns buf. */
const char *gft_num(char *buf, size_t len, double v);

/* strcmp, but a number in both strings (20, 0.01, 1e-3) compares by value: "depth=5"
 * before "depth=20", "lr=0.01" before "lr=0.1". For sorting run directories. */
int gft_natural_cmp(const char *a, const char *b);
/* The network of a configuration in words: "relu, init he, 12 linear layers of width 64
 * (an input layer, 5 residual blocks of 2, an output layer), batch norm". */
void gft_describe_net(char *buf, size_t len, const gft_config *c);
/* 1 when DIR/FILE is a regular file. */
int gft_is_file(const char *dir, const char *file);
/* DIR/FILE into buf; returns 0, or -1 when it does not fit (said). */
int gft_path_in(char *buf, size_t len, const char *dir, const char *file);
/* Make dir when needed and lock it for this process (gf_run_lock_acquire: released by
 * gf_run_lock_release or the process's end), so that two processes never write into one
 * directory; returns 0, or -1 when another process holds it or it cannot be made (said). */
int gft_lock_dir(gf_run_lock **lock, const char *dir);

/* ---- results.c ------------------------------------------------------------------------ */

/* The table of several runs' results (first: the heading of the label column), its notes
 * and, for recurrent runs, the table of their gradients through time. */
void gft_print_results(const gft_result *res, size_t n, const char *first);
/* Overlaid figures of several runs into dir. Returns 1 when one failed (said). */
int gft_overlay(const char *dir, const gft_result *res, size_t n, const gft_config *c);
/* The same for n configurations of `seeds` runs each (res: n * seeds, a configuration's
 * seeds together): of each configuration's first seed (the spread is seeds.png's). */
int gft_overlay_seeds(const char *dir, const gft_result *res, size_t n, size_t seeds,
                      const gft_config *c);
/* The overlaid figures written into dir, comma-separated, without a newline. */
void gft_print_figures(const char *dir, const gft_config *c);
/* Combine run statuses: interrupted, then failure, then non-finite, then success. */
int gft_worse(int a, int b);

/* ---- cmd_*.c: the commands ------------------------------------------------------------ */

/* Each returns the program's exit status. */
int gft_cmd_showcase(gft_args *a);
int gft_cmd_run(gft_args *a);
int gft_cmd_compare(gft_args *a);
int gft_cmd_sweep(gft_args *a);
int gft_cmd_merge(gft_args *a);
int gft_cmd_list(gft_args *a);
int gft_cmd_gradcheck(gft_args *a);
int gft_cmd_paper(gft_args *a);
/* cmd_paper.c: the section `gradflow list papers`. */
void gft_list_papers(void);

/* cmd_compare.c: one in-process run per item of setting k (a comma list) into DIR/<item>,
 * then the table and the overlaid figures; title opens the first line. */
int gft_compare_runs(gft_args *a, size_t k, const char *dir, const char *title);

/* cmd_merge.c: the run directories in (or at) each of dirs, into one table and one set
 * of overlaid figures in out. */
int gft_merge_dirs(const char *const *dirs, size_t n_dirs, const char *out,
                   const gft_config *c);

/* ---- main.c ----------------------------------------------------------------------------- */

/* Set by the SIGINT handler; the training loop stops after the current step. */
extern volatile sig_atomic_t gft_interrupted;

/* argv[0], for a sweep's child processes where /proc/self/exe is unavailable. */
extern const char *gft_argv0;

#endif
