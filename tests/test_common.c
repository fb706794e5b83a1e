/* tests/test_common.c: status names, the per-thread detail message, the log callback, the
 * pluggable allocator (counted and failing), version and precision strings.
 * Needs POSIX threads for the per-thread check (link with -pthread / Threads::Threads). */
#include <pthread.h>
#include <stdio.h>

#include "testutil.h"

#include <stdint.h>
#include <stdlib.h>

#include "../src/core/internal.h"

/* ---- Status names ------------------------------------------------------------------- */

static void strerror_names_every_status_distinctly(void **state)
{
    (void)state;
    for (int i = 0; i < GF_STATUS_COUNT; i++) {
        const char *a = gf_strerror((gf_status)i);
        assert_non_null(a);
        assert_true(strlen(a) > 0);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(a, gf_strerror((gf_status)j));
    }
    assert_string_equal(gf_strerror(GF_OK), "success");
}

static void strerror_handles_out_of_range_status(void **state)
{
    (void)state;
    const gf_status bad[] = {GF_STATUS_COUNT, (gf_status)(GF_STATUS_COUNT + 100),
                             (gf_status)-1, (gf_status)0x7fffffff};
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        const char *name = gf_strerror(bad[b]);
        assert_non_null(name);
        assert_true(strlen(name) > 0);
        /* An unknown code must not pass for a known one. */
        for (int i = 0; i < GF_STATUS_COUNT; i++)
            assert_string_not_equal(name, gf_strerror((gf_status)i));
    }
}

/* ---- Detail message ----------------------------------------------------------------- */

static void last_error_set_by_failure_and_cleared(void **state)
{
    gf_tensor *t = (gf_tensor *)&t; /* not NULL: the failing call must reset it */
    (void)state;
    gf_clear_error();
    assert_string_equal(gf_last_error(), "");
    assert_int_equal(gf_tensor_new(&t, 0, 3), GF_EINVAL);
    assert_null(t);
    assert_true(strlen(gf_last_error()) > 0);
    assert_error_mentions("gf_tensor_new");

    /* A success does not erase the last failure's message (it is "the last failure"). */
    char saved[512];
    assert_int_equal(gf_tensor_new(&t, 3, 0), GF_EINVAL);
    assert_string_not_equal(gf_last_error(), "");
    snprintf(saved, sizeof saved, "%s", gf_last_error());
    assert_int_equal(gf_tensor_new(&t, 1, 1), GF_OK);
    assert_string_equal(gf_last_error(), saved);
    gf_tensor_free(t);

    gf_clear_error();
    assert_string_equal(gf_last_error(), "");
    gf_clear_error(); /* clearing twice is harmless */
    assert_string_equal(gf_last_error(), "");
}

typedef struct thread_report {
    char at_start[512];  /* the thread's message before it failed anything */
    char after[512];     /* its message after its own failure */
    gf_status status;
} thread_report;

static void *thread_body(void *arg)
{
    thread_report *r = arg;
    snprintf(r->at_start, sizeof r->at_start, "%s", gf_last_error());
    r->status = gf_tensor_new(NULL, 2, 2);
    snprintf(r->after, sizeof r->after, "%s", gf_last_error());
    return NULL;
}

static void last_error_is_per_thread(void **state)
{
    gf_tensor *t = NULL;
    pthread_t th;
    thread_report r;
    char mine[512];
    (void)state;
    memset(&r, 0, sizeof r);

    assert_int_equal(gf_tensor_new(&t, 0, 5), GF_EINVAL);
    snprintf(mine, sizeof mine, "%s", gf_last_error());
    assert_true(strlen(mine) > 0);

    assert_int_equal(pthread_create(&th, NULL, thread_body, &r), 0);
    assert_int_equal(pthread_join(th, NULL), 0);

    /* The other thread saw none of this thread's message, then got its own ... */
    assert_string_equal(r.at_start, "");
    assert_int_equal(r.status, GF_EINVAL);
    assert_true(strlen(r.after) > 0);
    assert_string_not_equal(r.after, mine);
    /* ... which did not overwrite this thread's. */
    assert_string_equal(gf_last_error(), mine);
    gf_clear_error();
}

/* ---- Log callback ------------------------------------------------------------------- */

typedef struct log_capture {
    int calls;
    gf_log_level level;
    char message[512];
} log_capture;

static void capture_log(gf_log_level level, const char *message, void *user)
{
    log_capture *c = user;
    c->calls++;
    c->level = level;
    snprintf(c->message, sizeof c->message, "%s", message);
}

