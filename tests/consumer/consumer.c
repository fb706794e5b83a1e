/* tests/consumer/consumer.c: a user's program against an installed gradflow. Checks a
 * known figure through the public API (a 15-layer chain of weight w passes w^15 back:
 * 0.6^15 = 4.7018e-4, 1.6^15 = 1152.92), that the headers and the library agree on the
 * number type and version, and that an error's detail message crosses the library
 * boundary. Usage: consumer [float|double]; exits 0 when all holds. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gradflow.h>

/* dL/dx at the input of 15 (linear 1 -> 1, weight w, bias 0) layers, from dL/dy = 1. */
static double chain(double w)
{
    gf_net *net = NULL;
    gf_tensor *x = NULL, *dy = NULL;
    gf_init init = gf_init_default(GF_INIT_CONSTANT);
    const gf_record *rec = NULL;
    size_t n = 0;
    double g = NAN;
    gf_rng rng;

    gf_rng_seed(&rng, 1);
    init.value = w;
    gf_status st = gf_net_new(&net, 1);
    for (int i = 0; st == GF_OK && i < 15; i++)
        st = gf_net_add_linear(net, 1);
    if (st == GF_OK) st = gf_net_init(net, &init, &rng);
    if (st == GF_OK) st = gf_tensor_new(&x, 1, 1);
    if (st == GF_OK) st = gf_tensor_new(&dy, 1, 1);
    if (st == GF_OK) {
        x->data[0] = 1;
        dy->data[0] = 1;
        st = gf_net_forward(net, NULL, x);
    }
    if (st == GF_OK) st = gf_net_backward_from(net, dy);
    if (st == GF_OK) st = gf_net_last_records(net, &rec, &n);
    if (st == GF_OK && n == 15)
        g = rec[0].grad_in_norm; /* ||dL/dx|| at the first layer's input */
    else
        fprintf(stderr, "consumer: %s: %s\n", gf_strerror(st), gf_last_error());
    gf_tensor_free(x);
    gf_tensor_free(dy);
    gf_net_free(net);
    return g;
}

static int check(int ok, const char *what)
{
    printf("%-58s %s\n", what, ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    int failures = 0;
    double small = chain(0.6), big = chain(1.6);
    /* float: 15 roundings of a product, relative error below 15 * 2^-24 = 1e-6 */
    double tol = GF_REAL_IS_DOUBLE ? 1e-12 : 2e-6;

    printf("gradflow %s, gf_real %s\n", gf_version(), gf_real_name());
    printf("0.6^15 through 15 layers: %.6e (exact %.6e)\n", small, pow(0.6, 15));
    printf("1.6^15 through 15 layers: %.6e (exact %.6e)\n", big, pow(1.6, 15));
    failures += check(fabs(small - pow(0.6, 15)) <= tol * pow(0.6, 15), "0.6^15 = 4.7018e-4");
    failures += check(fabs(big - pow(1.6, 15)) <= tol * pow(1.6, 15), "1.6^15 = 1152.92");
    failures += check(strcmp(gf_real_name(), GF_REAL_NAME) == 0,
                      "library and headers agree on gf_real");
    failures += check(argc < 2 || strcmp(argv[1], gf_real_name()) == 0,
                      "gf_real is the expected type");
    failures += check(strcmp(gf_version(), GF_VERSION_STRING) == 0,
                      "library and headers agree on the version");

    /* A caller's mistake is a status and a message, read back through the library. */
    gf_status st = gf_net_add_linear(NULL, 1);
    failures += check(st == GF_EINVAL && gf_last_error()[0] != '\0',
                      "gf_net_add_linear(NULL) is GF_EINVAL with a message");
    printf("  (%s: %s)\n", gf_strerror(st), gf_last_error());
    return failures == 0 ? 0 : 1;
}
