/* src/fast/simd.c: which version of the vectorised loops runs (simd.h): the best the CPU
 * has, unless the environment variable GF_SIMD asks for a lesser one. */
#include <stdlib.h>
#include <string.h>

#include "fast/simd.h"

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

#if GF_SIMD_VERSIONS
int gf_simd_chosen; /* simd.h */

/* A data-race-free cache of a fact about the CPU (GCC's atomic built-ins, which the
 * dispatchers use too): two threads deciding at once decide the same. */
gf_simd_version gf_simd_active(void)
{
    int c = __atomic_load_n(&gf_simd_chosen, __ATOMIC_RELAXED);
    if (c == 0) {
        c = 1 + (int)pick();
        __atomic_store_n(&gf_simd_chosen, c, __ATOMIC_RELAXED);
    }
    return (gf_simd_version)(c - 1);
}
#else
gf_simd_version gf_simd_active(void) { return pick(); }
#endif

const char *gf_simd_name(gf_simd_version v)
{
    return v == GF_SIMD_AVX512 ? "avx512" : v == GF_SIMD_AVX2 ? "avx2" : "portable";
}
