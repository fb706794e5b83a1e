/* examples/paper_pascanu2013.c: Pascanu, Mikolov and Bengio (ICML 2013), exploding
 * gradients and norm clipping. A tanh RNN whose recurrent weights start with spectral
 * radius above 1 learns the adding problem by plain SGD twice, from the same weights on
 * the same batches: without clipping its gradient norm spikes and the run fails, with
 * the global norm clipped at the average norm of an unclipped warm-up (their heuristic)
 * it solves the task. Prints the spikes, the clip events and the test MSE beside the
 * paper's claims. The experiment is src/tool/paper_pascanu.c, shared with `gradflow
 * paper pascanu2013`; docs/papers.md has the set-up and the numbers. --full also sweeps
 * the threshold from 0.5 to 10 times the average norm.
 * Usage: paper_pascanu2013 [--full] [OUTDIR]  (figures: OUTDIR/pascanu_norms.png,
 * OUTDIR/pascanu_loss.png) */
#include "paper.h"

int main(int argc, char **argv)
{
    return gfp_main("pascanu2013", argc, argv);
}
