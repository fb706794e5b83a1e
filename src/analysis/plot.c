/* src/analysis/plot.c: figures as gnuplot scripts. Each figure is a data file (<name>.dat,
 * whitespace-separated, NaN for a missing value) and a script (<name>.gp) that reads it
 * by its relative name, rendered by running gnuplot in the figure's directory. The
 * scripts pick pngcairo when gnuplot has it, else the libgd png terminal, so Debian's
 * gnuplot-nox renders them. The figures are described in docs/figures.md. POSIX (fork). */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gradflow/registry.h"
#include "gradflow/report.h"
#include "core/internal.h"

enum { PATH_CAP = 4096, MAX_HIST_CURVES = 6, MAX_HEAT_COLUMNS = 400 };

/* ---- Options ------------------------------------------------------------------------- */

static const char *const format_names[] = {"png", "svg", "none"};

const char *gf_plot_format_name(gf_plot_format format)
{
    if ((int)format < 0 || format > GF_PLOT_NONE)
        return NULL;
    return format_names[format];
}

gf_status gf_plot_format_from_name(gf_plot_format *out, const char *name)
{
    GF_CHECK_NOT_NULL(out, "gf_plot_format_from_name");
    GF_CHECK_NOT_NULL(name, "gf_plot_format_from_name");
    for (int i = 0; i <= GF_PLOT_NONE; i++)
        if (strcmp(name, format_names[i]) == 0) {
            *out = (gf_plot_format)i;
            return GF_OK;
        }
    return gf_fail(GF_ENOTFOUND, "plot: unknown format '%s' (known: png, svg, none)", name);
}

gf_plot_options gf_plot_options_default(void)
{
    gf_plot_options o;
    memset(&o, 0, sizeof o);
    o.format = GF_PLOT_PNG;
    o.step = GF_PLOT_STEP_FIRST;
    return o;
}

static gf_status check_options(const gf_plot_options *o, const char *who)
{
    if ((int)o->format < 0 || o->format > GF_PLOT_NONE)
        return gf_fail(GF_EINVAL, "%s: invalid format %d", who, (int)o->format);
    if (o->width < 0 || o->height < 0 || o->width > 20000 || o->height > 20000)
        return gf_fail(GF_EINVAL, "%s: image size %dx%d out of range", who, o->width, o->height);
    return GF_OK;
}

/* ---- Telemetry helpers --------------------------------------------------------------- */

/* The records of one step are contiguous; [*begin, *end) is the group holding index i. */
static void group_at(const gf_telemetry *t, size_t i, size_t *begin, size_t *end)
{
    size_t n = gf_telemetry_count(t);
    uint64_t step = gf_telemetry_at(t, i)->step;
    size_t b = i, e = i;
    while (b > 0 && gf_telemetry_at(t, b - 1)->step == step)
        b--;
    while (e < n && gf_telemetry_at(t, e)->step == step)
        e++;
    *begin = b;
    *end = e;
}

/* The group of the wanted step: GF_PLOT_STEP_FIRST/LAST, else the last recorded step at
 * or before it (the first step when none is). t holds at least one record. */
static void group_for(const gf_telemetry *t, uint64_t want, size_t *begin, size_t *end)
{
    size_t n = gf_telemetry_count(t);
    if (want == GF_PLOT_STEP_FIRST || gf_telemetry_at(t, 0)->step >= want) {
        group_at(t, 0, begin, end);
        return;
    }
    if (want == GF_PLOT_STEP_LAST) {
        group_at(t, n - 1, begin, end);
        return;
    }
    /* Binary search for the last record whose step <= want (steps never decrease). */
    size_t lo = 0, hi = n; /* invariant: at(lo)->step <= want, at(hi) > want or hi == n */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (gf_telemetry_at(t, mid)->step <= want)
            lo = mid;
        else
            hi = mid;
    }
    group_at(t, lo, begin, end);
}

static int is_linear(const gf_record *r)
{
    return (gf_layer_kind_traits(r->kind) & GF_KIND_LINEAR) != 0;
}

/* Whether a group has a linear layer: figures per layer then show only those. */
static int group_has_linear(const gf_telemetry *t, size_t b, size_t e)
{
    for (size_t i = b; i < e; i++)
        if (is_linear(gf_telemetry_at(t, i)))
            return 1;
    return 0;
}

/* ---- Files --------------------------------------------------------------------------- */

static gf_status open_file(FILE **f, char *path, const char *dir, const char *name,
                           const char *ext, const char *who)
{
    int k = snprintf(path, PATH_CAP, "%s/%s%s", dir, name, ext);
    if (k < 0 || k >= PATH_CAP)
        return gf_fail(GF_EINVAL, "%s: path '%s/%s%s' is too long", who, dir, name, ext);
    *f = fopen(path, "w");
    if (*f == NULL)
        return gf_fail(GF_EIO, "%s: cannot open '%s': %s", who, path, strerror(errno));
    return GF_OK;
}

static gf_status close_file(FILE *f, const char *path, const char *who)
{
    int bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return gf_fail(GF_EIO, "%s: cannot write '%s': %s", who, path, strerror(errno));
    return GF_OK;
}

/* A value for a data file; NaN marks a missing point (set datafile missing 'NaN'). Zero
 * and negative values cannot sit on a log axis: those columns pass log = 1. */
static void put(FILE *f, double v, int log)
{
    if (!isfinite(v) || (log && v <= 0))
        fputs(" NaN", f);
    else
        fprintf(f, " %.6g", v);
}

/* A gnuplot single-quoted string holding a then b (b may be NULL): quotes inside are
 * doubled, newlines dropped. */
static void gp_quote2(FILE *f, const char *a, const char *b)
{
    const char *parts[2] = {a, b};
    fputc('\'', f);
    for (int p = 0; p < 2; p++)
        for (const char *s = parts[p]; s && *s; s++) {
            if (*s == '\'')
                fputc('\'', f);
            if (*s != '\n' && *s != '\r')
                fputc(*s, f);
        }
    fputc('\'', f);
}

static void gp_quote(FILE *f, const char *s) { gp_quote2(f, s, NULL); }

