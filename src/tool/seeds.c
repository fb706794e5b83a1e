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

const char *gft_seed_stat(char *cell, size_t len, const double *v, size_t n, int geometric)
{
    char a[32], b[32];
    double mean, sd;
    size_t m;
    mean_sd(v, n, 1, geometric, &mean, &sd, &m);
    if (m == 0)
        snprintf(cell, len, "-");
    else if (geometric)
        snprintf(cell, len, "%s x/ %s", gft_num(a, sizeof a, pow(10, mean)),
                 m > 1 ? gft_num(b, sizeof b, pow(10, sd)) : "-");
    else
        snprintf(cell, len, "%s +- %s", gft_num(a, sizeof a, mean),
                 m > 1 ? gft_num(b, sizeof b, sd) : "-");
    return cell;
}

const char *gft_seed_verdicts(char *out, size_t len, const gft_result *r, size_t n,
                              int at_init)
{
    size_t count[16] = {0}, judged = 0, kinds = 0, used = 0;
    for (size_t k = 0; k < n; k++) {
        unsigned v = at_init ? (unsigned)r[k].verdict.kind_init : (unsigned)r[k].verdict.kind;
        if (r[k].judged && v < 16)
            count[v]++, judged++;
    }
    for (size_t v = 0; v < 16; v++)
        kinds += count[v] > 0;
    out[0] = '\0';
#define PUT(...) (used += (size_t)snprintf(out + used, used < len ? len - used : 0, __VA_ARGS__))
    if (kinds == 1) {
        for (size_t v = 0; v < 16; v++)
            if (count[v])
                PUT("%s (%zu of %zu)", gf_verdict_name((gf_verdict_kind)v), count[v], n);
        return out;
    }
    PUT("%s", kinds ? "seeds disagree:" : "not judged");
    for (size_t v = 0, first = 1; v < 16; v++)
        if (count[v]) {
            PUT("%s %s %zu", first ? "" : ",", gf_verdict_name((gf_verdict_kind)v), count[v]);
            first = 0;
        }
    if (judged < n && kinds)
        PUT(", not judged %zu", n - judged);
#undef PUT
    return out;
}

/* The values of one configuration's seeds: the ratio at init, the final loss and
 * accuracy, into v[3][n]. */
void gft_seed_values(double v[3][GFT_MAX_SEEDS], const gft_result *r, size_t n)
{
    for (size_t k = 0; k < n && k < GFT_MAX_SEEDS; k++) {
        v[0][k] = r[k].judged ? r[k].verdict.ratio_init : NAN;
        v[1][k] = r[k].final_loss;
        v[2][k] = r[k].accuracy;
    }
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
    printf("%-*s %-20s %-20s %-20s  %-40s %s\n", w, first, "ratio at init", "loss",
           "accuracy", "verdicts at init", "verdicts at the end");
    for (size_t i = 0; i < n_items; i++) {
        const gft_result *r = &res[i * n_seeds];
        double v[3][GFT_MAX_SEEDS];
        char cell[80], verdicts[200];
        const char *l = r->label, *cut = strstr(l, " seed=");
        gft_seed_values(v, r, n_seeds);
        printf("%-*.*s", w, cut ? (int)(cut - l) : (int)strlen(l), l);
        for (int q = 0; q < 3; q++)
            printf(" %-20s", gft_seed_stat(cell, sizeof cell, v[q], n_seeds, q == 0));
        printf("  %-40s", gft_seed_verdicts(verdicts, sizeof verdicts, r, n_seeds, 1));
        printf(" %s\n", gft_seed_verdicts(verdicts, sizeof verdicts, r, n_seeds, 0));
    }
}
