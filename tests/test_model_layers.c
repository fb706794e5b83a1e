/* tests/test_model_layers.c: model files, part of test_model (tests/test_model.h): damaged
 * files are refused without a crash and without returning anything, and batch and layer
 * norm, the recurrent cells and residual blocks round-trip and resume bit for bit. */
#include "test_model.h"
#include "../src/io/crc32.h" /* to forge checksums */

/* ---- Refusing bad files --------------------------------------------------------------- */

/* A small complete file: three kinds of layer, Adam, a generator. */
static void *small_file(size_t *n)
{
    gf_rng rng;
    gf_net *net = NULL;
    gf_optim *opt;
    void *data = NULL;
    gf_rng_seed(&rng, 8);
    assert_ok(gf_net_new(&net, 2));
    assert_ok(gf_net_add_linear(net, 2));
    assert_ok(gf_net_add_activation(net, "tanh"));
    assert_ok(gf_net_add_prelu(net, 0.25));
    assert_ok(gf_net_add_linear(net, 1));
    opt = make_optim(GF_OPTIM_ADAM, gf_net_param_count(net));
    assert_ok(gf_model_save_memory(&data, n, net, opt, &rng));
    gf_net_free(net);
    gf_optim_free(opt);
    return data;
}

/* Load must fail with a message, return nothing and leave the generator alone. */
gf_status load_refused(const void *data, size_t n, const char *path)
{
    gf_net *net = (gf_net *)&net;
    gf_optim *opt = (gf_optim *)&opt;
    gf_rng rng, keep;
    gf_status st;
    gf_rng_seed(&rng, 77);
    keep = rng;
    gf_clear_error();
    st = path != NULL ? gf_model_load(&net, &opt, &rng, path)
                      : gf_model_load_memory(&net, &opt, &rng, data, n);
    if (st == GF_OK) {
        gf_net_free(net);
        gf_optim_free(opt);
        fail_msg("a damaged file of %zu bytes was accepted", n);
    }
    assert_true(gf_last_error()[0] != '\0');
    assert_null(net);
    assert_null(opt);
    assert_same_rng(&rng, &keep);
    return st;
}

/* ---- Normalisation, recurrent and residual layers --------------------------------------
 * Networks of 4 inputs and 2 outputs (the resume data set's shapes), each holding one of
 * the kinds added in format version 1 after the first three. */

static gf_net *finish(gf_net *net, gf_rng *rng)
{
    gf_init init = gf_init_default(GF_INIT_HE_NORMAL);
    assert_ok(gf_net_add_linear(net, 2));
    assert_ok(gf_net_init(net, &init, rng));
    return net;
}

static gf_net *bn_net(gf_rng *rng)
{
    gf_net *net = NULL;
    assert_ok(gf_net_new(&net, 4));
    assert_ok(gf_net_add_linear(net, 6));
    assert_ok(gf_net_add_batchnorm(net, 1e-3, 0.2));
    assert_ok(gf_net_add_activation(net, "relu"));
    return finish(net, rng);
}

static gf_net *ln_net(gf_rng *rng)
{
    gf_net *net = NULL;
    assert_ok(gf_net_new(&net, 4));
    assert_ok(gf_net_add_linear(net, 6));
    assert_ok(gf_net_add_layernorm(net, 1e-4));
    assert_ok(gf_net_add_activation(net, "tanh"));
    return finish(net, rng);
}

/* The 4 inputs read as 2 steps of 2 features. */
static gf_net *recurrent_net(gf_rng *rng, gf_rnn_cell cell, unsigned flags)
{
    gf_net *net = NULL;
    assert_ok(gf_net_new(&net, 4));
    assert_ok(gf_net_add_rnn(net, cell, 3, 2, flags, NULL, rng));
    return finish(net, rng);
}

static gf_net *rnn_net(gf_rng *rng) { return recurrent_net(rng, GF_RNN_TANH, 0); }
static gf_net *lstm_net(gf_rng *rng) { return recurrent_net(rng, GF_RNN_LSTM, GF_RNN_SEQUENCE); }
static gf_net *gru_net(gf_rng *rng) { return recurrent_net(rng, GF_RNN_GRU, 0); }

