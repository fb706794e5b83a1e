/* src/tool/paper_schoenholz.c: Schoenholz, Gilmer, Ganguli and Sohl-Dickstein, "Deep
 * information propagation" (ICLR 2017), the order-to-chaos map. A tanh MLP with
 * weights N(0, sigma_w^2 / fan_in) and no bias is trained for a fixed number of steps
 * at every point of a grid of sigma_w^2 by depth; the training accuracy is drawn as a
 * heat map with the mean-field prediction over it: a net trains only when its depth is
 * below about 6 xi_c, xi_c = -1/log chi_c the correlation depth scale
 * (gf_theory_depth_scales), which diverges on the critical line sigma_w^2 = 1 at
 * sigma_b = 0. The grid is shared among worker processes (--jobs, default 2), each
 * writing its cells to a file that the parent reads back. Not done: their dropout
 * experiments and the sigma_b > 0 part of the phase diagram. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "paper.h"

#define MAX_SW 16
#define MAX_DEPTHS 10
#define CHANCE 0.1   /* ten classes */
#define TRAINED 0.5  /* a cell "trains" when its training accuracy reaches this */

typedef struct grid {
    double sw2[MAX_SW];
    size_t n_sw;
    size_t depth[MAX_DEPTHS];
    size_t n_depths;
    size_t width;
    uint64_t steps;
    double acc[MAX_SW][MAX_DEPTHS]; /* training accuracy after steps */
} grid;

/* Train one cell and return its training accuracy (chance when the run blew up). */
static gf_status train_cell(double *acc, const gf_dataset *train, double sw2, size_t L,
                            size_t width, uint64_t steps, uint64_t seed)
{
    gf_init init = gf_init_default(GF_INIT_LECUN_NORMAL); /* variance gain^2 / fan_in */
    gf_mlp_spec spec = {train->x->cols, width, L, train->n_classes, "tanh", 0, &init};
    /* Adam (lr 1e-3): the boundary is about information reaching the output at all
     * (correlations kept or destroyed), not the scale of the gradients, which a rate
     * adapted per parameter takes out of the picture in few steps. */
    gf_optim_config oc = gf_optim_default(GF_OPTIM_ADAM);
    gf_optim *opt = NULL;
    gf_net *net = NULL;
    gf_batcher *b = NULL;
    gf_tensor *x = NULL, *y = NULL;
    gf_rng rng;
    gf_status s;
    init.gain = sqrt(sw2);
    gf_rng_seed(&rng, seed);
    *acc = CHANCE;
    s = gf_net_new_mlp(&net, &spec, &rng);
    if (s == GF_OK)
        s = gf_net_set_record_every(net, UINT64_MAX / 2);
    if (s == GF_OK)
        s = gf_optim_new(&opt, &oc, gf_net_param_count(net));
    if (s == GF_OK)
        s = gf_batcher_new(&b, train, 64, &rng);
    if (s == GF_OK)
        s = gf_tensor_new(&x, 64, train->x->cols);
    if (s == GF_OK)
        s = gf_tensor_new(&y, 64, 1);
    for (uint64_t k = 0; k < steps && s == GF_OK; k++) {
        double loss;
        s = gf_batcher_next(b, x, y, NULL);
        if (s == GF_OK)
            s = gf_net_train_step(net, &loss, x, y, opt, GF_LOSS_SOFTMAX_CE, NULL);
    }
    if (s == GF_OK)
        s = gf_evaluate(net, NULL, acc, train, GF_LOSS_SOFTMAX_CE, 256);
    if (s == GF_ENONFINITE) { /* a chaotic net that blew up has not learnt */
        *acc = CHANCE;
        s = GF_OK;
        gf_clear_error();
    }
    gf_tensor_free(x);
    gf_tensor_free(y);
    gf_batcher_free(b);
    gf_optim_free(opt);
    gf_net_free(net);
    return s;
}

/* 6 xi_c at sigma_w^2 (sigma_b = 0); +infinity on the critical line. */
static gf_status six_xi_c(double *out, double sw2)
{
    const gf_activation *tanh_row = NULL;
    gf_depth_scales ds;
    gf_status s = gf_activation_find(&tanh_row, "tanh");
    if (s == GF_OK)
        s = gf_theory_depth_scales(&ds, tanh_row, 0, sw2, 0);
    if (s == GF_OK)
        *out = 6 * ds.xi_c;
    return s;
}

