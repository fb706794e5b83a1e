/* tests/test_report.c: verdicts on the classic cases (deep sigmoid with Xavier vanishes,
 * tanh with N(0,1) weights explodes, ReLU with He is healthy, NaN and dead ReLUs are
 * named) and at their thresholds; run directories; reading telemetry back; gnuplot
 * scripts and their rendering, with and without gnuplot on PATH; bad input. */
#define _XOPEN_SOURCE 700

#include "testutil.h"

#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gradflow.h"
#include "../src/analysis/run_dir.h" /* gf_mkdir_p, private */

/* ---- Helpers -------------------------------------------------------------------------- */

static char tmp_root[256];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int setup_dir(void **state)
{
    (void)state;
    snprintf(tmp_root, sizeof tmp_root, "/tmp/gf_test_report_XXXXXX");
    return mkdtemp(tmp_root) == NULL ? -1 : 0;
}

static int teardown_dir(void **state)
{
    (void)state;
    return nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* rel inside the test directory. The result lives in one of 8 rotating buffers: copy
 * it when it must outlive the next calls. */
static const char *tpath(const char *rel)
{
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmp_root, rel);
    return buf[k];
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

/* The whole file as a string (caller frees). */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void assert_contains(const char *hay, const char *needle)
{
    if (strstr(hay, needle) == NULL) {
        print_error("text does not contain \"%s\"\n", needle);
        fail();
    }
}

/* A deep MLP (32 -> 64 x depth -> 8) with one backward pass on a Gaussian batch. */
typedef struct fixture {
    gf_net *net;
    gf_tensor *x, *y;
    gf_optim *opt;
} fixture;

static void build(fixture *fx, const char *act, const gf_init *init, size_t depth, uint64_t seed)
{
    gf_mlp_spec spec = {.in = 32, .width = 64, .depth = depth, .out = 8, .act = act,
                        .act_param = NAN, .init = init};
    gf_rng rng;
    gf_optim_config sgd = gf_optim_default(GF_OPTIM_SGD);
    gf_rng_seed(&rng, seed);
    assert_ok(gf_net_new_mlp(&fx->net, &spec, &rng));
    assert_ok(gf_tensor_new(&fx->x, 64, 32));
    assert_ok(gf_tensor_new(&fx->y, 64, 8));
    for (size_t i = 0; i < gf_tensor_size(fx->x); i++)
        fx->x->data[i] = (gf_real)gf_rng_normal(&rng);
    for (size_t i = 0; i < gf_tensor_size(fx->y); i++)
        fx->y->data[i] = (gf_real)gf_rng_normal(&rng);
    assert_ok(gf_optim_new(&fx->opt, &sgd, gf_net_param_count(fx->net)));
}

/* Forward, loss and backward (no step), so the buffers stay valid for histograms. */
static gf_status pass(fixture *fx)
{
    const gf_tensor *out;
    double loss;
    gf_status st = gf_net_forward(fx->net, &out, fx->x);
    if (st == GF_OK)
        st = gf_net_loss(fx->net, &loss, fx->y, GF_LOSS_MSE);
    if (st == GF_OK)
        st = gf_net_backward(fx->net);
    return st;
}

static void release(fixture *fx)
{
    gf_net_free(fx->net);
    gf_tensor_free(fx->x);
    gf_tensor_free(fx->y);
    gf_optim_free(fx->opt);
}

static gf_verdict judge_at_init(const char *act, const gf_init *init, size_t depth,
                                uint64_t seed)
{
    fixture fx;
    gf_verdict v;
    build(&fx, act, init, depth, seed);
    assert_ok(pass(&fx));
    assert_ok(gf_verdict_judge(&v, gf_net_telemetry(fx.net)));
    release(&fx);
    return v;
}

/* A record with every figure "does not apply" except the ones a test sets. */
static gf_record rec(uint64_t step, uint32_t layer, const char *kind, double signal)
{
    gf_record r;
    memset(&r, 0, sizeof r);
    r.step = step;
    r.layer = layer;
    gf_record_set_kind(&r, kind);
    r.loss = 1.0;
    r.grad_out_norm = signal;
    r.grad_in_norm = signal;
    r.weight_grad_norm = strcmp(kind, "linear") == 0 ? signal : NAN;
    r.bias_grad_norm = r.weight_norm = r.update_ratio = NAN;
    r.clip_pre_norm = r.clip_post_norm = r.deriv_abs_mean = NAN;
    r.dead_frac = strcmp(kind, "linear") == 0 ? NAN : 0;
    r.sat_frac = strcmp(kind, "linear") == 0 ? NAN : 0;
    return r;
}

/* Three linear layers with tanh between them; signal s1, s2, s3 from input to output. */
static void add_step(gf_telemetry *t, uint64_t step, double s1, double s2, double s3)
{
    gf_record r[5] = {rec(step, 0, "linear", s1), rec(step, 1, "tanh", s2),
                      rec(step, 2, "linear", s2), rec(step, 3, "tanh", s3),
                      rec(step, 4, "linear", s3)};
    for (int i = 0; i < 5; i++)
        assert_ok(gf_telemetry_append(t, &r[i]));
}

/* ---- Verdicts on real networks ---------------------------------------------------------- */

static void deep_sigmoid_with_xavier_vanishes(void **state)
{
    (void)state;
    /* sigma' <= 1/4 and Xavier keeps ||W|| near 1: about x0.25 per layer. */
    gf_verdict v = judge_at_init("sigmoid", NULL, 15, 1);
    assert_int_equal(v.kind, GF_VERDICT_VANISHING);
    assert_int_equal(v.n_linear, 15);
    assert_int_equal(v.first_linear, 0);
    assert_int_equal(v.last_linear, 28);
    assert_true(v.ratio_init < 1e-6);
    assert_true(v.factor_init > 0.15 && v.factor_init < 0.35);
    assert_near(v.ratio_init, v.signal_first_init / v.signal_last_init, 0, 1e-12);
    assert_near(v.factor_init, pow(v.ratio_init, 1.0 / 14), 0, 1e-9);
    assert_int_equal(v.first_step, 0);
    assert_int_equal(v.last_step, 0);
    assert_string_equal(gf_verdict_name(v.kind), "vanishing");
    assert_contains(v.text, "vanishing");
    assert_contains(v.text, "per layer");
}

static void tanh_with_normal_weights_explodes(void **state)
{
    (void)state;
    /* N(0,1) weights on 64 inputs: pre-activations of std 8, chi = 64 E[tanh'^2] ~ 4.3,
     * so the signal grows about x2 per layer although most units are saturated. */
    gf_init n01 = gf_init_default(GF_INIT_NORMAL);
    gf_verdict v = judge_at_init("tanh", &n01, 15, 2);
    assert_int_equal(v.kind, GF_VERDICT_EXPLODING);
    assert_true(v.ratio_init > 1e3);
    assert_true(v.factor_init > 1.6 && v.factor_init < 3.0);
    assert_true(v.max_sat_frac > 0.5); /* saturated, yet exploding */
    assert_int_equal(v.max_dead_frac < GF_VERDICT_DEAD_FRAC, 1);
    assert_contains(v.text, "exploding");
}

static void relu_with_he_is_healthy(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        gf_verdict v = judge_at_init("relu", NULL, 15, seed);
        assert_int_equal(v.kind, GF_VERDICT_HEALTHY);
        assert_true(v.ratio_init > 0.1 && v.ratio_init < 10);
        assert_true(v.factor_init > 0.85 && v.factor_init < 1.2);
        assert_contains(v.text, "healthy");
    }
}

