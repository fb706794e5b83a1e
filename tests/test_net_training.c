/* tests/test_net_training.c: the network and its engine, part of test_net
 * (tests/test_net.h): training, telemetry recorded on every backward pass, clipping and
 * update ratios, non-finite detection, allocation-free steady steps, and the engine's
 * fast variants (the update that measures itself, records taken during the backward
 * pass) against their references. */
#include "test_net.h"

/* ---- Training and telemetry ------------------------------------------------------ */

void training_reduces_the_loss(void **state)
{
    gf_net *net = mlp(2, 16, 3, 2, "tanh", 5);
    gf_optim *opt = NULL;
    gf_optim_config cfg = gf_optim_default(GF_OPTIM_ADAM);
    /* XOR: four points, two classes. */
    gf_real xs[] = {0, 0, 0, 1, 1, 0, 1, 1};
    gf_real ts[] = {0, 1, 1, 0};
    gf_tensor *x = NULL, *t = NULL;
    double first = 0, last = 0;
    (void)state;
    cfg.lr = 0.02;
    assert_ok(gf_tensor_from_array(&x, xs, 4, 2));
    assert_ok(gf_tensor_from_array(&t, ts, 4, 1));
    assert_ok(gf_optim_new(&opt, &cfg, gf_net_param_count(net)));
    for (int s = 0; s < 300; s++) {
        assert_ok(gf_net_train_step(net, &last, x, t, opt, GF_LOSS_SOFTMAX_CE, NULL));
        if (s == 0)
            first = last;
    }
    assert_true(first > 0.5);
    assert_true(last < 0.05);
    const gf_tensor *y = NULL;
    double acc = 0;
    assert_ok(gf_net_predict(net, &y, x));
    assert_ok(gf_accuracy(&acc, y, t));
    assert_close(acc, 1.0);
    assert_int_equal(gf_net_step_count(net), 300);
    gf_optim_free(opt);
    gf_tensor_free(x);
    gf_tensor_free(t);
    gf_net_free(net);
}

void every_backward_pass_records_every_layer(void **state)
{
    gf_net *net = mlp(3, 4, 3, 2, "relu", 9);
    gf_tensor *x = random_tensor(8, 3, 1), *t = random_tensor(8, 2, 2);
    gf_optim *opt = NULL;
    gf_optim_config cfg = gf_optim_default(GF_OPTIM_SGD);
    const gf_record *recs = NULL;
    size_t n = 0;
    double loss = 0;
    (void)state;
    cfg.lr = 0.1;
    assert_ok(gf_optim_new(&opt, &cfg, gf_net_param_count(net)));
    assert_status(gf_net_last_records(net, &recs, &n), GF_ESTATE);
    assert_ok(gf_net_forward(net, NULL, x));
    assert_ok(gf_net_loss(net, &loss, t, GF_LOSS_MSE));
    assert_ok(gf_net_backward(net));
    assert_ok(gf_net_last_records(net, &recs, &n));
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++) {
        const gf_record *r = &recs[i];
        gf_layer *l = gf_net_layer_mut(net, i);
        assert_int_equal(r->step, 0);
        assert_int_equal(r->layer, i);
        assert_close(r->loss, loss);
        /* The norms are those of the engine's own buffers. */
        assert_close(r->grad_out_norm, gf_tensor_norm2(gf_net_activation_grad(net, i + 1)));
        assert_close(r->grad_in_norm, gf_tensor_norm2(gf_net_activation_grad(net, i)));
        const gf_tensor *y = gf_net_activation(net, i + 1);
        assert_close(r->act_mean, gf_tensor_sum(y) / (double)gf_tensor_size(y));
        if (i % 2 == 0) {
            assert_string_equal(r->kind, "linear");
            assert_close(r->weight_grad_norm, gf_tensor_norm2(&l->dweight));
            assert_close(r->bias_grad_norm, gf_tensor_norm2(&l->dbias));
            assert_close(r->weight_norm, gf_tensor_norm2(&l->weight));
            assert_true(r->weight_grad_norm > 0);
            assert_true(isnan(r->deriv_abs_mean));
        } else {
            assert_string_equal(r->kind, "relu");
            assert_true(isnan(r->weight_grad_norm));
            assert_true(r->deriv_abs_mean >= 0 && r->deriv_abs_mean <= 1);
            assert_true(r->zero_frac > 0 && r->zero_frac < 1);
        }
        assert_true(isnan(r->update_ratio));
        assert_int_equal(r->nonfinite_fwd + r->nonfinite_bwd, 0);
    }
    /* The step amends this step's records with the update ratio: for SGD it is exactly
     * lr ||dL/dW|| / ||W||. */
    assert_ok(gf_net_step(net, opt));
    for (size_t i = 0; i < n; i += 2)
        assert_near(recs[i].update_ratio, 0.1 * recs[i].weight_grad_norm / recs[i].weight_norm,
                    0, 1e-5);
    /* Further steps append; record_every thins them out. */
    for (int s = 1; s < 10; s++)
        assert_ok(gf_net_train_step(net, NULL, x, t, opt, GF_LOSS_MSE, NULL));
    assert_int_equal(gf_telemetry_count(gf_net_telemetry(net)), 10 * 5);
    assert_ok(gf_net_set_record_every(net, 4));
    for (int s = 10; s < 20; s++)
        assert_ok(gf_net_train_step(net, NULL, x, t, opt, GF_LOSS_MSE, NULL));
    /* Steps 12, 16 of 10..19 are multiples of 4. */
    assert_int_equal(gf_telemetry_count(gf_net_telemetry(net)), 12 * 5);
    assert_non_null(gf_telemetry_find(gf_net_telemetry(net), 16, 3));
    assert_null(gf_telemetry_find(gf_net_telemetry(net), 17, 3));
    assert_int_equal(gf_net_step_count(net), 20);
    gf_optim_free(opt);
    gf_tensor_free(x);
    gf_tensor_free(t);
    gf_net_free(net);
}

