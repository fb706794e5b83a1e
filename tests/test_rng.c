/* tests/test_rng.c: the seeded generator. Known answers (splitmix64 seeding, the
 * xoshiro256** reference vector), reproducibility, and moments / chi-square checks whose
 * bounds are stated next to each test. Every check uses a fixed seed, so a pass or fail
 * is deterministic; the bounds say how unlikely a failure of a correct generator is. */
#include "testutil.h"

/* ---- Independent reference implementations ------------------------------------------ */

/* splitmix64 as published by Vigna (the state advances by the golden-ratio constant). */
static uint64_t ref_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t ref_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* xoshiro256** 1.0, Blackman and Vigna's reference next(). */
static uint64_t ref_xoshiro(uint64_t s[4])
{
    const uint64_t result = ref_rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = ref_rotl(s[3], 45);
    return result;
}

/* ---- Known answers ------------------------------------------------------------------ */

static void seed_uses_splitmix64(void **state)
{
    /* Published splitmix64 outputs from seed 1234567. */
    const uint64_t published[5] = {UINT64_C(6457827717110365317),
                                   UINT64_C(3203168211198807973),
                                   UINT64_C(9817491932198370423),
                                   UINT64_C(4593380528125082431),
                                   UINT64_C(16408922859458223821)};
    uint64_t x = 1234567;
    gf_rng rng;
    (void)state;
    for (int i = 0; i < 5; i++)
        assert_true(ref_splitmix64(&x) == published[i]); /* the reference is right */

    memset(&rng, 0xff, sizeof rng);
    gf_rng_seed(&rng, 1234567);
    for (int i = 0; i < 4; i++)
        assert_true(rng.s[i] == published[i]);
    assert_int_equal(rng.has_spare, 0);

    /* Seed 0: the first splitmix64 outputs, also published. */
    gf_rng_seed(&rng, 0);
    assert_true(rng.s[0] == UINT64_C(0xE220A8397B1DCDAF));
    assert_true(rng.s[1] == UINT64_C(0x6E789E6AA1B965F4));
    assert_true(rng.s[2] == UINT64_C(0x06C45D188009454F));
}

static void xoshiro_matches_reference_vector(void **state)
{
    /* Reference outputs of xoshiro256** from state {1, 2, 3, 4} (the vector used by
     * the rand_xoshiro and C++ reference test suites). */
    const uint64_t published[10] = {
        UINT64_C(11520),
        UINT64_C(0),
        UINT64_C(1509978240),
        UINT64_C(1215971899390074240),
        UINT64_C(1216172134540287360),
        UINT64_C(607988272756665600),
        UINT64_C(16172922978634559625),
        UINT64_C(8476171486693032832),
        UINT64_C(10595114339597558777),
        UINT64_C(2904607092377533576),
    };
    gf_rng rng = {{1, 2, 3, 4}, 0, 0.0};
    uint64_t ref[4] = {1, 2, 3, 4};
    (void)state;
    for (int i = 0; i < 10; i++) {
        assert_true(ref_xoshiro(ref) == published[i]);
        assert_true(gf_rng_u64(&rng) == published[i]);
    }
    /* And far along a seeded stream, against the reference transcription. */
    gf_rng_seed(&rng, 42);
    uint64_t x = 42;
    for (int i = 0; i < 4; i++)
        ref[i] = ref_splitmix64(&x);
    for (int i = 0; i < 100000; i++)
        if (gf_rng_u64(&rng) != ref_xoshiro(ref))
            fail_msg("stream differs from the reference at draw %d", i);
    assert_memory_equal(rng.s, ref, sizeof ref);
}

static void uniform_is_top_53_bits(void **state)
{
    gf_rng a, b;
    (void)state;
    gf_rng_seed(&a, 99);
    gf_rng_seed(&b, 99);
    for (int i = 0; i < 1000; i++) {
        double u = gf_rng_uniform(&a);
        uint64_t r = gf_rng_u64(&b);
        assert_true(u == (double)(r >> 11) / 9007199254740992.0);
    }
}

