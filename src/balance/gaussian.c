/* fpentropy: closed forms for linear-Gaussian (Ornstein-Uhlenbeck) dynamics.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * All matrices are at most 3x3, so the small dense algebra (Cholesky,
 * inverse, products) is written out here: it is exact enough, needs no
 * allocation, and lets us detect indefinite or singular input ourselves
 * instead of through GSL's error handler, which aborts by default.  GSL is
 * used for the Lyapunov solve (a 9x9 LU), the eigenvalues of A and the ODE
 * integration; every GSL status is checked. */
#include <fpentropy/balance/gaussian.h>

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_eigen.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_odeiv2.h>
#include <gsl/gsl_permutation.h>
#include <gsl/gsl_vector.h>

#include "core/error_impl.h"
#include "core/spd_impl.h"
#include "core/gsl_guard_impl.h"

#define N FP_MAX_DIM

/* View a modifiable matrix as read-only: C17 does not convert double(*)[N]
 * to const double(*)[N] implicitly (C23 does). */
#define RO(M) ((const double(*)[N])(M))

/* Relative asymmetry tolerated in matrices that must be symmetric: far above
 * round-off from forming products such as A S A^T, far below any typo. */
#define SYMMETRY_RTOL 1e-10

/* A Lyapunov or mean system whose smallest LU pivot is below this many ulps of
 * the largest is treated as singular (A has eigenvalues summing to ~0). */
#define PIVOT_ULPS 64.0

/* Step budget of one integration call: rk8pd needs a few hundred steps per
 * unit of stiffness*time at 1e-13, so hitting this means a runaway model. */
#define OU_MAX_STEPS 10000000UL

/* Initial step; the controller adapts it within a few steps. */
#define OU_HSTART 1e-3

/* ------------------------------------------------------------------------ */
/* Small dense algebra                                                      */
/* ------------------------------------------------------------------------ */

/* A symmetric positive definite matrix with what every formula needs. */
typedef struct spd {
  double S[N][N];   /* symmetrised copy (zero beyond dim) */
  double inv[N][N]; /* S^-1 (zero beyond dim) */
  double logdet;    /* ln det S */
} spd;

static bool all_finite(const double *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!isfinite(v[i])) return false;
  return true;
}

static bool mat_finite(int d, const double M[N][N])
{
  for (int i = 0; i < d; i++)
    if (!all_finite(M[i], (size_t)d)) return false;
  return true;
}

static void mat_zero(double M[N][N]) { memset(M, 0, sizeof(double[N][N])); }

/* C = A B (dim d); C may not alias A or B. */
static void mat_mul(int d, const double A[N][N], const double B[N][N], double C[N][N])
{
  mat_zero(C);
  for (int i = 0; i < d; i++)
    for (int j = 0; j < d; j++) {
      double s = 0.0;
      for (int k = 0; k < d; k++) s += A[i][k] * B[k][j];
      C[i][j] = s;
    }
}

/* y = A x + b (b may be NULL); y may not alias x. */
static void mat_vec(int d, const double A[N][N], const double x[N], const double *b, double y[N])
{
  for (int i = 0; i < N; i++) y[i] = 0.0;
  for (int i = 0; i < d; i++) {
    double s = b ? b[i] : 0.0;
    for (int k = 0; k < d; k++) s += A[i][k] * x[k];
    y[i] = s;
  }
}

static double dot(int d, const double a[N], const double b[N])
{
  double s = 0.0;
  for (int i = 0; i < d; i++) s += a[i] * b[i];
  return s;
}

/* tr(A B) */
static double trace_mul(int d, const double A[N][N], const double B[N][N])
{
  double s = 0.0;
  for (int i = 0; i < d; i++)
    for (int k = 0; k < d; k++) s += A[i][k] * B[k][i];
  return s;
}

static int check_dim(int dim, const char *what, fp_error *err)
{
  if (dim < 1 || dim > N)
    return fp_fail(err, FP_ERR_ARG, "%s: dimension must be 1, 2 or 3 (got %d)", what, dim);
  return FP_OK;
}

/* Validate a matrix that must be symmetric positive definite and factor it.
 * `what` names it in the message ("covariance of p", "D"). */
static int spd_factor(int d, const double M[N][N], const char *what, spd *out, fp_error *err)
{
  if (!mat_finite(d, M)) return fp_fail(err, FP_ERR_ARG, "%s has non-finite entries", what);
  double scale = 0.0;
  for (int i = 0; i < d; i++)
    for (int j = 0; j < d; j++) scale = fmax(scale, fabs(M[i][j]));
  mat_zero(out->S);
  for (int i = 0; i < d; i++)
    for (int j = i; j < d; j++) {
      if (fabs(M[i][j] - M[j][i]) > SYMMETRY_RTOL * scale)
        return fp_fail(err, FP_ERR_ARG, "%s is not symmetric (entries (%d,%d) = %.17g and "
                       "(%d,%d) = %.17g)", what, i + 1, j + 1, M[i][j], j + 1, i + 1, M[j][i]);
      double s = 0.5 * (M[i][j] + M[j][i]);
      out->S[i][j] = s;
      out->S[j][i] = s;
    }

  fp_spd f;
  if (!fp_spd_factor(d, RO(out->S), &f))
    return fp_fail(err, FP_ERR_ARG, "%s is not positive definite (Cholesky pivot %d is %g)",
                   what, f.bad_pivot, f.bad_value);
  out->logdet = f.logdet;
  fp_spd_inverse(&f, out->inv);
  return FP_OK;
}

