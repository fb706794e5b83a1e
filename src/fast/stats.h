/* src/fast/stats.h: the reductions the telemetry runs on every recorded step (sums, sums of
 * squares, zero and small-value counts), written once with GNU vector types so that
 * they run at the speed of the loads. Each sum runs in fixed lanes added in a fixed
 * order, the same on every CPU: a build gives the same figures bit for bit on any
 * machine. */
#ifndef GRADFLOW_STATS_H
#define GRADFLOW_STATS_H

#include <stddef.h>

#include "gradflow/common.h"

/* sum x^2 over x[0..n), in double (or float partial sums checked, see stats.c). */
double gf_stats_sumsq(const gf_real *x, size_t n);

/* sum x, sum x^2 (in double) and the number of x == 0 over x[0..n). */
void gf_stats_moments(const gf_real *x, size_t n, double *sum, double *sumsq, size_t *zeros);

/* sum |x| (in double), the number of |x| < below (below in gf_real: compare with the
 * smallest gf_real >= the threshold; 0 counts nothing) and of x == 0 over x[0..n). */
void gf_stats_abs(const gf_real *x, size_t n, gf_real below, double *abs_sum, size_t *small,
                  size_t *zeros);

#endif
