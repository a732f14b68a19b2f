/* fpentropy: the finite-volume Fokker-Planck operator (see operator.h and
 * docs/scheme.md).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every face flux is a linear form in the cell values, F_f = sum_e w_e p_{c_e}
 * (the face "stencil").  The stencils are the single description of the
 * scheme: L = -div(F) is assembled from them, the face fluxes used by the
 * entropy diagnostics are evaluated from them, and the Jacobian is L itself.
 * The sparsity pattern is built once; a time-dependent case only refills the
 * weights and the values of L. */
#include <fpentropy/problem/fields.h>
#include <fpentropy/fv/operator.h>
#include <fpentropy/fv/selling.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc_impl.h"
#include "core/error_impl.h"
#include "core/spd_impl.h"
#include "fv/stencil_impl.h"

/* At most 3^3 distinct cells meet in one row of L (19 are used in 3D). */
#define ROW_CAPACITY 27 /* 3^3: a full tensor in 3D */

enum { WALL_NONE = 0, WALL_LOWER, WALL_UPPER };

struct fp_operator {
  fp_grid grid;
  fp_field_spec spec; /* the expressions are borrowed */
  fp_fields *fields;
  bool time_dependent;
  bool two_point;
  bool tensor;                /* full tensor: Selling edges (build_edges) */
  bool assembled;
  double t;

  /* faces */
  size_t nfaces;
  uint32_t *left, *right;
  unsigned char *axis;
  unsigned char *wall;
  double *pe, *dcoef;
  signed char *offset;        /* tensor: 3 per face, cell offset R - L (unwrapped) */

  /* face stencils: entries fstart[f] .. fstart[f+1]-1; the two-point entries
   * (L then R, those that exist) come first, then the cross entries. */
  size_t *fstart;
  uint32_t *fcell;
  double *fweight;
  unsigned char *fcross_axis; /* j of D_kj for cross entries */
  double *fgeom;              /* geometric factor of cross entries */
  int64_t *fposL, *fposR;     /* position in L's values, -1 if that cell is absent */

  /* the faces of each cell along each axis (-1: none), and a flux buffer:
   * the right-hand side is evaluated in flux form, so that every face flux
   * enters its two cells with opposite signs and the total mass changes only
   * by the round-off of the final differences, not of the stencil sums */
  int64_t *face_below[FP_MAX_DIM], *face_above[FP_MAX_DIM];
  double *flux_work;

  /* L in CSR */
  size_t nnz;
  int64_t *row_ptr, *col;
  double *val;
  size_t band_lower, band_upper;

  double mean_D[FP_MAX_DIM];

  /* fast path for diagonal D on the box grid (stencil.c): same results */
  fp_stencil *stencil;
};

double fp_bernoulli(double z)
{
  if (z == 0.0) return 1.0;
  /* expm1 keeps full relative accuracy for small |z|; for z > 709 it
   * overflows to +inf and the quotient is the correct underflowed 0. */
  return z / expm1(z);
}

void fp_operator_destroy(fp_operator **op)
{
  if (!op || !*op) return;
  fp_operator *o = *op;
  fp_fields_destroy(&o->fields);
  fp_stencil_destroy(&o->stencil);
  free(o->left);
  free(o->right);
  free(o->axis);
  free(o->wall);
  free(o->pe);
  free(o->dcoef);
  free(o->offset);
  free(o->fstart);
  free(o->fcell);
  free(o->fweight);
  free(o->fcross_axis);
  free(o->fgeom);
  free(o->fposL);
  free(o->fposR);
  for (int k = 0; k < FP_MAX_DIM; k++) {
    free(o->face_below[k]);
    free(o->face_above[k]);
  }
  free(o->flux_work);
  free(o->row_ptr);
  free(o->col);
  free(o->val);
  free(o);
  *op = NULL;
}

/* Neighbour of `cell` one step along `axis` (+1 or -1), wrapping on periodic
 * axes; FP_NO_CELL beyond a wall. */
static uint32_t neighbour(const fp_grid *g, size_t cell, int axis, int step)
{
  size_t idx[FP_MAX_DIM];
  fp_grid_unindex(g, cell, idx);
  size_t n = g->n[axis];
  if (step > 0) {
    if (idx[axis] + 1 < n) return (uint32_t)(cell + g->stride[axis]);
    if (g->bc[axis] == FP_BC_PERIODIC) return (uint32_t)(cell - (n - 1) * g->stride[axis]);
    return FP_NO_CELL;
  }
  if (idx[axis] > 0) return (uint32_t)(cell - g->stride[axis]);
  if (g->bc[axis] == FP_BC_PERIODIC) return (uint32_t)(cell + (n - 1) * g->stride[axis]);
  return FP_NO_CELL;
}

/* Number of faces and of stencil entries, so that everything is allocated
 * once. */
