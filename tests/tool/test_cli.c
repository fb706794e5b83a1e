/* tests/tool/test_cli.c: the gradflow program, run as a child process the way a user
 * runs it, in five sources (tests/tool/test_cli.h): here the helpers that run it and
 * read its files, the basics and run groups (exit statuses, one-line errors, the files
 * of a run directory), and main; test_cli_groups.c: compare, sweep, verdicts, signals;
 * test_cli_cures.c: normalisation, residual and recurrent nets, the showcase;
 * test_cli_budget.c: memory limits; test_cli_writes.c: concurrent and failing writes.
 * Usage: test_cli PATH-TO-gradflow GROUP (basics, run, compare, sweep, verdicts,
 * signals, showcase, cures, budget, writes); CTest runs one group per test, in the build
 * directory. */
#include "test_cli.h"

#include <sys/resource.h>

static const char *gradflow_bin;
char base[512]; /* this group's scratch directory */


/* ---- Running the program -------------------------------------------------------------- */


void read_file(char *buf, size_t len, const char *path)
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
rlim_t child_as_limit = RLIM_INFINITY; /* the children's address space (ulimit -v) */

pid_t start(const char *const *args, const char *tag)
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
        if (child_as_limit != RLIM_INFINITY) {
            struct rlimit rl = {child_as_limit, child_as_limit};
            if (setrlimit(RLIMIT_AS, &rl) != 0)
                _exit(97);
        }
        execv(gradflow_bin, (char *const *)argv);
        _exit(98);
    }
    assert_true(pid > 0);
    return pid;
}

