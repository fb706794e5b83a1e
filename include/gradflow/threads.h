/* gradflow/threads.h: how many threads the library's large loops use (src/fast/pool.c).
 * The GEMM and the long element-wise and reduction passes split their work over a small
 * pool of worker threads when the work is large enough to pay for it; everything else
 * runs on the calling thread. Results are bit for bit the same for every thread count:
 * work is split over output rows and tiles, never along a sum, and reductions add
 * fixed-size chunks in a fixed order (docs/performance.md, "Threads").
 *
 * The count is process-wide, like the log callback: by default every core the process
 * may run on (its CPU affinity), or the environment variable GRADFLOW_THREADS when set
 * (a whole number 0..GF_THREADS_MAX, 0 meaning every core; another value is ignored);
 * a call to gf_set_threads overrides both. The reference build (-DGRADFLOW_REFERENCE=ON)
 * always runs on one thread and starts no workers.
 *
 * Thread safety: the library may be called from several threads on separate objects.
 * One call at a time uses the pool; a call that finds it busy (another thread's GEMM,
 * or a loop inside a worker) runs on its own thread, with the same results. */
#ifndef GRADFLOW_THREADS_H
#define GRADFLOW_THREADS_H

#include <stddef.h>

#include "gradflow/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The most threads the pool runs (calling thread included). */
#define GF_THREADS_MAX 256

/* Use n threads from now on, the calling thread included: 1 runs everything on the
 * calling thread, 0 means every core the process may run on (the default). Stops the workers of the
 * previous setting (they are started again when first needed). GF_EINVAL when
 * n > GF_THREADS_MAX; GF_OK otherwise. Not while another thread is inside the library. */
gf_status gf_set_threads(size_t n);

/* The number of threads the large loops split over (>= 1): gf_set_threads's count,
 * else GRADFLOW_THREADS, else the cores the process may run on (its CPU affinity, so
 * taskset and container cpusets count); 1 in the reference build. Starts no thread. */
size_t gf_threads(void);

/* Read a thread count as GRADFLOW_THREADS and --threads take it: a whole number
 * 0..GF_THREADS_MAX (0: every core) into *n. GF_EINVAL (with a detail message) otherwise. */
gf_status gf_threads_parse(size_t *n, const char *text);

#ifdef __cplusplus
}
#endif

#endif
