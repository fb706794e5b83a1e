/* src/analysis/run_dir.c: the lock of a run directory, so that two processes never write
 * their files into one directory mixed (telemetry.csv of one, summary.json of the other).
 * flock on DIR/.gradflow.lock: the system releases it when the process ends, however it
 * ends (kill -9 included), so a lock is never stale. POSIX and flock (Linux, the BSDs,
 * macOS). */
#define _DEFAULT_SOURCE /* flock */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis/run_dir.h"
#include "core/atomic.h"
#include "core/internal.h"


struct gf_run_lock {
    int fd;       /* the open lock file, flock'ed */
    char path[];  /* DIR/.gradflow.lock */
};

/* The holder's process id, which it wrote into the file; 0 when unreadable. */
static long holder_of(int fd)
{
    char buf[32] = {0};
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    long pid = 0;
    if (n > 0)
        (void)sscanf(buf, "%ld", &pid);
    return pid;
}

/* Open and flock the lock file; 1 when locked, 0 when to try again (the holder removed
 * the file between our open and our lock), -1 on failure (said). */
static int try_lock(gf_run_lock *l)
{
    struct stat mine, now;
    l->fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (l->fd < 0) {
        gf_fail(GF_EIO, "cannot open the lock file '%s': %s", l->path, strerror(errno));
        return -1;
    }
    if (flock(l->fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        long pid = holder_of(l->fd);
        char who[48] = "";
        if (pid > 0)
            snprintf(who, sizeof who, " (pid %ld)", pid);
        if (err == EWOULDBLOCK)
            gf_fail(GF_EIO, "another gradflow process%s is writing into this directory "
                    "(it holds %s); choose another --out, or wait for it", who, l->path);
        else
            gf_fail(GF_EIO, "cannot lock '%s': %s", l->path, strerror(err));
        close(l->fd);
        return -1;
    }
    /* Locked: but is it still the file at that name? A holder that just finished removed
     * it, and a third process may have made a new one. */
    if (fstat(l->fd, &mine) == 0 && stat(l->path, &now) == 0 && mine.st_dev == now.st_dev &&
        mine.st_ino == now.st_ino)
        return 1;
    close(l->fd);
    l->fd = -1;
    return 0;
}

gf_status gf_run_lock_acquire(gf_run_lock **out, const char *dir)
{
    size_t n;
    gf_run_lock *l;
    int got = 0;
    GF_CHECK_NOT_NULL(out, "gf_run_lock_acquire");
    GF_CHECK_NOT_NULL(dir, "gf_run_lock_acquire");
    *out = NULL;
    n = strlen(dir) + sizeof "/.gradflow.lock";
    l = gf_alloc(sizeof *l + n);
    if (l == NULL)
        return gf_fail(GF_ENOMEM, "gf_run_lock_acquire: out of memory");
    snprintf(l->path, n, "%s/.gradflow.lock", dir);
    for (int attempt = 0; attempt < 100 && got == 0; attempt++)
        got = try_lock(l);
    if (got != 1) {
        if (got == 0)
            gf_fail(GF_EIO, "the lock file '%s' keeps changing", l->path);
        gf_free(l);
        return GF_EIO;
    }
    char pid[32];
    int k = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(l->fd, 0) != 0 || pwrite(l->fd, pid, (size_t)k, 0) != k) {
        /* the pid only makes the message of a second process better */
    }
    *out = l;
    return GF_OK;
}

void gf_run_lock_release(gf_run_lock *l)
{
    if (l == NULL)
        return;
    /* Removed while still locked, so that no process locks a file about to vanish
     * without noticing (try_lock checks the name still leads to its file). */
    unlink(l->path);
    close(l->fd);
    gf_free(l);
}
