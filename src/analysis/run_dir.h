/* src/analysis/run_dir.h: the directory helper of run directories and figures
 * (analysis/report.c), shared with the tool. Not installed: making directories is the
 * program's business; gf_run_write and the gf_plot_* functions make theirs. */
#ifndef GRADFLOW_ANALYSIS_RUN_DIR_H
#define GRADFLOW_ANALYSIS_RUN_DIR_H

#include "gradflow/common.h"

/* Create dir (and its parents, like mkdir -p) when needed. */
gf_status gf_mkdir_p(const char *dir);

#endif
