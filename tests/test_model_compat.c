/* tests/test_model_compat.c: model files, part of test_model (tests/test_model.h): the
 * version-1 bytes of a fixed model (float and double) still load and are written
 * identically, saving is atomic, kinds of your own save and load with a codec and are
 * refused without one, and bad arguments are refused. */
#define _POSIX_C_SOURCE 200809L /* fork, symlink, setrlimit: concurrent and hostile saves */
#include "test_model.h"
#include "../src/io/crc32.h" /* to forge checksums */

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixtures/model_v1.inc"
#include "fixtures/model_v1_residual.inc"

/* ---- Precision and the version-1 fixtures --------------------------------------------- */

static void check_fixture_contents(gf_net *net, gf_optim *opt, const gf_rng *rng)
{
    gf_rng want;
    size_t n = 0;
    const gf_real *v;
    assert_int_equal(gf_net_layer_count(net), 4);
    assert_string_equal(gf_net_layer_kind(net, 0), "linear");
    assert_string_equal(gf_net_layer_kind(net, 1), "sigmoid");
    assert_string_equal(gf_net_layer_kind(net, 2), "prelu");
    assert_string_equal(gf_net_layer_kind(net, 3), "linear");
    assert_true(gf_net_layer(net, 2)->act_param == (gf_real)0.25);
    assert_int_equal(gf_net_in_features(net), 3);
    assert_int_equal(gf_net_out_features(net), 1);
    assert_int_equal(gf_net_param_count(net), 13);
    for (size_t i = 0; i < 13; i++)
        assert_true(gf_net_params(net)[i] == (gf_real)((double)i / 8 - 1));
    assert_int_equal(gf_net_step_count(net), 7);
    assert_int_equal(gf_optim_config_of(opt)->kind, GF_OPTIM_MOMENTUM);
    assert_true(gf_optim_config_of(opt)->lr == 0.125);
    assert_true(gf_optim_config_of(opt)->momentum == 0.5);
    assert_int_equal(gf_optim_steps(opt), 5);
    v = gf_optim_state(opt, &n, 0);
    assert_int_equal(n, 13);
    for (size_t i = 0; i < 13; i++)
        assert_true(v[i] == (gf_real)((double)i / 16));
    assert_null(gf_optim_state(opt, NULL, 1));
    gf_rng_seed(&want, 42);
    (void)gf_rng_normal(&want);
    assert_memory_equal(rng->s, want.s, sizeof want.s);
    assert_int_equal(rng->has_spare, 1);
    assert_true(rng->spare == want.spare);
}

/* A float file loads in both builds (widened exactly in a double build); a double file
 * loads in a double build and is refused by a float build, which would round it. */
void version_1_fixtures_load(void **state)
{
    gf_net *net = NULL;
    gf_optim *opt = NULL;
    gf_rng rng;
    void *again = NULL;
    size_t n = 0;
    (void)state;
    assert_ok(gf_model_load_memory(&net, &opt, &rng, fixture_float, sizeof fixture_float));
    check_fixture_contents(net, opt, &rng);
#if !GF_REAL_IS_DOUBLE
    /* The writer still produces version 1's bytes exactly. */
    assert_ok(gf_model_save_memory(&again, &n, net, opt, &rng));
    assert_int_equal(n, sizeof fixture_float);
    assert_memory_equal(again, fixture_float, n);
    gf_free(again);
#endif
    gf_net_free(net);
    gf_optim_free(opt);

#if GF_REAL_IS_DOUBLE
    assert_ok(gf_model_load_memory(&net, &opt, &rng, fixture_double, sizeof fixture_double));
    check_fixture_contents(net, opt, &rng);
    assert_ok(gf_model_save_memory(&again, &n, net, opt, &rng));
    assert_int_equal(n, sizeof fixture_double);
    assert_memory_equal(again, fixture_double, n);
    gf_free(again);
    gf_net_free(net);
    gf_optim_free(opt);
#else
    (void)again;
    assert_int_equal(load_refused(fixture_double, sizeof fixture_double, NULL),
                     GF_EUNSUPPORTED);
    assert_error_mentions("double");
#endif
}

