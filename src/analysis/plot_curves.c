/* src/analysis/plot_curves.c: figures drawn from per-step and per-layer scalars: the
 * loss curves of several runs (3) and the dead and saturated units per activation
 * layer (4). docs/figures.md. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gradflow/report.h"
#include "core/internal.h"
#include "analysis/plot.h"
#include "engine/telemetry_steps.h"

/* ---- (3) Loss curves ----------------------------------------------------------------- */

/* One block per run: step and loss, from the run's own curve or else from the
 * telemetry (one value per recorded step). valid[i] counts run i's finite values. */
static void write_loss_dat(FILE *f, const gf_plot_run *runs, size_t n_runs, size_t *valid,
                           gf_plot_range *all_range, int *nonpositive_seen)
{
    char buf[32];
    gf_plot_range all = *all_range;
    int nonpositive = *nonpositive_seen;
    fputs("# step loss\n", f);
    for (size_t i = 0; i < n_runs; i++) {
        fprintf(f, "%s# run %zu: %s\n", i ? "\n\n" : "", i, gf_plot_run_label(&runs[i], i, buf, sizeof buf));
        size_t count = runs[i].loss ? runs[i].n_loss : gf_telemetry_count(runs[i].telemetry);
        for (size_t j = 0; j < count;) {
            uint64_t step;
            double loss;
            if (runs[i].loss) {
                step = runs[i].loss_steps ? runs[i].loss_steps[j] : (uint64_t)j;
                loss = runs[i].loss[j];
                j++;
            } else {
                size_t b, e;
                gf_telemetry_step_group(runs[i].telemetry, j, &b, &e);
                step = gf_telemetry_at(runs[i].telemetry, b)->step;
                loss = gf_telemetry_at(runs[i].telemetry, b)->loss;
                j = e;
            }
            fprintf(f, "%llu", (unsigned long long)step);
            gf_plot_put(f, loss, 0);
            fputc('\n', f);
            if (isfinite(loss)) {
                valid[i]++;
                nonpositive |= loss <= 0;
                gf_plot_track(&all, loss);
            }
        }
    }
    *all_range = all;
    *nonpositive_seen = nonpositive;
}

gf_status gf_plot_loss(const char *dir, const char *name, const gf_plot_run *runs,
                       size_t n_runs, const gf_plot_options *opt)
{
    static const char who[] = "gf_plot_loss";
    char path[GF_PLOT_PATH_CAP], script[GF_PLOT_PATH_CAP], buf[32];
    gf_plot_options o = opt ? *opt : gf_plot_options_default();
    gf_status st;
    gf_atomic_file af;
    FILE *f;
    gf_plot_range all = gf_plot_range_empty();
    int nonpositive = 0;

    if ((st = gf_plot_check_runs(runs, n_runs, 0, who)) != GF_OK ||
        (st = gf_plot_prepare(dir, name, &o, who)) != GF_OK)
        return st;
    size_t *valid = gf_calloc(n_runs, sizeof *valid);
    if (valid == NULL)
        return gf_fail(GF_ENOMEM, "%s: out of memory", who);
    if ((st = gf_plot_open_file(&af, &f, path, dir, name, ".dat", who)) != GF_OK)
        goto out;
    write_loss_dat(f, runs, n_runs, valid, &all, &nonpositive);
    if ((st = gf_plot_close_file(&af, who)) != GF_OK)
        goto out;
    size_t total = 0;
    for (size_t i = 0; i < n_runs; i++)
        total += valid[i];
    if (total == 0) {
        st = gf_fail(GF_EINVAL, "%s: no finite loss value to plot", who);
        goto out;
    }
    if ((st = gf_plot_open_file(&af, &f, script, dir, name, ".gp", who)) != GF_OK)
        goto out;
    gf_plot_script_begin(f, name, &o, 900, 520);
    gf_plot_title_line(f, "set title", &o, "Training loss");
    fputs("set xlabel 'step'\n"
          "set ylabel 'training loss'\n"
          "set key below horizontal height 1.5\n", f);
    /* A log axis when the losses are positive and span a decade or more. */
    if (!nonpositive && all.count > 0 && all.hi / all.lo >= 10)
        gf_plot_log_axis(f, "y", all.lo, all.hi);
    fputs("plot ", f);
    int first = 1;
    for (size_t i = 0; i < n_runs; i++) {
        if (valid[i] == 0)
            continue;
        fputs(first ? "" : ", \\\n     ", f);
        gf_plot_quote2(f, name, ".dat");
        /* Points mark every step of a short curve (a single loss would draw nothing
         * else) and about a dozen of a long one: with the dash pattern they tell runs
         * apart where their curves meet, not colour alone. */
        fprintf(f, " index %zu using 1:2 with linespoints lw 2 ps %.2g pi %zu", i,
                gf_plot_point_size(i, n_runs), valid[i] < 50 ? (size_t)1 : valid[i] / 12);
        if (valid[i] < 50)
            gf_plot_style(f, i, 1);
        else
            gf_plot_style_solid(f, i); /* dashes on a noisy curve read as gaps */
        fputs(" title ", f);
        gf_plot_quote(f, gf_plot_run_label(&runs[i], i, buf, sizeof buf));
        first = 0;
    }
    fputc('\n', f);
    st = gf_plot_finish(&af, script, &o, who);
out:
    gf_free(valid);
    return st;
}

