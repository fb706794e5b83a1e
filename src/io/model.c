/* src/io/model.c: model files, format in docs/model-format.md. Save serialises into one
 * memory buffer, then writes path.tmp, fsyncs it and renames it over path; load reads
 * the whole file and checks magic, version and CRC-32 before parsing a byte of it, then
 * builds the network through the engine's own constructors, so nothing half-built
 * escapes. Not here: telemetry (CSV files), the network's options. */
#define _POSIX_C_SOURCE 200809L /* fileno, fsync, open: the durable rename */

#include <errno.h>
#include <float.h>
#include <stdio.h>
#include <string.h>
#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <unistd.h>
#define GF_HAVE_FSYNC 1
#endif

#include "gradflow/model.h"
#include "gradflow/norm.h"
#include "gradflow/residual.h"
#include "gradflow/rnn.h"
#include "core/internal.h"

/* Reals are stored as their IEEE-754 binary32/binary64 bit patterns. */
#if FLT_MANT_DIG != 24 || DBL_MANT_DIG != 53
#error "gradflow model files need IEEE-754 float and double"
#endif
_Static_assert(sizeof(float) == 4 && sizeof(double) == 8, "IEEE-754 sizes");

static const unsigned char magic[8] = {'G', 'F', 'M', 'O', 'D', 'E', 'L', '\0'};

#define HEADER_BYTES 56u  /* magic, version, real size, flags, reserved, 4 x u64 */
#define CRC_BYTES 4u
#define FLAG_OPTIM 1u     /* an optimiser section follows the parameters */
#define FLAG_RNG 2u       /* a generator section follows */
#define FLAGS_KNOWN (FLAG_OPTIM | FLAG_RNG)
#define NAME_MAX_BYTES 63u /* kind, activation and optimiser names */
/* The smallest layer record: a 1-byte kind, in, out, n_params, payload length. */
#define LAYER_MIN_BYTES (4u + 1u + 4u * 8u)
/* Residual blocks nest networks: at most this many blocks inside one another (the
 * reader recurses once per level). */
#define MAX_NESTING 8u
/* A recurrent layer keeps one double per step whatever its size: its step count may not
 * exceed RNN_STEPS_PER_BYTE times the file's size, so that a crafted file cannot make
 * the loader allocate more than a small multiple of its size. */
#define RNN_STEPS_PER_BYTE 8u

/* ---- CRC-32 ---------------------------------------------------------------------------
 * Table-driven, one byte at a time: crc_table[i] is the CRC of the byte i, reflected
 * polynomial 0xEDB88320 (as zlib and PNG). A constant table: no initialisation race. */
static const uint32_t crc_table[256] = {
    0x00000000u, 0x77073096u, 0xEE0E612Cu, 0x990951BAu, 0x076DC419u, 0x706AF48Fu,
    0xE963A535u, 0x9E6495A3u, 0x0EDB8832u, 0x79DCB8A4u, 0xE0D5E91Eu, 0x97D2D988u,
    0x09B64C2Bu, 0x7EB17CBDu, 0xE7B82D07u, 0x90BF1D91u, 0x1DB71064u, 0x6AB020F2u,
    0xF3B97148u, 0x84BE41DEu, 0x1ADAD47Du, 0x6DDDE4EBu, 0xF4D4B551u, 0x83D385C7u,
    0x136C9856u, 0x646BA8C0u, 0xFD62F97Au, 0x8A65C9ECu, 0x14015C4Fu, 0x63066CD9u,
    0xFA0F3D63u, 0x8D080DF5u, 0x3B6E20C8u, 0x4C69105Eu, 0xD56041E4u, 0xA2677172u,
    0x3C03E4D1u, 0x4B04D447u, 0xD20D85FDu, 0xA50AB56Bu, 0x35B5A8FAu, 0x42B2986Cu,
    0xDBBBC9D6u, 0xACBCF940u, 0x32D86CE3u, 0x45DF5C75u, 0xDCD60DCFu, 0xABD13D59u,
    0x26D930ACu, 0x51DE003Au, 0xC8D75180u, 0xBFD06116u, 0x21B4F4B5u, 0x56B3C423u,
    0xCFBA9599u, 0xB8BDA50Fu, 0x2802B89Eu, 0x5F058808u, 0xC60CD9B2u, 0xB10BE924u,
    0x2F6F7C87u, 0x58684C11u, 0xC1611DABu, 0xB6662D3Du, 0x76DC4190u, 0x01DB7106u,
    0x98D220BCu, 0xEFD5102Au, 0x71B18589u, 0x06B6B51Fu, 0x9FBFE4A5u, 0xE8B8D433u,
    0x7807C9A2u, 0x0F00F934u, 0x9609A88Eu, 0xE10E9818u, 0x7F6A0DBBu, 0x086D3D2Du,
    0x91646C97u, 0xE6635C01u, 0x6B6B51F4u, 0x1C6C6162u, 0x856530D8u, 0xF262004Eu,
    0x6C0695EDu, 0x1B01A57Bu, 0x8208F4C1u, 0xF50FC457u, 0x65B0D9C6u, 0x12B7E950u,
    0x8BBEB8EAu, 0xFCB9887Cu, 0x62DD1DDFu, 0x15DA2D49u, 0x8CD37CF3u, 0xFBD44C65u,
    0x4DB26158u, 0x3AB551CEu, 0xA3BC0074u, 0xD4BB30E2u, 0x4ADFA541u, 0x3DD895D7u,
    0xA4D1C46Du, 0xD3D6F4FBu, 0x4369E96Au, 0x346ED9FCu, 0xAD678846u, 0xDA60B8D0u,
    0x44042D73u, 0x33031DE5u, 0xAA0A4C5Fu, 0xDD0D7CC9u, 0x5005713Cu, 0x270241AAu,
    0xBE0B1010u, 0xC90C2086u, 0x5768B525u, 0x206F85B3u, 0xB966D409u, 0xCE61E49Fu,
    0x5EDEF90Eu, 0x29D9C998u, 0xB0D09822u, 0xC7D7A8B4u, 0x59B33D17u, 0x2EB40D81u,
    0xB7BD5C3Bu, 0xC0BA6CADu, 0xEDB88320u, 0x9ABFB3B6u, 0x03B6E20Cu, 0x74B1D29Au,
    0xEAD54739u, 0x9DD277AFu, 0x04DB2615u, 0x73DC1683u, 0xE3630B12u, 0x94643B84u,
    0x0D6D6A3Eu, 0x7A6A5AA8u, 0xE40ECF0Bu, 0x9309FF9Du, 0x0A00AE27u, 0x7D079EB1u,
    0xF00F9344u, 0x8708A3D2u, 0x1E01F268u, 0x6906C2FEu, 0xF762575Du, 0x806567CBu,
    0x196C3671u, 0x6E6B06E7u, 0xFED41B76u, 0x89D32BE0u, 0x10DA7A5Au, 0x67DD4ACCu,
    0xF9B9DF6Fu, 0x8EBEEFF9u, 0x17B7BE43u, 0x60B08ED5u, 0xD6D6A3E8u, 0xA1D1937Eu,
    0x38D8C2C4u, 0x4FDFF252u, 0xD1BB67F1u, 0xA6BC5767u, 0x3FB506DDu, 0x48B2364Bu,
    0xD80D2BDAu, 0xAF0A1B4Cu, 0x36034AF6u, 0x41047A60u, 0xDF60EFC3u, 0xA867DF55u,
    0x316E8EEFu, 0x4669BE79u, 0xCB61B38Cu, 0xBC66831Au, 0x256FD2A0u, 0x5268E236u,
    0xCC0C7795u, 0xBB0B4703u, 0x220216B9u, 0x5505262Fu, 0xC5BA3BBEu, 0xB2BD0B28u,
    0x2BB45A92u, 0x5CB36A04u, 0xC2D7FFA7u, 0xB5D0CF31u, 0x2CD99E8Bu, 0x5BDEAE1Du,
    0x9B64C2B0u, 0xEC63F226u, 0x756AA39Cu, 0x026D930Au, 0x9C0906A9u, 0xEB0E363Fu,
    0x72076785u, 0x05005713u, 0x95BF4A82u, 0xE2B87A14u, 0x7BB12BAEu, 0x0CB61B38u,
    0x92D28E9Bu, 0xE5D5BE0Du, 0x7CDCEFB7u, 0x0BDBDF21u, 0x86D3D2D4u, 0xF1D4E242u,
    0x68DDB3F8u, 0x1FDA836Eu, 0x81BE16CDu, 0xF6B9265Bu, 0x6FB077E1u, 0x18B74777u,
    0x88085AE6u, 0xFF0F6A70u, 0x66063BCAu, 0x11010B5Cu, 0x8F659EFFu, 0xF862AE69u,
    0x616BFFD3u, 0x166CCF45u, 0xA00AE278u, 0xD70DD2EEu, 0x4E048354u, 0x3903B3C2u,
    0xA7672661u, 0xD06016F7u, 0x4969474Du, 0x3E6E77DBu, 0xAED16A4Au, 0xD9D65ADCu,
    0x40DF0B66u, 0x37D83BF0u, 0xA9BCAE53u, 0xDEBB9EC5u, 0x47B2CF7Fu, 0x30B5FFE9u,
    0xBDBDF21Cu, 0xCABAC28Au, 0x53B39330u, 0x24B4A3A6u, 0xBAD03605u, 0xCDD70693u,
    0x54DE5729u, 0x23D967BFu, 0xB3667A2Eu, 0xC4614AB8u, 0x5D681B02u, 0x2A6F2B94u,
    0xB40BBE37u, 0xC30C8EA1u, 0x5A05DF1Bu, 0x2D02EF8Du,
};

