/* src/tool/html.c: index.html, one page per run directory and per comparison, that a
 * student can open or hand in as one file: the verdicts with their one-line
 * explanations, the table of results, every figure as SVG inlined (base64 data: URIs,
 * so the page needs nothing beside it), and the configuration. Read from summary.json,
 * so the page says what the files say. docs/cli.md "The HTML page". */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

/* ---- summary.json, read back --------------------------------------------------------- */

/* summary.json is one flat object of strings, numbers and nulls, with one nested object
 * of strings ("config"): enough of JSON for that, and every key kept in order, so that
 * fields added to it later show on the page without a change here. */
typedef struct jkv {
    char key[64];
    char val[256];
    int is_string;
} jkv;

typedef struct summary {
    jkv top[96], config[48];
    size_t n_top, n_config;
} summary;

static const char *skip_ws(const char *p)
{
    while (isspace((unsigned char)*p))
        p++;
    return p;
}

/* A JSON string at p (at its opening quote) into out; returns the text after it, or NULL.
 * Escapes other than \" \\ \/ \n \t become '?' (summary.json writes none). */
static const char *read_string(const char *p, char *out, size_t cap)
{
    size_t n = 0;
    if (*p++ != '"')
        return NULL;
    for (; *p && *p != '"'; p++) {
        char c = *p;
        if (c == '\\') {
            c = *++p;
            c = c == 'n' ? ' ' : c == 't' ? ' ' : (c == '"' || c == '\\' || c == '/') ? c : '?';
            if (*p == 'u' && p[1] && p[2] && p[3] && p[4])
                p += 4;
            if (*p == '\0')
                return NULL;
        }
        if (n + 1 < cap)
            out[n++] = c;
    }
    out[n] = '\0';
    return *p == '"' ? p + 1 : NULL;
}

/* The members of an object at p (after its '{') into kv (at most cap; nested objects
 * only at depth 0, into sub). Returns the text after the closing '}', or NULL. */
static const char *read_object(const char *p, jkv *kv, size_t *n, size_t cap, summary *sub)
{
    for (p = skip_ws(p); *p && *p != '}';) {
        jkv e = {{0}, {0}, 0};
        if ((p = read_string(skip_ws(p), e.key, sizeof e.key)) == NULL)
            return NULL;
        p = skip_ws(p);
        if (*p++ != ':')
            return NULL;
        p = skip_ws(p);
        if (*p == '{') {
            if (sub == NULL || strcmp(e.key, "config") != 0)
                return NULL;
            p = read_object(p + 1, sub->config, &sub->n_config,
                            sizeof sub->config / sizeof sub->config[0], NULL);
            if (p == NULL)
                return NULL;
        } else if (*p == '"') {
            e.is_string = 1;
            if ((p = read_string(p, e.val, sizeof e.val)) == NULL)
                return NULL;
        } else {
            size_t k = 0;
            while (*p && *p != ',' && *p != '}' && !isspace((unsigned char)*p))
                if (k + 1 < sizeof e.val)
                    e.val[k++] = *p++;
                else
                    p++;
        }
        if (e.val[0] != '\0' || e.is_string)
            if (*n < cap)
                kv[(*n)++] = e;
        p = skip_ws(p);
        if (*p == ',')
            p = skip_ws(p + 1);
    }
    return *p == '}' ? p + 1 : NULL;
}

/* DIR/summary.json into s; 0, or -1 when absent or not what gradflow writes. */
static int read_summary(summary *s, const char *dir)
{
    char path[1400], text[32768];
    size_t len;
    FILE *f;
    memset(s, 0, sizeof *s);
    if (gft_path_in(path, sizeof path, dir, "summary.json") != 0 ||
        (f = fopen(path, "r")) == NULL)
        return -1;
    len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = '\0';
    const char *p = skip_ws(text);
    if (*p != '{' || read_object(p + 1, s->top, &s->n_top,
                                 sizeof s->top / sizeof s->top[0], s) == NULL)
        return -1;
    return 0;
}

static const char *summary_get(const summary *s, const char *key)
{
    for (size_t i = 0; i < s->n_top; i++)
        if (strcmp(s->top[i].key, key) == 0)
            return s->top[i].val;
    return NULL;
}

/* ---- Writing HTML -------------------------------------------------------------------- */

/* Text into HTML: the five characters with a meaning there escaped. */
static void esc(FILE *f, const char *s)
{
    for (; *s; s++)
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
}

/* A file's bytes as base64 (RFC 4648), for a data: URI. Returns 0, or -1 when unreadable.
 * Each read is encoded into a buffer written at once: a figure is up to a megabyte, and
 * a call to fputc per character was most of the time a page took. */
