/* example_wrong_tanh.c: a classic mistake, for the teacher's demonstration: tanh with
 * f'(x) = 1 - x^2 (the formula 1 - y^2 applied to the input instead of the output).
 * The checker must fail it on the derivative check; CTest asserts that it does. */
#include <math.h>

#include "student.h"

static double f(double x, double param)
{
    (void)param;
    return tanh(x);
}

static double df(double x, double param) /* WRONG: should be 1 - tanh(x)^2 */
{
    (void)param;
    return 1 - x * x;
}

static double deriv_bound(double param)
{
    (void)param;
    return 1;
}

static double gain(double param)
{
    (void)param;
    return 5.0 / 3.0;
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
    .name = "wrong_tanh",
    .formula = "f(x) = tanh(x); f'(x) = 1 - x^2 (wrong)",
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
