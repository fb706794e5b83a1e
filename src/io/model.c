/* src/io/model.c: the model-file container, format in docs/model-format.md. Save
 * serialises into one memory buffer (header, layer records, parameters, optimiser and
 * generator sections, CRC-32), then writes a unique temporary file beside path, fsyncs it
 * and renames it over path (io/file.c);
 * load reads the whole file and checks magic, version and CRC-32 before parsing a byte of
 * it, then builds the network through the engine's own constructors, so nothing
 * half-built escapes. Each layer's payload is its kind's codec's business: the registry
 * (gradflow/registry.h) supplies the built-in ones, beside each layer. Not here:
 * telemetry (CSV files), the network's options. */
#include <float.h>
#include <stdio.h>
#include <string.h>

#include "gradflow/model.h"
#include "gradflow/residual.h"
#include "core/internal.h"
#include "layers/codec.h"
#include "io/crc32.h"
#include "io/file.h"

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
/* The smallest layer record: a 1-byte kind, in, out, n_params, payload length. */
#define LAYER_MIN_BYTES (4u + 1u + 4u * 8u)
/* Version-1 residual blocks nest networks: at most this many blocks inside one another
 * (the reader recurses once per level). */
#define MAX_NESTING 8u

/* ---- Residual blocks --------------------------------------------------------------------
 * The container stores them itself, since a codec sees one layer and a block is a pair:
 * from version 2, skip_begin and skip_add records with no payload, paired as brackets
 * (skip_add's projection, when the block changes the width, is its P (out, n) and
 * p (1, out) in the parameter block). Version 1 held a block as one "residual" record
 * nesting a network F (payload: F's step count and layer count, u64 each, then F's layer
 * records); it is read and flattened into skip_begin, F's layers, skip_add, the very
 * layout of the parameters, so the parameter block reads as it is. Never written. */

static gf_status read_layer(gf_net *net, gf_reader *r, size_t i, size_t param_budget);

static int is_skip(const gf_layer *l) { return gf_layer_is_skip_begin(l) || gf_layer_is_skip_add(l); }

/* Layer i of net, a skip layer, can be stored: a skip_add closes the innermost open
 * block, which is how the loader pairs it. */
static gf_status skip_saveable(const gf_net *net, size_t i)
{
    const gf_layer *l = gf_net_layer(net, i);
    size_t begin = 0;
    if (gf_layer_is_skip_add(l) && (gf_net_skip_open_before(net, &begin, i) != GF_OK ||
                                    !gf_skip_closes(l, gf_net_layer(net, begin))))
        return gf_fail(GF_EUNSUPPORTED, "model: layer %zu (skip_add) closes a block that "
                       "does not nest in the others", i);
    return GF_OK;
}

static gf_status skip_decode(gf_net *net, const char *name, const gf_layer_record *h,
                             const gf_reader *r)
{
    size_t begin = 0, n, want = 0;
    int ok = 1;
    gf_rng rng;
    if (r->version < 2)
        return gf_fail(GF_EFORMAT, "model: layer %zu (%s) in a version %u file", h->index,
                       name, r->version);
    if (strcmp(name, "skip_begin") == 0) {
        if (h->in != h->out || h->n_params != 0)
            return gf_fail(GF_EFORMAT, "model: layer %zu (skip_begin) records %zu -> %zu "
                           "features and %zu parameters", h->index, h->in, h->out,
                           h->n_params);
        return gf_net_add_skip_begin(net);
    }
    if (gf_net_skip_open_before(net, &begin, gf_net_layer_count(net)) != GF_OK)
        return gf_fail(GF_EFORMAT, "model: layer %zu (skip_add) closes no open block",
                       h->index);
    n = gf_net_layer(net, begin)->out;
    if (n != h->in)
        want = gf_mul_size(h->in, n + 1, &ok);
    if (h->in != h->out || !ok || h->n_params != want)
        return gf_fail(GF_EFORMAT, "model: layer %zu (skip_add over %zu features) records "
                       "%zu -> %zu features and %zu parameters", h->index, n, h->in, h->out,
                       h->n_params);
    gf_rng_seed(&rng, 1); /* a projection is drawn, then replaced by the file's values */
    return gf_net_add_skip_add(net, &rng);
}

