/* src/tool/cmd_merge.c: `gradflow merge DIR...`: read run directories written by separate
 * processes (a sweep, or `gradflow run --out DIR/NAME`), from their summary.json,
 * telemetry.csv and time.csv, into one table and one set of overlaid figures. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

/* A top-level number of our own summary.json, whose top-level keys open a line with two
 * spaces (the config object, on one line, has keys such as "steps" too). NaN when
 * absent or null. */
static double json_number(const char *text, const char *key)
{
    char pat[80];
    const char *p;
    snprintf(pat, sizeof pat, "\n  \"%s\":", key);
    p = strstr(text, pat);
    if (p == NULL)
        return NAN;
    p += strlen(pat);
    while (*p == ' ')
        p++;
    if (strncmp(p, "null", 4) == 0)
        return NAN;
    return strtod(p, NULL);
}

/* The step count of a summary.json into *steps: 1, or 0 when v is not a whole number in
 * [0, 2^64) (a hand-edited "steps": 1e300 or -1). Checked before the conversion, which
 * is undefined behaviour for values out of range. Absent (NaN): 0 steps. */
static int steps_of(uint64_t *steps, double v)
{
    *steps = 0;
    if (isnan(v))
        return 1;
    if (!(v >= 0 && v < 18446744073709551616.0 /* 2^64 */) || v != floor(v))
        return 0;
    *steps = (uint64_t)v;
    return 1;
}

/* A string from our own summary.json: "key": "value", the first such key (the run's
 * "name" comes first; "init" is only in the config). Values with escapes are cut at
 * the first quote. buf unchanged when absent. */
static void json_string(char *buf, size_t len, const char *text, const char *key)
{
    char pat[80];
    const char *p, *end;
    snprintf(pat, sizeof pat, "\"%s\": \"", key);
    p = strstr(text, pat);
    if (p == NULL)
        return;
    p += strlen(pat);
    end = strchr(p, '"');
    if (end == NULL || end == p)
        return;
    snprintf(buf, len, "%.*s", (int)(end - p), p);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;
    if (f == NULL)
        return NULL;
    buf = gf_alloc(1 << 16);
    if (buf == NULL) {
        fclose(f);
        return NULL;
    }
    n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Run directories in the order of their values: depth=5 before depth=20. */
static int cmp_str(const void *a, const void *b)
{
    return gft_natural_cmp(*(char *const *)a, *(char *const *)b);
}

/* Append a copy of path to the growing array *paths; 0, or -1 when out of memory. */
static int add_path(char ***paths, size_t *n, size_t *cap, const char *path)
{
    char *p;
    if (*n == *cap) {
        char **np = gf_realloc(*paths, (*cap ? 2 * *cap : 16) * sizeof *np);
        if (np == NULL)
            return -1;
        *paths = np, *cap = *cap ? 2 * *cap : 16;
    }
    p = gf_alloc(strlen(path) + 1);
    if (p == NULL)
        return -1;
    strcpy(p, path);
    (*paths)[(*n)++] = p;
    return 0;
}

/* The seeds of a configuration run with --seeds N (a sweep's point): DIR/seed-<s> holding a
 * summary.json, appended to *paths. Returns how many, or -1 when out of memory. */
static int collect_seeds(const char *dir, char ***paths, size_t *n, size_t *cap)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int found = 0;
    while (d != NULL && (e = readdir(d)) != NULL) {
        char sub[4200];
        if (strncmp(e->d_name, "seed-", 5) != 0)
            continue;
        snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
        if (!gft_is_file(sub, "summary.json"))
            continue;
        if (add_path(paths, n, cap, sub) != 0) {
            closedir(d);
            return -1;
        }
        found++;
    }
    if (d != NULL)
        closedir(d);
    return found;
}

/* Collect run directories: DIR itself when it holds a summary.json, else its
 * subdirectories that do, and the seed-<s> directories of those that hold seeds (sorted
 * by name, numbers by value, so that a configuration's seeds stay together). Paths are
 * allocated; *n grows. */
