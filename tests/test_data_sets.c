/* tests/test_data_sets.c: the data module, part of test_data (tests/test_data.h):
 * synthetic sets against their known moments, the split, slices, standardisation from
 * the training part, the batcher's epochs. */
#define _POSIX_C_SOURCE 200809L /* setenv, mkdir */

#include "test_data.h"

/* ---- Synthetic ------------------------------------------------------------------------- */

void synthetic_sets(void **state)
{
    static const char *const kinds[] = {"gauss", "xor", "spirals", "moons"};
    gf_rng r1, r2;
    (void)state;
    for (int k = 0; k < 4; k++) {
        gf_dataset *a = NULL, *b = NULL, *c = NULL;
        size_t in = k == 0 ? 5 : 0, od = k == 0 ? 3 : 0, ones = 0;
        gf_rng_seed(&r1, 7);
        gf_rng_seed(&r2, 7);
        assert_ok(gf_data_synthetic(&a, kinds[k], 400, in, od, &r1));
        assert_ok(gf_data_synthetic(&b, kinds[k], 400, in, od, &r2));
        assert_ok(gf_data_synthetic(&c, kinds[k], 400, in, od, &r1)); /* later draws */
        assert_string_equal(a->name, kinds[k]);
        assert_int_equal(a->x->rows, 400);
        assert_int_equal(a->x->cols, k == 0 ? 5 : 2);
        assert_int_equal(a->y->cols, k == 0 ? 3 : 1);
        assert_int_equal(a->n_classes, k == 0 ? 0 : 2);
        /* Same seed, same data, bit for bit; the next draws differ. */
        assert_memory_equal(a->x->data, b->x->data, 400 * a->x->cols * sizeof(gf_real));
        assert_memory_equal(a->y->data, b->y->data, 400 * a->y->cols * sizeof(gf_real));
        assert_true(memcmp(a->x->data, c->x->data, 400 * a->x->cols * sizeof(gf_real)) != 0);
        if (k > 0) {
            for (size_t i = 0; i < 400; i++) {
                double y = (double)a->y->data[i];
                double x0 = (double)a->x->data[2 * i], x1 = (double)a->x->data[2 * i + 1];
                assert_true(y == 0 || y == 1);
                ones += y == 1;
                assert_true(fabs(x0) < 2 && fabs(x1) < 2);
                if (k == 1) {
                    assert_true(x0 >= -1 && x0 <= 1 && x1 >= -1 && x1 <= 1);
                    assert_true(y == (double)((x0 > 0) != (x1 > 0)));
                }
            }
            if (k == 1)
                assert_true(ones > 150 && ones < 250); /* xor: binomial(400, 1/2) */
            else
                assert_int_equal(ones, 200); /* alternating */
        }
        gf_dataset_free(a);
        gf_dataset_free(b);
        gf_dataset_free(c);
    }
}

/* The adding problem: two markers per row, one in each half, the target their values'
 * sum; the sum of two U(0, 1) has mean 1 and variance 1/6 (over 4000 rows the standard
 * errors are 0.0065 and 0.0031: the tolerances are about 5 of them); the same seed gives
 * the same rows. */
void adding_problem_rows(void **state)
{
    const size_t n = 4000, T = 7;
    gf_tensor *x = NULL, *t = NULL, *x2 = NULL, *t2 = NULL;
    gf_rng r1, r2;
    double mean = 0, var = 0;
    (void)state;
    gf_rng_seed(&r1, 11);
    gf_rng_seed(&r2, 11);
    assert_ok(gf_tensor_new(&x, n, 2 * T));
    assert_ok(gf_tensor_new(&t, n, 1));
    assert_ok(gf_tensor_new(&x2, n, 2 * T));
    assert_ok(gf_tensor_new(&t2, n, 1));
    assert_ok(gf_data_adding(x, t, T, &r1));
    assert_ok(gf_data_adding(x2, t2, T, &r2));
    assert_memory_equal(x->data, x2->data, n * 2 * T * sizeof(gf_real));
    for (size_t r = 0; r < n; r++) {
        const gf_real *row = x->data + r * 2 * T;
        size_t first = 0, second = 0;
        double sum = 0;
        for (size_t s = 0; s < T; s++) {
            assert_true(row[2 * s] >= 0 && row[2 * s] < 1);
            assert_true(row[2 * s + 1] == 0 || row[2 * s + 1] == 1);
            if (row[2 * s + 1] == 1) {
                first += s < T / 2;
                second += s >= T / 2;
                sum += row[2 * s];
            }
        }
        assert_int_equal(first, 1);
        assert_int_equal(second, 1);
        assert_true(fabs((double)t->data[r] - sum) < 1e-6);
        mean += (double)t->data[r] / (double)n;
    }
    for (size_t r = 0; r < n; r++)
        var += ((double)t->data[r] - mean) * ((double)t->data[r] - mean) / (double)n;
    assert_true(fabs(mean - 1) < 0.03);
    assert_true(fabs(var - 1.0 / 6) < 0.015);
    /* Bad arguments write nothing: a shape that does not match, one step. */
    assert_status(gf_data_adding(x, t, T + 1, &r1), GF_ESHAPE);
    assert_status(gf_data_adding(x, t2, 1, &r1), GF_EINVAL);
    assert_status(gf_data_adding(NULL, t, T, &r1), GF_EINVAL);
    gf_tensor_free(x);
    gf_tensor_free(t);
    gf_tensor_free(x2);
    gf_tensor_free(t2);
}

