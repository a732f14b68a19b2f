/* fpentropy (internal): Chebyshev expansion of exp(tau L) (see chebyshev_impl.h).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "time/chebyshev_impl.h"

#include <math.h>
#include <stdlib.h>

#include "core/simd_impl.h"
#include "fv/stencil_impl.h"

double fp_cheb_spectral_bound(const fp_operator *op)
{
  fp_csr_view L;
  fp_operator_matrix(op, &L);
  double *colsum = calloc(L.rows ? L.rows : 1, sizeof *colsum);
  double rho = 0.0;
  if (!colsum) { /* the row sums bound the same spectrum (Gershgorin by rows) */
    for (size_t i = 0; i < L.rows; i++) {
      double s = 0.0;
      for (int64_t q = L.row_ptr[i]; q < L.row_ptr[i + 1]; q++) s += fabs(L.value[q]);
      rho = fmax(rho, s);
    }
    return rho;
  }
  for (size_t i = 0; i < L.rows; i++)
    for (int64_t q = L.row_ptr[i]; q < L.row_ptr[i + 1]; q++) colsum[L.col[q]] += fabs(L.value[q]);
  for (size_t j = 0; j < L.rows; j++) rho = fmax(rho, colsum[j]);
  free(colsum);
  return rho;
}

/* The coefficients fall like exp(-k^2 / (2 z)) for k << z and faster
 * beyond: at k = sqrt(80 z) + 30 they are below e^-40 of c_0, so starting
 * the backward recurrence there loses nothing at the tolerances used. */
int fp_cheb_terms_bound(double z) { return (int)ceil(sqrt(80.0 * z)) + 40; }

int fp_cheb_coefficients(double z, double tol, double *c, int cap, double *tail_out)
{
  /* below 1e-6 the recurrence's 2k / z would overflow for tiny z; such
   * short steps are the Krylov step's (its caller falls back) */
  if (!(z >= 1e-6) || !isfinite(z) || !(tol > 0.0) || cap < 2) return -1;
  int N = fp_cheb_terms_bound(z);
  if (N >= cap) N = cap - 1;
  /* I_{k-1}(z) = (2k / z) I_k(z) + I_{k+1}(z), downwards from an arbitrary
   * start: the minimal solution I_k dominates after a few steps.  Rescaled
   * on the way so that nothing overflows. */
  double next = 0.0, cur = 1e-300;
  c[N] = cur;
  for (int k = N; k >= 1; k--) {
    double prev = 2.0 * k / z * cur + next;
    next = cur;
    cur = prev;
    c[k - 1] = cur;
    if (cur > 1e250) {
      for (int j = k - 1; j <= N; j++) c[j] *= 1e-250;
      cur *= 1e-250, next *= 1e-250;
    }
  }
  double sum = c[0];
  for (int k = 1; k <= N; k++) sum += 2.0 * c[k];
  for (int k = 0; k <= N; k++) c[k] /= sum;
  /* smallest K whose tail 2 sum_{k>K} c_k is within tol */
  double tail = 0.0, kept = 0.0;
  int K = N;
  for (int k = N; k >= 1; k--) {
    tail += 2.0 * c[k];
    if (tail > tol) break;
    K = k - 1;
    kept = tail;
  }
  if (K >= N && N == cap - 1) return -1;
  *tail_out = kept;
  return K;
}

/* max |x_i|, NaN if one is: a NaN met in the series must fail the
 * caller's error test */
static double max_abs(const double *x, size_t n)
{
  double m = 0.0;
  for (size_t i = 0; i < n; i++) m = fp_max_nan(m, fabs(x[i]));
  return m;
}

int fp_cheb_stencil_create(const fp_operator *op, double rho, fp_stencil **out, fp_error *err)
{
  *out = NULL;
  const fp_stencil *st = fp_operator_stencil(op);
  return st ? fp_stencil_create_scaled(st, 4.0 / rho, out, err) : FP_OK;
}

void fp_cheb_apply(fp_operator *op, const fp_stencil *scaled, double rho, int nout,
                   const double *const *c, const int *K, const double *p, double *const *out,
                   double *work, size_t n, double *growth)
{
  double *prev = work, *cur = work + n, *Lv = work + 2 * n;
  const double a = 2.0 / rho;
  const int Kmax = K[nout - 1];
  double g = max_abs(p, n);
  /* outputs whose series ends below level k: done (K is ascending) */
  int first = 0;
  for (int j = 0; j < nout; j++)
    for (size_t i = 0; i < n; i++) out[j][i] = c[j][0] * p[i];
  for (; first < nout && K[first] == 0; first++) growth[first] = g;
  if (Kmax == 0) return;
  /* T_1(A) p = A p */
  fp_operator_apply(op, p, Lv);
  double m = 0.0;
  for (size_t i = 0; i < n; i++) {
    prev[i] = p[i];
    cur[i] = a * Lv[i] + p[i];
    m = fp_max_nan(m, fabs(cur[i]));
  }
  for (int j = first; j < nout; j++)
    for (size_t i = 0; i < n; i++) out[j][i] += 2.0 * c[j][1] * cur[i];
  g = fp_max_nan(g, m);
  for (; first < nout && K[first] == 1; first++) growth[first] = g;
  /* T_{k+1}(A) p = 2 A T_k(A) p - T_{k-1}(A) p, written over T_{k-1}:
   * 2 A v = (4 / rho) L v + 2 v; every output whose series reaches k + 1
   * takes its term on the way */
  double ck[FP_CHEB_MAX_OUTPUTS];
  for (int k = 1; k < Kmax; k++) {
    for (int j = first; j < nout; j++) ck[j - first] = 2.0 * c[j][k + 1];
    if (scaled) {
      m = fp_stencil_recurrence(scaled, cur, nout - first, ck, out + first, prev, Lv);
    } else {
      fp_operator_apply(op, cur, Lv);
      const double two_a = 2.0 * a;
      m = 0.0;
      for (size_t i = 0; i < n; i++) {
        double v = two_a * Lv[i] + 2.0 * cur[i] - prev[i];
        prev[i] = v;
        m = fp_max_nan(m, fabs(v));
      }
      for (int j = first; j < nout; j++)
        for (size_t i = 0; i < n; i++) out[j][i] += ck[j - first] * prev[i];
    }
    g = fp_max_nan(g, m);
    for (; first < nout && K[first] == k + 1; first++) growth[first] = g;
    double *t = prev;
    prev = cur;
    cur = t;
  }
}
