/* src/analysis/plot_signal.c: the figures of the backward signal through the linear
 * layers: per layer at one step (1, with the mean-field prediction and the weight
 * gradients), and as a heat map layer x step (2). docs/figures.md. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gradflow/report.h"
#include "core/internal.h"
#include "analysis/plot.h"
#include "engine/telemetry_steps.h"

enum { MAX_HEAT_COLUMNS = 400 };

/* ---- (1) The backward signal per layer ----------------------------------------------- */

/* What the data pass learns for the script: the axes' ranges, the layers shown, the step. */
typedef struct signal_data {
    gf_plot_range sig, wg; /* signal and weight-gradient values, for the log axes */
    size_t *valid_w;       /* per run: finite positive weight gradients (0: no curve) */
    size_t max_layers;     /* most linear layers in a run: the x range */
    int align_output;      /* x = k - L (plotted from the data's column 6) */
    uint64_t shown;        /* the step shown (of the last run) */
    int same_step;         /* 1 when every run shows the same step */
} signal_data;

/* One block per run (gnuplot's index i): depth k, network layer, signal, weight
 * gradient, and the predicted signal s_L f^(L-k), anchored at the last layer. */
static void write_signal_run(FILE *f, const gf_plot_run *run, size_t i, uint64_t want,
                             signal_data *d)
{
    char buf[32];
    const gf_telemetry *t = run->telemetry;
    size_t b, e, L = 0, k = 0;
    gf_plot_group_for(t, want, &b, &e);
    uint64_t step = gf_telemetry_at(t, b)->step;
    if (i > 0 && step != d->shown)
        d->same_step = 0;
    d->shown = step;
    int lin = gf_plot_group_has_linear(t, b, e);
    double s_last = NAN, fac = run->predicted_factor;
    for (size_t j = b; j < e; j++)
        if (!lin || gf_plot_is_linear(gf_telemetry_at(t, j))) {
            L++;
            s_last = gf_telemetry_at(t, j)->grad_out_norm;
        }
    d->max_layers = L > d->max_layers ? L : d->max_layers;
    /* A per-layer prediction, when it matches the layers, is followed from the top:
     * pred_k = s_L * product of predicted[m-1] for m = k .. L-1, kept as a log sum. */
    const double *per = run->predicted != NULL && run->n_predicted + 1 == L ? run->predicted
                                                                            : NULL;
    double log_rest = 0;
    for (size_t m = 0; per != NULL && m < run->n_predicted; m++)
        log_rest += log(per[m]);
    fprintf(f, "%s# run %zu: %s, step %llu\n", i ? "\n\n" : "", i,
            gf_plot_run_label(run, i, buf, sizeof buf), (unsigned long long)step);
    for (size_t j = b; j < e; j++) {
        const gf_record *r = gf_telemetry_at(t, j);
        if (lin && !gf_plot_is_linear(r))
            continue;
        k++;
        double pred = per != NULL                    ? s_last * exp(log_rest)
                      : (isfinite(fac) && fac > 0) ? s_last * pow(fac, (double)(L - k))
                                                   : NAN;
        if (per != NULL && k < L)
            log_rest -= log(per[k - 1]);
        fprintf(f, "%zu %u", k, (unsigned)r->layer);
        gf_plot_put(f, r->grad_out_norm, 1);
        gf_plot_put(f, r->weight_grad_norm, 1);
        gf_plot_put(f, pred, 1);
        fprintf(f, " %ld\n", (long)k - (long)L); /* from the output: 0 is layer L */
        gf_plot_track(&d->sig, r->grad_out_norm);
        gf_plot_track(&d->sig, pred);
        size_t before = d->wg.count;
        gf_plot_track(&d->wg, r->weight_grad_norm);
        d->valid_w[i] += d->wg.count - before;
    }
}

