/* src/fast/gemm.c: C = alpha op(A) op(B) + beta C. First the reference, a plain triple
 * loop (what the reference build, -DGRADFLOW_REFERENCE=ON, runs). Then the fast path: a
 * blocked GEMM in the manner of Goto and BLIS: op(B) is packed a block at a time into
 * narrow panels, and a register-tiled micro-kernel multiplies a few rows of op(A) by one
 * panel. The kernel is picked at run time (AVX-512, AVX2+FMA, or portable C; they are in
 * gemm_kernels.c), so a generic build is fast everywhere. A large product is split over threads by bands of
 * C (see Threads below). With -DGRADFLOW_BLAS=ON, the fast path calls cblas_sgemm/dgemm
 * instead (and the CBLAS library's own threads). Leaves out Strassen-like tricks;
 * docs/performance.md has the figures. */
#include <limits.h>
#include <stdint.h>
#include <string.h>
#if !defined(__STDC_NO_ATOMICS__)
#include <stdatomic.h>
#endif

#include "core/internal.h"
#include "fast/fast.h"
#include "fast/gemm.h"
#include "fast/gemm_kernels.h"
#include "fast/pool.h"
#include "fast/stats.h"
#include "gradflow/threads.h"

/* ---- The reference ---------------------------------------------------------------------
 * C[i][j] = alpha sum_p op(A)[i][p] op(B)[p][j] + beta C[i][j], the sum over p in order,
 * in gf_real. gf_real rather than double because it is the arithmetic the fast kernels
 * do (their accumulators are gf_real too, only added in another order): the reference
 * build then runs the library at the precision it ships with, and a float-build test
 * cannot pass on the reference only because its sums were more precise. Both paths
 * keep the BLAS contract: beta = 0 ignores C's old values (NaN in C does not survive),
 * alpha = 0 reads neither A nor B. */
void gf_gemm_ref(gf_trans trans_a, gf_trans trans_b, size_t m, size_t n, size_t k,
                 gf_real alpha, const gf_real *a, size_t lda, const gf_real *b, size_t ldb,
                 gf_real beta, gf_real *c, size_t ldc)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            gf_real *cij = c + i * ldc + j;
            gf_real old = beta == 0 ? 0 : beta * *cij;
            gf_real sum = 0;
            if (alpha == 0) {
                *cij = old;
                continue;
            }
            for (size_t p = 0; p < k; p++) {
                gf_real aip = trans_a ? a[p * lda + i] : a[i * lda + p]; /* op(A)[i][p] */
                gf_real bpj = trans_b ? b[j * ldb + p] : b[p * ldb + j]; /* op(B)[p][j] */
                sum += aip * bpj;
            }
            *cij = alpha * sum + old;
        }
}

#if GF_USE_CBLAS
#include <cblas.h>
#endif

/* ---- Blocking ---------------------------------------------------------------------------
 * The loops, outermost first (jc, pc, ir, jr), and where each operand lives:
 *   jc: NC columns of C at a time;
 *   pc: KC of the k dimension: op(B)[pc:pc+KC, jc:jc+NC] is packed into NC/NR panels of
 *       KC x NR values (512 KiB at most, held in L2);
 *   ir: MR rows of C: the MR x KC strip of op(A) (4-8 KiB, held in L1) is packed into
 *       KC groups of MR values, so the kernel reads one sequential stream. In place, the
 *       strip of a large row-major A is MR rows a row of A apart (4 KiB at the L shape),
 *       which share a few cache sets; packing it with the kernel's transpose in registers
 *       (pack_a) took the L-shape NN and NT products from 0.88-0.97 to 0.92-1.00 of
 *       OpenBLAS (2 paired runs of every case, 7 Dec 2026), where a scalar copy had been
 *       slower than reading in place. A kernel without pack_a (AVX2, portable) reads a
 *       row-major A in place, as does any kernel for the last, short strip;
 *   jr: the micro-kernel adds that strip times one B panel into an MR x NR tile of C.
 * With NC that wide, op(A) is read once per block of k for a product up to 1024 columns
 * (n = 1024 was memory bound with NC = 128: A was read from far away 8 times over). The
 * order of BLIS (jr outside ir, a panel of B held in L1 while strips of A stream past)
 * measured 10 % slower here: its tiles of C, a row of C apart, fall into the same few
 * cache sets. Small operands are read in place instead (see SMALL below). The packed
 * block of B comes from gf_alloc, once per call, when it is larger than the block kept
 * on the stack (NC_STACK columns, 64 KiB at most, less than the smallest thread stacks
 * in common use); if gf_alloc fails the product runs with the stack's block, slower,
 * with the same bits, so that gf_gemm_raw still cannot fail. With KC = 128 a kernel
 * call does 128 rank-1 updates of its tile for one load and store of the tile.
 * KC is part of the result, not only of the speed: each block along k is summed on its
 * own and then added into C, so every kernel uses the same KC (GF_GEMM_KC, gemm.h). MR,
 * NR and NC only decide which elements are computed together, never how. */
