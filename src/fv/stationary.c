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
#include "fv/precond_fft.h"

_Static_assert(sizeof(SuiteSparse_long) == sizeof(int64_t), "KLU's long must be 64-bit");

/* Normalise p_ss to unit mass, reject negative values beyond round-off,
 * clear the round-off ones, and measure the residual. */
static int finish(fp_operator *op, double *p_ss, double *residual, fp_error *err)
{
  const fp_grid *g = fp_operator_grid(op);
  fp_csr_view L;
  fp_operator_matrix(op, &L);
  size_t n = L.rows;
  int rc = FP_OK;
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
    return rc;
  }
  for (size_t i = 0; i < n; i++)
    if (p_ss[i] < 0.0) p_ss[i] = 0.0;
  if (residual) {
    double *r = malloc(n * sizeof *r);
    if (!r) {
      rc = fp_fail(err, FP_ERR_NOMEM, "out of memory for the stationary residual");
      return rc;
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
  return rc;
}

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
  rc = finish(op, p_ss, residual, err);
out_free:
  if (numeric) klu_l_free_numeric(&numeric, &common);
  if (symbolic) klu_l_free_symbolic(&symbolic, &common);
  free(row_ptr);
  free(col);
  free(val);
  return rc;
}

/* ---- iterative solve: GMRES preconditioned by the diffusion part ---------
 *
 * p_ss = x0 + P y with L P y = -L x0, where x0 is the hint (unit mass) and P
 * the pseudo-inverse of sum_k Dbar_k Delta_k (FFT).  The columns of L sum to
 * zero, so -L x0 and every Krylov vector have zero mass; on that subspace L
 * is invertible (its null vector p_ss has mass 1) and so is L P, while P L
 * differs from the identity by the drift, a lower-order term: the iteration
 * count does not grow with the grid. */

#define KRYLOV_DIM 30
#define KRYLOV_RESTARTS 20
/* stop when ||L p||_2 <= KRYLOV_TOL ||L||_inf ||p||_2: the round-off level
 * of evaluating L p */
#define KRYLOV_TOL 1e-13

static double norm2(const double *x, size_t n)
{
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += x[i] * x[i];
  return sqrt(s);
}

static double dot2(const double *x, const double *y, size_t n)
{
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += x[i] * y[i];
  return s;
}

