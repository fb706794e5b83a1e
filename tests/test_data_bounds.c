/* tests/test_data_bounds.c: bounded reading (issue 16): devices and files past the memory
 * limit refused before they are read, gzip bombs refused once their output passes it (in
 * a memory-capped child), a UTF-8 BOM skipped, the class count bounded by the rows. */
#define _POSIX_C_SOURCE 200809L /* fork, waitpid, setrlimit, clock_gettime */

#include "test_data.h"

#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DIR "test_data_files"

/* Under AddressSanitizer, whose shadow memory needs terabytes of address space, children
 * are not capped. gcc says so with __SANITIZE_ADDRESS__, clang with __has_feature. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Load path in a child capped at cap bytes of address space (none under ASan, whose
 * shadow needs terabytes) with the library's memory limit at a sixteenth of the cap: far
 * enough below it that the loader's own buffers (a doubling buffer briefly holds 1.5
 * times its size) and what the process already maps (the child is a fork of this test,
 * and a BLAS library may reserve tens of MB per thread) fit, so that only the limit can
 * stop the load. The child exits with the status; the parent checks it
 * came within max_s seconds and the message holds needle. */
static void load_in_capped_child(const char *path, rlim_t cap, gf_status expected,
                                 const char *needle, double max_s)
{
    int ws = 0;
    double t0 = seconds_now();
    pid_t pid;
    fflush(stdout), fflush(stderr);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        gf_dataset *d = NULL;
        gf_status st;
#if !UNDER_ASAN
        struct rlimit rl = {cap, cap};
        if (setrlimit(RLIMIT_AS, &rl) != 0)
            _exit(100);
#endif
        gf_set_memory_limit((size_t)cap / 16);
        st = gf_data_csv(&d, path, NULL);
        if (st == expected && strstr(gf_last_error(), needle) == NULL) {
            fprintf(stderr, "message '%s' does not mention '%s'\n", gf_last_error(), needle);
            _exit(101);
        }
        gf_dataset_free(d);
        _exit((int)st);
    }
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), (int)expected);
    assert_true(seconds_now() - t0 < max_s);
}

/* Only regular files within the memory limit are read: a device is refused before a byte
 * of it is read, a larger file before it is. */
void csv_reading_is_bounded(void **state)
{
    static char text[3 << 20];
    size_t len = 0;
    gf_dataset *d = NULL;
    (void)state;
    assert_status(gf_data_csv(&d, "/dev/zero", NULL), GF_EIO);
    assert_null(d);
    assert_error_mentions("'/dev/zero' is not a regular file");
    assert_status(gf_data_csv(&d, DIR, NULL), GF_EIO);
    assert_error_mentions("not a regular file");
    /* 2 MB of rows against a 1 MiB limit: refused; with the default limit, read. */
    while (len < (2u << 20))
        len += (size_t)sprintf(text + len, "%zu,%zu\n", len % 1000, (len / 7) % 2);
    write_bytes(path_of("two-mb.csv"), text, len);
    gf_set_memory_limit(1u << 20);
    assert_int_equal(gf_memory_limit(), 1u << 20);
    assert_status(gf_data_csv(&d, path_of("two-mb.csv"), NULL), GF_ENOMEM);
    assert_null(d);
    assert_error_mentions("more than the memory limit of 1048576 bytes");
    gf_set_memory_limit(0);
    assert_int_equal(gf_memory_limit(), gf_memory_limit_default());
    assert_ok(gf_data_csv(&d, path_of("two-mb.csv"), NULL));
    assert_int_equal(d->n_classes, 2);
    gf_dataset_free(d);
    /* The device again, in a child with 1 GiB of address space: refused at once. */
    load_in_capped_child("/dev/zero", (rlim_t)1 << 30, GF_EIO, "not a regular file", 1.0);
}

