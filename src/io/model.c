/* src/io/model.c: the model-file container, format in docs/model-format.md. Save
 * serialises into one memory buffer (header, layer records, parameters, optimiser and
 * generator sections, CRC-32), then writes a unique temporary file beside path, fsyncs it
 * and renames it over path (io/file.c);
 * load reads the whole file and checks magic, version and CRC-32 before parsing a byte of
 * it, then builds the network through the engine's own constructors, so nothing
 * half-built escapes. Each layer's payload is its kind's codec's business: the registry
 * (gradflow/registry.h) supplies the built-in ones, beside each layer; the layer records
 * and residual blocks are io/model_layers.c. Not here: telemetry (CSV files), the
 * network's options. */
#define _POSIX_C_SOURCE 200809L /* stat */
#include <float.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "gradflow/model.h"
#include "gradflow/residual.h"
#include "core/internal.h"
#include "layers/codec.h"
#include "io/crc32.h"
#include "io/file.h"
#include "io/model_layers.h"

/* Reals are stored as their IEEE-754 binary32/binary64 bit patterns. */
#if FLT_MANT_DIG != 24 || DBL_MANT_DIG != 53
#error "gradflow model files need IEEE-754 float and double"
#endif

static const unsigned char magic[8] = {'G', 'F', 'M', 'O', 'D', 'E', 'L', '\0'};

#define HEADER_BYTES 56u  /* magic, version, real size, flags, reserved, 4 x u64 */
#define CRC_BYTES 4u
#define FLAG_OPTIM 1u     /* an optimiser section follows the parameters */
#define FLAG_RNG 2u       /* a generator section follows */
#define FLAGS_KNOWN (FLAG_OPTIM | FLAG_RNG)

/* ---- Save ---------------------------------------------------------------------------- */

/* The optimiser's section: its configuration, step count, size and state slots. */
static void write_optim(gf_writer *w, const gf_optim *opt, size_t n_params)
{
    const gf_optim_config *c = gf_optim_config_of(opt);
    uint32_t nslots = 0;
    gf_write_name(w, gf_optim_name(c->kind));
    gf_write_f64(w, c->lr);
    gf_write_f64(w, c->momentum);
    gf_write_f64(w, c->beta1);
    gf_write_f64(w, c->beta2);
    gf_write_f64(w, c->eps);
    gf_write_f64(w, c->weight_decay);
    gf_write_u64(w, gf_optim_steps(opt));
    gf_write_u64(w, n_params);
    while (nslots < 2 && gf_optim_state(opt, NULL, (int)nslots) != NULL)
        nslots++;
    gf_write_u32(w, nslots);
    for (uint32_t s = 0; s < nslots; s++)
        gf_write_reals(w, gf_optim_state(opt, NULL, (int)s), n_params);
}

static void write_rng(gf_writer *w, const gf_rng *rng)
{
    for (int i = 0; i < 4; i++)
        gf_write_u64(w, rng->s[i]);
    gf_write_u32(w, rng->has_spare ? 1u : 0u);
    gf_write_f64(w, rng->spare);
}

/* The optimiser must fit the network: GF_ESHAPE / GF_EINVAL otherwise. */
static gf_status check_optim(const gf_optim *opt, size_t n_params, const char *who)
{
    size_t n_state = 0;
    if (n_params == 0)
        return gf_fail(GF_ESHAPE, "%s: the network has no parameters for the optimiser", who);
    /* SGD keeps no state, so its size cannot be checked (nor does it matter). */
    if (gf_optim_state(opt, &n_state, 0) != NULL && n_state != n_params)
        return gf_fail(GF_ESHAPE, "%s: the optimiser was made for %zu parameters, the "
                       "network has %zu", who, n_state, n_params);
    if (gf_optim_name(gf_optim_config_of(opt)->kind) == NULL)
        return gf_fail(GF_EINVAL, "%s: the optimiser has an unknown kind", who);
    return GF_OK;
}

