/* src/tool/train.c: one run of the gradflow program, from options to run directory, as the
 * steps of the training loop: set up (data and batches, the network new or resumed, the
 * optimiser, the output files), the steps (batch, evaluation at each epoch's start,
 * forward, backward, clipping, update, records), then the final evaluation, the run
 * directory and its figures, the model file. NaN/inf or Ctrl-C stop it cleanly. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gradflow/model.h>

#include "run.h"

/* The batch order's own stream, derived from --seed like the data split's (data.c), so
 * that a resumed run replays the batch order without touching the weights' stream. */
#define SEED_BATCH 0x6261746368000000ull /* "batch" */

/* Everything one run holds while it trains. */
typedef struct run {
    const gft_config *c;
    const char *dir, *label;
    double t0;                    /* monotonic seconds at the start */
    gf_dataset *train, *test;
    gf_loss_kind loss_kind;
    gf_rng batch_rng;
    gf_batcher *batcher;
    gf_tensor *x, *y;             /* the current batch */
    gf_net *net;
    gf_optim *opt;
    gft_series losses, evals;     /* loss per step; test loss and accuracy per evaluation */
    gft_trace tt;                 /* the gradient through time (recurrent nets) */
    double lr0;                   /* the base rate of --lr-schedule */
    gf_run_lock *lock;            /* the run directory's, held from setup to release */
    char hist[1300];              /* hist_init.csv, written at the first step of a new run */
    int hist_done;
    char hsteps[1300];            /* hist_steps.csv: a snapshot every hist_every steps */
    uint64_t hist_every;
    uint64_t start_step, total, step;
    int nonfinite, interrupted;   /* what stopped the loop early */
    char nonfinite_msg[600];
} run;

/* ---- Setting up ----------------------------------------------------------------------- */

/* The outputs of the network: classes for cross-entropy, else the target columns. */
static size_t n_outputs(const run *s)
{
    return s->loss_kind == GF_LOSS_SOFTMAX_CE ? s->train->n_classes : s->train->y->cols;
}

/* The data, the batch tensors and the batcher. */
static int setup_data(run *s)
{
    const gft_config *c = s->c;
    int status = gft_load_data(c, &s->train, &s->test, &s->loss_kind);
    if (status != 0)
        return status;
    if (c->norm == GFT_NORM_BATCH && !c->resume[0]) {
        /* A training pass of batch norm needs 2 rows; the last batch of an epoch holds
         * what is left. */
        size_t n = gf_dataset_rows(s->train), b = c->batch < n ? c->batch : n;
        if (n % b == 1) {
            gft_error("--norm batch: the last batch of each epoch would hold 1 row (%zu "
                      "training rows, --batch %zu); choose another --batch", n, c->batch);
            return GFT_EXIT_USAGE;
        }
    }
    if (gf_tensor_new(&s->x, 1, s->train->x->cols) != GF_OK ||
        gf_tensor_new(&s->y, 1, s->train->y->cols) != GF_OK) {
        gft_error("%s", gf_last_error());
        return GFT_EXIT_FAIL;
    }
    gf_rng_seed(&s->batch_rng, c->seed ^ SEED_BATCH);
    if (gf_batcher_new(&s->batcher, s->train, c->batch, &s->batch_rng) != GF_OK) {
        gft_error("%s", gf_last_error());
        return GFT_EXIT_FAIL;
    }
    return 0;
}

/* The steps the run takes in all: --steps, or --epochs whole passes. */
static uint64_t run_total(const run *s)
{
    const gft_config *c = s->c;
    uint64_t per_epoch = gf_batcher_batches_per_epoch(s->batcher);
    if (c->steps)
        return c->steps;
    return per_epoch && c->epochs > UINT64_MAX / per_epoch ? UINT64_MAX : c->epochs * per_epoch;
}

/* A resumed model that has already made the run's steps: nothing to do, said. */
static int refuse_done(const run *s)
{
    gft_error("--resume %s: the model has already made %llu steps (--steps %llu)",
              s->c->resume, (unsigned long long)s->start_step,
              (unsigned long long)run_total(s));
    return GFT_EXIT_USAGE;
}

