/* tests/tool/test_cli_cures.c: the gradflow program, part of test_cli
 * (tests/tool/test_cli.h): the cures group (normalisation, residual blocks and recurrent
 * nets with their extra telemetry, bad combinations, model files with the new layers)
 * and the showcase group. */
#include "test_cli.h"

/* ---- deeper cures: normalisation, residual blocks, recurrent nets --------------------- */

void cures_in_help_and_list(void **state)
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

void norm_rescues_the_deep_sigmoid_signal(void **state)
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
void residual_blocks_write_their_telemetry(void **state)
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
void compare_residual_none_and_2(void **state)
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

void recurrent_nets_record_the_gradient_through_time(void **state)
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

void bad_combinations_exit_2(void **state)
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

void model_files_with_the_new_layers(void **state)
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

/* The dashed line of run `want` in a signal.dat: its predicted factor between linear
 * layers 1 and 2 and between the last two (prediction k / prediction k+1). */
static void predicted_ends(const char *rel, int want, double *low, double *high)
{
    char p[700], line[512];
    double pred[64];
    int run = -1, n = 0;
    FILE *f = fopen(path_of(p, sizeof p, rel), "rb");
    assert_non_null(f);
    while (fgets(line, sizeof line, f) != NULL) {
        int depth, layer;
        double g, wg, pr;
        if (strncmp(line, "# run ", 6) == 0)
            run++;
        else if (run == want && n < 64 &&
                 sscanf(line, "%d %d %lf %lf %lf", &depth, &layer, &g, &wg, &pr) == 5)
            pred[n++] = pr;
    }
    fclose(f);
    assert_true(n >= 3);
    *low = pred[0] / pred[1];
    *high = pred[n - 2] / pred[n - 1];
}

void showcase_runs_and_writes_its_files(void **state)
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
    /* softplus (run 4): the dashed line follows the mean-field map layer by layer,
     * x0.74 near the input and x0.87 near the top (tests/test_theory_layers.c), not the
     * infinite-depth x1. */
    double low, high;
    predicted_ends("cli-showcase/signal.dat", 4, &low, &high);
    assert_true(low > 0.70 && low < 0.78);
    assert_true(high > 0.83 && high < 0.91);
}

/* ---- main ----------------------------------------------------------------------------- */
