/* src/analysis/plot_hist.c: Glorot and Bengio's figure (5): histograms of each
 * activation layer's values and of log10 |dL/dh| at its input, written from the
 * network's buffers as CSV, then plotted. docs/figures.md. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gradflow/registry.h"
#include "gradflow/report.h"
#include "core/internal.h"
#include "analysis/plot.h"

enum { MAX_HIST_CURVES = 6 };

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
static size_t hist_units(const gf_net *net, hist_unit *u)
{
    size_t n = gf_net_layer_count(net), k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *kind = gf_net_layer_kind(net, i);
        if (!(gf_layer_kind_traits(kind) & GF_KIND_ACTIVATION))
            continue;
        u[k] = (hist_unit){i, kind, gf_net_activation(net, i + 1), gf_net_activation_grad(net, i)};
        k += u[k].act != NULL && u[k].grad != NULL;
    }
    if (k > 0)
        return k;
    for (size_t i = 0; i < n; i++) {
        const char *kind = gf_net_layer_kind(net, i);
        if (!(gf_layer_kind_traits(kind) & GF_KIND_LINEAR))
            continue;
        u[k] = (hist_unit){i, kind, gf_net_activation(net, i + 1),
                           gf_net_activation_grad(net, i + 1)};
        k += u[k].act != NULL && u[k].grad != NULL;
    }
    return k;
}

/* Bin x (or log10|x| with logabs: exact zeros and values outside [lo, hi] are left out,
 * not piled on an edge) and write one CSV line per bin. */
static void write_bins(FILE *f, const char *prefix, const char *which, size_t unit,
                       const hist_unit *u, const gf_tensor *x, int logabs, double lo,
                       double hi, size_t bins, size_t *count)
{
    size_t n = x->rows * x->cols;
    memset(count, 0, bins * sizeof *count);
    for (size_t i = 0; i < n; i++) {
        double v = x->data[i];
        if (logabs)
            v = v != 0 ? log10(fabs(v)) : NAN;
        if (!(v >= lo && v <= hi))
            continue;
        /* Checked before converting: a range too wide or too narrow for a double (near
         * DBL_MAX, or lo == hi after rounding) makes pos NaN or infinite, and converting
         * those to an integer is undefined behaviour. */
        double pos = (v - lo) / (hi - lo) * (double)bins;
        if (isnan(pos))
            continue;
        count[pos >= 0 && pos < (double)bins ? (size_t)pos : bins - 1]++;
    }
    double w = (hi - lo) / (double)bins;
    for (size_t b = 0; b < bins; b++)
        fprintf(f, "%s%s,%zu,%zu,%s,%.9g,%.9g,%zu\n", prefix, which, unit, u->layer, u->kind,
                lo + w * (double)b, b + 1 == bins ? hi : lo + w * (double)(b + 1), count[b]);
}

/* The two panels' bin ranges over the k units: [*alo, *ahi] for values, [*glo, *ghi] for
 * log10 |dL/dh|. */
static void hist_ranges(const hist_unit *u, size_t k, double *alo_out, double *ahi_out,
                        double *glo_out, double *ghi_out)
{
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

    *alo_out = alo;
    *ahi_out = ahi;
    *glo_out = glo;
    *ghi_out = ghi;
}

static const char hist_header[] = "which,unit,layer,kind,lo,hi,count";

/* The histogram lines of every unit, each line opening with prefix; with zeros, one
 * more line per unit, "grad_zero", counting its exact zeros of dL/dh (lo = hi = 0). */
