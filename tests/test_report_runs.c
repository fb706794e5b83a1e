/* tests/test_report_runs.c: reports, part of test_report (tests/test_report.h): run
 * directories hold every file, losses given by the caller, bad input, and telemetry
 * read back from the CSV with every layer kind, a cut last line dropped with a warning. */
#define _XOPEN_SOURCE 700

#include "test_report.h"

/* ---- Run directories ---------------------------------------------------------------- */

void run_directory_holds_every_file(void **state)
{
    (void)state;
    fixture fx;
    build(&fx, "sigmoid", NULL, 10, 7);
    for (int s = 0; s < 6; s++)
        assert_ok(gf_net_train_step(fx.net, NULL, fx.x, fx.y, fx.opt, GF_LOSS_MSE, NULL));
    gf_run_kv cfg[] = {{"act", "sigmoid"}, {"depth", "10"}, {"note", "a \"quoted\"\\ value\n"}};
    uint64_t eval_steps[] = {2, 5, 9};
    double test_loss[] = {1.5, 1.25, NAN};
    double test_acc[] = {0.5, 0.75, 0.875};
    gf_run_summary s = gf_run_summary_default();
    s.name = "sigmoid xavier";
    s.config = cfg;
    s.n_config = 3;
    s.eval_steps = eval_steps;
    s.test_loss = test_loss;
    s.test_accuracy = test_acc;
    s.n_eval = 3;
    s.final_accuracy = 0.875;
    s.steps = 6;
    s.seconds = 0.25;
    char dir[512];
    snprintf(dir, sizeof dir, "%s", tpath("runs/a/b"));
    assert_ok(gf_run_write(dir, gf_net_telemetry(fx.net), &s));

    assert_true(file_size(tpath("runs/a/b/telemetry.csv")) > 0);
    char *tel = slurp(tpath("runs/a/b/telemetry.csv"));
    assert_int_equal(strncmp(tel, gf_telemetry_csv_header(), strlen(gf_telemetry_csv_header())), 0);
    assert_int_equal(count_lines(tel), 1 + 6 * 19);
    free(tel);

    /* loss.csv: steps 0..5 from the telemetry, evaluations merged on steps 2 and 5, and a
     * row of its own for step 9. */
    char *loss = slurp(tpath("runs/a/b/loss.csv"));
    assert_int_equal(count_lines(loss), 1 + 6 + 1);
    assert_int_equal(strncmp(loss, "step,loss,test_loss,test_accuracy\n0,", 36), 0);
    assert_contains(loss, ",1.5,0.5\n");
    assert_contains(loss, ",1.25,0.75\n");
    assert_contains(loss, "\n9,,,0.875\n");
    free(loss);

    char *js = slurp(tpath("runs/a/b/summary.json"));
    assert_contains(js, "\"name\": \"sigmoid xavier\"");
    assert_contains(js, "\"config\": {\"act\": \"sigmoid\", \"depth\": \"10\", \"note\": "
                        "\"a \\\"quoted\\\"\\\\ value\\n\"}");
    assert_contains(js, "\"verdict\": \"vanishing\"");
    assert_contains(js, "\"steps\": 6");
    assert_contains(js, "\"seconds\": 0.25");
    assert_contains(js, "\"final_accuracy\": 0.875");
    assert_contains(js, "\"nonfinite_step\": null");
    assert_contains(js, "\"n_linear\": 10");
    assert_contains(js, "\"real\": \"" GF_REAL_NAME "\"");
    assert_true(strstr(js, "nan") == NULL && strstr(js, "inf") == NULL);
    free(js);

    /* No .tmp file is left behind. */
    assert_int_equal(file_size(tpath("runs/a/b/loss.csv.tmp")), -1);
    assert_int_equal(file_size(tpath("runs/a/b/summary.json.tmp")), -1);
    release(&fx);
}

