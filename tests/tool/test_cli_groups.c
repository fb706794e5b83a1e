/* tests/tool/test_cli_groups.c: the gradflow program, part of test_cli
 * (tests/tool/test_cli.h): the compare, sweep, verdicts (the classic cases read back
 * from summary.json) and signals (Ctrl-C and kill -9 in the middle of a run) groups. */
#include "test_cli.h"

/* ---- compare -------------------------------------------------------------------------- */

void compare_overlays_one_run_per_value(void **state)
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

/* The first line of out that starts with `start`, into buf; NULL when none. */
static const char *table_line(const char *out, const char *start, char *buf, size_t len)
{
    char pat[128];
    const char *p, *end;
    snprintf(pat, sizeof pat, "\n%s", start);
    if (strncmp(out, start, strlen(start)) == 0)
        p = out;
    else if ((p = strstr(out, pat)) != NULL)
        p++;
    else
        return NULL;
    end = strchr(p, '\n');
    snprintf(buf, len, "%.*s", end ? (int)(end - p) : (int)strlen(p), p);
    return buf;
}

/* How many times word stands alone (between blanks) in line. */
static int count_word(const char *line, const char *word)
{
    int n = 0;
    size_t k = strlen(word);
    for (const char *p = strstr(line, word); p != NULL; p = strstr(p + 1, word))
        n += (p == line || p[-1] == ' ') && (p[k] == ' ' || p[k] == '\0');
    return n;
}

/* compare, merge and sweep speak alike: a compare over --init names its first column
 * init and has no second init column; merging a compare's directory gives the same
 * header and the same rows (the init as compare shows it, not "suited"); a sweep over
 * --depth lists depth=5 before depth=20. */
void compare_merge_and_sweep_share_one_vocabulary(void **state)
{
    output o;
    char line[512], row[512], d[700];
    (void)state;
    RUN(&o, "compare", "--init", "xavier,he", "--act", "tanh", "--depth", "3", "--width",
        "8", "--steps", "2", "--plot", "none", "--out", "cli-vocab/init");
    expect_status(&o, 0);
    assert_non_null(table_line(o.out, "init ", line, sizeof line));
    assert_int_equal(count_word(line, "init"), 1);

    RUN(&o, "compare", "--act", "relu,tanh", "--depth", "3", "--width", "8", "--steps", "2",
        "--plot", "none", "--out", "cli-vocab/act");
    expect_status(&o, 0);
    assert_non_null(table_line(o.out, "act ", line, sizeof line));
    assert_non_null(table_line(o.out, "tanh ", row, sizeof row));
    RUN(&o, "merge", path_of(d, sizeof d, "cli-vocab/act"), "--plot", "none");
    expect_status(&o, 0);
    char mline[512], mrow[512];
    assert_non_null(table_line(o.out, "act ", mline, sizeof mline));
    assert_string_equal(mline, line);
    /* The same label and init (xavier, tanh's suited scheme, not "suited"), and the
     * same figures: both read the same run. */
    assert_non_null(table_line(o.out, "tanh ", mrow, sizeof mrow));
    assert_string_equal(mrow, row);

    RUN(&o, "sweep", "--depth", "20,5,10", "--width", "8", "--steps", "2", "--plot", "none",
        "--out", "cli-vocab/depth", "-q");
    expect_status(&o, 0);
    const char *a = strstr(o.out, "\ndepth=5 "), *b = strstr(o.out, "\ndepth=10 "),
               *c = strstr(o.out, "\ndepth=20 ");
    assert_true(a != NULL && b != NULL && c != NULL);
    assert_true(a < b && b < c);
    assert_non_null(table_line(o.out, "depth ", line, sizeof line));
}

/* ---- sweep and merge ------------------------------------------------------------------ */

void sweep_runs_a_grid_in_parallel(void **state)
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

void emitted_commands_run_and_merge(void **state)
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

void classic_verdicts(void **state)
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
        /* The classic verdicts are those at init (5 steps of tanh on N(0, 1) weights
         * already saturate it into a healthy-looking ratio: the end verdict may differ). */
        summary_string(verdict, sizeof verdict, dir, "verdict_init");
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

void sigint_stops_after_the_step_and_writes_everything(void **state)
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

void kill_9_leaves_a_valid_csv(void **state)
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

void sigint_to_a_sweep_stops_its_children(void **state)
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