/* A Gaussian's dimension and mean checked, its covariance factored. */
static int gaussian_factor(const fp_gaussian *g, const char *what, spd *out, fp_error *err)
{
  char label[64];
  if (!g) return fp_fail(err, FP_ERR_ARG, "%s is NULL", what);
  int status = check_dim(g->dim, what, err);
  if (status != FP_OK) return status;
  if (!all_finite(g->mean, (size_t)g->dim))
    return fp_fail(err, FP_ERR_ARG, "%s: the mean has non-finite entries", what);
  snprintf(label, sizeof label, "%s: the covariance", what);
  return spd_factor(g->dim, g->cov, label, out, err);
}

/* The frozen dynamics checked, D factored. */
static int frozen_check(const fp_gaussian_frozen *f, spd *D, fp_error *err)
{
  if (!f) return fp_fail(err, FP_ERR_ARG, "the dynamics are NULL");
  int status = check_dim(f->dim, "dynamics", err);
  if (status != FP_OK) return status;
  if (!mat_finite(f->dim, f->A)) return fp_fail(err, FP_ERR_ARG, "A has non-finite entries");
  if (!all_finite(f->c, (size_t)f->dim))
    return fp_fail(err, FP_ERR_ARG, "c has non-finite entries");
  return spd_factor(f->dim, f->D, "the diffusion matrix D", D, err);
}

static int same_dim(int a, int b, const char *what, fp_error *err)
{
  if (a != b)
    return fp_fail(err, FP_ERR_ARG, "%s: dimensions differ (%d and %d)", what, a, b);
  return FP_OK;
}

/* E[(P x + u)^T W (Q x + w)] for x ~ N(m, S):
 *   tr(P^T W Q S) + (P m + u)^T W (Q m + w).
 * Every balance term below is one such expectation, because J/p and the
 * gradients of Gaussian log-densities are affine in x. */
static double expect_bilinear(int d, const double P[N][N], const double u[N],
                              const double W[N][N], const double Q[N][N], const double w[N],
                              const double m[N], const double S[N][N])
{
  double WQ[N][N], WQS[N][N];
  mat_mul(d, W, Q, WQ);
  mat_mul(d, RO(WQ), S, WQS);
  double tr = 0.0; /* tr(P^T X) = sum_kj P_kj X_kj */
  for (int k = 0; k < d; k++)
    for (int j = 0; j < d; j++) tr += P[k][j] * WQS[k][j];
  double left[N], right[N], Wright[N];
  mat_vec(d, P, m, u, left);
  mat_vec(d, Q, m, w, right);
  mat_vec(d, W, right, NULL, Wright);
  return tr + dot(d, left, Wright);
}

/* v(x) = J/p = M x + k for the Gaussian p = N(m, S) (see the header):
 * M = -A + D S^-1, k = c - D S^-1 m.  Also the Hatano-Sasa v_ss with
 * (m, S) = (mss, Sss). */
static void velocity(const fp_gaussian_frozen *f, const spd *D, const double m[N],
                     const spd *S, double M[N][N], double k[N])
{
  int d = f->dim;
  double DSi[N][N], DSim[N];
  mat_mul(d, D->S, S->inv, DSi);
  mat_vec(d, RO(DSi), m, NULL, DSim);
  mat_zero(M);
  for (int i = 0; i < N; i++) k[i] = 0.0;
  for (int i = 0; i < d; i++) {
    for (int j = 0; j < d; j++) M[i][j] = -f->A[i][j] + DSi[i][j];
    k[i] = f->c[i] - DSim[i];
  }
}

/* Solve the n x n system K x = b (K destroyed) with GSL's LU.  The pivots are
 * checked first because gsl_linalg_LU_solve reports an exactly singular
 * matrix through the error handler, and a nearly singular one not at all. */