static void relu_with_normal_weights_explodes(void **state)
{
    (void)state;
    /* N(0,1) on 64 inputs is sqrt(32) times He's scale: x5.7 per layer. */
    gf_init n01 = gf_init_default(GF_INIT_NORMAL);
    gf_verdict v = judge_at_init("relu", &n01, 10, 3);
    assert_int_equal(v.kind, GF_VERDICT_EXPLODING);
    assert_true(v.factor_init > 4 && v.factor_init < 8);
}

static void nan_weight_is_named_with_step_and_layer(void **state)
{
    (void)state;
    fixture fx;
    gf_verdict v;
    build(&fx, "relu", NULL, 4, 4);
    for (int s = 0; s < 2; s++)
        assert_ok(gf_net_train_step(fx.net, NULL, fx.x, fx.y, fx.opt, GF_LOSS_MSE, NULL));
    /* Poison one weight of the third linear layer (network layer 4). */
    gf_layer *l = gf_net_layer_mut(fx.net, 4);
    assert_non_null(l);
    l->weight.data[3] = (gf_real)NAN;
    assert_status(pass(&fx), GF_ENONFINITE);
    assert_ok(gf_verdict_judge(&v, gf_net_telemetry(fx.net)));
    assert_int_equal(v.kind, GF_VERDICT_NONFINITE);
    assert_int_equal(v.nonfinite, 1);
    assert_int_equal(v.nonfinite_step, 2);
    assert_int_equal(v.nonfinite_layer, 4);
    assert_int_equal(v.nonfinite_backward, 0);
    assert_contains(v.text, "step 2, layer 4");
    release(&fx);
}

