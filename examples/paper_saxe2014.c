/* examples/paper_saxe2014.c: Saxe, McClelland and Ganguli (ICLR 2014), deep linear
 * nets. Trains deep linear nets (gf_net_new_mlp with the identity activation) on a
 * linear teacher, from random orthogonal weights and from scaled Gaussian weights
 * N(0, 1/N), each depth with its best learning rate of a small grid, and counts the
 * steps to a fixed loss: flat in depth for orthogonal, growing for Gaussian.
 * The experiment is src/tool/paper_saxe.c, shared with `gradflow paper saxe2014`;
 * docs/papers.md has the set-up and the numbers.
 * Usage: paper_saxe2014 [--full] [OUTDIR]  (figure: OUTDIR/steps.png) */
#include "paper.h"

int main(int argc, char **argv)
{
    return gfp_main("saxe2014", argc, argv);
}