/* The step adds the optimiser's update in place, in the pass that measures it: the
 * parameters end bit for bit where gf_optim_compute's delta puts them, the optimiser
 * advances one step, and the update ratio is ||delta W|| / ||W||. */
void the_step_applies_the_optimisers_update(void **state)
{
    gf_tensor *x = random_tensor(6, 3, 1), *t = random_tensor(6, 2, 2);
    (void)state;
    for (int kind = 0; kind < GF_OPTIM_COUNT; kind++) {
        gf_net *a = mlp(3, 5, 3, 2, "tanh", 9), *b = mlp(3, 5, 3, 2, "tanh", 9);
        gf_optim *oa = NULL, *ob = NULL;
        gf_optim_config cfg = gf_optim_default((gf_optim_kind)kind);
        size_t n = gf_net_param_count(a);
        gf_real *delta = test_malloc(n * sizeof *delta), *before = test_malloc(n * sizeof *before);
        const gf_record *recs = NULL;
        size_t count = 0;
        cfg.weight_decay = 0.01;
        assert_ok(gf_optim_new(&oa, &cfg, n));
        assert_ok(gf_optim_new(&ob, &cfg, n));
        assert_int_equal(gf_optim_param_count(oa), n);
        for (int s = 0; s < 3; s++) {
            assert_ok(gf_net_forward(a, NULL, x));
            assert_ok(gf_net_loss(a, NULL, t, GF_LOSS_MSE));
            assert_ok(gf_net_backward(a));
            memcpy(before, gf_net_params(a), n * sizeof *before);
            assert_ok(gf_net_step(a, oa));
            assert_ok(gf_net_last_records(a, &recs, &count));
            /* The reference: the public compute, added by hand. */
            assert_ok(gf_net_forward(b, NULL, x));
            assert_ok(gf_net_loss(b, NULL, t, GF_LOSS_MSE));
            assert_ok(gf_net_backward(b));
            assert_ok(gf_optim_compute(ob, delta, gf_net_params(b), gf_net_grads(b), n));
            for (size_t k = 0; k < n; k++)
                gf_net_params_mut(b)[k] += delta[k];
            assert_memory_equal(gf_net_params(a), gf_net_params(b), n * sizeof(gf_real));
            assert_int_equal(gf_optim_steps(oa), (uint64_t)s + 1);
            for (size_t i = 0; i < count; i += 2) {
                const gf_layer *l = gf_net_layer(a, i);
                size_t wn = l->weight.rows * l->weight.cols;
                double dw = gf_array_norm2(delta + l->param_offset, wn);
                assert_close(recs[i].update_ratio, dw / gf_array_norm2(before + l->param_offset, wn));
            }
        }
        /* An optimiser made for another block size is refused before anything moves. */
        gf_optim *wrong = NULL;
        assert_ok(gf_optim_new(&wrong, &cfg, n + 1));
        assert_ok(gf_net_forward(a, NULL, x));
        assert_ok(gf_net_loss(a, NULL, t, GF_LOSS_MSE));
        assert_ok(gf_net_backward(a));
        memcpy(before, gf_net_params(a), n * sizeof *before);
        assert_status(gf_net_step(a, wrong), GF_ESHAPE);
        assert_memory_equal(before, gf_net_params(a), n * sizeof(gf_real));
        assert_int_equal(gf_optim_steps(wrong), 0);
        gf_optim_free(wrong);
        test_free(delta);
        test_free(before);
        gf_optim_free(oa);
        gf_optim_free(ob);
        gf_net_free(a);
        gf_net_free(b);
    }
    gf_tensor_free(x);
    gf_tensor_free(t);
}

