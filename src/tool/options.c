/* src/tool/options.c: what every option of the gradflow program is. One table lists them
 * (name, value, commands, whether compare/sweep take a comma list, parser, help); the
 * parser (parse.c), the help (help.c) and the child command lines of a sweep all read it.
 * Here too: the parsers of the values, each returning a one-line reason, and the defaults. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

/* Which commands take an option: a bit per command. */
#define C(cmd) (1u << (cmd))
#define TRAIN (C(GFT_CMD_RUN) | C(GFT_CMD_COMPARE) | C(GFT_CMD_SWEEP))
#define NET (TRAIN | C(GFT_CMD_GRADCHECK) | C(GFT_CMD_SHOWCASE))
#define OUTPUT (TRAIN | C(GFT_CMD_MERGE) | C(GFT_CMD_SHOWCASE) | C(GFT_CMD_PAPER))
#define CURES (TRAIN | C(GFT_CMD_GRADCHECK)) /* --norm, --residual, --cell: not the showcase */

/* ---- Value parsers -------------------------------------------------------------------- */

#define BIG 1e15 /* "no upper bound" for counts */
#define FIELD(c, o, type) ((type *)(void *)((char *)(c) + (o)->offset))
#define WHY(...) (snprintf(why, why_len, __VA_ARGS__), -1)

/* A whole string as a real ("1e-3", "inf" and "nan" included: the callers judge). */
static int read_real(const char *s, double *out)
{
    char *end;
    if (*s == '\0' || isspace((unsigned char)*s))
        return -1;
    *out = strtod(s, &end);
    return *end == '\0' ? 0 : -1;
}

static int read_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (*end != '\0' || errno == ERANGE)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

/* A finite real > lo and <= hi into *x, or -1 with a one-line reason. */
static int read_positive(const char *v, double lo, double hi, double *x, char *why,
                         size_t why_len)
{
    if (read_real(v, x) != 0)
        return WHY("'%s' is not a number", v);
    if (!isfinite(*x) || !(*x > lo) || *x > hi)
        return WHY("'%s' must be a finite number > %g", v, lo);
    return 0;
}

/* A positive real (learning rates, tolerances): finite, > lo, <= hi. */
static int parse_pos(gft_config *c, const gft_option *o, const char *v, char *why,
                     size_t why_len)
{
    double x;
    if (read_positive(v, o->lo, o->hi, &x, why, why_len) != 0)
        return -1;
    *FIELD(c, o, double) = x;
    return 0;
}

/* parse_unit and parse_finite share a shape, each with its own range and message: a
 * deliberate pair, like parse_size and parse_u64 below. */

/* A real in [lo, hi) (momentum, fractions). */
static int parse_unit(gft_config *c, const gft_option *o, const char *v, char *why,
                      size_t why_len)
{
    double x;
    if (read_real(v, &x) != 0)
        return WHY("'%s' is not a number", v);
    if (!(x >= o->lo && x < o->hi))
        return WHY("'%s' must be in [%g, %g)", v, o->lo, o->hi);
    *FIELD(c, o, double) = x;
    return 0;
}

/* Any real finite in this build's number type (an activation's parameter: 1e300 is
 * finite as a double and infinite as a float). */
static int parse_finite(gft_config *c, const gft_option *o, const char *v, char *why,
                        size_t why_len)
{
    double x;
    if (read_real(v, &x) != 0)
        return WHY("'%s' is not a number", v);
    if (!isfinite(x))
        return WHY("'%s' must be finite", v);
    if (!isfinite((double)(gf_real)x))
        return WHY("'%s' overflows %s, this build's number type", v, gf_real_name());
    *FIELD(c, o, double) = x;
    return 0;
}

