/* experiment: the coursework's workbench (docs/coursework/README.md). Builds a deep MLP
 * 16 -> width x (depth - 1) -> 4 and prints each layer's backward signal, weight
 * gradient and activation statistics, either at initialisation (steps=0: a batch of
 * N(0, 1) inputs, dL/dy of random signs at the top, as tests/test_figures.c does) or
 * after training on a synthetic 4-class task with softmax cross-entropy.
 * Usage: experiment [key=value ...]; `experiment help` lists the keys. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gradflow.h>

typedef struct options {
    const char *act;   /* activation name */
    double param;      /* its parameter (leaky slope, ELU alpha); NaN: its default */
    const char *init;  /* init scheme name, or "suited": the activation's own */
    double scale;      /* normal: std; constant: value; xavier/lecun/orthogonal: gain;
                          he: leaky slope. NaN: the scheme's default */
    size_t depth, width, batch, steps;
    const char *optim;
    double lr;
    const char *clip;  /* none, value, norm, global_norm */
    double threshold;
    unsigned long seed;
    const char *csv;   /* telemetry CSV path, or NULL */
} options;

enum { IN = 16, OUT = 4, N_DATA = 512 };

static void usage(void)
{
    puts("experiment [key=value ...]\n"
         "  act=relu        activation (identity sigmoid tanh relu leaky_relu softplus elu ...)\n"
         "  param=          its parameter (leaky slope, ELU alpha); default: the table's\n"
         "  init=suited     suited, zeros, constant, normal, uniform, xavier, he, lecun,\n"
         "                  orthogonal (suited: the activation's own scheme and gain)\n"
         "  scale=          normal: std; constant: value; xavier/lecun/orthogonal: gain;\n"
         "                  he: leaky slope\n"
         "  depth=20 width=128 batch=64\n"
         "  steps=0         0: measure at initialisation; else train this many steps\n"
         "  optim=sgd lr=0.01 clip=none threshold=1 seed=1\n"
         "  csv=FILE        write every step's telemetry as CSV");
}

/* key=value into o; 0 on an unknown key or a bad number. */
static int parse(options *o, const char *arg)
{
    const char *eq = strchr(arg, '=');
    char *end = NULL;
    if (eq == NULL)
        return 0;
    size_t k = (size_t)(eq - arg);
    const char *v = eq + 1;
    double num = strtod(v, &end);
    int is_num = end != v && *end == '\0';
#define KEY(name) (k == strlen(name) && strncmp(arg, name, k) == 0)
    if (KEY("act")) o->act = v;
    else if (KEY("init")) o->init = v;
    else if (KEY("optim")) o->optim = v;
    else if (KEY("clip")) o->clip = v;
    else if (KEY("csv")) o->csv = v;
    else if (!is_num) return 0;
    else if (KEY("param")) o->param = num;
    else if (KEY("scale")) o->scale = num;
    else if (KEY("lr")) o->lr = num;
    else if (KEY("threshold")) o->threshold = num;
    else if (KEY("depth") && num >= 1) o->depth = (size_t)num;
    else if (KEY("width") && num >= 1) o->width = (size_t)num;
    else if (KEY("batch") && num >= 1) o->batch = (size_t)num;
    else if (KEY("steps") && num >= 0) o->steps = (size_t)num;
    else if (KEY("seed") && num >= 0) o->seed = (unsigned long)num;
    else return 0;
#undef KEY
    return 1;
}

/* The init scheme by name, with scale applied to the field it means for that scheme. */
static gf_status make_init(gf_init *init, const options *o)
{
    gf_status st = gf_init_from_name(init, o->init);
    if (st != GF_OK || isnan(o->scale))
        return st;
    switch (init->kind) {
    case GF_INIT_NORMAL: init->std = o->scale; break;
    case GF_INIT_CONSTANT: init->value = o->scale; break;
    case GF_INIT_UNIFORM: init->low = -o->scale, init->high = o->scale; break;
    case GF_INIT_HE_NORMAL: case GF_INIT_HE_UNIFORM: init->slope = o->scale; break;
    default: init->gain = o->scale; break;
    }
    return GF_OK;
}

