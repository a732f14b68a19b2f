/* fpentropy (internal): L p as a stencil on the structured grid (see
 * stencil_impl.h).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "fv/stencil_impl.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc_impl.h"
#include "core/error_impl.h"
#include "core/simd_impl.h"

struct fp_stencil {
  fp_grid grid;
  double *A[FP_MAX_DIM], *B[FP_MAX_DIM]; /* face above each cell: F = A p_c + B p_up */
  double *W[FP_MAX_DIM];                 /* absorbing lower wall: F = W p_c (NULL otherwise) */
};

void fp_stencil_destroy(fp_stencil **sp)
{
  if (!sp || !*sp) return;
  fp_stencil *s = *sp;
  for (int k = 0; k < FP_MAX_DIM; k++) {
    free(s->A[k]);
    free(s->B[k]);
    free(s->W[k]);
  }
  free(s);
  *sp = NULL;
}

int fp_stencil_create(const fp_grid *g, fp_stencil **out, fp_error *err)
{
  *out = NULL;
  fp_stencil *s = calloc(1, sizeof *s);
  if (!s) return fp_fail(err, FP_ERR_NOMEM, "out of memory for the stencil");
  s->grid = *g;
  for (int k = 0; k < g->dim; k++) {
    s->A[k] = fp_calloc_large(g->ncells, sizeof *s->A[k]);
    s->B[k] = fp_calloc_large(g->ncells, sizeof *s->B[k]);
    if (g->bc[k] == FP_BC_ABSORBING) s->W[k] = fp_calloc_large(g->ncells, sizeof *s->W[k]);
    if (!s->A[k] || !s->B[k] || (g->bc[k] == FP_BC_ABSORBING && !s->W[k])) {
      fp_stencil_destroy(&s);
      return fp_fail(err, FP_ERR_NOMEM, "out of memory for the stencil of %zu cells", g->ncells);
    }
  }
  *out = s;
  return FP_OK;
}

int fp_stencil_create_scaled(const fp_stencil *s, double a, fp_stencil **out, fp_error *err)
{
  int rc = fp_stencil_create(&s->grid, out, err);
  if (rc != FP_OK) return rc;
  fp_stencil *t = *out;
  const size_t n = s->grid.ncells;
  for (int k = 0; k < s->grid.dim; k++) {
    const double f = a / s->grid.h[k];
    for (size_t c = 0; c < n; c++) t->A[k][c] = f * s->A[k][c], t->B[k][c] = f * s->B[k][c];
    if (s->W[k])
      for (size_t c = 0; c < n; c++) t->W[k][c] = f * s->W[k][c];
  }
  return FP_OK;
}

void fp_stencil_update(fp_stencil *s, const fp_face_view *faces)
{
  for (size_t f = 0; f < faces->count; f++) {
    int k = faces->axis[f];
    double pe = faces->pe[f], dc = faces->dcoef[f];
    /* the general path's weights, computed the same way (operator.c) */
    double wL = dc * fp_bernoulli(-pe), wR = -dc * fp_bernoulli(pe);
    if (faces->left[f] == FP_NO_CELL) {
      s->W[k][faces->right[f]] = wR;
    } else {
      s->A[k][faces->left[f]] = wL;
      s->B[k][faces->left[f]] = faces->right[f] == FP_NO_CELL ? 0.0 : wR;
    }
  }
}

/* A flux difference per unit volume: divided by h_k, unless the
 * coefficients already carry 1 / h_k (a scaled stencil, where the loops are
 * then free of divisions).  `scaled` is a constant in every caller, so each
 * inlined copy keeps one branch. */
static FP_INLINE_HOT double per_h(double x, double h, bool scaled) { return scaled ? x : x / h; }

/* Flux through the face above cell c (position a along axis k). */
static double flux_above(const fp_stencil *s, int k, size_t c, size_t a, const double *p)
{
  const fp_grid *g = &s->grid;
  size_t n = g->n[k], st = g->stride[k];
  if (a + 1 < n) return s->A[k][c] * p[c] + s->B[k][c] * p[c + st];
  switch (g->bc[k]) {
  case FP_BC_PERIODIC: return s->A[k][c] * p[c] + s->B[k][c] * p[c - (n - 1) * st];
  case FP_BC_ABSORBING: return s->A[k][c] * p[c];
  default: return 0.0;
  }
}

/* Flux through the face below cell c: the face above the cell below, or the
 * wall (or wrap) face. */
static double flux_below(const fp_stencil *s, int k, size_t c, size_t a, const double *p)
{
  const fp_grid *g = &s->grid;
  size_t n = g->n[k], st = g->stride[k];
  if (a > 0) return flux_above(s, k, c - st, a - 1, p);
  switch (g->bc[k]) {
  case FP_BC_PERIODIC: return flux_above(s, k, c + (n - 1) * st, n - 1, p);
  case FP_BC_ABSORBING: return s->W[k][c] * p[c];
  default: return 0.0;
  }
}

/* Contribution of axis k (k > 0) to the row of cells c0 .. c0 + n0 - 1
 * (position a along k), added to o[0 .. n0). */
