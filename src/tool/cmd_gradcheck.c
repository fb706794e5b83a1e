/* src/tool/cmd_gradcheck.c: `gradflow gradcheck`: build the configured network, check its
 * backward pass against central differences on a small batch (gf_net_gradcheck) and print
 * each layer's worst relative error; exit 1 above the tolerance. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tool.h"

/* Relative errors with the library's floor (gradcheck.h). A wrong derivative gives errors
 * of order 1; rounding gives about eps |L| / h over the floor: ~1e-6 in double (deep
 * sigmoid nets, whose tiny gradients sit near the floor, reach 1e-5), ~1e-2 in float with
 * h = 1e-3, up to 5e-2 through 12 layers. */
static double tolerance(const gft_config *c)
{
#if GF_REAL_IS_DOUBLE
    return isnan(c->tol) ? 1e-4 : c->tol;
#else
    return isnan(c->tol) ? 1e-1 : c->tol;
#endif
}

/* The network, the data and each layer's errors. */
static void print_layers(const gft_config *c, const gf_net *net, size_t rows,
                         const gf_gradcheck_layer *res)
{
    char net_text[300];
    gft_describe_net(net_text, sizeof net_text, c);
    printf("gradcheck: %s, %s, batch %zu, gf_real %s\n", net_text, c->data, rows,
           gf_real_name());
    printf("%5s  %-20s %12s %12s %8s %12s\n", "layer", "kind", "param err", "input err",
           "checked", "||grad||");
    for (size_t i = 0; i < gf_net_layer_count(net); i++) {
        printf("%5zu  %-20s", i, gf_net_layer_kind(net, i));
        if (isnan(res[i].param_err))
            printf(" %12s", "-");
        else
            printf(" %12.3e", res[i].param_err);
        printf(" %12.3e %8zu %12.3e\n", res[i].input_err, res[i].checked, res[i].grad_norm);
    }
}

/* The worst error against the tolerance, with a word on why an activation may fail.
 * Returns 0 within it, GFT_EXIT_FAIL above. */
static int judge(const gft_config *c, double worst)
{
    const gf_activation *act = NULL;
    double tol = tolerance(c);
    if (worst <= tol) {
        printf("worst relative error %.3e: within the tolerance %.1e\n", worst, tol);
        return 0;
    }
    printf("worst relative error %.3e: above the tolerance %.1e\n", worst, tol);
    gf_activation_find(&act, c->act);
    if (act != NULL && act->surrogate)
        printf("expected: %s passes back a chosen signal, not f'\n", act->name);
    else if (act != NULL && !act->saturating && strcmp(act->name, "identity") != 0)
        printf("note: %s has a kink at 0; a difference step (h) straddling it gives a "
               "large error%s\n", act->name,
               GF_REAL_IS_DOUBLE ? "" : " (likely in float; try a double build)");
    return GFT_EXIT_FAIL;
}

/* The network of the configuration checked on the first rows of the training set:
 * 0, or the exit status of the failure (said). */
static int check(const gft_config *c, gf_dataset *train, gf_loss_kind loss)
{
    gf_dataset *part = NULL;
    gf_net *net = NULL;
    gf_gradcheck_options go = {0, 0, 0};
    gf_gradcheck_layer *res = NULL;
    double worst = NAN;
    size_t rows = c->batch < gf_dataset_rows(train) ? c->batch : gf_dataset_rows(train);
    int status = 0;

    if (gf_data_slice(&part, train, 0, rows) != GF_OK) {
        gft_error("%s", gf_last_error());
        return GFT_EXIT_FAIL;
    }
    status = gft_build_net(c, part->x->cols,
                           loss == GF_LOSS_SOFTMAX_CE ? part->n_classes : part->y->cols,
                           part->x, &net);
    if (status == 0 && (res = gf_calloc(gf_net_layer_count(net), sizeof *res)) == NULL) {
        gft_error("out of memory");
        status = GFT_EXIT_FAIL;
    }
    go.max_per_tensor = c->entries;
    if (status == 0 &&
        gf_net_gradcheck(net, res, &worst, part->x, part->y, loss, &go) != GF_OK) {
        gft_error("gradcheck: %s", gf_last_error());
        status = GFT_EXIT_FAIL;
    }
    if (status == 0) {
        if (!c->quiet)
            print_layers(c, net, rows, res);
        status = judge(c, worst);
    }
    gf_free(res);
    gf_net_free(net);
    gf_dataset_free(part);
    return status;
}

int gft_cmd_gradcheck(gft_args *a)
{
    gf_dataset *train = NULL, *test = NULL;
    gf_loss_kind loss;
    int status = gft_load_data(&a->cfg, &train, &test, &loss);
    if (status == 0)
        status = check(&a->cfg, train, loss);
    gf_dataset_free(train);
    gf_dataset_free(test);
    return status;
}