/* The synthetic task: x ~ N(0, 1)^16, class = argmax of x A for a fixed random A (16, 4):
 * linearly separable, so any healthy network learns it. x (N_DATA, IN), labels
 * (N_DATA, 1) holding class indices. */
static void make_data(gf_tensor *x, gf_tensor *labels, gf_rng *rng)
{
    double a[IN][OUT];
    for (size_t i = 0; i < IN; i++)
        for (size_t j = 0; j < OUT; j++)
            a[i][j] = gf_rng_normal(rng);
    for (size_t r = 0; r < N_DATA; r++) {
        double best = -INFINITY;
        for (size_t i = 0; i < IN; i++)
            x->data[r * IN + i] = (gf_real)gf_rng_normal(rng);
        for (size_t j = 0; j < OUT; j++) {
            double s = 0;
            for (size_t i = 0; i < IN; i++)
                s += (double)x->data[r * IN + i] * a[i][j];
            if (s > best)
                best = s, labels->data[r] = (gf_real)j;
        }
    }
}

/* Copy `batch` random rows of the data set into xb, yb. */
static void sample(gf_tensor *xb, gf_tensor *yb, const gf_tensor *x, const gf_tensor *labels,
                   gf_rng *rng)
{
    for (size_t r = 0; r < xb->rows; r++) {
        size_t k = (size_t)gf_rng_below(rng, N_DATA);
        memcpy(xb->data + r * IN, x->data + k * IN, IN * sizeof(gf_real));
        yb->data[r] = labels->data[k];
    }
}

/* One line per linear layer: the signal dL/dh at its output (h = x W^T + b), its weight
 * gradient, update ratio, and the statistics of the activation that follows it. */
static void print_profile(gf_net *net)
{
    const gf_record *rec = NULL;
    size_t n = 0;
    if (gf_net_last_records(net, &rec, &n) != GF_OK || n == 0)
        return;
    printf("step %llu: layer  ||dL/dh||   ||dL/dW||   update/W   act std  zero  dead   sat\n",
           (unsigned long long)rec[0].step);
    double first = NAN, last = NAN;
    size_t linear = 0, n_hidden = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rec[i].kind, "linear") != 0)
            continue;
        const gf_record *a = i + 1 < n ? &rec[i + 1] : NULL; /* the activation after it */
        linear++;
        printf("        %5zu  %.3e  %.3e  %9.2e", linear, rec[i].grad_out_norm,
               rec[i].weight_grad_norm, rec[i].update_ratio);
        if (a != NULL)
            printf("  %7.3g  %3.0f%%  %3.0f%%  %3.0f%%", a->act_std, 100 * a->zero_frac,
                   100 * a->dead_frac, 100 * a->sat_frac);
        printf("\n");
        if (a != NULL) { /* hidden layers only: the output layer sees the loss directly */
            if (linear == 1) first = rec[i].grad_out_norm;
            last = rec[i].grad_out_norm;
            n_hidden++;
        }
    }
    if (n_hidden > 1)
        printf("||dL/dh|| first / last hidden layer: %.3g (%.3f per layer)\n", first / last,
               pow(first / last, 1.0 / (double)(n_hidden - 1)));
}