/* linear 4->5, a residual MLP block (no projection), a block with a projection 5->3
 * whose F holds batch norm, a block whose F holds layer norm and a nested block. */
static gf_net *res_net(gf_rng *rng)
{
    gf_init init = gf_init_default(GF_INIT_HE_NORMAL);
    gf_net *net = NULL, *f1 = NULL, *f2 = NULL, *f3 = NULL;
    assert_ok(gf_net_new(&net, 4));
    assert_ok(gf_net_add_linear(net, 5));
    assert_ok(gf_net_init(net, &init, rng));
    assert_ok(gf_net_add_residual_mlp(net, 2, "relu", NULL, 0, rng));
    assert_ok(gf_net_new(&f1, 5));
    assert_ok(gf_net_add_linear(f1, 3));
    assert_ok(gf_net_add_batchnorm(f1, 1e-5, 0.1));
    assert_ok(gf_net_add_activation(f1, "tanh"));
    assert_ok(gf_net_init(f1, &init, rng));
    assert_ok(gf_net_add_residual(net, f1, rng));
    assert_ok(gf_net_new(&f3, 3));
    assert_ok(gf_net_add_linear(f3, 3));
    assert_ok(gf_net_add_activation(f3, "relu"));
    assert_ok(gf_net_init(f3, &init, rng));
    assert_ok(gf_net_new(&f2, 3));
    assert_ok(gf_net_add_linear(f2, 3));
    assert_ok(gf_net_add_layernorm(f2, 1e-5));
    assert_ok(gf_net_init(f2, &init, rng));
    assert_ok(gf_net_add_residual(f2, f3, NULL));
    assert_ok(gf_net_add_residual(net, f2, NULL));
    assert_ok(gf_net_add_linear(net, 2));
    {
        gf_layer *last = gf_net_layer_mut(net, gf_net_layer_count(net) - 1);
        for (size_t i = 0; i < last->n_params; i++)
            gf_net_params_mut(net)[last->param_offset + i] =
                (gf_real)(0.3 * gf_rng_normal(rng));
    }
    return net;
}

/* Every layer of b is configured as a's: kinds, sizes, norm eps and momentum, batch-norm
 * running statistics (same bits), recurrent cells, steps, widths and flags, residual
 * blocks paired alike. Returns the batch-norm layers seen. */
int same_layers(gf_net *a, gf_net *b)
{
    int batch_norms = 0;
    assert_int_equal(gf_net_layer_count(b), gf_net_layer_count(a));
    assert_int_equal(gf_net_in_features(b), gf_net_in_features(a));
    for (size_t i = 0; i < gf_net_layer_count(a); i++) {
        gf_layer *la = gf_net_layer_mut(a, i), *lb = gf_net_layer_mut(b, i);
        const char *kind = la->ops->name;
        assert_string_equal(lb->ops->name, kind);
        assert_int_equal(lb->in, la->in);
        assert_int_equal(lb->out, la->out);
        assert_int_equal(lb->n_params, la->n_params);
        if (strcmp(kind, "batchnorm") == 0 || strcmp(kind, "layernorm") == 0) {
            double ea = 0, eb = 1, ma = 0, mb = 1;
            assert_ok(gf_norm_config(la, &ea, &ma));
            assert_ok(gf_norm_config(lb, &eb, &mb));
            assert_true(ea == eb && ma == mb);
        }
        if (strcmp(kind, "batchnorm") == 0) {
            const double *m1, *v1, *m2, *v2;
            size_t n1, n2;
            int moved = 0;
            assert_ok(gf_batchnorm_running(la, &m1, &v1, &n1));
            assert_ok(gf_batchnorm_running(lb, &m2, &v2, &n2));
            assert_int_equal(n1, n2);
            assert_memory_equal(m1, m2, n1 * sizeof *m1);
            assert_memory_equal(v1, v2, n1 * sizeof *v1);
            for (size_t j = 0; j < n1; j++)
                moved |= m1[j] != 0 && v1[j] != 1;
            assert_true(moved); /* not the initial statistics */
            batch_norms++;
        } else if (strcmp(kind, "rnn") == 0) {
            gf_rnn_cell ca, cb;
            size_t ia, ib, ha, hb, ta, tb;
            unsigned fa = 7, fb = 9;
            assert_ok(gf_rnn_shape(la, &ca, &ia, &ha, &ta));
            assert_ok(gf_rnn_shape(lb, &cb, &ib, &hb, &tb));
            assert_ok(gf_rnn_flags(la, &fa));
            assert_ok(gf_rnn_flags(lb, &fb));
            assert_true(ca == cb && ia == ib && ha == hb && ta == tb && fa == fb);
        } else if (strcmp(kind, "skip_add") == 0) {
            size_t ba = 0, bb = 1;
            assert_ok(gf_net_skip_open_before(a, &ba, i));
            assert_ok(gf_net_skip_open_before(b, &bb, i));
            assert_int_equal(bb, ba);
            assert_true(gf_skip_closes(la, gf_net_layer(a, ba)));
            assert_true(gf_skip_closes(lb, gf_net_layer(b, bb)));
            assert_int_equal(gf_skip_has_projection(lb), gf_skip_has_projection(la));
        }
    }
    return batch_norms;
}

