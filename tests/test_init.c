/* tests/test_init.c: initialisation, in two sources (tests/test_init.h). Here every init
 * scheme against its analytic mean and variance, the orthogonal scheme against
 * W W^T = gain^2 I, determinism by seed, rejected hyper-parameters, names and aliases;
 * test_init_net.c: gf_net_init and LSUV on networks. */
#include "test_init.h"

/* ---- Sample statistics --------------------------------------------------------------
 * For N independent draws with variance s^2, the sample mean has standard error
 * s / sqrt(N) and the sample variance has relative standard error sqrt(2/N) for a
 * normal (sqrt(0.8/N) for a uniform, so sqrt(2/N) is conservative for both). We allow
 * 5 standard errors: a correct scheme fails with probability below 1e-6 per check
 * (and the seeds are fixed, so a pass is reproducible), while the alternatives one
 * could confuse a scheme with (fan_in vs fan_out vs their mean, a missing factor 2 or
 * gain^2) differ by 20 % or more, i.e. by 35 or more standard errors at N = 65536. */
#define N_SE 5.0


stats stats_of(const gf_tensor *w)
{
    stats s = {0.0, 0.0, INFINITY, -INFINITY, gf_tensor_size(w)};
    for (size_t i = 0; i < s.n; i++) {
        double v = (double)w->data[i];
        s.mean += v;
        s.min = fmin(s.min, v);
        s.max = fmax(s.max, v);
    }
    s.mean /= (double)s.n;
    for (size_t i = 0; i < s.n; i++) {
        double d = (double)w->data[i] - s.mean;
        s.var += d * d;
    }
    s.var /= (double)(s.n - 1);
    return s;
}

/* Fill a (rows, cols) weight by init from seed and check mean and variance against
 * the analytic values within N_SE standard errors, and the support when bounded
 * (bound > 0: every |w - mean| <= bound). */
static void check_moments(const gf_init *init, size_t rows, size_t cols, uint64_t seed,
                          double mean, double var, double bound)
{
    gf_tensor *w = tu_tensor(rows, cols);
    gf_rng rng;
    stats s;
    double n;
    gf_rng_seed(&rng, seed);
    assert_ok(gf_init_tensor(w, init, &rng));
    s = stats_of(w);
    n = (double)s.n;
    assert_near(s.mean, mean, N_SE * sqrt(var / n), 0.0);
    assert_near(s.var, var, 0.0, N_SE * sqrt(2.0 / n));
    if (bound > 0.0) {
        /* float rounding of low + width u may land on the end point itself */
        assert_true(s.min >= mean - bound * (1 + 1e-6));
        assert_true(s.max <= mean + bound * (1 + 1e-6));
        /* and the draws do reach near both ends: the support is not narrower */
        assert_true(s.min < mean - 0.99 * bound);
        assert_true(s.max > mean + 0.99 * bound);
    }
    gf_tensor_free(w);
}

static void normal_and_uniform_match_moments(void **state)
{
    (void)state;
    gf_init init = gf_init_default(GF_INIT_NORMAL);
    /* N(0, 1), "the common procedure". */
    check_moments(&init, 256, 256, 1, 0.0, 1.0, 0.0);
    init.mean = 2.0;
    init.std = 0.5;
    check_moments(&init, 256, 256, 2, 2.0, 0.25, 0.0);

    init = gf_init_default(GF_INIT_UNIFORM);
    /* U(-1, 1): variance (b - a)^2 / 12 = 1/3. */
    check_moments(&init, 256, 256, 3, 0.0, 1.0 / 3, 1.0);
    init.low = -1.0;
    init.high = 3.0;
    check_moments(&init, 256, 256, 4, 1.0, 16.0 / 12, 2.0);
}

