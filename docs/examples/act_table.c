/* act_table: print gradflow's activation table, the source of the derivative bounds
 * and suited initialisations that docs/concepts.md discusses: each row's name, sup |f'|,
 * the init scheme and gain that suit it, f'(0) and f'(5), and its formula.
 * Usage: act_table. */
#include <math.h>
#include <stdio.h>

#include <gradflow.h>

int main(void)
{
    printf("%-20s %8s  %-7s %6s %8s %8s  %s\n", "name", "sup|f'|", "init", "gain", "f'(0.01)",
           "f'(5)", "formula");
    for (size_t i = 0; i < gf_activation_count(); i++) {
        const gf_activation *a = gf_activation_at(i);
        double p = a->default_param;
        /* f'(0.01), not f'(0): ReLU's kink at 0 has no derivative to show. */
        printf("%-20s %8.4g  %-7s %6.4g %8.4g %8.4g  %s\n", a->name, a->deriv_bound(p),
               a->suited_init, a->gain(p), a->df(0.01, p), a->df(5, p), a->formula);
    }
    return 0;
}
