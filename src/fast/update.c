/* src/fast/update.c: the fast update. A long range is shared among threads by pieces
 * (see "Pieces and threads" below). On a recorded step it measures ||delta|| in the pass
 * that adds it, so that the step reads its parameters, gradients and state once instead
 * of twice; asked for, it also takes the sum of the squared parameters before they
 * change, piece by piece just ahead of the update, while the piece is in cache.
 * Reference: gf_optim_update_ref in engine/optim.c (measure, then update: two passes),
 * which gives the same parameters bit for bit; test_net checks both agree.
 *
 * One plain sum of squares would chain every element on one addition and keep GCC from
 * vectorising the update; the sums run in LANES independent lanes, added in a fixed
 * order, so the figure does not depend on the CPU. In the double build a second sum of
 * (2^400 delta)^2 keeps vanishing updates from reading as 0 (see optim_rules.h). */
#include "fast/simd.h"
#include "fast/pool.h"
#include "fast/stats.h"
#include "fast/update.h"

enum { LANES = 16 };
#define SCALE 0x1p400

/* The lane sums of one range: sum[l] of delta^2 and scaled[l] of (2^400 delta)^2. */
typedef struct lanes {
    double sum[LANES], scaled[LANES];
} lanes;

static inline void add_square(lanes *s, size_t l, gf_real d)
{
    s->sum[l] += (double)d * d;
#if GF_REAL_IS_DOUBLE
    s->scaled[l] += (d * SCALE) * (d * SCALE);
#endif
}

/* One element of each rule: add delta to p and its square to lane l. */
static inline void sgd_at(const gf_optim_coefs *c, lanes *s, size_t l, gf_real *p,
                          const gf_real *g)
{
    gf_real d = gf_sgd_rule(*p, *g, c);
    add_square(s, l, d);
    *p += d;
}

static inline void momentum_at(const gf_optim_coefs *c, lanes *s, size_t l, gf_real *v,
                               gf_real *p, const gf_real *g)
{
    gf_real d = gf_momentum_rule(v, *p, *g, c);
    add_square(s, l, d);
    *p += d;
}

static inline void adam_at(const gf_optim_coefs *c, lanes *s, size_t l, gf_real *m,
                           gf_real *v, gf_real *p, const gf_real *g)
{
    gf_real d = gf_adam_rule(m, v, *p, *g, c);
    add_square(s, l, d);
    *p += d;
}

/* Element i goes to lane i % LANES: whole blocks of LANES (the loop GCC vectorises), then
 * the tail, so every version (simd.h) adds in the same order. The lanes come in and go
 * out through *acc, so a range can be updated in pieces whose lengths are multiples of
 * LANES (but the last) with the same sums. sgd, momentum and adam are one loop written
 * three times on purpose: each must inline its own rule for GCC to vectorise it (through
 * a function pointer it would not). */
GF_SIMD_BODY void sgd_loop(const gf_optim_coefs *k, lanes *acc, gf_real *restrict p,
                           const gf_real *restrict g, size_t n)
{
    gf_optim_coefs c = *k;
    lanes s = *acc; /* a local copy: the loop keeps it in registers */
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (size_t l = 0; l < LANES; l++)
            sgd_at(&c, &s, l, &p[i + l], &g[i + l]);
    for (; i < n; i++)
        sgd_at(&c, &s, i % LANES, &p[i], &g[i]);
    *acc = s;
}
GF_SIMD_VOID(static, sgd,
             (const gf_optim_coefs *k, lanes *acc, gf_real *restrict p,
              const gf_real *restrict g, size_t n),
             (k, acc, p, g, n))

GF_SIMD_BODY void momentum_loop(const gf_optim_coefs *k, lanes *acc, gf_real *restrict v,
                                gf_real *restrict p, const gf_real *restrict g, size_t n)
{
    gf_optim_coefs c = *k;
    lanes s = *acc; /* a local copy: the loop keeps it in registers */
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (size_t l = 0; l < LANES; l++)
            momentum_at(&c, &s, l, &v[i + l], &p[i + l], &g[i + l]);
    for (; i < n; i++)
        momentum_at(&c, &s, i % LANES, &v[i], &p[i], &g[i]);
    *acc = s;
}
GF_SIMD_VOID(static, momentum,
             (const gf_optim_coefs *k, lanes *acc, gf_real *restrict v, gf_real *restrict p,
              const gf_real *restrict g, size_t n),
             (k, acc, v, p, g, n))

GF_SIMD_BODY void adam_loop(const gf_optim_coefs *k, lanes *acc, gf_real *restrict m,
                            gf_real *restrict v, gf_real *restrict p,
                            const gf_real *restrict g, size_t n)
{
    gf_optim_coefs c = *k;
    lanes s = *acc; /* a local copy: the loop keeps it in registers */
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (size_t l = 0; l < LANES; l++)
            adam_at(&c, &s, l, &m[i + l], &v[i + l], &p[i + l], &g[i + l]);
    for (; i < n; i++)
        adam_at(&c, &s, i % LANES, &m[i], &v[i], &p[i], &g[i]);
    *acc = s;
}
GF_SIMD_VOID(static, adam,
             (const gf_optim_coefs *k, lanes *acc, gf_real *restrict m, gf_real *restrict v,
              gf_real *restrict p, const gf_real *restrict g, size_t n),
             (k, acc, m, v, p, g, n))

