/* tests/tool/test_cli_budget.c: the budget group (issue 16): networks, data and model
 * files past the memory limit refused fast (children under an address-space cap), a
 * resume's step count checked before replaying, Ctrl-C during a replay; and values too
 * long for the option buffers refused (basics). */
#include "test_cli.h"

#include <sys/resource.h>

/* A value or list item longer than the buffers it is copied into is refused, never cut
 * short: a cut "normal:0.000...05" would be a std of 0. */
void long_values_are_refused(void **state)
{
    static char init[1200], list[1300];
    output o;
    (void)state;
    memset(init, 0, sizeof init);
    strcpy(init, "normal:0.");
    memset(init + 9, '0', 1100);
    init[1109] = '5';
    snprintf(list, sizeof list, "he,%s", init);
    RUN(&o, "compare", "--init", list, "--steps", "1", "--plot", "none");
    expect_status(&o, 2);
    assert_one_line_error(&o, "--init: 'normal:0.000");
    assert_non_null(strstr(o.err, "at most 1023 characters"));
    RUN(&o, "run", "--init", init, "--steps", "1", "--plot", "none");
    expect_status(&o, 2);
    assert_non_null(strstr(o.err, "at most 1023 characters"));
    /* One that fits is read whole: std 5e-100 is a valid (tiny) std, not 0. */
    init[100] = '5', init[101] = '\0';
    RUN(&o, "run", "--init", init, "--steps", "1", "--plot", "none", "--out", "long", "-q");
    expect_status(&o, 0);
    /* --act-param names itself when the value overflows this build's number type. */
    RUN(&o, "run", "--act", "elu", "--act-param", "1e300", "--steps", "1", "--plot", "none",
        "--out", "big-param", "-q");
    if (strcmp(gf_real_name(), "float") == 0) {
        expect_status(&o, 2);
        assert_one_line_error(&o, "--act-param: '1e300' overflows float");
    } else {
        assert_true(o.status != 2 || strstr(o.err, "--act-param") != NULL);
    }
}

/* ---- resources (issue 16) ------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Run args in a child capped at cap bytes of address space (0: no cap; sanitizer builds
 * reserve terabytes of shadow, so they get none and rely on --max-memory); returns the
 * seconds it took. */
static double run_capped(output *o, const char *const *args, rlim_t cap)
{
    double t0 = now_s();
    child_as_limit = cap && !SLOW ? cap : RLIM_INFINITY;
    run(o, args);
    child_as_limit = RLIM_INFINITY;
    return now_s() - t0;
}

/* The options' product is refused before anything is allocated, in well under a second,
 * with the bytes needed (the library's own figure) and the limit. */
void big_networks_are_refused_fast(void **state)
{
    const char *const wide[] = {"run", "--width", "30000", "--depth", "3", "--plot", "none",
                                "--out", "wide", "-q", NULL};
    const char *const wide_limit[] = {"run", "--width", "30000", "--depth", "3", "--plot",
                                      "none", "--out", "wide", "--max-memory", "2G", NULL};
    const char *const rnn[] = {"run", "--cell", "rnn", "--seq-len", "1000000", "--plot", "none",
                               "--out", "rnn", "--max-memory", "1G", NULL};
    const char *const small[] = {"run", "--width", "32", "--depth", "3", "--steps", "2",
                                 "--plot", "none", "--out", "small", "--max-memory", "64M",
                                 "-q", NULL};
    gf_net_plan plan = gf_net_plan_default();
    size_t params = 0, acts = 0;
    char figure[64];
    output o;
    double t;
    (void)state;
    /* Under a 2 GB address-space cap the default limit is 1 GB: refused at once. */
    t = run_capped(&o, wide, (rlim_t)2 << 30);
    if (!SLOW) {
        expect_status(&o, 2);
        assert_true(t < 1.0);
        assert_one_line_error(&o, "more than the memory limit");
    }
    t = run_capped(&o, wide_limit, (rlim_t)3 << 30);
    expect_status(&o, 2);
    assert_true(t < (SLOW ? 5.0 : 1.0));
    assert_non_null(strstr(o.err, "2.147 GB (2147483648 bytes)"));
    /* digits: 64 inputs, 10 classes; momentum keeps one slot per parameter. */
    plan.in = 64, plan.out = 10, plan.width = 30000, plan.depth = 3, plan.batch = 64;
    plan.optim = GF_OPTIM_MOMENTUM;
    assert_int_equal(gf_net_plan_bytes(&params, &acts, &plan), GF_OK);
    assert_int_equal(params, (size_t)902280010 * 3 * sizeof(gf_real));
    snprintf(figure, sizeof figure, "optimiser state %.4g GB", (double)params / 1e9);
    assert_non_null(strstr(o.err, figure));
    /* The recurrent net over a million steps: its unrolled buffers and its data. */
    t = run_capped(&o, rnn, (rlim_t)3 << 30);
    expect_status(&o, 2);
    assert_true(t < (SLOW ? 5.0 : 1.0));
    assert_one_line_error(&o, "more than the memory limit of 1.074 GB");
    /* adding: 1000 rows of 2T inputs and a target. */
    snprintf(figure, sizeof figure, "data %.4g GB", 1000.0 * 2000001 * sizeof(gf_real) / 1e9);
    assert_non_null(strstr(o.err, figure));
    /* A net that fits the limit trains. */
    run_capped(&o, small, (rlim_t)1 << 30);
    expect_status(&o, 0);
}

/* Files that are not regular, too large, or make one class, refused before reading or
 * training; a one-class set never gets as far as a plotting error. */
