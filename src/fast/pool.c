/* src/fast/pool.c: a small persistent pool of POSIX threads (see pool.h and
 * gradflow/threads.h). Workers are started on the first job that wants them and then
 * sleep on a condition variable between jobs, so a job costs a wake-up, not a thread
 * creation. A job is a function and a number of parts; the calling thread and the
 * workers claim parts one at a time until none is left. Before sleeping, a worker
 * watches for the next job for a short while (WATCH_NS, a tenth of a millisecond), and
 * the calling thread watches for its job's last part: waking a sleeping thread costs
 * tens of microseconds on a virtual machine, as much as a GEMM of the M shape takes on
 * two cores, while training posts its jobs back to back. The watch is bounded, so a
 * machine shared with other programs loses little to it.
 * The workers are stopped and joined by gf_set_threads and at exit (a destructor with
 * GCC and Clang), so that nothing is left running or allocated. */
#define _GNU_SOURCE /* sched_getaffinity and CPU_COUNT; sysconf, pthread_sigmask */

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#if !defined(__STDC_NO_ATOMICS__)
#include <stdatomic.h>
#define POOL_ATOMIC(type) _Atomic(type)
#define load_relaxed(x) atomic_load_explicit(&(x), memory_order_relaxed)
#else
#define POOL_ATOMIC(type) volatile type /* no watching: see the watches */
#endif
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

#include "core/internal.h"
#include "fast/fast.h"
#include "fast/pool.h"
#include "gradflow/threads.h"

/* The pool's state: one per process, like the log callback. `lock` guards every field
 * but `busy`; `busy` is held by the one thread whose job the workers run. */
static struct {
    pthread_mutex_t lock, busy;
    pthread_cond_t start, done;    /* a job is posted; the job's last part finished */
    pthread_t worker[GF_THREADS_MAX];
    unsigned long born[GF_THREADS_MAX]; /* the generation when each worker was started */
    size_t started;                /* workers running: worker[0 .. started) */
    size_t threads;                /* the count in force; 0: not decided yet */
    POOL_ATOMIC(unsigned long) generation; /* incremented with every job posted (and read
                                    * outside the lock while a thread watches for it) */
    gf_pool_task *task;            /* the job: task(arg, p, parts) */
    void *arg;
    size_t parts;                  /* parts of the job */
    size_t next;                   /* the next part not yet claimed */
    POOL_ATOMIC(size_t) finished;  /* parts finished (likewise) */
    size_t sleeping;               /* workers waiting on `start` */
    int stop;                      /* the workers are to exit */
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .busy = PTHREAD_MUTEX_INITIALIZER,
          .start = PTHREAD_COND_INITIALIZER, .done = PTHREAD_COND_INITIALIZER};

/* ---- The count ------------------------------------------------------------------------- */

gf_status gf_threads_parse(size_t *n, const char *text)
{
    char *end;
    unsigned long v;
    GF_CHECK_NOT_NULL(n, "gf_threads_parse");
    GF_CHECK_NOT_NULL(text, "gf_threads_parse");
    if (*text < '0' || *text > '9')
        return gf_fail(GF_EINVAL, "threads: '%s' is not a whole number", text);
    v = strtoul(text, &end, 10);
    if (*end != '\0' || v > GF_THREADS_MAX)
        return gf_fail(GF_EINVAL, "threads: '%s' is not a whole number from 0 to %d", text,
                       GF_THREADS_MAX);
    *n = (size_t)v;
    return GF_OK;
}

/* The cores this process may run on: its CPU affinity (taskset, a container's cpuset),
 * else every online core. Threads beyond them would only take turns on one core. */
static size_t usable_cores(void)
{
#ifdef CPU_COUNT
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return (size_t)CPU_COUNT(&set);
#endif
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores > 0 ? (size_t)cores : 1;
}

/* n, or every usable core for 0, within 1 .. GF_THREADS_MAX. */
static size_t resolve(size_t n)
{
    if (n == 0)
        n = usable_cores();
    return n > GF_THREADS_MAX ? GF_THREADS_MAX : n;
}

/* The count when no call has set one: GRADFLOW_THREADS if valid, else every core (an
 * invalid value is ignored here: the library does not print; the gradflow program
 * rejects it with a message). */
static size_t default_count(void)
{
    const char *env = getenv("GRADFLOW_THREADS");
    size_t n = 0;
    if (env != NULL && gf_threads_parse(&n, env) != GF_OK) {
        gf_clear_error();
        n = 0;
    }
    return resolve(n);
}

/* gf_threads with lock held. */
static size_t gf_threads_locked(void)
{
    if (!GF_FAST)
        return 1; /* the reference build is the single-thread reference */
    if (pool.threads == 0)
        pool.threads = default_count();
    return pool.threads;
}