enum { KC = GF_GEMM_KC, MR_MAX = GF_GEMM_MR_MAX };
enum {
    NC_HEAP = 512 * 1024 / KC / sizeof(gf_real), /* 1024 columns of floats, 512 of doubles */
    NC_STACK = 64 * 1024 / KC / sizeof(gf_real)  /* 128 and 64 */
};

/* ---- Packing -------------------------------------------------------------------------------- */

/* Copy n values, n usually a kernel's MR or NR: with the count a constant the compiler
 * copies inline (a call to memcpy per panel row cost more than the copy). */
static inline void copy_short(gf_real *dst, const gf_real *src, size_t n)
{
    switch (n) {
    case 4: memcpy(dst, src, 4 * sizeof(gf_real)); break;
    case 6: memcpy(dst, src, 6 * sizeof(gf_real)); break;
    case 8: memcpy(dst, src, 8 * sizeof(gf_real)); break;
    case 16: memcpy(dst, src, 16 * sizeof(gf_real)); break;
    case 32: memcpy(dst, src, 32 * sizeof(gf_real)); break;
    default: memcpy(dst, src, n * sizeof(gf_real)); break;
    }
}

/* Ask for n values from src to be brought into cache ahead of use: the rows of B the
 * packing reads are a page or more apart, and the hardware's prefetchers do not cross
 * pages, so each row would start with a wait on memory (a seventh of the product's time
 * at n = 1024 went into packing B). A hint only: no effect on any value. */
enum { PREFETCH_ROWS = 4, LINE = 64 / sizeof(gf_real) };

static inline void prefetch_row(const gf_real *src, size_t n)
{
#if defined(__GNUC__)
    for (size_t i = 0; i < n; i += LINE)
        __builtin_prefetch(src + i, 0, 3);
#else
    (void)src, (void)n;
#endif
}

/* op(B)[p0:p0+kc, j0:j0+nc] into panels of nr columns: panel q holds columns
 * j0 + q nr ... as kc rows of nr values (zero past column nc). A row-major B is copied
 * a row at a time across all panels: each row of B is then one sequential read (panel by
 * panel, the reads went down the rows of B, a page apart, and cost a seventh of the
 * product at n = 1024). A full panel of a transposed B is the kernel's pack_bt. */
