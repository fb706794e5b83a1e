/* gradflow/act.h: the table of element-wise activations. Each row carries the function,
 * its derivative, the bound on the derivative and the initialisation that suits it, so
 * a derivative always travels with its function. Adding an activation is adding a row;
 * the table-driven tests then check it by finite differences with no new test code. */
#ifndef GRADFLOW_ACT_H
#define GRADFLOW_ACT_H

#include "gradflow/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gf_activation {
    const char *name;       /* "sigmoid": the name users type */
    const char *formula;    /* "f(x) = 1/(1+exp(-x)); f'(x) = f(x)(1-f(x)) <= 1/4" */
    const char *param_name; /* "slope", "alpha", or NULL when f has no parameter */
    double default_param;   /* the parameter's usual value (leaky slope 0.01) */

    /* Scalar f(x) and the derivative the backward pass uses, in double: for tests,
     * the mean-field theory and plots. */
    double (*f)(double x, double param);
    double (*df)(double x, double param);

    /* Optional array versions on gf_real, the fast path of the activation layer
     * (vectorised loops, src/fast/act_loops.c); NULL: the layer evaluates f and df
     * element by element. forward: y[i] = f(x[i]), y may alias x. deriv: d[i] = f'(x[i]),
     * from x and/or y (y = f(x) must be given), within a few ulps of df. */
    void (*forward)(gf_real *y, const gf_real *x, size_t n, gf_real param);
    void (*deriv)(gf_real *d, const gf_real *x, const gf_real *y, size_t n, gf_real param);

    /* sup over x of |f'(x)| for a given parameter: sigmoid 1/4, tanh 1, leaky max(1, a). */
    double (*deriv_bound)(double param);

    /* 1 when f' -> 0 as |x| grows on some side (sigmoid, tanh, softsign, softplus, ELU):
     * the telemetry then counts saturated units. */
    int saturating;

    /* The initialisation that suits f (an init scheme name, see init.h) and its gain:
     * sigmoid "xavier" 1, tanh "xavier" 5/3, relu "he" sqrt(2). */
    const char *suited_init;
    double (*gain)(double param);

    /* 1 when df is a chosen backward signal rather than the derivative of f
     * (relu_leaky_backward): finite differences of f then do not check df, and a
     * network using it fails a gradient check by design. 0 for true derivatives. */
    int surrogate;
} gf_activation;

/* The number of rows and row i (0 <= i < count), NULL when out of range. */
size_t gf_activation_count(void);
const gf_activation *gf_activation_at(size_t i);

/* Look a row up by name ("relu", "leaky_relu", ...). Unknown: GF_ENOTFOUND, with the
 * list of known names in the detail message. */
gf_status gf_activation_find(const gf_activation **out, const char *name);

#ifdef __cplusplus
}
#endif
#endif