/* Train a few steps (moving batch norm's statistics), save with Adam and the generator,
 * load: same layers and state, same parameters, the same predictions bit for bit
 * (batch norm in evaluation mode uses the restored running statistics), and saving
 * again writes the same bytes. Returns the batch-norm layers seen. */
static int kind_round_trip(gf_net *(*make)(gf_rng *), const char *kind)
{
    const char *path = "test_model_kinds.gfm";
    dataset d;
    gf_rng rng, rng2;
    gf_net *net, *back = NULL, *back2 = NULL;
    gf_optim *opt, *opt2 = NULL;
    gf_tensor *x = tu_tensor(5, 4);
    const gf_tensor *y1 = NULL, *y2 = NULL;
    double losses[4];
    void *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    int found = 0, batch_norms;

    dataset_make(&d);
    gf_rng_seed(&rng, 21);
    net = make(&rng);
    for (size_t i = 0; i < gf_net_layer_count(net); i++)
        found |= strcmp(gf_net_layer(net, i)->ops->name, kind) == 0;
    assert_true(found);
    opt = make_optim(GF_OPTIM_ADAM, gf_net_param_count(net));
    train(net, opt, &rng, &d, 0, 4, losses);
    tu_fill_uniform(x, &rng, -2, 2);

    assert_ok(gf_model_save_memory(&a, &na, net, opt, &rng));
    assert_ok(gf_model_load_memory(&back, &opt2, &rng2, a, na));
    batch_norms = same_layers(net, back);
    assert_int_equal(gf_net_param_count(back), gf_net_param_count(net));
    assert_memory_equal(gf_net_params(back), gf_net_params(net),
                        gf_net_param_count(net) * sizeof(gf_real));
    assert_int_equal(gf_net_step_count(back), 4);
    assert_same_rng(&rng2, &rng);
    assert_ok(gf_net_predict(net, &y1, x));
    assert_ok(gf_net_predict(back, &y2, x));
    assert_memory_equal(y1->data, y2->data, 5 * 2 * sizeof(gf_real));
    assert_true(gf_tensor_norm2(y1) > 1e-3);
    assert_ok(gf_model_save_memory(&b, &nb, back, opt2, &rng2));
    assert_int_equal(nb, na);
    assert_memory_equal(b, a, na);

    /* Through a file as well. */
    assert_ok(gf_model_save(path, net, NULL, NULL));
    assert_ok(gf_model_load(&back2, NULL, NULL, path));
    assert_ok(gf_net_predict(back2, &y2, x));
    assert_ok(gf_net_predict(net, &y1, x));
    assert_memory_equal(y1->data, y2->data, 5 * 2 * sizeof(gf_real));
    remove(path);

    gf_free(a);
    gf_free(b);
    gf_tensor_free(x);
    gf_optim_free(opt);
    gf_optim_free(opt2);
    gf_net_free(net);
    gf_net_free(back);
    gf_net_free(back2);
    dataset_free(&d);
    return batch_norms;
}