/* --resume: the network and optimiser from the model file, checked against the data. */
static int resume_net(run *s)
{
    const char *file = s->c->resume;
    gf_status st = gf_model_load(&s->net, &s->opt, NULL, file);
    if (st != GF_OK) {
        gft_error("--resume %s: %s", file, gf_last_error());
        return GFT_EXIT_FAIL;
    }
    if (gf_net_in_features(s->net) != s->train->x->cols ||
        gf_net_out_features(s->net) != n_outputs(s)) {
        int classes = s->loss_kind == GF_LOSS_SOFTMAX_CE;
        gft_error("--resume %s: the model maps %zu inputs to %zu outputs, which does not "
                  "fit the data (%zu columns, %zu %s)", file, gf_net_in_features(s->net),
                  gf_net_out_features(s->net), s->train->x->cols, n_outputs(s),
                  classes ? "classes" : "targets");
        return GFT_EXIT_FAIL;
    }
    /* The step count comes from the file: checked against the run's length before any
     * replaying, so that a count of 5e8 (or 2^64-1) is refused at once. */
    s->start_step = gf_net_step_count(s->net);
    if (run_total(s) <= s->start_step)
        return refuse_done(s);
    /* Replay the batch order up to the saved step: the run then sees exactly the
     * batches it would have seen had it never stopped. Long, for a long run: Ctrl-C
     * stops it like it stops the steps. */
    for (uint64_t k = 0; k < s->start_step; k++) {
        if (gft_interrupted) {
            gft_error("--resume %s: interrupted while replaying the batch order (%llu of "
                      "%llu batches)", file, (unsigned long long)k,
                      (unsigned long long)s->start_step);
            return GFT_EXIT_INTERRUPTED;
        }
        if (gf_batcher_next(s->batcher, s->x, s->y, NULL) != GF_OK)
            break;
    }
    return 0;
}

/* A new network of the configuration. */
static int new_net(run *s)
{
    const gft_config *c = s->c;
    /* LSUV rescales on the first batch; peeking at it would shift the batch order,
     * so it is drawn from a copy of the batcher's generator. */
    if (c->init_given && c->init.kind == GF_INIT_LSUV) {
        gf_rng peek = s->batch_rng;
        gf_batcher *b2 = NULL;
        int new_epoch;
        if (gf_batcher_new(&b2, s->train, c->batch, &peek) == GF_OK)
            gf_batcher_next(b2, s->x, s->y, &new_epoch);
        gf_batcher_free(b2);
    }
    return gft_build_net(c, s->train->x->cols, n_outputs(s), s->x, &s->net);
}

/* The optimiser: from the model file when resuming and it holds one, else new. */
static int make_optim(const gft_config *c, gf_net *net, gf_optim **opt)
{
    gf_optim_config oc = gf_optim_default(c->optim);
    gf_status st;
    if (*opt != NULL)
        return 0;
    if (!isnan(c->lr))
        oc.lr = c->lr;
    if (!isnan(c->momentum))
        oc.momentum = c->momentum;
    oc.weight_decay = c->weight_decay;
    st = gf_optim_new(opt, &oc, gf_net_param_count(net));
    if (st != GF_OK) {
        gft_error("cannot make the optimiser: %s", gf_last_error());
        return GFT_EXIT_FAIL;
    }
    return 0;
}

/* The optimiser (a resumed run keeps the saved one; an explicit --lr changes its rate),
 * a check that --save can write this network, and the network's recording settings. */
