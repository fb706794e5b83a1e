/* src/tool/renders.c: figures rendered while the next run trains. A comparison (and so
 * the showcase and `run --seeds`) queues a finished run's scripts and goes on training;
 * the queue starts gnuplot on them as cores free up: while a run trains, one gnuplot per
 * core but one (the trainer keeps its core and never waits for a figure), after the last
 * run one per core. The trainer looks at the queue between steps (gft_renders_pump), so
 * a finished gnuplot is followed by the next one within a few steps. A run's index.html,
 * which inlines its SVGs, is written once every gnuplot is done. The files are those of
 * rendering at once: each gnuplot writes its own figures, and the pages are written after
 * them. Not done here: the renders of `run` alone, which has nothing to overlap them
 * with. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

/* One script to render, and how to report it. */
typedef struct render {
    gf_plot_job job;
    char script[1400];        /* the script, kept until it starts */
    char dir[1400];           /* the directory it draws into (for its message) */
    int quiet, soft;          /* as gft_plot_status takes them */
    int running;              /* started and not yet seen to end */
} render;

/* A run page to write once everything has rendered. */
typedef struct page {
    char dir[1400];
    char label[300];
} page;

struct gft_renders {
    render *jobs;             /* every script queued, in order; jobs[0..started) started */
    size_t n, cap, started;
    size_t running;           /* gnuplots running now */
    page *pages;
    size_t n_pages, cap_pages;
    size_t cores;             /* online cores: the gnuplots at once after the last run */
    int failed;               /* 1 when a render failed (said) */
};

gft_renders *gft_renders_new(void)
{
    gft_renders *q = gf_calloc(1, sizeof *q);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (q != NULL)
        q->cores = cores > 1 ? (size_t)cores : 1;
    return q;
}

/* Take note of the gnuplots that have ended (without waiting), and report each. */
static void reap(gft_renders *q)
{
    for (size_t i = 0; i < q->started && q->running > 0; i++) {
        render *r = &q->jobs[i];
        int done = 0;
        if (!r->running)
            continue;
        gf_status st = gf_plot_render_poll(&r->job, &done);
        if (!done)
            continue;
        r->running = 0;
        q->running--;
        q->failed |= gft_plot_status(st, r->dir, r->quiet, r->soft);
    }
}

/* Start queued scripts while fewer than limit gnuplots run. */
static void start_queued(gft_renders *q, size_t limit)
{
    while (q->started < q->n && q->running < limit) {
        render *r = &q->jobs[q->started++];
        gf_status st = gf_plot_render_start(&r->job, r->script);
        if (st != GF_OK) { /* not started: nothing to wait for */
            q->failed |= gft_plot_status(st, r->dir, r->quiet, r->soft);
            continue;
        }
        r->running = 1;
        q->running++;
    }
}

/* While a run trains: every core but the trainer's. */
static size_t training_limit(const gft_renders *q)
{
    return q->cores > 1 ? q->cores - 1 : 1;
}

void gft_renders_pump(gft_renders *q)
{
    if (q == NULL || (q->running == 0 && q->started == q->n))
        return;
    reap(q);
    start_queued(q, training_limit(q));
}

int gft_render(const gft_config *c, const char *script, const char *dir, int soft)
{
    gft_renders *q = c->renders;
    if (q == NULL)
        return gft_plot_status(gf_plot_render(script), dir, c->quiet, soft);
    if (q->n == q->cap) {
        size_t cap = q->cap ? 2 * q->cap : 16;
        render *grown = gf_realloc(q->jobs, cap * sizeof *grown);
        if (grown == NULL) /* no room to keep track: render now instead */
            return gft_plot_status(gf_plot_render(script), dir, c->quiet, soft);
        q->jobs = grown, q->cap = cap;
    }
    render *r = &q->jobs[q->n];
    if (snprintf(r->script, sizeof r->script, "%s", script) >= (int)sizeof r->script)
        return gft_plot_status(gf_plot_render(script), dir, c->quiet, soft);
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    r->quiet = c->quiet, r->soft = soft, r->running = 0;
    q->n++;
    gft_renders_pump(q);
    return 0;
}

int gft_run_page(const gft_config *c, const char *dir, const char *label)
{
    gft_renders *q = c->renders;
    if (q == NULL)
        return gft_html_run(dir, label);
    if (q->n_pages == q->cap_pages) {
        size_t cap = q->cap_pages ? 2 * q->cap_pages : 8;
        page *grown = gf_realloc(q->pages, cap * sizeof *grown);
        if (grown == NULL) {
            gft_error("out of memory");
            return 1;
        }
        q->pages = grown, q->cap_pages = cap;
    }
    snprintf(q->pages[q->n_pages].dir, sizeof q->pages[0].dir, "%s", dir);
    snprintf(q->pages[q->n_pages].label, sizeof q->pages[0].label, "%s", label);
    q->n_pages++;
    return 0;
}

int gft_renders_finish(gft_renders *q)
{
    int failed;
    if (q == NULL)
        return 0;
    /* No run trains any more: one gnuplot per core. Looked at every 2 ms rather than
     * waiting for the oldest, so that a core freed by a younger one is used at once. */
    for (;;) {
        reap(q);
        start_queued(q, q->cores);
        if (q->running == 0)
            break;
        nanosleep(&(struct timespec){0, 2000000}, NULL);
    }
    failed = q->failed;
    for (size_t i = 0; i < q->n_pages; i++)
        failed |= gft_html_run(q->pages[i].dir, q->pages[i].label);
    gf_free(q->jobs);
    gf_free(q->pages);
    gf_free(q);
    return failed;
}
