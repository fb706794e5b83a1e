/* src/tool/cmd_run.c: `gradflow run`: train one network into its run directory
 * (train.c) and say what happened: the network, the backward signal at the first and the
 * last layer, the loss, the verdict, the gradient through time of a recurrent net. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tool.h"

/* The figures behind the verdicts, at init and at the end, then both verdicts labelled. */
static void print_verdicts(const gf_verdict *v)
{
    char a[32], b[32], d[32];
    printf("  backward signal ||dL/dh|| at step %llu (init): first layer %s, last layer %s, "
           "ratio %s\n", (unsigned long long)v->first_step,
           gft_num(a, sizeof a, v->signal_first_init), gft_num(b, sizeof b, v->signal_last_init),
           gft_num(d, sizeof d, v->ratio_init));
    printf("  backward signal ||dL/dh|| at step %llu (end):  first layer %s, last layer %s, "
           "ratio %s\n", (unsigned long long)v->last_step,
           gft_num(a, sizeof a, v->signal_first_final),
           gft_num(b, sizeof b, v->signal_last_final), gft_num(d, sizeof d, v->ratio_final));
    if (v->clipped)
        printf("  after clipping: ratio %s at init, %s at the end; clipping engaged on %llu of "
               "%llu recorded steps\n", gft_num(a, sizeof a, v->clip_ratio_init),
               gft_num(b, sizeof b, v->clip_ratio_final), (unsigned long long)v->clip_engaged,
               (unsigned long long)v->clip_steps);
    if (v->time_steps)
        printf("  through time (||dL/dh_1|| / ||dL/dh_T||, T = %zu): ratio %s at init, %s at "
               "the end\n", v->time_steps, gft_num(a, sizeof a, v->time_ratio_init),
               gft_num(b, sizeof b, v->time_ratio_final));
    if (v->dead_seen)
        printf("  dead units: first at step %llu, %.0f%% of layer %zu\n",
               (unsigned long long)v->dead_step, 100 * v->dead_step_frac, v->dead_step_depth);
    printf("  verdict at init (step %llu): %s\n  verdict at the end (step %llu): %s\n"
           "  why: %s\n", (unsigned long long)v->first_step, gf_verdict_name(v->kind_init),
           (unsigned long long)v->last_step, gf_verdict_name(v->kind_final), v->text);
}

static void print_run(const gft_result *r, const gft_config *c)
{
    char a[32], net[300];
    if (c->resume[0]) {
        printf("%s: resumed from %s, %s, %llu steps in %.1f s\n", r->label, c->resume,
               c->data, (unsigned long long)r->steps, r->seconds);
    } else {
        gft_describe_net(net, sizeof net, c);
        printf("%s: %s, %s, %llu steps in %.1f s\n", r->label, net, c->data,
               (unsigned long long)r->steps, r->seconds);
    }
    printf("  final loss %s", gft_num(a, sizeof a, r->final_loss));
    if (!isnan(r->accuracy))
        printf(", test accuracy %.3f", r->accuracy);
    printf("\n");
    if (r->judged)
        print_verdicts(&r->verdict);
    printf("  wrote %s (telemetry.csv, %sloss.csv, summary.json, %s *.%s)\n", r->dir,
           !isnan(r->time_ratio) ? "time.csv, " : "",
           gft_figures_rendered(c) ? "figures" : "gnuplot scripts", gft_figure_ext(c));
}

/* --seeds N: N runs into DIR/seed-<s>, then the table over them, the overlays, the
 * figure of means and bands and the page of them all. Each seed's figures render while
 * the next seed trains (renders.c), as compare's runs do; all are waited for before the
 * page, which inlines the SVGs. */
static int run_seeds(gft_args *a, const char *dir, const char *label)
{
    gft_config *c = &a->cfg;
    gf_run_lock *lock = NULL;
    gft_result *res;
    int status;
    if (c->save[0] || c->resume[0]) {
        gft_error("--seeds: not with --save or --resume (one model file, several runs)");
        return GFT_EXIT_USAGE;
    }
    if (gft_lock_dir(&lock, dir) != 0)
        return GFT_EXIT_FAIL;
    res = gf_calloc(c->seeds, sizeof *res);
    if (res == NULL) {
        gf_run_lock_release(lock);
        gft_error("out of memory");
        return GFT_EXIT_FAIL;
    }
    c->renders = gft_renders_new(); /* NULL (no memory): each renders as it comes */
    status = gft_train_seeds(c, dir, label, res);
    size_t done = 0;
    while (done < c->seeds && res[done].label[0])
        done++;
    if (done > 0) {
        printf("%s: %zu seeds into %s\n", label, done, dir);
        gft_print_results(res, done, "seed");
        gft_print_seeds(res, 1, done, "run");
        int failed = gft_overlay(dir, res, done, c) | gft_seeds_figure(dir, res, 1, done, c);
        failed |= gft_renders_finish(c->renders);
        c->renders = NULL;
        if (failed | gft_html_compare_seeds(dir, res, done, done, "run"))
            status = gft_worse(status, GFT_EXIT_FAIL);
        printf("figures: ");
        gft_print_figures(dir, c);
        printf("; each seed's directory holds its own; the page: %s/index.html\n", dir);
    }
    if (gft_renders_finish(c->renders) != 0) /* no seed finished: the pages of any */
        status = gft_worse(status, GFT_EXIT_FAIL);
    c->renders = NULL;
    for (size_t i = 0; i < c->seeds; i++)
        gft_result_release(&res[i]);
    gf_free(res);
    gf_run_lock_release(lock);
    return status;
}

int gft_cmd_run(gft_args *a)
{
    gft_result r;
    const char *dir = gft_out_dir(&a->cfg, "gradflow-out/run");
    char label[256];
    int status, started;
    snprintf(label, sizeof label, "%s",
             a->cfg.name[0] ? a->cfg.name
             : a->cfg.cell >= 0 ? gf_rnn_cell_name((gf_rnn_cell)a->cfg.cell) : a->cfg.act);
    if (a->cfg.resume[0] && !a->cfg.quiet) {
        /* The network and optimiser come from the model file. */
        static const char *const ignored[] = {"depth", "width", "act", "act-param", "init",
                                              "optim", "momentum", "weight-decay", "norm",
                                              "residual", "cell", "hidden"};
        for (size_t k = 0; k < a->n_set; k++)
            for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
                if (strcmp(a->set[k].opt->name, ignored[i]) == 0)
                    fprintf(stderr, "gradflow: note: --%s is ignored with --resume (the "
                                    "model file holds the network and optimiser)\n",
                            ignored[i]);
    }
    if (a->cfg.seeds > 1)
        return run_seeds(a, dir, label);
    status = gft_train(&a->cfg, dir, label, 0, &r);
    /* Interrupted while setting up (replaying a resumed run's batches): said already,
     * and nothing was recorded. */
    started = status != GFT_EXIT_INTERRUPTED || r.steps > 0;
    if (status == GFT_EXIT_INTERRUPTED && started)
        fprintf(stderr, "gradflow: interrupted after %llu steps; everything recorded so far "
                        "is in %s\n", (unsigned long long)r.steps, dir);
    if (!a->cfg.quiet && started && (status == 0 || status == GFT_EXIT_INTERRUPTED ||
                                     status == GFT_EXIT_NONFINITE))
        print_run(&r, &a->cfg);
    gft_result_release(&r);
    return status;
}