size_t gf_threads(void)
{
    size_t n;
    pthread_mutex_lock(&pool.lock);
    n = gf_threads_locked();
    pthread_mutex_unlock(&pool.lock);
    return n;
}

/* ---- Workers --------------------------------------------------------------------------- */

/* The watches: read a field without the lock until it shows what the caller waits for,
 * or WATCH_NS have passed on the monotonic clock (a pause a round, the clock read every
 * ROUNDS_PER_LOOK rounds). The caller then takes the lock and checks again, sleeping on a
 * condition variable if nothing came: a watch is only a shortcut, every decision is
 * still taken under the lock. Timed, not counted: a pause lasts 13 ns on the Xeon of
 * docs/performance.md, so the 2048 pauses this watch once counted lasted 27 us, not the
 * tenth of a millisecond intended, and a recorded step at M on two threads, whose records
 * run between the GEMM jobs, let the worker fall asleep before nearly every job (1.2 ms
 * a step more than unrecorded, against 0.67 ms with a watch of 0.1 ms). */
enum { WATCH_NS = 100000, ROUNDS_PER_LOOK = 64 };

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Whether a watch that began at `start` is over, looking at the clock every
 * ROUNDS_PER_LOOK rounds only. */
static int watch_over(uint64_t start, unsigned round)
{
    return round % ROUNDS_PER_LOOK == 0 && now_ns() - start >= WATCH_NS;
}

static void watch_for_job(unsigned long seen) /* a generation other than seen */
{
#if !defined(__STDC_NO_ATOMICS__)
    uint64_t start = now_ns();
    for (unsigned i = 1; load_relaxed(pool.generation) == seen && !watch_over(start, i); i++)
        cpu_relax();
#else
    (void)seen;
#endif
}

static void watch_for_end(size_t parts) /* all parts finished */
{
#if !defined(__STDC_NO_ATOMICS__)
    uint64_t start = now_ns();
    for (unsigned i = 1; load_relaxed(pool.finished) < parts && !watch_over(start, i); i++)
        cpu_relax();
#else
    (void)parts;
#endif
}

/* Run the parts of the current job that no thread has claimed yet, one at a time
 * (called with lock held; returns with it held). Parts are claimed rather than dealt
 * out, so that a thread the system has descheduled (a machine shared with other
 * programs) leaves its parts to the others instead of holding up the job. */
static void claim_parts(void)
{
    while (pool.next < pool.parts) {
        size_t part = pool.next++, parts = pool.parts;
        gf_pool_task *task = pool.task;
        void *arg = pool.arg;
        pthread_mutex_unlock(&pool.lock);
        task(arg, part, parts);
        pthread_mutex_lock(&pool.lock);
        if (++pool.finished == parts)
            pthread_cond_signal(&pool.done);
    }
}

/* Worker w (1 .. started): wakes for every job and claims parts of it. */
static void *worker_main(void *arg)
{
    size_t w = (size_t)(uintptr_t)arg;
    unsigned long seen;
    pthread_mutex_lock(&pool.lock);
    seen = pool.born[w - 1]; /* not pool.generation: the job it was started for may be
                              * posted before this thread first takes the lock */
    for (;;) {
        if (!pool.stop && pool.generation == seen) { /* watch for the next job, then sleep */
            pthread_mutex_unlock(&pool.lock);
            watch_for_job(seen);
            pthread_mutex_lock(&pool.lock);
        }
        while (!pool.stop && pool.generation == seen) {
            pool.sleeping++;
            pthread_cond_wait(&pool.start, &pool.lock);
            pool.sleeping--;
        }
        if (pool.stop)
            break;
        seen = pool.generation;
        claim_parts();
    }
    pthread_mutex_unlock(&pool.lock);
    return NULL;
}

/* A child process of fork has none of its parent's workers: it starts its own. */
static void before_fork(void) { pthread_mutex_lock(&pool.lock); }
static void after_fork_parent(void) { pthread_mutex_unlock(&pool.lock); }
static void after_fork_child(void)
{
    pool.started = 0;
    pool.sleeping = 0;
    pthread_mutex_unlock(&pool.lock);
}