static void pack_b(const gf_gemm_micro *kern, gf_real *dst, gf_trans t, const gf_real *b,
                   size_t ldb, size_t p0, size_t kc, size_t j0, size_t nc)
{
    size_t nr = kern->nr, full = nc / nr * nr;
    if (t == GF_NO_TRANS) {
        for (size_t p = 0; p < kc; p++) {
            const gf_real *src = b + (p0 + p) * ldb + j0;
            if (p + PREFETCH_ROWS < kc)
                prefetch_row(src + PREFETCH_ROWS * ldb, nc);
            for (size_t q = 0; q < full; q += nr)
                copy_short(dst + q * kc + p * nr, src + q, nr);
            if (full < nc) {
                memcpy(dst + full * kc + p * nr, src + full, (nc - full) * sizeof(gf_real));
                memset(dst + full * kc + p * nr + (nc - full), 0,
                       (nr - (nc - full)) * sizeof(gf_real));
            }
        }
        return;
    }
    for (size_t q = 0; q < full; q += nr) {
        for (size_t j = q + nr; j < q + 2 * nr && j < nc; j++)
            prefetch_row(b + (j0 + j) * ldb + p0, kc); /* the next panel's rows */
        kern->pack_bt(dst + q * kc, b + (j0 + q) * ldb + p0, ldb, kc, nr);
    }
    if (full < nc) { /* op(B)(p, j) = B[j][p] for the last, narrow panel */
        const gf_real *src = b + (j0 + full) * ldb + p0;
        for (size_t p = 0; p < kc; p++)
            for (size_t j = 0; j < nr; j++)
                dst[full * kc + p * nr + j] = j < nc - full ? src[j * ldb + p] : 0;
    }
}

/* op(A)[i0:i0+mr, p0:p0+kc] for A stored transposed (op(A)(i, p) = A[p][i]): kc groups of
 * mr values, a copy of mr contiguous values per p. */
static void pack_a_trans(gf_real *dst, const gf_real *a, size_t lda, size_t i0, size_t mr,
                         size_t p0, size_t kc)
{
    for (size_t p = 0; p < kc; p++)
        copy_short(dst + p * mr, a + (p0 + p) * lda + i0, mr);
}

/* ---- The blocked product: C = alpha op(A) op(B) (+ C when add_to_c) ------------------------ */

/* Small operands are read in place rather than packed: packing exists to keep a large
 * operand's rows from evicting each other in cache (rows a power of two apart share
 * cache sets), which cannot happen to a block of SMALL bytes, and for the small GEMMs of
 * narrow networks the copy would cost as much as the product. */
enum { SMALL = 64 * 1024 };

/* The operands and the packing buffers of one blocked product. */
typedef struct gemm_operands {
    const gf_gemm_micro *kern;
    gf_trans ta, tb;
    const gf_real *a, *b;
    size_t lda, ldb;
    int a_in_place, b_in_place; /* read in place, not packed (row-major B: full panels only) */
    gf_real *bpack;             /* KC x nc_max values: one block of op(B) */
    size_t nc_max;              /* columns per block of op(B), a multiple of NR */
    gf_real *apack;             /* MR_MAX x KC values: one strip of op(A) */
} gemm_operands;

/* The strip of op(A) the kernel reads for rows ir .. ir + rows and the block of k at pc:
 * its address and strides (A(i, p) = strip[i rsa + p csa]), packed into o->apack first
 * unless A is read in place. A row-major A's strip is packed by the kernel's pack_a, full
 * strips only (the last, short strip of a row-major A is read in place). */
static const gf_real *a_strip(const gemm_operands *o, size_t ir, size_t rows, size_t pc,
                              size_t kc, size_t *rsa, size_t *csa)
{
    if (o->ta == GF_NO_TRANS) {
        const gf_real *strip = o->a + ir * o->lda + pc;
        if (o->a_in_place || rows < o->kern->mr) {
            *rsa = o->lda, *csa = 1;
            return strip;
        }
        o->kern->pack_a(o->apack, strip, o->lda, kc);
    } else {
        if (o->a_in_place) {
            *rsa = 1, *csa = o->lda;
            return o->a + pc * o->lda + ir;
        }
        pack_a_trans(o->apack, o->a, o->lda, ir, rows, pc, kc);
    }
    *rsa = 1, *csa = rows;
    return o->apack;
}

/* The sums of squares of C's chunks that one band takes (gf_gemm_request_sumsq, gemm.h):
 * chunks next .. end, those that lie wholly in the band's rows, each as soon as the band
 * has finished the rows that hold it. C's rows are contiguous (ldc = n). */
