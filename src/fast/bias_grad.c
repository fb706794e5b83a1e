/* src/fast/bias_grad.c: the linear layer's bias gradient (bias_grad.h). The plain loop
 * sums one column at a time, striding through dy; this one keeps 16 column sums in
 * vector registers and reads dy row by row, as it lies in memory. Each column is still
 * summed row after row in double, so the result is the reference's bit for bit
 * (test_layer checks), and on threads a wide dy's columns are shared out (test_threads). */
#include "fast/bias_grad.h"
#include "fast/pool.h"
#include "fast/simd.h"

/* Columns [0, cols) of dy, whose rows are ld apart. */
GF_SIMD_BODY void bias_grad_columns_loop(gf_real *db, const gf_real *dy, size_t batch,
                                         size_t cols, size_t ld, int add)
{
    enum { COLS = 16 };
    size_t j0 = 0;
    for (; j0 + COLS <= cols; j0 += COLS) {
        double sum[COLS] = {0};
        for (size_t r = 0; r < batch; r++)
            for (size_t c = 0; c < COLS; c++)
                sum[c] += dy[r * ld + j0 + c];
        for (size_t c = 0; c < COLS; c++)
            db[j0 + c] = (add ? db[j0 + c] : 0) + (gf_real)sum[c];
    }
    for (; j0 < cols; j0++) {
        double sum = 0;
        for (size_t r = 0; r < batch; r++)
            sum += dy[r * ld + j0];
        db[j0] = (add ? db[j0] : 0) + (gf_real)sum;
    }
}
GF_SIMD_VOID(static, bias_grad_columns,
             (gf_real *db, const gf_real *dy, size_t batch, size_t cols, size_t ld, int add),
             (db, dy, batch, cols, ld, add))

/* ---- On threads --------------------------------------------------------------------------
 * Each column's sum is its own, so the columns can be shared among threads: a part takes
 * a range of columns starting at a multiple of 16 (the loop's groups stay whole; every
 * column is summed by the same code at any split) and walks the rows of dy for it alone.
 * BIAS_MIN_PART values of dy per part at least, as for the activations' forward pass
 * (docs/performance.md, "Threads"). */
#define BIAS_MIN_PART (512.0 * 1024)

typedef struct bias_job {
    gf_real *db;
    const gf_real *dy;
    size_t batch, out;
    int add;
} bias_job;

static void bias_part(void *arg, size_t part, size_t parts)
{
    const bias_job *j = arg;
    size_t groups = (j->out + 15) / 16;
    size_t lo = groups * part / parts * 16, hi = groups * (part + 1) / parts * 16;
    if (hi > j->out)
        hi = j->out;
    if (lo < hi)
        bias_grad_columns(j->db + lo, j->dy + lo, j->batch, hi - lo, j->out, j->add);
}

void gf_bias_grad_fast(gf_real *db, const gf_real *dy, size_t batch, size_t out, int add)
{
    bias_job job = {db, dy, batch, out, add};
    size_t parts = gf_pool_parts((double)batch * (double)out, BIAS_MIN_PART);
    size_t groups = (out + 15) / 16;
    gf_pool_run(bias_part, &job, parts < groups ? parts : groups);
}
