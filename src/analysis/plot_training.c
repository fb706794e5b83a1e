/* src/analysis/plot_training.c: figures over the steps of training, drawn from the
 * telemetry and the evaluations: the update ratio per layer (7), the gradient norm
 * before and after clipping (8), the test loss and accuracy beside the training loss
 * (9). The histograms over the steps (6) are in plot_hist_steps.c. docs/figures.md. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gradflow/report.h"
#include "core/internal.h"
#include "analysis/plot.h"
#include "engine/telemetry_steps.h"

enum { MAX_PANELS = 6, MAX_LAYER_LINES = 6 };

/* ---- Styles -------------------------------------------------------------------------- */

/* Twelve colours told apart also in grey and by most colour-blind readers (Okabe-Ito
 * first, then darker tones), with a dash pattern and a point type per line, so that no
 * line is told from another by its colour alone and none hides another. */
static const char *const colours[] = {"#0072b2", "#d55e00", "#009e73", "#cc79a7",
                                      "#e69f00", "#56b4e9", "#000000", "#8c564b",
                                      "#7f7f7f", "#bcbd22", "#17becf", "#9467bd"};
enum { N_COLOURS = sizeof colours / sizeof colours[0] };

size_t gf_plot_style_count(void)
{
    return N_COLOURS;
}

const char *gf_plot_colour(size_t i)
{
    return colours[i % N_COLOURS];
}

static const int point_types[] = {7, 5, 9, 11, 13, 2, 1, 3, 4, 6, 8, 10};
enum { N_POINT_TYPES = sizeof point_types / sizeof point_types[0] };

void gf_plot_style_solid(FILE *f, size_t i)
{
    fprintf(f, " lc rgb '%s' dt 1 pt %d", colours[i % N_COLOURS], point_types[i % N_POINT_TYPES]);
}

double gf_plot_point_size(size_t i, size_t n)
{
    double extra = 0.3 * (double)(n - 1 - i);
    return 0.6 + (extra < 1.2 ? extra : 1.2);
}

/* " lc rgb '...' dt k [pt p]" of line i (colours repeat only past twelve lines). */
void gf_plot_style(FILE *f, size_t i, int with_point)
{
    fprintf(f, " lc rgb '%s' dt %zu", colours[i % N_COLOURS], i % 5 + 1);
    if (with_point)
        fprintf(f, " pt %d", point_types[i % N_POINT_TYPES]);
}

/* Every k-th point marked, so that a line of hundreds of steps keeps its point type
 * visible without turning into a thick smear. */
static size_t point_interval(size_t n_points)
{
    return n_points > 12 ? n_points / 12 : 1;
}

/* The steps recorded by t (one per group). */
static size_t count_steps(const gf_telemetry *t)
{
    size_t n = 0;
    for (size_t j = 0; j < gf_telemetry_count(t);) {
        size_t b, e;
        gf_telemetry_step_group(t, j, &b, &e);
        n++;
        j = e;
    }
    return n;
}

/* ---- (7) The update ratio ------------------------------------------------------------ */

/* The linear layers of a run, numbered 1.. from the input side at its first step. */
static size_t count_linear(const gf_telemetry *t)
{
    size_t b, e, k = 0;
    if (gf_telemetry_count(t) == 0)
        return 0;
    gf_telemetry_step_group(t, 0, &b, &e);
    for (size_t j = b; j < e; j++)
        k += gf_plot_is_linear(gf_telemetry_at(t, j));
    return k;
}

/* Blocks: run i, layer chosen[j]: step and update ratio. Returns the points written. */
static size_t write_ratio_block(FILE *f, const gf_telemetry *t, size_t unit,
                                gf_plot_range *range)
{
    size_t points = 0;
    for (size_t j = 0; j < gf_telemetry_count(t);) {
        size_t b, e, k = 0;
        gf_telemetry_step_group(t, j, &b, &e);
        for (size_t r = b; r < e; r++) {
            const gf_record *rec = gf_telemetry_at(t, r);
            if (!gf_plot_is_linear(rec) || ++k != unit)
                continue;
            fprintf(f, "%llu", (unsigned long long)rec->step);
            gf_plot_put(f, rec->update_ratio, 1);
            fputc('\n', f);
            if (isfinite(rec->update_ratio) && rec->update_ratio > 0) {
                gf_plot_track(range, rec->update_ratio);
                points++;
            }
        }
        j = e;
    }
    return points;
}

