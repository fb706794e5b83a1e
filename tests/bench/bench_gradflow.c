/* tests/bench/bench_gradflow.c: the performance figures of issue 4, one line each: GEMM
 * GFLOP/s (gf_real precision, square, no transposes unless --transposes) beside OpenBLAS
 * when it can be loaded, with the median ratio of alternating samples, every GEMM case
 * training calls at the M and L shapes (gemm-cases), training
 * steps/s with telemetry on for the S, M and L networks (tanh, MSE, SGD), the cost of
 * telemetry at S, M and L, and the peak resident memory of L measured in a fresh child
 * process. A benchmark, not a test: `--quick` is the CTest smoke run.
 *
 *   bench_gradflow [--quick] [--wall] [--threads N] [--transposes]
 *                  [--only gemm|gemm-cases|train|threads|telemetry|memory|serve]
 *                  [--size S|M|L]
 *
 * Timings are the best of several repetitions, in CPU time of the process by default:
 * on an idle machine that is the wall time, and on a shared one it leaves out the time
 * other processes hold the core (--wall measures wall time). Pin the process for
 * stable figures: taskset -c 1 bench_gradflow. */
#define _POSIX_C_SOURCE 200809L

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gradflow.h>

/* ---- Options and clock ----------------------------------------------------------------- */

static int quick;          /* --quick: tiny sizes and one short repetition */
static const char *only;   /* --only X: one section */
static const char *train_sizes = "SML"; /* --size X: the training of one network only */
static int all_transposes; /* --transposes: also NT, TN, TT GEMM lines */
static int wall;           /* --wall: wall-clock time instead of CPU time */
static int blas_threads = 1; /* --threads N: OpenBLAS's threads (the library's own are set
                              * by GRADFLOW_THREADS, when it has them) */

static double now(void)
{
    struct timespec ts;
    clock_gettime(wall ? CLOCK_MONOTONIC : CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int section(const char *name) { return only == NULL || strcmp(only, name) == 0; }

static void die(const char *what, gf_status st)
{
    fprintf(stderr, "bench_gradflow: %s: %s: %s\n", what, gf_strerror(st), gf_last_error());
    exit(1);
}

static void fill_normal(gf_real *x, size_t n, gf_rng *rng, double scale)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (gf_real)(scale * gf_rng_normal(rng));
}

/* ---- OpenBLAS, loaded at run time so that the library never depends on it --------------- */

enum { CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112 };
typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int,
                         const float *, int, float, float *, int);
typedef void (*dgemm_fn)(int, int, int, int, int, int, double, const double *, int,
                         const double *, int, double, double *, int);

static struct {
    sgemm_fn sgemm;
    dgemm_fn dgemm;
    const char *core; /* openblas_get_corename(): the kernel family it chose */
} blas;

static void load_openblas(void)
{
    static const char *const names[] = {"libopenblas.so.0", "libopenblas.so",
                                        "libopenblas.dylib"};
    void *h = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && h == NULL; i++)
        h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (h == NULL)
        return;
    /* POSIX: a data pointer from dlsym converts to a function pointer through memcpy. */
    void *s = dlsym(h, "cblas_sgemm"), *d = dlsym(h, "cblas_dgemm");
    void *threads = dlsym(h, "openblas_set_num_threads");
    void *core = dlsym(h, "openblas_get_corename");
    if (s == NULL || d == NULL)
        return;
    memcpy(&blas.sgemm, &s, sizeof s);
    memcpy(&blas.dgemm, &d, sizeof d);
    if (threads != NULL) {
        void (*set_threads)(int);
        memcpy(&set_threads, &threads, sizeof threads);
        set_threads(blas_threads); /* --threads: 1 by default, like the built-in kernel */
    }
    if (core != NULL) {
        char *(*corename)(void);
        memcpy(&corename, &core, sizeof core);
        blas.core = corename();
    }
}

/* After OpenBLAS has run on several threads, wait until its idle threads have gone to
 * sleep: they poll for the next call for about 2^28 cycles (its THREAD_TIMEOUT, a tenth
 * of a second) and, on a machine with as many cores as threads, would take a core from
 * the gradflow sample that follows (measured: 2-thread GEMM ratios of 0.5 that were
 * 0.8-1.0 with this pause). gradflow's own workers poll for a tenth of a millisecond. */