/* Worker k of jobs: the cells i with i % jobs == k, into DIR/cells.part<k>. */
static int worker(const grid *g, const gf_dataset *train, const gfp_opts *o, size_t k,
                  size_t jobs)
{
    char path[1200];
    FILE *f;
    size_t n = g->n_sw * g->n_depths;
    snprintf(path, sizeof path, "%s/cells.part%zu", o->out, k);
    f = fopen(path, "w");
    if (f == NULL)
        return 1;
    for (size_t i = k; i < n; i += jobs) {
        size_t a = i / g->n_depths, d = i % g->n_depths;
        double acc;
        gfp_say(o, "schoenholz2017: sigma_w^2 = %.2f, depth %zu", g->sw2[a], g->depth[d]);
        if (train_cell(&acc, train, g->sw2[a], g->depth[d], g->width, g->steps,
                       o->seed + i) != GF_OK) {
            fprintf(stderr, "gradflow: %s\n", gf_last_error());
            fclose(f);
            return 1;
        }
        fprintf(f, "%zu %.17g\n", i, acc);
        fflush(f);
    }
    return fclose(f) == 0 ? 0 : 1;
}

/* xi.dat: 6 xi_c against sigma_w^2. The ordered side (q* = 0, xi_c = -1/log sigma_w^2)
 * costs nothing; each chaotic point is a 2-D quadrature of about 0.3 s, so there the
 * line is drawn through fewer points (a few seconds, run while the workers train). */
static gf_status write_xi(const gfp_opts *o)
{
    static const double chaotic[] = {1.02, 1.05, 1.1, 1.2, 1.35, 1.5, 1.75, 2.0, 2.5, 3.0,
                                     3.5, 4.0, 4.3};
    FILE *f;
    gf_status s = gfp_open_out(&f, o, "xi.dat");
    if (s != GF_OK)
        return s;
    fprintf(f, "# sigma_w2 6_xi_c (sigma_b = 0, tanh)\n");
    for (int k = 0; k < 30 && s == GF_OK; k++) {
        double v, w = 0.4 + 0.02 * k;
        s = six_xi_c(&v, w);
        if (s == GF_OK)
            fprintf(f, "%.3f %g\n", w, v);
    }
    fprintf(f, "\n"); /* the line breaks where xi_c is infinite */
    for (size_t k = 0; k < sizeof chaotic / sizeof chaotic[0] && s == GF_OK; k++) {
        double v;
        s = six_xi_c(&v, chaotic[k]);
        if (s == GF_OK)
            fprintf(f, "%.3f %g\n", chaotic[k], v);
    }
    return gfp_close_out(f, o, "xi.dat", s);
}

/* Run the grid in o->jobs processes (forked: each has the data set already), then
 * read the cells back. */