/* A vanishing update still has its true size: in the double build the squares of
 * updates near 1e-170 underflow, and the ratio must not read as 0. */
void a_tiny_update_keeps_its_ratio(void **state)
{
#if GF_REAL_IS_DOUBLE
    const double tiny = 1e-170;
#else
    const double tiny = 1e-30;
#endif
    gf_net *net = NULL;
    gf_optim *opt = NULL;
    gf_optim_config cfg = gf_optim_default(GF_OPTIM_SGD);
    gf_tensor *x = random_tensor(4, 3, 1), *dy = random_tensor(4, 2, 2);
    const gf_record *recs = NULL;
    size_t count = 0;
    (void)state;
    cfg.lr = 0.5;
    assert_ok(gf_net_new(&net, 3));
    assert_ok(gf_net_add_linear(net, 2));
    for (size_t k = 0; k < gf_net_param_count(net); k++)
        gf_net_params_mut(net)[k] = (gf_real)(0.1 * (double)(k + 1));
    for (size_t k = 0; k < 8; k++)
        dy->data[k] = (gf_real)(tiny * (double)dy->data[k]);
    assert_ok(gf_optim_new(&opt, &cfg, gf_net_param_count(net)));
    assert_ok(gf_net_forward(net, NULL, x));
    assert_ok(gf_net_backward_from(net, dy));
    assert_ok(gf_net_last_records(net, &recs, &count));
    assert_true(recs[0].weight_grad_norm > 0 && recs[0].weight_grad_norm < 1e3 * tiny);
    assert_ok(gf_net_step(net, opt));
    assert_near(recs[0].update_ratio, 0.5 * recs[0].weight_grad_norm / recs[0].weight_norm, 0,
                1e-6);
    gf_optim_free(opt);
    gf_net_free(net);
    gf_tensor_free(x);
    gf_tensor_free(dy);
}

/* gf_net_train_step's records must say what backward + clip + step say, for every
 * optimiser, and a step that never updates (refused or skipped gradients) must still
 * record ||W||. */
static void assert_same_record(const gf_record *a, const gf_record *b);

/* Width 520: hidden layers of 270400 weights, whose ||W|| the fast path of
 * gf_net_train_step takes in the update (more than 2^18 weights, net.c), in several
 * pieces (GF_STATS_CHUNK); width 5: in the record. */