void loss_values_given_by_the_caller(void **state)
{
    (void)state;
    gf_telemetry *t;
    double loss[] = {3, 2, NAN, 1};
    uint64_t steps[] = {0, 10, 20, 30};
    assert_ok(gf_telemetry_new(&t));
    gf_run_summary s = gf_run_summary_default();
    s.loss = loss;
    s.loss_steps = steps;
    s.n_loss = 4;
    /* An empty telemetry: files still written, verdict null. */
    assert_ok(gf_run_write(tpath("given"), t, &s));
    char *l = slurp(tpath("given/loss.csv"));
    assert_string_equal(l, "step,loss,test_loss,test_accuracy\n0,3,,\n10,2,,\n20,,,\n30,1,,\n");
    free(l);
    char *js = slurp(tpath("given/summary.json"));
    assert_contains(js, "\"verdict\": null");
    assert_contains(js, "\"final_loss\": 1");
    assert_contains(js, "\"name\": \"run\"");
    free(js);
    /* Defaults when summary is NULL. */
    assert_ok(gf_run_write(tpath("nosummary"), t, NULL));
    assert_true(file_size(tpath("nosummary/summary.json")) > 0);
    gf_telemetry_free(t);
}

void run_write_bad_input(void **state)
{
    (void)state;
    gf_telemetry *t;
    assert_ok(gf_telemetry_new(&t));
    gf_run_summary s = gf_run_summary_default();
    assert_status(gf_run_write(NULL, t, NULL), GF_EINVAL);
    assert_error_mentions("gf_run_write");
    assert_status(gf_run_write(tpath("x"), NULL, NULL), GF_EINVAL);
    assert_status(gf_run_write("", t, NULL), GF_EINVAL);

    s.n_config = 2;
    assert_status(gf_run_write(tpath("x"), t, &s), GF_EINVAL);
    gf_run_kv bad[] = {{"k", NULL}};
    s.config = bad;
    s.n_config = 1;
    assert_status(gf_run_write(tpath("x"), t, &s), GF_EINVAL);
    s = gf_run_summary_default();
    s.n_eval = 1;
    assert_status(gf_run_write(tpath("x"), t, &s), GF_EINVAL);
    uint64_t down[] = {3, 2};
    double l2[] = {1, 1};
    s = gf_run_summary_default();
    s.loss = l2;
    s.loss_steps = down;
    s.n_loss = 2;
    assert_status(gf_run_write(tpath("x"), t, &s), GF_EINVAL);
    assert_error_mentions("increase");

    /* Unwritable: a directory cannot be made under a regular file (even as root). */
    FILE *f = fopen(tpath("plainfile"), "w");
    assert_non_null(f);
    fclose(f);
    assert_status(gf_run_write(tpath("plainfile/sub"), t, NULL), GF_EIO);
    assert_error_mentions("plainfile");
    assert_status(gf_mkdir_p(tpath("plainfile")), GF_EIO);
    assert_ok(gf_mkdir_p(tpath("m/n//o/")));
    assert_ok(gf_mkdir_p(tpath("m/n//o/")));
    assert_status(gf_mkdir_p(NULL), GF_EINVAL);
    gf_telemetry_free(t);
}

