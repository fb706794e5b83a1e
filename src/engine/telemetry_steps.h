/* src/engine/telemetry_steps.h: what analysis/ (report, plot) reads of the telemetry
 * store (engine/telemetry.c) beyond gradflow/telemetry.h, and the CSV number format
 * every CSV file of gradflow shares. Not installed. */
#ifndef GRADFLOW_ENGINE_TELEMETRY_STEPS_H
#define GRADFLOW_ENGINE_TELEMETRY_STEPS_H

#include <stdio.h>

#include "gradflow/telemetry.h"

/* [*begin, *end): the records of the step that record i belongs to (i < count). */
void gf_telemetry_step_group(const gf_telemetry *t, size_t i, size_t *begin, size_t *end);

/* ",v" with 9 significant digits; NaN ("does not apply") as an empty field, which
 * gnuplot and spreadsheets skip; infinities as inf and -inf. */
void gf_csv_put_real(FILE *f, double v);

#endif