static int lu_solve(size_t n, double *K, double *b, double *x, const char *what, fp_error *err)
{
  size_t perm_data[N * N];
  gsl_permutation perm = {n, perm_data};
  gsl_matrix_view Kv = gsl_matrix_view_array(K, n, n);
  gsl_vector_view bv = gsl_vector_view_array(b, n);
  gsl_vector_view xv = gsl_vector_view_array(x, n);
  int signum = 0;
  int status = gsl_linalg_LU_decomp(&Kv.matrix, &perm, &signum);
  if (status != GSL_SUCCESS)
    return fp_fail(err, FP_ERR_NUMERIC, "%s: LU decomposition failed (%s)", what,
                   gsl_strerror(status));
  double pmax = 0.0, pmin = INFINITY;
  for (size_t i = 0; i < n; i++) {
    double piv = fabs(gsl_matrix_get(&Kv.matrix, i, i));
    pmax = fmax(pmax, piv);
    pmin = fmin(pmin, piv);
  }
  if (!(pmin > PIVOT_ULPS * DBL_EPSILON * pmax))
    return fp_fail(err, FP_ERR_NUMERIC, "%s: the linear system is numerically singular "
                   "(pivots from %g to %g)", what, pmin, pmax);
  status = gsl_linalg_LU_solve(&Kv.matrix, &perm, &bv.vector, &xv.vector);
  if (status != GSL_SUCCESS)
    return fp_fail(err, FP_ERR_NUMERIC, "%s: LU solve failed (%s)", what, gsl_strerror(status));
  return FP_OK;
}

/* ------------------------------------------------------------------------ */
/* Densities and divergences                                                */
/* ------------------------------------------------------------------------ */

/* log N(x) from a factored covariance. */
static double log_density_factored(int d, const double mean[N], const spd *S, const double x[N])
{
  double r[N] = {0.0, 0.0, 0.0}, Sir[N];
  for (int i = 0; i < d; i++) r[i] = x[i] - mean[i];
  mat_vec(d, S->inv, r, NULL, Sir);
  return -0.5 * (dot(d, r, Sir) + S->logdet + (double)d * log(2.0 * M_PI));
}

int fp_gaussian_log_density(const fp_gaussian *g, const double x[FP_MAX_DIM], double *out,
                            fp_error *err)
{
  spd S;
  if (!x || !out) return fp_fail(err, FP_ERR_ARG, "fp_gaussian_log_density: NULL argument");
  int status = gaussian_factor(g, "the Gaussian", &S, err);
  if (status != FP_OK) return status;
  if (!all_finite(x, (size_t)g->dim))
    return fp_fail(err, FP_ERR_ARG, "fp_gaussian_log_density: the point is not finite");
  *out = log_density_factored(g->dim, g->mean, &S, x);
  return FP_OK;
}

int fp_gaussian_density(const fp_gaussian *g, const double x[FP_MAX_DIM], double *out,
                        fp_error *err)
{
  double lp = 0.0;
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_gaussian_density: NULL argument");
  int status = fp_gaussian_log_density(g, x, &lp, err);
  if (status != FP_OK) return status;
  *out = exp(lp);
  return FP_OK;
}

int fp_gaussian_fill_grid(const fp_gaussian *g, const fp_grid *grid, double *values,
                          fp_error *err)
{
  spd S;
  if (!grid || !values) return fp_fail(err, FP_ERR_ARG, "fp_gaussian_fill_grid: NULL argument");
  int status = gaussian_factor(g, "the Gaussian", &S, err);
  if (status != FP_OK) return status;
  status = same_dim(g->dim, grid->dim, "fp_gaussian_fill_grid (Gaussian vs grid)", err);
  if (status != FP_OK) return status;
  /* Row by row along x: with r = x - mean, r^T S^-1 r = r0 (S00 r0 + 2 b) + c,
   * where b = sum_{j>0} S0j r_j and c (the form of the other axes) are fixed
   * on a row; the same value as log_density_factored up to rounding, at one
   * exp a cell. */
  const int d = g->dim;
  const double norm = S.logdet + (double)d * log(2.0 * M_PI);
  const double s00 = S.inv[0][0];
  const size_t n0 = grid->n[0];
  double *xs = malloc(n0 * sizeof *xs);
  if (!xs) return fp_fail(err, FP_ERR_NOMEM, "out of memory filling the grid with a Gaussian");
  for (size_t i = 0; i < n0; i++) xs[i] = fp_grid_center(grid, 0, i) - g->mean[0];
  for (size_t i2 = 0; i2 < grid->n[2]; i2++)
    for (size_t i1 = 0; i1 < grid->n[1]; i1++) {
      double r[N] = {0.0, 0.0, 0.0};
      if (d > 1) r[1] = fp_grid_center(grid, 1, i1) - g->mean[1];
      if (d > 2) r[2] = fp_grid_center(grid, 2, i2) - g->mean[2];
      double b = 0.0, c = 0.0;
      for (int i = 1; i < d; i++) {
        b += S.inv[0][i] * r[i];
        for (int j = 1; j < d; j++) c += r[i] * S.inv[i][j] * r[j];
      }
      double *row = values + i2 * grid->stride[2] + i1 * grid->stride[1];
      for (size_t m = 0; m < n0; m++) row[m] = exp(-0.5 * (xs[m] * (s00 * xs[m] + 2.0 * b) + c + norm));
    }
  free(xs);
  return FP_OK;
}

