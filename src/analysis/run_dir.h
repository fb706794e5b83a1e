/* src/analysis/run_dir.h: the directory helpers of run directories and figures
 * (analysis/report.c, analysis/run_dir.c), shared with the tool. Not installed: making
 * and locking directories is the program's business; gf_run_write and the gf_plot_*
 * functions make theirs. */
#ifndef GRADFLOW_ANALYSIS_RUN_DIR_H
#define GRADFLOW_ANALYSIS_RUN_DIR_H

#include "gradflow/common.h"

/* Create dir (and its parents, like mkdir -p) when needed (report.c). */
gf_status gf_mkdir_p(const char *dir);

/* The lock of a run directory (run_dir.c): one process at a time writes into dir. The
 * lock is DIR/.gradflow.lock, flock'ed; the system drops it when the process ends, even
 * by kill -9, so it is never stale. GF_EIO when another process holds it (the message
 * names its pid and says to choose another --out) or the file cannot be made; dir must
 * exist. Release removes the file and unlocks; NULL does nothing. */
typedef struct gf_run_lock gf_run_lock;
gf_status gf_run_lock_acquire(gf_run_lock **out, const char *dir);
void gf_run_lock_release(gf_run_lock *lock);

#endif
