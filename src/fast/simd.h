/* src/fast/simd.h: GF_CLONES marks the library's hot element-wise loops (tanh, norms, the
 * telemetry's statistics) for function multi-versioning: the compiler builds each for
 * AVX-512, for x86-64-v3 (AVX2 with FMA) and for the baseline (SSE2 on x86-64), and the
 * loader picks one for the CPU (GNU ifunc), so a generic build needs no -march flag to
 * use wide vectors. The loops are written so that every version does the same operations
 * in the same order (explicit lanes for sums), and ISO C mode (-std=c11) does not
 * contract a * b + c into an FMA: results do not depend on the CPU. Where a loop wants
 * a fused multiply-add it says so with fmaf/fma, which is correctly rounded everywhere:
 * one instruction in the AVX-512 and x86-64-v3 versions, a libm call in the baseline,
 * the same bits in all three. Elsewhere (other compilers and CPUs, C
 * libraries without ifunc) it expands to nothing and the loops use the baseline
 * vectors. The GEMM has its own run-time dispatch (gemm.c), for every compiler. */
#ifndef GRADFLOW_SIMD_H
#define GRADFLOW_SIMD_H

#include <stdlib.h> /* defines __GLIBC__ on glibc systems */

/* GCC only: Clang 14 names the dispatcher of an external function "f.ifunc", so that
 * callers of f do not link. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    defined(__GLIBC__)
#define GF_CLONES __attribute__((target_clones("avx512f", "arch=x86-64-v3", "default")))
#else
#define GF_CLONES
#endif

#endif