int fp_gaussian_kl(const fp_gaussian *p, const fp_gaussian *q, double *out, fp_error *err)
{
  spd Sp, Sq;
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_gaussian_kl: NULL argument");
  int status = gaussian_factor(p, "p", &Sp, err);
  if (status == FP_OK) status = gaussian_factor(q, "q", &Sq, err);
  if (status == FP_OK) status = same_dim(p->dim, q->dim, "fp_gaussian_kl", err);
  if (status != FP_OK) return status;
  int d = p->dim;
  double dm[N] = {0.0, 0.0, 0.0}, Sqdm[N];
  for (int i = 0; i < d; i++) dm[i] = q->mean[i] - p->mean[i];
  mat_vec(d, RO(Sq.inv), dm, NULL, Sqdm);
  *out = 0.5 * (trace_mul(d, RO(Sq.inv), RO(Sp.S)) + dot(d, dm, Sqdm) - (double)d +
                Sq.logdet - Sp.logdet);
  return FP_OK;
}

int fp_gaussian_kl_rate(const fp_gaussian *p, const fp_gaussian *dpdt, const fp_gaussian *q,
                        double *out, fp_error *err)
{
  spd Sp, Sq;
  if (!dpdt || !out) return fp_fail(err, FP_ERR_ARG, "fp_gaussian_kl_rate: NULL argument");
  int status = gaussian_factor(p, "p", &Sp, err);
  if (status == FP_OK) status = gaussian_factor(q, "q", &Sq, err);
  if (status == FP_OK) status = same_dim(p->dim, q->dim, "fp_gaussian_kl_rate (p vs q)", err);
  if (status == FP_OK)
    status = same_dim(p->dim, dpdt->dim, "fp_gaussian_kl_rate (p vs dp/dt)", err);
  if (status != FP_OK) return status;
  int d = p->dim;
  if (!all_finite(dpdt->mean, (size_t)d) || !mat_finite(d, dpdt->cov))
    return fp_fail(err, FP_ERR_ARG, "fp_gaussian_kl_rate: dp/dt has non-finite entries");
  double dm[N] = {0.0, 0.0, 0.0}, Sqdm[N];
  for (int i = 0; i < d; i++) dm[i] = q->mean[i] - p->mean[i];
  mat_vec(d, RO(Sq.inv), dm, NULL, Sqdm);
  *out = 0.5 * (trace_mul(d, RO(Sq.inv), dpdt->cov) - 2.0 * dot(d, Sqdm, dpdt->mean) -
                trace_mul(d, RO(Sp.inv), dpdt->cov));
  return FP_OK;
}

/* ------------------------------------------------------------------------ */
/* Stationary density and entropy balance                                   */
/* ------------------------------------------------------------------------ */

/* Fail with FP_ERR_UNSUPPORTED unless every eigenvalue of A has a positive
 * real part.  The Lyapunov solve alone would also notice, but only as an
 * indefinite result; the eigenvalue makes the message useful. */
static int check_stable(int d, const double A[N][N], fp_error *err)
{
  double a[N * N], ev[2 * N];
  for (int i = 0; i < d; i++)
    for (int j = 0; j < d; j++) a[(size_t)i * (size_t)d + (size_t)j] = A[i][j];
  gsl_matrix_view av = gsl_matrix_view_array(a, (size_t)d, (size_t)d);
  gsl_vector_complex_view evv = gsl_vector_complex_view_array(ev, (size_t)d);
  gsl_eigen_nonsymm_workspace *w = gsl_eigen_nonsymm_alloc((size_t)d);
  if (!w) return fp_fail(err, FP_ERR_NOMEM, "eigenvalues of A: out of memory");
  int status = gsl_eigen_nonsymm(&av.matrix, &evv.vector, w);
  gsl_eigen_nonsymm_free(w);
  if (status != GSL_SUCCESS)
    return fp_fail(err, FP_ERR_NUMERIC, "eigenvalues of A: %s", gsl_strerror(status));
  for (int i = 0; i < d; i++) {
    double re = ev[2 * i], im = ev[2 * i + 1];
    if (!(re > 0.0))
      return fp_fail(err, FP_ERR_UNSUPPORTED,
                     "no stationary density: A has the eigenvalue %g%+gi, whose real part is "
                     "not positive (the drift -A x does not confine)", re, im);
  }
  return FP_OK;
}