/* Terminal, output and common settings. */
static void script_begin(FILE *f, const char *name, const gf_plot_options *o, int w, int h)
{
    if (o->width > 0)
        w = o->width;
    if (o->height > 0)
        h = o->height;
    fprintf(f, "# %s.gp: written by gradflow %s. Run it in this directory: gnuplot %s.gp\n",
            name, gf_version(), name);
    if (o->format == GF_PLOT_SVG) {
        fprintf(f, "set terminal svg size %d,%d enhanced font 'sans,12' background rgb 'white'\n",
                w, h);
        fputs("set output ", f);
        gp_quote2(f, name, ".svg");
    } else {
        /* Debian's gnuplot-nox has pngcairo; a build without cairo still has png. */
        fprintf(f,
                "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
                "    set terminal pngcairo size %d,%d enhanced font 'sans,10'\n"
                "} else {\n"
                "    set terminal png size %d,%d enhanced\n"
                "}\n",
                w, h, w, h);
        fputs("set output ", f);
        gp_quote2(f, name, ".png");
    }
    fputs("\nset datafile missing 'NaN'\n"
          "set grid lc rgb '#d0d0d0'\n"
          "set key noenhanced\n", f);
}

/* The overall title: the caller's, else the figure's own. */
static void title_line(FILE *f, const char *cmd, const gf_plot_options *o, const char *deflt)
{
    fprintf(f, "%s ", cmd);
    gp_quote(f, o->title ? o->title : deflt);
    fputs(" noenhanced font ',12'\n", f);
}

/* 10^k tick labels when values span more than two decades, plain numbers otherwise. */
static void log_axis(FILE *f, const char *axis, double lo, double hi)
{
    fprintf(f, "set logscale %s\nset %stics autofreq\n", axis, axis);
    if (lo > 0 && hi / lo > 100) {
        fprintf(f, "set format %s '10^{%%L}'\n", axis);
        return;
    }
    fprintf(f, "set format %s '%%g'\n", axis);
    if (!(lo > 0 && hi >= lo))
        return;
    /* Within two decades gnuplot would label only the powers of ten: label 1, 2, 5. */
    int k0 = (int)floor(log10(lo)), k1 = (int)ceil(log10(hi));
    fprintf(f, "set %stics (", axis);
    for (int k = k0; k <= k1; k++)
        for (int m = 0; m < 3; m++)
            fprintf(f, "%s%ge%d", k == k0 && m == 0 ? "" : ", ", (double)(m == 0 ? 1 : m == 1 ? 2 : 5),
                    k);
    fputs(")\n", f);
}

/* Range of the positive finite values seen, for the log axes. */
typedef struct range {
    double lo, hi;
    size_t count;
} range;

static range range_empty(void)
{
    range r = {INFINITY, 0, 0};
    return r;
}

static void track(range *r, double v)
{
    if (isfinite(v) && v > 0) {
        r->lo = fmin(r->lo, v);
        r->hi = fmax(r->hi, v);
        r->count++;
    }
}

static const char *run_label(const gf_plot_run *r, size_t i, char *buf, size_t cap)
{
    if (r->label != NULL)
        return r->label;
    snprintf(buf, cap, "run %zu", i + 1);
    return buf;
}

static gf_status check_runs(const gf_plot_run *runs, size_t n, int need_records, const char *who)
{
    GF_CHECK_NOT_NULL(runs, who);
    if (n == 0)
        return gf_fail(GF_EINVAL, "%s: no run to plot", who);
    for (size_t i = 0; i < n; i++) {
        if (runs[i].telemetry == NULL && (need_records || runs[i].loss == NULL))
            return gf_fail(GF_EINVAL, "%s: run %zu has no telemetry", who, i);
        if (need_records && gf_telemetry_count(runs[i].telemetry) == 0)
            return gf_fail(GF_EINVAL, "%s: run %zu has no record", who, i);
        if (runs[i].loss_steps != NULL && runs[i].loss == NULL)
            return gf_fail(GF_EINVAL, "%s: run %zu has loss_steps without loss", who, i);
        if (runs[i].n_loss > 0 && runs[i].loss == NULL)
            return gf_fail(GF_EINVAL, "%s: run %zu has n_loss %zu but no loss", who, i,
                           runs[i].n_loss);
    }
    return GF_OK;
}

/* Create the directory, check the arguments common to every figure. */
static gf_status prepare(const char *dir, const char *name, const gf_plot_options *o,
                         const char *who)
{
    gf_status st;
    GF_CHECK_NOT_NULL(dir, who);
    GF_CHECK_NOT_NULL(name, who);
    if (*dir == '\0')
        return gf_fail(GF_EINVAL, "%s: empty directory name", who);
    if (*name == '\0' || strchr(name, '/') != NULL)
        return gf_fail(GF_EINVAL, "%s: figure name '%s' must be non-empty and have no '/'",
                       who, name);
    if ((st = check_options(o, who)) != GF_OK)
        return st;
    return gf_mkdir_p(dir);
}

/* Close the script and render it unless the format says not to. */
static gf_status finish(FILE *f, const char *script, const gf_plot_options *o, const char *who)
{
    gf_status st = close_file(f, script, who);
    if (st != GF_OK || o->format == GF_PLOT_NONE)
        return st;
    return gf_plot_render(script);
}

/* ---- (1) The backward signal per layer ----------------------------------------------- */