uint32_t gf_crc32(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = data;
    if (p == NULL)
        return crc;
    crc = ~crc;
    for (size_t i = 0; i < n; i++)
        crc = crc_table[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
    return ~crc;
}

/* ---- Writing: a growing little-endian byte buffer ------------------------------------
 * A failed allocation sets failed; later writes do nothing, and the caller checks once. */

typedef struct wbuf {
    unsigned char *p;
    size_t len, cap;
    int failed;
} wbuf;

static unsigned char *w_room(wbuf *w, size_t n)
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

static void put_u32(unsigned char *d, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        d[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *d, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        d[i] = (unsigned char)(v >> (8 * i));
}

static void w_u32(wbuf *w, uint32_t v)
{
    unsigned char *d = w_room(w, 4);
    if (d != NULL)
        put_u32(d, v);
}

static void w_u64(wbuf *w, uint64_t v)
{
    unsigned char *d = w_room(w, 8);
    if (d != NULL)
        put_u64(d, v);
}

static void w_f64(wbuf *w, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    w_u64(w, bits);
}

/* A name: u32 length, then its bytes (no terminating NUL). */
static void w_name(wbuf *w, const char *s)
{
    size_t n = strlen(s);
    unsigned char *d;
    w_u32(w, (uint32_t)n);
    if ((d = w_room(w, n)) != NULL)
        memcpy(d, s, n);
}

/* n reals at the build's precision, sizeof(gf_real) bytes each. */
static void w_reals(wbuf *w, const gf_real *x, size_t n)
{
    unsigned char *d = w_room(w, n * sizeof(gf_real));
    if (d == NULL)
        return;
    for (size_t i = 0; i < n; i++, d += sizeof(gf_real)) {
#if GF_REAL_IS_DOUBLE
        uint64_t bits;
        memcpy(&bits, &x[i], 8);
        put_u64(d, bits);
#else
        uint32_t bits;
        memcpy(&bits, &x[i], 4);
        put_u32(d, bits);
#endif
    }
}

/* ---- Reading: bounds-checked little-endian cursor ---------------------------------- */

typedef struct rbuf {
    const unsigned char *p;
    size_t len, pos;
    unsigned real_size; /* bytes per stored real: 4 or 8 */
    size_t total;       /* size of the whole file */
    unsigned depth;     /* version 1: residual blocks around the records being read */
    unsigned version;   /* the file's format version */
} rbuf;

static gf_status r_need(const rbuf *r, size_t n, const char *what)
{
    if (n > r->len - r->pos)
        return gf_fail(GF_EFORMAT, "model: truncated: %s at byte %zu needs %zu bytes, %zu "
                       "remain", what, r->pos, n, r->len - r->pos);
    return GF_OK;
}

static uint32_t get_u32(const unsigned char *s)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | s[i];
    return v;
}

static uint64_t get_u64(const unsigned char *s)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | s[i];
    return v;
}

static gf_status r_u32(rbuf *r, uint32_t *v, const char *what)
{
    gf_status st = r_need(r, 4, what);
    if (st == GF_OK) {
        *v = get_u32(r->p + r->pos);
        r->pos += 4;
    }
    return st;
}

