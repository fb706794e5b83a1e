/* tests/test_report_training.c: reports, part of test_report (tests/test_report.h): the
 * figures over training (report.h 6-9). Each test reads the written data back and checks
 * it against the telemetry or the input it came from, not only that a file exists. */
#define _XOPEN_SOURCE 700

#include "test_report.h"

/* The next non-comment data line of a .dat file from *pos on: its text in line (cap),
 * or 0 at the end. Blank lines (block separators) count in *blanks. */
static int next_data(const char **pos, char *line, size_t cap, size_t *blanks)
{
    while (**pos != '\0') {
        const char *e = strchr(*pos, '\n');
        size_t len = e ? (size_t)(e - *pos) : strlen(*pos);
        const char *start = *pos;
        *pos = e ? e + 1 : *pos + len;
        if (len == 0) {
            (*blanks)++;
            continue;
        }
        if (start[0] == '#')
            continue;
        snprintf(line, cap, "%.*s", (int)len, start);
        return 1;
    }
    return 0;
}

/* ---- (6) Histograms over the steps --------------------------------------------------- */

void histograms_over_steps(void **state)
{
    (void)state;
    fixture fx;
    char csv[512], line[256];
    build(&fx, "relu", NULL, 4, 11);
    snprintf(csv, sizeof csv, "%s", tpath("hsteps.csv"));
    remove(csv);
    assert_status(gf_hist_append(csv, fx.net, 0, 10), GF_ESTATE);
    /* Snapshots at steps 0 and 3, an update between them. */
    for (uint64_t step = 0; step < 4; step++) {
        assert_ok(pass(&fx));
        if (step == 0 || step == 3)
            assert_ok(gf_hist_append(csv, fx.net, step, 10));
        assert_ok(gf_net_step(fx.net, fx.opt));
    }
    /* Per (step, unit): the activation counts add up to every value of the batch, the
     * log10 |dL/dh| counts and the exact zeros to every gradient (ReLU: many zeros). */
    FILE *f = fopen(csv, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "step,which,unit,layer,kind,lo,hi,count\n");
    double act[2][4] = {{0}}, grad[2][4] = {{0}}, zero[2][4] = {{0}};
    size_t rows = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long long step;
        unsigned long unit, layer;
        char which[16], kind[16];
        double lo, hi, count;
        assert_int_equal(sscanf(line, "%llu,%15[^,],%lu,%lu,%15[^,],%lf,%lf,%lf", &step, which,
                                &unit, &layer, kind, &lo, &hi, &count), 8);
        assert_true(step == 0 || step == 3);
        assert_true(unit >= 1 && unit <= 3);
        assert_int_equal(layer, 2 * unit - 1);
        assert_string_equal(kind, "relu");
        int s = step == 3;
        if (strcmp(which, "act") == 0)
            act[s][unit] += count, assert_true(hi > lo && lo >= 0);
        else if (strcmp(which, "log10_grad") == 0)
            grad[s][unit] += count, assert_true(hi > lo);
        else
            assert_string_equal(which, "grad_zero"), zero[s][unit] += count;
        rows++;
    }
    fclose(f);
    assert_int_equal(rows, 2 * 3 * (2 * 10 + 1));
    for (int s = 0; s < 2; s++)
        for (int u = 1; u <= 3; u++) {
            assert_near(act[s][u], 64 * 64, 0, 0);
            assert_true(zero[s][u] > 0.2 * 64 * 64); /* about half of a ReLU's f' are 0 */
            assert_true(grad[s][u] + zero[s][u] > 0.99 * 64 * 64);
            assert_true(grad[s][u] + zero[s][u] <= 64 * 64);
        }

    /* The figure's data: per panel and step, the fractions add up to 1; cells of step 0
     * end where those of step 3 begin (halfway, 1.5). */
    gf_plot_options o = gf_plot_options_default();
    o.format = GF_PLOT_NONE;
    assert_ok(gf_plot_hist_steps(tpath("hsfig"), "hs", csv, &o));
    char *dat = slurp(tpath("hsfig/hs.dat")), *gp = slurp(tpath("hsfig/hs.gp"));
    const char *pos = dat;
    size_t blanks = 0, block = 0;
    double sum[3][2] = {{0}};
    while (next_data(&pos, line, sizeof line, &blanks)) {
        double x0, x1, y0, y1, frac;
        block += blanks / 2, blanks = 0;
        if (strncmp(line, "NaN", 3) == 0)
            continue;
        assert_int_equal(sscanf(line, "%lf %lf %lf %lf %lf", &x0, &x1, &y0, &y1, &frac), 5);
        assert_true(block < 9 && block % 3 != 2); /* no column of all-zero gradients */
        assert_true((x0 == -1.5 && x1 == 1.5) || (x0 == 1.5 && x1 == 4.5));
        assert_true(y1 > y0 && frac > 0 && frac <= 1);
        sum[block / 3][x0 > 0] += block % 3 == 0 ? frac : 0;
    }
    for (int u = 0; u < 3; u++)
        for (int s = 0; s < 2; s++)
            assert_near(sum[u][s], 1, 0, 1e-4);
    assert_contains(gp, "set multiplot layout 3,2");
    assert_contains(gp, "set title 'layer 3 (relu): log10 |dL/dh|' noenhanced");
    assert_contains(gp, "with boxxyerror fs solid 1.0 noborder lc palette");
    assert_contains(gp, "set rmargin 17"); /* room for the colour bar's labels */
    free(dat), free(gp);

    /* A snapshot whose dL/dh are all exactly 0 is a hatched column, named in the key. */
    f = fopen(csv, "w");
    fputs("step,which,unit,layer,kind,lo,hi,count\n"
          "0,act,1,1,relu,0,1,10\n0,log10_grad,1,0,relu,-3,-2,10\n0,grad_zero,1,1,relu,0,0,0\n"
          "8,act,1,1,relu,0,1,10\n0,log10_grad,1,0,relu,-3,-2,0\n", f);
    fclose(f);
    assert_status(gf_plot_hist_steps(tpath("hsfig"), "hs", csv, &o), GF_EFORMAT);
    assert_error_mentions("backwards");
    f = fopen(csv, "w");
    fputs("step,which,unit,layer,kind,lo,hi,count\n"
          "0,act,1,1,relu,0,1,10\n0,log10_grad,1,0,relu,-3,-2,10\n0,grad_zero,1,1,relu,0,0,0\n"
          "8,act,1,1,relu,0,1,10\n8,log10_grad,1,0,relu,-3,-2,0\n8,grad_zero,1,1,relu,0,0,10\n",
          f);
    fclose(f);
    assert_ok(gf_plot_hist_steps(tpath("hsfig"), "hs", csv, &o));
    dat = slurp(tpath("hsfig/hs.dat"));
    gp = slurp(tpath("hsfig/hs.gp"));
    assert_contains(dat, "\n4 12 -3 -2 0\n"); /* step 8's column, the whole range */
    assert_contains(gp, "title 'every dL/dh exactly 0'");
    free(dat), free(gp);
    assert_status(gf_hist_append(NULL, fx.net, 0, 0), GF_EINVAL);
    assert_status(gf_plot_hist_steps(tpath("hsfig"), "hs", tpath("nothere.csv"), &o), GF_EIO);
    release(&fx);
}