void synthetic_gauss_moments(void **state)
{
    gf_dataset *d = NULL;
    gf_rng rng;
    double s = 0, ss = 0;
    size_t n;
    (void)state;
    gf_rng_seed(&rng, 3);
    assert_ok(gf_data_synthetic(&d, "gauss", 20000, 4, 2, &rng));
    n = gf_tensor_size(d->x);
    for (size_t i = 0; i < n; i++) {
        s += (double)d->x->data[i];
        ss += (double)d->x->data[i] * (double)d->x->data[i];
    }
    /* 80,000 N(0,1) draws: the mean's sd is 0.0035 and the variance's 0.005; 5 sigma. */
    assert_near(s / (double)n, 0.0, 0.018, 0);
    assert_near(ss / (double)n, 1.0, 0.025, 0);
    gf_dataset_free(d);
}

void synthetic_bad(void **state)
{
    gf_dataset *d = (gf_dataset *)&d;
    gf_rng rng;
    (void)state;
    gf_rng_seed(&rng, 1);
    assert_status(gf_data_synthetic(&d, "circles", 10, 0, 0, &rng), GF_ENOTFOUND);
    assert_error_mentions("circles");
    assert_null(d);
    assert_status(gf_data_synthetic(&d, "xor", 0, 0, 0, &rng), GF_EINVAL);
    assert_status(gf_data_synthetic(&d, "xor", 10, 3, 0, &rng), GF_EINVAL);
    assert_status(gf_data_synthetic(&d, "moons", 10, 0, 5, &rng), GF_EINVAL);
    assert_status(gf_data_synthetic(&d, "gauss", 10, 0, 1, &rng), GF_EINVAL);
    assert_status(gf_data_synthetic(&d, "gauss", 10, 1, 0, &rng), GF_EINVAL);
    assert_status(gf_data_synthetic(&d, "gauss", (size_t)1 << 40, 1 << 20, 1, &rng),
                  GF_EINVAL);
    assert_status(gf_data_synthetic(&d, NULL, 10, 0, 0, &rng), GF_EINVAL);
    assert_status(gf_data_synthetic(&d, "xor", 10, 0, 0, NULL), GF_EINVAL);
    assert_status(gf_data_synthetic(NULL, "xor", 10, 0, 0, &rng), GF_EINVAL);
    assert_null(d);
    /* in and out_dim 2 are accepted for the 2-D sets. */
    assert_ok(gf_data_synthetic(&d, "spirals", 10, 2, 2, &rng));
    gf_dataset_free(d);
}

/* ---- Split, slice, standardise --------------------------------------------------------- */

/* n rows with x = (i, -i), y = i % 3: every row identifies itself. */
gf_dataset *numbered(size_t n, const char *name)
{
    gf_dataset *d = NULL;
    assert_ok(gf_dataset_new(&d, n, 2, 1, 3, name));
    for (size_t i = 0; i < n; i++) {
        d->x->data[2 * i] = (gf_real)i;
        d->x->data[2 * i + 1] = -(gf_real)i;
        d->y->data[i] = (gf_real)(i % 3);
    }
    return d;
}

