/* quickstart: build a 20-layer sigmoid network, train it for a few steps, and read back
 * every layer's backward signal ||dL/dh|| and weight-gradient norm ||dL/dW||, which the
 * engine recorded on every backward pass with nothing to wire up. */
#include <math.h>
#include <stdio.h>

#include <gradflow.h>

int main(void)
{
    gf_mlp_spec spec = {.in = 16, .width = 64, .depth = 20, .out = 4, .act = "sigmoid",
                        .act_param = NAN};
    gf_optim_config sgd = gf_optim_default(GF_OPTIM_SGD);
    gf_net *net = NULL;
    gf_optim *opt = NULL;
    gf_tensor *x = NULL, *y = NULL;
    const gf_record *rec = NULL;
    size_t n = 0;
    gf_rng rng;

    gf_rng_seed(&rng, 42);
    gf_status st = gf_net_new_mlp(&net, &spec, &rng); /* Xavier init, sigmoid's choice */
    if (st == GF_OK) st = gf_tensor_new(&x, 32, 16);
    if (st == GF_OK) st = gf_tensor_new(&y, 32, 4);
    if (st == GF_OK) st = gf_optim_new(&opt, &sgd, gf_net_param_count(net));
    for (size_t i = 0; st == GF_OK && i < 32 * 16; i++) x->data[i] = (gf_real)gf_rng_normal(&rng);
    for (size_t i = 0; st == GF_OK && i < 32 * 4; i++) y->data[i] = (gf_real)gf_rng_normal(&rng);
    for (int step = 0; st == GF_OK && step < 5; step++)
        st = gf_net_train_step(net, NULL, x, y, opt, GF_LOSS_MSE, NULL);
    if (st == GF_OK) st = gf_net_last_records(net, &rec, &n);
    for (size_t i = 0; st == GF_OK && i < n; i += 2) /* even layers are the linear ones */
        printf("layer %2zu  ||dL/dh|| %.3e  ||dL/dW|| %.3e\n", i / 2 + 1, rec[i].grad_out_norm,
               rec[i].weight_grad_norm);
    if (st != GF_OK) fprintf(stderr, "quickstart: %s\n", gf_last_error());
    gf_optim_free(opt), gf_tensor_free(x), gf_tensor_free(y), gf_net_free(net);
    return st == GF_OK ? 0 : 1;
}