void telemetry_csv_reads_back(void **state)
{
    (void)state;
    fixture fx;
    gf_telemetry *back;
    gf_verdict a, b;
    gf_init n01 = gf_init_default(GF_INIT_NORMAL);
    build(&fx, "tanh", &n01, 8, 8);
    for (int s = 0; s < 3; s++)
        assert_ok(gf_net_train_step(fx.net, NULL, fx.x, fx.y, fx.opt, GF_LOSS_MSE, NULL));
    const gf_telemetry *t = gf_net_telemetry(fx.net);
    assert_ok(gf_run_write(tpath("rt"), t, NULL));
    assert_ok(gf_telemetry_new(&back));
    assert_ok(gf_run_read_telemetry(back, tpath("rt/telemetry.csv")));
    assert_int_equal(gf_telemetry_count(back), gf_telemetry_count(t));
    for (size_t i = 0; i < gf_telemetry_count(t); i++) {
        const gf_record *p = gf_telemetry_at(t, i), *q = gf_telemetry_at(back, i);
        assert_int_equal(p->step, q->step);
        assert_int_equal(p->layer, q->layer);
        assert_string_equal(p->kind, q->kind);
        assert_near(q->grad_out_norm, p->grad_out_norm, 0, 1e-8); /* %.9g */
        assert_int_equal(isnan(p->weight_grad_norm), isnan(q->weight_grad_norm));
        assert_int_equal(p->nonfinite_bwd, q->nonfinite_bwd);
    }
    assert_ok(gf_verdict_judge(&a, t));
    assert_ok(gf_verdict_judge(&b, back));
    assert_int_equal(a.kind, b.kind);
    assert_near(b.ratio_init, a.ratio_init, 0, 1e-7);

    /* Bad files. */
    gf_telemetry_clear(back);
    assert_status(gf_run_read_telemetry(back, tpath("rt/nonexistent.csv")), GF_EIO);
    assert_status(gf_run_read_telemetry(back, tpath("rt/loss.csv")), GF_EFORMAT);
    assert_error_mentions("header");
    FILE *f = fopen(tpath("rt/bad.csv"), "w");
    fprintf(f, "%s\n0,0,linear,1,2,3\n", gf_telemetry_csv_header());
    fclose(f);
    assert_status(gf_run_read_telemetry(back, tpath("rt/bad.csv")), GF_EFORMAT);
    assert_error_mentions("bad.csv:2");
    f = fopen(tpath("rt/bad2.csv"), "w");
    fprintf(f, "%s\n0,0,linear,1,x,,,,,,,,,,,,,,0,0\n", gf_telemetry_csv_header());
    fclose(f);
    assert_status(gf_run_read_telemetry(back, tpath("rt/bad2.csv")), GF_EFORMAT);
    f = fopen(tpath("rt/empty.csv"), "w");
    fclose(f);
    assert_status(gf_run_read_telemetry(back, tpath("rt/empty.csv")), GF_EFORMAT);
    /* A kind the library does not know (a layer of one's own) reads back as written. */
    f = fopen(tpath("rt/other.csv"), "w");
    fprintf(f, "%s\n0,0,frobnicate,1,2,,,,,,,,,,,,,,0,0\n", gf_telemetry_csv_header());
    fclose(f);
    assert_ok(gf_run_read_telemetry(back, tpath("rt/other.csv")));
    assert_string_equal(gf_telemetry_at(back, 0)->kind, "frobnicate");
    assert_status(gf_run_read_telemetry(NULL, "x"), GF_EINVAL);
    assert_status(gf_run_read_telemetry(back, NULL), GF_EINVAL);
    gf_telemetry_free(back);
    release(&fx);
}

/* The log callback's messages, for the reader's warning. */
typedef struct log_capture {
    int warnings;
    char last[512];
} log_capture;

static void capture_log(gf_log_level level, const char *message, void *user)
{
    log_capture *c = user;
    if (level == GF_LOG_WARN) {
        c->warnings++;
        snprintf(c->last, sizeof c->last, "%s", message);
    }
}

/* A telemetry CSV cut in the middle of a line (a run killed mid-write, a full disk) reads
 * up to its last whole line; the partial line, which may hold a number cut short that
 * still parses, is dropped with a warning through the log callback. */
void incomplete_last_line_is_dropped_with_a_warning(void **state)
{
    log_capture cap = {0};
    gf_telemetry *back = NULL;
    FILE *f = fopen(tpath("cut.csv"), "w");
    (void)state;
    assert_non_null(f);
    fprintf(f, "%s\n0,0,linear,1,2,,,,,,,,,,,,,,0,0\n0,1,tanh,1,3,,,,,,,,,,,,,,0,0\n"
               "1,0,linear,0.5,0.12", gf_telemetry_csv_header());
    fclose(f);
    assert_ok(gf_telemetry_new(&back));
    gf_set_log_callback(capture_log, &cap);
    assert_ok(gf_run_read_telemetry(back, tpath("cut.csv")));
    gf_set_log_callback(NULL, NULL);
    assert_int_equal(gf_telemetry_count(back), 2);
    assert_int_equal(gf_telemetry_at(back, 1)->layer, 1);
    assert_near(gf_telemetry_at(back, 1)->grad_out_norm, 3, 0, 0);
    assert_int_equal(cap.warnings, 1);
    assert_non_null(strstr(cap.last, "cut.csv:4"));
    assert_non_null(strstr(cap.last, "incomplete"));
    /* A whole file gives no warning. */
    f = fopen(tpath("whole.csv"), "w");
    assert_non_null(f);
    fprintf(f, "%s\n0,0,linear,1,2,,,,,,,,,,,,,,0,0\n", gf_telemetry_csv_header());
    fclose(f);
    gf_telemetry_clear(back);
    gf_set_log_callback(capture_log, &cap);
    assert_ok(gf_run_read_telemetry(back, tpath("whole.csv")));
    gf_set_log_callback(NULL, NULL);
    assert_int_equal(gf_telemetry_count(back), 1);
    assert_int_equal(cap.warnings, 1);
    gf_telemetry_free(back);
}