void split_sizes_disjoint(void **state)
{
    gf_dataset *all = numbered(101, "num"), *tr = NULL, *te = NULL, *tr2 = NULL, *te2 = NULL;
    int seen[101] = {0};
    gf_rng r1, r2;
    (void)state;
    gf_rng_seed(&r1, 11);
    gf_rng_seed(&r2, 11);
    assert_ok(gf_data_split(&tr, &te, all, 0.2, &r1));
    assert_int_equal(gf_dataset_rows(te), 20); /* round(101 * 0.2) = round(20.2) */
    assert_int_equal(gf_dataset_rows(tr), 81);
    assert_string_equal(tr->name, "num-train");
    assert_string_equal(te->name, "num-test");
    assert_int_equal(tr->n_classes, 3);
    for (int s = 0; s < 2; s++) {
        const gf_dataset *d = s == 0 ? tr : te;
        for (size_t r = 0; r < gf_dataset_rows(d); r++) {
            size_t i = (size_t)d->x->data[2 * r];
            assert_true(i < 101);
            assert_true(d->x->data[2 * r + 1] == -(gf_real)i); /* rows copied whole */
            assert_true(d->y->data[r] == (gf_real)(i % 3));
            seen[i]++;
        }
    }
    for (int i = 0; i < 101; i++)
        assert_int_equal(seen[i], 1); /* disjoint, and together the whole set */
    /* Shuffled, not the first or last rows in order. */
    {
        int in_order = 1;
        for (size_t r = 1; r < 20; r++)
            in_order &= te->x->data[2 * r] > te->x->data[2 * r - 2];
        assert_false(in_order);
    }
    /* Seeded: the same split again. */
    assert_ok(gf_data_split(&tr2, &te2, all, 0.2, &r2));
    assert_memory_equal(te->x->data, te2->x->data, 40 * sizeof(gf_real));
    assert_memory_equal(tr->x->data, tr2->x->data, 162 * sizeof(gf_real));
    gf_dataset_free(tr);
    gf_dataset_free(te);
    gf_dataset_free(tr2);
    gf_dataset_free(te2);

    /* Bad fractions and sets that would leave one side empty. */
    tr = te = (gf_dataset *)&tr;
    assert_status(gf_data_split(&tr, &te, all, 0.0, &r1), GF_EINVAL);
    assert_null(tr);
    assert_null(te);
    assert_status(gf_data_split(&tr, &te, all, 1.0, &r1), GF_EINVAL);
    assert_status(gf_data_split(&tr, &te, all, -0.1, &r1), GF_EINVAL);
    assert_status(gf_data_split(&tr, &te, all, NAN, &r1), GF_EINVAL);
    assert_status(gf_data_split(&tr, &te, all, 0.001, &r1), GF_EINVAL); /* 0 test rows */
    assert_error_mentions("0 test");
    assert_status(gf_data_split(&tr, &te, all, 0.999, &r1), GF_EINVAL); /* 0 train rows */
    assert_status(gf_data_split(&tr, &te, NULL, 0.2, &r1), GF_EINVAL);
    assert_status(gf_data_split(&tr, &te, all, 0.2, NULL), GF_EINVAL);
    assert_status(gf_data_split(NULL, &te, all, 0.2, &r1), GF_EINVAL);
    gf_dataset_free(all);

    /* A long name keeps its suffix. */
    all = numbered(4, "a-very-long-data-set-name-that-fills-the-whole-sixty-four-bytes..");
    assert_int_equal(strlen(all->name), 63);
    assert_ok(gf_data_split(&tr, &te, all, 0.5, &r1));
    assert_int_equal(strlen(tr->name), 63);
    assert_non_null(strstr(tr->name, "-train"));
    assert_non_null(strstr(te->name, "-test"));
    gf_dataset_free(tr);
    gf_dataset_free(te);
    gf_dataset_free(all);
}

void slice_rows(void **state)
{
    gf_dataset *all = numbered(10, "num"), *s = NULL;
    (void)state;
    assert_ok(gf_data_slice(&s, all, 3, 4));
    assert_int_equal(gf_dataset_rows(s), 4);
    assert_true(s->x->data[0] == 3 && s->x->data[7] == -6);
    assert_true(s->y->data[3] == 0); /* row 6 */
    assert_int_equal(s->n_classes, 3);
    gf_dataset_free(s);
    assert_ok(gf_data_slice(&s, all, 0, 10));
    gf_dataset_free(s);
    s = (gf_dataset *)&s;
    assert_status(gf_data_slice(&s, all, 8, 3), GF_EINVAL);
    assert_null(s);
    assert_status(gf_data_slice(&s, all, 0, 0), GF_EINVAL);
    assert_status(gf_data_slice(&s, all, 11, 0), GF_EINVAL);
    assert_status(gf_data_slice(&s, all, 5, (size_t)-1), GF_EINVAL);
    assert_status(gf_data_slice(&s, NULL, 0, 1), GF_EINVAL);
    gf_dataset_free(all);
}

