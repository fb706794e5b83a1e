#include <stdio.h>
#include <gradflow.h>

int main(void)                 /* 20 ReLU layers, He init: how far does dL/dh travel? */
{
    /* act_param and init left out: the activation's defaults (for ReLU, He init) */
    gf_mlp_spec spec = {.in = 16, .width = 64, .depth = 20, .out = 4, .act = "relu"};
    gf_net *net = NULL;
    gf_tensor *x = NULL, *y = NULL;
    const gf_record *rec = NULL;
    size_t n = 0;
    gf_rng rng;
    gf_rng_seed(&rng, 42);
    gf_status st = gf_net_new_mlp(&net, &spec, &rng);
    if (st == GF_OK) st = gf_tensor_new(&x, 32, 16);        /* 32 inputs, zero targets */
    if (st == GF_OK) st = gf_tensor_new(&y, 32, 4);
    for (size_t i = 0; st == GF_OK && i < 32 * 16; i++) x->data[i] = (gf_real)gf_rng_normal(&rng);
    if (st == GF_OK) st = gf_net_forward(net, NULL, x);
    if (st == GF_OK) st = gf_net_loss(net, NULL, y, GF_LOSS_MSE);
    if (st == GF_OK) st = gf_net_backward(net);              /* records every layer */
    if (st == GF_OK) st = gf_net_last_records(net, &rec, &n);
    for (size_t i = 0; st == GF_OK && i < n; i += 2)         /* the linear layers */
        printf("layer %2zu  ||dL/dh|| %.3e\n", i / 2 + 1, rec[i].grad_out_norm);
    if (st != GF_OK) fprintf(stderr, "%s\n", gf_last_error());
    gf_tensor_free(x), gf_tensor_free(y), gf_net_free(net);
    return st != GF_OK;
}
