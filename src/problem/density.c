/* fpentropy: densities on the grid.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <fpentropy/problem/density.h>

#include <math.h>

#include "core/error_impl.h"

static int cell_error(const fp_grid *g, size_t cell, const char *what, const char *problem,
                      double value, fp_error *err)
{
  double x[FP_MAX_DIM];
  fp_grid_cell_center(g, cell, x);
  char where[128];
  fp_format_point(where, sizeof where, g->dim, x);
  return fp_fail(err, FP_ERR_NUMERIC, "%s is %s at %s (value %g)", what, problem, where, value);
}

int fp_density_sample(const fp_grid *g, fp_expr *e, double t, const char *what,
                      bool require_positive, double *p, double *Z, fp_error *err)
{
  double sum = 0.0;
  for (size_t i = 0; i < g->ncells; i++) {
    double x[FP_MAX_DIM];
    fp_grid_cell_center(g, i, x);
    double v = fp_expr_eval(e, x, t);
    if (!isfinite(v)) return cell_error(g, i, what, "not finite", v, err);
    if (v < 0.0) return cell_error(g, i, what, "negative", v, err);
    if (require_positive && !(v > 0.0))
      return cell_error(g, i, what, "zero (it must be positive on the whole grid)", v, err);
    p[i] = v;
    sum += v;
  }
  double mass = sum * g->cell_volume;
  if (!(mass > 0.0) || !isfinite(mass))
    return fp_fail(err, FP_ERR_NUMERIC, "%s has total mass %g on the grid; it cannot be normalised",
                   what, mass);
  for (size_t i = 0; i < g->ncells; i++) p[i] /= mass;
  if (Z) *Z = mass;
  return FP_OK;
}

double fp_density_mass(const fp_grid *g, const double *p)
{
  double sum = 0.0;
  for (size_t i = 0; i < g->ncells; i++) sum += p[i];
  return sum * g->cell_volume;
}

double fp_density_min(const fp_grid *g, const double *p, size_t *where)
{
  double m = INFINITY;
  size_t at = 0;
  for (size_t i = 0; i < g->ncells; i++)
    if (p[i] < m) m = p[i], at = i;
  if (where) *where = at;
  return m;
}

double fp_density_l1_distance(const fp_grid *g, const double *p, const double *q)
{
  double sum = 0.0;
  for (size_t i = 0; i < g->ncells; i++) sum += fabs(p[i] - q[i]);
  return sum * g->cell_volume;
}