void standardize_from_train(void **state)
{
    gf_dataset *tr = NULL, *te = NULL;
    (void)state;
    /* Feature 0: 1, 2, 3, 4 (mean 2.5, population sd sqrt(1.25)); feature 1: constant 7. */
    assert_ok(gf_dataset_new(&tr, 4, 2, 1, 2, "tr"));
    assert_ok(gf_dataset_new(&te, 2, 2, 1, 2, "te"));
    for (int i = 0; i < 4; i++) {
        tr->x->data[2 * i] = (gf_real)(i + 1);
        tr->x->data[2 * i + 1] = 7;
    }
    te->x->data[0] = 5, te->x->data[1] = 8, te->x->data[2] = 2.5, te->x->data[3] = 7;
    assert_ok(gf_data_standardize(tr, te));
    {
        double m = 0, v = 0;
        for (int i = 0; i < 4; i++)
            m += (double)tr->x->data[2 * i] / 4;
        for (int i = 0; i < 4; i++)
            v += ((double)tr->x->data[2 * i] - m) * ((double)tr->x->data[2 * i] - m) / 4;
        assert_near(m, 0, 1e-6, 0);
        assert_near(v, 1, 1e-6, 1e-6);
    }
    assert_near(tr->x->data[0], (1 - 2.5) / sqrt(1.25), 1e-6, 1e-6);
    assert_true(tr->x->data[1] == 0); /* constant: centred, not divided by 0 */
    /* The test set uses the training statistics. */
    assert_near(te->x->data[0], (5 - 2.5) / sqrt(1.25), 1e-6, 1e-6);
    assert_near(te->x->data[1], 1, 1e-6, 0);
    assert_near(te->x->data[2], 0, 1e-6, 0);
    /* Test may be NULL; shapes must agree. */
    assert_ok(gf_data_standardize(te, NULL));
    gf_dataset_free(te);
    assert_ok(gf_dataset_new(&te, 2, 3, 1, 2, "te3"));
    assert_status(gf_data_standardize(tr, te), GF_ESHAPE);
    assert_status(gf_data_standardize(NULL, te), GF_EINVAL);
    tr->x->data[3] = NAN;
    assert_status(gf_data_standardize(tr, NULL), GF_ENONFINITE);
    gf_dataset_free(tr);
    gf_dataset_free(te);
}

void dataset_new_checks(void **state)
{
    gf_dataset *d = (gf_dataset *)&d;
    (void)state;
    assert_status(gf_dataset_new(&d, 0, 2, 1, 0, "x"), GF_EINVAL);
    assert_null(d);
    assert_status(gf_dataset_new(&d, 2, 0, 1, 0, "x"), GF_EINVAL);
    assert_status(gf_dataset_new(&d, 2, 2, 0, 0, "x"), GF_EINVAL);
    assert_status(gf_dataset_new(&d, 2, 2, 3, 4, "x"), GF_EINVAL); /* classes need 1 col */
    assert_status(gf_dataset_new(NULL, 2, 2, 1, 0, "x"), GF_EINVAL);
    assert_ok(gf_dataset_new(&d, 2, 2, 3, 0, NULL));
    assert_string_equal(d->name, "");
    assert_true(d->x->data[3] == 0 && d->y->data[5] == 0); /* zeroed */
    gf_dataset_free(d);
    gf_dataset_free(NULL);
    assert_int_equal(gf_dataset_rows(NULL), 0);
}

/* ---- Batcher ----------------------------------------------------------------------------- */

