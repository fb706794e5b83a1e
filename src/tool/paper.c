/* src/tool/paper.c: what the paper reproductions share: the list of papers, the report
 * (published against measured, with tolerances) printed as a table and written as
 * results.tsv and index.html, the gnuplot figures, and a 1-D Gaussian expectation for
 * moments the theory module does not give. The papers themselves are in paper_*.c. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "paper.h"
#include "../analysis/run_dir.h" /* gf_mkdir_p */

static const gfp_paper papers[] = {
    {"pennington2017",
     "Pennington, Schoenholz, Ganguli: Resurrecting the sigmoid in deep learning through "
     "dynamical isometry (NIPS 2017)",
     "the input-output Jacobian of a critical tanh net with orthogonal weights keeps its "
     "singular values near 1 at any depth; Gaussian weights and ReLU spread them",
     "2 s", "36 min wall on a loaded machine, 3 min CPU", gfp_pennington2017},
    {"saxe2014",
     "Saxe, McClelland, Ganguli: Exact solutions to the nonlinear dynamics of learning in "
     "deep linear neural networks (ICLR 2014)",
     "deep linear nets with orthogonal init learn in a number of steps that does not grow "
     "with depth; scaled Gaussian init slows down with depth",
     "7 s", "2.5 min wall on a loaded machine, 15 s CPU", gfp_saxe2014},
    {"schoenholz2017",
     "Schoenholz, Gilmer, Ganguli, Sohl-Dickstein: Deep information propagation (ICLR 2017)",
     "a tanh net trains only when its depth is below about 6 xi_c, the correlation depth "
     "scale, which diverges on the critical line (sigma_w^2 = 1 at sigma_b = 0)",
     "12 s", "3.5 min wall on a loaded machine, 19 s CPU", gfp_schoenholz2017},
    {"he2015",
     "He, Zhang, Ren, Sun: Delving deep into rectifiers (ICCV 2015)",
     "a 30-layer ReLU net initialised by Xavier stalls; the same net with He init trains",
     "3 s", "7 min wall on a loaded machine, 15 s CPU", gfp_he2015},
    {"glorot2010",
     "Glorot, Bengio: Understanding the difficulty of training deep feedforward neural "
     "networks (AISTATS 2010)",
     "with the standard init U[-1/sqrt(n), 1/sqrt(n)] back-propagated gradients shrink "
     "towards the input and layer Jacobians have mean singular value 0.5; the normalised "
     "init keeps both level (0.8)",
     "5 s", "14 min wall on a loaded machine, 29 s CPU", gfp_glorot2010},
    {"pascanu2013",
     "Pascanu, Mikolov, Bengio: On the difficulty of training recurrent neural networks "
     "(ICML 2013)",
     "an RNN's gradient norm spikes at the cliffs of its loss and plain SGD fails; "
     "clipping the norm at 0.5 to 10 times its average lets the same SGD solve the "
     "adding problem (0.5 to 2 times here)",
     "14 s wall on a loaded machine, 4 s CPU", "4.3 min wall on a loaded machine, 66 s CPU",
     gfp_pascanu2013},
    {"ioffe2015",
     "Ioffe, Szegedy: Batch normalization: accelerating deep network training by reducing "
     "internal covariate shift (ICML 2015)",
     "with batch norm before each sigmoid a 3-layer net reaches a higher test accuracy "
     "sooner, and the distribution of a sigmoid's input stays put where without it drifts",
     "4 s CPU (11 to 32 s wall on a loaded machine)",
     "13 min wall on a loaded machine, 1.7 min CPU", gfp_ioffe2015},
};

const gfp_paper *gfp_papers(size_t *count)
{
    *count = sizeof papers / sizeof papers[0];
    return papers;
}

const gfp_paper *gfp_paper_find(const char *name)
{
    for (size_t i = 0; i < sizeof papers / sizeof papers[0]; i++)
        if (strcmp(papers[i].name, name) == 0)
            return &papers[i];
    return NULL;
}