static int collect_runs(const char *dir, char ***paths, size_t *n, size_t *cap, int quiet)
{
    DIR *d;
    struct dirent *e;
    size_t first = *n;
    if (gft_is_file(dir, "summary.json"))
        return add_path(paths, n, cap, dir);
    d = opendir(dir);
    if (d == NULL) {
        gft_error("merge: cannot read '%s': %s", dir, strerror(errno));
        return -2;
    }
    while ((e = readdir(d)) != NULL) {
        char sub[4200];
        if (e->d_name[0] == '.')
            continue;
        snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
        if (!gft_is_file(sub, "summary.json")) {
            int seeds = collect_seeds(sub, paths, n, cap);
            if (seeds < 0) {
                closedir(d);
                return -1;
            }
            if (seeds == 0 && gft_is_file(sub, "telemetry.csv") && !quiet)
                fprintf(stderr, "gradflow: note: skipping %s: no summary.json (still running, "
                                "or killed)\n", sub);
            continue;
        }
        if (add_path(paths, n, cap, sub) != 0) {
            closedir(d);
            return -1;
        }
    }
    closedir(d);
    if (*n > first)
        qsort(*paths + first, *n - first, sizeof **paths, cmp_str);
    return 0;
}

/* The norms of the last complete step of time.csv into last (T values), starting from
 * the line already read; returns 1 when one was found. */
static int read_last_step(FILE *f, char *line, size_t len, double *last, size_t T)
{
    double *cur = gf_alloc(T * sizeof *cur);
    int found = 0;
    size_t k = 0;
    if (cur == NULL)
        return 0;
    do {
        unsigned long long step;
        unsigned long t;
        double x;
        if (sscanf(line, "%llu,%lu,%lf", &step, &t, &x) != 3 || t < 1 || t > T)
            break;
        k = t == 1 ? 0 : k;
        if (t != k + 1)
            break;
        cur[k++] = x;
        if (k == T) {
            memcpy(last, cur, T * sizeof *cur);
            found = 1;
        }
    } while (fgets(line, (int)len, f) != NULL);
    gf_free(cur);
    return found;
}

/* The first recorded step of a run's time.csv (rnn.h's step,t,grad_h_norm), and the
 * last one, for the overlay of the gradient through time and the verdict through time
 * at the end. Absent or malformed: nothing, not an error (the run's own figures were
 * judged when it ran). */
static void read_time(gft_result *r, const char *dir)
{
    char path[4200], line[256];
    unsigned long long first = 0;
    size_t n = 0, cap = 0;
    double *v = NULL;
    FILE *f;
    snprintf(path, sizeof path, "%s/time.csv", dir);
    f = fopen(path, "r");
    if (f == NULL)
        return;
    int more = 0;
    if (fgets(line, sizeof line, f) != NULL && strncmp(line, "step,t,", 7) == 0)
        while ((more = fgets(line, sizeof line, f) != NULL) != 0) {
            unsigned long long step;
            unsigned long t;
            double x;
            if (sscanf(line, "%llu,%lu,%lf", &step, &t, &x) != 3 || (n > 0 && step != first) ||
                t != n + 1)
                break;
            first = step;
            if (n == cap) {
                double *nv = gf_realloc(v, (cap ? 2 * cap : 64) * sizeof *nv);
                if (nv == NULL)
                    break;
                v = nv, cap = cap ? 2 * cap : 64;
            }
            v[n++] = x;
            more = 0;
        }
    if (n == 0) {
        fclose(f);
        gf_free(v);
        return;
    }
    r->time_init = v, r->time_T = n;
    r->time_first = v[0], r->time_last = v[n - 1];
    r->time_ratio = v[0] / v[n - 1];
    double *last = gf_alloc(n * sizeof *last);
    if (last != NULL && !(more && read_last_step(f, line, sizeof line, last, n)))
        memcpy(last, v, n * sizeof *v); /* one recorded step: it is also the last */
    if (last != NULL && r->judged && n >= 2)
        gf_verdict_add_time(&r->verdict, v, last, n);
    r->time_end = last; /* for the overlay's second panel */
    fclose(f);
}

/* The training loss of every step from a run's loss.csv ("step,loss,..."), as compare
 * keeps it: the loss figure and the band of seeds.png read it. Absent or malformed:
 * nothing (the figures fall back on the telemetry's recorded steps). */
