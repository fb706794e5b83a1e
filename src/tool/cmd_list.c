/* src/tool/cmd_list.c: `gradflow list [SECTION]`: what can be chosen: activations (from the
 * library's table, with formula, bound and suited init), init schemes, losses, optimisers
 * and clipping, data sets, normalisations and recurrent cells. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

static const char *const init_text[GF_INIT_COUNT] = {
    [GF_INIT_ZEROS] = "every weight 0 (the symmetry is never broken)",
    [GF_INIT_CONSTANT] = "every weight = X (constant:0.6 is the scalar chain)",
    [GF_INIT_NORMAL] = "N(0, X^2), X = 1 by default: \"the common procedure\"",
    [GF_INIT_UNIFORM] = "U(-X, X), X = 1 by default",
    [GF_INIT_XAVIER_NORMAL] = "N(0, X^2 2/(fan_in+fan_out)) (Glorot and Bengio 2010), gain X",
    [GF_INIT_XAVIER_UNIFORM] = "U(-r, r), r = X sqrt(6/(fan_in+fan_out))",
    [GF_INIT_HE_NORMAL] = "N(0, 2/((1+X^2) fan_in)) (He et al. 2015), X = leaky slope",
    [GF_INIT_HE_UNIFORM] = "U(-r, r), r = sqrt(6/((1+X^2) fan_in))",
    [GF_INIT_LECUN_NORMAL] = "N(0, X^2/fan_in) (LeCun 1998)",
    [GF_INIT_LECUN_UNIFORM] = "U(-r, r), r = X sqrt(3/fan_in)",
    [GF_INIT_ORTHOGONAL] = "X times a random orthogonal matrix (Saxe et al. 2014)",
    [GF_INIT_LSUV] = ("orthogonal, then each layer scaled to unit output variance on a "
                      "batch (Mishkin and Matas 2016)"),
};

static void list_activations(void)
{
    printf("activations (--act NAME, --act-param X); bound = sup |f'| at the default "
           "parameter; init = the suited scheme and its gain:\n");
    for (size_t i = 0; i < gf_activation_count(); i++) {
        const gf_activation *f = gf_activation_at(i);
        printf("  %-20s bound %-6.4g init %s (gain %.4g)", f->name,
               f->deriv_bound(f->default_param), f->suited_init, f->gain(f->default_param));
        if (f->param_name)
            printf("; --act-param %s, default %g", f->param_name, f->default_param);
        printf("%s\n", f->saturating ? "; saturates" : "");
        printf("  %-20s %s\n", "", f->formula);
    }
    /* The activation layers of a kind of their own (prelu), after the table's rows. */
    for (size_t i = gf_activation_count(); i < gft_act_count(); i++) {
        const gf_activation *like;
        double p;
        const char *formula = gft_act_own_kind(i, &like, &p);
        if (formula == NULL)
            continue;
        printf("  %-20s bound %-6.4g init %s (gain %.4g); --act-param initial %s, default "
               "%g; a layer kind of its own\n", gft_act_name(i), like->deriv_bound(p),
               like->suited_init, like->gain(p), like->param_name, p);
        printf("  %-20s %s of slope %g\n", "", formula, p);
    }
}

static void list_inits(void)
{
    printf("init schemes (--init NAME[:X]; default: the activation's suited one):\n");
    for (int k = 0; k < GF_INIT_COUNT; k++)
        printf("  %-16s %s\n", gf_init_name((gf_init_kind)k), init_text[k]);
    printf("  (also: glorot = xavier, kaiming = he, *_normal spellings)\n");
}

static void list_losses(void)
{
    printf("losses (--loss NAME; default auto: cross_entropy for classes, mse otherwise):\n"
           "  %-16s mean squared error over all outputs (class targets one-hot)\n"
           "  %-16s softmax cross-entropy (log-sum-exp), class targets\n"
           "  %-16s binary cross-entropy on logits, targets in [0, 1] (classes one-hot)\n",
           gf_loss_name(GF_LOSS_MSE), gf_loss_name(GF_LOSS_SOFTMAX_CE),
           gf_loss_name(GF_LOSS_BCE_LOGITS));
}

static void list_optimisers(void)
{
    printf("optimisers (--optim NAME, --lr X, --momentum X):\n"
           "  %-16s delta = -lr g (default lr 0.01)\n"
           "  %-16s v = mu v + g, delta = -lr v (lr 0.01, mu 0.9; the default)\n"
           "  %-16s Kingma and Ba 2015, bias-corrected (lr 0.001)\n",
           gf_optim_name(GF_OPTIM_SGD), gf_optim_name(GF_OPTIM_MOMENTUM),
           gf_optim_name(GF_OPTIM_ADAM));
    printf("clipping (--clip KIND:T or --clip-value/--clip-norm/--clip-global-norm T):\n"
           "  value:T         every component into [-T, T]\n"
           "  norm:T          each layer's gradient scaled to norm <= T\n"
           "  global_norm:T   all gradients together scaled to norm <= T\n");
}