/* Values [lo, lo + n) of the range, the squares of delta summed into *acc. */
static void update_piece(gf_optim_kind kind, const gf_optim_coefs *k, lanes *acc, gf_real *s0,
                         gf_real *s1, gf_real *p, const gf_real *g, size_t lo, size_t n)
{
    if (kind == GF_OPTIM_SGD)
        sgd(k, acc, p + lo, g + lo, n);
    else if (kind == GF_OPTIM_MOMENTUM)
        momentum(k, acc, s0 + lo, p + lo, g + lo, n);
    else
        adam(k, acc, s0 + lo, s1 + lo, p + lo, g + lo, n);
}

/* ---- Pieces and threads -----------------------------------------------------------------
 * A range is updated in pieces of PIECE values, each summing its squares in lanes of its
 * own from zero, the pieces' sums added in piece order: so the figures do not depend on
 * how the pieces are shared among threads (parts take whole pieces). PIECE is the chunk of
 * gf_stats_sumsq, so a piece's parameters, summed just before they change while they are
 * in cache, add up to gf_stats_sumsq(p, n) exactly. Groups of GROUP pieces at a time
 * (a bounded buffer for any n). UPDATE_MIN_PART values a part at least when the pool
 * is asleep, as for the activations (pool.h: a smaller range is shared when the workers
 * are awake). On a step that is not measured the pieces run the reference's plain loops
 * (apply, from engine/optim.c): no sums to take. */
enum { PIECE = GF_STATS_CHUNK, GROUP = 64 };
#define UPDATE_MIN_PART (512.0 * 1024)

/* One piece's sums, a cache line each: a worker writes the sums of its pieces into lines
 * of its own, which the calling thread reads once the job is done. */
typedef struct piece_sums {
    _Alignas(64) double sum, scaled, params; /* of delta^2, (2^400 delta)^2, p^2 */
} piece_sums;

/* The job, on the calling thread's stack: read by the parts, never written by them. */
typedef struct update_job {
    gf_optim_kind kind;
    const gf_optim_coefs *k;
    gf_real *s0, *s1, *p;
    const gf_real *g;
    size_t n, first, pieces; /* pieces first .. first + pieces of the range */
    int measure, with_params;
    gf_update_apply_fn *apply; /* the plain loops, for pieces not measured */
    piece_sums *out;           /* GROUP of them */
} update_job;

static void update_pieces(void *arg, size_t part, size_t parts)
{
    const update_job *j = arg;
    for (size_t i = j->pieces * part / parts; i < j->pieces * (part + 1) / parts; i++) {
        size_t lo = (j->first + i) * PIECE, len = j->n - lo < PIECE ? j->n - lo : PIECE;
        lanes acc = {{0}, {0}};
        piece_sums out = {0, 0, 0};
        if (!j->measure) {
            j->apply(j->kind, j->k, j->s0 ? j->s0 + lo : NULL, j->s1 ? j->s1 + lo : NULL,
                     j->p + lo, j->g + lo, len);
            continue;
        }
        if (j->with_params)
            out.params = gf_stats_sumsq_fast(j->p + lo, len);
        update_piece(j->kind, j->k, &acc, j->s0, j->s1, j->p, j->g, lo, len);
        for (size_t l = 0; l < LANES; l++) {
            out.sum += acc.sum[l];
            out.scaled += acc.scaled[l];
        }
        j->out[i] = out;
    }
}

void gf_fast_update(gf_optim_kind kind, const gf_optim_coefs *k, gf_real *s0, gf_real *s1,
                    gf_real *p, const gf_real *g, size_t n, double *update_norm,
                    double *param_sumsq, gf_update_apply_fn *apply)
{
    piece_sums out[GROUP];
    update_job j = {kind, k, s0, s1, p, g, n, 0, 0, update_norm != NULL, param_sumsq != NULL,
                    apply, out};
    size_t total = (n + PIECE - 1) / PIECE;
    size_t parts = gf_pool_parts((double)n, UPDATE_MIN_PART);
    double sum = 0, scaled = 0, params = 0;
    for (; j.first < total; j.first += j.pieces) {
        j.pieces = total - j.first < GROUP ? total - j.first : GROUP;
        gf_pool_run(update_pieces, &j, parts < j.pieces ? parts : j.pieces);
        for (size_t i = 0; i < j.pieces && j.measure; i++) {
            sum += out[i].sum;
            scaled += out[i].scaled;
            params += out[i].params;
        }
    }
    if (update_norm != NULL)
        *update_norm = gf_update_norm_from_sums(sum, scaled);
    if (param_sumsq != NULL)
        *param_sumsq = params;
}
