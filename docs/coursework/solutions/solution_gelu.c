/* solution_gelu.c: a second solution for exercise 13, GELU (Hendrycks and Gimpel 2016),
 * f(x) = x Phi(x), Phi the standard normal distribution function. It uses M_PI, which
 * C11's <math.h> does not promise: the checker compiles students' files so that it is
 * there (check.sh, CMake: -D_DEFAULT_SOURCE), and CTest runs the checker on this file. */
#include <math.h>

#include "student.h"

/* Phi(x) = erfc(-x / sqrt 2) / 2: erfc keeps the far left tail accurate (1 - erf would
 * cancel to 0 there). */
static double Phi(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }

/* The standard normal density. */
static double phi(double x) { return exp(-0.5 * x * x) / sqrt(2 * M_PI); }

static double f(double x, double param)
{
    (void)param;
    return x * Phi(x);
}

/* f'(x) = Phi(x) + x phi(x) (phi' = -x phi). */
static double df(double x, double param)
{
    (void)param;
    return Phi(x) + x * phi(x);
}

/* f''(x) = phi(x) (2 - x^2) = 0 at x = +-sqrt 2: the largest f' is
 * Phi(sqrt 2) + sqrt 2 phi(sqrt 2) = 1.1289041, the smallest -0.1289041. */
static double deriv_bound(double param)
{
    (void)param;
    return 1.128905;
}

/* LeCun with gain^2 E[f(z)^2] = 1 for z ~ N(0, 1): E[f(z)^2] = 0.425221, gain = 1.53353.
 * The backward signal then changes by gain^2 E[f'(z)^2] = 1.072 per layer (squared
 * norm), 1.035 in norm; the checker measures a little more, as for SiLU (its first
 * layer sees N(0, 1) data: Var(z) starts at gain^2 = 2.35). */
static double gain(double param)
{
    (void)param;
    return 1.53353;
}

static void forward(gf_real *y, const gf_real *x, size_t n, gf_real param)
{
    for (size_t i = 0; i < n; i++)
        y[i] = (gf_real)f((double)x[i], (double)param);
}

static void deriv(gf_real *d, const gf_real *x, const gf_real *y, size_t n, gf_real param)
{
    (void)y;
    for (size_t i = 0; i < n; i++)
        d[i] = (gf_real)df((double)x[i], (double)param);
}

static const gf_activation row = {
    .name = "gelu",
    .formula = "f(x) = x Phi(x); f'(x) = Phi(x) + x phi(x) <= 1.1289",
    .param_name = NULL,
    .default_param = 0,
    .f = f,
    .df = df,
    .forward = forward,
    .deriv = deriv,
    .deriv_bound = deriv_bound,
    .saturating = 1, /* f' -> 0 as x -> -inf */
    .suited_init = "lecun",
    .gain = gain,
    .surrogate = 0,
};

const gf_activation *student_activation(void) { return &row; }
