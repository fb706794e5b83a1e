/* src/tool/progress.c: a one-line progress bar on stderr for long runs. It is drawn only
 * on a terminal (a log file or a pipe gets nothing), only after the run has lasted half
 * a second (short runs stay silent), and at most ten times a second. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

#define DELAY 0.5    /* seconds before a bar is worth drawing */
#define PERIOD 0.1   /* seconds between redraws */
#define BAR 24       /* characters of the bar itself */

double gft_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void gft_progress_begin(gft_progress *p, const char *label, uint64_t total, int quiet)
{
    p->enabled = !quiet && total > 0 && isatty(STDERR_FILENO);
    p->drawn = 0;
    p->label = label;
    p->total = total;
    p->start = gft_now();
    p->last_draw = 0;
}

void gft_progress_update(gft_progress *p, uint64_t done, double loss)
{
    double now, elapsed, eta;
    int fill;
    char bar[BAR + 1];
    if (!p->enabled)
        return;
    now = gft_now();
    elapsed = now - p->start;
    if (elapsed < DELAY || (now - p->last_draw < PERIOD && done < p->total))
        return;
    p->last_draw = now;
    fill = (int)((double)BAR * (double)done / (double)p->total);
    for (int i = 0; i < BAR; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[BAR] = '\0';
    eta = done > 0 ? elapsed * (double)(p->total - done) / (double)done : 0;
    /* \r and clear-to-end-of-line: the bar rewrites itself in place. */
    fprintf(stderr, "\r%s [%s] %llu/%llu  loss %.4g  %.0fs left\033[K", p->label, bar,
            (unsigned long long)done, (unsigned long long)p->total, loss, eta);
    fflush(stderr);
    p->drawn = 1;
}

void gft_progress_end(gft_progress *p)
{
    if (p->enabled && p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    p->drawn = 0;
}