gf_status gf_plot_signal(const char *dir, const char *name, const gf_plot_run *runs,
                         size_t n_runs, const gf_plot_options *opt)
{
    static const char who[] = "gf_plot_signal";
    char path[PATH_CAP], script[PATH_CAP], buf[32], title[128];
    gf_plot_options o = opt ? *opt : gf_plot_options_default();
    gf_status st;
    FILE *f;
    range sig = range_empty(), wg = range_empty();
    size_t max_layers = 0;
    uint64_t shown = 0;
    int same_step = 1;

    if ((st = check_runs(runs, n_runs, 1, who)) != GF_OK ||
        (st = prepare(dir, name, &o, who)) != GF_OK)
        return st;
    size_t *valid_w = gf_calloc(n_runs, sizeof *valid_w);
    if (valid_w == NULL)
        return gf_fail(GF_ENOMEM, "%s: out of memory", who);
    if ((st = open_file(&f, path, dir, name, ".dat", who)) != GF_OK)
        goto out;

    /* One block per run (gnuplot's index i): depth k, network layer, signal, weight
     * gradient, and the predicted signal s_L f^(L-k), anchored at the last layer. */
    fputs("# depth layer grad_out_norm weight_grad_norm predicted\n", f);
    for (size_t i = 0; i < n_runs; i++) {
        const gf_telemetry *t = runs[i].telemetry;
        size_t b, e, L = 0, k = 0;
        group_for(t, o.step, &b, &e);
        uint64_t step = gf_telemetry_at(t, b)->step;
        if (i > 0 && step != shown)
            same_step = 0;
        shown = step;
        int lin = group_has_linear(t, b, e);
        double s_last = NAN, fac = runs[i].predicted_factor;
        for (size_t j = b; j < e; j++)
            if (!lin || is_linear(gf_telemetry_at(t, j))) {
                L++;
                s_last = gf_telemetry_at(t, j)->grad_out_norm;
            }
        max_layers = L > max_layers ? L : max_layers;
        fprintf(f, "%s# run %zu: %s, step %llu\n", i ? "\n\n" : "", i,
                run_label(&runs[i], i, buf, sizeof buf), (unsigned long long)step);
        for (size_t j = b; j < e; j++) {
            const gf_record *r = gf_telemetry_at(t, j);
            if (lin && !is_linear(r))
                continue;
            k++;
            double pred = (isfinite(fac) && fac > 0) ? s_last * pow(fac, (double)(L - k)) : NAN;
            fprintf(f, "%zu %u", k, (unsigned)r->layer);
            put(f, r->grad_out_norm, 1);
            put(f, r->weight_grad_norm, 1);
            put(f, pred, 1);
            fputc('\n', f);
            track(&sig, r->grad_out_norm);
            track(&sig, pred);
            size_t before = wg.count;
            track(&wg, r->weight_grad_norm);
            valid_w[i] += wg.count - before;
        }
    }
    if ((st = close_file(f, path, who)) != GF_OK)
        goto out;
    if (sig.count == 0) {
        st = gf_fail(GF_EINVAL, "%s: no finite positive backward signal to plot", who);
        goto out;
    }

    if ((st = open_file(&f, script, dir, name, ".gp", who)) != GF_OK)
        goto out;
    /* Both panels get the same plot area, with room below for the left panel's key
     * (two entries per row when the labels are short enough): otherwise their heights
     * would differ. */
    size_t entries = n_runs, longest = 0;
    for (size_t i = 0; i < n_runs; i++) {
        size_t len = strlen(run_label(&runs[i], i, buf, sizeof buf));
        longest = len > longest ? len : longest;
        entries += isfinite(runs[i].predicted_factor) && runs[i].predicted_factor > 0;
    }
    size_t key_rows = longest <= 26 ? (entries + 1) / 2 : entries;
    int height = 470 + 20 * (int)key_rows;
    script_begin(f, name, &o, wg.count ? 1300 : 760, height);
    if (same_step)
        snprintf(title, sizeof title, "Backward signal through the layers, step %llu%s",
                 (unsigned long long)shown, shown == 0 ? " (initialisation)" : "");
    else
        snprintf(title, sizeof title, "Backward signal through the layers");
    if (wg.count) {
        title_line(f, "set multiplot layout 1,2 title", &o, title);
        /* Margins as fractions of the canvas (the caller may have resized it). */
        int h = o.height > 0 ? o.height : height;
        fprintf(f, "set lmargin at screen 0.07\nset tmargin at screen %.4f\n"
                   "set bmargin at screen %.4f\n",
                1 - 70.0 / h, (80.0 + 20.0 * (double)key_rows) / h);
    } else {
        title_line(f, "set title", &o, title);
    }
    fputs("set key below horizontal maxcols 2 samplen 2\n"
          "set xlabel 'linear layer (1 = input side)'\n", f);
    fprintf(f, "set xrange [0.5:%zu.5]\n", max_layers);
    if (max_layers <= 25)
        fputs("set xtics 1\n", f);
    if (wg.count)
        fputs("set rmargin at screen 0.48\n"
              "set title 'backward signal: dL/dh flowing into each layer'\n", f);
    fputs("set ylabel '||dL/dh|| at the layer output'\n", f);
    log_axis(f, "y", sig.lo, sig.hi);
    fputs("plot ", f);
    for (size_t i = 0; i < n_runs; i++) {
        fputs(i ? ", \\\n     " : "", f);
        gp_quote2(f, name, ".dat");
        fprintf(f, " index %zu using 1:3 with linespoints lw 2 pt 7 ps 0.8 lc %zu title ", i,
                i + 1);
        gp_quote(f, run_label(&runs[i], i, buf, sizeof buf));
        double fac = runs[i].predicted_factor;
        if (isfinite(fac) && fac > 0) {
            char pred[64];
            snprintf(pred, sizeof pred, "predicted: x%.3g per layer", fac);
            fprintf(f, ", \\\n     '' index %zu using 1:5 with lines lw 1.5 dt 2 lc %zu title ",
                    i, i + 1);
            gp_quote(f, pred);
        }
    }
    fputc('\n', f);
    if (wg.count) {
        fputs("set lmargin at screen 0.57\nset rmargin at screen 0.98\n"
              "set title 'weight gradient of each layer'\n"
              "set ylabel '||dL/dW||'\n", f);
        log_axis(f, "y", wg.lo, wg.hi);
        fputs("plot ", f);
        int first = 1;
        for (size_t i = 0; i < n_runs; i++) {
            if (valid_w[i] == 0)
                continue;
            fputs(first ? "" : ", \\\n     ", f);
            gp_quote2(f, name, ".dat");
            fprintf(f, " index %zu using 1:4 with linespoints lw 2 pt 5 ps 0.8 lc %zu title ", i,
                    i + 1);
            gp_quote(f, run_label(&runs[i], i, buf, sizeof buf));
            first = 0;
        }
        fputs("\nunset multiplot\n", f);
    }
    st = finish(f, script, &o, who);
out:
    gf_free(valid_w);
    return st;
}

/* ---- (2) Heat map: layer x step ------------------------------------------------------ */