static gf_status r_u64(rbuf *r, uint64_t *v, const char *what)
{
    gf_status st = r_need(r, 8, what);
    if (st == GF_OK) {
        *v = get_u64(r->p + r->pos);
        r->pos += 8;
    }
    return st;
}

static gf_status r_f64(rbuf *r, double *v, const char *what)
{
    uint64_t bits = 0;
    gf_status st = r_u64(r, &bits, what);
    if (st == GF_OK)
        memcpy(v, &bits, sizeof *v);
    return st;
}

/* A count that must fit in size_t and stay within GF_MAX_ELEMENTS. */
static gf_status r_count(rbuf *r, size_t *v, const char *what)
{
    uint64_t u = 0;
    gf_status st = r_u64(r, &u, what);
    if (st != GF_OK)
        return st;
    if (u > (uint64_t)GF_MAX_ELEMENTS)
        return gf_fail(GF_EFORMAT, "model: %s = %llu exceeds the limit of %zu", what,
                       (unsigned long long)u, (size_t)GF_MAX_ELEMENTS);
    *v = (size_t)u;
    return GF_OK;
}

/* A name of 1..NAME_MAX_BYTES bytes of [A-Za-z0-9_.-] into out (NUL-terminated), so
 * that it can be quoted in a message whatever the file holds. */