/* A version-1 file with nested residual blocks (tests/fixtures, written before blocks were
 * flat) loads flattened: skip_begin, F's layers, skip_add, with the parameters, batch
 * norm's running statistics and the optimiser state where they were, so it predicts
 * what the old network predicted. Saved again, it is a version-2 file of the same
 * network; relabelled version 1, that file is refused (skip records are version 2's).
 * The nested records' own checks: no inner layers, more than the payload holds. */
void version_1_residual_blocks_are_flattened(void **state)
{
    static const char *const kinds[] = {
        "linear", "skip_begin", "linear", "relu", "linear", "skip_add",
        "skip_begin", "linear", "batchnorm", "tanh", "skip_add",
        "skip_begin", "linear", "layernorm", "skip_begin", "linear", "relu", "skip_add",
        "skip_add", "linear"};
    gf_net *net = NULL, *back = NULL;
    gf_optim *opt = NULL;
    gf_tensor *x = tu_tensor(6, 4);
    const gf_tensor *y;
    unsigned char *buf = malloc(sizeof v1_residual_file);
    void *again = NULL;
    size_t n = sizeof v1_residual_file, m = 0, at;
    (void)state;
    assert_non_null(buf);
    assert_int_equal(v1_residual_file[8], 1);
    assert_ok(gf_model_load_memory(&net, &opt, NULL, v1_residual_file, n));
    assert_int_equal(gf_net_layer_count(net), 20);
    for (size_t i = 0; i < 20; i++)
        assert_string_equal(gf_net_layer_kind(net, i), kinds[i]);
    assert_true(gf_skip_has_projection(gf_net_layer(net, 10)));
    assert_true(gf_skip_closes(gf_net_layer(net, 18), gf_net_layer(net, 11)));
    assert_int_equal(gf_net_param_count(net), 165);
    assert_non_null(opt);
    assert_int_equal(gf_optim_steps(opt), 3);
    assert_int_equal(gf_net_step_count(net), 3);
    for (size_t i = 0; i < 24; i++)
        x->data[i] = (gf_real)v1_input[i];
    assert_ok(gf_net_predict(net, &y, x));
    for (size_t i = 0; i < 12; i++)
        assert_near(y->data[i], v1_output[i], 1e-6, 1e-5);

    assert_ok(gf_model_save_memory(&again, &m, net, opt, NULL));
    assert_int_equal(((unsigned char *)again)[8], 2);
    assert_ok(gf_model_load_memory(&back, NULL, NULL, again, m));
    (void)same_layers(net, back);
    ((unsigned char *)again)[8] = 1;
    fix_crc(again, m);
    assert_int_equal(load_refused(again, m, NULL), GF_EFORMAT);
    assert_error_mentions("version 1");

    /* The nested record's checks: no inner layers; more than the payload holds. */
    at = payload_of(v1_residual_file, n, "residual");
    memcpy(buf, v1_residual_file, n);
    put_le(buf + at + 8, 0, 8);
    fix_crc(buf, n);
    assert_int_equal(load_refused(buf, n, NULL), GF_EFORMAT);
    memcpy(buf, v1_residual_file, n);
    assert_int_equal(buf[at + 8], 3); /* F of the first block: linear, relu, linear */
    put_le(buf + at + 8, 4, 8);
    fix_crc(buf, n);
    assert_int_equal(load_refused(buf, n, NULL), GF_EFORMAT);
    /* A nested record in a version-2 file is refused. */
    memcpy(buf, v1_residual_file, n);
    buf[8] = 2;
    fix_crc(buf, n);
    assert_int_equal(load_refused(buf, n, NULL), GF_EFORMAT);
    assert_error_mentions("version 1");

    free(buf);
    gf_free(again);
    gf_tensor_free(x);
    gf_optim_free(opt);
    gf_net_free(back);
    gf_net_free(net);
}

/* ---- Atomic saving -------------------------------------------------------------------- */

/* A layer of a kind the format does not know (other helpers add such kinds). */
static gf_status mystery_forward(gf_layer *l, const gf_tensor *x, gf_tensor *y, int training)
{
    (void)l;
    (void)training;
    return gf_tensor_copy(y, x);
}

static gf_status mystery_backward(gf_layer *l, const gf_tensor *x, const gf_tensor *y,
                                  const gf_tensor *dy, gf_tensor *dx)
{
    (void)l;
    (void)x;
    (void)y;
    return dx != NULL ? gf_tensor_axpy(dx, dy, 1) : GF_OK;
}

