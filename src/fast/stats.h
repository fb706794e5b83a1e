/* src/fast/stats.h: the reductions the telemetry runs on every recorded step (sums, sums of
 * squares, zero and small-value counts). Each comes three ways: _ref, one plain loop in
 * double, in order; _fast, written with GNU vector types so that it runs at the speed of
 * the loads (each sum in fixed lanes added in a fixed order, the same on every CPU: a
 * build gives the same figures bit for bit on any machine); and the plain name, which
 * the library calls: _fast, or _ref in the reference build (-DGRADFLOW_REFERENCE=ON);
 * for sumsq and moments, _fast over fixed chunks of a long array, on threads (stats.c).
 * The counts of _fast and _ref are equal; their sums agree to about 1e-6 relative for
 * float data (float partial sums, see stats.c) and to rounding for double data. */
#ifndef GRADFLOW_STATS_H
#define GRADFLOW_STATS_H

#include <stddef.h>

#include "gradflow/common.h"

/* gf_stats_sumsq and gf_stats_moments take an array longer than GF_STATS_CHUNK values in
 * chunks of that many, each by the _fast loop, the chunks' results added in order from
 * 0 (stats.c): a caller that sums chunk by chunk the same way gets the same bits
 * (fast/update.c does). */
enum { GF_STATS_CHUNK = 16384 };

/* sum x^2 over x[0..n), in double. */
double gf_stats_sumsq(const gf_real *x, size_t n);
double gf_stats_sumsq_ref(const gf_real *x, size_t n);
double gf_stats_sumsq_fast(const gf_real *x, size_t n);

/* sum x, sum x^2 (in double) and the number of x == 0 over x[0..n). */
void gf_stats_moments(const gf_real *x, size_t n, double *sum, double *sumsq, size_t *zeros);
void gf_stats_moments_ref(const gf_real *x, size_t n, double *sum, double *sumsq,
                          size_t *zeros);
void gf_stats_moments_fast(const gf_real *x, size_t n, double *sum, double *sumsq,
                           size_t *zeros);

/* sum |x| (in double), the number of |x| < below (below in gf_real: compare with the
 * smallest gf_real >= the threshold; 0 counts nothing) and of x == 0 over x[0..n). */
void gf_stats_abs(const gf_real *x, size_t n, gf_real below, double *abs_sum, size_t *small,
                  size_t *zeros);
void gf_stats_abs_ref(const gf_real *x, size_t n, gf_real below, double *abs_sum,
                      size_t *small, size_t *zeros);
void gf_stats_abs_fast(const gf_real *x, size_t n, gf_real below, double *abs_sum,
                       size_t *small, size_t *zeros);

#endif
