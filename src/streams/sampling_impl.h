/* fpentropy (internal): drawing points from a grid density.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Particles start from the PDE's initial grid density and the sample-based
 * studies draw reference samples from the grid q_ref the same way: a cell
 * with probability p_i |V| (binary search in the cumulative masses), then a
 * uniform position inside it. */
#ifndef FPENTROPY_SAMPLING_IMPL_H
#define FPENTROPY_SAMPLING_IMPL_H

#include <gsl/gsl_rng.h>

#include <fpentropy/problem/grid.h>

/* cdf[i] = sum_{j <= i} p_j |V| */
void fp_grid_cumulative_mass(const fp_grid *g, const double *p, double *cdf);

/* One point x[0..dim-1] drawn from the density whose cumulative masses are cdf. */
void fp_grid_draw_point(const fp_grid *g, const double *cdf, gsl_rng *rng, double *x);

#endif /* FPENTROPY_SAMPLING_IMPL_H */