static const gf_layer_ops mystery_ops = {"mystery", mystery_forward, mystery_backward,
                                         NULL, NULL, NULL, NULL, NULL /* no codec */};

void save_is_atomic(void **state)
{
    const char *path = "test_model_atomic.gfm";
    gf_rng rng;
    gf_net *net, *odd = NULL, *back = NULL;
    gf_layer l;
    unsigned char *before, *after;
    size_t nb = 0, na = 0;
    (void)state;
    gf_rng_seed(&rng, 2);
    net = small_net(&rng);
    remove(path);

    /* A file at the old fixed temporary name path.tmp (a crash of an older version, or
     * planted) does not matter: the save neither uses nor touches it, and leaves no
     * temporary file of its own. */
    write_bytes("test_model_atomic.gfm.tmp", "GFMOD", 5);
    assert_ok(gf_model_save(path, net, NULL, &rng));
    {
        size_t ns = 0;
        unsigned char *stale = read_bytes("test_model_atomic.gfm.tmp", &ns);
        assert_non_null(stale);
        assert_int_equal(ns, 5);
        assert_memory_equal(stale, "GFMOD", 5);
        free(stale);
        remove("test_model_atomic.gfm.tmp");
    }
    assert_int_equal(temporaries_of(".", "test_model_atomic.gfm"), 0);
    before = read_bytes(path, &nb);
    assert_non_null(before);

    /* A failed save (a layer kind the format cannot store) writes nothing: the old file
     * is intact and no temporary is left. */
    assert_ok(gf_net_new(&odd, 4));
    memset(&l, 0, sizeof l);
    l.ops = &mystery_ops;
    l.in = l.out = 4;
    assert_ok(gf_net_add_layer(odd, &l));
    assert_ok(gf_net_add_linear(odd, 2));
    assert_status(gf_model_save(path, odd, NULL, NULL), GF_EUNSUPPORTED);
    assert_error_mentions("mystery");
    assert_error_mentions("layer 0");
    assert_error_mentions("no model-file codec");
    after = read_bytes(path, &na);
    assert_non_null(after);
    assert_int_equal(na, nb);
    assert_memory_equal(after, before, nb);
    assert_false(file_exists("test_model_atomic.gfm.tmp"));
    assert_int_equal(temporaries_of(".", "test_model_atomic.gfm"), 0);
    free(after);

    /* An unwritable place: GF_EIO naming the file and the reason, nothing left behind. */
    assert_status(gf_model_save("no_such_dir_for_gradflow/x.gfm", net, NULL, NULL), GF_EIO);
    assert_error_mentions("no_such_dir_for_gradflow/x.gfm");
    assert_error_mentions("No such file");
    assert_false(file_exists("no_such_dir_for_gradflow/x.gfm.tmp"));

    /* Overwriting replaces the contents as a whole. */
    gf_net_set_step_count(net, 9);
    assert_ok(gf_model_save(path, net, NULL, NULL));
    assert_ok(gf_model_load(&back, NULL, NULL, path));
    assert_int_equal(gf_net_step_count(back), 9);
    assert_false(file_exists("test_model_atomic.gfm.tmp"));
    assert_int_equal(temporaries_of(".", "test_model_atomic.gfm"), 0);

    remove(path);
    free(before);
    gf_net_free(back);
    gf_net_free(odd);
    gf_net_free(net);
}

/* A symbolic link planted at the old fixed temporary name (PATH.tmp) pointing at a file
 * of the victim's: the save neither follows it nor overwrites the victim. */