static FP_INLINE_HOT void row_axis(const fp_stencil *s, int k, size_t c0, size_t a, const double *p,
                            double *o, bool scaled)
{
  const fp_grid *g = &s->grid;
  const size_t n0 = g->n[0], st = g->stride[k], n = g->n[k];
  const double h = g->h[k];
  if (a > 0 && a + 1 < n) {
    const double *A = s->A[k] + c0, *B = s->B[k] + c0, *Ad = A - st, *Bd = B - st;
    const double *pc = p + c0, *pu = pc + st, *pd = pc - st;
    for (size_t m = 0; m < n0; m++) {
      double in = Ad[m] * pd[m] + Bd[m] * pc[m];
      double outf = A[m] * pc[m] + B[m] * pu[m];
      o[m] += per_h(in - outf, h, scaled);
    }
    return;
  }
  for (size_t m = 0; m < n0; m++) {
    size_t c = c0 + m;
    o[m] += per_h(flux_below(s, k, c, a, p) - flux_above(s, k, c, a, p), h, scaled);
  }
}

/* (L p) on the row of cells c0 .. c0 + n0 - 1 (positions i1, i2 along the
 * other axes), into o[0 .. n0). */
static FP_INLINE_HOT void row(const fp_stencil *s, size_t c0, size_t i1, size_t i2, const double *p,
                       double *o, bool scaled)
{
  const fp_grid *g = &s->grid;
  const size_t n0 = g->n[0];
  const double h0 = g->h[0];
  /* x: interior cells without branches, the two ends through the boundary
   * conditions */
  const double *pr = p + c0, *A = s->A[0] + c0, *B = s->B[0] + c0;
  for (size_t m = 1; m + 1 < n0; m++) {
    double in = A[m - 1] * pr[m - 1] + B[m - 1] * pr[m];
    double out = A[m] * pr[m] + B[m] * pr[m + 1];
    o[m] = per_h(in - out, h0, scaled);
  }
  o[0] = per_h(flux_below(s, 0, c0, 0, p) - flux_above(s, 0, c0, 0, p), h0, scaled);
  if (n0 > 1)
    o[n0 - 1] = per_h(flux_below(s, 0, c0 + n0 - 1, n0 - 1, p) -
                          flux_above(s, 0, c0 + n0 - 1, n0 - 1, p),
                      h0, scaled);
  if (g->dim > 1) row_axis(s, 1, c0, i1, p, o, scaled);
  if (g->dim > 2) row_axis(s, 2, c0, i2, p, o, scaled);
}

static FP_TARGET_CLONES void apply_rows(const fp_stencil *s, const double *p, double *dpdt)
{
  const fp_grid *g = &s->grid;
  for (size_t i2 = 0; i2 < g->n[2]; i2++)
    for (size_t i1 = 0; i1 < g->n[1]; i1++) {
      size_t c0 = i2 * g->stride[2] + i1 * g->stride[1];
      row(s, c0, i1, i2, p, dpdt + c0, false);
    }
}

/* |x| as the bits of a non-negative double: their order as unsigned
 * integers is the order of the values, and a NaN's bits are above
 * infinity's, so an integer max reduction (which vectorises, where the
 * floating-point one does not without -ffast-math) finds the largest |x| and
 * lets a NaN through. */
static FP_INLINE_HOT uint64_t abs_bits(double x)
{
  uint64_t u;
  memcpy(&u, &x, sizeof u);
  return u & ~((uint64_t)1 << 63);
}

static FP_INLINE_HOT double from_bits(uint64_t u)
{
  double x;
  memcpy(&x, &u, sizeof x);
  return x;
}

/* old_m = Lp_m + 2 src_m - old_m, acc_m += c old_m, for m < n; returns
 * max |old_m| (NaN if one is).  The arrays do not overlap. */
static FP_INLINE_HOT double combine(size_t n, const double *restrict Lp, const double *restrict src,
                                    double *restrict old, double c, double *restrict acc)
{
  uint64_t vmax = 0;
  for (size_t m = 0; m < n; m++) {
    double v = Lp[m] + 2.0 * src[m] - old[m];
    old[m] = v;
    acc[m] += c * v;
    uint64_t av = abs_bits(v);
    vmax = av > vmax ? av : vmax;
  }
  return from_bits(vmax);
}

/* acc_m += c v_m for m < n */
static FP_INLINE_HOT void add_scaled(size_t n, double c, const double *restrict v,
                                     double *restrict acc)
{
  for (size_t m = 0; m < n; m++) acc[m] += c * v[m];
}

static FP_TARGET_CLONES double recurrence_rows(const fp_stencil *s, const double *p, int nacc,
                                               const double *c, double *const *acc,
                                               double *prev, double *scratch)
{
  const fp_grid *g = &s->grid;
  const size_t n0 = g->n[0];
  double vmax = 0.0;
  for (size_t i2 = 0; i2 < g->n[2]; i2++)
    for (size_t i1 = 0; i1 < g->n[1]; i1++) {
      size_t c0 = i2 * g->stride[2] + i1 * g->stride[1];
      row(s, c0, i1, i2, p, scratch, true); /* the row of a L p stays in cache */
      double m = combine(n0, scratch, p + c0, prev + c0, c[0], acc[0] + c0);
      /* the other sums while the new row is in cache */
      for (int j = 1; j < nacc; j++) add_scaled(n0, c[j], prev + c0, acc[j] + c0);
      vmax = fp_max_nan(vmax, m);
    }
  return vmax;
}

/* (the cloned functions are static: GCC exports the dispatcher of a
 * non-static clone whatever its visibility) */
void fp_stencil_apply(const fp_stencil *s, const double *p, double *dpdt) { apply_rows(s, p, dpdt); }

double fp_stencil_recurrence(const fp_stencil *s, const double *p, int nacc, const double *c,
                             double *const *acc, double *prev, double *scratch)
{
  return recurrence_rows(s, p, nacc, c, acc, prev, scratch);
}
