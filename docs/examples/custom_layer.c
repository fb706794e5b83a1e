/* custom_layer: a layer kind of your own, in one file: its gf_layer_ops (forward and
 * backward side by side, reset) and its model-file codec. The layer scales each feature
 * by a learnable factor, y[r][j] = a[j] x[r][j] (a diagonal linear layer); the network
 * owns a, binds it into its parameter block, records the layer's telemetry and checks
 * its backward pass with gf_net_gradcheck like any other. With the codec, model files
 * store it too: saved, then loaded with gf_model_load_with. The library's own kinds are
 * files like this one in src/layers/, each ending with its gf_layer_kind entry.
 * Usage: custom_layer (exit status 0 when the gradient check and the reload pass). */
#include <stdio.h>
#include <string.h>

#include <gradflow.h>

/* y (batch, n) = x (batch, n) * a (1, n), row by row. Caches nothing: backward needs
 * only x, which the engine keeps. */
static gf_status scale_forward(gf_layer *l, const gf_tensor *x, gf_tensor *y, int training)
{
    const gf_real *a = l->weight.data;
    (void)training;
    for (size_t r = 0; r < x->rows; r++)
        for (size_t j = 0; j < l->out; j++)
            y->data[r * l->out + j] = a[j] * x->data[r * l->in + j];
    return GF_OK;
}

/* Differentiates y = a x: dL/dx += dy a; dL/da[j] += sum over rows of dy x. ADDS into
 * both: the engine zeroed the gradients before the backward pass. */
static gf_status scale_backward(gf_layer *l, const gf_tensor *x, const gf_tensor *y,
                                const gf_tensor *dy, gf_tensor *dx)
{
    const gf_real *a = l->weight.data;
    gf_real *da = l->dweight.data;
    (void)y;
    for (size_t r = 0; r < x->rows; r++)
        for (size_t j = 0; j < l->out; j++) {
            size_t k = r * l->out + j;
            if (dx != NULL)
                dx->data[k] += dy->data[k] * a[j];
            da[j] += dy->data[k] * x->data[k];
        }
    return GF_OK;
}

/* The network calls this once it has bound the parameters: start at a = 1. */
static void scale_reset(gf_layer *l)
{
    for (size_t j = 0; j < l->out; j++)
        l->weight.data[j] = 1;
}

/* Model files: the payload is what the constructor needs beyond in and out; here
 * nothing else, but a version byte shows the writer, and lets the layer grow options
 * later. a itself is a parameter: the file's parameter block holds it. */
static gf_status scale_encode(gf_writer *w, const gf_layer *l)
{
    (void)l;
    gf_write_u32(w, 1); /* payload version */
    return GF_OK;
}

static void layer_scale(gf_layer *l, size_t n);

/* Read the payload back, check it against the record, and set up *l. */
static gf_status scale_decode(gf_layer *l, const gf_layer_record *rec, gf_reader *r)
{
    uint32_t version = 0;
    gf_status st = gf_read_u32(r, &version, "scale payload version");
    if (st != GF_OK)
        return st;
    if (version != 1 || rec->in != rec->out || rec->n_params != rec->out)
        return GF_EFORMAT;
    layer_scale(l, rec->in);
    return GF_OK;
}

static const gf_layer_codec scale_codec = {
    .encode = scale_encode, .decode = scale_decode,
};

static const gf_layer_ops scale_ops = {
    .name = "scale",
    .forward = scale_forward,
    .backward = scale_backward,
    .reset = scale_reset,
    .codec = &scale_codec, /* without it, gf_model_save refuses the network */
};

/* Set up l as a scale layer over n features: one (1, n) weight, no bias. The data
 * pointers stay NULL: gf_net_add_layer points them into the network's blocks. */
static void layer_scale(gf_layer *l, size_t n)
{
    gf_layer zero = {0};
    *l = zero;
    l->ops = &scale_ops;
    l->in = l->out = n;
    l->weight = (gf_tensor){.data = NULL, .rows = 1, .cols = n};
    l->dweight = (gf_tensor){.data = NULL, .rows = 1, .cols = n};
    l->n_params = n;
}

int main(void)
{
    gf_net *net = NULL;
    gf_tensor *x = NULL, *t = NULL;
    gf_layer scale;
    gf_gradcheck_layer res[5];
    double worst = 0;
    gf_rng rng;
    gf_rng_seed(&rng, 3);

    /* 4 -> linear 6 -> scale -> tanh -> linear 2 */
    gf_status st = gf_net_new(&net, 4);
    if (st == GF_OK) st = gf_net_add_linear(net, 6);
    layer_scale(&scale, 6);
    if (st == GF_OK) st = gf_net_add_layer(net, &scale);
    if (st == GF_OK) st = gf_net_add_activation(net, "tanh");
    if (st == GF_OK) st = gf_net_add_linear(net, 2);
    gf_init init = gf_init_default(GF_INIT_XAVIER_NORMAL);
    if (st == GF_OK) st = gf_net_init(net, &init, &rng); /* linear layers only */

    if (st == GF_OK) st = gf_tensor_new(&x, 3, 4);
    if (st == GF_OK) st = gf_tensor_new(&t, 3, 2);
    for (size_t i = 0; st == GF_OK && i < 12; i++) x->data[i] = (gf_real)gf_rng_normal(&rng);
    for (size_t i = 0; st == GF_OK && i < 6; i++) t->data[i] = (gf_real)gf_rng_normal(&rng);

    /* Every parameter and every layer's input gradient against central differences. */
    if (st == GF_OK) st = gf_net_gradcheck(net, res, &worst, x, t, GF_LOSS_MSE, NULL);
    for (size_t i = 0; st == GF_OK && i < gf_net_layer_count(net); i++)
        printf("layer %zu %-7s param err %.2e  input err %.2e\n", i,
               gf_net_layer_kind(net, i), res[i].param_err, res[i].input_err);
    if (st != GF_OK)
        fprintf(stderr, "custom_layer: %s: %s\n", gf_strerror(st), gf_last_error());
    else
        printf("worst relative error %.2e: %s\n", worst,
               worst < (GF_REAL_IS_DOUBLE ? 1e-6 : 2e-2) ? "the backward pass is right"
                                                         : "WRONG");
    int ok = st == GF_OK && worst < (GF_REAL_IS_DOUBLE ? 1e-6 : 2e-2);

    /* Save, then load: the kinds of your own are named to the loader, which owns the
     * list (nothing is registered globally). The reloaded parameters are the same bits. */
    const gf_layer_ops *const my_kinds[] = {&scale_ops};
    void *file = NULL;
    size_t size = 0;
    gf_net *back = NULL;
    if (ok) st = gf_model_save_memory(&file, &size, net, NULL, NULL);
    if (ok && st == GF_OK)
        st = gf_model_load_memory_with(&back, NULL, NULL, file, size, my_kinds, 1);
    ok = ok && st == GF_OK && gf_net_param_count(back) == gf_net_param_count(net) &&
         memcmp(gf_net_params(back), gf_net_params(net),
                gf_net_param_count(net) * sizeof(gf_real)) == 0;
    printf("saved %zu bytes, reloaded: %s\n", size, ok ? "identical" : "DIFFERENT");
    if (st != GF_OK)
        fprintf(stderr, "custom_layer: %s: %s\n", gf_strerror(st), gf_last_error());
    gf_free(file);
    gf_net_free(back);
    gf_tensor_free(x);
    gf_tensor_free(t);
    gf_net_free(net);
    return ok ? 0 : 1;
}