gf_status gf_plot_heatmap(const char *dir, const char *name, const gf_telemetry *t,
                          const gf_plot_options *opt)
{
    static const char who[] = "gf_plot_heatmap";
    char path[PATH_CAP], script[PATH_CAP];
    gf_plot_options o = opt ? *opt : gf_plot_options_default();
    gf_status st;
    FILE *f;
    size_t n_steps = 0, cells = 0, max_k = 0;
    uint64_t first_step = 0;
    double clo = INFINITY, chi = -INFINITY; /* colour range, log10 */

    GF_CHECK_NOT_NULL(t, who);
    if (gf_telemetry_count(t) == 0)
        return gf_fail(GF_EINVAL, "%s: the telemetry holds no record", who);
    if ((st = prepare(dir, name, &o, who)) != GF_OK)
        return st;
    size_t n = gf_telemetry_count(t);
    for (size_t i = 0; i < n; n_steps++) {
        size_t b, e;
        group_at(t, i, &b, &e);
        i = e;
    }
    /* At most MAX_HEAT_COLUMNS columns: every stride-th recorded step. */
    size_t stride = (n_steps + MAX_HEAT_COLUMNS - 1) / MAX_HEAT_COLUMNS;
    if ((st = open_file(&f, path, dir, name, ".dat", who)) != GF_OK)
        return st;
    /* One cell per (step, layer): x = step, y = depth k, half-width of the cell in x
     * (half the distance to the next shown step), log10 of the signal. */
    fputs("# step depth half_width log10_grad_out_norm\n", f);
    first_step = gf_telemetry_at(t, 0)->step;
    size_t col = 0;
    double prev_half = 0.5, first_half = -1, last_half = 0.5;
    uint64_t last_shown = first_step;
    for (size_t i = 0; i < n; col++) {
        size_t b, e;
        group_at(t, i, &b, &e);
        i = e;
        if (col % stride != 0)
            continue;
        uint64_t step = gf_telemetry_at(t, b)->step;
        /* The next shown step, for the cell's width. */
        size_t nb = e, skip = stride - 1;
        while (skip > 0 && nb < n) {
            size_t b2, e2;
            group_at(t, nb, &b2, &e2);
            nb = e2;
            skip--;
        }
        double half = nb < n ? 0.5 * (double)(gf_telemetry_at(t, nb)->step - step) : prev_half;
        prev_half = half;
        if (first_half < 0)
            first_half = half;
        last_half = half;
        last_shown = step;
        int lin = group_has_linear(t, b, e);
        size_t k = 0;
        for (size_t j = b; j < e; j++) {
            const gf_record *r = gf_telemetry_at(t, j);
            if (lin && !is_linear(r))
                continue;
            k++;
            double v = r->grad_out_norm;
            fprintf(f, "%llu %zu %.6g", (unsigned long long)step, k, half);
            put(f, (isfinite(v) && v > 0) ? log10(v) : NAN, 0);
            fputc('\n', f);
            if (isfinite(v) && v > 0) {
                cells++;
                clo = fmin(clo, log10(v));
                chi = fmax(chi, log10(v));
            }
        }
        max_k = k > max_k ? k : max_k;
    }
    if ((st = close_file(f, path, who)) != GF_OK)
        return st;
    if (cells == 0)
        return gf_fail(GF_EINVAL, "%s: no finite positive backward signal to plot", who);

    if ((st = open_file(&f, script, dir, name, ".gp", who)) != GF_OK)
        return st;
    script_begin(f, name, &o, 900, 520);
    title_line(f, "set title", &o, "log10 of the backward signal ||dL/dh||, layer by step");
    fputs("set xlabel 'step'\n"
          "set ylabel 'linear layer (1 = input side)'\n"
          "set cblabel 'log_{10} ||dL/dh||' offset 1.5,0\n"
          "set grid noxtics noytics\n"
          "set tics out\n"
          "set palette defined (0 '#440154', 1 '#3b528b', 2 '#21908d', 3 '#5dc963', "
          "4 '#fde725')\n", f);
    fprintf(f, "set xrange [%.6g:%.6g]\n", (double)first_step - first_half,
            (double)last_shown + last_half);
    fprintf(f, "set yrange [0.5:%zu.5]\n", max_k);
    if (max_k <= 25)
        fputs("set ytics 1\n", f);
    /* gnuplot leaves cells that reach past the axis ranges (the edge ones) out of its
     * colour autoscale: the range is set here, from every cell. */
    if (chi - clo < 0.1) {
        double mid = 0.5 * (clo + chi);
        clo = mid - 0.5;
        chi = mid + 0.5;
    }
    fprintf(f, "set cbrange [%.6g:%.6g]\n", clo, chi);
    fputs("plot ", f);
    gp_quote2(f, name, ".dat");
    /* Cells overlap slightly, so anti-aliasing leaves no seams between them. */
    fputs(" using 1:2:($3*1.05):(0.52):4 with boxxyerror fs solid 1.0 noborder lc palette "
          "notitle\n", f);
    return finish(f, script, &o, who);
}

/* ---- (3) Loss curves ----------------------------------------------------------------- */

gf_status gf_plot_loss(const char *dir, const char *name, const gf_plot_run *runs,
                       size_t n_runs, const gf_plot_options *opt)
{
    static const char who[] = "gf_plot_loss";
    char path[PATH_CAP], script[PATH_CAP], buf[32];
    gf_plot_options o = opt ? *opt : gf_plot_options_default();
    gf_status st;
    FILE *f;
    range all = range_empty();
    int nonpositive = 0;

    if ((st = check_runs(runs, n_runs, 0, who)) != GF_OK ||
        (st = prepare(dir, name, &o, who)) != GF_OK)
        return st;
    size_t *valid = gf_calloc(n_runs, sizeof *valid);
    if (valid == NULL)
        return gf_fail(GF_ENOMEM, "%s: out of memory", who);
    if ((st = open_file(&f, path, dir, name, ".dat", who)) != GF_OK)
        goto out;
    fputs("# step loss\n", f);
    for (size_t i = 0; i < n_runs; i++) {
        fprintf(f, "%s# run %zu: %s\n", i ? "\n\n" : "", i, run_label(&runs[i], i, buf, sizeof buf));
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
                group_at(runs[i].telemetry, j, &b, &e);
                step = gf_telemetry_at(runs[i].telemetry, b)->step;
                loss = gf_telemetry_at(runs[i].telemetry, b)->loss;
                j = e;
            }
            fprintf(f, "%llu", (unsigned long long)step);
            put(f, loss, 0);
            fputc('\n', f);
            if (isfinite(loss)) {
                valid[i]++;
                nonpositive |= loss <= 0;
                track(&all, loss);
            }
        }
    }
    if ((st = close_file(f, path, who)) != GF_OK)
        goto out;
    size_t total = 0;
    for (size_t i = 0; i < n_runs; i++)
        total += valid[i];
    if (total == 0) {
        st = gf_fail(GF_EINVAL, "%s: no finite loss value to plot", who);
        goto out;
    }
    if ((st = open_file(&f, script, dir, name, ".gp", who)) != GF_OK)
        goto out;
    script_begin(f, name, &o, 900, 520);
    title_line(f, "set title", &o, "Training loss");
    fputs("set xlabel 'step'\n"
          "set ylabel 'training loss'\n"
          "set key below horizontal height 1.5\n", f);
    /* A log axis when the losses are positive and span a decade or more. */
    if (!nonpositive && all.count > 0 && all.hi / all.lo >= 10)
        log_axis(f, "y", all.lo, all.hi);
    fputs("plot ", f);
    int first = 1;
    for (size_t i = 0; i < n_runs; i++) {
        if (valid[i] == 0)
            continue;
        fputs(first ? "" : ", \\\n     ", f);
        gp_quote2(f, name, ".dat");
        /* Few points: mark them, or a single loss would draw nothing. */
        fprintf(f, " index %zu using 1:2 with %s lw 2 lc %zu title ", i,
                valid[i] < 50 ? "linespoints pt 7 ps 0.6" : "lines", i + 1);
        gp_quote(f, run_label(&runs[i], i, buf, sizeof buf));
        first = 0;
    }
    fputc('\n', f);
    st = finish(f, script, &o, who);
