/* src/tool/figures.c: the gnuplot side of the program: the plot format of a configuration,
 * PNG figures rendered in one gnuplot process per directory, plotting statuses turned into
 * notes or failures, and the figure of the gradient through time (the library draws the
 * others, report.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tool.h"

gf_plot_format gft_plot_format(const gft_config *c)
{
    return c->plot == GFT_PLOT_SVG ? GF_PLOT_SVG : c->plot == GFT_PLOT_NONE ? GF_PLOT_NONE
                                                                           : GF_PLOT_PNG;
}

/* What the figures are: rendered images, or only scripts (--plot none, no gnuplot). */
int gft_figures_rendered(const gft_config *c)
{
    return c->plot != GFT_PLOT_NONE && gf_plot_available();
}

const char *gft_figure_ext(const gft_config *c)
{
    return !gft_figures_rendered(c) ? "gp" : c->plot == GFT_PLOT_SVG ? "svg" : "png";
}

void gft_clear_figures(const char *dir, const char *const *names, size_t n)
{
    static const char *const exts[] = {"gp", "png", "svg"};
    char path[1400];
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < sizeof exts / sizeof exts[0]; k++)
            if (snprintf(path, sizeof path, "%s/%s.%s", dir, names[i], exts[k]) <
                (int)sizeof path)
                remove(path); /* absent is fine */
}

int gft_render_figures(const gft_config *c, const char *dir, const char *const *names,
                       size_t n, int batch, int soft)
{
    int failed = 0;
    if (batch)
        failed |= gft_render_batch(c, dir, names, n, soft);
    /* index.html inlines SVG: PNG figures get an SVG copy. */
    if (c->plot == GFT_PLOT_PNG && gf_plot_available())
        failed |= gft_svg_copies(c, dir, names, n, "figures_svg.gp");
    return failed;
}

int gft_render_batch(const gft_config *c, const char *dir, const char *const *names, size_t n,
                     int soft)
{
    char path[1400], script[1400];
    gf_atomic_file a;
    FILE *f;
    size_t found = 0;
    gf_status st;
    if (snprintf(path, sizeof path, "%s/figures.gp", dir) >= (int)sizeof path) {
        gft_error("%s: path too long", dir);
        return 1;
    }
    if ((st = gf_atomic_begin(&a, path, "figures.gp")) != GF_OK) {
        gft_error("%s", gf_last_error());
        return 1;
    }
    f = a.f;
    fprintf(f, "# figures.gp: renders every figure of this directory in one gnuplot process.\n"
               "# Run it here: gnuplot figures.gp\n");
    for (size_t i = 0; i < n; i++) {
        FILE *g;
        snprintf(script, sizeof script, "%s/%s.gp", dir, names[i]);
        g = fopen(script, "r");
        if (g == NULL)
            continue; /* not drawn for this run (no loss, no activation layer, NaN) */
        fclose(g);
        fprintf(f, "%sload '%s.gp'\n", found++ ? "reset\n" : "", names[i]);
    }
    if ((st = gf_atomic_end(&a, GF_OK, "figures.gp")) != GF_OK) {
        gft_error("%s", gf_last_error());
        return 1;
    }
    return c->plot == GFT_PLOT_PNG && found > 0 ? gft_render(c, path, dir, soft) : 0;
}

int gft_plot_status(gf_status st, const char *what, int quiet, int soft)
{
    static int told;
    if (st == GF_OK)
        return 0;
    if (soft) {
        /* A run stopped by NaN may have nothing finite to draw: a note, not a failure. */
        if (!quiet)
            fprintf(stderr, "gradflow: note: %s: %s\n", what, gf_last_error());
        return 0;
    }
    if (st == GF_EUNSUPPORTED) {
        if (!told && !quiet)
            fprintf(stderr, "gradflow: note: %s\n", gf_last_error());
        told = 1;
        return 0;
    }
    gft_error("%s: %s", what, gf_last_error());
    return 1;
}

