/* src/analysis/theory_checks.h: the argument checks of the mean-field theory's entry
 * points (theory.c), shared with the correlation map and depth scales (depth.c). */
#ifndef GRADFLOW_ANALYSIS_THEORY_CHECKS_H
#define GRADFLOW_ANALYSIS_THEORY_CHECKS_H

#include "gradflow/act.h"

/* act has scalar f and df, param is finite, sigma_w2 > 0 and sigma_b2 >= 0 finite:
 * GF_EINVAL naming who otherwise. */
gf_status gf_theory_check_model(const char *who, const gf_activation *act, double param,
                                double sigma_w2, double sigma_b2);

#endif
