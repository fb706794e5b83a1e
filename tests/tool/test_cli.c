/* tests/tool/test_cli.c: the gradflow program, run as a child process the way a user
 * runs it: exit statuses, one-line errors, the files of a run directory, the verdicts of
 * the classic cases read back from summary.json, Ctrl-C and kill -9 in the middle of a
 * run; normalisation, residual and recurrent nets with their extra telemetry. Usage:
 * test_cli PATH-TO-gradflow GROUP (basics, run, compare, sweep, verdicts, signals,
 * showcase, cures, writes); CTest runs one group per test, in the build directory. */
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

static const char *gradflow_bin;
static char base[512]; /* this group's scratch directory */

/* Sanitizer builds run many times slower: their long runs are made shorter. */
#ifdef GF_CLI_SLOW
#define SLOW 1
#else
#define SLOW 0
#endif

/* ---- Running the program -------------------------------------------------------------- */

typedef struct output {
    char out[65536]; /* stdout */
    char err[16384]; /* stderr */
    int status;      /* exit status, or 128 + signal */
} output;

static void read_file(char *buf, size_t len, const char *path)
{
    FILE *f = fopen(path, "rb");
    size_t n = 0;
    buf[0] = '\0';
    if (f == NULL)
        return;
    n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Start gradflow with args (NULL-terminated) with stdout and stderr going to files in
 * the scratch directory; returns the child's pid. */
static pid_t start(const char *const *args, const char *tag)
{
    char out[700], err[700];
    const char *argv[64];
    size_t n = 0;
    pid_t pid;
    snprintf(out, sizeof out, "%s/%s.out", base, tag);
    snprintf(err, sizeof err, "%s/%s.err", base, tag);
    argv[n++] = gradflow_bin;
    for (size_t i = 0; args[i] != NULL && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid == 0) {
        int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0)
            _exit(99);
        dup2(fo, STDOUT_FILENO);
        dup2(fe, STDERR_FILENO);
        close(fo), close(fe);
        execv(gradflow_bin, (char *const *)argv);
        _exit(98);
    }
    assert_true(pid > 0);
    return pid;
}

