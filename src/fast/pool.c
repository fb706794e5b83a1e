/* src/fast/pool.c: a small persistent pool of POSIX threads (see pool.h and
 * gradflow/threads.h). Workers are started on the first job that wants them and then
 * sleep on a condition variable between jobs, so a job costs a wake-up, not a thread
 * creation. A job is a function and a number of parts; the calling thread runs part 0,
 * and it and the workers claim the others one at a time until none is left, with atomic
 * operations on one word (no lock is taken for a job unless a thread sleeps, see the
 * state below). Before sleeping, a worker
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

/* The parts of a job are claimed with atomic operations (C11 <stdatomic.h>); a compiler
 * without them gets a pool that runs every job on the calling thread. */
#if !defined(__STDC_NO_ATOMICS__)
#include <stdatomic.h>
#define POOL_THREADS 1
#else
#define POOL_THREADS 0
#define _Atomic(type) type /* never shared: no worker is started */
#define atomic_load(p) (*(p))
#define atomic_store(p, v) (void)(*(p) = (v))
#define atomic_load_explicit(p, order) (*(p))
#define atomic_store_explicit(p, v, order) (void)(*(p) = (v))
#define atomic_fetch_add(p, v) ((*(p) += (v)) - (v))
#define atomic_fetch_sub(p, v) ((*(p) -= (v)) + (v))
#define atomic_compare_exchange_weak_explicit(p, e, d, s, f) \
    (*(p) == *(e) ? (*(p) = (d), 1) : (*(e) = *(p), 0))
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

/* The job word: which job (a generation, counted from 1 with every job posted), its
 * number of parts, and the next part not yet claimed, in one 64-bit word, so that one
 * compare-and-swap claims a part of the job the claimer saw and no other: a worker that
 * looked late cannot take a part of the next job for one of the last. */
typedef uint64_t job_word;
enum { PART_BITS = 16 };
#define PARTS_MAX ((1u << PART_BITS) - 1) /* more parts than this run on the caller */

static job_word job_make(uint32_t gen, size_t parts, size_t next)
{
    return (job_word)gen << (2 * PART_BITS) | (job_word)parts << PART_BITS | (job_word)next;
}
static uint32_t job_gen(job_word w) { return (uint32_t)(w >> (2 * PART_BITS)); }
static size_t job_parts(job_word w) { return (size_t)(w >> PART_BITS) & PARTS_MAX; }
static size_t job_next(job_word w) { return (size_t)w & PARTS_MAX; }

/* The pool's state: one per process, like the log callback. `lock` guards the workers'
 * bookkeeping (started, threads, born) and the sleeps; `busy` is held by the one thread
 * whose job the workers run. A job itself is posted and claimed without the lock (the
 * atomics below): on the 2-core virtual machine of docs/performance.md the lock went
 * back and forth between the caller and a worker several times a job, often through the
 * kernel (about one futex call a job in a training step at M, counted with strace), and
 * an empty job of two parts took 0.87-1.12 us, against 0.44-0.66 us now (medians,
 * three alternating runs of tests/bench/bench_pool.c). */
