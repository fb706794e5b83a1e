/* tests/test_model.c: model files, in three sources (tests/test_model.h): here the helpers
 * the others share, CRC-32, round trips and resuming bit for bit (SGD, momentum, Adam);
 * test_model_layers.c: damaged files and the layer kinds added after the first three;
 * test_model_compat.c: the version-1 fixtures, atomic saving, kinds of your own, bad
 * arguments. main, at the end, runs them all. */
#define _POSIX_C_SOURCE 200809L /* opendir: the temporary files a save leaves */
#include "test_model.h"
#include "../src/io/crc32.h" /* to forge checksums */

#include <dirent.h>

/* ---- Helpers ------------------------------------------------------------------------- */

void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* The whole file at path into a malloc'ed buffer; NULL when it does not exist. */
unsigned char *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long len;
    if (f == NULL)
        return NULL;
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    len = ftell(f);
    assert_true(len >= 0);
    rewind(f);
    buf = malloc((size_t)len + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return buf;
}

int file_exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f != NULL)
        fclose(f);
    return f != NULL;
}

/* The temporary files of saves to dir/base left in dir: base.<12 hex digits>.tmp. */
size_t temporaries_of(const char *dir, const char *base)
{
    size_t n = 0, nb = strlen(base);
    struct dirent *e;
    DIR *d = opendir(dir);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        size_t ne = strlen(e->d_name);
        if (ne == nb + 17 && strncmp(e->d_name, base, nb) == 0 && e->d_name[nb] == '.' &&
            strcmp(e->d_name + ne - 4, ".tmp") == 0)
            n++;
    }
    closedir(d);
    return n;
}

/* Rewrite the trailing CRC-32 after patching a file's bytes. */
void fix_crc(unsigned char *buf, size_t n)
{
    uint32_t crc = gf_crc32(0, buf, n - 4);
    for (int i = 0; i < 4; i++)
        buf[n - 4 + i] = (unsigned char)(crc >> (8 * i));
}

/* Replace the first occurrence of `from` with `to` (same length) and fix the CRC. */
void patch_string(unsigned char *buf, size_t n, const char *from, const char *to)
{
    size_t k = strlen(from);
    assert_int_equal(strlen(to), k);
    for (size_t i = 0; i + k <= n; i++) {
        if (memcmp(buf + i, from, k) == 0) {
            memcpy(buf + i, to, k);
            fix_crc(buf, n);
            return;
        }
    }
    fail_msg("'%s' not found in the file", from);
}

/* Two generators in the same state (field by field: the struct has padding). */
void assert_same_rng(const gf_rng *a, const gf_rng *b)
{
    assert_memory_equal(a->s, b->s, sizeof a->s);
    assert_int_equal(a->has_spare, b->has_spare);
    assert_memory_equal(&a->spare, &b->spare, sizeof a->spare);
}

/* A small network of every kind the format stores, He-initialised. */
gf_net *small_net(gf_rng *rng)
{
    gf_net *net = NULL;
    gf_init init = gf_init_default(GF_INIT_HE_NORMAL);
    assert_ok(gf_net_new(&net, 4));
    assert_ok(gf_net_add_linear(net, 6));
    assert_ok(gf_net_add_activation_param(net, "leaky_relu", 0.05));
    assert_ok(gf_net_add_linear(net, 6));
    assert_ok(gf_net_add_prelu(net, 0.2));
    assert_ok(gf_net_add_linear(net, 5));
    assert_ok(gf_net_add_activation(net, "tanh"));
    assert_ok(gf_net_add_linear(net, 2));
    assert_ok(gf_net_init(net, &init, rng));
    return net;
}

gf_optim *make_optim(gf_optim_kind kind, size_t n)
{
    gf_optim_config c = gf_optim_default(kind);
    gf_optim *opt = NULL;
    c.lr = kind == GF_OPTIM_ADAM ? 0.01 : 0.05;
    c.weight_decay = 1e-3;
    assert_ok(gf_optim_new(&opt, &c, n));
    return opt;
}

