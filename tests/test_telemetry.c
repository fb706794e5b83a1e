/* tests/test_telemetry.c: the record store: append order, lookup, reserve, truncate,
 * the CSV form (header, empty fields for NaN, inf), atomic save, and streaming that
 * leaves a valid file after every step, of whole lines even when a write fails part way
 * (a file size limit, a full disk) or meets a planted link. */
#define _POSIX_C_SOURCE 200809L /* fork, setrlimit, symlink: writes that fail part way */
#include "testutil.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gradflow.h"

static gf_record rec(uint64_t step, uint32_t layer)
{
    gf_record r = {0};
    r.step = step;
    r.layer = layer;
    gf_record_set_kind(&r, "linear");
    r.loss = 0.5;
    r.grad_out_norm = 1.25;
    r.grad_in_norm = NAN;
    r.weight_grad_norm = INFINITY;
    r.bias_grad_norm = -INFINITY;
    r.weight_norm = 3;
    r.update_ratio = r.clip_pre_norm = r.clip_post_norm = NAN;
    r.deriv_abs_mean = r.dead_frac = r.sat_frac = NAN;
    r.nonfinite_fwd = 2;
    r.nonfinite_bwd = 7;
    return r;
}

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    int n = 0, c;
    assert_non_null(f);
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static void appends_in_step_order_and_finds_records(void **state)
{
    gf_telemetry *t = NULL;
    (void)state;
    assert_ok(gf_telemetry_new(&t));
    for (uint64_t s = 0; s < 100; s += 2)
        for (uint32_t l = 0; l < 3; l++) {
            gf_record r = rec(s, l);
            assert_ok(gf_telemetry_append(t, &r));
        }
    assert_int_equal(gf_telemetry_count(t), 150);
    const gf_record *r = gf_telemetry_find(t, 42, 2);
    assert_non_null(r);
    assert_int_equal(r->step, 42);
    assert_int_equal(r->layer, 2);
    assert_null(gf_telemetry_find(t, 43, 0));
    assert_null(gf_telemetry_find(t, 42, 3));
    assert_null(gf_telemetry_at(t, 150));
    assert_ptr_equal(gf_telemetry_at(t, 0), gf_telemetry_find(t, 0, 0));
    /* Going back in time is refused. */
    gf_record old = rec(5, 0);
    assert_status(gf_telemetry_append(t, &old), GF_EINVAL);
    assert_error_mentions("step 5");
    gf_telemetry_clear(t);
    assert_int_equal(gf_telemetry_count(t), 0);
    assert_ok(gf_telemetry_append(t, &old)); /* after clearing, any step may start */
    gf_telemetry_free(t);
}

static void reserve_makes_appends_allocation_free(void **state)
{
    gf_telemetry *t = NULL;
    (void)state;
    tu_alloc_install(0);
    assert_ok(gf_telemetry_new(&t));
    assert_ok(gf_telemetry_reserve(t, 1000));
    long calls = tu_alloc.calls;
    for (uint64_t s = 0; s < 1000; s++) {
        gf_record r = rec(s, 0);
        assert_ok(gf_telemetry_append(t, &r));
    }
    assert_int_equal(tu_alloc.calls, calls);
    /* Growing past the reservation fails cleanly when memory runs out. */
    tu_alloc_fail_next(1);
    gf_record r = rec(1000, 0);
    assert_status(gf_telemetry_append(t, &r), GF_ENOMEM);
    assert_int_equal(gf_telemetry_count(t), 1000);
    gf_telemetry_free(t);
    assert_int_equal(tu_alloc_live(), 0);
    tu_alloc_uninstall();
}

static void csv_line_has_empty_fields_for_nan(void **state)
{
    char buf[1024] = {0};
    gf_record r = rec(3, 1);
    FILE *f = tmpfile();
    (void)state;
    assert_non_null(f);
    assert_ok(gf_record_write_csv(&r, f));
    rewind(f);
    assert_non_null(fgets(buf, sizeof buf, f));
    fclose(f);
    assert_string_equal(buf, "3,1,linear,0.5,1.25,,inf,-inf,3,,,,0,0,,0,,,2,7\n");
    /* The header names the same 20 columns. */
    const char *h = gf_telemetry_csv_header();
    int commas = 0;
    for (const char *p = h; *p; p++)
        commas += *p == ',';
    assert_int_equal(commas, 19);
    assert_true(strncmp(h, "step,layer,kind,loss,grad_out_norm,grad_in_norm,", 48) == 0);
}

