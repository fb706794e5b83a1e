/* src/tool/run.h: the pieces of one training run that train.c shares with record.c (the
 * loss and evaluation series, the configuration for summary.json) and trace.c (the
 * gradient through time of a recurrent net). Private to the program. */
#ifndef GRADFLOW_TOOL_RUN_H
#define GRADFLOW_TOOL_RUN_H

#include "tool.h"

/* ---- record.c ------------------------------------------------------------------------- */

/* A growing array of (step, value) pairs: the loss per step, the evaluations. */
typedef struct gft_series {
    uint64_t *steps;
    double *a, *b;  /* b may stay NULL */
    size_t n, cap;
} gft_series;

/* Append (step, a, b); returns 0, or -1 when out of memory (s unchanged). */
int gft_series_push(gft_series *s, uint64_t step, double a, double b);
void gft_series_free(gft_series *s);

/* The configuration as key/value pairs for summary.json. */
#define GFT_MAX_KV 24
typedef struct gft_config_text {
    char buf[GFT_MAX_KV][128];
    gf_run_kv kv[GFT_MAX_KV];
    size_t n;
} gft_config_text;

/* Fill t from the configuration, the loss and optimiser actually used, the total steps
 * and seq_len, the steps the recurrent layer reads (0: no recurrent layer). */
void gft_config_kv(gft_config_text *t, const gft_config *c, gf_loss_kind loss,
                   const gf_optim_config *oc, uint64_t total, size_t seq_len);

/* A copy of every record of t (NULL when out of memory); the caller frees it. */
gf_telemetry *gft_copy_telemetry(const gf_telemetry *t);

/* ---- trace.c -------------------------------------------------------------------------- */

/* ||dL/dh_t|| of a recurrent layer, t = 1..T, on every recorded step: streamed to a
 * temporary file renamed to time.csv when the run ends (gradflow/atomic.h; rnn.h's
 * "step,t,grad_h_norm", T lines per step), and kept for the first and the last recorded
 * step for time.png. */
typedef struct gft_trace {
    gf_layer *layer;        /* the network's first recurrent layer; NULL: none */
    gf_rnn_cell cell;
    size_t T;
    gf_atomic_file csv;     /* time.csv's temporary file, begun at the first record */
    char path[1300];
    double *first, *last;   /* (T) norms at the first and at the last recorded step */
    uint64_t first_step, last_step;
    size_t recorded;        /* steps recorded */
    int failed;             /* a write failed (said once) */
} gft_trace;

/* Find the network's recurrent layer (none: nothing to trace) and remove a previous
 * run's DIR/time.csv. Returns 0, or -1 (said). */
int gft_trace_begin(gft_trace *tt, gf_net *net, const char *dir);
/* After a training step: record it when the telemetry did. */
void gft_trace_record(gft_trace *tt, gf_net *net, uint64_t step);
/* Rename the temporary file to time.csv; returns -1 when it could not be written whole
 * (said; the temporary file is then removed). */
int gft_trace_end(gft_trace *tt);
void gft_trace_release(gft_trace *tt);
/* DIR/time.gp of a run: the first and the last recorded step (gft_time_figure's
 * returns). */
int gft_trace_figure(const gft_trace *tt, const char *dir, const char *label,
                     gf_plot_format format);

#endif
