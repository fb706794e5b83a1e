/* src/analysis/plot_hist_steps.c: the histograms of figure (5) over the steps of
 * training (6): snapshots appended to one CSV while the net trains, then drawn as one
 * heat map per layer and quantity (the "colourful dimension" view: x = step, y = bin).
 * Each snapshot keeps its own bin ranges, so cells are drawn as boxes. docs/figures.md. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gradflow/report.h"
#include "core/internal.h"
#include "analysis/plot.h"

enum { MAX_ROWS_SHOWN = 6 };

static const char steps_header[] = "step,which,unit,layer,kind,lo,hi,count";

gf_status gf_hist_append(const char *path, const gf_net *net, uint64_t step, size_t bins)
{
    static const char who[] = "gf_hist_append";
    char prefix[32];
    GF_CHECK_NOT_NULL(path, who);
    GF_CHECK_NOT_NULL(net, who);
    if (bins == 0)
        bins = 30;
    if (bins > 100000)
        return gf_fail(GF_EINVAL, "%s: %zu bins is too many (at most 100000)", who, bins);
    FILE *f = fopen(path, "a");
    if (f == NULL)
        return gf_fail(GF_EIO, "%s: cannot open '%s': %s", who, path, strerror(errno));
    /* A new (empty) file gets the header; "a" puts the position at the end. */
    if (fseek(f, 0, SEEK_END) == 0 && ftell(f) == 0)
        fprintf(f, "%s\n", steps_header);
    snprintf(prefix, sizeof prefix, "%llu,", (unsigned long long)step);
    gf_status st = gf_hist_emit(f, net, bins, prefix, 1, who);
    if (st != GF_OK) {
        fclose(f);
        return st;
    }
    int bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return gf_fail(GF_EIO, "%s: cannot write '%s': %s", who, path, strerror(errno));
    return GF_OK;
}

/* ---- Reading the CSV ----------------------------------------------------------------- */

typedef struct step_row {
    uint64_t step;
    int which;      /* 0 act, 1 log10_grad, 2 grad_zero */
    size_t unit;
    char kind[24];
    double lo, hi, count;
} step_row;

/* One line of hist_steps.csv: step,which,unit,layer,kind,lo,hi,count; steps never go
 * backwards. */
static const char *parse_step_row(const char *line, void *row, const void *prev)
{
    step_row *h = row;
    char which[16];
    unsigned long long step;
    unsigned long unit, layer;
    int used = 0;
    if (sscanf(line, "%llu,%15[a-z0-9_],%lu,%lu,%23[^,],%lf,%lf,%lf%n", &step, which, &unit,
               &layer, h->kind, &h->lo, &h->hi, &h->count, &used) != 8 || line[used] != '\0' ||
        !(h->count >= 0) || unit == 0)
        return "malformed line";
    h->step = step;
    h->unit = unit;
    h->which = strcmp(which, "act") == 0 ? 0 : strcmp(which, "log10_grad") == 0 ? 1
               : strcmp(which, "grad_zero") == 0 ? 2 : -1;
    if (h->which < 0 || (h->which < 2 && !(h->hi > h->lo)))
        return "malformed line";
    if (prev != NULL && h->step < ((const step_row *)prev)->step)
        return "steps go backwards";
    return NULL;
}

static gf_status read_steps(const char *path, step_row **rows, size_t *n_rows,
                            const char *who)
{
    void *r = NULL;
    gf_status st = gf_plot_read_rows(&r, n_rows, path, steps_header,
                                     "a histogram-over-steps CSV", sizeof(step_row),
                                     parse_step_row, who);
    *rows = r;
    return st;
}

/* ---- The data file ------------------------------------------------------------------- */

/* The x extent of the cell of the snapshot at step: from halfway to the previous
 * snapshot to halfway to the next (the edge ones as wide as their neighbour's half). */
static void cell_x(const uint64_t *steps, size_t n, size_t i, double *x0, double *x1)
{
    double s = (double)steps[i];
    double before = i > 0 ? s - (double)steps[i - 1] : i + 1 < n ? (double)steps[i + 1] - s : 1;
    double after = i + 1 < n ? (double)steps[i + 1] - s : before;
    *x0 = s - 0.5 * before;
    *x1 = s + 0.5 * after;
}

/* What one panel (a unit and a quantity) holds: its value range, its colour range, and
 * whether anything was written (blocks without a point draw nothing but a warning). */
typedef struct panel {
    double ylo, yhi, cmax;
    size_t cells, zero_cols;
    char kind[24];
} panel;

/* The cells of (unit, which) at every snapshot: x0 x1 y0 y1 fraction; which = 2 writes
 * the columns where every dL/dh is exactly 0, spanning the gradient panel's range. */
