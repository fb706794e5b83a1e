/* examples/paper_schoenholz2017.c: Schoenholz, Gilmer, Ganguli and Sohl-Dickstein
 * (ICLR 2017), the order-to-chaos map. Trains tanh nets over a grid of sigma_w^2 by
 * depth (in two processes), draws the training accuracy as a heat map and the
 * mean-field trainable depth 6 xi_c (gf_theory_depth_scales) over it, with the
 * critical line sigma_w^2 = 1 at sigma_b = 0.
 * The experiment is src/tool/paper_schoenholz.c, shared with `gradflow paper
 * schoenholz2017`; docs/papers.md has the set-up and the numbers.
 * Usage: paper_schoenholz2017 [--full] [OUTDIR]  (figure: OUTDIR/order_chaos.png) */
#include "paper.h"

int main(int argc, char **argv)
{
    return gfp_main("schoenholz2017", argc, argv);
}
