/* src/analysis/plot.c: figures as gnuplot scripts. Each figure is a data file (<name>.dat,
 * whitespace-separated, NaN for a missing value) and a script (<name>.gp) that reads it
 * by its relative name, rendered by running gnuplot in the figure's directory. The
 * scripts pick pngcairo when gnuplot has it, else the libgd png terminal, so Debian's
 * gnuplot-nox renders them. The figures are described in docs/figures.md. This file holds
 * what they share and runs gnuplot (POSIX: fork); each family has its own file,
 * plot_signal.c, plot_curves.c and plot_hist.c. */
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
#include "analysis/run_dir.h"
#include "analysis/plot.h"
#include "engine/telemetry_steps.h"


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

/* The group of the wanted step: GF_PLOT_STEP_FIRST/LAST, else the last recorded step at
 * or before it (the first step when none is). t holds at least one record. */
void gf_plot_group_for(const gf_telemetry *t, uint64_t want, size_t *begin, size_t *end)
{
    size_t n = gf_telemetry_count(t);
    if (want == GF_PLOT_STEP_FIRST || gf_telemetry_at(t, 0)->step >= want) {
        gf_telemetry_step_group(t, 0, begin, end);
        return;
    }
    if (want == GF_PLOT_STEP_LAST) {
        gf_telemetry_step_group(t, n - 1, begin, end);
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
    gf_telemetry_step_group(t, lo, begin, end);
}

int gf_plot_is_linear(const gf_record *r)
{
    return (gf_layer_kind_traits(r->kind) & GF_KIND_LINEAR) != 0;
}

/* Whether a group has a linear layer: figures per layer then show only those. */
int gf_plot_group_has_linear(const gf_telemetry *t, size_t b, size_t e)
{
    for (size_t i = b; i < e; i++)
        if (gf_plot_is_linear(gf_telemetry_at(t, i)))
            return 1;
    return 0;
}

/* ---- Files --------------------------------------------------------------------------- */

gf_status gf_plot_open_file(gf_atomic_file *a, FILE **f, char *path, const char *dir,
                            const char *name, const char *ext, const char *who)
{
    gf_status st;
    int k = snprintf(path, GF_PLOT_PATH_CAP, "%s/%s%s", dir, name, ext);
    *f = NULL;
    if (k < 0 || k >= GF_PLOT_PATH_CAP)
        return gf_fail(GF_EINVAL, "%s: path '%s/%s%s' is too long", who, dir, name, ext);
    /* A unique temporary file renamed over the target: never a half-written script, and
     * never written through a link planted at its name. */
    if ((st = gf_atomic_begin(a, path, who)) != GF_OK)
        return st;
    *f = a->f;
    return GF_OK;
}

gf_status gf_plot_close_file(gf_atomic_file *a, const char *who)
{
    return gf_atomic_end(a, GF_OK, who);
}

/* A value for a data file; NaN marks a missing point (set datafile missing 'NaN'). Zero
 * and negative values cannot sit on a log axis: those columns pass log = 1. */
void gf_plot_put(FILE *f, double v, int log)
{
    if (!isfinite(v) || (log && v <= 0))
        fputs(" NaN", f);
    else
        fprintf(f, " %.6g", v);
}

/* A gnuplot single-quoted string holding a then b (b may be NULL): quotes inside are
 * doubled, newlines dropped. */
void gf_plot_quote2(FILE *f, const char *a, const char *b)
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

void gf_plot_quote(FILE *f, const char *s) { gf_plot_quote2(f, s, NULL); }

/* Terminal, output and common settings. */
void gf_plot_script_begin(FILE *f, const char *name, const gf_plot_options *o, int w, int h)
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
        gf_plot_quote2(f, name, ".svg");
    } else {
        /* Debian's gnuplot-nox has pngcairo; a build without cairo still has png. With
         * gf_svg defined (the tool's figures_svg.gp), the same script draws an SVG copy
         * instead, for the HTML page. */
        fprintf(f,
                "if (exists('gf_svg')) {\n"
                "    set terminal svg size %d,%d enhanced font 'sans,12' background rgb 'white'\n"
                "    set output ",
                w, h);
        gf_plot_quote2(f, name, ".svg");
        fprintf(f,
                "\n} else {\n"
                "    if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
                "        set terminal pngcairo size %d,%d enhanced font 'sans,10'\n"
                "    } else {\n"
                "        set terminal png size %d,%d enhanced\n"
                "    }\n"
                "    set output ",
                w, h, w, h);
        gf_plot_quote2(f, name, ".png");
        fputs("\n}", f);
    }
    fputs("\nset datafile missing 'NaN'\n"
          "set grid lc rgb '#d0d0d0'\n"
          "set key noenhanced\n", f);
}

/* The overall title: the caller's, else the figure's own. */
void gf_plot_title_line(FILE *f, const char *cmd, const gf_plot_options *o, const char *deflt)
{
    fprintf(f, "%s ", cmd);
    gf_plot_quote(f, o->title ? o->title : deflt);
    fputs(" noenhanced font ',12'\n", f);
}

void gf_plot_layer_axis(FILE *f, size_t n, int align_output, const char *label,
                        const char *aligned_label)
{
    if (align_output) {
        /* Nets of different depth share the right edge: their output layers. */
        fprintf(f, "set xlabel '%s'\nset xrange [%.1f:0.5]\n", aligned_label,
                -(double)(n > 0 ? n - 1 : 0) - 0.5);
    } else {
        fprintf(f, "set xlabel '%s'\nset xrange [0.5:%zu.5]\n", label, n);
    }
    if (n <= 25)
        fputs("set xtics 1\n", f);
}