static void read_loss(gft_result *r, const char *dir)
{
    char path[4200], line[256];
    size_t cap = 0;
    FILE *f;
    snprintf(path, sizeof path, "%s/loss.csv", dir);
    f = fopen(path, "r");
    if (f == NULL)
        return;
    if (fgets(line, sizeof line, f) != NULL && strncmp(line, "step,loss", 9) == 0)
        while (fgets(line, sizeof line, f) != NULL) {
            unsigned long long step;
            double loss;
            if (sscanf(line, "%llu,%lf", &step, &loss) != 2)
                break;
            if (r->n_loss == cap) {
                size_t nc = cap ? 2 * cap : 256;
                double *nl = gf_realloc(r->loss, nc * sizeof *nl);
                if (nl != NULL)
                    r->loss = nl;
                uint64_t *ns = nl ? gf_realloc(r->loss_steps, nc * sizeof *ns) : NULL;
                if (ns == NULL)
                    break; /* out of memory: the steps read so far */
                r->loss_steps = ns, cap = nc;
            }
            r->loss[r->n_loss] = loss;
            r->loss_steps[r->n_loss++] = step;
        }
    fclose(f);
}

/* What compare names a run's column after (the option its runs differ in) into key:
 * the KEY of a label KEY=VALUE, else the option (act, init, cell) whose value in the
 * summary's config is the label, as compare labels those runs; "" when neither. And
 * the init as compare's table shows it: the activation's suited scheme for "suited". */
static void compare_names(char key[32], gft_result *r, const char *summary)
{
    static const char *const bare[] = {"act", "init", "cell"};
    char label[256];
    const gf_activation *act;
    char value[256];
    /* A seed of --seeds N is labelled "LABEL seed=S": its configuration is LABEL. */
    snprintf(label, sizeof label, "%s", r->label);
    if (strstr(label, " seed=") != NULL)
        *strstr(label, " seed=") = '\0';
    const char *eq = strchr(label, '=');
    key[0] = '\0';
    /* A sweep over two options labels its runs depth=5,act=relu: no one key. */
    if (eq != NULL && eq - label < 32 && strchr(eq + 1, '=') == NULL)
        snprintf(key, 32, "%.*s", (int)(eq - label), label);
    for (size_t i = 0; eq == NULL && i < sizeof bare / sizeof bare[0]; i++) {
        value[0] = '\0';
        json_string(value, sizeof value, summary, bare[i]);
        if (strcmp(value, label) == 0 && key[0] == '\0')
            snprintf(key, 32, "%s", bare[i]);
    }
    value[0] = '\0';
    json_string(value, sizeof value, summary, "act");
    if (strcmp(r->init, "suited") == 0 && gf_activation_find(&act, value) == GF_OK)
        snprintf(r->init, sizeof r->init, "%s", act->suited_init);
}

/* One run directory into r: its label and init, final loss and accuracy from
 * summary.json, its records from telemetry.csv (judged), its gradient through time;
 * the name of compare's first column into key (compare_names). Returns 0, or
 * GFT_EXIT_FAIL when the telemetry cannot be read (said). */
static int read_run(gft_result *r, char key[32], const char *dir)
{
    char path[4200];
    char *summary;
    const char *base = strrchr(dir, '/');
    r->final_loss = r->accuracy = NAN;
    r->time_first = r->time_last = r->time_ratio = NAN;
    snprintf(r->label, sizeof r->label, "%s", base ? base + 1 : dir);
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    key[0] = '\0';
    snprintf(path, sizeof path, "%s/summary.json", dir);
    summary = read_text(path);
    if (summary != NULL) {
        json_string(r->label, sizeof r->label, summary, "name");
        json_string(r->init, sizeof r->init, summary, "init");
        compare_names(key, r, summary);
        r->final_loss = json_number(summary, "final_loss");
        r->accuracy = json_number(summary, "final_accuracy");
        if (!steps_of(&r->steps, json_number(summary, "steps"))) {
            gft_error("merge: %s: \"steps\" is %g, not a step count", path,
                      json_number(summary, "steps"));
            gf_free(summary);
            r->status = GFT_EXIT_FAIL;
            return GFT_EXIT_FAIL;
        }
        gf_free(summary);
    }
    snprintf(path, sizeof path, "%s/telemetry.csv", dir);
    if (gf_telemetry_new(&r->tel) != GF_OK || gf_run_read_telemetry(r->tel, path) != GF_OK) {
        gft_error("merge: %s", gf_last_error());
        gf_telemetry_free(r->tel);
        r->tel = NULL;
        r->status = GFT_EXIT_FAIL;
        return GFT_EXIT_FAIL;
    }
    if (gf_telemetry_count(r->tel) > 0 && gf_verdict_judge(&r->verdict, r->tel) == GF_OK)
        r->judged = 1;
    read_time(r, dir);
    read_loss(r, dir);
    return 0;
}