static void write_ratio_script(FILE *f, const char *name, const gf_plot_options *o,
                               const gf_plot_run *runs, size_t panels,
                               size_t chosen[][MAX_LAYER_LINES], const size_t *m,
                               const gf_plot_range *range)
{
    char buf[32], title[320];
    size_t block = 0;
    gf_plot_script_begin(f, name, o, 1000, 140 + 330 * (int)panels);
    snprintf(title, sizeof title, "set multiplot layout %zu,1 title", panels);
    gf_plot_title_line(f, title, o, "The update ratio ||dW|| / ||W|| per linear layer "
                                    "(the band: 1e-3 within half a decade)");
    fputs("set key outside right top vertical\n"
          "set xlabel 'step'\n"
          "set ylabel '||dW|| / ||W||'\n", f);
    gf_plot_log_axis(f, "y", fmin(range->lo, 1e-4), fmax(range->hi, 1e-2));
    /* One range for every panel, whole decades, the band always inside. */
    fprintf(f, "set yrange [1e%d:1e%d]\nset autoscale xfix\n",
            (int)floor(log10(fmin(range->lo, 1e-4))), (int)ceil(log10(fmax(range->hi, 1e-2))));
    /* The rule of thumb (Karpathy, CS231n): an update of about 1e-3 of the weights. */
    fputs("set object 1 rect from graph 0, first 10**-3.5 to graph 1, first 10**-2.5 "
          "behind fc rgb '#e8e8e8' fs solid 1.0 noborder\n", f);
    for (size_t i = 0; i < panels; i++) {
        snprintf(title, sizeof title, "%s", gf_plot_run_label(&runs[i], i, buf, sizeof buf));
        fputs("set title ", f);
        gf_plot_quote(f, title);
        fputs(" noenhanced\nplot 1e-3 with lines lw 2 lc rgb '#404040' dt 4 "
              "title '1e-3 (rule of thumb)'", f);
        for (size_t j = 0; j < m[i]; j++, block++) {
            size_t n = count_steps(runs[i].telemetry);
            fputs(", \\\n     ", f);
            gf_plot_quote2(f, name, ".dat");
            fprintf(f, " index %zu using 1:2 with linespoints lw 2 ps 0.9 pi %zu", block,
                    point_interval(n));
            gf_plot_style(f, j, 1);
            fprintf(f, " title 'linear layer %zu'", chosen[i][j]);
        }
        fputc('\n', f);
    }
    fputs("unset multiplot\n", f);
}