gf_status gf_model_save_memory(void **data, size_t *size, const gf_net *net,
                               const gf_optim *opt, const gf_rng *rng)
{
    static const char who[] = "gf_model_save";
    size_t n_params;
    gf_writer w = {NULL, 0, 0, 0, 0, 0};
    gf_status st;
    uint32_t flags = (opt != NULL ? FLAG_OPTIM : 0u) | (rng != NULL ? FLAG_RNG : 0u);

    GF_CHECK_NOT_NULL(data, who);
    GF_CHECK_NOT_NULL(size, who);
    *data = NULL;
    *size = 0;
    GF_CHECK_NOT_NULL(net, who);
    n_params = gf_net_param_count(net);
    if (opt != NULL && (st = check_optim(opt, n_params, who)) != GF_OK)
        return st;

    /* Header. */
    if (gf_writer_room(&w, sizeof magic) != NULL)
        memcpy(w.p, magic, sizeof magic);
    gf_write_u32(&w, gf_model_layers_version(net));
    gf_write_u32(&w, (uint32_t)sizeof(gf_real));
    gf_write_u32(&w, flags);
    gf_write_u32(&w, 0);
    gf_write_u64(&w, gf_net_in_features(net));
    gf_write_u64(&w, gf_net_step_count(net));
    gf_write_u64(&w, gf_net_layer_count(net));
    gf_write_u64(&w, n_params);

    /* Layer records, parameters, optional sections, checksum. A layer that cannot be
     * stored stops here: nothing was written anywhere but this buffer. */
    st = gf_model_write_layers(&w, net);
    if (st != GF_OK && st != GF_ENOMEM) {
        gf_free(w.p);
        return st;
    }
    gf_write_reals(&w, gf_net_params(net), n_params);
    if (opt != NULL)
        write_optim(&w, opt, n_params);
    if (rng != NULL)
        write_rng(&w, rng);
    if (!w.failed)
        gf_write_u32(&w, gf_crc32(0, w.p, w.len));
    if (w.failed) {
        gf_free(w.p);
        return gf_fail(GF_ENOMEM, "%s: out of memory serialising %zu parameters", who,
                       n_params);
    }
    *data = w.p;
    *size = w.len;
    return GF_OK;
}

gf_status gf_model_save(const char *path, const gf_net *net, const gf_optim *opt,
                        const gf_rng *rng)
{
    void *data = NULL;
    size_t size = 0;
    gf_status st;
    GF_CHECK_NOT_NULL(path, "gf_model_save");
    if (path[0] == '\0')
        return gf_fail(GF_EINVAL, "gf_model_save: path is empty");
    st = gf_model_save_memory(&data, &size, net, opt, rng);
    if (st != GF_OK)
        return st;
    st = gf_file_write_atomic(path, data, size, "gf_model_save");
    gf_free(data);
    return st;
}

/* ---- Load ---------------------------------------------------------------------------- */

/* The fixed header after magic and version, and the checks that need only it. */
typedef struct header {
    uint32_t version, real_size, flags;
    size_t in_features, n_layers, n_params;
    uint64_t step;
} header;