void gfp_say(const gfp_opts *o, const char *fmt, ...)
{
    va_list ap;
    if (o->quiet)
        return;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

gf_status gfp_fail(gf_status s, const char *fmt, ...)
{
    va_list ap;
    fputs("gradflow: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return s;
}

gf_status gfp_open_out(FILE **f, const gfp_opts *o, const char *name)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", o->out, name);
    *f = fopen(path, "w");
    return *f != NULL ? GF_OK : gfp_fail(GF_EIO, "cannot write %s", path);
}

gf_status gfp_close_out(FILE *f, const gfp_opts *o, const char *name, gf_status s)
{
    int bad = ferror(f);
    if ((fclose(f) != 0 || bad) && s == GF_OK)
        s = gfp_fail(GF_EIO, "write error on %s/%s", o->out, name);
    return s;
}

void gfp_row_add(gfp_report *r, int checked, int holds, const char *what,
                 const char *published, const char *tolerance, const char *measured_fmt,
                 ...)
{
    gfp_row *row;
    va_list ap;
    if (r->n_rows == GFP_MAX_ROWS)
        return;
    row = &r->rows[r->n_rows++];
    snprintf(row->what, sizeof row->what, "%s", what);
    snprintf(row->published, sizeof row->published, "%s", published);
    snprintf(row->tolerance, sizeof row->tolerance, "%s", tolerance);
    va_start(ap, measured_fmt);
    vsnprintf(row->measured, sizeof row->measured, measured_fmt, ap);
    va_end(ap);
    row->checked = checked;
    row->holds = checked ? holds : 1;
}

/* ---- Figures -------------------------------------------------------------------------- */

/* DIR/NAME.EXT as it is on disk now: 1 when it is there (and readable). */
static int have_file(const char *dir, const char *name, const char *ext)
{
    char path[1200];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
    f = fopen(path, "r");
    if (f == NULL)
        return 0;
    fclose(f);
    return 1;
}

/* The rendered NAME.png or NAME.svg of this run, NULL when none was written (--plot none,
 * no gnuplot, or gnuplot failed). */
static const char *rendered_ext(const gfp_opts *o, const char *name)
{
    const char *ext = o->format == GF_PLOT_SVG ? "svg" : "png";
    return o->format != GF_PLOT_NONE && have_file(o->out, name, ext) ? ext : NULL;
}

int gfp_figure(gfp_report *r, const gfp_opts *o, const char *name, const char *body)
{
    char path[1200];
    FILE *f;
    int ok;
    /* An image left by an earlier run in this directory would be shown as this run's. */
    snprintf(path, sizeof path, "%s/%s.png", o->out, name);
    remove(path);
    snprintf(path, sizeof path, "%s/%s.svg", o->out, name);
    remove(path);
    snprintf(path, sizeof path, "%s/%s.gp", o->out, name);
    f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "gradflow: cannot write %s\n", path);
        return -1;
    }
    fprintf(f, "# %s.gp: written by gradflow paper %s. Run it here: gnuplot %s.gp\n",
            name, r->paper, name);
    if (o->format == GF_PLOT_SVG)
        fprintf(f, "set terminal svg size 1000,600 background rgb 'white'\n"
                   "set output '%s.svg'\n", name);
    else
        fprintf(f, "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
                   "    set terminal pngcairo size 1000,600 font 'sans,10'\n"
                   "} else {\n    set terminal png size 1000,600\n}\n"
                   "set output '%s.png'\n", name);
    fprintf(f, "set grid lc rgb '#d0d0d0'\nset key noenhanced\n%s", body);
    ok = ferror(f) == 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok) {
        fprintf(stderr, "gradflow: write error on %s\n", path);
        return -1;
    }
    if (r->n_figures < GFP_MAX_FIGURES)
        snprintf(r->figures[r->n_figures++], sizeof r->figures[0], "%s", name);
    /* No gnuplot: the script and its data stay, to be rendered elsewhere. */
    if (o->format != GF_PLOT_NONE && gf_plot_available() &&
        gf_plot_render(path) != GF_OK)
        fprintf(stderr, "gradflow: %s\n", gf_last_error());
    return 0;
}

/* ---- The report ---------------------------------------------------------------------- */

static void html_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else if (*s == '&')
            fputs("&amp;", f);
        else
            fputc(*s, f);
    }
}

static int write_tsv(const gfp_report *r, const char *dir)
{
    char path[1200];
    FILE *f;
    snprintf(path, sizeof path, "%s/results.tsv", dir);
    f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "what\tpublished\tmeasured\ttolerance\tchecked\tholds\n");
    for (size_t i = 0; i < r->n_rows; i++) {
        const gfp_row *w = &r->rows[i];
        fprintf(f, "%s\t%s\t%s\t%s\t%d\t%d\n", w->what, w->published, w->measured,
                w->tolerance, w->checked, w->holds);
    }
    return fclose(f) == 0 ? 0 : -1;
}