gf_status gf_plot_update_ratio(const char *dir, const char *name, const gf_plot_run *runs,
                               size_t n_runs, const gf_plot_options *opt)
{
    static const char who[] = "gf_plot_update_ratio";
    char path[GF_PLOT_PATH_CAP], script[GF_PLOT_PATH_CAP], buf[32];
    gf_plot_options o = opt ? *opt : gf_plot_options_default();
    size_t chosen[MAX_PANELS][MAX_LAYER_LINES], m[MAX_PANELS], panels, points = 0, block = 0;
    gf_plot_range range = gf_plot_range_empty();
    gf_status st;
    FILE *f;
    gf_atomic_file af;

    if ((st = gf_plot_check_runs(runs, n_runs, 1, who)) != GF_OK ||
        (st = gf_plot_prepare(dir, name, &o, who)) != GF_OK)
        return st;
    panels = n_runs < MAX_PANELS ? n_runs : MAX_PANELS;
    if ((st = gf_plot_open_file(&af, &f, path, dir, name, ".dat", who)) != GF_OK)
        return st;
    fputs("# step update_ratio; one block per (run, linear layer)\n", f);
    for (size_t i = 0; i < panels; i++) {
        m[i] = gf_plot_choose_units(chosen[i], count_linear(runs[i].telemetry),
                                    MAX_LAYER_LINES);
        for (size_t j = 0; j < m[i]; j++, block++) {
            fprintf(f, "%s# run %zu (%s), linear layer %zu\n", block ? "\n\n" : "", i,
                    gf_plot_run_label(&runs[i], i, buf, sizeof buf), chosen[i][j]);
            points += write_ratio_block(f, runs[i].telemetry, chosen[i][j], &range);
        }
    }
    if ((st = gf_plot_close_file(&af, who)) != GF_OK)
        return st;
    if (points == 0)
        return gf_fail(GF_EINVAL, "%s: no update was recorded (no step taken, or no "
                       "linear layer)", who);
    if ((st = gf_plot_open_file(&af, &f, script, dir, name, ".gp", who)) != GF_OK)
        return st;
    write_ratio_script(f, name, &o, runs, panels, chosen, m, &range);
    return gf_plot_finish(&af, script, &o, who);
}

/* ---- (8) Gradient norms before and after clipping ------------------------------------ */

/* The global norms of one step's parameter gradient before and after clipping: the
 * layers' norms combine as a root of the sum of squares. A step without clipping (NaN
 * clip norms) has both equal to the norm of its weight and bias gradients. */
static void step_norms(const gf_telemetry *t, size_t b, size_t e, double *pre, double *post,
                       int *clipped_run)
{
    double p = 0, q = 0, raw = 0;
    int clipped = 0;
    for (size_t r = b; r < e; r++) {
        const gf_record *rec = gf_telemetry_at(t, r);
        if (!isnan(rec->clip_pre_norm)) {
            clipped = 1;
            p += rec->clip_pre_norm * rec->clip_pre_norm;
            q += rec->clip_post_norm * rec->clip_post_norm;
        }
        if (!isnan(rec->weight_grad_norm))
            raw += rec->weight_grad_norm * rec->weight_grad_norm;
        if (!isnan(rec->bias_grad_norm))
            raw += rec->bias_grad_norm * rec->bias_grad_norm;
    }
    *pre = clipped ? sqrt(p) : sqrt(raw);
    *post = clipped ? sqrt(q) : *pre;
    *clipped_run |= clipped;
}

/* One block per run: step, pre, post, and pre again on the steps that clipping changed
 * (NaN elsewhere). events[i]: those steps; steps[i]: the steps recorded. */
static void write_clip_dat(FILE *f, const gf_plot_run *runs, size_t n, size_t *events,
                           size_t *steps, int *clipped, gf_plot_range *range)
{
    char buf[32];
    fputs("# step pre_clip_norm post_clip_norm clipped (pre_clip_norm on the steps where "
          "clipping changed the gradient, else NaN)\n", f);
    for (size_t i = 0; i < n; i++) {
        const gf_telemetry *t = runs[i].telemetry;
        fprintf(f, "%s# run %zu: %s\n", i ? "\n\n" : "", i,
                gf_plot_run_label(&runs[i], i, buf, sizeof buf));
        events[i] = steps[i] = 0;
        clipped[i] = 0;
        for (size_t j = 0; j < gf_telemetry_count(t);) {
            size_t b, e;
            double pre, post;
            gf_telemetry_step_group(t, j, &b, &e);
            step_norms(t, b, e, &pre, &post, &clipped[i]);
            /* A relative margin: clipping to exactly the norm it had is no event. */
            int event = post < pre * (1 - 1e-6);
            fprintf(f, "%llu", (unsigned long long)gf_telemetry_at(t, b)->step);
            gf_plot_put(f, pre, 1);
            gf_plot_put(f, post, 1);
            gf_plot_put(f, event ? pre : NAN, 1);
            fputc('\n', f);
            gf_plot_track(range, pre);
            gf_plot_track(range, post);
            events[i] += event;
            steps[i]++;
            j = e;
        }
    }
}

