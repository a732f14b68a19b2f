/* fpentropy (internal): drawing points from a grid density (see
 * sampling_impl.h).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "streams/sampling_impl.h"

void fp_grid_cumulative_mass(const fp_grid *g, const double *p, double *cdf)
{
  double acc = 0.0;
  for (size_t i = 0; i < g->ncells; i++) acc += p[i] * g->cell_volume, cdf[i] = acc;
}

void fp_grid_draw_point(const fp_grid *g, const double *cdf, gsl_rng *rng, double *x)
{
  double u = gsl_rng_uniform(rng) * cdf[g->ncells - 1];
  size_t lo = 0, hi = g->ncells - 1;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (cdf[mid] < u)
      lo = mid + 1;
    else
      hi = mid;
  }
  size_t idx[FP_MAX_DIM];
  fp_grid_unindex(g, lo, idx);
  for (int k = 0; k < g->dim; k++) x[k] = g->lower[k] + ((double)idx[k] + gsl_rng_uniform(rng)) * g->h[k];
}