static gf_status v1_residual_decode(gf_net *net, const gf_layer_record *h, gf_reader *r)
{
    gf_net *inner = NULL;
    uint64_t step = 0, n_layers = 0;
    size_t projection = 0;
    gf_reader sub;
    gf_rng rng;
    gf_status st;
    if (r->version != 1)
        return gf_fail(GF_EFORMAT, "model: layer %zu is a nested residual block, which only "
                       "version 1 files hold", h->index);
    if ((st = gf_read_u64(r, &step, "residual inner step count")) != GF_OK ||
        (st = gf_read_u64(r, &n_layers, "residual inner layer count")) != GF_OK)
        return st;
    if (r->depth >= MAX_NESTING)
        return gf_fail(GF_EFORMAT, "model: layer %zu (residual) nests blocks more than %u "
                       "deep", h->index, MAX_NESTING);
    if (n_layers == 0 || n_layers > (r->len - r->pos) / LAYER_MIN_BYTES)
        return gf_fail(GF_EFORMAT, "model: layer %zu (residual) holds %llu layers in %zu "
                       "bytes", h->index, (unsigned long long)n_layers, r->len - r->pos);
    if (h->in != h->out) {
        int ok = 1;
        projection = gf_mul_size(h->out, h->in + 1, &ok);
        if (!ok || projection > h->n_params)
            return gf_fail(GF_EFORMAT, "model: layer %zu (residual %zu -> %zu) records %zu "
                           "parameters, fewer than its projection takes", h->index, h->in,
                           h->out, h->n_params);
    }
    if ((st = gf_net_new(&inner, h->in)) != GF_OK)
        return st;
    sub = *r;
    sub.depth = r->depth + 1;
    for (size_t i = 0; i < (size_t)n_layers && st == GF_OK; i++)
        st = read_layer(inner, &sub, i, h->n_params - projection - gf_net_param_count(inner));
    r->pos = sub.pos;
    if (st == GF_OK && (gf_net_out_features(inner) != h->out ||
                        gf_net_param_count(inner) + projection != h->n_params))
        st = gf_fail(GF_EFORMAT, "model: layer %zu (residual) records %zu outputs and %zu "
                     "parameters, its inner network gives %zu and takes %zu (+ %zu)",
                     h->index, h->out, h->n_params, gf_net_out_features(inner),
                     gf_net_param_count(inner), projection);
    if (st != GF_OK) {
        gf_net_free(inner);
        return st;
    }
    (void)step; /* F's own step counter: gone with F */
    gf_rng_seed(&rng, 1); /* the projection is drawn, then replaced by the file's values */
    return gf_net_add_residual(net, inner, &rng);
}

/* Skip layers have no payload: their kinds' codec writes nothing (the container reads
 * them, skip_decode). */
static gf_status skip_encode(gf_writer *w, const gf_layer *l)
{
    (void)w;
    (void)l;
    return GF_OK;
}

static const gf_layer_codec skip_codec = {skip_encode, NULL, NULL};
static const gf_layer_kind skip_begin_kind = {.name = "skip_begin", .ops = NULL, .codec = &skip_codec,
    .traits = 0};
static const gf_layer_kind skip_add_kind = {.name = "skip_add", .ops = NULL, .codec = &skip_codec,
    .traits = 0};

/* The kinds the container handles itself. */
static int container_kind(const char *name)
{
    return strcmp(name, "skip_begin") == 0 || strcmp(name, "skip_add") == 0 ||
           strcmp(name, "residual") == 0;
}

/* ---- Which kind stores a layer ----------------------------------------------------------
 * A built-in kind (the registry), a residual block, or a kind of the caller's own: its
 * ops carry the codec (saving) and the caller names it (gf_model_load_with). */

