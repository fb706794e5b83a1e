/* src/fast/pool.h: the worker pool behind gradflow/threads.h, for the fast loops that
 * split their work over threads (the GEMM, the long element-wise and reduction passes).
 * A loop cuts its work into parts whose results do not depend on how many parts there
 * are (output rows, fixed chunks), asks gf_pool_parts how many to run at once, and hands
 * them to gf_pool_run. Not installed. */
#ifndef GRADFLOW_FAST_POOL_H
#define GRADFLOW_FAST_POOL_H

#include <stddef.h>

/* One part of a loop: do part `part` of `parts` (0 <= part < parts) of the work at arg.
 * Parts run at the same time on different threads: each writes only its own outputs. */
typedef void gf_pool_task(void *arg, size_t part, size_t parts);

/* How many parts to cut `work` units into (>= 1). A job is worth waking sleeping
 * workers for only when each part has min_part units at least (the thresholds are in
 * the callers: docs/performance.md); then GF_POOL_PARTS_PER_THREAD parts per thread, so
 * that a thread held up by the system leaves its parts to the others. While the workers
 * are awake (watching for the next job, as between the jobs of a training step) a job
 * GF_POOL_AWAKE_SHARE times smaller is shared too, in one part per thread: see
 * gf_pool_parts_given. 1 with one thread, or in the reference build. The results of a
 * loop must not depend on it. */
enum { GF_POOL_PARTS_PER_THREAD = 4, GF_POOL_AWAKE_SHARE = 32 };
size_t gf_pool_parts(double work, double min_part);

/* gf_pool_parts's rule for a pool of `threads` threads whose workers are awake or not
 * (the live state is read under the pool's lock), apart for tests. */
size_t gf_pool_parts_given(double work, double min_part, size_t threads, int awake);

/* For tests: multiply every min_part given to gf_pool_parts by scale (1 restores), so
 * that small problems are split too. Call it while no other thread is in the library. */
void gf_pool_scale_thresholds(double scale);

/* Run task(arg, p, parts) for every p < parts and return when all have finished: the
 * calling thread runs part 0, then it and the pool's workers each take the next part
 * until none is left; all on the calling thread when the pool is busy (another thread is
 * using it, or this call comes from inside a part), no worker could be started, or parts
 * is over 65535. Cannot fail. */
void gf_pool_run(gf_pool_task *task, void *arg, size_t parts);

#endif