static void xavier_matches_variance(void **state)
{
    (void)state;
    /* W (fan_out 200, fan_in 300): Var = gain^2 2/(300 + 200). */
    const size_t fo = 200, fi = 300;
    const double v = 2.0 / (double)(fi + fo);
    for (uint64_t seed = 10; seed < 13; seed++) {
        gf_init init = gf_init_default(GF_INIT_XAVIER_NORMAL);
        check_moments(&init, fo, fi, seed, 0.0, v, 0.0);
        init.gain = 5.0 / 3; /* tanh's gain */
        check_moments(&init, fo, fi, seed, 0.0, v * 25 / 9, 0.0);

        init = gf_init_default(GF_INIT_XAVIER_UNIFORM);
        /* U(-r, r), r = sqrt(6/(fi+fo)): variance r^2/3 = 2/(fi+fo). */
        check_moments(&init, fo, fi, seed, 0.0, v, sqrt(6.0 / (double)(fi + fo)));
        init.gain = 2.0;
        check_moments(&init, fo, fi, seed, 0.0, 4 * v, 2 * sqrt(6.0 / (double)(fi + fo)));
    }
}

static void he_matches_variance(void **state)
{
    (void)state;
    const size_t fo = 200, fi = 300;
    for (uint64_t seed = 20; seed < 23; seed++) {
        gf_init init = gf_init_default(GF_INIT_HE_NORMAL);
        /* ReLU: 2/fan_in. */
        check_moments(&init, fo, fi, seed, 0.0, 2.0 / fi, 0.0);
        /* Leaky ReLU, a = 0.2: 2/((1 + a^2) fan_in). */
        init.slope = 0.2;
        check_moments(&init, fo, fi, seed, 0.0, 2.0 / (1.04 * fi), 0.0);
        /* fan_out mode: 2/((1 + a^2) fan_out). */
        init.fan_out = 1;
        check_moments(&init, fo, fi, seed, 0.0, 2.0 / (1.04 * fo), 0.0);
        /* The gain field is not He's: it must not change anything. */
        init.gain = 7.0;
        check_moments(&init, fo, fi, seed, 0.0, 2.0 / (1.04 * fo), 0.0);

        init = gf_init_default(GF_INIT_HE_UNIFORM);
        check_moments(&init, fo, fi, seed, 0.0, 2.0 / fi, sqrt(6.0 / fi));
        init.slope = 0.2;
        init.fan_out = 1;
        check_moments(&init, fo, fi, seed, 0.0, 2.0 / (1.04 * fo), sqrt(6.0 / (1.04 * fo)));
    }
}

static void lecun_matches_variance(void **state)
{
    (void)state;
    const size_t fo = 200, fi = 300;
    for (uint64_t seed = 30; seed < 33; seed++) {
        gf_init init = gf_init_default(GF_INIT_LECUN_NORMAL);
        check_moments(&init, fo, fi, seed, 0.0, 1.0 / fi, 0.0);
        init.fan_out = 1;
        check_moments(&init, fo, fi, seed, 0.0, 1.0 / fo, 0.0);
        init.fan_out = 0;
        init.gain = 1.5;
        check_moments(&init, fo, fi, seed, 0.0, 2.25 / fi, 0.0);

        init = gf_init_default(GF_INIT_LECUN_UNIFORM);
        check_moments(&init, fo, fi, seed, 0.0, 1.0 / fi, sqrt(3.0 / fi));
    }
}

/* Variance ratios between schemes, averaged over seeds, are what the book's tables
 * quote: He / LeCun = 2 exactly in expectation. */
static void he_over_lecun_is_two(void **state)
{
    (void)state;
    gf_init he = gf_init_default(GF_INIT_HE_NORMAL);
    gf_init lecun = gf_init_default(GF_INIT_LECUN_NORMAL);
    gf_tensor *w = tu_tensor(128, 256);
    double vh = 0.0, vl = 0.0;
    gf_rng rng;
    const int seeds = 8;
    for (int s = 0; s < seeds; s++) {
        gf_rng_seed(&rng, 100 + (uint64_t)s);
        assert_ok(gf_init_tensor(w, &he, &rng));
        vh += stats_of(w).var;
        gf_rng_seed(&rng, 200 + (uint64_t)s);
        assert_ok(gf_init_tensor(w, &lecun, &rng));
        vl += stats_of(w).var;
    }
    /* Each mean of variances has relative SE sqrt(2/(8 * 32768)) = 0.28 %; the ratio's
     * is at most the sum, 0.55 %: 5 SE is 2.8 %. */
    assert_near(vh / vl, 2.0, 0.0, N_SE * 2 * sqrt(2.0 / (seeds * 128.0 * 256.0)));
    gf_tensor_free(w);
}