/* ---- CRC-32 -------------------------------------------------------------------------- */

static void crc32_matches_the_standard_check_value(void **state)
{
    static const char digits[] = "123456789";
    (void)state;
    /* The check value of CRC-32/ISO-HDLC (zlib, PNG, Ethernet). */
    assert_int_equal(gf_crc32(0, digits, 9), 0xCBF43926u);
    assert_int_equal(gf_crc32(0, digits, 0), 0);
    assert_int_equal(gf_crc32(0, "a", 1), 0xE8B7BE43u);
    /* Continuing a CRC over pieces equals the CRC of the whole. */
    assert_int_equal(gf_crc32(gf_crc32(0, digits, 4), digits + 4, 5), 0xCBF43926u);
}

/* ---- Round trip ---------------------------------------------------------------------- */

static void round_trip_keeps_every_field(void **state)
{
    gf_rng rng, rng2;
    gf_net *net, *back = NULL;
    gf_optim *opt, *opt2 = NULL;
    void *a = NULL, *b = NULL;
    size_t na = 0, nb = 0, n1 = 0, n2 = 0;
    (void)state;
    gf_rng_seed(&rng, 3);
    net = small_net(&rng);
    opt = make_optim(GF_OPTIM_ADAM, gf_net_param_count(net));
    /* Non-trivial state everywhere. */
    for (int s = 0; s < 2; s++) {
        gf_real *v = gf_optim_state_mut(opt, &n1, s);
        for (size_t i = 0; i < n1; i++)
            v[i] = (gf_real)(0.001 * (double)(i + 1) * (s + 1));
    }
    gf_optim_set_steps(opt, 123);
    gf_net_set_step_count(net, 456);
    (void)gf_rng_normal(&rng);

    assert_ok(gf_model_save_memory(&a, &na, net, opt, &rng));
    memset(&rng2, 0x5A, sizeof rng2);
    assert_ok(gf_model_load_memory(&back, &opt2, &rng2, a, na));
    assert_non_null(back);
    assert_non_null(opt2);

    assert_int_equal(gf_net_layer_count(back), gf_net_layer_count(net));
    for (size_t i = 0; i < gf_net_layer_count(net); i++) {
        assert_string_equal(gf_net_layer_kind(back, i), gf_net_layer_kind(net, i));
        assert_int_equal(gf_net_layer(back, i)->out, gf_net_layer(net, i)->out);
        assert_true(gf_net_layer(back, i)->act_param == gf_net_layer(net, i)->act_param);
    }
    assert_int_equal(gf_net_in_features(back), 4);
    assert_int_equal(gf_net_param_count(back), gf_net_param_count(net));
    assert_memory_equal(gf_net_params(back), gf_net_params(net),
                        gf_net_param_count(net) * sizeof(gf_real));
    assert_int_equal(gf_net_step_count(back), 456);
    assert_int_equal(gf_optim_steps(opt2), 123);
    {
        const gf_optim_config *c1 = gf_optim_config_of(opt), *c2 = gf_optim_config_of(opt2);
        assert_int_equal(c2->kind, c1->kind);
        assert_true(c2->lr == c1->lr && c2->momentum == c1->momentum);
        assert_true(c2->beta1 == c1->beta1 && c2->beta2 == c1->beta2);
        assert_true(c2->eps == c1->eps && c2->weight_decay == c1->weight_decay);
    }
    for (int s = 0; s < 2; s++) {
        const gf_real *v1 = gf_optim_state(opt, &n1, s), *v2 = gf_optim_state(opt2, &n2, s);
        assert_int_equal(n1, n2);
        assert_memory_equal(v1, v2, n1 * sizeof(gf_real));
    }
    assert_memory_equal(rng2.s, rng.s, sizeof rng.s);
    assert_int_equal(rng2.has_spare, rng.has_spare);
    assert_true(rng2.spare == rng.spare);

    /* Saving what was loaded writes the same bytes. */
    assert_ok(gf_model_save_memory(&b, &nb, back, opt2, &rng2));
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);

    gf_free(a);
    gf_free(b);
    gf_optim_free(opt);
    gf_optim_free(opt2);
    gf_net_free(net);
    gf_net_free(back);
}

