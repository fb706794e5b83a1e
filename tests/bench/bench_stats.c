/* tests/bench/bench_stats.c: the telemetry's reductions alone (src/fast/stats.c), on one
 * array in cache: the time of one call of each fast loop, the best of 40 rounds of
 * calls, for each length asked for. The figures of docs/performance.md ("Telemetry",
 * "What is left") on the reductions' speed come from it; GF_SIMD picks the version
 * (portable, avx2, avx512), as in the library. Pin it for steady figures:
 *   taskset -c 1 bench_stats 1024 32768
 * The array is 64-byte aligned, like the network's blocks (src/core/internal.h). */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/internal.h"
#include "../../src/fast/simd.h"
#include "../../src/fast/stats.h"
#include "bench_util.h"

enum { ROUNDS = 40 };

/* Seconds per call of reduction `which` (0 sum of squares, 1 moments, 2 |x| statistics)
 * on x[0..n), over `reps` calls. */
static double time_calls(int which, const gf_real *x, size_t n, long reps)
{
    volatile double sink = 0;
    double t0 = bench_seconds();
    for (long r = 0; r < reps; r++) {
        double s, q, a;
        size_t z, c;
        if (which == 0) {
            sink += gf_stats_sumsq_fast(x, n);
        } else if (which == 1) {
            gf_stats_moments_fast(x, n, &s, &q, &z);
            sink += q;
        } else {
            gf_stats_abs_fast(x, n, (gf_real)0.5, &a, &c, &z);
            sink += a;
        }
    }
    (void)sink;
    return (bench_seconds() - t0) / (double)reps;
}

int main(int argc, char **argv)
{
    static const char *const names[3] = {"sumsq", "moments", "abs"};
    if (argc < 2) {
        fprintf(stderr, "usage: %s n [n ...]   (values per array; GF_SIMD picks the loops)\n",
                argv[0]);
        return 2;
    }
    printf("# bench_stats: %s, %s loops, best of %d rounds, one array in cache\n",
           sizeof(gf_real) == sizeof(double) ? "double" : "float",
           gf_simd_name(gf_simd_active()), ROUNDS);
    for (int arg = 1; arg < argc; arg++) {
        size_t n;
        if (!bench_length(argv[arg], 1, (size_t)1 << 26, &n)) {
            fprintf(stderr, "bench_stats: '%s' is not a length from 1 to 2^26\n", argv[arg]);
            return 2;
        }
        gf_real *x = gf_alloc_reals(n);
        double best[3] = {1e30, 1e30, 1e30};
        long reps = (long)(2e6 / (double)n) + 10;
        if (x == NULL) {
            fprintf(stderr, "bench_stats: out of memory for %zu values\n", n);
            return 1;
        }
        for (size_t i = 0; i < n; i++) /* a few exact zeros, no value out of range */
            x[i] = (gf_real)((double)(i * 7919 % 1000) * 0.001 - 0.3);
        for (int round = 0; round < ROUNDS; round++)
            for (int w = 0; w < 3; w++) {
                double t = time_calls(w, x, n, reps);
                best[w] = t < best[w] ? t : best[w];
            }
        printf("stats n=%zu", n);
        for (int w = 0; w < 3; w++)
            printf("  %s %.1f ns", names[w], 1e9 * best[w]);
        printf("\n");
        gf_free_reals(x);
    }
    return 0;
}