/* ---- (7) The update ratio ------------------------------------------------------------ */

void update_ratio_per_layer(void **state)
{
    (void)state;
    fixture fx;
    char line[256];
    build(&fx, "tanh", NULL, 9, 12); /* 9 linear layers: six of them shown */
    for (int s = 0; s < 5; s++)
        assert_ok(gf_net_train_step(fx.net, NULL, fx.x, fx.y, fx.opt, GF_LOSS_MSE, NULL));
    gf_plot_run run = {.label = "tanh", .telemetry = gf_net_telemetry(fx.net), .predicted_factor = NAN};
    gf_plot_options o = gf_plot_options_default();
    o.format = GF_PLOT_NONE;
    assert_ok(gf_plot_update_ratio(tpath("urfig"), "ur", &run, 1, &o));
    /* Blocks: linear layers 1, 3, 4, 6, 7, 9 (evenly spaced); each value is the record's. */
    static const size_t shown[6] = {1, 3, 4, 6, 7, 9};
    char *dat = slurp(tpath("urfig/ur.dat")), *gp = slurp(tpath("urfig/ur.gp"));
    const char *pos = dat;
    size_t blanks = 0, block = 0, n = 0;
    while (next_data(&pos, line, sizeof line, &blanks)) {
        unsigned long long step;
        double ratio;
        block += blanks / 2, blanks = 0;
        assert_int_equal(sscanf(line, "%llu %lf", &step, &ratio), 2);
        /* Linear layer k is network layer 2(k-1) in a net of linear + activation pairs. */
        const gf_record *r = gf_telemetry_find(run.telemetry, step, 2 * (shown[block] - 1));
        assert_non_null(r);
        assert_string_equal(r->kind, "linear");
        assert_near(ratio, r->update_ratio, 0, 1e-5);
        assert_true(ratio > 0);
        n++;
    }
    assert_int_equal(block, 5);
    assert_int_equal(n, 6 * 5);
    assert_contains(gp, "title 'linear layer 9'");
    assert_contains(gp, "plot 1e-3 with lines");
    assert_contains(gp, "first 10**-3.5 to graph 1, first 10**-2.5"); /* the band */
    assert_contains(gp, "dt 5 pt 13"); /* the fifth line: its own dash and point type */
    free(dat), free(gp);
    release(&fx);
}