static void let_openblas_threads_sleep(void)
{
    struct timespec pause = {0, 200 * 1000 * 1000};
    if (gf_threads() > 1)
        nanosleep(&pause, NULL);
}

/* ---- GEMM ------------------------------------------------------------------------------ */

/* One product C = op(A) op(B) + beta C, m x n over k, row-major, contiguous. */
typedef struct gemm_case {
    gf_trans ta, tb;
    size_t m, n, k;
} gemm_case;

static void blas_gemm_case(const gemm_case *g, const gf_real *a, const gf_real *b, gf_real beta,
                           gf_real *c)
{
    int t1 = g->ta ? CBLAS_TRANS : CBLAS_NO_TRANS, t2 = g->tb ? CBLAS_TRANS : CBLAS_NO_TRANS;
    int lda = (int)(g->ta ? g->m : g->k), ldb = (int)(g->tb ? g->k : g->n);
#if GF_REAL_IS_DOUBLE
    blas.dgemm(CBLAS_ROW_MAJOR, t1, t2, (int)g->m, (int)g->n, (int)g->k, 1.0, a, lda, b, ldb,
               beta, c, (int)g->n);
#else
    blas.sgemm(CBLAS_ROW_MAJOR, t1, t2, (int)g->m, (int)g->n, (int)g->k, 1.0f, a, lda, b, ldb,
               beta, c, (int)g->n);
#endif
}

/* Seconds per call of one side, over calls lasting at least min_time. */
static double time_gemm_case(int use_blas, const gemm_case *g, const gf_real *a,
                             const gf_real *b, gf_real beta, gf_real *c, double min_time)
{
    /* gf_gemm on views: its shape checks cost nothing beside m n k multiply-adds. */
    const gf_tensor av = g->ta ? gf_tensor_view((gf_real *)a, g->k, g->m)
                               : gf_tensor_view((gf_real *)a, g->m, g->k);
    const gf_tensor bv = g->tb ? gf_tensor_view((gf_real *)b, g->n, g->k)
                               : gf_tensor_view((gf_real *)b, g->k, g->n);
    gf_tensor cv = gf_tensor_view(c, g->m, g->n);
    size_t reps = 0;
    double t0 = now(), t;
    do {
        if (use_blas)
            blas_gemm_case(g, a, b, beta, c);
        else
            (void)gf_gemm(&cv, &av, &bv, g->ta, g->tb, 1, beta);
        reps++;
        t = now() - t0;
    } while (t < min_time);
    if (use_blas)
        let_openblas_threads_sleep();
    return t / (double)reps;
}

/* Best GFLOP/s of one side over several samples (the OpenBLAS probe). */
static double gemm_rate(int use_blas, const gemm_case *g, const gf_real *a, const gf_real *b,
                        gf_real *c)
{
    double best = INFINITY;
    for (int s = 0; s < (quick ? 1 : 7); s++) {
        double t = time_gemm_case(use_blas, g, a, b, 0, c, quick ? 0.002 : 0.05);
        best = t < best ? t : best;
    }
    return 2.0 * (double)g->m * (double)g->n * (double)g->k / best * 1e-9;
}

static double median(double *v, size_t n);

/* The two sides timed in alternating samples (gradflow, then OpenBLAS when it is loaded),
 * so that a change of machine load hits both, and printed as "gradflow R GFLOP/s" with
 * each side's best rate, then "openblas R GFLOP/s   ratio MEDIAN [LO-HI]" over the pairs
 * (> 1: gradflow faster). */
enum { SAMPLES_MAX = 7 };

