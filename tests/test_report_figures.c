/* tests/test_report_figures.c: reports, part of test_report (tests/test_report.h):
 * gnuplot scripts and histograms are written and sane, formats by name, gnuplot missing
 * from PATH or failing, and allocation failures leak nothing. */
#define _XOPEN_SOURCE 700

#include <time.h>

#include "test_report.h"

/* ---- Figures -------------------------------------------------------------------------- */

/* Write text to the test file name (tpath): a script or a CSV for a test to read. */
static void write_test_file(const char *name, const char *text)
{
    FILE *f = fopen(tpath(name), "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}


/* A rendering either worked (and left a real image) or gnuplot is missing. */
static void assert_rendered(gf_status st, const char *image, const char *magic)
{
    if (st == GF_EUNSUPPORTED) {
        assert_false(gf_plot_available());
        assert_error_mentions("gnuplot");
        return;
    }
    if (st != GF_OK)
        print_error("rendering %s: %s\n", image, gf_last_error());
    assert_int_equal(st, GF_OK);
    char *s = slurp(image);
    assert_true(file_size(image) > 1000);
    assert_non_null(strstr(s, magic));
    free(s);
}

void figure_scripts_are_written_and_sane(void **state)
{
    (void)state;
    fixture a, b;
    gf_init n01 = gf_init_default(GF_INIT_NORMAL);
    build(&a, "sigmoid", NULL, 8, 9);
    build(&b, "tanh", &n01, 8, 9);
    for (int s = 0; s < 4; s++) {
        assert_ok(gf_net_train_step(a.net, NULL, a.x, a.y, a.opt, GF_LOSS_MSE, NULL));
        assert_ok(gf_net_train_step(b.net, NULL, b.x, b.y, b.opt, GF_LOSS_MSE, NULL));
    }
    gf_plot_run runs[2] = {
        {"sigmoid_xavier", gf_net_telemetry(a.net), 0.25, NULL, NULL, 0, NULL, 0},
        {"it's tanh", gf_net_telemetry(b.net), NAN, NULL, NULL, 0, NULL, 0}};
    gf_plot_options o = gf_plot_options_default();
    o.format = GF_PLOT_NONE;
    char dir[512];
    snprintf(dir, sizeof dir, "%s", tpath("figs"));
    assert_ok(gf_plot_signal(dir, "signal", runs, 2, &o));
    assert_ok(gf_plot_heatmap(dir, "heatmap", runs[0].telemetry, &o));
    assert_ok(gf_plot_loss(dir, "loss", runs, 2, &o));
    assert_ok(gf_plot_units(dir, "units", runs, 2, &o));

    char *gp = slurp(tpath("figs/signal.gp"));
    assert_contains(gp, "pngcairo");
    assert_contains(gp, "set terminal png ");
    assert_contains(gp, "set output 'signal.png'");
    assert_contains(gp, "set logscale y");
    assert_contains(gp, "set format y '10^{%L}'"); /* the signals span decades */
    assert_contains(gp, "set xlabel 'layer k (the k-th linear layer from the input)'");
    assert_contains(gp, "set multiplot layout 1,2");
    assert_contains(gp, "'signal.dat' index 0 using 1:3");
    assert_contains(gp, "index 0 using 1:5 with lines"); /* the predicted line */
    assert_contains(gp, "using 1:4");                    /* the weight-gradient panel */
    assert_contains(gp, "title 'it''s tanh'");           /* quotes doubled */
    assert_contains(gp, "unset multiplot");
    free(gp);
    /* Data: a header, 8 rows per run, a blank-line pair between the runs. The sigmoid
     * run's predicted line is anchored at the last layer: s_L 0.25^(8-k). */
    char *dat = slurp(tpath("figs/signal.dat"));
    assert_int_equal(count_lines(dat), 1 + 1 + 8 + 2 + 1 + 8);
    char *row8 = strstr(dat, "\n8 14 ");
    assert_non_null(row8);
    double s8, w8, p8;
    assert_int_equal(sscanf(row8 + 6, "%lf %lf %lf", &s8, &w8, &p8), 3);
    assert_near(p8, s8, 0, 1e-5);
    char *row1 = strstr(dat, "\n1 0 ");
    double s1, w1, p1;
    assert_int_equal(sscanf(row1 + 5, "%lf %lf %lf", &s1, &w1, &p1), 3);
    assert_near(p1, s8 * pow(0.25, 7), 0, 1e-4);
    assert_true(s1 < 1e-2 * s8); /* vanishing */
    free(dat);

    char *hm = slurp(tpath("figs/heatmap.gp"));
    assert_contains(hm, "boxxyerror");
    assert_contains(hm, "lc palette");
    assert_contains(hm, "set cblabel 'log_{10} ||dL/dh||'");
    assert_contains(hm, "set xlabel 'step'");
    free(hm);
    char *hd = slurp(tpath("figs/heatmap.dat"));
    assert_int_equal(count_lines(hd), 1 + 4 * 8);
    free(hd);
    char *lg = slurp(tpath("figs/loss.gp"));
    assert_contains(lg, "set ylabel 'training loss'");
    assert_contains(lg, "index 1 using 1:2");
    free(lg);
    char *ug = slurp(tpath("figs/units.gp"));
    assert_contains(ug, "set yrange [-0.03:1.03]");
    assert_contains(ug, "fraction of dead units");
    assert_contains(ug, "fraction of saturated values");
    free(ug);

    /* SVG scripts; rendered when gnuplot is here. */
    o.format = GF_PLOT_SVG;
    assert_rendered(gf_plot_signal(dir, "signal_svg", runs, 2, &o), tpath("figs/signal_svg.svg"),
                    "<svg");
    gp = slurp(tpath("figs/signal_svg.gp"));
    assert_contains(gp, "set terminal svg");
    assert_contains(gp, "set output 'signal_svg.svg'");
    free(gp);
    /* PNG, every single-run figure. */
    o.format = GF_PLOT_PNG;
    gf_status st = gf_plot_run_all(tpath("figs/all"), &runs[1], &o);
    assert_rendered(st, tpath("figs/all/signal.png"), "PNG");
    if (st == GF_OK) {
        assert_rendered(GF_OK, tpath("figs/all/heatmap.png"), "PNG");
        assert_rendered(GF_OK, tpath("figs/all/loss.png"), "PNG");
        assert_rendered(GF_OK, tpath("figs/all/units.png"), "PNG");
        assert_int_equal(file_size(tpath("figs/all/signal.gp.log")), -1); /* clean run */
    }
    assert_true(file_size(tpath("figs/all/units.gp")) > 0);
    release(&a);
    release(&b);
}

void histograms_of_activations_and_gradients(void **state)
{
    (void)state;
    fixture fx;
    build(&fx, "sigmoid", NULL, 6, 10);
    char csv[512];
    snprintf(csv, sizeof csv, "%s", tpath("hist.csv"));
    assert_status(gf_hist_write(csv, fx.net, 20), GF_ESTATE);
    assert_error_mentions("backward");
    assert_ok(pass(&fx));
    assert_ok(gf_hist_write(csv, fx.net, 20));
    /* 5 sigmoid layers x 2 panels x 20 bins. The activation counts of each layer add up
     * to every value (the range is their min to max); the log-gradient counts to every
     * non-zero value within 16 decades. */
    FILE *f = fopen(csv, "r");
    char line[256];
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "which,unit,layer,kind,lo,hi,count\n");
    double act_total[6] = {0}, grad_total[6] = {0};
    size_t rows = 0;
    while (fgets(line, sizeof line, f)) {
        char which[16], kind[16];
        unsigned long unit, layer;
        double lo, hi, count;
        assert_int_equal(sscanf(line, "%15[^,],%lu,%lu,%15[^,],%lf,%lf,%lf", which, &unit,
                                &layer, kind, &lo, &hi, &count), 7);
        assert_true(unit >= 1 && unit <= 5);
        assert_int_equal(layer, 2 * unit - 1);
        assert_string_equal(kind, "sigmoid");
        assert_true(hi > lo);
        if (strcmp(which, "act") == 0) {
            act_total[unit] += count;
            assert_true(lo >= 0 && hi <= 1); /* sigmoid outputs */
        } else {
            assert_string_equal(which, "log10_grad");
            grad_total[unit] += count;
        }
        rows++;
    }
    fclose(f);
    assert_int_equal(rows, 5 * 2 * 20);
    for (int u = 1; u <= 5; u++) {
        assert_near(act_total[u], 64 * 64, 0, 0);
        assert_true(grad_total[u] > 0.99 * 64 * 64);
    }
    gf_plot_options o = gf_plot_options_default();
    o.format = GF_PLOT_NONE;
    assert_ok(gf_plot_hist(tpath("hfig"), "hist", csv, &o));
    char *gp = slurp(tpath("hfig/hist.gp"));
    assert_contains(gp, "set xlabel 'log_{10} |dL/dh|'");
    assert_contains(gp, "set xlabel 'activation value'");
    assert_contains(gp, "title 'layer 5 (sigmoid)'");
    assert_contains(gp, "index 9 using 1:2"); /* 5 activation blocks, then 5 gradient */
    free(gp);
    o.format = GF_PLOT_PNG;
    assert_rendered(gf_plot_hist(tpath("hfig"), "hist", csv, &o), tpath("hfig/hist.png"), "PNG");

    /* Bad input. */
    assert_status(gf_hist_write(NULL, fx.net, 0), GF_EINVAL);
    assert_status(gf_hist_write(csv, NULL, 0), GF_EINVAL);
    assert_status(gf_hist_write(csv, fx.net, 1000000), GF_EINVAL);
    assert_status(gf_hist_write(tpath("plainfile2/x.csv"), fx.net, 0), GF_EIO);
    assert_status(gf_plot_hist(tpath("hfig"), "hist", tpath("nope.csv"), &o), GF_EIO);
    assert_status(gf_plot_hist(tpath("hfig"), "hist", NULL, &o), GF_EINVAL);
    write_test_file("badhist.csv", "which,unit,layer,kind,lo,hi,count\nact,1,1,relu,1,0,5\n");
    assert_status(gf_plot_hist(tpath("hfig"), "hist", tpath("badhist.csv"), &o), GF_EFORMAT);
    assert_error_mentions("badhist.csv:2: malformed line");
    write_test_file("badhist.csv", "which,unit,layer,kind,lo,hi,count\n\n");
    assert_status(gf_plot_hist(tpath("hfig"), "hist", tpath("badhist.csv"), &o), GF_EFORMAT);
    assert_error_mentions("holds no histogram");
    write_test_file("badhist.csv", "step,which,unit,layer,kind,lo,hi,count\n");
    assert_status(gf_plot_hist(tpath("hfig"), "hist", tpath("badhist.csv"), &o), GF_EFORMAT);
    assert_error_mentions("is not a histogram CSV");
    release(&fx);
}

void plot_bad_input(void **state)
{
    (void)state;
    gf_telemetry *empty;
    fixture fx;
    gf_plot_options o = gf_plot_options_default();
    o.format = GF_PLOT_NONE;
    build(&fx, "relu", NULL, 3, 11);
    assert_ok(pass(&fx));
    assert_ok(gf_telemetry_new(&empty));
    gf_plot_run run = {"r", gf_net_telemetry(fx.net), NAN, NULL, NULL, 0, NULL, 0};
    gf_plot_run none = {"e", empty, NAN, NULL, NULL, 0, NULL, 0};
    char dir[512];
    snprintf(dir, sizeof dir, "%s", tpath("bad"));
    assert_status(gf_plot_signal(NULL, "s", &run, 1, &o), GF_EINVAL);
    assert_status(gf_plot_signal(dir, NULL, &run, 1, &o), GF_EINVAL);
    assert_status(gf_plot_signal(dir, "a/b", &run, 1, &o), GF_EINVAL);
    assert_error_mentions("gf_plot_signal");
    assert_status(gf_plot_signal(dir, "", &run, 1, &o), GF_EINVAL);
    assert_status(gf_plot_signal(dir, "s", NULL, 1, &o), GF_EINVAL);
    assert_status(gf_plot_signal(dir, "s", &run, 0, &o), GF_EINVAL);
    assert_status(gf_plot_signal(dir, "s", &none, 1, &o), GF_EINVAL);
    assert_status(gf_plot_heatmap(dir, "h", empty, &o), GF_EINVAL);
    assert_status(gf_plot_heatmap(dir, "h", NULL, &o), GF_EINVAL);
    assert_status(gf_plot_units(dir, "u", &none, 1, &o), GF_EINVAL);
    assert_status(gf_plot_loss(dir, "l", NULL, 1, &o), GF_EINVAL);
    gf_plot_options bad = o;
    bad.format = (gf_plot_format)7;
    assert_status(gf_plot_signal(dir, "s", &run, 1, &bad), GF_EINVAL);
    bad = o;
    bad.width = -5;
    assert_status(gf_plot_loss(dir, "l", &run, 1, &bad), GF_EINVAL);
    assert_status(gf_plot_run_all(dir, NULL, &o), GF_EINVAL);
    assert_status(gf_plot_signal(tpath("plainfile/x"), "s", &run, 1, &o), GF_EIO);
    assert_status(gf_plot_render(NULL), GF_EINVAL);
    assert_status(gf_plot_render(tpath("no/such/script.gp")), GF_EIO);

    /* A loss made of NaN only has nothing to draw: refused, no empty panel. */
    double nan_loss[] = {NAN, NAN};
    gf_plot_run nl = {"n", empty, NAN, nan_loss, NULL, 2, NULL, 0};
    assert_status(gf_plot_loss(dir, "l", &nl, 1, &o), GF_EINVAL);
    assert_error_mentions("no finite loss");
    /* A linear net has no activation layer: no units figure. */
    gf_plot_run lin = run;
    gf_net *ln;
    gf_rng rng;
    gf_tensor *dy;
    const gf_tensor *out;
    gf_rng_seed(&rng, 1);
    assert_ok(gf_net_new(&ln, 4));
    assert_ok(gf_net_add_linear(ln, 3));
    assert_ok(gf_net_add_linear(ln, 2));
    assert_ok(gf_net_init(ln, &(gf_init){.kind = GF_INIT_XAVIER_NORMAL, .gain = 1}, &rng));
    gf_tensor *x;
    assert_ok(gf_tensor_new(&x, 5, 4));
    assert_ok(gf_tensor_fill(x, 1));
    assert_ok(gf_tensor_new(&dy, 5, 2));
    assert_ok(gf_tensor_fill(dy, 1));
    assert_ok(gf_net_forward(ln, &out, x));
    assert_ok(gf_net_backward_from(ln, dy));
    lin.telemetry = gf_net_telemetry(ln);
    assert_status(gf_plot_units(dir, "u", &lin, 1, &o), GF_EINVAL);
    assert_error_mentions("no activation layer");
    /* ... but run_all skips it (and the NaN-only loss) and draws the rest. */
    assert_ok(gf_plot_run_all(tpath("lin"), &lin, &o));
    assert_true(file_size(tpath("lin/signal.gp")) > 0);
    assert_int_equal(file_size(tpath("lin/units.gp")), -1);
    assert_int_equal(file_size(tpath("lin/loss.gp")), -1);
    /* Histograms of a net without activations use its linear layers. */
    assert_ok(gf_hist_write(tpath("lin/hist.csv"), ln, 4));
    char *h = slurp(tpath("lin/hist.csv"));
    assert_contains(h, "act,2,1,linear,");
    free(h);
    gf_tensor_free(x);
    gf_tensor_free(dy);
    gf_net_free(ln);
    gf_telemetry_free(empty);
    release(&fx);
}

void formats_by_name(void **state)
{
    (void)state;
    gf_plot_format f;
    assert_ok(gf_plot_format_from_name(&f, "svg"));
    assert_int_equal(f, GF_PLOT_SVG);
    assert_ok(gf_plot_format_from_name(&f, "png"));
    assert_int_equal(f, GF_PLOT_PNG);
    assert_ok(gf_plot_format_from_name(&f, "none"));
    assert_int_equal(f, GF_PLOT_NONE);
    assert_status(gf_plot_format_from_name(&f, "jpeg"), GF_ENOTFOUND);
    assert_error_mentions("jpeg");
    assert_status(gf_plot_format_from_name(NULL, "png"), GF_EINVAL);
    assert_string_equal(gf_plot_format_name(GF_PLOT_SVG), "svg");
    assert_null(gf_plot_format_name((gf_plot_format)9));
    gf_plot_options o = gf_plot_options_default();
    assert_int_equal(o.format, GF_PLOT_PNG);
    assert_true(o.step == GF_PLOT_STEP_FIRST);
}

/* ---- gnuplot missing, or failing -------------------------------------------------------- */

static char *saved_env(const char *name)
{
    const char *v = getenv(name);
    return v ? strdup(v) : NULL;
}

static void restore_env(const char *name, char *value)
{
    if (value) {
        setenv(name, value, 1);
        free(value);
    } else {
        unsetenv(name);
    }
}

void missing_gnuplot_keeps_the_scripts(void **state)
{
    (void)state;
    fixture fx;
    build(&fx, "tanh", NULL, 4, 12);
    assert_ok(pass(&fx));
    gf_plot_run run = {"tanh", gf_net_telemetry(fx.net), NAN, NULL, NULL, 0, NULL, 0};
    char *path = saved_env("PATH"), *gp = saved_env("GNUPLOT");
    setenv("PATH", "/nonexistent", 1);
    unsetenv("GNUPLOT");
    int available = gf_plot_available();
    gf_status st = gf_plot_signal(tpath("nognuplot"), "signal", &run, 1, NULL);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", gf_last_error());
    gf_status st_all = gf_plot_run_all(tpath("nognuplot/all"), &run, NULL);
    /* An explicit $GNUPLOT that does not exist is missing too. */
    setenv("GNUPLOT", "/nonexistent/gnuplot", 1);
    gf_status st_env = gf_plot_render(tpath("nognuplot/signal.gp"));
    restore_env("PATH", path);
    restore_env("GNUPLOT", gp);

    assert_false(available);
    assert_int_equal(st, GF_EUNSUPPORTED);
    assert_non_null(strstr(msg, "gnuplot is not installed"));
    assert_non_null(strstr(msg, "signal.gp"));
    assert_int_equal(st_all, GF_EUNSUPPORTED);
    assert_int_equal(st_env, GF_EUNSUPPORTED);
    assert_true(file_size(tpath("nognuplot/signal.gp")) > 0);
    assert_true(file_size(tpath("nognuplot/signal.dat")) > 0);
    assert_int_equal(file_size(tpath("nognuplot/signal.png")), -1);
    assert_true(file_size(tpath("nognuplot/all/heatmap.gp")) > 0);
    assert_true(file_size(tpath("nognuplot/all/units.gp")) > 0);
    release(&fx);
}

void failing_gnuplot_is_an_io_error(void **state)
{
    (void)state;
    /* $GNUPLOT pointing at `false` stands for a gnuplot that fails on the script. */
    write_test_file("broken.gp", "plot sin(x\n");
    char *gp = saved_env("GNUPLOT");
    setenv("GNUPLOT", "false", 1);
    int have_false = gf_plot_available();
    gf_clear_error();
    gf_status st = gf_plot_render(tpath("broken.gp"));
    char msg[512];
    snprintf(msg, sizeof msg, "%s", gf_last_error());
    restore_env("GNUPLOT", gp);
    if (have_false) {
        assert_int_equal(st, GF_EIO);
        assert_non_null(strstr(msg, "exit status 1"));
    }
    /* The real gnuplot, when installed, fails on the syntax error and says where. */
    if (gf_plot_available()) {
        assert_status(gf_plot_render(tpath("broken.gp")), GF_EIO);
        assert_error_mentions("broken.gp");
        assert_true(file_size(tpath("broken.gp.log")) > 0);
    }
}

/* Two renders started at once, waited for in turn: both figures written, each wait
 * reporting its own script; a start that fails leaves nothing to wait for. */
void renders_started_together_each_report(void **state)
{
    (void)state;
    gf_plot_job good, bad, none;
    write_test_file("together_ok.gp", "set terminal svg\nset output 'together.svg'\nplot x\n");
    write_test_file("together_bad.gp", "plot sin(x\n");
    remove(tpath("together.svg"));
    assert_status(gf_plot_render_start(&none, tpath("no/such/script.gp")), GF_EIO);
    assert_int_equal(none.pid, 0);
    assert_ok(gf_plot_render_wait(&none)); /* nothing started, nothing to wait for */
    assert_status(gf_plot_render_start(NULL, tpath("together_ok.gp")), GF_EINVAL);
    if (!gf_plot_available()) {
        assert_status(gf_plot_render_start(&good, tpath("together_ok.gp")), GF_EUNSUPPORTED);
        assert_int_equal(good.pid, 0);
        return;
    }
    assert_ok(gf_plot_render_start(&good, tpath("together_ok.gp")));
    assert_ok(gf_plot_render_start(&bad, tpath("together_bad.gp")));
    assert_true(good.pid > 0 && bad.pid > 0 && good.pid != bad.pid);
    assert_status(gf_plot_render_wait(&bad), GF_EIO);
    assert_error_mentions("together_bad.gp");
    assert_ok(gf_plot_render_wait(&good));
    assert_int_equal(good.pid, 0);
    assert_true(file_size(tpath("together.svg")) > 0);
    assert_int_equal(file_size(tpath("together_ok.gp.log")), -1); /* empty log removed */
}

/* A render polled: "still running" while gnuplot pauses (the job kept), then done with
 * the figure written; a failing script reports through the poll as through the wait; a
 * job that never started is done at once. */
void renders_polled_until_done(void **state)
{
    (void)state;
    gf_plot_job slow, bad, none = {0};
    int done = -1, polls = 0;
    assert_ok(gf_plot_render_poll(&none, &done));
    assert_int_equal(done, 1);
    assert_status(gf_plot_render_poll(NULL, &done), GF_EINVAL);
    if (!gf_plot_available())
        return;
    write_test_file("polled.gp", "pause 0.3\nset terminal svg\nset output 'polled.svg'\nplot x\n");
    write_test_file("polled_bad.gp", "plot cos(x\n");
    remove(tpath("polled.svg"));
    assert_ok(gf_plot_render_start(&slow, tpath("polled.gp")));
    assert_ok(gf_plot_render_poll(&slow, &done));
    assert_int_equal(done, 0); /* 0.3 s of pause: not done a moment after the start */
    assert_true(slow.pid > 0);
    while (done == 0) {
        assert_ok(gf_plot_render_poll(&slow, &done));
        polls++;
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
    assert_true(polls > 0);
    assert_int_equal(slow.pid, 0);
    assert_true(file_size(tpath("polled.svg")) > 0);
    assert_ok(gf_plot_render_start(&bad, tpath("polled_bad.gp")));
    gf_status st;
    do {
        st = gf_plot_render_poll(&bad, &done);
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    } while (done == 0 && st == GF_OK);
    assert_int_equal(done, 1);
    assert_int_equal(st, GF_EIO);
    assert_error_mentions("polled_bad.gp");
}

/* ---- Allocation failures ------------------------------------------------------------- */

void allocation_failures_leak_nothing(void **state)
{
    (void)state;
    fixture fx;
    gf_telemetry *t = NULL;
    gf_plot_options o = gf_plot_options_default();
    o.format = GF_PLOT_NONE;
    build(&fx, "relu", NULL, 3, 13);
    assert_ok(pass(&fx));
    assert_ok(gf_run_write(tpath("alloc"), gf_net_telemetry(fx.net), NULL));
    assert_ok(gf_hist_write(tpath("alloc/hist.csv"), fx.net, 8));
    release(&fx); /* the allocator may only change while no object lives */
    for (long k = 1; k < 40; k++) {
        tu_alloc_install(k);
        gf_status st = gf_telemetry_new(&t);
        if (st == GF_OK)
            st = gf_run_read_telemetry(t, tpath("alloc/telemetry.csv"));
        gf_plot_run run = {"r", t, 1.0, NULL, NULL, 0, NULL, 0};
        if (st == GF_OK)
            st = gf_plot_signal(tpath("alloc"), "signal", &run, 1, &o);
        if (st == GF_OK)
            st = gf_plot_loss(tpath("alloc"), "loss", &run, 1, &o);
        if (st == GF_OK)
            st = gf_plot_hist(tpath("alloc"), "hist", tpath("alloc/hist.csv"), &o);
        assert_true(st == GF_OK || st == GF_ENOMEM);
        gf_telemetry_free(t);
        t = NULL;
        assert_int_equal(tu_alloc_live(), 0);
        tu_alloc_uninstall();
    }
}