static int gaussian_stationary_unguarded(const fp_gaussian_frozen *f, fp_gaussian *pss, fp_error *err)
{
  spd D, Sss;
  if (!pss) return fp_fail(err, FP_ERR_ARG, "fp_gaussian_stationary: NULL argument");
  int status = frozen_check(f, &D, err);
  if (status != FP_OK) return status;
  int d = f->dim;
  status = check_stable(d, f->A, err);
  if (status != FP_OK) return status;

  /* (A S + S A^T)_ij = sum_k A_ik S_kj + sum_k S_ik A_jk = 2 D_ij, with
   * S_ij the unknown at i*d + j. */
  size_t n = (size_t)d * (size_t)d;
  double K[N * N * N * N], b[N * N], s[N * N];
  memset(K, 0, sizeof K);
  for (int i = 0; i < d; i++)
    for (int j = 0; j < d; j++) {
      size_t row = (size_t)(i * d + j);
      for (int k = 0; k < d; k++) {
        K[row * n + (size_t)(k * d + j)] += f->A[i][k];
        K[row * n + (size_t)(i * d + k)] += f->A[j][k];
      }
      b[row] = 2.0 * D.S[i][j];
    }
  status = lu_solve(n, K, b, s, "stationary covariance (Lyapunov equation)", err);
  if (status != FP_OK) return status;
  double S[N][N];
  mat_zero(S);
  for (int i = 0; i < d; i++)
    for (int j = 0; j < d; j++) S[i][j] = 0.5 * (s[i * d + j] + s[j * d + i]);
  status = spd_factor(d, RO(S), "the stationary covariance", &Sss, err);
  if (status != FP_OK)
    return fp_fail_context(err, FP_ERR_NUMERIC, "Lyapunov equation");

  double Am[N * N], cm[N], mss[N];
  for (int i = 0; i < d; i++) {
    for (int j = 0; j < d; j++) Am[i * d + j] = f->A[i][j];
    cm[i] = f->c[i];
  }
  status = lu_solve((size_t)d, Am, cm, mss, "stationary mean (A m = c)", err);
  if (status != FP_OK) return status;

  memset(pss, 0, sizeof *pss);
  pss->dim = d;
  for (int i = 0; i < d; i++) {
    pss->mean[i] = mss[i];
    for (int j = 0; j < d; j++) pss->cov[i][j] = Sss.S[i][j];
  }
  return FP_OK;
}

int fp_gaussian_sigma_tot(const fp_gaussian_frozen *f, const fp_gaussian *p, double *out,
                          fp_error *err)
{
  spd D, S;
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_gaussian_sigma_tot: NULL argument");
  int status = frozen_check(f, &D, err);
  if (status == FP_OK) status = gaussian_factor(p, "p", &S, err);
  if (status == FP_OK) status = same_dim(f->dim, p->dim, "fp_gaussian_sigma_tot", err);
  if (status != FP_OK) return status;
  double M[N][N], k[N];
  velocity(f, &D, p->mean, &S, M, k);
  *out = expect_bilinear(f->dim, RO(M), k, RO(D.inv), RO(M), k, p->mean, RO(S.S));
  return FP_OK;
}

int fp_gaussian_q_hk(const fp_gaussian_frozen *f, const fp_gaussian *p,
                     const fp_gaussian *q_ref, double *out, fp_error *err)
{
  spd D, S, Sq;
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_gaussian_q_hk: NULL argument");
  int status = frozen_check(f, &D, err);
  if (status == FP_OK) status = gaussian_factor(p, "p", &S, err);
  if (status == FP_OK) status = gaussian_factor(q_ref, "q_ref", &Sq, err);
  if (status == FP_OK) status = same_dim(f->dim, p->dim, "fp_gaussian_q_hk (dynamics vs p)", err);
  if (status == FP_OK)
    status = same_dim(f->dim, q_ref->dim, "fp_gaussian_q_hk (dynamics vs q_ref)", err);
  if (status != FP_OK) return status;
  int d = f->dim;
  double M[N][N], k[N];
  velocity(f, &D, p->mean, &S, M, k);
  /* D^-1 a + grad U = (-D^-1 A + Sq^-1) x + (D^-1 c - Sq^-1 mq) */
  double DiA[N][N], Q[N][N], Dic[N], Sqmq[N], w[N], I[N][N];
  mat_mul(d, RO(D.inv), f->A, DiA);
  mat_vec(d, RO(D.inv), f->c, NULL, Dic);
  mat_vec(d, RO(Sq.inv), q_ref->mean, NULL, Sqmq);
  mat_zero(Q);
  mat_zero(I);
  for (int i = 0; i < N; i++) w[i] = 0.0;
  for (int i = 0; i < d; i++) {
    for (int j = 0; j < d; j++) Q[i][j] = -DiA[i][j] + Sq.inv[i][j];
    w[i] = Dic[i] - Sqmq[i];
    I[i][i] = 1.0;
  }
  *out = expect_bilinear(d, RO(M), k, RO(I), RO(Q), w, p->mean, RO(S.S));
  return FP_OK;
}