static void print_paired(const gemm_case *g, const gf_real *a, const gf_real *b, gf_real beta,
                         gf_real *c, double min_time)
{
    int samples = quick ? 1 : SAMPLES_MAX;
    double ratio[SAMPLES_MAX], ours = INFINITY, theirs = INFINITY, lo, hi;
    double flops = 2.0 * (double)g->m * (double)g->n * (double)g->k;
    for (int s = 0; s < samples; s++) {
        double o = time_gemm_case(0, g, a, b, beta, c, min_time);
        double r = blas.sgemm ? time_gemm_case(1, g, a, b, beta, c, min_time) : NAN;
        ratio[s] = r / o;
        ours = o < ours ? o : ours;
        theirs = r < theirs ? r : theirs;
    }
    printf("gradflow %7.2f GFLOP/s", flops / ours * 1e-9);
    if (blas.sgemm == NULL)
        return;
    lo = hi = ratio[0];
    for (int s = 1; s < samples; s++) {
        lo = ratio[s] < lo ? ratio[s] : lo;
        hi = ratio[s] > hi ? ratio[s] : hi;
    }
    printf("   openblas %7.2f GFLOP/s   ratio %.2f [%.2f-%.2f]", flops / theirs * 1e-9,
           median(ratio, (size_t)samples), lo, hi);
}

/* Square products, NN (and with --transposes TN, NT, TT) at n = 64 .. 1024, beta 0. */
static void bench_gemm(gf_rng *rng)
{
    static const size_t sizes[] = {64, 128, 256, 512, 1024};
    static const char *const tnames[] = {"NN", "TN", "NT", "TT"};
    size_t count = sizeof sizes / sizeof sizes[0];
    size_t nmax = quick ? 256 : 1024;
    gf_real *a = malloc(nmax * nmax * sizeof *a), *b = malloc(nmax * nmax * sizeof *b);
    gf_real *c = malloc(nmax * nmax * sizeof *c);
    if (a == NULL || b == NULL || c == NULL) {
        fprintf(stderr, "bench_gradflow: out of memory\n");
        exit(1);
    }
    fill_normal(a, nmax * nmax, rng, 1);
    fill_normal(b, nmax * nmax, rng, 1);
    for (int t = 0; t < (all_transposes ? 4 : 1); t++)
        for (size_t i = 0; i < count && sizes[i] <= nmax; i++) {
            size_t n = sizes[i];
            gemm_case g = {(gf_trans)(t & 1), (gf_trans)(t >> 1), n, n, n};
            printf("gemm %s n=%-5zu ", tnames[t], n);
            print_paired(&g, a, b, 0, c, quick ? 0.002 : 0.05);
            printf("\n");
            fflush(stdout);
        }
    free(a);
    free(b);
    free(c);
}

/* --only blas-probe: OpenBLAS's kernel family and its sgemm/dgemm GFLOP/s at n = 512, a
 * second long: run_bench.sh runs it under each kernel family the CPU can take, so that
 * the peer runs with the best (OpenBLAS may not recognise a CPU and choose an old one). */
static void blas_probe(gf_rng *rng)
{
    enum { N = 512 };
    gf_real *a = malloc(N * N * sizeof *a), *b = malloc(N * N * sizeof *b);
    gf_real *c = malloc(N * N * sizeof *c);
    if (a == NULL || b == NULL || c == NULL || blas.sgemm == NULL) {
        printf("blas-probe none 0\n");
        exit(0);
    }
    fill_normal(a, N * N, rng, 1);
    fill_normal(b, N * N, rng, 1);
    printf("blas-probe %s %.2f\n", blas.core ? blas.core : "unknown",
           gemm_rate(1, &(gemm_case){GF_NO_TRANS, GF_NO_TRANS, N, N, N}, a, b, c));
    free(a);
    free(b);
    free(c);
}

/* ---- Every GEMM that training calls ----------------------------------------------------
 * The linear layer's three products at the M and L shapes (batch 128 width 256, batch 256
 * width 1024): the forward x W^T (NT), the weight gradient dy^T x (TN, width x width
 * over the batch) and the input gradient dy W (NN), each with beta 0 (the first writer,
 * see layer.h's overwrite) and beta 1 (adding), and TT beside them for completeness. The
 * two sides are timed in alternating samples, so that a change of machine load hits
 * both (print_paired); each line gives the median ratio of the pairs and their range. */