static void normal_is_box_muller_of_the_stream(void **state)
{
    /* Each pair from two uniforms u1, u2: r = sqrt(-2 ln(1 - u1)), then r cos(2 pi u2)
     * and r sin(2 pi u2). Recomputed here from the raw words (libm may round the last bit
     * differently from the library's build, hence 1e-13 rather than bit equality). */
    const double two_pi = 6.283185307179586476925;
    gf_rng a, b;
    (void)state;
    gf_rng_seed(&a, 8);
    gf_rng_seed(&b, 8);
    for (int i = 0; i < 100; i++) {
        double u1 = (double)(gf_rng_u64(&b) >> 11) * 0x1.0p-53;
        double u2 = (double)(gf_rng_u64(&b) >> 11) * 0x1.0p-53;
        double r = sqrt(-2.0 * log(1.0 - u1));
        assert_near(gf_rng_normal(&a), r * cos(two_pi * u2), 1e-13, 1e-13);
        assert_near(gf_rng_normal(&a), r * sin(two_pi * u2), 1e-13, 1e-13);
    }
    assert_memory_equal(a.s, b.s, sizeof a.s);
}

/* ---- Reproducibility ---------------------------------------------------------------- */

static void same_seed_same_stream_bit_for_bit(void **state)
{
    enum { N = 1000 };
    static uint64_t ua[N], ub[N];
    static double na[N], nb[N], fa[N], fb[N];
    gf_rng a, b;
    (void)state;
    gf_rng_seed(&a, 20240601);
    gf_rng_seed(&b, 20240601);
    for (int i = 0; i < N; i++) {
        ua[i] = gf_rng_u64(&a);
        ub[i] = gf_rng_u64(&b);
        na[i] = gf_rng_normal(&a);
        nb[i] = gf_rng_normal(&b);
        fa[i] = gf_rng_uniform(&a);
        fb[i] = gf_rng_uniform(&b);
    }
    assert_memory_equal(ua, ub, sizeof ua);
    assert_memory_equal(na, nb, sizeof na);
    assert_memory_equal(fa, fb, sizeof fa);

    /* Re-seeding restarts the stream, a pending Box-Muller spare included. */
    gf_rng_seed(&a, 7);
    double first = gf_rng_normal(&a); /* leaves a spare pending */
    assert_int_equal(a.has_spare, 1);
    gf_rng_seed(&a, 7);
    assert_int_equal(a.has_spare, 0);
    double again = gf_rng_normal(&a);
    assert_memory_equal(&first, &again, sizeof first);
}

static void different_seeds_differ_and_zero_is_valid(void **state)
{
    const uint64_t seeds[] = {0, 1, 2, 3, 42, UINT64_C(0xffffffffffffffff),
                              UINT64_C(0x8000000000000000)};
    enum { NS = sizeof seeds / sizeof seeds[0], N = 64 };
    uint64_t out[NS][N];
    gf_rng rng;
    (void)state;
    for (size_t s = 0; s < NS; s++) {
        gf_rng_seed(&rng, seeds[s]);
        assert_true((rng.s[0] | rng.s[1] | rng.s[2] | rng.s[3]) != 0);
        for (int i = 0; i < N; i++)
            out[s][i] = gf_rng_u64(&rng);
    }
    /* No two streams share any of their first 64 words (odds of a coincidence ~1e-14). */
    for (size_t s = 0; s < NS; s++)
        for (size_t t = 0; t < s; t++)
            for (int i = 0; i < N; i++)
                for (int j = 0; j < N; j++)
                    assert_true(out[s][i] != out[t][j]);
    /* Seed 0 gives a lively stream: about half the bits of each word set. */
    long bits = 0;
    for (int i = 0; i < N; i++)
        for (int b = 0; b < 64; b++)
            bits += (long)((out[0][i] >> b) & 1);
    /* 4096 fair bits: mean 2048, sd 32; 2048 +- 256 is 8 sd. */
    assert_true(bits > 2048 - 256 && bits < 2048 + 256);
}

/* ---- Distributions ------------------------------------------------------------------ */

