/* tests/test_report.c: reports, in three sources (tests/test_report.h): here the helpers
 * and the verdicts on the classic cases (deep sigmoid with Xavier vanishes, tanh with
 * N(0,1) weights explodes, ReLU with He is healthy, NaN and dead ReLUs are named) and at
 * their thresholds; test_report_runs.c: run directories, reading telemetry back;
 * test_report_figures.c: gnuplot scripts and their rendering, with and without gnuplot
 * on PATH, allocation failures. main, at the end, runs them all. */
#define _XOPEN_SOURCE 700

#include "test_report.h"

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
const char *tpath(const char *rel)
{
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmp_root, rel);
    return buf[k];
}

long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

/* The whole file as a string (caller frees). */
char *slurp(const char *path)
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

size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

void assert_contains(const char *hay, const char *needle)
{
    if (strstr(hay, needle) == NULL) {
        print_error("text does not contain \"%s\"\n", needle);
        fail();
    }
}


void build(fixture *fx, const char *act, const gf_init *init, size_t depth, uint64_t seed)
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
gf_status pass(fixture *fx)
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

void release(fixture *fx)
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
    /* The text numbers layers by depth: network layer 4 is the third linear layer. */
    assert_contains(v.text, "step 2, layer 3 (");
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
    /* Network layer 3 is the relu after the second linear layer: "layer 2". */
    assert_contains(v.text, "units of layer 2 ");
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

/* ---- Verdicts at init and at the end, clipping, dead units, through time ------------ */

static void init_and_end_are_judged_apart(void **state)
{
    (void)state;
    gf_telemetry *t;
    gf_verdict v;
    assert_ok(gf_telemetry_new(&t));
    /* Vanishing at init, healthy once trained (the leaky cure of examples/dying_relu):
     * the run's verdict is the end's, the init's is kept beside it. */
    add_step(t, 0, 1e-3, 0.1, 1.0);
    add_step(t, 9, 0.5, 0.7, 1.0);
    assert_ok(gf_verdict_judge(&v, t));
    assert_int_equal(v.kind_init, GF_VERDICT_VANISHING);
    assert_int_equal(v.kind_final, GF_VERDICT_HEALTHY);
    assert_int_equal(v.kind, GF_VERDICT_HEALTHY);
    assert_contains(v.text, "healthy");
    assert_contains(v.text, "at init (step 0) vanishing");
    /* And the other way round: exploding by the end. */
    gf_telemetry_clear(t);
    add_step(t, 0, 1.0, 1.0, 1.0);
    add_step(t, 3, 1e3, 10, 1.0);
    assert_ok(gf_verdict_judge(&v, t));
    assert_int_equal(v.kind_init, GF_VERDICT_HEALTHY);
    assert_int_equal(v.kind_final, GF_VERDICT_EXPLODING);
    /* A NaN at step 2 makes the end non-finite, not the init. */
    gf_record inf_loss = rec(5, 0, "linear", 1);
    inf_loss.loss = INFINITY;
    assert_ok(gf_telemetry_append(t, &inf_loss));
    assert_ok(gf_verdict_judge(&v, t));
    assert_int_equal(v.kind_init, GF_VERDICT_HEALTHY);
    assert_int_equal(v.kind_final, GF_VERDICT_NONFINITE);
    assert_int_equal(v.kind, GF_VERDICT_NONFINITE);
    gf_telemetry_free(t);
}

