/* src/io/file.c: the file mechanics of model files: a durable, atomic write (path.tmp,
 * fsync, rename, directory sync) and reading a whole file into memory. POSIX where
 * available (fsync, open); elsewhere the rename alone. */
#define _POSIX_C_SOURCE 200809L /* fileno, fsync, open: the durable rename */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <unistd.h>
#define GF_HAVE_FSYNC 1
#endif

#include "core/internal.h"
#include "io/file.h"

/* Write data to path.tmp, flush it to the disk, rename it over path, and flush the
 * directory entry, so that path is either untouched or the complete new file. */
gf_status gf_file_write_atomic(const char *path, const void *data, size_t size, const char *who)
{
    size_t n = strlen(path);
    char *tmp = gf_alloc(n + 5);
    gf_status st = GF_OK;
    FILE *f;

    if (tmp == NULL)
        return gf_fail(GF_ENOMEM, "%s: out of memory", who);
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp", 5);
    f = fopen(tmp, "wb");
    if (f == NULL) {
        st = gf_fail(GF_EIO, "%s: cannot create '%s': %s", who, tmp, strerror(errno));
        gf_free(tmp);
        return st;
    }
    if (fwrite(data, 1, size, f) != size || fflush(f) != 0)
        st = gf_fail(GF_EIO, "%s: cannot write '%s': %s", who, tmp, strerror(errno));
#ifdef GF_HAVE_FSYNC
    if (st == GF_OK && fsync(fileno(f)) != 0)
        st = gf_fail(GF_EIO, "%s: cannot sync '%s' to disk: %s", who, tmp, strerror(errno));
#endif
    if (fclose(f) != 0 && st == GF_OK)
        st = gf_fail(GF_EIO, "%s: cannot close '%s': %s", who, tmp, strerror(errno));
    if (st == GF_OK && rename(tmp, path) != 0)
        st = gf_fail(GF_EIO, "%s: cannot rename '%s' to '%s': %s", who, tmp, path,
                     strerror(errno));
    if (st != GF_OK)
        remove(tmp);
#ifdef GF_HAVE_FSYNC
    if (st == GF_OK) {
        /* The rename is durable once the directory is synced; failing that (a file
         * system that refuses to sync directories) the file itself is complete. */
        char *slash = strrchr(tmp, '/');
        int fd;
        if (slash == NULL)
            memcpy(tmp, ".", 2);
        else if (slash == tmp)
            tmp[1] = '\0';
        else
            *slash = '\0';
        fd = open(tmp, O_RDONLY);
        if (fd >= 0) {
            (void)fsync(fd);
            close(fd);
        }
    }
#endif
    gf_free(tmp);
    return st;
}

/* Read a whole file into a new buffer. */
gf_status gf_file_read_all(unsigned char **out, size_t *size, const char *path, const char *who)
{
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0;
    gf_status st = GF_OK;
    FILE *f = fopen(path, "rb");

    *out = NULL;
    *size = 0;
    if (f == NULL)
        return gf_fail(GF_EIO, "%s: cannot open '%s': %s", who, path, strerror(errno));
    for (;;) {
        size_t want, got;
        if (len == cap) {
            size_t grown_cap = cap ? 2 * cap : 65536;
            unsigned char *grown = grown_cap > cap ? gf_realloc(buf, grown_cap) : NULL;
            if (grown == NULL) {
                st = gf_fail(GF_ENOMEM, "%s: out of memory reading '%s'", who, path);
                break;
            }
            buf = grown;
            cap = grown_cap;
        }
        want = cap - len;
        got = fread(buf + len, 1, want, f);
        len += got;
        if (got < want) { /* end of file or an error */
            if (ferror(f))
                st = gf_fail(GF_EIO, "%s: cannot read '%s': %s", who, path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (st != GF_OK) {
        gf_free(buf);
        return st;
    }
    *out = buf;
    *size = len;
    return GF_OK;
}