/* ---- (8) Clipping -------------------------------------------------------------------- */

void clipped_and_unclipped_norms(void **state)
{
    (void)state;
    fixture a, b;
    gf_clip clip = {GF_CLIP_GLOBAL_NORM, 1e-3};
    char line[256];
    build(&a, "tanh", NULL, 4, 13);
    build(&b, "tanh", NULL, 4, 13);
    for (int s = 0; s < 3; s++) {
        assert_ok(gf_net_train_step(a.net, NULL, a.x, a.y, a.opt, GF_LOSS_MSE, &clip));
        assert_ok(gf_net_train_step(b.net, NULL, b.x, b.y, b.opt, GF_LOSS_MSE, NULL));
    }
    gf_plot_run runs[2] = {{.label = "clipped", .telemetry = gf_net_telemetry(a.net), .predicted_factor = NAN},
                           {.label = "plain", .telemetry = gf_net_telemetry(b.net), .predicted_factor = NAN}};
    gf_plot_options o = gf_plot_options_default();
    o.format = GF_PLOT_NONE;
    assert_status(gf_plot_clip(tpath("clfig"), "cl", &runs[1], 1, &o), GF_EINVAL);
    assert_error_mentions("clipped");
    assert_ok(gf_plot_clip(tpath("clfig"), "cl", runs, 2, &o));
    char *dat = slurp(tpath("clfig/cl.dat")), *gp = slurp(tpath("clfig/cl.gp"));
    const char *pos = dat;
    size_t blanks = 0, block = 0, n = 0;
    while (next_data(&pos, line, sizeof line, &blanks)) {
        unsigned long long step;
        double pre, post, event, raw = 0;
        char ev[32];
        block += blanks / 2, blanks = 0;
        assert_int_equal(sscanf(line, "%llu %lf %lf %31s", &step, &pre, &post, ev), 4);
        event = strtod(ev, NULL);
        /* The global norm from the layers' own: root of the sum of squares. */
        for (size_t l = 0; l < gf_net_layer_count(a.net); l++) {
            const gf_record *r = gf_telemetry_find(runs[block].telemetry, step, l);
            double v = block == 0 ? r->clip_pre_norm : r->weight_grad_norm;
            if (!isnan(v))
                raw += v * v + (block == 0 || isnan(r->bias_grad_norm)
                                    ? 0 : r->bias_grad_norm * r->bias_grad_norm);
        }
        assert_near(pre, sqrt(raw), 0, 1e-5);
        if (block == 0) {
            assert_near(post, 1e-3, 0, 1e-5); /* clipped to the threshold */
            assert_near(event, pre, 0, 0);
        } else {
            assert_near(post, pre, 0, 0);
            assert_true(isnan(event));
        }
        n++;
    }
    assert_int_equal(n, 6);
    assert_contains(gp, "title 'clipped: clipped on 3 of 3 recorded steps'");
    assert_contains(gp, "title 'plain (no clipping)'");
    assert_contains(gp, "using 1:4 with points pt 6");
    free(dat), free(gp);
    release(&a), release(&b);
}