static void watch_forks(void)
{
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

/* Start workers until `want` run (called with lock held). A worker that cannot be
 * started is done without: its parts run on the calling thread. Workers block every
 * signal, so that Ctrl-C and the like reach the program's own thread. */
static void start_workers(size_t want)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    sigset_t all, old;
    if (pool.started >= want)
        return;
    pthread_once(&once, watch_forks);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    while (pool.started < want) {
        size_t w = pool.started + 1;
        pool.born[pool.started] = pool.generation;
        if (pthread_create(&pool.worker[pool.started], NULL, worker_main, (void *)(uintptr_t)w))
            break;
        pool.started++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Stop and join every worker (called with busy held and lock not held). */
static void stop_workers(void)
{
    size_t n;
    pthread_mutex_lock(&pool.lock);
    pool.stop = 1;
    pthread_cond_broadcast(&pool.start);
    n = pool.started;
    pthread_mutex_unlock(&pool.lock);
    for (size_t i = 0; i < n; i++)
        pthread_join(pool.worker[i], NULL);
    pthread_mutex_lock(&pool.lock);
    pool.started = 0;
    pool.stop = 0;
    pthread_mutex_unlock(&pool.lock);
}

gf_status gf_set_threads(size_t n)
{
    if (n > GF_THREADS_MAX)
        return gf_fail(GF_EINVAL, "gf_set_threads: %zu threads, at most %d", n,
                       GF_THREADS_MAX);
    pthread_mutex_lock(&pool.busy);
    stop_workers();
    pthread_mutex_lock(&pool.lock);
    pool.threads = resolve(n);
    pthread_mutex_unlock(&pool.lock);
    pthread_mutex_unlock(&pool.busy);
    return GF_OK;
}

#if defined(__GNUC__)
/* At exit (or when a shared library is unloaded): join the workers, so that no thread
 * outlives the library's code and leak checkers see nothing left. Skipped when a job is
 * running (exit called from another thread mid-job): the process is ending anyway. */
__attribute__((destructor)) static void pool_shutdown(void)
{
    if (pthread_mutex_trylock(&pool.busy) != 0)
        return;
    stop_workers();
    pthread_mutex_unlock(&pool.busy);
}
#endif

/* ---- Jobs ------------------------------------------------------------------------------ */

static double threshold_scale = 1; /* gf_pool_scale_thresholds: tests only */

void gf_pool_scale_thresholds(double scale)
{
    threshold_scale = scale > 0 ? scale : 1;
}

/* The rule. A small job with the workers awake goes in one part per thread, claimed in
 * order (part 0 by the calling thread): each thread then meets the rows it wrote in the
 * job before, the GEMM's band of rows of C (gemm.c) or an element-wise pass's share,
 * rather than rows sitting in the other core's cache. On the 2-core machine of
 * docs/performance.md, reading rows the other core had just written ran at a sixth of
 * the speed of reading its own (the bias added after the M shape's forward GEMM: 0.52
 * ms a step against 0.08 on one thread). With the GEMM's bands of rows, sharing the
 * passes of 32 Ki values this way took a training step at M on two threads from
 * 6.53-6.81 ms (not shared) to 5.96-5.98 ms, the telemetry from 8.7-9.4 % of a step to
 * 2.9-3.5 % (two alternating runs each). Waking sleeping workers costs tens of
 * microseconds, so a sleeping pool keeps the large thresholds. */
size_t gf_pool_parts_given(double work, double min_part, size_t threads, int awake)
{
    double most = (double)threads;
    if (threads <= 1)
        return 1;
    if (awake && work >= most * min_part / GF_POOL_AWAKE_SHARE)
        return threads;
    if (!(work >= 2 * min_part))
        return 1;
    most *= GF_POOL_PARTS_PER_THREAD;
    return work / min_part < most ? (size_t)(work / min_part) : (size_t)most;
}

size_t gf_pool_parts(double work, double min_part)
{
    size_t threads;
    int awake;
    min_part *= threshold_scale;
    if (!GF_FAST || !(work >= 2 * min_part / GF_POOL_AWAKE_SHARE))
        return 1; /* too small to share (and no lock taken for it) */
    pthread_mutex_lock(&pool.lock);
    threads = gf_threads_locked();
    awake = pool.started > 0 && pool.started + 1 >= threads && pool.sleeping == 0;
    pthread_mutex_unlock(&pool.lock);
    return gf_pool_parts_given(work, min_part, threads, awake);
}

void gf_pool_run(gf_pool_task *task, void *arg, size_t parts)
{
    if (parts > 1 && pthread_mutex_trylock(&pool.busy) == 0) {
        pthread_mutex_lock(&pool.lock);
        start_workers(gf_threads_locked() - 1);
        pool.task = task;
        pool.arg = arg;
        pool.parts = parts;
        pool.next = 0;
        pool.finished = 0;
        pool.generation++;
        if (pool.sleeping > 0) /* the others are watching `generation` */
            pthread_cond_broadcast(&pool.start);
        claim_parts(); /* the calling thread works too */
        if (pool.finished < parts) { /* watch for the last part, then sleep */
            pthread_mutex_unlock(&pool.lock);
            watch_for_end(parts);
            pthread_mutex_lock(&pool.lock);
        }
        while (pool.finished < parts)
            pthread_cond_wait(&pool.done, &pool.lock);
        pool.task = NULL;
        pthread_mutex_unlock(&pool.lock);
        pthread_mutex_unlock(&pool.busy);
        return;
    }
    for (size_t p = 0; p < parts; p++)
        task(arg, p, parts);
}