void planted_link_is_not_followed(void **state)
{
    const char *path = "test_model_link.gfm", *victim = "test_model_victim.txt";
    gf_rng rng;
    gf_net *net, *back = NULL;
    unsigned char *v;
    size_t nv = 0;
    struct stat sb;
    (void)state;
    gf_rng_seed(&rng, 3);
    net = small_net(&rng);
    remove(path);
    remove("test_model_link.gfm.tmp");
    write_bytes(victim, "precious", 8);
    assert_int_equal(symlink(victim, "test_model_link.gfm.tmp"), 0);

    assert_ok(gf_model_save(path, net, NULL, NULL));
    v = read_bytes(victim, &nv);
    assert_non_null(v);
    assert_int_equal(nv, 8);
    assert_memory_equal(v, "precious", 8);
    assert_int_equal(lstat("test_model_link.gfm.tmp", &sb), 0);
    assert_true(S_ISLNK(sb.st_mode));
    assert_int_equal(lstat(path, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    assert_ok(gf_model_load(&back, NULL, NULL, path));
    assert_int_equal(gf_net_param_count(back), gf_net_param_count(net));

    free(v);
    remove("test_model_link.gfm.tmp");
    remove(victim);
    remove(path);
    gf_net_free(back);
    gf_net_free(net);
}

/* Four processes saving to one path at once, several rounds: the file always loads
 * (its checksum holds) and is the whole model of one of them; no temporary is left.
 * With the old shared PATH.tmp this failed in 6 of 10 rounds. */
void concurrent_saves_leave_a_whole_model(void **state)
{
    const char *path = "test_model_race.gfm";
    (void)state;
    for (int round = 0; round < 5; round++) {
        pid_t kids[4];
        remove(path);
        for (int k = 0; k < 4; k++) {
            kids[k] = fork();
            assert_true(kids[k] >= 0);
            if (kids[k] == 0) {
                gf_rng rng;
                gf_net *net;
                int bad = 0;
                gf_rng_seed(&rng, 100 + (uint64_t)k);
                net = small_net(&rng);
                /* The step count tells the writers apart. */
                gf_net_set_step_count(net, 1000 + (uint64_t)k);
                for (int i = 0; i < 20; i++)
                    bad |= gf_model_save(path, net, NULL, &rng) != GF_OK;
                gf_net_free(net);
                _exit(bad);
            }
        }
        for (int k = 0; k < 4; k++) {
            int ws = 0;
            assert_int_equal(waitpid(kids[k], &ws, 0), kids[k]);
            assert_true(WIFEXITED(ws));
            assert_int_equal(WEXITSTATUS(ws), 0);
        }
        gf_net *back = NULL;
        assert_ok(gf_model_load(&back, NULL, NULL, path));
        assert_true(gf_net_step_count(back) >= 1000 && gf_net_step_count(back) < 1004);
        gf_net_free(back);
        assert_int_equal(temporaries_of(".", "test_model_race.gfm"), 0);
    }
    remove(path);
}

/* A file size limit (ulimit -f) reached part way through a save, SIGXFSZ ignored as
 * the tool does: GF_EIO naming the reason (EFBIG), the old file untouched, no temporary
 * left. In a child, whose limit dies with it. */
void save_over_the_size_limit_fails_cleanly(void **state)
{
    const char *path = "test_model_fsize.gfm";
    gf_rng rng;
    gf_net *net;
    unsigned char *before, *after;
    size_t nb = 0, na = 0;
    pid_t kid;
    int ws = 0;
    (void)state;
    gf_rng_seed(&rng, 4);
    net = small_net(&rng);
    assert_ok(gf_model_save(path, net, NULL, NULL));
    before = read_bytes(path, &nb);
    assert_true(nb > 64);
    kid = fork();
    assert_true(kid >= 0);
    if (kid == 0) {
        struct rlimit rl = {.rlim_cur = 64, .rlim_max = 64};
        gf_net_set_step_count(net, 77);
        signal(SIGXFSZ, SIG_IGN);
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
            _exit(3);
        gf_status st = gf_model_save(path, net, NULL, NULL);
        _exit(st == GF_EIO && strstr(gf_last_error(), "File too large") != NULL ? 0 : 1);
    }
    assert_int_equal(waitpid(kid, &ws, 0), kid);
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), 0);
    after = read_bytes(path, &na);
    assert_int_equal(na, nb);
    assert_memory_equal(after, before, nb);
    assert_int_equal(temporaries_of(".", "test_model_fsize.gfm"), 0);
    free(before);
    free(after);
    remove(path);
    gf_net_free(net);
}

/* A layer kind the format does not know is refused also inside a residual block, naming
 * the kind and the layer: GF_EUNSUPPORTED, nothing written. */
