/* chain: the scalar chain behind every vanishing or exploding gradient. 15 linear
 * layers of width 1 with weight w and no bias or activation pass dL/dx = w^15 dL/dy
 * back to the input: 0.6^15 = 4.7018e-04 vanishes, 1.6^15 = 1152.92 explodes (281.47 is
 * 1.6^12, three layers short). Usage: chain [w ...] (default: 0.6 1.6). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <gradflow.h>

enum { DEPTH = 15 };

/* Build the chain, run dL/dy = 1 back through it and print the signal at each layer. */
static gf_status run_chain(double w)
{
    gf_net *net = NULL;
    gf_tensor *x = NULL, *dy = NULL;
    gf_init init = gf_init_default(GF_INIT_CONSTANT);
    const gf_record *rec = NULL;
    size_t n = 0;
    gf_rng rng;

    gf_rng_seed(&rng, 1); /* a constant init draws nothing, but gf_net_init wants one */
    init.value = w;
    gf_status st = gf_net_new(&net, 1);
    for (int i = 0; st == GF_OK && i < DEPTH; i++)
        st = gf_net_add_linear(net, 1);
    if (st == GF_OK) st = gf_net_init(net, &init, &rng);
    if (st == GF_OK) st = gf_tensor_new(&x, 1, 1);
    if (st == GF_OK) st = gf_tensor_new(&dy, 1, 1);
    if (st == GF_OK) {
        x->data[0] = 1;
        dy->data[0] = 1; /* dL/dy at the top: the loss is L = y */
        st = gf_net_forward(net, NULL, x);
    }
    if (st == GF_OK) st = gf_net_backward_from(net, dy);
    if (st == GF_OK) st = gf_net_last_records(net, &rec, &n);
    if (st == GF_OK) {
        printf("w = %g\n", w);
        for (size_t i = n; i-- > 0;)
            printf("  into layer %2zu  dL/dh = %-12.5g (w^%zu = %.5g)\n", i + 1,
                   rec[i].grad_out_norm, n - 1 - i, pow(w, (double)(n - 1 - i)));
        printf("  at the input  dL/dx = %.5g   w^%d = %.5g\n", rec[0].grad_in_norm, DEPTH,
               pow(w, DEPTH));
    }
    gf_tensor_free(x);
    gf_tensor_free(dy);
    gf_net_free(net);
    return st;
}

int main(int argc, char **argv)
{
    static const double defaults[] = {0.6, 1.6};
    int n = argc > 1 ? argc - 1 : 2;
    for (int i = 0; i < n; i++) {
        double w = argc > 1 ? strtod(argv[i + 1], NULL) : defaults[i];
        if (run_chain(w) != GF_OK) {
            fprintf(stderr, "chain: %s\n", gf_last_error());
            return 1;
        }
    }
    printf("for comparison, 1.6^12 = %.2f\n", pow(1.6, 12));
    return 0;
}
