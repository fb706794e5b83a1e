/* src/tool/options.c: the gradflow program's command line. One table lists every option
 * (name, value, commands, whether compare/sweep take a comma list, parser, help); the
 * parser, the help texts and the child command lines of a sweep all read it. Errors
 * are one line naming the option, and exit status 2. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

/* ---- Commands ------------------------------------------------------------------------- */

#define C(cmd) (1u << (cmd))
#define TRAIN (C(GFT_CMD_RUN) | C(GFT_CMD_COMPARE) | C(GFT_CMD_SWEEP))
#define NET (TRAIN | C(GFT_CMD_GRADCHECK) | C(GFT_CMD_SHOWCASE))
#define OUTPUT (TRAIN | C(GFT_CMD_MERGE) | C(GFT_CMD_SHOWCASE))
#define CURES (TRAIN | C(GFT_CMD_GRADCHECK)) /* --norm, --residual, --cell: not the showcase */

static const struct {
    const char *name;
    const char *usage;   /* what follows "gradflow NAME" */
    const char *summary; /* one line for the overview */
    const char *text;    /* the paragraph of its --help */
} commands[GFT_CMD_COUNT] = {
    [GFT_CMD_SHOWCASE] = {"showcase", "[OPTIONS]",
        "the same deep net with sigmoid, tanh, relu, leaky_relu and softplus (default)",
        "Trains the same deep network on the embedded digits with sigmoid, tanh, relu,\n"
        "leaky_relu and softplus, each with its suited initialisation, and prints per\n"
        "activation the backward signal ||dL/dh|| at the first and last layer, their\n"
        "ratio, the final loss, the test accuracy and the verdict. Writes one run\n"
        "directory per activation and the overlaid figures (default ./gradflow-out/showcase).\n"
        "This is what `gradflow` with no command does."},
    [GFT_CMD_RUN] = {"run", "[OPTIONS]",
        "train one network and write its run directory",
        "Trains one network and writes its run directory (default ./gradflow-out/run):\n"
        "telemetry.csv (streamed while training), loss.csv, summary, gnuplot scripts and\n"
        "figures. Prints the verdict. A NaN or infinity stops the run at the step where it\n"
        "appeared (exit 3); Ctrl-C stops after the current step (exit 130); both keep\n"
        "everything recorded so far."},
    [GFT_CMD_COMPARE] = {"compare", "[OPTIONS]",
        "one run per value of a comma list (--act, --init, --depth, --lr, --clip, ...)",
        "One run per value of the option given as a comma list (for example\n"
        "--act sigmoid,tanh,relu or --init normal,xavier,he or --clip-norm 1,10), all\n"
        "drawn on one figure, with a table of the results\n"
        "(default ./gradflow-out/compare). Exactly one option may be a list; use sweep for\n"
        "a grid."},
    [GFT_CMD_SWEEP] = {"sweep", "[OPTIONS]",
        "a grid over several comma lists, in parallel processes",
        "Runs every combination of the options given as comma lists, each as a separate\n"
        "`gradflow run` process (--jobs N at a time), each in its own directory under\n"
        "--out (default ./gradflow-out/sweep), then merges them into one table and figure.\n"
        "--emit-commands prints the command lines instead (one per configuration, for GNU\n"
        "parallel or a Slurm array); run `gradflow merge DIR` on the results afterwards."},
    [GFT_CMD_MERGE] = {"merge", "[OPTIONS] DIR...",
        "merge run directories from separate processes into one table and figure",
        "Reads run directories (each DIR is a run directory or holds run directories, as\n"
        "a sweep or separate `gradflow run --out DIR/NAME` processes write them), prints\n"
        "the table of their results and draws them on one figure (into --out, default\n"
        "the first DIR)."},
    [GFT_CMD_LIST] = {"list",
        "[activations|inits|losses|optimisers|data|normalisations|cells]",
        "activations (formula, bound, suited init), inits, losses, optimisers, data, ...",
        "Lists what can be chosen: activations with their formula, the bound on their\n"
        "derivative and their suited initialisation; init schemes; losses; optimisers;\n"
        "data sets; normalisation layers (--norm); recurrent cells (--cell). Give a\n"
        "section name (or its first letters) to list only that."},
    [GFT_CMD_GRADCHECK] = {"gradcheck", "[OPTIONS]",
        "check the configured net's backward pass against finite differences",
        "Builds the configured network, runs gf_net_gradcheck on a small batch of the data\n"
        "and prints each layer's worst relative error (parameters and input). Exit status\n"
        "1 when an error is above --tol."},
};

