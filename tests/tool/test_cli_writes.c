/* tests/tool/test_cli_writes.c: the writes group (issue 16): two runs into one --out
 * never mix (the directory's lock), concurrent --save to one path leaves a good model, a
 * planted link at PATH.tmp is not followed, nor one at any file of a run directory, a
 * file size limit and kill -9 leave whole lines, and merge refuses a step count out of
 * range. */
#include "test_cli.h"

#include <dirent.h>

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

/* A second run into the --out of a running one stops at once with a clear error (exit
 * 1) and touches none of the first one's files; the first finishes with a run directory
 * that agrees with itself. The lock dies with its process: after kill -9 the next run
 * into the directory goes ahead. */
void two_runs_into_one_out_never_mix(void **state)
{
    const char *const first[] = {"run", "--steps", "100000000", "--depth", "4", "--width",
                                 "16", "--plot", "none", "--out", "cli-w/same", NULL};
    char p[700];
    output o;
    pid_t pid;
    int lines, steps;
    (void)state;
    pid = start(first, "first");
    assert_true(wait_lines(path_of(p, sizeof p, "cli-w/same/telemetry.csv"), 1 + 7 * 5, 20));
    RUN(&o, "run", "--steps", "3", "--depth", "2", "--plot", "none", "--out", "cli-w/same",
        "-q");
    expect_status(&o, 1);
    assert_one_line_error(&o, "another gradflow process");
    assert_non_null(strstr(o.err, "--out cli-w/same"));
    assert_int_equal(kill(pid, SIGINT), 0);
    collect(&o, "first", wait_status(pid));
    expect_status(&o, 130);
    /* The first run's files only: 7 layers a step, its own step count. */
    lines = check_csv(p, 7, &steps);
    assert_int_equal(lines, 1 + 7 * steps);
    assert_true(summary_number("cli-w/same", "steps") == steps);
    assert_true(file_size(path_of(p, sizeof p, "cli-w/same/.gradflow.lock")) < 0);

    /* Killed while holding the lock: nothing stale is left to refuse the next run. */
    pid = start(first, "killed");
    assert_true(wait_lines(path_of(p, sizeof p, "cli-w/same/telemetry.csv"), 1 + 7 * 5, 20));
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(wait_status(pid), 128 + SIGKILL);
    RUN(&o, "run", "--steps", "3", "--depth", "2", "--plot", "none", "--out", "cli-w/same",
        "-q");
    expect_status(&o, 0);
    assert_true(summary_number("cli-w/same", "steps") == 3);
}

/* Four runs saving to one --save path at once, a few rounds: the model left always
 * loads (its checksum holds) and resumes. With the shared PATH.tmp of old, 6 rounds in
 * 10 left a broken file. */
void concurrent_saves_leave_a_good_model(void **state)
{
    char model[700], dir[64], tag[16];
    pid_t pids[4];
    output o;
    (void)state;
    path_of(model, sizeof model, "shared.gfm");
    for (int round = 0; round < 3; round++) {
        remove(model);
        for (int k = 0; k < 4; k++) {
            char width[8];
            snprintf(dir, sizeof dir, "cli-w/save%d", k);
            snprintf(tag, sizeof tag, "save%d", k);
            snprintf(width, sizeof width, "%d", 8 + 4 * k); /* four different models */
            const char *const args[] = {"run", "--steps", "3", "--depth", "3", "--width",
                                        width, "--plot", "none", "--save", model, "--out",
                                        dir, "-q", NULL};
            pids[k] = start(args, tag);
        }
        for (int k = 0; k < 4; k++) {
            snprintf(tag, sizeof tag, "save%d", k);
            collect(&o, tag, wait_status(pids[k]));
            expect_status(&o, 0);
        }
        gf_net *net = NULL;
        assert_int_equal(gf_model_load(&net, NULL, NULL, model), GF_OK);
        assert_int_equal(gf_net_step_count(net), 3);
        gf_net_free(net);
        RUN(&o, "run", "--steps", "4", "--resume", model, "--plot", "none", "--out",
            "cli-w/resumed", "-q");
        expect_status(&o, 0);
    }
}

