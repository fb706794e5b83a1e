/* examples/paper_pennington2017.c: Pennington, Schoenholz and Ganguli (NIPS 2017),
 * dynamical isometry. Builds deep nets at criticality (tanh with orthogonal and with
 * Gaussian weights, ReLU with orthogonal and He weights), takes the input-output
 * Jacobian at a few points (gf_net_jacobian_singular_values) and compares the spread of
 * its singular values, m_2 / m_1^2 - 1 of each Jacobian (var(s^2) at chi = 1), with the
 * paper's free-probability prediction L (mu_2/mu_1^2 - 1 - s_1): orthogonal tanh stays
 * near 1, the others spread.
 * The experiment is src/tool/paper_pennington.c, shared with `gradflow paper
 * pennington2017`; docs/papers.md has the set-up and the numbers.
 * Usage: paper_pennington2017 [--full] [OUTDIR]  (figure: OUTDIR/spectra.png) */
#include "paper.h"

int main(int argc, char **argv)
{
    return gfp_main("pennington2017", argc, argv);
}
