/* examples/paper_glorot2010.c: Glorot and Bengio (AISTATS 2010). A net of 5 hidden
 * tanh layers at initialisation, with the standard init U[-1/sqrt(n), 1/sqrt(n)] and
 * the normalised (Xavier) init: per-layer histograms of activations and back-propagated
 * gradients (their figures 6 and 7, through gf_hist_write), weight-gradient norms
 * (figure 8) and the mean singular value of each layer's Jacobian (0.5 against 0.8 in
 * the paper). --full also trains the four nets of their Table 1 on Fashion-MNIST.
 * The experiment is src/tool/paper_glorot.c, shared with `gradflow paper glorot2010`;
 * docs/papers.md has the set-up and the numbers.
 * Usage: paper_glorot2010 [--full] [OUTDIR]  (figures: OUTDIR/hist_*.png) */
#include "paper.h"

int main(int argc, char **argv)
{
    return gfp_main("glorot2010", argc, argv);
}