static int setup_optim(run *s)
{
    const gft_config *c = s->c;
    if (make_optim(c, s->net, &s->opt) != 0)
        return GFT_EXIT_FAIL;
    if (c->resume[0] && !isnan(c->lr) && gf_optim_set_lr(s->opt, c->lr) != GF_OK) {
        gft_error("--lr: %s", gf_last_error());
        return GFT_EXIT_FAIL;
    }
    /* Model files may not hold every layer kind (model.h): find out now, not after the
     * run, by saving to memory. */
    if (c->save[0]) {
        void *data = NULL;
        size_t size = 0;
        gf_status st = gf_model_save_memory(&data, &size, s->net, s->opt, NULL);
        gf_free(data);
        if (st != GF_OK) {
            gft_error("--save %s: %s%s", c->save, gf_last_error(),
                      st == GF_EUNSUPPORTED ? " (nothing trained; run without --save)" : "");
            return GFT_EXIT_FAIL;
        }
    }
    s->lr0 = gf_optim_config_of(s->opt)->lr;
    /* Resumed without --lr: the rate is the model file's, known only now (parse.c checks
     * every other case before anything runs). */
    if (c->lr_schedule.kind == GF_LR_COSINE && !(c->lr_schedule.min_lr < s->lr0)) {
        gft_error("--lr-schedule cosine:%g: MIN_LR must be below the learning rate (%g, from "
                  "%s)", c->lr_schedule.min_lr, s->lr0, c->resume);
        return GFT_EXIT_USAGE;
    }
    gf_net_set_record_every(s->net, c->every);
    gf_net_set_skip_nonfinite(s->net, c->skip_nonfinite);
    return 0;
}

/* The steps to take, and the run directory with its streamed files. */
static int setup_output(run *s)
{
    char path[1300];
    gf_status st;
    s->total = run_total(s);
    if (s->total <= s->start_step)
        return refuse_done(s);
    /* The directory is this run's alone before any file in it is touched: a second run
     * into it stops here, before truncating the first one's telemetry.csv. */
    if (gft_lock_dir(&s->lock, s->dir) != 0)
        return GFT_EXIT_FAIL;
    /* Stream the telemetry from the start, so that a killed run leaves a CSV valid up
     * to its last complete line. */
    st = GF_OK;
    if (gft_path_in(path, sizeof path, s->dir, "telemetry.csv") == 0)
        st = gf_telemetry_stream_to(gf_net_telemetry_mut(s->net), path);
    if (st != GF_OK || gft_path_in(s->hist, sizeof s->hist, s->dir, "hist_init.csv") != 0) {
        if (st != GF_OK)
            gft_error("--out %s: %s", s->dir, gf_last_error());
        return GFT_EXIT_FAIL;
    }
    /* The histograms over the steps: at most GFT_HIST_SNAPSHOTS + 1 snapshots (every
     * hist_every steps from the first, and the last), so the file stays bounded. */
    s->hist_every = (s->total - s->start_step + GFT_HIST_SNAPSHOTS - 1) / GFT_HIST_SNAPSHOTS;
    if (gft_path_in(s->hsteps, sizeof s->hsteps, s->dir, "hist_steps.csv") != 0)
        return GFT_EXIT_FAIL;
    remove(s->hsteps); /* a previous run's; absent is fine */
    return gft_trace_begin(&s->tt, s->net, s->dir) != 0 ? GFT_EXIT_FAIL : 0;
}

/* The bytes of the data held (rows of inputs and targets, training and test sets). */
static size_t data_bytes(const run *s)
{
    size_t n = gf_dataset_rows(s->train) + gf_dataset_rows(s->test);
    return n * (s->train->x->cols + s->train->y->cols) * sizeof(gf_real);
}

/* The memory budget, before anything large is made: when the data's shape is known from
 * the options (every set but a CSV file), before the data is loaded; else once it is.
 * A resumed network is already made (its file is bounded by the limit). */
static int check_budget(const run *s, int loaded)
{
    size_t in, out, rows;
    if (s->c->resume[0])
        return 0;
    if (loaded)
        return gft_check_budget(s->c, s->train->x->cols, n_outputs(s), data_bytes(s));
    if (gft_data_shape(s->c, &in, &out, &rows) != 0)
        return 0;
    return gft_check_budget(s->c, in, out, rows * (in + out) * sizeof(gf_real));
}

static int setup(run *s)
{
    int status = check_budget(s, 0);
    if (status == 0)
        status = setup_data(s);
    if (status == 0)
        status = check_budget(s, 1);
    if (status == 0)
        status = s->c->resume[0] ? resume_net(s) : new_net(s);
    if (status == 0)
        status = setup_optim(s);
    if (status == 0)
        status = setup_output(s);
    return status;
}