static void write_clip_script(FILE *f, const char *name, const gf_plot_options *o,
                              const gf_plot_run *runs, size_t n, const size_t *events,
                              const size_t *steps, const int *clipped,
                              const gf_plot_range *range)
{
    char buf[32], label[400];
    gf_plot_script_begin(f, name, o, 1000, 820);
    gf_plot_title_line(f, "set multiplot layout 2,1 title", o,
                       "Gradient norm before and after clipping");
    fputs("set key below horizontal height 1\n"
          "set xlabel 'step'\n", f);
    gf_plot_log_axis(f, "y", range->lo, range->hi);
    /* One range for both panels, so that they compare (and a clipped norm that is the
     * same on every step is no empty range). */
    fprintf(f, "set yrange [%.6g:%.6g]\nset autoscale xfix\n", range->lo / 1.5,
            range->hi * 1.5);
    for (int panel = 0; panel < 2; panel++) {
        fputs(panel ? "set title 'after clipping: the gradient the update used'\n"
                      "set ylabel '||g|| after clipping'\n"
                    : "set title 'before clipping (open marks: steps where clipping changed "
                      "it)'\nset ylabel '||g|| before clipping'\n", f);
        fputs("plot ", f);
        for (size_t i = 0; i < n; i++) {
            const char *l = gf_plot_run_label(&runs[i], i, buf, sizeof buf);
            fputs(i ? ", \\\n     " : "", f);
            gf_plot_quote2(f, name, ".dat");
            fprintf(f, " index %zu using 1:%d with lines lw 2", i, panel ? 3 : 2);
            gf_plot_style(f, i, 0);
            fputs(" title ", f);
            if (!panel && clipped[i])
                snprintf(label, sizeof label, "%s: clipped on %zu of %zu recorded steps", l,
                         events[i], steps[i]);
            else
                snprintf(label, sizeof label, "%s%s", l, clipped[i] ? "" : " (no clipping)");
            gf_plot_quote(f, label);
            if (panel || events[i] == 0)
                continue;
            fputs(", \\\n     ", f);
            gf_plot_quote2(f, name, ".dat");
            fprintf(f, " index %zu using 1:4 with points pt 6 ps 1.3 lw 1.5 lc rgb '%s'", i,
                    colours[i % N_COLOURS]);
            fputs(" notitle", f);
        }
        fputc('\n', f);
    }
    fputs("unset multiplot\n", f);
}

gf_status gf_plot_clip(const char *dir, const char *name, const gf_plot_run *runs,
                       size_t n_runs, const gf_plot_options *opt)
{
    static const char who[] = "gf_plot_clip";
    char path[GF_PLOT_PATH_CAP], script[GF_PLOT_PATH_CAP];
    gf_plot_options o = opt ? *opt : gf_plot_options_default();
    gf_plot_range range = gf_plot_range_empty();
    gf_status st;
    gf_atomic_file af;
    FILE *f = NULL;
    int any = 0;

    if ((st = gf_plot_check_runs(runs, n_runs, 1, who)) != GF_OK ||
        (st = gf_plot_prepare(dir, name, &o, who)) != GF_OK)
        return st;
    size_t *counts = gf_calloc(2 * n_runs, sizeof *counts);
    int *clipped = gf_calloc(n_runs, sizeof *clipped);
    if (counts == NULL || clipped == NULL) {
        st = gf_fail(GF_ENOMEM, "%s: out of memory", who);
        goto out;
    }
    if ((st = gf_plot_open_file(&af, &f, path, dir, name, ".dat", who)) != GF_OK)
        goto out;
    write_clip_dat(f, runs, n_runs, counts, counts + n_runs, clipped, &range);
    if ((st = gf_plot_close_file(&af, who)) != GF_OK)
        goto out;
    for (size_t i = 0; i < n_runs; i++)
        any |= clipped[i];
    if (!any || range.count == 0) {
        st = gf_fail(GF_EINVAL, "%s: no run clipped its gradient", who);
        goto out;
    }
    if ((st = gf_plot_open_file(&af, &f, script, dir, name, ".gp", who)) != GF_OK)
        goto out;
    write_clip_script(f, name, &o, runs, n_runs, counts, counts + n_runs, clipped, &range);
    st = gf_plot_finish(&af, script, &o, who);
out:
    gf_free(counts);
    gf_free(clipped);
    return st;
}