/* A whole number in [lo, hi]. */
static int read_count(const gft_option *o, const char *v, uint64_t *x, char *why,
                      size_t why_len)
{
    if (read_u64(v, x) != 0)
        return WHY("'%s' is not a whole number", v);
    if ((double)*x < o->lo || (double)*x > o->hi) {
        if (o->hi >= BIG)
            return WHY("'%s' must be at least %.0f", v, o->lo);
        return WHY("'%s' must be between %.0f and %.0f", v, o->lo, o->hi);
    }
    return 0;
}

/* parse_size and parse_u64 differ only in the type of the field they write (C has no
 * generics): a deliberate pair. */
static int parse_size(gft_config *c, const gft_option *o, const char *v, char *why,
                      size_t why_len)
{
    uint64_t x;
    if (read_count(o, v, &x, why, why_len) != 0)
        return -1;
    *FIELD(c, o, size_t) = (size_t)x;
    return 0;
}

/* --residual: K >= 1, or none (a plain net), so that compare --residual none,2 sets a
 * residual net beside the plain one. */
static int parse_residual(gft_config *c, const gft_option *o, const char *v, char *why,
                          size_t why_len)
{
    if (strcmp(v, "none") == 0) {
        c->residual = 0;
        return 0;
    }
    return parse_size(c, o, v, why, why_len);
}

static int parse_u64(gft_config *c, const gft_option *o, const char *v, char *why,
                     size_t why_len)
{
    uint64_t x;
    if (read_count(o, v, &x, why, why_len) != 0)
        return -1;
    *FIELD(c, o, uint64_t) = x;
    return 0;
}

static int parse_seed(gft_config *c, const gft_option *o, const char *v, char *why,
                      size_t why_len)
{
    (void)o;
    if (read_u64(v, &c->seed) != 0)
        return WHY("'%s' is not a whole number (0 to 2^64-1)", v);
    return 0;
}

/* --steps N, --epochs N: the last of the two decides, so each clears the other. */
static int parse_length(gft_config *c, const gft_option *o, const char *v, char *why,
                        size_t why_len)
{
    uint64_t steps = c->steps, epochs = c->epochs;
    c->steps = c->epochs = 0;
    if (parse_u64(c, o, v, why, why_len) == 0)
        return 0;
    c->steps = steps, c->epochs = epochs;
    return -1;
}

static int parse_string(gft_config *c, const gft_option *o, const char *v, char *why,
                        size_t why_len)
{
    char *dst = FIELD(c, o, char);
    if (*v == '\0')
        return WHY("the value is empty");
    if (strlen(v) >= (size_t)o->hi)
        return WHY("'%.40s...' is too long (at most %.0f characters)", v, o->hi - 1);
    strcpy(dst, v);
    return 0;
}

static int parse_flag(gft_config *c, const gft_option *o, const char *v, char *why,
                      size_t why_len)
{
    (void)v, (void)why, (void)why_len;
    *FIELD(c, o, int) = (int)o->lo; /* lo holds the value the flag sets */
    return 0;
}

/* --max-memory BYTES[K|M|G|T]: binary multiples (K = 1024), as ulimit and free count. */
static int parse_bytes(gft_config *c, const gft_option *o, const char *v, char *why,
                       size_t why_len)
{
    static const char units[] = "KMGT";
    char digits[32];
    size_t n = strlen(v);
    const char *unit = n ? strchr(units, toupper((unsigned char)v[n - 1])) : NULL;
    uint64_t x, scale = 1;
    if (unit != NULL) {
        for (const char *u = units; u <= unit; u++)
            scale *= 1024;
        n--;
    }
    if (n == 0 || n >= sizeof digits)
        return WHY("'%s' is not a size in bytes (e.g. 512M, 4G)", v);
    memcpy(digits, v, n);
    digits[n] = '\0';
    if (read_u64(digits, &x) != 0 || x > UINT64_MAX / scale)
        return WHY("'%s' is not a size in bytes (e.g. 512M, 4G)", v);
    x *= scale;
    if ((double)x < o->lo || x > SIZE_MAX)
        return WHY("'%s' must be at least %.0f bytes", v, o->lo);
    *FIELD(c, o, uint64_t) = x;
    return 0;
}