static gf_status r_name(rbuf *r, char out[NAME_MAX_BYTES + 1], const char *what)
{
    uint32_t n = 0;
    gf_status st = r_u32(r, &n, what);
    if (st != GF_OK)
        return st;
    if (n == 0 || n > NAME_MAX_BYTES)
        return gf_fail(GF_EFORMAT, "model: %s at byte %zu has length %lu (1 to %u allowed)",
                       what, r->pos - 4, (unsigned long)n, NAME_MAX_BYTES);
    if ((st = r_need(r, n, what)) != GF_OK)
        return st;
    for (uint32_t i = 0; i < n; i++) {
        unsigned char c = r->p[r->pos + i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return gf_fail(GF_EFORMAT, "model: %s at byte %zu holds byte 0x%02x, not a name "
                           "character", what, r->pos, (unsigned)c);
        out[i] = (char)c;
    }
    out[n] = '\0';
    r->pos += n;
    return GF_OK;
}

/* n reals stored at r->real_size into x, widening float to double when the build is
 * double (exact); a double file never reaches a float build (refused in the header). */
static gf_status r_reals(rbuf *r, gf_real *x, size_t n, const char *what)
{
    const unsigned char *s;
    if (n > (r->len - r->pos) / r->real_size)
        return gf_fail(GF_EFORMAT, "model: truncated: %s at byte %zu needs %zu values of %u "
                       "bytes, %zu bytes remain", what, r->pos, n, r->real_size,
                       r->len - r->pos);
    s = r->p + r->pos;
    for (size_t i = 0; i < n; i++) {
        if (r->real_size == 4) {
            uint32_t bits = get_u32(s + 4 * i);
            float f;
            memcpy(&f, &bits, 4);
            x[i] = (gf_real)f;
        } else {
            uint64_t bits = get_u64(s + 8 * i);
            double d;
            memcpy(&d, &bits, 8);
            x[i] = (gf_real)d;
        }
    }
    r->pos += n * r->real_size;
    return GF_OK;
}

/* ---- Layer records --------------------------------------------------------------------
 * Every layer is one record: its kind, in, out and parameter count, then a payload of
 * kind-specific configuration (its parameters are in the parameter block). Adding a
 * kind is adding a row to codecs[] with its encode and decode functions. */

typedef struct layer_head {
    size_t index;    /* position in the network */
    size_t in, out;  /* features, as recorded */
    size_t n_params; /* parameters the layer takes in the block, as recorded */
} layer_head;

typedef struct layer_codec {
    const char *kind; /* the kind string: the layer's ops->name */
    /* Append the payload describing l. */
    void (*encode)(wbuf *w, gf_layer *l);
    /* Append to net the layer described by h and the payload in r (exactly the
     * payload's bytes). The engine has checked h->in against the network's width. */
    gf_status (*decode)(gf_net *net, const layer_head *h, rbuf *r);
} layer_codec;

static void linear_encode(wbuf *w, gf_layer *l)
{
    (void)w;
    (void)l; /* in and out say everything */
}

static gf_status linear_decode(gf_net *net, const layer_head *h, rbuf *r)
{
    int ok = 1;
    size_t n = gf_mul_size(h->in, h->out, &ok);
    (void)r;
    /* Checked before allocating, so a crafted record cannot ask for more memory than
     * the file's parameter block accounts for. */
    if (!ok || n > GF_MAX_ELEMENTS || n + h->out != h->n_params)
        return gf_fail(GF_EFORMAT, "model: layer %zu (linear %zu -> %zu) records %zu "
                       "parameters, expected %zu x %zu + %zu", h->index, h->in, h->out,
                       h->n_params, h->out, h->in, h->out);
    return gf_net_add_linear(net, h->out);
}

/* Payload: the activation's name, its parameter (one real). */
static void act_encode(wbuf *w, gf_layer *l)
{
    w_name(w, l->act->name);
    w_reals(w, &l->act_param, 1);
}

static gf_status act_decode(gf_net *net, const layer_head *h, rbuf *r)
{
    char name[NAME_MAX_BYTES + 1];
    const gf_activation *act = NULL;
    gf_real param = 0;
    gf_status st = r_name(r, name, "activation name");
    if (st == GF_OK)
        st = r_reals(r, &param, 1, "activation parameter");
    if (st != GF_OK)
        return st;
    if (h->in != h->out || h->n_params != 0)
        return gf_fail(GF_EFORMAT, "model: layer %zu (%s) records %zu -> %zu features and "
                       "%zu parameters", h->index, name, h->in, h->out, h->n_params);
    if (gf_activation_find(&act, name) != GF_OK)
        return gf_fail(GF_EUNSUPPORTED, "model: layer %zu uses the activation '%s', which "
                       "this build does not know", h->index, name);
    return gf_net_add_activation_param(net, name, param);
}

/* Payload: the initial slope (one real) that reset() would restore; the slopes
 * themselves are parameters. */
static void prelu_encode(wbuf *w, gf_layer *l)
{
    w_reals(w, &l->act_param, 1);
}

static gf_status prelu_decode(gf_net *net, const layer_head *h, rbuf *r)
{
    gf_real slope = 0;
    gf_status st = r_reals(r, &slope, 1, "prelu initial slope");
    if (st != GF_OK)
        return st;
    if (h->in != h->out || h->n_params != h->out)
        return gf_fail(GF_EFORMAT, "model: layer %zu (prelu) records %zu -> %zu features and "
                       "%zu parameters", h->index, h->in, h->out, h->n_params);
    return gf_net_add_prelu(net, slope);
}

/* Batch norm. Payload: eps, momentum (f64), then the running mean and the running
 * variance (out f64 each: they are doubles in every build). gamma and beta are
 * parameters. */
static void bn_encode(wbuf *w, gf_layer *l)
{
    const double *mean = NULL, *var = NULL;
    double eps = 0, momentum = 0;
    size_t n = 0;
    (void)gf_norm_config(l, &eps, &momentum); /* checked by saveable() */
    (void)gf_batchnorm_running(l, &mean, &var, &n);
    w_f64(w, eps);
    w_f64(w, momentum);
    for (size_t j = 0; j < n; j++)
        w_f64(w, mean[j]);
    for (size_t j = 0; j < n; j++)
        w_f64(w, var[j]);
}

static gf_status bn_decode(gf_net *net, const layer_head *h, rbuf *r)
{
    double eps = 0, momentum = 0, *stats;
    size_t n = h->out;
    gf_status st;
    if ((st = r_f64(r, &eps, "batchnorm eps")) != GF_OK ||
        (st = r_f64(r, &momentum, "batchnorm momentum")) != GF_OK)
        return st;
    if (h->in != h->out || h->n_params / 2 != n || h->n_params % 2 != 0)
        return gf_fail(GF_EFORMAT, "model: layer %zu (batchnorm) records %zu -> %zu features "
                       "and %zu parameters", h->index, h->in, h->out, h->n_params);
    if (n > (r->len - r->pos) / 16)
        return gf_fail(GF_EFORMAT, "model: truncated: layer %zu (batchnorm) needs 2 x %zu "
                       "running statistics, %zu bytes remain", h->index, n, r->len - r->pos);
    stats = gf_alloc(2 * n * sizeof *stats);
    if (stats == NULL)
        return gf_fail(GF_ENOMEM, "model: out of memory reading layer %zu (batchnorm)",
                       h->index);
    for (size_t j = 0; j < 2 * n && st == GF_OK; j++)
        st = r_f64(r, &stats[j], "batchnorm running statistics");
    if (st == GF_OK)
        st = gf_net_add_batchnorm(net, eps, momentum);
    if (st == GF_OK)
        st = gf_batchnorm_set_running(gf_net_layer(net, gf_net_layer_count(net) - 1), stats,
                                      stats + n, n);
    gf_free(stats);
    return st;
}

/* Layer norm. Payload: eps (f64). */
static void ln_encode(wbuf *w, gf_layer *l)
{
    double eps = 0;
    (void)gf_norm_config(l, &eps, NULL);
    w_f64(w, eps);
}

static gf_status ln_decode(gf_net *net, const layer_head *h, rbuf *r)
{
    double eps = 0;
    gf_status st = r_f64(r, &eps, "layernorm eps");
    if (st != GF_OK)
        return st;
    if (h->in != h->out || h->n_params / 2 != h->out || h->n_params % 2 != 0)
        return gf_fail(GF_EFORMAT, "model: layer %zu (layernorm) records %zu -> %zu features "
                       "and %zu parameters", h->index, h->in, h->out, h->n_params);
    return gf_net_add_layernorm(net, eps);
}

/* Recurrent layers. Payload: the cell's name (rnn, lstm, gru), steps T and hidden
 * units H (u64), flags (u32). The per-step input width is in / T. */
static void rnn_encode(wbuf *w, gf_layer *l)
{
    gf_rnn_cell cell = GF_RNN_TANH;
    size_t hidden = 0, steps = 0;
    unsigned flags = 0;
    (void)gf_rnn_shape(l, &cell, NULL, &hidden, &steps);
    (void)gf_rnn_flags(l, &flags);
    w_name(w, gf_rnn_cell_name(cell));
    w_u64(w, steps);
    w_u64(w, hidden);
    w_u32(w, flags);
}

static gf_status rnn_decode(gf_net *net, const layer_head *h, rbuf *r)
{
    char name[NAME_MAX_BYTES + 1];
    gf_rnn_cell cell = GF_RNN_TANH;
    size_t steps = 0, hidden = 0, in, gates, want_out, want_params;
    uint32_t flags = 0;
    int ok = 1;
    gf_layer l;
    gf_status st;
    if ((st = r_name(r, name, "rnn cell")) != GF_OK ||
        (st = r_count(r, &steps, "rnn steps")) != GF_OK ||
        (st = r_count(r, &hidden, "rnn hidden units")) != GF_OK ||
        (st = r_u32(r, &flags, "rnn flags")) != GF_OK)
        return st;
    if (gf_rnn_cell_from_name(&cell, name) != GF_OK)
        return gf_fail(GF_EUNSUPPORTED, "model: layer %zu uses the recurrent cell '%s', which "
                       "this build does not know", h->index, name);
    /* One spelling per cell ("tanh" is an alias): a file loads and saves to itself. */
    if (strcmp(name, gf_rnn_cell_name(cell)) != 0)
        return gf_fail(GF_EFORMAT, "model: layer %zu names its cell '%s', written '%s' in "
                       "model files", h->index, name, gf_rnn_cell_name(cell));
    if (steps == 0 || hidden == 0 || h->in % steps != 0 || (flags & ~GF_RNN_SEQUENCE) != 0)
        return gf_fail(GF_EFORMAT, "model: layer %zu (rnn) has %zu steps, %zu hidden units "
                       "and flags 0x%lx over %zu inputs", h->index, steps, hidden,
                       (unsigned long)flags, h->in);
    if (steps / RNN_STEPS_PER_BYTE > r->total)
        return gf_fail(GF_EFORMAT, "model: layer %zu (rnn) has %zu steps, more than a file "
                       "of %zu bytes can describe", h->index, steps, r->total);
    /* Sizes checked before anything is allocated. */
    in = h->in / steps;
    gates = cell == GF_RNN_LSTM ? 4 : cell == GF_RNN_GRU ? 3 : 1;
    want_out = flags & GF_RNN_SEQUENCE ? gf_mul_size(steps, hidden, &ok) : hidden;
    want_params = gf_mul_size(gf_mul_size(gates, hidden, &ok), in + hidden + 1, &ok);
    if (!ok || in + hidden + 1 < in || want_out != h->out || want_params != h->n_params)
        return gf_fail(GF_EFORMAT, "model: layer %zu (%s, %zu steps of %zu, %zu hidden) "
                       "records %zu outputs and %zu parameters", h->index, name, steps, in,
                       hidden, h->out, h->n_params);
    if ((st = gf_layer_rnn(&l, cell, in, hidden, steps, (unsigned)flags)) != GF_OK)
        return st;
    return gf_net_add_layer(net, &l);
}

static gf_status read_layer(gf_net *net, rbuf *r, size_t i, size_t param_budget);

/* Residual blocks of version 1, read only: a layer of kind "residual" nesting a network
 * F. Payload: F's step count and number of layers (u64 each), then its layer records, in
 * this same format. Its in and out are the block's; F's parameters, then the
 * projection's (when in != out), are the block's share of the parameter block. Read
 * into F, then flattened (gf_net_add_residual) into skip_begin, F's layers, skip_add:
 * the very layout of the parameters, so the parameter block reads as it is. */
static gf_status res_decode(gf_net *net, const layer_head *h, rbuf *r)
{
    gf_net *inner = NULL;
    uint64_t step = 0, n_layers = 0;
    size_t projection = 0;
    rbuf sub = *r;
    gf_rng rng;
    gf_status st;
    if (r->version != 1)
        return gf_fail(GF_EFORMAT, "model: layer %zu is a nested residual block, which only "
                       "version 1 files hold", h->index);
    if ((st = r_u64(r, &step, "residual inner step count")) != GF_OK ||
        (st = r_u64(r, &n_layers, "residual inner layer count")) != GF_OK)
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
    /* The projection's initial values are drawn, then replaced by the file's. */
    gf_rng_seed(&rng, 1);
    return gf_net_add_residual(net, inner, &rng);
}

/* Residual blocks from version 2: skip_begin and skip_add records, paired as brackets
 * (saveable() refuses blocks that do not nest). No payload: skip_add's projection, when
 * the block changes the width, is its P (out, n) and p (1, out) in the parameter block. */
static void skip_encode(wbuf *w, gf_layer *l)
{
    (void)w;
    (void)l;
}

static gf_status skip_begin_decode(gf_net *net, const layer_head *h, rbuf *r)
{
    if (r->version < 2)
        return gf_fail(GF_EFORMAT, "model: layer %zu (skip_begin) in a version %u file",
                       h->index, r->version);
    if (h->in != h->out || h->n_params != 0)
        return gf_fail(GF_EFORMAT, "model: layer %zu (skip_begin) records %zu -> %zu features "
                       "and %zu parameters", h->index, h->in, h->out, h->n_params);
    return gf_net_add_skip_begin(net);
}

static gf_status skip_add_decode(gf_net *net, const layer_head *h, rbuf *r)
{
    size_t begin = 0, n, want = 0;
    int ok = 1;
    gf_rng rng;
    if (r->version < 2)
        return gf_fail(GF_EFORMAT, "model: layer %zu (skip_add) in a version %u file",
                       h->index, r->version);
    if (gf_net_skip_open_before(net, gf_net_layer_count(net), &begin) != GF_OK)
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

static const layer_codec codecs[] = {
    {"linear", linear_encode, linear_decode},
    {"activation", act_encode, act_decode},
    {"prelu", prelu_encode, prelu_decode},
    {"batchnorm", bn_encode, bn_decode},
    {"layernorm", ln_encode, ln_decode},
    {"rnn", rnn_encode, rnn_decode},
    {"residual", NULL, res_decode}, /* version 1 only: read and flattened, never written */
    {"skip_begin", skip_encode, skip_begin_decode},
    {"skip_add", skip_encode, skip_add_decode},
};
#define N_CODECS (sizeof codecs / sizeof codecs[0])
#define KNOWN_KINDS "linear, activation, prelu, batchnorm, layernorm, rnn, skip_begin, " \
                    "skip_add"

static const layer_codec *codec_of(const char *kind)
{
    for (size_t i = 0; i < N_CODECS; i++)
        if (strcmp(codecs[i].kind, kind) == 0)
            return &codecs[i];
    return NULL;
}

/* The codec that saves layer i, or GF_EUNSUPPORTED naming its kind. */
static gf_status saveable(const layer_codec **codec, gf_net *net, size_t i)
{
    gf_layer *l = gf_net_layer(net, i);
    const char *kind = l != NULL && l->ops != NULL && l->ops->name ? l->ops->name : "(none)";
    *codec = codec_of(kind);
    if (*codec == NULL || (*codec)->encode == NULL)
        return gf_fail(GF_EUNSUPPORTED, "model: layer %zu has kind '%.64s', which model files "
                       "cannot store yet (known: " KNOWN_KINDS ")", i, kind);
    if (strcmp(kind, "activation") == 0 && (l->act == NULL || l->act->name == NULL))
        return gf_fail(GF_EUNSUPPORTED, "model: layer %zu is an activation layer without an "
                       "activation", i);
    if (strlen(gf_net_layer_kind(net, i)) > NAME_MAX_BYTES)
        return gf_fail(GF_EUNSUPPORTED, "model: layer %zu's name is longer than %u bytes", i,
                       NAME_MAX_BYTES);
    if (strcmp(kind, "batchnorm") == 0 || strcmp(kind, "layernorm") == 0) {
        double eps = 0;
        const double *mean = NULL, *var = NULL;
        size_t n = 0;
        if (gf_norm_config(l, &eps, NULL) != GF_OK ||
            (kind[0] == 'b' && gf_batchnorm_running(l, &mean, &var, &n) != GF_OK))
            return gf_fail(GF_EUNSUPPORTED, "model: layer %zu (%s) has no readable state", i,
                           kind);
    } else if (strcmp(kind, "rnn") == 0) {
        unsigned flags = 0;
        if (gf_rnn_shape(l, NULL, NULL, NULL, NULL) != GF_OK || gf_rnn_flags(l, &flags) != GF_OK)
            return gf_fail(GF_EUNSUPPORTED, "model: layer %zu (rnn) has no readable state", i);
    } else if (gf_layer_is_skip_add(l)) {
        /* The loader pairs skip_add with the innermost open skip_begin. */
        size_t begin = 0;
        if (gf_net_skip_open_before(net, i, &begin) != GF_OK ||
            !gf_skip_closes(l, gf_net_layer(net, begin)))
            return gf_fail(GF_EUNSUPPORTED, "model: layer %zu (skip_add) closes a block that "
                           "does not nest in the others", i);
    }
    return GF_OK;
}

/* The layer records of net (checked by saveable()). */
static gf_status write_layers(wbuf *w, gf_net *net)
{
    const layer_codec *codec;
    for (size_t i = 0; i < gf_net_layer_count(net); i++) {
        gf_layer *l = gf_net_layer(net, i);
        size_t at;
        codec = codec_of(l->ops->name);
        w_name(w, codec->kind);
        w_u64(w, l->in);
        w_u64(w, l->out);
        w_u64(w, l->n_params);
        w_u64(w, 0);
        at = w->len;
        codec->encode(w, l);
        if (!w->failed)
            put_u64(w->p + at - 8, (uint64_t)(w->len - at));
    }
    return w->failed ? GF_ENOMEM : GF_OK;
}

/* ---- Save ---------------------------------------------------------------------------- */

gf_status gf_model_save_memory(void **data, size_t *size, gf_net *net, gf_optim *opt,
                               const gf_rng *rng)
{
    static const char who[] = "gf_model_save";
    size_t n_layers, n_params;
    const layer_codec *codec;
    wbuf w = {NULL, 0, 0, 0};
    gf_status st;
    uint32_t flags = 0, version = 1;

    GF_CHECK_NOT_NULL(data, who);
    GF_CHECK_NOT_NULL(size, who);
    *data = NULL;
    *size = 0;
    GF_CHECK_NOT_NULL(net, who);
    n_layers = gf_net_layer_count(net);
    n_params = gf_net_param_count(net);
    for (size_t i = 0; i < n_layers; i++) {
        if ((st = saveable(&codec, net, i)) != GF_OK)
            return st;
        /* Version 1 readers can read a network without residual blocks. */
        if (gf_layer_is_skip_begin(gf_net_layer(net, i)))
            version = GF_MODEL_VERSION;
    }
    if (opt != NULL) {
        size_t n_state = 0;
        if (n_params == 0)
            return gf_fail(GF_ESHAPE, "%s: the network has no parameters for the optimiser",
                           who);
        /* SGD keeps no state, so its size cannot be checked (nor does it matter). */
        if (gf_optim_state(opt, 0, &n_state) != NULL && n_state != n_params)
            return gf_fail(GF_ESHAPE, "%s: the optimiser was made for %zu parameters, the "
                           "network has %zu", who, n_state, n_params);
        if (gf_optim_name(gf_optim_config_of(opt)->kind) == NULL)
            return gf_fail(GF_EINVAL, "%s: the optimiser has an unknown kind", who);
        flags |= FLAG_OPTIM;
    }
    if (rng != NULL)
        flags |= FLAG_RNG;

    /* Header. */
    if (w_room(&w, sizeof magic) != NULL)
        memcpy(w.p, magic, sizeof magic);
    w_u32(&w, version);
    w_u32(&w, (uint32_t)sizeof(gf_real));
    w_u32(&w, flags);
    w_u32(&w, 0);
    w_u64(&w, gf_net_in_features(net));
    w_u64(&w, gf_net_step_count(net));
    w_u64(&w, n_layers);
    w_u64(&w, n_params);

    /* Layer records: kind, in, out, n_params, payload length (patched), payload. */
    (void)write_layers(&w, net); /* a failure sets w.failed, checked below */
    w_reals(&w, gf_net_params(net), n_params);

    if (opt != NULL) {
        const gf_optim_config *c = gf_optim_config_of(opt);
        uint32_t nslots = 0;
        w_name(&w, gf_optim_name(c->kind));
        w_f64(&w, c->lr);
        w_f64(&w, c->momentum);
        w_f64(&w, c->beta1);
        w_f64(&w, c->beta2);
        w_f64(&w, c->eps);
        w_f64(&w, c->weight_decay);
        w_u64(&w, gf_optim_steps(opt));
        w_u64(&w, n_params);
        while (nslots < 2 && gf_optim_state(opt, (int)nslots, NULL) != NULL)
            nslots++;
        w_u32(&w, nslots);
        for (uint32_t s = 0; s < nslots; s++)
            w_reals(&w, gf_optim_state(opt, (int)s, NULL), n_params);
    }
    if (rng != NULL) {
        for (int i = 0; i < 4; i++)
            w_u64(&w, rng->s[i]);
        w_u32(&w, rng->has_spare ? 1u : 0u);
        w_f64(&w, rng->spare);
    }
    if (!w.failed)
        w_u32(&w, gf_crc32(0, w.p, w.len));
    if (w.failed) {
        gf_free(w.p);
        return gf_fail(GF_ENOMEM, "%s: out of memory serialising %zu parameters", who,
                       n_params);
    }
    *data = w.p;
    *size = w.len;
    return GF_OK;
}

/* Write data to path.tmp, flush it to the disk, rename it over path, and flush the
 * directory entry, so that path is either untouched or the complete new file. */
static gf_status write_atomic(const char *path, const void *data, size_t size)
{
    static const char who[] = "gf_model_save";
    size_t n = strlen(path);
    char *tmp = gf_alloc(n + 5);
    gf_status st = GF_OK;
    FILE *f;

    if (tmp == NULL)
        return gf_fail(GF_ENOMEM, "%s: out of memory", who);
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp", 5);
    f = fopen(tmp, "wb");
    if (f == NULL) {
        st = gf_fail(GF_EIO, "%s: cannot create '%s': %s", who, tmp, strerror(errno));
        gf_free(tmp);
        return st;
    }
    if (fwrite(data, 1, size, f) != size || fflush(f) != 0)
        st = gf_fail(GF_EIO, "%s: cannot write '%s': %s", who, tmp, strerror(errno));
#ifdef GF_HAVE_FSYNC
    if (st == GF_OK && fsync(fileno(f)) != 0)
        st = gf_fail(GF_EIO, "%s: cannot sync '%s' to disk: %s", who, tmp, strerror(errno));
#endif
    if (fclose(f) != 0 && st == GF_OK)
        st = gf_fail(GF_EIO, "%s: cannot close '%s': %s", who, tmp, strerror(errno));
    if (st == GF_OK && rename(tmp, path) != 0)
        st = gf_fail(GF_EIO, "%s: cannot rename '%s' to '%s': %s", who, tmp, path,
                     strerror(errno));
    if (st != GF_OK)
        remove(tmp);
#ifdef GF_HAVE_FSYNC
    if (st == GF_OK) {
        /* The rename is durable once the directory is synced; failing that (a file
         * system that refuses to sync directories) the file itself is complete. */
        char *slash = strrchr(tmp, '/');
        int fd;
        if (slash == NULL)
            memcpy(tmp, ".", 2);
        else if (slash == tmp)
            tmp[1] = '\0';
        else
            *slash = '\0';
        fd = open(tmp, O_RDONLY);
        if (fd >= 0) {
            (void)fsync(fd);
            close(fd);
        }
    }
#endif
    gf_free(tmp);
    return st;
}

gf_status gf_model_save(const char *path, gf_net *net, gf_optim *opt, const gf_rng *rng)
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
    st = write_atomic(path, data, size);
    gf_free(data);
    return st;
}

/* ---- Load ---------------------------------------------------------------------------- */

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

/* The fixed header after magic and version, and the checks that need only it. */
typedef struct header {
    uint32_t version, real_size, flags;
    size_t in_features, n_layers, n_params;
    uint64_t step;
} header;

static gf_status read_header(header *h, rbuf *r)
{
    uint32_t reserved = 0;
    uint64_t n_layers = 0;
    gf_status st;
    r->pos = sizeof magic;
    if ((st = r_u32(r, &h->version, "version")) != GF_OK ||
        (st = r_u32(r, &h->real_size, "real size")) != GF_OK ||
        (st = r_u32(r, &h->flags, "flags")) != GF_OK ||
        (st = r_u32(r, &reserved, "reserved")) != GF_OK ||
        (st = r_count(r, &h->in_features, "in_features")) != GF_OK ||
        (st = r_u64(r, &h->step, "step count")) != GF_OK ||
        (st = r_u64(r, &n_layers, "layer count")) != GF_OK ||
        (st = r_count(r, &h->n_params, "parameter count")) != GF_OK)
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

/* Read layer record i and append the layer it describes to net. */
static gf_status read_layer(gf_net *net, rbuf *r, size_t i, size_t param_budget)
{
    char kind[NAME_MAX_BYTES + 1];
    char where[96];
    const layer_codec *codec;
    layer_head h = {i, 0, 0, 0};
    size_t payload = 0, before_params = gf_net_param_count(net);
    size_t before_layers = gf_net_layer_count(net);
    size_t width = gf_net_out_features(net);
    rbuf sub;
    gf_layer *l;
    gf_status st;

    if ((st = r_name(r, kind, "layer kind")) != GF_OK ||
        (st = r_count(r, &h.in, "layer in")) != GF_OK ||
        (st = r_count(r, &h.out, "layer out")) != GF_OK ||
        (st = r_count(r, &h.n_params, "layer parameter count")) != GF_OK ||
        (st = r_count(r, &payload, "layer payload length")) != GF_OK ||
        (st = r_need(r, payload, "layer payload")) != GF_OK)
        return st;
    codec = codec_of(kind);
    if (codec == NULL)
        return gf_fail(GF_EUNSUPPORTED, "model: layer %zu has kind '%s', which this build "
                       "cannot load (known: " KNOWN_KINDS ")", i, kind);
    if (h.in != width)
        return gf_fail(GF_EFORMAT, "model: layer %zu (%s) takes %zu inputs, the layer before "
                       "gives %zu", i, kind, h.in, width);
    if (h.out == 0 || h.n_params > param_budget)
        return gf_fail(GF_EFORMAT, "model: layer %zu (%s) has %zu outputs and %zu parameters "
                       "(%zu left in the block)", i, kind, h.out, h.n_params, param_budget);
    sub = *r;
    sub.len = r->pos + payload;
    snprintf(where, sizeof where, "layer %zu (%s)", i, kind);
    if ((st = as_format_error(codec->decode(net, &h, &sub), where)) != GF_OK)
        return st;
    /* The decoder must have added the layer the record describes (a version-1 residual
     * block adds its layers, flattened). */
    l = gf_net_layer(net, gf_net_layer_count(net) - 1);
    if (gf_net_layer_count(net) <= before_layers || l == NULL || l->out != h.out ||
        gf_net_param_count(net) - before_params != h.n_params)
        return gf_fail(GF_EFORMAT, "model: layer %zu (%s) does not match its record (%zu "
                       "outputs, %zu parameters)", i, kind, h.out, h.n_params);
    if (sub.pos != sub.len)
        return gf_fail(GF_EFORMAT, "model: layer %zu (%s) payload has %zu unread bytes", i,
                       kind, sub.len - sub.pos);
    r->pos = sub.pos;
    return GF_OK;
}

/* The optimiser section: a new optimiser for n_params parameters. */
static gf_status read_optim(gf_optim **out, rbuf *r, size_t n_params)
{
    char name[NAME_MAX_BYTES + 1];
    gf_optim_config c;
    gf_optim *o = NULL;
    gf_optim_kind kind;
    uint64_t steps = 0;
    size_t n = 0;
    uint32_t nslots = 0;
    gf_status st;

    *out = NULL;
    if ((st = r_name(r, name, "optimiser kind")) != GF_OK)
        return st;
    if (gf_optim_from_name(&kind, name) != GF_OK)
        return gf_fail(GF_EUNSUPPORTED, "model: the optimiser '%s' is not known to this "
                       "build", name);
    c = gf_optim_default(kind);
    if ((st = r_f64(r, &c.lr, "optimiser lr")) != GF_OK ||
        (st = r_f64(r, &c.momentum, "optimiser momentum")) != GF_OK ||
        (st = r_f64(r, &c.beta1, "optimiser beta1")) != GF_OK ||
        (st = r_f64(r, &c.beta2, "optimiser beta2")) != GF_OK ||
        (st = r_f64(r, &c.eps, "optimiser eps")) != GF_OK ||
        (st = r_f64(r, &c.weight_decay, "optimiser weight decay")) != GF_OK ||
        (st = r_u64(r, &steps, "optimiser steps")) != GF_OK ||
        (st = r_count(r, &n, "optimiser size")) != GF_OK ||
        (st = r_u32(r, &nslots, "optimiser slot count")) != GF_OK)
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
        gf_real *state = gf_optim_state(o, (int)s, &n_state);
        if ((state != NULL) != (s < nslots))
            st = gf_fail(GF_EFORMAT, "model: the %s optimiser keeps a different number of "
                         "state slots than the file's %lu", name, (unsigned long)nslots);
        else if (state != NULL)
            st = r_reals(r, state, n_state, "optimiser state");
    }
    if (st != GF_OK) {
        gf_optim_free(o);
        return st;
    }
    gf_optim_set_steps(o, steps);
    *out = o;
    return GF_OK;
}

static gf_status read_rng(gf_rng *rng, rbuf *r)
{
    uint32_t has_spare = 0;
    gf_status st = GF_OK;
    for (int i = 0; i < 4 && st == GF_OK; i++)
        st = r_u64(r, &rng->s[i], "generator state");
    if (st == GF_OK)
        st = r_u32(r, &has_spare, "generator spare flag");
    if (st == GF_OK)
        st = r_f64(r, &rng->spare, "generator spare");
    if (st != GF_OK)
        return st;
    if ((rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]) == 0 || has_spare > 1)
        return gf_fail(GF_EFORMAT, "model: invalid generator state (all zero, or spare flag "
                       "%lu)", (unsigned long)has_spare);
    rng->has_spare = (int)has_spare;
    return GF_OK;
}

