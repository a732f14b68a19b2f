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

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error_impl.h"
#include "fv/stencil_impl.h"

/* At most 3^3 distinct cells meet in one row of L (19 are used in 3D). */
#define ROW_CAPACITY 27

enum { WALL_NONE = 0, WALL_LOWER, WALL_UPPER };

struct fp_operator {
  const fp_case *c;
  fp_grid grid;
  fp_fields *fields;
  bool time_dependent;
  bool two_point;
  bool assembled;
  double t;

  /* faces */
  size_t nfaces;
  uint32_t *left, *right;
  unsigned char *axis;
  unsigned char *wall;
  double *pe, *dcoef;

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

static int build_faces(fp_operator *o, fp_error *err)
{
  const fp_grid *g = &o->grid;
  size_t nfaces, nentries;
  count_faces(g, o->two_point, &nfaces, &nentries);
  o->nfaces = nfaces;
  o->left = malloc(nfaces * sizeof *o->left);
  o->right = malloc(nfaces * sizeof *o->right);
  o->axis = malloc(nfaces * sizeof *o->axis);
  o->wall = malloc(nfaces * sizeof *o->wall);
  o->pe = calloc(nfaces, sizeof *o->pe);
  o->dcoef = calloc(nfaces, sizeof *o->dcoef);
  o->fstart = malloc((nfaces + 1) * sizeof *o->fstart);
  o->fcell = malloc(nentries * sizeof *o->fcell);
  o->fweight = calloc(nentries, sizeof *o->fweight);
  o->fcross_axis = calloc(nentries, sizeof *o->fcross_axis);
  o->fgeom = calloc(nentries, sizeof *o->fgeom);
  o->fposL = malloc(nentries * sizeof *o->fposL);
  o->fposR = malloc(nentries * sizeof *o->fposR);
  if (!o->left || !o->right || !o->axis || !o->wall || !o->pe || !o->dcoef || !o->fstart ||
      !o->fcell || !o->fweight || !o->fcross_axis || !o->fgeom || !o->fposL || !o->fposR)
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
  o->flux_work = malloc(nfaces * sizeof *o->flux_work);
  if (!o->flux_work) return fp_fail(err, FP_ERR_NOMEM, "out of memory for %zu faces", nfaces);
  for (int k = 0; k < g->dim; k++) {
    o->face_below[k] = malloc(g->ncells * sizeof *o->face_below[k]);
    o->face_above[k] = malloc(g->ncells * sizeof *o->face_above[k]);
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

static int compare_int64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static int64_t find_in_row(const fp_operator *o, uint32_t row, uint32_t column)
{
  for (int64_t q = o->row_ptr[row]; q < o->row_ptr[row + 1]; q++)
    if (o->col[q] == (int64_t)column) return q;
  return -1;
}

/* Insert `column` into the (unsorted, unique) pattern of `row`. */
static int pattern_insert(uint32_t *pattern, unsigned char *count, uint32_t row, uint32_t column)
{
  uint32_t *cols = pattern + (size_t)row * ROW_CAPACITY;
  for (unsigned char q = 0; q < count[row]; q++)
    if (cols[q] == column) return 0;
  if (count[row] == ROW_CAPACITY) return -1;
  cols[count[row]++] = column;
  return 0;
}

static int build_pattern(fp_operator *o, fp_error *err)
{
  size_t n = o->grid.ncells;
  int rc = FP_OK;
  uint32_t *pattern = malloc(n * ROW_CAPACITY * sizeof *pattern);
  unsigned char *count = calloc(n, sizeof *count);
  if (!pattern || !count) {
    rc = fp_fail(err, FP_ERR_NOMEM, "out of memory for the sparsity pattern of %zu cells", n);
    goto out_free_pattern;
  }
  /* Every row holds its own diagonal, so that I - gamma L has it too. */
  for (size_t i = 0; i < n; i++) pattern_insert(pattern, count, (uint32_t)i, (uint32_t)i);
  for (size_t f = 0; f < o->nfaces; f++)
    for (size_t e = o->fstart[f]; e < o->fstart[f + 1]; e++) {
      if (o->left[f] != FP_NO_CELL && pattern_insert(pattern, count, o->left[f], o->fcell[e]))
        rc = FP_ERR_ARG;
      if (o->right[f] != FP_NO_CELL && pattern_insert(pattern, count, o->right[f], o->fcell[e]))
        rc = FP_ERR_ARG;
    }
  if (rc != FP_OK) {
    rc = fp_fail(err, FP_ERR_ARG, "internal error: a row of L has more than %d entries", ROW_CAPACITY);
    goto out_free_pattern;
  }
  size_t nnz = 0;
  for (size_t i = 0; i < n; i++) nnz += count[i];
  o->nnz = nnz;
  o->row_ptr = malloc((n + 1) * sizeof *o->row_ptr);
  o->col = malloc(nnz * sizeof *o->col);
  o->val = calloc(nnz, sizeof *o->val);
  if (!o->row_ptr || !o->col || !o->val) {
    rc = fp_fail(err, FP_ERR_NOMEM, "out of memory for L (%zu nonzeros)", nnz);
    goto out_free_pattern;
  }
  size_t q = 0, lower = 0, upper = 0;
  for (size_t i = 0; i < n; i++) {
    o->row_ptr[i] = (int64_t)q;
    for (unsigned char r = 0; r < count[i]; r++) o->col[q + r] = pattern[i * ROW_CAPACITY + r];
    qsort(o->col + q, count[i], sizeof *o->col, compare_int64);
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

int fp_operator_create(const fp_case *c, fp_operator **out, fp_error *err)
{
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_operator_create: out is NULL");
  *out = NULL;
  if (!c) return fp_fail(err, FP_ERR_ARG, "fp_operator_create: case is NULL");
  if (c->grid.ncells >= (size_t)FP_NO_CELL)
    return fp_fail(err, FP_ERR_UNSUPPORTED, "%zu cells: at most %u are supported", c->grid.ncells,
                   (unsigned)FP_NO_CELL - 1);
  fp_operator *o = calloc(1, sizeof *o);
  if (!o) return fp_fail(err, FP_ERR_NOMEM, "out of memory creating the operator");
  o->c = c;
  o->grid = c->grid;
  int rc = fp_fields_create(c, &o->fields, err);
  if (rc == FP_OK) {
    o->time_dependent = fp_fields_time_dependent(o->fields);
    o->two_point = fp_fields_diagonal(o->fields) || o->grid.dim == 1;
    rc = build_faces(o, err);
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

const fp_grid *fp_operator_grid(const fp_operator *op) { return &op->grid; }
bool fp_operator_time_dependent(const fp_operator *op) { return op->time_dependent; }
bool fp_operator_two_point(const fp_operator *op) { return op->two_point; }
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
