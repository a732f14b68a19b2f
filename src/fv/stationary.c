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
#include "fv/gmres_impl.h"
#include "fv/precond_fft.h"

_Static_assert(sizeof(SuiteSparse_long) == sizeof(int64_t), "KLU's long must be 64-bit");

/* ---- Iterative null vector for 3D grids, where KLU's fill-in makes the
 * direct solve slow (56 s at 24^3 with the 27-point full-tensor stencil).
 * Inverse iteration with a large shift: x <- (I - tau L)^-1 x, each solve
 * by restarted GMRES right-preconditioned with the fast-transform diffusion
 * solve (the time stepper's preconditioner).  (I - tau L)^-1 is non-negative
 * (L is an M-matrix) and keeps the mass; components of decay rate lambda
 * shrink by 1/|1 - tau lambda| per outer iteration. */
#define ITER_TAU 30
#define ITER_OUTER 40
#define ITER_RESTART 40
#define ITER_MAX_INNER 2000
#define ITER_INNER_RTOL 1e-12
#define ITER_TARGET 1e-13

/* A x = x - tau L x and M^-1 = the fast-transform solve of (I - tau D_mean lap). */
typedef struct shifted_ctx {
  fp_operator *op;
  fp_precond_fft *fft;
  double D[FP_MAX_DIM];
  size_t n;
} shifted_ctx;

static void apply_shifted(void *ctx, const double *in, double *out)
{
  shifted_ctx *c = ctx;
  fp_operator_apply(c->op, in, out);
  for (size_t i = 0; i < c->n; i++) out[i] = in[i] - ITER_TAU * out[i];
}

static void precond_shifted(void *ctx, const double *in, double *out)
{
  shifted_ctx *c = ctx;
  fp_precond_fft_solve(c->fft, ITER_TAU, c->D, in, out);
}

static double norm2(const double *a, size_t n)
{
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += a[i] * a[i];
  return sqrt(s);
}

static double null_residual(fp_operator *op, const double *p, double *work)
{
  fp_csr_view L;
  fp_operator_matrix(op, &L);
  fp_operator_apply(op, p, work);
  double rmax = 0.0, Lnorm = 0.0, pmax = 0.0;
  for (size_t i = 0; i < L.rows; i++) {
    double rowsum = 0.0;
    for (int64_t k = L.row_ptr[i]; k < L.row_ptr[i + 1]; k++) rowsum += fabs(L.value[k]);
    Lnorm = fmax(Lnorm, rowsum);
    rmax = fmax(rmax, fabs(work[i]));
    pmax = fmax(pmax, fabs(p[i]));
  }
  return rmax / (Lnorm * pmax);
}

static int stationary_iterative(fp_operator *op, const double *hint, double *p_ss, fp_error *err)
{
  const fp_grid *g = fp_operator_grid(op);
  size_t n = g->ncells;
  int rc = FP_OK;
  shifted_ctx sc = {.op = op, .n = n};
  fp_operator_mean_diffusion(op, sc.D);
  fp_gmres_ops ops = {apply_shifted, precond_shifted, &sc};
  fp_gmres *gm = NULL;
  double *b = malloc(n * sizeof *b);
  if (!b) {
    rc = fp_fail(err, FP_ERR_NOMEM, "out of memory for the iterative stationary solve");
    goto out;
  }
  rc = fp_gmres_create(n, ITER_RESTART, &gm, err);
  if (rc == FP_OK) rc = fp_precond_fft_create(g, false, &sc.fft, err);
  if (rc != FP_OK) goto out;
  for (size_t i = 0; i < n; i++) p_ss[i] = hint && hint[i] > 0.0 ? hint[i] : 1.0;
  double res = INFINITY;
  for (int outer = 0; outer < ITER_OUTER; outer++) {
    double mass = fp_density_mass(g, p_ss);
    for (size_t i = 0; i < n; i++) p_ss[i] /= mass;
    res = null_residual(op, p_ss, b);
    if (res <= ITER_TARGET) break;
    memcpy(b, p_ss, n * sizeof *b);
    /* (I - tau L) x = b to ITER_INNER_RTOL relative */
    fp_gmres_solve(gm, &ops, b, p_ss, ITER_INNER_RTOL * norm2(b, n), 0.0, ITER_MAX_INNER, NULL, NULL);
  }
  if (res <= ITER_TARGET) {
    /* GMRES leaves absolute errors ~1e-13 max p, which are relative errors
     * of order 1 (and negative values) where p_ss is ~1e-15 max p.
     * Symmetric Gauss-Seidel sweeps on L p = 0, p_i = sum_{j != i} L_ij p_j
     * / (-L_ii), fix them: the weights are non-negative (M-matrix), so the
     * update is positive wherever a neighbour is, and the relative error of
     * a cell becomes an average of its neighbours', i.e. that of the bulk. */
    fp_csr_view L;
    fp_operator_matrix(op, &L);
    for (size_t i = 0; i < n; i++)
      if (p_ss[i] < 0.0) p_ss[i] = 0.0;
    size_t sweeps = 0;
    for (int k = 0; k < g->dim; k++) sweeps = sweeps > g->n[k] ? sweeps : g->n[k];
    for (size_t sweep = 0; sweep < 2 * sweeps; sweep++)
      for (size_t q = 0; q < n; q++) {
        size_t i = sweep % 2 ? n - 1 - q : q;
        double off = 0.0, diag = 0.0;
        for (int64_t k = L.row_ptr[i]; k < L.row_ptr[i + 1]; k++) {
          if ((size_t)L.col[k] == i) diag = L.value[k];
          else off += L.value[k] * p_ss[L.col[k]];
        }
        if (diag < 0.0) p_ss[i] = off / -diag;
      }
  }
  if (!(res <= ITER_TARGET))
    rc = fp_fail(err, FP_ERR_NUMERIC,
                 "the iterative stationary solve did not converge (relative residual %.2e after "
                 "%d inverse iterations)", res, ITER_OUTER);
out:
  fp_precond_fft_destroy(&sc.fft);
  fp_gmres_destroy(&gm);
  free(b);
  return rc;
}