/* Left panel: the signal of each run, its prediction dashed. */
static void plot_signal_panel(FILE *f, const char *name, const gf_plot_run *runs,
                              size_t n_runs, const signal_data *d)
{
    char buf[32];
    fputs("set key below horizontal maxcols 2 samplen 2\n", f);
    gf_plot_layer_axis(f, d->max_layers, d->align_output,
                       "layer k (the k-th linear layer from the input)",
                       "layer k - L, from the output (0: the output layer L, -1: the one below)");
    if (d->wg.count)
        fputs("set rmargin at screen 0.48\n"
              "set title 'backward signal: dL/dh flowing into each layer'\n", f);
    fputs("set ylabel '||dL/dh|| at the layer output'\n", f);
    gf_plot_log_axis(f, "y", d->sig.lo, d->sig.hi);
    fputs("plot ", f);
    for (size_t i = 0; i < n_runs; i++) {
        fputs(i ? ", \\\n     " : "", f);
        gf_plot_quote2(f, name, ".dat");
        fprintf(f, " index %zu using %d:3 with linespoints lw 2 ps %.2g", i,
                d->align_output ? 6 : 1, gf_plot_point_size(i, n_runs));
        gf_plot_style(f, i, 1); /* colour, dash and point: no run hides another */
        fputs(" title ", f);
        gf_plot_quote(f, gf_plot_run_label(&runs[i], i, buf, sizeof buf));
        double fac = runs[i].predicted_factor;
        if (isfinite(fac) && fac > 0) {
            char pred[64];
            /* Layer by layer, the factor changes with depth: the legend gives its mean. */
            if (runs[i].predicted != NULL)
                snprintf(pred, sizeof pred, "predicted (mean x%.3g)", fac);
            else
                snprintf(pred, sizeof pred, "predicted: x%.3g per layer", fac);
            fprintf(f, ", \\\n     '' index %zu using %d:5 with lines lw 1.5 dt 2 lc rgb '%s' "
                       "title ", i, d->align_output ? 6 : 1, gf_plot_colour(i));
            gf_plot_quote(f, pred);
        }
    }
    fputc('\n', f);
}

/* Right panel: the weight gradients of the runs that have them. */
static void plot_wgrad_panel(FILE *f, const char *name, const gf_plot_run *runs,
                             size_t n_runs, const signal_data *d)
{
    char buf[32];
    fputs("set lmargin at screen 0.57\nset rmargin at screen 0.98\n"
          "set title 'weight gradient of each layer'\n"
          "set ylabel '||dL/dW||'\n", f);
    gf_plot_log_axis(f, "y", d->wg.lo, d->wg.hi);
    fputs("plot ", f);
    int first = 1;
    for (size_t i = 0; i < n_runs; i++) {
        if (d->valid_w[i] == 0)
            continue;
        fputs(first ? "" : ", \\\n     ", f);
        gf_plot_quote2(f, name, ".dat");
        fprintf(f, " index %zu using %d:4 with linespoints lw 2 ps %.2g", i,
                d->align_output ? 6 : 1, gf_plot_point_size(i, n_runs));
        gf_plot_style(f, i, 1);
        fputs(" title ", f);
        gf_plot_quote(f, gf_plot_run_label(&runs[i], i, buf, sizeof buf));
        first = 0;
    }
    fputs("\nunset multiplot\n", f);
}

/* The script: canvas, title and layout, then one or two panels. */
static void write_signal_script(FILE *f, const char *name, const gf_plot_options *o,
                                const gf_plot_run *runs, size_t n_runs, const signal_data *d)
{
    char buf[32], title[128];
    /* Both panels get the same plot area, with room below for the left panel's key
     * (two entries per row when the labels are short enough): otherwise their heights
     * would differ. */
    size_t entries = n_runs, longest = 0;
    for (size_t i = 0; i < n_runs; i++) {
        size_t len = strlen(gf_plot_run_label(&runs[i], i, buf, sizeof buf));
        longest = len > longest ? len : longest;
        entries += isfinite(runs[i].predicted_factor) && runs[i].predicted_factor > 0;
    }
    size_t key_rows = longest <= 26 ? (entries + 1) / 2 : entries;
    int height = 470 + 20 * (int)key_rows;
    gf_plot_script_begin(f, name, o, d->wg.count ? 1300 : 760, height);
    if (d->same_step)
        snprintf(title, sizeof title, "Backward signal through the layers, step %llu%s",
                 (unsigned long long)d->shown, d->shown == 0 ? " (initialisation)" : "");
    else
        snprintf(title, sizeof title, "Backward signal through the layers");
    if (d->wg.count) {
        gf_plot_title_line(f, "set multiplot layout 1,2 title", o, title);
        /* Margins as fractions of the canvas (the caller may have resized it). */
        int h = o->height > 0 ? o->height : height;
        fprintf(f, "set lmargin at screen 0.07\nset tmargin at screen %.4f\n"
                   "set bmargin at screen %.4f\n",
                1 - 70.0 / h, (80.0 + 20.0 * (double)key_rows) / h);
    } else {
        gf_plot_title_line(f, "set title", o, title);
    }
    plot_signal_panel(f, name, runs, n_runs, d);
    if (d->wg.count)
        plot_wgrad_panel(f, name, runs, n_runs, d);
}

