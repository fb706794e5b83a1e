/* src/core/atomic.h: the atomic replacement of a file (gradflow/atomic.h), and the
 * open(2) flags the library's writers share. Not installed. */
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

/* gf_atomic_file, gf_atomic_begin and gf_atomic_end are public: gradflow/atomic.h. */
#include "gradflow/atomic.h"

#endif