/* A UTF-8 byte-order mark does not make a header-less file's first row a header. */
void csv_bom_is_skipped(void **state)
{
    gf_dataset *d = NULL;
    (void)state;
    assert_ok(csv_load(&d, "bom.csv", "\xEF\xBB\xBF" "1,2,0\n3,4,1\n5,6,1\n", NULL));
    assert_int_equal(gf_dataset_rows(d), 3);
    assert_row(d, 0, (double[]){1, 2}, 0);
    assert_row(d, 2, (double[]){5, 6}, 1);
    gf_dataset_free(d);
    /* With a header, the header (not the first row) is what goes. */
    assert_ok(csv_load(&d, "bomh.csv", "\xEF\xBB\xBF" "a,b,y\n1,2,0\n3,4,1\n", NULL));
    assert_int_equal(gf_dataset_rows(d), 2);
    assert_row(d, 0, (double[]){1, 2}, 0);
    gf_dataset_free(d);
}

/* The class count is the largest label + 1, bounded by the rows (or GF_CSV_MIN_CLASSES):
 * a stray 16777216 in a 40-row file is refused, naming its line. */
void csv_class_count_is_bounded(void **state)
{
    char text[2048];
    size_t len = 0;
    gf_dataset *d = NULL;
    (void)state;
    for (int i = 0; i < 40; i++)
        len += (size_t)sprintf(text + len, "%d,%d,%d\n", i, i % 3,
                               i == 5 ? 16777216 : i % 2);
    assert_true(len < 700);
    assert_status(csv_load(&d, "stray.csv", text, NULL), GF_EFORMAT);
    assert_null(d);
    assert_error_mentions("stray.csv:6:3: label 16777216 would make 16777217 classes for 40 rows");
    /* Below the floor a sparse label is fine: 3 rows of a 1000-class problem. */
    assert_ok(csv_load(&d, "sparse.csv", "1,0\n2,999\n3,5\n", NULL));
    assert_int_equal(d->n_classes, GF_CSV_MIN_CLASSES);
    gf_dataset_free(d);
    assert_status(csv_load(&d, "sparse2.csv", "1,0\n2,1000\n3,5\n", NULL), GF_EFORMAT);
    assert_error_mentions("1001 classes for 3 rows");
}

#if GF_TEST_HAVE_ZLIB
/* A gzip bomb: 256 concatenated members of 1 MiB of "0,1\n" each, a few hundred KB that
 * inflate to 256 MiB. Refused once the output reaches the limit, never allocated past
 * it: in a child with 1 GiB of address space (memory limit 64 MiB), in under a second. */