static void bench_gemm_cases(gf_rng *rng)
{
    static const char *const tnames[] = {"NN", "TN", "NT", "TT"};
    static const char *const roles[] = {"dx = dy W", "dW = dy^T x", "y = x W^T", "(unused)"};
    const size_t shapes[2][2] = {{128, 256}, {256, 1024}}; /* M, L: batch, width */
    double min_time = quick ? 0.002 : 0.04;
    for (int sh = 0; sh < 2; sh++) {
        size_t batch = quick ? shapes[sh][0] / 4 : shapes[sh][0];
        size_t width = quick ? shapes[sh][1] / 4 : shapes[sh][1];
        size_t big = width * (batch > width ? batch : width);
        gf_real *a = malloc(big * sizeof *a), *b = malloc(big * sizeof *b);
        gf_real *c = malloc(big * sizeof *c);
        if (a == NULL || b == NULL || c == NULL) {
            fprintf(stderr, "bench_gradflow: out of memory\n");
            exit(1);
        }
        fill_normal(a, big, rng, 1);
        fill_normal(b, big, rng, 1);
        fill_normal(c, big, rng, 1);
        for (int t = 0; t < 4; t++)
            for (int beta = 0; beta <= 1; beta++) {
                gemm_case g = {(gf_trans)(t & 1), (gf_trans)(t >> 1), batch, width, width};
                if (t == 1) /* TN: the weight gradient, width x width over the batch */
                    g.m = width, g.n = width, g.k = batch;
                printf("gemm-case %s %s beta=%d m=%zu n=%zu k=%zu  ", sh ? "L" : "M", tnames[t],
                       beta, g.m, g.n, g.k);
                print_paired(&g, a, b, (gf_real)beta, c, min_time);
                printf("  (%s)\n", roles[t]);
                fflush(stdout);
            }
        free(a);
        free(b);
        free(c);
    }
}

/* ---- Training -------------------------------------------------------------------------- */

typedef struct config {
    const char *name;
    size_t depth, width, batch;
} config;

/* S, M, L of the issue; --quick keeps S and shrinks M and L. */
static config config_of(char size)
{
    config c = {"S", 50, 32, 32};
    if (size == 'M')
        c = quick ? (config){"M", 20, 64, 32} : (config){"M", 20, 256, 128};
    else if (size == 'L')
        c = quick ? (config){"L", 8, 128, 64} : (config){"L", 8, 1024, 256};
    return c;
}

typedef struct trainer {
    config cfg;
    gf_net *net;
    gf_optim *opt;
    gf_tensor *x, *target;
} trainer;

/* A tanh MLP, width -> width -> ... -> width (depth linear layers), Xavier-tanh init, MSE
 * against a random target, plain SGD. */
static void trainer_init(trainer *tr, config cfg, uint64_t seed)
{
    gf_mlp_spec spec = {.in = cfg.width, .width = cfg.width, .depth = cfg.depth,
                        .out = cfg.width, .act = "tanh", .act_param = NAN};
    gf_optim_config sgd = gf_optim_default(GF_OPTIM_SGD);
    gf_rng rng;
    gf_status st;
    memset(tr, 0, sizeof *tr);
    tr->cfg = cfg;
    gf_rng_seed(&rng, seed);
    if ((st = gf_net_new_mlp(&tr->net, &spec, &rng)) != GF_OK ||
        (st = gf_optim_new(&tr->opt, &sgd, gf_net_param_count(tr->net))) != GF_OK ||
        (st = gf_tensor_new(&tr->x, cfg.batch, cfg.width)) != GF_OK ||
        (st = gf_tensor_new(&tr->target, cfg.batch, cfg.width)) != GF_OK)
        die("building the network", st);
    fill_normal(tr->x->data, cfg.batch * cfg.width, &rng, 1);
    fill_normal(tr->target->data, cfg.batch * cfg.width, &rng, 0.5);
    /* The same work as the peers: neither takes dL/dx of the first layer (x does not
     * require a gradient in PyTorch; peer (a) records NaN there, as gradflow then does),
     * so gradflow skips that product too. */
    gf_net_set_input_grad(tr->net, 0);
}

static void trainer_free(trainer *tr)
{
    gf_net_free(tr->net);
    gf_optim_free(tr->opt);
    gf_tensor_free(tr->x);
    gf_tensor_free(tr->target);
}

static void train_steps(trainer *tr, size_t steps)
{
    for (size_t s = 0; s < steps; s++) {
        gf_status st = gf_net_train_step(tr->net, NULL, tr->x, tr->target, tr->opt,
                                         GF_LOSS_MSE, NULL);
        if (st != GF_OK)
            die("training step", st);
    }
}

/* Seconds per step of a chunk of `steps` steps. The telemetry store is emptied first
 * (its storage was reserved), so the chunk measures recording, not store growth. */