static int base64_file(FILE *out, const char *path)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char in[3 * 1024];
    char text[4 * 1024];
    size_t n;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    /* Whole groups of 3 bytes per read, so padding only ever comes at the end. */
    while ((n = fread(in, 1, sizeof in, f)) > 0) {
        size_t len = 0;
        for (size_t i = 0; i < n; i += 3) {
            unsigned v = (unsigned)in[i] << 16;
            v |= i + 1 < n ? (unsigned)in[i + 1] << 8 : 0;
            v |= i + 2 < n ? in[i + 2] : 0;
            text[len++] = tbl[v >> 18 & 63];
            text[len++] = tbl[v >> 12 & 63];
            text[len++] = i + 1 < n ? tbl[v >> 6 & 63] : '=';
            text[len++] = i + 2 < n ? tbl[v & 63] : '=';
        }
        fwrite(text, 1, len, out);
        if (n < sizeof in)
            break;
    }
    fclose(f);
    return 0;
}

static void page_begin(FILE *f, const char *title)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>", f);
    esc(f, title);
    fputs("</title>\n<style>\n"
          "body{font-family:sans-serif;max-width:1100px;margin:1em auto;padding:0 1em;"
          "color:#222}\n"
          "table{border-collapse:collapse;margin:0.5em 0}\n"
          "td,th{border:1px solid #ccc;padding:0.2em 0.6em;text-align:left}\n"
          "td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
          "figure{margin:1.5em 0}img{max-width:100%;height:auto;border:1px solid #eee}\n"
          ".verdict{font-size:1.1em;padding:0.4em 0.8em;background:#f4f4f4;"
          "border-left:4px solid #0072b2}\n"
          "</style>\n</head>\n<body>\n<h1>", f);
    esc(f, title);
    fprintf(f, "</h1>\n<p>Written by gradflow %s. The figures are inlined (SVG), so this "
               "file stands alone; their data and gnuplot scripts are beside it.</p>\n",
            gf_version());
}

/* What each figure shows, in the order of the page (docs/figures.md). */
static const struct {
    const char *name, *caption;
} figure_list[] = {
    {"signal", "The backward signal ||dL/dh|| per linear layer (left) and the weight "
               "gradients ||dL/dW|| (right), log scale."},
    {"seeds", "Over the seeds: the mean (line) and the range of the seeds (band) of the "
              "backward signal at initialisation and of the training loss."},
    {"heatmap", "log10 ||dL/dh|| of every linear layer (y) at every recorded step (x)."},
    {"loss", "The training loss per step."},
    {"eval", "Training loss with the test loss beside it, and the test accuracy."},
    {"update_ratio", "The update ratio ||dW||/||W|| per linear layer; the band is 1e-3 "
                     "within half a decade."},
    {"clip", "Gradient norm before clipping (clipped steps marked) and after."},
    {"units", "Dead and saturated units per activation layer at the last step."},
    {"hist_init", "Histograms of activations and of log10 |dL/dh| at initialisation."},
    {"hist_steps", "The same histograms over training: x = step, y = bin, colour = the "
                   "fraction of the layer's values."},
    {"time", "The gradient through time ||dL/dh_t|| against the step t of the sequence: a "
             "run's first and last recorded step; in a comparison, every run at the first "
             "step (left) and at the last (right)."},
};