static const char *const data_names[] = {"digits", "gauss", "xor", "spirals", "moons",
                                         "fashion-mnist", "adding"};
#define N_DATA (sizeof data_names / sizeof data_names[0])

int gft_data_is_builtin(const char *name)
{
    for (size_t i = 0; i < N_DATA; i++)
        if (strcmp(name, data_names[i]) == 0)
            return 1;
    return 0;
}

static int parse_data(gft_config *c, const gft_option *o, const char *v, char *why,
                      size_t why_len)
{
    for (size_t i = 0; i < N_DATA; i++)
        if (strcmp(v, data_names[i]) == 0) {
            strcpy(c->data, v);
            return 0;
        }
    if (strcmp(v, "fashion_mnist") == 0 || strcmp(v, "fashion") == 0) {
        strcpy(c->data, "fashion-mnist");
        return 0;
    }
    if (access(v, R_OK) != 0)
        return WHY("'%s' is neither a data set (digits, gauss, xor, spirals, moons, "
                   "fashion-mnist, adding) nor a readable CSV file", v);
    return parse_string(c, o, v, why, why_len);
}

static int parse_label_column(gft_config *c, const gft_option *o, const char *v, char *why,
                              size_t why_len)
{
    uint64_t x;
    if (strcmp(v, "last") == 0) {
        c->label_column = 0;
        return 0;
    }
    if (read_count(o, v, &x, why, why_len) != 0)
        return WHY("'%s' is not a column number (1, 2, ... or last)", v);
    c->label_column = (long)x;
    return 0;
}

/* The activation layers of a kind of their own (registry.h) that --act builds, after
 * the table's rows: each is at init the row `like` with parameter `param`. */
static const struct {
    const char *name, *like, *formula;
    double param;
} own_kinds[] = {
    {GFT_PRELU, "leaky_relu",
     "f(x) = x for x > 0, else a x, the slope a learned per unit (He et al. 2015); at init "
     "leaky_relu", GFT_PRELU_SLOPE},
};
#define N_OWN_KINDS (sizeof own_kinds / sizeof own_kinds[0])

size_t gft_act_count(void) { return gf_activation_count() + N_OWN_KINDS; }

const char *gft_act_name(size_t i)
{
    size_t rows = gf_activation_count();
    if (i < rows)
        return gf_activation_at(i)->name;
    return i - rows < N_OWN_KINDS ? own_kinds[i - rows].name : NULL;
}

const char *gft_act_own_kind(size_t i, const gf_activation **like, double *param)
{
    size_t rows = gf_activation_count();
    if (i < rows || i - rows >= N_OWN_KINDS ||
        gf_activation_find(like, own_kinds[i - rows].like) != GF_OK)
        return NULL;
    *param = own_kinds[i - rows].param;
    return own_kinds[i - rows].formula;
}

static int parse_act(gft_config *c, const gft_option *o, const char *v, char *why,
                     size_t why_len)
{
    char known[400];
    size_t used = 0;
    (void)o;
    for (size_t i = 0; i < gft_act_count(); i++)
        if (strcmp(v, gft_act_name(i)) == 0) {
            snprintf(c->act, sizeof c->act, "%s", gft_act_name(i));
            return 0;
        }
    known[0] = '\0';
    for (size_t i = 0; i < gft_act_count() && used < sizeof known; i++)
        used += (size_t)snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "",
                                 gft_act_name(i));
    return WHY("'%s' is not an activation (known: %s)", v, known);
}

/* NAME[:X]: X is the scheme's one number: normal's std, constant's value, uniform's
 * half-width (U(-X, X)), the gain of xavier/lecun/orthogonal/lsuv, he's leaky slope. */