static void constant_and_zeros_are_exact(void **state)
{
    (void)state;
    gf_tensor *w = tu_tensor(7, 5);
    gf_init init = gf_init_default(GF_INIT_CONSTANT);
    gf_rng rng;
    gf_rng_seed(&rng, 1);
    init.value = 0.6;
    assert_ok(gf_init_tensor(w, &init, &rng));
    for (size_t i = 0; i < 35; i++)
        assert_true(w->data[i] == (gf_real)0.6);
    /* Deterministic schemes need no generator. */
    init.value = 1.6;
    assert_ok(gf_init_tensor(w, &init, NULL));
    for (size_t i = 0; i < 35; i++)
        assert_true(w->data[i] == (gf_real)1.6);
    init = gf_init_default(GF_INIT_ZEROS);
    assert_ok(gf_init_tensor(w, &init, NULL));
    for (size_t i = 0; i < 35; i++)
        assert_true(w->data[i] == 0);
    gf_tensor_free(w);
}

/* ---- Orthogonal ---------------------------------------------------------------------
 * W is computed in double and rounded once to gf_real. In float each entry then carries
 * a relative error below 2^-24, and by Cauchy-Schwarz (unit rows) each entry of W W^T
 * moves by at most 2^-23 ~ 1.2e-7: 1e-5 is a safe bound. In double, modified
 * Gram-Schmidt with re-orthogonalisation is orthogonal to a few m eps ~ 1e-14 for the
 * sizes here, well inside 1e-12. */
#if GF_REAL_IS_DOUBLE
#define ORTHO_TOL 1e-12
#else
#define ORTHO_TOL 1e-5
#endif

/* The Gram matrix of the shorter side must be gain^2 I. */
void check_orthogonal(const gf_tensor *w, double gain)
{
    size_t r = w->rows, c = w->cols;
    int by_rows = r <= c;
    size_t k = by_rows ? r : c; /* number of vectors */
    size_t m = by_rows ? c : r; /* their length */
    double worst = 0.0;
    for (size_t i = 0; i < k; i++) {
        for (size_t j = 0; j < k; j++) {
            double dot = 0.0;
            for (size_t t = 0; t < m; t++) {
                double a = by_rows ? w->data[i * c + t] : w->data[t * c + i];
                double b = by_rows ? w->data[j * c + t] : w->data[t * c + j];
                dot += a * b;
            }
            worst = fmax(worst, fabs(dot - (i == j ? gain * gain : 0.0)));
        }
    }
    if (!(worst <= ORTHO_TOL * gain * gain))
        fail_msg("%zu x %zu, gain %g: max |Gram - gain^2 I| = %g", r, c, gain, worst);
}

static void orthogonal_is_orthogonal(void **state)
{
    (void)state;
    static const size_t shapes[][2] = {
        {1, 1}, {1, 10}, {10, 1}, {8, 32}, {32, 8}, {64, 64}, {100, 100}, {3, 200}, {200, 3},
    };
    static const double gains[] = {1.0, 1.7, 0.25};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        for (size_t g = 0; g < sizeof gains / sizeof gains[0]; g++) {
            gf_tensor *w = tu_tensor(shapes[s][0], shapes[s][1]);
            gf_init init = gf_init_default(GF_INIT_ORTHOGONAL);
            gf_rng rng;
            gf_rng_seed(&rng, 40 + s * 3 + g);
            init.gain = gains[g];
            assert_ok(gf_init_tensor(w, &init, &rng));
            check_orthogonal(w, gains[g]);
            /* LSUV on a lone tensor is its orthogonal start. */
            init.kind = GF_INIT_LSUV;
            assert_ok(gf_init_tensor(w, &init, &rng));
            check_orthogonal(w, gains[g]);
            gf_tensor_free(w);
        }
    }
}