/* 10^k tick labels when values span more than two decades, plain numbers otherwise. */
void gf_plot_log_axis(FILE *f, const char *axis, double lo, double hi)
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

gf_plot_range gf_plot_range_empty(void)
{
    gf_plot_range r = {INFINITY, 0, 0};
    return r;
}

void gf_plot_track(gf_plot_range *r, double v)
{
    if (isfinite(v) && v > 0) {
        r->lo = fmin(r->lo, v);
        r->hi = fmax(r->hi, v);
        r->count++;
    }
}

const char *gf_plot_run_label(const gf_plot_run *r, size_t i, char *buf, size_t cap)
{
    if (r->label != NULL)
        return r->label;
    snprintf(buf, cap, "run %zu", i + 1);
    return buf;
}

gf_status gf_plot_check_runs(const gf_plot_run *runs, size_t n, int need_records, const char *who)
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
gf_status gf_plot_prepare(const char *dir, const char *name, const gf_plot_options *o,
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
gf_status gf_plot_finish(gf_atomic_file *a, const char *script, const gf_plot_options *o,
                         const char *who)
{
    gf_status st = gf_plot_close_file(a, who);
    if (st != GF_OK || o->format == GF_PLOT_NONE)
        return st;
    return gf_plot_render(script);
}

/* Activation layers are those whose dead fraction applies (not NaN). */
size_t gf_plot_count_units(const gf_telemetry *t, uint64_t step)
{
    size_t b, e, k = 0;
    if (t == NULL || gf_telemetry_count(t) == 0)
        return 0;
    gf_plot_group_for(t, step, &b, &e);
    for (size_t j = b; j < e; j++)
        k += !isnan(gf_telemetry_at(t, j)->dead_frac);
    return k;
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
    if ((st = gf_plot_check_runs(run, 1, 1, who)) != GF_OK)
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
    if (gf_plot_count_units(run->telemetry, o.step) > 0)
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
        char cwd[GF_PLOT_PATH_CAP], rel[GF_PLOT_PATH_CAP];
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
    char exe[GF_PLOT_PATH_CAP];
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

gf_status gf_plot_render_start(gf_plot_job *job, const char *script)
{
    static const char who[] = "gf_plot_render";
    char exe[GF_PLOT_PATH_CAP], dir[GF_PLOT_PATH_CAP];
    GF_CHECK_NOT_NULL(job, who);
    job->pid = 0;
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
                 slash ? script : ".") >= (int)sizeof dir ||
        snprintf(job->script, sizeof job->script, "%s", script) >= (int)sizeof job->script)
        return gf_fail(GF_EINVAL, "%s: path '%s' is too long", who, script);
    snprintf(job->log, sizeof job->log, "%s.log", script);
    snprintf(job->dir, sizeof job->dir, "%s", dir);
    snprintf(job->exe, sizeof job->exe, "%s", exe);
    char *const argv[] = {exe, (char *)base, NULL};

    /* gnuplot's messages go to <script>.log, never to the caller's terminal. */
    int logfd = open(job->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (logfd < 0)
        return gf_fail(GF_EIO, "%s: cannot open '%s': %s", who, job->log, strerror(errno));
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
    job->pid = (long)pid;
    return GF_OK;
}

/* The end of a job: wait for it (block) or only look (*done 0 while it runs), then what
 * gf_plot_render would have returned. */
static gf_status render_end(gf_plot_job *job, int block, int *done)
{
    static const char who[] = "gf_plot_render";
    char tail[256];
    struct stat sb;
    int status = 0;
    pid_t w;
    *done = 1;
    GF_CHECK_NOT_NULL(job, who);
    if (job->pid <= 0)
        return GF_OK; /* nothing was started */
    do
        w = waitpid((pid_t)job->pid, &status, block ? 0 : WNOHANG);
    while (w < 0 && errno == EINTR);
    if (w == 0) {
        *done = 0; /* still running */
        return GF_OK;
    }
    job->pid = 0;
    if (w < 0)
        return gf_fail(GF_EIO, "%s: lost track of gnuplot: %s", who, strerror(errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        if (stat(job->log, &sb) == 0 && sb.st_size == 0)
            remove(job->log);
        return GF_OK;
    }
    log_tail(job->log, tail, sizeof tail);
    if (WIFEXITED(status) && WEXITSTATUS(status) >= 126)
        return gf_fail(GF_EIO, "%s: could not run '%s' in '%s' (exit status %d)", who, job->exe,
                       job->dir, WEXITSTATUS(status));
    if (WIFEXITED(status))
        return gf_fail(GF_EIO, "%s: gnuplot failed on '%s' (exit status %d): %s (see %s)", who,
                       job->script, WEXITSTATUS(status), tail, job->log);
    return gf_fail(GF_EIO, "%s: gnuplot was killed by signal %d on '%s'", who,
                   WIFSIGNALED(status) ? WTERMSIG(status) : -1, job->script);
}

gf_status gf_plot_render_wait(gf_plot_job *job)
{
    int done;
    return render_end(job, 1, &done);
}

gf_status gf_plot_render_poll(gf_plot_job *job, int *done)
{
    int unused;
    return render_end(job, 0, done != NULL ? done : &unused);
}

gf_status gf_plot_render(const char *script)
{
    gf_plot_job job;
    gf_status st = gf_plot_render_start(&job, script);
    return st == GF_OK ? gf_plot_render_wait(&job) : st;
}