static void list_data(void)
{
    const char *fm = gf_data_fashion_mnist_dir();
    char probe[4200];
    int have;
    snprintf(probe, sizeof probe, "%s/train-images-idx3-ubyte.gz", fm);
    have = access(probe, R_OK) == 0;
    if (!have) {
        snprintf(probe, sizeof probe, "%s/train-images-idx3-ubyte", fm);
        have = access(probe, R_OK) == 0;
    }
    printf("data sets (--data NAME or a CSV file):\n"
           "  %-16s 1797 8x8 images of digits, 10 classes, embedded (UCI, Alpaydin and "
           "Kaynak, CC BY 4.0)\n"
           "  %-16s regression, inputs and targets i.i.d. N(0,1), --width wide (--samples)\n"
           "  %-16s 2 inputs in [-1,1], class = sign(x0) xor sign(x1) (--samples)\n"
           "  %-16s two interleaved spirals, 2 classes (--samples)\n"
           "  %-16s two moons, 2 classes (--samples)\n"
           "  %-16s 60,000 + 10,000 28x28 images, 10 classes, from %s (%s)\n"
           "  %-16s the adding problem, for --cell: T steps of (value ~ U(0,1), marker), two "
           "markers,\n"
           "  %-16s one in each half; target = the sum of the marked values (regression; "
           "--seq-len T,\n"
           "  %-16s default %d; --samples). Always answering 1 scores MSE 1/6\n"
           "  %-16s numbers, label in --label-column N (default last), --header/--no-header\n"
           "Sets without a test set of their own hold out --test-fraction (default 0.2).\n",
           "digits", "gauss", "xor", "spirals", "moons", "fashion-mnist", fm,
           have ? "found" : "not installed: apt-get install dataset-fashion-mnist",
           "adding", "", "", GFT_ADDING_STEPS, "FILE.csv");
}

static void list_normalisations(void)
{
    printf("normalisations (--norm KIND: after each hidden linear layer, before its "
           "activation; in residual blocks too):\n"
           "  %-16s no normalisation (the default)\n"
           "  %-16s batch norm (Ioffe and Szegedy 2015): each feature over the batch, eps "
           "1e-5; running\n"
           "  %-16s statistics (momentum 0.1) replace the batch's at evaluation; needs --batch "
           ">= 2\n"
           "  %-16s layer norm (Ba et al. 2016): each example over its features, eps 1e-5; "
           "needs --width >= 2\n"
           "Both learn a scale gamma (from 1) and a shift beta (from 0); init schemes leave "
           "them alone.\n"
           "residual blocks (--residual K): y = x + F(x), F = K linear layers with the "
           "normalisation and\n"
           "activation after each but the last; --depth counts an input layer, the blocks' "
           "layers and an\n"
           "output layer (docs/cli.md).\n",
           "none", "batch", "", "layer");
}

static void list_cells(void)
{
    printf("recurrent cells (--cell KIND --seq-len T --hidden H: one recurrent layer reading "
           "the input as T\n"
           "steps, then a linear output layer on h_T; trained through time, ||dL/dh_t|| "
           "recorded per step t):\n"
           "  %-16s h_t = tanh(W_x x_t + W_h h_{t-1} + b) (also: tanh)\n"
           "  %-16s i, f, o = sigmoid(.), g = tanh(.); c_t = f c_{t-1} + i g, h_t = o tanh(c_t);"
           " forget\n"
           "  %-16s bias starts at 1 (Hochreiter and Schmidhuber 1997, Gers et al. 2000)\n"
           "  %-16s r, z = sigmoid(.); n = tanh(W_x x_t + W_h (r h_{t-1}) + b); h_t = (1 - z) n "
           "+ z h_{t-1}\n"
           "  %-16s (Cho et al. 2014)\n"
           "Weights start U(-1/sqrt(H), 1/sqrt(H)) unless --init names a scheme (each gate's "
           "W_x and W_h\n"
           "apart; not lsuv). Defaults: --data adding, --seq-len %d for it (else one input "
           "column per step),\n"
           "--hidden %d.\n",
           gf_rnn_cell_name(GF_RNN_TANH), gf_rnn_cell_name(GF_RNN_LSTM), "",
           gf_rnn_cell_name(GF_RNN_GRU), "", GFT_ADDING_STEPS, GFT_HIDDEN);
}

int gft_cmd_list(gft_args *a)
{
    static const struct {
        const char *name;
        void (*fn)(void);
    } sections[] = {{"activations", list_activations}, {"inits", list_inits},
                    {"losses", list_losses}, {"optimisers", list_optimisers},
                    {"data", list_data}, {"normalisations", list_normalisations},
                    {"cells", list_cells}, {"papers", gft_list_papers}};
    const char *want = a->n_operands ? a->operands[0] : NULL;
    int shown = 0;
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        if (want != NULL && strncmp(sections[i].name, want, strlen(want)) != 0 &&
            !(strcmp(want, "optimizers") == 0 && i == 3) &&
            !(strcmp(want, "normalizations") == 0 && i == 5))
            continue;
        if (shown++)
            printf("\n");
        sections[i].fn();
        if (want != NULL)
            break;
    }
    if (!shown) {
        gft_error("list: unknown section '%s' (activations, inits, losses, optimisers, data, "
                  "normalisations, cells, papers)", want);
        return GFT_EXIT_USAGE;
    }
    return 0;
}
