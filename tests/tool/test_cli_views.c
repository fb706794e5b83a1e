/* tests/tool/test_cli_views.c: what the tool shows and lists: every --act name in
 * `gradflow list`, captions for figures the HTML page does not know, the gradient through
 * time in every comparison of recurrent runs, runs aligned at the output (--align output),
 * and sweeps over seeds. Each read back from the files written. */
#include "test_cli.h"

/* 1 when "  NAME " opens a line of text (a row of `gradflow list`). */
static int lists_row(const char *text, const char *name)
{
    char row[96];
    snprintf(row, sizeof row, "\n  %s ", name);
    return strstr(text, row) != NULL;
}

/* Every name --act accepts is a row of `gradflow list activations`, and every name there is
 * accepted. The names come from three places that must agree: the activation table, the
 * registry's activation layers of a kind of their own (prelu), and what --act's own
 * message says it knows. */
void every_accepted_act_is_listed(void **state)
{
    output o, l;
    char known[1024], *p, *name;
    size_t n_known = 0;
    (void)state;
    RUN(&l, "list", "activations");
    expect_status(&l, 0);
    RUN(&o, "run", "--act", "no_such_act", "--plot", "none", "--out", "act-none");
    expect_status(&o, 2);
    p = strstr(o.err, "known: ");
    assert_non_null(p);
    snprintf(known, sizeof known, "%s", p + 7);
    known[strcspn(known, ")\n")] = '\0';
    for (name = strtok(known, ", "); name != NULL; name = strtok(NULL, ", "), n_known++) {
        output r;
        if (!lists_row(l.out, name))
            fail_msg("--act accepts '%s' but `gradflow list` does not show it", name);
        RUN(&r, "run", "--act", name, "--depth", "3", "--width", "8", "--steps", "1",
            "--plot", "none", "--quiet", "--out", "act-one");
        if (r.status != 0)
            fail_msg("--act %s is listed but refused: %s", name, r.err);
    }
    for (size_t i = 0; i < gf_activation_count(); i++)
        assert_true(lists_row(l.out, gf_activation_at(i)->name));
    size_t own = 0;
    for (size_t i = 0; i < gf_layer_kind_count(); i++) {
        const gf_layer_kind *k = gf_layer_kind_at(i);
        if (!(k->traits & GF_KIND_ACTIVATION) || strcmp(k->name, "activation") == 0)
            continue;
        own++;
        if (!lists_row(l.out, k->name))
            fail_msg("the activation kind '%s' is not in `gradflow list`", k->name);
    }
    assert_true(own >= 1); /* prelu */
    assert_true(lists_row(l.out, "prelu"));
    assert_int_equal(n_known, gf_activation_count() + own);
}

/* A figure the page has no caption for gets one: the title its script gives it, else its
 * name in words; never a bare pointer to the docs. */
void unknown_figures_get_a_caption(void **state)
{
    static const char svg[] = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" "
                              "height=\"10\"></svg>\n";
    output o;
    char buf[65536], p[600];
    FILE *f;
    (void)state;
    mkdir(path_of(p, sizeof p, "cap"), 0777);
    f = fopen(path_of(p, sizeof p, "cap/grad_noise.svg"), "w");
    assert_non_null(f);
    fputs(svg, f);
    fclose(f);
    f = fopen(path_of(p, sizeof p, "cap/grad_noise.gp"), "w");
    assert_non_null(f);
    fputs("# a figure of the user's own\nset terminal svg\n"
          "set multiplot layout 1,2 title 'Gradient noise, it''s large' noenhanced\n", f);
    fclose(f);
    f = fopen(path_of(p, sizeof p, "cap/weight_norms.svg"), "w");
    assert_non_null(f);
    fputs(svg, f);
    fclose(f);
    RUN(&o, "run", "--depth", "3", "--width", "8", "--steps", "2", "--plot", "none",
        "--quiet", "--out", "cap");
    expect_status(&o, 0);
    read_file(buf, sizeof buf, path_of(p, sizeof p, "cap/index.html"));
    assert_non_null(strstr(buf, "<b>grad_noise</b>: Gradient noise, it&#39;s large (data in "
                                "grad_noise.dat, drawn by grad_noise.gp).</figcaption>"));
    assert_non_null(strstr(buf, "<b>weight_norms</b>: Weight norms (data in "));
    /* Every figure on the page has a caption of more than its name. */
    size_t figures = 0;
    for (char *q = strstr(buf, "<figcaption>"); q != NULL; q = strstr(q + 1, "<figcaption>")) {
        char *colon = strstr(q, "</b>: "), *end = strstr(q, "</figcaption>");
        assert_non_null(colon);
        assert_true(colon < end && end - colon > 12);
        figures++;
    }
    assert_int_equal(figures, 2);
    assert_null(strstr(buf, "(see docs/figures.md)"));
}

