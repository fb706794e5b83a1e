/* first_net: the tutorial's first network (docs/tutorial.md). A tanh network
 * 1 -> 32 -> 32 -> 32 -> 1 learns y = sin(3x) on [-1, 1] with Adam; the engine records
 * every layer at every step, and the telemetry is saved as CSV for plotting.
 * Usage: first_net [telemetry.csv] (default first_net.csv). */
#include <math.h>
#include <stdio.h>

#include <gradflow.h>

enum { BATCH = 64, STEPS = 400 };

/* A fresh batch: x uniform on [-1, 1], target sin(3x). x and y are (BATCH, 1). */
static void make_batch(gf_tensor *x, gf_tensor *y, gf_rng *rng)
{
    for (size_t i = 0; i < BATCH; i++) {
        double xi = 2 * gf_rng_uniform(rng) - 1;
        x->data[i] = (gf_real)xi;
        y->data[i] = (gf_real)sin(3 * xi);
    }
}

int main(int argc, char **argv)
{
    const char *csv = argc > 1 ? argv[1] : "first_net.csv";
    gf_net *net = NULL;
    gf_optim *opt = NULL;
    gf_tensor *x = NULL, *y = NULL;
    gf_rng rng;
    gf_rng_seed(&rng, 7);

    /* 1 -> 32 -> 32 -> 32 -> 1, tanh after each hidden linear layer. */
    gf_status st = gf_net_new(&net, 1);
    for (int i = 0; i < 3 && st == GF_OK; i++) {
        st = gf_net_add_linear(net, 32);
        if (st == GF_OK) st = gf_net_add_activation(net, "tanh");
    }
    if (st == GF_OK) st = gf_net_add_linear(net, 1);

    /* Xavier with gain 5/3: the initialisation tanh's row of the activation table names. */
    gf_init init = gf_init_default(GF_INIT_XAVIER_NORMAL);
    init.gain = 5.0 / 3.0;
    if (st == GF_OK) st = gf_net_init(net, &init, &rng);

    /* Adam over the network's one parameter block. */
    gf_optim_config adam = gf_optim_default(GF_OPTIM_ADAM);
    adam.lr = 0.01;
    if (st == GF_OK) st = gf_optim_new(&opt, &adam, gf_net_param_count(net));
    if (st == GF_OK) st = gf_tensor_new(&x, BATCH, 1);
    if (st == GF_OK) st = gf_tensor_new(&y, BATCH, 1);

    /* Train: forward, loss, backward (which records the telemetry), step. */
    for (int step = 0; step < STEPS && st == GF_OK; step++) {
        double loss = 0;
        make_batch(x, y, &rng);
        st = gf_net_train_step(net, &loss, x, y, opt, GF_LOSS_MSE, NULL);
        if (st == GF_OK && step % 50 == 0)
            printf("step %3d  loss %.5f\n", step, loss);
    }

    /* Read the last step's telemetry: one record per layer, input side first. */
    const gf_record *rec = NULL;
    size_t n = 0;
    if (st == GF_OK) st = gf_net_last_records(net, &rec, &n);
    for (size_t i = 0; i < n && st == GF_OK; i++)
        printf("layer %zu %-6s  ||dL/dh|| %.3e  ||dL/dW|| %.3e  update/W %.1e  std %.3f\n",
               i, rec[i].kind, rec[i].grad_out_norm, rec[i].weight_grad_norm,
               rec[i].update_ratio, rec[i].act_std);

    /* Every step's records, as CSV (columns: docs/file-formats.md). */
    if (st == GF_OK) st = gf_telemetry_save_csv(gf_net_telemetry(net), csv);
    if (st == GF_OK)
        printf("wrote %zu records to %s\n", gf_telemetry_count(gf_net_telemetry(net)), csv);
    else
        fprintf(stderr, "first_net: %s: %s\n", gf_strerror(st), gf_last_error());

    gf_optim_free(opt);
    gf_tensor_free(x);
    gf_tensor_free(y);
    gf_net_free(net);
    return st == GF_OK ? 0 : 1;
}
