/* tests/testutil.h: helpers shared by the cmocka test programs: a counting allocator
 * that can make the k-th allocation fail, tolerances chosen by precision, and status
 * assertions that also demand a detail message. Header-only: the static state below is
 * private to each translation unit, so a test program in several sources (test_model)
 * counts allocations in the source whose test installed the allocator. */
#ifndef GRADFLOW_TESTUTIL_H
#define GRADFLOW_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gradflow/common.h"
#include "gradflow/optim.h"
#include "gradflow/rng.h"
#include "gradflow/tensor.h"

/* ---- Tolerances by precision ---------------------------------------------------------
 * TU_EPS is the machine epsilon of gf_real. TU_TOL_ABS/REL suit a result computed by a
 * short chain of operations in gf_real (a few roundings of values of order one).
 * TU_FD_H/ABS/REL are for central differences of L = sum c_i y_i:
 *  - double: h = 1e-6, truncation error ~h^2 = 1e-12, rounding ~eps/h = 1e-10, so
 *    1e-7 abs + 1e-6 rel leaves a wide margin while still catching a wrong factor.
 *  - float: rounding error eps |L| / h is ~1e-5 |L| at h = 1e-2 (and ~1e-4 at h = 1e-3),
 *    truncation h^2 |f'''| / 6 ~ 2e-5 for smooth f, so h = 1e-2 with 2e-3 abs + 2e-2 rel;
 *    still far below any real error (a missing term or a wrong sign). */
#if GF_REAL_IS_DOUBLE
#define TU_EPS DBL_EPSILON
#define TU_TOL_ABS 1e-12
#define TU_TOL_REL 1e-10
#define TU_FD_H 1e-6
#define TU_FD_ABS 1e-7
#define TU_FD_REL 1e-6
#else
#define TU_EPS ((double)FLT_EPSILON)
#define TU_TOL_ABS 1e-5
#define TU_TOL_REL 1e-5
#define TU_FD_H 1e-2
#define TU_FD_ABS 2e-3
#define TU_FD_REL 2e-2
#endif

/* |actual - expected| <= abs_tol + rel_tol |expected|, printing both on failure. NaN
 * never passes (unless both are NaN: use assert_true(isnan(x)) for that on purpose). */
#define assert_near(actual, expected, abs_tol, rel_tol)                                   \
    tu_assert_near((double)(actual), (double)(expected), (abs_tol), (rel_tol), #actual,   \
                   __FILE__, __LINE__)

/* assert_near with TU_TOL_ABS and TU_TOL_REL. */
#define assert_close(actual, expected) assert_near(actual, expected, TU_TOL_ABS, TU_TOL_REL)

static inline void tu_assert_near(double actual, double expected, double abs_tol,
                                  double rel_tol, const char *text, const char *file, int line)
{
    double err = fabs(actual - expected);
    if (!(err <= abs_tol + rel_tol * fabs(expected))) {
        print_error("%s = %.17g, expected %.17g (error %.3g > %.3g abs + %.3g rel)\n", text,
                    actual, expected, err, abs_tol, rel_tol);
        _fail(file, line);
    }
}

/* ---- Status assertions ---------------------------------------------------------------
 * assert_status(call, GF_E...): clears this thread's detail message, evaluates call, and
 * demands both the status and (for a failure) a non-empty gf_last_error().
 * assert_ok(call): the call returns GF_OK; on failure prints the detail message. */