typedef struct chunk_sums {
    const gf_real *c;     /* the whole C (not the band's part) */
    size_t count, n;      /* C's values, and values per row */
    size_t row0;          /* the band's first row */
    size_t next, end;     /* the band's chunks not yet taken */
    double *sums;         /* a sum per chunk of C ... */
    unsigned char *taken; /* ... and whether it has been taken */
} chunk_sums;

enum { CHUNK = GF_STATS_CHUNK };

/* The chunks of a C of count values, and where chunk i ends (values i CHUNK .. end). */
static size_t chunk_count(size_t count) { return (count + CHUNK - 1) / CHUNK; }

static size_t chunk_end(size_t count, size_t i)
{
    return (i + 1) * CHUNK < count ? (i + 1) * CHUNK : count;
}

/* The sum of squares of chunk i of c, as gf_stats_sumsq takes it. */
static double chunk_sumsq(const gf_real *c, size_t count, size_t i)
{
    return gf_stats_sumsq_fast(c + i * CHUNK, chunk_end(count, i) - i * CHUNK);
}

/* The band has finished C's rows up to `rows` (exclusive, counted from C's first row). */
static void take_chunks(chunk_sums *cs, size_t rows)
{
    size_t finished = rows * cs->n;
    for (; cs->next < cs->end && chunk_end(cs->count, cs->next) <= finished; cs->next++) {
        cs->sums[cs->next] = chunk_sumsq(cs->c, cs->count, cs->next);
        cs->taken[cs->next] = 1;
    }
}

/* One block of k (pc, kc) and of columns (jc, nc), op(B)'s block packed already (its
 * first `full` columns read in place): every strip of MR rows of op(A) times every panel
 * of that block. cs: the chunk sums to take as strips are finished (the last block), or
 * NULL. */
static void gemm_block(const gemm_operands *o, size_t m, size_t pc, size_t kc, size_t jc,
                       size_t nc, size_t full, gf_real alpha, gf_real *c, size_t ldc, int add,
                       chunk_sums *cs)
{
    const gf_gemm_micro *kern = o->kern;
    size_t mr = kern->mr, nr = kern->nr;
    for (size_t ir = 0; ir < m; ir += mr) {
        size_t rows = m - ir < mr ? m - ir : mr, rsa, csa;
        const gf_real *strip = a_strip(o, ir, rows, pc, kc, &rsa, &csa);
        for (size_t jr = 0; jr < nc; jr += nr) {
            size_t cols = nc - jr < nr ? nc - jr : nr;
            gf_real *ct = c + ir * ldc + jc + jr;
            if (jr < full)
                kern->run(kc, strip, rsa, csa, o->b + pc * o->ldb + jc + jr, o->ldb, ct, ldc,
                          rows, cols, alpha, add);
            else
                kern->run(kc, strip, rsa, csa, o->bpack + jr * kc, nr, ct, ldc, rows, cols,
                          alpha, add);
        }
        if (cs != NULL)
            take_chunks(cs, cs->row0 + ir + rows);
    }
}

static void gemm_blocked(const gemm_operands *o, size_t m, size_t n, size_t k, gf_real alpha,
                         gf_real *c, size_t ldc, int add_to_c, chunk_sums *cs)
{
    size_t nr = o->kern->nr;
    for (size_t jc = 0; jc < n; jc += o->nc_max) {
        size_t nc = n - jc < o->nc_max ? n - jc : o->nc_max;
        size_t full = o->b_in_place ? nc / nr * nr : 0; /* panels of B read in place */
        for (size_t pc = 0; pc < k; pc += KC) {
            size_t kc = k - pc < KC ? k - pc : KC;
            int add = add_to_c || pc > 0; /* the first block along k overwrites C */
            if (full < nc)
                pack_b(o->kern, o->bpack + full * kc, o->tb, o->b, o->ldb, pc, kc, jc + full,
                       nc - full);
            int last = jc + nc == n && pc + kc == k; /* C final as each strip ends */
            gemm_block(o, m, pc, kc, jc, nc, full, alpha, c, ldc, add, last ? cs : NULL);
        }
    }
}

