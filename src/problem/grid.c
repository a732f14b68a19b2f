/* fpentropy: the Cartesian cell-centred grid.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <fpentropy/problem/grid.h>

#include <math.h>
#include <stdint.h>

#include "core/error_impl.h"

static const char *const axis_names[FP_MAX_DIM] = {"x", "y", "z"};

const char *fp_boundary_name(fp_boundary bc)
{
  switch (bc) {
  case FP_BC_REFLECTING: return "reflecting";
  case FP_BC_PERIODIC: return "periodic";
  case FP_BC_ABSORBING: return "absorbing";
  }
  return "unknown";
}

int fp_grid_init(fp_grid *g, fp_error *err)
{
  if (!g) return fp_fail(err, FP_ERR_ARG, "fp_grid_init: grid is NULL");
  if (g->dim < 1 || g->dim > FP_MAX_DIM)
    return fp_fail(err, FP_ERR_ARG, "dimension must be 1, 2 or 3 (got %d)", g->dim);
  size_t ncells = 1;
  double volume = 1.0;
  for (int a = 0; a < FP_MAX_DIM; a++) {
    if (a >= g->dim) {
      g->n[a] = 1;
      g->lower[a] = 0.0;
      g->upper[a] = 1.0;
      g->bc[a] = FP_BC_REFLECTING;
    }
    if (g->n[a] < 1)
      return fp_fail(err, FP_ERR_ARG, "axis %s: the cell count must be positive", axis_names[a]);
    if (a < g->dim && g->n[a] < 2)
      return fp_fail(err, FP_ERR_ARG, "axis %s: at least 2 cells are needed (got %zu)",
                     axis_names[a], g->n[a]);
    if (!isfinite(g->lower[a]) || !isfinite(g->upper[a]) || !(g->upper[a] > g->lower[a]))
      return fp_fail(err, FP_ERR_ARG, "axis %s: need finite lower < upper (got %g, %g)",
                     axis_names[a], g->lower[a], g->upper[a]);
    if (g->bc[a] != FP_BC_REFLECTING && g->bc[a] != FP_BC_PERIODIC && g->bc[a] != FP_BC_ABSORBING)
      return fp_fail(err, FP_ERR_ARG, "axis %s: unknown boundary condition %d", axis_names[a],
                     (int)g->bc[a]);
    if (g->n[a] > SIZE_MAX / ncells)
      return fp_fail(err, FP_ERR_ARG, "grid too large: cell count overflows");
    ncells *= g->n[a];
  }
  for (int a = 0; a < FP_MAX_DIM; a++) {
    g->h[a] = (g->upper[a] - g->lower[a]) / (double)g->n[a];
    if (a < g->dim) volume *= g->h[a];
  }
  g->stride[0] = 1;
  g->stride[1] = g->n[0];
  g->stride[2] = g->n[0] * g->n[1];
  g->ncells = ncells;
  g->cell_volume = volume;
  return FP_OK;
}

void fp_grid_cell_center(const fp_grid *g, size_t cell, double x[FP_MAX_DIM])
{
  size_t idx[FP_MAX_DIM];
  fp_grid_unindex(g, cell, idx);
  for (int a = 0; a < FP_MAX_DIM; a++) x[a] = a < g->dim ? fp_grid_center(g, a, idx[a]) : 0.0;
}

void fp_grid_interpolate(const fp_grid *g, const double *values, size_t stride, size_t width,
                         const double x[FP_MAX_DIM], double *out)
{
  const int dim = g->dim;
  size_t i0[FP_MAX_DIM] = {0, 0, 0}, i1[FP_MAX_DIM] = {0, 0, 0};
  double w[FP_MAX_DIM] = {0, 0, 0};
  for (int k = 0; k < dim; k++) {
    double s = (x[k] - g->lower[k]) / g->h[k] - 0.5;
    double f = floor(s);
    long lo = (long)f, n = (long)g->n[k];
    w[k] = s - f;
    if (g->bc[k] == FP_BC_PERIODIC) {
      lo = ((lo % n) + n) % n;
      i0[k] = (size_t)lo;
      i1[k] = (size_t)((lo + 1) % n);
    } else if (lo < 0) {
      i0[k] = i1[k] = 0, w[k] = 0.0;
    } else if (lo >= n - 1) {
      i0[k] = i1[k] = (size_t)(n - 1), w[k] = 0.0;
    } else {
      i0[k] = (size_t)lo, i1[k] = (size_t)lo + 1;
    }
  }
  for (size_t q = 0; q < width; q++) out[q] = 0.0;
  for (int corner = 0; corner < (1 << dim); corner++) {
    double weight = 1.0;
    size_t idx[FP_MAX_DIM] = {0, 0, 0};
    for (int k = 0; k < dim; k++) {
      int upper = (corner >> k) & 1;
      weight *= upper ? w[k] : 1.0 - w[k];
      idx[k] = upper ? i1[k] : i0[k];
    }
    if (weight == 0.0) continue;
    const double *row = values + fp_grid_index(g, idx) * stride;
    for (size_t q = 0; q < width; q++) out[q] += weight * row[q];
  }
}
