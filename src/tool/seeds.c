/* src/tool/seeds.c: --seeds N on run and compare: each configuration trained with the
 * seeds s, s+1, ..., s+N-1 (weights, data split and batch order all follow the seed),
 * then summarised: a table of mean +- spread, verdicts that say when the seeds disagree,
 * and two figures with the mean and the spread as a band (signal per layer at
 * initialisation, loss over the steps). docs/cli.md "Seeds". */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tool.h"

int gft_train_seeds(const gft_config *c, const char *dir, const char *label, gft_result *res)
{
    int status = 0;
    for (size_t k = 0; k < c->seeds && !gft_interrupted; k++) {
        gft_config one = *c;
        char sub[64], path[1400], name[400];
        one.seed = c->seed + k;
        one.seeds = 1;
        snprintf(sub, sizeof sub, "seed-%llu", (unsigned long long)one.seed);
        if (gft_path_in(path, sizeof path, dir, sub) != 0)
            return GFT_EXIT_FAIL;
        snprintf(name, sizeof name, "%s seed=%llu", label, (unsigned long long)one.seed);
        int st = gft_train(&one, path, name, 1, &res[k]);
        snprintf(res[k].init, sizeof res[k].init, "%s", gft_init_label(&one));
        status = gft_worse(status, st);
        if (st == GFT_EXIT_INTERRUPTED)
            break;
    }
    return status;
}

/* ---- Statistics ---------------------------------------------------------------------- */

/* Mean and sample standard deviation of the finite values among v[0..n) (stride apart);
 * *count of them. With log10: of log10 v (positive values only). */
static void mean_sd(const double *v, size_t n, size_t stride, int log10_, double *mean,
                    double *sd, size_t *count)
{
    double s = 0, ss = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        double x = v[i * stride];
        if (!isfinite(x) || (log10_ && !(x > 0)))
            continue;
        x = log10_ ? log10(x) : x;
        s += x, ss += x * x, m++;
    }
    *count = m;
    *mean = m ? s / (double)m : NAN;
    *sd = m > 1 ? sqrt(fmax(0, (ss - s * s / (double)m) / (double)(m - 1))) : NAN;
}

/* "1.78 +- 0.05" (or the geometric form "0.89 x/ 1.1" for ratios across decades). */
static void print_stat(const double *v, size_t n, size_t stride, int geometric)
{
    char a[32], b[32], cell[80];
    double mean, sd;
    size_t m;
    mean_sd(v, n, stride, geometric, &mean, &sd, &m);
    if (m == 0)
        snprintf(cell, sizeof cell, "-");
    else if (geometric)
        snprintf(cell, sizeof cell, "%s x/ %s", gft_num(a, sizeof a, pow(10, mean)),
                 m > 1 ? gft_num(b, sizeof b, pow(10, sd)) : "-");
    else
        snprintf(cell, sizeof cell, "%s +- %s", gft_num(a, sizeof a, mean),
                 m > 1 ? gft_num(b, sizeof b, sd) : "-");
    printf(" %-20s", cell);
}

/* The verdicts of one configuration's seeds: "healthy (3 of 3)", or the disagreement
 * spelled out: "seeds disagree: healthy 2, vanishing 1". */
static void print_verdicts(const gft_result *r, size_t n)
{
    size_t count[16] = {0}, judged = 0, kinds = 0;
    for (size_t k = 0; k < n; k++)
        if (r[k].judged && (unsigned)r[k].verdict.kind < 16)
            count[r[k].verdict.kind]++, judged++;
    for (size_t v = 0; v < 16; v++)
        kinds += count[v] > 0;
    if (kinds == 1) {
        for (size_t v = 0; v < 16; v++)
            if (count[v])
                printf("  %s (%zu of %zu)", gf_verdict_name((gf_verdict_kind)v), count[v], n);
        return;
    }
    printf("  %s", kinds ? "seeds disagree:" : "not judged");
    for (size_t v = 0, first = 1; v < 16; v++)
        if (count[v]) {
            printf("%s %s %zu", first ? "" : ",", gf_verdict_name((gf_verdict_kind)v), count[v]);
            first = 0;
        }
    if (judged < n)
        printf("%s not judged %zu", kinds ? "," : "", n - judged);
}

void gft_print_seeds(const gft_result *res, size_t n_items, size_t n_seeds, const char *first)
{
    int w = (int)strlen(first);
    for (size_t i = 0; i < n_items; i++) {
        /* The configuration's label: the first seed's, less " seed=..." */
        const char *l = res[i * n_seeds].label, *cut = strstr(l, " seed=");
        int len = cut ? (int)(cut - l) : (int)strlen(l);
        w = len > w ? len : w;
    }
    printf("\nover %zu seeds: mean +- sample standard deviation; the ratio's geometric mean "
           "x/ its geometric standard deviation\n", n_seeds);
    printf("%-*s %-20s %-20s %-20s  %s\n", w, first, "ratio at init", "loss", "accuracy",
           "verdicts");
    for (size_t i = 0; i < n_items; i++) {
        const gft_result *r = &res[i * n_seeds];
        double ratio[GFT_MAX_SEEDS], loss[GFT_MAX_SEEDS], acc[GFT_MAX_SEEDS];
        const char *l = r->label, *cut = strstr(l, " seed=");
        for (size_t k = 0; k < n_seeds; k++) {
            ratio[k] = r[k].judged ? r[k].verdict.ratio_init : NAN;
            loss[k] = r[k].final_loss;
            acc[k] = r[k].accuracy;
        }
        printf("%-*.*s", w, cut ? (int)(cut - l) : (int)strlen(l), l);
        print_stat(ratio, n_seeds, 1, 1);
        print_stat(loss, n_seeds, 1, 0);
        print_stat(acc, n_seeds, 1, 0);
        print_verdicts(r, n_seeds);
        printf("\n");
    }
}