/* A Haar-random orthogonal matrix is not a fixed one: entries average out to 0 over
 * seeds and the sign of w[0][0] (fixed by the sign convention of R's diagonal, so that
 * Q is uniformly distributed) is + and - about equally often. */
static void orthogonal_is_random(void **state)
{
    (void)state;
    gf_tensor *w = tu_tensor(4, 4);
    gf_init init = gf_init_default(GF_INIT_ORTHOGONAL);
    gf_rng rng;
    int positive = 0;
    const int trials = 400;
    for (int t = 0; t < trials; t++) {
        gf_rng_seed(&rng, 1000 + (uint64_t)t);
        assert_ok(gf_init_tensor(w, &init, &rng));
        positive += w->data[0] > 0;
    }
    /* Binomial(400, 1/2): SE 10; 5 SE = 50. */
    assert_true(abs(positive - trials / 2) <= 50);
    gf_tensor_free(w);
}

/* ---- Determinism ------------------------------------------------------------------- */

static void same_seed_same_weights(void **state)
{
    (void)state;
    for (int k = 0; k < GF_INIT_COUNT; k++) {
        gf_init init = gf_init_default((gf_init_kind)k);
        gf_tensor *a = tu_tensor(16, 24);
        gf_tensor *b = tu_tensor(16, 24);
        gf_rng rng;
        init.value = 0.6;
        gf_rng_seed(&rng, 77);
        assert_ok(gf_init_tensor(a, &init, &rng));
        gf_rng_seed(&rng, 77);
        assert_ok(gf_init_tensor(b, &init, &rng));
        assert_memory_equal(a->data, b->data, 16 * 24 * sizeof(gf_real));
        gf_rng_seed(&rng, 78);
        assert_ok(gf_init_tensor(b, &init, &rng));
        if (k == GF_INIT_ZEROS || k == GF_INIT_CONSTANT)
            assert_memory_equal(a->data, b->data, 16 * 24 * sizeof(gf_real));
        else
            assert_memory_not_equal(a->data, b->data, 16 * 24 * sizeof(gf_real));
        gf_tensor_free(a);
        gf_tensor_free(b);
    }
}

/* ---- Validation, names ------------------------------------------------------------- */

