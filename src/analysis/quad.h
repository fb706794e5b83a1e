/* src/analysis/quad.h: Gaussian expectations by adaptive quadrature (quad.c), shared by
 * the mean-field theory's 1-D (theory.c) and 2-D (depth.c) expectations. Not installed. */
#ifndef GRADFLOW_ANALYSIS_QUAD_H
#define GRADFLOW_ANALYSIS_QUAD_H

#include <stddef.h>

typedef double (*gf_zfun)(double z, const void *ctx);

/* E[h(z)], z ~ N(0, 1), over |z| <= 12 (the density there is 5e-32 of its peak), on
 * panels whose ends are fixed points of z and the n extra points given (a kink or a
 * bend of h falls on a panel end), each bisected at most `levels` levels deep until its
 * error estimate is below rel times the larger of scale and E[|h|] (shared out over the
 * panels). The scale matters when h cancels: a tolerance relative to the result alone
 * would then chase rounding and subdivide without end. */
double gf_quad_gauss(gf_zfun h, const void *ctx, const double *extra, size_t n, double rel,
                     double scale, int levels);

/* E[g(s z)^2] the same way: the mean square of phi or phi' at variance s^2. */
double gf_quad_mean_sq(double (*g)(double x, double param), double param, double s,
                       const double *extra, size_t n, double rel, int levels);

#endif