gf_status gf_model_load_memory(gf_net **net, gf_optim **opt, gf_rng *rng, const void *data,
                               size_t size)
{
    static const char who[] = "gf_model_load";
    rbuf r = {data, size, 0, 4, size, 0, 0};
    header h;
    gf_net *n = NULL;
    gf_optim *o = NULL;
    gf_rng g;
    uint32_t stored, computed;
    gf_status st;

    GF_CHECK_NOT_NULL(net, who);
    *net = NULL;
    if (opt != NULL)
        *opt = NULL;
    if (data == NULL && size > 0)
        return gf_fail(GF_EINVAL, "%s: data is NULL", who);

    /* Magic and version first, so that a foreign or newer file is named as such. */
    if (size >= sizeof magic ? memcmp(data, magic, sizeof magic) != 0
                             : size == 0 || memcmp(data, magic, size) != 0)
        return gf_fail(GF_EFORMAT, "model: not a gradflow model file (no GFMODEL magic)");
    if (size < sizeof magic + 4)
        return gf_fail(GF_EFORMAT, "model: truncated: %zu bytes", size);
    h.version = get_u32((const unsigned char *)data + sizeof magic);
    if (h.version == 0)
        return gf_fail(GF_EFORMAT, "model: format version 0 is invalid");
    if (h.version > GF_MODEL_VERSION)
        return gf_fail(GF_EUNSUPPORTED, "model: format version %lu is newer than this build "
                       "reads (up to %u): upgrade gradflow", (unsigned long)h.version,
                       GF_MODEL_VERSION);
    if (size < HEADER_BYTES + CRC_BYTES)
        return gf_fail(GF_EFORMAT, "model: truncated: %zu bytes, the header alone takes %u",
                       size, HEADER_BYTES + CRC_BYTES);
    /* The checksum covers every byte: nothing is parsed from a corrupted file. */
    stored = get_u32((const unsigned char *)data + size - CRC_BYTES);
    computed = gf_crc32(0, data, size - CRC_BYTES);
    if (stored != computed)
        return gf_fail(GF_EFORMAT, "model: checksum mismatch (stored 0x%08lx, computed "
                       "0x%08lx): the file is corrupted or truncated",
                       (unsigned long)stored, (unsigned long)computed);
    r.len = size - CRC_BYTES;
    if ((st = read_header(&h, &r)) != GF_OK)
        return st;
    r.real_size = h.real_size;
    r.version = h.version;

    if ((st = as_format_error(gf_net_new(&n, h.in_features), "network")) != GF_OK)
        return st;
    for (size_t i = 0; i < h.n_layers && st == GF_OK; i++)
        st = read_layer(n, &r, i, h.n_params - gf_net_param_count(n));
    if (st == GF_OK && gf_net_param_count(n) != h.n_params)
        st = gf_fail(GF_EFORMAT, "model: the layers take %zu parameters, the header says %zu",
                     gf_net_param_count(n), h.n_params);
    if (st == GF_OK)
        st = r_reals(&r, gf_net_params(n), h.n_params, "parameters");
    if (st == GF_OK && (h.flags & FLAG_OPTIM))
        st = read_optim(&o, &r, h.n_params);
    if (st == GF_OK && (h.flags & FLAG_RNG))
        st = read_rng(&g, &r);
    if (st == GF_OK && r.pos != r.len)
        st = gf_fail(GF_EFORMAT, "model: %zu bytes of unknown data after the last section",
                     r.len - r.pos);
    if (st != GF_OK) {
        gf_optim_free(o);
        gf_net_free(n);
        return st;
    }
    gf_net_set_step_count(n, h.step);
    *net = n;
    if (opt != NULL)
        *opt = o;
    else
        gf_optim_free(o);
    if (rng != NULL && (h.flags & FLAG_RNG))
        *rng = g;
    return GF_OK;
}

