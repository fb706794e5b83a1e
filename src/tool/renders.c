/* src/tool/renders.c: figures rendered while the next run trains. A comparison (and so
 * the showcase) starts gnuplot on a finished run's scripts without waiting, trains the
 * next run meanwhile, and waits for every gnuplot after its last run; a run's
 * index.html, which inlines its SVGs, is written then. The files are those of rendering
 * at once: each gnuplot writes its own figures, and the pages are written after them.
 * Not done here: the renders of `run` alone, which has nothing to overlap them with. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

/* One gnuplot started, and how to report it. */
typedef struct render {
    gf_plot_job job;
    char dir[1400];           /* the directory it draws into (for its message) */
    int quiet, soft;          /* as gft_plot_status takes them */
} render;

/* A run page to write once everything has rendered. */
typedef struct page {
    char dir[1400];
    char label[300];
} page;

struct gft_renders {
    render *jobs;             /* started, in order; jobs[0..waited) waited for */
    size_t n, cap, waited;
    page *pages;
    size_t n_pages, cap_pages;
    size_t max_running;       /* gnuplots at once: the cores (the trainer waits beyond) */
    int failed;               /* 1 when a render failed (said) */
};

gft_renders *gft_renders_new(void)
{
    gft_renders *q = gf_calloc(1, sizeof *q);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (q != NULL)
        q->max_running = cores > 1 ? (size_t)cores : 1;
    return q;
}

/* Wait for the oldest job still running and report it. */
static void wait_oldest(gft_renders *q)
{
    render *r = &q->jobs[q->waited++];
    q->failed |= gft_plot_status(gf_plot_render_wait(&r->job), r->dir, r->quiet, r->soft);
}

int gft_render(const gft_config *c, const char *script, const char *dir, int soft)
{
    gft_renders *q = c->renders;
    gf_status st;
    if (q == NULL)
        return gft_plot_status(gf_plot_render(script), dir, c->quiet, soft);
    while (q->n - q->waited >= q->max_running)
        wait_oldest(q);
    if (q->n == q->cap) {
        size_t cap = q->cap ? 2 * q->cap : 16;
        render *grown = gf_realloc(q->jobs, cap * sizeof *grown);
        if (grown == NULL) /* no room to keep track: render now instead */
            return gft_plot_status(gf_plot_render(script), dir, c->quiet, soft);
        q->jobs = grown, q->cap = cap;
    }
    render *r = &q->jobs[q->n];
    st = gf_plot_render_start(&r->job, script);
    if (st != GF_OK) /* not started: nothing to wait for */
        return gft_plot_status(st, dir, c->quiet, soft);
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    r->quiet = c->quiet, r->soft = soft;
    q->n++;
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
    while (q->waited < q->n)
        wait_oldest(q);
    failed = q->failed;
    for (size_t i = 0; i < q->n_pages; i++)
        failed |= gft_html_run(q->pages[i].dir, q->pages[i].label);
    gf_free(q->jobs);
    gf_free(q->pages);
    gf_free(q);
    return failed;
}
