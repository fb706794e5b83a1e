/* src/tool/cmd_showcase.c: `gradflow showcase`, what `gradflow` with no command does: a
 * compare over sigmoid, tanh, relu, leaky_relu and softplus, each with its suited init. */
#include <string.h>

#include "tool.h"

int gft_cmd_showcase(gft_args *a)
{
    static const gft_option act_list = {"act", "NAME", 0, 1, NULL, 0, 0, 0, ""};
    const gft_option *table;
    size_t n_opt;
    int status;

    /* The showcase is a compare over the five activations, each with its suited init. */
    if (a->n_set == GFT_MAX_SETTINGS) {
        gft_error("too many options");
        return GFT_EXIT_USAGE;
    }
    table = gft_options(&n_opt);
    for (size_t i = 0; i < n_opt; i++)
        if (strcmp(table[i].name, "act") == 0)
            a->set[a->n_set].opt = &table[i];
    if (a->set[a->n_set].opt == NULL)
        a->set[a->n_set].opt = &act_list;
    a->set[a->n_set].value = "sigmoid,tanh,relu,leaky_relu,softplus";
    a->n_set++;
    /* compare's list rules apply to a showcase's settings too. */
    a->cmd = GFT_CMD_COMPARE;
    status = gft_compare_runs(a, a->n_set - 1, gft_out_dir(&a->cfg, "gradflow-out/showcase"),
                          "showcase (embedded digits unless --data says otherwise)");
    return status;
}