/* ---- The steps ------------------------------------------------------------------------ */

/* gf_net_train_step taken apart, so that the histograms of activations and backward
 * gradients can be written between the backward pass and the update. On GF_ENONFINITE
 * the backward pass's message (naming the step and layer) is left in gf_last_error. */
static gf_status train_step(gf_net *net, const gf_tensor *x, const gf_tensor *y,
                            gf_loss_kind kind, gf_optim *opt, const gf_clip *clip, int skip,
                            double *loss, const char *hist_path, int *hist_done,
                            const char *steps_path, uint64_t step)
{
    gf_status st = gf_net_forward(net, NULL, x);
    if (st == GF_OK)
        st = gf_net_loss(net, loss, y, kind);
    if (st == GF_OK)
        st = gf_net_backward(net);
    if (st == GF_ENONFINITE)
        return skip ? gf_net_step(net, opt) /* skips the update: GF_OK */ : st;
    if (st == GF_OK && hist_path != NULL) {
        st = gf_hist_write(hist_path, net, 0);
        *hist_done = st == GF_OK;
    }
    if (st == GF_OK && steps_path != NULL)
        st = gf_hist_append(steps_path, net, step, 0);
    if (st == GF_OK && clip->kind != GF_CLIP_NONE)
        st = gf_net_clip(net, NULL, clip);
    if (st == GF_OK)
        st = gf_net_step(net, opt);
    return st;
}

/* Step s->step: the next batch, an evaluation on the test set at the start of every
 * epoch (and at the first step), the training step, the gradient through time. */
static gf_status take_step(run *s, double *loss)
{
    int new_epoch = 0;
    const char *hist_path = s->step == s->start_step && !s->c->resume[0] ? s->hist : NULL;
    int snapshot = (s->step - s->start_step) % s->hist_every == 0 || s->step + 1 == s->total;
    gf_status st = gf_batcher_next(s->batcher, s->x, s->y, &new_epoch);
    if (st == GF_OK && (new_epoch || s->step == s->start_step)) {
        double tl = NAN, ta = NAN;
        st = gf_evaluate(s->net, &tl, &ta, s->test, s->loss_kind, 256);
        if (st == GF_OK && gft_series_push(&s->evals, s->step, tl, ta) != 0)
            st = GF_ENOMEM;
    }
    if (st == GF_OK && s->c->lr_schedule.kind != GF_LR_CONSTANT) {
        gf_lr_schedule sched = s->c->lr_schedule;
        double lr = s->lr0;
        sched.total = s->total; /* cosine: over the whole run */
        st = gf_lr_schedule_at(&lr, &sched, s->lr0, s->step);
        if (st == GF_OK)
            st = gf_optim_set_lr(s->opt, lr);
    }
    if (st == GF_OK)
        st = train_step(s->net, s->x, s->y, s->loss_kind, s->opt, &s->c->clip,
                        s->c->skip_nonfinite, loss, hist_path, &s->hist_done,
                        snapshot ? s->hsteps : NULL, s->step);
    if (st == GF_OK || st == GF_ENONFINITE)
        gft_trace_record(&s->tt, s->net, s->step);
    return st;
}

/* Every step up to s->total, or until NaN/inf, a failure or Ctrl-C; s->step is then the
 * number of steps the network has made. Returns 0 or GFT_EXIT_FAIL (said). */