gf_status gf_plot_signal(const char *dir, const char *name, const gf_plot_run *runs,
                         size_t n_runs, const gf_plot_options *opt)
{
    static const char who[] = "gf_plot_signal";
    char path[GF_PLOT_PATH_CAP], script[GF_PLOT_PATH_CAP];
    gf_plot_options o = opt ? *opt : gf_plot_options_default();
    signal_data d = {.sig = gf_plot_range_empty(), .wg = gf_plot_range_empty(),
                     .same_step = 1, .align_output = o.align_output};
    gf_status st;
    gf_atomic_file af;
    FILE *f;

    if ((st = gf_plot_check_runs(runs, n_runs, 1, who)) != GF_OK ||
        (st = gf_plot_prepare(dir, name, &o, who)) != GF_OK)
        return st;
    d.valid_w = gf_calloc(n_runs, sizeof *d.valid_w);
    if (d.valid_w == NULL)
        return gf_fail(GF_ENOMEM, "%s: out of memory", who);
    if ((st = gf_plot_open_file(&af, &f, path, dir, name, ".dat", who)) != GF_OK)
        goto out;
    fputs("# depth layer grad_out_norm weight_grad_norm predicted from_output\n", f);
    for (size_t i = 0; i < n_runs; i++)
        write_signal_run(f, &runs[i], i, o.step, &d);
    if ((st = gf_plot_close_file(&af, who)) != GF_OK)
        goto out;
    if (d.sig.count == 0) {
        st = gf_fail(GF_EINVAL, "%s: no finite positive backward signal to plot", who);
        goto out;
    }
    if ((st = gf_plot_open_file(&af, &f, script, dir, name, ".gp", who)) != GF_OK)
        goto out;
    write_signal_script(f, name, &o, runs, n_runs, &d);
    st = gf_plot_finish(&af, script, &o, who);
out:
    gf_free(d.valid_w);
    return st;
}

/* ---- (2) Heat map: layer x step ------------------------------------------------------ */

/* What the heat map's data pass learns for its script. */
typedef struct heat_data {
    size_t cells, max_k;           /* cells with a value; most layers in a column */
    size_t zeros;                  /* cells whose signal is exactly 0 */
    uint64_t first_step, last_shown;
    double first_half, last_half;  /* half-widths of the first and last columns */
    double clo, chi;               /* colour range, log10 */
} heat_data;

/* One cell per (step, layer): x = step, y = depth k, half-width of the cell in x (half
 * the distance to the next shown step), log10 of the signal. At most MAX_HEAT_COLUMNS
 * columns: every stride-th recorded step. */
static void write_heat_dat(FILE *f, const gf_telemetry *t, heat_data *d)
{
    size_t n = gf_telemetry_count(t), n_steps = 0;
    for (size_t i = 0; i < n; n_steps++) {
        size_t b, e;
        gf_telemetry_step_group(t, i, &b, &e);
        i = e;
    }
    size_t stride = (n_steps + MAX_HEAT_COLUMNS - 1) / MAX_HEAT_COLUMNS, col = 0;
    double prev_half = 0.5;
    fputs("# step depth half_width log10_grad_out_norm zero (1: the signal is exactly 0)\n", f);
    d->first_step = d->last_shown = gf_telemetry_at(t, 0)->step;
    for (size_t i = 0; i < n; col++) {
        size_t b, e;
        gf_telemetry_step_group(t, i, &b, &e);
        i = e;
        if (col % stride != 0)
            continue;
        uint64_t step = gf_telemetry_at(t, b)->step;
        /* The next shown step, for the cell's width. */
        size_t nb = e, skip = stride - 1;
        while (skip > 0 && nb < n) {
            size_t b2, e2;
            gf_telemetry_step_group(t, nb, &b2, &e2);
            nb = e2;
            skip--;
        }
        double half = nb < n ? 0.5 * (double)(gf_telemetry_at(t, nb)->step - step) : prev_half;
        prev_half = half;
        if (d->first_half < 0)
            d->first_half = half;
        d->last_half = half;
        d->last_shown = step;
        int lin = gf_plot_group_has_linear(t, b, e);
        size_t k = 0;
        for (size_t j = b; j < e; j++) {
            const gf_record *r = gf_telemetry_at(t, j);
            if (lin && !gf_plot_is_linear(r))
                continue;
            k++;
            double v = r->grad_out_norm;
            fprintf(f, "%llu %zu %.6g", (unsigned long long)step, k, half);
            gf_plot_put(f, (isfinite(v) && v > 0) ? log10(v) : NAN, 0);
            /* log10 0 has no colour: such cells are drawn apart, hatched and named. */
            fprintf(f, " %d\n", v == 0);
            d->zeros += v == 0;
            if (isfinite(v) && v > 0) {
                d->cells++;
                d->clo = fmin(d->clo, log10(v));
                d->chi = fmax(d->chi, log10(v));
            }
        }
        d->max_k = k > d->max_k ? k : d->max_k;
    }
}

