/* src/tool/trace.c: the gradient through time of a recurrent net during a run: ||dL/dh_t||
 * for t = 1..T on every recorded step, streamed to a temporary file that becomes
 * time.csv when the run ends (never a half-written time.csv, never one written through
 * a planted link), and kept for the first and the last recorded step, which time.png
 * shows. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "run.h"

/* 1 when the backward pass of `step` was recorded in the telemetry (every --every-th
 * step, and any step that saw NaN/inf): the extra files follow the same steps. */
static int step_recorded(gf_net *net, uint64_t step)
{
    const gf_record *rec;
    size_t n;
    return gf_net_last_records(net, &rec, &n) == GF_OK && n > 0 && rec[0].step == step;
}

int gft_trace_begin(gft_trace *tt, gf_net *net, const char *dir)
{
    memset(tt, 0, sizeof *tt);
    for (size_t i = 0; i < gf_net_layer_count(net); i++) {
        gf_layer *l = gf_net_layer_mut(net, i);
        if (strcmp(gf_net_layer_kind(net, i), "rnn") == 0 &&
            gf_rnn_shape(l, &tt->cell, NULL, NULL, &tt->T) == GF_OK) {
            tt->layer = l;
            break;
        }
    }
    if (tt->layer == NULL)
        return 0;
    if (gft_path_in(tt->path, sizeof tt->path, dir, "time.csv") != 0)
        return -1;
    remove(tt->path); /* a previous run's */
    tt->first = gf_calloc(tt->T, sizeof *tt->first);
    tt->last = gf_calloc(tt->T, sizeof *tt->last);
    if (tt->first == NULL || tt->last == NULL) {
        gft_error("out of memory");
        return -1;
    }
    return 0;
}

/* After a training step: record it when the telemetry did. */
void gft_trace_record(gft_trace *tt, gf_net *net, uint64_t step)
{
    const double *norms;
    size_t T;
    if (tt->layer == NULL || tt->failed || !step_recorded(net, step) ||
        gf_rnn_time_grad_norms(tt->layer, &norms, &T) != GF_OK || T != tt->T)
        return;
    if (tt->csv.f == NULL && gf_atomic_begin(&tt->csv, tt->path, "time.csv") != GF_OK) {
        gft_error("%s", gf_last_error());
        tt->failed = 1;
        return;
    }
    /* Flushed step by step: a write error (a full disk) shows at the step it happens. */
    if (gf_rnn_write_time_csv(tt->layer, tt->csv.f, step, tt->recorded == 0) != GF_OK ||
        fflush(tt->csv.f) != 0) {
        gft_error("cannot write '%s': %s", tt->path, gf_last_error());
        tt->failed = 1;
        return;
    }
    if (tt->recorded++ == 0) {
        memcpy(tt->first, norms, T * sizeof *norms);
        tt->first_step = step;
    }
    memcpy(tt->last, norms, T * sizeof *norms);
    tt->last_step = step;
}

/* Close time.csv; returns -1 when it could not be written whole (said). */
int gft_trace_end(gft_trace *tt)
{
    int bad = tt->failed;
    /* A failed trace is abandoned (its temporary file removed): said already. */
    if (gf_atomic_end(&tt->csv, bad ? GF_EIO : GF_OK, "time.csv") != GF_OK && !bad) {
        gft_error("%s", gf_last_error());
        bad = 1;
    }
    memset(&tt->csv, 0, sizeof tt->csv);
    return bad ? -1 : 0;
}

void gft_trace_release(gft_trace *tt)
{
    if (tt->csv.f != NULL) /* not ended (a failed setup): nothing renamed */
        gf_atomic_end(&tt->csv, GF_EIO, "time.csv");
    gf_free(tt->first);
    gf_free(tt->last);
    memset(tt, 0, sizeof *tt);
}

/* time.png of a run: the first and the last recorded step. */
int gft_trace_figure(const gft_trace *tt, const char *dir, const char *label,
                       gf_plot_format format)
{
    char title[400], first[64], last[64];
    gft_curve curves[2];
    int two = tt->recorded > 1 && tt->last_step != tt->first_step;
    snprintf(title, sizeof title, "%s: the gradient through time (%s, T = %zu)", label,
             gf_rnn_cell_name(tt->cell), tt->T);
    snprintf(first, sizeof first, "step %llu%s", (unsigned long long)tt->first_step,
             tt->first_step == 0 ? " (initialisation)" : "");
    snprintf(last, sizeof last, "step %llu", (unsigned long long)tt->last_step);
    curves[0] = (gft_curve){first, tt->first, tt->T, NULL};
    curves[1] = (gft_curve){last, tt->last, tt->T, NULL};
    return gft_time_figure(dir, "time", title, curves, two ? 2 : 1, format);
}
