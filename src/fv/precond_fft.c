/* fpentropy (internal): fast-transform preconditioner (see precond_fft.h).
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "fv/precond_fft.h"

#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error_impl.h"

struct fp_precond_fft {
  fp_grid grid;
  double *work;                   /* fftw_malloc'd, ncells */
  fftw_plan forward, inverse;
  double *lambda[FP_MAX_DIM];     /* eigenvalues of -Delta_k per mode index (>= 0) */
  double scale;                   /* 1 / (product of the transforms' normalisations) */
  /* 2D with a reflecting y axis: transforms along x only and a tridiagonal
   * solve along y per x mode (the same inverse, without the strided y
   * transforms that cost more than the rest) */
  fftw_plan forward_x, inverse_x;
  double scale_x;
  double *cp;                     /* ncells: the Thomas algorithm's modified coefficients */
};

void fp_precond_fft_destroy(fp_precond_fft **p)
{
  if (!p || !*p) return;
  fp_precond_fft *q = *p;
  if (q->forward) fftw_destroy_plan(q->forward);
  if (q->inverse) fftw_destroy_plan(q->inverse);
  if (q->forward_x) fftw_destroy_plan(q->forward_x);
  if (q->inverse_x) fftw_destroy_plan(q->inverse_x);
  free(q->cp);
  if (q->work) fftw_free(q->work);
  for (int k = 0; k < FP_MAX_DIM; k++) free(q->lambda[k]);
  free(q);
  *p = NULL;
}

int fp_precond_fft_create(const fp_grid *g, bool measure, fp_precond_fft **out, fp_error *err)
{
  *out = NULL;
  fp_precond_fft *q = calloc(1, sizeof *q);
  if (!q) return fp_fail(err, FP_ERR_NOMEM, "out of memory for the FFT preconditioner");
  q->grid = *g;
  q->work = fftw_malloc(g->ncells * sizeof *q->work);
  int rank = g->dim;
  int n[FP_MAX_DIM];
  fftw_r2r_kind fwd[FP_MAX_DIM], inv[FP_MAX_DIM];
  double norm = 1.0;
  if (!q->work) goto fail_nomem;
  for (int k = 0; k < g->dim; k++) {
    size_t nk = g->n[k];
    /* FFTW is row-major (last index fastest); our x varies fastest. */
    int r = rank - 1 - k;
    n[r] = (int)nk;
    q->lambda[k] = malloc(nk * sizeof *q->lambda[k]);
    if (!q->lambda[k]) goto fail_nomem;
    double h2 = g->h[k] * g->h[k];
    for (size_t m = 0; m < nk; m++) {
      double s;
      switch (g->bc[k]) {
      case FP_BC_PERIODIC: { /* half-complex index m holds frequency min(m, n-m) */
        size_t freq = m <= nk / 2 ? m : nk - m;
        s = sin(M_PI * (double)freq / (double)nk);
        break;
      }
      case FP_BC_ABSORBING: s = sin(M_PI * (double)(m + 1) / (2.0 * (double)nk)); break;
      default: s = sin(M_PI * (double)m / (2.0 * (double)nk)); break;
      }
      q->lambda[k][m] = 4.0 * s * s / h2;
    }
    switch (g->bc[k]) {
    case FP_BC_PERIODIC: fwd[r] = FFTW_R2HC, inv[r] = FFTW_HC2R, norm *= (double)nk; break;
    case FP_BC_ABSORBING: fwd[r] = FFTW_RODFT10, inv[r] = FFTW_RODFT01, norm *= 2.0 * (double)nk; break;
    default: fwd[r] = FFTW_REDFT10, inv[r] = FFTW_REDFT01, norm *= 2.0 * (double)nk; break;
    }
  }
  q->scale = 1.0 / norm;
  /* MEASURE overwrites the array while planning: plans come before use. */
  unsigned flags = measure ? FFTW_MEASURE : FFTW_ESTIMATE;
  q->forward = fftw_plan_r2r(rank, n, q->work, q->work, fwd, flags);
  q->inverse = fftw_plan_r2r(rank, n, q->work, q->work, inv, flags);
  if (!q->forward || !q->inverse) {
    fp_precond_fft_destroy(&q);
    return fp_fail(err, FP_ERR_UNSUPPORTED, "FFTW could not plan the preconditioner transforms");
  }
  if (g->dim == 2 && g->bc[1] == FP_BC_REFLECTING && g->n[1] >= 2) {
    fftw_iodim len = {(int)g->n[0], 1, 1}, rows = {(int)g->n[1], (int)g->n[0], (int)g->n[0]};
    fftw_r2r_kind fx = fwd[1], ix = inv[1]; /* FFTW's last axis is our x */
    q->forward_x = fftw_plan_guru_r2r(1, &len, 1, &rows, q->work, q->work, &fx, flags);
    q->inverse_x = fftw_plan_guru_r2r(1, &len, 1, &rows, q->work, q->work, &ix, flags);
    q->scale_x = 1.0 / (g->bc[0] == FP_BC_PERIODIC ? (double)g->n[0] : 2.0 * (double)g->n[0]);
    q->cp = malloc(g->ncells * sizeof *q->cp);
    if (!q->forward_x || !q->inverse_x || !q->cp) {
      fp_precond_fft_destroy(&q);
      return fp_fail(err, FP_ERR_NOMEM, "could not set up the x transforms of the preconditioner");
    }
  }
  *out = q;
  return FP_OK;
fail_nomem:
  fp_precond_fft_destroy(&q);
  return fp_fail(err, FP_ERR_NOMEM, "out of memory for the FFT preconditioner");
}

