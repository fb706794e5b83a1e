/* src/fast/simd.h: the library's hot element-wise loops (activations, norms, the
 * telemetry's statistics, the optimiser updates) are each compiled three times, for
 * AVX-512, for x86-64-v3 (AVX2 with FMA) and for the baseline (SSE2 on x86-64), and run
 * the version that gf_simd_active() names: the best the CPU has, or a lesser one asked
 * for with the environment variable GF_SIMD (portable, avx2, avx512), to compare them
 * or to test them all on one machine. A generic build thus needs no -march flag to use
 * wide vectors. The GEMM chooses its kernel the same way (gemm.c, GF_GEMM_KERNEL).
 *
 * The three versions give the same bits: the loops do the same operations in the same
 * order in every version (sums over explicit lanes, never a reduction the compiler
 * reorders), ISO C mode (-std=c11) does not contract a * b + c into an FMA, and where a
 * loop wants a fused multiply-add it says so with fmaf/fma, which is correctly rounded
 * everywhere: one instruction in the AVX-512 and x86-64-v3 versions, a libm call in the
 * baseline one. Calls into libm (exp, log1p, expm1) are the same call in every version;
 * what glibc itself picks by CPU is discussed in README ("The same numbers on every
 * x86-64 CPU"). tests/same_bits_every_kernel.cmake checks it all end to end.
 *
 * How a loop is written: its body is a plain function NAME_loop marked GF_SIMD_BODY,
 * and one line below it, GF_SIMD_VOID or GF_SIMD_RETURN, defines NAME with the same
 * parameters, which runs the chosen version of the body. With another compiler or CPU
 * family NAME simply calls the body. */
#ifndef GRADFLOW_SIMD_H
#define GRADFLOW_SIMD_H

typedef enum gf_simd_version {
    GF_SIMD_PORTABLE, /* the baseline: SSE2 on x86-64, or whatever the compiler targets */
    GF_SIMD_AVX2,     /* x86-64-v3: AVX2, FMA */
    GF_SIMD_AVX512    /* AVX-512F */
} gf_simd_version;

/* The version the loops run. Decided on the first call and kept. */
gf_simd_version gf_simd_active(void);

/* "portable", "avx2" or "avx512". */
const char *gf_simd_name(gf_simd_version v);

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define GF_SIMD_VERSIONS 1
#else
#define GF_SIMD_VERSIONS 0
#endif

#if GF_SIMD_VERSIONS
/* gf_simd_active() once decided: 1 + the version, or 0 before the first call. Read by
 * the dispatchers below without a call, since small loops run thousands of times a step. */
extern int gf_simd_chosen;
static inline gf_simd_version gf_simd_now(void)
{
    int c = __atomic_load_n(&gf_simd_chosen, __ATOMIC_RELAXED);
    return c != 0 ? (gf_simd_version)(c - 1) : gf_simd_active();
}

/* always_inline: the body must be compiled inside each version, for its instruction set. */
#define GF_SIMD_BODY static inline __attribute__((always_inline))
#define GF_SIMD_THREE(ret, name, params, call)                                       \
    __attribute__((target("avx512f"))) static ret name##_avx512 params { call; }     \
    __attribute__((target("arch=x86-64-v3"))) static ret name##_avx2 params { call; } \
    static ret name##_portable params { call; }

/* [storage] void NAME params: runs NAME_loop args in the chosen version. storage is
 * static or extern. */
#define GF_SIMD_VOID(storage, name, params, args)       \
    GF_SIMD_THREE(void, name, params, name##_loop args) \
    storage void name params                            \
    {                                                   \
        switch (gf_simd_now()) {                     \
        case GF_SIMD_AVX512: name##_avx512 args; break; \
        case GF_SIMD_AVX2: name##_avx2 args; break;     \
        default: name##_portable args; break;           \
        }                                               \
    }

/* [storage] ret NAME params: returns NAME_loop args, run in the chosen version. */
#define GF_SIMD_RETURN(storage, ret, name, params, args)      \
    GF_SIMD_THREE(ret, name, params, return name##_loop args) \
    storage ret name params                                   \
    {                                                         \
        switch (gf_simd_now()) {                           \
        case GF_SIMD_AVX512: return name##_avx512 args;       \
        case GF_SIMD_AVX2: return name##_avx2 args;           \
        default: return name##_portable args;                 \
        }                                                     \
    }
#else
#define GF_SIMD_BODY static inline
#define GF_SIMD_VOID(storage, name, params, args) \
    storage void name params { name##_loop args; }
#define GF_SIMD_RETURN(storage, ret, name, params, args) \
    storage ret name params { return name##_loop args; }
#endif

#endif