static void count_faces(const fp_grid *g, bool two_point, size_t *nfaces, size_t *nentries)
{
  size_t faces = 0, entries = 0;
  /* per other axis j: two cells, two entries each */
  size_t cross_per_face = two_point ? 0 : (size_t)(g->dim - 1) * 4;
  for (int k = 0; k < g->dim; k++) {
    size_t layer = g->ncells / g->n[k];
    size_t interior = layer * (g->n[k] - 1);
    if (g->bc[k] == FP_BC_PERIODIC) interior += layer;
    size_t walls = g->bc[k] == FP_BC_ABSORBING ? 2 * layer : 0;
    faces += interior + walls;
    entries += interior * (2 + cross_per_face) + walls;
  }
  *nfaces = faces;
  *nentries = entries;
}

/* Append the cross entries of cell X (one of the face's two cells) for the
 * derivative along j: half of that cell's difference estimate, because the
 * face value is the mean over its two cells. */
static size_t add_cross_entries(const fp_grid *g, size_t X, int j, uint32_t *cell,
                                unsigned char *cross_axis, double *geom)
{
  uint32_t up = neighbour(g, X, j, +1), dn = neighbour(g, X, j, -1);
  double h = g->h[j];
  size_t n = 0;
  double wa, wb;
  uint32_t ca, cb;
  if (up != FP_NO_CELL && dn != FP_NO_CELL) {
    ca = up, wa = 1.0 / (2 * h), cb = dn, wb = -1.0 / (2 * h);
  } else if (up == FP_NO_CELL) { /* upper wall along j */
    if (g->bc[j] == FP_BC_ABSORBING) /* ghost value -p_X makes p = 0 on the wall */
      ca = (uint32_t)X, wa = -1.0 / (2 * h), cb = dn, wb = -1.0 / (2 * h);
    else
      ca = (uint32_t)X, wa = 1.0 / h, cb = dn, wb = -1.0 / h;
  } else { /* lower wall along j */
    if (g->bc[j] == FP_BC_ABSORBING)
      ca = up, wa = 1.0 / (2 * h), cb = (uint32_t)X, wb = 1.0 / (2 * h);
    else
      ca = up, wa = 1.0 / h, cb = (uint32_t)X, wb = -1.0 / h;
  }
  cell[n] = ca, cross_axis[n] = (unsigned char)j, geom[n] = 0.5 * wa, n++;
  cell[n] = cb, cross_axis[n] = (unsigned char)j, geom[n] = 0.5 * wb, n++;
  return n;
}

/* The arrays of nfaces faces and nentries stencil entries both the
 * two-point faces and the tensor edges have; false when one is missing
 * (the operator's destroy frees what was allocated). */
static bool alloc_faces(fp_operator *o, size_t nfaces, size_t nentries)
{
  o->nfaces = nfaces;
  o->left = fp_alloc_large(nfaces * sizeof *o->left);
  o->right = fp_alloc_large(nfaces * sizeof *o->right);
  o->axis = fp_alloc_large(nfaces * sizeof *o->axis);
  o->wall = fp_alloc_large(nfaces * sizeof *o->wall);
  o->pe = fp_calloc_large(nfaces, sizeof *o->pe);
  o->dcoef = fp_calloc_large(nfaces, sizeof *o->dcoef);
  o->fstart = fp_alloc_large((nfaces + 1) * sizeof *o->fstart);
  o->fcell = fp_alloc_large(nentries * sizeof *o->fcell);
  o->fweight = fp_calloc_large(nentries, sizeof *o->fweight);
  o->fposL = fp_alloc_large(nentries * sizeof *o->fposL);
  o->fposR = fp_alloc_large(nentries * sizeof *o->fposR);
  return o->left && o->right && o->axis && o->wall && o->pe && o->dcoef && o->fstart && o->fcell &&
         o->fweight && o->fposL && o->fposR;
}