static void save_writes_atomically(void **state)
{
    gf_telemetry *t = NULL;
    const char *path = "test_telemetry_save.csv";
    (void)state;
    assert_ok(gf_telemetry_new(&t));
    for (uint32_t l = 0; l < 4; l++) {
        gf_record r = rec(0, l);
        assert_ok(gf_telemetry_append(t, &r));
    }
    assert_ok(gf_telemetry_save_csv(t, path));
    assert_int_equal(count_lines(path), 5);
    FILE *tmp = fopen("test_telemetry_save.csv.tmp", "r");
    assert_null(tmp); /* renamed into place, nothing left behind */
    remove(path);
    /* An unwritable place is an error naming it, not a crash. */
    assert_status(gf_telemetry_save_csv(t, "/nonexistent-dir/x.csv"), GF_EIO);
    assert_error_mentions("/nonexistent-dir/x.csv");
    gf_telemetry_free(t);
}

/* Streaming from a network: after each backward pass, the previous step's records are
 * on disk, complete, with the update ratio the step added. */
static void streaming_keeps_the_file_valid_after_every_step(void **state)
{
    gf_rng rng;
    gf_net *net = NULL;
    gf_optim *opt = NULL;
    gf_optim_config cfg = gf_optim_default(GF_OPTIM_SGD);
    gf_mlp_spec spec = {3, 4, 2, 2, "tanh", NAN, NULL};
    gf_tensor *x = tu_tensor(5, 3), *t = tu_tensor(5, 2);
    const char *path = "test_telemetry_stream.csv";
    (void)state;
    gf_rng_seed(&rng, 1);
    tu_fill_uniform(x, &rng, -1, 1);
    tu_fill_uniform(t, &rng, -1, 1);
    assert_ok(gf_net_new_mlp(&net, &spec, &rng));
    assert_ok(gf_optim_new(&opt, &cfg, gf_net_param_count(net)));
    assert_ok(gf_telemetry_stream_to(gf_net_telemetry_mut(net), path));
    assert_int_equal(count_lines(path), 1); /* the header at once */
    for (int s = 0; s < 4; s++) {
        assert_ok(gf_net_train_step(net, NULL, x, t, opt, GF_LOSS_MSE, NULL));
        /* Step s is still open (a later clip or step may amend it): s steps are out. */
        assert_int_equal(count_lines(path), 1 + 3 * s);
    }
    assert_ok(gf_telemetry_flush(gf_net_telemetry_mut(net)));
    assert_int_equal(count_lines(path), 1 + 3 * 4);
    /* The streamed lines carry the update ratio the step added after backward. */
    FILE *f = fopen(path, "r");
    char line[1024];
    assert_non_null(fgets(line, sizeof line, f));
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    char *field = line;
    for (int c = 0; c < 9; c++)
        field = strchr(field, ',') + 1; /* column 10: update_ratio */
    assert_true(field[0] != ',');
    assert_ok(gf_telemetry_stream_to(gf_net_telemetry_mut(net), NULL));
    remove(path);
    assert_status(gf_telemetry_stream_to(gf_net_telemetry_mut(net), "/nonexistent-dir/s.csv"),
                  GF_EIO);
    gf_optim_free(opt);
    gf_net_free(net);
    gf_tensor_free(x);
    gf_tensor_free(t);
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

/* 1 when the file is empty or ends with a newline. */
static int ends_with_newline(const char *path)
{
    FILE *f = fopen(path, "rb");
    int last = '\n', c;
    assert_non_null(f);
    while ((c = fgetc(f)) != EOF)
        last = c;
    fclose(f);
    return last == '\n';
}

/* A deep network (100 linear layers: 199 records, about 30 KB a step, far more than
 * stdio's buffer) streams each step whole. Under a file size limit that falls in the
 * middle of step 1, with SIGXFSZ ignored (as the tool does), the flush of step 1 fails
 * with GF_EIO naming EFBIG, and the file holds exactly the header and step 0: no half
 * line. Run in a child, whose limit dies with it. */
static void deep_steps_reach_the_file_whole(void **state)
{
    gf_rng rng;
    gf_net *net = NULL;
    gf_optim *opt = NULL;
    gf_optim_config cfg = gf_optim_default(GF_OPTIM_SGD);
    gf_mlp_spec spec = {.in = 3, .width = 4, .depth = 100, .out = 2, .act = "tanh"};
    gf_tensor *x = tu_tensor(5, 3), *t = tu_tensor(5, 2);
    const char *path = "test_telemetry_deep.csv";
    long one_step, two_steps;
    int per_step;
    pid_t kid;
    int ws = 0;
    (void)state;
    gf_rng_seed(&rng, 5);
    tu_fill_uniform(x, &rng, -1, 1);
    tu_fill_uniform(t, &rng, -1, 1);
    assert_ok(gf_net_new_mlp(&net, &spec, &rng));
    assert_ok(gf_optim_new(&opt, &cfg, gf_net_param_count(net)));
    /* The sizes of the header and one step, and of two steps, without a limit. */
    assert_ok(gf_telemetry_stream_to(gf_net_telemetry_mut(net), path));
    assert_ok(gf_net_train_step(net, NULL, x, t, opt, GF_LOSS_MSE, NULL));
    assert_ok(gf_telemetry_flush(gf_net_telemetry_mut(net)));
    one_step = file_size(path);
    per_step = count_lines(path) - 1;
    assert_int_equal(per_step, 199); /* 100 linear layers and the 99 tanh between them */
    assert_ok(gf_net_train_step(net, NULL, x, t, opt, GF_LOSS_MSE, NULL));
    assert_ok(gf_telemetry_flush(gf_net_telemetry_mut(net)));
    two_steps = file_size(path);
    assert_int_equal(count_lines(path), 1 + 2 * per_step);
    assert_true(two_steps - one_step > 8192); /* a step is larger than stdio's buffer */
    assert_ok(gf_telemetry_stream_to(gf_net_telemetry_mut(net), NULL));

    kid = fork();
    assert_true(kid >= 0);
    if (kid == 0) {
        rlim_t lim = (rlim_t)(one_step + (two_steps - one_step) / 2); /* mid step 1 */
        struct rlimit rl = {.rlim_cur = lim, .rlim_max = lim};
        gf_status st = GF_OK;
        signal(SIGXFSZ, SIG_IGN);
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0 ||
            gf_telemetry_stream_to(gf_net_telemetry_mut(net), path) != GF_OK)
            _exit(3);
        for (int s = 0; s < 3 && st == GF_OK; s++)
            st = gf_net_train_step(net, NULL, x, t, opt, GF_LOSS_MSE, NULL);
        if (st == GF_OK)
            st = gf_telemetry_flush(gf_net_telemetry_mut(net));
        _exit(st == GF_EIO && strstr(gf_last_error(), "File too large") != NULL &&
                      strstr(gf_last_error(), path) != NULL
                  ? 0
                  : 1);
    }
    assert_int_equal(waitpid(kid, &ws, 0), kid);
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), 0);
    /* The child's steps are steps 2 and on: the same line count as step 0, not the
     * same bytes. Its second step did not fit and was cut back whole. */
    assert_true(file_size(path) < one_step + (two_steps - one_step) / 2);
    assert_true(ends_with_newline(path));
    assert_int_equal(count_lines(path), 1 + per_step);
    remove(path);
    gf_optim_free(opt);
    gf_net_free(net);
    gf_tensor_free(x);
    gf_tensor_free(t);
}