/* ---- (4) Dead and saturated units ---------------------------------------------------- */

gf_status gf_plot_units(const char *dir, const char *name, const gf_plot_run *runs,
                        size_t n_runs, const gf_plot_options *opt)
{
    static const char who[] = "gf_plot_units";
    char path[GF_PLOT_PATH_CAP], script[GF_PLOT_PATH_CAP], buf[32], title[128];
    gf_plot_options o = opt ? *opt : gf_plot_options_default();
    gf_status st;
    gf_atomic_file af;
    FILE *f;
    size_t max_k = 0, max_linear = 0;
    uint64_t shown = 0;

    if ((st = gf_plot_check_runs(runs, n_runs, 1, who)) != GF_OK ||
        (st = gf_plot_prepare(dir, name, &o, who)) != GF_OK)
        return st;
    for (size_t i = 0; i < n_runs; i++) {
        size_t k = gf_plot_count_units(runs[i].telemetry, o.step);
        max_k = k > max_k ? k : max_k;
    }
    if (max_k == 0)
        return gf_fail(GF_EINVAL, "%s: no activation layer to plot", who);
    if ((st = gf_plot_open_file(&af, &f, path, dir, name, ".dat", who)) != GF_OK)
        return st;
    fputs("# unit_layer layer dead_frac sat_frac zero_frac from_output\n", f);
    for (size_t i = 0; i < n_runs; i++) {
        const gf_telemetry *t = runs[i].telemetry;
        size_t b, e, k = 0, L = 0;
        gf_plot_group_for(t, o.step, &b, &e);
        /* Unit k is the activation after linear layer k: from the output it is k - L. */
        for (size_t j = b; j < e; j++)
            L += gf_plot_is_linear(gf_telemetry_at(t, j));
        if (L <= gf_plot_count_units(t, o.step))
            L = gf_plot_count_units(t, o.step) + 1; /* no linear layers recorded */
        max_linear = L > max_linear ? L : max_linear;
        shown = gf_telemetry_at(t, b)->step;
        fprintf(f, "%s# run %zu: %s, step %llu\n", i ? "\n\n" : "", i,
                gf_plot_run_label(&runs[i], i, buf, sizeof buf), (unsigned long long)shown);
        for (size_t j = b; j < e; j++) {
            const gf_record *r = gf_telemetry_at(t, j);
            if (isnan(r->dead_frac))
                continue;
            fprintf(f, "%zu %u", ++k, (unsigned)r->layer);
            gf_plot_put(f, r->dead_frac, 0);
            gf_plot_put(f, r->sat_frac, 0);
            gf_plot_put(f, r->zero_frac, 0);
            fprintf(f, " %ld\n", (long)k - (long)L);
        }
    }
    if ((st = gf_plot_close_file(&af, who)) != GF_OK)
        return st;
    if ((st = gf_plot_open_file(&af, &f, script, dir, name, ".gp", who)) != GF_OK)
        return st;
    gf_plot_script_begin(f, name, &o, 1300, 520);
    snprintf(title, sizeof title,
             "Dead and saturated units in the activation of each layer, step %llu",
             (unsigned long long)shown);
    gf_plot_title_line(f, "set multiplot layout 1,2 title", &o, title);
    fputs("set key below horizontal height 1.5\n"
          "set yrange [-0.03:1.03]\n", f);
    gf_plot_layer_axis(f, o.align_output ? max_linear : max_k, o.align_output,
                       "layer k (the activation after linear layer k)",
                       "layer k - L, from the output (-1: the activation below the output "
                       "layer L)");
    for (int panel = 0; panel < 2; panel++) {
        fputs(panel ? "set title 'saturated: |f''| < 5% of its bound'\n"
                      "set ylabel 'fraction of saturated values'\n"
                    : "set title 'dead: f'' = 0 on every example'\n"
                      "set ylabel 'fraction of dead units'\n", f);
        fputs("plot ", f);
        for (size_t i = 0; i < n_runs; i++) {
            fputs(i ? ", \\\n     " : "", f);
            gf_plot_quote2(f, name, ".dat");
            fprintf(f, " index %zu using %d:%d with linespoints lw 2 ps %.2g", i,
                    o.align_output ? 6 : 1, panel ? 4 : 3, gf_plot_point_size(i, n_runs));
            gf_plot_style(f, i, 1); /* colour, dash and point: no run hides another */
            fputs(" title ", f);
            gf_plot_quote(f, gf_plot_run_label(&runs[i], i, buf, sizeof buf));
        }
        fputc('\n', f);
    }
    fputs("unset multiplot\n", f);
    return gf_plot_finish(&af, script, &o, who);
}
