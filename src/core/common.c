/* src/core/common.c: status names, per-thread error details, the log callback, the
 * allocator, the memory budget and cancellation. The only process-wide settings are the
 * log callback, the cancel callback, the allocator and the memory limit. */
#define _POSIX_C_SOURCE 200809L /* sysconf */
#define _DEFAULT_SOURCE         /* _SC_PHYS_PAGES, an extension glibc hides otherwise */
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/internal.h"

static const char *const status_names[GF_STATUS_COUNT] = {
    [GF_OK] = "success",
    [GF_EINVAL] = "invalid argument",
    [GF_ESHAPE] = "shape mismatch",
    [GF_ENOMEM] = "out of memory",
    [GF_EIO] = "input/output error",
    [GF_EFORMAT] = "malformed data",
    [GF_ENONFINITE] = "non-finite value",
    [GF_ESTATE] = "wrong call order",
    [GF_ENOTFOUND] = "unknown name",
    [GF_EUNSUPPORTED] = "unsupported",
    [GF_ECANCELED] = "cancelled",
};

const char *gf_strerror(gf_status status)
{
    if ((unsigned)status >= GF_STATUS_COUNT)
        return "unknown status";
    return status_names[status];
}

/* One detail message per thread, so concurrent runs do not overwrite each other's. */
static _Thread_local char last_error[512];

const char *gf_last_error(void) { return last_error; }

void gf_clear_error(void) { last_error[0] = '\0'; }

const char *gf_version(void) { return GF_VERSION_STRING; }

const char *gf_real_name(void) { return GF_REAL_NAME; }

static gf_log_fn log_fn;
static void *log_user;

void gf_set_log_callback(gf_log_fn fn, void *user)
{
    log_fn = fn;
    log_user = user;
}

gf_status gf_fail(gf_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    if (log_fn != NULL)
        log_fn(GF_LOG_ERROR, last_error, log_user);
    return status;
}

void gf_warn(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    if (log_fn == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_fn(GF_LOG_WARN, msg, log_user);
}

/* ---- Cancellation ------------------------------------------------------------- */

static gf_cancel_fn cancel_fn;
static void *cancel_user;

void gf_set_cancel_callback(gf_cancel_fn fn, void *user)
{
    cancel_fn = fn;
    cancel_user = user;
}

int gf_cancel_requested(void) { return cancel_fn != NULL && cancel_fn(cancel_user) != 0; }

/* ---- Allocation ------------------------------------------------------------------ */

static void *std_alloc(size_t size, void *user)
{
    (void)user;
    return malloc(size);
}

static void *std_realloc(void *ptr, size_t size, void *user)
{
    (void)user;
    return realloc(ptr, size);
}

static void std_free(void *ptr, void *user)
{
    (void)user;
    free(ptr);
}

static gf_allocator allocator = {std_alloc, std_realloc, std_free, NULL};

void gf_set_allocator(const gf_allocator *a)
{
    if (a == NULL || a->alloc == NULL || a->realloc == NULL || a->free == NULL)
        allocator = (gf_allocator){std_alloc, std_realloc, std_free, NULL};
    else
        allocator = *a;
}

void *gf_alloc(size_t size)
{
    /* malloc(0) may return NULL or a unique pointer; make it always a real block. */
    return allocator.alloc(size ? size : 1, allocator.user);
}

void *gf_calloc(size_t n, size_t size)
{
    int ok = 1;
    size_t bytes = gf_mul_size(n, size, &ok);
    void *p;
    if (!ok)
        return NULL;
    p = gf_alloc(bytes);
    if (p != NULL)
        memset(p, 0, bytes);
    return p;
}

void *gf_realloc(void *ptr, size_t size)
{
    return allocator.realloc(ptr, size ? size : 1, allocator.user);
}

void gf_free(void *ptr)
{
    if (ptr != NULL)
        allocator.free(ptr, allocator.user);
}

/* ---- Aligned blocks of values (internal.h) ---------------------------------------------
 * The allocation holds a pointer to its own start, then padding, then the values from the
 * first 64-byte boundary on; the stored pointer sits just before the values. */
enum { REALS_EXTRA = GF_ALIGN_PAD + sizeof(void *) };

static char *reals_start(char *raw)
{
    return gf_align64(raw + sizeof(void *));
}

static char *reals_raw(gf_real *a)
{
    char *raw;
    memcpy(&raw, (char *)a - sizeof raw, sizeof raw);
    return raw;
}

static size_t reals_bytes(size_t n, int *ok)
{
    size_t bytes = gf_mul_size(n, sizeof(gf_real), ok);
    if (bytes > (size_t)-1 - REALS_EXTRA)
        *ok = 0;
    return bytes;
}

gf_real *gf_alloc_reals(size_t n)
{
    return gf_grow_reals(NULL, 0, n);
}

/* Grown with gf_realloc, which may move the allocation (then the values are moved to
 * its new boundary) but, for a large block, need not copy it: two copies of the
 * parameters at once would raise the peak memory. */
gf_real *gf_grow_reals(gf_real *a, size_t old_n, size_t n)
{
    int ok = 1;
    size_t bytes = reals_bytes(n, &ok);
    char *old_raw = a != NULL ? reals_raw(a) : NULL;
    size_t old_offset = a != NULL ? (size_t)((char *)a - old_raw) : 0;
    char *raw, *start;
    if (!ok)
        return NULL;
    if (a == NULL)
        old_n = 0;
    else if (old_n > n) /* shrinking keeps the first n */
        old_n = n;
    raw = a == NULL ? gf_alloc(bytes + REALS_EXTRA) : gf_realloc(old_raw, bytes + REALS_EXTRA);
    if (raw == NULL)
        return NULL;
    start = reals_start(raw);
    if (old_n > 0 && (size_t)(start - raw) != old_offset)
        memmove(start, raw + old_offset, old_n * sizeof(gf_real));
    memcpy(start - sizeof raw, &raw, sizeof raw);
    memset(start + old_n * sizeof(gf_real), 0, bytes - old_n * sizeof(gf_real));
    return (gf_real *)start;
}

void gf_free_reals(gf_real *a)
{
    if (a != NULL)
        gf_free(reals_raw(a));
}

/* ---- The memory budget ----------------------------------------------------------- */

static size_t memory_limit; /* 0: the default */

size_t gf_memory_limit_default(void)
{
    /* A quarter of the physical memory: room for the rest of a shared machine, and a
     * refusal in well under a second instead of minutes of paging before malloc gives
     * up. Half of the address-space limit (ulimit -v) when that is lower, since
     * allocations past it fail anyway, only later. */
    double limit = (double)((size_t)1 << (sizeof(size_t) > 4 ? 32 : 30)); /* unknown */
    struct rlimit as;
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0)
        limit = (double)pages * (double)page / 4;
#endif
    if (getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY &&
        (double)as.rlim_cur / 2 < limit)
        limit = (double)as.rlim_cur / 2;
    return limit >= (double)SIZE_MAX ? SIZE_MAX : (size_t)limit;
}

void gf_set_memory_limit(size_t bytes) { memory_limit = bytes; }

size_t gf_memory_limit(void)
{
    return memory_limit ? memory_limit : gf_memory_limit_default();
}

gf_status gf_memory_check(size_t bytes, const char *what)
{
    size_t limit = gf_memory_limit();
    if (bytes <= limit)
        return GF_OK;
    return gf_fail(GF_ENOMEM, "%s: needs %zu bytes (%.3g GB), more than the memory limit of "
                   "%zu bytes (%.3g GB)", what ? what : "",
                   bytes, (double)bytes / 1e9, limit, (double)limit / 1e9);
}
