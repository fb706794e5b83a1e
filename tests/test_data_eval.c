/* tests/test_data_eval.c: the data module, part of test_data (tests/test_data.h):
 * evaluation against known values and after training on the digits, and allocation
 * failures in every loader. */
#define _POSIX_C_SOURCE 200809L /* setenv, mkdir */

#include "test_data.h"

/* ---- Evaluation -------------------------------------------------------------------------- */

/* A network computing y = x exactly (one 2 -> 2 linear layer, W = I, b = 0). */
static gf_net *identity_net(void)
{
    gf_net *net = NULL;
    gf_real *p;
    assert_ok(gf_net_new(&net, 2));
    assert_ok(gf_net_add_linear(net, 2));
    assert_int_equal(gf_net_param_count(net), 6);
    p = gf_net_params_mut(net); /* W (2, 2) row-major, then b (1, 2) */
    p[0] = 1, p[1] = 0, p[2] = 0, p[3] = 1, p[4] = 0, p[5] = 0;
    return net;
}

void evaluate_known_values(void **state)
{
    gf_net *net = identity_net();
    gf_dataset *d = NULL;
    double loss = 0, acc = 0, want_loss = 0;
    size_t correct = 0;
    gf_rng rng;
    (void)state;
    gf_rng_seed(&rng, 9);
    assert_ok(gf_dataset_new(&d, 11, 2, 1, 2, "eval"));
    for (size_t i = 0; i < 11; i++) {
        double a = gf_rng_uniform(&rng) * 4 - 2, b = gf_rng_uniform(&rng) * 4 - 2;
        size_t c = i % 2;
        d->x->data[2 * i] = (gf_real)a;
        d->x->data[2 * i + 1] = (gf_real)b;
        d->y->data[i] = (gf_real)c;
        a = (double)d->x->data[2 * i];
        b = (double)d->x->data[2 * i + 1];
        /* Cross-entropy of logits (a, b): log(e^a + e^b) - logit of the class. */
        want_loss += log(exp(a) + exp(b)) - (c == 0 ? a : b);
        correct += (a > b) == (c == 0);
    }
    want_loss /= 11;
    /* Batches of 4 (4 + 4 + 3 rows): the mean over rows, not over batches. */
    for (size_t batch = 1; batch <= 12; batch += 3) {
        assert_ok(gf_evaluate(net, &loss, &acc, d, GF_LOSS_SOFTMAX_CE, batch));
        assert_near(loss, want_loss, 1e-6, 1e-5);
        assert_near(acc, (double)correct / 11, 1e-12, 0);
    }
    assert_true(correct > 0 && correct < 11); /* a non-trivial accuracy was checked */
    assert_ok(gf_evaluate(net, NULL, &acc, d, GF_LOSS_SOFTMAX_CE, 4));
    assert_ok(gf_evaluate(net, &loss, NULL, d, GF_LOSS_SOFTMAX_CE, 4));
    /* No telemetry is recorded by evaluation. */
    assert_int_equal(gf_telemetry_count(gf_net_telemetry(net)), 0);
    assert_int_equal(gf_net_step_count(net), 0);
    gf_dataset_free(d);

    /* Regression: MSE, accuracy NaN. y = x against target (x0 + 1, x1): MSE = 1/2. */
    assert_ok(gf_dataset_new(&d, 5, 2, 2, 0, "reg"));
    for (size_t i = 0; i < 10; i++)
        d->x->data[i] = (gf_real)(0.25 * (double)i);
    for (size_t i = 0; i < 5; i++) {
        d->y->data[2 * i] = d->x->data[2 * i] + 1;
        d->y->data[2 * i + 1] = d->x->data[2 * i + 1];
    }
    assert_ok(gf_evaluate(net, &loss, &acc, d, GF_LOSS_MSE, 2));
    assert_near(loss, 0.5, 1e-6, 1e-6);
    assert_true(isnan(acc));

    /* Errors: batch 0, bad loss, shape mismatch, NULLs; outputs NaN on failure. */
    assert_status(gf_evaluate(net, &loss, &acc, d, GF_LOSS_MSE, 0), GF_EINVAL);
    assert_true(isnan(loss));
    assert_status(gf_evaluate(net, &loss, &acc, d, GF_LOSS_COUNT, 2), GF_EINVAL);
    assert_status(gf_evaluate(NULL, &loss, &acc, d, GF_LOSS_MSE, 2), GF_EINVAL);
    assert_status(gf_evaluate(net, &loss, &acc, NULL, GF_LOSS_MSE, 2), GF_EINVAL);
    gf_dataset_free(d);
    assert_ok(gf_dataset_new(&d, 3, 5, 1, 2, "wide"));
    assert_status(gf_evaluate(net, &loss, &acc, d, GF_LOSS_SOFTMAX_CE, 2), GF_ESHAPE);
    gf_dataset_free(d);
    gf_net_free(net);
}

/* A short training run through the batcher lifts digits' accuracy far above chance, and
 * gf_evaluate agrees with the accuracy of one full forward pass. */