static int train_steps(run *s)
{
    gft_progress bar;
    int status = 0;
    gft_progress_begin(&bar, s->label, s->total - s->start_step, s->c->quiet);
    for (s->step = s->start_step; s->step < s->total; s->step++) {
        double loss = NAN;
        gf_status st = take_step(s, &loss);
        if ((st == GF_OK || st == GF_ENONFINITE) &&
            gft_series_push(&s->losses, s->step, loss, NAN) != 0) {
            gft_error("out of memory");
            status = GFT_EXIT_FAIL;
            break;
        }
        if (st == GF_ENONFINITE) {
            snprintf(s->nonfinite_msg, sizeof s->nonfinite_msg, "%s", gf_last_error());
            s->nonfinite = 1;
            s->step++;
            break;
        }
        if (st != GF_OK) {
            gft_error("step %llu: %s", (unsigned long long)s->step, gf_last_error());
            status = GFT_EXIT_FAIL;
            break;
        }
        gft_progress_update(&bar, s->step + 1 - s->start_step, loss);
        /* Earlier runs' figures: a finished gnuplot is followed by the next one. */
        if ((s->step & 7) == 0)
            gft_renders_pump(s->c->renders);
        if (gft_interrupted) {
            s->interrupted = 1;
            s->step++;
            break;
        }
    }
    gft_progress_end(&bar);
    /* The summary and the model file keep the base rate: a resumed run's schedule then
     * starts from it again, at the step it reached. */
    gf_optim_set_lr(s->opt, s->lr0);
    return status;
}

/* ---- After the steps ------------------------------------------------------------------ */

/* The final evaluation (unless the weights are no longer finite), the loss, the time and
 * the gradient through time at the first recorded step, into r. */
static void evaluate_end(run *s, gft_result *r)
{
    const gft_trace *tt = &s->tt;
    if (!s->nonfinite) {
        double tl = NAN, ta = NAN;
        if (gf_evaluate(s->net, &tl, &ta, s->test, s->loss_kind, 256) == GF_OK) {
            if (s->evals.n == 0 || s->evals.steps[s->evals.n - 1] != s->step)
                gft_series_push(&s->evals, s->step, tl, ta);
            r->accuracy = ta;
        }
    }
    r->final_loss = s->losses.n ? s->losses.a[s->losses.n - 1] : NAN;
    r->seconds = gft_now() - s->t0;
    if (tt->recorded > 0) {
        r->time_first = tt->first[0];
        r->time_last = tt->first[tt->T - 1];
        r->time_ratio = r->time_first / r->time_last;
        /* For the overlays of compare (a missing copy only drops the run from them). */
        r->time_init = gf_alloc(tt->T * sizeof *r->time_init);
        if (r->time_init != NULL) {
            memcpy(r->time_init, tt->first, tt->T * sizeof *r->time_init);
            r->time_T = tt->T;
            r->time_end = gf_alloc(tt->T * sizeof *r->time_end);
            if (r->time_end != NULL)
                memcpy(r->time_end, tt->last, tt->T * sizeof *r->time_end);
        }
    }
}

/* The verdict into r, then telemetry.csv, loss.csv and summary.json (report.h).
 * Returns GF_OK, or the failure (said). */
static gf_status write_summary(run *s, gft_result *r)
{
    gf_telemetry *tel = gf_net_telemetry_mut(s->net);
    gf_run_summary sum = gf_run_summary_default();
    gft_config_text ct;
    gf_status st;
    gft_config_kv(&ct, s->c, s->loss_kind, gf_optim_config_of(s->opt), s->total, s->tt.T);
    gf_telemetry_stream_to(tel, NULL); /* final flush; run_write rewrites it whole */
    if (gf_telemetry_count(tel) > 0 && gf_verdict_judge(&r->verdict, tel) == GF_OK)
        r->judged = 1;
    /* A recurrent net is judged through time as well (its first and last recorded step). */
    if (r->judged && s->tt.recorded > 0 && s->tt.T >= 2)
        gf_verdict_add_time(&r->verdict, s->tt.first, s->tt.last, s->tt.T);
    sum.name = s->label;
    sum.config = ct.kv;
    sum.n_config = ct.n;
    sum.loss = s->losses.a;
    sum.loss_steps = s->losses.steps;
    sum.n_loss = s->losses.n;
    sum.eval_steps = s->evals.steps;
    sum.test_loss = s->evals.a;
    sum.test_accuracy = s->evals.b;
    sum.n_eval = s->evals.n;
    sum.final_loss = r->final_loss;
    sum.final_accuracy = r->accuracy;
    sum.steps = s->step;
    sum.seconds = r->seconds;
    sum.verdict = r->judged ? &r->verdict : NULL;
    sum.predicted_factor = r->predicted_factor > 0 ? r->predicted_factor : NAN;
    st = gf_run_write(s->dir, tel, &sum);
    if (st != GF_OK)
        gft_error("--out %s: %s", s->dir, gf_last_error());
    return st;
}

