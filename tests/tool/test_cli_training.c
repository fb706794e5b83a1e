/* tests/tool/test_cli_training.c: the figures over training that run and compare draw
 * (docs/figures.md 6-9): the histograms over the steps at a bounded cadence, the update
 * ratio, the norms before and after clipping, the test loss and accuracy. The data
 * files are read back and checked against telemetry.csv and summary.json. */
#include "test_cli.h"

/* The column of name in a CSV header line (-1: none). */
static int column_of(const char *header, const char *name)
{
    int col = 0;
    size_t n = strlen(name);
    for (const char *p = header; *p; col++) {
        if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\n' || p[n] == '\0'))
            return col;
        p = strchr(p, ',');
        if (p == NULL)
            break;
        p++;
    }
    return -1;
}

/* Field col of a CSV line as a number (NaN when empty). */
static double field(const char *line, int col)
{
    const char *p = line;
    for (int i = 0; i < col && p != NULL; i++) {
        p = strchr(p, ',');
        p = p ? p + 1 : NULL;
    }
    if (p == NULL || *p == ',' || *p == '\n' || *p == '\0')
        return NAN;
    return strtod(p, NULL);
}

/* telemetry.csv's value of column name at (step, layer). */
static double telemetry_value(const char *rel, const char *name, unsigned long long step,
                              unsigned layer)
{
    char p[700], line[4096];
    double v = NAN;
    FILE *f = fopen(path_of(p, sizeof p, rel), "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    int col = column_of(line, name);
    assert_true(col >= 0);
    while (fgets(line, sizeof line, f))
        if ((unsigned long long)field(line, 0) == step && (unsigned)field(line, 1) == layer)
            v = field(line, col);
    fclose(f);
    return v;
}

/* hist_steps.csv: every snapshot's step into steps (returns how many); per snapshot and
 * layer, the activations counted add up to the gradients counted plus their zeros
 * (both are the batch times the layer's width). */
static int check_hist_steps(const char *rel, unsigned long long *steps, int cap)
{
    char p[700], line[256];
    int n = 0;
    double act[8] = {0}, grad[8] = {0};
    FILE *f = fopen(path_of(p, sizeof p, rel), "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "step,which,unit,layer,kind,lo,hi,count\n");
    for (int more = 1; more;) {
        unsigned long long step = 0;
        unsigned long unit = 0, layer;
        char which[16], kind[32];
        double lo, hi, count;
        more = fgets(line, sizeof line, f) != NULL;
        if (more)
            assert_int_equal(sscanf(line, "%llu,%15[^,],%lu,%lu,%31[^,],%lf,%lf,%lf", &step,
                                    which, &unit, &layer, kind, &lo, &hi, &count), 8);
        if (n > 0 && (!more || step != steps[n - 1]))
            for (int u = 1; u < 8; u++) { /* a snapshot ends: its sums */
                assert_true(grad[u] <= act[u] && grad[u] >= 0.99 * act[u]);
                act[u] = grad[u] = 0;
            }
        if (!more)
            break;
        if (n == 0 || step != steps[n - 1]) {
            assert_true(n < cap);
            assert_true(n == 0 || step > steps[n - 1]);
            steps[n++] = step;
        }
        assert_true(unit >= 1 && unit < 8);
        if (strcmp(which, "act") == 0)
            act[unit] += count;
        else
            grad[unit] += count;
    }
    fclose(f);
    return n;
}

void run_draws_figures_over_training(void **state)
{
    output o;
    char p[700], buf[200000], line[256];
    unsigned long long steps[64];
    (void)state;
    RUN(&o, "run", "--depth", "4", "--width", "16", "--steps", "60", "--clip",
        "global_norm:0.5", "--out", "tr/r1", "--plot", "png", "--quiet");
    expect_status(&o, 0);
    /* 60 steps: a snapshot every ceil(60/24) = 3 steps from step 0, and the last. */
    int n = check_hist_steps("tr/r1/hist_steps.csv", steps, 64);
    assert_int_equal(n, 21);
    for (int i = 0; i < 20; i++)
        assert_int_equal(steps[i], 3 * i);
    assert_int_equal(steps[20], 59);

    /* update_ratio.dat: blocks per linear layer; its values are telemetry.csv's. */
    read_file(buf, sizeof buf, path_of(p, sizeof p, "tr/r1/update_ratio.dat"));
    char *row = strstr(buf, "\n10 ");
    assert_non_null(row);
    assert_true(fabs(strtod(row + 4, NULL) / telemetry_value("tr/r1/telemetry.csv",
                                                             "update_ratio", 10, 0) - 1) < 1e-5);

    /* clip.dat: the clipped norm is the threshold; the title counts the clipped steps,
     * the rows with a mark. */
    read_file(buf, sizeof buf, path_of(p, sizeof p, "tr/r1/clip.dat"));
    int marked = 0, rows = 0;
    for (char *l = strtok(buf, "\n"); l != NULL; l = strtok(NULL, "\n")) {
        unsigned long long step;
        double pre, post;
        char ev[32];
        if (l[0] == '#')
            continue;
        assert_int_equal(sscanf(l, "%llu %lf %lf %31s", &step, &pre, &post, ev), 4);
        assert_true(post <= 0.5 * (1 + 1e-5));
        marked += strcmp(ev, "NaN") != 0;
        assert_true(strcmp(ev, "NaN") == 0 ? fabs(post - pre) <= 1e-6 * pre
                                           : fabs(post - 0.5) < 1e-5);
        rows++;
    }
    assert_int_equal(rows, 60);
    assert_true(marked > 0);
    read_file(buf, sizeof buf, path_of(p, sizeof p, "tr/r1/clip.gp"));
    snprintf(line, sizeof line, "clipped on %d of 60 recorded steps", marked);
    assert_non_null(strstr(buf, line));

    /* eval.dat: the last evaluation is the run's final accuracy (summary.json). */
    read_file(buf, sizeof buf, path_of(p, sizeof p, "tr/r1/eval.dat"));
    row = strstr(buf, "\n60 ");
    assert_non_null(row);
    double tl, ta;
    assert_int_equal(sscanf(row + 4, "%lf %lf", &tl, &ta), 2);
    assert_true(fabs(ta - summary_number("tr/r1", "final_accuracy")) < 1e-5);
    assert_true(tl > 0);
    if (gf_plot_available())
        for (const char *f = "hist_steps\0update_ratio\0clip\0eval\0"; *f; f += strlen(f) + 1) {
            char rel[200];
            snprintf(rel, sizeof rel, "tr/r1/%s.png", f);
            assert_file(rel);
        }
    /* Without --clip there is no clip figure. */
    RUN(&o, "run", "--depth", "3", "--width", "8", "--steps", "5", "--out", "tr/r2", "--plot",
        "none", "--quiet");
    expect_status(&o, 0);
    assert_true(access(path_of(p, sizeof p, "tr/r2/clip.gp"), F_OK) != 0);
    assert_file("tr/r2/update_ratio.dat");
    assert_int_equal(check_hist_steps("tr/r2/hist_steps.csv", steps, 64), 5);
}

void compare_draws_figures_over_training(void **state)
{
    output o;
    char p[700], buf[100000];
    (void)state;
    RUN(&o, "compare", "--depth", "3", "--width", "16", "--steps", "20", "--clip",
        "none,global_norm:0.1", "--out", "tr/c", "--plot", "none");
    expect_status(&o, 0);
    assert_non_null(strstr(o.out, "tr/c/clip.gp"));
    read_file(buf, sizeof buf, path_of(p, sizeof p, "tr/c/clip.gp"));
    assert_non_null(strstr(buf, "'clip=none (no clipping)'"));
    assert_non_null(strstr(buf, "'clip=global_norm:0.1: clipped on 20 of 20 recorded steps'"));
    read_file(buf, sizeof buf, path_of(p, sizeof p, "tr/c/update_ratio.gp"));
    assert_non_null(strstr(buf, "set multiplot layout 2,1"));
    read_file(buf, sizeof buf, path_of(p, sizeof p, "tr/c/eval.gp"));
    assert_non_null(strstr(buf, "'clip=none, test'"));
    assert_non_null(strstr(buf, "'clip=global_norm:0.1, test'"));
}

/* --seeds N: N runs with the seeds s, s+1, ...; the table's mean and spread and the band
 * figure's data are those of the runs' own summaries. */
void seeds_give_means_and_bands(void **state)
{
    output o;
    char p[700], buf[100000], rel[64];
    double sig[3], lo = INFINITY, hi = 0, logsum = 0;
    (void)state;
    RUN(&o, "run", "--depth", "4", "--width", "8", "--steps", "10", "--seeds", "3", "--seed",
        "5", "--out", "tr/s", "--plot", "none", "--quiet");
    expect_status(&o, 0);
    assert_non_null(strstr(o.out, "over 3 seeds"));
    for (int k = 0; k < 3; k++) {
        char seed[16];
        snprintf(rel, sizeof rel, "tr/s/seed-%d", 5 + k);
        summary_string(seed, sizeof seed, rel, "name");
        snprintf(buf, sizeof buf, "relu seed=%d", 5 + k);
        assert_string_equal(seed, buf);
        sig[k] = summary_number(rel, "signal_first_init");
        assert_true(sig[k] > 0);
        lo = fmin(lo, sig[k]), hi = fmax(hi, sig[k]), logsum += log10(sig[k]);
    }
    /* seeds.dat, block 0, layer 1: the geometric mean, the lowest and the highest. */
    double x, mean, blo, bhi;
    read_file(buf, sizeof buf, path_of(p, sizeof p, "tr/s/seeds.dat"));
    char *row = strstr(buf, "signal\n");
    assert_non_null(row);
    assert_int_equal(sscanf(row + 7, "%lf %lf %lf %lf", &x, &mean, &blo, &bhi), 4);
    assert_true(x == 1);
    assert_true(fabs(mean / pow(10, logsum / 3) - 1) < 1e-5);
    assert_true(fabs(blo / lo - 1) < 1e-5 && fabs(bhi / hi - 1) < 1e-5);
    assert_true(lo < hi); /* the seeds differ */
    /* The table: the verdicts of the three seeds are counted. */
    row = strstr(o.out, "\nrelu ");
    assert_non_null(row);
    assert_true(strstr(row, "(3 of 3)") != NULL || strstr(row, "seeds disagree") != NULL);
    assert_file("tr/s/index.html");
    read_file(buf, sizeof buf, path_of(p, sizeof p, "tr/s/index.html"));
    assert_non_null(strstr(buf, "href=\"seed-6/index.html\""));

    /* compare: N runs per value, a row per value in the table over the seeds. */
    RUN(&o, "compare", "--act", "relu,tanh", "--depth", "3", "--width", "8", "--steps", "5",
        "--seeds", "2", "--out", "tr/cs", "--plot", "none", "--quiet");
    expect_status(&o, 0);
    assert_non_null(strstr(o.out, "over 2 seeds"));
    assert_non_null(strstr(o.out, "\ntanh seed=2 "));
    assert_file("tr/cs/tanh/seed-2/summary.json");
    read_file(buf, sizeof buf, path_of(p, sizeof p, "tr/cs/seeds.gp"));
    assert_non_null(strstr(buf, "title 'tanh'"));
    read_file(buf, sizeof buf, path_of(p, sizeof p, "tr/cs/index.html"));
    assert_non_null(strstr(buf, "href=\"relu/seed-1/index.html\""));
    assert_non_null(strstr(buf, "<h2>Over 2 seeds</h2>")); /* the table over the seeds */
    assert_non_null(strstr(buf, "<tr><td>tanh</td><td class=\"n\">"));

    RUN(&o, "run", "--seeds", "2", "--save", "m.gfm", "--steps", "2", "--out", "tr/bad");
    expect_status(&o, 2);
    assert_one_line_error(&o, "--seeds");
    RUN(&o, "run", "--seeds", "0", "--steps", "2", "--out", "tr/bad");
    expect_status(&o, 2);
}
