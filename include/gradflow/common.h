/* gradflow/common.h: the number type, status codes, error details, logging and the
 * allocator every module shares. Nothing here allocates except gf_alloc/gf_calloc. */
#ifndef GRADFLOW_COMMON_H
#define GRADFLOW_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "gradflow/config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The library's number type: float by default, double with -DGRADFLOW_REAL=double. */
#if GF_REAL_IS_DOUBLE
typedef double gf_real;
#define GF_REAL_NAME "double"
#else
typedef float gf_real;
#define GF_REAL_NAME "float"
#endif

/* Every fallible function returns one of these; results come through out-parameters. */
typedef enum gf_status {
    GF_OK = 0,
    GF_EINVAL,       /* a bad argument: NULL, zero size, bad hyper-parameter */
    GF_ESHAPE,       /* tensor shapes do not agree */
    GF_ENOMEM,       /* an allocation failed; nothing was half-built */
    GF_EIO,          /* a file could not be opened, read or written */
    GF_EFORMAT,      /* a file or string is malformed */
    GF_ENONFINITE,   /* a NaN or infinity appeared */
    GF_ESTATE,       /* called in the wrong order (e.g. backward before forward) */
    GF_ENOTFOUND,    /* an unknown name (activation, init scheme, loss, ...) */
    GF_EUNSUPPORTED, /* valid, but not supported by this build or layer */
    GF_ECANCELED,    /* stopped because the cancel callback asked (gf_set_cancel_callback) */
    GF_STATUS_COUNT
} gf_status;

/* A short fixed name of a status ("invalid argument"); never NULL. */
const char *gf_strerror(gf_status status);

/* The detail message of the last failure on this thread ("linear: input has 63
 * columns, layer expects 64"); "" when none. Borrowed: valid until the next failure. */
const char *gf_last_error(void);

/* Forget this thread's detail message. */
void gf_clear_error(void);

/* The library's version, "major.minor.patch". */
const char *gf_version(void);

/* The number type's name, "float" or "double". */
const char *gf_real_name(void);

/* Logging. The library prints nothing itself: every failure detail is also passed to
 * the log callback, if one is set (process-wide; NULL turns logging off), at
 * GF_LOG_ERROR. GF_LOG_WARN is a problem worked around, the call succeeding: the one
 * today is gf_run_read_telemetry dropping an incomplete last line. */
typedef enum gf_log_level { GF_LOG_WARN = 2, GF_LOG_ERROR = 3 } gf_log_level;
typedef void (*gf_log_fn)(gf_log_level level, const char *message, void *user);
void gf_set_log_callback(gf_log_fn fn, void *user);

/* Cancellation. The library installs no signal handler, so a long call (a data file
 * read, inflated and parsed by gf_data_csv, gf_data_idx, gf_data_fashion_mnist) cannot
 * see a Ctrl-C by itself: it asks this callback instead, often (every 64 KiB of input
 * read or inflated, every few hundred rows parsed, so within milliseconds), and when it
 * returns non-zero it frees what it built and returns GF_ECANCELED ("csv: 'big.csv':
 * cancelled after reading 52428800 of 734003200 bytes"), *out NULL as for any failure.
 * A program that wants Ctrl-C to stop a load sets a volatile sig_atomic_t flag in its
 * SIGINT handler and passes a callback that returns it:
 *     static volatile sig_atomic_t stop;
 *     static void on_sigint(int sig) { (void)sig; stop = 1; }
 *     static int stop_requested(void *user) { (void)user; return stop != 0; }
 *     ... signal(SIGINT, on_sigint); gf_set_cancel_callback(stop_requested, NULL);
 * The callback may be called from any thread that loads; it must be cheap and must not
 * call the library. Process-wide, like the log callback; NULL (the default) turns
 * cancellation off. */
typedef int (*gf_cancel_fn)(void *user);
void gf_set_cancel_callback(gf_cancel_fn fn, void *user);

/* Allocation. Every allocation of the library goes through these three functions, so a
 * program (or a test that makes the k-th allocation fail) can supply its own. NULL
 * restores malloc/realloc/free. Set it before creating objects, not while any live. */
typedef struct gf_allocator {
    void *(*alloc)(size_t size, void *user);
    void *(*realloc)(void *ptr, size_t size, void *user);
    void (*free)(void *ptr, void *user);
    void *user;
} gf_allocator;
void gf_set_allocator(const gf_allocator *allocator);

/* Allocate size bytes (gf_calloc: n * size zeroed bytes, overflow-checked). NULL on
 * failure. Release with gf_free. */
void *gf_alloc(size_t size);
void *gf_calloc(size_t n, size_t size);
void *gf_realloc(void *ptr, size_t size);
void gf_free(void *ptr);

/* The memory budget. Before a large allocation (a network planned from its options, a
 * data file, a file being inflated) the library compares the bytes it will need with
 * this limit and refuses with GF_ENOMEM and a message giving both figures, rather than
 * allocating until the machine runs out. Process-wide, like the allocator: set it before
 * creating objects. 0 restores the default: a quarter of the physical memory
 * (sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE) / 4; 4 GiB where that is unknown), or
 * half of the address-space limit (getrlimit(RLIMIT_AS), ulimit -v) when that is lower. */
void gf_set_memory_limit(size_t bytes);
size_t gf_memory_limit(void);
size_t gf_memory_limit_default(void);

/* GF_OK when bytes fit the limit, else GF_ENOMEM with the message "what: needs N bytes
 * (X GB), more than the memory limit of L bytes (Y GB)". */
gf_status gf_memory_check(size_t bytes, const char *what);

#ifdef __cplusplus
}
#endif
#endif
