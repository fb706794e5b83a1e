/* tests/tool/test_cli.h: what the five sources of the CLI test program share
 * (test_cli.c: running the program and reading its files, the basics and run groups,
 * main; test_cli_groups.c: compare, sweep, verdicts, signals; test_cli_cures.c: the
 * cures (normalisation, residual and recurrent nets) and the showcase; test_cli_budget.c:
 * memory limits, resume checks, over-long values; test_cli_writes.c: concurrent runs
 * and saves, planted links, file size limits, whole lines, merge's step count). */
#ifndef GRADFLOW_TEST_CLI_H
#define GRADFLOW_TEST_CLI_H

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <gradflow.h>

/* Sanitizer builds run many times slower: their long runs are made shorter. */
#ifdef GF_CLI_SLOW
#define SLOW 1
#else
#define SLOW 0
#endif

typedef struct output {
    char out[65536]; /* stdout */
    char err[16384]; /* stderr */
    int status;      /* exit status, or 128 + signal */
} output;

#define RUN(o, ...)                                                                   \
    do {                                                                              \
        const char *const args_[] = {__VA_ARGS__, NULL};                              \
        run((o), args_);                                                              \
    } while (0)

/* ---- test_cli.c ---- */
/* The address space of the children start() makes (RLIM_INFINITY: no cap). */
extern rlim_t child_as_limit;

/* This group's scratch directory (set by main). */
extern char base[512];

void read_file(char *buf, size_t len, const char *path);

/* Start gradflow with args (NULL-terminated) with stdout and stderr going to files in
 * the scratch directory; returns the child's pid. */
pid_t start(const char *const *args, const char *tag);

int wait_status(pid_t pid);

void collect(output *o, const char *tag, int status);

/* Run to completion. */
void run(output *o, const char *const *args);

char *path_of(char *buf, size_t len, const char *rel);

long file_size(const char *path);

/* A file of the scratch directory exists and is not empty. */
void assert_file(const char *rel);

int count_lines(const char *path);

/* The string value of "key" in a summary.json ("" when absent). */
void summary_string(char *buf, size_t len, const char *rel_dir, const char *key);

double summary_number(const char *rel_dir, const char *key);

/* An error is one line on stderr, "gradflow: ..." naming what was wrong. */
void assert_one_line_error(const output *o, const char *needle);

void expect_status(const output *o, int status);

/* The telemetry CSV's complete lines: every one has the header's number of fields and
 * numeric step and layer; steps start at 0 and advance by `every` each n_layers lines.
 * Returns the number of complete lines; *steps the number of steps recorded. */
int check_csv_every(const char *path, int n_layers, int every, int *steps);

int check_csv(const char *path, int n_layers, int *steps);

/* Wait (at most `seconds`) until a file has at least `lines` lines. */
int wait_lines(const char *path, int lines, double seconds);

/* ---- test_cli_groups.c ---- */
void compare_overlays_one_run_per_value(void **state);
/* compare's table names a column once; merge shows compare's labels; sweep's order is
 * numeric. */
void compare_merge_and_sweep_share_one_vocabulary(void **state);

void sweep_runs_a_grid_in_parallel(void **state);

void emitted_commands_run_and_merge(void **state);

void classic_verdicts(void **state);

void sigint_stops_after_the_step_and_writes_everything(void **state);

void kill_9_leaves_a_valid_csv(void **state);

void sigint_to_a_sweep_stops_its_children(void **state);

/* ---- test_cli_training.c ---- */
void run_draws_figures_over_training(void **state);

void compare_draws_figures_over_training(void **state);

void seeds_give_means_and_bands(void **state);

/* ---- test_cli_views.c ---- */
void every_accepted_act_is_listed(void **state);
void unknown_figures_get_a_caption(void **state);
void every_recurrent_comparison_shows_the_gradient_through_time(void **state);
void align_output_lines_up_nets_of_different_depth(void **state);
void sweep_runs_every_point_with_n_seeds(void **state);

/* ---- test_cli_cures.c ---- */
void cures_in_help_and_list(void **state);

void norm_rescues_the_deep_sigmoid_signal(void **state);

/* The blocks' inner layers are layers of the network: one telemetry.csv records them all
 * (there are no telemetry_block*.csv any more), and the verdict is taken over every
 * linear layer. */
void residual_blocks_write_their_telemetry(void **state);

/* compare --residual none,2: a plain net and a residual one of the same 22 linear layers,
 * each with a point per linear layer in the signal figure (the residual blocks' inner
 * layers included) and a verdict over all of them. */
void compare_residual_none_and_2(void **state);

void recurrent_nets_record_the_gradient_through_time(void **state);

void bad_combinations_exit_2(void **state);

void model_files_with_the_new_layers(void **state);

void showcase_runs_and_writes_its_files(void **state);

/* ---- test_cli_budget.c ---- */
void long_values_are_refused(void **state);
void big_networks_are_refused_fast(void **state);
void bad_data_files_are_refused(void **state);
void resume_checks_the_step_count_first(void **state);
void sigint_during_a_data_load_stops_fast(void **state);

/* ---- test_cli_writes.c ---- */
/* A second run into the --out of a running one stops at once (exit 1) and touches none
 * of its files; after kill -9 of the holder the next run goes ahead. */
void two_runs_into_one_out_never_mix(void **state);

/* Four runs saving to one --save path at once, a few rounds: the model always loads. */
void concurrent_saves_leave_a_good_model(void **state);

/* A symbolic link planted at PATH.tmp of --save is not followed. */
void planted_link_at_save_tmp_is_not_followed(void **state);
void run_files_replace_planted_links(void **state);

/* ulimit -f: a message naming the file, exit 1, telemetry.csv of whole steps. */
void file_size_limit_exits_1_with_a_message(void **state);

/* kill -9 of a depth-100 run: telemetry.csv ends with a whole step, every time. */
void kill_9_of_a_deep_run_leaves_whole_steps(void **state);

/* merge names a summary.json "steps" out of range (1e300, -1, 2.5, 2^64), exit 1. */
void merge_refuses_a_step_count_out_of_range(void **state);

#endif