static int gmres_null_vector(fp_operator *op, fp_precond_fft *fft, const double *hint, double *x,
                             int *iterations, fp_error *err)
{
  const fp_grid *g = fp_operator_grid(op);
  const size_t n = g->ncells;
  const int m = KRYLOV_DIM;
  double D[FP_MAX_DIM];
  fp_operator_mean_diffusion(op, D);
  fp_csr_view L;
  fp_operator_matrix(op, &L);
  double Lnorm = 0.0;
  for (size_t i = 0; i < n; i++) {
    double rowsum = 0.0;
    for (int64_t k = L.row_ptr[i]; k < L.row_ptr[i + 1]; k++) rowsum += fabs(L.value[k]);
    if (rowsum > Lnorm) Lnorm = rowsum;
  }
  double *V = malloc((size_t)(m + 1) * n * sizeof *V);
  double *w = malloc(n * sizeof *w);
  if (!V || !w) {
    free(V);
    free(w);
    return fp_fail(err, FP_ERR_NOMEM, "out of memory for the iterative stationary solve");
  }
  double H[KRYLOV_DIM + 1][KRYLOV_DIM], cs[KRYLOV_DIM], sn[KRYLOV_DIM], gv[KRYLOV_DIM + 1];
  double sum = 0.0;
  for (size_t i = 0; i < n; i++) {
    x[i] = hint && hint[i] > 0.0 ? hint[i] : (hint ? 0.0 : 1.0);
    sum += x[i];
  }
  if (!(sum > 0.0)) {
    for (size_t i = 0; i < n; i++) x[i] = 1.0;
    sum = (double)n;
  }
  for (size_t i = 0; i < n; i++) x[i] /= sum;
  int rc = FP_ERR_NUMERIC, total = 0;
  for (int restart = 0; restart < KRYLOV_RESTARTS; restart++) {
    double *v0 = V;
    fp_operator_apply(op, x, v0);
    for (size_t i = 0; i < n; i++) v0[i] = -v0[i];
    double beta = norm2(v0, n), stop = KRYLOV_TOL * Lnorm * norm2(x, n);
    if (beta <= stop) {
      rc = FP_OK;
      break;
    }
    for (size_t i = 0; i < n; i++) v0[i] /= beta;
    gv[0] = beta;
    int k = 0;
    bool converged = false;
    for (int j = 0; j < m; j++) {
      double *vj = V + (size_t)j * n, *vn = V + (size_t)(j + 1) * n;
      fp_precond_fft_solve_diffusion(fft, D, vj, w);
      fp_operator_apply(op, w, vn);
      total++;
      /* modified Gram-Schmidt (one pass: the residual is not driven below
       * 1e-13, far from where GMRES needs a reorthogonalisation) */
      for (int i = 0; i <= j; i++) {
        double *vi = V + (size_t)i * n;
        double h = dot2(vn, vi, n);
        H[i][j] = h;
        for (size_t q = 0; q < n; q++) vn[q] -= h * vi[q];
      }
      double hn = norm2(vn, n);
      H[j + 1][j] = hn;
      if (hn > 0.0)
        for (size_t q = 0; q < n; q++) vn[q] /= hn;
      for (int i = 0; i < j; i++) {
        double a = H[i][j], b = H[i + 1][j];
        H[i][j] = cs[i] * a + sn[i] * b;
        H[i + 1][j] = -sn[i] * a + cs[i] * b;
      }
      double a = H[j][j], b = H[j + 1][j], r = hypot(a, b);
      cs[j] = r > 0.0 ? a / r : 1.0;
      sn[j] = r > 0.0 ? b / r : 0.0;
      H[j][j] = r;
      H[j + 1][j] = 0.0;
      gv[j + 1] = -sn[j] * gv[j];
      gv[j] = cs[j] * gv[j];
      k = j + 1;
      if (fabs(gv[j + 1]) <= stop || hn == 0.0) {
        converged = true;
        break;
      }
    }
    /* y = H^{-1} g, u = V y, x += P u */
    double y[KRYLOV_DIM];
    for (int i = k - 1; i >= 0; i--) {
      double s = gv[i];
      for (int q = i + 1; q < k; q++) s -= H[i][q] * y[q];
      y[i] = s / H[i][i];
    }
    memset(w, 0, n * sizeof *w);
    for (int i = 0; i < k; i++) {
      const double *vi = V + (size_t)i * n;
      for (size_t q = 0; q < n; q++) w[q] += y[i] * vi[q];
    }
    fp_precond_fft_solve_diffusion(fft, D, w, w);
    for (size_t q = 0; q < n; q++) x[q] += w[q];
    if (converged) {
      rc = FP_OK;
      break;
    }
  }
  *iterations = total;
  free(V);
  free(w);
  if (rc != FP_OK)
    return fp_fail(err, FP_ERR_NUMERIC, "GMRES did not converge for the stationary density in %d iterations",
                   total);
  return FP_OK;
}

int fp_stationary_solve_iterative(fp_operator *op, const double *hint, double *p_ss,
                                  double *residual, int *iterations, fp_error *err)
{
  const fp_grid *g = fp_operator_grid(op);
  for (int k = 0; k < g->dim; k++)
    if (g->bc[k] == FP_BC_ABSORBING)
      return fp_fail(err, FP_ERR_UNSUPPORTED,
                     "no stationary density: mass leaves through the absorbing boundary");
  fp_precond_fft *fft = NULL;
  int its = 0;
  int rc = fp_precond_fft_create(g, false, &fft, err);
  if (rc == FP_OK) rc = gmres_null_vector(op, fft, hint, p_ss, &its, err);
  fp_precond_fft_destroy(&fft);
  if (iterations) *iterations = its;
  if (rc == FP_OK) rc = finish(op, p_ss, residual, err);
  return rc;
}

int fp_stationary_solve_auto(fp_operator *op, const double *hint, double *p_ss, double *residual,
                             fp_stationary_method *used, fp_error *err)
{
  const fp_grid *g = fp_operator_grid(op);
  if (used) *used = FP_STATIONARY_KLU;
  if (g->dim >= 2 && g->ncells >= FP_STATIONARY_ITERATIVE_MIN_CELLS) {
    fp_error local;
    fp_error_clear(&local);
    int its = 0;
    /* Where GMRES does not reach the round-off level (or leaves a negative
     * value beyond it), the direct solve decides. */
    if (fp_stationary_solve_iterative(op, hint, p_ss, residual, &its, &local) == FP_OK) {
      if (used) *used = FP_STATIONARY_GMRES_FFT;
      return FP_OK;
    }
    if (local.code == FP_ERR_NOMEM) return fp_fail(err, FP_ERR_NOMEM, "%s", local.message);
  }
  return fp_stationary_solve(op, hint, p_ss, residual, err);
}