static double time_chunk(trainer *tr, size_t steps)
{
    gf_telemetry *tel = gf_net_telemetry_mut(tr->net);
    gf_status st;
    gf_telemetry_clear(tel);
    if ((st = gf_telemetry_reserve(tel, (steps + 1) * gf_net_layer_count(tr->net))) != GF_OK)
        die("reserving telemetry", st);
    double t0 = now();
    train_steps(tr, steps);
    return (now() - t0) / (double)steps;
}

/* Steps per chunk so that a chunk lasts about `seconds`. */
static size_t calibrate(trainer *tr, double seconds)
{
    size_t steps = 1;
    double per_step;
    train_steps(tr, 2); /* first step sizes every buffer */
    per_step = time_chunk(tr, steps);
    steps = (size_t)(seconds / per_step);
    return steps < 1 ? 1 : steps;
}

static void print_train_line(config cfg, double best)
{
    printf("train %s depth=%zu width=%zu batch=%zu  %10.1f steps/s  (%.3f ms/step, "
           "telemetry every step)\n",
           cfg.name, cfg.depth, cfg.width, cfg.batch, 1.0 / best, 1e3 * best);
    fflush(stdout);
}

static void bench_train(char size)
{
    trainer tr;
    config cfg = config_of(size);
    double best = INFINITY;
    trainer_init(&tr, cfg, 7);
    size_t steps = calibrate(&tr, quick ? 0.05 : 0.2);
    for (int r = 0; r < (quick ? 1 : 10); r++) {
        double t = time_chunk(&tr, steps);
        best = t < best ? t : best;
    }
    print_train_line(cfg, best);
    trainer_free(&tr);
}

/* --only threads: training S at every core against one thread, the two in alternating
 * chunks of one process (gf_set_threads between them), the order rotated every turn, 10
 * turns a round, each the best of its chunks, 3 rounds (1 with --quick), in wall time
 * (CPU time would add the threads' time). Nothing is split at S, so both run the same
 * code on one core: the ratio tests that having threads costs nothing there. */
static void bench_threads_s(void)
{
    trainer tr;
    size_t all = gf_threads(), steps;
    int saved_wall = wall;
    gf_status st;
    wall = 1;
    trainer_init(&tr, config_of('S'), 7);
    steps = calibrate(&tr, quick ? 0.05 : 0.2);
    for (int r = 1; r <= (quick ? 1 : 3); r++) {
        double best[2] = {INFINITY, INFINITY}; /* every core, one thread */
        for (int turn = 0; turn < (quick ? 1 : 10); turn++)
            for (int k = 0; k < 2; k++) {
                int side = (k + turn) % 2;
                double t;
                if ((st = gf_set_threads(side == 0 ? all : 1)) != GF_OK)
                    die("setting the thread count", st);
                t = time_chunk(&tr, steps);
                best[side] = t < best[side] ? t : best[side];
            }
        printf("threads S round %d  every core (%zu) %.1f steps/s, one thread %.1f steps/s, "
               "ratio %.3f (wall time)\n",
               r, all, 1.0 / best[0], 1.0 / best[1], best[1] / best[0]);
        fflush(stdout);
    }
    if ((st = gf_set_threads(all)) != GF_OK)
        die("setting the thread count", st);
    wall = saved_wall;
    trainer_free(&tr);
}

/* --only serve --size X: gradflow's side of a duel that peer_torch.py --against runs,
 * so that the chunks of the two sides alternate a fraction of a second apart and a
 * change of machine load hits both. The network is built and calibrated as in
 * bench_train and "ready" printed; then each line read from stdin times one chunk and
 * prints its seconds per step; at the end of input, the train line of the best chunk. */
static void serve_train(char size)
{
    trainer tr;
    config cfg = config_of(size);
    double best = INFINITY;
    char line[64];
    trainer_init(&tr, cfg, 7);
    size_t steps = calibrate(&tr, quick ? 0.05 : 0.2);
    printf("ready\n");
    fflush(stdout);
    while (fgets(line, sizeof line, stdin) != NULL) {
        double t = time_chunk(&tr, steps);
        best = t < best ? t : best;
        printf("%.9g\n", t);
        fflush(stdout);
    }
    print_train_line(cfg, best);
    trainer_free(&tr);
}