void batchnorm_round_trips(void **state)
{
    (void)state;
    assert_int_equal(kind_round_trip(bn_net, "batchnorm"), 1);
}

void layernorm_round_trips(void **state)
{
    (void)state;
    assert_int_equal(kind_round_trip(ln_net, "layernorm"), 0);
}

void recurrent_layers_round_trip(void **state)
{
    (void)state;
    kind_round_trip(rnn_net, "rnn");
    kind_round_trip(lstm_net, "rnn");
    kind_round_trip(gru_net, "rnn");
}

void residual_blocks_round_trip(void **state)
{
    (void)state;
    assert_int_equal(kind_round_trip(res_net, "skip_add"), 1); /* the one inside F */
}

/* The restored running statistics are what evaluation uses: with the initial ones
 * (mean 0, variance 1) the same parameters predict otherwise. */
void batchnorm_statistics_matter(void **state)
{
    dataset d;
    gf_rng rng;
    gf_net *net, *fresh;
    gf_optim *opt;
    gf_tensor *x = tu_tensor(5, 4);
    const gf_tensor *y1 = NULL, *y2 = NULL;
    double losses[4], zeros[6] = {0}, ones[6] = {1, 1, 1, 1, 1, 1};
    (void)state;
    dataset_make(&d);
    gf_rng_seed(&rng, 4);
    net = bn_net(&rng);
    opt = make_optim(GF_OPTIM_ADAM, gf_net_param_count(net));
    train(net, opt, &rng, &d, 0, 4, losses);
    tu_fill_uniform(x, &rng, -2, 2);
    {
        void *a = NULL;
        size_t na = 0;
        assert_ok(gf_model_save_memory(&a, &na, net, NULL, NULL));
        assert_ok(gf_model_load_memory(&fresh, NULL, NULL, a, na));
        gf_free(a);
    }
    assert_ok(gf_batchnorm_set_running(gf_net_layer_mut(fresh, 1), zeros, ones, 6));
    assert_ok(gf_net_predict(net, &y1, x));
    assert_ok(gf_net_predict(fresh, &y2, x));
    assert_memory_not_equal(y1->data, y2->data, 5 * 2 * sizeof(gf_real));
    gf_tensor_free(x);
    gf_optim_free(opt);
    gf_net_free(net);
    gf_net_free(fresh);
    dataset_free(&d);
}

void resume_batchnorm(void **state) { (void)state; resume_is_bit_for_bit(GF_OPTIM_ADAM, bn_net); }
void resume_layernorm(void **state) { (void)state; resume_is_bit_for_bit(GF_OPTIM_MOMENTUM, ln_net); }
void resume_rnn(void **state) { (void)state; resume_is_bit_for_bit(GF_OPTIM_ADAM, rnn_net); }
void resume_lstm(void **state) { (void)state; resume_is_bit_for_bit(GF_OPTIM_ADAM, lstm_net); }
void resume_gru(void **state) { (void)state; resume_is_bit_for_bit(GF_OPTIM_ADAM, gru_net); }
void resume_residual(void **state) { (void)state; resume_is_bit_for_bit(GF_OPTIM_ADAM, res_net); }

/* A file holding every added kind: batch norm, layer norm, an LSTM, residual blocks. */
static unsigned char *mixed_file(size_t *n)
{
    gf_rng rng;
    gf_net *net = NULL, *f = NULL;
    gf_optim *opt;
    void *data = NULL;
    gf_rng_seed(&rng, 13);
    assert_ok(gf_net_new(&net, 4));
    assert_ok(gf_net_add_rnn(net, GF_RNN_LSTM, 2, 2, GF_RNN_SEQUENCE, NULL, &rng));
    assert_ok(gf_net_add_batchnorm(net, 1e-5, 0.1));
    assert_ok(gf_net_new(&f, 4));
    assert_ok(gf_net_add_layernorm(f, 1e-5));
    assert_ok(gf_net_add_linear(f, 2));
    assert_ok(gf_net_add_residual(net, f, &rng));
    opt = make_optim(GF_OPTIM_MOMENTUM, gf_net_param_count(net));
    assert_ok(gf_model_save_memory(&data, n, net, opt, &rng));
    gf_net_free(net);
    gf_optim_free(opt);
    return data;
}

