/* tests/fuzz/fuzz_model.c: libFuzzer harness for the model-file loader. Each input is
 * loaded as it is (the magic, version and checksum checks) and again with its CRC-32
 * repaired, so that mutations reach the parser behind the checksum. A refused input must
 * leave a message and return nothing; an accepted one must save back to the bytes loaded
 * (but for the version, see check), load -> save -> load -> save must give the first
 * save's bytes again and the same parameters, and the network must survive a forward
 * pass and a training step. Built with libFuzzer by run_fuzz.sh, and linked with
 * replay_main.c into a normal CTest test. */
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

/* The u32 at offset 8: the format version the file names. */
static uint32_t version_of(const uint8_t *d)
{
    return (uint32_t)d[8] | (uint32_t)d[9] << 8 | (uint32_t)d[10] << 16 | (uint32_t)d[11] << 24;
}

/* Saving is a fixed point: what a save wrote loads, to the same parameters, and saves
 * again to the same bytes. */
static void resave_is_stable(const void *saved, size_t n, const gf_net *net)
{
    const uint8_t *b = saved;
    gf_net *net2 = NULL;
    gf_optim *opt2 = NULL;
    gf_rng rng2;
    void *again = NULL;
    size_t n2 = 0;
    gf_rng_seed(&rng2, 1);
    if (gf_model_load_memory(&net2, &opt2, &rng2, saved, n) != GF_OK)
        abort();
    if (gf_net_param_count(net2) != gf_net_param_count(net) ||
        gf_net_layer_count(net2) != gf_net_layer_count(net) ||
        (gf_net_param_count(net) > 0 &&
         memcmp(gf_net_params(net2), gf_net_params(net),
                gf_net_param_count(net) * sizeof(gf_real)) != 0))
        abort();
    if (gf_model_save_memory(&again, &n2, net2, opt2, (b[16] & 2) ? &rng2 : NULL) != GF_OK)
        abort();
    if (n2 != n || memcmp(again, saved, n) != 0)
        abort();
    gf_free(again);
    gf_optim_free(opt2);
    gf_net_free(net2);
}

static void check(const uint8_t *data, size_t size)
{
    gf_net *net = NULL;
    gf_optim *opt = NULL;
    gf_rng rng;
    uint8_t *again = NULL;
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
    has_rng = (data[16] & 2) != 0;
    if (gf_model_save_memory((void **)&again, &n, net, opt, has_rng ? &rng : NULL) != GF_OK)
        abort();
    /* Saving what was loaded gives the same bytes, in the same precision (a float file
     * loaded by a double build is saved in double) and when the save writes the version
     * the file names. A save writes the oldest version that holds the network (version 1
     * without residual blocks, so that old readers read it): a version-2 file of version-1
     * layers saves as version 1, the same bytes but the version and the checksum. A
     * version-1 file of nested blocks saves flattened, as version 2: no byte check. */
    if (data[12] == sizeof(gf_real)) {
        uint32_t v_in = version_of(data), v_out = version_of(again);
        if (v_out == v_in && (n != size || memcmp(again, data, size) != 0))
            abort();
        if (v_out < v_in && (n != size || memcmp(again, data, 8) != 0 ||
                             memcmp(again + 12, data + 12, size - 16) != 0))
            abort();
    }
    resave_is_stable(again, n, net);
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