/* Telemetry at S, M and L. With record_every = 2, even steps are recorded and odd ones
 * are not (they make only the finiteness check), so recorded and unrecorded steps
 * alternate and a change of machine load hits both alike; each step is timed on its own
 * and the cost is the median over pairs of (recorded - unrecorded) against the median
 * recorded step.
 * The finiteness check (one norm of the gradient block) is timed alone. */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void bench_telemetry(char size)
{
    enum { PAIRS_MAX = 400 };
    static double rec[PAIRS_MAX], diff[PAIRS_MAX];
    trainer tr;
    config cfg = config_of(size);
    size_t pairs, n_params;
    double check = INFINITY, t_rec, t_diff, t_step;
    gf_status st;
    trainer_init(&tr, cfg, 11);
    n_params = gf_net_param_count(tr.net);
    train_steps(&tr, 2); /* sizes every buffer */
    t_step = now();
    train_steps(&tr, 1);
    t_step = now() - t_step;
    /* About 3 s of pairs (400 at M), at least 20 */
    pairs = (size_t)(1.5 / t_step);
    pairs = quick ? 4 : pairs > PAIRS_MAX ? PAIRS_MAX : pairs < 20 ? 20 : pairs;
    if ((st = gf_net_set_record_every(tr.net, 2)) != GF_OK ||
        (st = gf_telemetry_reserve(gf_net_telemetry_mut(tr.net),
                                   (pairs + 4) * gf_net_layer_count(tr.net))) != GF_OK)
        die("setting up telemetry", st);
    if (gf_net_step_count(tr.net) % 2 != 0)
        train_steps(&tr, 1); /* the next step is a recorded one */
    for (size_t p = 0; p < pairs; p++) {
        double t0 = now(), t1, t2;
        train_steps(&tr, 1);
        t1 = now();
        train_steps(&tr, 1);
        t2 = now();
        rec[p] = t1 - t0;
        diff[p] = (t1 - t0) - (t2 - t1);
    }
    t_rec = median(rec, pairs);
    t_diff = median(diff, pairs);
    for (int r = 0; r < (quick ? 1 : 7); r++) {
        volatile double sink;
        int reps = 50;
        double t0 = now();
        for (int i = 0; i < reps; i++)
            sink = gf_array_norm2(gf_net_grads(tr.net), n_params);
        (void)sink;
        double t = (now() - t0) / reps;
        check = t < check ? t : check;
    }
    printf("telemetry %c  recording %.2f %%  finiteness check %.2f %%  of a step "
           "(median of %zu pairs: recorded step %.3f ms, %.3f ms more than unrecorded; "
           "check %.3f ms)\n",
           size, 100 * t_diff / t_rec, 100 * check / t_rec, pairs, 1e3 * t_rec, 1e3 * t_diff,
           1e3 * check);
    fflush(stdout);
    trainer_free(&tr);
}

/* ---- Peak memory, in a fresh process ------------------------------------------------------ */

/* Peak resident set of this process in bytes: VmHWM, else ru_maxrss (KiB on Linux). */
static double peak_rss(void)
{
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    double kib = -1;
    if (f != NULL) {
        while (fgets(line, sizeof line, f) != NULL)
            if (strncmp(line, "VmHWM:", 6) == 0)
                kib = strtod(line + 6, NULL);
        fclose(f);
    }
    if (kib < 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        kib = (double)ru.ru_maxrss;
    }
    return kib * 1024;
}

/* The child: build L, train a few steps, report the peak against what the training state
 * needs. The engine keeps parameters and gradients (one block each; the step adds the
 * update in place), every boundary activation and its gradient (the telemetry reads
 * them); tanh keeps no f' array, and SGD has no state of its own. */