const char *gft_command_name(gft_command cmd)
{
    return (unsigned)cmd < GFT_CMD_COUNT ? commands[cmd].name : "gradflow";
}

/* ---- Messages ------------------------------------------------------------------------- */

void gft_error(const char *fmt, ...)
{
    char line[1400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One line, whatever the message holds. */
    for (char *p = line; *p; p++)
        if (*p == '\n')
            *p = ' ';
    fprintf(stderr, "gradflow: %s\n", line);
}

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

/* A positive real (learning rates, thresholds, tolerances): finite, > lo, <= hi. */
static int parse_pos(gft_config *c, const gft_option *o, const char *v, char *why,
                     size_t why_len)
{
    double x;
    if (read_real(v, &x) != 0)
        return WHY("'%s' is not a number", v);
    if (!isfinite(x) || !(x > o->lo) || x > o->hi)
        return WHY("'%s' must be a finite number > %g", v, o->lo);
    *FIELD(c, o, double) = x;
    return 0;
}

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

/* Any finite real (an activation's parameter). */
static int parse_finite(gft_config *c, const gft_option *o, const char *v, char *why,
                        size_t why_len)
{
    double x;
    if (read_real(v, &x) != 0)
        return WHY("'%s' is not a number", v);
    if (!isfinite(x))
        return WHY("'%s' must be finite", v);
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

static int parse_steps(gft_config *c, const gft_option *o, const char *v, char *why,
                       size_t why_len)
{
    uint64_t x;
    if (read_count(o, v, &x, why, why_len) != 0)
        return -1;
    c->steps = x, c->epochs = 0; /* the last of --steps and --epochs decides */
    return 0;
}

static int parse_epochs(gft_config *c, const gft_option *o, const char *v, char *why,
                        size_t why_len)
{
    uint64_t x;
    if (read_count(o, v, &x, why, why_len) != 0)
        return -1;
    c->epochs = x, c->steps = 0;
    return 0;
}

static int parse_jobs(gft_config *c, const gft_option *o, const char *v, char *why,
                      size_t why_len)
{
    uint64_t x;
    if (read_count(o, v, &x, why, why_len) != 0)
        return -1;
    c->jobs = (unsigned)x;
    return 0;
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

static const char *const data_names[] = {"digits", "gauss", "xor", "spirals", "moons",
                                         "fashion-mnist", "adding"};
#define N_DATA (sizeof data_names / sizeof data_names[0])

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

static int parse_act(gft_config *c, const gft_option *o, const char *v, char *why,
                     size_t why_len)
{
    const gf_activation *act;
    (void)o;
    if (gf_activation_find(&act, v) != GF_OK) {
        const char *known = strstr(gf_last_error(), "known: ");
        return WHY("'%s' is not an activation (%s)", v, known ? known : "see gradflow list");
    }
    snprintf(c->act, sizeof c->act, "%s", act->name);
    return 0;
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
    if (read_real(v, &t) != 0)
        return WHY("'%s' is not a number", v);
    if (!isfinite(t) || !(t > 0))
        return WHY("'%s' must be a finite number > 0", v);
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
     "activation after each hidden linear layer (default relu; see gradflow list)"},
    {"act-param", "X", NET & ~C(GFT_CMD_SHOWCASE), 1, parse_finite, OFF(act_param), 0, 0,
     "the activation's parameter (leaky_relu slope, elu alpha)"},
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
    {"batch", "N", NET, 1, parse_size, OFF(batch), 1, 1000000,
     "mini-batch size (default 64; gradcheck: 8)"},
    {"steps", "N", TRAIN | C(GFT_CMD_SHOWCASE), 1, parse_steps, 0, 1, BIG,
     "training steps (default 300)"},
    {"epochs", "N", TRAIN | C(GFT_CMD_SHOWCASE), 1, parse_epochs, 0, 1, 1000000,
     "train for N passes over the training set instead of --steps"},
    {"seed", "N", NET, 1, parse_seed, 0, 0, 0,
     "random seed for init, data and batches (default 1)"},
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
    {"quiet", NULL, OUTPUT | C(GFT_CMD_GRADCHECK), 0, parse_flag, OFF(quiet), 1, 0,
     "print only errors and the final table; no progress bar"},
    /* model files */
    {"save", "FILE", C(GFT_CMD_RUN), 0, parse_string, OFF(save), 0, LEN(save),
     "save the model (weights, optimiser state, step) at the end or on Ctrl-C"},
    {"resume", "FILE", C(GFT_CMD_RUN), 0, parse_string, OFF(resume), 0, LEN(resume),
     "continue a saved model up to --steps in all, exactly as if never stopped"},
    /* sweep */
    {"jobs", "N", C(GFT_CMD_SWEEP), 0, parse_jobs, 0, 1, 1024,
     "run N configurations at a time, in separate processes (default 1)"},
    {"emit-commands", NULL, C(GFT_CMD_SWEEP), 0, parse_flag, OFF(emit_commands), 1, 0,
     "print one `gradflow run` command line per configuration and stop"},
    /* gradcheck */
    {"entries", "N", C(GFT_CMD_GRADCHECK), 0, parse_size, OFF(entries), 0, 1e9,
     "entries checked per tensor, spread evenly (default 64; 0: all)"},
    {"tol", "X", C(GFT_CMD_GRADCHECK), 0, parse_pos, OFF(tol), 0, 1e6,
     "largest relative error accepted (default 1e-4 in double, 1e-1 in float)"},
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
}

/* ---- Comma lists ---------------------------------------------------------------------- */

size_t gft_list_count(const char *value)
{
    size_t n = 1;
    for (const char *p = value; *p; p++)
        n += *p == ',';
    return n;
}

void gft_list_item(const char *value, size_t i, char *buf, size_t len)
{
    const char *start = value;
    size_t n;
    for (; i > 0; i--) {
        start = strchr(start, ',');
        if (start == NULL) {
            buf[0] = '\0';
            return;
        }
        start++;
    }
    n = strcspn(start, ",");
    if (n >= len)
        n = len - 1;
    memcpy(buf, start, n);
    buf[n] = '\0';
}

static int takes_lists(gft_command cmd)
{
    return cmd == GFT_CMD_COMPARE || cmd == GFT_CMD_SWEEP;
}

/* Apply one value of a setting to c; prints the error and returns 2 when it is bad. */
static int apply(gft_config *c, gft_command cmd, const gft_option *o, const char *value)
{
    char why[1200];
    if (o->parse(c, o, value, why, sizeof why) == 0)
        return 0;
    if (o->listable && !takes_lists(cmd) && value != NULL && strchr(value, ','))
        gft_error("--%s: %s (comma lists are for compare and sweep)", o->name, why);
    else
        gft_error("--%s: %s", o->name, why);
    return GFT_EXIT_USAGE;
}

/* ---- Combinations --------------------------------------------------------------------- */

size_t gft_adding_steps(const gft_config *c)
{
    return c->seq_len ? c->seq_len : GFT_ADDING_STEPS;
}

static int given(const gft_setting *set, size_t n, const char *name)
{
    for (size_t k = 0; k < n; k++)
        if (strcmp(set[k].opt->name, name) == 0)
            return 1;
    return 0;
}

/* Options each fine alone but not together: one line, exit 2. With --resume the network
 * comes from the model file, so only the data's options are checked. Whether --seq-len
 * divides the data's width is known only once the data is loaded (gft_build_net). */
static int check_combination(gft_config *c, const gft_setting *set, size_t n)
{
    static const char *const mlp_only[] = {"depth", "width", "act", "act-param", "residual",
                                           "norm"};
    int resume = c->resume[0] != '\0';
    if (!resume && c->cell >= 0) {
        const char *cell = gf_rnn_cell_name((gf_rnn_cell)c->cell);
        for (size_t i = 0; i < sizeof mlp_only / sizeof mlp_only[0]; i++) {
            /* gauss's inputs and targets are --width wide: that --width is the data's. */
            if (!given(set, n, mlp_only[i]) ||
                (strcmp(mlp_only[i], "width") == 0 && strcmp(c->data, "gauss") == 0))
                continue;
            gft_error("--%s: not with --cell %s (a recurrent net is one %s layer of --hidden "
                      "units over --seq-len steps, then a linear output layer)", mlp_only[i],
                      cell, cell);
            return GFT_EXIT_USAGE;
        }
        if (c->init_given && c->init.kind == GF_INIT_LSUV) {
            gft_error("--init lsuv: not with --cell %s (LSUV rescales linear layers on data; a "
                      "recurrent layer takes the other schemes, each gate's W_x and W_h apart)",
                      cell);
            return GFT_EXIT_USAGE;
        }
        if (!given(set, n, "data"))
            strcpy(c->data, "adding"); /* the problem recurrent nets are shown on */
    } else if (c->cell < 0) {
        if (!resume && given(set, n, "hidden")) {
            gft_error("--hidden: only with --cell (rnn, lstm, gru); --width sizes the hidden "
                      "layers of the other nets");
            return GFT_EXIT_USAGE;
        }
        if (!resume && given(set, n, "seq-len")) {
            gft_error("--seq-len: only with --cell (rnn, lstm, gru)");
            return GFT_EXIT_USAGE;
        }
        if (!resume && strcmp(c->data, "adding") == 0) {
            gft_error("--data adding: needs a recurrent net (--cell rnn, lstm or gru)");
            return GFT_EXIT_USAGE;
        }
    }
    if (strcmp(c->data, "adding") == 0 && gft_adding_steps(c) < 2) {
        gft_error("--seq-len %zu: the adding problem needs at least 2 steps (a marker in each "
                  "half)", gft_adding_steps(c));
        return GFT_EXIT_USAGE;
    }
    if (resume || c->cell >= 0)
        return 0;
    if (c->residual > 0) {
        size_t k = c->residual, d = c->depth;
        if (d < k + 2) {
            gft_error("--residual %zu: --depth %zu leaves no room for a block (an input layer, "
                      "blocks of %zu linear layers, an output layer: --depth %zu, %zu, ...)",
                      k, d, k, k + 2, 2 * k + 2);
            return GFT_EXIT_USAGE;
        }
        if ((d - 2) % k != 0) {
            size_t lo = 2 + (d - 2) / k * k;
            gft_error("--residual %zu: --depth %zu is not 2 + a multiple of %zu (an input "
                      "layer, blocks of %zu linear layers, an output layer): try --depth %zu "
                      "or %zu", k, d, k, k, lo, lo + k);
            return GFT_EXIT_USAGE;
        }
    }
    if (c->norm != GFT_NORM_NONE) {
        const char *name = c->norm == GFT_NORM_BATCH ? "batch" : "layer";
        if (c->depth < 2) {
            gft_error("--norm %s: --depth 1 has no hidden layer to normalise", name);
            return GFT_EXIT_USAGE;
        }
        if (c->norm == GFT_NORM_LAYER && c->width < 2) {
            gft_error("--norm layer: needs --width 2 or more (one feature always normalises "
                      "to its shift)");
            return GFT_EXIT_USAGE;
        }
        if (c->norm == GFT_NORM_BATCH && c->batch < 2) {
            gft_error("--norm batch: needs --batch 2 or more (it normalises each feature over "
                      "the batch)");
            return GFT_EXIT_USAGE;
        }
    }
    return 0;
}

int gft_config_build(gft_config *c, gft_command cmd, const gft_setting *set, size_t n,
                     const size_t *choice)
{
    gft_config_default(c, cmd);
    for (size_t k = 0; k < n; k++) {
        char item[1024];
        const char *v = set[k].value;
        if (v != NULL && set[k].opt->listable && takes_lists(cmd)) {
            gft_list_item(v, choice ? choice[k] : 0, item, sizeof item);
            v = item;
        }
        if (apply(c, cmd, set[k].opt, v) != 0)
            return GFT_EXIT_USAGE;
    }
    return check_combination(c, set, n);
}

void gft_point_label(char *buf, size_t len, const gft_setting *set, size_t n,
                     const size_t *choice, int only_lists)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < n && used < len; k++) {
        char item[256];
        int is_list = set[k].value != NULL && set[k].opt->listable &&
                      gft_list_count(set[k].value) > 1;
        if (only_lists && !is_list)
            continue;
        if (set[k].value == NULL)
            snprintf(item, sizeof item, "%s", set[k].opt->name);
        else if (set[k].opt->listable)
            gft_list_item(set[k].value, choice ? choice[k] : 0, item, sizeof item);
        else
            snprintf(item, sizeof item, "%s", set[k].value);
        used += (size_t)snprintf(buf + used, len - used, "%s%s=%s", used ? "," : "",
                                 set[k].opt->name, item);
    }
    if (used >= len && len > 0)
        buf[len - 1] = '\0';
}