static void nan_gradient_is_named_in_the_backward_pass(void **state)
{
    (void)state;
    fixture fx;
    gf_verdict v;
    const gf_tensor *out;
    gf_tensor *dy;
    build(&fx, "tanh", NULL, 3, 5);
    assert_ok(gf_net_forward(fx.net, &out, fx.x));
    assert_ok(gf_tensor_new(&dy, 64, 8));
    dy->data[5] = (gf_real)NAN;
    assert_status(gf_net_backward_from(fx.net, dy), GF_ENONFINITE);
    assert_ok(gf_verdict_judge(&v, gf_net_telemetry(fx.net)));
    assert_int_equal(v.kind, GF_VERDICT_NONFINITE);
    assert_int_equal(v.nonfinite_step, 0);
    assert_int_equal(v.nonfinite_layer, 4); /* the last layer: the first one reached */
    assert_int_equal(v.nonfinite_backward, 1);
    assert_contains(v.text, "backward");
    gf_tensor_free(dy);
    release(&fx);
}

static void negative_bias_relu_net_has_dead_units(void **state)
{
    (void)state;
    /* Biases of -3 against pre-activations of std ~1.4: every unit is off for every
     * example from the first hidden layer on. */
    gf_init he = gf_init_default(GF_INIT_HE_NORMAL);
    he.bias = -3;
    gf_verdict v = judge_at_init("relu", &he, 6, 6);
    assert_int_equal(v.kind, GF_VERDICT_DEAD_UNITS);
    assert_true(v.max_dead_frac >= 0.99);
    assert_int_equal(v.dead_layer % 2, 1); /* an activation layer */
    assert_contains(v.text, "dead_units");
    assert_contains(v.text, "never activate");
}

/* ---- Verdict rules at their thresholds ------------------------------------------------- */

