/* src/tool/paper_pennington.c: Pennington, Schoenholz and Ganguli (NIPS 2017),
 * "Resurrecting the sigmoid": the singular values s of the input-output Jacobian
 * J = D_L W_L ... D_1 W_1 of a deep net at initialisation, against depth, for tanh at
 * criticality (chi = 1) with orthogonal and with Gaussian weights, and for ReLU with
 * orthogonal and He (Gaussian) weights. Free probability gives, for wide layers, the
 * moments m_k = mean of s^2k with
 *     m_2 / m_1^2 - 1 = L (mu_2 / mu_1^2 - 1 - s_1),    mu_k = sigma_w^2k E[phi'(h)^2k],
 * s_1 = -1 for Gaussian and 0 for orthogonal weights (their moment formula; at chi = 1,
 * m_1 = 1 and the left side is var(s^2)). We measure the left side per Jacobian: at
 * finite width each Jacobian's scale m_1 wanders (a product of L factors 1 + O(n^-1/2)),
 * and a variance pooled over Jacobians would count that wandering as spread. tanh
 * near q* = 0 has mu_2 / mu_1^2 -> 1, so with orthogonal weights the spread -> 0 at every
 * depth ("dynamical isometry"); Gaussian tanh grows like L, ReLU like L or 2L. Biases
 * are N(0, sigma_b^2) per unit, drawn here (init.h's biases are constant). Not done:
 * their training-speed experiments. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "paper.h"

static const struct {
    const char *label;
    const char *act;
    int orthogonal;
} configs[] = {
    {"tanh orthogonal", "tanh", 1},
    {"tanh Gaussian", "tanh", 0},
    {"relu orthogonal", "relu", 1},
    {"relu Gaussian (He)", "relu", 0},
};
#define N_CONFIGS (sizeof configs / sizeof configs[0])

/* The tanh nets sit at criticality with q* = 1/64, as in the paper's figures: tanh is
 * then nearly linear where the inputs fall (mu_2/mu_1^2 - 1 = 0.002), the regime where
 * orthogonal weights give dynamical isometry. */
#define TANH_Q_STAR (1.0 / 64)
#define HIST_BINS 60
#define HIST_LO (-3.0) /* log10 s */
#define HIST_HI 2.0

typedef struct spectrum {
    double mean_s2;   /* mean s^2 over every singular value of every point */
    double spread;    /* var(s^2) / mean(s^2)^2 of each Jacobian, averaged over them */
    double spread_sd; /* the standard deviation of that ratio over the Jacobians */
    double s_max;
    double near_one;  /* fraction with 1/2 <= s <= 2 */
} spectrum;

static double dphi_pow(double x, const void *ctx)
{
    const gf_activation *a = ((const void *const *)ctx)[0];
    const int *k = ((const void *const *)ctx)[1];
    return pow(a->df(x, a->default_param), 2 * *k);
}

/* sigma_w^2 and sigma_b^2 putting act at chi = 1 with fixed point q, and
 * mu_2/mu_1^2 - 1 there. ReLU: sigma_w^2 = 2, sigma_b^2 = 0 (any q). */
static gf_status critical_point(const gf_activation *a, double q, double *sw2, double *sb2,
                                double *mu_excess)
{
    double e_dphi2, e_phi2, e_dphi4;
    int one = 1, two = 2;
    const void *c1[2] = {a, &one}, *c2[2] = {a, &two};
    gf_status s = gf_theory_gauss_mean_sq(&e_dphi2, a, a->default_param, q, 1);
    if (s == GF_OK)
        s = gf_theory_gauss_mean_sq(&e_phi2, a, a->default_param, q, 0);
    if (s != GF_OK)
        return s;
    if (strcmp(a->name, "relu") == 0) {
        *sw2 = 2;
        *sb2 = 0;
    } else {
        *sw2 = 1 / e_dphi2;                     /* chi = sigma_w^2 E[phi'^2] = 1 */
        *sb2 = q - *sw2 * e_phi2;                /* q = V(q) */
    }
    e_dphi4 = gfp_gauss_mean(dphi_pow, c2, q);
    e_dphi2 = gfp_gauss_mean(dphi_pow, c1, q);
    *mu_excess = e_dphi4 / (e_dphi2 * e_dphi2) - 1;
    return GF_OK;
}