/* ---- Help ----------------------------------------------------------------------------- */

/* Print text from column `indent` on, wrapped at word boundaries before column `width`. */
static void print_wrapped(FILE *f, const char *text, int indent, int width)
{
    int col = indent;
    const char *p = text;
    while (*p) {
        size_t word = strcspn(p, " ");
        if (col > indent && col + 1 + (int)word > width) {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', f);
            col++;
        }
        fprintf(f, "%.*s", (int)word, p);
        col += (int)word;
        p += word;
        while (*p == ' ')
            p++;
    }
    fputc('\n', f);
}

void gft_help(FILE *f, gft_command cmd)
{
    if ((unsigned)cmd >= GFT_CMD_COUNT) {
        fprintf(f, "usage: gradflow [COMMAND] [OPTIONS]\n\n"
                   "Gradient-flow experiments: watch the backward signal vanish or explode\n"
                   "in deep networks, and what initialisation, activation and clipping do.\n"
                   "With no command, runs the showcase on the embedded digits.\n\n"
                   "commands:\n");
        for (int k = 0; k < GFT_CMD_COUNT; k++)
            fprintf(f, "  %-10s %s\n", commands[k].name, commands[k].summary);
        fprintf(f, "\n`gradflow COMMAND --help` shows a command's options; "
                   "`gradflow --version` the version.\n"
                   "exit status: 0 done, 1 failed, 2 usage error, 3 non-finite values, "
                   "130 interrupted.\n"
                   "Documentation: docs/cli.md.\n");
        return;
    }
    fprintf(f, "usage: gradflow %s %s\n\n%s\n", commands[cmd].name, commands[cmd].usage,
            commands[cmd].text);
    if (cmd == GFT_CMD_LIST)
        return;
    fprintf(f, "\noptions:%s\n", takes_lists(cmd) ? " (* takes a comma list)" : "");
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const gft_option *o = &table[i];
        char lhs[64];
        if (!(o->commands & C(cmd)))
            continue;
        snprintf(lhs, sizeof lhs, "--%s%s%s", o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
        fprintf(f, " %c%-24s ", takes_lists(cmd) && o->listable ? '*' : ' ', lhs);
        print_wrapped(f, o->help, 27, 80);
    }
    fprintf(f, "  %-24s %s\n", "--help", "this help");
}