static int memory_child(void)
{
    trainer tr;
    config cfg = config_of('L');
    const double mb = 1e-6, sz = sizeof(gf_real);
    double params, acts, data, core, engine, peak;
    size_t n_layers;
    trainer_init(&tr, cfg, 13);
    train_steps(&tr, 3);
    peak = peak_rss();
    n_layers = gf_net_layer_count(tr.net);
    params = sz * (double)gf_net_param_count(tr.net);
    /* Boundary 0 is the input; boundary i + 1 the output of layer i. */
    acts = sz * (double)(cfg.batch * gf_net_in_features(tr.net));
    for (size_t i = 0; i < n_layers; i++)
        acts += sz * (double)(cfg.batch * gf_net_layer(tr.net, i)->out);
    data = sz * (double)(gf_tensor_size(tr.x) + gf_tensor_size(tr.target));
    /* core: parameters + gradients + activations + optimiser state (SGD: none). */
    core = 2 * params + acts;
    /* engine: all the engine keeps, as listed above. */
    engine = 2 * params + 2 * acts;
    printf("memory L peak %.1f MB  core %.1f MB (params %.1f + grads %.1f + activations %.1f "
           "+ SGD state 0)  ratio %.2f  |  engine state %.1f MB (+ activation grads %.1f; "
           "data %.1f)  ratio %.2f\n",
           peak * mb, core * mb, params * mb, params * mb, acts * mb, peak / core,
           engine * mb, acts * mb, data * mb, peak / (engine + data));
    fflush(stdout);
    trainer_free(&tr);
    return 0;
}

static void bench_memory(const char *self)
{
    pid_t pid;
    int status = 0;
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        char *argv[] = {(char *)self, "--memory-child", quick ? "--quick" : NULL, NULL};
        execv("/proc/self/exe", argv);
        execv(self, argv);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench_gradflow: the memory child failed\n");
        exit(1);
    }
}

/* ---- Main ------------------------------------------------------------------------------ */

static void print_machine(void)
{
    char line[256], model[256] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f != NULL) {
        while (fgets(line, sizeof line, f) != NULL) {
            char *colon = strchr(line, ':');
            if (strncmp(line, "model name", 10) == 0 && colon != NULL) {
                snprintf(model, sizeof model, "%s", colon + 2);
                model[strcspn(model, "\n")] = '\0';
                break;
            }
        }
        fclose(f);
    }
    const char *threads = getenv("GRADFLOW_THREADS");
    printf("# gradflow %s, %s, GEMM backend: %s; cpu: %s; openblas: %s, %d thread(s); "
           "GRADFLOW_THREADS=%s; %s time\n",
           gf_version(), gf_real_name(), gf_gemm_backend(), model,
           blas.sgemm ? (blas.core ? blas.core : "loaded") : "not found", blas_threads,
           threads ? threads : "(unset)", wall ? "wall" : "CPU");
}

int main(int argc, char **argv)
{
    gf_rng rng;
    int child = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--transposes") == 0)
            all_transposes = 1;
        else if (strcmp(argv[i], "--wall") == 0)
            wall = 1;
        else if (strcmp(argv[i], "--memory-child") == 0)
            child = 1;
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc && atoi(argv[i + 1]) > 0)
            blas_threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc &&
                 (strcmp(argv[i + 1], "S") == 0 || strcmp(argv[i + 1], "M") == 0 ||
                  strcmp(argv[i + 1], "L") == 0))
            train_sizes = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--quick] [--wall] [--threads N] "
                            "[--only gemm|gemm-cases|train|threads|telemetry|memory|serve] "
                            "[--size S|M|L] [--transposes]\n", argv[0]);
            return 2;
        }
    }
    if (child)
        return memory_child();
    load_openblas();
    print_machine();
    gf_rng_seed(&rng, 1);
    if (only != NULL && strcmp(only, "blas-probe") == 0) {
        blas_probe(&rng);
        return 0;
    }
    if (section("gemm"))
        bench_gemm(&rng);
    if (section("gemm-cases"))
        bench_gemm_cases(&rng);
    if (only != NULL && strcmp(only, "serve") == 0) {
        if (strlen(train_sizes) != 1) {
            fprintf(stderr, "%s: --only serve needs --size S, M or L\n", argv[0]);
            return 2;
        }
        serve_train(*train_sizes);
        return 0;
    }
    if (section("train"))
        for (const char *size = train_sizes; *size != '\0'; size++)
            bench_train(*size);
    if (section("threads"))
        bench_threads_s();
    if (section("telemetry")) {
        bench_telemetry('S');
        bench_telemetry('M');
        bench_telemetry('L');
    }
    if (section("memory"))
        bench_memory(argv[0]);
    return 0;
}