gf_status gf_hist_emit(FILE *f, const gf_net *net, size_t bins, const char *prefix,
                       int zeros, const char *who)
{
    size_t n = gf_net_layer_count(net);
    if (n == 0)
        return gf_fail(GF_EINVAL, "%s: the network has no layer", who);
    if (gf_net_activation(net, n) == NULL || gf_net_activation_grad(net, n) == NULL)
        return gf_fail(GF_ESTATE, "%s: run a forward and a backward pass first", who);

    hist_unit *u = gf_calloc(n, sizeof *u);
    size_t *count = gf_calloc(bins, sizeof *count);
    gf_status st = GF_OK;
    if (u == NULL || count == NULL) {
        st = gf_fail(GF_ENOMEM, "%s: out of memory", who);
        goto out;
    }
    size_t k = hist_units(net, u);
    if (k == 0) {
        st = gf_fail(GF_EINVAL, "%s: no activation or linear layer with values to show", who);
        goto out;
    }
    double alo, ahi, glo, ghi;
    hist_ranges(u, k, &alo, &ahi, &glo, &ghi);
    for (size_t j = 0; j < k; j++)
        write_bins(f, prefix, "act", j + 1, &u[j], u[j].act, 0, alo, ahi, bins, count);
    for (size_t j = 0; j < k; j++)
        write_bins(f, prefix, "log10_grad", j + 1, &u[j], u[j].grad, 1, glo, ghi, bins, count);
    for (size_t j = 0; zeros && j < k; j++) {
        size_t ng = gf_tensor_size(u[j].grad), z = 0;
        for (size_t i = 0; i < ng; i++)
            z += u[j].grad->data[i] == 0;
        fprintf(f, "%sgrad_zero,%zu,%zu,%s,0,0,%zu\n", prefix, j + 1, u[j].layer, u[j].kind, z);
    }
out:
    gf_free(u);
    gf_free(count);
    return st;
}

gf_status gf_hist_write(const char *path, const gf_net *net, size_t bins)
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

    /* Written whole under a temporary name, then renamed (gradflow/atomic.h). */
    gf_atomic_file af;
    gf_status st = gf_atomic_begin(&af, path, who);
    if (st != GF_OK)
        return st;
    fprintf(af.f, "%s\n", hist_header);
    st = gf_hist_emit(af.f, net, bins, "", 0, who);
    if (st != GF_OK)
        return gf_atomic_end(&af, st, who);
    return gf_plot_close_file(&af, who);
}

typedef struct hist_row {
    int grad;      /* 0: activation values, 1: gradients */
    size_t unit;
    char kind[24];
    double lo, hi, count;
} hist_row;

/* One line of hist_init.csv: which,unit,layer,kind,lo,hi,count. */
static const char *parse_hist_row(const char *line, void *row, const void *prev)
{
    (void)prev;
    hist_row *h = row;
    char which[16];
    unsigned long unit, layer;
    int used = 0;
    if (sscanf(line, "%15[a-z0-9_],%lu,%lu,%23[^,],%lf,%lf,%lf%n", which, &unit, &layer, h->kind,
               &h->lo, &h->hi, &h->count, &used) != 7 || line[used] != '\0' ||
        (strcmp(which, "act") != 0 && strcmp(which, "log10_grad") != 0) || !(h->hi > h->lo) ||
        !(h->count >= 0))
        return "malformed line";
    h->grad = which[0] == 'l';
    h->unit = unit;
    return NULL;
}

static gf_status read_hist(const char *path, hist_row **rows, size_t *n_rows, const char *who)
{
    void *r = NULL;
    gf_status st = gf_plot_read_rows(&r, n_rows, path, hist_header, "a histogram CSV",
                                     sizeof(hist_row), parse_hist_row, who);
    *rows = r;
    return st;
}

/* The growable array of gf_plot_read_rows, doubled when full. */
static gf_status grow_rows(char **rows, size_t *cap, size_t row_size, const char *who)
{
    size_t nc = *cap ? 2 * *cap : 256;
    char *nr = nc <= SIZE_MAX / row_size ? gf_realloc(*rows, nc * row_size) : NULL;
    if (nr == NULL)
        return gf_fail(GF_ENOMEM, "%s: out of memory", who);
    *rows = nr;
    *cap = nc;
    return GF_OK;
}