/* ---- Parsing -------------------------------------------------------------------------- */

static const gft_option *find_option(const char *name, size_t n)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (strlen(table[i].name) == n && strncmp(table[i].name, name, n) == 0)
            return &table[i];
    return NULL;
}

static int find_command(const char *s)
{
    for (int k = 0; k < GFT_CMD_COUNT; k++)
        if (strcmp(s, commands[k].name) == 0)
            return k;
    return -1;
}

int gft_parse(gft_args *a, int argc, char **argv)
{
    int i = 1;
    int cmd = GFT_CMD_SHOWCASE;
    gft_config scratch;

    memset(a, 0, sizeof *a);
    if (argc > 1 && argv[1][0] != '-') {
        cmd = find_command(argv[1]);
        if (cmd < 0) {
            gft_error("unknown command '%s' (commands: showcase, run, compare, sweep, merge, "
                      "list, gradcheck; see gradflow --help)", argv[1]);
            return GFT_EXIT_USAGE;
        }
        i = 2;
    }
    a->cmd = (gft_command)cmd;

    /* --help and --version win over everything else, wherever they are. */
    for (int k = 1; k < argc; k++) {
        if (strcmp(argv[k], "--") == 0)
            break;
        if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0) {
            gft_help(stdout, i == 1 ? GFT_CMD_COUNT : a->cmd);
            return GFT_EXIT_OK;
        }
        if (strcmp(argv[k], "--version") == 0 || strcmp(argv[k], "-V") == 0) {
            printf("gradflow %s (gf_real = %s)\n", gf_version(), gf_real_name());
            return GFT_EXIT_OK;
        }
    }

    for (; i < argc; i++) {
        const char *arg = argv[i];
        const char *name, *eq, *value = NULL;
        const gft_option *o;
        size_t n;

        if (strcmp(arg, "--") == 0) {
            for (i++; i < argc; i++) {
                if (a->n_operands == GFT_MAX_OPERANDS) {
                    gft_error("too many directories (at most %d)", GFT_MAX_OPERANDS);
                    return GFT_EXIT_USAGE;
                }
                a->operands[a->n_operands++] = argv[i];
            }
            break;
        }
        if (strcmp(arg, "-q") == 0)
            arg = "--quiet";
        if (arg[0] != '-' || arg[1] == '\0') {
            if (a->cmd != GFT_CMD_MERGE && a->cmd != GFT_CMD_LIST) {
                gft_error("%s: unexpected argument '%s' (options start with --)",
                          gft_command_name(a->cmd), arg);
                return GFT_EXIT_USAGE;
            }
            if (a->n_operands == GFT_MAX_OPERANDS) {
                gft_error("too many arguments (at most %d)", GFT_MAX_OPERANDS);
                return GFT_EXIT_USAGE;
            }
            a->operands[a->n_operands++] = arg;
            continue;
        }
        if (arg[1] != '-') {
            gft_error("unknown option '%s' (options are spelled --name; see gradflow %s "
                      "--help)", arg, gft_command_name(a->cmd));
            return GFT_EXIT_USAGE;
        }
        name = arg + 2;
        eq = strchr(name, '=');
        n = eq ? (size_t)(eq - name) : strlen(name);
        o = find_option(name, n);
        if (o == NULL) {
            gft_error("unknown option '--%.*s' (see gradflow %s --help)", (int)n, name,
                      gft_command_name(a->cmd));
            return GFT_EXIT_USAGE;
        }
        if (!(o->commands & C(a->cmd))) {
            gft_error("--%s: not an option of %s (see gradflow %s --help)", o->name,
                      gft_command_name(a->cmd), gft_command_name(a->cmd));
            return GFT_EXIT_USAGE;
        }
        if (o->metavar == NULL) {
            if (eq != NULL) {
                gft_error("--%s takes no value", o->name);
                return GFT_EXIT_USAGE;
            }
        } else if (eq != NULL) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            gft_error("--%s needs a value (%s)", o->name, o->metavar);
            return GFT_EXIT_USAGE;
        }
        if (a->n_set == GFT_MAX_SETTINGS) {
            gft_error("too many options (at most %d)", GFT_MAX_SETTINGS);
            return GFT_EXIT_USAGE;
        }
        /* Check every value now (each item of a list), so a bad one is reported before
         * any run starts. */
        gft_config_default(&scratch, a->cmd);
        if (value != NULL && o->listable && takes_lists(a->cmd)) {
            size_t count = gft_list_count(value);
            for (size_t k = 0; k < count; k++) {
                char item[1024];
                gft_list_item(value, k, item, sizeof item);
                if (apply(&scratch, a->cmd, o, item) != 0)
                    return GFT_EXIT_USAGE;
            }
        } else if (apply(&scratch, a->cmd, o, value) != 0) {
            return GFT_EXIT_USAGE;
        }
        a->set[a->n_set].opt = o;
        a->set[a->n_set].value = value;
        a->n_set++;
    }
    if (a->cmd == GFT_CMD_LIST && a->n_operands > 1) {
        gft_error("list: give at most one section (activations, inits, losses, optimisers, "
                  "data, normalisations, cells)");
        return GFT_EXIT_USAGE;
    }
    if (a->cmd == GFT_CMD_MERGE && a->n_operands == 0) {
        gft_error("merge: give at least one directory");
        return GFT_EXIT_USAGE;
    }
    if (gft_config_build(&a->cfg, a->cmd, a->set, a->n_set, NULL) != 0)
        return GFT_EXIT_USAGE;
    return -1;
}