int fp_gaussian_hatano_sasa(const fp_gaussian_frozen *f, const fp_gaussian *p,
                            const fp_gaussian *pss, double *sigma_hk, double *sigma_na,
                            fp_error *err)
{
  spd D, S, Sss;
  int status = frozen_check(f, &D, err);
  if (status == FP_OK) status = gaussian_factor(p, "p", &S, err);
  if (status == FP_OK) status = gaussian_factor(pss, "p_ss", &Sss, err);
  if (status == FP_OK)
    status = same_dim(f->dim, p->dim, "fp_gaussian_hatano_sasa (dynamics vs p)", err);
  if (status == FP_OK)
    status = same_dim(f->dim, pss->dim, "fp_gaussian_hatano_sasa (dynamics vs p_ss)", err);
  if (status != FP_OK) return status;
  int d = f->dim;
  if (sigma_hk) {
    double M[N][N], k[N];
    velocity(f, &D, pss->mean, &Sss, M, k); /* v_ss */
    *sigma_hk = expect_bilinear(d, RO(M), k, RO(D.inv), RO(M), k, p->mean, RO(S.S));
  }
  if (sigma_na) {
    /* g = (Sss^-1 - S^-1) x + (S^-1 m - Sss^-1 mss) */
    double G[N][N], g0[N], Sim[N], Sssim[N];
    mat_vec(d, RO(S.inv), p->mean, NULL, Sim);
    mat_vec(d, RO(Sss.inv), pss->mean, NULL, Sssim);
    mat_zero(G);
    for (int i = 0; i < N; i++) g0[i] = 0.0;
    for (int i = 0; i < d; i++) {
      for (int j = 0; j < d; j++) G[i][j] = Sss.inv[i][j] - S.inv[i][j];
      g0[i] = Sim[i] - Sssim[i];
    }
    *sigma_na = expect_bilinear(d, RO(G), g0, RO(D.S), RO(G), g0, p->mean, RO(S.S));
  }
  return FP_OK;
}

/* ------------------------------------------------------------------------ */
/* Time-dependent OU process                                                */
/* ------------------------------------------------------------------------ */

/* ODE state: the mean (d entries), then the upper triangle of S row by row
 * (d(d+1)/2 entries); storing the triangle keeps S exactly symmetric. */
#define OU_MAX_STATE (N + N * (N + 1) / 2)

struct fp_gaussian_ou {
  fp_gaussian_model model;
  gsl_odeiv2_system sys;
  gsl_odeiv2_driver *driver;
  size_t nstate;
  double t;                  /* time of y */
  double y[OU_MAX_STATE];
  bool valid;                /* y holds the solution at t (false after a failure) */
  /* The first callback failure inside the ODE right-hand side, reported by
   * fp_gaussian_ou_at() since GSL only sees GSL_EBADFUNC. */
  const char *failed_callback;
  double failed_t;
};

static void pack_state(int d, const double m[N], const double S[N][N], double *y)
{
  size_t n = 0;
  if (d < 1 || d > N) return; /* callers validated d; this tells the optimiser */
  for (int i = 0; i < d; i++) y[n++] = m[i];
  for (int i = 0; i < d; i++)
    for (int j = i; j < d; j++) y[n++] = S[i][j];
}

static void unpack_state(int d, const double *y, double m[N], double S[N][N])
{
  size_t n = 0;
  for (int i = 0; i < N; i++) m[i] = 0.0;
  mat_zero(S);
  if (d < 1 || d > N) return; /* as in pack_state() */
  for (int i = 0; i < d; i++) m[i] = y[n++];
  for (int i = 0; i < d; i++)
    for (int j = i; j < d; j++) {
      S[i][j] = y[n++];
      S[j][i] = S[i][j];
    }
}

/* c(t) and D(t) from the callbacks; returns the name of the failing callback
 * or NULL.  Zero-filled first so that callbacks need only write dim entries. */
static const char *eval_callbacks(const fp_gaussian_model *model, double t, double c[N],
                                  double D[N][N])
{
  int d = model->dim;
  for (int i = 0; i < N; i++) c[i] = 0.0;
  mat_zero(D);
  if (model->c) {
    int rc = model->c(t, c, model->ctx);
    if (rc != 0 || !all_finite(c, (size_t)d)) return "c(t)";
  }
  int rc = model->D(t, D, model->ctx);
  if (rc != 0 || !mat_finite(d, RO(D))) return "D(t)";
  /* Only the dim block is meaningful; clear whatever the callback left. */
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++)
      if (i >= d || j >= d) D[i][j] = 0.0;
  for (int i = d; i < N; i++) c[i] = 0.0;
  return NULL;
}

/* m' = -A m + c,  S' = -A S - S A^T + 2 D (symmetrised D). */
static void moment_rates(int d, const double A[N][N], const double c[N], const double D[N][N],
                         const double m[N], const double S[N][N], double dm[N], double dS[N][N])
{
  double AS[N][N];
  mat_mul(d, A, S, AS);
  for (int i = 0; i < N; i++) dm[i] = 0.0;
  mat_zero(dS);
  for (int i = 0; i < d; i++) {
    double s = c[i];
    for (int k = 0; k < d; k++) s -= A[i][k] * m[k];
    dm[i] = s;
    for (int j = 0; j < d; j++) dS[i][j] = -AS[i][j] - AS[j][i] + (D[i][j] + D[j][i]);
  }
}