static int parse_init(gft_config *c, const gft_option *o, const char *v, char *why,
                      size_t why_len)
{
    char name[64];
    const char *colon = strchr(v, ':');
    size_t n = colon ? (size_t)(colon - v) : strlen(v);
    gf_init init;
    double x = NAN;
    (void)o;
    if (n >= sizeof name)
        return WHY("'%s' is not an init scheme", v);
    memcpy(name, v, n);
    name[n] = '\0';
    if (strcmp(name, "suited") == 0 && colon == NULL) {
        c->init_given = 0;
        strcpy(c->init_text, "suited");
        return 0;
    }
    if (gf_init_from_name(&init, name) != GF_OK)
        return WHY("'%s' is not an init scheme (see gradflow list inits)", name);
    if (colon != NULL && (read_real(colon + 1, &x) != 0 || !isfinite(x)))
        return WHY("'%s': '%s' is not a number", v, colon + 1);
    if (colon != NULL) {
        switch (init.kind) {
        case GF_INIT_NORMAL: init.std = x; break;
        case GF_INIT_CONSTANT: init.value = x; break;
        case GF_INIT_UNIFORM: init.low = -x, init.high = x; break;
        case GF_INIT_HE_NORMAL: case GF_INIT_HE_UNIFORM: init.slope = x; break;
        case GF_INIT_ZEROS: return WHY("'%s': zeros takes no number", v);
        default: init.gain = x; break;
        }
    }
    if (gf_init_validate(&init) != GF_OK)
        return WHY("'%s': %s", v, gf_last_error());
    c->init = init;
    c->init_given = 1;
    snprintf(c->init_text, sizeof c->init_text, "%s", v);
    return 0;
}

static int parse_loss(gft_config *c, const gft_option *o, const char *v, char *why,
                      size_t why_len)
{
    (void)o;
    if (strcmp(v, "auto") == 0) {
        c->loss_given = 0;
        return 0;
    }
    if (gf_loss_from_name(&c->loss, v) != GF_OK)
        return WHY("'%s' is not a loss (mse, cross_entropy, bce, auto)", v);
    c->loss_given = 1;
    return 0;
}

static int parse_optim(gft_config *c, const gft_option *o, const char *v, char *why,
                       size_t why_len)
{
    (void)o;
    if (gf_optim_from_name(&c->optim, v) != GF_OK)
        return WHY("'%s' is not an optimiser (sgd, momentum, adam)", v);
    return 0;
}

/* --clip none | value:T | norm:T | global_norm:T. */
static int parse_clip(gft_config *c, const gft_option *o, const char *v, char *why,
                      size_t why_len)
{
    static const char *const kinds[] = {"none", "value", "norm", "global_norm"};
    const char *colon = strchr(v, ':');
    size_t n = colon ? (size_t)(colon - v) : strlen(v);
    double t;
    (void)o;
    for (int k = 0; k < GF_CLIP_COUNT; k++) {
        if (strlen(kinds[k]) != n || strncmp(v, kinds[k], n) != 0)
            continue;
        if (k == GF_CLIP_NONE) {
            if (colon != NULL)
                return WHY("'%s': none takes no threshold", v);
            c->clip = (gf_clip){GF_CLIP_NONE, 0};
            return 0;
        }
        if (colon == NULL)
            return WHY("'%s' needs a threshold, e.g. %s:1", v, kinds[k]);
        if (read_real(colon + 1, &t) != 0 || !isfinite(t) || !(t > 0))
            return WHY("'%s': the threshold must be a finite number > 0", v);
        c->clip = (gf_clip){(gf_clip_kind)k, t};
        return 0;
    }
    return WHY("'%s' is not a clipping (none, value:T, norm:T, global_norm:T)", v);
}

