/* fpentropy: the Cartesian cell-centred grid.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * This header contains:
 *   - fp_boundary, the boundary condition of one axis;
 *   - fp_grid, a value type describing a uniform box grid in 1-3 dimensions;
 *   - fp_grid_init() (validates and fills the derived fields), index helpers.
 *
 * Storage order: cell (i0, i1, i2) is stored at i0 + n0*(i1 + n1*i2), so the
 * first axis (x) varies fastest.  This is the order of every density vector,
 * every snapshot and every VTK file the library writes.  Axes beyond `dim`
 * have n = 1.
 */
#ifndef FPENTROPY_GRID_H
#define FPENTROPY_GRID_H

#include <fpentropy/export.h>

#include <stddef.h>

#include <fpentropy/core/status.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FP_MAX_DIM 3

typedef enum fp_boundary {
  FP_BC_REFLECTING = 0, /* zero normal flux J.n = 0; mass conserved */
  FP_BC_PERIODIC,       /* the axis is a circle; mass conserved */
  FP_BC_ABSORBING       /* p = 0 on the wall; mass leaves through it */
} fp_boundary;

/* Name of a boundary condition as written in case files ("reflecting", ...). */
FP_API const char *fp_boundary_name(fp_boundary bc);

typedef struct fp_grid {
  int dim;                      /* 1, 2 or 3 */
  size_t n[FP_MAX_DIM];         /* cells per axis (1 beyond dim) */
  double lower[FP_MAX_DIM];     /* box corner (0 beyond dim) */
  double upper[FP_MAX_DIM];     /* box corner (1 beyond dim) */
  fp_boundary bc[FP_MAX_DIM];   /* one condition per axis, both walls */
  /* derived by fp_grid_init(): */
  double h[FP_MAX_DIM];         /* cell widths (upper-lower)/n */
  size_t stride[FP_MAX_DIM];    /* index step along each axis */
  size_t ncells;                /* product of n */
  double cell_volume;           /* product of h over the first dim axes */
} fp_grid;

/* Check dim, n, bounds and boundaries of *g and fill the derived fields.
 * Returns FP_OK or FP_ERR_ARG with a message naming the offending axis. */
FP_API int fp_grid_init(fp_grid *g, fp_error *err);

/* Linear index of the cell with axis indices idx[0..dim-1]. */
static inline size_t fp_grid_index(const fp_grid *g, const size_t idx[FP_MAX_DIM])
{
  return idx[0] + g->n[0] * (idx[1] + g->n[1] * idx[2]);
}

/* Axis indices of the cell with linear index `cell` (entries beyond dim = 0). */
static inline void fp_grid_unindex(const fp_grid *g, size_t cell, size_t idx[FP_MAX_DIM])
{
  idx[0] = cell % g->n[0];
  cell /= g->n[0];
  idx[1] = cell % g->n[1];
  idx[2] = cell / g->n[1];
}

/* Centre coordinate of cell index i along `axis`. */
static inline double fp_grid_center(const fp_grid *g, int axis, size_t i)
{
  return g->lower[axis] + ((double)i + 0.5) * g->h[axis];
}

/* Coordinates x[0..2] of the centre of cell `cell` (entries beyond dim = 0). */
FP_API void fp_grid_cell_center(const fp_grid *g, size_t cell, double x[FP_MAX_DIM]);

/* Multilinear interpolation of cell-centre data at the point x.  `values`
 * holds `width` numbers per cell, `stride` apart from one cell to the next;
 * out receives `width` numbers.  Beyond the outermost cell centres the value
 * is held constant (non-periodic axes); periodic axes wrap around. */
FP_API void fp_grid_interpolate(const fp_grid *g, const double *values, size_t stride, size_t width,
                         const double x[FP_MAX_DIM], double *out);

#ifdef __cplusplus
}
#endif

#endif /* FPENTROPY_GRID_H */
