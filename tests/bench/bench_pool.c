/* tests/bench/bench_pool.c: what sharing a short job costs (src/fast/pool.c). As in a
 * training step, a job writes an array in two halves, one per thread (the bands of rows a
 * GEMM leaves), and the next job reads it back: the sum of squares of each half on the
 * thread that wrote it (how the telemetry's reductions are shared). Timed: that reading
 * job, and an empty job of two parts; then the same sum of squares on one thread, of an
 * array it wrote itself. Each figure is the median and the 90th percentile of ROUNDS
 * jobs, in microseconds, for each length asked for. docs/performance.md ("Threads") has
 * the figures; pin it to two cores:
 *   GRADFLOW_THREADS=2 taskset -c 0-1 bench_pool 16384 32768 65536 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>

#include "../../src/core/internal.h"
#include "../../src/fast/pool.h"
#include "../../src/fast/stats.h"
#include "bench_util.h"

enum { ROUNDS = 3000 };

typedef struct halves {
    gf_real *x;
    size_t n;
    gf_real value;
    double sumsq[2];
} halves;

static void write_half(void *arg, size_t part, size_t parts)
{
    halves *h = arg;
    for (size_t i = h->n * part / parts; i < h->n * (part + 1) / parts; i++)
        h->x[i] = h->value;
}

static void sum_half(void *arg, size_t part, size_t parts)
{
    halves *h = arg;
    size_t lo = h->n * part / parts, hi = h->n * (part + 1) / parts;
    h->sumsq[part] = gf_stats_sumsq_fast(h->x + lo, hi - lo);
}

static void nothing(void *arg, size_t part, size_t parts) { (void)arg, (void)part, (void)parts; }

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median and 90th percentile of t[0..ROUNDS), in microseconds. */
static void print_quantiles(const char *what, double *t)
{
    qsort(t, ROUNDS, sizeof *t, cmp_double);
    printf("  %s %.2f us (p90 %.2f)", what, 1e6 * t[ROUNDS / 2], 1e6 * t[ROUNDS * 9 / 10]);
}

/* The job of `parts` parts (1: the calling thread alone) reading what the job before it
 * wrote, ROUNDS times; the empty job too when shared. */
static void time_jobs(halves *h, size_t parts)
{
    static double reading[ROUNDS], empty[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        double t0, t1;
        h->value = (gf_real)r * (gf_real)1e-3;
        gf_pool_run(write_half, h, parts);
        t0 = bench_seconds();
        gf_pool_run(sum_half, h, parts);
        t1 = bench_seconds();
        reading[r] = t1 - t0;
        gf_pool_run(nothing, NULL, parts);
        empty[r] = bench_seconds() - t1;
    }
    print_quantiles(parts > 1 ? "shared" : "one thread", reading);
    if (parts > 1)
        print_quantiles("empty job", empty);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s LENGTH...\n", argv[0]);
        return 2;
    }
    for (int a = 1; a < argc; a++) {
        halves h = {NULL, 0, 0, {0, 0}};
        void *block;
        if (!bench_length(argv[a], 2, (size_t)1 << 26, &h.n)) {
            fprintf(stderr, "%s: '%s' is not a length from 2 to 2^26\n", argv[0], argv[a]);
            return 2;
        }
        if ((block = gf_alloc(h.n * sizeof(gf_real) + GF_ALIGN_PAD)) == NULL) {
            fprintf(stderr, "%s: out of memory for %zu values\n", argv[0], h.n);
            return 1;
        }
        h.x = gf_align64(block);
        printf("pool n=%zu", h.n);
        time_jobs(&h, 2);
        time_jobs(&h, 1);
        printf("\n");
        gf_free(block);
    }
    return 0;
}
