/* src/io/model_layers.c: the layer records of a model file (io/model.c is the container
 * around them): which kind stores each layer, its record (kind, in, out, parameter
 * count, payload written by the kind's codec), and residual blocks, which the container
 * stores itself (skip_begin/skip_add records; version 1's nested "residual" record is
 * read and flattened). Format in docs/model-format.md. */
#include <stdio.h>
#include <string.h>

#include "gradflow/model.h"
#include "gradflow/residual.h"
#include "core/internal.h"
#include "layers/codec.h"
#include "io/model_layers.h"

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
    if (n_layers == 0 || n_layers > (r->len - r->pos) / GF_LAYER_MIN_BYTES)
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
        st = gf_model_read_layer(inner, &sub, i,
                                 h->n_params - projection - gf_net_param_count(inner));
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

/* The caller's own kinds: each with a valid name no built-in kind has, and a codec. */
gf_status gf_model_check_own_kinds(const gf_layer_ops *const *own, size_t n_own,
                                   const char *who)
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

/* ---- Layer records ----------------------------------------------------------------------
 * Every layer is one record: its kind, in, out and parameter count, then its payload
 * (u64 length, then what the kind's codec writes). */

gf_status gf_model_write_layers(gf_writer *w, const gf_net *net)
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
gf_status gf_model_format_error(gf_status st, const char *where)
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
    if ((st = gf_model_format_error(k->codec->decode(&l, h, sub), where)) != GF_OK)
        return st;
    /* The decoder must have made exactly the layer the record describes. */
    if ((k->ops != NULL && l.ops != k->ops && l.ops != k->fast_ops) || l.in != h->in || l.out != h->out ||
        l.n_params != h->n_params) {
        gf_layer_release(&l);
        return gf_fail(GF_EFORMAT, "model: %s does not match its record (%zu -> %zu, %zu "
                       "parameters)", where, h->in, h->out, h->n_params);
    }
    if ((st = gf_model_format_error(gf_net_add_layer(net, &l), where)) != GF_OK)
        return st;
    if (k->codec->restore != NULL) {
        gf_layer *last = gf_net_layer_mut(net, gf_net_layer_count(net) - 1);
        st = gf_model_format_error(k->codec->restore(last, sub), where);
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
        return gf_model_format_error(st, name);
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
gf_status gf_model_read_layer(gf_net *net, gf_reader *r, size_t i, size_t param_budget)
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

/* Version 1 readers can read a network without residual blocks, so such a network is
 * written as version 1, byte for byte as before; one with skip layers needs version 2. */
uint32_t gf_model_layers_version(const gf_net *net)
{
    for (size_t i = 0; i < gf_net_layer_count(net); i++)
        if (is_skip(gf_net_layer(net, i)))
            return GF_MODEL_VERSION;
    return 1;
}