static void dead_units_are_named_when_they_appear(void **state)
{
    (void)state;
    gf_telemetry *t;
    gf_verdict v;
    assert_ok(gf_telemetry_new(&t));
    const double dead3[4] = {0, 0.3, 0.7, 1.0}; /* layer 3 dies at step 2 */
    for (uint64_t s = 0; s < 4; s++) {
        gf_record r[5] = {rec(s, 0, "linear", 1), rec(s, 1, "relu", 1),
                          rec(s, 2, "linear", 1), rec(s, 3, "relu", 1),
                          rec(s, 4, "linear", 1)};
        r[3].dead_frac = dead3[s];
        r[1].dead_frac = s == 3 ? 0.9 : 0.1;
        for (int i = 0; i < 5; i++)
            assert_ok(gf_telemetry_append(t, &r[i]));
    }
    assert_ok(gf_verdict_judge(&v, t));
    assert_int_equal(v.kind_init, GF_VERDICT_HEALTHY);
    assert_int_equal(v.kind_final, GF_VERDICT_DEAD_UNITS);
    assert_int_equal(v.dead_seen, 1);
    assert_int_equal(v.dead_step, 2);
    assert_int_equal(v.dead_step_layer, 3);
    assert_near(v.dead_step_frac, 0.7, 0, 1e-12);
    assert_int_equal(v.dead_layer, 3); /* 1.0 at the end, above layer 1's 0.9 */
    assert_near(v.max_dead_frac_init, 0.1, 0, 1e-12);
    /* Engine layer 3 is the ReLU after the second linear layer: "layer 2" in the text
     * (docs/concepts.md, "Layer numbers"). */
    assert_int_equal(v.dead_step_depth, 2);
    assert_contains(v.text, "dead units first at step 2 (70% of layer 2)");
    /* A step holding a NaN says nothing of dead units: not "first at step 0". */
    gf_telemetry_clear(t);
    gf_record r[3] = {rec(0, 0, "linear", 1), rec(0, 1, "relu", 1), rec(0, 2, "linear", 1)};
    r[1].dead_frac = 1;
    r[1].nonfinite_fwd = 3;
    for (int i = 0; i < 3; i++)
        assert_ok(gf_telemetry_append(t, &r[i]));
    assert_ok(gf_verdict_judge(&v, t));
    assert_int_equal(v.kind, GF_VERDICT_NONFINITE);
    assert_int_equal(v.dead_seen, 0);
    gf_telemetry_free(t);
}

/* One step of a clipped run: signal s1 at the first linear layer, 1 at the last; their
 * weight gradients pre1 and 1 before clipping, pre1 * keep1 and keep3 after. */
static void add_clipped(gf_telemetry *t, uint64_t step, double s1, double pre1, double keep1,
                        double keep3)
{
    gf_record a = rec(step, 0, "linear", s1), b = rec(step, 1, "tanh", 1),
              c = rec(step, 2, "linear", 1);
    a.clip_pre_norm = pre1, a.clip_post_norm = pre1 * keep1;
    c.clip_pre_norm = 1, c.clip_post_norm = keep3;
    assert_ok(gf_telemetry_append(t, &a));
    assert_ok(gf_telemetry_append(t, &b));
    assert_ok(gf_telemetry_append(t, &c));
}

static void clipped_runs_are_judged_after_clipping(void **state)
{
    (void)state;
    gf_telemetry *t;
    gf_verdict v;
    assert_ok(gf_telemetry_new(&t));
    /* Per-layer norm clipping to 1: the first layer's gradient of norm 200 is scaled
     * by 1/200, the last one's is not touched. The signal's 200 becomes 1. */
    add_clipped(t, 0, 200, 200, 1.0 / 200, 1);
    add_clipped(t, 1, 200, 200, 1.0 / 200, 1);
    add_clipped(t, 2, 50, 0.5, 1, 1); /* below the threshold: not engaged */
    assert_ok(gf_verdict_judge(&v, t));
    assert_int_equal(v.clipped, 1);
    assert_int_equal(v.clip_steps, 3);
    assert_int_equal(v.clip_engaged, 2);
    assert_near(v.ratio_init, 200, 0, 1e-9);
    assert_near(v.clip_ratio_init, 1, 0, 1e-9);
    assert_near(v.clip_ratio_final, 50, 0, 1e-9);
    assert_int_equal(v.kind_init, GF_VERDICT_HEALTHY);
    assert_int_equal(v.kind_final, GF_VERDICT_HEALTHY);
    assert_contains(v.text, "after clipping");
    assert_contains(v.text, "clipping engaged on 2 of 3 recorded steps");
    /* Global-norm clipping scales every layer alike: the ratio, and the verdict, stay. */
    gf_telemetry_clear(t);
    add_clipped(t, 0, 200, 200, 0.01, 0.01);
    assert_ok(gf_verdict_judge(&v, t));
    assert_near(v.clip_ratio_init, 200, 0, 1e-9);
    assert_int_equal(v.kind, GF_VERDICT_EXPLODING);
    /* Without clip norms the run is not clipped: r_clip NaN, judged on r. */
    gf_telemetry_clear(t);
    add_step(t, 0, 200, 10, 1);
    assert_ok(gf_verdict_judge(&v, t));
    assert_int_equal(v.clipped, 0);
    assert_true(isnan(v.clip_ratio_init));
    assert_int_equal(v.kind, GF_VERDICT_EXPLODING);
    gf_telemetry_free(t);
}