static gf_status read_header(header *h, gf_reader *r)
{
    uint32_t reserved = 0;
    uint64_t n_layers = 0;
    gf_status st;
    r->pos = sizeof magic;
    if ((st = gf_read_u32(r, &h->version, "version")) != GF_OK ||
        (st = gf_read_u32(r, &h->real_size, "real size")) != GF_OK ||
        (st = gf_read_u32(r, &h->flags, "flags")) != GF_OK ||
        (st = gf_read_u32(r, &reserved, "reserved")) != GF_OK ||
        (st = gf_read_count(r, &h->in_features, "in_features")) != GF_OK ||
        (st = gf_read_u64(r, &h->step, "step count")) != GF_OK ||
        (st = gf_read_u64(r, &n_layers, "layer count")) != GF_OK ||
        (st = gf_read_count(r, &h->n_params, "parameter count")) != GF_OK)
        return st;
    if (h->real_size != 4 && h->real_size != 8)
        return gf_fail(GF_EFORMAT, "model: real size %lu (4 for float, 8 for double)",
                       (unsigned long)h->real_size);
    if (h->real_size > sizeof(gf_real))
        return gf_fail(GF_EUNSUPPORTED, "model: the file stores double-precision values and "
                       "this build's gf_real is float: loading would round them (load it "
                       "with a build configured -DGRADFLOW_REAL=double)");
    if ((h->flags & ~FLAGS_KNOWN) != 0 || reserved != 0)
        return gf_fail(GF_EFORMAT, "model: unknown flags 0x%lx or reserved field 0x%lx set",
                       (unsigned long)h->flags, (unsigned long)reserved);
    if (h->in_features == 0)
        return gf_fail(GF_EFORMAT, "model: in_features is 0");
    /* Every count is bounded by the bytes that would hold it, before any allocation. */
    if (n_layers > (r->len - r->pos) / GF_LAYER_MIN_BYTES)
        return gf_fail(GF_EFORMAT, "model: %llu layers cannot fit in the %zu bytes left",
                       (unsigned long long)n_layers, r->len - r->pos);
    h->n_layers = (size_t)n_layers;
    if (h->n_params > (r->len - r->pos) / h->real_size)
        return gf_fail(GF_EFORMAT, "model: %zu parameters cannot fit in the %zu bytes left",
                       h->n_params, r->len - r->pos);
    return GF_OK;
}

/* The optimiser section: a new optimiser for n_params parameters. */
static gf_status read_optim(gf_optim **out, gf_reader *r, size_t n_params)
{
    char name[GF_NAME_MAX + 1];
    gf_optim_config c;
    gf_optim *o = NULL;
    gf_optim_kind kind;
    uint64_t steps = 0;
    size_t n = 0;
    uint32_t nslots = 0;
    gf_status st;

    *out = NULL;
    if ((st = gf_read_name(r, name, "optimiser kind")) != GF_OK)
        return st;
    if (gf_optim_from_name(&kind, name) != GF_OK)
        return gf_fail(GF_EUNSUPPORTED, "model: the optimiser '%s' is not known to this "
                       "build", name);
    c = gf_optim_default(kind);
    if ((st = gf_read_f64(r, &c.lr, "optimiser lr")) != GF_OK ||
        (st = gf_read_f64(r, &c.momentum, "optimiser momentum")) != GF_OK ||
        (st = gf_read_f64(r, &c.beta1, "optimiser beta1")) != GF_OK ||
        (st = gf_read_f64(r, &c.beta2, "optimiser beta2")) != GF_OK ||
        (st = gf_read_f64(r, &c.eps, "optimiser eps")) != GF_OK ||
        (st = gf_read_f64(r, &c.weight_decay, "optimiser weight decay")) != GF_OK ||
        (st = gf_read_u64(r, &steps, "optimiser steps")) != GF_OK ||
        (st = gf_read_count(r, &n, "optimiser size")) != GF_OK ||
        (st = gf_read_u32(r, &nslots, "optimiser slot count")) != GF_OK)
        return st;
    if (n != n_params)
        return gf_fail(GF_EFORMAT, "model: the optimiser has %zu parameters, the network %zu",
                       n, n_params);
    if (nslots > 2 || (size_t)nslots * n > (r->len - r->pos) / r->real_size)
        return gf_fail(GF_EFORMAT, "model: optimiser state of %lu x %zu values does not fit "
                       "in the %zu bytes left", (unsigned long)nslots, n, r->len - r->pos);
    if ((st = gf_model_format_error(gf_optim_new(&o, &c, n), "optimiser")) != GF_OK)
        return st;
    for (uint32_t s = 0; s < 2 && st == GF_OK; s++) {
        size_t n_state = 0;
        gf_real *state = gf_optim_state_mut(o, &n_state, (int)s);
        if ((state != NULL) != (s < nslots))
            st = gf_fail(GF_EFORMAT, "model: the %s optimiser keeps a different number of "
                         "state slots than the file's %lu", name, (unsigned long)nslots);
        else if (state != NULL)
            st = gf_read_reals(r, state, n_state, "optimiser state");
    }
    if (st != GF_OK) {
        gf_optim_free(o);
        return st;
    }
    gf_optim_set_steps(o, steps);
    *out = o;
    return GF_OK;
}

