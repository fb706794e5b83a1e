/* src/tool/paper_saxe.c: Saxe, McClelland and Ganguli (ICLR 2014), deep linear nets.
 * A deep linear net y = W_L ... W_1 x learns a linear teacher y = A x. With random
 * orthogonal weights every singular value of the product is 1 at the start (dynamical
 * isometry, exactly), and the number of steps to a given loss does not grow with depth;
 * with scaled Gaussian weights (variance 1/N, "norm preserving" on average) the
 * product's singular values spread as depth grows (var(s^2) = L) and learning slows
 * down (their learning time against depth on MNIST, depth up to 100). Each depth and init gets its best
 * learning rate from a small grid, as in the paper. Online SGD on fresh whitened
 * Gaussian inputs; the loss checked is the population loss ||W - A||_F^2 / N, exact for
 * whitened inputs and read off a forward pass of the identity. Not done: their
 * closed-form learning trajectories (figures 2-4) and greedy pre-training. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "paper.h"

/* Factors of 2 from 1/128 to 2: the best rate of each depth is within a factor 1.4. */
#define N_LR 9
static const double lr_grid[N_LR] = {1. / 128, 1. / 64, 1. / 32, 1. / 16, 1. / 8,
                                     1. / 4, 1. / 2, 1, 2};
#define BATCH 32
#define TARGET 0.1 /* the loss to reach, as a fraction of the zero predictor's, ||A||^2/N */
#define EVAL_EVERY 1

/* The population loss ||W - A||_F^2 / N of the net's product W; A is (N, N). */
static gf_status population_loss(double *out, gf_net *net, const gf_tensor *eye,
                                 const gf_tensor *a)
{
    const gf_tensor *y = NULL;
    size_t n = a->rows;
    double sum = 0;
    gf_status s = gf_net_predict(net, &y, eye);
    if (s != GF_OK)
        return s;
    /* Row i of y is W e_i, the column i of W. */
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < n; k++) {
            double d = y->data[i * n + k] - a->data[k * n + i];
            sum += d * d;
        }
    *out = sum / (double)n;
    return GF_OK;
}

/* Steps of SGD at rate lr until the population loss is at most target (max_steps + 1
 * when never, or when the run diverged). */
static gf_status steps_to_target(uint64_t *steps, size_t L, int orthogonal, double lr,
                                 const gf_tensor *a, const gf_tensor *eye, double target,
                                 uint64_t max_steps, uint64_t seed)
{
    size_t n = a->rows;
    gf_init init = gf_init_default(orthogonal ? GF_INIT_ORTHOGONAL : GF_INIT_NORMAL);
    gf_mlp_spec spec = {n, n, L, n, "identity", 0, &init};
    gf_optim_config oc = gf_optim_default(GF_OPTIM_SGD);
    gf_optim *opt = NULL;
    gf_net *net = NULL;
    gf_tensor *x = NULL, *t = NULL;
    gf_rng rng;
    gf_status s;
    init.std = 1 / sqrt((double)n);
    oc.lr = lr;
    gf_rng_seed(&rng, seed);
    *steps = max_steps + 1;
    s = gf_net_new_mlp(&net, &spec, &rng);
    if (s == GF_OK)
        s = gf_optim_new(&opt, &oc, gf_net_param_count(net));
    if (s == GF_OK)
        s = gf_net_set_record_every(net, UINT64_MAX / 2); /* no telemetry needed */
    if (s == GF_OK)
        s = gf_tensor_new(&x, BATCH, n);
    if (s == GF_OK)
        s = gf_tensor_new(&t, BATCH, n);
    for (uint64_t k = 1; k <= max_steps && s == GF_OK; k++) {
        double loss, pop;
        for (size_t i = 0; i < BATCH * n; i++)
            x->data[i] = (gf_real)gf_rng_normal(&rng);
        /* t = x A^T */
        s = gf_gemm(t, x, a, GF_NO_TRANS, GF_TRANS, 1, 0);
        if (s == GF_OK)
            s = gf_net_train_step(net, &loss, x, t, opt, GF_LOSS_MSE, NULL);
        if (s == GF_ENONFINITE || (s == GF_OK && !(loss < 1e6))) {
            s = GF_OK; /* diverged: this rate never reaches the target */
            break;
        }
        if (s == GF_OK && k % EVAL_EVERY == 0) {
            s = population_loss(&pop, net, eye, a);
            if (s == GF_OK && pop <= target) {
                *steps = k;
                break;
            }
        }
    }
    gf_clear_error();
    gf_tensor_free(x);
    gf_tensor_free(t);
    gf_optim_free(opt);
    gf_net_free(net);
    return s;
}

/* The teacher A (N, N), Gaussian of variance 1/N (singular values spread over (0, 2)),
 * and the identity (N, N). */
static gf_status make_problem(gf_tensor **a, gf_tensor **eye, size_t n, uint64_t seed)
{
    gf_rng rng;
    gf_status s = gf_tensor_new(a, n, n);
    if (s == GF_OK)
        s = gf_tensor_new(eye, n, n);
    if (s != GF_OK)
        return s;
    gf_rng_seed(&rng, seed ^ 0x5a7e2014u);
    for (size_t i = 0; i < n * n; i++)
        (*a)->data[i] = (gf_real)(gf_rng_normal(&rng) / sqrt((double)n));
    for (size_t i = 0; i < n; i++)
        (*eye)->data[i * n + i] = 1;
    return GF_OK;
}

