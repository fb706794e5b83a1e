/* tests/tool/test_cli_recipes.c: the recipes of docs/cli.md run as documented, and their
 * verdicts checked twice: against the verdicts the recipe's text promises, and against
 * a verdict recomputed here from the run's own data (telemetry.csv, time.csv) with the
 * thresholds of docs/verdicts.md, so that a verdict can never disagree with the figures
 * drawn from the same numbers. Also the learning-rate schedules and weight decay, read
 * back from the telemetry. Usage: test_cli_recipes PATH-TO-gradflow DOCS/cli.md GROUP. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <gradflow.h>

/* Sanitizer builds run many times slower: the recipes (seconds each) are skipped there. */
#ifdef GF_CLI_SLOW
#define SLOW 1
#else
#define SLOW 0
#endif

static const char *gradflow_bin, *cli_md;

/* ---- Running the program ---------------------------------------------------------------- */

/* Run gradflow with argv (NULL-terminated, without the program), its output into
 * out.txt and err.txt; returns the exit status (128 + signal when killed). */
static int run_args(char *const *args)
{
    char *argv[64];
    size_t n = 0;
    argv[n++] = (char *)gradflow_bin;
    for (; args[n - 1] != NULL && n < 63; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (freopen("out.txt", "w", stdout) == NULL || freopen("err.txt", "w", stderr) == NULL)
            _exit(127);
        execv(gradflow_bin, argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        assert_int_equal(errno, EINTR);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#define RUN(...)                                                                        \
    run_args((char *const[]){__VA_ARGS__, NULL})

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

/* The string value of "key" in summary.json text ("" when absent or not a string). */
static void json_str(char *buf, size_t len, const char *json, const char *key)
{
    char pat[80];
    snprintf(pat, sizeof pat, "\"%s\": \"", key);
    const char *p = strstr(json, pat);
    buf[0] = '\0';
    if (p == NULL)
        return;
    p += strlen(pat);
    size_t k = 0;
    while (*p && *p != '"' && k + 1 < len)
        buf[k++] = *p++;
    buf[k] = '\0';
}

/* ---- The run's data: telemetry.csv and time.csv ----------------------------------------- */

typedef struct rec {
    unsigned long long step;
    char kind[32];
    double loss, signal, wgrad, wnorm, update, clip_pre, clip_post, dead;
    unsigned long long nf;
} rec;

typedef struct table {
    rec *r;
    size_t n;
} table;

static double field_real(const char *s)
{
    return *s == '\0' ? NAN : strtod(s, NULL);
}

/* telemetry.csv, by the columns of docs/file-formats.md (checked against its header). */
static table read_telemetry(const char *dir)
{
    char path[1024], line[1024];
    table t = {NULL, 0};
    size_t cap = 0;
    snprintf(path, sizeof path, "%s/telemetry.csv", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    static const char head[] = "step,layer,kind,loss,grad_out_norm,grad_in_norm,"
                               "weight_grad_norm,bias_grad_norm,weight_norm,update_ratio,"
                               "clip_pre_norm,clip_post_norm,act_mean,act_std,"
                               "deriv_abs_mean,zero_frac,dead_frac,sat_frac,nonfinite_fwd,"
                               "nonfinite_bwd\n";
    assert_string_equal(line, head);
    while (fgets(line, sizeof line, f) != NULL) {
        char *field[20];
        size_t nf = 0;
        line[strcspn(line, "\n")] = '\0';
        for (char *p = line, *q; nf < 20; p = q + 1) {
            field[nf++] = p;
            if ((q = strchr(p, ',')) == NULL)
                break;
            *q = '\0';
        }
        assert_int_equal(nf, 20);
        if (t.n == cap) {
            cap = cap ? 2 * cap : 256;
            t.r = realloc(t.r, cap * sizeof *t.r);
            assert_non_null(t.r);
        }
        rec *r = &t.r[t.n++];
        r->step = strtoull(field[0], NULL, 10);
        snprintf(r->kind, sizeof r->kind, "%s", field[2]);
        r->loss = field_real(field[3]);
        r->signal = field_real(field[4]);
        r->wgrad = field_real(field[6]);
        r->wnorm = field_real(field[8]);
        r->update = field_real(field[9]);
        r->clip_pre = field_real(field[10]);
        r->clip_post = field_real(field[11]);
        r->dead = field_real(field[16]);
        r->nf = strtoull(field[18], NULL, 10) + strtoull(field[19], NULL, 10);
    }
    fclose(f);
    assert_true(t.n > 0);
    return t;
}

/* The ratio ||dL/dh_1|| / ||dL/dh_T|| of the first and the last step in time.csv;
 * 0 when the run has none. */
static int read_time(const char *dir, double *first, double *last)
{
    char path[1024], line[256];
    unsigned long long step, prev = 0;
    unsigned long t;
    double x, h1 = NAN, cur1 = NAN, curT = NAN;
    int any = 0;
    snprintf(path, sizeof path, "%s/time.csv", dir);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    assert_non_null(fgets(line, sizeof line, f));
    while (fgets(line, sizeof line, f) != NULL) {
        assert_int_equal(sscanf(line, "%llu,%lu,%lf", &step, &t, &x), 3);
        if (any && step != prev && isnan(h1))
            h1 = cur1 / curT; /* the first step is complete */
        if (t == 1)
            cur1 = x;
        curT = x;
        prev = step, any = 1;
    }
    fclose(f);
    *last = cur1 / curT;
    *first = isnan(h1) ? *last : h1;
    return any;
}

/* ---- The verdict, recomputed ---------------------------------------------------------- */

/* The verdict of the records [b, e) of one step, by the rules of docs/verdicts.md:
 * nonfinite (seen: a NaN/inf up to here), exploding, dead units, vanishing, healthy. */
static const char *judge(const table *t, size_t b, size_t e, int seen, double time_ratio)
{
    const rec *first = NULL, *last = NULL;
    double dead = 0;
    if (seen)
        return "nonfinite";
    for (size_t i = b; i < e; i++) {
        if (strcmp(t->r[i].kind, "linear") == 0) {
            first = first ? first : &t->r[i];
            last = &t->r[i];
        }
        if (t->r[i].dead > dead)
            dead = t->r[i].dead;
    }
    assert_non_null(first);
    double r = first->signal / last->signal;
    if (!isnan(first->clip_pre)) /* clipped: the signal each layer learns from */
        r *= (first->clip_post / first->clip_pre) / (last->clip_post / last->clip_pre);
    if (first == last)
        r = NAN; /* one linear layer: a recurrent net, judged through time */
    if (r > GF_VERDICT_EXPLODE_RATIO || time_ratio > GF_VERDICT_EXPLODE_RATIO)
        return "exploding";
    if (dead >= GF_VERDICT_DEAD_FRAC)
        return "dead_units";
    if (r < GF_VERDICT_VANISH_RATIO || time_ratio < GF_VERDICT_VANISH_RATIO)
        return "vanishing";
    return "healthy";
}

/* The verdicts at init and at the end from the run directory's data. */
static void recompute(const char *dir, const char **init, const char **end)
{
    table t = read_telemetry(dir);
    double tf = NAN, tl = NAN;
    size_t e0 = 0, b1 = t.n - 1;
    int nonfinite = 0, nonfinite_init = 0;
    while (e0 < t.n && t.r[e0].step == t.r[0].step)
        e0++;
    while (b1 > 0 && t.r[b1 - 1].step == t.r[t.n - 1].step)
        b1--;
    for (size_t i = 0; i < t.n; i++) {
        int bad = t.r[i].nf > 0 || isinf(t.r[i].loss);
        nonfinite |= bad;
        nonfinite_init |= bad && i < e0;
    }
    read_time(dir, &tf, &tl);
    *init = judge(&t, 0, e0, nonfinite_init, tf);
    *end = judge(&t, b1, t.n, nonfinite, tl);
    free(t.r);
}

/* ---- The recipes of docs/cli.md -------------------------------------------------------- */

typedef struct recipe {
    char title[160];
    char command[600];  /* the one line of the sh block */
    char expect[1200];  /* "LABEL INIT → END, ..." after "Verdicts, init → end:" */
} recipe;

/* The recipes: every "### " of the "## Recipes" section, its ```sh block and its
 * "Verdicts, init → end:" line (which may go on over the next lines). */
static size_t parse_recipes(recipe *out, size_t cap)
{
    char *md = slurp(cli_md);
    assert_non_null(md);
    char *p = strstr(md, "\n## Recipes\n");
    assert_non_null(p);
    char *end = strstr(p + 1, "\n## ");
    if (end != NULL)
        *end = '\0';
    size_t n = 0;
    for (char *h = strstr(p, "\n### "); h != NULL && n < cap; h = strstr(h + 1, "\n### ")) {
        recipe *r = &out[n++];
        char *next = strstr(h + 1, "\n### ");
        char *sh = strstr(h, "\n```sh\n"), *v = strstr(h, "Verdicts, init → end:");
        memset(r, 0, sizeof *r);
        sscanf(h + 5, "%159[^\n]", r->title);
        assert_true(sh != NULL && (next == NULL || sh < next));
        assert_true(v != NULL && (next == NULL || v < next));
        sscanf(sh + 7, "%599[^\n]", r->command);
        assert_true(strncmp(r->command, "gradflow ", 9) == 0);
        assert_true(strncmp(sh + 7 + strlen(r->command), "\n```\n", 5) == 0); /* one line */
        assert_null(strstr(r->command, "--out"));
        assert_null(strstr(r->command, "--plot"));
        /* The expectation runs to the first '.' followed by a space or a newline. */
        v += strlen("Verdicts, init → end:");
        size_t k = 0;
        for (; *v && !(v[0] == '.' && (v[1] == '\n' || v[1] == ' ')); v++)
            if (k + 1 < sizeof r->expect)
                r->expect[k++] = *v == '\n' ? ' ' : *v;
        r->expect[k] = '\0';
    }
    free(md);
    return n;
}

/* The directory compare gives a label (text.c's gft_dir_name). */
static void dir_name(char *buf, size_t len, const char *label)
{
    size_t k = 0;
    for (; *label && k + 1 < len; label++, k++) {
        char c = *label;
        int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '.' || c == '_' || c == '=' || c == '-';
        buf[k] = keep ? c : c == ',' ? '_' : '-';
    }
    buf[k] = '\0';
}

/* Check one "LABEL INIT → END" item against the summary and the recomputed verdicts. */
static void check_item(const recipe *r, const char *out, const char *item)
{
    char label[128], want_init[32], want_end[32], sub[160], dir[800], got[32];
    const char *init, *end;
    assert_int_equal(sscanf(item, " %127s %31s → %31s", label, want_init, want_end), 3);
    dir_name(sub, sizeof sub, label);
    snprintf(dir, sizeof dir, "%s/%s", out, sub);
    char summary[1024];
    snprintf(summary, sizeof summary, "%s/summary.json", dir);
    char *json = slurp(summary);
    if (json == NULL)
        fail_msg("recipe '%s': no %s", r->title, summary);
    json_str(got, sizeof got, json, "verdict_init");
    if (strcmp(got, want_init) != 0)
        fail_msg("recipe '%s', %s: verdict at init '%s', the recipe says '%s'", r->title,
                 label, got, want_init);
    json_str(got, sizeof got, json, "verdict_final");
    if (strcmp(got, want_end) != 0)
        fail_msg("recipe '%s', %s: verdict at the end '%s', the recipe says '%s'", r->title,
                 label, got, want_end);
    free(json);
    recompute(dir, &init, &end);
    if (strcmp(init, want_init) != 0 || strcmp(end, want_end) != 0)
        fail_msg("recipe '%s', %s: the telemetry says %s → %s", r->title, label, init, end);
}

static void recipes_give_the_verdicts_they_promise(void **state)
{
    static recipe rs[16];
    (void)state;
    size_t n = parse_recipes(rs, 16);
    assert_true(n >= 8);
    if (SLOW)
        skip(); /* seconds each in a release build, minutes under the sanitizers */
    for (size_t i = 0; i < n; i++) {
        char *args[48], cmd[600], out[32];
        size_t na = 0;
        snprintf(cmd, sizeof cmd, "%s", rs[i].command + strlen("gradflow "));
        snprintf(out, sizeof out, "recipe%zu", i);
        for (char *tok = strtok(cmd, " "); tok != NULL && na < 40; tok = strtok(NULL, " "))
            args[na++] = tok;
        args[na++] = "--plot", args[na++] = "none", args[na++] = "--quiet";
        args[na++] = "--out", args[na++] = out, args[na] = NULL;
        int status = run_args(args);
        /* 3: a run of the comparison turned NaN, which the recipe may be about. */
        if (status != 0 && !(status == 3 && strstr(rs[i].expect, "nonfinite")))
            fail_msg("recipe '%s': exit %d", rs[i].title, status);
        char expect[1200];
        snprintf(expect, sizeof expect, "%s", rs[i].expect);
        size_t items = 0;
        for (char *save = NULL, *item = strtok_r(expect, ",", &save); item != NULL;
             item = strtok_r(NULL, ",", &save), items++)
            check_item(&rs[i], out, item);
        assert_true(items >= 2);
    }
}

/* --act prelu: PReLU layers after the hidden linear layers, 16 slopes each starting at
 * 0.25 (norm 1) and learned (the norm moves). */
static void prelu_layers_learn_their_slopes(void **state)
{
    (void)state;
    assert_int_equal(RUN("run", "--act", "prelu", "--depth", "3", "--width", "16", "--steps",
                         "3", "--plot", "none", "--quiet", "--out", "prelu"), 0);
    table t = read_telemetry("prelu");
    size_t n = 0;
    double last = NAN;
    for (size_t i = 0; i < t.n; i++) {
        if (strcmp(t.r[i].kind, "prelu") != 0)
            continue;
        if (t.r[i].step == 0)
            assert_true(fabs(t.r[i].wnorm - 1) < 1e-6); /* sqrt(16) * 0.25 */
        last = t.r[i].wnorm;
        n++;
    }
    assert_int_equal(n, 2 * 3); /* two hidden layers, three steps */
    assert_true(fabs(last - 1) > 1e-5);
    free(t.r);
}

/* ---- Schedules and weight decay, read back from the telemetry ---------------------------- */

/* With plain SGD and no decay, ||delta W|| = lr ||dL/dW||: the rate applied at each step
 * is update_ratio * weight_norm / weight_grad_norm, the same for every linear layer. */
static void check_rates(const char *dir, double (*rate)(unsigned long long step))
{
    table t = read_telemetry(dir);
    size_t checked = 0;
    for (size_t i = 0; i < t.n; i++) {
        const rec *r = &t.r[i];
        if (strcmp(r->kind, "linear") != 0)
            continue;
        double lr = r->update * r->wnorm / r->wgrad, want = rate(r->step);
        if (!(fabs(lr - want) <= 1e-4 * want))
            fail_msg("%s, step %llu: rate %.8g, expected %.8g", dir, r->step, lr, want);
        checked++;
    }
    assert_int_equal(checked, 3 * 6); /* 3 linear layers, 6 steps */
    free(t.r);
}

static double step_rate(unsigned long long step) { return 0.1 * pow(0.5, (double)(step / 2)); }
static double cosine_rate(unsigned long long step)
{
    return 0.01 + (0.1 - 0.01) * (1 + cos(3.14159265358979323846 * (double)step / 6)) / 2;
}

static void schedules_set_the_rate_of_each_step(void **state)
{
    (void)state;
    assert_int_equal(RUN("run", "--optim", "sgd", "--lr", "0.1", "--lr-schedule", "step:2:0.5",
                         "--depth", "3", "--width", "16", "--steps", "6", "--plot", "none",
                         "--quiet", "--out", "sched-step"), 0);
    check_rates("sched-step", step_rate);
    assert_int_equal(RUN("run", "--optim", "sgd", "--lr", "0.1", "--lr-schedule",
                         "cosine:0.01", "--depth", "3", "--width", "16", "--steps", "6",
                         "--plot", "none", "--quiet", "--out", "sched-cos"), 0);
    check_rates("sched-cos", cosine_rate);
    char *json = slurp("sched-cos/summary.json"), v[64];
    assert_non_null(json);
    json_str(v, sizeof v, json, "lr_schedule");
    assert_string_equal(v, "cosine:0.01");
    json_str(v, sizeof v, json, "lr");
    assert_string_equal(v, "0.1"); /* the base rate, not the last one */
    free(json);
    /* Bad schedules are usage errors naming the option. */
    assert_int_equal(RUN("run", "--lr-schedule", "step:0:0.5", "--out", "bad"), 2);
    char *err = slurp("err.txt");
    assert_non_null(strstr(err, "--lr-schedule"));
    free(err);
    assert_int_equal(RUN("run", "--lr-schedule", "linear", "--out", "bad"), 2);
    assert_int_equal(RUN("run", "--weight-decay", "-1", "--out", "bad"), 2);
}

/* Every schedule parameter out of range is refused before step 0: exit 2, the option
 * named, nothing trained (no run directory). cosine:MIN_LR is checked against the rate
 * the run would use: --lr, else the optimiser's default (momentum: 0.01). */
static void bad_schedules_are_usage_errors(void **state)
{
    static char *const bad[][4] = {
        {"cosine:1", NULL},                  /* above the default rate 0.01 */
        {"cosine:0.01", NULL},               /* equal to it: no decay */
        {"cosine:0.5", "--lr", "0.1", NULL}, /* above --lr */
        {"cosine:0.05", "--optim", "adam", NULL}, /* adam's default is 0.001 */
        {"cosine:-1", NULL},
        {"cosine:nan", NULL},
        {"step:0:0.5", NULL},
        {"step:10:0", NULL},
        {"step:10:-0.5", NULL},
        {"step:10:1.5", NULL},
        {"step:10", NULL},
        {"step:-3:0.5", NULL},
    };
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char out[32];
        snprintf(out, sizeof out, "bad-sched-%zu", i);
        int rc = bad[i][1] == NULL
                     ? RUN("run", "--lr-schedule", bad[i][0], "--steps", "3", "--quiet",
                           "--plot", "none", "--out", out)
                     : RUN("run", "--lr-schedule", bad[i][0], bad[i][1], bad[i][2], "--steps",
                           "3", "--quiet", "--plot", "none", "--out", out);
        if (rc != 2)
            fprintf(stderr, "--lr-schedule %s: exit %d, not 2\n", bad[i][0], rc);
        assert_int_equal(rc, 2);
        char *err = slurp("err.txt");
        assert_non_null(err);
        assert_non_null(strstr(err, "--lr-schedule"));
        assert_null(strstr(err, "step 0")); /* refused up front, not at the first step */
        free(err);
        char summary[64];
        snprintf(summary, sizeof summary, "%s/summary.json", out);
        assert_int_equal(access(summary, F_OK), -1);
    }
    /* Just below the rate is a schedule; compare checks each of its runs' rates. */
    assert_int_equal(RUN("run", "--lr-schedule", "cosine:0.009", "--steps", "3", "--quiet",
                         "--plot", "none", "--out", "ok-sched"), 0);
    assert_int_equal(RUN("compare", "--lr", "0.1,0.001", "--lr-schedule", "cosine:0.01",
                         "--steps", "3", "--quiet", "--plot", "none", "--out", "bad-cmp"), 2);
}

/* L2 decay: delta W = -lr (g + wd W), so ||delta W|| / lr differs from ||g|| by at most
 * wd ||W|| (triangle inequality), and by something: the decay is applied. */
static void weight_decay_is_added_to_the_gradient(void **state)
{
    (void)state;
    assert_int_equal(RUN("run", "--optim", "sgd", "--lr", "0.1", "--weight-decay", "0.05",
                         "--depth", "3", "--width", "16", "--steps", "3", "--plot", "none",
                         "--quiet", "--out", "wd"), 0);
    table t = read_telemetry("wd");
    size_t moved = 0;
    for (size_t i = 0; i < t.n; i++) {
        const rec *r = &t.r[i];
        if (strcmp(r->kind, "linear") != 0)
            continue;
        double step_over_lr = r->update * r->wnorm / 0.1;
        assert_true(fabs(step_over_lr - r->wgrad) <= 0.05 * r->wnorm * (1 + 1e-4));
        moved += fabs(step_over_lr - r->wgrad) > 1e-3 * r->wgrad;
    }
    assert_true(moved > 0);
    free(t.r);
    char *json = slurp("wd/summary.json"), v[64];
    json_str(v, sizeof v, json, "weight_decay");
    assert_string_equal(v, "0.05");
    free(json);
}

int main(int argc, char **argv)
{
    static const struct CMUnitTest recipes[] = {
        cmocka_unit_test(prelu_layers_learn_their_slopes),
        cmocka_unit_test(recipes_give_the_verdicts_they_promise),
    };
    static const struct CMUnitTest schedules[] = {
        cmocka_unit_test(schedules_set_the_rate_of_each_step),
        cmocka_unit_test(weight_decay_is_added_to_the_gradient),
        cmocka_unit_test(bad_schedules_are_usage_errors),
    };
    char dir[128];
    if (argc != 4) {
        fprintf(stderr, "usage: test_cli_recipes PATH-TO-gradflow DOCS/cli.md GROUP\n");
        return 2;
    }
    gradflow_bin = argv[1];
    cli_md = argv[2];
    /* A scratch directory of the group's own, so that groups run in parallel. */
    snprintf(dir, sizeof dir, "cli-test-%.40s", argv[3]);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return 1;
    if (chdir(dir) != 0)
        return 1;
    if (strcmp(argv[3], "recipes") == 0)
        return cmocka_run_group_tests_name("recipes", recipes, NULL, NULL);
    if (strcmp(argv[3], "schedules") == 0)
        return cmocka_run_group_tests_name("schedules", schedules, NULL, NULL);
    fprintf(stderr, "test_cli_recipes: unknown group '%s'\n", argv[3]);
    return 2;
}