static gf_status read_rng(gf_rng *rng, gf_reader *r)
{
    uint32_t has_spare = 0;
    gf_status st = GF_OK;
    for (int i = 0; i < 4 && st == GF_OK; i++)
        st = gf_read_u64(r, &rng->s[i], "generator state");
    if (st == GF_OK)
        st = gf_read_u32(r, &has_spare, "generator spare flag");
    if (st == GF_OK)
        st = gf_read_f64(r, &rng->spare, "generator spare");
    if (st != GF_OK)
        return st;
    if ((rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]) == 0 || has_spare > 1)
        return gf_fail(GF_EFORMAT, "model: invalid generator state (all zero, or spare flag "
                       "%lu)", (unsigned long)has_spare);
    rng->has_spare = (int)has_spare;
    return GF_OK;
}

/* Magic, version, size and checksum, before a byte is parsed: a foreign, newer or
 * corrupted file is named as such. */
static gf_status check_envelope(const unsigned char *data, size_t size, uint32_t *version)
{
    uint32_t stored, computed;
    if (size >= sizeof magic ? memcmp(data, magic, sizeof magic) != 0
                             : size == 0 || memcmp(data, magic, size) != 0)
        return gf_fail(GF_EFORMAT, "model: not a gradflow model file (no GFMODEL magic)");
    if (size < sizeof magic + 4)
        return gf_fail(GF_EFORMAT, "model: truncated: %zu bytes", size);
    *version = gf_get_u32(data + sizeof magic);
    if (*version == 0)
        return gf_fail(GF_EFORMAT, "model: format version 0 is invalid");
    if (*version > GF_MODEL_VERSION)
        return gf_fail(GF_EUNSUPPORTED, "model: format version %lu is newer than this build "
                       "reads (up to %u): upgrade gradflow", (unsigned long)*version,
                       GF_MODEL_VERSION);
    if (size < HEADER_BYTES + CRC_BYTES)
        return gf_fail(GF_EFORMAT, "model: truncated: %zu bytes, the header alone takes %u",
                       size, HEADER_BYTES + CRC_BYTES);
    /* The checksum covers every byte: nothing is parsed from a corrupted file. */
    stored = gf_get_u32(data + size - CRC_BYTES);
    computed = gf_crc32(0, data, size - CRC_BYTES);
    if (stored != computed)
        return gf_fail(GF_EFORMAT, "model: checksum mismatch (stored 0x%08lx, computed "
                       "0x%08lx): the file is corrupted or truncated",
                       (unsigned long)stored, (unsigned long)computed);
    return GF_OK;
}

/* The network, then the optional sections, from r positioned after the header h. */
static gf_status read_body(gf_net **net, gf_optim **opt, gf_rng *rng, gf_reader *r,
                           const header *h)
{
    gf_net *n = NULL;
    gf_status st = gf_model_format_error(gf_net_new(&n, h->in_features), "network");
    for (size_t i = 0; i < h->n_layers && st == GF_OK; i++)
        st = gf_model_read_layer(n, r, i, h->n_params - gf_net_param_count(n));
    if (st == GF_OK && gf_net_param_count(n) != h->n_params)
        st = gf_fail(GF_EFORMAT, "model: the layers take %zu parameters, the header says %zu",
                     gf_net_param_count(n), h->n_params);
    if (st == GF_OK)
        st = gf_read_reals(r, gf_net_params_mut(n), h->n_params, "parameters");
    if (st == GF_OK && (h->flags & FLAG_OPTIM))
        st = read_optim(opt, r, h->n_params);
    if (st == GF_OK && (h->flags & FLAG_RNG))
        st = read_rng(rng, r);
    if (st == GF_OK && r->pos != r->len)
        st = gf_fail(GF_EFORMAT, "model: %zu bytes of unknown data after the last section",
                     r->len - r->pos);
    if (st != GF_OK) {
        gf_optim_free(*opt);
        *opt = NULL;
        gf_net_free(n);
        return st;
    }
    gf_net_set_step_count(n, h->step);
    *net = n;
    return GF_OK;
}