/* Every corrupted byte and every truncation refused (checksum); with the checksum
 * repaired, every corrupted byte is refused with a message or loads into a network that
 * saves back to the same bytes. */
void added_kinds_damaged_files_are_refused(void **state)
{
    size_t n = 0;
    unsigned char *good = mixed_file(&n);
    unsigned char *bad = malloc(n);
    (void)state;
    assert_non_null(bad);
    for (size_t i = 0; i < n; i++) {
        gf_status st;
        gf_net *net = NULL;
        gf_optim *opt = NULL;
        memcpy(bad, good, n);
        bad[i] ^= 0x41;
        st = load_refused(bad, n, NULL);
        if (!(st == GF_EFORMAT || (i >= 8 && i < 12 && st == GF_EUNSUPPORTED)))
            fail_msg("byte %zu: status %s", i, gf_strerror(st));
        assert_int_equal(load_refused(good, i, NULL), GF_EFORMAT);
        fix_crc(bad, n);
        gf_clear_error();
        st = gf_model_load_memory(&net, &opt, NULL, bad, n);
        if (st == GF_OK) {
            void *again = NULL;
            size_t na = 0;
            assert_ok(gf_model_save_memory(&again, &na, net, opt, NULL));
            gf_free(again);
            gf_net_free(net);
            gf_optim_free(opt);
        } else {
            assert_true(gf_last_error()[0] != '\0');
            assert_null(net);
        }
    }
    free(bad);
    gf_free(good);
}

/* Find `kind` as a layer record's name; return the offset of its payload. */
size_t payload_of(const unsigned char *buf, size_t n, const char *kind)
{
    size_t k = strlen(kind);
    for (size_t i = 4; i + k + 32 <= n; i++)
        if (buf[i - 4] == k && memcmp(buf + i, kind, k) == 0)
            return i + k + 32;
    fail_msg("no %s record", kind);
    return 0;
}

void put_le(unsigned char *d, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        d[i] = (unsigned char)(v >> (8 * i));
}

