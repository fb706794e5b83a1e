/* src/tool/parse.c: reading the command line into a command, its settings (as typed, comma
 * lists kept whole) and the configuration of one grid point. Each value is checked as
 * it is read, then the options that are fine alone but not together; errors are one
 * line naming the option, and exit status 2. The options themselves are in options.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tool.h"

/* ---- Comma lists ---------------------------------------------------------------------- */

size_t gft_list_count(const char *value)
{
    size_t n = 1;
    for (const char *p = value; *p; p++)
        n += *p == ',';
    return n;
}

size_t gft_list_item(const char *value, size_t i, char *buf, size_t len)
{
    const char *start = value;
    size_t n, full;
    for (; i > 0; i--) {
        start = strchr(start, ',');
        if (start == NULL) {
            buf[0] = '\0';
            return 0;
        }
        start++;
    }
    n = full = strcspn(start, ",");
    if (n >= len)
        n = len - 1;
    memcpy(buf, start, n);
    buf[n] = '\0';
    return full;
}

int gft_takes_lists(gft_command cmd)
{
    return cmd == GFT_CMD_COMPARE || cmd == GFT_CMD_SWEEP;
}

/* Apply one value of a setting to c; prints the error and returns 2 when it is bad. */
static int apply(gft_config *c, gft_command cmd, const gft_option *o, const char *value)
{
    char why[1200];
    if (o->parse(c, o, value, why, sizeof why) == 0)
        return 0;
    if (o->listable && !gft_takes_lists(cmd) && value != NULL && strchr(value, ','))
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

/* A recurrent net (--cell): the MLP's options refused, its data adding by default. */
static int check_recurrent(gft_config *c, const gft_setting *set, size_t n)
{
    static const char *const mlp_only[] = {"depth", "width", "act", "act-param", "residual",
                                           "norm"};
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
    return 0;
}

/* A net without --cell: the recurrent options and data refused. */
static int check_not_recurrent(const gft_config *c, const gft_setting *set, size_t n)
{
    if (given(set, n, "hidden")) {
        gft_error("--hidden: only with --cell (rnn, lstm, gru); --width sizes the hidden "
                  "layers of the other nets");
        return GFT_EXIT_USAGE;
    }
    if (given(set, n, "seq-len")) {
        gft_error("--seq-len: only with --cell (rnn, lstm, gru)");
        return GFT_EXIT_USAGE;
    }
    if (strcmp(c->data, "adding") == 0) {
        gft_error("--data adding: needs a recurrent net (--cell rnn, lstm or gru)");
        return GFT_EXIT_USAGE;
    }
    return 0;
}

/* --act-param 0 where the activation's parameter defaults to something else: the
 * library reads 0 as "the default" (gf_mlp_spec, net.h), so say what 0 would mean. */
static int check_act_param(const gft_config *c)
{
    const gf_activation *act = NULL;
    if (c->act_param != 0 || gf_activation_find(&act, c->act) != GF_OK ||
        act->param_name == NULL || act->default_param == 0)
        return 0;
    gft_error("--act-param 0: %s with a %s of 0 is plain relu: use --act relu (or leave "
              "--act-param out for the default %g)", act->name, act->param_name,
              act->default_param);
    return GFT_EXIT_USAGE;
}

/* --residual K and --norm against --depth, --width and --batch. */
static int check_cures(const gft_config *c)
{
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

/* --lr-schedule cosine:MIN_LR decays towards MIN_LR from the base rate: a MIN_LR at or
 * above the rate would be a schedule that climbs, or stands still. The base rate is
 * --lr, else the optimiser's default; with --resume and no --lr it comes from the model
 * file and is checked when the run starts (train.c). */
static int check_schedule(const gft_config *c)
{
    double lr = isnan(c->lr) ? gf_optim_default(c->optim).lr : c->lr;
    if (c->lr_schedule.kind != GF_LR_COSINE || (c->resume[0] && isnan(c->lr)) ||
        c->lr_schedule.min_lr < lr)
        return 0;
    gft_error("--lr-schedule cosine:%g: MIN_LR must be below the learning rate (%g%s)",
              c->lr_schedule.min_lr, lr, isnan(c->lr) ? ", the optimiser's default" : ", --lr");
    return GFT_EXIT_USAGE;
}

/* Options each fine alone but not together: one line, exit 2. With --resume the network
 * comes from the model file, so only the data's options are checked. Whether --seq-len
 * divides the data's width is known only once the data is loaded (gft_build_net). */
static int check_combination(gft_config *c, const gft_setting *set, size_t n)
{
    int resume = c->resume[0] != '\0';
    static const char *const csv_only[] = {"label-column", "header", "no-header"};
    for (size_t i = 0; i < sizeof csv_only / sizeof csv_only[0]; i++)
        if (given(set, n, csv_only[i]) && gft_data_is_builtin(c->data)) {
            gft_error("--%s: only for a CSV file, not --data %s", csv_only[i], c->data);
            return GFT_EXIT_USAGE;
        }
    if (!resume) {
        int st = c->cell >= 0 ? check_recurrent(c, set, n) : check_not_recurrent(c, set, n);
        if (st != 0)
            return st;
    }
    if (strcmp(c->data, "adding") == 0 && gft_adding_steps(c) < 2) {
        gft_error("--seq-len %zu: the adding problem needs at least 2 steps (a marker in each "
                  "half)", gft_adding_steps(c));
        return GFT_EXIT_USAGE;
    }
    if (check_schedule(c) != 0)
        return GFT_EXIT_USAGE;
    if (resume || c->cell >= 0)
        return 0;
    if (check_act_param(c) != 0)
        return GFT_EXIT_USAGE;
    return check_cures(c);
}

int gft_config_build(gft_config *c, gft_command cmd, const gft_setting *set, size_t n,
                     const size_t *choice)
{
    gft_config_default(c, cmd);
    for (size_t k = 0; k < n; k++) {
        char item[GFT_MAX_VALUE];
        const char *v = set[k].value;
        if (v != NULL && set[k].opt->listable && gft_takes_lists(cmd)) {
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

/* ---- Parsing -------------------------------------------------------------------------- */

static const gft_option *find_option(const char *name, size_t n)
{
    size_t count;
    const gft_option *table = gft_options(&count);
    for (size_t i = 0; i < count; i++)
        if (strlen(table[i].name) == n && strncmp(table[i].name, name, n) == 0)
            return &table[i];
    return NULL;
}

/* An operand (merge's directories, list's section); what names them in the error. */
static int add_operand(gft_args *a, const char *arg, const char *what)
{
    if (a->n_operands == GFT_MAX_OPERANDS) {
        gft_error("too many %s (at most %d)", what, GFT_MAX_OPERANDS);
        return GFT_EXIT_USAGE;
    }
    a->operands[a->n_operands++] = arg;
    return 0;
}

/* --help and --version win over everything else, wherever they are: the exit status
 * after printing them, or -1 when neither is given. */
static int help_or_version(int argc, char **argv, gft_command help_cmd)
{
    for (int k = 1; k < argc; k++) {
        if (strcmp(argv[k], "--") == 0)
            break;
        if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0) {
            gft_help(stdout, help_cmd);
            return GFT_EXIT_OK;
        }
        if (strcmp(argv[k], "--version") == 0 || strcmp(argv[k], "-V") == 0) {
            printf("gradflow %s (gf_real = %s)\n", gf_version(), gf_real_name());
            return GFT_EXIT_OK;
        }
    }
    return -1;
}

/* The option of "--name" or "--name=value" for the command, or NULL (said). */
static const gft_option *known_option(const char *name, const char *eq, gft_command cmd)
{
    size_t n = eq ? (size_t)(eq - name) : strlen(name);
    const gft_option *o = find_option(name, n);
    if (o == NULL) {
        gft_error("unknown option '--%.*s' (see gradflow %s --help)", (int)n, name,
                  gft_command_name(cmd));
        return NULL;
    }
    if (!(o->commands & (1u << cmd))) {
        gft_error("--%s: not an option of %s (see gradflow %s --help)", o->name,
                  gft_command_name(cmd), gft_command_name(cmd));
        return NULL;
    }
    return o;
}

/* A value (or comma-list item) beyond GFT_MAX_VALUE - 1 characters: refused, never cut
 * short (a cut "normal:0.000...05" would read as a std of 0). */
static int too_long(const gft_option *o, const char *value)
{
    gft_error("--%s: '%.40s...' is too long (a value or list item is at most %d characters)",
              o->name, value, GFT_MAX_VALUE - 1);
    return GFT_EXIT_USAGE;
}

/* Check every value of a setting now (each item of a list), so a bad one is reported
 * before any run starts. */
static int check_value(gft_command cmd, const gft_option *o, const char *value)
{
    gft_config scratch;
    gft_config_default(&scratch, cmd);
    if (value != NULL && o->listable && gft_takes_lists(cmd)) {
        size_t count = gft_list_count(value);
        for (size_t k = 0; k < count; k++) {
            char item[GFT_MAX_VALUE];
            if (gft_list_item(value, k, item, sizeof item) >= sizeof item)
                return too_long(o, item);
            if (apply(&scratch, cmd, o, item) != 0)
                return GFT_EXIT_USAGE;
        }
        return 0;
    }
    /* Every buffer a value is later copied into (a list item, a sweep's child command
     * line) holds GFT_MAX_VALUE bytes: a longer value would be cut short, silently. */
    if (value != NULL && strlen(value) >= GFT_MAX_VALUE)
        return too_long(o, value);
    return apply(&scratch, cmd, o, value) != 0 ? GFT_EXIT_USAGE : 0;
}

/* One option at argv[*i] (arg, "-q" already spelled out), with its value from "=value"
 * or the next argument (then *i moves past it), checked and added to a's settings. */
static int read_option(gft_args *a, const char *arg, int argc, char **argv, int *i)
{
    const char *name = arg + 2, *eq = strchr(name, '='), *value = NULL;
    const gft_option *o = known_option(name, eq, a->cmd);
    if (o == NULL)
        return GFT_EXIT_USAGE;
    if (o->metavar == NULL) {
        if (eq != NULL) {
            gft_error("--%s takes no value", o->name);
            return GFT_EXIT_USAGE;
        }
    } else if (eq != NULL) {
        value = eq + 1;
    } else if (*i + 1 < argc) {
        value = argv[++*i];
    } else {
        gft_error("--%s needs a value (%s)", o->name, o->metavar);
        return GFT_EXIT_USAGE;
    }
    if (a->n_set == GFT_MAX_SETTINGS) {
        gft_error("too many options (at most %d)", GFT_MAX_SETTINGS);
        return GFT_EXIT_USAGE;
    }
    if (check_value(a->cmd, o, value) != 0)
        return GFT_EXIT_USAGE;
    a->set[a->n_set].opt = o;
    a->set[a->n_set].value = value;
    a->n_set++;
    return 0;
}

/* The arguments after the command: options, operands, and everything after "--" as
 * operands. */
static int read_arguments(gft_args *a, int i, int argc, char **argv)
{
    for (; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0) {
            /* Only merge and list take operands; after "--" the other commands would
             * ignore what follows (gradflow run -- --depth 5 training the default net). */
            if (a->cmd != GFT_CMD_MERGE && a->cmd != GFT_CMD_LIST &&
                a->cmd != GFT_CMD_PAPER && i + 1 < argc) {
                gft_error("%s: unexpected argument '%s' after -- (%s takes no operands; "
                          "options go before --)", gft_command_name(a->cmd), argv[i + 1],
                          gft_command_name(a->cmd));
                return GFT_EXIT_USAGE;
            }
            for (i++; i < argc; i++)
                if (add_operand(a, argv[i], "directories") != 0)
                    return GFT_EXIT_USAGE;
            break;
        }
        if (strcmp(arg, "-q") == 0)
            arg = "--quiet";
        if (arg[0] != '-' || arg[1] == '\0') {
            if (a->cmd != GFT_CMD_MERGE && a->cmd != GFT_CMD_LIST &&
                a->cmd != GFT_CMD_PAPER) {
                gft_error("%s: unexpected argument '%s' (options start with --)",
                          gft_command_name(a->cmd), arg);
                return GFT_EXIT_USAGE;
            }
            if (add_operand(a, arg, "arguments") != 0)
                return GFT_EXIT_USAGE;
            continue;
        }
        if (arg[1] != '-') {
            gft_error("unknown option '%s' (options are spelled --name; see gradflow %s "
                      "--help)", arg, gft_command_name(a->cmd));
            return GFT_EXIT_USAGE;
        }
        if (read_option(a, arg, argc, argv, &i) != 0)
            return GFT_EXIT_USAGE;
    }
    return 0;
}

int gft_parse(gft_args *a, int argc, char **argv)
{
    int i = 1, status;
    int cmd = GFT_CMD_SHOWCASE;

    memset(a, 0, sizeof *a);
    if (argc > 1 && argv[1][0] != '-') {
        cmd = gft_command_find(argv[1]);
        if (cmd < 0) {
            gft_error("unknown command '%s' (commands: showcase, run, compare, sweep, merge, "
                      "list, gradcheck, paper; see gradflow --help)", argv[1]);
            return GFT_EXIT_USAGE;
        }
        i = 2;
    }
    a->cmd = (gft_command)cmd;
    status = help_or_version(argc, argv, i == 1 ? GFT_CMD_COUNT : a->cmd);
    if (status >= 0)
        return status;
    if (read_arguments(a, i, argc, argv) != 0)
        return GFT_EXIT_USAGE;
    if (a->cmd == GFT_CMD_LIST && a->n_operands > 1) {
        gft_error("list: give at most one section (activations, inits, losses, optimisers, "
                  "data, normalisations, cells)");
        return GFT_EXIT_USAGE;
    }
    if (a->cmd == GFT_CMD_PAPER && a->n_operands != 1) {
        gft_error("paper: give one paper's name (see gradflow list papers)");
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