/* (I - gamma D0 Delta_x - gamma D1 Delta_y) z = r with Neumann Delta_y: DCT
 * (or the axis' transform) along x, then per x mode the tridiagonal system
 * (1 + gamma D0 lambda_i) I - gamma D1 Delta_y along y (Thomas algorithm,
 * vectorised across the modes of a row), then the inverse transform. */
static void solve_x_transform(fp_precond_fft *p, double gamma, const double D[FP_MAX_DIM],
                              const double *r, double *z)
{
  const fp_grid *g = &p->grid;
  const size_t n0 = g->n[0], n1 = g->n[1];
  double *w = p->work, *cp = p->cp;
  memcpy(w, r, g->ncells * sizeof *w);
  fftw_execute(p->forward_x);
  const double *l0 = p->lambda[0];
  const double gx = gamma * D[0], e = -gamma * D[1] / (g->h[1] * g->h[1]);
  /* forward sweep: row j's diagonal is 1 + gx l0[i] - 2e inside, - e at the
   * two walls (Neumann) */
  for (size_t j = 0; j < n1; j++) {
    double off = (j == 0 || j + 1 == n1) ? -e : -2.0 * e;
    double *wj = w + j * n0, *cj = cp + j * n0;
    if (j == 0) {
      for (size_t i = 0; i < n0; i++) {
        double d = 1.0 + gx * l0[i] + off;
        cj[i] = e / d;
        wj[i] /= d;
      }
    } else {
      const double *wp = wj - n0, *cpp = cj - n0;
      for (size_t i = 0; i < n0; i++) {
        double m = 1.0 + gx * l0[i] + off - e * cpp[i];
        cj[i] = e / m;
        wj[i] = (wj[i] - e * wp[i]) / m;
      }
    }
  }
  for (size_t j = n1 - 1; j-- > 0;) {
    double *wj = w + j * n0;
    const double *wn = wj + n0, *cj = cp + j * n0;
    for (size_t i = 0; i < n0; i++) wj[i] -= cj[i] * wn[i];
  }
  const double s = p->scale_x;
  for (size_t c = 0; c < g->ncells; c++) w[c] *= s;
  fftw_execute(p->inverse_x);
  memcpy(z, w, g->ncells * sizeof *z);
}