static int build_faces(fp_operator *o, fp_error *err)
{
  const fp_grid *g = &o->grid;
  size_t nfaces, nentries;
  count_faces(g, o->two_point, &nfaces, &nentries);
  o->fcross_axis = calloc(nentries, sizeof *o->fcross_axis);
  o->fgeom = calloc(nentries, sizeof *o->fgeom); /* cross entries: none with two-point fluxes, left untouched */
  if (!alloc_faces(o, nfaces, nentries) || !o->fcross_axis || !o->fgeom)
    return fp_fail(err, FP_ERR_NOMEM, "out of memory for %zu faces", nfaces);

  size_t f = 0, e = 0;
  for (int k = 0; k < g->dim; k++) {
    for (size_t cell = 0; cell < g->ncells; cell++) {
      size_t idx[FP_MAX_DIM];
      fp_grid_unindex(g, cell, idx);
      if (idx[k] == 0 && g->bc[k] == FP_BC_ABSORBING) {
        o->left[f] = FP_NO_CELL, o->right[f] = (uint32_t)cell;
        o->axis[f] = (unsigned char)k, o->wall[f] = WALL_LOWER;
        o->fstart[f] = e;
        o->fcell[e++] = (uint32_t)cell;
        f++;
      }
      uint32_t up = neighbour(g, cell, k, +1);
      if (up == FP_NO_CELL && g->bc[k] == FP_BC_REFLECTING) continue;
      o->left[f] = (uint32_t)cell, o->right[f] = up;
      o->axis[f] = (unsigned char)k;
      o->wall[f] = up == FP_NO_CELL ? WALL_UPPER : WALL_NONE;
      o->fstart[f] = e;
      o->fcell[e++] = (uint32_t)cell;
      if (up != FP_NO_CELL) {
        o->fcell[e++] = up;
        if (!o->two_point)
          for (int j = 0; j < g->dim; j++) {
            if (j == k) continue;
            e += add_cross_entries(g, cell, j, o->fcell + e, o->fcross_axis + e, o->fgeom + e);
            e += add_cross_entries(g, up, j, o->fcell + e, o->fcross_axis + e, o->fgeom + e);
          }
      }
      f++;
    }
  }
  o->fstart[f] = e;
  o->flux_work = fp_alloc_large(nfaces * sizeof *o->flux_work);
  if (!o->flux_work) return fp_fail(err, FP_ERR_NOMEM, "out of memory for %zu faces", nfaces);
  for (int k = 0; k < g->dim; k++) {
    o->face_below[k] = fp_alloc_large(g->ncells * sizeof *o->face_below[k]);
    o->face_above[k] = fp_alloc_large(g->ncells * sizeof *o->face_above[k]);
    if (!o->face_below[k] || !o->face_above[k])
      return fp_fail(err, FP_ERR_NOMEM, "out of memory for %zu cells", g->ncells);
    for (size_t i = 0; i < g->ncells; i++) o->face_below[k][i] = o->face_above[k][i] = -1;
  }
  for (size_t q = 0; q < f; q++) {
    int k = o->axis[q];
    if (o->left[q] != FP_NO_CELL) o->face_above[k][o->left[q]] = (int64_t)q;
    if (o->right[q] != FP_NO_CELL) o->face_below[k][o->right[q]] = (int64_t)q;
  }
  if (f != nfaces || e != nentries)
    return fp_fail(err, FP_ERR_ARG, "internal error: face count %zu/%zu, entries %zu/%zu", f,
                   nfaces, e, nentries);
  return FP_OK;
}

static int64_t find_in_row(const fp_operator *o, uint32_t row, uint32_t column)
{
  for (int64_t q = o->row_ptr[row]; q < o->row_ptr[row + 1]; q++)
    if (o->col[q] == (int64_t)column) return q;
  return -1;
}

/* Insert `column` into the (unsorted, unique) pattern of `row`. */
static int pattern_insert(uint32_t *pattern, unsigned char *count, int cap, uint32_t row,
                          uint32_t column)
{
  uint32_t *cols = pattern + (size_t)row * (size_t)cap;
  for (unsigned char q = 0; q < count[row]; q++)
    if (cols[q] == column) return 0;
  if (count[row] == cap) return -1;
  cols[count[row]++] = column;
  return 0;
}

static int build_pattern(fp_operator *o, fp_error *err)
{
  size_t n = o->grid.ncells;
  int rc = FP_OK;
  /* two-point fluxes couple a cell to its 2 dim face neighbours only */
  const int cap = o->two_point ? 1 + 2 * o->grid.dim : ROW_CAPACITY;
  uint32_t *pattern = fp_alloc_large(n * (size_t)cap * sizeof *pattern);
  unsigned char *count = calloc(n, sizeof *count);
  if (!pattern || !count) {
    rc = fp_fail(err, FP_ERR_NOMEM, "out of memory for the sparsity pattern of %zu cells", n);
    goto out_free_pattern;
  }
  /* Every row holds its own diagonal, so that I - gamma L has it too. */
  for (size_t i = 0; i < n; i++) pattern_insert(pattern, count, cap, (uint32_t)i, (uint32_t)i);
  for (size_t f = 0; f < o->nfaces; f++)
    for (size_t e = o->fstart[f]; e < o->fstart[f + 1]; e++) {
      if (o->left[f] != FP_NO_CELL && pattern_insert(pattern, count, cap, o->left[f], o->fcell[e]))
        rc = FP_ERR_ARG;
      if (o->right[f] != FP_NO_CELL && pattern_insert(pattern, count, cap, o->right[f], o->fcell[e]))
        rc = FP_ERR_ARG;
    }
  if (rc != FP_OK) {
    rc = fp_fail(err, FP_ERR_ARG, "internal error: a row of L has more than %d entries", cap);
    goto out_free_pattern;
  }
  size_t nnz = 0;
  for (size_t i = 0; i < n; i++) nnz += count[i];
  o->nnz = nnz;
  o->row_ptr = fp_alloc_large((n + 1) * sizeof *o->row_ptr);
  o->col = fp_alloc_large(nnz * sizeof *o->col);
  o->val = fp_calloc_large(nnz, sizeof *o->val);
  if (!o->row_ptr || !o->col || !o->val) {
    rc = fp_fail(err, FP_ERR_NOMEM, "out of memory for L (%zu nonzeros)", nnz);
    goto out_free_pattern;
  }
  size_t q = 0, lower = 0, upper = 0;
  for (size_t i = 0; i < n; i++) {
    o->row_ptr[i] = (int64_t)q;
    /* insertion sort: a row has at most 27 entries */
    for (unsigned char r = 0; r < count[i]; r++) {
      int64_t v = pattern[i * (size_t)cap + r];
      size_t at = q + r;
      for (; at > q && o->col[at - 1] > v; at--) o->col[at] = o->col[at - 1];
      o->col[at] = v;
    }
    size_t first = (size_t)o->col[q], last = (size_t)o->col[q + count[i] - 1];
    if (first < i && i - first > lower) lower = i - first;
    if (last > i && last - i > upper) upper = last - i;
    q += count[i];
  }
  o->row_ptr[n] = (int64_t)q;
  o->band_lower = lower;
  o->band_upper = upper;
  for (size_t f = 0; f < o->nfaces; f++)
    for (size_t e = o->fstart[f]; e < o->fstart[f + 1]; e++) {
      o->fposL[e] = o->left[f] != FP_NO_CELL ? find_in_row(o, o->left[f], o->fcell[e]) : -1;
      o->fposR[e] = o->right[f] != FP_NO_CELL ? find_in_row(o, o->right[f], o->fcell[e]) : -1;
    }
out_free_pattern:
  free(pattern);
  free(count);
  return rc;
}