/* ---- (9) Test loss and accuracy beside the training loss ----------------------------- */

/* Blocks 2i: run i's training loss per step; 2i+1: its evaluations (step, test loss,
 * test accuracy). has_acc: some run has a finite accuracy. Returns the finite test
 * losses written. */
static size_t write_eval_dat(FILE *f, const gf_plot_run *runs, const gf_plot_evals *ev,
                             size_t n, int *has_acc,
                             gf_plot_range *range, int *nonpositive)
{
    char buf[32];
    size_t finite = 0;
    fputs("# blocks per run: training (step loss), then evaluations (step test_loss "
          "test_accuracy)\n", f);
    for (size_t i = 0; i < n; i++) {
        const gf_plot_run *r = &runs[i];
        const char *l = gf_plot_run_label(r, i, buf, sizeof buf);
        fprintf(f, "%s# run %zu: %s, training loss\n", i ? "\n\n" : "", i, l);
        for (size_t j = 0; j < r->n_loss; j++) {
            fprintf(f, "%llu", (unsigned long long)(r->loss_steps ? r->loss_steps[j] : j));
            gf_plot_put(f, r->loss[j], 0);
            fputc('\n', f);
            gf_plot_track(range, r->loss[j]);
            *nonpositive |= r->loss[j] <= 0;
        }
        if (r->n_loss == 0)
            fputs("0 NaN\n", f);
        fprintf(f, "\n\n# run %zu: %s, evaluations\n", i, l);
        for (size_t j = 0; j < ev[i].n; j++) {
            double tl = ev[i].test_loss ? ev[i].test_loss[j] : NAN;
            double ta = ev[i].test_accuracy ? ev[i].test_accuracy[j] : NAN;
            fprintf(f, "%llu", (unsigned long long)ev[i].steps[j]);
            gf_plot_put(f, tl, 0);
            gf_plot_put(f, ta, 0);
            fputc('\n', f);
            finite += isfinite(tl);
            *has_acc |= isfinite(ta);
            gf_plot_track(range, tl);
            *nonpositive |= tl <= 0;
        }
        if (ev[i].n == 0)
            fputs("0 NaN NaN\n", f);
    }
    return finite;
}

/* Whether run r has a finite test loss / accuracy (which: 0 / 1). */
static int has_eval(const gf_plot_evals *r, int which)
{
    const double *v = which ? r->test_accuracy : r->test_loss;
    for (size_t j = 0; v != NULL && j < r->n; j++)
        if (isfinite(v[j]))
            return 1;
    return 0;
}