static void scale_c(gf_real *c, size_t ldc, size_t m, size_t n, gf_real beta)
{
    for (size_t i = 0; i < m; i++) {
        gf_real *ci = c + i * ldc;
        if (beta == 0)
            memset(ci, 0, n * sizeof(gf_real)); /* beta = 0: old NaNs must not survive */
        else if (beta != 1)
            for (size_t j = 0; j < n; j++)
                ci[j] *= beta;
    }
}

/* Columns per packed block of op(B) when a block wider than the stack's pays for itself
 * (B packed, not read in place, and wider than NC_STACK): n rounded up to whole panels,
 * at most NC_HEAP; else 0 (the stack's block). */
static size_t heap_block_columns(const gf_gemm_micro *kern, gf_trans tb, size_t n, size_t k,
                                 size_t ldb)
{
    size_t cols = (n + kern->nr - 1) / kern->nr * kern->nr;
    if (cols <= NC_STACK || (tb == GF_NO_TRANS && k * ldb <= SMALL / sizeof(gf_real)))
        return 0;
    return cols < NC_HEAP ? cols : NC_HEAP;
}

/* C = alpha op(A) op(B) + beta C with a built-in kernel, for m, n > 0. beta C is
 * rounded once, before the products are added (the same in every kernel). bpack holds
 * KC x nc_max values for the packed blocks of op(B), or is NULL: the stack's block. cs:
 * the chunk sums of squares to take (when alpha != 0 and k > 0), or NULL. */
static void gemm_built_in(const gf_gemm_micro *kern, gf_trans ta, gf_trans tb, size_t m,
                          size_t n, size_t k, gf_real alpha, const gf_real *a, size_t lda,
                          const gf_real *b, size_t ldb, gf_real beta, gf_real *c, size_t ldc,
                          gf_real *bpack, size_t nc_max, chunk_sums *cs)
{
    _Alignas(64) gf_real bstack[KC * NC_STACK];
    _Alignas(64) gf_real apack[MR_MAX * KC];
    gemm_operands o = {kern, ta, tb, a, b, lda, ldb, 0, 0, bstack, NC_STACK, apack};
    if (alpha == 0 || k == 0) {
        scale_c(c, ldc, m, n, beta);
        return;
    }
    o.b_in_place = tb == GF_NO_TRANS && k * ldb <= SMALL / sizeof(gf_real);
    o.a_in_place = k * lda <= SMALL / sizeof(gf_real) || (ta == GF_NO_TRANS && !kern->pack_a);
    if (bpack != NULL)
        o.bpack = bpack, o.nc_max = nc_max;
    /* beta = 0: the kernel overwrites C (never reading it, so old NaNs cannot survive)
     * instead of a pass that zeroes it first. */
    if (beta != 0 && beta != 1)
        scale_c(c, ldc, m, n, beta);
    gemm_blocked(&o, m, n, k, alpha, c, ldc, beta != 0, cs);
}

/* ---- Threads ------------------------------------------------------------------------------
 * A large product is cut into bands of C: bands of rows (of op(A) and C) when C is taller
 * than wide (or op(B) is small, see below), else bands of columns (of op(B) and C), each
 * a multiple of the kernel's tile and each run by gemm_built_in on its own thread. Every
 * element of C is still computed as gemm.h says, whatever band it falls in (k is never
 * split), so the bits do not depend on the number of threads. Each band packs its own
 * blocks of B (and of A), in its own slice of one buffer allocated by the calling thread
 * (a user's allocator need not be thread-safe): the duplicated packing is a few per cent
 * of a band's work at the sizes that are split.
 * One band per thread, no more: each band packs its own blocks of op(B) and reads all of
 * op(A) (or the other way round), so cutting finer repeats that work without spreading
 * the product better.
 * GEMM_MIN_PART multiply-adds per band at least, so that a product is split from
 * 2^23 multiply-adds (the M shape, 128 x 256 x 256, about 0.1 ms on one core): on this
 * 2-core virtual machine, with the pool's workers watching for jobs (pool.c), 2 threads
 * run it at 1.0-1.3 times OpenBLAS on 2 threads, where 1 thread ran at 0.55.
 * Bands of rows are taken also when C is wider than tall but op(B) is small (ROW_BANDS_B
 * values at most, 1 MiB of floats; two tiles a band at least): each band then packs all
 * of op(B), cheap at that size, and computes whole rows of C, the rows that the
 * element-wise passes before and after the product give to the same thread (pool.c,
 * gf_pool_parts_given), so each thread reads rows in its own cache. The M shape's
 * forward and input-gradient products (128 x 256 x 256) are split so: with small jobs
 * shared in 4 parts a thread, a step at M on two threads ran 6.12-6.21 ms with bands of
 * rows against 6.37-6.48 ms with bands of columns (two alternating runs each). */