/* Normalise, check the sign (Perron-Frobenius: the exact null vector of an
 * M-matrix is positive; anything below -n eps max|p| is not round-off),
 * clip round-off negatives, and measure the residual. */
static int finish(fp_operator *op, double *p_ss, double *residual, fp_error *err)
{
  const fp_grid *g = fp_operator_grid(op);
  size_t n = g->ncells;
  double mass = fp_density_mass(g, p_ss);
  double pmax = 0.0;
  for (size_t i = 0; i < n; i++) {
    p_ss[i] /= mass;
    if (p_ss[i] > pmax) pmax = p_ss[i];
  }
  size_t at;
  double pmin = fp_density_min(g, p_ss, &at);
  if (pmin < -(double)n * DBL_EPSILON * pmax) {
    double x[FP_MAX_DIM];
    char where[128];
    fp_grid_cell_center(g, at, x);
    fp_format_point(where, sizeof where, g->dim, x);
    return fp_fail(err, FP_ERR_NUMERIC, "the stationary density is negative (%g) at %s", pmin, where);
  }
  for (size_t i = 0; i < n; i++)
    if (p_ss[i] < 0.0) p_ss[i] = 0.0;
  if (residual) {
    double *r = malloc(n * sizeof *r);
    if (!r) return fp_fail(err, FP_ERR_NOMEM, "out of memory for the stationary residual");
    *residual = null_residual(op, p_ss, r);
    free(r);
  }
  return FP_OK;
}

int fp_stationary_solve(fp_operator *op, const double *hint, double *p_ss,
                        double *residual, fp_error *err)
{
  const fp_grid *g = fp_operator_grid(op);
  for (int k = 0; k < g->dim; k++)
    if (g->bc[k] == FP_BC_ABSORBING)
      return fp_fail(err, FP_ERR_UNSUPPORTED,
                     "no stationary density: mass leaves through the absorbing boundary");
  if (g->dim == 3 && g->ncells > FP_STATIONARY_DIRECT_MAX_3D) {
    int rc = stationary_iterative(op, hint, p_ss, err);
    return rc == FP_OK ? finish(op, p_ss, residual, err) : rc;
  }
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

/* A = L, M^-1 = the fast-transform pseudo-inverse of D_mean lap. */
typedef struct null_ctx {
  fp_operator *op;
  fp_precond_fft *fft;
  double D[FP_MAX_DIM];
} null_ctx;

static void apply_L(void *ctx, const double *in, double *out)
{
  null_ctx *c = ctx;
  fp_operator_apply(c->op, in, out);
}

static void precond_diffusion(void *ctx, const double *in, double *out)
{
  null_ctx *c = ctx;
  fp_precond_fft_solve_diffusion(c->fft, c->D, in, out);
}

/* L x = 0 from the normalised hint: GMRES on L with right-hand side 0 (the
 * corrections keep the mass, L's columns summing to 0). */
static int gmres_null_vector(fp_operator *op, fp_precond_fft *fft, const double *hint, double *x,
                             int *iterations, fp_error *err)
{
  const fp_grid *g = fp_operator_grid(op);
  const size_t n = g->ncells;
  null_ctx nc = {.op = op, .fft = fft};
  fp_operator_mean_diffusion(op, nc.D);
  fp_csr_view L;
  fp_operator_matrix(op, &L);
  double Lnorm = 0.0;
  for (size_t i = 0; i < n; i++) {
    double rowsum = 0.0;
    for (int64_t k = L.row_ptr[i]; k < L.row_ptr[i + 1]; k++) rowsum += fabs(L.value[k]);
    if (rowsum > Lnorm) Lnorm = rowsum;
  }
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
  fp_gmres *gm = NULL;
  int rc = fp_gmres_create(n, KRYLOV_DIM, &gm, err);
  if (rc != FP_OK) return rc;
  fp_gmres_ops ops = {apply_L, precond_diffusion, &nc};
  bool ok = fp_gmres_solve(gm, &ops, NULL, x, 0.0, KRYLOV_TOL * Lnorm,
                           KRYLOV_RESTARTS * KRYLOV_DIM, iterations, NULL);
  fp_gmres_destroy(&gm);
  if (!ok)
    return fp_fail(err, FP_ERR_NUMERIC, "GMRES did not converge for the stationary density in %d iterations",
                   *iterations);
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
  /* Full tensors: the preconditioner leaves out the cross diffusion, and
   * GMRES's answer, though its residual is at round-off, was measured 3 %
   * off in sigma_hk_hs where p sits in p_ss's far tail (ou2d_tensor_correlated
   * at 256^2, validation/tensor_convergence.py): the direct solve there. */
  if (g->dim >= 2 && g->ncells >= FP_STATIONARY_ITERATIVE_MIN_CELLS && !fp_operator_full_tensor(op)) {
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
