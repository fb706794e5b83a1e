/* src/layers/registry.c: the registry of built-in layer kinds, and the payload writer and
 * reader their codecs use (gradflow/registry.h). The kinds themselves are defined at the
 * end of each layer's file, beside the operations they name; this file only lists them.
 * Not here: the model-file container (io/model.c). */
#include <string.h>

#include "core/internal.h"
#include "layers/codec.h"

/* Reals are stored as their IEEE-754 binary32/binary64 bit patterns. */
_Static_assert(sizeof(float) == 4 && sizeof(double) == 8, "IEEE-754 sizes");

/* ---- The registry --------------------------------------------------------------------- */

/* A constant table: nothing to initialise, nothing to race on. */
static const gf_layer_kind *const kinds[] = {
    &gf_kind_linear, &gf_kind_activation, &gf_kind_prelu,
    &gf_kind_batchnorm, &gf_kind_layernorm, &gf_kind_rnn,
};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

size_t gf_layer_kind_count(void) { return N_KINDS; }

const gf_layer_kind *gf_layer_kind_at(size_t i) { return i < N_KINDS ? kinds[i] : NULL; }

const gf_layer_kind *gf_layer_kind_find(const char *name)
{
    for (size_t i = 0; name != NULL && i < N_KINDS; i++)
        if (strcmp(kinds[i]->name, name) == 0)
            return kinds[i];
    return NULL;
}

const gf_layer_kind *gf_layer_kind_of(const gf_layer_ops *ops)
{
    for (size_t i = 0; ops != NULL && i < N_KINDS; i++)
        if (kinds[i]->ops == ops || (kinds[i]->fast_ops != NULL && kinds[i]->fast_ops == ops))
            return kinds[i];
    return NULL;
}

unsigned gf_layer_kind_traits(const char *kind)
{
    const gf_layer_kind *k = gf_layer_kind_find(kind);
    const gf_activation *act;
    if (k != NULL)
        return k->traits;
    /* An activation layer's records carry its activation's name. */
    for (size_t i = 0; kind != NULL && i < gf_activation_count(); i++)
        if ((act = gf_activation_at(i)) != NULL && strcmp(act->name, kind) == 0)
            return GF_KIND_ACTIVATION;
    return 0;
}

/* ---- Writing -------------------------------------------------------------------------- */

unsigned char *gf_writer_room(gf_writer *w, size_t n)
{
    if (w->failed)
        return NULL;
    if (n > w->cap - w->len) {
        size_t cap = w->cap ? w->cap : 256;
        unsigned char *grown;
        while (cap - w->len < n) {
            if (cap > (size_t)-1 / 2) {
                w->failed = 1;
                return NULL;
            }
            cap *= 2;
        }
        grown = gf_realloc(w->p, cap);
        if (grown == NULL) {
            w->failed = 1;
            return NULL;
        }
        w->p = grown;
        w->cap = cap;
    }
    w->len += n;
    return w->p + w->len - n;
}

void gf_put_u32(unsigned char *d, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        d[i] = (unsigned char)(v >> (8 * i));
}

void gf_put_u64(unsigned char *d, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        d[i] = (unsigned char)(v >> (8 * i));
}

void gf_write_u32(gf_writer *w, uint32_t v)
{
    unsigned char *d = gf_writer_room(w, 4);
    if (d != NULL)
        gf_put_u32(d, v);
}

void gf_write_u64(gf_writer *w, uint64_t v)
{
    unsigned char *d = gf_writer_room(w, 8);
    if (d != NULL)
        gf_put_u64(d, v);
}

void gf_write_f64(gf_writer *w, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    gf_write_u64(w, bits);
}

void gf_write_name(gf_writer *w, const char *s)
{
    size_t n = strlen(s);
    unsigned char *d;
    gf_write_u32(w, (uint32_t)n);
    if ((d = gf_writer_room(w, n)) != NULL)
        memcpy(d, s, n);
}

void gf_write_reals(gf_writer *w, const gf_real *x, size_t n)
{
    unsigned char *d = gf_writer_room(w, n * sizeof(gf_real));
    if (d == NULL)
        return;
    for (size_t i = 0; i < n; i++, d += sizeof(gf_real)) {
#if GF_REAL_IS_DOUBLE
        uint64_t bits;
        memcpy(&bits, &x[i], 8);
        gf_put_u64(d, bits);
#else
        uint32_t bits;
        memcpy(&bits, &x[i], 4);
        gf_put_u32(d, bits);
#endif
    }
}