static void write_cells(FILE *f, const step_row *r, size_t n, const uint64_t *steps,
                        size_t n_steps, size_t unit, int which, panel *p)
{
    size_t i = 0;
    for (size_t s = 0; s < n_steps; s++) {
        double total = 0, zeros = 0, x0, x1;
        size_t b = i;
        while (i < n && r[i].step == steps[s])
            i++;
        for (size_t j = b; j < i; j++)
            if (r[j].unit == unit && r[j].which == (which == 2 ? 1 : which))
                total += r[j].count;
            else if (r[j].unit == unit && r[j].which == 2)
                zeros += r[j].count;
        cell_x(steps, n_steps, s, &x0, &x1);
        if (which == 2) {
            if (total == 0 && zeros > 0) {
                fprintf(f, "%.6g %.6g %.6g %.6g 0\n", x0, x1, p->ylo, p->yhi);
                p->zero_cols++;
            }
            continue;
        }
        for (size_t j = b; j < i; j++) {
            if (r[j].unit != unit || r[j].which != which || r[j].count == 0)
                continue; /* an empty bin stays white: no value there */
            fprintf(f, "%.6g %.6g %.9g %.9g %.6g\n", x0, x1, r[j].lo, r[j].hi,
                    r[j].count / total);
            p->cmax = fmax(p->cmax, r[j].count / total);
            p->cells++;
        }
    }
}

/* The value range of (unit, which) over every snapshot, and the unit's kind. */
static void panel_range(const step_row *r, size_t n, size_t unit, int which, panel *p)
{
    p->ylo = INFINITY, p->yhi = -INFINITY;
    for (size_t j = 0; j < n; j++) {
        if (r[j].unit != unit)
            continue;
        snprintf(p->kind, sizeof p->kind, "%s", r[j].kind);
        if (r[j].which == which && r[j].count > 0)
            p->ylo = fmin(p->ylo, r[j].lo), p->yhi = fmax(p->yhi, r[j].hi);
    }
    if (!(p->ylo < p->yhi))
        p->ylo = -1, p->yhi = 0;
}

/* ---- The script ---------------------------------------------------------------------- */

static void write_panel(FILE *f, const char *name, size_t unit, int which, const panel *p,
                        size_t block, double xlo, double xhi)
{
    /* The kind is printed literally ("leaky_relu" is no subscript). */
    fprintf(f, "set title 'layer %zu (%s): %s' noenhanced\n", unit, p->kind,
            which ? "log10 |dL/dh|" : "activation values");
    fputs(which ? "set ylabel 'log_{10} |dL/dh|'\n" : "set ylabel 'value'\n", f);
    /* A margin of a cell's least height: a full bin at an edge shows whole. */
    double m = (p->yhi - p->ylo) / 120;
    fprintf(f, "set xrange [%.6g:%.6g]\nset yrange [%.9g:%.9g]\n", xlo, xhi, p->ylo - m,
            p->yhi + m);
    /* Set from the data: gnuplot's colour autoscale leaves out cells that reach past the
     * axes (the edge ones). */
    fprintf(f, "set cbrange [0:%.6g]\n", p->cmax > 0 ? p->cmax : 1);
    if (which && p->zero_cols > 0)
        fputs("set key top right opaque box\n", f);
    else
        fputs("unset key\n", f);
    fputs("plot ", f);
    int first = 1;
    if (p->cells > 0) {
        gf_plot_quote2(f, name, ".dat");
        /* Cells overlap by 2% of their size, so anti-aliasing leaves no seams; and they
         * are at least 1/60 of the panel high (2 h), so that a bin that holds every value
         * (a dead layer's zeros, on a range set by earlier steps) still shows. */
        double h = (p->yhi - p->ylo) / 120;
        fprintf(f, " index %zu using (($1+$2)/2):(($3+$4)/2):($1-0.02*($2-$1)):"
                   "($2+0.02*($2-$1)):(($3+$4)/2-(($4-$3)*0.51>%.6g?($4-$3)*0.51:%.6g)):"
                   "(($3+$4)/2+(($4-$3)*0.51>%.6g?($4-$3)*0.51:%.6g)):5 with boxxyerror "
                   "fs solid 1.0 noborder lc palette notitle", block, h, h, h, h);
        first = 0;
    }
    if (which && p->zero_cols > 0) {
        fputs(first ? "" : ", \\\n     ", f);
        gf_plot_quote2(f, name, ".dat");
        fprintf(f, " index %zu using (($1+$2)/2):(($3+$4)/2):1:2:3:4 with boxxyerror "
                   "lc rgb '#404040' fs pattern 4 border lc rgb '#404040' title 'every dL/dh exactly 0'",
                block + 1);
        first = 0;
    }
    if (first)
        fputs("NaN notitle", f);
    fputc('\n', f);
}

