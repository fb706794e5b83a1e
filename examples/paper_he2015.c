/* examples/paper_he2015.c: He, Zhang, Ren and Sun (ICCV 2015), figure 3. The same
 * 30-layer ReLU net trained twice from the same seed, with Xavier init (each layer
 * halves the signal's second moment: 2^(-1/2) per layer in norm) and with He init
 * (variance 2/n: the signal keeps its size): Xavier stalls, He trains. Prints the
 * backward signal's fall over the net beside the predicted 2^-14, and the losses.
 * The experiment is src/tool/paper_he.c, shared with `gradflow paper he2015`;
 * docs/papers.md has the set-up and the numbers. --full uses Fashion-MNIST when
 * installed (apt-get install dataset-fashion-mnist).
 * Usage: paper_he2015 [--full] [OUTDIR]  (figure: OUTDIR/he_xavier.png) */
#include "paper.h"

int main(int argc, char **argv)
{
    return gfp_main("he2015", argc, argv);
}