#define GEMM_MIN_PART (1u << 22)
#define ROW_BANDS_B (256.0 * 1024)

typedef struct gemm_job {
    const gf_gemm_micro *kern;
    gf_trans ta, tb;
    size_t m, n, k;
    gf_real alpha, beta;
    const gf_real *a, *b;
    gf_real *c;
    size_t lda, ldb, ldc;
    int by_rows;    /* bands of rows, else of columns */
    gf_real *bpack; /* per band KC x nc_max values to pack op(B) into, or NULL */
    size_t nc_max;
    double *sums;   /* C's chunk sums of squares to take (in bands of rows), or NULL */
    unsigned char *taken;
} gemm_job;

/* The chunk sums that the band of rows lo .. hi of C takes: the chunks wholly inside it
 * (a chunk that two bands share is taken after the job). */
static chunk_sums band_chunk_sums(const gemm_job *j, size_t lo, size_t hi)
{
    size_t count = j->m * j->n, total = chunk_count(count);
    size_t first = (lo * j->n + CHUNK - 1) / CHUNK;
    size_t end = hi == j->m ? total : hi * j->n / CHUNK;
    return (chunk_sums){j->c, count, j->n, lo, first, end > first ? end : first, j->sums,
                        j->taken};
}

static void gemm_band(void *arg, size_t part, size_t parts)
{
    const gemm_job *j = arg;
    size_t unit = j->by_rows ? j->kern->mr : j->kern->nr;
    size_t len = j->by_rows ? j->m : j->n;
    size_t tiles = (len + unit - 1) / unit;
    size_t lo = tiles * part / parts * unit, hi = tiles * (part + 1) / parts * unit;
    const gf_real *a = j->a, *b = j->b;
    gf_real *bpack = j->bpack != NULL ? j->bpack + part * KC * j->nc_max : NULL;
    if (hi > len)
        hi = len;
    if (lo >= hi)
        return;
    if (j->by_rows) {
        chunk_sums cs;
        if (j->sums != NULL)
            cs = band_chunk_sums(j, lo, hi);
        a += j->ta == GF_NO_TRANS ? lo * j->lda : lo; /* op(A)[lo:hi, :] */
        gemm_built_in(j->kern, j->ta, j->tb, hi - lo, j->n, j->k, j->alpha, a, j->lda, b,
                      j->ldb, j->beta, j->c + lo * j->ldc, j->ldc, bpack, j->nc_max,
                      j->sums != NULL ? &cs : NULL);
    } else {
        b += j->tb == GF_NO_TRANS ? lo : lo * j->ldb; /* op(B)[:, lo:hi] */
        gemm_built_in(j->kern, j->ta, j->tb, j->m, hi - lo, j->k, j->alpha, a, j->lda, b,
                      j->ldb, j->beta, j->c + lo, j->ldc, bpack, j->nc_max, NULL);
    }
}

/* The request of gf_gemm_request_sumsq on this thread, if any (gemm.h), and how many
 * threads have one: a product looks at its thread's request only when some thread has
 * one, so that the usual product pays one load (in a shared library a thread-local
 * variable is reached through a call). */
static _Thread_local gf_gemm_sumsq_request *sumsq_request;
#if !defined(__STDC_NO_ATOMICS__)
static atomic_size_t requests;
#define any_request() (atomic_load_explicit(&requests, memory_order_relaxed) > 0)
#define count_request(d) \
    atomic_fetch_add_explicit(&requests, (size_t)(d), memory_order_relaxed)
