/* example_sigmoid.c: a correct activation that still fails the coursework: sigmoid with
 * Xavier initialisation. Its derivative, bound and gradient check are right, but
 * sigma' <= 1/4 shrinks the backward signal at every layer, so the 10-layer profile
 * vanishes. CTest asserts that the checker fails it on the profile check only. */
#include <math.h>

#include "student.h"

static double f(double x, double param)
{
    (void)param;
    return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x));
}

static double df(double x, double param)
{
    double s = f(x, param);
    return s * (1 - s);
}

static double deriv_bound(double param)
{
    (void)param;
    return 0.25;
}

static double gain(double param)
{
    (void)param;
    return 1;
}

static void forward(gf_real *y, const gf_real *x, size_t n, gf_real param)
{
    for (size_t i = 0; i < n; i++)
        y[i] = (gf_real)f((double)x[i], (double)param);
}

/* f' from the output: y (1 - y). */
static void deriv(gf_real *d, const gf_real *x, const gf_real *y, size_t n, gf_real param)
{
    (void)x;
    (void)param;
    for (size_t i = 0; i < n; i++)
        d[i] = y[i] * (1 - y[i]);
}

static const gf_activation row = {
    .name = "sigmoid_again",
    .formula = "f(x) = 1/(1+exp(-x)); f'(x) = f(x)(1-f(x)) <= 1/4",
    .param_name = NULL,
    .default_param = 0,
    .f = f,
    .df = df,
    .forward = forward,
    .deriv = deriv,
    .deriv_bound = deriv_bound,
    .saturating = 1,
    .suited_init = "xavier",
    .gain = gain,
    .surrogate = 0,
};

const gf_activation *student_activation(void) { return &row; }