/* One figure, DIR/NAME.svg inlined; 1 when it was there. */
static int figure(FILE *f, const char *dir, const char *name, const char *caption)
{
    char path[1400], file[300];
    snprintf(file, sizeof file, "%s.svg", name);
    if (!gft_is_file(dir, file) || gft_path_in(path, sizeof path, dir, file) != 0)
        return 0;
    fputs("<figure id=\"", f);
    esc(f, name);
    fputs("\">\n<img alt=\"", f);
    esc(f, name);
    fputs("\" src=\"data:image/svg+xml;base64,", f);
    base64_file(f, path);
    fputs("\">\n<figcaption><b>", f);
    esc(f, name);
    fputs("</b>: ", f);
    esc(f, caption);
    fputs("</figcaption>\n</figure>\n", f);
    return 1;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The title a gnuplot script gives its figure (`set title '...'` or `set multiplot ...
 * title '...'`, single-quoted with '' for a quote, as gf_plot_quote writes it) into out;
 * 1 when there is one. */
static int script_title(char *out, size_t len, const char *dir, const char *name)
{
    char path[1400], file[300], line[1024];
    int found = 0;
    snprintf(file, sizeof file, "%s.gp", name);
    if (gft_path_in(path, sizeof path, dir, file) != 0)
        return 0;
    FILE *f = fopen(path, "r");
    while (f != NULL && !found && fgets(line, sizeof line, f) != NULL) {
        const char *p = strstr(line, "title '");
        size_t n = 0;
        if (strncmp(line, "set title", 9) != 0 && strncmp(line, "set multiplot", 13) != 0)
            continue;
        if (p == NULL)
            continue;
        for (p += 7; *p && n + 1 < len; p++) {
            if (*p == '\'' && p[1] != '\'')
                break;
            p += *p == '\''; /* '' is one quote */
            out[n++] = *p;
        }
        out[n] = '\0';
        found = n > 0;
    }
    if (f != NULL)
        fclose(f);
    return found;
}

/* A caption for a figure figure_list does not describe: the title its script gives it,
 * else its name in words ("weight_norms": "Weight norms"), and where its data is. */
static void derived_caption(char *out, size_t len, const char *dir, const char *name)
{
    char title[300];
    if (!script_title(title, sizeof title, dir, name)) {
        size_t n = 0;
        for (const char *p = name; *p && n + 1 < sizeof title; p++)
            title[n++] = *p == '_' || *p == '-' ? ' ' : *p;
        title[n] = '\0';
        title[0] = (char)toupper((unsigned char)title[0]);
    }
    snprintf(out, len, "%s (data in %s.dat, drawn by %s.gp).", title, name, name);
}

/* The SVGs of dir that figure_list does not name (a figure added later), by name, each
 * with a caption of its own (derived_caption). */
static size_t other_figures(FILE *f, const char *dir)
{
    char names[64][256], *sorted[64];
    size_t n = 0, shown = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d != NULL && n < 64 && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name), known = 0;
        if (len < 5 || len >= sizeof names[0] || strcmp(e->d_name + len - 4, ".svg") != 0)
            continue;
        snprintf(names[n], sizeof names[n], "%.*s", (int)(len - 4), e->d_name);
        for (size_t i = 0; i < sizeof figure_list / sizeof figure_list[0]; i++)
            known |= strcmp(names[n], figure_list[i].name) == 0;
        if (!known)
            sorted[n] = names[n], n++;
    }
    if (d != NULL)
        closedir(d);
    qsort(sorted, n, sizeof *sorted, by_name);
    for (size_t i = 0; i < n; i++) {
        char caption[700];
        derived_caption(caption, sizeof caption, dir, sorted[i]);
        shown += (size_t)figure(f, dir, sorted[i], caption);
    }
    return shown;
}

/* Every figure of dir that has an SVG, inlined. Returns how many. */
static size_t figures_section(FILE *f, const char *dir)
{
    size_t shown = 0;
    fputs("<h2>Figures</h2>\n", f);
    for (size_t i = 0; i < sizeof figure_list / sizeof figure_list[0]; i++)
        shown += (size_t)figure(f, dir, figure_list[i].name, figure_list[i].caption);
    shown += other_figures(f, dir);
    if (shown == 0)
        fputs("<p>No figure was rendered (<code>--plot none</code>, or gnuplot is not "
              "installed): the scripts (<code>*.gp</code>) and data (<code>*.dat</code>) are "
              "in this directory.</p>\n", f);
    return shown;
}