/* --lr-schedule constant | step:EVERY:GAMMA | cosine[:MIN_LR] (gradflow/optim.h). */
static int parse_lr_schedule(gft_config *c, const gft_option *o, const char *v, char *why,
                             size_t why_len)
{
    char buf[128], *colon, *rest;
    gf_lr_schedule s = {GF_LR_CONSTANT, 0, 0, 0, 0};
    (void)o;
    if (strlen(v) >= sizeof buf)
        return WHY("'%.20s...' is too long", v);
    strcpy(buf, v);
    colon = strchr(buf, ':');
    rest = colon ? colon + 1 : NULL;
    if (colon)
        *colon = '\0';
    if (strcmp(buf, "constant") == 0 && rest == NULL) {
        /* s is already constant */
    } else if (strcmp(buf, "step") == 0 && rest != NULL && (colon = strchr(rest, ':'))) {
        *colon = '\0';
        s.kind = GF_LR_STEP;
        if (read_u64(rest, &s.every) != 0 || s.every < 1 ||
            read_real(colon + 1, &s.gamma) != 0 || !(s.gamma > 0 && s.gamma <= 1))
            return WHY("'%s': step:EVERY:GAMMA needs EVERY >= 1 steps and GAMMA in (0, 1]", v);
    } else if (strcmp(buf, "cosine") == 0) {
        s.kind = GF_LR_COSINE;
        if (rest != NULL && (read_real(rest, &s.min_lr) != 0 || !(s.min_lr >= 0) ||
                             !isfinite(s.min_lr)))
            return WHY("'%s': cosine:MIN_LR needs a finite MIN_LR >= 0", v);
    } else {
        return WHY("'%s' is not a schedule (constant, step:EVERY:GAMMA, cosine[:MIN_LR])", v);
    }
    c->lr_schedule = s;
    return 0;
}

/* --norm none | batch | layer. */
static int parse_norm(gft_config *c, const gft_option *o, const char *v, char *why,
                      size_t why_len)
{
    (void)o;
    if (strcmp(v, "none") == 0)
        c->norm = GFT_NORM_NONE;
    else if (strcmp(v, "batch") == 0 || strcmp(v, "batchnorm") == 0)
        c->norm = GFT_NORM_BATCH;
    else if (strcmp(v, "layer") == 0 || strcmp(v, "layernorm") == 0)
        c->norm = GFT_NORM_LAYER;
    else
        return WHY("'%s' is not a normalisation (none, batch, layer)", v);
    return 0;
}

/* --cell rnn | lstm | gru (rnn.h's names; "tanh" is the rnn). */
static int parse_cell(gft_config *c, const gft_option *o, const char *v, char *why,
                      size_t why_len)
{
    gf_rnn_cell cell;
    (void)o;
    if (gf_rnn_cell_from_name(&cell, v) != GF_OK)
        return WHY("'%s' is not a recurrent cell (rnn, lstm, gru)", v);
    c->cell = (int)cell;
    return 0;
}

/* --clip-value T, --clip-norm T, --clip-global-norm T: the kind is in the row's lo. */
static int parse_clip_threshold(gft_config *c, const gft_option *o, const char *v,
                                char *why, size_t why_len)
{
    double t;
    if (read_positive(v, 0, INFINITY, &t, why, why_len) != 0)
        return -1;
    c->clip = (gf_clip){(gf_clip_kind)(int)o->lo, t};
    return 0;
}

static int parse_plot(gft_config *c, const gft_option *o, const char *v, char *why,
                      size_t why_len)
{
    (void)o;
    if (strcmp(v, "png") == 0)
        c->plot = GFT_PLOT_PNG;
    else if (strcmp(v, "svg") == 0)
        c->plot = GFT_PLOT_SVG;
    else if (strcmp(v, "none") == 0)
        c->plot = GFT_PLOT_NONE;
    else
        return WHY("'%s' is not one of png, svg, none", v);
    return 0;
}

/* --align input | output: where the per-layer figures count layers from. */
static int parse_align(gft_config *c, const gft_option *o, const char *v, char *why,
                       size_t why_len)
{
    (void)o;
    if (strcmp(v, "input") != 0 && strcmp(v, "output") != 0)
        return WHY("'%s' is not one of input, output", v);
    c->align_output = strcmp(v, "output") == 0;
    return 0;
}