static void uniform_moments(void **state)
{
    const int n = 1000000;
    gf_rng rng;
    double sum = 0, sumsq = 0, lo = 1, hi = 0;
    (void)state;
    gf_rng_seed(&rng, 12345);
    for (int i = 0; i < n; i++) {
        double u = gf_rng_uniform(&rng);
        assert_true(u >= 0.0 && u < 1.0);
        sum += u;
        sumsq += (u - 0.5) * (u - 0.5);
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
    }
    double mean = sum / n, var = sumsq / n;
    /* Mean: sd of U is sqrt(1/12), standard error sqrt(1/12 / 1e6) = 2.89e-4; allow 5 SE
     * = 1.44e-3. Variance (about the true mean 1/2): Var[(U - 1/2)^2] = 1/80 - 1/144 =
     * 1/180, standard error sqrt(1/180 / 1e6) = 7.45e-5; allow 5 SE = 3.73e-4. Each
     * bound fails for a correct generator with probability ~6e-7. */
    assert_near(mean, 0.5, 5 * sqrt(1.0 / 12 / n), 0);
    assert_near(var, 1.0 / 12, 5 * sqrt(1.0 / 180 / n), 0);
    /* Both ends reached: P(min > 1e-5) = (1 - 1e-5)^1e6 = e^-10. */
    assert_true(lo < 1e-5);
    assert_true(hi > 1 - 1e-5);
}

static void normal_moments(void **state)
{
    const int n = 1000000;
    gf_rng rng;
    double m1 = 0, m2 = 0, m3 = 0, m4 = 0, lag = 0, prev = 0;
    long inside = 0;
    (void)state;
    gf_rng_seed(&rng, 777);
    for (int i = 0; i < n; i++) {
        double x = gf_rng_normal(&rng);
        assert_true(isfinite(x));
        double x2 = x * x;
        m1 += x;
        m2 += x2;
        m3 += x2 * x;
        m4 += x2 * x2;
        inside += fabs(x) < 1.0;
        lag += x * prev; /* pairs i-1, i: both halves of a Box-Muller pair and across */
        prev = x;
    }
    m1 /= n;
    m2 /= n;
    m3 /= n;
    m4 /= n;
    /* For N(0,1): Var[x] = 1, Var[x^2] = 2, Var[x^3] = 15, Var[x^4] = 105 - 9 = 96.
     * Standard errors over 1e6 draws: 1e-3, 1.41e-3, 3.87e-3, 9.80e-3; bounds are 5 SE. */
    assert_near(m1, 0.0, 5 * sqrt(1.0 / n), 0);
    assert_near(m2, 1.0, 5 * sqrt(2.0 / n), 0);
    assert_near(m3, 0.0, 5 * sqrt(15.0 / n), 0);
    assert_near(m4, 3.0, 5 * sqrt(96.0 / n), 0);
    /* Successive draws independent: E[x_i x_(i-1)] = 0 with SE 1e-3 (Var = 1). */
    assert_near(lag / (n - 1), 0.0, 5 * sqrt(1.0 / n), 0);
    /* P(|x| < 1) = erf(1/sqrt 2) = 0.682689; Bernoulli SE sqrt(p(1-p)/n) = 4.65e-4. */
    double p = erf(1.0 / sqrt(2.0));
    assert_near((double)inside / n, p, 5 * sqrt(p * (1 - p) / n), 0);
}

static void below_small_n_and_chi_square(void **state)
{
    const int n = 300000;
    long count[3] = {0, 0, 0};
    gf_rng rng;
    (void)state;
    gf_rng_seed(&rng, 31337);
    for (int i = 0; i < 1000; i++) {
        assert_true(gf_rng_below(&rng, 0) == 0);
        assert_true(gf_rng_below(&rng, 1) == 0);
    }
    for (int i = 0; i < n; i++) {
        uint64_t r = gf_rng_below(&rng, 3);
        assert_true(r < 3);
        count[r]++;
    }
    /* Pearson chi-square with 2 degrees of freedom; P(chi2 > 27.63) = exp(-27.63/2) = 1e-6. */
    double expect = n / 3.0, chi2 = 0;
    for (int k = 0; k < 3; k++)
        chi2 += (count[k] - expect) * (count[k] - expect) / expect;
    assert_true(chi2 < 27.63);
}

static void below_rejects_modulo_bias(void **state)
{
    /* n = 0xAAAA...AAAA (about 2^64 * 2/3): a plain r % n maps [n, 2^64) onto
     * [0, 2^64 - n), about [0, n/2), so results below n/2 would come up 2/3 of the time
     * instead of 1/2. Over 20000 draws the fraction has SE 0.0035; 0.5 +- 0.03 is 8.5 SE
     * and excludes 2/3 by far. */
    const uint64_t big = UINT64_C(0xAAAAAAAAAAAAAAAA);
    const int n = 20000;
    long low = 0;
    gf_rng rng;
    (void)state;
    gf_rng_seed(&rng, 2718);
    for (int i = 0; i < n; i++) {
        uint64_t r = gf_rng_below(&rng, big);
        assert_true(r < big);
        low += r < big / 2;
    }
    assert_near((double)low / n, 0.5, 0.03, 0);

    for (int i = 0; i < 1000; i++)
        assert_true(gf_rng_below(&rng, UINT64_MAX) < UINT64_MAX);
}