/* Coordinates of the point that carries p on side `side` of face f (cell
 * centre, or the wall point), unwrapped across periodic boundaries so that
 * differences of a non-periodic potential stay local. */
static void face_points(const fp_operator *o, size_t f, double xL[FP_MAX_DIM],
                        double xR[FP_MAX_DIM], double xf[FP_MAX_DIM])
{
  const fp_grid *g = &o->grid;
  int k = o->axis[f];
  double half = 0.5 * g->h[k];
  if (o->left[f] != FP_NO_CELL) {
    fp_grid_cell_center(g, o->left[f], xL);
    memcpy(xf, xL, sizeof(double) * FP_MAX_DIM);
    xf[k] += half;
    memcpy(xR, xL, sizeof(double) * FP_MAX_DIM);
    xR[k] += o->right[f] != FP_NO_CELL ? g->h[k] : half;
  } else {
    fp_grid_cell_center(g, o->right[f], xR);
    memcpy(xf, xR, sizeof(double) * FP_MAX_DIM);
    xf[k] -= half;
    memcpy(xL, xf, sizeof(double) * FP_MAX_DIM);
  }
}

static int point_error(fp_error *err, const char *what, const double x[FP_MAX_DIM], int dim,
                       double t, double value)
{
  char where[128];
  fp_format_point(where, sizeof where, dim, x);
  return fp_fail(err, FP_ERR_NUMERIC, "%s at %s, t = %g (value %g)", what, where, t, value);
}

/* ---- Full tensor: two-point fluxes on the offsets of Selling's
 * decomposition (docs/scheme.md, "Full tensor").  Every cell is joined to
 * its 3^d - 1 neighbours by edges (half of the offsets per cell, so each
 * pair once); an edge whose offset has no weight at its midpoint carries
 * no flux.  Absorbing walls keep the half-cell face of the axis. */

/* The offsets with first non-zero entry > 0: 4 in 2D, 13 in 3D. */
static int half_offsets(int dim, int out[13][3])
{
  int n = 0;
  for (int c = -1; c <= 1; c++)
    for (int b = -1; b <= 1; b++)
      for (int a = -1; a <= 1; a++) {
        int e[3] = {a, b, dim == 3 ? c : 0};
        if (dim == 2 && c != 0) continue;
        int first = e[0] ? e[0] : e[1] ? e[1] : e[2];
        if (first <= 0) continue;
        out[n][0] = e[0], out[n][1] = e[1], out[n][2] = e[2];
        n++;
      }
  return n;
}

/* The cell at offset e from `cell` (wrapping periodic axes), FP_NO_CELL
 * beyond a wall. */
static uint32_t offset_cell(const fp_grid *g, size_t cell, const int e[3])
{
  size_t idx[FP_MAX_DIM];
  fp_grid_unindex(g, cell, idx);
  for (int k = 0; k < g->dim; k++) {
    long i = (long)idx[k] + e[k], n = (long)g->n[k];
    if (i < 0 || i >= n) {
      if (g->bc[k] != FP_BC_PERIODIC) return FP_NO_CELL;
      i = (i + n) % n;
    }
    idx[k] = (size_t)i;
  }
  return (uint32_t)fp_grid_index(g, idx);
}