/* The configuration of a run: its label less " seed=S" (its length). */
static size_t config_len(const char *label)
{
    const char *cut = strstr(label, " seed=");
    return cut ? (size_t)(cut - label) : strlen(label);
}

/* N when the runs are configurations of N seeds each, in order (a sweep or compare with
 * --seeds N: every label "LABEL seed=S", the same number of seeds for every LABEL); else
 * 1, each run on its own. */
static size_t seed_groups(const gft_result *res, size_t n)
{
    size_t seeds = 0;
    for (size_t i = 0; i < n;) {
        size_t len = config_len(res[i].label), j = i;
        if (strstr(res[i].label, " seed=") == NULL)
            return 1;
        while (j < n && config_len(res[j].label) == len &&
               strncmp(res[j].label, res[i].label, len) == 0 && strstr(res[j].label, " seed="))
            j++;
        if (seeds != 0 && j - i != seeds)
            return 1; /* an interrupted sweep: some configuration has fewer seeds */
        seeds = j - i;
        i = j;
    }
    return seeds > 1 && seeds <= GFT_MAX_SEEDS ? seeds : 1;
}

/* Merge run directories into one table and one set of overlaid figures in out. */
int gft_merge_dirs(const char *const *dirs, size_t n_dirs, const char *out,
                   const gft_config *c)
{
    char **paths = NULL;
    size_t n = 0, cap = 0;
    gft_result *res = NULL;
    int status = 0;

    for (size_t i = 0; i < n_dirs; i++) {
        int st = collect_runs(dirs[i], &paths, &n, &cap, c->quiet);
        if (st == -1) {
            gft_error("out of memory");
            status = GFT_EXIT_FAIL;
            goto done;
        }
        if (st == -2)
            status = GFT_EXIT_FAIL;
    }
    if (n == 0) {
        gft_error("merge: no run directory (one holding summary.json) in %s%s", dirs[0],
                  n_dirs > 1 ? " and the others" : "");
        status = GFT_EXIT_FAIL;
        goto done;
    }
    res = gf_calloc(n, sizeof *res);
    if (res == NULL) {
        gft_error("out of memory");
        status = GFT_EXIT_FAIL;
        goto done;
    }
    /* The first column is named as compare names it when every run agrees on the
     * option they differ in; "run" otherwise (a sweep over two options). */
    char first[32] = "", key[32];
    for (size_t i = 0; i < n; i++) {
        if (read_run(&res[i], key, paths[i]) != 0)
            status = GFT_EXIT_FAIL;
        if (i == 0)
            snprintf(first, sizeof first, "%s", key);
        else if (strcmp(first, key) != 0)
            first[0] = '\0';
    }
    gft_print_results(res, n, first[0] ? first : "run");
    size_t seeds = seed_groups(res, n);
    if (seeds > 1)
        gft_print_seeds(res, n / seeds, seeds, first[0] ? first : "run");
    if (gft_overlay_seeds(out, res, n / seeds, seeds, c) ||
        (seeds > 1 && gft_seeds_figure(out, res, n / seeds, seeds, c)))
        status = gft_worse(status, GFT_EXIT_FAIL);
    printf("merged %zu runs%s; figures: ", n, seeds > 1 ? " (seeds)" : "");
    gft_print_figures(out, c);
    printf("\n");

done:
    for (size_t i = 0; i < n; i++) {
        if (res != NULL)
            gft_result_release(&res[i]);
        gf_free(paths[i]);
    }
    gf_free(paths);
    gf_free(res);
    return status;
}

int gft_cmd_merge(gft_args *a)
{
    const char *out = gft_out_dir(&a->cfg, a->operands[0]);
    gf_run_lock *lock = NULL;
    int status;
    /* Not while a run or sweep still writes there. */
    if (gft_lock_dir(&lock, out) != 0)
        return GFT_EXIT_FAIL;
    status = gft_merge_dirs(a->operands, a->n_operands, out, &a->cfg);
    gf_run_lock_release(lock);
    return status;
}