/* A string in a gnuplot script: single quotes doubled, newlines dropped. */
static void gp_string(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', f);
        if (*s != '\n' && *s != '\r')
            fputc(*s, f);
    }
    fputc('\'', f);
}

/* Start writing path under a temporary name (gradflow/atomic.h); 0, or -1 (said). */
static int begin_written(gf_atomic_file *a, const char *path)
{
    if (gf_atomic_begin(a, path, "gradflow") != GF_OK) {
        gft_error("%s", gf_last_error());
        return -1;
    }
    return 0;
}

/* Rename the temporary file over a->path when every write succeeded; 0, or -1 when it
 * was not written whole (said; the temporary file removed). */
static int close_written(gf_atomic_file *a)
{
    if (gf_atomic_end(a, GF_OK, "gradflow") != GF_OK) {
        gft_error("%s", gf_last_error());
        return -1;
    }
    return 0;
}

/* The line styles of src/analysis/plot_training.c: colour, dash and point per line. */
static const char *const style_colours[] = {"#0072b2", "#d55e00", "#009e73", "#cc79a7",
                                            "#e69f00", "#56b4e9", "#000000", "#8c564b",
                                            "#7f7f7f", "#bcbd22", "#17becf", "#9467bd"};
static const int style_points[] = {7, 5, 9, 11, 13, 2, 1, 3, 4, 6, 8, 10};

const char *gft_line_colour(size_t i) { return style_colours[i % 12]; }

void gft_line_style(FILE *f, size_t i)
{
    fprintf(f, " lc rgb '%s' dt %zu pt %d", style_colours[i % 12], i % 5 + 1,
            style_points[i % 12]);
}

/* One block of NAME.dat: "t norm" for t = 1..T (norms NULL: every value missing). */
static void write_time_block(FILE *f, const char *label, const char *when, const double *norms,
                             size_t T, int first_block)
{
    fprintf(f, "%s# %s (%s)\n", first_block ? "" : "\n\n", label, when);
    for (size_t t = 0; t < T; t++) {
        double v = norms != NULL ? norms[t] : NAN;
        /* A log axis cannot hold 0 or NaN: missing points. */
        if (isfinite(v) && v > 0)
            fprintf(f, "%zu %.6g\n", t + 1, v);
        else
            fprintf(f, "%zu NaN\n", t + 1);
    }
}

/* DIR/NAME.dat: one block per curve (gnuplot's index), so curves of different T share
 * the file; with ends, then one block per curve at its last step. Returns 0, or -1
 * (said). */
static int write_time_data(const char *path, const gft_curve *curves, size_t n, int ends)
{
    gf_atomic_file a;
    if (begin_written(&a, path) != 0)
        return -1;
    fprintf(a.f, "# t ||dL/dh_t||, one block per curve%s\n",
            ends ? ": the first steps, then the last steps" : "");
    for (size_t i = 0; i < n; i++)
        write_time_block(a.f, curves[i].label, ends ? "first step" : "curve", curves[i].norms,
                         curves[i].T, i == 0);
    for (size_t i = 0; ends && i < n; i++)
        write_time_block(a.f, curves[i].label, "last step", curves[i].end, curves[i].T, 0);
    return close_written(&a);
}

/* The terminal lines of a time figure of width x height (an SVG copy when gf_svg is
 * defined, for the HTML page). */
static void time_terminal(FILE *f, const char *name, gf_plot_format format, int width,
                          int height)
{
    if (format == GF_PLOT_SVG) {
        fprintf(f, "set terminal svg size %d,%d enhanced font 'sans,12' background rgb "
                   "'white'\nset output '%s.svg'\n", width, height, name);
        return;
    }
    fprintf(f, "if (exists('gf_svg')) {\n"
               "    set terminal svg size %d,%d enhanced font 'sans,12' background rgb "
               "'white'\n"
               "    set output '%s.svg'\n"
               "} else {\n"
               "    if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
               "        set terminal pngcairo size %d,%d enhanced font 'sans,10'\n"
               "    } else {\n"
               "        set terminal png size %d,%d enhanced\n"
               "    }\n"
               "    set output '%s.png'\n"
               "}\n", width, height, name, width, height, width, height, name);
}

