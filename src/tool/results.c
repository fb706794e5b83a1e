/* src/tool/results.c: what several runs leave behind, for compare, the showcase, merge
 * and sweep: the table of their results (one row a run, and the gradient through time of
 * recurrent runs), their overlaid figures, and how their exit statuses combine. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tool.h"

static void print_value(double v)
{
    if (isnan(v))
        printf(" %10s", "-");
    else
        printf(" %10.3g", v);
}

/* The width of the first column: the longest label. */
static int label_width(const gft_result *res, size_t n, const char *first)
{
    size_t w = strlen(first);
    for (size_t i = 0; i < n; i++)
        if (strlen(res[i].label) > w)
            w = strlen(res[i].label);
    return (int)(w > 60 ? 60 : w);
}

/* init_col: the init column, left out when the first column already is the init. */
static void table_header(const char *first, int w, int init_col)
{
    printf("%-*s", w, first);
    if (init_col)
        printf(" %-12s", "init");
    printf(" %10s %10s %10s %10s %10s %10s  %-12s %s\n", "dL/dh 1st", "dL/dh last",
           "ratio_init", "ratio_end", "loss", "accuracy", "verdict_init", "verdict_end");
}

/* The ratio the verdict judged: through time for a recurrent net (its one linear layer's
 * ratio is 1), after clipping for a clipped run. */
static double judged_ratio(const gf_verdict *v, int final)
{
    if (v->time_steps)
        return final ? v->time_ratio_final : v->time_ratio_init;
    if (v->clipped)
        return final ? v->clip_ratio_final : v->clip_ratio_init;
    return final ? v->ratio_final : v->ratio_init;
}

static void table_row(const gft_result *r, int w, int init_col)
{
    printf("%-*s", w, r->label);
    if (init_col)
        printf(" %-12s", r->init);
    if (r->judged) {
        print_value(r->verdict.signal_first_init);
        print_value(r->verdict.signal_last_init);
        print_value(judged_ratio(&r->verdict, 0));
        print_value(judged_ratio(&r->verdict, 1));
    } else {
        print_value(NAN), print_value(NAN), print_value(NAN), print_value(NAN);
    }
    print_value(r->final_loss);
    print_value(r->accuracy);
    if (r->status == GFT_EXIT_INTERRUPTED)
        printf("  interrupted");
    else if (r->judged)
        printf("  %-12s %s", gf_verdict_name(r->verdict.kind_init),
               gf_verdict_name(r->verdict.kind_final));
    else
        printf("  failed");
    printf("\n");
}

static void table_notes(void)
{
    printf("dL/dh: the backward signal ||dL/dh|| reaching the first and the last linear layer "
           "at initialisation;\nratio = first / last (after clipping for clipped runs; "
           "through time, dL/dh_1 / dL/dh_T,\nfor recurrent nets) at init and at the end "
           "(< %g vanishing, > %g exploding).\nVerdicts at init (the first recorded step) "
           "and at the end (the last). Loss: last training step; accuracy: test set.\n",
           GF_VERDICT_VANISH_RATIO, GF_VERDICT_EXPLODE_RATIO);
}

/* Clipped runs: how often clipping engaged, and where dead units first appeared. */
static void clip_table(const gft_result *res, size_t n, const char *first, int w)
{
    int any = 0;
    for (size_t i = 0; i < n; i++)
        any |= res[i].judged && (res[i].verdict.clipped || res[i].verdict.dead_seen);
    if (!any)
        return;
    printf("\nclipping and dead units (steps are recorded steps):\n");
    printf("%-*s %16s %16s %14s\n", w, first, "clip engaged", "ratio unclipped",
           "dead from");
    for (size_t i = 0; i < n; i++) {
        const gf_verdict *v = &res[i].verdict;
        char clip[40] = "-", dead[48] = "-";
        if (!res[i].judged)
            continue;
        if (v->clipped)
            snprintf(clip, sizeof clip, "%llu of %llu", (unsigned long long)v->clip_engaged,
                     (unsigned long long)v->clip_steps);
        if (v->dead_seen)
            snprintf(dead, sizeof dead, "step %llu, layer %zu", (unsigned long long)v->dead_step,
                     v->dead_step_depth);
        printf("%-*s %16s %16.3g %14s\n", w, res[i].label, clip, v->ratio_final, dead);
    }
    printf("ratio unclipped: the backward signal's ratio at the end, before clipping.\n");
}