/* A key/value table. */
static void kv_table(FILE *f, const jkv *kv, size_t n, int skip_verdicts)
{
    fputs("<table>\n", f);
    for (size_t i = 0; i < n; i++) {
        if (skip_verdicts && strstr(kv[i].key, "verdict") != NULL)
            continue;
        fputs("<tr><th>", f);
        esc(f, kv[i].key);
        fprintf(f, "</th><td%s>", kv[i].is_string ? "" : " class=\"n\"");
        esc(f, kv[i].val);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

/* Every verdict of the summary ("verdict", "verdict_text", and any other key naming a
 * verdict), the explanation first. */
static void verdicts(FILE *f, const summary *s)
{
    const char *text = summary_get(s, "verdict_text");
    const char *name = summary_get(s, "verdict");
    fputs("<div class=\"verdict\">", f);
    esc(f, text ? text : name ? name : "not judged (no step was recorded)");
    fputs("</div>\n", f);
    for (size_t i = 0; i < s->n_top; i++) {
        const char *k = s->top[i].key;
        if (strstr(k, "verdict") == NULL || strcmp(k, "verdict") == 0 ||
            strcmp(k, "verdict_text") == 0)
            continue;
        fputs("<p><b>", f);
        esc(f, k);
        fputs("</b>: ", f);
        esc(f, s->top[i].val);
        fputs("</p>\n", f);
    }
}

static int close_page(FILE *f, const char *path)
{
    fputs("</body>\n</html>\n", f);
    if (fclose(f) != 0) {
        gft_error("cannot write '%s': %s", path, strerror(errno));
        return 1;
    }
    return 0;
}

int gft_html_run(const char *dir, const char *label)
{
    char path[1400], title[400];
    summary s;
    FILE *f;
    if (read_summary(&s, dir) != 0) {
        gft_error("%s: cannot read summary.json for index.html", dir);
        return 1;
    }
    if (gft_path_in(path, sizeof path, dir, "index.html") != 0 || (f = fopen(path, "w")) == NULL) {
        gft_error("cannot write '%s/index.html'", dir);
        return 1;
    }
    snprintf(title, sizeof title, "gradflow run: %s", label);
    page_begin(f, title);
    fputs("<h2>Verdict</h2>\n", f);
    verdicts(f, &s);
    fputs("<h2>Results</h2>\n<p>From summary.json (docs/cli.md, docs/verdicts.md): "
          "<code>signal_*</code> is ||dL/dh|| at the first and last linear layer, "
          "<code>ratio</code> first / last, at initialisation (<code>_init</code>) and at the "
          "last recorded step (<code>_final</code>).</p>\n", f);
    kv_table(f, s.top, s.n_top, 1);
    figures_section(f, dir);
    fputs("<h2>Configuration</h2>\n", f);
    kv_table(f, s.config, s.n_config, 0);
    return close_page(f, path);
}

/* ---- The comparison's page ----------------------------------------------------------- */

/* A run's directory relative to the comparison's (its link), else its last component. */
static const char *relative_to(const char *run_dir, const char *dir)
{
    size_t n = strlen(dir);
    const char *slash = strrchr(run_dir, '/');
    if (strncmp(run_dir, dir, n) == 0 && run_dir[n] == '/')
        return run_dir + n + 1;
    return slash ? slash + 1 : run_dir;
}

static void num_cell(FILE *f, const char *v)
{
    fputs("<td class=\"n\">", f);
    esc(f, v && strcmp(v, "null") != 0 ? v : "-");
    fputs("</td>", f);
}

static void compare_table(FILE *f, const char *dir, const gft_result *res, const summary *s,
                          size_t n, const char *first)
{
    static const char *const cols[] = {"signal_first_init", "signal_last_init", "ratio_init",
                                       "ratio_final", "final_loss", "final_accuracy"};
    fputs("<table>\n<tr><th>", f);
    esc(f, first);
    fputs("</th><th>init</th>", f);
    for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++)
        fprintf(f, "<th>%s</th>", cols[k]);
    fputs("<th>verdict</th><th>page</th></tr>\n", f);
    for (size_t i = 0; i < n; i++) {
        char num[32];
        fputs("<tr><td>", f);
        esc(f, res[i].label);
        fputs("</td><td>", f);
        esc(f, res[i].init);
        fputs("</td>", f);
        for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++) {
            const char *v = summary_get(&s[i], cols[k]);
            if (v != NULL && strcmp(v, "null") != 0)
                v = gft_num(num, sizeof num, strtod(v, NULL));
            num_cell(f, v);
        }
        fputs("<td>", f);
        esc(f, summary_get(&s[i], "verdict") ? summary_get(&s[i], "verdict") : "-");
        fputs("</td><td><a href=\"", f);
        esc(f, relative_to(res[i].dir, dir));
        fputs("/index.html\">run page</a></td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

/* The configuration as a table of keys by runs: the row that differs is the option
 * compared. */
static void compare_config(FILE *f, const gft_result *res, const summary *s, size_t n)
{
    fputs("<h2>Configuration</h2>\n<table>\n<tr><th>option</th>", f);
    for (size_t i = 0; i < n; i++) {
        fputs("<th>", f);
        esc(f, res[i].label);
        fputs("</th>", f);
    }
    fputs("</tr>\n", f);
    for (size_t k = 0; n > 0 && k < s[0].n_config; k++) {
        fputs("<tr><th>", f);
        esc(f, s[0].config[k].key);
        fputs("</th>", f);
        for (size_t i = 0; i < n; i++) {
            const char *v = "-";
            for (size_t j = 0; j < s[i].n_config; j++)
                if (strcmp(s[i].config[j].key, s[0].config[k].key) == 0)
                    v = s[i].config[j].val;
            fputs("<td>", f);
            esc(f, v);
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

/* The table over the seeds: one row per configuration, as gft_print_seeds. */
static void seeds_table(FILE *f, const gft_result *res, size_t n, size_t seeds,
                        const char *first)
{
    fprintf(f, "<h2>Over %zu seeds</h2>\n<p>Mean &plusmn; sample standard deviation; the "
               "ratio at initialisation as its geometric mean &times;/&divide; its geometric "
               "standard deviation (docs/cli.md, Seeds).</p>\n<table>\n<tr><th>", seeds);
    esc(f, first);
    fputs("</th><th>ratio at init</th><th>loss</th><th>accuracy</th><th>verdicts at init</th>"
          "<th>verdicts at the end</th></tr>\n", f);
    for (size_t i = 0; i + seeds <= n; i += seeds) {
        double v[3][GFT_MAX_SEEDS];
        char cell[80], verdicts[200], label[256];
        const char *cut = strstr(res[i].label, " seed=");
        snprintf(label, sizeof label, "%.*s",
                 cut ? (int)(cut - res[i].label) : (int)strlen(res[i].label), res[i].label);
        gft_seed_values(v, &res[i], seeds);
        fputs("<tr><td>", f);
        esc(f, label);
        fputs("</td>", f);
        for (int q = 0; q < 3; q++)
            num_cell(f, gft_seed_stat(cell, sizeof cell, v[q], seeds, q == 0));
        for (int at_init = 1; at_init >= 0; at_init--) {
            fputs("<td>", f);
            esc(f, gft_seed_verdicts(verdicts, sizeof verdicts, &res[i], seeds, at_init));
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

int gft_html_compare(const char *dir, const gft_result *res, size_t n, const char *first)
{
    return gft_html_compare_seeds(dir, res, n, 1, first);
}

int gft_html_compare_seeds(const char *dir, const gft_result *res, size_t n, size_t seeds,
                           const char *first)
{
    char path[1400];
    summary *s = gf_calloc(n ? n : 1, sizeof *s);
    FILE *f;
    if (s == NULL) {
        gft_error("out of memory");
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        read_summary(&s[i], res[i].dir); /* a failed run: an empty row */
    if (gft_path_in(path, sizeof path, dir, "index.html") != 0 || (f = fopen(path, "w")) == NULL) {
        gft_error("cannot write '%s/index.html'", dir);
        gf_free(s);
        return 1;
    }
    char title[128];
    /* run --seeds: one configuration, its seeds; else a comparison. */
    if (n == seeds && seeds > 1)
        snprintf(title, sizeof title, "gradflow run over %zu seeds", seeds);
    else
        snprintf(title, sizeof title, "gradflow compare");
    page_begin(f, title);
    fputs("<h2>Verdicts</h2>\n<ul>\n", f);
    for (size_t i = 0; i < n; i++) {
        const char *text = summary_get(&s[i], "verdict_text");
        fputs("<li><b>", f);
        esc(f, res[i].label);
        fputs("</b>: ", f);
        esc(f, text ? text : "no verdict (the run failed or recorded nothing)");
        fputs("</li>\n", f);
    }
    fputs("</ul>\n", f);
    if (seeds > 1)
        seeds_table(f, res, n, seeds, first);
    fprintf(f, "<h2>Results</h2>\n<p>signal: ||dL/dh|| reaching the first and the "
               "last linear layer at initialisation; ratio = first / last at initialisation and "
               "at the last recorded step (&lt; %g vanishing, &gt; %g exploding); loss: last "
               "training step; accuracy: test set. Each run's page has its own figures.</p>\n",
            GF_VERDICT_VANISH_RATIO, GF_VERDICT_EXPLODE_RATIO);
    compare_table(f, dir, res, s, n, first);
    figures_section(f, dir);
    compare_config(f, res, s, n);
    gf_free(s);
    return close_page(f, path);
}

/* ---- SVG copies ---------------------------------------------------------------------- */

int gft_svg_copies(const gft_config *c, const char *dir, const char *const *names, size_t n,
                   const char *script)
{
    char path[1400], file[80];
    size_t found = 0;
    FILE *f;
    if (gft_path_in(path, sizeof path, dir, script) != 0 || (f = fopen(path, "w")) == NULL) {
        gft_error("cannot write '%s/%s'", dir, script);
        return 1;
    }
    fprintf(f, "# %s: an SVG copy of figures of this directory, for index.html.\n"
               "# Run it here: gnuplot %s\n"
               "gf_svg = 1\n", script, script);
    for (size_t i = 0; i < n; i++) {
        snprintf(file, sizeof file, "%s.gp", names[i]);
        if (gft_is_file(dir, file))
            fprintf(f, "%sload '%s'\n", found++ ? "reset\n" : "", file);
    }
    if (fclose(f) != 0) {
        gft_error("cannot write '%s'", path);
        return 1;
    }
    return found > 0 ? gft_render(c, path, dir, 0) : 0;
}