static int write_html(const gfp_report *r, const gfp_opts *o, double seconds)
{
    char path[1200];
    FILE *f;
    snprintf(path, sizeof path, "%s/index.html", o->out);
    f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>gradflow paper "
               "%s</title></head>\n<body style=\"font-family:sans-serif\">\n<h1>", r->paper);
    html_escape(f, r->title);
    fprintf(f, "</h1>\n<p>%s variant, %.1f s. ", o->full ? "Full" : "Quick", seconds);
    html_escape(f, r->notes);
    fputs("</p>\n<table border=\"1\" cellpadding=\"4\" style=\"border-collapse:collapse\">\n"
          "<tr><th>figure</th><th>published</th><th>measured</th><th>tolerance</th>"
          "<th>holds</th></tr>\n", f);
    for (size_t i = 0; i < r->n_rows; i++) {
        const gfp_row *w = &r->rows[i];
        const char *cells[4] = {w->what, w->published, w->measured, w->tolerance};
        fputs("<tr>", f);
        for (int k = 0; k < 4; k++) {
            fputs("<td>", f);
            html_escape(f, cells[k]);
            fputs("</td>", f);
        }
        fprintf(f, "<td>%s</td></tr>\n", !w->checked ? "" : w->holds ? "yes" : "NO");
    }
    fputs("</table>\n", f);
    /* Only images that were written: --plot none, a missing gnuplot or a failed render
     * leave the script and its data, which the page names instead. */
    for (size_t i = 0; i < r->n_figures; i++) {
        const char *ext = rendered_ext(o, r->figures[i]);
        if (ext != NULL)
            fprintf(f, "<p><img src=\"%s.%s\" alt=\"%s\"></p>\n", r->figures[i], ext,
                    r->figures[i]);
        else
            fprintf(f, "<p>Figure %s not rendered (%s): its gnuplot script %s.gp and its "
                       "data are in this directory.</p>\n", r->figures[i],
                    o->format == GF_PLOT_NONE ? "plotting was off, --plot none"
                    : gf_plot_available()     ? "gnuplot failed on it"
                                              : "gnuplot is not installed",
                    r->figures[i]);
    }
    fputs("</body></html>\n", f);
    return fclose(f) == 0 ? 0 : -1;
}

int gfp_finish(const gfp_report *r, const gfp_opts *o, double seconds)
{
    int all = 1;
    printf("%s: %s\n", r->paper, r->title);
    printf("set-up (%s): %s\n\n", o->full ? "full" : "quick", r->notes);
    printf("  %-44s %-20s %-20s %-24s %s\n", "figure", "published", "measured",
           "tolerance", "holds");
    for (size_t i = 0; i < r->n_rows; i++) {
        const gfp_row *w = &r->rows[i];
        printf("  %-44s %-20s %-20s %-24s %s\n", w->what, w->published, w->measured,
               w->tolerance, !w->checked ? "-" : w->holds ? "yes" : "NO");
        all = all && w->holds;
    }
    printf("\nfigures in %s:", o->out);
    for (size_t i = 0; i < r->n_figures; i++) {
        const char *ext = rendered_ext(o, r->figures[i]);
        printf(" %s.%s", r->figures[i], ext ? ext : "gp");
    }
    printf("\nrun time %.1f s\n%s: %s\n", seconds, r->paper,
           all ? "the published claim holds within the stated tolerances"
               : "MISMATCH: a claim does not hold within its tolerance");
    if (write_tsv(r, o->out) != 0 || write_html(r, o, seconds) != 0) {
        fprintf(stderr, "gradflow: cannot write results.tsv or index.html in %s\n", o->out);
        return 1;
    }
    return all ? 0 : 1;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int gfp_run_paper(const gfp_paper *p, const gfp_opts *o)
{
    static gfp_report r; /* large: kept off the stack */
    double t0 = now_seconds();
    gf_status s;
    memset(&r, 0, sizeof r);
    r.paper = p->name;
    r.title = p->title;
    if (gf_mkdir_p(o->out) != GF_OK) {
        fprintf(stderr, "gradflow: %s\n", gf_last_error());
        return 1;
    }
    gf_clear_error();
    s = p->run(o, &r);
    if (s != GF_OK) {
        fprintf(stderr, "gradflow: paper %s failed: %s%s%s\n", p->name, gf_strerror(s),
                gf_last_error()[0] ? ": " : "", gf_last_error());
        return 1;
    }
    return gfp_finish(&r, o, now_seconds() - t0);
}

/* ---- Numerics -------------------------------------------------------------------------- */

double gfp_gauss_mean(double (*g)(double x, const void *ctx), const void *ctx, double q)
{
    /* 2 x 2000 Simpson panels of width 0.005 over |z| <= 10: the error of a smooth
     * integrand is ~1e-12, and the Gaussian tail beyond 10 is below 1e-22. */
    const int n = 2000;
    const double h = 10.0 / n, sq = sqrt(q);
    double sum = 0;
    for (int side = -1; side <= 1; side += 2) {
        for (int i = 0; i <= n; i++) {
            double z = side * i * h;
            double w = (i == 0 || i == n) ? 1 : (i % 2) ? 4 : 2;
            sum += w * g(sq * z, ctx) * exp(-0.5 * z * z);
        }
    }
    return sum * h / 3 / sqrt(2 * 3.14159265358979323846);
}

/* ---- The example programs ---------------------------------------------------------------- */

int gfp_main(const char *name, int argc, char **argv)
{
    const gfp_paper *p = gfp_paper_find(name);
    gfp_opts o;
    memset(&o, 0, sizeof o);
    o.seed = 1;
    o.format = GF_PLOT_PNG;
    o.jobs = 2;
    snprintf(o.out, sizeof o.out, "paper-%s-out", name);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--full") == 0)
            o.full = 1;
        else if (argv[i][0] != '-')
            snprintf(o.out, sizeof o.out, "%s", argv[i]);
        else {
            fprintf(stderr, "usage: %s [--full] [OUTDIR]\n", argv[0]);
            return 2;
        }
    }
    return p == NULL ? 1 : gfp_run_paper(p, &o);
}