/* The same network loaded back computes the same outputs, bit for bit. */
static void loaded_network_predicts_identically(void **state)
{
    gf_rng rng;
    gf_net *net, *back = NULL;
    gf_tensor *x = tu_tensor(5, 4);
    const gf_tensor *y1 = NULL, *y2 = NULL;
    (void)state;
    gf_rng_seed(&rng, 11);
    net = small_net(&rng);
    tu_fill_uniform(x, &rng, -2, 2);
    assert_ok(gf_model_save("test_model_predict.gfm", net, NULL, NULL));
    assert_ok(gf_model_load(&back, NULL, NULL, "test_model_predict.gfm"));
    assert_ok(gf_net_predict(net, &y1, x));
    assert_ok(gf_net_predict(back, &y2, x));
    assert_memory_equal(y1->data, y2->data, 5 * 2 * sizeof(gf_real));
    assert_true(gf_tensor_norm2(y1) > 1e-3);
    remove("test_model_predict.gfm");
    gf_tensor_free(x);
    gf_net_free(net);
    gf_net_free(back);
}

/* A network with no layers, no optimiser and no generator is a valid (tiny) model. */
static void empty_network_round_trips(void **state)
{
    gf_net *net = NULL, *back = NULL;
    gf_optim *opt = (gf_optim *)&opt; /* must be set to NULL: the file has none */
    gf_rng rng, keep;
    void *a = NULL;
    size_t na = 0;
    (void)state;
    gf_rng_seed(&rng, 5);
    keep = rng;
    assert_ok(gf_net_new(&net, 7));
    assert_ok(gf_model_save_memory(&a, &na, net, NULL, NULL));
    assert_int_equal(na, 60); /* the 56-byte header and the CRC */
    assert_ok(gf_model_load_memory(&back, &opt, &rng, a, na));
    assert_null(opt);
    assert_same_rng(&rng, &keep); /* no generator in the file */
    assert_int_equal(gf_net_layer_count(back), 0);
    assert_int_equal(gf_net_in_features(back), 7);
    gf_free(a);
    gf_net_free(net);
    gf_net_free(back);
}

/* ---- Resuming bit for bit -------------------------------------------------------------
 * Each step draws a minibatch of 8 of 32 rows with the generator, so the generator's
 * state matters as much as the parameters and the optimiser's state. */


void dataset_make(dataset *d)
{
    gf_rng rng;
    gf_rng_seed(&rng, 99);
    d->x = tu_tensor(DATA_ROWS, 4);
    d->t = tu_tensor(DATA_ROWS, 2);
    d->xb = tu_tensor(BATCH, 4);
    d->tb = tu_tensor(BATCH, 2);
    tu_fill_uniform(d->x, &rng, -1, 1);
    for (size_t r = 0; r < DATA_ROWS; r++) {
        const gf_real *xr = d->x->data + 4 * r;
        d->t->data[2 * r] = (gf_real)sin(xr[0] + 2 * xr[1]);
        d->t->data[2 * r + 1] = xr[2] * xr[3];
    }
}

void dataset_free(dataset *d)
{
    gf_tensor_free(d->x);
    gf_tensor_free(d->t);
    gf_tensor_free(d->xb);
    gf_tensor_free(d->tb);
}