out:
    gf_free(valid);
    return st;
}

/* ---- (4) Dead and saturated units ---------------------------------------------------- */

/* Activation layers are those whose dead fraction applies (not NaN). */
static size_t count_units(const gf_telemetry *t, uint64_t step)
{
    size_t b, e, k = 0;
    if (t == NULL || gf_telemetry_count(t) == 0)
        return 0;
    group_for(t, step, &b, &e);
    for (size_t j = b; j < e; j++)
        k += !isnan(gf_telemetry_at(t, j)->dead_frac);
    return k;
}

gf_status gf_plot_units(const char *dir, const char *name, const gf_plot_run *runs,
                        size_t n_runs, const gf_plot_options *opt)
{
    static const char who[] = "gf_plot_units";
    char path[PATH_CAP], script[PATH_CAP], buf[32], title[128];
    gf_plot_options o = opt ? *opt : gf_plot_options_default();
    gf_status st;
    FILE *f;
    size_t max_k = 0;
    uint64_t shown = 0;

    if ((st = check_runs(runs, n_runs, 1, who)) != GF_OK ||
        (st = prepare(dir, name, &o, who)) != GF_OK)
        return st;
    for (size_t i = 0; i < n_runs; i++) {
        size_t k = count_units(runs[i].telemetry, o.step);
        max_k = k > max_k ? k : max_k;
    }
    if (max_k == 0)
        return gf_fail(GF_EINVAL, "%s: no activation layer to plot", who);
    if ((st = open_file(&f, path, dir, name, ".dat", who)) != GF_OK)
        return st;
    fputs("# unit_layer layer dead_frac sat_frac zero_frac\n", f);
    for (size_t i = 0; i < n_runs; i++) {
        const gf_telemetry *t = runs[i].telemetry;
        size_t b, e, k = 0;
        group_for(t, o.step, &b, &e);
        shown = gf_telemetry_at(t, b)->step;
        fprintf(f, "%s# run %zu: %s, step %llu\n", i ? "\n\n" : "", i,
                run_label(&runs[i], i, buf, sizeof buf), (unsigned long long)shown);
        for (size_t j = b; j < e; j++) {
            const gf_record *r = gf_telemetry_at(t, j);
            if (isnan(r->dead_frac))
                continue;
            fprintf(f, "%zu %u", ++k, (unsigned)r->layer);
            put(f, r->dead_frac, 0);
            put(f, r->sat_frac, 0);
            put(f, r->zero_frac, 0);
            fputc('\n', f);
        }
    }
    if ((st = close_file(f, path, who)) != GF_OK)
        return st;
    if ((st = open_file(&f, script, dir, name, ".gp", who)) != GF_OK)
        return st;
    script_begin(f, name, &o, 1300, 520);
    snprintf(title, sizeof title, "Dead and saturated units per activation layer, step %llu",
             (unsigned long long)shown);
    title_line(f, "set multiplot layout 1,2 title", &o, title);
    fputs("set key below horizontal height 1.5\n"
          "set xlabel 'activation layer (1 = input side)'\n"
          "set yrange [-0.03:1.03]\n", f);
    fprintf(f, "set xrange [0.5:%zu.5]\n", max_k);
    if (max_k <= 25)
        fputs("set xtics 1\n", f);
    for (int panel = 0; panel < 2; panel++) {
        fputs(panel ? "set title 'saturated: |f''| < 5% of its bound'\n"
                      "set ylabel 'fraction of saturated values'\n"
                    : "set title 'dead: f'' = 0 on every example'\n"
                      "set ylabel 'fraction of dead units'\n", f);
        fputs("plot ", f);
        for (size_t i = 0; i < n_runs; i++) {
            fputs(i ? ", \\\n     " : "", f);
            gp_quote2(f, name, ".dat");
            fprintf(f, " index %zu using 1:%d with linespoints lw 2 pt 7 ps 0.8 lc %zu title ", i,
                    panel ? 4 : 3, i + 1);
            gp_quote(f, run_label(&runs[i], i, buf, sizeof buf));
        }
        fputc('\n', f);
    }
    fputs("unset multiplot\n", f);
    return finish(f, script, &o, who);
}

/* ---- (5) Histograms of activations and backward gradients ---------------------------- */

typedef struct hist_unit {
    size_t layer;          /* network index of the layer the unit stands for */
    const char *kind;      /* its kind */
    const gf_tensor *act;  /* values shown in the activation panel */
    const gf_tensor *grad; /* dL/dh, the backward signal at the pre-activation */
} hist_unit;

/* Which values stand for "layer k": each activation layer's output and the gradient at
 * its input (dL/dh, h the pre-activation, the signal the signal figure plots); in a
 * network without activation layers, each linear layer's output and its gradient. */