/* ---- (9) Test loss and accuracy ------------------------------------------------------ */

void test_loss_beside_training_loss(void **state)
{
    (void)state;
    char line[256];
    double loss[4] = {2, 1.5, 1.2, 1.0}, tl[2] = {2.1, 1.4}, ta[2] = {0.1, NAN};
    uint64_t ls[4] = {0, 1, 2, 3}, es[2] = {0, 4};
    gf_plot_run runs[2] = {
        {.label = "with test", .predicted_factor = NAN, .loss = loss, .loss_steps = ls,
         .n_loss = 4},
        {.label = "without", .predicted_factor = NAN, .loss = loss, .loss_steps = ls,
         .n_loss = 4}};
    gf_plot_evals ev[2] = {{es, tl, ta, 2}, {NULL, NULL, NULL, 0}};
    gf_plot_options o = gf_plot_options_default();
    o.format = GF_PLOT_NONE;
    assert_status(gf_plot_eval(tpath("evfig"), "ev", &runs[1], &ev[1], 1, &o), GF_EINVAL);
    assert_error_mentions("test loss");
    assert_ok(gf_plot_eval(tpath("evfig"), "ev", runs, ev, 2, &o));
    char *dat = slurp(tpath("evfig/ev.dat")), *gp = slurp(tpath("evfig/ev.gp"));
    const char *pos = dat;
    size_t blanks = 0, block = 0, n[4] = {0};
    while (next_data(&pos, line, sizeof line, &blanks)) {
        unsigned long long step;
        double v, acc;
        char a[32];
        block += blanks / 2, blanks = 0;
        assert_true(block < 4);
        if (block % 2 == 0) {
            assert_int_equal(sscanf(line, "%llu %lf", &step, &v), 2);
            assert_near(v, loss[step], 0, 1e-9);
        } else if (block == 1) {
            assert_int_equal(sscanf(line, "%llu %lf %31s", &step, &v, a), 3);
            acc = strtod(a, NULL);
            assert_near(v, tl[n[1]], 0, 1e-9);
            assert_true(n[1] == 0 ? acc == 0.1 : isnan(acc));
        }
        n[block]++;
    }
    assert_int_equal(n[0], 4);
    assert_int_equal(n[1], 2);
    assert_contains(gp, "set multiplot layout 1,2"); /* an accuracy panel */
    assert_contains(gp, "title 'with test, test'");
    assert_null(strstr(gp, "'without, test'")); /* no empty block drawn */
    free(dat), free(gp);
}

/* ---- Figure (2): an exact zero signal is drawn and named ----------------------------- */

void heatmap_draws_an_exact_zero(void **state)
{
    (void)state;
    gf_telemetry *t;
    assert_ok(gf_telemetry_new(&t));
    /* Two linear layers over two steps; layer 1's signal is exactly 0 at step 1. */
    for (uint64_t step = 0; step < 2; step++)
        for (uint32_t layer = 0; layer < 2; layer++) {
            gf_record r;
            memset(&r, 0, sizeof r);
            r.step = step, r.layer = layer;
            gf_record_set_kind(&r, "linear");
            r.grad_out_norm = step == 1 && layer == 0 ? 0 : 0.01;
            r.weight_grad_norm = r.update_ratio = r.clip_pre_norm = r.clip_post_norm = NAN;
            r.dead_frac = r.sat_frac = r.deriv_abs_mean = NAN;
            assert_ok(gf_telemetry_append(t, &r));
        }
    gf_plot_options o = gf_plot_options_default();
    o.format = GF_PLOT_NONE;
    assert_ok(gf_plot_heatmap(tpath("hzfig"), "hz", t, &o));
    char *dat = slurp(tpath("hzfig/hz.dat")), *gp = slurp(tpath("hzfig/hz.gp"));
    assert_contains(dat, "\n0 1 0.5 -2 0\n");
    assert_contains(dat, "\n1 1 0.5 NaN 1\n"); /* no log, but marked */
    assert_contains(dat, "\n1 2 0.5 -2 0\n");
    assert_contains(gp, "using 1:($5 > 0 ? $2 : NaN):3:(0.5) with boxxyerror");
    assert_contains(gp, "title '||dL/dh|| exactly 0'");
    free(dat), free(gp);
    gf_telemetry_free(t);
}