void csv_gzip_bomb_is_refused(void **state)
{
    static char block[1 << 20];
    unsigned char member[1 << 16];
    FILE *f;
    gzFile g;
    size_t n;
    (void)state;
    for (size_t i = 0; i < sizeof block; i += 4)
        memcpy(block + i, "0,1\n", 4);
    g = gzopen(path_of("one-member.gz"), "wb9");
    assert_non_null(g);
    assert_int_equal(gzwrite(g, block, sizeof block), (int)sizeof block);
    assert_int_equal(gzclose(g), Z_OK);
    n = read_bytes(path_of("one-member.gz"), member, sizeof member);
    assert_true(n > 0 && n < sizeof member);
    f = fopen(path_of("bomb.csv.gz"), "wb");
    assert_non_null(f);
    for (int i = 0; i < 256; i++)
        assert_int_equal(fwrite(member, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    /* 64 MiB inflated and copied as the buffer doubles: 0.2 s optimised, 0.5 s under
     * ASan alone, more beside other sanitized tests, hence its looser bound. */
    load_in_capped_child(path_of("bomb.csv.gz"), (rlim_t)1 << 30, GF_ENOMEM,
                         "inflates to more than", UNDER_ASAN ? 5.0 : 1.0);
    /* Under an explicit limit in this process too. */
    {
        gf_dataset *d = NULL;
        gf_set_memory_limit(8u << 20);
        assert_status(gf_data_csv(&d, path_of("bomb.csv.gz"), NULL), GF_ENOMEM);
        gf_set_memory_limit(0);
        assert_null(d);
        assert_error_mentions("inflates to more than the memory limit of 8388608 bytes");
    }
}
#endif

/* ---- Cancellation ----------------------------------------------------------------------- */

/* A cancel callback that says stop at its stop_at-th call (1-based; 0: never), counting
 * its calls. */
typedef struct cancel_count {
    long calls, stop_at;
} cancel_count;

static int count_and_stop(void *user)
{
    cancel_count *c = user;
    c->calls++;
    return c->stop_at > 0 && c->calls >= c->stop_at;
}

/* Load path once to count the callback's calls, then stop it at the first, the middle
 * and the last of them: each is GF_ECANCELED, no data set, and a message naming the file
 * (the leak checker of the sanitizer build sees that what was built is freed). */
static void cancel_at_every_stage(const char *path, int idx, const char *idx_labels_path)
{
    gf_dataset *d = NULL;
    cancel_count c = {0, 0};
    long n, stops[3];
    gf_set_cancel_callback(count_and_stop, &c);
    if (idx)
        assert_ok(gf_data_idx(&d, path, idx_labels_path));
    else
        assert_ok(gf_data_csv(&d, path, NULL));
    gf_dataset_free(d);
    d = NULL;
    n = c.calls;
    assert_true(n >= 3); /* asked as it goes, not once */
    stops[0] = 1, stops[1] = n / 2, stops[2] = n;
    for (int k = 0; k < 3; k++) {
        long stop = stops[k];
        c = (cancel_count){0, stop};
        if (idx)
            assert_status(gf_data_idx(&d, path, idx_labels_path), GF_ECANCELED);
        else
            assert_status(gf_data_csv(&d, path, NULL), GF_ECANCELED);
        assert_null(d);
        assert_int_equal(c.calls, stop); /* it stops at once */
        assert_error_mentions("cancelled");
    }
    assert_string_equal(gf_strerror(GF_ECANCELED), "cancelled");
    gf_set_cancel_callback(NULL, NULL);
    c = (cancel_count){0, 1};
    if (idx)
        assert_ok(gf_data_idx(&d, path, idx_labels_path));
    else
        assert_ok(gf_data_csv(&d, path, NULL));
    assert_int_equal(c.calls, 0); /* NULL: never asked */
    gf_dataset_free(d);
}

/* A load stops when the caller's callback says so: while the file is read, split into
 * lines and parsed (a CSV of 300,000 lines), or inflated (the same gzip-compressed, and
 * an IDX pair). */
void data_load_can_be_cancelled(void **state)
{
    static char text[3 << 20];
    size_t len = 0;
    (void)state;
    for (size_t i = 0; i < 300000; i++)
        len += (size_t)sprintf(text + len, "%zu,%zu\n", i % 97, i % 2);
    write_bytes(path_of("cancel.csv"), text, len);
    cancel_at_every_stage(path_of("cancel.csv"), 0, NULL);
#if GF_TEST_HAVE_ZLIB
    write_gz(path_of("cancel.csv.gz"), text, len);
    cancel_at_every_stage(path_of("cancel.csv.gz"), 0, NULL);
    {
        static unsigned char img[16 + 4000 * 28 * 28], lab[8 + 4000];
        static unsigned char labels[4000];
        size_t ni, nl;
        for (size_t i = 0; i < sizeof labels; i++)
            labels[i] = (unsigned char)(i % 10);
        ni = idx_images(img, 4000, 28, 28);
        nl = idx_labels(lab, 4000, labels);
        write_gz(path_of("cancel-img.gz"), img, ni);
        write_bytes(path_of("cancel-lab.idx"), lab, nl);
        cancel_at_every_stage(path_of("cancel-img.gz"), 1, path_of("cancel-lab.idx"));
    }
#endif
}

#if GF_TEST_HAVE_ZLIB
/* ---- Streamed decompression ------------------------------------------------------------- */

/* An allocator that tracks the bytes live and their peak (a size header per block). */
static size_t live_bytes, peak_bytes;

static void *peak_alloc(size_t size, void *user)
{
    size_t *p = malloc(size + sizeof(size_t) * 2);
    (void)user;
    if (p == NULL)
        return NULL;
    p[0] = size;
    live_bytes += size;
    if (live_bytes > peak_bytes)
        peak_bytes = live_bytes;
    return p + 2;
}

static void peak_free(void *ptr, void *user)
{
    size_t *p = ptr;
    (void)user;
    if (p == NULL)
        return;
    live_bytes -= p[-2];
    free(p - 2);
}

static void *peak_realloc(void *ptr, size_t size, void *user)
{
    size_t old = ptr != NULL ? ((size_t *)ptr)[-2] : 0;
    void *q = peak_alloc(size, user);
    if (q == NULL)
        return NULL;
    if (ptr != NULL)
        memcpy(q, ptr, old < size ? old : size);
    peak_free(ptr, user);
    return q;
}

static const gf_allocator peak_allocator = {peak_alloc, peak_realloc, peak_free, NULL};

/* A gzip file is inflated as it is read, never held whole: 16 MiB whose gzip header is
 * followed by data that is not deflate is refused as corrupt having allocated a few
 * hundred KiB (the old reader held all 16 MiB first), and the bomb of
 * csv_gzip_bomb_is_refused, under an 8 MiB limit, after reading its first 64 KiB. */
void gzip_is_streamed(void **state)
{
    static unsigned char junk[16 << 20];
    unsigned long long got = 0, size = 0;
    const char *msg, *at;
    gf_dataset *d = NULL;
    (void)state;
    /* The gzip magic, deflate, no flags; then a block of the reserved type 3. */
    memcpy(junk, "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10);
    memset(junk + 10, 0xff, sizeof junk - 10);
    write_bytes(path_of("junk.csv.gz"), junk, sizeof junk);
    peak_bytes = live_bytes = 0;
    gf_set_allocator(&peak_allocator);
    assert_status(gf_data_csv(&d, path_of("junk.csv.gz"), NULL), GF_EFORMAT);
    gf_set_allocator(NULL);
    assert_null(d);
    assert_error_mentions("corrupt gzip data");
    assert_int_equal(live_bytes, 0);
    assert_true(peak_bytes < (1u << 20));
    /* The bomb (written by csv_gzip_bomb_is_refused): refused when its output reaches
     * the limit, which the compressed bytes no longer share. */
    peak_bytes = 0;
    gf_set_memory_limit(8u << 20);
    gf_set_allocator(&peak_allocator);
    assert_status(gf_data_csv(&d, path_of("bomb.csv.gz"), NULL), GF_ENOMEM);
    gf_set_allocator(NULL);
    gf_set_memory_limit(0);
    assert_null(d);
    assert_int_equal(live_bytes, 0);
    /* A doubling buffer briefly holds its old and new blocks: 1.5 times the limit. */
    assert_true(peak_bytes <= (12u << 20) + (1u << 20));
    msg = gf_last_error();
    at = strstr(msg, "refused after reading ");
    assert_non_null(at);
    assert_int_equal(sscanf(at, "refused after reading %llu of its %llu", &got, &size), 2);
    assert_true(got <= 65536 && size > 4 * got);
    /* An IDX file is bounded by its header: 10 images of 28x28 followed by 32 MiB of
     * zeros (32 KB compressed) are refused once the output passes 7,856 bytes. */
    {
        static unsigned char img[32 << 20];
        static const unsigned char ten[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
        unsigned char lab[18];
        size_t nl = idx_labels(lab, 10, ten);
        assert_int_equal(idx_images(img, 10, 28, 28), 16 + 7840);
        write_gz(path_of("long-img.gz"), img, sizeof img);
        write_bytes(path_of("long-lab.idx"), lab, nl);
        peak_bytes = 0;
        gf_set_allocator(&peak_allocator);
        assert_status(gf_data_idx(&d, path_of("long-img.gz"), path_of("long-lab.idx")),
                      GF_EFORMAT);
        gf_set_allocator(NULL);
        assert_null(d);
        assert_int_equal(live_bytes, 0);
        assert_true(peak_bytes < (1u << 20));
        assert_error_mentions("inflates to more than the 7856 bytes its header accounts for");
    }
}
#endif