static void shuffle_is_deterministic_uniform_permutation(void **state)
{
    enum { N = 1000 };
    static size_t a[N], b[N];
    static int seen[N];
    gf_rng ra, rb;
    (void)state;
    for (size_t i = 0; i < N; i++)
        a[i] = b[i] = i;
    gf_rng_seed(&ra, 5);
    gf_rng_seed(&rb, 5);
    gf_rng_shuffle(&ra, a, N);
    gf_rng_shuffle(&rb, b, N);
    assert_memory_equal(a, b, sizeof a);
    size_t fixed = 0;
    for (size_t i = 0; i < N; i++) {
        assert_true(a[i] < N);
        assert_int_equal(seen[a[i]], 0);
        seen[a[i]] = 1;
        fixed += a[i] == i;
    }
    /* Fixed points of a uniform permutation are ~Poisson(1): 20 or more has P < 1e-18. */
    assert_true(fixed < 20);

    /* A different seed gives a different order. */
    for (size_t i = 0; i < N; i++)
        b[i] = i;
    gf_rng_seed(&rb, 6);
    gf_rng_shuffle(&rb, b, N);
    assert_memory_not_equal(a, b, sizeof a);

    /* All 6 orders of 3 items equally likely: chi-square with 5 degrees of freedom over
     * 60000 shuffles; P(chi2 > 35.89) = 1e-6. */
    long count[6] = {0};
    gf_rng_seed(&ra, 11);
    for (int t = 0; t < 60000; t++) {
        size_t p[3] = {0, 1, 2};
        gf_rng_shuffle(&ra, p, 3);
        /* Lehmer code of the permutation: 0..5. */
        int code = (int)p[0] * 2 + (p[1] > p[2]);
        assert_true(p[0] + p[1] + p[2] == 3 && p[0] != p[1] && p[1] != p[2]);
        count[code]++;
    }
    double chi2 = 0;
    for (int k = 0; k < 6; k++)
        chi2 += (count[k] - 10000.0) * (count[k] - 10000.0) / 10000.0;
    assert_true(chi2 < 35.89);

    /* n = 0 and n = 1 leave the array alone and draw nothing. */
    size_t one = 17;
    gf_rng_seed(&ra, 3);
    gf_rng_seed(&rb, 3);
    gf_rng_shuffle(&ra, &one, 1);
    gf_rng_shuffle(&ra, NULL, 0);
    assert_int_equal(one, 17);
    assert_memory_equal(ra.s, rb.s, sizeof ra.s);
}

/* ---- NULL generator ----------------------------------------------------------------- */

static void null_generator_is_harmless(void **state)
{
    size_t idx[3] = {0, 1, 2};
    gf_rng rng;
    (void)state;
    gf_rng_seed(NULL, 1);
    assert_true(gf_rng_u64(NULL) == 0);
    assert_true(isnan(gf_rng_uniform(NULL)));
    assert_true(isnan(gf_rng_normal(NULL)));
    assert_true(gf_rng_below(NULL, 10) == 0);
    gf_rng_shuffle(NULL, idx, 3);
    assert_true(idx[0] == 0 && idx[1] == 1 && idx[2] == 2);
    gf_rng_seed(&rng, 1);
    gf_rng_shuffle(&rng, NULL, 3); /* NULL array: nothing to do */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seed_uses_splitmix64),
        cmocka_unit_test(xoshiro_matches_reference_vector),
        cmocka_unit_test(uniform_is_top_53_bits),
        cmocka_unit_test(same_seed_same_stream_bit_for_bit),
        cmocka_unit_test(different_seeds_differ_and_zero_is_valid),
        cmocka_unit_test(uniform_moments),
        cmocka_unit_test(normal_moments),
        cmocka_unit_test(normal_is_box_muller_of_the_stream),
        cmocka_unit_test(below_small_n_and_chi_square),
        cmocka_unit_test(below_rejects_modulo_bias),
        cmocka_unit_test(shuffle_is_deterministic_uniform_permutation),
        cmocka_unit_test(null_generator_is_harmless),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