void evaluate_after_training_digits(void **state)
{
    gf_dataset *all = NULL, *tr = NULL, *te = NULL;
    gf_mlp_spec spec = {.in = 64, .width = 32, .depth = 2, .out = 10, .act = "relu",
                        .act_param = NAN};
    gf_optim_config cfg = gf_optim_default(GF_OPTIM_ADAM);
    gf_net *net = NULL;
    gf_optim *opt = NULL;
    gf_batcher *b = NULL;
    gf_tensor *x = tu_tensor(1, 64), *y = tu_tensor(1, 1);
    double acc0 = 0, acc = 0, loss = 0, full = 0;
    const gf_tensor *out;
    gf_rng rng;
    (void)state;
    gf_rng_seed(&rng, 2024);
    assert_ok(gf_data_digits(&all));
    assert_ok(gf_data_split(&tr, &te, all, 0.25, &rng));
    assert_ok(gf_net_new_mlp(&net, &spec, &rng));
    cfg.lr = 0.01;
    assert_ok(gf_optim_new(&opt, &cfg, gf_net_param_count(net)));
    assert_ok(gf_evaluate(net, &loss, &acc0, te, GF_LOSS_SOFTMAX_CE, 100));
    assert_ok(gf_batcher_new(&b, tr, 32, &rng));
    for (size_t i = 0; i < 3 * gf_batcher_batches_per_epoch(b); i++) {
        assert_ok(gf_batcher_next(b, x, y, NULL));
        assert_ok(gf_net_train_step(net, NULL, x, y, opt, GF_LOSS_SOFTMAX_CE, NULL));
    }
    assert_ok(gf_evaluate(net, &loss, &acc, te, GF_LOSS_SOFTMAX_CE, 64));
    assert_ok(gf_net_predict(net, &out, te->x));
    assert_ok(gf_accuracy(&full, out, te->y));
    assert_near(acc, full, 1e-12, 0);
    /* Three epochs of a small MLP on 8x8 digits: well above 0.85 (chance is 0.1). */
    assert_true(acc > 0.85);
    assert_true(acc > acc0 + 0.5);
    assert_true(loss < 0.6);
    gf_batcher_free(b);
    gf_optim_free(opt);
    gf_net_free(net);
    gf_tensor_free(x);
    gf_tensor_free(y);
    gf_dataset_free(all);
    gf_dataset_free(tr);
    gf_dataset_free(te);
}

/* ---- Allocation failures ------------------------------------------------------------------ */

/* Make the k-th allocation fail for k = 1, 2, ... until the call succeeds: every failure
 * is GF_ENOMEM with a message and nothing leaks. */
#define FOR_EACH_ALLOC_FAILURE(call, cleanup)                                                \
    do {                                                                                   \
        for (long k_ = 1;; k_++) {                                                         \
            gf_status st_;                                                                 \
            tu_alloc_install(k_);                                                          \
            gf_clear_error();                                                              \
            st_ = (call);                                                                  \
            if (st_ == GF_OK) {                                                            \
                cleanup;                                                                   \
                assert_int_equal(tu_alloc_live(), 0);                                      \
                tu_alloc_uninstall();                                                      \
                assert_true(k_ > 1);                                                       \
                break;                                                                     \
            }                                                                              \
            assert_int_equal(st_, GF_ENOMEM);                                              \
            assert_true(gf_last_error()[0] != '\0');                                       \
            assert_int_equal(tu_alloc_live(), 0);                                          \
            tu_alloc_uninstall();                                                          \
            assert_true(k_ < 1000);                                                        \
        }                                                                                  \
    } while (0)

void allocation_failures(void **state)
{
    unsigned char img[256], lab[64];
    gf_dataset *d = NULL, *tr = NULL, *te = NULL, *all;
    gf_batcher *b = NULL;
    gf_rng rng;
    (void)state;
    write_bytes(path_of("af-img"), img, idx_images(img, 5, 3, 2));
    write_bytes(path_of("af-lab"), lab, idx_labels(lab, 5, LABELS5));
    write_text(path_of("af.csv"), "a,b,c\n1,2,0\n3,4,1\n");
    FOR_EACH_ALLOC_FAILURE(gf_data_digits(&d), gf_dataset_free(d));
    FOR_EACH_ALLOC_FAILURE(gf_data_idx(&d, path_of("af-img"), path_of("af-lab")),
                           gf_dataset_free(d));
    FOR_EACH_ALLOC_FAILURE(gf_data_csv(&d, path_of("af.csv"), NULL), gf_dataset_free(d));
#if GF_TEST_HAVE_ZLIB
    /* zlib's own allocations go through gf_alloc too. */
    write_gz(path_of("af-img.gz"), img, idx_images(img, 5, 3, 2));
    FOR_EACH_ALLOC_FAILURE(gf_data_idx(&d, path_of("af-img.gz"), path_of("af-lab")),
                           gf_dataset_free(d));
#endif
    gf_rng_seed(&rng, 1);
    FOR_EACH_ALLOC_FAILURE(gf_data_synthetic(&d, "moons", 10, 0, 0, &rng), gf_dataset_free(d));
    /* The source set comes from the default allocator and is only read under the
     * counting one (then freed after it is uninstalled). */
    all = numbered(10, "num");
    FOR_EACH_ALLOC_FAILURE(gf_data_split(&tr, &te, all, 0.3, &rng),
                           (gf_dataset_free(tr), gf_dataset_free(te)));
    FOR_EACH_ALLOC_FAILURE(gf_data_slice(&d, all, 2, 3), gf_dataset_free(d));
    FOR_EACH_ALLOC_FAILURE(gf_batcher_new(&b, all, 3, &rng), gf_batcher_free(b));
    gf_dataset_free(all);
}