void other_layer_kinds_are_named(void **state)
{
    gf_net *net = NULL, *inner = NULL;
    void *data = (void *)&net;
    size_t n = 1;
    gf_layer l;
    (void)state;
    assert_ok(gf_net_new(&net, 3));
    assert_ok(gf_net_add_linear(net, 4));
    assert_ok(gf_net_new(&inner, 4));
    memset(&l, 0, sizeof l);
    l.ops = &mystery_ops;
    l.in = l.out = 4;
    assert_ok(gf_net_add_layer(inner, &l));
    assert_ok(gf_net_add_residual(net, inner, NULL));
    assert_status(gf_model_save_memory(&data, &n, net, NULL, NULL), GF_EUNSUPPORTED);
    assert_error_mentions("mystery");
    assert_error_mentions("layer 2"); /* linear, skip_begin, then the mystery */
    assert_null(data);
    assert_int_equal(n, 0);
    gf_net_free(net);
}

/* ---- The registry and kinds of your own ------------------------------------------------
 * A scale layer y = a x (one learnable a_j per feature) with a codec: its payload is the
 * initial value reset() gives a (one f64), kept in act_param as PReLU keeps its slope. */

static gf_status scale_forward(gf_layer *l, const gf_tensor *x, gf_tensor *y, int training)
{
    (void)training;
    for (size_t i = 0; i < x->rows * l->out; i++)
        y->data[i] = l->weight.data[i % l->out] * x->data[i];
    return GF_OK;
}

static gf_status scale_backward(gf_layer *l, const gf_tensor *x, const gf_tensor *y,
                                const gf_tensor *dy, gf_tensor *dx)
{
    (void)y;
    for (size_t i = 0; i < x->rows * l->out; i++) {
        if (dx != NULL)
            dx->data[i] += dy->data[i] * l->weight.data[i % l->out];
        l->dweight.data[i % l->out] += dy->data[i] * x->data[i];
    }
    return GF_OK;
}

static void scale_reset(gf_layer *l)
{
    for (size_t j = 0; j < l->out; j++)
        l->weight.data[j] = l->act_param;
}

static gf_status scale_encode(gf_writer *w, const gf_layer *l);
static gf_status scale_decode(gf_layer *l, const gf_layer_record *rec, gf_reader *r);
static const gf_layer_codec scale_codec = {scale_encode, scale_decode, NULL};
static const gf_layer_ops scale_ops = {
    .name = "scale", .forward = scale_forward, .backward = scale_backward,
    .reset = scale_reset, .codec = &scale_codec,
};

static void layer_scale(gf_layer *l, size_t n, gf_real initial)
{
    memset(l, 0, sizeof *l);
    l->ops = &scale_ops;
    l->in = l->out = n;
    l->weight = l->dweight = (gf_tensor){.data = NULL, .rows = 1, .cols = n};
    l->n_params = n;
    l->act_param = initial;
}

static gf_status scale_encode(gf_writer *w, const gf_layer *l)
{
    gf_write_f64(w, (double)l->act_param);
    return GF_OK;
}

static gf_status scale_decode(gf_layer *l, const gf_layer_record *rec, gf_reader *r)
{
    double initial = 0;
    gf_status st = gf_read_f64(r, &initial, "scale initial value");
    if (st == GF_OK && (rec->in != rec->out || rec->n_params != rec->out))
        st = GF_EFORMAT;
    if (st == GF_OK)
        layer_scale(l, rec->in, (gf_real)initial);
    return st;
}

/* 3 -> linear 4 -> scale (initial 0.75) -> tanh -> linear 2, trained one SGD step so
 * that the scale's parameters are no longer their initial values. */
static gf_net *net_with_scale(void)
{
    gf_net *net = NULL;
    gf_layer l;
    gf_rng rng;
    gf_init init = gf_init_default(GF_INIT_XAVIER_NORMAL);
    gf_tensor *x = NULL, *t = NULL;
    gf_optim_config c = gf_optim_default(GF_OPTIM_SGD);
    gf_optim *opt = NULL;
    double loss = 0;
    gf_rng_seed(&rng, 11);
    assert_ok(gf_net_new(&net, 3));
    assert_ok(gf_net_add_linear(net, 4));
    layer_scale(&l, 4, (gf_real)0.75);
    assert_ok(gf_net_add_layer(net, &l));
    assert_ok(gf_net_add_activation(net, "tanh"));
    assert_ok(gf_net_add_linear(net, 2));
    assert_ok(gf_net_init(net, &init, &rng));
    assert_ok(gf_tensor_new(&x, 5, 3));
    assert_ok(gf_tensor_new(&t, 5, 2));
    for (size_t i = 0; i < 15; i++)
        x->data[i] = (gf_real)gf_rng_normal(&rng);
    for (size_t i = 0; i < 10; i++)
        t->data[i] = (gf_real)gf_rng_normal(&rng);
    c.lr = 0.1;
    assert_ok(gf_optim_new(&opt, &c, gf_net_param_count(net)));
    assert_ok(gf_net_train_step(net, &loss, x, t, opt, GF_LOSS_MSE, NULL));
    gf_optim_free(opt);
    gf_tensor_free(x);
    gf_tensor_free(t);
    return net;
}

