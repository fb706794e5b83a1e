/* gradflow/report.h: what a run leaves behind. A verdict on the telemetry (vanishing,
 * exploding, dead units, non-finite, healthy) from documented thresholds; a run
 * directory (telemetry.csv, loss.csv, summary.json); figures as gnuplot scripts, always
 * written, rendered to PNG or SVG when gnuplot is installed. Every file is written
 * whole or not at all, under a temporary name renamed over it (gradflow/atomic.h), so a
 * link planted at its name is replaced, never written through. Thresholds and the
 * figure behind each verdict: docs/verdicts.md. The figures: docs/figures.md. */
#ifndef GRADFLOW_REPORT_H
#define GRADFLOW_REPORT_H

#include "gradflow/net.h"
#include "gradflow/telemetry.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Verdicts ------------------------------------------------------------------------
 * The backward signal of a linear layer is grad_out_norm, ||dL/dh|| at its output. The
 * signal ratio of a step is  r = signal(first linear layer) / signal(last linear layer)
 * (1 when the network has one linear layer); the per-layer factor is r^(1/(L-1)) for L
 * linear layers: the factor by which the signal grows (> 1) or shrinks (< 1) per layer on
 * its way from the output down to the input.
 *
 * Two more ratios take r's place or join it, with the same thresholds:
 *   clipped runs (records carrying clip norms): the ratio after clipping,
 *     r_clip = r * (post/pre of the first linear layer) / (post/pre of the last), the
 *     signal the first layer actually learns from; it replaces r;
 *   recurrent nets (gf_verdict_add_time): the ratio through time
 *     ||dL/dh_1|| / ||dL/dh_T||, judged beside r.
 *
 * Each of the first recorded step (initialisation) and the last recorded step is judged
 * on its own, first match wins:
 *   NONFINITE  a NaN/inf in a record up to that step (outputs, gradients, loss, norms);
 *   EXPLODING  a ratio > GF_VERDICT_EXPLODE_RATIO;
 *   DEAD_UNITS some activation layer has dead_frac >= GF_VERDICT_DEAD_FRAC (units whose
 *              f' is 0 on every example);
 *   VANISHING  a ratio < GF_VERDICT_VANISH_RATIO;
 *   HEALTHY    otherwise.
 * kind_init is the first step's verdict, kind_final the last step's; kind, the run's
 * verdict, is kind_final: the network as trained (init is kept beside it). */

/* Vanishing: the first layer receives less than 1/100 of the signal at the output. */
#define GF_VERDICT_VANISH_RATIO 1e-2
/* Exploding: the first layer receives more than 100 times the signal at the output. */
#define GF_VERDICT_EXPLODE_RATIO 1e2
/* Dead units: at least 60% of some activation layer's units are dead. He-initialised
 * ReLU nets reach 0.25 at depth 10 and 0.5 at depth 50 on i.i.d. inputs (deep ReLU layers
 * make the examples alike, so some units are off for all of a batch): not yet a verdict. */
#define GF_VERDICT_DEAD_FRAC 0.6

typedef enum gf_verdict_kind {
    GF_VERDICT_HEALTHY,
    GF_VERDICT_VANISHING,
    GF_VERDICT_EXPLODING,
    GF_VERDICT_DEAD_UNITS,
    GF_VERDICT_NONFINITE,
    GF_VERDICT_COUNT
} gf_verdict_kind;

typedef struct gf_verdict {
    gf_verdict_kind kind;       /* the run's verdict: kind_final */
    gf_verdict_kind kind_init;  /* the first recorded step's verdict */
    gf_verdict_kind kind_final; /* the last recorded step's verdict */
    uint64_t first_step;       /* the first recorded step (the init step) */
    uint64_t last_step;        /* the last recorded step */
    size_t n_linear;           /* linear layers per step, L */
    size_t first_linear;       /* index of the first linear layer in the network */
    size_t last_linear;        /* index of the last linear layer */
    double signal_first_init;  /* grad_out_norm of the first linear layer, first step */
    double signal_last_init;   /* ... of the last linear layer, first step */
    double ratio_init;         /* signal_first_init / signal_last_init */
    double factor_init;        /* ratio_init^(1/(L-1)); NaN when L < 2 */
    double signal_first_final; /* the same at the last recorded step */
    double signal_last_final;
    double ratio_final;
    double factor_final;
    double wgrad_ratio_init;   /* weight_grad_norm first / last linear layer, first step:
                                  near 1 for ReLU and linear nets even when the signal
                                  vanishes (forward and backward shrinkage cancel) */
    double max_dead_frac;      /* max over activation layers of dead_frac, last step */
    size_t dead_layer;         /* the layer where it is reached (0 when none) */
    double max_dead_frac_init; /* the same at the first step */
    size_t dead_layer_init;
    int dead_seen;             /* 1 when some recorded step had a dead layer (>= threshold) */
    uint64_t dead_step;        /* the first such step */
    size_t dead_step_layer;    /* its first layer that was dead, and the fraction there */
    double dead_step_frac;
    double max_sat_frac;       /* max over layers of sat_frac, last step */
    size_t sat_layer;
    double final_loss;         /* loss of the last recorded step (NaN when none) */
    int nonfinite;             /* 1 when a NaN/inf was found */
    uint64_t nonfinite_step;   /* the step where it first appeared */
    size_t nonfinite_layer;    /* the layer: the earliest in the forward pass, else the
                                  first reached by the backward pass (as gf_net_backward) */
    int nonfinite_backward;    /* 1 when it first appeared in the backward pass (or the
                                  loss: then nonfinite_layer is the last layer) */
    /* Clipping (records with clip_pre_norm): judged on the clipped gradients. */
    int clipped;               /* 1 when the records carry clip norms */
    uint64_t clip_steps;       /* recorded steps that were clipped ... */
    uint64_t clip_engaged;     /* ... and those where clipping changed a gradient */
    double clip_ratio_init;    /* r_clip at the first and the last step (NaN: none) */
    double clip_ratio_final;
    /* Recurrent nets (gf_verdict_add_time): the gradient through time. */
    size_t time_steps;         /* T; 0: not judged through time */
    double time_ratio_init;    /* ||dL/dh_1|| / ||dL/dh_T|| at the first recorded step */
    double time_ratio_final;   /* ... at the last recorded step */
    double time_factor_init;   /* time_ratio^(1/(T-1)): the factor per time step */
    double time_factor_final;
    /* The layers above as people read them (docs/concepts.md, "Layer numbers"): the count
     * of linear layers up to and including it, so the activation after the third linear
     * layer is layer 3. The texts, tables and figures use these. */
    size_t dead_depth, dead_depth_init, dead_step_depth, nonfinite_depth;
    char text[384];            /* one line for humans, the last step and init: "healthy at
                                  step 299: ...; at init (step 0): vanishing, ..." */
} gf_verdict;

/* Judge the telemetry. t must hold at least one complete step (else GF_EINVAL); a
 * network without a linear layer judges by the first and last layer instead. */
gf_status gf_verdict_judge(gf_verdict *out, const gf_telemetry *t);

/* Judge a recurrent net through time as well: norms_init[t-1] = ||dL/dh_t|| (t = 1..T)
 * at the first recorded step, norms_final at the last (gf_rnn_time_grad_norms); sets
 * the time_* fields and judges again (kinds and text). norms_final NULL: norms_init.
 * T < 2 or NULL norms: GF_EINVAL. */
gf_status gf_verdict_add_time(gf_verdict *v, const double *norms_init,
                              const double *norms_final, size_t T);

/* "healthy", "vanishing", "exploding", "dead_units", "nonfinite"; "unknown" when out of
 * range. Static storage. */
const char *gf_verdict_name(gf_verdict_kind kind);

/* ---- Run directories -----------------------------------------------------------------
 * A run directory holds:
 *   telemetry.csv  every record (gf_telemetry_save_csv; docs/file-formats.md);
 *   loss.csv       step,loss,test_loss,test_accuracy: one row per training-loss value,
 *                  test columns filled on the steps where an evaluation was made (rows of
 *                  their own when no training loss shares the step), empty otherwise;
 *   summary.json   one flat JSON object: "name", "config" {key: "value"}, "verdict" and
 *                  its figures (NaN written null), final loss/accuracy, steps, seconds. */

typedef struct gf_run_kv {
    const char *key;   /* "act", "depth", ... */
    const char *value; /* as the user typed it: "relu", "20" */
} gf_run_kv;

typedef struct gf_run_summary {
    const char *name;            /* the run's label ("relu he"); NULL: "run" */
    const gf_run_kv *config;     /* n_config key/value pairs, may be NULL when 0 */
    size_t n_config;
    /* Training loss per step; NULL: one value per recorded step from the telemetry. */
    const double *loss;          /* n_loss values */
    const uint64_t *loss_steps;  /* their steps, increasing; NULL: 0, 1, ..., n_loss-1 */
    size_t n_loss;
    /* Evaluations (per epoch): NULL arrays when none; NaN entries are left empty. */
    const uint64_t *eval_steps;  /* n_eval increasing steps */
    const double *test_loss;     /* may be NULL */
    const double *test_accuracy; /* may be NULL */
    size_t n_eval;
    double final_loss;           /* NaN: the last training loss */
    double final_accuracy;       /* NaN: none */
    uint64_t steps;              /* steps taken */
    double seconds;              /* wall time; NaN: unknown */
    const gf_verdict *verdict;   /* NULL: judged from the telemetry */
    double predicted_factor;     /* mean-field prediction of the signal's factor per layer
                                    at init (sqrt(chi), theory.h), written beside the
                                    measured factor_init; NaN: none */
} gf_run_summary;

/* A summary with every field empty: no config, no losses, NaN finals, 0 steps. */
gf_run_summary gf_run_summary_default(void);

/* Write telemetry.csv, loss.csv and summary.json into dir (created when needed). t may
 * hold no record (then the verdict fields are null). summary NULL: defaults. Each file is
 * written whole or not at all (temporary file, then rename). */
gf_status gf_run_write(const char *dir, const gf_telemetry *t, const gf_run_summary *summary);

/* Read a telemetry CSV written by gf_telemetry_save_csv back into t (appended), so runs
 * made by separate processes can be judged and plotted together. Every kind reads back
 * as written (rnn, batchnorm, a layer of your own's), as gf_record_set_kind copies it.
 * A last line without its newline (a run killed mid-write, a full disk) is dropped with
 * a GF_LOG_WARN message to the log callback; the lines before it are read. A last step
 * cut short (the file shows a cut: that line, or a size that is a multiple of 4096, where
 * Linux stops the write of a killed process; and the step is short: the cut line names
 * it, or it has fewer records than the step before) is dropped whole, with a warning. */
gf_status gf_run_read_telemetry(gf_telemetry *t, const char *path);

/* ---- Figures -------------------------------------------------------------------------
 * Each gf_plot_* function writes <dir>/<name>.dat (the data, whitespace-separated, with
 * a commented header) and <dir>/<name>.gp (a gnuplot script that reads the .dat by its
 * file name, relative to the script's directory, and writes <name>.png or <name>.svg
 * there), then renders it unless the format is GF_PLOT_NONE. When gnuplot is not
 * installed the script and data are kept and the result is GF_EUNSUPPORTED (the detail
 * message says so): callers that only want the files may accept it. */

typedef enum gf_plot_format {
    GF_PLOT_PNG,  /* pngcairo when gnuplot has it, else png */
    GF_PLOT_SVG,
    GF_PLOT_NONE  /* write the script (for PNG) and the data, do not render */
} gf_plot_format;

/* "png", "svg", "none"; GF_ENOTFOUND otherwise. */
gf_status gf_plot_format_from_name(gf_plot_format *out, const char *name);
const char *gf_plot_format_name(gf_plot_format format);

/* One run on a figure. */
typedef struct gf_plot_run {
    const char *label;             /* legend text; NULL: "run <i>" */
    const gf_telemetry *telemetry; /* the run's records */
    double predicted_factor;       /* predicted per-layer signal factor (mean-field
                                      theory), drawn as a dashed line anchored at the
                                      last layer; 0 or NaN: none */
    const double *loss;            /* loss curve: NULL: the telemetry's per-step loss */
    const uint64_t *loss_steps;    /* NULL: 0, 1, ... */
    size_t n_loss;
    const double *predicted;       /* or one factor per pair of linear layers:
                                      predicted[k] = ||dL/dh|| into linear layer k+1 over
                                      that into k+2 (gf_theory_layer_factors); the dashed
                                      line then follows it. NULL: the constant factor */
    size_t n_predicted;            /* values in predicted */
} gf_plot_run;

/* Which recorded step a per-layer figure shows. */
#define GF_PLOT_STEP_FIRST UINT64_MAX       /* the first recorded step (init) */
#define GF_PLOT_STEP_LAST (UINT64_MAX - 1)  /* the last recorded step */

typedef struct gf_plot_options {
    gf_plot_format format;
    const char *title;   /* NULL: the figure's default title */
    uint64_t step;       /* a step number or GF_PLOT_STEP_FIRST/LAST (default FIRST) */
    int width, height;   /* pixels; 0: the figure's default */
    int align_output;    /* per-layer figures (signal, units): 0, x = layer k counted from
                            the input (1, 2, ...); 1, x = k - L counted from the output
                            layer L (0, -1, -2, ...), so nets of different depth line up
                            at their output */
} gf_plot_options;

/* PNG, default title, first step, default size, layers counted from the input. */
gf_plot_options gf_plot_options_default(void);

/* (1) The classic picture: left panel, the backward signal ||dL/dh|| of each linear
 * layer against its depth (log y), one line per run, predicted factor lines dashed;
 * right panel, the weight-gradient norms ||dL/dW||. */
gf_status gf_plot_signal(const char *dir, const char *name, const gf_plot_run *runs,
                         size_t n_runs, const gf_plot_options *opt);

/* (2) Heat map of log10 ||dL/dh|| of each linear layer over the steps (x step, y layer). */
gf_status gf_plot_heatmap(const char *dir, const char *name, const gf_telemetry *t,
                          const gf_plot_options *opt);

/* (3) Loss curves of several runs (log y when the losses are positive). */
gf_status gf_plot_loss(const char *dir, const char *name, const gf_plot_run *runs,
                       size_t n_runs, const gf_plot_options *opt);

/* (4) Dead and saturated fractions of each activation layer (two panels), one line per
 * run, at opt->step. */
gf_status gf_plot_units(const char *dir, const char *name, const gf_plot_run *runs,
                        size_t n_runs, const gf_plot_options *opt);

/* (5) Glorot and Bengio's figure. gf_hist_write writes, from the network's buffers of the
 * last forward and backward pass, histograms to path as CSV:
 *   which,unit,layer,kind,lo,hi,count
 * For each activation layer ("unit" k = 1, 2, ... from the input side; "layer" its index
 * in the network): which = "act", the values of its output, binned on one range shared
 * by all layers; which = "log10_grad", log10 |dL/dh| of the gradient at its input (the
 * pre-activation h: the backward signal of the signal figure), binned on a shared log
 * range (at most 16 decades; exact zeros are not counted). A network without activation
 * layers uses its linear layers' outputs. bins per histogram (0: 50). The buffers are
 * those of gf_net_backward, before gf_net_step (a step invalidates them; so does
 * gf_net_train_step): else GF_ESTATE. */
gf_status gf_hist_write(const char *path, const gf_net *net, size_t bins);

/* Plot that CSV: two panels, activation values and log10 |dL/dh|, one curve per layer
 * (at most six, evenly spaced from the first to the last), as the fraction of the
 * layer's counted values per bin. */
gf_status gf_plot_hist(const char *dir, const char *name, const char *hist_csv,
                       const gf_plot_options *opt);

/* ---- Figures over training (analysis/plot_training.c, docs/figures.md 6-9) ---- */

/* (6) Histograms over the steps. gf_hist_append appends, to the CSV at path (its header
 * written when the file is new or empty), the histograms of net's last forward and
 * backward pass at step: gf_hist_write's lines with the step in front,
 *   step,which,unit,layer,kind,lo,hi,count
 * plus one line per unit with which = "grad_zero", lo = hi = 0 and count = the number
 * of exact zeros of dL/dh (left out of the log10 bins). Each snapshot has its own ranges.
 * bins per histogram (0: 30). The same buffers as gf_hist_write (else GF_ESTATE). */
gf_status gf_hist_append(const char *path, const gf_net *net, uint64_t step, size_t bins);

/* Plot that CSV as heat maps (the "colourful dimension" view): one row of panels per
 * layer (at most six, evenly spaced from the first to the last), activations on the
 * left and log10 |dL/dh| on the right; x = step, y = the bin, colour = the fraction of
 * the layer's values in the bin. A snapshot whose dL/dh are all exactly 0 is drawn as a
 * grey hatched column and named in the key. */
gf_status gf_plot_hist_steps(const char *dir, const char *name, const char *hist_csv,
                             const gf_plot_options *opt);

/* (7) The update ratio ||delta W|| / ||W|| of each linear layer over the steps (log y),
 * with the 1e-3 rule of thumb as a reference line in a band from 10^-3.5 to 10^-2.5: one
 * panel per run (the first six), one line per layer (at most six, evenly spaced). */
gf_status gf_plot_update_ratio(const char *dir, const char *name, const gf_plot_run *runs,
                               size_t n_runs, const gf_plot_options *opt);

/* (8) Gradient norms before and after clipping over the steps: top panel the global
 * norm of the parameter gradient before clipping, with the steps where clipping changed
 * it marked; bottom panel after clipping (what the update used). A run without
 * clipping shows its unclipped norm in both. GF_EINVAL when no run clipped. */
gf_status gf_plot_clip(const char *dir, const char *name, const gf_plot_run *runs,
                       size_t n_runs, const gf_plot_options *opt);

/* A run's evaluations on the test set, for gf_plot_eval. */
typedef struct gf_plot_evals {
    const uint64_t *steps;       /* n increasing steps */
    const double *test_loss;     /* may be NULL; NaN entries are missing points */
    const double *test_accuracy; /* may be NULL (a regression) */
    size_t n;
} gf_plot_evals;

/* (9) The training loss (runs[i]'s loss arrays) with the test loss (evals[i]) beside
 * it, left, and the test accuracy, right (when some run has one), over the steps.
 * GF_EINVAL when no run has a finite test loss. */
gf_status gf_plot_eval(const char *dir, const char *name, const gf_plot_run *runs,
                       const gf_plot_evals *evals, size_t n_runs,
                       const gf_plot_options *opt);

/* Every single-run figure of a run directory: signal, heatmap, loss, units (the names
 * "signal", "heatmap", "loss", "units"). Stops at the first error other than
 * GF_EUNSUPPORTED, which is returned once everything else was written. */
gf_status gf_plot_run_all(const char *dir, const gf_plot_run *run, const gf_plot_options *opt);

/* Run gnuplot on a script, in the script's directory (so its relative file names work).
 * gnuplot is found on PATH (or in $GNUPLOT when set). Not installed: GF_EUNSUPPORTED;
 * gnuplot failed: GF_EIO with its exit status in the message. */
gf_status gf_plot_render(const char *script);

/* A gnuplot started by gf_plot_render_start and not yet waited for (the paths are kept
 * for the messages of the wait). */
typedef struct gf_plot_job {
    long pid;           /* the gnuplot process; 0 when none is running */
    char script[4096];  /* the script, as given */
    char log[4104];     /* <script>.log, gnuplot's messages */
    char dir[4096];     /* where it runs: the script's directory */
    char exe[4096];     /* the gnuplot program run */
} gf_plot_job;

/* gf_plot_render in two halves, so that figures render while the caller goes on (the
 * next run trains, other scripts render): _start checks the script and starts gnuplot
 * without waiting (job->pid set; on failure job->pid is 0 and nothing is running);
 * _wait waits for that process and returns what gf_plot_render would have. Every
 * started job must be waited for; waiting on a job with pid 0 returns GF_OK. */
gf_status gf_plot_render_start(gf_plot_job *job, const char *script);
gf_status gf_plot_render_wait(gf_plot_job *job);
/* _wait without waiting: *done is 0 while gnuplot still runs (GF_OK returned, the job
 * still to be waited for or polled again); else 1, with what _wait would have returned. */
gf_status gf_plot_render_poll(gf_plot_job *job, int *done);

/* 1 when gnuplot can be run (looked up on PATH / $GNUPLOT now, not cached). */
int gf_plot_available(void);

#ifdef __cplusplus
}
#endif
#endif
