/* tests/test_loss.c: the three losses against central differences, known values
 * (log n for uniform logits, log 2 for BCE at 0, MSE of fixed arrays), stability at
 * logits of +-1000, bad input (status and message), names and accuracy. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "gradflow/loss.h"

/* Tolerances for the gradient checks.
 * double: h = 1e-6 gives truncation error ~h^2 |L'''| ~ 1e-12 and rounding error
 * ~1e-16/h = 1e-10 in a loss of order 1, far inside 1e-8 abs + 1e-6 rel.
 * float: y +- h is rounded to float, so the step actually taken is computed from the
 * stored values (see fd_check); what is left is the truncation error h^2 |L'''| / 6,
 * ~2e-5 |L'''| for h = 1e-2 with |L'''| <= 1 here, and the float rounding of dy itself
 * (6e-8 relative): 1e-4 abs + 1e-3 rel covers both with margin. */
#if GF_REAL_IS_DOUBLE
#define FD_H 1e-6
#define FD_ABS 1e-8
#define FD_REL 1e-6
#define VAL_TOL 1e-12
#else
#define FD_H 1e-2
#define FD_ABS 1e-4
#define FD_REL 1e-3
#define VAL_TOL 1e-6
#endif

/* |a - b| <= tol, printing both on failure (cmocka 1.1 has no double comparison). */
#define assert_within(a, b, tol)                                                         \
    do {                                                                               \
        double a_ = (a), b_ = (b);                                                     \
        if (!(fabs(a_ - b_) <= (tol)))                                                 \
            fail_msg("%s = %.17g, expected %.17g (tol %g)", #a, a_, b_, (double)(tol));  \
    } while (0)

static gf_tensor *make(const double *v, size_t rows, size_t cols)
{
    gf_tensor *t = NULL;
    assert_int_equal(gf_tensor_new(&t, rows, cols), GF_OK);
    for (size_t i = 0; i < rows * cols; i++)
        t->data[i] = (gf_real)v[i];
    return t;
}

static double loss_of(gf_loss_kind kind, const gf_tensor *y, const gf_tensor *t)
{
    double l = NAN;
    assert_int_equal(gf_loss_compute(&l, NULL, y, t, kind), GF_OK);
    return l;
}

/* dL/dy from gf_loss_compute against (L(y + h e_i) - L(y - h e_i)) / (actual step),
 * element by element; the analytic gradient must not be all zero. */
static void fd_check(gf_loss_kind kind, gf_tensor *y, const gf_tensor *t)
{
    gf_tensor *dy = NULL;
    double l = NAN;
    double norm = 0.0;
    assert_int_equal(gf_tensor_new(&dy, y->rows, y->cols), GF_OK);
    assert_int_equal(gf_loss_compute(&l, dy, y, t, kind), GF_OK);
    assert_true(isfinite(l));
    for (size_t i = 0; i < y->rows * y->cols; i++) {
        gf_real saved = y->data[i];
        double lp, lm, step, num;
        y->data[i] = (gf_real)(saved + FD_H);
        step = (double)y->data[i];
        lp = loss_of(kind, y, t);
        y->data[i] = (gf_real)(saved - FD_H);
        step -= (double)y->data[i];
        lm = loss_of(kind, y, t);
        y->data[i] = saved;
        num = (lp - lm) / step;
        if (!(fabs(num - (double)dy->data[i]) <= FD_ABS + FD_REL * fabs(num)))
            fail_msg("%s: element %zu: analytic %.10g, numeric %.10g", gf_loss_name(kind), i,
                     (double)dy->data[i], num);
        norm += (double)dy->data[i] * (double)dy->data[i];
    }
    assert_true(sqrt(norm) > 1e-6); /* never passes on an all-zero gradient */
    gf_tensor_free(dy);
}

/* Logits spread over [-3, 3] so every softmax entry and sigmoid is far from 0 and 1. */
static const double logits[4 * 5] = {
    0.3, -1.2, 2.1,  0.7, -0.4,
    -2.5, 0.9, 0.1,  1.4, -0.8,
    1.7, 1.6, -0.3, -2.2, 0.05,
    -0.6, 2.8, -1.9, 0.2, 1.1,
};

static void mse_matches_central_difference(void **state)
{
    (void)state;
    static const double tv[4 * 5] = {
        1.0, 0.0, -1.0, 0.5, 0.25, 2.0, -0.5, 0.3, 0.0, 1.5,
        -1.0, 0.7, 0.2, -0.4, 0.9, 0.1, 0.2, 0.3, 0.4, 0.5,
    };
    gf_tensor *y = make(logits, 4, 5);
    gf_tensor *t = make(tv, 4, 5);
    fd_check(GF_LOSS_MSE, y, t);
    gf_tensor_free(y);
    gf_tensor_free(t);
}

static void ce_indices_matches_central_difference(void **state)
{
    (void)state;
    static const double cls[4] = {2, 0, 4, 1};
    gf_tensor *y = make(logits, 4, 5);
    gf_tensor *t = make(cls, 4, 1);
    fd_check(GF_LOSS_SOFTMAX_CE, y, t);
    gf_tensor_free(y);
    gf_tensor_free(t);
}

static void ce_probabilities_matches_central_difference(void **state)
{
    (void)state;
    /* Soft targets (label smoothing, mixtures), every row summing to 1. */
    static const double tv[4 * 5] = {
        0.1, 0.2, 0.3, 0.4, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0,
        0.2, 0.2, 0.2, 0.2, 0.2, 0.05, 0.05, 0.05, 0.05, 0.8,
    };
    gf_tensor *y = make(logits, 4, 5);
    gf_tensor *t = make(tv, 4, 5);
    fd_check(GF_LOSS_SOFTMAX_CE, y, t);
    gf_tensor_free(y);
    gf_tensor_free(t);
}

static void bce_matches_central_difference(void **state)
{
    (void)state;
    static const double tv[4 * 5] = {
        0.0, 1.0, 0.3, 1.0, 0.0, 0.5, 1.0, 0.0, 0.9, 0.1,
        1.0, 0.0, 0.0, 1.0, 0.7, 0.2, 1.0, 1.0, 0.0, 0.4,
    };
    gf_tensor *y = make(logits, 4, 5);
    gf_tensor *t = make(tv, 4, 5);
    fd_check(GF_LOSS_BCE_LOGITS, y, t);
    gf_tensor_free(y);
    gf_tensor_free(t);
}

/* ---- Known values -------------------------------------------------------------------- */

static void mse_known_values(void **state)
{
    (void)state;
    /* ((1-0)^2 + (2-1)^2 + (3-1)^2 + (4-1)^2 + (-1-1)^2 + (0.5-0)^2) / 6 = 19.25 / 6 */
    static const double yv[6] = {1, 2, 3, 4, -1, 0.5};
    static const double tv[6] = {0, 1, 1, 1, 1, 0};
    static const double dv[6] = {2.0 / 6, 2.0 / 6, 4.0 / 6, 6.0 / 6, -4.0 / 6, 1.0 / 6};
    gf_tensor *y = make(yv, 2, 3);
    gf_tensor *t = make(tv, 2, 3);
    gf_tensor *dy = NULL;
    double l = NAN;
    assert_int_equal(gf_tensor_new(&dy, 2, 3), GF_OK);
    assert_int_equal(gf_loss_compute(&l, dy, y, t, GF_LOSS_MSE), GF_OK);
    assert_within(l, 19.25 / 6, 1e-12);
    for (int i = 0; i < 6; i++)
        assert_within((double)dy->data[i], dv[i], VAL_TOL);
    /* y == t: zero loss. */
    assert_int_equal(gf_loss_compute(&l, NULL, t, t, GF_LOSS_MSE), GF_OK);
    assert_true(l == 0.0);
    gf_tensor_free(y);
    gf_tensor_free(t);
    gf_tensor_free(dy);
}

static void ce_uniform_logits_is_log_n(void **state)
{
    (void)state;
    enum { B = 3, N = 10 };
    double yv[B * N];
    static const double cls[B] = {0, 7, 9};
    gf_tensor *y, *t, *dy = NULL;
    double l = NAN;
    for (int i = 0; i < B * N; i++)
        yv[i] = 3.7;
    y = make(yv, B, N);
    t = make(cls, B, 1);
    assert_int_equal(gf_tensor_new(&dy, B, N), GF_OK);
    assert_int_equal(gf_loss_compute(&l, dy, y, t, GF_LOSS_SOFTMAX_CE), GF_OK);
    assert_within(l, log((double)N), 1e-12);
    /* dL/dy = (softmax - onehot) / B = (1/N - [j == class]) / B. */
    for (int b = 0; b < B; b++)
        for (int j = 0; j < N; j++)
            assert_within((double)dy->data[b * N + j],
                                (1.0 / N - (j == (int)cls[b] ? 1.0 : 0.0)) / B, VAL_TOL);
    gf_tensor_free(y);
    gf_tensor_free(t);
    gf_tensor_free(dy);
}

static void ce_known_value(void **state)
{
    (void)state;
    /* y = (0, ln 2, ln 3): softmax (1/6, 2/6, 3/6); class 2 gives -log(1/2) = ln 2. */
    double yv[3] = {0.0, log(2.0), log(3.0)};
    static const double cls[1] = {2};
    gf_tensor *y = make(yv, 1, 3);
    gf_tensor *t = make(cls, 1, 1);
    gf_tensor *dy = NULL;
    double l = NAN;
    assert_int_equal(gf_tensor_new(&dy, 1, 3), GF_OK);
    assert_int_equal(gf_loss_compute(&l, dy, y, t, GF_LOSS_SOFTMAX_CE), GF_OK);
    assert_within(l, log(2.0), VAL_TOL);
    assert_within((double)dy->data[0], 1.0 / 6, VAL_TOL);
    assert_within((double)dy->data[1], 2.0 / 6, VAL_TOL);
    assert_within((double)dy->data[2], 3.0 / 6 - 1.0, VAL_TOL);
    gf_tensor_free(y);
    gf_tensor_free(t);
    gf_tensor_free(dy);
}

static void ce_one_hot_equals_indices(void **state)
{
    (void)state;
    static const double cls[4] = {2, 0, 4, 1};
    double onehot[4 * 5] = {0};
    gf_tensor *y = make(logits, 4, 5);
    gf_tensor *ti, *to, *d1 = NULL, *d2 = NULL;
    double l1 = NAN, l2 = NAN;
    for (int b = 0; b < 4; b++)
        onehot[b * 5 + (int)cls[b]] = 1.0;
    ti = make(cls, 4, 1);
    to = make(onehot, 4, 5);
    assert_int_equal(gf_tensor_new(&d1, 4, 5), GF_OK);
    assert_int_equal(gf_tensor_new(&d2, 4, 5), GF_OK);
    assert_int_equal(gf_loss_compute(&l1, d1, y, ti, GF_LOSS_SOFTMAX_CE), GF_OK);
    assert_int_equal(gf_loss_compute(&l2, d2, y, to, GF_LOSS_SOFTMAX_CE), GF_OK);
    assert_within(l1, l2, 1e-12);
    assert_true(l1 > 0.1);
    for (int i = 0; i < 20; i++)
        assert_within((double)d1->data[i], (double)d2->data[i], 1e-12);
    gf_tensor_free(y);
    gf_tensor_free(ti);
    gf_tensor_free(to);
    gf_tensor_free(d1);
    gf_tensor_free(d2);
}

static void bce_known_values(void **state)
{
    (void)state;
    /* At y = 0 every term is log 2, whatever the target; dl/dy = (1/2 - t) / N. */
    static const double zeros[4] = {0, 0, 0, 0};
    static const double tv[4] = {0.0, 1.0, 0.25, 0.5};
    gf_tensor *y = make(zeros, 2, 2);
    gf_tensor *t = make(tv, 2, 2);
    gf_tensor *dy = NULL;
    double l = NAN;
    assert_int_equal(gf_tensor_new(&dy, 2, 2), GF_OK);
    assert_int_equal(gf_loss_compute(&l, dy, y, t, GF_LOSS_BCE_LOGITS), GF_OK);
    assert_within(l, log(2.0), 1e-15);
    for (int i = 0; i < 4; i++)
        assert_within((double)dy->data[i], (0.5 - tv[i]) / 4, VAL_TOL);
    gf_tensor_free(y);
    gf_tensor_free(t);

    /* y = 2, t = 1: log(1 + e^-2).  y = -3, t = 0.25: 0.75 + log(1 + e^-3). */
    {
        static const double yv[2] = {2.0, -3.0};
        static const double t2[2] = {1.0, 0.25};
        double want = (log1p(exp(-2.0)) + 0.75 + log1p(exp(-3.0))) / 2;
        y = make(yv, 1, 2);
        t = make(t2, 1, 2);
        assert_int_equal(gf_loss_compute(&l, NULL, y, t, GF_LOSS_BCE_LOGITS), GF_OK);
        assert_within(l, want, 1e-12);
        /* The same through the textbook form -t log s - (1-t) log(1-s). */
        {
            double s1 = 1 / (1 + exp(-2.0)), s2 = 1 / (1 + exp(3.0));
            double textbook = (-log(s1) - 0.25 * log(s2) - 0.75 * log(1 - s2)) / 2;
            assert_within(l, textbook, 1e-12);
        }
        gf_tensor_free(y);
        gf_tensor_free(t);
    }
    gf_tensor_free(dy);
}

/* Logits of +-1000 overflow exp() in a naive softmax or sigmoid; the log-sum-exp forms
 * must give finite losses and exact gradients. */
static void stable_at_large_logits(void **state)
{
    (void)state;
    gf_tensor *y, *t, *dy = NULL;
    double l = NAN;
    {
        /* Row 0: the true class 1 sits 2000 below the max: loss 2000, softmax (1, 0, 0).
         * Row 1: two tied maxima at 1000, class 0: loss log 2. */
        static const double yv[6] = {1000, -1000, 0, 1000, 1000, -1000};
        static const double cls[2] = {1, 0};
        y = make(yv, 2, 3);
        t = make(cls, 2, 1);
        assert_int_equal(gf_tensor_new(&dy, 2, 3), GF_OK);
        assert_int_equal(gf_loss_compute(&l, dy, y, t, GF_LOSS_SOFTMAX_CE), GF_OK);
        assert_true(isfinite(l));
        assert_within(l, (2000.0 + log(2.0)) / 2, 1e-9);
        {
            const double want[6] = {0.5, -0.5, 0.0, (0.5 - 1) / 2, 0.25, 0.0};
            for (int i = 0; i < 6; i++)
                assert_within((double)dy->data[i], want[i], VAL_TOL);
        }
        gf_tensor_free(y);
        gf_tensor_free(t);
        gf_tensor_free(dy);
    }
    {
        /* BCE: wrong with confidence 1000 costs 1000 with gradient +-1 (per element /N);
         * right with confidence 1000 costs 0 with gradient 0. */
        static const double yv[4] = {1000, -1000, 1000, -1000};
        static const double tv[4] = {0, 1, 1, 0};
        y = make(yv, 1, 4);
        t = make(tv, 1, 4);
        assert_int_equal(gf_tensor_new(&dy, 1, 4), GF_OK);
        assert_int_equal(gf_loss_compute(&l, dy, y, t, GF_LOSS_BCE_LOGITS), GF_OK);
        assert_true(isfinite(l));
        assert_within(l, 2000.0 / 4, 1e-9);
        assert_within((double)dy->data[0], 0.25, VAL_TOL);
        assert_within((double)dy->data[1], -0.25, VAL_TOL);
        assert_within((double)dy->data[2], 0.0, VAL_TOL);
        assert_within((double)dy->data[3], 0.0, VAL_TOL);
        gf_tensor_free(y);
        gf_tensor_free(t);
        gf_tensor_free(dy);
    }
    {
        /* Central differences still hold around large (but not saturating) offsets:
         * shifting all logits of a row by 500 changes nothing in softmax. */
        double yv[4 * 5];
        static const double cls[4] = {1, 3, 0, 2};
        for (int i = 0; i < 20; i++)
            yv[i] = logits[i] + ((i / 5) % 2 ? 500.0 : -500.0);
        y = make(yv, 4, 5);
        t = make(cls, 4, 1);
#if GF_REAL_IS_DOUBLE
        fd_check(GF_LOSS_SOFTMAX_CE, y, t);
#else
        /* In float, 500 + x keeps only ~3e-5 absolute resolution; a value check suffices. */
        assert_true(isfinite(loss_of(GF_LOSS_SOFTMAX_CE, y, t)));
#endif
        gf_tensor_free(y);
        gf_tensor_free(t);
    }
}

static void nonfinite_logits_give_nonfinite_loss(void **state)
{
    (void)state;
    static const double cls[1] = {0};
    static const double tv[3] = {0, 1, 0};
    double yv[3] = {0.5, NAN, 1.0};
    double l = 0.0;
    gf_tensor *y = make(yv, 1, 3);
    gf_tensor *ti = make(cls, 1, 1);
    gf_tensor *t = make(tv, 1, 3);
    assert_int_equal(gf_loss_compute(&l, NULL, y, ti, GF_LOSS_SOFTMAX_CE), GF_OK);
    assert_false(isfinite(l));
    assert_int_equal(gf_loss_compute(&l, NULL, y, t, GF_LOSS_MSE), GF_OK);
    assert_false(isfinite(l));
    assert_int_equal(gf_loss_compute(&l, NULL, y, t, GF_LOSS_BCE_LOGITS), GF_OK);
    assert_false(isfinite(l));
    y->data[1] = (gf_real)INFINITY;
    assert_int_equal(gf_loss_compute(&l, NULL, y, ti, GF_LOSS_SOFTMAX_CE), GF_OK);
    assert_false(isfinite(l));
    gf_tensor_free(y);
    gf_tensor_free(ti);
    gf_tensor_free(t);
}

static void dy_may_alias_y(void **state)
{
    (void)state;
    static const double cls[4] = {2, 0, 4, 1};
    gf_tensor *y = make(logits, 4, 5);
    gf_tensor *y2 = make(logits, 4, 5);
    gf_tensor *t = make(cls, 4, 1);
    gf_tensor *dy = NULL;
    double l1 = NAN, l2 = NAN;
    for (int k = 0; k < GF_LOSS_COUNT; k++) {
        const gf_tensor *tk = t;
        gf_tensor *tp = NULL;
        if (k != GF_LOSS_SOFTMAX_CE) { /* a (4, 5) target in [0, 1] */
            double tv[20];
            for (int i = 0; i < 20; i++)
                tv[i] = (i % 7) / 6.0;
            tp = make(tv, 4, 5);
            tk = tp;
        }
        assert_int_equal(gf_tensor_new(&dy, 4, 5), GF_OK);
        assert_int_equal(gf_tensor_copy(y, y2), GF_OK);
        assert_int_equal(gf_loss_compute(&l1, dy, y, tk, (gf_loss_kind)k), GF_OK);
        assert_int_equal(gf_loss_compute(&l2, y, y, tk, (gf_loss_kind)k), GF_OK);
        assert_within(l1, l2, 0.0);
        assert_memory_equal(dy->data, y->data, 20 * sizeof(gf_real));
        gf_tensor_free(dy);
        gf_tensor_free(tp);
    }
    gf_tensor_free(y);
    gf_tensor_free(y2);
    gf_tensor_free(t);
}

/* ---- Bad input ----------------------------------------------------------------------- */

/* The call must fail with `want` and leave a message containing `fragment`. */
#define EXPECT_FAIL(want, fragment, call)                                              \
    do {                                                                               \
        gf_clear_error();                                                              \
        assert_int_equal((call), (want));                                              \
        assert_true(strlen(gf_last_error()) > 0);                                      \
        if (strstr(gf_last_error(), (fragment)) == NULL)                               \
            fail_msg("message '%s' lacks '%s'", gf_last_error(), (fragment));          \
    } while (0)

static void bad_input_is_rejected_with_message(void **state)
{
    (void)state;
    static const double cls[4] = {2, 0, 4, 1};
    double tv[20];
    gf_tensor *y = make(logits, 4, 5);
    gf_tensor *t = make(cls, 4, 1);
    gf_tensor *tp, *t3, *dy = NULL, *dyw = NULL;
    gf_tensor empty;
    gf_real dummy[5] = {0};
    double l = 0.0;
    for (int i = 0; i < 20; i++)
        tv[i] = 0.2;
    tp = make(tv, 4, 5);
    t3 = make(tv, 4, 3);
    assert_int_equal(gf_tensor_new(&dy, 4, 5), GF_OK);
    assert_int_equal(gf_tensor_new(&dyw, 5, 4), GF_OK);

    /* NULLs and an invalid kind. */
    EXPECT_FAIL(GF_EINVAL, "y", gf_loss_compute(&l, NULL, NULL, tp, GF_LOSS_MSE));
    EXPECT_FAIL(GF_EINVAL, "target", gf_loss_compute(&l, NULL, y, NULL, GF_LOSS_MSE));
    EXPECT_FAIL(GF_EINVAL, "loss", gf_loss_compute(NULL, NULL, y, tp, GF_LOSS_MSE));
    EXPECT_FAIL(GF_EINVAL, "kind", gf_loss_compute(&l, NULL, y, tp, GF_LOSS_COUNT));
    EXPECT_FAIL(GF_EINVAL, "kind", gf_loss_compute(&l, NULL, y, tp, (gf_loss_kind)-1));

    /* Zero batch. */
    empty = gf_tensor_view(dummy, 0, 5);
    EXPECT_FAIL(GF_EINVAL, "empty", gf_loss_compute(&l, NULL, &empty, &empty, GF_LOSS_MSE));
    EXPECT_FAIL(GF_EINVAL, "empty",
                gf_loss_compute(&l, NULL, &empty, &empty, GF_LOSS_SOFTMAX_CE));

    /* Shapes. */
    EXPECT_FAIL(GF_ESHAPE, "target", gf_loss_compute(&l, NULL, y, t3, GF_LOSS_MSE));
    EXPECT_FAIL(GF_ESHAPE, "target", gf_loss_compute(&l, NULL, y, t, GF_LOSS_BCE_LOGITS));
    EXPECT_FAIL(GF_ESHAPE, "columns", gf_loss_compute(&l, NULL, y, t3, GF_LOSS_SOFTMAX_CE));
    EXPECT_FAIL(GF_ESHAPE, "dy", gf_loss_compute(&l, dyw, y, tp, GF_LOSS_MSE));
    {
        gf_tensor *t5 = make(tv, 5, 1);
        EXPECT_FAIL(GF_ESHAPE, "rows", gf_loss_compute(&l, NULL, y, t5, GF_LOSS_SOFTMAX_CE));
        gf_tensor_free(t5);
    }

    /* Class indices: fractional, negative, too large, NaN -- each naming the row. */
    t->data[1] = (gf_real)2.5;
    EXPECT_FAIL(GF_EINVAL, "row 1", gf_loss_compute(&l, dy, y, t, GF_LOSS_SOFTMAX_CE));
    t->data[1] = 0;
    t->data[2] = -1;
    EXPECT_FAIL(GF_EINVAL, "row 2", gf_loss_compute(&l, NULL, y, t, GF_LOSS_SOFTMAX_CE));
    t->data[2] = 5;
    EXPECT_FAIL(GF_EINVAL, "row 2", gf_loss_compute(&l, NULL, y, t, GF_LOSS_SOFTMAX_CE));
    t->data[2] = (gf_real)NAN;
    EXPECT_FAIL(GF_EINVAL, "row 2", gf_loss_compute(&l, NULL, y, t, GF_LOSS_SOFTMAX_CE));
    t->data[2] = 4;
    assert_int_equal(gf_loss_compute(&l, NULL, y, t, GF_LOSS_SOFTMAX_CE), GF_OK);

    /* Probability targets: outside [0, 1], non-finite, not summing to 1. */
    tp->data[7] = (gf_real)1.5;
    EXPECT_FAIL(GF_EINVAL, "[0, 1]", gf_loss_compute(&l, NULL, y, tp, GF_LOSS_SOFTMAX_CE));
    tp->data[7] = (gf_real)-0.1;
    EXPECT_FAIL(GF_EINVAL, "[0, 1]", gf_loss_compute(&l, NULL, y, tp, GF_LOSS_SOFTMAX_CE));
    tp->data[7] = (gf_real)NAN;
    EXPECT_FAIL(GF_EINVAL, "(1, 2)", gf_loss_compute(&l, NULL, y, tp, GF_LOSS_SOFTMAX_CE));
    tp->data[7] = (gf_real)0.3;
    EXPECT_FAIL(GF_EINVAL, "row 1", gf_loss_compute(&l, NULL, y, tp, GF_LOSS_SOFTMAX_CE));
    tp->data[7] = (gf_real)0.2;
    assert_int_equal(gf_loss_compute(&l, NULL, y, tp, GF_LOSS_SOFTMAX_CE), GF_OK);

    /* BCE targets outside [0, 1]; MSE targets non-finite. */
    tp->data[3] = (gf_real)1.2;
    EXPECT_FAIL(GF_EINVAL, "bce", gf_loss_compute(&l, NULL, y, tp, GF_LOSS_BCE_LOGITS));
    tp->data[3] = (gf_real)INFINITY;
    EXPECT_FAIL(GF_EINVAL, "bce", gf_loss_compute(&l, NULL, y, tp, GF_LOSS_BCE_LOGITS));
    EXPECT_FAIL(GF_EINVAL, "mse", gf_loss_compute(&l, NULL, y, tp, GF_LOSS_MSE));
    /* MSE targets need not lie in [0, 1]. */
    tp->data[3] = (gf_real)-7.5;
    assert_int_equal(gf_loss_compute(&l, NULL, y, tp, GF_LOSS_MSE), GF_OK);

    gf_tensor_free(y);
    gf_tensor_free(t);
    gf_tensor_free(tp);
    gf_tensor_free(t3);
    gf_tensor_free(dy);
    gf_tensor_free(dyw);
}

static void names_and_aliases(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        gf_loss_kind kind;
    } cases[] = {
        {"mse", GF_LOSS_MSE},           {"cross_entropy", GF_LOSS_SOFTMAX_CE},
        {"ce", GF_LOSS_SOFTMAX_CE},     {"softmax_ce", GF_LOSS_SOFTMAX_CE},
        {"bce", GF_LOSS_BCE_LOGITS},    {"bce_logits", GF_LOSS_BCE_LOGITS},
    };
    gf_loss_kind k = GF_LOSS_COUNT;
    assert_string_equal(gf_loss_name(GF_LOSS_MSE), "mse");
    assert_string_equal(gf_loss_name(GF_LOSS_SOFTMAX_CE), "cross_entropy");
    assert_string_equal(gf_loss_name(GF_LOSS_BCE_LOGITS), "bce");
    assert_null(gf_loss_name(GF_LOSS_COUNT));
    assert_null(gf_loss_name((gf_loss_kind)-1));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(gf_loss_from_name(&k, cases[i].name), GF_OK);
        assert_int_equal(k, cases[i].kind);
    }
    /* Every canonical name round-trips. */
    for (int i = 0; i < GF_LOSS_COUNT; i++) {
        assert_int_equal(gf_loss_from_name(&k, gf_loss_name((gf_loss_kind)i)), GF_OK);
        assert_int_equal(k, i);
    }
    EXPECT_FAIL(GF_ENOTFOUND, "cross_entropy", gf_loss_from_name(&k, "hinge"));
    EXPECT_FAIL(GF_ENOTFOUND, "hinge", gf_loss_from_name(&k, "hinge"));
    EXPECT_FAIL(GF_ENOTFOUND, "mse", gf_loss_from_name(&k, ""));
    EXPECT_FAIL(GF_EINVAL, "name", gf_loss_from_name(&k, NULL));
    EXPECT_FAIL(GF_EINVAL, "out", gf_loss_from_name(NULL, "mse"));
}

