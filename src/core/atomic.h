/* src/core/atomic.h: the atomic replacement of a file, shared by every writer of the
 * library (model files, telemetry.csv, loss.csv, summary.json, figure data). Not
 * installed. */
#ifndef GRADFLOW_CORE_ATOMIC_H
#define GRADFLOW_CORE_ATOMIC_H

#include <stdio.h>

#include "gradflow/common.h"

/* open(2) flags the writers use, where the system has them: close on exec (a tool that
 * starts gnuplot does not hand it the file), and refuse a symbolic link at the last
 * path component (a planted link is not followed). */
#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#endif
#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif
#ifndef O_NOFOLLOW
#define O_NOFOLLOW 0
#endif

/* A file being written under a unique temporary name beside its target. */
typedef struct gf_atomic_file {
    FILE *f;          /* write the new contents here */
    char *tmp;        /* the temporary file's name (owned) */
    const char *path; /* the target (borrowed from the caller) */
} gf_atomic_file;

/* Create a new temporary file in path's directory, named path.<unique>.tmp, with
 * O_CREAT|O_EXCL: an existing file or a planted symbolic link of that name is never
 * opened, so concurrent writers of one path never share a file. GF_EIO (who and the
 * file named) when it cannot be created. */
gf_status gf_atomic_begin(gf_atomic_file *a, const char *path, const char *who);

/* Finish a->f: when st is GF_OK and every write succeeded, flush and fsync it, rename it
 * over the target and sync the directory, so that the target is either untouched or the
 * complete new file; otherwise (or when any of that fails) remove the temporary file.
 * Returns st, or the failure (GF_EIO, naming the file and the system's reason). */
gf_status gf_atomic_end(gf_atomic_file *a, gf_status st, const char *who);

#endif
