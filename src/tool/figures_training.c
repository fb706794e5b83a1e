/* src/tool/figures_training.c: the figures over training that run and compare draw when
 * they apply (report.h, docs/figures.md 6-9): the update ratio per layer, the gradient
 * norms before and after clipping (when a run clipped), the test loss and accuracy
 * beside the training loss (when there is test data), the histograms over the steps
 * (one run). Each is checked for something to draw first, so "not applicable" is
 * silence, not an error. */
#include <math.h>
#include <stdio.h>

#include "tool.h"

const char *const gft_training_figs[GFT_N_TRAINING_FIGS] = {"update_ratio", "clip", "eval",
                                                            "hist_steps"};

/* Some record holds a finite update ratio (a step was taken and recorded). */
static int any_update(const gf_plot_run *runs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < gf_telemetry_count(runs[i].telemetry); k++) {
            double v = gf_telemetry_at(runs[i].telemetry, k)->update_ratio;
            if (isfinite(v) && v > 0)
                return 1;
        }
    return 0;
}

/* Some run clipped its gradient (its records carry the norm before clipping). */
static int any_clip(const gf_plot_run *runs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < gf_telemetry_count(runs[i].telemetry); k++)
            if (isfinite(gf_telemetry_at(runs[i].telemetry, k)->clip_pre_norm))
                return 1;
    return 0;
}

/* Some run has a finite test loss (there was test data). */
static int any_eval(const gf_plot_evals *ev, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; ev[i].test_loss != NULL && j < ev[i].n; j++)
            if (isfinite(ev[i].test_loss[j]))
                return 1;
    return 0;
}

int gft_training_figures(const char *dir, const gf_plot_run *runs, const gf_plot_evals *ev,
                         size_t n, const char *hist_csv, const gf_plot_options *po,
                         const gft_config *c, int soft)
{
    int failed = 0;
    if (any_update(runs, n))
        failed |= gft_plot_status(gf_plot_update_ratio(dir, "update_ratio", runs, n, po), dir,
                                  c->quiet, soft);
    if (any_clip(runs, n))
        failed |= gft_plot_status(gf_plot_clip(dir, "clip", runs, n, po), dir, c->quiet, soft);
    if (any_eval(ev, n))
        failed |= gft_plot_status(gf_plot_eval(dir, "eval", runs, ev, n, po), dir, c->quiet,
                                  soft);
    /* Written only when a snapshot was taken (a run stopped by NaN at its first step has
     * none). */
    if (hist_csv != NULL) {
        FILE *f = fopen(hist_csv, "r");
        if (f != NULL) {
            fclose(f);
            failed |= gft_plot_status(gf_plot_hist_steps(dir, "hist_steps", hist_csv, po), dir,
                                      c->quiet, soft);
        }
    }
    return failed;
}