static void recurrent_nets_are_judged_through_time(void **state)
{
    (void)state;
    gf_telemetry *t;
    gf_verdict v;
    double init[5], end[5];
    assert_ok(gf_telemetry_new(&t));
    /* A recurrent layer and one linear layer: the layers' ratio is 1, always healthy. */
    for (uint64_t s = 0; s < 2; s++) {
        gf_record r[2] = {rec(s, 0, "rnn", 0.3), rec(s, 1, "linear", 0.3)};
        for (int i = 0; i < 2; i++)
            assert_ok(gf_telemetry_append(t, &r[i]));
    }
    assert_ok(gf_verdict_judge(&v, t));
    assert_int_equal(v.kind, GF_VERDICT_HEALTHY);
    assert_int_equal(v.time_steps, 0);
    /* x0.1 per time step at init (1e-4 over 5 steps), x0.8 at the end (0.41). */
    for (int k = 0; k < 5; k++) {
        init[k] = pow(0.1, 4 - k);
        end[k] = pow(0.8, 4 - k);
    }
    assert_ok(gf_verdict_add_time(&v, init, end, 5));
    assert_int_equal(v.time_steps, 5);
    assert_near(v.time_ratio_init, 1e-4, 0, 1e-12);
    assert_near(v.time_factor_init, 0.1, 0, 1e-9);
    assert_near(v.time_ratio_final, pow(0.8, 4), 0, 1e-12);
    assert_int_equal(v.kind_init, GF_VERDICT_VANISHING);
    assert_int_equal(v.kind_final, GF_VERDICT_HEALTHY);
    assert_contains(v.text, "through 5 time steps (x0.1 per step)");
    /* Exploding through time: x3 per step is 81 over 5 steps (healthy), 243 over 6. */
    double grow[6];
    for (int k = 0; k < 6; k++)
        grow[k] = pow(3, 5 - k);
    assert_ok(gf_verdict_add_time(&v, grow, NULL, 5));
    assert_int_equal(v.kind, GF_VERDICT_HEALTHY);
    assert_ok(gf_verdict_add_time(&v, grow, NULL, 6));
    assert_int_equal(v.kind_init, GF_VERDICT_EXPLODING);
    assert_int_equal(v.kind_final, GF_VERDICT_EXPLODING);
    assert_status(gf_verdict_add_time(&v, grow, NULL, 1), GF_EINVAL);
    assert_status(gf_verdict_add_time(&v, NULL, NULL, 3), GF_EINVAL);
    assert_status(gf_verdict_add_time(NULL, grow, NULL, 3), GF_EINVAL);
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
        cmocka_unit_test(init_and_end_are_judged_apart),
        cmocka_unit_test(dead_units_are_named_when_they_appear),
        cmocka_unit_test(clipped_runs_are_judged_after_clipping),
        cmocka_unit_test(recurrent_nets_are_judged_through_time),
        cmocka_unit_test(verdict_names_and_bad_input),
        cmocka_unit_test(run_directory_holds_every_file),
        cmocka_unit_test(loss_values_given_by_the_caller),
        cmocka_unit_test(run_write_bad_input),
        cmocka_unit_test(telemetry_csv_reads_back),
        cmocka_unit_test(incomplete_last_line_is_dropped_with_a_warning),
        cmocka_unit_test(cut_last_step_is_dropped_whole),
        cmocka_unit_test(figure_scripts_are_written_and_sane),
        cmocka_unit_test(histograms_of_activations_and_gradients),
        cmocka_unit_test(plot_bad_input),
        cmocka_unit_test(formats_by_name),
        cmocka_unit_test(missing_gnuplot_keeps_the_scripts),
        cmocka_unit_test(failing_gnuplot_is_an_io_error),
        cmocka_unit_test(renders_started_together_each_report),
        cmocka_unit_test(renders_polled_until_done),
        cmocka_unit_test(allocation_failures_leak_nothing),
        cmocka_unit_test(histograms_over_steps),
        cmocka_unit_test(update_ratio_per_layer),
        cmocka_unit_test(clipped_and_unclipped_norms),
        cmocka_unit_test(test_loss_beside_training_loss),
        cmocka_unit_test(heatmap_draws_an_exact_zero),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