gf_status gfp_load_images(gf_dataset **train, gf_dataset **test, int full, uint64_t seed,
                          char *name, size_t len)
{
    gf_dataset *all = NULL;
    gf_rng rng;
    gf_status s;
    if (full && gf_data_fashion_mnist(train, test, NULL) == GF_OK) {
        snprintf(name, len, "Fashion-MNIST (60000 train, 10000 test)");
        return GF_OK;
    }
    gf_clear_error();
    snprintf(name, len, "%s", full ? "digits (Fashion-MNIST is not installed)" : "digits");
    gf_rng_seed(&rng, seed);
    s = gf_data_digits(&all);
    if (s == GF_OK)
        s = gf_data_split(train, test, all, 0.2, &rng);
    gf_dataset_free(all);
    return s;
}

gf_status gfp_trainer_new(gfp_trainer *t, const gf_mlp_spec *spec, const gf_optim_config *oc,
                          const gf_dataset *train, size_t batch, uint64_t seed)
{
    gf_net *net = NULL;
    gf_rng rng;
    gf_status s;
    memset(t, 0, sizeof *t);
    gf_rng_seed(&rng, seed);
    s = gf_net_new_mlp(&net, spec, &rng);
    return s == GF_OK ? gfp_trainer_adopt(t, net, oc, train, batch, &rng) : s;
}

gf_status gfp_trainer_adopt(gfp_trainer *t, gf_net *net, const gf_optim_config *oc,
                            const gf_dataset *train, size_t batch, const gf_rng *rng)
{
    gf_status s;
    memset(t, 0, sizeof *t);
    t->net = net;
    t->rng = *rng; /* where the weights left it: the batch order follows */
    /* no telemetry: the papers read what they need themselves */
    s = gf_net_set_record_every(t->net, UINT64_MAX / 2);
    if (s == GF_OK)
        s = gf_optim_new(&t->opt, oc, gf_net_param_count(t->net));
    if (s == GF_OK)
        s = gf_batcher_new(&t->batcher, train, batch, &t->rng);
    if (s == GF_OK)
        s = gf_tensor_new(&t->x, batch, train->x->cols);
    if (s == GF_OK)
        s = gf_tensor_new(&t->y, batch, 1);
    if (s != GF_OK)
        gfp_trainer_free(t);
    return s;
}

void gfp_trainer_free(gfp_trainer *t)
{
    gf_tensor_free(t->x);
    gf_tensor_free(t->y);
    gf_batcher_free(t->batcher);
    gf_optim_free(t->opt);
    gf_net_free(t->net);
    memset(t, 0, sizeof *t);
}
