/* tests/test_alloc.c: allocation failure along a whole session: build a network of every
 * layer kind, make an optimiser, train with clipping and telemetry, save the telemetry
 * and the model, load the model, train on. For every k, the k-th allocation fails:
 *  - stop mode: the failing call returns GF_ENOMEM with a message, constructors return
 *    no object, a failed save leaves the previous file intact, and after cleanup every
 *    block is freed (tu_alloc_live() == 0);
 *  - retry mode: the failing call is simply called again, and the session ends with the
 *    parameters of an undisturbed run, bit for bit: a failed call left its object whole. */
#include "testutil.h"

#include <stdio.h>

#include "gradflow.h"

static const char *const model_path = "test_alloc.gfm";
static const char *const csv_path = "test_alloc.csv";
static const char previous[] = "the previous model file";

typedef struct outcome {
    gf_status st;            /* the session's status */
    const char *failed_call; /* the call that failed first, or NULL */
    gf_real params[128];     /* the final parameters of the loaded network */
    size_t n_params;
} outcome;

/* The file at path holds exactly `previous` (a failed save left it alone). */
static int file_is_previous(void)
{
    char buf[sizeof previous + 8];
    size_t n;
    FILE *f = fopen(model_path, "rb");
    if (f == NULL)
        return 0;
    n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return n == sizeof previous - 1 && memcmp(buf, previous, n) == 0;
}

/* Run `call`; on failure with retry set and GF_ENOMEM, call it again with failures off.
 * A failure that stays ends the session at `done`. */