static void log_callback_receives_failures_and_null_turns_it_off(void **state)
{
    log_capture cap;
    gf_tensor *t = NULL;
    (void)state;
    memset(&cap, 0, sizeof cap);

    gf_set_log_callback(capture_log, &cap);
    assert_int_equal(gf_tensor_new(&t, 0, 3), GF_EINVAL);
    assert_int_equal(cap.calls, 1);
    assert_int_equal(cap.level, GF_LOG_ERROR);
    assert_string_equal(cap.message, gf_last_error());
    assert_non_null(strstr(cap.message, "gf_tensor_new"));

    /* A success logs nothing at error level. */
    assert_int_equal(gf_tensor_new(&t, 2, 3), GF_OK);
    gf_tensor_free(t);
    assert_int_equal(cap.calls, 1);

    gf_set_log_callback(NULL, &cap);
    assert_int_equal(gf_tensor_new(&t, 3, 0), GF_EINVAL);
    assert_int_equal(cap.calls, 1);            /* no longer called ... */
    assert_string_not_equal(gf_last_error(), ""); /* ... but the message is still kept */
    gf_clear_error();
}

/* ---- Allocator ---------------------------------------------------------------------- */

static void custom_allocator_is_used_and_counted(void **state)
{
    gf_tensor *t = NULL;
    (void)state;
    tu_alloc_install(0);
    assert_ok(gf_tensor_new(&t, 3, 4));
    /* One allocation per tensor (header and data together), released by one free. */
    assert_int_equal(tu_alloc.allocs, 1);
    assert_int_equal(tu_alloc_live(), 1);
    /* The allocator poisons new blocks: gf_tensor_new must zero the data itself. */
    for (size_t i = 0; i < 12; i++)
        assert_true(t->data[i] == 0);
    gf_tensor_free(t);
    assert_int_equal(tu_alloc.frees, 1);
    assert_int_equal(tu_alloc_live(), 0);
    gf_tensor_free(NULL);
    assert_int_equal(tu_alloc.frees, 1);

    /* gf_alloc/gf_realloc/gf_free go through it too. */
    unsigned char *p = gf_alloc(16);
    assert_non_null(p);
    for (int i = 0; i < 16; i++)
        p[i] = (unsigned char)i;
    p = gf_realloc(p, 4096);
    assert_non_null(p);
    for (int i = 0; i < 16; i++)
        assert_int_equal(p[i], i);
    assert_int_equal(tu_alloc.calls, 3);
    gf_free(p);
    gf_free(NULL); /* does not reach the allocator */
    assert_int_equal(tu_alloc_live(), 0);
    assert_int_equal(tu_alloc.frees, 2);

    /* gf_alloc(0) is a real, freeable block (never the ambiguous NULL of malloc(0)). */
    p = gf_alloc(0);
    assert_non_null(p);
    gf_free(p);
    assert_int_equal(tu_alloc_live(), 0);
    tu_alloc_uninstall();

    /* NULL restored malloc: the counts no longer move. */
    long calls = tu_alloc.calls;
    p = gf_alloc(8);
    assert_non_null(p);
    gf_free(p);
    assert_int_equal(tu_alloc.calls, calls);
}

static void failing_allocator_gives_enomem_without_leak(void **state)
{
    gf_tensor *t = (gf_tensor *)&t;
    const gf_real v[6] = {1, 2, 3, 4, 5, 6};
    (void)state;

    tu_alloc_install(1);
    assert_status(gf_tensor_new(&t, 8, 8), GF_ENOMEM);
    assert_null(t);
    assert_error_mentions("gf_tensor_new");
    assert_int_equal(tu_alloc.failed, 1);
    assert_int_equal(tu_alloc_live(), 0);
    tu_alloc_uninstall();

    tu_alloc_install(1);
    assert_status(gf_tensor_from_array(&t, v, 2, 3), GF_ENOMEM);
    assert_null(t);
    assert_int_equal(tu_alloc_live(), 0);
    tu_alloc_uninstall();

    /* The clone's allocation (the second one) fails; the source is untouched. */
    gf_tensor *src = NULL;
    tu_alloc_install(2);
    assert_ok(gf_tensor_from_array(&src, v, 3, 2));
    assert_status(gf_tensor_clone(&t, src), GF_ENOMEM);
    assert_null(t);
    assert_int_equal(tu_alloc_live(), 1);
    assert_true(src->data[5] == 6);
    gf_tensor_free(src);
    assert_int_equal(tu_alloc_live(), 0);
    tu_alloc_uninstall();
}

static void calloc_checks_overflow_and_zeroes(void **state)
{
    (void)state;
    tu_alloc_install(0);
    /* n * size wraps around: refused before reaching the allocator. */
    assert_null(gf_calloc(SIZE_MAX / 2 + 1, 2));
    assert_null(gf_calloc(SIZE_MAX, SIZE_MAX));
    assert_null(gf_calloc(2, SIZE_MAX / 2 + 1));
    assert_int_equal(tu_alloc.calls, 0);

    /* The allocator returns 0xA5 garbage; gf_calloc must clear it. */
    unsigned char *p = gf_calloc(7, 9);
    assert_non_null(p);
    for (int i = 0; i < 63; i++)
        assert_int_equal(p[i], 0);
    gf_free(p);
    p = gf_calloc(0, 9);
    assert_non_null(p);
    gf_free(p);

    /* A failing allocator makes gf_calloc return NULL. */
    tu_alloc_fail_next(1);
    assert_null(gf_calloc(4, 4));
    assert_int_equal(tu_alloc_live(), 0);
    tu_alloc_uninstall();
}

