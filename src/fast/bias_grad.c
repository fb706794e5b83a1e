/* src/fast/bias_grad.c: the linear layer's bias gradient (bias_grad.h). The plain loop
 * sums one column at a time, striding through dy; this one keeps 16 column sums in
 * vector registers and reads dy row by row, as it lies in memory. Each column is still
 * summed row after row in double, so the result is the reference's bit for bit
 * (test_layer checks). */
#include "fast/bias_grad.h"
#include "fast/simd.h"

GF_SIMD_BODY void gf_bias_grad_fast_loop(gf_real *db, const gf_real *dy, size_t batch,
                                         size_t out, int add)
{
    enum { COLS = 16 };
    size_t j0 = 0;
    for (; j0 + COLS <= out; j0 += COLS) {
        double sum[COLS] = {0};
        for (size_t r = 0; r < batch; r++)
            for (size_t c = 0; c < COLS; c++)
                sum[c] += dy[r * out + j0 + c];
        for (size_t c = 0; c < COLS; c++)
            db[j0 + c] = (add ? db[j0 + c] : 0) + (gf_real)sum[c];
    }
    for (; j0 < out; j0++) {
        double sum = 0;
        for (size_t r = 0; r < batch; r++)
            sum += dy[r * out + j0];
        db[j0] = (add ? db[j0] : 0) + (gf_real)sum;
    }
}
GF_SIMD_VOID(extern, gf_bias_grad_fast,
             (gf_real *db, const gf_real *dy, size_t batch, size_t out, int add),
             (db, dy, batch, out, add))