static struct {
    pthread_mutex_t lock, busy;
    pthread_cond_t start, done;    /* a job is posted; the job's last part finished */
    pthread_t worker[GF_THREADS_MAX];
    uint32_t born[GF_THREADS_MAX]; /* the generation when each worker was started */
    size_t started;                /* workers running: worker[0 .. started) */
    size_t threads;                /* the count in force; 0: not decided yet */
    gf_pool_task *task;            /* the job: task(arg, p, parts), set before `job` */
    void *arg;
    _Atomic(job_word) job;         /* generation, parts, next part to claim */
    _Atomic(size_t) finished;      /* parts of the job finished */
    _Atomic(size_t) sleeping;      /* workers asleep on `start` (changed under lock) */
    _Atomic(int) caller_asleep;    /* the caller asleep on `done` (likewise) */
    _Atomic(int) stop;             /* the workers are to exit */
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

static uint32_t posted_gen(void)
{
    return job_gen(atomic_load_explicit(&pool.job, memory_order_acquire));
}

static void watch_for_job(uint32_t seen) /* a generation other than seen, or stop */
{
    uint64_t start = now_ns();
    for (unsigned i = 1; posted_gen() == seen && !atomic_load_explicit(&pool.stop,
                         memory_order_relaxed) && !watch_over(start, i); i++)
        cpu_relax();
}

static void watch_for_end(size_t parts) /* all parts finished */
{
    uint64_t start = now_ns();
    for (unsigned i = 1; atomic_load_explicit(&pool.finished, memory_order_acquire) < parts &&
                         !watch_over(start, i); i++)
        cpu_relax();
}

/* Count part of a job finished; the last one wakes the caller if it sleeps. The count
 * and the look at caller_asleep are sequentially consistent, as are the caller's
 * setting of caller_asleep and its look at the count (gf_pool_run): one of the two
 * sees the other's write, so the caller never sleeps through the end. */
static void part_finished(size_t parts)
{
    if (atomic_fetch_add(&pool.finished, 1) + 1 == parts && atomic_load(&pool.caller_asleep)) {
        pthread_mutex_lock(&pool.lock);
        pthread_cond_signal(&pool.done);
        pthread_mutex_unlock(&pool.lock);
    }
}

/* Claim and run the parts of job `gen` that no thread has claimed yet, one at a time,
 * until none is left or another job has been posted. Parts are claimed rather than
 * dealt out, so that a thread the system has descheduled (a machine shared with other
 * programs) leaves its parts to the others instead of holding up the job. A claimed
 * part keeps its job from ending, so task and arg are still that job's when read. */
static void claim_parts(uint32_t gen)
{
    job_word w = atomic_load_explicit(&pool.job, memory_order_acquire);
    while (job_gen(w) == gen && job_next(w) < job_parts(w)) {
        if (!atomic_compare_exchange_weak_explicit(&pool.job, &w, w + 1, memory_order_acquire,
                                                   memory_order_acquire))
            continue; /* w now holds the word another thread left */
        pool.task(pool.arg, job_next(w), job_parts(w));
        part_finished(job_parts(w));
        w = atomic_load_explicit(&pool.job, memory_order_acquire);
    }
}

/* Worker w (1 .. started): watches for every job, sleeping when none comes for a
 * while, and claims parts of it. Going to sleep, it counts itself asleep before its last
 * look at the job word, both sequentially consistent, while the poster stores the word
 * before it looks at the count (gf_pool_run): either the worker sees the new job or the
 * poster sees a sleeper and wakes it, under the lock the sleeper holds until it waits. */
static void *worker_main(void *arg)
{
    size_t w = (size_t)(uintptr_t)arg;
    uint32_t seen;
    pthread_mutex_lock(&pool.lock);
    seen = pool.born[w - 1]; /* not the posted generation: the job it was started for may
                              * be posted before this thread first takes the lock */
    pthread_mutex_unlock(&pool.lock);
    for (;;) {
        watch_for_job(seen);
        if (posted_gen() == seen && !atomic_load(&pool.stop)) {
            pthread_mutex_lock(&pool.lock);
            (void)atomic_fetch_add(&pool.sleeping, 1);
            while (job_gen(atomic_load(&pool.job)) == seen && !atomic_load(&pool.stop))
                pthread_cond_wait(&pool.start, &pool.lock);
            (void)atomic_fetch_sub(&pool.sleeping, 1);
            pthread_mutex_unlock(&pool.lock);
        }
        if (atomic_load(&pool.stop))
            break;
        seen = posted_gen();
        claim_parts(seen);
    }
    return NULL;
}

/* A child process of fork has none of its parent's workers: it starts its own. */
static void before_fork(void) { pthread_mutex_lock(&pool.lock); }
static void after_fork_parent(void) { pthread_mutex_unlock(&pool.lock); }
static void after_fork_child(void)
{
    pool.started = 0;
    atomic_store(&pool.sleeping, 0);
    atomic_store(&pool.caller_asleep, 0);
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
        pool.born[pool.started] = job_gen(atomic_load(&pool.job));
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
    atomic_store(&pool.stop, 1);
    pthread_cond_broadcast(&pool.start);
    n = pool.started;
    pthread_mutex_unlock(&pool.lock);
    for (size_t i = 0; i < n; i++)
        pthread_join(pool.worker[i], NULL);
    pthread_mutex_lock(&pool.lock);
    pool.started = 0;
    atomic_store(&pool.stop, 0);
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
    awake = pool.started > 0 && pool.started + 1 >= threads && atomic_load(&pool.sleeping) == 0;
    pthread_mutex_unlock(&pool.lock);
    return gf_pool_parts_given(work, min_part, threads, awake);
}

/* Post a job and take part in it: part 0 is the caller's own (posted as claimed), so that
 * it meets the rows it wrote in the job before (see the rule above); the others go to
 * whoever claims them first. Then watch for the last part, then sleep. */
void gf_pool_run(gf_pool_task *task, void *arg, size_t parts)
{
    if (POOL_THREADS && parts > 1 && parts <= PARTS_MAX &&
        pthread_mutex_trylock(&pool.busy) == 0) {
        /* Only the thread holding busy changes the job word's generation (the others
         * count parts off it). 0 is no job's: a worker born before the first job has
         * seen it. */
        uint32_t gen = job_gen(atomic_load(&pool.job)) + 1;
        gen += gen == 0;
        pthread_mutex_lock(&pool.lock);
        start_workers(gf_threads_locked() - 1);
        pthread_mutex_unlock(&pool.lock);
        pool.task = task;
        pool.arg = arg;
        atomic_store_explicit(&pool.finished, 0, memory_order_relaxed);
        atomic_store(&pool.job, job_make(gen, parts, 1)); /* publishes task, arg, finished */
        if (atomic_load(&pool.sleeping) > 0) {
            pthread_mutex_lock(&pool.lock);
            pthread_cond_broadcast(&pool.start);
            pthread_mutex_unlock(&pool.lock);
        }
        task(arg, 0, parts);
        part_finished(parts);
        claim_parts(gen);
        watch_for_end(parts);
        if (atomic_load(&pool.finished) < parts) {
            pthread_mutex_lock(&pool.lock);
            atomic_store(&pool.caller_asleep, 1);
            while (atomic_load(&pool.finished) < parts)
                pthread_cond_wait(&pool.done, &pool.lock);
            atomic_store(&pool.caller_asleep, 0);
            pthread_mutex_unlock(&pool.lock);
        }
        pthread_mutex_unlock(&pool.busy);
        return;
    }
    for (size_t p = 0; p < parts; p++)
        task(arg, p, parts);
}