/* ---- Accuracy ------------------------------------------------------------------------ */

static void accuracy_cases(void **state)
{
    (void)state;
    double acc = -1.0;
    /* Argmax per row of `logits`: 2, 3, 0, 1. */
    static const double right[4] = {2, 3, 0, 1};
    static const double half[4] = {2, 0, 0, 4};
    gf_tensor *y = make(logits, 4, 5);
    gf_tensor *t = make(right, 4, 1);
    gf_tensor *th = make(half, 4, 1);
    assert_int_equal(gf_accuracy(&acc, y, t), GF_OK);
    assert_true(acc == 1.0);
    assert_int_equal(gf_accuracy(&acc, y, th), GF_OK);
    assert_true(acc == 0.5);

    /* One-hot and probability targets: argmax of the target row. */
    {
        double tv[20] = {0};
        gf_tensor *tp;
        tv[0 * 5 + 2] = 1; /* right */
        tv[1 * 5 + 3] = 0.6; tv[1 * 5 + 0] = 0.4; /* right (argmax 3) */
        tv[2 * 5 + 1] = 1; /* wrong */
        tv[3 * 5 + 4] = 1; /* wrong */
        tp = make(tv, 4, 5);
        assert_int_equal(gf_accuracy(&acc, y, tp), GF_OK);
        assert_true(acc == 0.5);
        tp->data[0] = (gf_real)NAN;
        EXPECT_FAIL(GF_EINVAL, "non-finite", gf_accuracy(&acc, y, tp));
        gf_tensor_free(tp);
    }

    /* Ties go to the first maximum; a row with NaN counts as wrong. */
    {
        static const double yv[6] = {1, 3, 3, 0, 0, 0};
        static const double c1[2] = {1, 0};
        static const double c2[2] = {2, 1};
        gf_tensor *y2 = make(yv, 2, 3);
        gf_tensor *a = make(c1, 2, 1);
        gf_tensor *b = make(c2, 2, 1);
        assert_int_equal(gf_accuracy(&acc, y2, a), GF_OK);
        assert_true(acc == 1.0);
        assert_int_equal(gf_accuracy(&acc, y2, b), GF_OK);
        assert_true(acc == 0.0);
        y2->data[3] = (gf_real)NAN;
        assert_int_equal(gf_accuracy(&acc, y2, a), GF_OK);
        assert_true(acc == 0.5);
        gf_tensor_free(y2);
        gf_tensor_free(a);
        gf_tensor_free(b);
    }

    /* One column: a binary logit, class 1 when y > 0. */
    {
        static const double yv[5] = {2.0, -1.0, 0.0, 0.3, -4.0};
        static const double cv[5] = {1, 0, 0, 0, 1};
        gf_tensor *y1 = make(yv, 5, 1);
        gf_tensor *c = make(cv, 5, 1);
        assert_int_equal(gf_accuracy(&acc, y1, c), GF_OK);
        assert_within(acc, 3.0 / 5, 1e-15);
        c->data[0] = 2; /* only 0 and 1 exist */
        EXPECT_FAIL(GF_EINVAL, "row 0", gf_accuracy(&acc, y1, c));
        gf_tensor_free(y1);
        gf_tensor_free(c);
    }

    /* Bad input. */
    t->data[3] = 5;
    EXPECT_FAIL(GF_EINVAL, "row 3", gf_accuracy(&acc, y, t));
    t->data[3] = (gf_real)0.5;
    EXPECT_FAIL(GF_EINVAL, "row 3", gf_accuracy(&acc, y, t));
    EXPECT_FAIL(GF_EINVAL, "y", gf_accuracy(&acc, NULL, t));
    EXPECT_FAIL(GF_EINVAL, "target", gf_accuracy(&acc, y, NULL));
    EXPECT_FAIL(GF_EINVAL, "accuracy", gf_accuracy(NULL, y, t));
    {
        gf_real dummy[5] = {0};
        gf_tensor empty = gf_tensor_view(dummy, 0, 5);
        gf_tensor t3 = gf_tensor_view(dummy, 4, 3);
        gf_tensor t5r = gf_tensor_view(dummy, 5, 1);
        EXPECT_FAIL(GF_EINVAL, "empty", gf_accuracy(&acc, &empty, &empty));
        EXPECT_FAIL(GF_ESHAPE, "columns", gf_accuracy(&acc, y, &t3));
        EXPECT_FAIL(GF_ESHAPE, "rows", gf_accuracy(&acc, y, &t5r));
    }
    gf_tensor_free(y);
    gf_tensor_free(t);
    gf_tensor_free(th);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mse_matches_central_difference),
        cmocka_unit_test(ce_indices_matches_central_difference),
        cmocka_unit_test(ce_probabilities_matches_central_difference),
        cmocka_unit_test(bce_matches_central_difference),
        cmocka_unit_test(mse_known_values),
        cmocka_unit_test(ce_uniform_logits_is_log_n),
        cmocka_unit_test(ce_known_value),
        cmocka_unit_test(ce_one_hot_equals_indices),
        cmocka_unit_test(bce_known_values),
        cmocka_unit_test(stable_at_large_logits),
        cmocka_unit_test(nonfinite_logits_give_nonfinite_loss),
        cmocka_unit_test(dy_may_alias_y),
        cmocka_unit_test(bad_input_is_rejected_with_message),
        cmocka_unit_test(names_and_aliases),
        cmocka_unit_test(accuracy_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