/* Run `epochs` epochs of a batcher over numbered(n), recording the order of rows. */
static void run_epochs(size_t n, size_t batch, uint64_t seed, int epochs, size_t *order)
{
    gf_dataset *d = numbered(n, "num");
    gf_batcher *b = NULL;
    gf_tensor *x = tu_tensor(1, 2), *y = tu_tensor(1, 1);
    gf_rng rng;
    size_t per, k = 0;
    gf_rng_seed(&rng, seed);
    assert_ok(gf_batcher_new(&b, d, batch, &rng));
    per = gf_batcher_batches_per_epoch(b);
    assert_int_equal(per, (n + batch - 1) / batch);
    assert_int_equal(gf_batcher_epoch(b), 0);
    for (int e = 0; e < epochs; e++) {
        int *seen = calloc(n, sizeof *seen);
        size_t rows = 0;
        assert_non_null(seen);
        for (size_t i = 0; i < per; i++) {
            int fresh = -1;
            size_t want = i + 1 < per ? batch : n - batch * (per - 1);
            assert_ok(gf_batcher_next(b, x, y, &fresh));
            assert_int_equal(fresh, i == 0);
            assert_int_equal(gf_batcher_epoch(b), (size_t)e);
            assert_int_equal(x->rows, want); /* the last batch holds the rest */
            assert_int_equal(y->rows, want);
            for (size_t r = 0; r < x->rows; r++) {
                size_t row = (size_t)x->data[2 * r];
                assert_true(row < n);
                assert_true(x->data[2 * r + 1] == -(gf_real)row);
                assert_true(y->data[r] == (gf_real)(row % 3));
                seen[row]++;
                order[k++] = row;
            }
            rows += x->rows;
        }
        assert_int_equal(rows, n);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(seen[i], 1); /* every row exactly once per epoch */
        free(seen);
    }
    gf_batcher_free(b);
    gf_tensor_free(x);
    gf_tensor_free(y);
    gf_dataset_free(d);
}

void batcher_epochs(void **state)
{
    size_t a[3 * 50], b[3 * 50], c[3 * 50];
    (void)state;
    run_epochs(50, 7, 5, 3, a); /* 7 batches of 7, then 1 */
    run_epochs(50, 7, 5, 3, b);
    run_epochs(50, 7, 6, 3, c);
    /* Deterministic for a seed; reshuffled every epoch; another seed, another order. */
    assert_memory_equal(a, b, sizeof a);
    assert_true(memcmp(a, a + 50, 50 * sizeof a[0]) != 0);
    assert_true(memcmp(a + 50, a + 100, 50 * sizeof a[0]) != 0);
    assert_true(memcmp(a, c, sizeof a) != 0);
    run_epochs(10, 10, 1, 2, a); /* one batch per epoch */
    run_epochs(10, 1, 1, 2, a);  /* batches of one row */
    run_epochs(9, 3, 1, 2, a);   /* exact division */
}

void batcher_bad(void **state)
{
    gf_dataset *d = numbered(5, "num");
    gf_batcher *b = (gf_batcher *)&b;
    gf_tensor *x = tu_tensor(1, 2), *y = tu_tensor(1, 1), *x3 = tu_tensor(1, 3);
    gf_tensor view;
    gf_real data[2];
    gf_rng rng;
    int fresh;
    (void)state;
    gf_rng_seed(&rng, 1);
    assert_status(gf_batcher_new(&b, d, 0, &rng), GF_EINVAL);
    assert_null(b);
    assert_status(gf_batcher_new(&b, NULL, 2, &rng), GF_EINVAL);
    assert_status(gf_batcher_new(&b, d, 2, NULL), GF_EINVAL);
    assert_status(gf_batcher_new(NULL, d, 2, &rng), GF_EINVAL);
    /* A batch larger than the set is the whole set. */
    assert_ok(gf_batcher_new(&b, d, 100, &rng));
    assert_int_equal(gf_batcher_batches_per_epoch(b), 1);
    assert_ok(gf_batcher_next(b, x, y, NULL));
    assert_int_equal(x->rows, 5);
    assert_status(gf_batcher_next(b, x3, y, &fresh), GF_ESHAPE);
    assert_status(gf_batcher_next(b, y, x, &fresh), GF_ESHAPE);
    assert_status(gf_batcher_next(b, NULL, y, &fresh), GF_EINVAL);
    assert_status(gf_batcher_next(NULL, x, y, &fresh), GF_EINVAL);
    /* A view too small cannot grow: refused, and the batcher's state is unchanged. */
    view = gf_tensor_view(data, 1, 2);
    assert_status(gf_batcher_next(b, &view, y, &fresh), GF_EINVAL);
    assert_int_equal(gf_batcher_epoch(b), 0);
    assert_ok(gf_batcher_next(b, x, y, &fresh));
    assert_int_equal(fresh, 1);
    assert_int_equal(gf_batcher_epoch(b), 1);
    gf_batcher_free(b);
    gf_batcher_free(NULL);
    assert_int_equal(gf_batcher_batches_per_epoch(NULL), 0);
    assert_int_equal(gf_batcher_epoch(NULL), 0);
    gf_tensor_free(x);
    gf_tensor_free(y);
    gf_tensor_free(x3);
    gf_dataset_free(d);
}