#else
#define any_request() 1
#define count_request(d) ((void)0)
#endif

void gf_gemm_request_sumsq(gf_gemm_sumsq_request *req)
{
    if (req != NULL)
        req->taken = 0;
    if ((req != NULL) != (sumsq_request != NULL))
        count_request(req != NULL ? 1 : -1);
    sumsq_request = req;
}

/* Whether this product serves the thread's request: it writes all of the C asked about,
 * a row after another, through the kernels. */
static gf_gemm_sumsq_request *request_served(const gemm_job *j, size_t parts)
{
    gf_gemm_sumsq_request *req = sumsq_request;
    if (req == NULL || req->taken || req->c != j->c || req->count != j->m * j->n ||
        j->ldc != j->n || j->alpha == 0 || j->k == 0 || (parts > 1 && !j->by_rows))
        return NULL;
    return req;
}

/* After the product: the chunks no band took (those two bands share), then the sum of
 * them all in chunk order from 0, as gf_stats_sumsq adds them. */
static void finish_request(gf_gemm_sumsq_request *req, double *sums,
                           const unsigned char *taken)
{
    size_t total = chunk_count(req->count);
    double sumsq = 0;
    for (size_t i = 0; i < total; i++) {
        if (!taken[i])
            sums[i] = chunk_sumsq(req->c, req->count, i);
        sumsq += sums[i];
    }
    req->sumsq = sumsq;
    req->taken = 1;
}

enum { SUMS_ON_STACK = 64 }; /* chunk sums of a C of 1 Mi values */

/* The product of job in `parts` bands, taking the sums of squares req asks for; 0 when
 * it cannot (no memory for the sums): nothing done then. */
static int gemm_taking_sumsq(gemm_job *job, size_t parts, gf_gemm_sumsq_request *req)
{
    double sums_stack[SUMS_ON_STACK];
    unsigned char taken_stack[SUMS_ON_STACK];
    size_t total = chunk_count(req->count);
    void *sums_block = NULL;
    if (total <= SUMS_ON_STACK)
        job->sums = sums_stack, job->taken = taken_stack;
    else if ((sums_block = gf_alloc(total * (sizeof(double) + 1))) != NULL)
        job->sums = sums_block, job->taken = (unsigned char *)(job->sums + total);
    else
        return 0;
    memset(job->taken, 0, total);
    if (parts <= 1) {
        chunk_sums cs = band_chunk_sums(job, 0, job->m);
        gemm_built_in(job->kern, job->ta, job->tb, job->m, job->n, job->k, job->alpha, job->a,
                      job->lda, job->b, job->ldb, job->beta, job->c, job->ldc, job->bpack,
                      job->nc_max, &cs);
    } else
        gf_pool_run(gemm_band, job, parts);
    finish_request(req, job->sums, job->taken);
    gf_free(sums_block);
    return 1;
}

/* gemm_built_in, on as many threads as the size pays for, with the packing blocks of
 * every band allocated here, once (none if gf_alloc fails: the stack's, same bits). */
