/* src/io/file.c: the file mechanics of model files: an atomic write (core/atomic.c: a
 * unique temporary file, fsync, rename, directory sync) and reading a whole file into
 * memory. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/atomic.h"
#include "core/internal.h"
#include "io/file.h"

/* Write data to a unique temporary file beside path, then rename it over path: path is
 * either untouched or the complete new file, even with concurrent writers. */
gf_status gf_file_write_atomic(const char *path, const void *data, size_t size, const char *who)
{
    gf_atomic_file a;
    gf_status st = gf_atomic_begin(&a, path, who);
    if (st != GF_OK)
        return st;
    if (fwrite(data, 1, size, a.f) != size)
        st = gf_fail(GF_EIO, "%s: cannot write '%s': %s", who, a.tmp, strerror(errno));
    return gf_atomic_end(&a, st, who);
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