#define assert_status(call, expected)                                                     \
    do {                                                                                  \
        gf_clear_error();                                                                 \
        gf_status tu_st_ = (call);                                                        \
        tu_check_status(tu_st_, (expected), #call, __FILE__, __LINE__);                   \
    } while (0)

#define assert_ok(call) assert_status(call, GF_OK)

static inline void tu_check_status(gf_status got, gf_status want, const char *text,
                                   const char *file, int line)
{
    const char *msg = gf_last_error();
    if (got != want) {
        print_error("%s returned %d (%s), expected %d (%s); last error: \"%s\"\n", text,
                    (int)got, gf_strerror(got), (int)want, gf_strerror(want),
                    msg != NULL ? msg : "(null)");
        _fail(file, line);
    }
    if (want != GF_OK && (msg == NULL || msg[0] == '\0')) {
        print_error("%s returned %s but left no detail message in gf_last_error()\n", text,
                    gf_strerror(got));
        _fail(file, line);
    }
}

/* The detail message contains needle (e.g. the function's name). */
#define assert_error_mentions(needle)                                                     \
    do {                                                                                  \
        if (strstr(gf_last_error(), (needle)) == NULL) {                                  \
            print_error("gf_last_error() = \"%s\" does not mention \"%s\"\n",             \
                        gf_last_error(), (needle));                                       \
            fail();                                                                       \
        }                                                                                 \
    } while (0)

/* ---- Counting, failing allocator -----------------------------------------------------
 * tu_alloc_install(k): every gf_alloc/gf_realloc goes through malloc/realloc and is
 * counted; the k-th allocation call (1-based, realloc included) returns NULL, k = 0 never
 * fails. With tu_alloc.fail_after set, every call from the k-th on fails. New blocks are
 * filled with 0xA5 bytes (tu_alloc.poison, on by default) so that a missing memset shows.
 * tu_alloc_live() is blocks allocated and not yet freed; a test ends with
 *     assert_int_equal(tu_alloc_live(), 0); tu_alloc_uninstall();
 * Install only while no library object is alive (gf_set_allocator's contract). */
typedef struct tu_alloc_state {
    long calls;      /* alloc + realloc calls so far, failed ones included */
    long allocs;     /* blocks handed out (alloc, or realloc of NULL) */
    long frees;      /* blocks released (free, or a successful realloc never frees) */
    long failed;     /* calls made to fail */
    long fail_at;    /* the call that fails (1-based); 0 = none */
    int fail_after;  /* nonzero: every call from fail_at on fails */
    int poison;      /* nonzero: fill new bytes with 0xA5 */
} tu_alloc_state;

static tu_alloc_state tu_alloc;

static inline int tu_alloc_should_fail(void)
{
    tu_alloc.calls++;
    if (tu_alloc.fail_at > 0 &&
        (tu_alloc.calls == tu_alloc.fail_at ||
         (tu_alloc.fail_after && tu_alloc.calls > tu_alloc.fail_at))) {
        tu_alloc.failed++;
        return 1;
    }
    return 0;
}

/* Each block carries its size in a header so that realloc can poison the new tail. */
typedef union tu_block_header {
    size_t size;
    max_align_t align;
} tu_block_header;

static inline void *tu_alloc_fn(size_t size, void *user)
{
    tu_block_header *h;
    (void)user;
    if (tu_alloc_should_fail() || size > SIZE_MAX - sizeof *h)
        return NULL;
    h = malloc(sizeof *h + size);
    if (h == NULL)
        return NULL;
    h->size = size;
    if (tu_alloc.poison)
        memset(h + 1, 0xA5, size);
    tu_alloc.allocs++;
    return h + 1;
}

static inline void tu_free_fn(void *ptr, void *user)
{
    (void)user;
    if (ptr == NULL)
        return;
    tu_alloc.frees++;
    free((tu_block_header *)ptr - 1);
}

static inline void *tu_realloc_fn(void *ptr, size_t size, void *user)
{
    tu_block_header *h;
    size_t old;
    if (ptr == NULL)
        return tu_alloc_fn(size, user);
    if (tu_alloc_should_fail() || size > SIZE_MAX - sizeof *h)
        return NULL;
    old = ((tu_block_header *)ptr - 1)->size;
    h = realloc((tu_block_header *)ptr - 1, sizeof *h + size);
    if (h == NULL)
        return NULL;
    h->size = size;
    if (tu_alloc.poison && size > old)
        memset((char *)(h + 1) + old, 0xA5, size - old);
    return h + 1;
}

static inline void tu_alloc_install(long fail_at)
{
    gf_allocator a = {tu_alloc_fn, tu_realloc_fn, tu_free_fn, NULL};
    memset(&tu_alloc, 0, sizeof tu_alloc);
    tu_alloc.fail_at = fail_at;
    tu_alloc.poison = 1;
    gf_set_allocator(&a);
}

/* Change which call fails without resetting the counts (k counts from now). */
static inline void tu_alloc_fail_next(long k)
{
    tu_alloc.fail_at = k > 0 ? tu_alloc.calls + k : 0;
}

static inline long tu_alloc_live(void) { return tu_alloc.allocs - tu_alloc.frees; }

static inline void tu_alloc_uninstall(void) { gf_set_allocator(NULL); }

/* ---- Small helpers ------------------------------------------------------------------- */

/* A new rows x cols tensor, asserted to succeed. */
static inline gf_tensor *tu_tensor(size_t rows, size_t cols)
{
    gf_tensor *t = NULL;
    assert_ok(gf_tensor_new(&t, rows, cols));
    assert_non_null(t);
    return t;
}

/* Fill t with values uniform on [lo, hi) from rng. */
static inline void tu_fill_uniform(gf_tensor *t, gf_rng *rng, double lo, double hi)
{
    for (size_t i = 0, n = gf_tensor_size(t); i < n; i++)
        t->data[i] = (gf_real)(lo + (hi - lo) * gf_rng_uniform(rng));
}

/* The optimisers' state slots (momentum's v, Adam's m and v), bit for bit. */
static inline void tu_assert_same_optim_state(const gf_optim *a, const gf_optim *b)
{
    for (int slot = 0; slot < 2; slot++) {
        size_t na = 0, nb = 0;
        const gf_real *sa = gf_optim_state(a, &na, slot);
        const gf_real *sb = gf_optim_state(b, &nb, slot);
        assert_int_equal(na, nb);
        if (na > 0)
            assert_memory_equal(sa, sb, na * sizeof(gf_real));
    }
}

#endif