/* ---- The table ------------------------------------------------------------------------ */

#define OFF(field) offsetof(gft_config, field)
#define LEN(field) ((double)sizeof(((gft_config *)0)->field))

static const gft_option table[] = {
    /* data */
    {"data", "NAME|FILE", NET, 0, parse_data, OFF(data), 0, LEN(data),
     "digits (default), gauss, xor, spirals, moons, fashion-mnist, adding (with --cell), "
     "or a CSV file"},
    {"label-column", "N", NET, 0, parse_label_column, 0, 1, 100000,
     "CSV: the column (from 1) holding the class label, or last (default)"},
    {"header", NULL, NET, 0, parse_flag, OFF(header), 1, 0,
     "CSV: the first line is a header (default: detected, a header has a non-number)"},
    {"no-header", NULL, NET, 0, parse_flag, OFF(header), 0, 0,
     "CSV: the first line is data"},
    {"samples", "N", NET, 1, parse_size, OFF(samples), 10, 10000000,
     "synthetic sets: number of examples, train and test (default 1000)"},
    {"test-fraction", "F", NET, 0, parse_unit, OFF(test_fraction), 0.01, 0.9,
     "held-out fraction for sets with no test set of their own (default 0.2)"},
    /* network */
    {"depth", "N", NET, 1, parse_size, OFF(depth), 1, 10000,
     "number of linear layers (default 12)"},
    {"width", "N", NET, 1, parse_size, OFF(width), 1, 100000,
     "hidden width (default 64)"},
    {"act", "NAME", NET & ~C(GFT_CMD_SHOWCASE), 1, parse_act, 0, 0, 0,
     "activation after each hidden linear layer (default relu; see gradflow list), or "
     "prelu (learned slope)"},
    {"act-param", "X", NET & ~C(GFT_CMD_SHOWCASE), 1, parse_finite, OFF(act_param), 0, 0,
     "the activation's parameter (leaky_relu slope, elu alpha, prelu initial slope)"},
    {"init", "NAME[:X]", NET & ~C(GFT_CMD_SHOWCASE), 1, parse_init, 0, 0, 0,
     "weight init (default: the activation's suited one); X: normal's std, uniform's "
     "half-width, constant's value, xavier/lecun/orthogonal gain, he slope"},
    {"loss", "NAME", NET, 1, parse_loss, 0, 0, 0,
     "mse, cross_entropy, bce or auto (default: cross_entropy for classes, mse for gauss)"},
    /* deeper cures: normalisation, skip connections, recurrent nets */
    {"norm", "KIND", CURES, 1, parse_norm, 0, 0, 0,
     "none (default), batch or layer: a normalisation after each hidden linear layer, "
     "before its activation"},
    {"residual", "K", CURES, 1, parse_residual, OFF(residual), 1, 10000,
     "residual blocks y = x + F(x) of K linear layers between an input and an output "
     "layer (--depth = 2 + a multiple of K); none: a plain net (default)"},
    {"cell", "KIND", CURES, 1, parse_cell, 0, 0, 0,
     "a recurrent net: an rnn (tanh), lstm or gru layer, then a linear output layer "
     "(default data: adding)"},
    {"seq-len", "T", CURES, 1, parse_size, OFF(seq_len), 1, 1000000,
     "--cell: steps per sequence (default 20 for adding, else one input column per step)"},
    {"hidden", "H", CURES, 1, parse_size, OFF(hidden), 1, 100000,
     "--cell: hidden units of the recurrent layer (default 32)"},
    /* training */
    {"optim", "NAME", TRAIN | C(GFT_CMD_SHOWCASE), 1, parse_optim, 0, 0, 0,
     "sgd, momentum (default, mu 0.9), adam"},
    {"lr", "X", TRAIN | C(GFT_CMD_SHOWCASE), 1, parse_pos, OFF(lr), 0, 1e6,
     "learning rate (default 0.01; adam 0.001)"},
    {"momentum", "X", TRAIN | C(GFT_CMD_SHOWCASE), 1, parse_unit, OFF(momentum), 0, 1,
     "momentum in [0, 1) for --optim momentum (default 0.9)"},
    {"weight-decay", "X", TRAIN | C(GFT_CMD_SHOWCASE), 1, parse_unit, OFF(weight_decay), 0, 1,
     "L2 weight decay wd in [0, 1): wd * w is added to each gradient, as PyTorch's "
     "weight_decay of SGD and Adam (default 0)"},
    {"lr-schedule", "KIND", TRAIN | C(GFT_CMD_SHOWCASE), 1, parse_lr_schedule, 0, 0, 0,
     "constant (default), step:EVERY:GAMMA (x GAMMA every EVERY steps) or cosine[:MIN_LR] "
     "(from --lr down to MIN_LR, default 0, over the run)"},
    {"batch", "N", NET, 1, parse_size, OFF(batch), 1, 1000000,
     "mini-batch size (default 64; gradcheck: 8)"},
    {"steps", "N", TRAIN | C(GFT_CMD_SHOWCASE), 1, parse_length, OFF(steps), 1, BIG,
     "training steps (default 300)"},
    {"epochs", "N", TRAIN | C(GFT_CMD_SHOWCASE), 1, parse_length, OFF(epochs), 1, 1000000,
     "train for N passes over the training set instead of --steps"},
    {"seed", "N", NET | C(GFT_CMD_PAPER), 1, parse_seed, 0, 0, 0,
     "random seed for init, data and batches (default 1)"},
    {"seeds", "N", TRAIN, 0, parse_size, OFF(seeds), 1, 100,
     "run each configuration with N seeds (--seed, --seed + 1, ...): tables of mean +- "
     "spread, a figure of means and bands (default 1)"},
    {"clip", "KIND[:T]", TRAIN, 1, parse_clip, 0, 0, 0,
     "gradient clipping: none (default), value:T, norm:T (per layer), global_norm:T"},
    {"clip-value", "T", TRAIN, 1, parse_clip_threshold, 0, GF_CLIP_VALUE, 0,
     "clip every gradient component into [-T, T]"},
    {"clip-norm", "T", TRAIN, 1, parse_clip_threshold, 0, GF_CLIP_NORM, 0,
     "scale each layer's gradient to norm <= T"},
    {"clip-global-norm", "T", TRAIN, 1, parse_clip_threshold, 0, GF_CLIP_GLOBAL_NORM, 0,
     "scale all gradients together to norm <= T"},
    {"every", "K", TRAIN | C(GFT_CMD_SHOWCASE), 0, parse_u64, OFF(every), 1, BIG,
     "record telemetry every K-th step (default 1; a NaN step is always recorded)"},
    {"skip-nonfinite", NULL, TRAIN, 0, parse_flag, OFF(skip_nonfinite), 1, 0,
     "skip the update after a NaN/inf gradient instead of stopping"},
    /* output */
    {"name", "LABEL", C(GFT_CMD_RUN), 0, parse_string, OFF(name), 0, LEN(name),
     "the run's label in its summary, figures and messages (default: the activation, or "
     "the cell)"},
    {"out", "DIR", OUTPUT, 0, parse_string, OFF(out), 0, LEN(out),
     "output directory (default ./gradflow-out/COMMAND)"},
    {"plot", "FORMAT", OUTPUT, 0, parse_plot, 0, 0, 0,
     "png (default), svg, or none (gnuplot scripts are written in any case)"},
    {"align", "END", OUTPUT & ~C(GFT_CMD_PAPER), 0, parse_align, 0, 0, 0,
     "input (default) or output: the per-layer figures count layers from the input (1, "
     "2, ...) or back from the output layer (0, -1, ...), so nets of different depth line "
     "up"},
    {"quiet", NULL, OUTPUT | C(GFT_CMD_GRADCHECK), 0, parse_flag, OFF(quiet), 1, 0,
     "print only errors and the final table; no progress bar"},
    /* model files */
    {"save", "FILE", C(GFT_CMD_RUN), 0, parse_string, OFF(save), 0, LEN(save),
     "save the model (weights, optimiser state, step) at the end or on Ctrl-C"},
    {"resume", "FILE", C(GFT_CMD_RUN), 0, parse_string, OFF(resume), 0, LEN(resume),
     "continue a saved model up to --steps in all, exactly as if never stopped"},
    /* resources */
    {"max-memory", "BYTES", NET | C(GFT_CMD_MERGE), 0, parse_bytes, OFF(max_memory), 1 << 20,
     0, "refuse a run needing more memory (suffix K, M, G, T; default a quarter of "
     "the physical memory)"},
    {"threads", "N", NET, 0, parse_size, OFF(threads), 1, GF_THREADS_MAX,
     "threads for the large matrix products and loops (default: GRADFLOW_THREADS, else "
     "every core); the results are the same bits for any N"},
    /* sweep */
    {"jobs", "N", C(GFT_CMD_SWEEP) | C(GFT_CMD_PAPER), 0, parse_size, OFF(jobs), 1, 1024,
     "run N configurations at a time, in separate processes (default 1)"},
    {"emit-commands", NULL, C(GFT_CMD_SWEEP), 0, parse_flag, OFF(emit_commands), 1, 0,
     "print one `gradflow run` command line per configuration and stop"},
    /* gradcheck */
    {"entries", "N", C(GFT_CMD_GRADCHECK), 0, parse_size, OFF(entries), 0, 1e9,
     "entries checked per tensor, spread evenly (default 64; 0: all)"},
    {"tol", "X", C(GFT_CMD_GRADCHECK), 0, parse_pos, OFF(tol), 0, 1e6,
     "largest relative error accepted (default 1e-4 in double, 1e-1 in float)"},
    /* paper */
    {"full", NULL, C(GFT_CMD_PAPER), 0, parse_flag, OFF(full), 1, 0,
     "the full variant of the reproduction (minutes; default: the quick one)"},
};
#define N_OPTIONS (sizeof table / sizeof table[0])