/* Consistent checksums over inconsistent payloads of the added kinds. */
void added_kinds_bad_payloads_are_refused(void **state)
{
    size_t n = 0, at;
    unsigned char *good = mixed_file(&n);
    unsigned char *buf = malloc(n);
    double bits;
    uint64_t u;
    (void)state;
    assert_non_null(buf);
    /* Batch norm: a negative running variance, a NaN eps, a momentum above 1. */
    memcpy(buf, good, n);
    at = payload_of(buf, n, "batchnorm");
    bits = -1.0;
    memcpy(&u, &bits, 8);
    put_le(buf + at + 16 + 8 * 4, u, 8); /* var[0] after eps, momentum, mean[4] */
    fix_crc(buf, n);
    assert_int_equal(load_refused(buf, n, NULL), GF_EFORMAT);
    assert_error_mentions("variance");
    memcpy(buf, good, n);
    bits = NAN;
    memcpy(&u, &bits, 8);
    put_le(buf + at, u, 8);
    fix_crc(buf, n);
    assert_int_equal(load_refused(buf, n, NULL), GF_EFORMAT);
    assert_error_mentions("eps");
    memcpy(buf, good, n);
    bits = 1.5;
    memcpy(&u, &bits, 8);
    put_le(buf + at + 8, u, 8);
    fix_crc(buf, n);
    assert_int_equal(load_refused(buf, n, NULL), GF_EFORMAT);
    assert_error_mentions("momentum");
    /* Layer norm: eps 0. */
    memcpy(buf, good, n);
    put_le(buf + payload_of(buf, n, "layernorm"), 0, 8);
    fix_crc(buf, n);
    assert_int_equal(load_refused(buf, n, NULL), GF_EFORMAT);
    /* Recurrent: an unknown cell, the "tanh" alias (one spelling per cell), steps that
     * do not divide the input, unknown flags, hidden units the record does not match. */
    memcpy(buf, good, n);
    patch_string(buf, n, "lstm", "lstx");
    assert_int_equal(load_refused(buf, n, NULL), GF_EUNSUPPORTED);
    assert_error_mentions("lstx");
    memcpy(buf, good, n);
    patch_string(buf, n, "lstm", "tanh");
    assert_int_equal(load_refused(buf, n, NULL), GF_EFORMAT);
    assert_error_mentions("tanh");
    at = payload_of(good, n, "rnn") + 8; /* after the cell's name */
    memcpy(buf, good, n);
    put_le(buf + at, 3, 8);
    fix_crc(buf, n);
    assert_int_equal(load_refused(buf, n, NULL), GF_EFORMAT);
    memcpy(buf, good, n);
    put_le(buf + at, (uint64_t)1 << 40, 8);
    fix_crc(buf, n);
    assert_int_equal(load_refused(buf, n, NULL), GF_EFORMAT);
    memcpy(buf, good, n);
    put_le(buf + at + 16, 2, 4);
    fix_crc(buf, n);
    assert_int_equal(load_refused(buf, n, NULL), GF_EFORMAT);
    memcpy(buf, good, n);
    put_le(buf + at + 8, 3, 8);
    fix_crc(buf, n);
    assert_int_equal(load_refused(buf, n, NULL), GF_EFORMAT);
    assert_error_mentions("parameters");
    /* Residual blocks: a skip_add whose parameters do not fit its block; a skip_begin
     * with parameters; a skip_add that closes no block (its skip_begin renamed). (The
     * version-1 nested records: version_1_residual_blocks_are_flattened.) */
    memcpy(buf, good, n);
    put_le(buf + payload_of(good, n, "skip_add") - 16, 3, 8);
    fix_crc(buf, n);
    assert_int_equal(load_refused(buf, n, NULL), GF_EFORMAT);
    memcpy(buf, good, n);
    put_le(buf + payload_of(good, n, "skip_begin") - 16, 1, 8);
    fix_crc(buf, n);
    assert_int_equal(load_refused(buf, n, NULL), GF_EFORMAT);
    memcpy(buf, good, n);
    patch_string(buf, n, "skip_begin", "skip_xegin");
    assert_int_equal(load_refused(buf, n, NULL), GF_EUNSUPPORTED);
    /* An inner kind this build does not know is named. */
    memcpy(buf, good, n);
    patch_string(buf, n, "layernorm", "layernorx");
    assert_int_equal(load_refused(buf, n, NULL), GF_EUNSUPPORTED);
    assert_error_mentions("layernorx");
    free(buf);
    gf_free(good);
}

/* Residual blocks nested 9 deep (more than version 1 could hold) are flat now: they save
 * (as version 2) and load as the same network. */
void deep_nesting_is_flat(void **state)
{
    gf_net *net = NULL, *back = NULL;
    void *data = NULL;
    size_t n = 0;
    (void)state;
    assert_ok(gf_net_new(&net, 2));
    assert_ok(gf_net_add_linear(net, 2));
    for (int d = 0; d < 9; d++) {
        gf_net *outer = NULL;
        assert_ok(gf_net_new(&outer, 2));
        assert_ok(gf_net_add_residual(outer, net, NULL));
        net = outer;
    }
    assert_int_equal(gf_net_layer_count(net), 19);
    assert_ok(gf_model_save_memory(&data, &n, net, NULL, NULL));
    assert_int_equal(((unsigned char *)data)[8], GF_MODEL_VERSION);
    assert_ok(gf_model_load_memory(&back, NULL, NULL, data, n));
    (void)same_layers(net, back);
    gf_free(data);
    gf_net_free(back);
    gf_net_free(net);
}