void bad_data_files_are_refused(void **state)
{
    const char *const zero[] = {"run", "--data", "/dev/zero", "--plot", "none", "--out", "z",
                                NULL};
    const char *const rzero[] = {"run", "--resume", "/dev/zero", "--plot", "none", "--out",
                                 "z", NULL};
    const char *const one[] = {"run", "--data", "one.csv", "--plot", "none", "--out", "one",
                               "-q", NULL};
    const char *const huge[] = {"run", "--data", "huge.csv", "--plot", "none", "--out", "h",
                                "--max-memory", "1M", NULL};
    output o;
    FILE *f;
    double t;
    (void)state;
    t = run_capped(&o, zero, (rlim_t)1 << 30);
    expect_status(&o, 1);
    assert_true(t < (SLOW ? 5.0 : 1.0));
    assert_one_line_error(&o, "'/dev/zero' is not a regular file");
    t = run_capped(&o, rzero, (rlim_t)1 << 30);
    expect_status(&o, 1);
    assert_true(t < (SLOW ? 5.0 : 1.0));
    assert_one_line_error(&o, "--resume /dev/zero: gf_model_load: '/dev/zero' is not a regular");
    f = fopen("one.csv", "w");
    assert_non_null(f);
    for (int i = 0; i < 30; i++)
        fprintf(f, "%d,%d,0\n", i, 2 * i);
    fclose(f);
    run_capped(&o, one, 0);
    expect_status(&o, 1);
    assert_one_line_error(&o, "every row has the label 0");
    assert_null(strstr(o.err, "plot"));
    f = fopen("huge.csv", "w");
    assert_non_null(f);
    for (int i = 0; i < 200000; i++)
        fprintf(f, "%d,%d\n", i, i % 2);
    fclose(f);
    run_capped(&o, huge, 0);
    expect_status(&o, 1);
    assert_one_line_error(&o, "more than the memory limit of 1048576 bytes");
}

/* A model file whose step count the run cannot reach is refused before any replaying;
 * a long replay stops on Ctrl-C. */
void resume_checks_the_step_count_first(void **state)
{
    static const uint64_t counts[] = {500000000ull, UINT64_MAX};
    const char *const save[] = {"run", "--depth", "3", "--width", "8", "--steps", "2", "--save",
                                "small.gfm", "--plot", "none", "--out", "save", "-q", NULL};
    const char *const resume[] = {"run", "--resume", "big.gfm", "--plot", "none", "--out",
                                  "resume", NULL};
    const char *const replay[] = {"run", "--resume", "big.gfm", "--steps", "1000000000",
                                  "--plot", "none", "--out", "replay", NULL};
    gf_net *net = NULL;
    gf_optim *opt = NULL;
    output o;
    char needle[80];
    double t;
    pid_t pid;
    (void)state;
    run(&o, save);
    expect_status(&o, 0);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(gf_model_load(&net, &opt, NULL, "small.gfm"), GF_OK);
        gf_net_set_step_count(net, counts[i]);
        assert_int_equal(gf_model_save("big.gfm", net, opt, NULL), GF_OK);
        gf_net_free(net), gf_optim_free(opt);
        t = run_capped(&o, resume, (rlim_t)1 << 30);
        expect_status(&o, 2);
        assert_true(t < (SLOW ? 5.0 : 1.0));
        snprintf(needle, sizeof needle, "the model has already made %llu steps (--steps 300)",
                 (unsigned long long)counts[i]);
        assert_one_line_error(&o, needle);
    }
    /* 5e8 steps of a run of 1e9: the replay would take minutes; Ctrl-C ends it. */
    assert_int_equal(gf_model_load(&net, &opt, NULL, "small.gfm"), GF_OK);
    gf_net_set_step_count(net, counts[0]);
    assert_int_equal(gf_model_save("big.gfm", net, opt, NULL), GF_OK);
    gf_net_free(net), gf_optim_free(opt);
    pid = start(replay, "replay");
    nanosleep(&(struct timespec){0, 500000000}, NULL);
    t = now_s();
    assert_int_equal(kill(pid, SIGINT), 0);
    collect(&o, "replay", wait_status(pid));
    assert_true(now_s() - t < 2.0);
    expect_status(&o, 130);
    assert_one_line_error(&o, "interrupted while replaying the batch order");
}

/* Ctrl-C while a big --data file is read and parsed (64 MB, a second or more to load):
 * the library's loader asks the tool's cancel callback, so the program stops within a
 * fraction of a second, says so in one line and exits 130, with nothing trained. */
void sigint_during_a_data_load_stops_fast(void **state)
{
    static char block[1 << 20];
    const char *const args[] = {"run", "--data", "big.csv", "--steps", "5", "--plot", "none",
                                "--out", "load", NULL};
    size_t len = 0;
    output o;
    FILE *f;
    double t;
    pid_t pid;
    (void)state;
    while (len + 64 < sizeof block)
        len += (size_t)sprintf(block + len, "%zu.25,%zu.5,-%zu,0.125,%zu,1e-3,7,%zu\n",
                               len % 89, len % 7, len % 13, len % 101, (len / 3) % 2);
    f = fopen("big.csv", "wb");
    assert_non_null(f);
    for (int i = 0; i < 64; i++)
        assert_int_equal(fwrite(block, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    pid = start(args, "load");
    nanosleep(&(struct timespec){0, 200000000}, NULL);
    t = now_s();
    assert_int_equal(kill(pid, SIGINT), 0);
    collect(&o, "load", wait_status(pid));
    t = now_s() - t;
    expect_status(&o, 130);
    assert_one_line_error(&o, "interrupted while loading --data big.csv");
    assert_non_null(strstr(o.err, "cancelled"));
    assert_true(t < (SLOW ? 2.0 : 0.5));
    remove("big.csv");
}