/* Saved with its codec and loaded with gf_model_load_memory_with: the same layers, every
 * parameter bit for bit, the same forward output, and the same bytes saved again. */
void own_kind_with_codec_round_trips(void **state)
{
    const gf_layer_ops *const mine[] = {&scale_ops};
    gf_net *net = net_with_scale(), *back = NULL;
    void *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    gf_tensor *x = NULL;
    const gf_tensor *y0 = NULL, *y1 = NULL;
    (void)state;
    assert_ok(gf_model_save_memory(&a, &na, net, NULL, NULL));
    assert_ok(gf_model_load_memory_with(&back, NULL, NULL, a, na, mine, 1));
    assert_int_equal(gf_net_layer_count(back), 4);
    assert_ptr_equal(gf_net_layer(back, 1)->ops, &scale_ops);
    assert_true(gf_net_layer(back, 1)->act_param == (gf_real)0.75);
    assert_string_equal(gf_net_layer_kind(back, 1), "scale");
    assert_int_equal(gf_net_param_count(back), gf_net_param_count(net));
    assert_memory_equal(gf_net_params(back), gf_net_params(net),
                        gf_net_param_count(net) * sizeof(gf_real));
    /* The scale's slopes moved off 0.75 in training, and came back as trained. */
    assert_true(gf_net_layer(back, 1)->weight.data[0] != (gf_real)0.75);
    assert_ok(gf_tensor_new(&x, 2, 3));
    for (size_t i = 0; i < 6; i++)
        x->data[i] = (gf_real)(0.25 * (double)i - 0.5);
    assert_ok(gf_net_forward(net, &y0, x));
    assert_ok(gf_net_forward(back, &y1, x));
    assert_memory_equal(y1->data, y0->data, 4 * sizeof(gf_real));
    assert_ok(gf_model_save_memory(&b, &nb, back, NULL, NULL));
    assert_int_equal(nb, na);
    assert_memory_equal(b, a, na);

    /* Without the list the kind is unknown: named, with the way to load it. */
    gf_net_free(back);
    back = (gf_net *)a;
    assert_status(gf_model_load_memory(&back, NULL, NULL, a, na), GF_EUNSUPPORTED);
    assert_null(back);
    assert_error_mentions("'scale'");
    assert_error_mentions("gf_model_load_with");
    gf_tensor_free(x);
    gf_free(a);
    gf_free(b);
    gf_net_free(net);
}

/* A list of kinds of one's own must name kinds that can be decoded, under names that no
 * built-in kind has. */
