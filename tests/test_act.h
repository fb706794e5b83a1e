/* tests/test_act.h: what the two sources of the activation test program share
 * (test_act.c: the table row by row, accuracy against long double; test_act_layer.c:
 * the activation layer, reference and fused). */
#ifndef GRADFLOW_TEST_ACT_H
#define GRADFLOW_TEST_ACT_H

#include "testutil.h"

#include "gradflow/act.h"
#include "gradflow/layer.h"
#include "gradflow/net.h"
#include "gradflow/telemetry.h"

#include "../src/fast/act_loops.h"
#include "../src/fast/activation_fused.h"

#if GF_REAL_IS_DOUBLE
#define REAL_EPS DBL_EPSILON
#else
#define REAL_EPS FLT_EPSILON
#endif

/* Tolerances, in units of eps |true value| (at most an ulp), where the true value is a
 * normal number of the type; below that, an absolute error up to its smallest normal
 * (a tail may flush to 0 only where the true value is subnormal). Measured worst cases
 * (printed by the sweep): reference scalars in double 1.4 for f (sigmoid, libm's exp)
 * and 2.6 for f' (tanh' = (e (1 + |y|))^2 squares two libm results); fast arrays in
 * float 2.3 for f (the rational tanh, within 3.4 eps of tanh in double by design) and
 * 3.3 for f' (tanh', from the rational and the polynomial exp). The double build's
 * arrays are the reference expressions, so they get the reference tolerances. The fast
 * arrays against the reference rounded to gf_real add half an ulp of that rounding. */
#define REF_F_TOL 2.0
#define REF_DF_TOL 4.0
#if GF_REAL_IS_DOUBLE
#define FAST_F_TOL REF_F_TOL
#define FAST_DF_TOL REF_DF_TOL
#define REAL_MIN DBL_MIN
#else
#define FAST_F_TOL 4.0
#define FAST_DF_TOL 6.0
#define REAL_MIN FLT_MIN
#endif

/* ---- test_act.c ---- */
/* tanh'(x) in long double: the exact value the fast and reference layers are held to. */
long double ex_tanh_df(long double x, long double a);

/* Parameters tried for rows that have one: the default, a larger and a negative value
 * (ELU with negative alpha and leaky with negative slope are unusual but legal). */
size_t params_of(const gf_activation *a, double *p);

const gf_activation *row(const char *name);

/* |got - want| in units of eps |want|; 0 where both are below tiny, the smallest normal. */
double err_eps(long double got, long double want, double eps, double tiny);

/* ---- test_act_layer.c ---- */
/* Both variants of the layer on random batches, for every row, shapes shorter and longer
 * than the fused layer's chunk: y and dx within the array tolerances (bit for bit in the
 * double build, where the arrays are the reference expressions); dead_frac equal;
 * sat_frac equal up to entries within 16 ulps of the threshold; deriv_abs_mean within
 * the error of the fused sum (float partial sums, 1e-6, see fast/stats.c; 1e-12 in
 * double: a different order of additions). */
void reference_and_fused_layers_agree(void **state);

/* Issue 15: tanh units at 7.95 <= |x| <= 9 are saturated (f' ~ 1e-7 .. 5e-7), not dead.
 * The float tanh used to be clamped to exactly +-1 there, so 1 - y^2 = 0 and 62.5 % of
 * the units of this batch were counted dead. Both variants, both builds: no dead unit,
 * every value saturated, and mean |f'| that of the true derivative. */
void saturated_tanh_is_not_dead(void **state);

/* A row without array loops (a user's activation, or a new row before its fast loop):
 * the layers fall back to its scalar f and df, and a network runs it (it used to crash
 * gf_net_forward on the NULL forward). It gives the tanh row's figures, within the
 * array tolerances. */
void row_without_arrays_works(void **state);

#endif