void train_step_records_what_separate_calls_record(void **state)
{
    gf_tensor *x = random_tensor(6, 3, 1), *t = random_tensor(6, 2, 2);
    gf_clip clip = {GF_CLIP_NORM, 0.5};
    (void)state;
    for (int run = 0; run < 2 * GF_OPTIM_COUNT; run++) {
        int kind = run % GF_OPTIM_COUNT;
        size_t width = run < GF_OPTIM_COUNT ? 5 : 520;
        gf_net *a = mlp(3, width, 3, 2, "relu", 9), *b = mlp(3, width, 3, 2, "relu", 9);
        gf_optim *oa = NULL, *ob = NULL;
        gf_optim_config cfg = gf_optim_default((gf_optim_kind)kind);
        size_t n = gf_net_param_count(a), ca = 0, cb = 0;
        const gf_record *ra = NULL, *rb = NULL;
        assert_ok(gf_optim_new(&oa, &cfg, n));
        assert_ok(gf_optim_new(&ob, &cfg, n));
        for (int s = 0; s < 3; s++) {
            assert_ok(gf_net_train_step(a, NULL, x, t, oa, GF_LOSS_MSE, &clip));
            assert_ok(gf_net_forward(b, NULL, x));
            assert_ok(gf_net_loss(b, NULL, t, GF_LOSS_MSE));
            assert_ok(gf_net_backward(b));
            assert_ok(gf_net_clip(b, NULL, &clip));
            assert_ok(gf_net_step(b, ob));
            assert_memory_equal(gf_net_params(a), gf_net_params(b), n * sizeof(gf_real));
            assert_ok(gf_net_last_records(a, &ra, &ca));
            assert_ok(gf_net_last_records(b, &rb, &cb));
            assert_int_equal(ca, cb);
            for (size_t i = 0; i < ca; i++) {
                /* Bit for bit, ||W|| and the update ratio too (taken in the update by a). */
                assert_same_record(&ra[i], &rb[i]);
                assert_true(isnan(rb[i].weight_norm) || rb[i].weight_norm > 0.1);
                assert_true(isnan(rb[i].weight_norm) == isnan(rb[i].update_ratio));
            }
        }
        /* Gradients refused, then skipped: no update, and ||W|| recorded all the same. */
        gf_net_layer(a, 2)->weight.data[0] = (gf_real)INFINITY;
        for (int skip = 0; skip < 2; skip++) {
            gf_net_set_skip_nonfinite(a, skip);
            assert_status(gf_net_train_step(a, NULL, x, t, oa, GF_LOSS_MSE, NULL),
                          skip ? GF_OK : GF_ENONFINITE);
            assert_ok(gf_net_last_records(a, &ra, &ca));
            assert_true(isinf(ra[2].weight_norm));
            for (size_t i = 0; i < ca; i += 2) /* the linear layers: weights unchanged */
                assert_true(i == 2 ||
                            ra[i].weight_norm == gf_tensor_norm2(&gf_net_layer(a, i)->weight));
        }
        gf_optim_free(oa);
        gf_optim_free(ob);
        gf_net_free(a);
        gf_net_free(b);
    }
    gf_tensor_free(x);
    gf_tensor_free(t);
}

void clipping_is_recorded_before_and_after(void **state)
{
    gf_net *net = mlp(3, 8, 3, 2, "tanh", 4);
    gf_tensor *x = random_tensor(6, 3, 1), *t = random_tensor(6, 2, 2);
    const gf_record *recs = NULL;
    size_t n = 0;
    double before = 0;
    (void)state;
    for (int kind = GF_CLIP_VALUE; kind < GF_CLIP_COUNT; kind++) {
        gf_clip clip = {(gf_clip_kind)kind, 1e-3};
        assert_ok(gf_net_forward(net, NULL, x));
        assert_ok(gf_net_loss(net, NULL, t, GF_LOSS_MSE));
        assert_ok(gf_net_backward(net));
        double g = gf_array_norm2(gf_net_grads(net), gf_net_param_count(net));
        assert_ok(gf_net_clip(net, &before, &clip));
        assert_close(before, g);
        assert_ok(gf_net_last_records(net, &recs, &n));
        double after_sq = 0;
        for (size_t i = 0; i < n; i += 2) {
            assert_true(recs[i].clip_pre_norm > recs[i].clip_post_norm);
            if (kind == GF_CLIP_NORM)
                assert_near(recs[i].clip_post_norm, 1e-3, 0, 1e-4);
            if (kind == GF_CLIP_VALUE)
                assert_true(gf_tensor_norm_max(&gf_net_layer(net, i)->dweight) <= (gf_real)1e-3);
            after_sq += recs[i].clip_post_norm * recs[i].clip_post_norm;
        }
        if (kind == GF_CLIP_GLOBAL_NORM)
            assert_near(sqrt(after_sq), 1e-3, 0, 1e-4);
        assert_true(isnan(recs[1].clip_pre_norm)); /* no parameters, nothing clipped */
    }
    gf_tensor_free(x);
    gf_tensor_free(t);
    gf_net_free(net);
}