/* A full disk (/dev/full: every write is ENOSPC) is GF_EIO naming the file and the
 * reason, not a crash or silence. */
static void streaming_to_a_full_disk_is_an_error(void **state)
{
    gf_telemetry *t = NULL;
    (void)state;
    if (access("/dev/full", W_OK) != 0)
        skip();
    assert_ok(gf_telemetry_new(&t));
    assert_status(gf_telemetry_stream_to(t, "/dev/full"), GF_EIO);
    assert_error_mentions("/dev/full");
    assert_error_mentions("No space left");
    gf_telemetry_free(t);
}

/* Symbolic links planted where the files go (the stream's path, the old fixed PATH.tmp
 * name of a save) are neither followed nor is their target changed. */
static void planted_links_are_not_followed(void **state)
{
    gf_telemetry *t = NULL;
    gf_record r = rec(0, 0);
    const char *victim = "test_telemetry_victim.txt";
    char buf[16] = {0};
    FILE *f;
    (void)state;
    remove("test_telemetry_link.csv");
    remove("test_telemetry_saved.csv");
    remove("test_telemetry_saved.csv.tmp");
    f = fopen(victim, "w");
    assert_non_null(f);
    fputs("precious", f);
    fclose(f);
    assert_int_equal(symlink(victim, "test_telemetry_link.csv"), 0);
    assert_int_equal(symlink(victim, "test_telemetry_saved.csv.tmp"), 0);
    assert_ok(gf_telemetry_new(&t));
    assert_ok(gf_telemetry_append(t, &r));
    assert_status(gf_telemetry_stream_to(t, "test_telemetry_link.csv"), GF_EIO);
    assert_error_mentions("test_telemetry_link.csv");
    assert_ok(gf_telemetry_save_csv(t, "test_telemetry_saved.csv"));
    assert_int_equal(count_lines("test_telemetry_saved.csv"), 2);
    f = fopen(victim, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof buf, f));
    fclose(f);
    assert_string_equal(buf, "precious");
    gf_telemetry_free(t);
    remove("test_telemetry_link.csv");
    remove("test_telemetry_saved.csv.tmp");
    remove("test_telemetry_saved.csv");
    remove(victim);
}