static int ou_rhs(double t, const double y[], double dydt[], void *params)
{
  fp_gaussian_ou *sol = params;
  const fp_gaussian_model *model = &sol->model;
  int d = model->dim;
  double c[N], D[N][N], m[N], S[N][N], dm[N], dS[N][N];
  const char *failed = eval_callbacks(model, t, c, D);
  if (failed) {
    if (!sol->failed_callback) {
      sol->failed_callback = failed;
      sol->failed_t = t;
    }
    /* GSL_EBADFUNC stops the integration at once instead of retrying. */
    return GSL_EBADFUNC;
  }
  unpack_state(d, y, m, S);
  moment_rates(d, model->A, c, RO(D), m, RO(S), dm, dS);
  pack_state(d, dm, RO(dS), dydt);
  return GSL_SUCCESS;
}

int fp_gaussian_model_frozen(const fp_gaussian_model *model, double t, fp_gaussian_frozen *out,
                             fp_error *err)
{
  spd D;
  if (!model || !out) return fp_fail(err, FP_ERR_ARG, "fp_gaussian_model_frozen: NULL argument");
  int status = check_dim(model->dim, "Gaussian model", err);
  if (status != FP_OK) return status;
  if (!model->D)
    return fp_fail(err, FP_ERR_ARG, "Gaussian model: the diffusion callback D is NULL");
  if (!isfinite(t)) return fp_fail(err, FP_ERR_ARG, "Gaussian model: time %g is not finite", t);
  fp_gaussian_frozen f;
  memset(&f, 0, sizeof f);
  f.dim = model->dim;
  const char *failed = eval_callbacks(model, t, f.c, f.D);
  if (failed)
    return fp_fail(err, FP_ERR_ARG, "Gaussian model: %s failed or gave non-finite values at "
                   "t = %.17g", failed, t);
  for (int i = 0; i < model->dim; i++)
    for (int j = 0; j < model->dim; j++) f.A[i][j] = model->A[i][j];
  status = frozen_check(&f, &D, err);
  if (status != FP_OK)
    return fp_fail_context(err, FP_ERR_ARG, "Gaussian model at t = %.17g", t);
  *out = f;
  return FP_OK;
}

/* Put the state back to the initial condition and make the driver forget
 * its step history. */
static int ou_restart(fp_gaussian_ou *sol, fp_error *err)
{
  pack_state(sol->model.dim, sol->model.m0, RO(sol->model.S0), sol->y);
  sol->t = sol->model.t0;
  sol->failed_callback = NULL;
  sol->valid = false;
  int status = gsl_odeiv2_driver_reset_hstart(sol->driver, OU_HSTART);
  if (status != GSL_SUCCESS)
    return fp_fail(err, FP_ERR_SOLVER, "OU moments: resetting the integrator failed (%s)",
                   gsl_strerror(status));
  sol->valid = true;
  return FP_OK;
}

static int gaussian_ou_create_unguarded(const fp_gaussian_model *model, fp_gaussian_ou **out, fp_error *err)
{
  fp_gaussian_ou *sol = NULL;
  fp_gaussian_frozen f0;
  spd S0;
  int status;
  if (!out) return fp_fail(err, FP_ERR_ARG, "fp_gaussian_ou_create: NULL argument");
  *out = NULL;
  status = fp_gaussian_model_frozen(model, model ? model->t0 : 0.0, &f0, err);
  if (status != FP_OK) return status;
  int d = model->dim;
  if (!mat_finite(d, model->A))
    return fp_fail(err, FP_ERR_ARG, "Gaussian model: A has non-finite entries");
  if (!all_finite(model->m0, (size_t)d))
    return fp_fail(err, FP_ERR_ARG, "Gaussian model: the initial mean has non-finite entries");
  status = spd_factor(d, model->S0, "Gaussian model: the initial covariance", &S0, err);
  if (status != FP_OK) return status;

  sol = calloc(1, sizeof *sol);
  if (!sol) return fp_fail(err, FP_ERR_NOMEM, "fp_gaussian_ou_create: out of memory");
  sol->model = *model;
  /* Use the symmetrised S0 and zero everything beyond dim, so the state is
   * exactly what was validated. */
  memset(sol->model.S0, 0, sizeof sol->model.S0);
  for (int i = 0; i < d; i++)
    for (int j = 0; j < d; j++) sol->model.S0[i][j] = S0.S[i][j];
  sol->nstate = (size_t)d + (size_t)d * (size_t)(d + 1) / 2;
  sol->sys.function = ou_rhs;
  sol->sys.jacobian = NULL; /* rk8pd is explicit */
  sol->sys.dimension = sol->nstate;
  sol->sys.params = sol;
  sol->driver = gsl_odeiv2_driver_alloc_y_new(&sol->sys, gsl_odeiv2_step_rk8pd, OU_HSTART,
                                              FP_GAUSSIAN_OU_ATOL, FP_GAUSSIAN_OU_RTOL);
  if (!sol->driver) {
    status = fp_fail(err, FP_ERR_NOMEM, "fp_gaussian_ou_create: cannot allocate the integrator");
    goto fail;
  }
  status = gsl_odeiv2_driver_set_nmax(sol->driver, OU_MAX_STEPS);
  if (status != GSL_SUCCESS) {
    status = fp_fail(err, FP_ERR_SOLVER, "fp_gaussian_ou_create: %s", gsl_strerror(status));
    goto fail;
  }
  status = ou_restart(sol, err);
  if (status != FP_OK) goto fail;
  *out = sol;
  return FP_OK;

fail:
  fp_gaussian_ou_destroy(&sol);
  return status;
}

