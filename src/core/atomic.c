/* src/core/atomic.c: replace a file atomically: write a unique temporary file beside it,
 * fsync it, rename it over the target, sync the directory. The temporary name is made
 * unique and created with O_EXCL (as mkstemp does), so that two processes saving to the
 * same path never write into one file, and a symbolic link planted at a predictable name
 * is never followed. POSIX; elsewhere C11's exclusive fopen ("wx") and the rename. */
#define _POSIX_C_SOURCE 200809L /* open flags, fsync, clock_gettime, getpid */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#define GF_HAVE_POSIX_IO 1
#endif

#include "core/atomic.h"
#include "core/internal.h"


/* A name that no other writer picks: the process id, the clock's nanoseconds and the
 * attempt, mixed. A clash only costs another attempt (O_EXCL refuses the name). */
static unsigned long long unique_tag(unsigned attempt)
{
    struct timespec ts = {0, 0};
    unsigned long long x;
    (void)timespec_get(&ts, TIME_UTC);
    x = (unsigned long long)ts.tv_nsec ^ ((unsigned long long)ts.tv_sec << 30);
#ifdef GF_HAVE_POSIX_IO
    x ^= (unsigned long long)getpid() << 40;
#endif
    x ^= (unsigned long long)attempt * 0x9E3779B97F4A7C15ull;
    /* splitmix64's finaliser: nearby inputs give unrelated names */
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* Create tmp exclusively; NULL with errno set when it exists or cannot be made. */
static FILE *create_exclusive(const char *tmp)
{
#ifdef GF_HAVE_POSIX_IO
    /* 0666 less the umask: the permissions a plain fopen would give. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    FILE *f;
    if (fd < 0)
        return NULL;
    f = fdopen(fd, "wb");
    if (f == NULL) {
        int e = errno;
        close(fd);
        unlink(tmp);
        errno = e;
    }
    return f;
#else
    return fopen(tmp, "wbx");
#endif
}

gf_status gf_atomic_begin(gf_atomic_file *a, const char *path, const char *who)
{
    size_t n = strlen(path), cap = n + 32;
    int err = 0;
    memset(a, 0, sizeof *a);
    a->path = path;
    a->tmp = gf_alloc(cap);
    if (a->tmp == NULL)
        return gf_fail(GF_ENOMEM, "%s: out of memory", who);
    for (unsigned attempt = 0; attempt < 100; attempt++) {
        snprintf(a->tmp, cap, "%s.%012llx.tmp", path, unique_tag(attempt) & 0xFFFFFFFFFFFFull);
        a->f = create_exclusive(a->tmp);
        if (a->f != NULL)
            return GF_OK;
        err = errno;
        if (err != EEXIST)
            break;
    }
    gf_status st = gf_fail(GF_EIO, "%s: cannot create a temporary file beside '%s': %s", who,
                           path, strerror(err));
    gf_free(a->tmp);
    a->tmp = NULL;
    return st;
}

#ifdef GF_HAVE_POSIX_IO
/* The rename is durable once the directory is synced; failing that (a file system that
 * refuses to sync directories) the file itself is complete. */
static void sync_dir_of(char *tmp)
{
    char *slash = strrchr(tmp, '/');
    int fd;
    if (slash == NULL)
        memcpy(tmp, ".", 2);
    else if (slash == tmp)
        tmp[1] = '\0';
    else
        *slash = '\0';
    fd = open(tmp, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}
#endif

gf_status gf_atomic_end(gf_atomic_file *a, gf_status st, const char *who)
{
    if (a->f == NULL) /* gf_atomic_begin failed: nothing to finish */
        return st;
    /* errno is read right after the call that failed, before anything overwrites it. */
    if (st == GF_OK && (fflush(a->f) != 0 || ferror(a->f)))
        st = gf_fail(GF_EIO, "%s: cannot write '%s': %s", who, a->tmp, strerror(errno));
#ifdef GF_HAVE_POSIX_IO
    if (st == GF_OK && fsync(fileno(a->f)) != 0)
        st = gf_fail(GF_EIO, "%s: cannot sync '%s' to disk: %s", who, a->tmp, strerror(errno));
#endif
    if (fclose(a->f) != 0 && st == GF_OK)
        st = gf_fail(GF_EIO, "%s: cannot close '%s': %s", who, a->tmp, strerror(errno));
    a->f = NULL;
    if (st == GF_OK && rename(a->tmp, a->path) != 0)
        st = gf_fail(GF_EIO, "%s: cannot rename '%s' to '%s': %s", who, a->tmp, a->path,
                     strerror(errno));
    if (st != GF_OK)
        remove(a->tmp);
#ifdef GF_HAVE_POSIX_IO
    else
        sync_dir_of(a->tmp);
#endif
    gf_free(a->tmp);
    a->tmp = NULL;
    return st;
}