static size_t hist_units(gf_net *net, hist_unit *u)
{
    size_t n = gf_net_layer_count(net), k = 0;
    for (size_t i = 0; i < n; i++) {
        const gf_layer *l = gf_net_layer(net, i);
        const char *kind = gf_net_layer_kind(net, i);
        if (l->act == NULL && strcmp(kind, "prelu") != 0)
            continue;
        u[k] = (hist_unit){i, kind, gf_net_activation(net, i + 1), gf_net_activation_grad(net, i)};
        k += u[k].act != NULL && u[k].grad != NULL;
    }
    if (k > 0)
        return k;
    for (size_t i = 0; i < n; i++) {
        const char *kind = gf_net_layer_kind(net, i);
        if (strcmp(kind, "linear") != 0)
            continue;
        u[k] = (hist_unit){i, kind, gf_net_activation(net, i + 1),
                           gf_net_activation_grad(net, i + 1)};
        k += u[k].act != NULL && u[k].grad != NULL;
    }
    return k;
}

/* Bin x (or log10|x| with logabs: exact zeros and values outside [lo, hi] are left out,
 * not piled on an edge) and write one CSV line per bin. */
static void write_bins(FILE *f, const char *which, size_t unit, const hist_unit *u,
                       const gf_tensor *x, int logabs, double lo, double hi, size_t bins,
                       size_t *count)
{
    size_t n = x->rows * x->cols;
    memset(count, 0, bins * sizeof *count);
    for (size_t i = 0; i < n; i++) {
        double v = x->data[i];
        if (logabs)
            v = v != 0 ? log10(fabs(v)) : NAN;
        if (!(v >= lo && v <= hi))
            continue;
        size_t b = (size_t)((v - lo) / (hi - lo) * (double)bins);
        count[b < bins ? b : bins - 1]++;
    }
    double w = (hi - lo) / (double)bins;
    for (size_t b = 0; b < bins; b++)
        fprintf(f, "%s,%zu,%zu,%s,%.9g,%.9g,%zu\n", which, unit, u->layer, u->kind,
                lo + w * (double)b, b + 1 == bins ? hi : lo + w * (double)(b + 1), count[b]);
}

static const char hist_header[] = "which,unit,layer,kind,lo,hi,count";

gf_status gf_hist_write(const char *path, gf_net *net, size_t bins)
{
    static const char who[] = "gf_hist_write";
    GF_CHECK_NOT_NULL(path, who);
    GF_CHECK_NOT_NULL(net, who);
    if (bins == 0)
        bins = 50;
    if (bins > 100000)
        return gf_fail(GF_EINVAL, "%s: %zu bins is too many (at most 100000)", who, bins);
    size_t n = gf_net_layer_count(net);
    if (n == 0)
        return gf_fail(GF_EINVAL, "%s: the network has no layer", who);
    if (gf_net_activation(net, n) == NULL || gf_net_activation_grad(net, n) == NULL)
        return gf_fail(GF_ESTATE, "%s: run a forward and a backward pass first", who);

    hist_unit *u = gf_calloc(n, sizeof *u);
    size_t *count = gf_calloc(bins, sizeof *count);
    gf_status st = GF_OK;
    FILE *f = NULL;
    if (u == NULL || count == NULL) {
        st = gf_fail(GF_ENOMEM, "%s: out of memory", who);
        goto out;
    }
    size_t k = hist_units(net, u);
    if (k == 0) {
        st = gf_fail(GF_EINVAL, "%s: no activation or linear layer with values to show", who);
        goto out;
    }
    /* One range per panel, shared by all layers so that they compare: activations from
     * their minimum to their maximum; gradients on a log scale, log10|dL/dh|, since in a
     * vanishing or exploding network they differ by decades from layer to layer (on a
     * linear axis all but one layer would be a spike at 0). At most 16 decades. */
    double alo = INFINITY, ahi = -INFINITY, glo = INFINITY, ghi = -INFINITY;
    for (size_t j = 0; j < k; j++) {
        size_t na = gf_tensor_size(u[j].act), ng = gf_tensor_size(u[j].grad);
        for (size_t i = 0; i < na; i++) {
            double v = u[j].act->data[i];
            if (isfinite(v)) {
                alo = fmin(alo, v);
                ahi = fmax(ahi, v);
            }
        }
        for (size_t i = 0; i < ng; i++) {
            double v = fabs((double)u[j].grad->data[i]);
            if (isfinite(v) && v > 0) {
                glo = fmin(glo, log10(v));
                ghi = fmax(ghi, log10(v));
            }
        }
    }
    if (!(alo <= ahi)) {
        alo = -1;
        ahi = 1;
    } else if (alo == ahi) {
        alo -= 0.5;
        ahi += 0.5;
    }
    if (!(glo <= ghi)) {
        glo = -1;
        ghi = 0;
    }
    glo = fmax(floor(glo), ceil(ghi) - 16);
    ghi = ceil(ghi);
    if (ghi <= glo)
        ghi = glo + 1;

    f = fopen(path, "w");
    if (f == NULL) {
        st = gf_fail(GF_EIO, "%s: cannot open '%s': %s", who, path, strerror(errno));
        goto out;
    }
    fprintf(f, "%s\n", hist_header);
    for (size_t j = 0; j < k; j++)
        write_bins(f, "act", j + 1, &u[j], u[j].act, 0, alo, ahi, bins, count);
    for (size_t j = 0; j < k; j++)
        write_bins(f, "log10_grad", j + 1, &u[j], u[j].grad, 1, glo, ghi, bins, count);
    st = close_file(f, path, who);
out:
    gf_free(u);
    gf_free(count);
    return st;
}

typedef struct hist_row {
    int grad;      /* 0: activation values, 1: gradients */
    size_t unit;
    char kind[24];
    double lo, hi, count;
} hist_row;