void own_kinds_are_checked(void **state)
{
    static const gf_layer_ops no_codec = {.name = "plain", .forward = scale_forward,
                                          .backward = scale_backward};
    static const gf_layer_ops taken = {.name = "linear", .forward = scale_forward,
                                       .backward = scale_backward, .codec = &scale_codec};
    static const gf_layer_ops bad_name = {.name = "a b", .forward = scale_forward,
                                          .backward = scale_backward, .codec = &scale_codec};
    const gf_layer_ops *const l1[] = {&no_codec}, *const l2[] = {&taken},
                              *const l3[] = {&bad_name}, *const l4[] = {NULL};
    gf_net *net = net_with_scale(), *back = NULL;
    void *a = NULL;
    size_t na = 0;
    gf_layer l;
    (void)state;
    assert_ok(gf_model_save_memory(&a, &na, net, NULL, NULL));
    assert_status(gf_model_load_memory_with(&back, NULL, NULL, a, na, l1, 1), GF_EINVAL);
    assert_error_mentions("plain");
    assert_status(gf_model_load_memory_with(&back, NULL, NULL, a, na, l2, 1), GF_EINVAL);
    assert_error_mentions("built-in");
    assert_status(gf_model_load_memory_with(&back, NULL, NULL, a, na, l3, 1), GF_EINVAL);
    assert_status(gf_model_load_memory_with(&back, NULL, NULL, a, na, l4, 1), GF_EINVAL);
    assert_status(gf_model_load_memory_with(&back, NULL, NULL, a, na, NULL, 1), GF_EINVAL);
    assert_null(back);
    gf_free(a);
    /* Saving a layer of one's own under a built-in name would make a file that loads as
     * something else: refused. */
    gf_net_free(net);
    assert_ok(gf_net_new(&net, 2));
    memset(&l, 0, sizeof l);
    l.ops = &taken;
    l.in = l.out = 2;
    l.weight = l.dweight = (gf_tensor){.data = NULL, .rows = 1, .cols = 2};
    l.n_params = 2;
    assert_ok(gf_net_add_layer(net, &l));
    a = &l;
    assert_status(gf_model_save_memory(&a, &na, net, NULL, NULL), GF_EUNSUPPORTED);
    assert_error_mentions("'linear'");
    assert_null(a);
    gf_net_free(net);
}

/* Every built-in kind of the registry in one network: it saves, loads to layers of the
 * same operations, and saves again to the same bytes. */
void every_registered_kind_round_trips(void **state)
{
    gf_net *net = NULL, *back = NULL;
    void *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    gf_rng rng;
    (void)state;
    gf_rng_seed(&rng, 5);
    assert_ok(gf_net_new(&net, 6));
    assert_ok(gf_net_add_rnn(net, GF_RNN_LSTM, 4, 2, 0, NULL, &rng));
    assert_ok(gf_net_add_linear(net, 5));
    assert_ok(gf_net_add_activation(net, "elu"));
    assert_ok(gf_net_add_prelu(net, 0.125));
    assert_ok(gf_net_add_batchnorm(net, 1e-3, 0.25));
    assert_ok(gf_net_add_layernorm(net, 1e-4));
    for (size_t k = 0; k < gf_layer_kind_count(); k++) {
        const gf_layer_kind *kind = gf_layer_kind_at(k);
        int found = 0;
        for (size_t i = 0; i < gf_net_layer_count(net); i++)
            found |= gf_layer_kind_of(gf_net_layer(net, i)->ops) == kind;
        assert_true(found); /* a kind added to the registry must be added here too */
        if (kind->fast_ops != NULL) /* the fast variant is the same kind */
            assert_ptr_equal(gf_layer_kind_of(kind->fast_ops), kind);
        assert_ptr_equal(gf_layer_kind_find(kind->name), kind);
        assert_ptr_equal(gf_layer_kind_of(kind->ops), kind);
        assert_string_equal(kind->ops->name, kind->name);
    }
    assert_null(gf_layer_kind_at(gf_layer_kind_count()));
    assert_null(gf_layer_kind_find("mystery"));
    assert_null(gf_layer_kind_of(&mystery_ops));
    for (size_t i = 0; i < gf_net_param_count(net); i++)
        gf_net_params_mut(net)[i] = (gf_real)(0.01 * (double)i);
    assert_ok(gf_model_save_memory(&a, &na, net, NULL, NULL));
    assert_ok(gf_model_load_memory(&back, NULL, NULL, a, na));
    assert_int_equal(gf_net_layer_count(back), gf_net_layer_count(net));
    for (size_t i = 0; i < gf_net_layer_count(net); i++)
        assert_ptr_equal(gf_net_layer(back, i)->ops, gf_net_layer(net, i)->ops);
    assert_ok(gf_model_save_memory(&b, &nb, back, NULL, NULL));
    assert_int_equal(nb, na);
    assert_memory_equal(b, a, na);
    gf_free(a);
    gf_free(b);
    gf_net_free(back);
    gf_net_free(net);
}

