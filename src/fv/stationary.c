/* fpentropy: stationary density of the frozen discrete dynamics (see
 * stationary.h).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include <fpentropy/problem/density.h>
#include <fpentropy/fv/stationary.h>

#include <float.h>
#include <klu.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error_impl.h"

_Static_assert(sizeof(SuiteSparse_long) == sizeof(int64_t), "KLU's long must be 64-bit");

int fp_stationary_solve(fp_operator *op, const double *hint, double *p_ss,
                        double *residual, fp_error *err)
{
  const fp_grid *g = fp_operator_grid(op);
  for (int k = 0; k < g->dim; k++)
    if (g->bc[k] == FP_BC_ABSORBING)
      return fp_fail(err, FP_ERR_UNSUPPORTED,
                     "no stationary density: mass leaves through the absorbing boundary");
  fp_csr_view L;
  fp_operator_matrix(op, &L);
  size_t n = L.rows, pinned = n / 2;
  if (hint) {
    pinned = 0;
    for (size_t i = 1; i < n; i++)
      if (hint[i] > hint[pinned]) pinned = i;
  }

  int rc = FP_OK;
  int64_t *row_ptr = malloc((n + 1) * sizeof *row_ptr);
  int64_t *col = malloc(L.nnz * sizeof *col);
  double *val = malloc(L.nnz * sizeof *val);
  klu_l_symbolic *symbolic = NULL;
  klu_l_numeric *numeric = NULL;
  klu_l_common common;
  if (!row_ptr || !col || !val) {
    rc = fp_fail(err, FP_ERR_NOMEM, "out of memory for the stationary solve");
    goto out_free;
  }
  /* Copy L, replacing the pinned row by e_r (keeping the pattern sorted). */
  size_t q = 0;
  for (size_t i = 0; i < n; i++) {
    row_ptr[i] = (int64_t)q;
    if (i == pinned) {
      col[q] = (int64_t)i, val[q] = 1.0, q++;
      continue;
    }
    for (int64_t r = L.row_ptr[i]; r < L.row_ptr[i + 1]; r++) col[q] = L.col[r], val[q] = L.value[r], q++;
  }
  row_ptr[n] = (int64_t)q;
  klu_l_defaults(&common);
  /* KLU is column-oriented: the CSR arrays are the CSC arrays of the
   * transpose, so the transposed solve below solves the system itself. */
  symbolic = klu_l_analyze((SuiteSparse_long)n, (SuiteSparse_long *)row_ptr,
                           (SuiteSparse_long *)col, &common);
  if (symbolic)
    numeric = klu_l_factor((SuiteSparse_long *)row_ptr, (SuiteSparse_long *)col, val, symbolic,
                           &common);
  if (!symbolic || !numeric) {
    rc = fp_fail(err, FP_ERR_NUMERIC, "KLU could not factor the stationary system (status %ld)",
                 (long)common.status);
    goto out_free;
  }
  memset(p_ss, 0, n * sizeof *p_ss);
  p_ss[pinned] = 1.0;
  if (!klu_l_tsolve(symbolic, numeric, (SuiteSparse_long)n, 1, p_ss, &common)) {
    rc = fp_fail(err, FP_ERR_NUMERIC, "KLU solve failed for the stationary density (status %ld)",
                 (long)common.status);
    goto out_free;
  }
  double mass = fp_density_mass(g, p_ss);
  double pmax = 0.0;
  for (size_t i = 0; i < n; i++) {
    p_ss[i] /= mass;
    if (p_ss[i] > pmax) pmax = p_ss[i];
  }
  size_t at;
  double pmin = fp_density_min(g, p_ss, &at);
  /* Perron-Frobenius makes the exact null vector of an M-matrix positive;
   * anything below -n eps max|p| is not round-off. */
  if (pmin < -(double)n * DBL_EPSILON * pmax) {
    double x[FP_MAX_DIM];
    char where[128];
    fp_grid_cell_center(g, at, x);
    fp_format_point(where, sizeof where, g->dim, x);
    rc = fp_fail(err, FP_ERR_NUMERIC, "the stationary density is negative (%g) at %s", pmin, where);
    goto out_free;
  }
  for (size_t i = 0; i < n; i++)
    if (p_ss[i] < 0.0) p_ss[i] = 0.0;
  if (residual) {
    double *r = malloc(n * sizeof *r);
    if (!r) {
      rc = fp_fail(err, FP_ERR_NOMEM, "out of memory for the stationary residual");
      goto out_free;
    }
    fp_operator_apply(op, p_ss, r);
    double rmax = 0.0, Lnorm = 0.0;
    for (size_t i = 0; i < n; i++) {
      double rowsum = 0.0;
      for (int64_t k = L.row_ptr[i]; k < L.row_ptr[i + 1]; k++) rowsum += fabs(L.value[k]);
      if (rowsum > Lnorm) Lnorm = rowsum;
      if (fabs(r[i]) > rmax) rmax = fabs(r[i]);
    }
    *residual = rmax / (Lnorm * pmax);
    free(r);
  }
out_free:
  if (numeric) klu_l_free_numeric(&numeric, &common);
  if (symbolic) klu_l_free_symbolic(&symbolic, &common);
  free(row_ptr);
  free(col);
  free(val);
  return rc;
}