static void bad_hyper_parameters_rejected(void **state)
{
    (void)state;
    gf_real buf[12];
    gf_tensor w = gf_tensor_view(buf, 3, 4);
    gf_tensor empty = gf_tensor_view(buf, 0, 4);
    gf_rng rng;
    gf_init init;
    gf_rng_seed(&rng, 5);

#define REJECT(kind_, field_, value_, mention_)                                        \
    do {                                                                               \
        init = gf_init_default(kind_);                                                 \
        init.field_ = (value_);                                                        \
        assert_status(gf_init_validate(&init), GF_EINVAL);                             \
        assert_error_mentions(mention_);                                               \
        for (int i_ = 0; i_ < 12; i_++)                                                \
            buf[i_] = (gf_real)42;                                                     \
        assert_status(gf_init_tensor(&w, &init, &rng), GF_EINVAL);                     \
        assert_error_mentions(mention_);                                               \
        for (int i_ = 0; i_ < 12; i_++) /* nothing written on failure */               \
            assert_true(buf[i_] == (gf_real)42);                                       \
    } while (0)

    REJECT(GF_INIT_NORMAL, std, -0.1, "std");
    REJECT(GF_INIT_NORMAL, std, NAN, "std");
    REJECT(GF_INIT_NORMAL, std, INFINITY, "std");
    REJECT(GF_INIT_NORMAL, mean, NAN, "mean");
    REJECT(GF_INIT_NORMAL, mean, -INFINITY, "mean");
    REJECT(GF_INIT_UNIFORM, low, 1.0, "low"); /* low == high */
    REJECT(GF_INIT_UNIFORM, low, 2.0, "low"); /* low > high */
    REJECT(GF_INIT_UNIFORM, low, NAN, "low");
    REJECT(GF_INIT_UNIFORM, high, INFINITY, "high");
    REJECT(GF_INIT_CONSTANT, value, NAN, "value");
    REJECT(GF_INIT_CONSTANT, value, INFINITY, "value");
    REJECT(GF_INIT_XAVIER_NORMAL, gain, 0.0, "gain");
    REJECT(GF_INIT_XAVIER_UNIFORM, gain, -1.0, "gain");
    REJECT(GF_INIT_LECUN_NORMAL, gain, NAN, "gain");
    REJECT(GF_INIT_LECUN_UNIFORM, gain, INFINITY, "gain");
    REJECT(GF_INIT_ORTHOGONAL, gain, 0.0, "gain");
    REJECT(GF_INIT_LSUV, gain, -2.0, "gain");
    REJECT(GF_INIT_HE_NORMAL, slope, NAN, "slope");
    REJECT(GF_INIT_HE_UNIFORM, slope, INFINITY, "slope");
    REJECT(GF_INIT_ZEROS, bias, NAN, "bias");
    REJECT(GF_INIT_HE_NORMAL, bias, INFINITY, "bias");
#undef REJECT
    /* high - low overflows to infinity: every draw would be inf or NaN. */
    init = gf_init_default(GF_INIT_UNIFORM);
    init.low = -1.7e308;
    init.high = 1.7e308;
    assert_status(gf_init_tensor(&w, &init, &rng), GF_EINVAL);
    assert_error_mentions("range");

    /* A zero std is allowed (every weight = mean); fields a scheme does not read are
     * not checked. */
    init = gf_init_default(GF_INIT_NORMAL);
    init.std = 0.0;
    init.mean = 0.5;
    init.gain = NAN;
    assert_ok(gf_init_tensor(&w, &init, &rng));
    for (int i = 0; i < 12; i++)
        assert_true(buf[i] == (gf_real)0.5);

    /* Invalid kinds, NULLs, empty tensors, a missing generator. */
    init = gf_init_default(GF_INIT_NORMAL);
    init.kind = GF_INIT_COUNT;
    assert_status(gf_init_validate(&init), GF_EINVAL);
    assert_error_mentions("kind");
    init.kind = (gf_init_kind)-1;
    assert_status(gf_init_tensor(&w, &init, &rng), GF_EINVAL);
    assert_error_mentions("kind");
    init = gf_init_default(GF_INIT_NORMAL);
    assert_status(gf_init_validate(NULL), GF_EINVAL);
    assert_status(gf_init_tensor(NULL, &init, &rng), GF_EINVAL);
    assert_error_mentions("w");
    assert_status(gf_init_tensor(&w, NULL, &rng), GF_EINVAL);
    assert_error_mentions("init");
    assert_status(gf_init_tensor(&w, &init, NULL), GF_EINVAL);
    assert_error_mentions("rng");
    assert_status(gf_init_tensor(&empty, &init, &rng), GF_EINVAL);
    assert_error_mentions("empty");
    {
        gf_tensor nodata = {.data = NULL, .rows = 3, .cols = 4};
        assert_status(gf_init_tensor(&nodata, &init, &rng), GF_EINVAL);
    }
}