int wait_status(pid_t pid)
{
    int ws;
    while (waitpid(pid, &ws, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

void collect(output *o, const char *tag, int status)
{
    char path[700];
    o->status = status;
    snprintf(path, sizeof path, "%s/%s.out", base, tag);
    read_file(o->out, sizeof o->out, path);
    snprintf(path, sizeof path, "%s/%s.err", base, tag);
    read_file(o->err, sizeof o->err, path);
}

/* Run to completion. */
void run(output *o, const char *const *args)
{
    collect(o, "last", wait_status(start(args, "last")));
}

char *path_of(char *buf, size_t len, const char *rel)
{
    int n = snprintf(buf, len, "%s/%s", base, rel);
    if (n < 0 || (size_t)n >= len)
        fail_msg("path too long: %s/%s", base, rel);
    return buf;
}

long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

/* A file of the scratch directory exists and is not empty. */
void assert_file(const char *rel)
{
    char p[700];
    long size = file_size(path_of(p, sizeof p, rel));
    if (size <= 0)
        fail_msg("%s: missing or empty (size %ld)", p, size);
}

int count_lines(const char *path)
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
void summary_string(char *buf, size_t len, const char *rel_dir, const char *key)
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

double summary_number(const char *rel_dir, const char *key)
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
void assert_one_line_error(const output *o, const char *needle)
{
    size_t len = strlen(o->err);
    if (strncmp(o->err, "gradflow: ", 10) != 0 || len == 0 || o->err[len - 1] != '\n' ||
        strchr(o->err, '\n') != o->err + len - 1)
        fail_msg("not a one-line error: '%s'", o->err);
    if (strstr(o->err, needle) == NULL)
        fail_msg("error '%s' does not mention '%s'", o->err, needle);
}

void expect_status(const output *o, int status)
{
    if (o->status != status)
        fail_msg("exit status %d, expected %d\nstdout: %s\nstderr: %s", o->status, status,
                 o->out, o->err);
}

/* The telemetry CSV's complete lines: every one has the header's number of fields and
 * numeric step and layer; steps start at 0 and advance by `every` each n_layers lines.
 * Returns the number of complete lines; *steps the number of steps recorded. */
int check_csv_every(const char *path, int n_layers, int every, int *steps)
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

int check_csv(const char *path, int n_layers, int *steps)
{
    return check_csv_every(path, n_layers, 1, steps);
}

/* Wait (at most `seconds`) until a file has at least `lines` lines. */
int wait_lines(const char *path, int lines, double seconds)
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
        /* Nothing silently accepted (issue 16). */
        {{"run", "--", "--depth", "5"}, "unexpected argument '--depth' after --"},
        {{"run", "--label-column", "2"}, "--label-column: only for a CSV file, not --data "
                                         "digits"},
        {{"run", "--data", "xor", "--no-header"}, "--no-header: only for a CSV file"},
        {{"run", "--max-memory", "12x"}, "--max-memory: '12x' is not a size in bytes"},
        {{"run", "--max-memory", "1K"}, "--max-memory: '1K' must be at least"},
        {{"run", "--threads", "0"}, "--threads: '0' must be between 1 and 256"},
        {{"run", "--threads", "two"}, "--threads: 'two'"},
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

/* GRADFLOW_THREADS is read by the library, which ignores a bad value; the program
 * refuses it, so that a typo does not silently run on every core. */
static void bad_gradflow_threads_is_a_usage_error(void **state)
{
    output o;
    (void)state;
    setenv("GRADFLOW_THREADS", "2x", 1);
    RUN(&o, "run", "--depth", "3", "--width", "8", "--steps", "2", "--out", "cli-run/thr");
    unsetenv("GRADFLOW_THREADS");
    expect_status(&o, 2);
    assert_one_line_error(&o, "GRADFLOW_THREADS: threads: '2x' is not a whole number");
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

int main(int argc, char **argv)
{
    static const struct CMUnitTest basics[] = {
        cmocka_unit_test(version_and_help),
        cmocka_unit_test(list_shows_the_tables),
        cmocka_unit_test(bad_options_exit_2_with_one_line),
        cmocka_unit_test(long_values_are_refused),
        cmocka_unit_test(gradcheck_passes_and_fails),
    };
    static const struct CMUnitTest runs[] = {
        cmocka_unit_test(run_writes_its_directory),
        cmocka_unit_test(without_gnuplot_the_scripts_are_kept),
        cmocka_unit_test(bad_gradflow_threads_is_a_usage_error),
        cmocka_unit_test(run_on_every_data_set),
        cmocka_unit_test(nonfinite_stops_and_keeps_the_evidence),
        cmocka_unit_test(save_and_resume_continue_bit_for_bit),
    };
    static const struct CMUnitTest compare[] = {
        cmocka_unit_test(compare_overlays_one_run_per_value),
        cmocka_unit_test(compare_merge_and_sweep_share_one_vocabulary),
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
    static const struct CMUnitTest budget[] = {
        cmocka_unit_test(big_networks_are_refused_fast),
        cmocka_unit_test(bad_data_files_are_refused),
        cmocka_unit_test(resume_checks_the_step_count_first),
        cmocka_unit_test(sigint_during_a_data_load_stops_fast),
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
        cmocka_unit_test(run_files_replace_planted_links),
        cmocka_unit_test(file_size_limit_exits_1_with_a_message),
        cmocka_unit_test(kill_9_of_a_deep_run_leaves_whole_steps),
        cmocka_unit_test(merge_refuses_a_step_count_out_of_range),
    };
    static const struct CMUnitTest training[] = {
        cmocka_unit_test(run_draws_figures_over_training),
        cmocka_unit_test(compare_draws_figures_over_training),
        cmocka_unit_test(seeds_give_means_and_bands),
    };
    static const struct CMUnitTest views[] = {
        cmocka_unit_test(every_accepted_act_is_listed),
        cmocka_unit_test(unknown_figures_get_a_caption),
        cmocka_unit_test(every_recurrent_comparison_shows_the_gradient_through_time),
        cmocka_unit_test(align_output_lines_up_nets_of_different_depth),
        cmocka_unit_test(sweep_runs_every_point_with_n_seeds),
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
    GROUP("budget", budget)
    GROUP("writes", writes)
    GROUP("training", training)
    GROUP("views", views)
    fprintf(stderr, "test_cli: unknown group '%s'\n", group);
    return 2;
}