const gft_option *gft_options(size_t *count)
{
    *count = N_OPTIONS;
    return table;
}

void gft_config_default(gft_config *c, gft_command cmd)
{
    memset(c, 0, sizeof *c);
    strcpy(c->data, "digits");
    c->label_column = 0;
    c->header = -1;
    c->samples = 1000;
    c->test_fraction = 0.2;
    c->depth = 12;
    c->width = 64;
    strcpy(c->act, "relu");
    c->act_param = NAN;
    c->init_given = 0;
    strcpy(c->init_text, "suited");
    c->loss_given = 0;
    c->loss = GF_LOSS_SOFTMAX_CE;
    c->norm = GFT_NORM_NONE;
    c->residual = 0;
    c->cell = -1;
    c->seq_len = 0;
    c->hidden = GFT_HIDDEN;
    c->optim = GF_OPTIM_MOMENTUM;
    c->lr = NAN;
    c->momentum = NAN;
    c->weight_decay = 0;
    c->lr_schedule = (gf_lr_schedule){GF_LR_CONSTANT, 0, 0, 0, 0};
    c->batch = cmd == GFT_CMD_GRADCHECK ? 8 : 64;
    c->steps = 300;
    c->epochs = 0;
    c->seed = 1;
    c->clip = (gf_clip){GF_CLIP_NONE, 0};
    c->every = 1;
    c->plot = GFT_PLOT_PNG;
    c->jobs = 1;
    c->tol = NAN;
    c->entries = 64;
    c->seeds = 1;
}
