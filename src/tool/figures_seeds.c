/* src/tool/figures_seeds.c: the figure of --seeds N (seeds.png): for each configuration,
 * the mean over its seeds as a line and the range of the seeds (lowest to highest) as a
 * band, for the backward signal per linear layer at initialisation (left, geometric
 * mean) and the training loss over the steps (right). docs/figures.md "Seeds". */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gradflow/registry.h>

#include "tool.h"

/* ||dL/dh|| of the k-th linear layer (1-based) at a run's first recorded step; NaN when
 * it has none. */
static double signal_at_init(const gf_telemetry *t, size_t k)
{
    size_t n = t ? gf_telemetry_count(t) : 0, seen = 0;
    for (size_t i = 0; i < n; i++) {
        const gf_record *r = gf_telemetry_at(t, i);
        if (r->step != gf_telemetry_at(t, 0)->step)
            break;
        if ((gf_layer_kind_traits(r->kind) & GF_KIND_LINEAR) && ++seen == k)
            return r->grad_out_norm;
    }
    return NAN;
}

/* One line "x mean lo hi" of the finite values v[0..n) (geometric: positive values, the
 * geometric mean); returns 1 when one was written. */
static int put_band(FILE *f, double x, const double *v, size_t n, int geometric)
{
    double s = 0, lo = INFINITY, hi = -INFINITY;
    size_t m = 0;
    for (size_t k = 0; k < n; k++)
        if (isfinite(v[k]) && (!geometric || v[k] > 0)) {
            s += geometric ? log10(v[k]) : v[k], m++;
            lo = fmin(lo, v[k]), hi = fmax(hi, v[k]);
        }
    if (m == 0)
        return 0;
    fprintf(f, "%.9g %.6g %.6g %.6g\n", x, geometric ? pow(10, s / (double)m) : s / (double)m,
            lo, hi);
    return 1;
}

/* Blocks 2i: item i's signal per layer; 2i+1: its loss per step. */
/* The linear layers of a configuration: the most any of its seeds recorded. */
static size_t linear_layers(const gft_result *r, size_t n_seeds)
{
    size_t L = 0;
    for (size_t s = 0; s < n_seeds; s++)
        while (!isnan(signal_at_init(r[s].tel, L + 1)))
            L++;
    return L;
}

/* align_output: the signal's x is k - L (0: the output layer), as the signal figure's. */
static void write_seeds_dat(FILE *f, const gft_result *res, size_t n_items, size_t n_seeds,
                            int align_output)
{
    double v[GFT_MAX_SEEDS];
    fputs("# x mean lo hi over the seeds: blocks per configuration: signal ||dL/dh|| per "
          "linear layer at init (geometric mean), then training loss per step\n", f);
    for (size_t i = 0; i < n_items; i++) {
        const gft_result *r = &res[i * n_seeds];
        size_t rows = 0, most = 0, L = linear_layers(r, n_seeds);
        fprintf(f, "%s# %s: signal\n", i ? "\n\n" : "", r->label);
        for (size_t k = 1; k <= 100000; k++) {
            int any = 0;
            for (size_t s = 0; s < n_seeds; s++)
                v[s] = signal_at_init(r[s].tel, k), any |= !isnan(v[s]);
            if (!any)
                break;
            rows += put_band(f, align_output ? (double)k - (double)L : (double)k, v, n_seeds, 1);
        }
        if (rows == 0)
            fputs("1 NaN NaN NaN\n", f);
        fprintf(f, "\n\n# %s: loss\n", r->label);
        for (size_t s = 0; s < n_seeds; s++)
            most = r[s].n_loss > most ? r[s].n_loss : most;
        rows = 0;
        /* The seeds take the same steps: entry j is the same step in each (a seed that
         * stopped early, at a NaN, has fewer). */
        for (size_t j = 0; j < most; j++) {
            uint64_t step = 0;
            for (size_t s = 0; s < n_seeds; s++) {
                v[s] = j < r[s].n_loss ? r[s].loss[j] : NAN;
                if (j < r[s].n_loss)
                    step = r[s].loss_steps[j];
            }
            rows += put_band(f, (double)step, v, n_seeds, 0);
        }
        if (rows == 0)
            fputs("0 NaN NaN NaN\n", f);
    }
}