static const char figure_body[] =
    "set title 'Deep linear nets: steps to 10% of the initial loss against depth "
    "(Saxe et al. 2014)'\n"
    "set xlabel 'depth L (linear layers)'\nset ylabel 'steps (best learning rate)'\n"
    "set logscale x 2\nset logscale y\nset key top left\n"
    "plot 'steps.dat' using 1:2 with linespoints lw 2 pt 7 title 'orthogonal', \\\n"
    "     'steps.dat' using 1:3 with linespoints lw 2 pt 5 title 'scaled Gaussian N(0, 1/N)'\n";

gf_status gfp_saxe2014(const gfp_opts *o, gfp_report *r)
{
    static const size_t quick_depths[] = {1, 4, 16, 32};
    static const size_t full_depths[] = {1, 2, 4, 8, 16, 32, 64};
    const size_t *depths = o->full ? full_depths : quick_depths;
    const size_t n_depths = o->full ? 7 : 4, n = o->full ? 32 : 16;
    const uint64_t max_steps = o->full ? 5000 : 4000;
    uint64_t best[8][2];
    gf_tensor *a = NULL, *eye = NULL;
    double target;
    FILE *f;
    gf_status s = make_problem(&a, &eye, n, o->seed);
    if (s == GF_OK) {
        double zero = 0;
        for (size_t i = 0; i < n * n; i++)
            zero += (double)a->data[i] * a->data[i];
        target = TARGET * zero / (double)n;
    }
    for (size_t d = 0; d < n_depths && s == GF_OK; d++) {
        for (int orth = 1; orth >= 0 && s == GF_OK; orth--) {
            uint64_t *b = &best[d][orth ? 0 : 1];
            *b = max_steps + 1;
            gfp_say(o, "saxe2014: depth %zu, %s", depths[d], orth ? "orthogonal" : "Gaussian");
            for (int k = 0; k < N_LR && s == GF_OK; k++) {
                uint64_t st;
                /* A rate that cannot beat the best so far stops there. */
                s = steps_to_target(&st, depths[d], orth, lr_grid[k], a, eye, target,
                                    *b - 1, o->seed + d);
                if (s == GF_OK && st < *b)
                    *b = st;
            }
        }
    }
    gf_tensor_free(a);
    gf_tensor_free(eye);
    if (s != GF_OK)
        return s;
    if ((s = gfp_open_out(&f, o, "steps.dat")) != GF_OK)
        return s;
    fprintf(f, "# depth steps_orthogonal steps_gaussian (%llu: not reached)\n",
            (unsigned long long)max_steps + 1);
    for (size_t d = 0; d < n_depths; d++)
        fprintf(f, "%zu %llu %llu\n", depths[d], (unsigned long long)best[d][0],
                (unsigned long long)best[d][1]);
    if ((s = gfp_close_out(f, o, "steps.dat", GF_OK)) != GF_OK)
        return s;
    for (size_t d = 0; d < n_depths; d++) {
        char what[96];
        snprintf(what, sizeof what, "L = %zu: steps, orthogonal / Gaussian", depths[d]);
        gfp_row_add(r, 0, 1, what, "", "", "%llu / %llu%s", (unsigned long long)best[d][0],
                    (unsigned long long)best[d][1],
                    best[d][1] > max_steps ? " (not reached)" : "");
    }
    /* The claim is about deep nets: a deep net learns "only a finite amount slower"
     * than a shallow one and then no slower with depth. L = 1 is a convex quadratic
     * that SGD at rate 1 nearly solves in one step, so depth 4 is the reference. */
    {
        size_t last = n_depths - 1, ref = o->full ? 2 : 1; /* the index of L = 4 */
        double flat = (double)best[last][0] / (double)best[ref][0];
        double slow = (double)best[last][1] / (double)best[last][0];
        char what[96];
        snprintf(what, sizeof what, "orthogonal: steps at L = %zu / at L = 4", depths[last]);
        gfp_row_add(r, 1, flat <= 2.5, what, "about 1 (depth-independent)", "<= 2.5", "%.2f",
                    flat);
        snprintf(what, sizeof what, "L = %zu: Gaussian steps / orthogonal steps",
                 depths[last]);
        gfp_row_add(r, 1, slow >= 10, what, "grows with depth", ">= 10", "%.1f%s", slow,
                    best[last][1] > max_steps ? " (lower bound)" : "");
    }
    snprintf(r->notes, sizeof r->notes,
             "width %zu, linear teacher A ~ N(0, 1/N), online SGD on whitened Gaussian "
             "inputs, batch %d, best of lr in {1/128, 1/64, ..., 1, 2}, target 10%% of "
             "the zero predictor's loss, at most %llu steps; the paper: MNIST, depth up to "
             "100", n, BATCH, (unsigned long long)max_steps);
    return gfp_figure(r, o, "steps", figure_body) == 0 ? GF_OK : GF_EIO;
}