/* A symbolic link planted at the old fixed temporary name of --save (PATH.tmp) is not
 * followed: its target keeps its contents. */
void planted_link_at_save_tmp_is_not_followed(void **state)
{
    char model[700], link[700], victim[700], buf[64];
    output o;
    FILE *f;
    (void)state;
    path_of(model, sizeof model, "linked.gfm");
    path_of(link, sizeof link, "linked.gfm.tmp");
    path_of(victim, sizeof victim, "victim.txt");
    f = fopen(victim, "w");
    assert_non_null(f);
    fputs("precious\n", f);
    fclose(f);
    assert_int_equal(symlink("victim.txt", link), 0);
    RUN(&o, "run", "--steps", "2", "--depth", "2", "--plot", "none", "--save", model, "--out",
        "cli-w/linked", "-q");
    expect_status(&o, 0);
    read_file(buf, sizeof buf, victim);
    assert_string_equal(buf, "precious\n");
    assert_true(file_size(model) > 100);
}

/* Every file of a run directory is written under a temporary name and renamed: a link
 * planted at hist_init.csv, time.csv, the figure data or a gnuplot script (figures.gp
 * too) is replaced, never written through, and no temporary file is left behind. */
void run_files_replace_planted_links(void **state)
{
    static const char *const names[] = {"hist_init.csv", "hist_init.dat", "hist_init.gp",
                                        "time.csv", "time.dat", "time.gp", "signal.dat",
                                        "signal.gp", "heatmap.gp", "loss.gp", "figures.gp"};
    char victim[700], p[700], buf[64];
    struct stat sb;
    struct dirent *e;
    output o;
    DIR *d;
    FILE *f;
    (void)state;
    mkdir(path_of(p, sizeof p, "cli-w/links"), 0777);
    f = fopen(path_of(victim, sizeof victim, "cli-w/links-victim.txt"), "w");
    assert_non_null(f);
    fputs("precious\n", f);
    fclose(f);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char rel[200];
        snprintf(rel, sizeof rel, "cli-w/links/%s", names[i]);
        assert_int_equal(symlink(victim, path_of(p, sizeof p, rel)), 0);
    }
    RUN(&o, "run", "--cell", "rnn", "--steps", "3", "--plot", "none", "--out", "cli-w/links",
        "-q");
    expect_status(&o, 0);
    read_file(buf, sizeof buf, victim);
    assert_string_equal(buf, "precious\n");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char rel[200];
        snprintf(rel, sizeof rel, "cli-w/links/%s", names[i]);
        assert_int_equal(lstat(path_of(p, sizeof p, rel), &sb), 0);
        if (!S_ISREG(sb.st_mode) || sb.st_size == 0)
            fail_msg("%s is not a new regular file", names[i]);
    }
    d = opendir(path_of(p, sizeof p, "cli-w/links"));
    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp") != NULL)
            fail_msg("temporary file left: %s", e->d_name);
    closedir(d);
}

/* Under a file size limit (ulimit -f), the program is not killed by SIGXFSZ: it says
 * which file is too large and exits 1, and telemetry.csv holds whole lines, each step
 * complete. The limit is set around the fork of the child (the parent writes no file
 * meanwhile). */
void file_size_limit_exits_1_with_a_message(void **state)
{
    const char *const args[] = {"run", "--steps", "100000", "--depth", "6", "--width", "8",
                                "--plot", "none", "--out", "cli-w/fsize", NULL};
    struct rlimit old, lim;
    char p[700];
    output o;
    pid_t pid;
    int lines, steps;
    (void)state;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 40000;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    pid = start(args, "fsize");
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    collect(&o, "fsize", wait_status(pid));
    expect_status(&o, 1);
    assert_non_null(strstr(o.err, "File too large"));
    assert_non_null(strstr(o.err, "telemetry.csv"));
    path_of(p, sizeof p, "cli-w/fsize/telemetry.csv");
    assert_true(ends_with_newline(p));
    lines = check_csv(p, 11, &steps);
    assert_int_equal(lines, 1 + 11 * steps);
    assert_true(steps >= 5);
}