/* ---- Aligned blocks of values (src/core/internal.h) ----------------------------------
 * An allocator whose blocks start 16, 32 or 48 bytes past a 64-byte boundary, in turn,
 * and whose realloc always moves the block (to the next of those offsets): the library's
 * blocks of values must still start on a boundary and keep their values when moved. */
static int shift_turn, shift_live;

static void *shift_alloc(size_t size, void *user)
{
    char *raw = malloc(size + 128), *p;
    (void)user;
    if (raw == NULL)
        return NULL;
    p = (char *)(((uintptr_t)raw + 16 + 63) & ~(uintptr_t)63) + 16 * (1 + shift_turn++ % 3);
    memcpy(p - sizeof raw, &raw, sizeof raw);
    memcpy(p - sizeof raw - sizeof size, &size, sizeof size);
    shift_live++;
    return p;
}

static void shift_free(void *p, void *user)
{
    char *raw;
    (void)user;
    if (p == NULL)
        return;
    memcpy(&raw, (char *)p - sizeof raw, sizeof raw);
    free(raw);
    shift_live--;
}

static void *shift_realloc(void *p, size_t size, void *user)
{
    size_t old;
    void *q = shift_alloc(size, user);
    if (q == NULL || p == NULL)
        return q;
    memcpy(&old, (char *)p - sizeof(char *) - sizeof old, sizeof old);
    memcpy(q, p, old < size ? old : size);
    shift_free(p, user);
    return q;
}

static int on_boundary(const void *p)
{
    return (uintptr_t)p % 64 == 0;
}

static void aligned_blocks_stay_aligned_and_keep_their_values(void **state)
{
    const gf_allocator shifting = {shift_alloc, shift_realloc, shift_free, NULL};
    gf_tensor *x = NULL;
    gf_real *a;
    size_t n = 3;
    (void)state;
    gf_set_allocator(&shifting);

    a = gf_alloc_reals(n);
    assert_non_null(a);
    for (int round = 0; round < 6; round++) {
        assert_true(on_boundary(a));
        for (size_t i = 0; i < n; i++)
            a[i] = (gf_real)(i + 1);
        a = gf_grow_reals(a, n, 2 * n + 5); /* moved each time, to another offset */
        assert_non_null(a);
        for (size_t i = 0; i < 2 * n + 5; i++)
            assert_true(a[i] == (i < n ? (gf_real)(i + 1) : 0));
        n = 2 * n + 5;
    }
    gf_free_reals(a);
    gf_free_reals(NULL);

    /* A tensor's data, in its first allocation and once it outgrew it. (The network's
     * blocks: test_net.) */
    assert_ok(gf_tensor_new(&x, 4, 5));
    assert_true(on_boundary(x->data));
    assert_ok(gf_tensor_resize_rows(x, 40));
    assert_true(on_boundary(x->data));
    gf_tensor_free(x);
    assert_int_equal(shift_live, 0);
    gf_set_allocator(NULL);
}

/* ---- Version and precision ---------------------------------------------------------- */

static void version_and_real_name(void **state)
{
    char expect[64];
    (void)state;
    assert_string_equal(gf_version(), GF_VERSION_STRING);
    snprintf(expect, sizeof expect, "%d.%d.%d", GF_VERSION_MAJOR, GF_VERSION_MINOR,
             GF_VERSION_PATCH);
    assert_string_equal(gf_version(), expect);

#if GF_REAL_IS_DOUBLE
    assert_string_equal(gf_real_name(), "double");
    assert_int_equal(sizeof(gf_real), sizeof(double));
#else
    assert_string_equal(gf_real_name(), "float");
    assert_int_equal(sizeof(gf_real), sizeof(float));
#endif
    assert_string_equal(gf_real_name(), GF_REAL_NAME);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strerror_names_every_status_distinctly),
        cmocka_unit_test(strerror_handles_out_of_range_status),
        cmocka_unit_test(last_error_set_by_failure_and_cleared),
        cmocka_unit_test(last_error_is_per_thread),
        cmocka_unit_test(log_callback_receives_failures_and_null_turns_it_off),
        cmocka_unit_test(custom_allocator_is_used_and_counted),
        cmocka_unit_test(failing_allocator_gives_enomem_without_leak),
        cmocka_unit_test(calloc_checks_overflow_and_zeroes),
        cmocka_unit_test(aligned_blocks_stay_aligned_and_keep_their_values),
        cmocka_unit_test(version_and_real_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