int main(int argc, char **argv)
{
    options o = {.act = "relu", .param = NAN, .init = "suited", .scale = NAN, .depth = 20,
                 .width = 128, .batch = 64, .steps = 0, .optim = "sgd", .lr = 0.01,
                 .clip = "none", .threshold = 1, .seed = 1, .csv = NULL};
    for (int i = 1; i < argc; i++)
        if (!parse(&o, argv[i])) {
            int help = strcmp(argv[i], "help") == 0;
            if (!help)
                fprintf(stderr, "experiment: bad argument '%s'\n", argv[i]);
            usage();
            return help ? 0 : 2;
        }

    gf_net *net = NULL;
    gf_optim *opt = NULL;
    gf_tensor *x = NULL, *labels = NULL, *xb = NULL, *yb = NULL;
    gf_init init;
    gf_optim_config oc;
    gf_clip clip = {.kind = GF_CLIP_NONE, .threshold = o.threshold};
    gf_rng rng;
    gf_status st = GF_OK;

    gf_rng_seed(&rng, o.seed);
    gf_mlp_spec spec = {.in = IN, .width = o.width, .depth = o.depth, .out = OUT,
                        .act = o.act, .act_param = o.param};
    if (strcmp(o.init, "suited") != 0) {
        st = make_init(&init, &o);
        spec.init = &init;
    }
    if (st == GF_OK) st = gf_net_new_mlp(&net, &spec, &rng);
    if (st == GF_OK) st = gf_tensor_new(&x, N_DATA, IN);
    if (st == GF_OK) st = gf_tensor_new(&labels, N_DATA, 1);
    if (st == GF_OK) st = gf_tensor_new(&xb, o.batch, IN);
    if (st == GF_OK) st = gf_tensor_new(&yb, o.batch, 1);
    if (st == GF_OK && o.csv != NULL)
        st = gf_telemetry_stream_to(gf_net_telemetry_mut(net), o.csv);
    if (st != GF_OK)
        goto done;
    make_data(x, labels, &rng);
    printf("act %s, init %s, depth %zu, width %zu, batch %zu, gf_real %s\n", o.act, o.init,
           o.depth, o.width, o.batch, gf_real_name());

    if (o.steps == 0) {
        /* At initialisation: dL/dy of random signs, so the signal does not depend on a
         * loss; everything below the top is the network's doing. */
        gf_tensor *dy = NULL;
        for (size_t i = 0; i < o.batch * IN; i++)
            xb->data[i] = (gf_real)gf_rng_normal(&rng);
        st = gf_tensor_new(&dy, o.batch, OUT);
        for (size_t i = 0; st == GF_OK && i < o.batch * OUT; i++)
            dy->data[i] = (gf_real)(gf_rng_uniform(&rng) < 0.5 ? -1 : 1);
        if (st == GF_OK) st = gf_net_forward(net, NULL, xb);
        if (st == GF_OK) st = gf_net_backward_from(net, dy);
        gf_tensor_free(dy);
        print_profile(net);
        goto done;
    }

    if ((st = gf_optim_from_name(&oc.kind, o.optim)) != GF_OK)
        goto done;
    oc = gf_optim_default(oc.kind);
    oc.lr = o.lr;
    if (st == GF_OK) st = gf_optim_new(&opt, &oc, gf_net_param_count(net));
    if (strcmp(o.clip, "none") != 0) {
        int k = GF_CLIP_NONE + 1;
        while (k < GF_CLIP_COUNT && strcmp(gf_clip_name((gf_clip_kind)k), o.clip) != 0)
            k++;
        if (k == GF_CLIP_COUNT) {
            fprintf(stderr, "experiment: unknown clip '%s' (none value norm global_norm)\n",
                    o.clip);
            st = GF_ENOTFOUND;
        }
        clip.kind = (gf_clip_kind)k;
    }
    for (size_t step = 0; step < o.steps && st == GF_OK; step++) {
        double loss = NAN, acc = NAN;
        const gf_tensor *out = NULL;
        sample(xb, yb, x, labels, &rng);
        st = gf_net_train_step(net, &loss, xb, yb, opt, GF_LOSS_SOFTMAX_CE, &clip);
        if (st == GF_OK && ((step + 1) % (o.steps >= 10 ? o.steps / 10 : 1) == 0 || step == 0)) {
            st = gf_net_predict(net, &out, x);
            if (st == GF_OK) st = gf_accuracy(&acc, out, labels);
            printf("step %5zu  loss %.4f  accuracy %.3f\n", step + 1, loss, acc);
        }
    }
    print_profile(net);

done:
    if (st != GF_OK)
        fprintf(stderr, "experiment: %s: %s\n", gf_strerror(st), gf_last_error());
    gf_optim_free(opt);
    gf_tensor_free(x);
    gf_tensor_free(labels);
    gf_tensor_free(xb);
    gf_tensor_free(yb);
    gf_net_free(net); /* also flushes and closes the CSV stream */
    return st == GF_OK ? 0 : 1;
}