static gf_status run_grid(grid *g, const gf_dataset *train, const gfp_opts *o)
{
    size_t jobs = o->jobs < 1 ? 1 : o->jobs, n = g->n_sw * g->n_depths, got = 0;
    int failed = 0;
    gf_status s;
    pid_t pids[64];
    if (jobs > 64)
        jobs = 64;
    fflush(NULL); /* nothing buffered may be written twice */
    for (size_t k = 0; k < jobs; k++) {
        pids[k] = fork();
        if (pids[k] < 0)
            return gfp_fail(GF_EIO, "fork failed");
        if (pids[k] == 0)
            _exit(worker(g, train, o, k, jobs));
    }
    s = write_xi(o); /* meanwhile */
    for (size_t k = 0; k < jobs; k++) {
        int st = 0;
        if (waitpid(pids[k], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            failed = 1;
    }
    if (failed)
        return gfp_fail(GF_EIO, "a worker process failed");
    if (s != GF_OK)
        return s;
    for (size_t k = 0; k < jobs; k++) {
        char path[1200];
        size_t i;
        double acc;
        FILE *f;
        snprintf(path, sizeof path, "%s/cells.part%zu", o->out, k);
        f = fopen(path, "r");
        if (f == NULL)
            return gfp_fail(GF_EIO, "cannot read %s", path);
        while (fscanf(f, "%zu %lf", &i, &acc) == 2 && i < n) {
            g->acc[i / g->n_depths][i % g->n_depths] = acc;
            got++;
        }
        fclose(f);
        remove(path);
    }
    return got == n ? GF_OK : gfp_fail(GF_EIO, "%zu of %zu cells read back", got, n);
}

/* cells.dat: one box per cell for the heat map. */
static gf_status write_cells(const grid *g, const gfp_opts *o)
{
    FILE *f;
    gf_status s = gfp_open_out(&f, o, "cells.dat");
    if (s != GF_OK)
        return s;
    fprintf(f, "# sigma_w2 depth train_accuracy x_lo x_hi y_lo y_hi\n");
    for (size_t a = 0; a < g->n_sw; a++) {
        double xl = a ? (g->sw2[a - 1] + g->sw2[a]) / 2 : g->sw2[0] - (g->sw2[1] - g->sw2[0]) / 2;
        double xh = a + 1 < g->n_sw ? (g->sw2[a] + g->sw2[a + 1]) / 2
                                    : g->sw2[a] + (g->sw2[a] - g->sw2[a - 1]) / 2;
        for (size_t d = 0; d < g->n_depths; d++) {
            /* depths are roughly geometric: boxes meet at geometric midpoints */
            double yl = d ? sqrt((double)g->depth[d - 1] * g->depth[d])
                          : g->depth[0] / sqrt((double)g->depth[1] / g->depth[0]);
            double yh = d + 1 < g->n_depths ? sqrt((double)g->depth[d] * g->depth[d + 1])
                                            : g->depth[d] * sqrt((double)g->depth[d] /
                                                                 g->depth[d - 1]);
            fprintf(f, "%g %zu %.4f %g %g %g %g\n", g->sw2[a], g->depth[d], g->acc[a][d],
                    xl, xh, yl, yh);
        }
    }
    return gfp_close_out(f, o, "cells.dat", GF_OK);
}

static const char figure_body[] =
    "set title 'tanh, sigma_b = 0: training accuracy after %llu steps, with 6 xi_c "
    "(Schoenholz et al. 2017)'\n"
    "set xlabel 'sigma_w^2'\nset ylabel 'depth L'\nset logscale y\n"
    "set xrange [%g:%g]\nset yrange [%g:%g]\nset cbrange [0.1:1]\n"
    "set cblabel 'training accuracy'\nset palette rgb 33,13,10\n"
    "set ytics (%s)\n"
    "set arrow from 1, graph 0 to 1, graph 1 nohead dt 2 lw 2 lc rgb 'black' front\n"
    "set label 'critical line sigma_w^2 = 1 (sigma_b = 0)' at 1.05, graph 0.04 front\n"
    "set key bottom right box\n"
    "plot 'cells.dat' using 1:2:4:5:6:7:3 with boxxyerror fs solid 1.0 noborder "
    "fc palette notitle, \\\n"
    "     'xi.dat' using 1:2 with lines lw 3 lc rgb 'black' title '6 xi_c (mean field)'\n";

static void setup(grid *g, int full)
{
    static const double quick_sw[] = {0.25, 0.5, 1.0, 2.0, 4.0};
    static const size_t quick_d[] = {3, 12, 36};
    static const size_t full_d[] = {4, 8, 16, 32, 64};
    memset(g, 0, sizeof *g);
    if (full) {
        g->n_sw = 15;
        for (size_t a = 0; a < g->n_sw; a++)
            g->sw2[a] = 0.5 + 0.25 * (double)a; /* 0.5 .. 4 */
        g->n_depths = 5;
        memcpy(g->depth, full_d, sizeof full_d);
        g->width = 48;
        g->steps = 300;
    } else {
        g->n_sw = 5;
        memcpy(g->sw2, quick_sw, sizeof quick_sw);
        g->n_depths = 3;
        memcpy(g->depth, quick_d, sizeof quick_d);
        g->width = 32;
        g->steps = 200;
    }
}

/* One row per sigma_w^2: 6 xi_c against the deepest net of the grid that trained. */
static void add_rows(gfp_report *r, const grid *g, const double *six_xi, size_t *agree)
{
    *agree = 0;
    for (size_t a = 0; a < g->n_sw; a++) {
        char what[96], pub[64], deepest[32] = "none";
        for (size_t d = 0; d < g->n_depths; d++) {
            int trains = g->acc[a][d] >= TRAINED;
            *agree += trains == ((double)g->depth[d] < six_xi[a]);
            if (trains)
                snprintf(deepest, sizeof deepest, "%zu", g->depth[d]);
        }
        snprintf(what, sizeof what, "sigma_w^2 = %.2f: deepest net that trains", g->sw2[a]);
        if (isinf(six_xi[a]))
            snprintf(pub, sizeof pub, "any (6 xi_c = inf)");
        else
            snprintf(pub, sizeof pub, "about 6 xi_c = %.1f", six_xi[a]);
        gfp_row_add(r, 0, 1, what, pub, "", "%s (acc %.2f at L = %zu)", deepest,
                    g->acc[a][g->n_depths - 1], g->depth[g->n_depths - 1]);
    }
}

gf_status gfp_schoenholz2017(const gfp_opts *o, gfp_report *r)
{
    static grid g;
    double six_xi[MAX_SW];
    size_t agree, n, crit = 0, last;
    char body[2048], tics[128] = "";
    gf_dataset *train = NULL;
    gf_status s;
    setup(&g, o->full);
    n = g.n_sw * g.n_depths;
    last = g.n_depths - 1;
    for (size_t a = 0; a < g.n_sw; a++) {
        s = six_xi_c(&six_xi[a], g.sw2[a]);
        if (s != GF_OK)
            return s;
        if (fabs(g.sw2[a] - 1) < fabs(g.sw2[crit] - 1))
            crit = a;
    }
    s = gf_data_digits(&train);
    if (s == GF_OK)
        s = run_grid(&g, train, o);
    gf_dataset_free(train);
    if (s == GF_OK)
        s = write_cells(&g, o);
    if (s != GF_OK)
        return s;
    add_rows(r, &g, six_xi, &agree);
    /* The claim: a cell trains (accuracy >= 0.5, chance 0.1) exactly when L < 6 xi_c.
     * The boundary is soft (accuracy falls over a factor of 2 or so in depth around it)
     * and the grid is coarse, so three cells in four must agree. */
    gfp_row_add(r, 1, (double)agree >= 0.75 * (double)n,
                "cells where (acc >= 0.5) == (L < 6 xi_c)", "all (the boundary)", ">= 75 %",
                "%zu of %zu", agree, n);
    /* At criticality nets train deeper than in the ordered phase: at the deepest depth
     * the critical column trains, the most ordered column must not. Mean field is the
     * infinite-width limit: at the widths here a net of some 64 layers does not train
     * in the budget even at criticality (the Jacobian's spread grows like L/width, see
     * pennington2017), so the critical column's own depth is the one compared. */
    {
        char what[96];
        size_t dc = 0;
        for (size_t d = 0; d < g.n_depths; d++)
            if (g.acc[crit][d] >= TRAINED)
                dc = d;
        snprintf(what, sizeof what, "critical sigma_w^2 = %.2f: deepest net that trains",
                 g.sw2[crit]);
        gfp_row_add(r, 1, g.acc[crit][dc] >= TRAINED && dc > 0, what, "deepest of all",
                    "trains, L > the smallest", "L = %zu (acc %.3f)", g.depth[dc],
                    g.acc[crit][dc]);
        snprintf(what, sizeof what, "ordered sigma_w^2 = %.2f at that depth: accuracy",
                 g.sw2[0]);
        gfp_row_add(r, 1, g.acc[0][dc] < TRAINED, what, "fails (L > 6 xi_c)", "< 0.5",
                    "%.3f (6 xi_c = %.1f)", g.acc[0][dc], six_xi[0]);
    }
    for (size_t d = 0; d < g.n_depths; d++)
        snprintf(tics + strlen(tics), sizeof tics - strlen(tics), "%s%zu", d ? ", " : "",
                 g.depth[d]);
    snprintf(body, sizeof body, figure_body, (unsigned long long)g.steps,
             g.sw2[0] - (g.sw2[1] - g.sw2[0]) / 2,
             g.sw2[g.n_sw - 1] + (g.sw2[g.n_sw - 1] - g.sw2[g.n_sw - 2]) / 2,
             g.depth[0] / sqrt((double)g.depth[1] / g.depth[0]),
             g.depth[last] * sqrt((double)g.depth[last] / g.depth[last - 1]), tics);
    snprintf(r->notes, sizeof r->notes,
             "digits (1797 rows, 64 inputs), tanh MLP of width %zu, weights "
             "N(0, sigma_w^2/fan_in), no bias, Adam lr 0.001 batch 64 for %llu "
             "steps, %zu x %zu grid in %zu processes; the paper: MNIST and CIFAR-10, wider "
             "nets, depths up to 300",
             g.width, (unsigned long long)g.steps, g.n_sw, g.n_depths,
             o->jobs < 1 ? (size_t)1 : o->jobs);
    return gfp_figure(r, o, "order_chaos", body) == 0 ? GF_OK : GF_EIO;
}
