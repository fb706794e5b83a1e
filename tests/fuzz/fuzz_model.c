/* tests/fuzz/fuzz_model.c: libFuzzer harness for the model-file loader. Each input is
 * loaded as it is (the magic, version and checksum checks) and again with its CRC-32
 * repaired, so that mutations reach the parser behind the checksum. A refused input must
 * leave a message and return nothing; an accepted one must save back to exactly the
 * bytes loaded and survive a forward pass and a training step. Built with libFuzzer by
 * run_fuzz.sh, and linked with replay_main.c into a normal CTest test. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gradflow.h"
#include "../../src/io/crc32.h" /* to forge checksums */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Forward, backward and one optimiser step on a 2-row batch when the network is small. */
static void exercise(gf_net *net, gf_optim *opt)
{
    size_t in = gf_net_in_features(net), out = gf_net_out_features(net);
    gf_tensor *x = NULL, *dy = NULL;
    gf_status st;
    for (size_t i = 0; i < gf_net_layer_count(net); i++)
        if (gf_net_layer(net, i)->out > 256)
            return;
    if (gf_net_layer_count(net) == 0 || in > 256 || out > 256)
        return;
    if (gf_tensor_new(&x, 2, in) != GF_OK || gf_tensor_new(&dy, 2, out) != GF_OK)
        abort();
    for (size_t i = 0; i < 2 * in; i++)
        x->data[i] = (gf_real)(0.25 * (double)(i % 7) - 0.5);
    for (size_t i = 0; i < 2 * out; i++)
        dy->data[i] = (gf_real)(i % 2 ? 0.5 : -1.0);
    if (gf_net_predict(net, NULL, x) != GF_OK || gf_net_forward(net, NULL, x) != GF_OK)
        abort();
    st = gf_net_backward_from(net, dy);
    if (st != GF_OK && st != GF_ENONFINITE)
        abort();
    if (st == GF_OK && opt != NULL && gf_net_param_count(net) > 0) {
        st = gf_net_step(net, opt);
        if (st != GF_OK && st != GF_ENONFINITE)
            abort();
    }
    gf_tensor_free(x);
    gf_tensor_free(dy);
}

static void check(const uint8_t *data, size_t size)
{
    gf_net *net = NULL;
    gf_optim *opt = NULL;
    gf_rng rng;
    void *again = NULL;
    size_t n = 0;
    int has_rng;
    gf_status st;

    gf_rng_seed(&rng, 1);
    gf_clear_error();
    st = gf_model_load_memory(&net, &opt, &rng, data, size);
    if (st != GF_OK) {
        if (net != NULL || opt != NULL || gf_last_error()[0] == '\0')
            abort();
        return;
    }
    /* Saving what was loaded gives the same bytes (same precision only: a float file
     * loaded by a double build is saved in double). */
    has_rng = (data[16] & 2) != 0;
    if (gf_model_save_memory(&again, &n, net, opt, has_rng ? &rng : NULL) != GF_OK)
        abort();
    if (data[12] == sizeof(gf_real) && (n != size || memcmp(again, data, size) != 0))
        abort();
    gf_free(again);
    exercise(net, opt);
    gf_optim_free(opt);
    gf_net_free(net);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *fixed;
    uint32_t crc;
    check(data, size);
    if (size < 60)
        return 0;
    fixed = malloc(size);
    if (fixed == NULL)
        return 0;
    memcpy(fixed, data, size);
    crc = gf_crc32(0, fixed, size - 4);
    for (int i = 0; i < 4; i++)
        fixed[size - 4 + i] = (uint8_t)(crc >> (8 * i));
    check(fixed, size);
    free(fixed);
    return 0;
}