/* L blocks of (linear n -> n, act), weights orthogonal with gain sigma_w or Gaussian of
 * variance sigma_w^2 / n, biases N(0, sigma_b^2). */
static gf_status build(gf_net **out, const char *act, size_t n, size_t L, int orthogonal,
                       double sw2, double sb2, gf_rng *rng)
{
    gf_net *net = NULL;
    gf_init init = gf_init_default(orthogonal ? GF_INIT_ORTHOGONAL : GF_INIT_NORMAL);
    gf_status s = gf_net_new(&net, n);
    for (size_t l = 0; l < L && s == GF_OK; l++) {
        s = gf_net_add_linear(net, n);
        if (s == GF_OK)
            s = gf_net_add_activation(net, act);
    }
    if (orthogonal)
        init.gain = sqrt(sw2);
    else
        init.std = sqrt(sw2 / (double)n);
    if (s == GF_OK)
        s = gf_net_init(net, &init, rng);
    for (size_t i = 0; i < 2 * L && s == GF_OK; i += 2) {
        gf_layer *lin = gf_net_layer_mut(net, i);
        for (size_t j = 0; j < lin->bias.cols; j++)
            lin->bias.data[j] = (gf_real)(sqrt(sb2) * gf_rng_normal(rng));
    }
    if (s != GF_OK) {
        gf_net_free(net);
        return s;
    }
    *out = net;
    return GF_OK;
}

/* Singular values pooled over several networks and points (mean s^2, largest, share
 * near 1, histogram), and the spread of each Jacobian's own spectrum (sum and sum of
 * squares over the Jacobians). */
typedef struct pool {
    double sum, s_max, near, counts[HIST_BINS];
    size_t m;
    double spread_sum, spread_sum2;
    size_t jacobians;
} pool;

/* var(s^2) / mean(s^2)^2 of one Jacobian's n singular values: the moment ratio
 * m_2 / m_1^2 - 1 of its JJ^T, free of the Jacobian's overall scale. */
static double spread_of(const gf_real *s, size_t n)
{
    double m1 = 0, m2 = 0;
    for (size_t i = 0; i < n; i++) {
        double v2 = (double)s[i] * (double)s[i];
        m1 += v2;
        m2 += v2 * v2;
    }
    m1 /= (double)n, m2 /= (double)n;
    return m2 / (m1 * m1) - 1;
}

/* Add the singular values of the Jacobian at batch points whose first pre-activations
 * have variance q_in times sigma_w^2 plus sigma_b^2 (x ~ N(0, q_in) per unit). */
static gf_status measure(pool *p, gf_net *net, size_t n, size_t batch, double q_in,
                         gf_rng *rng)
{
    gf_tensor *x = NULL, *sv = NULL;
    gf_status s = gf_tensor_new(&x, batch, n);
    if (s == GF_OK)
        s = gf_tensor_new(&sv, batch, n);
    if (s == GF_OK) {
        for (size_t i = 0; i < batch * n; i++)
            x->data[i] = (gf_real)(sqrt(q_in) * gf_rng_normal(rng));
        s = gf_net_jacobian_singular_values(net, sv, x, 0, gf_net_layer_count(net) - 1);
    }
    for (size_t row = 0; row < batch && s == GF_OK; row++) {
        double c = spread_of(sv->data + row * n, n);
        p->spread_sum += c;
        p->spread_sum2 += c * c;
        p->jacobians++;
    }
    for (size_t i = 0; i < batch * n && s == GF_OK; i++) {
        double v = sv->data[i], b = (log10(v) - HIST_LO) / (HIST_HI - HIST_LO) * HIST_BINS;
        p->sum += v * v;
        p->s_max = fmax(p->s_max, v);
        p->near += (v >= 0.5 && v <= 2);
        if (v > 0 && b >= 0 && b < HIST_BINS)
            p->counts[(size_t)b] += 1;
        p->m++;
    }
    gf_tensor_free(x);
    gf_tensor_free(sv);
    return s;
}

