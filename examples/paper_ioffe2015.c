/* examples/paper_ioffe2015.c: Ioffe and Szegedy (ICML 2015), figure 1. Three hidden
 * layers of 100 sigmoids trained by SGD (batches of 60) twice from the same weights and
 * batches, without and with batch norm before each sigmoid: the test accuracy against
 * steps (the normalised net is higher, sooner) and the 15th, 50th and 85th percentiles
 * of one sigmoid's input over training (they drift without batch norm and stay put with
 * it). The experiment is src/tool/paper_ioffe.c, shared with `gradflow paper ioffe2015`;
 * docs/papers.md has the set-up and the numbers. --full uses Fashion-MNIST when
 * installed (apt-get install dataset-fashion-mnist).
 * Usage: paper_ioffe2015 [--full] [OUTDIR]  (figures: OUTDIR/ioffe_fig1.png,
 * OUTDIR/ioffe_pre_bn.png) */
#include "paper.h"

int main(int argc, char **argv)
{
    return gfp_main("ioffe2015", argc, argv);
}