/* The two getters model files need, on layers of other kinds. */
void getters_refuse_other_layers(void **state)
{
    gf_net *net = NULL;
    double eps = 0, momentum = 0;
    unsigned flags = 0;
    gf_rng rng;
    (void)state;
    gf_rng_seed(&rng, 1);
    assert_ok(gf_net_new(&net, 4));
    assert_ok(gf_net_add_linear(net, 4));
    assert_ok(gf_net_add_layernorm(net, 0.5));
    assert_ok(gf_net_add_rnn(net, GF_RNN_GRU, 3, 2, GF_RNN_SEQUENCE, NULL, &rng));
    assert_status(gf_norm_config(gf_net_layer(net, 0), &eps, &momentum), GF_EINVAL);
    assert_error_mentions("gf_norm_config");
    assert_status(gf_norm_config(NULL, &eps, &momentum), GF_EINVAL);
    assert_error_mentions("gf_norm_config");
    assert_ok(gf_norm_config(gf_net_layer(net, 1), &eps, &momentum));
    assert_true(eps == 0.5 && momentum == 0);
    assert_ok(gf_norm_config(gf_net_layer(net, 1), NULL, NULL));
    assert_status(gf_rnn_flags(gf_net_layer(net, 1), &flags), GF_EINVAL);
    assert_error_mentions("gf_rnn_flags");
    assert_status(gf_rnn_flags(gf_net_layer(net, 2), NULL), GF_EINVAL);
    assert_error_mentions("gf_rnn_flags");
    assert_ok(gf_rnn_flags(gf_net_layer(net, 2), &flags));
    assert_int_equal(flags, GF_RNN_SEQUENCE);
    gf_net_free(net);
}

void corrupted_byte_at_every_offset_is_refused(void **state)
{
    static const unsigned char masks[] = {0x01, 0x80, 0xFF};
    const char *path = "test_model_corrupt.gfm";
    size_t n = 0;
    unsigned char *good = small_file(&n);
    unsigned char *bad = malloc(n);
    (void)state;
    assert_non_null(bad);
    assert_true(n > 200 && n < 1000);
    for (size_t i = 0; i < n; i++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            gf_status st;
            memcpy(bad, good, n);
            bad[i] ^= masks[m];
            if (m == 2) { /* through a file too */
                write_bytes(path, bad, n);
                st = load_refused(NULL, n, path);
            } else {
                st = load_refused(bad, n, NULL);
            }
            /* The version field can turn into a newer version: unsupported, not corrupt. */
            if (!(st == GF_EFORMAT || (i >= 8 && i < 12 && st == GF_EUNSUPPORTED)))
                fail_msg("byte %zu ^ 0x%02x: status %s", i, masks[m], gf_strerror(st));
        }
    }
    remove(path);
    free(bad);
    gf_free(good);
}

void truncation_at_every_length_is_refused(void **state)
{
    const char *path = "test_model_truncated.gfm";
    size_t n = 0;
    unsigned char *good = small_file(&n);
    (void)state;
    for (size_t len = 0; len < n; len++) {
        assert_int_equal(load_refused(good, len, NULL), GF_EFORMAT);
        write_bytes(path, good, len);
        assert_int_equal(load_refused(NULL, len, path), GF_EFORMAT);
    }
    /* One byte too many is refused as well. */
    {
        unsigned char *longer = malloc(n + 1);
        assert_non_null(longer);
        memcpy(longer, good, n);
        longer[n] = 0;
        assert_int_equal(load_refused(longer, n + 1, NULL), GF_EFORMAT);
        free(longer);
    }
    remove(path);
    gf_free(good);
}

void foreign_files_are_named_as_such(void **state)
{
    static const char csv[] = "step,layer,kind\n0,0,linear\n";
    static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
                                        0, 0, 0, 13, 'I', 'H', 'D', 'R'};
    (void)state;
    assert_int_equal(load_refused(csv, sizeof csv - 1, NULL), GF_EFORMAT);
    assert_error_mentions("not a gradflow model file");
    assert_int_equal(load_refused(png, sizeof png, NULL), GF_EFORMAT);
    assert_error_mentions("magic");
    assert_int_equal(load_refused("", 0, NULL), GF_EFORMAT);
    write_bytes("test_model_foreign.gfm", csv, sizeof csv - 1);
    assert_int_equal(load_refused(NULL, 0, "test_model_foreign.gfm"), GF_EFORMAT);
    assert_error_mentions("test_model_foreign.gfm"); /* the path is in the message */
    remove("test_model_foreign.gfm");
}