/* The moments of a pool, and its histogram of log10 s as one gnuplot data block. */
static void pool_finish(spectrum *sp, const pool *p, FILE *hist)
{
    double m = (double)p->m, w = (HIST_HI - HIST_LO) / HIST_BINS, nj = (double)p->jacobians;
    sp->mean_s2 = p->sum / m;
    sp->spread = p->spread_sum / nj;
    sp->spread_sd = nj > 1 ? sqrt(fmax(0, (p->spread_sum2 - nj * sp->spread * sp->spread) /
                                              (nj - 1)))
                           : 0;
    sp->s_max = p->s_max;
    sp->near_one = p->near / m;
    for (size_t k = 0; k < HIST_BINS; k++)
        fprintf(hist, "%g %g\n", HIST_LO + ((double)k + 0.5) * w, p->counts[k] / (m * w));
    fprintf(hist, "\n\n");
}

/* One configuration at one depth: nets networks of width n, batch points each. */
static gf_status run_point(spectrum *sp, size_t c, size_t L, size_t n, size_t nets,
                           size_t batch, double q, gf_rng *rng, FILE *hist)
{
    const gf_activation *a = NULL;
    double sw2 = 0, sb2 = 0, excess;
    pool p;
    gf_status s = gf_activation_find(&a, configs[c].act);
    memset(&p, 0, sizeof p);
    if (s == GF_OK)
        s = critical_point(a, q, &sw2, &sb2, &excess);
    for (size_t k = 0; k < nets && s == GF_OK; k++) {
        gf_net *net = NULL;
        s = build(&net, configs[c].act, n, L, configs[c].orthogonal, sw2, sb2, rng);
        if (s == GF_OK)
            s = measure(&p, net, n, batch, (q - sb2) / sw2, rng);
        gf_net_free(net);
    }
    if (s == GF_OK)
        pool_finish(sp, &p, hist);
    return s;
}

static const char figure_body[] =
    "set multiplot layout 2,2 title 'Jacobian singular values at init (Pennington et al. "
    "2017)'\n"
    "set xlabel 'log10 s'\nset ylabel 'density'\nset xrange [-3:2]\n"
    "do for [c=0:%d] {\n"
    "  set title word('tanh-orthogonal tanh-Gaussian relu-orthogonal relu-He', c+1)\n"
    "  plot for [d=0:%d] 'spectra.dat' index (c*%d+d) using 1:2 with lines lw 2 "
    "title sprintf('L = %%s', word('%s', d+1))\n"
    "}\nunset multiplot\n";