static int build_edges(fp_operator *o, fp_error *err)
{
  const fp_grid *g = &o->grid;
  int offs[13][3];
  int noff = half_offsets(g->dim, offs);
  size_t nfaces = 0, nentries = 0;
  for (size_t cell = 0; cell < g->ncells; cell++) {
    size_t idx[FP_MAX_DIM];
    fp_grid_unindex(g, cell, idx);
    for (int k = 0; k < g->dim; k++)
      if (g->bc[k] == FP_BC_ABSORBING) {
        nfaces += (idx[k] == 0) + (idx[k] + 1 == g->n[k]);
        nentries += (idx[k] == 0) + (idx[k] + 1 == g->n[k]);
      }
    for (int q = 0; q < noff; q++)
      if (offset_cell(g, cell, offs[q]) != FP_NO_CELL) nfaces++, nentries += 2;
  }
  o->offset = fp_calloc_large(3 * nfaces, sizeof *o->offset);
  o->flux_work = fp_alloc_large(nfaces * sizeof *o->flux_work);
  if (!alloc_faces(o, nfaces, nentries) || !o->offset || !o->flux_work)
    return fp_fail(err, FP_ERR_NOMEM, "out of memory for %zu edges", nfaces);
  for (int k = 0; k < g->dim; k++) {
    o->face_below[k] = fp_alloc_large(g->ncells * sizeof *o->face_below[k]);
    o->face_above[k] = fp_alloc_large(g->ncells * sizeof *o->face_above[k]);
    if (!o->face_below[k] || !o->face_above[k])
      return fp_fail(err, FP_ERR_NOMEM, "out of memory for %zu cells", g->ncells);
    for (size_t i = 0; i < g->ncells; i++) o->face_below[k][i] = o->face_above[k][i] = -1;
  }
  size_t f = 0, e = 0;
  for (size_t cell = 0; cell < g->ncells; cell++) {
    size_t idx[FP_MAX_DIM];
    fp_grid_unindex(g, cell, idx);
    for (int k = 0; k < g->dim; k++) {
      if (g->bc[k] != FP_BC_ABSORBING) continue;
      for (int side = 0; side < 2; side++) {
        if (side == 0 ? idx[k] != 0 : idx[k] + 1 != g->n[k]) continue;
        o->left[f] = side == 0 ? FP_NO_CELL : (uint32_t)cell;
        o->right[f] = side == 0 ? (uint32_t)cell : FP_NO_CELL;
        o->axis[f] = (unsigned char)k;
        o->wall[f] = side == 0 ? WALL_LOWER : WALL_UPPER;
        o->offset[3 * f + k] = 1;
        (side == 0 ? o->face_below : o->face_above)[k][cell] = (int64_t)f;
        o->fstart[f] = e;
        o->fcell[e++] = (uint32_t)cell;
        f++;
      }
    }
    for (int q = 0; q < noff; q++) {
      uint32_t R = offset_cell(g, cell, offs[q]);
      if (R == FP_NO_CELL) continue;
      int axis = offs[q][0] ? 0 : offs[q][1] ? 1 : 2;
      int nonzero = (offs[q][0] != 0) + (offs[q][1] != 0) + (offs[q][2] != 0);
      o->left[f] = (uint32_t)cell, o->right[f] = R;
      o->axis[f] = (unsigned char)axis;
      o->wall[f] = WALL_NONE;
      for (int c = 0; c < 3; c++) o->offset[3 * f + c] = (signed char)offs[q][c];
      if (nonzero == 1) {
        o->face_above[axis][cell] = (int64_t)f;
        o->face_below[axis][R] = (int64_t)f;
      }
      o->fstart[f] = e;
      o->fcell[e++] = (uint32_t)cell;
      o->fcell[e++] = R;
      f++;
    }
  }
  o->fstart[f] = e;
  if (f != nfaces || e != nentries)
    return fp_fail(err, FP_ERR_ARG, "internal error: edge count %zu/%zu, entries %zu/%zu", f,
                   nfaces, e, nentries);
  return FP_OK;
}

/* Solve D y = b for SPD D (dim <= 3); false if D is not SPD (core/spd_impl.h). */
static bool spd_solve(double D[FP_MAX_DIM][FP_MAX_DIM], const double *b, int dim, double *y)
{
  fp_spd f;
  if (!fp_spd_factor(dim, (const double(*)[FP_SPD_MAX])D, &f)) return false;
  fp_spd_solve(&f, b, y);
  return true;
}

/* Weight and Peclet number of an interior edge of the full-tensor scheme.
 * The edge joins the centres x_L and x_L + delta, delta = H e; with
 * M = H^-1 D H^-1 = sum_k w_k e_k e_k^T (Selling), D = sum_k w_k delta_k
 * delta_k^T, and the edge carries the rate w_e (1/time) of a jump process
 * with Pe = delta^T D^-1 v, so that the jumps' mean displacement is
 * sum_e w_e Pe_e delta_e = D D^-1 v = v.  With a potential, Pe = -(V_R -
 * V_L) + delta^T (D^-1 v + grad V): exp(-V_i) is then flux-free on every
 * edge. */
