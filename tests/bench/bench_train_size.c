/* tests/bench/bench_train_size.c: one training figure of bench_gradflow, alone, for paired
 * comparisons of two builds (a change against its baseline). It builds the S, M or L
 * network of bench_gradflow (tanh MLP, Xavier-tanh init, MSE against a random target,
 * plain SGD or Adam, telemetry every step), and times chunks of gf_net_train_step, each
 * chunk lasting about 0.2 s, in CPU time of the process. It prints the best and the
 * median chunk, in ms per step.
 *
 *   bench_train_size [S|M|L] [chunks] [sgd|adam]     (default S, 10 chunks, sgd)
 *
 * Pin it and interleave the two builds, for example
 *   for r in 1 2 3 4 5; do taskset -c 1 OLD/bench_train_size S; taskset -c 1 NEW/...; done
 * and compare the rounds pair by pair: on a shared machine the load changes between runs
 * more than a few per cent. Built with -DGF_BENCH_OLD_API it compiles against the
 * argument order of gf_net_train_step before the API-consistency change (commit cbddaaa),
 * so that the same driver times the baseline. */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gradflow.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what, gf_status st)
{
    fprintf(stderr, "bench_train_size: %s: %s: %s\n", what, gf_strerror(st), gf_last_error());
    exit(1);
}

static void train_steps(gf_net *net, gf_optim *opt, const gf_tensor *x, const gf_tensor *t,
                        size_t steps)
{
    for (size_t s = 0; s < steps; s++) {
#ifdef GF_BENCH_OLD_API
        gf_status st = gf_net_train_step(net, x, t, GF_LOSS_MSE, opt, NULL, NULL);
#else
        gf_status st = gf_net_train_step(net, NULL, x, t, opt, GF_LOSS_MSE, NULL);
#endif
        if (st != GF_OK)
            die("training step", st);
    }
}

/* Seconds per step of `steps` steps; the telemetry store is emptied and reserved first,
 * as in bench_gradflow, so that a chunk measures recording and not store growth. */
static double time_chunk(gf_net *net, gf_optim *opt, const gf_tensor *x, const gf_tensor *t,
                         size_t steps)
{
#ifdef GF_BENCH_OLD_API
    gf_telemetry *tel = gf_net_telemetry(net);
#else
    gf_telemetry *tel = gf_net_telemetry_mut(net);
#endif
    gf_status st;
    gf_telemetry_clear(tel);
    if ((st = gf_telemetry_reserve(tel, (steps + 1) * gf_net_layer_count(net))) != GF_OK)
        die("reserving telemetry", st);
    double t0 = now();
    train_steps(net, opt, x, t, steps);
    return (now() - t0) / (double)steps;
}

static int cmp_double(const void *a, const void *b)
{
    double u = *(const double *)a, v = *(const double *)b;
    return (u > v) - (u < v);
}

int main(int argc, char **argv)
{
    enum { CHUNKS_MAX = 100 };
    double times[CHUNKS_MAX];
    char size = argc > 1 ? argv[1][0] : 'S';
    int chunks = argc > 2 ? atoi(argv[2]) : 10;
    size_t depth = 50, width = 32, batch = 32;
    if (size == 'M')
        depth = 20, width = 256, batch = 128;
    else if (size == 'L')
        depth = 8, width = 1024, batch = 256;
    else if (size != 'S') {
        fprintf(stderr, "usage: %s [S|M|L] [chunks]\n", argv[0]);
        return 2;
    }
    chunks = chunks < 1 ? 1 : chunks > CHUNKS_MAX ? CHUNKS_MAX : chunks;
    int adam = argc > 3 && strcmp(argv[3], "adam") == 0;

    gf_mlp_spec spec = {.in = width, .width = width, .depth = depth, .out = width,
                        .act = "tanh", .act_param = NAN};
    gf_optim_config sgd = gf_optim_default(adam ? GF_OPTIM_ADAM : GF_OPTIM_SGD);
    gf_net *net = NULL;
    gf_optim *opt = NULL;
    gf_tensor *x = NULL, *t = NULL;
    gf_rng rng;
    gf_status st;
    gf_rng_seed(&rng, 7);
    if ((st = gf_net_new_mlp(&net, &spec, &rng)) != GF_OK ||
        (st = gf_optim_new(&opt, &sgd, gf_net_param_count(net))) != GF_OK ||
        (st = gf_tensor_new(&x, batch, width)) != GF_OK ||
        (st = gf_tensor_new(&t, batch, width)) != GF_OK)
        die("building the network", st);
    for (size_t i = 0; i < batch * width; i++)
        x->data[i] = (gf_real)gf_rng_normal(&rng);
    for (size_t i = 0; i < batch * width; i++)
        t->data[i] = (gf_real)(0.5 * gf_rng_normal(&rng));

    train_steps(net, opt, x, t, 2); /* the first step sizes every buffer */
    size_t steps = (size_t)(0.2 / time_chunk(net, opt, x, t, 1));
    steps = steps < 1 ? 1 : steps;
    for (int c = 0; c < chunks; c++)
        times[c] = time_chunk(net, opt, x, t, steps);
    qsort(times, (size_t)chunks, sizeof *times, cmp_double);
    printf("train %c best %.4f median %.4f ms/step (%d chunks of %zu steps, %s)\n", size,
           1e3 * times[0], 1e3 * times[chunks / 2], chunks, steps, adam ? "Adam" : "SGD");
    gf_net_free(net);
    gf_optim_free(opt);
    gf_tensor_free(x);
    gf_tensor_free(t);
    return 0;
}