static int gaussian_ou_at_unguarded(fp_gaussian_ou *sol, double t, fp_gaussian *p, fp_gaussian *dpdt,
                      fp_error *err)
{
  if (!sol || !p) return fp_fail(err, FP_ERR_ARG, "fp_gaussian_ou_at: NULL argument");
  const fp_gaussian_model *model = &sol->model;
  int d = model->dim;
  if (!isfinite(t) || t < model->t0)
    return fp_fail(err, FP_ERR_ARG, "OU moments: time %.17g is before the initial time %.17g "
                   "or not finite", t, model->t0);
  int status;
  if (!sol->valid || t < sol->t) {
    status = ou_restart(sol, err);
    if (status != FP_OK) return status;
  }
  if (t > sol->t) {
    double t_reached = sol->t;
    int gsl_status = gsl_odeiv2_driver_apply(sol->driver, &t_reached, t, sol->y);
    sol->t = t_reached;
    if (gsl_status != GSL_SUCCESS) {
      sol->valid = false;
      if (sol->failed_callback)
        return fp_fail(err, FP_ERR_SOLVER, "OU moments: %s failed or gave non-finite values at "
                       "t = %.17g", sol->failed_callback, sol->failed_t);
      return fp_fail(err, FP_ERR_SOLVER, "OU moments: integration to t = %.17g stopped at "
                     "t = %.17g (%s)", t, t_reached, gsl_strerror(gsl_status));
    }
  }

  fp_gaussian g;
  memset(&g, 0, sizeof g);
  g.dim = d;
  unpack_state(d, sol->y, g.mean, g.cov);
  spd S;
  status = gaussian_factor(&g, "the OU density", &S, err);
  if (status != FP_OK) {
    sol->valid = false;
    return fp_fail_context(err, FP_ERR_SOLVER, "OU moments at t = %.17g (is D(t) positive "
                           "definite?)", t);
  }
  if (dpdt) {
    double c[N], D[N][N];
    const char *failed = eval_callbacks(model, t, c, D);
    if (failed)
      return fp_fail(err, FP_ERR_SOLVER, "OU moments: %s failed or gave non-finite values at "
                     "t = %.17g", failed, t);
    memset(dpdt, 0, sizeof *dpdt);
    dpdt->dim = d;
    moment_rates(d, model->A, c, RO(D), g.mean, RO(g.cov), dpdt->mean, dpdt->cov);
  }
  *p = g;
  return FP_OK;
}

const fp_gaussian_model *fp_gaussian_ou_model(const fp_gaussian_ou *sol)
{
  return sol ? &sol->model : NULL;
}

void fp_gaussian_ou_destroy(fp_gaussian_ou **sol)
{
  if (!sol || !*sol) return;
  if ((*sol)->driver) gsl_odeiv2_driver_free((*sol)->driver);
  free(*sol);
  *sol = NULL;
}

/* ------------------------------------------------------------------------ */
/* Grid norms                                                               */
/* ------------------------------------------------------------------------ */

double fp_gaussian_l1_distance(const fp_grid *grid, const double *p, const double *q)
{
  if (!grid || !p || !q) return NAN;
  double sum = 0.0;
  for (size_t i = 0; i < grid->ncells; i++) sum += fabs(p[i] - q[i]);
  return sum * grid->cell_volume;
}

/* Public entry points: GSL's handler off for the call (core/gsl_guard_impl.h). */

int fp_gaussian_stationary(const fp_gaussian_frozen *f, fp_gaussian *pss, fp_error *err)
{
  fp_gsl_guard guard = fp_gsl_guard_begin();
  int rc = gaussian_stationary_unguarded(f, pss, err);
  fp_gsl_guard_end(guard);
  return rc;
}

int fp_gaussian_ou_create(const fp_gaussian_model *model, fp_gaussian_ou **out, fp_error *err)
{
  fp_gsl_guard guard = fp_gsl_guard_begin();
  int rc = gaussian_ou_create_unguarded(model, out, err);
  fp_gsl_guard_end(guard);
  return rc;
}

int fp_gaussian_ou_at(fp_gaussian_ou *sol, double t, fp_gaussian *p, fp_gaussian *dpdt,
                      fp_error *err)
{
  fp_gsl_guard guard = fp_gsl_guard_begin();
  int rc = gaussian_ou_at_unguarded(sol, t, p, dpdt, err);
  fp_gsl_guard_end(guard);
  return rc;
}