/* The kind that saves l, into *out; GF_EUNSUPPORTED naming the kind when none can. */
static gf_status kind_to_save(gf_layer_kind *out, const gf_layer *l, size_t i)
{
    const gf_layer_kind *builtin = gf_layer_kind_of(l->ops);
    const char *name = l->ops != NULL && l->ops->name != NULL ? l->ops->name : "(none)";
    if (builtin != NULL) {
        *out = *builtin;
        return GF_OK;
    }
    if (is_skip(l)) {
        *out = gf_layer_is_skip_begin(l) ? skip_begin_kind : skip_add_kind;
        return GF_OK;
    }
    if (l->ops == NULL || l->ops->codec == NULL)
        return gf_fail(GF_EUNSUPPORTED, "model: layer %zu has kind '%.64s', which has no "
                       "model-file codec: give its gf_layer_ops a .codec (docs/model-format.md, "
                       "\"Adding a layer kind\")", i, name);
    if (!gf_name_is_valid(name) || gf_layer_kind_find(name) != NULL || container_kind(name))
        return gf_fail(GF_EUNSUPPORTED, "model: layer %zu has kind '%.64s': a kind of your own "
                       "needs a name of 1 to %u characters [A-Za-z0-9_.-] that no built-in "
                       "kind has", i, name, GF_NAME_MAX);
    *out = (gf_layer_kind){.name = name, .ops = l->ops, .codec = l->ops->codec};
    return GF_OK;
}

/* The kind a record names: built-in or one of the caller's; NULL when none (the
 * container's own kinds are handled before this is asked). */
static const gf_layer_kind *kind_to_load(gf_layer_kind *own, const char *name,
                                         const gf_reader *r)
{
    const gf_layer_kind *builtin = gf_layer_kind_find(name);
    if (builtin != NULL)
        return builtin;
    for (size_t k = 0; k < r->n_own; k++)
        if (strcmp(r->own[k]->name, name) == 0) {
            *own = (gf_layer_kind){.name = name, .ops = r->own[k], .codec = r->own[k]->codec};
            return own;
        }
    return NULL;
}

/* "linear, activation, ..., skip_add": the kinds this build loads without help. */
static void known_kinds(char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t k = 0; k < gf_layer_kind_count() && len < cap; k++)
        len += (size_t)snprintf(out + len, cap - len, "%s, ", gf_layer_kind_at(k)->name);
    if (len < cap)
        snprintf(out + len, cap - len, "skip_begin, skip_add");
}

/* ---- Layer records ----------------------------------------------------------------------
 * Every layer is one record: its kind, in, out and parameter count, then its payload
 * (u64 length, then what the kind's codec writes). */

static gf_status write_layers(gf_writer *w, const gf_net *net)
{
    for (size_t i = 0; i < gf_net_layer_count(net); i++) {
        const gf_layer *l = gf_net_layer(net, i);
        gf_layer_kind kind = {0};
        size_t at;
        gf_status st = kind_to_save(&kind, l, i);
        if (st == GF_OK && is_skip(l))
            st = skip_saveable(net, i);
        if (st != GF_OK)
            return st;
        gf_write_name(w, kind.name);
        gf_write_u64(w, l->in);
        gf_write_u64(w, l->out);
        gf_write_u64(w, l->n_params);
        gf_write_u64(w, 0); /* the payload's length, patched below */
        at = w->len;
        w->layer = i;
        if ((st = kind.codec->encode(w, l)) != GF_OK)
            return st;
        if (!w->failed)
            gf_put_u64(w->p + at - 8, (uint64_t)(w->len - at));
    }
    return w->failed ? GF_ENOMEM : GF_OK;
}

/* A constructor's failure on values read from the file is the file's fault: GF_EFORMAT
 * with the constructor's message; running out of memory stays GF_ENOMEM, and what the
 * decoders themselves judged (EFORMAT, EUNSUPPORTED) passes through. */
static gf_status as_format_error(gf_status st, const char *where)
{
    char inner[400];
    if (st == GF_OK || st == GF_ENOMEM || st == GF_EFORMAT || st == GF_EUNSUPPORTED)
        return st;
    snprintf(inner, sizeof inner, "%s", gf_last_error());
    return gf_fail(GF_EFORMAT, "model: %s: %s", where, inner);
}