gf_status gf_model_load_memory_with(gf_net **net, gf_optim **opt, gf_rng *rng,
                                    const void *data, size_t size,
                                    const gf_layer_ops *const *own, size_t n_own)
{
    static const char who[] = "gf_model_load";
    gf_reader r = {data, size, 0, 4, size, 0, own, n_own, 0};
    header h;
    gf_optim *o = NULL;
    gf_rng g;
    gf_status st;

    GF_CHECK_NOT_NULL(net, who);
    *net = NULL;
    if (opt != NULL)
        *opt = NULL;
    if (data == NULL && size > 0)
        return gf_fail(GF_EINVAL, "%s: data is NULL", who);
    if ((st = gf_model_check_own_kinds(own, n_own, who)) != GF_OK ||
        (st = check_envelope(data, size, &h.version)) != GF_OK)
        return st;
    r.len = size - CRC_BYTES;
    if ((st = read_header(&h, &r)) != GF_OK)
        return st;
    r.real_size = h.real_size;
    r.version = h.version;
    if ((st = read_body(net, &o, &g, &r, &h)) != GF_OK)
        return st;
    if (opt != NULL)
        *opt = o;
    else
        gf_optim_free(o);
    if (rng != NULL && (h.flags & FLAG_RNG))
        *rng = g;
    return GF_OK;
}

gf_status gf_model_load_memory(gf_net **net, gf_optim **opt, gf_rng *rng, const void *data,
                               size_t size)
{
    return gf_model_load_memory_with(net, opt, rng, data, size, NULL, 0);
}

/* Only a regular file within the memory limit is read: a device (/dev/zero) or a pipe
 * would be read until memory ran out. A path that cannot be stat'ed is left to the
 * reader, which says why it cannot open it. */
static gf_status check_model_file(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return GF_OK;
    if (!S_ISREG(sb.st_mode))
        return gf_fail(GF_EIO, "gf_model_load: '%.200s' is not a regular file", path);
    if ((uintmax_t)sb.st_size > (uintmax_t)gf_memory_limit())
        return gf_fail(GF_ENOMEM, "gf_model_load: '%.200s' holds %jd bytes, more than the "
                       "memory limit of %zu bytes", path, (intmax_t)sb.st_size,
                       gf_memory_limit());
    return GF_OK;
}

gf_status gf_model_load_with(gf_net **net, gf_optim **opt, gf_rng *rng, const char *path,
                             const gf_layer_ops *const *own, size_t n_own)
{
    unsigned char *data;
    size_t size;
    gf_status st;
    GF_CHECK_NOT_NULL(net, "gf_model_load");
    *net = NULL;
    if (opt != NULL)
        *opt = NULL;
    GF_CHECK_NOT_NULL(path, "gf_model_load");
    if ((st = check_model_file(path)) != GF_OK ||
        (st = gf_file_read_all(&data, &size, path, "gf_model_load")) != GF_OK)
        return st;
    st = gf_model_load_memory_with(net, opt, rng, data, size, own, n_own);
    if (st != GF_OK && st != GF_ENOMEM && st != GF_EINVAL) {
        /* Name the file: the loader's message says what, this says where. */
        char inner[400];
        snprintf(inner, sizeof inner, "%s", gf_last_error());
        st = gf_fail(st, "%s: '%.200s': %s", "gf_model_load", path, inner);
    }
    gf_free(data);
    return st;
}

gf_status gf_model_load(gf_net **net, gf_optim **opt, gf_rng *rng, const char *path)
{
    return gf_model_load_with(net, opt, rng, path, NULL, 0);
}
