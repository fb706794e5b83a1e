/* src/tool/help.c: the commands' names and texts, `--help` for the program and for each
 * command (its options read from the table in options.c, wrapped at 80 columns), and the
 * program's one-line error messages. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tool.h"

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
        "[activations|inits|losses|optimisers|data|normalisations|cells|papers]",
        "activations (formula, bound, suited init), inits, losses, optimisers, data, ...",
        "Lists what can be chosen: activations with their formula, the bound on their\n"
        "derivative and their suited initialisation; init schemes; losses; optimisers;\n"
        "data sets; normalisation layers (--norm); recurrent cells (--cell); the papers\n"
        "`gradflow paper` reproduces. Give a\n"
        "section name (or its first letters) to list only that."},
    [GFT_CMD_GRADCHECK] = {"gradcheck", "[OPTIONS]",
        "check the configured net's backward pass against finite differences",
        "Builds the configured network, runs gf_net_gradcheck on a small batch of the data\n"
        "and prints each layer's worst relative error (parameters and input). Exit status\n"
        "1 when an error is above --tol."},
    [GFT_CMD_PAPER] = {"paper", "[OPTIONS] NAME",
        "reproduce a classic paper (gradflow list papers), published figures beside ours",
        "Runs a reduced but faithful reproduction of a classic paper (names: gradflow list\n"
        "papers), writes its figures, results.tsv and index.html into --out (default\n"
        "./gradflow-out/paper/NAME) and prints each published figure beside ours with the\n"
        "tolerance it is held to. The quick variant (default) takes seconds and is what\n"
        "CTest runs; --full runs the larger one (docs/papers.md gives the run times).\n"
        "Exit status 1 when a claim does not hold within its tolerance."},
};

const char *gft_command_name(gft_command cmd)
{
    return (unsigned)cmd < GFT_CMD_COUNT ? commands[cmd].name : "gradflow";
}


int gft_command_find(const char *name)
{
    for (int k = 0; k < GFT_CMD_COUNT; k++)
        if (strcmp(name, commands[k].name) == 0)
            return k;
    return -1;
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
    const gft_option *table;
    size_t n_options;
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
    fprintf(f, "\noptions:%s\n", gft_takes_lists(cmd) ? " (* takes a comma list)" : "");
    table = gft_options(&n_options);
    for (size_t i = 0; i < n_options; i++) {
        const gft_option *o = &table[i];
        char lhs[64];
        if (!(o->commands & (1u << cmd)))
            continue;
        snprintf(lhs, sizeof lhs, "--%s%s%s", o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
        fprintf(f, " %c%-24s ", gft_takes_lists(cmd) && o->listable ? '*' : ' ', lhs);
        print_wrapped(f, o->help, 27, 80);
    }
    fprintf(f, "  %-24s %s\n", "--help", "this help");
}
