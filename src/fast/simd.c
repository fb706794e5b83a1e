/* src/fast/simd.c: which version of the vectorised loops runs (simd.h): the best the CPU
 * has, unless the environment variable GF_SIMD asks for a lesser one. */
#include <stdlib.h>
#include <string.h>

#include "fast/simd.h"

#if !defined(__STDC_NO_ATOMICS__)
#include <stdatomic.h>
#endif

/* 1 when this CPU can run version v (always for the portable one). */
static int cpu_runs(gf_simd_version v)
{
#if GF_SIMD_VERSIONS
    __builtin_cpu_init();
    if (v == GF_SIMD_AVX512)
        return __builtin_cpu_supports("avx512f");
    if (v == GF_SIMD_AVX2) /* the x86-64-v3 level, of which the loops use these */
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    return v == GF_SIMD_PORTABLE;
}

/* The best version the CPU runs, or GF_SIMD's if it is lesser (an unknown name or one
 * the CPU lacks gives the best there is, as GF_GEMM_KERNEL does). */
static gf_simd_version pick(void)
{
    const char *want = getenv("GF_SIMD");
    gf_simd_version best = cpu_runs(GF_SIMD_AVX512) ? GF_SIMD_AVX512
                           : cpu_runs(GF_SIMD_AVX2) ? GF_SIMD_AVX2
                                                    : GF_SIMD_PORTABLE;
    if (want != NULL && strcmp(want, "portable") == 0)
        return GF_SIMD_PORTABLE;
    if (want != NULL && strcmp(want, "avx2") == 0 && best >= GF_SIMD_AVX2)
        return GF_SIMD_AVX2;
    return best;
}

gf_simd_version gf_simd_active(void)
{
#if !defined(__STDC_NO_ATOMICS__)
    /* A data-race-free cache of a fact about the CPU: 0 not yet decided, else 1 + the
     * version. Two threads deciding at once decide the same. */
    static atomic_int chosen;
    int c = atomic_load_explicit(&chosen, memory_order_relaxed);
    if (c == 0) {
        c = 1 + (int)pick();
        atomic_store_explicit(&chosen, c, memory_order_relaxed);
    }
    return (gf_simd_version)(c - 1);
#else
    return pick();
#endif
}

const char *gf_simd_name(gf_simd_version v)
{
    return v == GF_SIMD_AVX512 ? "avx512" : v == GF_SIMD_AVX2 ? "avx2" : "portable";
}
