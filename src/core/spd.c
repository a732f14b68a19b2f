/* fpentropy (internal): small dense symmetric positive definite matrices (dim <= 3).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "core/spd_impl.h"

#include <math.h>
#include <string.h>

int fp_spd_factor(int dim, const double A[FP_SPD_MAX][FP_SPD_MAX], fp_spd *out)
{
  memset(out, 0, sizeof *out);
  out->dim = dim;
  double scale = 0.0;
  for (int i = 0; i < dim; i++) scale = fmax(scale, fabs(A[i][i]));
  for (int j = 0; j < dim; j++) {
    double piv = A[j][j];
    for (int k = 0; k < j; k++) piv -= out->L[j][k] * out->L[j][k];
    if (!(isfinite(piv) && piv > FP_SPD_PIVOT_RTOL * scale)) {
      out->bad_pivot = j + 1;
      out->bad_value = piv;
      return 0;
    }
    out->L[j][j] = sqrt(piv);
    out->logdet += log(piv);
    for (int i = j + 1; i < dim; i++) {
      double s = A[i][j];
      for (int k = 0; k < j; k++) s -= out->L[i][k] * out->L[j][k];
      out->L[i][j] = s / out->L[j][j];
    }
  }
  return 1;
}

/* y = L^-1 v (forward substitution). */
static void forward(const fp_spd *f, const double *v, double *y)
{
  for (int i = 0; i < f->dim; i++) {
    double s = v[i];
    for (int k = 0; k < i; k++) s -= f->L[i][k] * y[k];
    y[i] = s / f->L[i][i];
  }
}

double fp_spd_inverse_quadratic(const fp_spd *f, const double *v)
{
  double y[FP_SPD_MAX], sum = 0.0;
  forward(f, v, y);
  for (int i = 0; i < f->dim; i++) sum += y[i] * y[i];
  return sum;
}

void fp_spd_solve(const fp_spd *f, const double *b, double *x)
{
  double y[FP_SPD_MAX];
  forward(f, b, y);
  for (int i = f->dim - 1; i >= 0; i--) {
    double s = y[i];
    for (int k = i + 1; k < f->dim; k++) s -= f->L[k][i] * x[k];
    x[i] = s / f->L[i][i];
  }
}

void fp_spd_inverse(const fp_spd *f, double inv[FP_SPD_MAX][FP_SPD_MAX])
{
  memset(inv, 0, FP_SPD_MAX * sizeof inv[0]);
  for (int col = 0; col < f->dim; col++) {
    double e[FP_SPD_MAX] = {0.0, 0.0, 0.0}, x[FP_SPD_MAX];
    e[col] = 1.0;
    fp_spd_solve(f, e, x);
    for (int i = 0; i < f->dim; i++) inv[i][col] = x[i];
  }
  /* Symmetrise so that quadratic forms do not depend on the solve order. */
  for (int i = 0; i < f->dim; i++)
    for (int j = i + 1; j < f->dim; j++) {
      double s = 0.5 * (inv[i][j] + inv[j][i]);
      inv[i][j] = inv[j][i] = s;
    }
}