static void names_defaults_and_aliases(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        gf_init_kind kind;
    } cases[] = {
        {"zeros", GF_INIT_ZEROS},
        {"constant", GF_INIT_CONSTANT},
        {"normal", GF_INIT_NORMAL},
        {"uniform", GF_INIT_UNIFORM},
        {"xavier", GF_INIT_XAVIER_NORMAL},
        {"xavier_normal", GF_INIT_XAVIER_NORMAL},
        {"xavier_uniform", GF_INIT_XAVIER_UNIFORM},
        {"glorot", GF_INIT_XAVIER_NORMAL},
        {"glorot_normal", GF_INIT_XAVIER_NORMAL},
        {"glorot_uniform", GF_INIT_XAVIER_UNIFORM},
        {"he", GF_INIT_HE_NORMAL},
        {"he_normal", GF_INIT_HE_NORMAL},
        {"he_uniform", GF_INIT_HE_UNIFORM},
        {"kaiming", GF_INIT_HE_NORMAL},
        {"kaiming_normal", GF_INIT_HE_NORMAL},
        {"kaiming_uniform", GF_INIT_HE_UNIFORM},
        {"lecun", GF_INIT_LECUN_NORMAL},
        {"lecun_normal", GF_INIT_LECUN_NORMAL},
        {"lecun_uniform", GF_INIT_LECUN_UNIFORM},
        {"orthogonal", GF_INIT_ORTHOGONAL},
        {"lsuv", GF_INIT_LSUV},
    };
    gf_init init;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(&init, 0xff, sizeof init);
        assert_ok(gf_init_from_name(&init, cases[i].name));
        assert_int_equal(init.kind, cases[i].kind);
        /* A name gives the scheme's defaults, which are valid. */
        assert_ok(gf_init_validate(&init));
        assert_true(init.gain == 1.0 && init.bias == 0.0);
    }
    for (int k = 0; k < GF_INIT_COUNT; k++) {
        const char *name = gf_init_name((gf_init_kind)k);
        assert_non_null(name);
        assert_ok(gf_init_from_name(&init, name));
        assert_int_equal(init.kind, k);
    }
    assert_null(gf_init_name(GF_INIT_COUNT));
    assert_null(gf_init_name((gf_init_kind)-1));

    init = gf_init_default(GF_INIT_UNIFORM);
    assert_true(init.kind == GF_INIT_UNIFORM);
    assert_true(init.value == 0.0 && init.mean == 0.0 && init.std == 1.0);
    assert_true(init.low == -1.0 && init.high == 1.0);
    assert_true(init.gain == 1.0 && init.slope == 0.0 && init.fan_out == 0);
    assert_true(init.bias == 0.0);

    assert_status(gf_init_from_name(&init, "xavierr"), GF_ENOTFOUND);
    assert_error_mentions("xavierr");
    assert_error_mentions("kaiming");
    assert_error_mentions("orthogonal");
    assert_status(gf_init_from_name(&init, "Xavier"), GF_ENOTFOUND);
    assert_status(gf_init_from_name(&init, NULL), GF_EINVAL);
    assert_status(gf_init_from_name(NULL, "he"), GF_EINVAL);
}

/* The orthogonal scheme's scratch matrix comes from gf_alloc: when that fails the call
 * says so, leaks nothing, and a later call succeeds. */
static void orthogonal_reports_allocation_failure(void **state)
{
    (void)state;
    gf_real buf[6 * 9];
    gf_tensor w = gf_tensor_view(buf, 6, 9);
    gf_init init = gf_init_default(GF_INIT_ORTHOGONAL);
    gf_rng rng;
    gf_rng_seed(&rng, 3);
    tu_alloc_install(1);
    assert_status(gf_init_tensor(&w, &init, &rng), GF_ENOMEM);
    assert_error_mentions("orthogonal");
    assert_int_equal(tu_alloc_live(), 0);
    tu_alloc_fail_next(0);
    assert_ok(gf_init_tensor(&w, &init, &rng));
    assert_int_equal(tu_alloc_live(), 0);
    tu_alloc_uninstall();
    check_orthogonal(&w, 1.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(normal_and_uniform_match_moments),
        cmocka_unit_test(xavier_matches_variance),
        cmocka_unit_test(he_matches_variance),
        cmocka_unit_test(lecun_matches_variance),
        cmocka_unit_test(he_over_lecun_is_two),
        cmocka_unit_test(constant_and_zeros_are_exact),
        cmocka_unit_test(orthogonal_is_orthogonal),
        cmocka_unit_test(orthogonal_is_random),
        cmocka_unit_test(same_seed_same_weights),
        cmocka_unit_test(bad_hyper_parameters_rejected),
        cmocka_unit_test(names_defaults_and_aliases),
        cmocka_unit_test(orthogonal_reports_allocation_failure),
        cmocka_unit_test(net_init_sets_every_linear_layer),
        cmocka_unit_test(lsuv_gives_unit_output_variance),
        cmocka_unit_test(lsuv_rejects_bad_arguments),
        cmocka_unit_test(lsuv_leaves_batchnorm_running_statistics_alone),
        cmocka_unit_test(suited_init_follows_the_activation_table),
        cmocka_unit_test(mlp_spec_without_act_param_gives_the_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