void nonfinite_values_are_located_and_stop_the_step(void **state)
{
    gf_net *net = mlp(3, 4, 3, 2, "tanh", 4);
    gf_tensor *x = random_tensor(4, 3, 1), *t = random_tensor(4, 2, 2);
    gf_optim *opt = NULL;
    gf_optim_config cfg = gf_optim_default(GF_OPTIM_SGD);
    const gf_record *recs = NULL;
    size_t n = 0;
    (void)state;
    assert_ok(gf_optim_new(&opt, &cfg, gf_net_param_count(net)));
    /* A huge weight in the third linear layer (network layer 4) overflows its output to
     * infinity (the linear layer's output is where it first appears). The message
     * numbers layers by depth, as the figures do: "layer 3 (linear)". */
    gf_layer *l4 = gf_net_layer_mut(net, 4);
    l4->weight.data[0] = (gf_real)INFINITY;
    assert_ok(gf_net_forward(net, NULL, x));
    assert_ok(gf_net_loss(net, NULL, t, GF_LOSS_MSE));
    assert_status(gf_net_backward(net), GF_ENONFINITE);
    assert_error_mentions("forward");
    assert_error_mentions("layer 3 (linear)");
    assert_error_mentions("step 0");
    assert_ok(gf_net_last_records(net, &recs, &n));
    assert_int_equal(recs[0].nonfinite_fwd, 0);
    assert_true(recs[4].nonfinite_fwd > 0);
    gf_real before = gf_net_layer(net, 0)->weight.data[0];
    assert_status(gf_net_step(net, opt), GF_ENONFINITE);
    assert_true(gf_net_layer(net, 0)->weight.data[0] == before);
    /* Skipping instead: the step is a no-op and training may go on. */
    gf_net_set_skip_nonfinite(net, 1);
    assert_ok(gf_net_train_step(net, NULL, x, t, opt, GF_LOSS_MSE, NULL));
    assert_true(gf_net_layer(net, 0)->weight.data[0] == before);
    /* Detected on steps that are not recorded too. */
    gf_net_set_skip_nonfinite(net, 0);
    assert_ok(gf_net_set_record_every(net, 1000));
    assert_status(gf_net_train_step(net, NULL, x, t, opt, GF_LOSS_MSE, NULL), GF_ENONFINITE);
    assert_error_mentions("layer 3 (linear)");
    gf_optim_free(opt);
    gf_tensor_free(x);
    gf_tensor_free(t);
    gf_net_free(net);
}

/* ---- Fast variants against their references ---------------------------------------- */

/* gf_optim_update (fast/update.c when GF_FAST) against gf_optim_update_ref (measure, then
 * update): parameters and state bit for bit, since both run the same rule on each
 * element; ||delta|| within 1e-12 relative, since only the order of the double sums
 * differs (a few ulps per addition over at most a few hundred lanes' terms). Ranges
 * with a tail shorter than the 16 lanes and an offset into the block. */