void fp_precond_fft_solve(fp_precond_fft *p, double gamma, const double D[FP_MAX_DIM],
                          const double *r, double *z)
{
  if (p->forward_x) {
    solve_x_transform(p, gamma, D, r, z);
    return;
  }
  const fp_grid *g = &p->grid;
  double *w = p->work;
  memcpy(w, r, g->ncells * sizeof *w);
  fftw_execute(p->forward);
  double gD[FP_MAX_DIM];
  for (int k = 0; k < FP_MAX_DIM; k++) gD[k] = k < g->dim ? gamma * D[k] : 0.0;
  const double *l0 = p->lambda[0];
  const double *l1 = g->dim > 1 ? p->lambda[1] : NULL;
  const double *l2 = g->dim > 2 ? p->lambda[2] : NULL;
  size_t cell = 0;
  for (size_t i2 = 0; i2 < g->n[2]; i2++) {
    double a2 = l2 ? gD[2] * l2[i2] : 0.0;
    for (size_t i1 = 0; i1 < g->n[1]; i1++) {
      double a1 = a2 + (l1 ? gD[1] * l1[i1] : 0.0);
      for (size_t i0 = 0; i0 < g->n[0]; i0++, cell++)
        w[cell] *= p->scale / (1.0 + a1 + gD[0] * l0[i0]);
    }
  }
  fftw_execute(p->inverse);
  memcpy(z, w, g->ncells * sizeof *z);
}

void fp_precond_fft_solve_diffusion(fp_precond_fft *p, const double D[FP_MAX_DIM], const double *r,
                                    double *z)
{
  const fp_grid *g = &p->grid;
  if (p->forward_x && g->bc[0] != FP_BC_ABSORBING) {
    /* The cheaper x-transform path solves (I - gamma A) z = r, A = sum D_k
     * Delta_k: with gamma = 1/sigma, sigma = 1e-3 of A's smallest nonzero
     * decay rate, -gamma (I - gamma A)^{-1} = -(sigma - A)^{-1} differs from
     * A^+ by a factor within 0.1 % of 1 on every nonconstant mode; the
     * constant mode is removed. */
    double l1 = INFINITY;
    for (int k = 0; k < g->dim; k++) {
      /* index 1 holds the lowest nonzero frequency (half-complex order for
       * periodic axes) */
      if (g->n[k] > 1) l1 = fmin(l1, D[k] * p->lambda[k][1]);
    }
    double gamma = 1.0 / (1e-3 * l1);
    solve_x_transform(p, gamma, D, r, z);
    double mean = 0.0;
    for (size_t c = 0; c < g->ncells; c++) mean += z[c];
    mean /= (double)g->ncells;
    for (size_t c = 0; c < g->ncells; c++) z[c] = -gamma * (z[c] - mean);
    return;
  }
  double *w = p->work;
  memcpy(w, r, g->ncells * sizeof *w);
  fftw_execute(p->forward);
  double Dk[FP_MAX_DIM];
  for (int k = 0; k < FP_MAX_DIM; k++) Dk[k] = k < g->dim ? D[k] : 0.0;
  const double *l0 = p->lambda[0];
  const double *l1 = g->dim > 1 ? p->lambda[1] : NULL;
  const double *l2 = g->dim > 2 ? p->lambda[2] : NULL;
  size_t cell = 0;
  for (size_t i2 = 0; i2 < g->n[2]; i2++) {
    double a2 = l2 ? Dk[2] * l2[i2] : 0.0;
    for (size_t i1 = 0; i1 < g->n[1]; i1++) {
      double a1 = a2 + (l1 ? Dk[1] * l1[i1] : 0.0);
      for (size_t i0 = 0; i0 < g->n[0]; i0++, cell++) {
        double a = a1 + Dk[0] * l0[i0]; /* eigenvalue of -sum D_k Delta_k, >= 0 */
        w[cell] = a > 0.0 ? -w[cell] * p->scale / a : 0.0;
      }
    }
  }
  fftw_execute(p->inverse);
  memcpy(z, w, g->ncells * sizeof *z);
}