static gf_status read_hist(const char *path, hist_row **rows, size_t *n_rows, const char *who)
{
    char line[512];
    size_t cap = 0, n = 0, lineno = 0;
    hist_row *r = NULL;
    gf_status st = GF_OK;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return gf_fail(GF_EIO, "%s: cannot open '%s': %s", who, path, strerror(errno));
    while (st == GF_OK && fgets(line, sizeof line, f) != NULL) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (lineno == 1) {
            if (strcmp(line, hist_header) != 0)
                st = gf_fail(GF_EFORMAT, "%s: %s is not a histogram CSV (header '%s')", who,
                             path, hist_header);
            continue;
        }
        if (line[0] == '\0')
            continue;
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 256;
            hist_row *nr = gf_realloc(r, nc * sizeof *nr);
            if (nr == NULL) {
                st = gf_fail(GF_ENOMEM, "%s: out of memory", who);
                break;
            }
            r = nr;
            cap = nc;
        }
        char which[16];
        unsigned long unit, layer;
        hist_row *h = &r[n];
        int used = 0;
        if (sscanf(line, "%15[a-z0-9_],%lu,%lu,%23[^,],%lf,%lf,%lf%n", which, &unit, &layer, h->kind,
                   &h->lo, &h->hi, &h->count, &used) != 7 || line[used] != '\0' ||
            (strcmp(which, "act") != 0 && strcmp(which, "log10_grad") != 0) || !(h->hi > h->lo) ||
            !(h->count >= 0)) {
            st = gf_fail(GF_EFORMAT, "%s: %s:%zu: malformed line", who, path, lineno);
            break;
        }
        h->grad = which[0] == 'l';
        h->unit = unit;
        n++;
    }
    fclose(f);
    if (st == GF_OK && n == 0)
        st = gf_fail(GF_EFORMAT, "%s: %s holds no histogram", who, path);
    if (st != GF_OK) {
        gf_free(r);
        return st;
    }
    *rows = r;
    *n_rows = n;
    return GF_OK;
}

gf_status gf_plot_hist(const char *dir, const char *name, const char *hist_csv,
                       const gf_plot_options *opt)
{
    static const char who[] = "gf_plot_hist";
    char path[PATH_CAP], script[PATH_CAP], label[64];
    gf_plot_options o = opt ? *opt : gf_plot_options_default();
    hist_row *rows = NULL;
    size_t n_rows = 0, max_unit = 0, chosen[MAX_HIST_CURVES], m = 0;
    gf_status st;
    FILE *f;

    GF_CHECK_NOT_NULL(hist_csv, who);
    if ((st = prepare(dir, name, &o, who)) != GF_OK)
        return st;
    if ((st = read_hist(hist_csv, &rows, &n_rows, who)) != GF_OK)
        return st;
    for (size_t i = 0; i < n_rows; i++)
        max_unit = rows[i].unit > max_unit ? rows[i].unit : max_unit;
    /* At most six curves per panel, evenly spaced from the first layer to the last. */
    if (max_unit <= MAX_HIST_CURVES) {
        for (size_t u = 1; u <= max_unit; u++)
            chosen[m++] = u;
    } else {
        for (size_t j = 0; j < MAX_HIST_CURVES; j++) {
            size_t u = 1 + (j * (max_unit - 1) + (MAX_HIST_CURVES - 1) / 2) / (MAX_HIST_CURVES - 1);
            if (m == 0 || chosen[m - 1] != u)
                chosen[m++] = u;
        }
    }
    if ((st = open_file(&f, path, dir, name, ".dat", who)) != GF_OK)
        goto out;
    /* Blocks: activation values of each chosen layer, then gradients: bin centre and the
     * fraction of the layer's values in the bin. */
    fputs("# bin_centre fraction\n", f);
    size_t block = 0;
    int has[2][MAX_HIST_CURVES] = {{0}};
    for (int g = 0; g < 2; g++)
        for (size_t j = 0; j < m; j++) {
            double total = 0;
            for (size_t i = 0; i < n_rows; i++)
                if (rows[i].grad == g && rows[i].unit == chosen[j])
                    total += rows[i].count;
            fprintf(f, "%s# %s, layer %zu\n", block ? "\n\n" : "", g ? "gradient" : "activation",
                    chosen[j]);
            for (size_t i = 0; i < n_rows; i++)
                if (rows[i].grad == g && rows[i].unit == chosen[j]) {
                    fprintf(f, "%.6g", 0.5 * (rows[i].lo + rows[i].hi));
                    put(f, total > 0 ? rows[i].count / total : NAN, 0);
                    fputc('\n', f);
                }
            has[g][j] = total > 0;
            block++;
        }
    if ((st = close_file(f, path, who)) != GF_OK)
        goto out;
    if ((st = open_file(&f, script, dir, name, ".gp", who)) != GF_OK)
        goto out;
    script_begin(f, name, &o, 1300, 540);
    title_line(f, "set multiplot layout 1,2 title", &o,
               "Per-layer histograms (Glorot and Bengio): activations and backward gradients");
    fputs("set key below horizontal height 1.5\n"
          "set ylabel 'fraction of values per bin'\n"
          "set yrange [0:*]\n", f);
    for (int g = 0; g < 2; g++) {
        fputs(g ? "set title 'backward gradients dL/dh at the pre-activations (log scale)'\n"
                  "set xlabel 'log_{10} |dL/dh|'\n"
                : "set title 'activation values'\n"
                  "set xlabel 'activation value'\n", f);
        fputs("plot ", f);
        int first = 1;
        for (size_t j = 0; j < m; j++) {
            if (!has[g][j])
                continue;
            const char *kind = "";
            for (size_t i = 0; i < n_rows; i++)
                if (rows[i].unit == chosen[j]) {
                    kind = rows[i].kind;
                    break;
                }
            snprintf(label, sizeof label, "layer %zu (%s)", chosen[j], kind);
            fputs(first ? "" : ", \\\n     ", f);
            gp_quote2(f, name, ".dat");
            fprintf(f, " index %zu using 1:2 with steps lw 2 lc %zu title ", (size_t)g * m + j,
                    j + 1);
            gp_quote(f, label);
            first = 0;
        }
        if (first)
            fputs("0 notitle", f);
        fputc('\n', f);
    }
    fputs("unset multiplot\n", f);
    st = finish(f, script, &o, who);
out:
    gf_free(rows);
    return st;
}

/* ---- Every figure of a run ----------------------------------------------------------- */

static int has_loss(const gf_plot_run *run)
{
    if (run->loss != NULL) {
        for (size_t i = 0; i < run->n_loss; i++)
            if (isfinite(run->loss[i]))
                return 1;
        return 0;
    }
    for (size_t i = 0; i < gf_telemetry_count(run->telemetry); i++)
        if (isfinite(gf_telemetry_at(run->telemetry, i)->loss))
            return 1;
    return 0;
}

