/* src/tool/cmd_compare.c: `gradflow compare`: one run per value of the option given as a
 * comma list, trained one after the other in this process, then the table of results and
 * the overlaid figures. The showcase (cmd_showcase.c) is a compare too. */
#include <stdio.h>
#include <string.h>

#include "tool.h"

/* The configuration of each item of setting k, checked before the first run starts (a
 * bad combination of one value with the other options is a usage error, said once). */
static int build_configs(gft_config *cfgs, const gft_args *a, size_t k, size_t n)
{
    size_t choice[GFT_MAX_SETTINGS] = {0};
    for (size_t i = 0; i < n; i++) {
        choice[k] = i;
        if (gft_config_build(&cfgs[i], a->cmd, a->set, a->n_set, choice) != 0)
            return GFT_EXIT_USAGE;
        cfgs[i].quiet = a->cfg.quiet;
    }
    return 0;
}

/* Train the runs one after the other into DIR/<label> (with --seeds N, N runs each into
 * DIR/<label>/seed-<s>, results N apart), until Ctrl-C. *done: how many configurations
 * ran. Returns the worst of their statuses. */
static int train_runs(gft_result *res, size_t *done, const gft_config *cfgs,
                      const gft_args *a, size_t k, const char *dir)
{
    const gft_setting *set = &a->set[k];
    size_t n = gft_list_count(set->value);
    int status = 0;
    for (size_t i = 0; i < n && !gft_interrupted; i++) {
        char item[256], label[300], sub[300], path[1400];
        int st;
        gft_list_item(set->value, i, item, sizeof item);
        if (strcmp(set->opt->name, "act") == 0 || strcmp(set->opt->name, "init") == 0 ||
            strcmp(set->opt->name, "cell") == 0)
            snprintf(label, sizeof label, "%s", item);
        else
            snprintf(label, sizeof label, "%s=%s", set->opt->name, item);
        gft_dir_name(sub, sizeof sub, label);
        snprintf(path, sizeof path, "%s/%s", dir, sub);
        if (cfgs[i].seeds > 1) {
            st = gft_train_seeds(&cfgs[i], path, label, &res[i * cfgs[i].seeds]);
        } else {
            st = gft_train(&cfgs[i], path, label, 1, &res[i]);
            snprintf(res[i].init, sizeof res[i].init, "%s", gft_init_label(&cfgs[i]));
        }
        *done = i + 1;
        /* A NaN run has said where it stopped; other failures get a word more. */
        if (!a->cfg.quiet && st != 0 && st != GFT_EXIT_INTERRUPTED && st != GFT_EXIT_NONFINITE)
            fprintf(stderr, "gradflow: %s: run failed (exit %d); continuing\n", label, st);
        status = gft_worse(status, st);
        if (st == GFT_EXIT_INTERRUPTED) {
            fprintf(stderr, "gradflow: interrupted during %s; the runs so far are in %s\n",
                    label, dir);
            break;
        }
    }
    return status;
}

/* The table, the overlaid figures and the comparison's page, after the runs. Their
 * renders and those of the runs are waited for before the page, which inlines the
 * SVGs. Returns 1 when something failed (said). */
static int write_comparison(gft_args *a, size_t k, const char *dir, const gft_result *res,
                            size_t done)
{
    size_t seeds = a->cfg.seeds;
    int failed;
    printf("\n");
    gft_print_results(res, done * seeds, a->set[k].opt->name);
    if (seeds > 1)
        gft_print_seeds(res, done, seeds, a->set[k].opt->name);
    failed = gft_overlay_seeds(dir, res, done, seeds, &a->cfg);
    if (seeds > 1)
        failed |= gft_seeds_figure(dir, res, done, seeds, &a->cfg);
    failed |= gft_renders_finish(a->cfg.renders);
    a->cfg.renders = NULL;
    failed |= gft_html_compare_seeds(dir, res, done * seeds, seeds, a->set[k].opt->name);
    printf("figures: ");
    gft_print_figures(dir, &a->cfg);
    printf(";\neach run's directory holds its own (heatmap, histograms).\n");
    return failed;
}

/* One in-process run per item of setting `k` (the list), then the table and overlays.
 * Each run's figures render while the next one trains (renders.c). */
int gft_compare_runs(gft_args *a, size_t k, const char *dir, const char *title)
{
    size_t n = gft_list_count(a->set[k].value), done = 0, seeds = a->cfg.seeds;
    gft_result *res = gf_calloc(n * seeds, sizeof *res);
    gft_config *cfgs = gf_calloc(n, sizeof *cfgs);
    int status;

    if (res == NULL || cfgs == NULL) {
        gf_free(res), gf_free(cfgs);
        gft_error("out of memory");
        return GFT_EXIT_FAIL;
    }
    status = build_configs(cfgs, a, k, n);
    if (status != 0) {
        gf_free(res), gf_free(cfgs);
        return status;
    }
    gf_run_lock *lock = NULL;
    if (gft_lock_dir(&lock, dir) != 0) {
        gf_free(res), gf_free(cfgs);
        return GFT_EXIT_FAIL;
    }
    if (!a->cfg.quiet)
        printf("%s: %zu runs into %s\n", title, n, dir);
    a->cfg.renders = gft_renders_new();
    for (size_t i = 0; i < n; i++)
        cfgs[i].renders = a->cfg.renders;
    status = train_runs(res, &done, cfgs, a, k, dir);
    if (gft_interrupted)
        status = gft_worse(status, GFT_EXIT_INTERRUPTED);
    if (done > 0 && write_comparison(a, k, dir, res, done) != 0)
        status = gft_worse(status, GFT_EXIT_FAIL);
    if (gft_renders_finish(a->cfg.renders) != 0) /* no run finished: the pages of any */
        status = gft_worse(status, GFT_EXIT_FAIL);
    a->cfg.renders = NULL;
    for (size_t i = 0; i < n * seeds; i++)
        gft_result_release(&res[i]);
    gf_free(res);
    gf_free(cfgs);
    gf_run_lock_release(lock);
    return status;
}

int gft_cmd_compare(gft_args *a)
{
    size_t k = a->n_set, lists = 0;
    for (size_t i = 0; i < a->n_set; i++)
        if (a->set[i].value != NULL && a->set[i].opt->listable &&
            gft_list_count(a->set[i].value) > 1) {
            if (lists++ == 0)
                k = i;
        }
    if (lists == 0) {
        gft_error("compare: give one option a comma list, e.g. --act sigmoid,tanh,relu or "
                  "--init normal,xavier,he");
        return GFT_EXIT_USAGE;
    }
    if (lists > 1) {
        gft_error("compare: only one option may be a comma list (use sweep for a grid)");
        return GFT_EXIT_USAGE;
    }
    return gft_compare_runs(a, k, gft_out_dir(&a->cfg, "gradflow-out/compare"), "compare");
}