static int assemble_edge(fp_operator *op, size_t f, double t, double *rate, double *pe,
                         double *Dkk_out, fp_error *err)
{
  const fp_grid *g = &op->grid;
  const int dim = g->dim;
  const signed char *e = op->offset + 3 * f;
  double xL[FP_MAX_DIM], xm[FP_MAX_DIM], xR[FP_MAX_DIM], delta[FP_MAX_DIM] = {0.0, 0.0, 0.0};
  fp_grid_cell_center(g, op->left[f], xL);
  for (int k = 0; k < FP_MAX_DIM; k++) {
    delta[k] = k < dim ? e[k] * g->h[k] : 0.0;
    xm[k] = xL[k] + 0.5 * delta[k];
    xR[k] = xL[k] + delta[k];
  }
  fp_field_values fv;
  fp_fields_eval(op->fields, xm, t, &fv);
  double M[3][3] = {{0}};
  for (int i = 0; i < dim; i++)
    for (int j = 0; j < dim; j++) M[i][j] = fv.D[i][j] / (g->h[i] * g->h[j]);
  fp_selling s;
  if (fp_selling_decompose(M, dim, &s) != 0)
    return point_error(err, "the diffusion tensor is not symmetric positive definite and finite",
                       xm, dim, t, fv.D[0][1]);
  double wmax = 0.0;
  for (int k = 0; k < s.terms; k++) wmax = fmax(wmax, s.weight[k]);
  for (int k = 0; k < s.terms; k++) {
    bool inside = true;
    for (int c = 0; c < dim; c++) inside &= abs(s.offset[k][c]) <= 1;
    if (!inside && s.weight[k] > 1e-12 * wmax)
      return point_error(
          err,
          "the diffusion tensor is too anisotropic for the 3^d-cell stencil of this grid "
          "(its Selling decomposition needs a wider offset; change the cell aspect ratio or "
          "the grid): the off-diagonal-to-diagonal ratio shown",
          xm, dim, t, fv.D[0][1] / sqrt(fv.D[0][0] * fv.D[1][1]));
  }
  int ei[3] = {e[0], e[1], e[2]};
  *rate = fp_selling_weight(&s, ei);
  double rhs[FP_MAX_DIM], y[FP_MAX_DIM];
  const bool potential = fp_fields_has_potential(op->fields);
  for (int k = 0; k < dim; k++) rhs[k] = potential ? fv.extra[k] : fv.v[k];
  if (!spd_solve(fv.D, rhs, dim, y))
    return point_error(err, "the diffusion tensor is not positive definite", xm, dim, t, fv.D[0][0]);
  double p = 0.0;
  for (int k = 0; k < dim; k++) p += delta[k] * y[k];
  if (potential)
    p -= fp_fields_potential(op->fields, xR, t) - fp_fields_potential(op->fields, xL, t);
  if (!isfinite(p)) return point_error(err, "the Peclet number is not finite", xm, dim, t, p);
  *pe = p;
  *Dkk_out = fv.D[op->axis[f]][op->axis[f]];
  return FP_OK;
}

/* Time-independent full tensor: drop the edges whose offset has no weight
 * anywhere (about half of the 3D ones for a constant D), so that neither
 * the flux evaluation nor L carry them. */
static int prune_edges(fp_operator *o, fp_error *err)
{
  const fp_grid *g = &o->grid;
  size_t f2 = 0, e2 = 0;
  for (size_t f = 0; f < o->nfaces; f++) {
    bool keep = true;
    if (o->wall[f] == WALL_NONE) {
      double rate = 0.0, pe = 0.0, Dkk = 0.0;
      int rc = assemble_edge(o, f, 0.0, &rate, &pe, &Dkk, err);
      if (rc != FP_OK) return rc;
      keep = rate != 0.0;
    }
    if (!keep) continue;
    size_t start = o->fstart[f], end = o->fstart[f + 1];
    o->left[f2] = o->left[f], o->right[f2] = o->right[f];
    o->axis[f2] = o->axis[f], o->wall[f2] = o->wall[f];
    for (int c = 0; c < 3; c++) o->offset[3 * f2 + c] = o->offset[3 * f + c];
    o->fstart[f2] = e2;
    for (size_t e = start; e < end; e++) o->fcell[e2++] = o->fcell[e];
    f2++;
  }
  o->fstart[f2] = e2;
  o->nfaces = f2;
  for (int k = 0; k < g->dim; k++)
    for (size_t i = 0; i < g->ncells; i++) o->face_below[k][i] = o->face_above[k][i] = -1;
  for (size_t f = 0; f < f2; f++) {
    const signed char *e = o->offset + 3 * f;
    if ((e[0] != 0) + (e[1] != 0) + (e[2] != 0) != 1) continue;
    int k = o->axis[f];
    if (o->left[f] != FP_NO_CELL) o->face_above[k][o->left[f]] = (int64_t)f;
    if (o->right[f] != FP_NO_CELL) o->face_below[k][o->right[f]] = (int64_t)f;
  }
  return FP_OK;
}