/* Train `steps` steps; losses[i] receives the loss of step first + i. */
void train(gf_net *net, gf_optim *opt, gf_rng *rng, dataset *d, size_t first,
           size_t steps, double *losses)
{
    gf_clip clip = {GF_CLIP_GLOBAL_NORM, 1.0};
    for (size_t s = 0; s < steps; s++) {
        for (size_t r = 0; r < BATCH; r++) {
            size_t k = (size_t)gf_rng_below(rng, DATA_ROWS);
            memcpy(d->xb->data + 4 * r, d->x->data + 4 * k, 4 * sizeof(gf_real));
            memcpy(d->tb->data + 2 * r, d->t->data + 2 * k, 2 * sizeof(gf_real));
        }
        assert_ok(gf_net_train_step(net, &losses[first + s], d->xb, d->tb, opt, GF_LOSS_MSE,
                                    &clip));
    }
}

/* Two telemetry figures are the same bits (NaN included). */
static void assert_same_bits(double a, double b)
{
    assert_memory_equal(&a, &b, sizeof a);
}

void resume_is_bit_for_bit(gf_optim_kind kind, gf_net *(*make)(gf_rng *))
{
    const char *path = "test_model_resume.gfm";
    dataset d;
    gf_rng rng;
    gf_net *ref, *net;
    gf_optim *ref_opt, *opt;
    double ref_loss[TOTAL_STEPS], loss[TOTAL_STEPS];
    size_t n_params;
    gf_telemetry *tr, *tn;

    dataset_make(&d);
    /* The reference: TOTAL_STEPS in one go. */
    gf_rng_seed(&rng, 1234);
    ref = make(&rng);
    ref_opt = make_optim(kind, gf_net_param_count(ref));
    train(ref, ref_opt, &rng, &d, 0, TOTAL_STEPS, ref_loss);

    /* The interrupted run: STOP_AT steps, save, drop everything, load, the rest. */
    gf_rng_seed(&rng, 1234);
    net = make(&rng);
    opt = make_optim(kind, gf_net_param_count(net));
    train(net, opt, &rng, &d, 0, STOP_AT, loss);
    assert_ok(gf_model_save(path, net, opt, &rng));
    gf_net_free(net);
    gf_optim_free(opt);
    memset(&rng, 0xA5, sizeof rng);
    net = NULL;
    opt = NULL;
    assert_ok(gf_model_load(&net, &opt, &rng, path));
    assert_non_null(net);
    assert_non_null(opt);
    assert_int_equal(gf_net_step_count(net), STOP_AT);
    assert_int_equal(gf_optim_steps(opt), STOP_AT);
    train(net, opt, &rng, &d, STOP_AT, TOTAL_STEPS - STOP_AT, loss);

    n_params = gf_net_param_count(ref);
    assert_int_equal(gf_net_param_count(net), n_params);
    assert_memory_equal(gf_net_params(net), gf_net_params(ref), n_params * sizeof(gf_real));
    assert_memory_equal(loss, ref_loss, sizeof loss);
    assert_int_equal(gf_net_step_count(net), TOTAL_STEPS);
    /* The telemetry of the resumed steps: same step numbers, same figures, same bits. */
    tr = gf_net_telemetry_mut(ref);
    tn = gf_net_telemetry_mut(net);
    assert_int_equal(gf_telemetry_count(tn), (TOTAL_STEPS - STOP_AT) * gf_net_layer_count(net));
    for (size_t i = 0; i < gf_telemetry_count(tn); i++) {
        const gf_record *b = gf_telemetry_at(tn, i);
        const gf_record *a = gf_telemetry_find(tr, b->step, b->layer);
        assert_non_null(a);
        assert_true(b->step >= STOP_AT);
        assert_same_bits(a->loss, b->loss);
        assert_same_bits(a->grad_out_norm, b->grad_out_norm);
        assert_same_bits(a->grad_in_norm, b->grad_in_norm);
        assert_same_bits(a->weight_grad_norm, b->weight_grad_norm);
        assert_same_bits(a->weight_norm, b->weight_norm);
        assert_same_bits(a->update_ratio, b->update_ratio);
        assert_same_bits(a->clip_pre_norm, b->clip_pre_norm);
        assert_same_bits(a->act_mean, b->act_mean);
    }
    /* The loss did move: the comparison is not between two frozen runs. */
    assert_true(ref_loss[TOTAL_STEPS - 1] != ref_loss[0]);

    /* The test has teeth: resuming without the optimiser's state (or with another
     * generator) does not reproduce the reference. */
    if (kind != GF_OPTIM_SGD) {
        gf_net *net2 = NULL;
        gf_optim *opt2 = NULL;
        size_t n_state;
        assert_ok(gf_model_load(&net2, &opt2, &rng, path));
        /* rng is now the saved one again; zero the first moment. */
        memset(gf_optim_state_mut(opt2, &n_state, 0), 0, n_params * sizeof(gf_real));
        train(net2, opt2, &rng, &d, STOP_AT, TOTAL_STEPS - STOP_AT, loss);
        assert_memory_not_equal(gf_net_params(net2), gf_net_params(ref),
                                n_params * sizeof(gf_real));
        gf_net_free(net2);
        gf_optim_free(opt2);
    }
    remove(path);
    gf_net_free(ref);
    gf_net_free(net);
    gf_optim_free(ref_opt);
    gf_optim_free(opt);
    dataset_free(&d);
}

