/* tests/bench/bench_peak.c: the fastest one core of this machine multiplies and adds, so
 * that a GEMM's GFLOP/s can be read as a share of it. A loop of independent fused
 * multiply-adds on registers only (no loads, no stores), in float and in double, with
 * the widest vectors the CPU has (AVX-512, else AVX2+FMA): the ceiling that no product
 * can pass on this core. run_bench.sh prints it above the GEMM lines; docs/performance.md
 * ("What is left") compares the products with it. Pin it like the benchmark:
 *   taskset -c 1 bench_peak            (--quick: a short run, for CTest)
 * GF_SIMD=avx2 measures the AVX2 one on an AVX-512 CPU. A CPU running wide vectors may
 * run them at a lower clock than scalar code: that is part of the ceiling, and why it is
 * measured rather than computed from the clock. The host's speed drifts between
 * sittings (a loop like this one read 154 GFLOP/s in float, then 170-176 twenty minutes
 * later, 7 Dec), so compare a product with the ceiling of the same sitting. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"

/* ACC accumulators, each a chain a = a x + y: with two FMA units of latency 4 cycles,
 * 8 chains keep both busy; 12 leave a margin and still fit the 16 registers of AVX2
 * beside x and y. */
enum { ACC = 12, ROUNDS = 7 };

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define PEAK_X86 1

/* One version per vector type: iters iterations of ACC fused multiply-adds, returning
 * the sum of the accumulators (so that none of the work can be dropped). x and y come
 * through volatile, so the compiler cannot fold the chains. */
#define PEAK_LOOP(name, isa, vec, elem, set1, fmadd, add)                                 \
    __attribute__((target(isa))) static double name(long iters, double xs, double ys)    \
    {                                                                                     \
        vec acc[ACC], x = set1((elem)xs), y = set1((elem)ys), sum;                        \
        elem out[sizeof(vec) / sizeof(elem)];                                             \
        double total = 0;                                                                 \
        _Pragma("GCC unroll 12") for (int i = 0; i < ACC; i++) acc[i] = set1((elem)i);    \
        for (long it = 0; it < iters; it++) {                                             \
            _Pragma("GCC unroll 12") for (int i = 0; i < ACC; i++) acc[i] =               \
                fmadd(acc[i], x, y);                                                      \
        }                                                                                 \
        sum = acc[0];                                                                     \
        _Pragma("GCC unroll 12") for (int i = 1; i < ACC; i++) sum = add(sum, acc[i]);    \
        memcpy(out, &sum, sizeof sum);                                                    \
        for (size_t l = 0; l < sizeof(vec) / sizeof(elem); l++)                           \
            total += out[l];                                                              \
        return total;                                                                     \
    }

PEAK_LOOP(peak_avx512_float, "avx512f", __m512, float, _mm512_set1_ps, _mm512_fmadd_ps,
          _mm512_add_ps)
PEAK_LOOP(peak_avx512_double, "avx512f", __m512d, double, _mm512_set1_pd, _mm512_fmadd_pd,
          _mm512_add_pd)
PEAK_LOOP(peak_avx2_float, "avx2,fma", __m256, float, _mm256_set1_ps, _mm256_fmadd_ps,
          _mm256_add_ps)
PEAK_LOOP(peak_avx2_double, "avx2,fma", __m256d, double, _mm256_set1_pd, _mm256_fmadd_pd,
          _mm256_add_pd)
#else
#define PEAK_X86 0
#endif

typedef double peak_fn(long iters, double xs, double ys);

static volatile double sink; /* every run's sum lands here, so no run can be dropped */

/* GFLOP/s of fn (lanes values per vector): the best of ROUNDS runs of iters iterations. */
static double rate(peak_fn *fn, int lanes, long iters)
{
    volatile double xs = 0.999, ys = 1e-3;
    double best = 0;
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = bench_seconds(), t;
        sink = sink + fn(iters, xs, ys);
        t = bench_seconds() - t0;
        double gflops = 2.0 * ACC * lanes * (double)iters / t * 1e-9;
        best = gflops > best ? gflops : best;
    }
    return best;
}

int main(int argc, char **argv)
{
    long iters = 50L * 1000 * 1000; /* about 0.1 s a run on a 3 GHz AVX-512 core */
    if (argc > 2 || (argc == 2 && strcmp(argv[1], "--quick") != 0)) {
        fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
        return 2;
    }
    if (argc == 2)
        iters /= 100;
#if PEAK_X86
    /* The CPU asked directly, not through the library's gf_simd_active (src/fast/simd.c):
     * that one answers which loops this build of the library runs (a clang build runs
     * only the portable ones), where this ceiling is the hardware's. GF_SIMD=avx2 is read
     * as the library reads it. */
    const char *simd = getenv("GF_SIMD");
    int avx2_asked = simd != NULL && strcmp(simd, "avx2") == 0;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && !avx2_asked) {
        printf("fma-peak avx512 float %.1f GFLOP/s  double %.1f GFLOP/s  (one core, %d "
               "chains of fused multiply-adds on registers)\n",
               rate(peak_avx512_float, 16, iters),
               rate(peak_avx512_double, 8, iters), ACC);
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        printf("fma-peak avx2 float %.1f GFLOP/s  double %.1f GFLOP/s  (one core, %d "
               "chains of fused multiply-adds on registers)\n",
               rate(peak_avx2_float, 8, iters), rate(peak_avx2_double, 4, iters),
               ACC);
    } else {
        printf("fma-peak none: this CPU has neither AVX-512 nor AVX2 with FMA\n");
    }
#else
    printf("fma-peak none: measured on x86-64 with GCC or Clang only\n");
#endif
    return 0;
}