static void null_arguments_are_errors(void **state)
{
    gf_telemetry *t = NULL;
    gf_record r = rec(0, 0);
    (void)state;
    assert_status(gf_telemetry_new(NULL), GF_EINVAL);
    assert_status(gf_telemetry_append(NULL, &r), GF_EINVAL);
    assert_ok(gf_telemetry_new(&t));
    assert_status(gf_telemetry_append(t, NULL), GF_EINVAL);
    assert_status(gf_telemetry_write_csv(t, NULL), GF_EINVAL);
    assert_status(gf_telemetry_write_csv(NULL, stdout), GF_EINVAL);
    assert_status(gf_telemetry_save_csv(t, NULL), GF_EINVAL);
    assert_status(gf_record_write_csv(NULL, stdout), GF_EINVAL);
    assert_status(gf_telemetry_reserve(NULL, 3), GF_EINVAL);
    assert_status(gf_telemetry_flush(NULL), GF_EINVAL);
    assert_status(gf_telemetry_stream_to(NULL, "x"), GF_EINVAL);
    assert_int_equal(gf_telemetry_count(NULL), 0);
    assert_null(gf_telemetry_at(NULL, 0));
    assert_null(gf_telemetry_find(NULL, 0, 0));
    gf_telemetry_clear(NULL);
    gf_telemetry_free(NULL);
    gf_telemetry_free(t);
}

/* A record's kind is a copy: any name survives its source, the CSV and a read back;
 * what the CSV cannot hold is replaced, and a long name is cut, never overrun. */
static void kind_is_a_copy(void **state)
{
    char name[64] = "my_layer";
    char line[512];
    gf_record r = rec(0, 0);
    FILE *f;
    (void)state;
    gf_record_set_kind(&r, name);
    strcpy(name, "changed");
    assert_string_equal(r.kind, "my_layer");
    gf_record_set_kind(&r, "a,b\nc\"d");
    assert_string_equal(r.kind, "a_b_c_d");
    gf_record_set_kind(&r, "a_kind_name_of_exactly_forty_characters_");
    assert_int_equal(strlen(r.kind), GF_RECORD_KIND_SIZE - 1);
    assert_memory_equal(r.kind, "a_kind_name_of_exactly_forty_characters_", GF_RECORD_KIND_SIZE - 1);
    gf_record_set_kind(&r, NULL);
    assert_string_equal(r.kind, "");
    gf_record_set_kind(&r, "lstm");
    f = tmpfile();
    assert_non_null(f);
    assert_ok(gf_record_write_csv(&r, f));
    rewind(f);
    assert_non_null(fgets(line, sizeof line, f));
    assert_true(strncmp(line, "0,0,lstm,", 9) == 0);
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(appends_in_step_order_and_finds_records),
        cmocka_unit_test(reserve_makes_appends_allocation_free),
        cmocka_unit_test(csv_line_has_empty_fields_for_nan),
        cmocka_unit_test(save_writes_atomically),
        cmocka_unit_test(streaming_keeps_the_file_valid_after_every_step),
        cmocka_unit_test(deep_steps_reach_the_file_whole),
        cmocka_unit_test(streaming_to_a_full_disk_is_an_error),
        cmocka_unit_test(planted_links_are_not_followed),
        cmocka_unit_test(null_arguments_are_errors),
        cmocka_unit_test(kind_is_a_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