/* kill -9 of a deep run (depth 100: a step's 199 lines are some 30 KB, far more than
 * stdio's buffer). Each step is one write(2), so the steps before the last are whole;
 * the last is whole too unless the kill came during its write, which Linux then stops
 * at a 4 KiB boundary of the file (it checks for a fatal signal between pages): the
 * file then ends on such a boundary, and gf_run_read_telemetry drops that step. Either
 * way the reader gets whole steps, every time. */
void kill_9_of_a_deep_run_leaves_whole_steps(void **state)
{
    const char *const args[] = {"run", "--steps", "100000000", "--depth", "100", "--width",
                                "8", "--plot", "none", "--out", "cli-w/deep", NULL};
    char p[700];
    (void)state;
    path_of(p, sizeof p, "cli-w/deep/telemetry.csv");
    for (int round = 0; round < 3; round++) {
        pid_t pid;
        int lines, steps;
        struct timespec ts = {0, (long)(round + 1) * 37 * 1000 * 1000};
        struct stat sb;
        gf_telemetry *back = NULL;
        unlink(p); /* else the wait below could see the last round's file */
        pid = start(args, "deep");
        assert_true(wait_lines(p, 1 + 199 * 2, 30));
        nanosleep(&ts, NULL);
        assert_int_equal(kill(pid, SIGKILL), 0);
        assert_int_equal(wait_status(pid), 128 + SIGKILL);
        lines = check_csv(p, 199, &steps); /* whole lines in order, a cut last one aside */
        assert_int_equal(stat(p, &sb), 0);
        if (!ends_with_newline(p) || lines != 1 + 199 * steps)
            assert_int_equal(sb.st_size % 4096, 0); /* cut by the kernel, nowhere else */
        assert_int_equal(gf_telemetry_new(&back), GF_OK);
        assert_int_equal(gf_run_read_telemetry(back, p), GF_OK);
        assert_int_equal(gf_telemetry_count(back), 199 * (size_t)steps);
        assert_true(steps >= 2);
        gf_telemetry_free(back);
    }
}

/* merge reads "steps" from summary.json: a hand-edited 1e300 (or -1, or 2.5) is named as
 * not a step count and the merge exits 1, instead of an out-of-range conversion to an
 * integer (undefined behaviour, which clang's -fsanitize=float-cast-overflow reports). */
void merge_refuses_a_step_count_out_of_range(void **state)
{
    static const char *const bad[] = {"1e300", "-1", "2.5", "1.8446744073709552e19"};
    char path[700], text[8192], edited[8400];
    output o;
    FILE *f;
    (void)state;
    RUN(&o, "run", "--steps", "2", "--depth", "2", "--plot", "none", "--out",
        "cli-w/m/a", "-q");
    expect_status(&o, 0);
    path_of(path, sizeof path, "cli-w/m/a/summary.json");
    read_file(text, sizeof text, path);
    char *at = strstr(text, "\n  \"steps\": 2,");
    assert_non_null(at);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(edited, sizeof edited, "%.*s\n  \"steps\": %s,%s", (int)(at - text), text,
                 bad[i], at + strlen("\n  \"steps\": 2,"));
        f = fopen(path, "w");
        assert_non_null(f);
        fputs(edited, f);
        fclose(f);
        RUN(&o, "merge", "cli-w/m", "--plot", "none", "-q");
        expect_status(&o, 1);
        assert_non_null(strstr(o.err, "not a step count"));
    }
}