#define STEP(call)                                                                         \
    do {                                                                                   \
        st = (call);                                                                       \
        if (st != GF_OK && o->failed_call == NULL)                                         \
            o->failed_call = #call;                                                        \
        if (st == GF_ENOMEM && gf_last_error()[0] == '\0')                                 \
            fail_msg("%s: GF_ENOMEM without a message", #call);                            \
        if (st == GF_ENOMEM && retry) {                                                    \
            tu_alloc_fail_next(0);                                                         \
            st = (call);                                                                   \
        }                                                                                  \
        if (st != GF_OK)                                                                   \
            goto done;                                                                     \
    } while (0)

static void session(outcome *o, int retry)
{
    gf_rng rng, rng2;
    gf_net *net = NULL, *back = NULL;
    gf_optim *opt = NULL, *opt2 = NULL;
    gf_tensor *x = NULL, *t = NULL;
    gf_optim_config adam = gf_optim_default(GF_OPTIM_ADAM);
    gf_init init = gf_init_default(GF_INIT_ORTHOGONAL); /* allocates scratch */
    gf_clip clip = {GF_CLIP_GLOBAL_NORM, 0.5};
    gf_status st = GF_OK;
    double loss;

    memset(o, 0, sizeof *o);
    gf_rng_seed(&rng, 21);
    STEP(gf_tensor_new(&x, 6, 4));
    STEP(gf_tensor_new(&t, 6, 2));
    tu_fill_uniform(x, &rng, -1, 1);
    tu_fill_uniform(t, &rng, -1, 1);

    STEP(gf_net_new(&net, 4));
    STEP(gf_net_add_linear(net, 5));
    STEP(gf_net_add_activation_param(net, "leaky_relu", 0.1));
    STEP(gf_net_add_prelu(net, 0.25));
    STEP(gf_net_add_linear(net, 5));
    STEP(gf_net_add_activation(net, "tanh"));
    STEP(gf_net_add_linear(net, 2));
    STEP(gf_net_init(net, &init, &rng));
    STEP(gf_optim_new(&opt, &adam, gf_net_param_count(net)));
    for (int s = 0; s < 3; s++)
        STEP(gf_net_train_step(net, &loss, x, t, opt, GF_LOSS_MSE, &clip));
    STEP(gf_telemetry_save_csv(gf_net_telemetry(net), csv_path));

    STEP(gf_model_save(model_path, net, opt, &rng));
    rng2 = rng;
    STEP(gf_model_load(&back, &opt2, &rng2, model_path));
    for (int s = 0; s < 2; s++)
        STEP(gf_net_train_step(back, &loss, x, t, opt2, GF_LOSS_MSE, &clip));
    o->n_params = gf_net_param_count(back);
    assert_true(o->n_params <= 128);
    memcpy(o->params, gf_net_params(back), o->n_params * sizeof(gf_real));

done:
    o->st = st;
    if (st != GF_OK) {
        /* Nothing half-built: a failed constructor returned no object. */
        if (o->failed_call != NULL && strncmp(o->failed_call, "gf_model_load", 13) == 0) {
            assert_null(back);
            assert_null(opt2);
        }
        if (o->failed_call != NULL && strncmp(o->failed_call, "gf_optim_new", 12) == 0)
            assert_null(opt);
        if (o->failed_call != NULL && strncmp(o->failed_call, "gf_model_save", 13) == 0)
            assert_true(file_is_previous());
    }
    gf_net_free(back);
    gf_optim_free(opt2);
    gf_net_free(net);
    gf_optim_free(opt);
    gf_tensor_free(x);
    gf_tensor_free(t);
}

static void write_previous(void)
{
    FILE *f = fopen(model_path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(previous, 1, sizeof previous - 1, f), sizeof previous - 1);
    fclose(f);
}

/* The number of allocation calls of an undisturbed session, and its result. */
static long count_calls(outcome *ref)
{
    long calls;
    write_previous();
    tu_alloc_install(0);
    session(ref, 0);
    calls = tu_alloc.calls;
    assert_int_equal(ref->st, GF_OK);
    assert_int_equal(tu_alloc_live(), 0);
    tu_alloc_uninstall();
    assert_true(calls > 20);
    print_message("a session makes %ld allocation calls\n", calls);
    return calls;
}

static void every_failing_allocation_is_reported_and_cleaned_up(void **state)
{
    outcome ref, o;
    long calls = count_calls(&ref);
    (void)state;
    for (int after = 0; after < 2; after++) {
        for (long k = 1; k <= calls; k++) {
            write_previous();
            tu_alloc_install(k);
            tu_alloc.fail_after = after;
            session(&o, 0);
            if (o.st != GF_ENOMEM)
                fail_msg("allocation %ld of %ld failed: %s returned %s (\"%s\")", k, calls,
                         o.failed_call ? o.failed_call : "(no call)", gf_strerror(o.st),
                         gf_last_error());
            if (tu_alloc_live() != 0)
                fail_msg("allocation %ld failed in %s: %ld blocks leaked", k, o.failed_call,
                         tu_alloc_live());
            tu_alloc_uninstall();
        }
    }
    remove(model_path);
    remove(csv_path);
}

static void a_failed_call_can_be_retried(void **state)
{
    outcome ref, o;
    long calls = count_calls(&ref);
    (void)state;
    for (long k = 1; k <= calls; k++) {
        write_previous();
        tu_alloc_install(k);
        session(&o, 1);
        if (o.st != GF_OK)
            fail_msg("allocation %ld failed in %s; the retry returned %s (\"%s\")", k,
                     o.failed_call, gf_strerror(o.st), gf_last_error());
        assert_int_equal(tu_alloc.failed, 1);
        assert_int_equal(o.n_params, ref.n_params);
        if (memcmp(o.params, ref.params, ref.n_params * sizeof(gf_real)) != 0)
            fail_msg("allocation %ld failed in %s: after the retry the run differs", k,
                     o.failed_call);
        assert_int_equal(tu_alloc_live(), 0);
        tu_alloc_uninstall();
    }
    remove(model_path);
    remove(csv_path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_failing_allocation_is_reported_and_cleaned_up),
        cmocka_unit_test(a_failed_call_can_be_retried),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