/* Decode the record h of kind k from the payload sub and append the layer to net. */
static gf_status decode_layer(gf_net *net, const gf_layer_kind *k, const gf_layer_record *h,
                              gf_reader *sub, const char *where)
{
    gf_layer l;
    gf_status st;
    memset(&l, 0, sizeof l);
    if ((st = as_format_error(k->codec->decode(&l, h, sub), where)) != GF_OK)
        return st;
    /* The decoder must have made exactly the layer the record describes. */
    if ((k->ops != NULL && l.ops != k->ops && l.ops != k->fast_ops) || l.in != h->in || l.out != h->out ||
        l.n_params != h->n_params) {
        gf_layer_release(&l);
        return gf_fail(GF_EFORMAT, "model: %s does not match its record (%zu -> %zu, %zu "
                       "parameters)", where, h->in, h->out, h->n_params);
    }
    if ((st = as_format_error(gf_net_add_layer(net, &l), where)) != GF_OK)
        return st;
    if (k->codec->restore != NULL) {
        gf_layer *last = gf_net_layer_mut(net, gf_net_layer_count(net) - 1);
        st = as_format_error(k->codec->restore(last, sub), where);
    }
    return st;
}

/* A residual record (skip_begin, skip_add, or a version-1 block) at r's position, with
 * a payload of `payload` bytes: appended to net, and checked against its record. */
static gf_status read_container_layer(gf_net *net, gf_reader *r, const char *name,
                                      const gf_layer_record *h, size_t payload,
                                      size_t param_budget)
{
    size_t before_layers = gf_net_layer_count(net), before_params = gf_net_param_count(net);
    const gf_layer *last;
    gf_reader sub;
    gf_status st;
    if (h->in != gf_net_out_features(net))
        return gf_fail(GF_EFORMAT, "model: layer %zu (%s) takes %zu inputs, the layer before "
                       "gives %zu", h->index, name, h->in, gf_net_out_features(net));
    if (h->out == 0 || h->n_params > param_budget)
        return gf_fail(GF_EFORMAT, "model: layer %zu (%s) has %zu outputs and %zu parameters "
                       "(%zu left in the block)", h->index, name, h->out, h->n_params,
                       param_budget);
    sub = *r;
    sub.len = r->pos + payload;
    st = strcmp(name, "residual") == 0 ? v1_residual_decode(net, h, &sub)
                                       : skip_decode(net, name, h, &sub);
    if (st != GF_OK)
        return as_format_error(st, name);
    /* The records must describe what was added (a version-1 block adds its layers). */
    last = gf_net_layer(net, gf_net_layer_count(net) - 1);
    if (gf_net_layer_count(net) <= before_layers || last == NULL || last->out != h->out ||
        gf_net_param_count(net) - before_params != h->n_params)
        return gf_fail(GF_EFORMAT, "model: layer %zu (%s) does not match its record (%zu "
                       "outputs, %zu parameters)", h->index, name, h->out, h->n_params);
    if (sub.pos != sub.len)
        return gf_fail(GF_EFORMAT, "model: layer %zu (%s) payload has %zu unread bytes",
                       h->index, name, sub.len - sub.pos);
    r->pos = sub.pos;
    return GF_OK;
}

/* Read layer record i and append the layer it describes to net. */
static gf_status read_layer(gf_net *net, gf_reader *r, size_t i, size_t param_budget)
{
    char name[GF_NAME_MAX + 1], where[96], known[160];
    const gf_layer_kind *kind;
    gf_layer_kind own;
    gf_layer_record h = {i, 0, 0, 0};
    size_t payload = 0, width = gf_net_out_features(net);
    gf_reader sub;
    gf_status st;

    if ((st = gf_read_name(r, name, "layer kind")) != GF_OK ||
        (st = gf_read_count(r, &h.in, "layer in")) != GF_OK ||
        (st = gf_read_count(r, &h.out, "layer out")) != GF_OK ||
        (st = gf_read_count(r, &h.n_params, "layer parameter count")) != GF_OK ||
        (st = gf_read_count(r, &payload, "layer payload length")) != GF_OK ||
        (st = gf_read_need(r, payload, "layer payload")) != GF_OK)
        return st;
    if (container_kind(name))
        return read_container_layer(net, r, name, &h, payload, param_budget);
    if ((kind = kind_to_load(&own, name, r)) == NULL) {
        known_kinds(known, sizeof known);
        return gf_fail(GF_EUNSUPPORTED, "model: layer %zu has kind '%s', which this build "
                       "cannot load (known: %s; a kind of your own loads with "
                       "gf_model_load_with)", i, name, known);
    }
    if (h.in != width)
        return gf_fail(GF_EFORMAT, "model: layer %zu (%s) takes %zu inputs, the layer before "
                       "gives %zu", i, name, h.in, width);
    if (h.out == 0 || h.n_params > param_budget)
        return gf_fail(GF_EFORMAT, "model: layer %zu (%s) has %zu outputs and %zu parameters "
                       "(%zu left in the block)", i, name, h.out, h.n_params, param_budget);
    sub = *r;
    sub.len = r->pos + payload;
    snprintf(where, sizeof where, "layer %zu (%s)", i, name);
    if ((st = decode_layer(net, kind, &h, &sub, where)) != GF_OK)
        return st;
    if (sub.pos != sub.len)
        return gf_fail(GF_EFORMAT, "model: layer %zu (%s) payload has %zu unread bytes", i,
                       name, sub.len - sub.pos);
    r->pos = sub.pos;
    return GF_OK;
}

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