static void write_steps_script(FILE *f, const char *name, const gf_plot_options *o,
                               const size_t *chosen, size_t m, const panel (*p)[2],
                               double xlo, double xhi)
{
    gf_plot_script_begin(f, name, o, 1300, 120 + 250 * (int)m);
    char layout[64];
    snprintf(layout, sizeof layout, "set multiplot layout %zu,2 title", m);
    gf_plot_title_line(f, layout, o, "Histograms over training: the fraction of each "
                                     "layer's values per bin, step by step");
    fputs("set xlabel 'step'\n"
          "set cblabel 'fraction of the layer' offset 1,0\n"
          "set grid noxtics noytics\n"
          "set tics out\n"
          /* Room on the right for the colour bar's labels: never clipped. */
          "set lmargin 11\nset rmargin 17\n"
          "set palette defined (0 '#440154', 1 '#3b528b', 2 '#21908d', 3 '#5dc963', "
          "4 '#fde725')\n", f);
    for (size_t j = 0; j < m; j++)
        for (int w = 0; w < 2; w++)
            write_panel(f, name, chosen[j], w, &p[j][w], 3 * j + (size_t)w, xlo, xhi);
    fputs("unset multiplot\n", f);
}

gf_status gf_plot_hist_steps(const char *dir, const char *name, const char *hist_csv,
                             const gf_plot_options *opt)
{
    static const char who[] = "gf_plot_hist_steps";
    char path[GF_PLOT_PATH_CAP], script[GF_PLOT_PATH_CAP];
    gf_plot_options o = opt ? *opt : gf_plot_options_default();
    step_row *rows = NULL;
    uint64_t *steps = NULL;
    size_t n_rows = 0, n_steps = 0, max_unit = 0, chosen[MAX_ROWS_SHOWN], m;
    panel p[MAX_ROWS_SHOWN][2];
    double xlo, xhi, unused;
    gf_status st;
    FILE *f;
    gf_atomic_file af;

    GF_CHECK_NOT_NULL(hist_csv, who);
    if ((st = gf_plot_prepare(dir, name, &o, who)) != GF_OK ||
        (st = read_steps(hist_csv, &rows, &n_rows, who)) != GF_OK)
        return st;
    steps = gf_calloc(n_rows, sizeof *steps);
    if (steps == NULL) {
        st = gf_fail(GF_ENOMEM, "%s: out of memory", who);
        goto out;
    }
    for (size_t i = 0; i < n_rows; i++) {
        max_unit = rows[i].unit > max_unit ? rows[i].unit : max_unit;
        if (n_steps == 0 || steps[n_steps - 1] != rows[i].step)
            steps[n_steps++] = rows[i].step;
    }
    m = gf_plot_choose_units(chosen, max_unit, MAX_ROWS_SHOWN);
    if ((st = gf_plot_open_file(&af, &f, path, dir, name, ".dat", who)) != GF_OK)
        goto out;
    fputs("# x0 x1 y0 y1 fraction: one cell per (step, bin); blocks per layer: activations, "
          "log10|dL/dh|, columns where every dL/dh is exactly 0\n", f);
    memset(p, 0, sizeof p);
    for (size_t j = 0; j < m; j++) {
        panel_range(rows, n_rows, chosen[j], 0, &p[j][0]);
        panel_range(rows, n_rows, chosen[j], 1, &p[j][1]);
        for (int w = 0; w < 3; w++) {
            fprintf(f, "%s# layer %zu, %s\n", j + (size_t)w ? "\n\n" : "", chosen[j],
                    w == 0 ? "activations" : w == 1 ? "log10|dL/dh|" : "all dL/dh zero");
            write_cells(f, rows, n_rows, steps, n_steps, chosen[j], w, &p[j][w < 2 ? w : 1]);
            /* gnuplot counts a block only when it has a line. */
            fputs("NaN NaN NaN NaN NaN\n", f);
        }
    }
    if ((st = gf_plot_close_file(&af, who)) != GF_OK)
        goto out;
    cell_x(steps, n_steps, 0, &xlo, &unused);
    cell_x(steps, n_steps, n_steps - 1, &unused, &xhi);
    if ((st = gf_plot_open_file(&af, &f, script, dir, name, ".gp", who)) != GF_OK)
        goto out;
    write_steps_script(f, name, &o, chosen, m, (const panel(*)[2])p, xlo, xhi);
    st = gf_plot_finish(&af, script, &o, who);
out:
    gf_free(rows);
    gf_free(steps);
    return st;
}