/* One panel: every curve, blocks first .. first + n - 1 of NAME.dat. */
static void time_panel(FILE *f, const char *name, const gft_curve *curves, size_t n,
                       size_t first)
{
    fputs("plot ", f);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%s'%s.dat' index %zu using 1:2 with linespoints lw 2 ps 0.7",
                i ? ", \\\n     " : "", name, first + i);
        gft_line_style(f, i);
        fputs(" title ", f);
        gp_string(f, curves[i].label);
    }
    fputc('\n', f);
}

/* DIR/NAME.gp drawing every curve of NAME.dat, log y (powers of ten when the values span
 * more than 100) on [lo, hi] widened a little, t from 1 to t_max; with ends, two panels
 * on that one y range. Returns 0, or -1 (said). */
static int write_time_script(const char *path, const char *name, const char *title,
                             const gft_curve *curves, size_t n, gf_plot_format format,
                             double lo, double hi, size_t t_max, int ends)
{
    gf_atomic_file a;
    FILE *f;
    if (begin_written(&a, path) != 0)
        return -1;
    f = a.f;
    fprintf(f, "# %s.gp: written by gradflow %s. Run it in this directory: gnuplot %s.gp\n",
            name, gf_version(), name);
    time_terminal(f, name, format, ends ? 1300 : 900, 520);
    fputs("set datafile missing 'NaN'\n"
          "set grid lc rgb '#d0d0d0'\n"
          "set key noenhanced top left\n", f);
    fputs(ends ? "set multiplot layout 1,2 title " : "set title ", f);
    gp_string(f, title);
    fputs(" noenhanced font ',12'\n"
          "set xlabel 't (step of the sequence; the loss reads h_T)' noenhanced\n"
          "set ylabel '||dL/dh_t||'\n"
          "set logscale y\n", f);
    fprintf(f, "set format y '%s'\n", hi / lo > 100 ? "10^{%L}" : "%g");
    fprintf(f, "set yrange [%.6g:%.6g]\n", lo / 1.5, hi * 1.5);
    if (t_max > 1)
        fprintf(f, "set xrange [1:%zu]\n", t_max);
    if (ends)
        fputs("set title 'at the first step (initialisation)'\n", f);
    time_panel(f, name, curves, n, 0);
    if (ends) {
        fputs("set title 'at the last recorded step'\n", f);
        time_panel(f, name, curves, n, n);
        fputs("unset multiplot\n", f);
    }
    return close_written(&a);
}

/* Track the positive finite values of v[0..T) into [*lo, *hi]. */
static void track_range(const double *v, size_t T, double *lo, double *hi)
{
    for (size_t t = 0; v != NULL && t < T; t++)
        if (isfinite(v[t]) && v[t] > 0)
            *lo = fmin(*lo, v[t]), *hi = fmax(*hi, v[t]);
}

int gft_time_figure(const char *dir, const char *name, const char *title,
                    const gft_curve *curves, size_t n, gf_plot_format format)
{
    char dat[1300], gp[1300], file[200];
    double lo = INFINITY, hi = 0;
    size_t t_max = 1;
    int ends = 0;
    snprintf(file, sizeof file, "%s.dat", name);
    if (gft_path_in(dat, sizeof dat, dir, file) != 0)
        return -1;
    snprintf(file, sizeof file, "%s.gp", name);
    if (gft_path_in(gp, sizeof gp, dir, file) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        track_range(curves[i].norms, curves[i].T, &lo, &hi);
        track_range(curves[i].end, curves[i].T, &lo, &hi);
        ends |= curves[i].end != NULL;
        t_max = curves[i].T > t_max ? curves[i].T : t_max;
    }
    if (!(hi > 0))
        return 1;
    if (write_time_data(dat, curves, n, ends) != 0)
        return -1;
    return write_time_script(gp, name, title, curves, n, format, lo, hi, t_max, ends);
}