void fast_update_agrees_with_its_reference(void **state)
{
    enum { N = 300 };
    static const size_t ranges[][2] = {{0, 37}, {37, 256}, {293, 7}};
    (void)state;
    for (int kind = 0; kind < GF_OPTIM_COUNT; kind++) {
        gf_optim_config cfg = gf_optim_default((gf_optim_kind)kind);
        gf_optim *fast = NULL, *ref = NULL;
        gf_real pf[N], pr[N], g[N];
        gf_rng rng;
        cfg.weight_decay = 0.01;
        assert_ok(gf_optim_new(&fast, &cfg, N));
        assert_ok(gf_optim_new(&ref, &cfg, N));
        gf_rng_seed(&rng, 5);
        for (size_t i = 0; i < N; i++)
            pf[i] = pr[i] = (gf_real)gf_rng_normal(&rng);
        for (int step = 0; step < 4; step++) {
            for (size_t i = 0; i < N; i++)
                g[i] = (gf_real)gf_rng_normal(&rng);
            for (size_t r = 0; r < 3; r++) {
                size_t off = ranges[r][0], count = ranges[r][1];
                double nf = -1, nr = -2;
                assert_ok(gf_optim_update(fast, pf + off, g + off, off, count, &nf, NULL));
                assert_ok(gf_optim_update_ref(ref, pr + off, g + off, off, count, &nr, NULL));
                assert_true(nr > 0);
                assert_near(nf, nr, 0, 1e-12);
            }
            gf_optim_advance(fast);
            gf_optim_advance(ref);
            assert_memory_equal(pf, pr, sizeof pf);
            tu_assert_same_optim_state(fast, ref);
        }
        /* Without a norm to take, both are the reference update. */
        assert_ok(gf_optim_update(fast, pf, g, 0, N, NULL, NULL));
        assert_ok(gf_optim_update_ref(ref, pr, g, 0, N, NULL, NULL));
        assert_memory_equal(pf, pr, sizeof pf);
        assert_status(gf_optim_update(fast, pf, g, 1, N, NULL, NULL), GF_ESHAPE);
        gf_optim_free(fast);
        gf_optim_free(ref);
    }
}

/* The update that also takes sum p^2 before it changes p (gf_net_step's ||W||) goes
 * piece by piece (GF_STATS_CHUNK values): the same parameters, state and ||delta|| bit
 * for bit as in one piece, and the sum exactly gf_array_sumsq's, over ranges of one
 * piece, of several with a tail, and of none. */
void update_takes_the_parameters_norm_on_the_way(void **state)
{
    enum { N = 2 * GF_STATS_CHUNK + 37 };
    static const size_t counts[] = {300, N, GF_STATS_CHUNK, 0};
    gf_real *p1 = malloc(N * sizeof(gf_real)), *p2 = malloc(N * sizeof(gf_real));
    gf_real *p3 = malloc(N * sizeof(gf_real)), *g = malloc(N * sizeof(gf_real));
    gf_rng rng;
    (void)state;
    assert_non_null(p1), assert_non_null(p2), assert_non_null(p3), assert_non_null(g);
    gf_rng_seed(&rng, 11);
    for (size_t i = 0; i < N; i++) {
        p1[i] = p2[i] = p3[i] = (gf_real)gf_rng_normal(&rng);
        g[i] = (gf_real)gf_rng_normal(&rng);
    }
    for (int kind = 0; kind < GF_OPTIM_COUNT; kind++) {
        gf_optim_config cfg = gf_optim_default((gf_optim_kind)kind);
        gf_optim *o1 = NULL, *o2 = NULL, *o3 = NULL;
        assert_ok(gf_optim_new(&o1, &cfg, N));
        assert_ok(gf_optim_new(&o2, &cfg, N));
        assert_ok(gf_optim_new(&o3, &cfg, N));
        for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
            size_t count = counts[c];
            double n1 = -1, n2 = -2, n3 = -3, q2 = -1, q3 = -2;
            double before = gf_array_sumsq(p1, count);
            assert_ok(gf_optim_update(o1, p1, g, 0, count, &n1, NULL));
            assert_ok(gf_optim_update(o2, p2, g, 0, count, &n2, &q2));
            assert_ok(gf_optim_update_ref(o3, p3, g, 0, count, &n3, &q3));
            assert_memory_equal(&n1, &n2, sizeof n1);
            assert_memory_equal(&q2, &before, sizeof q2);
            assert_memory_equal(&q3, &before, sizeof q3);
            assert_near(n2, n3, 0, 1e-12);
            assert_true(count == 0 || (n1 > 0 && before > 0));
            assert_memory_equal(p1, p2, N * sizeof(gf_real));
            assert_memory_equal(p1, p3, N * sizeof(gf_real));
            gf_optim_advance(o1);
            gf_optim_advance(o2);
            gf_optim_advance(o3);
        }
        tu_assert_same_optim_state(o1, o2);
        tu_assert_same_optim_state(o1, o3);
        gf_optim_free(o1);
        gf_optim_free(o2);
        gf_optim_free(o3);
    }
    free(p1), free(p2), free(p3), free(g);
}

