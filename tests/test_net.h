/* tests/test_net.h: what the two sources of the network test program share (test_net.c:
 * helpers, building, gradients; test_net_training.c: training, telemetry, the fast
 * variants against their references). */
#ifndef GRADFLOW_TEST_NET_H
#define GRADFLOW_TEST_NET_H

#include "testutil.h"

#include "gradflow.h"

#include "../src/core/internal.h"   /* gf_optim_update and its reference */
#include "../src/engine/record.h"   /* the reference record pass */
#include "../src/fast/stats.h"      /* GF_STATS_CHUNK */

/* ---- test_net.c ---- */
gf_net *mlp(size_t in, size_t width, size_t depth, size_t out, const char *act,
            uint64_t seed);

gf_tensor *random_tensor(size_t rows, size_t cols, uint64_t seed);

/* Class-index targets 0..classes-1 as a (rows, 1) tensor. */
gf_tensor *class_targets(size_t rows, size_t classes);

/* ---- test_net_training.c ---- */
void training_reduces_the_loss(void **state);

void every_backward_pass_records_every_layer(void **state);

/* The step adds the optimiser's update in place, in the pass that measures it: the
 * parameters end bit for bit where gf_optim_compute's delta puts them, the optimiser
 * advances one step, and the update ratio is ||delta W|| / ||W||. */
void the_step_applies_the_optimisers_update(void **state);

/* A vanishing update still has its true size: in the double build the squares of
 * updates near 1e-170 underflow, and the ratio must not read as 0. */
void a_tiny_update_keeps_its_ratio(void **state);

/* gf_net_train_step's records must say what backward + clip + step say, for every
 * optimiser, and a step that never updates (refused or skipped gradients) must still
 * record ||W||. */
void train_step_records_what_separate_calls_record(void **state);

void clipping_is_recorded_before_and_after(void **state);

void nonfinite_values_are_located_and_stop_the_step(void **state);

/* gf_optim_update (fast/update.c when GF_FAST) against gf_optim_update_ref (measure, then
 * update): parameters and state bit for bit, since both run the same rule on each
 * element; ||delta|| within 1e-12 relative, since only the order of the double sums
 * differs (a few ulps per addition over at most a few hundred lanes' terms). Ranges
 * with a tail shorter than the 16 lanes and an offset into the block. */
void fast_update_agrees_with_its_reference(void **state);

/* The update that also takes sum p^2 on the way (gf_net_step's ||W||): the same as
 * without, and the sum gf_array_sumsq's, bit for bit. */
void update_takes_the_parameters_norm_on_the_way(void **state);

/* The records a backward pass leaves (taken layer by layer during it when GF_FAST) are
 * those of the reference record pass run afterwards on the same buffers, bit for bit. */
void records_agree_with_the_record_pass(void **state);

void steady_training_allocates_nothing(void **state);

void allocation_failures_leave_nothing_behind(void **state);

void telemetry_csv_has_the_documented_columns(void **state);

#endif