static void thresholds_are_strict_and_documented(void **state)
{
    (void)state;
    gf_telemetry *t;
    gf_verdict v;
    assert_ok(gf_telemetry_new(&t));

    /* Exactly at the vanishing threshold: not vanishing (strict <). */
    add_step(t, 0, GF_VERDICT_VANISH_RATIO, 0.1, 1.0);
    assert_ok(gf_verdict_judge(&v, t));
    assert_int_equal(v.kind, GF_VERDICT_HEALTHY);
    assert_near(v.ratio_init, GF_VERDICT_VANISH_RATIO, 0, 1e-12);
    assert_near(v.factor_init, 0.1, 0, 1e-12); /* (1e-2)^(1/2) */
    assert_int_equal(v.n_linear, 3);
    assert_int_equal(v.first_linear, 0);
    assert_int_equal(v.last_linear, 4);

    /* Just below: vanishing. */
    gf_telemetry_clear(t);
    add_step(t, 0, 0.99 * GF_VERDICT_VANISH_RATIO, 0.1, 1.0);
    assert_ok(gf_verdict_judge(&v, t));
    assert_int_equal(v.kind, GF_VERDICT_VANISHING);

    /* Exactly at the exploding threshold: healthy; above it: exploding. */
    gf_telemetry_clear(t);
    add_step(t, 0, GF_VERDICT_EXPLODE_RATIO, 10, 1.0);
    assert_ok(gf_verdict_judge(&v, t));
    assert_int_equal(v.kind, GF_VERDICT_HEALTHY);
    gf_telemetry_clear(t);
    add_step(t, 0, 1.01 * GF_VERDICT_EXPLODE_RATIO, 10, 1.0);
    assert_ok(gf_verdict_judge(&v, t));
    assert_int_equal(v.kind, GF_VERDICT_EXPLODING);

    /* Healthy at init, exploding by the last step: judged on both, the text names the
     * last step. */
    gf_telemetry_clear(t);
    add_step(t, 0, 1.0, 1.0, 1.0);
    add_step(t, 7, 2.0, 1.0, 1.0);
    add_step(t, 9, 1e4, 1e2, 1.0);
    assert_ok(gf_verdict_judge(&v, t));
    assert_int_equal(v.kind, GF_VERDICT_EXPLODING);
    assert_int_equal(v.first_step, 0);
    assert_int_equal(v.last_step, 9);
    assert_near(v.ratio_init, 1.0, 0, 1e-12);
    assert_near(v.ratio_final, 1e4, 0, 1e-12);
    assert_near(v.factor_final, 100, 0, 1e-12);
    assert_contains(v.text, "step 9");

    /* Dead units at the threshold, taking precedence over vanishing; below: vanishing. */
    gf_telemetry_clear(t);
    gf_record r[5] = {rec(0, 0, "linear", 1e-5), rec(0, 1, "relu", 1e-3),
                      rec(0, 2, "linear", 1e-3), rec(0, 3, "relu", 1),
                      rec(0, 4, "linear", 1)};
    r[3].dead_frac = GF_VERDICT_DEAD_FRAC;
    r[1].sat_frac = 0.25;
    for (int i = 0; i < 5; i++)
        assert_ok(gf_telemetry_append(t, &r[i]));
    assert_ok(gf_verdict_judge(&v, t));
    assert_int_equal(v.kind, GF_VERDICT_DEAD_UNITS);
    assert_int_equal(v.dead_layer, 3);
    assert_near(v.max_sat_frac, 0.25, 0, 0);
    assert_int_equal(v.sat_layer, 1);
    assert_contains(v.text, "layer 3");
    gf_telemetry_clear(t);
    r[3].dead_frac = 0.99 * GF_VERDICT_DEAD_FRAC;
    for (int i = 0; i < 5; i++)
        assert_ok(gf_telemetry_append(t, &r[i]));
    assert_ok(gf_verdict_judge(&v, t));
    assert_int_equal(v.kind, GF_VERDICT_VANISHING);

    /* An infinite loss is non-finite (NaN alone means "no loss"); named at the last
     * layer, in the backward pass. */
    gf_telemetry_clear(t);
    add_step(t, 0, 1, 1, 1);
    for (int i = 0; i < 5; i++)
        r[i].loss = NAN, r[i].step = 1, r[i].dead_frac = isnan(r[i].dead_frac) ? NAN : 0;
    for (int i = 0; i < 5; i++)
        assert_ok(gf_telemetry_append(t, &r[i]));
    assert_ok(gf_verdict_judge(&v, t));
    assert_int_equal(v.kind, GF_VERDICT_VANISHING); /* NaN loss: not a blow-up */
    gf_record inf_loss = rec(2, 0, "linear", 1);
    inf_loss.loss = INFINITY;
    assert_ok(gf_telemetry_append(t, &inf_loss));
    assert_ok(gf_verdict_judge(&v, t));
    assert_int_equal(v.kind, GF_VERDICT_NONFINITE);
    assert_int_equal(v.nonfinite_step, 2);
    assert_int_equal(v.nonfinite_backward, 1);

    /* A signal of zero at the output leaves the ratio undetermined: healthy, NaN. */
    gf_telemetry_clear(t);
    add_step(t, 0, 0, 0, 0);
    assert_ok(gf_verdict_judge(&v, t));
    assert_int_equal(v.kind, GF_VERDICT_HEALTHY);
    assert_true(isnan(v.ratio_init));

    /* One linear layer: ratio 1, no per-layer factor. */
    gf_telemetry_clear(t);
    gf_record one = rec(0, 0, "linear", 0.5);
    assert_ok(gf_telemetry_append(t, &one));
    assert_ok(gf_verdict_judge(&v, t));
    assert_int_equal(v.kind, GF_VERDICT_HEALTHY);
    assert_near(v.ratio_init, 1, 0, 0);
    assert_true(isnan(v.factor_init));
    gf_telemetry_free(t);
}

static void verdict_names_and_bad_input(void **state)
{
    (void)state;
    static const char *const names[] = {"healthy", "vanishing", "exploding", "dead_units",
                                        "nonfinite"};
    gf_telemetry *t;
    gf_verdict v;
    for (int k = 0; k < GF_VERDICT_COUNT; k++)
        assert_string_equal(gf_verdict_name((gf_verdict_kind)k), names[k]);
    assert_string_equal(gf_verdict_name(GF_VERDICT_COUNT), "unknown");
    assert_string_equal(gf_verdict_name((gf_verdict_kind)-1), "unknown");
    assert_ok(gf_telemetry_new(&t));
    assert_status(gf_verdict_judge(&v, NULL), GF_EINVAL);
    assert_error_mentions("gf_verdict_judge");
    assert_status(gf_verdict_judge(NULL, t), GF_EINVAL);
    assert_status(gf_verdict_judge(&v, t), GF_EINVAL);
    assert_error_mentions("no record");
    gf_telemetry_free(t);
}