/* Field by field (a struct may have padding); doubles bit for bit, NaN equal to NaN. */
static void assert_same_record(const gf_record *a, const gf_record *b)
{
    const double fa[] = {a->loss, a->grad_out_norm, a->grad_in_norm, a->weight_grad_norm,
                         a->bias_grad_norm, a->weight_norm, a->update_ratio, a->clip_pre_norm,
                         a->clip_post_norm, a->act_mean, a->act_std, a->deriv_abs_mean,
                         a->zero_frac, a->dead_frac, a->sat_frac};
    const double fb[] = {b->loss, b->grad_out_norm, b->grad_in_norm, b->weight_grad_norm,
                         b->bias_grad_norm, b->weight_norm, b->update_ratio, b->clip_pre_norm,
                         b->clip_post_norm, b->act_mean, b->act_std, b->deriv_abs_mean,
                         b->zero_frac, b->dead_frac, b->sat_frac};
    assert_int_equal(a->step, b->step);
    assert_int_equal(a->layer, b->layer);
    assert_string_equal(a->kind, b->kind);
    assert_memory_equal(fa, fb, sizeof fa);
    assert_int_equal(a->nonfinite_fwd, b->nonfinite_fwd);
    assert_int_equal(a->nonfinite_bwd, b->nonfinite_bwd);
}

/* The records a backward pass leaves (taken layer by layer during it when GF_FAST) are
 * those of the reference record pass run afterwards on the same buffers, bit for bit. */
void records_agree_with_the_record_pass(void **state)
{
    static const char *const acts[] = {"tanh", "relu", "tanh"};
    (void)state;
    for (int a = 0; a < 3; a++) {
        /* The third has a hidden layer of 520 x 520 weights, more than the engine leaves
         * in cache: its product takes ||dL/dW|| as it writes dL/dW (net.c). */
        gf_net *net = a < 2 ? mlp(3, 9, 4, 2, acts[a], 12) : mlp(3, 520, 3, 2, acts[a], 12);
        gf_tensor *x = random_tensor(7, 3, 1), *t = random_tensor(7, 2, 2);
        size_t n = gf_net_layer_count(net), count = 0;
        gf_record ref[16];
        double scratch[17];
        const gf_record *recs = NULL;
        assert_true(n < 16);
        assert_ok(gf_net_forward(net, NULL, x));
        assert_ok(gf_net_loss(net, NULL, t, GF_LOSS_MSE));
        assert_ok(gf_net_backward(net));
        assert_ok(gf_net_last_records(net, &recs, &count));
        assert_int_equal(count, n);
        gf_record_pass(ref, gf_net_layer(net, 0), n, gf_net_activation(net, 0),
                       gf_net_activation_grad(net, 0), 1, scratch, 0, recs[0].loss);
        for (size_t i = 0; i < n; i++)
            assert_same_record(&ref[i], &recs[i]);
        assert_true(recs[0].weight_grad_norm > 0);
        gf_tensor_free(x);
        gf_tensor_free(t);
        gf_net_free(net);
    }
}