static void write_seeds_script(FILE *f, const gft_result *res, size_t n_items,
                               size_t n_seeds, int svg, int align_output)
{
    fputs("# seeds.gp: written by gradflow. Run it in this directory: gnuplot seeds.gp\n", f);
    if (svg)
        fputs("set terminal svg size 1300,560 enhanced font 'sans,12' background rgb 'white'\n"
              "set output 'seeds.svg'\n", f);
    else
        fputs("if (exists('gf_svg')) {\n"
              "    set terminal svg size 1300,560 enhanced font 'sans,12' background rgb "
              "'white'\n    set output 'seeds.svg'\n} else {\n"
              "    if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
              "        set terminal pngcairo size 1300,560 enhanced font 'sans,10'\n"
              "    } else {\n        set terminal png size 1300,560 enhanced\n    }\n"
              "    set output 'seeds.png'\n}\n", f);
    fprintf(f, "set datafile missing 'NaN'\nset grid lc rgb '#d0d0d0'\nset key noenhanced "
               "below horizontal height 1.5\nset multiplot layout 1,2 title 'Over %zu seeds: "
               "the mean (line) and the range of the seeds (band)' noenhanced font ',12'\n",
            n_seeds);
    for (int panel = 0; panel < 2; panel++) {
        fputs(panel ? "set title 'training loss'\nset xlabel 'step'\nset ylabel 'loss'\n"
                      "unset logscale y\nset format y '%g'\nset autoscale x\n"
                    : align_output
                        ? "set title 'backward signal at initialisation (geometric mean)'\n"
                          "set xlabel 'linear layer k - L, from the output (0 = the output "
                          "layer)'\nset ylabel '||dL/dh||'\nset logscale y\nset format y '%g'\n"
                        : "set title 'backward signal at initialisation (geometric mean)'\n"
                          "set xlabel 'linear layer (1 = input side)'\nset ylabel '||dL/dh||'\n"
                          "set logscale y\nset format y '%g'\n", f);
        fputs("plot ", f);
        for (size_t i = 0; i < n_items; i++) {
            const char *l = res[i * n_seeds].label, *cut = strstr(l, " seed=");
            fprintf(f, "%s'seeds.dat' index %zu using 1:3:4 with filledcurves fc rgb '%s' "
                       "fs transparent solid 0.2 noborder notitle, \\\n     'seeds.dat' index "
                       "%zu using 1:2 with linespoints lw 2 pi %zu", i ? ", \\\n     " : "",
                    2 * i + (size_t)panel, gft_line_colour(i), 2 * i + (size_t)panel,
                    /* about a dozen marks on a long loss curve */
                    panel && res[i * n_seeds].n_loss > 24 ? res[i * n_seeds].n_loss / 12 : 1);
            gft_line_style(f, i);
            fputs(" title '", f);
            for (const char *p = l; *p && p != cut; p++) {
                if (*p == '\'')
                    fputc('\'', f); /* a quote inside a gnuplot string is doubled */
                fputc(*p, f);
            }
            fputc('\'', f);
        }
        fputc('\n', f);
    }
    fputs("unset multiplot\n", f);
}

int gft_seeds_figure(const char *dir, const gft_result *res, size_t n_items, size_t n_seeds,
                     const gft_config *c)
{
    static const char *const name[] = {"seeds"};
    char path[1400];
    FILE *f;
    gft_clear_figures(dir, name, 1);
    if (gft_path_in(path, sizeof path, dir, "seeds.dat") != 0 || (f = fopen(path, "w")) == NULL)
        return 1;
    write_seeds_dat(f, res, n_items, n_seeds, c->align_output);
    if (fclose(f) != 0 || gft_path_in(path, sizeof path, dir, "seeds.gp") != 0 ||
        (f = fopen(path, "w")) == NULL) {
        gft_error("cannot write the seeds figure in '%s'", dir);
        return 1;
    }
    write_seeds_script(f, res, n_items, n_seeds, c->plot == GFT_PLOT_SVG, c->align_output);
    if (fclose(f) != 0) {
        gft_error("cannot write '%s'", path);
        return 1;
    }
    if (c->plot == GFT_PLOT_NONE)
        return 0;
    int failed = gft_render(c, path, dir, 0);
    if (!failed && c->plot == GFT_PLOT_PNG && gf_plot_available())
        failed |= gft_svg_copies(c, dir, name, 1, "seeds_svg.gp");
    return failed;
}
