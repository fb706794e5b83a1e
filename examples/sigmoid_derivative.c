/* sigmoid_derivative: why sigmoid nets vanish. sigma'(x) = sigma(x)(1 - sigma(x)) is at
 * most 1/4 (at x = 0) and sigma'(5) = 0.0066: every sigmoid layer multiplies the backward
 * signal by 1/4 or less, and a saturated unit by almost nothing. tanh' = 1 - tanh^2 is at
 * most 1, ReLU' is exactly 1 where the unit is on. The derivatives come from the
 * library's activation table, the same functions the backward pass uses.
 *
 * Usage: sigmoid_derivative [output-dir]   (default ./out/sigmoid_derivative). Writes
 * derivatives.dat and a gnuplot figure of f'(x); exits non-zero when a figure is off. */
#include <math.h>
#include <stdio.h>

#include <gradflow.h>

#include "example_dir.h"

static const char *const names[] = {"sigmoid", "tanh", "relu", "softplus"};
#define N_ACT 4

static gf_status write_figure(const char *dir, const gf_activation *const *act)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/derivatives.dat", dir);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return GF_EIO;
    fprintf(f, "# x");
    for (int a = 0; a < N_ACT; a++)
        fprintf(f, " d%s", names[a]);
    fputc('\n', f);
    for (int i = 0; i <= 600; i++) {
        double x = -6 + 0.02 * i;
        fprintf(f, "%.4f", x);
        for (int a = 0; a < N_ACT; a++)
            fprintf(f, " %.6g", act[a]->df(x, act[a]->default_param));
        fputc('\n', f);
    }
    fclose(f);

    snprintf(path, sizeof path, "%s/derivatives.gp", dir);
    f = fopen(path, "w");
    if (f == NULL)
        return GF_EIO;
    fputs("# derivatives.gp: run in this directory with gnuplot derivatives.gp\n"
          "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
          "    set terminal pngcairo size 900,520 enhanced font 'sans,10'\n"
          "} else {\n"
          "    set terminal png size 900,520 enhanced\n"
          "}\n"
          "set output 'derivatives.png'\n"
          "set title \"Derivatives of the activations: sigmoid' <= 1/4, sigmoid'(5) = 0.0066\"\n"
          "set xlabel 'x (pre-activation)'\n"
          "set ylabel \"f'(x)\"\n"
          "set grid lc rgb '#d0d0d0'\n"
          "set key top left noenhanced\n"
          "set yrange [-0.05:1.1]\n"
          "set arrow from 5, graph 0 to 5, graph 1 nohead dt 3 lc rgb 'gray40'\n"
          "set label \"sigmoid'(5) = 0.0066\" at 5.1, 0.12 right offset -1,0\n"
          "set label 'bound 1/4' at -5.8, 0.28\n"
          "set label '' at 5, 0.0066 point pt 7 ps 1.2 lc rgb 'black'\n"
          "plot 0.25 with lines dt 2 lc rgb 'gray50' notitle", f);
    for (int a = 0; a < N_ACT; a++)
        fprintf(f, ", \\\n     'derivatives.dat' using 1:%d with lines lw 2 title \"%s'\"", a + 2,
                names[a]);
    fputc('\n', f);
    fclose(f);
    return gf_plot_render(path);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "out/sigmoid_derivative";
    const gf_activation *act[N_ACT];
    int bad = 0;
    gf_status st = example_mkdir(dir);
    for (int a = 0; st == GF_OK && a < N_ACT; a++)
        st = gf_activation_find(&act[a], names[a]);
    if (st != GF_OK) {
        fprintf(stderr, "sigmoid_derivative: %s\n", gf_last_error());
        return 1;
    }
    const gf_activation *sig = act[0], *th = act[1];

    /* sigma'(5) = e^-5 / (1 + e^-5)^2 = 0.0066481 */
    double d5 = sig->df(5, 0), exact = exp(-5) / pow(1 + exp(-5), 2);
    printf("sigmoid'(5) = %.4f (exactly %.7f): a saturated unit passes back 0.66%% of the signal\n",
           d5, exact);
    bad |= fabs(d5 - exact) > 1e-12 || fabs(d5 - 0.0066) > 5e-5;

    /* The maxima over a fine grid, and the bounds the table records. */
    double best[2] = {-1, -1}, at[2] = {0, 0};
    for (int i = -60000; i <= 60000; i++) {
        double x = i * 1e-4;
        for (int a = 0; a < 2; a++) {
            double d = act[a]->df(x, 0);
            if (d > best[a])
                best[a] = d, at[a] = x;
            bad |= d > act[a]->deriv_bound(0) + 1e-15; /* never above the bound */
        }
    }
    printf("max sigmoid' = %.4f at x = %g (bound in the table: %g)\n", best[0], at[0],
           sig->deriv_bound(0));
    printf("max tanh' = %.4f at x = %g (bound in the table: %g)\n", best[1], at[1],
           th->deriv_bound(0));
    bad |= fabs(best[0] - 0.25) > 1e-12 || fabs(best[1] - 1) > 1e-12 || at[0] != 0 || at[1] != 0;
    printf("so n sigmoid layers shrink the signal by at least 4^n: 4^10 = %.0f\n", pow(4, 10));
    if (bad)
        printf("MISMATCH: a derivative differs from its known value\n");

    st = write_figure(dir, act);
    if (st == GF_EUNSUPPORTED) {
        printf("note: %s\n", gf_last_error());
        st = GF_OK;
    } else if (st == GF_OK) {
        printf("figure: %s/derivatives.png (script derivatives.gp)\n", dir);
    }
    if (st != GF_OK)
        fprintf(stderr, "sigmoid_derivative: cannot write the figure in %s: %s\n", dir,
                gf_last_error());
    return st != GF_OK || bad;
}