static void resume_sgd(void **state) { (void)state; resume_is_bit_for_bit(GF_OPTIM_SGD, small_net); }
static void resume_momentum(void **state) { (void)state; resume_is_bit_for_bit(GF_OPTIM_MOMENTUM, small_net); }
static void resume_adam(void **state) { (void)state; resume_is_bit_for_bit(GF_OPTIM_ADAM, small_net); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc32_matches_the_standard_check_value),
        cmocka_unit_test(round_trip_keeps_every_field),
        cmocka_unit_test(loaded_network_predicts_identically),
        cmocka_unit_test(empty_network_round_trips),
        cmocka_unit_test(resume_sgd),
        cmocka_unit_test(resume_momentum),
        cmocka_unit_test(resume_adam),
        cmocka_unit_test(batchnorm_round_trips),
        cmocka_unit_test(layernorm_round_trips),
        cmocka_unit_test(recurrent_layers_round_trip),
        cmocka_unit_test(residual_blocks_round_trip),
        cmocka_unit_test(batchnorm_statistics_matter),
        cmocka_unit_test(resume_batchnorm),
        cmocka_unit_test(resume_layernorm),
        cmocka_unit_test(resume_rnn),
        cmocka_unit_test(resume_lstm),
        cmocka_unit_test(resume_gru),
        cmocka_unit_test(resume_residual),
        cmocka_unit_test(added_kinds_damaged_files_are_refused),
        cmocka_unit_test(added_kinds_bad_payloads_are_refused),
        cmocka_unit_test(deep_nesting_is_flat),
        cmocka_unit_test(getters_refuse_other_layers),
        cmocka_unit_test(corrupted_byte_at_every_offset_is_refused),
        cmocka_unit_test(truncation_at_every_length_is_refused),
        cmocka_unit_test(foreign_files_are_named_as_such),
        cmocka_unit_test(future_and_zero_versions_are_refused),
        cmocka_unit_test(unknown_kinds_are_named),
        cmocka_unit_test(inconsistent_contents_are_refused),
        cmocka_unit_test(version_1_fixtures_load),
        cmocka_unit_test(version_1_residual_blocks_are_flattened),
        cmocka_unit_test(save_is_atomic),
        cmocka_unit_test(planted_link_is_not_followed),
        cmocka_unit_test(concurrent_saves_leave_a_whole_model),
        cmocka_unit_test(save_over_the_size_limit_fails_cleanly),
        cmocka_unit_test(other_layer_kinds_are_named),
        cmocka_unit_test(own_kind_with_codec_round_trips),
        cmocka_unit_test(own_kinds_are_checked),
        cmocka_unit_test(every_registered_kind_round_trips),
        cmocka_unit_test(kind_traits),
        cmocka_unit_test(bad_arguments_are_refused),
        cmocka_unit_test(optional_parts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