static int is_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
}

int gf_name_is_valid(const char *name)
{
    size_t n = name != NULL ? strlen(name) : 0;
    if (n == 0 || n > GF_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_name_char((unsigned char)name[i]))
            return 0;
    return 1;
}

/* ---- Reading -------------------------------------------------------------------------- */

gf_status gf_read_need(const gf_reader *r, size_t n, const char *what)
{
    if (n > r->len - r->pos)
        return gf_fail(GF_EFORMAT, "model: truncated: %s at byte %zu needs %zu bytes, %zu "
                       "remain", what, r->pos, n, r->len - r->pos);
    return GF_OK;
}

uint32_t gf_get_u32(const unsigned char *s)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | s[i];
    return v;
}

uint64_t gf_get_u64(const unsigned char *s)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | s[i];
    return v;
}

gf_status gf_read_u32(gf_reader *r, uint32_t *v, const char *what)
{
    gf_status st = gf_read_need(r, 4, what);
    if (st == GF_OK) {
        *v = gf_get_u32(r->p + r->pos);
        r->pos += 4;
    }
    return st;
}

gf_status gf_read_u64(gf_reader *r, uint64_t *v, const char *what)
{
    gf_status st = gf_read_need(r, 8, what);
    if (st == GF_OK) {
        *v = gf_get_u64(r->p + r->pos);
        r->pos += 8;
    }
    return st;
}

gf_status gf_read_f64(gf_reader *r, double *v, const char *what)
{
    uint64_t bits = 0;
    gf_status st = gf_read_u64(r, &bits, what);
    if (st == GF_OK)
        memcpy(v, &bits, sizeof *v);
    return st;
}

gf_status gf_read_count(gf_reader *r, size_t *v, const char *what)
{
    uint64_t u = 0;
    gf_status st = gf_read_u64(r, &u, what);
    if (st != GF_OK)
        return st;
    if (u > (uint64_t)GF_MAX_ELEMENTS)
        return gf_fail(GF_EFORMAT, "model: %s = %llu exceeds the limit of %zu", what,
                       (unsigned long long)u, (size_t)GF_MAX_ELEMENTS);
    *v = (size_t)u;
    return GF_OK;
}

/* Only name characters are accepted, so that a name can be quoted in a message whatever
 * the file holds. */
gf_status gf_read_name(gf_reader *r, char out[GF_NAME_MAX + 1], const char *what)
{
    uint32_t n = 0;
    gf_status st = gf_read_u32(r, &n, what);
    if (st != GF_OK)
        return st;
    if (n == 0 || n > GF_NAME_MAX)
        return gf_fail(GF_EFORMAT, "model: %s at byte %zu has length %lu (1 to %u allowed)",
                       what, r->pos - 4, (unsigned long)n, GF_NAME_MAX);
    if ((st = gf_read_need(r, n, what)) != GF_OK)
        return st;
    for (uint32_t i = 0; i < n; i++) {
        unsigned char c = r->p[r->pos + i];
        if (!is_name_char(c))
            return gf_fail(GF_EFORMAT, "model: %s at byte %zu holds byte 0x%02x, not a name "
                           "character", what, r->pos, (unsigned)c);
        out[i] = (char)c;
    }
    out[n] = '\0';
    r->pos += n;
    return GF_OK;
}

/* Stored at r->real_size; widening float to double is exact, and a double file never
 * reaches a float build (the container refuses it from the header). */
gf_status gf_read_reals(gf_reader *r, gf_real *x, size_t n, const char *what)
{
    const unsigned char *s;
    if (n > (r->len - r->pos) / r->real_size)
        return gf_fail(GF_EFORMAT, "model: truncated: %s at byte %zu needs %zu values of %u "
                       "bytes, %zu bytes remain", what, r->pos, n, r->real_size,
                       r->len - r->pos);
    s = r->p + r->pos;
    for (size_t i = 0; i < n; i++) {
        if (r->real_size == 4) {
            uint32_t bits = gf_get_u32(s + 4 * i);
            float f;
            memcpy(&f, &bits, 4);
            x[i] = (gf_real)f;
        } else {
            uint64_t bits = gf_get_u64(s + 8 * i);
            double d;
            memcpy(&d, &bits, 8);
            x[i] = (gf_real)d;
        }
    }
    r->pos += n * r->real_size;
    return GF_OK;
}

size_t gf_read_remaining(const gf_reader *r) { return r->len - r->pos; }

size_t gf_read_file_size(const gf_reader *r) { return r->total; }
