/* gradflow/init.h: weight initialisation schemes. A weight matrix W is (fan_out,
 * fan_in) as in linear layers. Biases start at init->bias (0 by default). Variances:
 * Xavier 2/(fan_in+fan_out), He 2/((1+a^2) fan_in), LeCun 1/fan_in, times gain^2. */
#ifndef GRADFLOW_INIT_H
#define GRADFLOW_INIT_H

#include "gradflow/rng.h"
#include "gradflow/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

struct gf_net;

typedef enum gf_init_kind {
    GF_INIT_ZEROS,          /* every weight 0 */
    GF_INIT_CONSTANT,       /* every weight = value (0.6 and 1.6: the scalar chain demo) */
    GF_INIT_NORMAL,         /* N(mean, std^2); N(0, 1) is "the common procedure" */
    GF_INIT_UNIFORM,        /* U(low, high) */
    GF_INIT_XAVIER_NORMAL,  /* N(0, gain^2 2/(fan_in+fan_out)) (Glorot and Bengio 2010) */
    GF_INIT_XAVIER_UNIFORM, /* U(-r, r), r = gain sqrt(6/(fan_in+fan_out)) */
    GF_INIT_HE_NORMAL,      /* N(0, 2/((1+a^2) fan)) (He et al. 2015), a = leaky slope */
    GF_INIT_HE_UNIFORM,     /* U(-r, r), r = sqrt(6/((1+a^2) fan)) */
    GF_INIT_LECUN_NORMAL,   /* N(0, 1/fan_in) */
    GF_INIT_LECUN_UNIFORM,  /* U(-r, r), r = sqrt(3/fan_in) */
    GF_INIT_ORTHOGONAL,     /* gain times a random orthogonal matrix (Saxe et al. 2014) */
    GF_INIT_LSUV,           /* orthogonal, then each layer rescaled to unit output
                               variance on a batch (Mishkin and Matas 2016) */
    GF_INIT_COUNT
} gf_init_kind;

typedef struct gf_init {
    gf_init_kind kind;
    double value;  /* CONSTANT: the weight value */
    double mean;   /* NORMAL: mean */
    double std;    /* NORMAL: standard deviation (>= 0) */
    double low;    /* UNIFORM: lower end */
    double high;   /* UNIFORM: upper end (> low) */
    double gain;   /* XAVIER, LECUN, ORTHOGONAL, LSUV: multiplies the scale (> 0) */
    double slope;  /* HE: the leaky slope a (0 for ReLU) */
    int fan_out;   /* HE, LECUN: 1 to use fan_out instead of fan_in */
    double bias;   /* every bias value */
} gf_init;

/* The defaults of a scheme: value 0, N(0, 1), U(-1, 1), gain 1, slope 0, fan_in, bias 0. */
gf_init gf_init_default(gf_init_kind kind);

/* A scheme by name, with its defaults: "zeros", "constant", "normal", "uniform",
 * "xavier" (= xavier_normal), "xavier_uniform", "he" (= he_normal), "he_uniform",
 * "lecun", "lecun_uniform", "orthogonal", "lsuv"; "glorot..." and "kaiming..." are
 * accepted for xavier and he. Unknown: GF_ENOTFOUND. */
gf_status gf_init_from_name(gf_init *out, const char *name);

/* The scheme that suits an activation (its table row's suited_init and gain): He with
 * the slope that matches the gain for ReLU-like rows, Xavier or LeCun with the gain for
 * the others. param is the activation's parameter (leaky slope); NaN for its default. */
struct gf_activation;
gf_status gf_init_suited(gf_init *out, const struct gf_activation *act, double param);

/* The canonical name of a kind; NULL when invalid. */
const char *gf_init_name(gf_init_kind kind);

/* Check an init's hyper-parameters (finite, std >= 0, low < high, gain > 0, ...). */
gf_status gf_init_validate(const gf_init *init);

/* Fill w (fan_out, fan_in) by the scheme. LSUV here is orthogonal (its rescaling needs
 * data: gf_net_init_lsuv). */
gf_status gf_init_tensor(gf_tensor *w, const gf_init *init, gf_rng *rng);

/* Initialise every parametric layer of a network (weights by the scheme, biases to
 * init->bias). For GF_INIT_LSUV use gf_net_init_lsuv. */
gf_status gf_net_init(struct gf_net *net, const gf_init *init, gf_rng *rng);

/* LSUV: orthogonal init (times init->gain), then, layer by layer from the input, the
 * weights of each linear layer are scaled until the variance of its output on batch is
 * within tol of 1 (at most max_iter passes per layer). */
gf_status gf_net_init_lsuv(struct gf_net *net, const gf_init *init, const gf_tensor *batch,
                           double tol, int max_iter, gf_rng *rng);

#ifdef __cplusplus
}
#endif
#endif
