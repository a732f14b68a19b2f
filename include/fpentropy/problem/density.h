/* fpentropy: densities on the grid (sampling, normalisation, norms).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * This header contains:
 *   - fp_density_sample(): an expression evaluated at the cell centres,
 *     checked (finite, >= 0, or > 0 where required) and normalised to unit
 *     mass on the grid, with the normalising constant reported;
 *   - fp_density_mass(), fp_density_min(), fp_density_l1_distance().
 *
 * A grid density p_i is a cell value; its mass is sum_i p_i |V| (midpoint
 * rule, second order for smooth densities).
 */
#ifndef FPENTROPY_DENSITY_H
#define FPENTROPY_DENSITY_H

#include <fpentropy/export.h>

#include <stdbool.h>
#include <stddef.h>

#include <fpentropy/problem/expr.h>
#include <fpentropy/problem/grid.h>
#include <fpentropy/core/status.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Evaluate `e` at every cell centre at time t into p (ncells), then divide by
 * Z = sum_i e(x_i) |V| so that the mass is 1; *Z receives Z (may be NULL).
 *   what             names the density in messages ("initial density");
 *   require_positive demands e > 0 at every cell (a reference density must
 *                    be positive wherever p can be, and p > 0 everywhere
 *                    once t > 0).
 * Errors: FP_ERR_NUMERIC when a value is not finite, is negative (or zero
 * with require_positive), or Z is zero; the message names the first cell. */
FP_API int fp_density_sample(const fp_grid *g, fp_expr *e, double t, const char *what,
                      bool require_positive, double *p, double *Z, fp_error *err);

/* sum_i p_i |V| */
FP_API double fp_density_mass(const fp_grid *g, const double *p);

/* min_i p_i, and the index of the minimum in *where (may be NULL). */
FP_API double fp_density_min(const fp_grid *g, const double *p, size_t *where);

/* sum_i |p_i - q_i| |V| */
FP_API double fp_density_l1_distance(const fp_grid *g, const double *p, const double *q);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_DENSITY_H */
