/* student_activation.c: YOUR activation, for the coursework checker. Fill in every
 * TODO, then run
 *     docs/coursework/checker/check.sh student_activation.c
 * The checker tests f' against central differences of f, the array versions against
 * the scalar ones, your bound on |f'|, a gradient check of a small network using your
 * activation, and the gradient-norm profile of a 10-layer network initialised the way
 * you say suits it. As handed out, this file fails every check: f is 0. */
#include <math.h>

#include "student.h"

/* TODO: f(x). param is your activation's parameter (ignore it if you have none). */
static double f(double x, double param)
{
    (void)param;
    (void)x;
    return 0;
}

/* TODO: f'(x), the exact derivative of f (not an approximation). */
static double df(double x, double param)
{
    (void)param;
    (void)x;
    return 0;
}

/* TODO: sup over all x of |f'(x)| (sigmoid: 1/4, tanh: 1). Must be > 0 and reached. */
static double deriv_bound(double param)
{
    (void)param;
    return 0;
}

/* TODO: the gain that goes with suited_init below (relu with "he": sqrt(2); tanh with
 * "xavier": 5/3). The checker initialises a 10-layer network with it. */
static double gain(double param)
{
    (void)param;
    return 0;
}

/* The array versions the layers call. These loops are enough; a faster or more
 * accurate version (f' from y = f(x), as sigmoid's y (1 - y)) is a bonus. */
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
    .name = "student",           /* TODO: your activation's name */
    .formula = "f(x) = TODO; f'(x) = TODO",
    .param_name = NULL,          /* or "alpha", "slope", ... if f has a parameter */
    .default_param = 0,          /* its value in the checker */
    .f = f,
    .df = df,
    .forward = forward,
    .deriv = deriv,
    .deriv_bound = deriv_bound,
    .saturating = 0,             /* TODO: 1 if f' -> 0 as |x| grows on some side */
    .suited_init = "lecun",      /* TODO: "he", "xavier" or "lecun" (see init.h) */
    .gain = gain,
    .surrogate = 0,              /* must stay 0: df is the true derivative */
};

const gf_activation *student_activation(void) { return &row; }