static void write_eval_script(FILE *f, const char *name, const gf_plot_options *o,
                              const gf_plot_run *runs, const gf_plot_evals *ev, size_t n, int has_acc,
                              const gf_plot_range *range, int nonpositive)
{
    char buf[32], label[300];
    gf_plot_script_begin(f, name, o, has_acc ? 1300 : 900, 560);
    gf_plot_title_line(f, has_acc ? "set multiplot layout 1,2 title" : "set multiplot "
                       "layout 1,1 title", o, "Training and test loss, test accuracy");
    fputs("set key below horizontal height 1.5\n"
          "set xlabel 'step'\n"
          "set autoscale xfix\n"
          "set title 'loss: training (thin) and test (thick, marked)'\n"
          "set ylabel 'loss'\n", f);
    if (!nonpositive && range->count > 0 && range->hi / range->lo >= 10)
        gf_plot_log_axis(f, "y", range->lo, range->hi);
    fputs("plot ", f);
    for (size_t i = 0, first = 1; i < n; i++) {
        const char *l = gf_plot_run_label(&runs[i], i, buf, sizeof buf);
        if (!has_eval(&ev[i], 0))
            continue; /* an empty block would only draw a warning */
        fputs(first ? "" : ", \\\n     ", f);
        first = 0;
        if (runs[i].n_loss > 0) {
            gf_plot_quote2(f, name, ".dat");
            fprintf(f, " index %zu using 1:2 with lines lw 1", 2 * i);
            gf_plot_style(f, i, 0);
            snprintf(label, sizeof label, "%s, training", l);
            fputs(" title ", f);
            gf_plot_quote(f, label);
            fputs(", \\\n     ", f);
        }
        gf_plot_quote2(f, name, ".dat");
        fprintf(f, " index %zu using 1:2 with linespoints lw 2.5 ps 1.2", 2 * i + 1);
        gf_plot_style(f, i, 1);
        snprintf(label, sizeof label, "%s, test", l);
        fputs(" title ", f);
        gf_plot_quote(f, label);
    }
    fputc('\n', f);
    if (has_acc) {
        fputs("unset logscale y\nset format y '%g'\nset ytics autofreq\n"
              "set title 'test accuracy'\nset ylabel 'accuracy'\nset yrange [0:1.02]\nplot ",
              f);
        for (size_t i = 0, first = 1; i < n; i++) {
            if (!has_eval(&ev[i], 1))
                continue;
            fputs(first ? "" : ", \\\n     ", f);
            first = 0;
            gf_plot_quote2(f, name, ".dat");
            fprintf(f, " index %zu using 1:3 with linespoints lw 2.5 ps 1.2", 2 * i + 1);
            gf_plot_style(f, i, 1);
            fputs(" title ", f);
            gf_plot_quote(f, gf_plot_run_label(&runs[i], i, buf, sizeof buf));
        }
        fputc('\n', f);
    }
    fputs("unset multiplot\n", f);
}

gf_status gf_plot_eval(const char *dir, const char *name, const gf_plot_run *runs,
                       const gf_plot_evals *evals, size_t n_runs,
                       const gf_plot_options *opt)
{
    static const char who[] = "gf_plot_eval";
    char path[GF_PLOT_PATH_CAP], script[GF_PLOT_PATH_CAP];
    gf_plot_options o = opt ? *opt : gf_plot_options_default();
    gf_plot_range range = gf_plot_range_empty();
    int has_acc = 0, nonpositive = 0;
    gf_status st;
    FILE *f;
    gf_atomic_file af;

    if ((st = gf_plot_check_runs(runs, n_runs, 0, who)) != GF_OK)
        return st;
    GF_CHECK_NOT_NULL(evals, who);
    for (size_t i = 0; i < n_runs; i++)
        if (evals[i].n > 0 && evals[i].steps == NULL)
            return gf_fail(GF_EINVAL, "%s: run %zu has evaluations without steps", who, i);
    if ((st = gf_plot_prepare(dir, name, &o, who)) != GF_OK ||
        (st = gf_plot_open_file(&af, &f, path, dir, name, ".dat", who)) != GF_OK)
        return st;
    size_t finite = write_eval_dat(f, runs, evals, n_runs, &has_acc, &range, &nonpositive);
    if ((st = gf_plot_close_file(&af, who)) != GF_OK)
        return st;
    if (finite == 0)
        return gf_fail(GF_EINVAL, "%s: no run has a finite test loss", who);
    if ((st = gf_plot_open_file(&af, &f, script, dir, name, ".gp", who)) != GF_OK)
        return st;
    write_eval_script(f, name, &o, runs, evals, n_runs, has_acc, &range, nonpositive);
    return gf_plot_finish(&af, script, &o, who);
}