int fp_operator_assemble(fp_operator *op, double t, fp_error *err)
{
  if (op->assembled && (!op->time_dependent || t == op->t)) return FP_OK;
  const fp_grid *g = &op->grid;
  const int dim = g->dim;
  const bool potential = fp_fields_has_potential(op->fields);
  double sum_D[FP_MAX_DIM] = {0.0, 0.0, 0.0};
  size_t faces_per_axis[FP_MAX_DIM] = {0, 0, 0};

  for (size_t f = 0; f < op->nfaces; f++) {
    int k = op->axis[f];
    if (op->tensor && op->wall[f] == WALL_NONE) {
      double rate = 0.0, pe = 0.0, Dkk = 0.0;
      int rc = assemble_edge(op, f, t, &rate, &pe, &Dkk, err);
      if (rc != FP_OK) return rc;
      const signed char *e = op->offset + 3 * f;
      if ((e[0] != 0) + (e[1] != 0) + (e[2] != 0) == 1) sum_D[k] += Dkk, faces_per_axis[k]++;
      /* F_f / h_k is the rate of mass exchange per unit volume (the axis
       * convention of the faces), so dcoef = rate h_k */
      op->pe[f] = pe;
      op->dcoef[f] = rate * g->h[k];
      size_t q = op->fstart[f];
      op->fweight[q] = op->dcoef[f] * fp_bernoulli(-pe);
      op->fweight[q + 1] = -op->dcoef[f] * fp_bernoulli(pe);
      continue;
    }
    double xL[FP_MAX_DIM], xR[FP_MAX_DIM], xf[FP_MAX_DIM];
    face_points(op, f, xL, xR, xf);
    fp_field_values fv;
    fp_fields_eval(op->fields, xf, t, &fv);
    double Dkk = fv.D[k][k];
    if (!(Dkk > 0.0) || !isfinite(Dkk))
      return point_error(err, "the diffusion coefficient D_kk is not positive and finite", xf, dim,
                         t, Dkk);
    if (!isfinite(fv.v[k])) return point_error(err, "the drift is not finite", xf, dim, t, fv.v[k]);
    double d = op->wall[f] == WALL_NONE ? g->h[k] : 0.5 * g->h[k];
    double pe;
    if (potential) {
      /* Exact potential difference: the discrete Boltzmann state exp(-V_i)
       * then has zero flux on every face. */
      double dV = fp_fields_potential(op->fields, xR, t) - fp_fields_potential(op->fields, xL, t);
      pe = -dV + d * (fv.v[k] + Dkk * fv.grad_V[k]) / Dkk;
    } else {
      pe = d * fv.v[k] / Dkk;
    }
    if (!isfinite(pe)) return point_error(err, "the Peclet number is not finite", xf, dim, t, pe);
    op->pe[f] = pe;
    op->dcoef[f] = Dkk / d;
    sum_D[k] += Dkk;
    faces_per_axis[k]++;
    size_t e = op->fstart[f];
    if (op->left[f] != FP_NO_CELL) op->fweight[e++] = op->dcoef[f] * fp_bernoulli(-pe);
    if (op->right[f] != FP_NO_CELL) op->fweight[e++] = -op->dcoef[f] * fp_bernoulli(pe);
    for (; e < op->fstart[f + 1]; e++) op->fweight[e] = -fv.D[k][op->fcross_axis[e]] * op->fgeom[e];
  }

  memset(op->val, 0, op->nnz * sizeof *op->val);
  for (size_t f = 0; f < op->nfaces; f++) {
    double inv_h = 1.0 / g->h[op->axis[f]];
    for (size_t e = op->fstart[f]; e < op->fstart[f + 1]; e++) {
      double w = op->fweight[e] * inv_h;
      if (op->fposL[e] >= 0) op->val[op->fposL[e]] -= w;
      if (op->fposR[e] >= 0) op->val[op->fposR[e]] += w;
    }
  }
  for (int k = 0; k < dim; k++)
    op->mean_D[k] = faces_per_axis[k] ? sum_D[k] / (double)faces_per_axis[k] : 0.0;
  /* Axes without faces (one reflecting cell layer cannot happen: n >= 2). */
  if (op->stencil) {
    fp_face_view view;
    fp_operator_faces(op, &view);
    fp_stencil_update(op->stencil, &view);
  }
  op->t = t;
  op->assembled = true;
  return FP_OK;
}

int fp_operator_create_on(const fp_grid *grid, const fp_field_spec *fields, fp_operator **out,
                          fp_error *err)
{
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_operator_create: out is NULL");
  *out = NULL;
  if (!grid || !fields) return fp_fail(err, FP_ERR_ARG, "fp_operator_create: NULL argument");
  if (fields->dim != grid->dim)
    return fp_fail(err, FP_ERR_ARG, "fp_operator_create: the fields are %d-dimensional, the grid "
                   "%d-dimensional", fields->dim, grid->dim);
  fp_grid g = *grid;
  int rc = fp_grid_init(&g, err);
  if (rc != FP_OK) return rc;
  if (g.ncells >= (size_t)FP_NO_CELL)
    return fp_fail(err, FP_ERR_UNSUPPORTED, "%zu cells: at most %u are supported", g.ncells,
                   (unsigned)FP_NO_CELL - 1);
  fp_operator *o = calloc(1, sizeof *o);
  if (!o) return fp_fail(err, FP_ERR_NOMEM, "out of memory creating the operator");
  o->grid = g;
  o->spec = *fields;
  rc = fp_fields_create_spec(&o->spec, &o->fields, err);
  if (rc == FP_OK) {
    o->time_dependent = fp_fields_time_dependent(o->fields);
    o->two_point = fp_fields_diagonal(o->fields) || o->grid.dim == 1;
    o->tensor = !o->two_point;
    rc = o->tensor ? build_edges(o, err) : build_faces(o, err);
    if (rc == FP_OK && o->tensor && !o->time_dependent) rc = prune_edges(o, err);
  }
  if (rc == FP_OK) rc = build_pattern(o, err);
  if (rc == FP_OK && o->two_point) rc = fp_stencil_create(&o->grid, &o->stencil, err);
  if (rc == FP_OK) rc = fp_operator_assemble(o, 0.0, err);
  if (rc != FP_OK) {
    fp_operator_destroy(&o);
    return rc;
  }
  *out = o;
  return FP_OK;
}