/* Recurrent runs: the gradient through time at the first and the last recorded step. */
static void time_table(const gft_result *res, size_t n, const char *first, int w)
{
    int any = 0;
    for (size_t i = 0; i < n; i++)
        any |= !isnan(res[i].time_ratio);
    if (!any)
        return;
    printf("\nthrough time (each run's time.csv, time.png):\n");
    printf("%-*s %12s %12s %12s %12s\n", w, first, "dL/dh_1", "dL/dh_T", "ratio_init",
           "ratio_end");
    for (size_t i = 0; i < n; i++) {
        if (isnan(res[i].time_ratio))
            continue;
        printf("%-*s", w, res[i].label);
        printf(" %12.3g %12.3g %12.3g %12.3g\n", res[i].time_first, res[i].time_last,
               res[i].time_ratio, res[i].judged ? res[i].verdict.time_ratio_final : NAN);
    }
    printf("dL/dh_t: ||dL/dh_t|| at step t of the sequence at init (the loss reads h_T); "
           "ratio = first / last,\njudged with the same thresholds as the layers' ratio.\n");
}

void gft_print_results(const gft_result *res, size_t n, const char *first)
{
    int w = label_width(res, n, first), init_col = strcmp(first, "init") != 0;
    table_header(first, w, init_col);
    for (size_t i = 0; i < n; i++)
        table_row(&res[i], w, init_col);
    table_notes();
    clip_table(res, n, first, w);
    time_table(res, n, first, w);
}

/* 1 when some run has an activation layer (its records carry a dead fraction). */
static int have_units(const gf_plot_run *runs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < gf_telemetry_count(runs[i].telemetry); k++)
            if (!isnan(gf_telemetry_at(runs[i].telemetry, k)->dead_frac))
                return 1;
    return 0;
}