void future_and_zero_versions_are_refused(void **state)
{
    size_t n = 0;
    unsigned char *buf = small_file(&n);
    (void)state;
    buf[8] = GF_MODEL_VERSION + 1; /* version 3, with a valid checksum */
    fix_crc(buf, n);
    assert_int_equal(load_refused(buf, n, NULL), GF_EUNSUPPORTED);
    assert_error_mentions("version 3");
    buf[8] = 0;
    fix_crc(buf, n);
    assert_int_equal(load_refused(buf, n, NULL), GF_EFORMAT);
    assert_error_mentions("version 0");
    gf_free(buf);
}

void unknown_kinds_are_named(void **state)
{
    size_t n = 0;
    unsigned char *good = small_file(&n);
    unsigned char *buf = malloc(n);
    (void)state;
    assert_non_null(buf);
    /* A layer kind another build might have ("activation" has 10 letters). */
    memcpy(buf, good, n);
    patch_string(buf, n, "activation", "batch_norm");
    assert_int_equal(load_refused(buf, n, NULL), GF_EUNSUPPORTED);
    assert_error_mentions("batch_norm");
    assert_error_mentions("layer 1");
    memcpy(buf, good, n);
    patch_string(buf, n, "tanh", "tanx");
    assert_int_equal(load_refused(buf, n, NULL), GF_EUNSUPPORTED);
    assert_error_mentions("tanx");
    memcpy(buf, good, n);
    patch_string(buf, n, "adam", "adax");
    assert_int_equal(load_refused(buf, n, NULL), GF_EUNSUPPORTED);
    assert_error_mentions("adax");
    /* A name with a byte that is not a name character is malformed, not unknown. */
    memcpy(buf, good, n);
    patch_string(buf, n, "tanh", "ta\nh");
    assert_int_equal(load_refused(buf, n, NULL), GF_EFORMAT);
    free(buf);
    gf_free(good);
}

/* Consistent checksums over inconsistent contents: each refused as malformed. */
void inconsistent_contents_are_refused(void **state)
{
    size_t n = 0;
    unsigned char *good = small_file(&n);
    unsigned char *buf = malloc(n);
    (void)state;
    assert_non_null(buf);
    /* Header fields at fixed offsets: real size 12, flags 16, reserved 20, in 24, layers
     * 40, parameters 48. Each patched to a wrong value, checksum fixed. */
    {
        static const struct { size_t at; unsigned char value; } cases[] = {
            {12, 3}, {16, 0x10}, {20, 1}, {24, 0}, {24, 3}, {40, 3}, {40, 5}, {40, 0xFF},
            {48, 1}, {48, 0xFF}, {55, 0x7F}, {31, 0x80}, {47, 0x01},
        };
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            memcpy(buf, good, n);
            buf[cases[c].at] = cases[c].value;
            fix_crc(buf, n);
            assert_int_equal(load_refused(buf, n, NULL), GF_EFORMAT);
        }
    }
    /* Every single-byte change with the checksum fixed: never a crash; a refusal is
     * EFORMAT or EUNSUPPORTED; an acceptance (a changed parameter value) gives a network
     * that saves back to exactly those bytes. */
    for (size_t i = 12; i < n - 4; i++) {
        gf_net *net = NULL;
        gf_optim *opt = NULL;
        gf_rng rng;
        gf_status st;
        memcpy(buf, good, n);
        buf[i] ^= 0x41;
        fix_crc(buf, n);
        st = gf_model_load_memory(&net, &opt, &rng, buf, n);
        if (st == GF_OK) {
            void *again = NULL;
            size_t na = 0;
            assert_ok(gf_model_save_memory(&again, &na, net, opt, &rng));
            assert_int_equal(na, n);
            assert_memory_equal(again, buf, n);
            gf_free(again);
            gf_net_free(net);
            gf_optim_free(opt);
        } else {
            assert_true(st == GF_EFORMAT || st == GF_EUNSUPPORTED);
            assert_true(gf_last_error()[0] != '\0');
            assert_null(net);
            assert_null(opt);
        }
    }
    free(buf);
    gf_free(good);
}