gf_status gf_plot_read_rows(void **rows, size_t *n_rows, const char *path, const char *header,
                            const char *what, size_t row_size, gf_plot_row_parser parse,
                            const char *who)
{
    char line[512];
    size_t cap = 0, n = 0, lineno = 0;
    char *r = NULL;
    gf_status st = GF_OK;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return gf_fail(GF_EIO, "%s: cannot open '%s': %s", who, path, strerror(errno));
    while (st == GF_OK && fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (++lineno == 1) {
            if (strcmp(line, header) != 0)
                st = gf_fail(GF_EFORMAT, "%s: %s is not %s (header '%s')", who, path, what,
                             header);
            continue;
        }
        if (line[0] == '\0')
            continue;
        if (n == cap && (st = grow_rows(&r, &cap, row_size, who)) != GF_OK)
            break;
        const char *bad = parse(line, r + n * row_size, n > 0 ? r + (n - 1) * row_size : NULL);
        if (bad != NULL)
            st = gf_fail(GF_EFORMAT, "%s: %s:%zu: %s", who, path, lineno, bad);
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

size_t gf_plot_choose_units(size_t *chosen, size_t max_unit, size_t most)
{
    size_t m = 0;
    if (max_unit <= most) {
        for (size_t u = 1; u <= max_unit; u++)
            chosen[m++] = u;
    } else {
        for (size_t j = 0; j < most; j++) {
            size_t u = 1 + (j * (max_unit - 1) + (most - 1) / 2) / (most - 1);
            if (m == 0 || chosen[m - 1] != u)
                chosen[m++] = u;
        }
    }
    return m;
}

/* Blocks: activation values of each chosen layer, then gradients: bin centre and the
 * fraction of the layer's values in the bin. has[g][j]: block (g, j) has values. */
static void write_hist_dat(FILE *f, const hist_row *rows, size_t n_rows, const size_t *chosen,
                           size_t m, int has[2][MAX_HIST_CURVES])
{
    fputs("# bin_centre fraction\n", f);
    size_t block = 0;
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
                    gf_plot_put(f, total > 0 ? rows[i].count / total : NAN, 0);
                    fputc('\n', f);
                }
            has[g][j] = total > 0;
            block++;
        }
}

gf_status gf_plot_hist(const char *dir, const char *name, const char *hist_csv,
                       const gf_plot_options *opt)
{
    static const char who[] = "gf_plot_hist";
    char path[GF_PLOT_PATH_CAP], script[GF_PLOT_PATH_CAP], label[64];
    gf_plot_options o = opt ? *opt : gf_plot_options_default();
    hist_row *rows = NULL;
    size_t n_rows = 0, max_unit = 0, chosen[MAX_HIST_CURVES], m = 0;
    int has[2][MAX_HIST_CURVES] = {{0}};
    gf_status st;
    gf_atomic_file af;
    FILE *f;

    GF_CHECK_NOT_NULL(hist_csv, who);
    if ((st = gf_plot_prepare(dir, name, &o, who)) != GF_OK)
        return st;
    if ((st = read_hist(hist_csv, &rows, &n_rows, who)) != GF_OK)
        return st;
    for (size_t i = 0; i < n_rows; i++)
        max_unit = rows[i].unit > max_unit ? rows[i].unit : max_unit;
    m = gf_plot_choose_units(chosen, max_unit, MAX_HIST_CURVES);
    if ((st = gf_plot_open_file(&af, &f, path, dir, name, ".dat", who)) != GF_OK)
        goto out;
    write_hist_dat(f, rows, n_rows, chosen, m, has);
    if ((st = gf_plot_close_file(&af, who)) != GF_OK)
        goto out;
    if ((st = gf_plot_open_file(&af, &f, script, dir, name, ".gp", who)) != GF_OK)
        goto out;
    gf_plot_script_begin(f, name, &o, 1300, 540);
    gf_plot_title_line(f, "set multiplot layout 1,2 title", &o,
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
            gf_plot_quote2(f, name, ".dat");
            fprintf(f, " index %zu using 1:2 with steps lw 2 lc %zu title ", (size_t)g * m + j,
                    j + 1);
            gf_plot_quote(f, label);
            first = 0;
        }
        if (first)
            fputs("0 notitle", f);
        fputc('\n', f);
    }
    fputs("unset multiplot\n", f);
    st = gf_plot_finish(&af, script, &o, who);
out:
    gf_free(rows);
    return st;
}