/* Overlaid figures of several runs into dir. Returns 1 when one failed (printed). */
int gft_overlay(const char *dir, const gft_result *res, size_t n, const gft_config *c)
{
    static const char *const figs[] = {"signal", "loss", "units", "time", "update_ratio",
                                       "clip", "eval"};
    const size_t n_figs = sizeof figs / sizeof figs[0];
    gf_plot_run runs[64];
    gf_plot_evals ev[64];
    gft_curve curves[64];
    size_t n_curves = 0;
    gf_plot_options po = gf_plot_options_default();
    size_t m = 0;
    int failed = 0, soft = 0, batch = c->plot != GFT_PLOT_SVG;
    for (size_t i = 0; i < n; i++)
        soft |= res[i].judged && res[i].verdict.kind == GF_VERDICT_NONFINITE;
    if (n > 64 && !c->quiet)
        fprintf(stderr, "gradflow: note: the figures show the first 64 of %zu runs\n", n);
    for (size_t i = 0; i < n && m < 64; i++) {
        if (res[i].tel == NULL || gf_telemetry_count(res[i].tel) == 0)
            continue;
        runs[m] = (gf_plot_run){0};
        runs[m].label = res[i].label;
        runs[m].telemetry = res[i].tel;
        runs[m].predicted_factor = res[i].predicted_factor;
        runs[m].predicted = res[i].predicted;
        runs[m].n_predicted = res[i].n_predicted;
        runs[m].loss = res[i].loss;
        runs[m].loss_steps = res[i].loss_steps;
        runs[m].n_loss = res[i].n_loss;
        ev[m] = (gf_plot_evals){res[i].eval_steps, res[i].test_loss, res[i].test_accuracy,
                                res[i].n_eval};
        m++;
    }
    if (m == 0)
        return 0;
    if (gf_mkdir_p(dir) != GF_OK) {
        gft_error("--out %s: %s", dir, gf_last_error());
        return 1;
    }
    gft_clear_figures(dir, figs, n_figs);
    po.format = batch ? GF_PLOT_NONE : gft_plot_format(c);
    po.align_output = c->align_output;
    failed |= gft_plot_status(gf_plot_signal(dir, "signal", runs, m, &po), dir, c->quiet, soft);
    failed |= gft_plot_status(gf_plot_loss(dir, "loss", runs, m, &po), dir, c->quiet, soft);
    po.step = GF_PLOT_STEP_LAST;
    /* Dead and saturated units need activation layers (a recurrent net has none). */
    if (have_units(runs, m))
        failed |= gft_plot_status(gf_plot_units(dir, "units", runs, m, &po), dir, c->quiet,
                                  soft);
    failed |= gft_training_figures(dir, runs, ev, m, NULL, &po, c, soft);
    /* Recurrent runs: their gradients through time at the first and the last step. */
    for (size_t i = 0; i < n && n_curves < 64; i++)
        if (res[i].time_init != NULL)
            curves[n_curves++] = (gft_curve){res[i].label, res[i].time_init, res[i].time_T,
                                             res[i].time_end};
    if (n_curves > 0) {
        int tf = gft_time_figure(dir, "time", "The gradient through time ||dL/dh_t||", curves,
                                 n_curves, batch ? GF_PLOT_PNG : GF_PLOT_SVG);
        char script[4200];
        failed |= tf < 0;
        if (tf == 0 && !batch && c->plot != GFT_PLOT_NONE) {
            snprintf(script, sizeof script, "%s/time.gp", dir);
            failed |= gft_plot_status(gf_plot_render(script), dir, c->quiet, soft);
        }
    }
    return failed | gft_render_figures(c, dir, figs, n_figs, batch, soft);
}

/* The overlaid figures of the configurations: with seeds, of each one's first seed (the
 * spread over the seeds is seeds.png's). Returns 1 when one failed (said). */
int gft_overlay_seeds(const char *dir, const gft_result *res, size_t n, size_t seeds,
                      const gft_config *c)
{
    if (seeds == 1)
        return gft_overlay(dir, res, n, c);
    gft_result *first = gf_calloc(n, sizeof *first);
    if (first == NULL) {
        gft_error("out of memory");
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        first[i] = res[i * seeds]; /* borrowed: released through res */
    int failed = gft_overlay(dir, first, n, c);
    gf_free(first);
    return failed;
}

/* The overlaid figures written into dir (those with a script: units needs activation
 * layers, time recurrent runs), comma-separated, without a newline. */
void gft_print_figures(const char *dir, const gft_config *c)
{
    static const struct {
        const char *name, *what;
    } figs[] = {{"seeds", " (mean and band over the seeds)"},
                {"signal", " (backward signal per layer)"}, {"loss", ""}, {"units", ""},
                {"time", " (gradient through time)"}, {"update_ratio", " (||dW||/||W||)"},
                {"clip", " (norms before and after clipping)"},
                {"eval", " (test loss and accuracy)"}};
    int k = 0;
    for (size_t i = 0; i < sizeof figs / sizeof figs[0]; i++) {
        char script[80];
        snprintf(script, sizeof script, "%s.gp", figs[i].name);
        if (!gft_is_file(dir, script))
            continue;
        printf("%s%s/%s.%s%s", k++ ? ", " : "", dir, figs[i].name, gft_figure_ext(c), figs[i].what);
    }
    if (k == 0)
        printf("none");
}

/* Combine run statuses: interrupted, then failure, then non-finite, then success. */
int gft_worse(int a, int b)
{
    static const int order[] = {GFT_EXIT_INTERRUPTED, GFT_EXIT_FAIL, GFT_EXIT_USAGE,
                                GFT_EXIT_NONFINITE};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (a == order[i] || b == order[i])
            return order[i];
    return a ? a : b;
}
