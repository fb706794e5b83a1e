/* gradflow/atomic.h: a file replaced atomically: written under a unique temporary name
 * beside its target, then renamed over it, so that the target is always either its old
 * self or the complete new file, whoever else writes it at the same time. Every file the
 * library writes goes through this (model files, telemetry.csv, loss.csv, summary.json,
 * hist_init.csv, figure data and gnuplot scripts); a program writing files of its own
 * into a run directory can use it too (the gradflow tool does). */
#ifndef GRADFLOW_ATOMIC_H
#define GRADFLOW_ATOMIC_H

#include <stdio.h>

#include "gradflow/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A file being written under a unique temporary name beside its target. */
typedef struct gf_atomic_file {
    FILE *f;          /* write the new contents here */
    char *tmp;        /* the temporary file's name (owned) */
    const char *path; /* the target (borrowed from the caller: keep it alive until end) */
} gf_atomic_file;

/* Create a new temporary file in path's directory, named path.<unique>.tmp, with
 * O_CREAT|O_EXCL: an existing file or a planted symbolic link of that name is never
 * opened, so concurrent writers of one path never share a file. GF_EIO (who and the
 * file named) when it cannot be created; then a->f is NULL and gf_atomic_end does
 * nothing but return its status. */
gf_status gf_atomic_begin(gf_atomic_file *a, const char *path, const char *who);

/* Finish a->f: when st is GF_OK and every write succeeded, flush and fsync it, rename it
 * over the target and sync the directory, so that the target is either untouched or the
 * complete new file; otherwise (or when any of that fails) remove the temporary file.
 * Returns st, or the failure (GF_EIO, naming the file and the system's reason). Call it
 * exactly once per gf_atomic_begin, on every path (with st != GF_OK to abandon). */
gf_status gf_atomic_end(gf_atomic_file *a, gf_status st, const char *who);

#ifdef __cplusplus
}
#endif
#endif