void steady_training_allocates_nothing(void **state)
{
    gf_net *net;
    gf_optim *opt = NULL;
    gf_optim_config cfg = gf_optim_default(GF_OPTIM_ADAM);
    gf_clip clip = {GF_CLIP_GLOBAL_NORM, 1.0};
    (void)state;
    tu_alloc_install(0);
    net = mlp(8, 16, 4, 3, "relu", 4);
    gf_tensor *x = random_tensor(16, 8, 1), *t = class_targets(16, 3);
    assert_ok(gf_optim_new(&opt, &cfg, gf_net_param_count(net)));
    assert_ok(gf_telemetry_reserve(gf_net_telemetry_mut(net), 100 * gf_net_layer_count(net)));
    assert_ok(gf_net_train_step(net, NULL, x, t, opt, GF_LOSS_SOFTMAX_CE, &clip));
    long calls = tu_alloc.calls;
    for (int s = 1; s < 100; s++)
        assert_ok(gf_net_train_step(net, NULL, x, t, opt, GF_LOSS_SOFTMAX_CE, &clip));
    assert_int_equal(tu_alloc.calls, calls);
    /* A smaller batch reuses the buffers too. */
    gf_tensor *x2 = random_tensor(5, 8, 1), *t2 = class_targets(5, 3);
    calls = tu_alloc.calls;
    assert_ok(gf_net_forward(net, NULL, x2));
    assert_int_equal(tu_alloc.calls, calls);
    gf_tensor_free(x);
    gf_tensor_free(t);
    gf_tensor_free(x2);
    gf_tensor_free(t2);
    gf_optim_free(opt);
    gf_net_free(net);
    assert_int_equal(tu_alloc_live(), 0);
    tu_alloc_uninstall();
}

void allocation_failures_leave_nothing_behind(void **state)
{
    (void)state;
    /* Fail each allocation of a build-train path in turn: every failure is GF_ENOMEM
     * (never a crash) and everything is released. */
    for (long k = 1; k < 200; k++) {
        gf_net *net = NULL;
        gf_optim *opt = NULL;
        gf_tensor *x = NULL, *t = NULL;
        gf_rng rng;
        gf_mlp_spec spec = {4, 6, 3, 2, "sigmoid", NAN, NULL};
        gf_optim_config cfg = gf_optim_default(GF_OPTIM_MOMENTUM);
        gf_status st;
        gf_rng_seed(&rng, 1);
        tu_alloc_install(k);
        st = gf_net_new_mlp(&net, &spec, &rng);
        if (st == GF_OK)
            st = gf_tensor_new(&x, 3, 4);
        if (st == GF_OK)
            st = gf_tensor_new(&t, 3, 1);
        if (st == GF_OK)
            st = gf_optim_new(&opt, &cfg, gf_net_param_count(net));
        for (int s = 0; s < 3 && st == GF_OK; s++)
            st = gf_net_train_step(net, NULL, x, t, opt, GF_LOSS_SOFTMAX_CE, NULL);
        int failed = tu_alloc.failed > 0;
        assert_true(st == (failed ? GF_ENOMEM : GF_OK));
        gf_optim_free(opt);
        gf_tensor_free(x);
        gf_tensor_free(t);
        gf_net_free(net);
        assert_int_equal(tu_alloc_live(), 0);
        tu_alloc_uninstall();
        if (!failed)
            return; /* k passed the last allocation: every one has been tried */
    }
    fail_msg("more than 200 allocations on a small build-train path");
}

void telemetry_csv_has_the_documented_columns(void **state)
{
    gf_net *net = mlp(3, 4, 2, 2, "sigmoid", 1);
    gf_tensor *x = random_tensor(4, 3, 1), *t = random_tensor(4, 2, 2);
    char path[] = "test_net_telemetry.csv";
    char line[2048];
    int lines = 0;
    (void)state;
    assert_ok(gf_net_forward(net, NULL, x));
    assert_ok(gf_net_loss(net, NULL, t, GF_LOSS_MSE));
    assert_ok(gf_net_backward(net));
    assert_ok(gf_telemetry_save_csv(gf_net_telemetry(net), path));
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    assert_true(strncmp(line, gf_telemetry_csv_header(), strlen(gf_telemetry_csv_header())) == 0);
    while (fgets(line, sizeof line, f) != NULL) {
        int commas = 0;
        for (char *p = line; *p; p++)
            commas += *p == ',';
        assert_int_equal(commas, 19); /* 20 columns */
        lines++;
    }
    fclose(f);
    remove(path);
    assert_int_equal(lines, 3);
    gf_tensor_free(x);
    gf_tensor_free(t);
    gf_net_free(net);
}