/* What the analysis may assume of a kind, as a telemetry record names it. */
void kind_traits(void **state)
{
    (void)state;
    assert_int_equal(gf_layer_kind_traits("linear"), GF_KIND_LINEAR);
    assert_int_equal(gf_layer_kind_traits("activation"), GF_KIND_ACTIVATION);
    assert_int_equal(gf_layer_kind_traits("relu"), GF_KIND_ACTIVATION);
    assert_int_equal(gf_layer_kind_traits("sigmoid"), GF_KIND_ACTIVATION);
    assert_int_equal(gf_layer_kind_traits("prelu"), GF_KIND_ACTIVATION);
    assert_int_equal(gf_layer_kind_traits("batchnorm"), GF_KIND_NORM);
    assert_int_equal(gf_layer_kind_traits("layernorm"), GF_KIND_NORM);
    assert_int_equal(gf_layer_kind_traits("rnn"), GF_KIND_RECURRENT);
    assert_int_equal(gf_layer_kind_traits("scale"), 0);
    assert_int_equal(gf_layer_kind_traits(""), 0);
    assert_int_equal(gf_layer_kind_traits(NULL), 0);
}

/* ---- Bad arguments -------------------------------------------------------------------- */

void bad_arguments_are_refused(void **state)
{
    gf_rng rng;
    gf_net *net, *out = NULL, *empty = NULL;
    gf_optim *opt = NULL, *wrong = NULL;
    void *data = NULL;
    size_t n = 0;
    (void)state;
    gf_rng_seed(&rng, 1);
    net = small_net(&rng);
    opt = make_optim(GF_OPTIM_ADAM, gf_net_param_count(net));
    wrong = make_optim(GF_OPTIM_MOMENTUM, 5);

    assert_status(gf_model_save(NULL, net, NULL, NULL), GF_EINVAL);
    assert_status(gf_model_save("", net, NULL, NULL), GF_EINVAL);
    assert_status(gf_model_save("test_model_bad.gfm", NULL, NULL, NULL), GF_EINVAL);
    assert_status(gf_model_save("test_model_bad.gfm", net, wrong, NULL), GF_ESHAPE);
    assert_error_mentions("5");
    assert_false(file_exists("test_model_bad.gfm"));
    assert_ok(gf_net_new(&empty, 3));
    assert_ok(gf_net_add_activation(empty, "relu"));
    assert_status(gf_model_save_memory(&data, &n, empty, opt, NULL), GF_ESHAPE);
    assert_null(data);
    assert_status(gf_model_save_memory(NULL, &n, net, NULL, NULL), GF_EINVAL);
    assert_status(gf_model_save_memory(&data, NULL, net, NULL, NULL), GF_EINVAL);

    assert_status(gf_model_load(NULL, NULL, NULL, "x.gfm"), GF_EINVAL);
    assert_status(gf_model_load(&out, NULL, NULL, NULL), GF_EINVAL);
    assert_status(gf_model_load(&out, NULL, NULL, "test_model_no_such_file.gfm"), GF_EIO);
    assert_error_mentions("test_model_no_such_file.gfm");
    assert_status(gf_model_load(&out, NULL, NULL, "."), GF_EIO); /* a directory */
    assert_status(gf_model_load_memory(&out, NULL, NULL, NULL, 10), GF_EINVAL);
    assert_status(gf_model_load_memory(NULL, NULL, NULL, fixture_float, sizeof fixture_float),
                  GF_EINVAL);
    assert_null(out);

    gf_optim_free(wrong);
    gf_optim_free(opt);
    gf_net_free(empty);
    gf_net_free(net);
}

/* Loading without asking for the optimiser or the generator still checks them. */
void optional_parts(void **state)
{
    gf_net *net = NULL;
    gf_optim *opt = NULL;
    unsigned char buf[sizeof fixture_float];
    (void)state;
    assert_ok(gf_model_load_memory(&net, NULL, NULL, fixture_float, sizeof fixture_float));
    assert_int_equal(gf_net_param_count(net), 13);
    gf_net_free(net);
    /* An invalid optimiser section is refused even when the optimiser is not wanted. */
    memcpy(buf, fixture_float, sizeof buf);
    patch_string(buf, sizeof buf, "momentum", "momentux");
    assert_int_equal(load_refused(buf, sizeof buf, NULL), GF_EUNSUPPORTED);
    net = (gf_net *)&net;
    assert_status(gf_model_load_memory(&net, NULL, NULL, buf, sizeof buf), GF_EUNSUPPORTED);
    assert_null(net);
    (void)opt;
}
