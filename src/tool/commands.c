/* src/tool/commands.c: the commands of the gradflow program. run trains one network;
 * compare and the showcase train one network per value of a list, in this process, and
 * overlay them; sweep runs a grid as separate `gradflow run` processes and merges their
 * directories; list and gradcheck inspect. Training itself is in train.c. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

extern char **environ;

/* ---- Helpers -------------------------------------------------------------------------- */

/* A directory name from a label: letters, digits and . _ = - kept, the rest '_'. */
static void dir_name(char *buf, size_t len, const char *label)
{
    size_t i = 0;
    for (; label[i] && i + 1 < len; i++) {
        char ch = label[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                 (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '=' || ch == '-';
        buf[i] = ok ? ch : ch == ',' ? '_' : '-';
    }
    buf[i] = '\0';
}

static const char *out_dir(const gft_config *c, const char *fallback)
{
    return c->out[0] ? c->out : fallback;
}

/* The init a configuration uses, for tables: the given scheme or the suited one. */
static const char *init_label(const gft_config *c)
{
    const gf_activation *act;
    if (c->init_given)
        return c->init_text;
    if (c->cell >= 0)
        return "uniform"; /* gf_rnn_init's default, U(-1/sqrt(H), 1/sqrt(H)) */
    if (gf_activation_find(&act, c->act) == GF_OK)
        return act->suited_init;
    return "suited";
}

static int is_file(const char *dir, const char *file)
{
    char path[4200];
    struct stat sb;
    int n = snprintf(path, sizeof path, "%s/%s", dir, file);
    if (n < 0 || (size_t)n >= sizeof path)
        return 0;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* ---- The table of results ------------------------------------------------------------- */

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

static void table_header(const char *first, int w)
{
    printf("%-*s %-12s %10s %10s %10s %10s %10s  %s\n", w, first, "init", "dL/dh 1st",
           "dL/dh last", "ratio", "loss", "accuracy", "verdict");
}

static void table_row(const gft_result *r, const char *init, int w)
{
    printf("%-*s %-12s", w, r->label, init ? init : "");
    if (r->judged) {
        print_value(r->verdict.signal_first_init);
        print_value(r->verdict.signal_last_init);
        print_value(r->verdict.ratio_init);
    } else {
        print_value(NAN), print_value(NAN), print_value(NAN);
    }
    print_value(r->final_loss);
    print_value(r->accuracy);
    if (r->status == GFT_EXIT_INTERRUPTED)
        printf("  interrupted");
    else if (r->judged)
        printf("  %s", gf_verdict_name(r->verdict.kind));
    else
        printf("  failed");
    printf("\n");
}

static void table_notes(void)
{
    printf("dL/dh: the backward signal ||dL/dh|| reaching the first and the last linear layer "
           "at initialisation;\nratio = first / last (< %g vanishing, > %g exploding). "
           "Loss: last training step; accuracy: test set.\n",
           GF_VERDICT_VANISH_RATIO, GF_VERDICT_EXPLODE_RATIO);
}

/* Recurrent runs: the gradient through time at the first recorded step. */
static void time_table(const gft_result *res, size_t n, const char *first, int w)
{
    int any = 0;
    for (size_t i = 0; i < n; i++)
        any |= !isnan(res[i].time_ratio);
    if (!any)
        return;
    printf("\nthrough time, at initialisation (each run's time.csv, time.png):\n");
    printf("%-*s %12s %12s %12s\n", w, first, "dL/dh_1", "dL/dh_T", "ratio");
    for (size_t i = 0; i < n; i++) {
        if (isnan(res[i].time_ratio))
            continue;
        printf("%-*s", w, res[i].label);
        printf(" %12.3g %12.3g %12.3g\n", res[i].time_first, res[i].time_last,
               res[i].time_ratio);
    }
    printf("dL/dh_t: ||dL/dh_t|| at step t of the sequence (the loss reads h_T); ratio = "
           "first / last.\n");
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
static int overlay(const char *dir, const gft_result *res, size_t n, const gft_config *c)
{
    static const char *const figs[] = {"signal", "loss", "units", "time"};
    gf_plot_run runs[64];
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
        runs[m].loss = res[i].loss;
        runs[m].loss_steps = res[i].loss_steps;
        runs[m].n_loss = res[i].n_loss;
        m++;
    }
    if (m == 0)
        return 0;
    if (gf_mkdir_p(dir) != GF_OK) {
        gft_error("--out %s: %s", dir, gf_last_error());
        return 1;
    }
    gft_clear_scripts(dir, figs, 4);
    po.format = batch ? GF_PLOT_NONE : gft_plot_format(c);
    failed |= gft_plot_status(gf_plot_signal(dir, "signal", runs, m, &po), dir, c->quiet, soft);
    failed |= gft_plot_status(gf_plot_loss(dir, "loss", runs, m, &po), dir, c->quiet, soft);
    po.step = GF_PLOT_STEP_LAST;
    /* Dead and saturated units need activation layers (a recurrent net has none). */
    if (have_units(runs, m))
        failed |= gft_plot_status(gf_plot_units(dir, "units", runs, m, &po), dir, c->quiet,
                                  soft);
    /* Recurrent runs: their gradients through time at initialisation, on one figure. */
    for (size_t i = 0; i < n && n_curves < 64; i++)
        if (res[i].time_init != NULL)
            curves[n_curves++] = (gft_curve){res[i].label, res[i].time_init, res[i].time_T};
    if (n_curves > 0) {
        int tf = gft_time_figure(dir, "time", "The gradient through time at the first step",
                                 curves, n_curves, batch ? GF_PLOT_PNG : GF_PLOT_SVG);
        char script[4200];
        failed |= tf < 0;
        if (tf == 0 && !batch && c->plot != GFT_PLOT_NONE) {
            snprintf(script, sizeof script, "%s/time.gp", dir);
            failed |= gft_plot_status(gf_plot_render(script), dir, c->quiet, soft);
        }
    }
    if (batch)
        failed |= gft_plot_status(gft_render_batch(dir, figs, 4, c->plot == GFT_PLOT_PNG), dir,
                                  c->quiet, soft);
    return failed;
}

/* What the figures are: rendered images, or only scripts (--plot none, no gnuplot). */
static int rendered(const gft_config *c)
{
    return c->plot != GFT_PLOT_NONE && gf_plot_available();
}

static const char *figure_ext(const gft_config *c)
{
    return !rendered(c) ? "gp" : c->plot == GFT_PLOT_SVG ? "svg" : "png";
}

/* The overlaid figures written into dir (those with a script: units needs activation
 * layers, time recurrent runs), comma-separated, without a newline. */
static void print_figures(const char *dir, const gft_config *c)
{
    static const struct {
        const char *name, *what;
    } figs[] = {{"signal", " (backward signal per layer)"}, {"loss", ""}, {"units", ""},
                {"time", " (gradient through time)"}};
    int k = 0;
    for (size_t i = 0; i < sizeof figs / sizeof figs[0]; i++) {
        char script[80];
        snprintf(script, sizeof script, "%s.gp", figs[i].name);
        if (!is_file(dir, script))
            continue;
        printf("%s%s/%s.%s%s", k++ ? ", " : "", dir, figs[i].name, figure_ext(c), figs[i].what);
    }
    if (k == 0)
        printf("none");
}

/* Combine run statuses: interrupted, then failure, then non-finite, then success. */
static int worse(int a, int b)
{
    static const int order[] = {GFT_EXIT_INTERRUPTED, GFT_EXIT_FAIL, GFT_EXIT_USAGE,
                                GFT_EXIT_NONFINITE};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (a == order[i] || b == order[i])
            return order[i];
    return a ? a : b;
}

/* ---- run ------------------------------------------------------------------------------ */

/* A figure for people: NaN and infinities as words, not "-nan". */
static const char *num(char *buf, size_t len, double v)
{
    if (isnan(v))
        snprintf(buf, len, "NaN");
    else if (isinf(v))
        snprintf(buf, len, "%sinf", v < 0 ? "-" : "");
    else
        snprintf(buf, len, "%.4g", v);
    return buf;
}

/* The network of a configuration in words: "relu, init he, 12 linear layers of width 64
 * (an input layer, 5 residual blocks of 2, an output layer), batch norm". */
static void describe_net(char *buf, size_t len, const gft_config *c)
{
    size_t n;
    if (c->cell >= 0) {
        char steps[64];
        if (strcmp(c->data, "adding") == 0)
            snprintf(steps, sizeof steps, "%zu steps", gft_adding_steps(c));
        else if (c->seq_len)
            snprintf(steps, sizeof steps, "%zu steps", c->seq_len);
        else
            snprintf(steps, sizeof steps, "one input column per step");
        snprintf(buf, len, "%s of %zu hidden units over %s, then a linear output layer, init "
                 "%s", gf_rnn_cell_name((gf_rnn_cell)c->cell), c->hidden, steps,
                 init_label(c));
        return;
    }
    n = (size_t)snprintf(buf, len, "%s, init %s, %zu linear layers of width %zu", c->act,
                         init_label(c), c->depth, c->width);
    if (n < len && c->residual)
        n += (size_t)snprintf(buf + n, len - n, " (an input layer, %zu residual blocks of %zu, "
                              "an output layer)", (c->depth - 2) / c->residual, c->residual);
    if (n < len && c->norm != GFT_NORM_NONE)
        snprintf(buf + n, len - n, ", %s norm", c->norm == GFT_NORM_BATCH ? "batch" : "layer");
}

static void print_run(const gft_result *r, const gft_config *c)
{
    char a[32], b[32], d[32], net[300];
    if (c->resume[0]) {
        printf("%s: resumed from %s, %s, %llu steps in %.1f s\n", r->label, c->resume,
               c->data, (unsigned long long)r->steps, r->seconds);
    } else {
        describe_net(net, sizeof net, c);
        printf("%s: %s, %s, %llu steps in %.1f s\n", r->label, net, c->data,
               (unsigned long long)r->steps, r->seconds);
    }
    if (r->judged) {
        printf("  backward signal ||dL/dh|| at step %llu: first layer %s, last layer %s, "
               "ratio %s\n", (unsigned long long)r->verdict.first_step,
               num(a, sizeof a, r->verdict.signal_first_init),
               num(b, sizeof b, r->verdict.signal_last_init),
               num(d, sizeof d, r->verdict.ratio_init));
        printf("  final loss %s", num(a, sizeof a, r->final_loss));
        if (!isnan(r->accuracy))
            printf(", test accuracy %.3f", r->accuracy);
        printf("\n  verdict: %s\n", r->verdict.text);
    }
    if (!isnan(r->time_ratio))
        printf("  through time at step %llu: ||dL/dh_1|| %s, ||dL/dh_T|| %s, ratio %s%s\n",
               (unsigned long long)(r->judged ? r->verdict.first_step : 0),
               num(a, sizeof a, r->time_first), num(b, sizeof b, r->time_last),
               num(d, sizeof d, r->time_ratio),
               r->time_ratio < GF_VERDICT_VANISH_RATIO ? " (vanishing through time)" : "");
    printf("  wrote %s (telemetry.csv, %sloss.csv, summary.json, %s *.%s)\n", r->dir,
           !isnan(r->time_ratio) ? "time.csv, " : "",
           rendered(c) ? "figures" : "gnuplot scripts", figure_ext(c));
}

int gft_cmd_run(gft_args *a)
{
    gft_result r;
    const char *dir = out_dir(&a->cfg, "gradflow-out/run");
    char label[256];
    int status;
    snprintf(label, sizeof label, "%s",
             a->cfg.name[0] ? a->cfg.name
             : a->cfg.cell >= 0 ? gf_rnn_cell_name((gf_rnn_cell)a->cfg.cell) : a->cfg.act);
    if (a->cfg.resume[0] && !a->cfg.quiet) {
        /* The network and optimiser come from the model file. */
        static const char *const ignored[] = {"depth", "width", "act", "act-param", "init",
                                              "optim", "momentum", "norm", "residual", "cell",
                                              "hidden"};
        for (size_t k = 0; k < a->n_set; k++)
            for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
                if (strcmp(a->set[k].opt->name, ignored[i]) == 0)
                    fprintf(stderr, "gradflow: note: --%s is ignored with --resume (the "
                                    "model file holds the network and optimiser)\n",
                            ignored[i]);
    }
    status = gft_train(&a->cfg, dir, label, 0, &r);
    if (status == GFT_EXIT_INTERRUPTED)
        fprintf(stderr, "gradflow: interrupted after %llu steps; everything recorded so far "
                        "is in %s\n", (unsigned long long)r.steps, dir);
    if (!a->cfg.quiet && (status == 0 || status == GFT_EXIT_INTERRUPTED ||
                          status == GFT_EXIT_NONFINITE))
        print_run(&r, &a->cfg);
    gft_result_release(&r);
    return status;
}

/* ---- compare and showcase ------------------------------------------------------------- */

/* One in-process run per item of setting `k` (the list), then the table and overlays. */
static int compare_runs(gft_args *a, size_t k, const char *dir, const char *title)
{
    size_t n = gft_list_count(a->set[k].value);
    size_t choice[GFT_MAX_SETTINGS] = {0};
    gft_result *res = gf_calloc(n, sizeof *res);
    gft_config *cfgs = gf_calloc(n, sizeof *cfgs);
    int status = 0, plot_failed;
    size_t done = 0;

    if (res == NULL || cfgs == NULL) {
        gf_free(res), gf_free(cfgs);
        gft_error("out of memory");
        return GFT_EXIT_FAIL;
    }
    /* Every configuration is checked before the first run starts (a bad combination of
     * one value with the other options is a usage error, said once). */
    for (size_t i = 0; i < n; i++) {
        choice[k] = i;
        if (gft_config_build(&cfgs[i], a->cmd, a->set, a->n_set, choice) != 0) {
            gf_free(res), gf_free(cfgs);
            return GFT_EXIT_USAGE;
        }
        cfgs[i].quiet = a->cfg.quiet;
    }
    if (!a->cfg.quiet)
        printf("%s: %zu runs into %s\n", title, n, dir);
    for (size_t i = 0; i < n && !gft_interrupted; i++) {
        char item[256], label[300], sub[300], path[1400];
        int st;
        gft_list_item(a->set[k].value, i, item, sizeof item);
        if (strcmp(a->set[k].opt->name, "act") == 0 || strcmp(a->set[k].opt->name, "init") == 0 ||
            strcmp(a->set[k].opt->name, "cell") == 0)
            snprintf(label, sizeof label, "%s", item);
        else
            snprintf(label, sizeof label, "%s=%s", a->set[k].opt->name, item);
        dir_name(sub, sizeof sub, label);
        snprintf(path, sizeof path, "%s/%s", dir, sub);
        st = gft_train(&cfgs[i], path, label, 1, &res[i]);
        done = i + 1;
        /* A NaN run has said where it stopped; other failures get a word more. */
        if (!a->cfg.quiet && st != 0 && st != GFT_EXIT_INTERRUPTED && st != GFT_EXIT_NONFINITE)
            fprintf(stderr, "gradflow: %s: run failed (exit %d); continuing\n", label, st);
        status = worse(status, st);
        if (st == GFT_EXIT_INTERRUPTED) {
            fprintf(stderr, "gradflow: interrupted during %s; the runs so far are in %s\n",
                    label, dir);
            break;
        }
    }

    if (gft_interrupted)
        status = worse(status, GFT_EXIT_INTERRUPTED);
    if (done > 0) {
        int w = label_width(res, done, a->set[k].opt->name);
        printf("\n");
        table_header(a->set[k].opt->name, w);
        for (size_t i = 0; i < done; i++)
            table_row(&res[i], init_label(&cfgs[i]), w);
        table_notes();
        time_table(res, done, a->set[k].opt->name, w);
        plot_failed = overlay(dir, res, done, &a->cfg);
        if (plot_failed)
            status = worse(status, GFT_EXIT_FAIL);
        printf("figures: ");
        print_figures(dir, &a->cfg);
        printf(";\neach run's directory holds its own (heatmap, histograms).\n");
    }
    for (size_t i = 0; i < n; i++)
        gft_result_release(&res[i]);
    gf_free(res);
    gf_free(cfgs);
    return status;
}

int gft_cmd_compare(gft_args *a)
{
    size_t k = a->n_set, lists = 0;
    for (size_t i = 0; i < a->n_set; i++)
        if (a->set[i].value != NULL && a->set[i].opt->listable &&
            gft_list_count(a->set[i].value) > 1) {
            if (lists++ == 0)
                k = i;
        }
    if (lists == 0) {
        gft_error("compare: give one option a comma list, e.g. --act sigmoid,tanh,relu or "
                  "--init normal,xavier,he");
        return GFT_EXIT_USAGE;
    }
    if (lists > 1) {
        gft_error("compare: only one option may be a comma list (use sweep for a grid)");
        return GFT_EXIT_USAGE;
    }
    return compare_runs(a, k, out_dir(&a->cfg, "gradflow-out/compare"), "compare");
}

int gft_cmd_showcase(gft_args *a)
{
    static const gft_option act_list = {"act", "NAME", 0, 1, NULL, 0, 0, 0, ""};
    const gft_option *table;
    size_t n_opt;
    int status;

    /* The showcase is a compare over the five activations, each with its suited init. */
    if (a->n_set == GFT_MAX_SETTINGS) {
        gft_error("too many options");
        return GFT_EXIT_USAGE;
    }
    table = gft_options(&n_opt);
    for (size_t i = 0; i < n_opt; i++)
        if (strcmp(table[i].name, "act") == 0)
            a->set[a->n_set].opt = &table[i];
    if (a->set[a->n_set].opt == NULL)
        a->set[a->n_set].opt = &act_list;
    a->set[a->n_set].value = "sigmoid,tanh,relu,leaky_relu,softplus";
    a->n_set++;
    /* compare's list rules apply to a showcase's settings too. */
    a->cmd = GFT_CMD_COMPARE;
    status = compare_runs(a, a->n_set - 1, out_dir(&a->cfg, "gradflow-out/showcase"),
                          "showcase (embedded digits unless --data says otherwise)");
    return status;
}

/* ---- merge ---------------------------------------------------------------------------- */

/* A top-level number of our own summary.json, whose top-level keys open a line with two
 * spaces (the config object, on one line, has keys such as "steps" too). NaN when
 * absent or null. */
static double json_number(const char *text, const char *key)
{
    char pat[80];
    const char *p;
    snprintf(pat, sizeof pat, "\n  \"%s\":", key);
    p = strstr(text, pat);
    if (p == NULL)
        return NAN;
    p += strlen(pat);
    while (*p == ' ')
        p++;
    if (strncmp(p, "null", 4) == 0)
        return NAN;
    return strtod(p, NULL);
}

/* A string from our own summary.json: "key": "value", the first such key (the run's
 * "name" comes first; "init" is only in the config). Values with escapes are cut at
 * the first quote. buf unchanged when absent. */
static void json_string(char *buf, size_t len, const char *text, const char *key)
{
    char pat[80];
    const char *p, *end;
    snprintf(pat, sizeof pat, "\"%s\": \"", key);
    p = strstr(text, pat);
    if (p == NULL)
        return;
    p += strlen(pat);
    end = strchr(p, '"');
    if (end == NULL || end == p)
        return;
    snprintf(buf, len, "%.*s", (int)(end - p), p);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;
    if (f == NULL)
        return NULL;
    buf = gf_alloc(1 << 16);
    if (buf == NULL) {
        fclose(f);
        return NULL;
    }
    n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collect run directories: DIR itself when it holds a summary.json, else its
 * subdirectories that do (sorted by name). Paths are allocated; *n grows. */
static int collect_runs(const char *dir, char ***paths, size_t *n, size_t *cap, int quiet)
{
    DIR *d;
    struct dirent *e;
    size_t first = *n;
    if (is_file(dir, "summary.json")) {
        char *p;
        if (*n == *cap) {
            char **np = gf_realloc(*paths, (*cap ? 2 * *cap : 16) * sizeof *np);
            if (np == NULL)
                return -1;
            *paths = np, *cap = *cap ? 2 * *cap : 16;
        }
        p = gf_alloc(strlen(dir) + 1);
        if (p == NULL)
            return -1;
        strcpy(p, dir);
        (*paths)[(*n)++] = p;
        return 0;
    }
    d = opendir(dir);
    if (d == NULL) {
        gft_error("merge: cannot read '%s': %s", dir, strerror(errno));
        return -2;
    }
    while ((e = readdir(d)) != NULL) {
        char sub[4200];
        char *p;
        if (e->d_name[0] == '.')
            continue;
        snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
        if (!is_file(sub, "summary.json")) {
            if (is_file(sub, "telemetry.csv") && !quiet)
                fprintf(stderr, "gradflow: note: skipping %s: no summary.json (still running, "
                                "or killed)\n", sub);
            continue;
        }
        if (*n == *cap) {
            char **np = gf_realloc(*paths, (*cap ? 2 * *cap : 16) * sizeof *np);
            if (np == NULL) {
                closedir(d);
                return -1;
            }
            *paths = np, *cap = *cap ? 2 * *cap : 16;
        }
        p = gf_alloc(strlen(sub) + 1);
        if (p == NULL) {
            closedir(d);
            return -1;
        }
        strcpy(p, sub);
        (*paths)[(*n)++] = p;
    }
    closedir(d);
    if (*n > first)
        qsort(*paths + first, *n - first, sizeof **paths, cmp_str);
    return 0;
}

/* The first recorded step of a run's time.csv (rnn.h's step,t,grad_h_norm), for the
 * overlay of the gradient through time. Absent or malformed: nothing, not an error (the
 * run's own figures were judged when it ran). */
static void read_time(gft_result *r, const char *dir)
{
    char path[4200], line[256];
    unsigned long long first = 0;
    size_t n = 0, cap = 0;
    double *v = NULL;
    FILE *f;
    snprintf(path, sizeof path, "%s/time.csv", dir);
    f = fopen(path, "r");
    if (f == NULL)
        return;
    if (fgets(line, sizeof line, f) != NULL && strncmp(line, "step,t,", 7) == 0)
        while (fgets(line, sizeof line, f) != NULL) {
            unsigned long long step;
            unsigned long t;
            double x;
            if (sscanf(line, "%llu,%lu,%lf", &step, &t, &x) != 3 || (n > 0 && step != first) ||
                t != n + 1)
                break;
            first = step;
            if (n == cap) {
                double *nv = gf_realloc(v, (cap ? 2 * cap : 64) * sizeof *nv);
                if (nv == NULL)
                    break;
                v = nv, cap = cap ? 2 * cap : 64;
            }
            v[n++] = x;
        }
    fclose(f);
    if (n == 0) {
        gf_free(v);
        return;
    }
    r->time_init = v, r->time_T = n;
    r->time_first = v[0], r->time_last = v[n - 1];
    r->time_ratio = v[0] / v[n - 1];
}

/* Merge run directories into one table and one set of overlaid figures in out. */
static int merge_dirs(const char *const *dirs, size_t n_dirs, const char *out,
                      const gft_config *c)
{
    char **paths = NULL;
    size_t n = 0, cap = 0;
    gft_result *res = NULL;
    char (*inits)[64] = NULL;
    int status = 0;

    for (size_t i = 0; i < n_dirs; i++) {
        int st = collect_runs(dirs[i], &paths, &n, &cap, c->quiet);
        if (st == -1) {
            gft_error("out of memory");
            status = GFT_EXIT_FAIL;
            goto done;
        }
        if (st == -2)
            status = GFT_EXIT_FAIL;
    }
    if (n == 0) {
        gft_error("merge: no run directory (one holding summary.json) in %s%s", dirs[0],
                  n_dirs > 1 ? " and the others" : "");
        status = GFT_EXIT_FAIL;
        goto done;
    }
    res = gf_calloc(n, sizeof *res);
    inits = gf_calloc(n, sizeof *inits);
    if (res == NULL || inits == NULL) {
        gft_error("out of memory");
        status = GFT_EXIT_FAIL;
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        char path[4200];
        char *summary;
        const char *base = strrchr(paths[i], '/');
        gft_result *r = &res[i];
        r->final_loss = r->accuracy = NAN;
        r->time_first = r->time_last = r->time_ratio = NAN;
        snprintf(r->label, sizeof r->label, "%s", base ? base + 1 : paths[i]);
        snprintf(r->dir, sizeof r->dir, "%s", paths[i]);
        snprintf(path, sizeof path, "%s/summary.json", paths[i]);
        summary = read_text(path);
        if (summary != NULL) {
            json_string(r->label, sizeof r->label, summary, "name");
            json_string(inits[i], sizeof inits[i], summary, "init");
            r->final_loss = json_number(summary, "final_loss");
            r->accuracy = json_number(summary, "final_accuracy");
            r->steps = (uint64_t)fmax(0, json_number(summary, "steps"));
            gf_free(summary);
        }
        snprintf(path, sizeof path, "%s/telemetry.csv", paths[i]);
        if (gf_telemetry_new(&r->tel) != GF_OK ||
            gf_run_read_telemetry(r->tel, path) != GF_OK) {
            gft_error("merge: %s", gf_last_error());
            gf_telemetry_free(r->tel);
            r->tel = NULL;
            r->status = GFT_EXIT_FAIL;
            status = GFT_EXIT_FAIL;
            continue;
        }
        if (gf_telemetry_count(r->tel) > 0 && gf_verdict_judge(r->tel, &r->verdict) == GF_OK)
            r->judged = 1;
        read_time(r, paths[i]);
    }
    {
        int w = label_width(res, n, "run");
        table_header("run", w);
        for (size_t i = 0; i < n; i++)
            table_row(&res[i], inits[i], w);
        table_notes();
        time_table(res, n, "run", w);
    }
    if (overlay(out, res, n, c))
        status = worse(status, GFT_EXIT_FAIL);
    printf("merged %zu runs; figures: ", n);
    print_figures(out, c);
    printf("\n");

done:
    for (size_t i = 0; i < n; i++) {
        if (res != NULL)
            gft_result_release(&res[i]);
        gf_free(paths[i]);
    }
    gf_free(paths);
    gf_free(res);
    gf_free(inits);
    return status;
}

int gft_cmd_merge(gft_args *a)
{
    return merge_dirs(a->operands, a->n_operands, out_dir(&a->cfg, a->operands[0]), &a->cfg);
}

/* ---- sweep ---------------------------------------------------------------------------- */

/* The path of this program, for the child processes: /proc/self/exe where there is
 * one, else argv[0] looked up on PATH by posix_spawnp. */
static void self_path(char *buf, size_t len, int *use_path)
{
    ssize_t n = readlink("/proc/self/exe", buf, len - 1);
    *use_path = 0;
    if (n > 0) {
        buf[n] = '\0';
        return;
    }
    snprintf(buf, len, "%s", gft_argv0);
    *use_path = strchr(buf, '/') == NULL;
}

/* Quote for a POSIX shell when needed. */
static void print_word(const char *w)
{
    int plain = *w != '\0';
    for (const char *p = w; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("-_=./:,+@%", *p)))
            plain = 0;
    if (plain) {
        fputs(w, stdout);
        return;
    }
    putchar('\'');
    for (const char *p = w; *p; p++) {
        if (*p == '\'')
            fputs("'\\''", stdout);
        else
            putchar(*p);
    }
    putchar('\'');
}

typedef struct child_argv {
    char *argv[2 * GFT_MAX_SETTINGS + 10];
    char items[GFT_MAX_SETTINGS][1024];
    char flags[GFT_MAX_SETTINGS][80];
    char dir[1400];
    char label[1024];
} child_argv;

/* The command line of grid point `choice`: gradflow run <its settings> --out DIR/<label>
 * --quiet. Options of the sweep itself (--out, --jobs, --emit-commands, --quiet) are
 * not passed on. */
static void make_child(child_argv *ca, const gft_args *a, const size_t *choice,
                       const char *self, const char *dir)
{
    size_t argc = 0;
    char sub[1024];
    ca->argv[argc++] = (char *)self;
    ca->argv[argc++] = (char *)"run";
    for (size_t k = 0; k < a->n_set; k++) {
        const gft_option *o = a->set[k].opt;
        if (!(o->commands & (1u << GFT_CMD_RUN)) || strcmp(o->name, "out") == 0 ||
            strcmp(o->name, "quiet") == 0)
            continue;
        snprintf(ca->flags[k], sizeof ca->flags[k], "--%s", o->name);
        ca->argv[argc++] = ca->flags[k];
        if (a->set[k].value == NULL)
            continue;
        if (o->listable)
            gft_list_item(a->set[k].value, choice[k], ca->items[k], sizeof ca->items[k]);
        else
            snprintf(ca->items[k], sizeof ca->items[k], "%s", a->set[k].value);
        ca->argv[argc++] = ca->items[k];
    }
    gft_point_label(ca->label, sizeof ca->label, a->set, a->n_set, choice, 1);
    if (ca->label[0] == '\0')
        snprintf(ca->label, sizeof ca->label, "run");
    dir_name(sub, sizeof sub, ca->label);
    snprintf(ca->dir, sizeof ca->dir, "%s/%s", dir, sub);
    ca->argv[argc++] = (char *)"--name";
    ca->argv[argc++] = ca->label;
    ca->argv[argc++] = (char *)"--out";
    ca->argv[argc++] = ca->dir;
    ca->argv[argc++] = (char *)"--quiet";
    ca->argv[argc] = NULL;
}

/* Advance an odometer over the lists; 0 when it wrapped around (all points done). */
static int next_point(size_t *choice, const size_t *count, size_t n)
{
    for (size_t k = n; k-- > 0;) {
        if (++choice[k] < count[k])
            return 1;
        choice[k] = 0;
    }
    return 0;
}

int gft_cmd_sweep(gft_args *a)
{
    size_t count[GFT_MAX_SETTINGS], choice[GFT_MAX_SETTINGS] = {0};
    size_t total = 1, launched = 0, finished = 0, failed = 0;
    const char *dir = out_dir(&a->cfg, "gradflow-out/sweep");
    char self[4096];
    int use_path, status = 0, interrupted = 0;
    struct running {
        pid_t pid;
        char label[1024];
    } *run = NULL;
    unsigned n_running = 0, jobs = a->cfg.jobs;
    child_argv *ca = gf_alloc(sizeof *ca);

    if (ca == NULL) {
        gft_error("out of memory");
        return GFT_EXIT_FAIL;
    }
    for (size_t k = 0; k < a->n_set; k++) {
        count[k] = a->set[k].value && a->set[k].opt->listable ? gft_list_count(a->set[k].value)
                                                              : 1;
        total *= count[k];
    }
    self_path(self, sizeof self, &use_path);
    /* Every configuration is checked before anything runs or is printed: a bad
     * combination is one usage error, not a failed child per grid point. */
    do {
        static gft_config scratch;
        if (gft_config_build(&scratch, a->cmd, a->set, a->n_set, choice) != 0) {
            gf_free(ca);
            return GFT_EXIT_USAGE;
        }
    } while (next_point(choice, count, a->n_set));

    if (a->cfg.emit_commands) {
        do {
            make_child(ca, a, choice, self, dir);
            for (size_t i = 0; ca->argv[i] != NULL; i++) {
                if (i)
                    putchar(' ');
                print_word(ca->argv[i]);
            }
            putchar('\n');
        } while (next_point(choice, count, a->n_set));
        gf_free(ca);
        return 0;
    }

    run = gf_calloc(jobs, sizeof *run);
    if (run == NULL || gf_mkdir_p(dir) != GF_OK) {
        gft_error("%s", run == NULL ? "out of memory" : gf_last_error());
        gf_free(ca), gf_free(run);
        return GFT_EXIT_FAIL;
    }
    if (!a->cfg.quiet)
        printf("sweep: %zu configurations, %u at a time, into %s\n", total, jobs, dir);
    fflush(stdout); /* children share stdout: nothing buffered may be written twice */

    for (int more = 1; more || n_running > 0;) {
        /* Launch while there are free slots and configurations left. */
        while (more && n_running < jobs && !gft_interrupted) {
            pid_t pid;
            int err;
            make_child(ca, a, choice, self, dir);
            err = use_path ? posix_spawnp(&pid, self, NULL, NULL, ca->argv, environ)
                           : posix_spawn(&pid, self, NULL, NULL, ca->argv, environ);
            more = next_point(choice, count, a->n_set);
            launched++;
            if (err != 0) {
                gft_error("sweep: cannot start %s: %s", self, strerror(err));
                failed++;
                status = worse(status, GFT_EXIT_FAIL);
                continue;
            }
            for (unsigned s = 0; s < jobs; s++)
                if (run[s].pid == 0) {
                    run[s].pid = pid;
                    snprintf(run[s].label, sizeof run[s].label, "%s", ca->label);
                    break;
                }
            n_running++;
        }
        if (gft_interrupted && !interrupted) {
            /* Ctrl-C reaches the children from the terminal; a SIGINT sent to this process
             * alone is passed on, so every child stops after its current step. */
            interrupted = 1;
            more = 0;
            for (unsigned s = 0; s < jobs; s++)
                if (run[s].pid > 0)
                    kill(run[s].pid, SIGINT);
        }
        if (n_running == 0)
            break;
        {
            int ws;
            /* Poll rather than block: a SIGINT that lands just before a blocking wait
             * would otherwise not be passed on until a child ends by itself. */
            pid_t pid = waitpid(-1, &ws, WNOHANG);
            if (pid == 0) {
                struct timespec ts = {0, 20 * 1000 * 1000};
                nanosleep(&ts, NULL);
                continue;
            }
            if (pid < 0) {
                if (errno == EINTR)
                    continue;
                gft_error("sweep: waitpid: %s", strerror(errno));
                status = worse(status, GFT_EXIT_FAIL);
                break;
            }
            for (unsigned s = 0; s < jobs; s++) {
                int code;
                if (run[s].pid != pid)
                    continue;
                code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
                finished++;
                if (code != 0) {
                    if (code != GFT_EXIT_INTERRUPTED)
                        failed++;
                    if (code != GFT_EXIT_INTERRUPTED || !interrupted)
                        fprintf(stderr, "gradflow: sweep: %s: exit status %d\n", run[s].label,
                                code);
                    status = worse(status, code == GFT_EXIT_NONFINITE ? GFT_EXIT_NONFINITE
                                           : code == GFT_EXIT_INTERRUPTED ? GFT_EXIT_INTERRUPTED
                                                                          : GFT_EXIT_FAIL);
                }
                run[s].pid = 0;
                n_running--;
                if (!a->cfg.quiet && !interrupted)
                    printf("sweep: %zu/%zu done (%s)\n", finished, total, run[s].label);
                fflush(stdout);
                break;
            }
        }
    }
    if (interrupted)
        status = GFT_EXIT_INTERRUPTED;
    if (!a->cfg.quiet || interrupted)
        fprintf(interrupted ? stderr : stdout, "%ssweep: %zu of %zu configurations run, %zu "
                "failed\n", interrupted ? "gradflow: interrupted: " : "", finished, total,
                failed);
    gf_free(run);
    gf_free(ca);
    {
        const char *dirs[1] = {dir};
        int m = merge_dirs(dirs, 1, dir, &a->cfg);
        /* A run that failed already set the status; merging adds only its own failure. */
        if (status == 0)
            status = m;
    }
    return status;
}

/* ---- list ----------------------------------------------------------------------------- */

static const char *const init_text[GF_INIT_COUNT] = {
    [GF_INIT_ZEROS] = "every weight 0 (the symmetry is never broken)",
    [GF_INIT_CONSTANT] = "every weight = X (constant:0.6 is the scalar chain)",
    [GF_INIT_NORMAL] = "N(0, X^2), X = 1 by default: \"the common procedure\"",
    [GF_INIT_UNIFORM] = "U(-X, X), X = 1 by default",
    [GF_INIT_XAVIER_NORMAL] = "N(0, X^2 2/(fan_in+fan_out)) (Glorot and Bengio 2010), gain X",
    [GF_INIT_XAVIER_UNIFORM] = "U(-r, r), r = X sqrt(6/(fan_in+fan_out))",
    [GF_INIT_HE_NORMAL] = "N(0, 2/((1+X^2) fan_in)) (He et al. 2015), X = leaky slope",
    [GF_INIT_HE_UNIFORM] = "U(-r, r), r = sqrt(6/((1+X^2) fan_in))",
    [GF_INIT_LECUN_NORMAL] = "N(0, X^2/fan_in) (LeCun 1998)",
    [GF_INIT_LECUN_UNIFORM] = "U(-r, r), r = X sqrt(3/fan_in)",
    [GF_INIT_ORTHOGONAL] = "X times a random orthogonal matrix (Saxe et al. 2014)",
    [GF_INIT_LSUV] = ("orthogonal, then each layer scaled to unit output variance on a "
                      "batch (Mishkin and Matas 2016)"),
};

static void list_activations(void)
{
    printf("activations (--act NAME, --act-param X); bound = sup |f'| at the default "
           "parameter; init = the suited scheme and its gain:\n");
    for (size_t i = 0; i < gf_activation_count(); i++) {
        const gf_activation *f = gf_activation_at(i);
        printf("  %-20s bound %-6.4g init %s (gain %.4g)", f->name,
               f->deriv_bound(f->default_param), f->suited_init, f->gain(f->default_param));
        if (f->param_name)
            printf("; --act-param %s, default %g", f->param_name, f->default_param);
        printf("%s\n", f->saturating ? "; saturates" : "");
        printf("  %-20s %s\n", "", f->formula);
    }
}

static void list_inits(void)
{
    printf("init schemes (--init NAME[:X]; default: the activation's suited one):\n");
    for (int k = 0; k < GF_INIT_COUNT; k++)
        printf("  %-16s %s\n", gf_init_name((gf_init_kind)k), init_text[k]);
    printf("  (also: glorot = xavier, kaiming = he, *_normal spellings)\n");
}

static void list_losses(void)
{
    printf("losses (--loss NAME; default auto: cross_entropy for classes, mse otherwise):\n"
           "  %-16s mean squared error over all outputs (class targets one-hot)\n"
           "  %-16s softmax cross-entropy (log-sum-exp), class targets\n"
           "  %-16s binary cross-entropy on logits, targets in [0, 1] (classes one-hot)\n",
           gf_loss_name(GF_LOSS_MSE), gf_loss_name(GF_LOSS_SOFTMAX_CE),
           gf_loss_name(GF_LOSS_BCE_LOGITS));
}

static void list_optimisers(void)
{
    printf("optimisers (--optim NAME, --lr X, --momentum X):\n"
           "  %-16s delta = -lr g (default lr 0.01)\n"
           "  %-16s v = mu v + g, delta = -lr v (lr 0.01, mu 0.9; the default)\n"
           "  %-16s Kingma and Ba 2015, bias-corrected (lr 0.001)\n",
           gf_optim_name(GF_OPTIM_SGD), gf_optim_name(GF_OPTIM_MOMENTUM),
           gf_optim_name(GF_OPTIM_ADAM));
    printf("clipping (--clip KIND:T or --clip-value/--clip-norm/--clip-global-norm T):\n"
           "  value:T         every component into [-T, T]\n"
           "  norm:T          each layer's gradient scaled to norm <= T\n"
           "  global_norm:T   all gradients together scaled to norm <= T\n");
}

static void list_data(void)
{
    const char *fm = gf_data_fashion_mnist_dir();
    char probe[4200];
    int have;
    snprintf(probe, sizeof probe, "%s/train-images-idx3-ubyte.gz", fm);
    have = access(probe, R_OK) == 0;
    if (!have) {
        snprintf(probe, sizeof probe, "%s/train-images-idx3-ubyte", fm);
        have = access(probe, R_OK) == 0;
    }
    printf("data sets (--data NAME or a CSV file):\n"
           "  %-16s 1797 8x8 images of digits, 10 classes, embedded (UCI, Alpaydin and "
           "Kaynak, CC BY 4.0)\n"
           "  %-16s regression, inputs and targets i.i.d. N(0,1), --width wide (--samples)\n"
           "  %-16s 2 inputs in [-1,1], class = sign(x0) xor sign(x1) (--samples)\n"
           "  %-16s two interleaved spirals, 2 classes (--samples)\n"
           "  %-16s two moons, 2 classes (--samples)\n"
           "  %-16s 60,000 + 10,000 28x28 images, 10 classes, from %s (%s)\n"
           "  %-16s the adding problem, for --cell: T steps of (value ~ U(0,1), marker), two "
           "markers,\n"
           "  %-16s one in each half; target = the sum of the marked values (regression; "
           "--seq-len T,\n"
           "  %-16s default %d; --samples). Always answering 1 scores MSE 1/6\n"
           "  %-16s numbers, label in --label-column N (default last), --header/--no-header\n"
           "Sets without a test set of their own hold out --test-fraction (default 0.2).\n",
           "digits", "gauss", "xor", "spirals", "moons", "fashion-mnist", fm,
           have ? "found" : "not installed: apt-get install dataset-fashion-mnist",
           "adding", "", "", GFT_ADDING_STEPS, "FILE.csv");
}

static void list_normalisations(void)
{
    printf("normalisations (--norm KIND: after each hidden linear layer, before its "
           "activation; in residual blocks too):\n"
           "  %-16s no normalisation (the default)\n"
           "  %-16s batch norm (Ioffe and Szegedy 2015): each feature over the batch, eps "
           "1e-5; running\n"
           "  %-16s statistics (momentum 0.1) replace the batch's at evaluation; needs --batch "
           ">= 2\n"
           "  %-16s layer norm (Ba et al. 2016): each example over its features, eps 1e-5; "
           "needs --width >= 2\n"
           "Both learn a scale gamma (from 1) and a shift beta (from 0); init schemes leave "
           "them alone.\n"
           "residual blocks (--residual K): y = x + F(x), F = K linear layers with the "
           "normalisation and\n"
           "activation after each but the last; --depth counts an input layer, the blocks' "
           "layers and an\n"
           "output layer (docs/cli.md).\n",
           "none", "batch", "", "layer");
}

static void list_cells(void)
{
    printf("recurrent cells (--cell KIND --seq-len T --hidden H: one recurrent layer reading "
           "the input as T\n"
           "steps, then a linear output layer on h_T; trained through time, ||dL/dh_t|| "
           "recorded per step t):\n"
           "  %-16s h_t = tanh(W_x x_t + W_h h_{t-1} + b) (also: tanh)\n"
           "  %-16s i, f, o = sigmoid(.), g = tanh(.); c_t = f c_{t-1} + i g, h_t = o tanh(c_t);"
           " forget\n"
           "  %-16s bias starts at 1 (Hochreiter and Schmidhuber 1997, Gers et al. 2000)\n"
           "  %-16s r, z = sigmoid(.); n = tanh(W_x x_t + W_h (r h_{t-1}) + b); h_t = (1 - z) n "
           "+ z h_{t-1}\n"
           "  %-16s (Cho et al. 2014)\n"
           "Weights start U(-1/sqrt(H), 1/sqrt(H)) unless --init names a scheme (each gate's "
           "W_x and W_h\n"
           "apart; not lsuv). Defaults: --data adding, --seq-len %d for it (else one input "
           "column per step),\n"
           "--hidden %d.\n",
           gf_rnn_cell_name(GF_RNN_TANH), gf_rnn_cell_name(GF_RNN_LSTM), "",
           gf_rnn_cell_name(GF_RNN_GRU), "", GFT_ADDING_STEPS, GFT_HIDDEN);
}

int gft_cmd_list(gft_args *a)
{
    static const struct {
        const char *name;
        void (*fn)(void);
    } sections[] = {{"activations", list_activations}, {"inits", list_inits},
                    {"losses", list_losses}, {"optimisers", list_optimisers},
                    {"data", list_data}, {"normalisations", list_normalisations},
                    {"cells", list_cells}};
    const char *want = a->n_operands ? a->operands[0] : NULL;
    int shown = 0;
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        if (want != NULL && strncmp(sections[i].name, want, strlen(want)) != 0 &&
            !(strcmp(want, "optimizers") == 0 && i == 3) &&
            !(strcmp(want, "normalizations") == 0 && i == 5))
            continue;
        if (shown++)
            printf("\n");
        sections[i].fn();
        if (want != NULL)
            break;
    }
    if (!shown) {
        gft_error("list: unknown section '%s' (activations, inits, losses, optimisers, data, "
                  "normalisations, cells)", want);
        return GFT_EXIT_USAGE;
    }
    return 0;
}

/* ---- gradcheck ------------------------------------------------------------------------ */

int gft_cmd_gradcheck(gft_args *a)
{
    const gft_config *c = &a->cfg;
    gf_dataset *train = NULL, *test = NULL, *part = NULL;
    gf_net *net = NULL;
    gf_loss_kind loss;
    gf_gradcheck_options go = {0, 0, 0};
    gf_gradcheck_layer *res = NULL;
    const gf_activation *act = NULL;
    double worst = NAN;
    /* Relative errors with the library's floor (gradcheck.h). A wrong derivative gives
     * errors of order 1; rounding gives about eps |L| / h over the floor: ~1e-6 in double
     * (deep sigmoid nets, whose tiny gradients sit near the floor, reach 1e-5), ~1e-2 in
     * float with h = 1e-3, up to 5e-2 through 12 layers. */
#if GF_REAL_IS_DOUBLE
    double tol = isnan(c->tol) ? 1e-4 : c->tol;
#else
    double tol = isnan(c->tol) ? 1e-1 : c->tol;
#endif
    int status = gft_load_data(c, &train, &test, &loss);
    size_t rows;
    gf_status st;

    if (status != 0)
        return status;
    rows = c->batch < gf_dataset_rows(train) ? c->batch : gf_dataset_rows(train);
    st = gf_data_slice(&part, train, 0, rows);
    if (st != GF_OK) {
        gft_error("%s", gf_last_error());
        status = GFT_EXIT_FAIL;
        goto done;
    }
    status = gft_build_net(c, part->x->cols,
                           loss == GF_LOSS_SOFTMAX_CE ? part->n_classes : part->y->cols,
                           part->x, &net);
    if (status != 0)
        goto done;
    res = gf_calloc(gf_net_layer_count(net), sizeof *res);
    if (res == NULL) {
        gft_error("out of memory");
        status = GFT_EXIT_FAIL;
        goto done;
    }
    go.max_per_tensor = c->entries;
    st = gf_net_gradcheck(net, part->x, part->y, loss, &go, res, &worst);
    if (st != GF_OK) {
        gft_error("gradcheck: %s", gf_last_error());
        status = GFT_EXIT_FAIL;
        goto done;
    }
    gf_activation_find(&act, c->act);
    if (!c->quiet) {
        char net_text[300];
        describe_net(net_text, sizeof net_text, c);
        printf("gradcheck: %s, %s, batch %zu, gf_real %s\n", net_text, c->data, rows,
               gf_real_name());
        printf("%5s  %-20s %12s %12s %8s %12s\n", "layer", "kind", "param err", "input err",
               "checked", "||grad||");
        for (size_t i = 0; i < gf_net_layer_count(net); i++) {
            printf("%5zu  %-20s", i, gf_net_layer_kind(net, i));
            if (isnan(res[i].param_err))
                printf(" %12s", "-");
            else
                printf(" %12.3e", res[i].param_err);
            printf(" %12.3e %8zu %12.3e\n", res[i].input_err, res[i].checked,
                   res[i].grad_norm);
        }
    }
    if (!(worst <= tol)) {
        printf("worst relative error %.3e: above the tolerance %.1e\n", worst, tol);
        if (act != NULL && act->surrogate)
            printf("expected: %s passes back a chosen signal, not f'\n", act->name);
        else if (act != NULL && !act->saturating && strcmp(act->name, "identity") != 0)
            printf("note: %s has a kink at 0; a difference step (h) straddling it gives a "
                   "large error%s\n", act->name,
                   GF_REAL_IS_DOUBLE ? "" : " (likely in float; try a double build)");
        status = GFT_EXIT_FAIL;
    } else {
        printf("worst relative error %.3e: within the tolerance %.1e\n", worst, tol);
    }

done:
    gf_free(res);
    gf_net_free(net);
    gf_dataset_free(part);
    gf_dataset_free(train);
    gf_dataset_free(test);
    return status;
}