static void gemm_threaded(const gf_gemm_micro *kern, gf_trans ta, gf_trans tb, size_t m,
                          size_t n, size_t k, gf_real alpha, const gf_real *a, size_t lda,
                          const gf_real *b, size_t ldb, gf_real beta, gf_real *c, size_t ldc)
{
    size_t parts = gf_pool_parts((double)m * (double)n * (double)k, GEMM_MIN_PART);
    size_t nc_max = heap_block_columns(kern, tb, n, k, ldb), tiles;
    int by_rows;
    gemm_job job;
    void *block = NULL;
    gf_gemm_sumsq_request *req;
    if (parts > 1 && parts > gf_threads()) /* one band per thread: see Threads above */
        parts = gf_threads();                /* (asked only when split: it takes a lock) */
    by_rows = m >= n || ((double)k * (double)n <= ROW_BANDS_B && m >= 2 * parts * kern->mr);
    tiles = by_rows ? (m + kern->mr - 1) / kern->mr : (n + kern->nr - 1) / kern->nr;
    job = (gemm_job){kern, ta, tb, m, n, k, alpha, beta, a, b, c, lda, ldb, ldc, by_rows,
                     NULL, nc_max, NULL, NULL};
    if (parts > tiles)
        parts = tiles;
    if (alpha != 0 && nc_max > 0 &&
        (block = gf_alloc(parts * KC * nc_max * sizeof(gf_real) + GF_ALIGN_PAD)) != NULL)
        job.bpack = gf_align64(block); /* unaligned panels cost 10 % of the product */
    req = any_request() ? request_served(&job, parts) : NULL;
    if (req == NULL || !gemm_taking_sumsq(&job, parts, req)) {
        if (parts <= 1)
            gemm_built_in(kern, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
                          job.bpack, nc_max, NULL);
        else
            gf_pool_run(gemm_band, &job, parts);
    }
    gf_free(block);
}

/* ---- Entry points ------------------------------------------------------------------------ */

#if GF_USE_CBLAS
/* CBLAS takes int sizes: anything larger stays with the built-in kernel. */
static int fits_int(size_t m, size_t n, size_t k, size_t lda, size_t ldb, size_t ldc)
{
    return m <= INT_MAX && n <= INT_MAX && k <= INT_MAX && lda <= INT_MAX && ldb <= INT_MAX &&
           ldc <= INT_MAX;
}
#endif

void gf_gemm_fast(gf_trans trans_a, gf_trans trans_b, size_t m, size_t n, size_t k,
                  gf_real alpha, const gf_real *a, size_t lda, const gf_real *b, size_t ldb,
                  gf_real beta, gf_real *c, size_t ldc)
{
    if (m == 0 || n == 0)
        return;
#if GF_USE_CBLAS
    /* Empty products are left to the code below: CBLAS rejects a leading dimension of 0
     * (and OpenBLAS would print about it). */
    if (k > 0 && alpha != 0 && fits_int(m, n, k, lda, ldb, ldc)) {
        enum CBLAS_TRANSPOSE ca = trans_a ? CblasTrans : CblasNoTrans;
        enum CBLAS_TRANSPOSE cb = trans_b ? CblasTrans : CblasNoTrans;
#if GF_REAL_IS_DOUBLE
        cblas_dgemm(CblasRowMajor, ca, cb, (int)m, (int)n, (int)k, alpha, a, (int)lda, b,
                    (int)ldb, beta, c, (int)ldc);
#else
        cblas_sgemm(CblasRowMajor, ca, cb, (int)m, (int)n, (int)k, alpha, a, (int)lda, b,
                    (int)ldb, beta, c, (int)ldc);
#endif
        return;
    }
#endif
    gemm_threaded(gf_gemm_micro_chosen(), trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c,
                  ldc);
}

int gf_gemm_with_kernel(gf_gemm_kernel kernel, gf_trans trans_a, gf_trans trans_b, size_t m,
                        size_t n, size_t k, gf_real alpha, const gf_real *a, size_t lda,
                        const gf_real *b, size_t ldb, gf_real beta, gf_real *c, size_t ldc)
{
    const gf_gemm_micro *kern = gf_gemm_micro_if_supported(kernel);
    if (kern == NULL)
        return 0;
    if (m > 0 && n > 0)
        gemm_threaded(kern, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return 1;
}

void gf_gemm_raw(gf_trans trans_a, gf_trans trans_b, size_t m, size_t n, size_t k,
                 gf_real alpha, const gf_real *a, size_t lda, const gf_real *b, size_t ldb,
                 gf_real beta, gf_real *c, size_t ldc)
{
    if (GF_FAST)
        gf_gemm_fast(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else
        gf_gemm_ref(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

const char *gf_gemm_backend(void)
{
    if (!GF_FAST)
        return "reference";
#if GF_USE_CBLAS
    return "cblas";
#else
    return gf_gemm_micro_chosen()->name;
#endif
}
