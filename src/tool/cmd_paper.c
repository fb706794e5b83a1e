/* src/tool/cmd_paper.c: `gradflow paper NAME`: one of the classic papers reproduced
 * (src/tool/paper*.c, docs/papers.md), and `gradflow list papers`. */
#include <stdio.h>
#include <string.h>

#include "paper.h"
#include "tool.h"

int gft_cmd_paper(gft_args *a)
{
    const gft_config *c = &a->cfg;
    const gfp_paper *p = gfp_paper_find(a->operands[0]);
    gfp_opts o;
    if (p == NULL) {
        gft_error("paper: unknown paper '%s' (see gradflow list papers)", a->operands[0]);
        return GFT_EXIT_USAGE;
    }
    memset(&o, 0, sizeof o);
    o.full = c->full;
    o.seed = c->seed;
    o.format = gft_plot_format(c);
    o.quiet = c->quiet;
    /* Both cores of a small machine unless told otherwise (the grids are shared out). */
    o.jobs = 2;
    for (size_t i = 0; i < a->n_set; i++)
        if (strcmp(a->set[i].opt->name, "jobs") == 0)
            o.jobs = c->jobs;
    if (c->out[0] != '\0')
        snprintf(o.out, sizeof o.out, "%s", c->out);
    else
        snprintf(o.out, sizeof o.out, "gradflow-out/paper/%s", p->name);
    return gfp_run_paper(p, &o);
}

void gft_list_papers(void)
{
    size_t n;
    const gfp_paper *p = gfp_papers(&n);
    printf("papers (gradflow paper NAME [--full]; docs/papers.md):\n");
    for (size_t i = 0; i < n; i++) {
        printf("  %-16s %s\n", p[i].name, p[i].title);
        printf("  %-16s claim: %s\n", "", p[i].claim);
        printf("  %-16s run time: quick %s, --full %s\n", "", p[i].quick_time, p[i].full_time);
    }
}