int fp_operator_create(const fp_case *c, fp_operator **out, fp_error *err)
{
  if (!c) {
    if (out) *out = NULL;
    return fp_fail(err, FP_ERR_ARG, "fp_operator_create: case is NULL");
  }
  fp_field_spec spec;
  fp_case_field_spec(c, &spec);
  return fp_operator_create_on(&c->grid, &spec, out, err);
}

const fp_field_spec *fp_operator_field_spec(const fp_operator *op) { return op ? &op->spec : NULL; }

const fp_grid *fp_operator_grid(const fp_operator *op) { return &op->grid; }
const fp_stencil *fp_operator_stencil(const fp_operator *op) { return op->stencil; }
bool fp_operator_time_dependent(const fp_operator *op) { return op->time_dependent; }
bool fp_operator_two_point(const fp_operator *op) { return op->two_point || op->tensor; }
bool fp_operator_full_tensor(const fp_operator *op) { return op->tensor; }
double fp_operator_time(const fp_operator *op) { return op->t; }

static void compute_fluxes(const fp_operator *op, const double *restrict p, double *restrict flux)
{
  const size_t *fstart = op->fstart;
  const uint32_t *fcell = op->fcell;
  const double *w = op->fweight;
  const long nfaces = (long)op->nfaces;
#pragma omp parallel for schedule(static) if (nfaces > 20000)
  for (long f = 0; f < nfaces; f++) {
    double s = 0.0;
    for (size_t e = fstart[f]; e < fstart[f + 1]; e++) s += w[e] * p[fcell[e]];
    flux[f] = s;
  }
}

void fp_operator_apply(fp_operator *op, const double *restrict p, double *restrict dpdt)
{
  if (op->stencil) {
    fp_stencil_apply(op->stencil, p, dpdt);
    return;
  }
  fp_operator_apply_general(op, p, dpdt);
}

void fp_operator_apply_general(fp_operator *op, const double *restrict p, double *restrict dpdt)
{
  const fp_grid *g = &op->grid;
  const double *flux = op->flux_work;
  compute_fluxes(op, p, op->flux_work);
  if (op->tensor) {
    /* edges join cells along any offset: scatter each flux to its two
     * cells with opposite signs (mass moves only between them) */
    memset(dpdt, 0, g->ncells * sizeof *dpdt);
    for (size_t f = 0; f < op->nfaces; f++) {
      double G = flux[f] / g->h[op->axis[f]];
      if (op->left[f] != FP_NO_CELL) dpdt[op->left[f]] -= G;
      if (op->right[f] != FP_NO_CELL) dpdt[op->right[f]] += G;
    }
    return;
  }
  const int dim = g->dim;
  const long n = (long)g->ncells;
#pragma omp parallel for schedule(static) if (n > 20000)
  for (long i = 0; i < n; i++) {
    double s = 0.0;
    for (int k = 0; k < dim; k++) {
      int64_t lo = op->face_below[k][i], hi = op->face_above[k][i];
      double in = lo >= 0 ? flux[lo] : 0.0, out = hi >= 0 ? flux[hi] : 0.0;
      s += (in - out) / g->h[k];
    }
    dpdt[i] = s;
  }
}

void fp_operator_face_fluxes(const fp_operator *op, const double *p, double *flux)
{
  compute_fluxes(op, p, flux);
}

double fp_operator_two_point_flux(const fp_face_view *faces, size_t f, const double *p)
{
  double pL = faces->left[f] != FP_NO_CELL ? p[faces->left[f]] : 0.0;
  double pR = faces->right[f] != FP_NO_CELL ? p[faces->right[f]] : 0.0;
  return faces->dcoef[f] * (fp_bernoulli(-faces->pe[f]) * pL - fp_bernoulli(faces->pe[f]) * pR);
}

void fp_operator_faces(const fp_operator *op, fp_face_view *view)
{
  view->count = op->nfaces;
  view->left = op->left;
  view->right = op->right;
  view->axis = op->axis;
  view->pe = op->pe;
  view->dcoef = op->dcoef;
  view->offset = op->offset;
  for (int k = 0; k < FP_MAX_DIM; k++) {
    view->below[k] = k < op->grid.dim ? op->face_below[k] : NULL;
    view->above[k] = k < op->grid.dim ? op->face_above[k] : NULL;
  }
  for (int k = 0; k < FP_MAX_DIM; k++)
    view->area[k] = k < op->grid.dim ? op->grid.cell_volume / op->grid.h[k] : 0.0;
}

void fp_operator_matrix(const fp_operator *op, fp_csr_view *view)
{
  view->rows = op->grid.ncells;
  view->nnz = op->nnz;
  view->row_ptr = op->row_ptr;
  view->col = op->col;
  view->value = op->val;
}

void fp_operator_bandwidth(const fp_operator *op, size_t *lower, size_t *upper)
{
  if (lower) *lower = op->band_lower;
  if (upper) *upper = op->band_upper;
}

void fp_operator_mean_diffusion(const fp_operator *op, double mean_D[FP_MAX_DIM])
{
  for (int k = 0; k < FP_MAX_DIM; k++) mean_D[k] = op->mean_D[k];
}