/* Version 1 readers can read a network without residual blocks, so such a network is
 * written as version 1, byte for byte as before; one with skip layers needs version 2. */
static uint32_t file_version(const gf_net *net)
{
    for (size_t i = 0; i < gf_net_layer_count(net); i++)
        if (is_skip(gf_net_layer(net, i)))
            return GF_MODEL_VERSION;
    return 1;
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
    gf_write_u32(&w, file_version(net));
    gf_write_u32(&w, (uint32_t)sizeof(gf_real));
    gf_write_u32(&w, flags);
    gf_write_u32(&w, 0);
    gf_write_u64(&w, gf_net_in_features(net));
    gf_write_u64(&w, gf_net_step_count(net));
    gf_write_u64(&w, gf_net_layer_count(net));
    gf_write_u64(&w, n_params);

    /* Layer records, parameters, optional sections, checksum. A layer that cannot be
     * stored stops here: nothing was written anywhere but this buffer. */
    st = write_layers(&w, net);
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
    if (n_layers > (r->len - r->pos) / LAYER_MIN_BYTES)
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
    if ((st = as_format_error(gf_optim_new(&o, &c, n), "optimiser")) != GF_OK)
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

/* The caller's own kinds: each with a valid name no built-in kind has, and a codec. */
static gf_status check_own_kinds(const gf_layer_ops *const *own, size_t n_own, const char *who)
{
    if (own == NULL && n_own > 0)
        return gf_fail(GF_EINVAL, "%s: kinds is NULL", who);
    for (size_t k = 0; k < n_own; k++) {
        const char *name = own[k] != NULL ? own[k]->name : NULL;
        if (own[k] == NULL || own[k]->codec == NULL || own[k]->codec->decode == NULL)
            return gf_fail(GF_EINVAL, "%s: kinds[%zu] (%.64s) has no codec to decode with",
                           who, k, name != NULL ? name : "NULL");
        if (!gf_name_is_valid(name) || gf_layer_kind_find(name) != NULL || container_kind(name))
            return gf_fail(GF_EINVAL, "%s: kinds[%zu] is named '%.64s': a kind of your own "
                           "needs a name of 1 to %u characters [A-Za-z0-9_.-] that no "
                           "built-in kind has", who, k, name != NULL ? name : "", GF_NAME_MAX);
    }
    return GF_OK;
}

/* The network, then the optional sections, from r positioned after the header h. */
static gf_status read_body(gf_net **net, gf_optim **opt, gf_rng *rng, gf_reader *r,
                           const header *h)
{
    gf_net *n = NULL;
    gf_status st = as_format_error(gf_net_new(&n, h->in_features), "network");
    for (size_t i = 0; i < h->n_layers && st == GF_OK; i++)
        st = read_layer(n, r, i, h->n_params - gf_net_param_count(n));
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
    if ((st = check_own_kinds(own, n_own, who)) != GF_OK ||
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
    if ((st = gf_file_read_all(&data, &size, path, "gf_model_load")) != GF_OK)
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