static int wait_status(pid_t pid)
{
    int ws;
    while (waitpid(pid, &ws, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

static void collect(output *o, const char *tag, int status)
{
    char path[700];
    o->status = status;
    snprintf(path, sizeof path, "%s/%s.out", base, tag);
    read_file(o->out, sizeof o->out, path);
    snprintf(path, sizeof path, "%s/%s.err", base, tag);
    read_file(o->err, sizeof o->err, path);
}

/* Run to completion. */
static void run(output *o, const char *const *args)
{
    collect(o, "last", wait_status(start(args, "last")));
}

#define RUN(o, ...)                                                                   \
    do {                                                                              \
        const char *const args_[] = {__VA_ARGS__, NULL};                              \
        run((o), args_);                                                              \
    } while (0)

static char *path_of(char *buf, size_t len, const char *rel)
{
    int n = snprintf(buf, len, "%s/%s", base, rel);
    if (n < 0 || (size_t)n >= len)
        fail_msg("path too long: %s/%s", base, rel);
    return buf;
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

/* A file of the scratch directory exists and is not empty. */
static void assert_file(const char *rel)
{
    char p[700];
    long size = file_size(path_of(p, sizeof p, rel));
    if (size <= 0)
        fail_msg("%s: missing or empty (size %ld)", p, size);
}

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "rb");
    int n = 0, ch;
    if (f == NULL)
        return -1;
    while ((ch = fgetc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

/* The string value of "key" in a summary.json ("" when absent). */
static void summary_string(char *buf, size_t len, const char *rel_dir, const char *key)
{
    char path[700], text[65536], pat[64];
    const char *p, *end;
    snprintf(path, sizeof path, "%s/%s/summary.json", base, rel_dir);
    read_file(text, sizeof text, path);
    snprintf(pat, sizeof pat, "\n  \"%s\": \"", key);
    buf[0] = '\0';
    p = strstr(text, pat);
    if (p == NULL)
        return;
    p += strlen(pat);
    end = strchr(p, '"');
    if (end != NULL)
        snprintf(buf, len, "%.*s", (int)(end - p), p);
}

static double summary_number(const char *rel_dir, const char *key)
{
    char path[700], text[65536], pat[64];
    const char *p;
    snprintf(path, sizeof path, "%s/%s/summary.json", base, rel_dir);
    read_file(text, sizeof text, path);
    /* Top-level keys open a line with two spaces ("steps" is also a config key). */
    snprintf(pat, sizeof pat, "\n  \"%s\": ", key);
    p = strstr(text, pat);
    if (p == NULL || strncmp(p + strlen(pat), "null", 4) == 0)
        return NAN;
    return strtod(p + strlen(pat), NULL);
}

/* An error is one line on stderr, "gradflow: ..." naming what was wrong. */
static void assert_one_line_error(const output *o, const char *needle)
{
    size_t len = strlen(o->err);
    if (strncmp(o->err, "gradflow: ", 10) != 0 || len == 0 || o->err[len - 1] != '\n' ||
        strchr(o->err, '\n') != o->err + len - 1)
        fail_msg("not a one-line error: '%s'", o->err);
    if (strstr(o->err, needle) == NULL)
        fail_msg("error '%s' does not mention '%s'", o->err, needle);
}

static void expect_status(const output *o, int status)
{
    if (o->status != status)
        fail_msg("exit status %d, expected %d\nstdout: %s\nstderr: %s", o->status, status,
                 o->out, o->err);
}

/* The telemetry CSV's complete lines: every one has the header's number of fields and
 * numeric step and layer; steps start at 0 and advance by `every` each n_layers lines.
 * Returns the number of complete lines; *steps the number of steps recorded. */
static int check_csv_every(const char *path, int n_layers, int every, int *steps)
{
    FILE *f = fopen(path, "rb");
    char line[4096];
    int n = 0, fields_header = 0;
    assert_non_null(f);
    while (fgets(line, sizeof line, f) != NULL) {
        size_t len = strlen(line);
        int fields = 1;
        if (len == 0 || line[len - 1] != '\n')
            break; /* a last, incomplete line: allowed after kill -9, ignored */
        for (char *p = line; *p; p++)
            fields += *p == ',';
        if (n == 0) {
            assert_true(strncmp(line, "step,layer,", 11) == 0);
            fields_header = fields;
        } else {
            char *end;
            unsigned long step = strtoul(line, &end, 10);
            unsigned long layer = strtoul(end + 1, NULL, 10);
            assert_int_equal(fields, fields_header);
            assert_int_equal(*end, ',');
            assert_int_equal(step, (unsigned long)(every * ((n - 1) / n_layers)));
            assert_int_equal(layer, (unsigned long)((n - 1) % n_layers));
        }
        n++;
    }
    fclose(f);
    assert_true(fields_header == 20);
    *steps = (n - 1) / n_layers;
    return n;
}

static int check_csv(const char *path, int n_layers, int *steps)
{
    return check_csv_every(path, n_layers, 1, steps);
}

/* Wait (at most `seconds`) until a file has at least `lines` lines. */
static int wait_lines(const char *path, int lines, double seconds)
{
    for (int i = 0; i < (int)(seconds * 50); i++) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        if (count_lines(path) >= lines)
            return 1;
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* ---- basics --------------------------------------------------------------------------- */

static void version_and_help(void **state)
{
    static const char *const commands[] = {"showcase", "run", "compare", "sweep", "merge",
                                           "list", "gradcheck"};
    output o;
    char want[64];
    (void)state;
    RUN(&o, "--version");
    expect_status(&o, 0);
    snprintf(want, sizeof want, "gradflow %s", gf_version());
    assert_non_null(strstr(o.out, want));

    RUN(&o, "--help");
    expect_status(&o, 0);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        assert_non_null(strstr(o.out, commands[i]));
    assert_non_null(strstr(o.out, "exit status"));

    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        char usage[64];
        RUN(&o, commands[i], "--help");
        expect_status(&o, 0);
        snprintf(usage, sizeof usage, "usage: gradflow %s", commands[i]);
        assert_non_null(strstr(o.out, usage));
        assert_string_equal(o.err, "");
    }
    /* Every option a command takes is in its help. */
    RUN(&o, "run", "--help");
    for (const char *opt = "--data\0--depth\0--width\0--act\0--init\0--loss\0--optim\0--lr\0"
                           "--batch\0--steps\0--epochs\0--seed\0--clip-value\0--clip-norm\0"
                           "--every\0--out\0--plot\0--save\0--resume\0--label-column\0";
         *opt; opt += strlen(opt) + 1)
        if (strstr(o.out, opt) == NULL)
            fail_msg("run --help does not mention %s", opt);
    RUN(&o, "sweep", "--help");
    assert_non_null(strstr(o.out, "--jobs"));
    assert_non_null(strstr(o.out, "--emit-commands"));
}

static void list_shows_the_tables(void **state)
{
    output o;
    (void)state;
    RUN(&o, "list");
    expect_status(&o, 0);
    /* Every activation of the library's table, with its formula and suited init. */
    for (size_t i = 0; i < gf_activation_count(); i++) {
        const gf_activation *a = gf_activation_at(i);
        assert_non_null(strstr(o.out, a->name));
        assert_non_null(strstr(o.out, a->formula));
    }
    for (int k = 0; k < GF_INIT_COUNT; k++)
        assert_non_null(strstr(o.out, gf_init_name((gf_init_kind)k)));
    for (const char *w = "cross_entropy\0mse\0bce\0sgd\0momentum\0adam\0digits\0gauss\0xor\0"
                         "spirals\0moons\0fashion-mnist\0bound 0.25\0";
         *w; w += strlen(w) + 1)
        if (strstr(o.out, w) == NULL)
            fail_msg("list does not mention '%s'", w);

    RUN(&o, "list", "inits");
    expect_status(&o, 0);
    assert_non_null(strstr(o.out, "orthogonal"));
    assert_null(strstr(o.out, "sigmoid"));
    RUN(&o, "list", "nonsense");
    expect_status(&o, 2);
    assert_one_line_error(&o, "nonsense");
}

static void bad_options_exit_2_with_one_line(void **state)
{
    static const struct {
        const char *args[6];
        const char *needle; /* the message names the option (and the value) */
    } cases[] = {
        {{"run", "--lr", "abc"}, "gradflow: --lr: 'abc' is not a number"},
        {{"run", "--lr", "-1"}, "--lr: '-1'"},
        {{"run", "--lr", "nan"}, "--lr: 'nan'"},
        {{"run", "--lr", "inf"}, "--lr: 'inf'"},
        {{"run", "--depth", "0"}, "--depth: '0'"},
        {{"run", "--depth", "3.5"}, "--depth: '3.5'"},
        {{"run", "--width", "-4"}, "--width: '-4'"},
        {{"run", "--batch", ""}, "--batch"},
        {{"run", "--steps", "0"}, "--steps: '0'"},
        {{"run", "--every", "0"}, "--every: '0'"},
        {{"run", "--momentum", "1"}, "--momentum: '1'"},
        {{"run", "--seed", "x"}, "--seed: 'x'"},
        {{"run", "--act", "swish"}, "--act: 'swish'"},
        {{"run", "--init", "nope"}, "--init: 'nope'"},
        {{"run", "--init", "normal:-1"}, "--init: 'normal:-1'"},
        {{"run", "--loss", "hinge"}, "--loss: 'hinge'"},
        {{"run", "--optim", "rmsprop"}, "--optim: 'rmsprop'"},
        {{"run", "--clip", "value"}, "--clip: 'value'"},
        {{"run", "--clip-norm", "0"}, "--clip-norm: '0'"},
        {{"run", "--plot", "jpg"}, "--plot: 'jpg'"},
        {{"run", "--data", "no-such-file.csv"}, "--data: 'no-such-file.csv'"},
        {{"run", "--label-column", "x"}, "--label-column: 'x'"},
        {{"run", "--lr"}, "--lr needs a value"},
        {{"run", "--frobnicate"}, "unknown option '--frobnicate'"},
        {{"run", "-z"}, "unknown option '-z'"},
        {{"run", "--quiet=yes"}, "--quiet takes no value"},
        {{"run", "stray"}, "'stray'"},
        {{"run", "--jobs", "2"}, "--jobs: not an option of run"},
        {{"run", "--act", "relu,tanh"}, "comma lists are for compare and sweep"},
        {{"frobnicate"}, "unknown command 'frobnicate'"},
        {{"compare", "--act", "relu"}, "compare: give one option a comma list"},
        {{"compare", "--act", "relu,tanh", "--depth", "2,3"}, "only one option"},
        {{"compare", "--act", "relu,swish"}, "--act: 'swish'"},
        {{"sweep", "--jobs", "0"}, "--jobs: '0'"},
        {{"merge"}, "merge: give at least one directory"},
        {{"gradcheck", "--tol", "-1"}, "--tol: '-1'"},
        {{"run", "--data", "gauss", "--loss", "cross_entropy"}, "--loss cross_entropy"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        output o;
        const char *args[8] = {0};
        for (size_t k = 0; k < 6 && cases[i].args[k]; k++)
            args[k] = cases[i].args[k];
        run(&o, args);
        if (o.status != 2)
            fail_msg("case %zu (%s %s): exit %d, expected 2; stderr: %s", i, args[0],
                     args[1] ? args[1] : "", o.status, o.err);
        assert_one_line_error(&o, cases[i].needle);
        assert_string_equal(o.out, "");
    }
}

static void gradcheck_passes_and_fails(void **state)
{
    output o;
    int layers = 0;
    (void)state;
    /* A smooth activation passes in both precisions (tolerance per build). */
    RUN(&o, "gradcheck", "--act", "tanh", "--depth", "4", "--width", "16");
    expect_status(&o, 0);
    assert_non_null(strstr(o.out, "within the tolerance"));
    for (const char *p = o.out; (p = strstr(p, "  linear ")) != NULL; p++)
        layers++;
    assert_int_equal(layers, 4);
    /* relu_leaky_backward passes back a chosen signal, not f': it fails by design (a slope
     * of 0.5 where f' = 0 makes the difference plain in float too). */
    RUN(&o, "gradcheck", "--act", "relu_leaky_backward", "--act-param", "0.5", "--depth", "3",
        "--width", "16");
    expect_status(&o, 1);
    assert_non_null(strstr(o.out, "above the tolerance"));
}

/* ---- run ------------------------------------------------------------------------------ */

static void run_writes_its_directory(void **state)
{
    output o;
    char p[700];
    int steps;
    int gnuplot = gf_plot_available();
    (void)state;
    RUN(&o, "run", "--depth", "4", "--width", "16", "--steps", "30", "--out", "cli-run/r1",
        "--plot", "png");
    expect_status(&o, 0);
    assert_non_null(strstr(o.out, "verdict"));
    assert_non_null(strstr(o.out, "cli-run/r1"));
    for (const char *f = "telemetry.csv\0loss.csv\0summary.json\0signal.gp\0heatmap.gp\0"
                         "loss.gp\0units.gp\0hist_init.gp\0signal.dat\0";
         *f; f += strlen(f) + 1) {
        char rel[200];
        snprintf(rel, sizeof rel, "cli-run/r1/%s", f);
        assert_file(rel);
    }
    if (gnuplot)
        for (const char *f = "signal\0heatmap\0loss\0units\0hist_init\0"; *f; f += strlen(f) + 1) {
            char rel[200];
            snprintf(rel, sizeof rel, "cli-run/r1/%s.png", f);
            assert_file(rel);
        }
    /* 4 linear + 3 activation layers, every step recorded, steps 0..29. */
    assert_int_equal(check_csv(path_of(p, sizeof p, "cli-run/r1/telemetry.csv"), 7, &steps),
                     1 + 30 * 7);
    assert_int_equal(steps, 30);
    assert_true(count_lines(path_of(p, sizeof p, "cli-run/r1/loss.csv")) >= 31);
    assert_true(summary_number("cli-run/r1", "steps") == 30);
    assert_true(summary_number("cli-run/r1", "final_accuracy") > 0.2); /* 10 classes */

    /* --every 5: one step in five recorded; svg figures; the run's --name. */
    RUN(&o, "run", "--depth", "4", "--width", "16", "--steps", "30", "--every", "5", "--out",
        "cli-run/r2", "--plot", "svg", "--name", "five", "--quiet");
    expect_status(&o, 0);
    assert_string_equal(o.out, "");
    assert_int_equal(check_csv_every(path_of(p, sizeof p, "cli-run/r2/telemetry.csv"), 7, 5,
                                     &steps), 1 + 6 * 7);
    assert_int_equal(steps, 6);
    {
        char name[64];
        summary_string(name, sizeof name, "cli-run/r2", "name");
        assert_string_equal(name, "five");
    }
    if (gnuplot)
        assert_file("cli-run/r2/signal.svg");
}

static void without_gnuplot_the_scripts_are_kept(void **state)
{
    output o;
    (void)state;
    /* report.h looks for gnuplot in $GNUPLOT first. */
    setenv("GNUPLOT", "/nonexistent/gnuplot", 1);
    RUN(&o, "run", "--depth", "3", "--width", "8", "--steps", "5", "--out", "cli-run/nognu");
    unsetenv("GNUPLOT");
    expect_status(&o, 0);
    assert_non_null(strstr(o.err, "note:"));
    assert_non_null(strstr(o.out, "gnuplot scripts"));
    assert_file("cli-run/nognu/signal.gp");
    assert_file("cli-run/nognu/figures.gp");
    assert_true(file_size("cli-run/nognu/signal.png") < 0);
}

static void run_on_every_data_set(void **state)
{
    static const char *const sets[] = {"gauss", "xor", "spirals", "moons"};
    output o;
    char csv[700];
    FILE *f;
    (void)state;
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        char dir[64];
        snprintf(dir, sizeof dir, "cli-run/%s", sets[i]);
        RUN(&o, "run", "--data", sets[i], "--depth", "3", "--width", "8", "--steps", "5",
            "--samples", "100", "--plot", "none", "--out", dir, "-q");
        expect_status(&o, 0);
    }
    /* A CSV file of the user's: header, label in the first column. */
    f = fopen(path_of(csv, sizeof csv, "table.csv"), "w");
    assert_non_null(f);
    fprintf(f, "label,a,b\n");
    for (int i = 0; i < 60; i++)
        fprintf(f, "%d,%g,%g\n", i % 3, (double)(i % 7) / 7, (double)(i % 5) / 5);
    fclose(f);
    RUN(&o, "run", "--data", csv, "--label-column", "1", "--header", "--depth", "3",
        "--width", "8", "--steps", "5", "--plot", "none", "--out", "cli-run/csv", "-q");
    expect_status(&o, 0);
    assert_file("cli-run/csv/summary.json");
    /* A malformed one: a one-line error naming the line and column, exit 1. */
    f = fopen(path_of(csv, sizeof csv, "bad.csv"), "w");
    assert_non_null(f);
    fprintf(f, "1,2,0\n3,abc,1\n");
    fclose(f);
    RUN(&o, "run", "--data", csv, "--steps", "5", "--plot", "none", "--out", "cli-run/bad");
    expect_status(&o, 1);
    assert_one_line_error(&o, "bad.csv:2:2");
}

static void nonfinite_stops_and_keeps_the_evidence(void **state)
{
    output o;
    char p[700], verdict[64];
    int steps;
    (void)state;
    /* N(0, 10^12) weights, 60 layers: each multiplies the activations by about
     * 1e6 sqrt(64/2), which overflows float and double alike on the first step. */
    RUN(&o, "run", "--act", "relu", "--init", "normal:1e6", "--depth", "60", "--steps", "50",
        "--plot", "none", "--out", "cli-run/nan");
    expect_status(&o, 3);
    assert_non_null(strstr(o.err, "step 0"));
    assert_non_null(strstr(o.err, "layer"));
    assert_non_null(strstr(o.err, "cli-run/nan"));
    summary_string(verdict, sizeof verdict, "cli-run/nan", "verdict");
    assert_string_equal(verdict, "nonfinite");
    assert_true(summary_number("cli-run/nan", "nonfinite_step") == 0);
    check_csv(path_of(p, sizeof p, "cli-run/nan/telemetry.csv"), 119, &steps);
    assert_int_equal(steps, 1);

    /* Asked to skip such updates, the run goes on (and says what it saw). */
    RUN(&o, "run", "--act", "relu", "--init", "normal:1e6", "--depth", "60", "--steps", "5",
        "--skip-nonfinite", "--plot", "none", "--out", "cli-run/skip", "-q");
    expect_status(&o, 0);
    summary_string(verdict, sizeof verdict, "cli-run/skip", "verdict");
    assert_string_equal(verdict, "nonfinite");
    assert_true(summary_number("cli-run/skip", "steps") == 5);
}

static void save_and_resume_continue_bit_for_bit(void **state)
{
    output o;
    char whole[700], half[700], resumed[700];
    FILE *a, *b;
    int ca, cb;
    long n = 0;
    (void)state;
    path_of(whole, sizeof whole, "whole.gfm");
    path_of(half, sizeof half, "half.gfm");
    path_of(resumed, sizeof resumed, "resumed.gfm");
    RUN(&o, "run", "--depth", "5", "--width", "16", "--steps", "40", "--save", whole,
        "--plot", "none", "--out", "cli-run/whole", "-q");
    expect_status(&o, 0);
    RUN(&o, "run", "--depth", "5", "--width", "16", "--steps", "17", "--save", half,
        "--plot", "none", "--out", "cli-run/half", "-q");
    expect_status(&o, 0);
    RUN(&o, "run", "--steps", "40", "--resume", half, "--save", resumed, "--plot", "none",
        "--out", "cli-run/resumed", "-q");
    expect_status(&o, 0);
    /* The same weights, optimiser state and step count, to the last bit. */
    a = fopen(whole, "rb");
    b = fopen(resumed, "rb");
    assert_non_null(a);
    assert_non_null(b);
    do {
        ca = fgetc(a), cb = fgetc(b);
        assert_int_equal(ca, cb);
        n++;
    } while (ca != EOF);
    fclose(a), fclose(b);
    assert_true(n > 1000);
    assert_true(summary_number("cli-run/resumed", "final_loss") ==
                summary_number("cli-run/whole", "final_loss"));
    /* Resuming a model past its --steps is a usage error; a missing model fails. */
    RUN(&o, "run", "--steps", "10", "--resume", half, "--plot", "none", "--out",
        "cli-run/past");
    expect_status(&o, 2);
    assert_one_line_error(&o, "already made 17 steps");
    RUN(&o, "run", "--resume", "no-such.gfm", "--plot", "none", "--out", "cli-run/none");
    expect_status(&o, 1);
    assert_one_line_error(&o, "--resume no-such.gfm");
}

/* ---- compare -------------------------------------------------------------------------- */

static void compare_overlays_one_run_per_value(void **state)
{
    output o;
    (void)state;
    RUN(&o, "compare", "--act", "sigmoid,relu", "--depth", "4", "--width", "16", "--steps",
        "10", "--plot", "none", "--out", "cli-cmp/act");
    expect_status(&o, 0);
    assert_file("cli-cmp/act/sigmoid/summary.json");
    assert_file("cli-cmp/act/relu/summary.json");
    assert_file("cli-cmp/act/signal.gp");
    assert_file("cli-cmp/act/signal.dat");
    assert_file("cli-cmp/act/loss.gp");
    assert_file("cli-cmp/act/units.gp");
    assert_non_null(strstr(o.out, "verdict"));
    assert_non_null(strstr(o.out, "\nsigmoid "));
    assert_non_null(strstr(o.out, "\nrelu "));

    /* The other list options: --lr and --clip-norm (labels name the option). */
    RUN(&o, "compare", "--lr", "0.01,0.1", "--depth", "3", "--width", "8", "--steps", "5",
        "--plot", "none", "--out", "cli-cmp/lr", "-q");
    expect_status(&o, 0);
    assert_file("cli-cmp/lr/lr=0.01/summary.json");
    assert_file("cli-cmp/lr/lr=0.1/summary.json");
    RUN(&o, "compare", "--clip", "none,norm:0.5,value:0.01", "--depth", "3", "--width", "8",
        "--steps", "5", "--plot", "none", "--out", "cli-cmp/clip", "-q");
    expect_status(&o, 0);
    assert_file("cli-cmp/clip/clip=norm-0.5/summary.json");
    assert_true(summary_number("cli-cmp/clip/clip=none", "steps") == 5);
}

/* ---- sweep and merge ------------------------------------------------------------------ */

static void sweep_runs_a_grid_in_parallel(void **state)
{
    output o;
    (void)state;
    RUN(&o, "sweep", "--act", "relu,tanh", "--depth", "3,4", "--width", "8", "--steps", "5",
        "--jobs", "2", "--plot", "none", "--out", "cli-sweep/grid");
    expect_status(&o, 0);
    for (const char *d = "act=relu_depth=3\0act=relu_depth=4\0act=tanh_depth=3\0"
                         "act=tanh_depth=4\0";
         *d; d += strlen(d) + 1) {
        char rel[200], name[128];
        snprintf(rel, sizeof rel, "cli-sweep/grid/%s/summary.json", d);
        assert_file(rel);
        snprintf(rel, sizeof rel, "cli-sweep/grid/%s", d);
        summary_string(name, sizeof name, rel, "name");
        assert_non_null(strstr(name, "act="));
    }
    assert_file("cli-sweep/grid/signal.gp");
    assert_non_null(strstr(o.out, "merged 4 runs"));
    assert_non_null(strstr(o.out, "act=tanh,depth=4"));
}

static void emitted_commands_run_and_merge(void **state)
{
    output o;
    char line[2048], *nl;
    int n = 0;
    (void)state;
    RUN(&o, "sweep", "--init", "he,xavier", "--seed", "1,2", "--depth", "3", "--width", "8",
        "--steps", "5", "--plot", "none", "--out", "cli-sweep/emit", "--emit-commands");
    expect_status(&o, 0);
    for (const char *p = o.out; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
        assert_non_null(strstr(p, " run "));
        assert_non_null(strstr(p, "--out"));
        n++;
    }
    assert_int_equal(n, 4);
    /* Nothing ran. */
    assert_true(file_size("cli-sweep/emit") < 0);
    /* Run the first line as a shell would (a Slurm task), in the scratch directory. */
    nl = strchr(o.out, '\n');
    snprintf(line, sizeof line, "cd %s && %.*s", base, (int)(nl - o.out), o.out);
    assert_int_equal(system(line), 0);
    assert_file("cli-sweep/emit/init=he_seed=1/summary.json");

    /* Runs made by separate processes merge by directory. */
    RUN(&o, "run", "--depth", "3", "--width", "8", "--steps", "5", "--plot", "none", "--out",
        "cli-sweep/sep/a", "--name", "a", "-q");
    expect_status(&o, 0);
    RUN(&o, "run", "--act", "tanh", "--depth", "3", "--width", "8", "--steps", "5", "--plot",
        "none", "--out", "cli-sweep/sep/b", "--name", "b", "-q");
    expect_status(&o, 0);
    {
        char d1[700], d2[700];
        RUN(&o, "merge", path_of(d1, sizeof d1, "cli-sweep/sep"),
            path_of(d2, sizeof d2, "cli-sweep/emit"), "--plot", "none");
    }
    expect_status(&o, 0);
    assert_non_null(strstr(o.out, "merged 3 runs"));
    assert_non_null(strstr(o.out, "\na "));
    assert_non_null(strstr(o.out, "\nb "));
    assert_file("cli-sweep/sep/signal.gp");
}

/* ---- the classic verdicts ------------------------------------------------------------- */

static void classic_verdicts(void **state)
{
    static const struct {
        const char *act, *init, *verdict;
        double factor_lo, factor_hi; /* per-layer factor of the signal at init */
    } cases[] = {
        /* sigmoid' <= 1/4 and Xavier keeps the weights' gain near 1: each layer passes
         * back at most about a quarter of the signal. */
        {"sigmoid", "xavier", "vanishing", 0.1, 0.3},
        /* N(0, 1) weights, 64 wide: ||W^T v|| ~ 8 ||v||, and tanh' (about 1/4 on
         * saturated units) does not undo that. */
        {"tanh", "normal", "exploding", 1.3, 8},
        /* He keeps the variance of the signal: a factor near 1. */
        {"relu", "he", "healthy", 0.8, 1.25},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        output o;
        char dir[64], verdict[64];
        double factor;
        snprintf(dir, sizeof dir, "cli-verdict/%s", cases[i].act);
        RUN(&o, "run", "--act", cases[i].act, "--init", cases[i].init, "--depth", "12",
            "--steps", "5", "--plot", "none", "--out", dir, "-q");
        expect_status(&o, 0);
        summary_string(verdict, sizeof verdict, dir, "verdict");
        if (strcmp(verdict, cases[i].verdict) != 0)
            fail_msg("%s with %s: verdict '%s', expected '%s'", cases[i].act, cases[i].init,
                     verdict, cases[i].verdict);
        factor = summary_number(dir, "factor_init");
        if (!(factor >= cases[i].factor_lo && factor <= cases[i].factor_hi))
            fail_msg("%s with %s: per-layer factor %g outside [%g, %g]", cases[i].act,
                     cases[i].init, factor, cases[i].factor_lo, cases[i].factor_hi);
        /* The mean-field prediction is printed beside the measurement and agrees with it
         * to 15% at width 64 (finite-width fluctuations; theory.h is tested tightly). */
        double predicted = summary_number(dir, "predicted_factor_init");
        if (!(fabs(predicted - factor) <= 0.15 * predicted))
            fail_msg("%s with %s: predicted factor %g, measured %g", cases[i].act,
                     cases[i].init, predicted, factor);
    }
}

/* ---- Ctrl-C and kill -9 --------------------------------------------------------------- */

static void sigint_stops_after_the_step_and_writes_everything(void **state)
{
    const char *const args[] = {"run", "--steps", "100000000", "--depth", "4", "--width",
                                "16", "--plot", "none", "--out", "cli-sig/int", NULL};
    char p[700];
    output o;
    pid_t pid;
    int lines, steps;
    (void)state;
    pid = start(args, "int");
    /* Interrupt once it is well under way (the header and a few steps are on disk). */
    assert_true(wait_lines(path_of(p, sizeof p, "cli-sig/int/telemetry.csv"), 1 + 7 * 20, 20));
    assert_int_equal(kill(pid, SIGINT), 0);
    collect(&o, "int", wait_status(pid));
    expect_status(&o, 130);
    assert_non_null(strstr(o.err, "interrupted"));
    /* The run directory is complete and agrees with itself. */
    assert_file("cli-sig/int/summary.json");
    assert_file("cli-sig/int/loss.csv");
    lines = check_csv(p, 7, &steps);
    assert_int_equal(lines, 1 + 7 * steps);
    assert_true(steps >= 20);
    assert_true(summary_number("cli-sig/int", "steps") == steps);
    assert_int_equal(count_lines(path_of(p, sizeof p, "cli-sig/int/loss.csv")) >= steps + 1, 1);
}

static void kill_9_leaves_a_valid_csv(void **state)
{
    const char *const args[] = {"run", "--steps", "100000000", "--depth", "4", "--width",
                                "16", "--plot", "none", "--out", "cli-sig/kill", NULL};
    char p[700];
    pid_t pid;
    int lines, steps, st;
    (void)state;
    pid = start(args, "kill");
    assert_true(wait_lines(path_of(p, sizeof p, "cli-sig/kill/telemetry.csv"), 1 + 7 * 20, 20));
    assert_int_equal(kill(pid, SIGKILL), 0);
    st = wait_status(pid);
    assert_int_equal(st, 128 + SIGKILL);
    /* Valid up to its last complete line: every complete line is a whole record, in
     * order; no summary, since the process never got to write one. */
    lines = check_csv(p, 7, &steps);
    assert_true(lines >= 1 + 7 * 20);
    assert_true(file_size(path_of(p, sizeof p, "cli-sig/kill/summary.json")) < 0);
}

static void sigint_to_a_sweep_stops_its_children(void **state)
{
    const char *const args[] = {"sweep", "--act", "relu,tanh", "--steps", "100000000",
                                "--depth", "3", "--width", "8", "--jobs", "2", "--plot",
                                "none", "--out", "cli-sig/sweep", NULL};
    char p1[700], p2[700];
    output o;
    pid_t pid;
    (void)state;
    pid = start(args, "sweep");
    assert_true(wait_lines(path_of(p1, sizeof p1, "cli-sig/sweep/act=relu/telemetry.csv"), 50,
                           20));
    assert_true(wait_lines(path_of(p2, sizeof p2, "cli-sig/sweep/act=tanh/telemetry.csv"), 50,
                           20));
    /* To the parent alone: it passes the interrupt on and waits for its children. */
    assert_int_equal(kill(pid, SIGINT), 0);
    collect(&o, "sweep", wait_status(pid));
    expect_status(&o, 130);
    assert_file("cli-sig/sweep/act=relu/summary.json");
    assert_file("cli-sig/sweep/act=tanh/summary.json");
}

/* ---- deeper cures: normalisation, residual blocks, recurrent nets --------------------- */

static void cures_in_help_and_list(void **state)
{
    output o;
    (void)state;
    for (const char *cmd = "run\0compare\0sweep\0"; *cmd; cmd += strlen(cmd) + 1) {
        RUN(&o, cmd, "--help");
        expect_status(&o, 0);
        for (const char *opt = "--norm\0--residual\0--cell\0--seq-len\0--hidden\0"; *opt;
             opt += strlen(opt) + 1)
            if (strstr(o.out, opt) == NULL)
                fail_msg("%s --help does not mention %s", cmd, opt);
    }
    /* compare and sweep take them as lists. */
    RUN(&o, "compare", "--help");
    assert_non_null(strstr(o.out, "*--norm"));
    assert_non_null(strstr(o.out, "*--cell"));
    /* The showcase is left as it was. */
    RUN(&o, "showcase", "--help");
    assert_null(strstr(o.out, "--norm KIND"));
    assert_null(strstr(o.out, "--cell KIND"));

    RUN(&o, "list", "normalisations");
    expect_status(&o, 0);
    for (const char *w = "none\0batch\0layer\0Ioffe\0--residual\0"; *w; w += strlen(w) + 1)
        if (strstr(o.out, w) == NULL)
            fail_msg("list normalisations does not mention '%s'", w);
    assert_null(strstr(o.out, "sigmoid")); /* that section only */
    RUN(&o, "list", "cells");
    expect_status(&o, 0);
    for (int k = 0; k < GF_RNN_CELL_COUNT; k++)
        assert_non_null(strstr(o.out, gf_rnn_cell_name((gf_rnn_cell)k)));
    assert_non_null(strstr(o.out, "--seq-len"));
    RUN(&o, "list");
    for (const char *w = "normalisations\0recurrent cells\0adding\0"; *w; w += strlen(w) + 1)
        if (strstr(o.out, w) == NULL)
            fail_msg("list does not mention '%s'", w);
}

static void norm_rescues_the_deep_sigmoid_signal(void **state)
{
    output o;
    char p[700], verdict[64];
    double plain, batch, layer;
    int steps;
    (void)state;
    /* The classic case: sigmoid' <= 1/4, each layer passes back about a quarter. */
    RUN(&o, "run", "--act", "sigmoid", "--init", "xavier", "--depth", "12", "--steps", "5",
        "--plot", "none", "--out", "cli-cures/plain", "-q");
    expect_status(&o, 0);
    summary_string(verdict, sizeof verdict, "cli-cures/plain", "verdict");
    assert_string_equal(verdict, "vanishing");
    plain = summary_number("cli-cures/plain", "ratio_init");

    /* Batch norm divides each feature by its spread over the batch. Deep sigmoid layers
     * make the examples alike, so that spread is small and the division gives the signal
     * back: measured ratio 1.5 (1.4e-7 without), healthy. */
    RUN(&o, "run", "--act", "sigmoid", "--init", "xavier", "--depth", "12", "--steps", "5",
        "--norm", "batch", "--plot", "none", "--out", "cli-cures/batch");
    expect_status(&o, 0);
    assert_non_null(strstr(o.out, "batch norm"));
    summary_string(verdict, sizeof verdict, "cli-cures/batch", "verdict");
    assert_string_equal(verdict, "healthy");
    batch = summary_number("cli-cures/batch", "ratio_init");
    if (!(batch > 1e4 * plain))
        fail_msg("batch norm: ratio %g, plain %g", batch, plain);
    /* 12 linear, 11 batch-norm and 11 sigmoid layers per step. */
    assert_int_equal(check_csv(path_of(p, sizeof p, "cli-cures/batch/telemetry.csv"), 34,
                               &steps), 1 + 5 * 34);

    /* Layer norm divides each example by its spread over the features, which the sigmoid
     * outputs' mean of 1/2 keeps near ||x||: the factor per layer only goes from about
     * 0.24 to about 0.4 (rms sigma'(z) / rms sigma(z) for z ~ N(0, 1)), still vanishing
     * over 11 layers but some 300 times less (measured 4.8e-5 against 1.4e-7). */
    RUN(&o, "run", "--act", "sigmoid", "--init", "xavier", "--depth", "12", "--steps", "5",
        "--norm", "layer", "--plot", "none", "--out", "cli-cures/layer", "-q");
    expect_status(&o, 0);
    summary_string(verdict, sizeof verdict, "cli-cures/layer", "verdict");
    assert_string_equal(verdict, "vanishing");
    layer = summary_number("cli-cures/layer", "ratio_init");
    if (!(layer > 100 * plain))
        fail_msg("layer norm: ratio %g, plain %g", layer, plain);
    assert_true(summary_number("cli-cures/layer", "factor_init") > 0.33);
    assert_true(summary_number("cli-cures/plain", "factor_init") < 0.3);
}

/* The blocks' inner layers are layers of the network: one telemetry.csv records them all
 * (there are no telemetry_block*.csv any more), and the verdict is taken over every
 * linear layer. */
static void residual_blocks_write_their_telemetry(void **state)
{
    output o;
    char p[700], verdict[64];
    int steps;
    (void)state;
    /* Depth 22 = an input layer, 10 blocks of 2, an output layer. The skip paths carry the
     * signal past the sigmoids that a plain net of that depth loses it in. */
    RUN(&o, "run", "--act", "sigmoid", "--init", "xavier", "--depth", "22", "--width", "16",
        "--residual", "2", "--steps", "4", "--plot", "none", "--out", "cli-cures/res");
    expect_status(&o, 0);
    assert_non_null(strstr(o.out, "10 residual blocks of 2"));
    assert_null(strstr(o.out, "telemetry_block"));
    /* linear, sigmoid, 10 x (skip_begin, linear, sigmoid, linear, skip_add), linear;
     * every step recorded. */
    assert_int_equal(check_csv(path_of(p, sizeof p, "cli-cures/res/telemetry.csv"), 53,
                               &steps), 1 + 4 * 53);
    assert_int_equal(steps, 4);
    assert_true(file_size(path_of(p, sizeof p, "cli-cures/res/telemetry_block1.csv")) < 0);
    assert_true(summary_number("cli-cures/res", "n_linear") == 22);
    summary_string(verdict, sizeof verdict, "cli-cures/res", "verdict");
    assert_string_equal(verdict, "healthy");
    RUN(&o, "run", "--act", "sigmoid", "--init", "xavier", "--depth", "22", "--width", "16",
        "--steps", "4", "--plot", "none", "--out", "cli-cures/res-plain", "-q");
    expect_status(&o, 0);
    summary_string(verdict, sizeof verdict, "cli-cures/res-plain", "verdict");
    assert_string_equal(verdict, "vanishing");
    assert_true(summary_number("cli-cures/res", "ratio_init") >
                1e6 * summary_number("cli-cures/res-plain", "ratio_init"));

    /* Blocks of 3 with layer norm inside, recorded every 2nd step: (linear, layernorm,
     * relu), 2 x (skip_begin, (linear, layernorm, relu) twice, linear, skip_add), linear. */
    RUN(&o, "run", "--depth", "8", "--width", "16", "--residual", "3", "--norm", "layer",
        "--steps", "4", "--every", "2", "--plot", "none", "--out", "cli-cures/res-ln", "-q");
    expect_status(&o, 0);
    assert_int_equal(check_csv_every(path_of(p, sizeof p, "cli-cures/res-ln/telemetry.csv"),
                                     22, 2, &steps), 1 + 2 * 22);
    assert_true(file_size(path_of(p, sizeof p, "cli-cures/res-ln/telemetry_block1.csv")) < 0);
}

/* The points of each run in a compare's signal.dat ("# run i: LABEL, step S" then one
 * "depth layer grad_out_norm weight_grad_norm predicted" line per linear layer): counts[i]
 * and the first and last layers' grad_out_norm of each run. Returns the runs seen. */
static int signal_points(const char *rel, int counts[2], double first[2], double last[2],
                         char labels[2][64])
{
    char p[700], line[512];
    FILE *f = fopen(path_of(p, sizeof p, rel), "rb");
    int run = -1;
    assert_non_null(f);
    while (fgets(line, sizeof line, f) != NULL) {
        int depth, layer;
        double g, wg;
        if (strncmp(line, "# run ", 6) == 0) {
            assert_true(++run < 2);
            counts[run] = 0;
            assert_int_equal(sscanf(line, "# run %*d: %63[^,]", labels[run]), 1);
        } else if (run >= 0 && sscanf(line, "%d %d %lf %lf", &depth, &layer, &g, &wg) == 4) {
            assert_int_equal(depth, ++counts[run]);
            if (depth == 1)
                first[run] = g;
            last[run] = g;
        }
    }
    fclose(f);
    return run + 1;
}

/* compare --residual none,2: a plain net and a residual one of the same 22 linear layers,
 * each with a point per linear layer in the signal figure (the residual blocks' inner
 * layers included) and a verdict over all of them. */
static void compare_residual_none_and_2(void **state)
{
    output o;
    int counts[2] = {0, 0};
    double first[2] = {NAN, NAN}, last[2] = {NAN, NAN};
    char labels[2][64], verdict[64];
    (void)state;
    RUN(&o, "compare", "--act", "sigmoid", "--init", "xavier", "--depth", "22", "--width",
        "16", "--residual", "none,2", "--steps", "4", "--plot", "none", "--out",
        "cli-cures/cmp-res");
    expect_status(&o, 0);
    assert_non_null(strstr(o.out, "\nresidual=none "));
    assert_non_null(strstr(o.out, "\nresidual=2 "));
    assert_int_equal(signal_points("cli-cures/cmp-res/signal.dat", counts, first, last,
                                   labels), 2);
    assert_string_equal(labels[0], "residual=none");
    assert_string_equal(labels[1], "residual=2");
    assert_int_equal(counts[0], 22);
    assert_int_equal(counts[1], 22);
    /* Through 21 sigmoids the plain net loses the signal; the skips carry it. */
    assert_true(first[0] / last[0] < 1e-6);
    assert_true(first[1] / last[1] > 0.05);
    summary_string(verdict, sizeof verdict, "cli-cures/cmp-res/residual=none", "verdict");
    assert_string_equal(verdict, "vanishing");
    summary_string(verdict, sizeof verdict, "cli-cures/cmp-res/residual=2", "verdict");
    assert_string_equal(verdict, "healthy");
    assert_true(summary_number("cli-cures/cmp-res/residual=2", "n_linear") == 22);
    assert_true(summary_number("cli-cures/cmp-res/residual=none", "n_linear") == 22);
    /* The verdict's ratio is that of the figure's end points. */
    assert_true(fabs(summary_number("cli-cures/cmp-res/residual=2", "ratio_init") /
                     (first[1] / last[1]) - 1) < 1e-4);
}

/* A time.csv: "step,t,grad_h_norm", T lines per recorded step, t = 1..T in order, steps
 * 0, every, 2 every, ... Returns the number of recorded steps; *ratio0 is ||dL/dh_1|| /
 * ||dL/dh_T|| at step 0. */
static int check_time_csv(const char *rel, int T, int every, double *ratio0)
{
    char p[700], line[256];
    FILE *f = fopen(path_of(p, sizeof p, rel), "rb");
    int n = 0;
    double first = NAN, last = NAN;
    if (f == NULL)
        fail_msg("%s: missing", p);
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "step,t,grad_h_norm\n");
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned long step, t;
        double v;
        assert_int_equal(sscanf(line, "%lu,%lu,%lf", &step, &t, &v), 3);
        assert_int_equal(step, (unsigned long)(every * (n / T)));
        assert_int_equal(t, (unsigned long)(n % T + 1));
        assert_true(isfinite(v) && v > 0);
        if (n == 0)
            first = v;
        if (n == T - 1)
            last = v;
        n++;
    }
    fclose(f);
    assert_int_equal(n % T, 0);
    *ratio0 = first / last;
    return n / T;
}

static void recurrent_nets_record_the_gradient_through_time(void **state)
{
    output o;
    char p[700], t1[4096], t2[4096];
    double lstm, rnn, gru;
    int steps;
    int gnuplot = gf_plot_available();
    (void)state;
    RUN(&o, "run", "--cell", "lstm", "--data", "adding", "--seq-len", "20", "--hidden", "16",
        "--steps", "6", "--every", "2", "--out", "cli-cures/lstm");
    expect_status(&o, 0);
    assert_non_null(strstr(o.out, "lstm of 16 hidden units over 20 steps"));
    assert_non_null(strstr(o.out, "through time"));
    assert_int_equal(check_time_csv("cli-cures/lstm/time.csv", 20, 2, &lstm), 3);
    /* The recurrent layer and the linear output layer. */
    check_csv_every(path_of(p, sizeof p, "cli-cures/lstm/telemetry.csv"), 2, 2, &steps);
    assert_int_equal(steps, 3);
    assert_true(isfinite(summary_number("cli-cures/lstm", "final_loss")));
    assert_file("cli-cures/lstm/time.gp");
    assert_file("cli-cures/lstm/time.dat");
    if (gnuplot)
        assert_file("cli-cures/lstm/time.png");

    /* The data set defaults to adding for a recurrent net. */
    RUN(&o, "run", "--cell", "rnn", "--seq-len", "20", "--hidden", "16", "--steps", "6",
        "--every", "2", "--plot", "none", "--out", "cli-cures/rnn", "-q");
    expect_status(&o, 0);
    assert_int_equal(check_time_csv("cli-cures/rnn/time.csv", 20, 2, &rnn), 3);
    /* A tanh RNN multiplies the signal by W_h^T diag(tanh') at every step back, about 0.6
     * here: 19 steps leave ~1e-4 (measured 4.6e-5). The LSTM's cell state passes it on
     * through the forget gate, sigmoid(1) = 0.73 at init (measured 4.1e-3). */
    if (!(rnn < 0.01 && rnn < 0.1 * lstm))
        fail_msg("gradient ratio t=1 / t=T: rnn %g, lstm %g", rnn, lstm);

    /* Same seed, same sequences and weights: the same gradients. */
    RUN(&o, "run", "--cell", "rnn", "--seq-len", "20", "--hidden", "16", "--steps", "6",
        "--every", "2", "--plot", "none", "--out", "cli-cures/rnn2", "-q");
    expect_status(&o, 0);
    read_file(t1, sizeof t1, path_of(p, sizeof p, "cli-cures/rnn/time.csv"));
    read_file(t2, sizeof t2, path_of(p, sizeof p, "cli-cures/rnn2/time.csv"));
    assert_string_equal(t1, t2);

    /* A GRU on the digits, read as 8 rows of 8 pixels. */
    RUN(&o, "run", "--cell", "gru", "--data", "digits", "--seq-len", "8", "--hidden", "8",
        "--steps", "3", "--plot", "none", "--out", "cli-cures/gru", "-q");
    expect_status(&o, 0);
    assert_int_equal(check_time_csv("cli-cures/gru/time.csv", 8, 1, &gru), 3);
    assert_true(summary_number("cli-cures/gru", "final_accuracy") >= 0);

    /* compare draws the runs' gradients through time on one figure. */
    RUN(&o, "compare", "--cell", "rnn,lstm", "--seq-len", "10", "--hidden", "8", "--steps",
        "2", "--plot", "none", "--out", "cli-cures/cmp");
    expect_status(&o, 0);
    assert_file("cli-cures/cmp/rnn/time.csv");
    assert_file("cli-cures/cmp/lstm/time.csv");
    assert_file("cli-cures/cmp/time.gp");
    assert_file("cli-cures/cmp/time.dat");
    assert_non_null(strstr(o.out, "through time"));
    assert_non_null(strstr(o.out, "cli-cures/cmp/time.gp"));
    assert_string_equal(o.err, "");
}

static void bad_combinations_exit_2(void **state)
{
    static const struct {
        const char *args[8];
        const char *needle;
    } cases[] = {
        {{"run", "--cell", "lstm", "--residual", "2"}, "--residual: not with --cell lstm"},
        {{"run", "--cell", "gru", "--norm", "batch"}, "--norm: not with --cell gru"},
        {{"run", "--cell", "rnn", "--depth", "3"}, "--depth: not with --cell rnn"},
        {{"run", "--cell", "rnn", "--act", "tanh"}, "--act: not with --cell rnn"},
        {{"run", "--cell", "rnn", "--init", "lsuv"}, "--init lsuv"},
        {{"run", "--seq-len", "5"}, "--seq-len: only with --cell"},
        {{"run", "--hidden", "5"}, "--hidden: only with --cell"},
        {{"run", "--data", "adding"}, "--data adding: needs a recurrent net"},
        {{"run", "--cell", "rnn", "--seq-len", "0"}, "--seq-len: '0'"},
        {{"run", "--cell", "rnn", "--hidden", "0"}, "--hidden: '0'"},
        {{"run", "--cell", "rnn", "--hidden", "-3"}, "--hidden: '-3'"},
        {{"run", "--cell", "lstm", "--seq-len", "1"}, "at least 2 steps"},
        {{"run", "--cell", "rnn", "--data", "digits", "--seq-len", "7"},
         "--seq-len 7: the data's 64 input columns"},
        {{"run", "--cell", "elman"}, "--cell: 'elman'"},
        {{"run", "--residual", "0"}, "--residual: '0'"},
        {{"run", "--residual", "-2"}, "--residual: '-2'"},
        {{"run", "--residual", "3"}, "--residual 3: --depth 12 is not 2 + a multiple of 3"},
        {{"run", "--residual", "4", "--depth", "5"}, "--residual 4: --depth 5"},
        {{"run", "--norm", "group"}, "--norm: 'group'"},
        {{"run", "--norm", "batch", "--batch", "1"}, "--norm batch: needs --batch 2"},
        {{"run", "--norm", "batch", "--depth", "1"}, "--depth 1 has no hidden layer"},
        {{"run", "--norm", "layer", "--width", "1"}, "--norm layer: needs --width 2"},
        {{"run", "--cell", "rnn", "--data", "adding", "--loss", "cross_entropy"},
         "--loss cross_entropy"},
        {{"gradcheck", "--cell", "lstm", "--width", "8"}, "--width: not with --cell"},
        /* Every grid point is checked before the first run starts. */
        {{"compare", "--norm", "none,batch", "--cell", "lstm"}, "--norm: not with --cell"},
        {{"compare", "--residual", "2,3", "--depth", "6"}, "--residual 3: --depth 6"},
        {{"sweep", "--cell", "rnn,lstm", "--seq-len", "5,1"}, "at least 2 steps"},
        {{"showcase", "--norm", "batch"}, "--norm: not an option of showcase"},
        /* The library reads act_param 0 as the default slope: 0 itself is relu. */
        {{"run", "--act", "leaky_relu", "--act-param", "0"}, "slope of 0 is plain relu"},
        {{"compare", "--act", "elu", "--act-param", "1,0"}, "alpha of 0 is plain relu"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        output o;
        const char *args[16] = {0};
        size_t k = 0;
        for (; k < 8 && cases[i].args[k]; k++)
            args[k] = cases[i].args[k];
        if (strcmp(args[0], "gradcheck") != 0) {
            args[k++] = "--out";
            args[k++] = "cli-cures/bad";
        }
        run(&o, args);
        if (o.status != 2)
            fail_msg("case %zu (%s %s %s): exit %d, expected 2; stderr: %s", i, args[0],
                     args[1], args[2] ? args[2] : "", o.status, o.err);
        assert_one_line_error(&o, cases[i].needle);
        assert_string_equal(o.out, "");
    }
    /* Nothing ran. */
    assert_true(file_size("cli-cures/bad") < 0);
}

static void model_files_with_the_new_layers(void **state)
{
    static const char *const nets[][8] = {
        {"--norm", "batch", "--depth", "3", "--width", "8"},
        {"--residual", "2", "--depth", "4", "--width", "8"},
        {"--cell", "gru", "--seq-len", "5", "--hidden", "4"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++) {
        char model[700], rel[64], out[64];
        const char *args[24] = {"run"};
        size_t k = 1;
        output o;
        snprintf(rel, sizeof rel, "new%zu.gfm", i);
        snprintf(out, sizeof out, "cli-cures/save%zu", i);
        path_of(model, sizeof model, rel);
        for (size_t j = 0; j < 8 && nets[i][j]; j++)
            args[k++] = nets[i][j];
        for (const char *const *w = (const char *const[]){"--steps", "3", "--save", model,
                                                          "--plot", "none", "--out", out,
                                                          "-q", NULL};
             *w; w++)
            args[k++] = *w;
        run(&o, args);
        if (o.status == 1) {
            /* The model format cannot hold the layer yet: said in one line, before any
             * training, and no file left behind. */
            assert_one_line_error(&o, "--save");
            assert_non_null(strstr(o.err, "run without --save"));
            assert_true(file_size(model) < 0);
            assert_true(file_size(out) < 0);
            continue;
        }
        /* Once the format holds it, saving works and the run continues from the file. */
        expect_status(&o, 0);
        assert_true(file_size(model) > 0);
        if (i == 2) /* the network comes from the file; the data is named again */
            RUN(&o, "run", "--resume", model, "--steps", "5", "--data", "adding", "--seq-len",
                "5", "--plot", "none", "--out", out, "-q");
        else
            RUN(&o, "run", "--resume", model, "--steps", "5", "--plot", "none", "--out", out,
                "-q");
        expect_status(&o, 0);
    }
}

/* ---- the showcase --------------------------------------------------------------------- */

static void showcase_runs_and_writes_its_files(void **state)
{
    static const char *const acts[] = {"sigmoid", "tanh", "relu", "leaky_relu", "softplus"};
    output o;
    int gnuplot = gf_plot_available();
    char line_start[32];
    const char *row;
    (void)state;
    /* What `gradflow` with no arguments does, into a directory of the test's own. */
    if (SLOW)
        RUN(&o, "--out", "cli-showcase", "--steps", "40");
    else
        RUN(&o, "--out", "cli-showcase");
    expect_status(&o, 0);
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
        char rel[200];
        snprintf(rel, sizeof rel, "cli-showcase/%s/summary.json", acts[i]);
        assert_file(rel);
        snprintf(rel, sizeof rel, "cli-showcase/%s/telemetry.csv", acts[i]);
        assert_file(rel);
        snprintf(line_start, sizeof line_start, "\n%s ", acts[i]);
        assert_non_null(strstr(o.out, line_start));
    }
    for (const char *f = "signal\0loss\0units\0"; *f; f += strlen(f) + 1) {
        char rel[200];
        snprintf(rel, sizeof rel, "cli-showcase/%s.%s", f, gnuplot ? "png" : "gp");
        assert_file(rel);
    }
    /* It says where the figures are, and the deep sigmoid net's signal vanishes while
     * ReLU's does not. */
    assert_non_null(strstr(o.out, "cli-showcase/signal."));
    row = strstr(o.out, "\nsigmoid ");
    assert_non_null(row);
    assert_true(strstr(row, "vanishing") < strchr(row + 1, '\n'));
    row = strstr(o.out, "\nrelu ");
    assert_non_null(row);
    assert_true(strstr(row, "healthy") != NULL && strstr(row, "healthy") < strchr(row + 1, '\n'));
}

/* ---- writes: concurrent runs, full files, planted links ------------------------------ */

/* 1 when the file is empty or ends with a newline. */
static int ends_with_newline(const char *path)
{
    FILE *f = fopen(path, "rb");
    int last = '\n', c;
    assert_non_null(f);
    while ((c = fgetc(f)) != EOF)
        last = c;
    fclose(f);
    return last == '\n';
}

/* A second run into the --out of a running one stops at once with a clear error (exit
 * 1) and touches none of the first one's files; the first finishes with a run directory
 * that agrees with itself. The lock dies with its process: after kill -9 the next run
 * into the directory goes ahead. */
static void two_runs_into_one_out_never_mix(void **state)
{
    const char *const first[] = {"run", "--steps", "100000000", "--depth", "4", "--width",
                                 "16", "--plot", "none", "--out", "cli-w/same", NULL};
    char p[700];
    output o;
    pid_t pid;
    int lines, steps;
    (void)state;
    pid = start(first, "first");
    assert_true(wait_lines(path_of(p, sizeof p, "cli-w/same/telemetry.csv"), 1 + 7 * 5, 20));
    RUN(&o, "run", "--steps", "3", "--depth", "2", "--plot", "none", "--out", "cli-w/same",
        "-q");
    expect_status(&o, 1);
    assert_one_line_error(&o, "another gradflow process");
    assert_non_null(strstr(o.err, "--out cli-w/same"));
    assert_int_equal(kill(pid, SIGINT), 0);
    collect(&o, "first", wait_status(pid));
    expect_status(&o, 130);
    /* The first run's files only: 7 layers a step, its own step count. */
    lines = check_csv(p, 7, &steps);
    assert_int_equal(lines, 1 + 7 * steps);
    assert_true(summary_number("cli-w/same", "steps") == steps);
    assert_true(file_size(path_of(p, sizeof p, "cli-w/same/.gradflow.lock")) < 0);

    /* Killed while holding the lock: nothing stale is left to refuse the next run. */
    pid = start(first, "killed");
    assert_true(wait_lines(path_of(p, sizeof p, "cli-w/same/telemetry.csv"), 1 + 7 * 5, 20));
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(wait_status(pid), 128 + SIGKILL);
    RUN(&o, "run", "--steps", "3", "--depth", "2", "--plot", "none", "--out", "cli-w/same",
        "-q");
    expect_status(&o, 0);
    assert_true(summary_number("cli-w/same", "steps") == 3);
}

/* Four runs saving to one --save path at once, a few rounds: the model left always
 * loads (its checksum holds) and resumes. With the shared PATH.tmp of old, 6 rounds in
 * 10 left a broken file. */
static void concurrent_saves_leave_a_good_model(void **state)
{
    char model[700], dir[64], tag[16];
    pid_t pids[4];
    output o;
    (void)state;
    path_of(model, sizeof model, "shared.gfm");
    for (int round = 0; round < 3; round++) {
        remove(model);
        for (int k = 0; k < 4; k++) {
            char width[8];
            snprintf(dir, sizeof dir, "cli-w/save%d", k);
            snprintf(tag, sizeof tag, "save%d", k);
            snprintf(width, sizeof width, "%d", 8 + 4 * k); /* four different models */
            const char *const args[] = {"run", "--steps", "3", "--depth", "3", "--width",
                                        width, "--plot", "none", "--save", model, "--out",
                                        dir, "-q", NULL};
            pids[k] = start(args, tag);
        }
        for (int k = 0; k < 4; k++) {
            snprintf(tag, sizeof tag, "save%d", k);
            collect(&o, tag, wait_status(pids[k]));
            expect_status(&o, 0);
        }
        gf_net *net = NULL;
        assert_int_equal(gf_model_load(&net, NULL, NULL, model), GF_OK);
        assert_int_equal(gf_net_step_count(net), 3);
        gf_net_free(net);
        RUN(&o, "run", "--steps", "4", "--resume", model, "--plot", "none", "--out",
            "cli-w/resumed", "-q");
        expect_status(&o, 0);
    }
}

/* A symbolic link planted at the old fixed temporary name of --save (PATH.tmp) is not
 * followed: its target keeps its contents. */
static void planted_link_at_save_tmp_is_not_followed(void **state)
{
    char model[700], link[700], victim[700], buf[64];
    output o;
    FILE *f;
    (void)state;
    path_of(model, sizeof model, "linked.gfm");
    path_of(link, sizeof link, "linked.gfm.tmp");
    path_of(victim, sizeof victim, "victim.txt");
    f = fopen(victim, "w");
    assert_non_null(f);
    fputs("precious\n", f);
    fclose(f);
    assert_int_equal(symlink("victim.txt", link), 0);
    RUN(&o, "run", "--steps", "2", "--depth", "2", "--plot", "none", "--save", model, "--out",
        "cli-w/linked", "-q");
    expect_status(&o, 0);
    read_file(buf, sizeof buf, victim);
    assert_string_equal(buf, "precious\n");
    assert_true(file_size(model) > 100);
}

/* Under a file size limit (ulimit -f), the program is not killed by SIGXFSZ: it says
 * which file is too large and exits 1, and telemetry.csv holds whole lines, each step
 * complete. The limit is set around the fork of the child (the parent writes no file
 * meanwhile). */
static void file_size_limit_exits_1_with_a_message(void **state)
{
    const char *const args[] = {"run", "--steps", "100000", "--depth", "6", "--width", "8",
                                "--plot", "none", "--out", "cli-w/fsize", NULL};
    struct rlimit old, lim;
    char p[700];
    output o;
    pid_t pid;
    int lines, steps;
    (void)state;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 40000;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    pid = start(args, "fsize");
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    collect(&o, "fsize", wait_status(pid));
    expect_status(&o, 1);
    assert_non_null(strstr(o.err, "File too large"));
    assert_non_null(strstr(o.err, "telemetry.csv"));
    path_of(p, sizeof p, "cli-w/fsize/telemetry.csv");
    assert_true(ends_with_newline(p));
    lines = check_csv(p, 11, &steps);
    assert_int_equal(lines, 1 + 11 * steps);
    assert_true(steps >= 5);
}

/* kill -9 of a deep run (depth 100: a step's 199 lines are some 30 KB, far more than
 * stdio's buffer): telemetry.csv ends with a whole line and a whole step, every time. */
static void kill_9_of_a_deep_run_leaves_whole_steps(void **state)
{
    const char *const args[] = {"run", "--steps", "100000000", "--depth", "100", "--width",
                                "8", "--plot", "none", "--out", "cli-w/deep", NULL};
    char p[700];
    (void)state;
    path_of(p, sizeof p, "cli-w/deep/telemetry.csv");
    for (int round = 0; round < 3; round++) {
        pid_t pid = start(args, "deep");
        int lines, steps;
        struct timespec ts = {0, (long)(round + 1) * 37 * 1000 * 1000};
        assert_true(wait_lines(p, 1 + 199 * 2, 30));
        nanosleep(&ts, NULL);
        assert_int_equal(kill(pid, SIGKILL), 0);
        assert_int_equal(wait_status(pid), 128 + SIGKILL);
        assert_true(ends_with_newline(p));
        lines = check_csv(p, 199, &steps);
        assert_int_equal(lines, 1 + 199 * steps);
    }
}

/* merge reads "steps" from summary.json: a hand-edited 1e300 (or -1, or 2.5) is named as
 * not a step count and the merge exits 1, instead of an out-of-range conversion to an
 * integer (undefined behaviour, which clang's -fsanitize=float-cast-overflow reports). */
static void merge_refuses_a_step_count_out_of_range(void **state)
{
    static const char *const bad[] = {"1e300", "-1", "2.5", "1.8446744073709552e19"};
    char path[700], text[8192], edited[8400];
    output o;
    FILE *f;
    (void)state;
    RUN(&o, "run", "--steps", "2", "--depth", "2", "--plot", "none", "--out",
        "cli-w/m/a", "-q");
    expect_status(&o, 0);
    path_of(path, sizeof path, "cli-w/m/a/summary.json");
    read_file(text, sizeof text, path);
    char *at = strstr(text, "\n  \"steps\": 2,");
    assert_non_null(at);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(edited, sizeof edited, "%.*s\n  \"steps\": %s,%s", (int)(at - text), text,
                 bad[i], at + strlen("\n  \"steps\": 2,"));
        f = fopen(path, "w");
        assert_non_null(f);
        fputs(edited, f);
        fclose(f);
        RUN(&o, "merge", "cli-w/m", "--plot", "none", "-q");
        expect_status(&o, 1);
        assert_non_null(strstr(o.err, "not a step count"));
    }
}

/* ---- main ----------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    static const struct CMUnitTest basics[] = {
        cmocka_unit_test(version_and_help),
        cmocka_unit_test(list_shows_the_tables),
        cmocka_unit_test(bad_options_exit_2_with_one_line),
        cmocka_unit_test(gradcheck_passes_and_fails),
    };
    static const struct CMUnitTest runs[] = {
        cmocka_unit_test(run_writes_its_directory),
        cmocka_unit_test(without_gnuplot_the_scripts_are_kept),
        cmocka_unit_test(run_on_every_data_set),
        cmocka_unit_test(nonfinite_stops_and_keeps_the_evidence),
        cmocka_unit_test(save_and_resume_continue_bit_for_bit),
    };
    static const struct CMUnitTest compare[] = {
        cmocka_unit_test(compare_overlays_one_run_per_value),
    };
    static const struct CMUnitTest sweep[] = {
        cmocka_unit_test(sweep_runs_a_grid_in_parallel),
        cmocka_unit_test(emitted_commands_run_and_merge),
    };
    static const struct CMUnitTest verdicts[] = {
        cmocka_unit_test(classic_verdicts),
    };
    static const struct CMUnitTest signals[] = {
        cmocka_unit_test(sigint_stops_after_the_step_and_writes_everything),
        cmocka_unit_test(kill_9_leaves_a_valid_csv),
        cmocka_unit_test(sigint_to_a_sweep_stops_its_children),
    };
    static const struct CMUnitTest showcase[] = {
        cmocka_unit_test(showcase_runs_and_writes_its_files),
    };
    static const struct CMUnitTest cures[] = {
        cmocka_unit_test(cures_in_help_and_list),
        cmocka_unit_test(norm_rescues_the_deep_sigmoid_signal),
        cmocka_unit_test(residual_blocks_write_their_telemetry),
        cmocka_unit_test(compare_residual_none_and_2),
        cmocka_unit_test(recurrent_nets_record_the_gradient_through_time),
        cmocka_unit_test(bad_combinations_exit_2),
        cmocka_unit_test(model_files_with_the_new_layers),
    };
    static const struct CMUnitTest writes[] = {
        cmocka_unit_test(two_runs_into_one_out_never_mix),
        cmocka_unit_test(concurrent_saves_leave_a_good_model),
        cmocka_unit_test(planted_link_at_save_tmp_is_not_followed),
        cmocka_unit_test(file_size_limit_exits_1_with_a_message),
        cmocka_unit_test(kill_9_of_a_deep_run_leaves_whole_steps),
        cmocka_unit_test(merge_refuses_a_step_count_out_of_range),
    };
    const char *group;
    char cmd[700];

    if (argc != 3) {
        fprintf(stderr, "usage: test_cli PATH-TO-gradflow GROUP\n");
        return 2;
    }
    gradflow_bin = argv[1];
    group = argv[2];
    /* A fresh scratch directory per group, so groups can run in parallel. */
    if (strlen(group) > 64 || strchr(group, '\'') != NULL) {
        fprintf(stderr, "test_cli: bad group name\n");
        return 2;
    }
    snprintf(base, sizeof base, "cli-test-%.64s", group);
    snprintf(cmd, sizeof cmd, "rm -rf '%.100s' && mkdir -p '%.100s'", base, base);
    if (system(cmd) != 0)
        return 1;
    /* The program runs in the scratch directory: its relative paths land there. */
    if (chdir(base) != 0)
        return 1;
    snprintf(base, sizeof base, ".");
#define GROUP(name, tests)                                                            \
    if (strcmp(group, name) == 0)                                                     \
        return cmocka_run_group_tests_name(name, tests, NULL, NULL);
    GROUP("basics", basics)
    GROUP("run", runs)
    GROUP("compare", compare)
    GROUP("sweep", sweep)
    GROUP("verdicts", verdicts)
    GROUP("signals", signals)
    GROUP("showcase", showcase)
    GROUP("cures", cures)
    GROUP("writes", writes)
    fprintf(stderr, "test_cli: unknown group '%s'\n", group);
    return 2;
}