/* The run's figures: signal, heatmap, loss, units, the histograms at the first step and
 * the gradient through time. Returns 1 when one failed (said). */
static int write_figures(run *s, const gft_result *r)
{
    static const char *const figs[] = {"signal", "heatmap", "loss", "units", "hist_init",
                                       "time", "update_ratio", "clip", "eval", "hist_steps"};
    const size_t n_figs = sizeof figs / sizeof figs[0];
    const gft_config *c = s->c;
    const char *dir = s->dir;
    gf_plot_options po = gf_plot_options_default();
    gf_plot_run pr = {0};
    gf_plot_evals ev = {s->evals.steps, s->evals.a, s->evals.b, s->evals.n};
    int failed = 0, batch = c->plot != GFT_PLOT_SVG;
    /* A run that saw NaN may have nothing finite to draw: notes, not failures. */
    int soft = s->nonfinite || (r->judged && r->verdict.kind == GF_VERDICT_NONFINITE);
    /* PNG: write the scripts, then render them all in one gnuplot process. */
    gft_clear_figures(dir, figs, n_figs);
    po.format = batch ? GF_PLOT_NONE : gft_plot_format(c);
    po.align_output = c->align_output;
    pr.label = s->label;
    pr.telemetry = gf_net_telemetry(s->net);
    pr.predicted_factor = r->predicted_factor;
    pr.predicted = r->predicted;
    pr.n_predicted = r->n_predicted;
    pr.loss = s->losses.a;
    pr.loss_steps = s->losses.steps;
    pr.n_loss = s->losses.n;
    failed |= gft_plot_status(gf_plot_run_all(dir, &pr, &po), dir, c->quiet, soft);
    if (s->hist_done)
        failed |= gft_plot_status(gf_plot_hist(dir, "hist_init", s->hist, &po), dir, c->quiet,
                                  soft);
    failed |= gft_training_figures(dir, &pr, &ev, 1, s->hsteps, &po, c, soft);
    if (s->tt.recorded > 0) {
        int tf = gft_trace_figure(&s->tt, dir, s->label, batch ? GF_PLOT_PNG : GF_PLOT_SVG);
        char script[1300];
        if (tf < 0)
            failed = 1;
        else if (tf > 0 && !c->quiet)
            fprintf(stderr, "gradflow: note: %s: no positive, finite ||dL/dh_t|| to "
                            "draw in time.png\n", dir);
        else if (tf == 0 && !batch && gft_path_in(script, sizeof script, dir, "time.gp") == 0)
            failed |= gft_plot_status(gf_plot_render(script), dir, c->quiet, soft);
    }
    return failed | gft_render_figures(c, dir, figs, n_figs, batch, soft);
}

/* --save, unless the run failed or its weights are no longer finite. */
static int save_model(const run *s, int status)
{
    const char *file = s->c->save;
    if (file[0] && !s->nonfinite && status == 0) {
        if (gf_model_save(file, s->net, s->opt, NULL) != GF_OK) {
            gft_error("--save %s: %s", file, gf_last_error());
            return GFT_EXIT_FAIL;
        }
    } else if (file[0] && s->nonfinite) {
        fprintf(stderr, "gradflow: note: --save %s: not saved (the weights are no longer "
                        "finite)\n", file);
    }
    return status;
}

/* Everything recorded goes to the run directory, whatever stopped the run; then the
 * model file. Returns the run's exit status, given that of the steps. */