/* Write the header, body and last into path. size > 0: last holds one ';', which becomes
 * "." and as many zeros as make the file exactly size bytes ("1;" reads as 1.000...). */
static void write_cut_csv(const char *path, const char *body, const char *last, long size)
{
    FILE *f = fopen(path, "w");
    const char *mark = strchr(last, ';');
    long have = (long)(strlen(gf_telemetry_csv_header()) + 1 + strlen(body) + strlen(last));
    assert_non_null(f);
    fprintf(f, "%s\n%s", gf_telemetry_csv_header(), body);
    if (size > 0) {
        assert_non_null(mark);
        assert_true(size > have); /* have counts the ';', which the '.' takes */
        fprintf(f, "%.*s.", (int)(mark - last), last);
        for (long k = have; k < size; k++)
            fputc('0', f);
        fputs(mark + 1, f);
    } else {
        fputs(last, f);
    }
    fclose(f);
}

/* A killed run's last step, cut by the kernel at a 4 KiB boundary of the file (the
 * write of a step of more than a page stops there when the writer is killed), is
 * dropped whole: cut within a line of that step, or at a line boundary (the file then
 * ends on 4096 bytes exactly, with fewer records in its last step than in the one
 * before). A short last step in a file that shows no cut is kept. */
void cut_last_step_is_dropped_whole(void **state)
{
    static const char two_steps[] = "0,0,linear,1,2,,,,,,,,,,,,,,0,0\n0,1,tanh,1,3,,,,,,,,,,,,,,0,0\n"
                                    "1,0,linear,0.5,4,,,,,,,,,,,,,,0,0\n";
    log_capture cap = {0};
    gf_telemetry *back = NULL;
    struct stat sb;
    char body[4096];
    size_t used = 0;
    (void)state;
    assert_ok(gf_telemetry_new(&back));
    gf_set_log_callback(capture_log, &cap);
    /* Cut within a line of step 1: step 1's whole line goes too. */
    write_cut_csv(tpath("cut_in_line.csv"), two_steps, "1,1,tanh,0.5,0.1", 0);
    assert_ok(gf_run_read_telemetry(back, tpath("cut_in_line.csv")));
    assert_int_equal(gf_telemetry_count(back), 2);
    assert_int_equal(gf_telemetry_at(back, 1)->step, 0);
    assert_non_null(strstr(cap.last, "the last step (1) was cut short"));
    /* Cut on a line boundary at 4096 bytes: step 1 has 3 of 100 records. */
    for (int k = 0; k < 100; k++)
        used += (size_t)snprintf(body + used, sizeof body - used,
                                 "0,%d,linear,1,2,,,,,,,,,,,,,,0,0\n", k);
    used += (size_t)snprintf(body + used, sizeof body - used,
                             "1,0,linear,0.5,4,,,,,,,,,,,,,,0,0\n1,1,tanh,0.5,4,,,,,,,,,,,,,,0,0\n");
    /* At 4096 bytes the file shows a cut: step 1 is dropped, with a warning. The same
     * records one byte longer show none: all kept, no warning. */
    for (long size = 4096; size <= 4097; size++) {
        int cut = size == 4096;
        gf_telemetry_clear(back);
        write_cut_csv(tpath("page.csv"), body, "1,2,linear,1;,5,,,,,,,,,,,,,,0,0\n", size);
        assert_int_equal(stat(tpath("page.csv"), &sb), 0);
        assert_int_equal(sb.st_size, size);
        cap.warnings = 0;
        assert_ok(gf_run_read_telemetry(back, tpath("page.csv")));
        assert_int_equal(gf_telemetry_count(back), cut ? 100 : 103);
        assert_int_equal(cap.warnings, cut);
    }
    /* A line cut inside its step field names no step: the counts decide (step 1 has 1
     * record against step 0's 2, so it goes). */
    gf_telemetry_clear(back);
    write_cut_csv(tpath("cut_step_field.csv"), two_steps, "1", 0);
    assert_ok(gf_run_read_telemetry(back, tpath("cut_step_field.csv")));
    assert_int_equal(gf_telemetry_count(back), 2);
    /* A cut line of the next step leaves the last whole step alone. */
    gf_telemetry_clear(back);
    write_cut_csv(tpath("cut_next.csv"), two_steps, "2,0,lin", 0);
    assert_ok(gf_run_read_telemetry(back, tpath("cut_next.csv")));
    assert_int_equal(gf_telemetry_count(back), 3);
    gf_set_log_callback(NULL, NULL);
    gf_telemetry_free(back);
}