/* ---- The gradient through time in every comparison of recurrent runs ---------------- */

#define MAX_T 64

/* ||dL/dh_t||, t = 1..T, at the first and the last recorded step of DIR/time.csv;
 * returns T. */
static size_t read_time_csv(const char *dir, double first[MAX_T], double last[MAX_T])
{
    char p[600], line[256];
    size_t T = 0, k = 0;
    unsigned long long step, first_step = 0;
    unsigned long t;
    double v;
    snprintf(line, sizeof line, "%s/time.csv", dir);
    FILE *f = fopen(path_of(p, sizeof p, line), "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    assert_int_equal(strncmp(line, "step,t,grad_h_norm", 18), 0);
    while (fgets(line, sizeof line, f) != NULL) {
        assert_int_equal(sscanf(line, "%llu,%lu,%lf", &step, &t, &v), 3);
        if (k == 0)
            first_step = step;
        if (step == first_step) {
            assert_int_equal(t, k + 1);
            assert_true(k < MAX_T);
            first[k] = v;
            T = ++k;
        }
        assert_true(t >= 1 && t <= T);
        last[t - 1] = v; /* the last step's values overwrite the earlier ones */
    }
    fclose(f);
    return T;
}

/* A block of time.dat: "# LABEL (WHEN)", then "t value" rows. */
typedef struct time_block {
    char label[64], when[32];
    size_t T;
    double v[MAX_T];
} time_block;

/* The blocks of DIR/time.dat into b; returns how many. */
static size_t read_time_dat(const char *dir, time_block *b, size_t cap)
{
    char p[600], line[256];
    size_t n = 0;
    snprintf(line, sizeof line, "%s/time.dat", dir);
    FILE *f = fopen(path_of(p, sizeof p, line), "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f)); /* the column comment */
    while (fgets(line, sizeof line, f) != NULL) {
        char *open = strrchr(line, '(');
        unsigned long t;
        char value[64];
        if (line[0] == '#') {
            assert_true(n < cap && open != NULL);
            memset(&b[n], 0, sizeof b[n]);
            snprintf(b[n].label, sizeof b[n].label, "%.*s", (int)(open - line - 3), line + 2);
            snprintf(b[n].when, sizeof b[n].when, "%.*s", (int)strcspn(open + 1, ")"),
                     open + 1);
            n++;
        } else if (sscanf(line, "%lu %63s", &t, value) == 2) {
            assert_true(n > 0 && t == b[n - 1].T + 1 && t <= MAX_T);
            b[n - 1].v[b[n - 1].T++] = strcmp(value, "NaN") == 0 ? NAN : strtod(value, NULL);
        }
    }
    fclose(f);
    return n;
}

/* DIR/time.dat holds, for each run DIR/<sub[i]> labelled label[i], its gradient through
 * time at the first step (blocks 0..n-1) and at the last (blocks n..2n-1), the numbers of
 * the run's own time.csv; and time.gp draws both panels. */
static void check_time_overlay(const char *dir, const char *const *label,
                               const char *const *sub, size_t n, int several_steps)
{
    time_block b[16];
    char p[600], rel[300], script[8192];
    assert_int_equal(read_time_dat(dir, b, 16), 2 * n);
    for (size_t i = 0; i < n; i++) {
        double first[MAX_T], last[MAX_T];
        snprintf(rel, sizeof rel, "%s/%s", dir, sub[i]);
        size_t T = read_time_csv(rel, first, last);
        assert_true(T >= 2);
        assert_string_equal(b[i].label, label[i]);
        assert_string_equal(b[i].when, "first step");
        assert_string_equal(b[n + i].label, label[i]);
        assert_string_equal(b[n + i].when, "last step");
        assert_int_equal(b[i].T, T);
        assert_int_equal(b[n + i].T, T);
        int moved = 0;
        for (size_t t = 0; t < T; t++) {
            assert_true(fabs(b[i].v[t] / first[t] - 1) < 1e-5);
            assert_true(fabs(b[n + i].v[t] / last[t] - 1) < 1e-5);
            moved |= fabs(last[t] / first[t] - 1) > 1e-6;
        }
        /* Training changed the gradient through time: the panels differ. */
        assert_int_equal(moved, several_steps);
    }
    snprintf(rel, sizeof rel, "%s/time.gp", dir);
    read_file(script, sizeof script, path_of(p, sizeof p, rel));
    assert_non_null(strstr(script, "set multiplot layout 1,2"));
    assert_non_null(strstr(script, "'at the last recorded step'"));
    snprintf(rel, sizeof rel, "'time.dat' index %zu using 1:2", 2 * n - 1);
    assert_non_null(strstr(script, rel));
    /* Runs differ by dash pattern, not colour alone. */
    assert_non_null(strstr(script, " dt 1 "));
    assert_non_null(strstr(script, " dt 2 "));
}

void every_recurrent_comparison_shows_the_gradient_through_time(void **state)
{
    static const char *const cells[] = {"rnn", "lstm", "gru"};
    static const char *const lrs[] = {"lr=0.01", "lr=0.3"};
    static const char *const lens[] = {"seq-len=6", "seq-len=9"};
    output o;
    (void)state;
    RUN(&o, "compare", "--cell", "rnn,lstm,gru", "--seq-len", "10", "--hidden", "8",
        "--steps", "6", "--every", "2", "--plot", "none", "--quiet", "--out", "tcmp");
    expect_status(&o, 0);
    check_time_overlay("tcmp", cells, cells, 3, 1);
    /* Any option compared: the runs are recurrent, so the figure is there. */
    RUN(&o, "compare", "--cell", "lstm", "--lr", "0.01,0.3", "--seq-len", "8", "--hidden",
        "8", "--steps", "4", "--plot", "none", "--quiet", "--out", "tlr");
    expect_status(&o, 0);
    check_time_overlay("tlr", lrs, lrs, 2, 1);
    /* One step: the first is also the last. */
    RUN(&o, "compare", "--cell", "lstm", "--lr", "0.01,0.3", "--seq-len", "8", "--hidden",
        "8", "--steps", "1", "--plot", "none", "--quiet", "--out", "tone");
    expect_status(&o, 0);
    check_time_overlay("tone", lrs, lrs, 2, 0);
    /* A sweep merges the runs' time.csv into the same figure, sequences of two lengths. */
    RUN(&o, "sweep", "--cell", "gru", "--seq-len", "6,9", "--hidden", "8", "--steps", "4",
        "--plot", "none", "--quiet", "--out", "tsw");
    expect_status(&o, 0);
    check_time_overlay("tsw", lens, lens, 2, 1);
}

/* ---- --align output -------------------------------------------------------------------- */

/* The rows of block `index` of a figure's .dat: column 1 (the layer from the input) and the
 * last column (from the output) into k[] and back[]; returns the rows. */
static size_t read_layer_block(const char *rel, size_t index, long *k, long *back, size_t cap)
{
    char p[600], line[512];
    size_t block = 0, n = 0, blank = 0;
    FILE *f = fopen(path_of(p, sizeof p, rel), "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f) != NULL) {
        if (line[0] == '\n') {
            if (++blank == 2)
                block++, blank = 0;
            continue;
        }
        blank = 0;
        if (line[0] == '#' || block != index)
            continue;
        char *last = strrchr(line, ' ');
        assert_non_null(last);
        assert_true(n < cap);
        k[n] = strtol(line, NULL, 10);
        back[n] = strtol(last + 1, NULL, 10);
        n++;
    }
    fclose(f);
    return n;
}

/* Block `index` of rel counts layers 1..n from the input and n - L .. down to 0 (signal) or
 * -1 (units: the last activation is below the output layer). */
static void check_aligned_block(const char *rel, size_t index, size_t rows, size_t L)
{
    long k[64], back[64];
    assert_int_equal(read_layer_block(rel, index, k, back, 64), rows);
    for (size_t i = 0; i < rows; i++) {
        assert_int_equal(k[i], (long)i + 1);
        assert_int_equal(back[i], (long)i + 1 - (long)L);
    }
}

void align_output_lines_up_nets_of_different_depth(void **state)
{
    output o;
    char p[600], buf[16384];
    (void)state;
    RUN(&o, "compare", "--depth", "4,9", "--width", "8", "--steps", "2", "--align", "output",
        "--plot", "none", "--quiet", "--out", "al");
    expect_status(&o, 0);
    /* signal.dat: 4 and 9 linear layers, the output layer of each at 0. */
    check_aligned_block("al/signal.dat", 0, 4, 4);
    check_aligned_block("al/signal.dat", 1, 9, 9);
    read_file(buf, sizeof buf, path_of(p, sizeof p, "al/signal.gp"));
    assert_non_null(strstr(buf, "index 0 using 6:3 "));
    assert_non_null(strstr(buf, "index 1 using 6:4 "));
    assert_non_null(strstr(buf, "set xrange [-8.5:0.5]"));
    assert_non_null(strstr(buf, "from the output"));
    /* units.dat: the activations after linear layers 1..L-1, at 1 - L .. -1. */
    check_aligned_block("al/units.dat", 0, 3, 4);
    check_aligned_block("al/units.dat", 1, 8, 9);
    read_file(buf, sizeof buf, path_of(p, sizeof p, "al/units.gp"));
    assert_non_null(strstr(buf, "index 1 using 6:3 "));
    assert_non_null(strstr(buf, "set xrange [-8.5:0.5]"));

    /* The default counts from the input, as before. */
    RUN(&o, "compare", "--depth", "4,9", "--width", "8", "--steps", "2", "--plot", "none",
        "--quiet", "--out", "al-in");
    expect_status(&o, 0);
    check_aligned_block("al-in/signal.dat", 1, 9, 9); /* the column is always written */
    read_file(buf, sizeof buf, path_of(p, sizeof p, "al-in/signal.gp"));
    assert_non_null(strstr(buf, "index 1 using 1:3 "));
    assert_non_null(strstr(buf, "set xrange [0.5:9.5]"));

    /* Over seeds, the band of each depth ends at 0 too. */
    RUN(&o, "compare", "--depth", "3,5", "--width", "8", "--steps", "2", "--seeds", "2",
        "--align", "output", "--plot", "none", "--quiet", "--out", "al-s");
    expect_status(&o, 0);
    long k[64], back[64];
    assert_int_equal(read_layer_block("al-s/seeds.dat", 2, k, back, 64), 5); /* 2nd signal */
    assert_int_equal(k[0], -4);
    assert_int_equal(k[4], 0);

    /* run and sweep take it; anything but input or output is a usage error. */
    RUN(&o, "run", "--depth", "5", "--width", "8", "--steps", "2", "--align", "output",
        "--plot", "none", "--quiet", "--out", "al-run");
    expect_status(&o, 0);
    read_file(buf, sizeof buf, path_of(p, sizeof p, "al-run/signal.gp"));
    assert_non_null(strstr(buf, "index 0 using 6:3 "));
    RUN(&o, "sweep", "--depth", "3,6", "--width", "8", "--steps", "2", "--align", "output",
        "--plot", "none", "--quiet", "--out", "al-sw");
    expect_status(&o, 0);
    check_aligned_block("al-sw/signal.dat", 1, 6, 6);
    read_file(buf, sizeof buf, path_of(p, sizeof p, "al-sw/signal.gp"));
    assert_non_null(strstr(buf, "index 1 using 6:3 "));
    RUN(&o, "compare", "--depth", "3,6", "--align", "middle", "--out", "al-bad");
    expect_status(&o, 2);
    assert_non_null(strstr(o.err, "--align"));
}

/* ---- sweep --seeds N ------------------------------------------------------------------- */

static size_t count_lines_in(const char *text)
{
    size_t n = 0;
    for (; *text; text++)
        n += *text == '\n';
    return n;
}

/* The row of a configuration in the table over the seeds: "LABEL  RATIO x/ G  LOSS +- SD
 * ACC +- SD  VERDICTS". */
static const char *seeds_row(const char *out, const char *label)
{
    const char *table = strstr(out, "over 6 seeds");
    char want[96];
    assert_non_null(table);
    snprintf(want, sizeof want, "\n%s ", label);
    const char *row = strstr(table, want);
    assert_non_null(row);
    return row + 1;
}

/* The verdicts column of six seeds whose verdicts are v[0..6), as the table words it:
 * "healthy (6 of 6)", or "seeds disagree: healthy 5, exploding 1" (in the order of the
 * verdict kinds). */
static void expected_verdicts(char *out, size_t len, char v[6][32])
{
    int counts[GF_VERDICT_COUNT] = {0}, kinds = 0;
    size_t used = 0;
    for (int k = 0; k < GF_VERDICT_COUNT; k++) {
        for (int s = 0; s < 6; s++)
            counts[k] += strcmp(v[s], gf_verdict_name((gf_verdict_kind)k)) == 0;
        kinds += counts[k] > 0;
    }
    out[0] = '\0';
    for (int k = 0; k < GF_VERDICT_COUNT; k++) {
        if (counts[k] == 0)
            continue;
        if (kinds == 1)
            snprintf(out, len, "%s (%d of 6)", gf_verdict_name((gf_verdict_kind)k), counts[k]);
        else
            used += (size_t)snprintf(out + used, len - used, "%s %s %d",
                                     used ? "," : "seeds disagree:",
                                     gf_verdict_name((gf_verdict_kind)k), counts[k]);
    }
}

/* One configuration of the sweep: its six seeds' directories and labels, the table's mean
 * loss against theirs, and the verdicts at init and at the end against theirs. */
static void check_seed_group(const output *o, const char *label, const char *sub, int *disagree)
{
    char rel[200], name[128], init[6][32], end[6][32], expect[200], cells[300];
    double loss_sum = 0;
    for (int s = 1; s <= 6; s++) {
        snprintf(rel, sizeof rel, "sws/%s/seed-%d", sub, s);
        summary_string(name, sizeof name, rel, "name");
        snprintf(expect, sizeof expect, "%s seed=%d", label, s);
        assert_string_equal(name, expect);
        summary_string(init[s - 1], sizeof init[s - 1], rel, "verdict_init");
        summary_string(end[s - 1], sizeof end[s - 1], rel, "verdict_final");
        assert_true(init[s - 1][0] != '\0' && end[s - 1][0] != '\0');
        loss_sum += summary_number(rel, "final_loss");
        *disagree |= strcmp(init[s - 1], init[0]) != 0 || strcmp(end[s - 1], end[0]) != 0;
    }
    const char *row = seeds_row(o->out, label), *pm = strstr(row, " +- ");
    assert_non_null(pm);
    const char *num = pm;
    while (num > row && num[-1] != ' ')
        num--;
    assert_true(fabs(strtod(num, NULL) / (loss_sum / 6) - 1) < 1e-3);
    /* The two verdict columns end the row: init (40 wide), then the end. */
    char a[120], b[120];
    expected_verdicts(a, sizeof a, init);
    expected_verdicts(b, sizeof b, end);
    snprintf(cells, sizeof cells, "  %-40s %s\n", a, b);
    const char *eol = strchr(row, '\n');
    assert_non_null(eol);
    size_t n = strlen(cells);
    if (!((size_t)(eol + 1 - row) >= n && strncmp(eol + 1 - n, cells, n) == 0))
        fail_msg("row '%.*s' does not end with '%s'", (int)(eol - row), row, cells);
}

void sweep_runs_every_point_with_n_seeds(void **state)
{
    output o;
    char p[600], buf[65536];
    (void)state;
    /* tanh at 3.2 times Xavier's scale sits near the threshold of 100 (docs/cli.md,
     * "Seeds"): its seeds may disagree; at Xavier's own scale they agree. */
    RUN(&o, "sweep", "--depth", "12", "--act", "tanh", "--init", "xavier:3.2,xavier:1",
        "--seeds", "6", "--steps", "2", "--plot", "none", "--quiet", "--out", "sws");
    expect_status(&o, 0);
    assert_non_null(strstr(o.out, "merged 12 runs (seeds)"));
    int disagree = 0, agree = 0;
    check_seed_group(&o, "init=xavier:3.2", "init=xavier-3.2", &disagree);
    check_seed_group(&o, "init=xavier:1", "init=xavier-1", &agree);
    assert_int_equal(agree, 0);
    if (!disagree)
        fprintf(stderr, "note: the six seeds of xavier:3.2 agreed on this build\n");
    /* seeds.dat: per configuration the signal's band over 12 layers, then the loss's over
     * both steps, each mean inside its band. */
    long k[64], back[64];
    assert_int_equal(read_layer_block("sws/seeds.dat", 0, k, back, 64), 12);
    assert_int_equal(read_layer_block("sws/seeds.dat", 3, k, back, 64), 2);
    read_file(buf, sizeof buf, path_of(p, sizeof p, "sws/seeds.dat"));
    size_t rows = 0;
    for (char *line = strtok(buf, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        double x, mean, lo, hi;
        if (line[0] == '#' || sscanf(line, "%lf %lf %lf %lf", &x, &mean, &lo, &hi) != 4)
            continue;
        assert_true(lo <= mean * (1 + 1e-6) && mean <= hi * (1 + 1e-6));
        rows++;
    }
    assert_int_equal(rows, 2 * (12 + 2));
    read_file(buf, sizeof buf, path_of(p, sizeof p, "sws/seeds.gp"));
    assert_non_null(strstr(buf, "filledcurves")); /* the bands */
    assert_non_null(strstr(buf, "title 'init=xavier:3.2'"));

    /* --emit-commands: a command per point and seed, each with its own --seed. */
    RUN(&o, "sweep", "--depth", "3,4", "--seeds", "2", "--seed", "7", "--emit-commands",
        "--out", "swe");
    expect_status(&o, 0);
    assert_int_equal(count_lines_in(o.out), 4);
    assert_non_null(strstr(o.out, "--seed 8 --name 'depth=4 seed=8' --out swe/depth=4/seed-8"));
    assert_null(strstr(o.out, "--seeds"));
}