static void write_heat_script(FILE *f, const char *name, const gf_plot_options *o,
                              heat_data *d)
{
    gf_plot_script_begin(f, name, o, 900, 520);
    gf_plot_title_line(f, "set title", o, "log10 of the backward signal ||dL/dh||, layer by step");
    fputs("set xlabel 'step'\n"
          "set ylabel 'layer k (the k-th linear layer from the input)'\n"
          "set cblabel 'log_{10} ||dL/dh||' offset 1.5,0\n"
          "set grid noxtics noytics\n"
          "set tics out\n"
          "set palette defined (0 '#440154', 1 '#3b528b', 2 '#21908d', 3 '#5dc963', "
          "4 '#fde725')\n", f);
    fprintf(f, "set xrange [%.6g:%.6g]\n", (double)d->first_step - d->first_half,
            (double)d->last_shown + d->last_half);
    fprintf(f, "set yrange [0.5:%zu.5]\n", d->max_k);
    if (d->max_k <= 25)
        fputs("set ytics 1\n", f);
    /* gnuplot leaves cells that reach past the axis ranges (the edge ones) out of its
     * colour autoscale: the range is set here, from every cell. */
    if (d->chi - d->clo < 0.1) {
        double mid = 0.5 * (d->clo + d->chi);
        d->clo = mid - 0.5;
        d->chi = mid + 0.5;
    }
    fprintf(f, "set cbrange [%.6g:%.6g]\n", d->clo, d->chi);
    if (d->zeros > 0)
        fputs("set key below\n", f);
    fputs("plot ", f);
    gf_plot_quote2(f, name, ".dat");
    /* Cells overlap slightly, so anti-aliasing leaves no seams between them. */
    fputs(" using 1:2:($3*1.05):(0.52):4 with boxxyerror fs solid 1.0 noborder lc palette "
          "notitle", f);
    if (d->zeros > 0) {
        fputs(", \\\n     ", f);
        gf_plot_quote2(f, name, ".dat");
        fputs(" using 1:($5 > 0 ? $2 : NaN):3:(0.5) with boxxyerror lc rgb '#404040' "
              "fs pattern 4 border lc rgb '#404040' title '||dL/dh|| exactly 0'", f);
    }
    fputc('\n', f);
}

gf_status gf_plot_heatmap(const char *dir, const char *name, const gf_telemetry *t,
                          const gf_plot_options *opt)
{
    static const char who[] = "gf_plot_heatmap";
    char path[GF_PLOT_PATH_CAP], script[GF_PLOT_PATH_CAP];
    gf_plot_options o = opt ? *opt : gf_plot_options_default();
    heat_data d = {0, 0, 0, 0, 0, -1, 0.5, INFINITY, -INFINITY};
    gf_status st;
    gf_atomic_file af;
    FILE *f;

    GF_CHECK_NOT_NULL(t, who);
    if (gf_telemetry_count(t) == 0)
        return gf_fail(GF_EINVAL, "%s: the telemetry holds no record", who);
    if ((st = gf_plot_prepare(dir, name, &o, who)) != GF_OK)
        return st;
    if ((st = gf_plot_open_file(&af, &f, path, dir, name, ".dat", who)) != GF_OK)
        return st;
    write_heat_dat(f, t, &d);
    if ((st = gf_plot_close_file(&af, who)) != GF_OK)
        return st;
    if (d.cells == 0 && d.zeros == 0)
        return gf_fail(GF_EINVAL, "%s: no finite positive backward signal to plot", who);
    if (d.cells == 0)
        d.clo = -1, d.chi = 0; /* every signal exactly 0: a colour range all the same */
    if ((st = gf_plot_open_file(&af, &f, script, dir, name, ".gp", who)) != GF_OK)
        return st;
    write_heat_script(f, name, &o, &d);
    return gf_plot_finish(&af, script, &o, who);
}