/* The report's rows: every spread against its prediction, then the claim itself. */
static void add_rows(gfp_report *r, spectrum sp[][4], const double *excess,
                     const size_t *depths, size_t n_depths, size_t n)
{
    /* Each spread against the free-probability prediction, which is the limit of
     * infinite width at fixed depth: checked where L <= n/10 (corrections of order L/n,
     * and the sampling error of a mean over 4 to 6 Jacobians, fit in 35 %), shown
     * unchecked for the deeper nets. */
    for (size_t c = 0; c < N_CONFIGS; c++) {
        for (size_t d = 0; d < n_depths; d++) {
            double pred = (double)depths[d] * (excess[c] + (configs[c].orthogonal ? 0 : 1));
            double v = sp[c][d].spread;
            int checked = depths[d] * 10 <= n;
            char what[96], pub[64];
            snprintf(what, sizeof what, "%s, L = %zu: var(s^2)/m1^2", configs[c].label,
                     depths[d]);
            snprintf(pub, sizeof pub, "%.3g (theory)", pred);
            gfp_row_add(r, checked, fabs(v - pred) <= 0.35 * pred + 0.02, what, pub,
                        checked ? "within 35 % + 0.02" : "not checked: L > n/10",
                        "%.3g sd %.2g (m1 %.2f)", v, sp[c][d].spread_sd, sp[c][d].mean_s2);
        }
    }
    /* The claim itself, at the deepest net. */
    {
        size_t d = n_depths - 1;
        double worst_other = INFINITY;
        char what[96];
        for (size_t c = 1; c < N_CONFIGS; c++)
            worst_other = fmin(worst_other, sp[c][d].spread);
        snprintf(what, sizeof what, "L = %zu: tanh-orth spread / least other", depths[d]);
        gfp_row_add(r, 1, sp[0][d].spread < 0.1 * worst_other, what, "-> 0 as q* -> 0",
                    "< 0.1", "%.3g", sp[0][d].spread / worst_other);
        snprintf(what, sizeof what, "L = %zu: tanh-orth share of s in [1/2, 2]", depths[d]);
        gfp_row_add(r, 1, sp[0][d].near_one >= 0.9, what, "concentrated near 1", ">= 0.9",
                    "%.3f", sp[0][d].near_one);
        for (size_t c = 1; c < N_CONFIGS; c++) {
            snprintf(what, sizeof what, "L = %zu: %s largest s", depths[d], configs[c].label);
            gfp_row_add(r, 0, 1, what, "grows with L", "", "%.3g (tanh-orth %.3g)",
                        sp[c][d].s_max, sp[0][d].s_max);
        }
    }
}

gf_status gfp_pennington2017(const gfp_opts *o, gfp_report *r)
{
    static const size_t quick_depths[] = {2, 8, 32}, full_depths[] = {2, 8, 32, 128};
    const size_t *depths = o->full ? full_depths : quick_depths;
    const size_t n_depths = o->full ? 4 : 3, n = o->full ? 400 : 100, batch = 2;
    const size_t nets = o->full ? 2 : 3;
    spectrum sp[N_CONFIGS][4];
    double excess[N_CONFIGS];
    char body[1024], words[64] = "";
    gf_rng rng;
    FILE *hist;
    gf_status s = gfp_open_out(&hist, o, "spectra.dat");

    if (s != GF_OK)
        return s;
    fprintf(hist, "# log10(s) density; one block per (configuration, depth)\n");
    gf_rng_seed(&rng, o->seed);
    for (size_t c = 0; c < N_CONFIGS && s == GF_OK; c++) {
        const gf_activation *a = NULL;
        double sw2, sb2, q = strcmp(configs[c].act, "tanh") == 0 ? TANH_Q_STAR : 1;
        s = gf_activation_find(&a, configs[c].act);
        if (s == GF_OK)
            s = critical_point(a, q, &sw2, &sb2, &excess[c]);
        for (size_t d = 0; d < n_depths && s == GF_OK; d++) {
            gfp_say(o, "pennington2017: %s, depth %zu", configs[c].label, depths[d]);
            s = run_point(&sp[c][d], c, depths[d], n, nets, batch, q, &rng, hist);
        }
    }
    s = gfp_close_out(hist, o, "spectra.dat", s);
    if (s != GF_OK)
        return s;
    add_rows(r, sp, excess, depths, n_depths, n);
    for (size_t d = 0; d < n_depths; d++)
        snprintf(words + strlen(words), sizeof words - strlen(words), "%s%zu", d ? " " : "",
                 depths[d]);
    snprintf(body, sizeof body, figure_body, (int)N_CONFIGS - 1, (int)n_depths - 1,
             (int)n_depths, words);
    snprintf(r->notes, sizeof r->notes,
             "width %zu, depths %s, %zu nets x %zu input points per configuration; tanh at "
             "chi = 1 with q* = 1/64; the paper: wider nets, depths up to 128",
             n, words, nets, batch);
    return gfp_figure(r, o, "spectra", body) == 0 ? GF_OK
                                                  : GF_EIO;
}