gf_status gf_plot_run_all(const char *dir, const gf_plot_run *run, const gf_plot_options *opt)
{
    static const char who[] = "gf_plot_run_all";
    gf_status st, unsupported = GF_OK;
    gf_plot_options o = opt ? *opt : gf_plot_options_default();
    GF_CHECK_NOT_NULL(run, who);
    if ((st = check_runs(run, 1, 1, who)) != GF_OK)
        return st;
#define GF_PLOT_STEP(call)                                                                  \
    do {                                                                                    \
        st = (call);                                                                        \
        if (st == GF_EUNSUPPORTED)                                                          \
            unsupported = st;                                                               \
        else if (st != GF_OK)                                                               \
            return st;                                                                      \
    } while (0)
    GF_PLOT_STEP(gf_plot_signal(dir, "signal", run, 1, &o));
    GF_PLOT_STEP(gf_plot_heatmap(dir, "heatmap", run->telemetry, &o));
    if (has_loss(run))
        GF_PLOT_STEP(gf_plot_loss(dir, "loss", run, 1, &o));
    if (count_units(run->telemetry, o.step) > 0)
        GF_PLOT_STEP(gf_plot_units(dir, "units", run, 1, &o));
#undef GF_PLOT_STEP
    if (unsupported != GF_OK)
        return gf_fail(unsupported, "%s: the scripts are in '%s', but gnuplot is not installed "
                       "to render them", who, dir);
    return GF_OK;
}

/* ---- Running gnuplot ----------------------------------------------------------------- */

/* The program to run: $GNUPLOT when set, else "gnuplot", looked up on PATH; made absolute,
 * since gnuplot runs in the script's directory. 1 when found. */
static int find_gnuplot(char *out, size_t cap)
{
    const char *prog = getenv("GNUPLOT");
    struct stat sb;
    if (prog == NULL || *prog == '\0')
        prog = "gnuplot";
    if (strchr(prog, '/') != NULL) {
        if (snprintf(out, cap, "%s", prog) >= (int)cap)
            return 0;
    } else {
        const char *path = getenv("PATH");
        int found = 0;
        if (path == NULL)
            path = "/usr/bin:/bin";
        while (!found) {
            size_t len = strcspn(path, ":");
            int k = len ? snprintf(out, cap, "%.*s/%s", (int)len, path, prog)
                        : snprintf(out, cap, "./%s", prog);
            if (k > 0 && (size_t)k < cap && access(out, X_OK) == 0 && stat(out, &sb) == 0 &&
                S_ISREG(sb.st_mode))
                found = 1;
            if (path[len] == '\0')
                break;
            path += len + 1;
        }
        if (!found)
            return 0;
    }
    if (access(out, X_OK) != 0 || stat(out, &sb) != 0 || !S_ISREG(sb.st_mode))
        return 0;
    if (out[0] != '/') {
        char cwd[PATH_CAP], rel[PATH_CAP];
        if (getcwd(cwd, sizeof cwd) == NULL)
            return 0;
        snprintf(rel, sizeof rel, "%s", out);
        if (snprintf(out, cap, "%s/%s", cwd, rel) >= (int)cap)
            return 0;
    }
    return 1;
}

int gf_plot_available(void)
{
    char exe[PATH_CAP];
    return find_gnuplot(exe, sizeof exe);
}

/* The last non-empty line of gnuplot's log, for the error message. */
static void log_tail(const char *log, char *out, size_t cap)
{
    char line[256];
    FILE *f = fopen(log, "r");
    out[0] = '\0';
    if (f == NULL)
        return;
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] != '\0' && strspn(line, " ^") != strlen(line))
            snprintf(out, cap, "%s", line);
    }
    fclose(f);
}

gf_status gf_plot_render(const char *script)
{
    static const char who[] = "gf_plot_render";
    char exe[PATH_CAP], dir[PATH_CAP], log[PATH_CAP + 8], tail[256];
    struct stat sb;
    GF_CHECK_NOT_NULL(script, who);
    if (access(script, R_OK) != 0)
        return gf_fail(GF_EIO, "%s: cannot read the script '%s': %s", who, script,
                       strerror(errno));
    if (!find_gnuplot(exe, sizeof exe))
        return gf_fail(GF_EUNSUPPORTED, "%s: gnuplot is not installed (not found on PATH%s); "
                       "the script '%s' is kept: install gnuplot (Debian: apt install "
                       "gnuplot-nox) and run it in its directory", who,
                       getenv("GNUPLOT") ? " or in $GNUPLOT" : "", script);

    /* gnuplot runs in the script's directory, so the script's relative names work. */
    const char *slash = strrchr(script, '/');
    const char *base = slash ? slash + 1 : script;
    if (snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash == script ? 1 : slash - script) : 1,
                 slash ? script : ".") >= (int)sizeof dir)
        return gf_fail(GF_EINVAL, "%s: path '%s' is too long", who, script);
    snprintf(log, sizeof log, "%s.log", script);
    char *const argv[] = {exe, (char *)base, NULL};

    /* gnuplot's messages go to <script>.log, never to the caller's terminal. */
    int logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (logfd < 0)
        return gf_fail(GF_EIO, "%s: cannot open '%s': %s", who, log, strerror(errno));
    int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (nullfd < 0) {
        close(logfd);
        return gf_fail(GF_EIO, "%s: cannot open /dev/null: %s", who, strerror(errno));
    }
    pid_t pid = fork();
    if (pid == 0) {
        /* The child: only async-signal-safe calls until exec. */
        if (dup2(nullfd, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0 || chdir(dir) != 0)
            _exit(126);
        execv(exe, argv);
        _exit(127);
    }
    int err = errno;
    close(logfd);
    close(nullfd);
    if (pid < 0)
        return gf_fail(GF_EIO, "%s: cannot start gnuplot: %s", who, strerror(err));
    int status = 0;
    pid_t w;
    do
        w = waitpid(pid, &status, 0);
    while (w < 0 && errno == EINTR);
    if (w < 0)
        return gf_fail(GF_EIO, "%s: lost track of gnuplot: %s", who, strerror(errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        if (stat(log, &sb) == 0 && sb.st_size == 0)
            remove(log);
        return GF_OK;
    }
    log_tail(log, tail, sizeof tail);
    if (WIFEXITED(status) && WEXITSTATUS(status) >= 126)
        return gf_fail(GF_EIO, "%s: could not run '%s' in '%s' (exit status %d)", who, exe, dir,
                       WEXITSTATUS(status));
    if (WIFEXITED(status))
        return gf_fail(GF_EIO, "%s: gnuplot failed on '%s' (exit status %d): %s (see %s)", who,
                       script, WEXITSTATUS(status), tail, log);
    return gf_fail(GF_EIO, "%s: gnuplot was killed by signal %d on '%s'", who,
                   WIFSIGNALED(status) ? WTERMSIG(status) : -1, script);
}