/* Every built-in kind a network records (rnn, batchnorm, layernorm, prelu, an activation,
 * linear) reads back from the CSV under its own name; before the kinds were copies, an
 * rnn layer read back as "other". */
void every_kind_round_trips_through_the_csv(void **state)
{
    gf_net *net = NULL;
    gf_telemetry *back = NULL;
    gf_tensor *x = NULL, *y = NULL;
    gf_rng rng;
    const gf_record *recs = NULL;
    size_t n = 0;
    static const char *const want[] = {"rnn", "linear", "relu", "prelu", "batchnorm",
                                       "layernorm", "linear"};
    (void)state;
    gf_rng_seed(&rng, 9);
    assert_ok(gf_net_new(&net, 6));
    assert_ok(gf_net_add_rnn(net, GF_RNN_GRU, 4, 3, 0, NULL, &rng));
    assert_ok(gf_net_add_linear(net, 5));
    assert_ok(gf_net_add_activation(net, "relu"));
    assert_ok(gf_net_add_prelu(net, 0.25));
    assert_ok(gf_net_add_batchnorm(net, 1e-5, 0.1));
    assert_ok(gf_net_add_layernorm(net, 1e-5));
    assert_ok(gf_net_add_linear(net, 2));
    gf_init he = gf_init_default(GF_INIT_HE_NORMAL);
    assert_ok(gf_net_init(net, &he, &rng));
    assert_ok(gf_tensor_new(&x, 4, 6));
    assert_ok(gf_tensor_new(&y, 4, 2));
    for (size_t i = 0; i < 24; i++)
        x->data[i] = (gf_real)gf_rng_normal(&rng);
    for (size_t i = 0; i < 8; i++)
        y->data[i] = (gf_real)gf_rng_normal(&rng);
    assert_ok(gf_net_forward(net, NULL, x));
    assert_ok(gf_net_loss(net, NULL, y, GF_LOSS_MSE));
    assert_ok(gf_net_backward(net));
    assert_ok(gf_net_last_records(net, &recs, &n));
    assert_int_equal(n, 7);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(recs[i].kind, want[i]);
    assert_ok(gf_telemetry_save_csv(gf_net_telemetry(net), tpath("kinds.csv")));
    assert_ok(gf_telemetry_new(&back));
    assert_ok(gf_run_read_telemetry(back, tpath("kinds.csv")));
    assert_int_equal(gf_telemetry_count(back), 7);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(gf_telemetry_at(back, i)->kind, want[i]);
    /* The verdict finds the same two linear layers in both. */
    gf_verdict a, b;
    assert_ok(gf_verdict_judge(&a, gf_net_telemetry(net)));
    assert_ok(gf_verdict_judge(&b, back));
    assert_int_equal(a.n_linear, 2);
    assert_int_equal(b.n_linear, 2);
    assert_int_equal(b.first_linear, 1);
    assert_int_equal(b.last_linear, 6);
    gf_telemetry_free(back);
    gf_tensor_free(x);
    gf_tensor_free(y);
    gf_net_free(net);
}