static int finish(run *s, gft_result *r, int keep, int status)
{
    evaluate_end(s, r);
    if (gft_trace_end(&s->tt) != 0 && status == 0)
        status = GFT_EXIT_FAIL;
    if (write_summary(s, r) != GF_OK)
        status = GFT_EXIT_FAIL;
    else if (gf_telemetry_count(gf_net_telemetry(s->net)) > 0 && write_figures(s, r) &&
             status == 0)
        status = GFT_EXIT_FAIL;
    if (gft_run_page(s->c, s->dir, s->label) != 0 && status == 0)
        status = GFT_EXIT_FAIL;
    if (keep) {
        r->tel = gft_copy_telemetry(gf_net_telemetry(s->net));
        r->loss = s->losses.a, r->loss_steps = s->losses.steps, r->n_loss = s->losses.n;
        gf_free(s->losses.b);
        memset(&s->losses, 0, sizeof s->losses);
        r->eval_steps = s->evals.steps, r->test_loss = s->evals.a, r->test_accuracy = s->evals.b;
        r->n_eval = s->evals.n;
        memset(&s->evals, 0, sizeof s->evals);
    }
    status = save_model(s, status);
    if (s->nonfinite) {
        gft_error("%s: %s; stopped, telemetry kept up to there in %s", s->label,
                  s->nonfinite_msg, s->dir);
        status = GFT_EXIT_NONFINITE;
    } else if ((s->interrupted || gft_interrupted) && status == 0) {
        /* Ctrl-C during the final writing still finishes it, then says so. */
        status = GFT_EXIT_INTERRUPTED;
    }
    return status;
}

/* The mean square E[x_i^2] of the first training batch (drawn from a copy of the
 * batcher's generator, so the batch order is not shifted): the input variance the
 * mean-field prediction starts from. NaN when it cannot be drawn. */
static double first_batch_mean_square(const run *s)
{
    gf_rng peek = s->batch_rng;
    gf_batcher *b = NULL;
    gf_tensor *x = NULL, *y = NULL;
    double sum = 0, ms = NAN;
    int new_epoch;
    if (gf_tensor_new(&x, 1, s->train->x->cols) == GF_OK &&
        gf_tensor_new(&y, 1, s->train->y->cols) == GF_OK &&
        gf_batcher_new(&b, s->train, s->c->batch, &peek) == GF_OK &&
        gf_batcher_next(b, x, y, &new_epoch) == GF_OK && x->rows * x->cols > 0) {
        for (size_t i = 0; i < x->rows * x->cols; i++)
            sum += (double)x->data[i] * (double)x->data[i];
        ms = sum / (double)(x->rows * x->cols);
    }
    gf_batcher_free(b);
    gf_tensor_free(x);
    gf_tensor_free(y);
    return ms;
}

/* The per-layer mean-field prediction into r (and its geometric mean). */
static void predict(const run *s, gft_result *r)
{
    double ms = first_batch_mean_square(s), log_sum = 0;
    if (!isfinite(ms))
        return;
    r->n_predicted = gft_predicted_factors(s->c, s->train->x->cols, n_outputs(s), ms,
                                           &r->predicted);
    for (size_t k = 0; k < r->n_predicted; k++)
        log_sum += log(r->predicted[k]);
    if (r->n_predicted > 0)
        r->predicted_factor = exp(log_sum / (double)r->n_predicted);
}

/* ---- The run -------------------------------------------------------------------------- */

static void release(run *s)
{
    gft_trace_release(&s->tt);
    gft_series_free(&s->losses);
    gft_series_free(&s->evals);
    gf_tensor_free(s->x);
    gf_tensor_free(s->y);
    gf_batcher_free(s->batcher);
    gf_optim_free(s->opt);
    gf_net_free(s->net);
    gf_dataset_free(s->train);
    gf_dataset_free(s->test);
    gf_run_lock_release(s->lock);
}

int gft_train(const gft_config *c, const char *dir, const char *label, int keep,
              gft_result *r)
{
    run s;
    int status;

    memset(&s, 0, sizeof s);
    s.c = c, s.dir = dir, s.label = label;
    s.t0 = gft_now();
    memset(r, 0, sizeof *r);
    snprintf(r->label, sizeof r->label, "%s", label);
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    r->final_loss = r->accuracy = r->seconds = NAN;
    r->time_first = r->time_last = r->time_ratio = NAN;

    status = setup(&s);
    if (status == 0)
        predict(&s, r);
    if (status == 0) {
        status = train_steps(&s);
        r->steps = s.step - s.start_step;
        status = finish(&s, r, keep, status);
    }
    r->status = status;
    release(&s);
    return status;
}
