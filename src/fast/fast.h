/* src/fast/fast.h: the fast-path area. Everything written only for speed lives in
 * src/fast/: the GEMM's packed micro-kernels, the telemetry's vectorised reductions,
 * fused loops that gather statistics while they compute. Each fast routine has its plain
 * reference beside it (in the same file, or in the module a student reads), and a test
 * that checks they agree: bit for bit where both add in the same order, within a stated
 * tolerance where they do not.
 *
 * GF_FAST is 1 in the default build and 0 in the reference build (-DGRADFLOW_REFERENCE=ON,
 * see gradflow/config.h), which runs the whole library on the reference routines. A
 * caller picks between the two in one place, e.g. `GF_FAST ? fast_x(...) : plain_x(...)`,
 * so that the plain version stays the one a reader sees first. */
#ifndef GRADFLOW_FAST_H
#define GRADFLOW_FAST_H

#include "gradflow/config.h"

#define GF_FAST (!GF_REFERENCE)

#endif