/* Read a whole file into a new buffer. */
static gf_status read_file(unsigned char **out, size_t *size, const char *path)
{
    static const char who[] = "gf_model_load";
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0;
    gf_status st = GF_OK;
    FILE *f = fopen(path, "rb");

    *out = NULL;
    *size = 0;
    if (f == NULL)
        return gf_fail(GF_EIO, "%s: cannot open '%s': %s", who, path, strerror(errno));
    for (;;) {
        size_t want, got;
        if (len == cap) {
            size_t grown_cap = cap ? 2 * cap : 65536;
            unsigned char *grown = grown_cap > cap ? gf_realloc(buf, grown_cap) : NULL;
            if (grown == NULL) {
                st = gf_fail(GF_ENOMEM, "%s: out of memory reading '%s'", who, path);
                break;
            }
            buf = grown;
            cap = grown_cap;
        }
        want = cap - len;
        got = fread(buf + len, 1, want, f);
        len += got;
        if (got < want) { /* end of file or an error */
            if (ferror(f))
                st = gf_fail(GF_EIO, "%s: cannot read '%s': %s", who, path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (st != GF_OK) {
        gf_free(buf);
        return st;
    }
    *out = buf;
    *size = len;
    return GF_OK;
}

gf_status gf_model_load(gf_net **net, gf_optim **opt, gf_rng *rng, const char *path)
{
    unsigned char *data;
    size_t size;
    gf_status st;
    GF_CHECK_NOT_NULL(net, "gf_model_load");
    *net = NULL;
    if (opt != NULL)
        *opt = NULL;
    GF_CHECK_NOT_NULL(path, "gf_model_load");
    if ((st = read_file(&data, &size, path)) != GF_OK)
        return st;
    st = gf_model_load_memory(net, opt, rng, data, size);
    if (st != GF_OK && st != GF_ENOMEM && st != GF_EINVAL) {
        /* Name the file: the loader's message says what, this says where. */
        char inner[400];
        snprintf(inner, sizeof inner, "%s", gf_last_error());
        st = gf_fail(st, "%s: '%.200s': %s", "gf_model_load", path, inner);
    }
    gf_free(data);
    return st;
}