/* ---- Run directories ---------------------------------------------------------------- */

static void run_directory_holds_every_file(void **state)
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

static void loss_values_given_by_the_caller(void **state)
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

static void run_write_bad_input(void **state)
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

static void telemetry_csv_reads_back(void **state)
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
static void incomplete_last_line_is_dropped_with_a_warning(void **state)
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

/* Every built-in kind a network records (rnn, batchnorm, layernorm, prelu, an activation,
 * linear) reads back from the CSV under its own name; before the kinds were copies, an
 * rnn layer read back as "other". */
static void every_kind_round_trips_through_the_csv(void **state)
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

/* ---- Figures -------------------------------------------------------------------------- */

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

static void figure_scripts_are_written_and_sane(void **state)
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
    gf_plot_run runs[2] = {{"sigmoid_xavier", gf_net_telemetry(a.net), 0.25, NULL, NULL, 0},
                           {"it's tanh", gf_net_telemetry(b.net), NAN, NULL, NULL, 0}};
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
    assert_contains(gp, "set xlabel 'linear layer (1 = input side)'");
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

static void histograms_of_activations_and_gradients(void **state)
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
    f = fopen(tpath("badhist.csv"), "w");
    fputs("which,unit,layer,kind,lo,hi,count\nact,1,1,relu,1,0,5\n", f);
    fclose(f);
    assert_status(gf_plot_hist(tpath("hfig"), "hist", tpath("badhist.csv"), &o), GF_EFORMAT);
    release(&fx);
}

static void plot_bad_input(void **state)
{
    (void)state;
    gf_telemetry *empty;
    fixture fx;
    gf_plot_options o = gf_plot_options_default();
    o.format = GF_PLOT_NONE;
    build(&fx, "relu", NULL, 3, 11);
    assert_ok(pass(&fx));
    assert_ok(gf_telemetry_new(&empty));
    gf_plot_run run = {"r", gf_net_telemetry(fx.net), NAN, NULL, NULL, 0};
    gf_plot_run none = {"e", empty, NAN, NULL, NULL, 0};
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
    gf_plot_run nl = {"n", empty, NAN, nan_loss, NULL, 2};
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

static void formats_by_name(void **state)
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

static void missing_gnuplot_keeps_the_scripts(void **state)
{
    (void)state;
    fixture fx;
    build(&fx, "tanh", NULL, 4, 12);
    assert_ok(pass(&fx));
    gf_plot_run run = {"tanh", gf_net_telemetry(fx.net), NAN, NULL, NULL, 0};
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

static void failing_gnuplot_is_an_io_error(void **state)
{
    (void)state;
    /* $GNUPLOT pointing at `false` stands for a gnuplot that fails on the script. */
    FILE *f = fopen(tpath("broken.gp"), "w");
    fputs("plot sin(x\n", f);
    fclose(f);
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

/* ---- Allocation failures ------------------------------------------------------------- */

static void allocation_failures_leak_nothing(void **state)
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
        gf_plot_run run = {"r", t, 1.0, NULL, NULL, 0};
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(deep_sigmoid_with_xavier_vanishes),
        cmocka_unit_test(every_kind_round_trips_through_the_csv),
        cmocka_unit_test(tanh_with_normal_weights_explodes),
        cmocka_unit_test(relu_with_he_is_healthy),
        cmocka_unit_test(relu_with_normal_weights_explodes),
        cmocka_unit_test(nan_weight_is_named_with_step_and_layer),
        cmocka_unit_test(nan_gradient_is_named_in_the_backward_pass),
        cmocka_unit_test(negative_bias_relu_net_has_dead_units),
        cmocka_unit_test(thresholds_are_strict_and_documented),
        cmocka_unit_test(verdict_names_and_bad_input),
        cmocka_unit_test(run_directory_holds_every_file),
        cmocka_unit_test(loss_values_given_by_the_caller),
        cmocka_unit_test(run_write_bad_input),
        cmocka_unit_test(telemetry_csv_reads_back),
        cmocka_unit_test(incomplete_last_line_is_dropped_with_a_warning),
        cmocka_unit_test(figure_scripts_are_written_and_sane),
        cmocka_unit_test(histograms_of_activations_and_gradients),
        cmocka_unit_test(plot_bad_input),
        cmocka_unit_test(formats_by_name),
        cmocka_unit_test(missing_gnuplot_keeps_the_scripts),
        cmocka_unit_test(failing_gnuplot_is_an_io_error),
        cmocka_unit_test(allocation_failures_leak_nothing),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
